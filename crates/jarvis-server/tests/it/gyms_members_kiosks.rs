//! Issue 5 over HTTP on both backends: kiosk pairing and the device API (with the original
//! system's holes as regression tests), gym approval and settings, classes, facts, CSV import
//! and export, GDPR export and erasure.

use crate::common;

use common::{Backend, TestApp, send};
use jarvis_core::Role;
use jarvis_core::model::{GymStatus, Locale, MembershipTarget, NewGym};
use jarvis_core::{Scope, model::Actor};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A franchise and two active gyms; returns (franchise, gym A, gym B).
async fn tenants(app: &TestApp) -> (String, String, String) {
    let (s, f) = app
        .post("/api/v1/franchises", json!({"name": "Atlas"}))
        .await;
    assert_eq!(s, 201, "{f}");
    let fid = f["id"].as_str().unwrap().to_string();
    let mut gyms = Vec::new();
    for name in ["Lyon", "Nice"] {
        let (s, g) = app
            .post(
                "/api/v1/gyms",
                json!({"franchise_id": fid, "name": name, "timezone": "Europe/Paris"}),
            )
            .await;
        assert_eq!(s, 201, "{g}");
        gyms.push(g["id"].as_str().unwrap().to_string());
    }
    (fid, gyms[0].clone(), gyms[1].clone())
}

async fn member(app: &TestApp, gym: &str, badge: &str, first: &str) -> Value {
    let (s, m) = app
        .post(
            &format!("/api/v1/gyms/{gym}/members"),
            json!({
                "badge_id": badge, "first_name": first, "last_name": "Secretlastname",
                "email": format!("{}@private.example", first.to_lowercase()),
                "phone": "+33 6 11 22 33 44", "birth_date": "1990-01-02",
                "limitations": "private-injury-note", "preferred_language": "en",
                // The kiosk greets only members who agreed to voice conversations.
                "consent_voice": true
            }),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    m
}

fn kiosk_req(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    app.client.request(method, app.url(path)).bearer_auth(token)
}

async fn new_code(app: &TestApp, gym: &str, kiosk: &str) -> (u16, Value) {
    app.post(
        &format!("/api/v1/gyms/{gym}/kiosks/{kiosk}/pairing-code"),
        json!({}),
    )
    .await
}

async fn pair(app: &TestApp, code: &str) -> (u16, Value) {
    send(
        app.client
            .post(app.url("/api/v1/kiosk/pair"))
            .json(&json!({ "code": code })),
    )
    .await
}

fn heartbeat_body() -> Value {
    json!({"app_version": "2.0.1", "uptime_secs": 360, "mic_status": "ok", "network_quality": "good"})
}

async fn kiosk_device_api_is_token_only_and_minimal(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (_, ga, gb) = tenants(&app).await;
    let m = member(&app, &ga, "BADGE-A1", "Alice").await;
    member(&app, &gb, "BADGE-B1", "Bob").await;
    let (s, k) = app
        .post(
            &format!("/api/v1/gyms/{ga}/kiosks"),
            json!({"name": "Entrance"}),
        )
        .await;
    assert_eq!(s, 201);
    let kid = k["id"].as_str().unwrap().to_string();

    // No device token: refused, including the original's open heartbeat.
    let (s, body) = send(
        app.client
            .post(app.url("/api/v1/kiosk/heartbeat"))
            .json(&heartbeat_body()),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (401, Some("kiosk_token_required"))
    );
    let (s, _) = send(
        app.client
            .get(app.url("/api/v1/kiosk/members/by-badge/BADGE-A1")),
    )
    .await;
    assert_eq!(s, 401, "badge lookup needs the device token");
    let (s, _) = send(app.client.get(app.url("/api/v1/kiosk/config"))).await;
    assert_eq!(s, 401);

    // Pairing code: 8 characters of the unambiguous alphabet, 15 minutes.
    let (s, code) = new_code(&app, &ga, &kid).await;
    assert_eq!(s, 201, "{code}");
    let plain_code = code["code"].as_str().unwrap().to_string();
    assert_eq!(plain_code.len(), 8);
    assert!(
        plain_code
            .bytes()
            .all(|b| jarvis_core::model::PAIRING_ALPHABET.contains(&b))
    );
    let (s, _) = pair(&app, "AAAAAAAA").await;
    assert_eq!(s, 401, "an unknown code is refused");
    let (_, kv) = app.get(&format!("/api/v1/gyms/{ga}/kiosks/{kid}")).await;
    assert_eq!(kv["presence"], "unpaired");
    assert!(kv.get("device_token").is_none() && kv.get("code").is_none());

    // The exchange answers the token once, lower-case and dashed input accepted.
    let typed = format!("{}-{}", &plain_code[..4], &plain_code[4..]).to_lowercase();
    let resp = app
        .client
        .post(app.url("/api/v1/kiosk/pair"))
        .json(&json!({ "code": typed }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let paired: Value = resp.json().await.unwrap();
    let token = paired["device_token"].as_str().unwrap().to_string();
    assert!(token.starts_with("jk_") && token.len() >= 40, "{token}");
    assert_eq!(paired["gym_id"].as_str(), Some(ga.as_str()));
    let (s, _) = pair(&app, &plain_code).await;
    assert_eq!(s, 401, "a code is single use");

    // Only hashes at rest: neither the token nor the code is stored anywhere.
    let hits = app
        .db
        .find_text(&[&token, &token[3..], &plain_code])
        .await
        .unwrap();
    assert!(hits.is_empty(), "secret stored in clear: {hits:?}");
    // No read of the kiosk ever shows the token again.
    let (_, list) = app.get(&format!("/api/v1/gyms/{ga}/kiosks")).await;
    assert!(!list.to_string().contains(&token));

    // Heartbeat → online with version.
    let (s, ack) = send(
        kiosk_req(
            &app,
            reqwest::Method::POST,
            "/api/v1/kiosk/heartbeat",
            &token,
        )
        .json(&heartbeat_body()),
    )
    .await;
    assert_eq!((s, ack["status"].as_str()), (200, Some("ok")), "{ack}");
    let (_, kv) = app.get(&format!("/api/v1/gyms/{ga}/kiosks/{kid}")).await;
    assert_eq!(kv["presence"], "online");
    assert_eq!(kv["app_version"], "2.0.1");
    assert_eq!(kv["mic_status"], "ok");
    let (s, bad) = send(
        kiosk_req(&app, reqwest::Method::POST, "/api/v1/kiosk/heartbeat", &token)
            .json(&json!({"app_version": "x", "uptime_secs": 1, "mic_status": "ok", "network_quality": "good", "gym_id": gb})),
    )
    .await;
    assert_eq!(s, 422, "unknown heartbeat fields are refused: {bad}");

    // Config: gym name, locale, persona, features; nothing secret.
    let (s, cfg) = send(kiosk_req(
        &app,
        reqwest::Method::GET,
        "/api/v1/kiosk/config",
        &token,
    ))
    .await;
    assert_eq!(s, 200, "{cfg}");
    assert_eq!(cfg["gym_name"], "Lyon");
    assert_eq!(cfg["persona"]["name"], "Jarvis");
    let text = cfg.to_string();
    for secret in ["budget", "token", "api_key", "voice_session_cap"] {
        assert!(!text.contains(secret), "config leaks {secret}: {text}");
    }

    // Badge lookup: exactly first name and language; records one visit.
    let (s, who) = send(kiosk_req(
        &app,
        reqwest::Method::GET,
        "/api/v1/kiosk/members/by-badge/BADGE-A1",
        &token,
    ))
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        who,
        json!({"first_name": "Alice", "preferred_language": "en"})
    );
    send(kiosk_req(
        &app,
        reqwest::Method::GET,
        "/api/v1/kiosk/members/by-badge/BADGE-A1",
        &token,
    ))
    .await;
    let mid = m["id"].as_str().unwrap();
    let (_, after) = app.get(&format!("/api/v1/gyms/{ga}/members/{mid}")).await;
    assert_eq!(
        after["visit_count"], 1,
        "a rescan within 10 minutes is the same visit"
    );
    assert!(after["last_visit_at"].is_string());
    let (_, visits) = app
        .get(&format!("/api/v1/gyms/{ga}/members/{mid}/visits"))
        .await;
    assert_eq!(visits["items"][0]["kiosk_id"].as_str(), Some(kid.as_str()));

    // Another gym's member is invisible to this kiosk.
    let (s, _) = send(kiosk_req(
        &app,
        reqwest::Method::GET,
        "/api/v1/kiosk/members/by-badge/BADGE-B1",
        &token,
    ))
    .await;
    assert_eq!(s, 404);
    // No staff API accepts a kiosk token.
    for path in [
        format!("/api/v1/gyms/{ga}/members"),
        format!("/api/v1/gyms/{ga}/members/{mid}"),
        format!("/api/v1/gyms/{gb}/members"),
        format!("/api/v1/gyms/{ga}/kiosks"),
        "/api/v1/gyms".to_string(),
        "/api/v1/audit".to_string(),
    ] {
        let (s, _) = send(kiosk_req(&app, reqwest::Method::GET, &path, &token)).await;
        assert_eq!(s, 401, "{path} accepted a kiosk token");
    }

    // Revocation is immediate; re-pairing issues a new token.
    let (s, rv) = app
        .post(&format!("/api/v1/gyms/{ga}/kiosks/{kid}/revoke"), json!({}))
        .await;
    assert_eq!((s, rv["presence"].as_str()), (200, Some("revoked")));
    let (s, body) = send(
        kiosk_req(
            &app,
            reqwest::Method::POST,
            "/api/v1/kiosk/heartbeat",
            &token,
        )
        .json(&heartbeat_body()),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (401, Some("invalid_kiosk_token"))
    );
    let (s, _) = send(kiosk_req(
        &app,
        reqwest::Method::GET,
        "/api/v1/kiosk/members/by-badge/BADGE-A1",
        &token,
    ))
    .await;
    assert_eq!(s, 401);
    let (_, code2) = new_code(&app, &ga, &kid).await;
    let (s, p2) = pair(&app, code2["code"].as_str().unwrap()).await;
    assert_eq!(s, 200);
    let token2 = p2["device_token"].as_str().unwrap();
    assert_ne!(token2, token);
    let (s, _) = send(kiosk_req(
        &app,
        reqwest::Method::GET,
        "/api/v1/kiosk/config",
        token2,
    ))
    .await;
    assert_eq!(s, 200);
    let (s, _) = send(kiosk_req(
        &app,
        reqwest::Method::GET,
        "/api/v1/kiosk/config",
        &token,
    ))
    .await;
    assert_eq!(s, 401, "the old token stays dead");
    app.stop().await;
}

async fn pairing_codes_expire_and_gyms_are_never_activated_by_a_kiosk(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (fid, ga, _) = tenants(&app).await;
    let (_, k) = app
        .post(&format!("/api/v1/gyms/{ga}/kiosks"), json!({"name": "K"}))
        .await;
    let kid = k["id"].as_str().unwrap().to_string();
    let store = app.db.store();

    // An expired code (written straight to storage, 1 s in the past) is refused.
    let expired = "EXPRD234";
    store
        .set_pairing_code(
            &Scope::Platform,
            &Actor::cli(),
            ga.parse().unwrap(),
            kid.parse().unwrap(),
            &jarvis_server::kiosk_api::hash_secret(expired),
            time::OffsetDateTime::now_utc() - time::Duration::seconds(1),
        )
        .await
        .unwrap();
    let (s, body) = pair(&app, expired).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (401, Some("invalid_pairing_code"))
    );

    // A code issued while active, then the gym is suspended: pairing is refused and the gym
    // stays suspended (the original flipped it to active).
    let (_, code) = new_code(&app, &ga, &kid).await;
    let (s, g) = app
        .post(
            &format!("/api/v1/gyms/{ga}/status"),
            json!({"status": "suspended", "reason": "unpaid"}),
        )
        .await;
    assert_eq!((s, g["status"].as_str()), (200, Some("suspended")), "{g}");
    let (s, body) = pair(&app, code["code"].as_str().unwrap()).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("gym_inactive"))
    );
    let (_, g) = app.get(&format!("/api/v1/gyms/{ga}")).await;
    assert_eq!(g["status"], "suspended");
    assert_eq!(g["status_reason"], "unpaid");
    let (s, _) = new_code(&app, &ga, &kid).await;
    assert_eq!(s, 409, "no new codes for an inactive gym");

    // A pending gym (created by a manager, not yet approved).
    let pending = store
        .create_gym(
            &Scope::Platform,
            &Actor::cli(),
            NewGym {
                franchise_id: fid.parse().unwrap(),
                name: "Pending".into(),
                address: None,
                timezone: "UTC".into(),
                locale: Locale::En,
                settings: json!({}),
            }
            .validate()
            .unwrap(),
            GymStatus::Pending,
        )
        .await
        .unwrap();
    let pid = pending.id.to_string();
    let (_, pk) = app
        .post(&format!("/api/v1/gyms/{pid}/kiosks"), json!({"name": "P"}))
        .await;
    let pkid = pk["id"].as_str().unwrap();
    let hidden = "PNDG2345";
    store
        .set_pairing_code(
            &Scope::Platform,
            &Actor::cli(),
            pending.id,
            pkid.parse().unwrap(),
            &jarvis_server::kiosk_api::hash_secret(hidden),
            time::OffsetDateTime::now_utc() + time::Duration::minutes(15),
        )
        .await
        .unwrap();
    let (s, _) = pair(&app, hidden).await;
    assert_eq!(s, 403);
    let (_, g) = app.get(&format!("/api/v1/gyms/{pid}")).await;
    assert_eq!(g["status"], "pending", "provisioning never approves a gym");

    // Approval, then the same (still valid) code works; a paired kiosk of a suspended gym stops.
    let (s, _) = app
        .post(
            &format!("/api/v1/gyms/{pid}/status"),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, p) = pair(&app, hidden).await;
    assert_eq!(s, 200);
    let token = p["device_token"].as_str().unwrap();
    app.post(
        &format!("/api/v1/gyms/{pid}/status"),
        json!({"status": "suspended", "reason": "x"}),
    )
    .await;
    let (s, body) = send(kiosk_req(
        &app,
        reqwest::Method::GET,
        "/api/v1/kiosk/config",
        token,
    ))
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("gym_inactive"))
    );
    app.stop().await;
}

async fn gym_workflow_settings_and_classes(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (_, ga, _) = tenants(&app).await;
    let (s, e) = app
        .patch(
            &format!("/api/v1/gyms/{ga}"),
            json!({"settings": {"voice_session_cap": 0, "persona": {"voice": "robot"}}}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, e) = app
        .patch(
            &format!("/api/v1/gyms/{ga}"),
            json!({"settings": {"voice_session_cap": 0, "monthly_ai_budget_micros": -5}}),
        )
        .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> = e["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "settings.voice_session_cap",
            "settings.monthly_ai_budget_micros"
        ]
    );
    let (s, g) = app
        .patch(
            &format!("/api/v1/gyms/{ga}"),
            json!({"settings": {"voice_session_cap": 4, "monthly_ai_budget_micros": 250000000,
                "opening_hours": {"mon": [{"open": "06:00", "close": "22:00"}]},
                "persona": {"name": "Coach", "voice": "cedar", "tone": "motivating", "instructions": "Tutoie les membres."},
                "features": {"custom_tools": true}}}),
        )
        .await;
    assert_eq!(s, 200, "{g}");
    assert_eq!(
        g["settings"]["features"]["voice"], true,
        "defaults filled in"
    );
    assert_eq!(g["settings"]["persona"]["voice"], "cedar");

    let (s, e) = app
        .post(
            &format!("/api/v1/gyms/{ga}/status"),
            json!({"status": "rejected"}),
        )
        .await;
    assert_eq!(s, 422, "an active gym cannot be rejected: {e}");
    let (s, e) = app
        .post(
            &format!("/api/v1/gyms/{ga}/status"),
            json!({"status": "suspended"}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["details"]["fields"][0]["field"].as_str()),
        (422, Some("reason"))
    );

    let classes = format!("/api/v1/gyms/{ga}/classes");
    let (s, c) = app
        .post(
            &classes,
            json!({"name": "Yoga", "coach": "Léa", "room": "Studio", "weekday": "tue",
            "start_time": "18:30", "duration_minutes": 60, "capacity": 15}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let cid = c["id"].as_str().unwrap();
    let (s, e) = app
        .post(
            &classes,
            json!({"name": "X", "start_time": "25:00", "duration_minutes": 60, "capacity": 15}),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, c2) = app
        .req(reqwest::Method::PUT, &format!("{classes}/{cid}"))
        .json(&json!({"name": "Yoga doux", "weekday": "tue", "start_time": "19:00", "duration_minutes": 45, "capacity": 10}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .unwrap();
    assert_eq!(s, 200);
    let c2: Value = c2.json().await.unwrap();
    assert_eq!(c2["name"], "Yoga doux");
    let (_, list) = app.get(&format!("{classes}?weekday=tue")).await;
    assert_eq!(list["total"], 1);
    let (s, _) = app.delete(&format!("{classes}/{cid}")).await;
    assert_eq!(s, 204);
    let (s, _) = app.get(&format!("{classes}/{cid}")).await;
    assert_eq!(s, 404);
    app.stop().await;
}

async fn poll_job(app: &TestApp, gym: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (s, j) = app.get(&format!("/api/v1/gyms/{gym}/imports/{id}")).await;
        assert_eq!(s, 200, "{j}");
        if j["status"] == "succeeded" || j["status"] == "failed" {
            return j;
        }
        assert!(Instant::now() < deadline, "import did not finish: {j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn upload(app: &TestApp, gym: &str, query: &str, csv: Vec<u8>) -> Value {
    let (s, job) = send(
        app.req(
            reqwest::Method::POST,
            &format!("/api/v1/gyms/{gym}/members/import{query}"),
        )
        .header("content-type", "text/csv")
        .body(csv),
    )
    .await;
    assert_eq!(s, 202, "{job}");
    poll_job(app, gym, job["id"].as_str().unwrap()).await
}

/// A messy export: BOM, `;`, French headers, quoted fields with `;`, a duplicate badge, a badge
/// already in the gym, a bad date, a bad e-mail, a short row, and columns that try to set
/// fields the import must never touch.
fn messy_csv() -> Vec<u8> {
    let mut csv = "\u{feff}Prénom;Nom;Badge;E-mail;Date de naissance;Langue;id;gym_id;visit_count;consent_voice;Notes internes\r\n".to_string();
    csv.push_str("Léa;\"Martin; Jr\";C-001;lea@example.com;03/04/1990;fr;00000000-0000-0000-0000-000000000001;00000000-0000-0000-0000-000000000002;999;oui;vip\r\n");
    csv.push_str("Tom;Durand;C-002;tom@example.com;31/02/1985;en;;;;non;\r\n");
    csv.push_str("Ana;Silva;C-001;ana@example.com;;;;;;;\r\n");
    csv.push_str("Zoé;Roux;EXIST-1;zoe@example.com;;;;;;;\r\n");
    csv.push_str("Max;Weber;C-005;not-an-email;;;;;;;\r\n");
    csv.push_str("Short;Row;C-006\r\n");
    csv.push_str("Ivy;Chen;C-007;ivy@example.com;1999-12-31;EN;;;;yes;\r\n");
    csv.into_bytes()
}

async fn csv_import_reports_rows_and_cannot_inject_fields(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (_, ga, _) = tenants(&app).await;
    member(&app, &ga, "EXIST-1", "Existing").await;
    let expected_errors = json!([
        {"row": 3, "column": "Date de naissance", "reason": "not a date (use YYYY-MM-DD or DD/MM/YYYY)", "code": "not_a_date"},
        {"row": 4, "column": "Badge", "reason": "duplicate badge: already used on line 2", "code": "duplicate_badge"},
        {"row": 5, "column": "Badge", "reason": "badge already used by a member of this gym", "code": "badge_taken"},
        {"row": 6, "column": "E-mail", "reason": "must be an e-mail address like name@example.com", "code": "invalid_format", "field": "email"},
        {"row": 7, "column": "", "reason": "row has 3 fields but the header has 11 (wrong delimiter or unquoted `;`?)", "code": "field_count"}
    ]);

    // Dry run: exact per-row report, nothing written.
    let job = upload(&app, &ga, "?dry_run=true", messy_csv()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let r = &job["report"];
    assert_eq!(r["errors"], expected_errors, "{r}");
    assert_eq!(
        (
            r["total_rows"].as_u64(),
            r["valid_rows"].as_u64(),
            r["inserted"].as_u64()
        ),
        (Some(7), Some(2), Some(0))
    );
    assert_eq!(r["delimiter"], ";");
    assert_eq!(
        r["ignored_columns"],
        json!(["id", "gym_id", "visit_count", "Notes internes"])
    );
    let (_, list) = app.get(&format!("/api/v1/gyms/{ga}/members")).await;
    assert_eq!(list["total"], 1, "a dry run writes nothing");

    // All or nothing (default): errors → nothing imported.
    let job = upload(&app, &ga, "", messy_csv()).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["report"]["inserted"], 0);
    assert_eq!(job["report"]["errors"], expected_errors);
    let (_, list) = app.get(&format!("/api/v1/gyms/{ga}/members")).await;
    assert_eq!(list["total"], 1);

    // Skip bad rows: the two good rows go in; nothing from the extra columns is used.
    let job = upload(&app, &ga, "?skip_bad_rows=true", messy_csv()).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(
        (
            job["report"]["inserted"].as_u64(),
            job["report"]["skipped"].as_u64()
        ),
        (Some(2), Some(5))
    );
    let (_, list) = app.get(&format!("/api/v1/gyms/{ga}/members?q=C-00")).await;
    assert_eq!(list["total"], 2);
    let lea = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["badge_id"] == "C-001")
        .unwrap();
    assert_eq!(lea["last_name"], "Martin; Jr");
    assert_eq!(lea["birth_date"], "1990-04-03");
    assert_eq!(lea["consent_voice"], true);
    assert_eq!(
        lea["gym_id"].as_str(),
        Some(ga.as_str()),
        "gym_id column ignored"
    );
    assert_eq!(lea["visit_count"], 0, "visit_count column ignored");
    assert_ne!(
        lea["id"], "00000000-0000-0000-0000-000000000001",
        "id column ignored"
    );
    let ivy = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["badge_id"] == "C-007")
        .unwrap();
    assert_eq!(ivy["preferred_language"], "en");

    // An explicit mapping that names an unknown field is refused before anything runs.
    let (s, e) = send(
        app.req(
            reqwest::Method::POST,
            &format!("/api/v1/gyms/{ga}/members/import?mapping=%7B%22is_admin%22%3A%22Nom%22%7D"),
        )
        .body(messy_csv()),
    )
    .await;
    assert_eq!(
        (s, e["error"]["details"]["field"].as_str()),
        (400, Some("mapping"))
    );

    // Export: the import format, formulas neutralized.
    app.post(
        &format!("/api/v1/gyms/{ga}/members"),
        json!({"badge_id": "F-1", "first_name": "=HYPERLINK(\"http://x\")", "last_name": "Evil"}),
    )
    .await;
    let resp = app
        .req(
            reqwest::Method::GET,
            &format!("/api/v1/gyms/{ga}/members/export.csv"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], jarvis_core::csv_import::export_header());
    assert_eq!(lines.len(), 1 + 4);
    assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{text}");
    // …and it imports back into another gym unchanged.
    let (_, gb) = app
        .post(
            "/api/v1/gyms",
            json!({"franchise_id": lea["franchise_id"], "name": "Copy"}),
        )
        .await;
    let gbid = gb["id"].as_str().unwrap();
    let job = upload(&app, gbid, "", text.into_bytes()).await;
    assert_eq!(job["report"]["inserted"], 4, "{job}");
    app.stop().await;
}

async fn import_of_100k_rows_runs_in_the_background(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (_, ga, _) = tenants(&app).await;
    let mut csv = String::from("badge_id,first_name,last_name,email,membership_type\n");
    for i in 0..100_000 {
        csv.push_str(&format!(
            "M{i:06},First{i},Last{i},m{i}@example.com,premium\n"
        ));
    }
    csv.push_str("M000042,Dup,Licate,,\n");
    let started = Instant::now();
    let (s, job) = send(
        app.req(
            reqwest::Method::POST,
            &format!("/api/v1/gyms/{ga}/members/import?skip_bad_rows=true"),
        )
        .body(csv.into_bytes()),
    )
    .await;
    let answered = started.elapsed();
    assert_eq!(s, 202, "{job}");
    assert!(
        answered < Duration::from_secs(5),
        "the upload does not wait for the import: {answered:?}"
    );
    let job = poll_job(&app, &ga, job["id"].as_str().unwrap()).await;
    let took = started.elapsed();
    eprintln!(
        "100k-row import via HTTP on {backend:?}: answered in {answered:?}, finished in {took:?}"
    );
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["report"]["inserted"], 100_000);
    assert_eq!(
        job["report"]["errors"],
        json!([{"row": 100_002, "column": "badge_id", "reason": "duplicate badge: already used on line 44", "code": "duplicate_badge"}])
    );
    assert_eq!(job["processed_rows"], 100_001);
    let (_, list) = app.get(&format!("/api/v1/gyms/{ga}/members?limit=1")).await;
    // The member list stops counting at 10,000 (`total_capped`); the report above counted all.
    assert_eq!(
        (&list["total"], &list["total_capped"]),
        (&json!(10_000), &json!(true))
    );
    let (_, jobs) = app.get(&format!("/api/v1/gyms/{ga}/imports")).await;
    assert_eq!(jobs["total"], 1, "the job survives as a row");
    app.stop().await;
}

async fn gdpr_export_and_erase(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (_, ga, _) = tenants(&app).await;
    let m = member(&app, &ga, "GDPR-77", "Gdprperson").await;
    let mid = m["id"].as_str().unwrap();
    let (s, f) = app
        .post(
            &format!("/api/v1/gyms/{ga}/members/{mid}/facts"),
            json!({"note": "afraid-of-treadmills-marker"}),
        )
        .await;
    assert_eq!((s, f["source"].as_str()), (201, Some("staff")));
    let (s, e) = app
        .post(
            &format!("/api/v1/gyms/{ga}/members/{mid}/facts"),
            json!({"note": " "}),
        )
        .await;
    assert_eq!(
        (s, e["error"]["details"]["fields"][0]["field"].as_str()),
        (422, Some("note"))
    );

    let resp = app
        .req(
            reqwest::Method::GET,
            &format!("/api/v1/gyms/{ga}/members/{mid}/gdpr-export"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let export: Value = resp.json().await.unwrap();
    assert_eq!(export["member"]["email"], "gdprperson@private.example");
    assert_eq!(export["facts"][0]["note"], "afraid-of-treadmills-marker");

    let (s, erased) = app
        .post(&format!("/api/v1/gyms/{ga}/members/{mid}/erase"), json!({}))
        .await;
    assert_eq!(
        (s, erased["facts_deleted"].as_u64()),
        (200, Some(1)),
        "{erased}"
    );
    let (s, _) = app.get(&format!("/api/v1/gyms/{ga}/members/{mid}")).await;
    assert_eq!(s, 404);
    let hits = app
        .db
        .find_text(&[
            "Gdprperson",
            "gdprperson@private.example",
            "Secretlastname",
            "11 22 33 44",
            "GDPR-77",
            "private-injury-note",
            "afraid-of-treadmills-marker",
        ])
        .await
        .unwrap();
    assert!(hits.is_empty(), "personal data left: {hits:?}");
    let (_, audit) = app
        .get(&format!(
            "/api/v1/audit?gym_id={ga}&action=member.gdpr_export"
        ))
        .await;
    assert_eq!(audit["total"], 1);
    let (_, audit) = app
        .get(&format!(
            "/api/v1/audit?gym_id={ga}&action=member.gdpr_erase"
        ))
        .await;
    assert_eq!(audit["total"], 1);
    app.stop().await;
}

async fn roles_are_enforced(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (fid, ga, gb) = tenants(&app).await;
    let f: jarvis_core::FranchiseId = fid.parse().unwrap();
    let a: jarvis_core::GymId = ga.parse().unwrap();
    let m = member(&app, &ga, "R-1", "Rita").await;
    let mid = m["id"].as_str().unwrap().to_string();
    let manager = app
        .as_role(
            "manager@example.com",
            Role::GymManager,
            MembershipTarget::Gym(f, a),
        )
        .await;
    let staff = app
        .as_role(
            "staff@example.com",
            Role::GymStaff,
            MembershipTarget::Gym(f, a),
        )
        .await;
    let call = |token: &str, method: reqwest::Method, path: String, body: Option<Value>| {
        let rb = app.req_as(token, method, &path);
        let rb = match body {
            Some(b) => rb.json(&b),
            None => rb,
        };
        send(rb)
    };
    use reqwest::Method as M;
    // A manager runs their gym…
    let (s, _) = call(
        &manager.token,
        M::GET,
        format!("/api/v1/gyms/{ga}/members"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = call(
        &manager.token,
        M::POST,
        format!("/api/v1/gyms/{ga}/kiosks"),
        Some(json!({"name": "M"})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = call(
        &manager.token,
        M::GET,
        format!("/api/v1/gyms/{ga}/members/{mid}/gdpr-export"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    // …but not another gym, and cannot approve anything.
    let (s, _) = call(
        &manager.token,
        M::GET,
        format!("/api/v1/gyms/{gb}/members"),
        None,
    )
    .await;
    assert_eq!(s, 404, "a foreign gym does not exist for them");
    let (s, _) = call(
        &manager.token,
        M::POST,
        format!("/api/v1/gyms/{ga}/status"),
        Some(json!({"status": "suspended", "reason": "x"})),
    )
    .await;
    assert_eq!(s, 403);
    // Staff edit members but cannot import, erase, export everything or manage kiosks.
    let (s, _) = call(
        &staff.token,
        M::POST,
        format!("/api/v1/gyms/{ga}/members"),
        Some(json!({"badge_id": "R-2", "first_name": "S", "last_name": "T"})),
    )
    .await;
    assert_eq!(s, 201);
    let (s, _) = call(
        &staff.token,
        M::GET,
        format!("/api/v1/gyms/{ga}/classes"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let class = json!({"name": "Y", "weekday": "mon", "start_time": "10:00", "duration_minutes": 30, "capacity": 5});
    for (method, path, body) in [
        (
            M::POST,
            format!("/api/v1/gyms/{ga}/members/{mid}/erase"),
            json!({}),
        ),
        (
            M::GET,
            format!("/api/v1/gyms/{ga}/members/{mid}/gdpr-export"),
            json!({}),
        ),
        (
            M::GET,
            format!("/api/v1/gyms/{ga}/members/export.csv"),
            json!({}),
        ),
        (
            M::POST,
            format!("/api/v1/gyms/{ga}/members/import"),
            json!({}),
        ),
        (M::POST, format!("/api/v1/gyms/{ga}/classes"), class),
        (
            M::POST,
            format!("/api/v1/gyms/{ga}/kiosks"),
            json!({"name": "S"}),
        ),
    ] {
        let (s, _) = call(&staff.token, method, path.clone(), Some(body)).await;
        assert_eq!(s, 403, "staff reached {path}");
    }
    // A manager's new gym waits for approval; the super admin's does not.
    let (s, g) = call(
        &manager.token,
        M::POST,
        "/api/v1/gyms".into(),
        Some(json!({"franchise_id": fid, "name": "Mine"})),
    )
    .await;
    assert_eq!(s, 403, "gym managers cannot create gyms: {g}");
    let owner = app
        .as_role(
            "owner@example.com",
            Role::FranchiseOwner,
            MembershipTarget::Franchise(f),
        )
        .await;
    let (s, g) = call(
        &owner.token,
        M::POST,
        "/api/v1/gyms".into(),
        Some(json!({"franchise_id": fid, "name": "Owned"})),
    )
    .await;
    assert_eq!((s, g["status"].as_str()), (201, Some("pending")), "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let (s, _) = call(
        &owner.token,
        M::POST,
        format!("/api/v1/gyms/{gid}/status"),
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(s, 403, "owners cannot approve their own gyms");
    let (s, g) = app
        .post(
            &format!("/api/v1/gyms/{gid}/status"),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!((s, g["status"].as_str()), (200, Some("active")));
    app.stop().await;
}

/// `?offset=` is user input: the largest u64 must give an empty page, not an arithmetic
/// overflow (a panic answered 500 in debug builds, wrapped page links in release).
async fn huge_page_offsets_do_not_overflow(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (fid, ga, _) = tenants(&app).await;
    let f: jarvis_core::FranchiseId = fid.parse().unwrap();
    let a: jarvis_core::GymId = ga.parse().unwrap();
    member(&app, &ga, "P-1", "Paula").await;
    app.create_user(
        "offset-manager@example.com",
        Some((Role::GymManager, MembershipTarget::Gym(f, a))),
    )
    .await;
    let w = pages::web(
        &app,
        pages::web_login(&app, "offset-manager@example.com").await,
    );
    let max = u64::MAX;
    for path in [
        format!("/app/gyms/{ga}/members?offset={max}"),
        format!("/app/gyms?offset={max}"),
        format!("/app/security?offset={max}"),
    ] {
        let (s, _) = w.get(&path).await;
        assert_eq!(s, 200, "{path}");
    }
    app.stop().await;
}

both_backends!(
    dashboard_pages,
    roles_are_enforced,
    kiosk_device_api_is_token_only_and_minimal,
    pairing_codes_expire_and_gyms_are_never_activated_by_a_kiosk,
    gym_workflow_settings_and_classes,
    csv_import_reports_rows_and_cannot_inject_fields,
    import_of_100k_rows_runs_in_the_background,
    gdpr_export_and_erase,
    huge_page_offsets_do_not_overflow,
);

// ---- Dashboard pages (cookie session) ----

mod pages {
    use super::*;
    use crate::web::{client as no_redirect, cookie as cookie_value, form as encode, hidden};

    /// Signs a user in through the login form; returns the `cookie` header value.
    pub async fn web_login(app: &TestApp, email: &str) -> String {
        let c = no_redirect();
        let resp = c.get(app.url("/app/login")).send().await.unwrap();
        let csrf_cookie = cookie_value(&resp, "jarvis_csrf").unwrap();
        let html = resp.text().await.unwrap();
        let csrf = hidden(&html, "csrf");
        let r = c
            .post(app.url("/app/login"))
            .header("sec-fetch-site", "same-origin")
            .header("cookie", format!("jarvis_csrf={csrf_cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encode(&[
                ("email", email),
                ("password", common::PASSWORD),
                ("next", "/app"),
                ("csrf", csrf.as_str()),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "login {email}");
        let session = cookie_value(&r, "jarvis_session").unwrap();
        format!("jarvis_session={session}")
    }

    pub struct Web<'a> {
        pub app: &'a TestApp,
        pub cookie: String,
        pub c: reqwest::Client,
    }

    impl Web<'_> {
        pub async fn get(&self, path: &str) -> (u16, String) {
            let r = self
                .c
                .get(self.app.url(path))
                .header("cookie", &self.cookie)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
        pub async fn csrf(&self, path: &str) -> String {
            let (_, html) = self.get(path).await;
            hidden(&html, "csrf")
        }
        pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
            let r = self
                .c
                .post(self.app.url(path))
                .header("cookie", &self.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encode(form))
                .send()
                .await
                .unwrap();
            let loc = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            (r.status().as_u16(), loc, r.text().await.unwrap())
        }
    }

    pub fn web(app: &TestApp, cookie: String) -> Web<'_> {
        Web {
            app,
            cookie,
            c: no_redirect(),
        }
    }
}

async fn dashboard_pages(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (fid, ga, gb) = tenants(&app).await;
    let f: jarvis_core::FranchiseId = fid.parse().unwrap();
    let a: jarvis_core::GymId = ga.parse().unwrap();
    member(&app, &ga, "P-1", "Paula").await;
    app.create_user(
        "web-manager@example.com",
        Some((Role::GymManager, MembershipTarget::Gym(f, a))),
    )
    .await;
    // Signed out: sent to the login page; the kiosk page itself needs no sign-in.
    let anon = pages::web(&app, String::new());
    let (s, html) = anon.get("/kiosk").await;
    assert_eq!(s, 200);
    let kiosk_js = jarvis_server::web::assets::url("kiosk.js");
    assert!(html.contains(&kiosk_js));
    let (s, js) = anon.get(&kiosk_js).await;
    assert_eq!(s, 200);
    assert!(js.contains("/api/v1/kiosk/pair") && js.contains("localStorage"));
    let (s, _) = anon.get(&format!("/app/gyms/{ga}/members")).await;
    assert_eq!(s, 303);
    let cookie = pages::web_login(&app, "web-manager@example.com").await;
    let w = pages::web(&app, cookie);

    let (s, html) = w.get("/app/gyms").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Lyon") && !html.contains("Nice"),
        "own gyms only"
    );
    let (s, _) = w.get(&format!("/app/gyms/{gb}/members")).await;
    assert_eq!(s, 404, "a foreign gym's page does not exist");

    // Gym settings form: inline errors, then saved and typed.
    let gym_path = format!("/app/gyms/{ga}");
    let (s, html) = w.get(&gym_path).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("name=\"voice_session_cap\" type=\"number\" value=\"3\""),
        "defaults shown"
    );
    let csrf0 = w.csrf(&gym_path).await;
    let settings = |cap: &'static str, budget: &'static str, mon: &'static str| {
        vec![
            ("name", "Lyon"),
            ("address", "1 quai"),
            ("timezone", "Europe/Paris"),
            ("locale", "fr"),
            ("persona_name", "Max"),
            ("voice", "cedar"),
            ("tone", "calm"),
            ("instructions", ""),
            ("voice_session_cap", cap),
            ("budget", budget),
            ("hours_mon", mon),
            ("f_voice", "on"),
            ("f_custom_tools", "on"),
        ]
    };
    let mut bad = settings("0", "100.00", "22:00-06:00");
    bad.push(("csrf", &csrf0));
    let (s, _, html) = w.post(&format!("{gym_path}/settings"), &bad).await;
    assert_eq!(s, 422);
    assert!(html.contains("must be between 1 and 50"), "{html}");
    assert!(html.contains("must close after it opens"), "{html}");
    // The manager sends the spending limits back unchanged (they are read-only here).
    let mut good = settings("3", "100.00", "06:00-12:00, 14:00-22:00");
    good.push(("csrf", &csrf0));
    let (s, _, _) = w.post(&format!("{gym_path}/settings"), &good).await;
    assert_eq!(s, 303);
    let (_, g) = app.get(&format!("/api/v1/gyms/{ga}")).await;
    assert_eq!(g["settings"]["voice_session_cap"], 3);
    assert_eq!(g["settings"]["monthly_ai_budget_micros"], 100_000_000);
    assert_eq!(g["settings"]["opening_hours"]["mon"][1]["open"], "14:00");
    assert_eq!(g["settings"]["features"]["transcripts"], false);
    assert_eq!(g["settings"]["persona"]["voice"], "cedar");
    assert_eq!(g["address"], "1 quai");

    let members = format!("/app/gyms/{ga}/members");
    let (s, html) = w.get(&format!("{members}?q=paula")).await;
    assert_eq!(s, 200);
    assert!(html.contains("Paula"));
    let (_, html) = w.get(&format!("{members}?mtype=standard")).await;
    assert!(html.contains("Paula"), "membership type filter");
    let (_, html) = w.get(&format!("{members}?mtype=premium")).await;
    assert!(!html.contains("Paula"));
    let (_, html) = w.get(&format!("{members}?days=30")).await;
    assert!(
        !html.contains("Paula"),
        "never visited: not seen within 30 days"
    );
    let csrf = w.csrf(&members).await;
    // Inline errors, the typed values kept.
    let (s, _, html) = w
        .post(
            &members,
            &[
                ("csrf", &csrf),
                ("badge_id", "P-2"),
                ("first_name", ""),
                ("last_name", "Lopez"),
                ("email", "nope"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    assert!(html.contains("aria-invalid=\"true\""), "{html}");
    assert!(html.contains("must be an e-mail address"));
    assert!(html.contains("value=\"Lopez\""));
    // Duplicate badge: the 409 message names it, inline.
    let (s, _, html) = w
        .post(
            &members,
            &[
                ("csrf", &csrf),
                ("badge_id", "P-1"),
                ("first_name", "X"),
                ("last_name", "Y"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    assert!(html.contains("badge `P-1` is already used"), "{html}");
    // No CSRF token: refused.
    let (s, _, _) = w
        .post(
            &members,
            &[("badge_id", "P-3"), ("first_name", "X"), ("last_name", "Y")],
        )
        .await;
    assert_eq!(s, 403);
    let (s, loc, _) = w
        .post(
            &members,
            &[
                ("csrf", &csrf),
                ("badge_id", "P-3"),
                ("first_name", "Quentin"),
                ("last_name", "Roy"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let (s, html) = w.get(&loc).await;
    assert_eq!(s, 200);
    assert!(html.contains("Quentin"));
    // Edit with inline errors, then for real.
    let edit = |email: &'static str, end: &'static str| {
        vec![
            ("first_name", "Quentin"),
            ("last_name", "Roy"),
            ("email", email),
            ("preferred_language", "fr"),
            ("membership_type", "premium"),
            ("membership_status", "frozen"),
            ("membership_end_date", end),
            ("goals", "10k | posture"),
            ("consent_voice", "on"),
        ]
    };
    let mut bad = edit("nope", "2027-02-30");
    bad.push(("csrf", &csrf));
    let (s, _, html) = w.post(&loc, &bad).await;
    assert_eq!(s, 422);
    assert!(html.contains("YYYY-MM-DD"), "{html}");
    let mut bad = edit("nope", "2027-02-28");
    bad.push(("csrf", &csrf));
    let (s, _, html) = w.post(&loc, &bad).await;
    assert_eq!(s, 422);
    assert!(html.contains("must be an e-mail address"), "{html}");
    assert!(
        html.contains("value=\"10k | posture\""),
        "typed values kept"
    );
    let mut good = edit("q@example.com", "2027-02-28");
    good.push(("csrf", &csrf));
    let (s, _, _) = w.post(&loc, &good).await;
    assert_eq!(s, 303);
    let api_path = loc.replace("/app/", "/api/v1/");
    let (_, m) = app.get(&api_path).await;
    assert_eq!(m["membership_status"], "frozen");
    assert_eq!(m["goals"], json!(["10k", "posture"]));
    assert_eq!(m["membership_end_date"], "2027-02-28");
    assert_eq!(
        (
            m["consent_voice"].as_bool(),
            m["consent_transcripts"].as_bool()
        ),
        (Some(true), Some(false))
    );
    // Erasure goes through a confirmation page.
    let (s, html) = w.get(&format!("{loc}/erase")).await;
    assert_eq!(s, 200);
    assert!(html.contains("cannot be undone"));
    let (s, back, _) = w.post(&format!("{loc}/erase"), &[("csrf", &csrf)]).await;
    assert_eq!((s, back.as_str()), (303, members.as_str()));
    let (s, _) = w.get(&loc).await;
    assert_eq!(s, 404);

    // Kiosks: create, pairing code shown once, revoke with confirmation.
    let kiosks = format!("/app/gyms/{ga}/kiosks");
    let (s, _, _) = w.post(&kiosks, &[("csrf", &csrf), ("name", "Hall")]).await;
    assert_eq!(s, 303);
    let (_, kjson) = app.get(&format!("/api/v1/gyms/{ga}/kiosks")).await;
    let kid = kjson["items"][0]["id"].as_str().unwrap().to_string();
    let (s, _, _) = w
        .post(
            &format!("{kiosks}/{kid}/update"),
            &[("csrf", &csrf), ("name", "Hall B"), ("gym_id", "")],
        )
        .await;
    assert_eq!(s, 303);
    let (_, kv) = app.get(&format!("/api/v1/gyms/{ga}/kiosks/{kid}")).await;
    assert_eq!(kv["name"], "Hall B");
    let (s, _, _) = w
        .post(
            &format!("{kiosks}/{kid}/update"),
            &[("csrf", &csrf), ("name", "Hall B"), ("gym_id", &gb)],
        )
        .await;
    assert_eq!(s, 403, "a gym manager cannot move a kiosk out of their gym");
    let (s, _, html) = w
        .post(&format!("{kiosks}/{kid}/pair"), &[("csrf", &csrf)])
        .await;
    assert_eq!(s, 200);
    let code = html
        .split("<code class=\"code\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    assert_eq!(code.len(), 8);
    let (s, _) = pair(&app, code).await;
    assert_eq!(s, 200, "the code on the page pairs a kiosk");
    let (s, html) = w.get(&format!("{kiosks}/{kid}/revoke")).await;
    assert_eq!(s, 200);
    assert!(html.contains("cut off at once"));
    let (s, _, _) = w
        .post(&format!("{kiosks}/{kid}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(s, 303);
    let (_, html) = w.get(&kiosks).await;
    assert!(html.contains("pill revoked"));

    // Classes.
    let classes = format!("/app/gyms/{ga}/classes");
    let (s, _, html) = w
        .post(
            &classes,
            &[
                ("csrf", &csrf),
                ("name", "Spin"),
                ("weekday", "fri"),
                ("start_time", "7h"),
                ("duration_minutes", "45"),
                ("capacity", "20"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    assert!(html.contains("must be HH:MM"));
    let (s, _, _) = w
        .post(
            &classes,
            &[
                ("csrf", &csrf),
                ("name", "Spin"),
                ("weekday", "fri"),
                ("start_time", "07:00"),
                ("duration_minutes", "45"),
                ("capacity", "20"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let (_, html) = w.get(&classes).await;
    assert!(html.contains("Spin"));

    // CSV import from the page: raw file + CSRF header, then the job page with its report.
    let import = format!("/app/gyms/{ga}/import");
    let (s, html) = w.get(&import).await;
    assert_eq!(s, 200);
    let page_csrf = html
        .split("data-csrf=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r =
        w.c.post(app.url(&format!("{import}?dry_run=false&skip_bad_rows=true")))
            .header("cookie", &w.cookie)
            .header("x-csrf-token", "wrong")
            .body("badge,prenom,nom\nW-1,Wes,Ng\n")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 403, "the upload needs the page's CSRF token");
    let r =
        w.c.post(app.url(&format!("{import}?dry_run=false&skip_bad_rows=true")))
            .header("cookie", &w.cookie)
            .header("x-csrf-token", &page_csrf)
            .body("badge,prenom,nom\nW-1,Wes,Ng\nW-2,,Bad\n")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 200);
    let loc = r.json::<Value>().await.unwrap()["location"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    let html = loop {
        let (s, html) = w.get(&loc).await;
        assert_eq!(s, 200);
        if !html.contains("data-running=\"true\"") {
            break html;
        }
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(html.contains("succeeded"), "{html}");
    assert!(
        html.contains("<td>3</td><td>prenom</td><td>must not be empty</td>"),
        "{html}"
    );
    app.stop().await;
}
