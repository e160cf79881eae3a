//! Issue 9 over HTTP: kiosk device rules (refusal codes, visits, per-kiosk limits), the gym
//! budget belonging to owners, compare-and-set reviews, interrupted imports, French pages and
//! the class edit page. Both backends unless a case is about in-process state only.

use crate::common;

use common::{Backend, TestApp, send};
use jarvis_core::Role;
use jarvis_core::model::{Actor, ImportStatus, Locale, MembershipTarget, NewUser};
use jarvis_core::{FranchiseId, GymId, Scope};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A franchise with one active gym; returns (franchise, gym).
async fn tenant(app: &TestApp) -> (String, String) {
    let (s, f) = app
        .post("/api/v1/franchises", json!({"name": "Atlas"}))
        .await;
    assert_eq!(s, 201, "{f}");
    let fid = f["id"].as_str().unwrap().to_string();
    let (s, g) = app
        .post(
            "/api/v1/gyms",
            json!({"franchise_id": fid, "name": "Lyon", "timezone": "Europe/Paris"}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    (fid, g["id"].as_str().unwrap().to_string())
}

fn ids(f: &str, g: &str) -> (FranchiseId, GymId) {
    (f.parse().unwrap(), g.parse().unwrap())
}

async fn member(app: &TestApp, gym: &str, body: Value) -> Value {
    let (s, m) = app.post(&format!("/api/v1/gyms/{gym}/members"), body).await;
    assert_eq!(s, 201, "{m}");
    m
}

/// Creates a kiosk and pairs it through the API; returns (kiosk id, device token).
async fn paired_kiosk(app: &TestApp, gym: &str, name: &str) -> (String, String) {
    let (s, k) = app
        .post(
            &format!("/api/v1/gyms/{gym}/kiosks"),
            json!({ "name": name }),
        )
        .await;
    assert_eq!(s, 201, "{k}");
    let kid = k["id"].as_str().unwrap().to_string();
    let (s, code) = app
        .post(
            &format!("/api/v1/gyms/{gym}/kiosks/{kid}/pairing-code"),
            json!({}),
        )
        .await;
    assert_eq!(s, 201, "{code}");
    let (s, p) = send(
        app.client
            .post(app.url("/api/v1/kiosk/pair"))
            .json(&json!({ "code": code["code"] })),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    (kid, p["device_token"].as_str().unwrap().to_string())
}

async fn lookup(app: &TestApp, token: &str, badge: &str) -> (u16, Value) {
    send(
        app.client
            .get(app.url(&format!("/api/v1/kiosk/members/by-badge/{badge}")))
            .bearer_auth(token),
    )
    .await
}

async fn visits(app: &TestApp, gym: &str, m: &Value) -> (i64, u64) {
    let mid = m["id"].as_str().unwrap();
    let (_, after) = app.get(&format!("/api/v1/gyms/{gym}/members/{mid}")).await;
    let (_, v) = app
        .get(&format!("/api/v1/gyms/{gym}/members/{mid}/visits"))
        .await;
    (
        after["visit_count"].as_i64().unwrap(),
        v["total"].as_u64().unwrap(),
    )
}

/// A user created in storage with a language (the harness's users are English).
async fn user_with_locale(
    app: &TestApp,
    email: &str,
    locale: Locale,
    grant: (Role, MembershipTarget),
) {
    let hash = jarvis_app::auth::password::hash(common::PASSWORD.into())
        .await
        .unwrap();
    app.db
        .store()
        .create_user(
            &Actor::cli(),
            NewUser {
                email: email.into(),
                display_name: format!("User {email}"),
                locale,
                password_hash: Some(hash),
            }
            .validate()
            .unwrap(),
            Some(grant),
        )
        .await
        .unwrap();
}

mod web {
    use super::*;
    pub use crate::web::hidden;
    use crate::web::{client, cookie, form as encode};

    pub struct Web<'a> {
        app: &'a TestApp,
        cookie: String,
        c: reqwest::Client,
        pub csrf: String,
    }

    /// Signs in through the login form and reads the session's CSRF token from `gym`'s member
    /// page (its add-member form).
    pub async fn login<'a>(app: &'a TestApp, email: &str, gym: &str) -> Web<'a> {
        let c = client();
        let resp = c.get(app.url("/app/login")).send().await.unwrap();
        let csrf_cookie = cookie(&resp, "jarvis_csrf").unwrap();
        let csrf = hidden(&resp.text().await.unwrap(), "csrf");
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
        let mut w = Web {
            app,
            cookie: format!("jarvis_session={}", cookie(&r, "jarvis_session").unwrap()),
            c,
            csrf: String::new(),
        };
        let (s, html) = w.get(&format!("/app/gyms/{gym}/members")).await;
        assert_eq!(s, 200, "{html}");
        w.csrf = hidden(&html, "csrf");
        w
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
        pub async fn get_json(&self, path: &str) -> (u16, Value) {
            send(
                self.c
                    .get(self.app.url(path))
                    .header("cookie", &self.cookie),
            )
            .await
        }
        /// Posts a form with the session's CSRF token; (status, location, body).
        pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String, String) {
            let mut form = form.to_vec();
            form.push(("csrf", &self.csrf));
            let r = self
                .c
                .post(self.app.url(path))
                .header("sec-fetch-site", "same-origin")
                .header("cookie", &self.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encode(&form))
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
}

/// What a person reads: the page without tags, attribute values, scripts and styles.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        out.push(' ');
        rest = &rest[i..];
        let lower = rest.to_ascii_lowercase();
        let end = if lower.starts_with("<script") {
            lower.find("</script>").map(|e| e + 9)
        } else if lower.starts_with("<style") {
            lower.find("</style>").map(|e| e + 8)
        } else {
            rest.find('>').map(|e| e + 1)
        };
        rest = &rest[end.unwrap_or(rest.len())..];
    }
    out.push_str(rest);
    out
}

/// The listed words that appear in `text` as whole words.
fn words_found<'a>(text: &str, words: &[&'a str]) -> Vec<&'a str> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    words
        .iter()
        .copied()
        .filter(|w| {
            text.match_indices(w).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                let after = text[i + w.len()..].chars().next();
                !before.is_some_and(is_word) && !after.is_some_and(is_word)
            })
        })
        .collect()
}

// ---------- item 5: kiosk device rules ----------

/// Refusals carry a code and nothing else; an inactive membership records no visit, a missing
/// voice consent does; ten scans at once from two kiosks are one visit.
async fn kiosk_refusals_and_visits(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (_, g) = tenant(&app).await;
    let base = |badge: &str, first: &str| {
        json!({"badge_id": badge, "first_name": first, "last_name": "Secretname",
            "preferred_language": "en", "consent_voice": true})
    };
    let ok = member(&app, &g, base("OK-1", "Alice")).await;
    let mut frozen = base("FR-1", "Frida");
    frozen["membership_status"] = json!("frozen");
    let frozen = member(&app, &g, frozen).await;
    let mut cancelled = base("CA-1", "Carl");
    cancelled["membership_status"] = json!("cancelled");
    member(&app, &g, cancelled).await;
    let mut expired = base("EX-1", "Eve");
    expired["membership_status"] = json!("expired");
    member(&app, &g, expired).await;
    let mut ended = base("EN-1", "Enzo");
    ended["membership_end_date"] = json!("2020-01-31");
    member(&app, &g, ended).await;
    let mut no_consent = base("NC-1", "Nina");
    no_consent["consent_voice"] = json!(false);
    let no_consent = member(&app, &g, no_consent).await;
    let (_, t1) = paired_kiosk(&app, &g, "Entrance").await;
    let (_, t2) = paired_kiosk(&app, &g, "Side door").await;

    let (s, who) = lookup(&app, &t1, "OK-1").await;
    assert_eq!(
        (s, who),
        (
            200,
            json!({"first_name": "Alice", "preferred_language": "en"})
        )
    );
    for badge in ["FR-1", "CA-1", "EX-1", "EN-1"] {
        let (s, body) = lookup(&app, &t1, badge).await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (403, Some("membership_inactive")),
            "{badge}: {body}"
        );
        let text = body.to_string();
        for secret in [
            "Frida",
            "Carl",
            "Eve",
            "Enzo",
            "Secretname",
            "frozen",
            "cancelled",
            "expired",
        ] {
            assert!(!text.contains(secret), "{badge} reveals {secret}: {text}");
        }
        assert_eq!(body["error"]["details"], json!({}), "nothing but the code");
    }
    assert_eq!(
        visits(&app, &g, &frozen).await,
        (0, 0),
        "a refused inactive membership is not a visit"
    );
    let (s, body) = lookup(&app, &t1, "NC-1").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("consent_missing")),
        "{body}"
    );
    assert!(!body.to_string().contains("Nina"));
    assert_eq!(
        visits(&app, &g, &no_consent).await,
        (1, 1),
        "an active member without voice consent still came in"
    );
    let (s, _) = lookup(&app, &t1, "NOPE-1").await;
    assert_eq!(s, 404, "unknown badges answer as before");

    // Ten scans of one badge at once, from two kiosks: one visit.
    let fresh = member(&app, &g, base("RC-1", "Rosa")).await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let client = app.client.clone();
            let url = app.url("/api/v1/kiosk/members/by-badge/RC-1");
            let token = if i % 2 == 0 { t1.clone() } else { t2.clone() };
            tokio::spawn(async move {
                client
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(visits(&app, &g, &fresh).await, (1, 1));
    assert_eq!(visits(&app, &g, &ok).await, (1, 1));
    app.stop().await;
}

/// Lookups are limited per kiosk, not per address: two kiosks behind one gym address each get
/// their own budget; token-less and unknown-token requests still spend the address's budget.
/// (In-process limits: one backend is enough.)
#[tokio::test]
async fn kiosk_lookups_are_limited_per_kiosk_not_per_address() {
    let Some(app) = TestApp::start(
        Backend::Sqlite,
        &[
            ("JARVIS_TRUSTED_PROXIES", "127.0.0.1"),
            ("JARVIS_KIOSK_LOOKUP_PER_MIN", "3"),
        ],
    )
    .await
    else {
        return;
    };
    let (_, g) = tenant(&app).await;
    member(
        &app,
        &g,
        json!({"badge_id": "L-1", "first_name": "Lou", "last_name": "X", "consent_voice": true}),
    )
    .await;
    let (_, ta) = paired_kiosk(&app, &g, "A").await;
    let (_, tb) = paired_kiosk(&app, &g, "B").await;
    // Both kiosks reach the server from the gym's one public address.
    let gym_ip = "203.0.113.7";
    let from_gym = |rb: reqwest::RequestBuilder| rb.header("x-forwarded-for", gym_ip);
    let look = |token: &str| {
        from_gym(
            app.client
                .get(app.url("/api/v1/kiosk/members/by-badge/L-1"))
                .bearer_auth(token),
        )
    };
    for _ in 0..3 {
        assert_eq!(send(look(&ta)).await.0, 200);
    }
    let resp = look(&ta).send().await.unwrap();
    assert_eq!(resp.status(), 429, "kiosk A spent its lookups");
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    for _ in 0..3 {
        assert_eq!(
            send(look(&tb)).await.0,
            200,
            "kiosk B at the same address keeps its own budget"
        );
    }

    // The per-address limit (here lowered on a fresh server) no longer counts device requests…
    let app2 = TestApp::start(
        Backend::Sqlite,
        &[
            ("JARVIS_TRUSTED_PROXIES", "127.0.0.1"),
            ("JARVIS_RATE_LIMIT_API_PER_MIN", "4"),
        ],
    )
    .await
    .unwrap();
    // Set up in storage: the admin's own API budget is 4 requests a minute here.
    let store = app2.db.store();
    let a = Actor::cli();
    let fr = store
        .create_franchise(
            &Scope::Platform,
            &a,
            jarvis_core::model::NewFranchise { name: "F".into() },
        )
        .await
        .unwrap();
    let gym2 = store
        .create_gym(
            &Scope::Platform,
            &a,
            jarvis_core::model::NewGym {
                franchise_id: fr.id,
                name: "G".into(),
                address: None,
                timezone: "Europe/Paris".into(),
                locale: Locale::Fr,
                settings: json!({}),
            },
            jarvis_core::model::GymStatus::Active,
        )
        .await
        .unwrap();
    let sc2 = Scope::Gym {
        franchise: fr.id,
        gym: gym2.id,
    };
    store
        .create_member(
            &sc2,
            &a,
            gym2.id,
            serde_json::from_value::<jarvis_core::model::NewMember>(
                json!({"badge_id": "L-1", "first_name": "Lou", "last_name": "X", "consent_voice": true}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let mut tokens = Vec::new();
    for (i, name) in ["A", "B"].into_iter().enumerate() {
        let k = store
            .create_kiosk(
                &sc2,
                &a,
                gym2.id,
                jarvis_core::model::NewKiosk { name: name.into() },
            )
            .await
            .unwrap();
        let code = jarvis_server::kiosk_api::new_pairing_code().unwrap();
        let expires = time::OffsetDateTime::now_utc() + time::Duration::minutes(15);
        store
            .set_pairing_code(
                &sc2,
                &a,
                gym2.id,
                k.id,
                &jarvis_server::kiosk_api::hash_secret(&code),
                expires,
            )
            .await
            .unwrap();
        // Paired from the installer's laptop, another address.
        let (s, p) = send(
            app2.client
                .post(app2.url("/api/v1/kiosk/pair"))
                .header("x-forwarded-for", format!("198.51.100.{i}"))
                .json(&json!({ "code": code })),
        )
        .await;
        assert_eq!(s, 200, "{p}");
        tokens.push(p["device_token"].as_str().unwrap().to_string());
    }
    let look2 = |token: &str| {
        app2.client
            .get(app2.url("/api/v1/kiosk/members/by-badge/L-1"))
            .bearer_auth(token)
            .header("x-forwarded-for", gym_ip)
    };
    for t in &tokens {
        for _ in 0..3 {
            assert_eq!(
                send(look2(t)).await.0,
                200,
                "6 device requests > 4 per address"
            );
        }
    }
    // …but guessing device tokens, or calling without one, still spends the address's budget.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(send(look2("jk_not-a-real-token")).await.0);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429], "{statuses:?}");
    let (s, _) = send(
        app2.client
            .get(app2.url("/api/v1/kiosk/config"))
            .header("x-forwarded-for", gym_ip),
    )
    .await;
    assert_eq!(s, 429, "no token: limited per address");
    assert_eq!(
        send(look2(&tokens[0])).await.0,
        200,
        "the kiosks still work"
    );
    app2.stop().await;
    app.stop().await;
}

// ---------- item 5: the budget belongs to the owner ----------

async fn managers_cannot_change_the_gym_budget(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (f, g) = tenant(&app).await;
    let (fid, gid) = ids(&f, &g);
    let manager = app
        .as_role(
            "budget-manager@example.com",
            Role::GymManager,
            MembershipTarget::Gym(fid, gid),
        )
        .await;
    let owner = app
        .as_role(
            "budget-owner@example.com",
            Role::FranchiseOwner,
            MembershipTarget::Franchise(fid),
        )
        .await;
    let path = format!("/api/v1/gyms/{g}");
    let patch = |token: &str, settings: Value| {
        send(
            app.req_as(token, reqwest::Method::PATCH, &path)
                .json(&json!({ "settings": settings })),
        )
    };
    let forbidden_fields = |body: &Value| -> Vec<String> {
        body["error"]["details"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, body) = patch(
        &manager.token,
        json!({"monthly_ai_budget_micros": 500_000_000}),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("field_forbidden")),
        "{body}"
    );
    assert_eq!(
        forbidden_fields(&body),
        ["settings.monthly_ai_budget_micros"]
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("settings.monthly_ai_budget_micros")
    );
    let (s, body) = patch(&manager.token, json!({"voice_session_cap": 20})).await;
    assert_eq!(s, 403, "{body}");
    assert_eq!(forbidden_fields(&body), ["settings.voice_session_cap"]);
    let (s, body) = patch(
        &manager.token,
        json!({"voice_session_cap": 1, "monthly_ai_budget_micros": 1}),
    )
    .await;
    assert_eq!(s, 403, "lowering is the owner's call too: {body}");
    assert_eq!(forbidden_fields(&body).len(), 2);
    let (_, now) = app.get(&path).await;
    assert_eq!(now["settings"]["monthly_ai_budget_micros"], 100_000_000);
    assert_eq!(now["settings"]["voice_session_cap"], 3);
    // The rest of the settings stay the manager's, the limits sent back unchanged.
    let (s, body) = patch(
        &manager.token,
        json!({"persona": {"name": "Coach"}, "voice_session_cap": 3, "monthly_ai_budget_micros": 100_000_000}),
    )
    .await;
    assert_eq!(
        (s, body["settings"]["persona"]["name"].as_str()),
        (200, Some("Coach")),
        "{body}"
    );
    // The owner and the super admin may change them.
    let (s, body) = patch(
        &owner.token,
        json!({"voice_session_cap": 8, "monthly_ai_budget_micros": 250_000_000}),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["settings"]["voice_session_cap"], 8);
    let (s, body) = patch(
        &app.token,
        json!({"voice_session_cap": 9, "monthly_ai_budget_micros": 250_000_000}),
    )
    .await;
    assert_eq!(
        (s, body["settings"]["voice_session_cap"].as_u64()),
        (200, Some(9))
    );

    // The page: the inputs are read-only for the manager, and a forged change is refused
    // next to its field.
    app.create_user(
        "budget-web@example.com",
        Some((Role::GymManager, MembershipTarget::Gym(fid, gid))),
    )
    .await;
    let w = web::login(&app, "budget-web@example.com", &g).await;
    let gym_page = format!("/app/gyms/{g}");
    let (s, html) = w.get(&gym_page).await;
    assert_eq!(s, 200);
    for field in ["voice_session_cap", "budget"] {
        let input = html
            .split(&format!("name=\"{field}\""))
            .nth(1)
            .unwrap()
            .split('>')
            .next()
            .unwrap();
        assert!(input.contains("readonly"), "{field}: {input}");
    }
    let (_, cur) = app.get(&path).await;
    let cap = cur["settings"]["voice_session_cap"].to_string();
    let form = |budget: &'static str, cap: String| {
        vec![
            ("name", "Lyon".to_string()),
            ("timezone", "Europe/Paris".to_string()),
            ("locale", "fr".to_string()),
            ("persona_name", "Coach".to_string()),
            ("voice", "marin".to_string()),
            ("tone", "calm".to_string()),
            ("voice_session_cap", cap),
            ("budget", budget.to_string()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let w = &w;
        let gym_page = gym_page.clone();
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            w.post(&format!("{gym_page}/settings"), &pairs).await
        }
    };
    let (s, _, html) = post(form("9999.00", cap.clone())).await;
    assert_eq!(s, 403, "{html}");
    let after_budget = html.split("name=\"budget\"").nth(1).unwrap();
    assert!(
        after_budget
            .split("</label>")
            .next()
            .unwrap()
            .contains("only the franchise owner or a super admin"),
        "the error sits next to the budget field: {html}"
    );
    let (_, still) = app.get(&path).await;
    assert_eq!(still["settings"]["monthly_ai_budget_micros"], 250_000_000);
    let (s, _, html) = post(form("250.00", cap)).await;
    assert_eq!(s, 303, "unchanged limits save: {html}");
    app.stop().await;
}

// ---------- item 7: compare-and-set reviews ----------

async fn concurrent_reviews_one_wins_the_other_gets_409(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (f, _) = tenant(&app).await;
    let fid: FranchiseId = f.parse().unwrap();
    let owner = app
        .as_role(
            "review-owner@example.com",
            Role::FranchiseOwner,
            MembershipTarget::Franchise(fid),
        )
        .await;
    let (s, gym) = send(
        app.req_as(&owner.token, reqwest::Method::POST, "/api/v1/gyms")
            .json(&json!({"franchise_id": f, "name": "Pending gym"})),
    )
    .await;
    assert_eq!((s, gym["status"].as_str()), (201, Some("pending")), "{gym}");
    let gid = gym["id"].as_str().unwrap().to_string();
    let status_path = format!("/api/v1/gyms/{gid}/status");
    let bodies = [
        json!({"status": "active", "expected_status": "pending"}),
        json!({"status": "rejected", "reason": "no insurance", "expected_status": "pending"}),
    ];
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|b| {
            let rb = app.req(reqwest::Method::POST, &status_path).json(&b);
            tokio::spawn(async move { send(rb).await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    results.sort_by_key(|(s, _)| *s);
    assert_eq!(
        results.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        [200, 409],
        "{results:?}"
    );
    assert_eq!(results[1].1["error"]["code"], "status_changed");
    let winner = results[0].1["status"].as_str().unwrap().to_string();
    let (_, g) = app.get(&format!("/api/v1/gyms/{gid}")).await;
    assert_eq!(g["status"].as_str(), Some(winner.as_str()));
    app.stop().await;
}

/// The dashboard's status forms carry the status they were decided on: a decision taken on a
/// page that went stale is a 409, not whatever the move would mean now.
async fn stale_status_forms_are_refused(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (f, _) = tenant(&app).await;
    let fid: FranchiseId = f.parse().unwrap();
    let owner = app
        .as_role(
            "stale-owner@example.com",
            Role::FranchiseOwner,
            MembershipTarget::Franchise(fid),
        )
        .await;
    let (_, gym) = send(
        app.req_as(&owner.token, reqwest::Method::POST, "/api/v1/gyms")
            .json(&json!({"franchise_id": f, "name": "Second"})),
    )
    .await;
    let g = gym["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .post(
            &format!("/api/v1/gyms/{g}/status"),
            json!({"status": "rejected", "reason": "missing papers"}),
        )
        .await;
    assert_eq!(s, 200);
    app.create_user(
        "stale-manager@example.com",
        Some((
            Role::GymManager,
            MembershipTarget::Gym(fid, g.parse().unwrap()),
        )),
    )
    .await;
    let w = web::login(&app, "stale-manager@example.com", &g).await;
    let (s, html) = w.get(&format!("/app/gyms/{g}")).await;
    assert_eq!(s, 200);
    assert!(html.contains("name=\"from\" value=\"rejected\""), "{html}");
    // Meanwhile the gym is archived; the manager then clicks "resubmit" on the old page.
    let (s, _) = app
        .post(
            &format!("/api/v1/gyms/{g}/status"),
            json!({"status": "archived"}),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _, html) = w
        .post(
            &format!("/app/gyms/{g}/status"),
            &[("status", "pending"), ("from", "rejected")],
        )
        .await;
    assert_eq!(s, 409, "{html}");
    assert!(html.contains("changed meanwhile"), "{html}");
    let (_, now) = app.get(&format!("/api/v1/gyms/{g}")).await;
    assert_eq!(now["status"], "archived");
    app.stop().await;
}

// ---------- item 7: interrupted imports ----------

/// Ages an import row as if its runner had died an hour ago.
async fn age_import(app: &TestApp, id: jarvis_core::ImportJobId) {
    let old = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    match app.db.pg() {
        Some(pg) => {
            sqlx::query("UPDATE member_imports SET updated_at = $1 WHERE id = $2")
                .bind(old)
                .bind(uuid::Uuid::from(id))
                .execute(pg.pool())
                .await
                .unwrap();
        }
        None => {
            let pool = sqlx::SqlitePool::connect(app.db.url()).await.unwrap();
            sqlx::query("UPDATE member_imports SET updated_at = ? WHERE id = ?")
                .bind(old)
                .bind(id.to_string())
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

async fn interrupted_imports_are_failed_at_start(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (f, g) = tenant(&app).await;
    let (fid, gid) = ids(&f, &g);
    let scope = Scope::Gym {
        franchise: fid,
        gym: gid,
    };
    let store = app.db.store();
    let mk = || async {
        let j = store
            .create_import_job(&scope, &Actor::cli(), gid, false, false)
            .await
            .unwrap();
        store
            .import_progress(&scope, gid, j.id, ImportStatus::Running, 100, 10)
            .await
            .unwrap();
        j.id
    };
    let dead = mk().await;
    let live = mk().await;
    age_import(&app, dead).await;
    // A second instance starts on the same database (a restart, or a new replica).
    let cfg = common::config(app.db.url(), &[]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = jarvis_server::app::start(cfg, store.clone(), listener)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let swept = loop {
        let j = store.import_job(&scope, gid, dead).await.unwrap();
        if j.status != ImportStatus::Running {
            break j;
        }
        assert!(
            Instant::now() < deadline,
            "the interrupted import stayed running"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(swept.status, ImportStatus::Failed);
    let failure = swept.report.unwrap()["failure"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(failure.contains("interrupted"), "{failure}");
    assert_eq!(
        store.import_job(&scope, gid, live).await.unwrap().status,
        ImportStatus::Running,
        "a live import (fresh updated_at) is left alone"
    );
    // The API shows it failed, with the reason.
    let (_, j) = app.get(&format!("/api/v1/gyms/{g}/imports/{dead}")).await;
    assert_eq!(j["status"], "failed");
    second.shutdown().await.unwrap();
    app.stop().await;
}

/// The `imports.run` job ends its import `failed`, with the reason, when it cannot run it (here:
/// no file kept with it); a finished import keeps its first outcome (a late finish of another
/// run changes nothing). Storage errors are retried by the queue (`jarvis-app` tests).
async fn failed_or_crashed_runs_end_failed(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (f, g) = tenant(&app).await;
    let (fid, gid) = ids(&f, &g);
    let scope = Scope::Gym {
        franchise: fid,
        gym: gid,
    };
    let store = app.db.store();
    let j = store
        .create_import_job(&scope, &Actor::cli(), gid, false, false)
        .await
        .unwrap();
    let queued = store
        .enqueue(jarvis_server::imports::run_job_of(&j))
        .await
        .unwrap()
        .job;
    assert_eq!(queued.payload["import"], json!(j.id));
    jarvis_server::imports::run_job(
        store.clone(),
        jarvis_app::jobs::JobCtx::detached(queued.clone()),
        queued.payload.clone(),
    )
    .await
    .unwrap();
    let after = store.import_job(&scope, gid, j.id).await.unwrap();
    assert_eq!(after.status, ImportStatus::Failed);
    assert!(
        after.report.unwrap()["failure"]
            .as_str()
            .unwrap()
            .contains("nothing was imported")
    );
    let late = store
        .finish_import_job(&scope, gid, j.id, ImportStatus::Succeeded, json!({}))
        .await
        .unwrap();
    assert_eq!(
        late.status,
        ImportStatus::Failed,
        "the first outcome stands"
    );
    app.stop().await;
}

/// The job page polls the API's view of the job: live progress, then the report.
async fn import_page_shows_live_progress(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (f, g) = tenant(&app).await;
    let (fid, gid) = ids(&f, &g);
    app.create_user(
        "import-web@example.com",
        Some((Role::GymManager, MembershipTarget::Gym(fid, gid))),
    )
    .await;
    let w = web::login(&app, "import-web@example.com", &g).await;
    let scope = Scope::Gym {
        franchise: fid,
        gym: gid,
    };
    let store = app.db.store();
    let j = store
        .create_import_job(&scope, &Actor::cli(), gid, false, false)
        .await
        .unwrap();
    store
        .import_progress(&scope, gid, j.id, ImportStatus::Running, 200, 50)
        .await
        .unwrap();
    let page = format!("/app/gyms/{g}/imports/{}", j.id);
    let (s, html) = w.get(&page).await;
    assert_eq!(s, 200);
    assert!(html.contains("data-running=\"true\""), "{html}");
    let poll = format!("{page}/progress.json");
    assert!(html.contains(&format!("data-poll=\"{poll}\"")), "{html}");
    let import_js = jarvis_server::web::assets::url("import.js");
    assert!(html.contains(&import_js));
    let (s, live) = w.get_json(&poll).await;
    assert_eq!(s, 200, "{live}");
    let (_, api) = app.get(&format!("/api/v1/gyms/{g}/imports/{}", j.id)).await;
    assert_eq!(live, api, "the page polls exactly what the API shows");
    assert_eq!(
        (live["processed_rows"].as_i64(), live["total_rows"].as_i64()),
        (Some(50), Some(200))
    );
    let (_, js) = w.get(&import_js).await;
    assert!(js.contains("dataset.poll") && js.contains("processed_rows"));
    // Another gym's job, or no session: nothing.
    let (s, _) = w
        .get_json(&format!(
            "/app/gyms/{}/imports/{}/progress.json",
            uuid::Uuid::now_v7(),
            j.id
        ))
        .await;
    assert_eq!(s, 404);
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (s, _) = send(anonymous.get(app.url(&poll))).await;
    assert_eq!(s, 303, "the progress needs the session (sent to sign in)");
    store
        .finish_import_job(&scope, gid, j.id, ImportStatus::Succeeded, json!({}))
        .await
        .unwrap();
    let (_, html) = w.get(&page).await;
    assert!(
        !html.contains("data-running=\"true\""),
        "finished: no more polling"
    );
    app.stop().await;
}

// ---------- item 10: French pages and the class edit page ----------

/// English words that must not show on a French page (statuses, sorts, tones, weekdays,
/// validation messages, chrome).
const ENGLISH: &[&str] = &[
    "frozen",
    "expired",
    "cancelled",
    "pending",
    "rejected",
    "suspended",
    "archived",
    "queued",
    "running",
    "succeeded",
    "failed",
    "online",
    "offline",
    "unpaired",
    "revoked",
    "newest",
    "created_desc",
    "last_visit_desc",
    "friendly",
    "motivating",
    "calm",
    "professional",
    "Mon",
    "Tue",
    "Wed",
    "Thu",
    "Fri",
    "Sat",
    "Sun",
    "mon",
    "tue",
    "fri",
    "must",
    "between",
    "characters",
    "empty",
    "required",
    "already",
    "Search",
    "Save",
    "Previous",
    "Next",
    "dry",
    "AI",
    "self",
    "Persona",
    "Status",
    "Members",
    "Kiosks",
    "Classes",
];

async fn french_pages_are_french(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (f, g) = tenant(&app).await;
    let (fid, gid) = ids(&f, &g);
    for (badge, status) in [("F-1", "frozen"), ("F-2", "cancelled"), ("F-3", "active")] {
        member(
            &app,
            &g,
            json!({"badge_id": badge, "first_name": "Zoé", "last_name": "Roux", "membership_status": status}),
        )
        .await;
    }
    app.post(&format!("/api/v1/gyms/{g}/kiosks"), json!({"name": "Hall"}))
        .await;
    paired_kiosk(&app, &g, "Accueil").await;
    app.post(
        &format!("/api/v1/gyms/{g}/classes"),
        json!({"name": "Yoga", "weekday": "fri", "start_time": "18:00", "duration_minutes": 60, "capacity": 12}),
    )
    .await;
    let (s, job) = send(
        app.req(
            reqwest::Method::POST,
            &format!("/api/v1/gyms/{g}/members/import?dry_run=true"),
        )
        .header("content-type", "text/csv")
        .body("badge,prenom,nom\nI-1,Inès,Lambert\n"),
    )
    .await;
    assert_eq!(s, 202, "{job}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, j) = app
            .get(&format!(
                "/api/v1/gyms/{g}/imports/{}",
                job["id"].as_str().unwrap()
            ))
            .await;
        if j["status"] == "succeeded" {
            break;
        }
        assert!(Instant::now() < deadline, "{j}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    user_with_locale(
        &app,
        "gerant@example.fr",
        Locale::Fr,
        (Role::GymManager, MembershipTarget::Gym(fid, gid)),
    )
    .await;
    let w = web::login(&app, "gerant@example.fr", &g).await;
    let check = |what: &str, html: &str| {
        let text = visible_text(html);
        let found = words_found(&text, ENGLISH);
        assert!(
            found.is_empty(),
            "{what}: English on a French page: {found:?}\n{text}"
        );
    };

    // Members list with every filter and sort shown (frozen/cancelled members listed).
    let members = format!("/app/gyms/{g}/members");
    let (s, html) = w
        .get(&format!("{members}?status=frozen&sort=created_desc"))
        .await;
    assert_eq!(s, 200);
    assert!(visible_text(&html).contains("gelé"), "{html}");
    check("members (filtered)", &html);
    let (_, html) = w.get(&members).await;
    let text = visible_text(&html);
    for fr in [
        "gelé",
        "résilié",
        "actif",
        // The sortable column headers.
        "Inscrit le",
        "Dernière visite",
    ] {
        assert!(text.contains(fr), "{fr} missing: {text}");
    }
    check("members", &html);
    // Member create with errors, then member edit with errors.
    let (s, _, html) = w
        .post(
            &members,
            &[
                ("badge_id", "bad badge!"),
                ("first_name", ""),
                ("last_name", "R"),
                ("email", "nope"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    let text = visible_text(&html);
    assert!(
        text.contains("obligatoire") && text.contains("adresse e-mail"),
        "{text}"
    );
    check("member create errors", &html);
    let (s, _, html) = w
        .post(
            &members,
            &[("badge_id", "F-1"), ("first_name", "A"), ("last_name", "B")],
        )
        .await;
    assert_eq!(s, 422);
    assert!(visible_text(&html).contains("déjà utilisé"), "{html}");
    check("member duplicate badge", &html);
    let (_, list) = app.get(&format!("/api/v1/gyms/{g}/members?q=F-1")).await;
    let mid = list["items"][0]["id"].as_str().unwrap();
    let member_page = format!("{members}/{mid}");
    let (_, html) = w.get(&member_page).await;
    check("member page", &html);
    let (s, _, html) = w
        .post(
            &member_page,
            &[
                ("first_name", &"x".repeat(81)),
                ("last_name", "Roux"),
                ("email", "nope"),
                ("phone", "12"),
                ("membership_type", "gold plan"),
                ("membership_status", "frozen"),
                ("preferred_language", "fr"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    let text = visible_text(&html);
    assert!(text.contains("80 caractères au plus"), "{text}");
    assert!(text.contains("numéro de téléphone"), "{text}");
    check("member edit errors", &html);

    // Gym page with settings errors.
    let gym_page = format!("/app/gyms/{g}");
    let (_, html) = w.get(&gym_page).await;
    check("gym page", &html);
    let (s, _, html) = w
        .post(
            &format!("{gym_page}/settings"),
            &[
                ("name", "Lyon"),
                ("timezone", "Paris"),
                ("locale", "fr"),
                ("persona_name", "Max"),
                ("voice", "marin"),
                ("tone", "calm"),
                ("voice_session_cap", "3"),
                ("budget", "100.00"),
                ("hours_mon", "22:00-06:00"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    let text = visible_text(&html);
    assert!(
        text.contains("fuseau horaire") && text.contains("la fermeture doit suivre"),
        "{text}"
    );
    check("gym settings errors", &html);
    let (_, html) = w.get("/app/gyms").await;
    check("gym list", &html);

    // Kiosks, classes, import.
    let (_, html) = w.get(&format!("/app/gyms/{g}/kiosks")).await;
    check("kiosks", &html);
    let (s, _, html) = w
        .post(&format!("/app/gyms/{g}/kiosks"), &[("name", "Hall")])
        .await;
    assert_eq!(s, 422);
    assert!(visible_text(&html).contains("a déjà une borne"), "{html}");
    check("kiosk duplicate", &html);
    let (_, html) = w.get(&format!("/app/gyms/{g}/classes")).await;
    assert!(visible_text(&html).contains("ven."), "{html}");
    check("classes", &html);
    let (s, _, html) = w
        .post(
            &format!("/app/gyms/{g}/classes"),
            &[
                ("name", "Spin"),
                ("weekday", "fri"),
                ("start_time", "7h"),
                ("duration_minutes", "2"),
                ("capacity", "20"),
            ],
        )
        .await;
    assert_eq!(s, 422);
    let text = visible_text(&html);
    assert!(
        text.contains("doit être entre 5 et 480") && text.contains("HH:MM"),
        "{text}"
    );
    check("class errors", &html);
    let (_, html) = w.get(&format!("/app/gyms/{g}/import")).await;
    assert!(visible_text(&html).contains("terminé"), "{html}");
    check("import", &html);
    let (_, html) = w
        .get(&format!(
            "/app/gyms/{g}/imports/{}",
            job["id"].as_str().unwrap()
        ))
        .await;
    check("import job", &html);
    app.stop().await;
}

async fn classes_are_edited_on_their_page(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (f, g) = tenant(&app).await;
    let (fid, gid) = ids(&f, &g);
    let (s, c) = app
        .post(
            &format!("/api/v1/gyms/{g}/classes"),
            json!({"name": "Yoga", "coach": "Léa", "room": "Studio", "weekday": "tue",
                "start_time": "18:30", "duration_minutes": 60, "capacity": 15}),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let cid = c["id"].as_str().unwrap().to_string();
    for (email, locale, role) in [
        ("classes-fr@example.fr", Locale::Fr, Role::GymManager),
        ("classes-en@example.com", Locale::En, Role::GymManager),
        ("classes-staff@example.com", Locale::En, Role::GymStaff),
    ] {
        user_with_locale(&app, email, locale, (role, MembershipTarget::Gym(fid, gid))).await;
    }
    let edit = format!("/app/gyms/{g}/classes/{cid}");
    for (email, required, range, saved_name) in [
        (
            "classes-fr@example.fr",
            "obligatoire",
            "doit être entre 1 et 500",
            "Yoga doux",
        ),
        (
            "classes-en@example.com",
            "must not be empty",
            "must be between 1 and 500",
            "Yoga flow",
        ),
    ] {
        let w = web::login(&app, email, &g).await;
        let (s, html) = w.get(&format!("/app/gyms/{g}/classes")).await;
        assert_eq!(s, 200);
        assert!(
            html.contains(&format!("href=\"{edit}\"")),
            "the list links to the edit page"
        );
        let (_, cur) = app.get(&format!("/api/v1/gyms/{g}/classes/{cid}")).await;
        let (s, html) = w.get(&edit).await;
        assert_eq!(s, 200);
        for key in ["name", "start_time", "duration_minutes", "capacity"] {
            let v = match &cur[key] {
                Value::String(x) => x.clone(),
                other => other.to_string(),
            };
            let want = format!("name=\"{key}\" type=");
            let input = html.split(&want).nth(1).unwrap().split('>').next().unwrap();
            assert!(
                input.contains(&format!("value=\"{v}\"")),
                "{key} pre-filled with {v}: {input}"
            );
        }
        let day = cur["weekday"].as_str().unwrap();
        assert!(
            html.contains(&format!("<option value=\"{day}\" selected>")),
            "{html}"
        );
        let (s, _, html) = w
            .post(
                &edit,
                &[
                    ("name", " "),
                    ("coach", "Léa"),
                    ("weekday", "tue"),
                    ("start_time", "19:00"),
                    ("duration_minutes", "45"),
                    ("capacity", "0"),
                ],
            )
            .await;
        assert_eq!(s, 422, "{html}");
        assert!(html.contains(required) && html.contains(range), "{html}");
        assert!(html.contains("value=\"19:00\""), "typed values kept");
        let (_, api) = app.get(&format!("/api/v1/gyms/{g}/classes/{cid}")).await;
        assert_eq!(api, cur, "nothing saved");
        let (s, loc, _) = w
            .post(
                &edit,
                &[
                    ("name", saved_name),
                    ("coach", ""),
                    ("room", "Salle 2"),
                    ("weekday", "thu"),
                    ("start_time", "19:00"),
                    ("duration_minutes", "45"),
                    ("capacity", "10"),
                ],
            )
            .await;
        assert_eq!(
            (s, loc.as_str()),
            (303, format!("/app/gyms/{g}/classes").as_str())
        );
        let (_, api) = app.get(&format!("/api/v1/gyms/{g}/classes/{cid}")).await;
        assert_eq!(api["name"], saved_name);
        assert_eq!(api["weekday"], "thu");
        assert_eq!(api["coach"], Value::Null);
        assert_eq!(
            (api["duration_minutes"].as_i64(), api["capacity"].as_i64()),
            (Some(45), Some(10))
        );
    }
    // A one-off date turns it into a one-off class.
    let w = web::login(&app, "classes-en@example.com", &g).await;
    let (s, _, _) = w
        .post(
            &edit,
            &[
                ("name", "Open day"),
                ("weekday", "thu"),
                ("date", "2030-05-04"),
                ("start_time", "10:00"),
                ("duration_minutes", "90"),
                ("capacity", "40"),
            ],
        )
        .await;
    assert_eq!(s, 303);
    let (_, api) = app.get(&format!("/api/v1/gyms/{g}/classes/{cid}")).await;
    assert_eq!(
        (
            api["date"].as_str(),
            api["weekday"].as_str(),
            api["recurring"].as_bool()
        ),
        (Some("2030-05-04"), None, Some(false))
    );
    // Staff may read the schedule but not edit it; unknown classes are 404.
    let staff = web::login(&app, "classes-staff@example.com", &g).await;
    let (s, _) = staff.get(&edit).await;
    assert_eq!(s, 403);
    let (s, _, _) = staff
        .post(
            &edit,
            &[
                ("name", "Hack"),
                ("start_time", "10:00"),
                ("duration_minutes", "60"),
                ("capacity", "5"),
            ],
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = w
        .get(&format!("/app/gyms/{g}/classes/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(s, 404);
    app.stop().await;
}

// ---------- issue 10: one rule per area ----------

/// Overwrites a gym's stored settings behind the store's back (a corrupt or hand-edited row).
async fn corrupt_settings(app: &TestApp, gym: GymId, settings: &str) {
    match app.db.pg() {
        Some(pg) => {
            sqlx::query("UPDATE gyms SET settings = $1::jsonb WHERE id = $2")
                .bind(settings)
                .bind(uuid::Uuid::from(gym))
                .execute(pg.pool())
                .await
                .unwrap();
        }
        None => {
            let pool = sqlx::SqlitePool::connect(app.db.url()).await.unwrap();
            sqlx::query("UPDATE gyms SET settings = ? WHERE id = ?")
                .bind(settings)
                .bind(gym.to_string())
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

/// A gym whose stored settings no longer validate runs no kiosks (device API 403
/// `gym_misconfigured`, no new pairing codes) instead of running on default limits; its page
/// says so; saving valid settings repairs it.
async fn misconfigured_gyms_run_no_kiosks(backend: Backend) {
    // The settings are corrupted in the database behind the server's back, which a device-token
    // cache would see only after its TTL (`kiosk_token_cache`): this test is about the rule.
    let Some(app) = TestApp::start(backend, &[("JARVIS_KIOSK_TOKEN_CACHE_MS", "0")]).await else {
        return;
    };
    let (f, g) = tenant(&app).await;
    let (fid, gid) = ids(&f, &g);
    let (kid, token) = paired_kiosk(&app, &g, "Hall").await;
    let config = || {
        send(
            app.client
                .get(app.url("/api/v1/kiosk/config"))
                .bearer_auth(&token),
        )
    };
    let (s, _) = config().await;
    assert_eq!(s, 200);
    // A second kiosk gets its code while the gym is fine.
    let (_, k2) = app
        .post(&format!("/api/v1/gyms/{g}/kiosks"), json!({"name": "Door"}))
        .await;
    let (s, code) = app
        .post(
            &format!(
                "/api/v1/gyms/{g}/kiosks/{}/pairing-code",
                k2["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(s, 201, "{code}");
    corrupt_settings(&app, gid, r#"{"voice_session_cap": "lots"}"#).await;
    let (s, body) = config().await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("gym_misconfigured")),
        "{body}"
    );
    let (s, body) = send(
        app.client
            .post(app.url("/api/v1/kiosk/pair"))
            .json(&json!({ "code": code["code"] })),
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("gym_misconfigured")),
        "{body}"
    );
    let (s, body) = app
        .post(
            &format!("/api/v1/gyms/{g}/kiosks/{kid}/pairing-code"),
            json!({}),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (409, Some("gym_misconfigured")),
        "{body}"
    );
    app.create_user(
        "misconfigured-web@example.com",
        Some((Role::GymManager, MembershipTarget::Gym(fid, gid))),
    )
    .await;
    let w = web::login(&app, "misconfigured-web@example.com", &g).await;
    let (s, html) = w.get(&format!("/app/gyms/{g}")).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"gym-misconfigured\""), "{html}");
    let (s, _, html) = w
        .post(&format!("/app/gyms/{g}/kiosks/{kid}/pair"), &[])
        .await;
    assert_eq!(s, 409, "{html}");
    // The super admin saves valid settings: the kiosk runs again.
    let (s, body) = app
        .patch(&format!("/api/v1/gyms/{g}"), json!({"settings": {}}))
        .await;
    assert_eq!(s, 200, "{body}");
    let (s, _) = config().await;
    assert_eq!(s, 200);
    app.stop().await;
}

/// The settings form shows no voice settings; saving it keeps `settings.voice` as stored.
async fn settings_form_keeps_voice_settings(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (f, g) = tenant(&app).await;
    let (fid, gid) = ids(&f, &g);
    let path = format!("/api/v1/gyms/{g}");
    let voice = json!({"storage": "full", "transcript_retention_days": 30, "max_context_turns": 12, "max_call_secs": 900, "idle_timeout_secs": 45});
    let (s, body) = app
        .patch(&path, json!({"settings": {"voice": voice}}))
        .await;
    assert_eq!(s, 200, "{body}");
    app.create_user(
        "voice-web@example.com",
        Some((Role::GymManager, MembershipTarget::Gym(fid, gid))),
    )
    .await;
    let w = web::login(&app, "voice-web@example.com", &g).await;
    let (s, _, html) = w
        .post(
            &format!("/app/gyms/{g}/settings"),
            &[
                ("name", "Lyon"),
                ("timezone", "Europe/Paris"),
                ("locale", "fr"),
                ("persona_name", "Coach"),
                ("voice", "marin"),
                ("tone", "calm"),
                ("voice_session_cap", "3"),
                ("budget", "100.00"),
            ],
        )
        .await;
    assert_eq!(s, 303, "{html}");
    let (_, now) = app.get(&path).await;
    assert_eq!(now["settings"]["persona"]["name"], "Coach");
    assert_eq!(now["settings"]["voice"], voice, "{now}");
    app.stop().await;
}

both_backends!(
    kiosk_refusals_and_visits,
    managers_cannot_change_the_gym_budget,
    concurrent_reviews_one_wins_the_other_gets_409,
    stale_status_forms_are_refused,
    interrupted_imports_are_failed_at_start,
    failed_or_crashed_runs_end_failed,
    import_page_shows_live_progress,
    french_pages_are_french,
    classes_are_edited_on_their_page,
    misconfigured_gyms_run_no_kiosks,
    settings_form_keeps_voice_settings,
);
