//! The dashboard's team page (French and English): the users holding a role in the caller's
//! tenant, with disable / re-enable / revoke-a-role actions. Every action goes through a
//! confirmation page and a CSRF-checked POST, and through the same accounts service as the JSON
//! API (`users_api`).

use crate::auth::web::{CsrfForm, PageUser};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use jarvis_core::model::{Locale, Membership, TeamMember};
use jarvis_core::{MembershipId, PageRequest, Role, UserId};
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

/// Strings of these pages.
#[derive(Clone, Copy)]
pub struct T(Locale);

impl T {
    /// The string for `key`, in the page's language.
    pub fn s(&self, key: &str) -> &'static str {
        let (fr, en) = match key {
            "team" => ("Équipe", "Team"),
            "intro" => (
                "Les personnes qui ont un rôle dans votre périmètre. Désactiver un compte coupe immédiatement toutes ses sessions ; retirer un rôle aussi (la personne se reconnecte avec ce qui lui reste).",
                "People holding a role in your area. Disabling an account ends all its sessions at once; so does removing a role (they sign in again with what is left).",
            ),
            "search" => ("Rechercher", "Search"),
            "name" => ("Nom", "Name"),
            "email" => ("E-mail", "E-mail"),
            "roles" => ("Rôles", "Roles"),
            "status" => ("État", "Status"),
            "active" => ("actif", "active"),
            "disabled" => ("désactivé", "disabled"),
            "you" => ("vous", "you"),
            "other_roles" => ("+ rôles ailleurs", "+ roles elsewhere"),
            "disable" => ("Désactiver", "Disable"),
            "enable" => ("Réactiver", "Re-enable"),
            "revoke" => ("retirer", "remove"),
            "confirm" => ("Confirmer", "Confirm"),
            "cancel" => ("Annuler", "Cancel"),
            "back" => ("Retour", "Back"),
            "error" => ("Action impossible", "Not possible"),
            "previous" => ("Précédent", "Previous"),
            "next" => ("Suivant", "Next"),
            "of" => ("sur", "of"),
            "disable_q" => (
                "Désactiver ce compte ? Toutes ses sessions (tableau de bord et API) s'arrêtent immédiatement et la personne ne peut plus se connecter, jusqu'à sa réactivation.",
                "Disable this account? All its sessions (dashboard and API) stop at once and they cannot sign in until re-enabled.",
            ),
            "enable_q" => (
                "Réactiver ce compte ? La personne pourra se connecter à nouveau avec ses rôles.",
                "Re-enable this account? They can sign in again with their roles.",
            ),
            "revoke_q" => (
                "Retirer ce rôle ? Toutes les sessions de la personne s'arrêtent ; elle se reconnecte avec les rôles qui lui restent.",
                "Remove this role? All their sessions stop; they sign in again with the roles left.",
            ),
            "super_admin" => ("super administrateur", "super admin"),
            "franchise_owner" => ("propriétaire de franchise", "franchise owner"),
            "gym_manager" => ("gérant de salle", "gym manager"),
            "gym_staff" => ("équipe de salle", "gym staff"),
            "platform" => ("plateforme", "platform"),
            "franchise" => ("franchise", "franchise"),
            "gym" => ("salle", "gym"),
            "not_found" => ("Introuvable.", "Not found."),
            "forbidden" => (
                "Votre rôle ne permet pas de gérer l'équipe.",
                "Your role does not allow managing the team.",
            ),
            "own_account" => (
                "Vous ne pouvez pas désactiver votre propre compte ni retirer vos propres rôles.",
                "You cannot disable your own account or remove your own roles.",
            ),
            "higher_role" => (
                "Cette personne a un rôle que vous ne pouvez pas retirer (propriétaires et super administrateurs sont gérés au-dessus de vous).",
                "This person holds a role you may not take away (owners and super admins are managed above you).",
            ),
            "roles_elsewhere" => (
                "Cette personne a aussi des rôles hors de votre franchise ou salle : vous ne pouvez pas désactiver son compte, mais vous pouvez retirer son rôle chez vous.",
                "This person also holds roles outside your franchise or gym: you cannot disable the account, but you can remove their role here.",
            ),
            "last_super_admin" => (
                "C'est le dernier super administrateur actif : nommez-en un autre d'abord.",
                "This is the last enabled super admin: make someone else super admin first.",
            ),
            _ => ("?", "?"),
        };
        match self.0 {
            Locale::Fr => fr,
            Locale::En => en,
        }
    }

    /// `fr` or `en`.
    pub fn lang(&self) -> &'static str {
        self.0.as_str()
    }

    /// A role's name.
    pub fn role(&self, r: &Role) -> &'static str {
        self.s(r.as_str())
    }

    /// Where a membership applies, for the table.
    pub fn place(&self, m: &Membership) -> String {
        match (m.franchise_id, m.gym_id) {
            (None, _) => self.s("platform").to_string(),
            (Some(f), None) => format!("{} {}", self.s("franchise"), short(&f.to_string())),
            (Some(_), Some(g)) => format!("{} {}", self.s("gym"), short(&g.to_string())),
        }
    }
}

/// The last characters of an id, enough to tell rows apart in a table.
fn short(id: &str) -> &str {
    id.get(id.len().saturating_sub(6)..).unwrap_or(id)
}

#[derive(Template)]
#[template(path = "team/team.html")]
struct TeamPage {
    t: T,
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
#[template(path = "team/confirm.html")]
struct ConfirmPage {
    t: T,
    csrf: String,
    subject: String,
    question: &'static str,
    action: String,
}

#[derive(Template)]
#[template(path = "team/message.html")]
struct MessagePage {
    t: T,
    message: String,
}

/// An error page in the user's language, with the reason an action is refused.
fn error_page(t: T, e: ApiError) -> Response {
    let msg = match (e.status, e.code) {
        (StatusCode::NOT_FOUND, _) => t.s("not_found").to_string(),
        (_, code @ ("own_account" | "higher_role" | "roles_elsewhere" | "last_super_admin")) => {
            t.s(code).to_string()
        }
        (StatusCode::FORBIDDEN, _) => t.s("forbidden").to_string(),
        _ => e.message.clone(),
    };
    page(MessagePage { t, message: msg }, e.status)
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
    let t = T(u.locale);
    let req = match PageRequest::new(Some(50), q.offset) {
        Ok(r) => r,
        Err(e) => return error_page(t, ApiError::bad_request("invalid_query", e.to_string())),
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
        Err(e) => return error_page(t, e.into()),
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
            t,
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
    let t = T(u.locale);
    if let Err(e) = check {
        return error_page(t, e);
    }
    let who = match state
        .auth
        .accounts
        .team_member(&u.caller.principal, id)
        .await
    {
        Ok(v) => v.member.user,
        Err(e) => return error_page(t, e.into()),
    };
    page(
        ConfirmPage {
            t,
            csrf: u.csrf.clone(),
            subject: format!("{} <{}>", who.display_name, who.email),
            question,
            action,
        },
        StatusCode::OK,
    )
}

async fn disable_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path(id): Path<UserId>,
) -> Response {
    let check = state
        .auth
        .accounts
        .disable_scope(&u.caller.principal, id)
        .await
        .map(|_| ())
        .map_err(ApiError::from);
    let q = T(u.locale).s("disable_q");
    confirm(&state, &u, id, q, format!("/app/team/{id}/disable"), check).await
}

async fn enable_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path(id): Path<UserId>,
) -> Response {
    let check = state
        .auth
        .accounts
        .disable_scope(&u.caller.principal, id)
        .await
        .map(|_| ())
        .map_err(ApiError::from);
    let q = T(u.locale).s("enable_q");
    confirm(&state, &u, id, q, format!("/app/team/{id}/enable"), check).await
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
    let q = T(u.locale).s("revoke_q");
    let action = format!("/app/team/{id}/memberships/{mid}/revoke");
    confirm(&state, &u, id, q, action, check).await
}

fn done(t: T, r: Result<(), ApiError>) -> Response {
    match r {
        Ok(()) => Redirect::to("/app/team").into_response(),
        Err(e) => error_page(t, e),
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
    done(T(u.locale), r.map(|_| ()).map_err(ApiError::from))
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
    done(T(u.locale), r.map(|_| ()).map_err(ApiError::from))
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
    done(T(u.locale), r.map(|_| ()).map_err(ApiError::from))
}
