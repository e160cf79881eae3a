//! Kiosk devices' API (creation and listing; pairing and heartbeat build on this).

use crate::api::{PageBody, Paging};
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_core::model::*;
use jarvis_core::*;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_kiosks, create_kiosk))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/kiosks", tag = "kiosks", params(("gym_id" = GymId, Path), Paging),
    responses((status = 200, body = PageBody<Kiosk>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_kiosks(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<PageBody<Kiosk>>> {
    Ok(Json(
        state
            .store
            .list_kiosks(&caller.scope, gym, p.request()?)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/kiosks", tag = "kiosks", params(("gym_id" = GymId, Path)),
    request_body = NewKiosk,
    responses((status = 201, body = Kiosk), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_kiosk(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiJson(body): ApiJson<NewKiosk>,
) -> ApiResult<(StatusCode, Json<Kiosk>)> {
    let k = state
        .store
        .create_kiosk(&caller.scope, &caller.actor, gym, body.validate()?)
        .await?;
    Ok((StatusCode::CREATED, Json(k)))
}
