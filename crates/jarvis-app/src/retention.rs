//! The retention sweep: deletes what is older than its keeping period, in small batches so no
//! transaction holds the database's write lock for long (SQLite has one writer).
//!
//! Request log, auth events, Web Vitals and the error log (by last occurrence) are kept
//! `retention_logs_days`, the audit log `retention_audit_days`, and each gym's transcripts and
//! tool calls its own `voice.transcript_retention_days`. Finished jobs have their own sweep
//! (`jobs.purge`).

use jarvis_core::{PageRequest, Scope};
use jarvis_store::{GymFilter, LogTable, Store, StoreResult};
use time::{Duration, OffsetDateTime};

/// Rows deleted per transaction.
pub const BATCH: u32 = 500;

/// How long each kind of record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Request log, auth events and error log.
    pub logs: Duration,
    /// Audit log.
    pub audit: Duration,
}

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Request-log rows.
    pub requests: u64,
    /// Auth events.
    pub auth_events: u64,
    /// Audit rows.
    pub audit: u64,
    /// Web Vitals measurements.
    pub vitals: u64,
    /// Error-log rows (fingerprints not seen within the logs period).
    pub errors: u64,
    /// Conversation turns and tool calls, every gym.
    pub transcripts: u64,
}

impl RetentionReport {
    /// Everything deleted.
    pub fn total(&self) -> u64 {
        self.requests + self.auth_events + self.audit + self.vitals + self.errors + self.transcripts
    }
}

/// Deletes everything older than its period, as of `now`; stops between batches when
/// `stop()` says so (the rest waits for the next run).
pub async fn sweep(
    store: &dyn Store,
    policy: RetentionPolicy,
    now: OffsetDateTime,
    stop: impl Fn() -> bool,
) -> StoreResult<RetentionReport> {
    let mut report = RetentionReport::default();
    for (table, keep, slot) in [
        (LogTable::Requests, policy.logs, &mut report.requests),
        (LogTable::AuthEvents, policy.logs, &mut report.auth_events),
        (LogTable::Audit, policy.audit, &mut report.audit),
        (LogTable::Vitals, policy.logs, &mut report.vitals),
        (LogTable::Errors, policy.logs, &mut report.errors),
    ] {
        *slot = drain(|| store.purge_log(table, now - keep, BATCH), &stop).await?;
    }
    let mut offset = 0u64;
    loop {
        let page = PageRequest { limit: 200, offset };
        let gyms = store
            .list_gyms(&Scope::Platform, &GymFilter::default(), page)
            .await?;
        for gym in &gyms.items {
            let Some(settings) = crate::gyms::settings_of(gym) else {
                continue;
            };
            let keep = Duration::days(i64::from(settings.voice.transcript_retention_days));
            let scope = Scope::Gym {
                franchise: gym.franchise_id,
                gym: gym.id,
            };
            report.transcripts += drain(
                || store.purge_transcripts(&scope, gym.id, now - keep, BATCH),
                &stop,
            )
            .await?;
        }
        offset += gyms.items.len() as u64;
        if gyms.items.is_empty() || offset >= gyms.total || stop() {
            break;
        }
    }
    Ok(report)
}

/// Calls `batch` until it deletes fewer than a full batch (or `stop()`); answers the total.
async fn drain<F, Fut>(batch: F, stop: &impl Fn() -> bool) -> StoreResult<u64>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = StoreResult<u64>>,
{
    let mut total = 0;
    while !stop() {
        let n = batch().await?;
        total += n;
        if n < u64::from(BATCH) {
            break;
        }
        // Let other writers take the lock between batches.
        tokio::task::yield_now().await;
    }
    Ok(total)
}
