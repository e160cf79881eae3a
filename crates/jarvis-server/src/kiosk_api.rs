//! The kiosk device API (`/api/v1/kiosk/*`): pairing-code exchange, heartbeat, configuration and
//! badge lookup. Everything but the exchange is authenticated by the device token alone, which
//! resolves to one kiosk of one gym; the device then acts in that gym's scope and nothing else.
//!
//! Secrets: pairing codes are 8 characters drawn from the OS CSPRNG, device tokens 32 random
//! bytes. Only their SHA-256 digests are stored; the token is shown once, in the exchange answer.

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jarvis_core::authz::{self, Action, Decision, Principal, Resource};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::{KioskIdentity, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use jarvis_app::kiosks::{TOKEN_PREFIX, hash_secret, new_device_token, new_pairing_code};

/// A badge scanned again within this window is the same visit (also when scanned at once on
/// two kiosks: the store decides atomically).
const VISIT_DEBOUNCE: time::Duration = time::Duration::minutes(10);

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pair))
        .routes(routes!(heartbeat))
        .routes(routes!(config))
        .routes(routes!(member_by_badge))
}

/// An authenticated kiosk device: the token resolved to its kiosk and gym.
#[derive(Debug, Clone)]
pub struct KioskDevice(pub KioskIdentity);

/// Badge lookups, limited by `kiosk_lookup_per_min` alone.
const LOOKUP_PREFIX: &str = "/api/v1/kiosk/members/";

/// Paths authenticated by the device token (everything under `/api/v1/kiosk/` but the
/// pairing exchange, which has no token yet).
fn is_device_path(path: &str) -> bool {
    path.starts_with("/api/v1/kiosk/") && path != "/api/v1/kiosk/pair"
}

/// Whether a request is limited per kiosk rather than per client address: a device-token
/// route that presents a device token. A gym's kiosks share one public address, so one busy
/// entrance must not throttle the others; the per-IP limit still covers token-less requests,
/// and an unknown token is charged to the address (see [`KioskDevice`]).
pub fn limited_per_kiosk(path: &str, headers: &axum::http::HeaderMap) -> bool {
    is_device_path(path) && bearer_device_token(headers).is_some()
}

fn bearer_device_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with(TOKEN_PREFIX))
}

/// Takes one request from a per-client-address bucket, like the API-wide limit does.
fn charge_address(parts: &Parts, state: &AppState) -> ApiResult<()> {
    let ip = crate::auth::client_ip(parts, state)
        .and_then(|ip| ip.parse().ok())
        .map(jarvis_app::auth::net::rate_key)
        .unwrap_or_else(|| "unknown".into());
    state
        .auth
        .limiter
        .check(&format!("api:{ip}"), state.config.rate_limit_api_per_min)
        .map_err(crate::auth::too_many)
}

impl FromRequestParts<AppState> for KioskDevice {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_device_token(&parts.headers).ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "kiosk_token_required",
                "send the device token as `Authorization: Bearer jk_…`",
            )
        })?;
        let identity = match device_identity(state, hash_secret(token)).await {
            Ok(i) => i,
            Err(StoreError::NotFound(_)) => {
                // Not a kiosk after all: guessing tokens costs the address's API budget.
                charge_address(parts, state)?;
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_kiosk_token",
                    "this device token is unknown or was revoked; pair the kiosk again",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        // The API-wide limit, per kiosk instead of per address; badge lookups have their own
        // (`kiosk_lookup_per_min`, in the handler) and are not counted twice.
        if !parts.uri.path().starts_with(LOOKUP_PREFIX) {
            state
                .auth
                .limiter
                .check(
                    &format!("kiosk:{}", identity.kiosk.id),
                    state.config.rate_limit_api_per_min,
                )
                .map_err(crate::auth::too_many)?;
        }
        if let Err(not_ready) = jarvis_app::gyms::kiosk_readiness(&identity.gym) {
            return Err(gym_not_ready(&not_ready));
        }
        Ok(KioskDevice(identity))
    }
}

/// The kiosk holding this token hash: from the cache of recently checked tokens (no SQL), else
/// from the store (then cached). See `kiosk_tokens` for how revocation stays effective.
async fn device_identity(
    state: &AppState,
    token_hash: String,
) -> Result<KioskIdentity, StoreError> {
    if let Some(identity) = state.kiosk_tokens.get(&token_hash) {
        return Ok(identity);
    }
    let generation = state.kiosk_tokens.generation();
    let identity = state.store.kiosk_by_token(&token_hash).await?;
    state
        .kiosk_tokens
        .insert(token_hash, identity.clone(), generation);
    Ok(identity)
}

impl KioskDevice {
    /// The scope for a device action, decided by the one permission function (a kiosk may only
    /// do kiosk things, in its own gym).
    pub fn allow(&self, action: Action) -> ApiResult<Scope> {
        let k = &self.0.kiosk;
        let principal = Principal::Kiosk {
            kiosk_id: k.id,
            franchise: self.0.gym.franchise_id,
            gym: self.0.gym.id,
        };
        match authz::authorize(
            &principal,
            action,
            &Resource::Gym(self.0.gym.franchise_id, self.0.gym.id),
        ) {
            Decision::Allow(scope) => Ok(scope),
            _ => Err(ApiError::forbidden("a kiosk may not do this")),
        }
    }
}

/// The device's refusal when its gym may not run kiosks (403 `gym_inactive` or
/// `gym_misconfigured`); the rule itself is `Gym::kiosk_readiness`.
fn gym_not_ready(not_ready: &GymNotReady) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        not_ready.code(),
        not_ready.to_string(),
    )
}

/// Failed pairing attempts allowed per client address and window before 429.
const PAIR_FAILURES: u32 = 10;
/// The window of [`PAIR_FAILURES`].
const PAIR_WINDOW: time::Duration = time::Duration::minutes(10);

/// The shared throttle of an address's failed exchanges. It lives in the database
/// (`ThrottleStore`), so the limit holds across every instance behind a load balancer: guessing
/// codes costs a 10-minute wait every 10 tries, whichever instances the guesses reach.
fn pair_key(ip: &str) -> String {
    format!("kiosk.pair:{ip}")
}

/// How long the client must wait before its next exchange, if it is over the limit.
async fn pair_blocked(state: &AppState, ip: &str) -> ApiResult<Option<std::time::Duration>> {
    match state
        .store
        .throttle_check(&pair_key(ip), PAIR_FAILURES)
        .await?
    {
        jarvis_store::ThrottleVerdict::Allowed { .. } => Ok(None),
        jarvis_store::ThrottleVerdict::Limited { retry_after } => Ok(Some(
            std::time::Duration::try_from(retry_after).unwrap_or(std::time::Duration::from_secs(1)),
        )),
    }
}

/// Counts a failed exchange (atomically, across instances).
async fn pair_failed(state: &AppState, ip: &str) {
    if let Err(e) = state
        .store
        .throttle_hit(&pair_key(ip), PAIR_FAILURES, PAIR_WINDOW)
        .await
    {
        tracing::warn!(error = %e, "cannot count a failed pairing attempt");
    }
}

/// The client's rate-limit key as the auth layer sees it (trusted proxies honoured): the
/// address for IPv4, its /64 for IPv6, like every other limit (a subscriber holds a whole /64,
/// so keying on the full address would hand out 2^64 fresh budgets).
pub struct ClientIp(pub String);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            crate::auth::client_ip(parts, state)
                .and_then(|ip| ip.parse().ok())
                .map(jarvis_app::auth::net::rate_key)
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

/// Body of the pairing exchange.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    /// The 8-character code shown on the dashboard (case and dashes ignored).
    pub code: String,
}

/// The answer to a successful exchange; the only time the device token is ever sent.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PairResponse {
    /// The kiosk now paired.
    pub kiosk_id: KioskId,
    /// Its name.
    pub kiosk_name: String,
    /// Its gym.
    pub gym_id: GymId,
    /// The gym's name.
    pub gym_name: String,
    /// The long-lived device token: store it on the device; it is not shown again.
    pub device_token: String,
}

#[utoipa::path(post, path = "/api/v1/kiosk/pair", tag = "kiosk-device", request_body = PairRequest,
    description = "Exchanges a pairing code (single use, 15 minutes) for a device token. The token is in this answer only; the server keeps its hash.",
    responses((status = 200, body = PairResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "10 failed exchanges from this address within 10 minutes")))]
async fn pair(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<PairRequest>,
) -> ApiResult<Response> {
    if let Some(wait) = pair_blocked(&state, &ip).await? {
        return Err(crate::auth::too_many(wait));
    }
    let code = normalize_pairing_code(&body.code);
    let bad_code = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_pairing_code",
            "this pairing code is unknown, used or expired; ask for a new one on the dashboard",
        )
    };
    if code.len() != PAIRING_CODE_LEN {
        pair_failed(&state, &ip).await;
        return Err(bad_code());
    }
    let token = new_device_token()?;
    let identity = match state
        .store
        .pair_kiosk(&hash_secret(&code), &hash_secret(&token))
        .await
    {
        Ok(i) => i,
        Err(StoreError::NotFound(_)) => {
            pair_failed(&state, &ip).await;
            return Err(bad_code());
        }
        Err(StoreError::Invalid {
            field: code @ ("gym_inactive" | "gym_misconfigured"),
            message,
        }) => {
            // The code is kept: it still works once the gym is approved or repaired (until it
            // expires).
            return Err(ApiError::new(StatusCode::FORBIDDEN, code, message));
        }
        Err(e) => return Err(e.into()),
    };
    // Re-pairing replaced the kiosk's previous token: this instance forgets it at once.
    state.kiosk_tokens.forget_kiosk(identity.kiosk.id);
    let body = PairResponse {
        kiosk_id: identity.kiosk.id,
        kiosk_name: identity.kiosk.name,
        gym_id: identity.gym.id,
        gym_name: identity.gym.name,
        device_token: token,
    };
    let mut resp = Json(body).into_response();
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// The answer to a heartbeat.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HeartbeatAck {
    /// Always `ok`.
    pub status: String,
    /// Server clock, for the kiosk's drift check.
    #[serde(with = "time::serde::rfc3339")]
    pub server_time: OffsetDateTime,
    /// Seconds until the next heartbeat is expected.
    pub next_in_secs: u64,
}

#[utoipa::path(post, path = "/api/v1/kiosk/heartbeat", tag = "kiosk-device", request_body = Heartbeat,
    responses((status = 200, body = HeartbeatAck), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("kiosk_device" = [])))]
async fn heartbeat(
    State(state): State<AppState>,
    KioskDevice(device): KioskDevice,
    ApiJson(body): ApiJson<Heartbeat>,
) -> ApiResult<Json<HeartbeatAck>> {
    let hb = body.validate()?;
    KioskDevice(device.clone()).allow(Action::KioskHeartbeat)?;
    // Coalesced and written in batches (see `heartbeats`), the heard-latency sample with it
    // (`voice_heard_latency`): the answer does not wait for a write.
    if let Some(written) = state.heartbeats.submit(&device.kiosk, hb).await? {
        // The cached identity now knows the stored presence, so the next heartbeats coalesce.
        state.kiosk_tokens.seen(device.kiosk.id, written);
    }
    Ok(Json(HeartbeatAck {
        status: "ok".into(),
        server_time: OffsetDateTime::now_utc(),
        next_in_secs: (state.config.kiosk_offline_after.as_secs() / 4).clamp(5, 60),
    }))
}

/// What a kiosk needs to run: nothing secret (no budget, no keys, no member data).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KioskConfig {
    /// This kiosk.
    pub kiosk_id: KioskId,
    /// Its name.
    pub kiosk_name: String,
    /// The gym's name.
    pub gym_name: String,
    /// Language of the kiosk.
    pub locale: Locale,
    /// The gym's time zone.
    pub timezone: String,
    /// Opening hours.
    pub opening_hours: OpeningHours,
    /// The assistant's persona.
    pub persona: Persona,
    /// Feature switches.
    pub features: Features,
}

#[utoipa::path(get, path = "/api/v1/kiosk/config", tag = "kiosk-device",
    responses((status = 200, body = KioskConfig), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("kiosk_device" = [])))]
async fn config(kiosk: KioskDevice) -> ApiResult<Json<KioskConfig>> {
    kiosk.allow(Action::KioskHeartbeat)?;
    let device = kiosk.0;
    // The extractor already refused a gym that is not ready; this only hands over the settings.
    let settings = jarvis_app::gyms::kiosk_readiness(&device.gym).map_err(|e| gym_not_ready(&e))?;
    Ok(Json(KioskConfig {
        kiosk_id: device.kiosk.id,
        kiosk_name: device.kiosk.name,
        gym_name: device.gym.name,
        locale: device.gym.locale,
        timezone: device.gym.timezone,
        opening_hours: settings.opening_hours,
        persona: settings.persona,
        features: settings.features,
    }))
}

/// The only member data a kiosk ever receives.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskMember {
    /// First name, for the greeting.
    pub first_name: String,
    /// Language to greet in.
    pub preferred_language: Locale,
}

#[utoipa::path(get, path = "/api/v1/kiosk/members/by-badge/{badge}", tag = "kiosk-device",
    params(("badge" = String, Path, description = "The scanned badge id")),
    description = "Looks up a badge in the kiosk's own gym and records the visit (rescans within 10 minutes count once, even on two kiosks at once). Returns only the first name and language. A member whose membership is frozen, expired, cancelled or past its end date is refused with `membership_inactive` (no visit is recorded); an active member without voice consent with `consent_missing` (the visit is recorded). Refusals carry the code and a generic message, never the name. Limited per kiosk (`kiosk_lookup_per_min`).",
    responses((status = 200, body = KioskMember), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "`membership_inactive`, `consent_missing`, or the gym is not active"),
        (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "this kiosk's lookup budget is spent; see Retry-After")),
    security(("kiosk_device" = [])))]
async fn member_by_badge(
    State(state): State<AppState>,
    kiosk: KioskDevice,
    ApiPath(badge): ApiPath<String>,
) -> ApiResult<Json<KioskMember>> {
    let scope = kiosk.allow(Action::KioskBadgeLookup)?;
    let device = kiosk.0;
    state
        .auth
        .limiter
        .check(
            &format!("kiosk-lookup:{}", device.kiosk.id),
            state.config.kiosk_lookup_per_min,
        )
        .map_err(crate::auth::too_many)?;
    let badge = badge.trim();
    if badge.is_empty() || badge.len() > MAX_BADGE_LEN {
        return Err(ApiError::not_found("member"));
    }
    let m = state
        .store
        .member_by_badge(&scope, device.gym.id, badge)
        .await?;
    // The gym's "today" decides whether a membership ending today is still valid.
    let now = OffsetDateTime::now_utc();
    let today = device
        .gym
        .local_now(now)
        .unwrap_or_else(|e| {
            tracing::error!(gym = %device.gym.id, error = %e, "gym time zone unavailable; using UTC");
            now
        })
        .date();
    let eligibility = m.kiosk_eligibility(today);
    // An inactive membership is not a visit (no attendance, and no new personal data about
    // someone who is not a current customer); an active member without voice consent did come
    // in, and attendance is part of the membership, not of the voice feature.
    if eligibility != KioskEligibility::MembershipInactive {
        state
            .store
            .record_scan_visit(
                &scope,
                device.gym.id,
                m.id,
                Some(device.kiosk.id),
                VISIT_DEBOUNCE,
            )
            .await?;
    }
    match eligibility {
        KioskEligibility::Eligible => Ok(Json(KioskMember {
            first_name: m.first_name,
            preferred_language: m.preferred_language,
        })),
        KioskEligibility::MembershipInactive => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "membership_inactive",
            "this badge's membership is not active; please see the front desk",
        )),
        KioskEligibility::ConsentMissing => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "consent_missing",
            "this member has not agreed to voice conversations; the front desk can record consent",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_use_the_alphabet_and_do_not_repeat() {
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let c = new_pairing_code().unwrap_or_default();
            assert_eq!(c.len(), PAIRING_CODE_LEN);
            assert!(c.bytes().all(|b| PAIRING_ALPHABET.contains(&b)), "{c}");
            assert!(
                seen.insert(c),
                "2000 codes from a 31^8 space never collide in practice"
            );
        }
    }

    #[test]
    fn tokens_are_long_and_hashes_hide_them() {
        let t = new_device_token().unwrap_or_default();
        assert!(t.starts_with(TOKEN_PREFIX) && t.len() >= 43 + 3, "{t}");
        let h = hash_secret(&t);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&t[3..]));
        assert_ne!(new_device_token().unwrap_or_default(), t);
    }
}
