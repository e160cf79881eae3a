//! Gym members' API.

use crate::api::PageBody;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
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
}

/// Filters, sort and page of the member list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MemberQuery {
    /// Page size, 1–200 (default 50).
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
            .list_members(&caller.scope, gym, &filter, page)
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
    let new = body.validate()?;
    let m = state
        .store
        .create_member(&caller.scope, &caller.actor, gym, new)
        .await?;
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
    Ok(Json(state.store.member(&caller.scope, gym, id).await?))
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
    let patch = body.validate()?;
    Ok(Json(
        state
            .store
            .update_member(&caller.scope, &caller.actor, gym, id, patch)
            .await?,
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
    state
        .store
        .delete_member(&caller.scope, &caller.actor, gym, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
