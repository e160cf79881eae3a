//! Route × role × tenant, derived from the served OpenAPI document.
//!
//! Every operation of `/api/v1/openapi.json` must be covered: by a row of the expectation table
//! (run for every role on its own tenant and on a foreign one, or once per role for lists
//! without a tenant), or by the device, public or self-service lists, each with its reason. An
//! operation the document has and the table lacks fails the test with its name, and so does a
//! table entry naming an operation the document no longer has.
//!
//! Outcomes: `F` is 403, `N` is 404 (never 403 for a foreign id, so ids do not leak), `U` is
//! 401. `A` (allowed) is a 2xx, or a 409/422 that the operation documents: never a 5xx, never
//! an undocumented status. Both backends.

use crate::common;

use common::{Backend, TestApp, TestUser, send};
use jarvis_core::Role;
use jarvis_core::model::MembershipTarget;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};

/// Operations anyone may call, with why.
const PUBLIC: &[(&str, &str, &str)] = &[
    ("GET", "/healthz", "liveness probe"),
    ("GET", "/readyz", "readiness probe"),
    (
        "POST",
        "/api/v1/vitals",
        "Web Vitals beacons from any page, signed in or not (nothing personal)",
    ),
    (
        "GET",
        "/.well-known/jwks.json",
        "public keys verifying access tokens",
    ),
    ("POST", "/api/v1/auth/login", "sign-in"),
    (
        "POST",
        "/api/v1/auth/refresh",
        "authenticated by the refresh token in the body",
    ),
    (
        "POST",
        "/api/v1/auth/password/reset",
        "forgotten password: answers 202 to anyone",
    ),
    (
        "POST",
        "/api/v1/auth/password/reset/confirm",
        "authenticated by the e-mailed token",
    ),
    (
        "POST",
        "/api/v1/invitations/accept",
        "authenticated by the e-mailed token",
    ),
    (
        "POST",
        "/api/v1/kiosk/pair",
        "authenticated by the one-time pairing code",
    ),
    (
        "POST",
        "/api/v1/demo/voice/sessions",
        "the public demo page's call, only when the operator turned it on (404 otherwise; per-address and budget limits, tests/demo_page.rs)",
    ),
    (
        "POST",
        "/api/v1/webhooks/leads",
        "authenticated by the HMAC signature of the gym's webhook secret (tests/leads.rs)",
    ),
];

/// Operations on the caller's own account only (no tenant, no role involved), with why they are
/// not run here. tests/auth.rs covers each of them.
const SELF_SERVICE: &[(&str, &str, &str)] = &[
    (
        "POST",
        "/api/v1/auth/logout",
        "ends the caller's own session (would end the run's token)",
    ),
    (
        "POST",
        "/api/v1/auth/mfa/enroll",
        "the caller's own second factor",
    ),
    (
        "POST",
        "/api/v1/auth/mfa/confirm",
        "the caller's own second factor",
    ),
    (
        "POST",
        "/api/v1/auth/mfa/verify",
        "the caller's own second factor",
    ),
    (
        "DELETE",
        "/api/v1/auth/mfa",
        "the caller's own second factor",
    ),
    (
        "POST",
        "/api/v1/auth/password",
        "the caller's own password (needs the current one)",
    ),
    (
        "DELETE",
        "/api/v1/auth/sessions/{id}",
        "the caller's own sessions only",
    ),
];

/// The kiosk device API: authenticated by a device token, so every user's token is refused (401).
const DEVICE: &[(&str, &str)] = &[
    ("POST", "/api/v1/kiosk/heartbeat"),
    ("GET", "/api/v1/kiosk/config"),
    ("GET", "/api/v1/kiosk/members/by-badge/{badge}"),
    ("POST", "/api/v1/kiosk/voice/sessions"),
    ("DELETE", "/api/v1/kiosk/voice/sessions/{id}"),
];

/// Expected outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
enum E {
    /// Allowed: 2xx, or a documented 409/422.
    A,
    /// 403.
    F,
    /// 404.
    N,
    /// 401.
    U,
}
use E::*;

/// A resource made afresh for each call (by the super admin, in the tenant under test), for
/// operations that delete, archive or revoke what they touch.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fresh {
    No,
    /// `{member_id}`.
    Member,
    /// `{fact_id}` (of the tenant's member).
    Fact,
    /// `{class_id}`.
    Class,
    /// `{kiosk_id}`.
    Kiosk,
    /// `{entry_id}` (a knowledge entry).
    Knowledge,
    /// `{id}` of an invitation to the tenant's gym.
    Invitation,
    /// `{id}` of a gym of the tenant's franchise, for roles above the gym (gym roles get their
    /// own gym: a new gym would not be theirs).
    Gym,
    /// `{id}` of a franchise, for the super admin (others get the tenant's).
    Franchise,
    /// `{id}` and `{membership_id}` of a new staff user of the tenant's gym.
    Membership,
    /// `{field_id}` of a custom analysis field of the tenant's gym.
    AnalysisField,
    /// `{tool_id}` of a custom HTTP tool of the tenant's gym.
    Tool,
}

/// The body of a request.
#[derive(Clone, Copy, Debug)]
enum Body {
    None,
    Json(&'static str),
    Csv(&'static str),
}

/// A tenant: its franchise, gym, and one of each resource in it.
#[derive(Clone, Debug, Default)]
struct Tenant {
    f: String,
    g: String,
    m: String,
    k: String,
    class: String,
    fact: String,
    import: String,
    /// A staff user of the gym (team management rows).
    u: String,
    /// A lead received by the gym's webhook.
    lead: String,
    /// A knowledge-base entry.
    knowledge: String,
    /// A custom HTTP tool of the gym.
    tool: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn n() -> String {
    COUNTER.fetch_add(1, Ordering::Relaxed).to_string()
}

/// Fills the placeholders of a body template: `{f}`, `{g}`, `{n}` (a fresh number).
fn fill_body(t: &str, w: &Tenant) -> String {
    t.replace("{f}", &w.f)
        .replace("{g}", &w.g)
        .replace("{n}", &n())
}

/// Turns a document path template into a concrete path in tenant `w`.
fn fill_path(template: &str, w: &Tenant, fresh: &[(&str, String)]) -> String {
    let mut out = Vec::new();
    let segs: Vec<&str> = template.split('/').collect();
    for (i, seg) in segs.iter().enumerate() {
        let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            out.push(seg.to_string());
            continue;
        };
        if let Some((_, v)) = fresh.iter().find(|(p, _)| *p == name) {
            out.push(v.clone());
            continue;
        }
        let value = match name {
            "gym_id" => w.g.clone(),
            "member_id" => w.m.clone(),
            "kiosk_id" => w.k.clone(),
            "class_id" => w.class.clone(),
            "fact_id" => w.fact.clone(),
            "import_id" => w.import.clone(),
            "lead_id" => w.lead.clone(),
            // No session in the world: the answer is the analysis's 404 once authorized.
            "session_id" => "00000000-0000-0000-0000-000000000000".to_owned(),
            "entry_id" => w.knowledge.clone(),
            "tool_id" => w.tool.clone(),
            "id" => match segs[i - 1] {
                "franchises" => w.f.clone(),
                "gyms" => w.g.clone(),
                "users" => w.u.clone(),
                other => panic!("no value for {{id}} after `{other}` in {template}"),
            },
            _ => panic!("no value for {{{name}}} in {template}"),
        };
        out.push(value);
    }
    out.join("/")
}

async fn created(app: &TestApp, path: &str, body: Value) -> String {
    let (s, v) = app.post(path, body).await;
    assert_eq!(s, 201, "POST {path}: {v}");
    v["id"].as_str().unwrap().to_string()
}

async fn tenant(app: &TestApp, name: &str) -> Tenant {
    let f = created(app, "/api/v1/franchises", json!({ "name": name })).await;
    let g = created(
        app,
        "/api/v1/gyms",
        json!({ "franchise_id": f, "name": format!("{name} Gym"), "timezone": "Europe/Paris" }),
    )
    .await;
    let gp = format!("/api/v1/gyms/{g}");
    let m = created(
        app,
        &format!("{gp}/members"),
        json!({ "badge_id": "B1", "first_name": "Ann", "last_name": "Lee" }),
    )
    .await;
    let k = created(app, &format!("{gp}/kiosks"), json!({ "name": "Door" })).await;
    let class = created(
        app,
        &format!("{gp}/classes"),
        json!({ "name": "Yoga", "weekday": "mon", "start_time": "18:00", "duration_minutes": 60, "capacity": 12, "recurring": true }),
    )
    .await;
    let fact = created(
        app,
        &format!("{gp}/members/{m}/facts"),
        json!({ "note": "likes mornings" }),
    )
    .await;
    let resp = app
        .req(Method::POST, &format!("{gp}/members/import?dry_run=true"))
        .header("content-type", "text/csv")
        .body("badge_id,first_name,last_name\nB2,Bo,Ng\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let import = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (fu, gu): (uuid::Uuid, uuid::Uuid) = (f.parse().unwrap(), g.parse().unwrap());
    let u = app
        .create_user(
            &format!("crew.{}@m.local", name.to_lowercase()),
            Some((Role::GymStaff, MembershipTarget::Gym(fu.into(), gu.into()))),
        )
        .await;
    let lead = webhook_lead(app, &gp).await;
    let knowledge = created(
        app,
        &format!("{gp}/knowledge"),
        json!({ "title": "Horaires", "body": "Ouvert de 6h à 23h.", "language": "fr" }),
    )
    .await;
    let tool = created(app, &format!("{gp}/tools"), tool_body()).await;
    Tenant {
        f,
        g,
        m,
        k,
        class,
        fact,
        import,
        u,
        lead,
        knowledge,
        tool,
    }
}

/// A custom tool definition (its URL is refused by the SSRF guard before any connection, so
/// "test this tool" never sends traffic anywhere).
fn tool_body() -> Value {
    json!({ "name": format!("tool_{}", n()), "description": "d",
        "parameters": { "type": "object" }, "url": "https://127.0.0.1/x" })
}

/// Generates the gym's webhook secret and delivers one signed lead; its id.
async fn webhook_lead(app: &TestApp, gp: &str) -> String {
    let (s, k) = app
        .post(&format!("{gp}/leads/webhook-secret"), json!({}))
        .await;
    assert_eq!(s, 201, "{k}");
    let body = json!({ "event_id": "matrix", "name": "Lead", "phone": "0612345678" }).to_string();
    let t = time::OffsetDateTime::now_utc().unix_timestamp();
    let sig = jarvis_app::leads::sign(k["secret"].as_str().unwrap(), t, body.as_bytes());
    let (s, v) = send(
        app.client
            .post(app.url("/api/v1/webhooks/leads"))
            .header("jarvis-webhook-key", k["key_id"].as_str().unwrap())
            .header("jarvis-signature", format!("t={t},v1={sig}"))
            .body(body),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["lead_id"].as_str().unwrap().to_string()
}

/// Makes the fresh resource a call needs, as (path parameter, value) pairs; empty when the call
/// uses the tenant's own.
async fn fresh(app: &TestApp, kind: Fresh, role: Role, w: &Tenant) -> Vec<(&'static str, String)> {
    let gp = format!("/api/v1/gyms/{}", w.g);
    let id = match kind {
        Fresh::No => return Vec::new(),
        Fresh::Membership => {
            let (f, g): (uuid::Uuid, uuid::Uuid) = (w.f.parse().unwrap(), w.g.parse().unwrap());
            let id = app
                .create_user(
                    &format!("revoke{}@m.local", n()),
                    Some((Role::GymStaff, MembershipTarget::Gym(f.into(), g.into()))),
                )
                .await;
            let uid: uuid::Uuid = id.parse().unwrap();
            let ms = app
                .db
                .store()
                .memberships_of_user(uid.into())
                .await
                .unwrap();
            return vec![("id", id), ("membership_id", ms[0].id.to_string())];
        }
        Fresh::Member => {
            created(
                app,
                &format!("{gp}/members"),
                json!({ "badge_id": format!("D{}", n()), "first_name": "Del", "last_name": "Me" }),
            )
            .await
        }
        Fresh::Fact => {
            created(
                app,
                &format!("{gp}/members/{}/facts", w.m),
                json!({ "note": "to delete" }),
            )
            .await
        }
        Fresh::Class => {
            created(
                app,
                &format!("{gp}/classes"),
                json!({ "name": "Gone", "weekday": "tue", "start_time": "07:00", "duration_minutes": 30, "capacity": 5, "recurring": true }),
            )
            .await
        }
        Fresh::AnalysisField => {
            created(
                app,
                &format!("{gp}/analysis-fields"),
                json!({ "name": format!("f{}", n()), "kind": "text", "description": "d" }),
            )
            .await
        }
        Fresh::Knowledge => {
            created(
                app,
                &format!("{gp}/knowledge"),
                json!({ "title": format!("Gone {}", n()), "body": "To delete.", "language": "en" }),
            )
            .await
        }
        Fresh::Kiosk => {
            created(
                app,
                &format!("{gp}/kiosks"),
                json!({ "name": format!("K{}", n()) }),
            )
            .await
        }
        Fresh::Invitation => {
            created(
                app,
                "/api/v1/invitations",
                json!({ "email": format!("i{}@m.local", n()), "display_name": "I", "role": "gym_staff", "gym_id": w.g }),
            )
            .await
        }
        Fresh::Gym if matches!(role, Role::SuperAdmin | Role::FranchiseOwner) => {
            created(
                app,
                "/api/v1/gyms",
                json!({ "franchise_id": w.f, "name": format!("G{}", n()), "timezone": "Europe/Paris" }),
            )
            .await
        }
        Fresh::Franchise if role == Role::SuperAdmin => {
            created(
                app,
                "/api/v1/franchises",
                json!({ "name": format!("F{}", n()) }),
            )
            .await
        }
        Fresh::Tool => created(app, &format!("{gp}/tools"), tool_body()).await,
        Fresh::Gym => w.g.clone(),
        Fresh::Franchise => w.f.clone(),
    };
    let param = match kind {
        Fresh::Member => "member_id",
        Fresh::Fact => "fact_id",
        Fresh::Class => "class_id",
        Fresh::Kiosk => "kiosk_id",
        Fresh::AnalysisField => "field_id",
        Fresh::Knowledge => "entry_id",
        Fresh::Tool => "tool_id",
        _ => "id",
    };
    vec![(param, id)]
}

/// The served document.
async fn document(app: &TestApp) -> Value {
    let (s, doc) = send(app.client.get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(s, 200);
    doc
}

/// Every (METHOD, path template) of the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in ["get", "put", "post", "delete", "patch"] {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Whether the operation documents `status`.
fn documents(doc: &Value, m: &str, path: &str, status: u16) -> bool {
    doc["paths"][path][m.to_lowercase()]["responses"]
        .get(status.to_string())
        .is_some()
}

/// Sends one request and classifies the answer; `Err` says why an answer is unacceptable.
async fn outcome(
    app: &TestApp,
    doc: &Value,
    token: &str,
    (m, template): (&Method, &str),
    path: &str,
    body: Body,
) -> Result<(E, u16), String> {
    let rb = app.req_as(token, m.clone(), path);
    let rb = match body {
        Body::None => rb,
        Body::Json(b) => rb.json(&serde_json::from_str::<Value>(b).unwrap()),
        Body::Csv(b) => rb.header("content-type", "text/csv").body(b),
    };
    let (s, v) = send(rb).await;
    match s {
        401 => Ok((U, s)),
        403 => Ok((F, s)),
        404 => Ok((N, s)),
        200..=299 => Ok((A, s)),
        409 | 422 if documents(doc, m.as_str(), template, s) => Ok((A, s)),
        _ => Err(format!(
            "{m} {path}: {s} is neither allowed nor a documented refusal: {v}"
        )),
    }
}

/// One row: the operation (as the document names it), a body template, what to make afresh,
/// and the expectations for [super admin, franchise owner, gym manager, gym staff] on their own
/// tenant and on a foreign one (for the super admin both are its own).
type Row = (Method, &'static str, Body, Fresh, [E; 4], [E; 4]);

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use Body::{Csv, Json};
    use Fresh::*;
    let none = Body::None;
    vec![
        (Method::GET, "/api/v1/franchises/{id}", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::PATCH, "/api/v1/franchises/{id}", Json(r#"{"name":"Renamed {n}"}"#), No, [A, A, F, F], [A, N, N, N]),
        (Method::DELETE, "/api/v1/franchises/{id}", none, Franchise, [A, F, F, F], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms", Json(r#"{"franchise_id":"{f}","name":"New {n}","timezone":"Europe/Paris"}"#), No, [A, A, F, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{id}", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::PATCH, "/api/v1/gyms/{id}", Json(r#"{"address":"{n} rue de la Paix"}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::DELETE, "/api/v1/gyms/{id}", none, Gym, [A, A, F, F], [A, N, N, N]),
        // Approving and suspending gyms is the platform's decision.
        (Method::POST, "/api/v1/gyms/{id}/status", Json(r#"{"status":"suspended","reason":"audit {n}"}"#), Gym, [A, F, F, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/members", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/members", Json(r#"{"badge_id":"X{n}","first_name":"Bo","last_name":"Ng"}"#), No, [A, A, A, A], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/members/{member_id}", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::PATCH, "/api/v1/gyms/{gym_id}/members/{member_id}", Json(r#"{"limitations":"knee {n}"}"#), No, [A, A, A, A], [A, N, N, N]),
        (Method::DELETE, "/api/v1/gyms/{gym_id}/members/{member_id}", none, Member, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/members/export.csv", none, No, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/members/import", Csv("badge_id,first_name,last_name\nI1,Al,Bo\n"), No, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/imports", none, No, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/imports/{import_id}", none, No, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/members/{member_id}/gdpr-export", none, No, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/members/{member_id}/erase", none, Member, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/members/{member_id}/facts", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/members/{member_id}/facts", Json(r#"{"note":"note {n}"}"#), No, [A, A, A, A], [A, N, N, N]),
        (Method::DELETE, "/api/v1/gyms/{gym_id}/members/{member_id}/facts/{fact_id}", none, Fact, [A, A, A, A], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/members/{member_id}/visits", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/leads", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::PATCH, "/api/v1/gyms/{gym_id}/leads/{lead_id}", Json(r#"{"status":"contacted"}"#), No, [A, A, A, A], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/leads/webhook-secret", none, No, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/analysis-fields", none, No, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/analysis-fields", Json(r#"{"name":"f{n}","kind":"enum","enum_values":["a","b"],"description":"d"}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::DELETE, "/api/v1/gyms/{gym_id}/analysis-fields/{field_id}", none, AnalysisField, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/voice/sessions/{session_id}/analysis", none, No, [N, N, N, F], [N, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/knowledge", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/knowledge", Json(r#"{"title":"Entry {n}","body":"Text {n}","language":"fr"}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/knowledge/{entry_id}", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::PUT, "/api/v1/gyms/{gym_id}/knowledge/{entry_id}", Json(r#"{"title":"Horaires {n}","body":"Ouvert.","language":"fr"}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::DELETE, "/api/v1/gyms/{gym_id}/knowledge/{entry_id}", none, Knowledge, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/knowledge/import", Csv("title,body\nImported,Text\n"), No, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/knowledge/search", Json(r#"{"question":"horaires"}"#), No, [A, A, A, A], [A, N, N, N]),
        // Custom HTTP tools: managers and above (they decide which member data leaves JARVIS).
        (Method::GET, "/api/v1/gyms/{gym_id}/tools", none, No, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/tools", Json(r#"{"name":"made_{n}","description":"d","parameters":{"type":"object"},"url":"https://127.0.0.1/x"}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/tools/{tool_id}", none, No, [A, A, A, F], [A, N, N, N]),
        (Method::PUT, "/api/v1/gyms/{gym_id}/tools/{tool_id}", Json(r#"{"name":"renamed_{n}","description":"d","parameters":{"type":"object"},"url":"https://127.0.0.1/y"}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::DELETE, "/api/v1/gyms/{gym_id}/tools/{tool_id}", none, Tool, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/tools/{tool_id}/secret", none, No, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/tools/{tool_id}/test", Json(r#"{"arguments":{}}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/kiosks", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/kiosks", Json(r#"{"name":"Kiosk {n}"}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/kiosks/{kiosk_id}", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::PATCH, "/api/v1/gyms/{gym_id}/kiosks/{kiosk_id}", Json(r#"{"name":"Renamed {n}"}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/kiosks/{kiosk_id}/pairing-code", none, No, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/kiosks/{kiosk_id}/revoke", none, Kiosk, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/classes", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::POST, "/api/v1/gyms/{gym_id}/classes", Json(r#"{"name":"Spin {n}","weekday":"wed","start_time":"12:00","duration_minutes":45,"capacity":10,"recurring":true}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::GET, "/api/v1/gyms/{gym_id}/classes/{class_id}", none, No, [A, A, A, A], [A, N, N, N]),
        (Method::PUT, "/api/v1/gyms/{gym_id}/classes/{class_id}", Json(r#"{"name":"Yoga {n}","weekday":"mon","start_time":"18:00","duration_minutes":60,"capacity":12,"recurring":true}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::DELETE, "/api/v1/gyms/{gym_id}/classes/{class_id}", none, Class, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/invitations", Json(r#"{"email":"s{n}@m.local","display_name":"S","role":"gym_staff","gym_id":"{g}"}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/invitations", Json(r#"{"email":"m{n}@m.local","display_name":"M","role":"gym_manager","gym_id":"{g}"}"#), No, [A, A, A, F], [A, N, N, N]),
        (Method::POST, "/api/v1/invitations", Json(r#"{"email":"o{n}@m.local","display_name":"O","role":"franchise_owner","franchise_id":"{f}"}"#), No, [A, F, F, F], [A, N, N, N]),
        // An invitation is addressed by its id alone: a role that may not manage invitations
        // does not see them at all (404; GET /api/v1/invitations does not list them either).
        (Method::POST, "/api/v1/invitations/{id}/resend", none, Invitation, [A, A, A, N], [A, N, N, N]),
        (Method::DELETE, "/api/v1/invitations/{id}", none, Invitation, [A, A, A, N], [A, N, N, N]),
        // Team management: staff never manage users (403 whatever the id).
        (Method::GET, "/api/v1/users/{id}", none, No, [A, A, A, F], [A, N, N, F]),
        (Method::POST, "/api/v1/users/{id}/disable", none, No, [A, A, A, F], [A, N, N, F]),
        (Method::POST, "/api/v1/users/{id}/enable", none, No, [A, A, A, F], [A, N, N, F]),
        (Method::DELETE, "/api/v1/users/{id}/memberships/{membership_id}", none, Membership, [A, A, A, F], [A, N, N, F]),
    ]
}

/// Operations without a target tenant: allowed or refused per role.
#[rustfmt::skip]
fn lists() -> Vec<(Method, &'static str, Body, [E; 4])> {
    let none = Body::None;
    vec![
        (Method::GET, "/api/v1/franchises", none, [A, A, A, A]),
        (Method::POST, "/api/v1/franchises", Body::Json(r#"{"name":"L {n}"}"#), [A, F, F, F]),
        (Method::GET, "/api/v1/gyms", none, [A, A, A, A]),
        (Method::GET, "/api/v1/audit", none, [A, A, A, F]),
        (Method::GET, "/api/v1/auth/events", none, [A, A, A, F]),
        (Method::GET, "/api/v1/invitations", none, [A, A, A, F]),
        (Method::GET, "/api/v1/users", none, [A, A, A, F]),
        (Method::GET, "/api/v1/model-prices", none, [A, F, F, F]),
        (Method::POST, "/api/v1/model-prices", Body::Json(r#"{"model":"gpt-test-{n}","price":{"text_in":1,"text_cached":1,"text_out":1,"audio_in":1,"audio_cached":1,"audio_out":1,"image_in":0,"image_cached":0,"per_minute":0},"effective_from":"2026-01-01T00:00:00Z"}"#), [A, F, F, F]),
        (Method::GET, "/api/v1/auth/me", none, [A, A, A, A]),
        (Method::GET, "/api/v1/auth/sessions", none, [A, A, A, A]),
        // Ends the caller's other sessions: each user here has only the one in use.
        (Method::DELETE, "/api/v1/auth/sessions", none, [A, A, A, A]),
    ]
}

/// The table covers the document exactly: no operation left out, no entry for one that is gone.
fn coverage(doc: &Value) -> Vec<String> {
    let ops = operations(doc);
    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    let mut problems = Vec::new();
    let mut cover = |m: &str, p: &str, list: &str| {
        let key = (m.to_string(), p.to_string());
        if !ops.contains(&key) {
            problems.push(format!(
                "{list} names {m} {p}, which the OpenAPI document does not have"
            ));
        }
        covered.insert(key);
    };
    for (m, p, ..) in rows() {
        cover(m.as_str(), p, "the tenant table");
    }
    for (m, p, ..) in lists() {
        cover(m.as_str(), p, "the list table");
    }
    for (m, p) in DEVICE {
        cover(m, p, "DEVICE");
    }
    for (m, p, _) in PUBLIC {
        cover(m, p, "PUBLIC");
    }
    for (m, p, _) in SELF_SERVICE {
        cover(m, p, "SELF_SERVICE");
    }
    for (m, p) in ops.difference(&covered) {
        problems.push(format!(
            "{m} {p} is in the OpenAPI document but not in the authorization matrix: add its row"
        ));
    }
    problems
}

async fn the_matrix_covers_every_documented_operation(b: Backend) {
    let Some(app) = TestApp::start(b, &[]).await else {
        return;
    };
    let doc = document(&app).await;
    let problems = coverage(&doc);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The check itself bites: an operation missing from the table is named.
    let mut extra = doc.clone();
    extra["paths"]["/api/v1/brand-new"] = json!({ "get": { "responses": {} } });
    assert_eq!(
        coverage(&extra),
        vec!["GET /api/v1/brand-new is in the OpenAPI document but not in the authorization matrix: add its row".to_string()]
    );
    // And so is a table entry for an operation the document no longer has.
    let mut gone = doc.clone();
    gone["paths"]["/api/v1/audit"]
        .as_object_mut()
        .unwrap()
        .remove("get");
    assert_eq!(
        coverage(&gone),
        vec![
            "the list table names GET /api/v1/audit, which the OpenAPI document does not have"
                .to_string()
        ]
    );
    app.stop().await;
}

async fn every_route_refuses_anonymous_callers(b: Backend) {
    let Some(app) = TestApp::start(b, &[]).await else {
        return;
    };
    let doc = document(&app).await;
    let mut checked = 0;
    for (m, path) in operations(&doc) {
        if PUBLIC.iter().any(|(pm, pp, _)| *pm == m && *pp == path) {
            continue;
        }
        let concrete = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    uuid::Uuid::now_v7().to_string()
                } else {
                    seg.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let m: Method = m.parse().unwrap();
        let (s, body) = send(
            app.client
                .request(m.clone(), app.url(&concrete))
                .json(&json!({})),
        )
        .await;
        assert_eq!(s, 401, "{m} {path} without a token: {body}");
        // A token that is not ours is refused just the same.
        let (s, _) = send(
            app.client
                .request(m.clone(), app.url(&concrete))
                .bearer_auth("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
                .json(&json!({})),
        )
        .await;
        assert_eq!(s, 401, "{m} {path} with a forged token");
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} routes checked");
    app.stop().await;
}

async fn routes_by_role_and_tenant(b: Backend) {
    let Some(app) = TestApp::start(b, &[]).await else {
        return;
    };
    let doc = document(&app).await;
    let problems = coverage(&doc);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let tenants = [tenant(&app, "Own").await, tenant(&app, "Foreign").await];
    let f0: uuid::Uuid = tenants[0].f.parse().unwrap();
    let g0: uuid::Uuid = tenants[0].g.parse().unwrap();
    let users: Vec<(Role, TestUser)> = vec![
        (Role::SuperAdmin, app.admin.clone()),
        (
            Role::FranchiseOwner,
            app.as_role(
                "owner@m.local",
                Role::FranchiseOwner,
                MembershipTarget::Franchise(f0.into()),
            )
            .await,
        ),
        (
            Role::GymManager,
            app.as_role(
                "manager@m.local",
                Role::GymManager,
                MembershipTarget::Gym(f0.into(), g0.into()),
            )
            .await,
        ),
        (
            Role::GymStaff,
            app.as_role(
                "staff@m.local",
                Role::GymStaff,
                MembershipTarget::Gym(f0.into(), g0.into()),
            )
            .await,
        ),
    ];

    let mut failures = Vec::new();
    let mut check = |what: String, want: E, got: Result<(E, u16), String>| match got {
        Ok((e, _)) if e == want => {}
        Ok((e, s)) => failures.push(format!("{what}: want {want:?}, got {e:?} ({s})")),
        Err(why) => failures.push(format!("{what}: {why}")),
    };
    for (m, template, body, want) in lists() {
        for (i, (role, u)) in users.iter().enumerate() {
            let body = match body {
                Body::Json(t) => Body::Json(fill_body(t, &tenants[0]).leak()),
                other => other,
            };
            let got = outcome(&app, &doc, &u.token, (&m, template), template, body).await;
            check(format!("{role} {m} {template}"), want[i], got);
        }
    }
    for (m, template) in DEVICE {
        let m: Method = m.parse().unwrap();
        let path = template
            .replace("{badge}", "B1")
            .replace("{id}", "00000000-0000-0000-0000-000000000000");
        for (role, u) in &users {
            let got = outcome(&app, &doc, &u.token, (&m, template), &path, Body::None).await;
            check(
                format!("{role} {m} {template} (a user token is no device token)"),
                U,
                got,
            );
        }
    }
    // Foreign first: the own tenant's gym may end suspended or archived by the rows it allows.
    for (t, label) in [(1usize, "foreign"), (0, "own")] {
        let w = &tenants[t];
        for (m, template, body, kind, own, foreign) in rows() {
            for (i, (role, u)) in users.iter().enumerate() {
                let want = if t == 0 { own[i] } else { foreign[i] };
                let fresh_ids = fresh(&app, kind, *role, w).await;
                let path = fill_path(template, w, &fresh_ids);
                let body = match body {
                    Body::Json(b) => Body::Json(fill_body(b, w).leak()),
                    other => other,
                };
                let got = outcome(&app, &doc, &u.token, (&m, template), &path, body).await;
                check(format!("{role} {m} {template} ({label})"), want, got);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    app.stop().await;
}

both_backends!(
    the_matrix_covers_every_documented_operation,
    every_route_refuses_anonymous_callers,
    routes_by_role_and_tenant
);
