//! The request log and the retention sweep on both backends: a batch of request-log rows is
//! written and read back (platform scope only); `purge_log` deletes exactly the rows older than
//! its cut-off, at most `batch` per call, from the request log, auth events and the audit log
//! (which no other context may delete on PostgreSQL); on SQLite a concurrent writer keeps
//! committing while a large purge runs (the sweep never holds the write lock for long).

use jarvis_store::testing::TestDb;

mod cases {
    use jarvis_core::model::*;
    use jarvis_core::*;
    use jarvis_store::testing::TestDb;
    use jarvis_store::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    use time::OffsetDateTime;

    fn entry(at: OffsetDateTime, route: &str) -> RequestLogEntry {
        RequestLogEntry {
            at,
            instance: InstanceId::from(uuid::Uuid::now_v7()),
            method: "GET".into(),
            route: route.into(),
            status: 200,
            latency_us: 1_500,
            gym: None,
        }
    }

    async fn purge_all(
        s: &Arc<dyn Store>,
        t: LogTable,
        before: OffsetDateTime,
        batch: u32,
    ) -> Vec<u64> {
        let mut calls = Vec::new();
        loop {
            let n = s.purge_log(t, before, batch).await.unwrap();
            calls.push(n);
            if n < u64::from(batch) {
                return calls;
            }
            // As the retention job does between its batches.
            tokio::task::yield_now().await;
        }
    }

    pub async fn request_log_round_trips_and_ages_out(db: &TestDb) {
        let s = db.store();
        let now = OffsetDateTime::now_utc();
        let day = time::Duration::days(1);
        let batch = vec![
            entry(now - day * 10, "/old/{a}"),
            entry(now - day * 8, "/old/{b}"),
            entry(now - day * 8 + time::Duration::seconds(1), "/old/{c}"),
            entry(now - day * 7 + time::Duration::minutes(1), "/young/{d}"),
            entry(now - day, "/young/{e}"),
        ];
        assert_eq!(s.record_requests(&batch).await.unwrap(), 5);
        let rows = s.recent_requests(&Scope::Platform, 100).await.unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].route, "/young/{e}", "newest first");
        assert_eq!((rows[0].status, rows[0].latency_us), (200, 1_500));
        // Tenant scopes never read the request log.
        let other = Scope::Franchise {
            franchise: FranchiseId::from(uuid::Uuid::now_v7()),
        };
        assert!(s.recent_requests(&other, 100).await.is_err());

        // Older than 7 days: exactly the three old rows, two per call.
        let calls = purge_all(&s, LogTable::Requests, now - day * 7, 2).await;
        assert_eq!(calls, vec![2, 1]);
        let left: Vec<String> = s
            .recent_requests(&Scope::Platform, 100)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.route)
            .collect();
        assert_eq!(left, vec!["/young/{e}", "/young/{d}"]);
    }

    pub async fn auth_events_and_audit_are_trimmed_by_age(db: &TestDb) {
        let s = db.store();
        let event = |name: &str| NewAuthEvent {
            event: name.into(),
            user_id: None,
            email: None,
            franchise_id: None,
            gym_id: None,
            ip: None,
            user_agent: None,
            details: serde_json::json!({}),
        };
        let franchise = |n: &str| NewFranchise {
            name: format!("{n}{}", uuid::Uuid::now_v7()),
        };
        s.record_auth_event(event("old.one")).await.unwrap();
        s.record_auth_event(event("old.two")).await.unwrap();
        s.create_franchise(&Scope::Platform, &Actor::cli(), franchise("Old"))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let cut = OffsetDateTime::now_utc();
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.record_auth_event(event("new.one")).await.unwrap();
        s.create_franchise(&Scope::Platform, &Actor::cli(), franchise("New"))
            .await
            .unwrap();

        assert_eq!(
            purge_all(&s, LogTable::AuthEvents, cut, 1).await,
            vec![1, 1, 0]
        );
        let events: Vec<String> = s
            .list_auth_events(
                &Scope::Platform,
                &AuthEventFilter::default(),
                PageRequest::default(),
            )
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(events, vec!["new.one"]);

        let audit_before = s
            .list_audit(
                &Scope::Platform,
                &AuditFilter::default(),
                PageRequest::default(),
            )
            .await
            .unwrap()
            .total;
        let deleted: u64 = purge_all(&s, LogTable::Audit, cut, 100).await.iter().sum();
        assert!(deleted >= 1, "the old franchise's audit row");
        let audit = s
            .list_audit(
                &Scope::Platform,
                &AuditFilter::default(),
                PageRequest::default(),
            )
            .await
            .unwrap();
        assert_eq!(audit.total, audit_before - deleted);
        assert!(
            audit.items.iter().all(|a| a.at >= cut),
            "only young rows are left"
        );
        assert!(
            !audit.items.is_empty(),
            "the new franchise's audit row stays"
        );
    }

    /// SQLite has one writer: a sweep of 20,000 rows in batches of 500 must let other writes
    /// through between its batches instead of holding the lock for the whole sweep.
    pub async fn a_large_purge_lets_writers_through(db: &TestDb) {
        let s = db.store();
        let old = OffsetDateTime::now_utc() - time::Duration::days(30);
        let rows: Vec<RequestLogEntry> = (0..20_000)
            .map(|i| entry(old, &format!("/r/{i}")))
            .collect();
        for chunk in rows.chunks(5_000) {
            s.record_requests(chunk).await.unwrap();
        }
        // The writer counts only the commits that finished while the sweep was still running.
        let (sweeping, done) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let writer = {
            let (s, sweeping, done) = (s.clone(), sweeping.clone(), done.clone());
            tokio::spawn(async move {
                let (mut during, mut longest) = (0u32, Duration::ZERO);
                while !done.load(Ordering::SeqCst) {
                    let started_during = sweeping.load(Ordering::SeqCst);
                    let t = Instant::now();
                    s.record_requests(&[entry(OffsetDateTime::now_utc(), "/live")])
                        .await
                        .unwrap();
                    if started_during && !done.load(Ordering::SeqCst) {
                        during += 1;
                        longest = longest.max(t.elapsed());
                    }
                    tokio::task::yield_now().await;
                }
                (during, longest)
            })
        };
        let started = Instant::now();
        sweeping.store(true, Ordering::SeqCst);
        let cut = OffsetDateTime::now_utc() - time::Duration::days(1);
        let calls = purge_all(&s, LogTable::Requests, cut, 500).await;
        let took = started.elapsed();
        done.store(true, Ordering::SeqCst);
        let (writes, longest) = writer.await.unwrap();
        assert_eq!(calls.iter().sum::<u64>(), 20_000);
        assert!(calls.iter().all(|&n| n <= 500), "{calls:?}");
        // Interleaving, not timing: one sweep-long transaction would let at most one commit
        // through (right after it ends); batches let the writer in between them.
        assert!(
            writes >= 2,
            "only {writes} writes got through during a {took:?} sweep"
        );
        println!(
            "retention sweep of 20000 rows in {} batches: {took:?}; concurrent writer: {writes} commits during the sweep, longest wait {longest:?}",
            calls.len()
        );
        let live = s.recent_requests(&Scope::Platform, 1000).await.unwrap();
        assert!(live.iter().all(|r| r.route == "/live"));
    }
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
    request_log_round_trips_and_ages_out,
    auth_events_and_audit_are_trimmed_by_age,
    a_large_purge_lets_writers_through,
);
