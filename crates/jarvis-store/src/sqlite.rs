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
             AND m.name NOT LIKE 'knowledge_chunks_fts%' AND m.name <> 'rollups_paused' \
             ORDER BY m.name, p.cid";

/// Stands the rollup insert triggers aside for the rest of a bulk load's transaction: a row
/// no other connection sees, removed again by [`RESUME_ROLLUPS_SQL`] before the commit.
const PAUSE_ROLLUPS_SQL: &str = "INSERT INTO rollups_paused (one) VALUES (1)";
/// Bulk loads (the demo seed's batches, `jarvis demo seed --scale` only) on the connection
/// they run on: a page cache of up to 256 MB instead of 2 MB, so the big indexes they insert
/// into stay in memory instead of being read back from the OS for every batch, and a WAL
/// checkpoint every 100 MB instead of every 4 MB, so an index page the next batches dirty
/// again is copied into the database file once instead of after every batch.
const BULK_LOAD_SQL: &str = "PRAGMA cache_size = -262144; PRAGMA wal_autocheckpoint = 25000";
/// Gives the rollup insert triggers back (the bulk load has added its share itself).
const RESUME_ROLLUPS_SQL: &str = "DELETE FROM rollups_paused";

/// A bulk load's share of the daily rollups, added set-based: each statement is its head, the
/// loaded calls' ids (bound, comma-separated), then its tail. Same arithmetic as the triggers
/// (and the backfill) of `0030_overview_rollups.sql`.
const BULK_ROLLUP_SQL: [(&str, &str); 5] = [
    (
        "INSERT INTO session_daily (franchise_id, gym_id, day, conversations, ended, duration_secs) \
         SELECT franchise_id, gym_id, substr(started_at, 1, 10), count(*), count(ended_at), \
                coalesce(sum(CASE WHEN ended_at IS NULL THEN 0 ELSE \
                    max(0, CAST(round((julianday(ended_at) - julianday(started_at)) \
                                      * 86400000.0) AS INTEGER) / 1000) END), 0) \
         FROM voice_sessions WHERE NOT demo AND id IN (",
        ") GROUP BY franchise_id, gym_id, substr(started_at, 1, 10) \
         ON CONFLICT (gym_id, day) DO UPDATE SET \
             conversations = conversations + excluded.conversations, \
             ended = ended + excluded.ended, \
             duration_secs = duration_secs + excluded.duration_secs",
    ),
    (
        "INSERT INTO session_daily (franchise_id, gym_id, day, satisfaction_sum, satisfaction_n, \
                                    sentiment_sum, sentiment_n) \
         SELECT s.franchise_id, s.gym_id, substr(s.started_at, 1, 10), \
                coalesce(sum(a.satisfaction), 0), count(a.satisfaction), \
                coalesce(sum(a.sentiment_score), 0), count(a.sentiment_score) \
         FROM session_analyses a JOIN voice_sessions s ON s.id = a.session_id \
         WHERE a.status = 'done' AND NOT s.demo AND s.id IN (",
        ") GROUP BY s.franchise_id, s.gym_id, substr(s.started_at, 1, 10) \
         ON CONFLICT (gym_id, day) DO UPDATE SET \
             satisfaction_sum = satisfaction_sum + excluded.satisfaction_sum, \
             satisfaction_n = satisfaction_n + excluded.satisfaction_n, \
             sentiment_sum = sentiment_sum + excluded.sentiment_sum, \
             sentiment_n = sentiment_n + excluded.sentiment_n",
    ),
    (
        "INSERT INTO topic_daily (franchise_id, gym_id, day, topic, n) \
         SELECT franchise_id, gym_id, day, topic, count(*) \
         FROM (SELECT DISTINCT s.id, s.franchise_id, s.gym_id, substr(s.started_at, 1, 10) AS day, \
                      lower(trim(j.value)) AS topic \
               FROM session_analyses a JOIN voice_sessions s ON s.id = a.session_id, \
                    json_each(a.topics) j \
               WHERE a.status = 'done' AND NOT s.demo AND j.type = 'text' \
                 AND trim(j.value) <> '' AND s.id IN (",
        ")) WHERE true GROUP BY franchise_id, gym_id, day, topic \
         ON CONFLICT (gym_id, day, topic) DO UPDATE SET n = n + excluded.n",
    ),
    (
        "INSERT INTO latency_daily (franchise_id, gym_id, source, day, bucket_ms, n) \
         SELECT franchise_id, gym_id, 'turn', substr(at, 1, 10), \
                CASE WHEN latency_ms < 1000 THEN latency_ms - latency_ms % 10 \
                     WHEN latency_ms < 10000 THEN latency_ms - latency_ms % 50 \
                     ELSE latency_ms - latency_ms % 1000 END AS b, count(*) \
         FROM conversation_turns WHERE latency_ms IS NOT NULL AND session_id IN (",
        ") GROUP BY franchise_id, gym_id, substr(at, 1, 10), b \
         ON CONFLICT (gym_id, source, day, bucket_ms) DO UPDATE SET n = n + excluded.n",
    ),
    (
        "INSERT INTO member_last_call (franchise_id, gym_id, member_id, last_at) \
         SELECT franchise_id, gym_id, member_id, max(started_at) FROM voice_sessions \
         WHERE member_id IS NOT NULL AND NOT demo AND id IN (",
        ") GROUP BY member_id \
         ON CONFLICT (member_id) DO UPDATE SET last_at = max(last_at, excluded.last_at)",
    ),
];

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
