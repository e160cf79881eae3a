//! Dashboard pages of the kiosks area (staff side): the gym's kiosks with their presence,
//! create, rename or move, pairing code, revoke with confirmation; and the kiosk device's own
//! page. Handlers parse the form, authorize, call `jarvis_app::kiosks` and render.

use crate::auth::web::{CsrfForm, PageUser};
use crate::state::AppState;
use crate::web::chrome::{
    Chrome, ConfirmPage, Empty, InPage, ListQuery, PageError, PageResult, SortHeads,
    form_errors_text, gym_scope, sort_key,
};
use crate::web::i18n::{Msg, store_message};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jarvis_app::AppError;
use jarvis_app::kiosks::{self, KioskView};
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::StoreError;
use serde::Deserialize;

/// Page routes of the kiosks.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/gyms/{gym}/kiosks",
            get(kiosks_page).post(kiosk_create),
        )
        .route("/app/gyms/{gym}/kiosks/{id}/pair", post(kiosk_pair))
        .route("/app/gyms/{gym}/kiosks/{id}/update", post(kiosk_update))
        .route(
            "/app/gyms/{gym}/kiosks/{id}/revoke",
            get(revoke_confirm).post(revoke_submit),
        )
        .route("/kiosk", get(kiosk_page))
}

#[derive(Template)]
#[template(path = "gmk/kiosks.html")]
struct KiosksPage {
    c: Chrome,
    /// Gyms of the franchise the kiosk may move to (id, name).
    targets: Vec<(GymId, String)>,
    kiosks: Vec<KioskView>,
    /// The sortable column headers.
    heads: SortHeads,
    /// The gym's latest outages (the `kiosks.health` job's history).
    outages: Vec<jarvis_store::KioskOutage>,
    code: Option<(String, String)>,
    error: Option<String>,
    can_manage: bool,
}

impl KiosksPage {
    /// An outage's start, end (`None` while it lasts) and whether the managers were e-mailed.
    fn outage_row(&self, o: &jarvis_store::KioskOutage) -> (String, Option<String>, &'static str) {
        (
            self.c.f.at(&o.started_at),
            o.ended_at.map(|e| self.c.f.at(&e)),
            self.c.t.yes_no(&o.offline_alerted_at.is_some()),
        )
    }
}

/// The kiosk list's sort keys, the default first.
const KIOSK_SORTS: [&str; 5] = [
    "name",
    "name_desc",
    "presence",
    "last_seen_desc",
    "last_seen",
];

/// Orders a gym's kiosks (a bounded list, sorted here) by a whitelisted key: problems first
/// for `presence` (offline, unpaired, revoked, online), never-seen kiosks last by last seen.
fn sort_kiosks(kiosks: &mut [KioskView], key: &str) {
    let rank = |p: &KioskPresence| match p {
        KioskPresence::Offline => 0,
        KioskPresence::Unpaired => 1,
        KioskPresence::Revoked => 2,
        KioskPresence::Online => 3,
    };
    let name = |k: &KioskView| k.kiosk.name.to_lowercase();
    let seen = |a: &KioskView, b: &KioskView, desc: bool| match (
        a.kiosk.last_seen_at,
        b.kiosk.last_seen_at,
    ) {
        (Some(x), Some(y)) if desc => y.cmp(&x),
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    };
    kiosks.sort_by(|a, b| {
        let by = match key {
            "name_desc" => name(b).cmp(&name(a)),
            "presence" => rank(&a.presence)
                .cmp(&rank(&b.presence))
                .then_with(|| name(a).cmp(&name(b))),
            "last_seen_desc" => seen(a, b, true),
            "last_seen" => seen(a, b, false),
            _ => name(a).cmp(&name(b)),
        };
        by.then_with(|| a.kiosk.id.cmp(&b.kiosk.id))
    });
}

async fn render_kiosks(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    sort: Option<&str>,
    code: Option<(String, String)>,
    error: Option<String>,
    status: StatusCode,
) -> PageResult {
    let (scope, c) = gym_scope(state, u, gym, Action::KioskRead).await?;
    let p = state
        .store
        .list_kiosks(
            &scope,
            gym,
            PageRequest::new(Some(200), None).unwrap_or_default(),
        )
        .await
        .in_page(c.t)?;
    let outages = state
        .store
        .list_kiosk_outages(
            &scope,
            gym,
            PageRequest::new(Some(20), None).unwrap_or_default(),
        )
        .await
        .in_page(c.t)?
        .items;
    let can_manage = u.caller.gym(state, gym, Action::KioskManage).await.is_ok();
    // Move targets: the service's answer (other gyms of the franchise that may run kiosks,
    // when the caller manages kiosks franchise-wide).
    let targets = match c.gym.as_ref() {
        Some(g) => kiosks::move_targets(state.store.as_ref(), &u.caller.principal, g)
            .await
            .in_page(c.t)?
            .into_iter()
            .map(|x| (x.id, x.name))
            .collect(),
        None => Vec::new(),
    };
    let offline_after = state.config.kiosk_offline_after;
    let mut list: Vec<KioskView> = p
        .items
        .into_iter()
        .map(|k| kiosks::view(k, offline_after))
        .collect();
    let key = sort_key(sort, &KIOSK_SORTS);
    sort_kiosks(&mut list, key);
    Ok(page(
        KiosksPage {
            c,
            targets,
            kiosks: list,
            heads: SortHeads::new(&format!("/app/gyms/{gym}/kiosks"), "", key),
            outages,
            code,
            error,
            can_manage,
        },
        status,
    ))
}

async fn kiosks_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    render_kiosks(
        &state,
        &u,
        gym,
        q.sort.as_deref(),
        None,
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct NameForm {
    name: String,
}

async fn kiosk_create(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<NameForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::KioskManage).await?;
    let new = NewKiosk { name: f.name };
    let err = match kiosks::create(state.store.as_ref(), &scope, &u.caller.actor, gym, new).await {
        Ok(_) => return Ok(Redirect::to(&format!("/app/gyms/{gym}/kiosks")).into_response()),
        Err(AppError::Store(e)) => store_message(c.t, &e).1,
        Err(AppError::Invalid(v)) => form_errors_text(c.t, &v),
        Err(e) => return Err(PageError::new(c.t, e)),
    };
    render_kiosks(
        &state,
        &u,
        gym,
        None,
        None,
        Some(err),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Deserialize)]
struct KioskEditForm {
    name: String,
    #[serde(default)]
    gym_id: String,
}

async fn kiosk_update(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KioskId)>,
    CsrfForm(f): CsrfForm<KioskEditForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::KioskManage).await?;
    let patch = KioskPatch {
        name: Some(f.name),
        gym_id: f.gym_id.trim().parse().ok(),
    };
    // The API's service: a move is authorized there, once.
    let err = match kiosks::update(
        state.store.as_ref(),
        &u.caller.principal,
        &scope,
        &u.caller.actor,
        gym,
        id,
        patch,
    )
    .await
    {
        Ok(k) => {
            state.kiosk_tokens.forget_kiosk(id);
            return Ok(Redirect::to(&format!("/app/gyms/{}/kiosks", k.gym_id)).into_response());
        }
        Err(AppError::Store(e @ (StoreError::Conflict { .. } | StoreError::Invalid { .. }))) => {
            store_message(c.t, &e).1
        }
        Err(AppError::Invalid(v)) => form_errors_text(c.t, &v),
        Err(e) => return Err(PageError::new(c.t, e)),
    };
    render_kiosks(
        &state,
        &u,
        gym,
        None,
        None,
        Some(err),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn kiosk_pair(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KioskId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::KioskManage).await?;
    match kiosks::issue_pairing_code(state.store.as_ref(), &scope, &u.caller.actor, gym, id).await {
        Ok((k, code)) => {
            let shown = Some((k.name, code.code));
            render_kiosks(&state, &u, gym, None, shown, None, StatusCode::OK).await
        }
        Err(AppError::GymNotReady(n)) => {
            let msg = match n {
                GymNotReady::Inactive(_) => c.t.get(Msg::GymInactive),
                GymNotReady::Misconfigured(_) => c.t.get(Msg::Misconfigured),
            };
            render_kiosks(
                &state,
                &u,
                gym,
                None,
                None,
                Some(msg.to_string()),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(PageError::new(c.t, e)),
    }
}

async fn revoke_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KioskId)>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::KioskManage).await?;
    let k = state.store.kiosk(&scope, gym, id).await.in_page(c.t)?;
    let question = c.t.get(Msg::RevokeConfirm);
    Ok(page(
        ConfirmPage {
            c,
            question,
            subject: k.name,
            action: format!("/app/gyms/{gym}/kiosks/{id}/revoke"),
            back: format!("/app/gyms/{gym}/kiosks"),
        },
        StatusCode::OK,
    ))
}

async fn revoke_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KioskId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::KioskManage).await?;
    kiosks::revoke(state.store.as_ref(), &scope, &u.caller.actor, gym, id)
        .await
        .in_page(c.t)?;
    // Refused from the next request on, also when the token was cached.
    state.kiosk_tokens.forget_kiosk(id);
    Ok(Redirect::to(&format!("/app/gyms/{gym}/kiosks")).into_response())
}

#[derive(Template)]
#[template(path = "gmk/kiosk.html")]
struct KioskPage;

/// The kiosk device's page: pairing, heartbeat and badge greeting (no sign-in; the device token
/// lives in the browser's local storage).
async fn kiosk_page() -> Response {
    page(KioskPage, StatusCode::OK)
}
