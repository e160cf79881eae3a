//! Conformance of the job queue, instance registry and shared throttles on SQLite and
//! PostgreSQL: idempotent enqueue, claim order and due times, concurrent claimers, lease expiry
//! and fencing, retry and dead-lettering, release, the run history every path leaves, operator
//! queries, purge, instance liveness, and throttles shared by two store handles (two instances)
//! on one database.

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::collections::BTreeMap;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

type S = Arc<dyn Store>;

const LEASE: Duration = Duration::minutes(5);
/// A lease that has already expired when granted: lets a test lose a lease without sleeping.
const EXPIRED: Duration = Duration::seconds(-1);

fn page(limit: u32) -> PageRequest {
    PageRequest::new(Some(limit), None).unwrap()
}

fn job(kind: &str) -> NewJob {
    NewJob::new(kind, serde_json::json!({ "n": 1 }))
}

async fn enqueue(s: &S, new: NewJob) -> Job {
    let e = s.enqueue(new).await.unwrap();
    assert!(e.created);
    e.job
}

/// A second handle on the same database: what another instance would hold.
async fn second_handle(db: &TestDb) -> S {
    jarvis_store::connect(&ConnectOptions::new(db.url()))
        .await
        .unwrap()
}

/// The runs of a job, by attempt: (attempt, outcome, instance).
async fn runs(s: &S, id: JobId) -> Vec<(u32, Option<RunOutcome>, InstanceId)> {
    let mut runs = s
        .job_runs(
            &JobRunFilter {
                job_id: Some(id),
                ..Default::default()
            },
            page(200),
        )
        .await
        .unwrap()
        .items;
    runs.sort_by_key(|r| r.attempt);
    for r in &runs {
        // An ended run has its end, a duration and (except successes and releases) an error.
        assert_eq!(r.finished_at.is_some(), r.outcome.is_some(), "{r:?}");
        assert_eq!(r.duration_ms.is_some(), r.outcome.is_some(), "{r:?}");
        assert!(r.duration_ms.unwrap_or(0) >= 0, "{r:?}");
        let needs_error = matches!(
            r.outcome,
            Some(
                RunOutcome::Failed
                    | RunOutcome::Retrying
                    | RunOutcome::Dead
                    | RunOutcome::LeaseLost
            )
        );
        assert_eq!(r.error.is_some(), needs_error, "{r:?}");
    }
    runs.iter()
        .map(|r| (r.attempt, r.outcome, r.instance_id))
        .collect()
}

async fn claim_one(s: &S, owner: InstanceId, kind: &str, lease: Duration) -> Option<ClaimedJob> {
    let mut got = s.claim(owner, &[kind], 1, lease).await.unwrap();
    assert!(got.len() <= 1);
    got.pop()
}

async fn tenant(s: &S, name: &str) -> (FranchiseId, GymId) {
    let a = Actor::cli();
    let f = s
        .create_franchise(&Scope::Platform, &a, NewFranchise { name: name.into() })
        .await
        .unwrap();
    let g = s
        .create_gym(
            &Scope::Platform,
            &a,
            NewGym {
                franchise_id: f.id,
                name: format!("{name} gym"),
                address: None,
                timezone: "UTC".into(),
                locale: Locale::En,
                settings: serde_json::json!({}),
            },
            GymStatus::Active,
        )
        .await
        .unwrap();
    (f.id, g.id)
}

mod cases {
    use super::*;

    pub async fn enqueue_stores_the_job_and_checks_it(db: &TestDb) {
        let s = db.store();
        let before = OffsetDateTime::now_utc();
        let j = enqueue(&s, job("mail.drain").with_priority(3).with_max_attempts(7)).await;
        assert_eq!(j.kind, "mail.drain");
        assert_eq!(j.status, JobStatus::Queued);
        assert_eq!((j.attempts, j.max_attempts, j.priority), (0, 7, 3));
        assert_eq!(j.payload, serde_json::json!({ "n": 1 }));
        assert!(j.run_after >= before - Duration::seconds(1) && j.run_after <= j.created_at);
        assert!(j.lease_owner.is_none() && j.finished_at.is_none());
        assert_eq!(s.job(j.id).await.unwrap(), j, "read back equals returned");

        // A run time in another offset is kept as the same instant.
        let at = time::macros::datetime!(2031-05-06 09:10:11.123456 +02:00);
        let later = enqueue(&s, job("mail.drain").with_run_after(at)).await;
        assert_eq!(later.run_after, at);
        assert_eq!(s.job(later.id).await.unwrap().run_after, at);

        let (f, g) = tenant(&s, "Tagged").await;
        let tagged = enqueue(&s, job("members.import").with_tenant(f, Some(g))).await;
        assert_eq!((tagged.franchise_id, tagged.gym_id), (Some(f), Some(g)));
        // A gym tag of another franchise breaks the tenant reference.
        let (f2, _) = tenant(&s, "Other").await;
        assert!(
            s.enqueue(job("members.import").with_tenant(f2, Some(g)))
                .await
                .is_err()
        );

        for (bad, field) in [
            (job("Not A Kind"), "kind"),
            (job("x").with_max_attempts(0), "max_attempts"),
            (job("x").with_idempotency_key(""), "idempotency_key"),
        ] {
            match s.enqueue(bad).await {
                Err(StoreError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(matches!(
            s.job(JobId::new()).await,
            Err(StoreError::NotFound("job"))
        ));
    }

    pub async fn idempotent_enqueue_makes_one_job(db: &TestDb) {
        let s = db.store();
        let first = s
            .enqueue(job("report.daily").with_idempotency_key("schedule:report:2030-01-01T03:00Z"))
            .await
            .unwrap();
        assert!(first.created);
        let again = s
            .enqueue(
                NewJob::new("report.daily", serde_json::json!({ "n": 2 }))
                    .with_idempotency_key("schedule:report:2030-01-01T03:00Z"),
            )
            .await
            .unwrap();
        assert!(!again.created, "a taken key inserts nothing");
        assert_eq!(
            again.job, first.job,
            "and returns the existing job as it is"
        );
        // Still taken once the job finished: a slot never runs twice.
        let me = InstanceId::new();
        let c = claim_one(&s, me, "report.daily", LEASE).await.unwrap();
        assert!(s.complete(&c.claim).await.unwrap());
        let after = s
            .enqueue(job("report.daily").with_idempotency_key("schedule:report:2030-01-01T03:00Z"))
            .await
            .unwrap();
        assert!(!after.created);
        assert_eq!(after.job.status, JobStatus::Succeeded);

        // Concurrent enqueues of one key, from two handles (two instances): one job.
        let other = second_handle(db).await;
        let tasks: Vec<_> = (0..12)
            .map(|i| {
                let h = if i % 2 == 0 { s.clone() } else { other.clone() };
                tokio::spawn(async move {
                    h.enqueue(
                        NewJob::new("report.daily", serde_json::json!({ "i": i }))
                            .with_idempotency_key("schedule:report:2030-01-02T03:00Z"),
                    )
                    .await
                    .unwrap()
                })
            })
            .collect();
        let mut created = 0;
        let mut ids = std::collections::BTreeSet::new();
        for t in tasks {
            let e = t.await.unwrap();
            created += usize::from(e.created);
            ids.insert(e.job.id);
        }
        assert_eq!(created, 1, "exactly one enqueue created the job");
        assert_eq!(ids.len(), 1, "every enqueue got the same job");
        let all = s
            .list_jobs(
                &JobFilter {
                    kind: Some("report.daily".into()),
                    ..Default::default()
                },
                page(50),
            )
            .await
            .unwrap();
        assert_eq!(all.total, 2, "one job per key");
        // Without a key, every enqueue is a new job.
        enqueue(&s, job("report.daily")).await;
        enqueue(&s, job("report.daily")).await;
    }

    pub async fn claim_follows_due_time_priority_and_kinds(db: &TestDb) {
        let s = db.store();
        let now = OffsetDateTime::now_utc();
        let a = enqueue(&s, job("x").with_run_after(now - Duration::minutes(2))).await;
        let b = enqueue(
            &s,
            job("x")
                .with_priority(5)
                .with_run_after(now - Duration::minutes(1)),
        )
        .await;
        let future = enqueue(
            &s,
            job("x")
                .with_priority(100)
                .with_run_after(now + Duration::hours(1)),
        )
        .await;
        let other_kind = enqueue(&s, job("y").with_priority(10)).await;
        let e = enqueue(&s, job("x").with_run_after(now - Duration::minutes(3))).await;

        let me = InstanceId::new();
        assert!(s.claim(me, &[], 10, LEASE).await.unwrap().is_empty());
        assert!(s.claim(me, &["x"], 0, LEASE).await.unwrap().is_empty());
        let first = s.claim(me, &["x"], 1, LEASE).await.unwrap();
        assert_eq!(
            first.iter().map(|c| c.job.id).collect::<Vec<_>>(),
            [b.id],
            "the highest priority first"
        );
        let rest = s.claim(me, &["x", "z"], 10, LEASE).await.unwrap();
        assert_eq!(
            rest.iter().map(|c| c.job.id).collect::<Vec<_>>(),
            [e.id, a.id],
            "then the oldest due time; never a job not yet due nor of another kind"
        );
        assert!(s.claim(me, &["x"], 10, LEASE).await.unwrap().is_empty());

        let claimed_at = OffsetDateTime::now_utc();
        for c in first.iter().chain(&rest) {
            let j = s.job(c.job.id).await.unwrap();
            assert_eq!(j, c.job, "the claim returns the job as stored");
            assert_eq!(j.status, JobStatus::Running);
            assert_eq!((j.attempts, c.claim.attempt), (1, 1));
            assert_eq!(j.lease_owner, Some(me));
            let until = j.lease_expires_at.unwrap();
            assert!(
                until > claimed_at + LEASE - Duration::minutes(1) && until <= claimed_at + LEASE
            );
            assert_eq!(c.claim.owner, me);
            assert_eq!(c.claim.job_id, j.id);
            assert_eq!(
                runs(&s, j.id).await,
                [(1, None, me)],
                "one open run per claim"
            );
        }
        assert_eq!(s.job(future.id).await.unwrap().status, JobStatus::Queued);
        assert_eq!(
            s.job(other_kind.id).await.unwrap().status,
            JobStatus::Queued
        );
        let y = claim_one(&s, me, "y", LEASE).await.unwrap();
        assert_eq!(y.job.id, other_kind.id);

        // Due at a whole second, claimed within that second: due (SQLite compares stored text,
        // which must sort like time even when the fraction is zero).
        let now = OffsetDateTime::now_utc();
        let whole = now.replace_nanosecond(0).unwrap();
        let w = enqueue(&s, job("whole").with_run_after(whole)).await;
        assert_eq!(
            claim_one(&s, me, "whole", LEASE).await.unwrap().job.id,
            w.id
        );
    }

    pub async fn concurrent_claimers_never_share_a_job(db: &TestDb) {
        let s = db.store();
        let other = second_handle(db).await;
        for i in 0..50 {
            enqueue(&s, job("bulk").with_priority(i % 3)).await;
        }
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let h = if w % 2 == 0 { s.clone() } else { other.clone() };
                tokio::spawn(async move {
                    let me = InstanceId::new();
                    let mut mine = Vec::new();
                    loop {
                        let got = h.claim(me, &["bulk"], 3, LEASE).await.unwrap();
                        if got.is_empty() {
                            break;
                        }
                        for c in got {
                            assert!(h.complete(&c.claim).await.unwrap(), "my claim holds");
                            mine.push(c.job.id);
                        }
                    }
                    mine
                })
            })
            .collect();
        let mut times: BTreeMap<JobId, usize> = BTreeMap::new();
        for w in workers {
            for id in w.await.unwrap() {
                *times.entry(id).or_default() += 1;
            }
        }
        assert_eq!(times.len(), 50, "every job was claimed");
        assert!(
            times.values().all(|n| *n == 1),
            "no job was claimed twice: {:?}",
            times.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
        );
        let done = s
            .list_jobs(
                &JobFilter {
                    status: Some(JobStatus::Succeeded),
                    ..Default::default()
                },
                page(200),
            )
            .await
            .unwrap();
        assert_eq!(done.total, 50);
        assert!(done.items.iter().all(|j| j.attempts == 1));
        let history = s
            .job_runs(
                &JobRunFilter {
                    kind: Some("bulk".into()),
                    ..Default::default()
                },
                page(200),
            )
            .await
            .unwrap();
        assert_eq!(history.total, 50, "one run per job");
        assert!(
            history
                .items
                .iter()
                .all(|r| r.outcome == Some(RunOutcome::Succeeded))
        );
    }

    pub async fn expired_lease_is_taken_over_and_fenced(db: &TestDb) {
        let s = db.store();
        let (w1, w2) = (InstanceId::new(), InstanceId::new());
        let j = enqueue(&s, job("slow")).await;

        // An expired lease that nobody took over still belongs to its worker.
        let c0 = claim_one(&s, w1, "slow", EXPIRED).await.unwrap();
        assert!(s.heartbeat(&c0.claim, LEASE).await.unwrap());
        assert!(claim_one(&s, w2, "slow", LEASE).await.is_none(), "renewed");
        // Let it lapse again, then another worker claims it.
        assert!(s.heartbeat(&c0.claim, EXPIRED).await.unwrap());
        let c1 = claim_one(&s, w2, "slow", LEASE).await.unwrap();
        assert_eq!(c1.job.id, j.id);
        assert_eq!(c1.claim.attempt, 2);
        assert_eq!(c1.job.lease_owner, Some(w2));

        // The first worker is fenced out of everything.
        assert!(!s.heartbeat(&c0.claim, LEASE).await.unwrap());
        assert!(!s.complete(&c0.claim).await.unwrap());
        assert_eq!(s.fail(&c0.claim, "late", None).await.unwrap(), None);
        assert_eq!(
            s.fail(&c0.claim, "late", Some(OffsetDateTime::now_utc()))
                .await
                .unwrap(),
            None
        );
        assert!(!s.release(&c0.claim).await.unwrap());
        let held = s.job(j.id).await.unwrap();
        assert_eq!(
            (held.status, held.lease_owner, held.attempts),
            (JobStatus::Running, Some(w2), 2),
            "the refused calls changed nothing"
        );
        assert!(held.last_error.is_none());

        // The same instance claiming again is fenced by the attempt, not only by the owner.
        assert!(s.heartbeat(&c1.claim, EXPIRED).await.unwrap());
        let c2 = claim_one(&s, w2, "slow", LEASE).await.unwrap();
        assert_eq!(c2.claim.attempt, 3);
        assert!(!s.complete(&c1.claim).await.unwrap());
        assert!(s.heartbeat(&c2.claim, LEASE).await.unwrap());
        assert!(s.complete(&c2.claim).await.unwrap());
        assert!(!s.complete(&c2.claim).await.unwrap(), "only once");
        let done = s.job(j.id).await.unwrap();
        assert_eq!(done.status, JobStatus::Succeeded);
        assert!(done.finished_at.is_some() && done.lease_owner.is_none());

        assert_eq!(
            runs(&s, j.id).await,
            [
                (1, Some(RunOutcome::LeaseLost), w1),
                (2, Some(RunOutcome::LeaseLost), w2),
                (3, Some(RunOutcome::Succeeded), w2),
            ]
        );
        let lost = s
            .job_runs(
                &JobRunFilter {
                    job_id: Some(j.id),
                    ..Default::default()
                },
                page(10),
            )
            .await
            .unwrap()
            .items;
        let first = lost.iter().find(|r| r.attempt == 1).unwrap();
        assert!(
            first.error.as_deref().unwrap().contains(&w2.to_string()),
            "the lost run names who noticed: {first:?}"
        );
    }

    pub async fn a_lease_lost_on_the_last_attempt_dead_letters(db: &TestDb) {
        let s = db.store();
        let w = InstanceId::new();
        let j = enqueue(&s, job("poison").with_max_attempts(2)).await;
        claim_one(&s, w, "poison", EXPIRED).await.unwrap();
        let c2 = claim_one(&s, w, "poison", EXPIRED).await.unwrap();
        assert_eq!(c2.claim.attempt, 2);
        // Its worker died on the last attempt: not handed to anyone again.
        assert!(claim_one(&s, w, "poison", LEASE).await.is_none());
        let dead = s.job(j.id).await.unwrap();
        assert_eq!(dead.status, JobStatus::Dead);
        assert!(dead.finished_at.is_some() && dead.lease_owner.is_none());
        assert!(dead.last_error.is_some());
        assert!(!s.complete(&c2.claim).await.unwrap());
        assert_eq!(
            runs(&s, j.id).await,
            [
                (1, Some(RunOutcome::LeaseLost), w),
                (2, Some(RunOutcome::LeaseLost), w)
            ]
        );
    }

    pub async fn retry_backs_off_then_dead_letters(db: &TestDb) {
        let s = db.store();
        let w = InstanceId::new();

        // A retry waits for its time.
        let later = enqueue(&s, job("flaky.later")).await;
        let c = claim_one(&s, w, "flaky.later", LEASE).await.unwrap();
        let at = OffsetDateTime::now_utc() + Duration::minutes(10);
        assert_eq!(
            s.fail(&c.claim, "timeout", Some(at)).await.unwrap(),
            Some(RunOutcome::Retrying)
        );
        let queued = s.job(later.id).await.unwrap();
        assert_eq!(queued.status, JobStatus::Queued);
        assert_eq!(queued.run_after, exact(at));
        assert_eq!(queued.last_error.as_deref(), Some("timeout"));
        assert!(queued.lease_owner.is_none() && queued.finished_at.is_none());
        assert!(
            claim_one(&s, w, "flaky.later", LEASE).await.is_none(),
            "backing off"
        );

        // Retried while attempts remain, then dead.
        let j = enqueue(&s, job("flaky").with_max_attempts(3)).await;
        let mut outcomes = Vec::new();
        for attempt in 1..=3 {
            let c = claim_one(&s, w, "flaky", LEASE).await.unwrap();
            assert_eq!(c.claim.attempt, attempt);
            outcomes.push(
                s.fail(
                    &c.claim,
                    &format!("boom {attempt}"),
                    Some(OffsetDateTime::now_utc()),
                )
                .await
                .unwrap()
                .unwrap(),
            );
        }
        assert_eq!(
            outcomes,
            [RunOutcome::Retrying, RunOutcome::Retrying, RunOutcome::Dead]
        );
        let dead = s.job(j.id).await.unwrap();
        assert_eq!(dead.status, JobStatus::Dead);
        assert_eq!(dead.last_error.as_deref(), Some("boom 3"));
        assert!(dead.finished_at.is_some());
        assert!(claim_one(&s, w, "flaky", LEASE).await.is_none());
        assert_eq!(
            runs(&s, j.id).await,
            [
                (1, Some(RunOutcome::Retrying), w),
                (2, Some(RunOutcome::Retrying), w),
                (3, Some(RunOutcome::Dead), w),
            ]
        );

        // A permanent failure is not retried, even with attempts left.
        let p = enqueue(&s, job("strict")).await;
        let c = claim_one(&s, w, "strict", LEASE).await.unwrap();
        assert_eq!(
            s.fail(&c.claim, &"x".repeat(10_000), None).await.unwrap(),
            Some(RunOutcome::Failed)
        );
        let failed = s.job(p.id).await.unwrap();
        assert_eq!(failed.status, JobStatus::Failed);
        assert!(
            failed.last_error.unwrap().chars().count() <= 4001,
            "errors are clipped"
        );
        assert!(claim_one(&s, w, "strict", LEASE).await.is_none());

        // An operator retries the dead and the failed: more attempts, due now, same fence.
        assert!(s.retry_job(j.id, 2).await.unwrap());
        let again = s.job(j.id).await.unwrap();
        assert_eq!(
            (again.status, again.attempts, again.max_attempts),
            (JobStatus::Queued, 3, 5)
        );
        assert!(again.finished_at.is_none());
        let c4 = claim_one(&s, w, "flaky", LEASE).await.unwrap();
        assert_eq!(c4.claim.attempt, 4, "attempts never go back");
        assert!(s.complete(&c4.claim).await.unwrap());
        assert!(s.retry_job(p.id, 1).await.unwrap());
        assert!(!s.retry_job(p.id, 1).await.unwrap(), "only finished jobs");
        assert!(matches!(
            s.retry_job(JobId::new(), 1).await,
            Err(StoreError::NotFound(_))
        ));

        // Cancelling: queued jobs only; the key stays taken.
        let k = enqueue(&s, job("strict").with_idempotency_key("once")).await;
        assert!(s.cancel_job(k.id).await.unwrap());
        assert!(!s.cancel_job(k.id).await.unwrap());
        assert_eq!(s.job(k.id).await.unwrap().status, JobStatus::Cancelled);
        assert!(
            !s.enqueue(job("strict").with_idempotency_key("once"))
                .await
                .unwrap()
                .created
        );
        assert!(matches!(
            s.cancel_job(JobId::new()).await,
            Err(StoreError::NotFound(_))
        ));
        let busy = enqueue(&s, job("busy")).await;
        let bc = claim_one(&s, w, "busy", LEASE).await.unwrap();
        assert!(
            !s.cancel_job(busy.id).await.unwrap(),
            "a running job is not cancelled from storage"
        );
        assert!(s.complete(&bc.claim).await.unwrap());
        assert!(!s.cancel_job(busy.id).await.unwrap(), "nor a finished one");
    }

    pub async fn release_gives_the_job_back_without_using_an_attempt(db: &TestDb) {
        let s = db.store();
        let (w1, w2) = (InstanceId::new(), InstanceId::new());
        let j = enqueue(
            &s,
            job("drain")
                .with_max_attempts(2)
                .with_run_after(OffsetDateTime::now_utc() - Duration::minutes(1)),
        )
        .await;
        let c1 = claim_one(&s, w1, "drain", LEASE).await.unwrap();
        assert!(s.release(&c1.claim).await.unwrap());
        assert!(!s.release(&c1.claim).await.unwrap(), "once");
        assert!(!s.complete(&c1.claim).await.unwrap(), "released is let go");
        let back = s.job(j.id).await.unwrap();
        assert_eq!(back.status, JobStatus::Queued);
        assert_eq!(
            back.run_after, j.run_after,
            "it keeps its place in the queue"
        );
        assert!(back.lease_owner.is_none() && back.lease_expires_at.is_none());
        assert_eq!((back.attempts, back.max_attempts), (1, 3));

        // Another instance takes it; the release cost no attempt: a failure still retries.
        let c2 = claim_one(&s, w2, "drain", LEASE).await.unwrap();
        assert_eq!(c2.claim.attempt, 2);
        assert_eq!(
            s.fail(&c2.claim, "smtp down", Some(OffsetDateTime::now_utc()))
                .await
                .unwrap(),
            Some(RunOutcome::Retrying)
        );
        let c3 = claim_one(&s, w2, "drain", LEASE).await.unwrap();
        assert!(s.complete(&c3.claim).await.unwrap());
        assert_eq!(
            runs(&s, j.id).await,
            [
                (1, Some(RunOutcome::Released), w1),
                (2, Some(RunOutcome::Retrying), w2),
                (3, Some(RunOutcome::Succeeded), w2),
            ]
        );
    }

    pub async fn operator_queries(db: &TestDb) {
        let s = db.store();
        let w = InstanceId::new();
        let (f, g) = tenant(&s, "Ops").await;
        let now = OffsetDateTime::now_utc();
        let soon = now + Duration::hours(1);
        let a1 = enqueue(&s, job("a").with_tenant(f, Some(g))).await;
        enqueue(&s, job("a").with_run_after(soon)).await;
        enqueue(&s, job("a").with_run_after(soon + Duration::hours(1))).await;
        let b1 = enqueue(&s, job("b").with_max_attempts(1)).await;
        let b2 = enqueue(&s, job("b")).await;
        let c1 = enqueue(&s, job("c")).await;

        let ca = claim_one(&s, w, "a", LEASE).await.unwrap();
        assert_eq!(ca.job.id, a1.id);
        let cb = s.claim(w, &["b"], 2, LEASE).await.unwrap();
        assert_eq!(cb.len(), 2);
        for c in &cb {
            if c.job.id == b1.id {
                s.fail(&c.claim, "gone", Some(now)).await.unwrap();
            } else {
                s.fail(&c.claim, "bad input", None).await.unwrap();
            }
        }
        let cc = claim_one(&s, w, "c", LEASE).await.unwrap();
        assert!(s.complete(&cc.claim).await.unwrap());
        enqueue(&s, job("c")).await;

        let depth = s.queue_depth().await.unwrap();
        let by: BTreeMap<&str, &KindDepth> = depth.iter().map(|d| (d.kind.as_str(), d)).collect();
        assert_eq!(by.keys().copied().collect::<Vec<_>>(), ["a", "b", "c"]);
        let a = by["a"];
        assert_eq!(
            (a.due, a.scheduled, a.running, a.failed, a.dead),
            (0, 2, 1, 0, 0)
        );
        assert_eq!(a.next_run_after, Some(exact(soon)));
        let b = by["b"];
        assert_eq!(
            (b.due, b.scheduled, b.running, b.failed, b.dead),
            (0, 0, 0, 1, 1)
        );
        assert_eq!(b.next_run_after, None);
        let c = by["c"];
        assert_eq!((c.due, c.running), (1, 0));

        let tagged = s
            .list_jobs(
                &JobFilter {
                    gym_id: Some(g),
                    ..Default::default()
                },
                page(10),
            )
            .await
            .unwrap();
        assert_eq!(
            tagged.items.iter().map(|j| j.id).collect::<Vec<_>>(),
            [a1.id]
        );
        let of_franchise = s
            .list_jobs(
                &JobFilter {
                    franchise_id: Some(f),
                    ..Default::default()
                },
                page(10),
            )
            .await
            .unwrap();
        assert_eq!(of_franchise.total, 1);
        let dead = s
            .list_jobs(
                &JobFilter {
                    status: Some(JobStatus::Dead),
                    ..Default::default()
                },
                page(10),
            )
            .await
            .unwrap();
        assert_eq!(dead.items.iter().map(|j| j.id).collect::<Vec<_>>(), [b1.id]);
        let all = s.list_jobs(&JobFilter::default(), page(2)).await.unwrap();
        assert_eq!((all.total, all.items.len()), (7, 2));
        let newest = s.list_jobs(&JobFilter::default(), page(200)).await.unwrap();
        let ids: Vec<JobId> = newest.items.iter().map(|j| j.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_by(|x, y| y.cmp(x));
        assert_eq!(ids, sorted, "newest first");
        assert!(ids.contains(&b2.id) && ids.contains(&c1.id));

        let last = s.last_run_per_kind().await.unwrap();
        let kinds: Vec<(&str, Option<RunOutcome>)> =
            last.iter().map(|r| (r.kind.as_str(), r.outcome)).collect();
        assert_eq!(kinds.len(), 3, "{kinds:?}");
        assert_eq!(kinds[0], ("a", None), "a's run is in progress");
        assert_eq!(kinds[1].0, "b");
        assert_eq!(kinds[2], ("c", Some(RunOutcome::Succeeded)));
        let b_runs = s
            .job_runs(
                &JobRunFilter {
                    kind: Some("b".into()),
                    ..Default::default()
                },
                page(10),
            )
            .await
            .unwrap();
        assert_eq!(b_runs.total, 2);
        assert_eq!(last[1], b_runs.items[0], "the latest run of b");
        let a_later = claim_one(&s, w, "a", LEASE).await;
        assert!(a_later.is_none(), "the others are not due");
        let ca2 = s.heartbeat(&ca.claim, LEASE).await.unwrap();
        assert!(ca2);
    }

    pub async fn purge_removes_what_ended_in_batches(db: &TestDb) {
        let s = db.store();
        let w = InstanceId::new();
        let mut done = Vec::new();
        for _ in 0..3 {
            let j = enqueue(&s, job("p")).await;
            let c = claim_one(&s, w, "p", LEASE).await.unwrap();
            assert!(s.complete(&c.claim).await.unwrap());
            done.push(j.id);
        }
        let waiting = enqueue(
            &s,
            job("p").with_run_after(OffsetDateTime::now_utc() + Duration::hours(1)),
        )
        .await;
        let running = enqueue(&s, job("q")).await;
        let rc = claim_one(&s, w, "q", LEASE).await.unwrap();

        assert_eq!(
            s.purge_jobs(OffsetDateTime::now_utc() - Duration::hours(1), 10)
                .await
                .unwrap(),
            0,
            "nothing ended that long ago"
        );
        let cutoff = OffsetDateTime::now_utc() + Duration::seconds(1);
        assert_eq!(
            s.purge_jobs(cutoff, 2).await.unwrap(),
            2,
            "one bounded batch"
        );
        assert_eq!(s.purge_jobs(cutoff, 2).await.unwrap(), 1);
        assert_eq!(s.purge_jobs(cutoff, 2).await.unwrap(), 0);
        for id in done {
            assert!(matches!(s.job(id).await, Err(StoreError::NotFound(_))));
            assert!(runs(&s, id).await.is_empty(), "runs go with their job");
        }
        assert_eq!(s.job(waiting.id).await.unwrap().status, JobStatus::Queued);
        assert_eq!(s.job(running.id).await.unwrap().status, JobStatus::Running);
        assert!(s.complete(&rc.claim).await.unwrap());

        // Instances gone quiet before the cutoff go too; live ones stay.
        let gone = s.register_instance(instance("gone")).await.unwrap();
        s.instance_stopped(gone.id).await.unwrap();
        let live = s.register_instance(instance("live")).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let cutoff = OffsetDateTime::now_utc();
        assert!(s.instance_heartbeat(live.id).await.unwrap());
        assert_eq!(
            s.purge_jobs(cutoff, 10).await.unwrap(),
            2,
            "q's job and the gone instance"
        );
        let left = s.list_instances(Duration::hours(1)).await.unwrap();
        assert_eq!(left.iter().map(|i| i.id).collect::<Vec<_>>(), [live.id]);
    }

    fn instance(host: &str) -> NewInstance {
        NewInstance {
            hostname: host.into(),
            pid: 4242,
            version: "0.1.0".into(),
        }
    }

    pub async fn instances_heartbeat_and_liveness(db: &TestDb) {
        let s = db.store();
        let a = s.register_instance(instance("a")).await.unwrap();
        let b = s.register_instance(instance("b")).await.unwrap();
        assert_eq!(
            (a.hostname.as_str(), a.pid, a.version.as_str()),
            ("a", 4242, "0.1.0")
        );
        assert_eq!(a.heartbeat_at, a.started_at);
        assert!(a.stopped_at.is_none());
        let alive = s.list_instances(Duration::minutes(1)).await.unwrap();
        assert_eq!(alive, [a.clone(), b.clone()], "oldest first, as registered");

        // Silent for longer than `quiet`; the checks after b's heartbeat take far less (slow CI).
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        let quiet = Duration::seconds(1);
        assert!(
            s.list_instances(quiet).await.unwrap().is_empty(),
            "both silent"
        );
        assert_eq!(
            s.stale_instances(quiet)
                .await
                .unwrap()
                .iter()
                .map(|i| i.id)
                .collect::<Vec<_>>(),
            [a.id, b.id]
        );
        assert!(s.instance_heartbeat(b.id).await.unwrap());
        let now_alive = s.list_instances(quiet).await.unwrap();
        assert_eq!(now_alive.iter().map(|i| i.id).collect::<Vec<_>>(), [b.id]);
        assert!(now_alive[0].heartbeat_at > b.heartbeat_at);
        assert_eq!(
            s.stale_instances(quiet)
                .await
                .unwrap()
                .iter()
                .map(|i| i.id)
                .collect::<Vec<_>>(),
            [a.id]
        );

        // A stopped instance is neither alive nor stale, and heart-beats no more.
        s.instance_stopped(a.id).await.unwrap();
        assert!(!s.instance_heartbeat(a.id).await.unwrap());
        assert!(
            !s.stale_instances(quiet)
                .await
                .unwrap()
                .iter()
                .any(|i| i.id == a.id)
        );
        assert!(
            !s.list_instances(Duration::hours(1))
                .await
                .unwrap()
                .iter()
                .any(|i| i.id == a.id)
        );
        assert!(!s.instance_heartbeat(InstanceId::new()).await.unwrap());
    }

    pub async fn throttles_are_shared_by_instances(db: &TestDb) {
        let one = db.store();
        let two = second_handle(db).await;
        let key = "pair:ip:203.0.113.7";
        let window = Duration::hours(1);
        let mut seen = Vec::new();
        for i in 0..3 {
            let h = if i % 2 == 0 { &one } else { &two };
            seen.push(h.throttle_hit(key, 3, window).await.unwrap());
        }
        assert_eq!(
            seen,
            [
                ThrottleVerdict::Allowed { remaining: 2 },
                ThrottleVerdict::Allowed { remaining: 1 },
                ThrottleVerdict::Allowed { remaining: 0 },
            ],
            "one count across both instances"
        );
        match two.throttle_hit(key, 3, window).await.unwrap() {
            ThrottleVerdict::Limited { retry_after } => {
                assert!(retry_after > window - Duration::minutes(1) && retry_after <= window)
            }
            other => panic!("{other:?}"),
        }
        assert!(!one.throttle_check(key, 3).await.unwrap().is_allowed());
        assert!(
            one.throttle_check("pair:ip:198.51.100.1", 3)
                .await
                .unwrap()
                .is_allowed(),
            "keys are independent"
        );
        // A check counts nothing.
        for _ in 0..5 {
            assert_eq!(
                one.throttle_check("pair:ip:198.51.100.1", 3).await.unwrap(),
                ThrottleVerdict::Allowed { remaining: 3 }
            );
        }
        two.throttle_reset(key).await.unwrap();
        assert_eq!(
            one.throttle_check(key, 3).await.unwrap(),
            ThrottleVerdict::Allowed { remaining: 3 }
        );

        // The window ends, and the next hit opens a fresh one.
        let short = Duration::milliseconds(500);
        assert!(
            one.throttle_hit("short", 1, short)
                .await
                .unwrap()
                .is_allowed()
        );
        assert!(
            !two.throttle_hit("short", 1, short)
                .await
                .unwrap()
                .is_allowed()
        );
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        assert_eq!(
            two.throttle_check("short", 1).await.unwrap(),
            ThrottleVerdict::Allowed { remaining: 1 }
        );
        assert_eq!(
            two.throttle_hit("short", 1, short).await.unwrap(),
            ThrottleVerdict::Allowed { remaining: 0 }
        );
        assert!(
            !one.throttle_hit("short", 1, short)
                .await
                .unwrap()
                .is_allowed()
        );

        // Concurrent hits from both instances: exactly the limit gets through.
        let hits: Vec<_> = (0..20)
            .map(|i| {
                let h = if i % 2 == 0 { one.clone() } else { two.clone() };
                tokio::spawn(async move {
                    h.throttle_hit("burst", 10, Duration::hours(1))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut allowed = 0;
        let mut remaining = Vec::new();
        for h in hits {
            if let ThrottleVerdict::Allowed { remaining: r } = h.await.unwrap() {
                allowed += 1;
                remaining.push(r);
            }
        }
        assert_eq!(allowed, 10, "exactly the limit is admitted");
        remaining.sort_unstable();
        assert_eq!(
            remaining,
            (0..10).collect::<Vec<u32>>(),
            "each count seen once"
        );

        // Ended windows go with the retention sweep; live ones stay.
        one.throttle_hit("purge-me-ended", 5, Duration::milliseconds(1))
            .await
            .unwrap();
        one.throttle_hit("purge-me-live", 5, Duration::hours(1))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let ended = ["purge-me-ended"];
        assert_eq!(db.find_text(&ended).await.unwrap().len(), 1);
        one.purge_expired(OffsetDateTime::now_utc()).await.unwrap();
        assert!(
            db.find_text(&ended).await.unwrap().is_empty(),
            "the ended window went"
        );
        assert_eq!(
            db.find_text(&["purge-me-live"]).await.unwrap(),
            ["throttles.throttle_key: purge-me-live"],
            "the live window stays"
        );
    }

    /// Two instances draining the outbox at once: every e-mail is claimed by exactly one of
    /// them; a claim whose lease expired (its sender died) is taken again; sent ones never are.
    pub async fn email_claims_are_exclusive_across_instances(db: &TestDb) {
        let one = db.store();
        let two = second_handle(db).await;
        let mut ids = Vec::new();
        for i in 0..40 {
            ids.push(
                one.enqueue_email(NewEmail {
                    id: uuid::Uuid::now_v7(),
                    to_address: format!("m{i}@x.test"),
                    subject: "s".into(),
                    body_text: "t".into(),
                    body_html: "h".into(),
                    kind: "k".into(),
                })
                .await
                .unwrap(),
            );
        }
        let (a, b) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let mut got_a = Vec::new();
        let mut got_b = Vec::new();
        // Small batches, concurrently, until both come back empty.
        loop {
            let (x, y) = tokio::join!(one.claim_emails(a, 7, LEASE), two.claim_emails(b, 7, LEASE));
            let (x, y) = (x.unwrap(), y.unwrap());
            if x.is_empty() && y.is_empty() {
                break;
            }
            got_a.extend(x.into_iter().map(|m| m.id));
            got_b.extend(y.into_iter().map(|m| m.id));
        }
        let mut all: Vec<_> = got_a.iter().chain(&got_b).copied().collect();
        all.sort();
        let mut expected = ids.clone();
        expected.sort();
        assert_eq!(all, expected, "each e-mail claimed once, none missed");

        // Claims held: nothing to take. One sent; one claim expires: only that one comes back.
        assert!(one.claim_emails(a, 50, LEASE).await.unwrap().is_empty());
        one.mark_email_sent(ids[0]).await.unwrap();
        let c = uuid::Uuid::now_v7();
        let mail = one.enqueue_email(NewEmail {
            id: uuid::Uuid::now_v7(),
            to_address: "late@x.test".into(),
            subject: "s".into(),
            body_text: "t".into(),
            body_html: "h".into(),
            kind: "k".into(),
        });
        let late = mail.await.unwrap();
        let taken = two.claim_emails(c, 50, EXPIRED).await.unwrap();
        assert_eq!(taken.iter().map(|m| m.id).collect::<Vec<_>>(), [late]);
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let again = one.claim_emails(a, 50, LEASE).await.unwrap();
        assert_eq!(
            again.iter().map(|m| m.id).collect::<Vec<_>>(),
            [late],
            "an expired claim is taken again"
        );
    }
}

/// An instant at the precision both backends keep (microseconds).
fn exact(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap()
}

macro_rules! both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = super::TestDb::sqlite().await.unwrap();
                    super::cases::$case(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let db = super::TestDb::postgres().await.unwrap();
                    super::cases::$case(&db).await;
                }
            )*
        }
    };
}

both_backends!(
    enqueue_stores_the_job_and_checks_it,
    idempotent_enqueue_makes_one_job,
    claim_follows_due_time_priority_and_kinds,
    concurrent_claimers_never_share_a_job,
    expired_lease_is_taken_over_and_fenced,
    a_lease_lost_on_the_last_attempt_dead_letters,
    retry_backs_off_then_dead_letters,
    release_gives_the_job_back_without_using_an_attempt,
    operator_queries,
    purge_removes_what_ended_in_batches,
    instances_heartbeat_and_liveness,
    throttles_are_shared_by_instances,
    email_claims_are_exclusive_across_instances,
);
