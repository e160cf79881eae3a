//! Dashboard pages of the CSV import: the upload page with the latest jobs, the upload itself
//! (raw file body, CSRF token in a header, answered with the job page's address) and the job
//! page with live progress. Handlers authorize and call `jarvis_app::imports`, the API's own
//! runner and supervisor.

use crate::auth::web::PageUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::web::chrome::{Chrome, InPage, PageResult, gym_scope};
use crate::web::csrf;
use crate::web::i18n::Msg;
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jarvis_app::imports::{self, ImportOptions, MAX_UPLOAD_BYTES};
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Page routes of the CSV import.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/gyms/{gym}/import",
            get(import_page).post(import_upload),
        )
        .route("/app/gyms/{gym}/imports/{id}", get(import_job_page))
        .route(
            "/app/gyms/{gym}/imports/{id}/progress.json",
            get(import_job_progress),
        )
}

#[derive(Template)]
#[template(path = "gmk/import.html")]
struct ImportPage {
    c: Chrome,
    jobs: Vec<ImportJob>,
}

async fn import_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::MemberImport).await?;
    // The service's list: live progress merged in, as on the API.
    let p = imports::list_jobs(
        state.store.as_ref(),
        &scope,
        gym,
        PageRequest::new(Some(10), None).unwrap_or_default(),
    )
    .await
    .in_page(c.t)?;
    Ok(page(ImportPage { c, jobs: p.items }, StatusCode::OK))
}

#[derive(Deserialize)]
struct UploadQuery {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    skip_bad_rows: bool,
}

/// The upload from `assets/import.js`: the raw file as the body, the CSRF token in a header
/// (a file cannot travel in a urlencoded form, and multipart is not needed for one file).
async fn import_upload(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    csrf::check_header(&headers, &u.csrf)?;
    let scope = u.caller.gym(&state, gym, Action::MemberImport).await?;
    let data = match axum::body::to_bytes(body, MAX_UPLOAD_BYTES).await {
        Ok(d) if !d.is_empty() => d,
        _ => {
            let e = ApiError::bad_request("empty_file", "choose a CSV file of at most 32 MiB");
            return Err(e);
        }
    };
    let opts = ImportOptions {
        dry_run: q.dry_run,
        skip_bad_rows: q.skip_bad_rows,
        mapping: BTreeMap::new(),
    };
    // The API's service and supervisor: the job ends succeeded or failed, never `running`.
    let job = imports::start(
        state.store.clone(),
        scope,
        u.caller.actor.clone(),
        gym,
        data.to_vec(),
        opts,
    )
    .await?;
    let location = format!("/app/gyms/{gym}/imports/{}", job.id);
    Ok(axum::Json(serde_json::json!({ "location": location })).into_response())
}

#[derive(Template)]
#[template(path = "gmk/import_job.html")]
struct ImportJobPage {
    c: Chrome,
    j: ImportJob,
    r: Option<jarvis_core::csv_import::ImportReport>,
    running: bool,
    percent: i64,
}

async fn import_job_page(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, ImportJobId)>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::MemberImport).await?;
    let j = imports::job_view(state.store.as_ref(), &scope, gym, id)
        .await
        .in_page(c.t)?;
    let r = j
        .report
        .clone()
        .and_then(|v| serde_json::from_value(v).ok());
    let running = matches!(j.status, ImportStatus::Queued | ImportStatus::Running);
    let percent = if j.total_rows > 0 {
        j.processed_rows * 100 / j.total_rows
    } else {
        0
    };
    Ok(page(
        ImportJobPage {
            c,
            j,
            r,
            running,
            percent,
        },
        StatusCode::OK,
    ))
}

/// The job as JSON for the job page's live progress (`assets/import.js`): the API's own view
/// (`GET /api/v1/gyms/{gym}/imports/{id}`), behind the dashboard's session instead of a token.
async fn import_job_progress(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, ImportJobId)>,
) -> ApiResult<Response> {
    let scope = u.caller.gym(&state, gym, Action::MemberImport).await?;
    let j = imports::job_view(state.store.as_ref(), &scope, gym, id).await?;
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        axum::Json(j),
    )
        .into_response())
}
