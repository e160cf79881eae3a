//! The background-jobs page: super admins see every job kind with its schedule and the dead
//! jobs, retry a dead job and run a kind now (CSRF-checked); other roles get 403.

use crate::common;

use crate::web::{client, hidden, web_login};
use common::{Backend, TestApp};
use jarvis_core::model::*;
use jarvis_core::{InstanceId, PageRequest, Role};
use jarvis_store::JobFilter;
use serde_json::json;

async fn get(app: &TestApp, session: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(app.url(path))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(app: &TestApp, session: &str, path: &str, csrf: &str) -> (u16, String) {
    let r = client()
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header("cookie", session)
        .body(format!("csrf={csrf}"))
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

async fn jobs_page(b: Backend) {
    let app = TestApp::start(b, &[]).await.unwrap();
    let store = app.db.store();
    // A dead job of a kind no instance runs (so nothing claims it behind the test's back).
    let dead = store
        .enqueue(NewJob::new("test.unregistered", json!({})).with_max_attempts(1))
        .await
        .unwrap()
        .job;
    let c = store
        .claim(
            InstanceId::new(),
            &["test.unregistered"],
            1,
            time::Duration::minutes(1),
        )
        .await
        .unwrap()
        .remove(0);
    let now = time::OffsetDateTime::now_utc();
    assert_eq!(
        store.fail(&c.claim, "boom", Some(now)).await.unwrap(),
        Some(RunOutcome::Dead)
    );

    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let (s, html) = get(&app, &admin, "/app/ops/jobs").await;
    assert_eq!(s, 200, "{html}");
    for kind in [
        "mail.drain",
        "sessions.purge",
        "imports.run",
        "imports.sweep",
        "jobs.purge",
        "voice.reap",
    ] {
        assert!(html.contains(kind), "{kind} listed");
    }
    assert!(html.contains("*/10 * * * *"), "schedules shown");
    assert!(
        !html.contains("diag.sleep"),
        "no diagnostic kind by default"
    );
    let retry = format!("/app/ops/jobs/{}/retry", dead.id);
    assert!(
        html.contains(&retry) && html.contains("boom"),
        "dead job listed"
    );

    let csrf = hidden(&html, "csrf");
    assert_eq!(post(&app, &admin, &retry, "forged").await.0, 403);
    assert_eq!(store.job(dead.id).await.unwrap().status, JobStatus::Dead);
    assert_eq!(
        post(&app, &admin, &retry, &csrf).await,
        (303, "/app/ops/jobs".to_string())
    );
    let j = store.job(dead.id).await.unwrap();
    assert_eq!((j.status, j.max_attempts), (JobStatus::Queued, 2));

    let before = store
        .list_jobs(
            &JobFilter {
                kind: Some("jobs.purge".into()),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap()
        .total;
    let run = "/app/ops/jobs/kinds/jobs.purge/run";
    assert_eq!(post(&app, &admin, run, &csrf).await.0, 303);
    let after = store
        .list_jobs(
            &JobFilter {
                kind: Some("jobs.purge".into()),
                ..Default::default()
            },
            PageRequest::default(),
        )
        .await
        .unwrap()
        .total;
    assert_eq!(after, before + 1, "run now enqueues one job");
    assert_eq!(
        post(&app, &admin, "/app/ops/jobs/kinds/no.such/run", &csrf)
            .await
            .0,
        404
    );

    // Other roles: no page, no actions.
    let (s, f) = app.post("/api/v1/franchises", json!({"name": "F"})).await;
    assert_eq!(s, 201);
    let fid: uuid::Uuid = f["id"].as_str().unwrap().parse().unwrap();
    let (s, g) = app
        .post("/api/v1/gyms", json!({"franchise_id": fid, "name": "G"}))
        .await;
    assert_eq!(s, 201);
    let gid: uuid::Uuid = g["id"].as_str().unwrap().parse().unwrap();
    app.create_user(
        "manager@ops.test",
        Some((
            Role::GymManager,
            MembershipTarget::Gym(fid.into(), gid.into()),
        )),
    )
    .await;
    let manager = web_login(&app, "manager@ops.test", None).await;
    let (s, html) = get(&app, &manager, "/app/ops/jobs").await;
    assert_eq!(s, 403, "{html}");
    assert!(!html.contains("mail.drain"));
    let (_, home) = get(&app, &manager, "/app").await;
    let csrf = hidden(&home, "csrf");
    assert_eq!(post(&app, &manager, &retry, &csrf).await.0, 403);
    app.stop().await;
}

#[tokio::test]
async fn sqlite_jobs_page_lists_kinds_and_retries_dead_jobs() {
    jobs_page(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_jobs_page_lists_kinds_and_retries_dead_jobs() {
    jobs_page(Backend::Postgres).await;
}
