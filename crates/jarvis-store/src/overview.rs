//! The figures behind the dashboard's overview and voice pages, read from the daily rollups the
//! database's triggers keep (migration 0030: `session_daily`, `topic_daily`, `latency_daily`)
//! plus one index-only count of distinct members, all in the caller's tenant scope. A period is
//! a run of UTC days, so an overview of 30 days reads 30 rows per gym however busy the gym is.

use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::model::LatencyStats;
use jarvis_core::{GymId, Scope};
use time::{Date, OffsetDateTime};

/// What one UTC day's calls of the gyms asked add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionDay {
    /// The day.
    pub day: Date,
    /// Calls started (public demo calls excluded).
    pub conversations: u64,
    /// Of which ended.
    pub ended: u64,
    /// Their summed length, whole seconds.
    pub duration_secs: i64,
    /// Satisfaction (1–5) summed over the finished analyses that gave one.
    pub satisfaction_sum: i64,
    /// How many gave one.
    pub satisfaction_n: u64,
    /// Sentiment score (−1…1) summed over the finished analyses that gave one.
    pub sentiment_sum: f64,
    /// How many gave one.
    pub sentiment_n: u64,
}

impl SessionDay {
    /// `day` with nothing on it.
    pub fn empty(day: Date) -> Self {
        SessionDay {
            day,
            conversations: 0,
            ended: 0,
            duration_secs: 0,
            satisfaction_sum: 0,
            satisfaction_n: 0,
            sentiment_sum: 0.0,
            sentiment_n: 0,
        }
    }
}

/// Which latency a histogram holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencySource {
    /// The server's per-turn latency, from the provider's event timestamps.
    Turn,
    /// What the member heard at the kiosk, as its browser measured it.
    Heard,
}

impl LatencySource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LatencySource::Turn => "turn",
            LatencySource::Heard => "heard",
        }
    }
}

/// The width of the latency bucket holding `ms` (10 ms below 1 s, 50 ms below 10 s, 1 s above),
/// as the rollup triggers bucket samples.
pub fn latency_bucket(ms: u32) -> u32 {
    let width = match ms {
        0..1000 => 10,
        1000..10000 => 50,
        _ => 1000,
    };
    ms - ms % width
}

/// Reads for the overview.
#[async_trait]
pub trait OverviewStore: Send + Sync {
    /// The days in `[first, last]` on which `gyms` had calls or analyses, oldest first, each
    /// day summed over the gyms.
    async fn session_days(
        &self,
        scope: &Scope,
        gyms: &[GymId],
        first: Date,
        last: Date,
    ) -> StoreResult<Vec<SessionDay>>;

    /// The `limit` topics most often discussed in calls of `gyms` started in `[first, last]`,
    /// with their call counts, most frequent first (ties by name).
    async fn top_topics(
        &self,
        scope: &Scope,
        gyms: &[GymId],
        first: Date,
        last: Date,
        limit: u32,
    ) -> StoreResult<Vec<(String, u64)>>;

    /// Identified members of `gyms` whose latest call started at or after `since` (so: who
    /// talked from `since` until now), from `member_last_call`.
    async fn talkers(
        &self,
        scope: &Scope,
        gyms: &[GymId],
        since: OffsetDateTime,
    ) -> StoreResult<u64>;

    /// The gym's `source` latency over the UTC days `[first, last]`: nearest-rank percentiles
    /// over the day histograms, each a bucket's lower bound ([`latency_bucket`]).
    async fn latency(
        &self,
        scope: &Scope,
        gym: GymId,
        source: LatencySource,
        first: Date,
        last: Date,
    ) -> StoreResult<LatencyStats>;
}
