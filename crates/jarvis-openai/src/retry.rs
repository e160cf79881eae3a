//! Retry policy and an injectable clock.
//!
//! The rules are the official SDKs' (openai-python `_base_client.py` at e43b422, 2026-08-21):
//! `x-should-retry: true|false` decides when present; otherwise 408, 409, 429, 5xx and
//! connection errors are retried. The wait is the server's `retry-after-ms` (float ms), else
//! `Retry-After` (float seconds or an HTTP-date) when 0 < hint <= 120 s; a longer hint ends the
//! retries; no usable hint means jittered exponential back-off (0.5 s doubling to 8 s).
//! One rule is ours: quota errors (`insufficient_quota`, `credit_balance_exhausted`) are never
//! retried, whatever the headers say.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::error::OpenAiError;

/// Monotonic time and sleeping, injectable so retry timing is testable without real sleeps.
pub trait Clock: Send + Sync + 'static {
    /// Monotonic time since an arbitrary origin.
    fn now(&self) -> Duration;
    /// Waits for `d`.
    fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
    /// Wall-clock time, to turn an HTTP-date `Retry-After` into a delay.
    fn wall_now(&self) -> SystemTime {
        SystemTime::now()
    }
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
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<Mutex<ManualInner>>,
    hook: Option<SleepHook>,
    wall_origin: SystemTime,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock {
            inner: Arc::default(),
            hook: None,
            wall_origin: SystemTime::now(),
        }
    }
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

    /// Sets the wall clock at time zero (e.g. a fake server's clock), for HTTP-date hints.
    pub fn with_wall_clock(mut self, at: SystemTime) -> Self {
        self.wall_origin = at;
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
    fn wall_now(&self) -> SystemTime {
        self.wall_origin + self.now()
    }
}

/// Bounded retry policy, modelled on the official SDKs (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// First computed delay.
    pub initial_delay: Duration,
    /// Cap of a computed delay.
    pub max_delay: Duration,
    /// Longest server-requested wait obeyed. Default 120 s: openai-python's
    /// `MAX_RETRY_AFTER_DELAY` (since 2026-07-30; older SDKs used 60 s). A longer request
    /// ends the retries (the error carries it) rather than retrying sooner than asked.
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
            // Room for one maximal server hint plus the attempts around it.
            max_elapsed: Duration::from_secs(150),
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

    /// The computed back-off before retry number `retry` (0-based).
    pub fn backoff(&self, retry: u32) -> Duration {
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

    /// Delay before retry number `retry` given the server's hint: the hint itself when it is
    /// at most [`max_retry_after`](Self::max_retry_after), `None` (do not retry) when it is
    /// longer, the computed back-off when there is no (positive) hint.
    pub fn delay(&self, retry: u32, hint: Option<Duration>) -> Option<Duration> {
        match hint.filter(|h| !h.is_zero()) {
            Some(h) if h <= self.max_retry_after => Some(h),
            Some(_) => None,
            None => Some(self.backoff(retry)),
        }
    }

    /// Whether `error` may be retried, given the server's `x-should-retry` override (if any).
    pub fn should_retry(&self, error: &OpenAiError, server_says: Option<bool>) -> bool {
        if matches!(error, OpenAiError::QuotaExhausted { .. }) {
            // Retrying cannot refill a quota; the header does not change that.
            return false;
        }
        server_says.unwrap_or_else(|| error.is_retryable())
    }
}

/// What a failed response's headers say about retrying.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RetryHints {
    /// Positive server-requested wait (`Duration::MAX` when absurdly large or infinite).
    pub retry_after: Option<Duration>,
    /// `x-should-retry: true` / `false`.
    pub should_retry: Option<bool>,
}

/// A failed attempt: the typed error plus what the server said about retrying it.
#[derive(Debug)]
pub(crate) struct Failure {
    pub error: OpenAiError,
    pub hints: RetryHints,
}

impl From<OpenAiError> for Failure {
    fn from(error: OpenAiError) -> Self {
        Failure {
            error,
            hints: RetryHints::default(),
        }
    }
}

/// Reads `x-should-retry`, then `retry-after-ms` (float ms), else `Retry-After` (float seconds,
/// else an HTTP-date measured from `wall_now`). Zero, negative or unparseable hints are dropped.
pub(crate) fn hints_from_headers(
    h: &reqwest::header::HeaderMap,
    wall_now: SystemTime,
) -> RetryHints {
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let should_retry = match get("x-should-retry") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    let secs = get("retry-after-ms")
        .and_then(|v| v.parse::<f64>().ok())
        .map(|ms| ms / 1000.0)
        .or_else(|| get("retry-after").and_then(|v| v.parse::<f64>().ok()))
        .or_else(|| {
            let at = httpdate::parse_http_date(get("retry-after")?).ok()?;
            Some(match at.duration_since(wall_now) {
                Ok(d) => d.as_secs_f64(),
                Err(past) => -past.duration().as_secs_f64(),
            })
        });
    RetryHints {
        retry_after: secs.and_then(positive_duration),
        should_retry,
    }
}

fn positive_duration(secs: f64) -> Option<Duration> {
    if secs.is_nan() || secs <= 0.0 {
        return None;
    }
    // Infinite or overflowing hints are "too long", never a short wait.
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
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
        let d: Vec<_> = (0..6).map(|i| p.backoff(i).as_millis()).collect();
        assert_eq!(d, vec![500, 1000, 2000, 4000, 8000, 8000]);
    }

    #[test]
    fn jitter_stays_in_range_and_hint_wins_up_to_the_cap() {
        let p = RetryPolicy::default();
        for i in 0..50 {
            let d = p.delay(i % 5, None).unwrap();
            let base = p
                .initial_delay
                .saturating_mul(2u32.pow(i % 5))
                .min(p.max_delay);
            assert!(d <= base && d >= base.mul_f64(0.75), "{d:?} vs {base:?}");
        }
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(7))),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(120))),
            Some(Duration::from_secs(120))
        );
        // Longer than 120 s: do not retry at all (the SDK's rule since 2026-07).
        assert_eq!(p.delay(0, Some(Duration::from_millis(120_001))), None);
        assert_eq!(p.delay(0, Some(Duration::MAX)), None);
        // A zero hint is no hint.
        assert!(p.delay(0, Some(Duration::ZERO)).unwrap() <= Duration::from_millis(500));
    }

    #[test]
    fn header_override_and_quota_rule() {
        let p = RetryPolicy::default();
        let server = OpenAiError::from_status(500, "", None);
        let bad = OpenAiError::from_status(400, "", None);
        let quota = OpenAiError::from_status(
            429,
            r#"{"error":{"message":"q","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
            None,
        );
        assert!(p.should_retry(&server, None));
        assert!(!p.should_retry(&server, Some(false)));
        assert!(!p.should_retry(&bad, None));
        assert!(p.should_retry(&bad, Some(true)));
        assert!(!p.should_retry(&quota, Some(true)));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> reqwest::header::HeaderMap {
        let mut h = reqwest::header::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn parses_retry_headers() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let hint = |pairs: &[(&'static str, &str)]| hints_from_headers(&headers(pairs), now);
        assert_eq!(
            hint(&[("retry-after", "3")]).retry_after,
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            hint(&[("retry-after", "3"), ("retry-after-ms", "165")]).retry_after,
            Some(Duration::from_millis(165))
        );
        assert_eq!(
            hint(&[("retry-after", "1.5")]).retry_after,
            Some(Duration::from_millis(1500))
        );
        // An unparseable ms value falls back to Retry-After, as the SDK does.
        assert_eq!(
            hint(&[("retry-after-ms", "soon"), ("retry-after", "2")]).retry_after,
            Some(Duration::from_secs(2))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            hint(&[("retry-after", &date)]).retry_after,
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(hint(&[("retry-after", &past)]).retry_after, None);
        assert_eq!(hint(&[("retry-after", "0")]).retry_after, None);
        assert_eq!(hint(&[("retry-after", "-4")]).retry_after, None);
        assert_eq!(hint(&[("retry-after", "whenever")]).retry_after, None);
        assert_eq!(
            hint(&[("retry-after", "1e999")]).retry_after,
            Some(Duration::MAX)
        );
        assert_eq!(
            hint(&[("x-should-retry", "false")]).should_retry,
            Some(false)
        );
        assert_eq!(hint(&[("x-should-retry", "true")]).should_retry, Some(true));
        assert_eq!(hint(&[("x-should-retry", "maybe")]).should_retry, None);
        assert_eq!(hint(&[]), RetryHints::default());
    }
}
