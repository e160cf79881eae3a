//! The HTTP client: auth headers, error mapping and the bounded retry loop around every call.

use std::future::Future;
use std::sync::Arc;

use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::chat::{ChatCompletion, ChatRequest, StructuredCompletion};
use crate::config::{ApiKey, OpenAiConfig};
use crate::embeddings::{EmbeddingsRequest, EmbeddingsResponse};
use crate::error::OpenAiError;
use crate::realtime::{ClientSecret, ClientSecretRequest, SessionConfig};
use crate::retry::{Clock, Failure, TokioClock, hints_from_headers};
use crate::sideband::Sideband;

/// A created WebRTC call: the SDP answer to relay to the browser and the call id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCreated {
    /// `rtc_…`, from the `Location` header.
    pub call_id: String,
    /// SDP answer text.
    pub sdp_answer: String,
    /// Time spent waiting on the provider for this answer (the HTTP exchange and any retries,
    /// not our own serialization): what a start's overhead is measured against.
    pub provider_time: std::time::Duration,
}

/// Typed OpenAI client. Cheap to clone.
#[derive(Clone)]
pub struct OpenAiClient {
    cfg: Arc<OpenAiConfig>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("cfg", &self.cfg)
            .finish()
    }
}

/// A response body with its status and headers, before decoding.
pub(crate) struct RawResponse {
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl OpenAiClient {
    /// A client for `cfg` using real time for back-off.
    pub fn new(cfg: OpenAiConfig) -> Result<Self, OpenAiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("jarvis-openai/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OpenAiError::Config(e.to_string()))?;
        Ok(OpenAiClient {
            cfg: Arc::new(cfg),
            http,
            clock: Arc::new(TokioClock::default()),
        })
    }

    /// Replaces the clock used for back-off sleeps and the total-time bound (tests).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &OpenAiConfig {
        &self.cfg
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.cfg.base_url, path)
    }

    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        key: &ApiKey,
    ) -> reqwest::RequestBuilder {
        let mut rb = self
            .http
            .request(method, self.url(path))
            .bearer_auth(key.expose())
            .timeout(self.cfg.request_timeout);
        if let Some(org) = &self.cfg.organization {
            rb = rb.header("OpenAI-Organization", org);
        }
        if let Some(p) = &self.cfg.project {
            rb = rb.header("OpenAI-Project", p);
        }
        rb
    }

    /// Runs `attempt` until success, a non-retryable error, or the count/time budget is spent.
    pub(crate) async fn with_retry<T, F, Fut>(
        &self,
        what: &str,
        mut attempt: F,
    ) -> Result<T, OpenAiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let policy = &self.cfg.retry;
        let start = self.clock.now();
        let mut retry = 0u32;
        loop {
            let Failure { error, hints } = match attempt().await {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            if retry >= policy.max_retries || !policy.should_retry(&error, hints.should_retry) {
                return Err(error);
            }
            let Some(delay) = policy.delay(retry, hints.retry_after) else {
                tracing::warn!(what, hint = ?hints.retry_after, max = ?policy.max_retry_after,
                    "server asks to wait longer than we retry for; giving up");
                return Err(error);
            };
            let elapsed = self.clock.now().saturating_sub(start);
            if elapsed.saturating_add(delay) > policy.max_elapsed {
                tracing::warn!(what, ?delay, ?elapsed, "retry budget exhausted");
                return Err(error);
            }
            tracing::warn!(what, retry = retry + 1, ?delay, error = %error, "retrying OpenAI call");
            self.clock.sleep(delay).await;
            retry += 1;
        }
    }

    /// Sends once and maps non-2xx statuses to errors (used inside the retry loop).
    pub(crate) async fn send_once(
        &self,
        rb: reqwest::RequestBuilder,
    ) -> Result<RawResponse, Failure> {
        let resp = rb.send().await.map_err(OpenAiError::from_reqwest)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        if let Some(id) = headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
            tracing::debug!(request_id = id, status = status.as_u16(), "OpenAI response");
        }
        let body = resp.text().await.map_err(OpenAiError::from_reqwest)?;
        if status.is_success() {
            return Ok(RawResponse { headers, body });
        }
        Err(failure(
            status.as_u16(),
            &headers,
            &body,
            self.clock.wall_now(),
        ))
    }

    async fn post_json<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        body: &B,
    ) -> Result<T, OpenAiError> {
        let raw = self
            .with_retry(what, || {
                let rb = self
                    .request(reqwest::Method::POST, path, &self.cfg.api_key)
                    .json(body);
                self.send_once(rb)
            })
            .await?;
        serde_json::from_str(&raw.body).map_err(|e| OpenAiError::Decode(format!("{what}: {e}")))
    }

    /// `POST /v1/realtime/client_secrets`: mints an ephemeral `ek_` for `req.session`.
    pub async fn create_client_secret(
        &self,
        req: &ClientSecretRequest,
    ) -> Result<ClientSecret, OpenAiError> {
        self.post_json("client_secrets", "/realtime/client_secrets", req)
            .await
    }

    /// `POST /v1/realtime/calls` (unified interface): relays `offer_sdp` with `session` as multipart.
    pub async fn create_call(
        &self,
        offer_sdp: &str,
        session: &SessionConfig,
    ) -> Result<CallCreated, OpenAiError> {
        let session_json =
            serde_json::to_string(session).map_err(|e| OpenAiError::Config(e.to_string()))?;
        let started = std::time::Instant::now();
        let raw = self
            .with_retry("calls", || {
                // A multipart form is consumed by sending, so it is rebuilt per attempt.
                let form = build_call_form(offer_sdp, &session_json);
                let rb = self
                    .request(reqwest::Method::POST, "/realtime/calls", &self.cfg.api_key)
                    .header("Accept", "application/sdp");
                async move { self.send_once(rb.multipart(form?)).await }
            })
            .instrument(tracing::debug_span!("openai.create_call"))
            .await?;
        call_created(raw, started.elapsed())
    }

    /// `POST /v1/realtime/calls` with a raw SDP body and an ephemeral key (the browser's request).
    pub async fn create_call_with_ephemeral(
        &self,
        ephemeral: &ApiKey,
        offer_sdp: &str,
    ) -> Result<CallCreated, OpenAiError> {
        let started = std::time::Instant::now();
        let raw = self
            .with_retry("calls", || {
                let rb = self
                    .request(reqwest::Method::POST, "/realtime/calls", ephemeral)
                    .header("Content-Type", "application/sdp")
                    .header("Accept", "application/sdp")
                    .body(offer_sdp.to_owned());
                self.send_once(rb)
            })
            .await?;
        call_created(raw, started.elapsed())
    }

    /// `POST /v1/realtime/calls/{id}/hangup`: ends a call from the server.
    pub async fn hangup(&self, call_id: &str) -> Result<(), OpenAiError> {
        let path = format!("/realtime/calls/{}/hangup", encode_path(call_id));
        self.with_retry("hangup", || {
            self.send_once(self.request(reqwest::Method::POST, &path, &self.cfg.api_key))
        })
        .await
        .map(|_| ())
    }

    /// Opens the sideband WebSocket of `call_id` with the standard key.
    pub async fn connect_sideband(&self, call_id: &str) -> Result<Sideband, OpenAiError> {
        let url = format!(
            "{}?call_id={}",
            self.cfg.realtime_ws_url(),
            encode_path(call_id)
        );
        // The handshake is an HTTP request like any other: 429/5xx answers carry the same
        // hints and get the same retries.
        self.with_retry("sideband", || {
            Sideband::connect(
                &url,
                &self.cfg.api_key,
                self.cfg.connect_timeout,
                self.clock.wall_now(),
            )
        })
        .await
    }

    /// Opens a realtime session of `model` over WebSocket (`/v1/realtime?model=`) with the
    /// standard key: the text path used by simulations (no WebRTC call, no audio).
    pub async fn connect_realtime(&self, model: &str) -> Result<Sideband, OpenAiError> {
        let url = format!(
            "{}?model={}",
            self.cfg.realtime_ws_url(),
            encode_path(model)
        );
        self.with_retry("realtime", || {
            Sideband::connect(
                &url,
                &self.cfg.api_key,
                self.cfg.connect_timeout,
                self.clock.wall_now(),
            )
        })
        .await
    }

    /// `POST /v1/chat/completions`.
    pub async fn chat_completion(&self, req: &ChatRequest) -> Result<ChatCompletion, OpenAiError> {
        self.post_json("chat", "/chat/completions", req).await
    }

    /// Chat completion with structured output parsed into `T` (a refusal is `Structured::Refusal`).
    pub async fn chat_structured<T: DeserializeOwned>(
        &self,
        req: &ChatRequest,
    ) -> Result<StructuredCompletion<T>, OpenAiError> {
        if req.response_format.is_none() {
            return Err(OpenAiError::Config(
                "chat_structured needs a json_schema response_format".into(),
            ));
        }
        let completion = self.chat_completion(req).await?;
        StructuredCompletion::from_completion(completion)
    }

    /// `POST /v1/embeddings` (float vectors, sorted by input index).
    pub async fn embeddings(
        &self,
        req: &EmbeddingsRequest,
    ) -> Result<EmbeddingsResponse, OpenAiError> {
        let mut resp: EmbeddingsResponse = self.post_json("embeddings", "/embeddings", req).await?;
        resp.data.sort_by_key(|e| e.index);
        Ok(resp)
    }
}

/// A non-2xx answer as a typed error plus the server's retry hints.
pub(crate) fn failure(
    status: u16,
    headers: &HeaderMap,
    body: &str,
    wall_now: std::time::SystemTime,
) -> Failure {
    let hints = hints_from_headers(headers, wall_now);
    Failure {
        error: OpenAiError::from_status(status, body, hints.retry_after),
        hints,
    }
}

fn build_call_form(sdp: &str, session_json: &str) -> Result<reqwest::multipart::Form, OpenAiError> {
    let sdp = reqwest::multipart::Part::text(sdp.to_owned())
        .mime_str("application/sdp")
        .map_err(|e| OpenAiError::Config(e.to_string()))?;
    let session = reqwest::multipart::Part::text(session_json.to_owned())
        .mime_str("application/json")
        .map_err(|e| OpenAiError::Config(e.to_string()))?;
    Ok(reqwest::multipart::Form::new()
        .part("sdp", sdp)
        .part("session", session))
}

fn call_created(
    raw: RawResponse,
    provider_time: std::time::Duration,
) -> Result<CallCreated, OpenAiError> {
    let location = raw
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| OpenAiError::Decode("calls: missing Location header".into()))?;
    let call_id = location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OpenAiError::Decode(format!("calls: bad Location {location:?}")))?
        .to_owned();
    if !raw.body.starts_with("v=0") {
        return Err(OpenAiError::Decode("calls: answer is not SDP".into()));
    }
    Ok(CallCreated {
        call_id,
        sdp_answer: raw.body,
        provider_time,
    })
}

/// Percent-encodes anything outside the unreserved set, so ids cannot alter the path or query.
fn encode_path(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn encodes_ids() {
        assert_eq!(encode_path("rtc_abc-1"), "rtc_abc-1");
        assert_eq!(encode_path("a/b?c"), "a%2Fb%3Fc");
    }
}
