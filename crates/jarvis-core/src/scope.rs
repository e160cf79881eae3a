//! The tenant scope every tenant-scoped storage call takes first.

use crate::ids::{FranchiseId, GymId};
use serde::{Deserialize, Serialize};

/// What part of the tenancy tree a caller may see. Storage filters every query by it and,
/// on PostgreSQL, row-level security enforces it a second time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// The whole platform (super admins, CLI maintenance).
    Platform,
    /// Every gym of one franchise.
    Franchise {
        /// The franchise.
        franchise: FranchiseId,
    },
    /// One gym (managers, staff, kiosks).
    Gym {
        /// The gym's franchise (lets the gym see its franchise's name).
        franchise: FranchiseId,
        /// The gym.
        gym: GymId,
    },
}

impl Scope {
    /// Whether this scope covers a row owned by `franchise` / `gym`.
    pub fn covers(&self, franchise: FranchiseId, gym: Option<GymId>) -> bool {
        match *self {
            Scope::Platform => true,
            Scope::Franchise { franchise: f } => f == franchise,
            Scope::Gym {
                franchise: f,
                gym: g,
            } => f == franchise && gym == Some(g),
        }
    }

    /// Whether this scope covers the franchise row itself (gym scopes may read it).
    pub fn covers_franchise(&self, franchise: FranchiseId) -> bool {
        match *self {
            Scope::Platform => true,
            Scope::Franchise { franchise: f } | Scope::Gym { franchise: f, .. } => f == franchise,
        }
    }

    /// The franchise this scope is pinned to, if any.
    pub fn franchise(&self) -> Option<FranchiseId> {
        match *self {
            Scope::Platform => None,
            Scope::Franchise { franchise } | Scope::Gym { franchise, .. } => Some(franchise),
        }
    }

    /// The gym this scope is pinned to, if any.
    pub fn gym(&self) -> Option<GymId> {
        match *self {
            Scope::Gym { gym, .. } => Some(gym),
            _ => None,
        }
    }

    /// The short name used in SQL session settings and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Platform => "platform",
            Scope::Franchise { .. } => "franchise",
            Scope::Gym { .. } => "gym",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gym_scope_covers_only_its_gym() {
        let f = FranchiseId::new();
        let g = GymId::new();
        let s = Scope::Gym {
            franchise: f,
            gym: g,
        };
        assert!(s.covers(f, Some(g)));
        assert!(!s.covers(f, Some(GymId::new())));
        assert!(!s.covers(f, None));
        assert!(s.covers_franchise(f));
        assert!(!s.covers_franchise(FranchiseId::new()));
        assert!(Scope::Platform.covers(f, None));
        assert!(
            !Scope::Franchise {
                franchise: FranchiseId::new()
            }
            .covers(f, Some(g))
        );
    }
}
