//! Storage of voice sessions: the slot each call holds against the gym's and the platform's caps,
//! the call's lease, its turns and tool calls, exact cost metering with daily rollups, budget
//! alerts, follow-ups, analyses, dated model prices and the platform's voice settings.
//!
//! **Slots.** A session holds one slot while it is `starting` or `active` *and* its lease has not
//! expired. [`VoiceStore::start_session`] checks both caps and inserts the session in one
//! serialized step (PostgreSQL: a transaction-level advisory lock taken before counting; SQLite:
//! `BEGIN IMMEDIATE`), so concurrent starts on any number of instances never exceed a cap. An
//! expired lease stops counting at once, without waiting for a reaper, which is why a renewal
//! is refused once the lease has expired (the slot may already be someone else's) and takes the
//! same lock. Lease times come from the database's clock on PostgreSQL, so instances with skewed
//! clocks agree on expiry.
//!
//! **Contexts.** Everything about one call runs in that call's gym scope
//! ([`VoiceSession::scope`]); counting slots across tenants, the reaper's queries, the
//! platform's spend and budget alerts run in the system context `TxCtx::Voice`, which reads
//! session rows and rollups but never a transcript.

use crate::accounts::NewEmail;
use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::cost::{BudgetPeriod, BudgetThreshold, PicoUsd, PriceTable};
use jarvis_core::model::*;
use jarvis_core::*;
use time::{Date, Duration, OffsetDateTime};

/// What a lease renewal found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// The lease runs until now + the requested duration.
    Renewed,
    /// Renewed, and someone asked from the dashboard to hang up: end the call (`staff_ended`).
    HangUpRequested,
    /// Not renewed: the session ended, another owner holds it, or the lease had already
    /// expired (its slot may be taken). Hang up and end the session (`lease_lost`).
    Lost,
}

/// Filters of the session history.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Started at or after.
    pub from: Option<OffsetDateTime>,
    /// Started before.
    pub to: Option<OffsetDateTime>,
    /// Only this member's sessions.
    pub member_id: Option<MemberId>,
    /// Only sessions that ended for this reason.
    pub end_reason: Option<EndReason>,
    /// Only sessions in this status.
    pub status: Option<SessionStatus>,
    /// The order of the rows.
    pub sort: SessionSort,
}

/// Orders of the session history; each ends with the id so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SessionSort {
    /// Newest first.
    #[default]
    StartedDesc,
    /// Oldest first.
    Started,
    /// Most expensive first.
    CostDesc,
}

impl SessionSort {
    /// Every order, the default first.
    pub const ALL: [SessionSort; 3] = [Self::StartedDesc, Self::Started, Self::CostDesc];

    /// The order's key in list URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartedDesc => "started_desc",
            Self::Started => "started",
            Self::CostDesc => "cost_desc",
        }
    }

    /// The order a URL key names, or the default for anything else.
    pub fn parse(key: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == key.trim())
            .unwrap_or_default()
    }
}

/// The session after a metered usage (running totals), and the turn stored with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Metered {
    /// The session with its new totals.
    pub session: VoiceSession,
    /// The turn, when one was given.
    pub turn: Option<ConversationTurn>,
}

/// Spend over a period, from the daily rollups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Spend {
    /// Cost in pico-USD.
    pub cost_pico: PicoUsd,
    /// Sessions that reached the provider.
    pub sessions: u64,
    /// Responses metered.
    pub responses: u64,
    /// Transcriptions metered.
    pub transcriptions: u64,
}

/// One gym's spend on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyCost {
    /// Gym.
    pub gym_id: GymId,
    /// UTC day.
    pub day: Date,
    /// Spend that day.
    pub spend: Spend,
    /// Input tokens (realtime and transcription).
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
}

/// Whose budget an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetScope {
    /// One gym's monthly budget.
    Gym {
        /// The gym's franchise.
        franchise: FranchiseId,
        /// The gym.
        gym: GymId,
    },
    /// The platform's monthly budget.
    Platform,
}

/// An alert that fired (once for its scope, period and threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetAlert {
    /// Id.
    pub id: BudgetAlertId,
    /// Whose budget.
    pub scope: BudgetScope,
    /// The month.
    pub period: BudgetPeriod,
    /// 80 or 100 %.
    pub threshold: BudgetThreshold,
    /// Spend when it fired.
    pub spent_pico: PicoUsd,
    /// The budget then.
    pub budget_micros: u64,
    /// When it fired.
    pub created_at: OffsetDateTime,
}

/// An alert to fire.
#[derive(Debug, Clone)]
pub struct NewBudgetAlert {
    /// Whose budget.
    pub scope: BudgetScope,
    /// The month.
    pub period: BudgetPeriod,
    /// 80 or 100 %.
    pub threshold: BudgetThreshold,
    /// Spend now.
    pub spent_pico: PicoUsd,
    /// The budget.
    pub budget_micros: u64,
}

/// Voice sessions, their slots, turns, tool calls, metering, alerts and follow-ups.
#[async_trait]
pub trait VoiceStore: Send + Sync {
    /// Acquires a slot and opens a `starting` session holding it until now + `new.lease`.
    /// Checks, atomically across every instance sharing the database: the gym's
    /// `voice_session_cap` (refused first) and the platform's global cap, counting the sessions
    /// that hold a slot (starting or active with an unexpired lease). A refusal stores nothing.
    /// The member and the kiosk must belong to the gym (else `NotFound`).
    async fn start_session(
        &self,
        scope: &Scope,
        gym: GymId,
        new: NewVoiceSession,
    ) -> StoreResult<Result<VoiceSession, CapRefusal>>;

    /// Extends the lease to now + `lease`, only for `owner`, only while the session is live and
    /// its lease has not expired yet.
    async fn renew_lease(
        &self,
        scope: &Scope,
        id: VoiceSessionId,
        owner: InstanceId,
        lease: Duration,
    ) -> StoreResult<Renewal>;

    /// Marks a `starting` session `active` with the provider's call id (`rtc_…`) and counts it
    /// in the day's sessions. False when the session is not `starting` or not `owner`'s.
    async fn activate(
        &self,
        scope: &Scope,
        id: VoiceSessionId,
        owner: InstanceId,
        provider_call_id: &str,
    ) -> StoreResult<bool>;

    /// Records the provider's session id (`sess_…`, from `session.created`) once.
    async fn set_provider_session(
        &self,
        scope: &Scope,
        id: VoiceSessionId,
        provider_session_id: &str,
    ) -> StoreResult<bool>;

    /// Ends a live session with `reason` at `at`, freeing its slot. Exactly once: of any number
    /// of calls (concurrent or not, from any instance), one returns true and its reason is kept;
    /// the others change nothing and return false.
    async fn end_session(
        &self,
        scope: &Scope,
        id: VoiceSessionId,
        reason: EndReason,
        at: OffsetDateTime,
    ) -> StoreResult<bool>;

    /// Asks the owner of a live session to hang up (the dashboard's button); the owner learns
    /// it on its next renewal, whichever instance it runs on. Audited. False when not live.
    async fn request_hangup(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: VoiceSessionId,
    ) -> StoreResult<bool>;

    /// Voice sessions live now on the whole platform (every gym, every instance).
    async fn platform_live_sessions(&self) -> StoreResult<u32>;

    /// Slots held now by the gym and by the platform, with both caps.
    async fn slot_usage(&self, scope: &Scope, gym: GymId) -> StoreResult<SlotUsage>;

    /// Live sessions (any tenant) owned by these instances: the reaper ends them as `reaped`
    /// when the instances stopped heart-beating. At most 1000, oldest first.
    async fn sessions_of_instances(&self, owners: &[InstanceId]) -> StoreResult<Vec<VoiceSession>>;

    /// Live sessions (any tenant) whose lease expired: they no longer hold a slot; the reaper
    /// ends them. At most `limit` (≤ 1000), oldest lease first.
    async fn expired_leases(&self, limit: u32) -> StoreResult<Vec<VoiceSession>>;

    /// One session.
    async fn voice_session(&self, scope: &Scope, id: VoiceSessionId) -> StoreResult<VoiceSession>;

    /// Sessions of a gym holding a slot now, oldest first.
    async fn live_voice_sessions(
        &self,
        scope: &Scope,
        gym: GymId,
    ) -> StoreResult<Vec<VoiceSession>>;

    /// Session history of a gym, newest first.
    async fn list_voice_sessions(
        &self,
        scope: &Scope,
        gym: GymId,
        filter: &SessionFilter,
        page: PageRequest,
    ) -> StoreResult<Page<VoiceSession>>;

    /// Turns of a session in order.
    async fn turns(
        &self,
        scope: &Scope,
        session: VoiceSessionId,
        page: PageRequest,
    ) -> StoreResult<Page<ConversationTurn>>;

    /// Tool calls of a session in order (at most 1000).
    async fn tool_calls(
        &self,
        scope: &Scope,
        session: VoiceSessionId,
    ) -> StoreResult<Vec<ToolCall>>;

    /// Adds one `response.done`'s usage and cost to the session, to the gym's rollup of the
    /// response's UTC day and, with a turn, stores the turn carrying that usage and cost: all in
    /// one transaction. Recorded whatever the session's status (a response that arrives after
    /// the end is still billed).
    async fn record_response(
        &self,
        scope: &Scope,
        session: VoiceSessionId,
        usage: ResponseUsage,
        turn: Option<NewTurn>,
    ) -> StoreResult<Metered>;

    /// Adds one input transcription's usage and cost (session, rollup) and, with a turn, stores
    /// it, in one transaction.
    async fn record_transcription(
        &self,
        scope: &Scope,
        session: VoiceSessionId,
        usage: TranscriptionUsage,
        turn: Option<NewTurn>,
    ) -> StoreResult<Metered>;

    /// Stores a turn without usage; its `seq` follows the session's previous turn.
    async fn record_turn(
        &self,
        scope: &Scope,
        session: VoiceSessionId,
        turn: NewTurn,
    ) -> StoreResult<ConversationTurn>;

    /// Stores a tool call (once per provider call id: `Conflict` on a repeat).
    async fn record_tool_call(
        &self,
        scope: &Scope,
        session: VoiceSessionId,
        call: NewToolCall,
    ) -> StoreResult<ToolCall>;

    /// A gym's spend over a month, from the rollups.
    async fn month_to_date(
        &self,
        scope: &Scope,
        gym: GymId,
        period: BudgetPeriod,
    ) -> StoreResult<Spend>;

    /// The platform's spend over a month, from the rollups of every gym.
    async fn platform_month_to_date(&self, period: BudgetPeriod) -> StoreResult<Spend>;

    /// Flags a session as a public demo call (`/demo`), so it is counted and costed apart from
    /// members' calls.
    async fn mark_demo_session(&self, scope: &Scope, id: VoiceSessionId) -> StoreResult<()>;

    /// The demo calls started in a month, every gym together: their number and exact cost
    /// (`responses` and `transcriptions` stay 0).
    async fn demo_month_to_date(&self, period: BudgetPeriod) -> StoreResult<Spend>;

    /// A gym's spend per UTC day in `[from, to)`, by day.
    async fn daily_costs(
        &self,
        scope: &Scope,
        gym: GymId,
        from: Date,
        to: Date,
    ) -> StoreResult<Vec<DailyCost>>;

    /// Fires an alert unless it already fired for its scope, period and threshold, on any
    /// instance; the e-mails are queued in the same transaction, so they go out exactly when
    /// the alert is new. True when this call fired it.
    async fn budget_alert_once(
        &self,
        alert: NewBudgetAlert,
        emails: Vec<NewEmail>,
    ) -> StoreResult<bool>;

    /// Alerts the scope sees (a gym's; the platform's only in the platform scope), newest first.
    async fn list_budget_alerts(
        &self,
        scope: &Scope,
        page: PageRequest,
    ) -> StoreResult<Page<BudgetAlert>>;

    /// Hands a task to the gym's staff (audited).
    async fn create_follow_up(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        new: NewFollowUp,
    ) -> StoreResult<FollowUp>;

    /// Follow-ups of a gym, newest first.
    async fn list_follow_ups(
        &self,
        scope: &Scope,
        gym: GymId,
        status: Option<FollowUpStatus>,
        page: PageRequest,
    ) -> StoreResult<Page<FollowUp>>;

    /// Marks a follow-up done by the acting user (audited); already done: unchanged.
    async fn resolve_follow_up(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: FollowUpId,
    ) -> StoreResult<FollowUp>;

    /// Stores (or replaces) the analysis of a session.
    async fn put_session_analysis(
        &self,
        scope: &Scope,
        session: VoiceSessionId,
        new: NewSessionAnalysis,
    ) -> StoreResult<SessionAnalysis>;

    /// The latest analysis of a member's sessions: "the last conversation's summary".
    async fn last_summary(
        &self,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
    ) -> StoreResult<Option<SessionAnalysis>>;

    /// Deletes, in one bounded batch of at most `batch` rows each, a gym's turns and tool calls
    /// older than `before` (transcript retention). Returns the rows deleted; call again until 0.
    async fn purge_transcripts(
        &self,
        scope: &Scope,
        gym: GymId,
        before: OffsetDateTime,
        batch: u32,
    ) -> StoreResult<u64>;
}

/// Dated model prices and the platform's voice settings: read by every context, written in the
/// platform scope only (audited).
#[async_trait]
pub trait PricingStore: Send + Sync {
    /// Per model, the price with the latest `effective_from` not after `at`.
    async fn price_table_at(&self, at: OffsetDateTime) -> StoreResult<PriceTable>;
    /// Every price row, by model then date.
    async fn list_model_prices(&self) -> StoreResult<Vec<ModelPriceEntry>>;
    /// Sets a model's price from a date (replacing the row of that model and date).
    async fn set_model_price(
        &self,
        scope: &Scope,
        actor: &Actor,
        new: NewModelPrice,
    ) -> StoreResult<ModelPriceEntry>;
    /// The platform's voice settings.
    async fn platform_settings(&self) -> StoreResult<PlatformSettings>;
    /// Replaces the platform's voice settings.
    async fn set_platform_settings(
        &self,
        scope: &Scope,
        actor: &Actor,
        settings: PlatformSettings,
    ) -> StoreResult<PlatformSettings>;
}
