//! Usage limits: what each franchise and the whole installation use (rows of the main tenant
//! tables, database size, API requests, object storage, voice minutes and AI cost this month)
//! against the plan limits of the configuration (`usage_franchise_*`, `usage_platform_*`; 0 =
//! unlimited; the same plan for every franchise, no per-franchise override).
//!
//! The hourly `usage.check` job measures, stores the latest snapshot of each metric, and fires
//! an alert at 80 % and at 100 % of a limit once per tenant, metric and month, with an e-mail
//! to the franchise's owners (or to the super admins for the platform) queued in the alert's
//! own transaction. The usage page reads the snapshots.

use crate::accounts::email::escape_html;
use crate::auth::crypto::MasterKey;
use crate::error::AppResult;
use crate::jobs::JobSpec;
use crate::objects::{Objects, ObjectsError};
use crate::outbox::{self, Email};
use jarvis_core::cost::{BudgetPeriod, BudgetThreshold, pico_to_micro};
use jarvis_core::fmt::Fmt;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::{
    NewEmail, NewUsageAlert, Store, UsageAlert, UsageMetric, UsageScope, UsageSnapshot,
};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Measures usage, stores the snapshots and fires the 80/100 % alerts, every hour.
pub const USAGE_CHECK: JobSpec = JobSpec::new(
    "usage.check",
    "measure usage against the plan limits and alert at 80 and 100 %",
)
.schedule("7 * * * *")
.lease(time::Duration::minutes(10));

/// Object-store keys under `franchises/<id>/` belong to that franchise; everything else
/// (backups, exports) counts to the platform only.
pub const FRANCHISE_PREFIX: &str = "franchises";

/// The limits of one plan; 0 = unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PlanLimits {
    /// Rows of the main tenant tables.
    pub rows: u64,
    /// Database bytes (platform only).
    pub db_bytes: u64,
    /// Requests per month.
    pub api_requests: u64,
    /// Object-store bytes.
    pub storage_bytes: u64,
    /// Voice minutes per month.
    pub voice_minutes: u64,
    /// AI cost per month, micro-dollars.
    pub ai_cost_micros: u64,
}

impl PlanLimits {
    /// The limit of one metric.
    pub fn of(&self, metric: UsageMetric) -> u64 {
        match metric {
            UsageMetric::Rows => self.rows,
            UsageMetric::DbBytes => self.db_bytes,
            UsageMetric::ApiRequests => self.api_requests,
            UsageMetric::StorageBytes => self.storage_bytes,
            UsageMetric::VoiceMinutes => self.voice_minutes,
            UsageMetric::AiCostMicros => self.ai_cost_micros,
        }
    }
}

/// The plan of every franchise and the platform's own limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageLimits {
    /// Each franchise's plan.
    pub franchise: PlanLimits,
    /// The whole installation.
    pub platform: PlanLimits,
}

/// Object-store bytes per franchise and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageUsage {
    /// Bytes under `franchises/<id>/`.
    pub franchises: BTreeMap<FranchiseId, u64>,
    /// Every object (backups included).
    pub total: u64,
}

/// Lists the object store and sums the sizes per franchise prefix.
pub async fn storage_usage(objects: &Objects) -> Result<StorageUsage, ObjectsError> {
    let mut out = StorageUsage::default();
    for o in objects.list("").await? {
        out.total = out.total.saturating_add(o.size);
        let mut parts = o.key.split('/');
        if parts.next() == Some(FRANCHISE_PREFIX)
            && let Some(Ok(id)) = parts.next().map(|s| s.parse::<uuid::Uuid>())
        {
            let e = out.franchises.entry(FranchiseId::from(id)).or_default();
            *e = e.saturating_add(o.size);
        }
    }
    Ok(out)
}

/// Where alert e-mails link to and how they are sealed.
pub struct AlertMail<'a> {
    /// Seals the bodies.
    pub master: &'a MasterKey,
    /// Public URL of the dashboard.
    pub public_base: &'a str,
}

/// What one check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckReport {
    /// Snapshots stored.
    pub snapshots: usize,
    /// Alerts fired by this run.
    pub alerts: usize,
}

/// The threshold a value reaches against a limit (none when unlimited or below 80 %).
pub fn reached(value: u64, limit: u64) -> Vec<BudgetThreshold> {
    if limit == 0 {
        return Vec::new();
    }
    let (v, l) = (u128::from(value), u128::from(limit));
    let mut out = Vec::new();
    if v * 100 >= l * 80 {
        out.push(BudgetThreshold::Warn80);
    }
    if v >= l {
        out.push(BudgetThreshold::Exhausted);
    }
    out
}

/// Percent of a limit used, for the bars (0 when unlimited, capped at 999).
pub fn percent(value: u64, limit: u64) -> u32 {
    if limit == 0 {
        return 0;
    }
    let p = u128::from(value) * 100 / u128::from(limit);
    u32::try_from(p.min(999)).unwrap_or(999)
}

/// Measures every tenant as of `now`, stores the snapshots and fires the alerts reached.
/// `storage` is the object store's measure (`None` when it could not be listed: storage is
/// then left out of this run).
pub async fn check(
    store: &dyn Store,
    storage: Option<&StorageUsage>,
    limits: &UsageLimits,
    mail: &AlertMail<'_>,
    now: OffsetDateTime,
) -> AppResult<CheckReport> {
    let period = BudgetPeriod::of(now);
    let m = store.measure_usage(&Scope::Platform, period).await?;
    let mut snaps = Vec::new();
    let mut push = |scope: UsageScope, metric: UsageMetric, value: u64, plan: &PlanLimits| {
        snaps.push(UsageSnapshot {
            scope,
            metric,
            period,
            value,
            limit: plan.of(metric),
            taken_at: now,
        });
    };
    for (f, u) in &m.franchises {
        let s = UsageScope::Franchise(*f);
        let plan = &limits.franchise;
        push(s, UsageMetric::Rows, u.rows, plan);
        push(s, UsageMetric::ApiRequests, u.api_requests, plan);
        if let Some(st) = storage {
            let bytes = st.franchises.get(f).copied().unwrap_or(0);
            push(s, UsageMetric::StorageBytes, bytes, plan);
        }
        push(s, UsageMetric::VoiceMinutes, minutes(u.voice_seconds), plan);
        push(
            s,
            UsageMetric::AiCostMicros,
            pico_to_micro(u.ai_cost_pico),
            plan,
        );
    }
    let (s, plan, u) = (UsageScope::Platform, &limits.platform, &m.platform);
    push(s, UsageMetric::Rows, u.rows, plan);
    push(s, UsageMetric::DbBytes, m.db_bytes, plan);
    push(s, UsageMetric::ApiRequests, u.api_requests, plan);
    if let Some(st) = storage {
        push(s, UsageMetric::StorageBytes, st.total, plan);
    }
    push(s, UsageMetric::VoiceMinutes, minutes(u.voice_seconds), plan);
    push(
        s,
        UsageMetric::AiCostMicros,
        pico_to_micro(u.ai_cost_pico),
        plan,
    );
    store.put_usage_snapshots(&Scope::Platform, &snaps).await?;

    let mut report = CheckReport {
        snapshots: snaps.len(),
        alerts: 0,
    };
    for snap in &snaps {
        for threshold in reached(snap.value, snap.limit) {
            let alert = NewUsageAlert {
                scope: snap.scope,
                metric: snap.metric,
                period,
                threshold,
                value: snap.value,
                limit: snap.limit,
            };
            let emails = alert_emails(store, mail, &alert).await;
            if store
                .usage_alert_once(&Scope::Platform, alert, emails)
                .await?
            {
                report.alerts += 1;
            }
        }
    }
    Ok(report)
}

/// Whole minutes, rounded up (a started minute counts).
fn minutes(seconds: u64) -> u64 {
    seconds.div_ceil(60)
}

/// What the usage page shows: each tenant's latest snapshots and recent alerts.
#[derive(Debug, Clone, Default)]
pub struct UsageView {
    /// Per tenant (the platform first, then franchises by name), its metrics in display order.
    pub tenants: Vec<TenantUsage>,
    /// Recent alerts the viewer sees.
    pub alerts: Vec<UsageAlert>,
}

/// One tenant's usage.
#[derive(Debug, Clone)]
pub struct TenantUsage {
    /// Whose.
    pub scope: UsageScope,
    /// Its name (the franchise's; empty for the platform).
    pub name: String,
    /// The latest measures, in display order.
    pub metrics: Vec<UsageSnapshot>,
}

/// The usage the scope sees (a franchise its own; the platform every franchise and itself).
pub async fn view(store: &dyn Store, scope: &Scope) -> AppResult<UsageView> {
    let snaps = store.usage_snapshots(scope).await?;
    let alerts = store.list_usage_alerts(scope, 50).await?;
    let mut by: BTreeMap<UsageScope, Vec<UsageSnapshot>> = BTreeMap::new();
    for s in snaps {
        by.entry(s.scope).or_default().push(s);
    }
    let mut tenants = Vec::new();
    for (who, mut metrics) in by {
        metrics.sort_by_key(|s| UsageMetric::ALL.iter().position(|m| *m == s.metric));
        let name = match who {
            UsageScope::Platform => String::new(),
            UsageScope::Franchise(f) => store
                .franchise(scope, f)
                .await
                .map(|fr| fr.name)
                .unwrap_or_else(|_| f.to_string()),
        };
        tenants.push(TenantUsage {
            scope: who,
            name,
            metrics,
        });
    }
    // The platform first, then franchises by name.
    tenants.sort_by(|a, b| {
        (a.scope != UsageScope::Platform, a.name.to_lowercase())
            .cmp(&(b.scope != UsageScope::Platform, b.name.to_lowercase()))
    });
    Ok(UsageView { tenants, alerts })
}

/// Who receives an alert: the franchise's owners, or the super admins for the platform
/// (enabled accounts).
async fn recipients(store: &dyn Store, who: UsageScope) -> AppResult<Vec<User>> {
    let (scope, role, franchise) = match who {
        UsageScope::Franchise(f) => (
            Scope::Franchise { franchise: f },
            Role::FranchiseOwner,
            Some(f),
        ),
        UsageScope::Platform => (Scope::Platform, Role::SuperAdmin, None),
    };
    crate::alerts::enabled_users(store, &scope, |m| {
        m.role == role && m.franchise_id == franchise && m.gym_id.is_none()
    })
    .await
}

/// The sealed e-mails of an alert, one per recipient in their language. Failures are logged
/// and give no e-mail: the usage page still shows the alert.
async fn alert_emails(
    store: &dyn Store,
    mail: &AlertMail<'_>,
    alert: &NewUsageAlert,
) -> Vec<NewEmail> {
    let users = match recipients(store, alert.scope).await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the recipients of a usage alert");
            return Vec::new();
        }
    };
    let name = match alert.scope {
        UsageScope::Franchise(f) => store
            .franchise(&Scope::Platform, f)
            .await
            .map(|f| f.name)
            .ok(),
        UsageScope::Platform => None,
    };
    let link = format!("{}/app/usage", mail.public_base);
    let mut out = Vec::with_capacity(users.len());
    for u in &users {
        match outbox::seal(mail.master, alert_email(u, alert, name.as_deref(), &link)) {
            Ok(m) => out.push(m),
            Err(e) => tracing::warn!(error = %e, "cannot seal a usage alert e-mail"),
        }
    }
    out
}

/// A metric's name in a language.
pub fn metric_name(metric: UsageMetric, fr: bool) -> &'static str {
    match (metric, fr) {
        (UsageMetric::Rows, true) => "lignes en base",
        (UsageMetric::Rows, false) => "database rows",
        (UsageMetric::DbBytes, true) => "taille de la base",
        (UsageMetric::DbBytes, false) => "database size",
        (UsageMetric::ApiRequests, true) => "requêtes API du mois",
        (UsageMetric::ApiRequests, false) => "API requests this month",
        (UsageMetric::StorageBytes, true) => "stockage de fichiers",
        (UsageMetric::StorageBytes, false) => "file storage",
        (UsageMetric::VoiceMinutes, true) => "minutes de voix du mois",
        (UsageMetric::VoiceMinutes, false) => "voice minutes this month",
        (UsageMetric::AiCostMicros, true) => "coût IA du mois",
        (UsageMetric::AiCostMicros, false) => "AI cost this month",
    }
}

/// A metric's value with its unit in the reader's language (`1.5 MB` / `1,5 MB`, `$12.34` /
/// `12,34 $`, `1,234` / `1 234`): the one formatter of the usage e-mails and pages.
pub fn format_value(f: &Fmt, metric: UsageMetric, value: u64) -> String {
    match metric {
        UsageMetric::DbBytes | UsageMetric::StorageBytes => {
            let mb = value as f64 / (1024.0 * 1024.0);
            if mb >= 1024.0 {
                format!("{} GB", f.dec(&(mb / 1024.0), &1))
            } else {
                format!("{} MB", f.dec(&mb, &1))
            }
        }
        UsageMetric::AiCostMicros => f.usd_cents(&value),
        _ => f.int(&value),
    }
}

/// The alert e-mail for one recipient, in their language.
pub fn alert_email(
    user: &User,
    alert: &NewUsageAlert,
    franchise: Option<&str>,
    link: &str,
) -> Email {
    let fr = user.locale == Locale::Fr;
    // Usage is counted per UTC month, for a franchise or the platform: no gym zone applies.
    let f = Fmt::new(user.locale, None);
    let what = metric_name(alert.metric, fr);
    let value = format_value(&f, alert.metric, alert.value);
    let limit = format_value(&f, alert.metric, alert.limit);
    let pct = alert.threshold.percent();
    let period = f.month_long(&alert.period.first_day());
    let whose = match (franchise, fr) {
        (Some(f), true) => format!("de la franchise {f}"),
        (Some(f), false) => format!("of the franchise {f}"),
        (None, true) => "de la plateforme".to_string(),
        (None, false) => "of the platform".to_string(),
    };
    let (subject, lead, tail) = match (fr, alert.threshold) {
        (true, BudgetThreshold::Warn80) => (
            format!("JARVIS : {pct} % de la limite atteints ({what}, {period})"),
            format!(
                "L'usage {whose} atteint {pct} % de sa limite ({what}) pour {period} : {value} sur {limit}."
            ),
            "Rien n'est bloqué ; pensez à réduire l'usage ou à relever la limite.".to_string(),
        ),
        (true, BudgetThreshold::Exhausted) => (
            format!("JARVIS : limite atteinte ({what}, {period})"),
            format!(
                "L'usage {whose} a atteint sa limite ({what}) pour {period} : {value} sur {limit}."
            ),
            "Rien n'est bloqué automatiquement ; relevez la limite ou réduisez l'usage."
                .to_string(),
        ),
        (false, BudgetThreshold::Warn80) => (
            format!("JARVIS: {pct}% of a usage limit reached ({what}, {period})"),
            format!(
                "The usage {whose} is at {pct}% of its limit ({what}) for {period}: {value} of {limit}."
            ),
            "Nothing is blocked; consider reducing usage or raising the limit.".to_string(),
        ),
        (false, BudgetThreshold::Exhausted) => (
            format!("JARVIS: usage limit reached ({what}, {period})"),
            format!(
                "The usage {whose} has reached its limit ({what}) for {period}: {value} of {limit}."
            ),
            "Nothing is blocked automatically; raise the limit or reduce usage.".to_string(),
        ),
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
        kind: "usage_alert".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_at_80_and_100_percent() {
        assert!(reached(79, 100).is_empty());
        assert_eq!(reached(80, 100), vec![BudgetThreshold::Warn80]);
        assert_eq!(
            reached(100, 100),
            vec![BudgetThreshold::Warn80, BudgetThreshold::Exhausted]
        );
        assert!(reached(u64::MAX, 0).is_empty(), "0 is unlimited");
        assert_eq!(percent(50, 200), 25);
        assert_eq!(percent(5, 0), 0);
    }

    #[test]
    fn values_carry_their_unit_in_the_readers_language() {
        let en = Fmt::new(Locale::En, None);
        let fr = Fmt::new(Locale::Fr, None);
        let cost = UsageMetric::AiCostMicros;
        assert_eq!(format_value(&en, cost, 12_345_678), "$12.34");
        assert_eq!(format_value(&fr, cost, 12_345_678), "12,34\u{a0}$");
        let storage = UsageMetric::StorageBytes;
        assert_eq!(format_value(&en, storage, 3 * 1024 * 1024 / 2), "1.5 MB");
        assert_eq!(format_value(&fr, storage, 3 * 1024 * 1024 / 2), "1,5 MB");
        assert_eq!(format_value(&en, storage, 2 * 1024 * 1024 * 1024), "2.0 GB");
        assert_eq!(format_value(&en, UsageMetric::Rows, 42), "42");
        assert_eq!(format_value(&en, UsageMetric::Rows, 1_234), "1,234");
        assert_eq!(format_value(&fr, UsageMetric::Rows, 1_234), "1\u{202f}234");
    }

    #[test]
    fn the_alert_names_its_month_in_the_readers_language() {
        let alert = NewUsageAlert {
            scope: UsageScope::Platform,
            metric: UsageMetric::AiCostMicros,
            period: BudgetPeriod::of(time::macros::datetime!(2026-11-15 12:00 UTC)),
            threshold: BudgetThreshold::Warn80,
            value: 1_234_000_000,
            limit: 1_500_000_000,
        };
        let user = |locale| User {
            id: UserId::new(),
            email: "a@x.test".into(),
            display_name: "A".into(),
            locale,
            created_at: OffsetDateTime::now_utc(),
            disabled_at: None,
        };
        let fr = alert_email(&user(Locale::Fr), &alert, None, "http://x/app/usage");
        assert!(fr.subject.contains("novembre 2026"), "{}", fr.subject);
        assert!(
            fr.text
                .contains("1\u{202f}234,00\u{a0}$ sur 1\u{202f}500,00\u{a0}$"),
            "{}",
            fr.text
        );
        assert!(!fr.text.contains("2026-11"));
        let en = alert_email(&user(Locale::En), &alert, None, "http://x/app/usage");
        assert!(en.subject.contains("November 2026"), "{}", en.subject);
        assert!(en.text.contains("$1,234.00 of $1,500.00"), "{}", en.text);
    }
}
