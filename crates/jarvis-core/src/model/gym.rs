use super::Locale;
use super::voice::{MAX_CALL_SECS, StorageLevel};
use crate::authz::Action;
use crate::ids::{FranchiseId, GymId};
use crate::validate::{FieldError, ValidationErrors, is_timezone};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where a gym is in its life: created → approved (active) or rejected; suspended; archived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GymStatus {
    /// Waiting for super-admin approval.
    Pending,
    /// Running; only active gyms can run kiosks.
    Active,
    /// Refused by a super admin.
    Rejected,
    /// Temporarily stopped.
    Suspended,
    /// Closed; kept for history.
    Archived,
}

impl GymStatus {
    /// Whether a gym may move from `self` to `to` (approval workflow). Staying put is not a move.
    pub fn can_become(self, to: GymStatus) -> bool {
        use GymStatus::*;
        matches!(
            (self, to),
            (Pending, Active | Rejected | Archived)
                | (Rejected, Pending | Archived)
                | (Active, Suspended | Archived)
                | (Suspended, Active | Archived)
        )
    }
    /// Whether a move to `to` needs a written reason (rejection and suspension do).
    pub fn needs_reason(to: GymStatus) -> bool {
        matches!(to, GymStatus::Rejected | GymStatus::Suspended)
    }
    /// The permission a move to `to` needs, for the API and the pages alike: approving,
    /// rejecting, suspending and reactivating are super-admin decisions; a manager may resubmit
    /// a rejected gym (`pending`); archiving has its own permission.
    pub fn review_action(to: GymStatus) -> Action {
        match to {
            GymStatus::Pending => Action::GymUpdate,
            GymStatus::Archived => Action::GymArchive,
            GymStatus::Active | GymStatus::Rejected | GymStatus::Suspended => Action::GymApprove,
        }
    }
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            GymStatus::Pending => "pending",
            GymStatus::Active => "active",
            GymStatus::Rejected => "rejected",
            GymStatus::Suspended => "suspended",
            GymStatus::Archived => "archived",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        [
            GymStatus::Pending,
            GymStatus::Active,
            GymStatus::Rejected,
            GymStatus::Suspended,
            GymStatus::Archived,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// Largest accepted `settings` document, serialized.
pub const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// A gym of a franchise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Gym {
    /// Id.
    pub id: GymId,
    /// Owning franchise.
    pub franchise_id: FranchiseId,
    /// Display name (unique within the franchise).
    pub name: String,
    /// Postal address, free text.
    pub address: Option<String>,
    /// IANA time zone, e.g. `Europe/Paris`.
    pub timezone: String,
    /// Language of the kiosk and the assistant.
    pub locale: Locale,
    /// Life-cycle status.
    pub status: GymStatus,
    /// Why a super admin rejected or suspended the gym.
    pub status_reason: Option<String>,
    /// Gym settings (opening hours, persona, caps, budget, feature switches) as a JSON object.
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Why a gym may not run kiosks (pair, heartbeat, look up badges) or voice sessions now.
#[derive(Debug, Clone, PartialEq)]
pub enum GymNotReady {
    /// Only active gyms run kiosks; this one is pending, rejected, suspended or archived.
    Inactive(GymStatus),
    /// The stored settings do not pass validation (a corrupt or hand-edited row): the gym runs
    /// nothing until someone saves valid settings, rather than running on guessed defaults.
    Misconfigured(ValidationErrors),
}

impl GymNotReady {
    /// The stable error code (`gym_inactive`, `gym_misconfigured`).
    pub fn code(&self) -> &'static str {
        match self {
            GymNotReady::Inactive(_) => "gym_inactive",
            GymNotReady::Misconfigured(_) => "gym_misconfigured",
        }
    }
}

impl std::fmt::Display for GymNotReady {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GymNotReady::Inactive(s) => write!(
                f,
                "this gym is {}; only active gyms can run kiosks",
                s.as_str()
            ),
            GymNotReady::Misconfigured(_) => f.write_str(
                "this gym's stored settings are invalid; an administrator must save them again",
            ),
        }
    }
}

impl Gym {
    /// The gym's settings as the typed, validated value. A stored document that no longer
    /// validates is an error, never silently replaced by defaults (a default budget and cap
    /// would let a broken gym spend).
    pub fn typed_settings(&self) -> Result<GymSettings, ValidationErrors> {
        GymSettings::from_json(&self.settings)
    }

    /// `now` in the gym's time zone (its date is the gym's "today"). An error when the stored
    /// zone is not in this system's tz database (saved elsewhere, or tzdata missing): callers
    /// log it and fall back to UTC rather than refuse service.
    pub fn local_now(&self, now: OffsetDateTime) -> Result<OffsetDateTime, crate::tz::ZoneError> {
        crate::tz::Zone::load(&self.timezone).map(|z| z.local(now))
    }

    /// The one answer to "may this gym run kiosks now": it is active and its settings are
    /// valid. Returns the settings the kiosk runs with.
    pub fn kiosk_readiness(&self) -> Result<GymSettings, GymNotReady> {
        if self.status != GymStatus::Active {
            return Err(GymNotReady::Inactive(self.status));
        }
        self.typed_settings().map_err(GymNotReady::Misconfigured)
    }
}

/// Input to create a gym.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewGym {
    /// The franchise it belongs to.
    pub franchise_id: FranchiseId,
    /// Display name, 1–120 characters.
    pub name: String,
    /// Postal address.
    #[serde(default)]
    pub address: Option<String>,
    /// IANA time zone (default `Europe/Paris`).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Language (default `fr`).
    #[serde(default)]
    pub locale: Locale,
    /// Settings object (default `{}`).
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
}

fn default_timezone() -> String {
    "Europe/Paris".into()
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// Checks a settings document against [`GymSettings`] and returns its normalized form (every
/// key present, defaults filled), so what is stored is always the typed shape.
fn check_settings(v: &mut ValidationErrors, settings: &serde_json::Value) -> serde_json::Value {
    if settings.to_string().len() > MAX_SETTINGS_BYTES {
        v.push(FieldError::new(
            "settings",
            "too_large",
            format!("must be at most {MAX_SETTINGS_BYTES} bytes"),
        ));
        return settings.clone();
    }
    match GymSettings::from_json(settings) {
        Ok(typed) => serde_json::to_value(typed).unwrap_or_else(|_| settings.clone()),
        Err(errs) => {
            for e in errs.0 {
                v.push(e);
            }
            settings.clone()
        }
    }
}

fn check_timezone(v: &mut ValidationErrors, tz: &str) -> String {
    let tz = tz.trim().to_string();
    if !is_timezone(&tz) {
        v.push(FieldError::new(
            "timezone",
            "invalid_format",
            "must be an IANA time zone such as Europe/Paris or UTC",
        ));
    } else if !crate::tz::is_known(&tz) {
        // Well formed but unknown (a typo such as Europe/Pariss): "today" would be wrong.
        v.push(FieldError::new(
            "timezone",
            "unknown_timezone",
            "is not in the time zone database; use an IANA name such as Europe/Paris or UTC",
        ));
    }
    tz
}

impl NewGym {
    /// Trims and checks every field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let name = v.text("name", &self.name, 120);
        let address = v.opt_text("address", self.address.as_deref(), 300);
        let timezone = check_timezone(&mut v, &self.timezone);
        let settings = check_settings(&mut v, &self.settings);
        v.finish().map(|()| Self {
            franchise_id: self.franchise_id,
            name,
            address,
            timezone,
            locale: self.locale,
            settings,
        })
    }
}

/// Changes to a gym; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GymPatch {
    /// New name.
    pub name: Option<String>,
    /// New address (`null` clears it).
    #[serde(default, deserialize_with = "super::double_option")]
    pub address: Option<Option<String>>,
    /// New time zone.
    pub timezone: Option<String>,
    /// New language.
    pub locale: Option<Locale>,
    /// Replacement settings object.
    #[schema(value_type = Option<Object>)]
    pub settings: Option<serde_json::Value>,
}

impl GymPatch {
    /// Trims and checks every given field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let name = self.name.map(|n| v.text("name", &n, 120));
        let address = self
            .address
            .map(|a| v.opt_text("address", a.as_deref(), 300));
        let timezone = self.timezone.map(|t| check_timezone(&mut v, &t));
        let settings = self.settings.as_ref().map(|s| check_settings(&mut v, s));
        v.finish().map(|()| Self {
            name,
            address,
            timezone,
            locale: self.locale,
            settings,
        })
    }
}

/// Typed gym settings, stored as the gym's `settings` JSON object. Unknown keys are refused so a
/// typo never silently does nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GymSettings {
    /// Opening hours per weekday.
    #[serde(default)]
    pub opening_hours: OpeningHours,
    /// The assistant's persona.
    #[serde(default)]
    pub persona: Persona,
    /// Most voice sessions this gym may run at once (1–50, default 3).
    #[serde(default = "default_cap")]
    pub voice_session_cap: u32,
    /// Monthly AI spending limit in micro-dollars (0 = no AI spending allowed; default $100).
    #[serde(default = "default_budget")]
    pub monthly_ai_budget_micros: i64,
    /// Feature switches.
    #[serde(default)]
    pub features: Features,
    /// Voice conversations: what is stored, for how long, and call limits.
    #[serde(default)]
    pub voice: VoiceSettings,
}

fn default_cap() -> u32 {
    3
}

fn default_budget() -> i64 {
    100_000_000
}

impl Default for GymSettings {
    fn default() -> Self {
        Self {
            opening_hours: OpeningHours::default(),
            persona: Persona::default(),
            voice_session_cap: default_cap(),
            monthly_ai_budget_micros: default_budget(),
            features: Features::default(),
            voice: VoiceSettings::default(),
        }
    }
}

/// Largest monthly budget accepted: $1,000,000.
pub const MAX_BUDGET_MICROS: i64 = 1_000_000 * 1_000_000;

impl GymSettings {
    /// Parses and checks a settings document; errors name the path (`settings.persona.voice`).
    pub fn from_json(value: &serde_json::Value) -> Result<GymSettings, ValidationErrors> {
        if !value.is_object() {
            return Err(
                FieldError::new("settings", "invalid_type", "must be a JSON object").into(),
            );
        }
        let s: GymSettings = serde_json::from_value(value.clone()).map_err(|e| {
            ValidationErrors::from(FieldError::new("settings", "invalid", e.to_string()))
        })?;
        let mut v = ValidationErrors::new();
        if !(1..=50).contains(&s.voice_session_cap) {
            v.push(FieldError::new(
                "settings.voice_session_cap",
                "out_of_range",
                "must be between 1 and 50",
            ));
        }
        if !(0..=MAX_BUDGET_MICROS).contains(&s.monthly_ai_budget_micros) {
            v.push(FieldError::new(
                "settings.monthly_ai_budget_micros",
                "out_of_range",
                "must be between 0 and 1000000000000 micro-dollars",
            ));
        }
        let name = v.text("settings.persona.name", &s.persona.name, 40);
        let instructions = v.opt_text(
            "settings.persona.instructions",
            s.persona.instructions.as_deref(),
            2000,
        );
        s.voice.check(&mut v);
        for (day, slots) in s.opening_hours.days() {
            if slots.len() > 4 {
                v.push(FieldError::new(
                    format!("settings.opening_hours.{day}"),
                    "too_many",
                    "at most 4 opening slots per day",
                ));
            }
            for (i, slot) in slots.iter().enumerate() {
                let field = format!("settings.opening_hours.{day}[{i}]");
                match (parse_hhmm(&slot.open), parse_hhmm(&slot.close)) {
                    (Some(o), Some(c)) if o < c => {}
                    (Some(_), Some(_)) => v.push(FieldError::new(
                        field,
                        "out_of_range",
                        "must close after it opens",
                    )),
                    _ => v.push(FieldError::new(
                        field,
                        "invalid_format",
                        "times must be HH:MM (00:00-24:00)",
                    )),
                }
            }
        }
        v.finish().map(|()| GymSettings {
            persona: Persona {
                name,
                instructions,
                ..s.persona
            },
            ..s
        })
    }
}

/// Settings paths a gym manager may not change (they need `Action::GymBudgetWrite`): what the
/// gym may spend.
pub const BUDGET_FIELDS: [&str; 2] = [
    "settings.monthly_ai_budget_micros",
    "settings.voice_session_cap",
];

impl GymSettings {
    /// The storage level of one member's conversations: the gym's level, lowered to metadata
    /// when transcripts are off for the gym or the member did not consent.
    pub fn storage_level_for(&self, member_consents_transcripts: bool) -> StorageLevel {
        self.voice
            .storage
            .for_member(self.features.transcripts, member_consents_transcripts)
    }

    /// The [`BUDGET_FIELDS`] whose value differs between `self` (current) and `new`.
    pub fn budget_changes(&self, new: &GymSettings) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.monthly_ai_budget_micros != new.monthly_ai_budget_micros {
            out.push(BUDGET_FIELDS[0]);
        }
        if self.voice_session_cap != new.voice_session_cap {
            out.push(BUDGET_FIELDS[1]);
        }
        out
    }
}

/// Voice settings of a gym.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoiceSettings {
    /// How much of a conversation is stored (default `redacted`).
    #[serde(default)]
    pub storage: StorageLevel,
    /// Days transcripts and tool calls are kept (1–3650, default 90); a job deletes older ones.
    #[serde(default = "default_retention_days")]
    pub transcript_retention_days: u32,
    /// Most turns kept in the model's context (2–200, default 20); older turns are dropped from
    /// the conversation so the cost of each response stays bounded.
    #[serde(default = "default_max_context_turns")]
    pub max_context_turns: u32,
    /// Longest call in seconds (60 to 3540, below the provider's 60-minute limit; default 600).
    #[serde(default = "default_max_call_secs")]
    pub max_call_secs: u32,
    /// Hang up after this many seconds without speech (10–600 and below the longest call;
    /// default 60).
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u32,
}

fn default_retention_days() -> u32 {
    90
}
fn default_max_context_turns() -> u32 {
    20
}
fn default_max_call_secs() -> u32 {
    600
}
fn default_idle_timeout_secs() -> u32 {
    60
}

impl Default for VoiceSettings {
    fn default() -> Self {
        Self {
            storage: StorageLevel::default(),
            transcript_retention_days: default_retention_days(),
            max_context_turns: default_max_context_turns(),
            max_call_secs: default_max_call_secs(),
            idle_timeout_secs: default_idle_timeout_secs(),
        }
    }
}

impl VoiceSettings {
    fn check(&self, v: &mut ValidationErrors) {
        let mut range = |field: &str, value: u32, lo: u32, hi: u32| {
            if !(lo..=hi).contains(&value) {
                v.push(FieldError::new(
                    format!("settings.voice.{field}"),
                    "out_of_range",
                    format!("must be between {lo} and {hi}"),
                ));
            }
        };
        range(
            "transcript_retention_days",
            self.transcript_retention_days,
            1,
            3650,
        );
        range("max_context_turns", self.max_context_turns, 2, 200);
        range("max_call_secs", self.max_call_secs, 60, MAX_CALL_SECS);
        range("idle_timeout_secs", self.idle_timeout_secs, 10, 600);
        if self.idle_timeout_secs >= self.max_call_secs && self.max_call_secs >= 60 {
            v.push(FieldError::new(
                "settings.voice.idle_timeout_secs",
                "out_of_range",
                "must be shorter than max_call_secs",
            ));
        }
    }
}

/// Minutes since midnight of an `HH:MM` time (`24:00` allowed as a closing time).
pub fn parse_hhmm(t: &str) -> Option<u32> {
    let (h, m) = t.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(24 * 60),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// One opening slot, e.g. 06:00–22:00.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeSlot {
    /// Opening time `HH:MM`.
    pub open: String,
    /// Closing time `HH:MM` (`24:00` for midnight).
    pub close: String,
}

/// Opening slots per weekday (an empty list means closed).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// Monday.
    #[serde(default)]
    pub mon: Vec<TimeSlot>,
    /// Tuesday.
    #[serde(default)]
    pub tue: Vec<TimeSlot>,
    /// Wednesday.
    #[serde(default)]
    pub wed: Vec<TimeSlot>,
    /// Thursday.
    #[serde(default)]
    pub thu: Vec<TimeSlot>,
    /// Friday.
    #[serde(default)]
    pub fri: Vec<TimeSlot>,
    /// Saturday.
    #[serde(default)]
    pub sat: Vec<TimeSlot>,
    /// Sunday.
    #[serde(default)]
    pub sun: Vec<TimeSlot>,
}

impl OpeningHours {
    /// Each weekday with its slots, Monday first.
    pub fn days(&self) -> [(&'static str, &Vec<TimeSlot>); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

/// OpenAI realtime voices the assistant may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Voice {
    /// Alloy.
    Alloy,
    /// Ash.
    Ash,
    /// Ballad.
    Ballad,
    /// Coral.
    Coral,
    /// Echo.
    Echo,
    /// Sage.
    Sage,
    /// Shimmer.
    Shimmer,
    /// Verse.
    Verse,
    /// Marin (default).
    #[default]
    Marin,
    /// Cedar.
    Cedar,
}

/// How the assistant sounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// Warm and friendly (default).
    #[default]
    Friendly,
    /// Energetic coach.
    Motivating,
    /// Calm and reassuring.
    Calm,
    /// Short and factual.
    Professional,
}

/// The assistant persona of a gym.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    /// Name the assistant introduces itself with (1–40 characters).
    #[serde(default = "default_persona_name")]
    pub name: String,
    /// Realtime voice.
    #[serde(default)]
    pub voice: Voice,
    /// Tone.
    #[serde(default)]
    pub tone: Tone,
    /// Extra instructions from the gym (at most 2000 characters).
    #[serde(default)]
    pub instructions: Option<String>,
}

fn default_persona_name() -> String {
    "Jarvis".into()
}

impl Default for Persona {
    fn default() -> Self {
        Self {
            name: default_persona_name(),
            voice: Voice::default(),
            tone: Tone::default(),
            instructions: None,
        }
    }
}

fn yes() -> bool {
    true
}

/// Feature switches of a gym.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Features {
    /// Voice conversations at the kiosks.
    #[serde(default = "yes")]
    pub voice: bool,
    /// Keep transcripts (still subject to each member's consent).
    #[serde(default = "yes")]
    pub transcripts: bool,
    /// The assistant may read the class schedule.
    #[serde(default = "yes")]
    pub class_schedule: bool,
    /// The assistant may search the knowledge base.
    #[serde(default = "yes")]
    pub knowledge_base: bool,
    /// Gym-defined webhook tools.
    #[serde(default)]
    pub custom_tools: bool,
    /// Weekly e-mail reports.
    #[serde(default = "yes")]
    pub weekly_reports: bool,
}

impl Default for Features {
    fn default() -> Self {
        Self {
            voice: true,
            transcripts: true,
            class_schedule: true,
            knowledge_base: true,
            custom_tools: false,
            weekly_reports: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_fill_defaults_and_refuse_unknown_keys() {
        let s = GymSettings::from_json(&json!({})).unwrap_or_default();
        assert_eq!(s, GymSettings::default());
        let err = GymSettings::from_json(&json!({"voice_cap": 3})).err();
        assert!(err.is_some_and(|e| e.0[0].message.contains("voice_cap")));
        let err = GymSettings::from_json(&json!({
            "voice_session_cap": 0,
            "monthly_ai_budget_micros": -1,
            "opening_hours": {"mon": [{"open": "22:00", "close": "06:00"}], "tue": [{"open": "7h", "close": "9h"}]},
            "persona": {"name": " ", "voice": "marin"}
        }))
        .err()
        .map(|e| e.0.into_iter().map(|f| f.field).collect::<Vec<_>>())
        .unwrap_or_default();
        assert_eq!(
            err,
            [
                "settings.voice_session_cap",
                "settings.monthly_ai_budget_micros",
                "settings.persona.name",
                "settings.opening_hours.mon[0]",
                "settings.opening_hours.tue[0]"
            ]
        );
        assert!(GymSettings::from_json(&json!({"persona": {"voice": "robot"}})).is_err());
    }

    #[test]
    fn time_zones_are_checked_against_the_tz_database_on_save() {
        let code = |tz: &str| {
            GymPatch {
                timezone: Some(tz.into()),
                ..GymPatch::default()
            }
            .validate()
            .err()
            .map(|e| e.0[0].code.clone())
        };
        assert_eq!(code(" Asia/Tokyo "), None);
        assert_eq!(code("UTC"), None);
        assert_eq!(code("Europe/Pariss").as_deref(), Some("unknown_timezone"));
        assert_eq!(code("Paris").as_deref(), Some("invalid_format"));
    }

    #[test]
    fn voice_settings_defaults_and_paths() {
        let s = GymSettings::from_json(&json!({"voice": {"storage": "full"}})).unwrap_or_default();
        assert_eq!(s.voice.storage, StorageLevel::Full);
        assert_eq!(s.voice.max_call_secs, 600);
        assert_eq!(GymSettings::default().voice.storage, StorageLevel::Redacted);
        assert_eq!(
            GymSettings::default().storage_level_for(false),
            StorageLevel::Metadata,
            "no consent, no text"
        );
        let fields = |v: serde_json::Value| {
            GymSettings::from_json(&v)
                .err()
                .map(|e| e.0.into_iter().map(|f| f.field).collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert_eq!(
            fields(json!({"voice": {
                "transcript_retention_days": 0,
                "max_context_turns": 1,
                "max_call_secs": 3600,
                "idle_timeout_secs": 5
            }})),
            [
                "settings.voice.transcript_retention_days",
                "settings.voice.max_context_turns",
                "settings.voice.max_call_secs",
                "settings.voice.idle_timeout_secs"
            ]
        );
        assert_eq!(
            fields(json!({"voice": {"max_call_secs": 120, "idle_timeout_secs": 120}})),
            ["settings.voice.idle_timeout_secs"]
        );
        assert_eq!(
            fields(json!({"voice": {"max_call_secs": 3540, "idle_timeout_secs": 600}})),
            Vec::<String>::new(),
            "59 minutes is the longest call"
        );
        assert!(!fields(json!({"voice": {"storage": "everything"}})).is_empty());
        assert!(!fields(json!({"voice": {"retention": 3}})).is_empty());
    }

    #[test]
    fn approval_workflow_moves() {
        use GymStatus::*;
        assert!(Pending.can_become(Active));
        assert!(Pending.can_become(Rejected));
        assert!(
            !Rejected.can_become(Active),
            "a rejected gym is resubmitted first"
        );
        assert!(Active.can_become(Suspended));
        assert!(!Archived.can_become(Active));
        assert!(!Active.can_become(Active));
        assert!(GymStatus::needs_reason(Rejected));
    }

    #[test]
    fn budget_changes_name_only_the_spending_fields() {
        let cur = GymSettings::default();
        let mut new = cur.clone();
        new.persona.name = "Coach".into();
        assert!(cur.budget_changes(&new).is_empty());
        new.voice_session_cap = 9;
        assert_eq!(cur.budget_changes(&new), ["settings.voice_session_cap"]);
        new.monthly_ai_budget_micros += 1;
        assert_eq!(cur.budget_changes(&new), BUDGET_FIELDS.to_vec());
    }

    #[test]
    fn review_needs_one_permission_per_target() {
        use GymStatus::*;
        assert_eq!(GymStatus::review_action(Pending), Action::GymUpdate);
        assert_eq!(GymStatus::review_action(Archived), Action::GymArchive);
        for to in [Active, Rejected, Suspended] {
            assert_eq!(GymStatus::review_action(to), Action::GymApprove);
        }
    }

    fn gym(status: GymStatus, settings: serde_json::Value) -> Gym {
        let now = OffsetDateTime::UNIX_EPOCH;
        Gym {
            id: GymId::new(),
            franchise_id: FranchiseId::new(),
            name: "G".into(),
            address: None,
            timezone: "UTC".into(),
            locale: Locale::Fr,
            status,
            status_reason: None,
            settings,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn only_active_well_configured_gyms_run_kiosks() {
        assert!(gym(GymStatus::Active, json!({})).kiosk_readiness().is_ok());
        for s in [
            GymStatus::Pending,
            GymStatus::Rejected,
            GymStatus::Suspended,
            GymStatus::Archived,
        ] {
            let r = gym(s, json!({})).kiosk_readiness();
            assert_eq!(r.err().map(|e| e.code()), Some("gym_inactive"), "{s:?}");
        }
        let corrupt = gym(GymStatus::Active, json!({"voice_session_cap": "lots"}));
        assert!(corrupt.typed_settings().is_err());
        assert_eq!(
            corrupt.kiosk_readiness().err().map(|e| e.code()),
            Some("gym_misconfigured"),
            "a corrupt row is refused, not run on defaults"
        );
    }

    #[test]
    fn hhmm() {
        assert_eq!(parse_hhmm("06:30"), Some(390));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("24:01"), None);
        assert_eq!(parse_hhmm("6:30"), None);
    }
}
