//! The organization Costs API (`GET /v1/organization/costs`, admin key `sk-admin-…`): what the
//! provider billed per UTC day, for the daily reconciliation with our own meter.

use serde::Deserialize;

use crate::client::OpenAiClient;
use crate::config::ApiKey;
use crate::error::OpenAiError;

/// Buckets asked per page (the API allows 1..=180).
const PAGE_LIMIT: u32 = 31;

/// Pages followed at most in one read (a cursor that never ends must not loop forever).
const MAX_PAGES: usize = 100;

/// One page of the costs API.
#[derive(Debug, Clone, Deserialize)]
pub struct CostsPage {
    /// Daily buckets.
    #[serde(default)]
    pub data: Vec<CostBucket>,
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// The cursor of the next page.
    #[serde(default)]
    pub next_page: Option<String>,
}

/// One daily bucket.
#[derive(Debug, Clone, Deserialize)]
pub struct CostBucket {
    /// Start, unix seconds (UTC midnight).
    pub start_time: i64,
    /// End, unix seconds.
    pub end_time: i64,
    /// Cost lines (one without `group_by`).
    #[serde(default)]
    pub results: Vec<CostResult>,
}

/// One cost line of a bucket.
#[derive(Debug, Clone, Deserialize)]
pub struct CostResult {
    /// The amount.
    pub amount: CostAmount,
    /// The line item, with `group_by=line_item`.
    #[serde(default)]
    pub line_item: Option<String>,
}

/// An amount of money.
#[derive(Debug, Clone, Deserialize)]
pub struct CostAmount {
    /// Value in the currency's unit (dollars).
    pub value: f64,
    /// Currency code (`usd`).
    pub currency: String,
}

/// What was billed on one UTC day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BilledDay {
    /// Start of the day, unix seconds.
    pub start_time: i64,
    /// Billed amount in micro-dollars (US dollar lines only).
    pub micros: u64,
}

impl CostBucket {
    /// The bucket's US dollar lines summed, in micro-dollars (negative or non-finite values,
    /// which the API does not send, count as zero).
    pub fn usd_micros(&self) -> u64 {
        self.results
            .iter()
            .filter(|r| r.amount.currency.eq_ignore_ascii_case("usd"))
            .map(|r| {
                let v = r.amount.value * 1_000_000.0;
                if v.is_finite() && v > 0.0 {
                    // Rounded to the micro-dollar; amounts beyond u64 saturate.
                    v.round() as u64
                } else {
                    0
                }
            })
            .fold(0u64, u64::saturating_add)
    }
}

impl OpenAiClient {
    /// One page of `GET /v1/organization/costs` (daily buckets in `[start, end)`, unix
    /// seconds), with the admin key; retried like every call.
    pub async fn organization_costs_page(
        &self,
        admin_key: &ApiKey,
        start: i64,
        end: i64,
        page: Option<&str>,
    ) -> Result<CostsPage, OpenAiError> {
        let mut query: Vec<(&str, String)> = vec![
            ("start_time", start.to_string()),
            ("end_time", end.to_string()),
            ("bucket_width", "1d".into()),
            ("limit", PAGE_LIMIT.to_string()),
        ];
        if let Some(p) = page {
            query.push(("page", p.to_owned()));
        }
        let raw = self
            .with_retry("organization_costs", || {
                let rb = self
                    .request(reqwest::Method::GET, "/organization/costs", admin_key)
                    .query(&query);
                self.send_once(rb)
            })
            .await?;
        serde_json::from_str(&raw.body)
            .map_err(|e| OpenAiError::Decode(format!("organization_costs: {e}")))
    }

    /// Every daily bucket of `[start, end)`, following `next_page` until `has_more` is false,
    /// summed per day in micro-dollars, by day.
    pub async fn organization_costs(
        &self,
        admin_key: &ApiKey,
        start: i64,
        end: i64,
    ) -> Result<Vec<BilledDay>, OpenAiError> {
        let mut days: std::collections::BTreeMap<i64, u64> = std::collections::BTreeMap::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .organization_costs_page(admin_key, start, end, cursor.as_deref())
                .await?;
            for b in &page.data {
                let e = days.entry(b.start_time).or_default();
                *e = e.saturating_add(b.usd_micros());
            }
            match (page.has_more, page.next_page) {
                (true, Some(next)) if !next.is_empty() => cursor = Some(next),
                _ => {
                    return Ok(days
                        .into_iter()
                        .map(|(start_time, micros)| BilledDay { start_time, micros })
                        .collect());
                }
            }
        }
        Err(OpenAiError::Decode(format!(
            "organization_costs: more than {MAX_PAGES} pages"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_usd_lines_to_micros() {
        let b: CostBucket = serde_json::from_str(
            r#"{"object":"bucket","start_time":0,"end_time":86400,"results":[
              {"object":"organization.costs.result","amount":{"value":0.06,"currency":"usd"}},
              {"object":"organization.costs.result","amount":{"value":1.5,"currency":"USD"},"line_item":"x"},
              {"object":"organization.costs.result","amount":{"value":9.0,"currency":"eur"}},
              {"object":"organization.costs.result","amount":{"value":-1.0,"currency":"usd"}}]}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.usd_micros(), 1_560_000);
    }
}
