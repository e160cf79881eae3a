//! The dashboard's overview of a gym for a period (today, 7 or 30 days, in UTC days):
//! conversations, distinct members who talked, average duration, satisfaction and sentiment
//! with their daily trend, top topics, follow-ups waiting, AI cost against the monthly budget
//! with its projection to month end, kiosks online/offline and the heard voice latency.
//!
//! Everything comes from daily rollups the database keeps (`session_daily`, `topic_daily`,
//! `latency_daily`, `cost_daily`), a count over each member's latest call
//! (`member_last_call`), follow-up and churn counts and the kiosks' presence, so the cost of a page does not grow with the gym's
//! traffic. The arithmetic over the days is here, in Rust, the same for both backends.

use crate::error::AppResult;
use jarvis_core::cost::{BudgetPeriod, PicoUsd};
use jarvis_core::model::{FollowUpStatus, KioskPresence, LatencyStats};
use jarvis_core::{GymId, PageRequest, Scope};
use jarvis_store::{LatencySource, SessionDay, Store};
use time::{Date, Duration, OffsetDateTime, Time};

/// Topics shown, at most.
pub const TOP_TOPICS: usize = 8;

/// The period an overview covers, ending now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Period {
    /// Since midnight UTC.
    Today,
    /// The last 7 UTC days, today included.
    #[default]
    Week,
    /// The last 30 UTC days, today included.
    Month,
}

impl Period {
    /// Every period, in the selector's order.
    pub const ALL: [Period; 3] = [Period::Today, Period::Week, Period::Month];

    /// The query-string value (`today`, `7d`, `30d`).
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Today => "today",
            Period::Week => "7d",
            Period::Month => "30d",
        }
    }

    /// Parses a query-string value; anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Period::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Days covered, today included.
    pub fn days(self) -> u16 {
        match self {
            Period::Today => 1,
            Period::Week => 7,
            Period::Month => 30,
        }
    }

    /// The first UTC day of the period ending on `today`.
    pub fn first_day(self, today: Date) -> Date {
        today - Duration::days(i64::from(self.days()) - 1)
    }
}

/// One UTC day of the trend.
#[derive(Debug, Clone, PartialEq)]
pub struct DayStat {
    /// The day.
    pub day: Date,
    /// Conversations started that day.
    pub conversations: u64,
    /// Average sentiment score (−1…1) of that day's analysed conversations.
    pub sentiment: Option<f64>,
}

/// What the sessions of a period add up to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionTotals {
    /// Conversations started.
    pub conversations: u64,
    /// Distinct identified members among them.
    pub members: u64,
    /// Average length of the ended ones, in seconds.
    pub avg_duration_secs: Option<i64>,
    /// Average satisfaction (1–5) of the analysed ones.
    pub satisfaction: Option<f64>,
    /// Average sentiment score (−1…1) of the analysed ones.
    pub sentiment: Option<f64>,
    /// One entry per day of the period, oldest first.
    pub per_day: Vec<DayStat>,
    /// The most frequent topics with their conversation counts, most frequent first (ties by
    /// name).
    pub topics: Vec<(String, u64)>,
}

fn avg(sum: f64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

/// Lays the rollup `rows` out over the `days` UTC days starting `first` (rows outside are
/// ignored) and adds them up; `members` and `topics` are read apart (a distinct count and a
/// ranking do not add up across days).
pub fn totals(
    rows: &[SessionDay],
    first: Date,
    days: u16,
    members: u64,
    topics: Vec<(String, u64)>,
) -> SessionTotals {
    let mut per_day: Vec<SessionDay> = (0..i64::from(days))
        .map(|i| SessionDay::empty(first + Duration::days(i)))
        .collect();
    let mut all = SessionDay::empty(first);
    for r in rows {
        let Ok(i) = usize::try_from((r.day - first).whole_days()) else {
            continue;
        };
        let Some(slot) = per_day.get_mut(i) else {
            continue;
        };
        for d in [slot, &mut all] {
            d.conversations += r.conversations;
            d.ended += r.ended;
            d.duration_secs += r.duration_secs;
            d.satisfaction_sum += r.satisfaction_sum;
            d.satisfaction_n += r.satisfaction_n;
            d.sentiment_sum += r.sentiment_sum;
            d.sentiment_n += r.sentiment_n;
        }
    }
    SessionTotals {
        conversations: all.conversations,
        members,
        avg_duration_secs: (all.ended > 0)
            .then(|| all.duration_secs.max(0) / i64::try_from(all.ended).unwrap_or(i64::MAX)),
        satisfaction: avg(all.satisfaction_sum as f64, all.satisfaction_n),
        sentiment: avg(all.sentiment_sum, all.sentiment_n),
        per_day: per_day
            .into_iter()
            .map(|d| DayStat {
                day: d.day,
                conversations: d.conversations,
                sentiment: avg(d.sentiment_sum, d.sentiment_n),
            })
            .collect(),
        topics,
    }
}

/// What the sessions of `gyms` add up to over `period` ending `now`, from the rollups.
async fn sessions(
    store: &dyn Store,
    scope: &Scope,
    gyms: &[GymId],
    period: Period,
    now: OffsetDateTime,
) -> AppResult<SessionTotals> {
    let today = now.to_offset(time::UtcOffset::UTC).date();
    let first = period.first_day(today);
    let from = first.with_time(Time::MIDNIGHT).assume_utc();
    let rows = store.session_days(scope, gyms, first, today).await?;
    let members = store.talkers(scope, gyms, from).await?;
    let topics = store
        .top_topics(scope, gyms, first, today, TOP_TOPICS as u32)
        .await?;
    Ok(totals(&rows, first, period.days(), members, topics))
}

/// Spend this month against the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostTile {
    /// The month.
    pub period: BudgetPeriod,
    /// Spent so far.
    pub spent_pico: PicoUsd,
    /// The gym's monthly budget (micro-USD), when its settings validate.
    pub budget_micros: Option<u64>,
    /// Spend at this month's pace to its last day.
    pub projected_pico: PicoUsd,
}

/// The month's spend projected to its end at the pace so far: `spent × month length ÷ time
/// elapsed` (elapsed counted in seconds, at least one hour so a new month does not explode).
pub fn projection(spent: PicoUsd, now: OffsetDateTime) -> PicoUsd {
    let period = BudgetPeriod::of(now);
    let start = period.first_day().with_time(Time::MIDNIGHT).assume_utc();
    let end = period.end_day().with_time(Time::MIDNIGHT).assume_utc();
    let elapsed = (now - start).whole_seconds().max(3600) as u128;
    let total = (end - start).whole_seconds().max(1) as u128;
    u64::try_from(u128::from(spent) * total / elapsed.min(total)).unwrap_or(u64::MAX)
}

/// Kiosks by presence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KioskTile {
    /// Paired and heard from within the threshold.
    pub online: u64,
    /// Paired but silent.
    pub offline: u64,
}

/// A gym's overview.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    /// The period.
    pub period: Period,
    /// Its first UTC day.
    pub first: Date,
    /// Its last UTC day (today).
    pub last: Date,
    /// What its sessions add up to.
    pub sessions: SessionTotals,
    /// Follow-ups still open (whenever created).
    pub follow_ups_open: u64,
    /// Members whose latest churn score (the daily `churn.score` job) is high.
    pub churn_high: u64,
    /// AI cost this month.
    pub cost: CostTile,
    /// Kiosks now.
    pub kiosks: KioskTile,
    /// Latency the members heard over the period (kiosk measurements).
    pub latency: LatencyStats,
}

/// The overview of `gym` for `period` ending `now`, in `scope` (the caller may read the gym's
/// reports); `budget_micros` is the gym's monthly budget from its settings, `offline_after`
/// the kiosks' heartbeat threshold.
pub async fn gym(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    period: Period,
    budget_micros: Option<u64>,
    offline_after: Duration,
    now: OffsetDateTime,
) -> AppResult<Overview> {
    let sessions = sessions(store, scope, &[gym], period, now).await?;
    gym_with(
        store,
        scope,
        gym,
        period,
        sessions,
        budget_micros,
        offline_after,
        now,
    )
    .await
}

/// A franchise's overview: the totals over its gyms and each gym's own.
#[derive(Debug, Clone, PartialEq)]
pub struct FranchiseOverview {
    /// The sessions of every gym, added up (members are per gym, so they add up too).
    pub sessions: SessionTotals,
    /// Open follow-ups of every gym.
    pub follow_ups_open: u64,
    /// High churn-risk members of every gym.
    pub churn_high: u64,
    /// Spent this month by every gym.
    pub spent_pico: PicoUsd,
    /// The sum of the gyms' budgets (gyms without valid settings count 0).
    pub budget_micros: u64,
    /// The sum of the gyms' projections.
    pub projected_pico: PicoUsd,
    /// Kiosks of every gym.
    pub kiosks: KioskTile,
    /// Each gym (id, name) with its own overview, in the order given.
    pub gyms: Vec<(GymId, String, Overview)>,
}

/// The overview of `gyms` (the franchise's, with each gym's monthly budget) in `scope`.
pub async fn franchise(
    store: &dyn Store,
    scope: &Scope,
    gyms: &[(GymId, String, Option<u64>)],
    period: Period,
    offline_after: Duration,
    now: OffsetDateTime,
) -> AppResult<FranchiseOverview> {
    let ids: Vec<GymId> = gyms.iter().map(|g| g.0).collect();
    let mut out = FranchiseOverview {
        sessions: SessionTotals::default(),
        follow_ups_open: 0,
        churn_high: 0,
        spent_pico: 0,
        budget_micros: 0,
        projected_pico: 0,
        kiosks: KioskTile::default(),
        gyms: Vec::new(),
    };
    for (id, name, budget) in gyms {
        let own = sessions(store, scope, &[*id], period, now).await?;
        let o = gym_with(store, scope, *id, period, own, *budget, offline_after, now).await?;
        out.follow_ups_open += o.follow_ups_open;
        out.churn_high += o.churn_high;
        out.spent_pico = out.spent_pico.saturating_add(o.cost.spent_pico);
        out.budget_micros = out.budget_micros.saturating_add(budget.unwrap_or(0));
        out.projected_pico = out.projected_pico.saturating_add(o.cost.projected_pico);
        out.kiosks.online += o.kiosks.online;
        out.kiosks.offline += o.kiosks.offline;
        out.gyms.push((*id, name.clone(), o));
    }
    // The franchise's topics are ranked over all its gyms at once, not merged from each top.
    out.sessions = sessions(store, scope, &ids, period, now).await?;
    Ok(out)
}

/// The rest of a gym's overview around its `sessions`.
#[allow(clippy::too_many_arguments)]
async fn gym_with(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    period: Period,
    sessions: SessionTotals,
    budget_micros: Option<u64>,
    offline_after: Duration,
    now: OffsetDateTime,
) -> AppResult<Overview> {
    let today = now.to_offset(time::UtcOffset::UTC).date();
    let first = period.first_day(today);
    let follow_ups_open = store
        .list_follow_ups(
            scope,
            gym,
            Some(FollowUpStatus::Open),
            PageRequest::new(Some(1), None).unwrap_or_default(),
        )
        .await?
        .total;
    let churn_high = store
        .list_churn(
            scope,
            gym,
            Some(jarvis_core::churn::ChurnLevel::High),
            Default::default(),
            PageRequest::new(Some(1), None).unwrap_or_default(),
        )
        .await?
        .total;
    let month = BudgetPeriod::of(now);
    let spent = store.month_to_date(scope, gym, month).await?.cost_pico;
    let mut kiosks = KioskTile::default();
    let mut offset = 0u64;
    loop {
        let page = store
            .list_kiosks(
                scope,
                gym,
                PageRequest::new(Some(200), Some(offset)).unwrap_or_default(),
            )
            .await?;
        for k in &page.items {
            match k.presence(now, offline_after) {
                KioskPresence::Online => kiosks.online += 1,
                KioskPresence::Offline => kiosks.offline += 1,
                KioskPresence::Unpaired | KioskPresence::Revoked => {}
            }
        }
        offset += page.items.len() as u64;
        if page.items.is_empty() || offset >= page.total {
            break;
        }
    }
    let latency = store
        .latency(scope, gym, LatencySource::Heard, first, today)
        .await?;
    let o = Overview {
        period,
        first,
        last: today,
        sessions,
        follow_ups_open,
        churn_high,
        cost: CostTile {
            period: month,
            spent_pico: spent,
            budget_micros,
            projected_pico: projection(spent, now),
        },
        kiosks,
        latency,
    };
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn day(d: Date, conversations: u64, ended: u64, secs: i64) -> SessionDay {
        SessionDay {
            conversations,
            ended,
            duration_secs: secs,
            ..SessionDay::empty(d)
        }
    }

    #[test]
    fn totals_lay_the_days_out_and_average_over_the_period() {
        let mut a = day(date!(2026 - 11 - 28), 1, 1, 60);
        (a.satisfaction_sum, a.satisfaction_n) = (4, 1);
        (a.sentiment_sum, a.sentiment_n) = (0.5, 1);
        let mut b = day(date!(2026 - 11 - 30), 3, 2, 150);
        (b.satisfaction_sum, b.satisfaction_n) = (2, 1);
        (b.sentiment_sum, b.sentiment_n) = (-0.25, 1);
        // Before the period: ignored.
        let old = day(date!(2026 - 11 - 20), 1, 1, 999);
        let topics = vec![("hours".to_string(), 2)];
        let t = totals(&[old, a, b], date!(2026 - 11 - 24), 7, 2, topics.clone());
        assert_eq!(t.conversations, 4);
        assert_eq!(t.members, 2);
        // (60 + 150) / 3 ended calls, whole seconds.
        assert_eq!(t.avg_duration_secs, Some(70));
        assert_eq!(t.satisfaction, Some(3.0));
        assert_eq!(t.sentiment, Some(0.125));
        assert_eq!(t.per_day.len(), 7);
        assert_eq!(t.per_day[4].conversations, 1);
        assert_eq!(t.per_day[4].sentiment, Some(0.5));
        assert_eq!(t.per_day[6].conversations, 3);
        assert_eq!(t.per_day[6].day, date!(2026 - 11 - 30));
        assert_eq!(t.per_day[0].sentiment, None);
        assert_eq!(t.per_day[0].day, date!(2026 - 11 - 24));
        assert_eq!(t.topics, topics);
        // No call ended, nothing analysed: no averages rather than zeros.
        let t = totals(
            &[day(date!(2026 - 11 - 30), 2, 0, 0)],
            date!(2026 - 11 - 30),
            1,
            0,
            vec![],
        );
        assert_eq!(
            (t.conversations, t.avg_duration_secs, t.satisfaction),
            (2, None, None)
        );
    }

    #[test]
    fn projection_scales_to_the_month() {
        // Halfway through a 30-day month: twice the spend.
        let now = datetime!(2026-11-16 00:00 UTC);
        assert_eq!(projection(1_000, now), 2_000);
        // First minutes of a month: elapsed counts as one hour, not zero.
        let p = projection(10, datetime!(2026-11-01 00:00:01 UTC));
        assert_eq!(p, 10 * 30 * 24);
        assert_eq!(Period::parse("30d"), Some(Period::Month));
        assert_eq!(Period::parse("1y"), None);
        assert_eq!(
            Period::Week.first_day(date!(2026 - 11 - 30)),
            date!(2026 - 11 - 24)
        );
    }
}
