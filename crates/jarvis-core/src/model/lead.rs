//! Leads: prospects a gym's website or landing page sends through the signed lead webhook
//! (contact form: name, e-mail, phone, message, source), followed up on the dashboard through
//! `new → contacted → converted`. Pure rules only: the input's validation and the replay window
//! of a signed delivery.

use crate::ids::*;
use crate::validate::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How far a webhook's signed timestamp may be from the server's clock, either way (seconds).
pub const LEAD_WEBHOOK_TOLERANCE_SECS: i64 = 300;

/// The largest lead webhook body accepted (bytes).
pub const LEAD_WEBHOOK_MAX_BODY: usize = 16 * 1024;

/// Whether a signed timestamp (Unix seconds) is inside the replay window around `now`.
pub fn lead_timestamp_fresh(timestamp: i64, now: OffsetDateTime) -> bool {
    timestamp
        .checked_sub(now.unix_timestamp())
        .is_some_and(|d| d.abs() <= LEAD_WEBHOOK_TOLERANCE_SECS)
}

/// Where a lead is in the gym's follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// Just received.
    New,
    /// Someone at the gym reached out.
    Contacted,
    /// Became a member.
    Converted,
}

impl LeadStatus {
    /// Every status, in follow-up order.
    pub const ALL: [LeadStatus; 3] = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Converted,
    ];

    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Converted => "converted",
        }
    }

    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A lead as stored and shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lead {
    /// Id.
    pub id: LeadId,
    /// The gym whose webhook received it.
    pub gym_id: GymId,
    /// The sender's event id (unique per gym: a redelivery is the same lead).
    pub event_id: String,
    /// Prospect's name.
    pub name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// What they wrote.
    pub message: Option<String>,
    /// Where it came from (form or campaign name).
    pub source: Option<String>,
    /// Follow-up status.
    pub status: LeadStatus,
    /// Received.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last status change (or reception).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// The body of a lead webhook delivery.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLead {
    /// The sender's unique id of this event (1–100 of `A–Z a–z 0–9 . _ : -`).
    pub event_id: String,
    /// Prospect's name (required, ≤ 200).
    pub name: String,
    /// E-mail address (e-mail or phone required).
    #[serde(default)]
    pub email: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Message (≤ 4000).
    #[serde(default)]
    pub message: Option<String>,
    /// Source (≤ 100).
    #[serde(default)]
    pub source: Option<String>,
}

/// A [`NewLead`] that passed [`NewLead::validate`] (trimmed, normalized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidLead {
    /// Event id.
    pub event_id: String,
    /// Name.
    pub name: String,
    /// E-mail (lower case).
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Source.
    pub source: Option<String>,
}

impl NewLead {
    /// Checks every field and reports every error, each naming its field.
    pub fn validate(&self) -> Result<ValidLead, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let event_id = self.event_id.trim().to_string();
        if event_id.is_empty() {
            e.push(FieldError::new("event_id", "required", "must not be empty"));
        } else if event_id.len() > 100
            || !event_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c))
        {
            e.push(FieldError::new(
                "event_id",
                "invalid_format",
                "must be 1 to 100 of A-Z a-z 0-9 . _ : -",
            ));
        }
        let name = e.text("name", &self.name, 200);
        let email = e.opt_email("email", self.email.as_deref());
        let phone = e.opt_phone("phone", self.phone.as_deref());
        let message = e.opt_text("message", self.message.as_deref(), 4000);
        let source = e.opt_text("source", self.source.as_deref(), 100);
        if email.is_none() && phone.is_none() {
            e.push(FieldError::new(
                "email",
                "required",
                "an e-mail address or a phone number is required",
            ));
        }
        e.finish()?;
        Ok(ValidLead {
            event_id,
            name,
            email,
            phone,
            message,
            source,
        })
    }
}

/// A status change from the dashboard or the API.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadStatusPatch {
    /// The new status.
    pub status: LeadStatus,
}

/// A gym's lead webhook key (never the secret itself once created).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeadWebhookKey {
    /// The key id senders put in the `Jarvis-Webhook-Key` header.
    pub key_id: String,
    /// The gym.
    pub gym_id: GymId,
    /// When this secret was generated.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lead() -> NewLead {
        NewLead {
            event_id: "evt_1".into(),
            name: "Ada".into(),
            email: Some("Ada@Example.com".into()),
            ..Default::default()
        }
    }

    #[test]
    fn valid_lead_is_normalized() {
        let v = lead().validate().unwrap();
        assert_eq!(v.email.as_deref(), Some("ada@example.com"));
    }

    #[test]
    fn errors_name_their_field() {
        let bad = NewLead {
            event_id: "a b".into(),
            name: " ".into(),
            email: Some("nope".into()),
            ..Default::default()
        };
        let fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|f| f.field)
            .collect();
        assert_eq!(fields, ["event_id", "name", "email"]);
        let no_contact = NewLead {
            email: None,
            ..lead()
        };
        assert_eq!(no_contact.validate().unwrap_err().0[0].field, "email");
    }

    #[test]
    fn replay_window_is_five_minutes_both_ways() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let t = now.unix_timestamp();
        assert!(lead_timestamp_fresh(t, now));
        assert!(lead_timestamp_fresh(t - 300, now));
        assert!(lead_timestamp_fresh(t + 300, now));
        assert!(!lead_timestamp_fresh(t - 301, now));
        assert!(!lead_timestamp_fresh(t + 301, now));
        assert!(!lead_timestamp_fresh(i64::MIN, now));
    }
}
