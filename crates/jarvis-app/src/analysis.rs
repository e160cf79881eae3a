//! Post-call analysis fields and simulations, the staff side: a gym's custom analysis fields
//! (added to the analysis schema; the job itself is `jarvis_voice::analysis`), the analyses
//! shown with the conversations, the gym's scenario file and its simulation runs (played by
//! the `simulations.run` job through `jarvis_voice::Simulator`).

use crate::error::AppResult;
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::Store;
use std::collections::HashMap;

/// Reading analyses, fields, scenarios and runs (like the conversations themselves).
pub const READ: Action = Action::ReportRead;
/// Defining custom fields, editing the scenario file and running simulations (managers).
pub const MANAGE: Action = Action::GymSettingsUpdate;

/// The job kind that plays a gym's saved scenario file (payload: franchise and gym ids).
pub const SIMULATION_JOB_KIND: &str = "simulations.run";

/// The example scenario file offered when a gym has none yet.
pub const EXAMPLE_SCENARIOS: &str = include_str!("../../../examples/scenarios.json");

/// Whether the gym keeps conversation text at all (else no analysis can be made).
pub fn transcripts_kept(gym: &Gym) -> bool {
    match GymSettings::from_json(&gym.settings) {
        Ok(s) => s.features.transcripts && s.voice.storage != StorageLevel::Metadata,
        Err(_) => false,
    }
}

/// A gym's custom analysis fields.
pub async fn fields(store: &dyn Store, scope: &Scope, gym: GymId) -> AppResult<Vec<AnalysisField>> {
    Ok(store.list_analysis_fields(scope, gym).await?)
}

/// Adds a custom field (validated; at most 20; audited).
pub async fn add_field(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    new: NewAnalysisField,
) -> AppResult<AnalysisField> {
    let new = new.validate()?;
    Ok(store.create_analysis_field(scope, actor, gym, new).await?)
}

/// Removes a custom field (past analyses keep their values).
pub async fn delete_field(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: AnalysisFieldId,
) -> AppResult<()> {
    Ok(store.delete_analysis_field(scope, actor, gym, id).await?)
}

/// The analysis of one session of `gym`, if any.
pub async fn of_session(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    session: VoiceSessionId,
) -> AppResult<Option<SessionAnalysis>> {
    Ok(store
        .session_analysis(scope, session)
        .await?
        .filter(|a| a.gym_id == gym))
}

/// The analyses of these sessions, by session.
pub async fn of_sessions(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    sessions: &[VoiceSessionId],
) -> AppResult<HashMap<VoiceSessionId, SessionAnalysis>> {
    Ok(store
        .session_analyses(scope, gym, sessions)
        .await?
        .into_iter()
        .map(|a| (a.session_id, a))
        .collect())
}

/// The gym's scenario file, or the example when none was saved.
pub async fn scenarios(store: &dyn Store, scope: &Scope, gym: GymId) -> AppResult<String> {
    Ok(store
        .simulation_scenarios(scope, gym)
        .await?
        .unwrap_or_else(|| EXAMPLE_SCENARIOS.to_owned()))
}

/// Validates and saves the gym's scenario file.
pub async fn save_scenarios(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    body: &str,
) -> AppResult<ScenarioFile> {
    let file = ScenarioFile::parse(body)?;
    store
        .put_simulation_scenarios(scope, actor, gym, body)
        .await?;
    Ok(file)
}

/// Queues a run of the gym's saved scenario file (validated first).
pub async fn queue_run(store: &dyn Store, scope: &Scope, gym: &Gym) -> AppResult<()> {
    let body = scenarios(store, scope, gym.id).await?;
    ScenarioFile::parse(&body)?;
    let job = NewJob::new(
        SIMULATION_JOB_KIND,
        serde_json::json!({"franchise_id": gym.franchise_id, "gym_id": gym.id}),
    )
    .with_max_attempts(1);
    let job = NewJob {
        franchise_id: Some(gym.franchise_id),
        gym_id: Some(gym.id),
        ..job
    };
    store.enqueue(job).await?;
    Ok(())
}

/// A gym's simulation runs in the order `sort`.
pub async fn runs(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    sort: jarvis_store::SimulationRunSort,
    page: PageRequest,
) -> AppResult<Page<SimulationRun>> {
    Ok(store.list_simulation_runs(scope, gym, sort, page).await?)
}

/// One run with its results.
pub async fn run(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    id: SimulationRunId,
) -> AppResult<(SimulationRun, Vec<SimulationResult>)> {
    Ok(store.simulation_run(scope, gym, id).await?)
}
