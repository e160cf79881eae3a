//! A manual clock: time moves only when a test calls `advance`, so expiry is deterministic.

use std::time::Duration;

use tokio::sync::watch;

/// Fake wall clock (unix time) that only moves on [`FakeClock::advance`].
#[derive(Debug, Clone)]
pub struct FakeClock {
    start_unix: i64,
    offset: watch::Sender<Duration>,
}

impl FakeClock {
    /// A clock reading `start_unix` until advanced.
    pub fn new(start_unix: i64) -> Self {
        let (tx, _rx) = watch::channel(Duration::ZERO);
        FakeClock {
            start_unix,
            offset: tx,
        }
    }

    /// Current fake time in unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        let off = *self.offset.borrow();
        self.start_unix * 1000 + i64::try_from(off.as_millis()).unwrap_or(i64::MAX / 2)
    }

    /// Current fake time in unix seconds.
    pub fn now_unix(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves time forward, waking expiry watchers.
    pub fn advance(&self, d: Duration) {
        self.offset.send_modify(|o| *o += d);
    }

    /// A receiver that changes whenever time advances.
    pub fn subscribe(&self) -> watch::Receiver<Duration> {
        self.offset.subscribe()
    }
}
