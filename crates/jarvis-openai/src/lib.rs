//! Typed OpenAI client for JARVIS: GA Realtime (client secrets, WebRTC calls, sideband WebSocket,
//! hangup), Chat Completions with structured output, Embeddings and the organization Costs API,
//! with bounded jittered retries.
//!
//! Speaks the GA API only: it never sends `OpenAI-Beta` and never calls `/v1/realtime/sessions`.

mod chat;
mod client;
mod config;
mod costs;
mod embeddings;
mod error;
mod meter;
pub mod realtime;
mod retry;
mod sideband;

pub use chat::{
    ChatCompletion, ChatMessage, ChatRequest, ChatUsage, JsonSchemaFormat, Structured,
    StructuredCompletion,
};
pub use client::{CallCreated, OpenAiClient};
pub use config::{ApiKey, ConfigError, OpenAiConfig};
pub use costs::{BilledDay, CostAmount, CostBucket, CostResult, CostsPage};
pub use embeddings::{EmbeddingInput, EmbeddingsRequest, EmbeddingsResponse, EmbeddingsUsage};
pub use error::{ApiErrorBody, OpenAiError, RateLimitKind};
pub use meter::SessionMeter;
pub use retry::{Clock, ManualClock, RetryPolicy, TokioClock};
pub use sideband::{Sideband, SidebandEnd};
