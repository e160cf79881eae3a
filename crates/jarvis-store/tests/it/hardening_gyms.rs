//! Issue 9 storage cases, each on SQLite and on PostgreSQL: race-free visit debounce and gym
//! status changes under concurrency, the stale-import sweep, and accent-folding member search
//! (with the post-migration backfill of search keys).

use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;
use std::time::Duration;

type S = Arc<dyn Store>;

fn page() -> PageRequest {
    PageRequest::new(Some(50), None).unwrap()
}

async fn gym(s: &S, status: GymStatus) -> Gym {
    let a = Actor::cli();
    let f = s
        .create_franchise(&Scope::Platform, &a, NewFranchise { name: "F".into() })
        .await
        .unwrap();
    let new = NewGym {
        franchise_id: f.id,
        name: "G".into(),
        address: None,
        timezone: "Europe/Paris".into(),
        locale: Locale::Fr,
        settings: serde_json::json!({}),
    }
    .validate()
    .unwrap();
    s.create_gym(&Scope::Platform, &a, new, status)
        .await
        .unwrap()
}

fn scope(g: &Gym) -> Scope {
    Scope::Gym {
        franchise: g.franchise_id,
        gym: g.id,
    }
}

fn member(badge: &str, first: &str, last: &str) -> NewMember {
    NewMember {
        badge_id: badge.into(),
        first_name: first.into(),
        last_name: last.into(),
        email: Some(format!("{}@example.com", badge.to_lowercase())),
        phone: None,
        birth_date: None,
        preferred_language: Locale::Fr,
        membership_type: "standard".into(),
        membership_status: MembershipStatus::Active,
        membership_end_date: None,
        goals: vec![],
        limitations: None,
        consent_voice: true,
        consent_transcripts: false,
    }
    .validate()
    .unwrap()
}

async fn search(s: &S, g: &Gym, q: &str) -> Vec<String> {
    let p = s
        .list_members(
            &scope(g),
            g.id,
            &MemberFilter {
                q: Some(q.into()),
                ..Default::default()
            },
            page(),
        )
        .await
        .unwrap();
    p.items.into_iter().map(|m| m.badge_id).collect()
}

/// Blanks every search key behind the store's back, as rows from before migration 0006 are.
async fn blank_search_keys(db: &TestDb) {
    const SQL: &str = "UPDATE members SET search_key = ''";
    match db.pg() {
        Some(pg) => {
            sqlx::query(SQL).execute(pg.pool()).await.unwrap();
        }
        None => {
            let pool = sqlx::SqlitePool::connect(db.url()).await.unwrap();
            sqlx::query(SQL).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

mod cases {
    use super::*;

    /// Ten scans of one badge at once: exactly one visit, one count.
    pub async fn concurrent_scans_record_one_visit(db: &TestDb) {
        let s = db.store();
        let g = gym(&s, GymStatus::Active).await;
        let m = s
            .create_member(&scope(&g), &Actor::cli(), g.id, member("V-1", "Vi", "Sit"))
            .await
            .unwrap();
        let window = time::Duration::minutes(10);
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (s, sc, gid, mid) = (s.clone(), scope(&g), g.id, m.id);
                tokio::spawn(async move {
                    s.record_scan_visit(&sc, gid, mid, None, window)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut recorded = 0;
        for t in tasks {
            recorded += usize::from(t.await.unwrap().is_some());
        }
        assert_eq!(recorded, 1, "ten concurrent scans are one visit");
        let after = s.member(&scope(&g), g.id, m.id).await.unwrap();
        assert_eq!(after.visit_count, 1);
        let visits = s.list_visits(&scope(&g), g.id, m.id, page()).await.unwrap();
        assert_eq!(visits.total, 1);
        // Outside the window (here: an empty one) the next scan is a new visit.
        let again = s
            .record_scan_visit(&scope(&g), g.id, m.id, None, time::Duration::ZERO)
            .await
            .unwrap();
        assert!(again.is_some());
        assert_eq!(
            s.member(&scope(&g), g.id, m.id).await.unwrap().visit_count,
            2
        );
    }

    /// Ten reviews of one pending gym at once: one wins, nine get a conflict.
    pub async fn concurrent_reviews_one_wins(db: &TestDb) {
        let s = db.store();
        let g = gym(&s, GymStatus::Pending).await;
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let (s, id) = (s.clone(), g.id);
                let (to, reason) = if i % 2 == 0 {
                    (GymStatus::Active, None)
                } else {
                    (GymStatus::Rejected, Some(format!("reviewer {i}")))
                };
                tokio::spawn(async move {
                    s.review_gym(
                        &Scope::Platform,
                        &Actor::cli(),
                        id,
                        GymStatus::Pending,
                        to,
                        reason,
                    )
                    .await
                })
            })
            .collect();
        let mut won = Vec::new();
        let mut lost = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(g) => won.push(g.status),
                Err(StoreError::Conflict {
                    constraint: "gyms_status_changed",
                    field: "status",
                    message,
                }) => {
                    assert!(message.contains("changed meanwhile"), "{message}");
                    lost += 1;
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!((won.len(), lost), (1, 9), "{won:?}");
        assert_eq!(s.gym(&Scope::Platform, g.id).await.unwrap().status, won[0]);
        let audit = s
            .list_audit(
                &Scope::Platform,
                &AuditFilter {
                    action: Some("gym.status".into()),
                    ..Default::default()
                },
                page(),
            )
            .await
            .unwrap();
        assert_eq!(audit.total, 1, "only the winner is audited");
        // A review decided on an old status loses even when the move would be valid now.
        let late = s
            .review_gym(
                &Scope::Platform,
                &Actor::cli(),
                g.id,
                GymStatus::Pending,
                GymStatus::Archived,
                None,
            )
            .await;
        assert!(matches!(late, Err(StoreError::Conflict { .. })), "{late:?}");
    }

    /// The sweep fails queued/running jobs whose `updated_at` stopped moving, and only those;
    /// a swept job is never revived and its late bulk insert writes nothing.
    pub async fn stale_imports_are_failed_and_fenced(db: &TestDb) {
        let s = db.store();
        let g = gym(&s, GymStatus::Active).await;
        let (sc, a) = (scope(&g), Actor::cli());
        let stale = s
            .create_import_job(&sc, &a, g.id, false, false)
            .await
            .unwrap();
        assert!(
            s.import_progress(&sc, g.id, stale.id, ImportStatus::Running, 10, 0)
                .await
                .unwrap()
        );
        let cutoff = time::OffsetDateTime::now_utc();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let fresh = s
            .create_import_job(&sc, &a, g.id, false, false)
            .await
            .unwrap();
        assert!(
            s.import_progress(&sc, g.id, fresh.id, ImportStatus::Running, 10, 3)
                .await
                .unwrap()
        );
        let done = s
            .create_import_job(&sc, &a, g.id, true, false)
            .await
            .unwrap();
        s.finish_import_job(
            &sc,
            g.id,
            done.id,
            ImportStatus::Succeeded,
            serde_json::json!({}),
        )
        .await
        .unwrap();

        let report = serde_json::json!({ "failure": "interrupted" });
        let n = s.fail_stale_imports(cutoff, report.clone()).await.unwrap();
        assert_eq!(n, 1, "only the job silent since the cutoff");
        let j = s.import_job(&sc, g.id, stale.id).await.unwrap();
        assert_eq!(j.status, ImportStatus::Failed);
        assert_eq!(j.report, Some(report));
        assert!(j.finished_at.is_some());
        let f = s.import_job(&sc, g.id, fresh.id).await.unwrap();
        assert_eq!((f.status, f.processed_rows), (ImportStatus::Running, 3));
        assert_eq!(
            s.import_job(&sc, g.id, done.id).await.unwrap().status,
            ImportStatus::Succeeded,
            "finished jobs are left alone"
        );
        assert_eq!(
            s.fail_stale_imports(cutoff, serde_json::json!({}))
                .await
                .unwrap(),
            0,
            "idempotent"
        );

        // A late progress tick does not revive the swept job…
        assert!(
            !s.import_progress(&sc, g.id, stale.id, ImportStatus::Running, 10, 5)
                .await
                .unwrap()
        );
        assert_eq!(
            s.import_job(&sc, g.id, stale.id).await.unwrap().status,
            ImportStatus::Failed
        );
        // …and its bulk insert writes nothing, while the live job's goes in.
        let noop = |_: u64| {};
        let r = s
            .insert_members_bulk(
                &sc,
                &a,
                g.id,
                Some(stale.id),
                &[member("Z-1", "Zed", "Late")],
                &noop,
            )
            .await;
        assert!(
            matches!(
                r,
                Err(StoreError::Conflict {
                    constraint: "member_imports_stopped",
                    ..
                })
            ),
            "{r:?}"
        );
        assert!(s.member_badges(&sc, g.id).await.unwrap().is_empty());
        let n = s
            .insert_members_bulk(
                &sc,
                &a,
                g.id,
                Some(fresh.id),
                &[member("Z-2", "Zoe", "Live")],
                &noop,
            )
            .await
            .unwrap();
        assert_eq!(n, 1);
    }

    /// Case and accents fold alike on both backends, on insert, update and import, and the
    /// keys of rows from before the migration are filled in after migrating.
    pub async fn member_search_folds_case_and_accents(db: &TestDb) {
        let s = db.store();
        let g = gym(&s, GymStatus::Active).await;
        let (sc, a) = (scope(&g), Actor::cli());
        let elodie = s
            .create_member(&sc, &a, g.id, member("E-1", "Élodie", "Dupré"))
            .await
            .unwrap();
        s.create_member(&sc, &a, g.id, member("S-1", "Bjørn", "Straße"))
            .await
            .unwrap();
        s.create_member(&sc, &a, g.id, member("O-1", "Chloé", "Œuvray"))
            .await
            .unwrap();
        s.create_member(&sc, &a, g.id, member("P-1", "Percy", "100%"))
            .await
            .unwrap();
        for q in [
            "élodie",
            "ELODIE",
            "elodie",
            "Élodie",
            "ÉLODIE",
            "elodie dupre",
            "DUPRÉ Élodie",
            "lodie",
            "e-1@example",
        ] {
            assert_eq!(search(&s, &g, q).await, ["E-1"], "{q}");
        }
        assert_eq!(search(&s, &g, "strasse").await, ["S-1"]);
        assert_eq!(search(&s, &g, "STRAßE").await, ["S-1"]);
        assert_eq!(search(&s, &g, "bjorn").await, ["S-1"]);
        assert_eq!(search(&s, &g, "oeuvray").await, ["O-1"]);
        assert_eq!(search(&s, &g, "œUVRAY").await, ["O-1"]);
        assert_eq!(search(&s, &g, "chloe").await, ["O-1"]);
        assert_eq!(
            search(&s, &g, "%").await,
            ["P-1"],
            "LIKE wildcards are literal"
        );
        assert!(search(&s, &g, "_").await.is_empty());
        assert!(
            search(&s, &g, "dupre\nelodie").await.len() == 1,
            "whitespace in the term folds to one space"
        );

        // Updates and imports keep the key current.
        s.update_member(
            &sc,
            &a,
            g.id,
            elodie.id,
            MemberPatch {
                first_name: Some("Hélène".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(search(&s, &g, "elodie").await.is_empty());
        assert_eq!(search(&s, &g, "HELENE").await, ["E-1"]);
        s.insert_members_bulk(
            &sc,
            &a,
            g.id,
            None,
            &[member("I-1", "Ingrid", "Lefèvre")],
            &|_| {},
        )
        .await
        .unwrap();
        assert_eq!(search(&s, &g, "LEFEVRE").await, ["I-1"]);

        // Rows without a key (written before migration 0006) are filled in after migrating.
        blank_search_keys(db).await;
        assert!(search(&s, &g, "helene").await.is_empty());
        s.migrate().await.unwrap();
        assert_eq!(search(&s, &g, "helene").await, ["E-1"]);
        assert_eq!(search(&s, &g, "lefevre").await, ["I-1"]);
    }
}

macro_rules! cases {
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
                    let Some(db) = super::TestDb::postgres().await else { return };
                    super::cases::$case(&db).await;
                }
            )*
        }
    };
}

cases!(
    concurrent_scans_record_one_visit,
    concurrent_reviews_one_wins,
    stale_imports_are_failed_and_fenced,
    member_search_folds_case_and_accents,
);
