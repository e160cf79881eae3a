//! Operations data: the request log (written in batches by each instance) and the retention
//! sweep of logs (request log, auth events, audit log, Web Vitals) in bounded batches.
//!
//! **Contexts.** Request-log rows are written in the system context `ops` and read in the
//! platform scope; the retention sweep runs in `purge` (PostgreSQL: `DELETE` policies on these
//! tables for `purge` only, so they stay append-only for everything else).

use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::{GymId, InstanceId};
use time::OffsetDateTime;

/// One answered request, as the request log keeps it (nothing personal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLogEntry {
    /// When it was answered.
    pub at: OffsetDateTime,
    /// The instance that answered.
    pub instance: InstanceId,
    /// HTTP method.
    pub method: String,
    /// Route template (`/api/v1/gyms/{id}`), or `unmatched`.
    pub route: String,
    /// Status code sent.
    pub status: u16,
    /// Time to answer, in microseconds.
    pub latency_us: u64,
    /// The gym the path named, if any.
    pub gym: Option<GymId>,
}

/// One Web Vitals measurement of a dashboard page (nothing personal).
#[derive(Debug, Clone, PartialEq)]
pub struct VitalSample {
    /// When it was received.
    pub at: OffsetDateTime,
    /// The UTC day of `at` (`YYYY-MM-DD`).
    pub day: String,
    /// The page's route template (`/app/gyms/{id}/members`).
    pub page: String,
    /// `LCP`, `CLS`, `INP`, `FCP` or `TTFB`.
    pub metric: String,
    /// Milliseconds (CLS: unitless score).
    pub value: f64,
}

/// A log table the retention sweep trims by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTable {
    /// `request_log`.
    Requests,
    /// `auth_events`.
    AuthEvents,
    /// `audit_log`.
    Audit,
    /// `web_vitals`.
    Vitals,
    /// `error_log` (by the time each fingerprint was last seen).
    Errors,
}

impl LogTable {
    /// The table's name.
    pub fn table(self) -> &'static str {
        match self {
            LogTable::Requests => "request_log",
            LogTable::AuthEvents => "auth_events",
            LogTable::Audit => "audit_log",
            LogTable::Vitals => "web_vitals",
            LogTable::Errors => "error_log",
        }
    }

    /// The column holding each row's age.
    pub fn time_column(self) -> &'static str {
        match self {
            LogTable::Errors => "last_seen_at",
            LogTable::Requests | LogTable::AuthEvents | LogTable::Audit | LogTable::Vitals => "at",
        }
    }
}

/// Storage of operations data.
#[async_trait]
pub trait OpsStore: Send + Sync {
    /// Appends a batch of request-log rows in one transaction; answers how many were written.
    async fn record_requests(&self, batch: &[RequestLogEntry]) -> StoreResult<u64>;

    /// The newest request-log rows (platform staff only: the scope must be the platform).
    async fn recent_requests(
        &self,
        scope: &jarvis_core::Scope,
        limit: u32,
    ) -> StoreResult<Vec<RequestLogEntry>>;

    /// Appends a batch of Web Vitals measurements in one transaction; answers how many.
    async fn record_vitals(&self, batch: &[VitalSample]) -> StoreResult<u64>;

    /// Every measurement of the days `from..=to` (`YYYY-MM-DD`), ordered by day, page, metric
    /// and value (platform staff only: the scope must be the platform).
    async fn vitals_between(
        &self,
        scope: &jarvis_core::Scope,
        from: &str,
        to: &str,
    ) -> StoreResult<Vec<VitalSample>>;

    /// Deletes, in one transaction, at most `batch` rows of `table` older than `before`,
    /// oldest first; answers how many. Call again until it answers less than `batch`: each
    /// call holds the write lock only for its own small batch.
    async fn purge_log(
        &self,
        table: LogTable,
        before: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<u64>;
}
