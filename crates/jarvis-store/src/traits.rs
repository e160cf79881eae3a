//! The storage traits, one per aggregate. Both backends implement all of them and pass the same
//! conformance suite (`tests/it/conformance.rs`).

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
    /// Order of the rows.
    pub sort: GymSort,
}

/// Orders of the gym list; each ends with the id so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GymSort {
    /// By name, A to Z.
    #[default]
    Name,
    /// By name, Z to A.
    NameDesc,
    /// By status (alphabetical key), then name.
    Status,
    /// By status, reversed, then name.
    StatusDesc,
    /// Newest first.
    CreatedDesc,
    /// Oldest first.
    Created,
}

impl GymSort {
    /// Every order, the default first.
    pub const ALL: [GymSort; 6] = [
        Self::Name,
        Self::NameDesc,
        Self::Status,
        Self::StatusDesc,
        Self::CreatedDesc,
        Self::Created,
    ];

    /// The order's key in list URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::NameDesc => "name_desc",
            Self::Status => "status",
            Self::StatusDesc => "status_desc",
            Self::CreatedDesc => "created_desc",
            Self::Created => "created",
        }
    }

    /// The order a URL key names, or the default for anything else.
    pub fn parse(key: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == key.trim())
            .unwrap_or_default()
    }
}

/// Orders of the audit log; each ends with the id so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuditSort {
    /// Newest first.
    #[default]
    AtDesc,
    /// Oldest first.
    At,
}

impl AuditSort {
    /// Every order, the default first.
    pub const ALL: [AuditSort; 2] = [Self::AtDesc, Self::At];

    /// The order's key in list URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AtDesc => "at_desc",
            Self::At => "at",
        }
    }

    /// The order a URL key names, or the default for anything else.
    pub fn parse(key: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == key.trim())
            .unwrap_or_default()
    }
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
    /// Order of the rows.
    pub sort: AuditSort,
}

/// Filters for team (user) lists.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Case-insensitive search in name and e-mail.
    pub q: Option<String>,
    /// Order of the rows.
    pub sort: UserSort,
}

/// Orders of the team list; each ends with the id so pages never overlap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UserSort {
    /// By display name, A to Z, then e-mail.
    #[default]
    Name,
    /// By display name, Z to A, then e-mail.
    NameDesc,
    /// By e-mail, A to Z.
    Email,
    /// By e-mail, Z to A.
    EmailDesc,
    /// Active accounts first, then by name.
    State,
    /// Disabled accounts first, then by name.
    StateDesc,
}

impl UserSort {
    /// Every order, the default first.
    pub const ALL: [UserSort; 6] = [
        Self::Name,
        Self::NameDesc,
        Self::Email,
        Self::EmailDesc,
        Self::State,
        Self::StateDesc,
    ];

    /// The order's key in list URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::NameDesc => "name_desc",
            Self::Email => "email",
            Self::EmailDesc => "email_desc",
            Self::State => "state",
            Self::StateDesc => "state_desc",
        }
    }

    /// The order a URL key names, or the default for anything else.
    pub fn parse(key: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == key.trim())
            .unwrap_or_default()
    }
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
    /// The gym's members among `ids`, in no particular order (ids not found are left out):
    /// one read for a page that names many members, instead of one read each.
    async fn members_by_ids(
        &self,
        scope: &Scope,
        gym: GymId,
        ids: &[MemberId],
    ) -> StoreResult<Vec<Member>>;
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
    /// Users holding a membership visible in the scope (every user for the platform), with
    /// those memberships, by name.
    async fn list_users(
        &self,
        scope: &Scope,
        filter: &UserFilter,
        page: PageRequest,
    ) -> StoreResult<Page<TeamMember>>;
    /// One user as the scope sees them; not found unless they hold a membership visible in it
    /// (any user for the platform).
    async fn team_member(&self, scope: &Scope, id: UserId) -> StoreResult<TeamMember>;
    /// Disables or re-enables a user the scope sees (audited as `user.disable` / `user.enable`).
    /// Disabling ends every session of the user in the same transaction, and is refused with
    /// the conflict `last_super_admin` when they are the last enabled super admin. Setting the
    /// state they already have changes nothing.
    async fn set_user_disabled(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: UserId,
        disabled: bool,
    ) -> StoreResult<User>;
    /// Revokes one membership the scope sees and ends every session of its user, in one
    /// transaction (audited as `membership.revoke`). Refused with the conflict
    /// `last_super_admin` for the last enabled super admin's role.
    async fn revoke_membership(
        &self,
        scope: &Scope,
        actor: &Actor,
        user: UserId,
        id: MembershipId,
    ) -> StoreResult<Membership>;
}

/// The audit log.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an entry outside of another write (e.g. a failed sign-in).
    async fn record_audit(&self, scope: &Scope, entry: NewAuditEntry) -> StoreResult<AuditEntry>;
    /// Entries the scope can see, in the filter's order (newest first by default).
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
    /// Connections of this process's pool right now (for `/metrics`).
    fn pool_status(&self) -> crate::PoolStatus;
    /// Refreshes the query planner's statistics from a bounded sample (SQLite keeps none on
    /// its own, and without them picks a gym-wide index for a primary-key lookup).
    async fn refresh_statistics(&self) -> StoreResult<()>;
}

/// Everything the server needs from storage.
pub trait Store:
    FranchiseStore
    + GymStore
    + MemberStore
    + KioskStore
    + UserStore
    + AuditStore
    + Maintenance
    + GymAdminStore
    + KioskDeviceStore
    + ActivityStore
    + ScheduleStore
    + ImportStore
    + GdprStore
    + crate::accounts::AccountStore
    + crate::jobs::JobStore
    + crate::jobs::InstanceStore
    + crate::jobs::ThrottleStore
    + crate::voice::VoiceStore
    + crate::voice::PricingStore
    + crate::leads::LeadStore
    + crate::ops::OpsStore
    + crate::monitor::MonitorStore
    + crate::dump::Dump
    + crate::knowledge::KnowledgeStore
    + crate::analysis::AnalysisStore
    + crate::analytics::AnalyticsStore
    + crate::http_tools::HttpToolStore
    + crate::usage::UsageStore
    + crate::overview::OverviewStore
    + crate::seed::SeedStore
{
}

impl<T> Store for T where
    T: FranchiseStore
        + GymStore
        + MemberStore
        + KioskStore
        + UserStore
        + AuditStore
        + Maintenance
        + GymAdminStore
        + KioskDeviceStore
        + ActivityStore
        + ScheduleStore
        + ImportStore
        + GdprStore
        + crate::accounts::AccountStore
        + crate::jobs::JobStore
        + crate::jobs::InstanceStore
        + crate::jobs::ThrottleStore
        + crate::voice::VoiceStore
        + crate::leads::LeadStore
        + crate::ops::OpsStore
        + crate::monitor::MonitorStore
        + crate::voice::PricingStore
        + crate::dump::Dump
        + crate::knowledge::KnowledgeStore
        + crate::analysis::AnalysisStore
        + crate::analytics::AnalyticsStore
        + crate::http_tools::HttpToolStore
        + crate::usage::UsageStore
        + crate::overview::OverviewStore
        + crate::seed::SeedStore
{
}

/// The gym approval workflow.
#[async_trait]
pub trait GymAdminStore: Send + Sync {
    /// Moves a gym along the approval workflow (pending → active/rejected, active ⇄ suspended,
    /// → archived), refusing other moves; `reason` is kept for rejections and suspensions.
    /// Compare-and-set: the move is checked against `from` and happens only while the gym is
    /// still `from`; otherwise `Conflict` (`gyms_status_changed`), so of two concurrent
    /// reviews one wins and the other learns the gym changed.
    async fn review_gym(
        &self,
        scope: &Scope,
        actor: &Actor,
        id: GymId,
        from: GymStatus,
        to: GymStatus,
        reason: Option<String>,
    ) -> StoreResult<Gym>;
}

/// A kiosk resolved from its device token, with its gym.
#[derive(Debug, Clone)]
pub struct KioskIdentity {
    /// The kiosk.
    pub kiosk: Kiosk,
    /// Its gym (status decides whether it may run).
    pub gym: Gym,
}

impl KioskIdentity {
    /// The tenant scope the device acts in: its own gym, nothing more.
    pub fn scope(&self) -> Scope {
        Scope::Gym {
            franchise: self.gym.franchise_id,
            gym: self.gym.id,
        }
    }
}

/// Kiosk pairing, device tokens and heartbeats. Secrets arrive already hashed: the store never
/// sees a plaintext code or token.
#[async_trait]
pub trait KioskDeviceStore: Send + Sync {
    /// Renames and/or moves a kiosk to another gym of the same franchise.
    async fn update_kiosk(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: KioskId,
        patch: KioskPatch,
    ) -> StoreResult<Kiosk>;
    /// Stores the hash of a fresh pairing code (replacing any outstanding one).
    async fn set_pairing_code(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: KioskId,
        code_hash: &str,
        expires_at: time::OffsetDateTime,
    ) -> StoreResult<Kiosk>;
    /// Revokes the device token and any outstanding code; takes effect on the next request.
    async fn revoke_kiosk(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: KioskId,
    ) -> StoreResult<Kiosk>;
    /// Exchanges an unexpired code (by hash) for a device token (by hash), once. Refuses kiosks
    /// of gyms that are not active, without using up the code.
    async fn pair_kiosk(&self, code_hash: &str, token_hash: &str) -> StoreResult<KioskIdentity>;
    /// The paired kiosk holding this token hash.
    async fn kiosk_by_token(&self, token_hash: &str) -> StoreResult<KioskIdentity>;
    /// Records a heartbeat (and its heard-latency sample, if any).
    async fn record_heartbeat(&self, device: &KioskIdentity, hb: Heartbeat) -> StoreResult<Kiosk>;
    /// Writes coalesced heartbeats in one transaction. A kiosk's row only moves forward: it is
    /// updated when the heartbeat is newer than its stored `last_seen_at` (two instances flushing
    /// the same kiosk: the latest heartbeat wins) and the kiosk is still paired. Every
    /// heard-latency sample is stored (a kiosk deleted meanwhile: dropped). Returns how many
    /// kiosks were updated.
    async fn record_heartbeats(&self, batch: &[PendingHeartbeat]) -> StoreResult<u64>;
}

/// A heartbeat received but not yet written (see [`KioskDeviceStore::record_heartbeats`]).
#[derive(Debug, Clone)]
pub struct PendingHeartbeat {
    /// The kiosk.
    pub kiosk: KioskId,
    /// Its gym.
    pub gym: GymId,
    /// The gym's franchise.
    pub franchise: FranchiseId,
    /// What the kiosk reported.
    pub heartbeat: Heartbeat,
    /// When the server received it: becomes `last_seen_at`.
    pub received_at: time::OffsetDateTime,
    /// Heard-latency samples (when received, milliseconds) carried since the last write: the
    /// newest heartbeat replaces older ones, its samples do not (each one is stored). The
    /// heartbeat's own `voice_latency_ms` is not read by the store; it is one of these.
    pub heard_latency: Vec<(time::OffsetDateTime, u32)>,
}

impl PendingHeartbeat {
    /// The tenant scope of the write: the kiosk's own gym.
    pub fn scope(&self) -> Scope {
        Scope::Gym {
            franchise: self.franchise,
            gym: self.gym,
        }
    }
}

/// Visits and member facts.
#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Records a visit and bumps the member's visit count and last visit.
    async fn record_visit(
        &self,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
        kiosk: Option<KioskId>,
    ) -> StoreResult<Visit>;
    /// Records a kiosk scan as a visit unless the member's last visit is within `debounce`:
    /// one atomic conditional update, so concurrent scans of one badge record one visit.
    /// `None` when the scan fell inside the window.
    async fn record_scan_visit(
        &self,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
        kiosk: Option<KioskId>,
        debounce: time::Duration,
    ) -> StoreResult<Option<Visit>>;
    /// A member's visits, newest first.
    async fn list_visits(
        &self,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
        page: PageRequest,
    ) -> StoreResult<Page<Visit>>;
    /// Adds a fact about a member.
    async fn add_fact(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        member: MemberId,
        new: NewMemberFact,
    ) -> StoreResult<MemberFact>;
    /// A member's facts, newest first.
    async fn list_facts(
        &self,
        scope: &Scope,
        gym: GymId,
        member: MemberId,
        page: PageRequest,
    ) -> StoreResult<Page<MemberFact>>;
    /// Deletes a fact.
    async fn delete_fact(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        member: MemberId,
        id: MemberFactId,
    ) -> StoreResult<()>;
}

/// Class schedules.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Adds a class.
    async fn create_class(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        new: NewClassSchedule,
    ) -> StoreResult<ClassSchedule>;
    /// One class.
    async fn class(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ClassScheduleId,
    ) -> StoreResult<ClassSchedule>;
    /// Classes of a gym by weekday and start time; optionally one weekday only.
    async fn list_classes(
        &self,
        scope: &Scope,
        gym: GymId,
        weekday: Option<Weekday>,
        page: PageRequest,
    ) -> StoreResult<Page<ClassSchedule>>;
    /// Replaces a class.
    async fn update_class(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: ClassScheduleId,
        new: NewClassSchedule,
    ) -> StoreResult<ClassSchedule>;
    /// Deletes a class.
    async fn delete_class(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: ClassScheduleId,
    ) -> StoreResult<()>;
}

/// Member CSV imports: job rows and the bulk insert.
#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Records a queued import job.
    async fn create_import_job(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        dry_run: bool,
        skip_bad_rows: bool,
    ) -> StoreResult<ImportJob>;
    /// One job.
    async fn import_job(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ImportJobId,
    ) -> StoreResult<ImportJob>;
    /// Jobs of a gym, newest first.
    async fn list_import_jobs(
        &self,
        scope: &Scope,
        gym: GymId,
        page: PageRequest,
    ) -> StoreResult<Page<ImportJob>>;
    /// Updates status and progress of a queued or running job (which also proves it alive:
    /// `updated_at` moves); `false` when the job had already finished or been swept.
    async fn import_progress(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ImportJobId,
        status: ImportStatus,
        total_rows: u64,
        processed_rows: u64,
    ) -> StoreResult<bool>;
    /// Marks failed, with `report`, every running job (any tenant) whose `updated_at` is
    /// before `stale_before`: its runner died (crash, restart) since live runs bump it every
    /// few seconds, and the queue did not run it again. Queued jobs wait for their queue job
    /// and are left alone. Returns how many.
    async fn fail_stale_imports(
        &self,
        stale_before: time::OffsetDateTime,
        report: serde_json::Value,
    ) -> StoreResult<u64>;
    /// Finishes a queued or running job with its report and wipes its upload; a job already
    /// finished keeps its first outcome. Returns the job as stored.
    async fn finish_import_job(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ImportJobId,
        status: ImportStatus,
        report: serde_json::Value,
    ) -> StoreResult<ImportJob>;
    /// Keeps the uploaded file and its run options (`meta`) with a queued or running job,
    /// until its rows are written or it ends. `NotFound` when the job is not queued or running.
    async fn save_import_upload(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ImportJobId,
        data: &[u8],
        meta: serde_json::Value,
    ) -> StoreResult<()>;
    /// The file and run options kept with a job: the file is `None` once the job's rows were
    /// written (the bulk insert wipes it in its transaction) or the job ended.
    async fn import_upload(
        &self,
        scope: &Scope,
        gym: GymId,
        id: ImportJobId,
    ) -> StoreResult<(Option<Vec<u8>>, Option<serde_json::Value>)>;
    /// Every badge id already used in a gym (to report duplicates per row before writing).
    async fn member_badges(&self, scope: &Scope, gym: GymId) -> StoreResult<Vec<String>>;
    /// Inserts validated members in one transaction (all or nothing) with one audit row;
    /// `progress` is called with the rows written so far. With a `job`, its row is touched in
    /// the same transaction, and nothing is written (`Conflict`) if the job is no longer
    /// queued or running (declared interrupted meanwhile).
    async fn insert_members_bulk(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        job: Option<ImportJobId>,
        rows: &[NewMember],
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> StoreResult<u64>;
}

/// GDPR access and erasure.
#[async_trait]
pub trait GdprStore: Send + Sync {
    /// Everything stored about a member; the access is audited.
    async fn export_member(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: MemberId,
    ) -> StoreResult<MemberExport>;
    /// Hard-deletes a member's personal data everywhere; visits stay as anonymous counts.
    async fn erase_member(
        &self,
        scope: &Scope,
        actor: &Actor,
        gym: GymId,
        id: MemberId,
    ) -> StoreResult<Erasure>;
}
