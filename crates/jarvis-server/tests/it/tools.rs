//! Custom HTTP tools over the API and the dashboard, on both backends, with a receiver on
//! loopback (allow-listed through `tools_allow_hosts`; nothing leaves the machine): create
//! answers the secret once and never again; bad definitions are 422 naming the field (schema,
//! reserved name, plain http to a host not allow-listed), a second tool of that name is 409;
//! "test this tool" refuses arguments that break the schema without sending anything and
//! otherwise shows the signed exchange; rotation gives a new secret; another gym's manager sees
//! nothing and staff are refused. The pages create, show field errors in French, show the
//! secret once, run a test, and delete behind a confirmation.

use crate::common;

use crate::web::{form, get, hidden, post, web_login};
use common::{Backend, TestApp, send};
use jarvis_core::model::MembershipTarget;
use jarvis_core::{FranchiseId, GymId, Role};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn gym(app: &TestApp, name: &str) -> (FranchiseId, GymId) {
    let (s, f) = app
        .post("/api/v1/franchises", json!({ "name": name }))
        .await;
    assert_eq!(s, 201, "{f}");
    let fid = f["id"].as_str().unwrap().to_string();
    let (s, g) = app
        .post(
            "/api/v1/gyms",
            json!({ "franchise_id": fid, "name": format!("{name} Gym"), "timezone": "Europe/Paris" }),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    (
        fid.parse().unwrap(),
        g["id"].as_str().unwrap().parse().unwrap(),
    )
}

/// A loopback receiver answering `{"open": true}` to every request; its accept counter.
async fn receiver() -> (u16, Arc<AtomicUsize>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let n = Arc::new(AtomicUsize::new(0));
    let c = n.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = l.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                loop {
                    let Ok(k) = sock.read(&mut buf).await else {
                        return;
                    };
                    if k == 0 {
                        return;
                    }
                    got.extend_from_slice(&buf[..k]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(i) = text.find("\r\n\r\n") {
                        let len = text[..i]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if got.len() >= i + 4 + len {
                            break;
                        }
                    }
                }
                let body = r#"{"open": true}"#;
                let out = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(out.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (port, n)
}

fn definition(name: &str, port: u16) -> Value {
    json!({
        "name": name,
        "description": "Tells whether the sauna is open",
        "parameters": {"type": "object", "additionalProperties": false,
            "properties": {"day": {"type": "string", "enum": ["today", "tomorrow"]}}},
        "url": format!("http://127.0.0.1:{port}/sauna"),
        "member_fields": ["first_name"],
        "timeout_ms": 2000
    })
}

async fn api_crud_test_and_secrets(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[("JARVIS_TOOLS_ALLOW_HOSTS", "127.0.0.1")]).await
    else {
        return;
    };
    let (f, g) = gym(&app, "Tools").await;
    let (other_f, other_g) = gym(&app, "Other").await;
    let (port, accepts) = receiver().await;
    let base = format!("/api/v1/gyms/{g}/tools");

    let (s, created) = app.post(&base, definition("sauna_open", port)).await;
    assert_eq!(s, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("jtsec_"));
    assert_eq!(created["method"], "POST");
    let (s, list) = app.get(&base).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(
        !list.to_string().contains(&secret),
        "the secret is shown once"
    );
    let (s, one) = app.get(&format!("{base}/{id}")).await;
    assert_eq!(s, 200);
    assert!(one.get("secret").is_none());

    // Bad definitions name their field.
    let mut bad = definition("bad_schema", port);
    bad["parameters"] = json!({"type": "object", "properties": {"a": {"pattern": "x"}}});
    for (body, field) in [
        (bad, "parameters"),
        (definition("get_member_profile", port), "name"),
        (
            {
                let mut d = definition("plain_http", port);
                d["url"] = json!("http://hooks.example.com/x");
                d
            },
            "url",
        ),
    ] {
        let (s, v) = app.post(&base, body).await;
        assert_eq!(s, 422, "{v}");
        assert_eq!(v["error"]["details"]["fields"][0]["field"], field, "{v}");
    }
    let (s, v) = app.post(&base, definition("sauna_open", port)).await;
    assert_eq!(s, 409, "{v}");

    // Test: bad arguments are refused before anything is sent.
    let test = format!("{base}/{id}/test");
    let (s, v) = app
        .post(&test, json!({"arguments": {"day": "monday"}}))
        .await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(accepts.load(Ordering::SeqCst), 0);
    let (s, v) = app
        .post(&test, json!({"arguments": {"day": "today"}}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(accepts.load(Ordering::SeqCst), 1);
    assert_eq!(v["response"]["status"], 200, "{v}");
    assert_eq!(v["response"]["result"], json!({"open": true}));
    let body: Value = serde_json::from_str(v["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["arguments"], json!({"day": "today"}));
    assert!(body["member"]["first_name"].is_string());
    assert!(
        !v.to_string().contains(&secret),
        "the exchange never shows the secret"
    );

    // Rotation.
    let (s, r) = app.post(&format!("{base}/{id}/secret"), json!({})).await;
    assert_eq!(s, 201, "{r}");
    assert_ne!(r["secret"], json!(secret));

    // Replace.
    let mut d = definition("sauna_hours", port);
    d["enabled"] = json!(false);
    let (s, v) = send(
        app.req(reqwest::Method::PUT, &format!("{base}/{id}"))
            .json(&d),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["name"], "sauna_hours");
    assert_eq!(v["enabled"], false);

    // Another gym's manager sees nothing; the gym's staff are refused.
    let other = app
        .as_role(
            "tools-b@example.com",
            Role::GymManager,
            MembershipTarget::Gym(other_f, other_g),
        )
        .await;
    let staff = app
        .as_role(
            "tools-staff@example.com",
            Role::GymStaff,
            MembershipTarget::Gym(f, g),
        )
        .await;
    let (s, _) =
        send(app.req_as(&other.token, reqwest::Method::GET, &format!("{base}/{id}"))).await;
    assert_eq!(s, 404);
    let (s, _) = send(app.req_as(&staff.token, reqwest::Method::GET, &base)).await;
    assert_eq!(s, 403);

    let (s, _) = app.delete(&format!("{base}/{id}")).await;
    assert_eq!(s, 204);
    let (s, _) = app.get(&format!("{base}/{id}")).await;
    assert_eq!(s, 404);
    app.stop().await;
}

async fn pages_create_test_and_delete(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[("JARVIS_TOOLS_ALLOW_HOSTS", "127.0.0.1")]).await
    else {
        return;
    };
    let (f, g) = gym(&app, "Pages").await;
    let (port, accepts) = receiver().await;
    let manager = app
        .as_role(
            "tools-page@example.com",
            Role::GymManager,
            MembershipTarget::Gym(f, g),
        )
        .await;
    let session = web_login(&app, &manager.email, manager.totp.as_deref()).await;
    let session = format!("{session}; jarvis_lang=fr");
    let path = format!("/app/gyms/{g}/tools");
    let (s, html) = get(&app, &session, &path).await;
    assert_eq!(s, 200);
    assert!(html.contains("<html lang=\"fr\">"));
    assert!(html.contains("Outils"), "French page, nav area");
    let csrf = hidden(&html, "csrf");
    let url = format!("http://127.0.0.1:{port}/sauna");

    // A broken schema is an inline error in French; nothing is stored.
    let (s, html) = post(
        &app,
        &session,
        &path,
        &form(&[
            ("csrf", &csrf),
            ("name", "sauna_open"),
            ("description", "Sauna"),
            ("parameters", "{\"type\": \"object\", \"oneOf\": []}"),
            ("url", &url),
            ("method", "POST"),
            ("timeout_ms", "2000"),
            ("enabled", "on"),
        ]),
    )
    .await;
    assert_eq!(s, 422);
    assert!(html.contains("sous-ensemble pris en charge"), "{html}");

    let (s, html) = post(
        &app,
        &session,
        &path,
        &form(&[
            ("csrf", &csrf),
            ("name", "sauna_open"),
            ("description", "Sauna"),
            ("parameters", "{\"type\": \"object\"}"),
            ("url", &url),
            ("method", "POST"),
            ("timeout_ms", "2000"),
            ("mf_first_name", "on"),
            ("enabled", "on"),
        ]),
    )
    .await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("id=\"new-secret\""));
    let secret = html
        .split("<code id=\"secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_string();
    assert!(secret.starts_with("jtsec_"));
    let (s, list) = app.get(&format!("/api/v1/gyms/{g}/tools")).await;
    assert_eq!(s, 200);
    let id = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(list[0]["member_fields"], json!(["first_name"]));
    let tool_path = format!("{path}/{id}");
    let (s, html) = get(&app, &session, &tool_path).await;
    assert_eq!(s, 200);
    assert!(!html.contains(&secret), "the secret is shown once");

    // Test this tool: invalid sample arguments send nothing; valid ones show the exchange.
    let (s, html) = post(
        &app,
        &session,
        &format!("{tool_path}/test"),
        &form(&[("csrf", &csrf), ("arguments", "[1]")]),
    )
    .await;
    assert_eq!(s, 422);
    assert!(html.contains("rien n&#39;a été envoyé"), "{html}");
    assert_eq!(accepts.load(Ordering::SeqCst), 0);
    let (s, html) = post(
        &app,
        &session,
        &format!("{tool_path}/test"),
        &form(&[("csrf", &csrf), ("arguments", "{}")]),
    )
    .await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"response\""), "{html}");
    assert!(html.contains("Jarvis-Signature"));
    assert_eq!(accepts.load(Ordering::SeqCst), 1);

    // Delete: a confirmation page, then the POST.
    let (s, html) = get(&app, &session, &format!("{tool_path}/delete")).await;
    assert_eq!(s, 200);
    assert!(html.contains("sauna_open"));
    let (s, to) = post(
        &app,
        &session,
        &format!("{tool_path}/delete"),
        &form(&[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(to, path);
    let (_, list) = app.get(&format!("/api/v1/gyms/{g}/tools")).await;
    assert_eq!(list, json!([]));
    app.stop().await;
}

both_backends!(api_crud_test_and_secrets, pages_create_test_and_delete);
