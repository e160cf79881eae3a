//! Secrets at rest and opaque tokens. AES-256-GCM (aws-lc-rs, the tree's one crypto provider)
//! seals TOTP secrets and signing keys with the master key; the purpose string is bound as
//! associated data so a sealed value cannot be moved to another row. Opaque tokens are 256
//! random bits; only their SHA-256 is stored. Keyed derivations (HMAC-SHA256 under the master
//! key) give log tags and values that must be reproducible without storage.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Sealing failed or a sealed value is corrupt / sealed with another key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CryptoError(pub String);

/// The master key, held only in memory.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    /// Parses 32 bytes given as 64 hex characters or base64.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| CryptoError(e.to_string()))?
        } else {
            STANDARD
                .decode(t)
                .or_else(|_| URL_SAFE_NO_PAD.decode(t))
                .map_err(|_| {
                    CryptoError("master_key must be 32 bytes as 64 hex characters or base64".into())
                })?
        };
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError("master_key must be exactly 32 bytes".into()))?;
        Ok(MasterKey(arr))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        MasterKey(k)
    }

    /// The configured key, or the one kept in `data_dir/master.key` (created 0600 on first run,
    /// so a demo works out of the box; production should set `master_key` from a secret store).
    pub fn load_or_create(configured: Option<&str>, data_dir: &Path) -> Result<Self, CryptoError> {
        if let Some(c) = configured {
            return Self::parse(c);
        }
        let path = data_dir.join("master.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(|e| {
                    CryptoError(format!("cannot create {}: {e}", data_dir.display()))
                })?;
                let key = Self::generate();
                let text = STANDARD.encode(key.0);
                write_private(&path, &text)
                    .map_err(|e| CryptoError(format!("cannot write {}: {e}", path.display())))?;
                tracing::warn!(path = %path.display(), "no master_key configured: generated one; back it up, losing it makes MFA secrets and signing keys unreadable");
                Ok(key)
            }
            Err(e) => Err(CryptoError(format!("cannot read {}: {e}", path.display()))),
        }
    }

    fn key(&self) -> Result<LessSafeKey, CryptoError> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| CryptoError("bad key".into()))
    }

    /// Encrypts `plain` for `purpose`; output `v1.<base64(nonce ‖ ciphertext ‖ tag)>`.
    pub fn seal(&self, purpose: &str, plain: &[u8]) -> Result<String, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut buf = plain.to_vec();
        self.key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut buf,
            )
            .map_err(|_| CryptoError("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(format!("v1.{}", STANDARD.encode(out)))
    }

    /// HMAC-SHA256 of `input` under a key derived from the master key for `purpose`: the same
    /// inputs always give the same 32 bytes, which nobody without the master key can compute.
    pub fn derive(&self, purpose: &str, input: &[u8]) -> [u8; 32] {
        let root = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let sub = hmac::sign(&root, format!("jarvis derive v1: {purpose}").as_bytes());
        let key = hmac::Key::new(hmac::HMAC_SHA256, sub.as_ref());
        let tag = hmac::sign(&key, input);
        let mut out = [0u8; 32];
        out.copy_from_slice(&tag.as_ref()[..32]);
        out
    }

    /// A short keyed tag standing for personal data (an e-mail address) in logs: one value
    /// always gives the same tag, so operators can follow it across lines, but the value cannot
    /// be read back or confirmed by guessing without the master key.
    pub fn log_tag(&self, value: &str) -> String {
        self.derive("log tag", value.as_bytes())[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Decrypts a value sealed for `purpose`.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let body = sealed
            .strip_prefix("v1.")
            .ok_or_else(|| CryptoError("unknown sealed format".into()))?;
        let raw = STANDARD
            .decode(body)
            .map_err(|_| CryptoError("sealed value is not base64".into()))?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(CryptoError("sealed value too short".into()));
        }
        let (nonce, ct) = raw.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError("bad nonce".into()))?;
        let mut buf = ct.to_vec();
        let plain = self
            .key()?
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut buf)
            .map_err(|_| {
                CryptoError("cannot decrypt: wrong master key or tampered value".into())
            })?;
        Ok(plain.to_vec())
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())
}

/// A new opaque token: 256 random bits, base64url.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The stored form of an opaque token.
pub fn token_hash(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_purpose_binding() {
        let k = MasterKey::generate();
        let sealed = k.seal("totp:1", b"secret").unwrap_or_default();
        assert_eq!(k.open("totp:1", &sealed).ok(), Some(b"secret".to_vec()));
        assert!(k.open("totp:2", &sealed).is_err(), "purpose is bound");
        assert!(
            MasterKey::generate().open("totp:1", &sealed).is_err(),
            "other key fails"
        );
        assert_ne!(
            sealed,
            k.seal("totp:1", b"secret").unwrap_or_default(),
            "random nonce"
        );
    }

    #[test]
    fn derivations_are_keyed_stable_and_separated() {
        let k = MasterKey::generate();
        assert_eq!(k.derive("a", b"x"), k.derive("a", b"x"), "stable");
        assert_ne!(
            k.derive("a", b"x"),
            k.derive("b", b"x"),
            "purposes are separated"
        );
        assert_ne!(k.derive("a", b"x"), k.derive("a", b"y"));
        assert_ne!(
            k.derive("a", b"x"),
            MasterKey::generate().derive("a", b"x"),
            "keyed"
        );
        let tag = k.log_tag("someone@example.com");
        assert_eq!(tag.len(), 12);
        assert_eq!(tag, k.log_tag("someone@example.com"));
        assert!(!tag.contains("someone"));
    }

    #[test]
    fn master_key_forms() {
        assert!(MasterKey::parse(&"ab".repeat(32)).is_ok());
        assert!(MasterKey::parse(&STANDARD.encode([7u8; 32])).is_ok());
        assert!(MasterKey::parse("short").is_err());
        assert_eq!(token_hash("x").len(), 64);
        assert_ne!(new_token(), new_token());
    }
}
