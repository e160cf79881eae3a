//! The gym knowledge base: entries written on the dashboard, by API or imported (CSV,
//! Markdown), cut into chunks, indexed for full-text search (Rust-side Snowball stems, see
//! `jarvis_core::knowledge`) and embedded by the `knowledge.embed` job; searched by hybrid
//! ranking (reciprocal rank fusion of BM25 and cosine similarity) for the assistant's
//! `search_knowledge` tool and the dashboard's "try a question" page.
//!
//! Vectors are compared exactly, in process, behind [`VectorIndex`]: a gym has a few thousand
//! chunks at most (5 000 × 1 536 dimensions take a few milliseconds, see
//! `docs/contributor/performance.md`), and an index such as pgvector can implement the trait
//! where the extension exists.
//!
//! Every embeddings call is priced with the deployment's price table and metered against the
//! gym (`knowledge_usage` and the gym's `cost_daily` rollup) in the same transaction as what
//! it produced.

use crate::error::{AppError, AppResult};
use crate::jobs::{JobCtx, JobError, JobSpec};
use async_trait::async_trait;
use jarvis_core::authz::Action;
use jarvis_core::cost::TokenUsage;
use jarvis_core::csv_import::RowError;
use jarvis_core::knowledge::{self as text, FtsCandidate};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::{
    EmbeddingCall, EmbeddingPurpose, KnowledgeChunk, KnowledgeWrite, NewKnowledgeChunk, Store,
    StoredVector,
};
use std::collections::HashMap;
use std::sync::Arc;
use time::Duration;

/// Reading a gym's knowledge base and searching it (the staff who read class schedules).
pub const READ: Action = Action::ScheduleRead;
/// Writing and importing entries (the staff who edit class schedules).
pub const WRITE: Action = Action::ScheduleWrite;

/// Embeds the chunks of one gym that lack an embedding of the configured model; enqueued when
/// an entry is created, changed or imported.
pub const KNOWLEDGE_EMBED: JobSpec = JobSpec::new(
    "knowledge.embed",
    "embed a gym's new or changed knowledge chunks",
)
.lease(Duration::minutes(5))
.retry(RetryPolicy {
    max_attempts: 5,
    base_delay: Duration::seconds(30),
    max_delay: Duration::minutes(30),
});

/// Finds every gym with chunks lacking an embedding of the configured model (a model change,
/// a lost job) and embeds them; at each start and every 10 minutes.
pub const KNOWLEDGE_REEMBED: JobSpec = JobSpec::new(
    "knowledge.reembed",
    "embed every knowledge chunk missing an embedding of the configured model",
)
.schedule("*/10 * * * *")
.lease(Duration::minutes(10))
.at_start();

/// Chunks sent in one embeddings request.
pub const EMBED_BATCH: u32 = 64;

/// Full-text candidates read per question, and the length of each ranked list fused.
pub const LIST_DEPTH: usize = 50;

/// How long a question's embedding may take before the search answers from full text alone
/// (the assistant's tool has 10 s in all).
pub const QUESTION_EMBED_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(4);

/// The embeddings model the knowledge bases use, and how to reach it.
#[async_trait]
pub trait Embedder: Send + Sync {
    /// Embeds `texts` with `model`: one vector per text, in order, and the input tokens billed.
    async fn embed(&self, model: &str, texts: Vec<String>) -> Result<Embedded, String>;
}

/// What an embeddings call returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedded {
    /// One vector per input, in order.
    pub vectors: Vec<Vec<f32>>,
    /// Input tokens billed.
    pub input_tokens: u64,
}

#[async_trait]
impl Embedder for jarvis_openai::OpenAiClient {
    async fn embed(&self, model: &str, texts: Vec<String>) -> Result<Embedded, String> {
        let n = texts.len();
        let req = jarvis_openai::EmbeddingsRequest::new(model, texts);
        let resp = self.embeddings(&req).await.map_err(|e| e.to_string())?;
        if resp.data.len() != n {
            return Err(format!(
                "the embeddings answer has {} vectors for {n} inputs",
                resp.data.len()
            ));
        }
        Ok(Embedded {
            vectors: resp.data.into_iter().map(|e| e.embedding).collect(),
            input_tokens: resp.usage.prompt_tokens,
        })
    }
}

/// Nearest chunks of a question vector.
#[async_trait]
pub trait VectorIndex: Send + Sync {
    /// The `k` chunks of `gym` most similar to `query` among the embeddings of `model`, best
    /// first, with their cosine similarity.
    async fn nearest(
        &self,
        scope: &Scope,
        gym: GymId,
        model: &str,
        query: &[f32],
        k: usize,
    ) -> AppResult<Vec<(KnowledgeChunkId, f64)>>;
}

/// Exact cosine similarity over every stored vector of the gym, in process (no extension, the
/// same on both backends).
#[derive(Clone)]
pub struct ExactCosine {
    store: Arc<dyn Store>,
}

impl ExactCosine {
    /// Reads vectors from `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }
}

/// The `k` vectors most similar to `query`, best first (ties by chunk id). Skips unreadable
/// blobs and vectors of another size.
pub fn exact_nearest(
    vectors: &[StoredVector],
    query: &[f32],
    k: usize,
) -> Vec<(KnowledgeChunkId, f64)> {
    let mut scored: Vec<(KnowledgeChunkId, f64)> = vectors
        .iter()
        .filter_map(|v| {
            let x = text::blob_to_vector(&v.vector)?;
            (x.len() == query.len()).then(|| (v.chunk_id, text::cosine(&x, query)))
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
}

#[async_trait]
impl VectorIndex for ExactCosine {
    async fn nearest(
        &self,
        scope: &Scope,
        gym: GymId,
        model: &str,
        query: &[f32],
        k: usize,
    ) -> AppResult<Vec<(KnowledgeChunkId, f64)>> {
        let vectors = self.store.knowledge_vectors(scope, gym, model).await?;
        Ok(exact_nearest(&vectors, query, k))
    }
}

fn write_of(v: ValidKnowledgeEntry) -> KnowledgeWrite {
    let chunks = text::chunk_body(&v.body)
        .into_iter()
        .map(|c| NewKnowledgeChunk {
            stemmed: text::index_text(&v.title, &c, v.language),
            text: c,
        })
        .collect();
    KnowledgeWrite { entry: v, chunks }
}

/// The `knowledge.embed` job of a gym.
pub fn embed_job_of(franchise: FranchiseId, gym: GymId) -> NewJob {
    NewJob::new(
        KNOWLEDGE_EMBED.name,
        serde_json::json!({ "franchise": franchise, "gym": gym }),
    )
    .with_tenant(franchise, Some(gym))
    .with_priority(KNOWLEDGE_EMBED.priority)
    .with_max_attempts(KNOWLEDGE_EMBED.retry.max_attempts)
}

async fn enqueue_embedding(store: &dyn Store, scope: &Scope, gym: GymId) {
    let franchise = match scope.franchise() {
        Some(f) => Some(f),
        None => store.gym(scope, gym).await.ok().map(|g| g.franchise_id),
    };
    let Some(franchise) = franchise else {
        return;
    };
    // A lost enqueue is caught by the `knowledge.reembed` sweep: log, do not fail the write.
    if let Err(e) = store.enqueue(embed_job_of(franchise, gym)).await {
        tracing::warn!(error = %e, %gym, "could not enqueue knowledge.embed");
    }
}

/// Creates an entry and queues its embedding.
pub async fn create(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    new: &NewKnowledgeEntry,
) -> AppResult<KnowledgeEntry> {
    let v = new.validate()?;
    let e = store
        .create_knowledge_entry(scope, actor, gym, write_of(v))
        .await?;
    enqueue_embedding(store, scope, gym).await;
    Ok(e)
}

/// Replaces an entry (its chunks are cut and embedded again).
pub async fn update(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: KnowledgeEntryId,
    new: &NewKnowledgeEntry,
) -> AppResult<KnowledgeEntry> {
    let v = new.validate()?;
    let e = store
        .update_knowledge_entry(scope, actor, gym, id, write_of(v))
        .await?;
    enqueue_embedding(store, scope, gym).await;
    Ok(e)
}

/// Deletes an entry.
pub async fn delete(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: KnowledgeEntryId,
) -> AppResult<()> {
    Ok(store.delete_knowledge_entry(scope, actor, gym, id).await?)
}

/// One entry (`embedded_chunks` of `model`).
pub async fn get(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    id: KnowledgeEntryId,
    model: &str,
) -> AppResult<KnowledgeEntry> {
    Ok(store.knowledge_entry(scope, gym, id, model).await?)
}

/// A gym's entries, optionally filtered by title or tag.
pub async fn list(
    store: &dyn Store,
    scope: &Scope,
    gym: GymId,
    q: Option<&str>,
    model: &str,
    page: PageRequest,
) -> AppResult<Page<KnowledgeEntry>> {
    Ok(store
        .list_knowledge_entries(scope, gym, q, model, page)
        .await?)
}

/// The format of an import file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportFormat {
    /// `title,body,tags,language` with a header line.
    Csv,
    /// One entry per `# heading`.
    Markdown,
}

impl ImportFormat {
    /// Parses `csv` / `markdown` (or `md`).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "markdown" | "md" => Some(Self::Markdown),
            _ => None,
        }
    }
}

fn row_field(line: u64, field: &str) -> String {
    format!("rows.{line}.{field}")
}

/// Imports a file: every entry is created, or none. A file with any bad row writes nothing and
/// answers every row error (`rows.<line>.<field>`; `file` for the file as a whole).
pub async fn import(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    format: ImportFormat,
    data: &[u8],
    default_language: Locale,
) -> AppResult<Vec<KnowledgeEntry>> {
    let parsed = match format {
        ImportFormat::Csv => text::parse_csv(data, default_language)
            .map_err(|m| ValidationErrors(vec![FieldError::new("file", "invalid_file", m)]))?,
        ImportFormat::Markdown => {
            let s = std::str::from_utf8(data).map_err(|_| {
                ValidationErrors(vec![FieldError::new(
                    "file",
                    "invalid_file",
                    "the file is not UTF-8",
                )])
            })?;
            text::parse_markdown(s, default_language)
        }
    };
    let mut errors: Vec<FieldError> = parsed
        .errors
        .iter()
        .map(
            |RowError {
                 row,
                 column,
                 reason,
                 ..
             }| {
                FieldError::new(
                    row_field(*row, if column.is_empty() { "row" } else { column }),
                    "invalid_row",
                    reason.clone(),
                )
            },
        )
        .collect();
    let mut writes = Vec::with_capacity(parsed.rows.len());
    for (line, new) in &parsed.rows {
        match new.validate() {
            Ok(v) => writes.push(write_of(v)),
            Err(e) => errors.extend(
                e.0.into_iter()
                    .map(|f| FieldError::new(row_field(*line, &f.field), &f.code, f.message)),
            ),
        }
    }
    if writes.is_empty() && errors.is_empty() {
        errors.push(FieldError::new("file", "empty", "the file holds no entry"));
    }
    if !errors.is_empty() {
        return Err(ValidationErrors(errors).into());
    }
    let out = store
        .import_knowledge_entries(scope, actor, gym, writes)
        .await?;
    enqueue_embedding(store, scope, gym).await;
    Ok(out)
}

/// Prices an embeddings call with the deployment's price table (unpriced: logged, `None`).
async fn price(store: &dyn Store, model: &str, input_tokens: u64) -> Option<u64> {
    let table = match store.price_table_at(time::OffsetDateTime::now_utc()).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "price table unavailable; embeddings call unpriced");
            return None;
        }
    };
    let c = table.cost_pico(model, &TokenUsage::chat(input_tokens, 0, 0));
    if c.is_none() {
        tracing::warn!(%model, "embeddings model without a price");
    }
    c
}

/// Embeds every chunk of `gym` lacking an embedding of `model`, batch by batch, each batch
/// stored with its metered call. Returns the chunks embedded.
pub async fn embed_gym(
    store: &dyn Store,
    embedder: &dyn Embedder,
    scope: &Scope,
    gym: GymId,
    model: &str,
) -> AppResult<u64> {
    let mut done = 0u64;
    loop {
        let chunks = store
            .knowledge_chunks_to_embed(scope, gym, model, EMBED_BATCH)
            .await?;
        if chunks.is_empty() {
            return Ok(done);
        }
        let texts: Vec<String> = chunks.iter().map(embedding_text).collect();
        let out = embedder
            .embed(model, texts)
            .await
            .map_err(|e| AppError::Internal(format!("embeddings call failed: {e}")))?;
        if out.vectors.len() != chunks.len() {
            return Err(AppError::Internal(
                "the embeddings answer does not match the chunks".into(),
            ));
        }
        let call = EmbeddingCall {
            model: model.to_string(),
            purpose: EmbeddingPurpose::Index,
            input_tokens: out.input_tokens,
            cost_pico: price(store, model, out.input_tokens).await,
        };
        let vectors = chunks
            .iter()
            .zip(out.vectors)
            .map(|(c, v)| (c.id, text::vector_to_blob(&v)))
            .collect();
        let n = store
            .store_knowledge_embeddings(scope, gym, model, vectors, call)
            .await?;
        done += n;
        if n == 0 {
            // Every chunk of the batch was deleted meanwhile; the next read moves on.
            continue;
        }
    }
}

/// What a chunk is embedded as: its entry's title, then its text.
pub fn embedding_text(c: &KnowledgeChunk) -> String {
    format!("{}\n\n{}", c.title, c.text)
}

/// Embeds what is missing in every gym (the sweep after a model change). Returns chunks
/// embedded; a gym that fails is logged and left for the next run.
pub async fn embed_all(store: &dyn Store, embedder: &dyn Embedder, model: &str) -> AppResult<u64> {
    let gyms = store
        .knowledge_gyms_to_embed(&Scope::Platform, model)
        .await?;
    let mut total = 0;
    let mut failed = None;
    for (franchise, gym) in gyms {
        let scope = Scope::Gym { franchise, gym };
        match embed_gym(store, embedder, &scope, gym, model).await {
            Ok(n) => total += n,
            Err(e) => {
                tracing::warn!(error = %e, %gym, "knowledge embedding failed");
                failed = Some(e);
            }
        }
    }
    match failed {
        Some(e) if total == 0 => Err(e),
        _ => Ok(total),
    }
}

/// The `knowledge.embed` handler.
pub async fn run_embed_job(
    store: Arc<dyn Store>,
    embedder: Arc<dyn Embedder>,
    model: String,
    _ctx: JobCtx,
    payload: serde_json::Value,
) -> Result<(), JobError> {
    let id = |k: &str| {
        payload
            .get(k)
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse::<uuid::Uuid>().ok())
    };
    let (Some(franchise), Some(gym)) = (id("franchise"), id("gym")) else {
        return Err(JobError::permanent("payload needs franchise and gym ids"));
    };
    let (franchise, gym) = (FranchiseId::from(franchise), GymId::from(gym));
    let scope = Scope::Gym { franchise, gym };
    match embed_gym(store.as_ref(), embedder.as_ref(), &scope, gym, &model).await {
        Ok(n) => {
            tracing::info!(%gym, chunks = n, %model, "knowledge chunks embedded");
            Ok(())
        }
        Err(AppError::Store(jarvis_store::StoreError::NotFound(_))) => Ok(()),
        Err(e) => Err(JobError::retryable(e)),
    }
}

/// The ranked chunks of a question, and whether the vector half ran.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    /// Best first (fused order).
    pub hits: Vec<KnowledgeHit>,
    /// Why the vector list is missing (the embeddings call failed): full-text alone then.
    pub vector_error: Option<String>,
}

/// Hybrid search: BM25 over the stems (full-text list) and cosine similarity of the question's
/// embedding (vector list), each [`LIST_DEPTH`] long, fused by reciprocal rank; the first `k`.
/// The question's embedding is metered against the gym; if it fails, the full-text list alone
/// is answered with `vector_error` set.
#[allow(clippy::too_many_arguments)]
pub async fn search(
    store: &dyn Store,
    embedder: &dyn Embedder,
    index: &dyn VectorIndex,
    scope: &Scope,
    gym: GymId,
    model: &str,
    question: &str,
    k: usize,
) -> AppResult<SearchResult> {
    let question = question.trim();
    if question.is_empty() {
        return Err(ValidationErrors(vec![FieldError::new(
            "question",
            "required",
            "must not be empty",
        )])
        .into());
    }
    if question.chars().count() > 1000 {
        return Err(ValidationErrors(vec![FieldError::new(
            "question",
            "too_long",
            "must be at most 1000 characters",
        )])
        .into());
    }
    // Full text.
    let stems = text::query_stems(question);
    let cand = store
        .knowledge_fts_candidates(scope, gym, &stems, 2000)
        .await?;
    let avg = if cand.total_chunks > 0 {
        cand.total_stems as f64 / cand.total_chunks as f64
    } else {
        1.0
    };
    let fts_input: Vec<FtsCandidate<KnowledgeChunkId>> = cand
        .chunks
        .iter()
        .map(|c| FtsCandidate {
            item: c.id,
            stemmed: c.stemmed.clone(),
        })
        .collect();
    let mut fts = text::bm25_rank(&stems, &fts_input, cand.total_chunks, avg);
    fts.truncate(LIST_DEPTH);
    let mut chunks: HashMap<KnowledgeChunkId, KnowledgeChunk> =
        cand.chunks.into_iter().map(|c| (c.id, c)).collect();

    // Vectors.
    let mut vector_error = None;
    let mut vec_list: Vec<(KnowledgeChunkId, f64)> = Vec::new();
    let embedded = tokio::time::timeout(
        QUESTION_EMBED_TIMEOUT,
        embedder.embed(model, vec![question.to_string()]),
    )
    .await
    .unwrap_or_else(|_| Err("the embeddings call timed out".to_string()));
    match embedded {
        Ok(out) => {
            let call = EmbeddingCall {
                model: model.to_string(),
                purpose: EmbeddingPurpose::Query,
                input_tokens: out.input_tokens,
                cost_pico: price(store, model, out.input_tokens).await,
            };
            if let Err(e) = store.record_embedding_call(scope, gym, call).await {
                tracing::warn!(error = %e, %gym, "could not meter a question's embedding");
            }
            match out.vectors.first() {
                Some(q) => vec_list = index.nearest(scope, gym, model, q, LIST_DEPTH).await?,
                None => vector_error = Some("the embeddings answer has no vector".to_string()),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, %gym, "question embedding failed; full-text search only");
            vector_error = Some(e);
        }
    }

    let fused = text::rrf(&[
        fts.iter().map(|x| x.0).collect(),
        vec_list.iter().map(|x| x.0).collect(),
    ]);
    let missing: Vec<KnowledgeChunkId> = fused
        .iter()
        .take(k)
        .map(|x| x.0)
        .filter(|id| !chunks.contains_key(id))
        .collect();
    for c in store.knowledge_chunks(scope, gym, &missing).await? {
        chunks.insert(c.id, c);
    }
    let pos = |list: &[(KnowledgeChunkId, f64)], id: KnowledgeChunkId| {
        list.iter()
            .position(|x| x.0 == id)
            .map(|i| (u32::try_from(i + 1).unwrap_or(u32::MAX), list[i].1))
    };
    let hits = fused
        .into_iter()
        .take(k)
        .filter_map(|(id, score)| {
            let c = chunks.get(&id)?;
            let f = pos(&fts, id);
            let v = pos(&vec_list, id);
            Some(KnowledgeHit {
                chunk_id: id,
                entry_id: c.entry_id,
                title: c.title.clone(),
                text: c.text.clone(),
                fts_rank: f.map(|x| x.0),
                fts_score: f.map(|x| x.1),
                vector_rank: v.map(|x| x.0),
                vector_score: v.map(|x| x.1),
                fused_score: score,
            })
        })
        .collect();
    Ok(SearchResult { hits, vector_error })
}
