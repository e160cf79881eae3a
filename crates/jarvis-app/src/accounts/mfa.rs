//! The second factor: TOTP enrolment (API and dashboard), verification with replay guard and
//! lockout, recovery codes, removal.

use super::{Accounts, AccountsError, AccountsResult, Client};
use crate::auth::crypto::token_hash;
use crate::auth::totp;
use jarvis_core::SessionId;
use jarvis_core::UserId;
use jarvis_core::authz::Principal;
use jarvis_core::model::AuthSession;
use jarvis_core::model::{Actor, User};
use jarvis_store::StoreError;
use time::OffsetDateTime;

/// A TOTP enrolment in progress.
#[derive(Debug, Clone)]
pub struct Enrollment {
    /// Base32 secret for manual entry.
    pub secret: String,
    /// `otpauth://` URI.
    pub otpauth_url: String,
    /// QR code of the URI, as an SVG `data:` URI.
    pub qr_svg: String,
}

fn now_secs() -> u64 {
    u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

impl Accounts {
    /// Verifies a TOTP or recovery code for a user (replay guard, lockout, events).
    pub async fn verify_second_factor(
        &self,
        client: &Client,
        user: UserId,
        code: Option<&str>,
        recovery: Option<&str>,
    ) -> AccountsResult<()> {
        let store = self.store.as_ref();
        let key = format!("mfa:{user}");
        if let Some(until) = store.throttle_locked_until(&key).await? {
            return Err(AccountsError::Locked(until));
        }
        let factor = store
            .totp_factor(user)
            .await?
            .filter(|f| f.confirmed_at.is_some())
            .ok_or(AccountsError::MfaNotEnrolled)?;
        let ok = match (code, recovery) {
            (Some(code), _) => {
                let secret = self
                    .master
                    .open(&format!("totp:{user}"), &factor.secret_enc)
                    .map_err(AccountsError::internal)?;
                match totp::matching_step(&secret, code, now_secs()) {
                    // The store accepts each step once: a replayed code fails here.
                    Some(step) => {
                        store
                            .accept_totp_step(&Actor::system(), user, step, None)
                            .await?
                    }
                    None => false,
                }
            }
            (None, Some(rc)) => {
                let ok = store
                    .use_recovery_code(user, &token_hash(&totp::normalize_recovery(rc)))
                    .await?;
                if ok {
                    self.record(client.event("mfa.recovery_code_used", Some(user), None))
                        .await;
                }
                ok
            }
            (None, None) => return Err(AccountsError::CodeMissing),
        };
        if !ok {
            store.throttle_failure(&key, &self.lockout(false)).await?;
            self.record(client.event("mfa.failure", Some(user), None))
                .await;
            return Err(AccountsError::WrongCode);
        }
        store.throttle_clear(&key).await?;
        self.record(client.event("mfa.success", Some(user), None))
            .await;
        Ok(())
    }

    /// Second step of an API sign-in: verifies the code, raises the session to AAL2 and answers
    /// AAL2 tokens.
    pub async fn mfa_verify_api(
        &self,
        client: &Client,
        user: UserId,
        session: SessionId,
        code: Option<&str>,
        recovery: Option<&str>,
    ) -> AccountsResult<super::Tokens> {
        self.verify_second_factor(client, user, code, recovery)
            .await?;
        self.elevate_api(user, session).await
    }

    async fn elevate_api(&self, user: UserId, session: SessionId) -> AccountsResult<super::Tokens> {
        self.store.elevate_session(user, session, None).await?;
        let roles = self.roles_of(user).await?;
        self.tokens(user, session, 2, None, roles, (true, false))
            .await
    }

    /// Raises a dashboard session to AAL2 under a new cookie token (privilege change = new
    /// token); answers the token and its remaining life in seconds.
    pub async fn elevate_web(&self, session: &AuthSession) -> AccountsResult<(String, i64)> {
        let token = crate::auth::crypto::new_token();
        self.store
            .elevate_session(session.user_id, session.id, Some(token_hash(&token)))
            .await?;
        let left = (session.expires_at - OffsetDateTime::now_utc())
            .whole_seconds()
            .max(60);
        Ok((token, left))
    }

    /// Starts a TOTP enrolment for a user (API): a new secret, stored sealed and unconfirmed.
    pub async fn start_enrollment(&self, user: &User) -> AccountsResult<Enrollment> {
        let secret = totp::new_secret();
        let sealed = self
            .master
            .seal(&format!("totp:{}", user.id), &secret)
            .map_err(AccountsError::internal)?;
        self.store.begin_totp(user.id, sealed).await?;
        enrollment(&secret, user)
    }

    /// Confirms a pending enrolment with a first code; answers the recovery codes (shown once).
    pub async fn confirm_enrollment(
        &self,
        client: &Client,
        user: UserId,
        code: &str,
    ) -> AccountsResult<Vec<String>> {
        let factor = self
            .store
            .totp_factor(user)
            .await?
            .filter(|f| f.confirmed_at.is_none())
            .ok_or(AccountsError::NoPendingEnrollment)?;
        let secret = self
            .master
            .open(&format!("totp:{user}"), &factor.secret_enc)
            .map_err(AccountsError::internal)?;
        let codes = totp::recovery_codes();
        let hashes = codes
            .iter()
            .map(|c| token_hash(&totp::normalize_recovery(c)))
            .collect();
        let actor = Actor::user(user, client.ip.clone(), client.user_agent.clone());
        let ok = match totp::matching_step(&secret, code, now_secs()) {
            Some(step) => {
                self.store
                    .accept_totp_step(&actor, user, step, Some(hashes))
                    .await?
            }
            None => false,
        };
        if !ok {
            self.record(client.event("mfa.failure", Some(user), None))
                .await;
            return Err(AccountsError::WrongEnrolmentCode);
        }
        self.record(client.event("mfa.enrolled", Some(user), None))
            .await;
        Ok(codes)
    }

    /// API enrolment confirmation: the recovery codes and AAL2 tokens for the session.
    pub async fn confirm_enrollment_api(
        &self,
        client: &Client,
        user: UserId,
        session: SessionId,
        code: &str,
    ) -> AccountsResult<(Vec<String>, super::Tokens)> {
        let codes = self.confirm_enrollment(client, user, code).await?;
        Ok((codes, self.elevate_api(user, session).await?))
    }

    /// Whether the user has a confirmed second factor.
    pub async fn is_enrolled(&self, user: UserId) -> AccountsResult<bool> {
        Ok(self
            .store
            .totp_factor(user)
            .await?
            .is_some_and(|f| f.confirmed_at.is_some()))
    }

    /// The TOTP secret the enrolment page offers: derived from the master key, the user and the
    /// web session, so a reload shows the same secret without storing anything (a GET changes
    /// nothing, and a page reloaded, or opened by another site, cannot replace the secret being
    /// scanned). It is stored, sealed, only when a code confirms it.
    fn web_secret(&self, user: UserId, session: SessionId) -> Vec<u8> {
        let input = format!("{user}:{session}");
        self.master.derive("totp enrolment", input.as_bytes())[..20].to_vec()
    }

    /// The enrolment the dashboard page shows (nothing is written).
    pub fn web_enrollment(&self, user: &User, session: SessionId) -> AccountsResult<Enrollment> {
        enrollment(&self.web_secret(user.id, session), user)
    }

    /// Confirms the dashboard enrolment: a right code stores the page's secret (sealed), then
    /// confirms it like an API enrolment (replay guard, recovery codes, audit).
    pub async fn confirm_web_enrollment(
        &self,
        client: &Client,
        user: UserId,
        session: SessionId,
        code: &str,
    ) -> AccountsResult<Vec<String>> {
        let secret = self.web_secret(user, session);
        if totp::matching_step(&secret, code, now_secs()).is_none() {
            self.record(client.event("mfa.failure", Some(user), None))
                .await;
            return Err(AccountsError::WrongCode);
        }
        let sealed = self
            .master
            .seal(&format!("totp:{user}"), &secret)
            .map_err(AccountsError::internal)?;
        match self.store.begin_totp(user, sealed).await {
            Ok(()) => self.confirm_enrollment(client, user, code).await,
            // Enrolled meanwhile (another tab).
            Err(StoreError::Conflict { .. }) => Err(AccountsError::AlreadyEnrolled),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes the user's second factor (not for roles that require one).
    pub async fn disable_mfa(
        &self,
        principal: &Principal,
        actor: &Actor,
        user: UserId,
    ) -> AccountsResult<()> {
        if let Principal::User { grants, .. } = principal
            && grants.iter().any(|g| g.role.requires_mfa())
        {
            return Err(AccountsError::MfaRequiredByRole);
        }
        self.store.remove_totp(actor, user).await?;
        Ok(())
    }
}

fn enrollment(secret: &[u8], user: &User) -> AccountsResult<Enrollment> {
    let (url, b32) = totp::provisioning(secret, &user.email).map_err(AccountsError::internal)?;
    Ok(Enrollment {
        secret: b32,
        qr_svg: totp::qr_data_uri(&url).map_err(AccountsError::internal)?,
        otpauth_url: url,
    })
}
