//! Fast behind a CDN and measured in the browser: embedded assets under content-hashed names
//! (immutable cache, ETag, 304, gzip and brotli that decode to the original, plain names with a
//! short cache), pages that reference the hashed names, `POST /api/v1/vitals` (strict: bad
//! reports are refused and store nothing; limited per address) with the super admins' p75
//! page, and the gym overview's tiles and charts on constructed data (both backends).

use crate::common;

use crate::web::{client, get, web_login};
use common::{Backend, TestApp};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_server::web::assets;
use serde_json::{Value, json};
use std::io::Read;
use time::OffsetDateTime;

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn hashed_assets_are_immutable_compressed_and_revalidated() {
    let app = TestApp::start(Backend::Sqlite, &[]).await.unwrap();
    let c = client();
    // Pages name the hashed URLs, never the plain ones.
    let login = c.get(app.url("/app/login")).send().await.unwrap();
    assert!(header(&login, "cache-control").starts_with("no-store"));
    assert!(header(&login, "content-security-policy").contains("script-src 'self'"));
    let html = login.text().await.unwrap();
    for name in ["app.css", "vitals.js"] {
        let url = assets::url(name);
        assert_ne!(url, format!("/assets/{name}"));
        assert!(html.contains(&format!("\"{url}\"")), "{name} in {html}");
    }
    assert!(!html.contains("\"/assets/app.css\""));
    let kiosk = c
        .get(app.url("/kiosk"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(kiosk.contains(&assets::url("kiosk.js")));

    for a in assets::all() {
        let url = app.url(&format!("/assets/{}", a.hashed));
        let r = c.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", a.name);
        assert_eq!(
            header(&r, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header(&r, "content-type"), a.content_type);
        assert_eq!(header(&r, "content-encoding"), "");
        assert!(header(&r, "vary").contains("Accept-Encoding"));
        let etag = header(&r, "etag");
        assert!(etag.starts_with('"') && etag.contains(&a.hash), "{etag}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), a.raw);

        // Revalidation: the same ETag gets 304 and no body.
        let r = c
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(header(&r, "etag"), etag);
        assert!(r.bytes().await.unwrap().is_empty());

        // Brotli, then gzip, each decoding to the original, each with its own ETag.
        let r = c
            .get(&url)
            .header("accept-encoding", "gzip, deflate, br")
            .send()
            .await
            .unwrap();
        assert_eq!(header(&r, "content-encoding"), "br");
        let br_tag = header(&r, "etag");
        assert_ne!(br_tag, etag);
        let body = r.bytes().await.unwrap();
        assert!(body.len() < a.raw.len());
        let mut out = Vec::new();
        brotli::Decompressor::new(body.as_ref(), 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, a.raw);
        let r = c
            .get(&url)
            .header("accept-encoding", "gzip;q=1, br;q=0")
            .send()
            .await
            .unwrap();
        assert_eq!(header(&r, "content-encoding"), "gzip");
        let body = r.bytes().await.unwrap();
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body.as_ref())
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, a.raw);

        // The plain name still answers (pages of an older instance), with a short cache.
        let r = c
            .get(app.url(&format!("/assets/{}", a.name)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "cache-control"), "public, max-age=300");
    }
    // Another build's hash is not this build's content.
    let r = c
        .get(app.url("/assets/app.0000000000000000.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

async fn beacon(app: &TestApp, body: &str) -> u16 {
    client()
        .post(app.url("/api/v1/vitals"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn vitals_are_validated_and_shown(b: Backend) {
    let app = TestApp::start(b, &[]).await.unwrap();
    let store = app.db.store();
    let today = OffsetDateTime::now_utc().date().to_string();
    let stored = || async {
        store
            .vitals_between(&Scope::Platform, "2000-01-01", "2999-12-31")
            .await
            .unwrap()
            .len()
    };
    // 1..=100 scrambled, ten per report, without any cookie.
    let values: Vec<u32> = (0..100).map(|i| (i * 37) % 100 + 1).collect();
    for chunk in values.chunks(10) {
        let metrics: Vec<Value> = chunk
            .iter()
            .map(|v| json!({"name": "LCP", "value": v}))
            .collect();
        let body = json!({"page": "/app/gyms/{id}/members", "metrics": metrics}).to_string();
        assert_eq!(beacon(&app, &body).await, 204);
    }
    assert_eq!(stored().await, 100);
    // Refused, and nothing stored.
    let big =
        json!({"page": "/app", "metrics": [{"name": "LCP", "value": 1}], "pad": "x".repeat(3000)});
    for (body, status) in [
        ("not json".to_string(), 400),
        (json!({"page": "/app"}).to_string(), 400),
        (json!({"page": "/app", "metrics": [], "user": "x"}).to_string(), 400),
        (big.to_string(), 413),
        (json!({"page": "/app", "metrics": [{"name": "FID", "value": 1}]}).to_string(), 422),
        (json!({"page": "/app", "metrics": [{"name": "LCP", "value": -1}]}).to_string(), 422),
        (json!({"page": "/app", "metrics": [{"name": "CLS", "value": 1e9}]}).to_string(), 422),
        (
            json!({"page": "/app/gyms/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "metrics": [{"name": "LCP", "value": 1}]})
                .to_string(),
            422,
        ),
        (json!({"page": "/app?q=paula", "metrics": [{"name": "LCP", "value": 1}]}).to_string(), 422),
        (
            json!({"page": "/app", "metrics": [{"name": "LCP", "value": 1}, {"name": "TTFB", "value": "fast"}]})
                .to_string(),
            400,
        ),
    ] {
        assert_eq!(beacon(&app, &body).await, status, "{body}");
    }
    assert_eq!(stored().await, 100);

    // The super admins' page: the nearest-rank p75 of 1..=100 is 75.
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let (s, html) = get(&app, &admin, "/app/ops/vitals?days=7").await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains(&today));
    assert!(
        html.contains("<code>/app/gyms/{id}/members</code>"),
        "{html}"
    );
    assert!(html.contains("data-p75=\"75\""), "{html}");
    assert!(html.contains(">100</td>"), "sample count shown");
    // Other users: no page.
    let (s, _) = get(&app, "", "/app/ops/vitals").await;
    assert_eq!(s, 303, "signed out: to the sign-in page");

    // Limited per address: a flood gets 429 before long.
    let ok = json!({"page": "/app", "metrics": [{"name": "TTFB", "value": 12.5}]}).to_string();
    let mut limited = false;
    for _ in 0..80 {
        if beacon(&app, &ok).await == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "rate limited");
    app.stop().await;
}

async fn gym_overview_shows_tiles_and_charts(b: Backend) {
    let app = TestApp::start(b, &[]).await.unwrap();
    let store = app.db.store();
    let (s, f) = app.post("/api/v1/franchises", json!({"name": "F"})).await;
    assert_eq!(s, 201, "{f}");
    let (s, g) = app
        .post(
            "/api/v1/gyms",
            json!({"franchise_id": f["id"], "name": "Overview gym", "timezone": "UTC"}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let gid: GymId = g["id"].as_str().unwrap().parse().unwrap();
    let fid: FranchiseId = f["id"].as_str().unwrap().parse().unwrap();
    let scope = Scope::Gym {
        franchise: fid,
        gym: gid,
    };
    let (s, m) = app
        .post(
            &format!("/api/v1/gyms/{gid}/members"),
            json!({"badge_id": "B-1", "first_name": "Alice", "last_name": "Martin",
                   "preferred_language": "fr", "consent_voice": true, "consent_transcripts": true}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let mid: MemberId = m["id"].as_str().unwrap().parse().unwrap();
    let owner = jarvis_app::instance::register(store.as_ref())
        .await
        .unwrap();
    for (secs, topic) in [(90, "<b>yoga</b>"), (30, "hours")] {
        let v = store
            .start_session(
                &scope,
                gid,
                NewVoiceSession {
                    member_id: mid,
                    kiosk_id: None,
                    owner,
                    lease: time::Duration::minutes(2),
                    model: "gpt-realtime-2.1-mini".into(),
                    transcription_model: None,
                    language: Locale::Fr,
                    max_duration_secs: 600,
                },
            )
            .await
            .unwrap()
            .unwrap();
        store
            .end_session(
                &scope,
                v.id,
                EndReason::MemberEnded,
                v.started_at + time::Duration::seconds(secs),
            )
            .await
            .unwrap();
        store
            .put_session_analysis(
                &scope,
                v.id,
                NewSessionAnalysis {
                    summary: "ok".into(),
                    topics: vec![topic.into()],
                    sentiment_score: Some(0.5),
                    satisfaction: Some(4),
                    ..Default::default()
                }
                .validate()
                .unwrap(),
            )
            .await
            .unwrap();
    }
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let (s, html) = get(&app, &admin, &format!("/app/gyms/{gid}?period=today")).await;
    assert_eq!(s, 200, "{html}");
    let tile = |id: &str| {
        html.split(&format!("id=\"{id}\""))
            .nth(1)
            .and_then(|t| t.split("<strong>").nth(1))
            .and_then(|t| t.split("</strong>").next())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(tile("tile-conversations"), "2");
    assert_eq!(tile("tile-members"), "1");
    assert_eq!(tile("tile-duration"), "1:00");
    assert_eq!(tile("tile-follow-ups"), "0");
    assert_eq!(tile("tile-churn"), "0");
    assert_eq!(tile("tile-kiosks"), "0 / 0");
    let today = OffsetDateTime::now_utc().date();
    // The link to the period's conversations (askama escapes the `&`).
    let sessions = format!("href=\"/app/gyms/{gid}/voice/sessions?from={today}&");
    assert!(html.contains(&sessions), "{html}");
    assert!(html.contains(&format!("to={today}\"")));
    assert!(html.contains(&format!("href=\"/app/gyms/{gid}/voice#follow-ups\"")));
    assert!(html.contains(&format!("href=\"/app/gyms/{gid}/kiosks\"")));
    assert!(html.contains(&format!(
        "href=\"/app/gyms/{gid}?period=today#overview\" aria-current=\"page\""
    )));
    // Charts: images with a text alternative; topics escaped.
    assert!(html.contains("id=\"chart-conversations\""));
    assert!(html.contains("id=\"chart-topics\""));
    assert!(html.matches("role=\"img\"").count() >= 3, "{html}");
    assert!(html.contains("class=\"visually-hidden\""));
    assert!(!html.contains("<b>yoga</b>"));
    assert!(html.contains("&lt;b&gt;yoga&lt;/b&gt;"));
    // An unknown period shows the default one (7 days).
    let (s, html) = get(&app, &admin, &format!("/app/gyms/{gid}?period=forever")).await;
    assert_eq!(s, 200);
    assert!(html.contains(&format!(
        "href=\"/app/gyms/{gid}?period=7d#overview\" aria-current=\"page\""
    )));
    app.stop().await;
}

both_backends!(
    vitals_are_validated_and_shown,
    gym_overview_shows_tiles_and_charts
);

/// HTML plus the CSS and JS it references, as sent without and with compression (brotli for
/// assets; HTML is sent as is).
async fn weight(app: &TestApp, session: &str, path: &str) -> (usize, usize) {
    let (s, html) = get(app, session, path).await;
    assert_eq!(s, 200, "{path}");
    let (mut raw, mut wire) = (html.len(), html.len());
    for a in assets::all() {
        if html.contains(&format!("/assets/{}", a.hashed)) {
            raw += a.raw.len();
            wire += a.brotli.as_ref().map_or(a.raw.len(), Vec::len);
        }
    }
    (raw, wire)
}

/// The main pages stay small: HTML + CSS + JS under 64 KiB as is (the figures of
/// docs/contributor/performance.md come from this test's output: `--nocapture`).
#[tokio::test]
async fn main_pages_stay_small() {
    let app = TestApp::start(Backend::Sqlite, &[]).await.unwrap();
    let (_, f) = app.post("/api/v1/franchises", json!({"name": "F"})).await;
    let (_, g) = app
        .post(
            "/api/v1/gyms",
            json!({"franchise_id": f["id"], "name": "Weights", "timezone": "UTC"}),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_string();
    for i in 0..20 {
        let (s, _) = app
            .post(
                &format!("/api/v1/gyms/{gid}/members"),
                json!({"badge_id": format!("B-{i}"), "first_name": "Alice", "last_name": "Martin",
                       "preferred_language": "fr", "consent_voice": true, "consent_transcripts": true}),
            )
            .await;
        assert_eq!(s, 201);
    }
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    for (name, session, path) in [
        ("sign-in", "", "/app/login".to_string()),
        (
            "gym overview (30 days)",
            admin.as_str(),
            format!("/app/gyms/{gid}?period=30d"),
        ),
        (
            "members list (20 rows)",
            admin.as_str(),
            format!("/app/gyms/{gid}/members"),
        ),
        ("kiosk", "", "/kiosk".to_string()),
    ] {
        let (raw, wire) = weight(&app, session, &path).await;
        eprintln!("page weight: {name}: {raw} bytes as is, {wire} bytes with brotli assets");
        assert!(raw < 64 * 1024, "{name}: {raw} bytes");
    }
    app.stop().await;
}
