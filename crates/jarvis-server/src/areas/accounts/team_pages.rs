//! The dashboard's team page (French and English): the users holding a role in the caller's
//! tenant, with disable / re-enable / revoke-a-role actions. Every action goes through a
//! confirmation page and a CSRF-checked POST, and through the same accounts service as the JSON
//! API (`users_api`).

use crate::auth::web::{CsrfForm, PageUser};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::chrome::{Chrome, ConfirmPage};
use crate::web::i18n::{Msg, Tr};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use jarvis_core::model::{Membership, TeamMember};
use jarvis_core::{MembershipId, PageRequest, UserId};
use serde::Deserialize;

/// Page routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/team", get(team_page))
        .route(
            "/app/team/{id}/disable",
            get(disable_confirm).post(disable_submit),
        )
        .route(
            "/app/team/{id}/enable",
            get(enable_confirm).post(enable_submit),
        )
        .route(
            "/app/team/{id}/memberships/{mid}/revoke",
            get(revoke_confirm).post(revoke_submit),
        )
}

/// Where a membership applies, for the table.
pub fn place(t: &Tr, m: &Membership) -> String {
    match (m.franchise_id, m.gym_id) {
        (None, _) => t.get(Msg::PlacePlatform).to_string(),
        (Some(f), None) => format!("{} {}", t.get(Msg::PlaceFranchise), short(&f.to_string())),
        (Some(_), Some(g)) => format!("{} {}", t.get(Msg::PlaceGym), short(&g.to_string())),
    }
}

/// The last characters of an id, enough to tell rows apart in a table.
fn short(id: &str) -> &str {
    id.get(id.len().saturating_sub(6)..).unwrap_or(id)
}

#[derive(Template)]
#[template(path = "team/team.html")]
struct TeamPage {
    c: Chrome,
    me: UserId,
    q: String,
    rows: Vec<TeamMember>,
    total: u64,
    from: u64,
    to: u64,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "team/message.html")]
struct MessagePage {
    c: Chrome,
    message: String,
}

/// An error page in the user's language, with the reason an action is refused.
fn error_page(u: &PageUser, e: ApiError) -> Response {
    let c = Chrome::plain(u);
    let t = c.t;
    let msg = match (e.status, e.code) {
        (StatusCode::NOT_FOUND, _) => t.get(Msg::NotFound).to_string(),
        (_, "own_account") => t.get(Msg::OwnAccount).to_string(),
        (_, "higher_role") => t.get(Msg::HigherRole).to_string(),
        (_, "roles_elsewhere") => t.get(Msg::RolesElsewhere).to_string(),
        (_, "last_super_admin") => t.get(Msg::LastSuperAdmin).to_string(),
        (StatusCode::FORBIDDEN, _) => t.get(Msg::TeamForbidden).to_string(),
        _ => e.message.clone(),
    };
    page(MessagePage { c, message: msg }, e.status)
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    offset: Option<u64>,
}

/// Query-string encoding of a search term.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn team_page(
    State(state): State<AppState>,
    u: PageUser,
    Query(q): Query<ListQuery>,
) -> Response {
    let req = match PageRequest::new(Some(50), q.offset) {
        Ok(r) => r,
        Err(e) => return error_page(&u, ApiError::bad_request("invalid_query", e.to_string())),
    };
    let search = q.q.clone().unwrap_or_default();
    let filter = q.q.filter(|s| !s.trim().is_empty());
    let p = match state
        .auth
        .accounts
        .team(&u.caller.principal, filter, req)
        .await
    {
        Ok(p) => p,
        Err(e) => return error_page(&u, e.into()),
    };
    let lim = u64::from(p.limit);
    let extra = if search.is_empty() {
        String::new()
    } else {
        format!("&q={}", encode(&search))
    };
    let link = |o: u64| format!("/app/team?offset={o}{extra}");
    page(
        TeamPage {
            c: Chrome::plain(&u),
            me: u.user.id,
            q: search.clone(),
            total: p.total,
            from: if p.total == 0 {
                0
            } else {
                p.offset.saturating_add(1)
            },
            to: p.offset.saturating_add(p.items.len() as u64),
            prev: (p.offset > 0).then(|| link(p.offset.saturating_sub(lim))),
            next: (p.offset.saturating_add(lim) < p.total)
                .then(|| link(p.offset.saturating_add(lim))),
            rows: p.items,
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct Empty {}

/// The confirmation page of an action on `id`, after checking the caller may do it.
async fn confirm(
    state: &AppState,
    u: &PageUser,
    id: UserId,
    question: &'static str,
    action: String,
    check: Result<(), ApiError>,
) -> Response {
    if let Err(e) = check {
        return error_page(u, e);
    }
    let who = match state
        .auth
        .accounts
        .team_member(&u.caller.principal, id)
        .await
    {
        Ok(v) => v.member.user,
        Err(e) => return error_page(u, e.into()),
    };
    page(
        ConfirmPage {
            c: Chrome::plain(u),
            subject: format!("{} <{}>", who.display_name, who.email),
            question,
            action,
            back: "/app/team".into(),
        },
        StatusCode::OK,
    )
}

/// The confirmation page of disabling (`disable`) or re-enabling a user: both need the same
/// reach over the account.
async fn toggle_confirm(state: AppState, u: PageUser, id: UserId, disable: bool) -> Response {
    let check = state
        .auth
        .accounts
        .disable_scope(&u.caller.principal, id)
        .await
        .map(|_| ())
        .map_err(ApiError::from);
    let (q, verb) = if disable {
        (Msg::DisableQuestion, "disable")
    } else {
        (Msg::EnableQuestion, "enable")
    };
    let q = Tr(u.locale).get(q);
    confirm(&state, &u, id, q, format!("/app/team/{id}/{verb}"), check).await
}

async fn disable_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path(id): Path<UserId>,
) -> Response {
    toggle_confirm(state, u, id, true).await
}

async fn enable_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path(id): Path<UserId>,
) -> Response {
    toggle_confirm(state, u, id, false).await
}

async fn revoke_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path((id, mid)): Path<(UserId, MembershipId)>,
) -> Response {
    let check = state
        .auth
        .accounts
        .revoke_scope(&u.caller.principal, id, mid)
        .await
        .map(|_| ())
        .map_err(ApiError::from);
    let q = Tr(u.locale).get(Msg::RemoveRoleQuestion);
    let action = format!("/app/team/{id}/memberships/{mid}/revoke");
    confirm(&state, &u, id, q, action, check).await
}

fn done(u: &PageUser, r: Result<(), ApiError>) -> Response {
    match r {
        Ok(()) => Redirect::to("/app/team").into_response(),
        Err(e) => error_page(u, e),
    }
}

async fn disable_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path(id): Path<UserId>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let r = state
        .auth
        .accounts
        .set_disabled(&u.caller.principal, &u.caller.actor, id, true)
        .await;
    done(&u, r.map(|_| ()).map_err(ApiError::from))
}

async fn enable_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path(id): Path<UserId>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let r = state
        .auth
        .accounts
        .set_disabled(&u.caller.principal, &u.caller.actor, id, false)
        .await;
    done(&u, r.map(|_| ()).map_err(ApiError::from))
}

async fn revoke_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((id, mid)): Path<(UserId, MembershipId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let r = state
        .auth
        .accounts
        .revoke_membership(&u.caller.principal, &u.caller.actor, id, mid)
        .await;
    done(&u, r.map(|_| ()).map_err(ApiError::from))
}
