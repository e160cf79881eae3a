//! Gyms: creation, the approval workflow, and changes to a gym and its settings. The JSON API and
//! the dashboard pages both call these; the pure rules (which move needs which permission, what
//! valid settings are) are methods of the `jarvis_core` gym types.

use crate::error::{AppError, AppResult};
use jarvis_core::authz::{self, Action, Decision, Principal, Resource};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::Store;

/// The gym's settings as the typed, validated value, or `None` when the stored document no
/// longer validates: logged as an error, and the gym counts as misconfigured (kiosks and voice
/// refuse it, pages say so) instead of running on default limits.
pub fn settings_of(gym: &Gym) -> Option<GymSettings> {
    match gym.typed_settings() {
        Ok(s) => Some(s),
        Err(errors) => {
            tracing::error!(gym = %gym.id, %errors, "stored gym settings are invalid; the gym is treated as misconfigured");
            None
        }
    }
}

/// The one answer to "may this gym run kiosks now" (`Gym::kiosk_readiness`), logging a
/// misconfigured gym.
pub fn kiosk_readiness(gym: &Gym) -> Result<GymSettings, GymNotReady> {
    gym.kiosk_readiness().inspect_err(|e| {
        if let GymNotReady::Misconfigured(errors) = e {
            tracing::error!(gym = %gym.id, %errors, "stored gym settings are invalid; kiosks refused");
        }
    })
}

/// Creates a gym: whoever may approve gyms creates it active, anyone else's waits for approval.
pub async fn create(
    store: &dyn Store,
    principal: &Principal,
    scope: &Scope,
    actor: &Actor,
    new: NewGym,
) -> AppResult<Gym> {
    let approver = matches!(
        authz::authorize(
            principal,
            Action::GymApprove,
            &Resource::Franchise(new.franchise_id)
        ),
        Decision::Allow(_)
    );
    let status = if approver {
        GymStatus::Active
    } else {
        GymStatus::Pending
    };
    Ok(store.create_gym(scope, actor, new, status).await?)
}

/// The permission a review moving the gym to `to` needs (the caller authorizes it first).
pub fn review_action(to: GymStatus) -> Action {
    GymStatus::review_action(to)
}

/// Moves a gym along the approval workflow. `expected` is the status the reviewer decided on
/// (compare-and-set); without it, the status read now.
pub async fn review(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    id: GymId,
    expected: Option<GymStatus>,
    to: GymStatus,
    reason: Option<String>,
) -> AppResult<Gym> {
    let reason = reason.filter(|r| !r.trim().is_empty());
    let from = match expected {
        Some(s) => s,
        None => store.gym(scope, id).await?.status,
    };
    Ok(store.review_gym(scope, actor, id, from, to, reason).await?)
}

/// The permission a change needs: settings (persona, caps, budget, features) are a separate
/// permission from name, address, time zone and language.
pub fn update_action(patch: &GymPatch) -> Action {
    if patch.settings.is_some() {
        Action::GymSettingsUpdate
    } else {
        Action::GymUpdate
    }
}

/// Changes a gym (the patch is validated here). A settings replacement that changes what the
/// gym may spend (AI budget, voice-session cap) needs `GymBudgetWrite` (franchise owner, super
/// admin): otherwise [`AppError::FieldForbidden`] naming each field. Sending the current values
/// back is fine. When the stored settings are corrupt, every spending field counts as changed:
/// only someone who may set the budget repairs it.
pub async fn update(
    store: &dyn Store,
    principal: &Principal,
    scope: &Scope,
    actor: &Actor,
    id: GymId,
    patch: GymPatch,
) -> AppResult<Gym> {
    let patch = patch.validate()?;
    if let Some(new) = patch.settings.as_ref() {
        let new = GymSettings::from_json(new)?;
        let current = store.gym(scope, id).await?;
        let changed = match settings_of(&current) {
            Some(cur) => cur.budget_changes(&new),
            None => BUDGET_FIELDS.to_vec(),
        };
        let may_budget = matches!(
            authz::authorize(
                principal,
                Action::GymBudgetWrite,
                &Resource::Gym(current.franchise_id, id)
            ),
            Decision::Allow(_)
        );
        if !changed.is_empty() && !may_budget {
            return Err(AppError::FieldForbidden {
                message: "only the franchise owner or a super admin may change a gym's AI budget and voice-session cap".into(),
                fields: changed,
            });
        }
    }
    Ok(store.update_gym(scope, actor, id, patch).await?)
}

/// Archives a gym: hidden from lists, history kept.
pub async fn archive(store: &dyn Store, scope: &Scope, actor: &Actor, id: GymId) -> AppResult<Gym> {
    Ok(store
        .set_gym_status(scope, actor, id, GymStatus::Archived)
        .await?)
}
