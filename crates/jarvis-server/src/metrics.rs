//! Prometheus `GET /metrics`: HTTP latency and status per route template, voice calls and the
//! global cap, job runs and queues, the e-mail outbox, the database pool and the month's AI cost.
//!
//! Served on the main listener only behind `metrics_token`, or without a token on a second
//! listener (`metrics_listen`) meant for loopback or a private network. Labels carry route
//! templates (`/api/v1/gyms/{gym}/members`), never paths, ids or query strings: nothing personal
//! and a bounded number of series.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jarvis_app::jobs::{JobStats, RunEnd};
use jarvis_core::cost::BudgetPeriod;
use jarvis_core::model::KindDepth;
use jarvis_store::{OutboxDepth, PoolStatus};
use jarvis_voice::VoiceMetricsSnapshot;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::state::AppState;

/// The content type of the OpenMetrics text format (Prometheus reads it natively).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type RequestLabels = [(&'static str, String); 3];
type RouteLabels = [(&'static str, String); 2];
type HistogramMaker = fn() -> Histogram;

/// Latency buckets: 1 ms to about 16 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 15,
    ))
}

/// Voice-start buckets: 0.25 ms to about 16 s, doubling (a start's own work is milliseconds).
fn voice_start_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.00025, 2.0, 17,
    ))
}

/// The process's HTTP and voice-start series (everything else is read at scrape time).
#[derive(Debug)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram, HistogramMaker>,
    voice_start_overhead: Histogram,
    voice_start_provider: Histogram,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            durations: Family::new_with_constructor(latency_histogram as HistogramMaker),
            voice_start_overhead: voice_start_histogram(),
            voice_start_provider: voice_start_histogram(),
            started: Instant::now(),
        }
    }
}

/// When the request reached the server: set by [`track`], read by handlers that report their
/// own share of a request's time (the voice start). Now, when absent.
#[derive(Debug, Clone, Copy)]
pub struct RequestStarted(pub Instant);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestStarted {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<RequestStarted>()
            .copied()
            .unwrap_or_else(|| RequestStarted(Instant::now())))
    }
}

impl Metrics {
    /// Counts one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&[
                ("method", method.to_string()),
                ("route", route.to_string()),
                ("status", status.to_string()),
            ])
            .inc();
        self.durations
            .get_or_create(&[("method", method.to_string()), ("route", route.to_string())])
            .observe(elapsed.as_secs_f64());
    }

    /// Records one voice call started: `total` from the request's arrival to the answer,
    /// `provider` the part spent waiting on the provider. Our overhead is the difference.
    pub fn observe_voice_start(&self, total: Duration, provider: Duration) {
        self.voice_start_overhead
            .observe(total.saturating_sub(provider).as_secs_f64());
        self.voice_start_provider.observe(provider.as_secs_f64());
    }

    /// The text exposition: the HTTP series plus what storage and the broker say now.
    pub async fn render(&self, state: &AppState, jobs: Option<&JobStats>) -> String {
        let now = Collected::gather(state, jobs, self.started.elapsed()).await;
        let mut registry = Registry::with_prefix("jarvis");
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            self.requests.clone(),
        );
        registry.register_with_unit(
            "http_request_duration",
            "time to answer, by method and route template",
            Unit::Seconds,
            self.durations.clone(),
        );
        registry.register_with_unit(
            "voice_start_overhead",
            "our own time per voice call started: from the request's arrival to the answer, minus the time waiting on the provider",
            Unit::Seconds,
            self.voice_start_overhead.clone(),
        );
        registry.register_with_unit(
            "voice_start_provider",
            "time per voice call started spent waiting on the provider's answer (POST /v1/realtime/calls)",
            Unit::Seconds,
            self.voice_start_provider.clone(),
        );
        registry.register_collector(Box::new(now));
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}

/// Values read for one scrape.
#[derive(Debug, Default)]
struct Collected {
    uptime: Duration,
    voice: VoiceMetricsSnapshot,
    live_calls_here: u64,
    pool: PoolStatus,
    job_runs: Vec<(&'static str, RunEnd, u64)>,
    // From the database; `None` when it did not answer (then `database_up` is 0).
    platform_live: Option<u32>,
    voice_cap: Option<u32>,
    month_cost_pico: Option<u64>,
    month_budget_micros: Option<i64>,
    queues: Option<Vec<KindDepth>>,
    outbox: Option<OutboxDepth>,
    database_up: bool,
}

impl Collected {
    async fn gather(state: &AppState, jobs: Option<&JobStats>, uptime: Duration) -> Self {
        let store = &state.store;
        let mut c = Collected {
            uptime,
            voice: state.voice.metrics().snapshot(),
            live_calls_here: u64::try_from(state.voice.live_calls()).unwrap_or(u64::MAX),
            pool: store.pool_status(),
            job_runs: jobs.map(JobStats::snapshot).unwrap_or_default(),
            database_up: store.ping().await.is_ok(),
            ..Collected::default()
        };
        if !c.database_up {
            return c;
        }
        let period = BudgetPeriod::of(time::OffsetDateTime::now_utc());
        let (live, settings, spend, queues, outbox) = tokio::join!(
            store.platform_live_sessions(),
            store.platform_settings(),
            store.platform_month_to_date(period),
            store.queue_depth(),
            store.outbox_depth(),
        );
        c.platform_live = live.ok();
        if let Ok(s) = settings {
            c.voice_cap = Some(s.voice_session_cap);
            c.month_budget_micros = Some(s.monthly_budget_micros);
        }
        c.month_cost_pico = spend.ok().map(|s| s.cost_pico);
        c.queues = queues.ok();
        c.outbox = outbox.ok();
        c
    }
}

fn counter(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let m = ConstCounter::new(value);
    m.encode(enc.encode_descriptor(name, help, None, m.metric_type())?)
}

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let m = ConstGauge::new(value);
    m.encode(enc.encode_descriptor(name, help, unit, m.metric_type())?)
}

fn count(n: impl TryInto<i64>) -> f64 {
    n.try_into().unwrap_or(i64::MAX) as f64
}

impl Collector for Collected {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let v = &self.voice;
        let e = &mut enc;
        gauge(
            e,
            "uptime",
            "time since this process started",
            Some(&Unit::Seconds),
            self.uptime.as_secs_f64(),
        )?;
        gauge(
            e,
            "database_up",
            "1 when the database answered this scrape",
            None,
            if self.database_up { 1.0 } else { 0.0 },
        )?;
        gauge(
            e,
            "voice_calls_live",
            "voice calls this instance runs now",
            None,
            count(self.live_calls_here),
        )?;
        counter(
            e,
            "voice_calls_started",
            "voice call tasks started by this instance",
            v.calls_started,
        )?;
        counter(
            e,
            "voice_calls_ended",
            "voice call tasks ended on this instance (any reason)",
            v.calls_ended,
        )?;
        counter(
            e,
            "voice_starts_refused",
            "voice starts refused (cap, budget, consent, rate)",
            v.starts_refused,
        )?;
        counter(
            e,
            "voice_tool_calls",
            "function calls executed for the model",
            v.tool_calls,
        )?;
        counter(
            e,
            "voice_tool_errors",
            "function calls that failed",
            v.tool_errors,
        )?;
        counter(
            e,
            "voice_budget_stops",
            "calls hung up because a budget ran out",
            v.budget_stops,
        )?;
        counter(
            e,
            "voice_malformed_events",
            "provider events that could not be parsed",
            v.malformed_events,
        )?;
        counter(
            e,
            "voice_unpriced_usages",
            "usages metered at zero because their model has no price",
            v.unpriced_usages,
        )?;
        counter(
            e,
            "voice_store_errors",
            "storage writes that failed during calls",
            v.store_errors,
        )?;
        if let Some(n) = self.platform_live {
            gauge(
                e,
                "voice_sessions_live",
                "voice sessions live on the whole platform (every instance)",
                None,
                f64::from(n),
            )?;
        }
        if let Some(n) = self.voice_cap {
            gauge(
                e,
                "voice_sessions_cap",
                "most voice sessions at once on the platform",
                None,
                f64::from(n),
            )?;
        }
        if let Some(p) = self.month_cost_pico {
            gauge(
                e,
                "ai_cost_month",
                "AI cost metered this calendar month (UTC), whole platform",
                Some(&Unit::Other("dollars".into())),
                p as f64 / 1e12,
            )?;
        }
        if let Some(m) = self.month_budget_micros {
            gauge(
                e,
                "ai_budget_month",
                "the platform's monthly AI budget",
                Some(&Unit::Other("dollars".into())),
                m as f64 / 1e6,
            )?;
        }
        {
            let m = ConstCounter::new(0u64);
            let mut fam = e.encode_descriptor(
                "job_runs",
                "job runs finished on this instance, by kind and how they ended",
                None,
                m.metric_type(),
            )?;
            for (kind, end, n) in &self.job_runs {
                let labels = [
                    ("kind", kind.to_string()),
                    ("end", end.as_str().to_string()),
                ];
                ConstCounter::new(*n).encode(fam.encode_family(&labels)?)?;
            }
        }
        if let Some(queues) = &self.queues {
            let m = ConstGauge::new(0i64);
            let mut fam = e.encode_descriptor(
                "jobs",
                "jobs in the queue (every instance), by kind and state",
                None,
                m.metric_type(),
            )?;
            for q in queues {
                for (state, n) in [
                    ("due", q.due),
                    ("scheduled", q.scheduled),
                    ("running", q.running),
                    ("failed", q.failed),
                    ("dead", q.dead),
                ] {
                    let labels = [("kind", q.kind.clone()), ("state", state.to_string())];
                    ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX))
                        .encode(fam.encode_family(&labels)?)?;
                }
            }
        }
        if let Some(o) = self.outbox {
            gauge(
                e,
                "email_outbox_pending",
                "e-mails waiting to be sent",
                None,
                count(o.pending),
            )?;
            gauge(
                e,
                "email_outbox_failed",
                "e-mails given up in the last week",
                None,
                count(o.failed),
            )?;
        }
        gauge(
            e,
            "db_pool_connections_open",
            "open connections of this instance's database pool",
            None,
            f64::from(self.pool.open),
        )?;
        gauge(
            e,
            "db_pool_connections_idle",
            "idle connections of this instance's database pool",
            None,
            f64::from(self.pool.idle),
        )?;
        gauge(
            e,
            "db_pool_connections_max",
            "most connections this instance's pool opens",
            None,
            f64::from(self.pool.max),
        )?;
        Ok(())
    }
}

/// Middleware: times every request, counts it under its route template and keeps it for the
/// request log.
pub async fn track(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    req.extensions_mut().insert(RequestStarted(started));
    let method = req.method().as_str().to_string();
    // Unmatched paths share one series (a scan of random URLs must not create series).
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let (req, gym) = match &state.request_log {
        Some(_) => {
            let (mut parts, body) = req.into_parts();
            let gym = crate::request_log::gym_of(&mut parts, &route).await;
            (Request::from_parts(parts, body), gym)
        }
        None => (req, None),
    };
    let resp = next.run(req).await;
    let (status, elapsed) = (resp.status().as_u16(), started.elapsed());
    state.metrics.observe(&method, &route, status, elapsed);
    if let Some(log) = &state.request_log {
        log.push(&method, &route, status, elapsed, gym);
    }
    if resp.status().is_server_error() {
        record_server_error(&state, &method, &route, &resp);
    }
    resp
}

/// A 5xx answer goes to the error log: the database unavailable as critical, anything else as
/// an error, keyed by method and route template.
fn record_server_error(state: &AppState, method: &str, route: &str, resp: &Response) {
    use jarvis_app::errors::ErrorKind;
    use jarvis_store::ErrorLevel;
    let source = format!("{method} {route}");
    let cause = resp.extensions().get::<crate::error::ServerErrorCause>();
    let (kind, level) = match cause {
        Some(c) if c.code == "unavailable" => (ErrorKind::Database, ErrorLevel::Critical),
        _ => (ErrorKind::Http, ErrorLevel::Error),
    };
    let message = match cause {
        Some(c) => format!("{} {}: {}", resp.status().as_u16(), c.code, c.cause),
        None => format!("{}", resp.status()),
    };
    state.errors.push(kind, &source, level, &message);
}

/// `GET /metrics` on the main listener: only with `Authorization: Bearer <metrics_token>`.
pub async fn scrape_with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.config.metrics_token else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !crate::auth::secrets_equal(given, token.expose()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need the bearer token configured as metrics_token\n",
        )
            .into_response();
    }
    scrape(State(state)).await
}

/// `GET /metrics` on the metrics listener (no token: it is meant for a private address).
pub async fn scrape(State(state): State<AppState>) -> Response {
    let body = state
        .metrics
        .render(&state, state.job_stats.as_deref())
        .await;
    (
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from(body),
    )
        .into_response()
}

/// The router of the separate metrics listener.
pub fn listener_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_template() -> Result<(), std::fmt::Error> {
        let m = Metrics::default();
        m.observe("GET", "/api/v1/gyms/{gym}", 200, Duration::from_millis(3));
        m.observe("GET", "/api/v1/gyms/{gym}", 200, Duration::from_millis(5));
        m.observe("GET", "unmatched", 404, Duration::from_millis(1));
        let mut registry = Registry::with_prefix("jarvis");
        registry.register("http_requests", "h", m.requests.clone());
        registry.register_with_unit(
            "http_request_duration",
            "d",
            Unit::Seconds,
            m.durations.clone(),
        );
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        assert!(
            out.contains(
                r#"jarvis_http_requests_total{method="GET",route="/api/v1/gyms/{gym}",status="200"} 2"#
            ),
            "{out}"
        );
        assert!(
            out.contains(r#"jarvis_http_request_duration_seconds_count{method="GET",route="/api/v1/gyms/{gym}"} 2"#),
            "{out}"
        );
        // 3 ms and 5 ms are both under the 8 ms bucket, neither under 2 ms.
        assert!(
            out.contains(r#"jarvis_http_request_duration_seconds_bucket{le="0.008",method="GET",route="/api/v1/gyms/{gym}"} 2"#)
                || out.contains(r#"jarvis_http_request_duration_seconds_bucket{method="GET",route="/api/v1/gyms/{gym}",le="0.008"} 2"#),
            "{out}"
        );
        assert!(out.ends_with("# EOF\n"));
        Ok(())
    }
}
