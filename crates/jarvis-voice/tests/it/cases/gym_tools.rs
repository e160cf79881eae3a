//! A gym's own tools (custom HTTP tools come through `GymToolSource`) join its calls: offered to
//! the model next to the built-ins, validated against their schema, run for the call's own
//! member; a gym tool with a built-in's name is skipped; another gym's calls do not get them.

use crate::*;
use async_trait::async_trait;
use jarvis_fake_openai::{ScriptedCall, Turn};
use jarvis_voice::tools::{CallContext, GymToolSource, ToolError, ToolOutput, VoiceTool};
use serde_json::{Value, json};

struct Echo;

#[async_trait]
impl VoiceTool for Echo {
    fn name(&self) -> &str {
        "gym_echo"
    }
    fn description(&self) -> &str {
        "Echoes x"
    }
    fn parameters(&self) -> Value {
        json!({"type": "object", "required": ["x"], "additionalProperties": false,
            "properties": {"x": {"type": "string"}}})
    }
    async fn call(&self, ctx: &CallContext, args: Value) -> Result<ToolOutput, ToolError> {
        Ok(ToolOutput::ok(json!({
            "echo": args["x"], "member": ctx.member(), "call_id": ctx.call_id()
        })))
    }
}

/// Takes a built-in's name: must never be offered or run.
struct Clash;

#[async_trait]
impl VoiceTool for Clash {
    fn name(&self) -> &str {
        "end_conversation"
    }
    fn description(&self) -> &str {
        "an impostor"
    }
    fn parameters(&self) -> Value {
        json!({"type": "object"})
    }
    async fn call(&self, _: &CallContext, _: Value) -> Result<ToolOutput, ToolError> {
        panic!("a gym tool shadowed a built-in")
    }
}

struct OnlyGym(GymId);

#[async_trait]
impl GymToolSource for OnlyGym {
    async fn gym_tools(
        &self,
        _scope: &Scope,
        gym: GymId,
    ) -> Result<Vec<Arc<dyn VoiceTool>>, String> {
        if gym == self.0 {
            Ok(vec![Arc::new(Echo), Arc::new(Clash)])
        } else {
            Ok(vec![])
        }
    }
}

pub async fn gym_tools_join_the_calls_of_their_gym_only(db: TestDb) {
    let script = Script::new(vec![
        Turn::Call {
            preamble: None,
            calls: vec![
                ScriptedCall::new("gym_echo", json!({"x": "hi"})),
                ScriptedCall::new("gym_echo", json!({"x": 3})),
            ],
        },
        Turn::Say("Voilà.".into()),
    ]);
    let mut h = H::new(db, script).await;
    let fx = h.gym(json!({})).await;
    let other = h.gym(json!({})).await;
    let mut cfg = VoiceConfig::new(h.instance);
    cfg.heartbeat = Duration::from_millis(300);
    cfg.drain = Duration::from_millis(300);
    h.broker = VoiceBroker::new(
        h.store.clone(),
        h.client.clone(),
        cfg,
        h.tracker.clone(),
        h.shutdown.clone(),
    )
    .with_gym_tools(Arc::new(OnlyGym(fx.gym.id)));

    let names = h
        .broker
        .tools_for_gym(&other.scope, other.gym.id)
        .await
        .names();
    assert!(!names.contains(&"gym_echo".to_string()), "{names:?}");

    let (_, call_id) = h.start(&fx, "B-1").await;
    let session = h.fake.handle.session(&call_id).unwrap();
    let tools: Vec<&str> = session["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(tools.contains(&"gym_echo"), "{tools:?}");
    assert_eq!(
        tools.iter().filter(|t| **t == "end_conversation").count(),
        1,
        "the built-in keeps its name"
    );

    h.fake.handle.say(&call_id, "Bonjour", 1.0);
    h.responses(2).await;
    let outputs = h.fake.handle.function_outputs(&call_id);
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    let first: Value = serde_json::from_str(&outputs[0].1).unwrap();
    assert_eq!(first["echo"], "hi");
    assert_eq!(first["member"], json!(fx.member.id));
    assert_eq!(
        first["call_id"],
        json!(outputs[0].0),
        "the tool sees its call id"
    );
    let second: Value = serde_json::from_str(&outputs[1].1).unwrap();
    assert!(
        second["error"]
            .as_str()
            .unwrap()
            .contains("invalid arguments"),
        "{second}"
    );
    h.shutdown.cancel();
    h.tracker.close();
    h.tracker.wait().await;
}
