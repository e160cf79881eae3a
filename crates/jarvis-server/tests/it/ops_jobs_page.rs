//! The background-jobs page: super admins see every job kind with its schedule and the dead
//! jobs, retry a dead job and run a kind now (CSRF-checked); other roles get 403.

use crate::common;

use common::{Backend, PASSWORD, TestApp, totp_code};
use jarvis_core::model::*;
use jarvis_core::{InstanceId, PageRequest, Role};
use jarvis_store::JobFilter;
use serde_json::json;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn hidden(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    html.split(&needle)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// Signs in through the form (and the TOTP step when `totp` is given); the session cookie.
async fn web_login(app: &TestApp, email: &str, totp: Option<&[u8]>) -> String {
    let c = client();
    let resp = c.get(app.url("/app/login?next=/app")).send().await.unwrap();
    let csrf_cookie = cookie(&resp, "jarvis_csrf").unwrap();
    let csrf = hidden(&resp.text().await.unwrap(), "csrf");
    let r = c
        .post(app.url("/app/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header("cookie", format!("jarvis_csrf={csrf_cookie}"))
        .body(format!(
            "email={}&password={PASSWORD}&next=%2Fapp&csrf={csrf}",
            email.replace('@', "%40")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = cookie(&r, "jarvis_session").unwrap();
    let Some(secret) = totp else {
        return format!("jarvis_session={session}");
    };
    let mfa = c
        .get(app.url("/app/mfa?next=/app"))
        .header("cookie", format!("jarvis_session={session}"))
        .send()
        .await
        .unwrap();
    let token = hidden(&mfa.text().await.unwrap(), "csrf");
    let r = c
        .post(app.url("/app/mfa"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("jarvis_session={session}"))
        .body(format!(
            "code={}&next=%2Fapp&csrf={token}",
            totp_code(secret, 1)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    format!("jarvis_session={}", cookie(&r, "jarvis_session").unwrap())
}

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
