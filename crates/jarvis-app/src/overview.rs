//! The dashboard's overview of a gym for a period (today, 7 or 30 days, in UTC days):
//! conversations, distinct members who talked, average duration, satisfaction and sentiment
//! with their daily trend, top topics, follow-ups waiting, AI cost against the monthly budget
//! with its projection to month end, kiosks online/offline and the heard voice latency.
//!
//! Sessions come from one indexed range read (`OverviewStore::session_facts`); everything
//! else from the existing rollups (`cost_daily`), follow-up counts, kiosk heartbeats and
//! `voice_heard_latency`. The arithmetic is here, in Rust, the same for both backends.

use crate::error::AppResult;
use jarvis_core::cost::{BudgetPeriod, PicoUsd};
use jarvis_core::model::{FollowUpStatus, KioskPresence, LatencyStats};
use jarvis_core::{GymId, PageRequest, Scope};
use jarvis_store::{SessionFact, Store};
use std::collections::{BTreeMap, HashSet};
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

/// Adds up `facts` over the `days` UTC days starting `first` (facts outside are ignored).
pub fn totals(facts: &[SessionFact], first: Date, days: u16) -> SessionTotals {
    let mut per_day: Vec<(u64, f64, u64)> = vec![(0, 0.0, 0); usize::from(days)];
    let mut members = HashSet::new();
    let (mut dur, mut dur_n) = (0i64, 0u64);
    let (mut sat, mut sat_n) = (0f64, 0u64);
    let (mut sent, mut sent_n) = (0f64, 0u64);
    let mut topics: BTreeMap<String, u64> = BTreeMap::new();
    let mut conversations = 0;
    for f in facts {
        let day = f.started_at.to_offset(time::UtcOffset::UTC).date();
        let Ok(i) = usize::try_from((day - first).whole_days()) else {
            continue;
        };
        let Some(slot) = per_day.get_mut(i) else {
            continue;
        };
        conversations += 1;
        slot.0 += 1;
        if let Some(m) = f.member_id {
            members.insert(m);
        }
        if let Some(end) = f.ended_at {
            dur += (end - f.started_at).whole_seconds().max(0);
            dur_n += 1;
        }
        if let Some(s) = f.satisfaction {
            sat += f64::from(s);
            sat_n += 1;
        }
        if let Some(s) = f.sentiment_score.filter(|s| s.is_finite()) {
            sent += s;
            sent_n += 1;
            slot.1 += s;
            slot.2 += 1;
        }
        // A topic counts once per conversation, whatever its case or spacing.
        let mut seen = HashSet::new();
        for t in &f.topics {
            let t = t.trim().to_lowercase();
            if !t.is_empty() && seen.insert(t.clone()) {
                *topics.entry(t).or_default() += 1;
            }
        }
    }
    let mut topics: Vec<(String, u64)> = topics.into_iter().collect();
    topics.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    topics.truncate(TOP_TOPICS);
    SessionTotals {
        conversations,
        members: members.len() as u64,
        avg_duration_secs: (dur_n > 0).then(|| dur / i64::try_from(dur_n).unwrap_or(i64::MAX)),
        satisfaction: avg(sat, sat_n),
        sentiment: avg(sent, sent_n),
        per_day: per_day
            .into_iter()
            .enumerate()
            .map(|(i, (n, s, sn))| DayStat {
                day: first + Duration::days(i as i64),
                conversations: n,
                sentiment: avg(s, sn),
            })
            .collect(),
        topics,
    }
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
    Ok(
        gym_and_facts(store, scope, gym, period, budget_micros, offline_after, now)
            .await?
            .0,
    )
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
    let today = now.to_offset(time::UtcOffset::UTC).date();
    let mut all = Vec::new();
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
        let (o, facts) =
            gym_and_facts(store, scope, *id, period, *budget, offline_after, now).await?;
        all.extend(facts);
        out.follow_ups_open += o.follow_ups_open;
        out.churn_high += o.churn_high;
        out.spent_pico = out.spent_pico.saturating_add(o.cost.spent_pico);
        out.budget_micros = out.budget_micros.saturating_add(budget.unwrap_or(0));
        out.projected_pico = out.projected_pico.saturating_add(o.cost.projected_pico);
        out.kiosks.online += o.kiosks.online;
        out.kiosks.offline += o.kiosks.offline;
        out.gyms.push((*id, name.clone(), o));
    }
    out.sessions = totals(&all, period.first_day(today), period.days());
    Ok(out)
}

async fn gym_and_facts(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    period: Period,
    budget_micros: Option<u64>,
    offline_after: Duration,
    now: OffsetDateTime,
) -> AppResult<(Overview, Vec<SessionFact>)> {
    let today = now.to_offset(time::UtcOffset::UTC).date();
    let first = period.first_day(today);
    let from = first.with_time(Time::MIDNIGHT).assume_utc();
    let facts = store.session_facts(scope, gym, from, now).await?;
    let sessions = totals(&facts, first, period.days());
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
    let latency = store.heard_latency_stats(scope, gym, from, now).await?;
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
    Ok((o, facts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jarvis_core::MemberId;
    use time::macros::{date, datetime};

    fn fact(at: OffsetDateTime, secs: Option<i64>, member: Option<MemberId>) -> SessionFact {
        SessionFact {
            started_at: at,
            ended_at: secs.map(|s| at + Duration::seconds(s)),
            member_id: member,
            satisfaction: None,
            sentiment_score: None,
            topics: vec![],
        }
    }

    #[test]
    fn totals_count_days_members_durations_and_topics() {
        let m1 = MemberId::from(uuid::Uuid::now_v7());
        let m2 = MemberId::from(uuid::Uuid::now_v7());
        let mut a = fact(datetime!(2026-11-28 09:00 UTC), Some(60), Some(m1));
        a.satisfaction = Some(4);
        a.sentiment_score = Some(0.5);
        a.topics = vec!["Yoga".into(), "yoga ".into(), "hours".into()];
        let mut b = fact(datetime!(2026-11-30 23:59 UTC), Some(120), Some(m1));
        b.satisfaction = Some(2);
        b.sentiment_score = Some(-0.25);
        b.topics = vec!["hours".into()];
        let c = fact(datetime!(2026-11-30 10:00 UTC), None, Some(m2));
        let d = fact(datetime!(2026-11-30 11:00 UTC), Some(30), None);
        // Before the period: ignored.
        let old = fact(datetime!(2026-11-20 10:00 UTC), Some(999), Some(m2));
        let t = totals(&[a, b, c, d, old], date!(2026 - 11 - 24), 7);
        assert_eq!(t.conversations, 4);
        assert_eq!(t.members, 2);
        assert_eq!(t.avg_duration_secs, Some(70));
        assert_eq!(t.satisfaction, Some(3.0));
        assert_eq!(t.sentiment, Some(0.125));
        assert_eq!(t.per_day.len(), 7);
        assert_eq!(t.per_day[4].conversations, 1);
        assert_eq!(t.per_day[4].sentiment, Some(0.5));
        assert_eq!(t.per_day[6].conversations, 3);
        assert_eq!(t.per_day[6].day, date!(2026 - 11 - 30));
        assert_eq!(t.per_day[0].sentiment, None);
        assert_eq!(t.topics, vec![("hours".into(), 2), ("yoga".into(), 1)]);
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
