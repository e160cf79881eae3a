//! Who is calling, and what they may do.
//!
//! API requests carry an RS256 access token (`Authorization: Bearer …`). The [`Caller`]
//! extractor verifies it, checks its session is still live, re-reads the user's memberships
//! (so a revoked role takes effect at once), enforces MFA (AAL2) for roles that require it,
//! and applies the per-account rate limit. Handlers then ask [`Caller::gym`],
//! [`Caller::franchise`], [`Caller::platform`] or [`Caller::list`] for the storage scope of an
//! action; all of them go through the one permission function, `jarvis_core::authz::authorize`.
//! See `docs/contributor/auth-for-handlers.md`.

pub mod ratelimit;
pub mod web;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use jarvis_app::access::AccessError;
use jarvis_app::accounts::{Accounts, Client};
use jarvis_app::auth::{crypto, keys, net};
use jarvis_core::authz::{Aal, Action, Decision, Grant, Principal, Resource};
use jarvis_core::model::Actor;
use jarvis_core::{FranchiseId, GymId, Scope, SessionId, UserId};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// Security state shared by every request: signing keys, master key, rate limits.
pub struct AuthState {
    /// Signing and verification keys.
    pub keys: Arc<keys::KeyRing>,
    /// Master key for secrets at rest.
    pub master: crypto::MasterKey,
    /// In-process rate limits.
    pub limiter: ratelimit::RateLimiter,
    /// Whether cookies get `Secure` and responses HSTS (public URL is https).
    pub secure_cookies: bool,
    /// The accounts service (sign-in, sessions, MFA, passwords, invitations, team).
    pub accounts: Accounts,
}

/// Loads the master key and the signing keys (creating the first key on a fresh database); the
/// password-reset worker runs under `supervisor`.
pub async fn open(
    config: &jarvis_app::config::Config,
    store: Arc<dyn jarvis_store::Store>,
    supervisor: &jarvis_app::supervisor::Supervisor,
) -> Result<Arc<AuthState>, String> {
    let accounts = Accounts::open(config, store, supervisor)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(AuthState {
        keys: accounts.keys().clone(),
        master: accounts.master().clone(),
        limiter: ratelimit::RateLimiter::default(),
        secure_cookies: config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://")),
        accounts,
    }))
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The broadest scope the caller holds (its most powerful membership). Prefer the
    /// per-action methods ([`Caller::gym`] etc.), which also check the role allows the action.
    pub scope: Scope,
    /// Who to record in the audit log.
    pub actor: Actor,
    /// The principal the permission function decides on.
    pub principal: Principal,
    /// The signed-in user (none for kiosk devices).
    pub user_id: Option<UserId>,
    /// The session (its access tokens carry it as `sid`).
    pub session_id: Option<SessionId>,
    /// Assurance level of this request's token.
    pub aal: Aal,
}

/// Like [`Caller`] but also admits an AAL1 session of a user who still has to complete MFA.
/// Only the MFA enrol/verify, logout and "who am I" endpoints take this.
#[derive(Debug, Clone)]
pub struct SessionCaller(pub Caller);

/// Maps a permission decision to an HTTP error (404 for foreign tenants: ids do not leak).
pub fn decision_error(d: Decision, what: &str) -> ApiError {
    match d {
        Decision::Allow(_) => ApiError::internal("decision_error called on Allow"),
        Decision::Forbidden => ApiError::forbidden("your role does not allow this"),
        Decision::NotFound => ApiError::not_found(what),
        Decision::MfaRequired => mfa_required(),
    }
}

fn mfa_required() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "mfa_required",
        "complete two-factor authentication first (POST /api/v1/auth/mfa/verify, or enrol with /api/v1/auth/mfa/enroll)",
    )
}

impl Caller {
    /// Decides `action` on `resource`; the scope to pass to storage, or the HTTP error.
    pub fn authorize(&self, action: Action, resource: &Resource) -> Result<Scope, ApiError> {
        Ok(jarvis_app::access::authorize(
            &self.principal,
            action,
            resource,
        )?)
    }

    /// The scope for `action` on a gym known only by id (looks up its franchise when no grant
    /// names the gym directly). Unknown and foreign gyms are both 404.
    pub async fn gym(
        &self,
        state: &AppState,
        gym: GymId,
        action: Action,
    ) -> Result<Scope, ApiError> {
        Ok(
            jarvis_app::access::gym_scope(state.store.as_ref(), &self.principal, gym, action)
                .await?,
        )
    }

    /// The scope for `action` on a franchise (or on its gyms collection, e.g. creating a gym).
    pub fn franchise(&self, franchise: FranchiseId, action: Action) -> Result<Scope, ApiError> {
        self.authorize(action, &Resource::Franchise(franchise))
    }

    /// The scope for a platform-wide `action` (creating franchises, key rotation).
    pub fn platform(&self, action: Action) -> Result<Scope, ApiError> {
        self.authorize(action, &Resource::Platform)
    }

    /// The broadest scope in which the caller may do `action`, for lists without a target.
    pub fn list(&self, action: Action) -> Result<Scope, ApiError> {
        Ok(jarvis_app::access::list_scope(&self.principal, action)?)
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Denied { decision, what } => decision_error(decision, what),
            AccessError::Store(e) => e.into(),
        }
    }
}

/// Request metadata for audit rows and throttles.
impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Client {
            ip: client_ip(parts, state),
            user_agent: user_agent(parts),
        })
    }
}

/// Applies the strict per-client limit of auth endpoints (`what` names the endpoint family).
pub fn limit_auth(state: &AppState, client: &Client, what: &str) -> Result<(), ApiError> {
    state
        .auth
        .limiter
        .check(
            &format!("{what}:{}", client.ip_key()),
            state.config.rate_limit_auth_per_min,
        )
        .map_err(too_many)
}

/// Client IP honouring only configured trusted proxies.
pub fn client_ip(parts: &Parts, state: &AppState) -> Option<String> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let xff = forwarded_for(&parts.headers);
    net::client_ip(peer, xff.as_deref(), &state.config.trusted_proxies).map(|ip| ip.to_string())
}

/// Every `X-Forwarded-For` line, in order, as one comma-separated list. Some proxies add their
/// own line instead of appending to the client's (which comes first), so reading only the first
/// line would let the client choose its address. A line that is not text poisons the list (it
/// parses as garbage, so the right-most trusted hop is kept).
pub fn forwarded_for(headers: &axum::http::HeaderMap) -> Option<String> {
    let lines: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().unwrap_or("invalid"))
        .collect();
    (!lines.is_empty()).then(|| lines.join(","))
}

/// The client's user agent, truncated.
pub fn user_agent(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(300).collect())
}

/// Compares two secrets in constant time (on their digests, so lengths do not leak either).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes())
        .ct_eq(&Sha256::digest(b.as_bytes()))
        .into()
}

/// The scope of the most powerful grant (the `Caller::scope` field).
pub fn home_scope(p: &Principal) -> Scope {
    match p {
        Principal::Kiosk { franchise, gym, .. } => Scope::Gym {
            franchise: *franchise,
            gym: *gym,
        },
        Principal::User { grants, .. } => {
            let mut g: Vec<&Grant> = grants.iter().collect();
            g.sort_by_key(|g| match g.role {
                jarvis_core::Role::SuperAdmin => 0,
                jarvis_core::Role::FranchiseOwner => 1,
                jarvis_core::Role::GymManager => 2,
                jarvis_core::Role::GymStaff => 3,
            });
            // A user with no membership gets an empty gym scope that matches nothing.
            g.first().map(|g| g.scope()).unwrap_or(Scope::Gym {
                franchise: FranchiseId::from(Uuid::nil()),
                gym: GymId::from(Uuid::nil()),
            })
        }
    }
}

async fn authenticate(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
    let token = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "send `Authorization: Bearer <access token>` (POST /api/v1/auth/login)",
            )
        })?;
    let claims = match state.auth.keys.verify(token).await {
        Ok(c) => c,
        Err(e) => {
            tracing::info!(reason = %e, ip = ?client_ip(parts, state), "rejected access token");
            return Err(ApiError::unauthorized("invalid or expired access token"));
        }
    };
    let user: UserId = claims
        .sub
        .parse::<Uuid>()
        .map(UserId::from)
        .map_err(|_| ApiError::unauthorized("invalid access token"))?;
    let sid: SessionId = claims
        .sid
        .parse()
        .map_err(|_| ApiError::unauthorized("invalid access token"))?;
    let session = state.auth.accounts.api_session(user, sid).await?;
    if let Err(wait) = state
        .auth
        .limiter
        .check(&format!("acct:{user}"), state.config.rate_limit_api_per_min)
    {
        return Err(too_many(wait));
    }
    let aal = Aal::from_u8(claims.aal.min(session.aal)).unwrap_or(Aal::Aal1);
    let (principal, _) = state.auth.accounts.principal(user, aal).await?;
    Ok(Caller {
        scope: home_scope(&principal),
        actor: Actor::user(user, client_ip(parts, state), user_agent(parts)),
        principal,
        user_id: Some(user),
        session_id: Some(sid),
        aal,
    })
}

/// 429 with `Retry-After`.
pub fn too_many(wait: std::time::Duration) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; retry in {} s", wait.as_secs().max(1)),
    )
    .with_details(serde_json::json!({ "retry_after_secs": wait.as_secs().max(1) }))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = authenticate(parts, state).await?;
        // AAL is enforced here, for every route, not by a login page.
        if caller.principal.needs_step_up() {
            return Err(mfa_required());
        }
        Ok(caller)
    }
}

impl FromRequestParts<AppState> for SessionCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(SessionCaller)
    }
}

/// Per-client limit on the whole JSON API (`rate_limit_api_per_min`, keyed by IP or IPv6 /64
/// from trusted proxies only), answered with 429 and `Retry-After`. Requests with a kiosk
/// device token are limited per kiosk instead.
pub async fn api_rate_limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // Device-token routes are limited per kiosk instead (`kiosk_api::KioskDevice`).
    if req.uri().path().starts_with("/api/")
        && !crate::kiosk_api::limited_per_kiosk(req.uri().path(), req.headers())
    {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let xff = forwarded_for(req.headers());
        if let Some(ip) = net::client_ip(peer, xff.as_deref(), &state.config.trusted_proxies)
            && let Err(wait) = state.auth.limiter.check(
                &format!("api:{}", net::rate_key(ip)),
                state.config.rate_limit_api_per_min,
            )
        {
            return too_many(wait).into_response();
        }
    }
    next.run(req).await
}
