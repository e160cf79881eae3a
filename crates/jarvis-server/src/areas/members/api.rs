//! Gym members' API.

use crate::api::{PageBody, Paging};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_app::members;
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_members, create_member))
        .routes(routes!(get_member, update_member, delete_member))
        .routes(routes!(export_members))
        .routes(routes!(list_facts, add_fact))
        .routes(routes!(delete_fact))
        .routes(routes!(list_visits))
        .routes(routes!(gdpr_export))
        .routes(routes!(gdpr_erase))
}

/// Filters, sort and page of the member list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MemberQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Search in first/last name, badge and e-mail.
    pub q: Option<String>,
    /// Only this membership status.
    pub status: Option<MembershipStatus>,
    /// Only this plan.
    pub membership_type: Option<String>,
    /// Only members who visited at or after this instant (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub visited_since: Option<OffsetDateTime>,
    /// Sort order (default `name`).
    #[serde(default)]
    pub sort: MemberSort,
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/members", tag = "members",
    params(("gym_id" = GymId, Path), MemberQuery),
    responses((status = 200, body = PageBody<Member>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_members(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiQuery(q): ApiQuery<MemberQuery>,
) -> ApiResult<Json<PageBody<Member>>> {
    let scope = caller.gym(&state, gym, Action::MemberRead).await?;
    let page = crate::api::Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    if q.q.as_ref().is_some_and(|s| s.chars().count() > 100) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "`q` must be at most 100 characters",
        ));
    }
    let filter = MemberFilter {
        q: q.q,
        status: q.status,
        membership_type: q.membership_type,
        visited_since: q.visited_since,
        sort: q.sort,
    };
    Ok(Json(
        state
            .store
            .list_members(&scope, gym, &filter, page)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/members", tag = "members", params(("gym_id" = GymId, Path)),
    request_body = NewMember,
    responses((status = 201, body = Member), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_member(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiJson(body): ApiJson<NewMember>,
) -> ApiResult<(StatusCode, Json<Member>)> {
    let scope = caller.gym(&state, gym, Action::MemberWrite).await?;
    let m = members::create(state.store.as_ref(), &scope, &caller.actor, gym, body).await?;
    Ok((StatusCode::CREATED, Json(m)))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/members/{member_id}", tag = "members",
    params(("gym_id" = GymId, Path), ("member_id" = MemberId, Path)),
    responses((status = 200, body = Member), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_member(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, MemberId)>,
) -> ApiResult<Json<Member>> {
    let scope = caller.gym(&state, gym, Action::MemberRead).await?;
    Ok(Json(state.store.member(&scope, gym, id).await?))
}

#[utoipa::path(patch, path = "/api/v1/gyms/{gym_id}/members/{member_id}", tag = "members",
    params(("gym_id" = GymId, Path), ("member_id" = MemberId, Path)), request_body = MemberPatch,
    responses((status = 200, body = Member), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_member(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, MemberId)>,
    ApiJson(body): ApiJson<MemberPatch>,
) -> ApiResult<Json<Member>> {
    let scope = caller.gym(&state, gym, Action::MemberWrite).await?;
    Ok(Json(
        members::update(state.store.as_ref(), &scope, &caller.actor, gym, id, body).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/gyms/{gym_id}/members/{member_id}", tag = "members",
    params(("gym_id" = GymId, Path), ("member_id" = MemberId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_member(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, MemberId)>,
) -> ApiResult<StatusCode> {
    let scope = caller.gym(&state, gym, Action::MemberDelete).await?;
    members::delete(state.store.as_ref(), &scope, &caller.actor, gym, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/members/export.csv", tag = "members",
    params(("gym_id" = GymId, Path)),
    description = "Every member of the gym as CSV (the import format). Cells that would run as spreadsheet formulas are neutralized.",
    responses((status = 200, content_type = "text/csv", body = String), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn export_members(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
) -> ApiResult<axum::response::Response> {
    let scope = caller.gym(&state, gym, Action::MemberImport).await?;
    use axum::response::IntoResponse;
    let csv = members::export_csv(state.store.as_ref(), &scope, gym).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", csv.filename),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        csv.body,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/members/{member_id}/facts", tag = "members",
    params(("gym_id" = GymId, Path), ("member_id" = MemberId, Path), Paging),
    responses((status = 200, body = PageBody<MemberFact>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_facts(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, MemberId)>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<PageBody<MemberFact>>> {
    let scope = caller.gym(&state, gym, Action::MemberRead).await?;
    Ok(Json(
        state
            .store
            .list_facts(&scope, gym, id, p.request()?)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/members/{member_id}/facts", tag = "members",
    params(("gym_id" = GymId, Path), ("member_id" = MemberId, Path)), request_body = NewMemberFact,
    responses((status = 201, body = MemberFact), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn add_fact(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, MemberId)>,
    ApiJson(body): ApiJson<NewMemberFact>,
) -> ApiResult<(StatusCode, Json<MemberFact>)> {
    let scope = caller.gym(&state, gym, Action::MemberWrite).await?;
    let f = members::add_fact(state.store.as_ref(), &scope, &caller.actor, gym, id, body).await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[utoipa::path(delete, path = "/api/v1/gyms/{gym_id}/members/{member_id}/facts/{fact_id}", tag = "members",
    params(("gym_id" = GymId, Path), ("member_id" = MemberId, Path), ("fact_id" = MemberFactId, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn delete_fact(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id, fact)): ApiPath<(GymId, MemberId, MemberFactId)>,
) -> ApiResult<StatusCode> {
    let scope = caller.gym(&state, gym, Action::MemberWrite).await?;
    state
        .store
        .delete_fact(&scope, &caller.actor, gym, id, fact)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/members/{member_id}/visits", tag = "members",
    params(("gym_id" = GymId, Path), ("member_id" = MemberId, Path), Paging),
    responses((status = 200, body = PageBody<Visit>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_visits(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, MemberId)>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<PageBody<Visit>>> {
    let scope = caller.gym(&state, gym, Action::MemberRead).await?;
    Ok(Json(
        state
            .store
            .list_visits(&scope, gym, id, p.request()?)
            .await?
            .into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/members/{member_id}/gdpr-export", tag = "members",
    params(("gym_id" = GymId, Path), ("member_id" = MemberId, Path)),
    description = "Everything stored about the member, as a JSON file (GDPR access request). Audited.",
    responses((status = 200, body = MemberExport), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn gdpr_export(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, MemberId)>,
) -> ApiResult<axum::response::Response> {
    let scope = caller.gym(&state, gym, Action::MemberPrivacy).await?;
    use axum::response::IntoResponse;
    let export = members::gdpr_export(state.store.as_ref(), &scope, &caller.actor, gym, id).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"member-{id}.json\""),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Json(export),
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/members/{member_id}/erase", tag = "members",
    params(("gym_id" = GymId, Path), ("member_id" = MemberId, Path)),
    description = "GDPR erasure: hard-deletes the member and every piece of personal data about them; visits stay as anonymous counts. Audited.",
    responses((status = 200, body = Erasure), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn gdpr_erase(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, MemberId)>,
) -> ApiResult<Json<Erasure>> {
    let scope = caller.gym(&state, gym, Action::MemberPrivacy).await?;
    Ok(Json(
        members::gdpr_erase(state.store.as_ref(), &scope, &caller.actor, gym, id).await?,
    ))
}
