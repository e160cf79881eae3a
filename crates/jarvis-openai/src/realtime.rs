//! GA Realtime wire types: session config, client secrets, server and client events.
//!
//! Parsing is lenient where the API may grow: unknown fields are kept (`extra` maps), unknown
//! tool and voice shapes are kept verbatim, so a session the server accepted always parses
//! and re-serializes to the same JSON.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::config::ApiKey;

/// Reads a present field as `Some(value)`, `null` included: in a `session.update`, `null`
/// switches a feature off (e.g. `transcription: null`) while an absent field leaves it as is.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

/// A realtime session configuration (the GA `session` object). Unknown fields are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionConfig {
    /// `realtime` or `transcription`; required by the GA API in every session object.
    #[serde(rename = "type", default = "default_session_type")]
    pub session_type: String,
    /// Session id (`sess_…`), present in server responses only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Model id, e.g. `gpt-realtime-mini`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// System instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// `["audio"]` or `["text"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_modalities: Option<Vec<String>>,
    /// Audio input/output settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioConfig>,
    /// Function and MCP tools (unknown tool types are kept as [`Tool::Other`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `"auto"`, `"none"`, `"required"` or `{type:"function",name}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub tool_choice: Option<Value>,
    /// Integer or `"inf"`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_output_tokens: Option<Value>,
    /// `"auto"`, `"disabled"` or a retention-ratio object.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub truncation: Option<Value>,
    /// Any other field, passed through untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_session_type() -> String {
    "realtime".to_owned()
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            session_type: default_session_type(),
            id: None,
            model: None,
            instructions: None,
            output_modalities: None,
            audio: None,
            tools: None,
            tool_choice: None,
            max_output_tokens: None,
            truncation: None,
            extra: Map::new(),
        }
    }
}

impl SessionConfig {
    /// A speech-to-speech session on `model`.
    pub fn realtime(model: impl Into<String>) -> Self {
        SessionConfig {
            model: Some(model.into()),
            ..Self::default()
        }
    }

    /// The configured voice, if any.
    pub fn voice(&self) -> Option<&Voice> {
        self.audio
            .as_ref()
            .and_then(|a| a.output.as_ref())
            .and_then(|o| o.voice.as_ref())
    }

    /// Sets the output voice (GA: `audio.output.voice`): a name or [`Voice::custom`].
    pub fn with_voice(mut self, voice: impl Into<Voice>) -> Self {
        let audio = self.audio.get_or_insert_with(AudioConfig::default);
        let out = audio.output.get_or_insert_with(AudioOutput::default);
        out.voice = Some(voice.into());
        self
    }

    /// The input transcription model (`audio.input.transcription.model`), if transcription is on.
    pub fn transcription_model(&self) -> Option<&str> {
        self.audio
            .as_ref()?
            .input
            .as_ref()?
            .transcription
            .as_ref()?
            .get("model")?
            .as_str()
    }
}

/// `session.audio`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AudioConfig {
    /// Input side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<AudioInput>,
    /// Output side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<AudioOutput>,
    /// Any other field, passed through untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `session.audio.input`. A field set to `Some(Value::Null)` is sent as `null` (switched off).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AudioInput {
    /// `{type:"audio/pcm",rate:24000}` etc.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub format: Option<Value>,
    /// `{model, language, prompt}`; needed for user transcripts.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub transcription: Option<Value>,
    /// `{type:"near_field"|"far_field"}`.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub noise_reduction: Option<Value>,
    /// `server_vad` / `semantic_vad` settings.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub turn_detection: Option<Value>,
    /// Any other field, passed through untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `session.audio.output`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AudioOutput {
    /// Output format.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub format: Option<Value>,
    /// Built-in voice name or custom voice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<Voice>,
    /// 0.25..1.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed: Option<f64>,
    /// Any other field, passed through untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `audio.output.voice`: a built-in voice name or a custom voice reference (spec `VoiceIdsOrCustomVoice`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Voice {
    /// A built-in voice (`alloy`, `marin`, `cedar`, …); any string, new names included.
    Named(String),
    /// A custom voice created for the organisation: `{"id": "voice_…"}`.
    Custom(CustomVoice),
    /// A shape this client does not know yet, kept verbatim so parsing never fails.
    Other(Value),
}

/// A custom voice reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomVoice {
    /// `voice_…`.
    pub id: String,
    /// Any other field, passed through untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Voice {
    /// A custom voice reference `{"id": id}`.
    pub fn custom(id: impl Into<String>) -> Self {
        Voice::Custom(CustomVoice {
            id: id.into(),
            extra: Map::new(),
        })
    }

    /// The built-in voice name, if this is one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Voice::Named(n) => Some(n),
            _ => None,
        }
    }

    /// The custom voice id, if this is one.
    pub fn custom_id(&self) -> Option<&str> {
        match self {
            Voice::Custom(c) => Some(&c.id),
            _ => None,
        }
    }
}

impl From<&str> for Voice {
    fn from(name: &str) -> Self {
        Voice::Named(name.to_owned())
    }
}

impl From<String> for Voice {
    fn from(name: String) -> Self {
        Voice::Named(name)
    }
}

/// A session tool: a function (run by us), a remote MCP server (run by OpenAI), or any other
/// type, kept verbatim so that a session carrying it still parses and round-trips.
#[derive(Debug, Clone, PartialEq)]
pub enum Tool {
    /// `{"type":"function", name, description, parameters}` (flat, unlike Chat Completions).
    Function(FunctionTool),
    /// `{"type":"mcp", server_label, server_url | connector_id | tunnel_id, …}`.
    Mcp(McpTool),
    /// Any other (or malformed) tool, exactly as received.
    Other(Value),
}

/// A realtime function tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionTool {
    /// Function name.
    pub name: String,
    /// What it does (the model reads this).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// JSON schema of the arguments.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub parameters: Value,
    /// Any other field, passed through untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A remote MCP server tool (spec `MCPTool`). `Debug` hides values of untyped fields, which
/// include `authorization` and `headers` (credentials for the MCP server).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct McpTool {
    /// Label identifying the server in tool calls.
    pub server_label: String,
    /// Server URL (one of `server_url`, `connector_id`, `tunnel_id` is required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    /// Service connector id, e.g. `connector_googlecalendar`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<String>,
    /// `"always"`, `"never"` or a filter object.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub require_approval: Option<Value>,
    /// Allowed tool names or a filter object.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub allowed_tools: Option<Value>,
    /// Everything else (`authorization`, `headers`, `tunnel_id`, `server_description`, …).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for McpTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpTool")
            .field("server_label", &self.server_label)
            .field("server_url", &self.server_url)
            .field("connector_id", &self.connector_id)
            .field("require_approval", &self.require_approval)
            .field("allowed_tools", &self.allowed_tools)
            .field("extra_keys", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Tool {
    /// A function tool.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        Tool::Function(FunctionTool {
            name: name.into(),
            description: description.into(),
            parameters,
            extra: Map::new(),
        })
    }

    /// The `type` of the tool (`function`, `mcp`, or whatever an unknown tool says).
    pub fn tool_type(&self) -> Option<&str> {
        match self {
            Tool::Function(_) => Some("function"),
            Tool::Mcp(_) => Some("mcp"),
            Tool::Other(v) => v.get("type").and_then(Value::as_str),
        }
    }

    /// Parses one tool; never fails (malformed or unknown tools become [`Tool::Other`]).
    pub fn from_value(v: Value) -> Tool {
        fn typed<T: DeserializeOwned>(v: &Value) -> Option<T> {
            let mut body = v.as_object()?.clone();
            // The tag is re-added on output; leaving it in would land it in `extra` twice.
            body.remove("type");
            serde_json::from_value(Value::Object(body)).ok()
        }
        let parsed = match v.get("type").and_then(Value::as_str) {
            Some("function") => typed(&v).map(Tool::Function),
            Some("mcp") => typed(&v).map(Tool::Mcp),
            _ => None,
        };
        parsed.unwrap_or(Tool::Other(v))
    }
}

#[derive(Serialize)]
struct Tagged<'a, T> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

impl Serialize for Tool {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tool::Function(body) => Tagged {
                kind: "function",
                body,
            }
            .serialize(s),
            Tool::Mcp(body) => Tagged { kind: "mcp", body }.serialize(s),
            Tool::Other(v) => v.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Tool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Tool::from_value)
    }
}

/// `expires_after` of a client secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiresAfter {
    /// Only `created_at`.
    pub anchor: String,
    /// 10..=7200.
    pub seconds: u32,
}

/// Body of `POST /v1/realtime/client_secrets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSecretRequest {
    /// TTL of the secret (default 600 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_after: Option<ExpiresAfter>,
    /// Session the secret will create.
    pub session: SessionConfig,
}

impl ClientSecretRequest {
    /// A secret for `session` valid for `ttl_seconds`.
    pub fn new(session: SessionConfig, ttl_seconds: u32) -> Self {
        ClientSecretRequest {
            expires_after: Some(ExpiresAfter {
                anchor: "created_at".to_owned(),
                seconds: ttl_seconds,
            }),
            session,
        }
    }
}

/// Response of `POST /v1/realtime/client_secrets`.
#[derive(Debug, Clone, Deserialize)]
pub struct ClientSecret {
    /// The `ek_…` secret (redacted in Debug).
    pub value: ApiKey,
    /// Unix seconds.
    pub expires_at: i64,
    /// Effective session.
    pub session: SessionConfig,
}

/// Token usage reported in `response.done`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RealtimeUsage {
    /// input + output.
    pub total_tokens: u64,
    /// All input tokens (cached included).
    pub input_tokens: u64,
    /// All output tokens.
    pub output_tokens: u64,
    /// Input split.
    pub input_token_details: InputTokenDetails,
    /// Output split.
    pub output_token_details: OutputTokenDetails,
}

/// `usage.input_token_details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InputTokenDetails {
    /// Text.
    pub text_tokens: u64,
    /// Audio.
    pub audio_tokens: u64,
    /// Image.
    pub image_tokens: u64,
    /// Cached (subset of input).
    pub cached_tokens: u64,
    /// Cached split.
    pub cached_tokens_details: CachedTokenDetails,
}

/// `usage.input_token_details.cached_tokens_details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CachedTokenDetails {
    /// Text.
    pub text_tokens: u64,
    /// Audio.
    pub audio_tokens: u64,
    /// Image.
    pub image_tokens: u64,
}

/// `usage.output_token_details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputTokenDetails {
    /// Text.
    pub text_tokens: u64,
    /// Audio.
    pub audio_tokens: u64,
}

impl RealtimeUsage {
    /// Converts to the domain usage used for pricing.
    pub fn to_token_usage(&self) -> jarvis_core::cost::TokenUsage {
        let i = &self.input_token_details;
        jarvis_core::cost::TokenUsage {
            input_text: i.text_tokens,
            input_audio: i.audio_tokens,
            input_image: i.image_tokens,
            cached_text: i.cached_tokens_details.text_tokens,
            cached_audio: i.cached_tokens_details.audio_tokens,
            cached_image: i.cached_tokens_details.image_tokens,
            output_text: self.output_token_details.text_tokens,
            output_audio: self.output_token_details.audio_tokens,
        }
    }
}

/// `usage` of `conversation.item.input_audio_transcription.completed` (spec
/// `TranscriptTextUsageTokens` | `TranscriptTextUsageDuration`).
#[derive(Debug, Clone, PartialEq)]
pub enum TranscriptionUsage {
    /// Token-billed models (`gpt-4o-transcribe`, `gpt-4o-mini-transcribe`).
    Tokens(TranscriptionTokens),
    /// Duration-billed models (`whisper-1`).
    Duration {
        /// Seconds of input audio.
        seconds: f64,
    },
    /// A shape this client does not know yet, kept verbatim.
    Other(Value),
}

/// Token counts of a transcription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscriptionTokens {
    /// input + output.
    pub total_tokens: u64,
    /// All input tokens.
    pub input_tokens: u64,
    /// Text output tokens (the transcript).
    pub output_tokens: u64,
    /// Input split (audio, plus text of a transcription prompt).
    pub input_token_details: TranscriptionInputDetails,
}

/// `usage.input_token_details` of a transcription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscriptionInputDetails {
    /// Text (prompt) tokens.
    pub text_tokens: u64,
    /// Audio tokens.
    pub audio_tokens: u64,
}

impl TranscriptionTokens {
    /// Converts to the domain usage used for pricing (the transcript is text output).
    pub fn to_token_usage(&self) -> jarvis_core::cost::TokenUsage {
        let d = &self.input_token_details;
        // Without a split, the input of a transcription is its audio.
        let (text, audio) = if d.text_tokens + d.audio_tokens == 0 {
            (0, self.input_tokens)
        } else {
            (d.text_tokens, d.audio_tokens)
        };
        jarvis_core::cost::TokenUsage {
            input_text: text,
            input_audio: audio,
            output_text: self.output_tokens,
            ..Default::default()
        }
    }
}

impl TranscriptionUsage {
    /// Exact cost at `model`'s price in `prices`, or `None` when it has no (matching) price.
    pub fn cost_pico(
        &self,
        prices: &jarvis_core::cost::PriceTable,
        model: &str,
    ) -> Option<jarvis_core::cost::PicoUsd> {
        match self {
            TranscriptionUsage::Tokens(t) => prices.cost_pico(model, &t.to_token_usage()),
            TranscriptionUsage::Duration { seconds } => {
                prices.duration_cost_pico(model, seconds_to_millis(*seconds))
            }
            TranscriptionUsage::Other(_) => None,
        }
    }
}

/// Seconds (as reported) to whole milliseconds, rounded; nonsense values are 0.
fn seconds_to_millis(seconds: f64) -> u64 {
    if seconds.is_finite() && seconds > 0.0 {
        // Saturating float-to-int cast: absurd durations cap instead of wrapping.
        (seconds * 1000.0).round() as u64
    } else {
        0
    }
}

impl<'de> Deserialize<'de> for TranscriptionUsage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let parsed = match v.get("type").and_then(Value::as_str) {
            Some("tokens") => serde_json::from_value(v.clone())
                .ok()
                .map(TranscriptionUsage::Tokens),
            Some("duration") => v
                .get("seconds")
                .and_then(Value::as_f64)
                .map(|seconds| TranscriptionUsage::Duration { seconds }),
            _ => None,
        };
        Ok(parsed.unwrap_or(TranscriptionUsage::Other(v)))
    }
}

/// One item of `response.output`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutputItem {
    /// An assistant message (text/audio with transcript).
    Message {
        /// Item id.
        #[serde(default)]
        id: String,
        /// Content parts as sent.
        #[serde(default)]
        content: Vec<Value>,
    },
    /// A function call to execute.
    FunctionCall {
        /// Item id.
        #[serde(default)]
        id: String,
        /// Call id to answer with `function_call_output`.
        call_id: String,
        /// Function name.
        name: String,
        /// JSON-encoded arguments.
        #[serde(default)]
        arguments: String,
    },
    /// Anything else (MCP calls, …).
    #[serde(other)]
    Other,
}

/// The `response` object in `response.done`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RealtimeResponse {
    /// `resp_…`.
    #[serde(default)]
    pub id: String,
    /// `completed | cancelled | failed | incomplete | in_progress`.
    #[serde(default)]
    pub status: String,
    /// Why it was not completed.
    #[serde(default)]
    pub status_details: Option<Value>,
    /// Output items (messages and function calls, possibly several).
    #[serde(default)]
    pub output: Vec<OutputItem>,
    /// Billed usage (also present on cancelled/incomplete responses).
    #[serde(default)]
    pub usage: Option<RealtimeUsage>,
    /// Caller metadata.
    #[serde(default)]
    pub metadata: Option<Value>,
}

impl RealtimeResponse {
    /// All function calls in the output, in order (never just `output[0]`).
    pub fn function_calls(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.output.iter().filter_map(|o| match o {
            OutputItem::FunctionCall {
                call_id,
                name,
                arguments,
                ..
            } => Some((call_id.as_str(), name.as_str(), arguments.as_str())),
            _ => None,
        })
    }

    /// The `status_details.error.code` of a failed response.
    pub fn error_code(&self) -> Option<&str> {
        self.status_details
            .as_ref()?
            .get("error")?
            .get("code")?
            .as_str()
    }
}

/// The `error` object of an `error` server event.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RealtimeError {
    /// Error type.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Code, e.g. `session_expired`.
    #[serde(default)]
    pub code: Option<String>,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// Offending parameter.
    #[serde(default)]
    pub param: Option<String>,
    /// The client event id that caused it.
    #[serde(default)]
    pub event_id: Option<String>,
}

/// One entry of `rate_limits.updated`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RateLimit {
    /// `requests` or `tokens`.
    pub name: String,
    /// Limit.
    #[serde(default)]
    pub limit: u64,
    /// Remaining.
    #[serde(default)]
    pub remaining: u64,
    /// Seconds until reset.
    #[serde(default)]
    pub reset_seconds: f64,
}

/// A server → client realtime event. Unknown types are kept as [`ServerEvent::Unknown`].
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// First event of a session.
    SessionCreated {
        /// Effective session.
        session: SessionConfig,
    },
    /// Answer to `session.update`.
    SessionUpdated {
        /// Effective session.
        session: SessionConfig,
    },
    /// Member speech transcript (if transcription is enabled).
    InputTranscriptionCompleted {
        /// Item id.
        item_id: String,
        /// Transcript.
        transcript: String,
        /// ASR usage (tokens or duration), billed at the transcription model's rates.
        usage: Option<TranscriptionUsage>,
    },
    /// Final transcript of the assistant's audio.
    OutputAudioTranscriptDone {
        /// Response id.
        response_id: String,
        /// Item id.
        item_id: String,
        /// Transcript.
        transcript: String,
    },
    /// A function call's arguments are complete.
    FunctionCallArgumentsDone {
        /// Response id.
        response_id: String,
        /// Call id.
        call_id: String,
        /// Function name.
        name: String,
        /// JSON-encoded arguments.
        arguments: String,
    },
    /// A response ended (any status), with usage.
    ResponseDone {
        /// The response.
        response: RealtimeResponse,
    },
    /// Current rate limits.
    RateLimitsUpdated {
        /// Entries.
        rate_limits: Vec<RateLimit>,
    },
    /// An error (most are recoverable; `session_expired` is not).
    Error {
        /// Error details.
        error: RealtimeError,
    },
    /// An event type this client does not handle (logged and ignored by callers).
    Unknown {
        /// The `type` field.
        event_type: String,
        /// The whole event.
        raw: Value,
    },
    /// An event of a type this client handles that did not have the expected shape, or a
    /// message that is not JSON at all. Surfaced (never dropped) so callers can log or alert.
    Malformed {
        /// The `type` field (empty if there is none).
        event_type: String,
        /// Why it could not be read.
        error: String,
        /// The event as received (a JSON string holding the text if it was not JSON).
        raw: Value,
    },
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Known {
    #[serde(rename = "session.created")]
    SessionCreated { session: SessionConfig },
    #[serde(rename = "session.updated")]
    SessionUpdated { session: SessionConfig },
    #[serde(rename = "conversation.item.input_audio_transcription.completed")]
    InputTranscriptionCompleted {
        #[serde(default)]
        item_id: String,
        #[serde(default)]
        transcript: String,
        #[serde(default)]
        usage: Option<TranscriptionUsage>,
    },
    // The beta name is accepted too: parsing leniently costs nothing, sending is GA-only.
    #[serde(
        rename = "response.output_audio_transcript.done",
        alias = "response.audio_transcript.done"
    )]
    OutputAudioTranscriptDone {
        #[serde(default)]
        response_id: String,
        #[serde(default)]
        item_id: String,
        #[serde(default)]
        transcript: String,
    },
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        #[serde(default)]
        response_id: String,
        call_id: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        arguments: String,
    },
    #[serde(rename = "response.done")]
    ResponseDone { response: RealtimeResponse },
    #[serde(rename = "rate_limits.updated")]
    RateLimitsUpdated {
        #[serde(default)]
        rate_limits: Vec<RateLimit>,
    },
    #[serde(rename = "error")]
    Error { error: RealtimeError },
}

impl ServerEvent {
    /// Parses one event. Never fails on valid JSON: unknown types become `Unknown`, known
    /// types with a bad shape become `Malformed`.
    pub fn parse(text: &str) -> Result<ServerEvent, serde_json::Error> {
        let raw: Value = serde_json::from_str(text)?;
        Ok(Self::from_value(raw))
    }

    /// Like [`parse`](Self::parse), but text that is not JSON becomes `Malformed` too.
    pub fn parse_lossy(text: &str) -> ServerEvent {
        Self::parse(text).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "non-JSON realtime message");
            ServerEvent::Malformed {
                event_type: String::new(),
                error: e.to_string(),
                raw: Value::String(text.to_owned()),
            }
        })
    }

    /// Like [`parse`](Self::parse) from an already-decoded value.
    pub fn from_value(raw: Value) -> ServerEvent {
        let event_type = raw
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match serde_json::from_value::<Known>(raw.clone()) {
            Ok(k) => match k {
                Known::SessionCreated { session } => ServerEvent::SessionCreated { session },
                Known::SessionUpdated { session } => ServerEvent::SessionUpdated { session },
                Known::InputTranscriptionCompleted {
                    item_id,
                    transcript,
                    usage,
                } => ServerEvent::InputTranscriptionCompleted {
                    item_id,
                    transcript,
                    usage,
                },
                Known::OutputAudioTranscriptDone {
                    response_id,
                    item_id,
                    transcript,
                } => ServerEvent::OutputAudioTranscriptDone {
                    response_id,
                    item_id,
                    transcript,
                },
                Known::FunctionCallArgumentsDone {
                    response_id,
                    call_id,
                    name,
                    arguments,
                } => ServerEvent::FunctionCallArgumentsDone {
                    response_id,
                    call_id,
                    name,
                    arguments,
                },
                Known::ResponseDone { response } => ServerEvent::ResponseDone { response },
                Known::RateLimitsUpdated { rate_limits } => {
                    ServerEvent::RateLimitsUpdated { rate_limits }
                }
                Known::Error { error } => ServerEvent::Error { error },
            },
            Err(e) if is_known_type(&event_type) => {
                tracing::warn!(%event_type, error = %e, "malformed realtime event");
                ServerEvent::Malformed {
                    event_type,
                    error: e.to_string(),
                    raw,
                }
            }
            Err(_) => {
                tracing::debug!(%event_type, "unhandled realtime event");
                ServerEvent::Unknown { event_type, raw }
            }
        }
    }
}

fn is_known_type(t: &str) -> bool {
    matches!(
        t,
        "session.created"
            | "session.updated"
            | "conversation.item.input_audio_transcription.completed"
            | "response.output_audio_transcript.done"
            | "response.function_call_arguments.done"
            | "response.done"
            | "rate_limits.updated"
            | "error"
    )
}

/// Content of a user message item.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// Text typed by (or transcribed for) the user.
    InputText {
        /// The text.
        text: String,
    },
}

/// An item for `conversation.item.create`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConversationItem {
    /// A message.
    Message {
        /// `user`, `system` or `assistant`.
        role: String,
        /// Content parts.
        content: Vec<ContentPart>,
    },
    /// The result of a function call.
    FunctionCallOutput {
        /// Call id from the function call.
        call_id: String,
        /// Result, JSON-encoded by convention.
        output: String,
    },
}

/// A client → server realtime event.
// Events are built, serialized and dropped at once; boxing the session would only hurt ergonomics.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum ClientEvent {
    /// Change session settings (`session.type` is always included).
    #[serde(rename = "session.update")]
    SessionUpdate {
        /// Our id, echoed in errors.
        #[serde(skip_serializing_if = "Option::is_none")]
        event_id: Option<String>,
        /// New settings.
        session: SessionConfig,
    },
    /// Add an item (message or function output).
    #[serde(rename = "conversation.item.create")]
    ConversationItemCreate {
        /// Our id, echoed in errors.
        #[serde(skip_serializing_if = "Option::is_none")]
        event_id: Option<String>,
        /// The item.
        item: ConversationItem,
    },
    /// Ask for a response.
    #[serde(rename = "response.create")]
    ResponseCreate {
        /// Our id, echoed in errors.
        #[serde(skip_serializing_if = "Option::is_none")]
        event_id: Option<String>,
        /// Optional per-response overrides.
        #[serde(skip_serializing_if = "Option::is_none")]
        response: Option<Value>,
    },
    /// Remove an item from the conversation (keeps the context, re-read by every response,
    /// bounded).
    #[serde(rename = "conversation.item.delete")]
    ConversationItemDelete {
        /// Our id, echoed in errors.
        #[serde(skip_serializing_if = "Option::is_none")]
        event_id: Option<String>,
        /// The item to remove.
        item_id: String,
    },
    /// Cancel the in-progress response.
    #[serde(rename = "response.cancel")]
    ResponseCancel {
        /// Our id, echoed in errors.
        #[serde(skip_serializing_if = "Option::is_none")]
        event_id: Option<String>,
    },
}

impl ClientEvent {
    /// `conversation.item.create` carrying a function result.
    pub fn function_output(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        ClientEvent::ConversationItemCreate {
            event_id: None,
            item: ConversationItem::FunctionCallOutput {
                call_id: call_id.into(),
                output: output.into(),
            },
        }
    }

    /// `conversation.item.create` with a user text message.
    pub fn user_text(text: impl Into<String>) -> Self {
        ClientEvent::ConversationItemCreate {
            event_id: None,
            item: ConversationItem::Message {
                role: "user".to_owned(),
                content: vec![ContentPart::InputText { text: text.into() }],
            },
        }
    }

    /// `conversation.item.delete` of `item_id`.
    pub fn delete_item(item_id: impl Into<String>) -> Self {
        ClientEvent::ConversationItemDelete {
            event_id: None,
            item_id: item_id.into(),
        }
    }

    /// A plain `response.create`.
    pub fn response_create() -> Self {
        ClientEvent::ResponseCreate {
            event_id: None,
            response: None,
        }
    }

    /// `session.update` with `session`.
    pub fn session_update(session: SessionConfig) -> Self {
        ClientEvent::SessionUpdate {
            event_id: None,
            session,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_response_done_with_several_calls_and_usage() {
        let text = r#"{"type":"response.done","event_id":"e","response":{"object":"realtime.response","id":"resp_1",
          "status":"completed","status_details":null,"output":[
            {"id":"m","type":"message","role":"assistant","content":[{"type":"output_audio","transcript":"one moment"}]},
            {"id":"i1","type":"function_call","call_id":"c1","name":"a","arguments":"{}"},
            {"id":"i2","type":"function_call","call_id":"c2","name":"b","arguments":"{\"x\":1}"},
            {"id":"i3","type":"mcp_call"}],
          "usage":{"total_tokens":253,"input_tokens":132,"output_tokens":121,
           "input_token_details":{"text_tokens":119,"audio_tokens":13,"image_tokens":0,"cached_tokens":64,
             "cached_tokens_details":{"text_tokens":64,"audio_tokens":0,"image_tokens":0}},
           "output_token_details":{"text_tokens":30,"audio_tokens":91}}}}"#;
        let ServerEvent::ResponseDone { response } = ServerEvent::parse(text).unwrap() else {
            panic!("not response.done");
        };
        let calls: Vec<_> = response.function_calls().map(|c| c.0).collect();
        assert_eq!(calls, vec!["c1", "c2"]);
        let u = response.usage.unwrap().to_token_usage();
        assert_eq!((u.input_text, u.cached_text, u.output_audio), (119, 64, 91));
    }

    #[test]
    fn unknown_and_malformed_events_are_not_fatal() {
        let e = ServerEvent::parse(r#"{"type":"output_audio_buffer.started","x":1}"#).unwrap();
        assert!(
            matches!(e, ServerEvent::Unknown { ref event_type, .. } if event_type == "output_audio_buffer.started")
        );
        // A type we handle with a shape we cannot read is surfaced as Malformed, not Unknown.
        let e = ServerEvent::parse(r#"{"type":"response.done","response":7}"#).unwrap();
        assert!(
            matches!(e, ServerEvent::Malformed { ref event_type, ref raw, .. }
                if event_type == "response.done" && raw["response"] == 7),
            "{e:?}"
        );
        assert!(ServerEvent::parse("not json").is_err());
        assert!(matches!(
            ServerEvent::parse_lossy("not json"),
            ServerEvent::Malformed { ref raw, .. } if raw == "not json"
        ));
    }

    /// A GA session as the server reports it, with a custom voice, an MCP tool, a function tool,
    /// an unknown future tool type and unknown future fields at every level.
    fn rich_session() -> Value {
        serde_json::json!({
            "type": "realtime", "object": "realtime.session", "id": "sess_1",
            "model": "gpt-realtime-2025-08-28", "output_modalities": ["audio"],
            "instructions": "Coach.", "tool_choice": "auto", "max_output_tokens": "inf",
            "tracing": null, "truncation": "auto", "prompt": null, "expires_at": 0, "include": null,
            "tools": [
                {"type": "function", "name": "book_class", "description": "Book.",
                 "parameters": {"type": "object", "properties": {}}},
                {"type": "mcp", "server_label": "gym", "server_url": "https://mcp.example/sse",
                 "require_approval": "never", "allowed_tools": ["schedule"],
                 "authorization": "secret-oauth-token", "headers": {"X-Key": "k"}},
                {"type": "web_search_2027", "depth": 3}
            ],
            "audio": {
                "input": {"format": {"type": "audio/pcm", "rate": 24000}, "transcription": null,
                          "noise_reduction": null, "future_input_knob": true,
                          "turn_detection": {"type": "semantic_vad", "eagerness": "auto"}},
                "output": {"format": {"type": "audio/pcm", "rate": 24000},
                           "voice": {"id": "voice_123abc"}, "speed": 1.0},
                "future_audio_block": {"x": 1}
            }
        })
    }

    #[test]
    fn custom_voice_mcp_and_unknown_tools_parse_and_round_trip() {
        let raw = rich_session();
        let session: SessionConfig = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(
            session.voice().and_then(Voice::custom_id),
            Some("voice_123abc")
        );
        let tools = session.tools.as_deref().unwrap();
        assert!(matches!(&tools[0], Tool::Function(f) if f.name == "book_class"));
        let Tool::Mcp(mcp) = &tools[1] else {
            panic!("{:?}", tools[1]);
        };
        assert_eq!(mcp.server_label, "gym");
        assert_eq!(mcp.require_approval, Some(serde_json::json!("never")));
        assert!(
            !format!("{mcp:?}").contains("secret-oauth-token"),
            "MCP credentials are not Debug-printed"
        );
        assert_eq!(tools[2].tool_type(), Some("web_search_2027"));
        // Nothing is lost or added: nulls, unknown fields and unknown tools come back as sent.
        assert_eq!(serde_json::to_value(&session).unwrap(), raw);
        // Built-in names and custom voices serialize to the GA shapes.
        let named = SessionConfig::default().with_voice("marin");
        assert_eq!(named.voice().and_then(Voice::name), Some("marin"));
        let custom =
            serde_json::to_value(SessionConfig::default().with_voice(Voice::custom("voice_9")))
                .unwrap();
        assert_eq!(
            custom["audio"]["output"]["voice"],
            serde_json::json!({"id": "voice_9"})
        );
        // Any other voice shape is kept rather than failing the whole session.
        let odd: Voice = serde_json::from_value(serde_json::json!({"name": "x"})).unwrap();
        assert!(matches!(odd, Voice::Other(_)));
        // A malformed known tool is kept verbatim too.
        let bad = serde_json::json!({"type": "mcp", "server_url": "https://x"});
        assert_eq!(Tool::from_value(bad.clone()), Tool::Other(bad));
    }

    #[test]
    fn session_events_with_custom_voice_and_mcp_are_typed() {
        for kind in ["session.created", "session.updated"] {
            let ev = serde_json::json!({"type": kind, "event_id": "e", "session": rich_session()});
            let parsed = ServerEvent::parse(&ev.to_string()).unwrap();
            let (ServerEvent::SessionCreated { session } | ServerEvent::SessionUpdated { session }) =
                parsed
            else {
                panic!("{kind} not typed: {parsed:?}");
            };
            assert_eq!(serde_json::to_value(&session).unwrap(), rich_session());
        }
    }

    #[test]
    fn transcription_usage_tokens_duration_and_unknown() {
        let tokens = r#"{"type":"conversation.item.input_audio_transcription.completed","event_id":"e",
            "item_id":"i","content_index":0,"transcript":"Hey",
            "usage":{"type":"tokens","total_tokens":22,"input_tokens":13,
                     "input_token_details":{"text_tokens":0,"audio_tokens":13},"output_tokens":9}}"#;
        let ServerEvent::InputTranscriptionCompleted { usage, .. } =
            ServerEvent::parse(tokens).unwrap()
        else {
            panic!("not typed");
        };
        let prices = jarvis_core::cost::PriceTable::default_2026();
        let usage = usage.unwrap();
        assert_eq!(
            usage.cost_pico(&prices, "gpt-4o-transcribe"),
            Some(13 * 6_000_000 + 9 * 10_000_000)
        );
        let duration: TranscriptionUsage =
            serde_json::from_value(serde_json::json!({"type":"duration","seconds":3.2})).unwrap();
        assert_eq!(duration, TranscriptionUsage::Duration { seconds: 3.2 });
        assert_eq!(duration.cost_pico(&prices, "whisper-1"), Some(320_000_000));
        // Duration usage for a token-billed model has no price (never silently zero).
        assert_eq!(duration.cost_pico(&prices, "gpt-4o-transcribe"), None);
        let other: TranscriptionUsage =
            serde_json::from_value(serde_json::json!({"type":"characters","n":4})).unwrap();
        assert!(matches!(other, TranscriptionUsage::Other(_)));
    }

    #[test]
    fn client_events_serialize_ga_shapes() {
        let v = serde_json::to_value(ClientEvent::function_output("call_1", "{}")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"conversation.item.create","item":{"type":"function_call_output","call_id":"call_1","output":"{}"}})
        );
        let v = serde_json::to_value(ClientEvent::session_update(
            SessionConfig::default().with_voice("marin"),
        ))
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"session.update","session":{"type":"realtime","audio":{"output":{"voice":"marin"}}}})
        );
    }
}
