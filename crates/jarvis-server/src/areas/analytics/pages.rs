//! Dashboard pages of a gym's churn list (highest score first, paginated) and of its weekly
//! reports (list, view, download). A report of another gym is not found (404): its row is read
//! in the caller's scope before the object store is touched.

use crate::auth::web::PageUser;
use crate::state::AppState;
use crate::web::chrome::{
    Chrome, InPage, ListQuery, PageResult, Pager, SortHeads, gym_scope, pager, query_part,
};
use crate::web::i18n::Msg;
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use jarvis_app::objects::Objects;
use jarvis_app::{AppError, churn, reports};
use jarvis_core::churn::{ChurnLevel, ChurnListEntry};
use jarvis_core::*;
use jarvis_store::{ChurnSort, Report, ReportSort};

/// Page routes of churn and reports.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/gyms/{gym}/churn", get(churn_page))
        .route("/app/gyms/{gym}/reports", get(reports_page))
        .route("/app/gyms/{gym}/reports/{id}", get(report_view))
        .route(
            "/app/gyms/{gym}/reports/{id}/download",
            get(report_download),
        )
}

#[derive(Template)]
#[template(path = "gmk/churn.html")]
struct ChurnPage {
    c: Chrome,
    rows: Vec<ChurnListEntry>,
    pager: Pager,
    /// The sortable column headers.
    heads: SortHeads,
    /// The minimum level filter (a [`ChurnLevel`] key, or empty for all).
    level: String,
    /// The levels the filter offers.
    levels: [ChurnLevel; 2],
}

async fn churn_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, churn::READ).await?;
    let req = PageRequest::new(Some(50), q.offset).unwrap_or_default();
    let min_level = q.level.as_deref().and_then(ChurnLevel::parse);
    let level = min_level
        .map(|l| l.as_str().to_string())
        .unwrap_or_default();
    // Whitelisted: an unknown key is the highest score first.
    let sort = ChurnSort::parse(q.sort.as_deref().unwrap_or_default());
    let p = churn::list(state.store.as_ref(), &scope, gym, min_level, sort, req)
        .await
        .in_page(c.t)?;
    let base = format!("/app/gyms/{gym}/churn");
    let extra = query_part("level", &level);
    let pager = pager(
        &base,
        &[extra.as_str(), &query_part("sort", sort.as_str())].concat(),
        &p,
    );
    let heads = SortHeads::new(&base, &extra, sort.as_str());
    Ok(page(
        ChurnPage {
            c,
            rows: p.items,
            pager,
            heads,
            level,
            levels: [ChurnLevel::Medium, ChurnLevel::High],
        },
        StatusCode::OK,
    ))
}

#[derive(Template)]
#[template(path = "gmk/reports.html")]
struct ReportsPage {
    c: Chrome,
    reports: Vec<Report>,
    pager: Pager,
    /// The sortable column headers.
    heads: SortHeads,
}

async fn reports_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, reports::READ).await?;
    let req = PageRequest::new(Some(50), q.offset).unwrap_or_default();
    // Whitelisted: an unknown key is the newest week first.
    let sort = ReportSort::parse(q.sort.as_deref().unwrap_or_default());
    let p = reports::list(state.store.as_ref(), &scope, gym, sort, req)
        .await
        .in_page(c.t)?;
    let base = format!("/app/gyms/{gym}/reports");
    let pager = pager(&base, &query_part("sort", sort.as_str()), &p);
    let heads = SortHeads::new(&base, "", sort.as_str());
    Ok(page(
        ReportsPage {
            c,
            reports: p.items,
            pager,
            heads,
        },
        StatusCode::OK,
    ))
}

/// The stored report (row in the caller's scope, then its HTML).
async fn load(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    id: ReportId,
) -> Result<(Report, axum::body::Bytes), crate::web::chrome::PageError> {
    let (scope, c) = gym_scope(state, u, gym, reports::READ).await?;
    let objects = Objects::from_config(&state.config)
        .map_err(|e| AppError::Internal(e.to_string()))
        .in_page(c.t)?;
    reports::open(state.store.as_ref(), &objects, &scope, gym, id)
        .await
        .in_page(c.t)
}

/// The report's own page: a standalone HTML document (every value escaped when rendered);
/// its inline style is all it may load.
async fn report_view(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, ReportId)>,
) -> PageResult {
    let (_, body) = load(&state, &u, gym, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'".to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

async fn report_download(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, ReportId)>,
) -> PageResult {
    let (r, body) = load(&state, &u, gym, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"jarvis-report-{}.html\"", r.week),
            ),
        ],
        body,
    )
        .into_response())
}
