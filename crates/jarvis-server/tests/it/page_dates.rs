//! Dates and numbers on the dashboard, on both backends: a gym's pages show its times in the
//! gym's time zone (a Paris gym's fact written at 06:35 UTC in winter reads 07:35) with the
//! month in the page's language, the footer names the zone, and the home page lists the gyms
//! the user sees on the shared layout; the not-found page follows `Accept-Language`.

use crate::common;

use crate::web::{client, web_login};
use common::{Backend, TestApp};
use jarvis_core::model::MembershipTarget;
use jarvis_core::tz::Zone;
use jarvis_core::{FranchiseId, GymId, Role};
use serde_json::json;
use time::OffsetDateTime;

/// The page at `path` (200 expected).
async fn get(app: &TestApp, cookies: &str, path: &str) -> String {
    let (status, html) = crate::web::get(app, cookies, path).await;
    assert_eq!(status, 200, "{path}");
    html
}

const FR: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];
const EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `t` as the page should print it: `d mon yyyy, HH:MM`.
fn shown(t: OffsetDateTime, months: &[&str; 12]) -> String {
    format!(
        "{} {} {}, {:02}:{:02}",
        t.day(),
        months[usize::from(u8::from(t.month())) - 1],
        t.year(),
        t.hour(),
        t.minute()
    )
}

async fn gym_times_and_home(backend: Backend) {
    let Ok(paris) = Zone::load("Europe/Paris") else {
        eprintln!("SKIP: no Europe/Paris in the time zone database (install tzdata)");
        assert!(
            std::env::var_os("CI").is_none(),
            "tzdata must be installed in CI"
        );
        return;
    };
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let (s, f) = app
        .post("/api/v1/franchises", json!({"name": "Dates F"}))
        .await;
    assert_eq!(s, 201, "{f}");
    let fid: FranchiseId = f["id"].as_str().unwrap().parse().unwrap();
    let (s, g) = app
        .post(
            "/api/v1/gyms",
            json!({"franchise_id": fid, "name": "Dates Paris", "timezone": "Europe/Paris"}),
        )
        .await;
    assert_eq!(s, 201, "{g}");
    let gym: GymId = g["id"].as_str().unwrap().parse().unwrap();
    let (s, m) = app
        .post(
            &format!("/api/v1/gyms/{gym}/members"),
            json!({"badge_id": "DATES-1", "first_name": "Ada", "last_name": "Lovelace"}),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let member = m["id"].as_str().unwrap().to_string();
    let (s, fact) = app
        .post(
            &format!("/api/v1/gyms/{gym}/members/{member}/facts"),
            json!({"note": "Likes rowing"}),
        )
        .await;
    assert_eq!(s, 201, "{fact}");
    let at = OffsetDateTime::parse(
        fact["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let local = paris.local(at);
    assert_ne!(local.offset(), time::UtcOffset::UTC, "Paris is never UTC");

    app.as_role(
        "manager@dates.test",
        Role::GymManager,
        MembershipTarget::Gym(fid, gym),
    )
    .await;
    let manager = web_login(&app, "manager@dates.test", None).await;
    let path = format!("/app/gyms/{gym}/members/{member}");

    let fr = get(&app, &format!("{manager}; jarvis_lang=fr"), &path).await;
    assert!(
        fr.contains(&shown(local, &FR)),
        "the fact's time in Paris, French month: {}",
        shown(local, &FR)
    );
    assert!(
        !fr.contains(&shown(at, &FR)),
        "not the UTC time {}",
        shown(at, &FR)
    );
    assert!(
        fr.contains("Heures affichées : Europe/Paris"),
        "footer names the zone"
    );

    let en = get(&app, &format!("{manager}; jarvis_lang=en"), &path).await;
    assert!(
        en.contains(&shown(local, &EN)),
        "English month: {}",
        shown(local, &EN)
    );
    assert!(en.contains("Times shown in Europe/Paris"));

    // The home page: the shared layout (sidebar) and the gyms the manager sees.
    let home = get(&app, &format!("{manager}; jarvis_lang=en"), "/app").await;
    assert!(
        home.contains("<aside class=\"sidebar\">"),
        "home on the shared layout"
    );
    assert!(home.contains("Your gyms"));
    assert!(
        home.contains(&format!("href=\"/app/gyms/{gym}\"")),
        "gym tile links to its overview"
    );
    assert!(home.contains("Dates Paris"));
    // Outside a gym, times are UTC and the footer says so.
    assert!(home.contains("Times shown in UTC"));

    // A user who sees no gym gets the empty state, in French.
    let (s, f2) = app
        .post("/api/v1/franchises", json!({"name": "Empty F"}))
        .await;
    assert_eq!(s, 201, "{f2}");
    let empty_fid: FranchiseId = f2["id"].as_str().unwrap().parse().unwrap();
    let lonely = app
        .as_role(
            "lonely@dates.test",
            Role::FranchiseOwner,
            MembershipTarget::Franchise(empty_fid),
        )
        .await;
    let lonely = web_login(&app, "lonely@dates.test", lonely.totp.as_deref()).await;
    let home = get(&app, &format!("{lonely}; jarvis_lang=fr"), "/app").await;
    assert!(home.contains("Aucune salle pour le moment"), "empty state");
    assert!(
        !home.contains("Dates Paris"),
        "no foreign gym on the home page"
    );

    // The not-found page speaks the visitor's language too.
    for (lang, title) in [("fr", "Page introuvable"), ("en", "Page not found")] {
        let r = client()
            .get(app.url("/no/such/page"))
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let html = r.text().await.unwrap();
        assert!(
            html.contains(title) && html.contains(&format!("lang=\"{lang}\"")),
            "{html}"
        );
    }
}

both_backends!(gym_times_and_home);
