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

/// Language of the heard demo conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoLanguage {
    /// French.
    Fr,
    /// English.
    En,
}

impl DemoLanguage {
    /// The language the server asked for: the input transcription language if set, else the
    /// instructions ("Speak French …"), else English.
    pub fn of_session(session: &Value) -> DemoLanguage {
        let lang = session
            .pointer("/audio/input/transcription/language")
            .and_then(Value::as_str)
            .unwrap_or("");
        if lang.starts_with("fr") {
            return DemoLanguage::Fr;
        }
        if lang.starts_with("en") {
            return DemoLanguage::En;
        }
        let instr = session
            .get("instructions")
            .and_then(Value::as_str)
            .unwrap_or("");
        if instr.contains("Speak French") || instr.contains("en français") {
            DemoLanguage::Fr
        } else {
            DemoLanguage::En
        }
    }
}

/// A scripted conversation driven by heard speech: what the member "said" at each heard
/// utterance (the fake has no speech recognition) and the assistant's script.
#[derive(Debug, Clone, PartialEq)]
pub struct Dialogue {
    /// Transcript of the member's n-th utterance (cycled).
    pub member_lines: Vec<String>,
    /// The assistant's turns; `{classes}` in a spoken line is replaced by the classes of the
    /// last `get_class_schedule` output.
    pub script: Script,
}

impl Dialogue {
    /// The member's line for heard utterance number `n` (0-based).
    pub fn member_line(&self, n: usize) -> String {
        if self.member_lines.is_empty() {
            return String::new();
        }
        self.member_lines[n % self.member_lines.len()].clone()
    }
}

/// The demo conversation a member has at the kiosk when the fake listens (`live_audio`): they
/// ask for today's classes (tool `get_class_schedule`, answered with the real schedule), state
/// a goal (tool `log_member_goal`, visible on the dashboard), then say goodbye and the
/// assistant ends the call politely (tool `end_conversation`).
pub fn demo_dialogue(lang: DemoLanguage) -> Dialogue {
    let (lines, turns, fallback) = match lang {
        DemoLanguage::Fr => (
            [
                "Bonjour ! Quels cours y a-t-il aujourd'hui ?",
                "Je voudrais courir dix kilomètres.",
                "Non merci, au revoir !",
            ],
            [
                (
                    "Bonjour ! Je regarde le planning du jour.",
                    "get_class_schedule",
                    json!({"day": "today"}),
                ),
                (
                    "Super objectif, je le note.",
                    "log_member_goal",
                    json!({"goal": "Courir 10 km"}),
                ),
                (
                    "Avec plaisir. Bonne séance et à bientôt !",
                    "end_conversation",
                    json!({"reason": "le membre a dit au revoir"}),
                ),
            ],
            [
                "Aujourd'hui : {classes}. Quel est votre objectif ?",
                "C'est noté ! Autre chose ?",
            ],
        ),
        DemoLanguage::En => (
            [
                "Hi! What classes are on today?",
                "I'd like to run a 10k.",
                "No thanks, goodbye!",
            ],
            [
                (
                    "Hi! Let me check today's schedule.",
                    "get_class_schedule",
                    json!({"day": "today"}),
                ),
                (
                    "Great goal, I'm noting it.",
                    "log_member_goal",
                    json!({"goal": "Run a 10k"}),
                ),
                (
                    "My pleasure. Have a great workout, see you soon!",
                    "end_conversation",
                    json!({"reason": "the member said goodbye"}),
                ),
            ],
            [
                "Today: {classes}. What is your goal?",
                "Done, your goal is saved! Anything else?",
            ],
        ),
    };
    let call = |(preamble, name, args): (&str, &str, Value)| Turn::Call {
        preamble: Some(preamble.to_owned()),
        calls: vec![ScriptedCall::new(name, args)],
    };
    let [ask, goal, bye] = turns;
    let [classes, saved] = fallback;
    Dialogue {
        member_lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        script: Script {
            turns: vec![
                call(ask),
                Turn::Say(classes.to_owned()),
                call(goal),
                Turn::Say(saved.to_owned()),
                call(bye),
            ],
            repeat: true,
            fallback: saved.to_owned(),
            default_instructions: demo_script().default_instructions,
        },
    }
}

/// Replaces `{classes}` with the classes of the last `get_class_schedule` output among
/// `outputs` (JSON texts, oldest first).
pub(crate) fn fill_classes(text: &str, outputs: &[String], lang: DemoLanguage) -> String {
    if !text.contains("{classes}") {
        return text.to_owned();
    }
    let classes = outputs
        .iter()
        .rev()
        .filter_map(|o| serde_json::from_str::<Value>(o).ok())
        .find_map(|v| v.get("classes").and_then(Value::as_array).cloned());
    let at = match lang {
        DemoLanguage::Fr => "à",
        DemoLanguage::En => "at",
    };
    let list: Vec<String> = classes
        .unwrap_or_default()
        .iter()
        .take(4)
        .filter_map(|c| {
            let name = c.get("name").and_then(Value::as_str)?;
            let time = c.get("start_time").and_then(Value::as_str).unwrap_or("");
            // "18:00:00" → "18:00".
            let time: String = time.chars().take(5).collect();
            Some(if time.is_empty() {
                name.to_owned()
            } else {
                format!("{name} {at} {time}")
            })
        })
        .collect();
    let list = if list.is_empty() {
        match lang {
            DemoLanguage::Fr => "aucun cours au planning".to_owned(),
            DemoLanguage::En => "no classes on the schedule".to_owned(),
        }
    } else {
        list.join(", ")
    };
    text.replace("{classes}", &list)
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
