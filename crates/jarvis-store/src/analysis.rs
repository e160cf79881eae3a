//! Storage of post-call analyses beyond the summary (their failures, the gym's custom fields)
//! and of simulations (a gym's scenario file, runs and per-scenario results). Every method runs
//! in the caller's tenant scope.
//!
//! An analysis's chat cost is added to its session's cost and the gym's rollup in the same
//! transaction as the analysis row ([`crate::VoiceStore::put_session_analysis`] and
//! [`AnalysisStore::record_analysis_failure`]). Simulation costs stay on the run rows: they
//! are never part of a member session nor of the gym's daily rollups.

use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::cost::PicoUsd;
use jarvis_core::model::*;
use jarvis_core::*;

/// Orders of a gym's simulation runs; each ends with the id so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SimulationRunSort {
    /// Newest first.
    #[default]
    StartedDesc,
    /// Oldest first.
    Started,
    /// By status (alphabetical key), newest first within a status.
    Status,
    /// By status, reversed, newest first within a status.
    StatusDesc,
    /// Most expensive first.
    CostDesc,
    /// Cheapest first.
    Cost,
}

impl SimulationRunSort {
    /// Every order, the default first.
    pub const ALL: [SimulationRunSort; 6] = [
        Self::StartedDesc,
        Self::Started,
        Self::Status,
        Self::StatusDesc,
        Self::CostDesc,
        Self::Cost,
    ];

    /// The order's key in list URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartedDesc => "started_desc",
            Self::Started => "started",
            Self::Status => "status",
            Self::StatusDesc => "status_desc",
            Self::CostDesc => "cost_desc",
            Self::Cost => "cost",
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

/// Analyses' failures, custom analysis fields and simulations.
#[async_trait]
pub trait AnalysisStore: Send + Sync {
    /// The analysis of one session (done or failed), if any.
    async fn session_analysis(
        &self,
        scope: &Scope,
        session: VoiceSessionId,
    ) -> StoreResult<Option<SessionAnalysis>>;

    /// Analyses of these sessions of a gym (for the conversation list's columns).
    async fn session_analyses(
        &self,
        scope: &Scope,
        gym: GymId,
        sessions: &[VoiceSessionId],
    ) -> StoreResult<Vec<SessionAnalysis>>;

    /// Records that the analysis failed after `attempts` chat calls (refusal, invalid output),
    /// and adds their cost to the session. Replaces a previous failure; never a done analysis
    /// (then `Conflict`).
    async fn record_analysis_failure(
        &self,
        scope: &Scope,
        session: VoiceSessionId,
        reason: &str,
        attempts: u32,
        model: &str,
        cost_pico: PicoUsd,
    ) -> StoreResult<SessionAnalysis>;

    /// A gym's custom analysis fields, by creation.
    async fn list_analysis_fields(
        &self,
        scope: &Scope,
        gym: GymId,
    ) -> StoreResult<Vec<AnalysisField>>;

    /// Adds a custom field (audited). `Conflict` on `name` when taken; `Invalid` past 20.
    async fn create_analysis_field(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        new: NewAnalysisField,
    ) -> StoreResult<AnalysisField>;

    /// Removes a custom field (audited); stored values stay in past analyses.
    async fn delete_analysis_field(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: AnalysisFieldId,
    ) -> StoreResult<()>;

    /// The gym's scenario file, if one was saved.
    async fn simulation_scenarios(&self, scope: &Scope, gym: GymId) -> StoreResult<Option<String>>;

    /// Saves the gym's scenario file (audited), already validated by the caller.
    async fn put_simulation_scenarios(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        body: &str,
    ) -> StoreResult<()>;

    /// Opens a `running` simulation run.
    async fn start_simulation(&self, scope: &Scope, gym: GymId) -> StoreResult<SimulationRun>;

    /// Stores one scenario's result and adds it to the run's counts and cost.
    async fn add_simulation_result(
        &self,
        scope: &Scope,
        result: &SimulationResult,
    ) -> StoreResult<SimulationRun>;

    /// Ends a run: `passed`/`failed` from its results, or `error` with `error`.
    async fn finish_simulation(
        &self,
        scope: &Scope,
        run: SimulationRunId,
        error: Option<&str>,
    ) -> StoreResult<SimulationRun>;

    /// A gym's runs in the order `sort`.
    async fn list_simulation_runs(
        &self,
        scope: &Scope,
        gym: GymId,
        sort: SimulationRunSort,
        page: PageRequest,
    ) -> StoreResult<Page<SimulationRun>>;

    /// One run with its results in file order.
    async fn simulation_run(
        &self,
        scope: &Scope,
        gym: GymId,
        run: SimulationRunId,
    ) -> StoreResult<(SimulationRun, Vec<SimulationResult>)>;
}
