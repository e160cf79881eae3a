//! Guessing pairing codes is throttled: 10 failed exchanges from one address within 10 minutes
//! answer 429, even for a right code. The count lives in the database (shared by every instance;
//! `crates/jarvis/tests/instances.rs` runs two processes against one PostgreSQL).

use crate::common;

use common::{Backend, TestApp, send};
use serde_json::json;

#[tokio::test]
async fn failed_exchanges_are_rate_limited() {
    let app = TestApp::start(Backend::Sqlite, &[]).await.unwrap();
    let (_, f) = app.post("/api/v1/franchises", json!({"name": "F"})).await;
    let (_, g) = app
        .post(
            "/api/v1/gyms",
            json!({"franchise_id": f["id"], "name": "G"}),
        )
        .await;
    let gid = g["id"].as_str().unwrap();
    let (_, k) = app
        .post(&format!("/api/v1/gyms/{gid}/kiosks"), json!({"name": "K"}))
        .await;
    let kid = k["id"].as_str().unwrap();
    let (_, code) = app
        .post(
            &format!("/api/v1/gyms/{gid}/kiosks/{kid}/pairing-code"),
            json!({}),
        )
        .await;
    let pair = |c: String| {
        send(
            app.client
                .post(app.url("/api/v1/kiosk/pair"))
                .json(&json!({ "code": c })),
        )
    };
    for i in 0..10 {
        let (s, _) = pair(format!("WRONG{i:03}")).await;
        assert_eq!(s, 401, "attempt {i}");
    }
    let (s, body) = pair(code["code"].as_str().unwrap().to_string()).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    app.stop().await;
}

/// The limit holds per IPv6 /64, like every other limit: one subscriber holds the whole /64,
/// so keying on the full address would give an attacker 2^64 fresh budgets.
#[tokio::test]
async fn failed_exchanges_are_limited_per_ipv6_64() {
    let app = TestApp::start(
        Backend::Sqlite,
        &[("JARVIS_TRUSTED_PROXIES", "127.0.0.1/32")],
    )
    .await
    .unwrap();
    let (_, f) = app.post("/api/v1/franchises", json!({"name": "F"})).await;
    let (_, g) = app
        .post(
            "/api/v1/gyms",
            json!({"franchise_id": f["id"], "name": "G"}),
        )
        .await;
    let gid = g["id"].as_str().unwrap();
    let (_, k) = app
        .post(&format!("/api/v1/gyms/{gid}/kiosks"), json!({"name": "K"}))
        .await;
    let kid = k["id"].as_str().unwrap();
    let (_, code) = app
        .post(
            &format!("/api/v1/gyms/{gid}/kiosks/{kid}/pairing-code"),
            json!({}),
        )
        .await;
    let pair = |c: String, from: String| {
        send(
            app.client
                .post(app.url("/api/v1/kiosk/pair"))
                .header("x-forwarded-for", from)
                .json(&json!({ "code": c })),
        )
    };
    for i in 0..10 {
        let (s, _) = pair(format!("WRONG{i:03}"), format!("2001:db8:1:2::{:x}", i + 1)).await;
        assert_eq!(s, 401, "attempt {i}");
    }
    let (s, body) = pair(
        code["code"].as_str().unwrap().to_string(),
        "2001:db8:1:2::ffff".into(),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    app.stop().await;
}
