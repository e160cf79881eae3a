//! Inviting from the team page, on both backends: a gym manager invites staff to their gym
//! (the invitation e-mail goes out, the page says so), wrong input is shown next to its field in
//! the page's language with what was typed kept, and roles or places beyond the manager's reach
//! are refused without an invitation.

use crate::common;

use crate::web::{form, get, hidden, post, web_login};
use common::{Backend, TestApp};
use jarvis_core::model::MembershipTarget;
use jarvis_core::{FranchiseId, GymId, Role};
use serde_json::json;

async fn team_invite(b: Backend) {
    let app = TestApp::start(b, &[]).await.unwrap();
    let (s, f) = app
        .post("/api/v1/franchises", json!({"name": "Inv F"}))
        .await;
    assert_eq!(s, 201);
    let fid: FranchiseId = f["id"].as_str().unwrap().parse().unwrap();
    let mut gyms = Vec::new();
    for name in ["Inv A", "Inv B"] {
        let (s, g) = app
            .post("/api/v1/gyms", json!({"franchise_id": fid, "name": name}))
            .await;
        assert_eq!(s, 201);
        gyms.push(g["id"].as_str().unwrap().parse::<GymId>().unwrap());
    }
    let (a, other) = (gyms[0], gyms[1]);
    app.create_user(
        "manager@inv.test",
        Some((Role::GymManager, MembershipTarget::Gym(fid, a))),
    )
    .await;
    let manager = web_login(&app, "manager@inv.test", None).await;
    let (s, html) = get(&app, &manager, "/app/team").await;
    assert_eq!(s, 200, "{html}");
    let invite = html
        .split("id=\"invite\"")
        .nth(1)
        .expect("the invitation form");
    // A manager grants gym roles in their own gym only.
    assert!(invite.contains("value=\"gym_staff\"") && invite.contains("value=\"gym_manager\""));
    assert!(
        !invite.contains("value=\"franchise_owner\"") && !invite.contains("value=\"super_admin\"")
    );
    let place_a = format!("gym:{fid}:{a}");
    assert!(invite.contains(&format!("value=\"{place_a}\"")));
    assert!(
        !invite.contains(&other.to_string()),
        "another gym is not offered"
    );
    let csrf = hidden(&html, "csrf");

    // Bad e-mail: 422, the error next to the field, what was typed kept; nothing sent.
    let body = form(&[
        ("csrf", &csrf),
        ("email", "not-an-email"),
        ("display_name", "Nina Staff"),
        ("role", "gym_staff"),
        ("place", &place_a),
    ]);
    let (s, page) = post(&app, &manager, "/app/team/invite", &body).await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("aria-describedby=\"invite-email-error\""));
    assert!(page.contains("Enter a valid e-mail address."));
    assert!(page.contains("value=\"Nina Staff\""));
    // A gym the manager does not run, even typed by hand: refused on the place.
    let body = form(&[
        ("csrf", &csrf),
        ("email", "nina@inv.test"),
        ("display_name", "Nina Staff"),
        ("role", "gym_staff"),
        ("place", &format!("gym:{fid}:{other}")),
    ]);
    let (s, page) = post(&app, &manager, "/app/team/invite", &body).await;
    assert_eq!(s, 422, "{page}");
    assert!(page.contains("You cannot grant this role there."), "{page}");
    // A role that does not fit the place.
    let body = form(&[
        ("csrf", &csrf),
        ("email", "nina@inv.test"),
        ("display_name", "Nina Staff"),
        ("role", "franchise_owner"),
        ("place", &place_a),
    ]);
    let (s, page) = post(&app, &manager, "/app/team/invite", &body).await;
    assert_eq!(s, 422);
    assert!(page.contains("invite-place-error"));
    let store = app.db.store();
    assert!(
        store
            .emails_to("nina@inv.test", 5)
            .await
            .unwrap()
            .is_empty()
    );

    // The right one: sent, with its e-mail.
    let body = form(&[
        ("csrf", &csrf),
        ("email", "nina@inv.test"),
        ("display_name", "Nina Staff"),
        ("role", "gym_staff"),
        ("place", &place_a),
    ]);
    let (s, to) = post(&app, &manager, "/app/team/invite", &body).await;
    assert_eq!((s, to.as_str()), (303, "/app/team?invited=1"));
    let (_, html) = get(&app, &manager, "/app/team?invited=1").await;
    assert!(html.contains("id=\"invited\"") && html.contains("Invitation sent."));
    let mails = app.mails_to("nina@inv.test", 1).await;
    assert!(mails[0].text.contains("/app/invitations/accept?token="));
    app.stop().await;
}

async fn team_invite_in_french(b: Backend) {
    let app = TestApp::start(b, &[]).await.unwrap();
    let admin = web_login(&app, "admin@test.local", app.admin.totp.as_deref()).await;
    let fr = format!("{admin}; jarvis_lang=fr");
    let (s, html) = get(&app, &fr, "/app/team").await;
    assert_eq!(s, 200);
    let invite = html.split("id=\"invite\"").nth(1).unwrap();
    assert!(
        invite.contains("Inviter quelqu'un") || invite.contains("Inviter quelqu&#39;un"),
        "{invite}"
    );
    assert!(
        invite.contains("value=\"platform\""),
        "a super admin may grant the platform role"
    );
    let csrf = hidden(&html, "csrf");
    let body = form(&[
        ("csrf", &csrf),
        ("email", "x@inv.test"),
        ("display_name", ""),
        ("role", "super_admin"),
        ("place", "platform"),
    ]);
    let (s, page) = post(&app, &fr, "/app/team/invite", &body).await;
    assert_eq!(s, 422, "{page}");
    assert!(
        page.contains("Saisissez un nom de 1 à 120 caractères."),
        "{page}"
    );
    app.stop().await;
}

both_backends!(team_invite, team_invite_in_french);
