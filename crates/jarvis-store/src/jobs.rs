//! Storage of the durable job queue, of the running instances, and of throttles shared by every
//! instance. All of it is system data: it runs in the named contexts `TxCtx::Jobs` and
//! `TxCtx::Throttle`, never in a tenant scope (callers authorize operators before reading it).
//!
//! The queue is "claim with a lease": a worker claims due jobs (atomically, so two workers never
//! hold one job), renews the lease while it works, then completes, fails or releases the job.
//! Each of those is fenced by the [`Claim`] (job id, lease owner, attempt): once a lease expires
//! and another worker claims the job, the first worker's calls change nothing and say so. Every
//! claim opens a `job_runs` row that its end closes (a lost lease is closed by the next claim).

use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::model::*;
use jarvis_core::*;
use time::{Duration, OffsetDateTime};

/// Result of an enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    /// The job: the new one, or the one already holding the idempotency key.
    pub job: Job,
    /// False when the key was taken and nothing was inserted.
    pub created: bool,
}

/// Filters of the job list.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this status.
    pub status: Option<JobStatus>,
    /// Only jobs tagged with this franchise.
    pub franchise_id: Option<FranchiseId>,
    /// Only jobs tagged with this gym.
    pub gym_id: Option<GymId>,
}

/// Filters of the run history.
#[derive(Debug, Clone, Default)]
pub struct JobRunFilter {
    /// Only runs of this kind.
    pub kind: Option<String>,
    /// Only runs of this job.
    pub job_id: Option<JobId>,
    /// Order of the rows.
    pub sort: JobRunSort,
}

/// Orders of the run history; each ends with the id so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JobRunSort {
    /// Newest first.
    #[default]
    StartedDesc,
    /// Oldest first.
    Started,
    /// By kind, A to Z, newest first within a kind.
    Kind,
    /// By kind, Z to A, newest first within a kind.
    KindDesc,
    /// Longest first; runs still going (no duration yet) last.
    DurationDesc,
    /// Shortest first; runs still going last.
    Duration,
}

impl JobRunSort {
    /// Every order, the default first.
    pub const ALL: [JobRunSort; 6] = [
        Self::StartedDesc,
        Self::Started,
        Self::Kind,
        Self::KindDesc,
        Self::DurationDesc,
        Self::Duration,
    ];

    /// The order's key in list URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartedDesc => "started_desc",
            Self::Started => "started",
            Self::Kind => "kind",
            Self::KindDesc => "kind_desc",
            Self::DurationDesc => "duration_desc",
            Self::Duration => "duration",
        }
    }

    /// The order a URL key names, or the default for anything else.
    pub fn parse(key: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == key.trim())
            .unwrap_or_default()
    }
}

/// What a throttle says about one more attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleVerdict {
    /// Within the limit; `remaining` more attempts fit in the current window.
    Allowed {
        /// Attempts left in the window.
        remaining: u32,
    },
    /// Over the limit until the window ends.
    Limited {
        /// Time until the window ends.
        retry_after: Duration,
    },
}

impl ThrottleVerdict {
    /// Whether the attempt may go ahead.
    pub fn is_allowed(&self) -> bool {
        matches!(self, ThrottleVerdict::Allowed { .. })
    }
}

/// The durable job queue.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Adds a job (validated here too). With an idempotency key already taken by any job,
    /// finished or not, nothing is inserted and the existing job comes back (`created` false):
    /// concurrent enqueues of one key make exactly one job.
    async fn enqueue(&self, new: NewJob) -> StoreResult<Enqueued>;

    /// Atomically claims up to `n` due jobs of `kinds` for `owner`, each with a lease of
    /// `lease`: highest priority first, then oldest `run_after`. Due: queued with `run_after`
    /// ≤ now, or running with an expired lease (the previous run is closed as `lease_lost`).
    /// Jobs (of any kind) whose lease expired on their last attempt are dead-lettered instead
    /// of claimed again (a job that kills its worker must not kill every instance in turn).
    /// Each claim adds one to `attempts` and opens a run. Two concurrent claimers never get the
    /// same job, and never wait for each other's rows.
    async fn claim(
        &self,
        owner: InstanceId,
        kinds: &[&str],
        n: u32,
        lease: Duration,
    ) -> StoreResult<Vec<ClaimedJob>>;

    /// Renews the lease to now + `lease`. False when the claim no longer holds (the job was
    /// reclaimed by another worker after the lease expired, or already ended): stop working.
    async fn heartbeat(&self, claim: &Claim, lease: Duration) -> StoreResult<bool>;

    /// Marks the job succeeded and closes the run. False when the claim no longer holds
    /// (nothing changed).
    async fn complete(&self, claim: &Claim) -> StoreResult<bool>;

    /// Records a failed run. With `retry_at`, the job is queued again for then, unless this
    /// was its last attempt (then `dead`); without, it fails permanently (`failed`). Returns
    /// the run's outcome (`Retrying`, `Dead` or `Failed`), or `None` when the claim no longer
    /// holds (nothing changed).
    async fn fail(
        &self,
        claim: &Claim,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> StoreResult<Option<RunOutcome>>;

    /// Gives the job back (graceful shutdown): queued again, due now, and the attempt does not
    /// count (`max_attempts` grows by one, as `attempts` never decreases: it is the fencing
    /// token). The run is closed as `released`. False when the claim no longer holds.
    async fn release(&self, claim: &Claim) -> StoreResult<bool>;

    /// One job.
    async fn job(&self, id: JobId) -> StoreResult<Job>;
    /// Jobs matching the filter, newest first.
    async fn list_jobs(&self, filter: &JobFilter, page: PageRequest) -> StoreResult<Page<Job>>;
    /// Runs matching the filter, in the filter's order.
    async fn job_runs(&self, filter: &JobRunFilter, page: PageRequest)
    -> StoreResult<Page<JobRun>>;
    /// The latest run of every kind that ever ran, by kind.
    async fn last_run_per_kind(&self) -> StoreResult<Vec<JobRun>>;
    /// Queue counts per kind, by kind (kinds with unfinished, failed or dead jobs only).
    async fn queue_depth(&self) -> StoreResult<Vec<KindDepth>>;
    /// Queues a `dead`, `failed` or `cancelled` job again, due now, with `extra_attempts` more
    /// attempts. False when the job is in another status.
    async fn retry_job(&self, id: JobId, extra_attempts: u32) -> StoreResult<bool>;
    /// Cancels a queued job (a running job cannot be cancelled from storage). False when the
    /// job is not queued.
    async fn cancel_job(&self, id: JobId) -> StoreResult<bool>;
    /// Deletes, in one bounded batch of at most `batch` jobs, jobs finished before `before`
    /// (with their runs), and instances stopped or silent since before `before`. Returns the
    /// jobs and instances deleted; call again until it returns 0.
    async fn purge_jobs(&self, before: OffsetDateTime, batch: u32) -> StoreResult<u64>;
}

/// Running `jarvis serve` processes.
#[async_trait]
pub trait InstanceStore: Send + Sync {
    /// Registers a starting process; its id is the lease owner of the jobs it claims.
    async fn register_instance(&self, new: NewInstance) -> StoreResult<Instance>;
    /// Records a heartbeat. False when the instance is unknown or stopped.
    async fn instance_heartbeat(&self, id: InstanceId) -> StoreResult<bool>;
    /// Records a graceful stop.
    async fn instance_stopped(&self, id: InstanceId) -> StoreResult<()>;
    /// Instances alive: not stopped and heard from within `alive_within`, oldest first.
    async fn list_instances(&self, alive_within: Duration) -> StoreResult<Vec<Instance>>;
    /// Instances not stopped but silent for longer than `silent_for`: they died without
    /// stopping (the reapers of their work look for these), oldest heartbeat first.
    async fn stale_instances(&self, silent_for: Duration) -> StoreResult<Vec<Instance>>;
}

/// Fixed-window counters shared by every instance (pairing guesses per address, …). A window
/// opens at a key's first hit and lasts `window`; the next hit after it ends opens a new one.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Counts one attempt against `key` and says whether it fits within `limit` per window, in
    /// one atomic statement: of concurrent hits on any instances, exactly `limit` are allowed.
    /// Refused attempts count too (they do not extend the window).
    async fn throttle_hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> StoreResult<ThrottleVerdict>;
    /// Whether one more attempt would fit, without counting one.
    async fn throttle_check(&self, key: &str, limit: u32) -> StoreResult<ThrottleVerdict>;
    /// Forgets `key` (e.g. after a success).
    async fn throttle_reset(&self, key: &str) -> StoreResult<()>;
}
