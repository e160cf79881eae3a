//! The lead webhook and the leads API on both backends: a correctly signed delivery is stored
//! and listed; a wrong signature, an unknown key, a stale or future timestamp are 401; a
//! replayed event id answers the same and stores once (another body under it is 409); a bad
//! field is 422 naming it; a rotated secret stops the old one; another gym's manager can
//! neither see nor change the lead.

use crate::common;

use crate::web::{get, hidden, post, web_login};
use common::{Backend, TestApp, send};
use jarvis_app::leads::sign;
use jarvis_core::model::MembershipTarget;
use jarvis_core::{FranchiseId, GymId, Role};
use serde_json::{Value, json};

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

/// Generates the gym's webhook secret: (key id, secret).
async fn secret(app: &TestApp, g: GymId) -> (String, String) {
    let (s, v) = app
        .post(&format!("/api/v1/gyms/{g}/leads/webhook-secret"), json!({}))
        .await;
    assert_eq!(s, 201, "{v}");
    (
        v["key_id"].as_str().unwrap().to_string(),
        v["secret"].as_str().unwrap().to_string(),
    )
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Posts a delivery signed with `secret` at `t`; (status, replayed header, body).
async fn deliver(app: &TestApp, key: &str, secret: &str, t: i64, body: &str) -> (u16, bool, Value) {
    let sig = sign(secret, t, body.as_bytes());
    let r = app
        .client
        .post(app.url("/api/v1/webhooks/leads"))
        .header("content-type", "application/json")
        .header("jarvis-webhook-key", key)
        .header("jarvis-signature", format!("t={t},v1={sig}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let replayed = r.headers().get("idempotent-replayed").is_some();
    let v = r.json::<Value>().await.unwrap_or(Value::Null);
    (s, replayed, v)
}

fn lead_body(event: &str) -> String {
    json!({
        "event_id": event,
        "name": "Ada Lovelace",
        "email": "Ada@Example.com",
        "phone": "+33 6 12 34 56 78",
        "message": "Trial session please",
        "source": "landing"
    })
    .to_string()
}

async fn leads_of(app: &TestApp, g: GymId) -> Value {
    let (s, v) = app.get(&format!("/api/v1/gyms/{g}/leads")).await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn signed_leads_are_stored_once(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (_, g) = gym(&app, "Signed").await;
    let (key, sec) = secret(&app, g).await;
    let body = lead_body("evt-1");

    let (s, replayed, first) = deliver(&app, &key, &sec, now(), &body).await;
    assert_eq!(s, 200, "{first}");
    assert!(!replayed);
    let list = leads_of(&app, g).await;
    assert_eq!(list["total"], 1, "{list}");
    let l = &list["items"][0];
    assert_eq!(l["id"], first["lead_id"]);
    assert_eq!(l["status"], "new");
    assert_eq!(l["email"], "ada@example.com");
    assert_eq!(l["source"], "landing");

    // The same event again (a sender's retry, later timestamp): same answer, stored once.
    let (s, replayed, again) = deliver(&app, &key, &sec, now() + 1, &body).await;
    assert_eq!(s, 200, "{again}");
    assert!(replayed);
    assert_eq!(again, first);
    assert_eq!(leads_of(&app, g).await["total"], 1);

    // Another body under the same event id is a sender bug, not a replay.
    let other = lead_body("evt-1").replace("Ada Lovelace", "Mallory");
    let (s, _, v) = deliver(&app, &key, &sec, now(), &other).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"]["code"], "event_id_reused");
    assert_eq!(leads_of(&app, g).await["total"], 1);
    app.stop().await;
}

async fn bad_signatures_and_times_are_401(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (_, g) = gym(&app, "Guarded").await;
    let (key, sec) = secret(&app, g).await;
    let body = lead_body("evt-x");

    let (s, _, v) = deliver(&app, &key, "whsec_wrong", now(), &body).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("invalid_signature")),
        "{v}"
    );
    let (s, _, v) = deliver(&app, "lk_unknown", &sec, now(), &body).await;
    assert_eq!(s, 401, "{v}");
    let (s, _, v) = deliver(&app, &key, &sec, now() - 6 * 60, &body).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("stale_timestamp")),
        "{v}"
    );
    let (s, _, v) = deliver(&app, &key, &sec, now() + 6 * 60, &body).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("stale_timestamp")),
        "{v}"
    );

    // A signature over another body (tampered in transit).
    let t = now();
    let sig = sign(&sec, t, lead_body("evt-y").as_bytes());
    let (s, _) = send(
        app.client
            .post(app.url("/api/v1/webhooks/leads"))
            .header("jarvis-webhook-key", &key)
            .header("jarvis-signature", format!("t={t},v1={sig}"))
            .body(body.clone()),
    )
    .await;
    assert_eq!(s, 401);
    // No headers at all.
    let (s, _) = send(
        app.client
            .post(app.url("/api/v1/webhooks/leads"))
            .body(body.clone()),
    )
    .await;
    assert_eq!(s, 401);

    // Rotation: the old secret stops at once, the new one works.
    let (key2, sec2) = secret(&app, g).await;
    let (s, _, _) = deliver(&app, &key, &sec, now(), &body).await;
    assert_eq!(s, 401);
    let (s, _, _) = deliver(&app, &key2, &sec, now(), &body).await;
    assert_eq!(s, 401);
    let (s, _, v) = deliver(&app, &key2, &sec2, now(), &body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(leads_of(&app, g).await["total"], 1);
    app.stop().await;
}

async fn bad_fields_are_422_naming_them(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (_, g) = gym(&app, "Strict").await;
    let (key, sec) = secret(&app, g).await;
    let bad = json!({ "event_id": "evt-2", "name": "Bo", "email": "not-an-address" }).to_string();
    let (s, _, v) = deliver(&app, &key, &sec, now(), &bad).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["details"]["fields"][0]["field"], "email", "{v}");
    let bad =
        json!({ "event_id": "evt 3", "name": "Bo", "phone": "+33 6 12 34 56 78" }).to_string();
    let (s, _, v) = deliver(&app, &key, &sec, now(), &bad).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        v["error"]["details"]["fields"][0]["field"], "event_id",
        "{v}"
    );
    let bad =
        json!({ "event_id": "evt-4", "name": "Bo", "phone": "0612345678", "age": 3 }).to_string();
    let (s, _, v) = deliver(&app, &key, &sec, now(), &bad).await;
    assert_eq!(s, 422, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("age"),
        "{v}"
    );
    let huge = json!({ "event_id": "evt-5", "name": "Bo", "phone": "0612345678", "message": "x".repeat(20_000) }).to_string();
    let (s, _, v) = deliver(&app, &key, &sec, now(), &huge).await;
    assert_eq!(s, 413, "{v}");
    assert_eq!(leads_of(&app, g).await["total"], 0);
    app.stop().await;
}

async fn other_gyms_cannot_see_or_change_leads(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (fa, ga) = gym(&app, "Alpha").await;
    let (fb, gb) = gym(&app, "Beta").await;
    let (key, sec) = secret(&app, ga).await;
    let (s, _, r) = deliver(&app, &key, &sec, now(), &lead_body("evt-9")).await;
    assert_eq!(s, 200, "{r}");
    let lead = r["lead_id"].as_str().unwrap().to_string();
    let mine = app
        .as_role(
            "lead-a@example.com",
            Role::GymManager,
            MembershipTarget::Gym(fa, ga),
        )
        .await;
    let other = app
        .as_role(
            "lead-b@example.com",
            Role::GymManager,
            MembershipTarget::Gym(fb, gb),
        )
        .await;

    let patch = |tok: &str, gym: GymId, status: &str| {
        app.req_as(
            tok,
            reqwest::Method::PATCH,
            &format!("/api/v1/gyms/{gym}/leads/{lead}"),
        )
        .json(&json!({ "status": status }))
    };
    // Foreign: 404 on the lead's gym, and nothing under the own gym's path either.
    let (s, _) = send(app.req_as(
        &other.token,
        reqwest::Method::GET,
        &format!("/api/v1/gyms/{ga}/leads"),
    ))
    .await;
    assert_eq!(s, 404);
    let (s, _) = send(patch(&other.token, ga, "converted")).await;
    assert_eq!(s, 404);
    let (s, _) = send(patch(&other.token, gb, "converted")).await;
    assert_eq!(s, 404);
    let (s, v) = send(app.req_as(
        &other.token,
        reqwest::Method::GET,
        &format!("/api/v1/gyms/{gb}/leads"),
    ))
    .await;
    assert_eq!((s, v["total"].as_u64()), (200, Some(0)), "{v}");
    // Another gym's key cannot rotate this gym's secret.
    let (s, _) = send(app.req_as(
        &other.token,
        reqwest::Method::POST,
        &format!("/api/v1/gyms/{ga}/leads/webhook-secret"),
    ))
    .await;
    assert_eq!(s, 404);

    // The own manager moves it along; a bad status is 422 naming the field.
    let (s, v) = send(patch(&mine.token, ga, "contacted")).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("contacted")), "{v}");
    let (s, v) = send(patch(&mine.token, ga, "won")).await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("status"), "{v}");
    let (s, v) = send(app.req_as(
        &mine.token,
        reqwest::Method::GET,
        &format!("/api/v1/gyms/{ga}/leads?status=contacted"),
    ))
    .await;
    assert_eq!((s, v["total"].as_u64()), (200, Some(1)), "{v}");
    app.stop().await;
}

async fn the_dashboard_lists_and_moves_leads(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (f, g) = gym(&app, "Pages").await;
    let manager = app
        .as_role(
            "lead-page@example.com",
            Role::GymManager,
            MembershipTarget::Gym(f, g),
        )
        .await;
    let session = web_login(&app, &manager.email, manager.totp.as_deref()).await;
    let path = format!("/app/gyms/{g}/leads");
    let (s, html) = get(&app, &session, &path).await;
    assert_eq!(s, 200);
    let csrf = hidden(&html, "csrf");

    // Rotating from the page shows the new secret once, and it signs deliveries.
    let (s, html) = post(
        &app,
        &session,
        &format!("{path}/secret"),
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(s, 200, "{html}");
    let key = html
        .split("<code id=\"key-id\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let sec = html
        .split("<code id=\"secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(sec.starts_with("whsec_"), "{html}");
    let body =
        json!({ "event_id": "page-1", "name": "<b>Eve</b>", "phone": "0612345678" }).to_string();
    let (s, _, r) = deliver(&app, &key, &sec, now(), &body).await;
    assert_eq!(s, 200, "{r}");
    let lead = r["lead_id"].as_str().unwrap().to_string();

    let (_, html) = get(&app, &session, &path).await;
    assert!(!html.contains(&sec), "the secret is shown once");
    assert!(html.contains(&key));
    assert!(!html.contains("<b>Eve</b>"), "lead fields are escaped");
    assert!(html.contains("Eve"));
    // Without the CSRF token the change is refused; with it, the status moves.
    let (s, _) = post(
        &app,
        &session,
        &format!("{path}/{lead}/status"),
        "status=converted",
    )
    .await;
    assert_ne!(s, 303);
    let (s, to) = post(
        &app,
        &session,
        &format!("{path}/{lead}/status"),
        &format!("csrf={csrf}&status=converted"),
    )
    .await;
    assert_eq!((s, to.as_str()), (303, path.as_str()));
    let (_, v) = app.get(&format!("/api/v1/gyms/{g}/leads")).await;
    assert_eq!(v["items"][0]["status"], "converted", "{v}");
    app.stop().await;
}

both_backends!(
    the_dashboard_lists_and_moves_leads,
    signed_leads_are_stored_once,
    bad_signatures_and_times_are_401,
    bad_fields_are_422_naming_them,
    other_gyms_cannot_see_or_change_leads,
);
