//! The dashboard's team page (French and English): the users holding a role in the caller's
//! tenant, with disable / re-enable / revoke-a-role actions, and the form inviting someone to a
//! role (errors next to each field). Every action goes through a CSRF-checked POST (destructive
//! ones after a confirmation page), and through the same accounts service as the JSON API.

use crate::auth::web::{CsrfForm, PageUser};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::chrome::{Chrome, ConfirmPage, Pager, SortHeads, pager, query_part};
use crate::web::i18n::{Msg, Tr};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use jarvis_app::accounts::{AccountsError, InvitationInput};
use jarvis_core::authz::Action;
use jarvis_core::model::{Membership, TeamMember};
use jarvis_core::{FranchiseId, GymId, MembershipId, PageRequest, Role, UserId};
use jarvis_store::{FranchiseFilter, GymFilter, UserSort};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Page routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/team", get(team_page))
        .route("/app/team/invite", axum::routing::post(invite_submit))
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
    /// The invitation form, when the caller may invite anyone.
    invite: Option<InviteView>,
    /// An invitation was just sent.
    invited: bool,
    me: UserId,
    q: String,
    rows: Vec<TeamMember>,
    pager: Pager,
    /// The sortable column headers.
    heads: SortHeads,
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
    sort: Option<String>,
    offset: Option<u64>,
    invited: Option<String>,
}

/// Where a role can be granted: the form's `place` value and its label.
struct Place {
    value: String,
    label: String,
}

/// The invitation form: what was typed, where roles can go, and the errors by field.
struct InviteView {
    email: String,
    display_name: String,
    role: String,
    place: String,
    roles: Vec<Role>,
    places: Vec<Place>,
    errors: BTreeMap<String, String>,
}

impl InviteView {
    fn value(&self, field: &str) -> &str {
        match field {
            "email" => &self.email,
            _ => &self.display_name,
        }
    }

    fn error(&self, field: &str) -> &str {
        self.errors.get(field).map(String::as_str).unwrap_or("")
    }
}

/// A submitted invitation.
#[derive(Deserialize, Default)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    place: String,
}

/// How many gyms and franchises the place list offers at most.
const PLACES_MAX: u32 = 200;

/// The roles the caller may invite somewhere, and the places they see (the service checks the
/// pair again on submit).
async fn invite_choices(state: &AppState, u: &PageUser) -> (Vec<Role>, Vec<Place>) {
    let t = Tr(u.locale);
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| u.caller.list(Action::invite(*r)).is_ok())
        .collect();
    let mut places = Vec::new();
    if roles.is_empty() {
        return (roles, places);
    }
    if roles.contains(&Role::SuperAdmin) {
        places.push(Place {
            value: "platform".into(),
            label: t.get(Msg::PlacePlatform).to_string(),
        });
    }
    let req = PageRequest::new(Some(PLACES_MAX), None).unwrap_or_default();
    if roles.contains(&Role::FranchiseOwner)
        && let Ok(scope) = u.caller.list(Action::InviteOwner)
        && let Ok(p) = state
            .store
            .list_franchises(&scope, &FranchiseFilter::default(), req)
            .await
    {
        places.extend(p.items.into_iter().map(|f| Place {
            value: format!("franchise:{}", f.id),
            label: format!("{} {}", t.get(Msg::PlaceFranchise), f.name),
        }));
    }
    if let Ok(scope) = u.caller.list(Action::GymRead)
        && let Ok(p) = state
            .store
            .list_gyms(&scope, &GymFilter::default(), req)
            .await
    {
        places.extend(p.items.into_iter().map(|g| Place {
            value: format!("gym:{}:{}", g.franchise_id, g.id),
            label: format!("{} {}", t.get(Msg::PlaceGym), g.name),
        }));
    }
    (roles, places)
}

/// The franchise and gym a `place` value names; `None` for a malformed one.
fn parse_place(v: &str) -> Option<(Option<FranchiseId>, Option<GymId>)> {
    let mut parts = v.split(':');
    let out = match (parts.next()?, parts.next(), parts.next()) {
        ("platform", None, None) => (None, None),
        ("franchise", Some(f), None) => (Some(f.parse().ok()?), None),
        ("gym", Some(f), Some(g)) => (Some(f.parse().ok()?), Some(g.parse().ok()?)),
        _ => return None,
    };
    parts.next().is_none().then_some(out)
}

async fn team_page(
    State(state): State<AppState>,
    u: PageUser,
    Query(q): Query<ListQuery>,
) -> Response {
    let invited = q.invited.is_some();
    render_team(
        &state,
        &u,
        q,
        InviteForm::default(),
        BTreeMap::new(),
        invited,
    )
    .await
}

/// The team page with the invitation form as typed and its errors (`422` when there are some).
async fn render_team(
    state: &AppState,
    u: &PageUser,
    q: ListQuery,
    form: InviteForm,
    errors: BTreeMap<String, String>,
    invited: bool,
) -> Response {
    let req = match PageRequest::new(Some(50), q.offset) {
        Ok(r) => r,
        Err(e) => return error_page(u, ApiError::bad_request("invalid_query", e.to_string())),
    };
    let search = q.q.clone().unwrap_or_default();
    let filter = q.q.filter(|s| !s.trim().is_empty());
    // Whitelisted: an unknown key is the default order (by name).
    let sort = UserSort::parse(q.sort.as_deref().unwrap_or_default());
    let p = match state
        .auth
        .accounts
        .team(&u.caller.principal, filter, sort, req)
        .await
    {
        Ok(p) => p,
        Err(e) => return error_page(u, e.into()),
    };
    let (roles, places) = invite_choices(state, u).await;
    let invite = (!roles.is_empty()).then(|| InviteView {
        email: form.email,
        display_name: form.display_name,
        role: form.role,
        place: form.place,
        roles,
        places,
        errors: errors.clone(),
    });
    let extra = query_part("q", &search);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    page(
        TeamPage {
            c: Chrome::plain(u),
            invite,
            invited,
            me: u.user.id,
            q: search.clone(),
            pager: pager(
                "/app/team",
                &[extra.as_str(), &query_part("sort", sort.as_str())].concat(),
                &p,
            ),
            heads: SortHeads::new("/app/team", &extra, sort.as_str()),
            rows: p.items,
        },
        status,
    )
}

async fn invite_submit(
    State(state): State<AppState>,
    u: PageUser,
    CsrfForm(f): CsrfForm<InviteForm>,
) -> Response {
    let t = Tr(u.locale);
    let mut errors = BTreeMap::new();
    let role = f.role.parse::<Role>().ok();
    if role.is_none() {
        errors.insert("role".into(), t.get(Msg::InviteRoleMissing).to_string());
    }
    let place = parse_place(f.place.trim());
    // The place must fit the role: the platform for super admins, a franchise for owners, a
    // gym for gym roles.
    let fits = matches!(
        (role, place),
        (Some(Role::SuperAdmin), Some((None, None)))
            | (Some(Role::FranchiseOwner), Some((Some(_), None)))
            | (
                Some(Role::GymManager | Role::GymStaff),
                Some((Some(_), Some(_)))
            )
            | (None, Some(_))
    );
    if !fits {
        errors.insert("place".into(), t.get(Msg::InvitePlaceMismatch).to_string());
    }
    if let (Some(role), Some((franchise_id, gym_id)), true) = (role, place, errors.is_empty()) {
        let input = InvitationInput {
            email: f.email.clone(),
            display_name: f.display_name.clone(),
            role,
            franchise_id,
            gym_id,
        };
        match state
            .auth
            .accounts
            .invite(&u.caller.principal, &u.caller.actor, input)
            .await
        {
            Ok(_) => return Redirect::to("/app/team?invited=1").into_response(),
            Err(AccountsError::Invalid { field, .. }) => {
                let msg = match field {
                    "email" => Msg::InviteEmailInvalid,
                    "display_name" => Msg::InviteNameInvalid,
                    _ => Msg::InvitePlaceMismatch,
                };
                let field = if matches!(field, "email" | "display_name") {
                    field
                } else {
                    "place"
                };
                errors.insert(field.into(), t.get(msg).to_string());
            }
            Err(AccountsError::EmailTaken(_)) => {
                errors.insert("email".into(), t.get(Msg::InviteEmailTaken).to_string());
            }
            Err(AccountsError::Denied { .. } | AccountsError::NotFound(_)) => {
                errors.insert("place".into(), t.get(Msg::InviteNotAllowed).to_string());
            }
            Err(e) => return error_page(&u, e.into()),
        }
    }
    render_team(&state, &u, ListQuery::default(), f, errors, false).await
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
