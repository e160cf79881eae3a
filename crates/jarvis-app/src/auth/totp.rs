//! TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps, ±1 step of clock skew) with a server-rendered
//! QR code, and recovery codes.

use base64::Engine;
use qrcode::QrCode;
use qrcode::render::svg;
use rand::RngCore;
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Issuer shown in authenticator apps.
pub const ISSUER: &str = "JARVIS";

fn build(secret: &[u8], account: &str) -> Result<Totp, String> {
    // Authenticator apps reject ':' in labels; the e-mail never contains one, but be safe.
    let account = account.replace(':', "");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| e.to_string())
}

/// A fresh 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut s = vec![0u8; 20];
    rand::rng().fill_bytes(&mut s);
    s
}

/// The `otpauth://` URI and the base32 secret for manual entry.
pub fn provisioning(secret: &[u8], account: &str) -> Result<(String, String), String> {
    let t = build(secret, account)?;
    let url = t.to_url().map_err(|e| e.to_string())?;
    Ok((url, Secret::from(secret.to_vec()).to_base32()))
}

/// The QR code of a URI as an SVG document.
pub fn qr_svg(uri: &str) -> Result<String, String> {
    let code = QrCode::new(uri.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// The SVG as a `data:` URI for an `<img>` (allowed by the CSP's `img-src data:`).
pub fn qr_data_uri(uri: &str) -> Result<String, String> {
    let svg = qr_svg(uri)?;
    Ok(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

/// The time step a code matches at `unix_time` (within the skew), if any. The caller must
/// then accept that step only once (storage's replay guard).
pub fn matching_step(secret: &[u8], code: &str, unix_time: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let t = build(secret, "x").ok()?;
    t.check(&code, unix_time)
        .and_then(|s| i64::try_from(s).ok())
}

/// The code for a given time (tests and the demo).
pub fn code_at(secret: &[u8], unix_time: u64) -> Option<String> {
    build(secret, "x")
        .ok()
        .map(|t| t.generate(unix_time).to_string())
}

/// Ten recovery codes like `abcd-efgh-ijkl` (60 bits each).
pub fn recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..10)
        .map(|_| {
            let mut b = [0u8; 12];
            rand::rng().fill_bytes(&mut b);
            let chars: String = b
                .iter()
                .map(|x| char::from(ALPHABET[usize::from(*x) % ALPHABET.len()]))
                .collect();
            format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
        })
        .collect()
}

/// Normalizes a recovery code as typed (case, spaces) before hashing.
pub fn normalize_recovery(code: &str) -> String {
    code.trim().to_lowercase().replace(' ', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector_and_skew() {
        // RFC 6238 appendix B, SHA-1, T = 59 s → 94287082 (8 digits); 6 digits = 287082.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, 59).as_deref(), Some("287082"));
        assert_eq!(matching_step(secret, "287082", 59), Some(1));
        assert_eq!(
            matching_step(secret, "287082", 59 + 30),
            Some(1),
            "one step of skew"
        );
        assert_eq!(matching_step(secret, "287082", 59 + 90), None);
        assert_eq!(matching_step(secret, "28708", 59), None);
        assert!(qr_svg("otpauth://totp/JARVIS:a@b?secret=AAAA").is_ok_and(|s| s.contains("<svg")));
        let codes = recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes[0].len(), 14);
    }
}
