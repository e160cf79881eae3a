//! The job runner and scheduler on a real store, SQLite and PostgreSQL: success, retries with
//! dead-lettering, permanent failure, a lost lease stopping the handler, per-kind concurrency,
//! shutdown (drain, give back), and one job per schedule slot across two instances.

use jarvis_app::jobs::{JobCtx, JobError, JobSpec, Registry, Runner, RunnerConfig};
use jarvis_app::supervisor::{ShutdownOutcome, Supervisor};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration as StdDuration;
use time::Duration;

type S = Arc<dyn Store>;

fn fast() -> RunnerConfig {
    RunnerConfig {
        poll_interval: StdDuration::from_millis(30),
        schedule_interval: StdDuration::from_secs(3600),
        scheduler: false,
        ..RunnerConfig::default()
    }
}

const NO_WAIT: RetryPolicy = RetryPolicy {
    max_attempts: 2,
    base_delay: Duration::ZERO,
    max_delay: Duration::ZERO,
};

async fn runner(store: &S, reg: Registry) -> (Runner, Supervisor) {
    let id = jarvis_app::instance::register(store.as_ref())
        .await
        .unwrap();
    let r = Runner::new(store.clone(), Arc::new(reg), id, fast());
    let sup = Supervisor::new();
    r.start(&sup);
    (r, sup)
}

async fn enqueue(store: &S, kind: &str, max_attempts: u32) -> JobId {
    store
        .enqueue(NewJob::new(kind, serde_json::json!({})).with_max_attempts(max_attempts))
        .await
        .unwrap()
        .job
        .id
}

/// Polls until the job reaches a finished status (or 10 s pass).
async fn finished(store: &S, id: JobId) -> Job {
    for _ in 0..500 {
        let j = store.job(id).await.unwrap();
        if j.status.is_finished() {
            return j;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!(
        "job {id} did not finish: {:?}",
        store.job(id).await.unwrap()
    );
}

async fn outcomes(store: &S, id: JobId) -> Vec<Option<RunOutcome>> {
    let mut runs = store
        .job_runs(
            &JobRunFilter {
                job_id: Some(id),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap()
        .items;
    runs.sort_by_key(|r| r.attempt);
    runs.into_iter().map(|r| r.outcome).collect()
}

async fn outcomes_and_retries(store: S) {
    let calls = Arc::new(AtomicU32::new(0));
    let mut reg = Registry::new();
    reg.register(JobSpec::new("t.ok", "ok"), |_, _| async { Ok(()) })
        .unwrap();
    let c = calls.clone();
    reg.register(
        JobSpec::new("t.flaky", "fails").retry(NO_WAIT),
        move |_, _| {
            c.fetch_add(1, Ordering::SeqCst);
            async { Err(JobError::retryable("db down")) }
        },
    )
    .unwrap();
    reg.register(JobSpec::new("t.bad", "bad input"), |_, _| async {
        Err(JobError::permanent("no such gym"))
    })
    .unwrap();
    reg.register(
        JobSpec::new("t.panics", "panics").retry(NO_WAIT),
        |_: JobCtx, p: serde_json::Value| async move {
            if p.is_object() {
                panic!("handler bug");
            }
            Ok(())
        },
    )
    .unwrap();
    let boots = Arc::new(AtomicU32::new(0));
    let bc = boots.clone();
    reg.register(
        JobSpec::new("t.boot", "at start").at_start(),
        move |_, _| {
            bc.fetch_add(1, Ordering::SeqCst);
            async { Ok(()) }
        },
    )
    .unwrap();
    let (r, sup) = runner(&store, reg).await;

    let ok = enqueue(&store, "t.ok", 5).await;
    let flaky = enqueue(&store, "t.flaky", 2).await;
    let bad = enqueue(&store, "t.bad", 5).await;
    let panics = enqueue(&store, "t.panics", 2).await;

    let j = finished(&store, ok).await;
    assert_eq!((j.status, j.attempts), (JobStatus::Succeeded, 1));
    assert_eq!(outcomes(&store, ok).await, [Some(RunOutcome::Succeeded)]);

    let j = finished(&store, flaky).await;
    assert_eq!((j.status, j.attempts), (JobStatus::Dead, 2));
    assert_eq!(j.last_error.as_deref(), Some("db down"));
    assert_eq!(
        outcomes(&store, flaky).await,
        [Some(RunOutcome::Retrying), Some(RunOutcome::Dead)]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    let j = finished(&store, bad).await;
    assert_eq!((j.status, j.attempts), (JobStatus::Failed, 1));
    assert_eq!(outcomes(&store, bad).await, [Some(RunOutcome::Failed)]);

    let j = finished(&store, panics).await;
    assert_eq!(
        j.status,
        JobStatus::Dead,
        "a panic is retried, then dead-lettered"
    );
    assert!(j.last_error.unwrap().contains("panicked"));

    // An operator retries the dead job: it runs again (and fails again).
    assert!(
        jarvis_app::jobs::service::retry(store.as_ref(), flaky)
            .await
            .unwrap()
    );
    let j = finished(&store, flaky).await;
    assert_eq!((j.status, j.attempts), (JobStatus::Dead, 3));

    // The start-up job: one per instance start, run once.
    let boot = store
        .list_jobs(
            &JobFilter {
                kind: Some("t.boot".into()),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(boot.len(), 1);
    assert_eq!(
        boot[0].idempotency_key.as_deref(),
        Some(format!("start:t.boot:{}", r.owner()).as_str())
    );
    assert_eq!(
        finished(&store, boot[0].id).await.status,
        JobStatus::Succeeded
    );
    assert_eq!(boots.load(Ordering::SeqCst), 1);
    assert_eq!(
        sup.shutdown(StdDuration::from_secs(5)).await,
        ShutdownOutcome::Drained
    );
    // What /metrics reports: every finished run, by kind and how it ended.
    use jarvis_app::jobs::RunEnd;
    let mut stats = r.stats().snapshot();
    stats.sort();
    assert_eq!(
        stats,
        vec![
            ("t.bad", RunEnd::FailedPermanently, 1),
            ("t.boot", RunEnd::Succeeded, 1),
            ("t.flaky", RunEnd::Failed, 3),
            ("t.ok", RunEnd::Succeeded, 1),
            ("t.panics", RunEnd::Failed, 2),
        ]
    );
}

#[tokio::test]
async fn sqlite_runner_records_success_retry_dead_letter_and_failure() {
    outcomes_and_retries(TestDb::sqlite().await.unwrap().store()).await;
}

#[tokio::test]
async fn postgres_runner_records_success_retry_dead_letter_and_failure() {
    let db = TestDb::postgres().await.unwrap();
    outcomes_and_retries(db.store()).await;
}

async fn lost_lease(store: S) {
    let stopped = Arc::new(AtomicU32::new(0));
    let mut reg = Registry::new();
    let st = stopped.clone();
    reg.register(
        JobSpec::new("t.long", "long").lease(Duration::seconds(1)),
        move |ctx: JobCtx, _| {
            let st = st.clone();
            async move {
                // Stands for work that notices cancellation between steps.
                struct Guard(Arc<AtomicU32>);
                impl Drop for Guard {
                    fn drop(&mut self) {
                        self.0.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let _g = Guard(st);
                ctx.cancelled().await;
                Ok(())
            }
        },
    )
    .unwrap();
    let (_r, sup) = runner(&store, reg).await;
    let id = enqueue(&store, "t.long", 5).await;
    // Wait for the claim, and make sure heartbeats keep it beyond one lease.
    let mut job = store.job(id).await.unwrap();
    for _ in 0..200 {
        if job.status == JobStatus::Running {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
        job = store.job(id).await.unwrap();
    }
    assert_eq!(job.status, JobStatus::Running);
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    let job = store.job(id).await.unwrap();
    assert_eq!(
        (job.status, job.attempts),
        (JobStatus::Running, 1),
        "heartbeats hold the lease"
    );
    assert_eq!(stopped.load(Ordering::SeqCst), 0);

    // Another holder ends the claim (as if the lease had been taken over): the worker's next
    // heartbeat is refused and the handler is stopped, recording nothing.
    let run = store
        .job_runs(
            &JobRunFilter {
                job_id: Some(id),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap()
        .items
        .remove(0);
    let claim = Claim {
        job_id: id,
        run_id: run.id,
        owner: run.instance_id,
        attempt: run.attempt,
        started_at: run.started_at,
    };
    assert!(store.complete(&claim).await.unwrap());
    for _ in 0..100 {
        if stopped.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    assert_eq!(stopped.load(Ordering::SeqCst), 1, "the handler was dropped");
    assert_eq!(outcomes(&store, id).await, [Some(RunOutcome::Succeeded)]);
    assert_eq!(
        sup.shutdown(StdDuration::from_secs(5)).await,
        ShutdownOutcome::Drained
    );
}

#[tokio::test]
async fn sqlite_a_lost_lease_stops_the_handler() {
    lost_lease(TestDb::sqlite().await.unwrap().store()).await;
}

#[tokio::test]
async fn postgres_a_lost_lease_stops_the_handler() {
    let db = TestDb::postgres().await.unwrap();
    lost_lease(db.store()).await;
}

async fn concurrency_and_shutdown(store: S) {
    let running = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let mut reg = Registry::new();
    let (r2, p2) = (running.clone(), peak.clone());
    reg.register(
        JobSpec::new("t.pair", "two at a time").concurrency(2),
        move |_, _| {
            let (r, p) = (r2.clone(), p2.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(StdDuration::from_millis(100)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            }
        },
    )
    .unwrap();
    reg.register(
        JobSpec::new("t.forever", "cancellable").cancellable(),
        |ctx: JobCtx, _| async move {
            ctx.cancelled().await;
            Err(JobError::retryable("cancelled"))
        },
    )
    .unwrap();
    reg.register(
        JobSpec::new("t.finish", "finishes during the grace"),
        |_, _| async {
            tokio::time::sleep(StdDuration::from_millis(600)).await;
            Ok(())
        },
    )
    .unwrap();
    reg.register(
        JobSpec::new("t.stuck", "outlives the grace"),
        |_, _| async {
            tokio::time::sleep(StdDuration::from_secs(3600)).await;
            Ok(())
        },
    )
    .unwrap();
    let (_r, sup) = runner(&store, reg).await;
    let pairs: Vec<JobId> = futures_join(&store, "t.pair", 5).await;
    for id in &pairs {
        assert_eq!(finished(&store, *id).await.status, JobStatus::Succeeded);
    }
    assert_eq!(peak.load(Ordering::SeqCst), 2, "two at a time, never more");

    let forever = enqueue(&store, "t.forever", 5).await;
    let finish = enqueue(&store, "t.finish", 5).await;
    let stuck = enqueue(&store, "t.stuck", 5).await;
    for id in [forever, finish, stuck] {
        for _ in 0..200 {
            if store.job(id).await.unwrap().status == JobStatus::Running {
                break;
            }
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }
    let t = std::time::Instant::now();
    assert_eq!(
        sup.shutdown(StdDuration::from_secs(2)).await,
        ShutdownOutcome::Aborted
    );
    assert!(t.elapsed() < StdDuration::from_secs(6));
    // The cancellable job went back at once, the short one finished, the stuck one went back at
    // the end of the grace; given-back jobs keep their attempt budget.
    let j = store.job(forever).await.unwrap();
    assert_eq!((j.status, j.max_attempts), (JobStatus::Queued, 6));
    assert_eq!(
        outcomes(&store, forever).await,
        [Some(RunOutcome::Released)]
    );
    assert_eq!(
        store.job(finish).await.unwrap().status,
        JobStatus::Succeeded
    );
    let j = store.job(stuck).await.unwrap();
    assert_eq!(j.status, JobStatus::Queued);
    assert_eq!(outcomes(&store, stuck).await, [Some(RunOutcome::Released)]);
}

async fn futures_join(store: &S, kind: &str, n: usize) -> Vec<JobId> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(enqueue(store, kind, 5).await);
    }
    v
}

#[tokio::test]
async fn sqlite_concurrency_is_bounded_and_shutdown_drains_then_gives_back() {
    concurrency_and_shutdown(TestDb::sqlite().await.unwrap().store()).await;
}

#[tokio::test]
async fn postgres_concurrency_is_bounded_and_shutdown_drains_then_gives_back() {
    let db = TestDb::postgres().await.unwrap();
    concurrency_and_shutdown(db.store()).await;
}

async fn one_job_per_slot(db: &TestDb) {
    let a = db.store();
    let b = jarvis_store::connect(&ConnectOptions::new(db.url()))
        .await
        .unwrap();
    let reg = || {
        let mut r = Registry::new();
        r.register(
            JobSpec::new("t.cron", "every 5 min").schedule("*/5 * * * *"),
            |_, _| async { Ok(()) },
        )
        .unwrap();
        r.register(JobSpec::new("t.manual", "no schedule"), |_, _| async {
            Ok(())
        })
        .unwrap();
        Arc::new(r)
    };
    let ia = jarvis_app::instance::register(a.as_ref()).await.unwrap();
    let ib = jarvis_app::instance::register(b.as_ref()).await.unwrap();
    let ra = Runner::new(a.clone(), reg(), ia, fast());
    let rb = Runner::new(b.clone(), reg(), ib, fast());
    let t0 = time::macros::datetime!(2026-01-05 16:07:30 UTC);
    let (mut la, mut lb) = (HashMap::new(), HashMap::new());
    // Both instances, concurrently, at the same moment: one job for the 16:05 slot.
    let (na, nb) = tokio::join!(
        ra.enqueue_due_slots(t0, &mut la),
        rb.enqueue_due_slots(t0, &mut lb)
    );
    assert_eq!(na + nb, 1);
    // Ticking again within the slot adds nothing.
    assert_eq!(
        rb.enqueue_due_slots(t0 + Duration::seconds(60), &mut HashMap::new())
            .await,
        0
    );
    // Both down for an hour: only the latest missed slot (17:05) is caught up, not twelve.
    let t1 = t0 + Duration::hours(1);
    let (na, nb) = tokio::join!(
        ra.enqueue_due_slots(t1, &mut la),
        rb.enqueue_due_slots(t1, &mut lb)
    );
    assert_eq!(na + nb, 1);
    let jobs = a
        .list_jobs(
            &JobFilter {
                kind: Some("t.cron".into()),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap()
        .items;
    let mut keys: Vec<String> = jobs
        .iter()
        .filter_map(|j| j.idempotency_key.clone())
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "schedule:t.cron:2026-01-05T16:05:00Z",
            "schedule:t.cron:2026-01-05T17:05:00Z"
        ]
    );
    assert!(
        jobs.iter()
            .all(|j| j.run_after.second() == 0 && j.run_after.minute() == 5)
    );
    let unscheduled = a
        .list_jobs(
            &JobFilter {
                kind: Some("t.manual".into()),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(unscheduled.total, 0);

    // The overview shows the next slot after now and the due jobs.
    let specs = ra.registry().specs();
    let ov = jarvis_app::jobs::service::overview(a.as_ref(), &specs, t1)
        .await
        .unwrap();
    let cron = ov.iter().find(|k| k.spec.name == "t.cron").unwrap();
    assert_eq!(cron.depth.as_ref().map(|d| d.due), Some(2));
    assert_eq!(
        cron.next_run,
        Some(t0 + Duration::minutes(-2) - Duration::seconds(30))
    );
}

#[tokio::test]
async fn sqlite_scheduler_makes_one_job_per_slot_across_instances() {
    one_job_per_slot(&TestDb::sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn postgres_scheduler_makes_one_job_per_slot_across_instances() {
    one_job_per_slot(&TestDb::postgres().await.unwrap()).await;
}
