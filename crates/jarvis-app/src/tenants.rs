//! Franchises, the top of the tenancy tree (gyms are [`crate::gyms`]). Called with the scope the
//! caller was authorized for; input is validated here.

use crate::error::AppResult;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::Store;

/// Creates a franchise.
pub async fn create_franchise(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    new: NewFranchise,
) -> AppResult<Franchise> {
    Ok(store
        .create_franchise(scope, actor, new.validate()?)
        .await?)
}

/// Changes a franchise.
pub async fn update_franchise(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    id: FranchiseId,
    patch: FranchisePatch,
) -> AppResult<Franchise> {
    Ok(store
        .update_franchise(scope, actor, id, patch.validate()?)
        .await?)
}

/// Archives a franchise: hidden from lists, history kept.
pub async fn archive_franchise(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    id: FranchiseId,
) -> AppResult<Franchise> {
    Ok(store.archive_franchise(scope, actor, id).await?)
}
