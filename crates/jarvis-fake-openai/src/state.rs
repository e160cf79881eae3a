//! Shared fake state: configuration, secrets, calls, faults, recorded requests and the ledger.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jarvis_core::cost::{PicoUsd, PriceTable, TokenUsage};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::clock::FakeClock;
use crate::realtime::Call;
use crate::script::Script;

/// Realtime models the fake accepts (GA enum of the 2026-08 spec, minus shut-down previews).
pub const REALTIME_MODELS: &[&str] = &[
    "gpt-realtime",
    "gpt-realtime-1.5",
    "gpt-realtime-2",
    "gpt-realtime-2.1",
    "gpt-realtime-2.1-mini",
    "gpt-realtime-2025-08-28",
    "gpt-realtime-mini",
    "gpt-realtime-mini-2025-10-06",
    "gpt-realtime-mini-2025-12-15",
];

/// Chat models the fake accepts by default.
pub const CHAT_MODELS: &[&str] = &["gpt-4o-mini", "gpt-4.1-mini", "gpt-5-mini"];

/// Embedding models and their native dimensions.
pub const EMBEDDING_MODELS: &[(&str, usize)] = &[
    ("text-embedding-3-small", 1536),
    ("text-embedding-3-large", 3072),
];

/// How the fake behaves; everything has a test-friendly default.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Valid standard keys (`sk-…`).
    pub api_keys: Vec<String>,
    /// Valid admin keys (`sk-admin-…`) for the organization endpoints.
    pub admin_keys: Vec<String>,
    /// Accept any `sk-` key (demo mode).
    pub accept_any_key: bool,
    /// Allowed realtime models.
    pub realtime_models: Vec<String>,
    /// Allowed chat models.
    pub chat_models: Vec<String>,
    /// Price table for the ledger (deliberately replaceable to test reconciliation drift).
    pub prices: PriceTable,
    /// Scripted assistant.
    pub script: Script,
    /// Fake clock start (unix seconds).
    pub start_unix: i64,
    /// Maximum session duration before `session_expired` (GA: 60 minutes).
    pub max_session: Duration,
    /// Reject a second use of an ephemeral secret at `/v1/realtime/calls`.
    pub single_use_secrets: bool,
    /// Answer SDP offers with a real WebRTC peer (feature `webrtc`); otherwise a canned answer.
    pub real_webrtc: bool,
    /// Send both sockets of a call every server event (the most useful assumption, §4).
    pub mirror_events: bool,
    /// Demo: over WebRTC, when the offer allows PCMU, hear the member's microphone (μ-law +
    /// energy VAD) and speak audibly (a tone pattern for each assistant response's audio);
    /// heard speech drives the bilingual [`demo_dialogue`](crate::demo_dialogue). Off by
    /// default so tests that drive turns with `say` are not disturbed.
    pub live_audio: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            api_keys: vec![TEST_API_KEY.to_owned()],
            admin_keys: vec![TEST_ADMIN_KEY.to_owned()],
            accept_any_key: false,
            realtime_models: REALTIME_MODELS.iter().map(|s| (*s).to_owned()).collect(),
            chat_models: CHAT_MODELS.iter().map(|s| (*s).to_owned()).collect(),
            prices: PriceTable::default_2026(),
            script: Script::default(),
            start_unix: 1_800_000_000,
            max_session: Duration::from_secs(3600),
            single_use_secrets: false,
            real_webrtc: cfg!(feature = "webrtc"),
            mirror_events: true,
            live_audio: false,
        }
    }
}

/// The standard key the default config accepts.
pub const TEST_API_KEY: &str = "sk-test-jarvis-fake-0000";
/// The admin key the default config accepts.
pub const TEST_ADMIN_KEY: &str = "sk-admin-test-jarvis-fake-0000";

impl FakeConfig {
    /// Demo mode: bilingual scripted gym assistant, any `sk-` key accepted, clock at real time,
    /// live audio (the assistant hears the microphone and answers audibly).
    pub fn demo() -> Self {
        FakeConfig {
            accept_any_key: true,
            live_audio: true,
            script: crate::script::demo_script(),
            start_unix: real_unix_now(),
            ..Self::default()
        }
    }
}

pub(crate) fn real_unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0)
}

/// Endpoints that faults can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/realtime/client_secrets`.
    ClientSecrets,
    /// `POST /v1/realtime/calls`.
    Calls,
    /// `POST /v1/realtime/calls/{id}/hangup`.
    Hangup,
    /// `GET /v1/realtime` (WebSocket upgrade).
    Realtime,
    /// `POST /v1/chat/completions`.
    Chat,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `GET /v1/organization/*`.
    Organization,
}

impl Endpoint {
    pub(crate) fn from_path(path: &str) -> Option<Endpoint> {
        Some(match path {
            "/v1/realtime/client_secrets" => Endpoint::ClientSecrets,
            "/v1/realtime/calls" => Endpoint::Calls,
            "/v1/realtime" => Endpoint::Realtime,
            "/v1/chat/completions" => Endpoint::Chat,
            "/v1/embeddings" => Endpoint::Embeddings,
            p if p.starts_with("/v1/realtime/calls/") && p.ends_with("/hangup") => Endpoint::Hangup,
            p if p.starts_with("/v1/organization/") => Endpoint::Organization,
            _ => return None,
        })
    }
}

/// Rate-limit flavour of a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// Requests per minute.
    Requests,
    /// Tokens per minute.
    Tokens,
}

/// One injected HTTP fault.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Wait (real time) before handling normally.
    Latency(Duration),
    /// Never answer (the client's timeout must fire).
    Hang,
    /// 429 `rate_limit_exceeded` with `Retry-After` (whole seconds, rounded up) and `retry-after-ms`.
    RateLimited {
        /// Requests or tokens.
        kind: LimitKind,
        /// Suggested wait; `None` omits both headers.
        retry_after: Option<Duration>,
    },
    /// 429 `insufficient_quota` (must never be retried).
    InsufficientQuota,
    /// 500 `server_error`.
    ServerError,
    /// 503 overloaded.
    Unavailable,
    /// Handle normally, then cut the connection halfway through the response body.
    DropConnection,
    /// Any status with an OpenAI-shaped error body (`408`, `409`, `400`, `502`, …).
    Status(u16),
    /// `fault`'s response with extra headers (`x-should-retry`, `Retry-After` on a 5xx, …);
    /// build it with [`Fault::with_header`], [`Fault::with_retry_after`], [`Fault::with_should_retry`].
    WithHeaders {
        /// The fault whose response gets the headers.
        fault: Box<Fault>,
        /// Headers set (replacing any the fault already sends).
        headers: Vec<(String, String)>,
    },
}

impl Fault {
    /// This fault with header `name: value` added to its response.
    pub fn with_header(self, name: &str, value: &str) -> Fault {
        let pair = (name.to_ascii_lowercase(), value.to_owned());
        match self {
            Fault::WithHeaders { fault, mut headers } => {
                headers.push(pair);
                Fault::WithHeaders { fault, headers }
            }
            other => Fault::WithHeaders {
                fault: Box::new(other),
                headers: vec![pair],
            },
        }
    }

    /// Adds `Retry-After` (whole seconds, rounded up) and `retry-after-ms`, as the real API does.
    pub fn with_retry_after(self, d: Duration) -> Fault {
        let (secs, ms) = retry_after_values(d);
        self.with_header("retry-after", &secs)
            .with_header("retry-after-ms", &ms)
    }

    /// Adds the non-standard `x-should-retry: true|false` override the official SDKs obey.
    pub fn with_should_retry(self, retry: bool) -> Fault {
        self.with_header("x-should-retry", if retry { "true" } else { "false" })
    }
}

/// `(Retry-After, retry-after-ms)` header values for `d`.
pub(crate) fn retry_after_values(d: Duration) -> (String, String) {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    (secs.to_string(), d.as_millis().to_string())
}

/// How the next realtime response ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFault {
    /// `status: failed`, `rate_limit_exceeded` (tokens) in `status_details.error`.
    Failed,
    /// `status: cancelled`, reason `turn_detected` (partial output billed).
    Cancelled,
    /// `status: incomplete`, reason `max_output_tokens` (partial output billed).
    Incomplete,
    /// Drop every socket of the call after `response.created` (WS close without handshake).
    DropConnection,
}

/// One recorded HTTP request (WebSocket upgrades included), secrets redacted.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path without query.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Headers (lower-case names); `authorization` is redacted to kind + last 4 chars.
    pub headers: Vec<(String, String)>,
    /// Body as text (lossy; at most 256 KiB).
    pub body: String,
    /// SHA-256 hex of the bearer token, to assert which key was used without storing it.
    pub bearer_sha256: Option<String>,
}

impl RecordedRequest {
    /// Header value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this request authenticated with exactly `key`.
    pub fn used_key(&self, key: &str) -> bool {
        self.bearer_sha256.as_deref() == Some(sha256_hex(key).as_str())
    }

    /// Whether `secret` appears anywhere in the recorded request (body, query or headers).
    pub fn contains(&self, secret: &str) -> bool {
        self.used_key(secret)
            || self.body.contains(secret)
            || self.query.as_deref().is_some_and(|q| q.contains(secret))
            || self.headers.iter().any(|(_, v)| v.contains(secret))
    }
}

pub(crate) fn sha256_hex(s: &str) -> String {
    let d = Sha256::digest(s.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a ledger line bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerKind {
    /// A realtime `response.done`.
    RealtimeResponse,
    /// Input audio transcription.
    Transcription,
    /// A chat completion.
    Chat,
    /// An embeddings call.
    Embeddings,
}

/// One priced line of the fake's ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    /// Fake unix time.
    pub at_unix: i64,
    /// Kind.
    pub kind: LedgerKind,
    /// Model id as reported.
    pub model: String,
    /// Realtime call id, if any.
    pub call_id: Option<String>,
    /// Response id (`resp_…`), if any.
    pub response_id: Option<String>,
    /// Tokens.
    pub usage: TokenUsage,
    /// Billed audio duration in milliseconds (duration-billed transcription such as `whisper-1`; else 0).
    pub audio_ms: u64,
    /// Exact cost (0 if the model has no price).
    pub cost_pico: PicoUsd,
}

/// A secret minted by `client_secrets`.
#[derive(Debug, Clone)]
pub(crate) struct Secret {
    pub expires_at: i64,
    pub session: Value,
    pub uses: u32,
}

/// Scripted chat answers, consumed in order before the schema-derived default.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatScript {
    /// Return this JSON as the message content.
    Json(Value),
    /// Return plain text content.
    Text(String),
    /// Refuse with this explanation.
    Refusal(String),
}

#[derive(Default)]
pub(crate) struct Inner {
    pub secrets: HashMap<String, Secret>,
    pub calls: HashMap<String, Arc<Call>>,
    pub requests: Vec<RecordedRequest>,
    pub ledger: Vec<LedgerEntry>,
    pub faults: HashMap<Endpoint, VecDeque<Fault>>,
    pub response_faults: VecDeque<ResponseFault>,
    pub chat_scripts: VecDeque<ChatScript>,
    pub mismatches: Vec<String>,
    pub counter: u64,
}

/// State shared by the HTTP server, WebSocket tasks, WebRTC threads and the handle.
pub(crate) struct Shared {
    pub cfg: Mutex<FakeConfig>,
    pub clock: FakeClock,
    pub inner: Mutex<Inner>,
    pub base_url: String,
}

impl Shared {
    pub fn inner(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not wedge the fake for everyone else.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn cfg(&self) -> MutexGuard<'_, FakeConfig> {
        self.cfg.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh id with `prefix`, unique within this fake (random part keeps ids unguessable).
    pub fn new_id(&self, prefix: &str) -> String {
        let n = {
            let mut g = self.inner();
            g.counter += 1;
            g.counter
        };
        let r: u64 = rand::random();
        format!("{prefix}{n:04x}{r:016x}")
    }

    pub fn book(&self, entry: LedgerEntry) {
        self.inner().ledger.push(entry);
    }

    pub fn price(&self, model: &str, usage: &TokenUsage) -> PicoUsd {
        self.cfg().prices.cost_pico(model, usage).unwrap_or(0)
    }

    pub fn price_duration(&self, model: &str, millis: u64) -> PicoUsd {
        self.cfg()
            .prices
            .duration_cost_pico(model, millis)
            .unwrap_or(0)
    }
}
