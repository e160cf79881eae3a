//! Starting and stopping the server: open storage, migrate, choose OpenAI or the demo fake, bind,
//! serve, and on SIGTERM/ctrl-c let in-flight requests finish within the grace period.

use crate::state::AppState;
use jarvis_app::config::Config;
use jarvis_app::store::{OpenError, open_store};
use jarvis_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why the server could not start or stopped badly.
#[derive(Debug, Error)]
pub enum StartError {
    /// Storage could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] OpenError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The in-process demo fake did not start.
    #[error("cannot start the demo OpenAI fake: {0}")]
    Demo(String),
    /// Keys or the master key could not be loaded.
    #[error("cannot set up authentication: {0}")]
    Auth(String),
    /// Serving failed.
    #[error("server error: {0}")]
    Serve(String),
}

/// A server running in the background (used by `serve` and by tests).
pub struct RunningServer {
    /// Bound address.
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
    grace: std::time::Duration,
    voice_stop: tokio_util::sync::CancellationToken,
    voice_tasks: tokio_util::task::TaskTracker,
    // Keeps the demo fake alive as long as the server.
    #[cfg(feature = "demo")]
    _fake: Option<jarvis_fake_openai::FakeOpenAi>,
}

impl RunningServer {
    /// Base URL, e.g. `http://127.0.0.1:3001`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections and waits for in-flight requests up to the grace period.
    pub async fn shutdown(self) -> Result<(), StartError> {
        // Running calls end as `shutdown` (hung up, billed, slot freed) while requests finish.
        self.voice_stop.cancel();
        self.voice_tasks.close();
        let _ = self.shutdown.send(true);
        if tokio::time::timeout(self.grace, self.voice_tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("voice calls did not end within the grace period");
        }
        match tokio::time::timeout(self.grace, self.task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(StartError::Serve(e.to_string())),
            Ok(Err(e)) => Err(StartError::Serve(e.to_string())),
            Err(_) => {
                tracing::warn!(
                    grace_secs = self.grace.as_secs(),
                    "in-flight requests did not finish within the grace period"
                );
                Ok(())
            }
        }
    }
}

/// Builds the state and serves on an already-bound listener.
pub async fn start(
    config: Config,
    store: Arc<dyn Store>,
    listener: TcpListener,
) -> Result<RunningServer, StartError> {
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    #[cfg(feature = "demo")]
    let mut fake = None;
    let (openai_base_url, key): (Arc<str>, String) = match &config.openai_api_key {
        Some(k) => (
            config.openai_base_url.as_str().into(),
            k.expose().to_string(),
        ),
        None => (
            demo_openai(
                #[cfg(feature = "demo")]
                &mut fake,
            )
            .await?,
            DEMO_KEY.to_string(),
        ),
    };
    let openai_config = jarvis_openai::OpenAiConfig::new(
        openai_base_url.to_string(),
        jarvis_openai::ApiKey::new(key),
    )
    .map_err(|e| StartError::Demo(format!("invalid OpenAI configuration: {e}")))?;
    let openai = Arc::new(
        jarvis_openai::OpenAiClient::new(openai_config)
            .map_err(|e| StartError::Demo(format!("cannot build the OpenAI client: {e}")))?,
    );
    let demo_mode = config.demo_mode();
    if demo_mode {
        tracing::warn!(openai = %openai_base_url, "DEMO MODE: no OpenAI key configured; the built-in fake OpenAI answers every AI request");
    }
    let grace = config.shutdown_grace;
    let auth = crate::auth::open(&config, store.clone())
        .await
        .map_err(StartError::Auth)?;
    let voice_stop = tokio_util::sync::CancellationToken::new();
    let voice_tasks = tokio_util::task::TaskTracker::new();
    let voice = jarvis_voice::VoiceBroker::new(
        store.clone(),
        openai.as_ref().clone(),
        jarvis_voice::VoiceConfig::new(jarvis_core::InstanceId::new()),
        voice_tasks.clone(),
        voice_stop.clone(),
    );
    let state = AppState {
        voice,
        store,
        config: Arc::new(config),
        openai_base_url,
        openai,
        demo_mode,
        auth,
        started_at: time::OffsetDateTime::now_utc(),
    };
    // Log transport of the e-mail outbox until the SMTP sender exists.
    let outbox_state = state.clone();
    let outbox = tokio::spawn(async move {
        let mut ticks: u32 = 0;
        loop {
            crate::auth::api::log_outbox(&outbox_state).await;
            // A key rotated by the CLI or another instance becomes the signing key here too.
            if ticks % 12 == 11
                && let Err(e) = outbox_state.auth.keys.reload().await
            {
                tracing::warn!(error = %e, "cannot reload signing keys");
            }
            // At start and every minute: imports whose runner died (crash, restart) end failed
            // instead of staying `running`; live ones, here or on another instance, keep moving.
            if ticks.is_multiple_of(12) {
                match crate::imports::sweep_stale_imports(outbox_state.store.as_ref()).await {
                    Ok(n) if n > 0 => tracing::warn!(jobs = n, "marked interrupted imports failed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot sweep interrupted imports"),
                }
            }
            // Every 10 minutes, drop sessions, tokens and e-mails that ended over a week ago.
            if ticks % 120 == 60 {
                let before = time::OffsetDateTime::now_utc() - time::Duration::days(7);
                match outbox_state.store.purge_expired(before).await {
                    Ok(n) if n > 0 => tracing::info!(rows = n, "purged ended sessions and tokens"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cannot purge ended sessions"),
                }
            }
            ticks = ticks.wrapping_add(1);
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        }
    });
    let app = crate::http::router(state);
    let (tx, mut rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        let r = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.wait_for(|stop| *stop).await;
        })
        .await;
        outbox.abort();
        r
    });
    tracing::info!(%addr, "listening");
    Ok(RunningServer {
        addr,
        shutdown: tx,
        task,
        grace,
        voice_stop,
        voice_tasks,
        #[cfg(feature = "demo")]
        _fake: fake,
    })
}

/// The key the client sends to the in-process fake (which accepts any `sk-` key in demo mode).
#[cfg(feature = "demo")]
const DEMO_KEY: &str = jarvis_fake_openai::DEMO_API_KEY;
#[cfg(not(feature = "demo"))]
const DEMO_KEY: &str = "sk-demo-unavailable";

#[cfg(feature = "demo")]
async fn demo_openai(
    slot: &mut Option<jarvis_fake_openai::FakeOpenAi>,
) -> Result<Arc<str>, StartError> {
    let addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let fake = jarvis_fake_openai::FakeOpenAi::start_demo(addr)
        .await
        .map_err(|e| StartError::Demo(e.to_string()))?;
    let url: Arc<str> = fake.base_url().into();
    *slot = Some(fake);
    Ok(url)
}

#[cfg(not(feature = "demo"))]
async fn demo_openai() -> Result<Arc<str>, StartError> {
    Err(StartError::Demo(
        "this build has no demo fake; set JARVIS_OPENAI_API_KEY".into(),
    ))
}

/// Runs until `stop` resolves (normally SIGTERM or ctrl-c), then shuts down gracefully.
pub async fn run(config: Config, stop: impl Future<Output = ()>) -> Result<(), StartError> {
    let store = open_store(&config).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let server = start(config, store.clone(), listener).await?;
    stop.await;
    tracing::info!("shutting down: finishing in-flight requests");
    let result = server.shutdown().await;
    store.close().await;
    tracing::info!("stopped");
    result
}

/// Resolves on ctrl-c or SIGTERM.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    // The SIGTERM handler is installed now, not when the future is first polled: a signal that
    // arrives while the server is starting must not kill the process with the default action.
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {}
            () = term => {}
        }
    }
}
