//! The job kinds JARVIS ships, declared here once so the server (which binds their handlers)
//! and the CLI (which lists them) agree. A new kind adds its spec here and to [`catalog`], and
//! its handler where the server builds its registry.

use super::JobSpec;
use jarvis_core::model::RetryPolicy;
use time::Duration;

/// Sends the queued e-mails (claimed rows: two instances never send one twice). Also enqueued
/// right after an e-mail is queued; the schedule is the safety net.
pub const MAIL_DRAIN: JobSpec = JobSpec::new("mail.drain", "send queued e-mails")
    .schedule("* * * * *")
    .priority(10)
    .retry(RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::seconds(5),
        max_delay: Duration::minutes(1),
    });

/// Deletes sessions, tokens, resets, sent e-mails and throttle windows that ended a week ago.
pub const SESSIONS_PURGE: JobSpec = JobSpec::new(
    "sessions.purge",
    "delete sessions, tokens and e-mails that ended over a week ago",
)
.schedule("*/10 * * * *");

/// Marks imports failed whose `imports.run` job could not bring them to an end (dead-lettered,
/// or no instance ran it again in time) instead of leaving them `running`; also right after
/// each instance starts.
pub const IMPORTS_SWEEP: JobSpec =
    JobSpec::new("imports.sweep", "mark interrupted CSV imports failed")
        .schedule("* * * * *")
        .at_start();

/// Ends the voice calls of dead instances (`reaped`): sessions whose owner has not
/// heart-beaten for [`VOICE_REAP_STALE_AFTER`] or whose slot lease expired. Cron has minute
/// precision, so each run makes two passes 30 s apart: a `kill -9`'d owner's calls are reaped
/// within 60 s + 30 s. Cancellable: a pass is idempotent, the next run does the rest.
pub const VOICE_REAP: JobSpec = JobSpec::new(
    "voice.reap",
    "end the voice calls of instances that stopped heart-beating",
)
.schedule("* * * * *")
.lease(Duration::minutes(2))
.cancellable()
.at_start();

/// Silence after which an instance's voice calls are reaped.
pub const VOICE_REAP_STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

/// Time between the two reaper passes of one `voice.reap` run.
pub const VOICE_REAP_PASS_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Analyses one ended voice session with a chat model (enqueued by whoever ended the session,
/// once per session; the handler lives in `jarvis-voice`). Refusals and invalid answers are
/// retried inside the job and then recorded as failed; provider errors retry the job.
pub const VOICE_ANALYZE: JobSpec = JobSpec::new(
    "voice.analyze",
    "analyse an ended voice session (summary, sentiment, custom fields)",
)
.lease(Duration::minutes(2))
.concurrency(2)
.retry(RetryPolicy {
    max_attempts: 5,
    base_delay: Duration::seconds(30),
    max_delay: Duration::minutes(30),
});

/// Plays a gym's saved scenario file against its assistant (queued from the simulations page;
/// the handler lives in the server, which holds the broker's tools). Not retried: a failed run
/// is recorded as `error` and the manager runs it again.
pub const SIMULATIONS_RUN: JobSpec = JobSpec::new(
    crate::analysis::SIMULATION_JOB_KIND,
    "play a gym's simulation scenarios",
)
.lease(Duration::minutes(10))
.concurrency(1)
.retry(RetryPolicy {
    max_attempts: 1,
    base_delay: Duration::seconds(30),
    max_delay: Duration::minutes(1),
});

/// Deletes finished jobs, their runs and long-gone instances after the retention period.
pub const JOBS_PURGE: JobSpec = JobSpec::new(
    "jobs.purge",
    "delete finished jobs and their runs after 30 days",
)
.schedule("17 3 * * *");

/// Diagnostics only (never in the default catalog): sleeps `{"secs": n}` seconds, checking its
/// lease, to test crash recovery and draining on a real process.
pub const DIAG_SLEEP: JobSpec = JobSpec::new("diag.sleep", "diagnostics: sleep for `secs` seconds")
    .cancellable()
    .retry(RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::seconds(1),
        max_delay: Duration::seconds(5),
    });

/// Deletes the request log, auth events, audit rows and transcripts older than their keeping
/// periods, in batches of 500 (see `crate::retention`).
pub const RETENTION_PURGE: JobSpec = JobSpec::new(
    "retention.purge",
    "delete old request-log rows, auth events, audit rows and transcripts",
)
.schedule("37 3 * * *")
.lease(Duration::minutes(10))
.cancellable();

/// Scores the churn risk of every active member of every active gym (see `crate::churn`),
/// in batches of 200 members per transaction; a cancelled run leaves the rest for tomorrow.
pub const CHURN_SCORE: JobSpec =
    JobSpec::new("churn.score", "score the churn risk of every active member")
        .schedule("23 4 * * *")
        .lease(Duration::minutes(10))
        .cancellable();

/// Builds, stores and e-mails each active gym's report of the previous ISO week (see
/// `crate::reports`); a week already reported is skipped, so a rerun changes nothing. The
/// handler lives in the server, which holds the master key sealing the e-mails.
pub const REPORTS_WEEKLY: JobSpec = JobSpec::new(
    "reports.weekly",
    "build and e-mail each gym's report of the previous week",
)
.schedule("0 6 * * 1")
.lease(Duration::minutes(10))
.cancellable();

/// How long finished jobs and their runs are kept.
pub const JOBS_RETENTION: Duration = Duration::days(30);

/// The shipped kinds, plus the diagnostic ones when `diagnostics` is on.
pub fn catalog(diagnostics: bool) -> Vec<JobSpec> {
    let mut v = vec![
        MAIL_DRAIN,
        SESSIONS_PURGE,
        crate::imports::IMPORTS_RUN,
        IMPORTS_SWEEP,
        JOBS_PURGE,
        RETENTION_PURGE,
        VOICE_REAP,
        crate::backups::BACKUP_DAILY,
        crate::knowledge::KNOWLEDGE_EMBED,
        crate::knowledge::KNOWLEDGE_REEMBED,
        VOICE_ANALYZE,
        SIMULATIONS_RUN,
        CHURN_SCORE,
        REPORTS_WEEKLY,
        crate::usage::USAGE_CHECK,
        crate::costs::COSTS_RECONCILE,
        crate::kiosk_health::KIOSKS_HEALTH,
    ];
    if diagnostics {
        v.push(DIAG_SLEEP);
    }
    v
}

/// Registers the built-in kinds whose handlers need only storage: `sessions.purge`,
/// `imports.run`, `churn.score`, `jobs.purge`, and `diag.sleep` when `diag_lease` is given
/// (diagnostics on).
pub fn register_store_kinds(
    registry: &mut super::Registry,
    store: std::sync::Arc<dyn jarvis_store::Store>,
    diag_lease: Option<Duration>,
) -> Result<(), super::RegistryError> {
    let s = store.clone();
    registry.register(SESSIONS_PURGE, move |_, _| {
        let s = s.clone();
        async move {
            let before = time::OffsetDateTime::now_utc() - Duration::days(7);
            let n = s
                .purge_expired(before)
                .await
                .map_err(super::JobError::retryable)?;
            if n > 0 {
                tracing::info!(rows = n, "purged ended sessions and tokens");
            }
            Ok(())
        }
    })?;
    let s = store.clone();
    registry.register(crate::imports::IMPORTS_RUN, move |ctx, payload| {
        crate::imports::run_job(s.clone(), ctx, payload)
    })?;
    let s = store.clone();
    registry.register(CHURN_SCORE, move |ctx, _| {
        let s = s.clone();
        async move {
            let run = crate::churn::score_all(s.as_ref(), time::OffsetDateTime::now_utc(), || {
                ctx.is_cancelled()
            })
            .await
            .map_err(super::JobError::retryable)?;
            tracing::info!(
                gyms = run.gyms,
                members = run.members,
                high = run.high,
                "churn scores"
            );
            Ok(())
        }
    })?;
    let s = store;
    registry.register(JOBS_PURGE, move |ctx, _| {
        let s = s.clone();
        async move {
            let before = time::OffsetDateTime::now_utc() - JOBS_RETENTION;
            let mut total = 0;
            // Bounded batches; stop between them when told to.
            while !ctx.is_cancelled() {
                let n = s
                    .purge_jobs(before, 500)
                    .await
                    .map_err(super::JobError::retryable)?;
                total += n;
                if n == 0 {
                    break;
                }
            }
            if total > 0 {
                tracing::info!(rows = total, "purged finished jobs");
            }
            Ok(())
        }
    })?;
    if let Some(lease) = diag_lease {
        registry.register(DIAG_SLEEP.lease(lease), diag_sleep)?;
    }
    Ok(())
}

/// `diag.sleep`: sleeps `secs` (at most an hour), stopping early when cancelled.
async fn diag_sleep(ctx: super::JobCtx, payload: serde_json::Value) -> Result<(), super::JobError> {
    let secs = payload
        .get("secs")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(1.0)
        .clamp(0.0, 3600.0);
    tracing::info!(job = %ctx.job.id, attempt = ctx.job.attempts, secs, "diag.sleep started");
    tokio::select! {
        () = tokio::time::sleep(std::time::Duration::from_secs_f64(secs)) => {}
        () = ctx.cancelled() => return Err(super::JobError::retryable("cancelled")),
    }
    tracing::info!(job = %ctx.job.id, attempt = ctx.job.attempts, "diag.sleep finished");
    Ok(())
}
