use crate::ids::{FranchiseId, GymId, KioskId};
use crate::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A kiosk device's pairing state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KioskStatus {
    /// Created, no device paired yet.
    Unpaired,
    /// A device holds a valid token.
    Paired,
    /// Its token was revoked.
    Revoked,
}

impl KioskStatus {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            KioskStatus::Unpaired => "unpaired",
            KioskStatus::Paired => "paired",
            KioskStatus::Revoked => "revoked",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unpaired" => Some(KioskStatus::Unpaired),
            "paired" => Some(KioskStatus::Paired),
            "revoked" => Some(KioskStatus::Revoked),
            _ => None,
        }
    }
}

/// A kiosk (tablet or mirror) in a gym.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Kiosk {
    /// Id.
    pub id: KioskId,
    /// Its gym.
    pub gym_id: GymId,
    /// Its gym's franchise.
    pub franchise_id: FranchiseId,
    /// Display name, unique in the gym.
    pub name: String,
    /// Pairing state.
    pub status: KioskStatus,
    /// Last heartbeat.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen_at: Option<OffsetDateTime>,
    /// App version reported by the device.
    pub app_version: Option<String>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Input to create a kiosk.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKiosk {
    /// Display name, 1–80 characters.
    pub name: String,
}

impl NewKiosk {
    /// Trims and checks every field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let name = v.text("name", &self.name, 80);
        v.finish().map(|()| Self { name })
    }
}
