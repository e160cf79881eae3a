//! The background-jobs page (super admins only, French and English): every job kind with its
//! schedule, last and next run and queue counts, the dead letters with a Retry button, and the
//! latest runs. Same data and actions as `jarvis jobs` (`jarvis_app::jobs::service`).

use crate::auth::web::{CsrfForm, PageUser};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::i18n::{Msg, Tr};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jarvis_app::jobs::service::{self, KindOverview};
use jarvis_core::authz::{Action, Resource};
use jarvis_core::model::{Job, JobRun, JobStatus};
use jarvis_core::{JobId, PageRequest};
use jarvis_store::JobFilter;
use serde::Deserialize;
use time::OffsetDateTime;

/// Routes of this page.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/ops/jobs", get(jobs_page))
        .route("/app/ops/jobs/{id}/retry", post(retry))
        .route("/app/ops/jobs/kinds/{kind}/run", post(run_now))
}

/// A time for the tables (UTC, to the second), or a dash.
pub fn when(t: &Option<OffsetDateTime>) -> String {
    t.as_ref().map_or_else(|| "—".into(), at)
}

/// A time for the tables (UTC, to the second).
pub fn at(t: &OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .map_or_else(|_| "—".into(), |s| format!("{s} UTC"))
}

/// How a run ended.
pub fn outcome(t: &Tr, r: &JobRun) -> &'static str {
    r.outcome.map_or(t.get(Msg::RunRunning), |o| o.as_str())
}

#[derive(Template)]
#[template(path = "ops/jobs.html")]
struct JobsPage {
    t: Tr,
    csrf: String,
    kinds: Vec<KindOverview>,
    dead: Vec<Job>,
    runs: Vec<JobRun>,
}

#[derive(Template)]
#[template(path = "ops/message.html")]
struct MessagePage {
    t: Tr,
    message: String,
}

/// A message page for a refusal or failure (super-admin pages).
pub fn error_page(t: Tr, e: ApiError) -> Response {
    let msg = match e.status {
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => t.get(Msg::SuperAdminsOnly).to_string(),
        _ => e.message.clone(),
    };
    page(MessagePage { t, message: msg }, e.status)
}

/// Super admins only (the queue is system data across every tenant).
fn authorize(u: &PageUser) -> Result<(), ApiError> {
    u.caller
        .authorize(Action::PlatformAdmin, &Resource::Platform)
        .map(|_| ())
}

async fn jobs_page(State(state): State<AppState>, u: PageUser) -> Response {
    let t = Tr(u.locale);
    if let Err(e) = authorize(&u) {
        return error_page(t, e);
    }
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
    match loaded {
        Ok((kinds, dead, runs)) => page(
            JobsPage {
                t,
                csrf: u.csrf.clone(),
                kinds,
                dead,
                runs,
            },
            StatusCode::OK,
        ),
        Err(e) => error_page(t, e.into()),
    }
}

#[derive(Deserialize)]
struct Empty {}

async fn retry(
    State(state): State<AppState>,
    u: PageUser,
    Path(id): Path<JobId>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let t = Tr(u.locale);
    if let Err(e) = authorize(&u) {
        return error_page(t, e);
    }
    match service::retry(state.store.as_ref(), id).await {
        Ok(true) => Redirect::to("/app/ops/jobs").into_response(),
        Ok(false) => error_page(
            t,
            ApiError::new(
                StatusCode::CONFLICT,
                "not_retryable",
                "this job is not dead, failed or cancelled",
            ),
        ),
        Err(e) => error_page(t, e.into()),
    }
}

async fn run_now(
    State(state): State<AppState>,
    u: PageUser,
    Path(kind): Path<String>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let t = Tr(u.locale);
    if let Err(e) = authorize(&u) {
        return error_page(t, e);
    }
    let specs = crate::jobs::specs(&state.config);
    let Some(spec) = service::find(&specs, &kind) else {
        return error_page(t, ApiError::not_found("job kind"));
    };
    match service::run_now(state.store.as_ref(), spec).await {
        Ok(_) => Redirect::to("/app/ops/jobs").into_response(),
        Err(e) => error_page(t, e.into()),
    }
}
