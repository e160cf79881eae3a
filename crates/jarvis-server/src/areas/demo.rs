//! The public demo page (`/demo`, issue 13 item 4): anyone talks to JARVIS in the browser,
//! without a badge or an account, when the operator turned it on (`demo_page`, set by
//! `jarvis serve --demo`; 404 otherwise). The call runs in the demo gym of the page's language
//! as its demo visitor, at its web kiosk, flagged as a demo session. Limits: demo calls per
//! client address and hour (`demo_sessions_per_hour`, counted in the database across
//! instances), a shorter maximum duration (`demo_max_secs`, enforced by the broker's own
//! max-duration path) and a platform-wide monthly demo budget (`demo_budget_usd`).

use crate::areas::voice::api::{VoiceSessionStarted, refusal_error};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::kiosk_api::ClientIp;
use crate::state::AppState;
use crate::web::i18n::{Msg, Tr};

use crate::web::page;
use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::CACHE_CONTROL;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jarvis_app::demo::{DemoRefusal, VISITOR_BADGE};
use jarvis_core::model::Locale;
use jarvis_store::ThrottleVerdict;
use jarvis_voice::StartError;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest SDP offer accepted (as the kiosk's).
const MAX_SDP_LEN: usize = 64 * 1024;

/// The page route.
pub fn page_routes() -> Router<AppState> {
    Router::new().route("/demo", get(demo_page))
}

/// The API route.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start_demo_session))
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

#[derive(Template)]
#[template(path = "demo.html")]
struct DemoPage {
    t: Tr,
    per_hour: u32,
    max_secs: u32,
}

/// The demo page, in French or English (`?lang=`, then `Accept-Language`).
async fn demo_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let demo = state.config.demo;
    if !demo.page {
        return crate::web::not_found_page(&headers);
    }
    let t = Tr(crate::auth::web::locale_of(&headers, q.lang.as_deref()));
    page(
        DemoPage {
            t,
            per_hour: demo.sessions_per_hour,
            max_secs: demo.max_secs,
        },
        StatusCode::OK,
    )
}

/// Proof that the demo page is on. Extracted before the body, so with the page off the start
/// is a plain 404 whatever is sent.
struct DemoOn;

impl FromRequestParts<AppState> for DemoOn {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.config.demo.page {
            Ok(DemoOn)
        } else {
            Err(ApiError::not_found("route"))
        }
    }
}

/// A demo call request from the demo page.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartDemoSession {
    /// The browser's SDP offer (audio and the `oai-events` data channel).
    pub sdp: String,
    /// The page's language, which picks the demo gym (`fr`: Paris, `en`: London); default `en`.
    pub lang: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/demo/voice/sessions", tag = "demo",
    request_body = StartDemoSession,
    description = "Starts a public demo call (the `/demo` page): no cookie, no token. Served only when the demo page is on (`demo_page`, `jarvis serve --demo`), 404 otherwise. The call runs in the demo gym as its demo visitor, is flagged as a demo session and lasts at most `demo_max_secs`. Refusals: `rate_limited` (429, `demo_sessions_per_hour` starts per client address and hour, across instances), `demo_budget_exhausted` (402, the month's demo calls cost `demo_budget_usd`), `demo_unavailable` (503, the demo tenant is not seeded), and the kiosk start's own codes.",
    responses((status = 201, body = VoiceSessionStarted),
        (status = 402, body = ErrorBody, description = "`demo_budget_exhausted` or `budget_exhausted`"),
        (status = 404, body = ErrorBody, description = "the demo page is off"),
        (status = 409, body = ErrorBody, description = "`capacity_reached`"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "`rate_limited`: this address's demo calls for the hour are spent; see Retry-After"),
        (status = 503, body = ErrorBody, description = "`demo_unavailable` or `provider_unavailable`")))]
async fn start_demo_session(
    State(state): State<AppState>,
    _on: DemoOn,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<StartDemoSession>,
) -> ApiResult<Response> {
    let demo = state.config.demo;
    if body.sdp.trim().is_empty() || body.sdp.len() > MAX_SDP_LEN {
        return Err(ApiError::invalid_field(
            "sdp",
            "invalid",
            format!("an SDP offer of at most {MAX_SDP_LEN} bytes"),
        ));
    }
    let locale = match body.lang.as_deref() {
        None => Locale::En,
        Some(l) => Locale::parse(l)
            .ok_or_else(|| ApiError::invalid_field("lang", "invalid", "fr or en"))?,
    };
    // Every attempt counts, refused ones too: the limit is on what one address may try.
    match state
        .store
        .throttle_hit(
            &format!("demo-start:{ip}"),
            demo.sessions_per_hour,
            time::Duration::HOUR,
        )
        .await?
    {
        ThrottleVerdict::Allowed { .. } => {}
        ThrottleVerdict::Limited { retry_after } => {
            let wait = std::time::Duration::try_from(retry_after)
                .unwrap_or(std::time::Duration::from_secs(1));
            return Err(crate::auth::too_many(wait));
        }
    }
    let store = state.store.as_ref();
    jarvis_app::demo::check_budget(store, demo.budget_micros, OffsetDateTime::now_utc())
        .await
        .map_err(demo_error)?;
    let identity = jarvis_app::demo::web_kiosk(store, locale)
        .await
        .map_err(demo_error)?;
    let started = match state
        .voice
        .start_demo(&identity, VISITOR_BADGE, &body.sdp, demo.max_secs)
        .await
    {
        Ok(s) => s,
        Err(StartError::Refused(r)) => return Err(refusal_error(&r)),
        Err(StartError::Store(e)) => return Err(e.into()),
    };
    let mut resp = (
        StatusCode::CREATED,
        Json(VoiceSessionStarted {
            session_id: started.session_id,
            sdp: started.sdp_answer,
            expires_at: started.expires_at,
            max_duration_secs: started.max_duration_secs,
        }),
    )
        .into_response();
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

fn demo_error(e: DemoRefusal) -> ApiError {
    match e {
        DemoRefusal::BudgetExhausted => ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "demo_budget_exhausted",
            "this month's demo budget is spent",
        ),
        DemoRefusal::NotSeeded => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "demo_unavailable",
            "the demo is not set up on this server",
        ),
        DemoRefusal::Store(e) => e.into(),
    }
}
