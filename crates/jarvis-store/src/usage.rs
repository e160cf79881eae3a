//! Storage of usage limits and cost reconciliation: what each franchise and the platform use
//! (table rows, database size, API requests, voice minutes, AI cost this month), the latest
//! measure of each metric, the 80/100 % alerts (once per tenant, metric, month and threshold),
//! the provider's bill per day and the alerts fired when it differs from our meter.
//!
//! **Contexts.** Measures read every tenant's rows and run in the platform scope only (the
//! `usage.check` and `costs.reconcile` jobs); a franchise reads its own snapshots and alerts.
//! API requests are counted per gym and month when the request log is written (`ops`), since
//! the log itself is kept only a few days.

use crate::accounts::NewEmail;
use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::cost::{BudgetPeriod, BudgetThreshold, PicoUsd};
use jarvis_core::*;
use time::{Date, OffsetDateTime};

/// One measured quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UsageMetric {
    /// Rows of the tenant's main tables.
    Rows,
    /// Size of the database (platform only).
    DbBytes,
    /// API requests this month.
    ApiRequests,
    /// Bytes in the object store.
    StorageBytes,
    /// Voice minutes this month (ended calls).
    VoiceMinutes,
    /// AI cost this month, in micro-dollars.
    AiCostMicros,
}

impl UsageMetric {
    /// Every metric, in display order.
    pub const ALL: [UsageMetric; 6] = [
        UsageMetric::Rows,
        UsageMetric::DbBytes,
        UsageMetric::ApiRequests,
        UsageMetric::StorageBytes,
        UsageMetric::VoiceMinutes,
        UsageMetric::AiCostMicros,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            UsageMetric::Rows => "rows",
            UsageMetric::DbBytes => "db_bytes",
            UsageMetric::ApiRequests => "api_requests",
            UsageMetric::StorageBytes => "storage_bytes",
            UsageMetric::VoiceMinutes => "voice_minutes",
            UsageMetric::AiCostMicros => "ai_cost_micros",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Whose usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UsageScope {
    /// The whole installation.
    Platform,
    /// One franchise (all its gyms).
    Franchise(FranchiseId),
}

impl UsageScope {
    /// The stored key: `platform` or the franchise id.
    pub fn key(&self) -> String {
        match self {
            UsageScope::Platform => "platform".into(),
            UsageScope::Franchise(f) => f.to_string(),
        }
    }

    /// The franchise, if any.
    pub fn franchise(&self) -> Option<FranchiseId> {
        match self {
            UsageScope::Platform => None,
            UsageScope::Franchise(f) => Some(*f),
        }
    }
}

/// What the database measures of one tenant over one month (the object store is measured by
/// the application).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DbUsage {
    /// Rows of the main tenant tables.
    pub rows: u64,
    /// API requests counted this month.
    pub api_requests: u64,
    /// Seconds of the calls that started this month and have ended.
    pub voice_seconds: u64,
    /// Metered AI cost this month.
    pub ai_cost_pico: PicoUsd,
}

/// The database's measures of a month: per franchise, the platform's total, the database size.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageMeasures {
    /// Each franchise's usage (every franchise, archived ones included), by id.
    pub franchises: Vec<(FranchiseId, DbUsage)>,
    /// The whole platform (every tenant, and requests that named no gym).
    pub platform: DbUsage,
    /// The database's size in bytes (SQLite file pages, PostgreSQL `pg_database_size`).
    pub db_bytes: u64,
}

/// The latest measure of one metric of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageSnapshot {
    /// Whose.
    pub scope: UsageScope,
    /// What.
    pub metric: UsageMetric,
    /// The month measured (for per-month metrics; the current month for the others).
    pub period: BudgetPeriod,
    /// The value (unit of the metric).
    pub value: u64,
    /// The limit then; 0 = unlimited.
    pub limit: u64,
    /// When measured.
    pub taken_at: OffsetDateTime,
}

/// An alert to fire (once per tenant, metric, month and threshold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUsageAlert {
    /// Whose.
    pub scope: UsageScope,
    /// What.
    pub metric: UsageMetric,
    /// The month.
    pub period: BudgetPeriod,
    /// 80 or 100 %.
    pub threshold: BudgetThreshold,
    /// The value when it fired.
    pub value: u64,
    /// The limit.
    pub limit: u64,
}

/// An alert that fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageAlert {
    /// Id.
    pub id: uuid::Uuid,
    /// What fired.
    pub alert: NewUsageAlert,
    /// When.
    pub created_at: OffsetDateTime,
}

/// One UTC day of the reconciliation: our meter against the provider's bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostDay {
    /// The day.
    pub day: Date,
    /// Our metered cost that day, every gym.
    pub metered_pico: PicoUsd,
    /// What the provider billed, once read.
    pub billed_micros: Option<u64>,
    /// Whether a difference alert fired for that day.
    pub alerted: bool,
}

/// Usage limits and cost reconciliation.
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Measures every franchise and the platform for `period` (platform scope only).
    async fn measure_usage(
        &self,
        scope: &Scope,
        period: BudgetPeriod,
    ) -> StoreResult<UsageMeasures>;

    /// Replaces the latest snapshot of each given tenant and metric (platform scope only).
    async fn put_usage_snapshots(&self, scope: &Scope, snaps: &[UsageSnapshot]) -> StoreResult<()>;

    /// The latest snapshots the scope sees: a franchise's own; every tenant's for the platform.
    async fn usage_snapshots(&self, scope: &Scope) -> StoreResult<Vec<UsageSnapshot>>;

    /// Fires an alert unless it already fired for its tenant, metric, month and threshold, on
    /// any instance; the e-mails are queued in the same transaction. True when this call fired
    /// it (platform scope only).
    async fn usage_alert_once(
        &self,
        scope: &Scope,
        alert: NewUsageAlert,
        emails: Vec<NewEmail>,
    ) -> StoreResult<bool>;

    /// The latest alerts the scope sees (at most `limit`), newest first.
    async fn list_usage_alerts(&self, scope: &Scope, limit: u32) -> StoreResult<Vec<UsageAlert>>;

    /// Stores what the provider billed per day, replacing earlier reads of those days
    /// (platform scope only).
    async fn put_billed_costs(&self, scope: &Scope, days: &[(Date, u64)]) -> StoreResult<()>;

    /// Every day of `[from, to)`: metered cost (all gyms), billed cost if read, alerted or not
    /// (platform scope only).
    async fn cost_days(&self, scope: &Scope, from: Date, to: Date) -> StoreResult<Vec<CostDay>>;

    /// Fires the difference alert of a day unless it already fired; e-mails queued with it.
    /// True when this call fired it (platform scope only).
    async fn cost_alert_once(
        &self,
        scope: &Scope,
        day: CostDay,
        emails: Vec<NewEmail>,
    ) -> StoreResult<bool>;
}
