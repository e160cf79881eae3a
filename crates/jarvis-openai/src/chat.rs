//! Chat Completions with `response_format: json_schema` (structured output, refusals surfaced).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// Text content.
    pub content: String,
}

impl ChatMessage {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "system".into(),
            content: content.into(),
        }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: "user".into(),
            content: content.into(),
        }
    }
}

/// A strict JSON schema output format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JsonSchemaFormat {
    /// Schema name (`[a-zA-Z0-9_-]`, ≤ 64 chars).
    pub name: String,
    /// With `strict`, every property must be required and `additionalProperties:false`.
    pub strict: bool,
    /// The JSON schema.
    pub schema: Value,
}

/// Body of `POST /v1/chat/completions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatRequest {
    /// Model id.
    pub model: String,
    /// Conversation.
    pub messages: Vec<ChatMessage>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Output cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// `{"type":"json_schema","json_schema":{…}}` etc.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<Value>,
}

impl ChatRequest {
    /// A request for `model` with `messages` and plain text output.
    pub fn new(model: impl Into<String>, messages: Vec<ChatMessage>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            temperature: None,
            max_completion_tokens: None,
            response_format: None,
        }
    }

    /// Requests structured output following `format`.
    pub fn with_json_schema(mut self, format: JsonSchemaFormat) -> Self {
        self.response_format = Some(serde_json::json!({
            "type": "json_schema",
            "json_schema": format,
        }));
        self
    }
}

/// The assistant message of a choice.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AssistantMessage {
    /// `assistant`.
    #[serde(default)]
    pub role: String,
    /// Text (JSON text with structured output); `None` on refusal.
    #[serde(default)]
    pub content: Option<String>,
    /// Non-null when the model declined.
    #[serde(default)]
    pub refusal: Option<String>,
}

/// One choice.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatChoice {
    /// Index.
    #[serde(default)]
    pub index: u32,
    /// The message.
    pub message: AssistantMessage,
    /// `stop | length | tool_calls | content_filter | function_call`.
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// `usage.prompt_tokens_details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PromptTokensDetails {
    /// Cached prompt tokens.
    pub cached_tokens: u64,
}

/// Chat usage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ChatUsage {
    /// Prompt tokens (cached included).
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Sum.
    pub total_tokens: u64,
    /// Cached split.
    pub prompt_tokens_details: PromptTokensDetails,
}

impl ChatUsage {
    /// Converts to the domain usage used for pricing.
    pub fn to_token_usage(&self) -> jarvis_core::cost::TokenUsage {
        jarvis_core::cost::TokenUsage::chat(
            self.prompt_tokens,
            self.prompt_tokens_details.cached_tokens,
            self.completion_tokens,
        )
    }
}

/// Response of `POST /v1/chat/completions`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChatCompletion {
    /// `chatcmpl-…`.
    pub id: String,
    /// Model snapshot that answered.
    pub model: String,
    /// Choices (we request one).
    pub choices: Vec<ChatChoice>,
    /// Usage.
    #[serde(default)]
    pub usage: Option<ChatUsage>,
}

/// Structured output: the parsed value, or the model's refusal.
#[derive(Debug, Clone, PartialEq)]
pub enum Structured<T> {
    /// Content parsed into `T`.
    Parsed(T),
    /// The model declined; its explanation.
    Refusal(String),
}

/// A structured completion with its raw response (for usage and logging).
#[derive(Debug, Clone, PartialEq)]
pub struct StructuredCompletion<T> {
    /// The outcome.
    pub value: Structured<T>,
    /// The raw completion.
    pub completion: ChatCompletion,
}

impl<T: serde::de::DeserializeOwned> StructuredCompletion<T> {
    pub(crate) fn from_completion(completion: ChatCompletion) -> Result<Self, crate::OpenAiError> {
        let choice = completion
            .choices
            .first()
            .ok_or_else(|| crate::OpenAiError::Decode("no choices in completion".into()))?;
        if let Some(r) = choice.message.refusal.as_ref().filter(|r| !r.is_empty()) {
            return Ok(StructuredCompletion {
                value: Structured::Refusal(r.clone()),
                completion,
            });
        }
        let content = choice.message.content.as_deref().unwrap_or("");
        let parsed: T = serde_json::from_str(content).map_err(|e| {
            crate::OpenAiError::Decode(format!(
                "structured content is not the expected JSON (finish_reason {:?}): {e}",
                choice.finish_reason
            ))
        })?;
        Ok(StructuredCompletion {
            value: Structured::Parsed(parsed),
            completion,
        })
    }
}
