//! Post-call analysis (the gym's custom fields, the JSON schema asked of the chat model and the
//! validation of its answer) and simulations (the scenario file, runs and their results).
//! Pure: the analysis job and the simulation runner live in `jarvis-voice`.

use super::{Locale, NewSessionAnalysis, Sentiment};
use crate::cost::PicoUsd;
use crate::ids::*;
use crate::validate::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// Most custom analysis fields per gym.
pub const MAX_ANALYSIS_FIELDS: usize = 20;
/// Most values of an enum field.
pub const MAX_ENUM_VALUES: usize = 20;

/// Names of the standard answer: a custom field may not take one of them.
const RESERVED: [&str; 9] = [
    "summary",
    "sentiment",
    "topics",
    "satisfaction",
    "follow_up_needed",
    "follow_up_reason",
    "cancellation_intent",
    "custom",
    "status",
];

/// The type of a custom analysis field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnalysisFieldKind {
    /// Free text (at most 500 characters).
    Text,
    /// A number.
    Number,
    /// Yes or no.
    Boolean,
    /// One of the field's `enum_values`.
    Enum,
}

impl AnalysisFieldKind {
    /// Every kind, in the order the page offers them.
    pub const ALL: [AnalysisFieldKind; 4] = [
        AnalysisFieldKind::Text,
        AnalysisFieldKind::Number,
        AnalysisFieldKind::Boolean,
        AnalysisFieldKind::Enum,
    ];
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            AnalysisFieldKind::Text => "text",
            AnalysisFieldKind::Number => "number",
            AnalysisFieldKind::Boolean => "boolean",
            AnalysisFieldKind::Enum => "enum",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A gym's custom analysis field: added to the schema the model answers, validated, stored
/// with the analysis and shown as a column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnalysisField {
    /// Id.
    pub id: AnalysisFieldId,
    /// Gym.
    pub gym_id: GymId,
    /// Property name (`[a-z][a-z0-9_]*`, at most 40).
    pub name: String,
    /// Type.
    pub kind: AnalysisFieldKind,
    /// Allowed values of an enum field (empty otherwise).
    pub enum_values: Vec<String>,
    /// What the model should put there (sent to the model as the property's description).
    pub description: String,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Input to define a custom analysis field.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAnalysisField {
    /// Property name (`[a-z][a-z0-9_]*`, at most 40, not a standard field's name).
    pub name: String,
    /// Type.
    pub kind: AnalysisFieldKind,
    /// For `enum`: 1–20 distinct values of 1–60 characters; otherwise empty.
    #[serde(default)]
    pub enum_values: Vec<String>,
    /// Description for the model (1–500 characters).
    pub description: String,
}

impl NewAnalysisField {
    /// Trims and checks every field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let name = self.name.trim().to_owned();
        let well_formed = !name.is_empty()
            && name.len() <= 40
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            v.push(FieldError::new(
                "name",
                "invalid",
                "lower-case letters, digits and _, starting with a letter, at most 40",
            ));
        } else if RESERVED.contains(&name.as_str()) {
            v.push(FieldError::new(
                "name",
                "reserved",
                "is the name of a standard analysis field",
            ));
        }
        let description = v.text("description", &self.description, 500);
        let mut values: Vec<String> = Vec::new();
        if self.kind == AnalysisFieldKind::Enum {
            for (i, x) in self.enum_values.iter().enumerate() {
                let x = v.text(&format!("enum_values[{i}]"), x, 60);
                if !x.is_empty() && values.contains(&x) {
                    v.push(FieldError::new(
                        format!("enum_values[{i}]"),
                        "duplicate",
                        "appears twice",
                    ));
                }
                values.push(x);
            }
            if values.is_empty() || values.len() > MAX_ENUM_VALUES {
                v.push(FieldError::new(
                    "enum_values",
                    "invalid",
                    "an enum field needs 1 to 20 values",
                ));
            }
        } else if self.enum_values.iter().any(|x| !x.trim().is_empty()) {
            v.push(FieldError::new(
                "enum_values",
                "not_allowed",
                "only enum fields have values",
            ));
        }
        v.finish().map(|()| Self {
            name,
            kind: self.kind,
            enum_values: values,
            description,
        })
    }
}

impl AnalysisField {
    /// The property's JSON schema (nullable: the model answers `null` when the conversation
    /// does not tell, rather than guessing).
    pub fn json_schema(&self) -> Value {
        match self.kind {
            AnalysisFieldKind::Text => {
                json!({"type": ["string", "null"], "description": self.description})
            }
            AnalysisFieldKind::Number => {
                json!({"type": ["number", "null"], "description": self.description})
            }
            AnalysisFieldKind::Boolean => {
                json!({"type": ["boolean", "null"], "description": self.description})
            }
            AnalysisFieldKind::Enum => {
                let mut values: Vec<Value> = self.enum_values.iter().map(|x| json!(x)).collect();
                values.push(Value::Null);
                json!({"type": ["string", "null"], "enum": values,
                    "description": self.description})
            }
        }
    }

    /// Checks a value the model gave for this field.
    pub fn check(&self, value: &Value) -> Result<(), String> {
        let ok = match (self.kind, value) {
            (_, Value::Null) => true,
            (AnalysisFieldKind::Text, Value::String(s)) => s.chars().count() <= 500,
            (AnalysisFieldKind::Number, Value::Number(n)) => n.as_f64().is_some_and(f64::is_finite),
            (AnalysisFieldKind::Boolean, Value::Bool(_)) => true,
            (AnalysisFieldKind::Enum, Value::String(s)) => self.enum_values.contains(s),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "custom field {} is not a valid {}",
                self.name,
                self.kind.as_str()
            ))
        }
    }
}

/// The strict JSON schema the analysis model must answer: the standard fields plus `custom`
/// with one property per custom field. Strict mode: every property required, no others.
pub fn analysis_schema(fields: &[AnalysisField]) -> Value {
    let mut custom_props = Map::new();
    for f in fields {
        custom_props.insert(f.name.clone(), f.json_schema());
    }
    let custom_required: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["summary", "sentiment", "topics", "satisfaction", "follow_up_needed",
            "follow_up_reason", "cancellation_intent", "custom"],
        "properties": {
            "summary": {"type": "string",
                "description": "Two to four sentences: what the member wanted and what was agreed."},
            "sentiment": {"type": "number", "minimum": -1, "maximum": 1,
                "description": "The member's overall tone, -1 very negative to 1 very positive."},
            "topics": {"type": "array", "items": {"type": "string"}, "maxItems": 20,
                "description": "Short topic labels."},
            "satisfaction": {"type": "integer", "minimum": 1, "maximum": 5,
                "description": "How satisfied the member seemed, 1 to 5."},
            "follow_up_needed": {"type": "boolean",
                "description": "Whether staff should contact the member."},
            "follow_up_reason": {"type": ["string", "null"],
                "description": "Why staff should follow up; null when not needed."},
            "cancellation_intent": {"type": "boolean",
                "description": "Whether the member said they want to cancel their membership."},
            "custom": {"type": "object", "additionalProperties": false,
                "required": custom_required, "properties": custom_props},
        }
    })
}

fn get<'a>(o: &'a Map<String, Value>, k: &str) -> Result<&'a Value, String> {
    o.get(k).ok_or_else(|| format!("{k} is missing"))
}

/// Validates the model's answer against the schema of `fields` (never trusting that strict
/// mode held) and turns it into the analysis to store. The error says what was wrong.
pub fn parse_analysis(
    answer: &Value,
    fields: &[AnalysisField],
) -> Result<NewSessionAnalysis, String> {
    let o = answer.as_object().ok_or("the answer is not an object")?;
    const KNOWN: [&str; 8] = [
        "summary",
        "sentiment",
        "topics",
        "satisfaction",
        "follow_up_needed",
        "follow_up_reason",
        "cancellation_intent",
        "custom",
    ];
    if let Some(k) = o.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("unexpected property {k}"));
    }
    let summary = get(o, "summary")?
        .as_str()
        .filter(|s| !s.trim().is_empty() && s.chars().count() <= 4000)
        .ok_or("summary is not a non-empty string of at most 4000 characters")?;
    let score = get(o, "sentiment")?
        .as_f64()
        .filter(|s| s.is_finite() && (-1.0..=1.0).contains(s))
        .ok_or("sentiment is not a number between -1 and 1")?;
    let topics = get(o, "topics")?
        .as_array()
        .filter(|a| a.len() <= 20)
        .ok_or("topics is not an array of at most 20")?
        .iter()
        .map(|t| {
            t.as_str()
                .filter(|t| !t.trim().is_empty() && t.chars().count() <= 80)
                .map(|t| t.trim().to_owned())
                .ok_or_else(|| "a topic is not a string of 1 to 80 characters".to_owned())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let satisfaction = get(o, "satisfaction")?
        .as_u64()
        .filter(|n| (1..=5).contains(n))
        .and_then(|n| u8::try_from(n).ok())
        .ok_or("satisfaction is not an integer from 1 to 5")?;
    let follow_up = get(o, "follow_up_needed")?
        .as_bool()
        .ok_or("follow_up_needed is not a boolean")?;
    let follow_up_reason = match get(o, "follow_up_reason")? {
        Value::Null => None,
        Value::String(s) if s.chars().count() <= 1000 => Some(s.clone()),
        _ => {
            return Err(
                "follow_up_reason is not a string of at most 1000 characters or null".into(),
            );
        }
    };
    let cancellation_intent = get(o, "cancellation_intent")?
        .as_bool()
        .ok_or("cancellation_intent is not a boolean")?;
    let given = get(o, "custom")?
        .as_object()
        .ok_or("custom is not an object")?;
    if let Some(k) = given.keys().find(|k| !fields.iter().any(|f| &f.name == *k)) {
        return Err(format!("custom has an unknown field {k}"));
    }
    let mut custom = Map::new();
    for f in fields {
        let v = given
            .get(&f.name)
            .ok_or_else(|| format!("custom field {} is missing", f.name))?;
        f.check(v)?;
        custom.insert(f.name.clone(), v.clone());
    }
    Ok(NewSessionAnalysis {
        summary: summary.to_owned(),
        sentiment: Sentiment::from_score(score),
        topics,
        sentiment_score: Some(score),
        satisfaction: Some(satisfaction),
        follow_up: Some(follow_up),
        follow_up_reason,
        cancellation_intent: Some(cancellation_intent),
        custom,
        ..Default::default()
    })
}

// ---------------------------------------------------------------------------------------------
// Simulations

/// A scenario file: the personas to play against a gym's assistant and what each must get.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// 1–50 scenarios with distinct names.
    pub scenarios: Vec<Scenario>,
}

/// One simulated conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name (1–80 characters, unique in the file).
    pub name: String,
    /// Conversation language (default: the gym's).
    #[serde(default)]
    pub language: Option<Locale>,
    /// Who plays the member.
    pub persona: ScenarioPersona,
    /// What the assistant must and must not do.
    #[serde(default)]
    pub expect: Expectations,
}

/// Who plays the member.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ScenarioPersona {
    /// The member's turns, said in order whatever the assistant answers.
    Scripted {
        /// 1–20 turns of at most 1000 characters.
        turns: Vec<String>,
    },
    /// A chat model plays the member described here, for at most `max_turns` turns.
    Model {
        /// Who the member is and what they want (1–2000 characters).
        description: String,
        /// Most member turns (1–10, default 4).
        #[serde(default = "default_max_turns")]
        max_turns: u32,
    },
}

fn default_max_turns() -> u32 {
    4
}

/// Expectations of a scenario.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// Things the assistant must mention (judged by the judge model).
    #[serde(default)]
    pub must_mention: Vec<String>,
    /// Things the assistant must not do or say (judged by the judge model).
    #[serde(default)]
    pub must_not: Vec<String>,
    /// Tools the assistant must call (checked from the recorded calls, not by the judge).
    #[serde(default)]
    pub must_call_tool: Vec<String>,
}

impl Expectations {
    /// The expectations the judge decides (`must_mention` then `must_not`), as `(kind, text)`.
    pub fn judged(&self) -> Vec<(CheckKind, &str)> {
        self.must_mention
            .iter()
            .map(|x| (CheckKind::MustMention, x.as_str()))
            .chain(
                self.must_not
                    .iter()
                    .map(|x| (CheckKind::MustNot, x.as_str())),
            )
            .collect()
    }
}

impl ScenarioFile {
    /// Parses and checks a scenario file (JSON).
    pub fn parse(text: &str) -> Result<Self, ValidationErrors> {
        let file: ScenarioFile = serde_json::from_str(text).map_err(|e| {
            ValidationErrors(vec![FieldError::new(
                "scenarios",
                "invalid_json",
                format!("not a scenario file: {e}"),
            )])
        })?;
        file.validate()
    }

    /// Checks every scenario.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        if self.scenarios.is_empty() || self.scenarios.len() > 50 {
            v.push(FieldError::new("scenarios", "invalid", "1 to 50 scenarios"));
        }
        let mut names: Vec<String> = Vec::new();
        for (i, s) in self.scenarios.iter().enumerate() {
            let at = |f: &str| format!("scenarios[{i}].{f}");
            let name = v.text(&at("name"), &s.name, 80);
            if names.contains(&name) {
                v.push(FieldError::new(at("name"), "duplicate", "appears twice"));
            }
            names.push(name);
            match &s.persona {
                ScenarioPersona::Scripted { turns } => {
                    if turns.is_empty() || turns.len() > 20 {
                        v.push(FieldError::new(at("persona"), "invalid", "1 to 20 turns"));
                    }
                    for (j, t) in turns.iter().enumerate() {
                        v.text(&at(&format!("persona.turns[{j}]")), t, 1000);
                    }
                }
                ScenarioPersona::Model {
                    description,
                    max_turns,
                } => {
                    v.text(&at("persona.description"), description, 2000);
                    if !(1..=10).contains(max_turns) {
                        v.push(FieldError::new(
                            at("persona.max_turns"),
                            "invalid",
                            "1 to 10",
                        ));
                    }
                }
            }
            let e = &s.expect;
            for (k, list) in [
                ("must_mention", &e.must_mention),
                ("must_not", &e.must_not),
                ("must_call_tool", &e.must_call_tool),
            ] {
                if list.len() > 20 {
                    v.push(FieldError::new(
                        at(&format!("expect.{k}")),
                        "too_many",
                        "at most 20",
                    ));
                }
                for (j, x) in list.iter().enumerate() {
                    v.text(&at(&format!("expect.{k}[{j}]")), x, 300);
                }
            }
        }
        v.finish().map(|()| self)
    }
}

/// Where a simulation run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimulationStatus {
    /// Scenarios are being played.
    Running,
    /// Every scenario passed.
    Passed,
    /// At least one scenario failed.
    Failed,
    /// The run could not finish (provider or storage error).
    Error,
}

impl SimulationStatus {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            SimulationStatus::Running => "running",
            SimulationStatus::Passed => "passed",
            SimulationStatus::Failed => "failed",
            SimulationStatus::Error => "error",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        [
            SimulationStatus::Running,
            SimulationStatus::Passed,
            SimulationStatus::Failed,
            SimulationStatus::Error,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// One run of a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulationRun {
    /// Id.
    pub id: SimulationRunId,
    /// Gym.
    pub gym_id: GymId,
    /// Status.
    pub status: SimulationStatus,
    /// Scenarios played so far.
    pub scenarios: u32,
    /// Of those, passed.
    pub passed: u32,
    /// Cost of the run (assistant, persona and judge), pico-USD; not part of member sessions.
    pub cost_pico: PicoUsd,
    /// Why the run stopped, for `error`.
    pub error: Option<String>,
    /// Started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Finished.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// What an expectation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// Must mention (judge).
    MustMention,
    /// Must not (judge).
    MustNot,
    /// Must call tool (recorded calls).
    MustCallTool,
}

/// The verdict on one expectation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulationCheck {
    /// Kind.
    pub kind: CheckKind,
    /// The expectation as written.
    pub expectation: String,
    /// Met.
    pub passed: bool,
    /// The judge's reason, or the deterministic check's.
    pub reason: String,
}

/// One line of a simulated conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulationLine {
    /// `member` or `assistant`.
    pub role: String,
    /// What was said.
    pub text: String,
}

/// A tool call made during a simulation (against the sandbox context).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulationToolCall {
    /// Tool name.
    pub name: String,
    /// Arguments.
    #[schema(value_type = Object)]
    pub arguments: Value,
    /// What the tool answered (or its error).
    #[schema(value_type = Object)]
    pub output: Value,
}

/// The outcome of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulationResult {
    /// Run.
    pub run_id: SimulationRunId,
    /// Position in the file.
    pub seq: u32,
    /// Scenario name.
    pub scenario: String,
    /// Every check passed.
    pub passed: bool,
    /// One verdict per expectation.
    pub checks: Vec<SimulationCheck>,
    /// The conversation.
    pub transcript: Vec<SimulationLine>,
    /// The tool calls.
    pub tool_calls: Vec<SimulationToolCall>,
    /// Cost of this scenario, pico-USD.
    pub cost_pico: PicoUsd,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn field(name: &str, kind: AnalysisFieldKind, values: &[&str]) -> AnalysisField {
        AnalysisField {
            id: AnalysisFieldId::new(),
            gym_id: GymId::new(),
            name: name.into(),
            kind,
            enum_values: values.iter().map(|s| s.to_string()).collect(),
            description: "d".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn answer(custom: Value) -> Value {
        json!({"summary": "Asked about yoga.", "sentiment": 0.6, "topics": ["yoga"],
            "satisfaction": 4, "follow_up_needed": false, "follow_up_reason": null,
            "cancellation_intent": false, "custom": custom})
    }

    #[test]
    fn an_answer_is_validated_against_the_custom_fields() {
        let fields = [
            field("goal", AnalysisFieldKind::Enum, &["strength", "cardio"]),
            field("injured", AnalysisFieldKind::Boolean, &[]),
        ];
        let a =
            parse_analysis(&answer(json!({"goal": "cardio", "injured": null})), &fields).unwrap();
        assert_eq!(a.sentiment, Sentiment::Positive);
        assert_eq!(a.custom["goal"], json!("cardio"));
        for bad in [
            json!({"goal": "yoga", "injured": null}),
            json!({"goal": "cardio"}),
            json!({"goal": "cardio", "injured": "yes"}),
            json!({"goal": "cardio", "injured": true, "extra": 1}),
        ] {
            assert!(
                parse_analysis(&answer(bad.clone()), &fields).is_err(),
                "{bad}"
            );
        }
        let mut out_of_range = answer(json!({"goal": null, "injured": null}));
        out_of_range["sentiment"] = json!(1.5);
        assert!(parse_analysis(&out_of_range, &fields).is_err());
        let schema = analysis_schema(&fields);
        assert_eq!(
            schema["properties"]["custom"]["required"],
            json!(["goal", "injured"])
        );
    }

    #[test]
    fn field_names_are_checked() {
        let f = |name: &str, kind, values: Vec<String>| NewAnalysisField {
            name: name.into(),
            kind,
            enum_values: values,
            description: "x".into(),
        };
        assert!(
            f("goal", AnalysisFieldKind::Text, vec![])
                .validate()
                .is_ok()
        );
        assert!(
            f("Goal", AnalysisFieldKind::Text, vec![])
                .validate()
                .is_err()
        );
        assert!(
            f("summary", AnalysisFieldKind::Text, vec![])
                .validate()
                .is_err()
        );
        assert!(
            f("goal", AnalysisFieldKind::Enum, vec![])
                .validate()
                .is_err()
        );
        assert!(
            f("goal", AnalysisFieldKind::Text, vec!["a".into()])
                .validate()
                .is_err()
        );
    }

    #[test]
    fn scenario_files_parse() {
        let f = ScenarioFile::parse(
            r#"{"scenarios": [{"name": "yoga", "persona": {"scripted": {"turns": ["Hi"]}},
                "expect": {"must_call_tool": ["list_classes"]}},
              {"name": "cancel", "persona": {"model": {"description": "wants to cancel"}}}]}"#,
        )
        .unwrap();
        assert_eq!(f.scenarios.len(), 2);
        assert!(ScenarioFile::parse(r#"{"scenarios": []}"#).is_err());
    }

    #[test]
    fn the_committed_example_file_is_valid() {
        let f = ScenarioFile::parse(include_str!("../../../../examples/scenarios.json")).unwrap();
        assert_eq!(f.scenarios.len(), 4);
    }
}
