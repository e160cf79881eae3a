//! The voice broker: admits a member's call (membership, consent, budgets, an atomic slot),
//! relays the kiosk's SDP offer to the provider with the server's key, then runs **one task per
//! call** that owns the call's sideband WebSocket until the call ends: it stores turns at the
//! gym's storage level, executes every function call server-side with a context bound to the
//! session it owns, meters every usage into exact cost, enforces budgets, idle and duration
//! limits and its slot lease, and ends the session exactly once with one [`EndReason`].
//!
//! No HTTP types: the server's handlers call [`VoiceBroker::start`] and [`VoiceBroker::end`]
//! and map [`StartRefusal`] codes; the job runner schedules [`reap`].
//!
//! [`EndReason`]: jarvis_core::model::EndReason

pub mod analysis;
mod broker;
mod budget;
mod call;
pub mod instructions;
mod metrics;
pub mod simulate;
pub mod tools;

pub use analysis::{
    ANALYSIS_JOB_KIND, AnalysisConfig, AnalysisError, AnalysisJob, AnalysisOutcome, analyze_session,
};
pub use broker::{
    EndError, ReapReport, StartError, StartRefusal, Started, VoiceBroker, VoiceConfig,
    assistant_tools, reap,
};
pub use budget::{AlertEmails, NoAlertEmails};
pub use call::CallCommand;
pub use metrics::{VoiceMetrics, VoiceMetricsSnapshot};
pub use simulate::{SimError, SimEvent, Simulator};
