//! The device-token cache: token hash → kiosk identity for a few seconds, so the kiosk API's
//! token check (every heartbeat, badge lookup and configuration read) does no SQL on a hit.
//!
//! Freshness:
//! - **This instance** forgets a kiosk's entries at once when it revokes, re-pairs, renames or
//!   moves it, and a gym's when it changes the gym (status, settings): the next request reads the
//!   database again. A read that started before such a change is not cached after it (the
//!   generation check in [`TokenCache::insert`]), so a revoked identity cannot slip back in.
//! - **Other instances** (PostgreSQL deployments run several) keep their entry for at most the
//!   TTL (`kiosk_token_cache_ms`, 5 s by default): the codebase has no cross-instance signal to
//!   reuse (no `LISTEN`/`NOTIFY`; the `instances` table is a liveness registry, not a message
//!   bus), and the TTL bounds the staleness without a listener connection per instance.
//!
//! Memory is bounded by [`CAPACITY`] entries; a full cache drops expired entries first, then
//! the oldest. Unknown tokens are never cached (they cost the address's API budget instead).

use jarvis_core::{GymId, KioskId};
use jarvis_store::KioskIdentity;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Most cached device tokens per instance (one per kiosk; a few KB each). A larger fleet still
/// works: the least recently loaded entries are dropped and read again when needed.
pub const CAPACITY: usize = 1024;

/// Entries of `V` by key, each kept at most `ttl`, at most `capacity` of them.
pub struct TokenCache<V> {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    entries: HashMap<String, (Instant, V)>,
    // Bumped by every invalidation: a load that started before one is not cached.
    generation: u64,
}

/// The kiosk API's cache of device tokens (keyed by the token's SHA-256).
pub type KioskTokens = TokenCache<KioskIdentity>;

impl<V: Clone> TokenCache<V> {
    /// An empty cache; a zero `ttl` or `capacity` turns it off (every lookup misses).
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                generation: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<V>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The value cached under `key`, unless missing or older than the TTL.
    pub fn get(&self, key: &str) -> Option<V> {
        let mut inner = self.lock();
        match inner.entries.get(key) {
            Some((at, v)) if at.elapsed() < self.ttl => Some(v.clone()),
            Some(_) => {
                inner.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// The generation to pass to [`Self::insert`]: read it before loading the value.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Caches `value` under `key`, unless something was invalidated since `generation` was read
    /// (the value may predate that change). Makes room when full: expired entries first, then
    /// the oldest.
    pub fn insert(&self, key: String, value: V, generation: u64) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&key) {
            let ttl = self.ttl;
            inner.entries.retain(|_, (at, _)| at.elapsed() < ttl);
            while inner.entries.len() >= self.capacity {
                let oldest = inner
                    .entries
                    .iter()
                    .min_by_key(|(_, (at, _))| *at)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => inner.entries.remove(&k),
                    None => break,
                };
            }
        }
        inner.entries.insert(key, (Instant::now(), value));
    }

    /// Drops every entry `stale` says is affected, and refuses loads started before now.
    pub fn forget(&self, stale: impl Fn(&V) -> bool) {
        let mut inner = self.lock();
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.retain(|_, (_, v)| !stale(v));
    }

    /// Changes the cached entries `which` selects in place (their age is kept).
    pub fn update(&self, which: impl Fn(&V) -> bool, change: impl Fn(&mut V)) {
        let mut inner = self.lock();
        for (_, v) in inner.entries.values_mut() {
            if which(v) {
                change(v);
            }
        }
    }

    /// Entries held (expired ones included until they are looked up or pushed out).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl TokenCache<KioskIdentity> {
    /// Forgets this kiosk (revoked, re-paired, renamed or moved).
    pub fn forget_kiosk(&self, kiosk: KioskId) {
        self.forget(|i| i.kiosk.id == kiosk);
    }

    /// Forgets every kiosk of this gym (its status or settings changed).
    pub fn forget_gym(&self, gym: GymId) {
        self.forget(|i| i.gym.id == gym || i.kiosk.gym_id == gym);
    }

    /// Records that the kiosk's heartbeat was just written, so the heartbeat buffer's
    /// write-through decision sees the stored `last_seen_at` without reading it again.
    pub fn seen(&self, kiosk: KioskId, at: time::OffsetDateTime) {
        self.update(
            |i| i.kiosk.id == kiosk,
            |i| {
                if i.kiosk.last_seen_at.is_none_or(|t| t < at) {
                    i.kiosk.last_seen_at = Some(at);
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let c = TokenCache::new(Duration::from_millis(30), 8);
        c.insert("a".into(), 1, c.generation());
        assert_eq!(c.get("a"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(c.get("a"), None);
        assert!(c.is_empty(), "an expired entry is dropped when looked up");
    }

    #[test]
    fn the_cache_is_bounded_and_drops_the_oldest_first() {
        let c = TokenCache::new(Duration::from_secs(60), 4);
        for i in 0..10 {
            c.insert(format!("k{i}"), i, c.generation());
            assert!(c.len() <= 4, "{} entries", c.len());
        }
        assert_eq!(c.len(), 4);
        assert_eq!(c.get("k0"), None);
        assert_eq!(c.get("k9"), Some(9));
        assert_eq!(c.get("k6"), Some(6));
        // Replacing a held key does not push anything out.
        c.insert("k9".into(), 90, c.generation());
        assert_eq!((c.len(), c.get("k6"), c.get("k9")), (4, Some(6), Some(90)));
    }

    #[test]
    fn a_load_started_before_an_invalidation_is_not_cached() {
        let c = TokenCache::new(Duration::from_secs(60), 8);
        c.insert("a".into(), 1, c.generation());
        let before = c.generation();
        c.forget(|v| *v == 1);
        assert_eq!(c.get("a"), None);
        c.insert("a".into(), 1, before);
        assert_eq!(c.get("a"), None, "the stale read must not come back");
        c.insert("a".into(), 2, c.generation());
        assert_eq!(c.get("a"), Some(2));
    }

    #[test]
    fn a_zero_ttl_or_capacity_turns_it_off() {
        for c in [
            TokenCache::new(Duration::ZERO, 8),
            TokenCache::new(Duration::from_secs(1), 0),
        ] {
            c.insert("a".into(), 1, c.generation());
            assert_eq!((c.get("a"), c.len()), (None, 0));
        }
    }
}
