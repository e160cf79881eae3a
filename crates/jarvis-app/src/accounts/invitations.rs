//! Invitations: invite someone with a role on a tenant the inviter manages (link by e-mail),
//! list, revoke, resend, and accept (which creates the account or adds the role).

use super::{Accounts, AccountsError, AccountsResult, Client};
use crate::access;
use crate::auth::crypto::{new_token, token_hash};
use crate::auth::password;
use jarvis_core::authz::{Action, Decision, Principal, Resource};
use jarvis_core::model::{Actor, Locale, MembershipTarget, User};
use jarvis_core::model::{AuthEvent, Invitation};
use jarvis_core::{FranchiseId, GymId, InvitationId, Page, PageRequest, Role, Scope, UserId};
use jarvis_store::{AuthEventFilter, NewInvitation};
use time::OffsetDateTime;

/// What an inviter asks for.
#[derive(Debug, Clone)]
pub struct InvitationInput {
    /// Invitee e-mail.
    pub email: String,
    /// Invitee name.
    pub display_name: String,
    /// Role to grant.
    pub role: Role,
    /// Franchise (franchise owners, and gym roles).
    pub franchise_id: Option<FranchiseId>,
    /// Gym (gym roles).
    pub gym_id: Option<GymId>,
}

/// A created or renewed invitation (the token went only by e-mail).
pub type InvitationSent = Invitation;

/// Invitations live 7 days.
fn expiry() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::days(7)
}

impl Accounts {
    /// Invites someone with a role on a franchise or gym the inviter manages; the link goes
    /// by e-mail.
    pub async fn invite(
        &self,
        principal: &Principal,
        actor: &Actor,
        input: InvitationInput,
    ) -> AccountsResult<InvitationSent> {
        let email = input.email.trim().to_lowercase();
        if !jarvis_core::validate::is_email(&email) || email.len() > 254 {
            return Err(AccountsError::Invalid {
                field: "email",
                code: "invalid_format",
                message: "must be an e-mail address".into(),
            });
        }
        let name = input.display_name.trim().to_string();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(AccountsError::Invalid {
                field: "display_name",
                code: "invalid",
                message: "1 to 120 characters".into(),
            });
        }
        let action = Action::invite(input.role);
        let (scope, target) = match (input.role, input.franchise_id, input.gym_id) {
            (Role::SuperAdmin, None, None) => (
                access::authorize(principal, action, &Resource::Platform)?,
                MembershipTarget::Platform,
            ),
            (Role::FranchiseOwner, Some(f), None) => (
                access::franchise_scope(principal, f, action)?,
                MembershipTarget::Franchise(f),
            ),
            (Role::GymManager | Role::GymStaff, _, Some(g)) => {
                let scope = access::gym_scope(self.store.as_ref(), principal, g, action).await?;
                let f = self.store.gym(&scope, g).await?.franchise_id;
                (scope, MembershipTarget::Gym(f, g))
            }
            _ => {
                return Err(AccountsError::Invalid {
                    field: "role",
                    code: "shape",
                    message: "super_admin takes no franchise or gym, franchise_owner a franchise_id, gym roles a gym_id".into(),
                });
            }
        };
        let token = new_token();
        let inv = self
            .store
            .create_invitation(
                &scope,
                actor,
                NewInvitation {
                    email,
                    display_name: name,
                    role: input.role,
                    target,
                    token_hash: token_hash(&token),
                    expires_at: expiry(),
                },
            )
            .await?;
        self.send_invitation(actor, &inv, &token).await?;
        Ok(inv)
    }

    async fn send_invitation(
        &self,
        actor: &Actor,
        inv: &Invitation,
        token: &str,
    ) -> AccountsResult<()> {
        // The inviter's language: the invitee has no account (nor language) yet.
        let (inviter, locale) = match actor.user_id {
            Some(u) => {
                let u = self.store.user(u).await?;
                (u.display_name, u.locale)
            }
            None => ("JARVIS".into(), jarvis_core::model::Locale::default()),
        };
        let mail =
            super::email::invitation(&self.settings.public_base, inv, token, &inviter, locale);
        crate::outbox::enqueue(self.store.as_ref(), &self.master, mail).await?;
        Ok(())
    }

    /// The invitations the principal manages (pending ones unless `all`).
    pub async fn invitations(
        &self,
        principal: &Principal,
        all: bool,
        page: PageRequest,
    ) -> AccountsResult<Page<Invitation>> {
        let scope = access::list_scope(principal, Action::InvitationManage)?;
        Ok(self.store.list_invitations(&scope, !all, page).await?)
    }

    /// Finds an invitation the principal may manage (not found when foreign), and the scope to
    /// act in.
    async fn managed_invitation(
        &self,
        principal: &Principal,
        id: InvitationId,
    ) -> AccountsResult<(Scope, Invitation)> {
        let scope = match access::list_scope(principal, Action::InvitationManage) {
            Ok(s) => s,
            // Roles that never manage invitations learn nothing about ids either.
            Err(access::AccessError::Denied {
                decision: Decision::Forbidden,
                ..
            }) => return Err(AccountsError::NotFound("invitation")),
            Err(e) => return Err(e.into()),
        };
        let inv = self.store.invitation(&scope, id).await?;
        let resource = match (inv.franchise_id, inv.gym_id) {
            (Some(f), Some(g)) => Resource::Gym(f, g),
            (Some(f), None) => Resource::Franchise(f),
            _ => Resource::Platform,
        };
        access::authorize(principal, Action::invite(inv.role), &resource)?;
        Ok((scope, inv))
    }

    /// Revokes an invitation the principal manages.
    pub async fn revoke_invitation(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: InvitationId,
    ) -> AccountsResult<Invitation> {
        let (scope, _) = self.managed_invitation(principal, id).await?;
        Ok(self.store.revoke_invitation(&scope, actor, id).await?)
    }

    /// Sends a new link (the old one stops working) and extends the invitation by 7 days.
    pub async fn resend_invitation(
        &self,
        principal: &Principal,
        actor: &Actor,
        id: InvitationId,
    ) -> AccountsResult<Invitation> {
        let (scope, _) = self.managed_invitation(principal, id).await?;
        let token = new_token();
        let inv = self
            .store
            .renew_invitation(&scope, actor, id, &token_hash(&token), expiry())
            .await?;
        self.send_invitation(actor, &inv, &token).await?;
        Ok(inv)
    }

    /// The pending invitation of a link token, if it is still valid.
    pub async fn invitation_by_token(&self, token: &str) -> AccountsResult<Option<Invitation>> {
        Ok(self
            .store
            .invitation_by_token_hash(&token_hash(token.trim()))
            .await?)
    }

    /// Accepts an invitation: sets the password (a new account) or adds the role.
    pub async fn accept_invitation(
        &self,
        client: &Client,
        token: &str,
        pw: &str,
        locale: Locale,
    ) -> AccountsResult<User> {
        let inv = self
            .invitation_by_token(token)
            .await?
            .ok_or(AccountsError::InvalidInvitation)?;
        password::check_policy_for(pw, &inv.email).map_err(|message| {
            AccountsError::WeakPassword {
                field: "password",
                message,
            }
        })?;
        let hash = password::hash(pw.to_string())
            .await
            .map_err(AccountsError::internal)?;
        let actor = Actor {
            kind: "user",
            user_id: None,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
        };
        let user = self
            .store
            .accept_invitation(&actor, &token_hash(token.trim()), hash, locale)
            .await?;
        self.record(client.event("invitation.accepted", Some(user.id), Some(&user.email)))
            .await;
        Ok(user)
    }

    /// Sign-in and security events the principal may read, optionally filtered.
    pub async fn auth_events(
        &self,
        principal: &Principal,
        event: Option<String>,
        user: Option<UserId>,
        page: PageRequest,
    ) -> AccountsResult<Page<AuthEvent>> {
        let scope = access::list_scope(principal, Action::AuditRead)?;
        let filter = AuthEventFilter {
            event,
            user_id: user,
        };
        Ok(self.store.list_auth_events(&scope, &filter, page).await?)
    }
}
