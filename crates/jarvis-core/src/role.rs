//! Roles a user can hold through a membership.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A user's role; what it grants is decided by the permission rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Platform operator: every franchise and gym.
    SuperAdmin,
    /// Every gym of one franchise.
    FranchiseOwner,
    /// One gym, full control.
    GymManager,
    /// One gym, read plus member edits.
    GymStaff,
}

impl Role {
    /// All roles, most powerful first.
    pub const ALL: [Role; 4] = [
        Role::SuperAdmin,
        Role::FranchiseOwner,
        Role::GymManager,
        Role::GymStaff,
    ];

    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::FranchiseOwner => "franchise_owner",
            Role::GymManager => "gym_manager",
            Role::GymStaff => "gym_staff",
        }
    }

    /// Whether this role must use a second factor (DESIGN §5).
    pub fn requires_mfa(&self) -> bool {
        matches!(self, Role::SuperAdmin | Role::FranchiseOwner)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}
