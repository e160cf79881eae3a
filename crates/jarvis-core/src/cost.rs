//! Price and cost arithmetic (integer pico-dollars per token, micro-dollar totals).
//!
//! Prices are integers in pico-USD per token: `$X per 1M tokens` equals `X * 1_000_000`
//! pico-USD per token, so sums are exact in integers (1 USD = 10^12 pUSD). Totals are
//! reported in micro-USD (rounded half up) for display and budgets. Pure: no IO.

use std::fmt;

/// Pico-USD (10^-12 USD); the unit of every price and exact cost in this module.
pub type PicoUsd = u64;

/// One pico-USD-per-token price parsed from a decimal "USD per 1M tokens" string.
///
/// `"0.60"` → 600_000 pUSD/token. Up to 6 decimals are accepted (finer is sub-pico).
pub fn usd_per_million_to_pico(text: &str) -> Result<PicoUsd, PriceParseError> {
    let text = text.trim();
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if whole.is_empty() && frac.is_empty() || !digits_ok(whole) || !digits_ok(frac) {
        return Err(PriceParseError(text.to_owned()));
    }
    if frac.len() > 6 {
        return Err(PriceParseError(text.to_owned()));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| PriceParseError(text.to_owned()))?
    };
    let mut frac_val: u64 = 0;
    for (i, c) in frac.chars().enumerate() {
        let d = u64::from(c.to_digit(10).unwrap_or(0));
        frac_val += d * 10u64.pow(5 - i as u32);
    }
    whole
        .checked_mul(1_000_000)
        .and_then(|w| w.checked_add(frac_val))
        .ok_or_else(|| PriceParseError(text.to_owned()))
}

/// A price string that is not a non-negative decimal with at most 6 decimals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceParseError(pub String);

impl fmt::Display for PriceParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid price {:?}: expected USD per 1M tokens like \"0.60\"",
            self.0
        )
    }
}

impl std::error::Error for PriceParseError {}

/// Per-token prices of one model, all in pico-USD per token.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(default, deny_unknown_fields)]
pub struct ModelPrice {
    /// Uncached text input.
    pub text_in: PicoUsd,
    /// Cached text input.
    pub text_cached: PicoUsd,
    /// Text output.
    pub text_out: PicoUsd,
    /// Uncached audio input.
    pub audio_in: PicoUsd,
    /// Cached audio input.
    pub audio_cached: PicoUsd,
    /// Audio output.
    pub audio_out: PicoUsd,
    /// Uncached image input.
    pub image_in: PicoUsd,
    /// Cached image input.
    pub image_cached: PicoUsd,
    /// Per minute of input audio, for duration-billed transcription (`whisper-1`); 0 when
    /// the model bills tokens only.
    pub per_minute: PicoUsd,
}

impl ModelPrice {
    /// Builds a price from pico-USD-per-token figures (text in/cached/out, audio in/cached/out, image in/cached).
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        text_in: u64,
        text_cached: u64,
        text_out: u64,
        audio_in: u64,
        audio_cached: u64,
        audio_out: u64,
        image_in: u64,
        image_cached: u64,
    ) -> Self {
        ModelPrice {
            text_in,
            text_cached,
            text_out,
            audio_in,
            audio_cached,
            audio_out,
            image_in,
            image_cached,
            per_minute: 0,
        }
    }

    /// A text-only price (chat and embedding models): input, cached input, output.
    pub const fn text(text_in: PicoUsd, text_cached: PicoUsd, text_out: PicoUsd) -> Self {
        ModelPrice {
            text_in,
            text_cached,
            text_out,
            audio_in: 0,
            audio_cached: 0,
            audio_out: 0,
            image_in: 0,
            image_cached: 0,
            per_minute: 0,
        }
    }

    /// A duration-billed price: `per_minute` pico-USD per minute of input audio, no token prices.
    pub const fn per_minute(per_minute: PicoUsd) -> Self {
        ModelPrice {
            text_in: 0,
            text_cached: 0,
            text_out: 0,
            audio_in: 0,
            audio_cached: 0,
            audio_out: 0,
            image_in: 0,
            image_cached: 0,
            per_minute,
        }
    }
}

/// Token counts of one billed unit (a realtime response, a chat completion, an embedding call).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(default)]
pub struct TokenUsage {
    /// Text input tokens (cached included).
    pub input_text: u64,
    /// Audio input tokens (cached included).
    pub input_audio: u64,
    /// Image input tokens (cached included).
    pub input_image: u64,
    /// Cached text input tokens (subset of `input_text`).
    pub cached_text: u64,
    /// Cached audio input tokens (subset of `input_audio`).
    pub cached_audio: u64,
    /// Cached image input tokens (subset of `input_image`).
    pub cached_image: u64,
    /// Text output tokens.
    pub output_text: u64,
    /// Audio output tokens.
    pub output_audio: u64,
}

impl TokenUsage {
    /// Usage of a chat completion: prompt (cached included), cached prompt, completion tokens.
    pub fn chat(prompt: u64, cached: u64, completion: u64) -> Self {
        TokenUsage {
            input_text: prompt,
            cached_text: cached,
            output_text: completion,
            ..Default::default()
        }
    }

    /// Total input tokens (all modalities).
    pub fn input_total(&self) -> u64 {
        self.input_text + self.input_audio + self.input_image
    }

    /// Total output tokens.
    pub fn output_total(&self) -> u64 {
        self.output_text + self.output_audio
    }

    /// Total tokens (input + output).
    pub fn total(&self) -> u64 {
        self.input_total() + self.output_total()
    }

    /// Adds another usage to this one (saturating).
    pub fn add(&mut self, o: &TokenUsage) {
        self.input_text = self.input_text.saturating_add(o.input_text);
        self.input_audio = self.input_audio.saturating_add(o.input_audio);
        self.input_image = self.input_image.saturating_add(o.input_image);
        self.cached_text = self.cached_text.saturating_add(o.cached_text);
        self.cached_audio = self.cached_audio.saturating_add(o.cached_audio);
        self.cached_image = self.cached_image.saturating_add(o.cached_image);
        self.output_text = self.output_text.saturating_add(o.output_text);
        self.output_audio = self.output_audio.saturating_add(o.output_audio);
    }
}

/// Exact cost of `usage` at `price`, in pico-USD.
///
/// Cached counts are clamped to their modality totals because published examples contain
/// cached > input; over-billing on bad data would be worse than ignoring the excess.
pub fn cost_pico(usage: &TokenUsage, price: &ModelPrice) -> PicoUsd {
    let part = |total: u64, cached: u64, p_in: u64, p_cached: u64| -> u128 {
        let cached = cached.min(total);
        u128::from(total - cached) * u128::from(p_in) + u128::from(cached) * u128::from(p_cached)
    };
    let sum = part(
        usage.input_text,
        usage.cached_text,
        price.text_in,
        price.text_cached,
    ) + part(
        usage.input_audio,
        usage.cached_audio,
        price.audio_in,
        price.audio_cached,
    ) + part(
        usage.input_image,
        usage.cached_image,
        price.image_in,
        price.image_cached,
    ) + u128::from(usage.output_text) * u128::from(price.text_out)
        + u128::from(usage.output_audio) * u128::from(price.audio_out);
    u64::try_from(sum).unwrap_or(u64::MAX)
}

/// Pico-USD to micro-USD, rounded half up.
pub fn pico_to_micro(pico: PicoUsd) -> u64 {
    pico / 1_000_000 + u64::from(pico % 1_000_000 >= 500_000)
}

/// Duration-billed transcription (e.g. whisper-1): pico-USD for `millis` of audio at `pico_per_minute`.
pub fn duration_cost_pico(millis: u64, pico_per_minute: PicoUsd) -> PicoUsd {
    let v = u128::from(millis) * u128::from(pico_per_minute) / 60_000;
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// A configurable model → price table. Lookups accept dated snapshots of a listed alias.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PriceTable {
    entries: Vec<(String, ModelPrice)>,
}

/// `$X` per 1M tokens in pico-USD per token, for readable constants: `usd(0, 600_000)` = $0.60.
const fn usd(whole: u64, micro: u64) -> PicoUsd {
    whole * 1_000_000 + micro
}

impl PriceTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The published prices as of 2026-11 (see the OpenAI research note §5); override per deployment.
    ///
    /// Only models that are still served: the `gpt-4o(-mini)-realtime-preview` snapshots are shut
    /// down (their model pages say "Shut down"; research note §0/§5, 2026-11-24) and are not priced,
    /// so a session still configured with one shows up as unpriced instead of silently metered.
    pub fn default_2026() -> Self {
        let full = ModelPrice::new(
            usd(4, 0),
            usd(0, 400_000),
            usd(16, 0),
            usd(32, 0),
            usd(0, 400_000),
            usd(64, 0),
            usd(5, 0),
            usd(0, 500_000),
        );
        let two = ModelPrice {
            text_out: usd(24, 0),
            ..full
        };
        let mini = ModelPrice::new(
            usd(0, 600_000),
            usd(0, 60_000),
            usd(2, 400_000),
            usd(10, 0),
            usd(0, 300_000),
            usd(20, 0),
            usd(0, 800_000),
            usd(0, 80_000),
        );
        let mut t = PriceTable::new();
        t.set("gpt-realtime", full);
        t.set("gpt-realtime-1.5", full);
        t.set("gpt-realtime-2", two);
        t.set("gpt-realtime-2.1", two);
        t.set("gpt-realtime-mini", mini);
        t.set("gpt-realtime-2.1-mini", mini);
        t.set(
            "gpt-4o-mini",
            ModelPrice::text(usd(0, 150_000), usd(0, 75_000), usd(0, 600_000)),
        );
        // Input transcription of realtime sessions is billed apart, at the ASR model's rates
        // (read 2026-11-24). The gpt-4o transcribe models bill tokens: text in / audio in /
        // text out per 1M = $2.50 / $6.00 / $10.00 (gpt-4o-transcribe: text rates on
        // developers.openai.com/api/docs/models/gpt-4o-transcribe, audio rate in the
        // openai/openai-cookbook realtime transcription notebook) and $1.25 / $3.00 / $5.00
        // (gpt-4o-mini-transcribe: developers.openai.com/api/docs/models/compare and the
        // pricing page's two tables). whisper-1 bills audio duration: $0.006 per minute
        // (developers.openai.com/api/docs/models/whisper-1).
        t.set(
            "gpt-4o-transcribe",
            ModelPrice {
                text_in: usd(2, 500_000),
                audio_in: usd(6, 0),
                text_out: usd(10, 0),
                ..Default::default()
            },
        );
        t.set(
            "gpt-4o-mini-transcribe",
            ModelPrice {
                text_in: usd(1, 250_000),
                audio_in: usd(3, 0),
                text_out: usd(5, 0),
                ..Default::default()
            },
        );
        // $0.006/min = 6_000 µUSD/min = 6_000_000_000 pUSD/min.
        t.set("whisper-1", ModelPrice::per_minute(6_000_000_000));
        t.set(
            "text-embedding-3-small",
            ModelPrice::text(usd(0, 20_000), 0, 0),
        );
        t.set(
            "text-embedding-3-large",
            ModelPrice::text(usd(0, 130_000), 0, 0),
        );
        t
    }

    /// Inserts or replaces the price of `model`.
    pub fn set(&mut self, model: &str, price: ModelPrice) {
        if let Some(e) = self.entries.iter_mut().find(|(m, _)| m == model) {
            e.1 = price;
        } else {
            self.entries.push((model.to_owned(), price));
        }
    }

    /// Iterates the configured entries.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ModelPrice)> {
        self.entries.iter().map(|(m, p)| (m.as_str(), p))
    }

    /// Price of `model`: exact id, else the alias it is a dated snapshot of (`alias-YYYY-MM-DD`).
    pub fn get(&self, model: &str) -> Option<&ModelPrice> {
        if let Some((_, p)) = self.entries.iter().find(|(m, _)| m == model) {
            return Some(p);
        }
        // Only strip a trailing date, so "gpt-realtime-2025-08-28" maps to "gpt-realtime",
        // never to the unrelated "gpt-realtime-2".
        let base = strip_snapshot_date(model)?;
        self.entries.iter().find(|(m, _)| m == base).map(|(_, p)| p)
    }

    /// Cost of `usage` for `model` in pico-USD, or `None` when the model has no price.
    pub fn cost_pico(&self, model: &str, usage: &TokenUsage) -> Option<PicoUsd> {
        self.get(model).map(|p| cost_pico(usage, p))
    }

    /// Cost of `millis` of audio for a duration-billed `model` (`whisper-1`), or `None` when
    /// the model has no price or no per-minute price (so a token-billed model is never
    /// silently metered at zero).
    pub fn duration_cost_pico(&self, model: &str, millis: u64) -> Option<PicoUsd> {
        self.get(model)
            .filter(|p| p.per_minute > 0)
            .map(|p| duration_cost_pico(millis, p.per_minute))
    }
}

/// Where a monthly spend stands against its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetState {
    /// Below 80 % of the budget.
    Ok,
    /// At or above 80 %, below 100 %: warn once.
    Warn80,
    /// At or above 100 % (a zero budget is always exhausted): alert once, and stop new
    /// calls (and running ones, within one response) when the hard stop is on.
    Exhausted,
}

impl BudgetState {
    /// The state of `spent` pico-USD against a budget of `budget_micros` micro-USD. Exact
    /// integer comparison (no rounding): 80 % is reached when `spent × 100 ≥ budget × 80`.
    pub fn from(spent: PicoUsd, budget_micros: u64) -> Self {
        let budget = u128::from(budget_micros) * 1_000_000;
        let spent = u128::from(spent);
        if spent >= budget {
            BudgetState::Exhausted
        } else if spent * 100 >= budget * 80 {
            BudgetState::Warn80
        } else {
            BudgetState::Ok
        }
    }

    /// The alert threshold this state crossed (80 or 100 percent), if any.
    pub fn threshold(&self) -> Option<BudgetThreshold> {
        match self {
            BudgetState::Ok => None,
            BudgetState::Warn80 => Some(BudgetThreshold::Warn80),
            BudgetState::Exhausted => Some(BudgetThreshold::Exhausted),
        }
    }
}

/// A budget alert level, sent once per scope and period.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
pub enum BudgetThreshold {
    /// 80 % of the budget spent.
    #[serde(rename = "80")]
    Warn80,
    /// The whole budget spent.
    #[serde(rename = "100")]
    Exhausted,
}

impl BudgetThreshold {
    /// The percentage stored with the alert.
    pub fn percent(&self) -> u8 {
        match self {
            BudgetThreshold::Warn80 => 80,
            BudgetThreshold::Exhausted => 100,
        }
    }
    /// Parses a stored percentage.
    pub fn from_percent(p: i64) -> Option<Self> {
        match p {
            80 => Some(BudgetThreshold::Warn80),
            100 => Some(BudgetThreshold::Exhausted),
            _ => None,
        }
    }
}

/// A budget period: one calendar month in UTC (`YYYY-MM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BudgetPeriod {
    year: i32,
    month: time::Month,
}

impl BudgetPeriod {
    /// The month `t` falls in, in UTC.
    pub fn of(t: time::OffsetDateTime) -> Self {
        let t = t.to_offset(time::UtcOffset::UTC);
        BudgetPeriod {
            year: t.year(),
            month: t.month(),
        }
    }

    /// A month; `None` for a year outside 1..=9999.
    pub fn new(year: i32, month: time::Month) -> Option<Self> {
        (1..=9999)
            .contains(&year)
            .then_some(BudgetPeriod { year, month })
    }

    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Self> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let month = time::Month::try_from(m.parse::<u8>().ok()?).ok()?;
        BudgetPeriod::new(y.parse().ok()?, month)
    }

    /// The first day of the month.
    pub fn first_day(&self) -> time::Date {
        time::Date::from_calendar_date(self.year, self.month, 1).unwrap_or(time::Date::MIN)
    }

    /// The first day of the next month (the end, exclusive).
    pub fn end_day(&self) -> time::Date {
        let (year, month) = match self.month {
            time::Month::December => (self.year + 1, time::Month::January),
            m => (self.year, m.next()),
        };
        time::Date::from_calendar_date(year, month, 1).unwrap_or(time::Date::MAX)
    }
}

impl fmt::Display for BudgetPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, u8::from(self.month))
    }
}

/// `"name-2025-08-28"` → `Some("name")`; anything without a `-YYYY-MM-DD` suffix → `None`.
fn strip_snapshot_date(model: &str) -> Option<&str> {
    let bytes = model.as_bytes();
    if bytes.len() < 12 {
        return None;
    }
    // Ids come from the network: a multi-byte character across the cut means "no date
    // suffix", never a panic in `split_at`.
    let (base, suffix) = model.split_at_checked(model.len() - 11)?;
    let s = suffix.as_bytes();
    let digits = |r: std::ops::Range<usize>| s[r].iter().all(u8::is_ascii_digit);
    if s[0] == b'-' && digits(1..5) && s[5] == b'-' && digits(6..8) && s[8] == b'-' && digits(9..11)
    {
        Some(base)
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_usd_per_million() {
        assert_eq!(usd_per_million_to_pico("0.60"), Ok(600_000));
        assert_eq!(usd_per_million_to_pico("0.06"), Ok(60_000));
        assert_eq!(usd_per_million_to_pico("64"), Ok(64_000_000));
        assert_eq!(usd_per_million_to_pico(".5"), Ok(500_000));
        assert_eq!(usd_per_million_to_pico("2.400001"), Ok(2_400_001));
        assert!(usd_per_million_to_pico("1.0000001").is_err());
        assert!(usd_per_million_to_pico("-1").is_err());
        assert!(usd_per_million_to_pico("").is_err());
        assert!(usd_per_million_to_pico("abc").is_err());
    }

    #[test]
    fn worked_example_from_research_note() {
        // 55×0.60 + 64×0.06 + 13×10 + 30×2.40 + 91×20 = 2058.84 µUSD at gpt-realtime-mini prices.
        let usage = TokenUsage {
            input_text: 119,
            input_audio: 13,
            cached_text: 64,
            output_text: 30,
            output_audio: 91,
            ..Default::default()
        };
        let table = PriceTable::default_2026();
        let pico = table.cost_pico("gpt-realtime-mini-2025-10-06", &usage);
        assert_eq!(pico, Some(2_058_840_000));
        assert_eq!(pico_to_micro(2_058_840_000), 2059);
        assert_eq!(pico_to_micro(2_058_499_999), 2058);
        assert_eq!(usage.total(), 253);
    }

    #[test]
    fn cached_is_clamped_to_modality_total() {
        let price = ModelPrice::text(10, 1, 0);
        let usage = TokenUsage {
            input_text: 5,
            cached_text: 50,
            ..Default::default()
        };
        assert_eq!(cost_pico(&usage, &price), 5);
    }

    #[test]
    fn snapshot_lookup_does_not_confuse_aliases() {
        let t = PriceTable::default_2026();
        let full = t.get("gpt-realtime").copied();
        assert_eq!(t.get("gpt-realtime-2025-08-28").copied(), full);
        assert_eq!(
            t.get("gpt-realtime-2").map(|p| p.text_out),
            Some(24_000_000)
        );
        assert_eq!(
            t.get("gpt-realtime-mini-2025-12-15").map(|p| p.text_in),
            Some(600_000)
        );
        assert!(t.get("gpt-unknown").is_none());
        assert!(t.get("gpt-unknown-2025-01-01").is_none());
    }

    #[test]
    fn non_ascii_model_ids_do_not_panic() {
        // Model ids come from the network (OpenAI answers); a multi-byte character where the
        // date suffix would start must be "no price", not a panic on a char boundary.
        let t = PriceTable::default_2026();
        assert!(t.get("gpt-realtimé-2025-08-2").is_none());
        assert!(t.get("éééééééééééé").is_none());
        assert!(t.get("gpt-realtime-2025-08-2é").is_none());
    }

    #[test]
    fn transcription_models_are_priced_and_shut_down_previews_are_not() {
        let t = PriceTable::default_2026();
        // gpt-4o-transcribe: 13 audio tokens at $6/1M + 9 text tokens at $10/1M.
        let usage = TokenUsage {
            input_audio: 13,
            output_text: 9,
            ..Default::default()
        };
        assert_eq!(
            t.cost_pico("gpt-4o-transcribe", &usage),
            Some(13 * 6_000_000 + 9 * 10_000_000)
        );
        assert_eq!(
            t.cost_pico("gpt-4o-mini-transcribe-2025-12-15", &usage),
            Some(13 * 3_000_000 + 9 * 5_000_000)
        );
        // whisper-1 bills duration: 3.2 s at $0.006/min = $0.00032.
        assert_eq!(t.duration_cost_pico("whisper-1", 3_200), Some(320_000_000));
        // Token-billed models have no duration price; unknown models have none at all.
        assert_eq!(t.duration_cost_pico("gpt-4o-transcribe", 3_200), None);
        assert_eq!(t.duration_cost_pico("whisper-2", 3_200), None);
        for gone in [
            "gpt-4o-mini-realtime-preview",
            "gpt-4o-mini-realtime-preview-2024-12-17",
            "gpt-4o-realtime-preview",
        ] {
            assert!(t.get(gone).is_none(), "{gone} is shut down");
        }
    }

    #[test]
    fn budget_states_at_exact_thresholds() {
        // $10 budget = 10_000_000 µUSD = 10^13 pUSD.
        let b = 10_000_000;
        let pico = |usd_cents: u64| usd_cents * 10_000_000_000;
        assert_eq!(BudgetState::from(0, b), BudgetState::Ok);
        assert_eq!(BudgetState::from(pico(799), b), BudgetState::Ok);
        assert_eq!(BudgetState::from(pico(800) - 1, b), BudgetState::Ok);
        assert_eq!(BudgetState::from(pico(800), b), BudgetState::Warn80);
        assert_eq!(BudgetState::from(pico(1000) - 1, b), BudgetState::Warn80);
        assert_eq!(BudgetState::from(pico(1000), b), BudgetState::Exhausted);
        assert_eq!(BudgetState::from(u64::MAX, u64::MAX), BudgetState::Ok);
        // A zero budget allows no spending at all.
        assert_eq!(BudgetState::from(0, 0), BudgetState::Exhausted);
        assert_eq!(BudgetState::Ok.threshold(), None);
        assert_eq!(
            BudgetState::Warn80.threshold().map(|t| t.percent()),
            Some(80)
        );
        assert_eq!(
            BudgetState::Exhausted.threshold().map(|t| t.percent()),
            Some(100)
        );
        assert_eq!(
            BudgetThreshold::from_percent(100),
            Some(BudgetThreshold::Exhausted)
        );
        assert_eq!(BudgetThreshold::from_percent(90), None);
    }

    #[test]
    fn budget_periods_are_utc_months() {
        use time::macros::datetime;
        let p = BudgetPeriod::of(datetime!(2026-12-31 23:30 -02:00));
        assert_eq!(p.to_string(), "2027-01", "the period is the UTC month");
        assert_eq!(p.first_day(), time::macros::date!(2027 - 01 - 01));
        assert_eq!(p.end_day(), time::macros::date!(2027 - 02 - 01));
        let dec = BudgetPeriod::parse("2026-12").unwrap();
        assert_eq!(dec.end_day(), time::macros::date!(2027 - 01 - 01));
        assert_eq!(BudgetPeriod::parse("2026-13"), None);
        assert_eq!(BudgetPeriod::parse("26-01"), None);
        assert_eq!(BudgetPeriod::parse("2026-1"), None);
        assert_eq!(BudgetPeriod::parse("+026-01"), None);
    }

    #[test]
    fn set_replaces_and_duration_cost() {
        let mut t = PriceTable::new();
        t.set("m", ModelPrice::text(1, 1, 1));
        t.set("m", ModelPrice::text(2, 2, 2));
        assert_eq!(t.iter().count(), 1);
        assert_eq!(t.get("m").map(|p| p.text_in), Some(2));
        // whisper-1 at $0.006/min for 90 s = $0.009 = 9_000 µUSD.
        assert_eq!(duration_cost_pico(90_000, 6_000_000_000), 9_000_000_000);
        let mut u = TokenUsage::chat(10, 2, 3);
        u.add(&TokenUsage::chat(1, 0, 1));
        assert_eq!((u.input_total(), u.output_total()), (11, 4));
    }
}
