//! Starting and stopping the server: open storage, migrate, choose OpenAI or the demo fake,
//! register the instance, start the job runner and the per-instance tasks, bind, serve; and on
//! SIGTERM/ctrl-c stop taking work, let in-flight requests and running jobs finish within the
//! grace period, give unfinished jobs back, mark the instance stopped. Every task is started
//! through one `Supervisor`.

use crate::state::AppState;
use jarvis_app::config::Config;
use jarvis_app::jobs::{Runner, RunnerConfig};
use jarvis_app::store::{OpenError, open_store};
use jarvis_app::supervisor::{ShutdownOutcome, Supervisor};
use jarvis_core::InstanceId;
use jarvis_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use thiserror::Error;
use tokio::net::TcpListener;

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
    /// A job kind is declared wrongly.
    #[error("cannot set up background jobs: {0}")]
    Jobs(String),
    /// The e-mail transport cannot be built from the configuration.
    #[error("invalid e-mail configuration: {0}")]
    Mailer(#[from] jarvis_app::mailer::MailerError),
}

/// A server running in the background (used by `serve` and by tests).
pub struct RunningServer {
    /// Bound address.
    pub addr: SocketAddr,
    /// Bound address of the separate `/metrics` listener, when configured.
    pub metrics_addr: Option<SocketAddr>,
    supervisor: Supervisor,
    store: Arc<dyn Store>,
    instance: InstanceId,
    grace: std::time::Duration,
    serve_error: Arc<Mutex<Option<String>>>,
    // Flushes Sentry when the server is dropped.
    _sentry: Option<crate::sentry_report::SentryGuard>,
    // Keeps the demo fake alive as long as the server.
    #[cfg(feature = "demo")]
    _fake: Option<jarvis_fake_openai::FakeOpenAi>,
}

impl RunningServer {
    /// Base URL, e.g. `http://127.0.0.1:3001`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// This process's instance id (the lease owner of the jobs it claims).
    pub fn instance(&self) -> InstanceId {
        self.instance
    }

    /// Stops accepting connections and claiming jobs, lets in-flight requests and running jobs
    /// finish up to the grace period, gives unfinished jobs back to the queue, and marks the
    /// instance stopped.
    pub async fn shutdown(self) -> Result<(), StartError> {
        match self.supervisor.shutdown(self.grace).await {
            ShutdownOutcome::Drained => {}
            ShutdownOutcome::Aborted => tracing::warn!(
                grace_secs = self.grace.as_secs(),
                "work still running at the end of the grace period was interrupted"
            ),
            ShutdownOutcome::Stuck => {
                tracing::error!("some tasks did not stop; exiting anyway");
            }
        }
        jarvis_app::instance::stopped(self.store.as_ref(), self.instance).await;
        let err = self.serve_error.lock().ok().and_then(|mut e| e.take());
        match err {
            Some(e) => Err(StartError::Serve(e)),
            None => Ok(()),
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
    let mailer = Arc::new(jarvis_app::mailer::Mailer::from_config(&config)?);
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
    let supervisor = Supervisor::new();
    let auth = crate::auth::open(&config, store.clone(), &supervisor)
        .await
        .map_err(StartError::Auth)?;
    let heartbeats =
        crate::heartbeats::HeartbeatBuffer::new(store.clone(), config.kiosk_offline_after);
    // Per-instance flusher; the supervised HTTP task stops it after the last request.
    let flusher = heartbeats.spawn_flusher(crate::heartbeats::FLUSH_INTERVAL);
    let instance = jarvis_app::instance::register(store.as_ref())
        .await
        .map_err(|source| {
            StartError::Store(OpenError {
                context: "cannot register this instance".into(),
                source,
            })
        })?;
    // Custom HTTP tools: managed on their pages and API, added to each call of their gym.
    let http_tools = jarvis_app::http_tools::HttpTools::new(
        store.clone(),
        auth.master.clone(),
        config.tools_allow.clone(),
    );
    // Calls are owned by this registered instance (its heartbeat keeps them from the reaper),
    // tracked by the supervisor, and end as `shutdown` as soon as shutdown begins.
    let voice = jarvis_voice::VoiceBroker::new(
        store.clone(),
        openai.as_ref().clone(),
        jarvis_voice::VoiceConfig::new(instance),
        supervisor.tracker(),
        supervisor.signals().stop_token(),
    )
    // Built-ins plus search_knowledge (the knowledge base's embeddings model).
    .with_tools(jarvis_app::assistant::tools(
        openai.as_ref(),
        &config.knowledge_embedding_model,
    ))
    // Budget alerts e-mail the gym's managers (the super admins for the platform's budget).
    .with_alert_emails(Arc::new(crate::areas::voice::alerts::OutboxAlertEmails {
        store: store.clone(),
        master: auth.master.clone(),
        public_base: jarvis_app::accounts::public_base(&config),
    }))
    .with_gym_tools(Arc::new(http_tools.clone()));
    let job_stats = config.jobs_workers.then(Arc::default);
    let request_log = config
        .request_log
        .then(|| crate::request_log::RequestLog::new(store.clone(), instance));
    let log_flusher = request_log
        .as_ref()
        .map(crate::request_log::RequestLog::spawn_flusher);
    // The error log e-mails critical errors to the super admins (once per fingerprint per
    // window, across instances).
    let errors = jarvis_app::errors::ErrorLog::new(
        store.clone(),
        Some(jarvis_app::errors::CriticalAlerts {
            master: auth.master.clone(),
            public_base: jarvis_app::accounts::public_base(&config),
            window: config.error_alert_window,
        }),
    );
    let errors_flusher = crate::errors::spawn_flusher(&errors);
    let sentry = config
        .sentry_dsn
        .as_ref()
        .and_then(|dsn| crate::sentry_report::init(dsn.expose(), &errors));
    let kiosk_tokens = Arc::new(crate::kiosk_tokens::KioskTokens::new(
        config.kiosk_token_cache,
        crate::kiosk_tokens::CAPACITY,
    ));
    let state = AppState {
        store,
        config: Arc::new(config),
        openai_base_url,
        openai,
        demo_mode,
        auth,
        voice,
        http_tools,
        heartbeats,
        kiosk_tokens,
        mailer,
        started_at: time::OffsetDateTime::now_utc(),
        metrics: Arc::default(),
        request_log,
        errors,
        job_stats,
    };
    jarvis_app::instance::spawn_heartbeat(
        &supervisor,
        state.store.clone(),
        instance,
        jarvis_app::instance::HEARTBEAT_EVERY,
    );
    // Per instance, not a job: each process holds its own key ring, so a key rotated by the CLI
    // or another instance must be reloaded by every process (a job would run on one only).
    let keys = state.auth.keys.clone();
    let max_age = state.config.key_max_age;
    if let Some(age) = keys.signing_key_age().await
        && let Some(w) = jarvis_app::auth::keys::key_age_warning(age, max_age)
    {
        tracing::warn!("{w}");
    }
    // The age warning is repeated once a day (each reload is a minute apart).
    let reloads = Arc::new(std::sync::atomic::AtomicU32::new(0));
    supervisor.spawn_periodic(
        "signing-key-reload",
        std::time::Duration::from_secs(60),
        false,
        move || {
            let (keys, reloads) = (keys.clone(), reloads.clone());
            async move {
                if let Err(e) = keys.reload().await {
                    tracing::warn!(error = %e, "cannot reload signing keys");
                }
                let n = reloads.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if n % (24 * 60) == 0
                    && let Some(age) = keys.signing_key_age().await
                    && let Some(w) = jarvis_app::auth::keys::key_age_warning(age, max_age)
                {
                    tracing::warn!("{w}");
                }
            }
        },
    );
    // SQLite keeps no planner statistics on its own: refresh them from a bounded sample at
    // start and hourly as the data grows (PostgreSQL's autovacuum does this itself).
    if state.store.backend() == jarvis_store::Backend::Sqlite {
        let store = state.store.clone();
        supervisor.spawn_periodic(
            "planner-statistics",
            std::time::Duration::from_secs(3600),
            true,
            move || {
                let store = store.clone();
                async move {
                    if let Err(e) = store.refresh_statistics().await {
                        tracing::warn!(error = %e, "cannot refresh the planner's statistics");
                    }
                }
            },
        );
    }
    let registry = crate::jobs::registry(&state).map_err(|e| StartError::Jobs(e.to_string()))?;
    if state.config.jobs_workers {
        let runner = Runner::new(
            state.store.clone(),
            Arc::new(registry),
            instance,
            RunnerConfig {
                poll_interval: state.config.jobs_poll,
                stats: state.job_stats.clone().unwrap_or_default(),
                errors: Some(state.errors.clone()),
                ..RunnerConfig::default()
            },
        );
        runner.start(&supervisor);
    }
    let metrics_addr = match state.config.metrics_listen {
        Some(a) => Some(serve_metrics(&supervisor, a, state.clone()).await?),
        None => None,
    };
    let store = state.store.clone();
    let accounts = state.auth.accounts.clone();
    let app = crate::http::router(state);
    let serve_error = Arc::new(Mutex::new(None));
    let err_slot = serve_error.clone();
    supervisor.spawn("http", move |signals| async move {
        let stop = signals.stop_token();
        let serve = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await });
        tokio::select! {
            r = serve => {
                if let Err(e) = r
                    && let Ok(mut slot) = err_slot.lock()
                {
                    *slot = Some(e.to_string());
                }
            }
            () = signals.aborting() => {
                tracing::warn!("in-flight requests did not finish within the grace period");
            }
        }
        // After the last request: heartbeats taken during the grace period are written too,
        // and the reset worker sends the resets still queued, then ends.
        accounts.close_reset_intake();
        flusher.shutdown().await;
        if let Some(f) = log_flusher {
            f.shutdown().await;
        }
        // Errors of the last requests (and of jobs so far) are written too.
        errors_flusher.shutdown().await;
    });
    tracing::info!(%addr, %instance, "listening");
    Ok(RunningServer {
        addr,
        metrics_addr,
        supervisor,
        store,
        instance,
        grace,
        serve_error,
        _sentry: sentry,
        #[cfg(feature = "demo")]
        _fake: fake,
    })
}

/// Serves `/metrics` alone on `addr` (no token: meant for loopback or a private network).
async fn serve_metrics(
    supervisor: &Supervisor,
    addr: SocketAddr,
    state: AppState,
) -> Result<SocketAddr, StartError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })?;
    let bound = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %bound, "serving Prometheus metrics");
    let app = crate::metrics::listener_router(state);
    supervisor.spawn("metrics", move |signals| async move {
        let stop = signals.stop_token();
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
        {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(bound)
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
    tracing::info!("shutting down: finishing in-flight requests and running jobs");
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
