//! The facts behind the dashboard's overview of a gym: its sessions of a period with their
//! analysis, read in the gym's tenant scope over the `(gym_id, started_at)` index. The
//! aggregates themselves (counts, averages, trends, topics) are computed by `jarvis-app` in
//! Rust, so both backends give the same numbers by construction.

use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::{GymId, MemberId, Scope};
use time::OffsetDateTime;

/// Sessions read for one overview, at most (newest first past that).
pub const FACTS_LIMIT: u32 = 200_000;

/// One session as the overview counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionFact {
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When it ended (live sessions: none).
    pub ended_at: Option<OffsetDateTime>,
    /// The member who talked, when identified.
    pub member_id: Option<MemberId>,
    /// Satisfaction 1–5, from a finished analysis.
    pub satisfaction: Option<u8>,
    /// Sentiment score −1…1, from a finished analysis.
    pub sentiment_score: Option<f64>,
    /// Topics, from a finished analysis.
    pub topics: Vec<String>,
}

/// Reads for the overview.
#[async_trait]
pub trait OverviewStore: Send + Sync {
    /// The gym's sessions started in `[from, to)` with their finished analysis, newest first
    /// (at most [`FACTS_LIMIT`]).
    async fn session_facts(
        &self,
        scope: &Scope,
        gym: GymId,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<Vec<SessionFact>>;
}
