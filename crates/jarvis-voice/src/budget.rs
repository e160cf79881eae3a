//! Budgets: a gym's and the platform's month-to-date spend against their monthly budgets,
//! alerts at 80 % and 100 % fired once per scope and month (on any instance), and the hard
//! stop that refuses new calls and hangs up running ones.

use async_trait::async_trait;
use jarvis_core::cost::{BudgetPeriod, BudgetState, BudgetThreshold};
use jarvis_core::{FranchiseId, GymId, Scope};
use jarvis_store::{BudgetScope, NewBudgetAlert, NewEmail, Store, StoreResult};
use time::OffsetDateTime;

/// Builds the e-mails of a budget alert (the server seals and addresses them; the broker only
/// decides when an alert fires). They are queued in the alert's transaction.
#[async_trait]
pub trait AlertEmails: Send + Sync {
    /// E-mails to queue for `alert` (may be empty).
    async fn emails(&self, alert: &NewBudgetAlert) -> Vec<NewEmail>;
}

/// No e-mails: the alert shows on the dashboard only.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAlertEmails;

#[async_trait]
impl AlertEmails for NoAlertEmails {
    async fn emails(&self, _alert: &NewBudgetAlert) -> Vec<NewEmail> {
        Vec::new()
    }
}

/// The budgets one call is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BudgetLimits {
    pub franchise: FranchiseId,
    pub gym: GymId,
    pub gym_budget_micros: i64,
    pub platform_budget_micros: i64,
    pub hard_stop: bool,
}

/// Where both budgets stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BudgetVerdict {
    pub gym: BudgetState,
    pub platform: BudgetState,
}

impl BudgetVerdict {
    /// Whether calls must stop (a budget is spent and the hard stop is on).
    pub fn stop(&self, hard_stop: bool) -> bool {
        hard_stop && (self.gym == BudgetState::Exhausted || self.platform == BudgetState::Exhausted)
    }
}

fn thresholds(state: BudgetState) -> &'static [BudgetThreshold] {
    match state {
        BudgetState::Ok => &[],
        BudgetState::Warn80 => &[BudgetThreshold::Warn80],
        // A jump past both fires both: each is reported once per month.
        BudgetState::Exhausted => &[BudgetThreshold::Warn80, BudgetThreshold::Exhausted],
    }
}

fn micros(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Reads both month-to-date spends, fires the alerts they crossed (once each) and says where
/// the budgets stand.
pub(crate) async fn check(
    store: &dyn Store,
    limits: &BudgetLimits,
    alerts: &dyn AlertEmails,
    now: OffsetDateTime,
) -> StoreResult<BudgetVerdict> {
    let period = BudgetPeriod::of(now);
    let scope = Scope::Gym {
        franchise: limits.franchise,
        gym: limits.gym,
    };
    let gym_spent = store
        .month_to_date(&scope, limits.gym, period)
        .await?
        .cost_pico;
    let platform_spent = store.platform_month_to_date(period).await?.cost_pico;
    let gym = BudgetState::from(gym_spent, micros(limits.gym_budget_micros));
    let platform = BudgetState::from(platform_spent, micros(limits.platform_budget_micros));
    let scopes = [
        (
            BudgetScope::Gym {
                franchise: limits.franchise,
                gym: limits.gym,
            },
            gym,
            gym_spent,
            limits.gym_budget_micros,
        ),
        (
            BudgetScope::Platform,
            platform,
            platform_spent,
            limits.platform_budget_micros,
        ),
    ];
    for (scope, state, spent, budget) in scopes {
        for &threshold in thresholds(state) {
            let alert = NewBudgetAlert {
                scope,
                period,
                threshold,
                spent_pico: spent,
                budget_micros: micros(budget),
            };
            let emails = alerts.emails(&alert).await;
            if store.budget_alert_once(alert, emails).await? {
                tracing::warn!(?scope, %period, percent = threshold.percent(), spent_pico = spent,
                    budget_micros = budget, "voice budget alert");
            }
        }
    }
    Ok(BudgetVerdict { gym, platform })
}
