//! The overview section of a gym's page: the period selector (links, no script), the tiles and
//! the charts, formatted in the page's language from `jarvis_app::overview`. Each tile links to
//! the list behind it.

use crate::areas::voice::pages::mmss;
use crate::state::AppState;
use crate::web::charts::Chart;
use crate::web::format::Fmt;
use crate::web::i18n::{Msg, Tr};
use jarvis_app::overview::{self, Overview, Period};
use jarvis_core::Scope;
use jarvis_core::cost::pico_to_micro;
use jarvis_core::model::Gym;
use time::OffsetDateTime;

/// One link of the period selector.
pub struct PeriodLink {
    /// Where it goes (this page with `?period=`).
    pub href: String,
    /// Its text.
    pub label: Msg,
    /// Whether it is the period shown.
    pub current: bool,
}

/// The overview as the template shows it.
pub struct OverviewView {
    /// The period selector.
    pub periods: Vec<PeriodLink>,
    /// The month the cost tile counts, as the page's language writes it.
    pub cost_month: String,
    /// First and last day (UTC days, as the rollups count them), formatted.
    pub first: String,
    /// Last UTC day.
    pub last: String,
    /// The numbers.
    pub o: Overview,
    /// Average duration as `m:ss`, or a dash.
    pub avg_duration: String,
    /// Average satisfaction, or a dash.
    pub satisfaction: String,
    /// Average sentiment, or a dash.
    pub sentiment: String,
    /// Spent this month.
    pub spent: String,
    /// The monthly budget, when set.
    pub budget: Option<String>,
    /// Projected month-end spend.
    pub projected: String,
    /// The projection passes the budget.
    pub over_budget: bool,
    /// p50 / p95 heard latency.
    pub latency: String,
    /// Conversations per day (inline SVG and its table, escaped).
    pub chart_conversations: String,
    /// Sentiment per analysed day.
    pub chart_sentiment: String,
    /// Conversations by topic (empty without topics).
    pub chart_topics: String,
    /// The conversations list of the period.
    pub sessions_href: String,
    /// The open follow-ups.
    pub follow_ups_href: String,
    /// The churn list.
    pub churn_href: String,
    /// The kiosks list.
    pub kiosks_href: String,
    /// The voice page (month spend).
    pub voice_href: String,
}

/// A decimal in the page's language (`3,5` in French).
pub fn decimal(t: Tr, v: Option<f64>, places: usize) -> String {
    match v {
        Some(v) if v.is_finite() => Fmt::new(t.0, None).dec(&v, &places),
        _ => "—".into(),
    }
}

/// Builds the overview of `gym` for `period` (the caller may read its reports in `scope`).
pub async fn build(
    state: &AppState,
    t: Tr,
    scope: &Scope,
    gym: &Gym,
    period: Period,
) -> Result<OverviewView, jarvis_app::AppError> {
    let now = OffsetDateTime::now_utc();
    let budget = jarvis_app::gyms::settings_of(gym)
        .map(|s| u64::try_from(s.monthly_ai_budget_micros).unwrap_or(0));
    let offline_after = time::Duration::try_from(state.config.kiosk_offline_after)
        .unwrap_or(time::Duration::minutes(2));
    let o = overview::gym(
        state.store.as_ref(),
        scope,
        gym.id,
        period,
        budget,
        offline_after,
        now,
    )
    .await?;
    let base = format!("/app/gyms/{}", gym.id);
    let periods = Period::ALL
        .into_iter()
        .map(|p| PeriodLink {
            href: format!("{base}?period={}#overview", p.as_str()),
            label: match p {
                Period::Today => Msg::PeriodToday,
                Period::Week => Msg::PeriodWeek,
                Period::Month => Msg::PeriodMonth,
            },
            current: p == period,
        })
        .collect();
    let s = &o.sessions;
    let sentiment: Vec<(String, f64)> = s
        .per_day
        .iter()
        .filter_map(|d| d.sentiment.map(|v| (d.day.to_string(), (v + 1.0) * 50.0)))
        .collect();
    let chart_conversations = conversations_chart(t, s);
    let chart_sentiment = if sentiment.is_empty() {
        String::new()
    } else {
        Chart {
            title: t.get(Msg::ChartSentiment),
            x_label: t.get(Msg::Day),
            y_label: t.get(Msg::SentimentIndex),
            points: &sentiment,
        }
        .line()
    };
    let chart_topics = topics_chart(t, &o.sessions);
    let spent_micros = pico_to_micro(o.cost.spent_pico);
    let projected_micros = pico_to_micro(o.cost.projected_pico);
    let avg_duration = s
        .avg_duration_secs
        .as_ref()
        .map_or_else(|| "—".into(), mmss);
    let f = Fmt::new(t.0, None);
    let usd = |m: u64| f.usd_cents(&m);
    let (first, last) = (f.day(&o.first), f.day(&o.last));
    Ok(OverviewView {
        periods,
        cost_month: f.month(&o.cost.period.first_day()),
        sessions_href: format!("{base}/voice/sessions?from={}&to={}", o.first, o.last),
        follow_ups_href: format!("{base}/voice#follow-ups"),
        churn_href: format!("{base}/churn?level=high"),
        kiosks_href: format!("{base}/kiosks"),
        voice_href: format!("{base}/voice"),
        first,
        last,
        avg_duration,
        satisfaction: decimal(t, s.satisfaction, 1),
        sentiment: decimal(t, s.sentiment, 2),
        spent: usd(spent_micros),
        budget: o.cost.budget_micros.map(usd),
        projected: usd(projected_micros),
        over_budget: o.cost.budget_micros.is_some_and(|b| projected_micros > b),
        latency: format!(
            "{} / {}",
            crate::areas::voice::pages::ms(&o.latency.p50_ms),
            crate::areas::voice::pages::ms(&o.latency.p95_ms)
        ),
        chart_conversations,
        chart_sentiment,
        chart_topics,
        o,
    })
}

/// One gym's line of the franchise overview.
pub struct GymLine {
    /// The gym's page, at the same period.
    pub href: String,
    /// Its name.
    pub name: String,
    /// Conversations in the period.
    pub conversations: u64,
    /// Open follow-ups.
    pub follow_ups: u64,
    /// Spent this month.
    pub spent: String,
    /// Kiosks online / offline.
    pub kiosks: String,
    /// Heard latency p50 / p95.
    pub latency: String,
}

/// The franchise overview as the gym list shows it to owners.
pub struct FranchiseView {
    /// The period selector.
    pub periods: Vec<PeriodLink>,
    /// The numbers.
    pub o: overview::FranchiseOverview,
    /// Average duration, `m:ss`.
    pub avg_duration: String,
    /// Average satisfaction.
    pub satisfaction: String,
    /// Spent this month, all gyms.
    pub spent: String,
    /// The gyms' budgets added up.
    pub budget: String,
    /// Projected month-end spend, all gyms.
    pub projected: String,
    /// Conversations per day, all gyms.
    pub chart_conversations: String,
    /// Conversations by topic, all gyms.
    pub chart_topics: String,
    /// One line per gym.
    pub lines: Vec<GymLine>,
}

/// Builds the overview of a franchise's `gyms` for `period` (the caller may read the
/// franchise's reports in `scope`).
pub async fn build_franchise(
    state: &AppState,
    t: Tr,
    scope: &Scope,
    gyms: &[Gym],
    period: Period,
) -> Result<FranchiseView, jarvis_app::AppError> {
    let now = OffsetDateTime::now_utc();
    let offline_after = time::Duration::try_from(state.config.kiosk_offline_after)
        .unwrap_or(time::Duration::minutes(2));
    let list: Vec<_> = gyms
        .iter()
        .map(|g| {
            let budget = jarvis_app::gyms::settings_of(g)
                .map(|s| u64::try_from(s.monthly_ai_budget_micros).unwrap_or(0));
            (g.id, g.name.clone(), budget)
        })
        .collect();
    let o = overview::franchise(
        state.store.as_ref(),
        scope,
        &list,
        period,
        offline_after,
        now,
    )
    .await?;
    let periods = Period::ALL
        .into_iter()
        .map(|p| PeriodLink {
            href: format!("/app/gyms?period={}#overview", p.as_str()),
            label: match p {
                Period::Today => Msg::PeriodToday,
                Period::Week => Msg::PeriodWeek,
                Period::Month => Msg::PeriodMonth,
            },
            current: p == period,
        })
        .collect();
    let chart_conversations = conversations_chart(t, &o.sessions);
    let chart_topics = topics_chart(t, &o.sessions);
    let f = Fmt::new(t.0, None);
    let usd_pico = |p: &u64| f.usd_cents(&pico_to_micro(*p));
    let usd = |m: u64| f.usd_cents(&m);
    let lines = o
        .gyms
        .iter()
        .map(|(id, name, g)| GymLine {
            href: format!("/app/gyms/{id}?period={}#overview", period.as_str()),
            name: name.clone(),
            conversations: g.sessions.conversations,
            follow_ups: g.follow_ups_open,
            spent: usd_pico(&g.cost.spent_pico),
            kiosks: format!("{} / {}", g.kiosks.online, g.kiosks.offline),
            latency: format!(
                "{} / {}",
                crate::areas::voice::pages::ms(&g.latency.p50_ms),
                crate::areas::voice::pages::ms(&g.latency.p95_ms)
            ),
        })
        .collect();
    Ok(FranchiseView {
        periods,
        avg_duration: o
            .sessions
            .avg_duration_secs
            .as_ref()
            .map_or_else(|| "—".into(), mmss),
        satisfaction: decimal(t, o.sessions.satisfaction, 1),
        spent: usd_pico(&o.spent_pico),
        budget: usd(o.budget_micros),
        projected: usd_pico(&o.projected_pico),
        chart_conversations,
        chart_topics,
        lines,
        o,
    })
}

/// The conversations-per-day line chart of a gym or a franchise.
fn conversations_chart(t: Tr, s: &jarvis_app::overview::SessionTotals) -> String {
    let f = Fmt::new(t.0, None);
    let per_day: Vec<(String, f64)> = s
        .per_day
        .iter()
        .map(|d| (f.day_short(&d.day), d.conversations as f64))
        .collect();
    Chart {
        title: t.get(Msg::ChartConversations),
        x_label: t.get(Msg::Day),
        y_label: t.get(Msg::TileConversations),
        points: &per_day,
    }
    .line()
}

/// The conversations-by-topic bar chart, empty without topics.
fn topics_chart(t: Tr, s: &jarvis_app::overview::SessionTotals) -> String {
    let topics: Vec<(String, f64)> = s
        .topics
        .iter()
        .map(|(k, n)| (k.clone(), *n as f64))
        .collect();
    if topics.is_empty() {
        return String::new();
    }
    Chart {
        title: t.get(Msg::ChartTopics),
        x_label: t.get(Msg::Topic),
        y_label: t.get(Msg::TileConversations),
        points: &topics,
    }
    .bars()
}
