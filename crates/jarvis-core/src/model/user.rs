use super::Locale;
use crate::ids::{FranchiseId, GymId, MembershipId, UserId};
use crate::role::Role;
use crate::validate::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A dashboard user (staff, manager, owner, operator). Members of gyms are not users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Login e-mail, lower-cased, unique.
    pub email: String,
    /// Name shown in the dashboard.
    pub display_name: String,
    /// Dashboard language.
    pub locale: Locale,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was disabled, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
}

/// Input to create a user; the password arrives already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login e-mail.
    pub email: String,
    /// Name shown in the dashboard.
    pub display_name: String,
    /// Dashboard language.
    pub locale: Locale,
    /// PHC-format password hash, if a password is set.
    pub password_hash: Option<String>,
}

impl NewUser {
    /// Trims and checks every field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let email = v.text("email", &self.email, 254).to_lowercase();
        if !email.is_empty() && !crate::validate::is_email(&email) {
            v.push(FieldError::new(
                "email",
                "invalid_format",
                "must be an e-mail address like name@example.com",
            ));
        }
        let display_name = v.text("display_name", &self.display_name, 120);
        v.finish().map(|()| Self {
            email,
            display_name,
            locale: self.locale,
            password_hash: self.password_hash,
        })
    }
}

/// A role a user holds on part of the tenancy tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Membership {
    /// Id.
    pub id: MembershipId,
    /// The user.
    pub user_id: UserId,
    /// The role.
    pub role: Role,
    /// The franchise (none for super admins).
    pub franchise_id: Option<FranchiseId>,
    /// The gym (gym roles only).
    pub gym_id: Option<GymId>,
    /// When it was granted.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Membership {
    /// Where it applies (`None` for a gym without franchise, which the schema forbids).
    pub fn target(&self) -> Option<MembershipTarget> {
        match (self.franchise_id, self.gym_id) {
            (None, None) => Some(MembershipTarget::Platform),
            (Some(f), None) => Some(MembershipTarget::Franchise(f)),
            (Some(f), Some(g)) => Some(MembershipTarget::Gym(f, g)),
            (None, Some(_)) => None,
        }
    }
}

/// A user as a tenant sees them: the profile and the memberships visible in the tenant's scope
/// (never credentials).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TeamMember {
    /// The user.
    pub user: User,
    /// Their memberships inside the scope.
    pub memberships: Vec<Membership>,
}

/// Where a membership applies; its shape must match the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipTarget {
    /// The platform (super admin).
    Platform,
    /// A franchise (owner).
    Franchise(FranchiseId),
    /// A gym of a franchise (manager, staff).
    Gym(FranchiseId, GymId),
}

impl MembershipTarget {
    /// Checks the target fits the role.
    pub fn fits(&self, role: Role) -> bool {
        matches!(
            (role, self),
            (Role::SuperAdmin, MembershipTarget::Platform)
                | (Role::FranchiseOwner, MembershipTarget::Franchise(_))
                | (Role::GymManager | Role::GymStaff, MembershipTarget::Gym(..))
        )
    }
}
