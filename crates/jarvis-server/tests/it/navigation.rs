//! The dashboard navigation on the gym pages, on both backends: the sidebar shows only the
//! areas the role may open (staff, manager, franchise owner, super admin), marks the current
//! one with `aria-current="page"`, offers the gym switcher only to users who see several gyms,
//! shows the breadcrumbs down to the item, the signed-in user and sign-out, and the language
//! switch turns the whole page French (no English navigation words left).

use crate::common;

use crate::web::{client, cookie, hidden, web_login};
use common::{Backend, TestApp};
use jarvis_core::model::MembershipTarget;
use jarvis_core::{FranchiseId, GymId, Role};
use serde_json::{Value, json};

async fn get(app: &TestApp, cookies: &str, path: &str) -> String {
    let r = client()
        .get(app.url(path))
        .header("cookie", cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let (s, v) = app.post(path, body).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

/// The desktop sidebar's part of the page (the tablet menu repeats the same links).
fn sidebar(html: &str) -> &str {
    html.split("<aside class=\"sidebar\">")
        .nth(1)
        .unwrap()
        .split("</aside>")
        .next()
        .unwrap()
}

/// The breadcrumbs' texts, in order.
fn crumbs(html: &str) -> Vec<String> {
    let ol = html
        .split("<nav class=\"crumbs\"")
        .nth(1)
        .unwrap()
        .split("</ol>")
        .next()
        .unwrap();
    ol.split("<li")
        .skip(1)
        .map(|li| {
            let inner = li.split_once('>').unwrap().1;
            let text: String = inner
                .split('<')
                .map(|part| part.split_once('>').map(|(_, t)| t).unwrap_or(part))
                .collect();
            text.trim().to_string()
        })
        .collect()
}

/// The `href`s in `html` marked `aria-current="page"`.
fn current(html: &str) -> Vec<String> {
    html.split("<a href=\"")
        .skip(1)
        .filter(|a| {
            a.split('>')
                .next()
                .unwrap()
                .contains("aria-current=\"page\"")
        })
        .map(|a| a.split('"').next().unwrap().to_string())
        .collect()
}

async fn navigation(backend: Backend) {
    let Some(app) = TestApp::start(backend, &[]).await else {
        return;
    };
    let fid: FranchiseId =
        created(&app, "/api/v1/franchises", json!({"name": "Nav F"})).await["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    let mut gyms = Vec::new();
    for name in ["Nav Alpha", "Nav Beta"] {
        let g = created(
            &app,
            "/api/v1/gyms",
            json!({"franchise_id": fid, "name": name, "timezone": "Europe/Paris"}),
        )
        .await;
        gyms.push(g["id"].as_str().unwrap().parse::<GymId>().unwrap());
    }
    let (a, b) = (gyms[0], gyms[1]);
    let m = created(
        &app,
        &format!("/api/v1/gyms/{a}/members"),
        json!({"badge_id": "NAV-1", "first_name": "Ada", "last_name": "Lovelace"}),
    )
    .await;
    let member = m["id"].as_str().unwrap();

    // Staff: members, kiosks, classes; no conversations, import, settings, team, admin, switcher.
    app.as_role(
        "staff@nav.test",
        Role::GymStaff,
        MembershipTarget::Gym(fid, a),
    )
    .await;
    let staff = web_login(&app, "staff@nav.test", None).await;
    let html = get(&app, &staff, &format!("/app/gyms/{a}/members")).await;
    let side = sidebar(&html);
    for area in ["members", "kiosks", "classes"] {
        assert!(
            side.contains(&format!("href=\"/app/gyms/{a}/{area}\"")),
            "{area}"
        );
    }
    assert!(side.contains(&format!("href=\"/app/gyms/{a}\"")));
    for absent in [
        format!("/app/gyms/{a}/voice"),
        format!("/app/gyms/{a}/import"),
        format!("/app/gyms/{a}#settings"),
        "/app/team".into(),
        "/app/ops/jobs".into(),
        "/app/voice/prices".into(),
    ] {
        assert!(!side.contains(&absent), "staff sees {absent}");
    }
    assert_eq!(current(side), vec![format!("/app/gyms/{a}/members")]);
    assert!(!html.contains("class=\"switcher\""), "one gym: no switcher");
    assert_eq!(crumbs(&html), ["Dashboard", "Gyms", "Nav Alpha", "Members"]);
    assert!(html.contains("User staff@nav.test"), "signed-in user shown");
    assert!(
        html.contains("action=\"/app/logout\""),
        "sign-out in the header"
    );
    // An item page: the area crumb links back, the item is the current crumb.
    let html = get(&app, &staff, &format!("/app/gyms/{a}/members/{member}")).await;
    assert_eq!(
        crumbs(&html),
        ["Dashboard", "Gyms", "Nav Alpha", "Members", "Ada Lovelace"]
    );
    assert!(html.contains("<li aria-current=\"page\">Ada Lovelace</li>"));
    assert_eq!(
        current(sidebar(&html)),
        vec![format!("/app/gyms/{a}/members")]
    );

    // Manager: every area of the gym, settings and team; still one gym, no admin links.
    app.as_role(
        "manager@nav.test",
        Role::GymManager,
        MembershipTarget::Gym(fid, a),
    )
    .await;
    let manager = web_login(&app, "manager@nav.test", None).await;
    let html = get(&app, &manager, &format!("/app/gyms/{a}/voice")).await;
    let side = sidebar(&html);
    for href in [
        format!("/app/gyms/{a}/voice"),
        format!("/app/gyms/{a}/import"),
        format!("/app/gyms/{a}#settings"),
        "/app/team".into(),
    ] {
        assert!(
            side.contains(&format!("href=\"{href}\"")),
            "manager lacks {href}"
        );
    }
    assert!(!side.contains("/app/ops/jobs") && !side.contains("/app/voice/prices"));
    assert_eq!(current(side), vec![format!("/app/gyms/{a}/voice")]);
    assert!(!html.contains("class=\"switcher\""));
    assert_eq!(
        crumbs(&html),
        ["Dashboard", "Gyms", "Nav Alpha", "Conversations"]
    );
    // The overview is current on the gym's own page, where the settings anchor lands.
    let html = get(&app, &manager, &format!("/app/gyms/{a}")).await;
    assert_eq!(current(sidebar(&html)), vec![format!("/app/gyms/{a}")]);
    assert!(html.contains("id=\"settings\""));
    // A form post re-rendered on its own (POST-only) path: the language switch goes back to a
    // page a GET can open (the gym), not to that path.
    let csrf = hidden(&html, "csrf");
    let r = client()
        .post(app.url(&format!("/app/gyms/{a}/settings")))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header("cookie", &manager)
        .body(format!("csrf={csrf}&name=&timezone=Nowhere%2FLand"))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let page = r.text().await.unwrap();
    assert!(status >= 400, "invalid settings re-render: {status}");
    assert!(page.contains(&format!("next=/app/gyms/{a}\"")), "{page}");
    assert!(!page.contains(&format!("next=/app/gyms/{a}/settings")));

    // Franchise owner sees both gyms: the switcher offers the other one, on the same area.
    let owner = app
        .as_role(
            "owner@nav.test",
            Role::FranchiseOwner,
            MembershipTarget::Franchise(fid),
        )
        .await;
    let owner_s = web_login(&app, "owner@nav.test", owner.totp.as_deref()).await;
    let html = get(&app, &owner_s, &format!("/app/gyms/{a}/kiosks")).await;
    let side = sidebar(&html);
    assert!(side.contains("class=\"switcher\""));
    assert!(side.contains(&format!("href=\"/app/gyms/{b}/kiosks\">Nav Beta</a>")));
    assert!(!side.contains(&format!("href=\"/app/gyms/{a}/kiosks\">Nav Alpha</a>")));

    // Super admin: the admin links, current on the admin page itself.
    let admin_s = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let html = get(&app, &admin_s, &format!("/app/gyms/{b}/classes")).await;
    let side = sidebar(&html);
    assert!(side.contains("href=\"/app/ops/jobs\"") && side.contains("href=\"/app/voice/prices\""));
    assert!(side.contains(&format!("href=\"/app/gyms/{a}/classes\">Nav Alpha</a>")));
    let html = get(&app, &admin_s, "/app/voice/prices").await;
    assert_eq!(
        current(sidebar(&html)),
        vec!["/app/voice/prices".to_string()]
    );
    assert_eq!(crumbs(&html), ["Dashboard", "Model prices"]);

    // The language switch: a French page for this browser, and back to where it was.
    let back = format!("/app/gyms/{a}/members");
    let r = client()
        .get(app.url(&format!("/app/language?lang=fr&next={back}")))
        .header("cookie", &manager)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], back.as_str());
    let lang = cookie(&r, "jarvis_lang").unwrap();
    assert_eq!(lang, "fr");
    let fr = get(&app, &format!("{manager}; jarvis_lang={lang}"), &back).await;
    assert!(fr.contains("<html lang=\"fr\">"));
    assert_eq!(
        crumbs(&fr),
        ["Tableau de bord", "Salles", "Nav Alpha", "Membres"]
    );
    let side = sidebar(&fr);
    for word in [
        "Vue d'ensemble",
        "Conversations",
        "Membres",
        "Bornes",
        "Cours",
        "Réglages",
        "Équipe",
    ] {
        assert!(
            side.contains(word) || side.contains(&word.replace('\'', "&#39;")),
            "{word}"
        );
    }
    for english in [
        "Overview",
        "Members",
        "Kiosks",
        "Classes",
        "Settings",
        "Team",
        "Log out",
        "Main navigation",
        "Breadcrumbs",
        "Signed in",
    ] {
        assert!(!fr.contains(english), "English on a French page: {english}");
    }
    assert!(fr.contains("Se déconnecter") && fr.contains("Fil d"));
    // Unknown languages and foreign targets are refused or kept local.
    let r = client()
        .get(app.url("/app/language?lang=xx&next=/app"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = client()
        .get(app.url("/app/language?lang=en&next=//evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/app");
    app.stop().await;
}

#[tokio::test]
async fn navigation_sqlite() {
    navigation(Backend::Sqlite).await;
}

#[tokio::test]
async fn navigation_postgres() {
    navigation(Backend::Postgres).await;
}
