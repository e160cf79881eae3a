//! What operators see and do with jobs, shared by `jarvis jobs` and the admin page: every kind
//! with its schedule, last and next run and queue depth; the run history; run a kind now; retry
//! a dead job. Callers authorize (super admins only) before calling.

use super::{JobSpec, Schedule};
use jarvis_core::model::{Job, JobRun, KindDepth, NewJob};
use jarvis_core::{JobId, PageRequest};
use jarvis_store::{JobRunFilter, Store, StoreResult};
use time::OffsetDateTime;

/// One kind as operators see it.
#[derive(Debug, Clone)]
pub struct KindOverview {
    /// The declaration.
    pub spec: JobSpec,
    /// Its latest run, if it ever ran.
    pub last_run: Option<JobRun>,
    /// When it runs next: the earliest queued job, or the next schedule slot.
    pub next_run: Option<OffsetDateTime>,
    /// Its queue counts.
    pub depth: Option<KindDepth>,
}

/// Every kind of `specs` with its last run, next run and queue depth, by name.
pub async fn overview(
    store: &dyn Store,
    specs: &[JobSpec],
    now: OffsetDateTime,
) -> StoreResult<Vec<KindOverview>> {
    let last = store.last_run_per_kind().await?;
    let depth = store.queue_depth().await?;
    let mut out: Vec<KindOverview> = specs
        .iter()
        .map(|spec| {
            let depth = depth.iter().find(|d| d.kind == spec.name).cloned();
            let slot = spec
                .schedule
                .and_then(|s| Schedule::parse(s).ok())
                .and_then(|s| s.first_after(now));
            let queued = depth.as_ref().and_then(|d| d.next_run_after);
            let next_run = match (queued, slot) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            KindOverview {
                spec: *spec,
                last_run: last.iter().find(|r| r.kind == spec.name).cloned(),
                next_run,
                depth,
            }
        })
        .collect();
    out.sort_by_key(|k| k.spec.name);
    Ok(out)
}

/// The latest runs, of one kind or of all, newest first.
pub async fn history(
    store: &dyn Store,
    kind: Option<&str>,
    limit: u32,
) -> StoreResult<Vec<JobRun>> {
    let page = PageRequest {
        limit: limit.clamp(1, jarvis_core::page::MAX_LIMIT),
        offset: 0,
    };
    let filter = JobRunFilter {
        kind: kind.map(str::to_string),
        ..Default::default()
    };
    Ok(store.job_runs(&filter, page).await?.items)
}

/// Enqueues a job of `spec` due now (an empty payload, as its schedule would give it).
pub async fn run_now(store: &dyn Store, spec: &JobSpec) -> StoreResult<Job> {
    let new = NewJob::new(spec.name, serde_json::json!({}))
        .with_priority(spec.priority)
        .with_max_attempts(spec.retry.max_attempts);
    Ok(store.enqueue(new).await?.job)
}

/// Queues a dead, failed or cancelled job again with one more attempt. False when the job is
/// in another status.
pub async fn retry(store: &dyn Store, id: JobId) -> StoreResult<bool> {
    store.retry_job(id, 1).await
}

/// Finds a spec by name.
pub fn find<'a>(specs: &'a [JobSpec], name: &str) -> Option<&'a JobSpec> {
    specs.iter().find(|s| s.name == name)
}
