//! Dashboard pages of the tenants area: the gym list, a gym's page with its settings form and
//! the approval workflow. Handlers parse the form, authorize, call `jarvis_app::gyms` and render.

use crate::auth::web::{CsrfForm, PageUser};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::chrome::{
    Chrome, InPage, ListQuery, PageError, PageResult, Pager, SortHeads, gym_scope, pager,
    query_part,
};
use crate::web::i18n::{Msg, Tr, field_message, store_message};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use jarvis_app::AppError;
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::{GymFilter, GymSort};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Page routes of the gyms.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/gyms", get(gyms_page))
        .route("/app/gyms/{gym}", get(gym_page))
        .route("/app/gyms/{gym}/status", post(gym_status))
        .route("/app/gyms/{gym}/settings", post(gym_settings))
}

#[derive(Template)]
#[template(path = "gmk/gyms.html")]
struct GymsPage {
    c: Chrome,
    q: String,
    /// The status filter (`pending` is the approval queue), empty for every status.
    status: String,
    statuses: [GymStatus; 5],
    gyms: Vec<Gym>,
    /// The sortable column headers.
    heads: SortHeads,
    /// The franchise overview, for owners who may read its reports.
    overview: Option<super::overview::FranchiseView>,
    pager: Pager,
}

async fn gyms_page(
    State(state): State<AppState>,
    u: PageUser,
    Query(q): Query<ListQuery>,
    Query(gq): Query<GymQuery>,
) -> PageResult {
    let t = Tr(u.locale);
    let scope = u.caller.list(Action::GymRead).in_page(t)?;
    // Franchise owners (their list is one franchise) get its overview above the list.
    let overview = match scope {
        Scope::Franchise { franchise }
            if u.caller
                .authorize(
                    jarvis_app::voice::READ,
                    &jarvis_core::authz::Resource::Franchise(franchise),
                )
                .is_ok() =>
        {
            let filter = GymFilter {
                franchise_id: Some(franchise),
                ..Default::default()
            };
            let gyms = state
                .store
                .list_gyms(
                    &scope,
                    &filter,
                    PageRequest::new(Some(100), None).unwrap_or_default(),
                )
                .await
                .in_page(t)?;
            let period = jarvis_app::overview::Period::parse(&gq.period).unwrap_or_default();
            Some(
                super::overview::build_franchise(&state, t, &scope, &gyms.items, period)
                    .await
                    .in_page(t)?,
            )
        }
        _ => None,
    };
    let search = q.q.clone().unwrap_or_default();
    // An unknown status in a hand-edited link lists every status rather than failing.
    let status = q.status.as_deref().and_then(GymStatus::parse);
    // Whitelisted: an unknown key is the default (name) order.
    let sort = GymSort::parse(q.sort.as_deref().unwrap_or_default());
    let filter = GymFilter {
        q: Some(search.clone()).filter(|s| !s.trim().is_empty()),
        status,
        sort,
        ..Default::default()
    };
    let req = PageRequest::new(Some(25), q.offset).unwrap_or_default();
    let p = state
        .store
        .list_gyms(&scope, &filter, req)
        .await
        .in_page(t)?;
    let status = status.map(|s| s.as_str().to_string()).unwrap_or_default();
    let extra = format!(
        "{}{}",
        query_part("q", &search),
        query_part("status", &status)
    );
    let pager = pager(
        "/app/gyms",
        &[extra.as_str(), &query_part("sort", sort.as_str())].concat(),
        &p,
    );
    let heads = SortHeads::new("/app/gyms", &extra, sort.as_str());
    Ok(page(
        GymsPage {
            c: Chrome::plain(&u),
            q: search,
            status,
            statuses: [
                GymStatus::Pending,
                GymStatus::Active,
                GymStatus::Rejected,
                GymStatus::Suspended,
                GymStatus::Archived,
            ],
            gyms: p.items,
            heads,
            overview,
            pager,
        },
        StatusCode::OK,
    ))
}

#[derive(Template)]
#[template(path = "gmk/gym.html")]
struct GymPage {
    c: Chrome,
    g: Gym,
    can_approve: bool,
    error: Option<String>,
    settings: GymSettings,
    /// The stored settings do not validate: kiosks and voice refuse this gym until saved.
    misconfigured: bool,
    can_edit: bool,
    /// May change the AI budget and voice-session cap (owner, super admin); else read-only.
    can_budget: bool,
    form: SettingsForm,
    errors: BTreeMap<String, String>,
    /// The overview (tiles, charts), for users who may read the gym's reports.
    overview: Option<super::overview::OverviewView>,
}

/// The gym page's query: the overview's period (`today`, `7d`, `30d`).
#[derive(Deserialize, Default)]
struct GymQuery {
    #[serde(default)]
    period: String,
}

/// Whether a settings form field is one of the gym's spending limits (read-only for managers).
pub fn budget_field(f: &str) -> bool {
    matches!(f, "voice_session_cap" | "budget")
}

/// The gym settings form, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    persona_name: String,
    #[serde(default)]
    voice: String,
    #[serde(default)]
    tone: String,
    #[serde(default)]
    instructions: String,
    #[serde(default)]
    voice_session_cap: String,
    #[serde(default)]
    budget: String,
    #[serde(default)]
    hours_mon: String,
    #[serde(default)]
    hours_tue: String,
    #[serde(default)]
    hours_wed: String,
    #[serde(default)]
    hours_thu: String,
    #[serde(default)]
    hours_fri: String,
    #[serde(default)]
    hours_sat: String,
    #[serde(default)]
    hours_sun: String,
    #[serde(default)]
    f_voice: Option<String>,
    #[serde(default)]
    f_transcripts: Option<String>,
    #[serde(default)]
    f_class_schedule: Option<String>,
    #[serde(default)]
    f_knowledge_base: Option<String>,
    #[serde(default)]
    f_custom_tools: Option<String>,
    #[serde(default)]
    f_weekly_reports: Option<String>,
}

/// Feature switches as form fields with their labels, in display order.
pub const FEATURES: [(&str, Msg); 6] = [
    ("f_voice", Msg::FVoice),
    ("f_transcripts", Msg::FTranscripts),
    ("f_class_schedule", Msg::FClassSchedule),
    ("f_knowledge_base", Msg::FKnowledgeBase),
    ("f_custom_tools", Msg::FCustomTools),
    ("f_weekly_reports", Msg::FWeeklyReports),
];

fn slots_text(slots: &[TimeSlot]) -> String {
    slots
        .iter()
        .map(|s| format!("{}-{}", s.open, s.close))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SettingsForm {
    /// The form for a gym; a misconfigured gym's settings fields start from the defaults (the
    /// page says the stored ones are invalid).
    fn of(g: &Gym) -> Self {
        let s = jarvis_app::gyms::settings_of(g).unwrap_or_default();
        let on = |b: bool| b.then(|| "on".to_string());
        let h = &s.opening_hours;
        Self {
            name: g.name.clone(),
            address: g.address.clone().unwrap_or_default(),
            timezone: g.timezone.clone(),
            locale: g.locale.as_str().into(),
            persona_name: s.persona.name.clone(),
            voice: serde_json::to_value(s.persona.voice)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            tone: serde_json::to_value(s.persona.tone)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            instructions: s.persona.instructions.clone().unwrap_or_default(),
            voice_session_cap: s.voice_session_cap.to_string(),
            budget: format!("{:.2}", s.monthly_ai_budget_micros as f64 / 1e6),
            hours_mon: slots_text(&h.mon),
            hours_tue: slots_text(&h.tue),
            hours_wed: slots_text(&h.wed),
            hours_thu: slots_text(&h.thu),
            hours_fri: slots_text(&h.fri),
            hours_sat: slots_text(&h.sat),
            hours_sun: slots_text(&h.sun),
            f_voice: on(s.features.voice),
            f_transcripts: on(s.features.transcripts),
            f_class_schedule: on(s.features.class_schedule),
            f_knowledge_base: on(s.features.knowledge_base),
            f_custom_tools: on(s.features.custom_tools),
            f_weekly_reports: on(s.features.weekly_reports),
        }
    }

    /// The gym patch (settings validated later by `GymPatch::validate`), or form-level errors.
    /// `current` is the stored settings (none when they are corrupt): what the form does not
    /// show (`voice`) is carried over unchanged, never reset.
    fn to_patch(
        &self,
        current: Option<&GymSettings>,
    ) -> Result<GymPatch, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let mut hours = serde_json::Map::new();
        for (day, text) in [
            ("mon", &self.hours_mon),
            ("tue", &self.hours_tue),
            ("wed", &self.hours_wed),
            ("thu", &self.hours_thu),
            ("fri", &self.hours_fri),
            ("sat", &self.hours_sat),
            ("sun", &self.hours_sun),
        ] {
            let mut slots = Vec::new();
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.split_once('-') {
                    Some((o, c)) => {
                        slots.push(serde_json::json!({"open": o.trim(), "close": c.trim()}))
                    }
                    None => {
                        errors.insert(format!("hours_{day}"), "HH:MM-HH:MM, HH:MM-HH:MM".into());
                    }
                }
            }
            hours.insert(day.into(), serde_json::Value::Array(slots));
        }
        let cap: u64 = match self.voice_session_cap.trim().parse() {
            Ok(n) => n,
            Err(_) => {
                errors.insert("voice_session_cap".into(), "1-50".into());
                0
            }
        };
        let budget = match self.budget.trim().replace(',', ".").parse::<f64>() {
            Ok(d) if d.is_finite() && d >= 0.0 => (d * 1e6).round() as i64,
            _ => {
                errors.insert("budget".into(), "≥ 0".into());
                0
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let instructions = Some(self.instructions.trim()).filter(|s| !s.is_empty());
        let voice = current.map(|c| c.voice).unwrap_or_default();
        let settings = serde_json::json!({
            "voice": voice,
            "opening_hours": hours,
            "persona": { "name": self.persona_name, "voice": self.voice, "tone": self.tone, "instructions": instructions },
            "voice_session_cap": cap,
            "monthly_ai_budget_micros": budget,
            "features": {
                "voice": self.f_voice.is_some(),
                "transcripts": self.f_transcripts.is_some(),
                "class_schedule": self.f_class_schedule.is_some(),
                "knowledge_base": self.f_knowledge_base.is_some(),
                "custom_tools": self.f_custom_tools.is_some(),
                "weekly_reports": self.f_weekly_reports.is_some(),
            }
        });
        Ok(GymPatch {
            name: Some(self.name.clone()),
            address: Some(Some(self.address.clone()).filter(|a| !a.trim().is_empty())),
            timezone: Some(self.timezone.clone()),
            locale: Locale::parse(&self.locale),
            settings: Some(settings),
        })
    }
}

/// The typed value of one settings field (for the template).
pub fn settings_value<'a>(f: &'a SettingsForm, field: &str) -> &'a str {
    match field {
        "name" => &f.name,
        "address" => &f.address,
        "timezone" => &f.timezone,
        "persona_name" => &f.persona_name,
        "instructions" => &f.instructions,
        "voice_session_cap" => &f.voice_session_cap,
        "budget" => &f.budget,
        "hours_mon" => &f.hours_mon,
        "hours_tue" => &f.hours_tue,
        "hours_wed" => &f.hours_wed,
        "hours_thu" => &f.hours_thu,
        "hours_fri" => &f.hours_fri,
        "hours_sat" => &f.hours_sat,
        "hours_sun" => &f.hours_sun,
        "voice" => &f.voice,
        "tone" => &f.tone,
        "locale" => &f.locale,
        _ => "",
    }
}

/// Whether a feature checkbox is ticked (for the template).
pub fn feature_on(f: &SettingsForm, field: &str) -> bool {
    match field {
        "f_voice" => f.f_voice.is_some(),
        "f_transcripts" => f.f_transcripts.is_some(),
        "f_class_schedule" => f.f_class_schedule.is_some(),
        "f_knowledge_base" => f.f_knowledge_base.is_some(),
        "f_custom_tools" => f.f_custom_tools.is_some(),
        "f_weekly_reports" => f.f_weekly_reports.is_some(),
        _ => false,
    }
}

/// Maps a validation path (`settings.persona.name`) to its form field.
fn settings_field(path: &str) -> String {
    let p = path.trim_start_matches("settings.");
    if let Some(day) = p.strip_prefix("opening_hours.") {
        return format!("hours_{}", day.split('[').next().unwrap_or_default());
    }
    match p {
        "persona.name" => "persona_name".into(),
        "persona.instructions" => "instructions".into(),
        "monthly_ai_budget_micros" => "budget".into(),
        "settings" => "persona_name".into(),
        other => other.to_string(),
    }
}

async fn gym_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<GymQuery>,
) -> PageResult {
    let (_, c) = gym_scope(&state, &u, gym, Action::GymRead).await?;
    let can_edit = u
        .caller
        .gym(&state, gym, Action::GymSettingsUpdate)
        .await
        .is_ok();
    // An unknown period shows the default one rather than an error page.
    let period = jarvis_app::overview::Period::parse(&q.period).unwrap_or_default();
    let overview = match (
        &c.gym,
        u.caller.gym(&state, gym, jarvis_app::voice::READ).await,
    ) {
        (Some(g), Ok(scope)) => Some(
            super::overview::build(&state, c.t, &scope, g, period)
                .await
                .in_page(c.t)?,
        ),
        _ => None,
    };
    render_gym(
        &u,
        c,
        None,
        can_edit,
        None,
        BTreeMap::new(),
        StatusCode::OK,
        overview,
    )
}

#[allow(clippy::too_many_arguments)]
fn render_gym(
    u: &PageUser,
    c: Chrome,
    error: Option<String>,
    can_edit: bool,
    form: Option<SettingsForm>,
    errors: BTreeMap<String, String>,
    status: StatusCode,
    overview: Option<super::overview::OverviewView>,
) -> PageResult {
    let Some(g) = c.gym.clone() else {
        return Err(PageError::new(c.t, ApiError::not_found("gym")));
    };
    let can_approve = u
        .caller
        .franchise(g.franchise_id, Action::GymApprove)
        .is_ok();
    let can_budget = u
        .caller
        .authorize(
            Action::GymBudgetWrite,
            &jarvis_core::authz::Resource::Gym(g.franchise_id, g.id),
        )
        .is_ok();
    let stored = jarvis_app::gyms::settings_of(&g);
    let misconfigured = stored.is_none();
    let settings = stored.unwrap_or_default();
    let form = form.unwrap_or_else(|| SettingsForm::of(&g));
    Ok(page(
        GymPage {
            c,
            g,
            can_approve,
            error,
            settings,
            misconfigured,
            can_edit,
            can_budget,
            form,
            errors,
            overview,
        },
        status,
    ))
}

async fn gym_settings(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::GymSettingsUpdate).await?;
    let t = c.t;
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    // Settings the form does not show (voice) are carried over from what is stored.
    let current = c.gym.as_ref().and_then(jarvis_app::gyms::settings_of);
    let errors = match form.to_patch(current.as_ref()) {
        // The same service as the API: a manager's change to the spending limits is refused,
        // next to the field.
        Ok(patch) => match jarvis_app::gyms::update(
            state.store.as_ref(),
            &u.caller.principal,
            &scope,
            &u.caller.actor,
            gym,
            patch,
        )
        .await
        {
            Ok(_) => {
                state.kiosk_tokens.forget_gym(gym);
                return Ok(Redirect::to(&format!("/app/gyms/{gym}")).into_response());
            }
            Err(AppError::Store(e @ jarvis_store::StoreError::Conflict { .. })) => {
                let (field, msg) = store_message(t, &e);
                BTreeMap::from([(field, msg)])
            }
            Err(AppError::FieldForbidden { fields, message }) => {
                status = StatusCode::FORBIDDEN;
                fields
                    .iter()
                    .map(|f| {
                        let fe = FieldError::new(*f, "forbidden", message.clone());
                        (settings_field(f), field_message(t, &fe))
                    })
                    .collect()
            }
            Err(AppError::Invalid(v)) => {
                let mut m = BTreeMap::new();
                for e in v.0 {
                    m.entry(settings_field(&e.field))
                        .or_insert_with(|| field_message(t, &e));
                }
                m
            }
            Err(e) => return Err(PageError::new(t, e)),
        },
        Err(m) => m,
    };
    render_gym(&u, c, None, true, Some(form), errors, status, None)
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
    #[serde(default)]
    reason: String,
    /// The status the page showed when the reviewer decided (compare-and-set).
    #[serde(default)]
    from: String,
}

async fn gym_status(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<StatusForm>,
) -> PageResult {
    let Some(to) = GymStatus::parse(&f.status) else {
        let e = ApiError::bad_request("status", "unknown status");
        return Err(PageError::new(Tr(u.locale), e));
    };
    let (scope, c) = gym_scope(&state, &u, gym, jarvis_app::gyms::review_action(to)).await?;
    let from = GymStatus::parse(&f.from).or(c.gym.as_ref().map(|g| g.status));
    match jarvis_app::gyms::review(
        state.store.as_ref(),
        &scope,
        &u.caller.actor,
        gym,
        from,
        to,
        Some(f.reason),
    )
    .await
    {
        Ok(_) => {
            // A suspended (or archived, rejected) gym's kiosks stop on their next request.
            state.kiosk_tokens.forget_gym(gym);
            Ok(Redirect::to(&format!("/app/gyms/{gym}")).into_response())
        }
        Err(AppError::Store(
            e @ (jarvis_store::StoreError::Conflict { .. }
            | jarvis_store::StoreError::Invalid { .. }),
        )) => {
            let status = if matches!(e, jarvis_store::StoreError::Conflict { .. }) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let (_, msg) = store_message(c.t, &e);
            render_gym(&u, c, Some(msg), false, None, BTreeMap::new(), status, None)
        }
        Err(e) => Err(PageError::new(c.t, e)),
    }
}
