//! Web Vitals of the dashboard's pages: validation of what browsers report (a fixed set of
//! metrics, finite values in range, the page as a route template with no identifier) and the
//! daily p75 per page and metric that the admin area shows.
//!
//! **p75.** Nearest-rank: of `n` values sorted ascending, the one at rank `⌈0.75·n⌉` (1-based),
//! always a measured value. Computed here in Rust over the values the store returns sorted, so
//! both backends give the same answer by construction.

use crate::error::AppResult;
use jarvis_core::{FieldError, Scope, ValidationErrors};
use jarvis_store::{Store, VitalSample};
use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};

/// The metrics accepted, with the largest value each may have (ms; CLS is a unitless score).
pub const METRICS: [(&str, f64); 5] = [
    ("LCP", 120_000.0),
    ("FCP", 120_000.0),
    ("TTFB", 120_000.0),
    ("INP", 60_000.0),
    ("CLS", 100.0),
];

/// Measurements in one report, at most.
pub const MAX_METRICS: usize = 10;

/// One metric of a report.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    /// `LCP`, `CLS`, `INP`, `FCP` or `TTFB`.
    pub name: String,
    /// Its value.
    pub value: f64,
}

/// What a page sends (`POST /api/v1/vitals`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The page's route template, e.g. `/app/gyms/{id}/members`.
    pub page: String,
    /// Its measurements.
    pub metrics: Vec<Metric>,
}

/// Whether `page` is a route template: `/`-separated segments, each a lowercase word
/// (`[a-z][a-z-]{0,31}`) or `{id}`, at most 8, under 200 characters. Ids, tokens, query strings
/// and anything else a raw URL could carry fail, so nothing personal is stored.
pub fn valid_page(page: &str) -> bool {
    if page == "/" {
        return true;
    }
    let Some(rest) = page.strip_prefix('/') else {
        return false;
    };
    let segs: Vec<&str> = rest.split('/').collect();
    page.len() < 200
        && segs.len() <= 8
        && segs.iter().all(|s| {
            *s == "{id}"
                || (!s.is_empty()
                    && s.len() <= 32
                    && s.starts_with(|c: char| c.is_ascii_lowercase())
                    && s.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        })
}

/// Checks a report and turns it into rows for `now`; nothing is stored when any part is wrong.
pub fn validate(
    report: &Report,
    now: OffsetDateTime,
) -> Result<Vec<VitalSample>, ValidationErrors> {
    let mut errs = ValidationErrors::new();
    if !valid_page(&report.page) {
        errs.push(FieldError::new(
            "page",
            "invalid_format",
            "a route template such as /app/gyms/{id}",
        ));
    }
    if report.metrics.is_empty() || report.metrics.len() > MAX_METRICS {
        errs.push(FieldError::new(
            "metrics",
            "invalid_length",
            format!("1 to {MAX_METRICS} metrics"),
        ));
    }
    let day = now.date().to_string();
    let mut rows = Vec::new();
    for (i, m) in report.metrics.iter().enumerate() {
        match METRICS.iter().find(|(n, _)| *n == m.name) {
            None => errs.push(FieldError::new(
                format!("metrics[{i}].name"),
                "invalid_choice",
                "one of LCP, CLS, INP, FCP, TTFB",
            )),
            Some((_, max)) if !(m.value.is_finite() && (0.0..=*max).contains(&m.value)) => errs
                .push(FieldError::new(
                    format!("metrics[{i}].value"),
                    "out_of_range",
                    format!("between 0 and {max}"),
                )),
            Some((name, _)) => rows.push(VitalSample {
                at: now,
                day: day.clone(),
                page: report.page.clone(),
                metric: (*name).to_string(),
                value: m.value,
            }),
        }
    }
    errs.finish()?;
    Ok(rows)
}

/// Stores a validated report (no caller: pages report before and without a session).
pub async fn record(store: &dyn Store, report: &Report, now: OffsetDateTime) -> AppResult<u64> {
    let rows = validate(report, now)?;
    Ok(store.record_vitals(&rows).await?)
}

/// The nearest-rank 75th percentile of values sorted ascending (`None` when empty).
pub fn p75(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (3 * n).div_ceil(4);
    sorted.get(rank - 1).copied()
}

/// One line of the admin table: a day, a page, a metric, its p75 and sample count.
#[derive(Debug, Clone, PartialEq)]
pub struct P75Row {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// The route template.
    pub page: String,
    /// The metric.
    pub metric: String,
    /// The nearest-rank p75.
    pub p75: f64,
    /// How many measurements.
    pub samples: usize,
}

/// Groups samples already ordered by day, page, metric and value into p75 rows.
pub fn p75_rows(samples: &[VitalSample]) -> Vec<P75Row> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < samples.len() {
        let key = &samples[start];
        let end = samples[start..]
            .iter()
            .position(|s| s.day != key.day || s.page != key.page || s.metric != key.metric)
            .map_or(samples.len(), |k| start + k);
        let mut values: Vec<f64> = samples[start..end].iter().map(|s| s.value).collect();
        // The store sorts already; sorting again keeps this correct for any input.
        values.sort_by(f64::total_cmp);
        if let Some(p) = p75(&values) {
            out.push(P75Row {
                day: key.day.clone(),
                page: key.page.clone(),
                metric: key.metric.clone(),
                p75: p,
                samples: values.len(),
            });
        }
        start = end;
    }
    out
}

/// The p75 rows of the last `days` UTC days up to `today`, newest day first. `scope` must be
/// the platform's (the caller authorized `PlatformAdmin`); any other finds nothing.
pub async fn daily_p75(
    store: &dyn Store,
    scope: &Scope,
    today: Date,
    days: u16,
) -> AppResult<Vec<P75Row>> {
    let from = today - Duration::days(i64::from(days.max(1)) - 1);
    let samples = store
        .vitals_between(scope, &from.to_string(), &today.to_string())
        .await?;
    let mut rows = p75_rows(&samples);
    rows.sort_by(|a, b| {
        b.day
            .cmp(&a.day)
            .then(a.page.cmp(&b.page))
            .then(a.metric.cmp(&b.metric))
    });
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p75_is_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(p75(&v), Some(75.0));
        assert_eq!(p75(&[5.0]), Some(5.0));
        assert_eq!(p75(&[1.0, 2.0, 3.0]), Some(3.0));
        assert_eq!(p75(&[1.0, 2.0, 3.0, 4.0]), Some(3.0));
        assert_eq!(p75(&[]), None);
    }

    #[test]
    fn pages_must_be_route_templates() {
        for ok in ["/", "/app", "/app/gyms/{id}/members", "/app/ops/vitals"] {
            assert!(valid_page(ok), "{ok}");
        }
        for bad in [
            "",
            "app",
            "/app/gyms/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            "/app/members?q=paula",
            "/app/x1",
            "/App",
            "/app//x",
            "https://example.com/app",
            "/a/b/c/d/e/f/g/h/i",
        ] {
            assert!(!valid_page(bad), "{bad}");
        }
    }

    #[test]
    fn validation_rejects_the_whole_report() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let m = |name: &str, value: f64| Metric {
            name: name.into(),
            value,
        };
        let good = Report {
            page: "/app".into(),
            metrics: vec![m("LCP", 1200.0), m("CLS", 0.05)],
        };
        let rows = validate(&good, now).unwrap_or_default();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].day, "1970-01-01");
        for bad in [
            vec![m("LCP", f64::NAN)],
            vec![m("LCP", -1.0)],
            vec![m("CLS", 101.0)],
            vec![m("FID", 10.0)],
            vec![m("LCP", 10.0), m("lcp", 10.0)],
            vec![],
            (0..11).map(|_| m("LCP", 1.0)).collect(),
        ] {
            let r = Report {
                page: "/app".into(),
                metrics: bad,
            };
            assert!(validate(&r, now).is_err(), "{r:?}");
        }
    }
}
