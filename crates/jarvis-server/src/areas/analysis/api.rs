//! Custom analysis fields API: list and add a gym's fields, delete one; and the analysis of a
//! session (done or failed, with the custom values).

use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_app::analysis;
use jarvis_core::model::*;
use jarvis_core::*;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_fields, create_field))
        .routes(routes!(delete_field))
        .routes(routes!(session_analysis))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/analysis-fields", tag = "analysis",
    params(("gym_id" = GymId, Path)),
    responses((status = 200, body = Vec<AnalysisField>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_fields(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
) -> ApiResult<Json<Vec<AnalysisField>>> {
    let scope = caller.gym(&state, gym, analysis::READ).await?;
    Ok(Json(
        analysis::fields(state.store.as_ref(), &scope, gym).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/analysis-fields", tag = "analysis",
    params(("gym_id" = GymId, Path)), request_body = NewAnalysisField,
    responses((status = 201, body = AnalysisField), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A field of this gym has this name"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_field(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiJson(body): ApiJson<NewAnalysisField>,
) -> ApiResult<(StatusCode, Json<AnalysisField>)> {
    let scope = caller.gym(&state, gym, analysis::MANAGE).await?;
    let f = analysis::add_field(state.store.as_ref(), &scope, &caller.actor, gym, body).await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[utoipa::path(delete, path = "/api/v1/gyms/{gym_id}/analysis-fields/{field_id}", tag = "analysis",
    params(("gym_id" = GymId, Path), ("field_id" = AnalysisFieldId, Path)),
    responses((status = 204, description = "Deleted; past analyses keep their values"),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_field(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, AnalysisFieldId)>,
) -> ApiResult<StatusCode> {
    let scope = caller.gym(&state, gym, analysis::MANAGE).await?;
    analysis::delete_field(state.store.as_ref(), &scope, &caller.actor, gym, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/voice/sessions/{session_id}/analysis", tag = "analysis",
    params(("gym_id" = GymId, Path), ("session_id" = VoiceSessionId, Path)),
    responses((status = 200, body = SessionAnalysis, description = "Done or failed (see `status`)"),
        (status = 404, body = ErrorBody, description = "Unknown session, or not analysed yet")),
    security(("bearer" = [])))]
async fn session_analysis(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, VoiceSessionId)>,
) -> ApiResult<Json<SessionAnalysis>> {
    let scope = caller.gym(&state, gym, analysis::READ).await?;
    analysis::of_session(state.store.as_ref(), &scope, gym, id)
        .await?
        .map(Json)
        .ok_or_else(|| jarvis_store::StoreError::NotFound("session analysis").into())
}
