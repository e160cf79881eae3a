//! Field-level validation errors and the small checks shared by every input type.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One invalid field: which, a machine code, and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field path, e.g. `badge_id` or `settings.opening_hours`.
    pub field: String,
    /// Machine-readable reason (`required`, `too_long`, `invalid_format`, …).
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// All the field errors of one input, collected so the caller sees every problem at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds one error.
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    /// Ok when nothing was collected.
    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }

    /// Checks a required, trimmed text field's length; returns the trimmed value.
    pub fn text(&mut self, field: &str, value: &str, max: usize) -> String {
        let v = value.trim().to_string();
        if v.is_empty() {
            self.push(FieldError::new(field, "required", "must not be empty"));
        } else if v.chars().count() > max {
            self.push(FieldError::new(
                field,
                "too_long",
                format!("must be at most {max} characters"),
            ));
        } else if v.chars().any(|c| c.is_control()) {
            self.push(FieldError::new(
                field,
                "invalid_characters",
                "must not contain control characters",
            ));
        }
        v
    }

    /// Checks an optional text field; empty strings become `None`.
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        if v.chars().count() > max {
            self.push(FieldError::new(
                field,
                "too_long",
                format!("must be at most {max} characters"),
            ));
        } else if v
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            self.push(FieldError::new(
                field,
                "invalid_characters",
                "must not contain control characters",
            ));
        }
        Some(v.to_string())
    }

    /// Checks an optional e-mail address (a pragmatic shape check; delivery proves the rest).
    pub fn opt_email(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let v = self.opt_text(field, value, 254)?;
        if !is_email(&v) {
            self.push(FieldError::new(
                field,
                "invalid_format",
                "must be an e-mail address like name@example.com",
            ));
        }
        Some(v.to_lowercase())
    }

    /// Checks an optional phone number: digits, spaces and `+ - . ( )`, 6 to 20 digits.
    pub fn opt_phone(&mut self, field: &str, value: Option<&str>) -> Option<String> {
        let v = self.opt_text(field, value, 32)?;
        let digits = v.chars().filter(char::is_ascii_digit).count();
        let ok_chars = v
            .chars()
            .all(|c| c.is_ascii_digit() || " +-.()".contains(c));
        if !ok_chars || !(6..=20).contains(&digits) {
            self.push(FieldError::new(
                field,
                "invalid_format",
                "must be a phone number such as +33 6 12 34 56 78",
            ));
        }
        Some(v)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

impl From<FieldError> for ValidationErrors {
    fn from(e: FieldError) -> Self {
        Self(vec![e])
    }
}

/// A pragmatic e-mail shape check: one `@`, non-empty local part, a dotted domain, no spaces.
pub fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Whether `tz` looks like an IANA time zone name (`UTC`, `Europe/Paris`, `America/Argentina/Salta`).
pub fn is_timezone(tz: &str) -> bool {
    if tz == "UTC" {
        return true;
    }
    let mut parts = tz.split('/');
    let Some(area) = parts.next() else {
        return false;
    };
    const AREAS: [&str; 10] = [
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    ];
    let rest: Vec<&str> = parts.collect();
    AREAS.contains(&area)
        && !rest.is_empty()
        && rest.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 32
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))
                && p.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(is_email("a@b.co"));
        assert!(!is_email("a@b"));
        assert!(!is_email("@b.co"));
        assert!(!is_email("a b@c.de"));
        assert!(!is_email("a@@c.de"));
    }

    #[test]
    fn timezones() {
        assert!(is_timezone("Europe/Paris"));
        assert!(is_timezone("America/Argentina/Salta"));
        assert!(is_timezone("UTC"));
        assert!(!is_timezone("Paris"));
        assert!(!is_timezone("Europe/"));
        assert!(!is_timezone("Mars/Olympus"));
        assert!(!is_timezone("Europe/paris; drop table"));
    }

    #[test]
    fn collects_every_error() {
        let mut v = ValidationErrors::new();
        v.text("name", "  ", 10);
        v.opt_email("email", Some("nope"));
        v.opt_phone("phone", Some("12"));
        let errs = v.finish().err().map(|e| e.0).unwrap_or_default();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "email", "phone"]);
    }
}
