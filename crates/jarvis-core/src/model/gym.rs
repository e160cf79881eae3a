use super::Locale;
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

fn check_settings(v: &mut ValidationErrors, settings: &serde_json::Value) {
    if !settings.is_object() {
        v.push(FieldError::new(
            "settings",
            "invalid_type",
            "must be a JSON object",
        ));
    } else if settings.to_string().len() > MAX_SETTINGS_BYTES {
        v.push(FieldError::new(
            "settings",
            "too_large",
            format!("must be at most {MAX_SETTINGS_BYTES} bytes"),
        ));
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
        check_settings(&mut v, &self.settings);
        v.finish().map(|()| Self {
            franchise_id: self.franchise_id,
            name,
            address,
            timezone,
            locale: self.locale,
            settings: self.settings,
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
        if let Some(s) = &self.settings {
            check_settings(&mut v, s);
        }
        v.finish().map(|()| Self {
            name,
            address,
            timezone,
            locale: self.locale,
            settings: self.settings,
        })
    }
}
