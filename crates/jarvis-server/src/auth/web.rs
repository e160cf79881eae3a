//! Dashboard session plumbing shared by every page: the session cookie, the signed-in
//! [`PageUser`] extractor, CSRF-checked forms ([`CsrfForm`], [`SignInForm`]), page language and
//! safe redirects. The sign-in pages themselves are in `crate::areas::accounts::pages`.
//!
//! The session lives in an HttpOnly, SameSite=Lax cookie holding an opaque token (only its hash
//! is stored). With an `https` public URL the cookie is `__Host-jarvis_session` and `Secure`;
//! over plain http (local demo) browsers refuse `__Host-` cookies, so it is `jarvis_session`.
//! Every form POST goes through [`CsrfForm`] (session-bound token) or, before sign-in,
//! [`SignInForm`] (pre-session token), both with Fetch Metadata and Origin checks; every sign-in
//! and MFA step issues a new cookie token (no session fixation), `next` only accepts local paths
//! (no open redirect), and no page changes anything on GET.

use super::{AuthState, Caller, home_scope, secrets_equal};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE, HOST, LOCATION, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jarvis_app::accounts::Client;
use jarvis_app::auth::crypto::{new_token, token_hash};
use jarvis_core::authz::Aal;
use jarvis_core::model::AuthSession;
use jarvis_core::model::{Actor, Locale, User};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

/// Name of the session cookie for this deployment.
pub fn session_cookie(auth: &AuthState) -> &'static str {
    if auth.secure_cookies {
        "__Host-jarvis_session"
    } else {
        "jarvis_session"
    }
}

fn login_csrf_cookie(auth: &AuthState) -> &'static str {
    if auth.secure_cookies {
        "__Host-jarvis_csrf"
    } else {
        "jarvis_csrf"
    }
}

pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub(crate) fn set_cookie(
    auth: &AuthState,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> HeaderValue {
    let secure = if auth.secure_cookies { "; Secure" } else { "" };
    let age = match max_age {
        Some(s) => format!("; Max-Age={s}"),
        None => String::new(),
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// The CSRF token of a signed-in session: derived from the cookie secret, so it needs no storage
/// and cannot be computed by another site.
pub fn csrf_for(session_token: &str) -> String {
    token_hash(&format!("csrf:{session_token}"))[..32].to_string()
}

/// Only local paths: `/x` but not `//host`, `/\host`, `http://…` or control characters.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\')
                && n.len() < 500 =>
        {
            n.to_string()
        }
        _ => "/app".to_string(),
    }
}

pub(crate) fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

pub(crate) fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Page language: `?lang=`, then the `jarvis_lang` cookie, then `Accept-Language`.
pub(crate) fn locale_of(headers: &HeaderMap, lang: Option<&str>) -> Locale {
    if let Some(l) = lang.and_then(Locale::parse) {
        return l;
    }
    if let Some(l) = cookie(headers, "jarvis_lang")
        .as_deref()
        .and_then(Locale::parse)
    {
        return l;
    }
    let al = headers
        .get(ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_lowercase();
    if al.starts_with("en") {
        Locale::En
    } else if al.starts_with("fr") {
        Locale::Fr
    } else {
        Locale::En
    }
}

/// A pre-session CSRF token (double-submit cookie) for the login, reset and accept forms.
pub(crate) fn login_csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    let name = login_csrf_cookie(&state.auth);
    match cookie(headers, name).filter(|v| v.len() >= 32) {
        Some(v) => (v, None),
        None => {
            let v = new_token();
            let c = set_cookie(&state.auth, name, &v, Some(3600));
            (v, Some(c))
        }
    }
}

pub(crate) fn with_cookies(
    mut r: Response,
    cookies: impl IntoIterator<Item = HeaderValue>,
) -> Response {
    for c in cookies {
        r.headers_mut().append(SET_COOKIE, c);
    }
    r
}

/// The signed-in dashboard user. Redirects to the login page when there is no session, and to
/// the MFA pages while MFA is pending.
pub struct PageUser {
    /// Same permission methods as API handlers.
    pub caller: Caller,
    /// The user.
    pub user: User,
    /// CSRF token to put in every form.
    pub csrf: String,
    /// Page language (the user's).
    pub locale: Locale,
    /// The web session.
    pub session: AuthSession,
    /// The request path, so the page chrome can mark the current area.
    pub path: String,
    /// Whether the request is a GET (a form post's path cannot be linked back to).
    pub is_get: bool,
}

/// A web session that may still be waiting for MFA (only the MFA pages use it).
pub struct PendingPageUser(pub PageUser);

async fn load_page_user(parts: &Parts, state: &AppState) -> Result<Option<PageUser>, ApiError> {
    let Some(token) = cookie(&parts.headers, session_cookie(&state.auth)) else {
        return Ok(None);
    };
    let Some((session, user)) = state.auth.accounts.web_session(&token).await? else {
        return Ok(None);
    };
    let aal = Aal::from_u8(session.aal).unwrap_or(Aal::Aal1);
    let (principal, _) = state.auth.accounts.principal(user.id, aal).await?;
    let caller = Caller {
        scope: home_scope(&principal),
        actor: Actor::user(
            user.id,
            super::client_ip(parts, state),
            super::user_agent(parts),
        ),
        principal,
        user_id: Some(user.id),
        session_id: Some(session.id),
        aal,
    };
    // The language switch's cookie wins over the account's language, for this browser.
    let locale = cookie(&parts.headers, "jarvis_lang")
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or(user.locale);
    Ok(Some(PageUser {
        caller,
        locale,
        path: parts.uri.path().to_string(),
        is_get: parts.method == axum::http::Method::GET,
        csrf: csrf_for(&token),
        user,
        session,
    }))
}

fn login_redirect(parts: &Parts) -> Response {
    let here = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/app");
    redirect(&format!("/app/login?next={}", encode(here)))
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(u) = load_page_user(parts, state)
            .await
            .map_err(IntoResponse::into_response)?
        else {
            return Err(login_redirect(parts));
        };
        if u.caller.principal.needs_step_up() {
            let enrolled = matches!(
                u.caller.principal,
                jarvis_core::authz::Principal::User {
                    mfa_enrolled: true,
                    ..
                }
            );
            let here = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/app");
            let to = if enrolled {
                "/app/mfa"
            } else {
                "/app/mfa/enroll"
            };
            return Err(redirect(&format!("{to}?next={}", encode(here))));
        }
        Ok(u)
    }
}

impl FromRequestParts<AppState> for PendingPageUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match load_page_user(parts, state).await {
            Ok(Some(u)) => Ok(PendingPageUser(u)),
            Ok(None) => Err(login_redirect(parts)),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// A signed-in form whose CSRF protections passed: Fetch Metadata (`Sec-Fetch-Site` must be
/// `same-origin` or `none` when sent), `Origin` (when sent) must be this site, and the `csrf`
/// field must be the token bound to the session cookie. The pre-session sign-in token is never
/// accepted here. A request with neither `Origin` nor `Sec-Fetch-Site` (no browser of the last
/// years sends such a POST) must also come with a live session.
pub struct CsrfForm<T>(pub T);

/// A form of the sign-in flow (login, password reset, invitation acceptance), posted before
/// there is a session: the `csrf` field must match the pre-session cookie (double submit), and
/// since a cookie can be planted by a sibling site, the browser must also vouch for the request
/// with `Origin` or `Sec-Fetch-Site`.
pub struct SignInForm<T>(pub T);

#[derive(Clone, Copy, PartialEq, Eq)]
enum CsrfToken {
    /// Derived from the session cookie ([`csrf_for`]).
    Session,
    /// The double-submit cookie of the sign-in forms.
    PreSession,
}

fn origin_ok(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if let Some(public) = &state.config.public_url
        && origin == public
    {
        return true;
    }
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin == format!("http://{host}") || origin == format!("https://{host}")
}

fn csrf_rejection(headers: &HeaderMap) -> Response {
    crate::areas::accounts::pages::csrf_rejection(locale_of(headers, None))
}

/// Whether the session cookie names a live session (not ended, expired or idle).
async fn live_session(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(token) = cookie(headers, session_cookie(&state.auth)) else {
        return false;
    };
    let idle =
        time::Duration::try_from(state.config.session_idle).unwrap_or(time::Duration::days(3));
    matches!(
        state.store.session_by_token_hash(&token_hash(&token)).await,
        Ok(Some(s)) if s.is_live(OffsetDateTime::now_utc(), idle)
    )
}

/// Runs the CSRF checks of a form and parses it.
async fn checked_form<T: DeserializeOwned>(
    req: Request,
    state: &AppState,
    kind: CsrfToken,
) -> Result<T, Response> {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| s != "same-origin" && s != "none") || !origin_ok(headers, state) {
        tracing::warn!(?site, "cross-site form post refused");
        return Err(csrf_rejection(headers));
    }
    // Neither header: not a current browser's form post, so nothing vouches for where it came
    // from. Only the session-bound token (which needs the HttpOnly session secret) may stand
    // alone; a double-submit cookie could have been planted.
    let unvouched = site.is_none() && headers.get(ORIGIN).is_none();
    if unvouched && kind == CsrfToken::PreSession {
        tracing::warn!("sign-in form post without Origin or Sec-Fetch-Site refused");
        return Err(csrf_rejection(headers));
    }
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map_err(|_| StatusCode::PAYLOAD_TOO_LARGE.into_response())?;
    let text = String::from_utf8_lossy(&bytes).to_string();
    let mut presented = None;
    let rest: Vec<&str> = text
        .split('&')
        .filter(|kv| match kv.split_once('=') {
            Some(("csrf", v)) => {
                presented = Some(v.to_string());
                false
            }
            _ => !kv.is_empty(),
        })
        .collect();
    let presented = presented.unwrap_or_default();
    let expected = match kind {
        CsrfToken::Session => {
            cookie(headers, session_cookie(&state.auth)).map(|tok| csrf_for(&tok))
        }
        CsrfToken::PreSession => {
            cookie(headers, login_csrf_cookie(&state.auth)).filter(|v| v.len() >= 32)
        }
    };
    if presented.is_empty() || !expected.is_some_and(|e| secrets_equal(&e, &presented)) {
        tracing::warn!("form post without a valid CSRF token refused");
        return Err(csrf_rejection(headers));
    }
    if unvouched && kind == CsrfToken::Session && !live_session(headers, state).await {
        tracing::warn!("form post without Origin or Sec-Fetch-Site and no live session refused");
        return Err(csrf_rejection(headers));
    }
    serde_urlencoded::from_str::<T>(&rest.join("&"))
        .map_err(|e| ApiError::bad_request("bad_form", e.to_string()).into_response())
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        checked_form(req, state, CsrfToken::Session)
            .await
            .map(CsrfForm)
    }
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for SignInForm<T> {
    type Rejection = Response;
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        checked_form(req, state, CsrfToken::PreSession)
            .await
            .map(SignInForm)
    }
}

pub(crate) fn client_of(parts_headers: &HeaderMap, ip: Option<String>) -> Client {
    Client {
        ip,
        user_agent: parts_headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(300).collect()),
    }
}

/// The client IP of a request (trusted proxies only).
pub struct ClientIp(pub Option<String>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(super::client_ip(parts, state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_accepts_only_local_paths() {
        assert_eq!(safe_next(Some("/app/gyms?x=1")), "/app/gyms?x=1");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/app\n",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/app", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/app");
    }
}
