//! The assistant's tool set: the voice built-ins plus the tools that need application
//! services — `search_knowledge`, the gym's knowledge base (hybrid search, [`crate::knowledge`])
//! as a tool. The question is embedded through the OpenAI client (the call is metered
//! against the gym); if that fails the tool answers from full-text search alone. Results carry
//! the entry titles so the model can cite them.

use std::sync::Arc;

use crate::knowledge::{self, ExactCosine};
use async_trait::async_trait;
use jarvis_openai::OpenAiClient;
use jarvis_voice::tools::{CallContext, ToolError, ToolOutput, ToolRegistry, VoiceTool};
use serde_json::{Value, json};

/// Chunks returned to the model.
pub const SEARCH_KNOWLEDGE_RESULTS: usize = 5;

/// `search_knowledge`: the best passages of the gym's knowledge base for a question.
#[derive(Clone)]
pub struct SearchKnowledge {
    client: Arc<OpenAiClient>,
    model: String,
    // Simulations run tools in a sandbox database without the knowledge base: they search the
    // real gym's entries instead (read-only but for the metered question embedding).
    source: Option<(
        Arc<dyn jarvis_store::Store>,
        jarvis_core::Scope,
        jarvis_core::GymId,
    )>,
}

impl SearchKnowledge {
    /// Embeds questions with `model` through `client`.
    pub fn new(client: OpenAiClient, model: impl Into<String>) -> Self {
        Self {
            client: Arc::new(client),
            model: model.into(),
            source: None,
        }
    }

    /// The same tool searching `gym`'s knowledge base in `store`, whatever call runs it.
    pub fn reading(
        mut self,
        store: Arc<dyn jarvis_store::Store>,
        scope: jarvis_core::Scope,
        gym: jarvis_core::GymId,
    ) -> Self {
        self.source = Some((store, scope, gym));
        self
    }
}

#[async_trait]
impl VoiceTool for SearchKnowledge {
    fn name(&self) -> &str {
        "search_knowledge"
    }
    fn description(&self) -> &str {
        "Search the gym's own knowledge base (prices, rules, opening hours, services, FAQ) for \
         passages answering the member's question. Answer only from the passages returned and \
         cite the entry title you used; if nothing relevant comes back, say you do not know and \
         offer a hand-off to staff."
    }
    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "description": "The member's question, in their words."
                }
            },
            "required": ["query"],
            "additionalProperties": false
        })
    }
    async fn call(&self, ctx: &CallContext, args: Value) -> Result<ToolOutput, ToolError> {
        let query = args
            .get("query")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        if query.is_empty() {
            return Err(ToolError::InvalidArguments(
                "query must not be empty".into(),
            ));
        }
        let (store, scope, gym) = match &self.source {
            Some((store, scope, gym)) => (store, scope, *gym),
            None => (ctx.store(), ctx.scope(), ctx.gym()),
        };
        let index = ExactCosine::new(store.clone());
        let r = knowledge::search(
            store.as_ref(),
            self.client.as_ref(),
            &index,
            scope,
            gym,
            &self.model,
            query,
            SEARCH_KNOWLEDGE_RESULTS,
        )
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "search_knowledge failed");
            match e {
                crate::error::AppError::Invalid(v) => ToolError::from(v),
                _ => ToolError::Failed("the knowledge base is unavailable, try again later".into()),
            }
        })?;
        let results: Vec<Value> = r
            .hits
            .iter()
            .map(|h| json!({ "title": h.title, "text": h.text }))
            .collect();
        Ok(ToolOutput::ok(json!({
            "results": results,
            "cite": "name the entry title of the passage you use",
        })))
    }
}

/// The tools every assistant is offered — the voice built-ins plus `search_knowledge` — for
/// member calls (handed to the broker) and simulations alike.
pub fn tools(client: &OpenAiClient, knowledge_model: &str) -> ToolRegistry {
    let mut tools = jarvis_voice::assistant_tools();
    // A distinct name: cannot clash with the built-ins.
    let _ = tools.register(Arc::new(SearchKnowledge::new(
        client.clone(),
        knowledge_model,
    )));
    tools
}

/// A gym's tool set for a simulation: `tools` with `search_knowledge` reading the real gym's
/// knowledge base (the simulation's sandbox database has none).
pub fn for_simulation(
    tools: &ToolRegistry,
    client: &OpenAiClient,
    knowledge_model: &str,
    store: Arc<dyn jarvis_store::Store>,
    scope: jarvis_core::Scope,
    gym: jarvis_core::GymId,
) -> ToolRegistry {
    let mut out = ToolRegistry::new();
    for name in tools.names() {
        if name == "search_knowledge" {
            continue;
        }
        if let Some(t) = tools.get(&name) {
            let _ = out.register(t.clone());
        }
    }
    let knowledge =
        SearchKnowledge::new(client.clone(), knowledge_model).reading(store, scope, gym);
    let _ = out.register(Arc::new(knowledge));
    out
}
