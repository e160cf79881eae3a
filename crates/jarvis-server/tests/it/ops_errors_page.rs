//! The error-log page: super admins see the fingerprints (filtered by level, translated), other
//! roles get 403; the admin navigation links it; the kiosks page shows the outage history.

use crate::common;

use crate::web::{client, web_login};
use common::{Backend, TestApp};
use jarvis_core::Role;
use jarvis_core::model::*;
use jarvis_store::{ErrorLevel, ErrorOccurrence};
use serde_json::json;

async fn get(app: &TestApp, session: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(app.url(path))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn errors_page(b: Backend) {
    let app = TestApp::start(b, &[]).await.unwrap();
    let store = app.db.store();
    let now = time::OffsetDateTime::now_utc();
    let occurrence = |fp: &str, source: &str, level| ErrorOccurrence {
        fingerprint: fp.into(),
        kind: "job".into(),
        source: source.into(),
        level,
        message: format!("{source} failed"),
        count: 2,
        first_seen_at: now,
        last_seen_at: now,
    };
    store
        .record_errors(&[
            occurrence("fp-critical", "marker.dead", ErrorLevel::Critical),
            occurrence("fp-warning", "marker.retried", ErrorLevel::Warning),
        ])
        .await
        .unwrap();

    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let (s, html) = get(&app, &admin, "/app/ops/errors").await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("marker.dead") && html.contains("marker.retried"));
    assert!(html.contains("Error log") && html.contains("critical"));
    let (s, html) = get(&app, &admin, "/app/ops/errors?level=critical").await;
    assert_eq!(s, 200);
    assert!(html.contains("marker.dead") && !html.contains("marker.retried"));

    // Other roles: no page.
    let (s, f) = app.post("/api/v1/franchises", json!({"name": "F"})).await;
    assert_eq!(s, 201);
    let fid: uuid::Uuid = f["id"].as_str().unwrap().parse().unwrap();
    let (s, g) = app
        .post("/api/v1/gyms", json!({"franchise_id": fid, "name": "G"}))
        .await;
    assert_eq!(s, 201);
    let gid: uuid::Uuid = g["id"].as_str().unwrap().parse().unwrap();
    app.create_user(
        "manager@errors.test",
        Some((
            Role::GymManager,
            MembershipTarget::Gym(fid.into(), gid.into()),
        )),
    )
    .await;
    let kiosks = format!("/app/gyms/{gid}/kiosks");
    let (s, html) = get(&app, &admin, &kiosks).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("href=\"/app/ops/errors\""),
        "linked in the admin nav"
    );
    let manager = web_login(&app, "manager@errors.test", None).await;
    let (s, html) = get(&app, &manager, "/app/ops/errors").await;
    assert_eq!(s, 403, "{html}");
    assert!(!html.contains("marker.dead"));
    // The kiosks page carries the outage history section (empty here), and no admin link.
    let (s, html) = get(&app, &manager, &kiosks).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Kiosk outages") && html.contains("No outages."));
    assert!(!html.contains("/app/ops/errors"));
    app.stop().await;
}

#[tokio::test]
async fn sqlite_errors_page_is_for_super_admins() {
    errors_page(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_errors_page_is_for_super_admins() {
    errors_page(Backend::Postgres).await;
}
