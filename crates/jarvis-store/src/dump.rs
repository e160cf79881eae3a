//! Whole-database reads and loads for backups and `jarvis export` / `jarvis import`: every table
//! (but `_sqlx_migrations`) in foreign-key order, rows as portable JSON values, so a dump taken
//! on one backend loads into the other.
//!
//! The portable value of a cell depends on its [`ColumnKind`]: timestamps are
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ` strings, booleans JSON booleans, JSON columns the JSON value
//! itself, binary columns `\x` + lower-case hex (PostgreSQL's text form); everything else is the
//! string or integer both backends already agree on (UUIDs hyphenated, dates `YYYY-MM-DD`).
//!
//! On PostgreSQL a dump reads and loads as the connecting (owner/admin) user, never as
//! `jarvis_app`, and with `row_security = off`: a role that row-level security would filter gets
//! an error instead of a silently partial copy. Use a superuser or a `BYPASSRLS` role.

use crate::{Backend, StoreError, StoreResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AssertSqlSafe;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use time::OffsetDateTime;
use time::macros::format_description;

/// How a column's values are represented in a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Text, UUID, date or integer: the value both backends already agree on.
    Plain,
    /// `timestamptz` on PostgreSQL, text on SQLite.
    Time,
    /// `boolean` on PostgreSQL, 0/1 on SQLite.
    Bool,
    /// `jsonb` on PostgreSQL, JSON text on SQLite.
    Json,
    /// `bytea` on PostgreSQL, BLOB on SQLite.
    Bytes,
    /// `double precision` on PostgreSQL, REAL on SQLite: always written as a JSON float, so
    /// `1` read from one backend and `1.0` from the other compare equal.
    Float,
}

/// Tables the migrations themselves fill (reference data: model prices, platform settings). A
/// freshly migrated database has rows there and counts as empty; a load replaces them. A test
/// checks this list against a fresh database on both backends.
pub const SEEDED_TABLES: &[&str] = &["model_prices", "platform_settings"];

/// Timestamp columns whose names do not end in `_at`.
const TIME_COLUMNS: &[&str] = &[
    "at",
    "effective_from",
    "last_failure",
    "locked_until",
    "run_after",
    "window_start",
];
const BOOL_COLUMNS: &[&str] = &[
    "cancellation_intent",
    "demo",
    "consent_transcripts",
    "consent_voice",
    "dry_run",
    "enabled",
    "follow_up",
    "hard_stop",
    "passed",
    "recurring",
    "redacted",
    "skip_bad_rows",
];
const JSON_COLUMNS: &[&str] = &[
    "arguments",
    "checks",
    "custom",
    "details",
    "enum_values",
    "factors",
    "goals",
    "member_fields",
    "parameters",
    "payload",
    "report",
    "result",
    "settings",
    "tool_calls",
    "topics",
    "transcript",
    "upload_meta",
    "usage",
];
const BYTES_COLUMNS: &[&str] = &["embedding", "upload"];
const FLOAT_COLUMNS: &[&str] = &["sentiment_score", "metric_value", "sentiment_sum"];

/// The kind of a column, by the schema's naming convention (SQLite declares nearly every column
/// TEXT, so the names carry the type). A test compares this with PostgreSQL's column types, so
/// a new column that breaks the convention fails there, not in an operator's restore.
pub fn column_kind(column: &str) -> ColumnKind {
    if column.ends_with("_at") || TIME_COLUMNS.contains(&column) {
        ColumnKind::Time
    } else if BOOL_COLUMNS.contains(&column) {
        ColumnKind::Bool
    } else if JSON_COLUMNS.contains(&column) {
        ColumnKind::Json
    } else if BYTES_COLUMNS.contains(&column) {
        ColumnKind::Bytes
    } else if FLOAT_COLUMNS.contains(&column) {
        ColumnKind::Float
    } else {
        ColumnKind::Plain
    }
}

/// One column of a dumped table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// How its values are represented.
    pub kind: ColumnKind,
}

/// One table, its columns in the database's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableInfo {
    /// Table name.
    pub name: String,
    /// Its columns.
    pub columns: Vec<ColumnInfo>,
}

/// A row: one portable value per column of its [`TableInfo`], in that order.
pub type DumpRow = Vec<Value>;

/// Opaque position after the last row of a page, for the next one.
#[derive(Debug, Clone)]
pub struct PageCursor(Value);

/// Reads and loads whole databases (see the module documentation).
#[async_trait::async_trait]
pub trait Dump: Send + Sync {
    /// Begins a consistent read of the whole database (one snapshot transaction).
    async fn dump_reader(&self) -> StoreResult<Box<dyn DumpReader>>;
    /// Begins a load into this database: one transaction for every table, committed by
    /// [`DumpLoader::commit`], rolled back when dropped.
    async fn dump_loader(&self) -> StoreResult<Box<dyn DumpLoader>>;
    /// Writes a consistent copy of the database file to `path` while writes continue (SQLite's
    /// `VACUUM INTO`); PostgreSQL answers `Config` (use a [`DumpReader`]).
    async fn snapshot_into(&self, path: &Path) -> StoreResult<()>;
}

/// A consistent read of every table.
#[async_trait::async_trait]
pub trait DumpReader: Send {
    /// The backend read.
    fn backend(&self) -> Backend;
    /// The highest applied migration.
    async fn schema_version(&mut self) -> StoreResult<i64>;
    /// Every table but `_sqlx_migrations`, referenced tables before the tables referencing them.
    async fn tables(&mut self) -> StoreResult<Vec<TableInfo>>;
    /// Up to `limit` rows of `table` after `after` (keyset paging: memory does not grow with the
    /// table), and the cursor of the last one.
    async fn page(
        &mut self,
        table: &TableInfo,
        after: Option<&PageCursor>,
        limit: u32,
    ) -> StoreResult<(Vec<DumpRow>, Option<PageCursor>)>;
    /// Ends the read.
    async fn finish(self: Box<Self>) -> StoreResult<()>;
}

/// A load of rows into every table, in one transaction.
#[async_trait::async_trait]
pub trait DumpLoader: Send {
    /// The highest applied migration of the target.
    async fn schema_version(&mut self) -> StoreResult<i64>;
    /// The target's tables, in foreign-key order.
    async fn tables(&mut self) -> StoreResult<Vec<TableInfo>>;
    /// Rows in a table.
    async fn count(&mut self, table: &str) -> StoreResult<u64>;
    /// Deletes every row of these tables (given in foreign-key order; deleted in reverse).
    async fn clear(&mut self, tables: &[TableInfo]) -> StoreResult<()>;
    /// Inserts rows (values in the order of `table.columns`).
    async fn insert(&mut self, table: &TableInfo, rows: &[DumpRow]) -> StoreResult<()>;
    /// Commits the load.
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// Rollup tables that their sources' triggers fill (migration 0030), with those sources. A load
/// puts each after its sources and empties it before its own rows, so a restore ends with the
/// exported history, not that plus what the triggers added while the sources were loaded.
pub const TRIGGER_ROLLUPS: &[(&str, &[&str])] = &[
    ("session_daily", &["voice_sessions", "session_analyses"]),
    ("topic_daily", &["voice_sessions", "session_analyses"]),
    (
        "latency_daily",
        &["conversation_turns", "voice_heard_latency"],
    ),
    ("member_last_call", &["voice_sessions"]),
];

/// Orders tables so that every referenced table comes before the tables referencing it, and
/// each trigger rollup after its sources (ties by name, so the order is the same on both
/// backends). A cycle is an error.
pub(crate) fn fk_order(
    tables: Vec<TableInfo>,
    refs: &[(String, String)],
) -> StoreResult<Vec<TableInfo>> {
    let names: BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let mut deps: BTreeMap<&str, BTreeSet<&str>> =
        names.iter().map(|n| (*n, BTreeSet::new())).collect();
    let rollups = TRIGGER_ROLLUPS
        .iter()
        .flat_map(|(t, sources)| sources.iter().map(move |s| (*t, *s)));
    let refs = refs.iter().map(|(f, t)| (f.as_str(), t.as_str()));
    for (from, to) in refs.chain(rollups) {
        if from != to
            && let Some(to) = names.get(to).copied()
            && let Some(d) = deps.get_mut(from)
        {
            d.insert(to);
        }
    }
    let mut done: Vec<String> = Vec::new();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    while placed.len() < names.len() {
        let ready: Vec<&str> = deps
            .iter()
            .filter(|(n, d)| !placed.contains(*n) && d.iter().all(|x| placed.contains(x)))
            .map(|(n, _)| *n)
            .collect();
        if ready.is_empty() {
            return Err(StoreError::Internal(
                "foreign keys form a cycle: no load order".into(),
            ));
        }
        for n in ready {
            placed.insert(n);
            done.push(n.to_string());
        }
    }
    let mut by_name: BTreeMap<String, TableInfo> =
        tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    Ok(done
        .into_iter()
        .filter_map(|n| by_name.remove(&n))
        .collect())
}

/// The portable text of a timestamp.
pub fn time_text(t: OffsetDateTime) -> StoreResult<String> {
    crate::dbtime::exact(t)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .map_err(|e| StoreError::Internal(format!("cannot format a timestamp: {e}")))
}

/// Parses an RFC 3339 timestamp (any offset, any fraction) into its portable text.
pub(crate) fn canonical_time(text: &str) -> StoreResult<String> {
    let t = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| StoreError::corrupt("timestamp", text))?;
    time_text(t)
}

/// `\x` + lower-case hex.
pub(crate) fn bytes_text(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("\\x");
    for byte in b {
        let _ = write!(s, "{byte:02x}");
    }
    s
}

/// The bytes of a `\x…` hex string.
pub(crate) fn bytes_of(text: &str) -> StoreResult<Vec<u8>> {
    let hex = text
        .strip_prefix("\\x")
        .ok_or_else(|| StoreError::corrupt("binary value", "(not \\x hex)"))?;
    if !hex.len().is_multiple_of(2) {
        return Err(StoreError::corrupt("binary value", "(odd hex length)"));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| StoreError::corrupt("binary value", "(not hex)"))
        })
        .collect()
}

/// Writes `v` as JSON with object keys sorted (the form checksums are computed over, whatever
/// order a backend or a serializer keeps keys in).
pub fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = m.get(k) {
                    canonical_json(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Turns a value read from PostgreSQL's `row_to_json` into its portable form.
pub(crate) fn portable_from_pg(kind: ColumnKind, v: Value) -> StoreResult<Value> {
    Ok(match (kind, v) {
        (_, Value::Null) => Value::Null,
        (ColumnKind::Time, Value::String(s)) => Value::String(canonical_time(&s)?),
        (ColumnKind::Float, Value::Number(n)) => float(&n),
        (_, v) => v,
    })
}

/// A number as a JSON float (the portable form of [`ColumnKind::Float`]).
fn float(n: &serde_json::Number) -> Value {
    n.as_f64().map_or(Value::Null, Value::from)
}

/// The PostgreSQL-side representation is already portable but for timestamps; loads go through
/// `json_populate_recordset`, which reads the portable forms directly.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn db_err(e: sqlx::Error) -> StoreError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        other => StoreError::Internal(other.to_string()),
    }
}

fn column_list(t: &TableInfo) -> String {
    t.columns
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn table_infos(columns: Vec<(String, String)>, names: &[String]) -> Vec<TableInfo> {
    let mut by_table: BTreeMap<String, Vec<ColumnInfo>> =
        names.iter().map(|n| (n.clone(), Vec::new())).collect();
    for (t, c) in columns {
        if let Some(v) = by_table.get_mut(&t) {
            v.push(ColumnInfo {
                kind: column_kind(&c),
                name: c,
            });
        }
    }
    by_table
        .into_iter()
        .map(|(name, columns)| TableInfo { name, columns })
        .collect()
}

mod sqlite_impl {
    use super::*;
    use crate::SqliteStore;
    use sqlx::{Row, TypeInfo, ValueRef};

    type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

    #[async_trait::async_trait]
    impl Dump for SqliteStore {
        async fn dump_reader(&self) -> StoreResult<Box<dyn DumpReader>> {
            let tx = self.pool().begin().await.map_err(db_err)?;
            Ok(Box::new(SqliteDump { tx }))
        }

        async fn dump_loader(&self) -> StoreResult<Box<dyn DumpLoader>> {
            let tx = self
                .pool()
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(db_err)?;
            Ok(Box::new(SqliteDump { tx }))
        }

        async fn snapshot_into(&self, path: &Path) -> StoreResult<()> {
            let target = path.to_str().ok_or_else(|| {
                StoreError::Config(format!("snapshot path {} is not UTF-8", path.display()))
            })?;
            sqlx::query("VACUUM INTO ?")
                .bind(target)
                .execute(self.pool())
                .await
                .map_err(db_err)?;
            Ok(())
        }
    }

    struct SqliteDump {
        tx: Tx,
    }

    async fn schema_version(tx: &mut Tx) -> StoreResult<i64> {
        sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success = TRUE",
        )
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)
    }

    async fn tables(tx: &mut Tx) -> StoreResult<Vec<TableInfo>> {
        let names: Vec<String> = sqlx::query_scalar(
            // Virtual tables (the knowledge FTS5 index) and their shadow tables are derived:
            // triggers rebuild them as the rows they index are loaded. `rollups_paused` never
            // holds a committed row (and PostgreSQL has no such table).
            "SELECT name FROM sqlite_master m WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> '_sqlx_migrations' AND name <> 'rollups_paused' \
             AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' \
             AND NOT EXISTS (SELECT 1 FROM sqlite_master v WHERE v.type = 'table' \
                 AND v.sql LIKE 'CREATE VIRTUAL TABLE%' AND m.name LIKE v.name || '\\_%' ESCAPE '\\') \
             ORDER BY name",
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' ORDER BY m.name, p.cid",
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
        let refs: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.name, f.\"table\" FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
             WHERE m.type = 'table'",
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
        fk_order(table_infos(columns, &names), &refs)
    }

    fn cell(
        row: &sqlx::sqlite::SqliteRow,
        i: usize,
        col: &ColumnInfo,
        table: &str,
    ) -> StoreResult<Value> {
        let bad =
            |e: sqlx::Error| StoreError::Internal(format!("cannot read {table}.{}: {e}", col.name));
        let raw = row.try_get_raw(i).map_err(bad)?;
        if raw.is_null() {
            return Ok(Value::Null);
        }
        let class = raw.type_info().name().to_string();
        Ok(match (col.kind, class.as_str()) {
            (ColumnKind::Time, "TEXT") => {
                let s: String = row.try_get(i).map_err(bad)?;
                match canonical_time(&s) {
                    Ok(t) => Value::String(t),
                    Err(_) => {
                        let t: OffsetDateTime = row.try_get(i).map_err(bad)?;
                        Value::String(time_text(t)?)
                    }
                }
            }
            (ColumnKind::Float, "INTEGER") => {
                Value::from(row.try_get::<i64, _>(i).map_err(bad)? as f64)
            }
            (ColumnKind::Bool, "INTEGER") => {
                Value::Bool(row.try_get::<i64, _>(i).map_err(bad)? != 0)
            }
            (ColumnKind::Json, "TEXT") => {
                let s: String = row.try_get(i).map_err(bad)?;
                serde_json::from_str(&s).map_err(|_| {
                    StoreError::corrupt(&format!("JSON in {table}.{}", col.name), &s)
                })?
            }
            (_, "INTEGER") => Value::from(row.try_get::<i64, _>(i).map_err(bad)?),
            (_, "REAL") => Value::from(row.try_get::<f64, _>(i).map_err(bad)?),
            (_, "BLOB") => Value::String(bytes_text(&row.try_get::<Vec<u8>, _>(i).map_err(bad)?)),
            _ => Value::String(row.try_get::<String, _>(i).map_err(bad)?),
        })
    }

    #[async_trait::async_trait]
    impl DumpReader for SqliteDump {
        fn backend(&self) -> Backend {
            Backend::Sqlite
        }

        async fn schema_version(&mut self) -> StoreResult<i64> {
            schema_version(&mut self.tx).await
        }

        async fn tables(&mut self) -> StoreResult<Vec<TableInfo>> {
            tables(&mut self.tx).await
        }

        async fn page(
            &mut self,
            table: &TableInfo,
            after: Option<&PageCursor>,
            limit: u32,
        ) -> StoreResult<(Vec<DumpRow>, Option<PageCursor>)> {
            // Keyset paging on the rowid: every table here is a rowid table.
            let sql = format!(
                "SELECT rowid, {} FROM {} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                column_list(table),
                quote_ident(&table.name)
            );
            let from = after.and_then(|c| c.0.as_i64()).unwrap_or(i64::MIN);
            let rows = sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(from)
                .bind(i64::from(limit))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(db_err)?;
            let mut out = Vec::with_capacity(rows.len());
            let mut last = None;
            for row in &rows {
                let rowid: i64 = row.try_get(0).map_err(db_err)?;
                last = Some(PageCursor(Value::from(rowid)));
                let mut values = Vec::with_capacity(table.columns.len());
                for (i, col) in table.columns.iter().enumerate() {
                    values.push(cell(row, i + 1, col, &table.name)?);
                }
                out.push(values);
            }
            Ok((out, last))
        }

        async fn finish(self: Box<Self>) -> StoreResult<()> {
            self.tx.rollback().await.map_err(db_err)
        }
    }

    #[async_trait::async_trait]
    impl DumpLoader for SqliteDump {
        async fn schema_version(&mut self) -> StoreResult<i64> {
            schema_version(&mut self.tx).await
        }

        async fn tables(&mut self) -> StoreResult<Vec<TableInfo>> {
            tables(&mut self.tx).await
        }

        async fn count(&mut self, table: &str) -> StoreResult<u64> {
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {}",
                quote_ident(table)
            )))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_err)?;
            Ok(n.max(0) as u64)
        }

        async fn clear(&mut self, tables: &[TableInfo]) -> StoreResult<()> {
            for t in tables.iter().rev() {
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {}",
                    quote_ident(&t.name)
                )))
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
            }
            Ok(())
        }

        async fn insert(&mut self, table: &TableInfo, rows: &[DumpRow]) -> StoreResult<()> {
            let marks = vec!["?"; table.columns.len()].join(", ");
            let sql = format!(
                "INSERT INTO {} ({}) VALUES ({marks})",
                quote_ident(&table.name),
                column_list(table)
            );
            for row in rows {
                let mut q = sqlx::query(AssertSqlSafe(sql.clone()));
                for (col, v) in table.columns.iter().zip(row) {
                    q = match (col.kind, v) {
                        (_, Value::Null) => q.bind(None::<String>),
                        (ColumnKind::Time, Value::String(s)) => q.bind(canonical_time(s)?),
                        (ColumnKind::Bytes, Value::String(s)) => q.bind(bytes_of(s)?),
                        (ColumnKind::Json, v) => q.bind(v.to_string()),
                        (ColumnKind::Float, Value::Number(n)) => {
                            q.bind(n.as_f64().unwrap_or_default())
                        }
                        (_, Value::Bool(b)) => q.bind(*b),
                        (_, Value::Number(n)) => match n.as_i64() {
                            Some(i) => q.bind(i),
                            None => q.bind(n.as_f64().unwrap_or_default()),
                        },
                        (_, Value::String(s)) => q.bind(s.clone()),
                        (_, other) => q.bind(other.to_string()),
                    };
                }
                q.execute(&mut *self.tx)
                    .await
                    .map_err(|e| StoreError::Invalid {
                        field: "import",
                        message: format!("cannot insert into {}: {e}", table.name),
                    })?;
            }
            Ok(())
        }

        async fn commit(self: Box<Self>) -> StoreResult<()> {
            self.tx.commit().await.map_err(db_err)
        }
    }
}

mod pg_impl {
    use super::*;
    use crate::PgStore;

    type Tx = sqlx::Transaction<'static, sqlx::Postgres>;

    #[async_trait::async_trait]
    impl Dump for PgStore {
        async fn dump_reader(&self) -> StoreResult<Box<dyn DumpReader>> {
            let mut tx = self
                .pool()
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .await
                .map_err(db_err)?;
            owner_session(&mut tx).await?;
            Ok(Box::new(PgDump {
                tx,
                keys: BTreeMap::new(),
            }))
        }

        async fn dump_loader(&self) -> StoreResult<Box<dyn DumpLoader>> {
            let mut tx = self.pool().begin().await.map_err(db_err)?;
            owner_session(&mut tx).await?;
            Ok(Box::new(PgDump {
                tx,
                keys: BTreeMap::new(),
            }))
        }

        async fn snapshot_into(&self, _path: &Path) -> StoreResult<()> {
            Err(StoreError::Config(
                "file snapshots are a SQLite feature; PostgreSQL is exported logically".into(),
            ))
        }
    }

    /// Reads and writes as the connecting user, with row-level security turned off: a role
    /// the policies would filter fails here instead of copying a part of the data.
    async fn owner_session(tx: &mut Tx) -> StoreResult<()> {
        sqlx::query("SET LOCAL row_security = off")
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        sqlx::query("SET LOCAL TIME ZONE 'UTC'")
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    struct PgDump {
        tx: Tx,
        /// Primary-key columns per table (keyset paging).
        keys: BTreeMap<String, Vec<String>>,
    }

    async fn schema_version(tx: &mut Tx) -> StoreResult<i64> {
        sqlx::query_scalar(
            "SELECT COALESCE(MAX(version), 0)::bigint FROM _sqlx_migrations WHERE success",
        )
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)
    }

    async fn tables(tx: &mut Tx) -> StoreResult<Vec<TableInfo>> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' ORDER BY 1",
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position",
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
        let refs: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.relname::text, r.relname::text FROM pg_constraint k \
             JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid \
             WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace",
        )
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
        fk_order(table_infos(columns, &names), &refs)
    }

    impl PgDump {
        async fn key_of(&mut self, table: &str) -> StoreResult<Vec<String>> {
            if let Some(k) = self.keys.get(table) {
                return Ok(k.clone());
            }
            let key: Vec<String> = sqlx::query_scalar(
                "SELECT a.attname::text FROM pg_index i \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) \
                 WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass \
                 AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
            )
            .bind(table)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(db_err)?;
            if key.is_empty() {
                return Err(StoreError::Internal(format!(
                    "table {table} has no primary key: cannot page through it"
                )));
            }
            self.keys.insert(table.to_string(), key.clone());
            Ok(key)
        }
    }

    #[async_trait::async_trait]
    impl DumpReader for PgDump {
        fn backend(&self) -> Backend {
            Backend::Postgres
        }

        async fn schema_version(&mut self) -> StoreResult<i64> {
            schema_version(&mut self.tx).await
        }

        async fn tables(&mut self) -> StoreResult<Vec<TableInfo>> {
            tables(&mut self.tx).await
        }

        async fn page(
            &mut self,
            table: &TableInfo,
            after: Option<&PageCursor>,
            limit: u32,
        ) -> StoreResult<(Vec<DumpRow>, Option<PageCursor>)> {
            let key = self.key_of(&table.name).await?;
            let key_list = key
                .iter()
                .map(|k| quote_ident(k))
                .collect::<Vec<_>>()
                .join(", ");
            let name = quote_ident(&table.name);
            // The cursor is the last row as PostgreSQL wrote it; json_populate_record turns its
            // key back into typed values, so the comparison is the index's own order.
            let filter = if after.is_some() {
                format!(
                    "WHERE ({key_list}) > (SELECT {key_list} FROM json_populate_record(NULL::{name}, $1::json))"
                )
            } else {
                "WHERE $1::json IS NOT NULL OR TRUE".to_string()
            };
            let sql = format!(
                "SELECT row_to_json(t)::text FROM (SELECT {} FROM {name} {filter} \
                 ORDER BY {key_list} LIMIT $2) t",
                column_list(table)
            );
            let cursor = after
                .map(|c| c.0.to_string())
                .unwrap_or_else(|| "{}".into());
            let rows: Vec<String> = sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(cursor)
                .bind(i64::from(limit))
                .fetch_all(&mut *self.tx)
                .await
                .map_err(db_err)?;
            let mut out = Vec::with_capacity(rows.len());
            let mut last = None;
            for text in rows {
                let mut obj: serde_json::Map<String, Value> = serde_json::from_str(&text)
                    .map_err(|e| StoreError::Internal(format!("row_to_json: {e}")))?;
                let mut values = Vec::with_capacity(table.columns.len());
                let mut cursor = serde_json::Map::new();
                for col in &table.columns {
                    let v = obj.remove(&col.name).unwrap_or(Value::Null);
                    if key.contains(&col.name) {
                        cursor.insert(col.name.clone(), v.clone());
                    }
                    values.push(portable_from_pg(col.kind, v)?);
                }
                last = Some(PageCursor(Value::Object(cursor)));
                out.push(values);
            }
            Ok((out, last))
        }

        async fn finish(self: Box<Self>) -> StoreResult<()> {
            self.tx.rollback().await.map_err(db_err)
        }
    }

    #[async_trait::async_trait]
    impl DumpLoader for PgDump {
        async fn schema_version(&mut self) -> StoreResult<i64> {
            schema_version(&mut self.tx).await
        }

        async fn tables(&mut self) -> StoreResult<Vec<TableInfo>> {
            tables(&mut self.tx).await
        }

        async fn count(&mut self, table: &str) -> StoreResult<u64> {
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM {}",
                quote_ident(table)
            )))
            .fetch_one(&mut *self.tx)
            .await
            .map_err(db_err)?;
            Ok(n.max(0) as u64)
        }

        async fn clear(&mut self, tables: &[TableInfo]) -> StoreResult<()> {
            for t in tables.iter().rev() {
                sqlx::query(AssertSqlSafe(format!(
                    "DELETE FROM {}",
                    quote_ident(&t.name)
                )))
                .execute(&mut *self.tx)
                .await
                .map_err(db_err)?;
            }
            Ok(())
        }

        async fn insert(&mut self, table: &TableInfo, rows: &[DumpRow]) -> StoreResult<()> {
            if rows.is_empty() {
                return Ok(());
            }
            let mut records = Vec::with_capacity(rows.len());
            for row in rows {
                let mut obj = serde_json::Map::new();
                for (col, v) in table.columns.iter().zip(row) {
                    let v = match (col.kind, v) {
                        (ColumnKind::Time, Value::String(s)) => Value::String(canonical_time(s)?),
                        (_, v) => v.clone(),
                    };
                    obj.insert(col.name.clone(), v);
                }
                records.push(Value::Object(obj));
            }
            let name = quote_ident(&table.name);
            let cols = column_list(table);
            let sql = format!(
                "INSERT INTO {name} ({cols}) SELECT {cols} FROM json_populate_recordset(NULL::{name}, $1::json)"
            );
            sqlx::query(AssertSqlSafe(sql.clone()))
                .bind(Value::Array(records).to_string())
                .execute(&mut *self.tx)
                .await
                .map_err(|e| StoreError::Invalid {
                    field: "import",
                    message: format!("cannot insert into {}: {e}", table.name),
                })?;
            Ok(())
        }

        async fn commit(self: Box<Self>) -> StoreResult<()> {
            self.tx.commit().await.map_err(db_err)
        }
    }
}
