//! The error log's background writer: occurrences recorded by requests, panics and jobs
//! (`jarvis_app::errors::ErrorLog`) are written every [`FLUSH_INTERVAL`] and once more at
//! shutdown, with the shared [`crate::flusher`] task, so recording never waits on the database.

use std::time::Duration;

use jarvis_app::errors::ErrorSink;

use crate::flusher::Flusher;

/// How often recorded errors are written (and critical ones e-mailed).
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(2);

/// Starts the task that writes the error log every [`FLUSH_INTERVAL`], and once at shutdown.
pub fn spawn_flusher(log: &ErrorSink) -> Flusher {
    let log = log.clone();
    Flusher::spawn(
        "error log",
        FLUSH_INTERVAL,
        std::future::pending,
        move |_last| {
            let log = log.clone();
            async move {
                if let Err(e) = log.flush().await {
                    // Not recorded in the log itself: it is the log that cannot be written.
                    tracing::warn!(error = %e, "cannot write the error log");
                }
            }
        },
    )
}
