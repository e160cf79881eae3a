//! Gym life cycle (approval, rejection, suspension) and class schedules.

use crate::api::{PageBody, Paging};
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_app::gyms;
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(review_gym))
        .routes(routes!(list_classes, create_class))
        .routes(routes!(get_class, update_class, delete_class))
}

/// A move along the approval workflow.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GymReview {
    /// Target status: `active` (approve or reactivate), `rejected`, `suspended`, `pending`
    /// (resubmit after a rejection) or `archived`.
    pub status: GymStatus,
    /// Required for `rejected` and `suspended` (at most 500 characters).
    #[serde(default)]
    pub reason: Option<String>,
    /// The status the reviewer decided on (optimistic concurrency): when the gym is no longer
    /// in it, nothing changes and the answer is 409 `status_changed`. Without it, the status
    /// read at the start of the request is used.
    #[serde(default)]
    pub expected_status: Option<GymStatus>,
}

#[utoipa::path(post, path = "/api/v1/gyms/{id}/status", tag = "tenants", params(("id" = GymId, Path)),
    request_body = GymReview,
    description = "Approval workflow: pending → active | rejected (reason); rejected → pending; active ⇄ suspended (reason); any → archived. Compare-and-set: of two concurrent reviews one wins and the other gets 409 `status_changed`.",
    responses((status = 200, body = Gym), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`status_changed`: the gym left the expected status meanwhile"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn review_gym(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<GymId>,
    ApiJson(body): ApiJson<GymReview>,
) -> ApiResult<Json<Gym>> {
    let scope = caller
        .gym(&state, id, gyms::review_action(body.status))
        .await?;
    Ok(Json(
        gyms::review(
            state.store.as_ref(),
            &scope,
            &caller.actor,
            id,
            body.expected_status,
            body.status,
            body.reason,
        )
        .await?,
    ))
}

/// Filters of the class list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ClassQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Only weekly classes on this day.
    pub weekday: Option<Weekday>,
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/classes", tag = "classes", params(("gym_id" = GymId, Path), ClassQuery),
    responses((status = 200, body = PageBody<ClassSchedule>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_classes(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiQuery(q): ApiQuery<ClassQuery>,
) -> ApiResult<Json<PageBody<ClassSchedule>>> {
    let scope = caller.gym(&state, gym, Action::ScheduleRead).await?;
    let page = Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    Ok(Json(
        state
            .store
            .list_classes(&scope, gym, q.weekday, page)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/classes", tag = "classes", params(("gym_id" = GymId, Path)),
    request_body = NewClassSchedule,
    responses((status = 201, body = ClassSchedule), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_class(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiJson(body): ApiJson<NewClassSchedule>,
) -> ApiResult<(StatusCode, Json<ClassSchedule>)> {
    let scope = caller.gym(&state, gym, Action::ScheduleWrite).await?;
    let c = state
        .store
        .create_class(&scope, &caller.actor, gym, body.validate()?)
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/classes/{class_id}", tag = "classes",
    params(("gym_id" = GymId, Path), ("class_id" = ClassScheduleId, Path)),
    responses((status = 200, body = ClassSchedule), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_class(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, ClassScheduleId)>,
) -> ApiResult<Json<ClassSchedule>> {
    let scope = caller.gym(&state, gym, Action::ScheduleRead).await?;
    Ok(Json(state.store.class(&scope, gym, id).await?))
}

#[utoipa::path(put, path = "/api/v1/gyms/{gym_id}/classes/{class_id}", tag = "classes",
    params(("gym_id" = GymId, Path), ("class_id" = ClassScheduleId, Path)), request_body = NewClassSchedule,
    responses((status = 200, body = ClassSchedule), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_class(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, ClassScheduleId)>,
    ApiJson(body): ApiJson<NewClassSchedule>,
) -> ApiResult<Json<ClassSchedule>> {
    let scope = caller.gym(&state, gym, Action::ScheduleWrite).await?;
    Ok(Json(
        state
            .store
            .update_class(&scope, &caller.actor, gym, id, body.validate()?)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/gyms/{gym_id}/classes/{class_id}", tag = "classes",
    params(("gym_id" = GymId, Path), ("class_id" = ClassScheduleId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_class(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, ClassScheduleId)>,
) -> ApiResult<StatusCode> {
    let scope = caller.gym(&state, gym, Action::ScheduleWrite).await?;
    state
        .store
        .delete_class(&scope, &caller.actor, gym, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
