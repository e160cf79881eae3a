//! Kiosk management for staff: create, list with online/offline status, rename, move, issue a
//! pairing code (pair or re-pair), revoke. The device side lives in `kiosk_api`.

use crate::api::{PageBody, Paging};
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_app::kiosks;
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
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

pub use jarvis_app::kiosks::{KioskView, PairingCode};

/// Presence of a kiosk now, with the configured offline threshold.
pub fn view(state: &AppState, kiosk: Kiosk) -> KioskView {
    kiosks::view(kiosk, state.config.kiosk_offline_after)
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
        total_capped: page.total_capped,
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
    let k = kiosks::create(state.store.as_ref(), &scope, &caller.actor, gym, body).await?;
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
    let scope = caller.gym(&state, gym, Action::KioskManage).await?;
    let k = kiosks::update(
        state.store.as_ref(),
        &caller.principal,
        &scope,
        &caller.actor,
        gym,
        id,
        body,
    )
    .await?;
    // A renamed or moved kiosk: its device requests read the new identity at once.
    state.kiosk_tokens.forget_kiosk(id);
    Ok(Json(view(&state, k)))
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
    let (_, code) =
        kiosks::issue_pairing_code(state.store.as_ref(), &scope, &caller.actor, gym, id).await?;
    Ok((StatusCode::CREATED, Json(code)))
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
    let k = kiosks::revoke(state.store.as_ref(), &scope, &caller.actor, gym, id).await?;
    // Refused from the next request on, also when the token was cached.
    state.kiosk_tokens.forget_kiosk(id);
    Ok(Json(view(&state, k)))
}
