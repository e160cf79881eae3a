//! Dashboard pages of a gym's knowledge base: the list (search by title or tag, empty state),
//! the entry form (create and edit, errors by field), the delete confirmation, the import
//! (pasted or loaded file content, errors by row, all or nothing) and "try a question" (what
//! the assistant's `search_knowledge` would get, with each score).

use crate::auth::web::{CsrfForm, PageUser};
use crate::state::AppState;
use crate::web::chrome::{
    Chrome, ConfirmPage, Empty, InPage, PageResult, SortHeads, gym_scope, query_part, sort_key,
};
use crate::web::i18n::{Msg, Tr, field_message, store_message};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use jarvis_app::AppError;
use jarvis_app::knowledge::{self, ExactCosine, ImportFormat, SearchResult};
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Page routes of the knowledge base.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/gyms/{gym}/knowledge",
            get(list_page).post(create_submit),
        )
        .route("/app/gyms/{gym}/knowledge/new", get(new_page))
        .route(
            "/app/gyms/{gym}/knowledge/import",
            axum::routing::post(import_submit),
        )
        .route(
            "/app/gyms/{gym}/knowledge/search",
            get(search_page).post(search_submit),
        )
        .route(
            "/app/gyms/{gym}/knowledge/{id}",
            get(edit_page).post(update_submit),
        )
        .route(
            "/app/gyms/{gym}/knowledge/{id}/delete",
            get(delete_confirm).post(delete_submit),
        )
}

#[derive(Template)]
#[template(path = "gmk/knowledge.html")]
struct ListPage {
    c: Chrome,
    entries: Vec<KnowledgeEntry>,
    total: u64,
    q: String,
    /// The sortable column headers.
    heads: SortHeads,
    can_write: bool,
    import: ImportForm,
    imported: Option<usize>,
    import_errors: Vec<(String, String)>,
}

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    sort: Option<String>,
}

/// The knowledge list's sort keys, the default first. At most 200 entries are shown, so the
/// handler sorts them.
const KNOWLEDGE_SORTS: [&str; 4] = ["title", "title_desc", "updated_desc", "updated"];

/// `entries` in the order of the whitelisted `key`, equal keys by id (a stable order).
fn sort_entries(entries: &mut [KnowledgeEntry], key: &str) {
    use std::cmp::Reverse;
    match key {
        "title_desc" => entries.sort_by_key(|e| Reverse((e.title.to_lowercase(), e.id))),
        "updated_desc" => entries.sort_by_key(|e| Reverse((e.updated_at, e.id))),
        "updated" => entries.sort_by_key(|e| (e.updated_at, e.id)),
        _ => entries.sort_by_key(|e| (e.title.to_lowercase(), e.id)),
    }
}

#[allow(clippy::too_many_arguments)]
async fn render_list(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    lq: ListQuery,
    import: ImportForm,
    imported: Option<usize>,
    import_errors: Vec<(String, String)>,
    status: StatusCode,
) -> PageResult {
    let q = lq.q;
    let key = sort_key(lq.sort.as_deref(), &KNOWLEDGE_SORTS);
    let (scope, c) = gym_scope(state, u, gym, knowledge::READ).await?;
    let list = knowledge::list(
        state.store.as_ref(),
        &scope,
        gym,
        q.as_deref(),
        &state.config.knowledge_embedding_model,
        PageRequest::new(Some(200), None).in_page(c.t)?,
    )
    .await
    .in_page(c.t)?;
    let mut entries = list.items;
    sort_entries(&mut entries, key);
    let q = q.unwrap_or_default();
    let heads = SortHeads::new(
        &format!("/app/gyms/{gym}/knowledge"),
        &query_part("q", &q),
        key,
    );
    let can_write = u.caller.gym(state, gym, knowledge::WRITE).await.is_ok();
    Ok(page(
        ListPage {
            c,
            entries,
            total: list.total,
            q,
            heads,
            can_write,
            import,
            imported,
            import_errors,
        },
        status,
    ))
}

async fn list_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    render_list(
        &state,
        &u,
        gym,
        q,
        ImportForm::default(),
        None,
        Vec::new(),
        StatusCode::OK,
    )
    .await
}

/// The entry form as typed.
#[derive(Deserialize, Default, Clone)]
pub struct EntryForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    language: String,
}

impl EntryForm {
    fn of(e: &KnowledgeEntry) -> Self {
        EntryForm {
            title: e.title.clone(),
            body: e.body.clone(),
            tags: e.tags.join(", "),
            language: e.language.as_str().into(),
        }
    }

    fn to_new(&self) -> NewKnowledgeEntry {
        NewKnowledgeEntry {
            title: self.title.clone(),
            body: self.body.clone(),
            tags: split_tags(&self.tags),
            language: self.language.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "gmk/knowledge_entry.html")]
struct EntryPage {
    c: Chrome,
    id: Option<KnowledgeEntryId>,
    form: EntryForm,
    errors: BTreeMap<String, String>,
    entry: Option<KnowledgeEntry>,
}

fn errors_of(t: Tr, e: AppError, fallback: &str) -> BTreeMap<String, String> {
    match e {
        AppError::Invalid(v) => {
            let mut errors = BTreeMap::new();
            for e in v.0 {
                let msg = field_message(t, &e);
                errors.entry(e.field).or_insert(msg);
            }
            errors
        }
        AppError::Store(e) => {
            let (field, msg) = store_message(t, &e);
            let field = if field.is_empty() {
                fallback.to_string()
            } else {
                field
            };
            BTreeMap::from([(field, msg)])
        }
        other => BTreeMap::from([(fallback.to_string(), other.to_string())]),
    }
}

async fn new_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
) -> PageResult {
    let (_, c) = gym_scope(&state, &u, gym, knowledge::WRITE).await?;
    let form = EntryForm {
        language: c.t.0.as_str().into(),
        ..Default::default()
    };
    Ok(page(
        EntryPage {
            c,
            id: None,
            form,
            errors: BTreeMap::new(),
            entry: None,
        },
        StatusCode::OK,
    ))
}

async fn create_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<EntryForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, knowledge::WRITE).await?;
    match knowledge::create(
        state.store.as_ref(),
        &scope,
        &u.caller.actor,
        gym,
        &f.to_new(),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/app/gyms/{gym}/knowledge")).into_response()),
        Err(e) => {
            let errors = errors_of(c.t, e, "title");
            Ok(page(
                EntryPage {
                    c,
                    id: None,
                    form: f,
                    errors,
                    entry: None,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}

async fn edit_page(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KnowledgeEntryId)>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, knowledge::WRITE).await?;
    let e = knowledge::get(
        state.store.as_ref(),
        &scope,
        gym,
        id,
        &state.config.knowledge_embedding_model,
    )
    .await
    .in_page(c.t)?;
    Ok(page(
        EntryPage {
            c,
            id: Some(id),
            form: EntryForm::of(&e),
            errors: BTreeMap::new(),
            entry: Some(e),
        },
        StatusCode::OK,
    ))
}

async fn update_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KnowledgeEntryId)>,
    CsrfForm(f): CsrfForm<EntryForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, knowledge::WRITE).await?;
    let store = state.store.as_ref();
    let model = &state.config.knowledge_embedding_model;
    let before = knowledge::get(store, &scope, gym, id, model)
        .await
        .in_page(c.t)?;
    match knowledge::update(store, &scope, &u.caller.actor, gym, id, &f.to_new()).await {
        Ok(_) => Ok(Redirect::to(&format!("/app/gyms/{gym}/knowledge")).into_response()),
        Err(e) => {
            let errors = errors_of(c.t, e, "title");
            Ok(page(
                EntryPage {
                    c,
                    id: Some(id),
                    form: f,
                    errors,
                    entry: Some(before),
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}

async fn delete_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KnowledgeEntryId)>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, knowledge::WRITE).await?;
    let e = knowledge::get(
        state.store.as_ref(),
        &scope,
        gym,
        id,
        &state.config.knowledge_embedding_model,
    )
    .await
    .in_page(c.t)?;
    let question = c.t.get(Msg::KnowledgeDeleteConfirm);
    Ok(page(
        ConfirmPage {
            c,
            question,
            subject: e.title,
            action: format!("/app/gyms/{gym}/knowledge/{id}/delete"),
            back: format!("/app/gyms/{gym}/knowledge"),
        },
        StatusCode::OK,
    ))
}

async fn delete_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KnowledgeEntryId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, knowledge::WRITE).await?;
    knowledge::delete(state.store.as_ref(), &scope, &u.caller.actor, gym, id)
        .await
        .in_page(c.t)?;
    Ok(Redirect::to(&format!("/app/gyms/{gym}/knowledge")).into_response())
}

/// The import form: the file's content (typed, pasted, or loaded by `knowledge-import.js`).
#[derive(Deserialize, Default, Clone)]
pub struct ImportForm {
    #[serde(default)]
    content: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    language: String,
}

async fn import_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<ImportForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, knowledge::WRITE).await?;
    let format = ImportFormat::parse(&f.format).unwrap_or(ImportFormat::Csv);
    let lang = Locale::parse(f.language.trim()).unwrap_or(c.t.0);
    let out = knowledge::import(
        state.store.as_ref(),
        &scope,
        &u.caller.actor,
        gym,
        format,
        f.content.as_bytes(),
        lang,
    )
    .await;
    match out {
        Ok(entries) => {
            render_list(
                &state,
                &u,
                gym,
                ListQuery::default(),
                ImportForm::default(),
                Some(entries.len()),
                Vec::new(),
                StatusCode::OK,
            )
            .await
        }
        Err(AppError::Invalid(v)) => {
            let errors =
                v.0.iter()
                    .map(|e| (row_label(c.t, &e.field), field_message(c.t, e)))
                    .collect();
            render_list(
                &state,
                &u,
                gym,
                ListQuery::default(),
                f,
                None,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e).in_page(c.t),
    }
}

/// `rows.3.title` → `ligne 3 — titre` / `line 3 — title`; `file` → `fichier` / `file`.
fn row_label(t: Tr, field: &str) -> String {
    let name = |f: &str| -> String {
        if !t.is_fr() {
            return f.to_string();
        }
        match f {
            "title" => "titre",
            "body" => "texte",
            "tags" => "étiquettes",
            "language" => "langue",
            "row" => "ligne",
            "file" => "fichier",
            other => other,
        }
        .to_string()
    };
    match field.strip_prefix("rows.").and_then(|r| r.split_once('.')) {
        Some((line, f)) => {
            let word = if t.is_fr() { "ligne" } else { "line" };
            format!("{word} {line} — {}", name(f))
        }
        None => name(field),
    }
}

#[derive(Template)]
#[template(path = "gmk/knowledge_search.html")]
struct SearchPage {
    c: Chrome,
    question: String,
    result: Option<SearchResult>,
    errors: BTreeMap<String, String>,
}

async fn search_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
) -> PageResult {
    let (_, c) = gym_scope(&state, &u, gym, knowledge::READ).await?;
    Ok(page(
        SearchPage {
            c,
            question: String::new(),
            result: None,
            errors: BTreeMap::new(),
        },
        StatusCode::OK,
    ))
}

#[derive(Deserialize)]
struct SearchForm {
    #[serde(default)]
    question: String,
}

/// Runs the question (a POST: the question's embedding is a metered call).
async fn search_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<SearchForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, knowledge::READ).await?;
    let index = ExactCosine::new(state.store.clone());
    let r = knowledge::search(
        state.store.as_ref(),
        state.openai.as_ref(),
        &index,
        &scope,
        gym,
        &state.config.knowledge_embedding_model,
        &f.question,
        jarvis_app::assistant::SEARCH_KNOWLEDGE_RESULTS,
    )
    .await;
    let (result, errors, status) = match r {
        Ok(r) => (Some(r), BTreeMap::new(), StatusCode::OK),
        Err(e @ AppError::Invalid(_)) => (
            None,
            errors_of(c.t, e, "question"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => return Err(e).in_page(c.t),
    };
    Ok(page(
        SearchPage {
            c,
            question: f.question,
            result,
            errors,
        },
        status,
    ))
}

/// A score with three decimals (templates).
pub fn score(x: &Option<f64>) -> String {
    x.map_or_else(|| "—".to_string(), |v| format!("{v:.3}"))
}

/// A fused score with four decimals (templates).
pub fn fused(x: &f64) -> String {
    format!("{x:.4}")
}
