//! The storage traits, one per aggregate. Both backends implement all of them and pass the same
//! conformance suite (`tests/conformance.rs`).

use crate::Backend;
use crate::error::StoreResult;
use crate::migrate::MigrationInfo;
use async_trait::async_trait;
use jarvis_core::model::*;
use jarvis_core::*;

/// Filters for gym lists.
#[derive(Debug, Clone, Default)]
pub struct GymFilter {
    /// Only gyms of this franchise.
    pub franchise_id: Option<FranchiseId>,
    /// Only this status (archived gyms are hidden unless asked for).
    pub status: Option<GymStatus>,
    /// Case-insensitive name search.
    pub q: Option<String>,
}

/// Filters for franchise lists.
#[derive(Debug, Clone, Default)]
pub struct FranchiseFilter {
    /// Case-insensitive name search.
    pub q: Option<String>,
    /// Include archived franchises.
    pub include_archived: bool,
}

/// Filters for audit log reads.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this action (exact, e.g. `member.create`).
    pub action: Option<String>,
    /// Only this gym.
    pub gym_id: Option<GymId>,
    /// Only this acting user.
    pub actor_user_id: Option<UserId>,
}

/// Franchises (top tenants).
#[async_trait]
pub trait FranchiseStore: Send + Sync {
    /// Creates a franchise (platform scope only).
    async fn create_franchise(
        &self,
        scope: &Scope,
        actor: &Actor,
        new: NewFranchise,
    ) -> StoreResult<Franchise>;
    /// One franchise the scope can see.
    async fn franchise(&self, scope: &Scope, id: FranchiseId) -> StoreResult<Franchise>;
    /// Franchises the scope can see.
    async fn list_franchises(
        &self,
        scope: &Scope,
        filter: &FranchiseFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Franchise>>;
    /// Renames a franchise.
    async fn update_franchise(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: FranchiseId,
        patch: FranchisePatch,
    ) -> StoreResult<Franchise>;
    /// Archives a franchise (kept for history, hidden from lists).
    async fn archive_franchise(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: FranchiseId,
    ) -> StoreResult<Franchise>;
}

/// Gyms of franchises.
#[async_trait]
pub trait GymStore: Send + Sync {
    /// Creates a gym in a franchise the scope covers, with the given initial status.
    async fn create_gym(
        &self,
        scope: &Scope,
        actor: &Actor,
        new: NewGym,
        status: GymStatus,
    ) -> StoreResult<Gym>;
    /// One gym the scope can see.
    async fn gym(&self, scope: &Scope, id: GymId) -> StoreResult<Gym>;
    /// Gyms the scope can see.
    async fn list_gyms(
        &self,
        scope: &Scope,
        filter: &GymFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Gym>>;
    /// Changes a gym's fields.
    async fn update_gym(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: GymId,
        patch: GymPatch,
    ) -> StoreResult<Gym>;
    /// Moves a gym to a new status.
    async fn set_gym_status(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: GymId,
        status: GymStatus,
    ) -> StoreResult<Gym>;
}

/// Gym members.
#[async_trait]
pub trait MemberStore: Send + Sync {
    /// Adds a member to a gym.
    async fn create_member(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        new: NewMember,
    ) -> StoreResult<Member>;
    /// One member of a gym.
    async fn member(&self, scope: &Scope, gym: GymId, id: MemberId) -> StoreResult<Member>;
    /// The member holding a badge in a gym.
    async fn member_by_badge(&self, scope: &Scope, gym: GymId, badge: &str) -> StoreResult<Member>;
    /// Members of a gym.
    async fn list_members(
        &self,
        scope: &Scope,
        gym: GymId,
        filter: &MemberFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Member>>;
    /// Changes a member.
    async fn update_member(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: MemberId,
        patch: MemberPatch,
    ) -> StoreResult<Member>;
    /// Deletes a member.
    async fn delete_member(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: MemberId,
    ) -> StoreResult<()>;
}

/// Kiosk devices.
#[async_trait]
pub trait KioskStore: Send + Sync {
    /// Adds a kiosk to a gym.
    async fn create_kiosk(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        new: NewKiosk,
    ) -> StoreResult<Kiosk>;
    /// One kiosk of a gym.
    async fn kiosk(&self, scope: &Scope, gym: GymId, id: KioskId) -> StoreResult<Kiosk>;
    /// Kiosks of a gym.
    async fn list_kiosks(
        &self,
        scope: &Scope,
        gym: GymId,
        page: PageRequest,
    ) -> StoreResult<Page<Kiosk>>;
}

/// Dashboard users and their role memberships.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user (identity data, not tenant data), optionally with a first role granted in
    /// the same transaction so a user never exists half-made.
    async fn create_user(
        &self,
        actor: &Actor,
        new: NewUser,
        grant: Option<(Role, MembershipTarget)>,
    ) -> StoreResult<User>;
    /// The user with this e-mail and their password hash (sign-in lookup).
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<(User, Option<String>)>>;
    /// A user by id.
    async fn user(&self, id: UserId) -> StoreResult<User>;
    /// Grants a role on a target the scope covers.
    async fn add_membership(
        &self,
        scope: &Scope,
        actor: &Actor,
        user: UserId,
        role: Role,
        target: MembershipTarget,
    ) -> StoreResult<Membership>;
    /// Every membership of one user (read in the user's own identity context).
    async fn memberships_of_user(&self, user: UserId) -> StoreResult<Vec<Membership>>;
}

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an entry outside of another write (e.g. a failed sign-in).
    async fn record_audit(&self, scope: &Scope, entry: NewAuditEntry) -> StoreResult<AuditEntry>;
    /// Entries the scope can see, newest first.
    async fn list_audit(
        &self,
        scope: &Scope,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEntry>>;
}

/// Health and schema maintenance.
#[async_trait]
pub trait Maintenance: Send + Sync {
    /// The engine behind this store.
    fn backend(&self) -> Backend;
    /// Round-trips a trivial query.
    async fn ping(&self) -> StoreResult<()>;
    /// Embedded migrations with their applied state.
    async fn migrations(&self) -> StoreResult<Vec<MigrationInfo>>;
    /// Applies pending migrations; returns those applied now.
    async fn migrate(&self) -> StoreResult<Vec<MigrationInfo>>;
    /// Table name → column names, for the cross-backend schema check.
    async fn schema(&self) -> StoreResult<std::collections::BTreeMap<String, Vec<String>>>;
    /// Closes the pool, waiting for connections to return.
    async fn close(&self);
}

/// Everything the server needs from storage.
pub trait Store:
    FranchiseStore + GymStore + MemberStore + KioskStore + UserStore + AuditStore + Maintenance
{
}

impl<T> Store for T where
    T: FranchiseStore + GymStore + MemberStore + KioskStore + UserStore + AuditStore + Maintenance
{
}
