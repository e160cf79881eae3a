//! Authorization against storage: the scope of an action on a gym known only by id (its
//! franchise is looked up when no grant names the gym), on top of the one permission function
//! `jarvis_core::authz::authorize`. Shared by the HTTP extractors and the services.

use jarvis_core::authz::{self, Action, Decision, Principal, Resource};
use jarvis_core::model::MembershipTarget;
use jarvis_core::{FranchiseId, GymId, Scope};
use jarvis_store::{Store, StoreError};
use thiserror::Error;

/// Why an action is not allowed.
#[derive(Debug, Error)]
pub enum AccessError {
    /// The permission function said no (`what` names the resource for a 404).
    #[error("not allowed: {decision:?} on {what}")]
    Denied {
        /// The decision (never `Allow`).
        decision: Decision,
        /// What the resource is, for "… not found".
        what: &'static str,
    },
    /// Storage failed while looking the resource up.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a resource is called in a "not found" answer.
fn what(resource: &Resource) -> &'static str {
    match resource {
        Resource::Platform => "resource",
        Resource::Franchise(_) => "franchise",
        Resource::Gym(..) => "gym",
    }
}

/// Decides `action` on `resource`: the scope to pass to storage, or why not.
pub fn authorize(
    principal: &Principal,
    action: Action,
    resource: &Resource,
) -> Result<Scope, AccessError> {
    match authz::authorize(principal, action, resource) {
        Decision::Allow(scope) => Ok(scope),
        decision => Err(AccessError::Denied {
            decision,
            what: what(resource),
        }),
    }
}

/// The broadest scope in which `principal` may do `action`, for lists without a target.
pub fn list_scope(principal: &Principal, action: Action) -> Result<Scope, AccessError> {
    authz::list_scope(principal, action).map_err(|decision| AccessError::Denied {
        decision,
        what: "resource",
    })
}

/// The scope for `action` on a franchise (or on its gyms collection).
pub fn franchise_scope(
    principal: &Principal,
    franchise: FranchiseId,
    action: Action,
) -> Result<Scope, AccessError> {
    authorize(principal, action, &Resource::Franchise(franchise))
}

/// The scope for `action` on a gym known only by id (looks up its franchise when no grant names
/// the gym directly). Unknown and foreign gyms are both "not found".
pub async fn gym_scope(
    store: &dyn Store,
    principal: &Principal,
    gym: GymId,
    action: Action,
) -> Result<Scope, AccessError> {
    let direct = match principal {
        Principal::User { grants, .. } => grants.iter().find_map(|g| match g.target {
            MembershipTarget::Gym(f, gg) if gg == gym => Some(f),
            _ => None,
        }),
        Principal::Kiosk {
            franchise, gym: kg, ..
        } => (*kg == gym).then_some(*franchise),
    };
    let franchise = match direct {
        Some(f) => f,
        None => {
            // MFA first: an AAL1 admin learns nothing, not even whether the gym exists.
            if principal.needs_step_up() {
                return Err(AccessError::Denied {
                    decision: Decision::MfaRequired,
                    what: "gym",
                });
            }
            match store.gym(&Scope::Platform, gym).await {
                Ok(g) => g.franchise_id,
                Err(StoreError::NotFound(_)) => {
                    return Err(AccessError::Denied {
                        decision: Decision::NotFound,
                        what: "gym",
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
    };
    authorize(principal, action, &Resource::Gym(franchise, gym))
}
