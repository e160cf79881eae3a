//! The retention sweep on both backends: request-log rows and auth events older than
//! `retention_logs_days` go, the audit log stays until `retention_audit_days`, and each gym's
//! turns go after its own `transcript_retention_days`; younger rows stay.

use jarvis_app::retention::{RetentionPolicy, sweep};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use time::{Duration, OffsetDateTime};

async fn case(db: &TestDb) {
    let s = db.store();
    let a = Actor::cli();
    let now = OffsetDateTime::now_utc();
    let f = s
        .create_franchise(
            &Scope::Platform,
            &a,
            NewFranchise {
                name: "Keep".into(),
            },
        )
        .await
        .unwrap();
    let gym = s
        .create_gym(
            &Scope::Platform,
            &a,
            NewGym {
                franchise_id: f.id,
                name: "Keep gym".into(),
                address: None,
                timezone: "UTC".into(),
                locale: Locale::Fr,
                settings: serde_json::json!({ "voice": { "transcript_retention_days": 1 } }),
            }
            .validate()
            .unwrap(),
            GymStatus::Active,
        )
        .await
        .unwrap();
    let scope = Scope::Gym {
        franchise: f.id,
        gym: gym.id,
    };
    let member = s
        .create_member(
            &scope,
            &a,
            gym.id,
            NewMember {
                badge_id: "B-1".into(),
                first_name: "Camille".into(),
                last_name: "Martin".into(),
                email: None,
                phone: None,
                birth_date: None,
                preferred_language: Locale::Fr,
                membership_type: "standard".into(),
                membership_status: MembershipStatus::Active,
                membership_end_date: None,
                goals: vec![],
                limitations: None,
                consent_voice: true,
                consent_transcripts: true,
            },
        )
        .await
        .unwrap();
    let owner = jarvis_app::instance::register(s.as_ref()).await.unwrap();
    let session = s
        .start_session(
            &scope,
            gym.id,
            NewVoiceSession {
                member_id: member.id,
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
    for at in [now - Duration::days(2), now] {
        s.record_turn(
            &scope,
            session.id,
            NewTurn::new(StorageLevel::Full, TurnRole::Member, "bonjour", at),
        )
        .await
        .unwrap();
    }
    let logged = |at: OffsetDateTime| RequestLogEntry {
        at,
        instance: owner,
        method: "GET".into(),
        route: "/healthz".into(),
        status: 200,
        latency_us: 10,
        gym: None,
    };
    s.record_requests(&[logged(now - Duration::days(8)), logged(now)])
        .await
        .unwrap();
    s.record_auth_event(NewAuthEvent {
        event: "login.failed".into(),
        user_id: None,
        email: None,
        franchise_id: None,
        gym_id: None,
        ip: None,
        user_agent: None,
        details: serde_json::json!({}),
    })
    .await
    .unwrap();
    let policy = RetentionPolicy {
        logs: Duration::days(7),
        audit: Duration::days(365),
    };

    // Today: the 8-day-old request and the 2-day-old turn (the gym keeps one day).
    let r = sweep(s.as_ref(), policy, now, || false).await.unwrap();
    assert_eq!(
        (r.requests, r.auth_events, r.audit, r.transcripts),
        (1, 0, 0, 1)
    );
    let turns = s
        .turns(&scope, session.id, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(turns.items.len(), 1);

    // Eight days on: the rest of the logs and the last turn; the audit log stays a year.
    let r = sweep(s.as_ref(), policy, now + Duration::days(8), || false)
        .await
        .unwrap();
    assert_eq!(
        (r.requests, r.auth_events, r.audit, r.transcripts),
        (1, 1, 0, 1)
    );
    assert!(
        s.list_audit(
            &Scope::Platform,
            &AuditFilter::default(),
            PageRequest::default()
        )
        .await
        .unwrap()
        .total
            > 0
    );
    let r = sweep(s.as_ref(), policy, now + Duration::days(366), || false)
        .await
        .unwrap();
    assert!(r.audit > 0);
    assert_eq!(
        s.list_audit(
            &Scope::Platform,
            &AuditFilter::default(),
            PageRequest::default()
        )
        .await
        .unwrap()
        .total,
        0
    );
}

#[tokio::test]
async fn sqlite_the_sweep_deletes_exactly_what_is_past_its_period() {
    case(&TestDb::sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn postgres_the_sweep_deletes_exactly_what_is_past_its_period() {
    case(&TestDb::postgres().await.unwrap()).await;
}
