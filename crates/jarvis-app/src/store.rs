//! Opening storage the way every entry point does (server, CLI commands, background work).

use crate::config::Config;
use jarvis_store::{ConnectOptions, Store, StoreError, redact_url};
use std::sync::Arc;
use thiserror::Error;

/// Storage could not be opened or migrated.
#[derive(Debug, Error)]
#[error("{context}: {source}")]
pub struct OpenError {
    /// What was being done.
    pub context: String,
    /// The cause.
    pub source: StoreError,
}

/// Opens storage and applies pending migrations, logging what it applied.
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, OpenError> {
    let url = config.database_url.expose();
    let mut opts = ConnectOptions::new(url);
    opts.max_connections = config.database_max_connections;
    opts.acquire_timeout = config.database_acquire_timeout;
    let store = jarvis_store::connect(&opts)
        .await
        .map_err(|source| OpenError {
            context: format!("cannot open database {}", redact_url(url)),
            source,
        })?;
    let applied = store.migrate().await.map_err(|source| OpenError {
        context: "cannot migrate the database".into(),
        source,
    })?;
    for m in &applied {
        tracing::info!(version = m.version, description = %m.description, "applied migration");
    }
    Ok(store)
}
