//! Kiosk health alerts and the error log on both backends: one "kiosk offline" e-mail per
//! outage and one "back online" per recovery however many runs race, none for unpaired or
//! revoked kiosks; the error log counts a fingerprint's occurrences and e-mails a critical one
//! once per window, even from two instances at once.

use jarvis_app::auth::crypto::MasterKey;
use jarvis_app::errors::{CriticalAlerts, ErrorKind, ErrorLog};
use jarvis_app::kiosk_health::{HealthAlerts, HealthReport, check};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::testing::TestDb;
use jarvis_store::*;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};

type S = Arc<dyn Store>;

async fn emails_of(s: &S, kind: &str) -> Vec<OutboxEmail> {
    s.pending_emails(500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

async fn user(s: &S, email: &str, locale: Locale, grant: (Role, MembershipTarget)) -> User {
    s.create_user(
        &Actor::cli(),
        NewUser {
            email: email.into(),
            display_name: "Camille".into(),
            locale,
            password_hash: None,
        }
        .validate()
        .unwrap(),
        Some(grant),
    )
    .await
    .unwrap()
}

async fn kiosk(s: &S, g: &Gym, name: &str, paired: bool) -> Kiosk {
    let a = Actor::cli();
    let sc = Scope::Gym {
        franchise: g.franchise_id,
        gym: g.id,
    };
    let k = s
        .create_kiosk(&sc, &a, g.id, NewKiosk { name: name.into() })
        .await
        .unwrap();
    if !paired {
        return k;
    }
    let soon = OffsetDateTime::now_utc() + Duration::minutes(15);
    let code = format!("code-{}", k.id);
    s.set_pairing_code(&sc, &a, g.id, k.id, &code, soon)
        .await
        .unwrap();
    s.pair_kiosk(&code, &format!("token-{}", k.id))
        .await
        .unwrap()
        .kiosk
}

async fn heartbeat(s: &S, k: &Kiosk, at: OffsetDateTime) {
    s.record_heartbeats(&[PendingHeartbeat {
        kiosk: k.id,
        gym: k.gym_id,
        franchise: k.franchise_id,
        heartbeat: Heartbeat {
            app_version: "1.0".into(),
            uptime_secs: 10,
            mic_status: MicStatus::Ok,
            network_quality: NetworkQuality::Good,
            voice_latency_ms: None,
        },
        received_at: at,
        heard_latency: Vec::new(),
    }])
    .await
    .unwrap();
}

/// Two checks at once, as two instances running the job in the same minute would.
async fn race(s: &S, master: &MasterKey, now: OffsetDateTime) -> HealthReport {
    let alerts = HealthAlerts {
        master,
        public_base: "https://jarvis.example",
    };
    let after = StdDuration::from_secs(120);
    let (a, b) = tokio::join!(
        check(s.as_ref(), &alerts, after, now),
        check(s.as_ref(), &alerts, after, now)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    HealthReport {
        opened: a.opened + b.opened,
        closed: a.closed + b.closed,
    }
}

async fn kiosk_alerts_case(db: &TestDb) {
    let s = db.store();
    let a = Actor::cli();
    let master = MasterKey::generate();
    let f = s
        .create_franchise(&Scope::Platform, &a, NewFranchise { name: "F".into() })
        .await
        .unwrap();
    let g = s
        .create_gym(
            &Scope::Platform,
            &a,
            NewGym {
                franchise_id: f.id,
                name: "Lyon".into(),
                address: None,
                timezone: "Europe/Paris".into(),
                locale: Locale::Fr,
                settings: serde_json::json!({}),
            }
            .validate()
            .unwrap(),
            GymStatus::Active,
        )
        .await
        .unwrap();
    let sc = Scope::Gym {
        franchise: f.id,
        gym: g.id,
    };
    user(
        &s,
        "manager@gym.test",
        Locale::Fr,
        (Role::GymManager, MembershipTarget::Gym(f.id, g.id)),
    )
    .await;
    // At the microsecond, as both backends store it.
    let t0 = OffsetDateTime::now_utc() - Duration::hours(1);
    let t0 = t0
        .replace_nanosecond(t0.nanosecond() / 1000 * 1000)
        .unwrap();
    let desk = kiosk(&s, &g, "Accueil", true).await;
    heartbeat(&s, &desk, t0).await;
    // Never alerted: an unpaired kiosk, and a paired one revoked after its last heartbeat.
    kiosk(&s, &g, "En carton", false).await;
    let gone = kiosk(&s, &g, "Retirée", true).await;
    heartbeat(&s, &gone, t0).await;
    s.revoke_kiosk(&sc, &a, g.id, gone.id).await.unwrap();

    // Heard from within the threshold: nothing.
    let r = race(&s, &master, t0 + Duration::seconds(60)).await;
    assert_eq!(r, HealthReport::default());
    assert!(emails_of(&s, "kiosk_offline").await.is_empty());

    // Silent for ten minutes: one outage, one e-mail, though two runs raced.
    let r = race(&s, &master, t0 + Duration::minutes(10)).await;
    assert_eq!(r.opened, 1, "{r:?}");
    let offline = emails_of(&s, "kiosk_offline").await;
    assert_eq!(offline.len(), 1);
    assert_eq!(offline[0].to_address, "manager@gym.test");
    assert!(offline[0].subject.contains("Accueil") && offline[0].subject.contains("hors ligne"));
    // Still silent a minute later: the outage is already open, no second e-mail.
    let r = race(&s, &master, t0 + Duration::minutes(11)).await;
    assert_eq!(r, HealthReport::default());
    assert_eq!(emails_of(&s, "kiosk_offline").await.len(), 1);

    // Heard again: one "back online" e-mail.
    let back = t0 + Duration::minutes(12);
    heartbeat(&s, &desk, back).await;
    let r = race(&s, &master, back + Duration::seconds(5)).await;
    assert_eq!(r.closed, 1, "{r:?}");
    assert_eq!(emails_of(&s, "kiosk_online").await.len(), 1);
    let r = race(&s, &master, back + Duration::seconds(65)).await;
    assert_eq!(r, HealthReport::default());
    assert_eq!(emails_of(&s, "kiosk_online").await.len(), 1);

    let history = s
        .list_kiosk_outages(&sc, g.id, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(history.total, 1);
    let o = &history.items[0];
    assert_eq!((o.kiosk_id, o.kiosk_name.as_str()), (desk.id, "Accueil"));
    assert_eq!(o.started_at, t0);
    assert_eq!(o.ended_at, Some(back));
    assert!(o.offline_alerted_at.is_some() && o.online_alerted_at.is_some());

    // Silent again, then revoked during the outage: closed quietly.
    let r = race(&s, &master, back + Duration::minutes(10)).await;
    assert_eq!(r.opened, 1);
    assert_eq!(emails_of(&s, "kiosk_offline").await.len(), 2);
    s.revoke_kiosk(&sc, &a, g.id, desk.id).await.unwrap();
    let r = race(&s, &master, back + Duration::minutes(11)).await;
    assert_eq!(r.closed, 1);
    assert_eq!(emails_of(&s, "kiosk_online").await.len(), 1);
    let history = s
        .list_kiosk_outages(&sc, g.id, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(history.total, 2);
    assert!(history.items.iter().all(|o| o.kiosk_id == desk.id));

    // Another tenant sees none of it.
    let other = Scope::Franchise {
        franchise: FranchiseId::new(),
    };
    assert!(
        s.list_kiosk_outages(&other, g.id, PageRequest::default())
            .await
            .map(|p| p.total == 0)
            .unwrap_or(true)
    );
}

#[tokio::test]
async fn sqlite_one_kiosk_alert_per_outage_and_recovery() {
    kiosk_alerts_case(&TestDb::sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn postgres_one_kiosk_alert_per_outage_and_recovery() {
    kiosk_alerts_case(&TestDb::postgres().await.unwrap()).await;
}

async fn error_log_case(db: &TestDb) {
    let s = db.store();
    let master = MasterKey::generate();
    user(
        &s,
        "admin@jarvis.test",
        Locale::En,
        (Role::SuperAdmin, MembershipTarget::Platform),
    )
    .await;
    let alerts = CriticalAlerts {
        master,
        public_base: "https://jarvis.example".into(),
        window: Duration::hours(1),
    };
    // Two instances, each with its own buffer.
    let one = ErrorLog::new(s.clone(), Some(alerts.clone()));
    let two = ErrorLog::new(s.clone(), Some(alerts));
    one.push(
        ErrorKind::Job,
        "mail.drain",
        ErrorLevel::Critical,
        "dead-lettered after 3 attempts: row 17 of jean.dupont@example.fr",
    );
    one.push(
        ErrorKind::Job,
        "mail.drain",
        ErrorLevel::Critical,
        "dead-lettered after 3 attempts: row 42 of jean.dupont@example.fr",
    );
    two.push(
        ErrorKind::Job,
        "mail.drain",
        ErrorLevel::Critical,
        "dead-lettered after 3 attempts: row 99 of jean.dupont@example.fr",
    );
    one.push(
        ErrorKind::Http,
        "GET /x",
        ErrorLevel::Error,
        "500 internal: boom",
    );
    let (a, b) = tokio::join!(one.flush(), two.flush());
    a.unwrap();
    b.unwrap();

    let rows = s
        .list_errors(
            &Scope::Platform,
            Some(ErrorLevel::Critical),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(rows.total, 1, "one fingerprint");
    let e = &rows.items[0];
    assert_eq!(
        (e.count, e.kind.as_str(), e.source.as_str()),
        (3, "job", "mail.drain")
    );
    assert!(!e.message.contains("jean.dupont"), "{}", e.message);
    assert!(e.alerted_at.is_some());
    let all = s
        .list_errors(&Scope::Platform, None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(all.total, 2);
    let mails = emails_of(&s, "critical_error").await;
    assert_eq!(mails.len(), 1, "one e-mail for the fingerprint");
    assert_eq!(mails[0].to_address, "admin@jarvis.test");

    // Again within the window: counted, not e-mailed.
    one.push(
        ErrorKind::Job,
        "mail.drain",
        ErrorLevel::Critical,
        "dead-lettered after 3 attempts: row 7 of ann@example.org",
    );
    one.flush().await.unwrap();
    let rows = s
        .list_errors(
            &Scope::Platform,
            Some(ErrorLevel::Critical),
            PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(rows.items[0].count, 4);
    assert_eq!(emails_of(&s, "critical_error").await.len(), 1);

    // Past the window (the last alert aged by the claim's clock): e-mailed once more.
    let fp = rows.items[0].fingerprint.clone();
    let later = OffsetDateTime::now_utc() + Duration::minutes(61);
    assert!(
        s.claim_error_alert(&fp, later, Duration::hours(1), Vec::new())
            .await
            .unwrap()
    );
    assert!(
        !s.claim_error_alert(&fp, later, Duration::hours(1), Vec::new())
            .await
            .unwrap()
    );

    // Only the platform reads it; the retention sweep deletes rows not seen within the period.
    let gym_scope = Scope::Franchise {
        franchise: FranchiseId::new(),
    };
    assert!(
        s.list_errors(&gym_scope, None, PageRequest::default())
            .await
            .is_err()
    );
    let purged = s
        .purge_log(
            LogTable::Errors,
            OffsetDateTime::now_utc() + Duration::minutes(1),
            500,
        )
        .await
        .unwrap();
    assert_eq!(purged, 2);
}

#[tokio::test]
async fn sqlite_error_log_counts_fingerprints_and_alerts_once() {
    error_log_case(&TestDb::sqlite().await.unwrap()).await;
}

#[tokio::test]
async fn postgres_error_log_counts_fingerprints_and_alerts_once() {
    error_log_case(&TestDb::postgres().await.unwrap()).await;
}
