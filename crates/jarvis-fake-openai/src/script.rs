//! Scripted assistant behaviour: replies, function calls (several at once) and expected outputs.

use serde_json::{Value, json};

/// One function call the scripted assistant makes.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptedCall {
    /// Tool name.
    pub name: String,
    /// Arguments (sent JSON-encoded as a string).
    pub arguments: Value,
    /// If set, the `function_call_output` must parse to this JSON or a mismatch is recorded.
    pub expected_output: Option<Value>,
}

impl ScriptedCall {
    /// A call to `name` with `arguments`.
    pub fn new(name: impl Into<String>, arguments: Value) -> Self {
        ScriptedCall {
            name: name.into(),
            arguments,
            expected_output: None,
        }
    }

    /// Requires the tool result to equal `output`.
    pub fn expect_output(mut self, output: Value) -> Self {
        self.expected_output = Some(output);
        self
    }
}

/// What the assistant does for one response.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// Speak (or write) this text.
    Say(String),
    /// Call these functions in one response, optionally after a spoken preamble.
    Call {
        /// Short message before the calls ("one moment").
        preamble: Option<String>,
        /// The calls, all in the same response.
        calls: Vec<ScriptedCall>,
    },
}

/// A scripted assistant: a sequence of turns, consumed one per response.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// Turns in order.
    pub turns: Vec<Turn>,
    /// Start over after the last turn (demo mode) instead of using `fallback`.
    pub repeat: bool,
    /// Reply once the script is exhausted.
    pub fallback: String,
    /// Instructions the fake reports when the client sets none.
    pub default_instructions: String,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            turns: Vec::new(),
            repeat: false,
            fallback: "Okay.".to_owned(),
            default_instructions: "You are a helpful assistant.".to_owned(),
        }
    }
}

impl Script {
    /// A script with these turns.
    pub fn new(turns: Vec<Turn>) -> Self {
        Script {
            turns,
            ..Self::default()
        }
    }

    /// The turn for response number `n` (0-based).
    pub fn turn(&self, n: usize) -> Turn {
        if self.turns.is_empty() {
            return Turn::Say(self.fallback.clone());
        }
        if n < self.turns.len() {
            return self.turns[n].clone();
        }
        if self.repeat {
            return self.turns[n % self.turns.len()].clone();
        }
        Turn::Say(self.fallback.clone())
    }
}

/// The friendly bilingual (French/English) gym assistant used by `jarvis serve` without a key.
pub fn demo_script() -> Script {
    Script {
        turns: vec![
            Turn::Say(
                "Bonjour et bienvenue à la salle ! Hello and welcome! Je suis JARVIS, votre coach \
                 virtuel. I can check the class schedule and note your goals."
                    .to_owned(),
            ),
            Turn::Call {
                preamble: Some("Un instant, je regarde le planning. One moment.".to_owned()),
                calls: vec![ScriptedCall::new(
                    "get_class_schedule",
                    json!({"day": "today"}),
                )],
            },
            Turn::Say(
                "Aujourd'hui il y a du yoga à 18h et du cross-training à 19h. Today there is yoga \
                 at 6 pm and cross-training at 7 pm. Quel est votre objectif ? What is your goal?"
                    .to_owned(),
            ),
            Turn::Call {
                // A built-in tool of the broker, so the demo's call has a visible effect (the
                // member's goals on the dashboard).
                preamble: Some("Parfait, je le note. Noting your goal.".to_owned()),
                calls: vec![ScriptedCall::new(
                    "log_member_goal",
                    json!({"goal": "Courir 10 km / run a 10k"}),
                )],
            },
            Turn::Say(
                "C'est noté ! Your goal is saved: run a 10k. Bonne séance, have a great \
                 workout!"
                    .to_owned(),
            ),
        ],
        repeat: true,
        fallback: "Je suis là si besoin. I'm here if you need me.".to_owned(),
        default_instructions: "Tu es JARVIS, le coach vocal bienveillant de la salle. You are \
                               JARVIS, the gym's friendly voice coach (demo mode, no real AI)."
            .to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn script_cycles_or_falls_back() {
        let s = Script::new(vec![Turn::Say("a".into()), Turn::Say("b".into())]);
        assert_eq!(s.turn(1), Turn::Say("b".into()));
        assert_eq!(s.turn(2), Turn::Say("Okay.".into()));
        let d = demo_script();
        assert_eq!(d.turn(d.turns.len()), d.turns[0]);
        assert!(matches!(d.turn(1), Turn::Call { .. }));
    }
}
