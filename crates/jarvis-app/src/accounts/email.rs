//! The e-mails of the accounts area (texts in English until the e-mail templates are
//! translated).

use crate::outbox::Email;
use jarvis_core::model::Invitation;

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

/// The password-reset e-mail with its single-use link.
pub fn reset(to: &str, display_name: &str, link: &str) -> Email {
    let name = escape_html(display_name);
    Email {
        to: to.to_string(),
        subject: "JARVIS: reset your password".into(),
        text: format!(
            "Hello {display_name},\n\nReset your JARVIS password within one hour:\n{link}\n\nIf you did not ask for this, ignore this e-mail.\n"
        ),
        html: format!(
            "<p>Hello {name},</p><p><a href=\"{}\">Reset your JARVIS password</a> within one hour.</p><p>If you did not ask for this, ignore this e-mail.</p>",
            escape_html(link)
        ),
        kind: "password_reset".into(),
    }
}

/// The invitation e-mail with its single-use link.
pub fn invitation(base: &str, inv: &Invitation, token: &str, inviter: &str) -> Email {
    let link = format!("{base}/app/invitations/accept?token={token}");
    let role = inv.role.as_str().replace('_', " ");
    Email {
        to: inv.email.clone(),
        subject: "You are invited to JARVIS".into(),
        text: format!(
            "Hello {},\n\n{} invites you to JARVIS as {role}.\nAccept within 7 days: {link}\n",
            inv.display_name, inviter
        ),
        html: format!(
            "<p>Hello {},</p><p>{} invites you to JARVIS as {}.</p><p><a href=\"{}\">Accept the invitation</a> within 7 days.</p>",
            escape_html(&inv.display_name),
            escape_html(inviter),
            escape_html(&role),
            escape_html(&link)
        ),
        kind: "invitation".into(),
    }
}
