//! A faithful fake of the OpenAI API for tests and the offline demo.
//!
//! GA Realtime (client secrets, WebRTC calls with a real str0m peer behind feature `webrtc`,
//! sideband and direct WebSockets, hangup), Chat Completions, Embeddings and the organization
//! costs endpoint, with the real validation rules, a priced usage ledger, scripted conversations,
//! a manual clock, request recording and per-endpoint fault injection.

// Handlers return ready-made HTTP error responses; boxing them would only add noise in a test fake.
#![allow(clippy::result_large_err)]

mod admin;
pub mod audio;
mod clock;
mod http;
mod realtime;
mod script;
mod state;
#[cfg(feature = "webrtc")]
mod webrtc;
mod ws;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::Response;
use serde_json::Value;

pub use clock::FakeClock;
pub use http::fake_embedding;
pub use realtime::CallStats;
pub use script::{DemoLanguage, Dialogue, Script, ScriptedCall, Turn, demo_dialogue, demo_script};
pub use state::{
    CHAT_MODELS, ChatScript, EMBEDDING_MODELS, Endpoint, FakeConfig, Fault, LedgerEntry,
    LedgerKind, LimitKind, REALTIME_MODELS, RecordedRequest, ResponseFault, TEST_ADMIN_KEY,
    TEST_API_KEY,
};

use state::{Inner, Secret, Shared};

/// The key to give the client in demo mode (the demo fake accepts any `sk-` key).
pub const DEMO_API_KEY: &str = "sk-demo-jarvis-offline";

/// A running fake server. Dropping it stops the server.
pub struct FakeOpenAi {
    /// Steering handle (cheap to clone).
    pub handle: FakeHandle,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for FakeOpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOpenAi")
            .field("base_url", &self.base_url())
            .finish()
    }
}

impl FakeOpenAi {
    /// Starts the fake on `127.0.0.1:0`.
    pub async fn start(cfg: FakeConfig) -> std::io::Result<FakeOpenAi> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), cfg).await
    }

    /// Starts the fake on `addr` (the demo uses a fixed local port).
    pub async fn start_on(addr: SocketAddr, cfg: FakeConfig) -> std::io::Result<FakeOpenAi> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let shared = Arc::new(Shared {
            clock: FakeClock::new(cfg.start_unix),
            cfg: Mutex::new(cfg),
            inner: Mutex::new(Inner::default()),
            base_url: format!("http://{local}/v1"),
        });
        let app = http::router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "fake OpenAI server stopped");
            }
        });
        Ok(FakeOpenAi {
            handle: FakeHandle { shared },
            task: Some(task),
        })
    }

    /// Demo mode on `addr`: the bilingual scripted gym assistant, any `sk-` key accepted.
    ///
    /// For `jarvis serve` without an OpenAI key: keep the returned value alive for the whole
    /// process and point the client at [`base_url`](Self::base_url) with [`DEMO_API_KEY`].
    pub async fn start_demo(addr: SocketAddr) -> std::io::Result<FakeOpenAi> {
        Self::start_on(addr, FakeConfig::demo()).await
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        self.handle.base_url()
    }

    /// Waits until the server task ends (for the binary).
    pub async fn wait(mut self) {
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// Steers and inspects a running fake.
#[derive(Clone)]
pub struct FakeHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for FakeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeHandle")
            .field("base_url", &self.shared.base_url)
            .finish()
    }
}

impl FakeHandle {
    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Moves the fake clock forward (secret expiry, session expiry).
    pub fn advance(&self, d: Duration) {
        self.shared.clock.advance(d);
    }

    /// Current fake unix time.
    pub fn now_unix(&self) -> i64 {
        self.shared.clock.now_unix()
    }

    /// Changes the configuration of the running fake.
    pub fn configure(&self, f: impl FnOnce(&mut FakeConfig)) {
        f(&mut self.shared.cfg());
    }

    /// Replaces the scripted assistant.
    pub fn set_script(&self, script: Script) {
        self.shared.cfg().script = script;
    }

    /// Queues `fault` for the next request to `endpoint`.
    pub fn inject(&self, endpoint: Endpoint, fault: Fault) {
        self.inject_n(endpoint, fault, 1);
    }

    /// Queues `fault` for the next `n` requests to `endpoint`.
    pub fn inject_n(&self, endpoint: Endpoint, fault: Fault, n: usize) {
        let mut g = self.shared.inner();
        let q = g.faults.entry(endpoint).or_default();
        for _ in 0..n {
            q.push_back(fault.clone());
        }
    }

    /// Faults still queued for `endpoint` (to assert that no extra attempt consumed one).
    pub fn pending_faults(&self, endpoint: Endpoint) -> usize {
        self.shared
            .inner()
            .faults
            .get(&endpoint)
            .map_or(0, |q| q.len())
    }

    /// Makes the next realtime response (any call) end with `fault`.
    pub fn inject_response_fault(&self, fault: ResponseFault) {
        self.shared.inner().response_faults.push_back(fault);
    }

    /// Queues a scripted chat completion answer.
    pub fn push_chat(&self, answer: ChatScript) {
        self.shared.inner().chat_scripts.push_back(answer);
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.inner().requests.clone()
    }

    /// Requests whose path equals `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// The priced ledger.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared.inner().ledger.clone()
    }

    /// Books an entry in the ledger as if the provider had billed it (a response whose
    /// `response.done` never reached us, a late charge): the costs endpoint reports it.
    pub fn book(&self, entry: LedgerEntry) {
        self.shared.book(entry);
    }

    /// Sum of the ledger in pico-USD.
    pub fn ledger_total_pico(&self) -> u64 {
        self.ledger().iter().map(|e| e.cost_pico).sum()
    }

    /// Ids of all calls (ended ones included).
    pub fn calls(&self) -> Vec<String> {
        self.shared.inner().calls.keys().cloned().collect()
    }

    /// Counters of a call.
    pub fn call_stats(&self, call_id: &str) -> Option<CallStats> {
        self.call(call_id).map(|c| c.stats())
    }

    /// `(call_id, output)` of every `function_call_output` the call received.
    pub fn function_outputs(&self, call_id: &str) -> Vec<(String, String)> {
        self.call(call_id)
            .map(|c| c.state().outputs.clone())
            .unwrap_or_default()
    }

    /// The effective session of a call.
    pub fn session(&self, call_id: &str) -> Option<Value> {
        self.call(call_id).map(|c| c.state().session.clone())
    }

    /// The `sess_…` id of a call (differs from the `rtc_…` call id).
    pub fn session_id(&self, call_id: &str) -> Option<String> {
        self.call(call_id).map(|c| c.state().session_id.clone())
    }

    /// Scripted expected outputs that did not match what the client sent.
    pub fn script_mismatches(&self) -> Vec<String> {
        self.shared.inner().mismatches.clone()
    }

    /// A member utterance: VAD events, transcription (if on) and an automatic response.
    pub fn say(&self, call_id: &str, text: &str, seconds: f64) -> bool {
        match self.call(call_id) {
            Some(c) => {
                realtime::member_says(&self.shared, &c, text, seconds);
                true
            }
            None => false,
        }
    }

    /// Pushes an arbitrary server event (e.g. an unknown type) to every socket of the call.
    pub fn push_event(&self, call_id: &str, event: Value) -> bool {
        match self.call(call_id) {
            Some(c) => {
                let _ = c.tx.send(realtime::Outbound::Event {
                    text: Arc::from(event.to_string()),
                    only: None,
                });
                true
            }
            None => false,
        }
    }

    /// Ends the call now with `session_expired` (without moving the clock).
    pub fn expire_session(&self, call_id: &str) -> bool {
        match self.call(call_id) {
            Some(c) => {
                realtime::expire(&self.shared, &c);
                true
            }
            None => false,
        }
    }

    /// Drops every transport of the call without a close handshake.
    pub fn drop_call(&self, call_id: &str) -> bool {
        match self.call(call_id) {
            Some(c) => {
                c.drop_transport();
                true
            }
            None => false,
        }
    }

    /// Mints an `ek_` directly (no HTTP), for tests of the browser path.
    pub fn mint_secret(&self, session: &Value, ttl_seconds: i64) -> Option<String> {
        mint_secret(&self.shared, session, ttl_seconds)
            .ok()
            .map(|(v, _)| v)
    }

    fn call(&self, id: &str) -> Option<Arc<realtime::Call>> {
        self.shared.inner().calls.get(id).cloned()
    }
}

pub(crate) fn mint_secret(
    shared: &Shared,
    session: &Value,
    ttl: i64,
) -> Result<(String, i64), Response> {
    let session = http::validate_session(shared, session, "session.")?;
    let value = format!("ek_{}", &state::sha256_hex(&shared.new_id("ek"))[..32]);
    let expires_at = shared.clock.now_unix() + ttl;
    shared.inner().secrets.insert(
        value.clone(),
        Secret {
            expires_at,
            session,
            uses: 0,
        },
    );
    Ok((value, expires_at))
}

/// Answers an SDP offer: a real peer with feature `webrtc` (and `real_webrtc`), else a canned answer.
pub(crate) fn answer_offer(
    shared: &Arc<Shared>,
    call: &Arc<realtime::Call>,
    offer: &str,
) -> Result<String, String> {
    #[cfg(feature = "webrtc")]
    if shared.cfg().real_webrtc {
        return webrtc::answer(shared, call, offer);
    }
    let _ = (shared, call, offer);
    Ok(CANNED_ANSWER.replace('\n', "\r\n"))
}

/// A syntactically valid answer (audio + data channel) for builds without a WebRTC stack.
const CANNED_ANSWER: &str = "v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0 1
a=msid-semantic: WMS
m=audio 9 UDP/TLS/RTP/SAVPF 111
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:fake
a=ice-pwd:fakefakefakefakefakefake
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF
a=setup:passive
a=mid:0
a=sendrecv
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
m=application 9 UDP/DTLS/SCTP webrtc-datachannel
c=IN IP4 0.0.0.0
a=ice-ufrag:fake
a=ice-pwd:fakefakefakefakefakefake
a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF
a=setup:passive
a=mid:1
a=sctp-port:5000
";
