//! Route × role × tenant: every API route refuses anonymous callers, and a table walks the tenant
//! routes for every role on its own tenant and on a foreign one, asserting allow / 403 / 404
//! (404, never 403, for foreign ids so they do not leak). Both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, TestApp, TestUser, send};
use jarvis_core::Role;
use jarvis_core::model::MembershipTarget;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU32, Ordering};

/// Routes anyone may call (sign-in, health, public keys, kiosk pairing by one-time code).
const PUBLIC: &[&str] = &[
    "/healthz",
    "/readyz",
    "/.well-known/jwks.json",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/auth/password/reset",
    "/api/v1/auth/password/reset/confirm",
    "/api/v1/invitations/accept",
    "/api/v1/kiosk/pair",
];

async fn every_route_refuses_anonymous_callers(b: Backend) {
    let Some(app) = TestApp::start(b, &[]).await else {
        return;
    };
    let (_, doc) = send(app.client.get(app.url("/api/v1/openapi.json"))).await;
    let paths = doc["paths"].as_object().unwrap();
    let mut checked = 0;
    for (path, ops) in paths {
        if PUBLIC.contains(&path.as_str()) {
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
        for method in ops.as_object().unwrap().keys() {
            let m: Method = method.to_uppercase().parse().unwrap();
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
    }
    assert!(checked >= 30, "only {checked} routes checked");
    app.stop().await;
}

/// Expected outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
enum E {
    /// Allowed: anything but 401/403/404.
    A,
    /// 403.
    F,
    /// 404.
    N,
}
use E::*;

struct World {
    f: [String; 2],
    g: [String; 2],
    m: [String; 2],
    k: [String; 2],
    /// A staff user of each gym (team management rows).
    u: [String; 2],
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn fill(t: &str, w: &World, i: usize) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed).to_string();
    t.replace("{f}", &w.f[i])
        .replace("{g}", &w.g[i])
        .replace("{m}", &w.m[i])
        .replace("{k}", &w.k[i])
        .replace("{u}", &w.u[i])
        .replace("{n}", &n)
}

async fn outcome(
    app: &TestApp,
    token: &str,
    m: &Method,
    path: &str,
    body: &str,
) -> (E, u16, Value) {
    let body: Value = serde_json::from_str(body).unwrap();
    let (s, v) = send(app.req_as(token, m.clone(), path).json(&body)).await;
    let e = match s {
        403 => F,
        404 => N,
        401 => panic!("{m} {path}: 401 for a signed-in user: {v}"),
        _ => A,
    };
    (e, s, v)
}

async fn routes_by_role_and_tenant(b: Backend) {
    let Some(app) = TestApp::start(b, &[]).await else {
        return;
    };
    let mut w = World {
        f: Default::default(),
        g: Default::default(),
        m: Default::default(),
        k: Default::default(),
        u: Default::default(),
    };
    for (i, name) in ["Own", "Foreign"].iter().enumerate() {
        let (_, f) = app
            .post("/api/v1/franchises", json!({ "name": name }))
            .await;
        w.f[i] = f["id"].as_str().unwrap().into();
        let (s, g) = app
            .post("/api/v1/gyms", json!({ "franchise_id": w.f[i], "name": format!("{name} Gym"), "timezone": "Europe/Paris" }))
            .await;
        assert_eq!(s, 201, "{g}");
        w.g[i] = g["id"].as_str().unwrap().into();
        let (_, m) = app
            .post(
                &format!("/api/v1/gyms/{}/members", w.g[i]),
                json!({ "badge_id": "B1", "first_name": "Ann", "last_name": "Lee" }),
            )
            .await;
        w.m[i] = m["id"].as_str().unwrap().into();
        let (_, k) = app
            .post(
                &format!("/api/v1/gyms/{}/kiosks", w.g[i]),
                json!({ "name": "Door" }),
            )
            .await;
        w.k[i] = k["id"].as_str().unwrap().into();
        let (f, g): (uuid::Uuid, uuid::Uuid) = (w.f[i].parse().unwrap(), w.g[i].parse().unwrap());
        w.u[i] = app
            .create_user(
                &format!("crew{i}@m.local"),
                Some((Role::GymStaff, MembershipTarget::Gym(f.into(), g.into()))),
            )
            .await;
    }
    let f0: uuid::Uuid = w.f[0].parse().unwrap();
    let g0: uuid::Uuid = w.g[0].parse().unwrap();
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

    // method, path, body, expectations for [super, owner, manager, staff] × [own, foreign].
    // For the super admin both tenants are "own".
    type Row = (Method, &'static str, &'static str, [E; 4], [E; 4]);
    let rows: Vec<Row> = vec![
        (
            Method::GET,
            "/api/v1/franchises/{f}",
            "{}",
            [A, A, A, A],
            [A, N, N, N],
        ),
        (
            Method::PATCH,
            "/api/v1/franchises/{f}",
            r#"{"name":"Renamed {n}"}"#,
            [A, A, F, F],
            [A, N, N, N],
        ),
        (
            Method::POST,
            "/api/v1/gyms",
            r#"{"franchise_id":"{f}","name":"New {n}","timezone":"Europe/Paris"}"#,
            [A, A, F, F],
            [A, N, N, N],
        ),
        (
            Method::GET,
            "/api/v1/gyms/{g}",
            "{}",
            [A, A, A, A],
            [A, N, N, N],
        ),
        (
            Method::PATCH,
            "/api/v1/gyms/{g}",
            r#"{"address":"{n} rue de la Paix"}"#,
            [A, A, A, F],
            [A, N, N, N],
        ),
        (
            Method::GET,
            "/api/v1/gyms/{g}/members",
            "{}",
            [A, A, A, A],
            [A, N, N, N],
        ),
        (
            Method::POST,
            "/api/v1/gyms/{g}/members",
            r#"{"badge_id":"X{n}","first_name":"Bo","last_name":"Ng"}"#,
            [A, A, A, A],
            [A, N, N, N],
        ),
        (
            Method::GET,
            "/api/v1/gyms/{g}/members/{m}",
            "{}",
            [A, A, A, A],
            [A, N, N, N],
        ),
        (
            Method::PATCH,
            "/api/v1/gyms/{g}/members/{m}",
            r#"{"limitations":"knee {n}"}"#,
            [A, A, A, A],
            [A, N, N, N],
        ),
        (
            Method::GET,
            "/api/v1/gyms/{g}/members/export.csv",
            "{}",
            [A, A, A, F],
            [A, N, N, N],
        ),
        (
            Method::GET,
            "/api/v1/gyms/{g}/members/{m}/gdpr-export",
            "{}",
            [A, A, A, F],
            [A, N, N, N],
        ),
        (
            Method::GET,
            "/api/v1/gyms/{g}/kiosks",
            "{}",
            [A, A, A, A],
            [A, N, N, N],
        ),
        (
            Method::POST,
            "/api/v1/gyms/{g}/kiosks",
            r#"{"name":"Kiosk {n}"}"#,
            [A, A, A, F],
            [A, N, N, N],
        ),
        (
            Method::POST,
            "/api/v1/gyms/{g}/kiosks/{k}/pairing-code",
            "{}",
            [A, A, A, F],
            [A, N, N, N],
        ),
        (
            Method::GET,
            "/api/v1/gyms/{g}/classes",
            "{}",
            [A, A, A, A],
            [A, N, N, N],
        ),
        (
            Method::POST,
            "/api/v1/invitations",
            r#"{"email":"s{n}@m.local","display_name":"S","role":"gym_staff","gym_id":"{g}"}"#,
            [A, A, A, F],
            [A, N, N, N],
        ),
        (
            Method::POST,
            "/api/v1/invitations",
            r#"{"email":"m{n}@m.local","display_name":"M","role":"gym_manager","gym_id":"{g}"}"#,
            [A, A, A, F],
            [A, N, N, N],
        ),
        (
            Method::POST,
            "/api/v1/invitations",
            r#"{"email":"o{n}@m.local","display_name":"O","role":"franchise_owner","franchise_id":"{f}"}"#,
            [A, F, F, F],
            [A, N, N, N],
        ),
        // Team management: staff never manage users (403 whatever the id).
        (
            Method::GET,
            "/api/v1/users/{u}",
            "{}",
            [A, A, A, F],
            [A, N, N, F],
        ),
        (
            Method::POST,
            "/api/v1/users/{u}/disable",
            "{}",
            [A, A, A, F],
            [A, N, N, F],
        ),
        (
            Method::POST,
            "/api/v1/users/{u}/enable",
            "{}",
            [A, A, A, F],
            [A, N, N, F],
        ),
        // Approving and suspending gyms is the platform's decision.
        (
            Method::POST,
            "/api/v1/gyms/{g}/status",
            r#"{"status":"suspended","reason":"audit {n}"}"#,
            [A, F, F, F],
            [A, N, N, N],
        ),
    ];
    // Lists without a target: allowed or 403 per role.
    let lists: Vec<(Method, &str, [E; 4])> = vec![
        (Method::GET, "/api/v1/franchises", [A, A, A, A]),
        (Method::GET, "/api/v1/gyms", [A, A, A, A]),
        (Method::POST, "/api/v1/franchises", [A, F, F, F]),
        (Method::GET, "/api/v1/audit", [A, A, A, F]),
        (Method::GET, "/api/v1/auth/events", [A, A, A, F]),
        (Method::GET, "/api/v1/invitations", [A, A, A, F]),
        (Method::GET, "/api/v1/auth/sessions", [A, A, A, A]),
        (Method::GET, "/api/v1/users", [A, A, A, F]),
    ];
    let mut failures = Vec::new();
    for (m, path, want) in &lists {
        for (i, (role, u)) in users.iter().enumerate() {
            let (got, s, v) =
                outcome(&app, &u.token, m, path, &fill(r#"{"name":"L {n}"}"#, &w, 0)).await;
            if got != want[i] {
                failures.push(format!(
                    "{role} {m} {path}: want {:?}, got {s} {v}",
                    want[i]
                ));
            }
        }
    }
    // Foreign first: the status row suspends gyms, so own-tenant runs go last.
    for tenant in [1usize, 0] {
        for (m, path, body, own, foreign) in &rows {
            for (i, (role, u)) in users.iter().enumerate() {
                let want = if tenant == 0 { own[i] } else { foreign[i] };
                let p = fill(path, &w, tenant);
                let (got, s, v) = outcome(&app, &u.token, m, &p, &fill(body, &w, tenant)).await;
                if got != want {
                    failures.push(format!(
                        "{role} {m} {path} ({}): want {want:?}, got {s} {v}",
                        if tenant == 0 { "own" } else { "foreign" }
                    ));
                }
            }
        }
    }
    // Staff cannot delete members; managers can (a fresh member each time).
    for (i, (role, u)) in users.iter().enumerate() {
        let (_, m) = app
            .post(
                &format!("/api/v1/gyms/{}/members", w.g[0]),
                json!({ "badge_id": format!("D{i}"), "first_name": "Del", "last_name": "Me" }),
            )
            .await;
        let p = format!(
            "/api/v1/gyms/{}/members/{}",
            w.g[0],
            m["id"].as_str().unwrap()
        );
        let (got, s, v) = outcome(&app, &u.token, &Method::DELETE, &p, "{}").await;
        let want = if *role == Role::GymStaff { F } else { A };
        if got != want {
            failures.push(format!("{role} DELETE member: want {want:?}, got {s} {v}"));
        }
    }
    // Revoking a membership: a fresh one each time, in each tenant.
    for (tenant, want) in [(0usize, [A, A, A, F]), (1, [A, N, N, F])] {
        let (f, g): (uuid::Uuid, uuid::Uuid) =
            (w.f[tenant].parse().unwrap(), w.g[tenant].parse().unwrap());
        for (i, (role, u)) in users.iter().enumerate() {
            let id = app
                .create_user(
                    &format!("revoke{tenant}{i}@m.local"),
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
            let p = format!("/api/v1/users/{id}/memberships/{}", ms[0].id);
            let (got, s, v) = outcome(&app, &u.token, &Method::DELETE, &p, "{}").await;
            if got != want[i] {
                failures.push(format!(
                    "{role} DELETE membership (tenant {tenant}): want {:?}, got {s} {v}",
                    want[i]
                ));
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
    every_route_refuses_anonymous_callers,
    routes_by_role_and_tenant
);
