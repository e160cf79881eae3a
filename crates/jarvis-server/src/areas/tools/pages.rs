//! Dashboard pages of a gym's custom HTTP tools: the list with a creation form, one tool's
//! edit form (inline field errors), its secret (shown once on creation and on rotation, on the
//! answer of the POST, never again), "test this tool" (sample arguments validated against the
//! schema, then the exchange: request without the secret, answer or error), and deletion
//! behind a confirmation page. Managers and above (`jarvis_app::http_tools::MANAGE`).

use crate::auth::web::{CsrfForm, PageUser};
use crate::state::AppState;
use crate::web::chrome::{
    Chrome, ConfirmPage, Empty, InPage, ListQuery, PageResult, SortHeads, gym_scope, sort_key,
};
use crate::web::i18n::{Msg, Tr, field_message, store_message};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use jarvis_app::AppError;
use jarvis_app::http_tools::{MANAGE, TestReport};
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Page routes of custom tools.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/gyms/{gym}/tools", get(tools_page).post(tool_create))
        .route(
            "/app/gyms/{gym}/tools/{id}",
            get(tool_page).post(tool_update),
        )
        .route("/app/gyms/{gym}/tools/{id}/secret", post(secret_submit))
        .route("/app/gyms/{gym}/tools/{id}/test", post(test_submit))
        .route(
            "/app/gyms/{gym}/tools/{id}/delete",
            get(delete_confirm).post(delete_submit),
        )
}

/// The tool form as typed (member fields are check boxes named `mf_<field>`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ToolForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parameters: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    timeout_ms: String,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

impl ToolForm {
    fn blank() -> Self {
        ToolForm {
            parameters: "{\n  \"type\": \"object\",\n  \"properties\": {}\n}".into(),
            method: "POST".into(),
            timeout_ms: DEFAULT_HTTP_TOOL_TIMEOUT_MS.to_string(),
            enabled: Some("on".into()),
            ..Default::default()
        }
    }

    fn of(t: &HttpTool) -> Self {
        ToolForm {
            name: t.name.clone(),
            description: t.description.clone(),
            parameters: serde_json::to_string_pretty(&t.parameters).unwrap_or_default(),
            url: t.url.clone(),
            method: t.method.as_str().into(),
            timeout_ms: t.timeout_ms.to_string(),
            enabled: t.enabled.then(|| "on".into()),
            rest: t
                .member_fields
                .iter()
                .map(|f| (format!("mf_{}", f.as_str()), "on".to_owned()))
                .collect(),
        }
    }

    /// Whether the member field `f` is ticked.
    pub fn has_field(&self, f: &MemberField) -> bool {
        self.rest.contains_key(&format!("mf_{}", f.as_str()))
    }

    /// Whether the tool is enabled.
    pub fn is_enabled(&self) -> bool {
        self.enabled.is_some()
    }

    fn to_input(&self, t: Tr) -> Result<HttpToolInput, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let parameters = match serde_json::from_str(&self.parameters) {
            Ok(v) => v,
            Err(_) => {
                errors.insert("parameters".into(), t.get(Msg::ToolSchemaNotJson).into());
                serde_json::Value::Null
            }
        };
        let timeout_ms = match self.timeout_ms.trim() {
            "" => None,
            s => match s.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.insert("timeout_ms".into(), t.get(Msg::ToolTimeoutNumber).into());
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(HttpToolInput {
            name: self.name.clone(),
            description: self.description.clone(),
            parameters,
            url: self.url.clone(),
            method: HttpToolMethod::parse(self.method.trim()).unwrap_or_default(),
            timeout_ms,
            member_fields: MemberField::ALL
                .into_iter()
                .filter(|f| self.has_field(f))
                .collect(),
            enabled: self.is_enabled(),
        })
    }
}

/// A service refusal as inline errors, in the page's language.
fn form_errors(t: Tr, e: AppError) -> BTreeMap<String, String> {
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
                "name".into()
            } else {
                field
            };
            BTreeMap::from([(field, msg)])
        }
        other => BTreeMap::from([("name".to_string(), other.to_string())]),
    }
}

#[derive(Template)]
#[template(path = "gmk/tools.html")]
struct ToolsPage {
    c: Chrome,
    tools: Vec<HttpTool>,
    /// The sortable column headers.
    heads: SortHeads,
    form: ToolForm,
    errors: BTreeMap<String, String>,
    fields: [MemberField; 9],
}

/// The tool list's sort keys, the default first.
const TOOL_SORTS: [&str; 3] = ["name", "name_desc", "status"];

/// Orders a gym's tools (a bounded list, sorted here): by name, or enabled ones first.
fn sort_tools(tools: &mut [HttpTool], key: &str) {
    let name = |t: &HttpTool| t.name.to_lowercase();
    match key {
        "name_desc" => tools.sort_by_key(|t| std::cmp::Reverse(name(t))),
        "status" => tools.sort_by_key(|t| (!t.enabled, name(t))),
        _ => tools.sort_by_key(name),
    }
}

async fn render_list(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    sort: Option<&str>,
    form: ToolForm,
    errors: BTreeMap<String, String>,
    status: StatusCode,
) -> PageResult {
    let (scope, c) = gym_scope(state, u, gym, MANAGE).await?;
    let mut tools = state.http_tools.list(&scope, gym).await.in_page(c.t)?;
    let key = sort_key(sort, &TOOL_SORTS);
    sort_tools(&mut tools, key);
    Ok(page(
        ToolsPage {
            c,
            tools,
            heads: SortHeads::new(&format!("/app/gyms/{gym}/tools"), "", key),
            form,
            errors,
            fields: MemberField::ALL,
        },
        status,
    ))
}

async fn tools_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    render_list(
        &state,
        &u,
        gym,
        q.sort.as_deref(),
        ToolForm::blank(),
        BTreeMap::new(),
        StatusCode::OK,
    )
    .await
}

async fn tool_create(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<ToolForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, MANAGE).await?;
    let created = match f.to_input(c.t) {
        Ok(input) => state
            .http_tools
            .create(&scope, &u.caller.actor, gym, input)
            .await
            .map_err(|e| form_errors(c.t, e)),
        Err(errors) => Err(errors),
    };
    match created {
        // Shown on this answer only (not a redirect): the secret is never stored in clear.
        Ok(t) => render_tool(&state, &u, gym, t.tool.id, Extra::secret(t.secret)).await,
        Err(errors) => {
            render_list(
                &state,
                &u,
                gym,
                None,
                f,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "gmk/tool.html")]
struct ToolPage {
    c: Chrome,
    tool: HttpTool,
    form: ToolForm,
    errors: BTreeMap<String, String>,
    fields: [MemberField; 9],
    new_secret: Option<String>,
    sample: String,
    report: Option<TestReport>,
}

/// What a tool page shows besides the form.
#[derive(Default)]
struct Extra {
    form: Option<ToolForm>,
    errors: BTreeMap<String, String>,
    new_secret: Option<String>,
    sample: Option<String>,
    report: Option<TestReport>,
}

impl Extra {
    fn secret(s: String) -> Self {
        Extra {
            new_secret: Some(s),
            ..Default::default()
        }
    }
}

async fn render_tool(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    id: HttpToolId,
    extra: Extra,
) -> PageResult {
    let (scope, c) = gym_scope(state, u, gym, MANAGE).await?;
    let tool = state.http_tools.get(&scope, gym, id).await.in_page(c.t)?;
    let status = if extra.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(page(
        ToolPage {
            c,
            form: extra.form.unwrap_or_else(|| ToolForm::of(&tool)),
            tool,
            errors: extra.errors,
            fields: MemberField::ALL,
            new_secret: extra.new_secret,
            sample: extra.sample.unwrap_or_else(|| "{}".into()),
            report: extra.report,
        },
        status,
    ))
}

async fn tool_page(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, HttpToolId)>,
) -> PageResult {
    render_tool(&state, &u, gym, id, Extra::default()).await
}

async fn tool_update(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, HttpToolId)>,
    CsrfForm(f): CsrfForm<ToolForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, MANAGE).await?;
    let saved = match f.to_input(c.t) {
        Ok(input) => state
            .http_tools
            .update(&scope, &u.caller.actor, gym, id, input)
            .await
            .map_err(|e| form_errors(c.t, e)),
        Err(errors) => Err(errors),
    };
    match saved {
        Ok(_) => Ok(Redirect::to(&format!("/app/gyms/{gym}/tools/{id}")).into_response()),
        Err(errors) => {
            let extra = Extra {
                form: Some(f),
                errors,
                ..Default::default()
            };
            render_tool(&state, &u, gym, id, extra).await
        }
    }
}

async fn secret_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, HttpToolId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, MANAGE).await?;
    let s = state
        .http_tools
        .rotate_secret(&scope, &u.caller.actor, gym, id)
        .await
        .in_page(c.t)?;
    render_tool(&state, &u, gym, id, Extra::secret(s.secret)).await
}

#[derive(Deserialize)]
struct TestForm {
    #[serde(default)]
    arguments: String,
}

async fn test_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, HttpToolId)>,
    CsrfForm(f): CsrfForm<TestForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, MANAGE).await?;
    let extra = match state.http_tools.test(&scope, gym, id, &f.arguments).await {
        Ok(ex) => Extra {
            report: Some(ex.into()),
            sample: Some(f.arguments),
            ..Default::default()
        },
        Err(AppError::Invalid(v)) => {
            let msg =
                v.0.iter()
                    .map(|e| match c.t.0 {
                        Locale::En => e.message.clone(),
                        Locale::Fr => c.t.get(Msg::ToolArgumentsInvalid).to_owned(),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
            Extra {
                errors: BTreeMap::from([("arguments".to_owned(), msg)]),
                sample: Some(f.arguments),
                ..Default::default()
            }
        }
        Err(e) => return Err(crate::web::chrome::PageError::new(c.t, e)),
    };
    render_tool(&state, &u, gym, id, extra).await
}

async fn delete_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, HttpToolId)>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, MANAGE).await?;
    let t = state.http_tools.get(&scope, gym, id).await.in_page(c.t)?;
    let question = c.t.get(Msg::ToolDeleteConfirm);
    Ok(page(
        ConfirmPage {
            c,
            question,
            subject: t.name,
            action: format!("/app/gyms/{gym}/tools/{id}/delete"),
            back: format!("/app/gyms/{gym}/tools/{id}"),
        },
        StatusCode::OK,
    ))
}

async fn delete_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, HttpToolId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, MANAGE).await?;
    state
        .http_tools
        .delete(&scope, &u.caller.actor, gym, id)
        .await
        .in_page(c.t)?;
    Ok(Redirect::to(&format!("/app/gyms/{gym}/tools")).into_response())
}
