//! The e-mails of the accounts area, in French or English (the recipient's dashboard language
//! for a reset, the inviter's for an invitation). Names are user input: plain in the text part,
//! escaped in the HTML part.

use crate::outbox::Email;
use jarvis_core::Role;
use jarvis_core::model::{Invitation, Locale};

/// Escapes text for HTML e-mail bodies (names and e-mails are user-controlled).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A role as a reader of `locale` says it (e-mails, and the dashboard's catalogue).
pub fn role_name(role: &Role, locale: Locale) -> &'static str {
    match (role, locale) {
        (Role::SuperAdmin, Locale::Fr) => "super administrateur",
        (Role::SuperAdmin, Locale::En) => "super admin",
        (Role::FranchiseOwner, Locale::Fr) => "propriétaire de franchise",
        (Role::FranchiseOwner, Locale::En) => "franchise owner",
        (Role::GymManager, Locale::Fr) => "gérant de salle",
        (Role::GymManager, Locale::En) => "gym manager",
        (Role::GymStaff, Locale::Fr) => "équipe de salle",
        (Role::GymStaff, Locale::En) => "gym staff",
    }
}

/// The password-reset e-mail with its single-use link.
pub fn reset(to: &str, display_name: &str, link: &str, locale: Locale) -> Email {
    let name = escape_html(display_name);
    let href = escape_html(link);
    let (subject, text, html) = match locale {
        Locale::Fr => (
            "JARVIS : réinitialisez votre mot de passe",
            format!(
                "Bonjour {display_name},\n\nRéinitialisez votre mot de passe JARVIS dans l'heure :\n{link}\n\nSi vous n'avez rien demandé, ignorez cet e-mail.\n"
            ),
            format!(
                "<p>Bonjour {name},</p><p><a href=\"{href}\">Réinitialisez votre mot de passe JARVIS</a> dans l'heure.</p><p>Si vous n'avez rien demandé, ignorez cet e-mail.</p>"
            ),
        ),
        Locale::En => (
            "JARVIS: reset your password",
            format!(
                "Hello {display_name},\n\nReset your JARVIS password within one hour:\n{link}\n\nIf you did not ask for this, ignore this e-mail.\n"
            ),
            format!(
                "<p>Hello {name},</p><p><a href=\"{href}\">Reset your JARVIS password</a> within one hour.</p><p>If you did not ask for this, ignore this e-mail.</p>"
            ),
        ),
    };
    Email {
        to: to.to_string(),
        subject: subject.into(),
        text,
        html,
        kind: "password_reset".into(),
    }
}

/// The invitation e-mail with its single-use link.
pub fn invitation(
    base: &str,
    inv: &Invitation,
    token: &str,
    inviter: &str,
    locale: Locale,
) -> Email {
    let link = format!("{base}/app/invitations/accept?token={token}");
    let role = role_name(&inv.role, locale);
    let (name, who, href) = (
        escape_html(&inv.display_name),
        escape_html(inviter),
        escape_html(&link),
    );
    let invitee = &inv.display_name;
    let (subject, text, html) = match locale {
        Locale::Fr => (
            "Vous êtes invité sur JARVIS",
            format!(
                "Bonjour {invitee},\n\n{inviter} vous invite sur JARVIS en tant que {role}.\nAcceptez dans les 7 jours : {link}\n"
            ),
            format!(
                "<p>Bonjour {name},</p><p>{who} vous invite sur JARVIS en tant que {role}.</p><p><a href=\"{href}\">Accepter l'invitation</a> dans les 7 jours.</p>"
            ),
        ),
        Locale::En => (
            "You are invited to JARVIS",
            format!(
                "Hello {invitee},\n\n{inviter} invites you to JARVIS as {role}.\nAccept within 7 days: {link}\n"
            ),
            format!(
                "<p>Hello {name},</p><p>{who} invites you to JARVIS as {role}.</p><p><a href=\"{href}\">Accept the invitation</a> within 7 days.</p>"
            ),
        ),
    };
    Email {
        to: inv.email.clone(),
        subject: subject.into(),
        text,
        html,
        kind: "invitation".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_speaks_the_readers_language_and_escapes_names() {
        let link = "https://j.test/app/reset?token=t&x=1";
        let fr = reset("a@x.test", "Zoé <b>", link, Locale::Fr);
        assert!(fr.subject.contains("réinitialisez"));
        assert!(fr.text.contains("Bonjour Zoé <b>") && fr.text.contains(link));
        assert!(fr.html.contains("Bonjour Zoé &lt;b&gt;"));
        assert!(
            fr.html
                .contains("href=\"https://j.test/app/reset?token=t&amp;x=1\"")
        );
        let en = reset("a@x.test", "Zoé", link, Locale::En);
        assert_eq!(en.subject, "JARVIS: reset your password");
        assert!(en.text.starts_with("Hello Zoé"));
    }
}
