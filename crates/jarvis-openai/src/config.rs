//! Client configuration: base URL, secret key, timeouts, retry policy.

use std::fmt;
use std::time::Duration;

use crate::retry::RetryPolicy;

/// The public API base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// An API key. Never printed: `Debug`/`Display` show only its kind.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key (trimmed, since `_FILE` secrets usually end with a newline).
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into().trim().to_owned())
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn kind(&self) -> &'static str {
        if self.0.starts_with("sk-admin-") {
            "admin"
        } else if self.0.starts_with("sk-") {
            "standard"
        } else if self.0.starts_with("ek_") {
            "ephemeral"
        } else {
            "unknown"
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey(<{} key redacted>)", self.kind())
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Why a configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Neither `JARVIS_OPENAI_API_KEY` nor `JARVIS_OPENAI_API_KEY_FILE` is set.
    #[error("no OpenAI API key configured")]
    MissingKey,
    /// The key file could not be read.
    #[error("cannot read key file {path}: {source}")]
    KeyFile {
        /// Path from `JARVIS_OPENAI_API_KEY_FILE`.
        path: String,
        /// IO error.
        source: std::io::Error,
    },
    /// The base URL is not http(s).
    #[error("invalid base URL {0:?}: must start with http:// or https://")]
    BaseUrl(String),
}

/// How to reach OpenAI (or the fake).
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Base URL including `/v1`, without trailing slash.
    pub base_url: String,
    /// Secret key (`sk-…`).
    pub api_key: ApiKey,
    /// Optional `OpenAI-Organization` header.
    pub organization: Option<String>,
    /// Optional `OpenAI-Project` header.
    pub project: Option<String>,
    /// Per-attempt timeout for HTTP requests.
    pub request_timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
}

impl OpenAiConfig {
    /// A config for `base_url` with `api_key` and default timeouts/retries.
    pub fn new(base_url: impl Into<String>, api_key: ApiKey) -> Result<Self, ConfigError> {
        let base_url = normalize_base_url(&base_url.into())?;
        Ok(OpenAiConfig {
            base_url,
            api_key,
            organization: None,
            project: None,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        })
    }

    /// Reads `JARVIS_OPENAI_BASE_URL` (default public API) and `JARVIS_OPENAI_API_KEY` or `_FILE`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`from_env`](Self::from_env) with an injectable variable lookup (testable without env mutation).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let base = get("JARVIS_OPENAI_BASE_URL")
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let key = match get("JARVIS_OPENAI_API_KEY").filter(|s| !s.trim().is_empty()) {
            Some(k) => ApiKey::new(k),
            None => match get("JARVIS_OPENAI_API_KEY_FILE").filter(|s| !s.trim().is_empty()) {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|source| ConfigError::KeyFile { path, source })?;
                    let key = ApiKey::new(text);
                    if key.expose().is_empty() {
                        return Err(ConfigError::MissingKey);
                    }
                    key
                }
                None => return Err(ConfigError::MissingKey),
            },
        };
        let mut cfg = Self::new(base, key)?;
        cfg.organization = get("JARVIS_OPENAI_ORGANIZATION").filter(|s| !s.is_empty());
        cfg.project = get("JARVIS_OPENAI_PROJECT").filter(|s| !s.is_empty());
        Ok(cfg)
    }

    /// The realtime WebSocket URL, derived like the official SDK: http→ws, https→wss.
    pub fn realtime_ws_url(&self) -> String {
        if let Some(rest) = self.base_url.strip_prefix("https://") {
            format!("wss://{rest}/realtime")
        } else if let Some(rest) = self.base_url.strip_prefix("http://") {
            format!("ws://{rest}/realtime")
        } else {
            format!("{}/realtime", self.base_url)
        }
    }
}

fn normalize_base_url(url: &str) -> Result<String, ConfigError> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() <= "https://".len()
    {
        return Err(ConfigError::BaseUrl(url.to_owned()));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn key_is_never_debug_printed() {
        let cfg = OpenAiConfig::new("http://x/v1/", ApiKey::new("sk-supersecret")).unwrap();
        let dbg = format!("{cfg:?}");
        assert!(!dbg.contains("supersecret"), "{dbg}");
        assert!(dbg.contains("standard key redacted"));
        assert_eq!(cfg.base_url, "http://x/v1");
    }

    #[test]
    fn derives_ws_url() {
        let a = OpenAiConfig::new("https://api.openai.com/v1", ApiKey::new("sk-a")).unwrap();
        assert_eq!(a.realtime_ws_url(), "wss://api.openai.com/v1/realtime");
        let b = OpenAiConfig::new("http://127.0.0.1:9/v1", ApiKey::new("sk-a")).unwrap();
        assert_eq!(b.realtime_ws_url(), "ws://127.0.0.1:9/v1/realtime");
        assert!(OpenAiConfig::new("ftp://x", ApiKey::new("sk-a")).is_err());
    }

    #[test]
    fn from_lookup_reads_key_file() {
        let dir = std::env::temp_dir().join(format!("jarvis-openai-key-{}", std::process::id()));
        std::fs::write(&dir, "sk-fromfile\n").unwrap();
        let path = dir.to_string_lossy().to_string();
        let cfg = OpenAiConfig::from_lookup(|k| match k {
            "JARVIS_OPENAI_API_KEY_FILE" => Some(path.clone()),
            _ => None,
        })
        .unwrap();
        assert_eq!(cfg.api_key.expose(), "sk-fromfile");
        assert_eq!(cfg.base_url, DEFAULT_BASE_URL);
        std::fs::remove_file(&dir).unwrap();
        assert!(matches!(
            OpenAiConfig::from_lookup(|_| None),
            Err(ConfigError::MissingKey)
        ));
    }
}
