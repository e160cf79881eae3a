//! Retry policy (jittered exponential back-off honouring `Retry-After`) and an injectable clock.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Monotonic time and sleeping, injectable so retry timing is testable without real sleeps.
pub trait Clock: Send + Sync + 'static {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
    /// Waits for `d`.
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
}

/// The real clock (tokio timers).
#[derive(Debug, Clone)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        Box::pin(tokio::time::sleep(d))
    }
}

type SleepHook = Arc<dyn Fn(Duration) + Send + Sync>;

/// A clock for tests: sleeping returns at once, advances `now` and records the delay.
#[derive(Clone, Default)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualInner>>,
    hook: Option<SleepHook>,
}

#[derive(Default)]
struct ManualInner {
    now: Duration,
    sleeps: Vec<Duration>,
}

impl std::fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManualClock")
            .field("sleeps", &self.sleeps())
            .finish()
    }
}

impl ManualClock {
    /// A manual clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also calls `hook(d)` on each sleep (e.g. to advance a fake server's clock in lock-step).
    pub fn with_hook(mut self, hook: impl Fn(Duration) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Every delay slept so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.inner
            .lock()
            .map(|g| g.sleeps.clone())
            .unwrap_or_default()
    }

    /// Moves time forward without sleeping.
    pub fn advance(&self, d: Duration) {
        if let Ok(mut g) = self.inner.lock() {
            g.now += d;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        self.inner.lock().map(|g| g.now).unwrap_or_default()
    }
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        if let Ok(mut g) = self.inner.lock() {
            g.now += d;
            g.sleeps.push(d);
        }
        if let Some(h) = &self.hook {
            h(d);
        }
        Box::pin(std::future::ready(()))
    }
}

/// Bounded retry policy, modelled on the official SDK (0.5 s → 8 s, jitter, `Retry-After` ≤ 120 s).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// First computed delay.
    pub initial_delay: Duration,
    /// Cap of a computed delay.
    pub max_delay: Duration,
    /// Server hints longer than this are ignored in favour of the computed delay.
    pub max_retry_after: Duration,
    /// Total time budget: a retry whose delay would exceed it is not attempted.
    pub max_elapsed: Duration,
    /// Multiply computed delays by a random factor in [0.75, 1] to spread retries.
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(120),
            max_elapsed: Duration::from_secs(90),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Delay before retry number `retry` (0-based), given the server's hint.
    pub fn delay(&self, retry: u32, hint: Option<Duration>) -> Duration {
        if let Some(h) = hint
            && !h.is_zero()
            && h <= self.max_retry_after
        {
            return h;
        }
        let factor = 2u32.saturating_pow(retry.min(16));
        let base = self
            .initial_delay
            .saturating_mul(factor)
            .min(self.max_delay);
        if self.jitter {
            let j: f64 = 1.0 - 0.25 * rand::random::<f64>();
            base.mul_f64(j)
        } else {
            base
        }
    }
}

/// Parses `retry-after-ms` (float milliseconds) or `retry-after` (seconds) from response headers.
pub(crate) fn retry_after_from_headers(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    // HTTP-date forms are ignored: OpenAI sends seconds, and a bad date must not stall us.
    get("retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn computed_delays_double_and_cap() {
        let p = RetryPolicy {
            jitter: false,
            ..RetryPolicy::default()
        };
        let d: Vec<_> = (0..6).map(|i| p.delay(i, None).as_millis()).collect();
        assert_eq!(d, vec![500, 1000, 2000, 4000, 8000, 8000]);
    }

    #[test]
    fn jitter_stays_in_range_and_hint_wins() {
        let p = RetryPolicy::default();
        for i in 0..50 {
            let d = p.delay(i % 5, None);
            let base = p
                .initial_delay
                .saturating_mul(2u32.pow(i % 5))
                .min(p.max_delay);
            assert!(d <= base && d >= base.mul_f64(0.75), "{d:?} vs {base:?}");
        }
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        // Hints above 120 s are not trusted.
        assert!(p.delay(0, Some(Duration::from_secs(500))) <= Duration::from_millis(500));
    }

    #[test]
    fn parses_retry_after_headers() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after_from_headers(&h), Some(Duration::from_secs(3)));
        h.insert("retry-after-ms", "165".parse().unwrap());
        assert_eq!(
            retry_after_from_headers(&h),
            Some(Duration::from_millis(165))
        );
    }
}
