//! Counters of the broker, for logs, `/metrics` and tests: what must never vanish silently
//! (malformed provider events, usage without a price, failed writes) is counted here as well
//! as logged at error level.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters (cheap to update from every call task).
#[derive(Debug, Default)]
pub struct VoiceMetrics {
    pub(crate) calls_started: AtomicU64,
    pub(crate) calls_ended: AtomicU64,
    pub(crate) starts_refused: AtomicU64,
    pub(crate) responses_metered: AtomicU64,
    pub(crate) transcriptions_metered: AtomicU64,
    pub(crate) malformed_events: AtomicU64,
    pub(crate) unpriced_usages: AtomicU64,
    pub(crate) unbilled_usages: AtomicU64,
    pub(crate) store_errors: AtomicU64,
    pub(crate) tool_calls: AtomicU64,
    pub(crate) tool_errors: AtomicU64,
    pub(crate) budget_stops: AtomicU64,
    pub(crate) context_items_deleted: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VoiceMetricsSnapshot {
    /// Calls whose task started.
    pub calls_started: u64,
    /// Calls whose task ended (any reason).
    pub calls_ended: u64,
    /// Starts refused (any code).
    pub starts_refused: u64,
    /// `response.done` usages metered.
    pub responses_metered: u64,
    /// Input transcriptions metered.
    pub transcriptions_metered: u64,
    /// Provider events that could not be parsed (each also logged at error level).
    pub malformed_events: u64,
    /// Usages metered at zero because their model has no price (logged at error level).
    pub unpriced_usages: u64,
    /// Billable events whose usage could not be read at all (logged at error level).
    pub unbilled_usages: u64,
    /// Storage writes that failed during calls.
    pub store_errors: u64,
    /// Function calls executed.
    pub tool_calls: u64,
    /// Function calls that failed.
    pub tool_errors: u64,
    /// Calls hung up because a budget ran out.
    pub budget_stops: u64,
    /// Conversation items deleted to keep the context bounded.
    pub context_items_deleted: u64,
}

impl VoiceMetrics {
    pub(crate) fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> VoiceMetricsSnapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        VoiceMetricsSnapshot {
            calls_started: g(&self.calls_started),
            calls_ended: g(&self.calls_ended),
            starts_refused: g(&self.starts_refused),
            responses_metered: g(&self.responses_metered),
            transcriptions_metered: g(&self.transcriptions_metered),
            malformed_events: g(&self.malformed_events),
            unpriced_usages: g(&self.unpriced_usages),
            unbilled_usages: g(&self.unbilled_usages),
            store_errors: g(&self.store_errors),
            tool_calls: g(&self.tool_calls),
            tool_errors: g(&self.tool_errors),
            budget_stops: g(&self.budget_stops),
            context_items_deleted: g(&self.context_items_deleted),
        }
    }
}
