//! Foundation HTTP tests: health, the JSON error contract, bad input of every kind, CRUD with
//! validation, pagination and filtering, request ids, OpenAPI, timeouts and graceful shutdown —
//! on SQLite and PostgreSQL.

use crate::common;

use common::{Backend, TestApp, send};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn app(b: Backend) -> Option<TestApp> {
    TestApp::start(b, &[]).await
}

/// Creates a franchise and a gym; returns (franchise_id, gym_id).
async fn tenant(app: &TestApp, name: &str) -> (String, String) {
    let (s, f) = app
        .post("/api/v1/franchises", json!({ "name": name }))
        .await;
    assert_eq!(s, 201, "{f}");
    let fid = f["id"].as_str().unwrap().to_string();
    let (s, g) = app
        .post("/api/v1/gyms", json!({ "franchise_id": fid, "name": format!("{name} Gym"), "timezone": "Europe/Paris", "locale": "fr" }))
        .await;
    assert_eq!(s, 201, "{g}");
    (fid, g["id"].as_str().unwrap().to_string())
}

fn member(badge: &str, first: &str, last: &str) -> Value {
    json!({ "badge_id": badge, "first_name": first, "last_name": last, "email": format!("{}@example.com", first.to_lowercase()) })
}

async fn health_and_readiness(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (s, body) = send(app.client.get(app.url("/healthz"))).await;
    assert_eq!((s, body["status"].as_str()), (200, Some("ok")));
    let (s, body) = send(app.client.get(app.url("/readyz"))).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["status"], "ready");
    assert!(body["migrations"].as_u64().unwrap() >= 1);
    app.stop().await;
}

async fn api_is_closed_without_valid_token(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (s, body) = send(app.client.get(app.url("/api/v1/gyms"))).await;
    assert_eq!(s, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let (s, _) = send(
        app.client
            .get(app.url("/api/v1/gyms"))
            .bearer_auth("wrong-token-wrong-token-wrong-token"),
    )
    .await;
    assert_eq!(s, 401);
    // The real token works.
    let (s, _) = send(
        app.client
            .get(app.url("/api/v1/gyms"))
            .bearer_auth(&app.token),
    )
    .await;
    assert_eq!(s, 200);
    app.stop().await;
}

async fn crud_flow_with_pagination_and_filters(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (fid, gid) = tenant(&app, "Atlas").await;
    let (s, f) = app.get(&format!("/api/v1/franchises/{fid}")).await;
    assert_eq!((s, f["name"].as_str()), (200, Some("Atlas")));
    let (s, g) = app.get(&format!("/api/v1/gyms/{gid}")).await;
    assert_eq!(
        (s, g["status"].as_str(), g["locale"].as_str()),
        (200, Some("active"), Some("fr"))
    );

    let members = format!("/api/v1/gyms/{gid}/members");
    for i in 0..12 {
        let (s, m) = app
            .post(
                &members,
                member(&format!("B{i:03}"), &format!("Name{i}"), "Durand"),
            )
            .await;
        assert_eq!(s, 201, "{m}");
    }
    let (s, m) = app.post(&members, member("ZZ-1", "Élodie", "Martin")).await;
    assert_eq!(s, 201);
    let mid = m["id"].as_str().unwrap().to_string();
    assert_eq!(m["membership_status"], "active");
    assert_eq!(m["preferred_language"], "fr");

    let (s, page) = app.get(&format!("{members}?limit=5&offset=10")).await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["total"], 13);
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let (_, found) = app.get(&format!("{members}?q=martin")).await;
    assert_eq!(found["total"], 1);
    let (_, found) = app.get(&format!("{members}?q=zz-1&status=active")).await;
    assert_eq!(found["total"], 1);
    let (_, none) = app.get(&format!("{members}?status=frozen")).await;
    assert_eq!(none["total"], 0);

    let (s, u) = app
        .patch(
            &format!("{members}/{mid}"),
            json!({ "membership_status": "frozen", "email": null, "goals": ["swim 1 km"] }),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(
        (u["membership_status"].as_str(), u["email"].is_null()),
        (Some("frozen"), true)
    );
    let (_, frozen) = app.get(&format!("{members}?status=frozen")).await;
    assert_eq!(frozen["total"], 1);

    let (s, _) = app.delete(&format!("{members}/{mid}")).await;
    assert_eq!(s, 204);
    let (s, body) = app.get(&format!("{members}/{mid}")).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );

    let (s, g) = app
        .patch(
            &format!("/api/v1/gyms/{gid}"),
            json!({ "name": "Atlas Centre", "settings": { "voice_session_cap": 4 } }),
        )
        .await;
    assert_eq!((s, g["name"].as_str()), (200, Some("Atlas Centre")));
    let (s, archived) = app.delete(&format!("/api/v1/gyms/{gid}")).await;
    assert_eq!((s, archived["status"].as_str()), (200, Some("archived")));
    let (_, gyms) = app.get(&format!("/api/v1/gyms?franchise_id={fid}")).await;
    assert_eq!(gyms["total"], 0, "archived gyms leave the default list");
    let (_, gyms) = app
        .get(&format!("/api/v1/gyms?franchise_id={fid}&status=archived"))
        .await;
    assert_eq!(gyms["total"], 1);

    let (s, audit) = app
        .get(&format!(
            "/api/v1/audit?gym_id={gid}&action=member.create&limit=200"
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(audit["total"], 13, "every write is audited");
    app.stop().await;
}

async fn bad_input_gets_clear_errors_and_writes_nothing(b: Backend) {
    let Some(app) = app(b).await else { return };
    let (_, gid) = tenant(&app, "Bad").await;
    let members = format!("/api/v1/gyms/{gid}/members");
    let (s, _) = app.post(&members, member("DUP-1", "Ann", "One")).await;
    assert_eq!(s, 201);

    // Malformed JSON.
    let (s, body) = send(
        app.req(Method::POST, &members)
            .header("content-type", "application/json")
            .body("{\"badge_id\": "),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("malformed_json")),
        "{body}"
    );
    // Wrong type, named.
    let (s, body) = app
        .post(
            &members,
            json!({ "badge_id": 5, "first_name": "A", "last_name": "B" }),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "badge_id");
    // Unknown field (e.g. smuggling a gym_id), named.
    let (s, body) = app
        .post(
            &members,
            json!({ "badge_id": "X", "first_name": "A", "last_name": "B", "gym_id": gid }),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gym_id"),
        "{body}"
    );
    // Several invalid fields at once, each named.
    let (s, body) = app.post(&members, json!({ "badge_id": "bad badge!", "first_name": "", "last_name": "B", "email": "nope" })).await;
    assert_eq!(s, 422, "{body}");
    let fields: Vec<&str> = body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["badge_id", "first_name", "email"]);
    // Bad date.
    let (s, body) = app.post(&members, json!({ "badge_id": "D1", "first_name": "A", "last_name": "B", "birth_date": "2024-13-45" })).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "birth_date");
    // Duplicate badge: 409 naming the badge.
    let (s, body) = app.post(&members, member("DUP-1", "Bob", "Two")).await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["error"]["details"]["field"], "badge_id");
    assert!(body["error"]["message"].as_str().unwrap().contains("DUP-1"));
    // Not JSON at all.
    let (s, body) = send(app.req(Method::POST, &members).body("badge_id=1")).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    // Oversize body.
    let huge = json!({ "badge_id": "H", "first_name": "A", "last_name": "B", "limitations": "x".repeat(2 * 1024 * 1024) });
    let (s, body) = app.post(&members, huge).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    // Invalid UUIDs in the path, named.
    let (s, body) = app.get("/api/v1/gyms/not-a-uuid/members").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (400, Some("invalid_path"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not-a-uuid"),
        "{body}"
    );
    let (s, _) = app.get(&format!("{members}/123")).await;
    assert_eq!(s, 400);
    // Bad query parameters.
    let (s, body) = app.get(&format!("{members}?limit=0")).await;
    assert_eq!(
        (s, body["error"]["details"]["field"].as_str()),
        (400, Some("limit"))
    );
    let (s, _) = app.get(&format!("{members}?limit=201")).await;
    assert_eq!(s, 400);
    let (s, body) = app.get(&format!("{members}?limit=ten")).await;
    assert_eq!(s, 400, "{body}");
    let (s, body) = app.get(&format!("{members}?stauts=active")).await;
    assert_eq!(
        s, 400,
        "a typo in a filter is an error, not a silently ignored filter: {body}"
    );
    let (s, _) = app.get(&format!("{members}?status=sleeping")).await;
    assert_eq!(s, 400);
    // Unknown gym and unknown franchise.
    let (s, _) = app
        .get(&format!("/api/v1/gyms/{}/members", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(s, 404);
    let (s, body) = app
        .post(
            "/api/v1/gyms",
            json!({ "franchise_id": uuid::Uuid::now_v7(), "name": "Ghost" }),
        )
        .await;
    assert_eq!(
        (s, body["error"]["details"]["fields"][0]["field"].as_str()),
        (422, Some("franchise_id")),
        "{body}"
    );
    let (s, body) = app
        .post(
            "/api/v1/gyms",
            json!({ "franchise_id": uuid::Uuid::now_v7(), "name": "Tz", "timezone": "Mars/Base" }),
        )
        .await;
    assert_eq!(
        (s, body["error"]["details"]["fields"][0]["field"].as_str()),
        (422, Some("timezone"))
    );

    // Nothing half-written: only the first member exists.
    let (_, list) = app.get(&members).await;
    assert_eq!(list["total"], 1, "{list}");
    let (_, audit) = app
        .get(&format!("/api/v1/audit?gym_id={gid}&action=member.create"))
        .await;
    assert_eq!(audit["total"], 1);
    app.stop().await;
}

async fn routes_methods_request_ids_and_openapi(b: Backend) {
    let Some(app) = app(b).await else { return };
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    let id = resp
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 36, "a UUID request id is generated");
    assert_eq!(
        resp.headers().get("x-content-type-options").unwrap(),
        "nosniff"
    );
    let resp = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers().get("x-request-id").unwrap(),
        "trace-me-123",
        "a caller's id is propagated"
    );

    let (s, body) = app.get("/api/v1/nope").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (404, Some("route_not_found"))
    );
    let (s, body) = send(app.req(Method::PUT, "/api/v1/franchises")).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );

    let (s, doc) = send(app.client.get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/franchises",
        "/api/v1/gyms/{id}",
        "/api/v1/gyms/{gym_id}/members",
        "/api/v1/gyms/{gym_id}/members/{member_id}",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"][path].is_object(), "OpenAPI lacks {path}");
    }
    assert!(doc["components"]["schemas"]["NewMember"]["properties"]["badge_id"].is_object());

    let page = app.client.get(app.url("/app")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("content-security-policy").is_some());
    let cache = page
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        cache.starts_with("no-store"),
        "pages are never cached: {cache}"
    );
    assert!(page.text().await.unwrap().contains("JARVIS"));
    app.stop().await;
}

/// Sends the headers of a POST whose body arrives later, so the request is in flight.
async fn start_slow_post(app: &TestApp, path: &str, body: &str) -> tokio::net::TcpStream {
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        app.token,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..1]).await.unwrap();
    stream
}

async fn graceful_shutdown_finishes_in_flight_requests(b: Backend) {
    let Some(mut app) = app(b).await else { return };
    let body = json!({ "name": "Late Franchise" }).to_string();
    let mut stream = start_slow_post(&app, "/api/v1/franchises", &body).await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let server = app.server.take().unwrap();
    let shutdown = tokio::spawn(server.shutdown());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !shutdown.is_finished(),
        "shutdown waits for the in-flight request"
    );
    stream.write_all(&body.as_bytes()[1..]).await.unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "in-flight request completed: {response}"
    );
    shutdown.await.unwrap().unwrap();
    // The write landed.
    let f = app
        .db
        .store()
        .list_franchises(
            &jarvis_core::Scope::Platform,
            &Default::default(),
            Default::default(),
        )
        .await
        .unwrap();
    assert_eq!(f.items[0].name, "Late Franchise");
}

async fn slow_requests_time_out_with_json(b: Backend) {
    // 3 s, not 1: the test's own sign-in goes through the same timeout, and argon2 on a loaded
    // 2-core machine has taken over a second.
    let Some(app) = TestApp::start(b, &[("JARVIS_REQUEST_TIMEOUT_SECS", "3")]).await else {
        return;
    };
    let mut stream =
        start_slow_post(&app, "/api/v1/franchises", "{\"name\": \"never finished\"}").await;
    let mut response = String::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut response),
    )
    .await;
    assert!(
        read.is_ok(),
        "the server answered instead of waiting forever"
    );
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(response.contains("\"code\":\"timeout\""), "{response}");
    app.stop().await;
}

async fn demo_seed_is_idempotent_and_served(b: Backend) {
    let Some(app) = app(b).await else { return };
    let store = app.db.store();
    let first = jarvis_app::demo::seed(&*store).await.unwrap();
    assert!(first.franchise_created);
    assert_eq!(
        (
            first.gyms_created,
            first.members_created,
            first.kiosks_created
        ),
        (2, 200, 4)
    );
    let again = jarvis_app::demo::seed(&*store).await.unwrap();
    assert_eq!(
        (
            again.gyms_created,
            again.members_created,
            again.members_kept
        ),
        (0, 0, 200)
    );
    assert_eq!((first.visitors_created, again.visitors_created), (2, 0));
    // Backdated once to the start of the demo history, never again.
    assert_eq!((first.gyms_backdated, again.gyms_backdated), (2, 0));
    let (_, gyms) = app.get("/api/v1/gyms").await;
    assert_eq!(gyms["total"], 2);
    let locales: Vec<&str> = gyms["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["locale"].as_str().unwrap())
        .collect();
    assert!(locales.contains(&"fr") && locales.contains(&"en"));
    let gid = gyms["items"][0]["id"].as_str().unwrap();
    let (_, members) = app
        .get(&format!("/api/v1/gyms/{gid}/members?limit=1"))
        .await;
    // The regular members and the demo page's visitor (`DEMO-VISITOR`).
    assert_eq!(members["total"], jarvis_app::demo::MEMBERS_PER_GYM + 1);
    app.stop().await;
}

both_backends!(
    health_and_readiness,
    api_is_closed_without_valid_token,
    crud_flow_with_pagination_and_filters,
    bad_input_gets_clear_errors_and_writes_nothing,
    routes_methods_request_ids_and_openapi,
    graceful_shutdown_finishes_in_flight_requests,
    slow_requests_time_out_with_json,
    demo_seed_is_idempotent_and_served,
);

#[tokio::test]
async fn unreachable_database_at_start_is_a_clear_error() {
    let cfg = common::config("postgres://jarvis@127.0.0.1:1/jarvis", &[]);
    let err = jarvis_app::store::open_store(&cfg)
        .await
        .err()
        .expect("must fail")
        .to_string();
    assert!(
        err.contains("cannot open database postgres://jarvis@127.0.0.1:1/jarvis"),
        "{err}"
    );
    assert!(
        err.to_lowercase().contains("refused"),
        "names the cause: {err}"
    );
}

#[tokio::test]
async fn without_an_openai_key_the_demo_fake_runs_and_the_ui_says_so() {
    let app = TestApp::start(Backend::Sqlite, &[("JARVIS_OPENAI_API_KEY", "")])
        .await
        .unwrap();
    let html = app
        .client
        .get(app.url("/app"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Demo mode"), "{html}");
    app.stop().await;
    let real = TestApp::start(Backend::Sqlite, &[]).await.unwrap();
    let html = real
        .client
        .get(real.url("/app"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Demo mode"));
    real.stop().await;
}
