//! The churn and report pages, on both backends: the churn list shows a gym's scored members
//! highest first (and an empty state when none is scored), the member page explains the score
//! factor by factor in the reader's language (English here; the report in the gym's French), the reports list links each stored report, which
//! opens and downloads in its gym only (404 from another gym's manager or path).

use crate::common;

use crate::web::{get, web_login};
use common::{Backend, TestApp};
use jarvis_app::auth::crypto::MasterKey;
use jarvis_app::objects::Objects;
use jarvis_app::reports::{self, ReportDeps, ReportOutcome, Week};
use jarvis_core::churn::*;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::NewChurnScore;
use serde_json::json;
use time::{Duration, OffsetDateTime};

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

async fn member(app: &TestApp, g: GymId, badge: &str, first: &str) -> MemberId {
    let (s, v) = app
        .post(
            &format!("/api/v1/gyms/{g}/members"),
            json!({"badge_id": badge, "first_name": first, "last_name": "Durand"}),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    v["id"].as_str().unwrap().parse().unwrap()
}

fn signals(m: MemberId, now: OffsetDateTime, recent: u32, days: i64, intents: u32) -> ChurnSignals {
    ChurnSignals {
        member_id: m,
        visits_recent: recent,
        visits_prior: 6,
        last_visit_at: Some(now - Duration::days(days)),
        membership_end_date: None,
        sentiment_avg: Some(-0.5),
        cancellation_intents: intents,
    }
}

async fn churn_and_report_pages(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let objects_dir = dir.path().display().to_string();
    let Some(app) = TestApp::start(backend, &[("JARVIS_STORAGE_URL", &objects_dir)]).await else {
        return;
    };
    let store = app.db.store();
    let now = OffsetDateTime::now_utc();
    let (f, g) = gym(&app, "Churn").await;
    let (f2, g2) = gym(&app, "Ailleurs").await;
    let scope = Scope::Gym {
        franchise: f,
        gym: g,
    };
    let leaving = member(&app, g, "C-1", "Léa<b>").await;
    let fading = member(&app, g, "C-2", "Marc").await;
    let scores: Vec<NewChurnScore> = [
        signals(leaving, now, 0, 50, 1),
        signals(fading, now, 3, 15, 0),
    ]
    .iter()
    .map(|s| NewChurnScore {
        member_id: s.member_id,
        assessment: assess(s, now),
    })
    .collect();
    let leaving_score = scores[0].assessment.score;
    assert_eq!(scores[0].assessment.level, ChurnLevel::High);
    store
        .put_churn_scores(&scope, g, now, &scores)
        .await
        .unwrap();

    let manager = app
        .as_role(
            "churn-manager@example.com",
            Role::GymManager,
            MembershipTarget::Gym(f, g),
        )
        .await;
    let session = web_login(&app, &manager.email, manager.totp.as_deref()).await;

    // The list: highest first, names escaped, levels translated, linked from the members page.
    let (s, html) = get(&app, &session, &format!("/app/gyms/{g}/churn")).await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("churn risk"), "{html}");
    let first = html.find(&format!("data-member=\"{leaving}\"")).unwrap();
    let second = html.find(&format!("data-member=\"{fading}\"")).unwrap();
    assert!(first < second, "highest score first");
    assert!(html.contains("<span class=\"pill\">high</span>"));
    assert!(
        html.contains("Léa&#60;b&#62;") && !html.contains("Léa<b>"),
        "{html}"
    );
    // The level filter narrows the list (the overview's tile links to it).
    assert_ne!(scores[1].assessment.level, ChurnLevel::High);
    let (s, html) = get(&app, &session, &format!("/app/gyms/{g}/churn?level=high")).await;
    assert_eq!(s, 200);
    assert!(html.contains(&format!("data-member=\"{leaving}\"")));
    assert!(
        !html.contains(&format!("data-member=\"{fading}\"")),
        "{html}"
    );
    assert!(html.contains("<option value=\"high\" selected>"));
    let (_, html) = get(&app, &session, &format!("/app/gyms/{g}/members")).await;
    assert!(html.contains(&format!("href=\"/app/gyms/{g}/churn\"")));
    // Reports are in the gym's navigation.
    assert!(html.contains(&format!("href=\"/app/gyms/{g}/reports\"")));

    // The member page explains the score.
    let (s, html) = get(&app, &session, &format!("/app/gyms/{g}/members/{leaving}")).await;
    assert_eq!(s, 200);
    assert!(
        html.contains(&format!(
            "<strong id=\"churn-score\">{leaving_score}</strong>"
        )),
        "{html}"
    );
    assert!(html.contains("Intent to cancel"));
    assert!(html.contains("50 day(s) ago"));
    assert!(html.contains("+25"));
    assert!(!html.contains("cancellation_intent") && !html.contains("days_since_last_visit"));

    // Another gym: empty state (seen by a super admin), and this manager gets a 404.
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let (s, html) = get(&app, &admin, &format!("/app/gyms/{g2}/churn")).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"no-churn\""), "{html}");
    let (s, _) = get(&app, &session, &format!("/app/gyms/{g2}/churn")).await;
    assert_eq!(s, 404);

    // Reports: empty, then one built for last week.
    let (s, html) = get(&app, &session, &format!("/app/gyms/{g}/reports")).await;
    assert_eq!(s, 200);
    assert!(html.contains("id=\"no-reports\""), "{html}");
    let gym_row = store.gym(&scope, g).await.unwrap();
    let deps = ReportDeps {
        store: store.clone(),
        objects: Objects::local(dir.path()).unwrap(),
        master: MasterKey::generate(),
        public_base: "http://jarvis.test".into(),
    };
    let week = Week::previous(now);
    let ReportOutcome::Created(report, emails) =
        reports::build_for_gym(&deps, &gym_row, week).await.unwrap()
    else {
        panic!("the report is new");
    };
    assert_eq!(emails, 1, "one manager");
    let (s, html) = get(&app, &session, &format!("/app/gyms/{g}/reports")).await;
    assert_eq!(s, 200);
    assert!(html.contains(&week.label()));
    assert!(html.contains(&format!("href=\"/app/gyms/{g}/reports/{}\"", report.id)));

    let view = format!("/app/gyms/{g}/reports/{}", report.id);
    let r = reqwest::Client::new()
        .get(app.url(&view))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    let body = r.text().await.unwrap();
    assert!(body.contains("Rapport hebdomadaire") && body.contains(&week.label()));
    assert!(
        body.contains("Léa&#60;b&#62;"),
        "the high-risk member is listed"
    );
    let r = reqwest::Client::new()
        .get(app.url(&format!("{view}/download")))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );

    // Foreign: another gym's manager, or this report under another gym's path.
    let other = app
        .as_role(
            "churn-other@example.com",
            Role::GymManager,
            MembershipTarget::Gym(f2, g2),
        )
        .await;
    let other_session = web_login(&app, &other.email, other.totp.as_deref()).await;
    let (s, _) = get(&app, &other_session, &view).await;
    assert_eq!(s, 404);
    let (s, _) = get(
        &app,
        &other_session,
        &format!("/app/gyms/{g2}/reports/{}", report.id),
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = get(&app, &other_session, &format!("{view}/download")).await;
    assert_eq!(s, 404);
    app.stop().await;
}

both_backends!(churn_and_report_pages);
