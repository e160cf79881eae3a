//! Cost reconciliation: our meter only sees the responses whose `response.done` reached us (a
//! call cut by a dropped connection is billed but never reported), so metered cost is a lower
//! bound. With an OpenAI admin key (`openai_admin_key`), the daily `costs.reconcile` job reads
//! what the provider billed per UTC day over the last `cost_reconcile_days` days, stores it,
//! and compares it with the metered cost of every gym; a day whose two figures differ by more
//! than `cost_reconcile_margin_percent` of the bill fires one alert (e-mail to the super
//! admins, once per day).

use crate::accounts::email::escape_html;
use crate::auth::crypto::MasterKey;
use crate::error::{AppError, AppResult};
use crate::jobs::JobSpec;
use crate::outbox::{self, Email};
use jarvis_core::cost::pico_to_micro;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_openai::{ApiKey, OpenAiClient};
use jarvis_store::{CostDay, NewEmail, Store};
use time::{Date, Duration, OffsetDateTime};

/// Reads the provider's bill and compares it with the meter, every day (when an admin key is
/// configured; without one the run does nothing).
pub const COSTS_RECONCILE: JobSpec = JobSpec::new(
    "costs.reconcile",
    "compare the provider's billed costs with the metered ones",
)
.schedule("47 4 * * *")
.lease(time::Duration::minutes(10));

/// The window and margin of the reconciliation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcilePolicy {
    /// Days before today read and compared.
    pub days: u32,
    /// Largest accepted difference, in percent of the bill.
    pub margin_percent: u32,
}

impl Default for ReconcilePolicy {
    fn default() -> Self {
        Self {
            days: 7,
            margin_percent: 10,
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReconcileReport {
    /// Days whose bill was read and stored.
    pub days_billed: usize,
    /// Days over the margin.
    pub over_margin: usize,
    /// Alerts fired by this run (days over the margin not alerted before).
    pub alerts: usize,
}

/// Metered minus billed, in micro-dollars (negative when the bill is higher).
pub fn difference_micros(day: &CostDay) -> Option<i128> {
    day.billed_micros
        .map(|b| i128::from(pico_to_micro(day.metered_pico)) - i128::from(b))
}

/// Whether a day's figures differ by more than `margin_percent` of the bill. A day without a
/// bill is not compared; a bill of zero against a metered cost is over any margin.
pub fn over_margin(day: &CostDay, margin_percent: u32) -> bool {
    let (Some(billed), Some(diff)) = (day.billed_micros, difference_micros(day)) else {
        return false;
    };
    diff.unsigned_abs() * 100 > u128::from(billed) * u128::from(margin_percent)
}

/// The first day of the window ending before `today`.
fn window(now: OffsetDateTime, days: u32) -> (Date, Date) {
    let today = now.to_offset(time::UtcOffset::UTC).date();
    (today - Duration::days(i64::from(days.max(1))), today)
}

/// Reads the bill of the last `policy.days` full UTC days before `now`, stores it, compares
/// it with the meter and fires the alerts of the days over the margin.
pub async fn reconcile(
    store: &dyn Store,
    client: &OpenAiClient,
    admin_key: &ApiKey,
    policy: ReconcilePolicy,
    mail: (&MasterKey, &str),
    now: OffsetDateTime,
) -> AppResult<ReconcileReport> {
    let (from, to) = window(now, policy.days);
    let start = from.midnight().assume_utc().unix_timestamp();
    let end = to.midnight().assume_utc().unix_timestamp();
    let billed = client
        .organization_costs(admin_key, start, end)
        .await
        .map_err(|e| AppError::Internal(format!("OpenAI costs API: {e}")))?;
    let days: Vec<(Date, u64)> = billed
        .iter()
        .filter_map(|b| {
            let day = OffsetDateTime::from_unix_timestamp(b.start_time)
                .ok()?
                .date();
            (day >= from && day < to).then_some((day, b.micros))
        })
        .collect();
    store.put_billed_costs(&Scope::Platform, &days).await?;
    let mut report = ReconcileReport {
        days_billed: days.len(),
        ..Default::default()
    };
    for day in store.cost_days(&Scope::Platform, from, to).await? {
        if !over_margin(&day, policy.margin_percent) {
            continue;
        }
        report.over_margin += 1;
        if day.alerted {
            continue;
        }
        let emails = alert_emails(store, mail, &day, policy.margin_percent).await;
        if store.cost_alert_once(&Scope::Platform, day, emails).await? {
            report.alerts += 1;
        }
    }
    Ok(report)
}

/// The days of the window shown on the reconciliation page (the last `days` days, today
/// included, newest first).
pub async fn recent(store: &dyn Store, days: u32, now: OffsetDateTime) -> AppResult<Vec<CostDay>> {
    let today = now.to_offset(time::UtcOffset::UTC).date();
    let from = today - Duration::days(i64::from(days.clamp(1, 366)) - 1);
    let to = today.next_day().unwrap_or(today);
    let mut out = store.cost_days(&Scope::Platform, from, to).await?;
    out.reverse();
    Ok(out)
}

fn dollars(micros: u64) -> String {
    format!(
        "{}.{:02}",
        micros / 1_000_000,
        (micros % 1_000_000) / 10_000
    )
}

async fn super_admins(store: &dyn Store) -> AppResult<Vec<User>> {
    crate::alerts::enabled_users(store, &Scope::Platform, |m| m.role == Role::SuperAdmin).await
}

async fn alert_emails(
    store: &dyn Store,
    (master, public_base): (&MasterKey, &str),
    day: &CostDay,
    margin: u32,
) -> Vec<NewEmail> {
    let users = match super_admins(store).await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the recipients of a cost alert");
            return Vec::new();
        }
    };
    let link = format!("{public_base}/app/ops/costs");
    users
        .iter()
        .filter_map(
            |u| match outbox::seal(master, alert_email(u, day, margin, &link)) {
                Ok(m) => Some(m),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot seal a cost alert e-mail");
                    None
                }
            },
        )
        .collect()
}

/// The difference alert e-mail for one super admin, in their language.
pub fn alert_email(user: &User, day: &CostDay, margin: u32, link: &str) -> Email {
    let fr = user.locale == Locale::Fr;
    let metered = dollars(pico_to_micro(day.metered_pico));
    let billed = dollars(day.billed_micros.unwrap_or(0));
    let d = day.day;
    let (subject, lead, tail) = if fr {
        (
            format!("JARVIS : coûts facturés et mesurés différents ({d})"),
            format!("Le {d}, OpenAI a facturé {billed} $ et JARVIS a mesuré {metered} $ : l'écart dépasse {margin} %."),
            "Un appel coupé par une connexion perdue est facturé sans être mesuré ; un écart durable mérite une vérification des prix des modèles.".to_string(),
        )
    } else {
        (
            format!("JARVIS: billed and metered costs differ ({d})"),
            format!("On {d}, OpenAI billed ${billed} and JARVIS metered ${metered}: the difference is over {margin}%."),
            "A call cut by a dropped connection is billed but never metered; a lasting difference calls for a check of the model prices.".to_string(),
        )
    };
    let hello = if fr { "Bonjour" } else { "Hello" };
    let see = if fr { "Voir" } else { "See" };
    Email {
        to: user.email.clone(),
        subject,
        text: format!(
            "{hello} {},\n\n{lead}\n{tail}\n\n{see}: {link}\n",
            user.display_name
        ),
        html: format!(
            "<p>{hello} {},</p><p>{}</p><p>{}</p><p><a href=\"{}\">{see}</a></p>",
            escape_html(&user.display_name),
            escape_html(&lead),
            escape_html(&tail),
            escape_html(link)
        ),
        kind: "cost_alert".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(metered_micros: u64, billed: Option<u64>) -> CostDay {
        CostDay {
            day: time::macros::date!(2026 - 03 - 01),
            metered_pico: metered_micros * 1_000_000,
            billed_micros: billed,
            alerted: false,
        }
    }

    #[test]
    fn the_margin_is_a_share_of_the_bill() {
        assert!(!over_margin(&day(95, Some(100)), 10));
        assert!(
            !over_margin(&day(90, Some(100)), 10),
            "exactly 10 % is within"
        );
        assert!(over_margin(&day(89, Some(100)), 10));
        assert!(over_margin(&day(111, Some(100)), 10));
        assert!(!over_margin(&day(0, Some(0)), 10));
        assert!(over_margin(&day(1, Some(0)), 10));
        assert!(
            !over_margin(&day(50, None), 10),
            "no bill, nothing to compare"
        );
        assert_eq!(difference_micros(&day(89, Some(100))), Some(-11));
    }
}
