//! One typed error for every OpenAI call, mapped from HTTP status and the `error` body.

use std::time::Duration;

use serde::Deserialize;

/// Which rate limit a 429 hit (the `error.type` of a rate-limit 429).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimitKind {
    /// Requests per minute/day.
    Requests,
    /// Tokens per minute.
    Tokens,
    /// Not stated by the server.
    Unknown,
}

/// The `{"error":{message,type,param,code}}` body OpenAI returns on failures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct ApiErrorBody {
    /// Human readable message.
    #[serde(default)]
    pub message: String,
    /// Error type, e.g. `invalid_request_error`, `insufficient_quota`, `requests`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Offending parameter, if any.
    #[serde(default)]
    pub param: Option<String>,
    /// Machine code, e.g. `invalid_api_key`, `rate_limit_exceeded`.
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    error: ApiErrorBody,
}

/// Everything that can go wrong talking to OpenAI.
#[derive(Debug, thiserror::Error)]
pub enum OpenAiError {
    /// 429 rate limit (retryable); `retry_after` is the server's hint, if any.
    #[error("rate limited ({kind:?}): {message}")]
    RateLimited {
        /// Requests or tokens.
        kind: RateLimitKind,
        /// Server-suggested wait.
        retry_after: Option<Duration>,
        /// Server message.
        message: String,
    },
    /// Billing quota or credit exhausted: never retried, needs a human.
    #[error("quota exhausted ({code}): {message}")]
    QuotaExhausted {
        /// `insufficient_quota` or `credit_balance_exhausted`.
        code: String,
        /// Server message.
        message: String,
    },
    /// 400/422 (and other non-retryable 4xx): the request itself is wrong.
    #[error("invalid request ({status}, code {code:?}, param {param:?}): {message}")]
    InvalidRequest {
        /// HTTP status.
        status: u16,
        /// Offending parameter.
        param: Option<String>,
        /// Error code.
        code: Option<String>,
        /// Server message.
        message: String,
    },
    /// 401/403: bad, expired or revoked key, or not allowed.
    #[error("authentication failed ({status}, code {code:?}): {message}")]
    Auth {
        /// HTTP status.
        status: u16,
        /// Error code.
        code: Option<String>,
        /// Server message.
        message: String,
    },
    /// 404: unknown model or resource.
    #[error("not found (code {code:?}): {message}")]
    NotFound {
        /// Error code, e.g. `model_not_found`.
        code: Option<String>,
        /// Server message.
        message: String,
    },
    /// 408/409/5xx from the server.
    #[error("server error {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Server-suggested wait (`retry-after-ms` / `Retry-After`), if any.
        retry_after: Option<Duration>,
        /// Server message.
        message: String,
    },
    /// The request timed out on our side.
    #[error("timed out")]
    Timeout,
    /// Connection refused, reset, or dropped mid-response.
    #[error("connection error: {0}")]
    Connection(String),
    /// The response did not have the documented shape.
    #[error("could not decode response: {0}")]
    Decode(String),
    /// Structured output requested but the model refused.
    #[error("model refused: {0}")]
    Refusal(String),
    /// WebSocket protocol failure.
    #[error("websocket error: {0}")]
    WebSocket(String),
    /// Misconfiguration detected before sending (bad base URL, …).
    #[error("configuration error: {0}")]
    Config(String),
}

impl OpenAiError {
    /// Whether this kind of error is retryable by default (408, 409, 429 rate limits, 5xx,
    /// timeouts, connection errors). The client's retry loop also obeys the server's
    /// `x-should-retry` header, and never retries [`QuotaExhausted`](Self::QuotaExhausted).
    pub fn is_retryable(&self) -> bool {
        match self {
            OpenAiError::RateLimited { .. } | OpenAiError::Timeout | OpenAiError::Connection(_) => {
                true
            }
            OpenAiError::Server { status, .. } => {
                *status == 408 || *status == 409 || *status >= 500
            }
            _ => false,
        }
    }

    /// The server-provided retry delay, if any (rate limits and server errors).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            OpenAiError::RateLimited { retry_after, .. }
            | OpenAiError::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Maps a non-2xx HTTP status and body to a typed error.
    pub fn from_status(status: u16, body: &str, retry_after: Option<Duration>) -> Self {
        let api = serde_json::from_str::<Envelope>(body)
            .map(|e| e.error)
            .unwrap_or_else(|_| ApiErrorBody {
                message: body.chars().take(500).collect(),
                ..Default::default()
            });
        let code = api.code.clone();
        let kind = api.kind.clone();
        // The docs say to look at `code` first: quota 429s may say either code.
        let is_quota = |c: &Option<String>| {
            matches!(
                c.as_deref(),
                Some("insufficient_quota" | "credit_balance_exhausted")
            )
        };
        match status {
            429 if is_quota(&code) || kind.as_deref() == Some("insufficient_quota") => {
                OpenAiError::QuotaExhausted {
                    code: code.unwrap_or_else(|| "insufficient_quota".into()),
                    message: api.message,
                }
            }
            429 => OpenAiError::RateLimited {
                kind: match kind.as_deref() {
                    Some("requests") => RateLimitKind::Requests,
                    Some("tokens") => RateLimitKind::Tokens,
                    _ => RateLimitKind::Unknown,
                },
                retry_after,
                message: api.message,
            },
            401 | 403 => OpenAiError::Auth {
                status,
                code,
                message: api.message,
            },
            404 => OpenAiError::NotFound {
                code,
                message: api.message,
            },
            408 | 409 | 500..=599 => OpenAiError::Server {
                status,
                retry_after,
                message: api.message,
            },
            _ => OpenAiError::InvalidRequest {
                status,
                param: api.param,
                code,
                message: api.message,
            },
        }
    }

    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            OpenAiError::Timeout
        } else if e.is_decode() {
            OpenAiError::Decode(e.to_string())
        } else {
            // Body read failures (connection dropped mid-response) land here too.
            OpenAiError::Connection(error_chain(&e))
        }
    }
}

/// Renders an error with its sources, since reqwest's top-level message hides the cause.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn maps_quota_by_code_even_if_type_differs() {
        let body = r#"{"error":{"message":"no credit","type":"requests","param":null,"code":"credit_balance_exhausted"}}"#;
        let e = OpenAiError::from_status(429, body, Some(Duration::from_secs(1)));
        assert!(matches!(e, OpenAiError::QuotaExhausted { .. }));
        assert!(!e.is_retryable());
    }

    #[test]
    fn maps_statuses() {
        let rl = r#"{"error":{"message":"slow","type":"tokens","param":null,"code":"rate_limit_exceeded"}}"#;
        let e = OpenAiError::from_status(429, rl, None);
        assert!(matches!(
            e,
            OpenAiError::RateLimited {
                kind: RateLimitKind::Tokens,
                ..
            }
        ));
        assert!(e.is_retryable());
        assert!(OpenAiError::from_status(503, "oops", None).is_retryable());
        // 5xx keep the server's hint too, not only 429s.
        assert_eq!(
            OpenAiError::from_status(503, "", Some(Duration::from_secs(4))).retry_after(),
            Some(Duration::from_secs(4))
        );
        assert!(OpenAiError::from_status(409, "", None).is_retryable());
        assert!(!OpenAiError::from_status(422, "", None).is_retryable());
        let inv = OpenAiError::from_status(
            400,
            r#"{"error":{"message":"bad","type":"invalid_request_error","param":"voice","code":"invalid_value"}}"#,
            None,
        );
        match inv {
            OpenAiError::InvalidRequest { param, code, .. } => {
                assert_eq!(param.as_deref(), Some("voice"));
                assert_eq!(code.as_deref(), Some("invalid_value"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            OpenAiError::from_status(401, "", None),
            OpenAiError::Auth { .. }
        ));
        assert!(matches!(
            OpenAiError::from_status(404, "", None),
            OpenAiError::NotFound { .. }
        ));
    }
}
