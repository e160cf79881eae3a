//! The usage page (franchise owners see their franchise, super admins every franchise and the
//! platform; bars, alerts; French and English) and the billed-costs page (super admins only).

use crate::common::{Backend, TestApp};
use crate::web::{client, web_login};
use jarvis_app::auth::crypto::MasterKey;
use jarvis_app::usage::{AlertMail, PlanLimits, UsageLimits};
use jarvis_core::model::*;
use jarvis_core::{Role, Scope};
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

async fn franchise_with_gym(app: &TestApp, name: &str) -> (uuid::Uuid, uuid::Uuid) {
    let (s, f) = app.post("/api/v1/franchises", json!({"name": name})).await;
    assert_eq!(s, 201, "{f}");
    let fid: uuid::Uuid = f["id"].as_str().unwrap().parse().unwrap();
    let (s, g) = app
        .post(
            "/api/v1/gyms",
            json!({"franchise_id": fid, "name": format!("{name} gym")}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    (fid, g["id"].as_str().unwrap().parse().unwrap())
}

async fn usage_and_costs_pages(b: Backend) {
    // No job workers: the hourly measure must not run behind the test's back.
    let app = TestApp::start(b, &[("JARVIS_JOBS_WORKERS", "false")])
        .await
        .unwrap();
    let store = app.db.store();
    let (fa, ga) = franchise_with_gym(&app, "Usage Alpha").await;
    franchise_with_gym(&app, "Usage Beta").await;
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;

    let (s, html) = get(&app, &admin, "/app/usage").await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Not measured yet"), "{html}");
    assert!(html.contains("href=\"/app/usage\" aria-current=\"page\""));

    // One measure, with a plan of one row per franchise: each franchise at 100 %.
    let master = MasterKey::generate();
    let limits = UsageLimits {
        franchise: PlanLimits {
            rows: 1,
            ..Default::default()
        },
        platform: PlanLimits::default(),
    };
    let mail = AlertMail {
        master: &master,
        public_base: "http://jarvis.test",
    };
    let r = jarvis_app::usage::check(
        store.as_ref(),
        None,
        &limits,
        &mail,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    assert_eq!(r.alerts, 4, "80 and 100 % of both franchises");

    let (s, html) = get(&app, &admin, "/app/usage").await;
    assert_eq!(s, 200);
    assert!(html.contains("data-platform=\"true\""));
    assert!(
        html.contains("data-franchise=\"Usage Alpha\"")
            && html.contains("data-franchise=\"Usage Beta\"")
    );
    assert!(html.contains("<meter") && html.contains("100 %"), "{html}");
    assert!(html.contains("Database rows") && html.contains("unlimited"));
    assert!(html.contains("id=\"usage-alerts\""));

    // The owner of Alpha, in French: Alpha only, no platform, no English.
    let owner = app
        .as_role(
            "owner@usage.test",
            Role::FranchiseOwner,
            MembershipTarget::Franchise(fa.into()),
        )
        .await;
    let owner_s = format!(
        "{}; jarvis_lang=fr",
        web_login(&app, "owner@usage.test", owner.totp.as_deref()).await
    );
    let (s, html) = get(&app, &owner_s, "/app/usage").await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("Consommation et limites") && html.contains("Lignes en base"));
    assert!(html.contains("data-franchise=\"Usage Alpha\""));
    assert!(!html.contains("Usage Beta") && !html.contains("data-platform"));
    for english in [
        "Database rows",
        "Share of the limit",
        "Recent alerts",
        "unlimited",
    ] {
        assert!(
            !html.contains(english),
            "English on a French page: {english}"
        );
    }
    let (s, _) = get(&app, &owner_s, "/app/ops/costs").await;
    assert_eq!(s, 403, "the bill is the platform's");

    // A gym manager: neither page, no link.
    app.create_user(
        "manager@usage.test",
        Some((
            Role::GymManager,
            MembershipTarget::Gym(fa.into(), ga.into()),
        )),
    )
    .await;
    let manager = web_login(&app, "manager@usage.test", None).await;
    let (s, html) = get(&app, &manager, "/app/usage").await;
    assert_eq!(s, 403, "{html}");
    let (_, home) = get(&app, &manager, "/app").await;
    assert!(!home.contains("href=\"/app/usage\""));

    // The billed-costs page: no admin key configured, a bill read for yesterday.
    let yesterday = time::OffsetDateTime::now_utc().date() - time::Duration::days(1);
    store
        .put_billed_costs(&Scope::Platform, &[(yesterday, 1_000_000)])
        .await
        .unwrap();
    let (s, html) = get(&app, &admin, "/app/ops/costs").await;
    assert_eq!(s, 200, "{html}");
    assert!(html.contains("No OpenAI admin key is configured"));
    assert!(html.contains("href=\"/app/ops/costs\" aria-current=\"page\""));
    let row = html
        .split(&format!("data-day=\"{yesterday}\""))
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .unwrap_or_else(|| panic!("{html}"));
    assert!(
        row.contains("$1.00") && row.contains("−$1.00") && row.contains("over the margin"),
        "{row}"
    );
    let (s, html) = get(&app, &format!("{admin}; jarvis_lang=fr"), "/app/ops/costs").await;
    assert_eq!(s, 200);
    assert!(html.contains("Coûts facturés et mesurés") && html.contains("au-delà de la marge"));
    app.stop().await;
}

both_backends!(usage_and_costs_pages);
