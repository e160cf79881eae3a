//! Accounts and security storage: signing keys, sessions with rotating refresh tokens, MFA
//! factors and recovery codes, sign-in throttles, password resets, invitations, auth events and
//! the e-mail outbox. Secrets never reach storage in clear: tokens are stored as SHA-256 hashes,
//! TOTP secrets, private keys and e-mail bodies arrive already encrypted by the server.

use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::model::*;
use jarvis_core::*;
use time::OffsetDateTime;
use uuid::Uuid;

/// An RS256 signing key, private part encrypted with the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Key id (the JWT `kid`).
    pub kid: String,
    /// JWS algorithm, `RS256`.
    pub algorithm: String,
    /// PKCS#8 private key, encrypted by the server.
    pub private_key_enc: String,
    /// Public modulus, base64url.
    pub public_n: String,
    /// Public exponent, base64url.
    pub public_e: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When a newer key replaced it for signing (kept to verify tokens until they expire).
    pub retired_at: Option<OffsetDateTime>,
}

/// Input for a new session.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The user.
    pub user_id: UserId,
    /// API or dashboard.
    pub kind: SessionKind,
    /// Assurance level reached.
    pub aal: u8,
    /// Absolute end.
    pub expires_at: OffsetDateTime,
    /// Web sessions: hash of the cookie token.
    pub token_hash: Option<String>,
    /// API sessions: hash of the first refresh token.
    pub refresh_hash: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshOutcome {
    /// The token was current: it is now used and the new one replaces it.
    Rotated(AuthSession),
    /// The token had already been used: the whole family is now revoked.
    Reused(AuthSession),
    /// Unknown token, or its session is revoked/expired/idle.
    Invalid,
}

impl RefreshOutcome {
    /// Whether the token was rotated.
    pub fn is_rotated(&self) -> bool {
        matches!(self, RefreshOutcome::Rotated(_))
    }
}

/// A TOTP factor of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    /// Encrypted secret.
    pub secret_enc: String,
    /// When enrolment was confirmed (unconfirmed factors do not count).
    pub confirmed_at: Option<OffsetDateTime>,
    /// Last accepted time step (replay guard).
    pub last_used_step: Option<i64>,
}

/// Input for an auth event.
#[derive(Debug, Clone, Default)]
pub struct NewAuthEvent {
    /// Event name.
    pub event: String,
    /// User concerned.
    pub user_id: Option<UserId>,
    /// E-mail given.
    pub email: Option<String>,
    /// Tenant franchise.
    pub franchise_id: Option<FranchiseId>,
    /// Tenant gym.
    pub gym_id: Option<GymId>,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Details.
    pub details: serde_json::Value,
}

/// Filters of the auth event list.
#[derive(Debug, Clone, Default)]
pub struct AuthEventFilter {
    /// Only this event name.
    pub event: Option<String>,
    /// Only this user.
    pub user_id: Option<UserId>,
}

/// Counts of the e-mail outbox, across tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxDepth {
    /// Neither sent nor given up.
    pub pending: u64,
    /// Given up after their attempts or a permanent refusal.
    pub failed: u64,
}

/// A queued e-mail.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEmail {
    /// Id.
    pub id: Uuid,
    /// Recipient.
    pub to_address: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body, sealed by the server (empty once sent).
    pub body_text: String,
    /// HTML body (escaped by the renderer), sealed by the server (empty once sent).
    pub body_html: String,
    /// `invitation`, `password_reset`, …
    pub kind: String,
    /// When queued.
    pub created_at: OffsetDateTime,
    /// When sent (or logged).
    pub sent_at: Option<OffsetDateTime>,
    /// Delivery attempts so far (the successful one included).
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was given up (refused by the server, or out of retries); never sent after.
    pub failed_at: Option<OffsetDateTime>,
}

/// Input for an e-mail.
#[derive(Debug, Clone)]
pub struct NewEmail {
    /// Row id, chosen by the caller so the sealed bodies can be bound to it.
    pub id: Uuid,
    /// Recipient.
    pub to_address: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body (sealed: it may hold a single-use link).
    pub body_text: String,
    /// HTML body (sealed).
    pub body_html: String,
    /// Kind.
    pub kind: String,
}

/// Input for an invitation.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    /// Invitee e-mail (lower-cased by storage).
    pub email: String,
    /// Invitee name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Where.
    pub target: MembershipTarget,
    /// Hash of the token sent by e-mail.
    pub token_hash: String,
    /// Expiry.
    pub expires_at: OffsetDateTime,
}

/// Lockout policy for one throttle key.
#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    /// Failures allowed before the first lock.
    pub max_failures: i32,
    /// First lock length; doubles with each further failure.
    pub base_lock: time::Duration,
    /// Longest lock.
    pub max_lock: time::Duration,
    /// Failures older than this are forgotten.
    pub window: time::Duration,
}

/// Storage of accounts and security state.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Adds a signing key and retires the previous active ones (audited as `key.rotate`).
    async fn add_signing_key(&self, actor: &Actor, key: SigningKeyRecord) -> StoreResult<()>;
    /// Every signing key retired after `since` or still active, newest first.
    async fn signing_keys(&self, since: OffsetDateTime) -> StoreResult<Vec<SigningKeyRecord>>;

    /// Starts a session.
    async fn create_session(&self, new: NewSession) -> StoreResult<AuthSession>;
    /// One of the user's sessions by id (the `sub` and `sid` of a verified access token).
    async fn session(&self, user: UserId, id: SessionId) -> StoreResult<Option<AuthSession>>;
    /// The web session whose cookie token hashes to `hash`.
    async fn session_by_token_hash(&self, hash: &str) -> StoreResult<Option<AuthSession>>;
    /// Rotates a refresh token: the old one becomes used, `new_hash` becomes current. A token
    /// used again within `grace` of its first use (two tabs refreshing at once) gets a sibling;
    /// later, reuse revokes the whole family. Sessions past their absolute or idle end are
    /// invalid.
    async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        idle: time::Duration,
        grace: time::Duration,
    ) -> StoreResult<RefreshOutcome>;
    /// Raises a session to AAL2; for web sessions the cookie token changes too (no fixation).
    async fn elevate_session(
        &self,
        user: UserId,
        id: SessionId,
        new_token_hash: Option<String>,
    ) -> StoreResult<()>;
    /// Marks one of the user's sessions as used now.
    async fn touch_session(&self, user: UserId, id: SessionId) -> StoreResult<()>;
    /// A user's sessions that are not revoked nor expired, newest first.
    async fn list_sessions(&self, user: UserId) -> StoreResult<Vec<AuthSession>>;
    /// Revokes one of the user's sessions; false when it is not theirs or already revoked.
    async fn revoke_session(&self, user: UserId, id: SessionId, reason: &str) -> StoreResult<bool>;
    /// Revokes every live session of a user except `keep`; returns how many.
    async fn revoke_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionId>,
        reason: &str,
    ) -> StoreResult<u64>;

    /// The user's TOTP factor, confirmed or not.
    async fn totp_factor(&self, user: UserId) -> StoreResult<Option<TotpFactor>>;
    /// Starts (or restarts) an unconfirmed TOTP enrolment; fails if a confirmed one exists.
    async fn begin_totp(&self, user: UserId, secret_enc: String) -> StoreResult<()>;
    /// Accepts a TOTP time step once: true only if it is newer than the last accepted one.
    /// With `confirm`, also confirms the enrolment and replaces the recovery codes.
    async fn accept_totp_step(
        &self,
        actor: &Actor,
        user: UserId,
        step: i64,
        confirm_with_codes: Option<Vec<String>>,
    ) -> StoreResult<bool>;
    /// Removes the TOTP factor and recovery codes.
    async fn remove_totp(&self, actor: &Actor, user: UserId) -> StoreResult<()>;
    /// Uses a recovery code once.
    async fn use_recovery_code(&self, user: UserId, code_hash: &str) -> StoreResult<bool>;
    /// Unused recovery codes left.
    async fn recovery_codes_left(&self, user: UserId) -> StoreResult<u64>;

    /// Until when `key` is locked, if it is.
    async fn throttle_locked_until(&self, key: &str) -> StoreResult<Option<OffsetDateTime>>;
    /// Counts a failure; returns the lock end if this failure locks the key.
    async fn throttle_failure(
        &self,
        key: &str,
        policy: &LockoutPolicy,
    ) -> StoreResult<Option<OffsetDateTime>>;
    /// Forgets the failures of `key` (after a success).
    async fn throttle_clear(&self, key: &str) -> StoreResult<()>;

    /// Records a password reset token.
    async fn create_password_reset(
        &self,
        user: UserId,
        token_hash: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()>;
    /// Consumes a reset token (single use, unexpired) and sets the new password hash in the
    /// same transaction; returns the user.
    async fn consume_password_reset(
        &self,
        token_hash: &str,
        new_password_hash: String,
    ) -> StoreResult<Option<UserId>>;
    /// Sets a user's password hash (audited as `user.password_change`).
    async fn set_password_hash(&self, actor: &Actor, user: UserId, hash: String)
    -> StoreResult<()>;

    /// Creates an invitation on a target the scope covers (audited).
    async fn create_invitation(
        &self,
        scope: &Scope,
        actor: &Actor,
        new: NewInvitation,
    ) -> StoreResult<Invitation>;
    /// Pending (or all) invitations the scope can see.
    async fn list_invitations(
        &self,
        scope: &Scope,
        pending_only: bool,
        page: PageRequest,
    ) -> StoreResult<Page<Invitation>>;
    /// One invitation the scope can see.
    async fn invitation(&self, scope: &Scope, id: InvitationId) -> StoreResult<Invitation>;
    /// Revokes a pending invitation (audited).
    async fn revoke_invitation(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: InvitationId,
    ) -> StoreResult<Invitation>;
    /// Replaces the token of a pending invitation and extends it (resend; audited).
    async fn renew_invitation(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: InvitationId,
        token_hash: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<Invitation>;
    /// The pending, unexpired invitation whose token hashes to `hash`.
    async fn invitation_by_token_hash(&self, hash: &str) -> StoreResult<Option<Invitation>>;
    /// Accepts an invitation: creates the user (or reuses the existing one with that e-mail,
    /// keeping their password), grants the role and marks it accepted, all in one transaction.
    async fn accept_invitation(
        &self,
        actor: &Actor,
        token_hash: &str,
        password_hash: String,
        locale: Locale,
    ) -> StoreResult<User>;

    /// Appends an auth event.
    async fn record_auth_event(&self, event: NewAuthEvent) -> StoreResult<()>;
    /// Auth events the scope can see, newest first.
    async fn list_auth_events(
        &self,
        scope: &Scope,
        filter: &AuthEventFilter,
        page: PageRequest,
    ) -> StoreResult<Page<AuthEvent>>;

    /// Queues an e-mail.
    async fn enqueue_email(&self, email: NewEmail) -> StoreResult<Uuid>;
    /// Unsent e-mails, oldest first.
    async fn pending_emails(&self, limit: u32) -> StoreResult<Vec<OutboxEmail>>;
    /// How many e-mails wait to be sent, and how many were given up (kept a week).
    async fn outbox_depth(&self) -> StoreResult<OutboxDepth>;
    /// Claims up to `limit` unsent e-mails for `owner`, oldest first, for `lease`: each
    /// e-mail is claimed by one caller at a time, however many instances drain at once
    /// (concurrent claimers skip each other's rows). A claim whose lease expired (the sender
    /// died before marking the e-mail sent) can be taken again.
    async fn claim_emails(
        &self,
        owner: Uuid,
        limit: u32,
        lease: time::Duration,
    ) -> StoreResult<Vec<OutboxEmail>>;
    /// Latest e-mails to one address, newest first (operators and tests).
    async fn emails_to(&self, address: &str, limit: u32) -> StoreResult<Vec<OutboxEmail>>;
    /// Marks an e-mail sent and wipes its bodies (they held single-use links); recipient,
    /// subject, kind, timestamps and attempts stay.
    async fn mark_email_sent(&self, id: Uuid) -> StoreResult<()>;
    /// Records a failed delivery attempt and releases the claim: retried from `retry_at`, or,
    /// with `None`, given up for good (the bodies are wiped like a sent e-mail's).
    async fn mark_email_failed(
        &self,
        id: Uuid,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<()>;

    /// Deletes, in bounded batches, what ended before `before`: sessions expired or revoked (with
    /// their refresh tokens), used or expired reset tokens, sent e-mails, stale unlocked sign-in
    /// throttles and shared throttle windows that ended. Returns the rows deleted.
    async fn purge_expired(&self, before: OffsetDateTime) -> StoreResult<u64>;
}
