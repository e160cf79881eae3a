//! Member CSV import: the job runner (shared with `jarvis members import`) and its API.
//!
//! A job is a `member_imports` row: queued → running → succeeded/failed, with progress and a
//! report (per-row errors: line, column, reason). The upload returns at once (202) and the work
//! runs in the background, so a 100k-row file never holds the request.
//!
//! Supervision, the same for the API, the dashboard page and the CLI: a running import bumps
//! its row (`updated_at`, progress) every [`IMPORT_HEARTBEAT`]; [`spawn_import`] marks the job
//! failed when the run errors or panics; and [`sweep_stale_imports`] (at start and every
//! minute, see `app.rs`) fails any queued or running job silent for [`IMPORT_STALE_AFTER`],
//! whose runner died with its process. Another live instance's imports keep moving, so they
//! are never swept.

use crate::api::{PageBody, Paging};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_core::authz::Action;
use jarvis_core::csv_import::{self, ImportReport, RowError};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::Store;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest accepted CSV upload (100k rows of a typical export is about 10 MiB).
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;

/// Live insert progress of running jobs in this process. SQLite allows one writer, so the job
/// row cannot be updated while the import transaction holds the lock; readers merge this in.
static LIVE: LazyLock<Mutex<HashMap<ImportJobId, u64>>> = LazyLock::new(Default::default);

fn set_live(id: ImportJobId, processed: Option<u64>) {
    if let Ok(mut m) = LIVE.lock() {
        match processed {
            Some(p) => m.insert(id, p),
            None => m.remove(&id),
        };
    }
}

fn live(id: ImportJobId) -> Option<u64> {
    LIVE.lock().ok().and_then(|m| m.get(&id).copied())
}

/// How often a running import proves it is alive by bumping its row with its progress.
pub const IMPORT_HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(5);

/// A queued or running import whose row has not moved for this long was interrupted (its
/// process died); the sweep marks it failed. Far above [`IMPORT_HEARTBEAT`] so a busy database
/// never gets a live import swept.
pub const IMPORT_STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(120);

/// The failure shown for an import the sweep found interrupted.
pub const INTERRUPTED: &str = "the import was interrupted: the server running it stopped (crash or restart) before it finished. Rows are written all at once at the end, so most likely nothing was imported; check the member list, then import the file again";

/// Marks failed every queued or running import whose row has not moved for
/// [`IMPORT_STALE_AFTER`]; returns how many.
pub async fn sweep_stale_imports(store: &dyn Store) -> Result<u64, jarvis_store::StoreError> {
    let stale_before = time::OffsetDateTime::now_utc()
        - time::Duration::try_from(IMPORT_STALE_AFTER).unwrap_or(time::Duration::minutes(2));
    let report = ImportReport {
        failure: Some(INTERRUPTED.into()),
        ..Default::default()
    };
    store
        .fail_stale_imports(stale_before, to_json(&report))
        .await
}

/// Progress shared between a run and its heartbeat.
#[derive(Default)]
struct Progress {
    total: std::sync::atomic::AtomicU64,
    processed: std::sync::atomic::AtomicU64,
}

/// Aborts the heartbeat when the run ends, however it ends (return, error or panic).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn heartbeat(
    store: Arc<dyn Store>,
    scope: Scope,
    gym: GymId,
    job: ImportJobId,
    progress: Arc<Progress>,
) -> AbortOnDrop {
    use std::sync::atomic::Ordering::Relaxed;
    AbortOnDrop(tokio::spawn(async move {
        loop {
            tokio::time::sleep(IMPORT_HEARTBEAT).await;
            let (total, done) = (
                progress.total.load(Relaxed),
                progress.processed.load(Relaxed),
            );
            match store
                .import_progress(&scope, gym, job, ImportStatus::Running, total, done)
                .await
            {
                Ok(true) => {}
                // Finished or swept: nothing left to prove.
                Ok(false) => return,
                // SQLite: the bulk insert holds the write lock; the next tick will do.
                Err(e) => tracing::debug!(job = %job, error = %e, "import heartbeat skipped"),
            }
        }
    }))
}

/// Runs an import in the background and makes sure its job ends `succeeded` or `failed`: a
/// storage error or a panic of the run marks it failed. The one supervisor of the API's and
/// the dashboard's uploads.
pub fn spawn_import(
    store: Arc<dyn Store>,
    target: ImportTarget,
    data: Vec<u8>,
    opts: ImportOptions,
) -> tokio::task::JoinHandle<()> {
    let run = run_import(
        store.clone(),
        target.clone(),
        data,
        opts,
        Arc::new(|_, _| {}),
    );
    supervise(store, target, run)
}

/// Awaits `run` in a task of its own and, when it errors or panics, marks the job failed.
pub fn supervise<F>(
    store: Arc<dyn Store>,
    target: ImportTarget,
    run: F,
) -> tokio::task::JoinHandle<()>
where
    F: std::future::Future<Output = Result<ImportReport, jarvis_store::StoreError>>
        + Send
        + 'static,
{
    tokio::spawn(async move {
        let failure = match tokio::spawn(run).await {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => {
                tracing::error!(job = %target.job, error = %e, "member import failed");
                Some("the import stopped on a storage error; nothing was imported")
            }
            Err(e) => {
                tracing::error!(job = %target.job, error = %e, "member import crashed");
                Some("the import stopped on an internal error; nothing was imported")
            }
        };
        set_live(target.job, None);
        if let Some(failure) = failure {
            let report = ImportReport {
                failure: Some(failure.into()),
                ..Default::default()
            };
            if let Err(e) = store
                .finish_import_job(
                    &target.scope,
                    target.gym,
                    target.job,
                    ImportStatus::Failed,
                    to_json(&report),
                )
                .await
            {
                // The stale sweep will still end it.
                tracing::error!(job = %target.job, error = %e, "cannot mark the import failed");
            }
        }
    })
}

/// A job as the API and the dashboard show it: with the live insert progress of this process
/// merged in (the row lags while SQLite's single writer is busy inserting).
pub async fn job_view(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    id: ImportJobId,
) -> Result<ImportJob, jarvis_store::StoreError> {
    Ok(with_live(store.import_job(scope, gym, id).await?))
}

/// What to import and how.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Check only.
    pub dry_run: bool,
    /// Import good rows, report bad ones (default: all or nothing).
    pub skip_bad_rows: bool,
    /// Field → column header overrides.
    pub mapping: BTreeMap<String, String>,
}

/// Which job runs where, and as whom.
#[derive(Debug, Clone)]
pub struct ImportTarget {
    /// Tenant scope of the caller.
    pub scope: Scope,
    /// Who is recorded in the audit log.
    pub actor: Actor,
    /// The gym receiving the members.
    pub gym: GymId,
    /// The job row.
    pub job: ImportJobId,
}

/// Runs one import job to completion and returns its report; the job row ends succeeded or
/// failed. `on_progress(processed, total)` sees parsing/checking and inserting.
pub async fn run_import(
    store: Arc<dyn Store>,
    target: ImportTarget,
    data: Vec<u8>,
    opts: ImportOptions,
    on_progress: Arc<dyn Fn(u64, u64) + Send + Sync>,
) -> Result<ImportReport, jarvis_store::StoreError> {
    let ImportTarget {
        scope,
        actor,
        gym,
        job,
    } = target;
    store
        .import_progress(&scope, gym, job, ImportStatus::Running, 0, 0)
        .await?;
    let shared = Arc::new(Progress::default());
    let _heartbeat = heartbeat(store.clone(), scope, gym, job, shared.clone());
    let on_progress: Arc<dyn Fn(u64, u64) + Send + Sync> = {
        let shared = shared.clone();
        Arc::new(move |done: u64, total: u64| {
            use std::sync::atomic::Ordering::Relaxed;
            shared.total.store(total, Relaxed);
            shared.processed.store(done, Relaxed);
            on_progress(done, total);
        })
    };
    let mapping = opts.mapping.clone();
    let parsed = tokio::task::spawn_blocking(move || csv_import::parse(&data, &mapping))
        .await
        .map_err(|e| jarvis_store::StoreError::Internal(format!("parser task failed: {e}")))?;
    let mut report = ImportReport {
        dry_run: opts.dry_run,
        ..Default::default()
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            report.failure = Some(e.to_string());
            let _ = store
                .finish_import_job(&scope, gym, job, ImportStatus::Failed, to_json(&report))
                .await?;
            return Ok(report);
        }
    };
    report.total_rows = parsed.total_rows;
    report.mapping = parsed.mapping.clone();
    report.ignored_columns = parsed.ignored_columns.clone();
    report.delimiter = parsed.delimiter.to_string();
    // The heartbeat's copy first, so it never writes a total older than the row's.
    on_progress(0, parsed.total_rows);
    store
        .import_progress(
            &scope,
            gym,
            job,
            ImportStatus::Running,
            parsed.total_rows,
            0,
        )
        .await?;

    // Badges already in the gym are per-row errors, found before anything is written.
    let existing: HashSet<String> = store
        .member_badges(&scope, gym)
        .await?
        .into_iter()
        .collect();
    let badge_column = parsed.mapping.get("badge_id").cloned().unwrap_or_default();
    let mut errors = parsed.errors;
    let mut rows = Vec::with_capacity(parsed.rows.len());
    for (line, m) in parsed.rows {
        if existing.contains(&m.badge_id) {
            errors.push(RowError {
                row: line,
                column: badge_column.clone(),
                reason: "badge already used by a member of this gym".into(),
            });
        } else {
            rows.push(m);
        }
    }
    errors.sort_by_key(|e| e.row);
    report.valid_rows = rows.len() as u64;
    report.add_errors(errors);
    let total = report.total_rows;

    let status = if opts.dry_run {
        report.skipped = total - report.valid_rows;
        ImportStatus::Succeeded
    } else if report.error_count > 0 && !opts.skip_bad_rows {
        report.skipped = total;
        report.failure = Some(format!(
            "{} row error(s); nothing was imported. Fix them, or import with skip_bad_rows",
            report.error_count
        ));
        ImportStatus::Failed
    } else {
        let progress = on_progress.clone();
        let cb = move |n: u64| {
            set_live(job, Some(n));
            progress(n, total);
        };
        match store
            .insert_members_bulk(&scope, &actor, gym, Some(job), &rows, &cb)
            .await
        {
            Ok(n) => {
                report.inserted = n;
                report.skipped = total - n;
                ImportStatus::Succeeded
            }
            Err(e) => {
                // A badge taken since the check, or the database went away: nothing was written.
                report.skipped = total;
                report.failure = Some(format!("nothing was imported: {e}"));
                ImportStatus::Failed
            }
        }
    };
    set_live(job, None);
    store
        .finish_import_job(&scope, gym, job, status, to_json(&report))
        .await?;
    on_progress(total, total);
    Ok(report)
}

fn to_json(r: &ImportReport) -> serde_json::Value {
    serde_json::to_value(r).unwrap_or_default()
}

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_import))
        .routes(routes!(list_imports))
        .routes(routes!(get_import))
}

/// Options of an upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Check only; report what would happen (default false).
    #[serde(default)]
    pub dry_run: bool,
    /// Import the good rows and report the bad ones (default false: all or nothing).
    #[serde(default)]
    pub skip_bad_rows: bool,
    /// Header mapping as JSON, field → column, e.g. `{"first_name":"Given name"}`. Columns not
    /// mapped (explicitly or by a known header) are ignored.
    pub mapping: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/members/import", tag = "members",
    params(("gym_id" = GymId, Path), ImportQuery),
    request_body(content = crate::openapi::CsvFile, content_type = "text/csv", description = "The CSV file (UTF-8 with or without BOM, or Windows-1252; `;` or `,`)"),
    description = "Starts an import job and answers at once; poll the job for progress and the report.",
    responses((status = 202, body = ImportJob), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
async fn start_import(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Body,
) -> ApiResult<(StatusCode, Json<ImportJob>)> {
    let scope = caller.gym(&state, gym, Action::MemberImport).await?;
    let mapping: BTreeMap<String, String> = match q.mapping.as_deref() {
        None | Some("") => BTreeMap::new(),
        Some(m) => serde_json::from_str(m).map_err(|e| {
            ApiError::bad_request(
                "invalid_query",
                format!("`mapping` must be a JSON object of field → column: {e}"),
            )
            .with_details(serde_json::json!({ "field": "mapping" }))
        })?,
    };
    if let Some(f) = mapping
        .keys()
        .find(|f| csv_import::Field::parse(f).is_none())
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`mapping` names unknown member field `{f}`"),
        )
        .with_details(serde_json::json!({ "field": "mapping" })));
    }
    let data = axum::body::to_bytes(body, MAX_UPLOAD_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the CSV file must be at most {MAX_UPLOAD_BYTES} bytes"),
            )
        })?;
    if data.is_empty() {
        return Err(ApiError::bad_request(
            "empty_file",
            "send the CSV file as the request body",
        ));
    }
    let job = state
        .store
        .create_import_job(&scope, &caller.actor, gym, q.dry_run, q.skip_bad_rows)
        .await?;
    let target = ImportTarget {
        scope,
        actor: caller.actor.clone(),
        gym,
        job: job.id,
    };
    let opts = ImportOptions {
        dry_run: q.dry_run,
        skip_bad_rows: q.skip_bad_rows,
        mapping,
    };
    spawn_import(state.store.clone(), target, data.to_vec(), opts);
    Ok((StatusCode::ACCEPTED, Json(job)))
}

fn with_live(mut j: ImportJob) -> ImportJob {
    if j.status == ImportStatus::Running
        && let Some(p) = live(j.id)
    {
        j.processed_rows = i64::try_from(p).unwrap_or(i64::MAX);
    }
    j
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/imports", tag = "members", params(("gym_id" = GymId, Path), Paging),
    responses((status = 200, body = PageBody<ImportJob>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_imports(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<PageBody<ImportJob>>> {
    let scope = caller.gym(&state, gym, Action::MemberImport).await?;
    let page = state
        .store
        .list_import_jobs(&scope, gym, p.request()?)
        .await?;
    Ok(Json(PageBody {
        items: page.items.into_iter().map(with_live).collect(),
        total: page.total,
        limit: page.limit,
        offset: page.offset,
    }))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/imports/{import_id}", tag = "members",
    params(("gym_id" = GymId, Path), ("import_id" = ImportJobId, Path)),
    responses((status = 200, body = ImportJob), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_import(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, ImportJobId)>,
) -> ApiResult<Json<ImportJob>> {
    let scope = caller.gym(&state, gym, Action::MemberImport).await?;
    Ok(Json(job_view(state.store.as_ref(), &scope, gym, id).await?))
}
