//! PostgreSQL only: migrations are safe when several databases of one cluster (and two stores
//! on one database) migrate at once on a cluster where JARVIS never ran. The cluster-wide role
//! `jarvis_app` is what they race for, so this runs on a throwaway cluster of its own (never the
//! shared one, whose role other tests' databases depend on), dropped afterwards even on failure.
//!
//! Needs `pg_createcluster` (Debian's postgresql-common) and root: without them the test is
//! skipped loudly, and fails when `CI` is set.

use jarvis_store::testing::required;
use jarvis_store::{ConnectOptions, Maintenance, PgStore};
use std::process::Command;
use std::sync::Arc;

/// A PostgreSQL cluster of its own, stopped and deleted on drop.
struct Cluster {
    version: String,
    name: String,
    port: u16,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let out = Command::new("pg_dropcluster")
            .args(["--stop", &self.version, &self.name])
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: pg_dropcluster {} {}: {}",
                self.version,
                self.name,
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("warning: pg_dropcluster: {e}"),
        }
    }
}

fn unavailable(why: &str) -> Option<Cluster> {
    if required() {
        panic!("the fresh-cluster migration test is required in CI: {why}");
    }
    eprintln!("\n*** SKIPPED fresh-cluster migration test: {why} ***\n");
    None
}

fn run(cmd: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd} {}: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Creates and starts a trust-auth cluster on a free port, or says why it cannot.
fn new_cluster() -> Option<Cluster> {
    if Command::new("pg_createcluster")
        .arg("--help")
        .output()
        .is_err()
    {
        return unavailable("pg_createcluster is not installed (package postgresql-common)");
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if uid != "0" {
        return unavailable("pg_createcluster needs root");
    }
    let version = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|v| v.parse::<u32>().ok())
        .max()?
        .to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let name = format!(
        "jarvis_race_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let port_s = port.to_string();
    if let Err(e) = run(
        "pg_createcluster",
        &[&version, &name, "-p", &port_s, "--", "--auth=trust"],
    ) {
        // A half-made cluster is still removed by the guard.
        drop(Cluster {
            version,
            name,
            port,
        });
        panic!("cannot create a throwaway cluster: {e}");
    }
    let cluster = Cluster {
        version,
        name,
        port,
    };
    if let Err(e) = run("pg_ctlcluster", &[&cluster.version, &cluster.name, "start"]) {
        panic!("cannot start the throwaway cluster: {e}");
    }
    Some(cluster)
}

async fn admin(port: u16) -> sqlx::PgPool {
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let mut last = String::new();
    for _ in 0..50 {
        match sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
        {
            Ok(p) => return p,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("the throwaway cluster does not answer: {last}");
}

async fn exec(pool: &sqlx::PgPool, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

mod postgres {
    use super::*;

    /// Several fresh databases migrate at once after the role is dropped, twice on one database
    /// among them; every one succeeds and the role exists once, granted once. Several rounds,
    /// because one round may happen not to interleave.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn fresh_cluster_migrates_many_databases_at_once() {
        let Some(cluster) = new_cluster() else {
            return;
        };
        let admin = admin(cluster.port).await;
        const DBS: usize = 6;
        let mut failures = Vec::new();
        for round in 0..2 {
            for i in 0..DBS {
                exec(
                    &admin,
                    format!("DROP DATABASE IF EXISTS race_{i} WITH (FORCE)"),
                )
                .await;
            }
            // What a cluster where JARVIS never ran looks like.
            exec(&admin, "DROP ROLE IF EXISTS jarvis_app".into()).await;
            for i in 0..DBS {
                exec(&admin, format!("CREATE DATABASE race_{i}")).await;
            }
            // Every store connects first, then all migrate at the same instant; the first
            // database gets a second store migrating it at once too.
            let mut stores = Vec::new();
            for i in (0..DBS).chain([0]) {
                let url = format!("postgres://postgres@127.0.0.1:{}/race_{i}", cluster.port);
                stores.push((
                    i,
                    PgStore::connect(&ConnectOptions::new(&url)).await.unwrap(),
                ));
            }
            let barrier = Arc::new(tokio::sync::Barrier::new(stores.len()));
            let mut tasks = Vec::new();
            for (i, store) in stores {
                let barrier = barrier.clone();
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    let r = store.migrate().await;
                    let pending = store
                        .migrations()
                        .await
                        .map(|ms| ms.iter().filter(|m| !m.applied).count());
                    store.close().await;
                    (i, r.map(|_| ()), pending)
                }));
            }
            for t in tasks {
                let (i, r, pending) = t.await.unwrap();
                if let Err(e) = r {
                    failures.push(format!("round {round}, race_{i}: {e}"));
                } else if !matches!(pending, Ok(0)) {
                    failures.push(format!("round {round}, race_{i}: pending {pending:?}"));
                }
            }
            let (roles, grants): (i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = 'jarvis_app'), \
                        (SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid \
                         WHERE r.rolname = 'jarvis_app' AND m.member = 'postgres'::regrole)",
            )
            .fetch_one(&admin)
            .await
            .unwrap();
            assert_eq!(
                (roles, grants),
                (1, 1),
                "round {round}: one role, granted once"
            );
        }
        admin.close().await;
        assert!(
            failures.is_empty(),
            "concurrent migrations failed:\n{}",
            failures.join("\n")
        );
        drop(cluster);
    }
}
