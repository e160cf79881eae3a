//! Dashboard pages of voice calls: a gym's conversations (live calls with their running cost
//! and a hang-up button, the month's spend and budget alerts, follow-ups the assistant handed
//! to staff), the session history with filters, one session (transcript shown escaped, tool
//! calls, cost per turn, end reason, latency), and the model prices with the platform's budget
//! for super admins. Handlers parse, authorize, call `jarvis_app::voice` and render.

use crate::auth::web::{CsrfForm, PageUser};
use crate::state::AppState;
use crate::web::chrome::{
    Chrome, ConfirmPage, Empty, InPage, PageError, PageResult, Pager, SortHeads, field_error,
    gym_scope, pager, query_part,
};
use crate::web::i18n::{Msg, Tr, field_message};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use jarvis_app::AppError;
use jarvis_app::analysis;
use jarvis_app::voice::{self, HistoryQuery, Overview, PRICE_FIELDS, PriceForm, SessionDetail};
use jarvis_core::authz::Resource;
use jarvis_core::cost::BudgetPeriod;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::SessionSort;
use serde::Deserialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Page routes of voice calls.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/gyms/{gym}/voice", get(overview_page))
        .route("/app/gyms/{gym}/voice/sessions", get(history_page))
        .route("/app/gyms/{gym}/voice/sessions/{id}", get(session_page))
        .route(
            "/app/gyms/{gym}/voice/sessions/{id}/hangup",
            get(hangup_confirm).post(hangup_submit),
        )
        .route(
            "/app/gyms/{gym}/voice/follow-ups/{id}/resolve",
            post(follow_up_resolve),
        )
        .route("/app/voice/prices", get(prices_page).post(price_add))
        .route("/app/voice/platform", post(platform_update))
}

/// Micro-dollars as `$1.234567` (exact: costs are tiny per turn).
pub fn usd(micros: u64) -> String {
    format!("${}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Seconds as `m:ss`.
pub fn mmss(secs: &i64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// Milliseconds, or a dash.
pub fn ms(v: &Option<u32>) -> String {
    v.map_or_else(|| "—".into(), |v| v.to_string())
}

/// A JSON value as compact text, or a dash (shown escaped by the template).
pub fn json_text(v: &Option<serde_json::Value>) -> String {
    v.as_ref().map_or_else(|| "—".into(), |v| v.to_string())
}

/// Price in pico-USD per token as dollars per 1M tokens (exact, trailing zeros dropped).
pub fn per_million(pico: &u64) -> String {
    let whole = pico / 1_000_000;
    let frac = pico % 1_000_000;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{frac:06}")
            .trim_end_matches('0')
            .to_string()
    }
}

#[derive(Template)]
#[template(path = "gmk/voice.html")]
struct OverviewPage {
    c: Chrome,
    o: Overview,
    can_hang_up: bool,
    can_resolve: bool,
    spend: String,
    budget: Option<String>,
}

async fn overview_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, voice::READ).await?;
    let o = voice::overview(state.store.as_ref(), &scope, gym, OffsetDateTime::now_utc())
        .await
        .in_page(c.t)?;
    let can_hang_up = u.caller.gym(&state, gym, voice::HANG_UP).await.is_ok();
    let can_resolve = u.caller.gym(&state, gym, voice::RESOLVE).await.is_ok();
    let budget = c
        .gym
        .as_ref()
        .and_then(jarvis_app::gyms::settings_of)
        .map(|s| {
            c.f.usd_micros(&u64::try_from(s.monthly_ai_budget_micros).unwrap_or(0))
        });
    let spend = c.f.usd_pico(&o.spend.cost_pico);
    Ok(page(
        OverviewPage {
            c,
            o,
            can_hang_up,
            can_resolve,
            spend,
            budget,
        },
        StatusCode::OK,
    ))
}

/// The history's query string (every field optional text, so a bad value is a form error
/// rather than a bare 400).
#[derive(Deserialize, Default)]
struct HistoryParams {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    badge: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    offset: String,
}

/// Whether the history is narrowed by a filter (the empty state then says no session
/// matches, rather than that there is none yet).
pub fn filtered(q: &HistoryQuery) -> bool {
    [&q.from, &q.to, &q.badge, &q.reason]
        .iter()
        .any(|v| !v.trim().is_empty())
}

#[derive(Template)]
#[template(path = "gmk/voice_sessions.html")]
struct HistoryPage {
    c: Chrome,
    q: HistoryQuery,
    rows: Vec<voice::SessionRow>,
    /// The analysis columns of each row, in the order of `rows`.
    cells: Vec<AnalysisCells>,
    /// The gym's custom analysis fields (one column each).
    fields: Vec<AnalysisField>,
    pager: Pager,
    /// The sortable column headers.
    heads: SortHeads,
    errors: BTreeMap<String, String>,
    reasons: Vec<&'static str>,
}

/// A conversation's analysis as table cells, already in the page's language.
pub struct AnalysisCells {
    /// `done` / `failed` / empty (not analysed).
    pub status: &'static str,
    /// Tone (score).
    pub sentiment: String,
    /// 1–5.
    pub satisfaction: String,
    /// Follow-up needed (and why).
    pub follow_up: String,
    /// Cancellation intent.
    pub cancel: String,
    /// One cell per custom field, in the fields' order.
    pub custom: Vec<String>,
}

fn custom_cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "—".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// The cells of one analysis (or dashes when there is none).
pub fn analysis_cells(
    t: Tr,
    a: Option<&SessionAnalysis>,
    fields: &[AnalysisField],
) -> AnalysisCells {
    let dash = || "—".to_string();
    let Some(a) = a else {
        return AnalysisCells {
            status: "",
            sentiment: dash(),
            satisfaction: dash(),
            follow_up: dash(),
            cancel: dash(),
            custom: fields.iter().map(|_| dash()).collect(),
        };
    };
    if a.status == AnalysisStatus::Failed {
        return AnalysisCells {
            status: "failed",
            sentiment: t.get(Msg::AnFailed).to_owned(),
            satisfaction: dash(),
            follow_up: dash(),
            cancel: dash(),
            custom: fields.iter().map(|_| dash()).collect(),
        };
    }
    let yes_no = |b: Option<bool>| b.map_or_else(dash, |b| t.yes_no(&b).to_owned());
    AnalysisCells {
        status: "done",
        sentiment: match (a.sentiment, a.sentiment_score) {
            (Some(s), Some(x)) => format!("{} ({x:+.2})", t.sentiment(&s)),
            (Some(s), None) => t.sentiment(&s).to_owned(),
            _ => dash(),
        },
        satisfaction: a.satisfaction.map_or_else(dash, |n| format!("{n}/5")),
        follow_up: match (a.follow_up, &a.follow_up_reason) {
            (Some(true), Some(r)) => format!("{} — {r}", t.yes_no(&true)),
            (f, _) => yes_no(f),
        },
        cancel: yes_no(a.cancellation_intent),
        custom: fields
            .iter()
            .map(|f| match a.custom.get(&f.name) {
                Some(serde_json::Value::Bool(b)) => t.yes_no(b).to_owned(),
                v => custom_cell(v),
            })
            .collect(),
    }
}

async fn history_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(p): Query<HistoryParams>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, voice::READ).await?;
    let q = HistoryQuery {
        from: p.from,
        to: p.to,
        badge: p.badge,
        reason: p.reason,
        sort: SessionSort::parse(&p.sort).as_str().to_string(),
    };
    let offset = p.offset.trim().parse::<u64>().ok();
    let req = PageRequest::new(Some(50), offset).unwrap_or_default();
    let mut errors = BTreeMap::new();
    let (page_rows, status) = match voice::history(
        state.store.as_ref(),
        &scope,
        gym,
        &q,
        req,
        OffsetDateTime::now_utc(),
    )
    .await
    {
        Ok(p) => (p, StatusCode::OK),
        Err(AppError::Invalid(v)) => {
            for e in &v.0 {
                errors.insert(e.field.clone(), field_message(c.t, e));
            }
            (
                Page {
                    items: Vec::new(),
                    total: 0,
                    total_capped: false,
                    limit: req.limit,
                    offset: 0,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => return Err(PageError::new(c.t, e)),
    };
    let extra = [
        query_part("from", &q.from),
        query_part("to", &q.to),
        query_part("badge", &q.badge),
        query_part("reason", &q.reason),
    ]
    .concat();
    let base = format!("/app/gyms/{gym}/voice/sessions");
    let sort = SessionSort::parse(&q.sort).as_str();
    let pager = pager(
        &base,
        &[extra.as_str(), &query_part("sort", sort)].concat(),
        &page_rows,
    );
    let heads = SortHeads::new(&base, &extra, sort);
    let ids: Vec<VoiceSessionId> = page_rows.items.iter().map(|r| r.session.id).collect();
    let analyses = analysis::of_sessions(state.store.as_ref(), &scope, gym, &ids)
        .await
        .in_page(c.t)?;
    let fields = analysis::fields(state.store.as_ref(), &scope, gym)
        .await
        .in_page(c.t)?;
    let cells = page_rows
        .items
        .iter()
        .map(|r| analysis_cells(c.t, analyses.get(&r.session.id), &fields))
        .collect();
    Ok(page(
        HistoryPage {
            c,
            q,
            cells,
            fields,
            rows: page_rows.items,
            pager,
            heads,
            errors,
            reasons: EndReason::ALL.iter().map(|r| r.as_str()).collect(),
        },
        status,
    ))
}

#[derive(Template)]
#[template(path = "gmk/voice_session.html")]
struct SessionPage {
    c: Chrome,
    d: SessionDetail,
    can_hang_up: bool,
    can_resolve: bool,
    analysis: Option<SessionAnalysis>,
    cells: AnalysisCells,
    fields: Vec<AnalysisField>,
    transcripts_kept: bool,
}

async fn session_page(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, VoiceSessionId)>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, voice::READ).await?;
    let d = voice::session(
        state.store.as_ref(),
        &scope,
        gym,
        id,
        OffsetDateTime::now_utc(),
    )
    .await
    .in_page(c.t)?;
    let can_hang_up = u.caller.gym(&state, gym, voice::HANG_UP).await.is_ok();
    let can_resolve = u.caller.gym(&state, gym, voice::RESOLVE).await.is_ok();
    let analysis = analysis::of_session(state.store.as_ref(), &scope, gym, id)
        .await
        .in_page(c.t)?;
    let fields = analysis::fields(state.store.as_ref(), &scope, gym)
        .await
        .in_page(c.t)?;
    let cells = analysis_cells(c.t, analysis.as_ref(), &fields);
    let transcripts_kept = match &c.gym {
        Some(g) => analysis::transcripts_kept(g),
        None => false,
    };
    Ok(page(
        SessionPage {
            c,
            d,
            can_hang_up,
            can_resolve,
            analysis,
            cells,
            fields,
            transcripts_kept,
        },
        StatusCode::OK,
    ))
}

async fn hangup_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, VoiceSessionId)>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, voice::HANG_UP).await?;
    let d = voice::session(
        state.store.as_ref(),
        &scope,
        gym,
        id,
        OffsetDateTime::now_utc(),
    )
    .await
    .in_page(c.t)?;
    let subject = format!(
        "{} — {} — {}",
        d.row.member.clone().unwrap_or_else(|| "—".into()),
        d.row.kiosk.clone().unwrap_or_else(|| "—".into()),
        c.f.at(&d.row.session.started_at)
    );
    let question = c.t.get(Msg::HangUpConfirm);
    Ok(page(
        ConfirmPage {
            c,
            question,
            subject,
            action: format!("/app/gyms/{gym}/voice/sessions/{id}/hangup"),
            back: format!("/app/gyms/{gym}/voice"),
        },
        StatusCode::OK,
    ))
}

async fn hangup_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, VoiceSessionId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, voice::HANG_UP).await?;
    // Not live any more is fine: the call ended meanwhile; the session page says how.
    voice::hang_up(state.store.as_ref(), &scope, &u.caller.actor, gym, id)
        .await
        .in_page(c.t)?;
    Ok(Redirect::to(&format!("/app/gyms/{gym}/voice/sessions/{id}")).into_response())
}

#[derive(Deserialize)]
struct ResolveForm {
    #[serde(default)]
    session: String,
}

async fn follow_up_resolve(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, FollowUpId)>,
    CsrfForm(f): CsrfForm<ResolveForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, voice::RESOLVE).await?;
    // Reading the gym's calls is needed too: the follow-up lives on the voice pages.
    u.caller.gym(&state, gym, voice::READ).await.in_page(c.t)?;
    voice::resolve_follow_up(state.store.as_ref(), &scope, &u.caller.actor, gym, id)
        .await
        .in_page(c.t)?;
    // Back to the session page it was resolved from, else the gym's voice page.
    let back = match f.session.trim().parse::<VoiceSessionId>() {
        Ok(s) => format!("/app/gyms/{gym}/voice/sessions/{s}"),
        Err(_) => format!("/app/gyms/{gym}/voice"),
    };
    Ok(Redirect::to(&back).into_response())
}

#[derive(Template)]
#[template(path = "gmk/model_prices.html")]
struct PricesPage {
    c: Chrome,
    prices: Vec<ModelPriceEntry>,
    platform: PlatformSettings,
    platform_spend: String,
    period: BudgetPeriod,
    form: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    platform_form: BTreeMap<String, String>,
    platform_errors: BTreeMap<String, String>,
    saved: bool,
    fields: [&'static str; 9],
}

/// A form value for the template, empty when absent.
pub fn form_value<'a>(form: &'a BTreeMap<String, String>, field: &str) -> &'a str {
    form.get(field).map(String::as_str).unwrap_or("")
}

fn platform_chrome(u: &PageUser) -> Result<(Scope, Chrome), PageError> {
    let t = Tr(u.locale);
    let scope = u
        .caller
        .authorize(voice::PLATFORM, &Resource::Platform)
        .in_page(t)?;
    Ok((scope, Chrome::plain(u)))
}

#[allow(clippy::too_many_arguments)]
async fn render_prices(
    state: &AppState,
    c: Chrome,
    form: BTreeMap<String, String>,
    errors: BTreeMap<String, String>,
    platform_form: Option<BTreeMap<String, String>>,
    platform_errors: BTreeMap<String, String>,
    saved: bool,
    status: StatusCode,
) -> PageResult {
    let prices = state.store.list_model_prices().await.in_page(c.t)?;
    let platform = state.store.platform_settings().await.in_page(c.t)?;
    let period = BudgetPeriod::of(OffsetDateTime::now_utc());
    let spend = state
        .store
        .platform_month_to_date(period)
        .await
        .in_page(c.t)?;
    let platform_form = platform_form.unwrap_or_else(|| {
        BTreeMap::from([
            (
                "monthly_budget".to_string(),
                usd(u64::try_from(platform.monthly_budget_micros).unwrap_or(0))
                    .trim_start_matches('$')
                    .to_string(),
            ),
            (
                "voice_session_cap".to_string(),
                platform.voice_session_cap.to_string(),
            ),
            (
                "realtime_model".to_string(),
                platform.realtime_model.clone(),
            ),
            (
                "transcription_model".to_string(),
                platform.transcription_model.clone(),
            ),
        ])
    });
    let platform_spend = c.f.usd_pico(&spend.cost_pico);
    Ok(page(
        PricesPage {
            c,
            prices,
            platform,
            platform_spend,
            period,
            form,
            errors,
            platform_form,
            platform_errors,
            saved,
            fields: PRICE_FIELDS,
        },
        status,
    ))
}

async fn prices_page(State(state): State<AppState>, u: PageUser) -> PageResult {
    let (_, c) = platform_chrome(&u)?;
    render_prices(
        &state,
        c,
        BTreeMap::new(),
        BTreeMap::new(),
        None,
        BTreeMap::new(),
        false,
        StatusCode::OK,
    )
    .await
}

async fn price_add(
    State(state): State<AppState>,
    u: PageUser,
    CsrfForm(f): CsrfForm<BTreeMap<String, String>>,
) -> PageResult {
    let (scope, c) = platform_chrome(&u)?;
    let value = |k: &str| f.get(k).cloned().unwrap_or_default();
    let form = PriceForm {
        model: value("model"),
        effective_from: value("effective_from"),
        prices: PRICE_FIELDS.iter().map(|k| (*k, value(k))).collect(),
    };
    match voice::add_model_price(state.store.as_ref(), &scope, &u.caller.actor, &form).await {
        Ok(_) => Ok(Redirect::to("/app/voice/prices").into_response()),
        Err(AppError::Invalid(v)) => {
            let errors =
                v.0.iter()
                    .map(|e| {
                        (
                            e.field.trim_start_matches("price.").to_string(),
                            field_message(c.t, e),
                        )
                    })
                    .collect();
            let mut kept = f;
            kept.remove("csrf");
            render_prices(
                &state,
                c,
                kept,
                errors,
                None,
                BTreeMap::new(),
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(PageError::new(c.t, e)),
    }
}

async fn platform_update(
    State(state): State<AppState>,
    u: PageUser,
    CsrfForm(f): CsrfForm<BTreeMap<String, String>>,
) -> PageResult {
    let (scope, c) = platform_chrome(&u)?;
    let value = |k: &str| f.get(k).cloned().unwrap_or_default();
    let hard_stop = f.contains_key("hard_stop");
    let form = voice::PlatformForm {
        budget_usd: value("monthly_budget"),
        cap: value("voice_session_cap"),
        hard_stop,
        realtime_model: value("realtime_model"),
        transcription_model: value("transcription_model"),
    };
    match voice::set_platform_limits(state.store.as_ref(), &scope, &u.caller.actor, &form).await {
        Ok(_) => {
            render_prices(
                &state,
                c,
                BTreeMap::new(),
                BTreeMap::new(),
                None,
                BTreeMap::new(),
                true,
                StatusCode::OK,
            )
            .await
        }
        Err(AppError::Invalid(v)) => {
            let errors =
                v.0.iter()
                    .map(|e| {
                        let field = match e.field.as_str() {
                            "monthly_budget_micros" => "monthly_budget".to_string(),
                            other => other.to_string(),
                        };
                        (field, field_message(c.t, e))
                    })
                    .collect();
            let mut kept = f;
            kept.remove("csrf");
            render_prices(
                &state,
                c,
                BTreeMap::new(),
                BTreeMap::new(),
                Some(kept),
                errors,
                false,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(PageError::new(c.t, e)),
    }
}

/// For templates: the inline error of a field.
pub fn err<'a>(errors: &'a BTreeMap<String, String>, field: &str) -> &'a str {
    field_error(errors, field)
}
