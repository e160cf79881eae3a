//! Several `jarvis serve` processes on one PostgreSQL database, as behind a load balancer:
//! a job whose instance is killed with `kill -9` mid-run is picked up by another instance once
//! its lease expires and finishes exactly once; the pairing-code guess limit holds across
//! instances (it lives in the database, not in a process).

use crate::support::{Serve, wait_for};
use jarvis_core::model::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::time::Duration;

/// Short leases and fast polling so the test takes seconds, with the diagnostic job on.
const FAST_JOBS: &[(&str, &str)] = &[
    ("JARVIS_JOBS_DIAGNOSTICS", "true"),
    ("JARVIS_JOBS_DIAG_LEASE_SECS", "2"),
    ("JARVIS_JOBS_POLL_MS", "100"),
];

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
