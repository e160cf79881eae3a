//! `kill -9` during a busy write load on SQLite: a child process (this test binary, re-run on
//! one test) commits franchises from several tasks and prints each id once its transaction
//! committed; the parent kills it with SIGKILL mid-load, reopens the file and checks
//! `PRAGMA integrity_check` and that every id reported committed is there.

use jarvis_core::Scope;
use jarvis_core::model::{Actor, NewFranchise};
use jarvis_store::*;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "JARVIS_TEST_CRASH_WRITER_DB";

/// The child's work; a no-op in a normal test run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_writer_child() {
    let Ok(url) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = std::sync::Arc::new(
        SqliteStore::connect(&ConnectOptions::new(&url))
            .await
            .unwrap(),
    );
    let mut tasks = Vec::new();
    for task in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let f = store
                    .create_franchise(
                        &Scope::Platform,
                        &Actor::cli(),
                        NewFranchise {
                            name: format!("crash {task}-{n}"),
                        },
                    )
                    .await
                    .unwrap();
                let mut out = std::io::stdout().lock();
                writeln!(out, "committed {}", f.id).unwrap();
                out.flush().unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::test]
async fn kill_9_during_writes_loses_no_committed_write() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let store = SqliteStore::connect(&ConnectOptions::new(&url))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.close().await;

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash::crash_writer_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(id) = line.strip_prefix("committed ") {
                let _ = tx.send(id.to_string());
            }
        }
    });
    let mut committed = BTreeSet::new();
    let start = Instant::now();
    while committed.len() < 400 || start.elapsed() < Duration::from_millis(1500) {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(id) => {
                committed.insert(id);
            }
            Err(e) => panic!("the writer stopped reporting: {e}"),
        }
    }
    // SIGKILL mid-load: no destructor, no checkpoint, transactions in flight.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());
    reader.join().unwrap();
    // Ids printed between our last read and the kill are committed too.
    while let Ok(id) = rx.try_recv() {
        committed.insert(id);
    }

    let store = SqliteStore::connect(&ConnectOptions::new(&url))
        .await
        .unwrap();
    let check: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(check, ["ok"]);
    let fk: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert!(fk.is_empty(), "{fk:?}");
    let present: BTreeSet<String> = sqlx::query_scalar("SELECT id FROM franchises")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .into_iter()
        .collect();
    let missing: Vec<&String> = committed.difference(&present).collect();
    assert!(
        missing.is_empty(),
        "{} of {} committed writes lost: {missing:?}",
        missing.len(),
        committed.len()
    );
    // Every franchise has the audit row written in its transaction: no torn transaction.
    let audited: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM franchises f WHERE NOT EXISTS \
         (SELECT 1 FROM audit_log a WHERE a.target_id = f.id)",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(audited, 0, "a franchise without its audit row");
    // And the database still takes writes.
    store
        .create_franchise(
            &Scope::Platform,
            &Actor::cli(),
            NewFranchise {
                name: "after the crash".into(),
            },
        )
        .await
        .unwrap();
    store.close().await;
}
