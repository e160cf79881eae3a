//! The gym overview's numbers and the Web Vitals p75 on constructed data, on both backends:
//! sessions of two members (one twice) with known lengths and analyses, a follow-up, a kiosk;
//! another gym's scope sees none of it. Vitals: 1..=100 in a shuffled order give a p75 of 75
//! (nearest rank), per page, metric and day.

use jarvis_app::overview::{self, Period};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use time::{Duration, OffsetDateTime};

async fn gym(s: &dyn Store, name: &str) -> (Gym, Scope) {
    jarvis_store::testing::active_gym(s, name, name).await
}

async fn member(s: &dyn Store, scope: &Scope, gym: GymId, badge: &str) -> MemberId {
    let new = jarvis_store::testing::new_member(badge);
    s.create_member(scope, &Actor::cli(), gym, new)
        .await
        .unwrap()
        .id
}

/// One planned session: member, length in seconds (none: live), satisfaction, sentiment
/// score, topics.
type Planned = (
    MemberId,
    Option<i64>,
    Option<u8>,
    Option<f64>,
    &'static [&'static str],
);

/// The gym's overview of the last 7 days, no budget, kiosks offline after 2 minutes.
async fn week(s: &dyn Store, scope: &Scope, gym: GymId, now: OffsetDateTime) -> overview::Overview {
    overview::gym(s, scope, gym, Period::Week, None, Duration::minutes(2), now)
        .await
        .unwrap()
}

async fn overview_case(db: &TestDb) {
    let s = db.store();
    let s = s.as_ref();
    let (g, scope) = gym(s, "Overview").await;
    let (other, other_scope) = gym(s, "Elsewhere").await;
    let m1 = member(s, &scope, g.id, "B-1").await;
    let m2 = member(s, &scope, g.id, "B-2").await;
    let owner = jarvis_app::instance::register(s).await.unwrap();
    let plan: [Planned; 4] = [
        (m1, Some(60), Some(5), Some(0.5), &["Yoga", "hours"]),
        (m1, Some(120), Some(3), Some(-0.1), &["hours"]),
        (m2, Some(30), None, None, &[]),
        (m2, None, None, None, &[]),
    ];
    let mut first = None;
    for (m, secs, sat, sent, topics) in plan {
        let v = s
            .start_session(
                &scope,
                g.id,
                NewVoiceSession {
                    member_id: m,
                    kiosk_id: None,
                    owner,
                    lease: Duration::minutes(2),
                    model: "gpt-realtime-2.1-mini".into(),
                    transcription_model: None,
                    language: Locale::Fr,
                    max_duration_secs: 600,
                },
            )
            .await
            .unwrap()
            .unwrap();
        first.get_or_insert(v.id);
        if let Some(secs) = secs {
            assert!(
                s.end_session(
                    &scope,
                    v.id,
                    EndReason::MemberEnded,
                    v.started_at + Duration::seconds(secs)
                )
                .await
                .unwrap()
            );
        }
        if sat.is_some() {
            s.put_session_analysis(
                &scope,
                v.id,
                NewSessionAnalysis {
                    summary: "ok".into(),
                    sentiment: Sentiment::Neutral,
                    topics: topics.iter().map(|t| t.to_string()).collect(),
                    sentiment_score: sent,
                    satisfaction: sat,
                    ..Default::default()
                }
                .validate()
                .unwrap(),
            )
            .await
            .unwrap();
        }
    }
    s.create_follow_up(
        &scope,
        &Actor::cli(),
        g.id,
        NewFollowUp {
            member_id: Some(m1),
            session_id: first,
            reason: "call back".into(),
        }
        .validate()
        .unwrap(),
    )
    .await
    .unwrap();
    s.create_kiosk(
        &scope,
        &Actor::cli(),
        g.id,
        NewKiosk {
            name: "Door".into(),
        }
        .validate()
        .unwrap(),
    )
    .await
    .unwrap();

    // Churn scores: m1 at high risk (no visit, ending membership, cancellation intent), m2 low.
    let t0 = OffsetDateTime::now_utc();
    let signals = |member_id, risky: bool| jarvis_core::churn::ChurnSignals {
        member_id,
        visits_recent: if risky { 0 } else { 8 },
        visits_prior: 8,
        last_visit_at: Some(t0 - Duration::days(if risky { 60 } else { 1 })),
        membership_end_date: risky.then(|| t0.date() + Duration::days(3)),
        sentiment_avg: Some(if risky { -0.8 } else { 0.6 }),
        cancellation_intents: u32::from(risky),
    };
    let scores: Vec<_> = [(m1, true), (m2, false)]
        .into_iter()
        .map(|(m, risky)| NewChurnScore {
            member_id: m,
            assessment: jarvis_core::churn::assess(&signals(m, risky), t0),
        })
        .collect();
    assert_eq!(
        scores[0].assessment.level,
        jarvis_core::churn::ChurnLevel::High
    );
    assert_ne!(
        scores[1].assessment.level,
        jarvis_core::churn::ChurnLevel::High
    );
    s.put_churn_scores(&scope, g.id, t0, &scores).await.unwrap();

    let now = OffsetDateTime::now_utc() + Duration::seconds(5);
    let o = overview::gym(
        s,
        &scope,
        g.id,
        Period::Today,
        Some(50_000_000),
        Duration::minutes(2),
        now,
    )
    .await
    .unwrap();
    let t = &o.sessions;
    assert_eq!(t.conversations, 4);
    assert_eq!(t.members, 2);
    assert_eq!(t.avg_duration_secs, Some(70), "(60 + 120 + 30) / 3");
    assert_eq!(t.satisfaction, Some(4.0));
    assert!(t.sentiment.is_some_and(|v| (v - 0.2).abs() < 1e-9), "{t:?}");
    assert_eq!(t.per_day.len(), 1);
    assert_eq!(t.per_day[0].conversations, 4);
    assert_eq!(t.topics, vec![("hours".into(), 2), ("yoga".into(), 1)]);
    assert_eq!(o.follow_ups_open, 1);
    assert_eq!(o.churn_high, 1, "only m1 is at high risk");
    assert_eq!(o.cost.budget_micros, Some(50_000_000));
    // An unpaired kiosk is neither online nor offline.
    assert_eq!((o.kiosks.online, o.kiosks.offline), (0, 0));
    assert_eq!(o.latency.count, 0);

    // A re-run analysis replaces the first answer in the figures, it does not add to it.
    let Some(first) = first else {
        panic!("no session started")
    };
    s.put_session_analysis(
        &scope,
        first,
        NewSessionAnalysis {
            summary: "again".into(),
            sentiment: Sentiment::Negative,
            topics: vec!["Pool".into(), " pool ".into()],
            sentiment_score: Some(-0.5),
            satisfaction: Some(1),
            ..Default::default()
        }
        .validate()
        .unwrap(),
    )
    .await
    .unwrap();
    let o = week(s, &scope, g.id, now).await;
    let t = &o.sessions;
    assert_eq!((t.conversations, t.members), (4, 2));
    assert_eq!(t.satisfaction, Some(2.0), "(1 + 3) / 2");
    assert!(t.sentiment.is_some_and(|v| (v + 0.3).abs() < 1e-9), "{t:?}");
    assert_eq!(t.topics, vec![("hours".into(), 1), ("pool".into(), 1)]);
    assert_eq!(t.per_day.len(), 7);
    assert_eq!(t.per_day[6].conversations, 4);

    // Deleting a call takes its share out of the figures, analysis included, and leaves no
    // topic text behind in the rollups.
    assert!(!db.find_text(&["pool"]).await.unwrap().is_empty());
    db.exec(&format!("DELETE FROM voice_sessions WHERE id = '{first}'"))
        .await
        .unwrap();
    assert_eq!(db.find_text(&["pool"]).await.unwrap(), Vec::<String>::new());
    let o = week(s, &scope, g.id, now).await;
    let t = &o.sessions;
    assert_eq!((t.conversations, t.members), (3, 2));
    assert_eq!(t.satisfaction, Some(3.0));
    assert!(t.sentiment.is_some_and(|v| (v + 0.1).abs() < 1e-9), "{t:?}");
    assert_eq!(t.topics, vec![("hours".into(), 1)]);
    assert_eq!(t.per_day[6].conversations, 3);
    // A member's last call leaving takes the member out of "who talked"; one of two does not.
    let since = now - Duration::days(1);
    assert_eq!(s.talkers(&scope, &[g.id], since).await.unwrap(), 2);
    db.exec(&format!(
        "DELETE FROM voice_sessions WHERE member_id = '{m2}'"
    ))
    .await
    .unwrap();
    assert_eq!(s.talkers(&scope, &[g.id], since).await.unwrap(), 1);
    assert_eq!(
        s.talkers(&scope, &[g.id], now + Duration::minutes(1))
            .await
            .unwrap(),
        0
    );

    // Tenant-scoped: another gym's scope reads nothing of this gym, and its own gym is empty.
    let (d0, d1) = ((now - Duration::days(1)).date(), now.date());
    assert!(
        s.session_days(&other_scope, &[g.id], d0, d1)
            .await
            .map(|v| v.is_empty())
            .unwrap_or(true)
    );
    assert!(
        s.top_topics(&other_scope, &[g.id], d0, d1, 8)
            .await
            .map(|v| v.is_empty())
            .unwrap_or(true)
    );
    let talkers = s
        .talkers(&other_scope, &[g.id], now - Duration::days(1))
        .await;
    assert_eq!(talkers.unwrap_or(0), 0);
    let o = overview::gym(
        s,
        &other_scope,
        other.id,
        Period::Month,
        None,
        Duration::minutes(2),
        now,
    )
    .await
    .unwrap();
    assert_eq!((o.sessions.conversations, o.follow_ups_open), (0, 0));
    assert_eq!(o.sessions.per_day.len(), 30);
}

async fn vitals_case(db: &TestDb) {
    use jarvis_app::vitals::{Metric, Report};
    let s = db.store();
    let s = s.as_ref();
    let now = OffsetDateTime::now_utc();
    // 1..=100 in a scrambled order (37 is coprime with 100), ten per report.
    let values: Vec<f64> = (0..100).map(|i| f64::from((i * 37) % 100 + 1)).collect();
    for chunk in values.chunks(10) {
        let r = Report {
            page: "/app/gyms/{id}".into(),
            metrics: chunk
                .iter()
                .map(|v| Metric {
                    name: "LCP".into(),
                    value: *v,
                })
                .collect(),
        };
        assert_eq!(jarvis_app::vitals::record(s, &r, now).await.unwrap(), 10);
    }
    let other = Report {
        page: "/app".into(),
        metrics: vec![
            Metric {
                name: "CLS".into(),
                value: 0.25,
            },
            Metric {
                name: "CLS".into(),
                value: 0.01,
            },
        ],
    };
    jarvis_app::vitals::record(s, &other, now - Duration::days(1))
        .await
        .unwrap();
    // A bad report stores nothing, not even its good metrics.
    let bad = Report {
        page: "/app".into(),
        metrics: vec![
            Metric {
                name: "CLS".into(),
                value: 0.5,
            },
            Metric {
                name: "LCP".into(),
                value: f64::INFINITY,
            },
        ],
    };
    assert!(jarvis_app::vitals::record(s, &bad, now).await.is_err());

    let rows = jarvis_app::vitals::daily_p75(s, &Scope::Platform, now.date(), 7)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].day, now.date().to_string(), "newest day first");
    assert_eq!(
        (rows[0].page.as_str(), rows[0].metric.as_str()),
        ("/app/gyms/{id}", "LCP")
    );
    assert_eq!((rows[0].p75, rows[0].samples), (75.0, 100));
    assert_eq!((rows[1].metric.as_str(), rows[1].p75), ("CLS", 0.25));
    // Platform staff only.
    let gym_scope = Scope::Gym {
        franchise: FranchiseId::new(),
        gym: GymId::new(),
    };
    assert!(
        jarvis_app::vitals::daily_p75(s, &gym_scope, now.date(), 7)
            .await
            .is_err()
    );
    // Retention: the logs period removes them like the request log.
    let policy = jarvis_app::retention::RetentionPolicy {
        logs: Duration::days(7),
        audit: Duration::days(365),
    };
    let r = jarvis_app::retention::sweep(s, policy, now + Duration::days(8), || false)
        .await
        .unwrap();
    assert_eq!(r.vitals, 102);
}

#[tokio::test]
async fn sqlite_overview_counts_constructed_sessions() {
    overview_case(&TestDb::sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn postgres_overview_counts_constructed_sessions() {
    overview_case(&TestDb::postgres().await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_vitals_p75_is_nearest_rank() {
    vitals_case(&TestDb::sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn postgres_vitals_p75_is_nearest_rank() {
    vitals_case(&TestDb::postgres().await.unwrap()).await;
}
