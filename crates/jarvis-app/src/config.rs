//! Configuration: defaults → optional `jarvis.toml` → `JARVIS_*` environment → command-line flags.
//!
//! Every key is declared once in [`KEYS`] (name, help, default, secret or not). TOML sections
//! flatten with `_` (`[openai] api_key` is `openai_api_key`), and the environment variable is
//! `JARVIS_` + the upper-cased key. Secrets can also come from a file named by
//! `JARVIS_<KEY>_FILE` (or `<key>_file` in TOML). Invalid values stop the start with a message
//! naming the key, where it came from and the expected form.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// One configuration key.
pub struct Key {
    /// Flat key name (`database_url`).
    pub name: &'static str,
    /// What it sets and the expected form.
    pub help: &'static str,
    /// Default value as text, if any.
    pub default: Option<&'static str>,
    /// Whether the value is a secret (redacted in `config show`, may come from `_FILE`).
    pub secret: bool,
}

/// Every configuration key, in display order.
pub const KEYS: &[Key] = &[
    Key {
        name: "listen",
        help: "address to serve HTTP on, host:port",
        default: Some("127.0.0.1:3001"),
        secret: false,
    },
    Key {
        name: "data_dir",
        help: "directory for the SQLite database and local files",
        default: Some("./data"),
        secret: false,
    },
    Key {
        name: "database_url",
        help: "sqlite://path or postgres://user:pass@host/db (default: sqlite file in data_dir)",
        default: None,
        secret: true,
    },
    Key {
        name: "database_max_connections",
        help: "database pool size, 1-500",
        default: Some("10"),
        secret: false,
    },
    Key {
        name: "database_acquire_timeout_secs",
        help: "longest wait for a pooled database connection before a request fails with 503 unavailable, 1-300 seconds",
        default: Some("5"),
        secret: false,
    },
    Key {
        name: "log_format",
        help: "log output: human or json",
        default: Some("human"),
        secret: false,
    },
    Key {
        name: "log_level",
        help: "tracing filter, e.g. info or jarvis_server=debug,info",
        default: Some("info"),
        secret: false,
    },
    Key {
        name: "public_url",
        help: "external URL of this server, e.g. https://jarvis.example.com (links, secure cookies)",
        default: None,
        secret: false,
    },
    Key {
        name: "email_transport",
        help: "how queued e-mails leave: smtp (delivered through smtp_url), log (metadata only, links are not delivered; development) or none (stay queued, sealed)",
        default: Some("log"),
        secret: false,
    },
    Key {
        name: "smtp_url",
        help: "SMTP server for email_transport=smtp: smtps://user:pass@host:465 (TLS), smtp://user:pass@host:587?tls=required (STARTTLS) or smtp://host:25 (no TLS, local relays only)",
        default: None,
        secret: true,
    },
    Key {
        name: "email_from",
        help: "sender of every e-mail for email_transport=smtp, e.g. \"JARVIS <jarvis@gym.example>\"",
        default: None,
        secret: false,
    },
    Key {
        name: "smtp_ca_file",
        help: "PEM file of a certificate authority to trust for the SMTP server, besides the public roots (a private relay)",
        default: None,
        secret: false,
    },
    Key {
        name: "request_timeout_secs",
        help: "maximum time to answer one request, in seconds (1-600)",
        default: Some("30"),
        secret: false,
    },
    Key {
        name: "body_limit_bytes",
        help: "largest accepted request body, in bytes (1024-104857600)",
        default: Some("1048576"),
        secret: false,
    },
    Key {
        name: "shutdown_grace_secs",
        help: "how long in-flight requests may finish after SIGTERM, in seconds",
        default: Some("30"),
        secret: false,
    },
    Key {
        name: "master_key",
        help: "32-byte key (base64 or 64 hex chars) encrypting TOTP secrets and signing keys at rest; unset = generated into data_dir/master.key",
        default: None,
        secret: true,
    },
    Key {
        name: "access_token_ttl_secs",
        help: "life of an access token (JWT), in seconds (60-3600)",
        default: Some("900"),
        secret: false,
    },
    Key {
        name: "session_absolute_hours",
        help: "longest life of a session, in hours (1-2160)",
        default: Some("168"),
        secret: false,
    },
    Key {
        name: "session_idle_hours",
        help: "a session unused this long ends, in hours (1-2160)",
        default: Some("72"),
        secret: false,
    },
    Key {
        name: "refresh_reuse_grace_secs",
        help: "a rotated refresh token presented again within this many seconds (two tabs refreshing at once) gets a sibling instead of revoking the session, 0-60",
        default: Some("10"),
        secret: false,
    },
    Key {
        name: "trusted_proxies",
        help: "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed; unset = use the socket address",
        default: None,
        secret: false,
    },
    Key {
        name: "rate_limit_api_per_min",
        help: "API requests per minute per client (IP /64 or account), 1-100000",
        default: Some("100"),
        secret: false,
    },
    Key {
        name: "rate_limit_auth_per_min",
        help: "login, MFA and password-reset attempts per minute per client, 1-10000",
        default: Some("10"),
        secret: false,
    },
    Key {
        name: "lockout_max_failures",
        help: "failed sign-ins per account (and 4x per IP) before a lock with back-off, 1-100",
        default: Some("5"),
        secret: false,
    },
    Key {
        name: "openai_api_key",
        help: "OpenAI API key (sk-...); unset = demo mode with the built-in fake",
        default: None,
        secret: true,
    },
    Key {
        name: "kiosk_offline_after_secs",
        help: "a paired kiosk without a heartbeat for this long shows as offline, in seconds (10-86400)",
        default: Some("120"),
        secret: false,
    },
    Key {
        name: "kiosk_token_cache_ms",
        help: "how long an instance trusts a device token it checked, in ms (0-60000, 0 = off); other instances see a revocation within this",
        default: Some("5000"),
        secret: false,
    },
    Key {
        name: "kiosk_lookup_per_min",
        help: "badge lookups per minute per kiosk (keyed by device token, not IP: a gym's kiosks share one address), 1-10000",
        default: Some("60"),
        secret: false,
    },
    Key {
        name: "kiosk_voice_starts_per_min",
        help: "voice call starts per minute per kiosk, counted in the database across instances, 1-10000",
        default: Some("30"),
        secret: false,
    },
    Key {
        name: "demo_page",
        help: "whether the public demo page /demo is served, where anyone may talk to JARVIS in the demo gym without a badge (true or false; `jarvis serve --demo` sets it)",
        default: Some("false"),
        secret: false,
    },
    Key {
        name: "demo_sessions_per_hour",
        help: "demo calls a client address may start per hour on /demo, counted in the database across instances, 1-1000",
        default: Some("3"),
        secret: false,
    },
    Key {
        name: "demo_max_secs",
        help: "longest demo call on /demo, in seconds (10-1800; the demo gym's own maximum applies when shorter)",
        default: Some("120"),
        secret: false,
    },
    Key {
        name: "demo_budget_usd",
        help: "metered AI cost of /demo calls per month, whole installation, in US dollars; new demo calls are refused once it is spent (0 = none allowed)",
        default: Some("5"),
        secret: false,
    },
    Key {
        name: "jobs_workers",
        help: "whether this instance runs background jobs and their schedules (true or false)",
        default: Some("true"),
        secret: false,
    },
    Key {
        name: "jobs_poll_ms",
        help: "how often an idle instance looks for due jobs, in milliseconds (50-60000)",
        default: Some("1000"),
        secret: false,
    },
    Key {
        name: "analysis_model",
        help: "chat model of post-call analyses, simulation personas and the simulation judge",
        default: Some("gpt-4o-mini"),
        secret: false,
    },
    Key {
        name: "analysis_max_attempts",
        help: "chat calls per analysis before a refusal or invalid output is recorded as failed (1-10)",
        default: Some("3"),
        secret: false,
    },
    Key {
        name: "jobs_diagnostics",
        help: "registers the diagnostic job kind diag.sleep (tests only; true or false)",
        default: Some("false"),
        secret: false,
    },
    Key {
        name: "jobs_diag_lease_secs",
        help: "lease of the diagnostic job kind, in seconds (1-3600)",
        default: Some("60"),
        secret: false,
    },
    Key {
        name: "tools_allow_hosts",
        help: "comma-separated host names and IPs/CIDRs custom HTTP tools may reach although private, loopback or over plain http (the SSRF guard's allow-list); unset = public https only",
        default: None,
        secret: false,
    },
    Key {
        name: "metrics_listen",
        help: "a second listener serving only Prometheus GET /metrics, without a token, host:port such as 127.0.0.1:9464 (keep it on loopback or a private network); unset = none",
        default: None,
        secret: false,
    },
    Key {
        name: "metrics_token",
        help: "bearer token that opens GET /metrics on the main listener (at least 16 characters); unset = /metrics is not served there",
        default: None,
        secret: true,
    },
    Key {
        name: "request_log",
        help: "whether answered requests are recorded in the request log (method, route template, status, latency, gym; nothing personal), true or false",
        default: Some("true"),
        secret: false,
    },
    Key {
        name: "sentry_dsn",
        help: "Sentry DSN (https://key@host/project): panics and error-level events are also sent there; unset = Sentry is not initialised",
        default: None,
        secret: true,
    },
    Key {
        name: "error_alert_window_mins",
        help: "a critical error (panic, dead-lettered job, database unavailable) e-mails the super admins at most once per fingerprint per this many minutes, 1-10080",
        default: Some("60"),
        secret: false,
    },
    Key {
        name: "retention_logs_days",
        help: "days the request log and auth events are kept before the retention job deletes them, 1-3650",
        default: Some("7"),
        secret: false,
    },
    Key {
        name: "retention_audit_days",
        help: "days the audit log is kept before the retention job deletes it, 1-3650",
        default: Some("365"),
        secret: false,
    },
    Key {
        name: "key_max_age_days",
        help: "age after which the token-signing key is reported (log warning at start and daily) as due for `jarvis keys rotate`, 30-3650 days",
        default: Some("182"),
        secret: false,
    },
    Key {
        name: "storage_url",
        help: "where objects (backups, exports, reports, uploads) are kept: a directory (path or file:///path) or s3://bucket[/prefix] for S3-compatible storage (default: data_dir/objects)",
        default: None,
        secret: false,
    },
    Key {
        name: "storage_s3_endpoint",
        help: "endpoint of an S3-compatible service for an s3:// storage_url, e.g. https://s3.fr-par.scw.cloud (unset = AWS)",
        default: None,
        secret: false,
    },
    Key {
        name: "storage_s3_region",
        help: "region of the s3:// storage_url",
        default: Some("us-east-1"),
        secret: false,
    },
    Key {
        name: "storage_s3_access_key_id",
        help: "access key id for the s3:// storage_url (unset = the AWS environment or instance credentials)",
        default: None,
        secret: true,
    },
    Key {
        name: "storage_s3_secret_access_key",
        help: "secret access key for the s3:// storage_url",
        default: None,
        secret: true,
    },
    Key {
        name: "upload_max_bytes",
        help: "largest file accepted into the object store as an upload, in bytes (1-1073741824)",
        default: Some("10485760"),
        secret: false,
    },
    Key {
        name: "upload_allowed_types",
        help: "comma-separated content types accepted as uploads; the content must match the declared type",
        default: Some("text/csv,text/plain,application/json,application/pdf,image/png,image/jpeg"),
        secret: false,
    },
    Key {
        name: "backup_daily",
        help: "whether the daily backup job runs (true or false); backups go to the object store under backups/",
        default: Some("true"),
        secret: false,
    },
    Key {
        name: "backup_keep_daily",
        help: "daily backups kept by retention: the newest of each of the last N days with a backup (0-366)",
        default: Some("7"),
        secret: false,
    },
    Key {
        name: "backup_keep_weekly",
        help: "weekly backups kept besides the daily ones: the newest of each of the M weeks before them (0-520)",
        default: Some("4"),
        secret: false,
    },
    Key {
        name: "usage_franchise_rows",
        help: "rows a franchise may store in its main tables (members, visits, sessions, turns, knowledge…); 0 = unlimited",
        default: Some("2000000"),
        secret: false,
    },
    Key {
        name: "usage_franchise_api_requests",
        help: "API and dashboard requests per month per franchise (requests naming one of its gyms); 0 = unlimited",
        default: Some("5000000"),
        secret: false,
    },
    Key {
        name: "usage_franchise_storage_mb",
        help: "object-store megabytes per franchise (keys under franchises/<id>/); 0 = unlimited",
        default: Some("10240"),
        secret: false,
    },
    Key {
        name: "usage_franchise_voice_minutes",
        help: "voice minutes per month per franchise (ended calls); 0 = unlimited",
        default: Some("50000"),
        secret: false,
    },
    Key {
        name: "usage_franchise_ai_usd",
        help: "metered AI cost per month per franchise, in US dollars; 0 = unlimited",
        default: Some("5000"),
        secret: false,
    },
    Key {
        name: "usage_platform_rows",
        help: "rows in the tenants' main tables, all franchises together; 0 = unlimited",
        default: Some("0"),
        secret: false,
    },
    Key {
        name: "usage_platform_db_mb",
        help: "database size in megabytes (SQLite file, PostgreSQL pg_database_size); 0 = unlimited",
        default: Some("51200"),
        secret: false,
    },
    Key {
        name: "usage_platform_api_requests",
        help: "requests per month, whole installation; 0 = unlimited",
        default: Some("0"),
        secret: false,
    },
    Key {
        name: "usage_platform_storage_mb",
        help: "object-store megabytes, whole installation (backups included); 0 = unlimited",
        default: Some("102400"),
        secret: false,
    },
    Key {
        name: "usage_platform_voice_minutes",
        help: "voice minutes per month, whole installation; 0 = unlimited",
        default: Some("0"),
        secret: false,
    },
    Key {
        name: "usage_platform_ai_usd",
        help: "metered AI cost per month, whole installation, in US dollars; 0 = unlimited",
        default: Some("0"),
        secret: false,
    },
    Key {
        name: "openai_admin_key",
        help: "OpenAI admin key (sk-admin-…) for the daily cost reconciliation with the organization costs API; unset = no reconciliation",
        default: None,
        secret: true,
    },
    Key {
        name: "cost_reconcile_margin_percent",
        help: "alert when a day's billed and metered AI costs differ by more than this percentage of the bill, 1-1000",
        default: Some("10"),
        secret: false,
    },
    Key {
        name: "cost_reconcile_days",
        help: "days before today the cost reconciliation reads and compares, 1-90",
        default: Some("7"),
        secret: false,
    },
    Key {
        name: "openai_base_url",
        help: "OpenAI API base URL",
        default: Some("https://api.openai.com/v1"),
        secret: false,
    },
    Key {
        name: "knowledge_embedding_model",
        help: "embeddings model of the gym knowledge bases; changing it re-embeds every chunk",
        default: Some("text-embedding-3-small"),
        secret: false,
    },
];

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built-in default.
    Default,
    /// The TOML file.
    File(PathBuf),
    /// An environment variable.
    Env(String),
    /// A file named by an environment variable or TOML `_file` key.
    SecretFile(PathBuf),
    /// A command-line flag.
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(p) => write!(f, "file {}", p.display()),
            Origin::Env(v) => write!(f, "env {v}"),
            Origin::SecretFile(p) => write!(f, "secret file {}", p.display()),
            Origin::Flag(x) => write!(f, "flag {x}"),
        }
    }
}

/// A configuration problem, naming the key.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// A value does not parse.
    #[error("invalid configuration: `{key}` = {value:?} (from {origin}): expected {expected}")]
    Invalid {
        /// Key name.
        key: String,
        /// The offending value (redacted for secrets).
        value: String,
        /// Where it came from.
        origin: Origin,
        /// The expected form.
        expected: String,
    },
    /// An unknown key in the TOML file.
    #[error("invalid configuration: unknown key `{key}` in {path}; known keys: {known}")]
    UnknownKey {
        /// Key name.
        key: String,
        /// File.
        path: String,
        /// Known keys.
        known: String,
    },
    /// The file could not be read or parsed.
    #[error("invalid configuration file {path}: {message}")]
    File {
        /// File.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Both a value and a `_FILE` variant were given.
    #[error(
        "invalid configuration: `{key}` is set both directly and through {file_var}; set only one"
    )]
    Ambiguous {
        /// Key name.
        key: String,
        /// The `_FILE` variable.
        file_var: String,
    },
}

/// A secret string that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(v: impl Into<String>) -> Self {
        Self(v.into())
    }
    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Log output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Coloured, human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// How queued e-mails leave the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailTransport {
    /// Log each e-mail's metadata (kind, subject, a keyed tag of the recipient) and mark it
    /// sent; the body is not delivered.
    Log,
    /// Leave e-mails queued, sealed (tests, or while delivery is switched off).
    None,
    /// Deliver through the SMTP server of [`Config::smtp`].
    Smtp,
}

/// Where and as whom e-mails are delivered (`email_transport = smtp`).
/// Where the object store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageLocation {
    /// A local directory.
    Dir(PathBuf),
    /// An S3-compatible bucket.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix inside the bucket (may be empty).
        prefix: String,
        /// Endpoint URL (none = AWS).
        endpoint: Option<String>,
        /// Region.
        region: String,
        /// Access key id (none = the AWS environment or instance credentials).
        access_key_id: Option<Secret>,
        /// Secret access key.
        secret_access_key: Option<Secret>,
    },
}

/// Object storage settings.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// Where objects go.
    pub location: StorageLocation,
    /// Largest accepted upload, in bytes.
    pub upload_max_bytes: u64,
    /// Accepted upload content types (lower case, no parameters).
    pub upload_allowed_types: Vec<String>,
}

/// Daily backups and their retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupConfig {
    /// Whether the daily job runs.
    pub daily: bool,
    /// Daily backups kept.
    pub keep_daily: u32,
    /// Weekly backups kept besides the daily ones.
    pub keep_weekly: u32,
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    /// `smtps://…`, `smtp://…?tls=required` or `smtp://…` (credentials in the URL).
    pub url: Secret,
    /// The `From` mailbox, checked when the configuration is read.
    pub from: String,
    /// Extra certificate authority (PEM) to trust.
    pub ca_file: Option<PathBuf>,
}

/// The public demo page: whether it is served and how much a visitor may use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoConfig {
    /// Whether `/demo` is served (off by default; `jarvis serve --demo` turns it on).
    pub page: bool,
    /// Demo calls a client address may start per hour.
    pub sessions_per_hour: u32,
    /// Longest demo call, in seconds.
    pub max_secs: u32,
    /// The month's demo budget, in micro-USD, across every instance.
    pub budget_micros: u64,
}

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Database URL.
    pub database_url: Secret,
    /// Pool size.
    pub database_max_connections: u32,
    /// Longest wait for a pooled connection.
    pub database_acquire_timeout: Duration,
    /// Log style.
    pub log_format: LogFormat,
    /// Tracing filter.
    pub log_level: String,
    /// External URL.
    pub public_url: Option<String>,
    /// How the outbox is delivered.
    pub email_transport: EmailTransport,
    /// The SMTP server, when `email_transport` is `smtp`.
    pub smtp: Option<SmtpConfig>,
    /// Per-request time limit.
    pub request_timeout: Duration,
    /// Largest request body.
    pub body_limit_bytes: usize,
    /// Graceful shutdown time.
    pub shutdown_grace: Duration,
    /// Master key for secrets at rest; `None` = generated into the data directory.
    pub master_key: Option<Secret>,
    /// Access token life.
    pub access_token_ttl: Duration,
    /// Session absolute life.
    pub session_absolute: Duration,
    /// Session idle timeout.
    pub session_idle: Duration,
    /// Window in which a rotated refresh token may be presented again (concurrent tabs).
    pub refresh_reuse_grace: Duration,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<crate::auth::net::Cidr>,
    /// API requests per minute per client.
    pub rate_limit_api_per_min: u32,
    /// Auth attempts per minute per client.
    pub rate_limit_auth_per_min: u32,
    /// Failed sign-ins before a lock.
    pub lockout_max_failures: u32,
    /// OpenAI key; `None` means demo mode.
    pub openai_api_key: Option<Secret>,
    /// OpenAI base URL.
    pub openai_base_url: String,
    /// Embeddings model of the knowledge bases (a change re-embeds every chunk).
    pub knowledge_embedding_model: String,
    /// Heartbeat silence after which a kiosk shows as offline.
    pub kiosk_offline_after: Duration,
    /// How long a checked device token is trusted without reading it again (zero: off).
    pub kiosk_token_cache: Duration,
    /// Badge lookups per minute per kiosk.
    pub kiosk_lookup_per_min: u32,
    /// Voice call starts per minute per kiosk (shared by every instance).
    pub kiosk_voice_starts_per_min: u32,
    /// The public demo page (`/demo`) and its limits.
    pub demo: DemoConfig,
    /// Whether this instance runs background jobs and their schedules.
    pub jobs_workers: bool,
    /// How often an idle instance looks for due jobs.
    pub jobs_poll: Duration,
    /// Whether the diagnostic job kind `diag.sleep` is registered.
    pub jobs_diagnostics: bool,
    /// Chat model of post-call analyses and simulations (persona, judge).
    pub analysis_model: String,
    /// Chat calls per analysis before it is recorded as failed.
    pub analysis_max_attempts: u32,
    /// Lease of the diagnostic job kind.
    pub jobs_diag_lease: Duration,
    /// What custom HTTP tools may reach besides public https addresses.
    pub tools_allow: crate::http_tools::AllowList,
    /// A second listener for `/metrics` only (no token).
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token opening `/metrics` on the main listener.
    pub metrics_token: Option<Secret>,
    /// Signing-key age after which a rotation is asked for.
    pub key_max_age: time::Duration,
    /// Whether answered requests are written to the request log.
    pub request_log: bool,
    /// One critical-error e-mail per fingerprint per this window.
    pub error_alert_window: time::Duration,
    /// Where panics and error-level events are also reported (Sentry), if anywhere.
    pub sentry_dsn: Option<Secret>,
    /// How long logs and the audit log are kept.
    pub retention: crate::retention::RetentionPolicy,
    /// Object storage (backups, exports, reports, uploads).
    pub storage: StorageConfig,
    /// Daily backups and their retention.
    pub backup: BackupConfig,
    /// Plan limits of each franchise and of the platform.
    pub usage_limits: crate::usage::UsageLimits,
    /// OpenAI admin key for the cost reconciliation; `None` = no reconciliation.
    pub openai_admin_key: Option<Secret>,
    /// The cost reconciliation's window and margin.
    pub cost_reconcile: crate::costs::ReconcilePolicy,
    /// Where each key's value came from.
    pub origins: BTreeMap<&'static str, Origin>,
}

/// The raw inputs of a load: explicit file, environment, and flags.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// `--config FILE`; when `None`, `./jarvis.toml` is read if present.
    pub file: Option<PathBuf>,
    /// Environment variables (normally `std::env::vars()`).
    pub env: BTreeMap<String, String>,
    /// Flag values by key, e.g. `("listen", "0.0.0.0:80")`.
    pub flags: BTreeMap<&'static str, String>,
}

impl Sources {
    /// File, the process environment and the given flags.
    pub fn from_process(file: Option<PathBuf>, flags: BTreeMap<&'static str, String>) -> Self {
        Self {
            file,
            env: std::env::vars().collect(),
            flags,
        }
    }
}

fn lookup(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

fn env_name(key: &str) -> String {
    format!("JARVIS_{}", key.to_uppercase())
}

fn read_secret_file(path: &Path, key: &str, origin: &Origin) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
        .map_err(|e| ConfigError::Invalid {
            key: key.into(),
            value: path.display().to_string(),
            origin: origin.clone(),
            expected: format!("a readable file ({e})"),
        })
}

fn toml_scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(a) => a
            .iter()
            .map(toml_scalar)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        _ => None,
    }
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (k, v) in table {
        let name = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}_{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&name, t, out),
            other => out.push((name, other.clone())),
        }
    }
}

type Raw = BTreeMap<&'static str, (String, Origin)>;

fn layer_file(raw: &mut Raw, path: &Path) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    let mut flat = Vec::new();
    flatten("", &table, &mut flat);
    for (name, value) in flat {
        let origin = Origin::File(path.to_path_buf());
        let (k, from_file) = match lookup(&name) {
            Some(k) => (k, false),
            None => match name
                .strip_suffix("_file")
                .and_then(lookup)
                .filter(|k| k.secret)
            {
                Some(k) => (k, true),
                None => {
                    return Err(ConfigError::UnknownKey {
                        key: name,
                        path: path.display().to_string(),
                        known: KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", "),
                    });
                }
            },
        };
        let text = toml_scalar(&value).ok_or_else(|| ConfigError::Invalid {
            key: k.name.into(),
            value: value.to_string(),
            origin: origin.clone(),
            expected: "a string, number, boolean or list".into(),
        })?;
        if from_file {
            let p = PathBuf::from(&text);
            let secret = read_secret_file(&p, k.name, &origin)?;
            raw.insert(k.name, (secret, Origin::SecretFile(p)));
        } else {
            raw.insert(k.name, (text, origin));
        }
    }
    Ok(())
}

fn layer_env(raw: &mut Raw, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for k in KEYS {
        let var = env_name(k.name);
        let file_var = format!("{var}_FILE");
        let direct = env.get(&var).filter(|v| !v.is_empty());
        let file = if k.secret {
            env.get(&file_var).filter(|v| !v.is_empty())
        } else {
            None
        };
        match (direct, file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Ambiguous {
                    key: k.name.into(),
                    file_var,
                });
            }
            (Some(v), None) => {
                raw.insert(k.name, (v.clone(), Origin::Env(var)));
            }
            (None, Some(p)) => {
                let p = PathBuf::from(p);
                let v = read_secret_file(&p, k.name, &Origin::Env(file_var))?;
                raw.insert(k.name, (v, Origin::SecretFile(p)));
            }
            (None, None) => {}
        }
    }
    Ok(())
}

struct Parser<'a> {
    raw: &'a Raw,
}

impl Parser<'_> {
    fn get(&self, key: &'static str) -> Option<&(String, Origin)> {
        self.raw.get(key)
    }

    fn invalid(&self, key: &'static str, expected: &str) -> ConfigError {
        let (value, origin) = self
            .get(key)
            .cloned()
            .unwrap_or_else(|| (String::new(), Origin::Default));
        let secret = lookup(key).is_some_and(|k| k.secret);
        ConfigError::Invalid {
            key: key.into(),
            value: if secret { "***".into() } else { value },
            origin,
            expected: expected.into(),
        }
    }

    fn text(&self, key: &'static str) -> Option<String> {
        self.get(key)
            .map(|(v, _)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn parse<T: std::str::FromStr>(
        &self,
        key: &'static str,
        expected: &str,
    ) -> Result<T, ConfigError> {
        self.text(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| self.invalid(key, expected))
    }

    fn ranged(
        &self,
        key: &'static str,
        min: u64,
        max: u64,
        expected: &str,
    ) -> Result<u64, ConfigError> {
        let v: u64 = self.parse(key, expected)?;
        if (min..=max).contains(&v) {
            Ok(v)
        } else {
            Err(self.invalid(key, expected))
        }
    }
}

impl Config {
    /// Loads and validates the configuration from all sources.
    pub fn load(sources: &Sources) -> Result<Config, ConfigError> {
        let mut raw: Raw = KEYS
            .iter()
            .filter_map(|k| {
                k.default
                    .map(|d| (k.name, (d.to_string(), Origin::Default)))
            })
            .collect();
        let default_file = PathBuf::from("jarvis.toml");
        match &sources.file {
            Some(f) => layer_file(&mut raw, f)?,
            None if default_file.is_file() => layer_file(&mut raw, &default_file)?,
            None => {}
        }
        layer_env(&mut raw, &sources.env)?;
        for (k, v) in &sources.flags {
            let flag = format!("--{}", k.replace('_', "-"));
            raw.insert(k, (v.clone(), Origin::Flag(flag)));
        }
        let p = Parser { raw: &raw };

        let data_dir = PathBuf::from(
            p.text("data_dir")
                .ok_or_else(|| p.invalid("data_dir", "a directory path"))?,
        );
        let database_url = match p.text("database_url") {
            Some(u) => {
                if jarvis_store::Backend::from_url(&u).is_err() {
                    return Err(p.invalid(
                        "database_url",
                        "a URL starting with sqlite:// or postgres://",
                    ));
                }
                u
            }
            None => format!("sqlite://{}", data_dir.join("jarvis.db").display()),
        };
        let log_format = match p.text("log_format").as_deref() {
            Some("human") => LogFormat::Human,
            Some("json") => LogFormat::Json,
            _ => return Err(p.invalid("log_format", "`human` or `json`")),
        };
        let public_url = match p.text("public_url") {
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                Some(u.trim_end_matches('/').to_string())
            }
            Some(_) => return Err(p.invalid("public_url", "an absolute http:// or https:// URL")),
            None => None,
        };
        let email_transport = match p.text("email_transport").as_deref() {
            Some("log") => EmailTransport::Log,
            Some("none") => EmailTransport::None,
            Some("smtp") => EmailTransport::Smtp,
            _ => return Err(p.invalid("email_transport", "`smtp`, `log` or `none`")),
        };
        let smtp = match email_transport {
            EmailTransport::Smtp => {
                let url = p
                    .text("smtp_url")
                    .filter(|u| u.starts_with("smtp://") || u.starts_with("smtps://"))
                    .ok_or_else(|| {
                        p.invalid(
                            "smtp_url",
                            "an smtp:// or smtps:// URL (required by email_transport=smtp)",
                        )
                    })?;
                let from = p
                    .text("email_from")
                    .filter(|f| crate::mailer::valid_mailbox(f))
                    .ok_or_else(|| {
                        p.invalid(
                            "email_from",
                            "a sender such as `JARVIS <jarvis@gym.example>` (required by email_transport=smtp)",
                        )
                    })?;
                let ca_file = match p.text("smtp_ca_file") {
                    Some(f) if Path::new(&f).is_file() => Some(PathBuf::from(f)),
                    Some(_) => return Err(p.invalid("smtp_ca_file", "a readable PEM file")),
                    None => None,
                };
                Some(SmtpConfig {
                    url: Secret::new(url),
                    from,
                    ca_file,
                })
            }
            EmailTransport::Log | EmailTransport::None => None,
        };
        let master_key = match p.text("master_key") {
            Some(k) if crate::auth::crypto::MasterKey::parse(&k).is_ok() => Some(Secret::new(k)),
            Some(_) => {
                return Err(p.invalid(
                    "master_key",
                    "32 bytes as 64 hex characters or base64 (try `openssl rand -base64 32`)",
                ));
            }
            None => None,
        };
        let openai_base_url = p.text("openai_base_url").unwrap_or_default();
        if !(openai_base_url.starts_with("http://") || openai_base_url.starts_with("https://")) {
            return Err(p.invalid("openai_base_url", "an absolute http:// or https:// URL"));
        }
        let storage = StorageConfig {
            location: storage_location(&p, &data_dir)?,
            upload_max_bytes: p.ranged(
                "upload_max_bytes",
                1,
                1 << 30,
                "bytes from 1 to 1073741824",
            )?,
            upload_allowed_types: p
                .text("upload_allowed_types")
                .unwrap_or_default()
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
                .collect(),
        };
        if storage.upload_allowed_types.iter().any(|t| {
            t.split_once('/')
                .is_none_or(|(a, b)| a.is_empty() || b.is_empty())
        }) {
            return Err(p.invalid(
                "upload_allowed_types",
                "comma-separated content types such as text/csv,image/png",
            ));
        }
        let backup = BackupConfig {
            daily: p.parse("backup_daily", "true or false")?,
            keep_daily: p.ranged("backup_keep_daily", 0, 366, "an integer from 0 to 366")? as u32,
            keep_weekly: p.ranged("backup_keep_weekly", 0, 520, "an integer from 0 to 520")? as u32,
        };
        let limit = |key: &'static str, unit: u64| -> Result<u64, ConfigError> {
            const MAX: u64 = 1_000_000_000_000;
            Ok(p.ranged(key, 0, MAX, "0 (unlimited) or a whole number up to 10^12")? * unit)
        };
        const MB: u64 = 1024 * 1024;
        let usage_limits = crate::usage::UsageLimits {
            franchise: crate::usage::PlanLimits {
                rows: limit("usage_franchise_rows", 1)?,
                db_bytes: 0,
                api_requests: limit("usage_franchise_api_requests", 1)?,
                storage_bytes: limit("usage_franchise_storage_mb", MB)?,
                voice_minutes: limit("usage_franchise_voice_minutes", 1)?,
                ai_cost_micros: limit("usage_franchise_ai_usd", 1_000_000)?,
            },
            platform: crate::usage::PlanLimits {
                rows: limit("usage_platform_rows", 1)?,
                db_bytes: limit("usage_platform_db_mb", MB)?,
                api_requests: limit("usage_platform_api_requests", 1)?,
                storage_bytes: limit("usage_platform_storage_mb", MB)?,
                voice_minutes: limit("usage_platform_voice_minutes", 1)?,
                ai_cost_micros: limit("usage_platform_ai_usd", 1_000_000)?,
            },
        };
        let knowledge_embedding_model = p.text("knowledge_embedding_model").unwrap_or_default();
        if knowledge_embedding_model.is_empty()
            || knowledge_embedding_model.len() > 100
            || !knowledge_embedding_model
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._:".contains(c))
        {
            return Err(p.invalid(
                "knowledge_embedding_model",
                "an embeddings model id such as text-embedding-3-small",
            ));
        }
        let log_level = p.text("log_level").unwrap_or_else(|| "info".into());
        if tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(p.invalid(
                "log_level",
                "a tracing filter such as `info` or `jarvis_server=debug,info`",
            ));
        }
        Ok(Config {
            listen: p.parse("listen", "host:port such as 127.0.0.1:3001 or [::]:3001")?,
            data_dir,
            database_url: Secret::new(database_url),
            database_max_connections: p.ranged(
                "database_max_connections",
                1,
                500,
                "an integer from 1 to 500",
            )? as u32,
            database_acquire_timeout: Duration::from_secs(p.ranged(
                "database_acquire_timeout_secs",
                1,
                300,
                "seconds from 1 to 300",
            )?),
            log_format,
            log_level,
            public_url,
            email_transport,
            smtp,
            request_timeout: Duration::from_secs(p.ranged(
                "request_timeout_secs",
                1,
                600,
                "seconds from 1 to 600",
            )?),
            body_limit_bytes: p.ranged(
                "body_limit_bytes",
                1024,
                100 * 1024 * 1024,
                "bytes from 1024 to 104857600",
            )? as usize,
            shutdown_grace: Duration::from_secs(p.ranged(
                "shutdown_grace_secs",
                0,
                3600,
                "seconds from 0 to 3600",
            )?),
            master_key,
            access_token_ttl: Duration::from_secs(p.ranged(
                "access_token_ttl_secs",
                60,
                3600,
                "seconds from 60 to 3600",
            )?),
            session_absolute: Duration::from_secs(
                3600 * p.ranged("session_absolute_hours", 1, 2160, "hours from 1 to 2160")?,
            ),
            session_idle: Duration::from_secs(
                3600 * p.ranged("session_idle_hours", 1, 2160, "hours from 1 to 2160")?,
            ),
            refresh_reuse_grace: Duration::from_secs(p.ranged(
                "refresh_reuse_grace_secs",
                0,
                60,
                "seconds from 0 to 60",
            )?),
            trusted_proxies: match p.text("trusted_proxies") {
                None => Vec::new(),
                Some(list) => list
                    .split(',')
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse::<crate::auth::net::Cidr>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| {
                        p.invalid(
                            "trusted_proxies",
                            "comma-separated IP addresses or CIDRs like 10.0.0.0/8, ::1",
                        )
                    })?,
            },
            rate_limit_api_per_min: p.ranged(
                "rate_limit_api_per_min",
                1,
                100_000,
                "an integer from 1 to 100000",
            )? as u32,
            rate_limit_auth_per_min: p.ranged(
                "rate_limit_auth_per_min",
                1,
                10_000,
                "an integer from 1 to 10000",
            )? as u32,
            lockout_max_failures: p.ranged(
                "lockout_max_failures",
                1,
                100,
                "an integer from 1 to 100",
            )? as u32,
            openai_api_key: p.text("openai_api_key").map(Secret::new),
            openai_base_url,
            knowledge_embedding_model,
            kiosk_offline_after: Duration::from_secs(p.ranged(
                "kiosk_offline_after_secs",
                10,
                86_400,
                "seconds from 10 to 86400",
            )?),
            kiosk_token_cache: Duration::from_millis(p.ranged(
                "kiosk_token_cache_ms",
                0,
                60_000,
                "milliseconds from 0 to 60000",
            )?),
            kiosk_lookup_per_min: p.ranged(
                "kiosk_lookup_per_min",
                1,
                10_000,
                "an integer from 1 to 10000",
            )? as u32,
            kiosk_voice_starts_per_min: p.ranged(
                "kiosk_voice_starts_per_min",
                1,
                10_000,
                "an integer from 1 to 10000",
            )? as u32,
            demo: DemoConfig {
                page: p.parse("demo_page", "true or false")?,
                sessions_per_hour: p.ranged(
                    "demo_sessions_per_hour",
                    1,
                    1000,
                    "an integer from 1 to 1000",
                )? as u32,
                max_secs: p.ranged("demo_max_secs", 10, 1800, "seconds from 10 to 1800")? as u32,
                budget_micros: p.ranged(
                    "demo_budget_usd",
                    0,
                    1_000_000,
                    "whole US dollars from 0 to 1000000",
                )? * 1_000_000,
            },
            jobs_workers: p.parse("jobs_workers", "true or false")?,
            jobs_poll: Duration::from_millis(p.ranged(
                "jobs_poll_ms",
                50,
                60_000,
                "milliseconds from 50 to 60000",
            )?),
            jobs_diagnostics: p.parse("jobs_diagnostics", "true or false")?,
            analysis_model: p
                .text("analysis_model")
                .filter(|m| m.len() <= 100)
                .ok_or_else(|| {
                    p.invalid("analysis_model", "a model id of at most 100 characters")
                })?,
            analysis_max_attempts: p.ranged(
                "analysis_max_attempts",
                1,
                10,
                "an integer from 1 to 10",
            )? as u32,
            jobs_diag_lease: Duration::from_secs(p.ranged(
                "jobs_diag_lease_secs",
                1,
                3600,
                "seconds from 1 to 3600",
            )?),
            tools_allow: match p.text("tools_allow_hosts") {
                None => crate::http_tools::AllowList::default(),
                Some(list) => crate::http_tools::AllowList::parse(&list).map_err(|_| {
                    p.invalid(
                        "tools_allow_hosts",
                        "comma-separated host names, IP addresses or CIDRs like hooks.gym.internal, 10.1.0.0/16, ::1",
                    )
                })?,
            },
            metrics_listen: match p.text("metrics_listen") {
                None => None,
                Some(_) => Some(p.parse("metrics_listen", "host:port such as 127.0.0.1:9464")?),
            },
            metrics_token: match p.text("metrics_token") {
                Some(t) if t.chars().count() < 16 => {
                    return Err(p.invalid("metrics_token", "at least 16 characters"));
                }
                t => t.map(Secret::new),
            },
            request_log: p.parse("request_log", "true or false")?,
            sentry_dsn: match p.text("sentry_dsn") {
                Some(d)
                    if !(d.starts_with("https://") || d.starts_with("http://"))
                        || !d.contains('@') =>
                {
                    return Err(p.invalid("sentry_dsn", "a DSN such as https://key@o1.ingest.sentry.io/42"));
                }
                d => d.map(Secret::new),
            },
            error_alert_window: time::Duration::minutes(i64::from(
                u16::try_from(p.ranged(
                    "error_alert_window_mins",
                    1,
                    10_080,
                    "minutes from 1 to 10080",
                )?)
                .unwrap_or(u16::MAX),
            )),
            key_max_age: time::Duration::days(i64::from(
                u16::try_from(p.ranged("key_max_age_days", 30, 3650, "days from 30 to 3650")?)
                    .unwrap_or(u16::MAX),
            )),
            retention: crate::retention::RetentionPolicy {
                logs: time::Duration::days(i64::from(
                    u16::try_from(p.ranged(
                        "retention_logs_days",
                        1,
                        3650,
                        "days from 1 to 3650",
                    )?)
                    .unwrap_or(u16::MAX),
                )),
                audit: time::Duration::days(i64::from(
                    u16::try_from(p.ranged(
                        "retention_audit_days",
                        1,
                        3650,
                        "days from 1 to 3650",
                    )?)
                    .unwrap_or(u16::MAX),
                )),
            },
            storage,
            backup,
            usage_limits,
            openai_admin_key: p.text("openai_admin_key").map(Secret::new),
            cost_reconcile: crate::costs::ReconcilePolicy {
                days: p.ranged("cost_reconcile_days", 1, 90, "days from 1 to 90")? as u32,
                margin_percent: p.ranged(
                    "cost_reconcile_margin_percent",
                    1,
                    1000,
                    "a percentage from 1 to 1000",
                )? as u32,
            },
            origins: raw.iter().map(|(k, (_, o))| (*k, o.clone())).collect(),
        })
    }

    /// Whether the server runs without a real OpenAI key (offline demo with the fake).
    pub fn demo_mode(&self) -> bool {
        self.openai_api_key.is_none()
    }

    /// Lines of `key = value  # origin`, secrets redacted, for `jarvis config show`.
    pub fn show(&self) -> String {
        let value = |name: &str| -> String {
            match name {
                "listen" => self.listen.to_string(),
                "data_dir" => self.data_dir.display().to_string(),
                "database_url" => jarvis_store::redact_url(self.database_url.expose()),
                "database_max_connections" => self.database_max_connections.to_string(),
                "database_acquire_timeout_secs" => {
                    self.database_acquire_timeout.as_secs().to_string()
                }
                "log_format" => match self.log_format {
                    LogFormat::Human => "human".into(),
                    LogFormat::Json => "json".into(),
                },
                "log_level" => self.log_level.clone(),
                "public_url" => self
                    .public_url
                    .clone()
                    .unwrap_or_else(|| "(not set)".into()),
                "email_transport" => match self.email_transport {
                    EmailTransport::Log => "log".into(),
                    EmailTransport::None => "none".into(),
                    EmailTransport::Smtp => "smtp".into(),
                },
                "smtp_url" => match &self.smtp {
                    Some(s) => jarvis_store::redact_url(s.url.expose()),
                    None => "(not set)".into(),
                },
                "email_from" => self
                    .smtp
                    .as_ref()
                    .map_or_else(|| "(not set)".into(), |s| s.from.clone()),
                "smtp_ca_file" => self
                    .smtp
                    .as_ref()
                    .and_then(|s| s.ca_file.as_ref())
                    .map_or_else(|| "(not set)".into(), |f| f.display().to_string()),
                "request_timeout_secs" => self.request_timeout.as_secs().to_string(),
                "body_limit_bytes" => self.body_limit_bytes.to_string(),
                "shutdown_grace_secs" => self.shutdown_grace.as_secs().to_string(),
                "master_key" => redact(self.master_key.as_ref()),
                "access_token_ttl_secs" => self.access_token_ttl.as_secs().to_string(),
                "session_absolute_hours" => (self.session_absolute.as_secs() / 3600).to_string(),
                "session_idle_hours" => (self.session_idle.as_secs() / 3600).to_string(),
                "refresh_reuse_grace_secs" => self.refresh_reuse_grace.as_secs().to_string(),
                "trusted_proxies" => {
                    if self.trusted_proxies.is_empty() {
                        "(none: the socket address is the client)".into()
                    } else {
                        self.trusted_proxies
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(",")
                    }
                }
                "rate_limit_api_per_min" => self.rate_limit_api_per_min.to_string(),
                "rate_limit_auth_per_min" => self.rate_limit_auth_per_min.to_string(),
                "lockout_max_failures" => self.lockout_max_failures.to_string(),
                "openai_api_key" => redact(self.openai_api_key.as_ref()),
                "openai_base_url" => self.openai_base_url.clone(),
                "knowledge_embedding_model" => self.knowledge_embedding_model.clone(),
                "kiosk_offline_after_secs" => self.kiosk_offline_after.as_secs().to_string(),
                "kiosk_token_cache_ms" => self.kiosk_token_cache.as_millis().to_string(),
                "kiosk_lookup_per_min" => self.kiosk_lookup_per_min.to_string(),
                "kiosk_voice_starts_per_min" => self.kiosk_voice_starts_per_min.to_string(),
                "demo_page" => self.demo.page.to_string(),
                "demo_sessions_per_hour" => self.demo.sessions_per_hour.to_string(),
                "demo_max_secs" => self.demo.max_secs.to_string(),
                "demo_budget_usd" => (self.demo.budget_micros / 1_000_000).to_string(),
                "jobs_workers" => self.jobs_workers.to_string(),
                "jobs_poll_ms" => self.jobs_poll.as_millis().to_string(),
                "jobs_diagnostics" => self.jobs_diagnostics.to_string(),
                "analysis_model" => self.analysis_model.clone(),
                "analysis_max_attempts" => self.analysis_max_attempts.to_string(),
                "jobs_diag_lease_secs" => self.jobs_diag_lease.as_secs().to_string(),
                "tools_allow_hosts" => {
                    if self.tools_allow.is_empty() {
                        "(none: public https only)".into()
                    } else {
                        self.tools_allow.to_string()
                    }
                }
                "metrics_listen" => self
                    .metrics_listen
                    .map_or_else(|| "(not set)".into(), |a| a.to_string()),
                "metrics_token" => redact(self.metrics_token.as_ref()),
                "request_log" => self.request_log.to_string(),
                "sentry_dsn" => redact(self.sentry_dsn.as_ref()),
                "error_alert_window_mins" => self.error_alert_window.whole_minutes().to_string(),
                "key_max_age_days" => self.key_max_age.whole_days().to_string(),
                "retention_logs_days" => self.retention.logs.whole_days().to_string(),
                "retention_audit_days" => self.retention.audit.whole_days().to_string(),
                "storage_url" => match &self.storage.location {
                    StorageLocation::Dir(d) => d.display().to_string(),
                    StorageLocation::S3 { bucket, prefix, .. } if prefix.is_empty() => {
                        format!("s3://{bucket}")
                    }
                    StorageLocation::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
                },
                "storage_s3_endpoint" => match &self.storage.location {
                    StorageLocation::S3 {
                        endpoint: Some(e), ..
                    } => e.clone(),
                    _ => "(not set)".into(),
                },
                "storage_s3_region" => match &self.storage.location {
                    StorageLocation::S3 { region, .. } => region.clone(),
                    _ => "(not used)".into(),
                },
                "storage_s3_access_key_id" => match &self.storage.location {
                    StorageLocation::S3 { access_key_id, .. } => redact(access_key_id.as_ref()),
                    _ => "(not used)".into(),
                },
                "storage_s3_secret_access_key" => match &self.storage.location {
                    StorageLocation::S3 {
                        secret_access_key, ..
                    } => redact(secret_access_key.as_ref()),
                    _ => "(not used)".into(),
                },
                "upload_max_bytes" => self.storage.upload_max_bytes.to_string(),
                "upload_allowed_types" => self.storage.upload_allowed_types.join(","),
                "backup_daily" => self.backup.daily.to_string(),
                "backup_keep_daily" => self.backup.keep_daily.to_string(),
                "backup_keep_weekly" => self.backup.keep_weekly.to_string(),
                "usage_franchise_rows" => self.usage_limits.franchise.rows.to_string(),
                "usage_franchise_api_requests" => {
                    self.usage_limits.franchise.api_requests.to_string()
                }
                "usage_franchise_storage_mb" => {
                    ((self.usage_limits.franchise.storage_bytes) / (1024 * 1024)).to_string()
                }
                "usage_franchise_voice_minutes" => {
                    self.usage_limits.franchise.voice_minutes.to_string()
                }
                "usage_franchise_ai_usd" => {
                    (self.usage_limits.franchise.ai_cost_micros / 1_000_000).to_string()
                }
                "usage_platform_rows" => self.usage_limits.platform.rows.to_string(),
                "usage_platform_db_mb" => {
                    ((self.usage_limits.platform.db_bytes) / (1024 * 1024)).to_string()
                }
                "usage_platform_api_requests" => {
                    self.usage_limits.platform.api_requests.to_string()
                }
                "usage_platform_storage_mb" => {
                    ((self.usage_limits.platform.storage_bytes) / (1024 * 1024)).to_string()
                }
                "usage_platform_voice_minutes" => {
                    self.usage_limits.platform.voice_minutes.to_string()
                }
                "usage_platform_ai_usd" => {
                    (self.usage_limits.platform.ai_cost_micros / 1_000_000).to_string()
                }
                "openai_admin_key" => redact(self.openai_admin_key.as_ref()),
                "cost_reconcile_margin_percent" => self.cost_reconcile.margin_percent.to_string(),
                "cost_reconcile_days" => self.cost_reconcile.days.to_string(),
                // A key without a line here fails `every_key_is_shown`.
                _ => String::new(),
            }
        };
        let mut out = String::new();
        for k in KEYS {
            let origin = self
                .origins
                .get(k.name)
                .map(ToString::to_string)
                .unwrap_or_else(|| "default".into());
            out.push_str(&format!(
                "{} = {:?}  # {origin}; {}\n",
                k.name,
                value(k.name),
                k.help
            ));
        }
        out
    }
}

/// The object store's location from `storage_url` and the `storage_s3_*` keys.
fn storage_location(p: &Parser<'_>, data_dir: &Path) -> Result<StorageLocation, ConfigError> {
    let url = p.text("storage_url");
    let Some(url) = url else {
        return Ok(StorageLocation::Dir(data_dir.join("objects")));
    };
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(p.invalid("storage_url", "s3://bucket or s3://bucket/prefix"));
        }
        let endpoint = p.text("storage_s3_endpoint");
        if endpoint
            .as_ref()
            .is_some_and(|e| !(e.starts_with("http://") || e.starts_with("https://")))
        {
            return Err(p.invalid("storage_s3_endpoint", "an http:// or https:// URL"));
        }
        let access_key_id = p.text("storage_s3_access_key_id").map(Secret::new);
        let secret_access_key = p.text("storage_s3_secret_access_key").map(Secret::new);
        if access_key_id.is_some() != secret_access_key.is_some() {
            return Err(p.invalid(
                "storage_s3_secret_access_key",
                "both storage_s3_access_key_id and storage_s3_secret_access_key, or neither",
            ));
        }
        return Ok(StorageLocation::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_string()),
            region: p
                .text("storage_s3_region")
                .unwrap_or_else(|| "us-east-1".into()),
            access_key_id,
            secret_access_key,
        });
    }
    let dir = url.strip_prefix("file://").unwrap_or(&url);
    if dir.is_empty() || url.contains("://") && !url.starts_with("file://") {
        return Err(p.invalid(
            "storage_url",
            "a directory path, file:///path or s3://bucket[/prefix]",
        ));
    }
    Ok(StorageLocation::Dir(PathBuf::from(dir)))
}

fn redact(s: Option<&Secret>) -> String {
    match s {
        Some(_) => "*** (set)".into(),
        None => "(not set)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(
        env: &[(&str, &str)],
        flags: &[(&'static str, &str)],
        file: Option<&str>,
    ) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = file.map(|text| {
            let p = dir.path().join("jarvis.toml");
            std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
            p
        });
        let sources = Sources {
            file: path,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            flags: flags.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        };
        Config::load(&sources)
    }

    #[test]
    fn defaults_serve_sqlite_on_3001() {
        let c = load(&[], &[], None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen.to_string(), "127.0.0.1:3001");
        assert_eq!(c.database_url.expose(), "sqlite://./data/jarvis.db");
        assert!(c.demo_mode());
        assert!(
            c.master_key.is_none(),
            "generated into the data directory by default"
        );
        assert_eq!(c.access_token_ttl.as_secs(), 900);
        assert_eq!(c.session_absolute.as_secs(), 7 * 24 * 3600);
        assert!(
            c.trusted_proxies.is_empty(),
            "X-Forwarded-For is ignored by default"
        );
        assert_eq!(c.kiosk_lookup_per_min, 60);
    }

    #[test]
    fn kiosk_lookup_limit_is_validated() {
        let c = load(&[("JARVIS_KIOSK_LOOKUP_PER_MIN", "5")], &[], None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.kiosk_lookup_per_min, 5);
        for bad in ["0", "10001", "many"] {
            let e = load(&[("JARVIS_KIOSK_LOOKUP_PER_MIN", bad)], &[], None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                e.contains("kiosk_lookup_per_min") && e.contains("1 to 10000"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn demo_page_is_off_by_default_and_its_limits_are_validated() {
        let c = load(&[], &[], None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.demo,
            DemoConfig {
                page: false,
                sessions_per_hour: 3,
                max_secs: 120,
                budget_micros: 5_000_000,
            }
        );
        let c = load(
            &[("JARVIS_DEMO_BUDGET_USD", "0")],
            &[("demo_page", "true")],
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(c.demo.page, "the --demo flag turns the page on");
        assert_eq!(c.demo.budget_micros, 0);
        for (key, bad) in [
            ("JARVIS_DEMO_SESSIONS_PER_HOUR", "0"),
            ("JARVIS_DEMO_MAX_SECS", "5"),
            ("JARVIS_DEMO_BUDGET_USD", "-1"),
        ] {
            let e = load(&[(key, bad)], &[], None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(&key[7..].to_lowercase()), "{key}={bad}: {e}");
        }
    }

    #[test]
    fn email_transport_is_log_unless_switched_off() {
        let c = load(&[], &[], None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.email_transport, EmailTransport::Log);
        let c = load(&[("JARVIS_EMAIL_TRANSPORT", "none")], &[], None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.email_transport, EmailTransport::None);
        let err = |env: &[(&str, &str)]| {
            load(env, &[], None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(err(&[("JARVIS_EMAIL_TRANSPORT", "pigeon")]).contains("email_transport"));
        // SMTP needs a server and a sender, each named when missing or wrong.
        let e = err(&[("JARVIS_EMAIL_TRANSPORT", "smtp")]);
        assert!(e.contains("smtp_url"), "{e}");
        let e = err(&[
            ("JARVIS_EMAIL_TRANSPORT", "smtp"),
            ("JARVIS_SMTP_URL", "smtp://u:pw@mail.test:587?tls=required"),
        ]);
        assert!(e.contains("email_from"), "{e}");
        let e = err(&[
            ("JARVIS_EMAIL_TRANSPORT", "smtp"),
            ("JARVIS_SMTP_URL", "smtp://u:pw@mail.test:587?tls=required"),
            ("JARVIS_EMAIL_FROM", "JARVIS <jarvis@gym.test>"),
            ("JARVIS_SMTP_CA_FILE", "/nonexistent/ca.pem"),
        ]);
        assert!(e.contains("smtp_ca_file"), "{e}");
        let c = load(
            &[
                ("JARVIS_EMAIL_TRANSPORT", "smtp"),
                ("JARVIS_SMTP_URL", "smtp://u:pw@mail.test:587?tls=required"),
                ("JARVIS_EMAIL_FROM", "JARVIS <jarvis@gym.test>"),
            ],
            &[],
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.email_transport, EmailTransport::Smtp);
        // The password never prints.
        let shown = c.show();
        assert!(shown.contains("smtp://u:***@mail.test:587"), "{shown}");
        assert!(!shown.contains("pw@"), "{shown}");
    }

    #[test]
    fn layers_apply_in_order_file_env_flag() {
        let file = "listen = \"127.0.0.1:4000\"\nlog_format = \"json\"\n[openai]\nbase_url = \"http://127.0.0.1:9/v1\"\n";
        let c = load(&[("JARVIS_LISTEN", "127.0.0.1:5000")], &[], Some(file))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen.port(), 5000, "env beats file");
        assert_eq!(c.log_format, LogFormat::Json, "file beats default");
        assert_eq!(
            c.openai_base_url, "http://127.0.0.1:9/v1",
            "sections flatten"
        );
        let c = load(
            &[("JARVIS_LISTEN", "127.0.0.1:5000")],
            &[("listen", "127.0.0.1:6000")],
            Some(file),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.listen.port(), 6000, "flag beats env");
        assert_eq!(
            c.origins.get("listen"),
            Some(&Origin::Flag("--listen".into()))
        );
    }

    #[test]
    fn errors_name_the_key_and_expected_form() {
        let e = load(&[("JARVIS_LISTEN", "nope")], &[], None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("`listen`") && e.contains("JARVIS_LISTEN") && e.contains("host:port"),
            "{e}"
        );
        let e = load(&[("JARVIS_DATABASE_URL", "mysql://x")], &[], None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("database_url") && e.contains("sqlite://"), "{e}");
        let e = load(&[("JARVIS_MASTER_KEY", "short")], &[], None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("master_key") && !e.contains("short"),
            "secret values are not echoed: {e}"
        );
        let e = load(&[], &[], Some("lisen = \"x\""))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("unknown key `lisen`"), "{e}");
        let e = load(&[("JARVIS_REQUEST_TIMEOUT_SECS", "0")], &[], None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("request_timeout_secs"), "{e}");
    }

    #[test]
    fn secrets_come_from_files_and_never_print() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = dir.path().join("key");
        std::fs::write(&p, "sk-test-secret-value\n").unwrap_or_else(|e| panic!("{e}"));
        let path = p.display().to_string();
        let c = load(&[("JARVIS_OPENAI_API_KEY_FILE", &path)], &[], None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.openai_api_key.as_ref().map(Secret::expose),
            Some("sk-test-secret-value")
        );
        assert!(!c.demo_mode());
        let shown = c.show();
        assert!(
            !shown.contains("sk-test-secret-value")
                && shown.contains("openai_api_key = \"*** (set)\""),
            "{shown}"
        );
        assert!(!format!("{c:?}").contains("sk-test-secret-value"));
        let both = load(
            &[
                ("JARVIS_OPENAI_API_KEY_FILE", &path),
                ("JARVIS_OPENAI_API_KEY", "x"),
            ],
            &[],
            None,
        );
        assert!(matches!(both, Err(ConfigError::Ambiguous { .. })));
        let pg = load(
            &[("JARVIS_DATABASE_URL", "postgres://app:hunter2@db/jarvis")],
            &[],
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(!pg.show().contains("hunter2"));
    }

    #[test]
    fn every_key_is_shown() {
        let c = load(&[], &[], None).unwrap_or_else(|e| panic!("{e}"));
        let shown = c.show();
        for k in KEYS {
            let line = shown
                .lines()
                .find(|l| l.starts_with(&format!("{} = ", k.name)))
                .unwrap_or_else(|| panic!("{} missing from config show", k.name));
            assert!(
                !line.contains(" = \"\""),
                "{} shows no value: {line}",
                k.name
            );
        }
    }
}
