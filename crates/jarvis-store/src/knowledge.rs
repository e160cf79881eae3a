//! Storage of the gym knowledge base: entries, their chunks (text, stems, embedding) and the
//! metered embeddings calls. Every query runs in a tenant scope; the application computes the
//! chunks, stems and vectors (`jarvis_core::knowledge`), the store keeps them.

use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::cost::PicoUsd;
use jarvis_core::model::*;
use jarvis_core::*;

/// One chunk to store with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKnowledgeChunk {
    /// The chunk's text.
    pub text: String,
    /// Its indexed stems (title + text, space-separated).
    pub stemmed: String,
}

/// An entry and its chunks, as written in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeWrite {
    /// The validated entry.
    pub entry: ValidKnowledgeEntry,
    /// Its chunks, in order.
    pub chunks: Vec<NewKnowledgeChunk>,
}

/// A stored chunk with its entry's title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnowledgeChunk {
    /// Id.
    pub id: KnowledgeChunkId,
    /// Its entry.
    pub entry_id: KnowledgeEntryId,
    /// The entry's title.
    pub title: String,
    /// Text.
    pub text: String,
    /// Indexed stems.
    pub stemmed: String,
}

/// The chunks of a gym containing at least one stem, and the size of the gym's index (for
/// BM25).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FtsCandidates {
    /// Matching chunks.
    pub chunks: Vec<KnowledgeChunk>,
    /// Chunks in the gym's index.
    pub total_chunks: u64,
    /// Stems in the gym's index.
    pub total_stems: u64,
}

/// A stored embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredVector {
    /// The chunk.
    pub chunk_id: KnowledgeChunkId,
    /// Its entry.
    pub entry_id: KnowledgeEntryId,
    /// Little-endian f32 bytes (`jarvis_core::knowledge::blob_to_vector`).
    pub vector: Vec<u8>,
}

/// Why an embeddings call was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbeddingPurpose {
    /// Embedding the gym's chunks.
    Index,
    /// Embedding a question.
    Query,
}

impl EmbeddingPurpose {
    /// Stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            EmbeddingPurpose::Index => "index",
            EmbeddingPurpose::Query => "query",
        }
    }
}

/// One metered embeddings call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingCall {
    /// Model.
    pub model: String,
    /// Why.
    pub purpose: EmbeddingPurpose,
    /// Input tokens the provider reported.
    pub input_tokens: u64,
    /// Its price; `None` when the price table has no price for the model (logged).
    pub cost_pico: Option<PicoUsd>,
}

/// A gym's embeddings spend so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KnowledgeUsage {
    /// Calls.
    pub calls: u64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Cost (priced calls).
    pub cost_pico: PicoUsd,
}

/// Storage of the knowledge base.
#[async_trait]
pub trait KnowledgeStore: Send + Sync {
    /// Creates an entry with its chunks (audited).
    async fn create_knowledge_entry(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        write: KnowledgeWrite,
    ) -> StoreResult<KnowledgeEntry>;

    /// Replaces an entry and its chunks (the new chunks have no embedding yet; audited).
    async fn update_knowledge_entry(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: KnowledgeEntryId,
        write: KnowledgeWrite,
    ) -> StoreResult<KnowledgeEntry>;

    /// Deletes an entry and its chunks (audited).
    async fn delete_knowledge_entry(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: KnowledgeEntryId,
    ) -> StoreResult<()>;

    /// Creates every entry of an import, all or none (one transaction; audited once).
    async fn import_knowledge_entries(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        writes: Vec<KnowledgeWrite>,
    ) -> StoreResult<Vec<KnowledgeEntry>>;

    /// One entry; `embedded_chunks` counts embeddings of `model`.
    async fn knowledge_entry(
        &self,
        scope: &Scope,
        gym: GymId,
        id: KnowledgeEntryId,
        model: &str,
    ) -> StoreResult<KnowledgeEntry>;

    /// A gym's entries, latest change first, optionally those whose title or tags contain `q`
    /// (folded); `embedded_chunks` counts embeddings of `model`.
    async fn list_knowledge_entries(
        &self,
        scope: &Scope,
        gym: GymId,
        q: Option<&str>,
        model: &str,
        page: PageRequest,
    ) -> StoreResult<Page<KnowledgeEntry>>;

    /// The gym's chunks whose stems contain at least one of `stems` (at most `limit`), with the
    /// size of the gym's index.
    async fn knowledge_fts_candidates(
        &self,
        scope: &Scope,
        gym: GymId,
        stems: &[String],
        limit: u32,
    ) -> StoreResult<FtsCandidates>;

    /// Chunks of a gym by id (those that still exist).
    async fn knowledge_chunks(
        &self,
        scope: &Scope,
        gym: GymId,
        ids: &[KnowledgeChunkId],
    ) -> StoreResult<Vec<KnowledgeChunk>>;

    /// Up to `limit` chunks of a gym without an embedding of `model`, oldest entry first.
    async fn knowledge_chunks_to_embed(
        &self,
        scope: &Scope,
        gym: GymId,
        model: &str,
        limit: u32,
    ) -> StoreResult<Vec<KnowledgeChunk>>;

    /// The gyms the scope sees that have chunks without an embedding of `model`.
    async fn knowledge_gyms_to_embed(
        &self,
        scope: &Scope,
        model: &str,
    ) -> StoreResult<Vec<(FranchiseId, GymId)>>;

    /// Stores embeddings of `model` (chunks deleted meanwhile are skipped) and meters the call
    /// that made them, in one transaction. Returns the chunks updated.
    async fn store_knowledge_embeddings(
        &self,
        scope: &Scope,
        gym: GymId,
        model: &str,
        vectors: Vec<(KnowledgeChunkId, Vec<u8>)>,
        call: EmbeddingCall,
    ) -> StoreResult<u64>;

    /// Meters an embeddings call (usage row and the gym's daily cost rollup).
    async fn record_embedding_call(
        &self,
        scope: &Scope,
        gym: GymId,
        call: EmbeddingCall,
    ) -> StoreResult<()>;

    /// The embeddings of `model` of a gym's chunks.
    async fn knowledge_vectors(
        &self,
        scope: &Scope,
        gym: GymId,
        model: &str,
    ) -> StoreResult<Vec<StoredVector>>;

    /// A gym's metered embeddings calls, summed.
    async fn knowledge_usage(&self, scope: &Scope, gym: GymId) -> StoreResult<KnowledgeUsage>;
}
