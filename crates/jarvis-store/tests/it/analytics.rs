//! `AnalyticsStore` on both backends: the churn signals of a constructed set of members (visits
//! back-dated into the two trend windows, analyses with sentiment and cancellation intent,
//! membership end dates) come out per member and only for the gym's active members; scored with
//! `jarvis_core::churn::assess` and stored, they list highest first and are replaced by a
//! rescore (one row per member); another gym's scope sees nothing. Weekly report rows are
//! recorded once per (gym, week) with their e-mails queued once.

use jarvis_core::churn::*;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

type S = Arc<dyn Store>;

async fn gym(s: &S, name: &str) -> (GymId, FranchiseId, Scope) {
    let (g, scope) = jarvis_store::testing::active_gym(s.as_ref(), name, name).await;
    (g.id, g.franchise_id, scope)
}

async fn member(s: &S, scope: &Scope, g: GymId, badge: &str, status: MembershipStatus) -> MemberId {
    s.create_member(
        scope,
        &Actor::cli(),
        g,
        NewMember {
            badge_id: badge.into(),
            first_name: badge.into(),
            last_name: "Test".into(),
            email: None,
            phone: None,
            birth_date: None,
            preferred_language: Locale::Fr,
            membership_type: "standard".into(),
            membership_status: status,
            membership_end_date: None,
            goals: vec![],
            limitations: None,
            consent_voice: true,
            consent_transcripts: true,
        }
        .validate()
        .unwrap(),
    )
    .await
    .unwrap()
    .id
}

/// Visits `days_ago` (one per entry) and the member's last visit at the most recent one.
async fn visits(
    db: &TestDb,
    g: GymId,
    f: FranchiseId,
    m: MemberId,
    now: OffsetDateTime,
    days_ago: &[i64],
) {
    let mut sql = String::new();
    for d in days_ago {
        sql.push_str(&format!(
            "INSERT INTO member_visits (id, gym_id, franchise_id, member_id, kiosk_id, at) VALUES ('{}', '{g}', '{f}', '{m}', NULL, {});\n",
            uuid::Uuid::now_v7(),
            TestDb::ts(now - Duration::days(*d))
        ));
    }
    if let Some(last) = days_ago.iter().min() {
        sql.push_str(&format!(
            "UPDATE members SET last_visit_at = {} WHERE id = '{m}';",
            TestDb::ts(now - Duration::days(*last))
        ));
    }
    db.exec(&sql).await.unwrap();
}

/// An ended conversation of `m` `days_ago`, analysed with this sentiment and intent.
async fn talk(
    db: &TestDb,
    g: GymId,
    f: FranchiseId,
    m: MemberId,
    at: OffsetDateTime,
    score: f64,
    cancel: bool,
) {
    let sid = uuid::Uuid::now_v7();
    let t = TestDb::ts(at);
    let end = TestDb::ts(at + Duration::seconds(90));
    let sentiment = if score < 0.0 { "negative" } else { "positive" };
    db.exec(&format!(
        "INSERT INTO voice_sessions (id, franchise_id, gym_id, member_id, status, model, language, \
         owner_instance_id, lease_expires_at, started_at, ended_at, end_reason, max_duration_secs, \
         created_at, updated_at) VALUES ('{sid}', '{f}', '{g}', '{m}', 'ended', 'gpt-realtime', 'fr', \
         '{}', {t}, {t}, {end}, 'member_ended', 600, {t}, {t});\n\
         INSERT INTO session_analyses (session_id, franchise_id, gym_id, member_id, summary, sentiment, \
         topics, created_at, status, sentiment_score, satisfaction, cancellation_intent) VALUES \
         ('{sid}', '{f}', '{g}', '{m}', 'summary', '{sentiment}', '[\"price\"]', {end}, 'done', {score}, 3, {});",
        uuid::Uuid::now_v7(),
        if cancel { "TRUE" } else { "FALSE" }
    ))
    .await
    .unwrap();
}

fn page() -> PageRequest {
    PageRequest::new(Some(50), None).unwrap()
}

mod cases {
    use super::*;

    pub async fn churn_signals_and_scores_order_the_members(db: &TestDb) {
        let s = db.store();
        let now = OffsetDateTime::now_utc();
        let (g, f, scope) = gym(&s, "Churn").await;
        let steady = member(&s, &scope, g, "STEADY", MembershipStatus::Active).await;
        let fading = member(&s, &scope, g, "FADING", MembershipStatus::Active).await;
        let leaving = member(&s, &scope, g, "LEAVING", MembershipStatus::Active).await;
        let frozen = member(&s, &scope, g, "FROZEN", MembershipStatus::Frozen).await;
        // Steady: as many visits in both windows, yesterday the last, happy.
        visits(db, g, f, steady, now, &[1, 5, 12, 20, 33, 40, 47, 55]).await;
        talk(db, g, f, steady, now - Duration::days(3), 0.6, false).await;
        // Fading: 1 visit against 4, the last 20 days ago, membership ends in 20 days.
        visits(db, g, f, fading, now, &[20, 35, 42, 50, 58]).await;
        let end = (now + Duration::days(20)).date();
        db.exec(&format!(
            "UPDATE members SET membership_end_date = '{end}' WHERE id = '{fading}';"
        ))
        .await
        .unwrap();
        // Leaving: no visit in 30 days, negative talk with an intent to cancel, ended last week;
        // an old conversation (outside 90 days) with no intent does not count.
        visits(db, g, f, leaving, now, &[45, 50, 52]).await;
        talk(db, g, f, leaving, now - Duration::days(10), -0.8, true).await;
        talk(db, g, f, leaving, now - Duration::days(120), 0.9, false).await;
        let ended = (now - Duration::days(7)).date();
        db.exec(&format!(
            "UPDATE members SET membership_end_date = '{ended}' WHERE id = '{leaving}';"
        ))
        .await
        .unwrap();
        visits(db, g, f, frozen, now, &[80]).await;
        // Another gym's active member is not in this gym's batch.
        let (g2, f2, scope2) = gym(&s, "Other").await;
        let other = member(&s, &scope2, g2, "OTHER", MembershipStatus::Active).await;
        visits(db, g2, f2, other, now, &[70]).await;

        let signals = s.churn_signals(&scope, g, now, None, 500).await.unwrap();
        let ids: Vec<MemberId> = signals.iter().map(|x| x.member_id).collect();
        let mut want = vec![steady, fading, leaving];
        want.sort();
        assert_eq!(ids, want, "active members of the gym, by id");
        let of = |m: MemberId| signals.iter().find(|x| x.member_id == m).unwrap().clone();
        let st = of(steady);
        assert_eq!((st.visits_recent, st.visits_prior), (4, 4));
        assert_eq!(st.cancellation_intents, 0);
        assert!((st.sentiment_avg.unwrap() - 0.6).abs() < 1e-9);
        let fa = of(fading);
        assert_eq!((fa.visits_recent, fa.visits_prior), (1, 4));
        assert_eq!(fa.membership_end_date, Some(end));
        assert_eq!(fa.sentiment_avg, None);
        let le = of(leaving);
        assert_eq!((le.visits_recent, le.visits_prior), (0, 3));
        assert_eq!(le.cancellation_intents, 1);
        assert!((le.sentiment_avg.unwrap() + 0.8).abs() < 1e-9, "{le:?}");
        assert_eq!(le.last_visit_at.map(|t| (now - t).whole_days()), Some(45));
        // Keyset paging: after the first id, the two others.
        let rest = s
            .churn_signals(&scope, g, now, Some(ids[0]), 500)
            .await
            .unwrap();
        assert_eq!(rest.len(), 2);
        assert_eq!(rest[0].member_id, ids[1]);

        let scores: Vec<NewChurnScore> = signals
            .iter()
            .map(|x| NewChurnScore {
                member_id: x.member_id,
                assessment: assess(x, now),
            })
            .collect();
        assert_eq!(
            s.put_churn_scores(&scope, g, now, &scores).await.unwrap(),
            3
        );
        let list = s
            .list_churn(&scope, g, None, ChurnSort::default(), page())
            .await
            .unwrap();
        assert_eq!(list.total, 3);
        let order: Vec<MemberId> = list.items.iter().map(|e| e.churn.member_id).collect();
        assert_eq!(order, vec![leaving, fading, steady], "{list:?}");
        assert_eq!(list.items[0].churn.level, ChurnLevel::High);
        assert_eq!(list.items[2].churn.score, 0);
        assert_eq!(list.items[0].first_name, "LEAVING");
        // The factors are stored with the score and explain it.
        let mine = s.member_churn(&scope, g, leaving).await.unwrap().unwrap();
        assert_eq!(mine.factors.len(), 5);
        let sum: u32 = mine.factors.iter().map(|f| u32::from(f.contribution)).sum();
        assert_eq!(u32::from(mine.score), sum);
        let high = s
            .list_churn(
                &scope,
                g,
                Some(ChurnLevel::High),
                ChurnSort::default(),
                page(),
            )
            .await
            .unwrap();
        assert_eq!(high.total, 1);

        // A rescore replaces (one row per member).
        let later = now + Duration::hours(1);
        let zero = ChurnAssessment {
            score: 0,
            level: ChurnLevel::Low,
            factors: vec![],
        };
        s.put_churn_scores(
            &scope,
            g,
            later,
            &[NewChurnScore {
                member_id: leaving,
                assessment: zero,
            }],
        )
        .await
        .unwrap();
        let list = s
            .list_churn(&scope, g, None, ChurnSort::default(), page())
            .await
            .unwrap();
        assert_eq!(list.total, 3);
        assert_eq!(list.items[0].churn.member_id, fading);
        // Another gym's scope sees none of it.
        assert!(
            s.list_churn(&scope2, g, None, ChurnSort::default(), page())
                .await
                .is_err()
        );
        assert_eq!(s.member_churn(&scope2, g2, leaving).await.unwrap(), None);
        // A member who stops being active leaves the list.
        s.update_member(
            &scope,
            &Actor::cli(),
            g,
            fading,
            MemberPatch {
                membership_status: Some(MembershipStatus::Cancelled),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            s.list_churn(&scope, g, None, ChurnSort::default(), page())
                .await
                .unwrap()
                .total,
            2
        );
    }

    pub async fn reports_are_recorded_once_per_week(db: &TestDb) {
        let s = db.store();
        let (g, _, scope) = gym(&s, "Reports").await;
        let starts = time::macros::datetime!(2026-06-01 00:00 UTC);
        let email = |to: &str| NewEmail {
            id: uuid::Uuid::now_v7(),
            to_address: to.into(),
            subject: "weekly".into(),
            body_text: "t".into(),
            body_html: "h".into(),
            kind: "weekly_report".into(),
        };
        let new = |id: ReportId| NewReport {
            id,
            gym_id: g,
            week: "2026-W23".into(),
            starts_at: starts,
            object_key: format!("reports/{g}/2026-W23.html"),
            size_bytes: 1234,
        };
        let first = ReportId::new();
        let (r, created) = s
            .record_report(&scope, new(first), vec![email("boss@example.com")])
            .await
            .unwrap();
        assert!(created);
        assert_eq!(r.id, first);
        assert_eq!(r.starts_at, starts);
        // A second run of the week records nothing and queues no e-mail.
        let (r2, created) = s
            .record_report(
                &scope,
                new(ReportId::new()),
                vec![email("boss@example.com")],
            )
            .await
            .unwrap();
        assert!(!created);
        assert_eq!(r2.id, first);
        assert_eq!(s.emails_to("boss@example.com", 10).await.unwrap().len(), 1);
        assert_eq!(
            s.report_of_week(&scope, g, "2026-W23").await.unwrap(),
            Some(r.clone())
        );
        let list = s
            .list_reports(&scope, g, ReportSort::default(), page())
            .await
            .unwrap();
        assert_eq!(list.total, 1);
        assert_eq!(s.report(&scope, g, first).await.unwrap(), r);
        // Another gym's scope: not found.
        let (g2, _, scope2) = gym(&s, "Elsewhere").await;
        assert!(matches!(
            s.report(&scope2, g, first).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            s.report(&scope2, g2, first).await,
            Err(StoreError::NotFound(_))
        ));
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
    churn_signals_and_scores_order_the_members,
    reports_are_recorded_once_per_week,
);
