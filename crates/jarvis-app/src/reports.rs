//! Weekly gym reports: the `reports.weekly` job builds, for each active gym, the report of the
//! previous ISO week (Monday 00:00 to Monday 00:00 UTC), renders it as HTML in the gym's
//! language, stores it in the object store under `reports/<gym>/<yyyy-Www>.html`, records a
//! row (unique per gym and week: a rerun skips a week already done) and queues one e-mail per
//! gym manager in that row's transaction, so they leave once.
//!
//! What a report holds: conversations (ended sessions started in the week: count, distinct
//! members, average duration), average satisfaction and sentiment of their analyses, the five
//! most frequent topics, the ten highest churn risks (from the daily `churn.score`), the AI
//! spend of the week's UTC days (daily rollups), and kiosk uptime. No heartbeat history is
//! kept (a kiosk row has only its last heartbeat), so uptime is estimated as the days of the
//! week on which a badge scan or a conversation went through the kiosk, shown with its last
//! heartbeat.

use crate::accounts::email::escape_html;
use crate::auth::crypto::MasterKey;
use crate::objects::{Objects, ObjectsError};
use crate::outbox::{self, Email};
use crate::{AppError, AppResult};
use askama::Template;
use jarvis_core::authz::Action;
use jarvis_core::churn::{ChurnLevel, ChurnListEntry};
use jarvis_core::cost::pico_to_micro;
use jarvis_core::fmt::Fmt;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::{GymFilter, KioskActivity, NewEmail, NewReport, Report, Store};
use std::collections::BTreeMap;
use time::{Date, Duration, OffsetDateTime, Time};

/// Reading reports: whoever may read the gym's reports.
pub const READ: Action = Action::ReportRead;

/// Churn rows a report lists.
pub const CHURN_ROWS: u32 = 10;
/// Topics a report lists.
pub const TOP_TOPICS: usize = 5;

/// One ISO week, Monday 00:00 UTC to the next Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Week {
    /// Its Monday.
    pub monday: Date,
}

impl Week {
    /// The week holding `day`.
    pub fn of(day: Date) -> Self {
        let back = i64::from(day.weekday().number_days_from_monday());
        Week {
            monday: day - Duration::days(back),
        }
    }

    /// The week before the one holding `now`.
    pub fn previous(now: OffsetDateTime) -> Self {
        let this = Week::of(now.to_offset(time::UtcOffset::UTC).date());
        Week {
            monday: this.monday - Duration::days(7),
        }
    }

    /// `2026-W23`: the ISO year and week number.
    pub fn label(&self) -> String {
        let (year, week, _) = self.monday.to_iso_week_date();
        format!("{year}-W{week:02}")
    }

    /// Monday 00:00 UTC.
    pub fn starts_at(&self) -> OffsetDateTime {
        self.monday.with_time(Time::MIDNIGHT).assume_utc()
    }

    /// The next Monday 00:00 UTC (excluded).
    pub fn ends_at(&self) -> OffsetDateTime {
        self.starts_at() + Duration::days(7)
    }
}

/// The object key of a gym's report of a week.
pub fn object_key(gym: GymId, week: &Week) -> String {
    format!("reports/{gym}/{}.html", week.label())
}

/// A week's numbers for one gym.
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyReport {
    /// The gym's name.
    pub gym_name: String,
    /// The week.
    pub week: Week,
    /// The language it is written in.
    pub locale: Locale,
    /// The gym's IANA time zone, for the times it shows.
    pub timezone: String,
    /// Ended conversations started in the week.
    pub conversations: u64,
    /// Distinct members who talked.
    pub members: u64,
    /// Average conversation length, seconds.
    pub avg_duration_secs: Option<i64>,
    /// Average satisfaction, 1–5.
    pub satisfaction_avg: Option<f64>,
    /// Average sentiment, −1 to 1.
    pub sentiment_avg: Option<f64>,
    /// Most frequent topics with their counts, most frequent first.
    pub top_topics: Vec<(String, u64)>,
    /// The highest churn risks (level `high`), highest first.
    pub churn: Vec<ChurnListEntry>,
    /// AI spend of the week, micro-USD.
    pub cost_micros: u64,
    /// Paired kiosks and their activity.
    pub kiosks: Vec<KioskActivity>,
}

impl WeeklyReport {
    /// How a reader of `locale` reads its numbers, with times in the gym's zone (the stored
    /// page in the gym's language, each e-mail in its recipient's).
    pub fn fmt(&self, locale: Locale) -> Fmt {
        Fmt::for_gym(locale, &self.timezone)
    }

    /// `1 juin 2026 – 7 juin 2026` / `1 Jun 2026 – 7 Jun 2026`.
    pub fn period(&self, f: &Fmt) -> String {
        format!(
            "{} – {}",
            f.day(&self.week.monday),
            f.day(&(self.week.monday + Duration::days(6)))
        )
    }

    /// Average length as `m:ss`, or `—`.
    pub fn avg_duration(&self) -> String {
        self.avg_duration_secs
            .map_or("—".into(), |s| format!("{}:{:02}", s / 60, s % 60))
    }

    /// Average satisfaction with one decimal (`4,2 / 5` / `4.2 / 5`), or `—`.
    pub fn satisfaction(&self, f: &Fmt) -> String {
        self.satisfaction_avg
            .map_or("—".into(), |v| format!("{} / 5", f.dec(&v, &1)))
    }

    /// Average sentiment with two decimals and its sign (`+0,10` / `+0.10`), or `—`.
    pub fn sentiment(&self, f: &Fmt) -> String {
        self.sentiment_avg.map_or("—".into(), |v| {
            let s = f.dec(&v, &2);
            // The scale runs from −1 to 1: a positive value says so too.
            if s.starts_with('-') {
                s
            } else {
                format!("+{s}")
            }
        })
    }

    /// The spend to the cent (`12,34 $` / `$12.34`).
    pub fn cost(&self, f: &Fmt) -> String {
        f.usd_cents(&self.cost_micros)
    }

    /// How many members are at high risk, as a number of the reader's language.
    pub fn churn_count(&self, f: &Fmt) -> String {
        f.int(&(self.churn.len() as u64))
    }

    /// A kiosk's active days, `5/7`.
    pub fn uptime(&self, k: &KioskActivity) -> String {
        format!("{}/7", k.active_days)
    }

    /// A kiosk's last heartbeat in the gym's zone, or `—`.
    pub fn last_seen(&self, f: &Fmt, k: &KioskActivity) -> String {
        f.at_opt(&k.last_seen_at)
    }

    /// The texts of its language.
    pub fn labels(&self) -> &'static Labels {
        Labels::of(self.locale)
    }
}

/// The fixed texts of a report, per language.
#[derive(Debug)]
pub struct Labels {
    /// Title.
    pub title: &'static str,
    /// Week.
    pub week: &'static str,
    /// Conversations section.
    pub conversations: &'static str,
    /// Count of conversations.
    pub count: &'static str,
    /// Distinct members.
    pub members: &'static str,
    /// Average length.
    pub avg_duration: &'static str,
    /// Satisfaction.
    pub satisfaction: &'static str,
    /// Sentiment.
    pub sentiment: &'static str,
    /// Topics section.
    pub topics: &'static str,
    /// No topic.
    pub no_topics: &'static str,
    /// Churn section.
    pub churn: &'static str,
    /// No high risk.
    pub no_churn: &'static str,
    /// Member column.
    pub member: &'static str,
    /// Score column.
    pub score: &'static str,
    /// Costs section.
    pub costs: &'static str,
    /// Spend line.
    pub spend: &'static str,
    /// Kiosks section.
    pub kiosks: &'static str,
    /// No kiosk.
    pub no_kiosks: &'static str,
    /// Kiosk column.
    pub kiosk: &'static str,
    /// Active days column.
    pub active_days: &'static str,
    /// Last heartbeat column.
    pub last_seen: &'static str,
    /// How uptime is estimated.
    pub uptime_note: &'static str,
    /// What goes between a label and its value: French puts a no-break space before a colon.
    pub colon: &'static str,
}

const FR: Labels = Labels {
    title: "Rapport hebdomadaire",
    week: "Semaine",
    conversations: "Conversations",
    count: "Conversations",
    members: "Membres distincts",
    avg_duration: "Durée moyenne",
    satisfaction: "Satisfaction moyenne",
    sentiment: "Sentiment moyen (−1 à 1)",
    topics: "Sujets les plus fréquents",
    no_topics: "Aucun sujet cette semaine.",
    churn: "Risque de départ élevé",
    no_churn: "Aucun membre à risque élevé.",
    member: "Membre",
    score: "Score",
    costs: "Coûts IA",
    spend: "Dépense de la semaine",
    kiosks: "Disponibilité des bornes",
    no_kiosks: "Aucune borne appairée.",
    kiosk: "Borne",
    active_days: "Jours actifs",
    last_seen: "Dernier signal",
    uptime_note: "Estimation\u{a0}: jours de la semaine où un badge ou une conversation est passé par la borne (aucun historique des signaux n'est conservé).",
    colon: "\u{a0}:",
};

const EN: Labels = Labels {
    title: "Weekly report",
    week: "Week",
    conversations: "Conversations",
    count: "Conversations",
    members: "Distinct members",
    avg_duration: "Average length",
    satisfaction: "Average satisfaction",
    sentiment: "Average sentiment (−1 to 1)",
    topics: "Top topics",
    no_topics: "No topic this week.",
    churn: "High churn risk",
    no_churn: "No member at high risk.",
    member: "Member",
    score: "Score",
    costs: "AI costs",
    spend: "Spend of the week",
    kiosks: "Kiosk uptime",
    no_kiosks: "No paired kiosk.",
    kiosk: "Kiosk",
    active_days: "Active days",
    last_seen: "Last heartbeat",
    uptime_note: "Estimate: days of the week on which a badge scan or a conversation went through the kiosk (no heartbeat history is kept).",
    colon: ":",
};

impl Labels {
    /// The texts of a language.
    pub fn of(locale: Locale) -> &'static Labels {
        match locale {
            Locale::Fr => &FR,
            Locale::En => &EN,
        }
    }
}

#[derive(Template)]
#[template(path = "reports/weekly.html")]
struct WeeklyHtml<'a> {
    r: &'a WeeklyReport,
    l: &'static Labels,
    f: Fmt,
}

/// The report as a standalone HTML page in the gym's language (every value escaped).
pub fn render(r: &WeeklyReport) -> AppResult<String> {
    WeeklyHtml {
        r,
        l: r.labels(),
        f: r.fmt(r.locale),
    }
    .render()
    .map_err(|e| AppError::Internal(format!("cannot render the weekly report: {e}")))
}

/// Counts topics case-insensitively (trimmed), most frequent first, then by name.
pub fn top_topics(analyses: &[Vec<String>], n: usize) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for topics in analyses {
        for t in topics {
            let t = t.trim().to_lowercase();
            if !t.is_empty() {
                *counts.entry(t).or_default() += 1;
            }
        }
    }
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

/// Gathers a gym's numbers for a week.
pub async fn gather(
    store: &dyn Store,
    scope: &Scope,
    gym: &Gym,
    week: Week,
) -> AppResult<WeeklyReport> {
    let stats = store
        .period_stats(scope, gym.id, week.starts_at(), week.ends_at())
        .await?;
    let churn = store
        .list_churn(
            scope,
            gym.id,
            Some(ChurnLevel::High),
            Default::default(),
            PageRequest {
                limit: CHURN_ROWS,
                offset: 0,
            },
        )
        .await?;
    let avg_duration_secs = (!stats.durations_secs.is_empty())
        .then(|| stats.durations_secs.iter().sum::<i64>() / stats.durations_secs.len() as i64);
    Ok(WeeklyReport {
        gym_name: gym.name.clone(),
        week,
        locale: gym.locale,
        timezone: gym.timezone.clone(),
        conversations: stats.conversations,
        members: stats.members,
        avg_duration_secs,
        satisfaction_avg: stats.satisfaction_avg,
        sentiment_avg: stats.sentiment_avg,
        top_topics: top_topics(&stats.topics, TOP_TOPICS),
        churn: churn.items,
        cost_micros: pico_to_micro(stats.cost_pico),
        kiosks: stats.kiosks,
    })
}

/// The report e-mail for one manager, in their language (texts and numbers): the summary
/// numbers and a link to the report page.
pub fn email(user: &User, r: &WeeklyReport, link: &str) -> Email {
    let fr = user.locale == Locale::Fr;
    let f = r.fmt(user.locale);
    let week = r.week.label();
    let gym = &r.gym_name;
    let subject = if fr {
        format!("JARVIS : rapport hebdomadaire de {gym} ({week})")
    } else {
        format!("JARVIS: weekly report of {gym} ({week})")
    };
    let l = Labels::of(user.locale);
    let colon = l.colon;
    let lines = [
        (l.count, f.int(&r.conversations)),
        (l.members, f.int(&r.members)),
        (l.avg_duration, r.avg_duration()),
        (l.satisfaction, r.satisfaction(&f)),
        (l.churn, r.churn_count(&f)),
        (l.spend, r.cost(&f)),
    ];
    let period = r.period(&f);
    let (hello, intro, see) = if fr {
        (
            "Bonjour",
            format!("Voici le résumé de la semaine {week} ({period}) pour {gym}{colon}"),
            "Voir le rapport",
        )
    } else {
        (
            "Hello",
            format!("Here is the summary of week {week} ({period}) for {gym}{colon}"),
            "See the report",
        )
    };
    let text_lines: String = lines
        .iter()
        .map(|(k, v)| format!("- {k}{colon} {v}\n"))
        .collect();
    let html_lines: String = lines
        .iter()
        .map(|(k, v)| format!("<li>{}{colon} {}</li>", escape_html(k), escape_html(v)))
        .collect();
    Email {
        to: user.email.clone(),
        subject,
        text: format!(
            "{hello} {},\n\n{intro}\n{text_lines}\n{see}{colon} {link}\n",
            user.display_name
        ),
        html: format!(
            "<p>{hello} {},</p><p>{}</p><ul>{html_lines}</ul><p><a href=\"{}\">{see}</a></p>",
            escape_html(&user.display_name),
            escape_html(&intro),
            escape_html(link)
        ),
        kind: "weekly_report".into(),
    }
}

/// The enabled gym managers of a gym (bounded: 10 pages of 200).
async fn managers(store: &dyn Store, scope: &Scope, gym: GymId) -> AppResult<Vec<User>> {
    crate::alerts::users_with_role(store, scope, Role::GymManager, Some(gym)).await
}

/// What building one gym's report did.
#[derive(Debug, Clone, PartialEq)]
pub enum ReportOutcome {
    /// Built, stored and recorded now, with this many e-mails queued.
    Created(Report, usize),
    /// The week was already reported (by an earlier run or another instance).
    Exists(Report),
}

/// Where the job's pieces are.
#[derive(Clone)]
pub struct ReportDeps {
    /// Storage.
    pub store: std::sync::Arc<dyn Store>,
    /// The object store for the HTML.
    pub objects: Objects,
    /// Seals the e-mails.
    pub master: MasterKey,
    /// Public URL of the dashboard, for the links.
    pub public_base: String,
}

fn objects_err(e: ObjectsError) -> AppError {
    AppError::Internal(e.to_string())
}

/// Builds, stores, records and e-mails one gym's report of `week`, unless already done.
pub async fn build_for_gym(deps: &ReportDeps, gym: &Gym, week: Week) -> AppResult<ReportOutcome> {
    let store = deps.store.as_ref();
    let scope = Scope::Gym {
        franchise: gym.franchise_id,
        gym: gym.id,
    };
    let label = week.label();
    if let Some(r) = store.report_of_week(&scope, gym.id, &label).await? {
        return Ok(ReportOutcome::Exists(r));
    }
    let report = gather(store, &scope, gym, week).await?;
    let html = render(&report)?;
    let key = object_key(gym.id, &week);
    let size = html.len() as u64;
    // Same key for the same week: a run that died after this put is overwritten by the next.
    deps.objects
        .put(&key, bytes::Bytes::from(html))
        .await
        .map_err(objects_err)?;
    let id = ReportId::new();
    let link = format!("{}/app/gyms/{}/reports/{id}", deps.public_base, gym.id);
    let mut emails: Vec<NewEmail> = Vec::new();
    for u in managers(store, &scope, gym.id).await? {
        match outbox::seal(&deps.master, email(&u, &report, &link)) {
            Ok(m) => emails.push(m),
            Err(e) => tracing::warn!(error = %e, "cannot seal a weekly report e-mail"),
        }
    }
    let queued = emails.len();
    let (row, created) = store
        .record_report(
            &scope,
            NewReport {
                id,
                gym_id: gym.id,
                week: label,
                starts_at: week.starts_at(),
                object_key: key,
                size_bytes: size,
            },
            emails,
        )
        .await?;
    Ok(if created {
        ReportOutcome::Created(row, queued)
    } else {
        ReportOutcome::Exists(row)
    })
}

/// What one `reports.weekly` run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WeeklyRun {
    /// Reports built now.
    pub created: u64,
    /// Weeks already reported.
    pub existing: u64,
    /// E-mails queued.
    pub emails: u64,
}

/// Builds every active gym's report of the week before `now` (the `reports.weekly` job), for
/// gyms that existed before that week ended; stops between gyms when `stop()`.
pub async fn run_weekly(
    deps: &ReportDeps,
    now: OffsetDateTime,
    stop: impl Fn() -> bool,
) -> AppResult<WeeklyRun> {
    let week = Week::previous(now);
    let mut run = WeeklyRun::default();
    let filter = GymFilter {
        status: Some(GymStatus::Active),
        ..Default::default()
    };
    let mut offset = 0u64;
    loop {
        let gyms = deps
            .store
            .list_gyms(
                &Scope::Platform,
                &filter,
                PageRequest { limit: 200, offset },
            )
            .await?;
        for g in &gyms.items {
            if stop() {
                return Ok(run);
            }
            // A gym opened after the week has nothing to report for it (this also keeps a new
            // installation's first catch-up run from reporting on gyms created today).
            if g.created_at >= week.ends_at() {
                continue;
            }
            match build_for_gym(deps, g, week).await? {
                ReportOutcome::Created(_, n) => {
                    run.created += 1;
                    run.emails += n as u64;
                }
                ReportOutcome::Exists(_) => run.existing += 1,
            }
        }
        offset += gyms.items.len() as u64;
        if gyms.items.is_empty() || offset >= gyms.total {
            break;
        }
    }
    Ok(run)
}

/// A gym's reports in `sort` order (newest week first by default).
pub async fn list(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    sort: jarvis_store::ReportSort,
    page: PageRequest,
) -> AppResult<Page<Report>> {
    Ok(store.list_reports(scope, gym, sort, page).await?)
}

/// One report's row and HTML (the row is read in the caller's scope first: another gym's
/// report is not found).
pub async fn open(
    store: &dyn Store,
    objects: &Objects,
    scope: &Scope,
    gym: GymId,
    id: ReportId,
) -> AppResult<(Report, bytes::Bytes)> {
    let r = store.report(scope, gym, id).await?;
    let body = objects.get(&r.object_key).await.map_err(|e| match e {
        ObjectsError::NotFound(_) => AppError::Store(jarvis_store::StoreError::NotFound("report")),
        other => objects_err(other),
    })?;
    Ok((r, body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn the_previous_week_is_the_iso_week_before() {
        // Monday 2026-06-08 06:00: the report is of 2026-06-01 – 2026-06-07.
        let w = Week::previous(datetime!(2026-06-08 06:00 UTC));
        assert_eq!(w.monday, date!(2026 - 06 - 01));
        assert_eq!(w.label(), "2026-W23");
        assert_eq!(w.starts_at(), datetime!(2026-06-01 00:00 UTC));
        assert_eq!(w.ends_at(), datetime!(2026-06-08 00:00 UTC));
        // Any day of a week belongs to it; the ISO year can differ from the calendar year.
        assert_eq!(
            Week::of(date!(2026 - 06 - 07)).monday,
            date!(2026 - 06 - 01)
        );
        assert_eq!(Week::of(date!(2027 - 01 - 01)).label(), "2026-W53");
    }

    #[test]
    fn topics_are_counted_case_insensitively() {
        let t = top_topics(
            &[
                vec!["Yoga".into(), "parking".into()],
                vec!["yoga ".into()],
                vec!["Cancel".into(), "parking".into(), "yoga".into()],
            ],
            2,
        );
        assert_eq!(t, vec![("yoga".into(), 3), ("parking".into(), 2)]);
    }

    fn report(locale: Locale) -> WeeklyReport {
        WeeklyReport {
            gym_name: "<Lyon & Co>".into(),
            week: Week::of(date!(2026 - 06 - 03)),
            locale,
            timezone: "UTC".into(),
            conversations: 12,
            members: 7,
            avg_duration_secs: Some(95),
            satisfaction_avg: Some(4.3),
            sentiment_avg: Some(0.3),
            top_topics: vec![("<script>".into(), 2)],
            churn: vec![],
            cost_micros: 12_345_678,
            kiosks: vec![],
        }
    }

    #[test]
    fn the_html_is_escaped_and_in_the_gyms_language() {
        let fr = render(&report(Locale::Fr)).unwrap();
        assert!(fr.contains("Rapport hebdomadaire") && fr.contains("2026-W23"));
        // Askama escapes with numeric entities.
        assert!(
            fr.contains("&#60;Lyon &#38; Co&#62;") && !fr.contains("<Lyon"),
            "{fr}"
        );
        assert!(fr.contains("&#60;script&#62;") && !fr.contains("<script>"));
        assert!(fr.contains("12,34\u{a0}$") && fr.contains("1:35") && fr.contains("4,3 / 5"));
        assert!(fr.contains("+0,30") && fr.contains("Dépense de la semaine\u{a0}:"));
        assert!(fr.contains("(1 juin 2026 – 7 juin 2026)"), "{fr}");
        let en = render(&report(Locale::En)).unwrap();
        assert!(en.contains("Weekly report") && !en.contains("Rapport"));
        assert!(en.contains("$12.34") && en.contains("4.3 / 5") && en.contains("+0.30"));
        // English puts no space before a colon.
        assert!(
            en.contains("Spend of the week: <strong") && !en.contains(" :"),
            "{en}"
        );
    }

    #[test]
    fn the_email_has_the_numbers_a_link_and_escaped_names() {
        let u = User {
            id: UserId::new(),
            email: "m@x.test".into(),
            display_name: "<Ann>".into(),
            locale: Locale::En,
            created_at: OffsetDateTime::now_utc(),
            disabled_at: None,
        };
        let e = email(&u, &report(Locale::Fr), "http://x/app/gyms/1/reports/2");
        assert_eq!(e.subject, "JARVIS: weekly report of <Lyon & Co> (2026-W23)");
        assert!(
            e.text.contains("- Conversations: 12")
                && e.text.contains("http://x/app/gyms/1/reports/2")
        );
        assert!(e.html.contains("&lt;Ann&gt;") && !e.html.contains("<Ann>"));
        assert!(e.html.contains("&lt;Lyon &amp; Co&gt;") && !e.html.contains("<Lyon"));
        assert_eq!(e.kind, "weekly_report");
        // A French manager reads the numbers and the colons the French way.
        let fr = User {
            locale: Locale::Fr,
            ..u
        };
        let e = email(&fr, &report(Locale::Fr), "http://x/app/gyms/1/reports/2");
        assert!(
            e.text.contains("- Satisfaction moyenne\u{a0}: 4,3 / 5")
                && e.text
                    .contains("- Dépense de la semaine\u{a0}: 12,34\u{a0}$"),
            "{}",
            e.text
        );
    }
}
