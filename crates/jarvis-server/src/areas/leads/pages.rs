//! Dashboard page of a gym's leads: the list (newest first) with a status change per lead, and
//! the webhook key with its rotation (the new secret shown once, on the answer of the POST).

use crate::auth::web::{CsrfForm, PageUser};
use crate::state::AppState;
use crate::web::chrome::{
    Chrome, Empty, InPage, ListQuery, PageResult, Pager, SortHeads, gym_scope, pager, query_part,
};
use crate::web::i18n::Msg;
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use jarvis_app::leads::{self, NewLeadSecret};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::LeadSort;
use serde::Deserialize;

/// Page routes of leads.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/gyms/{gym}/leads", get(leads_page))
        .route("/app/gyms/{gym}/leads/{id}/status", post(status_submit))
        .route("/app/gyms/{gym}/leads/secret", post(secret_submit))
}

#[derive(Template)]
#[template(path = "gmk/leads.html")]
struct LeadsPage {
    c: Chrome,
    leads: Vec<Lead>,
    total: u64,
    /// The status filter (a [`LeadStatus`] key, or empty for all).
    status: String,
    pager: Pager,
    /// The sortable column headers.
    heads: SortHeads,
    key: Option<LeadWebhookKey>,
    new_secret: Option<NewLeadSecret>,
    can_write: bool,
    can_rotate: bool,
    statuses: [LeadStatus; 3],
}

async fn render(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    q: ListQuery,
    new_secret: Option<NewLeadSecret>,
) -> PageResult {
    let (scope, c) = gym_scope(state, u, gym, leads::READ).await?;
    // Leads arrive from a public webhook: the list grows without bound, so it is paged.
    let filter = q.status.as_deref().and_then(LeadStatus::parse);
    let status = filter.map(|s| s.as_str().to_string()).unwrap_or_default();
    // Whitelisted: an unknown key is newest first.
    let sort = LeadSort::parse(q.sort.as_deref().unwrap_or_default());
    let list = state
        .store
        .list_leads(
            &scope,
            gym,
            filter,
            sort,
            PageRequest::new(Some(50), q.offset).unwrap_or_default(),
        )
        .await
        .in_page(c.t)?;
    let base = format!("/app/gyms/{gym}/leads");
    let extra = query_part("status", &status);
    let pager = pager(
        &base,
        &[extra.as_str(), &query_part("sort", sort.as_str())].concat(),
        &list,
    );
    let heads = SortHeads::new(&base, &extra, sort.as_str());
    let key = state.store.lead_webhook(&scope, gym).await.in_page(c.t)?;
    let can_write = u.caller.gym(state, gym, leads::WRITE).await.is_ok();
    let can_rotate = u.caller.gym(state, gym, leads::KEY_ROTATE).await.is_ok();
    Ok(page(
        LeadsPage {
            c,
            leads: list.items,
            total: list.total,
            status,
            pager,
            heads,
            key,
            new_secret,
            can_write,
            can_rotate,
            statuses: LeadStatus::ALL,
        },
        StatusCode::OK,
    ))
}

async fn leads_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    render(&state, &u, gym, q, None).await
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
}

async fn status_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, LeadId)>,
    CsrfForm(f): CsrfForm<StatusForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, leads::WRITE).await?;
    let status = LeadStatus::parse(f.status.trim())
        .ok_or_else(|| FieldError::new("status", "invalid", "unknown status"))
        .map_err(ValidationErrors::from)
        .map_err(jarvis_app::AppError::from)
        .in_page(c.t)?;
    leads::set_status(
        state.store.as_ref(),
        &scope,
        &u.caller.actor,
        gym,
        id,
        status,
    )
    .await
    .in_page(c.t)?;
    Ok(Redirect::to(&format!("/app/gyms/{gym}/leads")).into_response())
}

async fn secret_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, leads::KEY_ROTATE).await?;
    let s = leads::rotate_secret(
        state.store.as_ref(),
        &state.auth.master,
        &scope,
        &u.caller.actor,
        gym,
    )
    .await
    .in_page(c.t)?;
    // Shown on this answer only (not a redirect): the secret is never stored in clear.
    render(&state, &u, gym, ListQuery::default(), Some(s)).await
}
