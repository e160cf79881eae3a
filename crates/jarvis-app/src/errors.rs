//! The built-in error log: 5xx answers, job failures and dead letters, panics and database
//! outages, kept one row per fingerprint (kind + route template or job kind + the message with
//! ids and numbers blanked) with a count, first and last time, level and a sample message with
//! personal data redacted ([`jarvis_core::redact`]).
//!
//! Recording never blocks the caller: [`ErrorLog::push`] coalesces occurrences in memory
//! (bounded; beyond [`MAX_FINGERPRINTS`] they are dropped and counted) and [`ErrorLog::flush`],
//! called by a background task every few seconds, writes them in one transaction. Critical
//! errors then e-mail the super admins, at most once per fingerprint per `error_alert_window`
//! across every instance (a compare-and-set on the row's `alerted_at`, the e-mails queued in the
//! same transaction).

use crate::alerts;
use crate::auth::crypto::MasterKey;
use jarvis_core::{Role, Scope};
use jarvis_store::{ErrorLevel, ErrorOccurrence, Store, StoreResult};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// Distinct fingerprints waiting at most; occurrences of new ones beyond are dropped.
pub const MAX_FINGERPRINTS: usize = 1_000;

/// Longest sample message kept (characters).
const MAX_MESSAGE: usize = 1_000;

/// Where an error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A request answered 5xx.
    Http,
    /// A background job failed or was dead-lettered.
    Job,
    /// A panic (request handler or job).
    Panic,
    /// The database could not be reached.
    Database,
}

impl ErrorKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Http => "http",
            ErrorKind::Job => "job",
            ErrorKind::Panic => "panic",
            ErrorKind::Database => "database",
        }
    }
}

/// The message with personal data redacted, trimmed to [`MAX_MESSAGE`] characters.
pub fn sample(message: &str) -> String {
    let redacted = jarvis_core::redact::redact(message.trim());
    redacted.chars().take(MAX_MESSAGE).collect()
}

/// The message as the fingerprint sees it: ids (UUIDs, hex) and numbers blanked, so the same
/// failure on other rows or at other times groups into one entry.
pub fn normalize(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for word in sample(message).split_inclusive(|c: char| !c.is_ascii_alphanumeric() && c != '-') {
        let (body, sep) = match word.char_indices().last() {
            Some((i, c)) if !c.is_ascii_alphanumeric() && c != '-' => word.split_at(i),
            _ => (word, ""),
        };
        let hexish = body.len() >= 8
            && body.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
            && body.chars().any(|c| c.is_ascii_digit());
        if hexish {
            out.push('#');
        } else {
            let mut last_digit = false;
            for c in body.chars() {
                if c.is_ascii_digit() {
                    if !last_digit {
                        out.push('#');
                    }
                    last_digit = true;
                } else {
                    out.push(c);
                    last_digit = false;
                }
            }
        }
        out.push_str(sep);
    }
    out
}

/// The fingerprint of an error: kind, source and normalized message, hashed.
pub fn fingerprint(kind: ErrorKind, source: &str, message: &str) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_str().as_bytes());
    h.update([0]);
    h.update(source.as_bytes());
    h.update([0]);
    h.update(normalize(message).as_bytes());
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What critical errors e-mail, and how often.
#[derive(Clone)]
pub struct CriticalAlerts {
    /// Seals the e-mails.
    pub master: MasterKey,
    /// The dashboard's public base URL (the e-mail links to the error log page).
    pub public_base: String,
    /// One e-mail per fingerprint per this window.
    pub window: time::Duration,
}

/// The error log of one process: occurrences waiting for the next flush.
pub struct ErrorLog {
    store: Arc<dyn Store>,
    alerts: Option<CriticalAlerts>,
    pending: Mutex<HashMap<String, ErrorOccurrence>>,
    dropped: AtomicU64,
    forward: std::sync::OnceLock<Forward>,
}

/// Also hands each error- or critical-level occurrence (kind, source, level, redacted message)
/// to an external reporter (Sentry), at once.
pub type Forward = Box<dyn Fn(ErrorKind, &str, ErrorLevel, &str) + Send + Sync>;

impl ErrorLog {
    /// An empty log; without `alerts`, critical errors are recorded but e-mail nobody.
    pub fn new(store: Arc<dyn Store>, alerts: Option<CriticalAlerts>) -> Arc<Self> {
        Arc::new(Self {
            store,
            alerts,
            pending: Mutex::new(HashMap::new()),
            dropped: AtomicU64::new(0),
            forward: std::sync::OnceLock::new(),
        })
    }

    /// Sets the external reporter (once; later calls are ignored).
    pub fn forward_to(&self, forward: Forward) {
        let _ = self.forward.set(forward);
    }

    /// Keeps one occurrence for the next flush (never waits on storage).
    pub fn push(&self, kind: ErrorKind, source: &str, level: ErrorLevel, message: &str) {
        let fp = fingerprint(kind, source, message);
        let now = OffsetDateTime::now_utc();
        if level >= ErrorLevel::Error
            && let Some(forward) = self.forward.get()
        {
            forward(kind, source, level, &sample(message));
        }
        let Ok(mut pending) = self.pending.lock() else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if let Some(o) = pending.get_mut(&fp) {
            o.count += 1;
            o.last_seen_at = now;
            o.level = o.level.max(level);
            o.message = sample(message);
            return;
        }
        if pending.len() >= MAX_FINGERPRINTS {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        pending.insert(
            fp.clone(),
            ErrorOccurrence {
                fingerprint: fp,
                kind: kind.as_str().into(),
                source: source.chars().take(200).collect(),
                level,
                message: sample(message),
                count: 1,
                first_seen_at: now,
                last_seen_at: now,
            },
        );
    }

    /// Writes what is waiting, then e-mails the super admins about critical fingerprints not
    /// alerted within the window; answers how many fingerprints were written.
    pub async fn flush(&self) -> StoreResult<u64> {
        let batch: Vec<ErrorOccurrence> = match self.pending.lock() {
            Ok(mut p) => p.drain().map(|(_, o)| o).collect(),
            Err(_) => return Ok(0),
        };
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(dropped, "error log occurrences dropped: too many at once");
        }
        if batch.is_empty() {
            return Ok(0);
        }
        let n = match self.store.record_errors(&batch).await {
            Ok(n) => n,
            Err(e) => {
                // Kept for the next flush (within the bound): a database outage is itself a
                // critical error, recorded and e-mailed once the database is back.
                self.requeue(batch);
                return Err(e);
            }
        };
        if let Some(alerts) = &self.alerts {
            let critical: Vec<&ErrorOccurrence> = batch
                .iter()
                .filter(|o| o.level == ErrorLevel::Critical)
                .collect();
            if !critical.is_empty() {
                self.alert(alerts, &critical).await;
            }
        }
        Ok(n)
    }

    fn requeue(&self, batch: Vec<ErrorOccurrence>) {
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        for o in batch {
            if let Some(p) = pending.get_mut(&o.fingerprint) {
                p.count += o.count;
                p.first_seen_at = p.first_seen_at.min(o.first_seen_at);
                p.level = p.level.max(o.level);
            } else if pending.len() < MAX_FINGERPRINTS {
                pending.insert(o.fingerprint.clone(), o);
            } else {
                self.dropped.fetch_add(o.count, Ordering::Relaxed);
            }
        }
    }

    async fn alert(&self, alerts: &CriticalAlerts, critical: &[&ErrorOccurrence]) {
        let store = self.store.as_ref();
        let admins =
            match alerts::users_with_role(store, &Scope::Platform, Role::SuperAdmin, None).await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list the super admins for an error alert");
                    return;
                }
            };
        let link = format!("{}/app/ops/errors?level=critical", alerts.public_base);
        for o in critical {
            let emails = alerts::seal_all(
                &alerts.master,
                admins
                    .iter()
                    .map(|u| alerts::critical_email(u, &o.kind, &o.source, &o.message, &link)),
            );
            let now = OffsetDateTime::now_utc();
            match store
                .claim_error_alert(&o.fingerprint, now, alerts.window, emails)
                .await
            {
                Ok(true) => tracing::info!(fingerprint = %o.fingerprint, "critical error e-mailed"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "cannot record a critical error alert"),
            }
        }
    }
}

impl std::fmt::Debug for ErrorLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorLog")
            .field("alerts", &self.alerts.is_some())
            .finish_non_exhaustive()
    }
}

/// A sink that can take errors from anywhere in the process (the job runner, the HTTP layer).
pub type ErrorSink = Arc<ErrorLog>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_group_ids_and_numbers_but_not_kinds_or_sources() {
        let a = fingerprint(
            ErrorKind::Job,
            "mail.drain",
            "row 0190a3c4-7b1e-7c2d-9f00-1234567890ab failed after 3 tries",
        );
        let b = fingerprint(
            ErrorKind::Job,
            "mail.drain",
            "row 0190a3c4-0000-7c2d-9f00-ffffffffffff failed after 12 tries",
        );
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint(ErrorKind::Job, "imports.run", "row x failed")
        );
        assert_ne!(
            fingerprint(ErrorKind::Http, "s", "m"),
            fingerprint(ErrorKind::Panic, "s", "m")
        );
        assert_eq!(normalize("timeout after 30 s"), "timeout after # s");
    }

    #[test]
    fn samples_carry_no_personal_data() {
        let s = sample("cannot send to jean.dupont@example.fr");
        assert!(!s.contains("jean.dupont"), "{s}");
        assert!(sample(&"x".repeat(5000)).chars().count() == MAX_MESSAGE);
    }
}
