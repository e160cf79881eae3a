//! `jarvis jobs`: what background work exists, when it last and next runs, its history; run a
//! kind now or retry a dead job. Reads and writes the queue through `jarvis_app::jobs::service`;
//! a running `jarvis serve` (any instance) does the work.

use clap::Subcommand;
use jarvis_app::jobs::{JobSpec, service};
use jarvis_core::model::JobRun;
use jarvis_store::Store;
use time::OffsetDateTime;

/// The `jobs` subcommands.
#[derive(Subcommand)]
pub enum JobsCommand {
    /// List every job kind: schedule (cron, UTC), last run and its outcome, next run, and queue
    /// counts (due, scheduled later, running, failed, dead).
    List,
    /// Enqueue a job of kind NAME, due now. A running `jarvis serve` (any instance) picks it up
    /// within a second or so; `jarvis jobs history NAME` shows how it went.
    Run {
        /// The job kind, as `jarvis jobs list` names it (e.g. sessions.purge).
        name: String,
    },
    /// Show the latest runs, newest first: kind, attempt, instance, start, duration, outcome
    /// and error.
    History {
        /// Only runs of this job kind.
        name: Option<String>,
        /// How many runs to show (1-200).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Queue a dead, failed or cancelled job again (with one more attempt).
    Retry {
        /// The job id (from `jarvis jobs history` or the admin page).
        job_id: String,
    },
}

fn when(t: Option<OffsetDateTime>) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    t.and_then(|t| t.to_offset(time::UtcOffset::UTC).format(&fmt).ok())
        .unwrap_or_else(|| "-".into())
}

fn outcome(r: &JobRun) -> &'static str {
    r.outcome.map_or("running", |o| o.as_str())
}

/// Runs one `jobs` subcommand against `store`, knowing the kinds in `specs`.
pub async fn run(cmd: JobsCommand, store: &dyn Store, specs: &[JobSpec]) -> Result<(), String> {
    match cmd {
        JobsCommand::List => {
            let now = OffsetDateTime::now_utc();
            let kinds = service::overview(store, specs, now)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "{:<16} {:<14} {:<21} {:<10} {:<21} {:>4} {:>4} {:>4} {:>4}",
                "KIND", "SCHEDULE", "LAST RUN", "OUTCOME", "NEXT RUN", "DUE", "RUN", "FAIL", "DEAD"
            );
            for k in kinds {
                let d = k.depth.as_ref();
                let n = |f: fn(&jarvis_core::model::KindDepth) -> u64| d.map_or(0, f);
                println!(
                    "{:<16} {:<14} {:<21} {:<10} {:<21} {:>4} {:>4} {:>4} {:>4}",
                    k.spec.name,
                    k.spec.schedule.unwrap_or("on demand"),
                    when(k.last_run.as_ref().map(|r| r.started_at)),
                    k.last_run.as_ref().map_or("-", outcome),
                    when(k.next_run),
                    n(|d| d.due + d.scheduled),
                    n(|d| d.running),
                    n(|d| d.failed),
                    n(|d| d.dead)
                );
            }
            Ok(())
        }
        JobsCommand::Run { name } => {
            let spec = service::find(specs, &name).ok_or_else(|| {
                let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
                format!("unknown job kind `{name}` (known: {})", known.join(", "))
            })?;
            let job = service::run_now(store, spec)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "queued {} job {}; a running `jarvis serve` will pick it up",
                spec.name, job.id
            );
            Ok(())
        }
        JobsCommand::History { name, limit } => {
            if let Some(n) = &name
                && service::find(specs, n).is_none()
            {
                return Err(format!("unknown job kind `{n}`"));
            }
            let runs = service::history(store, name.as_deref(), limit)
                .await
                .map_err(|e| e.to_string())?;
            if runs.is_empty() {
                println!("no runs yet");
            }
            println!(
                "{:<36} {:<16} {:>3} {:<21} {:>9} {:<10} ERROR",
                "JOB", "KIND", "TRY", "STARTED", "MS", "OUTCOME"
            );
            for r in runs {
                println!(
                    "{:<36} {:<16} {:>3} {:<21} {:>9} {:<10} {}",
                    r.job_id.to_string(),
                    r.kind,
                    r.attempt,
                    when(Some(r.started_at)),
                    r.duration_ms.map_or("-".into(), |d| d.to_string()),
                    outcome(&r),
                    r.error.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
        JobsCommand::Retry { job_id } => {
            let id: jarvis_core::JobId = job_id
                .parse()
                .map_err(|_| format!("`{job_id}` is not a job id"))?;
            if service::retry(store, id).await.map_err(|e| e.to_string())? {
                println!("job {id} queued again");
                Ok(())
            } else {
                Err(format!(
                    "job {id} is not dead, failed or cancelled; nothing to retry"
                ))
            }
        }
    }
}
