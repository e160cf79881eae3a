//! Storage: one trait per aggregate, implemented once in SQL and compiled for both backends
//! (SQLite embedded by default, PostgreSQL with row-level security in production).
//!
//! Every tenant-scoped method takes the [`Scope`] first. The SQL adds the scope to every
//! query (first wall); on PostgreSQL each transaction also runs as the non-owner role
//! `jarvis_app` with the scope in transaction-local settings, so the row-level security
//! policies hold even if a query forgot its filter (second wall).

pub mod accounts;
pub mod analysis;
pub mod analytics;
mod constraints;
mod dbtime;
mod dbuuid;
pub mod dump;
mod error;
pub mod http_tools;
pub mod jobs;
pub mod knowledge;
pub mod leads;
pub mod migrate;
pub mod monitor;
pub mod ops;
pub mod overview;
mod postgres;
mod rows;
pub mod seed;
mod sqlite;
mod traits;
pub mod usage;
pub mod voice;

#[cfg(feature = "testing")]
pub mod testing;

pub use accounts::*;
pub use analysis::*;
pub use analytics::*;
pub use error::{StoreError, StoreResult};
pub use http_tools::*;
pub use jobs::*;
pub use knowledge::*;
pub use leads::*;
pub use migrate::MigrationInfo;
pub use monitor::*;
pub use ops::*;
pub use overview::*;
pub use postgres::PgStore;
pub use seed::*;
pub use sqlite::SqliteStore;
pub use traits::*;
pub use usage::*;
pub use voice::*;

use std::sync::Arc;
use std::time::Duration;

/// The session context a transaction runs in. On PostgreSQL it becomes `jarvis.scope` (plus the
/// ids) and every row-level security policy keys on it; SQLite has no policies and ignores it.
///
/// Tenant scopes never see secrets: sessions, refresh tokens, password hashes, MFA factors,
/// recovery codes, reset tokens, signing keys and the e-mail outbox are only readable under the
/// named contexts below, which storage methods pick explicitly; so are the job queue, the
/// instances and the shared throttles. Voice slots are counted across tenants in `Voice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxCtx {
    /// A tenant scope (platform, franchise, gym): tenant data, and the profiles (never the
    /// credentials) of users holding a membership visible in it.
    Scope(jarvis_core::Scope),
    /// One user's own rows: profile, memberships, credentials, sessions and refresh tokens, MFA
    /// factors, recovery codes, password resets. All writes to a user's secrets happen here.
    Identity(jarvis_core::UserId),
    /// Sign-in, refresh, reset and invitation acceptance: read-only lookups across users by
    /// e-mail or token hash (users, credentials, sessions, refresh tokens, resets, pending
    /// invitations), plus the sign-in throttles. Writes switch to the user's `Identity`.
    SignIn,
    /// Signing-key loading and rotation: `signing_keys` only.
    Keys,
    /// The e-mail sender: reading and marking the outbox (any context may append to it).
    Mailer,
    /// Retention sweeps: reading and deleting ended sessions, tokens, resets, sent e-mails and
    /// stale throttles.
    Purge,
    /// The job system: the queue (`jobs`, `job_runs`) and the running `instances`. System data
    /// only (payloads and errors are internal): never readable in a tenant scope, a tenant tag
    /// on a job included.
    Jobs,
    /// Shared fixed-window throttles (`throttles`), keyed before anyone is known.
    Throttle,
    /// The voice system: counting the slots held across every tenant (the global cap), the
    /// reaper's queries, the platform's spend, and budget alerts. Reads session rows and cost
    /// rollups of every tenant, fires alerts; never sees a transcript, a tool call, an analysis
    /// or a follow-up (the broker writes a call it owns in that call's gym scope).
    Voice,
    /// The lead webhook before anyone is known: finds the gym (and sealed secret) of a key id
    /// in `lead_webhooks`, nothing else. The lead itself is written in that gym's scope.
    Webhook,
    /// Operations data: appending to the request log (read in the platform scope).
    Ops,
}

impl TxCtx {
    /// The `jarvis.scope` value of this context (tenant scopes keep their own names).
    pub fn name(&self) -> &'static str {
        match self {
            TxCtx::Scope(s) => s.kind(),
            TxCtx::Identity(_) => "identity",
            TxCtx::SignIn => "signin",
            TxCtx::Keys => "keys",
            TxCtx::Mailer => "mailer",
            TxCtx::Purge => "purge",
            TxCtx::Jobs => "jobs",
            TxCtx::Throttle => "throttle",
            TxCtx::Voice => "voice",
            TxCtx::Webhook => "webhook",
            TxCtx::Ops => "ops",
        }
    }
}

/// Connections of one process's pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStatus {
    /// Open connections (idle or in use).
    pub open: u32,
    /// Open connections waiting in the pool.
    pub idle: u32,
    /// Most connections the pool opens.
    pub max: u32,
}

/// Which database engine backs a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL's scheme.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "database URL must start with sqlite:// or postgres:// (got `{}`)",
                redact_url(url)
            )))
        }
    }

    /// Lower-case name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `sqlite://path` or `postgres://…`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// How long to wait for a pooled connection (and for the first connect).
    pub acquire_timeout: Duration,
}

impl ConnectOptions {
    /// Defaults for a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Opens the store for a URL (without migrating).
pub async fn connect(opts: &ConnectOptions) -> StoreResult<Arc<dyn Store>> {
    Ok(match Backend::from_url(&opts.url)? {
        Backend::Sqlite => Arc::new(SqliteStore::connect(opts).await?),
        Backend::Postgres => Arc::new(PgStore::connect(opts).await?),
    })
}

/// Hides the password of a database URL for logs and error messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{path}")
            } else {
                format!("{scheme}://{user}@{host}{path}")
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/jarvis"),
            "postgres://app:***@db:5432/jarvis"
        );
        assert_eq!(
            redact_url("postgres://app@db/jarvis"),
            "postgres://app@db/jarvis"
        );
        assert_eq!(
            redact_url("sqlite://./data/jarvis.db"),
            "sqlite://./data/jarvis.db"
        );
    }

    #[test]
    fn backend_from_url() {
        assert_eq!(
            Backend::from_url("sqlite://x.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgresql://h/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(Backend::from_url("mysql://h/db").is_err());
    }
}
