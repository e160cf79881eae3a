//! Client-side cost meter of one realtime session, fed with the session's server events.

use jarvis_core::cost::{PicoUsd, PriceTable};

use crate::realtime::{ServerEvent, SessionConfig};

/// Prices a realtime session from its events with the deployment's price table.
///
/// Responses are priced at the session's model (from `session.created` / `session.updated`,
/// usually a dated snapshot that the table resolves to its alias); input transcriptions at the
/// session's transcription model, per token or per minute as the usage says. Anything that
/// cannot be priced is listed in [`unpriced`](Self::unpriced) rather than counted as free.
#[derive(Debug, Clone)]
pub struct SessionMeter {
    prices: PriceTable,
    model: Option<String>,
    transcription_model: Option<String>,
    total_pico: PicoUsd,
    responses_pico: PicoUsd,
    transcriptions_pico: PicoUsd,
    unpriced: Vec<String>,
}

impl SessionMeter {
    /// A meter using `prices` (the configured table, never an implicit default).
    pub fn new(prices: PriceTable) -> Self {
        SessionMeter {
            prices,
            model: None,
            transcription_model: None,
            total_pico: 0,
            responses_pico: 0,
            transcriptions_pico: 0,
            unpriced: Vec::new(),
        }
    }

    /// Accounts for one event; returns the cost it booked, if any.
    pub fn observe(&mut self, event: &ServerEvent) -> Option<PicoUsd> {
        match event {
            ServerEvent::SessionCreated { session } | ServerEvent::SessionUpdated { session } => {
                self.follow(session);
                None
            }
            ServerEvent::ResponseDone { response } => {
                let usage = response.usage.as_ref()?.to_token_usage();
                let model = self.model.clone().unwrap_or_default();
                match self.prices.cost_pico(&model, &usage) {
                    Some(c) => {
                        self.responses_pico = self.responses_pico.saturating_add(c);
                        self.book(c)
                    }
                    None => self.miss(format!("response {} (model {model:?})", response.id)),
                }
            }
            ServerEvent::InputTranscriptionCompleted { item_id, usage, .. } => {
                let usage = usage.as_ref()?;
                let model = self.transcription_model.clone().unwrap_or_default();
                match usage.cost_pico(&self.prices, &model) {
                    Some(c) => {
                        self.transcriptions_pico = self.transcriptions_pico.saturating_add(c);
                        self.book(c)
                    }
                    None => self.miss(format!("transcription {item_id} (model {model:?})")),
                }
            }
            _ => None,
        }
    }

    fn follow(&mut self, session: &SessionConfig) {
        if let Some(m) = &session.model {
            self.model = Some(m.clone());
        }
        // `session.updated` carries the whole effective session: no transcription there means off.
        self.transcription_model = session.transcription_model().map(str::to_owned);
    }

    fn book(&mut self, c: PicoUsd) -> Option<PicoUsd> {
        self.total_pico = self.total_pico.saturating_add(c);
        Some(c)
    }

    fn miss(&mut self, what: String) -> Option<PicoUsd> {
        tracing::warn!(%what, "realtime usage without a price");
        self.unpriced.push(what);
        None
    }

    /// Total booked so far, in pico-USD.
    pub fn total_pico(&self) -> PicoUsd {
        self.total_pico
    }

    /// Part of the total from `response.done` usage.
    pub fn responses_pico(&self) -> PicoUsd {
        self.responses_pico
    }

    /// Part of the total from input transcriptions.
    pub fn transcriptions_pico(&self) -> PicoUsd {
        self.transcriptions_pico
    }

    /// Billed units that had no price (model missing from the table, or unknown usage shape).
    pub fn unpriced(&self) -> &[String] {
        &self.unpriced
    }

    /// The model responses are priced at, as last reported by the session.
    pub fn model(&self) -> Option<&str> {
        self.model.as_deref()
    }
}
