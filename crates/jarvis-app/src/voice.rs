//! Voice sessions, staff side: a gym's live calls and their hang-up, the session history with
//! its filters, one session with its transcript, tool calls, costs and latency, the follow-ups
//! the assistant handed to staff, the month's budget alerts; the price table and the platform's
//! budget for super admins; and the e-mails of a budget alert. The pages call these with the
//! scope they were authorized for; the broker (`jarvis-voice`) runs the calls themselves.

use crate::accounts::email::escape_html;
use crate::auth::crypto::MasterKey;
use crate::error::{AppError, AppResult};
use crate::outbox::{self, Email};
use jarvis_core::authz::Action;
use jarvis_core::cost::{BudgetPeriod, BudgetThreshold, PicoUsd, pico_to_micro};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::{
    BudgetAlert, BudgetScope, LatencySource, NewBudgetAlert, NewEmail, SessionFilter, SessionSort,
    Spend, Store, StoreError,
};
use std::collections::HashMap;
use time::{Date, Duration, OffsetDateTime};

/// Reading a gym's calls (transcripts are personal data: managers and above, not staff).
pub const READ: Action = Action::ReportRead;
/// Hanging up a gym's running call (managers and above, like the kiosks it runs on).
pub const HANG_UP: Action = Action::KioskManage;
/// Resolving a follow-up the assistant handed to staff.
pub const RESOLVE: Action = Action::MemberWrite;
/// Editing the price table and the platform's budget.
pub const PLATFORM: Action = Action::PlatformAdmin;

/// How far back the gym's p50/p95 latency looks: this many UTC days, today included.
pub const LATENCY_DAYS: i64 = 30;

/// The gym's per-turn latency over the last [`LATENCY_DAYS`] UTC days, from the daily rollup.
async fn gym_latency(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    now: OffsetDateTime,
) -> AppResult<LatencyStats> {
    let today = now.to_offset(time::UtcOffset::UTC).date();
    let first = today - Duration::days(LATENCY_DAYS - 1);
    Ok(store
        .latency(scope, gym, LatencySource::Turn, first, today)
        .await?)
}

/// A session with what the pages show next to it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The session.
    pub session: VoiceSession,
    /// The member's name (`None` once erased).
    pub member: Option<String>,
    /// The member's badge.
    pub badge: Option<String>,
    /// The kiosk's name (`None` once deleted).
    pub kiosk: Option<String>,
    /// Seconds from start to end (or to now while live).
    pub duration_secs: i64,
}

impl SessionRow {
    /// Total cost in micro-dollars.
    pub fn cost_micros(&self) -> u64 {
        pico_to_micro(self.session.cost_pico)
    }
}

/// One session with everything the session page shows.
#[derive(Debug, Clone)]
pub struct SessionDetail {
    /// The session.
    pub row: SessionRow,
    /// Its turns in order (at most 200).
    pub turns: Vec<ConversationTurn>,
    /// Its tool calls in order.
    pub tool_calls: Vec<ToolCall>,
    /// Follow-ups linked to it.
    pub follow_ups: Vec<FollowUp>,
    /// The gym's responsiveness over the last [`LATENCY_DAYS`] UTC days.
    pub gym_latency: LatencyStats,
}

/// The gym's voice overview: live calls, the month's spend and alerts, waiting follow-ups.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Calls holding a slot now.
    pub live: Vec<SessionRow>,
    /// The current month.
    pub period: BudgetPeriod,
    /// Spend this month.
    pub spend: Spend,
    /// This month's alerts for this gym (and, for super admins, the platform's), newest first.
    pub alerts: Vec<BudgetAlert>,
    /// Follow-ups not done yet, newest first (at most 50).
    pub follow_ups: Vec<FollowUpRow>,
    /// Follow-ups waiting in all.
    pub follow_ups_total: u64,
    /// The gym's responsiveness over the last [`LATENCY_DAYS`] UTC days.
    pub latency: LatencyStats,
}

/// A follow-up with the member's name.
#[derive(Debug, Clone)]
pub struct FollowUpRow {
    /// The follow-up.
    pub follow_up: FollowUp,
    /// The member's name, when known.
    pub member: Option<String>,
}

/// Adds names to sessions: the gym's kiosks once, each member once.
async fn rows(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    sessions: Vec<VoiceSession>,
    now: OffsetDateTime,
) -> AppResult<Vec<SessionRow>> {
    let kiosks: HashMap<KioskId, String> = store
        .list_kiosks(
            scope,
            gym,
            PageRequest::new(Some(200), None).unwrap_or_default(),
        )
        .await?
        .items
        .into_iter()
        .map(|k| (k.id, k.name))
        .collect();
    let ids: Vec<MemberId> = sessions.iter().filter_map(|s| s.member_id).collect();
    // One read for the page's members (an erased member is simply not found: no name).
    let members: HashMap<MemberId, (String, String)> = store
        .members_by_ids(scope, gym, &ids)
        .await?
        .into_iter()
        .map(|m| {
            (
                m.id,
                (format!("{} {}", m.first_name, m.last_name), m.badge_id),
            )
        })
        .collect();
    let mut out = Vec::with_capacity(sessions.len());
    for s in sessions {
        let m = s.member_id.and_then(|id| members.get(&id).cloned());
        let end = s.ended_at.unwrap_or(now);
        out.push(SessionRow {
            duration_secs: (end - s.started_at).whole_seconds().max(0),
            kiosk: s.kiosk_id.and_then(|k| kiosks.get(&k).cloned()),
            member: m.as_ref().map(|(n, _)| n.clone()),
            badge: m.map(|(_, b)| b),
            session: s,
        });
    }
    Ok(out)
}

async fn names(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    follow_ups: Vec<FollowUp>,
) -> AppResult<Vec<FollowUpRow>> {
    let ids: Vec<MemberId> = follow_ups.iter().filter_map(|f| f.member_id).collect();
    let names: HashMap<MemberId, String> = store
        .members_by_ids(scope, gym, &ids)
        .await?
        .into_iter()
        .map(|m| (m.id, format!("{} {}", m.first_name, m.last_name)))
        .collect();
    let mut out = Vec::with_capacity(follow_ups.len());
    for f in follow_ups {
        let member = f.member_id.and_then(|id| names.get(&id).cloned());
        out.push(FollowUpRow {
            follow_up: f,
            member,
        });
    }
    Ok(out)
}

/// The session of `id` if it belongs to `gym` (another gym's is not found, even in scope).
async fn session_of_gym(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    id: VoiceSessionId,
) -> AppResult<VoiceSession> {
    let s = store.voice_session(scope, id).await?;
    if s.gym_id != gym {
        return Err(StoreError::NotFound("voice session").into());
    }
    Ok(s)
}

/// The alerts of `period` that concern `gym` (and the platform's, when the scope sees them).
pub async fn period_alerts(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    period: BudgetPeriod,
) -> AppResult<Vec<BudgetAlert>> {
    let page = store
        .list_budget_alerts(scope, PageRequest::new(Some(200), None).unwrap_or_default())
        .await?;
    Ok(page
        .items
        .into_iter()
        .filter(|a| a.period == period)
        .filter(|a| match a.scope {
            BudgetScope::Gym { gym: g, .. } => g == gym,
            BudgetScope::Platform => true,
        })
        .collect())
}

/// The gym's voice overview at `now`.
pub async fn overview(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    now: OffsetDateTime,
) -> AppResult<Overview> {
    let period = BudgetPeriod::of(now);
    let live = store.live_voice_sessions(scope, gym).await?;
    let live = rows(store, scope, gym, live, now).await?;
    let spend = store.month_to_date(scope, gym, period).await?;
    let alerts = period_alerts(store, scope, gym, period).await?;
    let fu = store
        .list_follow_ups(
            scope,
            gym,
            Some(FollowUpStatus::Open),
            PageRequest::new(Some(50), None).unwrap_or_default(),
        )
        .await?;
    let follow_ups_total = fu.total;
    let follow_ups = names(store, scope, gym, fu.items).await?;
    let latency = gym_latency(store, scope, gym, now).await?;
    Ok(Overview {
        live,
        period,
        spend,
        alerts,
        follow_ups,
        follow_ups_total,
        latency,
    })
}

/// The history filter as typed in the page's form, before checking.
#[derive(Debug, Clone, Default)]
pub struct HistoryQuery {
    /// First day (`YYYY-MM-DD`, UTC), inclusive.
    pub from: String,
    /// Last day (`YYYY-MM-DD`, UTC), inclusive.
    pub to: String,
    /// The member's badge.
    pub badge: String,
    /// An end reason's storage name.
    pub reason: String,
    /// The order (a [`SessionSort`] key; anything else is the default, newest first).
    pub sort: String,
}

/// Parses a `YYYY-MM-DD` day.
pub fn parse_day(s: &str) -> Option<Date> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), f).ok()
}

/// Checks the typed filter and turns it into the store's (a badge no member holds matches no
/// session, rather than every session).
pub async fn history_filter(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    q: &HistoryQuery,
) -> AppResult<(SessionFilter, bool)> {
    let mut v = ValidationErrors::new();
    let mut day = |field: &'static str, s: &str| -> Option<Date> {
        if s.trim().is_empty() {
            return None;
        }
        let d = parse_day(s);
        if d.is_none() {
            v.push(FieldError::new(
                field,
                "invalid_format",
                "must be a date YYYY-MM-DD",
            ));
        }
        d
    };
    let from = day("from", &q.from).map(|d| d.midnight().assume_utc());
    let to = day("to", &q.to)
        .and_then(|d| d.next_day())
        .map(|d| d.midnight().assume_utc());
    let end_reason = match q.reason.trim() {
        "" => None,
        r => match EndReason::parse(r) {
            Some(r) => Some(r),
            None => {
                v.push(FieldError::new(
                    "reason",
                    "invalid_format",
                    "unknown end reason",
                ));
                None
            }
        },
    };
    v.finish()?;
    let mut none_match = false;
    let member_id = match q.badge.trim() {
        "" => None,
        b => match store.member_by_badge(scope, gym, b).await {
            Ok(m) => Some(m.id),
            Err(StoreError::NotFound(_)) => {
                none_match = true;
                None
            }
            Err(e) => return Err(e.into()),
        },
    };
    Ok((
        SessionFilter {
            from,
            to,
            member_id,
            end_reason,
            status: None,
            sort: SessionSort::parse(&q.sort),
        },
        none_match,
    ))
}

/// One page of the gym's session history, newest first.
pub async fn history(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    q: &HistoryQuery,
    page: PageRequest,
    now: OffsetDateTime,
) -> AppResult<Page<SessionRow>> {
    let (filter, none_match) = history_filter(store, scope, gym, q).await?;
    if none_match {
        return Ok(Page {
            items: Vec::new(),
            total: 0,
            total_capped: false,
            limit: page.limit,
            offset: page.offset,
        });
    }
    let p = store.list_voice_sessions(scope, gym, &filter, page).await?;
    let items = rows(store, scope, gym, p.items, now).await?;
    Ok(Page {
        items,
        total: p.total,
        total_capped: p.total_capped,
        limit: p.limit,
        offset: p.offset,
    })
}

/// One session of the gym with its transcript, tool calls, follow-ups and the gym's latency.
pub async fn session(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    id: VoiceSessionId,
    now: OffsetDateTime,
) -> AppResult<SessionDetail> {
    let s = session_of_gym(store, scope, gym, id).await?;
    let turns = store
        .turns(
            scope,
            id,
            PageRequest::new(Some(200), None).unwrap_or_default(),
        )
        .await?
        .items;
    let tool_calls = store.tool_calls(scope, id).await?;
    // The session's follow-ups, among the gym's latest (hand-offs are rare).
    let follow_ups = store
        .list_follow_ups(
            scope,
            gym,
            None,
            PageRequest::new(Some(200), None).unwrap_or_default(),
        )
        .await?
        .items
        .into_iter()
        .filter(|f| f.session_id == Some(id))
        .collect();
    let gym_latency = gym_latency(store, scope, gym, now).await?;
    let row = rows(store, scope, gym, vec![s], now)
        .await?
        .pop()
        .ok_or(StoreError::NotFound("voice session"))?;
    Ok(SessionDetail {
        row,
        turns,
        tool_calls,
        follow_ups,
        gym_latency,
    })
}

/// Asks the call's owner (whichever instance runs it) to hang up; it ends as `staff_ended` at
/// its next lease renewal. False when the call was no longer live.
pub async fn hang_up(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: VoiceSessionId,
) -> AppResult<bool> {
    session_of_gym(store, scope, gym, id).await?;
    Ok(store.request_hangup(scope, actor, id).await?)
}

/// Marks a follow-up of the gym done.
pub async fn resolve_follow_up(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: FollowUpId,
) -> AppResult<FollowUp> {
    Ok(store.resolve_follow_up(scope, actor, gym, id).await?)
}

/// A price as typed on the prices page: USD per 1M tokens (per minute for `per_minute`).
#[derive(Debug, Clone, Default)]
pub struct PriceForm {
    /// Model id.
    pub model: String,
    /// First day it applies (`YYYY-MM-DD`, UTC midnight).
    pub effective_from: String,
    /// The nine prices by field name (`text_in`, …, `per_minute`), as typed.
    pub prices: Vec<(&'static str, String)>,
}

/// The price fields of the form, in order.
pub const PRICE_FIELDS: [&str; 9] = [
    "text_in",
    "text_cached",
    "text_out",
    "audio_in",
    "audio_cached",
    "audio_out",
    "image_in",
    "image_cached",
    "per_minute",
];

/// Checks the typed price (every field error at once, named by field) and stores it.
pub async fn add_model_price(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    form: &PriceForm,
) -> AppResult<ModelPriceEntry> {
    let mut v = ValidationErrors::new();
    let effective_from = match parse_day(&form.effective_from) {
        Some(d) => d.midnight().assume_utc(),
        None => {
            v.push(FieldError::new(
                "effective_from",
                "invalid_format",
                "must be a date YYYY-MM-DD",
            ));
            OffsetDateTime::UNIX_EPOCH
        }
    };
    let mut price = jarvis_core::cost::ModelPrice::new(0, 0, 0, 0, 0, 0, 0, 0);
    for (name, text) in &form.prices {
        let value = if text.trim().is_empty() {
            0
        } else {
            match jarvis_core::cost::usd_per_million_to_pico(text) {
                Ok(p) => p,
                Err(_) => {
                    v.push(FieldError::new(
                        format!("price.{name}"),
                        "invalid_format",
                        "must be a number of dollars like 0.60 (at most 6 decimals)",
                    ));
                    continue;
                }
            }
        };
        match *name {
            "text_in" => price.text_in = value,
            "text_cached" => price.text_cached = value,
            "text_out" => price.text_out = value,
            "audio_in" => price.audio_in = value,
            "audio_cached" => price.audio_cached = value,
            "audio_out" => price.audio_out = value,
            "image_in" => price.image_in = value,
            "image_cached" => price.image_cached = value,
            "per_minute" => price.per_minute = value,
            _ => {}
        }
    }
    let new = NewModelPrice {
        model: form.model.clone(),
        price,
        effective_from,
    };
    // Model and ranges are the API's own checks; merge them with the form's.
    let new = match new.validate() {
        Ok(n) => n,
        Err(e) => {
            for fe in e.0 {
                v.push(fe);
            }
            return Err(AppError::Invalid(v));
        }
    };
    v.finish()?;
    Ok(store.set_model_price(scope, actor, new).await?)
}

/// The platform's voice settings as typed on the prices page.
#[derive(Debug, Clone, Default)]
pub struct PlatformForm {
    /// Monthly budget in dollars (`1000`, `12.50`).
    pub budget_usd: String,
    /// Global cap of concurrent calls.
    pub cap: String,
    /// Hard stop at 100 %.
    pub hard_stop: bool,
    /// Realtime model of new calls (empty: unchanged).
    pub realtime_model: String,
    /// Transcription model of new calls (empty: unchanged).
    pub transcription_model: String,
}

/// Sets the platform's monthly budget (typed in dollars), global cap, hard stop and models
/// (each error named by its field).
pub async fn set_platform_limits(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    form: &PlatformForm,
) -> AppResult<PlatformSettings> {
    let budget_usd = form.budget_usd.as_str();
    let cap = form.cap.as_str();
    let hard_stop = form.hard_stop;
    let mut v = ValidationErrors::new();
    let current = store.platform_settings().await?;
    let budget = match jarvis_core::cost::usd_per_million_to_pico(budget_usd) {
        // The parser reads dollars with 6 decimals into millionths: micro-dollars here.
        Ok(micros) => i64::try_from(micros).unwrap_or(i64::MAX),
        Err(_) => {
            v.push(FieldError::new(
                "monthly_budget_micros",
                "invalid_format",
                "must be a number of dollars like 1000 or 12.50",
            ));
            current.monthly_budget_micros
        }
    };
    let cap = match cap.trim().parse::<u32>() {
        Ok(c) => c,
        Err(_) => {
            v.push(FieldError::new(
                "voice_session_cap",
                "out_of_range",
                format!("must be between 1 and {MAX_GLOBAL_CAP}"),
            ));
            current.voice_session_cap
        }
    };
    let model = |typed: &str, current: String| {
        if typed.trim().is_empty() {
            current
        } else {
            typed.to_string()
        }
    };
    let new = PlatformSettings {
        monthly_budget_micros: budget,
        voice_session_cap: cap,
        hard_stop,
        realtime_model: model(&form.realtime_model, current.realtime_model.clone()),
        transcription_model: model(
            &form.transcription_model,
            current.transcription_model.clone(),
        ),
    };
    // A model without a price would make every call's usage unbillable.
    let table = store.price_table_at(OffsetDateTime::now_utc()).await?;
    for (field, typed, was) in [
        (
            "realtime_model",
            &new.realtime_model,
            &current.realtime_model,
        ),
        (
            "transcription_model",
            &new.transcription_model,
            &current.transcription_model,
        ),
    ] {
        if typed != was && !typed.trim().is_empty() && table.get(typed.trim()).is_none() {
            v.push(FieldError::new(
                field,
                "unpriced",
                "no price in effect for this model: add its price first",
            ));
        }
    }
    let new = match new.validate() {
        Ok(n) => n,
        Err(e) => {
            for fe in e.0 {
                if !v.0.iter().any(|x| x.field == fe.field) {
                    v.push(fe);
                }
            }
            return Err(AppError::Invalid(v));
        }
    };
    v.finish()?;
    Ok(store.set_platform_settings(scope, actor, new).await?)
}

/// Who receives a budget alert: the gym's managers (enabled accounts) for a gym's budget, the
/// super admins for the platform's.
async fn alert_recipients(store: &dyn Store, alert: &NewBudgetAlert) -> AppResult<Vec<User>> {
    // The role that receives it, and where (a gym, or the platform for `None`).
    let (scope, role, gym) = match alert.scope {
        BudgetScope::Gym { franchise, gym } => {
            (Scope::Gym { franchise, gym }, Role::GymManager, Some(gym))
        }
        BudgetScope::Platform => (Scope::Platform, Role::SuperAdmin, None),
    };
    crate::alerts::users_with_role(store, &scope, role, gym).await
}

fn dollars(micros: u64) -> String {
    format!(
        "{}.{:02}",
        micros / 1_000_000,
        (micros % 1_000_000) / 10_000
    )
}

/// The alert e-mail for one recipient, in their language.
pub fn alert_email(
    user: &User,
    alert: &NewBudgetAlert,
    gym_name: Option<&str>,
    link: &str,
) -> Email {
    let spent = dollars(pico_to_micro(alert.spent_pico));
    let budget = dollars(alert.budget_micros);
    let pct = alert.threshold.percent();
    let fr = user.locale == Locale::Fr;
    let whose = match (gym_name, fr) {
        (Some(g), true) => format!("de la salle {g}"),
        (Some(g), false) => format!("of the gym {g}"),
        (None, true) => "de la plateforme".to_string(),
        (None, false) => "of the platform".to_string(),
    };
    let period = alert.period;
    let (subject, lead, tail) = match (fr, alert.threshold) {
        (true, BudgetThreshold::Warn80) => (
            format!("JARVIS : {pct} % du budget IA atteint ({period})"),
            format!("Le budget IA mensuel {whose} est consommé à {pct} % pour {period} : {spent} $ sur {budget} $."),
            "Les conversations continuent ; pensez à ajuster le budget si besoin.".to_string(),
        ),
        (true, BudgetThreshold::Exhausted) => (
            format!("JARVIS : budget IA épuisé ({period})"),
            format!("Le budget IA mensuel {whose} est épuisé pour {period} : {spent} $ sur {budget} $."),
            "Avec l'arrêt à 100 % activé, les nouvelles conversations sont refusées et celles en cours raccrochées jusqu'au mois prochain ou à une hausse du budget.".to_string(),
        ),
        (false, BudgetThreshold::Warn80) => (
            format!("JARVIS: {pct}% of the AI budget reached ({period})"),
            format!("The monthly AI budget {whose} is {pct}% spent for {period}: ${spent} of ${budget}."),
            "Conversations go on; consider raising the budget if needed.".to_string(),
        ),
        (false, BudgetThreshold::Exhausted) => (
            format!("JARVIS: AI budget spent ({period})"),
            format!("The monthly AI budget {whose} is spent for {period}: ${spent} of ${budget}."),
            "With the hard stop on, new conversations are refused and running ones hung up until next month or a higher budget.".to_string(),
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
        kind: "budget_alert".into(),
    }
}

/// The sealed e-mails of a budget alert, one per recipient, for the outbox (queued by the store
/// in the alert's own transaction, so they leave exactly when the alert is new). Failures are
/// logged and give no e-mail: the dashboard notice still shows the alert.
pub async fn alert_emails(
    store: &dyn Store,
    master: &MasterKey,
    public_base: &str,
    alert: &NewBudgetAlert,
) -> Vec<NewEmail> {
    let users = match alert_recipients(store, alert).await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the recipients of a budget alert");
            return Vec::new();
        }
    };
    let (gym_name, link) = match alert.scope {
        BudgetScope::Gym { franchise, gym } => {
            let name = store
                .gym(&Scope::Gym { franchise, gym }, gym)
                .await
                .map(|g| g.name)
                .ok();
            (name, format!("{public_base}/app/gyms/{gym}/voice"))
        }
        BudgetScope::Platform => (None, format!("{public_base}/app/voice/prices")),
    };
    let mut out = Vec::with_capacity(users.len());
    for u in &users {
        let mail = alert_email(u, alert, gym_name.as_deref(), &link);
        match outbox::seal(master, mail) {
            Ok(m) => out.push(m),
            Err(e) => tracing::warn!(error = %e, "cannot seal a budget alert e-mail"),
        }
    }
    out
}

/// Micro-dollars of pico-dollars, for templates.
pub fn micros_of(pico: PicoUsd) -> u64 {
    pico_to_micro(pico)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn user(locale: Locale, name: &str) -> User {
        User {
            id: UserId::new(),
            email: "m@x.test".into(),
            display_name: name.into(),
            locale,
            created_at: OffsetDateTime::now_utc(),
            disabled_at: None,
        }
    }

    fn alert(threshold: BudgetThreshold) -> NewBudgetAlert {
        NewBudgetAlert {
            scope: BudgetScope::Platform,
            period: BudgetPeriod::new(2026, time::Month::March).unwrap(),
            threshold,
            spent_pico: 80_500_000 * 1_000_000,
            budget_micros: 100_000_000,
        }
    }

    #[test]
    fn alert_emails_speak_the_recipients_language_and_escape_names() {
        let en = alert_email(
            &user(Locale::En, "<Ann>"),
            &alert(BudgetThreshold::Warn80),
            Some("Lyon"),
            "http://x/app/gyms/1/voice",
        );
        assert_eq!(en.subject, "JARVIS: 80% of the AI budget reached (2026-03)");
        assert!(en.text.contains("of the gym Lyon") && en.text.contains("$80.50 of $100.00"));
        assert!(en.html.contains("&lt;Ann&gt;") && !en.html.contains("<Ann>"));
        assert_eq!(en.kind, "budget_alert");
        let fr = alert_email(
            &user(Locale::Fr, "Zoé"),
            &alert(BudgetThreshold::Exhausted),
            None,
            "http://x/app/voice/prices",
        );
        assert!(fr.subject.contains("budget IA épuisé"));
        assert!(
            fr.text.contains("de la plateforme") && fr.text.contains("http://x/app/voice/prices")
        );
    }

    #[test]
    fn days_parse_strictly() {
        assert_eq!(
            parse_day(" 2026-02-28 ").map(|d| d.to_string()),
            Some("2026-02-28".to_string())
        );
        assert!(parse_day("2026-02-30").is_none());
        assert!(parse_day("28/02/2026").is_none());
    }
}
