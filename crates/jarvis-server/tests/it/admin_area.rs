//! The administration area, on both backends: the platform overview shows the real health
//! figures (database, every migration applied, this instance alive, the signing key and its
//! age, the gyms waiting for approval) to super admins only, and the audit log page filters by
//! action, gym and actor in the reader's own scope (a manager never sees another gym's rows).

use crate::common;

use crate::web::{client, web_login};
use common::{Backend, TestApp, send};
use jarvis_core::model::MembershipTarget;
use jarvis_core::{FranchiseId, GymId, Role};
use serde_json::{Value, json};

async fn get(app: &TestApp, session: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(app.url(path))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let (s, v) = app.post(path, body).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

/// The text of the element with `id`, tags stripped.
fn text_of(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("#{id} in {html}"));
    let rest = &html[start..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    let end = ["</dd>", "</a>"]
        .iter()
        .filter_map(|t| rest.find(t))
        .min()
        .unwrap();
    let mut out = String::new();
    let mut in_tag = false;
    for c in rest[..end].chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Rows of the audit table.
fn audit_rows(html: &str) -> Vec<&str> {
    match html.split("<table class=\"list\" id=\"audit\">").nth(1) {
        None => Vec::new(),
        Some(t) => t
            .split("</table>")
            .next()
            .unwrap()
            .split("<tr>")
            .skip(2)
            .collect(),
    }
}

async fn admin_overview(b: Backend) {
    let app = TestApp::start(b, &[]).await.unwrap();
    let store = app.db.store();
    let f = created(&app, "/api/v1/franchises", json!({"name": "Adm F"})).await;
    let fid: FranchiseId = f["id"].as_str().unwrap().parse().unwrap();
    // A gym created by a franchise owner waits for a super admin's approval.
    let owner = app
        .as_role(
            "owner@adm.test",
            Role::FranchiseOwner,
            MembershipTarget::Franchise(fid),
        )
        .await;
    let (s, g) = send(
        client()
            .post(app.url("/api/v1/gyms"))
            .bearer_auth(&owner.token)
            .json(&json!({"franchise_id": fid, "name": "Waiting gym"})),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    assert_eq!(g["status"], "pending");

    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let (s, html) = get(&app, &admin, "/app/ops").await;
    assert_eq!(s, 200, "{html}");
    let migrations = store.migrations().await.unwrap();
    assert!(migrations.iter().all(|m| m.applied));
    let n = migrations.len();
    assert_eq!(text_of(&html, "migrations"), format!("{n} / {n}"));
    let db = text_of(&html, "database");
    let backend = match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert!(
        db.starts_with(&format!("{backend} — ")) && db.ends_with("ms round trip"),
        "{db}"
    );
    assert!(text_of(&html, "queue").contains("0 dead-lettered"));
    // The public demo block: off by default, nothing spent.
    assert_eq!(text_of(&html, "demo-on"), "off (demo_page)");
    assert_eq!(
        text_of(&html, "demo-month"),
        "0 demo conversations · $0.00 / $5.00"
    );
    assert!(text_of(&html, "pending-gyms").ends_with(" 1"), "{html}");
    // The tile's link is the approval queue: the gyms list filtered on pending.
    created(
        &app,
        "/api/v1/gyms",
        json!({"franchise_id": fid, "name": "Running gym"}),
    )
    .await;
    let (s, queue) = get(&app, &admin, "/app/gyms?status=pending").await;
    assert_eq!(s, 200);
    assert!(
        queue.contains("Waiting gym") && !queue.contains("Running gym"),
        "{queue}"
    );
    assert!(queue.contains("<option value=\"pending\" selected>"));
    let (_, all) = get(&app, &admin, "/app/gyms").await;
    assert!(all.contains("Waiting gym") && all.contains("Running gym"));
    // This instance heart-beats: it is listed with its host name.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let instances = html.split("id=\"instances\"").nth(1).unwrap();
    assert!(
        instances.contains(&format!("<td>{}</td>", host.trim())),
        "{instances}"
    );
    // The signing key: listed, signing, not overdue (it was made at start).
    let since = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let keys = store.signing_keys(since).await.unwrap();
    assert!(!keys.is_empty());
    let section = html.split("id=\"keys\"").nth(1).unwrap();
    for k in &keys {
        assert!(section.contains(&k.kid), "key {} listed", k.kid);
    }
    assert!(section.contains("0 days") && section.contains(">signing<"));
    assert!(!section.contains("key-overdue"));
    assert!(section.contains("key_max_age_days): 182 days"), "{section}");
    // The admin navigation leads here.
    assert!(html.contains("href=\"/app/ops\" aria-current=\"page\""));

    // Nobody else opens it.
    let (s, html) = get(
        &app,
        &web_login(&app, "owner@adm.test", owner.totp.as_deref()).await,
        "/app/ops",
    )
    .await;
    assert_eq!(s, 403, "{html}");
    assert!(!html.contains("id=\"health\""));
    app.stop().await;
}

async fn audit_log_filters_in_scope(b: Backend) {
    let app = TestApp::start(b, &[]).await.unwrap();
    let f = created(&app, "/api/v1/franchises", json!({"name": "Aud F"})).await;
    let fid: FranchiseId = f["id"].as_str().unwrap().parse().unwrap();
    let mut gyms = Vec::new();
    for name in ["Audit A", "Audit B"] {
        let g = created(
            &app,
            "/api/v1/gyms",
            json!({"franchise_id": fid, "name": name}),
        )
        .await;
        gyms.push(g["id"].as_str().unwrap().parse::<GymId>().unwrap());
    }
    let (a, bgym) = (gyms[0], gyms[1]);
    for (gym, badge) in [(a, "A-1"), (a, "A-2"), (bgym, "B-1")] {
        created(
            &app,
            &format!("/api/v1/gyms/{gym}/members"),
            json!({"badge_id": badge, "first_name": "Au", "last_name": badge,
                   "preferred_language": "fr", "membership_type": "std"}),
        )
        .await;
    }
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;

    // Action filter: exactly the three member creations, newest first, with their gyms.
    let (s, html) = get(&app, &admin, "/app/audit?action=member.create").await;
    assert_eq!(s, 200, "{html}");
    let rows = audit_rows(&html);
    assert_eq!(rows.len(), 3, "{html}");
    assert!(rows[0].contains("Audit B") && rows[2].contains("Audit A"));
    assert!(
        rows.iter()
            .all(|r| r.contains("<code>member.create</code>"))
    );
    // Gym filter on top of it.
    let (_, html) = get(
        &app,
        &admin,
        &format!("/app/audit?action=member.create&gym={a}"),
    )
    .await;
    let rows = audit_rows(&html);
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.contains("Audit A")));
    assert!(html.contains(&format!("<option value=\"{a}\" selected>")));
    // Actor filter: the super admin did everything here; a stranger id matches nothing.
    let admin_id = app.admin.id.clone();
    let (_, html) = get(
        &app,
        &admin,
        &format!("/app/audit?actor={admin_id}&action=gym.create"),
    )
    .await;
    assert_eq!(audit_rows(&html).len(), 2);
    let stranger = uuid::Uuid::now_v7();
    let (_, html) = get(&app, &admin, &format!("/app/audit?actor={stranger}")).await;
    assert!(audit_rows(&html).is_empty());
    assert!(html.contains("No entry matches."));
    assert!(
        html.contains(&format!("Only the actions of <strong>{stranger}</strong>")),
        "no name for an unseen id"
    );

    // A manager of gym A reads gym A's rows only, even when asking for gym B.
    app.create_user(
        "manager@aud.test",
        Some((Role::GymManager, MembershipTarget::Gym(fid, a))),
    )
    .await;
    let manager = web_login(&app, "manager@aud.test", None).await;
    let (s, html) = get(&app, &manager, "/app/audit?action=member.create").await;
    assert_eq!(s, 200, "{html}");
    let rows = audit_rows(&html);
    assert_eq!(rows.len(), 2, "{html}");
    assert!(!html.contains("B-1") && !html.contains("Audit B"));
    let (_, html) = get(&app, &manager, &format!("/app/audit?gym={bgym}")).await;
    assert!(audit_rows(&html).is_empty(), "{html}");
    // Staff may not read the audit log at all.
    app.create_user(
        "staff@aud.test",
        Some((Role::GymStaff, MembershipTarget::Gym(fid, a))),
    )
    .await;
    let staff = web_login(&app, "staff@aud.test", None).await;
    assert_eq!(get(&app, &staff, "/app/audit").await.0, 403);
    app.stop().await;
}

both_backends!(admin_overview, audit_log_filters_in_scope);
