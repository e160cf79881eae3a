//! Sign-in (API and dashboard), access tokens, refresh-token rotation, sessions and logout, and
//! the principal of a signed-in user.

use super::{Accounts, AccountsError, AccountsResult, Client};
use crate::auth::crypto::{new_token, token_hash};
use crate::auth::keys::RoleClaim;
use jarvis_core::SessionId;
use jarvis_core::UserId;
use jarvis_core::authz::{Aal, Grant, Principal};
use jarvis_core::model::{AuthSession, SessionKind};
use jarvis_core::model::{MembershipTarget, User};
use jarvis_store::{LockoutPolicy, NewSession, RefreshOutcome, Store};
use std::sync::OnceLock;
use time::OffsetDateTime;

/// The outcome of a successful password check.
pub struct SignedIn {
    /// The user.
    pub user: User,
    /// Whether they enrolled a second factor.
    pub mfa_enrolled: bool,
    /// Whether one of their roles requires a second factor.
    pub mfa_required_by_role: bool,
    /// Their role claims.
    pub roles: Vec<RoleClaim>,
}

/// Tokens answered by sign-in, MFA and refresh.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// RS256 JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque refresh token (rotates on every use); `None` when unchanged.
    pub refresh_token: Option<String>,
    /// Assurance level of the access token.
    pub aal: u8,
    /// The user has a second factor to verify before anything else.
    pub mfa_required: bool,
    /// The user's role requires a second factor that is not enrolled yet.
    pub mfa_enrollment_required: bool,
}

/// A dashboard sign-in: the session cookie token and what the user must do next.
pub struct WebSignIn {
    /// The new session's cookie token.
    pub token: String,
    /// The password check's outcome.
    pub signed: SignedIn,
}

/// The signed-in user as they see themselves.
pub struct Me {
    /// The user.
    pub user: User,
    /// Roles held.
    pub roles: Vec<RoleClaim>,
    /// Whether a second factor is enrolled.
    pub mfa_enrolled: bool,
    /// Unused recovery codes left.
    pub recovery_codes_left: u64,
}

/// A PHC hash of a random password, verified against when the e-mail is unknown so that
/// unknown and known accounts take the same time to fail.
async fn dummy_hash() -> AccountsResult<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    // Only a real hash is cached: a failure is an error now and a retry next time.
    let h = crate::auth::password::hash(new_token())
        .await
        .map_err(AccountsError::internal)?;
    Ok(DUMMY.get_or_init(|| h).clone())
}

/// The principal of a user from storage (memberships and MFA enrolment), and whether a second
/// factor is enrolled.
pub async fn principal(
    store: &dyn Store,
    user: UserId,
    aal: Aal,
) -> Result<(Principal, bool), jarvis_store::StoreError> {
    let memberships = store.memberships_of_user(user).await?;
    let grants: Vec<Grant> = memberships
        .iter()
        .filter_map(|m| {
            let target = match (m.franchise_id, m.gym_id) {
                (None, None) => MembershipTarget::Platform,
                (Some(f), None) => MembershipTarget::Franchise(f),
                (Some(f), Some(g)) => MembershipTarget::Gym(f, g),
                (None, Some(_)) => return None,
            };
            Some(Grant {
                role: m.role,
                target,
            })
        })
        .collect();
    let enrolled = mfa_enrolled(store, user).await?;
    Ok((
        Principal::User {
            user_id: user,
            grants,
            aal,
            mfa_enrolled: enrolled,
        },
        enrolled,
    ))
}

async fn mfa_enrolled(store: &dyn Store, user: UserId) -> Result<bool, jarvis_store::StoreError> {
    Ok(store
        .totp_factor(user)
        .await?
        .is_some_and(|f| f.confirmed_at.is_some()))
}

impl Accounts {
    pub(super) fn lockout(&self, per_ip: bool) -> LockoutPolicy {
        let n = i32::try_from(self.settings.lockout_max_failures).unwrap_or(5);
        LockoutPolicy {
            // An IP may fail for a few accounts (shared office NAT) before it is locked too.
            max_failures: if per_ip { n.saturating_mul(4) } else { n },
            base_lock: time::Duration::minutes(1),
            max_lock: time::Duration::hours(1),
            window: time::Duration::hours(1),
        }
    }

    /// Checks e-mail and password with lockout, equal-time failures and auth events.
    pub async fn check_password(
        &self,
        client: &Client,
        email: &str,
        pw: &str,
    ) -> AccountsResult<SignedIn> {
        let store = self.store.as_ref();
        let email = email.trim().to_lowercase();
        let acct_key = format!("login:acct:{email}");
        let ip_key = format!("login:ip:{}", client.ip_key());
        for key in [&acct_key, &ip_key] {
            if let Some(until) = store.throttle_locked_until(key).await? {
                self.record(client.event("login.locked", None, Some(&email)))
                    .await;
                return Err(AccountsError::Locked(until));
            }
        }
        let found = store.user_by_email(&email).await?;
        // A disabled account fails exactly like a wrong password (same answer, same time, same
        // throttles); only the operators' event log tells them apart.
        let disabled = matches!(&found, Some((u, _)) if u.disabled_at.is_some());
        let (hash, user) = match found {
            Some((u, Some(h))) if u.disabled_at.is_none() => (h, Some(u)),
            _ => (dummy_hash().await?, None),
        };
        let ok = crate::auth::password::verify(pw.to_string(), hash)
            .await
            .map_err(AccountsError::internal)?;
        let Some(user) = user.filter(|_| ok) else {
            let a = store
                .throttle_failure(&acct_key, &self.lockout(false))
                .await?;
            let b = store.throttle_failure(&ip_key, &self.lockout(true)).await?;
            let mut ev = client.event("login.failure", None, Some(&email));
            ev.details = serde_json::json!({ "locked": a.is_some() || b.is_some(), "account_disabled": disabled });
            self.record(ev).await;
            return Err(AccountsError::InvalidCredentials);
        };
        store.throttle_clear(&acct_key).await?;
        let memberships = store.memberships_of_user(user.id).await?;
        let roles = memberships.iter().map(role_claim).collect();
        let mfa_enrolled = mfa_enrolled(store, user.id).await?;
        Ok(SignedIn {
            mfa_required_by_role: memberships.iter().any(|m| m.role.requires_mfa()),
            user,
            mfa_enrolled,
            roles,
        })
    }

    /// The role claims of a user's memberships.
    pub async fn roles_of(&self, user: UserId) -> AccountsResult<Vec<RoleClaim>> {
        Ok(self
            .store
            .memberships_of_user(user)
            .await?
            .iter()
            .map(role_claim)
            .collect())
    }

    /// Signs an access token for a session.
    pub(super) async fn tokens(
        &self,
        user: UserId,
        session: SessionId,
        aal: u8,
        refresh_token: Option<String>,
        roles: Vec<RoleClaim>,
        (mfa_enrolled, mfa_by_role): (bool, bool),
    ) -> AccountsResult<Tokens> {
        let (access_token, _) = self
            .keys
            .issue(&user.to_string(), &session.to_string(), aal, roles)
            .await
            .map_err(AccountsError::internal)?;
        Ok(Tokens {
            access_token,
            expires_in: self.keys.ttl().as_secs(),
            refresh_token,
            aal,
            mfa_required: aal < 2 && mfa_enrolled,
            mfa_enrollment_required: aal < 2 && !mfa_enrolled && mfa_by_role,
        })
    }

    /// Password sign-in for the API: a new API session and AAL1 tokens.
    pub async fn sign_in_api(
        &self,
        client: &Client,
        email: &str,
        pw: &str,
    ) -> AccountsResult<Tokens> {
        let s = self.check_password(client, email, pw).await?;
        let refresh = new_token();
        let session = self
            .store
            .create_session(NewSession {
                user_id: s.user.id,
                kind: SessionKind::Api,
                aal: 1,
                expires_at: self.settings.session_end(),
                token_hash: None,
                refresh_hash: Some(token_hash(&refresh)),
                ip: client.ip.clone(),
                user_agent: client.user_agent.clone(),
            })
            .await?;
        self.record(client.event("login.success", Some(s.user.id), Some(&s.user.email)))
            .await;
        self.tokens(
            s.user.id,
            session.id,
            1,
            Some(refresh),
            s.roles,
            (s.mfa_enrolled, s.mfa_required_by_role),
        )
        .await
    }

    /// Password sign-in for the dashboard. Whatever session the browser presented
    /// (`old_token`) is ended: sign-in always starts a new one, with a new token (no fixation).
    pub async fn sign_in_web(
        &self,
        client: &Client,
        email: &str,
        pw: &str,
        old_token: Option<&str>,
    ) -> AccountsResult<WebSignIn> {
        let signed = self.check_password(client, email, pw).await?;
        if let Some(old) = old_token
            && let Ok(Some(s)) = self.store.session_by_token_hash(&token_hash(old)).await
        {
            let _ = self.store.revoke_session(s.user_id, s.id, "replaced").await;
        }
        let token = new_token();
        self.store
            .create_session(NewSession {
                user_id: signed.user.id,
                kind: SessionKind::Web,
                aal: 1,
                expires_at: self.settings.session_end(),
                token_hash: Some(token_hash(&token)),
                refresh_hash: None,
                ip: client.ip.clone(),
                user_agent: client.user_agent.clone(),
            })
            .await?;
        let mut ev = client.event(
            "login.success",
            Some(signed.user.id),
            Some(&signed.user.email),
        );
        ev.details = serde_json::json!({ "kind": "web" });
        self.record(ev).await;
        Ok(WebSignIn { token, signed })
    }

    /// The live, enabled dashboard session of a cookie token, if any; touches it at most once a
    /// minute (pages should not write on every view).
    pub async fn web_session(&self, token: &str) -> AccountsResult<Option<(AuthSession, User)>> {
        let Some(session) = self.store.session_by_token_hash(&token_hash(token)).await? else {
            return Ok(None);
        };
        if !session.is_live(OffsetDateTime::now_utc(), self.settings.idle()) {
            return Ok(None);
        }
        let user = self.store.user(session.user_id).await?;
        if user.disabled_at.is_some() {
            return Ok(None);
        }
        if OffsetDateTime::now_utc() - session.last_seen_at > time::Duration::minutes(1) {
            self.store
                .touch_session(session.user_id, session.id)
                .await?;
        }
        Ok(Some((session, user)))
    }

    /// Checks that an access token's session is live and its user enabled.
    pub async fn api_session(&self, user: UserId, sid: SessionId) -> AccountsResult<AuthSession> {
        let session = self
            .store
            .session(user, sid)
            .await?
            .ok_or(AccountsError::SessionEnded)?;
        if !session.is_live(OffsetDateTime::now_utc(), self.settings.idle()) {
            return Err(AccountsError::SessionEnded);
        }
        match self.store.user(user).await {
            Ok(u) if u.disabled_at.is_some() => Err(AccountsError::AccountDisabled),
            Ok(_) => Ok(session),
            // A deleted user's token is just an invalid token.
            Err(jarvis_store::StoreError::NotFound(_)) => Err(AccountsError::SessionEnded),
            Err(e) => Err(e.into()),
        }
    }

    /// Rotates a refresh token; a reused one revokes the whole session.
    pub async fn refresh(&self, client: &Client, refresh_token: &str) -> AccountsResult<Tokens> {
        let new = new_token();
        match self
            .store
            .rotate_refresh_token(
                &token_hash(refresh_token.trim()),
                &token_hash(&new),
                self.settings.idle(),
                time::Duration::try_from(self.settings.refresh_reuse_grace)
                    .unwrap_or(time::Duration::ZERO),
            )
            .await?
        {
            RefreshOutcome::Rotated(s) => {
                let user = self.store.user(s.user_id).await?;
                if user.disabled_at.is_some() {
                    return Err(AccountsError::AccountDisabled);
                }
                let roles = self.roles_of(s.user_id).await?;
                let enrolled = mfa_enrolled(self.store.as_ref(), s.user_id).await?;
                let by_role = roles.iter().any(|r| r.role.requires_mfa());
                self.tokens(
                    s.user_id,
                    s.id,
                    s.aal,
                    Some(new),
                    roles,
                    (enrolled, by_role),
                )
                .await
            }
            RefreshOutcome::Reused(s) => {
                let mut ev = client.event("refresh.reuse", Some(s.user_id), None);
                ev.details = serde_json::json!({ "session_id": s.id });
                self.record(ev).await;
                tracing::warn!(session = %s.id, "refresh token reuse: session family revoked");
                Err(AccountsError::RefreshReused)
            }
            RefreshOutcome::Invalid => Err(AccountsError::RefreshInvalid),
        }
    }

    /// Ends one session, or every session of the user (`all`).
    pub async fn logout(
        &self,
        client: &Client,
        user: UserId,
        session: SessionId,
        all: bool,
    ) -> AccountsResult<()> {
        if all {
            self.store
                .revoke_user_sessions(user, None, "logout_all")
                .await?;
        } else {
            self.store.revoke_session(user, session, "logout").await?;
        }
        let name = if all { "logout.all" } else { "logout" };
        self.record(client.event(name, Some(user), None)).await;
        Ok(())
    }

    /// The signed-in user, their roles and second-factor state.
    pub async fn me(&self, user: UserId) -> AccountsResult<Me> {
        Ok(Me {
            user: self.store.user(user).await?,
            roles: self.roles_of(user).await?,
            mfa_enrolled: mfa_enrolled(self.store.as_ref(), user).await?,
            recovery_codes_left: self.store.recovery_codes_left(user).await?,
        })
    }

    /// The user's sessions.
    pub async fn sessions(&self, user: UserId) -> AccountsResult<Vec<AuthSession>> {
        Ok(self.store.list_sessions(user).await?)
    }

    /// Ends every session of the user but `keep`; answers how many ended.
    pub async fn revoke_other_sessions(
        &self,
        client: &Client,
        user: UserId,
        keep: SessionId,
    ) -> AccountsResult<u64> {
        let n = self
            .store
            .revoke_user_sessions(user, Some(keep), "user")
            .await?;
        self.record(client.event("session.revoke_all", Some(user), None))
            .await;
        Ok(n)
    }

    /// Ends one of the user's sessions (not found when it is not theirs).
    pub async fn revoke_session(
        &self,
        client: &Client,
        user: UserId,
        session: SessionId,
    ) -> AccountsResult<()> {
        if !self.store.revoke_session(user, session, "user").await? {
            return Err(AccountsError::NotFound("session"));
        }
        self.record(client.event("session.revoke", Some(user), None))
            .await;
        Ok(())
    }

    /// The principal of a user (see [`principal`]).
    pub async fn principal(&self, user: UserId, aal: Aal) -> AccountsResult<(Principal, bool)> {
        Ok(principal(self.store.as_ref(), user, aal).await?)
    }
}

fn role_claim(m: &jarvis_core::model::Membership) -> RoleClaim {
    RoleClaim {
        role: m.role,
        franchise_id: m.franchise_id,
        gym_id: m.gym_id,
    }
}
