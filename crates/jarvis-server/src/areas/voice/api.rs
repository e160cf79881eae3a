//! The kiosk's voice calls (`/api/v1/kiosk/voice/sessions`): start a call for a badge with the
//! browser's SDP offer, and end one of the kiosk's own calls. Device token only. The handlers
//! only relay to the [`jarvis_voice::VoiceBroker`]: the call itself runs in its own task, so
//! nothing here outlives the request.

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::kiosk_api::KioskDevice;
use crate::metrics::RequestStarted;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use jarvis_core::VoiceSessionId;
use jarvis_core::authz::Action;
use jarvis_core::model::MAX_BADGE_LEN;
use jarvis_store::ThrottleVerdict;
use jarvis_voice::{EndError, StartError, StartRefusal};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest SDP offer accepted (a browser's offer is 3–8 KB).
const MAX_SDP_LEN: usize = 64 * 1024;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_session))
        .routes(routes!(end_session))
        .routes(routes!(list_model_prices, set_model_price))
}

/// A call request from the kiosk.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartVoiceSession {
    /// The scanned badge id.
    pub badge_id: String,
    /// The browser's SDP offer (audio and the `oai-events` data channel).
    pub sdp: String,
}

/// A call that started.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VoiceSessionStarted {
    /// Our session id (for `DELETE`).
    pub session_id: VoiceSessionId,
    /// The SDP answer to apply to the browser's peer connection.
    pub sdp: String,
    /// When the call will be hung up at the latest.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The call's maximum duration.
    pub max_duration_secs: u32,
}

/// The HTTP status of a refusal: each code gets the status that says who can fix it.
fn refusal_status(r: &StartRefusal) -> StatusCode {
    match r {
        StartRefusal::CapacityReached(_) => StatusCode::CONFLICT,
        StartRefusal::BudgetExhausted => StatusCode::PAYMENT_REQUIRED,
        StartRefusal::MemberNotFound => StatusCode::NOT_FOUND,
        StartRefusal::MembershipInactive
        | StartRefusal::ConsentMissing
        | StartRefusal::VoiceDisabled
        | StartRefusal::GymInactive
        | StartRefusal::GymMisconfigured => StatusCode::FORBIDDEN,
        StartRefusal::ProviderUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The refusal as the error body; the message is generic (no member data, no provider detail).
pub(crate) fn refusal_error(r: &StartRefusal) -> ApiError {
    let message = match r {
        StartRefusal::CapacityReached(_) => "every voice line is busy; try again in a moment",
        StartRefusal::BudgetExhausted => "the monthly AI budget is spent",
        StartRefusal::MemberNotFound => "no member with this badge in this gym",
        StartRefusal::MembershipInactive => "this badge's membership is not active",
        StartRefusal::ConsentMissing => "this member has not agreed to voice conversations",
        StartRefusal::VoiceDisabled => "voice conversations are off in this gym",
        StartRefusal::GymInactive => "this gym is not active",
        StartRefusal::GymMisconfigured => {
            "this gym's stored settings are invalid; an administrator must save them again"
        }
        StartRefusal::ProviderUnavailable(_) => "the voice service is unavailable; try again",
    };
    ApiError::new(refusal_status(r), r.code(), message)
}

#[utoipa::path(post, path = "/api/v1/kiosk/voice/sessions", tag = "kiosk-device",
    request_body = StartVoiceSession,
    description = "Starts a voice call for the member holding `badge_id` in the kiosk's gym: the server checks membership, consent, budgets and capacity, relays the SDP offer to the provider with the server's key and answers the SDP answer. The call then runs on the server; this request does not hold it. A refused start costs nothing; `error.code` is one of `member_not_found` (404), `membership_inactive`, `consent_missing`, `voice_disabled`, `gym_inactive`, `gym_misconfigured` (403), `budget_exhausted` (402), `capacity_reached` (409), `provider_unavailable` (503). Limited per kiosk (`kiosk_voice_starts_per_min`, counted across instances).",
    responses((status = 201, body = VoiceSessionStarted),
        (status = 401, body = ErrorBody), (status = 402, body = ErrorBody, description = "`budget_exhausted`"),
        (status = 403, body = ErrorBody, description = "`membership_inactive`, `consent_missing`, `voice_disabled`, or the gym is not active"),
        (status = 404, body = ErrorBody, description = "`member_not_found`"),
        (status = 409, body = ErrorBody, description = "`capacity_reached`"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "this kiosk's start budget is spent; see Retry-After"),
        (status = 503, body = ErrorBody, description = "`provider_unavailable`")),
    security(("kiosk_device" = [])))]
async fn start_session(
    RequestStarted(arrived): RequestStarted,
    State(state): State<AppState>,
    kiosk: KioskDevice,
    ApiJson(body): ApiJson<StartVoiceSession>,
) -> ApiResult<Response> {
    kiosk.allow(Action::KioskVoiceSession)?;
    let device = kiosk.0;
    let badge = body.badge_id.trim();
    if badge.is_empty() || badge.len() > MAX_BADGE_LEN {
        return Err(ApiError::invalid_field(
            "badge_id",
            "invalid",
            format!("1 to {MAX_BADGE_LEN} characters"),
        ));
    }
    if body.sdp.trim().is_empty() || body.sdp.len() > MAX_SDP_LEN {
        return Err(ApiError::invalid_field(
            "sdp",
            "invalid",
            format!("an SDP offer of at most {MAX_SDP_LEN} bytes"),
        ));
    }
    // Shared by every instance: a kiosk behind a load balancer gets one budget, not one each.
    match state
        .store
        .throttle_hit(
            &format!("voice-start:{}", device.kiosk.id),
            state.config.kiosk_voice_starts_per_min,
            time::Duration::MINUTE,
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
    let started = match state.voice.start(&device, badge, &body.sdp).await {
        Ok(s) => s,
        Err(StartError::Refused(r)) => return Err(refusal_error(&r)),
        Err(StartError::Store(e)) => return Err(e.into()),
    };
    // Our share of the start (the target: milliseconds), apart from the provider's.
    let total = arrived.elapsed();
    state
        .metrics
        .observe_voice_start(total, started.provider_time);
    tracing::info!(
        session = %started.session_id,
        total_ms = total.as_secs_f64() * 1e3,
        provider_ms = started.provider_time.as_secs_f64() * 1e3,
        overhead_ms = total.saturating_sub(started.provider_time).as_secs_f64() * 1e3,
        "voice call started"
    );
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

#[utoipa::path(delete, path = "/api/v1/kiosk/voice/sessions/{id}", tag = "kiosk-device",
    params(("id" = VoiceSessionId, Path, description = "The session id from the start")),
    description = "Ends one of this kiosk's own calls (`member_ended`). Ending a call that already ended answers 204 too; another kiosk's session is 404.",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("kiosk_device" = [])))]
async fn end_session(
    State(state): State<AppState>,
    kiosk: KioskDevice,
    ApiPath(id): ApiPath<VoiceSessionId>,
) -> ApiResult<StatusCode> {
    kiosk.allow(Action::KioskVoiceSession)?;
    match state.voice.end(&kiosk.0, id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(EndError::NotFound) => Err(ApiError::not_found("voice session")),
        Err(EndError::Store(e)) => Err(e.into()),
    }
}

/// The model price table.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelPriceList {
    /// Every price row, per model and effective date.
    pub items: Vec<jarvis_core::model::ModelPriceEntry>,
}

#[utoipa::path(get, path = "/api/v1/model-prices", tag = "voice",
    description = "The model price table (pico-USD per token, per minute for duration-billed transcription), every model and effective date. Super admins only.",
    responses((status = 200, body = ModelPriceList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_model_prices(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
) -> ApiResult<Json<ModelPriceList>> {
    caller.authorize(
        Action::PlatformAdmin,
        &jarvis_core::authz::Resource::Platform,
    )?;
    Ok(Json(ModelPriceList {
        items: state.store.list_model_prices().await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/model-prices", tag = "voice",
    request_body = jarvis_core::model::NewModelPrice,
    description = "Sets a model's prices from a date (replaces the row of the same model and date). Calls price with the table in effect when they started. Super admins only; audited.",
    responses((status = 201, body = jarvis_core::model::ModelPriceEntry), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn set_model_price(
    State(state): State<AppState>,
    caller: crate::auth::Caller,
    ApiJson(body): ApiJson<jarvis_core::model::NewModelPrice>,
) -> ApiResult<(StatusCode, Json<jarvis_core::model::ModelPriceEntry>)> {
    let scope = caller.authorize(
        Action::PlatformAdmin,
        &jarvis_core::authz::Resource::Platform,
    )?;
    let new = body.validate()?;
    let entry = state
        .store
        .set_model_price(&scope, &caller.actor, new)
        .await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jarvis_core::model::{Cap, CapRefusal};

    #[test]
    fn every_refusal_keeps_its_code_and_a_client_error_or_503() {
        let all = [
            StartRefusal::CapacityReached(CapRefusal {
                cap: Cap::Global,
                limit: 100,
                live: 100,
            }),
            StartRefusal::BudgetExhausted,
            StartRefusal::MemberNotFound,
            StartRefusal::MembershipInactive,
            StartRefusal::ConsentMissing,
            StartRefusal::VoiceDisabled,
            StartRefusal::GymInactive,
            StartRefusal::GymMisconfigured,
            StartRefusal::ProviderUnavailable("upstream 500 secret-detail".into()),
        ];
        for r in all {
            let e = refusal_error(&r);
            assert_eq!(e.code, r.code());
            assert!(
                e.status.is_client_error() || e.status == StatusCode::SERVICE_UNAVAILABLE,
                "{r:?}"
            );
            assert!(
                !e.message.contains("secret-detail"),
                "provider details stay in the logs"
            );
        }
    }
}
