//! Dashboard sign-in pages (French and English): login, MFA, TOTP enrolment, logout (here and
//! everywhere), password reset and invitation acceptance.
//!
//! The session lives in an HttpOnly, SameSite=Lax cookie holding an opaque token (only its hash
//! is stored). With an `https` public URL the cookie is `__Host-jarvis_session` and `Secure`;
//! over plain http (local demo) browsers refuse `__Host-` cookies, so it is `jarvis_session`.
//! Every form POST goes through [`CsrfForm`] (session-bound token) or, before sign-in,
//! [`SignInForm`] (pre-session token), both with Fetch Metadata and Origin checks; every sign-in
//! and MFA step issues a new cookie token (no session fixation), `next` only accepts local paths
//! (no open redirect), and no page changes anything on GET.

use super::api::{self, ClientInfo};
use super::{AuthState, Caller, home_scope, secrets_equal, user_principal};
use crate::error::ApiError;
use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE, HOST, LOCATION, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jarvis_app::auth::crypto::{new_token, token_hash};
use jarvis_app::auth::totp;
use jarvis_core::authz::Aal;
use jarvis_core::model::{Actor, Locale, User};
use jarvis_store::{AuthSession, NewSession, SessionKind};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

/// Page routes of the sign-in flow.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/login", get(login_page).post(login_submit))
        .route("/app/mfa", get(mfa_page).post(mfa_submit))
        .route("/app/mfa/enroll", get(enroll_page).post(enroll_submit))
        .route("/app/logout", post(logout_submit))
        .route("/app/logout-all", post(logout_all_submit))
        .route("/app/reset", get(reset_page).post(reset_submit))
        .route(
            "/app/invitations/accept",
            get(accept_page).post(accept_submit),
        )
        .route("/app/security", get(security_page))
        .route(
            "/app/security/sessions/{id}/revoke",
            post(revoke_session_submit),
        )
}

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

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(auth: &AuthState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
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

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

fn encode(s: &str) -> String {
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
fn locale_of(headers: &HeaderMap, lang: Option<&str>) -> Locale {
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

/// All strings of the sign-in pages in one language.
pub struct Texts {
    lang: &'static str,
    login: &'static str,
    email: &'static str,
    password: &'static str,
    sign_in: &'static str,
    forgot: &'static str,
    bad_credentials: &'static str,
    locked: &'static str,
    mfa: &'static str,
    mfa_intro: &'static str,
    code: &'static str,
    verify: &'static str,
    recovery_code: &'static str,
    bad_code: &'static str,
    enroll: &'static str,
    enroll_intro: &'static str,
    manual_key: &'static str,
    qr_alt: &'static str,
    confirm: &'static str,
    codes_title: &'static str,
    codes_intro: &'static str,
    continue_: &'static str,
    reset: &'static str,
    reset_intro: &'static str,
    send_link: &'static str,
    reset_sent: &'static str,
    new_password: &'static str,
    set_password: &'static str,
    reset_done: &'static str,
    bad_link: &'static str,
    accept: &'static str,
    accept_intro: &'static str,
    accepted: &'static str,
    weak: &'static str,
    forbidden: &'static str,
    demo_banner: &'static str,
}

/// The strings for a locale.
pub fn texts(l: Locale) -> &'static Texts {
    static FR: Texts = Texts {
        lang: "fr",
        login: "Connexion",
        email: "Adresse e-mail",
        password: "Mot de passe",
        sign_in: "Se connecter",
        forgot: "Mot de passe oublié ?",
        bad_credentials: "E-mail ou mot de passe incorrect.",
        locked: "Trop de tentatives. Réessayez plus tard.",
        mfa: "Vérification en deux étapes",
        mfa_intro: "Saisissez le code à 6 chiffres de votre application d'authentification, ou un code de secours.",
        code: "Code à 6 chiffres",
        verify: "Vérifier",
        recovery_code: "Code de secours (facultatif)",
        bad_code: "Code incorrect ou déjà utilisé.",
        enroll: "Activer la vérification en deux étapes",
        enroll_intro: "Votre rôle l'exige. Scannez ce QR code avec une application d'authentification, puis saisissez le code affiché.",
        manual_key: "Ou saisissez la clé :",
        qr_alt: "QR code de configuration",
        confirm: "Confirmer",
        codes_title: "Codes de secours",
        codes_intro: "Conservez ces 10 codes en lieu sûr : chacun permet une connexion si vous perdez votre téléphone. Ils ne seront plus affichés.",
        continue_: "Continuer",
        reset: "Réinitialiser le mot de passe",
        reset_intro: "Indiquez votre e-mail : si un compte existe, un lien valable une heure vous sera envoyé.",
        send_link: "Envoyer le lien",
        reset_sent: "Si un compte existe pour cette adresse, un e-mail vient d'être envoyé.",
        new_password: "Nouveau mot de passe (12 caractères minimum)",
        set_password: "Enregistrer",
        reset_done: "Mot de passe changé. Toutes les sessions ont été fermées ; connectez-vous.",
        bad_link: "Ce lien est invalide, expiré ou déjà utilisé.",
        accept: "Accepter l'invitation",
        accept_intro: "Choisissez votre mot de passe pour rejoindre JARVIS.",
        accepted: "Invitation acceptée. Connectez-vous.",
        weak: "Mot de passe trop faible : ",
        forbidden: "Requête refusée (jeton de sécurité manquant ou invalide). Rechargez la page.",
        demo_banner: "aucune clé OpenAI n'est configurée : un faux OpenAI intégré répond. Comptes de démo : voir `jarvis demo seed`.",
    };
    static EN: Texts = Texts {
        lang: "en",
        login: "Sign in",
        email: "E-mail",
        password: "Password",
        sign_in: "Sign in",
        forgot: "Forgot your password?",
        bad_credentials: "Wrong e-mail or password.",
        locked: "Too many attempts. Try again later.",
        mfa: "Two-step verification",
        mfa_intro: "Enter the 6-digit code from your authenticator app, or a recovery code.",
        code: "6-digit code",
        verify: "Verify",
        recovery_code: "Recovery code (optional)",
        bad_code: "Wrong or already used code.",
        enroll: "Set up two-step verification",
        enroll_intro: "Your role requires it. Scan this QR code with an authenticator app, then enter the code it shows.",
        manual_key: "Or enter the key:",
        qr_alt: "Setup QR code",
        confirm: "Confirm",
        codes_title: "Recovery codes",
        codes_intro: "Keep these 10 codes somewhere safe: each signs you in once if you lose your phone. They will not be shown again.",
        continue_: "Continue",
        reset: "Reset password",
        reset_intro: "Enter your e-mail: if an account exists, a link valid for one hour will be sent.",
        send_link: "Send the link",
        reset_sent: "If an account exists for this address, an e-mail is on its way.",
        new_password: "New password (at least 12 characters)",
        set_password: "Save",
        reset_done: "Password changed. Every session was ended; please sign in.",
        bad_link: "This link is invalid, expired or already used.",
        accept: "Accept the invitation",
        accept_intro: "Choose your password to join JARVIS.",
        accepted: "Invitation accepted. Please sign in.",
        weak: "Password too weak: ",
        forbidden: "Request refused (missing or invalid security token). Reload the page.",
        demo_banner: "no OpenAI key is configured, so the built-in fake OpenAI answers. Demo accounts: see `jarvis demo seed`.",
    };
    match l {
        Locale::Fr => &FR,
        Locale::En => &EN,
    }
}

struct Field {
    label: &'static str,
    name: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    required: bool,
}

#[derive(Template)]
#[template(path = "auth/page.html")]
struct AuthPage {
    t: &'static Texts,
    demo_mode: bool,
    title: &'static str,
    intro: Option<String>,
    error: Option<String>,
    qr: Option<String>,
    secret: Option<String>,
    items: Vec<String>,
    action: Option<String>,
    csrf: String,
    hidden: Vec<(&'static str, String)>,
    fields: Vec<Field>,
    submit: &'static str,
    links: Vec<(String, &'static str)>,
}

impl AuthPage {
    fn new(t: &'static Texts, title: &'static str, csrf: String) -> Self {
        AuthPage {
            t,
            demo_mode: false,
            title,
            intro: None,
            error: None,
            qr: None,
            secret: None,
            items: Vec::new(),
            action: None,
            csrf,
            hidden: Vec::new(),
            fields: Vec::new(),
            submit: t.continue_,
            links: Vec::new(),
        }
    }
}

fn render(p: AuthPage, status: StatusCode) -> Response {
    let mut r = crate::web::page(p, status);
    // Sign-in pages must never be cached (they carry CSRF tokens and recovery codes).
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    r
}

/// A pre-session CSRF token (double-submit cookie) for the login, reset and accept forms.
fn login_csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
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

fn with_cookies(mut r: Response, cookies: impl IntoIterator<Item = HeaderValue>) -> Response {
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
}

/// A web session that may still be waiting for MFA (only the MFA pages use it).
pub struct PendingPageUser(pub PageUser);

async fn load_page_user(parts: &Parts, state: &AppState) -> Result<Option<PageUser>, ApiError> {
    let Some(token) = cookie(&parts.headers, session_cookie(&state.auth)) else {
        return Ok(None);
    };
    let Some(session) = state
        .store
        .session_by_token_hash(&token_hash(&token))
        .await?
    else {
        return Ok(None);
    };
    let idle =
        time::Duration::try_from(state.config.session_idle).unwrap_or(time::Duration::days(3));
    if !session.is_live(OffsetDateTime::now_utc(), idle) {
        return Ok(None);
    }
    let user = state.store.user(session.user_id).await?;
    if user.disabled_at.is_some() {
        return Ok(None);
    }
    // Touch at most once a minute: pages should not write on every view.
    if OffsetDateTime::now_utc() - session.last_seen_at > time::Duration::minutes(1) {
        state
            .store
            .touch_session(session.user_id, session.id)
            .await?;
    }
    let aal = Aal::from_u8(session.aal).unwrap_or(Aal::Aal1);
    let (principal, _) = user_principal(state, user.id, aal).await?;
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
    Ok(Some(PageUser {
        caller,
        locale: user.locale,
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
    let t = texts(locale_of(headers, None));
    let mut p = AuthPage::new(t, t.login, String::new());
    p.error = Some(t.forbidden.into());
    p.links = vec![("/app/login".into(), t.login)];
    render(p, StatusCode::FORBIDDEN)
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

/// `?next=` and `?lang=` of the sign-in pages.
#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    next: Option<String>,
    lang: Option<String>,
    token: Option<String>,
}

fn client_of(parts_headers: &HeaderMap, ip: Option<String>) -> ClientInfo {
    ClientInfo {
        ip,
        user_agent: parts_headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(300).collect()),
    }
}

fn login_form(t: &'static Texts, csrf: String, next: &str, error: Option<String>) -> AuthPage {
    let mut p = AuthPage::new(t, t.login, csrf);
    p.action = Some("/app/login".into());
    p.hidden = vec![("next", next.to_string())];
    p.fields = vec![
        Field {
            label: t.email,
            name: "email",
            kind: "email",
            autocomplete: "username",
            required: true,
        },
        Field {
            label: t.password,
            name: "password",
            kind: "password",
            autocomplete: "current-password",
            required: true,
        },
    ];
    p.submit = t.sign_in;
    p.error = error;
    p.links = vec![("/app/reset".into(), t.forgot)];
    p
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let locale = locale_of(&headers, q.lang.as_deref());
    let t = texts(locale);
    let (csrf, set) = login_csrf(&state, &headers);
    let next = safe_next(q.next.as_deref());
    let mut cookies: Vec<HeaderValue> = set.into_iter().collect();
    if q.lang.is_some() {
        cookies.push(set_cookie(
            &state.auth,
            "jarvis_lang",
            locale.as_str(),
            Some(31_536_000),
        ));
    }
    let mut p = login_form(t, csrf, &next, None);
    p.demo_mode = state.demo_mode;
    with_cookies(render(p, StatusCode::OK), cookies)
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Creates a fresh web session and its cookie (a new token every time: no fixation).
async fn new_web_session(
    state: &AppState,
    client: &ClientInfo,
    user: jarvis_core::UserId,
) -> Result<HeaderValue, ApiError> {
    let token = new_token();
    state
        .store
        .create_session(NewSession {
            user_id: user,
            kind: SessionKind::Web,
            aal: 1,
            expires_at: OffsetDateTime::now_utc()
                + time::Duration::try_from(state.config.session_absolute)
                    .unwrap_or(time::Duration::days(7)),
            token_hash: Some(token_hash(&token)),
            refresh_hash: None,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
        })
        .await?;
    let age = i64::try_from(state.config.session_absolute.as_secs()).unwrap_or(604_800);
    Ok(set_cookie(
        &state.auth,
        session_cookie(&state.auth),
        &token,
        Some(age),
    ))
}

async fn login_submit(
    State(state): State<AppState>,
    parts_ip: ClientIp,
    headers: HeaderMap,
    SignInForm(f): SignInForm<LoginForm>,
) -> Response {
    let t = texts(locale_of(&headers, None));
    let client = client_of(&headers, parts_ip.0);
    let next = safe_next(f.next.as_deref());
    let (csrf, _) = login_csrf(&state, &headers);
    if let Err(e) = client.limit_auth(&state, "login") {
        return render(login_form(t, csrf, &next, Some(t.locked.into())), e.status);
    }
    let signed = match api::check_password(&state, &client, &f.email, &f.password).await {
        Ok(s) => s,
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => {
            return render(
                login_form(t, csrf, &next, Some(t.locked.into())),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            return render(
                login_form(t, csrf, &next, Some(t.bad_credentials.into())),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(e) => return e.into_response(),
    };
    // Whatever session the browser presented is ended: sign-in always starts a new one.
    if let Some(old) = cookie(&headers, session_cookie(&state.auth))
        && let Ok(Some(s)) = state.store.session_by_token_hash(&token_hash(&old)).await
    {
        let _ = state
            .store
            .revoke_session(s.user_id, s.id, "replaced")
            .await;
    }
    let c = match new_web_session(&state, &client, signed.user.id).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    api::record(&state, {
        let mut ev = jarvis_store::NewAuthEvent {
            event: "login.success".into(),
            user_id: Some(signed.user.id),
            email: Some(signed.user.email.clone()),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            ..Default::default()
        };
        ev.details = serde_json::json!({ "kind": "web" });
        ev
    })
    .await;
    let to = if signed.mfa_enrolled {
        format!("/app/mfa?next={}", encode(&next))
    } else if signed.mfa_required_by_role {
        format!("/app/mfa/enroll?next={}", encode(&next))
    } else {
        next
    };
    with_cookies(redirect(&to), [c])
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

fn mfa_form(t: &'static Texts, csrf: String, next: &str, error: Option<String>) -> AuthPage {
    let mut p = AuthPage::new(t, t.mfa, csrf);
    p.intro = Some(t.mfa_intro.into());
    p.action = Some("/app/mfa".into());
    p.hidden = vec![("next", next.to_string())];
    p.fields = vec![
        Field {
            label: t.code,
            name: "code",
            kind: "text",
            autocomplete: "one-time-code",
            required: false,
        },
        Field {
            label: t.recovery_code,
            name: "recovery_code",
            kind: "text",
            autocomplete: "off",
            required: false,
        },
    ];
    p.submit = t.verify;
    p.error = error;
    p
}

async fn mfa_page(PendingPageUser(u): PendingPageUser, Query(q): Query<PageQuery>) -> Response {
    let t = texts(u.locale);
    render(
        mfa_form(t, u.csrf, &safe_next(q.next.as_deref()), None),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct MfaForm {
    code: Option<String>,
    recovery_code: Option<String>,
    next: Option<String>,
}

/// Raises the web session to AAL2 with a new cookie token (privilege change = new id).
async fn elevate(state: &AppState, session: &AuthSession) -> Result<HeaderValue, ApiError> {
    let token = new_token();
    state
        .store
        .elevate_session(session.user_id, session.id, Some(token_hash(&token)))
        .await?;
    let left = (session.expires_at - OffsetDateTime::now_utc())
        .whole_seconds()
        .max(60);
    Ok(set_cookie(
        &state.auth,
        session_cookie(&state.auth),
        &token,
        Some(left),
    ))
}

async fn mfa_submit(
    State(state): State<AppState>,
    PendingPageUser(u): PendingPageUser,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<MfaForm>,
) -> Response {
    let t = texts(u.locale);
    let client = client_of(&headers, ip.0);
    let next = safe_next(f.next.as_deref());
    if let Err(e) = client.limit_auth(&state, "mfa") {
        return render(mfa_form(t, u.csrf, &next, Some(t.locked.into())), e.status);
    }
    let code = f.code.as_deref().filter(|c| !c.trim().is_empty());
    let rc = f.recovery_code.as_deref().filter(|c| !c.trim().is_empty());
    match api::verify_second_factor(&state, &client, u.user.id, code, rc).await {
        Ok(()) => match elevate(&state, &u.session).await {
            Ok(c) => with_cookies(redirect(&next), [c]),
            Err(e) => e.into_response(),
        },
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => {
            render(mfa_form(t, u.csrf, &next, Some(t.locked.into())), e.status)
        }
        Err(e) if e.status == StatusCode::CONFLICT => {
            redirect(&format!("/app/mfa/enroll?next={}", encode(&next)))
        }
        Err(_) => render(
            mfa_form(t, u.csrf, &next, Some(t.bad_code.into())),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

async fn enroll_page(
    State(state): State<AppState>,
    PendingPageUser(u): PendingPageUser,
    Query(q): Query<PageQuery>,
) -> Response {
    let t = texts(u.locale);
    let next = safe_next(q.next.as_deref());
    match state.store.totp_factor(u.user.id).await {
        // Already enrolled: the MFA page is the way forward.
        Ok(Some(f)) if f.confirmed_at.is_some() => {
            return redirect(&format!("/app/mfa?next={}", encode(&next)));
        }
        Ok(_) => {}
        Err(e) => return ApiError::from(e).into_response(),
    }
    // Nothing is written here: the secret is derived, the same on every reload.
    let secret = enrolment_secret(&state, &u);
    let (url, b32) = match totp::provisioning(&secret, &u.user.email) {
        Ok(x) => x,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let qr = match totp::qr_data_uri(&url) {
        Ok(q) => q,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let mut p = AuthPage::new(t, t.enroll, u.csrf);
    p.intro = Some(t.enroll_intro.into());
    p.qr = Some(qr);
    p.secret = Some(b32);
    p.action = Some("/app/mfa/enroll".into());
    p.hidden = vec![("next", next)];
    p.fields = vec![Field {
        label: t.code,
        name: "code",
        kind: "text",
        autocomplete: "one-time-code",
        required: true,
    }];
    p.submit = t.confirm;
    render(p, StatusCode::OK)
}

/// The TOTP secret the enrolment page offers: derived from the master key, the user and the web
/// session, so a reload shows the same secret without storing anything (a GET changes nothing,
/// and a page reloaded, or opened by another site, cannot replace the secret being scanned).
/// It is stored, sealed, only when a code confirms it.
fn enrolment_secret(state: &AppState, u: &PageUser) -> Vec<u8> {
    let input = format!("{}:{}", u.user.id, u.session.id);
    state.auth.master.derive("totp enrolment", input.as_bytes())[..20].to_vec()
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
    next: Option<String>,
}

async fn enroll_submit(
    State(state): State<AppState>,
    PendingPageUser(u): PendingPageUser,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<CodeForm>,
) -> Response {
    let t = texts(u.locale);
    let client = client_of(&headers, ip.0);
    let next = safe_next(f.next.as_deref());
    if let Err(e) = client.limit_auth(&state, "mfa") {
        return e.into_response();
    }
    let secret = enrolment_secret(&state, &u);
    let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    let confirmed = if totp::matching_step(&secret, &f.code, now).is_some() {
        // The code proves the device holds the page's secret: only now is it stored (sealed),
        // then confirmed like an API enrolment (replay guard, recovery codes, audit).
        let sealed = state
            .auth
            .master
            .seal(&format!("totp:{}", u.user.id), &secret)
            .map_err(ApiError::internal);
        match sealed {
            Ok(sealed) => match state.store.begin_totp(u.user.id, sealed).await {
                Ok(()) => api::confirm_enrollment(&state, &client, u.user.id, &f.code).await,
                // Enrolled meanwhile (another tab): the MFA page is the way forward.
                Err(jarvis_store::StoreError::Conflict { .. }) => {
                    return redirect(&format!("/app/mfa?next={}", encode(&next)));
                }
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e),
        }
    } else {
        api::record(&state, client.event("mfa.failure", Some(u.user.id), None)).await;
        Err(ApiError::unauthorized("wrong code"))
    };
    match confirmed {
        Ok(codes) => {
            let c = match elevate(&state, &u.session).await {
                Ok(c) => c,
                Err(e) => return e.into_response(),
            };
            let mut p = AuthPage::new(t, t.codes_title, String::new());
            p.intro = Some(t.codes_intro.into());
            p.items = codes;
            p.links = vec![(next, t.continue_)];
            with_cookies(render(p, StatusCode::OK), [c])
        }
        Err(_) => {
            let mut p = AuthPage::new(t, t.enroll, u.csrf);
            p.error = Some(t.bad_code.into());
            p.links = vec![(format!("/app/mfa/enroll?next={}", encode(&next)), t.enroll)];
            render(p, StatusCode::UNAUTHORIZED)
        }
    }
}

#[derive(Deserialize)]
struct Empty {}

fn cleared(state: &AppState) -> HeaderValue {
    set_cookie(&state.auth, session_cookie(&state.auth), "", Some(0))
}

async fn logout_submit(
    State(state): State<AppState>,
    PendingPageUser(u): PendingPageUser,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let _ = state
        .store
        .revoke_session(u.user.id, u.session.id, "logout")
        .await;
    with_cookies(redirect("/app/login"), [cleared(&state)])
}

async fn logout_all_submit(
    State(state): State<AppState>,
    PendingPageUser(u): PendingPageUser,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let _ = state
        .store
        .revoke_user_sessions(u.user.id, None, "logout_all")
        .await;
    with_cookies(redirect("/app/login"), [cleared(&state)])
}

fn reset_request_form(t: &'static Texts, csrf: String) -> AuthPage {
    let mut p = AuthPage::new(t, t.reset, csrf);
    p.intro = Some(t.reset_intro.into());
    p.action = Some("/app/reset".into());
    p.fields = vec![Field {
        label: t.email,
        name: "email",
        kind: "email",
        autocomplete: "username",
        required: true,
    }];
    p.submit = t.send_link;
    p
}

fn new_password_form(
    t: &'static Texts,
    title: &'static str,
    action: &str,
    csrf: String,
    token: &str,
    error: Option<String>,
) -> AuthPage {
    let mut p = AuthPage::new(t, title, csrf);
    p.action = Some(action.into());
    p.hidden = vec![("token", token.to_string())];
    p.fields = vec![Field {
        label: t.new_password,
        name: "password",
        kind: "password",
        autocomplete: "new-password",
        required: true,
    }];
    p.submit = t.set_password;
    p.error = error;
    p
}

async fn reset_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let t = texts(locale_of(&headers, q.lang.as_deref()));
    let (csrf, set) = login_csrf(&state, &headers);
    let p = match q.token.as_deref() {
        Some(tok) => new_password_form(t, t.reset, "/app/reset", csrf, tok, None),
        None => reset_request_form(t, csrf),
    };
    with_cookies(render(p, StatusCode::OK), set)
}

#[derive(Deserialize)]
struct ResetForm {
    email: Option<String>,
    token: Option<String>,
    password: Option<String>,
}

async fn reset_submit(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    SignInForm(f): SignInForm<ResetForm>,
) -> Response {
    let t = texts(locale_of(&headers, None));
    let client = client_of(&headers, ip.0);
    let (csrf, _) = login_csrf(&state, &headers);
    if let Err(e) = client.limit_auth(&state, "reset") {
        return e.into_response();
    }
    match (f.email, f.token, f.password) {
        (Some(email), None, None) => {
            api::request_reset(&state, &client, &email);
            let mut p = AuthPage::new(t, t.reset, String::new());
            p.intro = Some(t.reset_sent.into());
            p.links = vec![("/app/login".into(), t.login)];
            render(p, StatusCode::OK)
        }
        (None, Some(token), Some(pw)) => {
            match api::confirm_reset(&state, &client, &token, &pw).await {
                Ok(()) => {
                    let mut p = AuthPage::new(t, t.reset, String::new());
                    p.intro = Some(t.reset_done.into());
                    p.links = vec![("/app/login".into(), t.login)];
                    with_cookies(render(p, StatusCode::OK), [cleared(&state)])
                }
                Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => render(
                    new_password_form(
                        t,
                        t.reset,
                        "/app/reset",
                        csrf,
                        &token,
                        Some(format!("{}{}", t.weak, e.message)),
                    ),
                    e.status,
                ),
                Err(e) => {
                    let mut p = AuthPage::new(t, t.reset, String::new());
                    p.error = Some(t.bad_link.into());
                    render(p, e.status)
                }
            }
        }
        _ => ApiError::bad_request("bad_form", "send `email`, or `token` and `password`")
            .into_response(),
    }
}

async fn accept_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let t = texts(locale_of(&headers, q.lang.as_deref()));
    let (csrf, set) = login_csrf(&state, &headers);
    let token = q.token.unwrap_or_default();
    let valid = state
        .store
        .invitation_by_token_hash(&token_hash(token.trim()))
        .await
        .ok()
        .flatten();
    let p = match valid {
        Some(inv) => {
            let mut p =
                new_password_form(t, t.accept, "/app/invitations/accept", csrf, &token, None);
            p.intro = Some(format!("{} ({})", t.accept_intro, inv.email));
            p
        }
        None => {
            let mut p = AuthPage::new(t, t.accept, String::new());
            p.error = Some(t.bad_link.into());
            p
        }
    };
    with_cookies(render(p, StatusCode::OK), set)
}

#[derive(Deserialize)]
struct AcceptForm {
    token: String,
    password: String,
}

async fn accept_submit(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    SignInForm(f): SignInForm<AcceptForm>,
) -> Response {
    let locale = locale_of(&headers, None);
    let t = texts(locale);
    let client = client_of(&headers, ip.0);
    let (csrf, _) = login_csrf(&state, &headers);
    if let Err(e) = client.limit_auth(&state, "invite") {
        return e.into_response();
    }
    match api::accept(&state, &client, &f.token, &f.password, locale).await {
        Ok(_) => {
            let mut p = AuthPage::new(t, t.accept, String::new());
            p.intro = Some(t.accepted.into());
            p.links = vec![("/app/login".into(), t.login)];
            render(p, StatusCode::OK)
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => render(
            new_password_form(
                t,
                t.accept,
                "/app/invitations/accept",
                csrf,
                &f.token,
                Some(format!("{}{}", t.weak, e.message)),
            ),
            e.status,
        ),
        Err(e) => {
            let mut p = AuthPage::new(t, t.accept, String::new());
            p.error = Some(t.bad_link.into());
            render(p, e.status)
        }
    }
}

/// One auth event as shown: when, event, e-mail, IP, user agent.
type EventRow = (String, String, String, String, String);

struct SessionRow {
    id: String,
    kind: &'static str,
    current: bool,
    created: String,
    seen: String,
    ip: String,
    agent: String,
}

#[derive(Template)]
#[template(path = "auth/security.html")]
struct SecurityPage {
    lang: &'static str,
    title: &'static str,
    mfa_line: &'static str,
    mfa_enrolled: bool,
    enroll_label: &'static str,
    sessions_title: &'static str,
    h_kind: &'static str,
    h_started: &'static str,
    h_seen: &'static str,
    h_agent: &'static str,
    h_when: &'static str,
    h_event: &'static str,
    current_label: &'static str,
    revoke_label: &'static str,
    events_title: &'static str,
    filter_label: &'static str,
    total_label: &'static str,
    csrf: String,
    sessions: Vec<SessionRow>,
    events: Option<Vec<EventRow>>,
    audit: Option<Vec<EventRow>>,
    action_filter: String,
    audit_title: &'static str,
    h_target: &'static str,
    h_actor: &'static str,
    filter: String,
    total: u64,
    more: Option<String>,
}

fn short_time(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&f).unwrap_or_default()
}

/// Filters of the security page.
#[derive(Debug, Deserialize, Default)]
pub struct SecurityQuery {
    event: Option<String>,
    offset: Option<u64>,
    action: Option<String>,
}

/// The signed-in user's sessions (revocable) and, for those allowed to read the audit, the
/// sign-in and security events, filterable by event name.
async fn security_page(
    State(state): State<AppState>,
    me: PageUser,
    Query(q): Query<SecurityQuery>,
) -> Response {
    let fr = me.locale == Locale::Fr;
    let pick = |a: &'static str, b: &'static str| if fr { a } else { b };
    let sessions = match state.store.list_sessions(me.user.id).await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let enrolled = matches!(
        me.caller.principal,
        jarvis_core::authz::Principal::User {
            mfa_enrolled: true,
            ..
        }
    );
    let filter = q
        .event
        .clone()
        .filter(|e| !e.trim().is_empty() && e.len() <= 64);
    let offset = q.offset.unwrap_or(0);
    let (events, total, more) = match me.caller.list(jarvis_core::authz::Action::AuditRead) {
        Ok(scope) => {
            // A page past the end is empty, not an error, however far the link points.
            let page = match jarvis_core::PageRequest::new(
                Some(50),
                Some(offset.min(jarvis_core::page::MAX_OFFSET)),
            ) {
                Ok(p) => p,
                Err(e) => {
                    return ApiError::bad_request("invalid_query", e.to_string()).into_response();
                }
            };
            let f = jarvis_store::AuthEventFilter {
                event: filter.clone(),
                user_id: None,
            };
            match state.store.list_auth_events(&scope, &f, page).await {
                Ok(p) => {
                    // `offset` is user input: saturate rather than overflow.
                    let next = offset.saturating_add(50);
                    let more = (next < p.total).then(|| {
                        format!(
                            "/app/security?event={}&offset={next}",
                            encode(filter.as_deref().unwrap_or("")),
                        )
                    });
                    let rows = p
                        .items
                        .into_iter()
                        .map(|e| {
                            (
                                short_time(e.at),
                                e.event,
                                e.email.unwrap_or_default(),
                                e.ip.unwrap_or_default(),
                                e.user_agent.unwrap_or_default().chars().take(60).collect(),
                            )
                        })
                        .collect();
                    (Some(rows), p.total, more)
                }
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
        Err(_) => (None, 0, None),
    };
    // The business audit log (who changed what), newest 50, filterable by action.
    let action = q
        .action
        .clone()
        .filter(|a| !a.trim().is_empty() && a.len() <= 64);
    let audit = match me.caller.list(jarvis_core::authz::Action::AuditRead) {
        Ok(scope) => {
            let f = jarvis_store::AuditFilter {
                action: action.clone(),
                ..Default::default()
            };
            match state
                .store
                .list_audit(&scope, &f, jarvis_core::PageRequest::default())
                .await
            {
                Ok(p) => Some(
                    p.items
                        .into_iter()
                        .map(|e| {
                            (
                                short_time(e.at),
                                e.action,
                                format!("{} {}", e.target_type, e.target_id.unwrap_or_default()),
                                e.actor_user_id
                                    .map(|u| u.to_string())
                                    .unwrap_or(e.actor_kind),
                                e.ip.unwrap_or_default(),
                            )
                        })
                        .collect(),
                ),
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
        Err(_) => None,
    };
    let page = SecurityPage {
        audit,
        action_filter: action.unwrap_or_default(),
        audit_title: pick("Journal d'audit", "Audit log"),
        h_target: pick("Cible", "Target"),
        h_actor: pick("Auteur", "Actor"),
        lang: if fr { "fr" } else { "en" },
        title: pick("Sécurité du compte", "Account security"),
        mfa_line: if enrolled {
            pick(
                "Vérification en deux étapes : activée.",
                "Two-step verification: on.",
            )
        } else {
            pick(
                "Vérification en deux étapes : désactivée.",
                "Two-step verification: off.",
            )
        },
        mfa_enrolled: enrolled,
        enroll_label: pick("Activer", "Turn on"),
        sessions_title: pick("Sessions ouvertes", "Open sessions"),
        h_kind: pick("Type", "Kind"),
        h_started: pick("Ouverte", "Started"),
        h_seen: pick("Dernière activité", "Last seen"),
        h_agent: pick("Navigateur", "Browser"),
        h_when: pick("Quand", "When"),
        h_event: pick("Événement", "Event"),
        current_label: pick("celle-ci", "this one"),
        revoke_label: pick("Fermer", "End"),
        events_title: pick(
            "Journal de connexion et de sécurité",
            "Sign-in and security log",
        ),
        filter_label: pick("Événement", "Event"),
        total_label: pick("Total :", "Total:"),
        csrf: me.csrf.clone(),
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                id: s.id.to_string(),
                kind: s.kind.as_str(),
                current: s.id == me.session.id,
                created: short_time(s.created_at),
                seen: short_time(s.last_seen_at),
                ip: s.ip.unwrap_or_default(),
                agent: s.user_agent.unwrap_or_default().chars().take(60).collect(),
            })
            .collect(),
        events,
        filter: filter.unwrap_or_default(),
        total,
        more,
    };
    crate::web::page(page, StatusCode::OK)
}

async fn revoke_session_submit(
    State(state): State<AppState>,
    me: PageUser,
    axum::extract::Path(id): axum::extract::Path<uuid::Uuid>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    match state.store.revoke_session(me.user.id, id, "user").await {
        Ok(true) => redirect("/app/security"),
        Ok(false) => ApiError::not_found("session").into_response(),
        Err(e) => ApiError::from(e).into_response(),
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
