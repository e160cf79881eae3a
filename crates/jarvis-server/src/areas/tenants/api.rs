//! The tenants area's JSON API: franchises, gyms (with the approval workflow and settings) and
//! class schedules. Handlers parse, authorize and call `jarvis_app::{gyms, classes}`.

use crate::api::{PageBody, Paging};
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_app::{classes, gyms, tenants};
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::{FranchiseFilter, GymFilter};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_franchises, create_franchise))
        .routes(routes!(get_franchise, update_franchise, archive_franchise))
        .routes(routes!(list_gyms, create_gym))
        .routes(routes!(get_gym, update_gym, archive_gym))
        .merge(gym_routes())
}

/// Filters of the franchise list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FranchiseQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Case-insensitive name search.
    pub q: Option<String>,
    /// Include archived franchises.
    #[serde(default)]
    pub include_archived: bool,
}

#[utoipa::path(get, path = "/api/v1/franchises", tag = "tenants", params(FranchiseQuery),
    responses((status = 200, body = PageBody<Franchise>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn list_franchises(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<FranchiseQuery>,
) -> ApiResult<Json<PageBody<Franchise>>> {
    let scope = caller.list(Action::FranchiseRead)?;
    let page = crate::api::Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    let filter = FranchiseFilter {
        q: q.q,
        include_archived: q.include_archived,
    };
    Ok(Json(
        state
            .store
            .list_franchises(&scope, &filter, page)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/franchises", tag = "tenants", request_body = NewFranchise,
    responses((status = 201, body = Franchise), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_franchise(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewFranchise>,
) -> ApiResult<(StatusCode, Json<Franchise>)> {
    let scope = caller.platform(Action::FranchiseCreate)?;
    let f = tenants::create_franchise(state.store.as_ref(), &scope, &caller.actor, body).await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[utoipa::path(get, path = "/api/v1/franchises/{id}", tag = "tenants", params(("id" = FranchiseId, Path)),
    responses((status = 200, body = Franchise), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_franchise(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<FranchiseId>,
) -> ApiResult<Json<Franchise>> {
    let scope = caller.franchise(id, Action::FranchiseRead)?;
    Ok(Json(state.store.franchise(&scope, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/franchises/{id}", tag = "tenants", params(("id" = FranchiseId, Path)),
    request_body = FranchisePatch,
    responses((status = 200, body = Franchise), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_franchise(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<FranchiseId>,
    ApiJson(body): ApiJson<FranchisePatch>,
) -> ApiResult<Json<Franchise>> {
    let scope = caller.franchise(id, Action::FranchiseUpdate)?;
    Ok(Json(
        tenants::update_franchise(state.store.as_ref(), &scope, &caller.actor, id, body).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/franchises/{id}", tag = "tenants", params(("id" = FranchiseId, Path)),
    description = "Archives the franchise: it disappears from lists but its history is kept.",
    responses((status = 200, body = Franchise), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn archive_franchise(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<FranchiseId>,
) -> ApiResult<Json<Franchise>> {
    let scope = caller.franchise(id, Action::FranchiseArchive)?;
    Ok(Json(
        tenants::archive_franchise(state.store.as_ref(), &scope, &caller.actor, id).await?,
    ))
}

/// Filters of the gym list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GymQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Only gyms of this franchise.
    #[param(value_type = Option<String>, format = Uuid)]
    pub franchise_id: Option<FranchiseId>,
    /// Only this status (archived gyms are listed only when asked for).
    pub status: Option<GymStatus>,
    /// Case-insensitive name search.
    pub q: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/gyms", tag = "tenants", params(GymQuery),
    responses((status = 200, body = PageBody<Gym>), (status = 400, body = ErrorBody)), security(("bearer" = [])))]
async fn list_gyms(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<GymQuery>,
) -> ApiResult<Json<PageBody<Gym>>> {
    let scope = caller.list(Action::GymRead)?;
    let page = crate::api::Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    let filter = GymFilter {
        franchise_id: q.franchise_id,
        status: q.status,
        q: q.q,
        ..Default::default()
    };
    Ok(Json(
        state.store.list_gyms(&scope, &filter, page).await?.into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/gyms", tag = "tenants", request_body = NewGym,
    responses((status = 201, body = Gym),
        (status = 404, body = ErrorBody, description = "`not_found`: no such franchise, or not yours"),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_gym(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewGym>,
) -> ApiResult<(StatusCode, Json<Gym>)> {
    let new = body.validate()?;
    let scope = caller.franchise(new.franchise_id, Action::GymCreate)?;
    let g = gyms::create(
        state.store.as_ref(),
        &caller.principal,
        &scope,
        &caller.actor,
        new,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(g)))
}

#[utoipa::path(get, path = "/api/v1/gyms/{id}", tag = "tenants", params(("id" = GymId, Path)),
    responses((status = 200, body = Gym), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_gym(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<GymId>,
) -> ApiResult<Json<Gym>> {
    let scope = caller.gym(&state, id, Action::GymRead).await?;
    Ok(Json(state.store.gym(&scope, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/gyms/{id}", tag = "tenants", params(("id" = GymId, Path)), request_body = GymPatch,
    description = "Changes a gym. `settings` replaces the whole settings object; a gym manager may change everything in it but `monthly_ai_budget_micros` and `voice_session_cap` (send their current values), which belong to the franchise owner and super admins.",
    responses((status = 200, body = Gym), (status = 403, body = ErrorBody, description = "`field_forbidden` (details name the fields) or the role may not change this gym"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`conflict`: the franchise already has a gym with this name"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_gym(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<GymId>,
    ApiJson(body): ApiJson<GymPatch>,
) -> ApiResult<Json<Gym>> {
    let patch = body.validate()?;
    let scope = caller.gym(&state, id, gyms::update_action(&patch)).await?;
    let g = gyms::update(
        state.store.as_ref(),
        &caller.principal,
        &scope,
        &caller.actor,
        id,
        patch,
    )
    .await?;
    // The gym's kiosks see new settings at once (cached device identities carry the gym).
    state.kiosk_tokens.forget_gym(id);
    Ok(Json(g))
}

#[utoipa::path(delete, path = "/api/v1/gyms/{id}", tag = "tenants", params(("id" = GymId, Path)),
    description = "Archives the gym: hidden from lists, history kept.",
    responses((status = 200, body = Gym), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn archive_gym(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<GymId>,
) -> ApiResult<Json<Gym>> {
    let scope = caller.gym(&state, id, Action::GymArchive).await?;
    let g = gyms::archive(state.store.as_ref(), &scope, &caller.actor, id).await?;
    state.kiosk_tokens.forget_gym(id);
    Ok(Json(g))
}

/// Routes of the approval workflow and the class schedule.
fn gym_routes() -> OpenApiRouter<AppState> {
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
    let g = gyms::review(
        state.store.as_ref(),
        &scope,
        &caller.actor,
        id,
        body.expected_status,
        body.status,
        body.reason,
    )
    .await?;
    // A suspended (or archived, rejected) gym's kiosks stop on their next request.
    state.kiosk_tokens.forget_gym(id);
    Ok(Json(g))
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
    let c = classes::create(state.store.as_ref(), &scope, &caller.actor, gym, body).await?;
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
        classes::update(state.store.as_ref(), &scope, &caller.actor, gym, id, body).await?,
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
    classes::delete(state.store.as_ref(), &scope, &caller.actor, gym, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
