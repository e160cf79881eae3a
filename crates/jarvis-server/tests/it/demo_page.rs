//! The public demo page (`/demo`) and its call start, on both backends: off unless the
//! operator turns it on; a visitor's call runs in the demo gym as its visitor and is flagged as
//! a demo session (counted apart, left out of the gym overview); the per-address hourly limit
//! (shared in the database) and the monthly demo budget refuse with their codes; the admin
//! page's demo block counts the calls.

use crate::common;

use crate::web::{client, web_login};
use common::{Backend, TestApp, send};
use jarvis_core::Scope;
use jarvis_core::cost::BudgetPeriod;
use serde_json::json;
use time::OffsetDateTime;

/// The browser-like offer of the kiosk tests (the demo fake runs a real WebRTC answerer).
const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:demo\r\na=ice-pwd:demodemodemodemodemodemo\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:demo\r\na=ice-pwd:demodemodemodemodemodemo\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:1\r\na=sctp-port:5000\r\n";

const STARTS: &str = "/api/v1/demo/voice/sessions";

/// A start as the page makes it: no cookie, no token.
async fn start(app: &TestApp, lang: &str) -> (u16, serde_json::Value) {
    send(
        app.client
            .post(app.url(STARTS))
            .json(&json!({ "sdp": OFFER, "lang": lang })),
    )
    .await
}

async fn page(app: &TestApp, path: &str, accept_language: &str) -> (u16, String) {
    let resp = app
        .client
        .get(app.url(path))
        .header("accept-language", accept_language)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

async fn demo_page_is_off_by_default(b: Backend) {
    let Some(app) = TestApp::start(b, &[("JARVIS_OPENAI_API_KEY", "")]).await else {
        return;
    };
    jarvis_app::demo::seed(&*app.db.store()).await.unwrap();
    let (s, _) = page(&app, "/demo", "fr").await;
    assert_eq!(s, 404, "the demo page is off unless turned on");
    let (s, v) = start(&app, "fr").await;
    assert_eq!(s, 404, "{v}");
    // Off means absent: no validation answer tells the route exists.
    let (s, v) = send(app.client.post(app.url(STARTS)).json(&json!({}))).await;
    assert_eq!(s, 404, "{v}");
    let spent = app
        .db
        .store()
        .demo_month_to_date(BudgetPeriod::of(OffsetDateTime::now_utc()))
        .await
        .unwrap();
    assert_eq!(spent.sessions, 0);
    app.stop().await;
}

async fn demo_calls_are_flagged_and_limited_per_address(b: Backend) {
    let Some(app) = TestApp::start(
        b,
        &[("JARVIS_OPENAI_API_KEY", ""), ("JARVIS_DEMO_PAGE", "true")],
    )
    .await
    else {
        return;
    };
    let store = app.db.store();
    let seeded = jarvis_app::demo::seed(&*store).await.unwrap();
    assert_eq!(
        seeded.visitors_created, 2,
        "a visitor and a web kiosk per gym"
    );

    let (s, html) = page(&app, "/demo", "fr-FR,fr;q=0.9").await;
    assert_eq!(s, 200);
    assert!(html.contains("lang=\"fr\""), "{html}");
    assert!(html.contains("Parler à JARVIS") && html.contains("/assets/demo."));
    assert!(
        !html.contains("Talk to JARVIS"),
        "no English on the French page"
    );
    let (s, html) = page(&app, "/demo?lang=en", "fr").await;
    assert_eq!(s, 200);
    assert!(html.contains("lang=\"en\"") && html.contains("Talk to JARVIS"));
    assert!(html.contains("3 conversations per hour") && html.contains("120 seconds"));

    let (s, v) = start(&app, "fr").await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["max_duration_secs"], 120, "demo_max_secs caps the call");
    assert!(v["sdp"].as_str().unwrap().starts_with("v=0"));
    let period = BudgetPeriod::of(OffsetDateTime::now_utc());
    let spent = store.demo_month_to_date(period).await.unwrap();
    assert_eq!(spent.sessions, 1, "the call is flagged as a demo session");

    // The Paris gym's overview sees no member conversation: the demo call is counted apart.
    let paris = jarvis_app::demo::web_kiosk(&*store, jarvis_core::model::Locale::Fr)
        .await
        .unwrap();
    let now = OffsetDateTime::now_utc();
    let (d0, d1) = (
        (now - time::Duration::days(1)).date(),
        (now + time::Duration::days(1)).date(),
    );
    let days = store
        .session_days(&Scope::Platform, &[paris.gym.id], d0, d1)
        .await
        .unwrap();
    assert_eq!(
        days.iter().map(|d| d.conversations).sum::<u64>(),
        0,
        "{days:?}"
    );

    for lang in ["en", "fr"] {
        let (s, v) = start(&app, lang).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = start(&app, "en").await;
    assert_eq!(s, 429, "the 4th start from one address in an hour: {v}");
    assert_eq!(v["error"]["code"], "rate_limited");
    assert_eq!(store.demo_month_to_date(period).await.unwrap().sessions, 3);
    // The admin page counts them apart, as demo conversations.
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let resp = client()
        .get(app.url("/app/ops"))
        .header("cookie", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let html = resp.text().await.unwrap();
    let block = html.split("id=\"demo-calls\"").nth(1).unwrap_or_default();
    assert!(
        block.contains("<span data-calls=\"3\">3</span> demo conversations"),
        "{block}"
    );
    assert!(block.contains("<a href=\"/demo\">"), "{block}");
    app.stop().await;
}

async fn demo_calls_stop_at_the_monthly_budget(b: Backend) {
    let Some(app) = TestApp::start(
        b,
        &[
            ("JARVIS_OPENAI_API_KEY", ""),
            ("JARVIS_DEMO_PAGE", "true"),
            ("JARVIS_DEMO_BUDGET_USD", "0"),
        ],
    )
    .await
    else {
        return;
    };
    let store = app.db.store();
    jarvis_app::demo::seed(&*store).await.unwrap();
    let (s, v) = start(&app, "en").await;
    assert_eq!(s, 402, "{v}");
    assert_eq!(v["error"]["code"], "demo_budget_exhausted");
    let spent = store
        .demo_month_to_date(BudgetPeriod::of(OffsetDateTime::now_utc()))
        .await
        .unwrap();
    assert_eq!(spent.sessions, 0, "a refused start stores nothing");
    app.stop().await;
}

both_backends!(
    demo_page_is_off_by_default,
    demo_calls_are_flagged_and_limited_per_address,
    demo_calls_stop_at_the_monthly_budget
);
