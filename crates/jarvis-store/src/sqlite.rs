//! The SQLite backend: one embedded file, WAL, busy timeout, foreign keys on. Writes begin
//! `IMMEDIATE` so concurrent writers queue on the busy timeout instead of failing mid-transaction.

use crate::constraints::from_sqlite_message;
use crate::error::{StoreError, StoreResult};
use crate::migrate::{MigrationInfo, pair};
use crate::{Backend, ConnectOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

type Db = sqlx::Sqlite;
type Tx = sqlx::Transaction<'static, Db>;
type ThisStore = SqliteStore;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Storage on an embedded SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    // Most rows the big lists count for their pager (`jarvis_core::page::COUNT_CAP`).
    count_cap: u64,
}

impl SqliteStore {
    /// The same store counting at most `cap` rows for the big lists' totals (tests lower it,
    /// so a capped total needs a handful of rows, not 10,000).
    pub fn with_count_cap(mut self, cap: u64) -> Self {
        self.count_cap = cap;
        self
    }

    /// Opens (creating if missing) the database file named by a `sqlite://` URL.
    pub async fn connect(opts: &ConnectOptions) -> StoreResult<Self> {
        let path = opts
            .url
            .trim_start_matches("sqlite://")
            .trim_start_matches("sqlite:")
            .split('?')
            .next()
            .unwrap_or_default();
        if path.is_empty() {
            return Err(StoreError::Config(
                "the sqlite URL names no file (expected sqlite://path/to/jarvis.db)".into(),
            ));
        }
        if path != ":memory:"
            && let Some(dir) = std::path::Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Config(format!(
                    "cannot create database directory {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let options = SqliteConnectOptions::from_str(&opts.url)
            .map_err(|e| StoreError::Config(format!("invalid sqlite URL `{}`: {e}", opts.url)))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot open sqlite database {path}: {e}"))
            })?;
        Ok(Self {
            pool,
            count_cap: jarvis_core::page::COUNT_CAP,
        })
    }

    /// The underlying pool (tests and maintenance tools).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin(&self, _ctx: &TxCtx, write: bool) -> StoreResult<Tx> {
        // SQLite has no row-level security: the SQL's own scope filters are the wall here.
        let tx = if write {
            self.pool.begin_with("BEGIN IMMEDIATE").await
        } else {
            self.pool.begin().await
        };
        tx.map_err(map_db_err)
    }

    async fn applied_versions(&self) -> StoreResult<Vec<i64>> {
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(map_db_err)?;
        if exists == 0 {
            return Ok(Vec::new());
        }
        sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_db_err)
    }
}

/// SQLite has no row-level security: switching context inside a transaction changes nothing.
async fn set_ctx(_tx: &mut Tx, _ctx: &TxCtx) -> StoreResult<()> {
    Ok(())
}

/// No row locks in SQLite: `BEGIN IMMEDIATE` already serializes writers.
const FOR_UPDATE: &str = "";

/// The job claim runs inside `BEGIN IMMEDIATE` (one writer at a time): nothing to skip.
const FOR_UPDATE_SKIP_LOCKED: &str = "";

/// Voice slot acquisitions and renewals run in `BEGIN IMMEDIATE` transactions, which already
/// serialize every writer on the database file: no lock to take. The clock is read once the
/// transaction holds the write lock, so a wait for it does not make the time stale.
async fn slot_lock(_tx: &mut Tx, _exclusive: bool) -> StoreResult<time::OffsetDateTime> {
    Ok(crate::rows::now())
}

/// The clock leases are compared against (every process sharing a SQLite file shares a host).
async fn db_now(_tx: &mut Tx) -> StoreResult<time::OffsetDateTime> {
    Ok(crate::rows::now())
}

impl SqliteStore {
    /// Nothing to prepare before migrating: SQLite has no roles.
    async fn ensure_app_role(&self) -> StoreResult<()> {
        Ok(())
    }
}

/// Classifies a SQLite error once, for every caller.
fn map_db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::Database(d) => match from_sqlite_message(d.message()) {
            Some(mapped) => mapped,
            None if d.message().contains("database is locked") => {
                StoreError::Unavailable(d.message().to_string())
            }
            None => StoreError::Internal(d.message().to_string()),
        },
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::RowNotFound => StoreError::NotFound("row"),
        other => StoreError::Internal(other.to_string()),
    }
}

const BACKEND: Backend = Backend::Sqlite;
/// At most 1,000 rows read per index: tens of milliseconds at any size.
const ANALYZE_SQL: &str = "PRAGMA analysis_limit = 1000; ANALYZE";

/// Table and column names, in a backend-specific way; `Maintenance::schema` groups them.
const SCHEMA_SQL: &str = "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations' \
             AND m.name NOT LIKE 'knowledge_chunks_fts%' \
             ORDER BY m.name, p.cid";

include!("sql/common.rs");
include!("sql/gyms.rs");
include!("sql/accounts.rs");
include!("sql/jobs.rs");
include!("sql/voice.rs");
include!("sql/leads.rs");
include!("sql/http_tools.rs");
include!("sql/ops.rs");
include!("sql/monitor.rs");
include!("sql/knowledge.rs");
include!("sql/analysis.rs");
include!("sql/analytics.rs");
include!("sql/usage.rs");
include!("sql/overview.rs");
include!("sql/seed.rs");
