//! Member CSV import: the job runner shared by the API, the dashboard and `jarvis members
//! import`.
//!
//! A job is a `member_imports` row: queued → running → succeeded/failed, with progress and a
//! report (per-row errors: line, column, reason). [`start`] creates the row and runs the work in
//! the background, so a 100k-row file never holds the request.
//!
//! Supervision, the same for every caller: a running import bumps its row (`updated_at`,
//! progress) every [`IMPORT_HEARTBEAT`]; [`spawn_import`] marks the job failed when the run
//! errors or panics; and [`sweep_stale_imports`] (at start and every minute) fails any queued or
//! running job silent for [`IMPORT_STALE_AFTER`], whose runner died with its process. Another
//! live instance's imports keep moving, so they are never swept. Readers ([`job_view`],
//! [`list_jobs`]) merge in this process's live insert progress.

use crate::error::AppResult;
use jarvis_core::csv_import::{self, ImportReport, RowError};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::Store;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};

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

/// Creates the job row and runs the import in the background under [`spawn_import`]'s
/// supervision; returns the queued job at once.
pub async fn start(
    store: Arc<dyn Store>,
    scope: Scope,
    actor: Actor,
    gym: GymId,
    data: Vec<u8>,
    opts: ImportOptions,
) -> AppResult<ImportJob> {
    let job = store
        .create_import_job(&scope, &actor, gym, opts.dry_run, opts.skip_bad_rows)
        .await?;
    let target = ImportTarget {
        scope,
        actor,
        gym,
        job: job.id,
    };
    spawn_import(store, target, data, opts);
    Ok(job)
}

/// The latest jobs of a gym, with live progress merged in (as [`job_view`]).
pub async fn list_jobs(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    page: PageRequest,
) -> AppResult<Page<ImportJob>> {
    let mut p = store.list_import_jobs(scope, gym, page).await?;
    p.items = p.items.into_iter().map(with_live).collect();
    Ok(p)
}

fn with_live(mut j: ImportJob) -> ImportJob {
    if j.status == ImportStatus::Running
        && let Some(p) = live(j.id)
    {
        j.processed_rows = i64::try_from(p).unwrap_or(i64::MAX);
    }
    j
}
