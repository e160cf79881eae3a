//! Coalesced kiosk heartbeats (`jarvis_server::heartbeats`) on both backends: a stale kiosk is
//! written through, an online one waits for the flush, the flusher writes on shutdown, two
//! instances flushing the same kiosk leave the newest heartbeat, and a server stopped right
//! after a heartbeat has written it.

use crate::common;

use common::{Backend, TestApp, send};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_server::heartbeats::HeartbeatBuffer;
use jarvis_server::kiosk_api::hash_secret;
use jarvis_store::testing::TestDb;
use jarvis_store::{LatencySource, Store};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

const OFFLINE_AFTER: Duration = Duration::from_secs(120);

/// An active gym with one kiosk paired to `token`.
pub(crate) async fn paired_kiosk(s: &Arc<dyn Store>, token: &str) -> Kiosk {
    let a = Actor::cli();
    let f = s
        .create_franchise(
            &Scope::Platform,
            &a,
            NewFranchise {
                name: format!("F {token}"),
            },
        )
        .await
        .unwrap();
    let g = s
        .create_gym(
            &Scope::Platform,
            &a,
            NewGym {
                franchise_id: f.id,
                name: "G".into(),
                address: None,
                timezone: "Europe/Paris".into(),
                locale: Locale::Fr,
                settings: json!({}),
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
    let k = s
        .create_kiosk(&sc, &a, g.id, NewKiosk { name: "K".into() })
        .await
        .unwrap();
    let soon = OffsetDateTime::now_utc() + time::Duration::minutes(15);
    let code = format!("code-{token}");
    s.set_pairing_code(&sc, &a, g.id, k.id, &code, soon)
        .await
        .unwrap();
    s.pair_kiosk(&code, &hash_secret(token))
        .await
        .unwrap()
        .kiosk
}

fn hb(version: &str) -> Heartbeat {
    Heartbeat {
        app_version: version.into(),
        uptime_secs: 10,
        mic_status: MicStatus::Ok,
        network_quality: NetworkQuality::Good,
        voice_latency_ms: None,
    }
}

async fn stored(s: &Arc<dyn Store>, k: &Kiosk) -> Kiosk {
    s.kiosk(&Scope::Platform, k.gym_id, k.id).await.unwrap()
}

async fn stale_kiosks_write_through_and_online_ones_wait_for_the_flush(db: TestDb) {
    let s = db.store();
    let k = paired_kiosk(&s, "jk_one").await;
    let buf = HeartbeatBuffer::new(s.clone(), OFFLINE_AFTER);

    // Never seen: written at once, so it shows online everywhere without waiting.
    buf.submit(&k, hb("1.0")).await.unwrap();
    assert!(buf.is_empty());
    let seen = stored(&s, &k).await;
    let first = seen.last_seen_at.expect("written through");
    assert_eq!(seen.app_version.as_deref(), Some("1.0"));

    // Seen just now: kept in memory until the flush.
    buf.submit(&seen, hb("1.1")).await.unwrap();
    assert_eq!(buf.len(), 1);
    assert_eq!(stored(&s, &k).await.last_seen_at, Some(first));
    assert_eq!(buf.flush().await.unwrap(), 1);
    assert!(buf.is_empty());
    let after = stored(&s, &k).await;
    assert!(after.last_seen_at.unwrap() > first);
    assert_eq!(after.app_version.as_deref(), Some("1.1"));

    // Seen longer ago than half the offline threshold: written through again.
    let mut old = after.clone();
    old.last_seen_at = Some(OffsetDateTime::now_utc() - time::Duration::seconds(61));
    buf.submit(&old, hb("1.2")).await.unwrap();
    assert!(buf.is_empty());
    assert_eq!(stored(&s, &k).await.app_version.as_deref(), Some("1.2"));

    // A kiosk revoked meanwhile: its waiting heartbeat is dropped, not resurrected.
    let recent = stored(&s, &k).await;
    buf.submit(&recent, hb("1.3")).await.unwrap();
    s.revoke_kiosk(&Scope::Platform, &Actor::cli(), k.gym_id, k.id)
        .await
        .unwrap();
    assert_eq!(buf.flush().await.unwrap(), 0);
    let revoked = stored(&s, &k).await;
    assert_eq!(revoked.status, KioskStatus::Revoked);
    assert_eq!(revoked.app_version.as_deref(), Some("1.2"));
}

async fn the_flusher_writes_on_its_interval_and_on_shutdown(db: TestDb) {
    let s = db.store();
    let k = paired_kiosk(&s, "jk_two").await;
    let buf = HeartbeatBuffer::new(s.clone(), OFFLINE_AFTER);
    buf.submit(&k, hb("1.0")).await.unwrap();
    let seen = stored(&s, &k).await;

    // A short interval: the flusher writes without being asked.
    let flusher = buf.spawn_flusher(Duration::from_millis(50));
    buf.submit(&seen, hb("2.0")).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while stored(&s, &k).await.app_version.as_deref() != Some("2.0") {
        assert!(std::time::Instant::now() < deadline, "never flushed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    flusher.shutdown().await;

    // An interval that never comes: only the shutdown writes it.
    let flusher = buf.spawn_flusher(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let seen = stored(&s, &k).await;
    buf.submit(&seen, hb("3.0")).await.unwrap();
    assert_eq!(buf.len(), 1);
    flusher.shutdown().await;
    assert!(buf.is_empty());
    assert_eq!(stored(&s, &k).await.app_version.as_deref(), Some("3.0"));
}

async fn two_instances_flushing_one_kiosk_leave_the_latest(db: TestDb) {
    let s = db.store();
    let k = paired_kiosk(&s, "jk_three").await;
    // Two instances behind a round-robin balancer: each has its own buffer on one database.
    let a = HeartbeatBuffer::new(s.clone(), OFFLINE_AFTER);
    let b = HeartbeatBuffer::new(s.clone(), OFFLINE_AFTER);
    a.submit(&k, hb("0.1")).await.unwrap();
    let seen = stored(&s, &k).await;

    // The kiosk talks to A, then to B; B flushes first, A (older) after: B's stays.
    a.submit(&seen, hb("from-a")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    b.submit(&seen, hb("from-b")).await.unwrap();
    assert_eq!(b.flush().await.unwrap(), 1);
    assert_eq!(a.flush().await.unwrap(), 0, "an older heartbeat never wins");
    let now = stored(&s, &k).await;
    assert_eq!(now.app_version.as_deref(), Some("from-b"));

    // And in the other order both write, the newer one last.
    a.submit(&now, hb("a-again")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    b.submit(&now, hb("b-again")).await.unwrap();
    assert_eq!(a.flush().await.unwrap(), 1);
    assert_eq!(b.flush().await.unwrap(), 1);
    let last = stored(&s, &k).await;
    assert_eq!(last.app_version.as_deref(), Some("b-again"));
    assert!(last.last_seen_at > now.last_seen_at);
}

fn hb_heard(version: &str, ms: u32) -> Heartbeat {
    Heartbeat {
        voice_latency_ms: Some(ms),
        ..hb(version)
    }
}

/// The latency members heard, as kiosks report it with heartbeats: every sample is stored even
/// when heartbeats coalesce (one instance) or an older heartbeat loses the row (two instances),
/// and the gym's p50/p95 come from them, in the gym's scope only.
async fn heard_latency_samples_survive_coalescing(db: TestDb) {
    let s = db.store();
    let k = paired_kiosk(&s, "jk_heard").await;
    let scope = Scope::Gym {
        franchise: k.franchise_id,
        gym: k.gym_id,
    };
    let today = OffsetDateTime::now_utc().date();
    let (d0, d1) = (
        today - time::Duration::days(1),
        today + time::Duration::days(1),
    );
    let stats = |s: Arc<dyn Store>, scope: Scope| async move {
        s.latency(&scope, k.gym_id, LatencySource::Heard, d0, d1)
            .await
            .unwrap()
    };
    assert_eq!(stats(s.clone(), scope).await.count, 0);

    let a = HeartbeatBuffer::new(s.clone(), OFFLINE_AFTER);
    let b = HeartbeatBuffer::new(s.clone(), OFFLINE_AFTER);
    // Written through (never seen), then three heartbeats coalesced into one pending entry.
    a.submit(&k, hb_heard("1", 400)).await.unwrap();
    let seen = stored(&s, &k).await;
    for ms in [500, 600, 2000] {
        a.submit(&seen, hb_heard("2", ms)).await.unwrap();
    }
    a.submit(&seen, hb("no-call")).await.unwrap();
    assert_eq!(a.len(), 1, "coalesced");
    assert_eq!(a.flush().await.unwrap(), 1);
    let st = stats(s.clone(), scope).await;
    // Nearest rank over [400, 500, 600, 2000].
    assert_eq!((st.count, st.p50_ms, st.p95_ms), (4, Some(500), Some(2000)));

    // Two instances: A's older heartbeat loses the row, its sample is still stored.
    let now = stored(&s, &k).await;
    a.submit(&now, hb_heard("a", 700)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    b.submit(&now, hb_heard("b", 800)).await.unwrap();
    assert_eq!(b.flush().await.unwrap(), 1);
    assert_eq!(a.flush().await.unwrap(), 0, "an older heartbeat never wins");
    assert_eq!(stats(s.clone(), scope).await.count, 6);

    // Another gym's scope sees none of it; a window before the samples is empty.
    let other = paired_kiosk(&s, "jk_heard_other").await;
    let other_scope = Scope::Gym {
        franchise: other.franchise_id,
        gym: other.gym_id,
    };
    assert_eq!(
        s.latency(&other_scope, k.gym_id, LatencySource::Heard, d0, d1)
            .await
            .unwrap()
            .count,
        0
    );
    // Days before the samples hold none; the server's per-turn histogram holds none either.
    let before = s.latency(
        &scope,
        k.gym_id,
        LatencySource::Heard,
        d0 - time::Duration::days(5),
        d0,
    );
    assert_eq!(before.await.unwrap().count, 0);
    let turns = s.latency(&scope, k.gym_id, LatencySource::Turn, d0, d1);
    assert_eq!(turns.await.unwrap().count, 0);
}

/// Over HTTP: online at once after the first heartbeat; the next one waits in memory and is
/// written when the server stops.
async fn a_stopping_server_writes_waiting_heartbeats(backend: Backend) {
    let mut app = TestApp::start(backend, &[]).await.unwrap();
    let s = app.db.store();
    let token = "jk_http-heartbeat-token";
    let k = paired_kiosk(&s, token).await;
    let beat = |v: &'static str| {
        send(
            app.client
                .post(app.url("/api/v1/kiosk/heartbeat"))
                .bearer_auth(token)
                .json(&json!({"app_version": v, "uptime_secs": 5, "mic_status": "ok", "network_quality": "good"})),
        )
    };
    let (st, ack) = beat("1.0").await;
    assert_eq!((st, ack["status"].as_str()), (200, Some("ok")), "{ack}");
    assert_eq!(stored(&s, &k).await.app_version.as_deref(), Some("1.0"));
    let (st, _) = beat("1.1").await;
    assert_eq!(st, 200);
    // Stopped, not dropped: the test database lives on with `app`.
    app.server.take().unwrap().shutdown().await.unwrap();
    assert_eq!(stored(&s, &k).await.app_version.as_deref(), Some("1.1"));
}

mod sqlite {
    use super::*;

    #[tokio::test]
    async fn stale_kiosks_write_through_and_online_ones_wait_for_the_flush() {
        super::stale_kiosks_write_through_and_online_ones_wait_for_the_flush(
            TestDb::sqlite().await.unwrap(),
        )
        .await;
    }

    #[tokio::test]
    async fn the_flusher_writes_on_its_interval_and_on_shutdown() {
        super::the_flusher_writes_on_its_interval_and_on_shutdown(TestDb::sqlite().await.unwrap())
            .await;
    }

    #[tokio::test]
    async fn two_instances_flushing_one_kiosk_leave_the_latest() {
        super::two_instances_flushing_one_kiosk_leave_the_latest(TestDb::sqlite().await.unwrap())
            .await;
    }

    #[tokio::test]
    async fn a_stopping_server_writes_waiting_heartbeats() {
        super::a_stopping_server_writes_waiting_heartbeats(Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn heard_latency_samples_survive_coalescing() {
        super::heard_latency_samples_survive_coalescing(TestDb::sqlite().await.unwrap()).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test]
    async fn stale_kiosks_write_through_and_online_ones_wait_for_the_flush() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        super::stale_kiosks_write_through_and_online_ones_wait_for_the_flush(db).await;
    }

    #[tokio::test]
    async fn the_flusher_writes_on_its_interval_and_on_shutdown() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        super::the_flusher_writes_on_its_interval_and_on_shutdown(db).await;
    }

    #[tokio::test]
    async fn two_instances_flushing_one_kiosk_leave_the_latest() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        super::two_instances_flushing_one_kiosk_leave_the_latest(db).await;
    }

    #[tokio::test]
    async fn a_stopping_server_writes_waiting_heartbeats() {
        super::a_stopping_server_writes_waiting_heartbeats(Backend::Postgres).await;
    }

    #[tokio::test]
    async fn heard_latency_samples_survive_coalescing() {
        let Some(db) = TestDb::postgres().await else {
            return;
        };
        super::heard_latency_samples_survive_coalescing(db).await;
    }
}
