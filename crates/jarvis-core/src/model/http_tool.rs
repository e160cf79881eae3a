//! Custom HTTP tools: per-gym functions the assistant may call, executed by the server as a
//! signed HTTP request to the gym's own system. Pure rules only: the definition's validation
//! (name, description, parameter schema, URL shape, method, timeout, member fields). Where the
//! URL may point (the SSRF guard), the signature and the call itself live in `jarvis-app`.

use crate::ids::*;
use crate::json_schema::check_schema;
use crate::validate::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// Names of the built-in tools (and of those reserved for built-ins to come): a custom tool
/// cannot take one.
pub const RESERVED_TOOL_NAMES: [&str; 9] = [
    "get_member_profile",
    "get_class_schedule",
    "log_member_goal",
    "log_interaction",
    "add_member_fact",
    "update_member_preferences",
    "hand_off_to_staff",
    "end_conversation",
    "search_knowledge",
];

/// Most custom tools per gym.
pub const MAX_HTTP_TOOLS_PER_GYM: usize = 20;
/// Longest time a custom tool may take (milliseconds).
pub const MAX_HTTP_TOOL_TIMEOUT_MS: u32 = 10_000;
/// Shortest time limit a custom tool may set (milliseconds).
pub const MIN_HTTP_TOOL_TIMEOUT_MS: u32 = 500;
/// Time limit when none is given (milliseconds).
pub const DEFAULT_HTTP_TOOL_TIMEOUT_MS: u32 = 5_000;
/// Longest URL accepted.
pub const MAX_HTTP_TOOL_URL: usize = 2_000;

/// The HTTP method of a custom tool.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, Default,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpToolMethod {
    /// `POST` with the JSON document as the body (the default).
    #[default]
    Post,
    /// `GET` with the JSON document in the `payload` query parameter.
    Get,
}

impl HttpToolMethod {
    /// The stable storage name (`GET`, `POST`).
    pub fn as_str(&self) -> &'static str {
        match self {
            HttpToolMethod::Get => "GET",
            HttpToolMethod::Post => "POST",
        }
    }
    /// Parses a stored or user-given value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GET" => Some(HttpToolMethod::Get),
            "POST" => Some(HttpToolMethod::Post),
            _ => None,
        }
    }
}

/// A member-profile field a custom tool may receive (none by default). The model never picks
/// the member: the values are those of the member in the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberField {
    /// The member's id in JARVIS.
    MemberId,
    /// The gym's badge id.
    BadgeId,
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// E-mail address.
    Email,
    /// Phone number.
    Phone,
    /// Preferred language (`fr`, `en`).
    PreferredLanguage,
    /// Membership type (free text of the gym).
    MembershipType,
    /// Membership status.
    MembershipStatus,
}

impl MemberField {
    /// Every field, in display order.
    pub const ALL: [MemberField; 9] = [
        MemberField::MemberId,
        MemberField::BadgeId,
        MemberField::FirstName,
        MemberField::LastName,
        MemberField::Email,
        MemberField::Phone,
        MemberField::PreferredLanguage,
        MemberField::MembershipType,
        MemberField::MembershipStatus,
    ];
    /// The stable name (JSON key sent to the tool).
    pub fn as_str(&self) -> &'static str {
        match self {
            MemberField::MemberId => "member_id",
            MemberField::BadgeId => "badge_id",
            MemberField::FirstName => "first_name",
            MemberField::LastName => "last_name",
            MemberField::Email => "email",
            MemberField::Phone => "phone",
            MemberField::PreferredLanguage => "preferred_language",
            MemberField::MembershipType => "membership_type",
            MemberField::MembershipStatus => "membership_status",
        }
    }
    /// Parses a stored or user-given value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
    /// This field's value for `m` (JSON null when the member has none).
    pub fn value_of(&self, m: &Member) -> Value {
        match self {
            MemberField::MemberId => Value::String(m.id.to_string()),
            MemberField::BadgeId => Value::String(m.badge_id.clone()),
            MemberField::FirstName => Value::String(m.first_name.clone()),
            MemberField::LastName => Value::String(m.last_name.clone()),
            MemberField::Email => m.email.clone().map_or(Value::Null, Value::String),
            MemberField::Phone => m.phone.clone().map_or(Value::Null, Value::String),
            MemberField::PreferredLanguage => {
                Value::String(m.preferred_language.as_str().to_owned())
            }
            MemberField::MembershipType => Value::String(m.membership_type.clone()),
            MemberField::MembershipStatus => {
                serde_json::to_value(m.membership_status).unwrap_or(Value::Null)
            }
        }
    }
}

use super::Member;

/// A gym's custom HTTP tool as stored and shown (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HttpTool {
    /// Id.
    pub id: HttpToolId,
    /// The gym.
    pub gym_id: GymId,
    /// Function name the model calls (`snake_case`, unique in the gym).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON schema of the arguments.
    #[schema(value_type = Object)]
    pub parameters: Value,
    /// Where the request goes.
    pub url: String,
    /// `GET` or `POST`.
    pub method: HttpToolMethod,
    /// Time limit of one call (milliseconds, ≤ 10 000).
    pub timeout_ms: u32,
    /// Member-profile fields sent with each call (under `member`).
    pub member_fields: Vec<MemberField>,
    /// Whether calls offer it to the model.
    pub enabled: bool,
    /// Created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change (or secret rotation).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A tool definition as a manager writes it (create and full replace).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpToolInput {
    /// Function name: `snake_case`, 3–64 characters, starting with a letter, not a built-in.
    pub name: String,
    /// What the tool does and when to use it, for the model (≤ 1000 characters).
    pub description: String,
    /// JSON schema of the arguments (an object schema in the supported subset).
    #[schema(value_type = Object)]
    pub parameters: Value,
    /// `https://…` (or `http://` to a host on the operator's allow-list).
    pub url: String,
    /// `GET` or `POST` (default `POST`).
    #[serde(default)]
    pub method: HttpToolMethod,
    /// Time limit in milliseconds, 500–10 000 (default 5 000).
    #[serde(default)]
    pub timeout_ms: Option<u32>,
    /// Member-profile fields to send (default none).
    #[serde(default)]
    pub member_fields: Vec<MemberField>,
    /// Offered to the model (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// A [`HttpToolInput`] that passed [`HttpToolInput::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidHttpTool {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Parameter schema.
    pub parameters: Value,
    /// URL (shape checked; where it points is checked by the SSRF guard).
    pub url: String,
    /// Method.
    pub method: HttpToolMethod,
    /// Time limit (ms).
    pub timeout_ms: u32,
    /// Member fields, without duplicates, in [`MemberField::ALL`] order.
    pub member_fields: Vec<MemberField>,
    /// Enabled.
    pub enabled: bool,
}

/// Whether `name` is a valid custom tool name (`^[a-z][a-z0-9_]{2,63}$`).
pub fn is_tool_name(name: &str) -> bool {
    let mut chars = name.chars();
    (3..=64).contains(&name.len())
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl HttpToolInput {
    /// Checks every field and reports all problems at once.
    pub fn validate(self) -> Result<ValidHttpTool, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let name = self.name.trim().to_owned();
        if !is_tool_name(&name) {
            e.push(FieldError::new(
                "name",
                "invalid_format",
                "must be 3 to 64 of a-z, 0-9 and _, starting with a letter (snake_case)",
            ));
        } else if RESERVED_TOOL_NAMES.contains(&name.as_str()) {
            e.push(FieldError::new(
                "name",
                "reserved",
                "is the name of a built-in tool",
            ));
        }
        let description = e.text("description", &self.description, 1000);
        if let Err(m) = check_schema(&self.parameters) {
            e.push(FieldError::new("parameters", "invalid_schema", m));
        } else if self
            .parameters
            .get("properties")
            .and_then(|p| p.get("member"))
            .is_some()
        {
            e.push(FieldError::new(
                "parameters",
                "reserved",
                "the argument name `member` is reserved for the member fields the server adds",
            ));
        }
        let url = self.url.trim().to_owned();
        if let Err(m) = url_shape(&url) {
            e.push(FieldError::new("url", "invalid_format", m));
        }
        let timeout_ms = self.timeout_ms.unwrap_or(DEFAULT_HTTP_TOOL_TIMEOUT_MS);
        if !(MIN_HTTP_TOOL_TIMEOUT_MS..=MAX_HTTP_TOOL_TIMEOUT_MS).contains(&timeout_ms) {
            e.push(FieldError::new(
                "timeout_ms",
                "out_of_range",
                format!(
                    "must be from {MIN_HTTP_TOOL_TIMEOUT_MS} to {MAX_HTTP_TOOL_TIMEOUT_MS} milliseconds"
                ),
            ));
        }
        let member_fields = MemberField::ALL
            .into_iter()
            .filter(|f| self.member_fields.contains(f))
            .collect();
        e.finish()?;
        Ok(ValidHttpTool {
            name,
            description,
            parameters: self.parameters,
            url,
            method: self.method,
            timeout_ms,
            member_fields,
            enabled: self.enabled,
        })
    }
}

/// The URL's shape: `https://` or `http://`, a host, no credentials, no fragment, no spaces.
fn url_shape(url: &str) -> Result<(), String> {
    if url.len() > MAX_HTTP_TOOL_URL {
        return Err(format!("must be at most {MAX_HTTP_TOOL_URL} characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces or control characters".into());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must start with https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("must name a host".into());
    }
    if authority.contains('@') {
        return Err("must not contain a user name or password".into());
    }
    if url.contains('#') {
        return Err("must not contain a fragment (#)".into());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input() -> HttpToolInput {
        HttpToolInput {
            name: "book_class".into(),
            description: "Books a class for the member".into(),
            parameters: json!({"type":"object","properties":{"class":{"type":"string"}}}),
            url: "https://api.example.com/book".into(),
            method: HttpToolMethod::Post,
            timeout_ms: None,
            member_fields: vec![
                MemberField::Email,
                MemberField::MemberId,
                MemberField::Email,
            ],
            enabled: true,
        }
    }

    #[test]
    fn a_good_definition_validates_with_defaults() {
        let v = input().validate().unwrap();
        assert_eq!(v.timeout_ms, DEFAULT_HTTP_TOOL_TIMEOUT_MS);
        assert_eq!(
            v.member_fields,
            vec![MemberField::MemberId, MemberField::Email]
        );
    }

    #[test]
    fn every_bad_field_is_reported() {
        let e = HttpToolInput {
            name: "Book-Class".into(),
            description: " ".into(),
            parameters: json!({"type":"object","properties":{"a":{"pattern":"x"}}}),
            url: "ftp://x".into(),
            method: HttpToolMethod::Get,
            timeout_ms: Some(60_000),
            member_fields: vec![],
            enabled: true,
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            ["name", "description", "parameters", "url", "timeout_ms"]
        );
    }

    #[test]
    fn reserved_names_urls_and_member_argument() {
        for n in RESERVED_TOOL_NAMES {
            let e = HttpToolInput {
                name: n.into(),
                ..input()
            }
            .validate()
            .unwrap_err();
            assert_eq!(e.0[0].code, "reserved");
        }
        for bad in [
            "https://user:pw@example.com/",
            "https:///x",
            "https://example.com/#x",
            "https://exa mple.com",
            "javascript:alert(1)",
        ] {
            assert!(url_shape(bad).is_err(), "{bad}");
        }
        assert!(url_shape("http://127.0.0.1:8080/x?y=1").is_ok());
        let e = HttpToolInput {
            parameters: json!({"type":"object","properties":{"member":{"type":"string"}}}),
            ..input()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.0[0].code, "reserved");
        assert!(!is_tool_name("ab"));
        assert!(!is_tool_name("1abc"));
        assert!(is_tool_name("get_stock_2"));
    }
}
