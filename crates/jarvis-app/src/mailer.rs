//! How e-mails leave the outbox: SMTP (lettre, rustls), the development log, or nowhere.
//!
//! lettre rather than a hand-written SMTP client: STARTTLS, implicit TLS, AUTH mechanisms,
//! MIME multipart encoding, header folding and a connection pool are each easy to get subtly
//! wrong, and lettre is the maintained Rust client (on the tree's single TLS stack, rustls with
//! aws-lc-rs).

use crate::config::{Config, EmailTransport, SmtpConfig};
use crate::outbox::OpenedEmail;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use thiserror::Error;

/// The configuration names an SMTP server that cannot be used.
#[derive(Debug, Error)]
#[error("{field}: {message}")]
pub struct MailerError {
    /// The configuration key at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// Why one e-mail was not delivered.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct SendError {
    /// The server refused it for good (5xx, invalid address): retrying cannot help.
    pub permanent: bool,
    /// What happened (no body content, no credentials).
    pub message: String,
}

/// Whether `s` is a mailbox lettre accepts as a sender (`Name <a@b.c>` or `a@b.c`).
pub fn valid_mailbox(s: &str) -> bool {
    s.parse::<Mailbox>().is_ok()
}

/// Time allowed for one SMTP command; a stuck server fails the attempt, which is retried.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Time allowed for one whole message, connection included.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

/// The transport the outbox drain sends with, built once at start.
pub enum Mailer {
    /// Log metadata, mark sent (development).
    Log,
    /// Leave everything queued.
    None,
    /// Deliver over SMTP.
    Smtp(Box<SmtpMailer>),
}

impl Mailer {
    /// The mailer the configuration asks for; an unusable SMTP setting names its key (inside
    /// the Tokio runtime, see [`SmtpMailer::new`]).
    pub fn from_config(config: &Config) -> Result<Mailer, MailerError> {
        Ok(match (config.email_transport, &config.smtp) {
            (EmailTransport::Log, _) => Mailer::Log,
            (EmailTransport::None, _) => Mailer::None,
            (EmailTransport::Smtp, Some(smtp)) => Mailer::Smtp(Box::new(SmtpMailer::new(smtp)?)),
            (EmailTransport::Smtp, None) => {
                return Err(MailerError {
                    field: "smtp_url",
                    message: "required by email_transport=smtp".into(),
                });
            }
        })
    }
}

/// An SMTP client with its pooled connections and the sender.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// The TLS mode an `smtp_url` asks for, read the way lettre reads it.
enum UrlTls {
    Wrapper,
    Required,
    Opportunistic,
    None,
}

fn url_tls_and_host(url: &str) -> Option<(UrlTls, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
    let authority = authority.trim_end_matches('/');
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match hostport.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?.to_string(),
        None => hostport.split(':').next()?.to_string(),
    };
    let tls = match scheme {
        "smtps" => UrlTls::Wrapper,
        _ => match query
            .split('&')
            .find_map(|kv| kv.strip_prefix("tls="))
            .unwrap_or("")
        {
            "required" => UrlTls::Required,
            "opportunistic" => UrlTls::Opportunistic,
            _ => UrlTls::None,
        },
    };
    Some((tls, host))
}

impl SmtpMailer {
    /// Builds the client (no connection yet: the first send connects). Call it inside the
    /// Tokio runtime: lettre's connection pool starts its idle-connection reaper task here.
    pub fn new(smtp: &SmtpConfig) -> Result<SmtpMailer, MailerError> {
        let bad_url = |message: String| MailerError {
            field: "smtp_url",
            message,
        };
        let url = smtp.url.expose();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| bad_url(format!("not a usable SMTP URL ({e})")))?
            .timeout(Some(SMTP_TIMEOUT));
        if let Some(ca_file) = &smtp.ca_file {
            let bad_ca = |message: String| MailerError {
                field: "smtp_ca_file",
                message,
            };
            let pem = std::fs::read(ca_file).map_err(|e| bad_ca(format!("cannot read: {e}")))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| bad_ca(format!("not a PEM certificate ({e})")))?;
            let (mode, host) =
                url_tls_and_host(url).ok_or_else(|| bad_url("no host in the SMTP URL".into()))?;
            let params = || {
                TlsParameters::builder(host.clone())
                    .add_root_certificate(cert.clone())
                    .build()
                    .map_err(|e| bad_ca(format!("unusable with this host ({e})")))
            };
            builder = builder.tls(match mode {
                UrlTls::Wrapper => Tls::Wrapper(params()?),
                UrlTls::Required => Tls::Required(params()?),
                UrlTls::Opportunistic => Tls::Opportunistic(params()?),
                UrlTls::None => {
                    return Err(bad_ca(
                        "set, but smtp_url asks for no TLS (use smtps:// or ?tls=required)".into(),
                    ));
                }
            });
        }
        let from = smtp.from.parse::<Mailbox>().map_err(|e| MailerError {
            field: "email_from",
            message: format!("not a mailbox ({e})"),
        })?;
        Ok(SmtpMailer {
            transport: builder.build(),
            from,
        })
    }

    /// Sends one e-mail as a text + HTML alternative.
    pub async fn send(&self, mail: &OpenedEmail) -> Result<(), SendError> {
        let permanent = |message: String| SendError {
            permanent: true,
            message,
        };
        let to = mail
            .to
            .parse::<Mailbox>()
            .map_err(|e| permanent(format!("invalid recipient address ({e})")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            // A generated Message-ID (with the host name) and Date come with the builder.
            .message_id(None)
            .multipart(MultiPart::alternative_plain_html(
                mail.text.clone(),
                mail.html.clone(),
            ))
            .map_err(|e| permanent(format!("cannot build the message ({e})")))?;
        // lettre bounds each command; this bounds the whole exchange (pool checkout included),
        // so a server that stalls mid-conversation cannot hold the drain's lease.
        let sent = tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await;
        let Ok(sent) = sent else {
            return Err(SendError {
                permanent: false,
                message: format!("the SMTP server did not finish within {SEND_TIMEOUT:?}"),
            });
        };
        match sent {
            Ok(_) => Ok(()),
            Err(e) => Err(SendError {
                permanent: refuses_the_message(&e),
                message: e.to_string(),
            }),
        }
    }
}

/// Whether a failure is about this message (a 5xx to the recipient or the content), not about
/// our setup: a rejected login (530/534/535/538) is a configuration error the operator fixes,
/// after which the e-mail must still leave, so it stays retryable like a network failure.
fn refuses_the_message(e: &lettre::transport::smtp::Error) -> bool {
    e.is_permanent()
        && !e
            .status()
            .is_some_and(|code| code.to_string().starts_with("53"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_modes_and_hosts_are_read_like_lettre() {
        let read = |u: &str| {
            url_tls_and_host(u).map(|(m, h)| {
                let m = match m {
                    UrlTls::Wrapper => "wrapper",
                    UrlTls::Required => "required",
                    UrlTls::Opportunistic => "opportunistic",
                    UrlTls::None => "none",
                };
                (m, h)
            })
        };
        assert_eq!(
            read("smtps://u:p@mail.example:465"),
            Some(("wrapper", "mail.example".into()))
        );
        assert_eq!(
            read("smtp://u:p%40x@mail.example:587?tls=required"),
            Some(("required", "mail.example".into()))
        );
        assert_eq!(
            read("smtp://[::1]:25?tls=opportunistic"),
            Some(("opportunistic", "::1".into()))
        );
        assert_eq!(read("smtp://relay"), Some(("none", "relay".into())));
        assert_eq!(read("relay"), None);
    }

    #[test]
    fn senders_are_checked() {
        assert!(valid_mailbox("JARVIS <jarvis@gym.example>"));
        assert!(valid_mailbox("jarvis@gym.example"));
        assert!(!valid_mailbox("jarvis"));
        assert!(!valid_mailbox("JARVIS <jarvis@gym.example"));
    }
}
