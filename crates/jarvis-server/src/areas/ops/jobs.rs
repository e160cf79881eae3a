//! The background-jobs page (super admins only, French and English): every job kind with its
//! schedule, last and next run and queue counts, the dead letters with a Retry button, and the
//! latest runs. Same data and actions as `jarvis jobs` (`jarvis_app::jobs::service`).

use crate::auth::web::{CsrfForm, PageUser};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::chrome::{
    Chrome, Empty, InPage, PageError, PageResult, Pager, SortHeads, pager, query_part,
};
use crate::web::i18n::{Msg, Tr};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use jarvis_app::jobs::service::{self, KindOverview};
use jarvis_core::authz::{Action, Resource};
use jarvis_core::model::{Job, JobRun, JobStatus, RunOutcome};
use jarvis_core::{JobId, PageRequest};
use jarvis_store::{JobFilter, JobRunFilter, JobRunSort};
use serde::Deserialize;
use time::OffsetDateTime;

/// Routes of this page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/ops/jobs", get(jobs_page))
        .route("/app/ops/jobs/{id}/retry", post(retry))
        .route("/app/ops/jobs/kinds/{kind}/run", post(run_now))
}

/// How a run ended, in the page's language.
pub fn outcome(t: &Tr, r: &JobRun) -> &'static str {
    t.get(match r.outcome {
        None => Msg::RunRunning,
        Some(RunOutcome::Succeeded) => Msg::RunSucceeded,
        Some(RunOutcome::Failed) => Msg::RunFailed,
        Some(RunOutcome::Retrying) => Msg::RunRetrying,
        Some(RunOutcome::Dead) => Msg::RunDead,
        Some(RunOutcome::LeaseLost) => Msg::RunLeaseLost,
        Some(RunOutcome::Released) => Msg::RunReleased,
    })
}

#[derive(Template)]
#[template(path = "ops/jobs.html")]
struct JobsPage {
    c: Chrome,
    kinds: Vec<KindOverview>,
    dead: Vec<Job>,
    runs: Vec<JobRun>,
    pager: Pager,
    /// The sortable column headers of the runs.
    heads: SortHeads,
    /// The kind the runs are filtered on ("" for every kind).
    kind: String,
}

/// Runs per page.
const RUNS_PAGE: u32 = 30;

/// Filter, order and page of the runs list, from the query string.
#[derive(Deserialize, Default)]
struct RunsQuery {
    kind: Option<String>,
    sort: Option<String>,
    offset: Option<u64>,
}

/// Super admins only (the queue is system data across every tenant).
fn authorize(u: &PageUser) -> Result<(), PageError> {
    u.caller
        .authorize(Action::PlatformAdmin, &Resource::Platform)
        .map(|_| ())
        .in_page(Tr(u.locale))
}

async fn jobs_page(
    State(state): State<AppState>,
    u: PageUser,
    Query(q): Query<RunsQuery>,
) -> PageResult {
    authorize(&u)?;
    let c = Chrome::plain(&u);
    let specs = crate::jobs::specs(&state.config);
    let kind = q.kind.as_deref().map(str::trim).unwrap_or("").to_string();
    let filter = JobRunFilter {
        kind: (!kind.is_empty()).then(|| kind.clone()),
        job_id: None,
        // Whitelisted: an unknown key is newest first.
        sort: JobRunSort::parse(q.sort.as_deref().unwrap_or_default()),
    };
    let req = PageRequest::new(Some(RUNS_PAGE), q.offset).in_page(c.t)?;
    let store = state.store.as_ref();
    let loaded = async {
        let kinds = service::overview(store, &specs, OffsetDateTime::now_utc()).await?;
        let dead = store
            .list_jobs(
                &JobFilter {
                    status: Some(JobStatus::Dead),
                    ..Default::default()
                },
                PageRequest {
                    limit: 50,
                    offset: 0,
                },
            )
            .await?
            .items;
        let runs = store.job_runs(&filter, req).await?;
        Ok::<_, jarvis_store::StoreError>((kinds, dead, runs))
    }
    .await;
    let (kinds, dead, runs) = loaded.in_page(c.t)?;
    let extra = query_part("kind", &kind);
    Ok(page(
        JobsPage {
            c,
            kinds,
            dead,
            pager: pager(
                "/app/ops/jobs",
                &[extra.as_str(), &query_part("sort", filter.sort.as_str())].concat(),
                &runs,
            ),
            heads: SortHeads::new("/app/ops/jobs", &extra, filter.sort.as_str()),
            runs: runs.items,
            kind,
        },
        StatusCode::OK,
    ))
}

async fn retry(
    State(state): State<AppState>,
    u: PageUser,
    Path(id): Path<JobId>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    authorize(&u)?;
    let t = Tr(u.locale);
    if service::retry(state.store.as_ref(), id).await.in_page(t)? {
        Ok(Redirect::to("/app/ops/jobs").into_response())
    } else {
        Err(PageError::new(
            t,
            ApiError::new(
                StatusCode::CONFLICT,
                "not_retryable",
                "this job is not dead, failed or cancelled",
            ),
        ))
    }
}

async fn run_now(
    State(state): State<AppState>,
    u: PageUser,
    Path(kind): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    authorize(&u)?;
    let t = Tr(u.locale);
    let specs = crate::jobs::specs(&state.config);
    let spec = service::find(&specs, &kind)
        .ok_or_else(|| PageError::new(t, ApiError::not_found("job kind")))?;
    service::run_now(state.store.as_ref(), spec)
        .await
        .in_page(t)?;
    Ok(Redirect::to("/app/ops/jobs").into_response())
}
