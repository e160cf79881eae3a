//! CSRF checks of the dashboard beyond the urlencoded forms (those use
//! `crate::auth::web::CsrfForm`): a request whose body is not a form (a file upload) carries the
//! session's token in the `X-CSRF-Token` header and must come from the same origin.

use crate::auth::secrets_equal;
use crate::error::ApiError;
use axum::http::HeaderMap;

/// Refuses (403) a request without the session's token in `X-CSRF-Token`, or sent from another
/// site (`Sec-Fetch-Site` other than `same-origin`, when the browser says).
pub fn check_header(headers: &HeaderMap, session_token: &str) -> Result<(), ApiError> {
    let site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == "same-origin");
    let token_ok = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| secrets_equal(v, session_token));
    if site_ok && token_ok {
        Ok(())
    } else {
        Err(ApiError::forbidden("missing or invalid CSRF token"))
    }
}
