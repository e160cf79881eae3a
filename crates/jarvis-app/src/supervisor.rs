//! The one place every long-lived task of a process is started, tracked and stopped: the HTTP
//! server, the job workers and the jobs they run, the scheduler, the instance heartbeat, the
//! per-instance periodic tasks (and later the per-call voice tasks).
//!
//! Shutdown has two phases. *Stop*: every task is told to stop taking new work (the HTTP server
//! stops accepting, workers stop claiming) and running work carries on. *Abort*: when the grace
//! period ends, work still running is interrupted (jobs give their claims back to the queue).
//! Detached `tokio::spawn`s are not used for long-lived work, so nothing outlives `shutdown`.

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tokio_util::task::TaskTracker;

/// How long aborted tasks get to give their work back after the grace period.
const ABORT_WAIT: Duration = Duration::from_secs(5);

/// Tracks the tasks of one process and stops them together. Cheap to clone (all clones share
/// the same tasks and signals).
#[derive(Clone, Default)]
pub struct Supervisor {
    tracker: TaskTracker,
    signals: Signals,
}

/// The two shutdown signals, handed to every supervised task.
#[derive(Clone, Default)]
pub struct Signals {
    stop: CancellationToken,
    abort: CancellationToken,
}

impl Signals {
    /// Resolves when the process starts shutting down: stop taking new work.
    pub fn stopping(&self) -> WaitForCancellationFuture<'_> {
        self.stop.cancelled()
    }

    /// Whether shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves when the grace period is over: interrupt running work now.
    pub fn aborting(&self) -> WaitForCancellationFuture<'_> {
        self.abort.cancelled()
    }

    /// Whether the grace period is over.
    pub fn is_aborting(&self) -> bool {
        self.abort.is_cancelled()
    }

    /// A token cancelled when shutdown begins (for APIs that take a token, e.g. a server's
    /// graceful-shutdown future).
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }
}

/// How a shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOutcome {
    /// Every task finished within the grace period.
    Drained,
    /// Some work was interrupted at the end of the grace period, then every task ended.
    Aborted,
    /// Some tasks did not even end after being interrupted (they are left to the runtime).
    Stuck,
}

impl Supervisor {
    /// A supervisor with no tasks.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shutdown signals, for tasks started elsewhere.
    pub fn signals(&self) -> Signals {
        self.signals.clone()
    }

    /// Starts a tracked task. `make` receives the signals; the task should return once
    /// `stopping` fires and its current work is done (or at once on `aborting`).
    pub fn spawn<F, Fut>(&self, name: &'static str, make: F)
    where
        F: FnOnce(Signals) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let fut = make(self.signals.clone());
        self.tracker.spawn(async move {
            fut.await;
            tracing::debug!(task = name, "task ended");
        });
    }

    /// Starts a tracked task that runs `tick` every `every` (first after one period, or at once
    /// with `at_start`) until shutdown begins. A tick in progress finishes; none starts after.
    pub fn spawn_periodic<F, Fut>(
        &self,
        name: &'static str,
        every: Duration,
        at_start: bool,
        tick: F,
    ) where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut tick = tick;
        self.spawn(name, move |signals| async move {
            if at_start && !signals.is_stopping() {
                tick().await;
            }
            loop {
                tokio::select! {
                    () = signals.stopping() => break,
                    () = tokio::time::sleep(every) => {}
                }
                tick().await;
            }
        });
    }

    /// The tracker itself, for components that spawn their own tracked tasks (the voice broker's
    /// one task per call); `shutdown` waits for those too.
    pub fn tracker(&self) -> TaskTracker {
        self.tracker.clone()
    }

    /// Number of tracked tasks still running.
    pub fn len(&self) -> usize {
        self.tracker.len()
    }

    /// Whether no tracked task is running.
    pub fn is_empty(&self) -> bool {
        self.tracker.is_empty()
    }

    /// Shuts down: signals stop, waits up to `grace` for every task to end, then signals abort
    /// and waits a little more for the interrupted ones to hand back their work.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownOutcome {
        self.signals.stop.cancel();
        self.tracker.close();
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
        {
            return ShutdownOutcome::Drained;
        }
        tracing::warn!(
            grace_secs = grace.as_secs_f64(),
            tasks = self.tracker.len(),
            "work still running at the end of the grace period: interrupting it"
        );
        self.signals.abort.cancel();
        if tokio::time::timeout(ABORT_WAIT, self.tracker.wait())
            .await
            .is_ok()
        {
            ShutdownOutcome::Aborted
        } else {
            tracing::error!(
                tasks = self.tracker.len(),
                "tasks did not end after being interrupted"
            );
            ShutdownOutcome::Stuck
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn running_work_finishes_within_the_grace_period() {
        let sup = Supervisor::new();
        let done = Arc::new(AtomicU32::new(0));
        let d = done.clone();
        sup.spawn("work", move |signals| async move {
            signals.stopping().await;
            // Work that finishes after stop was signalled, well within the grace.
            tokio::time::sleep(Duration::from_millis(50)).await;
            d.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(
            sup.shutdown(Duration::from_secs(5)).await,
            ShutdownOutcome::Drained
        );
        assert_eq!(done.load(Ordering::SeqCst), 1);
        assert!(sup.is_empty());
    }

    #[tokio::test]
    async fn work_past_the_grace_period_is_interrupted() {
        let sup = Supervisor::new();
        let released = Arc::new(AtomicU32::new(0));
        let r = released.clone();
        sup.spawn("slow", move |signals| async move {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(3600)) => {}
                () = signals.aborting() => { r.fetch_add(1, Ordering::SeqCst); }
            }
        });
        let t = std::time::Instant::now();
        assert_eq!(
            sup.shutdown(Duration::from_millis(100)).await,
            ShutdownOutcome::Aborted
        );
        assert!(t.elapsed() < Duration::from_secs(3));
        assert_eq!(released.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn periodic_tasks_stop_between_ticks() {
        let sup = Supervisor::new();
        let ticks = Arc::new(AtomicU32::new(0));
        let t = ticks.clone();
        sup.spawn_periodic("tick", Duration::from_millis(10), true, move || {
            let t = t.clone();
            async move {
                t.fetch_add(1, Ordering::SeqCst);
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            sup.shutdown(Duration::from_secs(1)).await,
            ShutdownOutcome::Drained
        );
        let n = ticks.load(Ordering::SeqCst);
        assert!(n >= 2, "ticked {n} times");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(ticks.load(Ordering::SeqCst), n, "no tick after shutdown");
    }
}
