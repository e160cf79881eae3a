//! Several `jarvis serve` processes on one PostgreSQL database, as behind a load balancer:
//! a job whose instance is killed with `kill -9` mid-run is picked up by another instance once
//! its lease expires and finishes exactly once; the pairing-code guess limit holds across
//! instances (it lives in the database, not in a process).

use jarvis_core::model::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One `jarvis serve` on `db`, sharing `dir` (and so the master key) with the others.
struct Serve {
    child: Child,
    port: u16,
}

impl Serve {
    fn start(dir: &std::path::Path, db: &str, extra: &[(&str, &str)]) -> Serve {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = Command::new(env!("CARGO_BIN_EXE_jarvis"));
        c.current_dir(dir);
        for (k, _) in std::env::vars() {
            if k.starts_with("JARVIS_") {
                c.env_remove(k);
            }
        }
        c.env("JARVIS_LOG_LEVEL", "warn")
            .env("JARVIS_DATABASE_URL", db)
            .env("JARVIS_DATABASE_MAX_CONNECTIONS", "4");
        for (k, v) in extra {
            c.env(k, v);
        }
        let child = c
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = Serve { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if s.request("GET", "/readyz", None).0 == 200 {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("jarvis serve on port {port} did not become ready");
    }

    /// A plain HTTP/1.0 request: (status, body); status 0 when the connection failed.
    fn request(&self, method: &str, path: &str, json: Option<&str>) -> (u16, String) {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return (0, String::new());
        };
        let body = json.unwrap_or("");
        let req = format!(
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if s.write_all(req.as_bytes()).is_err() {
            return (0, String::new());
        }
        let mut r = String::new();
        let _ = s.read_to_string(&mut r);
        let status = r
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = r
            .split_once("\r\n\r\n")
            .map(|x| x.1)
            .unwrap_or("")
            .to_string();
        (status, body)
    }

    fn kill9(&mut self) {
        let st = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let _ = self.child.wait();
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        let st = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Short leases and fast polling so the test takes seconds, with the diagnostic job on.
const FAST_JOBS: &[(&str, &str)] = &[
    ("JARVIS_JOBS_DIAGNOSTICS", "true"),
    ("JARVIS_JOBS_DIAG_LEASE_SECS", "2"),
    ("JARVIS_JOBS_POLL_MS", "100"),
];

async fn wait_for<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(t) = f().await {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_a_job_killed_mid_run_is_finished_once_by_another_instance() {
    let db = TestDb::postgres().await.unwrap();
    let store = db.store();
    let dir = tempfile::tempdir().unwrap();
    let mut a = Serve::start(dir.path(), db.url(), FAST_JOBS);
    let job = store
        .enqueue(NewJob::new("diag.sleep", serde_json::json!({ "secs": 4 })))
        .await
        .unwrap()
        .job;
    let first = wait_for("instance A to claim the job", 20, async || {
        let j = store.job(job.id).await.unwrap();
        (j.status == JobStatus::Running).then_some(j)
    })
    .await;
    assert_eq!(first.attempts, 1);
    let owner_a = first.lease_owner.unwrap();
    a.kill9();

    // B starts after A died; the job is still `running` under A's lease until it expires.
    let mut b = Serve::start(dir.path(), db.url(), FAST_JOBS);
    let done = wait_for("the job to finish on instance B", 40, async || {
        let j = store.job(job.id).await.unwrap();
        j.status.is_finished().then_some(j)
    })
    .await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(done.attempts, 2);
    // Two leases later nothing more happened: finished exactly once.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let mut runs = store
        .job_runs(
            &JobRunFilter {
                job_id: Some(job.id),
                ..Default::default()
            },
            jarvis_core::PageRequest::default(),
        )
        .await
        .unwrap()
        .items;
    runs.sort_by_key(|r| r.attempt);
    let seen: Vec<_> = runs.iter().map(|r| (r.attempt, r.outcome)).collect();
    assert_eq!(
        seen,
        [
            (1, Some(RunOutcome::LeaseLost)),
            (2, Some(RunOutcome::Succeeded))
        ]
    );
    assert_eq!(runs[0].instance_id, owner_a);
    assert_ne!(runs[1].instance_id, owner_a, "another instance finished it");
    assert_eq!(store.job(job.id).await.unwrap(), done);

    // A graceful stop marks the instance stopped; the killed one never said so.
    assert!(b.stop().success());
    let alive = store
        .list_instances(time::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        alive.iter().map(|i| i.id).collect::<Vec<_>>(),
        [owner_a],
        "B stopped"
    );
    let stale = store.stale_instances(time::Duration::ZERO).await.unwrap();
    assert_eq!(stale.iter().map(|i| i.id).collect::<Vec<_>>(), [owner_a]);
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_pairing_guess_limit_holds_across_instances() {
    let db = TestDb::postgres().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let a = Serve::start(dir.path(), db.url(), &[]);
    let b = Serve::start(dir.path(), db.url(), &[]);
    let guess = r#"{"code":"ZZZZZZZZ"}"#;
    // Ten failed guesses from one address, alternating between the instances.
    for i in 0..10 {
        let s = if i % 2 == 0 { &a } else { &b };
        let (status, body) = s.request("POST", "/api/v1/kiosk/pair", Some(guess));
        assert_eq!(status, 401, "guess {i}: {body}");
    }
    // Each instance alone saw five; the limit is ten across both.
    for s in [&a, &b] {
        let (status, body) = s.request("POST", "/api/v1/kiosk/pair", Some(guess));
        assert_eq!(status, 429, "{body}");
    }
}
