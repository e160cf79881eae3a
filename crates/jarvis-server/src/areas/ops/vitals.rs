//! Web Vitals: `POST /api/v1/vitals`, where every dashboard page's `vitals.js` sends its LCP,
//! CLS, INP, FCP and TTFB (no cookie, no session: nothing ties a report to a person), and the
//! super admins' page `/app/ops/vitals` with the daily p75 per page and metric. Rules and the
//! p75 live in `jarvis_app::vitals`.

use crate::auth::web::{ClientIp, PageUser};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use crate::web::chrome::{Chrome, InPage, PageResult};
use crate::web::i18n::{Msg, Tr};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jarvis_app::vitals::{self, P75Row, Report};
use jarvis_core::authz::{Action, Resource};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest report accepted, in bytes (ten metrics and a page name fit in well under 1 KiB).
pub const BODY_LIMIT: usize = 2048;
/// Reports accepted per client address and minute (a page sends one per view).
pub const PER_MIN: u32 = 60;

/// The API route.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(receive))
}

/// The page route.
pub fn page_routes() -> Router<AppState> {
    Router::new().route("/app/ops/vitals", get(vitals_page))
}

#[utoipa::path(post, path = "/api/v1/vitals", tag = "ops",
    description = "Web Vitals of one dashboard page view, sent by the page itself with `navigator.sendBeacon`. \
        No authentication; limited per client address. `page` is the route template (segments that are lowercase \
        words or `{id}`), metrics are `LCP`, `CLS`, `INP`, `FCP`, `TTFB` with finite values in range. \
        Nothing is stored unless the whole report is valid.",
    request_body = Report,
    responses((status = 204, description = "stored"),
        (status = 400, body = ErrorBody, description = "not JSON of this shape"),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
async fn receive(State(state): State<AppState>, ClientIp(ip): ClientIp, body: Body) -> Response {
    if let Some(ip) = ip.as_deref()
        && let Err(wait) = state.auth.limiter.check(&format!("vitals:{ip}"), PER_MIN)
    {
        return crate::auth::too_many(wait).into_response();
    }
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("at most {BODY_LIMIT} bytes"),
        )
        .into_response();
    };
    let report: Report = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(_) => {
            return ApiError::bad_request(
                "invalid_json",
                "expected {page, metrics: [{name, value}]}",
            )
            .into_response();
        }
    };
    match vitals::record(state.store.as_ref(), &report, OffsetDateTime::now_utc()).await {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "ops/vitals.html")]
struct VitalsPage {
    c: Chrome,
    days: u16,
    rows: Vec<P75Row>,
}

/// The page's query: how many days back (7 by default, at most 90; text, so a bad value
/// shows the default rather than an error).
#[derive(Deserialize, Default)]
struct VitalsQuery {
    #[serde(default)]
    days: String,
}

/// A p75 as the table shows it: milliseconds as integers, CLS with three decimals.
pub fn value(r: &P75Row) -> String {
    if r.metric == "CLS" {
        format!("{:.3}", r.p75)
    } else {
        format!("{:.0}", r.p75)
    }
}

async fn vitals_page(
    State(state): State<AppState>,
    u: PageUser,
    Query(q): Query<VitalsQuery>,
) -> PageResult {
    let t = Tr(u.locale);
    let scope = u
        .caller
        .authorize(Action::PlatformAdmin, &Resource::Platform)
        .in_page(t)?;
    let days = q.days.parse::<u16>().unwrap_or(7).clamp(1, 90);
    let rows = vitals::daily_p75(
        state.store.as_ref(),
        &scope,
        OffsetDateTime::now_utc().date(),
        days,
    )
    .await
    .in_page(t)?;
    Ok(page(
        VitalsPage {
            c: Chrome::plain(&u),
            days,
            rows,
        },
        StatusCode::OK,
    ))
}
