//! Dashboard sign-in pages (French and English): login, MFA, TOTP enrolment, logout (here and
//! everywhere), password reset, invitation acceptance, and the account security page. Every
//! rule is in `jarvis_app::accounts`; the session and CSRF plumbing in `crate::auth::web`.

use crate::auth::limit_auth;
use crate::auth::web::{
    ClientIp, CsrfForm, PageUser, PendingPageUser, SignInForm, client_of, cookie, encode,
    locale_of, login_csrf, redirect, safe_next, session_cookie, set_cookie, with_cookies,
};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::i18n::{Msg, Tr};
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jarvis_app::accounts::{AccountsError, Client};
use jarvis_core::model::Locale;
use serde::Deserialize;
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
    t: Tr,
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
    fn new(t: Tr, title: &'static str, csrf: String) -> Self {
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
            submit: t.get(Msg::Continue),
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

/// `?next=` and `?lang=` of the sign-in pages.
#[derive(Debug, Deserialize, Default)]
pub struct PageQuery {
    next: Option<String>,
    lang: Option<String>,
    token: Option<String>,
}

fn login_form(t: Tr, csrf: String, next: &str, error: Option<String>) -> AuthPage {
    let mut p = AuthPage::new(t, t.get(Msg::SignInTitle), csrf);
    p.action = Some("/app/login".into());
    p.hidden = vec![("next", next.to_string())];
    p.fields = vec![
        Field {
            label: t.get(Msg::EmailAddress),
            name: "email",
            kind: "email",
            autocomplete: "username",
            required: true,
        },
        Field {
            label: t.get(Msg::Password),
            name: "password",
            kind: "password",
            autocomplete: "current-password",
            required: true,
        },
    ];
    p.submit = t.get(Msg::SignIn);
    p.error = error;
    p.links = vec![("/app/reset".into(), t.get(Msg::ForgotPassword))];
    p
}

async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let locale = locale_of(&headers, q.lang.as_deref());
    let t = Tr(locale);
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

/// The session cookie of a new (or elevated) session token.
fn session_set_cookie(state: &AppState, token: &str, max_age: i64) -> HeaderValue {
    set_cookie(
        &state.auth,
        session_cookie(&state.auth),
        token,
        Some(max_age),
    )
}

async fn login_submit(
    State(state): State<AppState>,
    parts_ip: ClientIp,
    headers: HeaderMap,
    SignInForm(f): SignInForm<LoginForm>,
) -> Response {
    let t = Tr(locale_of(&headers, None));
    let client = client_of(&headers, parts_ip.0);
    let next = safe_next(f.next.as_deref());
    let (csrf, _) = login_csrf(&state, &headers);
    if let Err(e) = limit_auth(&state, &client, "login") {
        return render(
            login_form(t, csrf, &next, Some(t.get(Msg::TooManyAttempts).into())),
            e.status,
        );
    }
    let old = cookie(&headers, session_cookie(&state.auth));
    let web = match state
        .auth
        .accounts
        .sign_in_web(&client, &f.email, &f.password, old.as_deref())
        .await
    {
        Ok(w) => w,
        Err(AccountsError::Locked(_)) => {
            return render(
                login_form(t, csrf, &next, Some(t.get(Msg::TooManyAttempts).into())),
                StatusCode::TOO_MANY_REQUESTS,
            );
        }
        Err(AccountsError::InvalidCredentials) => {
            return render(
                login_form(t, csrf, &next, Some(t.get(Msg::BadCredentials).into())),
                StatusCode::UNAUTHORIZED,
            );
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let age = i64::try_from(state.config.session_absolute.as_secs()).unwrap_or(604_800);
    let c = session_set_cookie(&state, &web.token, age);
    let signed = web.signed;
    let to = if signed.mfa_enrolled {
        format!("/app/mfa?next={}", encode(&next))
    } else if signed.mfa_required_by_role {
        format!("/app/mfa/enroll?next={}", encode(&next))
    } else {
        next
    };
    with_cookies(redirect(&to), [c])
}

fn mfa_form(t: Tr, csrf: String, next: &str, error: Option<String>) -> AuthPage {
    let mut p = AuthPage::new(t, t.get(Msg::TwoStep), csrf);
    p.intro = Some(t.get(Msg::MfaIntro).into());
    p.action = Some("/app/mfa".into());
    p.hidden = vec![("next", next.to_string())];
    p.fields = vec![
        Field {
            label: t.get(Msg::SixDigitCode),
            name: "code",
            kind: "text",
            autocomplete: "one-time-code",
            required: false,
        },
        Field {
            label: t.get(Msg::RecoveryCodeOptional),
            name: "recovery_code",
            kind: "text",
            autocomplete: "off",
            required: false,
        },
    ];
    p.submit = t.get(Msg::Verify);
    p.error = error;
    p
}

async fn mfa_page(PendingPageUser(u): PendingPageUser, Query(q): Query<PageQuery>) -> Response {
    let t = Tr(u.locale);
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
async fn elevate(
    state: &AppState,
    session: &jarvis_core::model::AuthSession,
) -> Result<HeaderValue, ApiError> {
    let (token, left) = state.auth.accounts.elevate_web(session).await?;
    Ok(session_set_cookie(state, &token, left))
}

async fn mfa_submit(
    State(state): State<AppState>,
    PendingPageUser(u): PendingPageUser,
    ip: ClientIp,
    headers: HeaderMap,
    CsrfForm(f): CsrfForm<MfaForm>,
) -> Response {
    let t = Tr(u.locale);
    let client = client_of(&headers, ip.0);
    let next = safe_next(f.next.as_deref());
    if let Err(e) = limit_auth(&state, &client, "mfa") {
        return render(
            mfa_form(t, u.csrf, &next, Some(t.get(Msg::TooManyAttempts).into())),
            e.status,
        );
    }
    let code = f.code.as_deref().filter(|c| !c.trim().is_empty());
    let rc = f.recovery_code.as_deref().filter(|c| !c.trim().is_empty());
    let verified = state
        .auth
        .accounts
        .verify_second_factor(&client, u.user.id, code, rc)
        .await;
    match verified {
        Ok(()) => match elevate(&state, &u.session).await {
            Ok(c) => with_cookies(redirect(&next), [c]),
            Err(e) => e.into_response(),
        },
        Err(AccountsError::Locked(_)) => render(
            mfa_form(t, u.csrf, &next, Some(t.get(Msg::TooManyAttempts).into())),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(AccountsError::MfaNotEnrolled) => {
            redirect(&format!("/app/mfa/enroll?next={}", encode(&next)))
        }
        Err(_) => render(
            mfa_form(t, u.csrf, &next, Some(t.get(Msg::BadCode).into())),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

async fn enroll_page(
    State(state): State<AppState>,
    PendingPageUser(u): PendingPageUser,
    Query(q): Query<PageQuery>,
) -> Response {
    let t = Tr(u.locale);
    let next = safe_next(q.next.as_deref());
    match state.auth.accounts.is_enrolled(u.user.id).await {
        // Already enrolled: the MFA page is the way forward.
        Ok(true) => return redirect(&format!("/app/mfa?next={}", encode(&next))),
        Ok(false) => {}
        Err(e) => return ApiError::from(e).into_response(),
    }
    // Nothing is written here: the secret is derived, the same on every reload.
    let enrolment = match state.auth.accounts.web_enrollment(&u.user, u.session.id) {
        Ok(e) => e,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (qr, b32) = (enrolment.qr_svg, enrolment.secret);
    let mut p = AuthPage::new(t, t.get(Msg::EnrollMfa), u.csrf);
    p.intro = Some(t.get(Msg::EnrollIntro).into());
    p.qr = Some(qr);
    p.secret = Some(b32);
    p.action = Some("/app/mfa/enroll".into());
    p.hidden = vec![("next", next)];
    p.fields = vec![Field {
        label: t.get(Msg::SixDigitCode),
        name: "code",
        kind: "text",
        autocomplete: "one-time-code",
        required: true,
    }];
    p.submit = t.get(Msg::Confirm);
    render(p, StatusCode::OK)
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
    let t = Tr(u.locale);
    let client = client_of(&headers, ip.0);
    let next = safe_next(f.next.as_deref());
    if let Err(e) = limit_auth(&state, &client, "mfa") {
        return e.into_response();
    }
    let confirmed = state
        .auth
        .accounts
        .confirm_web_enrollment(&client, u.user.id, u.session.id, &f.code)
        .await;
    if let Err(AccountsError::AlreadyEnrolled) = confirmed {
        // Enrolled meanwhile (another tab): the MFA page is the way forward.
        return redirect(&format!("/app/mfa?next={}", encode(&next)));
    }
    match confirmed {
        Ok(codes) => {
            let c = match elevate(&state, &u.session).await {
                Ok(c) => c,
                Err(e) => return e.into_response(),
            };
            let mut p = AuthPage::new(t, t.get(Msg::RecoveryCodes), String::new());
            p.intro = Some(t.get(Msg::RecoveryCodesIntro).into());
            p.items = codes;
            p.links = vec![(next, t.get(Msg::Continue))];
            with_cookies(render(p, StatusCode::OK), [c])
        }
        Err(_) => {
            let mut p = AuthPage::new(t, t.get(Msg::EnrollMfa), u.csrf);
            p.error = Some(t.get(Msg::BadCode).into());
            p.links = vec![(
                format!("/app/mfa/enroll?next={}", encode(&next)),
                t.get(Msg::EnrollMfa),
            )];
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
    client: Client,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let accounts = &state.auth.accounts;
    let _ = accounts
        .logout(&client, u.user.id, u.session.id, false)
        .await;
    with_cookies(redirect("/app/login"), [cleared(&state)])
}

async fn logout_all_submit(
    State(state): State<AppState>,
    PendingPageUser(u): PendingPageUser,
    client: Client,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let accounts = &state.auth.accounts;
    let _ = accounts
        .logout(&client, u.user.id, u.session.id, true)
        .await;
    with_cookies(redirect("/app/login"), [cleared(&state)])
}

fn reset_request_form(t: Tr, csrf: String) -> AuthPage {
    let mut p = AuthPage::new(t, t.get(Msg::ResetPassword), csrf);
    p.intro = Some(t.get(Msg::ResetIntro).into());
    p.action = Some("/app/reset".into());
    p.fields = vec![Field {
        label: t.get(Msg::EmailAddress),
        name: "email",
        kind: "email",
        autocomplete: "username",
        required: true,
    }];
    p.submit = t.get(Msg::SendLink);
    p
}

fn new_password_form(
    t: Tr,
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
        label: t.get(Msg::NewPassword),
        name: "password",
        kind: "password",
        autocomplete: "new-password",
        required: true,
    }];
    p.submit = t.get(Msg::Save);
    p.error = error;
    p
}

async fn reset_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let t = Tr(locale_of(&headers, q.lang.as_deref()));
    let (csrf, set) = login_csrf(&state, &headers);
    let p = match q.token.as_deref() {
        Some(tok) => new_password_form(t, t.get(Msg::ResetPassword), "/app/reset", csrf, tok, None),
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
    let t = Tr(locale_of(&headers, None));
    let client = client_of(&headers, ip.0);
    let (csrf, _) = login_csrf(&state, &headers);
    if let Err(e) = limit_auth(&state, &client, "reset") {
        return e.into_response();
    }
    match (f.email, f.token, f.password) {
        (Some(email), None, None) => {
            state.auth.accounts.request_reset(&client, &email);
            let mut p = AuthPage::new(t, t.get(Msg::ResetPassword), String::new());
            p.intro = Some(t.get(Msg::ResetSent).into());
            p.links = vec![("/app/login".into(), t.get(Msg::SignInTitle))];
            render(p, StatusCode::OK)
        }
        (None, Some(token), Some(pw)) => {
            let done = state
                .auth
                .accounts
                .confirm_reset(&client, &token, &pw)
                .await;
            match done.map_err(ApiError::from) {
                Ok(()) => {
                    let mut p = AuthPage::new(t, t.get(Msg::ResetPassword), String::new());
                    p.intro = Some(t.get(Msg::ResetDone).into());
                    p.links = vec![("/app/login".into(), t.get(Msg::SignInTitle))];
                    with_cookies(render(p, StatusCode::OK), [cleared(&state)])
                }
                Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => render(
                    new_password_form(
                        t,
                        t.get(Msg::ResetPassword),
                        "/app/reset",
                        csrf,
                        &token,
                        Some(format!("{}{}", t.get(Msg::WeakPassword), e.message)),
                    ),
                    e.status,
                ),
                Err(e) => {
                    let mut p = AuthPage::new(t, t.get(Msg::ResetPassword), String::new());
                    p.error = Some(t.get(Msg::BadLink).into());
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
    let t = Tr(locale_of(&headers, q.lang.as_deref()));
    let (csrf, set) = login_csrf(&state, &headers);
    let token = q.token.unwrap_or_default();
    let valid = state
        .auth
        .accounts
        .invitation_by_token(&token)
        .await
        .ok()
        .flatten();
    let p = match valid {
        Some(inv) => {
            let mut p = new_password_form(
                t,
                t.get(Msg::AcceptInvitation),
                "/app/invitations/accept",
                csrf,
                &token,
                None,
            );
            p.intro = Some(format!("{} ({})", t.get(Msg::AcceptIntro), inv.email));
            p
        }
        None => {
            let mut p = AuthPage::new(t, t.get(Msg::AcceptInvitation), String::new());
            p.error = Some(t.get(Msg::BadLink).into());
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
    let t = Tr(locale);
    let client = client_of(&headers, ip.0);
    let (csrf, _) = login_csrf(&state, &headers);
    if let Err(e) = limit_auth(&state, &client, "invite") {
        return e.into_response();
    }
    let accepted = state
        .auth
        .accounts
        .accept_invitation(&client, &f.token, &f.password, locale)
        .await;
    match accepted.map_err(ApiError::from) {
        Ok(_) => {
            let mut p = AuthPage::new(t, t.get(Msg::AcceptInvitation), String::new());
            p.intro = Some(t.get(Msg::InvitationAccepted).into());
            p.links = vec![("/app/login".into(), t.get(Msg::SignInTitle))];
            render(p, StatusCode::OK)
        }
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => render(
            new_password_form(
                t,
                t.get(Msg::AcceptInvitation),
                "/app/invitations/accept",
                csrf,
                &f.token,
                Some(format!("{}{}", t.get(Msg::WeakPassword), e.message)),
            ),
            e.status,
        ),
        Err(e) => {
            let mut p = AuthPage::new(t, t.get(Msg::AcceptInvitation), String::new());
            p.error = Some(t.get(Msg::BadLink).into());
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
    c: crate::web::chrome::Chrome,
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
    let sessions = match state.auth.accounts.sessions(me.user.id).await {
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
        Ok(_) => {
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
            let events = state
                .auth
                .accounts
                .auth_events(&me.caller.principal, filter.clone(), None, page)
                .await;
            match events {
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
        c: crate::web::chrome::Chrome::plain(&me),
        audit,
        action_filter: action.unwrap_or_default(),
        audit_title: pick("Journal d'audit", "Audit log"),
        h_target: pick("Cible", "Target"),
        h_actor: pick("Auteur", "Actor"),
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
    client: Client,
    axum::extract::Path(id): axum::extract::Path<jarvis_core::SessionId>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    match state
        .auth
        .accounts
        .revoke_session(&client, me.user.id, id)
        .await
    {
        Ok(()) => redirect("/app/security"),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The page answered when a form fails its CSRF checks.
pub fn csrf_rejection(locale: Locale) -> Response {
    let t = Tr(locale);
    let mut p = AuthPage::new(t, t.get(Msg::SignInTitle), String::new());
    p.error = Some(t.get(Msg::CsrfRefused).into());
    p.links = vec![("/app/login".into(), t.get(Msg::SignInTitle))];
    render(p, StatusCode::FORBIDDEN)
}
