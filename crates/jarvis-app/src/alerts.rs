//! Operations alert e-mails, in each recipient's language: a kiosk offline or back online (to
//! the gym's managers) and a critical error (to the super admins). Names are user input: plain
//! in the text part, escaped in the HTML part. Sealed here for callers that queue them in the
//! transaction of the transition they announce.

use crate::accounts::email::escape_html;
use crate::auth::crypto::MasterKey;
use crate::error::AppResult;
use crate::outbox::{self, Email};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::{NewEmail, Store, UserFilter};
use time::OffsetDateTime;

/// Enabled users holding `role` on `gym` (`None`: platform-wide roles), as seen in `scope`.
pub async fn users_with_role(
    store: &dyn Store,
    scope: &Scope,
    role: Role,
    gym: Option<GymId>,
) -> AppResult<Vec<User>> {
    enabled_users(store, scope, |m| m.role == role && m.gym_id == gym).await
}

/// Enabled users, as seen in `scope`, holding a membership `wanted` accepts: the recipients of
/// an alert e-mail.
pub async fn enabled_users(
    store: &dyn Store,
    scope: &Scope,
    wanted: impl Fn(&Membership) -> bool,
) -> AppResult<Vec<User>> {
    let mut out = Vec::new();
    let mut offset = 0;
    // Bounded: 10 pages of 200 people is far beyond any gym's managers, a franchise's owners
    // or the admins.
    for _ in 0..10 {
        let page = store
            .list_users(
                scope,
                &UserFilter::default(),
                PageRequest::new(Some(200), Some(offset)).unwrap_or_default(),
            )
            .await?;
        let n = page.items.len() as u64;
        for tm in page.items {
            if tm.user.disabled_at.is_none() && tm.memberships.iter().any(&wanted) {
                out.push(tm.user);
            }
        }
        offset += n;
        if n == 0 || offset >= page.total {
            break;
        }
    }
    Ok(out)
}

/// Seals one e-mail per recipient; a failure is logged and leaves that recipient out.
pub fn seal_all(master: &MasterKey, mails: impl IntoIterator<Item = Email>) -> Vec<NewEmail> {
    mails
        .into_iter()
        .filter_map(|m| match outbox::seal(master, m) {
            Ok(e) => Some(e),
            Err(e) => {
                tracing::warn!(error = %e, "cannot seal an alert e-mail");
                None
            }
        })
        .collect()
}

/// A time in e-mails (UTC, to the minute).
fn utc(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .map_or_else(|_| "?".into(), |s| format!("{s} UTC"))
}

/// Whether a kiosk e-mail announces the outage or the recovery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KioskTransition {
    /// Silent past the threshold since `since`.
    Offline,
    /// Heard again.
    Online,
}

/// The "kiosk offline" / "kiosk back online" e-mail for one manager.
pub fn kiosk_email(
    user: &User,
    transition: KioskTransition,
    kiosk: &str,
    gym: &str,
    since: OffsetDateTime,
    link: &str,
) -> Email {
    let fr = user.locale == Locale::Fr;
    let when = utc(since);
    let (subject, lead, kind) = match (transition, fr) {
        (KioskTransition::Offline, true) => (
            format!("JARVIS : borne {kiosk} hors ligne ({gym})"),
            format!(
                "La borne {kiosk} de la salle {gym} ne donne plus signe de vie depuis {when}. Vérifiez qu'elle est allumée et connectée au réseau."
            ),
            "kiosk_offline",
        ),
        (KioskTransition::Offline, false) => (
            format!("JARVIS: kiosk {kiosk} offline ({gym})"),
            format!(
                "The kiosk {kiosk} of the gym {gym} has not been heard from since {when}. Check that it is on and connected to the network."
            ),
            "kiosk_offline",
        ),
        (KioskTransition::Online, true) => (
            format!("JARVIS : borne {kiosk} de nouveau en ligne ({gym})"),
            format!(
                "La borne {kiosk} de la salle {gym} est de nouveau en ligne (hors ligne depuis {when})."
            ),
            "kiosk_online",
        ),
        (KioskTransition::Online, false) => (
            format!("JARVIS: kiosk {kiosk} back online ({gym})"),
            format!(
                "The kiosk {kiosk} of the gym {gym} is back online (it had been offline since {when})."
            ),
            "kiosk_online",
        ),
    };
    mail(user, subject, &lead, link, kind)
}

/// The "critical error" e-mail for one super admin.
pub fn critical_email(user: &User, kind: &str, source: &str, message: &str, link: &str) -> Email {
    let fr = user.locale == Locale::Fr;
    let (subject, lead) = if fr {
        (
            format!("JARVIS : erreur critique ({kind}, {source})"),
            format!(
                "Une erreur critique s'est produite ({kind}, {source}) : {message}\nLes répétitions de la même erreur ne sont pas renvoyées pendant la période de regroupement ; le journal des erreurs les compte."
            ),
        )
    } else {
        (
            format!("JARVIS: critical error ({kind}, {source})"),
            format!(
                "A critical error happened ({kind}, {source}): {message}\nRepeats of the same error are not e-mailed again within the grouping period; the error log counts them."
            ),
        )
    };
    mail(user, subject, &lead, link, "critical_error")
}

fn mail(user: &User, subject: String, lead: &str, link: &str, kind: &str) -> Email {
    let fr = user.locale == Locale::Fr;
    let hello = if fr { "Bonjour" } else { "Hello" };
    let see = if fr { "Voir" } else { "See" };
    let html_lead: Vec<String> = lead.lines().map(escape_html).collect();
    Email {
        to: user.email.clone(),
        subject,
        text: format!(
            "{hello} {},\n\n{lead}\n\n{see}: {link}\n",
            user.display_name
        ),
        html: format!(
            "<p>{hello} {},</p><p>{}</p><p><a href=\"{}\">{see}</a></p>",
            escape_html(&user.display_name),
            html_lead.join("<br>"),
            escape_html(link)
        ),
        kind: kind.into(),
    }
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

    #[test]
    fn kiosk_emails_speak_the_recipients_language_and_escape_input() {
        let since = time::macros::datetime!(2026-03-01 10:15 UTC);
        let fr = kiosk_email(
            &user(Locale::Fr, "Zoé"),
            KioskTransition::Offline,
            "<Accueil>",
            "Lyon",
            since,
            "http://x/app/gyms/1/kiosks",
        );
        assert_eq!(fr.kind, "kiosk_offline");
        assert!(fr.subject.contains("hors ligne") && fr.text.contains("2026-03-01 10:15 UTC"));
        assert!(fr.html.contains("&lt;Accueil&gt;") && !fr.html.contains("<Accueil>"));
        let en = kiosk_email(
            &user(Locale::En, "Ann"),
            KioskTransition::Online,
            "Desk",
            "Lyon",
            since,
            "http://x",
        );
        assert_eq!(en.kind, "kiosk_online");
        assert!(en.subject.contains("back online") && en.text.contains("Hello Ann"));
        let crit = critical_email(
            &user(Locale::En, "Ann"),
            "panic",
            "GET /x",
            "<boom>",
            "http://x/app/ops/errors",
        );
        assert_eq!(crit.kind, "critical_error");
        assert!(crit.html.contains("&lt;boom&gt;") && crit.text.contains("<boom>"));
    }
}
