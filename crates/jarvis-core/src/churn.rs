//! Churn risk: the pure score of one member from five signals, with each signal's share of the
//! score kept so the dashboard can explain it. No IO: the store gathers the signals
//! ([`ChurnSignals`]), the daily `churn.score` job scores and stores them.
//!
//! **Weights** (maximum points of each factor; they add up to 100):
//!
//! | factor | max | full points when |
//! |---|---|---|
//! | `visit_trend` | 20 | visits in the last 30 days fell to nothing from the 30 before (linear in the drop; no visit in 60 days counts as a full drop) |
//! | `days_since_last_visit` | 25 | 60 days or more without a visit, or never visited (nothing up to 7 days, linear between) |
//! | `membership_end` | 15 | the membership has ended (nothing 60 days or more before the end, linear between; no end date: nothing) |
//! | `sentiment` | 15 | the average sentiment of the last 90 days of conversations is −1 (nothing at 0 or above, linear between; no analysed conversation: nothing) |
//! | `cancellation_intent` | 25 | any conversation of the last 90 days showed an intent to cancel |
//!
//! Each contribution is rounded to whole points and the score is their sum, so the factors shown
//! always add up to the score. Levels: `low` below 40, `medium` from 40, `high` from 70.

use crate::ids::{GymId, MemberId};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

/// Days of each of the two visit windows compared by the trend.
pub const TREND_WINDOW_DAYS: i64 = 30;
/// Days of conversations whose sentiment and cancellation intent count.
pub const CONVERSATION_WINDOW_DAYS: i64 = 90;

/// Maximum points of the visit trend.
pub const W_VISIT_TREND: f64 = 20.0;
/// Maximum points of the days since the last visit.
pub const W_DAYS_SINCE_VISIT: f64 = 25.0;
/// Maximum points of the membership end date.
pub const W_MEMBERSHIP_END: f64 = 15.0;
/// Maximum points of the conversation sentiment.
pub const W_SENTIMENT: f64 = 15.0;
/// Maximum points of a cancellation intent.
pub const W_CANCELLATION: f64 = 25.0;

/// Score from which the risk is `medium`.
pub const MEDIUM_FROM: u8 = 40;
/// Score from which the risk is `high`.
pub const HIGH_FROM: u8 = 70;

/// How likely a member is to leave.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ChurnLevel {
    /// Below [`MEDIUM_FROM`].
    Low,
    /// From [`MEDIUM_FROM`] to below [`HIGH_FROM`].
    Medium,
    /// From [`HIGH_FROM`].
    High,
}

impl ChurnLevel {
    /// Every level, lowest first.
    pub const ALL: [ChurnLevel; 3] = [ChurnLevel::Low, ChurnLevel::Medium, ChurnLevel::High];

    /// The level of a score.
    pub fn of(score: u8) -> Self {
        if score >= HIGH_FROM {
            ChurnLevel::High
        } else if score >= MEDIUM_FROM {
            ChurnLevel::Medium
        } else {
            ChurnLevel::Low
        }
    }

    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChurnLevel::Low => "low",
            ChurnLevel::Medium => "medium",
            ChurnLevel::High => "high",
        }
    }

    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The signals a score is made of.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ChurnFactorName {
    /// Visits in the last 30 days minus visits in the 30 before.
    VisitTrend,
    /// Whole days since the last visit (none: never visited).
    DaysSinceLastVisit,
    /// Days until the membership ends, negative once ended (none: no end date).
    MembershipEnd,
    /// Average sentiment score (−1 to 1) of the recent analysed conversations (none: none).
    Sentiment,
    /// Recent conversations that showed an intent to cancel.
    CancellationIntent,
}

/// One factor of a score: what was measured and how many points it added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChurnFactor {
    /// Which signal.
    pub name: ChurnFactorName,
    /// Its measured value (see [`ChurnFactorName`] for the unit); `None` when unknown.
    pub value: Option<f64>,
    /// Points it added to the score.
    pub contribution: u8,
}

/// A score with its explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChurnAssessment {
    /// 0–100, the sum of the contributions.
    pub score: u8,
    /// The score's level.
    pub level: ChurnLevel,
    /// The five factors, in the order of [`ChurnFactorName`].
    pub factors: Vec<ChurnFactor>,
}

/// What the store knows about one active member, as of a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct ChurnSignals {
    /// The member.
    pub member_id: MemberId,
    /// Visits in the last [`TREND_WINDOW_DAYS`].
    pub visits_recent: u32,
    /// Visits in the [`TREND_WINDOW_DAYS`] before those.
    pub visits_prior: u32,
    /// The member's last visit.
    pub last_visit_at: Option<OffsetDateTime>,
    /// When the membership ends.
    pub membership_end_date: Option<Date>,
    /// Average sentiment score of the analysed conversations of the last
    /// [`CONVERSATION_WINDOW_DAYS`].
    pub sentiment_avg: Option<f64>,
    /// Those conversations that showed an intent to cancel.
    pub cancellation_intents: u32,
}

/// Scores signals gathered at `now`.
pub fn assess(s: &ChurnSignals, now: OffsetDateTime) -> ChurnAssessment {
    let mut factors = Vec::with_capacity(5);

    let (recent, prior) = (f64::from(s.visits_recent), f64::from(s.visits_prior));
    let drop = if prior > 0.0 {
        ((prior - recent) / prior).clamp(0.0, 1.0)
    } else if recent > 0.0 {
        0.0
    } else {
        1.0
    };
    factors.push(factor(
        ChurnFactorName::VisitTrend,
        Some(recent - prior),
        W_VISIT_TREND * drop,
    ));

    let days_since = s
        .last_visit_at
        .map(|t| (now - t).whole_days().max(0) as f64);
    let since_share = match days_since {
        None => 1.0,
        Some(d) => ((d - 7.0) / (60.0 - 7.0)).clamp(0.0, 1.0),
    };
    factors.push(factor(
        ChurnFactorName::DaysSinceLastVisit,
        days_since,
        W_DAYS_SINCE_VISIT * since_share,
    ));

    let days_to_end = s
        .membership_end_date
        .map(|d| (d - now.date()).whole_days() as f64);
    let end_share = match days_to_end {
        None => 0.0,
        Some(d) => ((60.0 - d) / 60.0).clamp(0.0, 1.0),
    };
    factors.push(factor(
        ChurnFactorName::MembershipEnd,
        days_to_end,
        W_MEMBERSHIP_END * end_share,
    ));

    let sentiment = s.sentiment_avg.map(|v| v.clamp(-1.0, 1.0));
    factors.push(factor(
        ChurnFactorName::Sentiment,
        sentiment,
        W_SENTIMENT * sentiment.map_or(0.0, |v| (-v).max(0.0)),
    ));

    factors.push(factor(
        ChurnFactorName::CancellationIntent,
        Some(f64::from(s.cancellation_intents)),
        if s.cancellation_intents > 0 {
            W_CANCELLATION
        } else {
            0.0
        },
    ));

    let score = factors
        .iter()
        .map(|f| u32::from(f.contribution))
        .sum::<u32>()
        .min(100) as u8;
    ChurnAssessment {
        score,
        level: ChurnLevel::of(score),
        factors,
    }
}

fn factor(name: ChurnFactorName, value: Option<f64>, points: f64) -> ChurnFactor {
    ChurnFactor {
        name,
        value: value.map(|v| (v * 100.0).round() / 100.0),
        contribution: points.round().clamp(0.0, 100.0) as u8,
    }
}

/// A member's stored churn risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemberChurn {
    /// The member.
    pub member_id: MemberId,
    /// Their gym.
    pub gym_id: GymId,
    /// 0–100.
    pub score: u8,
    /// The score's level.
    pub level: ChurnLevel,
    /// What the score is made of.
    pub factors: Vec<ChurnFactor>,
    /// When it was computed.
    #[serde(with = "time::serde::rfc3339")]
    pub computed_at: OffsetDateTime,
}

/// A row of a gym's churn list: the score and who it is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChurnListEntry {
    /// The score.
    pub churn: MemberChurn,
    /// The member's first name.
    pub first_name: String,
    /// The member's last name.
    pub last_name: String,
    /// The member's badge.
    pub badge_id: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-15 12:00 UTC);

    fn signals() -> ChurnSignals {
        ChurnSignals {
            member_id: MemberId::new(),
            visits_recent: 10,
            visits_prior: 10,
            last_visit_at: Some(NOW - Duration::days(1)),
            membership_end_date: None,
            sentiment_avg: Some(0.5),
            cancellation_intents: 0,
        }
    }

    fn points(a: &ChurnAssessment, n: ChurnFactorName) -> u8 {
        a.factors.iter().find(|f| f.name == n).unwrap().contribution
    }

    #[test]
    fn a_regular_happy_member_scores_nothing() {
        let a = assess(&signals(), NOW);
        assert_eq!(a.score, 0);
        assert_eq!(a.level, ChurnLevel::Low);
        assert_eq!(a.factors.len(), 5);
    }

    #[test]
    fn the_weights_add_up_to_one_hundred() {
        let worst = ChurnSignals {
            visits_recent: 0,
            visits_prior: 0,
            last_visit_at: None,
            membership_end_date: Some(NOW.date() - Duration::days(3)),
            sentiment_avg: Some(-1.0),
            cancellation_intents: 2,
            ..signals()
        };
        let a = assess(&worst, NOW);
        assert_eq!(a.score, 100);
        assert_eq!(a.level, ChurnLevel::High);
        assert_eq!(points(&a, ChurnFactorName::VisitTrend), 20);
        assert_eq!(points(&a, ChurnFactorName::DaysSinceLastVisit), 25);
        assert_eq!(points(&a, ChurnFactorName::MembershipEnd), 15);
        assert_eq!(points(&a, ChurnFactorName::Sentiment), 15);
        assert_eq!(points(&a, ChurnFactorName::CancellationIntent), 25);
    }

    #[test]
    fn each_factor_is_explained_and_the_score_is_their_sum() {
        let s = ChurnSignals {
            visits_recent: 2,
            visits_prior: 8,
            last_visit_at: Some(NOW - Duration::days(20)),
            membership_end_date: Some(NOW.date() + Duration::days(30)),
            sentiment_avg: Some(-0.4),
            ..signals()
        };
        let a = assess(&s, NOW);
        // Trend: 6 of 8 visits lost → 15 of 20; value is the difference in visits.
        assert_eq!(points(&a, ChurnFactorName::VisitTrend), 15);
        assert_eq!(a.factors[0].value, Some(-6.0));
        // 20 days: (20 − 7) / 53 of 25 → 6.
        assert_eq!(points(&a, ChurnFactorName::DaysSinceLastVisit), 6);
        assert_eq!(a.factors[1].value, Some(20.0));
        // Ends in 30 days: half of 15 → 8 (rounded).
        assert_eq!(points(&a, ChurnFactorName::MembershipEnd), 8);
        assert_eq!(a.factors[2].value, Some(30.0));
        assert_eq!(points(&a, ChurnFactorName::Sentiment), 6);
        assert_eq!(points(&a, ChurnFactorName::CancellationIntent), 0);
        let sum: u32 = a.factors.iter().map(|f| u32::from(f.contribution)).sum();
        assert_eq!(u32::from(a.score), sum);
        assert_eq!(a.score, 35);
        assert_eq!(a.level, ChurnLevel::Low);
    }

    #[test]
    fn unknown_signals_add_nothing_but_never_visiting_does() {
        let s = ChurnSignals {
            visits_recent: 3,
            visits_prior: 0,
            last_visit_at: None,
            membership_end_date: None,
            sentiment_avg: None,
            ..signals()
        };
        let a = assess(&s, NOW);
        assert_eq!(points(&a, ChurnFactorName::VisitTrend), 0);
        assert_eq!(points(&a, ChurnFactorName::DaysSinceLastVisit), 25);
        assert_eq!(a.factors[1].value, None);
        assert_eq!(points(&a, ChurnFactorName::MembershipEnd), 0);
        assert_eq!(points(&a, ChurnFactorName::Sentiment), 0);
        assert_eq!(a.factors[3].value, None);
    }

    #[test]
    fn a_cancellation_intent_alone_is_not_high_but_with_absence_it_is() {
        let s = ChurnSignals {
            cancellation_intents: 1,
            ..signals()
        };
        assert_eq!(assess(&s, NOW).level, ChurnLevel::Low);
        let gone = ChurnSignals {
            visits_recent: 0,
            visits_prior: 6,
            last_visit_at: Some(NOW - Duration::days(60)),
            cancellation_intents: 1,
            ..signals()
        };
        let a = assess(&gone, NOW);
        assert_eq!(a.level, ChurnLevel::High, "{a:?}");
    }

    #[test]
    fn levels_have_fixed_boundaries_and_names() {
        assert_eq!(ChurnLevel::of(39), ChurnLevel::Low);
        assert_eq!(ChurnLevel::of(40), ChurnLevel::Medium);
        assert_eq!(ChurnLevel::of(69), ChurnLevel::Medium);
        assert_eq!(ChurnLevel::of(70), ChurnLevel::High);
        for l in ChurnLevel::ALL {
            assert_eq!(ChurnLevel::parse(l.as_str()), Some(l));
        }
        let f = serde_json::to_value(ChurnFactor {
            name: ChurnFactorName::DaysSinceLastVisit,
            value: Some(3.0),
            contribution: 0,
        })
        .unwrap();
        assert_eq!(
            f,
            serde_json::json!({"name": "days_since_last_visit", "value": 3.0, "contribution": 0})
        );
    }
}
