//! A background task that writes an in-memory buffer on an interval (or when woken) and once
//! more at shutdown: the kiosk heartbeats and the request log both batch their writes this way.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running flusher task.
pub struct Flusher {
    name: &'static str,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Flusher {
    /// Calls `flush(false)` every `interval` and whenever `wake()` resolves, and `flush(true)`
    /// once after [`Flusher::shutdown`] (each `flush` logs its own failures).
    pub fn spawn<W, WF, F, FF>(name: &'static str, interval: Duration, wake: W, flush: F) -> Self
    where
        W: Fn() -> WF + Send + 'static,
        WF: Future<Output = ()> + Send,
        F: Fn(bool) -> FF + Send + 'static,
        FF: Future<Output = ()> + Send,
    {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = wake() => {}
                    _ = stopped.wait_for(|s| *s) => break,
                }
                flush(false).await;
            }
            flush(true).await;
        });
        Flusher { name, stop, task }
    }

    /// Writes what is still waiting and ends the task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, flusher = self.name, "flusher task failed");
        }
    }
}
