//! Voice sessions (one realtime call at a kiosk), their stored turns and tool calls, follow-ups
//! handed to staff, post-call analyses, platform-wide voice settings and dated model prices.
//! Storage and the broker live elsewhere; this is the vocabulary they share, with the pure rules
//! (how a turn is stored at each storage level, the end reasons, the caps).

use super::Locale;
use crate::cost::{ModelPrice, PicoUsd, TokenUsage};
use crate::ids::*;
use crate::redact::{redact, redact_json};
use crate::scope::Scope;
use crate::validate::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Longest call a gym may configure: below the provider's 60-minute session limit.
pub const MAX_CALL_SECS: u32 = 59 * 60;
/// Longest model id accepted.
pub const MAX_MODEL_LEN: usize = 100;
/// Largest global voice-session cap.
pub const MAX_GLOBAL_CAP: u32 = 10_000;

/// Where a voice session is in its life. A session holds one slot of the gym's and of the
/// platform's caps while it is `starting` or `active` and its lease has not expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Slot acquired; the offer is being relayed to the provider.
    Starting,
    /// The provider accepted the call (its call id is stored).
    Active,
    /// Over, with an end reason; the slot is free.
    Ended,
}

impl SessionStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [SessionStatus; 3] = [
        SessionStatus::Starting,
        SessionStatus::Active,
        SessionStatus::Ended,
    ];
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            SessionStatus::Starting => "starting",
            SessionStatus::Active => "active",
            SessionStatus::Ended => "ended",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Why a voice session ended. Every exit path writes exactly one of these, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The member pressed the end button (the kiosk's `DELETE`).
    MemberEnded,
    /// The assistant called its end-the-conversation tool.
    AssistantEnded,
    /// Hung up from the dashboard by gym staff or an administrator.
    StaffEnded,
    /// Nobody spoke for the gym's idle timeout.
    Idle,
    /// The gym's maximum call duration was reached.
    MaxDuration,
    /// The gym's or the platform's monthly budget ran out (hard stop).
    BudgetExhausted,
    /// The provider reported an error that ends the call (expired session, quota, …).
    ProviderError,
    /// The sideband WebSocket dropped and could not be re-established.
    SidebandLost,
    /// The owning instance could not renew the slot lease in time and gave the call up.
    LeaseLost,
    /// The owning instance shut down gracefully.
    Shutdown,
    /// The owning instance died (stopped heart-beating); a reaper freed the slot.
    Reaped,
    /// The slot was acquired but the call never started (provider refused or unreachable).
    StartFailed,
}

impl EndReason {
    /// Every reason.
    pub const ALL: [EndReason; 12] = [
        EndReason::MemberEnded,
        EndReason::AssistantEnded,
        EndReason::StaffEnded,
        EndReason::Idle,
        EndReason::MaxDuration,
        EndReason::BudgetExhausted,
        EndReason::ProviderError,
        EndReason::SidebandLost,
        EndReason::LeaseLost,
        EndReason::Shutdown,
        EndReason::Reaped,
        EndReason::StartFailed,
    ];
    /// The stable storage name (also the CHECK constraint's list).
    pub fn as_str(&self) -> &'static str {
        match self {
            EndReason::MemberEnded => "member_ended",
            EndReason::AssistantEnded => "assistant_ended",
            EndReason::StaffEnded => "staff_ended",
            EndReason::Idle => "idle",
            EndReason::MaxDuration => "max_duration",
            EndReason::BudgetExhausted => "budget_exhausted",
            EndReason::ProviderError => "provider_error",
            EndReason::SidebandLost => "sideband_lost",
            EndReason::LeaseLost => "lease_lost",
            EndReason::Shutdown => "shutdown",
            EndReason::Reaped => "reaped",
            EndReason::StartFailed => "start_failed",
        }
    }
    /// Parses a stored or user-given value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A voice session: one realtime call brokered for a member at a kiosk, with its running cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VoiceSession {
    /// Id.
    pub id: VoiceSessionId,
    /// Franchise of the gym.
    pub franchise_id: FranchiseId,
    /// Gym.
    pub gym_id: GymId,
    /// The member; `None` once the member was erased (the row stays for cost accounting).
    pub member_id: Option<MemberId>,
    /// The kiosk the call runs on (`None` once the kiosk is deleted).
    pub kiosk_id: Option<KioskId>,
    /// Life-cycle status.
    pub status: SessionStatus,
    /// The provider's WebRTC call id (`rtc_…`), once the call started.
    pub provider_call_id: Option<String>,
    /// The provider's session id (`sess_…`), from `session.created`.
    pub provider_session_id: Option<String>,
    /// Realtime model.
    pub model: String,
    /// Input transcription model, if transcription is on.
    pub transcription_model: Option<String>,
    /// Conversation language.
    pub language: Locale,
    /// The instance that owns the call (runs its task, renews its lease).
    pub owner_instance_id: InstanceId,
    /// Until when the slot is held without a renewal.
    #[serde(with = "time::serde::rfc3339")]
    pub lease_expires_at: OffsetDateTime,
    /// When someone asked (from the dashboard) to hang up; the owner sees it on its next renewal.
    #[serde(with = "time::serde::rfc3339::option")]
    pub hangup_requested_at: Option<OffsetDateTime>,
    /// When the slot was acquired.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Why it ended (set once, with `ended_at`).
    pub end_reason: Option<EndReason>,
    /// The call's maximum duration.
    pub max_duration_secs: u32,
    /// Total cost so far in pico-USD (responses and transcription).
    pub cost_pico: PicoUsd,
    /// The part of `cost_pico` billed for input transcription.
    pub transcription_cost_pico: PicoUsd,
    /// Realtime-model tokens of every response so far.
    pub usage: TokenUsage,
    /// Transcription tokens so far (token-billed transcription models).
    pub transcription_tokens: u64,
    /// Transcribed audio so far, in milliseconds (duration-billed transcription models).
    pub transcription_ms: u64,
    /// Responses metered.
    pub responses: u32,
    /// Turns recorded (also the last turn's sequence number).
    pub turn_count: u32,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl VoiceSession {
    /// The gym scope of the session: the broker's writes for a call it owns run there.
    pub fn scope(&self) -> Scope {
        Scope::Gym {
            franchise: self.franchise_id,
            gym: self.gym_id,
        }
    }
    /// Whether the session is `starting` or `active` (it may still hold a slot).
    pub fn is_live(&self) -> bool {
        self.status != SessionStatus::Ended
    }
}

/// Input to acquire a slot and open a session.
#[derive(Debug, Clone)]
pub struct NewVoiceSession {
    /// The member talking (checked to belong to the gym).
    pub member_id: MemberId,
    /// The kiosk (checked to belong to the gym).
    pub kiosk_id: Option<KioskId>,
    /// The instance that will own the call and renew its lease.
    pub owner: InstanceId,
    /// How long the slot is held without a renewal.
    pub lease: time::Duration,
    /// Realtime model.
    pub model: String,
    /// Input transcription model.
    pub transcription_model: Option<String>,
    /// Conversation language.
    pub language: Locale,
    /// Maximum duration (1 s to [`MAX_CALL_SECS`]).
    pub max_duration_secs: u32,
}

/// Checks a model id: 1–100 characters of `[A-Za-z0-9._:-]`.
pub fn check_model(v: &mut ValidationErrors, field: &str, model: &str) -> String {
    let m = model.trim().to_string();
    if m.is_empty() || m.len() > MAX_MODEL_LEN {
        v.push(FieldError::new(
            field,
            "invalid_length",
            format!("must be 1 to {MAX_MODEL_LEN} characters"),
        ));
    } else if !m
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'))
    {
        v.push(FieldError::new(
            field,
            "invalid_format",
            "may only hold letters, digits, '.', '_', '-' and ':'",
        ));
    }
    m
}

impl NewVoiceSession {
    /// Checks the model ids and the maximum duration.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let model = check_model(&mut v, "model", &self.model);
        let transcription_model = self
            .transcription_model
            .as_deref()
            .map(|m| check_model(&mut v, "transcription_model", m));
        if !(1..=MAX_CALL_SECS).contains(&self.max_duration_secs) {
            v.push(FieldError::new(
                "max_duration_secs",
                "out_of_range",
                format!("must be between 1 and {MAX_CALL_SECS}"),
            ));
        }
        v.finish().map(|()| Self {
            model,
            transcription_model,
            ..self
        })
    }
}

/// Which cap refused a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cap {
    /// The gym's `voice_session_cap`.
    Gym,
    /// The platform's global cap, counted across every instance.
    Global,
}

/// A start refused because a cap is reached; nothing was stored and nothing is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CapRefusal {
    /// Which cap.
    pub cap: Cap,
    /// Its value.
    pub limit: u32,
    /// Slots held when the start was refused.
    pub live: u32,
}

impl CapRefusal {
    /// The refusal code the kiosk explains (same for both caps).
    pub const CODE: &'static str = "capacity_reached";
}

impl SlotUsage {
    /// The cap that is full now (the gym's first), if any. A read, not an acquisition: only
    /// good for refusing early; admission is the store's atomic `start_session`.
    pub fn full(&self) -> Option<CapRefusal> {
        if self.gym_live >= self.gym_cap {
            Some(CapRefusal {
                cap: Cap::Gym,
                limit: self.gym_cap,
                live: self.gym_live,
            })
        } else if self.global_live >= self.global_cap {
            Some(CapRefusal {
                cap: Cap::Global,
                limit: self.global_cap,
                live: self.global_live,
            })
        } else {
            None
        }
    }
}

/// Slots held now against the caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlotUsage {
    /// Slots the gym holds.
    pub gym_live: u32,
    /// The gym's cap.
    pub gym_cap: u32,
    /// Slots held on the whole platform.
    pub global_live: u32,
    /// The global cap.
    pub global_cap: u32,
}

/// How much of a conversation a gym keeps.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum StorageLevel {
    /// Every word, verbatim.
    Full,
    /// Every word, with e-mail addresses, phone numbers, card numbers and dates replaced before
    /// storage (the default: data minimisation).
    #[default]
    Redacted,
    /// No text at all: who, when, how long, cost, tool names.
    Metadata,
}

impl StorageLevel {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            StorageLevel::Full => "full",
            StorageLevel::Redacted => "redacted",
            StorageLevel::Metadata => "metadata",
        }
    }

    /// The level for one member's conversation: the gym's level, lowered to metadata when the
    /// gym turned transcripts off or the member did not consent to them.
    pub fn for_member(self, transcripts_enabled: bool, member_consents: bool) -> StorageLevel {
        if transcripts_enabled && member_consents {
            self
        } else {
            StorageLevel::Metadata
        }
    }

    /// `raw` as stored at this level: (text, whether it was redacted).
    fn text(self, raw: &str) -> (Option<String>, bool) {
        match self {
            StorageLevel::Full => (Some(raw.to_string()), false),
            StorageLevel::Redacted => (Some(redact(raw)), true),
            StorageLevel::Metadata => (None, false),
        }
    }

    /// `raw` JSON as stored at this level.
    fn json(self, raw: serde_json::Value) -> Option<serde_json::Value> {
        match self {
            StorageLevel::Full => Some(raw),
            StorageLevel::Redacted => Some(redact_json(&raw)),
            StorageLevel::Metadata => None,
        }
    }
}

/// Who spoke a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TurnRole {
    /// The member (input transcription).
    Member,
    /// The assistant (output audio transcript).
    Assistant,
}

impl TurnRole {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            TurnRole::Member => "member",
            TurnRole::Assistant => "assistant",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        [TurnRole::Member, TurnRole::Assistant]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One stored turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationTurn {
    /// Id.
    pub id: TurnId,
    /// Session.
    pub session_id: VoiceSessionId,
    /// Gym.
    pub gym_id: GymId,
    /// Position in the session, from 1.
    pub seq: u32,
    /// Who spoke.
    pub role: TurnRole,
    /// What was said, as stored at the gym's level (`None` at `metadata`).
    pub text: Option<String>,
    /// Whether personal data was replaced before storage.
    pub redacted: bool,
    /// When it was said (transcript completed).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The response that produced an assistant turn.
    pub response_id: Option<String>,
    /// That response's tokens.
    pub usage: Option<TokenUsage>,
    /// That response's cost in pico-USD (realtime cost grows with every turn of context).
    pub cost_pico: Option<PicoUsd>,
    /// Member stopped speaking → first assistant audio, in milliseconds.
    pub latency_ms: Option<u32>,
}

/// A turn to store, already reduced to the storage level: the raw text never reaches storage.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTurn {
    role: TurnRole,
    text: Option<String>,
    redacted: bool,
    at: OffsetDateTime,
    latency_ms: Option<u32>,
}

impl NewTurn {
    /// What `role` said at `at`, kept as `level` says.
    pub fn new(level: StorageLevel, role: TurnRole, raw: &str, at: OffsetDateTime) -> Self {
        let (text, redacted) = level.text(raw);
        NewTurn {
            role,
            text,
            redacted,
            at,
            latency_ms: None,
        }
    }
    /// With the measured responsiveness (member stopped speaking → first assistant audio).
    pub fn with_latency_ms(mut self, ms: u32) -> Self {
        self.latency_ms = Some(ms);
        self
    }
    /// Who spoke.
    pub fn role(&self) -> TurnRole {
        self.role
    }
    /// The text to store.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
    /// Whether the text was redacted.
    pub fn redacted(&self) -> bool {
        self.redacted
    }
    /// When.
    pub fn at(&self) -> OffsetDateTime {
        self.at
    }
    /// Latency, if measured.
    pub fn latency_ms(&self) -> Option<u32> {
        self.latency_ms
    }
}

/// Usage of one `response.done`, priced by the broker with the price table of its time.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseUsage {
    /// The provider's response id.
    pub response_id: String,
    /// When the response was done (its UTC day gets the cost).
    pub at: OffsetDateTime,
    /// Its tokens.
    pub usage: TokenUsage,
    /// Its cost in pico-USD.
    pub cost_pico: PicoUsd,
}

/// How a transcription was billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptionBilling {
    /// Token-billed models (`gpt-4o-transcribe`, `gpt-4o-mini-transcribe`).
    Tokens(TokenUsage),
    /// Duration-billed models (`whisper-1`): milliseconds of audio.
    Duration {
        /// Milliseconds of audio.
        millis: u64,
    },
}

/// Usage of one input transcription, priced by the broker.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptionUsage {
    /// When it completed (its UTC day gets the cost).
    pub at: OffsetDateTime,
    /// Tokens or duration.
    pub billing: TranscriptionBilling,
    /// Its cost in pico-USD.
    pub cost_pico: PicoUsd,
}

/// One function call the assistant made, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToolCall {
    /// Id.
    pub id: ToolCallId,
    /// Session.
    pub session_id: VoiceSessionId,
    /// Gym.
    pub gym_id: GymId,
    /// The provider's call id (unique within the session).
    pub call_id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as stored at the gym's level (`None` at `metadata`).
    #[schema(value_type = Option<Object>)]
    pub arguments: Option<serde_json::Value>,
    /// Result as stored at the gym's level (`None` at `metadata` or on error).
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// The error, if the tool failed.
    pub error: Option<String>,
    /// Whether personal data was replaced before storage.
    pub redacted: bool,
    /// How long the tool ran.
    pub duration_ms: u32,
    /// When it was called.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A tool call to store, already reduced to the storage level.
#[derive(Debug, Clone, PartialEq)]
pub struct NewToolCall {
    call_id: String,
    name: String,
    arguments: Option<serde_json::Value>,
    result: Option<serde_json::Value>,
    error: Option<String>,
    redacted: bool,
    duration_ms: u32,
    at: OffsetDateTime,
}

impl NewToolCall {
    /// A tool call kept as `level` says. Errors come from our own tools (short messages), so
    /// they are kept at every level, with personal data redacted below `full`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        level: StorageLevel,
        call_id: &str,
        name: &str,
        arguments: serde_json::Value,
        outcome: Result<serde_json::Value, String>,
        duration_ms: u32,
        at: OffsetDateTime,
    ) -> Self {
        let (result, error) = match outcome {
            Ok(v) => (level.json(v), None),
            Err(e) => (
                None,
                Some(match level {
                    StorageLevel::Full => e,
                    _ => redact(&e),
                }),
            ),
        };
        NewToolCall {
            call_id: call_id.to_string(),
            name: name.to_string(),
            arguments: level.json(arguments),
            result,
            error,
            redacted: level == StorageLevel::Redacted,
            duration_ms,
            at,
        }
    }
    /// Provider call id.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }
    /// Tool name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Arguments to store.
    pub fn arguments(&self) -> Option<&serde_json::Value> {
        self.arguments.as_ref()
    }
    /// Result to store.
    pub fn result(&self) -> Option<&serde_json::Value> {
        self.result.as_ref()
    }
    /// Error to store.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
    /// Whether redacted.
    pub fn redacted(&self) -> bool {
        self.redacted
    }
    /// Duration.
    pub fn duration_ms(&self) -> u32 {
        self.duration_ms
    }
    /// When.
    pub fn at(&self) -> OffsetDateTime {
        self.at
    }
}

/// Responsiveness of a gym's conversations (member stops speaking → first assistant audio), as
/// voice-agent platforms report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LatencyStats {
    /// Turns measured.
    pub count: u64,
    /// Median, in milliseconds (`None` without samples).
    pub p50_ms: Option<u32>,
    /// 95th percentile, in milliseconds.
    pub p95_ms: Option<u32>,
}

impl LatencyStats {
    /// Nearest-rank percentiles of `samples` (the value at rank ⌈p·n⌉ once sorted).
    pub fn from_samples(mut samples: Vec<u32>) -> Self {
        samples.sort_unstable();
        let n = samples.len();
        let rank = |p: usize| -> Option<u32> {
            (n > 0).then(|| samples[(p * n).div_ceil(100).clamp(1, n) - 1])
        };
        LatencyStats {
            count: n as u64,
            p50_ms: rank(50),
            p95_ms: rank(95),
        }
    }

    /// Nearest-rank percentiles of a histogram: `(value, count)` pairs in any order, each
    /// value standing for its `count` samples.
    pub fn from_histogram(mut buckets: Vec<(u32, u64)>) -> Self {
        buckets.sort_unstable();
        let n: u64 = buckets.iter().map(|b| b.1).sum();
        let rank = |p: u64| -> Option<u32> {
            if n == 0 {
                return None;
            }
            let r = (p * n).div_ceil(100).clamp(1, n);
            let mut seen = 0;
            buckets.iter().find_map(|&(v, c)| {
                seen += c;
                (seen >= r).then_some(v)
            })
        };
        LatencyStats {
            count: n,
            p50_ms: rank(50),
            p95_ms: rank(95),
        }
    }
}

/// Whether a follow-up is still to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpStatus {
    /// Waiting for staff.
    Open,
    /// Handled.
    Done,
}

impl FollowUpStatus {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            FollowUpStatus::Open => "open",
            FollowUpStatus::Done => "done",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        [FollowUpStatus::Open, FollowUpStatus::Done]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A task handed to the gym's staff (by the assistant's hand-off tool), shown on the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FollowUp {
    /// Id.
    pub id: FollowUpId,
    /// Gym.
    pub gym_id: GymId,
    /// The member (`None` once erased: then the follow-up is deleted too).
    pub member_id: Option<MemberId>,
    /// The conversation it came from.
    pub session_id: Option<VoiceSessionId>,
    /// What to do, in the member's or the assistant's words.
    pub reason: String,
    /// Open or done.
    pub status: FollowUpStatus,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was marked done.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// Who marked it done.
    pub resolved_by: Option<UserId>,
}

/// Input to create a follow-up.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFollowUp {
    /// The member.
    pub member_id: Option<MemberId>,
    /// The conversation.
    pub session_id: Option<VoiceSessionId>,
    /// What to do (1–1000 characters).
    pub reason: String,
}

impl NewFollowUp {
    /// Trims and checks the reason.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let reason = v.text("reason", &self.reason, 1000);
        v.finish().map(|()| Self { reason, ..self })
    }
}

/// Overall tone of a conversation.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Sentiment {
    /// Happy, satisfied.
    Positive,
    /// Neither.
    #[default]
    Neutral,
    /// Unhappy, frustrated.
    Negative,
    /// Both.
    Mixed,
}

impl Sentiment {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Sentiment::Positive => "positive",
            Sentiment::Neutral => "neutral",
            Sentiment::Negative => "negative",
            Sentiment::Mixed => "mixed",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Sentiment::Positive,
            Sentiment::Neutral,
            Sentiment::Negative,
            Sentiment::Mixed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// What a post-call analysis concluded about one session, or why it could not.
///
/// `status` is `done` (every standard field was answered and validated) or `failed` (the
/// model refused or answered outside the schema on every bounded attempt: nothing is guessed,
/// the standard fields are empty and `failure` says why).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionAnalysis {
    /// The session.
    pub session_id: VoiceSessionId,
    /// Gym.
    pub gym_id: GymId,
    /// The member.
    pub member_id: Option<MemberId>,
    /// `done` or `failed`.
    pub status: AnalysisStatus,
    /// Why it failed (refusal, invalid output), when `failed`.
    pub failure: Option<String>,
    /// A few sentences (used as "the last conversation" in the next call's instructions);
    /// empty when failed.
    pub summary: String,
    /// Overall tone, derived from `sentiment_score` (stored by older analyses without a score).
    pub sentiment: Option<Sentiment>,
    /// Tone from -1 (very negative) to 1 (very positive).
    pub sentiment_score: Option<f64>,
    /// Topics discussed.
    pub topics: Vec<String>,
    /// The member's satisfaction, 1 to 5.
    pub satisfaction: Option<u8>,
    /// Whether staff should follow up.
    pub follow_up: Option<bool>,
    /// Why (when `follow_up`).
    pub follow_up_reason: Option<String>,
    /// Whether the member expressed the intent to cancel the membership.
    pub cancellation_intent: Option<bool>,
    /// The gym's custom fields: name → value (validated against the field's type).
    #[schema(value_type = Object)]
    pub custom: serde_json::Map<String, serde_json::Value>,
    /// Chat calls made (retries included).
    pub attempts: u32,
    /// The chat model that answered.
    pub model: Option<String>,
    /// What the analysis cost (also added to the session's cost), pico-USD.
    pub cost_pico: PicoUsd,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Whether an analysis succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisStatus {
    /// Answered and validated.
    Done,
    /// Refused or invalid on every attempt; recorded, never guessed.
    Failed,
}

impl AnalysisStatus {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            AnalysisStatus::Done => "done",
            AnalysisStatus::Failed => "failed",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        [AnalysisStatus::Done, AnalysisStatus::Failed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

impl Sentiment {
    /// The tone of a score in -1..1: below -0.25 negative, above 0.25 positive, else neutral
    /// (the score cannot express "mixed"; older analyses may still carry it).
    pub fn from_score(score: f64) -> Self {
        if score < -0.25 {
            Sentiment::Negative
        } else if score > 0.25 {
            Sentiment::Positive
        } else {
            Sentiment::Neutral
        }
    }
}

/// Input to store an analysis (one per session; storing again replaces it). The fields added
/// with the analysis job are optional, so an analysis stored by hand needs only the first three.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSessionAnalysis {
    /// Summary (1–4000 characters).
    pub summary: String,
    /// Tone.
    pub sentiment: Sentiment,
    /// Topics (at most 20, each 1–80 characters).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Tone from -1 to 1.
    #[serde(default)]
    pub sentiment_score: Option<f64>,
    /// Satisfaction 1–5.
    #[serde(default)]
    pub satisfaction: Option<u8>,
    /// Staff should follow up.
    #[serde(default)]
    pub follow_up: Option<bool>,
    /// Why (at most 1000 characters).
    #[serde(default)]
    pub follow_up_reason: Option<String>,
    /// Intent to cancel.
    #[serde(default)]
    pub cancellation_intent: Option<bool>,
    /// Custom fields, already validated against the gym's field definitions.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom: serde_json::Map<String, serde_json::Value>,
    /// Chat calls made.
    #[serde(default)]
    pub attempts: u32,
    /// Chat model.
    #[serde(default)]
    pub model: Option<String>,
    /// Cost of the chat calls, pico-USD (added to the session's cost when stored).
    #[serde(default)]
    pub cost_pico: PicoUsd,
}

impl NewSessionAnalysis {
    /// Trims and checks every field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let summary = v.text("summary", &self.summary, 4000);
        if self.topics.len() > 20 {
            v.push(FieldError::new("topics", "too_many", "at most 20 topics"));
        }
        // Lower-cased here, in Rust, so the daily topic rollup counts `Étirements` and
        // `étirements` as one on both backends (SQLite's lower() folds ASCII only).
        let topics = self
            .topics
            .iter()
            .enumerate()
            .map(|(i, t)| v.text(&format!("topics[{i}]"), t, 80).to_lowercase())
            .collect();
        if let Some(s) = self.sentiment_score
            && !(s.is_finite() && (-1.0..=1.0).contains(&s))
        {
            v.push(FieldError::new(
                "sentiment_score",
                "out_of_range",
                "between -1 and 1",
            ));
        }
        if let Some(n) = self.satisfaction
            && !(1..=5).contains(&n)
        {
            v.push(FieldError::new(
                "satisfaction",
                "out_of_range",
                "between 1 and 5",
            ));
        }
        let follow_up_reason =
            v.opt_text("follow_up_reason", self.follow_up_reason.as_deref(), 1000);
        if serde_json::to_string(&self.custom).map_or(0, |s| s.len()) > 16_000 {
            v.push(FieldError::new(
                "custom",
                "too_long",
                "at most 16 000 bytes",
            ));
        }
        v.finish().map(|()| Self {
            summary,
            topics,
            follow_up_reason,
            ..self
        })
    }
}

/// Platform-wide voice settings (one row, edited by super admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlatformSettings {
    /// Most voice sessions at once across every gym and instance (1–10000, default 100).
    #[serde(default = "default_global_cap")]
    pub voice_session_cap: u32,
    /// Monthly AI spending limit of the whole platform in micro-dollars (default $1000).
    #[serde(default = "default_platform_budget")]
    pub monthly_budget_micros: i64,
    /// Whether reaching 100 % of a budget (gym or platform) refuses new calls and hangs up
    /// running ones (default true); otherwise it only alerts.
    #[serde(default = "default_true")]
    pub hard_stop: bool,
    /// Realtime model of new sessions.
    #[serde(default = "default_realtime_model")]
    pub realtime_model: String,
    /// Input transcription model of new sessions.
    #[serde(default = "default_transcription_model")]
    pub transcription_model: String,
}

fn default_global_cap() -> u32 {
    100
}
fn default_platform_budget() -> i64 {
    1_000_000_000
}
fn default_true() -> bool {
    true
}
fn default_realtime_model() -> String {
    "gpt-realtime-2.1-mini".into()
}
fn default_transcription_model() -> String {
    "gpt-4o-mini-transcribe".into()
}

impl Default for PlatformSettings {
    fn default() -> Self {
        Self {
            voice_session_cap: default_global_cap(),
            monthly_budget_micros: default_platform_budget(),
            hard_stop: true,
            realtime_model: default_realtime_model(),
            transcription_model: default_transcription_model(),
        }
    }
}

impl PlatformSettings {
    /// Checks every field; errors name the field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        if !(1..=MAX_GLOBAL_CAP).contains(&self.voice_session_cap) {
            v.push(FieldError::new(
                "voice_session_cap",
                "out_of_range",
                format!("must be between 1 and {MAX_GLOBAL_CAP}"),
            ));
        }
        if !(0..=super::MAX_BUDGET_MICROS).contains(&self.monthly_budget_micros) {
            v.push(FieldError::new(
                "monthly_budget_micros",
                "out_of_range",
                "must be between 0 and 1000000000000 micro-dollars",
            ));
        }
        let realtime_model = check_model(&mut v, "realtime_model", &self.realtime_model);
        let transcription_model =
            check_model(&mut v, "transcription_model", &self.transcription_model);
        v.finish().map(|()| Self {
            realtime_model,
            transcription_model,
            ..self
        })
    }
}

/// One dated price of a model: applies from `effective_from` until the model's next row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModelPriceEntry {
    /// Id.
    pub id: ModelPriceId,
    /// Model id (dated snapshots of it use the same price).
    pub model: String,
    /// Prices in pico-USD per token (and per minute for duration-billed transcription).
    pub price: ModelPrice,
    /// From when the price applies.
    #[serde(with = "time::serde::rfc3339")]
    pub effective_from: OffsetDateTime,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Who set it (`None` for the seeded published prices).
    pub created_by: Option<UserId>,
}

/// Input to set a model's price from a date (replaces a row of the same model and date).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModelPrice {
    /// Model id.
    pub model: String,
    /// Prices in pico-USD per token.
    pub price: ModelPrice,
    /// From when it applies.
    #[serde(with = "time::serde::rfc3339")]
    pub effective_from: OffsetDateTime,
}

/// Most pico-USD per token (or per minute) accepted: $1,000,000 per 1M tokens.
pub const MAX_PRICE_PICO: u64 = 1_000_000 * 1_000_000;

impl NewModelPrice {
    /// Checks the model id and that every price fits.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let model = check_model(&mut v, "model", &self.model);
        let p = &self.price;
        for (name, value) in [
            ("price.text_in", p.text_in),
            ("price.text_cached", p.text_cached),
            ("price.text_out", p.text_out),
            ("price.audio_in", p.audio_in),
            ("price.audio_cached", p.audio_cached),
            ("price.audio_out", p.audio_out),
            ("price.image_in", p.image_in),
            ("price.image_cached", p.image_cached),
            ("price.per_minute", p.per_minute),
        ] {
            if value > MAX_PRICE_PICO {
                v.push(FieldError::new(
                    name,
                    "out_of_range",
                    format!("must be at most {MAX_PRICE_PICO} pico-dollars"),
                ));
            }
        }
        v.finish().map(|()| Self { model, ..self })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn end_reasons_round_trip_and_are_unique() {
        let names: std::collections::BTreeSet<_> =
            EndReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), EndReason::ALL.len());
        for r in EndReason::ALL {
            assert_eq!(EndReason::parse(r.as_str()), Some(r));
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                json!(r.as_str()),
                "serde and storage names agree"
            );
        }
        assert_eq!(EndReason::parse("crashed"), None);
        for s in SessionStatus::ALL {
            assert_eq!(SessionStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn turns_are_stored_at_the_level() {
        let at = datetime!(2026-11-02 10:00 UTC);
        let raw = "Mon mail est jean@exemple.fr <script>x</script>";
        let full = NewTurn::new(StorageLevel::Full, TurnRole::Member, raw, at);
        assert_eq!((full.text(), full.redacted()), (Some(raw), false));
        let red = NewTurn::new(StorageLevel::Redacted, TurnRole::Member, raw, at);
        assert_eq!(
            (red.text(), red.redacted()),
            (Some("Mon mail est [email] <script>x</script>"), true)
        );
        let meta =
            NewTurn::new(StorageLevel::Metadata, TurnRole::Assistant, raw, at).with_latency_ms(420);
        assert_eq!((meta.text(), meta.latency_ms()), (None, Some(420)));
    }

    #[test]
    fn tool_calls_are_stored_at_the_level() {
        let at = datetime!(2026-11-02 10:00 UTC);
        let args = json!({"note": "tel 06 12 34 56 78"});
        let c = NewToolCall::new(
            StorageLevel::Redacted,
            "call_1",
            "add_member_fact",
            args.clone(),
            Ok(json!({"ok": true, "email": "a@b.fr"})),
            12,
            at,
        );
        assert_eq!(c.arguments(), Some(&json!({"note": "tel [phone]"})));
        assert_eq!(c.result(), Some(&json!({"ok": true, "email": "[email]"})));
        assert!(c.redacted());
        let m = NewToolCall::new(
            StorageLevel::Metadata,
            "call_2",
            "add_member_fact",
            args.clone(),
            Err("member a@b.fr not found".into()),
            3,
            at,
        );
        assert_eq!((m.arguments(), m.result()), (None, None));
        assert_eq!(m.error(), Some("member [email] not found"));
        let f = NewToolCall::new(
            StorageLevel::Full,
            "c",
            "t",
            args.clone(),
            Ok(json!(1)),
            1,
            at,
        );
        assert_eq!(f.arguments(), Some(&args));
    }

    #[test]
    fn latency_percentiles_by_nearest_rank() {
        assert_eq!(LatencyStats::from_samples(vec![]), LatencyStats::default());
        let one = LatencyStats::from_samples(vec![700]);
        assert_eq!(
            (one.count, one.p50_ms, one.p95_ms),
            (1, Some(700), Some(700))
        );
        // 1..=100: p50 = 50, p95 = 95; order does not matter.
        let s = LatencyStats::from_samples((1..=100).rev().collect());
        assert_eq!((s.count, s.p50_ms, s.p95_ms), (100, Some(50), Some(95)));
        let s = LatencyStats::from_samples(vec![300, 100, 200, 900]);
        assert_eq!((s.p50_ms, s.p95_ms), (Some(200), Some(900)));
        // A histogram gives what its expanded samples give.
        let h = LatencyStats::from_histogram(vec![(900, 1), (100, 1), (200, 2)]);
        assert_eq!(h, LatencyStats::from_samples(vec![100, 200, 200, 900]));
        let h = LatencyStats::from_histogram((1..=100).map(|v| (v, 3)).collect());
        assert_eq!(
            h,
            LatencyStats::from_samples((1..=100).flat_map(|v| [v, v, v]).collect())
        );
        assert_eq!(
            LatencyStats::from_histogram(vec![(5, 0)]),
            LatencyStats::default()
        );
    }

    #[test]
    fn member_consent_lowers_the_level() {
        assert_eq!(
            StorageLevel::Full.for_member(true, true),
            StorageLevel::Full
        );
        assert_eq!(
            StorageLevel::Full.for_member(true, false),
            StorageLevel::Metadata
        );
        assert_eq!(
            StorageLevel::Redacted.for_member(false, true),
            StorageLevel::Metadata
        );
    }

    #[test]
    fn inputs_are_checked() {
        let new = NewVoiceSession {
            member_id: MemberId::new(),
            kiosk_id: None,
            owner: InstanceId::new(),
            lease: time::Duration::seconds(30),
            model: " gpt realtime ".into(),
            transcription_model: Some(String::new()),
            language: Locale::Fr,
            max_duration_secs: 3600,
        };
        let fields: Vec<String> = new
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["model", "transcription_model", "max_duration_secs"]
        );
        let bad = PlatformSettings {
            voice_session_cap: 0,
            monthly_budget_micros: -1,
            realtime_model: String::new(),
            ..Default::default()
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "voice_session_cap",
                "monthly_budget_micros",
                "realtime_model"
            ]
        );
        assert!(PlatformSettings::default().validate().is_ok());
        assert_eq!(
            serde_json::from_value::<PlatformSettings>(json!({})).unwrap(),
            PlatformSettings::default()
        );
        let price = NewModelPrice {
            model: "m".into(),
            price: ModelPrice {
                audio_out: MAX_PRICE_PICO + 1,
                ..Default::default()
            },
            effective_from: datetime!(2026-01-01 0:00 UTC),
        };
        assert_eq!(price.validate().unwrap_err().0[0].field, "price.audio_out");
        let a = NewSessionAnalysis {
            summary: "ok".into(),
            sentiment: Sentiment::Mixed,
            topics: vec!["yoga".into(), " ".into()],
            ..Default::default()
        };
        assert_eq!(a.validate().unwrap_err().0[0].field, "topics[1]");
    }
}
