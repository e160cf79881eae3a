//! Kiosks, staff side: create, list with presence, rename, move, issue a pairing code, revoke;
//! plus the device secrets (pairing codes, device tokens) the device API exchanges. The API and
//! the pages call these, so a move is authorized once and a code is issued once.

use crate::error::{AppError, AppResult};
use crate::gyms;
use base64::Engine;
use jarvis_core::authz::{self, Action, Decision, Principal, Resource};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::{GymFilter, Store};
use rand::TryRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Prefix of device tokens, so a leaked one is recognizable in logs and secret scanners.
pub const TOKEN_PREFIX: &str = "jk_";

/// SHA-256 of a secret, hex-encoded: what the database keeps instead of the secret.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn os_random(buf: &mut [u8]) -> AppResult<()> {
    rand::rngs::OsRng
        .try_fill_bytes(buf)
        .map_err(|e| AppError::Internal(format!("OS random generator failed: {e}")))
}

/// A fresh pairing code: [`PAIRING_CODE_LEN`] characters of [`PAIRING_ALPHABET`], uniformly
/// drawn from the OS CSPRNG (bytes above the largest multiple of the alphabet are dropped).
pub fn new_pairing_code() -> AppResult<String> {
    let n = PAIRING_ALPHABET.len();
    let limit = (256 / n * n) as u8;
    let mut out = String::with_capacity(PAIRING_CODE_LEN);
    while out.len() < PAIRING_CODE_LEN {
        let mut buf = [0_u8; 16];
        os_random(&mut buf)?;
        for b in buf {
            if b < limit && out.len() < PAIRING_CODE_LEN {
                out.push(char::from(PAIRING_ALPHABET[usize::from(b) % n]));
            }
        }
    }
    Ok(out)
}

/// A fresh device token: [`TOKEN_PREFIX`] and 32 random bytes, URL-safe base64.
pub fn new_device_token() -> AppResult<String> {
    let mut buf = [0_u8; 32];
    os_random(&mut buf)?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
    ))
}

/// A kiosk with its live presence (online / offline / revoked / unpaired).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KioskView {
    /// The kiosk.
    #[serde(flatten)]
    pub kiosk: Kiosk,
    /// Presence now, from the last heartbeat and the offline threshold.
    pub presence: KioskPresence,
}

/// The kiosk with its presence now, `offline_after` being the configured threshold.
pub fn view(kiosk: Kiosk, offline_after: std::time::Duration) -> KioskView {
    let threshold = time::Duration::try_from(offline_after).unwrap_or(time::Duration::minutes(2));
    let presence = kiosk.presence(OffsetDateTime::now_utc(), threshold);
    KioskView { kiosk, presence }
}

/// Adds a kiosk to a gym (the input is validated here).
pub async fn create(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    new: NewKiosk,
) -> AppResult<Kiosk> {
    Ok(store
        .create_kiosk(scope, actor, gym, new.validate()?)
        .await?)
}

/// Renames and/or moves a kiosk. `scope` is the caller's `KioskManage` scope on `gym`; a move
/// touches two gyms, so it needs `KioskManage` on the whole franchise, and the target must be a
/// gym of that franchise (a foreign one is "not found").
pub async fn update(
    store: &dyn Store,
    principal: &Principal,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: KioskId,
    patch: KioskPatch,
) -> AppResult<Kiosk> {
    let mut patch = patch.validate()?;
    patch.gym_id = patch.gym_id.filter(|to| *to != gym);
    let scope = match patch.gym_id {
        None => *scope,
        Some(to) => {
            let from = store.gym(scope, gym).await?;
            let franchise = match authz::authorize(
                principal,
                Action::KioskManage,
                &Resource::Franchise(from.franchise_id),
            ) {
                Decision::Allow(s) => s,
                decision => {
                    return Err(AppError::Denied {
                        decision,
                        what: "franchise",
                    });
                }
            };
            store.gym(&franchise, to).await?;
            franchise
        }
    };
    Ok(store.update_kiosk(&scope, actor, gym, id, patch).await?)
}

/// The gyms a kiosk of `gym` may be moved to by this caller: the other gyms of its franchise
/// that may run kiosks, when the caller manages kiosks franchise-wide (else none).
pub async fn move_targets(
    store: &dyn Store,
    principal: &Principal,
    gym: &Gym,
) -> AppResult<Vec<Gym>> {
    let Decision::Allow(scope) = authz::authorize(
        principal,
        Action::KioskManage,
        &Resource::Franchise(gym.franchise_id),
    ) else {
        return Ok(Vec::new());
    };
    let filter = GymFilter {
        franchise_id: Some(gym.franchise_id),
        status: Some(GymStatus::Active),
        ..Default::default()
    };
    let page = PageRequest::new(Some(200), None).map_err(ValidationErrors::from)?;
    Ok(store
        .list_gyms(&scope, &filter, page)
        .await?
        .items
        .into_iter()
        .filter(|g| g.id != gym.id && g.kiosk_readiness().is_ok())
        .collect())
}

/// A pairing code, shown once to the manager who asked for it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PairingCode {
    /// The kiosk to pair.
    pub kiosk_id: KioskId,
    /// 8 characters to type on the kiosk (valid once, for 15 minutes).
    pub code: String,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// Issues a fresh pairing code (replacing any outstanding one), only for a gym that may run
/// kiosks. Returns the kiosk and the code; only the code's hash is stored.
pub async fn issue_pairing_code(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: KioskId,
) -> AppResult<(Kiosk, PairingCode)> {
    let g = store.gym(scope, gym).await?;
    gyms::kiosk_readiness(&g)?;
    let code = new_pairing_code()?;
    let expires_at = OffsetDateTime::now_utc() + PAIRING_TTL;
    let kiosk = store
        .set_pairing_code(scope, actor, gym, id, &hash_secret(&code), expires_at)
        .await?;
    Ok((
        kiosk,
        PairingCode {
            kiosk_id: id,
            code,
            expires_at,
        },
    ))
}

/// Revokes the device token and any outstanding pairing code.
pub async fn revoke(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: KioskId,
) -> AppResult<Kiosk> {
    Ok(store.revoke_kiosk(scope, actor, gym, id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_tokens_are_fresh_and_well_formed() {
        let a = new_pairing_code().unwrap_or_default();
        let b = new_pairing_code().unwrap_or_default();
        assert_eq!(a.len(), PAIRING_CODE_LEN);
        assert!(a.bytes().all(|c| PAIRING_ALPHABET.contains(&c)));
        assert_ne!(a, b);
        let t = new_device_token().unwrap_or_default();
        assert!(t.starts_with(TOKEN_PREFIX));
        assert_ne!(new_device_token().unwrap_or_default(), t);
        assert_eq!(hash_secret("x").len(), 64);
    }
}
