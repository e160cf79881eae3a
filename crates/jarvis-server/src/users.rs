//! Team management: the users holding a role in the caller's tenant, and offboarding (disable,
//! re-enable, revoke one membership). Who may be reached is decided by
//! `jarvis_core::authz::{may_disable_user, may_revoke_membership}`; storage guards the last
//! enabled super admin and ends every session of the user in the same transaction. The
//! dashboard's team page (`team`) calls the same functions.

use crate::api::{PageBody, Paging};
use crate::auth::{Caller, decision_error};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_core::authz::{self, Action, Decision, Grant, OffboardDecision, OffboardRefusal};
use jarvis_core::model::{Membership, TeamMember, User};
use jarvis_core::{MembershipId, Scope, UserId};
use jarvis_store::{NewAuthEvent, StoreError, UserFilter};
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

/// The 403/404 of an offboarding refusal, with a message saying what to do instead.
pub fn refusal_error(d: OffboardDecision) -> ApiError {
    match d {
        OffboardDecision::Allow(_) => ApiError::internal("refusal_error called on Allow"),
        OffboardDecision::NotFound => ApiError::not_found("user"),
        OffboardDecision::MfaRequired => decision_error(Decision::MfaRequired, "user"),
        OffboardDecision::Refused(r) => match r {
            OffboardRefusal::RoleNotAllowed => {
                ApiError::forbidden("your role does not allow managing users")
            }
            OffboardRefusal::OwnAccount => ApiError::new(
                StatusCode::FORBIDDEN,
                "own_account",
                "you cannot disable your own account or revoke your own roles",
            ),
            OffboardRefusal::HigherRole => ApiError::new(
                StatusCode::FORBIDDEN,
                "higher_role",
                "this user holds a role you may not take away (owners and super admins are managed above you)",
            ),
            OffboardRefusal::RolesElsewhere => ApiError::new(
                StatusCode::FORBIDDEN,
                "roles_elsewhere",
                "this user also holds roles outside your franchise or gym, so you cannot disable the account: revoke their membership here instead (DELETE /api/v1/users/{id}/memberships/{membership_id})",
            ),
        },
    }
}

/// Storage's last-super-admin guard as its own error code.
fn offboard_store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict {
            constraint: "last_super_admin",
            message,
            ..
        } => ApiError::new(StatusCode::CONFLICT, "last_super_admin", message),
        other => other.into(),
    }
}

fn grants(ms: &[Membership]) -> Vec<Grant> {
    ms.iter()
        .filter_map(|m| {
            m.target().map(|target| Grant {
                role: m.role,
                target,
            })
        })
        .collect()
}

/// The scope in which the caller may disable or re-enable `id`, or why not.
pub async fn disable_scope(state: &AppState, caller: &Caller, id: UserId) -> ApiResult<Scope> {
    // Roles that never manage users get 403 whatever the id, like the list.
    caller.list(Action::UserManage)?;
    let all = state.store.memberships_of_user(id).await?;
    match authz::may_disable_user(&caller.principal, id, &grants(&all)) {
        OffboardDecision::Allow(scope) => Ok(scope),
        d => Err(refusal_error(d)),
    }
}

/// The membership and the scope in which the caller may revoke it, or why not.
pub async fn revoke_scope(
    state: &AppState,
    caller: &Caller,
    user: UserId,
    id: MembershipId,
) -> ApiResult<(Scope, Membership)> {
    caller.list(Action::UserManage)?;
    let all = state.store.memberships_of_user(user).await?;
    let m = all
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(|| ApiError::not_found("membership"))?;
    let g = grants(std::slice::from_ref(&m))
        .pop()
        .ok_or_else(|| ApiError::not_found("membership"))?;
    match authz::may_revoke_membership(&caller.principal, user, &g) {
        OffboardDecision::Allow(scope) => Ok((scope, m)),
        OffboardDecision::NotFound => Err(ApiError::not_found("membership")),
        d => Err(refusal_error(d)),
    }
}

fn event(caller: &Caller, name: &str, user: UserId, scope: &Scope) -> NewAuthEvent {
    NewAuthEvent {
        event: name.into(),
        user_id: Some(user),
        franchise_id: scope.franchise(),
        gym_id: scope.gym(),
        ip: caller.actor.ip.clone(),
        user_agent: caller.actor.user_agent.clone(),
        details: serde_json::json!({ "by": caller.user_id }),
        ..NewAuthEvent::default()
    }
}

/// Disables or re-enables a user the caller may reach; disabling ends all their sessions.
pub async fn set_disabled(
    state: &AppState,
    caller: &Caller,
    id: UserId,
    disabled: bool,
) -> ApiResult<User> {
    let scope = disable_scope(state, caller, id).await?;
    let user = state
        .store
        .set_user_disabled(&scope, &caller.actor, id, disabled)
        .await
        .map_err(offboard_store_error)?;
    let name = if disabled {
        "user.disabled"
    } else {
        "user.enabled"
    };
    crate::auth::api::record(state, event(caller, name, id, &scope)).await;
    Ok(user)
}

/// Revokes one membership the caller may reach; the user's sessions end too.
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    user: UserId,
    id: MembershipId,
) -> ApiResult<Membership> {
    let (scope, _) = revoke_scope(state, caller, user, id).await?;
    let m = state
        .store
        .revoke_membership(&scope, &caller.actor, user, id)
        .await
        .map_err(offboard_store_error)?;
    crate::auth::api::record(state, event(caller, "membership.revoked", user, &scope)).await;
    Ok(m)
}

/// One user as the caller's tenant sees them.
pub async fn view(state: &AppState, caller: &Caller, id: UserId) -> ApiResult<TeamMemberView> {
    let scope = caller.list(Action::UserRead)?;
    let member = state.store.team_member(&scope, id).await?;
    let all = state.store.memberships_of_user(id).await?;
    Ok(TeamMemberView {
        other_roles: all.len() > member.memberships.len(),
        member,
    })
}

#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery),
    description = "Users holding a role in your tenant (every user for super admins), with their memberships there. Search by name or e-mail.",
    responses((status = 200, body = PageBody<TeamMember>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<PageBody<TeamMember>>> {
    let scope = caller.list(Action::UserRead)?;
    let page = Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    let filter = UserFilter { q: q.q };
    Ok(Json(
        state.store.list_users(&scope, &filter, page).await?.into(),
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
    Ok(Json(view(&state, &caller, id).await?))
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
    Ok(Json(set_disabled(&state, &caller, id, true).await?))
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
    Ok(Json(set_disabled(&state, &caller, id, false).await?))
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
    revoke(&state, &caller, user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_super_admin_guard_has_its_own_code() {
        let e = offboard_store_error(StoreError::Conflict {
            constraint: "last_super_admin",
            field: "id",
            message: "last one".into(),
        });
        assert_eq!(
            (e.status, e.code),
            (StatusCode::CONFLICT, "last_super_admin")
        );
        let other = offboard_store_error(StoreError::Conflict {
            constraint: "users_email_key",
            field: "email",
            message: "taken".into(),
        });
        assert_eq!(other.code, "conflict");
        let e = refusal_error(OffboardDecision::Refused(OffboardRefusal::RolesElsewhere));
        assert_eq!(
            (e.status, e.code),
            (StatusCode::FORBIDDEN, "roles_elsewhere")
        );
        assert_eq!(
            refusal_error(OffboardDecision::NotFound).status,
            StatusCode::NOT_FOUND
        );
    }
}
