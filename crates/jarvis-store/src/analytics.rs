//! Storage of the analytics jobs: each member's churn score (one row per member, replaced by
//! the daily job) with the signals it is computed from, and the weekly gym reports (the HTML
//! lives in the object store; a row per gym and ISO week records it, so a rerun is a no-op)
//! with the week's numbers they are built from. Every method runs in the caller's tenant scope.

use crate::accounts::NewEmail;
use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::churn::*;
use jarvis_core::*;
use time::OffsetDateTime;

/// Most signals rows one [`AnalyticsStore::churn_signals`] call answers.
pub const CHURN_BATCH_MAX: u32 = 500;

/// A churn score to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewChurnScore {
    /// The member.
    pub member_id: MemberId,
    /// The score and its factors.
    pub assessment: ChurnAssessment,
}

/// A stored weekly report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// Id.
    pub id: ReportId,
    /// The gym.
    pub gym_id: GymId,
    /// ISO week, `2026-W23`.
    pub week: String,
    /// Monday 00:00 UTC of that week.
    pub starts_at: OffsetDateTime,
    /// Where the HTML is in the object store.
    pub object_key: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// When it was stored.
    pub created_at: OffsetDateTime,
}

/// A report row to record.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// Id, chosen by the caller so the e-mails can link to the report.
    pub id: ReportId,
    /// The gym.
    pub gym_id: GymId,
    /// ISO week, `2026-W23`.
    pub week: String,
    /// Monday 00:00 UTC of that week.
    pub starts_at: OffsetDateTime,
    /// Where the HTML is.
    pub object_key: String,
    /// Its size.
    pub size_bytes: u64,
}

/// One kiosk's activity over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct KioskActivity {
    /// The kiosk.
    pub kiosk_id: KioskId,
    /// Its name.
    pub name: String,
    /// Its last heartbeat.
    pub last_seen_at: Option<OffsetDateTime>,
    /// Days of the period (UTC) on which a badge scan or a conversation went through it.
    pub active_days: u32,
}

/// A gym's numbers over a period `[from, to)`, as the weekly report shows them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PeriodStats {
    /// Ended conversations started in the period (failed starts left out).
    pub conversations: u64,
    /// Distinct members among them.
    pub members: u64,
    /// Their durations in seconds (at most [`PERIOD_DURATIONS_MAX`]).
    pub durations_secs: Vec<i64>,
    /// Average satisfaction (1–5) of their done analyses.
    pub satisfaction_avg: Option<f64>,
    /// Average sentiment score (−1 to 1) of their done analyses.
    pub sentiment_avg: Option<f64>,
    /// The topics of each done analysis (at most [`PERIOD_DURATIONS_MAX`] analyses).
    pub topics: Vec<Vec<String>>,
    /// AI spend of the period's UTC days, pico-USD, from the daily rollups.
    pub cost_pico: u64,
    /// Paired kiosks and their activity.
    pub kiosks: Vec<KioskActivity>,
}

/// Most sessions (and analyses) a [`PeriodStats`] reads one by one.
pub const PERIOD_DURATIONS_MAX: u32 = 20_000;

/// Churn scores and weekly reports.
#[async_trait]
pub trait AnalyticsStore: Send + Sync {
    /// The churn signals of a gym's active members as of `now`, by member id after `after`,
    /// at most `limit` (capped at [`CHURN_BATCH_MAX`]).
    async fn churn_signals(
        &self,
        scope: &Scope,
        gym: GymId,
        now: OffsetDateTime,
        after: Option<MemberId>,
        limit: u32,
    ) -> StoreResult<Vec<ChurnSignals>>;

    /// Stores (replacing) the scores of members of a gym, in one transaction; members no
    /// longer in the gym are skipped. Returns how many were stored.
    async fn put_churn_scores(
        &self,
        scope: &Scope,
        gym: GymId,
        computed_at: OffsetDateTime,
        scores: &[NewChurnScore],
    ) -> StoreResult<u64>;

    /// A member's stored score, if computed.
    async fn member_churn(
        &self,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
    ) -> StoreResult<Option<MemberChurn>>;

    /// The scores of a gym's active members in `sort` order (highest first by default),
    /// optionally from a level up.
    async fn list_churn(
        &self,
        scope: &Scope,
        gym: GymId,
        min_level: Option<ChurnLevel>,
        sort: ChurnSort,
        page: PageRequest,
    ) -> StoreResult<Page<ChurnListEntry>>;

    /// A gym's numbers over `[from, to)`.
    async fn period_stats(
        &self,
        scope: &Scope,
        gym: GymId,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> StoreResult<PeriodStats>;

    /// Records a report once per (gym, week), queueing `emails` in the same transaction when
    /// this call recorded it. Answers the stored row and whether this call created it.
    async fn record_report(
        &self,
        scope: &Scope,
        report: NewReport,
        emails: Vec<NewEmail>,
    ) -> StoreResult<(Report, bool)>;

    /// A gym's report of a week, if recorded.
    async fn report_of_week(
        &self,
        scope: &Scope,
        gym: GymId,
        week: &str,
    ) -> StoreResult<Option<Report>>;

    /// One report of a gym.
    async fn report(&self, scope: &Scope, gym: GymId, id: ReportId) -> StoreResult<Report>;

    /// A gym's reports in `sort` order (newest week first by default).
    async fn list_reports(
        &self,
        scope: &Scope,
        gym: GymId,
        sort: ReportSort,
        page: PageRequest,
    ) -> StoreResult<Page<Report>>;
}

/// Orders of the churn list; each ends with the member id so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChurnSort {
    /// Highest score first, then by name.
    #[default]
    ScoreDesc,
    /// Lowest score first, then by name.
    Score,
    /// By last name, then first name.
    Name,
}

impl ChurnSort {
    /// Every order, the default first.
    pub const ALL: [ChurnSort; 3] = [Self::ScoreDesc, Self::Score, Self::Name];

    /// The order's key in list URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScoreDesc => "score_desc",
            Self::Score => "score",
            Self::Name => "name",
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

/// Orders of the report list; each ends with the id so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReportSort {
    /// Newest week first.
    #[default]
    WeekDesc,
    /// Oldest week first.
    Week,
}

impl ReportSort {
    /// Every order, the default first.
    pub const ALL: [ReportSort; 2] = [Self::WeekDesc, Self::Week];

    /// The order's key in list URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WeekDesc => "week_desc",
            Self::Week => "week",
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
