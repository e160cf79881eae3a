//! The auth API: sign-in, MFA, token refresh, sessions, password change/reset, invitations,
//! auth events and the JWKS. The sign-in logic here is shared with the dashboard pages (`web`).

use super::{Caller, SessionCaller, client_ip, too_many, user_agent};
use crate::api::PageBody;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use jarvis_app::auth::crypto::{MasterKey, new_token, token_hash};
use jarvis_app::auth::keys::RoleClaim;
use jarvis_app::auth::{password, totp};
use jarvis_app::outbox::{self, Email};
use jarvis_core::authz::{Aal, Action, Resource};
use jarvis_core::model::{Actor, Locale, MembershipTarget, User};
use jarvis_core::{FranchiseId, GymId, PageRequest, Role, Scope, UserId};
use jarvis_store::{
    AuthEvent, AuthEventFilter, AuthSession, Invitation, LockoutPolicy, NewAuthEvent,
    NewInvitation, NewSession, RefreshOutcome, SessionKind, Store,
};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(jwks))
        .routes(routes!(login))
        .routes(routes!(mfa_verify))
        .routes(routes!(mfa_enroll))
        .routes(routes!(mfa_confirm))
        .routes(routes!(mfa_disable))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_sessions, revoke_all_sessions))
        .routes(routes!(revoke_session))
        .routes(routes!(change_password))
        .routes(routes!(reset_request))
        .routes(routes!(reset_confirm))
        .routes(routes!(list_invitations, create_invitation))
        .routes(routes!(revoke_invitation))
        .routes(routes!(resend_invitation))
        .routes(routes!(accept_invitation))
        .routes(routes!(list_auth_events))
}

/// Request metadata for audit rows and throttles.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// Client IP (trusted proxies only).
    pub ip: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(ClientInfo {
            ip: client_ip(parts, state),
            user_agent: user_agent(parts),
        })
    }
}

impl ClientInfo {
    fn ip_key(&self) -> String {
        self.ip
            .as_deref()
            .and_then(|i| i.parse().ok())
            .map(jarvis_app::auth::net::rate_key)
            .unwrap_or_else(|| "unknown".into())
    }

    /// Applies the strict per-client limit of auth endpoints.
    pub fn limit_auth(&self, state: &AppState, what: &str) -> ApiResult<()> {
        state
            .auth
            .limiter
            .check(
                &format!("{what}:{}", self.ip_key()),
                state.config.rate_limit_auth_per_min,
            )
            .map_err(too_many)
    }

    pub(crate) fn event(
        &self,
        event: &str,
        user: Option<UserId>,
        email: Option<&str>,
    ) -> NewAuthEvent {
        NewAuthEvent {
            event: event.into(),
            user_id: user,
            email: email.map(str::to_string),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            ..NewAuthEvent::default()
        }
    }
}

/// Records an auth event; a failure to record is logged, never shown to the client.
pub async fn record(state: &AppState, e: NewAuthEvent) {
    record_in(state.store.as_ref(), e).await;
}

async fn record_in(store: &dyn Store, e: NewAuthEvent) {
    if let Err(err) = store.record_auth_event(e).await {
        tracing::error!(error = %err, "cannot record auth event");
    }
}

fn lockout(state: &AppState, per_ip: bool) -> LockoutPolicy {
    let n = i32::try_from(state.config.lockout_max_failures).unwrap_or(5);
    LockoutPolicy {
        // An IP may fail for a few accounts (shared office NAT) before it is locked too.
        max_failures: if per_ip { n.saturating_mul(4) } else { n },
        base_lock: time::Duration::minutes(1),
        max_lock: time::Duration::hours(1),
        window: time::Duration::hours(1),
    }
}

fn locked_error(until: OffsetDateTime) -> ApiError {
    let secs = (until - OffsetDateTime::now_utc()).whole_seconds().max(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "locked",
        format!("too many failed attempts; try again in {secs} s"),
    )
    .with_details(serde_json::json!({ "retry_after_secs": secs }))
}

/// A PHC hash of a random password, verified against when the e-mail is unknown so that
/// unknown and known accounts take the same time to fail.
async fn dummy_hash() -> ApiResult<String> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return Ok(h.clone());
    }
    // Only a real hash is cached: a failure is an error now and a retry next time.
    let h = password::hash(new_token())
        .await
        .map_err(ApiError::internal)?;
    Ok(DUMMY.get_or_init(|| h).clone())
}

/// The outcome of a successful password check.
pub struct SignedIn {
    /// The user.
    pub user: User,
    /// Whether they enrolled a second factor.
    pub mfa_enrolled: bool,
    /// Whether one of their roles requires a second factor.
    pub mfa_required_by_role: bool,
    /// Their role claims.
    pub roles: Vec<RoleClaim>,
}

/// Checks e-mail and password with lockout, equal-time failures and auth events. Shared by the
/// API and the login page.
pub async fn check_password(
    state: &AppState,
    client: &ClientInfo,
    email: &str,
    pw: &str,
) -> ApiResult<SignedIn> {
    let email = email.trim().to_lowercase();
    let acct_key = format!("login:acct:{email}");
    let ip_key = format!("login:ip:{}", client.ip_key());
    for key in [&acct_key, &ip_key] {
        if let Some(until) = state.store.throttle_locked_until(key).await? {
            record(state, client.event("login.locked", None, Some(&email))).await;
            return Err(locked_error(until));
        }
    }
    let found = state.store.user_by_email(&email).await?;
    // A disabled account fails exactly like a wrong password (same answer, same time, same
    // throttles); only the operators' event log tells them apart.
    let disabled = matches!(&found, Some((u, _)) if u.disabled_at.is_some());
    let (hash, user) = match found {
        Some((u, Some(h))) if u.disabled_at.is_none() => (h, Some(u)),
        _ => (dummy_hash().await?, None),
    };
    let ok = password::verify(pw.to_string(), hash)
        .await
        .map_err(ApiError::internal)?;
    let Some(user) = user.filter(|_| ok) else {
        let a = state
            .store
            .throttle_failure(&acct_key, &lockout(state, false))
            .await?;
        let b = state
            .store
            .throttle_failure(&ip_key, &lockout(state, true))
            .await?;
        let mut ev = client.event("login.failure", None, Some(&email));
        ev.details = serde_json::json!({ "locked": a.is_some() || b.is_some(), "account_disabled": disabled });
        record(state, ev).await;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong e-mail or password",
        ));
    };
    state.store.throttle_clear(&acct_key).await?;
    let memberships = state.store.memberships_of_user(user.id).await?;
    let roles: Vec<RoleClaim> = memberships
        .iter()
        .map(|m| RoleClaim {
            role: m.role,
            franchise_id: m.franchise_id,
            gym_id: m.gym_id,
        })
        .collect();
    let mfa_enrolled = state
        .store
        .totp_factor(user.id)
        .await?
        .is_some_and(|f| f.confirmed_at.is_some());
    Ok(SignedIn {
        mfa_required_by_role: memberships.iter().any(|m| m.role.requires_mfa()),
        user,
        mfa_enrolled,
        roles,
    })
}

fn session_end(state: &AppState) -> OffsetDateTime {
    OffsetDateTime::now_utc()
        + time::Duration::try_from(state.config.session_absolute).unwrap_or(time::Duration::days(7))
}

/// Tokens answered by sign-in, MFA and refresh.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// RS256 JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque refresh token (rotates on every use); absent when unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Assurance level of the access token.
    pub aal: u8,
    /// The user has a second factor: call `/auth/mfa/verify` before anything else.
    pub mfa_required: bool,
    /// The user's role requires a second factor that is not enrolled yet: call `/auth/mfa/enroll`.
    pub mfa_enrollment_required: bool,
}

async fn roles_of(state: &AppState, user: UserId) -> ApiResult<Vec<RoleClaim>> {
    Ok(state
        .store
        .memberships_of_user(user)
        .await?
        .iter()
        .map(|m| RoleClaim {
            role: m.role,
            franchise_id: m.franchise_id,
            gym_id: m.gym_id,
        })
        .collect())
}

async fn tokens(
    state: &AppState,
    user: UserId,
    session: Uuid,
    aal: u8,
    refresh_token: Option<String>,
    roles: Vec<RoleClaim>,
    (mfa_enrolled, mfa_by_role): (bool, bool),
) -> ApiResult<TokenResponse> {
    let (access_token, _) = state
        .auth
        .keys
        .issue(&user.to_string(), &session.to_string(), aal, roles)
        .await
        .map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer".into(),
        expires_in: state.auth.keys.ttl().as_secs(),
        refresh_token,
        aal,
        mfa_required: aal < 2 && mfa_enrolled,
        mfa_enrollment_required: aal < 2 && !mfa_enrolled && mfa_by_role,
    })
}

/// Sign-in input.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    /// E-mail.
    pub email: String,
    /// Password.
    pub password: String,
}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", description = "Public keys verifying access tokens (RS256), including recently retired ones.",
    responses((status = 200, body = Object, description = "JWKS: `{\"keys\": [RSA public keys]}`")))]
async fn jwks(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(axum::http::header::CACHE_CONTROL, "public, max-age=300")],
        Json(state.auth.keys.jwks().await),
    )
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginBody,
    description = "Password sign-in. Answers an AAL1 token; if `mfa_required` or `mfa_enrollment_required` is true, that token only reaches the MFA endpoints.",
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Json<TokenResponse>> {
    client.limit_auth(&state, "login")?;
    // Also per account, so many IPs cannot hammer one account faster than the limit.
    state
        .auth
        .limiter
        .check(
            &format!("login-acct:{}", body.email.trim().to_lowercase()),
            state.config.rate_limit_auth_per_min,
        )
        .map_err(too_many)?;
    let s = check_password(&state, &client, &body.email, &body.password).await?;
    let refresh = new_token();
    let session = state
        .store
        .create_session(NewSession {
            user_id: s.user.id,
            kind: SessionKind::Api,
            aal: 1,
            expires_at: session_end(&state),
            token_hash: None,
            refresh_hash: Some(token_hash(&refresh)),
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
        })
        .await?;
    record(
        &state,
        client.event("login.success", Some(s.user.id), Some(&s.user.email)),
    )
    .await;
    Ok(Json(
        tokens(
            &state,
            s.user.id,
            session.id,
            1,
            Some(refresh),
            s.roles,
            (s.mfa_enrolled, s.mfa_required_by_role),
        )
        .await?,
    ))
}

/// A second-factor code.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaCodeBody {
    /// The 6-digit TOTP code.
    pub code: Option<String>,
    /// Or one of the recovery codes.
    pub recovery_code: Option<String>,
}

/// Verifies a TOTP or recovery code for a user (replay guard, lockout, events). Shared with
/// the MFA page.
pub async fn verify_second_factor(
    state: &AppState,
    client: &ClientInfo,
    user: UserId,
    code: Option<&str>,
    recovery: Option<&str>,
) -> ApiResult<()> {
    let key = format!("mfa:{user}");
    if let Some(until) = state.store.throttle_locked_until(&key).await? {
        return Err(locked_error(until));
    }
    let factor = state
        .store
        .totp_factor(user)
        .await?
        .filter(|f| f.confirmed_at.is_some())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "mfa_not_enrolled",
                "no second factor is enrolled; enrol first",
            )
        })?;
    let ok = match (code, recovery) {
        (Some(code), _) => {
            let secret = state
                .auth
                .master
                .open(&format!("totp:{user}"), &factor.secret_enc)
                .map_err(ApiError::internal)?;
            let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
            match totp::matching_step(&secret, code, now) {
                // The store accepts each step once: a replayed code fails here.
                Some(step) => {
                    state
                        .store
                        .accept_totp_step(&Actor::system(), user, step, None)
                        .await?
                }
                None => false,
            }
        }
        (None, Some(rc)) => {
            let ok = state
                .store
                .use_recovery_code(user, &token_hash(&totp::normalize_recovery(rc)))
                .await?;
            if ok {
                record(
                    state,
                    client.event("mfa.recovery_code_used", Some(user), None),
                )
                .await;
            }
            ok
        }
        (None, None) => {
            return Err(ApiError::invalid_field(
                "code",
                "required",
                "send `code` or `recovery_code`",
            ));
        }
    };
    if !ok {
        state
            .store
            .throttle_failure(&key, &lockout(state, false))
            .await?;
        record(state, client.event("mfa.failure", Some(user), None)).await;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_code",
            "wrong or already used code",
        ));
    }
    state.store.throttle_clear(&key).await?;
    record(state, client.event("mfa.success", Some(user), None)).await;
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", tag = "auth", request_body = MfaCodeBody,
    description = "Second step of sign-in: raises the session to AAL2 and answers an AAL2 access token.",
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn mfa_verify(
    State(state): State<AppState>,
    SessionCaller(caller): SessionCaller,
    client: ClientInfo,
    ApiJson(body): ApiJson<MfaCodeBody>,
) -> ApiResult<Json<TokenResponse>> {
    client.limit_auth(&state, "mfa")?;
    let (user, sid) = ids(&caller)?;
    verify_second_factor(
        &state,
        &client,
        user,
        body.code.as_deref(),
        body.recovery_code.as_deref(),
    )
    .await?;
    state.store.elevate_session(user, sid, None).await?;
    let roles = roles_of(&state, user).await?;
    Ok(Json(
        tokens(&state, user, sid, 2, None, roles, (true, false)).await?,
    ))
}

fn ids(caller: &Caller) -> ApiResult<(UserId, Uuid)> {
    match (caller.user_id, caller.session_id) {
        (Some(u), Some(s)) => Ok((u, s)),
        _ => Err(ApiError::forbidden("only signed-in users have sessions")),
    }
}

/// A TOTP enrolment in progress.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnrollResponse {
    /// Base32 secret for manual entry.
    pub secret: String,
    /// `otpauth://` URI.
    pub otpauth_url: String,
    /// QR code of the URI, as an SVG `data:` URI.
    pub qr_svg: String,
}

/// Starts a TOTP enrolment for a user (shared with the enrolment page).
pub async fn start_enrollment(state: &AppState, user: &User) -> ApiResult<EnrollResponse> {
    let secret = totp::new_secret();
    let sealed = state
        .auth
        .master
        .seal(&format!("totp:{}", user.id), &secret)
        .map_err(ApiError::internal)?;
    state.store.begin_totp(user.id, sealed).await?;
    let (url, b32) = totp::provisioning(&secret, &user.email).map_err(ApiError::internal)?;
    Ok(EnrollResponse {
        secret: b32,
        qr_svg: totp::qr_data_uri(&url).map_err(ApiError::internal)?,
        otpauth_url: url,
    })
}

/// Confirms a pending enrolment with a first code; answers the recovery codes (shown once).
pub async fn confirm_enrollment(
    state: &AppState,
    client: &ClientInfo,
    user: UserId,
    code: &str,
) -> ApiResult<Vec<String>> {
    let factor = state
        .store
        .totp_factor(user)
        .await?
        .filter(|f| f.confirmed_at.is_none())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "no_pending_enrollment",
                "start with /api/v1/auth/mfa/enroll",
            )
        })?;
    let secret = state
        .auth
        .master
        .open(&format!("totp:{user}"), &factor.secret_enc)
        .map_err(ApiError::internal)?;
    let now = u64::try_from(OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    let codes = totp::recovery_codes();
    let hashes = codes
        .iter()
        .map(|c| token_hash(&totp::normalize_recovery(c)))
        .collect();
    let actor = Actor::user(user, client.ip.clone(), client.user_agent.clone());
    let ok = match totp::matching_step(&secret, code, now) {
        Some(step) => {
            state
                .store
                .accept_totp_step(&actor, user, step, Some(hashes))
                .await?
        }
        None => false,
    };
    if !ok {
        record(state, client.event("mfa.failure", Some(user), None)).await;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_code",
            "wrong code; check the device clock",
        ));
    }
    record(state, client.event("mfa.enrolled", Some(user), None)).await;
    Ok(codes)
}

#[utoipa::path(post, path = "/api/v1/auth/mfa/enroll", tag = "auth", description = "Starts TOTP enrolment: a secret and its QR code.",
    responses((status = 200, body = EnrollResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn mfa_enroll(
    State(state): State<AppState>,
    SessionCaller(caller): SessionCaller,
) -> ApiResult<Json<EnrollResponse>> {
    let (user, _) = ids(&caller)?;
    let u = state.store.user(user).await?;
    Ok(Json(start_enrollment(&state, &u).await?))
}

/// Enrolment confirmation result.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConfirmResponse {
    /// Ten single-use recovery codes, shown only now.
    pub recovery_codes: Vec<String>,
    /// New AAL2 tokens for this session.
    pub tokens: TokenResponse,
}

/// A TOTP code.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeBody {
    /// The 6-digit code.
    pub code: String,
}

#[utoipa::path(post, path = "/api/v1/auth/mfa/confirm", tag = "auth", request_body = CodeBody,
    description = "Confirms enrolment with a first code; the session becomes AAL2.",
    responses((status = 200, body = ConfirmResponse), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`no_pending_enrollment`: start with POST /api/v1/auth/mfa/enroll")),
    security(("bearer" = [])))]
async fn mfa_confirm(
    State(state): State<AppState>,
    SessionCaller(caller): SessionCaller,
    client: ClientInfo,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<Json<ConfirmResponse>> {
    client.limit_auth(&state, "mfa")?;
    let (user, sid) = ids(&caller)?;
    let recovery_codes = confirm_enrollment(&state, &client, user, &body.code).await?;
    state.store.elevate_session(user, sid, None).await?;
    let roles = roles_of(&state, user).await?;
    Ok(Json(ConfirmResponse {
        recovery_codes,
        tokens: tokens(&state, user, sid, 2, None, roles, (true, false)).await?,
    }))
}

#[utoipa::path(delete, path = "/api/v1/auth/mfa", tag = "auth",
    description = "Removes the second factor (not allowed for roles that require one).",
    responses((status = 204), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn mfa_disable(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    let (user, _) = ids(&caller)?;
    if let jarvis_core::authz::Principal::User { grants, .. } = &caller.principal
        && grants.iter().any(|g| g.role.requires_mfa())
    {
        return Err(ApiError::forbidden("your role requires a second factor"));
    }
    state.store.remove_totp(&caller.actor, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A refresh token.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The current refresh token.
    pub refresh_token: String,
}

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    description = "Rotates the refresh token. Presenting an already-rotated token revokes the whole session.",
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<RefreshBody>,
) -> ApiResult<Json<TokenResponse>> {
    client.limit_auth(&state, "refresh")?;
    let new = new_token();
    let idle =
        time::Duration::try_from(state.config.session_idle).unwrap_or(time::Duration::days(3));
    match state
        .store
        .rotate_refresh_token(
            &token_hash(body.refresh_token.trim()),
            &token_hash(&new),
            idle,
            time::Duration::try_from(state.config.refresh_reuse_grace)
                .unwrap_or(time::Duration::ZERO),
        )
        .await?
    {
        RefreshOutcome::Rotated(s) => {
            let user = state.store.user(s.user_id).await?;
            if user.disabled_at.is_some() {
                return Err(ApiError::unauthorized("account disabled"));
            }
            let roles = roles_of(&state, s.user_id).await?;
            let enrolled = state
                .store
                .totp_factor(s.user_id)
                .await?
                .is_some_and(|f| f.confirmed_at.is_some());
            let by_role = roles.iter().any(|r| r.role.requires_mfa());
            Ok(Json(
                tokens(
                    &state,
                    s.user_id,
                    s.id,
                    s.aal,
                    Some(new),
                    roles,
                    (enrolled, by_role),
                )
                .await?,
            ))
        }
        RefreshOutcome::Reused(s) => {
            let mut ev = client.event("refresh.reuse", Some(s.user_id), None);
            ev.details = serde_json::json!({ "session_id": s.id });
            record(&state, ev).await;
            tracing::warn!(session = %s.id, "refresh token reuse: session family revoked");
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "refresh_token_reused",
                "this refresh token was already used; the session has been ended for safety",
            ))
        }
        RefreshOutcome::Invalid => Err(ApiError::unauthorized("invalid or expired refresh token")),
    }
}

/// Logout options.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogoutQuery {
    /// End every session of the user (logout everywhere).
    #[serde(default)]
    pub all: bool,
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", params(LogoutQuery),
    responses((status = 204)), security(("bearer" = [])))]
async fn logout(
    State(state): State<AppState>,
    SessionCaller(caller): SessionCaller,
    client: ClientInfo,
    ApiQuery(q): ApiQuery<LogoutQuery>,
) -> ApiResult<StatusCode> {
    let (user, sid) = ids(&caller)?;
    if q.all {
        state
            .store
            .revoke_user_sessions(user, None, "logout_all")
            .await?;
    } else {
        state.store.revoke_session(user, sid, "logout").await?;
    }
    record(
        &state,
        client.event(
            if q.all { "logout.all" } else { "logout" },
            Some(user),
            None,
        ),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeResponse {
    /// The user.
    pub user: User,
    /// Roles held.
    #[schema(value_type = Vec<Object>)]
    pub roles: Vec<serde_json::Value>,
    /// Assurance level of this token.
    pub aal: u8,
    /// Whether a second factor is enrolled.
    pub mfa_enrolled: bool,
    /// Whether this token must still complete MFA.
    pub mfa_pending: bool,
    /// Unused recovery codes left.
    pub recovery_codes_left: u64,
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", responses((status = 200, body = MeResponse)), security(("bearer" = [])))]
async fn me(
    State(state): State<AppState>,
    SessionCaller(caller): SessionCaller,
) -> ApiResult<Json<MeResponse>> {
    let (user, _) = ids(&caller)?;
    let u = state.store.user(user).await?;
    let roles = roles_of(&state, user).await?;
    let enrolled = state
        .store
        .totp_factor(user)
        .await?
        .is_some_and(|f| f.confirmed_at.is_some());
    Ok(Json(MeResponse {
        user: u,
        roles: roles
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect(),
        aal: caller.aal.as_u8(),
        mfa_enrolled: enrolled,
        mfa_pending: caller.principal.needs_step_up(),
        recovery_codes_left: state.store.recovery_codes_left(user).await?,
    }))
}

/// A session as listed to its owner.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionView {
    /// The session.
    #[serde(flatten)]
    #[schema(inline)]
    pub session: SessionOut,
    /// Whether this request uses it.
    pub current: bool,
}

/// Session fields shown to users.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionOut {
    /// Id.
    pub id: Uuid,
    /// `api` or `web`.
    pub kind: String,
    /// Assurance level.
    pub aal: u8,
    /// Start.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last use.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// Absolute end.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// IP at sign-in.
    pub ip: Option<String>,
    /// User agent at sign-in.
    pub user_agent: Option<String>,
}

impl From<AuthSession> for SessionOut {
    fn from(s: AuthSession) -> Self {
        SessionOut {
            id: s.id,
            kind: s.kind.as_str().into(),
            aal: s.aal,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            ip: s.ip,
            user_agent: s.user_agent,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/auth/sessions", tag = "auth", responses((status = 200, body = Vec<SessionView>)), security(("bearer" = [])))]
async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<SessionView>>> {
    let (user, sid) = ids(&caller)?;
    Ok(Json(
        state
            .store
            .list_sessions(user)
            .await?
            .into_iter()
            .map(|s| SessionView {
                current: s.id == sid,
                session: s.into(),
            })
            .collect(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/auth/sessions", tag = "auth", description = "Ends every other session of the user.",
    responses((status = 200, description = "{\"revoked\": n}")), security(("bearer" = [])))]
async fn revoke_all_sessions(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
) -> ApiResult<Json<serde_json::Value>> {
    let (user, sid) = ids(&caller)?;
    let n = state
        .store
        .revoke_user_sessions(user, Some(sid), "user")
        .await?;
    record(&state, client.event("session.revoke_all", Some(user), None)).await;
    Ok(Json(serde_json::json!({ "revoked": n })))
}

#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let (user, _) = ids(&caller)?;
    if !state.store.revoke_session(user, id, "user").await? {
        return Err(ApiError::not_found("session"));
    }
    record(&state, client.event("session.revoke", Some(user), None)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Password change input.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordBody {
    /// The current password.
    pub current_password: String,
    /// The new password.
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", request_body = ChangePasswordBody,
    description = "Changes the password and ends every other session.",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    client: ClientInfo,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> ApiResult<StatusCode> {
    client.limit_auth(&state, "password")?;
    let (user, sid) = ids(&caller)?;
    let u = state.store.user(user).await?;
    check_password(&state, &client, &u.email, &body.current_password).await?;
    password::check_policy_for(&body.new_password, &u.email)
        .map_err(|m| ApiError::invalid_field("new_password", "weak", m))?;
    let hash = password::hash(body.new_password)
        .await
        .map_err(ApiError::internal)?;
    state
        .store
        .set_password_hash(&caller.actor, user, hash)
        .await?;
    state
        .store
        .revoke_user_sessions(user, Some(sid), "password_change")
        .await?;
    record(&state, client.event("password.change", Some(user), None)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Password reset request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestBody {
    /// The account e-mail.
    pub email: String,
}

/// Escapes text for HTML e-mail bodies (names and e-mails are user-controlled).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The base of links in e-mails: the public URL, else the listen address.
pub fn public_base(config: &jarvis_app::config::Config) -> String {
    config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen))
}

/// A password-reset request waiting for the reset worker (no `Debug`: it holds an address).
pub struct ResetJob {
    email: String,
    client: ClientInfo,
}

/// Starts a password reset. The request only hands the address to the reset worker and returns:
/// nothing on the request path depends on whether the account exists (no lookup, no write, no
/// hashing), so known and unknown addresses cost the same and get the same answer. A full queue
/// drops the request (the user asks again); the answer does not change.
pub fn request_reset(state: &AppState, client: &ClientInfo, email: &str) {
    let email = email.trim();
    // Longer than any address: not worth a queue slot (the length is the caller's own input).
    if email.len() > 254 {
        return;
    }
    let job = ResetJob {
        email: email.to_lowercase(),
        client: client.clone(),
    };
    if state.auth.reset_queue.try_send(job).is_err() {
        tracing::warn!("password-reset queue full: request dropped");
    }
}

/// What the reset worker needs. It holds no sender of its own queue, so it stops once the
/// server's state (which holds the sender) is dropped.
pub(crate) struct ResetWorker {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) master: MasterKey,
    /// Public base URL for links.
    pub(crate) base: String,
}

impl ResetWorker {
    /// Serves queued reset requests one at a time until the queue closes.
    pub(crate) async fn run(self, mut queue: tokio::sync::mpsc::Receiver<ResetJob>) {
        while let Some(job) = queue.recv().await {
            if let Err(e) = self.process(job).await {
                tracing::warn!(code = e.code, error = %e.message, "password-reset request failed");
            }
        }
    }

    async fn process(&self, job: ResetJob) -> ApiResult<()> {
        let ResetJob { email, client } = job;
        let store = self.store.as_ref();
        let user = match store.user_by_email(&email).await? {
            Some((user, _)) if user.disabled_at.is_none() => user,
            _ => {
                let ev = client.event("password.reset_requested", None, Some(&email));
                record_in(store, ev).await;
                return Ok(());
            }
        };
        let token = new_token();
        let expires = OffsetDateTime::now_utc() + time::Duration::hours(1);
        store
            .create_password_reset(user.id, &token_hash(&token), expires)
            .await?;
        let link = format!("{}/app/reset?token={token}", self.base);
        let name = escape_html(&user.display_name);
        outbox::enqueue(store, &self.master, Email {
            to: user.email.clone(),
            subject: "JARVIS: reset your password".into(),
            text: format!("Hello {},\n\nReset your JARVIS password within one hour:\n{link}\n\nIf you did not ask for this, ignore this e-mail.\n", user.display_name),
            html: format!("<p>Hello {name},</p><p><a href=\"{}\">Reset your JARVIS password</a> within one hour.</p><p>If you did not ask for this, ignore this e-mail.</p>", escape_html(&link)),
            kind: "password_reset".into(),
        })
        .await?;
        let ev = client.event("password.reset_requested", Some(user.id), Some(&email));
        record_in(store, ev).await;
        Ok(())
    }
}

#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetRequestBody,
    description = "E-mails a single-use reset link valid one hour. Always 202, whether the account exists or not.",
    responses((status = 202), (status = 429, body = ErrorBody)))]
async fn reset_request(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ResetRequestBody>,
) -> ApiResult<StatusCode> {
    client.limit_auth(&state, "reset")?;
    request_reset(&state, &client, &body.email);
    Ok(StatusCode::ACCEPTED)
}

/// Password reset confirmation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmBody {
    /// The token from the e-mail.
    pub token: String,
    /// The new password.
    pub new_password: String,
}

/// Completes a reset: sets the password, ends every session. Shared with the reset page.
pub async fn confirm_reset(
    state: &AppState,
    client: &ClientInfo,
    token: &str,
    new_password: &str,
) -> ApiResult<()> {
    if new_password.chars().count() < 12 {
        return Err(ApiError::invalid_field(
            "new_password",
            "weak",
            "the password must have at least 12 characters",
        ));
    }
    password::check_policy_for(new_password, "")
        .map_err(|m| ApiError::invalid_field("new_password", "weak", m))?;
    let hash = password::hash(new_password.to_string())
        .await
        .map_err(ApiError::internal)?;
    let user = state
        .store
        .consume_password_reset(&token_hash(token.trim()), hash)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "this reset link is invalid, used or expired",
            )
        })?;
    state
        .store
        .revoke_user_sessions(user, None, "password_reset")
        .await?;
    let u = state.store.user(user).await?;
    state
        .store
        .throttle_clear(&format!("login:acct:{}", u.email))
        .await?;
    record(state, client.event("password.reset", Some(user), None)).await;
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/auth/password/reset/confirm", tag = "auth", request_body = ResetConfirmBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reset_confirm(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> ApiResult<StatusCode> {
    client.limit_auth(&state, "reset")?;
    confirm_reset(&state, &client, &body.token, &body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Invitation input.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    /// Invitee e-mail.
    pub email: String,
    /// Invitee name.
    pub display_name: String,
    /// Role to grant.
    pub role: Role,
    /// Franchise (franchise owners, and gym roles).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub franchise_id: Option<FranchiseId>,
    /// Gym (gym roles).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub gym_id: Option<GymId>,
}

/// A created invitation (the token goes only by e-mail).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationView {
    /// The invitation.
    #[serde(flatten)]
    pub invitation: Invitation,
}

fn invitation_email(state: &AppState, inv: &Invitation, token: &str, inviter: &str) -> Email {
    let link = format!(
        "{}/app/invitations/accept?token={token}",
        public_base(&state.config)
    );
    let role = inv.role.as_str().replace('_', " ");
    Email {
        to: inv.email.clone(),
        subject: "You are invited to JARVIS".into(),
        text: format!(
            "Hello {},\n\n{} invites you to JARVIS as {role}.\nAccept within 7 days: {link}\n",
            inv.display_name, inviter
        ),
        html: format!(
            "<p>Hello {},</p><p>{} invites you to JARVIS as {}.</p><p><a href=\"{}\">Accept the invitation</a> within 7 days.</p>",
            escape_html(&inv.display_name),
            escape_html(inviter),
            escape_html(&role),
            escape_html(&link)
        ),
        kind: "invitation".into(),
    }
}

#[utoipa::path(post, path = "/api/v1/invitations", tag = "auth", request_body = InviteBody,
    description = "Invites someone with a role on a franchise or gym you manage; the link goes by e-mail.",
    responses((status = 201, body = InvitationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<InviteBody>,
) -> ApiResult<(StatusCode, Json<InvitationView>)> {
    let email = body.email.trim().to_lowercase();
    if !jarvis_core::validate::is_email(&email) || email.len() > 254 {
        return Err(ApiError::invalid_field(
            "email",
            "invalid_format",
            "must be an e-mail address",
        ));
    }
    let name = body.display_name.trim().to_string();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(ApiError::invalid_field(
            "display_name",
            "invalid",
            "1 to 120 characters",
        ));
    }
    let action = Action::invite(body.role);
    let (scope, target) = match (body.role, body.franchise_id, body.gym_id) {
        (Role::SuperAdmin, None, None) => (caller.platform(action)?, MembershipTarget::Platform),
        (Role::FranchiseOwner, Some(f), None) => {
            (caller.franchise(f, action)?, MembershipTarget::Franchise(f))
        }
        (Role::GymManager | Role::GymStaff, _, Some(g)) => {
            let scope = caller.gym(&state, g, action).await?;
            let f = state.store.gym(&scope, g).await?.franchise_id;
            (scope, MembershipTarget::Gym(f, g))
        }
        _ => {
            return Err(ApiError::invalid_field(
                "role",
                "shape",
                "super_admin takes no franchise or gym, franchise_owner a franchise_id, gym roles a gym_id",
            ));
        }
    };
    let token = new_token();
    let inv = state
        .store
        .create_invitation(
            &scope,
            &caller.actor,
            NewInvitation {
                email,
                display_name: name,
                role: body.role,
                target,
                token_hash: token_hash(&token),
                expires_at: OffsetDateTime::now_utc() + time::Duration::days(7),
            },
        )
        .await?;
    let inviter = match caller.user_id {
        Some(u) => state.store.user(u).await?.display_name,
        None => "JARVIS".into(),
    };
    outbox::enqueue(
        state.store.as_ref(),
        &state.auth.master,
        invitation_email(&state, &inv, &token, &inviter),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(InvitationView { invitation: inv }),
    ))
}

/// Invitation list filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InvitationQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Include accepted, revoked and expired ones.
    #[serde(default)]
    pub all: bool,
}

#[utoipa::path(get, path = "/api/v1/invitations", tag = "auth", params(InvitationQuery),
    responses((status = 200, body = PageBody<Invitation>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_invitations(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<InvitationQuery>,
) -> ApiResult<Json<PageBody<Invitation>>> {
    let scope = caller.list(Action::InvitationManage)?;
    let page = crate::api::Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    Ok(Json(
        state
            .store
            .list_invitations(&scope, !q.all, page)
            .await?
            .into(),
    ))
}

/// Finds an invitation the caller may manage (404 when foreign), and the scope to act in.
async fn managed_invitation(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> ApiResult<(Scope, Invitation)> {
    let scope = caller.list(Action::InvitationManage).map_err(|e| {
        if e.status == StatusCode::FORBIDDEN && e.code == "forbidden" {
            ApiError::not_found("invitation")
        } else {
            e
        }
    })?;
    let inv = state.store.invitation(&scope, id).await?;
    let resource = match (inv.franchise_id, inv.gym_id) {
        (Some(f), Some(g)) => Resource::Gym(f, g),
        (Some(f), None) => Resource::Franchise(f),
        _ => Resource::Platform,
    };
    caller.authorize(Action::invite(inv.role), &resource)?;
    Ok((scope, inv))
}

#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "auth", params(("id" = Uuid, Path)),
    responses((status = 200, body = Invitation), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Invitation>> {
    let (scope, _) = managed_invitation(&state, &caller, id).await?;
    Ok(Json(
        state
            .store
            .revoke_invitation(&scope, &caller.actor, id)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/invitations/{id}/resend", tag = "auth", params(("id" = Uuid, Path)),
    description = "Sends a new link (the old one stops working) and extends the invitation by 7 days.",
    responses((status = 200, body = Invitation), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn resend_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Invitation>> {
    let (scope, _) = managed_invitation(&state, &caller, id).await?;
    let token = new_token();
    let inv = state
        .store
        .renew_invitation(
            &scope,
            &caller.actor,
            id,
            &token_hash(&token),
            OffsetDateTime::now_utc() + time::Duration::days(7),
        )
        .await?;
    let inviter = match caller.user_id {
        Some(u) => state.store.user(u).await?.display_name,
        None => "JARVIS".into(),
    };
    outbox::enqueue(
        state.store.as_ref(),
        &state.auth.master,
        invitation_email(&state, &inv, &token, &inviter),
    )
    .await?;
    Ok(Json(inv))
}

/// Invitation acceptance.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// The token from the e-mail.
    pub token: String,
    /// The password to set (ignored if the account already exists).
    pub password: String,
    /// Dashboard language.
    pub locale: Option<Locale>,
}

/// Accepts an invitation (shared with the accept page).
pub async fn accept(
    state: &AppState,
    client: &ClientInfo,
    token: &str,
    pw: &str,
    locale: Locale,
) -> ApiResult<User> {
    let inv = state
        .store
        .invitation_by_token_hash(&token_hash(token.trim()))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "this invitation is invalid, used, revoked or expired",
            )
        })?;
    password::check_policy_for(pw, &inv.email)
        .map_err(|m| ApiError::invalid_field("password", "weak", m))?;
    let hash = password::hash(pw.to_string())
        .await
        .map_err(ApiError::internal)?;
    let actor = Actor {
        kind: "user",
        user_id: None,
        ip: client.ip.clone(),
        user_agent: client.user_agent.clone(),
    };
    let user = state
        .store
        .accept_invitation(&actor, &token_hash(token.trim()), hash, locale)
        .await?;
    record(
        state,
        client.event("invitation.accepted", Some(user.id), Some(&user.email)),
    )
    .await;
    Ok(user)
}

#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "auth", request_body = AcceptBody,
    description = "Accepts an invitation and sets the password; then sign in (and enrol MFA if the role requires it).",
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn accept_invitation(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<AcceptBody>,
) -> ApiResult<Json<User>> {
    client.limit_auth(&state, "invite")?;
    Ok(Json(
        accept(
            &state,
            &client,
            &body.token,
            &body.password,
            body.locale.unwrap_or_default(),
        )
        .await?,
    ))
}

/// Auth event filters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Only this event, e.g. `login.failure`.
    pub event: Option<String>,
    /// Only this user.
    #[param(value_type = Option<String>, format = Uuid)]
    pub user_id: Option<UserId>,
}

#[utoipa::path(get, path = "/api/v1/auth/events", tag = "auth", params(EventQuery),
    description = "Sign-in and security events. Platform events (sign-ins) are visible to super admins; tenant-tagged ones to their tenant's managers.",
    responses((status = 200, body = PageBody<AuthEvent>), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn list_auth_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> ApiResult<Json<PageBody<AuthEvent>>> {
    let scope = caller.list(Action::AuditRead)?;
    let page: PageRequest = crate::api::Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    let filter = AuthEventFilter {
        event: q.event,
        user_id: q.user_id,
    };
    Ok(Json(
        state
            .store
            .list_auth_events(&scope, &filter, page)
            .await?
            .into(),
    ))
}

/// Delivers the e-mail outbox with the configured transport (the log one until the SMTP
/// sender arrives with the ops work); see [`outbox::deliver`].
pub async fn log_outbox(state: &AppState) {
    outbox::deliver(
        state.store.as_ref(),
        &state.auth.master,
        state.config.email_transport,
    )
    .await;
}

/// Whether the signed-in AAL is at least two.
pub fn is_aal2(aal: Aal) -> bool {
    aal >= Aal::Aal2
}
