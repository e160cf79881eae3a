//! The workers and the scheduler of one instance.
//!
//! Workers poll the queue and claim due jobs of each registered kind, up to its concurrency,
//! with the kind's lease. A claimed job runs in its own supervised task beside a heartbeat that
//! renews the lease every third of it; when the store says the claim is gone (the lease expired
//! and another instance took the job), the handler is dropped at once. Outcomes: success
//! completes the job; a retryable error queues it again after exponential back-off with jitter
//! (dead-lettered once its attempts are spent, by the store); a permanent error or a panic fails
//! it (a panic is retried like a transient error). At shutdown workers stop claiming; running
//! jobs finish within the grace period, except cancellable kinds, which are given back at once;
//! whatever still runs when the grace ends is interrupted and given back (`release`: the attempt
//! does not count).
//!
//! The scheduler enqueues, for every kind with a schedule, its latest slot at or before now
//! with the idempotency key `schedule:<kind>:<slot>`: however many instances do it, one job
//! exists per slot. Only the latest slot is ever enqueued, so after downtime at most one missed
//! slot is caught up.

use super::{JobCtx, JobError, JobKind, Registry};
use crate::supervisor::{Signals, Supervisor};
use jarvis_core::InstanceId;
use jarvis_core::model::{ClaimedJob, NewJob};
use jarvis_store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

/// How the workers and the scheduler of one instance behave.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// How often idle workers look for due jobs.
    pub poll_interval: StdDuration,
    /// How often the scheduler looks for due slots.
    pub schedule_interval: StdDuration,
    /// Whether this instance runs the scheduler (every instance may: slots are unique).
    pub scheduler: bool,
    /// Where finished runs are counted (read by `/metrics`).
    pub stats: Arc<super::JobStats>,
    /// Where failures, dead letters and panics are recorded (the built-in error log).
    pub errors: Option<crate::errors::ErrorSink>,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            poll_interval: StdDuration::from_secs(1),
            schedule_interval: StdDuration::from_secs(15),
            scheduler: true,
            stats: Arc::default(),
            errors: None,
        }
    }
}

/// The job runner of one instance: workers plus scheduler over one registry.
#[derive(Clone)]
pub struct Runner {
    store: Arc<dyn Store>,
    registry: Arc<Registry>,
    owner: InstanceId,
    config: RunnerConfig,
    wake: Arc<Notify>,
    slots: Arc<HashMap<&'static str, Arc<Semaphore>>>,
}

impl Runner {
    /// A runner claiming as `owner` (the registered instance id).
    pub fn new(
        store: Arc<dyn Store>,
        registry: Arc<Registry>,
        owner: InstanceId,
        config: RunnerConfig,
    ) -> Self {
        let slots = registry
            .kinds()
            .map(|k| {
                let n = usize::try_from(k.spec.concurrency).unwrap_or(1);
                (k.spec.name, Arc::new(Semaphore::new(n)))
            })
            .collect();
        Self {
            store,
            registry,
            owner,
            config,
            wake: Arc::new(Notify::new()),
            slots: Arc::new(slots),
        }
    }

    /// The registry it runs.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The runs this runner finished, by kind and how they ended.
    pub fn stats(&self) -> &Arc<super::JobStats> {
        &self.config.stats
    }

    /// The instance id it claims as.
    pub fn owner(&self) -> InstanceId {
        self.owner
    }

    /// Makes idle workers look for jobs now (after a local enqueue).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Starts the worker loop (and the scheduler, if configured) under `sup`, after enqueuing
    /// one job of each kind declared `at_start`.
    pub fn start(&self, sup: &Supervisor) {
        let start_jobs: Vec<NewJob> = self
            .registry
            .kinds()
            .filter(|k| k.spec.at_start)
            .map(|k| {
                NewJob::new(k.spec.name, serde_json::json!({}))
                    .with_idempotency_key(format!("start:{}:{}", k.spec.name, self.owner))
                    .with_priority(k.spec.priority)
                    .with_max_attempts(k.spec.retry.max_attempts)
            })
            .collect();
        let store = self.store.clone();
        let me = self.clone();
        let s = sup.clone();
        sup.spawn("job-workers", move |signals| async move {
            for job in start_jobs {
                if let Err(e) = store.enqueue(job).await {
                    tracing::warn!(error = %e, "cannot enqueue a start-up job");
                }
            }
            me.work(&s, signals).await;
        });
        if self.config.scheduler && self.registry.kinds().any(|k| k.schedule.is_some()) {
            let me = self.clone();
            sup.spawn("job-scheduler", move |signals| async move {
                me.schedule_loop(signals).await;
            });
        }
    }

    async fn work(&self, sup: &Supervisor, signals: Signals) {
        loop {
            if signals.is_stopping() {
                break;
            }
            if let Err(e) = self.claim_and_start(sup).await {
                tracing::warn!(error = %e, "cannot claim jobs");
            }
            tokio::select! {
                () = signals.stopping() => break,
                () = tokio::time::sleep(self.config.poll_interval) => {}
                () = self.wake.notified() => {}
            }
        }
    }

    /// Claims what fits in the free slots of every kind and starts it; answers how many jobs
    /// started.
    pub async fn claim_and_start(&self, sup: &Supervisor) -> jarvis_store::StoreResult<usize> {
        let mut started = 0;
        for kind in self.registry.kinds() {
            let Some(slots) = self.slots.get(kind.spec.name) else {
                continue;
            };
            let free = u32::try_from(slots.available_permits()).unwrap_or(u32::MAX);
            if free == 0 || sup.signals().is_stopping() {
                continue;
            }
            let claimed = self
                .store
                .claim(self.owner, &[kind.spec.name], free, kind.spec.lease)
                .await?;
            for c in claimed {
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    // Cannot happen (we claimed at most the free permits); give it back.
                    let _ = self.store.release(&c.claim).await;
                    continue;
                };
                let store = self.store.clone();
                let kind = kind.clone();
                let stats = self.config.stats.clone();
                let errors = self.config.errors.clone();
                sup.spawn("job", move |signals| async move {
                    let outcome = run_job(store, kind.clone(), c, signals, errors).await;
                    stats.record(kind.spec.name, outcome);
                    drop(permit);
                });
                started += 1;
            }
        }
        Ok(started)
    }

    async fn schedule_loop(&self, signals: Signals) {
        let mut last: HashMap<&'static str, OffsetDateTime> = HashMap::new();
        loop {
            self.enqueue_due_slots(OffsetDateTime::now_utc(), &mut last)
                .await;
            tokio::select! {
                () = signals.stopping() => break,
                () = tokio::time::sleep(self.config.schedule_interval) => {}
            }
        }
    }

    /// Enqueues the latest due slot of every scheduled kind (skipping slots this instance
    /// already enqueued, as remembered in `last`); answers how many jobs it created.
    pub async fn enqueue_due_slots(
        &self,
        now: OffsetDateTime,
        last: &mut HashMap<&'static str, OffsetDateTime>,
    ) -> usize {
        let mut created = 0;
        for kind in self.registry.kinds() {
            let Some(schedule) = &kind.schedule else {
                continue;
            };
            let Some(slot) = schedule.latest_at_or_before(now) else {
                continue;
            };
            if last.get(kind.spec.name) == Some(&slot) {
                continue;
            }
            match self.store.enqueue(slot_job(kind, slot)).await {
                Ok(e) => {
                    last.insert(kind.spec.name, slot);
                    if e.created {
                        created += 1;
                        tracing::debug!(kind = kind.spec.name, %slot, "scheduled");
                        self.wake();
                    }
                }
                Err(e) => {
                    tracing::warn!(kind = kind.spec.name, error = %e, "cannot enqueue a scheduled job");
                }
            }
        }
        created
    }
}

/// The job of one schedule slot.
pub(crate) fn slot_job(kind: &JobKind, slot: OffsetDateTime) -> NewJob {
    NewJob::new(
        kind.spec.name,
        serde_json::json!({ "slot": slot.unix_timestamp() }),
    )
    .with_idempotency_key(slot_key(kind.spec.name, slot))
    .with_run_after(slot)
    .with_priority(kind.spec.priority)
    .with_max_attempts(kind.spec.retry.max_attempts)
}

/// `schedule:<kind>:<slot as RFC 3339>`, the key that makes a slot run once.
pub fn slot_key(kind: &str, slot: OffsetDateTime) -> String {
    let ts = slot
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| slot.unix_timestamp().to_string());
    format!("schedule:{kind}:{ts}")
}

enum End {
    Finished(Result<Result<(), JobError>, tokio::task::JoinError>),
    LeaseLost,
    Interrupted,
}

fn std_duration(d: Duration) -> StdDuration {
    StdDuration::try_from(d).unwrap_or(StdDuration::from_secs(1))
}

/// Runs one claimed job to its end: heartbeat beside the handler, then record the outcome.
async fn run_job(
    store: Arc<dyn Store>,
    kind: Arc<JobKind>,
    c: ClaimedJob,
    signals: Signals,
    errors: Option<crate::errors::ErrorSink>,
) -> super::RunEnd {
    use crate::errors::ErrorKind;
    use jarvis_core::model::RunOutcome;
    use jarvis_store::ErrorLevel;
    let ClaimedJob { job, claim } = c;
    let spec = kind.spec;
    // Failures go to the error log: retried ones as warnings, permanent ones as errors, dead
    // letters and panics as critical (they e-mail the super admins).
    let record = |kind: ErrorKind, level: ErrorLevel, message: &str| {
        if let Some(log) = &errors {
            log.push(kind, spec.name, level, message);
        }
    };
    let lease = spec.lease;
    let cancel = CancellationToken::new();
    let ctx = JobCtx {
        job: job.clone(),
        cancel: cancel.clone(),
    };
    tracing::info!(kind = spec.name, job = %job.id, attempt = claim.attempt, "job started");
    let mut handle = tokio::spawn(kind.call(ctx, job.payload.clone()));
    let beat = std_duration(lease / 3).max(StdDuration::from_millis(100));
    let mut last_ok = tokio::time::Instant::now();
    let end = loop {
        tokio::select! {
            r = &mut handle => break End::Finished(r),
            () = tokio::time::sleep(beat) => {
                match store.heartbeat(&claim, lease).await {
                    Ok(true) => last_ok = tokio::time::Instant::now(),
                    Ok(false) => break End::LeaseLost,
                    Err(e) => {
                        tracing::warn!(kind = spec.name, job = %job.id, error = %e, "cannot renew a job lease");
                        // Without a renewal for a whole lease, assume another instance has it.
                        if last_ok.elapsed() >= std_duration(lease) {
                            break End::LeaseLost;
                        }
                    }
                }
            }
            () = signals.aborting() => break End::Interrupted,
            () = signals.stopping(), if spec.cancellable => break End::Interrupted,
        }
    };
    if !matches!(end, End::Finished(_)) {
        cancel.cancel();
        handle.abort();
    }
    let (kind_name, id) = (spec.name, job.id);
    let outcome = match &end {
        End::Finished(Ok(Ok(()))) => super::RunEnd::Succeeded,
        End::Finished(Ok(Err(JobError::Permanent(_)))) => super::RunEnd::FailedPermanently,
        End::Finished(_) => super::RunEnd::Failed,
        End::LeaseLost => super::RunEnd::LeaseLost,
        End::Interrupted => super::RunEnd::Interrupted,
    };
    let result = match end {
        End::Finished(Ok(Ok(()))) => store.complete(&claim).await.map(|held| {
            tracing::info!(kind = kind_name, job = %id, held, "job succeeded");
        }),
        End::Finished(Ok(Err(JobError::Permanent(e)))) => {
            tracing::warn!(kind = kind_name, job = %id, error = %e, "job failed permanently");
            record(ErrorKind::Job, ErrorLevel::Error, &e);
            store.fail(&claim, &e, None).await.map(|_| ())
        }
        End::Finished(r) => {
            let panicked = r.is_err();
            let e = match r {
                Ok(Err(e)) => e.to_string(),
                Err(join) => format!("handler panicked: {join}"),
                Ok(Ok(())) => String::new(),
            };
            if panicked {
                record(ErrorKind::Panic, ErrorLevel::Critical, &e);
            }
            let delay = spec.retry.delay(claim.attempt, rand::random::<f64>());
            let at = OffsetDateTime::now_utc() + delay;
            match store.fail(&claim, &e, Some(at)).await {
                Ok(outcome) => {
                    tracing::warn!(kind = kind_name, job = %id, error = %e, ?outcome, retry_in_secs = delay.whole_seconds(), "job failed");
                    if outcome == Some(RunOutcome::Dead) {
                        record(
                            ErrorKind::Job,
                            ErrorLevel::Critical,
                            &format!("dead-lettered after {} attempts: {e}", claim.attempt),
                        );
                    } else if !panicked {
                        record(ErrorKind::Job, ErrorLevel::Warning, &e);
                    }
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        End::LeaseLost => {
            tracing::warn!(kind = kind_name, job = %id, "lost the job's lease: stopped working on it");
            Ok(())
        }
        End::Interrupted => store.release(&claim).await.map(|held| {
            tracing::info!(kind = kind_name, job = %id, held, "job given back to the queue at shutdown");
        }),
    };
    if let Err(e) = result {
        // The lease will expire and another claim will close the run.
        tracing::warn!(kind = kind_name, job = %id, error = %e, "cannot record a job's outcome");
    }
    outcome
}
