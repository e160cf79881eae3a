//! Accounts and security over HTTP, on SQLite and PostgreSQL: the sign-in, MFA, token and session
//! flows, and the attacks the original system was open to (each a regression test).

use crate::common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Backend, MASTER_KEY, PASSWORD, TestApp, link_token, send, totp_code};
use jarvis_app::auth::crypto::MasterKey;
use jarvis_app::auth::keys::{AUDIENCE, Claims, KeyRing};
use jarvis_core::Role;
use jarvis_core::model::MembershipTarget;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

async fn app(b: Backend, overrides: &[(&str, &str)]) -> Option<TestApp> {
    TestApp::start(b, overrides).await
}

/// A franchise with one gym; returns (franchise_id, gym_id).
async fn tenant(app: &TestApp, name: &str) -> (String, String) {
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
    (fid, g["id"].as_str().unwrap().to_string())
}

fn gym_target(f: &str, g: &str) -> MembershipTarget {
    MembershipTarget::Gym(
        f.parse::<uuid::Uuid>().unwrap().into(),
        g.parse::<uuid::Uuid>().unwrap().into(),
    )
}

async fn get_as(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    send(app.req_as(token, Method::GET, path)).await
}

async fn brute_force_hits_lockout(b: Backend) {
    let Some(app) = app(b, &[("JARVIS_LOCKOUT_MAX_FAILURES", "3")]).await else {
        return;
    };
    app.create_user("victim@test.local", None).await;
    for i in 0..3 {
        let (s, body) = app
            .login("victim@test.local", &format!("wrong-password-{i}"))
            .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (401, Some("invalid_credentials"))
        );
    }
    // Locked now: even the right password is refused, with a Retry-After.
    let resp = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": "victim@test.local", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Unknown accounts fail exactly like wrong passwords (no account enumeration).
    let (s, body) = app.login("nobody@test.local", "whatever-password").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (401, Some("invalid_credentials"))
    );
    // Every failure is in the auth events, readable by the super admin.
    let (s, ev) = app.get("/api/v1/auth/events?event=login.failure").await;
    assert_eq!(s, 200, "{ev}");
    assert!(ev["total"].as_u64().unwrap() >= 4, "{ev}");
    let (_, locked) = app.get("/api/v1/auth/events?event=login.locked").await;
    assert!(locked["total"].as_u64().unwrap() >= 1);
    app.stop().await;
}

async fn one_ip_failing_across_accounts_is_locked(b: Backend) {
    // Account lock after 2 failures, IP lock after 4 × 2 = 8 (spread over accounts).
    let Some(app) = app(b, &[("JARVIS_LOCKOUT_MAX_FAILURES", "2")]).await else {
        return;
    };
    app.create_user("good@test.local", None).await;
    for i in 0..8 {
        let (s, _) = app
            .login(&format!("spray{}@test.local", i / 2), &format!("guess-{i}"))
            .await;
        assert_eq!(s, 401, "attempt {i}");
    }
    // This IP is now locked, even for another account with the right password.
    let (s, body) = app.login("good@test.local", PASSWORD).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (429, Some("locked")),
        "{body}"
    );
    app.stop().await;
}

async fn unknown_accounts_fail_in_the_same_time(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    app.create_user("known@test.local", None).await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..4 {
        let t = std::time::Instant::now();
        assert_eq!(
            app.login("known@test.local", &format!("wrong-{i}")).await.0,
            401
        );
        known.push(t.elapsed());
        let t = std::time::Instant::now();
        assert_eq!(
            app.login(&format!("ghost{i}@test.local"), "wrong").await.0,
            401
        );
        unknown.push(t.elapsed());
    }
    known.sort();
    unknown.sort();
    // Medians: an unknown e-mail still pays for a full Argon2 verification (a dummy hash).
    let (k, u) = (known[2], unknown[2]);
    assert!(
        u * 3 >= k,
        "unknown {u:?} vs known {k:?}: the dummy hash is skipped"
    );
    app.stop().await;
}

async fn totp_replay_is_refused(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let secret = app.admin.totp.clone().unwrap();
    let (s, l) = app.login(&app.admin.email, PASSWORD).await;
    assert_eq!(s, 200);
    assert_eq!(l["mfa_required"], true);
    assert_eq!(l["aal"], 1);
    let aal1 = l["access_token"].as_str().unwrap().to_string();
    // The enrolment used the current step; the next one is still inside the skew window.
    let code = totp_code(&secret, 1);
    let (s, v) = send(
        app.req_as(&aal1, Method::POST, "/api/v1/auth/mfa/verify")
            .json(&json!({ "code": code })),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["aal"], 2);
    // Same code again, on a fresh sign-in: refused.
    let (_, l2) = app.login(&app.admin.email, PASSWORD).await;
    let aal1b = l2["access_token"].as_str().unwrap().to_string();
    let (s, v) = send(
        app.req_as(&aal1b, Method::POST, "/api/v1/auth/mfa/verify")
            .json(&json!({ "code": code })),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("invalid_code")),
        "{v}"
    );
    // An older step than the last accepted one is refused too.
    let (s, _) = send(
        app.req_as(&aal1b, Method::POST, "/api/v1/auth/mfa/verify")
            .json(&json!({ "code": totp_code(&secret, 0) })),
    )
    .await;
    assert_eq!(s, 401);
    // Wrong codes never elevate.
    let (s, _) = send(
        app.req_as(&aal1b, Method::POST, "/api/v1/auth/mfa/verify")
            .json(&json!({ "code": "000000" })),
    )
    .await;
    assert_eq!(s, 401);
    app.stop().await;
}

async fn recovery_codes_work_once(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let id = app.create_user("owner@test.local", None).await;
    let (_, l) = app.login("owner@test.local", PASSWORD).await;
    let t = l["access_token"].as_str().unwrap().to_string();
    let (_, e) = send(app.req_as(&t, Method::POST, "/api/v1/auth/mfa/enroll")).await;
    let secret = common::base32_decode(e["secret"].as_str().unwrap());
    assert!(
        e["qr_svg"]
            .as_str()
            .unwrap()
            .starts_with("data:image/svg+xml;base64,")
    );
    let (s, c) = send(
        app.req_as(&t, Method::POST, "/api/v1/auth/mfa/confirm")
            .json(&json!({ "code": totp_code(&secret, 0) })),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let codes: Vec<String> = serde_json::from_value(c["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);
    // Recovery codes and TOTP secrets are not stored in clear.
    let leaks = app
        .db
        .find_text(&[codes[0].as_str(), e["secret"].as_str().unwrap()])
        .await
        .unwrap();
    assert!(leaks.is_empty(), "secrets at rest: {leaks:?}");
    // An enrolled (optional) factor cannot be skipped: AAL1 is refused on data routes.
    let (_, l) = app.login("owner@test.local", PASSWORD).await;
    let t = l["access_token"].as_str().unwrap().to_string();
    let (s, body) = get_as(&app, &t, "/api/v1/gyms").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (403, Some("mfa_required"))
    );
    let (s, _) = send(
        app.req_as(&t, Method::POST, "/api/v1/auth/mfa/verify")
            .json(&json!({ "recovery_code": codes[3].to_uppercase() })),
    )
    .await;
    assert_eq!(s, 200);
    let (_, l) = app.login("owner@test.local", PASSWORD).await;
    let t = l["access_token"].as_str().unwrap().to_string();
    let (s, _) = send(
        app.req_as(&t, Method::POST, "/api/v1/auth/mfa/verify")
            .json(&json!({ "recovery_code": codes[3] })),
    )
    .await;
    assert_eq!(s, 401, "a recovery code works once");
    let (_, me) = get_as(&app, &t, "/api/v1/auth/me").await;
    assert_eq!(me["recovery_codes_left"], 9);
    assert_eq!(me["user"]["id"], id.as_str());
    app.stop().await;
}

async fn refresh_reuse_revokes_the_family(b: Backend) {
    // No grace window: the stolen copy comes back at once.
    let Some(app) = app(b, &[("JARVIS_REFRESH_REUSE_GRACE_SECS", "0")]).await else {
        return;
    };
    let (f, g) = tenant(&app, "Atlas").await;
    let staff = app
        .as_role("staff@test.local", Role::GymStaff, gym_target(&f, &g))
        .await;
    let refresh = |t: String| {
        send(
            app.client
                .post(app.url("/api/v1/auth/refresh"))
                .json(&json!({ "refresh_token": t })),
        )
    };
    let (s, r1) = refresh(staff.refresh.clone()).await;
    assert_eq!(s, 200, "{r1}");
    let r2 = r1["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r2, staff.refresh, "rotated");
    let new_access = r1["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        get_as(&app, &new_access, &format!("/api/v1/gyms/{g}"))
            .await
            .0,
        200
    );
    // The first token comes back (stolen copy): the whole family dies.
    let (s, body) = refresh(staff.refresh.clone()).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (401, Some("refresh_token_reused"))
    );
    let (s, _) = refresh(r2).await;
    assert_eq!(s, 401, "the current token of the family is revoked too");
    let (s, _) = get_as(&app, &new_access, &format!("/api/v1/gyms/{g}")).await;
    assert_eq!(s, 401, "access tokens of the revoked session stop at once");
    let (_, ev) = app.get("/api/v1/auth/events?event=refresh.reuse").await;
    assert_eq!(ev["total"], 1);
    app.stop().await;
}

async fn two_tabs_refreshing_at_once_keep_the_session(b: Backend) {
    // Default grace window (10 s): the same refresh token presented twice at once is two tabs.
    let Some(app) = app(b, &[]).await else { return };
    let id = app.create_user("tabs@test.local", None).await;
    let u = app.sign_in(&id, "tabs@test.local", false).await;
    let req = || {
        send(
            app.client
                .post(app.url("/api/v1/auth/refresh"))
                .json(&json!({ "refresh_token": u.refresh })),
        )
    };
    let ((s1, a), (s2, b2)) = tokio::join!(req(), req());
    assert_eq!((s1, s2), (200, 200), "{a} {b2}");
    for t in [&a, &b2] {
        let access = t["access_token"].as_str().unwrap();
        assert_eq!(get_as(&app, access, "/api/v1/auth/me").await.0, 200);
    }
    app.stop().await;
}

fn forge(header: Value, claims: Value, sig: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        sig
    )
}

async fn forged_and_stale_jwts_are_refused(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let path = "/api/v1/franchises";
    assert_eq!(app.get(path).await.0, 200);
    let parts: Vec<&str> = app.token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let kid = header["kid"].as_str().unwrap().to_string();
    assert_eq!(claims["aal"], 2);

    let mut attacks: Vec<(&str, String)> = Vec::new();
    // alg: none, with and without a trailing signature.
    attacks.push((
        "alg none",
        forge(json!({"alg": "none", "typ": "JWT"}), claims.clone(), ""),
    ));
    attacks.push((
        "alg none + kid",
        forge(json!({"alg": "none", "kid": kid}), claims.clone(), parts[2]),
    ));
    // HS256 "signed" with the RSA public key from the JWKS (the classic key-confusion attack).
    let (_, jwks) = send(app.client.get(app.url("/.well-known/jwks.json"))).await;
    let n = jwks["keys"][0]["n"].as_str().unwrap().to_string();
    assert_eq!(jwks["keys"][0]["kid"], kid.as_str());
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.kid = Some(kid.clone());
    let hs = jsonwebtoken::encode(
        &h,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(n.as_bytes()),
    )
    .unwrap();
    attacks.push(("HS256 with public key", hs));
    // Tampered payload with the original signature.
    let mut more = claims.clone();
    more["sub"] = json!(uuid::Uuid::now_v7().to_string());
    attacks.push(("tampered", forge(header.clone(), more, parts[2])));
    // Properly signed by the server's own key, but expired / wrong kid / wrong audience / wrong issuer.
    let ring = KeyRing::open(
        app.db.store(),
        MasterKey::parse(MASTER_KEY).unwrap(),
        "jarvis".into(),
        Duration::from_secs(900),
    )
    .await
    .unwrap();
    let base: Claims = serde_json::from_value(claims.clone()).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let expired = ring
        .sign(&Claims {
            exp: now - 120,
            iat: now - 1000,
            ..base.clone()
        })
        .await
        .unwrap();
    attacks.push(("expired", expired));
    let wrong_aud = ring
        .sign(&Claims {
            aud: "some-other-api".into(),
            ..base.clone()
        })
        .await
        .unwrap();
    attacks.push(("wrong audience", wrong_aud));
    let wrong_iss = ring
        .sign(&Claims {
            iss: "https://evil.example".into(),
            ..base.clone()
        })
        .await
        .unwrap();
    attacks.push(("wrong issuer", wrong_iss));
    let good = ring.sign(&base).await.unwrap();
    let gp: Vec<&str> = good.split('.').collect();
    let mut wrong_kid_header = header.clone();
    wrong_kid_header["kid"] = json!("not-a-key");
    let wrong_kid = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(wrong_kid_header.to_string()),
        gp[1],
        gp[2]
    );
    attacks.push(("wrong kid", wrong_kid));
    let mut no_kid_header = header.clone();
    no_kid_header.as_object_mut().unwrap().remove("kid");
    attacks.push((
        "no kid",
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(no_kid_header.to_string()),
            gp[1],
            gp[2]
        ),
    ));
    attacks.push(("garbage", "not.a.jwt".into()));
    for (name, token) in attacks {
        let (s, body) = get_as(&app, &token, path).await;
        assert_eq!(s, 401, "{name} must be refused: {body}");
    }
    // The control: a token the server signed with correct claims works.
    assert_eq!(get_as(&app, &good, path).await.0, 200);
    app.stop().await;
}

async fn aal1_super_admin_reaches_only_mfa_endpoints(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let (_, g) = tenant(&app, "Atlas").await;
    app.create_user(
        "root2@test.local",
        Some((Role::SuperAdmin, MembershipTarget::Platform)),
    )
    .await;
    let (s, l) = app.login("root2@test.local", PASSWORD).await;
    assert_eq!(s, 200);
    assert_eq!(l["mfa_enrollment_required"], true);
    let t = l["access_token"].as_str().unwrap().to_string();
    for (m, p) in [
        (Method::GET, "/api/v1/franchises".to_string()),
        (Method::GET, format!("/api/v1/gyms/{g}")),
        (
            Method::GET,
            format!("/api/v1/gyms/{}", uuid::Uuid::now_v7()),
        ),
        (Method::GET, format!("/api/v1/gyms/{g}/members")),
        (Method::GET, "/api/v1/audit".to_string()),
        (Method::GET, "/api/v1/invitations".to_string()),
        (Method::GET, "/api/v1/auth/sessions".to_string()),
        (Method::POST, "/api/v1/franchises".to_string()),
    ] {
        let (s, body) = send(app.req_as(&t, m.clone(), &p).json(&json!({ "name": "X" }))).await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (403, Some("mfa_required")),
            "{m} {p}: {body}"
        );
    }
    // What it may do: see itself, enrol, log out.
    assert_eq!(get_as(&app, &t, "/api/v1/auth/me").await.0, 200);
    assert_eq!(
        send(app.req_as(&t, Method::POST, "/api/v1/auth/mfa/enroll"))
            .await
            .0,
        200
    );
    assert_eq!(
        send(app.req_as(&t, Method::POST, "/api/v1/auth/logout"))
            .await
            .0,
        204
    );
    assert_eq!(
        get_as(&app, &t, "/api/v1/auth/me").await.0,
        401,
        "logged out"
    );
    app.stop().await;
}

async fn sessions_are_listed_and_revocable(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let (f, g) = tenant(&app, "Atlas").await;
    let a = app
        .as_role("mgr@test.local", Role::GymManager, gym_target(&f, &g))
        .await;
    let b2 = app.sign_in(&a.id, &a.email, false).await;
    let (s, list) = get_as(&app, &a.token, "/api/v1/auth/sessions").await;
    assert_eq!(s, 200, "{list}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|x| x["current"] == true).count(), 1);
    let other = list.iter().find(|x| x["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        send(app.req_as(
            &a.token,
            Method::DELETE,
            &format!("/api/v1/auth/sessions/{other}")
        ))
        .await
        .0,
        204
    );
    assert_eq!(get_as(&app, &b2.token, "/api/v1/auth/me").await.0, 401);
    // Someone else's session id is 404, not revocable.
    let admin_sessions = app.get("/api/v1/auth/sessions").await.1;
    let admin_sid = admin_sessions[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        send(app.req_as(
            &a.token,
            Method::DELETE,
            &format!("/api/v1/auth/sessions/{admin_sid}")
        ))
        .await
        .0,
        404
    );
    // Password change ends the other sessions but keeps this one.
    let c = app.sign_in(&a.id, &a.email, false).await;
    let (s, body) = send(
        app.req_as(&a.token, Method::POST, "/api/v1/auth/password")
            .json(&json!({ "current_password": PASSWORD, "new_password": "password1234" })),
    )
    .await;
    assert_eq!(s, 422, "common passwords are refused: {body}");
    let (s, _) = send(
        app.req_as(&a.token, Method::POST, "/api/v1/auth/password")
            .json(&json!({ "current_password": PASSWORD, "new_password": "a much better passphrase" })),
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(get_as(&app, &c.token, "/api/v1/auth/me").await.0, 401);
    assert_eq!(get_as(&app, &a.token, "/api/v1/auth/me").await.0, 200);
    assert_eq!(app.login(&a.email, PASSWORD).await.0, 401);
    assert_eq!(app.login(&a.email, "a much better passphrase").await.0, 200);
    // Logout everywhere.
    assert_eq!(
        send(app.req_as(&a.token, Method::POST, "/api/v1/auth/logout?all=true"))
            .await
            .0,
        204
    );
    assert_eq!(get_as(&app, &a.token, "/api/v1/auth/me").await.0, 401);
    app.stop().await;
}

async fn password_reset_is_single_use_and_ends_sessions(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let id = app.create_user("forgetful@test.local", None).await;
    let u = app.sign_in(&id, "forgetful@test.local", false).await;
    let (s, _) = send(
        app.client
            .post(app.url("/api/v1/auth/password/reset"))
            .json(&json!({ "email": "forgetful@test.local" })),
    )
    .await;
    assert_eq!(s, 202);
    let (s, _) = send(
        app.client
            .post(app.url("/api/v1/auth/password/reset"))
            .json(&json!({ "email": "unknown@test.local" })),
    )
    .await;
    assert_eq!(s, 202, "same answer for unknown accounts");
    let mails = app.mails_to("forgetful@test.local", 1).await;
    assert_eq!(mails.len(), 1);
    let token = link_token(&mails[0].text);
    // Only the hash is stored (and the e-mail is sealed).
    let hits = app.db.find_text(&[token.as_str()]).await.unwrap();
    assert!(hits.is_empty(), "{hits:?}");
    let confirm = |pw: &str| {
        send(
            app.client
                .post(app.url("/api/v1/auth/password/reset/confirm"))
                .json(&json!({ "token": token, "new_password": pw })),
        )
    };
    assert_eq!(confirm("short").await.0, 422);
    assert_eq!(confirm("brand new passphrase 42").await.0, 204);
    assert_eq!(confirm("another new passphrase").await.0, 400, "single use");
    assert_eq!(
        get_as(&app, &u.token, "/api/v1/auth/me").await.0,
        401,
        "sessions ended"
    );
    assert_eq!(
        app.login("forgetful@test.local", "brand new passphrase 42")
            .await
            .0,
        200
    );
    app.stop().await;
}

async fn invitations_need_login_scope_and_escape_html(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let (f1, g1) = tenant(&app, "Atlas").await;
    let (f2, g2) = tenant(&app, "Zenith").await;
    let mgr = app
        .as_role("mgr1@test.local", Role::GymManager, gym_target(&f1, &g1))
        .await;
    let mgr2 = app
        .as_role("mgr2@test.local", Role::GymManager, gym_target(&f2, &g2))
        .await;
    let evil = "<script>alert(1)</script> & \"Bob\"";
    let (s, inv) = send(
        app.req_as(&mgr.token, Method::POST, "/api/v1/invitations")
            .json(&json!({ "email": "New.Staff@test.local", "display_name": evil, "role": "gym_staff", "gym_id": g1 })),
    )
    .await;
    assert_eq!(s, 201, "{inv}");
    let id = inv["id"].as_str().unwrap().to_string();
    // A manager may not invite an owner, nor into another gym (404: foreign ids do not leak).
    let (s, _) = send(app.req_as(&mgr.token, Method::POST, "/api/v1/invitations")
        .json(&json!({ "email": "x@test.local", "display_name": "X", "role": "franchise_owner", "franchise_id": f1 }))).await;
    assert_eq!(s, 403);
    let (s, _) = send(app.req_as(&mgr.token, Method::POST, "/api/v1/invitations")
        .json(&json!({ "email": "x@test.local", "display_name": "X", "role": "gym_staff", "gym_id": g2 }))).await;
    assert_eq!(s, 404);
    // The original hole: delete/resend without login.
    assert_eq!(
        send(
            app.client
                .delete(app.url(&format!("/api/v1/invitations/{id}")))
        )
        .await
        .0,
        401
    );
    assert_eq!(
        send(
            app.client
                .post(app.url(&format!("/api/v1/invitations/{id}/resend")))
        )
        .await
        .0,
        401
    );
    // Another tenant's manager: 404.
    assert_eq!(
        send(app.req_as(
            &mgr2.token,
            Method::DELETE,
            &format!("/api/v1/invitations/{id}")
        ))
        .await
        .0,
        404
    );
    assert_eq!(
        send(app.req_as(
            &mgr2.token,
            Method::POST,
            &format!("/api/v1/invitations/{id}/resend")
        ))
        .await
        .0,
        404
    );
    let (_, list2) = get_as(&app, &mgr2.token, "/api/v1/invitations").await;
    assert_eq!(list2["total"], 0);
    // The e-mail escapes the name in HTML.
    let mails = app.mails_to("new.staff@test.local", 1).await;
    assert_eq!(mails.len(), 1);
    assert!(!mails[0].html.contains("<script>"), "{}", mails[0].html);
    assert!(
        mails[0]
            .html
            .contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Bob&quot;")
    );
    // Resend replaces the token: the first link stops working.
    let first = link_token(&mails[0].text);
    assert_eq!(
        send(app.req_as(
            &mgr.token,
            Method::POST,
            &format!("/api/v1/invitations/{id}/resend")
        ))
        .await
        .0,
        200
    );
    let accept = |t: &str| {
        send(
            app.client
                .post(app.url("/api/v1/invitations/accept"))
                .json(&json!({ "token": t, "password": "staff passphrase 2026" })),
        )
    };
    assert_eq!(accept(&first).await.0, 400);
    let mails = app.mails_to("new.staff@test.local", 2).await;
    let second = link_token(&mails[0].text);
    let (s, user) = accept(&second).await;
    assert_eq!(s, 200, "{user}");
    assert_eq!(accept(&second).await.0, 400, "single use");
    let (s, l) = app
        .login("new.staff@test.local", "staff passphrase 2026")
        .await;
    assert_eq!(s, 200);
    let t = l["access_token"].as_str().unwrap();
    assert_eq!(get_as(&app, t, &format!("/api/v1/gyms/{g1}")).await.0, 200);
    assert_eq!(get_as(&app, t, &format!("/api/v1/gyms/{g2}")).await.0, 404);
    // The audit log has the invitation's life.
    let (_, audit) = app.get("/api/v1/audit?action=invitation.accept").await;
    assert_eq!(audit["total"], 1);
    app.stop().await;
}

async fn spoofed_forwarded_for_does_not_dodge_limits(b: Backend) {
    let Some(app) = app(b, &[("JARVIS_RATE_LIMIT_AUTH_PER_MIN", "3")]).await else {
        return;
    };
    let mut statuses = Vec::new();
    for i in 0..5 {
        let (s, _) = send(
            app.client
                .post(app.url("/api/v1/auth/login"))
                .header("x-forwarded-for", format!("203.0.113.{i}"))
                .json(&json!({ "email": "x@test.local", "password": "wrong-password" })),
        )
        .await;
        statuses.push(s);
    }
    assert_eq!(&statuses[3..], &[429, 429], "{statuses:?}");
    // And the audit trail records the socket address, not the forged header.
    let (_, ev) = app.get("/api/v1/auth/events?event=login.failure").await;
    assert!(
        ev["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["ip"] == "127.0.0.1"),
        "{ev}"
    );
    app.stop().await;

    // Behind a configured proxy, the forwarded address is the client.
    let Some(app) = app_proxy(b).await else {
        return;
    };
    let (s, _) = send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", "198.51.100.7")
            .json(&json!({ "email": "x@test.local", "password": "wrong-password" })),
    )
    .await;
    assert_eq!(s, 401);
    let (_, ev) = app.get("/api/v1/auth/events?event=login.failure").await;
    assert_eq!(ev["items"][0]["ip"], "198.51.100.7");
    app.stop().await;
}

/// Some proxies (HAProxy's `option forwardfor`) add their own `X-Forwarded-For` line instead of
/// appending to the client's. The client's line comes first, so reading only the first header
/// would let the client pick its rate-limit key and audit IP; all lines form one list.
async fn forwarded_for_split_over_header_lines_is_one_list(b: Backend) {
    let Some(app) = app(
        b,
        &[
            ("JARVIS_TRUSTED_PROXIES", "127.0.0.1/32"),
            ("JARVIS_RATE_LIMIT_AUTH_PER_MIN", "3"),
        ],
    )
    .await
    else {
        return;
    };
    let mut statuses = Vec::new();
    for i in 0..5 {
        let (s, _) = send(
            app.client
                .post(app.url("/api/v1/auth/login"))
                .header("x-forwarded-for", format!("203.0.113.{i}"))
                .header("x-forwarded-for", "198.51.100.9")
                .json(&json!({ "email": "x@test.local", "password": "wrong-password" })),
        )
        .await;
        statuses.push(s);
    }
    assert_eq!(&statuses[3..], &[429, 429], "{statuses:?}");
    let (_, ev) = app.get("/api/v1/auth/events?event=login.failure").await;
    assert!(
        ev["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["ip"] == "198.51.100.9"),
        "{ev}"
    );
    app.stop().await;
}

async fn app_proxy(b: Backend) -> Option<TestApp> {
    TestApp::start(b, &[("JARVIS_TRUSTED_PROXIES", "127.0.0.1/32")]).await
}

/// The measured client gets budgets of its own: a fresh address (through a trusted proxy) and a
/// fresh account, so the harness's sign-in (which spends the loopback address's budget) cannot
/// change the count. A bucket refills one token every 12 s at 5/min, so the requests go out as
/// one concurrent burst (the limiter decides before any database work, so a slow database cannot
/// spread the decisions over a refill) and the count is still checked against the time taken.
async fn api_rate_limit_answers_429_with_retry_after(b: Backend) {
    let Some(app) = app(
        b,
        &[
            ("JARVIS_RATE_LIMIT_API_PER_MIN", "5"),
            ("JARVIS_TRUSTED_PROXIES", "127.0.0.1/32"),
        ],
    )
    .await
    else {
        return;
    };
    app.create_user("limited@test.local", None).await;
    let (s, l) = send(
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", "198.51.100.10")
            .json(&json!({ "email": "limited@test.local", "password": PASSWORD })),
    )
    .await;
    assert_eq!(s, 200, "{l}");
    let token = l["access_token"].as_str().unwrap().to_string();
    let started = std::time::Instant::now();
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let rb = app
            .req_as(&token, Method::GET, "/api/v1/auth/me")
            .header("x-forwarded-for", "198.51.100.20");
        burst.spawn(async move { rb.send().await.unwrap() });
    }
    let mut admitted = 0u64;
    let mut limited = Vec::new();
    while let Some(resp) = burst.join_next().await {
        let resp = resp.unwrap();
        match resp.status().as_u16() {
            429 => limited.push(resp),
            200 => admitted += 1,
            other => panic!("unexpected {other}"),
        }
    }
    let refilled = started.elapsed().as_secs() / 12;
    assert!(
        (5..=5 + refilled).contains(&admitted),
        "{admitted} admitted by a budget of 5 (+{refilled} refilled)"
    );
    let resp = limited.pop().expect("the limit is reached");
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry), "retry-after {retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(body["error"]["details"]["retry_after_secs"], retry);
    app.stop().await;
}

async fn jwks_and_key_rotation(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let (_, jwks) = send(app.client.get(app.url("/.well-known/jwks.json"))).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
    assert!(jwks["keys"][0].get("d").is_none(), "no private parts");
    // Rotate (as `jarvis keys rotate` does): old tokens keep working, new ones use the new kid.
    let master = MasterKey::parse(MASTER_KEY).unwrap();
    let kid =
        jarvis_app::auth::keys::rotate(&app.db.store(), &master, &jarvis_core::model::Actor::cli())
            .await
            .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        app.get("/api/v1/franchises").await.0,
        200,
        "old key still verifies"
    );
    // Private keys are sealed at rest.
    let rows = app
        .db
        .store()
        .signing_keys(time::OffsetDateTime::now_utc() - Duration::from_secs(3600))
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.private_key_enc.starts_with("v1.")));
    let _ = AUDIENCE;
    let _ = kid;
    app.stop().await;
}

// ---- Dashboard (cookie) ----

use crate::web::{client as no_redirect, hidden};

fn set_cookies(resp: &reqwest::Response) -> Vec<(String, String)> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Fetches the login page; returns (csrf cookie, csrf field).
async fn login_page(app: &TestApp, c: &reqwest::Client) -> (String, String) {
    let resp = c.get(app.url("/app/login?next=/app")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let cookie = set_cookies(&resp)
        .into_iter()
        .find(|(k, _)| k == "jarvis_csrf")
        .unwrap()
        .1;
    let html = resp.text().await.unwrap();
    (cookie, hidden(&html, "csrf"))
}

async fn dashboard_login_csrf_fixation_and_open_redirect(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let (f, g) = tenant(&app, "Atlas").await;
    app.create_user(
        "web@test.local",
        Some((Role::GymManager, gym_target(&f, &g))),
    )
    .await;
    let c = no_redirect();
    let (cookie, csrf) = login_page(&app, &c).await;
    let form = |csrf: &str, next: &str| {
        format!(
            "email=web%40test.local&password={}&next={}&csrf={csrf}",
            PASSWORD.replace('-', "%2D"),
            next
        )
    };
    let post = |body: String, extra: Vec<(&'static str, String)>| {
        let mut rb = c
            .post(app.url("/app/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "cookie",
                format!("jarvis_csrf={cookie}; jarvis_session=attacker-fixed-token"),
            );
        for (k, v) in extra {
            rb = rb.header(k, v);
        }
        rb.body(body).send()
    };
    let same = || vec![("sec-fetch-site", "same-origin".to_string())];
    // No CSRF token: refused.
    let r = post(
        format!("email=web%40test.local&password={PASSWORD}"),
        same(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    // Wrong token: refused.
    let r = post(form("0123456789abcdef0123456789abcdef", "/app"), same())
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Right token but a cross-site request (Fetch Metadata) or a foreign Origin: refused.
    let r = post(
        form(&csrf, "/app"),
        vec![("sec-fetch-site", "cross-site".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let r = post(
        form(&csrf, "/app"),
        vec![("origin", "https://evil.example".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    // Open redirect attempts land on /app.
    for evil in [
        "%2F%2Fevil.example",
        "https%3A%2F%2Fevil.example",
        "%2F%5Cevil.example",
    ] {
        let r = post(
            form(&csrf, evil),
            vec![("sec-fetch-site", "same-origin".into())],
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/app", "next={evil}");
    }
    // Session fixation: the attacker's pre-set cookie is never adopted; a fresh one is issued.
    // (This browser sends `Origin` only.)
    let r = post(
        form(&csrf, "%2Fapp%2Fgyms"),
        vec![("origin", app.base.clone())],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/app/gyms");
    let set = set_cookies(&r);
    let (_, session) = set
        .iter()
        .find(|(k, _)| k == "jarvis_session")
        .unwrap()
        .clone();
    assert_ne!(session, "attacker-fixed-token");
    let raw = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Lax"),
        "{raw}"
    );
    let page = c
        .get(app.url("/app"))
        .header("cookie", "jarvis_session=attacker-fixed-token")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303, "the fixed token is not a session");
    let page = c
        .get(app.url("/app"))
        .header("cookie", format!("jarvis_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("web@test.local"));
    // Logout needs the CSRF token too, then the cookie is dead.
    let token = hidden(&html, "csrf");
    let r = c
        .post(app.url("/app/logout"))
        .header("cookie", format!("jarvis_session={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = c
        .post(app.url("/app/logout"))
        .header("cookie", format!("jarvis_session={session}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = c
        .get(app.url("/app"))
        .header("cookie", format!("jarvis_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    app.stop().await;
}

async fn dashboard_mfa_is_enforced_and_rotates_the_cookie(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let c = no_redirect();
    let (cookie, csrf) = login_page(&app, &c).await;
    let r = c
        .post(app.url("/app/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header("cookie", format!("jarvis_csrf={cookie}"))
        .body(format!(
            "email=admin%40test.local&password={PASSWORD}&next=%2Fapp&csrf={csrf}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/app/mfa?next=/app");
    let s1 = set_cookies(&r)
        .into_iter()
        .find(|(k, _)| k == "jarvis_session")
        .unwrap()
        .1;
    // AAL1: every dashboard page sends to MFA; the API does not take the cookie at all.
    let page = c
        .get(app.url("/app"))
        .header("cookie", format!("jarvis_session={s1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert!(
        page.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/app/mfa")
    );
    let api = c
        .get(app.url("/api/v1/franchises"))
        .header("cookie", format!("jarvis_session={s1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 401);
    let mfa = c
        .get(app.url("/app/mfa?next=/app"))
        .header("cookie", format!("jarvis_session={s1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(mfa.status(), 200);
    let html = mfa.text().await.unwrap();
    let token = hidden(&html, "csrf");
    let code = totp_code(app.admin.totp.as_ref().unwrap(), 1);
    let r = c
        .post(app.url("/app/mfa"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("jarvis_session={s1}"))
        .body(format!("code={code}&next=%2Fapp&csrf={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let s2 = set_cookies(&r)
        .into_iter()
        .find(|(k, _)| k == "jarvis_session")
        .unwrap()
        .1;
    assert_ne!(s1, s2, "privilege change issues a new session token");
    let old = c
        .get(app.url("/app"))
        .header("cookie", format!("jarvis_session={s1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 303, "the pre-MFA token is dead");
    let page = c
        .get(app.url("/app"))
        .header("cookie", format!("jarvis_session={s2}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // The security page lists sessions and the sign-in log, and ends another session.
    assert_eq!(
        app.login("admin@test.local", "wrong-password-x").await.0,
        401
    );
    let all = c
        .get(app.url("/app/security"))
        .header("cookie", format!("jarvis_session={s2}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(all.contains("<td>login.failure</td>"), "{all}");
    let sec = c
        .get(app.url("/app/security?event=login.success"))
        .header("cookie", format!("jarvis_session={s2}"))
        .send()
        .await
        .unwrap();
    assert_eq!(sec.status(), 200);
    let html = sec.text().await.unwrap();
    assert!(
        html.contains("Sign-in and security log") && html.contains("login.success"),
        "{html}"
    );
    assert!(!html.contains("<td>login.failure</td>"), "filtered");
    let audit = c
        .get(app.url("/app/security?action=key.rotate"))
        .header("cookie", format!("jarvis_session={s2}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        audit.contains("Audit log") && audit.contains("<td>key.rotate</td>"),
        "{audit}"
    );
    assert!(!audit.contains("<td>mfa.enroll</td>"), "filtered by action");
    let (_, api_sessions) = app.get("/api/v1/auth/sessions").await;
    let api_sid = api_sessions
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let token = hidden(&html, "csrf");
    let r = c
        .post(app.url(&format!("/app/security/sessions/{api_sid}/revoke")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("jarvis_session={s2}"))
        .body(format!("csrf={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.get("/api/v1/franchises").await.0,
        401,
        "that API session ended"
    );
    // French and English pages.
    let fr = c
        .get(app.url("/app/login?lang=fr"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(fr.contains("Mot de passe") && fr.contains("lang=\"fr\""));
    let en = c
        .get(app.url("/app/login?lang=en"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Password") && en.contains("lang=\"en\""));
    app.stop().await;
}

async fn behind_tls_the_cookie_is_host_prefixed_and_secure(b: Backend) {
    let Some(app) = app(b, &[("JARVIS_PUBLIC_URL", "https://jarvis.example.com")]).await else {
        return;
    };
    let c = no_redirect();
    let resp = c.get(app.url("/app/login")).send().await.unwrap();
    let raw: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let csrf_cookie = raw
        .iter()
        .find(|c| c.starts_with("__Host-jarvis_csrf="))
        .unwrap();
    assert!(
        csrf_cookie.contains("; Secure") && csrf_cookie.contains("Path=/"),
        "{csrf_cookie}"
    );
    let cookie_val = csrf_cookie.split(';').next().unwrap().to_string();
    let html = resp.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    let r = c
        .post(app.url("/app/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie_val)
        .header("origin", "https://jarvis.example.com")
        .body(format!(
            "email=admin%40test.local&password={PASSWORD}&csrf={csrf}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("__Host-jarvis_session="))
        .unwrap();
    assert!(
        session.contains("HttpOnly")
            && session.contains("Secure")
            && session.contains("SameSite=Lax"),
        "{session}"
    );
    // Access tokens name the public URL as issuer.
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(app.token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], "https://jarvis.example.com");
    app.stop().await;
}

/// GETs a sign-in form page; returns (csrf cookie pair, csrf field, html).
async fn form_page(app: &TestApp, c: &reqwest::Client, path: &str) -> (String, String, String) {
    let resp = c.get(app.url(path)).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{path}");
    let cookie = set_cookies(&resp)
        .into_iter()
        .find(|(k, _)| k == "jarvis_csrf")
        .map(|(k, v)| format!("{k}={v}"))
        .unwrap();
    let html = resp.text().await.unwrap();
    let csrf = hidden(&html, "csrf");
    (cookie, csrf, html)
}

async fn dashboard_reset_and_invitation_pages(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let (f, g) = tenant(&app, "Atlas").await;
    app.create_user("web.reset@test.local", None).await;
    let c = no_redirect();
    let post = |path: &'static str, cookie: String, body: String| {
        c.post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin")
            .header("cookie", cookie)
            .body(body)
            .send()
    };
    // Reset: request, e-mailed link, new password, sign in with it.
    let (cookie, csrf, _) = form_page(&app, &c, "/app/reset?lang=en").await;
    let r = post(
        "/app/reset",
        cookie.clone(),
        format!("email=web.reset%40test.local&csrf={csrf}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("If an account exists"));
    let mails = app.mails_to("web.reset@test.local", 1).await;
    let token = link_token(&mails[0].text);
    let (cookie, csrf, html) = form_page(&app, &c, &format!("/app/reset?token={token}")).await;
    assert!(html.contains("name=\"password\""));
    let r = post(
        "/app/reset",
        cookie.clone(),
        format!("token={token}&password=short&csrf={csrf}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422, "weak password refused on the page");
    let r = post(
        "/app/reset",
        cookie.clone(),
        format!("token={token}&password=a+fresh+passphrase+77&csrf={csrf}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.login("web.reset@test.local", "a fresh passphrase 77")
            .await
            .0,
        200
    );
    let r = post(
        "/app/reset",
        cookie,
        format!("token={token}&password=another+passphrase+1&csrf={csrf}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400, "the link works once");
    // Invitation: created over the API, accepted on the page, then the new user signs in.
    let (s, _) = app
        .post("/api/v1/invitations", json!({ "email": "invitee@test.local", "display_name": "Invitee", "role": "gym_staff", "gym_id": g }))
        .await;
    assert_eq!(s, 201);
    let mails = app.mails_to("invitee@test.local", 1).await;
    let token = link_token(&mails[0].text);
    let (cookie, csrf, html) =
        form_page(&app, &c, &format!("/app/invitations/accept?token={token}")).await;
    assert!(html.contains("invitee@test.local"));
    let r = post(
        "/app/invitations/accept",
        cookie.clone(),
        format!("token={token}&password=welcome+aboard+2026&csrf={csrf}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let (s, l) = app.login("invitee@test.local", "welcome aboard 2026").await;
    assert_eq!(s, 200);
    let t = l["access_token"].as_str().unwrap();
    assert_eq!(get_as(&app, t, &format!("/api/v1/gyms/{g}")).await.0, 200);
    let _ = f;
    let html = c
        .get(app.url(&format!("/app/invitations/accept?token={token}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("invalid, expired or already used"),
        "used link: {html}"
    );
    app.stop().await;
}

// ---- Secrets at rest and in logs ----

/// Every form a token takes in an e-mail body: as is, URL-encoded and HTML-escaped.
fn token_forms(token: &str) -> Vec<String> {
    let url: String = token
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let html = jarvis_app::accounts::escape_html(token);
    vec![token.to_string(), url, html]
}

async fn outbox_holds_no_readable_token_before_or_after_sending(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let (_, g) = tenant(&app, "Atlas").await;
    app.create_user("sealed.reset@test.local", None).await;
    let (s, _) = send(
        app.client
            .post(app.url("/api/v1/auth/password/reset"))
            .json(&json!({ "email": "sealed.reset@test.local" })),
    )
    .await;
    assert_eq!(s, 202);
    let (s, _) = app
        .post("/api/v1/invitations", json!({ "email": "sealed.invitee@test.local", "display_name": "Invitee", "role": "gym_staff", "gym_id": g }))
        .await;
    assert_eq!(s, 201);
    let reset = app.mails_to("sealed.reset@test.local", 1).await.remove(0);
    let invite = app.mails_to("sealed.invitee@test.local", 1).await.remove(0);
    let tokens = [link_token(&reset.text), link_token(&invite.text)];
    let mut markers = Vec::new();
    for t in &tokens {
        assert!(t.len() >= 43, "{t}");
        // The token appears in both bodies (HTML escapes the link).
        assert!(reset.html.contains(t.as_str()) || invite.html.contains(t.as_str()));
        markers.extend(token_forms(t));
    }
    let markers: Vec<&str> = markers.iter().map(String::as_str).collect();
    // Queued: every column of every table, read raw, holds no readable token.
    let hits = app.db.find_text(&markers).await.unwrap();
    assert!(hits.is_empty(), "readable before sending: {hits:?}");
    let queued = app
        .db
        .store()
        .emails_to("sealed.reset@test.local", 5)
        .await
        .unwrap();
    assert!(queued[0].body_text.starts_with("v1.") && queued[0].body_html.starts_with("v1."));
    // Sent (log transport): the bodies are wiped, the metadata stays.
    let master = MasterKey::parse(MASTER_KEY).unwrap();
    let sent = jarvis_app::outbox::deliver(
        app.db.store().as_ref(),
        &master,
        &jarvis_app::mailer::Mailer::Log,
    )
    .await
    .sent;
    assert_eq!(sent, 2);
    let hits = app.db.find_text(&markers).await.unwrap();
    assert!(hits.is_empty(), "readable after sending: {hits:?}");
    for (address, kind) in [
        ("sealed.reset@test.local", "password_reset"),
        ("sealed.invitee@test.local", "invitation"),
    ] {
        let rows = app.db.store().emails_to(address, 5).await.unwrap();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!((r.body_text.as_str(), r.body_html.as_str()), ("", ""));
        assert_eq!((r.to_address.as_str(), r.kind.as_str()), (address, kind));
        assert!(r.sent_at.is_some() && !r.subject.is_empty());
    }
    // Only the e-mail copies are gone: the links still work.
    let (s, _) = send(
        app.client
            .post(app.url("/api/v1/auth/password/reset/confirm"))
            .json(&json!({ "token": tokens[0], "new_password": "brand new passphrase 42" })),
    )
    .await;
    assert_eq!(s, 204);
    let (s, _) = send(
        app.client
            .post(app.url("/api/v1/invitations/accept"))
            .json(&json!({ "token": tokens[1], "password": "staff passphrase 2026" })),
    )
    .await;
    assert_eq!(s, 200);
    app.stop().await;
}

/// A raw connection holding the locks a reset lookup or write would wait for.
enum DbLock {
    Pg(sqlx::PgConnection),
    Lite(sqlx::SqliteConnection),
}

impl DbLock {
    async fn take(app: &TestApp) -> DbLock {
        use sqlx::Connection;
        if app.db.pg().is_some() {
            let mut c = sqlx::PgConnection::connect(app.db.url()).await.unwrap();
            sqlx::raw_sql("BEGIN; LOCK TABLE users, password_resets, email_outbox, auth_events IN ACCESS EXCLUSIVE MODE")
                .execute(&mut c)
                .await
                .unwrap();
            DbLock::Pg(c)
        } else {
            // WAL lets readers through; every write waits.
            let mut c = sqlx::SqliteConnection::connect(app.db.url()).await.unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE")
                .execute(&mut c)
                .await
                .unwrap();
            DbLock::Lite(c)
        }
    }

    async fn count(&mut self, table: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        match self {
            DbLock::Pg(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
            DbLock::Lite(c) => sqlx::query_scalar(sql).fetch_one(c).await.unwrap(),
        }
    }

    async fn release(self) {
        match self {
            DbLock::Pg(mut c) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut c).await.unwrap();
            }
            DbLock::Lite(mut c) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut c).await.unwrap();
            }
        }
    }
}

/// The reset worker runs under the supervisor: resets requested just before shutdown, still
/// queued when it begins (the database holds the worker up), are all sent before shutdown
/// returns (a detached worker was cut off with the process).
async fn resets_requested_just_before_shutdown_are_still_sent(b: Backend) {
    let Some(mut app) = app(b, &[]).await else {
        return;
    };
    let people: Vec<String> = (0..3)
        .map(|i| format!("late.reset{i}@test.local"))
        .collect();
    for p in &people {
        app.create_user(p, None).await;
    }
    let lock = DbLock::take(&app).await;
    for p in &people {
        let (s, _) = send(
            app.client
                .post(app.url("/api/v1/auth/password/reset"))
                .json(&json!({ "email": p })),
        )
        .await;
        assert_eq!(s, 202);
    }
    let server = app.server.take().unwrap();
    let stopping = tokio::spawn(server.shutdown());
    // Shutdown has begun (the HTTP server has stopped) while the worker waits on the database.
    tokio::time::sleep(Duration::from_millis(300)).await;
    lock.release().await;
    tokio::time::timeout(Duration::from_secs(60), stopping)
        .await
        .expect("shutdown ends")
        .unwrap()
        .unwrap();
    let store = app.db.store();
    for p in &people {
        let mails = store.emails_to(p, 5).await.unwrap();
        assert_eq!(mails.len(), 1, "{p}: reset lost at shutdown");
    }
}

/// Known and unknown addresses cost the same because the request does no work that depends on
/// the address: both answers arrive while the database is locked against the lookup (PostgreSQL)
/// and every write (both), and by then nothing has been written. The worker does it afterwards.
async fn password_reset_answers_before_any_work_on_the_address(b: Backend) {
    // A request that did wait for the database would end in a 503 after 5 s.
    let Some(app) = app(b, &[("JARVIS_REQUEST_TIMEOUT_SECS", "5")]).await else {
        return;
    };
    app.create_user("known.reset@test.local", None).await;
    let mut lock = DbLock::take(&app).await;
    for email in ["known.reset@test.local", "unknown.reset@test.local"] {
        let status = app
            .client
            .post(app.url("/api/v1/auth/password/reset"))
            .json(&json!({ "email": email }))
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        assert_eq!(status, 202, "{email}: the answer waited for the database");
    }
    for table in ["password_resets", "email_outbox"] {
        assert_eq!(
            lock.count(table).await,
            0,
            "{table} written before the answer"
        );
    }
    lock.release().await;
    // Then the worker mails the known address only and records both requests alike.
    let mails = app.mails_to("known.reset@test.local", 1).await;
    assert_eq!(mails[0].kind, "password_reset");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, ev) = app
            .get("/api/v1/auth/events?event=password.reset_requested")
            .await;
        if ev["total"] == 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{ev}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        app.db
            .store()
            .emails_to("unknown.reset@test.local", 5)
            .await
            .unwrap()
            .is_empty()
    );
    app.stop().await;
}

async fn logs_name_no_recipient_and_no_badge(b: Backend) {
    let logs = common::captured_logs();
    let Some(app) = app(b, &[]).await else { return };
    let (_, g) = tenant(&app, "Atlas").await;
    let person = "logged.person@test.local";
    let invitee = "logged.invitee@test.local";
    let badge = "LOGGED-BADGE-7731";
    app.create_user(person, None).await;
    // A reset request, a failed sign-in and an invitation, then the outbox is sent.
    let (s, _) = send(
        app.client
            .post(app.url("/api/v1/auth/password/reset"))
            .json(&json!({ "email": person })),
    )
    .await;
    assert_eq!(s, 202);
    app.mails_to(person, 1).await;
    assert_eq!(app.login(person, "wrong-password-x").await.0, 401);
    let (s, _) = app
        .post("/api/v1/invitations", json!({ "email": invitee, "display_name": "Invitee", "role": "gym_staff", "gym_id": g }))
        .await;
    assert_eq!(s, 201);
    let master = MasterKey::parse(MASTER_KEY).unwrap();
    let sent = jarvis_app::outbox::deliver(
        app.db.store().as_ref(),
        &master,
        &jarvis_app::mailer::Mailer::Log,
    )
    .await
    .sent;
    assert_eq!(sent, 2);
    // A kiosk looks the badge up (with its device token when pairing works, and without).
    app.post(
        &format!("/api/v1/gyms/{g}/members"),
        json!({ "badge_id": badge, "first_name": "Logan", "last_name": "Private", "preferred_language": "en" }),
    )
    .await;
    let (_, k) = app
        .post(
            &format!("/api/v1/gyms/{g}/kiosks"),
            json!({ "name": "Entrance" }),
        )
        .await;
    let kid = k["id"].as_str().unwrap_or_default().to_string();
    let (_, code) = app
        .post(
            &format!("/api/v1/gyms/{g}/kiosks/{kid}/pairing-code"),
            json!({}),
        )
        .await;
    let (_, paired) = send(
        app.client
            .post(app.url("/api/v1/kiosk/pair"))
            .json(&json!({ "code": code["code"] })),
    )
    .await;
    let path = format!("/api/v1/kiosk/members/by-badge/{badge}");
    let mut lookup = app.client.get(app.url(&path));
    if let Some(t) = paired["device_token"].as_str() {
        lookup = lookup.bearer_auth(t);
    }
    lookup.send().await.unwrap();
    app.client.get(app.url(&path)).send().await.unwrap();
    app.stop().await;
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).to_string();
    // What must be there: the sends and the lookup's request, masked.
    assert!(
        text.matches("e-mail (log transport").count() >= 2,
        "no send logged: {text}"
    );
    assert!(
        text.contains("/api/v1/kiosk/members/by-badge/***"),
        "no masked lookup path: {text}"
    );
    for secret in [person, invitee, badge, &badge.to_lowercase()] {
        assert!(!text.contains(secret), "{secret} in the logs:\n{text}");
    }
}

// ---- CSRF, GET without side effects, HSTS ----

/// Signs in on the login form as a browser does (Fetch Metadata); returns the session cookie.
async fn web_sign_in(app: &TestApp, c: &reqwest::Client, email: &str) -> (String, String) {
    let (pre_cookie, pre_token) = login_page(app, c).await;
    let r = c
        .post(app.url("/app/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header("cookie", format!("jarvis_csrf={pre_cookie}"))
        .body(format!(
            "email={}&password={PASSWORD}&next=%2Fapp&csrf={pre_token}",
            email.replace('@', "%40")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = set_cookies(&r)
        .into_iter()
        .find(|(k, _)| k == "jarvis_session")
        .unwrap()
        .1;
    (
        session,
        r.headers()["location"].to_str().unwrap().to_string(),
    )
}

/// Posts a form; `headers` are the browser's Fetch Metadata / Origin, if any.
async fn post_form(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    cookie: &str,
    headers: &[(&str, &str)],
    body: String,
) -> u16 {
    let mut rb = c
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.body(body).send().await.unwrap().status().as_u16()
}

async fn page_status(app: &TestApp, c: &reqwest::Client, session: &str) -> u16 {
    c.get(app.url("/app"))
        .header("cookie", format!("jarvis_session={session}"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn signed_in_forms_take_only_the_session_token(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    app.create_user("forms@test.local", None).await;
    let c = no_redirect();
    let (session, _) = web_sign_in(&app, &c, "forms@test.local").await;
    // A sign-in form's token, with its cookie, as a sibling site could plant them.
    let (pre_cookie, pre_token) = login_page(&app, &c).await;
    let html = c
        .get(app.url("/app"))
        .header("cookie", format!("jarvis_session={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden(&html, "csrf");
    assert_ne!(token, pre_token);
    let cookies = format!("jarvis_csrf={pre_cookie}; jarvis_session={session}");
    let same = [("sec-fetch-site", "same-origin")];
    for path in ["/app/logout", "/app/logout-all"] {
        let s = post_form(&app, &c, path, &cookies, &same, format!("csrf={pre_token}")).await;
        assert_eq!(s, 403, "{path} took the sign-in token");
    }
    assert_eq!(
        page_status(&app, &c, &session).await,
        200,
        "still signed in"
    );
    let s = post_form(
        &app,
        &c,
        "/app/logout",
        &cookies,
        &same,
        format!("csrf={token}"),
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(page_status(&app, &c, &session).await, 303, "signed out");
    app.stop().await;
}

async fn form_posts_without_origin_or_fetch_metadata_need_the_session_token(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    app.create_user("bare@test.local", None).await;
    let c = no_redirect();
    // The sign-in form with its valid token but neither header: refused.
    let (pre_cookie, pre_token) = login_page(&app, &c).await;
    let login = format!("email=bare%40test.local&password={PASSWORD}&next=%2Fapp&csrf={pre_token}");
    let pre = format!("jarvis_csrf={pre_cookie}");
    assert_eq!(
        post_form(&app, &c, "/app/login", &pre, &[], login.clone()).await,
        403
    );
    // Either header vouches for it.
    let origin = app.base.clone();
    assert_eq!(
        post_form(
            &app,
            &c,
            "/app/login",
            &pre,
            &[("origin", &origin)],
            login.clone()
        )
        .await,
        303
    );
    let (session, _) = web_sign_in(&app, &c, "bare@test.local").await;
    let html = c
        .get(app.url("/app"))
        .header("cookie", format!("jarvis_session={session}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden(&html, "csrf");
    // A signed-in form with neither header: no token, a wrong one or the sign-in one → refused.
    let cookies = format!("jarvis_csrf={pre_cookie}; jarvis_session={session}");
    for body in [
        String::new(),
        "csrf=0123456789abcdef0123456789abcdef".to_string(),
        format!("csrf={pre_token}"),
    ] {
        let s = post_form(&app, &c, "/app/logout", &cookies, &[], body.clone()).await;
        assert_eq!(s, 403, "{body:?}");
    }
    assert_eq!(page_status(&app, &c, &session).await, 200);
    // The session's own token: accepted.
    let s = post_form(
        &app,
        &c,
        "/app/logout",
        &cookies,
        &[],
        format!("csrf={token}"),
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(page_status(&app, &c, &session).await, 303);
    app.stop().await;
}

fn manual_key(html: &str) -> String {
    html.split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap()
        .to_string()
}

async fn enrolment_page_reload_keeps_the_pending_secret(b: Backend) {
    let Some(app) = app(b, &[]).await else { return };
    let (f, _) = tenant(&app, "Atlas").await;
    let id = app
        .create_user(
            "owner.enrol@test.local",
            Some((
                Role::FranchiseOwner,
                MembershipTarget::Franchise(f.parse::<uuid::Uuid>().unwrap().into()),
            )),
        )
        .await;
    let uid: jarvis_core::UserId = id.parse::<uuid::Uuid>().unwrap().into();
    let c = no_redirect();
    let (session, to) = web_sign_in(&app, &c, "owner.enrol@test.local").await;
    assert!(to.starts_with("/app/mfa/enroll"), "{to}");
    let load = || async {
        let r = c
            .get(app.url("/app/mfa/enroll?next=/app"))
            .header("cookie", format!("jarvis_session={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    };
    let first = load().await;
    let second = load().await;
    assert_eq!(
        manual_key(&first),
        manual_key(&second),
        "a reload keeps the secret"
    );
    assert!(
        app.db.store().totp_factor(uid).await.unwrap().is_none(),
        "a GET stores nothing"
    );
    let token = hidden(&first, "csrf");
    let same = [("sec-fetch-site", "same-origin")];
    let cookie = format!("jarvis_session={session}");
    let s = post_form(
        &app,
        &c,
        "/app/mfa/enroll",
        &cookie,
        &same,
        format!("code=000000&next=%2Fapp&csrf={token}"),
    )
    .await;
    assert_eq!(s, 401, "wrong code");
    assert!(app.db.store().totp_factor(uid).await.unwrap().is_none());
    // A code of the first load confirms.
    let secret = common::base32_decode(&manual_key(&first));
    let r = c
        .post(app.url("/app/mfa/enroll"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header("cookie", &cookie)
        .body(format!(
            "code={}&next=%2Fapp&csrf={token}",
            totp_code(&secret, 0)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let elevated = set_cookies(&r)
        .into_iter()
        .find(|(k, _)| k == "jarvis_session")
        .unwrap()
        .1;
    assert!(r.text().await.unwrap().contains("class=\"codes\""));
    let factor = app.db.store().totp_factor(uid).await.unwrap().unwrap();
    assert!(factor.confirmed_at.is_some());
    assert_eq!(page_status(&app, &c, &elevated).await, 200);
    app.stop().await;
}

#[tokio::test]
async fn hsts_only_with_an_https_public_url() {
    let hsts = |r: &reqwest::Response| {
        r.headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let tls = app(
        Backend::Sqlite,
        &[("JARVIS_PUBLIC_URL", "https://jarvis.example.com")],
    )
    .await
    .unwrap();
    for path in ["/app/login", "/healthz", "/api/v1/franchises"] {
        let r = tls.client.get(tls.url(path)).send().await.unwrap();
        assert_eq!(
            hsts(&r).as_deref(),
            Some("max-age=31536000; includeSubDomains"),
            "{path}"
        );
    }
    tls.stop().await;
    for public in ["http://jarvis.example.com", ""] {
        let plain = app(Backend::Sqlite, &[("JARVIS_PUBLIC_URL", public)])
            .await
            .unwrap();
        let r = plain
            .client
            .get(plain.url("/app/login"))
            .send()
            .await
            .unwrap();
        assert_eq!(hsts(&r), None, "public_url {public:?}");
        plain.stop().await;
    }
}

both_backends!(
    brute_force_hits_lockout,
    one_ip_failing_across_accounts_is_locked,
    unknown_accounts_fail_in_the_same_time,
    totp_replay_is_refused,
    recovery_codes_work_once,
    refresh_reuse_revokes_the_family,
    two_tabs_refreshing_at_once_keep_the_session,
    forged_and_stale_jwts_are_refused,
    aal1_super_admin_reaches_only_mfa_endpoints,
    sessions_are_listed_and_revocable,
    password_reset_is_single_use_and_ends_sessions,
    invitations_need_login_scope_and_escape_html,
    spoofed_forwarded_for_does_not_dodge_limits,
    forwarded_for_split_over_header_lines_is_one_list,
    api_rate_limit_answers_429_with_retry_after,
    jwks_and_key_rotation,
    dashboard_login_csrf_fixation_and_open_redirect,
    dashboard_mfa_is_enforced_and_rotates_the_cookie,
    behind_tls_the_cookie_is_host_prefixed_and_secure,
    dashboard_reset_and_invitation_pages,
    outbox_holds_no_readable_token_before_or_after_sending,
    password_reset_answers_before_any_work_on_the_address,
    resets_requested_just_before_shutdown_are_still_sent,
    logs_name_no_recipient_and_no_badge,
    signed_in_forms_take_only_the_session_token,
    form_posts_without_origin_or_fetch_metadata_need_the_session_token,
    enrolment_page_reload_keeps_the_pending_secret,
);
