//! Knowledge base API.

use crate::api::{PageBody, Paging};
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_app::knowledge::{self, ExactCosine, ImportFormat, SearchResult};
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_entries, create_entry))
        .routes(routes!(get_entry, replace_entry, delete_entry))
        .routes(routes!(import_entries))
        .routes(routes!(search_knowledge))
}

/// Filter and page of the entry list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntryQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Only entries whose title or tags contain this (case and accents ignored).
    pub q: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/knowledge", tag = "knowledge",
    params(("gym_id" = GymId, Path), EntryQuery),
    responses((status = 200, body = PageBody<KnowledgeEntry>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_entries(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiQuery(q): ApiQuery<EntryQuery>,
) -> ApiResult<Json<PageBody<KnowledgeEntry>>> {
    let scope = caller.gym(&state, gym, knowledge::READ).await?;
    let page = Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    let model = &state.config.knowledge_embedding_model;
    Ok(Json(
        knowledge::list(
            state.store.as_ref(),
            &scope,
            gym,
            q.q.as_deref(),
            model,
            page,
        )
        .await?
        .into(),
    ))
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/knowledge", tag = "knowledge",
    params(("gym_id" = GymId, Path)), request_body = NewKnowledgeEntry,
    responses((status = 201, body = KnowledgeEntry, description = "Created; its embeddings are computed by the `knowledge.embed` job"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_entry(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiJson(body): ApiJson<NewKnowledgeEntry>,
) -> ApiResult<(StatusCode, Json<KnowledgeEntry>)> {
    let scope = caller.gym(&state, gym, knowledge::WRITE).await?;
    let e = knowledge::create(state.store.as_ref(), &scope, &caller.actor, gym, &body).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/knowledge/{entry_id}", tag = "knowledge",
    params(("gym_id" = GymId, Path), ("entry_id" = KnowledgeEntryId, Path)),
    responses((status = 200, body = KnowledgeEntry), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_entry(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, KnowledgeEntryId)>,
) -> ApiResult<Json<KnowledgeEntry>> {
    let scope = caller.gym(&state, gym, knowledge::READ).await?;
    let model = &state.config.knowledge_embedding_model;
    Ok(Json(
        knowledge::get(state.store.as_ref(), &scope, gym, id, model).await?,
    ))
}

#[utoipa::path(put, path = "/api/v1/gyms/{gym_id}/knowledge/{entry_id}", tag = "knowledge",
    params(("gym_id" = GymId, Path), ("entry_id" = KnowledgeEntryId, Path)), request_body = NewKnowledgeEntry,
    responses((status = 200, body = KnowledgeEntry, description = "Replaced; its chunks are embedded again by the `knowledge.embed` job"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn replace_entry(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, KnowledgeEntryId)>,
    ApiJson(body): ApiJson<NewKnowledgeEntry>,
) -> ApiResult<Json<KnowledgeEntry>> {
    let scope = caller.gym(&state, gym, knowledge::WRITE).await?;
    Ok(Json(
        knowledge::update(state.store.as_ref(), &scope, &caller.actor, gym, id, &body).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/gyms/{gym_id}/knowledge/{entry_id}", tag = "knowledge",
    params(("gym_id" = GymId, Path), ("entry_id" = KnowledgeEntryId, Path)),
    responses((status = 204, description = "Deleted with its chunks"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_entry(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, KnowledgeEntryId)>,
) -> ApiResult<StatusCode> {
    let scope = caller.gym(&state, gym, knowledge::WRITE).await?;
    knowledge::delete(state.store.as_ref(), &scope, &caller.actor, gym, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Format and default language of an import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// `csv` (header `title,body,tags,language`; the default) or `markdown` (one entry per
    /// `# heading`).
    pub format: Option<ImportFormat>,
    /// Language of entries that name none (default `fr`).
    pub language: Option<Locale>,
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/knowledge/import", tag = "knowledge",
    params(("gym_id" = GymId, Path), ImportQuery),
    request_body(content = String, content_type = "text/plain", description = "The CSV or Markdown file, UTF-8"),
    responses((status = 201, body = Vec<KnowledgeEntry>, description = "Every entry created (one transaction)"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Nothing written; one error per bad row, field `rows.<line>.<field>` (or `file`)")),
    security(("bearer" = [])))]
async fn import_entries(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Vec<KnowledgeEntry>>)> {
    let scope = caller.gym(&state, gym, knowledge::WRITE).await?;
    let out = knowledge::import(
        state.store.as_ref(),
        &scope,
        &caller.actor,
        gym,
        q.format.unwrap_or(ImportFormat::Csv),
        &body,
        q.language.unwrap_or(Locale::Fr),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// A question to search the knowledge base with.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The question (1–1000 characters).
    pub question: String,
    /// Chunks to return, 1–20 (default 5, what the assistant gets).
    pub limit: Option<u32>,
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/knowledge/search", tag = "knowledge",
    params(("gym_id" = GymId, Path)), request_body = SearchRequest,
    responses((status = 200, body = SearchResult, description = "Ranked chunks with their full-text rank, vector score and fused score; the question's embedding is metered against the gym"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn search_knowledge(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiJson(body): ApiJson<SearchRequest>,
) -> ApiResult<Json<SearchResult>> {
    let scope = caller.gym(&state, gym, knowledge::READ).await?;
    let limit = body.limit.unwrap_or(5).clamp(1, 20) as usize;
    let index = ExactCosine::new(state.store.clone());
    Ok(Json(
        knowledge::search(
            state.store.as_ref(),
            state.openai.as_ref(),
            &index,
            &scope,
            gym,
            &state.config.knowledge_embedding_model,
            &body.question,
            limit,
        )
        .await?,
    ))
}
