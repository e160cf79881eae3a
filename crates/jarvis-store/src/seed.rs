//! Bulk demo data at scale (`jarvis demo seed --scale N`, the dashboard figures of the benchmark):
//! members with their visits, ended voice sessions with their turns and analyses, built by the
//! caller and written in large multi-row inserts, one transaction per batch, in the gym's scope.
//! The day rollups (`cost_daily`) are added to from the batch's sessions in the same
//! transaction, so a batch is all or nothing, rollups included.

use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::model::*;
use jarvis_core::*;
use time::OffsetDateTime;

/// A member to write as it would be after its visits.
#[derive(Debug, Clone)]
pub struct SeedMember {
    /// Its id.
    pub id: MemberId,
    /// Its fields (already valid).
    pub new: NewMember,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// A past visit of a member of the batch.
#[derive(Debug, Clone)]
pub struct SeedVisit {
    /// The member (of the same batch).
    pub member: MemberId,
    /// The kiosk that scanned the badge.
    pub kiosk: Option<KioskId>,
    /// When.
    pub at: OffsetDateTime,
}

/// A conversation turn of a seeded session, with the cost of the response it carries.
#[derive(Debug, Clone)]
pub struct SeedTurn {
    /// The turn as the broker would store it (text kept as the member's level says).
    pub turn: NewTurn,
    /// Cost of the response (assistant turns).
    pub cost_pico: Option<u64>,
}

/// An ended voice session of a member of the batch.
#[derive(Debug, Clone)]
pub struct SeedSession {
    /// Its id.
    pub id: VoiceSessionId,
    /// The member (of the same batch).
    pub member: MemberId,
    /// The kiosk the call ran on.
    pub kiosk: Option<KioskId>,
    /// The call's language.
    pub language: Locale,
    /// The realtime model.
    pub model: String,
    /// Start.
    pub started_at: OffsetDateTime,
    /// End.
    pub ended_at: OffsetDateTime,
    /// Why it ended.
    pub end_reason: EndReason,
    /// Audio tokens in.
    pub input_audio_tokens: u64,
    /// Audio tokens out.
    pub output_audio_tokens: u64,
    /// Responses (billed).
    pub responses: u32,
    /// Turns, in order (numbered from 1).
    pub turns: Vec<SeedTurn>,
    /// Its post-call analysis, when it was analysed.
    pub analysis: Option<NewSessionAnalysis>,
}

impl SeedSession {
    /// Total cost: the sum of its turns'.
    pub fn cost_pico(&self) -> u64 {
        self.turns.iter().filter_map(|t| t.cost_pico).sum()
    }
}

/// One batch, written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct SeedBatch {
    /// Members.
    pub members: Vec<SeedMember>,
    /// Their visits (their count and latest time are set on the member rows).
    pub visits: Vec<SeedVisit>,
    /// Their sessions.
    pub sessions: Vec<SeedSession>,
}

/// Rows one batch wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedCounts {
    /// Members.
    pub members: u64,
    /// Visits.
    pub visits: u64,
    /// Sessions.
    pub sessions: u64,
    /// Turns.
    pub turns: u64,
    /// Analyses.
    pub analyses: u64,
    /// Day rollup rows created or added to.
    pub cost_days: u64,
}

impl std::ops::AddAssign for SeedCounts {
    fn add_assign(&mut self, o: Self) {
        self.members += o.members;
        self.visits += o.visits;
        self.sessions += o.sessions;
        self.turns += o.turns;
        self.analyses += o.analyses;
        self.cost_days += o.cost_days;
    }
}

/// Bulk writes of generated demo data (never used for real tenants' data).
#[async_trait]
pub trait SeedStore: Send + Sync {
    /// Writes a batch in one transaction in `scope` (all or nothing) with one audit row; every
    /// row belongs to `gym`. A badge already used in the gym fails the batch (`Conflict`).
    async fn seed_batch(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        batch: &SeedBatch,
    ) -> StoreResult<SeedCounts>;

    /// Moves a demo gym's creation date back to `created_at` (its seeded history starts then),
    /// with one audit row; a gym created earlier already is left as it is. Returns the gym.
    async fn backdate_gym(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        created_at: OffsetDateTime,
    ) -> StoreResult<Gym>;
}
