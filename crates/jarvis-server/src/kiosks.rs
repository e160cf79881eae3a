//! Kiosk management for staff: create, list with online/offline status, rename, move, issue a
//! pairing code (pair or re-pair), revoke. The device side lives in `kiosk_api`.

use crate::api::{PageBody, Paging};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::kiosk_api::{hash_secret, new_pairing_code};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_kiosks, create_kiosk))
        .routes(routes!(get_kiosk, update_kiosk))
        .routes(routes!(pairing_code))
        .routes(routes!(revoke_kiosk))
}

/// A kiosk with its live presence (online / offline / revoked / unpaired).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KioskView {
    /// The kiosk.
    #[serde(flatten)]
    pub kiosk: Kiosk,
    /// Presence now, from the last heartbeat and the offline threshold.
    pub presence: KioskPresence,
}

/// Presence of a kiosk now, with the configured offline threshold.
pub fn view(state: &AppState, kiosk: Kiosk) -> KioskView {
    let threshold = time::Duration::try_from(state.config.kiosk_offline_after)
        .unwrap_or(time::Duration::minutes(2));
    let presence = kiosk.presence(OffsetDateTime::now_utc(), threshold);
    KioskView { kiosk, presence }
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/kiosks", tag = "kiosks", params(("gym_id" = GymId, Path), Paging),
    responses((status = 200, body = PageBody<KioskView>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_kiosks(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<PageBody<KioskView>>> {
    let scope = caller.gym(&state, gym, Action::KioskRead).await?;
    let page = state.store.list_kiosks(&scope, gym, p.request()?).await?;
    Ok(Json(PageBody {
        items: page.items.into_iter().map(|k| view(&state, k)).collect(),
        total: page.total,
        limit: page.limit,
        offset: page.offset,
    }))
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/kiosks", tag = "kiosks", params(("gym_id" = GymId, Path)),
    request_body = NewKiosk,
    responses((status = 201, body = Kiosk), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_kiosk(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiJson(body): ApiJson<NewKiosk>,
) -> ApiResult<(StatusCode, Json<Kiosk>)> {
    let scope = caller.gym(&state, gym, Action::KioskManage).await?;
    let k = state
        .store
        .create_kiosk(&scope, &caller.actor, gym, body.validate()?)
        .await?;
    Ok((StatusCode::CREATED, Json(k)))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/kiosks/{kiosk_id}", tag = "kiosks",
    params(("gym_id" = GymId, Path), ("kiosk_id" = KioskId, Path)),
    responses((status = 200, body = KioskView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_kiosk(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, KioskId)>,
) -> ApiResult<Json<KioskView>> {
    let scope = caller.gym(&state, gym, Action::KioskRead).await?;
    let k = state.store.kiosk(&scope, gym, id).await?;
    Ok(Json(view(&state, k)))
}

#[utoipa::path(patch, path = "/api/v1/gyms/{gym_id}/kiosks/{kiosk_id}", tag = "kiosks",
    params(("gym_id" = GymId, Path), ("kiosk_id" = KioskId, Path)), request_body = KioskPatch,
    description = "Renames the kiosk and/or moves it to another gym of the same franchise.",
    responses((status = 200, body = KioskView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_kiosk(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, KioskId)>,
    ApiJson(body): ApiJson<KioskPatch>,
) -> ApiResult<Json<KioskView>> {
    let mut scope = caller.gym(&state, gym, Action::KioskManage).await?;
    let patch = body.validate()?;
    if let Some(to) = patch.gym_id.filter(|to| *to != gym) {
        // A move touches two gyms: it needs kiosk rights on the whole franchise.
        let g = state.store.gym(&scope, gym).await?;
        caller.gym(&state, to, Action::KioskManage).await?;
        scope = caller.franchise(g.franchise_id, Action::KioskManage)?;
    }
    let k = state
        .store
        .update_kiosk(&scope, &caller.actor, gym, id, patch)
        .await?;
    Ok(Json(view(&state, k)))
}

/// A pairing code, shown once to the manager who asked for it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PairingCode {
    /// The kiosk to pair.
    pub kiosk_id: KioskId,
    /// 8 characters to type on the kiosk (valid once, for 15 minutes).
    pub code: String,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/kiosks/{kiosk_id}/pairing-code", tag = "kiosks",
    params(("gym_id" = GymId, Path), ("kiosk_id" = KioskId, Path)),
    description = "Issues a fresh pairing code (replacing any outstanding one). Pairing a new device replaces the old device's token.",
    responses((status = 201, body = PairingCode), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn pairing_code(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, KioskId)>,
) -> ApiResult<(StatusCode, Json<PairingCode>)> {
    let scope = caller.gym(&state, gym, Action::KioskManage).await?;
    let g = state.store.gym(&scope, gym).await?;
    if g.status != GymStatus::Active {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "gym_inactive",
            format!(
                "this gym is {}; only active gyms can run kiosks",
                g.status.as_str()
            ),
        ));
    }
    let code = new_pairing_code()?;
    let expires_at = OffsetDateTime::now_utc() + PAIRING_TTL;
    state
        .store
        .set_pairing_code(
            &scope,
            &caller.actor,
            gym,
            id,
            &hash_secret(&code),
            expires_at,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PairingCode {
            kiosk_id: id,
            code,
            expires_at,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/kiosks/{kiosk_id}/revoke", tag = "kiosks",
    params(("gym_id" = GymId, Path), ("kiosk_id" = KioskId, Path)),
    description = "Revokes the device token (refused from the next request on) and any outstanding pairing code.",
    responses((status = 200, body = KioskView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn revoke_kiosk(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, KioskId)>,
) -> ApiResult<Json<KioskView>> {
    let scope = caller.gym(&state, gym, Action::KioskManage).await?;
    let k = state
        .store
        .revoke_kiosk(&scope, &caller.actor, gym, id)
        .await?;
    Ok(Json(view(&state, k)))
}
