//! `/app/usage` (usage vs limits, bars) and `/app/ops/costs` (metered vs billed per day),
//! French and English.

use crate::auth::web::PageUser;
use crate::state::AppState;
use crate::web::chrome::{Chrome, InPage, PageResult};
use crate::web::i18n::{Msg, Tr};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use jarvis_app::usage::{format_value, percent};
use jarvis_core::authz::{Action, Resource};
use jarvis_core::cost::pico_to_micro;
use jarvis_store::{UsageMetric, UsageScope};
use time::OffsetDateTime;

/// Routes of these pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/usage", get(usage_page))
        .route("/app/ops/costs", get(costs_page))
}

/// The label of a metric.
fn metric_msg(m: UsageMetric) -> Msg {
    match m {
        UsageMetric::Rows => Msg::MetricRows,
        UsageMetric::DbBytes => Msg::MetricDbBytes,
        UsageMetric::ApiRequests => Msg::MetricApiRequests,
        UsageMetric::StorageBytes => Msg::MetricStorage,
        UsageMetric::VoiceMinutes => Msg::MetricVoiceMinutes,
        UsageMetric::AiCostMicros => Msg::MetricAiCost,
    }
}

/// One bar of the usage page.
pub struct Bar {
    /// What.
    pub label: Msg,
    /// Used, with its unit.
    pub used: String,
    /// The limit with its unit, or `None` when unlimited.
    pub limit: Option<String>,
    /// Percent of the limit (0 when unlimited).
    pub pct: u32,
    /// The bar's fill, capped at 100.
    pub fill: u32,
}

/// One tenant's block of bars.
pub struct TenantBlock {
    /// Heading: the franchise's name, or `None` for the platform.
    pub franchise: Option<String>,
    /// When measured.
    pub measured_at: String,
    /// Its bars.
    pub bars: Vec<Bar>,
}

/// One recent alert.
pub struct AlertLine {
    /// When.
    pub at: String,
    /// Whose: the franchise's name, or `None` for the platform.
    pub franchise: Option<String>,
    /// What.
    pub label: Msg,
    /// 80 or 100.
    pub threshold: u8,
    /// The month, as the page's language writes it (`nov. 2026`).
    pub period: String,
    /// Value then, with its unit.
    pub value: String,
}

#[derive(Template)]
#[template(path = "gmk/usage.html")]
struct UsagePage {
    c: Chrome,
    tenants: Vec<TenantBlock>,
    alerts: Vec<AlertLine>,
}

async fn usage_page(State(state): State<AppState>, u: PageUser) -> PageResult {
    let t = Tr(u.locale);
    let scope = u.caller.list(Action::FranchiseUpdate).in_page(t)?;
    let view = jarvis_app::usage::view(state.store.as_ref(), &scope)
        .await
        .in_page(t)?;
    let c = Chrome::plain(&u);
    let name_of = |s: UsageScope| -> Option<String> {
        match s {
            UsageScope::Platform => None,
            UsageScope::Franchise(f) => Some(
                view.tenants
                    .iter()
                    .find(|x| x.scope == s)
                    .map_or_else(|| f.to_string(), |x| x.name.clone()),
            ),
        }
    };
    let tenants = view
        .tenants
        .iter()
        .map(|tu| TenantBlock {
            franchise: name_of(tu.scope),
            measured_at: tu
                .metrics
                .iter()
                .map(|m| m.taken_at)
                .max()
                .map_or_else(|| "—".into(), |at| c.f.at(&at)),
            bars: tu
                .metrics
                .iter()
                .map(|m| {
                    let pct = percent(m.value, m.limit);
                    Bar {
                        label: metric_msg(m.metric),
                        used: format_value(&c.f, m.metric, m.value),
                        limit: (m.limit > 0).then(|| format_value(&c.f, m.metric, m.limit)),
                        pct,
                        fill: pct.min(100),
                    }
                })
                .collect(),
        })
        .collect();
    let alerts = view
        .alerts
        .iter()
        .map(|a| AlertLine {
            at: c.f.at(&a.created_at),
            franchise: name_of(a.alert.scope),
            label: metric_msg(a.alert.metric),
            threshold: a.alert.threshold.percent(),
            period: c.f.month(&a.alert.period.first_day()),
            value: format_value(&c.f, a.alert.metric, a.alert.value),
        })
        .collect();
    Ok(page(UsagePage { c, tenants, alerts }, StatusCode::OK))
}

/// One day of the reconciliation page.
pub struct CostLine {
    /// The day, ISO (`2026-12-01`), for links and tests.
    pub iso: String,
    /// The day, as the page's language writes it.
    pub day: String,
    /// Metered, in dollars.
    pub metered: String,
    /// Billed, in dollars, once read.
    pub billed: Option<String>,
    /// Metered minus billed, signed, in dollars.
    pub difference: Option<String>,
    /// Whether over the margin.
    pub over: bool,
    /// Whether an alert went out.
    pub alerted: bool,
}

#[derive(Template)]
#[template(path = "gmk/costs.html")]
struct CostsPage {
    c: Chrome,
    has_key: bool,
    margin: u32,
    days: Vec<CostLine>,
}

async fn costs_page(State(state): State<AppState>, u: PageUser) -> PageResult {
    let t = Tr(u.locale);
    u.caller
        .authorize(Action::PlatformAdmin, &Resource::Platform)
        .in_page(t)?;
    let policy = state.config.cost_reconcile;
    let days = jarvis_app::costs::recent(
        state.store.as_ref(),
        policy.days.max(7) + 7,
        OffsetDateTime::now_utc(),
    )
    .await
    .in_page(t)?;
    let c = Chrome::plain(&u);
    let usd = |m: u64| c.f.usd_cents(&m);
    let days = days
        .iter()
        .map(|d| CostLine {
            iso: d.day.to_string(),
            day: c.f.day(&d.day),
            metered: usd(pico_to_micro(d.metered_pico)),
            billed: d.billed_micros.map(usd),
            difference: jarvis_app::costs::difference_micros(d).map(|diff| {
                let sign = if diff < 0 { "−" } else { "+" };
                let abs = u64::try_from(diff.unsigned_abs()).unwrap_or(u64::MAX);
                format!("{sign}{}", usd(abs))
            }),
            over: jarvis_app::costs::over_margin(d, policy.margin_percent),
            alerted: d.alerted,
        })
        .collect();
    Ok(page(
        CostsPage {
            c,
            has_key: state.config.openai_admin_key.is_some(),
            margin: policy.margin_percent,
            days,
        },
        StatusCode::OK,
    ))
}
