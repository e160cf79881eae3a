//! Test helpers: a fresh SQLite file or a fresh PostgreSQL database per test, removed afterwards.
//!
//! PostgreSQL tests need a server (default `postgres://postgres@127.0.0.1:5432/postgres`, or
//! `JARVIS_TEST_PG_ADMIN_URL`). When it is unreachable they fail, never pass silently: every test
//! that needs PostgreSQL has `postgres` in its path (checked here), so `scripts/test-all.sh`
//! leaves them out with a nextest filter when no server runs locally and nextest counts them as
//! skipped. In CI they always run.

use crate::{ConnectOptions, PgStore, SqliteStore, Store, StoreResult};
use std::sync::Arc;

/// Default admin URL of the local test server.
pub const DEFAULT_PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A migrated, empty database that disappears when dropped.
pub struct TestDb {
    url: String,
    store: Arc<dyn Store>,
    sqlite: Option<SqliteStore>,
    pg: Option<PgStore>,
    pg_cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

/// Whether the environment demands every backend (CI).
pub fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

impl TestDb {
    /// A fresh SQLite file in a temporary directory, migrated.
    pub async fn sqlite() -> StoreResult<TestDb> {
        let dir = tempfile::tempdir().map_err(|e| crate::StoreError::Config(e.to_string()))?;
        let url = format!("sqlite://{}", dir.path().join("jarvis-test.db").display());
        let store = SqliteStore::connect(&ConnectOptions::new(&url)).await?;
        store_migrate(&store).await?;
        Ok(TestDb {
            url,
            store: Arc::new(store.clone()),
            sqlite: Some(store),
            pg: None,
            pg_cleanup: None,
            _dir: Some(dir),
        })
    }

    /// A fresh PostgreSQL database, migrated. Never returns `None` (the `Option` stays so
    /// existing callers compile): panics when the server is unreachable, so an unreachable server
    /// is a failure, not a silent pass; and panics when the calling test's path lacks `postgres`
    /// (the name `scripts/test-all.sh` filters on).
    pub async fn postgres() -> Option<TestDb> {
        check_test_name();
        let admin_url = std::env::var("JARVIS_TEST_PG_ADMIN_URL")
            .unwrap_or_else(|_| DEFAULT_PG_ADMIN_URL.to_string());
        let admin = match sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(std::time::Duration::from_secs(3))
            .connect(&admin_url)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                let hint = if required() {
                    "PostgreSQL is required in CI"
                } else {
                    "start it, or run scripts/test-all.sh (which skips tests named `postgres` \
                     when no server runs locally)"
                };
                panic!("PostgreSQL test but no server at {admin_url}: {e}. {hint}");
            }
        };
        let name = format!("jarvis_test_{}", uuid::Uuid::new_v4().simple());
        if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
        {
            panic!("cannot create test database {name}: {e}");
        }
        admin.close().await;
        let url = match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{name}"),
            None => panic!("JARVIS_TEST_PG_ADMIN_URL must end with /<database>"),
        };
        let store = match PgStore::connect(&ConnectOptions::new(&url)).await {
            Ok(s) => s,
            Err(e) => panic!("cannot connect to fresh test database: {e}"),
        };
        if let Err(e) = store_migrate(&store).await {
            panic!("migrating the test database failed: {e}");
        }
        Some(TestDb {
            url,
            store: Arc::new(store.clone()),
            sqlite: None,
            pg: Some(store),
            pg_cleanup: Some((admin_url, name)),
            _dir: None,
        })
    }

    /// The store under test.
    pub fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// The store under test counting at most `cap` rows for the big lists' totals, so a test
    /// of the capped count needs a handful of rows.
    pub fn store_with_count_cap(&self, cap: u64) -> Arc<dyn Store> {
        match (&self.sqlite, &self.pg) {
            (Some(s), _) => Arc::new(s.clone().with_count_cap(cap)),
            (_, Some(p)) => Arc::new(p.clone().with_count_cap(cap)),
            _ => self.store.clone(),
        }
    }

    /// The database URL (to start a server on the same database).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The concrete PostgreSQL store, for row-level security tests.
    pub fn pg(&self) -> Option<&PgStore> {
        self.pg.as_ref()
    }

    /// Runs raw SQL statements with a connection that bypasses the application (and row-level
    /// security): tests back-date rows (`UPDATE member_visits SET at = …`) or insert fixtures no
    /// storage method writes with a chosen time.
    pub async fn exec(&self, sql: &str) -> StoreResult<()> {
        let err = |e: sqlx::Error| crate::StoreError::Internal(e.to_string());
        if self.pg.is_none() {
            let pool = sqlx::SqlitePool::connect(&self.url).await.map_err(err)?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&pool)
                .await
                .map_err(err)?;
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&self.url).await.map_err(err)?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&pool)
                .await
                .map_err(err)?;
            pool.close().await;
        }
        Ok(())
    }

    /// A timestamp as a SQL literal both backends read as that instant (UTC, microseconds).
    pub fn ts(t: time::OffsetDateTime) -> String {
        let t = crate::dbtime::exact(t);
        format!(
            "'{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z'",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        )
    }

    /// Every `table.column: marker` where some row's column, read as text, contains a marker.
    /// Reads every table with a raw connection that bypasses the application (and row-level
    /// security), so tests can prove a secret or an erased person's data is nowhere.
    pub async fn find_text(&self, markers: &[&str]) -> StoreResult<Vec<String>> {
        let schema = self.store.schema().await?;
        let err = |e: sqlx::Error| crate::StoreError::Internal(e.to_string());
        let mut hits = Vec::new();
        let sqlite = self.pg.is_none();
        let (lite, pg) = if sqlite {
            (
                Some(sqlx::SqlitePool::connect(&self.url).await.map_err(err)?),
                None,
            )
        } else {
            (
                None,
                Some(sqlx::PgPool::connect(&self.url).await.map_err(err)?),
            )
        };
        for (table, cols) in &schema {
            for col in cols {
                for mk in markers {
                    let n: i64 = if let Some(pool) = &lite {
                        let sql = format!(
                            "SELECT COUNT(*) FROM \"{table}\" WHERE instr(CAST(\"{col}\" AS TEXT), ?) > 0"
                        );
                        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                            .bind(*mk)
                            .fetch_one(pool)
                            .await
                            .map_err(err)?
                    } else if let Some(pool) = &pg {
                        let sql = format!(
                            "SELECT COUNT(*) FROM \"{table}\" WHERE strpos(CAST(\"{col}\" AS TEXT), $1) > 0"
                        );
                        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                            .bind(*mk)
                            .fetch_one(pool)
                            .await
                            .map_err(err)?
                    } else {
                        0
                    };
                    if n > 0 {
                        hits.push(format!("{table}.{col}: {mk}"));
                    }
                }
            }
        }
        if let Some(p) = lite {
            p.close().await;
        }
        if let Some(p) = pg {
            p.close().await;
        }
        Ok(hits)
    }
}

/// Panics unless the running test's path names `postgres`. libtest and nextest name the test
/// thread after the test path (`module::test`); tokio worker threads and `main` are not tests.
fn check_test_name() {
    let thread = std::thread::current();
    let Some(name) = thread.name() else {
        return;
    };
    if name == "main" || name.starts_with("tokio-") {
        return;
    }
    assert!(
        name.contains("postgres"),
        "test `{name}` uses PostgreSQL but `postgres` is not in its path: put it in a `postgres` \
         module or name it so, or scripts/test-all.sh cannot skip it when no server runs"
    );
}

async fn store_migrate(store: &dyn Store) -> StoreResult<()> {
    store.migrate().await.map(|_| ())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg_cleanup.take() else {
            return;
        };
        // Drop runs on the test's runtime thread, which is blocked while we join, so nothing here
        // may wait on that runtime (closing the pool would: rollbacks of dropped transactions run
        // there). `WITH (FORCE)` ends the pool's sessions from the server side instead.
        let handle = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(admin) = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&admin_url)
                    .await
                {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await {
                        eprintln!("warning: could not drop test database {name}: {e}");
                    }
                    admin.close().await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// Fixture: a franchise (named `name` plus a unique suffix) with one active gym `gym_name` (UTC,
/// French, default settings); returns the gym and the gym's scope. Panics on failure: it only
/// builds test fixtures.
pub async fn active_gym(
    store: &dyn Store,
    name: &str,
    gym_name: &str,
) -> (jarvis_core::model::Gym, jarvis_core::Scope) {
    match try_active_gym(store, name, gym_name).await {
        Ok(v) => v,
        Err(e) => panic!("fixture gym {gym_name}: {e}"),
    }
}

async fn try_active_gym(
    store: &dyn Store,
    name: &str,
    gym_name: &str,
) -> StoreResult<(jarvis_core::model::Gym, jarvis_core::Scope)> {
    use jarvis_core::Scope;
    use jarvis_core::model::*;
    let actor = Actor::cli();
    let franchise = store
        .create_franchise(
            &Scope::Platform,
            &actor,
            NewFranchise {
                name: format!("{name} {}", uuid::Uuid::now_v7()),
            },
        )
        .await?;
    let gym = store
        .create_gym(
            &Scope::Platform,
            &actor,
            NewGym {
                franchise_id: franchise.id,
                name: gym_name.into(),
                address: None,
                timezone: "UTC".into(),
                locale: Locale::Fr,
                settings: serde_json::json!({}),
            }
            .validate()
            .map_err(|e| crate::StoreError::Internal(e.to_string()))?,
            GymStatus::Active,
        )
        .await?;
    let scope = Scope::Gym {
        franchise: franchise.id,
        gym: gym.id,
    };
    Ok((gym, scope))
}

/// Fixture: an active member `badge` (Camille Martin, French, consenting to voice and
/// transcripts), ready for `create_member`.
pub fn new_member(badge: &str) -> jarvis_core::model::NewMember {
    use jarvis_core::model::*;
    NewMember {
        badge_id: badge.into(),
        first_name: "Camille".into(),
        last_name: "Martin".into(),
        email: None,
        phone: None,
        birth_date: None,
        preferred_language: Locale::Fr,
        membership_type: "standard".into(),
        membership_status: MembershipStatus::Active,
        membership_end_date: None,
        goals: vec![],
        limitations: None,
        consent_voice: true,
        consent_transcripts: true,
    }
}
