//! The background-jobs page (super admins only, French and English): every job kind with its
//! schedule, last and next run and queue counts, the dead letters with a Retry button, and the
//! latest runs. Same data and actions as `jarvis jobs` (`jarvis_app::jobs::service`).

use crate::auth::web::{CsrfForm, PageUser};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::chrome::{Chrome, Empty, InPage, PageError, PageResult};
use crate::web::i18n::{Msg, Tr};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use jarvis_app::jobs::service::{self, KindOverview};
use jarvis_core::authz::{Action, Resource};
use jarvis_core::model::{Job, JobRun, JobStatus};
use jarvis_core::{JobId, PageRequest};
use jarvis_store::JobFilter;
use time::OffsetDateTime;

/// Routes of this page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/ops/jobs", get(jobs_page))
        .route("/app/ops/jobs/{id}/retry", post(retry))
        .route("/app/ops/jobs/kinds/{kind}/run", post(run_now))
}

/// How a run ended.
pub fn outcome(t: &Tr, r: &JobRun) -> &'static str {
    r.outcome.map_or(t.get(Msg::RunRunning), |o| o.as_str())
}

#[derive(Template)]
#[template(path = "ops/jobs.html")]
struct JobsPage {
    c: Chrome,
    kinds: Vec<KindOverview>,
    dead: Vec<Job>,
    runs: Vec<JobRun>,
}

/// Super admins only (the queue is system data across every tenant).
fn authorize(u: &PageUser) -> Result<(), PageError> {
    u.caller
        .authorize(Action::PlatformAdmin, &Resource::Platform)
        .map(|_| ())
        .in_page(Tr(u.locale))
}

async fn jobs_page(State(state): State<AppState>, u: PageUser) -> PageResult {
    authorize(&u)?;
    let c = Chrome::plain(&u);
    let specs = crate::jobs::specs(&state.config);
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
        let runs = service::history(store, None, 30).await?;
        Ok::<_, jarvis_store::StoreError>((kinds, dead, runs))
    }
    .await;
    let (kinds, dead, runs) = loaded.in_page(c.t)?;
    Ok(page(
        JobsPage {
            c,
            kinds,
            dead,
            runs,
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
