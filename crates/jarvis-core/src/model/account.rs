//! Accounts as the API shows them: sign-in sessions, auth events and invitations.

use crate::ids::{AuthEventId, FranchiseId, GymId, InvitationId, SessionId, UserId};
use crate::model::MembershipTarget;
use crate::role::Role;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Whether a session is a bearer-token (API) or a cookie (dashboard) session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// JWT access tokens plus rotating refresh tokens.
    Api,
    /// Dashboard cookie.
    Web,
}

impl SessionKind {
    /// Stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            SessionKind::Api => "api",
            SessionKind::Web => "web",
        }
    }
}

/// A signed-in session (one refresh-token family, or one dashboard cookie).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthSession {
    /// Id (also the `sid` claim of its access tokens).
    #[schema(value_type = String, format = Uuid)]
    pub id: SessionId,
    /// The user.
    #[schema(value_type = String, format = Uuid)]
    pub user_id: UserId,
    /// API or dashboard.
    pub kind: SessionKind,
    /// Assurance level reached: 1 (password) or 2 (password + second factor).
    pub aal: u8,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last used.
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen_at: OffsetDateTime,
    /// Absolute end.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When it was revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Why it was revoked (`logout`, `reuse`, `password_change`, `user`).
    pub revoked_reason: Option<String>,
    /// Client IP at sign-in.
    pub ip: Option<String>,
    /// Client user agent at sign-in.
    pub user_agent: Option<String>,
}

impl AuthSession {
    /// Whether it can still be used at `now` given an idle timeout.
    pub fn is_live(&self, now: OffsetDateTime, idle: time::Duration) -> bool {
        self.revoked_at.is_none() && now < self.expires_at && now < self.last_seen_at + idle
    }
}

/// A sign-in or security event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthEvent {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: AuthEventId,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `login.success`, `login.failure`, `login.locked`, `mfa.enrolled`, `mfa.failure`,
    /// `refresh.reuse`, `password.reset`, `session.revoked`, …
    pub event: String,
    /// The user concerned, if known.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub user_id: Option<UserId>,
    /// The e-mail given, if any.
    pub email: Option<String>,
    /// Tenant franchise, if any.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub franchise_id: Option<FranchiseId>,
    /// Tenant gym, if any.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub gym_id: Option<GymId>,
    /// Client IP (trusted proxies only).
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Extra structured details (never secrets); `null` when the event has none.
    #[schema(value_type = Option<Object>)]
    pub details: serde_json::Value,
}

/// A pending or past invitation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Invitation {
    /// Id.
    #[schema(value_type = String, format = Uuid)]
    pub id: InvitationId,
    /// Invitee e-mail.
    pub email: String,
    /// Invitee name.
    pub display_name: String,
    /// Role to grant.
    pub role: Role,
    /// Franchise of the role.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub franchise_id: Option<FranchiseId>,
    /// Gym of the role.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub gym_id: Option<GymId>,
    /// Who invited.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub invited_by: Option<UserId>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Expiry.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When accepted.
    #[serde(with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<OffsetDateTime>,
    /// When revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl Invitation {
    /// Where the invited role applies.
    pub fn target(&self) -> Option<MembershipTarget> {
        match (self.franchise_id, self.gym_id) {
            (None, None) => Some(MembershipTarget::Platform),
            (Some(f), None) => Some(MembershipTarget::Franchise(f)),
            (Some(f), Some(g)) => Some(MembershipTarget::Gym(f, g)),
            (None, Some(_)) => None,
        }
    }
}
