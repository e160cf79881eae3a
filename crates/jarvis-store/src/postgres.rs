//! The PostgreSQL backend. Every transaction switches to the non-owner role `jarvis_app` and
//! sets the tenant scope in transaction-local settings, so row-level security applies even to
//! a query that forgot its own filter.

use crate::constraints::from_constraint_name;
use crate::error::{StoreError, StoreResult};
use crate::migrate::{MigrationInfo, pair};
use crate::{Backend, ConnectOptions, redact_url};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;

type Db = sqlx::Postgres;
type Tx = sqlx::Transaction<'static, Db>;
type ThisStore = PgStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The role every application transaction runs as.
pub const APP_ROLE: &str = "jarvis_app";

/// Storage on PostgreSQL.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects a pool to a `postgres://` URL.
    pub async fn connect(opts: &ConnectOptions) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(&opts.url)
            .map_err(|e| {
                StoreError::Config(format!(
                    "invalid postgres URL `{}`: {e}",
                    redact_url(&opts.url)
                ))
            })?
            .application_name("jarvis");
        // One direct attempt first: the pool would only report a timeout, this names the cause
        // (refused, unknown host, authentication, missing database).
        let probe = tokio::time::timeout(
            opts.acquire_timeout,
            <sqlx::postgres::PgConnection as sqlx::Connection>::connect_with(&options),
        )
        .await;
        match probe {
            Ok(Ok(conn)) => {
                let _ = sqlx::Connection::close(conn).await;
            }
            Ok(Err(e)) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot connect to {}: {e}",
                    redact_url(&opts.url)
                )));
            }
            Err(_) => {
                return Err(StoreError::Unavailable(format!(
                    "cannot connect to {}: no answer within {} s",
                    redact_url(&opts.url),
                    opts.acquire_timeout.as_secs()
                )));
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot connect to {}: {e}", redact_url(&opts.url)))
            })?;
        Ok(Self { pool })
    }

    /// The underlying pool (tests and maintenance tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Begins a transaction as `jarvis_app` inside `scope`. Public so tests can run raw SQL with
    /// the application's filters deliberately left out and watch the policies hold.
    pub async fn begin_scoped(&self, scope: &jarvis_core::Scope) -> StoreResult<Tx> {
        self.begin(&TxCtx::Scope(*scope), true).await
    }

    async fn begin(&self, ctx: &TxCtx, _write: bool) -> StoreResult<Tx> {
        let mut tx = self.pool.begin().await.map_err(map_db_err)?;
        let (kind, franchise, gym, user) = match ctx {
            TxCtx::Scope(s) => (
                s.kind(),
                s.franchise().map(|f| f.to_string()).unwrap_or_default(),
                s.gym().map(|g| g.to_string()).unwrap_or_default(),
                String::new(),
            ),
            TxCtx::Identity(u) => ("identity", String::new(), String::new(), u.to_string()),
        };
        sqlx::query(
            "SELECT set_config('role', $1, true), set_config('jarvis.scope', $2, true), \
             set_config('jarvis.franchise_id', $3, true), set_config('jarvis.gym_id', $4, true), \
             set_config('jarvis.user_id', $5, true)",
        )
        .bind(APP_ROLE)
        .bind(kind)
        .bind(franchise)
        .bind(gym)
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(map_db_err)?;
        Ok(tx)
    }

    async fn applied_versions(&self) -> StoreResult<Vec<i64>> {
        let exists: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
                .fetch_one(&self.pool)
                .await
                .map_err(map_db_err)?;
        if exists.is_none() {
            return Ok(Vec::new());
        }
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&self.pool)
            .await
            .map_err(map_db_err)
    }
}

/// Classifies a PostgreSQL error once, for every caller.
fn map_db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(d) => {
            if let Some(mapped) = d.constraint().and_then(from_constraint_name) {
                return mapped;
            }
            match d.code().as_deref() {
                // insufficient_privilege: a row-level security policy refused the row.
                Some("42501") => StoreError::OutOfScope,
                Some("23503") => StoreError::Invalid {
                    field: "id",
                    message: "refers to something that does not exist".into(),
                },
                Some("57014") => StoreError::Unavailable("statement timed out".into()),
                Some(c) if c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") => {
                    StoreError::Unavailable(d.message().to_string())
                }
                _ => StoreError::Internal(d.message().to_string()),
            }
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::RowNotFound => StoreError::NotFound("row"),
        other => StoreError::Internal(other.to_string()),
    }
}

const BACKEND: Backend = Backend::Postgres;

/// Table and column names, in a backend-specific way; `Maintenance::schema` groups them.
const SCHEMA_SQL: &str = "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
             ORDER BY table_name, ordinal_position";

include!("sql/common.rs");
include!("sql/gyms.rs");
include!("sql/accounts.rs");
