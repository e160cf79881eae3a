//! The e-mail outbox, sealed at rest. Bodies carry single-use links (password reset,
//! invitation), so they are sealed with the master key when queued (AES-256-GCM; the associated
//! data binds the row id, the recipient and the part, so a sealed body cannot be moved to another
//! row or redirected to another address), opened only by a transport at send time, and wiped
//! once sent. Recipient, subject, kind, timestamps and attempts stay readable: they are delivery
//! metadata (operators need them to answer "did the e-mail leave?") and hold no secret; the
//! subjects are fixed texts.

use crate::auth::crypto::{CryptoError, MasterKey};
use crate::mailer::{Mailer, SendError};
use jarvis_store::{NewEmail, OutboxEmail, Store, StoreError};
use thiserror::Error;
use uuid::Uuid;

/// Why an e-mail could not be queued.
#[derive(Debug, Error)]
pub enum OutboxError {
    /// Sealing the bodies failed.
    #[error("cannot seal the e-mail: {0}")]
    Seal(CryptoError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An e-mail before sealing (no `Debug`: its body holds a single-use link).
#[derive(Clone)]
pub struct Email {
    /// Recipient.
    pub to: String,
    /// Subject (stored readable: keep secrets out of it).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body (already escaped).
    pub html: String,
    /// `invitation`, `password_reset`, …
    pub kind: String,
}

/// A queued e-mail with its bodies opened, for a transport (no `Debug`, like [`Email`]).
#[derive(Clone)]
pub struct OpenedEmail {
    /// Outbox row id.
    pub id: Uuid,
    /// Recipient.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// Kind.
    pub kind: String,
}

fn normalize(address: &str) -> String {
    address.trim().to_lowercase()
}

fn purpose(id: Uuid, to: &str, part: &str) -> String {
    format!("email:{id}:{to}:{part}")
}

/// Seals the bodies of an e-mail into an outbox row, for a caller that queues it in its own
/// transaction (a budget alert's e-mails go out exactly when the alert is new).
pub fn seal(master: &MasterKey, email: Email) -> Result<NewEmail, OutboxError> {
    let id = Uuid::now_v7();
    let to = normalize(&email.to);
    let seal = |part: &str, body: &str| {
        master
            .seal(&purpose(id, &to, part), body.as_bytes())
            .map_err(OutboxError::Seal)
    };
    let body_text = seal("text", &email.text)?;
    let body_html = seal("html", &email.html)?;
    Ok(NewEmail {
        id,
        to_address: to,
        subject: email.subject,
        body_text,
        body_html,
        kind: email.kind,
    })
}

/// Seals the bodies and queues the e-mail; answers its row id.
pub async fn enqueue(
    store: &dyn Store,
    master: &MasterKey,
    email: Email,
) -> Result<Uuid, OutboxError> {
    let row = seal(master, email)?;
    let id = row.id;
    store.enqueue_email(row).await?;
    // Sent by the next `mail.drain` run on any instance; this job makes that run now rather
    // than at the next scheduled minute. If it cannot be queued the schedule still sends it.
    let drain = jarvis_core::model::NewJob::new("mail.drain", serde_json::json!({}))
        .with_idempotency_key(format!("mail:{id}"))
        .with_priority(10);
    if let Err(e) = store.enqueue(drain).await {
        tracing::warn!(error = %e, "cannot queue an e-mail drain; the schedule will send it");
    }
    Ok(id)
}

/// Opens the bodies of a queued e-mail (fails for a sent, wiped or tampered one).
pub fn open(master: &MasterKey, m: &OutboxEmail) -> Result<OpenedEmail, CryptoError> {
    let to = normalize(&m.to_address);
    let open = |part: &str, sealed: &str| {
        master
            .open(&purpose(m.id, &to, part), sealed)
            .and_then(|b| String::from_utf8(b).map_err(|_| CryptoError("not UTF-8".into())))
    };
    Ok(OpenedEmail {
        id: m.id,
        text: open("text", &m.body_text)?,
        html: open("html", &m.body_html)?,
        to,
        subject: m.subject.clone(),
        kind: m.kind.clone(),
    })
}

/// How long a drain holds the e-mails it claimed (far longer than sending a batch takes).
const CLAIM_LEASE: time::Duration = time::Duration::minutes(2);

/// Delivery attempts before an e-mail that keeps failing transiently is given up (with the
/// back-off below, about two hours of retries).
pub const MAX_ATTEMPTS: u32 = 8;

/// Delay before retry number `attempt` (1-based): one minute doubling up to six hours, with
/// ±20 % jitter so e-mails that failed together do not retry together.
pub fn retry_delay(attempt: u32) -> time::Duration {
    let base = 60.0 * 2f64.powi(attempt.saturating_sub(1).min(16) as i32);
    let capped = base.min(6.0 * 3600.0);
    let jitter = 0.8 + 0.4 * rand::random::<f64>();
    time::Duration::seconds_f64(capped * jitter)
}

/// What one drain did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Sent (or logged).
    pub sent: usize,
    /// Failed transiently; retried later.
    pub retrying: usize,
    /// Given up: refused by the server, unreadable, or out of retries.
    pub failed: usize,
}

/// Sends what is queued with `mailer`; each sent e-mail is marked sent, which wipes its
/// bodies; a failed one is retried with back-off or given up (see [`MAX_ATTEMPTS`]).
/// E-mails are claimed first, so drains running at once (on several instances) never send one
/// twice. Logs never name the recipient: a keyed tag stands for it.
pub async fn deliver(store: &dyn Store, master: &MasterKey, mailer: &Mailer) -> DeliveryReport {
    let mut report = DeliveryReport::default();
    if matches!(mailer, Mailer::None) {
        return report;
    }
    let mails = match store.claim_emails(Uuid::now_v7(), 50, CLAIM_LEASE).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read e-mail outbox");
            return report;
        }
    };
    for m in mails {
        let tag = master.log_tag(&normalize(&m.to_address));
        let outcome = match mailer {
            Mailer::None => continue,
            // The log transport delivers no body: it only says an e-mail would have left.
            Mailer::Log => {
                tracing::info!(
                    id = %m.id, to = %tag, subject = %m.subject, kind = %m.kind,
                    "e-mail (log transport, body not delivered)"
                );
                Ok(())
            }
            Mailer::Smtp(smtp) => match open(master, &m) {
                Ok(opened) => smtp.send(&opened).await,
                Err(e) => Err(SendError {
                    permanent: true,
                    message: format!("cannot open the sealed body: {e}"),
                }),
            },
        };
        let attempt = m.attempts.saturating_add(1);
        let marked = match outcome {
            Ok(()) => {
                if matches!(mailer, Mailer::Smtp(_)) {
                    tracing::info!(id = %m.id, to = %tag, kind = %m.kind, attempt, "e-mail sent");
                }
                report.sent += 1;
                store.mark_email_sent(m.id).await
            }
            Err(e) if e.permanent || attempt >= MAX_ATTEMPTS => {
                tracing::error!(
                    id = %m.id, to = %tag, kind = %m.kind, attempt, error = %e.message,
                    "e-mail given up"
                );
                report.failed += 1;
                store.mark_email_failed(m.id, &e.message, None).await
            }
            Err(e) => {
                let retry_at = time::OffsetDateTime::now_utc() + retry_delay(attempt);
                tracing::warn!(
                    id = %m.id, to = %tag, kind = %m.kind, attempt, error = %e.message,
                    retry_at = %retry_at, "e-mail not sent; will retry"
                );
                report.retrying += 1;
                store
                    .mark_email_failed(m.id, &e.message, Some(retry_at))
                    .await
            }
        };
        if let Err(e) = marked {
            // The claim lapses and the next drain tries again (a sent one could be sent twice:
            // the same trade every at-least-once mailer makes).
            tracing::warn!(id = %m.id, error = %e, "cannot record the e-mail's delivery");
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_with_jitter_up_to_six_hours() {
        for _ in 0..50 {
            let first = retry_delay(1).whole_seconds();
            assert!((48..=72).contains(&first), "{first}");
            let third = retry_delay(3).whole_seconds();
            assert!((192..=288).contains(&third), "{third}");
            let late = retry_delay(30).whole_seconds();
            assert!((17_280..=25_920).contains(&late), "{late}");
        }
    }

    fn row(master: &MasterKey, to: &str) -> OutboxEmail {
        let id = Uuid::now_v7();
        let seal = |part: &str, body: &str| {
            master
                .seal(&purpose(id, to, part), body.as_bytes())
                .unwrap_or_default()
        };
        OutboxEmail {
            id,
            to_address: to.into(),
            subject: "s".into(),
            body_text: seal("text", "link token=abc"),
            body_html: seal("html", "<a>abc</a>"),
            kind: "k".into(),
            created_at: time::OffsetDateTime::now_utc(),
            sent_at: None,
            attempts: 0,
            last_error: None,
            failed_at: None,
        }
    }

    #[test]
    fn sealed_bodies_open_only_for_their_row_and_recipient() {
        let k = MasterKey::generate();
        let m = row(&k, "a@x.test");
        assert!(!m.body_text.contains("abc") && m.body_text.starts_with("v1."));
        let opened = open(&k, &m).ok().map(|o| (o.text, o.html));
        assert_eq!(
            opened,
            Some(("link token=abc".to_string(), "<a>abc</a>".to_string()))
        );
        let mut moved = m.clone();
        moved.id = Uuid::now_v7();
        assert!(open(&k, &moved).is_err(), "bound to the row id");
        let mut redirected = m.clone();
        redirected.to_address = "attacker@x.test".into();
        assert!(open(&k, &redirected).is_err(), "bound to the recipient");
        let mut swapped = m.clone();
        swapped.body_text = m.body_html.clone();
        assert!(open(&k, &swapped).is_err(), "bound to the part");
        let mut wiped = m;
        wiped.body_text = String::new();
        assert!(
            open(&k, &wiped).is_err(),
            "a wiped e-mail has nothing to open"
        );
    }
}
