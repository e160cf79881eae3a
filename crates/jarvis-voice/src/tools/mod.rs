//! The tool registry: what the model may call during a call, executed on the server.
//!
//! Every tool runs with a [`CallContext`] that the call task builds from the session the server
//! owns (gym, member, session, kiosk): the model only supplies arguments, never whom they apply
//! to (the original trusted a client-supplied session, gym and member id). Arguments are
//! checked against the tool's JSON schema before the tool runs, and every call is audited
//! (`record_tool_call`: name, arguments, result or error, duration) at the gym's storage level.
//! The registry is open: a call's tools are the built-ins plus its gym's own (custom HTTP
//! tools), looked up at call start by [`tools_for_call`] through a [`GymToolSource`].

mod builtin;
mod schema;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jarvis_core::model::{GymSettings, Locale, NewToolCall, StorageLevel};
use jarvis_core::{GymId, KioskId, MemberId, Scope, VoiceSessionId};
use jarvis_store::Store;
use serde_json::{Value, json};
use time::{Date, OffsetDateTime};

pub use builtin::{
    AddMemberFact, EndConversation, GetClassSchedule, GetMemberProfile, HandOffToStaff,
    LogInteraction, LogMemberGoal, UpdatePreferences,
};
pub use schema::validate_args;

/// How long one tool may run before the model is told it failed.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(10);
/// Most characters of arguments accepted from the model.
pub const MAX_ARGUMENTS_CHARS: usize = 16_000;

/// The call a tool runs for: fixed by the server when the call started.
#[derive(Clone)]
pub struct CallContext {
    store: Arc<dyn Store>,
    scope: Scope,
    gym: GymId,
    member: MemberId,
    session: VoiceSessionId,
    kiosk: Option<KioskId>,
    language: Locale,
    today: Date,
    settings: Arc<GymSettings>,
    storage: StorageLevel,
    /// The provider's id of the function call being run (set by the registry).
    tool_call: Arc<str>,
}

impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("gym", &self.gym)
            .field("member", &self.member)
            .field("session", &self.session)
            .finish()
    }
}

/// The parts of a [`CallContext`].
#[derive(Clone)]
pub struct CallBinding {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// The gym's scope.
    pub scope: Scope,
    /// The gym.
    pub gym: GymId,
    /// The member talking.
    pub member: MemberId,
    /// The session.
    pub session: VoiceSessionId,
    /// The kiosk.
    pub kiosk: Option<KioskId>,
    /// Conversation language.
    pub language: Locale,
    /// Today's date (schedule questions).
    pub today: Date,
    /// The gym's settings when the call started.
    pub settings: Arc<GymSettings>,
    /// How much of tool calls is stored.
    pub storage: StorageLevel,
}

impl CallContext {
    /// Binds a context to one call (built by the broker from the session it owns).
    pub fn new(b: CallBinding) -> Self {
        CallContext {
            store: b.store,
            scope: b.scope,
            gym: b.gym,
            member: b.member,
            session: b.session,
            kiosk: b.kiosk,
            language: b.language,
            today: b.today,
            settings: b.settings,
            storage: b.storage,
            tool_call: Arc::from(""),
        }
    }
    /// This context for one function call (the registry sets it before running a tool).
    fn for_tool_call(&self, call_id: &str) -> Self {
        CallContext {
            tool_call: Arc::from(call_id),
            ..self.clone()
        }
    }
    /// The provider's id of the function call being run (stable across the provider's
    /// retries of that call: custom tools derive their idempotency key from it).
    pub fn call_id(&self) -> &str {
        &self.tool_call
    }
    /// Storage.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
    /// The gym's scope (every read and write of a tool runs in it).
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
    /// The gym.
    pub fn gym(&self) -> GymId {
        self.gym
    }
    /// The member talking.
    pub fn member(&self) -> MemberId {
        self.member
    }
    /// The session.
    pub fn session(&self) -> VoiceSessionId {
        self.session
    }
    /// The kiosk.
    pub fn kiosk(&self) -> Option<KioskId> {
        self.kiosk
    }
    /// Conversation language.
    pub fn language(&self) -> Locale {
        self.language
    }
    /// Today.
    pub fn today(&self) -> Date {
        self.today
    }
    /// The gym's settings.
    pub fn settings(&self) -> &GymSettings {
        &self.settings
    }
    /// Storage level of the call's transcripts and tool calls.
    pub fn storage(&self) -> StorageLevel {
        self.storage
    }
}

/// Something a tool asks the call to do besides answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolEffect {
    /// Hang up once the outputs are sent (`assistant_ended`).
    EndCall,
}

/// A tool's answer: the JSON given back to the model, and an optional effect on the call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    /// Result for the model.
    pub result: Value,
    /// Effect on the call.
    pub effect: Option<ToolEffect>,
}

impl ToolOutput {
    /// A plain result.
    pub fn ok(result: Value) -> Self {
        ToolOutput {
            result,
            effect: None,
        }
    }
}

/// Why a tool call failed (the message goes to the model and to the audit row).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToolError {
    /// The arguments do not match the schema.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool is switched off for this gym.
    #[error("not available: {0}")]
    Unavailable(String),
    /// Storage or another dependency failed.
    #[error("failed: {0}")]
    Failed(String),
}

impl From<jarvis_store::StoreError> for ToolError {
    fn from(e: jarvis_store::StoreError) -> Self {
        tracing::warn!(error = %e, "voice tool storage error");
        match e {
            jarvis_store::StoreError::Invalid { field, message } => {
                ToolError::InvalidArguments(format!("{field}: {message}"))
            }
            jarvis_store::StoreError::NotFound(what) => {
                ToolError::Failed(format!("{what} not found"))
            }
            _ => ToolError::Failed("storage unavailable, try again later".into()),
        }
    }
}

impl From<jarvis_core::ValidationErrors> for ToolError {
    fn from(e: jarvis_core::ValidationErrors) -> Self {
        let msg: Vec<String> =
            e.0.iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
        ToolError::InvalidArguments(msg.join("; "))
    }
}

/// A tool the model can call.
#[async_trait]
pub trait VoiceTool: Send + Sync {
    /// Function name (`[a-z_]+`, unique in a registry).
    fn name(&self) -> &str;
    /// What it does, for the model.
    fn description(&self) -> &str;
    /// JSON schema of its arguments (an object schema).
    fn parameters(&self) -> Value;
    /// Runs with already-validated arguments, for the call `ctx` is bound to.
    async fn call(&self, ctx: &CallContext, args: Value) -> Result<ToolOutput, ToolError>;
}

/// Where a gym's own tools come from (custom HTTP tools), looked up when a call starts. The
/// tools it answers act for the call's [`CallContext`] like any other.
#[async_trait]
pub trait GymToolSource: Send + Sync {
    /// The enabled tools of `gym`, in `scope`.
    async fn gym_tools(&self, scope: &Scope, gym: GymId)
    -> Result<Vec<Arc<dyn VoiceTool>>, String>;
}

/// The tool set of one call of `gym`: `base` (the built-ins) plus the gym's own tools from
/// `source`. A gym tool whose name is taken is skipped (and logged); a source that fails leaves
/// the built-ins (logged): a broken integration never stops a member's call. The broker and
/// simulations both build a call's tools with this.
pub async fn tools_for_call(
    base: &ToolRegistry,
    source: Option<&dyn GymToolSource>,
    scope: &Scope,
    gym: GymId,
) -> ToolRegistry {
    let mut tools = base.clone();
    let Some(source) = source else {
        return tools;
    };
    match source.gym_tools(scope, gym).await {
        Ok(extra) => {
            for t in extra {
                if let Err(e) = tools.register(t) {
                    tracing::warn!(%gym, error = %e, "gym tool skipped");
                }
            }
        }
        Err(e) => tracing::error!(%gym, error = %e, "could not load the gym's tools"),
    }
    tools
}

/// The outcome of one function call: what to send back and what it asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// The provider's call id.
    pub call_id: String,
    /// JSON text for `function_call_output`.
    pub output: String,
    /// Effect on the call, if the tool succeeded with one.
    pub effect: Option<ToolEffect>,
    /// Whether the tool failed.
    pub failed: bool,
}

/// The tools of a call, by name.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: Vec<Arc<dyn VoiceTool>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// A tool with a name already registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tool named {0:?} is already registered")]
pub struct DuplicateTool(pub String);

impl ToolRegistry {
    /// No tools.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-in tools.
    pub fn builtin() -> Self {
        let mut r = Self::new();
        let tools: [Arc<dyn VoiceTool>; 8] = [
            Arc::new(GetMemberProfile),
            Arc::new(GetClassSchedule),
            Arc::new(LogMemberGoal),
            Arc::new(LogInteraction),
            Arc::new(AddMemberFact),
            Arc::new(UpdatePreferences),
            Arc::new(HandOffToStaff),
            Arc::new(EndConversation),
        ];
        for t in tools {
            // Built-in names are distinct; a clash would be a programming error caught by tests.
            let _ = r.register(t);
        }
        r
    }

    /// Adds a tool; refuses a second tool with the same name.
    pub fn register(&mut self, tool: Arc<dyn VoiceTool>) -> Result<(), DuplicateTool> {
        if self.get(tool.name()).is_some() {
            return Err(DuplicateTool(tool.name().to_owned()));
        }
        self.tools.push(tool);
        Ok(())
    }

    /// The tool called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn VoiceTool>> {
        self.tools.iter().find(|t| t.name() == name)
    }

    /// Tool names in registration order.
    pub fn names(&self) -> Vec<String> {
        self.tools.iter().map(|t| t.name().to_owned()).collect()
    }

    /// The session's `tools` for the provider.
    pub fn definitions(&self) -> Vec<jarvis_openai::realtime::Tool> {
        self.tools
            .iter()
            .map(|t| {
                jarvis_openai::realtime::Tool::function(t.name(), t.description(), t.parameters())
            })
            .collect()
    }

    /// Runs one function call for `ctx`'s call and audits it. Never fails: a bad call becomes
    /// an `{"error": …}` output the model can read and recover from.
    pub async fn execute(
        &self,
        ctx: &CallContext,
        call_id: &str,
        name: &str,
        arguments: &str,
    ) -> Execution {
        let started = Instant::now();
        let at = OffsetDateTime::now_utc();
        let (args, outcome) = self.run(&ctx.for_tool_call(call_id), name, arguments).await;
        let duration_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let (output, effect, audit) = match outcome {
            Ok(out) => (out.result.to_string(), out.effect, Ok(out.result)),
            Err(e) => {
                let msg = e.to_string();
                (json!({ "error": msg }).to_string(), None, Err(msg))
            }
        };
        let failed = audit.is_err();
        let row = NewToolCall::new(ctx.storage, call_id, name, args, audit, duration_ms, at);
        if let Err(e) = ctx
            .store
            .record_tool_call(&ctx.scope, ctx.session, row)
            .await
        {
            tracing::error!(session = %ctx.session, call_id, tool = name, error = %e,
                "could not audit a tool call");
        }
        Execution {
            call_id: call_id.to_owned(),
            output,
            effect,
            failed,
        }
    }

    /// Parses, validates and runs; returns the arguments as understood (for the audit).
    async fn run(
        &self,
        ctx: &CallContext,
        name: &str,
        arguments: &str,
    ) -> (Value, Result<ToolOutput, ToolError>) {
        if arguments.len() > MAX_ARGUMENTS_CHARS {
            return (
                Value::Null,
                Err(ToolError::InvalidArguments("arguments too long".into())),
            );
        }
        let args: Value = if arguments.trim().is_empty() {
            json!({})
        } else {
            match serde_json::from_str(arguments) {
                Ok(v) => v,
                Err(e) => {
                    return (
                        Value::String(arguments.to_owned()),
                        Err(ToolError::InvalidArguments(format!("not JSON: {e}"))),
                    );
                }
            }
        };
        let Some(tool) = self.get(name) else {
            return (
                args,
                Err(ToolError::Unavailable(format!("no tool named {name:?}"))),
            );
        };
        if let Err(e) = validate_args(&tool.parameters(), &args) {
            return (args, Err(ToolError::InvalidArguments(e)));
        }
        let result = match tokio::time::timeout(TOOL_TIMEOUT, tool.call(ctx, args.clone())).await {
            Ok(r) => r,
            Err(_) => Err(ToolError::Failed("timed out".into())),
        };
        (args, result)
    }
}

#[cfg(test)]
mod reserved_names_tests {
    use super::*;

    #[test]
    fn every_builtin_name_is_reserved_for_custom_tools() {
        for n in ToolRegistry::builtin().names() {
            assert!(
                jarvis_core::model::RESERVED_TOOL_NAMES.contains(&n.as_str()),
                "{n} must be in RESERVED_TOOL_NAMES so no custom tool can take it"
            );
        }
    }
}
