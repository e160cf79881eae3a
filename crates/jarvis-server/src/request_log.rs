//! The request log: every answered request (method, route template, status, latency, the gym
//! the path named) kept in memory and written in one batch per second, so logging adds no
//! write to the request's own path. Nothing personal: no path, query, address or user.
//!
//! Bounded: when the database cannot keep up, rows beyond [`MAX_PENDING`] are dropped and
//! counted (logged at the next flush) instead of growing memory.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use jarvis_core::{GymId, InstanceId};
use jarvis_store::{RequestLogEntry, Store};

use crate::flusher::Flusher;

/// Rows waiting at most; beyond, new rows are dropped (and counted).
pub const MAX_PENDING: usize = 20_000;
/// How often waiting rows are written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// Rows waiting for the next write.
pub struct RequestLog {
    store: Arc<dyn Store>,
    instance: InstanceId,
    pending: Mutex<Vec<RequestLogEntry>>,
    dropped: AtomicU64,
}

impl RequestLog {
    /// An empty log writing as `instance`.
    pub fn new(store: Arc<dyn Store>, instance: InstanceId) -> Arc<Self> {
        Arc::new(Self {
            store,
            instance,
            pending: Mutex::new(Vec::new()),
            dropped: AtomicU64::new(0),
        })
    }

    /// Keeps one answered request for the next write.
    pub fn push(
        &self,
        method: &str,
        route: &str,
        status: u16,
        latency: Duration,
        gym: Option<GymId>,
    ) {
        let entry = RequestLogEntry {
            at: time::OffsetDateTime::now_utc(),
            instance: self.instance,
            method: method.to_string(),
            route: route.to_string(),
            status,
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            gym,
        };
        match self.pending.lock() {
            Ok(mut p) if p.len() < MAX_PENDING => p.push(entry),
            _ => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Writes what is waiting; answers how many rows were written.
    pub async fn flush(&self) -> jarvis_store::StoreResult<u64> {
        let batch = match self.pending.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(_) => return Ok(0),
        };
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "request log rows dropped: the database did not keep up"
            );
        }
        if batch.is_empty() {
            return Ok(0);
        }
        match self.store.record_requests(&batch).await {
            Ok(n) => Ok(n),
            Err(e) => {
                // Lost rather than retried: a log must not pile up behind an outage.
                self.dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    /// Starts the task that writes every [`FLUSH_INTERVAL`], and once more at shutdown.
    pub fn spawn_flusher(self: &Arc<Self>) -> Flusher {
        let log = self.clone();
        Flusher::spawn(
            "request log",
            FLUSH_INTERVAL,
            std::future::pending,
            move |last| {
                let log = log.clone();
                async move {
                    if let Err(e) = log.flush().await {
                        if last {
                            tracing::warn!(error = %e, "cannot write the request log on shutdown");
                        } else {
                            tracing::warn!(error = %e, "cannot write the request log");
                        }
                    }
                }
            },
        )
    }
}

/// The gym a matched route names: a `{gym}` or `{gym_id}` parameter, or the `{id}` of
/// `/…/gyms/{id}…`.
pub async fn gym_of(parts: &mut Parts, route: &str) -> Option<GymId> {
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    let by_name = |name: &str| {
        params
            .iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| v.parse::<uuid::Uuid>().ok())
    };
    by_name("gym")
        .or_else(|| by_name("gym_id"))
        .or_else(|| {
            route
                .contains("/gyms/{id}")
                .then(|| by_name("id"))
                .flatten()
        })
        .map(GymId::from)
}
