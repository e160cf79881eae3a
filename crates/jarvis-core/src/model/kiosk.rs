use crate::ids::{FranchiseId, GymId, KioskId};
use crate::validate::{FieldError, ValidationErrors};
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
    /// Seconds the kiosk app had been running at its last heartbeat.
    pub uptime_secs: Option<i64>,
    /// Microphone state at the last heartbeat.
    pub mic_status: Option<MicStatus>,
    /// Network quality at the last heartbeat.
    pub network_quality: Option<NetworkQuality>,
    /// When a device last exchanged a pairing code for a token.
    #[serde(with = "time::serde::rfc3339::option")]
    pub paired_at: Option<OffsetDateTime>,
    /// When a pairing code is outstanding, its expiry.
    #[serde(with = "time::serde::rfc3339::option")]
    pub pairing_expires_at: Option<OffsetDateTime>,
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

/// What the dashboard shows for a kiosk: paired and heard from recently, or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KioskPresence {
    /// Never paired (a pairing code may be outstanding).
    Unpaired,
    /// Paired and a heartbeat arrived within the offline threshold.
    Online,
    /// Paired but silent for longer than the threshold.
    Offline,
    /// Its token was revoked.
    Revoked,
}

impl Kiosk {
    /// Online/offline/revoked as of `now`, with `offline_after` as the heartbeat threshold.
    pub fn presence(&self, now: OffsetDateTime, offline_after: time::Duration) -> KioskPresence {
        match self.status {
            KioskStatus::Revoked => KioskPresence::Revoked,
            KioskStatus::Unpaired => KioskPresence::Unpaired,
            KioskStatus::Paired => match self.last_seen_at {
                Some(t) if now - t <= offline_after => KioskPresence::Online,
                _ => KioskPresence::Offline,
            },
        }
    }
}

/// Microphone state a kiosk reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MicStatus {
    /// Permission granted and a device present.
    Ok,
    /// The browser refused microphone access.
    Denied,
    /// No microphone found.
    Missing,
    /// Anything else.
    Error,
}

impl MicStatus {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            MicStatus::Ok => "ok",
            MicStatus::Denied => "denied",
            MicStatus::Missing => "missing",
            MicStatus::Error => "error",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Ok, Self::Denied, Self::Missing, Self::Error]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Network quality a kiosk reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NetworkQuality {
    /// Good.
    Good,
    /// Usable but degraded.
    Fair,
    /// Barely usable.
    Poor,
    /// Offline at times.
    Offline,
}

impl NetworkQuality {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            NetworkQuality::Good => "good",
            NetworkQuality::Fair => "fair",
            NetworkQuality::Poor => "poor",
            NetworkQuality::Offline => "offline",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Good, Self::Fair, Self::Poor, Self::Offline]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A kiosk's heartbeat.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// Kiosk app version (at most 40 characters).
    pub app_version: String,
    /// Seconds since the kiosk app started.
    #[schema(minimum = 0)]
    pub uptime_secs: i64,
    /// Microphone state.
    pub mic_status: MicStatus,
    /// Network quality.
    pub network_quality: NetworkQuality,
    /// Median latency the member heard since the last heartbeat, in milliseconds: end of the
    /// member's speech to the first assistant audio at the kiosk's speaker (measured by the
    /// kiosk; absent when no call turn happened).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 60000)]
    pub voice_latency_ms: Option<u32>,
}

impl Heartbeat {
    /// Trims and checks every field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let app_version = v.text("app_version", &self.app_version, 40);
        if self.uptime_secs < 0 {
            v.push(FieldError::new(
                "uptime_secs",
                "out_of_range",
                "must not be negative",
            ));
        }
        if self.voice_latency_ms.is_some_and(|ms| ms > 60_000) {
            v.push(FieldError::new(
                "voice_latency_ms",
                "out_of_range",
                "at most 60000",
            ));
        }
        v.finish().map(|()| Self {
            app_version,
            ..self
        })
    }
}

/// Changes to a kiosk: rename and/or move to another gym of the same franchise.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KioskPatch {
    /// New name.
    pub name: Option<String>,
    /// Move to this gym (same franchise); the device keeps its token.
    pub gym_id: Option<GymId>,
}

impl KioskPatch {
    /// Trims and checks every given field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let name = self.name.map(|n| v.text("name", &n, 80));
        v.finish().map(|()| Self {
            name,
            gym_id: self.gym_id,
        })
    }
}

/// Length of a pairing code.
pub const PAIRING_CODE_LEN: usize = 8;
/// Alphabet of pairing codes: no 0/O, 1/I/L, so codes read aloud or typed on a tablet survive.
pub const PAIRING_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// How long a pairing code stays valid.
pub const PAIRING_TTL: time::Duration = time::Duration::minutes(15);

/// Normalizes a typed pairing code: upper-case, spaces and dashes dropped.
pub fn normalize_pairing_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kiosk(status: KioskStatus, seen: Option<OffsetDateTime>) -> Kiosk {
        Kiosk {
            id: KioskId::new(),
            gym_id: GymId::new(),
            franchise_id: FranchiseId::new(),
            name: "k".into(),
            status,
            last_seen_at: seen,
            app_version: None,
            uptime_secs: None,
            mic_status: None,
            network_quality: None,
            paired_at: None,
            pairing_expires_at: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn presence_follows_the_threshold() {
        let now = OffsetDateTime::now_utc();
        let two = time::Duration::minutes(2);
        let p = |s, seen| kiosk(s, seen).presence(now, two);
        assert_eq!(
            p(
                KioskStatus::Paired,
                Some(now - time::Duration::seconds(119))
            ),
            KioskPresence::Online
        );
        assert_eq!(
            p(
                KioskStatus::Paired,
                Some(now - time::Duration::seconds(121))
            ),
            KioskPresence::Offline
        );
        assert_eq!(p(KioskStatus::Paired, None), KioskPresence::Offline);
        assert_eq!(p(KioskStatus::Revoked, Some(now)), KioskPresence::Revoked);
        assert_eq!(p(KioskStatus::Unpaired, None), KioskPresence::Unpaired);
    }

    #[test]
    fn codes_normalize() {
        assert_eq!(normalize_pairing_code(" abcd-efgh "), "ABCDEFGH");
    }
}
