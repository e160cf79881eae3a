//! The auth API: sign-in, MFA, token refresh, sessions, password change/reset, invitations,
//! auth events and the JWKS. Handlers parse, take the caller, call `jarvis_app::accounts` and
//! render; the rules (and the sign-in flows the pages share) live in the service.

use crate::api::{PageBody, Paging};
use crate::auth::{Caller, SessionCaller, limit_auth, too_many};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jarvis_app::accounts::{Client, InvitationInput, Tokens};
use jarvis_core::model::{AuthEvent, AuthSession, Invitation};
use jarvis_core::model::{Locale, User};
use jarvis_core::{FranchiseId, GymId, InvitationId, Role, SessionId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

impl From<Tokens> for TokenResponse {
    fn from(t: Tokens) -> Self {
        TokenResponse {
            access_token: t.access_token,
            token_type: "Bearer".into(),
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
            aal: t.aal,
            mfa_required: t.mfa_required,
            mfa_enrollment_required: t.mfa_enrollment_required,
        }
    }
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
    client: Client,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<Json<TokenResponse>> {
    limit_auth(&state, &client, "login")?;
    // Also per account, so many IPs cannot hammer one account faster than the limit.
    state
        .auth
        .limiter
        .check(
            &format!("login-acct:{}", body.email.trim().to_lowercase()),
            state.config.rate_limit_auth_per_min,
        )
        .map_err(too_many)?;
    let tokens = state
        .auth
        .accounts
        .sign_in_api(&client, &body.email, &body.password)
        .await?;
    Ok(Json(tokens.into()))
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

#[utoipa::path(post, path = "/api/v1/auth/mfa/verify", tag = "auth", request_body = MfaCodeBody,
    description = "Second step of sign-in: raises the session to AAL2 and answers an AAL2 access token.",
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn mfa_verify(
    State(state): State<AppState>,
    SessionCaller(caller): SessionCaller,
    client: Client,
    ApiJson(body): ApiJson<MfaCodeBody>,
) -> ApiResult<Json<TokenResponse>> {
    limit_auth(&state, &client, "mfa")?;
    let (user, sid) = ids(&caller)?;
    let tokens = state
        .auth
        .accounts
        .mfa_verify_api(
            &client,
            user,
            sid,
            body.code.as_deref(),
            body.recovery_code.as_deref(),
        )
        .await?;
    Ok(Json(tokens.into()))
}

/// The signed-in user and session of a caller (kiosk devices have none).
fn ids(caller: &Caller) -> ApiResult<(UserId, SessionId)> {
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

#[utoipa::path(post, path = "/api/v1/auth/mfa/enroll", tag = "auth", description = "Starts TOTP enrolment: a secret and its QR code.",
    responses((status = 200, body = EnrollResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn mfa_enroll(
    State(state): State<AppState>,
    SessionCaller(caller): SessionCaller,
) -> ApiResult<Json<EnrollResponse>> {
    let (user, _) = ids(&caller)?;
    let u = state.store.user(user).await?;
    let e = state.auth.accounts.start_enrollment(&u).await?;
    Ok(Json(EnrollResponse {
        secret: e.secret,
        otpauth_url: e.otpauth_url,
        qr_svg: e.qr_svg,
    }))
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
    client: Client,
    ApiJson(body): ApiJson<CodeBody>,
) -> ApiResult<Json<ConfirmResponse>> {
    limit_auth(&state, &client, "mfa")?;
    let (user, sid) = ids(&caller)?;
    let (recovery_codes, tokens) = state
        .auth
        .accounts
        .confirm_enrollment_api(&client, user, sid, &body.code)
        .await?;
    Ok(Json(ConfirmResponse {
        recovery_codes,
        tokens: tokens.into(),
    }))
}

#[utoipa::path(delete, path = "/api/v1/auth/mfa", tag = "auth",
    description = "Removes the second factor (not allowed for roles that require one).",
    responses((status = 204), (status = 403, body = ErrorBody)), security(("bearer" = [])))]
async fn mfa_disable(State(state): State<AppState>, caller: Caller) -> ApiResult<StatusCode> {
    let (user, _) = ids(&caller)?;
    state
        .auth
        .accounts
        .disable_mfa(&caller.principal, &caller.actor, user)
        .await?;
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
    client: Client,
    ApiJson(body): ApiJson<RefreshBody>,
) -> ApiResult<Json<TokenResponse>> {
    limit_auth(&state, &client, "refresh")?;
    let tokens = state
        .auth
        .accounts
        .refresh(&client, &body.refresh_token)
        .await?;
    Ok(Json(tokens.into()))
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
    client: Client,
    ApiQuery(q): ApiQuery<LogoutQuery>,
) -> ApiResult<StatusCode> {
    let (user, sid) = ids(&caller)?;
    state
        .auth
        .accounts
        .logout(&client, user, sid, q.all)
        .await?;
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
    let me = state.auth.accounts.me(user).await?;
    Ok(Json(MeResponse {
        user: me.user,
        roles: me
            .roles
            .iter()
            .map(|r| serde_json::to_value(r).unwrap_or_default())
            .collect(),
        aal: caller.aal.as_u8(),
        mfa_enrolled: me.mfa_enrolled,
        mfa_pending: caller.principal.needs_step_up(),
        recovery_codes_left: me.recovery_codes_left,
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
    #[schema(value_type = String, format = Uuid)]
    pub id: SessionId,
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
            .auth
            .accounts
            .sessions(user)
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
    client: Client,
) -> ApiResult<Json<serde_json::Value>> {
    let (user, sid) = ids(&caller)?;
    let n = state
        .auth
        .accounts
        .revoke_other_sessions(&client, user, sid)
        .await?;
    Ok(Json(serde_json::json!({ "revoked": n })))
}

#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}", tag = "auth", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    client: Client,
    ApiPath(id): ApiPath<SessionId>,
) -> ApiResult<StatusCode> {
    let (user, _) = ids(&caller)?;
    state
        .auth
        .accounts
        .revoke_session(&client, user, id)
        .await?;
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
    client: Client,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> ApiResult<StatusCode> {
    limit_auth(&state, &client, "password")?;
    let (user, sid) = ids(&caller)?;
    state
        .auth
        .accounts
        .change_password(
            &client,
            &caller.actor,
            user,
            sid,
            &body.current_password,
            body.new_password,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Password reset request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestBody {
    /// The account e-mail.
    pub email: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password/reset", tag = "auth", request_body = ResetRequestBody,
    description = "E-mails a single-use reset link valid one hour. Always 202, whether the account exists or not.",
    responses((status = 202), (status = 429, body = ErrorBody)))]
async fn reset_request(
    State(state): State<AppState>,
    client: Client,
    ApiJson(body): ApiJson<ResetRequestBody>,
) -> ApiResult<StatusCode> {
    limit_auth(&state, &client, "reset")?;
    state.auth.accounts.request_reset(&client, &body.email);
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

#[utoipa::path(post, path = "/api/v1/auth/password/reset/confirm", tag = "auth", request_body = ResetConfirmBody,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reset_confirm(
    State(state): State<AppState>,
    client: Client,
    ApiJson(body): ApiJson<ResetConfirmBody>,
) -> ApiResult<StatusCode> {
    limit_auth(&state, &client, "reset")?;
    state
        .auth
        .accounts
        .confirm_reset(&client, &body.token, &body.new_password)
        .await?;
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

#[utoipa::path(post, path = "/api/v1/invitations", tag = "auth", request_body = InviteBody,
    description = "Invites someone with a role on a franchise or gym you manage; the link goes by e-mail.",
    responses((status = 201, body = InvitationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<InviteBody>,
) -> ApiResult<(StatusCode, Json<InvitationView>)> {
    let input = InvitationInput {
        email: body.email,
        display_name: body.display_name,
        role: body.role,
        franchise_id: body.franchise_id,
        gym_id: body.gym_id,
    };
    let invitation = state
        .auth
        .accounts
        .invite(&caller.principal, &caller.actor, input)
        .await?;
    Ok((StatusCode::CREATED, Json(InvitationView { invitation })))
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
    let page = Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    Ok(Json(
        state
            .auth
            .accounts
            .invitations(&caller.principal, q.all, page)
            .await?
            .into(),
    ))
}

#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "auth", params(("id" = Uuid, Path)),
    responses((status = 200, body = Invitation), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<InvitationId>,
) -> ApiResult<Json<Invitation>> {
    Ok(Json(
        state
            .auth
            .accounts
            .revoke_invitation(&caller.principal, &caller.actor, id)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/invitations/{id}/resend", tag = "auth", params(("id" = Uuid, Path)),
    description = "Sends a new link (the old one stops working) and extends the invitation by 7 days.",
    responses((status = 200, body = Invitation), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn resend_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<InvitationId>,
) -> ApiResult<Json<Invitation>> {
    Ok(Json(
        state
            .auth
            .accounts
            .resend_invitation(&caller.principal, &caller.actor, id)
            .await?,
    ))
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

#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "auth", request_body = AcceptBody,
    description = "Accepts an invitation and sets the password; then sign in (and enrol MFA if the role requires it).",
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn accept_invitation(
    State(state): State<AppState>,
    client: Client,
    ApiJson(body): ApiJson<AcceptBody>,
) -> ApiResult<Json<User>> {
    limit_auth(&state, &client, "invite")?;
    Ok(Json(
        state
            .auth
            .accounts
            .accept_invitation(
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
    let page = Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    Ok(Json(
        state
            .auth
            .accounts
            .auth_events(&caller.principal, q.event, q.user_id, page)
            .await?
            .into(),
    ))
}
