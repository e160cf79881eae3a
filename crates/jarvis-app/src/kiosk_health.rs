//! Kiosk health alerts: every minute (`kiosks.health`), paired kiosks silent for longer than
//! `kiosk_offline_after` get an outage opened, and the gym's managers an e-mail; an outage whose
//! kiosk is heard again is closed with a "back online" e-mail. One alert per transition however
//! many instances run the job: the store opens at most one outage per kiosk and closes one once,
//! queuing the e-mails in that same transaction. A kiosk revoked (or unpaired) during an outage
//! has it closed without an e-mail; unpaired and revoked kiosks are never alerted.

use crate::alerts::{self, KioskTransition};
use crate::auth::crypto::MasterKey;
use crate::error::AppResult;
use crate::jobs::JobSpec;
use jarvis_core::model::KioskStatus;
use jarvis_core::*;
use jarvis_store::{KioskHealth, Store};
use std::collections::HashMap;
use time::OffsetDateTime;

/// Compares paired kiosks' last heartbeat with `kiosk_offline_after` and alerts transitions.
pub const KIOSKS_HEALTH: JobSpec = JobSpec::new(
    "kiosks.health",
    "e-mail gym managers when a kiosk goes offline and when it is back",
)
.schedule("* * * * *");

/// What one check did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HealthReport {
    /// Outages this run opened.
    pub opened: usize,
    /// Outages this run closed (heard again, or revoked).
    pub closed: usize,
}

/// Who is told and where the e-mails link to.
pub struct HealthAlerts<'a> {
    /// Seals the e-mails.
    pub master: &'a MasterKey,
    /// The dashboard's public base URL.
    pub public_base: &'a str,
}

/// Whether a kiosk counts as offline at `cutoff` (silent since before it). A paired kiosk never
/// heard from counts from its pairing.
pub fn is_offline(k: &KioskHealth, cutoff: OffsetDateTime) -> bool {
    k.status == KioskStatus::Paired && k.last_seen_at.or(k.paired_at).is_none_or(|t| t < cutoff)
}

/// One pass over every kiosk as of `now`.
pub async fn check(
    store: &dyn Store,
    alerts: &HealthAlerts<'_>,
    offline_after: std::time::Duration,
    now: OffsetDateTime,
) -> AppResult<HealthReport> {
    let cutoff = now - offline_after;
    let mut report = HealthReport::default();
    // Gym name and managers, looked up once per gym per run.
    let mut gyms: HashMap<GymId, (String, Vec<jarvis_core::model::User>)> = HashMap::new();
    for k in store.kiosk_health(&Scope::Platform).await? {
        let offline = is_offline(&k, cutoff);
        match (offline, k.open_outage) {
            (true, None) => {
                let since = k.last_seen_at.or(k.paired_at).unwrap_or(cutoff);
                let emails = emails(
                    store,
                    alerts,
                    &mut gyms,
                    &k,
                    KioskTransition::Offline,
                    since,
                )
                .await?;
                if store
                    .open_kiosk_outage(&Scope::Platform, k.kiosk, cutoff, since, emails)
                    .await?
                {
                    tracing::warn!(kiosk = %k.kiosk, gym = %k.gym, "kiosk offline");
                    report.opened += 1;
                }
            }
            (false, Some((outage, started))) => {
                // Heard again: announced. Revoked or unpaired meanwhile: closed quietly.
                let heard = k.status == KioskStatus::Paired;
                let emails = if heard {
                    emails(
                        store,
                        alerts,
                        &mut gyms,
                        &k,
                        KioskTransition::Online,
                        started,
                    )
                    .await?
                } else {
                    Vec::new()
                };
                let ended = if heard {
                    k.last_seen_at.unwrap_or(now)
                } else {
                    now
                };
                if store
                    .close_kiosk_outage(&Scope::Platform, outage, ended, emails)
                    .await?
                {
                    tracing::info!(kiosk = %k.kiosk, gym = %k.gym, heard, "kiosk outage ended");
                    report.closed += 1;
                }
            }
            _ => {}
        }
    }
    Ok(report)
}

async fn emails(
    store: &dyn Store,
    alerts: &HealthAlerts<'_>,
    gyms: &mut HashMap<GymId, (String, Vec<jarvis_core::model::User>)>,
    k: &KioskHealth,
    transition: KioskTransition,
    since: OffsetDateTime,
) -> AppResult<Vec<jarvis_store::NewEmail>> {
    let scope = Scope::Gym {
        franchise: k.franchise,
        gym: k.gym,
    };
    let (gym_name, managers) = match gyms.entry(k.gym) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            let name = store.gym(&scope, k.gym).await?.name;
            let managers =
                alerts::users_with_role(store, &scope, Role::GymManager, Some(k.gym)).await?;
            e.insert((name, managers))
        }
    };
    let link = format!("{}/app/gyms/{}/kiosks", alerts.public_base, k.gym);
    Ok(alerts::seal_all(
        alerts.master,
        managers
            .iter()
            .map(|u| alerts::kiosk_email(u, transition, &k.name, gym_name, since, &link)),
    ))
}
