//! The kiosk's voice endpoints over HTTP against the in-process demo fake, on both backends,
//! with the original system's holes as regression tests: a start needs the device token (a
//! kiosk slug and a badge were enough to start a billed call), a kiosk cannot end another
//! kiosk's call, and the close endpoint works (it always answered 400). Plus the refusal codes
//! and the per-kiosk start limit shared through the database.

use crate::common;

use common::{Backend, TestApp, send};
use jarvis_core::model::EndReason;
use jarvis_core::{Scope, VoiceSessionId};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A browser-like SDP offer with audio and a data channel (the demo fake runs a real WebRTC
/// answerer, so ICE and DTLS attributes must be there; no media flows in this test).
const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:kios\r\na=ice-pwd:kioskkioskkioskkioskkiosk\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:kios\r\na=ice-pwd:kioskkioskkioskkioskkiosk\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:1\r\na=sctp-port:5000\r\n";

const STARTS: &str = "/api/v1/kiosk/voice/sessions";

struct World {
    franchise: String,
    gym: String,
    kiosk_a: String,
    kiosk_b: String,
}

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let (s, v) = app.post(path, body).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

/// A gym with members (eligible, no consent) and two paired kiosks; returns their tokens.
async fn world(app: &TestApp) -> World {
    let f = created(app, "/api/v1/franchises", json!({"name": "Atlas"})).await;
    let fid = f["id"].as_str().unwrap().to_string();
    let g = created(
        app,
        "/api/v1/gyms",
        json!({"franchise_id": fid, "name": "Lyon", "timezone": "Europe/Paris"}),
    )
    .await;
    let gid = g["id"].as_str().unwrap().to_string();
    for (badge, first, consent) in [("B-OK", "Alice", true), ("B-NOCONSENT", "Bob", false)] {
        created(
            app,
            &format!("/api/v1/gyms/{gid}/members"),
            json!({"badge_id": badge, "first_name": first, "last_name": "L",
                   "preferred_language": "en", "consent_voice": consent}),
        )
        .await;
    }
    let mut tokens = Vec::new();
    for name in ["Door", "Lobby"] {
        let k = created(
            app,
            &format!("/api/v1/gyms/{gid}/kiosks"),
            json!({ "name": name }),
        )
        .await;
        let kid = k["id"].as_str().unwrap();
        let code = created(
            app,
            &format!("/api/v1/gyms/{gid}/kiosks/{kid}/pairing-code"),
            json!({}),
        )
        .await;
        let (s, p) = send(
            app.client
                .post(app.url("/api/v1/kiosk/pair"))
                .json(&json!({ "code": code["code"] })),
        )
        .await;
        assert_eq!(s, 200, "{p}");
        tokens.push(p["device_token"].as_str().unwrap().to_string());
    }
    World {
        franchise: fid,
        gym: gid,
        kiosk_a: tokens[0].clone(),
        kiosk_b: tokens[1].clone(),
    }
}

async fn start(app: &TestApp, token: Option<&str>, badge: &str) -> (u16, Value) {
    let mut rb = app
        .client
        .post(app.url(STARTS))
        .json(&json!({"badge_id": badge, "sdp": OFFER}));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    send(rb).await
}

async fn end(app: &TestApp, token: &str, id: &str) -> u16 {
    send(
        app.client
            .delete(app.url(&format!("{STARTS}/{id}")))
            .bearer_auth(token),
    )
    .await
    .0
}

async fn kiosk_voice_sessions_start_and_end_for_their_own_kiosk(backend: Backend) {
    let Some(app) = TestApp::start(
        backend,
        &[
            // No key: the in-process demo fake answers the calls.
            ("JARVIS_OPENAI_API_KEY", ""),
            ("JARVIS_KIOSK_VOICE_STARTS_PER_MIN", "3"),
        ],
    )
    .await
    else {
        return;
    };
    let w = world(&app).await;

    // Super admins edit the price table over the API (the matrix checks nobody else may).
    let price = json!({"model": "gpt-realtime-test", "effective_from": "2026-01-01T00:00:00Z",
        "price": {"text_in": 4, "text_cached": 1, "text_out": 16, "audio_in": 32, "audio_cached": 1,
                  "audio_out": 64, "image_in": 0, "image_cached": 0, "per_minute": 0}});
    let (s, set) = app.post("/api/v1/model-prices", price).await;
    assert_eq!(s, 201, "{set}");
    let (s, list) = app.get("/api/v1/model-prices").await;
    assert_eq!(s, 200);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["model"] == "gpt-realtime-test" && p["price"]["audio_out"] == 64),
        "{list}"
    );

    // Regression: a badge alone (no device token, or a user's token) starts nothing.
    let (s, body) = start(&app, None, "B-OK").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (401, Some("kiosk_token_required"))
    );
    let (s, _) = start(&app, Some(&app.token.clone()), "B-OK").await;
    assert_eq!(s, 401, "a user's token is no device token");

    // Refusals carry the code the kiosk explains, and hold no slot.
    let (s, body) = start(&app, Some(&w.kiosk_a), "B-UNKNOWN").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("member_not_found"))
    );
    let (s, body) = start(&app, Some(&w.kiosk_a), "B-NOCONSENT").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("consent_missing"))
    );

    // A start answers the SDP answer and the call's limits.
    let (s, started) = start(&app, Some(&w.kiosk_a), "B-OK").await;
    assert_eq!(s, 201, "{started}");
    assert!(started["sdp"].as_str().unwrap().starts_with("v=0"));
    assert!(started["max_duration_secs"].as_u64().unwrap() >= 60);
    assert!(started["expires_at"].as_str().is_some());
    let id = started["session_id"].as_str().unwrap().to_string();
    let sid: VoiceSessionId = id.parse().unwrap();
    let scope = Scope::Gym {
        franchise: w.franchise.parse().unwrap(),
        gym: w.gym.parse().unwrap(),
    };
    let store = app.db.store();
    assert!(store.voice_session(&scope, sid).await.unwrap().is_live());

    // Regression: another kiosk (same gym) cannot end it, and learns nothing about it.
    assert_eq!(end(&app, &w.kiosk_b, &id).await, 404);
    assert!(store.voice_session(&scope, sid).await.unwrap().is_live());
    // Regression: the close endpoint works (the original always answered 400).
    assert_eq!(end(&app, &w.kiosk_a, &id).await, 204);
    let deadline = Instant::now() + Duration::from_secs(20);
    let session = loop {
        let s = store.voice_session(&scope, sid).await.unwrap();
        if !s.is_live() {
            break s;
        }
        assert!(Instant::now() < deadline, "the call ends after DELETE");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(session.end_reason, Some(EndReason::MemberEnded));
    assert_eq!(
        end(&app, &w.kiosk_a, &id).await,
        204,
        "ending twice is fine"
    );
    assert_eq!(
        end(&app, &w.kiosk_a, "00000000-0000-0000-0000-000000000000").await,
        404
    );

    // Per kiosk, 3 starts a minute (refusals count too): the 4th is refused, and the other
    // kiosk still has its own budget.
    let (s, body) = start(&app, Some(&w.kiosk_a), "B-UNKNOWN").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
    let (s, _) = start(&app, Some(&w.kiosk_b), "B-UNKNOWN").await;
    assert_eq!(s, 404);

    // A graceful shutdown ends the running calls as `shutdown` (slot freed, one end reason).
    let (s, live) = start(&app, Some(&w.kiosk_b), "B-OK").await;
    assert_eq!(s, 201, "{live}");
    let sid: VoiceSessionId = live["session_id"].as_str().unwrap().parse().unwrap();
    let mut app = app;
    app.stop_server().await;
    let s = store.voice_session(&scope, sid).await.unwrap();
    assert_eq!(s.end_reason, Some(EndReason::Shutdown));
    assert_eq!(
        store
            .slot_usage(&scope, w.gym.parse().unwrap())
            .await
            .unwrap()
            .gym_live,
        0,
        "no slot left held"
    );
}

/// The value of the sample line `series` (no labels) in a `/metrics` text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.split(' ').next() == Some(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn metrics(app: &TestApp) -> String {
    let resp = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

const METRICS_TOKEN: &str = "metrics-token-for-tests-0123";

/// A started call records its own overhead apart from the wait on the provider: with the fake
/// answering 1.5 s late, that wait lands in `voice_start_provider` and not in
/// `voice_start_overhead`; refused starts record nothing.
async fn a_start_records_its_overhead_apart_from_the_provider_wait(backend: Backend) {
    let fake = jarvis_fake_openai::FakeOpenAi::start(jarvis_fake_openai::FakeConfig {
        real_webrtc: false,
        ..Default::default()
    })
    .await
    .unwrap();
    let base = fake.base_url();
    let Some(app) = TestApp::start(
        backend,
        &[
            ("JARVIS_OPENAI_API_KEY", jarvis_fake_openai::TEST_API_KEY),
            ("JARVIS_OPENAI_BASE_URL", &base),
            ("JARVIS_METRICS_TOKEN", METRICS_TOKEN),
        ],
    )
    .await
    else {
        return;
    };
    let w = world(&app).await;
    let (s, _) = start(&app, Some(&w.kiosk_a), "B-NOCONSENT").await;
    assert_eq!(s, 403);
    let text = metrics(&app).await;
    assert_eq!(
        sample(&text, "jarvis_voice_start_overhead_seconds_count"),
        Some(0.0),
        "a refused start is no started call: {text}"
    );

    let late = Duration::from_millis(1500);
    fake.handle.inject(
        jarvis_fake_openai::Endpoint::Calls,
        jarvis_fake_openai::Fault::Latency(late),
    );
    let (s, started) = start(&app, Some(&w.kiosk_a), "B-OK").await;
    assert_eq!(s, 201, "{started}");
    let text = metrics(&app).await;
    assert_eq!(
        sample(&text, "jarvis_voice_start_overhead_seconds_count"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "jarvis_voice_start_provider_seconds_count"),
        Some(1.0)
    );
    let provider = sample(&text, "jarvis_voice_start_provider_seconds_sum").unwrap();
    let overhead = sample(&text, "jarvis_voice_start_overhead_seconds_sum").unwrap();
    assert!(
        provider >= late.as_secs_f64(),
        "the fake's delay is the provider's: {provider}"
    );
    assert!(overhead >= 0.0, "{overhead}");
    // The wait is not counted twice: our own share stays below it (milliseconds in a release
    // build; a debug build on a shared machine is given the whole 1.5 s).
    assert!(
        overhead < late.as_secs_f64(),
        "overhead {overhead} s includes the provider's wait"
    );
    let id = started["session_id"].as_str().unwrap().to_string();
    assert_eq!(end(&app, &w.kiosk_a, &id).await, 204);
}

both_backends!(
    kiosk_voice_sessions_start_and_end_for_their_own_kiosk,
    a_start_records_its_overhead_apart_from_the_provider_wait
);
