use crate::ids::{AuditId, FranchiseId, GymId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One security- or business-relevant action, kept for review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Id.
    pub id: AuditId,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who did it: `user`, `bootstrap`, `cli`, `kiosk`, `system`.
    pub actor_kind: String,
    /// The acting user, if a user acted.
    pub actor_user_id: Option<UserId>,
    /// Tenant franchise, if the action concerns one.
    pub franchise_id: Option<FranchiseId>,
    /// Tenant gym, if the action concerns one.
    pub gym_id: Option<GymId>,
    /// Dotted action name, e.g. `member.create`.
    pub action: String,
    /// Kind of the target, e.g. `member`.
    pub target_type: String,
    /// Id of the target.
    pub target_id: Option<String>,
    /// Client IP (from trusted proxies only).
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Extra structured details (never secrets).
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Input for an audit entry; id and time are assigned by storage.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEntry {
    /// Who did it.
    pub actor_kind: String,
    /// The acting user.
    pub actor_user_id: Option<UserId>,
    /// Tenant franchise.
    pub franchise_id: Option<FranchiseId>,
    /// Tenant gym.
    pub gym_id: Option<GymId>,
    /// Dotted action name.
    pub action: String,
    /// Kind of the target.
    pub target_type: String,
    /// Id of the target.
    pub target_id: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Extra details.
    pub details: serde_json::Value,
}

/// Who performs a write; storage records it in the audit log in the same transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    /// `user`, `bootstrap`, `cli`, `kiosk`, `system`.
    pub kind: &'static str,
    /// The acting user.
    pub user_id: Option<UserId>,
    /// Client IP (trusted proxies only).
    pub ip: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
}

impl Actor {
    /// The command-line tool run by an operator.
    pub fn cli() -> Self {
        Self {
            kind: "cli",
            ..Self::default()
        }
    }
    /// Background work of the server itself.
    pub fn system() -> Self {
        Self {
            kind: "system",
            ..Self::default()
        }
    }
    /// A signed-in user.
    pub fn user(id: UserId, ip: Option<String>, user_agent: Option<String>) -> Self {
        Self {
            kind: "user",
            user_id: Some(id),
            ip,
            user_agent,
        }
    }
    /// The bootstrap admin token of the configuration.
    pub fn bootstrap(ip: Option<String>, user_agent: Option<String>) -> Self {
        Self {
            kind: "bootstrap",
            user_id: None,
            ip,
            user_agent,
        }
    }
}
