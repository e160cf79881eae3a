//! Custom HTTP tools: per-gym functions the assistant may call, run by the server as a signed
//! HTTP request to the gym's own system (booking, shop stock, CRM…).
//!
//! - **Definitions** ([`HttpTools::create`], [`HttpTools::update`]): validated by
//!   `HttpToolInput::validate` (name, description, parameter schema checked *as a schema*,
//!   method, time limit, member fields) and here for where the URL may point ([`check_url`]:
//!   https, or http to an allow-listed host). At most `MAX_HTTP_TOOLS_PER_GYM` per gym.
//! - **Secrets**: one per tool, generated on create and on rotation, shown once, stored sealed
//!   with the master key (purpose bound to the tool id).
//! - **Calls** ([`call`]): arguments validated against the tool's schema first (a call with bad
//!   arguments never reaches the URL), then the SSRF guard ([`ssrf`]), signing, no redirects,
//!   bounded time and size, JSON only; every failure is a tool error for the model.
//! - **Voice**: [`HttpTools::tools_for_call`] answers a gym's enabled tools as `VoiceTool`s;
//!   `HttpTools` is the broker's `GymToolSource`, so a call gets the built-ins plus its gym's
//!   tools. There is no SQL tool type, on purpose.

pub mod call;
pub mod ssrf;

use crate::auth::crypto::{MasterKey, new_token};
use crate::error::{AppError, AppResult};
use async_trait::async_trait;
use jarvis_core::authz::Action;
use jarvis_core::json_schema::validate_args;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::Store;
use jarvis_voice::tools::{CallContext, GymToolSource, ToolError, ToolOutput, VoiceTool};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;
use time::OffsetDateTime;

pub use call::{Exchange, TestReport, check_url};
pub use ssrf::AllowList;

/// Reading and changing a gym's tools (managers and above: the definitions name the gym's
/// internal systems and decide which member data leaves JARVIS).
pub const MANAGE: Action = Action::GymSettingsUpdate;

/// A freshly generated tool secret: shown once, stored only sealed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewToolSecret {
    /// The tool.
    pub tool_id: HttpToolId,
    /// The secret to verify `Jarvis-Signature` with (never shown again).
    pub secret: String,
}

/// A tool just created, with its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedTool {
    /// The tool.
    #[serde(flatten)]
    pub tool: HttpTool,
    /// Its secret (shown once).
    pub secret: String,
}

fn purpose(id: HttpToolId) -> String {
    format!("http-tool:{id}")
}

fn new_secret() -> String {
    format!("jtsec_{}", new_token())
}

/// The custom HTTP tools service: storage, the master key (secrets) and the operator's
/// allow-list (SSRF guard). Cheap to clone.
#[derive(Clone)]
pub struct HttpTools {
    store: Arc<dyn Store>,
    master: MasterKey,
    allow: Arc<AllowList>,
}

impl std::fmt::Debug for HttpTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTools")
            .field("allow", &self.allow)
            .finish()
    }
}

fn url_error(m: String) -> AppError {
    AppError::Invalid(FieldError::new("url", "not_allowed", m).into())
}

impl HttpTools {
    /// The service over `store`, sealing with `master`, reaching what `allow` permits.
    pub fn new(store: Arc<dyn Store>, master: MasterKey, allow: AllowList) -> Self {
        HttpTools {
            store,
            master,
            allow: Arc::new(allow),
        }
    }

    /// The operator's allow-list.
    pub fn allow_list(&self) -> &AllowList {
        &self.allow
    }

    fn validate(&self, input: HttpToolInput) -> AppResult<ValidHttpTool> {
        let v = input.validate()?;
        check_url(&v.url, &self.allow).map_err(url_error)?;
        Ok(v)
    }

    /// A gym's tools.
    pub async fn list(&self, scope: &Scope, gym: GymId) -> AppResult<Vec<HttpTool>> {
        Ok(self.store.list_http_tools(scope, gym).await?)
    }

    /// One tool.
    pub async fn get(&self, scope: &Scope, gym: GymId, id: HttpToolId) -> AppResult<HttpTool> {
        Ok(self.store.http_tool(scope, gym, id).await?)
    }

    /// Creates a tool and its secret (answered once).
    pub async fn create(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        input: HttpToolInput,
    ) -> AppResult<CreatedTool> {
        let v = self.validate(input)?;
        if self.store.list_http_tools(scope, gym).await?.len() >= MAX_HTTP_TOOLS_PER_GYM {
            return Err(AppError::Invalid(
                FieldError::new(
                    "name",
                    "too_many",
                    format!("a gym has at most {MAX_HTTP_TOOLS_PER_GYM} tools"),
                )
                .into(),
            ));
        }
        let id = HttpToolId::new();
        let secret = new_secret();
        let sealed = self
            .master
            .seal(&purpose(id), secret.as_bytes())
            .map_err(|e| AppError::Internal(e.0))?;
        let tool = self
            .store
            .create_http_tool(scope, actor, gym, id, v, &sealed)
            .await?;
        Ok(CreatedTool { tool, secret })
    }

    /// Replaces a tool's definition (its secret stays).
    pub async fn update(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: HttpToolId,
        input: HttpToolInput,
    ) -> AppResult<HttpTool> {
        let v = self.validate(input)?;
        Ok(self
            .store
            .update_http_tool(scope, actor, gym, id, v)
            .await?)
    }

    /// Deletes a tool.
    pub async fn delete(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: HttpToolId,
    ) -> AppResult<()> {
        Ok(self.store.delete_http_tool(scope, actor, gym, id).await?)
    }

    /// A new secret for a tool (the old one stops working at once), answered once.
    pub async fn rotate_secret(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: HttpToolId,
    ) -> AppResult<NewToolSecret> {
        let secret = new_secret();
        let sealed = self
            .master
            .seal(&purpose(id), secret.as_bytes())
            .map_err(|e| AppError::Internal(e.0))?;
        self.store
            .set_http_tool_secret(scope, actor, gym, id, &sealed)
            .await?;
        Ok(NewToolSecret {
            tool_id: id,
            secret,
        })
    }

    async fn secret(&self, scope: &Scope, gym: GymId, id: HttpToolId) -> AppResult<String> {
        let sealed = self.store.http_tool_secret(scope, gym, id).await?;
        let plain = self
            .master
            .open(&purpose(id), &sealed)
            .map_err(|e| AppError::Internal(e.0))?;
        String::from_utf8(plain).map_err(|_| AppError::Internal("tool secret is not text".into()))
    }

    /// "Test this tool": runs it once with `arguments` (JSON text, validated against the
    /// schema first: invalid arguments are a field error on `arguments` and nothing is sent)
    /// and sample member values; answers the exchange.
    pub async fn test(
        &self,
        scope: &Scope,
        gym: GymId,
        id: HttpToolId,
        arguments: &str,
    ) -> AppResult<Exchange> {
        let tool = self.get(scope, gym, id).await?;
        let args = parse_args(&tool, arguments)
            .map_err(|m| AppError::Invalid(FieldError::new("arguments", "invalid", m).into()))?;
        let secret = self.secret(scope, gym, id).await?;
        let member = sample_member(&tool.member_fields);
        Ok(call::perform(
            &tool,
            call::CallInput {
                secret: &secret,
                arguments: args,
                member,
                idempotency_key: format!("test-{}", uuid::Uuid::now_v7()),
                now: OffsetDateTime::now_utc(),
            },
            &self.allow,
        )
        .await)
    }

    /// The enabled tools of `gym`, ready for a voice call (the one list the broker and
    /// simulations use, through `jarvis_voice::tools::tools_for_call`).
    pub async fn tools_for_call(
        &self,
        scope: &Scope,
        gym: GymId,
    ) -> AppResult<Vec<Arc<dyn VoiceTool>>> {
        Ok(self
            .list(scope, gym)
            .await?
            .into_iter()
            .filter(|t| t.enabled)
            .map(|t| {
                Arc::new(HttpVoiceTool {
                    tool: t,
                    service: self.clone(),
                }) as Arc<dyn VoiceTool>
            })
            .collect())
    }
}

#[async_trait]
impl GymToolSource for HttpTools {
    async fn gym_tools(
        &self,
        scope: &Scope,
        gym: GymId,
    ) -> Result<Vec<Arc<dyn VoiceTool>>, String> {
        self.tools_for_call(scope, gym)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Parses and validates a sample's arguments against the tool's schema.
fn parse_args(tool: &HttpTool, text: &str) -> Result<Value, String> {
    let v: Value = if text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?
    };
    validate_args(&tool.parameters, &v)?;
    Ok(v)
}

fn sample_member(fields: &[MemberField]) -> Option<Map<String, Value>> {
    if fields.is_empty() {
        return None;
    }
    Some(
        fields
            .iter()
            .map(|f| {
                (
                    f.as_str().to_owned(),
                    Value::String(format!("sample {}", f.as_str())),
                )
            })
            .collect(),
    )
}

/// A custom HTTP tool as the voice registry sees it. The registry validates the model's
/// arguments against `parameters` before `call` runs; the member is the call's own.
struct HttpVoiceTool {
    tool: HttpTool,
    service: HttpTools,
}

#[async_trait]
impl VoiceTool for HttpVoiceTool {
    fn name(&self) -> &str {
        &self.tool.name
    }
    fn description(&self) -> &str {
        &self.tool.description
    }
    fn parameters(&self) -> Value {
        self.tool.parameters.clone()
    }
    async fn call(&self, ctx: &CallContext, args: Value) -> Result<ToolOutput, ToolError> {
        // Defence in depth: the registry already validated, but this tool must never send
        // arguments that break its schema, whoever calls it.
        validate_args(&self.tool.parameters, &args).map_err(ToolError::InvalidArguments)?;
        let svc = &self.service;
        let member = if self.tool.member_fields.is_empty() {
            None
        } else {
            let m = ctx
                .store()
                .member(ctx.scope(), ctx.gym(), ctx.member())
                .await?;
            Some(
                self.tool
                    .member_fields
                    .iter()
                    .map(|f| (f.as_str().to_owned(), f.value_of(&m)))
                    .collect(),
            )
        };
        let secret = svc
            .secret(ctx.scope(), ctx.gym(), self.tool.id)
            .await
            .map_err(|e| {
                tracing::error!(tool = %self.tool.id, error = %e, "tool secret unreadable");
                ToolError::Unavailable("this tool is not available right now".into())
            })?;
        let ex = call::perform(
            &self.tool,
            call::CallInput {
                secret: &secret,
                arguments: args,
                member,
                idempotency_key: format!("{}:{}", ctx.session(), ctx.call_id()),
                now: OffsetDateTime::now_utc(),
            },
            &svc.allow,
        )
        .await;
        match ex.outcome {
            Ok(r) => Ok(ToolOutput::ok(r.result)),
            Err(e) => {
                tracing::info!(tool = %self.tool.name, gym = %ctx.gym(), error = %e,
                    "custom tool call failed");
                Err(ToolError::Failed(e))
            }
        }
    }
}
