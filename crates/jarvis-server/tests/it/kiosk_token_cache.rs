//! The device-token cache (`jarvis_server::kiosk_tokens`) over HTTP on both backends: a token
//! revoked, re-paired or whose gym is suspended through this instance is refused on the very
//! next request even when cached; a change made elsewhere (another instance, here the store
//! directly) is seen once the TTL is over.

use crate::common;
use crate::kiosk_heartbeats::paired_kiosk;

use common::{Backend, TestApp, send};
use jarvis_core::model::*;
use jarvis_core::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn heartbeat(app: &TestApp, token: &str) -> reqwest::RequestBuilder {
    app.client
        .post(app.url("/api/v1/kiosk/heartbeat"))
        .bearer_auth(token)
        .json(&json!({"app_version": "1.0", "uptime_secs": 1, "mic_status": "ok", "network_quality": "good"}))
}

async fn beat(app: &TestApp, token: &str) -> (u16, Value) {
    send(heartbeat(app, token)).await
}

async fn changes_through_this_instance_apply_on_the_next_request(backend: Backend) {
    // A long TTL: only the invalidation can make these pass.
    let Some(app) = TestApp::start(backend, &[("JARVIS_KIOSK_TOKEN_CACHE_MS", "60000")]).await
    else {
        return;
    };
    let s = app.db.store();

    // Revocation.
    let k = paired_kiosk(&s, "jk_cache_revoke").await;
    assert_eq!(beat(&app, "jk_cache_revoke").await.0, 200);
    assert_eq!(beat(&app, "jk_cache_revoke").await.0, 200, "cached");
    let (st, _) = app
        .post(
            &format!("/api/v1/gyms/{}/kiosks/{}/revoke", k.gym_id, k.id),
            json!({}),
        )
        .await;
    assert_eq!(st, 200);
    let (st, body) = beat(&app, "jk_cache_revoke").await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (401, Some("invalid_kiosk_token"))
    );

    // Re-pairing: the old token stops, the new one works.
    let k = paired_kiosk(&s, "jk_cache_old").await;
    assert_eq!(beat(&app, "jk_cache_old").await.0, 200);
    let (st, code) = app
        .post(
            &format!("/api/v1/gyms/{}/kiosks/{}/pairing-code", k.gym_id, k.id),
            json!({}),
        )
        .await;
    assert_eq!(st, 201, "{code}");
    let (st, paired) = send(
        app.client
            .post(app.url("/api/v1/kiosk/pair"))
            .json(&json!({ "code": code["code"] })),
    )
    .await;
    assert_eq!(st, 200, "{paired}");
    assert_eq!(beat(&app, "jk_cache_old").await.0, 401);
    let new = paired["device_token"].as_str().unwrap();
    assert_eq!(beat(&app, new).await.0, 200);

    // Gym suspension: 403 on the next request, back after reactivation.
    assert_eq!(beat(&app, new).await.0, 200, "cached");
    let (st, _) = app
        .post(
            &format!("/api/v1/gyms/{}/status", k.gym_id),
            json!({"status": "suspended", "reason": "unpaid"}),
        )
        .await;
    assert_eq!(st, 200);
    let (st, body) = beat(&app, new).await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (403, Some("gym_inactive"))
    );
    app.post(
        &format!("/api/v1/gyms/{}/status", k.gym_id),
        json!({"status": "active"}),
    )
    .await;
    assert_eq!(beat(&app, new).await.0, 200);
    app.stop().await;
}

async fn a_cached_identity_expires_after_the_ttl(backend: Backend) {
    const TTL: Duration = Duration::from_millis(1500);
    let Some(app) = TestApp::start(backend, &[("JARVIS_KIOSK_TOKEN_CACHE_MS", "1500")]).await
    else {
        return;
    };
    let s = app.db.store();
    let k = paired_kiosk(&s, "jk_cache_ttl").await;
    let filled = Instant::now();
    assert_eq!(beat(&app, "jk_cache_ttl").await.0, 200);
    // Revoked behind this instance's back (as another instance would).
    s.revoke_kiosk(&Scope::Platform, &Actor::cli(), k.gym_id, k.id)
        .await
        .unwrap();
    let revoked = Instant::now();
    let (st, _) = beat(&app, "jk_cache_ttl").await;
    // Within the TTL the cached identity answers (no SQL); only checkable when this machine
    // was fast enough to ask before the entry could have expired.
    if filled.elapsed() < TTL {
        assert_eq!(st, 200, "served from the cache within the TTL");
    }
    // The entry was filled before the revocation, so it is gone one TTL after it.
    tokio::time::sleep(TTL.saturating_sub(revoked.elapsed()) + Duration::from_millis(50)).await;
    let (st, body) = beat(&app, "jk_cache_ttl").await;
    assert_eq!(
        (st, body["error"]["code"].as_str()),
        (401, Some("invalid_kiosk_token"))
    );
    app.stop().await;
}

async fn the_cache_can_be_turned_off(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[("JARVIS_KIOSK_TOKEN_CACHE_MS", "0")]).await else {
        return;
    };
    let s = app.db.store();
    let k = paired_kiosk(&s, "jk_cache_off").await;
    assert_eq!(beat(&app, "jk_cache_off").await.0, 200);
    s.revoke_kiosk(&Scope::Platform, &Actor::cli(), k.gym_id, k.id)
        .await
        .unwrap();
    assert_eq!(beat(&app, "jk_cache_off").await.0, 401);
    app.stop().await;
}

both_backends!(
    changes_through_this_instance_apply_on_the_next_request,
    a_cached_identity_expires_after_the_ttl,
    the_cache_can_be_turned_off,
);
