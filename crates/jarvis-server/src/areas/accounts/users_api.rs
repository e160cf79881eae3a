//! The users API: the users holding a role in the caller's tenant, and offboarding (disable,
//! re-enable, revoke one membership). The rules are in `jarvis_app::accounts` (who may be
//! reached, the last-super-admin guard, ending sessions); the team pages call the same service.

use crate::api::{PageBody, Paging};
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_core::model::{TeamMember, User};
use jarvis_core::{MembershipId, UserId};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
        .routes(routes!(revoke_membership))
}

/// A user as the caller's tenant sees them.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TeamMemberView {
    /// Profile and the memberships inside the caller's tenant.
    #[serde(flatten)]
    #[schema(inline)]
    pub member: TeamMember,
    /// Whether they also hold roles outside what this view shows (then only those memberships
    /// can be revoked here, the account cannot be disabled).
    pub other_roles: bool,
}

/// Team list filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Search in name and e-mail.
    pub q: Option<String>,
}

impl From<jarvis_app::accounts::TeamMemberView> for TeamMemberView {
    fn from(v: jarvis_app::accounts::TeamMemberView) -> Self {
        TeamMemberView {
            member: v.member,
            other_roles: v.other_roles,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    description = "Users holding a role in your tenant (every user for super admins), with their memberships there. Search by name or e-mail.",
    responses((status = 200, body = PageBody<TeamMember>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<PageBody<TeamMember>>> {
    let page = Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    Ok(Json(
        state
            .auth
            .accounts
            .team(
                &caller.principal,
                q.q,
                jarvis_store::UserSort::default(),
                page,
            )
            .await?
            .into(),
    ))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = UserId, Path)),
    responses((status = 200, body = TeamMemberView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<TeamMemberView>> {
    Ok(Json(
        state
            .auth
            .accounts
            .team_member(&caller.principal, id)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/disable", tag = "users", params(("id" = UserId, Path)),
    description = "Disables the account: every session and refresh token of the user stops at once and they can no longer sign in. Super admins may disable anyone; franchise owners users whose every role is a gym role in their franchise; gym managers staff and managers of their gym only. Nobody disables themselves; the last enabled super admin cannot be disabled (409 `last_super_admin`). Disabling a disabled user changes nothing.",
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn disable_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        state
            .auth
            .accounts
            .set_disabled(&caller.principal, &caller.actor, id, true)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/users/{id}/enable", tag = "users", params(("id" = UserId, Path)),
    description = "Re-enables a disabled account (same rules as disabling); the user signs in again.",
    responses((status = 200, body = User), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn enable_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<UserId>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        state
            .auth
            .accounts
            .set_disabled(&caller.principal, &caller.actor, id, false)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}/memberships/{membership_id}", tag = "users",
    params(("id" = UserId, Path), ("membership_id" = MembershipId, Path)),
    description = "Revokes one role of the user inside your tenant and ends all their sessions (they sign in again with what is left). The last enabled super admin's role cannot be revoked (409 `last_super_admin`).",
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
async fn revoke_membership(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((user, id)): ApiPath<(UserId, MembershipId)>,
) -> ApiResult<StatusCode> {
    state
        .auth
        .accounts
        .revoke_membership(&caller.principal, &caller.actor, user, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
