use crate::ids::FranchiseId;
use crate::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A franchise: the top of the tenancy tree, owning gyms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Franchise {
    /// Id.
    pub id: FranchiseId,
    /// Display name (unique across the platform).
    pub name: String,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When it was archived, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub archived_at: Option<OffsetDateTime>,
}

/// Input to create a franchise.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFranchise {
    /// Display name, 1–120 characters.
    pub name: String,
}

impl NewFranchise {
    /// Trims and checks every field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let name = v.text("name", &self.name, 120);
        v.finish().map(|()| Self { name })
    }
}

/// Changes to a franchise; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FranchisePatch {
    /// New display name.
    pub name: Option<String>,
}

impl FranchisePatch {
    /// Trims and checks every given field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let name = self.name.map(|n| v.text("name", &n, 120));
        v.finish().map(|()| Self { name })
    }
}
