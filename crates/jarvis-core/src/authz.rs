//! The one permission function. Every route asks [`authorize`] whether a principal may perform
//! an [`Action`] on a [`Resource`]; the answer carries the [`Scope`] to hand to storage.
//!
//! Rules, in order:
//! 1. A user holding a role that requires MFA (super admin, franchise owner) with an AAL1 token
//!    gets [`Decision::MfaRequired`] for everything: MFA is enforced here, not by a login page.
//! 2. A resource no grant of the principal covers is [`Decision::NotFound`] (foreign ids must not
//!    leak whether they exist); platform-wide resources are [`Decision::Forbidden`] instead.
//! 3. Among covering grants, the most powerful that allows the action wins; its scope is used.
//!    Covered but not allowed is [`Decision::Forbidden`].

use crate::ids::{FranchiseId, GymId, KioskId, UserId};
use crate::model::MembershipTarget;
use crate::role::Role;
use crate::scope::Scope;
use serde::{Deserialize, Serialize};

/// Authentication assurance level of a session (NIST SP 800-63B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Aal {
    /// Password only.
    Aal1 = 1,
    /// Password plus a second factor.
    Aal2 = 2,
}

impl Aal {
    /// The number carried in the `aal` claim.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
    /// Parses the `aal` claim.
    pub fn from_u8(n: u8) -> Option<Self> {
        match n {
            1 => Some(Aal::Aal1),
            2 => Some(Aal::Aal2),
            _ => None,
        }
    }
}

/// One role held on one part of the tenancy tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant {
    /// The role.
    pub role: Role,
    /// Where it applies.
    pub target: MembershipTarget,
}

impl Grant {
    /// The storage scope this grant gives.
    pub fn scope(&self) -> Scope {
        match self.target {
            MembershipTarget::Platform => Scope::Platform,
            MembershipTarget::Franchise(franchise) => Scope::Franchise { franchise },
            MembershipTarget::Gym(franchise, gym) => Scope::Gym { franchise, gym },
        }
    }

    /// Whether the grant covers a resource (for tenant data inside it).
    fn covers(&self, resource: &Resource) -> bool {
        match (self.target, *resource) {
            (MembershipTarget::Platform, _) => true,
            (_, Resource::Platform) => false,
            (MembershipTarget::Franchise(f), Resource::Franchise(rf))
            | (MembershipTarget::Franchise(f), Resource::Gym(rf, _)) => f == rf,
            (MembershipTarget::Gym(f, g), Resource::Gym(rf, rg)) => f == rf && g == rg,
            // A gym role sees its franchise's row (its name), nothing else of the franchise.
            (MembershipTarget::Gym(f, _), Resource::Franchise(rf)) => f == rf,
        }
    }
}

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A signed-in dashboard user.
    User {
        /// The user.
        user_id: UserId,
        /// Every role the user holds.
        grants: Vec<Grant>,
        /// How strongly the session was authenticated.
        aal: Aal,
        /// Whether the user enrolled a second factor (then AAL2 is required even when the
        /// roles do not demand it: an enrolled factor must not be skippable).
        mfa_enrolled: bool,
    },
    /// A paired kiosk device of one gym.
    Kiosk {
        /// The kiosk.
        kiosk_id: KioskId,
        /// Its franchise.
        franchise: FranchiseId,
        /// Its gym.
        gym: GymId,
    },
}

impl Principal {
    /// Whether this principal must present a second factor before doing anything.
    pub fn requires_mfa(&self) -> bool {
        match self {
            Principal::User {
                grants,
                mfa_enrolled,
                ..
            } => *mfa_enrolled || grants.iter().any(|g| g.role.requires_mfa()),
            Principal::Kiosk { .. } => false,
        }
    }

    /// Whether the principal is short of the assurance its roles require.
    pub fn needs_step_up(&self) -> bool {
        matches!(self, Principal::User { aal, .. } if *aal < Aal::Aal2) && self.requires_mfa()
    }
}

/// What an action is performed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// The platform as a whole (creating franchises, listing everything).
    Platform,
    /// One franchise (its row, its gyms collection).
    Franchise(FranchiseId),
    /// One gym and everything inside it.
    Gym(FranchiseId, GymId),
}

/// Everything a principal can ask to do. Area handlers pick the closest action; new areas add
/// variants here (and a row to the rules below) rather than deciding access themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Create a franchise (resource: platform).
    FranchiseCreate,
    /// List every franchise (resource: platform).
    FranchiseList,
    /// Read one franchise.
    FranchiseRead,
    /// Rename or configure a franchise.
    FranchiseUpdate,
    /// Archive a franchise.
    FranchiseArchive,
    /// Create a gym in a franchise (resource: the franchise).
    GymCreate,
    /// Read a gym, or list the gyms of a franchise.
    GymRead,
    /// Change a gym's fields.
    GymUpdate,
    /// Change a gym's settings (assistant, opening hours…).
    GymSettingsUpdate,
    /// Change what a gym may spend: its monthly AI budget and voice-session cap (the franchise
    /// owner's and super admin's call, never the gym's own manager's).
    GymBudgetWrite,
    /// Approve, reject or suspend a gym.
    GymApprove,
    /// Archive a gym.
    GymArchive,
    /// Read members.
    MemberRead,
    /// Create or edit members.
    MemberWrite,
    /// Delete a member.
    MemberDelete,
    /// Bulk import members (CSV).
    MemberImport,
    /// Export a member's data or erase it (GDPR).
    MemberPrivacy,
    /// Read kiosks.
    KioskRead,
    /// Create, pair, rename or revoke kiosks.
    KioskManage,
    /// Read class schedules.
    ScheduleRead,
    /// Edit class schedules.
    ScheduleWrite,
    /// Read reports, costs and analytics.
    ReportRead,
    /// Read the audit log and auth events.
    AuditRead,
    /// List users and their memberships.
    UserRead,
    /// Invite a gym staff member.
    InviteStaff,
    /// Invite a gym manager.
    InviteManager,
    /// Invite a franchise owner.
    InviteOwner,
    /// Invite a super admin (resource: platform).
    InviteSuperAdmin,
    /// List, resend or revoke pending invitations, revoke memberships.
    InvitationManage,
    /// Disable or re-enable users and revoke their memberships; who may be reached is decided
    /// by [`may_disable_user`] and [`may_revoke_membership`].
    UserManage,
    /// Platform maintenance: key rotation, global settings (resource: platform).
    PlatformAdmin,
    /// Kiosk device: badge lookup in its own gym.
    KioskBadgeLookup,
    /// Kiosk device: start or end its own voice sessions.
    KioskVoiceSession,
    /// Kiosk device: heartbeat.
    KioskHeartbeat,
}

impl Action {
    /// Every action, for table-driven tests.
    pub const ALL: [Action; 34] = [
        Action::FranchiseCreate,
        Action::FranchiseList,
        Action::FranchiseRead,
        Action::FranchiseUpdate,
        Action::FranchiseArchive,
        Action::GymCreate,
        Action::GymRead,
        Action::GymUpdate,
        Action::GymSettingsUpdate,
        Action::GymBudgetWrite,
        Action::GymApprove,
        Action::GymArchive,
        Action::MemberRead,
        Action::MemberWrite,
        Action::MemberDelete,
        Action::MemberImport,
        Action::MemberPrivacy,
        Action::KioskRead,
        Action::KioskManage,
        Action::ScheduleRead,
        Action::ScheduleWrite,
        Action::ReportRead,
        Action::AuditRead,
        Action::UserRead,
        Action::InviteStaff,
        Action::InviteManager,
        Action::InviteOwner,
        Action::InviteSuperAdmin,
        Action::InvitationManage,
        Action::UserManage,
        Action::PlatformAdmin,
        Action::KioskBadgeLookup,
        Action::KioskVoiceSession,
        Action::KioskHeartbeat,
    ];

    /// The action needed to invite someone with `role`.
    pub fn invite(role: Role) -> Action {
        match role {
            Role::SuperAdmin => Action::InviteSuperAdmin,
            Role::FranchiseOwner => Action::InviteOwner,
            Role::GymManager => Action::InviteManager,
            Role::GymStaff => Action::InviteStaff,
        }
    }

    fn is_kiosk_device_action(self) -> bool {
        matches!(
            self,
            Action::KioskBadgeLookup | Action::KioskVoiceSession | Action::KioskHeartbeat
        )
    }
}

/// The answer of [`authorize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Allowed; pass this scope to storage.
    Allow(Scope),
    /// The resource is visible to the principal but the action is not allowed (HTTP 403).
    Forbidden,
    /// The resource is outside the principal's tenants (HTTP 404, so ids do not leak).
    NotFound,
    /// The principal must complete MFA (enrol or verify) first (HTTP 403 `mfa_required`).
    MfaRequired,
}

/// Whether a role may perform an action on a resource it covers. The single rule table.
pub fn role_allows(role: Role, action: Action) -> bool {
    use Action::*;
    use Role::*;
    if action.is_kiosk_device_action() {
        return false;
    }
    match role {
        SuperAdmin => true,
        FranchiseOwner => !matches!(
            action,
            FranchiseCreate
                | FranchiseList
                | FranchiseArchive
                | GymApprove
                | InviteOwner
                | InviteSuperAdmin
                | PlatformAdmin
        ),
        GymManager => matches!(
            action,
            FranchiseRead
                | GymRead
                | GymUpdate
                | GymSettingsUpdate
                | MemberRead
                | MemberWrite
                | MemberDelete
                | MemberImport
                | MemberPrivacy
                | KioskRead
                | KioskManage
                | ScheduleRead
                | ScheduleWrite
                | ReportRead
                | AuditRead
                | UserRead
                | InviteStaff
                | InviteManager
                | InvitationManage
                | UserManage
        ),
        GymStaff => matches!(
            action,
            FranchiseRead | GymRead | MemberRead | MemberWrite | KioskRead | ScheduleRead
        ),
    }
}

/// Decides whether `principal` may perform `action` on `resource`.
pub fn authorize(principal: &Principal, action: Action, resource: &Resource) -> Decision {
    match principal {
        Principal::Kiosk { franchise, gym, .. } => {
            let own = matches!(resource, Resource::Gym(f, g) if f == franchise && g == gym);
            if !own {
                return if matches!(resource, Resource::Platform) {
                    Decision::Forbidden
                } else {
                    Decision::NotFound
                };
            }
            if action.is_kiosk_device_action() {
                Decision::Allow(Scope::Gym {
                    franchise: *franchise,
                    gym: *gym,
                })
            } else {
                Decision::Forbidden
            }
        }
        Principal::User { grants, .. } => {
            if principal.needs_step_up() {
                return Decision::MfaRequired;
            }
            // Most powerful first, so a franchise owner who is also a manager acts as owner.
            let mut covering: Vec<&Grant> = grants.iter().filter(|g| g.covers(resource)).collect();
            covering.sort_by_key(|g| rank(g.role));
            if covering.is_empty() {
                return if matches!(resource, Resource::Platform) {
                    Decision::Forbidden
                } else {
                    Decision::NotFound
                };
            }
            // A gym role covers its franchise's row for reading only.
            let franchise_via_gym = |g: &Grant| {
                matches!(
                    (g.target, resource),
                    (MembershipTarget::Gym(..), Resource::Franchise(_))
                )
            };
            for g in covering {
                if franchise_via_gym(g) && action != Action::FranchiseRead {
                    continue;
                }
                if role_allows(g.role, action) {
                    return Decision::Allow(g.scope());
                }
            }
            Decision::Forbidden
        }
    }
}

/// The broadest scope in which `principal` may perform `action`, for list endpoints that have
/// no single target (e.g. "my gyms"). `None` when no grant allows it.
pub fn list_scope(principal: &Principal, action: Action) -> Result<Scope, Decision> {
    match principal {
        Principal::Kiosk { .. } => Err(Decision::Forbidden),
        Principal::User { grants, .. } => {
            if principal.needs_step_up() {
                return Err(Decision::MfaRequired);
            }
            let mut allowed: Vec<&Grant> = grants
                .iter()
                .filter(|g| role_allows(g.role, action))
                .collect();
            allowed.sort_by_key(|g| rank(g.role));
            allowed
                .first()
                .map(|g| g.scope())
                .ok_or(Decision::Forbidden)
        }
    }
}

/// Why a user or membership the caller can see may still not be taken away by them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffboardRefusal {
    /// The caller's roles do not manage users at all.
    RoleNotAllowed,
    /// Nobody disables their own account or revokes their own roles.
    OwnAccount,
    /// The target holds a role inside the caller's tenant that the caller may not take away
    /// (owners only reach gym roles, managers only gym roles of their gym).
    HigherRole,
    /// The target also holds roles outside the caller's tenant: the caller may revoke the
    /// membership inside it instead.
    RolesElsewhere,
}

/// The answer of [`may_disable_user`] and [`may_revoke_membership`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffboardDecision {
    /// Allowed; act in this scope (it sees the target).
    Allow(Scope),
    /// The target is not visible to the caller (HTTP 404, ids do not leak).
    NotFound,
    /// The caller must complete MFA first.
    MfaRequired,
    /// Visible, but refused for this reason (HTTP 403).
    Refused(OffboardRefusal),
}

/// Whether a grant's tenant holds a membership target: the same walls as storage (the platform
/// holds everything, a franchise its own and its gyms' roles, a gym its own roles).
fn holds(g: &Grant, t: &MembershipTarget) -> bool {
    match (g.target, *t) {
        (MembershipTarget::Platform, _) => true,
        (MembershipTarget::Franchise(f), MembershipTarget::Franchise(tf))
        | (MembershipTarget::Franchise(f), MembershipTarget::Gym(tf, _)) => f == tf,
        (MembershipTarget::Gym(f, gy), MembershipTarget::Gym(tf, tg)) => f == tf && gy == tg,
        _ => false,
    }
}

/// Whether a role may take away another role held inside its tenant.
fn outranks(caller: Role, target: Role) -> bool {
    match caller {
        Role::SuperAdmin => true,
        Role::FranchiseOwner | Role::GymManager => {
            matches!(target, Role::GymManager | Role::GymStaff)
        }
        Role::GymStaff => false,
    }
}

/// The user's grants, or the decision that ends it early (kiosks, pending MFA).
fn offboarder(principal: &Principal) -> Result<(UserId, &[Grant]), OffboardDecision> {
    match principal {
        Principal::Kiosk { .. } => Err(OffboardDecision::NotFound),
        Principal::User { .. } if principal.needs_step_up() => Err(OffboardDecision::MfaRequired),
        Principal::User {
            user_id, grants, ..
        } => Ok((*user_id, grants)),
    }
}

/// Whether the caller sees a user holding `targets` (super admins see every user).
fn sees_user(grants: &[Grant], targets: &[Grant]) -> bool {
    grants.iter().any(|g| {
        role_allows(g.role, Action::UserRead)
            && (g.target == MembershipTarget::Platform
                || targets.iter().any(|t| holds(g, &t.target)))
    })
}

/// The caller's user-managing grants, most powerful first.
fn managers(grants: &[Grant]) -> Vec<&Grant> {
    let mut m: Vec<&Grant> = grants
        .iter()
        .filter(|g| role_allows(g.role, Action::UserManage))
        .collect();
    m.sort_by_key(|g| rank(g.role));
    m
}

/// Decides whether `principal` may disable (or re-enable) the user `target` holding `roles`
/// (every membership they have, including those the caller cannot see). Super admins may do it
/// to anyone; franchise owners to users whose every role is a gym role inside their franchise;
/// gym managers to users whose every role is staff or manager of their gym. Nobody to
/// themselves. A user holding roles outside the caller's reach is refused: the caller may
/// revoke the membership inside its tenant instead. (The last enabled super admin is guarded by
/// storage, which sees them all.)
pub fn may_disable_user(
    principal: &Principal,
    target: UserId,
    roles: &[Grant],
) -> OffboardDecision {
    let (me, grants) = match offboarder(principal) {
        Ok(x) => x,
        Err(d) => return d,
    };
    if !sees_user(grants, roles) {
        return OffboardDecision::NotFound;
    }
    if me == target {
        return OffboardDecision::Refused(OffboardRefusal::OwnAccount);
    }
    let managers = managers(grants);
    let Some(top) = managers.first() else {
        return OffboardDecision::Refused(OffboardRefusal::RoleNotAllowed);
    };
    let reached = |t: &Grant| {
        managers
            .iter()
            .any(|g| holds(g, &t.target) && outranks(g.role, t.role))
    };
    let unreached: Vec<&Grant> = roles.iter().filter(|t| !reached(t)).collect();
    if unreached.is_empty() {
        // Act in the broadest managing grant that sees the user (a user without any role is
        // only visible to, and reached by, the platform).
        let scope = managers
            .iter()
            .find(|g| {
                g.target == MembershipTarget::Platform || roles.iter().any(|t| holds(g, &t.target))
            })
            .unwrap_or(top)
            .scope();
        return OffboardDecision::Allow(scope);
    }
    let inside = |t: &&Grant| managers.iter().any(|g| holds(g, &t.target));
    OffboardDecision::Refused(if unreached.iter().any(inside) {
        OffboardRefusal::HigherRole
    } else {
        OffboardRefusal::RolesElsewhere
    })
}

/// Decides whether `principal` may revoke one membership (`role`) of the user `target`: it must
/// lie inside a tenant where the caller manages users and be a role the caller may take away.
/// Nobody revokes their own roles. (The last enabled super admin is guarded by storage.)
pub fn may_revoke_membership(
    principal: &Principal,
    target: UserId,
    role: &Grant,
) -> OffboardDecision {
    let (me, grants) = match offboarder(principal) {
        Ok(x) => x,
        Err(d) => return d,
    };
    let visible = grants
        .iter()
        .any(|g| role_allows(g.role, Action::UserRead) && holds(g, &role.target));
    if !visible {
        return OffboardDecision::NotFound;
    }
    if me == target {
        return OffboardDecision::Refused(OffboardRefusal::OwnAccount);
    }
    let managers = managers(grants);
    if let Some(g) = managers
        .iter()
        .find(|g| holds(g, &role.target) && outranks(g.role, role.role))
    {
        return OffboardDecision::Allow(g.scope());
    }
    OffboardDecision::Refused(if managers.iter().any(|g| holds(g, &role.target)) {
        OffboardRefusal::HigherRole
    } else {
        OffboardRefusal::RoleNotAllowed
    })
}

fn rank(role: Role) -> u8 {
    match role {
        Role::SuperAdmin => 0,
        Role::FranchiseOwner => 1,
        Role::GymManager => 2,
        Role::GymStaff => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct World {
        f1: FranchiseId,
        g1: GymId,
        f2: FranchiseId,
        g2: GymId,
    }

    fn world() -> World {
        World {
            f1: FranchiseId::new(),
            g1: GymId::new(),
            f2: FranchiseId::new(),
            g2: GymId::new(),
        }
    }

    fn user(role: Role, w: &World, aal: Aal) -> Principal {
        let target = match role {
            Role::SuperAdmin => MembershipTarget::Platform,
            Role::FranchiseOwner => MembershipTarget::Franchise(w.f1),
            _ => MembershipTarget::Gym(w.f1, w.g1),
        };
        Principal::User {
            user_id: UserId::new(),
            grants: vec![Grant { role, target }],
            aal,
            mfa_enrolled: false,
        }
    }

    #[test]
    fn aal1_super_admin_and_owner_are_blocked_everywhere() {
        let w = world();
        for role in [Role::SuperAdmin, Role::FranchiseOwner] {
            let p = user(role, &w, Aal::Aal1);
            for a in Action::ALL {
                for r in [
                    Resource::Platform,
                    Resource::Franchise(w.f1),
                    Resource::Gym(w.f1, w.g1),
                ] {
                    assert_eq!(authorize(&p, a, &r), Decision::MfaRequired, "{role} {a:?}");
                }
            }
        }
        // Managers do not need MFA: AAL1 is enough.
        let p = user(Role::GymManager, &w, Aal::Aal1);
        assert!(matches!(
            authorize(&p, Action::MemberRead, &Resource::Gym(w.f1, w.g1)),
            Decision::Allow(_)
        ));
    }

    #[test]
    fn foreign_tenants_are_not_found_for_every_role_and_action() {
        let w = world();
        for role in [Role::FranchiseOwner, Role::GymManager, Role::GymStaff] {
            let p = user(role, &w, Aal::Aal2);
            for a in Action::ALL {
                assert_eq!(
                    authorize(&p, a, &Resource::Gym(w.f2, w.g2)),
                    Decision::NotFound
                );
                assert_eq!(
                    authorize(&p, a, &Resource::Franchise(w.f2)),
                    Decision::NotFound
                );
            }
        }
        // A manager of g1 does not see another gym of the same franchise.
        let p = user(Role::GymManager, &w, Aal::Aal2);
        assert_eq!(
            authorize(&p, Action::GymRead, &Resource::Gym(w.f1, GymId::new())),
            Decision::NotFound
        );
    }

    #[test]
    fn rule_table_matches_the_design() {
        let w = world();
        let own = Resource::Gym(w.f1, w.g1);
        let expect = |role: Role, a: Action, r: Resource, allowed: bool| {
            let d = authorize(&user(role, &w, Aal::Aal2), a, &r);
            assert_eq!(
                matches!(d, Decision::Allow(_)),
                allowed,
                "{role} {a:?} {r:?}: {d:?}"
            );
        };
        expect(
            Role::SuperAdmin,
            Action::FranchiseCreate,
            Resource::Platform,
            true,
        );
        expect(
            Role::FranchiseOwner,
            Action::FranchiseCreate,
            Resource::Platform,
            false,
        );
        expect(
            Role::FranchiseOwner,
            Action::GymCreate,
            Resource::Franchise(w.f1),
            true,
        );
        expect(
            Role::GymManager,
            Action::GymCreate,
            Resource::Franchise(w.f1),
            false,
        );
        expect(
            Role::GymManager,
            Action::FranchiseRead,
            Resource::Franchise(w.f1),
            true,
        );
        expect(
            Role::GymManager,
            Action::FranchiseUpdate,
            Resource::Franchise(w.f1),
            false,
        );
        expect(Role::GymStaff, Action::MemberWrite, own, true);
        expect(Role::GymStaff, Action::MemberDelete, own, false);
        expect(Role::GymStaff, Action::KioskManage, own, false);
        expect(Role::GymStaff, Action::AuditRead, own, false);
        expect(Role::GymManager, Action::InviteStaff, own, true);
        expect(Role::GymManager, Action::InviteOwner, own, false);
        expect(Role::FranchiseOwner, Action::GymApprove, own, false);
        // A gym's spending limits belong to its owner and the platform, not its manager.
        expect(Role::GymManager, Action::GymSettingsUpdate, own, true);
        expect(Role::GymManager, Action::GymBudgetWrite, own, false);
        expect(Role::GymStaff, Action::GymBudgetWrite, own, false);
        expect(Role::FranchiseOwner, Action::GymBudgetWrite, own, true);
        expect(Role::SuperAdmin, Action::GymBudgetWrite, own, true);
        expect(Role::SuperAdmin, Action::GymApprove, own, true);
        expect(Role::SuperAdmin, Action::KioskHeartbeat, own, false);
        // Platform-wide resources answer 403, not 404: there is nothing to hide.
        assert_eq!(
            authorize(
                &user(Role::GymStaff, &w, Aal::Aal2),
                Action::FranchiseList,
                &Resource::Platform
            ),
            Decision::Forbidden
        );
    }

    #[test]
    fn scope_comes_from_the_most_powerful_covering_grant() {
        let w = world();
        let p = Principal::User {
            user_id: UserId::new(),
            grants: vec![
                Grant {
                    role: Role::GymStaff,
                    target: MembershipTarget::Gym(w.f2, w.g2),
                },
                Grant {
                    role: Role::GymManager,
                    target: MembershipTarget::Gym(w.f1, w.g1),
                },
            ],
            aal: Aal::Aal1,
            mfa_enrolled: false,
        };
        assert_eq!(
            authorize(&p, Action::MemberDelete, &Resource::Gym(w.f1, w.g1)),
            Decision::Allow(Scope::Gym {
                franchise: w.f1,
                gym: w.g1
            })
        );
        assert_eq!(
            authorize(&p, Action::MemberDelete, &Resource::Gym(w.f2, w.g2)),
            Decision::Forbidden
        );
        assert_eq!(
            list_scope(&p, Action::KioskManage),
            Ok(Scope::Gym {
                franchise: w.f1,
                gym: w.g1
            })
        );
    }

    #[test]
    fn an_enrolled_factor_cannot_be_skipped() {
        let w = world();
        let p = Principal::User {
            user_id: UserId::new(),
            grants: vec![Grant {
                role: Role::GymStaff,
                target: MembershipTarget::Gym(w.f1, w.g1),
            }],
            aal: Aal::Aal1,
            mfa_enrolled: true,
        };
        assert_eq!(
            authorize(&p, Action::MemberRead, &Resource::Gym(w.f1, w.g1)),
            Decision::MfaRequired
        );
    }

    fn grant(role: Role, target: MembershipTarget) -> Grant {
        Grant { role, target }
    }

    #[test]
    fn offboarding_reaches_only_lower_roles_inside_the_callers_tenant() {
        use OffboardDecision::*;
        use OffboardRefusal::*;
        let w = world();
        let (gym1, gym2) = (
            MembershipTarget::Gym(w.f1, w.g1),
            MembershipTarget::Gym(w.f2, w.g2),
        );
        let other_gym_same_franchise = MembershipTarget::Gym(w.f1, GymId::new());
        let staff1 = [grant(Role::GymStaff, gym1)];
        let manager1 = [grant(Role::GymManager, gym1)];
        let owner1 = [grant(
            Role::FranchiseOwner,
            MembershipTarget::Franchise(w.f1),
        )];
        let staff_two_gyms = [grant(Role::GymStaff, gym1), grant(Role::GymStaff, gym2)];
        let staff_sibling_gym = [
            grant(Role::GymStaff, gym1),
            grant(Role::GymStaff, other_gym_same_franchise),
        ];
        let owner_and_staff = [owner1[0], staff1[0]];
        let admin = [grant(Role::SuperAdmin, MembershipTarget::Platform)];
        let foreign = [grant(Role::GymManager, gym2)];
        let gym_scope = Allow(Scope::Gym {
            franchise: w.f1,
            gym: w.g1,
        });
        let franchise_scope = Allow(Scope::Franchise { franchise: w.f1 });
        let cases: Vec<(Role, &[Grant], OffboardDecision)> = vec![
            (Role::SuperAdmin, &staff1, Allow(Scope::Platform)),
            (Role::SuperAdmin, &admin, Allow(Scope::Platform)),
            (Role::SuperAdmin, &[], Allow(Scope::Platform)),
            (Role::FranchiseOwner, &staff1, franchise_scope),
            (Role::FranchiseOwner, &manager1, franchise_scope),
            (Role::FranchiseOwner, &staff_sibling_gym, franchise_scope),
            (Role::FranchiseOwner, &owner1, Refused(HigherRole)),
            (
                Role::FranchiseOwner,
                &staff_two_gyms,
                Refused(RolesElsewhere),
            ),
            (Role::FranchiseOwner, &admin, NotFound),
            (Role::FranchiseOwner, &foreign, NotFound),
            (Role::GymManager, &staff1, gym_scope),
            (Role::GymManager, &manager1, gym_scope),
            (Role::GymManager, &staff_two_gyms, Refused(RolesElsewhere)),
            (
                Role::GymManager,
                &staff_sibling_gym,
                Refused(RolesElsewhere),
            ),
            (Role::GymManager, &owner_and_staff, Refused(RolesElsewhere)),
            (Role::GymManager, &owner1, NotFound),
            (Role::GymManager, &foreign, NotFound),
            (Role::GymStaff, &staff1, NotFound),
        ];
        for (role, roles, want) in cases {
            let p = user(role, &w, Aal::Aal2);
            assert_eq!(
                may_disable_user(&p, UserId::new(), roles),
                want,
                "{role} disabling {roles:?}"
            );
        }
        // Nobody disables themselves, and MFA comes first.
        let p = user(Role::SuperAdmin, &w, Aal::Aal2);
        let Principal::User { user_id: me, .. } = p.clone() else {
            unreachable!()
        };
        assert_eq!(may_disable_user(&p, me, &admin), Refused(OwnAccount));
        assert_eq!(
            may_revoke_membership(&p, me, &admin[0]),
            Refused(OwnAccount)
        );
        let p = user(Role::FranchiseOwner, &w, Aal::Aal1);
        assert_eq!(may_disable_user(&p, UserId::new(), &staff1), MfaRequired);
        let k = Principal::Kiosk {
            kiosk_id: KioskId::new(),
            franchise: w.f1,
            gym: w.g1,
        };
        assert_eq!(may_disable_user(&k, UserId::new(), &staff1), NotFound);
    }

    #[test]
    fn revoking_a_membership_needs_it_inside_the_callers_reach() {
        use OffboardDecision::*;
        use OffboardRefusal::*;
        let w = world();
        let gym1 = MembershipTarget::Gym(w.f1, w.g1);
        let gym2 = MembershipTarget::Gym(w.f2, w.g2);
        let owner = grant(Role::FranchiseOwner, MembershipTarget::Franchise(w.f1));
        let cases: Vec<(Role, Grant, OffboardDecision)> = vec![
            (
                Role::GymManager,
                grant(Role::GymStaff, gym1),
                Allow(Scope::Gym {
                    franchise: w.f1,
                    gym: w.g1,
                }),
            ),
            (Role::GymManager, grant(Role::GymStaff, gym2), NotFound),
            (Role::GymManager, owner, NotFound),
            (
                Role::FranchiseOwner,
                grant(Role::GymManager, gym1),
                Allow(Scope::Franchise { franchise: w.f1 }),
            ),
            (Role::FranchiseOwner, owner, Refused(HigherRole)),
            (Role::FranchiseOwner, grant(Role::GymStaff, gym2), NotFound),
            (
                Role::SuperAdmin,
                grant(Role::SuperAdmin, MembershipTarget::Platform),
                Allow(Scope::Platform),
            ),
            (Role::GymStaff, grant(Role::GymStaff, gym1), NotFound),
        ];
        for (role, m, want) in cases {
            let p = user(role, &w, Aal::Aal2);
            assert_eq!(
                may_revoke_membership(&p, UserId::new(), &m),
                want,
                "{role} revoking {m:?}"
            );
        }
        // A staff member reading users would still not manage them.
        assert!(!role_allows(Role::GymStaff, Action::UserManage));
        assert!(role_allows(Role::GymManager, Action::UserManage));
        assert!(role_allows(Role::FranchiseOwner, Action::UserManage));
    }

    #[test]
    fn kiosks_do_only_kiosk_things_in_their_gym() {
        let w = world();
        let k = Principal::Kiosk {
            kiosk_id: KioskId::new(),
            franchise: w.f1,
            gym: w.g1,
        };
        let own = Resource::Gym(w.f1, w.g1);
        assert!(matches!(
            authorize(&k, Action::KioskHeartbeat, &own),
            Decision::Allow(_)
        ));
        assert_eq!(authorize(&k, Action::MemberRead, &own), Decision::Forbidden);
        assert_eq!(
            authorize(&k, Action::KioskBadgeLookup, &Resource::Gym(w.f2, w.g2)),
            Decision::NotFound
        );
    }
}
