//! In-process token buckets keyed by client (IP or IPv6 /64) and by account. Counters live in
//! this process only: with several instances each enforces its own budget (documented limit).
//! Sign-in lockout, which must hold across instances, is stored in the database instead.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A set of token buckets.
#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// Takes one token from `key`'s bucket of `per_min` tokens refilled evenly over a minute.
    /// `Err(retry_after)` when empty.
    pub fn check(&self, key: &str, per_min: u32) -> Result<(), Duration> {
        let cap = f64::from(per_min.max(1));
        let rate = cap / 60.0;
        let now = Instant::now();
        let Ok(mut map) = self.buckets.lock() else {
            // A poisoned lock means a panic elsewhere; failing open here beats failing every request.
            return Ok(());
        };
        if map.len() > 100_000 {
            map.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < cap
            });
        }
        let entry = map.entry(key.to_string()).or_insert((cap, now));
        let tokens = (entry.0 + now.duration_since(entry.1).as_secs_f64() * rate).min(cap);
        if tokens >= 1.0 {
            *entry = (tokens - 1.0, now);
            Ok(())
        } else {
            *entry = (tokens, now);
            let wait = (1.0 - tokens) / rate;
            Err(Duration::from_secs_f64(wait.ceil().max(1.0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_names_a_wait() {
        let l = RateLimiter::default();
        for _ in 0..3 {
            assert!(l.check("k", 3).is_ok());
        }
        let wait = l.check("k", 3).err();
        assert!(
            wait.is_some_and(|w| w.as_secs() >= 1 && w.as_secs() <= 20),
            "{wait:?}"
        );
        assert!(l.check("other", 3).is_ok(), "keys are independent");
    }
}
