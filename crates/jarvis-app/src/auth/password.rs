//! Password hashing: Argon2id (OWASP parameters) on the blocking pool, so hashing never stalls
//! the async workers, and at most a few at a time (each takes 19 MiB: an unbounded burst of
//! sign-ins would otherwise exhaust memory; extra requests wait their turn).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;

/// Hashing failed (bad parameters or a join error); never the password's fault.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn argon2() -> Result<Argon2<'static>, HashError> {
    // 19 MiB, 2 passes, 1 lane: OWASP's minimum for Argon2id.
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Concurrent hashes allowed: twice the cores, at least 2.
fn slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
        tokio::sync::Semaphore::new(n.max(2))
    })
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String, HashError> {
    let _permit = slots()
        .acquire()
        .await
        .map_err(|e| HashError(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let mut salt = [0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashError(e.to_string()))?;
        argon2()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()))
    })
    .await
    .map_err(|e| HashError(e.to_string()))?
}

/// Checks a password against a PHC string.
pub async fn verify(password: String, phc: String) -> Result<bool, HashError> {
    let _permit = slots()
        .acquire()
        .await
        .map_err(|e| HashError(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&phc).map_err(|e| HashError(e.to_string()))?;
        Ok(argon2()?
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| HashError(e.to_string()))?
}

/// Minimal policy for the admin CLI (the full policy arrives with accounts).
pub fn check_policy(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < 12 {
        return Err("the password must have at least 12 characters".into());
    }
    if n > 256 {
        return Err("the password must have at most 256 characters".into());
    }
    Ok(())
}

/// Passwords everyone tries first; refused whatever their length (lower-cased comparison).
const COMMON: &[&str] = &[
    "password1234",
    "passwordpassword",
    "123456789012",
    "1234567890123",
    "qwertyuiopas",
    "azertyuiopqs",
    "motdepasse123",
    "iloveyou1234",
    "adminadmin123",
    "welcome12345",
    "jarvisjarvis",
    "letmein12345",
    "changeme1234",
    "password123!",
    "000000000000",
];

/// The account password policy: 12–256 characters, not a well-known password, not a single
/// repeated character or simple sequence, and not the e-mail (or its local part).
pub fn check_policy_for(password: &str, email: &str) -> Result<(), String> {
    check_policy(password)?;
    let lower = password.to_lowercase();
    if COMMON.contains(&lower.as_str()) {
        return Err("this password is too common; choose another".into());
    }
    let chars: Vec<char> = lower.chars().collect();
    if chars.iter().all(|c| *c == chars[0]) {
        return Err("the password must not repeat one character".into());
    }
    let sequential = chars
        .windows(2)
        .all(|w| (w[1] as u32).wrapping_sub(w[0] as u32) == 1);
    if sequential {
        return Err("the password must not be a simple sequence".into());
    }
    let email = email.trim().to_lowercase();
    let local = email.split('@').next().unwrap_or_default();
    if !email.is_empty() && (lower.contains(&email) || (local.len() >= 4 && lower.contains(local)))
    {
        return Err("the password must not contain your e-mail address".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_refuses_weak_passwords() {
        assert!(check_policy_for("short", "").is_err());
        assert!(
            check_policy_for("Password1234", "").is_err(),
            "common, any case"
        );
        assert!(check_policy_for("aaaaaaaaaaaaaaa", "").is_err());
        assert!(check_policy_for("abcdefghijklmn", "").is_err());
        assert!(check_policy_for("marie.curie-2026!", "marie.curie@example.com").is_err());
        assert!(check_policy_for("correct horse battery", "marie@example.com").is_ok());
    }

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = hash("correct horse battery".into())
            .await
            .unwrap_or_default();
        let b = hash("correct horse battery".into())
            .await
            .unwrap_or_default();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(
            verify("correct horse battery".into(), a.clone())
                .await
                .unwrap_or(false)
        );
        assert!(!verify("wrong".into(), a).await.unwrap_or(true));
    }
}
