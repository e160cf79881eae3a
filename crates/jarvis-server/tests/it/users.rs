//! Team management over HTTP, on SQLite and PostgreSQL: disabling a user ends every session and
//! refresh family at once (API and dashboard), sign-in is refused like a wrong password,
//! re-enabling works, the scope rules hold (managers cannot reach owners or users with roles in
//! another gym, foreign ids are 404), and the team page does it through a confirmation step.

use crate::common;

use common::{Backend, PASSWORD, TestApp, TestUser, send};
use jarvis_core::Role;
use jarvis_core::model::MembershipTarget;
use reqwest::Method;
use serde_json::{Value, json};

/// A franchise with one gym, as targets.
async fn tenant(app: &TestApp, name: &str) -> (MembershipTarget, MembershipTarget) {
    let (s, f) = app
        .post("/api/v1/franchises", json!({ "name": name }))
        .await;
    assert_eq!(s, 201, "{f}");
    let fid: uuid::Uuid = f["id"].as_str().unwrap().parse().unwrap();
    let (s, g) = app
        .post(
            "/api/v1/gyms",
            json!({ "franchise_id": fid, "name": format!("{name} Gym"), "timezone": "Europe/Paris" }),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let gid: uuid::Uuid = g["id"].as_str().unwrap().parse().unwrap();
    (
        MembershipTarget::Franchise(fid.into()),
        MembershipTarget::Gym(fid.into(), gid.into()),
    )
}

async fn call(app: &TestApp, who: &TestUser, m: Method, path: &str) -> (u16, Value) {
    send(app.req_as(&who.token, m, path)).await
}

async fn disable(app: &TestApp, who: &TestUser, id: &str) -> (u16, Value) {
    call(
        app,
        who,
        Method::POST,
        &format!("/api/v1/users/{id}/disable"),
    )
    .await
}

async fn enable(app: &TestApp, who: &TestUser, id: &str) -> (u16, Value) {
    call(
        app,
        who,
        Method::POST,
        &format!("/api/v1/users/{id}/enable"),
    )
    .await
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    send(
        app.client
            .post(app.url("/api/v1/auth/refresh"))
            .json(&json!({ "refresh_token": token })),
    )
    .await
}

/// Dashboard helpers: sign in through the form, then browse with the cookie.
mod web {
    use super::*;
    use crate::web::cookie as cookie_value;
    pub use crate::web::{client, form, hidden};

    /// Signs in through the login form; returns the `cookie` header value.
    pub async fn login(app: &TestApp, email: &str) -> String {
        let c = client();
        let resp = c.get(app.url("/app/login")).send().await.unwrap();
        let csrf_cookie = cookie_value(&resp, "jarvis_csrf").unwrap();
        let csrf = hidden(&resp.text().await.unwrap(), "csrf");
        let r = c
            .post(app.url("/app/login"))
            .header("sec-fetch-site", "same-origin")
            .header("cookie", format!("jarvis_csrf={csrf_cookie}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("email", email),
                ("password", PASSWORD),
                ("next", "/app"),
                ("csrf", csrf.as_str()),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "login {email}");
        format!(
            "jarvis_session={}",
            cookie_value(&r, "jarvis_session").unwrap()
        )
    }

    /// GET with the cookie: status, `Location`, body.
    pub async fn get(app: &TestApp, cookie: &str, path: &str) -> (u16, String, String) {
        let r = client()
            .get(app.url(path))
            .header("cookie", cookie)
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

    /// Form POST with the cookie: status, `Location`.
    pub async fn post(app: &TestApp, cookie: &str, path: &str, csrf: &str) -> (u16, String) {
        let r = client()
            .post(app.url(path))
            .header("sec-fetch-site", "same-origin")
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[("csrf", csrf)]))
            .send()
            .await
            .unwrap();
        let loc = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        (r.status().as_u16(), loc)
    }
}

async fn disabling_ends_every_session_and_sign_in(b: Backend) {
    let Some(app) = TestApp::start(b, &[]).await else {
        return;
    };
    let (_, gym) = tenant(&app, "Offboard").await;
    let manager = app.as_role("manager@off.test", Role::GymManager, gym).await;
    let staff = app.as_role("staff@off.test", Role::GymStaff, gym).await;
    let cookie = web::login(&app, "staff@off.test").await;
    assert_eq!(
        call(&app, &staff, Method::GET, "/api/v1/auth/me").await.0,
        200
    );
    assert_eq!(web::get(&app, &cookie, "/app").await.0, 200);

    // The manager sees the staff member in the team, then disables them.
    let (s, team) = call(&app, &manager, Method::GET, "/api/v1/users?q=staff@").await;
    assert_eq!(s, 200, "{team}");
    assert_eq!(team["total"], 1);
    assert_eq!(team["items"][0]["user"]["email"], "staff@off.test");
    assert_eq!(team["items"][0]["memberships"][0]["role"], "gym_staff");
    let (s, u) = disable(&app, &manager, &staff.id).await;
    assert_eq!(s, 200, "{u}");
    assert!(u["disabled_at"].is_string());

    // Every session stops at once: access token, refresh token, dashboard cookie.
    let (s, e) = call(&app, &staff, Method::GET, "/api/v1/auth/me").await;
    assert_eq!(s, 401, "{e}");
    let (s, e) = refresh(&app, &staff.refresh).await;
    assert_eq!(s, 401, "{e}");
    let (s, loc, _) = web::get(&app, &cookie, "/app").await;
    assert_eq!((s, loc.starts_with("/app/login")), (303, true), "{loc}");

    // Sign-in answers exactly like a wrong password (nothing more leaks than before).
    let disabled = app.login("staff@off.test", PASSWORD).await;
    let unknown = app.login("nobody@off.test", PASSWORD).await;
    assert_eq!(disabled.0, 401);
    assert_eq!(
        disabled, unknown,
        "a disabled account looks like a wrong password"
    );
    // Operators can tell them apart in the sign-in log.
    let (_, failures) = app.get("/api/v1/auth/events?event=login.failure").await;
    let flagged: Vec<(&str, bool)> = failures["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["email"].as_str().unwrap_or_default(),
                e["details"]["account_disabled"] == true,
            )
        })
        .collect();
    assert!(flagged.contains(&("staff@off.test", true)), "{flagged:?}");
    assert!(flagged.contains(&("nobody@off.test", false)), "{flagged:?}");

    // Audited in the gym, with an auth event; disabling again changes nothing.
    assert_eq!(disable(&app, &manager, &staff.id).await.0, 200);
    let (_, audit) = call(
        &app,
        &manager,
        Method::GET,
        "/api/v1/audit?action=user.disable",
    )
    .await;
    assert_eq!(audit["total"], 1, "{audit}");
    assert_eq!(audit["items"][0]["target_id"], staff.id);
    let (_, events) = call(
        &app,
        &manager,
        Method::GET,
        "/api/v1/auth/events?event=user.disabled",
    )
    .await;
    assert!(events["total"].as_u64().unwrap() >= 1, "{events}");

    // Re-enabling lets them sign in again (the old tokens stay dead).
    let (s, u) = enable(&app, &manager, &staff.id).await;
    assert_eq!(s, 200, "{u}");
    assert!(u["disabled_at"].is_null());
    assert_eq!(
        call(&app, &staff, Method::GET, "/api/v1/auth/me").await.0,
        401
    );
    assert_eq!(app.login("staff@off.test", PASSWORD).await.0, 200);
    let (_, audit) = call(
        &app,
        &manager,
        Method::GET,
        "/api/v1/audit?action=user.enable",
    )
    .await;
    assert_eq!(audit["total"], 1, "{audit}");

    // Revoking the only role also ends the sessions; they sign in again with what is left.
    let staff = app.sign_in(&staff.id, "staff@off.test", false).await;
    let (_, me) = call(
        &app,
        &manager,
        Method::GET,
        &format!("/api/v1/users/{}", staff.id),
    )
    .await;
    let mid = me["memberships"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(me["other_roles"], false);
    let (s, e) = call(
        &app,
        &manager,
        Method::DELETE,
        &format!("/api/v1/users/{}/memberships/{mid}", staff.id),
    )
    .await;
    assert_eq!(s, 204, "{e}");
    assert_eq!(
        call(&app, &staff, Method::GET, "/api/v1/auth/me").await.0,
        401
    );
    assert_eq!(refresh(&app, &staff.refresh).await.0, 401);
    let (_, audit) = call(
        &app,
        &manager,
        Method::GET,
        "/api/v1/audit?action=membership.revoke",
    )
    .await;
    assert_eq!(audit["total"], 1, "{audit}");
    // No role left in the gym: the user is no longer the manager's to see.
    assert_eq!(
        call(
            &app,
            &manager,
            Method::GET,
            &format!("/api/v1/users/{}", staff.id)
        )
        .await
        .0,
        404
    );
    app.stop().await;
}

async fn offboarding_stays_within_reach(b: Backend) {
    let Some(app) = TestApp::start(b, &[]).await else {
        return;
    };
    let (franchise, gym) = tenant(&app, "Reach").await;
    let (_, other_gym) = tenant(&app, "Elsewhere").await;
    let manager = app.as_role("m@reach.test", Role::GymManager, gym).await;
    let owner = app
        .as_role("o@reach.test", Role::FranchiseOwner, franchise)
        .await;
    let owner2 = app
        .create_user("o2@reach.test", Some((Role::FranchiseOwner, franchise)))
        .await;
    let foreign = app
        .create_user("f@reach.test", Some((Role::GymStaff, other_gym)))
        .await;
    // Staff here and in another gym: the manager may revoke the role here, not disable them.
    let both = app
        .create_user("b@reach.test", Some((Role::GymStaff, gym)))
        .await;
    let store = app.db.store();
    let both_id: uuid::Uuid = both.parse().unwrap();
    let elsewhere = store
        .add_membership(
            &jarvis_core::Scope::Platform,
            &jarvis_core::model::Actor::cli(),
            both_id.into(),
            Role::GymStaff,
            other_gym,
        )
        .await
        .unwrap();
    let code = |v: &Value| v["error"]["code"].as_str().unwrap_or_default().to_string();

    let (s, e) = disable(&app, &manager, &both).await;
    assert_eq!((s, code(&e).as_str()), (403, "roles_elsewhere"), "{e}");
    let (_, view) = call(
        &app,
        &manager,
        Method::GET,
        &format!("/api/v1/users/{both}"),
    )
    .await;
    assert_eq!(view["other_roles"], true, "{view}");
    assert_eq!(view["memberships"].as_array().unwrap().len(), 1);
    let here = view["memberships"][0]["id"].as_str().unwrap().to_string();
    // The role elsewhere is not the manager's to revoke, nor even to see.
    let (s, _) = call(
        &app,
        &manager,
        Method::DELETE,
        &format!("/api/v1/users/{both}/memberships/{}", elsewhere.id),
    )
    .await;
    assert_eq!(s, 404);
    let (s, e) = call(
        &app,
        &manager,
        Method::DELETE,
        &format!("/api/v1/users/{both}/memberships/{here}"),
    )
    .await;
    assert_eq!(s, 204, "{e}");

    // A manager reaches neither owners (not in the gym) nor foreign users (404, ids do not leak),
    // nor themselves.
    for id in [&owner.id, &owner2, &foreign] {
        assert_eq!(disable(&app, &manager, id).await.0, 404, "{id}");
        let (s, _) = call(&app, &manager, Method::GET, &format!("/api/v1/users/{id}")).await;
        assert_eq!(s, 404);
    }
    let (s, e) = disable(&app, &manager, &manager.id).await;
    assert_eq!((s, code(&e).as_str()), (403, "own_account"), "{e}");
    // An owner with a gym role too is still beyond a manager.
    store
        .add_membership(
            &jarvis_core::Scope::Platform,
            &jarvis_core::model::Actor::cli(),
            owner2.parse::<uuid::Uuid>().unwrap().into(),
            Role::GymStaff,
            gym,
        )
        .await
        .unwrap();
    let (s, e) = disable(&app, &manager, &owner2).await;
    assert_eq!((s, code(&e).as_str()), (403, "roles_elsewhere"), "{e}");

    // The owner reaches the manager but not another owner; the super admin reaches anyone.
    let (s, e) = disable(&app, &owner, &owner2).await;
    assert_eq!((s, code(&e).as_str()), (403, "higher_role"), "{e}");
    let (s, e) = disable(&app, &owner, &manager.id).await;
    assert_eq!(s, 200, "{e}");
    assert_eq!(
        call(&app, &manager, Method::GET, "/api/v1/users").await.0,
        401
    );
    assert_eq!(disable(&app, &owner, &foreign).await.0, 404);
    let admin = app.admin.clone();
    assert_eq!(disable(&app, &admin, &owner2).await.0, 200);
    assert_eq!(enable(&app, &admin, &owner2).await.0, 200);
    let (s, e) = disable(&app, &admin, &admin.id).await;
    assert_eq!((s, code(&e).as_str()), (403, "own_account"), "{e}");
    // Staff do not manage users at all.
    let staff = app.as_role("s@reach.test", Role::GymStaff, gym).await;
    assert_eq!(
        call(&app, &staff, Method::GET, "/api/v1/users").await.0,
        403
    );
    app.stop().await;
}

async fn the_team_page_disables_after_a_confirmation(b: Backend) {
    let Some(app) = TestApp::start(b, &[]).await else {
        return;
    };
    let (_, gym) = tenant(&app, "Pages").await;
    app.create_user("boss@pages.test", Some((Role::GymManager, gym)))
        .await;
    let staff = app
        .create_user("crew@pages.test", Some((Role::GymStaff, gym)))
        .await;
    let boss = web::login(&app, "boss@pages.test").await;
    let crew = web::login(&app, "crew@pages.test").await;

    let (s, _, html) = web::get(&app, &boss, "/app").await;
    assert_eq!(s, 200);
    assert!(html.contains("href=\"/app/team\""), "linked from home");
    let (s, _, html) = web::get(&app, &boss, "/app/team").await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("crew@pages.test") && html.contains("Team"));
    let confirm = format!("/app/team/{staff}/disable");
    assert!(html.contains(&confirm), "a disable link per user");
    // Staff have no team page.
    let (s, _, html) = web::get(&app, &crew, "/app").await;
    assert_eq!(s, 200);
    assert!(!html.contains("href=\"/app/team\""));
    assert_eq!(web::get(&app, &crew, "/app/team").await.0, 403);

    // The confirmation page, then a CSRF-checked POST.
    let (s, _, html) = web::get(&app, &boss, &confirm).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("crew@pages.test") && html.contains("sessions"));
    let csrf = web::hidden(&html, "csrf");
    let (s, _) = web::post(&app, &boss, &confirm, "forged").await;
    assert_eq!(s, 403, "no CSRF token, no disable");
    assert_eq!(
        web::get(&app, &crew, "/app").await.0,
        200,
        "still signed in"
    );
    let (s, loc) = web::post(&app, &boss, &confirm, &csrf).await;
    assert_eq!((s, loc.as_str()), (303, "/app/team"));
    let (s, loc, _) = web::get(&app, &crew, "/app").await;
    assert_eq!(
        (s, loc.starts_with("/app/login")),
        (303, true),
        "cookie session ended"
    );
    let (_, _, html) = web::get(&app, &boss, "/app/team").await;
    assert!(html.contains(&format!("/app/team/{staff}/enable")));

    // Re-enabling through its own confirmation.
    let enable_path = format!("/app/team/{staff}/enable");
    let (s, _, html) = web::get(&app, &boss, &enable_path).await;
    assert_eq!(s, 200);
    let csrf = web::hidden(&html, "csrf");
    assert_eq!(web::post(&app, &boss, &enable_path, &csrf).await.0, 303);
    assert_eq!(app.login("crew@pages.test", PASSWORD).await.0, 200);

    // Refusals are explained, in the user's language.
    let (s, _, html) = web::get(&app, &boss, "/app/team").await;
    assert_eq!(s, 200);
    let me = html
        .split("/app/team/")
        .skip(1)
        .filter_map(|p| p.split('/').next())
        .find(|id| *id != staff && !id.starts_with("invite\""))
        .map(str::to_string);
    assert!(me.is_none(), "no action on one's own row");
    let boss_id = app
        .db
        .store()
        .user_by_email("boss@pages.test")
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    let (s, _, html) = web::get(&app, &boss, &format!("/app/team/{boss_id}/disable")).await;
    assert_eq!(s, 403);
    assert!(html.contains("your own account"), "{html}");

    // French.
    let fr = app
        .db
        .store()
        .create_user(
            &jarvis_core::model::Actor::cli(),
            jarvis_core::model::NewUser {
                email: "chef@pages.test".into(),
                display_name: "Chef".into(),
                locale: jarvis_core::model::Locale::Fr,
                password_hash: Some(
                    jarvis_app::auth::password::hash(PASSWORD.into())
                        .await
                        .unwrap(),
                ),
            },
            Some((Role::GymManager, gym)),
        )
        .await
        .unwrap();
    assert_eq!(fr.locale, jarvis_core::model::Locale::Fr);
    let chef = web::login(&app, "chef@pages.test").await;
    let (s, _, html) = web::get(&app, &chef, "/app/team").await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Équipe") && html.contains("Désactiver"),
        "{html}"
    );
    app.stop().await;
}

both_backends!(
    disabling_ends_every_session_and_sign_in,
    offboarding_stays_within_reach,
    the_team_page_disables_after_a_confirmation,
);
