//! Member CSV import: the runner shared by the API, the dashboard and `jarvis members import`.
//!
//! An import is a `member_imports` row: queued → running → succeeded/failed, with progress and
//! a report (per-row errors: line, column, reason). [`start`] creates the row with the uploaded
//! file and enqueues an `imports.run` job on the durable queue (payload: ids only; key
//! `import:<id>`), so a 100k-row file never holds the request and any instance may run it.
//! [`run_job`] is that job's handler; the CLI calls [`execute`] inline instead.
//!
//! Supervision: the queue's lease and retries. A running import bumps its row (`updated_at`,
//! progress) every [`IMPORT_HEARTBEAT`], so progress is visible from every instance. A worker
//! that dies loses its lease and another claims the job: the run starts again from the stored
//! file unless the rows were already written (the bulk insert wipes the file in its own
//! transaction), in which case it only finishes the row: nothing is inserted twice. The last
//! failed attempt marks the import failed; [`sweep_stale_imports`] fails what is still
//! `running` long after its heartbeat stopped (its job was dead-lettered, or no instance ran).

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
pub const INTERRUPTED: &str = "the import was interrupted: the servers running it stopped (crash or restart) and it could not be retried. Rows are written all at once at the end, so most likely nothing was imported; check the member list, then import the file again";

/// Marks failed every running import whose row has not moved for [`IMPORT_STALE_AFTER`] (its
/// `imports.run` job died for good, or no instance ran it again in time); returns how many.
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

/// Runs one import to completion from `data` and returns its report; the row ends succeeded
/// or failed unless storage fails (then the caller decides: retry or fail). `on_progress(processed, total)` sees parsing/checking and inserting.
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
            errors.push(RowError::new(
                line,
                badge_column.clone(),
                "badge_taken",
                "badge already used by a member of this gym",
            ));
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

/// The `imports.run` job kind: runs one uploaded import from the durable queue. Retried after
/// a crash (see the module docs); concurrency 2 per instance so one large file does not hold up
/// every other gym's import.
pub const IMPORTS_RUN: crate::jobs::JobSpec =
    crate::jobs::JobSpec::new("imports.run", "run an uploaded CSV member import")
        .concurrency(2)
        .retry(jarvis_core::model::RetryPolicy {
            max_attempts: 3,
            base_delay: time::Duration::seconds(5),
            max_delay: time::Duration::minutes(1),
        });

/// What the job needs besides the file, kept with the upload (never in the job payload, which
/// operators read).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct UploadMeta {
    mapping: BTreeMap<String, String>,
    actor_kind: String,
    actor_user: Option<UserId>,
}

impl UploadMeta {
    fn actor(&self) -> Actor {
        // `Actor::kind` is a closed set of static names.
        let kind = ["user", "bootstrap", "cli", "kiosk"]
            .into_iter()
            .find(|k| *k == self.actor_kind)
            .unwrap_or("system");
        Actor {
            kind,
            user_id: self.actor_user,
            ..Default::default()
        }
    }
}

/// Creates the import row and keeps the file and options with it, ready for [`execute`].
pub async fn create(
    store: &dyn Store,
    scope: Scope,
    actor: &Actor,
    gym: GymId,
    data: &[u8],
    opts: &ImportOptions,
) -> AppResult<ImportJob> {
    let job = store
        .create_import_job(&scope, actor, gym, opts.dry_run, opts.skip_bad_rows)
        .await?;
    let meta = UploadMeta {
        mapping: opts.mapping.clone(),
        actor_kind: actor.kind.to_string(),
        actor_user: actor.user_id,
    };
    let saved = store
        .save_import_upload(
            &scope,
            gym,
            job.id,
            data,
            serde_json::to_value(&meta).unwrap_or_default(),
        )
        .await;
    if let Err(e) = saved {
        fail(
            store,
            &scope,
            gym,
            job.id,
            "the upload could not be stored; nothing was imported",
        )
        .await;
        return Err(e.into());
    }
    Ok(job)
}

/// The `imports.run` job of an import: ids only, one job per import.
pub fn run_job_of(job: &ImportJob) -> jarvis_core::model::NewJob {
    jarvis_core::model::NewJob::new(
        IMPORTS_RUN.name,
        serde_json::json!({
            "import": job.id,
            "franchise": job.franchise_id,
            "gym": job.gym_id,
        }),
    )
    .with_idempotency_key(format!("import:{}", job.id))
    .with_tenant(job.franchise_id, Some(job.gym_id))
    .with_priority(IMPORTS_RUN.priority)
    .with_max_attempts(IMPORTS_RUN.retry.max_attempts)
}

/// Creates the import (row and file) and enqueues its `imports.run` job; returns the queued
/// import at once.
pub async fn start(
    store: Arc<dyn Store>,
    scope: Scope,
    actor: Actor,
    gym: GymId,
    data: Vec<u8>,
    opts: ImportOptions,
) -> AppResult<ImportJob> {
    let job = create(store.as_ref(), scope, &actor, gym, &data, &opts).await?;
    if let Err(e) = store.enqueue(run_job_of(&job)).await {
        fail(
            store.as_ref(),
            &scope,
            gym,
            job.id,
            "the import could not be queued; nothing was imported",
        )
        .await;
        return Err(e.into());
    }
    Ok(job)
}

/// Ends a queued or running import as failed with `why` (logged when storage refuses).
pub async fn fail(store: &dyn Store, scope: &Scope, gym: GymId, id: ImportJobId, why: &str) {
    let report = ImportReport {
        failure: Some(why.into()),
        ..Default::default()
    };
    if let Err(e) = store
        .finish_import_job(scope, gym, id, ImportStatus::Failed, to_json(&report))
        .await
    {
        // The stale sweep ends it if it was running; a queued row keeps its reason in the logs.
        tracing::error!(job = %id, error = %e, "cannot mark the import failed");
    }
}

/// Runs a created import to its end from the file kept with it, and returns its report (`None`
/// when it had already finished). Idempotent: a rerun after a crash that came after the rows
/// were written only finishes the row (with what the store recorded), never inserts again.
pub async fn execute(
    store: Arc<dyn Store>,
    scope: Scope,
    gym: GymId,
    id: ImportJobId,
    on_progress: Arc<dyn Fn(u64, u64) + Send + Sync>,
) -> Result<Option<ImportReport>, jarvis_store::StoreError> {
    let row = store.import_job(&scope, gym, id).await?;
    if matches!(row.status, ImportStatus::Succeeded | ImportStatus::Failed) {
        return Ok(None);
    }
    let (data, meta) = store.import_upload(&scope, gym, id).await?;
    let meta: UploadMeta = meta
        .and_then(|m| serde_json::from_value(m).ok())
        .unwrap_or_default();
    let Some(data) = data else {
        let mut report = ImportReport {
            dry_run: row.dry_run,
            total_rows: u64::try_from(row.total_rows).unwrap_or(0),
            ..Default::default()
        };
        let status = if row.status == ImportStatus::Running {
            // A previous attempt wrote the rows (wiping the file with them) and died before
            // finishing the row: they are in; only the per-row details are lost.
            report.inserted = u64::try_from(row.processed_rows).unwrap_or(0);
            report.valid_rows = report.inserted;
            report.skipped = report.total_rows.saturating_sub(report.inserted);
            report.failure = None;
            ImportStatus::Succeeded
        } else {
            report.failure = Some("the uploaded file is missing; nothing was imported".into());
            ImportStatus::Failed
        };
        store
            .finish_import_job(&scope, gym, id, status, to_json(&report))
            .await?;
        return Ok(Some(report));
    };
    let target = ImportTarget {
        scope,
        actor: meta.actor(),
        gym,
        job: id,
    };
    let opts = ImportOptions {
        dry_run: row.dry_run,
        skip_bad_rows: row.skip_bad_rows,
        mapping: meta.mapping,
    };
    run_import(store, target, data, opts, on_progress)
        .await
        .map(Some)
}

#[derive(serde::Deserialize)]
struct RunPayload {
    import: ImportJobId,
    franchise: FranchiseId,
    gym: GymId,
}

/// The `imports.run` handler: [`execute`] in the import's gym scope. A storage error is
/// retried; on the last attempt the import is marked failed instead.
pub async fn run_job(
    store: Arc<dyn Store>,
    ctx: crate::jobs::JobCtx,
    payload: serde_json::Value,
) -> Result<(), crate::jobs::JobError> {
    use crate::jobs::JobError;
    let p: RunPayload = serde_json::from_value(payload).map_err(JobError::permanent)?;
    let scope = Scope::Gym {
        franchise: p.franchise,
        gym: p.gym,
    };
    let result = execute(store.clone(), scope, p.gym, p.import, Arc::new(|_, _| {})).await;
    set_live(p.import, None);
    match result {
        Ok(_) => Ok(()),
        Err(jarvis_store::StoreError::NotFound(_)) => {
            // The gym or the import was deleted meanwhile: nothing left to do.
            Err(JobError::permanent("the import no longer exists"))
        }
        Err(e) => {
            tracing::error!(job = %p.import, attempt = ctx.job.attempts, error = %e, "member import failed");
            if ctx.job.attempts >= ctx.job.max_attempts {
                fail(
                    store.as_ref(),
                    &scope,
                    p.gym,
                    p.import,
                    "the import stopped on a storage error, several times; nothing was imported",
                )
                .await;
                return Err(JobError::permanent(e));
            }
            Err(JobError::retryable(e))
        }
    }
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
