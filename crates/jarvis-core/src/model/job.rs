//! The durable job queue: jobs, their runs (one per claim), the instances that run them, and the
//! retry arithmetic. Storage and the runner live elsewhere; this is the vocabulary they share.

use crate::ids::{FranchiseId, GymId, InstanceId, JobId, JobRunId};
use crate::validate::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Longest job kind (`members.import`, `mail.drain`, …).
pub const MAX_KIND_LEN: usize = 64;
/// Longest idempotency key (`schedule:<name>:<slot>`).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 200;
/// Most attempts a job may be given.
pub const MAX_ATTEMPTS: u32 = 100;
/// Attempts a job gets unless told otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for `run_after`, then for a worker.
    Queued,
    /// Claimed by a worker holding a lease.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished with an error the job declared permanent (retrying would not help).
    Failed,
    /// Dead letter: every attempt failed (or the last one lost its lease); waits for an operator.
    Dead,
    /// Cancelled by an operator before it ran; its idempotency key stays taken.
    Cancelled,
}

impl JobStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Dead,
        JobStatus::Cancelled,
    ];

    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Dead => "dead",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the job is over (it will not run again unless an operator retries it).
    pub fn is_finished(&self) -> bool {
        !matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

/// How one run (one claim) of a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// The job succeeded.
    Succeeded,
    /// The job failed permanently (job status `failed`).
    Failed,
    /// The job failed and was queued again for a later attempt.
    Retrying,
    /// The job failed on its last attempt (job status `dead`).
    Dead,
    /// The worker stopped renewing its lease (crash, kill, partition); another claim ended it.
    LeaseLost,
    /// The worker gave the job back (graceful shutdown); the attempt does not count.
    Released,
}

impl RunOutcome {
    /// Every outcome.
    pub const ALL: [RunOutcome; 6] = [
        RunOutcome::Succeeded,
        RunOutcome::Failed,
        RunOutcome::Retrying,
        RunOutcome::Dead,
        RunOutcome::LeaseLost,
        RunOutcome::Released,
    ];

    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunOutcome::Succeeded => "succeeded",
            RunOutcome::Failed => "failed",
            RunOutcome::Retrying => "retrying",
            RunOutcome::Dead => "dead",
            RunOutcome::LeaseLost => "lease_lost",
            RunOutcome::Released => "released",
        }
    }

    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A job to enqueue. Build it with [`NewJob::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// What to run: the registered job kind (`[a-z0-9._:-]`, at most [`MAX_KIND_LEN`]).
    pub kind: String,
    /// Input of the job (never secrets: operators can read it).
    pub payload: serde_json::Value,
    /// Higher runs first among due jobs.
    pub priority: i32,
    /// Not before this time; `None` is now.
    pub run_after: Option<OffsetDateTime>,
    /// Claims allowed before the job is dead-lettered (1..=[`MAX_ATTEMPTS`]).
    pub max_attempts: u32,
    /// At most one job ever exists per key: enqueuing a taken key returns the existing job.
    pub idempotency_key: Option<String>,
    /// Tenant the job concerns, if any (for filtering; jobs stay system-only).
    pub franchise_id: Option<FranchiseId>,
    /// Gym the job concerns, if any (requires `franchise_id`).
    pub gym_id: Option<GymId>,
}

impl NewJob {
    /// A job of `kind` with `payload`, due now, priority 0, [`DEFAULT_MAX_ATTEMPTS`] attempts.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            priority: 0,
            run_after: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            idempotency_key: None,
            franchise_id: None,
            gym_id: None,
        }
    }

    /// Sets the priority (higher first).
    pub fn with_priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Delays the job until `at`.
    pub fn with_run_after(mut self, at: OffsetDateTime) -> Self {
        self.run_after = Some(at);
        self
    }

    /// Sets the attempt budget.
    pub fn with_max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Makes the enqueue idempotent on `key`.
    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Tags the job with a tenant.
    pub fn with_tenant(mut self, franchise: FranchiseId, gym: Option<GymId>) -> Self {
        self.franchise_id = Some(franchise);
        self.gym_id = gym;
        self
    }

    /// Checks kind, key, attempts and tenant shape.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        if !is_kind(&self.kind) {
            v.push(FieldError::new(
                "kind",
                "invalid_format",
                format!(
                    "must be 1 to {MAX_KIND_LEN} characters among a-z, 0-9 and `.`, `_`, `:`, `-`"
                ),
            ));
        }
        if let Some(key) = &self.idempotency_key {
            if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY_LEN {
                v.push(FieldError::new(
                    "idempotency_key",
                    "out_of_range",
                    format!("must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} characters"),
                ));
            } else if key.chars().any(char::is_control) {
                v.push(FieldError::new(
                    "idempotency_key",
                    "invalid_characters",
                    "must not contain control characters",
                ));
            }
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.max_attempts) {
            v.push(FieldError::new(
                "max_attempts",
                "out_of_range",
                format!("must be between 1 and {MAX_ATTEMPTS}"),
            ));
        }
        if self.gym_id.is_some() && self.franchise_id.is_none() {
            v.push(FieldError::new(
                "gym_id",
                "required",
                "a gym tag needs its franchise",
            ));
        }
        v.finish().map(|()| self)
    }
}

/// Whether `s` is a valid job kind.
pub fn is_kind(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_KIND_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._:-".contains(&b))
}

/// A job in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Job {
    /// Id (UUIDv7, so ids sort by creation).
    pub id: JobId,
    /// Registered kind.
    pub kind: String,
    /// Input.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Higher runs first.
    pub priority: i32,
    /// Not before this time.
    #[serde(with = "time::serde::rfc3339")]
    pub run_after: OffsetDateTime,
    /// Where it stands.
    pub status: JobStatus,
    /// Claims so far (also the fencing token of the current claim; never decreases).
    pub attempts: u32,
    /// Claims allowed; a graceful release adds one so it costs no attempt.
    pub max_attempts: u32,
    /// Idempotency key, if enqueued with one.
    pub idempotency_key: Option<String>,
    /// Instance holding the lease while running.
    pub lease_owner: Option<InstanceId>,
    /// When the lease ends unless renewed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub lease_expires_at: Option<OffsetDateTime>,
    /// Error of the last failed run.
    pub last_error: Option<String>,
    /// Tenant franchise, if tagged.
    pub franchise_id: Option<FranchiseId>,
    /// Tenant gym, if tagged.
    pub gym_id: Option<GymId>,
    /// When enqueued.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When it reached a finished status.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// One run of a job: from a claim to its end (complete, fail, release or lease loss).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobRun {
    /// Id.
    pub id: JobRunId,
    /// The job.
    pub job_id: JobId,
    /// The job's kind (copied, so history reads need no join).
    pub kind: String,
    /// Which attempt this was (1 for the first claim).
    pub attempt: u32,
    /// The instance that claimed it.
    pub instance_id: InstanceId,
    /// When it was claimed.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it ended; `None` while it runs.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// `finished_at - started_at` in milliseconds.
    pub duration_ms: Option<i64>,
    /// How it ended; `None` while it runs.
    pub outcome: Option<RunOutcome>,
    /// The error, for failed, retried, dead and lost runs.
    pub error: Option<String>,
}

/// Proof of a claim: every later call about the job is fenced by it, so a worker whose lease
/// was taken over can no longer heartbeat, complete, fail or release the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    /// The job.
    pub job_id: JobId,
    /// The run this claim opened.
    pub run_id: JobRunId,
    /// The claiming instance (the lease owner).
    pub owner: InstanceId,
    /// The job's `attempts` after this claim (the fencing token).
    pub attempt: u32,
    /// When the claim happened (start of the run).
    pub started_at: OffsetDateTime,
}

/// A claimed job with its lease.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// The job as it is after the claim (status `running`).
    pub job: Job,
    /// What to present when heart-beating or ending it.
    pub claim: Claim,
}

/// A process registering itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    /// Host name.
    pub hostname: String,
    /// Process id.
    pub pid: u32,
    /// JARVIS version.
    pub version: String,
}

/// A running (or stopped) `jarvis serve` process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Instance {
    /// Id (also the lease owner of the jobs it claims).
    pub id: InstanceId,
    /// Host name.
    pub hostname: String,
    /// Process id.
    pub pid: u32,
    /// JARVIS version.
    pub version: String,
    /// When it registered.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Last heartbeat.
    #[serde(with = "time::serde::rfc3339")]
    pub heartbeat_at: OffsetDateTime,
    /// When it stopped gracefully.
    #[serde(with = "time::serde::rfc3339::option")]
    pub stopped_at: Option<OffsetDateTime>,
}

impl Instance {
    /// Alive: not stopped, and heard from within `within` of `now`.
    pub fn is_alive(&self, now: OffsetDateTime, within: Duration) -> bool {
        self.stopped_at.is_none() && now - self.heartbeat_at <= within
    }
}

/// Queue counts of one job kind (unfinished and dead-lettered jobs only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KindDepth {
    /// Kind.
    pub kind: String,
    /// Queued and due now.
    pub due: u64,
    /// Queued for later.
    pub scheduled: u64,
    /// Running (leases held, expired or not).
    pub running: u64,
    /// Failed permanently.
    pub failed: u64,
    /// Dead-lettered.
    pub dead: u64,
    /// Earliest `run_after` of its queued jobs.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_run_after: Option<OffsetDateTime>,
}

/// How often and how patiently a job kind is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Claims allowed before the job is dead-lettered.
    pub max_attempts: u32,
    /// Delay after the first failure; doubles with each further one.
    pub base_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_delay: Duration::seconds(10),
            max_delay: Duration::hours(1),
        }
    }
}

impl RetryPolicy {
    /// Delay before the attempt after `attempt` (1-based) failed: exponential back-off capped
    /// at `max_delay`, with "equal jitter" (half fixed, half scaled by `jitter` in `[0, 1]`, a
    /// random number the caller draws) so failed jobs of many instances do not retry in step.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = i32::try_from(attempt.saturating_sub(1).min(62)).unwrap_or(62);
        let cap = self.max_delay.as_seconds_f64().max(0.0);
        // In f64 seconds: a doubling past any `Duration` range just hits the cap.
        let full = (self.base_delay.as_seconds_f64().max(0.0) * 2_f64.powi(exp)).min(cap);
        let jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        Duration::saturating_seconds_f64(full / 2.0 * (1.0 + jitter))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        for o in RunOutcome::ALL {
            assert_eq!(RunOutcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(JobStatus::parse("lost"), None);
        assert!(!JobStatus::Running.is_finished() && JobStatus::Dead.is_finished());
    }

    #[test]
    fn new_jobs_are_checked() {
        assert!(
            NewJob::new("mail.drain", serde_json::json!({}))
                .validate()
                .is_ok()
        );
        let errs = NewJob::new("Mail Drain", serde_json::json!({}))
            .with_max_attempts(0)
            .with_idempotency_key("")
            .validate()
            .unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["kind", "idempotency_key", "max_attempts"]);
        let mut gym_only = NewJob::new("x", serde_json::json!(null));
        gym_only.gym_id = Some(GymId::new());
        assert_eq!(gym_only.validate().unwrap_err().0[0].field, "gym_id");
        assert!(!is_kind(&"a".repeat(MAX_KIND_LEN + 1)));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::seconds(10),
            max_delay: Duration::seconds(60),
        };
        assert_eq!(p.delay(1, 1.0), Duration::seconds(10));
        assert_eq!(p.delay(1, 0.0), Duration::seconds(5));
        assert_eq!(p.delay(2, 1.0), Duration::seconds(20));
        assert_eq!(p.delay(3, 1.0), Duration::seconds(40));
        assert_eq!(p.delay(4, 1.0), Duration::seconds(60), "capped");
        assert_eq!(p.delay(60, 0.5), Duration::seconds(45), "no overflow");
        assert_eq!(p.delay(2, 7.0), Duration::seconds(20), "jitter clamped");
        assert_eq!(p.delay(2, f64::NAN), Duration::seconds(10));
    }

    #[test]
    fn liveness_follows_heartbeats() {
        let t = OffsetDateTime::UNIX_EPOCH;
        let mut i = Instance {
            id: InstanceId::new(),
            hostname: "h".into(),
            pid: 1,
            version: "v".into(),
            started_at: t,
            heartbeat_at: t,
            stopped_at: None,
        };
        assert!(i.is_alive(t + Duration::seconds(30), Duration::seconds(30)));
        assert!(!i.is_alive(t + Duration::seconds(31), Duration::seconds(30)));
        i.stopped_at = Some(t);
        assert!(!i.is_alive(t, Duration::seconds(30)));
    }
}
