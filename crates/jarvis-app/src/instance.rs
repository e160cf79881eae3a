//! This process as a registered instance: its id is the lease owner of the jobs it claims, and
//! its heartbeat lets operators (and reapers) tell live instances from dead ones.

use crate::supervisor::Supervisor;
use jarvis_core::InstanceId;
use jarvis_core::model::NewInstance;
use jarvis_store::{Store, StoreResult};
use std::sync::Arc;
use std::time::Duration;

/// How often a live instance says so.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// Registers this process (host name, pid, version).
pub async fn register(store: &dyn Store) -> StoreResult<InstanceId> {
    let hostname = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into());
    let instance = store
        .register_instance(NewInstance {
            hostname,
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").into(),
        })
        .await?;
    tracing::info!(instance = %instance.id, "registered instance");
    Ok(instance.id)
}

/// Starts the supervised heartbeat of `id`.
pub fn spawn_heartbeat(sup: &Supervisor, store: Arc<dyn Store>, id: InstanceId, every: Duration) {
    sup.spawn_periodic("instance-heartbeat", every, false, move || {
        let store = store.clone();
        async move {
            match store.instance_heartbeat(id).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(instance = %id, "instance heartbeat refused (stopped or unknown)"),
                Err(e) => tracing::warn!(instance = %id, error = %e, "cannot record the instance heartbeat"),
            }
        }
    });
}

/// Records a graceful stop (after the supervisor drained).
pub async fn stopped(store: &dyn Store, id: InstanceId) {
    if let Err(e) = store.instance_stopped(id).await {
        tracing::warn!(instance = %id, error = %e, "cannot record the instance stop");
    }
}
