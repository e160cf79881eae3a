//! Shared application state handed to every handler.

use jarvis_app::config::Config;
use jarvis_store::Store;
use std::sync::Arc;
use time::OffsetDateTime;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// Effective configuration.
    pub config: Arc<Config>,
    /// OpenAI base URL in use (the in-process fake in demo mode).
    pub openai_base_url: Arc<str>,
    /// The OpenAI client every AI feature goes through (pointed at the fake in demo mode).
    pub openai: Arc<jarvis_openai::OpenAiClient>,
    /// Whether the offline demo fake stands in for OpenAI.
    pub demo_mode: bool,
    /// Signing keys, master key and rate limits.
    pub auth: Arc<crate::auth::AuthState>,
    /// The voice broker: starts, ends and runs this instance's calls.
    pub voice: jarvis_voice::VoiceBroker,
    /// The gyms' custom HTTP tools (also the broker's source of per-gym tools).
    pub http_tools: jarvis_app::http_tools::HttpTools,
    /// When the process started.
    pub started_at: OffsetDateTime,
    /// Kiosk heartbeats waiting to be written in the next batch.
    pub heartbeats: Arc<crate::heartbeats::HeartbeatBuffer>,
    /// Device tokens checked recently (token hash → kiosk identity), see `kiosk_tokens`.
    pub kiosk_tokens: Arc<crate::kiosk_tokens::KioskTokens>,
    /// How the e-mail outbox is delivered (SMTP, log or none).
    pub mailer: Arc<jarvis_app::mailer::Mailer>,
    /// HTTP series for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Answered requests waiting to be written (`None` when `request_log` is off).
    pub request_log: Option<Arc<crate::request_log::RequestLog>>,
    /// The built-in error log (5xx answers, panics, job failures), written in the background.
    pub errors: jarvis_app::errors::ErrorSink,
    /// Job runs finished here (`None` when this instance runs no jobs).
    pub job_stats: Option<Arc<jarvis_app::jobs::JobStats>>,
}
