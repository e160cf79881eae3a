//! Background jobs: the kinds a process can run, the workers that run them from the durable
//! queue (`jarvis_store::JobStore`), and the cron scheduler that feeds it.
//!
//! A job kind is declared once, as a [`JobSpec`] (name, retry policy, lease, concurrency,
//! optional cron schedule) registered with its handler in a [`Registry`]. The built-in specs
//! live in [`builtin`] so the CLI can list them without building the handlers.

pub mod builtin;
mod runner;
pub mod schedule;
pub mod service;
pub mod stats;

pub use runner::{Runner, RunnerConfig};
pub use schedule::{Schedule, ScheduleError};
pub use stats::{JobStats, RunEnd};

use jarvis_core::model::{Job, RetryPolicy};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use thiserror::Error;
use time::Duration;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// Why a run failed: decides whether the job is tried again.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JobError {
    /// A transient failure (database or network down, …): retried with back-off until the
    /// attempts run out, then dead-lettered.
    #[error("{0}")]
    Retryable(String),
    /// Retrying would not help (bad payload, the thing it works on is gone): failed at once.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    /// A transient failure.
    pub fn retryable(e: impl std::fmt::Display) -> Self {
        Self::Retryable(e.to_string())
    }

    /// A permanent failure.
    pub fn permanent(e: impl std::fmt::Display) -> Self {
        Self::Permanent(e.to_string())
    }
}

/// The declaration of a job kind (everything but its handler).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSpec {
    /// Kind name, e.g. `mail.drain` (`[a-z0-9._:-]`).
    pub name: &'static str,
    /// One line for operators.
    pub description: &'static str,
    /// Attempts and back-off.
    pub retry: RetryPolicy,
    /// Lease of a claim; the worker renews it every third of it while the job runs.
    pub lease: Duration,
    /// Jobs of this kind one instance runs at once.
    pub concurrency: u32,
    /// Cron expression (UTC) of a recurring kind.
    pub schedule: Option<&'static str>,
    /// Whether shutdown interrupts a running job at once (and gives it back to the queue)
    /// instead of letting it finish within the grace period.
    pub cancellable: bool,
    /// Priority of the jobs it enqueues (higher first).
    pub priority: i32,
    /// Whether each starting instance enqueues one job of it (key `start:<kind>:<instance>`),
    /// for work a restart must trigger at once rather than at the next slot.
    pub at_start: bool,
}

impl JobSpec {
    /// A kind with the default retry policy, a one-minute lease, concurrency 1, no schedule.
    pub const fn new(name: &'static str, description: &'static str) -> Self {
        Self {
            name,
            description,
            retry: RetryPolicy {
                max_attempts: jarvis_core::model::DEFAULT_MAX_ATTEMPTS,
                base_delay: Duration::seconds(10),
                max_delay: Duration::hours(1),
            },
            lease: Duration::seconds(60),
            concurrency: 1,
            schedule: None,
            cancellable: false,
            priority: 0,
            at_start: false,
        }
    }

    /// Sets the retry policy.
    pub const fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the lease.
    pub const fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets the per-instance concurrency.
    pub const fn concurrency(mut self, n: u32) -> Self {
        self.concurrency = n;
        self
    }

    /// Makes the kind recurring on a cron schedule (UTC).
    pub const fn schedule(mut self, cron: &'static str) -> Self {
        self.schedule = Some(cron);
        self
    }

    /// Lets shutdown interrupt it at once.
    pub const fn cancellable(mut self) -> Self {
        self.cancellable = true;
        self
    }

    /// Makes each starting instance enqueue one job of it.
    pub const fn at_start(mut self) -> Self {
        self.at_start = true;
        self
    }

    /// Sets the priority of its jobs.
    pub const fn priority(mut self, p: i32) -> Self {
        self.priority = p;
        self
    }

    /// The parsed schedule, if any.
    pub fn parsed_schedule(&self) -> Result<Option<Schedule>, ScheduleError> {
        self.schedule.map(Schedule::parse).transpose()
    }
}

/// What a handler gets besides its payload.
#[derive(Debug, Clone)]
pub struct JobCtx {
    /// The job as claimed (`attempts` is this attempt's number).
    pub job: Job,
    cancel: CancellationToken,
}

impl JobCtx {
    /// Resolves when the run must stop: the lease was lost (another instance may now run the
    /// job) or shutdown interrupts it. Long handlers check it between steps; the runner also
    /// drops the handler's future right after.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Whether the run must stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// A context for calling a handler outside the runner (tests, `jobs run --here`).
    pub fn detached(job: Job) -> Self {
        Self {
            job,
            cancel: CancellationToken::new(),
        }
    }
}

type BoxFut = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send + 'static>>;
type Handler = Arc<dyn Fn(JobCtx, serde_json::Value) -> BoxFut + Send + Sync>;

/// A registered kind: its declaration and its handler.
pub struct JobKind {
    /// The declaration.
    pub spec: JobSpec,
    /// The parsed schedule.
    pub schedule: Option<Schedule>,
    handler: Handler,
}

impl JobKind {
    /// Calls the handler.
    pub fn call(&self, ctx: JobCtx, payload: serde_json::Value) -> BoxFut {
        (self.handler)(ctx, payload)
    }
}

/// A registration that cannot be accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegistryError {
    /// The name is not a valid job kind.
    #[error("invalid job kind name `{0}`")]
    InvalidName(String),
    /// The name is taken.
    #[error("job kind `{0}` is registered twice")]
    Duplicate(String),
    /// The schedule does not parse.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// Zero concurrency, a lease under a second, or a bad retry policy.
    #[error("job kind `{0}`: {1}")]
    Invalid(String, &'static str),
}

/// The job kinds a process runs.
#[derive(Default)]
pub struct Registry {
    kinds: BTreeMap<&'static str, Arc<JobKind>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a kind with its handler, an `async fn(JobCtx, serde_json::Value) -> Result<(),
    /// JobError>` (or a closure returning such a future).
    pub fn register<F, Fut>(&mut self, spec: JobSpec, handler: F) -> Result<(), RegistryError>
    where
        F: Fn(JobCtx, serde_json::Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let name = spec.name;
        if !jarvis_core::model::is_kind(name) {
            return Err(RegistryError::InvalidName(name.into()));
        }
        if self.kinds.contains_key(name) {
            return Err(RegistryError::Duplicate(name.into()));
        }
        if spec.concurrency == 0 {
            return Err(RegistryError::Invalid(
                name.into(),
                "concurrency must be at least 1",
            ));
        }
        if spec.lease < Duration::seconds(1) {
            return Err(RegistryError::Invalid(
                name.into(),
                "lease must be at least 1 s",
            ));
        }
        if !(1..=jarvis_core::model::MAX_ATTEMPTS).contains(&spec.retry.max_attempts) {
            return Err(RegistryError::Invalid(
                name.into(),
                "max_attempts out of range",
            ));
        }
        let schedule = spec.parsed_schedule()?;
        let handler: Handler = Arc::new(move |ctx, payload| Box::pin(handler(ctx, payload)));
        self.kinds.insert(
            name,
            Arc::new(JobKind {
                spec,
                schedule,
                handler,
            }),
        );
        Ok(())
    }

    /// A kind by name.
    pub fn get(&self, name: &str) -> Option<&Arc<JobKind>> {
        self.kinds.get(name)
    }

    /// Every kind, by name.
    pub fn kinds(&self) -> impl Iterator<Item = &Arc<JobKind>> {
        self.kinds.values()
    }

    /// Every declaration, by name.
    pub fn specs(&self) -> Vec<JobSpec> {
        self.kinds.values().map(|k| k.spec).collect()
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn nothing(_: JobCtx, _: serde_json::Value) -> Result<(), JobError> {
        Ok(())
    }

    #[test]
    fn registrations_are_checked() {
        let mut r = Registry::new();
        r.register(JobSpec::new("a.b", "x").schedule("*/5 * * * *"), nothing)
            .unwrap();
        assert!(r.get("a.b").unwrap().schedule.is_some());
        assert_eq!(
            r.register(JobSpec::new("a.b", "x"), nothing),
            Err(RegistryError::Duplicate("a.b".into()))
        );
        assert!(matches!(
            r.register(JobSpec::new("A B", "x"), nothing),
            Err(RegistryError::InvalidName(_))
        ));
        assert!(matches!(
            r.register(JobSpec::new("c", "x").schedule("61 * * * *"), nothing),
            Err(RegistryError::Schedule(_))
        ));
        assert!(matches!(
            r.register(JobSpec::new("d", "x").concurrency(0), nothing),
            Err(RegistryError::Invalid(..))
        ));
        assert!(matches!(
            r.register(JobSpec::new("e", "x").lease(Duration::ZERO), nothing),
            Err(RegistryError::Invalid(..))
        ));
        assert_eq!(r.specs().len(), 1);
    }

    #[test]
    fn builtin_specs_are_valid() {
        let mut r = Registry::new();
        for spec in builtin::catalog(true) {
            r.register(spec, nothing).unwrap();
        }
        assert!(r.get(builtin::DIAG_SLEEP.name).is_some());
        assert!(
            builtin::catalog(false)
                .iter()
                .all(|s| s.name != builtin::DIAG_SLEEP.name),
            "the diagnostic kind is off by default"
        );
    }
}
