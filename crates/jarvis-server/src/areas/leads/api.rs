//! Lead webhook and leads API.
//!
//! The webhook names its gym by the `Jarvis-Webhook-Key` header, not by a path segment: the key
//! id is random (gym ids never appear in senders' configuration or proxy logs), it changes with
//! each rotation so an old configuration fails loudly, and the route stays one fixed path.

use crate::api::{PageBody, Paging};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jarvis_app::leads::{self, LeadReceipt, NewLeadSecret, WebhookError};
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Header naming the gym's webhook key.
pub const KEY_HEADER: &str = "jarvis-webhook-key";
/// Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256>`.
pub const SIGNATURE_HEADER: &str = "jarvis-signature";

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive_lead))
        .routes(routes!(list_leads))
        .routes(routes!(update_lead))
        .routes(routes!(rotate_secret))
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::BadSignature => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_signature",
                "unknown key or signature mismatch",
            ),
            WebhookError::Stale => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "stale_timestamp",
                "the signed timestamp is more than 5 minutes from the server's clock",
            ),
            WebhookError::TooLarge => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body must be at most {LEAD_WEBHOOK_MAX_BODY} bytes"),
            ),
            WebhookError::Malformed(m) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_body", m)
            }
            WebhookError::Invalid(v) => v.into(),
            WebhookError::EventReused => ApiError::new(
                StatusCode::CONFLICT,
                "event_id_reused",
                "event_id: already received with a different body",
            ),
            WebhookError::App(e) => e.into(),
        }
    }
}

#[utoipa::path(post, path = "/api/v1/webhooks/leads", tag = "leads",
    request_body = NewLead,
    params(
        ("Jarvis-Webhook-Key" = String, Header, description = "The gym's webhook key id"),
        ("Jarvis-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">`"),
    ),
    responses((status = 200, body = LeadReceipt, description = "Stored, or a replay of a stored event (same answer, `Idempotent-Replayed: true`)"),
        (status = 401, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn receive_lead(state: State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    match leads::receive(
        state.store.as_ref(),
        &state.auth.master,
        h(KEY_HEADER),
        h(SIGNATURE_HEADER),
        &body,
        OffsetDateTime::now_utc(),
    )
    .await
    {
        Ok((receipt, created)) => {
            let mut r = Json(receipt).into_response();
            if !created {
                r.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            r
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Filter and page of the lead list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LeadQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Only this status.
    pub status: Option<LeadStatus>,
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/leads", tag = "leads",
    params(("gym_id" = GymId, Path), LeadQuery),
    responses((status = 200, body = PageBody<Lead>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_leads(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiQuery(q): ApiQuery<LeadQuery>,
) -> ApiResult<Json<PageBody<Lead>>> {
    let scope = caller.gym(&state, gym, leads::READ).await?;
    let page = Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    Ok(Json(
        state
            .store
            .list_leads(&scope, gym, q.status, Default::default(), page)
            .await?
            .into(),
    ))
}

#[utoipa::path(patch, path = "/api/v1/gyms/{gym_id}/leads/{lead_id}", tag = "leads",
    params(("gym_id" = GymId, Path), ("lead_id" = LeadId, Path)), request_body = LeadStatusPatch,
    responses((status = 200, body = Lead), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_lead(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, LeadId)>,
    ApiJson(body): ApiJson<LeadStatusPatch>,
) -> ApiResult<Json<Lead>> {
    let scope = caller.gym(&state, gym, leads::WRITE).await?;
    Ok(Json(
        leads::set_status(
            state.store.as_ref(),
            &scope,
            &caller.actor,
            gym,
            id,
            body.status,
        )
        .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/leads/webhook-secret", tag = "leads",
    params(("gym_id" = GymId, Path)),
    responses((status = 201, body = NewLeadSecret, description = "The new secret, shown once; the previous one stops working"),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn rotate_secret(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
) -> ApiResult<(StatusCode, Json<NewLeadSecret>)> {
    let scope = caller.gym(&state, gym, leads::KEY_ROTATE).await?;
    let s = leads::rotate_secret(
        state.store.as_ref(),
        &state.auth.master,
        &scope,
        &caller.actor,
        gym,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(s)))
}
