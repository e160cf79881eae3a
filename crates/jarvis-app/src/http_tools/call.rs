//! One call of a custom HTTP tool: SSRF-checked address, signed JSON document, no redirects,
//! bounded time and size, JSON only. Every failure is an `Err(message)` for the model: a tool
//! failing never ends a conversation.
//!
//! **What is sent.** The JSON document `{"tool": name, "arguments": {…}, "member": {…}}`
//! (`member` only with the fields the tool was allowed, of the member in the call) is the
//! body of a `POST` (`Content-Type: application/json`) or the `payload` query parameter of a
//! `GET`. Headers: `Jarvis-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<document>")>`
//! (the lead webhook's scheme), `Idempotency-Key` (the same for every attempt of one tool
//! call), `Jarvis-Tool: <name>`.

use super::ssrf::{self, AllowList, Host};
use jarvis_core::model::{HttpTool, HttpToolMethod};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Largest response body read (bytes); a larger one is a tool error.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Largest result handed to the model (bytes of JSON text); larger ones are cut.
pub const MAX_MODEL_RESULT_BYTES: usize = 4 * 1024;

/// What a call needs besides the tool.
pub struct CallInput<'a> {
    /// The tool's signing secret (opened from its sealed form).
    pub secret: &'a str,
    /// Arguments, already validated against the tool's schema.
    pub arguments: Value,
    /// Allowed member fields of the member in the call (`None`: the tool gets none).
    pub member: Option<Map<String, Value>>,
    /// Stable per tool call.
    pub idempotency_key: String,
    /// Signing time.
    pub now: OffsetDateTime,
}

/// The request as sent (for the "test this tool" page; no secret in it).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SentRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The URL (with the `payload` parameter for `GET`).
    pub url: String,
    /// Headers set by JARVIS.
    pub headers: Vec<(String, String)>,
    /// The signed JSON document.
    pub body: String,
}

/// The answer of a successful call.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Received {
    /// HTTP status.
    pub status: u16,
    /// The JSON as the model gets it (cut to [`MAX_MODEL_RESULT_BYTES`]).
    #[schema(value_type = Object)]
    pub result: Value,
}

/// A call and its outcome.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Exchange {
    /// What was (or would have been) sent; `None` when the URL was refused before building it.
    pub request: Option<SentRequest>,
    /// The answer, or why there is none.
    #[schema(value_type = Object)]
    pub outcome: Result<Received, String>,
    /// Milliseconds taken.
    pub duration_ms: u64,
}

/// A DNS resolver that knows one name: the one the guard checked, with its checked addresses.
struct Pinned {
    name: String,
    addrs: Vec<std::net::SocketAddr>,
}

impl reqwest::dns::Resolve for Pinned {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let out: Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> =
            if name.as_str().eq_ignore_ascii_case(&self.name) {
                Ok(Box::new(self.addrs.clone().into_iter()))
            } else {
                Err(format!("{} was not checked by the SSRF guard", name.as_str()).into())
            };
        Box::pin(std::future::ready(out))
    }
}

/// An [`Exchange`] as the API and the test page show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TestReport {
    /// What was sent (absent when the URL was refused before a request was built).
    pub request: Option<SentRequest>,
    /// The answer, when the call succeeded.
    pub response: Option<Received>,
    /// Why the call failed (what the model would have been told).
    pub error: Option<String>,
    /// Milliseconds taken.
    pub duration_ms: u64,
}

impl From<Exchange> for TestReport {
    fn from(e: Exchange) -> Self {
        let (response, error) = match e.outcome {
            Ok(r) => (Some(r), None),
            Err(m) => (None, Some(m)),
        };
        TestReport {
            request: e.request,
            response,
            error,
            duration_ms: e.duration_ms,
        }
    }
}

/// The URL's host (for the SSRF guard) and whether its scheme is acceptable under `allow`.
pub fn check_url(url: &str, allow: &AllowList) -> Result<(reqwest::Url, Host, u16), String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("not a valid URL: {e}"))?;
    let host = Host::parse(u.host_str().ok_or("the URL has no host")?);
    match u.scheme() {
        "https" => {}
        "http" if allow.permits_http(&host) => {}
        "http" => {
            return Err(
                "must use https:// (plain http only to hosts on the operator's allow-list)".into(),
            );
        }
        _ => return Err("must start with https://".into()),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain a user name or password".into());
    }
    let port = u.port_or_known_default().ok_or("the URL has no port")?;
    Ok((u, host, port))
}

/// Lower-case hex HMAC-SHA256 signature header value for `document` at `t`.
pub fn signature_header(secret: &str, t: i64, document: &[u8]) -> String {
    format!("t={t},v1={}", crate::leads::sign(secret, t, document))
}

/// What the model sees of a JSON answer: itself, or a cut text when too long.
pub fn for_model(v: Value) -> Value {
    let text = v.to_string();
    if text.len() <= MAX_MODEL_RESULT_BYTES {
        return v;
    }
    let mut end = MAX_MODEL_RESULT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    json!({"truncated": true, "partial": &text[..end]})
}

/// Performs one call of `tool`. Never panics, never follows a redirect, never connects to an
/// address the guard did not check.
pub async fn perform(tool: &HttpTool, input: CallInput<'_>, allow: &AllowList) -> Exchange {
    let started = Instant::now();
    let limit = Duration::from_millis(u64::from(tool.timeout_ms));
    let mut request = None;
    let outcome =
        match tokio::time::timeout(limit, run(tool, input, allow, limit, &mut request)).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {} ms", tool.timeout_ms)),
        };
    Exchange {
        request,
        outcome,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}

async fn run(
    tool: &HttpTool,
    input: CallInput<'_>,
    allow: &AllowList,
    limit: Duration,
    sent: &mut Option<SentRequest>,
) -> Result<Received, String> {
    let (mut url, host, port) = check_url(&tool.url, allow)?;
    let mut doc = Map::new();
    doc.insert("tool".into(), Value::String(tool.name.clone()));
    doc.insert("arguments".into(), input.arguments);
    if let Some(m) = input.member {
        doc.insert("member".into(), Value::Object(m));
    }
    let document = Value::Object(doc).to_string();
    let t = input.now.unix_timestamp();
    let signature = signature_header(input.secret, t, document.as_bytes());
    if tool.method == HttpToolMethod::Get {
        url.query_pairs_mut().append_pair("payload", &document);
    }
    let headers = vec![
        ("Jarvis-Signature".to_owned(), signature),
        ("Idempotency-Key".to_owned(), input.idempotency_key),
        ("Jarvis-Tool".to_owned(), tool.name.clone()),
        ("Accept".to_owned(), "application/json".to_owned()),
    ];
    *sent = Some(SentRequest {
        method: tool.method.as_str().to_owned(),
        url: url.to_string(),
        headers: headers.clone(),
        body: document.clone(),
    });

    // The guard: resolve once, refuse any non-public address, connect only to what was checked.
    let addrs = ssrf::resolve(&host, port, allow)
        .await
        .map_err(|e| e.to_string())?;
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(limit)
        .timeout(limit)
        .user_agent("JARVIS-tools/1");
    if let Host::Name(name) = &host {
        // The only resolver the client has: the checked addresses for the checked name, an
        // error for anything else (no second lookup can happen, so no rebinding).
        builder = builder.dns_resolver(Pinned {
            name: name.clone(),
            addrs: addrs.clone(),
        });
    }
    let client = builder
        .build()
        .map_err(|e| format!("could not prepare the request: {e}"))?;
    let mut req = match tool.method {
        HttpToolMethod::Get => client.get(url),
        HttpToolMethod::Post => client
            .post(url)
            .header("Content-Type", "application/json")
            .body(document),
    };
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let mut resp = req.send().await.map_err(|e| {
        if e.is_timeout() {
            format!("timed out after {} ms", tool.timeout_ms)
        } else if e.is_connect() {
            "could not connect to the tool's server".to_owned()
        } else {
            "the request failed".to_owned()
        }
    })?;
    let status = resp.status();
    if status.is_redirection() {
        return Err(format!(
            "the server answered a redirect (HTTP {}), which is not followed",
            status.as_u16()
        ));
    }
    if !status.is_success() {
        return Err(format!("the server answered HTTP {}", status.as_u16()));
    }
    let ctype = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = ctype.split(';').next().unwrap_or("").trim().to_owned();
    if !(essence == "application/json" || essence.ends_with("+json")) {
        return Err("the answer is not JSON (Content-Type must be application/json)".into());
    }
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(format!(
            "the answer is larger than {} KiB",
            MAX_RESPONSE_BYTES / 1024
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| {
        if e.is_timeout() {
            format!("timed out after {} ms", tool.timeout_ms)
        } else {
            "reading the answer failed".to_owned()
        }
    })? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(format!(
                "the answer is larger than {} KiB",
                MAX_RESPONSE_BYTES / 1024
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let value: Value =
        serde_json::from_slice(&body).map_err(|_| "the answer is not valid JSON".to_owned())?;
    Ok(Received {
        status: status.as_u16(),
        result: for_model(value),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_https_unless_allow_listed() {
        let none = AllowList::default();
        assert!(check_url("https://api.example.com/x", &none).is_ok());
        assert!(check_url("http://api.example.com/x", &none).is_err());
        assert!(check_url("http://127.0.0.1:9/x", &none).is_err());
        assert!(check_url("ftp://example.com", &none).is_err());
        assert!(check_url("https://u:p@example.com", &none).is_err());
        let allow = AllowList::parse("127.0.0.1,hooks.local").unwrap();
        assert!(check_url("http://127.0.0.1:9/x", &allow).is_ok());
        assert!(check_url("http://hooks.local/x", &allow).is_ok());
        let (_, host, port) = check_url("https://[::1]/x", &none).unwrap();
        assert_eq!(host, Host::Ip("::1".parse().unwrap()));
        assert_eq!(port, 443);
    }

    #[test]
    fn long_results_are_cut_for_the_model() {
        let small = json!({"ok": true});
        assert_eq!(for_model(small.clone()), small);
        let big = json!({"text": "é".repeat(5000)});
        let cut = for_model(big);
        assert_eq!(cut["truncated"], true);
        assert!(cut["partial"].as_str().unwrap().len() <= MAX_MODEL_RESULT_BYTES);
    }
}
