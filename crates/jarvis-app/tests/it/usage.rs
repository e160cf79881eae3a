//! Usage limits on both backends: the measures of constructed data (rows, requests, voice
//! minutes, AI cost, object storage per franchise prefix), the snapshots each scope sees, and
//! the alerts: at 80 % once, at 100 % once, not again in the same month, again next month,
//! each with its e-mail to the franchise's owners.

use jarvis_app::auth::crypto::MasterKey;
use jarvis_app::objects::Objects;
use jarvis_app::usage::{AlertMail, PlanLimits, UsageLimits, check, storage_usage, view};
use jarvis_core::cost::{BudgetPeriod, TokenUsage};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use time::{Duration, OffsetDateTime};

pub(crate) struct Tenant {
    pub franchise: FranchiseId,
    pub gym: GymId,
    pub scope: Scope,
}

pub(crate) async fn tenant(s: &dyn Store, name: &str) -> Tenant {
    let (gym, scope) = jarvis_store::testing::active_gym(s, name, &format!("{name} gym")).await;
    Tenant {
        franchise: gym.franchise_id,
        gym: gym.id,
        scope,
    }
}

pub(crate) async fn member(s: &dyn Store, t: &Tenant, badge: &str) -> Member {
    let new = jarvis_store::testing::new_member(badge);
    s.create_member(&t.scope, &Actor::cli(), t.gym, new)
        .await
        .unwrap()
}

/// A voice call of `t` lasting `secs`, with one metered response of `cost_pico` done at `at`.
pub(crate) async fn call(
    s: &dyn Store,
    t: &Tenant,
    m: &Member,
    secs: i64,
    cost_pico: u64,
    at: OffsetDateTime,
) {
    let owner = jarvis_app::instance::register(s).await.unwrap();
    let session = s
        .start_session(
            &t.scope,
            t.gym,
            NewVoiceSession {
                member_id: m.id,
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
    s.record_response(
        &t.scope,
        session.id,
        ResponseUsage {
            response_id: format!("resp_{}", uuid::Uuid::now_v7()),
            at,
            usage: TokenUsage::default(),
            cost_pico,
        },
        None,
    )
    .await
    .unwrap();
    assert!(
        s.end_session(
            &t.scope,
            session.id,
            EndReason::MemberEnded,
            session.started_at + Duration::seconds(secs),
        )
        .await
        .unwrap()
    );
}

pub(crate) async fn user(s: &dyn Store, email: &str, role: Role, target: MembershipTarget) {
    s.create_user(
        &Actor::cli(),
        NewUser {
            email: email.into(),
            display_name: email.into(),
            locale: Locale::Fr,
            password_hash: None,
        },
        Some((role, target)),
    )
    .await
    .unwrap();
}

fn logged(gym: Option<GymId>, at: OffsetDateTime) -> RequestLogEntry {
    RequestLogEntry {
        at,
        instance: InstanceId::from(uuid::Uuid::now_v7()),
        method: "GET".into(),
        route: "/api/v1/gyms/{id}".into(),
        status: 200,
        latency_us: 10,
        gym,
    }
}

fn snapshot(v: &[UsageSnapshot], scope: UsageScope, metric: UsageMetric) -> Option<u64> {
    v.iter()
        .find(|s| s.scope == scope && s.metric == metric)
        .map(|s| s.value)
}

async fn case(db: &TestDb) {
    let s = db.store();
    let s = s.as_ref();
    let now = OffsetDateTime::now_utc();
    let a = tenant(s, "Alpha").await;
    let b = tenant(s, "Beta").await;
    let m1 = member(s, &a, "A-1").await;
    member(s, &a, "A-2").await;
    // 90 s and 20 s of calls ($2 and $0.50 metered) in A, nothing in B.
    call(s, &a, &m1, 90, 2_000_000 * 1_000_000, now).await;
    call(s, &a, &m1, 20, 500_000 * 1_000_000, now).await;
    // Three requests naming A's gym, one naming B's, two naming none; one of A's last month.
    s.record_requests(&[
        logged(Some(a.gym), now),
        logged(Some(a.gym), now),
        logged(Some(a.gym), now),
        logged(Some(b.gym), now),
        logged(None, now),
        logged(None, now),
        logged(Some(a.gym), now - Duration::days(40)),
    ])
    .await
    .unwrap();
    user(
        s,
        "owner-a@x.test",
        Role::FranchiseOwner,
        MembershipTarget::Franchise(a.franchise),
    )
    .await;
    user(
        s,
        "owner-b@x.test",
        Role::FranchiseOwner,
        MembershipTarget::Franchise(b.franchise),
    )
    .await;

    // The database's own measures.
    let m = s
        .measure_usage(&Scope::Platform, BudgetPeriod::of(now))
        .await
        .unwrap();
    let ua = m
        .franchises
        .iter()
        .find(|(f, _)| *f == a.franchise)
        .unwrap()
        .1;
    let ub = m
        .franchises
        .iter()
        .find(|(f, _)| *f == b.franchise)
        .unwrap()
        .1;
    // A: 1 gym + 2 members + 2 voice sessions; B: its gym.
    assert_eq!((ua.rows, ub.rows), (5, 1));
    assert_eq!((ua.api_requests, ub.api_requests), (3, 1));
    assert_eq!((ua.voice_seconds, ub.voice_seconds), (110, 0));
    assert_eq!(
        (ua.ai_cost_pico, ub.ai_cost_pico),
        (2_500_000 * 1_000_000, 0)
    );
    assert_eq!(m.platform.rows, 6);
    assert_eq!(
        m.platform.api_requests, 6,
        "requests naming no gym count too"
    );
    assert!(m.db_bytes > 0);
    assert!(
        s.measure_usage(&a.scope, BudgetPeriod::of(now))
            .await
            .is_err(),
        "measures are the platform's"
    );

    // Object storage: per franchise prefix, everything in the platform's total.
    let dir = tempfile::tempdir().unwrap();
    let objects = Objects::local(dir.path()).unwrap();
    objects
        .put(
            &format!("franchises/{}/report.html", a.franchise),
            vec![0u8; 1000].into(),
        )
        .await
        .unwrap();
    objects
        .put("backups/b.jsonl.gz", vec![0u8; 500].into())
        .await
        .unwrap();
    let storage = storage_usage(&objects).await.unwrap();
    assert_eq!(storage.franchises.get(&a.franchise), Some(&1000));
    assert_eq!(storage.total, 1500);

    // The plan: A's 5 rows are 83 % of 6; everything else far below.
    let limits = UsageLimits {
        franchise: PlanLimits {
            rows: 6,
            db_bytes: 0,
            api_requests: 1000,
            storage_bytes: 0,
            voice_minutes: 1000,
            ai_cost_micros: 0,
        },
        platform: PlanLimits::default(),
    };
    let master = MasterKey::generate();
    let mail = AlertMail {
        master: &master,
        public_base: "http://jarvis.test",
    };
    let r = check(s, Some(&storage), &limits, &mail, now).await.unwrap();
    assert_eq!(r.alerts, 1, "A's rows at 80 %");
    let mails = s.emails_to("owner-a@x.test", 10).await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].kind, "usage_alert");
    assert!(mails[0].subject.contains("80 %"), "{}", mails[0].subject);
    assert!(s.emails_to("owner-b@x.test", 10).await.unwrap().is_empty());

    let mine = s
        .usage_snapshots(&Scope::Franchise {
            franchise: a.franchise,
        })
        .await
        .unwrap();
    let fa = UsageScope::Franchise(a.franchise);
    assert_eq!(snapshot(&mine, fa, UsageMetric::Rows), Some(5));
    assert_eq!(snapshot(&mine, fa, UsageMetric::VoiceMinutes), Some(2));
    assert_eq!(
        snapshot(&mine, fa, UsageMetric::AiCostMicros),
        Some(2_500_000)
    );
    assert_eq!(snapshot(&mine, fa, UsageMetric::StorageBytes), Some(1000));
    assert!(
        mine.iter().all(|x| x.scope == fa),
        "a franchise sees only its own usage"
    );
    let all = s.usage_snapshots(&Scope::Platform).await.unwrap();
    assert_eq!(
        snapshot(&all, UsageScope::Platform, UsageMetric::StorageBytes),
        Some(1500)
    );
    assert!(snapshot(&all, UsageScope::Franchise(b.franchise), UsageMetric::Rows).is_some());
    let v = view(s, &Scope::Platform).await.unwrap();
    assert_eq!(
        v.tenants[0].scope,
        UsageScope::Platform,
        "the platform first"
    );
    assert_eq!(v.tenants.len(), 3);

    // Again in the same hour, the same month: nothing new.
    let r = check(s, Some(&storage), &limits, &mail, now).await.unwrap();
    assert_eq!(r.alerts, 0);

    // A sixth row: 100 %, once (80 % already went out this month).
    member(s, &a, "A-3").await;
    let r = check(s, Some(&storage), &limits, &mail, now).await.unwrap();
    assert_eq!(r.alerts, 1);
    let r = check(s, Some(&storage), &limits, &mail, now).await.unwrap();
    assert_eq!(r.alerts, 0);
    assert_eq!(s.emails_to("owner-a@x.test", 10).await.unwrap().len(), 2);
    let alerts = s
        .list_usage_alerts(
            &Scope::Franchise {
                franchise: a.franchise,
            },
            10,
        )
        .await
        .unwrap();
    assert_eq!(alerts.len(), 2);
    assert!(
        s.list_usage_alerts(
            &Scope::Franchise {
                franchise: b.franchise
            },
            10
        )
        .await
        .unwrap()
        .is_empty()
    );

    // Next month the rows are still there: both thresholds fire again, once each.
    let next = now + Duration::days(32);
    let r = check(s, Some(&storage), &limits, &mail, next)
        .await
        .unwrap();
    assert_eq!(r.alerts, 2);
    let r = check(s, Some(&storage), &limits, &mail, next)
        .await
        .unwrap();
    assert_eq!(r.alerts, 0);
}

#[tokio::test]
async fn sqlite_usage_is_measured_and_alerted_once_per_month() {
    case(&TestDb::sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn postgres_usage_is_measured_and_alerted_once_per_month() {
    case(&TestDb::postgres().await.unwrap()).await;
}
