//! REST endpoints, request recording, beta rejection and per-endpoint fault injection.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use jarvis_core::cost::TokenUsage;
use serde_json::{Value, json};

use crate::realtime::{self, effective_session, voice_ok};
use crate::state::{
    ChatScript, EMBEDDING_MODELS, Endpoint, Fault, LedgerEntry, LedgerKind, LimitKind,
    RecordedRequest, Secret, Shared, sha256_hex,
};

type AppState = State<Arc<Shared>>;

/// The whole fake API (plus `/__fake/*` admin routes).
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/realtime/client_secrets", post(client_secrets))
        .route("/v1/realtime/calls", post(calls))
        .route("/v1/realtime/calls/{id}/hangup", post(hangup))
        .route("/v1/realtime", get(crate::ws::realtime_ws))
        .route("/v1/realtime/sessions", any(beta_sessions))
        .route("/v1/realtime/transcription_sessions", any(beta_sessions))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/organization/costs", get(org_costs))
        .merge(crate::admin::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared)
}

/// An OpenAI-shaped error response.
pub(crate) fn api_error(
    status: StatusCode,
    kind: &str,
    code: Option<&str>,
    param: Option<&str>,
    message: &str,
) -> Response {
    (
        status,
        axum::Json(json!({"error":{"message":message,"type":kind,"param":param,"code":code}})),
    )
        .into_response()
}

fn invalid(param: &str, message: &str) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("invalid_value"),
        Some(param),
        message,
    )
}

pub(crate) fn beta_error() -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("beta_api_shape_disabled"),
        None,
        "The Realtime API beta shape is no longer supported. Remove the 'OpenAI-Beta: realtime=v1' \
         header and use the GA interface.",
    )
}

async fn beta_sessions() -> Response {
    beta_error()
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        None,
        None,
        &format!("Invalid URL ({method} {})", uri.path()),
    )
}

fn redact(value: &str) -> String {
    let token = value.strip_prefix("Bearer ").unwrap_or(value);
    let prefix: String = token.chars().take(3).collect();
    let n = token.chars().count();
    let suffix: String = token.chars().skip(n.saturating_sub(4)).collect();
    format!("Bearer {prefix}***{suffix}")
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().to_owned())
}

/// Records the request, rejects beta traffic, applies the next queued fault of the endpoint.
async fn gate(State(shared): AppState, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, 16 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return api_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                None,
                None,
                "Body too large",
            );
        }
    };
    let path = parts.uri.path().to_owned();
    if path.starts_with("/v1/") {
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| {
                let v = v.to_str().unwrap_or("<binary>");
                let v = match k.as_str() {
                    "authorization" => redact(v),
                    // Browser WS auth carries the key in a subprotocol.
                    "sec-websocket-protocol" if v.contains("openai-insecure-api-key") => {
                        "<redacted>".to_owned()
                    }
                    _ => v.to_owned(),
                };
                (k.as_str().to_owned(), v)
            })
            .collect();
        let body_text = String::from_utf8_lossy(&bytes[..bytes.len().min(256 * 1024)]).into_owned();
        shared.inner().requests.push(RecordedRequest {
            method: parts.method.to_string(),
            path: path.clone(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body: body_text,
            bearer_sha256: bearer(&parts.headers).map(|t| sha256_hex(&t)),
        });
        let is_ws = parts.headers.contains_key(header::UPGRADE);
        if parts.headers.contains_key("openai-beta") && !is_ws {
            return beta_error();
        }
    }
    let fault = Endpoint::from_path(&path).and_then(|ep| {
        let mut g = shared.inner();
        let q = g.faults.get_mut(&ep)?;
        q.pop_front()
    });
    // Header decorations wrap the fault that produces the response; peel them off first.
    let mut extra_headers = Vec::new();
    let mut fault = fault;
    while let Some(Fault::WithHeaders {
        fault: inner,
        headers,
    }) = fault
    {
        extra_headers.extend(headers);
        fault = Some(*inner);
    }
    let req = Request::from_parts(parts, Body::from(bytes));
    let resp = match fault {
        None | Some(Fault::WithHeaders { .. }) => next.run(req).await,
        Some(Fault::Latency(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(Fault::Hang) => {
            std::future::pending::<()>().await;
            next.run(req).await
        }
        Some(Fault::RateLimited { kind, retry_after }) => rate_limited(kind, retry_after),
        Some(Fault::InsufficientQuota) => api_error(
            StatusCode::TOO_MANY_REQUESTS,
            "insufficient_quota",
            Some("insufficient_quota"),
            None,
            "You exceeded your current quota, please check your plan and billing details.",
        ),
        Some(Fault::ServerError) => api_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            None,
            None,
            "The server had an error while processing your request. Sorry about that!",
        ),
        Some(Fault::Unavailable) => api_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "server_error",
            Some("server_is_overloaded"),
            None,
            "The engine is currently overloaded, please try again later.",
        ),
        Some(Fault::Status(code)) => status_error(code),
        Some(Fault::DropConnection) => {
            let resp = with_headers(next.run(req).await, &extra_headers);
            return drop_mid_body(resp).await;
        }
    };
    with_request_id(&shared, with_headers(resp, &extra_headers))
}

/// An OpenAI-shaped error for an arbitrary status (invalid codes become 500).
fn status_error(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = if status.is_server_error() {
        "server_error"
    } else {
        "invalid_request_error"
    };
    let reason = status.canonical_reason().unwrap_or("Error");
    api_error(
        status,
        kind,
        None,
        None,
        &format!("Injected fault: {reason}."),
    )
}

fn with_headers(mut resp: Response, headers: &[(String, String)]) -> Response {
    for (k, v) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(name, value);
        }
    }
    resp
}

fn with_request_id(shared: &Shared, mut resp: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&shared.new_id("req_")) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp.headers_mut()
        .insert("openai-version", HeaderValue::from_static("2020-10-01"));
    resp
}

fn rate_limited(kind: LimitKind, retry_after: Option<Duration>) -> Response {
    let (k, unit) = match kind {
        LimitKind::Requests => ("requests", "requests per min (RPM)"),
        LimitKind::Tokens => ("tokens", "tokens per min (TPM)"),
    };
    let wait = retry_after
        .map(|d| format!(" Please try again in {}ms.", d.as_millis()))
        .unwrap_or_default();
    let mut resp = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        k,
        Some("rate_limit_exceeded"),
        None,
        &format!(
            "Rate limit reached for gpt-realtime in organization org-fake on {unit}: Limit 200, Used 200, Requested 1.{wait}"
        ),
    );
    let h = resp.headers_mut();
    if let Some(d) = retry_after {
        let (secs, ms) = crate::state::retry_after_values(d);
        if let Ok(v) = HeaderValue::from_str(&secs) {
            h.insert("retry-after", v);
        }
        if let Ok(v) = HeaderValue::from_str(&ms) {
            h.insert("retry-after-ms", v);
        }
    }
    h.insert(
        "x-ratelimit-limit-requests",
        HeaderValue::from_static("200"),
    );
    h.insert(
        "x-ratelimit-remaining-requests",
        HeaderValue::from_static("0"),
    );
    h.insert("x-ratelimit-reset-requests", HeaderValue::from_static("1s"));
    h.insert(
        "x-ratelimit-limit-tokens",
        HeaderValue::from_static("40000"),
    );
    h.insert(
        "x-ratelimit-remaining-tokens",
        HeaderValue::from_static("0"),
    );
    h.insert("x-ratelimit-reset-tokens", HeaderValue::from_static("6m0s"));
    resp
}

/// Sends the head and half the body, then fails the stream so hyper aborts the connection.
async fn drop_mid_body(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.remove(header::CONTENT_LENGTH);
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "fake: connection dropped",
        )),
    ];
    Response::from_parts(parts, Body::from_stream(futures_util::stream::iter(chunks)))
}

/// The kind of key a request authenticated with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KeyKind {
    Standard,
    Admin,
    Ephemeral(String),
}

/// Checks the bearer key; `allow` lists the kinds this endpoint accepts.
pub(crate) fn auth(
    shared: &Shared,
    headers: &HeaderMap,
    allow: &[&str],
) -> Result<KeyKind, Response> {
    let Some(token) = bearer(headers) else {
        return Err(api_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            None,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        ));
    };
    let incorrect = || {
        api_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            None,
            &format!(
                "Incorrect API key provided: {}.",
                redact(&token).trim_start_matches("Bearer ")
            ),
        )
    };
    let cfg = shared.cfg();
    let kind = if token.starts_with("sk-admin-") {
        if !cfg.admin_keys.contains(&token) {
            return Err(incorrect());
        }
        KeyKind::Admin
    } else if token.starts_with("sk-") {
        if !(cfg.accept_any_key || cfg.api_keys.contains(&token)) {
            return Err(incorrect());
        }
        KeyKind::Standard
    } else if token.starts_with("ek_") {
        KeyKind::Ephemeral(token.clone())
    } else {
        return Err(incorrect());
    };
    let name = match kind {
        KeyKind::Standard => "standard",
        KeyKind::Admin => "admin",
        KeyKind::Ephemeral(_) => "ephemeral",
    };
    if allow.contains(&name) {
        Ok(kind)
    } else {
        Err(api_error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            Some("invalid_api_key"),
            None,
            &format!("This endpoint does not accept {name} keys."),
        ))
    }
}

fn parse_json(body: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| {
            api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                None,
                None,
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
            )
        })
}

/// Validates a GA session object; returns the merged effective session.
pub(crate) fn validate_session(
    shared: &Shared,
    session: &Value,
    param_prefix: &str,
) -> Result<Value, Response> {
    let p = |s: &str| format!("{param_prefix}{s}");
    let Some(obj) = session.as_object() else {
        return Err(invalid(&p(""), "session must be an object"));
    };
    // Flat beta fields are what the retired shape sent; the real service now refuses them.
    for beta in [
        "voice",
        "modalities",
        "input_audio_format",
        "output_audio_format",
        "input_audio_transcription",
    ] {
        if obj.contains_key(beta) {
            return Err(beta_error());
        }
    }
    match obj.get("type").and_then(Value::as_str) {
        Some("realtime" | "transcription") => {}
        Some(other) => {
            return Err(invalid(
                &p("type"),
                &format!(
                    "Invalid value: '{other}'. Supported values are: 'realtime' and 'transcription'."
                ),
            ));
        }
        None => {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("missing_required_parameter"),
                Some(&p("type")),
                "Missing required parameter: 'session.type'.",
            ));
        }
    }
    if let Some(m) = obj.get("model") {
        let m = m.as_str().unwrap_or("");
        if !shared.cfg().realtime_models.iter().any(|x| x == m) {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                "invalid_request_error",
                Some("model_not_found"),
                Some(&p("model")),
                &format!("The model '{m}' does not exist or you do not have access to it."),
            ));
        }
    }
    if let Some(v) = session.pointer("/audio/output/voice")
        && !voice_ok(v)
    {
        return Err(invalid(
            &p("audio.output.voice"),
            "Invalid value for voice. Supported values are: 'alloy', 'ash', 'ballad', 'coral', 'echo', 'sage', 'shimmer', 'verse', 'marin', and 'cedar'.",
        ));
    }
    if let Some(s) = session.pointer("/audio/output/speed") {
        let ok = s.as_f64().is_some_and(|s| (0.25..=1.5).contains(&s));
        if !ok {
            return Err(invalid(
                &p("audio.output.speed"),
                "speed must be between 0.25 and 1.5",
            ));
        }
    }
    if let Some(m) = obj.get("output_modalities") {
        let ok = m
            .as_array()
            .is_some_and(|a| a.len() == 1 && a.iter().all(|x| x == "audio" || x == "text"));
        if !ok {
            return Err(invalid(
                &p("output_modalities"),
                "output_modalities must be [\"audio\"] or [\"text\"]",
            ));
        }
    }
    if let Some(tools) = obj.get("tools") {
        let ok = tools.as_array().is_some_and(|a| a.iter().all(tool_ok));
        if !ok {
            return Err(invalid(
                &p("tools"),
                "Each tool must be {type:\"function\", name, description, parameters} or \
                 {type:\"mcp\", server_label, server_url|connector_id|tunnel_id, ...}.",
            ));
        }
    }
    let id = shared.new_id("sess_");
    Ok(effective_session(shared, session, &id))
}

/// A GA session tool: a flat function tool or a remote MCP server (spec `MCPTool`).
fn tool_ok(t: &Value) -> bool {
    let non_empty = |k: &str| {
        t.get(k)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
    };
    match t.get("type").and_then(Value::as_str) {
        // The Chat Completions nesting (`function: {...}`) is a classic mistake.
        Some("function") => non_empty("name") && t.get("function").is_none(),
        Some("mcp") => {
            non_empty("server_label")
                && (non_empty("server_url") || non_empty("connector_id") || non_empty("tunnel_id"))
        }
        _ => false,
    }
}

async fn client_secrets(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = auth(&shared, &headers, &["standard"]) {
        return r;
    }
    let req = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut ttl = 600i64;
    if let Some(ea) = req.get("expires_after") {
        if ea.get("anchor").and_then(Value::as_str) != Some("created_at") {
            return invalid(
                "expires_after.anchor",
                "Invalid value. Supported values are: 'created_at'.",
            );
        }
        match ea.get("seconds").and_then(Value::as_i64) {
            Some(s) if (10..=7200).contains(&s) => ttl = s,
            _ => {
                return invalid(
                    "expires_after.seconds",
                    "Invalid 'expires_after.seconds': must be an integer between 10 and 7200.",
                );
            }
        }
    }
    let session_in = req
        .get("session")
        .cloned()
        .unwrap_or_else(|| json!({"type":"realtime"}));
    let session = match validate_session(&shared, &session_in, "session.") {
        Ok(s) => s,
        Err(r) => return r,
    };
    let value = format!("ek_{}", &sha256_hex(&shared.new_id("ek"))[..32]);
    let expires_at = shared.clock.now_unix() + ttl;
    shared.inner().secrets.insert(
        value.clone(),
        Secret {
            expires_at,
            session: session.clone(),
            uses: 0,
        },
    );
    axum::Json(json!({"value": value, "expires_at": expires_at, "session": session}))
        .into_response()
}

/// Extracts the named parts of a `multipart/form-data` body (small hand parser: two text parts).
pub(crate) fn multipart_parts(content_type: &str, body: &[u8]) -> Option<Vec<(String, String)>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let text = String::from_utf8_lossy(body);
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    for chunk in text.split(delim.as_str()).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
        let (head, content) = chunk.split_once("\r\n\r\n")?;
        let name = head
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))?
            .split(';')
            .map(str::trim)
            .find_map(|p| p.strip_prefix("name="))?
            .trim_matches('"')
            .to_owned();
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        out.push((name, content.to_owned()));
    }
    Some(out)
}

async fn calls(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    let key = match auth(&shared, &headers, &["standard", "ephemeral"]) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (sdp, session) = match &key {
        KeyKind::Ephemeral(ek) => {
            if !ct.starts_with("application/sdp") {
                return invalid(
                    "content-type",
                    "With an ephemeral key, send the SDP offer as application/sdp.",
                );
            }
            let now = shared.clock.now_unix();
            let single_use = shared.cfg().single_use_secrets;
            let mut g = shared.inner();
            let Some(secret) = g.secrets.get_mut(ek) else {
                drop(g);
                return api_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request_error",
                    Some("invalid_api_key"),
                    None,
                    "Incorrect API key provided: ephemeral key not recognized.",
                );
            };
            if now >= secret.expires_at {
                drop(g);
                return api_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request_error",
                    Some("invalid_api_key"),
                    None,
                    "Ephemeral token expired.",
                );
            }
            if single_use && secret.uses > 0 {
                drop(g);
                return api_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request_error",
                    Some("invalid_api_key"),
                    None,
                    "Ephemeral token already used.",
                );
            }
            secret.uses += 1;
            (
                String::from_utf8_lossy(&body).into_owned(),
                secret.session.clone(),
            )
        }
        _ => {
            if !ct.starts_with("multipart/form-data") {
                return invalid(
                    "content-type",
                    "With a standard key, send multipart/form-data with 'sdp' and 'session' parts.",
                );
            }
            let Some(parts) = multipart_parts(&ct, &body) else {
                return invalid("body", "Malformed multipart body.");
            };
            let get = |n: &str| parts.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
            let Some(sdp) = get("sdp") else {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("missing_required_parameter"),
                    Some("sdp"),
                    "Missing required parameter: 'sdp'.",
                );
            };
            let session_in: Value = match get("session").map(|s| serde_json::from_str(&s)) {
                Some(Ok(v)) => v,
                Some(Err(_)) => return invalid("session", "session part is not valid JSON"),
                None => json!({"type":"realtime"}),
            };
            match validate_session(&shared, &session_in, "session.") {
                Ok(s) => (sdp, s),
                Err(r) => return r,
            }
        }
    };
    if !sdp.starts_with("v=0") || !sdp.contains("m=") {
        return invalid("sdp", "Invalid SDP offer.");
    }
    let call = realtime::create_call(&shared, "rtc_", session);
    let answer = match crate::answer_offer(&shared, &call, &sdp) {
        Ok(a) => a,
        Err(e) => {
            call.end(1000, "offer rejected");
            return invalid("sdp", &format!("Could not accept SDP offer: {e}"));
        }
    };
    let mut resp = (StatusCode::CREATED, answer).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/realtime/calls/{}", call.id)) {
        h.insert(header::LOCATION, v);
    }
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("Location"),
    );
    resp
}

async fn hangup(State(shared): AppState, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if let Err(r) = auth(&shared, &headers, &["standard"]) {
        return r;
    }
    let call = shared.inner().calls.get(&id).cloned();
    match call {
        Some(c) if !c.stats().ended => {
            c.end(1000, "call hung up");
            StatusCode::OK.into_response()
        }
        _ => api_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("call_not_found"),
            Some("call_id"),
            &format!("Call '{id}' not found."),
        ),
    }
}

fn tokens(s: &str) -> u64 {
    (s.chars().count() as u64).div_ceil(4)
}

/// Checks a strict schema: every object lists all properties as required, no extra properties.
fn strict_schema_ok(s: &Value) -> bool {
    match s.get("type").and_then(Value::as_str) {
        Some("object") => {
            let props = s.get("properties").and_then(Value::as_object);
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            s.get("additionalProperties") == Some(&Value::Bool(false))
                && props.is_none_or(|p| {
                    p.keys().all(|k| required.contains(&k.as_str()))
                        && p.values().all(strict_schema_ok)
                })
        }
        Some("array") => s.get("items").is_none_or(strict_schema_ok),
        _ => true,
    }
}

/// A value that satisfies `schema` (typed defaults; first enum value).
fn sample_from_schema(s: &Value) -> Value {
    if let Some(e) = s
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return e.clone();
    }
    match s.get("type").and_then(Value::as_str) {
        Some("object") => {
            let mut m = serde_json::Map::new();
            if let Some(p) = s.get("properties").and_then(Value::as_object) {
                for (k, v) in p {
                    m.insert(k.clone(), sample_from_schema(v));
                }
            }
            Value::Object(m)
        }
        Some("array") => json!([]),
        Some("string") => json!("fake"),
        Some("number") => json!(0.0),
        Some("integer") => json!(0),
        Some("boolean") => json!(false),
        _ => Value::Null,
    }
}

async fn chat(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = auth(&shared, &headers, &["standard"]) {
        return r;
    }
    let req = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if model.is_empty() {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("missing_required_parameter"),
            Some("model"),
            "you must provide a model parameter",
        );
    }
    if !shared.cfg().chat_models.contains(&model) {
        return api_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("model_not_found"),
            Some("model"),
            &format!("The model `{model}` does not exist or you do not have access to it."),
        );
    }
    let Some(messages) = req
        .get("messages")
        .and_then(Value::as_array)
        .filter(|m| !m.is_empty())
    else {
        return invalid("messages", "'messages' must be a non-empty array.");
    };
    let mut prompt = 0u64;
    for (i, m) in messages.iter().enumerate() {
        let role = m.get("role").and_then(Value::as_str).unwrap_or("");
        if !["system", "developer", "user", "assistant", "tool"].contains(&role) {
            return invalid(&format!("messages[{i}].role"), "Invalid role.");
        }
        let content = m
            .get("content")
            .map(|c| {
                c.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| c.to_string())
            })
            .unwrap_or_default();
        prompt += tokens(&content) + 4;
    }
    let mut schema: Option<Value> = None;
    if let Some(rf) = req.get("response_format") {
        match rf.get("type").and_then(Value::as_str) {
            Some("text") => {}
            Some("json_object") => {
                let mentions_json = messages.iter().any(|m| {
                    m.get("content")
                        .and_then(Value::as_str)
                        .is_some_and(|c| c.to_lowercase().contains("json"))
                });
                if !mentions_json {
                    return invalid(
                        "messages",
                        "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
                    );
                }
                schema = Some(json!({"type":"object"}));
            }
            Some("json_schema") => {
                let Some(js) = rf.get("json_schema") else {
                    return invalid("response_format.json_schema", "Missing json_schema.");
                };
                let name_ok = js.get("name").and_then(Value::as_str).is_some_and(|n| {
                    !n.is_empty()
                        && n.len() <= 64
                        && n.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                });
                if !name_ok {
                    return invalid("response_format.json_schema.name", "Invalid schema name.");
                }
                let Some(s) = js.get("schema") else {
                    return invalid("response_format.json_schema.schema", "Missing schema.");
                };
                if js.get("strict").and_then(Value::as_bool) == Some(true) && !strict_schema_ok(s) {
                    return invalid(
                        "response_format",
                        "Invalid schema for response_format: In strict mode, 'additionalProperties' must be false and all properties must be required.",
                    );
                }
                schema = Some(s.clone());
            }
            _ => return invalid("response_format.type", "Invalid response_format type."),
        }
    }
    let scripted = shared.inner().chat_scripts.pop_front();
    let (content, refusal) = match scripted {
        Some(ChatScript::Json(v)) => (Some(v.to_string()), None),
        Some(ChatScript::Text(t)) => (Some(t), None),
        Some(ChatScript::Refusal(r)) => (None, Some(r)),
        None => match &schema {
            Some(s) => (Some(sample_from_schema(s).to_string()), None),
            None => (Some("This is a fake completion.".to_owned()), None),
        },
    };
    let completion = content
        .as_deref()
        .or(refusal.as_deref())
        .map(tokens)
        .unwrap_or(0);
    let usage = TokenUsage::chat(prompt, 0, completion);
    let cost = shared.price(&model, &usage);
    let id = shared.new_id("chatcmpl-");
    shared.book(LedgerEntry {
        at_unix: shared.clock.now_unix(),
        kind: LedgerKind::Chat,
        model: model.clone(),
        call_id: None,
        response_id: Some(id.clone()),
        usage,
        audio_ms: 0,
        cost_pico: cost,
    });
    axum::Json(json!({"id":id,"object":"chat.completion","created":shared.clock.now_unix(),"model":model,
        "choices":[{"index":0,"message":{"role":"assistant","content":content,"refusal":refusal,"annotations":[]},
            "logprobs":null,"finish_reason":"stop"}],
        "usage":{"prompt_tokens":prompt,"completion_tokens":completion,"total_tokens":prompt+completion,
            "prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},
            "completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},
        "service_tier":"default","system_fingerprint":"fp_fake"})).into_response()
}

/// A small bilingual concept lexicon: every word of a group (after [`fake_word`]) also adds the
/// group's concept direction, so paraphrases ("can I bring my dog?" / "animaux de compagnie")
/// land near each other. Documented in `docs/contributor/openai.md`.
pub const FAKE_CONCEPTS: &[(&str, &[&str])] = &[
    (
        "animal",
        &[
            "dog", "dogs", "chien", "chiens", "cat", "chat", "pet", "pets", "animal", "animaux",
        ],
    ),
    (
        "price",
        &[
            "price",
            "prices",
            "cost",
            "costs",
            "fee",
            "fees",
            "tarif",
            "tarifs",
            "prix",
            "coute",
            "couter",
            "cher",
            "pay",
            "payer",
            "paiement",
            "euros",
            "expensive",
            "cheap",
            "much",
        ],
    ),
    (
        "cancel",
        &[
            "cancel",
            "cancellation",
            "resilier",
            "resiliation",
            "quit",
            "arreter",
            "terminate",
            "desabonner",
            "unsubscribe",
            "leave",
        ],
    ),
    (
        "join",
        &[
            "join",
            "signup",
            "subscribe",
            "inscription",
            "inscrire",
            "abonner",
            "abonnement",
            "abonnements",
            "adhesion",
            "register",
            "membership",
        ],
    ),
    (
        "hours",
        &[
            "hours",
            "open",
            "opening",
            "close",
            "closing",
            "closes",
            "horaires",
            "ouvert",
            "ouverture",
            "fermeture",
            "ferme",
            "late",
            "tard",
            "early",
        ],
    ),
    (
        "parking",
        &[
            "parking",
            "car",
            "cars",
            "voiture",
            "garer",
            "park",
            "stationnement",
            "stationner",
        ],
    ),
    (
        "locker",
        &[
            "shower",
            "showers",
            "douche",
            "douches",
            "vestiaire",
            "vestiaires",
            "locker",
            "lockers",
            "casier",
            "casiers",
            "changing",
        ],
    ),
    (
        "child",
        &[
            "child",
            "children",
            "kid",
            "kids",
            "enfant",
            "enfants",
            "baby",
            "bebe",
            "garderie",
            "daycare",
            "babysitting",
        ],
    ),
    (
        "swim",
        &[
            "pool", "piscine", "swim", "swimming", "nager", "natation", "bassin",
        ],
    ),
    (
        "injury",
        &[
            "injury", "injured", "pain", "hurt", "hurts", "blessure", "blesse", "douleur", "genou",
            "knee", "dos", "back",
        ],
    ),
    (
        "coach",
        &[
            "coach",
            "coaching",
            "trainer",
            "entraineur",
            "personal",
            "personnel",
            "particulier",
        ],
    ),
    (
        "pause",
        &[
            "pause",
            "freeze",
            "suspend",
            "suspendre",
            "geler",
            "vacation",
            "vacances",
            "holiday",
        ],
    ),
    (
        "guest",
        &[
            "guest", "guests", "friend", "friends", "invite", "inviter", "ami", "amis", "amie",
            "visiteur",
        ],
    ),
    (
        "internet",
        &[
            "wifi",
            "internet",
            "password",
            "connexion",
            "network",
            "reseau",
        ],
    ),
    (
        "food",
        &[
            "eat", "food", "snack", "drink", "drinks", "boire", "manger", "boisson", "boissons",
            "smoothie", "protein", "proteine",
        ],
    ),
    ("towel", &["towel", "towels", "serviette", "serviettes"]),
];

/// Words the fake's model ignores (both languages).
const FAKE_STOPWORDS: &[&str] = &[
    "the", "and", "for", "are", "can", "you", "your", "our", "with", "what", "how", "when",
    "where", "does", "have", "there", "les", "des", "une", "est", "pour", "avec", "dans", "que",
    "qui", "quoi", "sur", "pas", "vos", "votre", "nos", "notre", "mon", "mes", "son", "ses",
    "peut", "peux", "quand", "comment", "quel", "quelle", "est-ce", "faut", "bring",
];

/// The fake model's view of a word: accents and case folded, a plural `s`/`x` dropped.
pub fn fake_word(w: &str) -> String {
    let f = jarvis_core::search::fold(w);
    if f.len() > 4 && (f.ends_with('s') || f.ends_with('x')) {
        f[..f.len() - 1].to_string()
    } else {
        f
    }
}

fn fake_direction(key: &str, dims: usize, v: &mut [f64], weight: f64) {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(key.as_bytes());
    // Eight signed positions per feature (feature hashing).
    for i in 0..8 {
        let b = &h[i * 4..i * 4 + 4];
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let pos = (n >> 1) as usize % dims;
        let sign = if n & 1 == 0 { 1.0 } else { -1.0 };
        v[pos] += sign * weight;
    }
}

/// Deterministic unit vector for `text`, meaningful enough for retrieval tests: the sum of
/// (1) one hashed direction per distinct word (case and accents folded, a plural `s` dropped,
/// short and stop words ignored), (2) a concept direction, weighted 2, for every word listed in
/// [`FAKE_CONCEPTS`] (so synonyms and translations meet), and (3) a small SHA-256 component of
/// the exact text (weight 0.05), so two different texts never share a vector; L2-normalised.
/// Cosine similarity therefore grows with shared words and shared concepts.
pub fn fake_embedding(text: &str, dims: usize) -> Vec<f32> {
    use sha2::{Digest, Sha256};
    let mut v = vec![0f64; dims.max(1)];
    let mut seen: Vec<String> = Vec::new();
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        let w = fake_word(w);
        if w.chars().count() < 3 || FAKE_STOPWORDS.contains(&w.as_str()) || seen.contains(&w) {
            continue;
        }
        fake_direction(&format!("w:{w}"), dims.max(1), &mut v, 1.0);
        for (concept, words) in FAKE_CONCEPTS {
            if words.iter().any(|x| fake_word(x) == w) {
                fake_direction(&format!("c:{concept}"), dims.max(1), &mut v, 2.0);
            }
        }
        seen.push(w);
    }
    // The exact text: SHA-256 in counter mode, scaled to a small norm.
    let seed = Sha256::digest(text.as_bytes());
    let mut raw = Vec::with_capacity(dims);
    let mut block = 0u32;
    while raw.len() < dims {
        let mut h = Sha256::new();
        h.update(seed);
        h.update(block.to_le_bytes());
        let out = h.finalize();
        for c in out.chunks(4) {
            if raw.len() == dims {
                break;
            }
            let n = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            raw.push(n as f64 / u32::MAX as f64 * 2.0 - 1.0);
        }
        block += 1;
    }
    let raw_norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt().max(1e-12);
    let words_norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let raw_weight = if words_norm > 0.0 {
        0.05 * words_norm
    } else {
        1.0
    };
    for (x, r) in v.iter_mut().zip(&raw) {
        *x += r / raw_norm * raw_weight;
    }
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    v.truncate(dims);
    v.into_iter()
        .map(|x| if norm > 0.0 { (x / norm) as f32 } else { 0.0 })
        .collect()
}

async fn embeddings(State(shared): AppState, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = auth(&shared, &headers, &["standard"]) {
        return r;
    }
    let req = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let model = req
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let Some(native) = EMBEDDING_MODELS
        .iter()
        .find(|(m, _)| *m == model)
        .map(|(_, d)| *d)
    else {
        return api_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            Some("model_not_found"),
            Some("model"),
            &format!("The model `{model}` does not exist or you do not have access to it."),
        );
    };
    let inputs: Vec<String> = match req.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) if !a.is_empty() => {
            let mut out = Vec::new();
            for x in a {
                match x {
                    Value::String(s) => out.push(s.clone()),
                    // Token-id arrays: embed their textual form.
                    Value::Array(_) | Value::Number(_) => out.push(x.to_string()),
                    _ => return invalid("input", "Invalid input item."),
                }
            }
            out
        }
        _ => return invalid("input", "'input' must be a non-empty string or array."),
    };
    if inputs.len() > 2048 {
        return invalid("input", "'input' must have at most 2048 items.");
    }
    if inputs.iter().any(String::is_empty) {
        return invalid("input", "'input' cannot contain empty strings.");
    }
    let per: Vec<u64> = inputs.iter().map(|s| tokens(s)).collect();
    if per.iter().any(|t| *t > 8192) {
        return invalid(
            "input",
            "This model's maximum context length is 8192 tokens.",
        );
    }
    let total: u64 = per.iter().sum();
    if total > 300_000 {
        return invalid(
            "input",
            "Requested too many tokens: max 300000 tokens per request.",
        );
    }
    let dims = match req.get("dimensions") {
        None => native,
        Some(d) => match d.as_u64() {
            Some(d) if d >= 1 && d as usize <= native => d as usize,
            _ => return invalid("dimensions", "Invalid 'dimensions'."),
        },
    };
    let base64 = match req.get("encoding_format").and_then(Value::as_str) {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            return invalid(
                "encoding_format",
                "encoding_format must be 'float' or 'base64'.",
            );
        }
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let v = fake_embedding(s, dims);
            let emb = if base64 {
                use base64::Engine;
                let bytes: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object":"embedding","index":i,"embedding":emb})
        })
        .collect();
    let usage = TokenUsage::chat(total, 0, 0);
    let cost = shared.price(&model, &usage);
    shared.book(LedgerEntry {
        at_unix: shared.clock.now_unix(),
        kind: LedgerKind::Embeddings,
        model: model.clone(),
        call_id: None,
        response_id: None,
        usage,
        audio_ms: 0,
        cost_pico: cost,
    });
    axum::Json(json!({"object":"list","model":model,"data":data,"usage":{"prompt_tokens":total,"total_tokens":total}})).into_response()
}

async fn org_costs(
    State(shared): AppState,
    headers: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if let Err(r) = auth(&shared, &headers, &["admin"]) {
        return r;
    }
    let Some(start) = q.get("start_time").and_then(|s| s.parse::<i64>().ok()) else {
        return api_error(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            Some("missing_required_parameter"),
            Some("start_time"),
            "Missing required parameter: 'start_time'.",
        );
    };
    let end = q
        .get("end_time")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(shared.clock.now_unix() + 1);
    let day = 86_400;
    // `limit` buckets per page (1..=180, default 7, as documented); `page` is the cursor the
    // previous page gave in `next_page` (here: the next bucket's start, opaque to clients).
    let limit = q
        .get("limit")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(7)
        .clamp(1, 180);
    let first = match q.get("page") {
        Some(p) => match p.strip_prefix("page_").and_then(|s| s.parse::<i64>().ok()) {
            Some(b) => b,
            None => {
                return api_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    Some("invalid_value"),
                    Some("page"),
                    "Invalid 'page': not a cursor returned by this endpoint.",
                );
            }
        },
        None => start.div_euclid(day) * day,
    };
    let ledger = shared.inner().ledger.clone();
    let mut data = Vec::new();
    let mut b = first;
    while b < end && data.len() < limit {
        let pico: u64 = ledger
            .iter()
            .filter(|e| e.at_unix >= b.max(start) && e.at_unix < (b + day).min(end))
            .map(|e| e.cost_pico)
            .sum();
        data.push(json!({"object":"bucket","start_time":b,"end_time":b+day,
            "results":[{"object":"organization.costs.result","amount":{"value": pico as f64 / 1e12,"currency":"usd"},
                "line_item":null,"project_id":null,"api_key_id":null,"quantity":null,"quantity_unit":null}]}));
        b += day;
    }
    let more = b < end;
    let next = more.then(|| format!("page_{b}"));
    axum::Json(json!({"object":"page","has_more":more,"next_page":next,"data":data}))
        .into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_multipart() {
        let body = "--XX\r\nContent-Disposition: form-data; name=\"sdp\"\r\nContent-Type: application/sdp\r\n\r\nv=0\r\nm=audio\r\n\r\n--XX\r\nContent-Disposition: form-data; name=\"session\"\r\n\r\n{\"type\":\"realtime\"}\r\n--XX--\r\n";
        let parts = multipart_parts("multipart/form-data; boundary=XX", body.as_bytes()).unwrap();
        assert_eq!(
            parts[0],
            ("sdp".to_owned(), "v=0\r\nm=audio\r\n".to_owned())
        );
        assert_eq!(parts[1].1, "{\"type\":\"realtime\"}");
    }

    #[test]
    fn embeddings_are_deterministic_unit_vectors() {
        let a = fake_embedding("hello", 64);
        assert_eq!(a, fake_embedding("hello", 64));
        assert_ne!(a, fake_embedding("hellO", 64));
        let n: f32 = a.iter().map(|x| x * x).sum();
        assert!((n - 1.0).abs() < 1e-4);
    }

    #[test]
    fn embeddings_meet_on_shared_words_and_concepts() {
        let cos = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let pets = fake_embedding("Animaux de compagnie : les chiens ne sont pas admis.", 256);
        let dog = fake_embedding("Can I bring my dog?", 256);
        let hours = fake_embedding("Opening hours on Sunday", 256);
        assert!(cos(&pets, &dog) > cos(&pets, &hours) + 0.2);
        assert!(cos(&hours, &fake_embedding("horaires d'ouverture", 256)) > 0.3);
    }

    #[test]
    fn strict_schema_rules() {
        assert!(strict_schema_ok(
            &json!({"type":"object","additionalProperties":false,"required":["a"],"properties":{"a":{"type":"string"}}})
        ));
        assert!(!strict_schema_ok(
            &json!({"type":"object","additionalProperties":false,"required":[],"properties":{"a":{"type":"string"}}})
        ));
        assert!(!strict_schema_ok(
            &json!({"type":"object","required":["a"],"properties":{"a":{"type":"string"}}})
        ));
    }
}
