//! Dashboard pages: the gym's custom analysis fields (add, delete; says when the gym keeps no
//! transcript, so no analysis is made), the simulations (scenario file editor, run button, the
//! runs) and one run (per scenario: verdict, the judge's reasons, transcript, tool calls).

use crate::auth::web::{CsrfForm, PageUser};
use crate::state::AppState;
use crate::web::chrome::{
    Chrome, Empty, InPage, PageError, PageResult, Pager, SortHeads, gym_scope, pager, query_part,
};
use crate::web::i18n::{Msg, field_message};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use jarvis_app::AppError;
use jarvis_app::analysis;
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/gyms/{gym}/voice/analysis",
            get(fields_page).post(field_add),
        )
        .route(
            "/app/gyms/{gym}/voice/analysis/{id}/delete",
            post(field_delete),
        )
        .route(
            "/app/gyms/{gym}/voice/simulations",
            get(simulations_page).post(scenarios_save),
        )
        .route("/app/gyms/{gym}/voice/simulations/run", post(run_submit))
        .route("/app/gyms/{gym}/voice/simulations/{run}", get(run_page))
}

#[derive(Template)]
#[template(path = "gmk/analysis_fields.html")]
struct FieldsPage {
    c: Chrome,
    fields: Vec<AnalysisField>,
    transcripts_kept: bool,
    can_manage: bool,
    kinds: [AnalysisFieldKind; 4],
    form: FieldForm,
    errors: BTreeMap<String, String>,
}

#[derive(Deserialize, Default, Clone)]
struct FieldForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    values: String,
    #[serde(default)]
    description: String,
}

async fn render_fields(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    form: FieldForm,
    errors: BTreeMap<String, String>,
) -> PageResult {
    let (scope, c) = gym_scope(state, u, gym, analysis::READ).await?;
    let fields = analysis::fields(state.store.as_ref(), &scope, gym)
        .await
        .in_page(c.t)?;
    let g = state.store.gym(&scope, gym).await.in_page(c.t)?;
    let can_manage = u.caller.gym(state, gym, analysis::MANAGE).await.is_ok();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(page(
        FieldsPage {
            c,
            fields,
            transcripts_kept: analysis::transcripts_kept(&g),
            can_manage,
            kinds: AnalysisFieldKind::ALL,
            form,
            errors,
        },
        status,
    ))
}

async fn fields_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
) -> PageResult {
    render_fields(&state, &u, gym, FieldForm::default(), BTreeMap::new()).await
}

async fn field_add(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<FieldForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, analysis::MANAGE).await?;
    let mut errors = BTreeMap::new();
    let Some(kind) = AnalysisFieldKind::parse(f.kind.trim()) else {
        let e = FieldError::new("kind", "invalid", "unknown type");
        errors.insert("kind".to_owned(), field_message(c.t, &e));
        return render_fields(&state, &u, gym, f, errors).await;
    };
    let new = NewAnalysisField {
        name: f.name.clone(),
        kind,
        enum_values: f
            .values
            .split(',')
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect(),
        description: f.description.clone(),
    };
    match analysis::add_field(state.store.as_ref(), &scope, &u.caller.actor, gym, new).await {
        Ok(_) => Ok(Redirect::to(&format!("/app/gyms/{gym}/voice/analysis")).into_response()),
        Err(AppError::Invalid(v)) => {
            for e in &v.0 {
                let key = e.field.split(['[', '.']).next().unwrap_or("").to_owned();
                errors.insert(key, field_message(c.t, e));
            }
            render_fields(&state, &u, gym, f, errors).await
        }
        Err(AppError::Store(jarvis_store::StoreError::Conflict { field, message, .. }))
        | Err(AppError::Store(jarvis_store::StoreError::Invalid { field, message })) => {
            let e = FieldError::new(field, "invalid", message);
            errors.insert(field.to_owned(), field_message(c.t, &e));
            render_fields(&state, &u, gym, f, errors).await
        }
        Err(e) => Err(PageError::new(c.t, e)),
    }
}

async fn field_delete(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, AnalysisFieldId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, analysis::MANAGE).await?;
    analysis::delete_field(state.store.as_ref(), &scope, &u.caller.actor, gym, id)
        .await
        .in_page(c.t)?;
    Ok(Redirect::to(&format!("/app/gyms/{gym}/voice/analysis")).into_response())
}

#[derive(Template)]
#[template(path = "gmk/simulations.html")]
struct SimulationsPage {
    c: Chrome,
    body: String,
    runs: Vec<SimulationRun>,
    pager: Pager,
    /// The sortable column headers of the runs.
    heads: SortHeads,
    can_manage: bool,
    notice: Option<Msg>,
    errors: Vec<String>,
}

/// Simulation runs per page.
const RUNS_PAGE: u32 = 50;

/// Order and page of the runs list, from the query string.
#[derive(Deserialize, Default)]
struct RunsQuery {
    sort: Option<String>,
    offset: Option<u64>,
}

async fn render_simulations(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    q: RunsQuery,
    body: Option<String>,
    notice: Option<Msg>,
    errors: Vec<String>,
) -> PageResult {
    let (scope, c) = gym_scope(state, u, gym, analysis::READ).await?;
    let body = match body {
        Some(b) => b,
        None => analysis::scenarios(state.store.as_ref(), &scope, gym)
            .await
            .in_page(c.t)?,
    };
    // Whitelisted: an unknown key is newest first.
    let sort = jarvis_store::SimulationRunSort::parse(q.sort.as_deref().unwrap_or_default());
    let runs = analysis::runs(
        state.store.as_ref(),
        &scope,
        gym,
        sort,
        PageRequest::new(Some(RUNS_PAGE), q.offset).in_page(c.t)?,
    )
    .await
    .in_page(c.t)?;
    let base = format!("/app/gyms/{gym}/voice/simulations");
    let can_manage = u.caller.gym(state, gym, analysis::MANAGE).await.is_ok();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(page(
        SimulationsPage {
            c,
            body,
            pager: pager(&base, &query_part("sort", sort.as_str()), &runs),
            heads: SortHeads::new(&base, "", sort.as_str()),
            runs: runs.items,
            can_manage,
            notice,
            errors,
        },
        status,
    ))
}

async fn simulations_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<RunsQuery>,
) -> PageResult {
    render_simulations(&state, &u, gym, q, None, None, Vec::new()).await
}

#[derive(Deserialize)]
struct ScenariosForm {
    #[serde(default)]
    scenarios: String,
}

fn messages(t: crate::web::i18n::Tr, v: &ValidationErrors) -> Vec<String> {
    v.0.iter()
        .map(|e| format!("{}: {}", e.field, field_message(t, e)))
        .collect()
}

async fn scenarios_save(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<ScenariosForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, analysis::MANAGE).await?;
    match analysis::save_scenarios(
        state.store.as_ref(),
        &scope,
        &u.caller.actor,
        gym,
        &f.scenarios,
    )
    .await
    {
        Ok(_) => {
            render_simulations(
                &state,
                &u,
                gym,
                RunsQuery::default(),
                None,
                Some(Msg::SimSaved),
                Vec::new(),
            )
            .await
        }
        Err(AppError::Invalid(v)) => {
            let errs = messages(c.t, &v);
            render_simulations(
                &state,
                &u,
                gym,
                RunsQuery::default(),
                Some(f.scenarios),
                None,
                errs,
            )
            .await
        }
        Err(e) => Err(PageError::new(c.t, e)),
    }
}

async fn run_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, analysis::MANAGE).await?;
    let g = state.store.gym(&scope, gym).await.in_page(c.t)?;
    match analysis::queue_run(state.store.as_ref(), &scope, &g).await {
        Ok(()) => {
            render_simulations(
                &state,
                &u,
                gym,
                RunsQuery::default(),
                None,
                Some(Msg::SimQueued),
                Vec::new(),
            )
            .await
        }
        Err(AppError::Invalid(v)) => {
            let errs = messages(c.t, &v);
            render_simulations(&state, &u, gym, RunsQuery::default(), None, None, errs).await
        }
        Err(e) => Err(PageError::new(c.t, e)),
    }
}

#[derive(Template)]
#[template(path = "gmk/simulation_run.html")]
struct RunPage {
    c: Chrome,
    run: SimulationRun,
    results: Vec<SimulationResult>,
}

async fn run_page(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, SimulationRunId)>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, analysis::READ).await?;
    let (run, results) = analysis::run(state.store.as_ref(), &scope, gym, id)
        .await
        .in_page(c.t)?;
    Ok(page(RunPage { c, run, results }, StatusCode::OK))
}

/// A JSON value as compact text (shown escaped by the template).
pub fn json(v: &serde_json::Value) -> String {
    v.to_string()
}
