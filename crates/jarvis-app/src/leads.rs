//! Leads: the signed lead webhook and the dashboard's follow-up of what it received.
//!
//! **Signature.** A delivery carries `Jarvis-Webhook-Key: <key id>` and
//! `Jarvis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The key id
//! finds the gym and its secret (sealed with the master key, opened only here); the timestamp
//! must be within ±5 minutes ([`lead_timestamp_fresh`]); any `v1` may match (several during a
//! sender's own rotation) and is compared in constant time. The body is bounded
//! ([`LEAD_WEBHOOK_MAX_BODY`]) and read only after the signature checks.
//!
//! **Idempotency.** A lead is stored once per (gym, event id); a redelivery with the same body
//! answers what the first did, one with another body is refused (`EventReused`).

use crate::auth::crypto::{MasterKey, new_token};
use crate::error::{AppError, AppResult};
use aws_lc_rs::hmac;
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::{RecordedLead, Store};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Reading a gym's leads (staff who see members).
pub const READ: Action = Action::MemberRead;
/// Changing a lead's status.
pub const WRITE: Action = Action::MemberWrite;
/// Generating or rotating the gym's webhook secret (managers and above).
pub const KEY_ROTATE: Action = Action::GymSettingsUpdate;

/// Why a webhook delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Unknown key, missing or malformed signature header, or no matching signature (401).
    #[error("invalid signature")]
    BadSignature,
    /// The signed timestamp is outside the replay window (401).
    #[error("timestamp outside the 5-minute window")]
    Stale,
    /// The body is larger than [`LEAD_WEBHOOK_MAX_BODY`] (413).
    #[error("body too large")]
    TooLarge,
    /// The body is not the expected JSON (422, the parser's message names the field).
    #[error("{0}")]
    Malformed(String),
    /// A field does not validate (422 naming it).
    #[error("invalid input")]
    Invalid(ValidationErrors),
    /// This event id was stored with another body (409).
    #[error("event id already used with another body")]
    EventReused,
    /// Storage or sealing failed.
    #[error(transparent)]
    App(#[from] AppError),
}

/// The answer to a delivery, the same for the first delivery and its replays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LeadReceipt {
    /// The stored lead's id.
    pub lead_id: LeadId,
    /// The event id it was stored under.
    pub event_id: String,
    /// When the first delivery stored it.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

/// A freshly generated webhook secret: shown once, stored only sealed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewLeadSecret {
    /// The key id (header `Jarvis-Webhook-Key`).
    pub key_id: String,
    /// The secret to sign with (never shown again).
    pub secret: String,
    /// Generated at.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn purpose(gym: GymId) -> String {
    format!("lead-webhook:{gym}")
}

/// Generates (or rotates: the old secret stops working at once) a gym's webhook secret.
pub async fn rotate_secret(
    store: &dyn Store,
    master: &MasterKey,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
) -> AppResult<NewLeadSecret> {
    let secret = format!("whsec_{}", new_token());
    let key_id = format!("lk_{}", LeadId::new().to_string().replace('-', ""));
    let sealed = master
        .seal(&purpose(gym), secret.as_bytes())
        .map_err(|e| AppError::Internal(e.0))?;
    let k = store
        .put_lead_webhook(scope, actor, gym, &key_id, &sealed)
        .await?;
    Ok(NewLeadSecret {
        key_id: k.key_id,
        secret,
        created_at: k.created_at,
    })
}

/// Parses `t=<secs>,v1=<hex>[,v1=<hex>…]`: the timestamp and every `v1` signature.
fn parse_signature(header: &str) -> Option<(i64, Vec<Vec<u8>>)> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "t" => t = Some(v.parse::<i64>().ok()?),
            "v1" => sigs.push(hex_decode(v)?),
            _ => {}
        }
    }
    Some((t?, sigs)).filter(|(_, s)| !s.is_empty())
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Lower-case hex of HMAC-SHA256(secret, "<timestamp>.<body>"), as a sender computes it.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(format!("{timestamp}.").as_bytes());
    ctx.update(body);
    ctx.sign()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks and stores one webhook delivery (`key_id` and `signature` are the raw header values);
/// answers the receipt and whether this delivery stored it (false: a replay).
pub async fn receive(
    store: &dyn Store,
    master: &MasterKey,
    key_id: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(LeadReceipt, bool), WebhookError> {
    if body.len() > LEAD_WEBHOOK_MAX_BODY {
        return Err(WebhookError::TooLarge);
    }
    let key_id = key_id
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 100)
        .ok_or(WebhookError::BadSignature)?;
    let (t, sigs) = signature
        .and_then(parse_signature)
        .ok_or(WebhookError::BadSignature)?;
    let key = store
        .lead_webhook_by_key(key_id)
        .await
        .map_err(AppError::from)?
        .ok_or(WebhookError::BadSignature)?;
    let secret = master
        .open(&purpose(key.gym_id), &key.sealed_secret)
        .map_err(|e| AppError::Internal(e.0))?;
    let hkey = hmac::Key::new(hmac::HMAC_SHA256, &secret);
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    // `hmac::verify` compares in constant time.
    if !sigs.iter().any(|s| hmac::verify(&hkey, &signed, s).is_ok()) {
        return Err(WebhookError::BadSignature);
    }
    // After the signature: a stale but authentic delivery says so (the sender's clock is off).
    if !lead_timestamp_fresh(t, now) {
        return Err(WebhookError::Stale);
    }
    let new: NewLead =
        serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
    let valid = new.validate().map_err(WebhookError::Invalid)?;
    let hash: String = Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let scope = Scope::Gym {
        franchise: key.franchise_id,
        gym: key.gym_id,
    };
    let RecordedLead {
        lead,
        body_hash,
        created,
    } = store
        .record_lead(&scope, key.gym_id, valid, &hash)
        .await
        .map_err(AppError::from)?;
    if body_hash != hash {
        return Err(WebhookError::EventReused);
    }
    Ok((
        LeadReceipt {
            lead_id: lead.id,
            event_id: lead.event_id,
            received_at: lead.created_at,
        },
        created,
    ))
}

/// Changes a lead's status.
pub async fn set_status(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: LeadId,
    status: LeadStatus,
) -> AppResult<Lead> {
    Ok(store.set_lead_status(scope, actor, gym, id, status).await?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signature_header_parses_and_rejects_junk() {
        let sig = sign("s", 10, b"{}");
        let (t, s) = parse_signature(&format!("t=10,v1={sig}")).unwrap();
        assert_eq!(t, 10);
        assert_eq!(s.len(), 1);
        assert!(parse_signature("t=10").is_none());
        assert!(parse_signature("v1=00").is_none());
        assert!(parse_signature(&format!("t=x,v1={sig}")).is_none());
        assert!(parse_signature("t=10,v1=zz").is_none());
    }

    #[test]
    fn sign_matches_openssl() {
        // printf '1.{}' | openssl dgst -sha256 -hmac key
        assert_eq!(
            sign("key", 1, b"{}"),
            "1ba6b8171186efc613e8bcc0cbdab2748f24984d7c5a84faa2637afa0e40d224"
        );
    }
}
