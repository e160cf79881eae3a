//! Prometheus `/metrics` on both backends: closed without the token (401) and absent without
//! a configured token (404); with it, requests are counted under their route template (never
//! the id in the path), and what storage says now (database up, voice cap, outbox, pool, job
//! queues) is in the same scrape; the separate metrics listener serves it without a token.

use crate::common;

use common::{Backend, TestApp, send};
use serde_json::json;

const TOKEN: &str = "metrics-token-for-tests-0123";

/// The value of the first sample line starting with `series` (labels included).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String, String) {
    let mut rb = app.client.get(app.url("/metrics"));
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ctype, resp.text().await.unwrap())
}

async fn counted_under_route_templates(backend: Backend) {
    let app = TestApp::start(backend, &[("JARVIS_METRICS_TOKEN", TOKEN)])
        .await
        .unwrap();
    assert_eq!(scrape(&app, None).await.0, 401);
    assert_eq!(
        scrape(&app, Some("metrics-token-for-tests-0124")).await.0,
        401
    );

    let (s, f) = app
        .post("/api/v1/franchises", json!({ "name": "Metrics" }))
        .await;
    assert_eq!(s, 201, "{f}");
    let (s, g) = app
        .post(
            "/api/v1/gyms",
            json!({ "franchise_id": f["id"], "name": "Metrics Gym", "timezone": "Europe/Paris" }),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let gym = g["id"].as_str().unwrap().to_string();
    for _ in 0..3 {
        assert_eq!(app.get(&format!("/api/v1/gyms/{gym}")).await.0, 200);
    }
    let (s, _) = send(app.req(reqwest::Method::GET, "/no/such/page")).await;
    assert_eq!(s, 404);

    let (status, ctype, text) = scrape(&app, Some(TOKEN)).await;
    assert_eq!(status, 200, "{text}");
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    assert!(text.ends_with("# EOF\n"));
    assert_eq!(
        sample(
            &text,
            r#"jarvis_http_requests_total{method="GET",route="/api/v1/gyms/{id}",status="200"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"jarvis_http_request_duration_seconds_count{method="GET",route="/api/v1/gyms/{id}"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"jarvis_http_requests_total{method="GET",route="unmatched",status="404"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(!text.contains(&gym), "an id leaked into a label: {text}");
    assert!(!text.contains("/no/such/page"), "{text}");

    assert_eq!(sample(&text, "jarvis_database_up "), Some(1.0), "{text}");
    assert_eq!(sample(&text, "jarvis_voice_sessions_cap "), Some(100.0));
    assert_eq!(sample(&text, "jarvis_voice_sessions_live "), Some(0.0));
    assert_eq!(sample(&text, "jarvis_voice_calls_live "), Some(0.0));
    assert_eq!(sample(&text, "jarvis_email_outbox_pending "), Some(0.0));
    assert_eq!(sample(&text, "jarvis_db_pool_connections_max "), Some(10.0));
    assert!(sample(&text, "jarvis_db_pool_connections_open ").unwrap() >= 1.0);
    assert_eq!(sample(&text, "jarvis_ai_cost_month_dollars "), Some(0.0));
    assert!(text.contains("# TYPE jarvis_job_runs counter"), "{text}");
    // Scheduled kinds (the session purge, the mail drain) have queue rows from the start.
    assert!(text.contains(r#"jarvis_jobs{kind=""#), "{text}");
    app.stop().await;
}

async fn closed_without_a_token(backend: Backend) {
    let app = TestApp::start(backend, &[]).await.unwrap();
    assert_eq!(scrape(&app, None).await.0, 404);
    assert_eq!(scrape(&app, Some(TOKEN)).await.0, 404);
    app.stop().await;
}

async fn the_metrics_listener_needs_no_token(backend: Backend) {
    let app = TestApp::start(backend, &[("JARVIS_METRICS_LISTEN", "127.0.0.1:0")])
        .await
        .unwrap();
    let addr = app.server.as_ref().unwrap().metrics_addr.unwrap();
    assert_eq!(app.get("/api/v1/gyms").await.0, 200);
    let resp = app
        .client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let text = resp.text().await.unwrap();
    assert_eq!(
        sample(
            &text,
            r#"jarvis_http_requests_total{method="GET",route="/api/v1/gyms",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
    // Only /metrics there: the application is not reachable through the metrics port.
    let other = app
        .client
        .get(format!("http://{addr}/api/v1/gyms"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
    app.stop().await;
}

both_backends!(
    counted_under_route_templates,
    closed_without_a_token,
    the_metrics_listener_needs_no_token,
);

mod request_log {
    use super::*;
    use jarvis_core::Scope;

    /// Answered requests reach the request log (written on shutdown at the latest) with their
    /// route template and the gym their path named; with `request_log = false`, nothing.
    async fn requests_are_logged_with_their_gym(backend: Backend) {
        let mut app = TestApp::start(backend, &[]).await.unwrap();
        let (s, f) = app
            .post("/api/v1/franchises", json!({ "name": "Logged" }))
            .await;
        assert_eq!(s, 201, "{f}");
        let (s, g) = app
            .post(
                "/api/v1/gyms",
                json!({ "franchise_id": f["id"], "name": "Logged Gym", "timezone": "Europe/Paris" }),
            )
            .await;
        assert_eq!(s, 201, "{g}");
        let gym = g["id"].as_str().unwrap().to_string();
        assert_eq!(app.get(&format!("/api/v1/gyms/{gym}")).await.0, 200);
        assert_eq!(app.get(&format!("/api/v1/gyms/{gym}/leads")).await.0, 200);
        app.stop_server().await;
        let rows = app
            .db
            .store()
            .recent_requests(&Scope::Platform, 1000)
            .await
            .unwrap();
        let find = |route: &str| {
            rows.iter()
                .find(|r| r.route == route)
                .unwrap_or_else(|| panic!("{route} not logged: {rows:?}"))
        };
        let by_id = find("/api/v1/gyms/{id}");
        assert_eq!((by_id.method.as_str(), by_id.status), ("GET", 200));
        assert_eq!(by_id.gym.map(|g| g.to_string()), Some(gym.clone()));
        let nested = find("/api/v1/gyms/{gym_id}/leads");
        assert_eq!(nested.gym.map(|g| g.to_string()), Some(gym.clone()));
        assert_eq!(find("/api/v1/gyms").gym, None);
        assert!(rows.iter().all(|r| !r.route.contains(&gym)));
    }

    async fn off_when_disabled(backend: Backend) {
        let mut app = TestApp::start(backend, &[("JARVIS_REQUEST_LOG", "false")])
            .await
            .unwrap();
        assert_eq!(app.get("/api/v1/gyms").await.0, 200);
        app.stop_server().await;
        let rows = app
            .db
            .store()
            .recent_requests(&Scope::Platform, 10)
            .await
            .unwrap();
        assert!(rows.is_empty(), "{rows:?}");
    }

    both_backends!(requests_are_logged_with_their_gym, off_when_disabled);
}
