//! Embeddings request/response types.

use serde::{Deserialize, Serialize};

/// `input`: one string or several.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One text.
    One(String),
    /// Several texts (≤ 2048).
    Many(Vec<String>),
}

/// Body of `POST /v1/embeddings`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbeddingsRequest {
    /// Model id, e.g. `text-embedding-3-small`.
    pub model: String,
    /// Texts.
    pub input: EmbeddingInput,
    /// Shortened vector size (v3 models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
}

impl EmbeddingsRequest {
    /// Embeds `texts` with `model` as float vectors.
    pub fn new(model: impl Into<String>, texts: Vec<String>) -> Self {
        EmbeddingsRequest {
            model: model.into(),
            input: EmbeddingInput::Many(texts),
            dimensions: None,
        }
    }
}

/// One vector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Embedding {
    /// Position in the input.
    pub index: usize,
    /// Unit-normalised vector.
    pub embedding: Vec<f32>,
}

/// Embeddings usage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct EmbeddingsUsage {
    /// Input tokens.
    pub prompt_tokens: u64,
    /// Same as prompt tokens.
    pub total_tokens: u64,
}

/// Response of `POST /v1/embeddings`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmbeddingsResponse {
    /// Model that answered.
    pub model: String,
    /// Vectors (sorted by `index` after decoding).
    pub data: Vec<Embedding>,
    /// Usage.
    #[serde(default)]
    pub usage: EmbeddingsUsage,
}
