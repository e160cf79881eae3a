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
    // Most rows the big lists count for their pager (`jarvis_core::page::COUNT_CAP`).
    count_cap: u64,
}

impl PgStore {
    /// The same store counting at most `cap` rows for the big lists' totals (tests lower it,
    /// so a capped total needs a handful of rows, not 10,000).
    pub fn with_count_cap(mut self, cap: u64) -> Self {
        self.count_cap = cap;
        self
    }

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
        Ok(Self {
            pool,
            count_cap: jarvis_core::page::COUNT_CAP,
        })
    }

    /// The underlying pool (tests and maintenance tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Key of the transaction-level advisory lock that serializes voice slot acquisitions
    /// (exclusive) against lease renewals (shared), across every instance on the database.
    pub const VOICE_SLOT_LOCK: i64 = 0x4A52_5653_4C4F_5453;

    /// Begins a transaction as `jarvis_app` inside `scope`. Public so tests can run raw SQL with
    /// the application's filters deliberately left out and watch the policies hold.
    pub async fn begin_scoped(&self, scope: &jarvis_core::Scope) -> StoreResult<Tx> {
        self.begin(&TxCtx::Scope(*scope), true).await
    }

    /// Begins a transaction as `jarvis_app` in any context (tests of the identity policies).
    pub async fn begin_in(&self, ctx: &TxCtx) -> StoreResult<Tx> {
        self.begin(ctx, true).await
    }

    async fn begin(&self, ctx: &TxCtx, _write: bool) -> StoreResult<Tx> {
        let mut tx = self.pool.begin().await.map_err(map_db_err)?;
        sqlx::query("SELECT set_config('role', $1, true)")
            .bind(APP_ROLE)
            .execute(&mut *tx)
            .await
            .map_err(map_db_err)?;
        set_ctx(&mut tx, ctx).await?;
        Ok(tx)
    }

    /// Makes sure the cluster-wide role `jarvis_app` exists and the connecting user may switch to
    /// it, before the migrator runs. Roles are shared by every database of a cluster and advisory
    /// locks are not, so two databases (or two instances) migrating at once race on a
    /// check-then-create: each race outcome (`duplicate_object`, `unique_violation`, `tuple
    /// concurrently updated`) just means another session did it first, so we look again.
    async fn ensure_app_role(&self) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_db_err)?;
        let mut last = String::new();
        for _ in 0..10 {
            let (exists, member): (bool, bool) = sqlx::query_as(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1), \
                 EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
                         WHERE r.rolname = $1 AND m.member = (SELECT oid FROM pg_roles WHERE rolname = current_user))",
            )
            .bind(APP_ROLE)
            .fetch_one(&mut *conn)
            .await
            .map_err(map_db_err)?;
            if exists && member {
                return Ok(());
            }
            let sql = if exists {
                "GRANT jarvis_app TO CURRENT_USER"
            } else {
                "CREATE ROLE jarvis_app NOLOGIN NOSUPERUSER NOBYPASSRLS"
            };
            match sqlx::query(sql).execute(&mut *conn).await {
                Ok(_) => {}
                Err(sqlx::Error::Database(d)) if is_role_race(d.code().as_deref(), d.message()) => {
                    last = d.message().to_string();
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(sqlx::Error::Database(d)) if d.code().as_deref() == Some("42501") => {
                    let who: String = sqlx::query_scalar("SELECT current_user::text")
                        .fetch_one(&mut *conn)
                        .await
                        .unwrap_or_else(|_| "the database user".into());
                    return Err(StoreError::Migration(format!(
                        "the role {APP_ROLE} {} and {who} may not {}: as a superuser, run \
                         `CREATE ROLE {APP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS; GRANT {APP_ROLE} TO {who};` \
                         once for the cluster, then start JARVIS again ({})",
                        if exists { "exists" } else { "is missing" },
                        if exists { "join it" } else { "create it" },
                        d.message()
                    )));
                }
                Err(e) => return Err(map_db_err(e)),
            }
        }
        Err(StoreError::Migration(format!(
            "could not create or join the role {APP_ROLE}: still racing with other sessions ({last})"
        )))
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

/// Sets the context of a transaction (already running as `jarvis_app`). Called again inside a
/// transaction to switch context explicitly, e.g. from a tenant scope to the identity of the user
/// whose sessions a disable revokes.
async fn set_ctx(tx: &mut Tx, ctx: &TxCtx) -> StoreResult<()> {
    let (franchise, gym, user) = match ctx {
        TxCtx::Scope(s) => (
            s.franchise().map(|f| f.to_string()).unwrap_or_default(),
            s.gym().map(|g| g.to_string()).unwrap_or_default(),
            String::new(),
        ),
        TxCtx::Identity(u) => (String::new(), String::new(), u.to_string()),
        TxCtx::SignIn
        | TxCtx::Keys
        | TxCtx::Mailer
        | TxCtx::Purge
        | TxCtx::Jobs
        | TxCtx::Throttle
        | TxCtx::Voice
        | TxCtx::Webhook
        | TxCtx::Ops => (String::new(), String::new(), String::new()),
    };
    sqlx::query(
        "SELECT set_config('jarvis.scope', $1, true), set_config('jarvis.franchise_id', $2, true), \
         set_config('jarvis.gym_id', $3, true), set_config('jarvis.user_id', $4, true)",
    )
    .bind(ctx.name())
    .bind(franchise)
    .bind(gym)
    .bind(user)
    .execute(&mut **tx)
    .await
    .map_err(map_db_err)?;
    Ok(())
}

/// Whether a failed `CREATE ROLE` / `GRANT` lost a race with another session doing the same.
fn is_role_race(code: Option<&str>, message: &str) -> bool {
    matches!(code, Some("42710") | Some("23505"))
        || (code == Some("XX000") && message.contains("tuple concurrently updated"))
}

/// Row locks for read-then-write checks (SQLite serializes writers with `BEGIN IMMEDIATE`).
const FOR_UPDATE: &str = " FOR UPDATE";

/// Row locks for the job claim: concurrent claimers skip each other's rows instead of waiting.
const FOR_UPDATE_SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";

/// The advisory lock that serializes voice slot acquisitions across every instance sharing the
/// database ("JRVSLOTS"; advisory locks are per database).
const VOICE_SLOT_LOCK: i64 = PgStore::VOICE_SLOT_LOCK;

/// Takes the voice slot lock for the rest of the transaction, then reads the database's clock.
/// Acquisitions take it exclusive (count, then insert, with nobody else changing what counts);
/// lease renewals take it shared, so a renewal never revives a lease an acquisition already
/// counted as expired. The clock is read after the lock is held (a wait does not make it
/// stale) and from the database, so every instance compares leases against one clock.
async fn slot_lock(tx: &mut Tx, exclusive: bool) -> StoreResult<time::OffsetDateTime> {
    let sql = if exclusive {
        "WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock($1)) SELECT clock_timestamp() FROM l"
    } else {
        "WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock_shared($1)) \
         SELECT clock_timestamp() FROM l"
    };
    let t: time::OffsetDateTime = sqlx::query_scalar(sql)
        .bind(VOICE_SLOT_LOCK)
        .fetch_one(&mut **tx)
        .await
        .map_err(map_db_err)?;
    Ok(crate::dbtime::exact(t))
}

/// The database's clock (leases are compared against it).
async fn db_now(tx: &mut Tx) -> StoreResult<time::OffsetDateTime> {
    let t: time::OffsetDateTime = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&mut **tx)
        .await
        .map_err(map_db_err)?;
    Ok(crate::dbtime::exact(t))
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
/// Sampled (default_statistics_target); autovacuum does the same later on its own.
const ANALYZE_SQL: &str = "ANALYZE";

/// Table and column names, in a backend-specific way; `Maintenance::schema` groups them.
const SCHEMA_SQL: &str = "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
             ORDER BY table_name, ordinal_position";

/// Stands the rollup insert triggers aside for the rest of a bulk load's transaction (their
/// `WHEN` reads this transaction-local setting; no other session sees it).
const PAUSE_ROLLUPS_SQL: &str = "SELECT set_config('jarvis.rollups_paused', 'on', true)";
/// Bulk loads (the demo seed's batches): a batch's commit does not wait for its WAL flush. A
/// crash may lose the last batches, which are re-runnable (the seed skips the batches it finds).
const BULK_LOAD_SQL: &str = "SET LOCAL synchronous_commit = off";
/// Gives the rollup insert triggers back (the bulk load has added its share itself).
const RESUME_ROLLUPS_SQL: &str = "SELECT set_config('jarvis.rollups_paused', 'off', true)";

/// A bulk load's share of the daily rollups, added set-based: each statement is its head, the
/// loaded calls' ids (bound, comma-separated), then its tail. Same arithmetic as the triggers
/// (and the backfill) of `0030_overview_rollups.sql`.
const BULK_ROLLUP_SQL: [(&str, &str); 5] = [
    (
        "INSERT INTO session_daily (franchise_id, gym_id, day, conversations, ended, duration_secs) \
         SELECT franchise_id, gym_id, (started_at AT TIME ZONE 'UTC')::date, count(*), \
                count(ended_at), coalesce(sum(jarvis_call_secs(started_at, ended_at)), 0) \
         FROM voice_sessions WHERE NOT demo AND id IN (",
        ") GROUP BY 1, 2, 3 \
         ON CONFLICT (gym_id, day) DO UPDATE SET \
             conversations = session_daily.conversations + EXCLUDED.conversations, \
             ended = session_daily.ended + EXCLUDED.ended, \
             duration_secs = session_daily.duration_secs + EXCLUDED.duration_secs",
    ),
    (
        "INSERT INTO session_daily (franchise_id, gym_id, day, satisfaction_sum, satisfaction_n, \
                                    sentiment_sum, sentiment_n) \
         SELECT s.franchise_id, s.gym_id, (s.started_at AT TIME ZONE 'UTC')::date, \
                coalesce(sum(a.satisfaction), 0), count(a.satisfaction), \
                coalesce(sum(a.sentiment_score), 0), count(a.sentiment_score) \
         FROM session_analyses a JOIN voice_sessions s ON s.id = a.session_id \
         WHERE a.status = 'done' AND NOT s.demo AND s.id IN (",
        ") GROUP BY 1, 2, 3 \
         ON CONFLICT (gym_id, day) DO UPDATE SET \
             satisfaction_sum = session_daily.satisfaction_sum + EXCLUDED.satisfaction_sum, \
             satisfaction_n = session_daily.satisfaction_n + EXCLUDED.satisfaction_n, \
             sentiment_sum = session_daily.sentiment_sum + EXCLUDED.sentiment_sum, \
             sentiment_n = session_daily.sentiment_n + EXCLUDED.sentiment_n",
    ),
    (
        "INSERT INTO topic_daily (franchise_id, gym_id, day, topic, n) \
         SELECT franchise_id, gym_id, day, topic, count(*) \
         FROM (SELECT DISTINCT s.id, s.franchise_id, s.gym_id, \
                      (s.started_at AT TIME ZONE 'UTC')::date AS day, \
                      lower(btrim(e.value #>> '{}')) AS topic \
               FROM session_analyses a JOIN voice_sessions s ON s.id = a.session_id, \
                    jsonb_array_elements(CASE WHEN jsonb_typeof(a.topics) = 'array' \
                                              THEN a.topics ELSE '[]'::jsonb END) e \
               WHERE a.status = 'done' AND NOT s.demo AND jsonb_typeof(e.value) = 'string' \
                 AND btrim(e.value #>> '{}') <> '' AND s.id IN (",
        ")) x GROUP BY 1, 2, 3, 4 \
         ON CONFLICT (gym_id, day, topic) DO UPDATE SET n = topic_daily.n + EXCLUDED.n",
    ),
    (
        "INSERT INTO latency_daily (franchise_id, gym_id, source, day, bucket_ms, n) \
         SELECT franchise_id, gym_id, 'turn', (at AT TIME ZONE 'UTC')::date, \
                jarvis_latency_bucket(latency_ms), count(*) \
         FROM conversation_turns WHERE latency_ms IS NOT NULL AND session_id IN (",
        ") GROUP BY 1, 2, 4, 5 \
         ON CONFLICT (gym_id, source, day, bucket_ms) DO UPDATE SET n = latency_daily.n + EXCLUDED.n",
    ),
    (
        "INSERT INTO member_last_call (franchise_id, gym_id, member_id, last_at) \
         SELECT franchise_id, gym_id, member_id, max(started_at) FROM voice_sessions \
         WHERE member_id IS NOT NULL AND NOT demo AND id IN (",
        ") GROUP BY 1, 2, 3 \
         ON CONFLICT (member_id) DO UPDATE \
             SET last_at = greatest(member_last_call.last_at, EXCLUDED.last_at)",
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
