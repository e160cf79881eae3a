//! The team: users holding a role in the principal's tenant, offboarding (disable, re-enable,
//! revoke one membership) and the first super admin (CLI). Who may be reached is decided by
//! `jarvis_core::authz::{may_disable_user, may_revoke_membership}`; storage guards the last
//! enabled super admin and ends every session of the user in the same transaction.

use super::{Accounts, AccountsError, AccountsResult};
use crate::access;
use crate::auth::password;
use jarvis_core::authz::{self, Action, Grant, OffboardDecision, Principal};
use jarvis_core::model::{Actor, Locale, Membership, MembershipTarget, NewUser, TeamMember, User};
use jarvis_core::{MembershipId, Page, PageRequest, Role, Scope, UserId};
use jarvis_store::{NewAuthEvent, StoreError, UserFilter, UserSort};

/// A user as the principal's tenant sees them.
#[derive(Debug, Clone)]
pub struct TeamMemberView {
    /// Profile and the memberships inside the principal's tenant.
    pub member: TeamMember,
    /// Whether they also hold roles outside what this view shows (then only those memberships
    /// can be revoked here, the account cannot be disabled).
    pub other_roles: bool,
}

/// A super admin to create from the command line.
pub struct NewAdmin {
    /// Login e-mail.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Dashboard language.
    pub locale: Locale,
}

/// Storage's last-super-admin guard as its own error.
fn offboard_store_error(e: StoreError) -> AccountsError {
    match e {
        StoreError::Conflict {
            constraint: "last_super_admin",
            message,
            ..
        } => AccountsError::LastSuperAdmin(message),
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

fn event(
    principal: &Principal,
    actor: &Actor,
    name: &str,
    user: UserId,
    scope: &Scope,
) -> NewAuthEvent {
    let by = match principal {
        Principal::User { user_id, .. } => Some(*user_id),
        Principal::Kiosk { .. } => None,
    };
    NewAuthEvent {
        event: name.into(),
        user_id: Some(user),
        franchise_id: scope.franchise(),
        gym_id: scope.gym(),
        ip: actor.ip.clone(),
        user_agent: actor.user_agent.clone(),
        details: serde_json::json!({ "by": by }),
        ..NewAuthEvent::default()
    }
}

impl Accounts {
    /// Users holding a role in the principal's tenant (every user for super admins), in the
    /// order `sort`.
    pub async fn team(
        &self,
        principal: &Principal,
        q: Option<String>,
        sort: UserSort,
        page: PageRequest,
    ) -> AccountsResult<Page<TeamMember>> {
        let scope = access::list_scope(principal, Action::UserRead)?;
        let filter = UserFilter { q, sort };
        Ok(self.store.list_users(&scope, &filter, page).await?)
    }

    /// One user as the principal's tenant sees them.
    pub async fn team_member(
        &self,
        principal: &Principal,
        id: UserId,
    ) -> AccountsResult<TeamMemberView> {
        let scope = access::list_scope(principal, Action::UserRead)?;
        let member = self.store.team_member(&scope, id).await?;
        let all = self.store.memberships_of_user(id).await?;
        Ok(TeamMemberView {
            other_roles: all.len() > member.memberships.len(),
            member,
        })
    }

    /// The scope in which the principal may disable or re-enable `id`, or why not.
    pub async fn disable_scope(&self, principal: &Principal, id: UserId) -> AccountsResult<Scope> {
        // Roles that never manage users get 403 whatever the id, like the list.
        access::list_scope(principal, Action::UserManage)?;
        let all = self.store.memberships_of_user(id).await?;
        match authz::may_disable_user(principal, id, &grants(&all)) {
            OffboardDecision::Allow(scope) => Ok(scope),
            d => Err(AccountsError::Offboard(d)),
        }
    }

    /// The membership and the scope in which the principal may revoke it, or why not.
    pub async fn revoke_scope(
        &self,
        principal: &Principal,
        user: UserId,
        id: MembershipId,
    ) -> AccountsResult<(Scope, Membership)> {
        access::list_scope(principal, Action::UserManage)?;
        let all = self.store.memberships_of_user(user).await?;
        let m = all
            .into_iter()
            .find(|m| m.id == id)
            .ok_or(AccountsError::NotFound("membership"))?;
        let g = grants(std::slice::from_ref(&m))
            .pop()
            .ok_or(AccountsError::NotFound("membership"))?;
        match authz::may_revoke_membership(principal, user, &g) {
            OffboardDecision::Allow(scope) => Ok((scope, m)),
            OffboardDecision::NotFound => Err(AccountsError::NotFound("membership")),
            d => Err(AccountsError::Offboard(d)),
        }
    }

    /// Disables or re-enables a user the principal may reach; disabling ends all their
    /// sessions.
    pub async fn set_disabled(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: UserId,
        disabled: bool,
    ) -> AccountsResult<User> {
        let scope = self.disable_scope(principal, id).await?;
        let user = self
            .store
            .set_user_disabled(&scope, actor, id, disabled)
            .await
            .map_err(offboard_store_error)?;
        let name = if disabled {
            "user.disabled"
        } else {
            "user.enabled"
        };
        self.record(event(principal, actor, name, id, &scope)).await;
        Ok(user)
    }

    /// Revokes one membership the principal may reach; the user's sessions end too.
    pub async fn revoke_membership(
        &self,
        principal: &Principal,
        actor: &Actor,
        user: UserId,
        id: MembershipId,
    ) -> AccountsResult<Membership> {
        let (scope, _) = self.revoke_scope(principal, user, id).await?;
        let m = self
            .store
            .revoke_membership(&scope, actor, user, id)
            .await
            .map_err(offboard_store_error)?;
        self.record(event(principal, actor, "membership.revoked", user, &scope))
            .await;
        Ok(m)
    }
}

/// Checks a new super admin before asking for a password (so a typo does not cost a prompt).
pub fn check_new_admin(admin: &NewAdmin) -> AccountsResult<NewUser> {
    Ok(NewUser {
        email: admin.email.clone(),
        display_name: admin.display_name.clone(),
        locale: admin.locale,
        password_hash: None,
    }
    .validate()?)
}

/// Creates a super administrator (the CLI's `admin create`): policy-checked password, unique
/// e-mail, audit actor.
pub async fn create_super_admin(
    store: &dyn jarvis_store::Store,
    actor: &Actor,
    admin: NewAdmin,
    pw: String,
) -> AccountsResult<User> {
    let probe = check_new_admin(&admin)?;
    password::check_policy(&pw).map_err(|message| AccountsError::WeakPassword {
        field: "password",
        message,
    })?;
    if store.user_by_email(&probe.email).await?.is_some() {
        return Err(AccountsError::EmailTaken(probe.email));
    }
    let hash = password::hash(pw).await.map_err(AccountsError::internal)?;
    let grant = Some((Role::SuperAdmin, MembershipTarget::Platform));
    Ok(store
        .create_user(
            actor,
            NewUser {
                password_hash: Some(hash),
                ..probe
            },
            grant,
        )
        .await?)
}
