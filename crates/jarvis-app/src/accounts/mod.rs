//! The accounts service: sign-in, second factor, sessions and refresh tokens, password change
//! and reset, invitations, the team (offboarding) and the first super admin. The JSON API, the
//! dashboard pages and the CLI all call these functions; they answer domain results and one
//! [`AccountsError`], which the HTTP layer maps once to its answers.

pub mod email;
mod invitations;
mod mfa;
mod password;
mod signin;
mod team;

pub use email::escape_html;
pub use invitations::{InvitationInput, InvitationSent};
pub use mfa::Enrollment;
pub use password::ResetJob;
pub use signin::{Me, SignedIn, Tokens, WebSignIn, principal};
pub use team::{NewAdmin, TeamMemberView, check_new_admin, create_super_admin};

use crate::access::AccessError;
use crate::auth::crypto::MasterKey;
use crate::auth::keys::KeyRing;
use crate::config::Config;
use crate::supervisor::Supervisor;
use jarvis_core::authz::{Decision, OffboardDecision};
use jarvis_core::{FieldError, UserId};
use jarvis_store::{NewAuthEvent, Store, StoreError};
use std::sync::Arc;
use thiserror::Error;
use time::OffsetDateTime;

/// Why an accounts operation did not happen.
#[derive(Debug, Error)]
pub enum AccountsError {
    /// Too many failed attempts: locked until then.
    #[error("too many failed attempts; locked until {0}")]
    Locked(OffsetDateTime),
    /// Wrong e-mail or password (also: unknown or disabled account).
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    /// No confirmed second factor to verify.
    #[error("no second factor is enrolled")]
    MfaNotEnrolled,
    /// Neither a code nor a recovery code was given.
    #[error("send a code or a recovery code")]
    CodeMissing,
    /// Wrong or already used second-factor code.
    #[error("wrong or already used code")]
    WrongCode,
    /// Wrong first code of an enrolment (often a device clock off).
    #[error("wrong code; check the device clock")]
    WrongEnrolmentCode,
    /// Confirming an enrolment that was never started.
    #[error("no pending enrolment")]
    NoPendingEnrollment,
    /// A second factor is already enrolled (another tab finished first).
    #[error("a second factor is already enrolled")]
    AlreadyEnrolled,
    /// The user's role requires a second factor, so it cannot be removed.
    #[error("your role requires a second factor")]
    MfaRequiredByRole,
    /// The session of a token ended (revoked, expired, idle, or its user deleted).
    #[error("session ended")]
    SessionEnded,
    /// The account is disabled.
    #[error("account disabled")]
    AccountDisabled,
    /// A rotated refresh token came back: the whole session was ended.
    #[error("refresh token reused; session ended")]
    RefreshReused,
    /// Unknown, expired or revoked refresh token.
    #[error("invalid or expired refresh token")]
    RefreshInvalid,
    /// A password the policy refuses (`field` names the input).
    #[error("{field}: {message}")]
    WeakPassword {
        /// Input field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Invalid, used or expired reset link.
    #[error("this reset link is invalid, used or expired")]
    InvalidResetToken,
    /// Invalid, used, revoked or expired invitation.
    #[error("this invitation is invalid, used, revoked or expired")]
    InvalidInvitation,
    /// An input field is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// Input field.
        field: &'static str,
        /// Machine code (`invalid_format`, `shape`, …).
        code: &'static str,
        /// What is expected.
        message: String,
    },
    /// Several input fields are invalid (model validation).
    #[error("invalid input: {0}")]
    Fields(#[from] jarvis_core::ValidationErrors),
    /// Not there, or not visible to the caller.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The permission function said no.
    #[error("not allowed: {decision:?} on {what}")]
    Denied {
        /// The decision (never `Allow`).
        decision: Decision,
        /// What the resource is.
        what: &'static str,
    },
    /// An offboarding rule refused the action.
    #[error("refused: {0:?}")]
    Offboard(OffboardDecision),
    /// The last enabled super admin cannot be disabled or lose the role.
    #[error("{0}")]
    LastSuperAdmin(String),
    /// A user with this e-mail already exists.
    #[error("a user with e-mail {0} already exists")]
    EmailTaken(String),
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
    /// Hashing, sealing or signing failed.
    #[error("{0}")]
    Internal(String),
}

impl AccountsError {
    fn internal(e: impl std::fmt::Display) -> Self {
        AccountsError::Internal(e.to_string())
    }
}

impl From<StoreError> for AccountsError {
    fn from(e: StoreError) -> Self {
        AccountsError::Store(e)
    }
}

impl From<FieldError> for AccountsError {
    fn from(e: FieldError) -> Self {
        AccountsError::Fields(e.into())
    }
}

impl From<AccessError> for AccountsError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Denied { decision, what } => AccountsError::Denied { decision, what },
            AccessError::Store(e) => AccountsError::Store(e),
        }
    }
}

impl From<crate::outbox::OutboxError> for AccountsError {
    fn from(e: crate::outbox::OutboxError) -> Self {
        match e {
            crate::outbox::OutboxError::Store(e) => AccountsError::Store(e),
            e @ crate::outbox::OutboxError::Seal(_) => AccountsError::internal(e),
        }
    }
}

/// Result of the accounts service.
pub type AccountsResult<T> = Result<T, AccountsError>;

/// Where a request comes from, for auth events, throttles and the audit actor.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// Client IP (trusted proxies only).
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
}

impl Client {
    /// The throttle key of the client's address (IPv6 by /64).
    pub fn ip_key(&self) -> String {
        self.ip
            .as_deref()
            .and_then(|i| i.parse().ok())
            .map(crate::auth::net::rate_key)
            .unwrap_or_else(|| "unknown".into())
    }

    /// An auth event from this client.
    pub fn event(&self, event: &str, user: Option<UserId>, email: Option<&str>) -> NewAuthEvent {
        NewAuthEvent {
            event: event.into(),
            user_id: user,
            email: email.map(str::to_string),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            ..NewAuthEvent::default()
        }
    }
}

/// The settings of the accounts rules, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Absolute session life.
    pub session_absolute: std::time::Duration,
    /// Idle timeout of sessions.
    pub session_idle: std::time::Duration,
    /// Window in which a rotated refresh token may come back (concurrent tabs).
    pub refresh_reuse_grace: std::time::Duration,
    /// Failed sign-ins before a lock.
    pub lockout_max_failures: u32,
    /// Base of the links in e-mails.
    pub public_base: String,
}

impl Settings {
    /// The settings of `config`.
    pub fn from_config(config: &Config) -> Self {
        Settings {
            session_absolute: config.session_absolute,
            session_idle: config.session_idle,
            refresh_reuse_grace: config.refresh_reuse_grace,
            lockout_max_failures: config.lockout_max_failures,
            public_base: public_base(config),
        }
    }

    /// The idle timeout as a `time` duration.
    pub fn idle(&self) -> time::Duration {
        time::Duration::try_from(self.session_idle).unwrap_or(time::Duration::days(3))
    }

    fn session_end(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
            + time::Duration::try_from(self.session_absolute).unwrap_or(time::Duration::days(7))
    }
}

/// The base of links in e-mails: the public URL, else the listen address.
pub fn public_base(config: &Config) -> String {
    config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen))
}

/// Password-reset requests that may wait for the worker; more are dropped.
const RESET_QUEUE: usize = 256;

/// The accounts service; cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    master: MasterKey,
    keys: Arc<KeyRing>,
    settings: Arc<Settings>,
    reset_queue: tokio::sync::mpsc::Sender<ResetJob>,
    /// Closed once no request can queue a reset anymore (see [`Accounts::close_reset_intake`]).
    reset_intake: tokio_util::sync::CancellationToken,
}

impl Accounts {
    /// Loads the master key and the signing keys (creating the first key on a fresh database)
    /// and starts the password-reset worker under `supervisor`: at shutdown it sends every reset
    /// already requested (see [`Accounts::close_reset_intake`]) within the grace period.
    pub async fn open(
        config: &Config,
        store: Arc<dyn Store>,
        supervisor: &Supervisor,
    ) -> AccountsResult<Accounts> {
        let master = MasterKey::load_or_create(
            config.master_key.as_ref().map(|s| s.expose()),
            &config.data_dir,
        )
        .map_err(|e| AccountsError::Internal(e.0))?;
        let issuer = config
            .public_url
            .clone()
            .unwrap_or_else(|| "jarvis".to_string());
        let keys = KeyRing::open(
            store.clone(),
            master.clone(),
            issuer,
            config.access_token_ttl,
        )
        .await
        .map_err(AccountsError::internal)?;
        let settings = Arc::new(Settings::from_config(config));
        let (reset_queue, queued) = tokio::sync::mpsc::channel(RESET_QUEUE);
        let worker = password::ResetWorker {
            store: store.clone(),
            master: master.clone(),
            base: settings.public_base.clone(),
        };
        let reset_intake = tokio_util::sync::CancellationToken::new();
        let intake = reset_intake.clone();
        supervisor.spawn("password-reset", move |signals| {
            worker.run(queued, intake, signals)
        });
        Ok(Accounts {
            store,
            master,
            keys,
            settings,
            reset_queue,
            reset_intake,
        })
    }

    /// Says no request can queue a password reset anymore (the HTTP server has answered its
    /// last request): the reset worker sends what is queued, then ends. Later requests are
    /// dropped.
    pub fn close_reset_intake(&self) {
        self.reset_intake.cancel();
    }

    /// The master key (sealing secrets at rest).
    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The signing keys.
    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.keys
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Records an auth event; a failure to record is logged, never shown to the client.
    pub async fn record(&self, e: NewAuthEvent) {
        record_in(self.store.as_ref(), e).await;
    }

    /// Delivers the e-mail outbox with `mailer`.
    pub async fn deliver_outbox(
        &self,
        mailer: &crate::mailer::Mailer,
    ) -> crate::outbox::DeliveryReport {
        crate::outbox::deliver(self.store.as_ref(), &self.master, mailer).await
    }
}

async fn record_in(store: &dyn Store, e: NewAuthEvent) {
    if let Err(err) = store.record_auth_event(e).await {
        tracing::error!(error = %err, "cannot record auth event");
    }
}
