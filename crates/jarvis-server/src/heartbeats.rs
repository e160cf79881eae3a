//! Kiosk heartbeats, coalesced in memory and written in batches.
//!
//! A fleet sends one heartbeat per kiosk every `kiosk_offline_after / 4` seconds. Writing each
//! one synchronously made them queue behind SQLite's single writer (p99 288 ms at 32 kiosks).
//! Instead the handler answers at once and keeps the newest heartbeat per kiosk here; a flusher
//! task writes what accumulated in one transaction every [`FLUSH_INTERVAL`] (sooner when
//! [`FLUSH_AT`] kiosks are waiting) and once more on shutdown.
//!
//! Presence stays correct across instances:
//! - a kiosk whose stored `last_seen_at` is missing or older than half the offline threshold is
//!   written through at once, so going online is visible on every instance immediately;
//! - otherwise the stored `last_seen_at` lags the truth by at most one flush interval plus the
//!   flush itself, far below the offline threshold (at least 10 s, 120 s by default), so the
//!   lag never turns an online kiosk offline;
//! - every write only moves `last_seen_at` forward (the store's "latest wins"), so instances
//!   flushing the same kiosk in any order leave the newest heartbeat.
//!
//! Lost on a crash (not on a clean shutdown): at most one interval of refreshes for kiosks that
//! were already online; their next heartbeat repairs it.

use crate::flusher::Flusher;
use jarvis_core::model::{Heartbeat, Kiosk};
use jarvis_core::*;
use jarvis_store::{PendingHeartbeat, Store, StoreResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Notify;

/// How often waiting heartbeats are written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Waiting kiosks that trigger a flush before the interval is up.
pub const FLUSH_AT: usize = 512;

/// The heartbeats of this instance not written yet: at most one per kiosk (the newest).
pub struct HeartbeatBuffer {
    store: Arc<dyn Store>,
    offline_after: Duration,
    pending: Mutex<HashMap<KioskId, PendingHeartbeat>>,
    // Serializes flushes (the flusher and an explicit flush on shutdown or in tests).
    flushing: tokio::sync::Mutex<()>,
    full: Notify,
}

impl HeartbeatBuffer {
    /// An empty buffer writing to `store`; `offline_after` is the presence threshold.
    pub fn new(store: Arc<dyn Store>, offline_after: Duration) -> Arc<Self> {
        Arc::new(Self {
            store,
            offline_after,
            pending: Mutex::new(HashMap::new()),
            flushing: tokio::sync::Mutex::new(()),
            full: Notify::new(),
        })
    }

    /// Takes a heartbeat of an authenticated kiosk: written through when the stored presence is
    /// stale (see the module docs), kept for the next flush otherwise. Returns the `last_seen_at`
    /// written when it was written through.
    pub async fn submit(
        &self,
        kiosk: &Kiosk,
        heartbeat: Heartbeat,
    ) -> StoreResult<Option<OffsetDateTime>> {
        let now = now_micros();
        let p = PendingHeartbeat {
            kiosk: kiosk.id,
            gym: kiosk.gym_id,
            franchise: kiosk.franchise_id,
            heard_latency: heartbeat
                .voice_latency_ms
                .map(|ms| vec![(now, ms)])
                .unwrap_or_default(),
            heartbeat,
            received_at: now,
        };
        if self.write_through(kiosk.last_seen_at, now) {
            self.store
                .record_heartbeats(std::slice::from_ref(&p))
                .await?;
            return Ok(Some(now));
        }
        self.keep(p);
        Ok(None)
    }

    /// Whether a heartbeat must be written now: the stored `last_seen_at` is missing or older
    /// than half the offline threshold, so waiting for a flush could show the kiosk offline.
    fn write_through(&self, stored: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
        match stored {
            None => true,
            Some(seen) => (now - seen) >= self.offline_after / 2,
        }
    }

    fn keep(&self, mut p: PendingHeartbeat) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        // The newest heartbeat wins the kiosk's row, but latency samples are measurements, not
        // state: the kept entry carries those of both (bounded, oldest dropped first).
        match pending.get_mut(&p.kiosk) {
            Some(old) if old.received_at > p.received_at => {
                merge_samples(&mut old.heard_latency, p.heard_latency);
            }
            Some(old) => {
                let newer = std::mem::take(&mut p.heard_latency);
                p.heard_latency = std::mem::take(&mut old.heard_latency);
                merge_samples(&mut p.heard_latency, newer);
                pending.insert(p.kiosk, p);
            }
            None => {
                pending.insert(p.kiosk, p);
            }
        }
        if pending.len() >= FLUSH_AT {
            self.full.notify_one();
        }
    }

    /// Kiosks waiting for the next flush.
    pub fn len(&self) -> usize {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes everything waiting in one transaction; returns how many kiosks were updated. On a
    /// failed write the heartbeats go back (unless a newer one arrived meanwhile) for the next try.
    pub async fn flush(&self) -> StoreResult<u64> {
        let _one = self.flushing.lock().await;
        let batch: Vec<PendingHeartbeat> = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if pending.is_empty() {
                return Ok(0);
            }
            let mut batch: Vec<_> = pending.drain().map(|(_, p)| p).collect();
            // Grouped by gym: one tenant-context switch per gym in the transaction.
            batch.sort_by_key(|p| (p.franchise, p.gym, p.kiosk));
            batch
        };
        match self.store.record_heartbeats(&batch).await {
            Ok(n) => Ok(n),
            Err(e) => {
                for p in batch {
                    self.keep(p);
                }
                Err(e)
            }
        }
    }

    /// Starts the per-instance flusher task. Stop it with [`Flusher::shutdown`] after the server
    /// stopped taking requests: it writes what is left before it ends.
    pub fn spawn_flusher(self: &Arc<Self>, interval: Duration) -> Flusher {
        let (woken, buffer) = (self.clone(), self.clone());
        Flusher::spawn(
            "kiosk heartbeats",
            interval,
            move || {
                let b = woken.clone();
                async move { b.full.notified().await }
            },
            move |last| {
                let buffer = buffer.clone();
                async move {
                    match (buffer.flush().await, last) {
                        (Ok(n), true) => {
                            tracing::debug!(kiosks = n, "wrote kiosk heartbeats on shutdown")
                        }
                        (Ok(_), false) => {}
                        (Err(e), false) => {
                            tracing::warn!(error = %e, waiting = buffer.len(), "cannot write kiosk heartbeats; retrying")
                        }
                        (Err(e), true) => {
                            tracing::warn!(error = %e, lost = buffer.len(), "cannot write kiosk heartbeats on shutdown")
                        }
                    }
                }
            },
        )
    }
}

/// Most heard-latency samples kept per kiosk between two writes (a kiosk sends one per
/// heartbeat, so only a long write outage reaches it).
pub const MAX_PENDING_SAMPLES: usize = 64;

/// Appends `more` to `into` in time order, keeping the newest [`MAX_PENDING_SAMPLES`].
fn merge_samples(into: &mut Vec<(OffsetDateTime, u32)>, more: Vec<(OffsetDateTime, u32)>) {
    into.extend(more);
    into.sort_by_key(|(at, _)| *at);
    let excess = into.len().saturating_sub(MAX_PENDING_SAMPLES);
    into.drain(..excess);
}

/// Now, at the database's precision (microseconds), so the stored value compares as sent.
fn now_micros() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}
