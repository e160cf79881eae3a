//! Optional Sentry reporting (`sentry_dsn`): when set, panics (Sentry's panic hook) and every
//! error- or critical-level entry of the error log (with its personal data already redacted)
//! are sent to Sentry; when unset nothing is initialised. The client is process-wide (Sentry's
//! main hub) and flushed when the returned guard is dropped.

use jarvis_app::errors::{ErrorKind, ErrorSink};
use jarvis_store::ErrorLevel;

/// Keeps the Sentry client alive; dropping it flushes what is queued (up to two seconds).
pub struct SentryGuard(#[allow(dead_code)] sentry::ClientInitGuard);

/// Starts Sentry for `dsn` and forwards the error log's events to it; `None` (and a warning)
/// for an unusable DSN.
pub fn init(dsn: &str, errors: &ErrorSink) -> Option<SentryGuard> {
    let dsn = match dsn.parse::<sentry::types::Dsn>() {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "sentry_dsn is not a usable DSN; Sentry stays off");
            return None;
        }
    };
    // Built field by field: the options struct is non-exhaustive.
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some(dsn);
    options.release = sentry::release_name!();
    // Never request bodies, cookies, addresses or user data.
    options.send_default_pii = false;
    options.shutdown_timeout = std::time::Duration::from_secs(2);
    let guard = sentry::init(options);
    if !guard.is_enabled() {
        return None;
    }
    errors.forward_to(Box::new(|kind, source, level, message| {
        // Panics reach Sentry through its own panic hook (with the stack trace): not twice.
        if kind == ErrorKind::Panic {
            return;
        }
        let level = match level {
            ErrorLevel::Critical => sentry::Level::Fatal,
            ErrorLevel::Error => sentry::Level::Error,
            ErrorLevel::Warning => sentry::Level::Warning,
        };
        sentry::with_scope(
            |scope| {
                scope.set_tag("kind", kind.as_str());
                scope.set_tag("source", source);
            },
            || sentry::capture_message(message, level),
        );
    }));
    tracing::info!("Sentry reporting on");
    Some(SentryGuard(guard))
}
