//! Class schedules of a gym (weekly or one-off classes): the API and the pages call these with
//! the scope the caller was authorized for; input is validated here.

use crate::error::AppResult;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::Store;

/// Adds a class.
pub async fn create(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    new: NewClassSchedule,
) -> AppResult<ClassSchedule> {
    Ok(store
        .create_class(scope, actor, gym, new.validate()?)
        .await?)
}

/// Replaces a class.
pub async fn update(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: ClassScheduleId,
    new: NewClassSchedule,
) -> AppResult<ClassSchedule> {
    Ok(store
        .update_class(scope, actor, gym, id, new.validate()?)
        .await?)
}

/// Deletes a class.
pub async fn delete(
    store: &dyn Store,
    scope: &Scope,
    actor: &Actor,
    gym: GymId,
    id: ClassScheduleId,
) -> AppResult<()> {
    Ok(store.delete_class(scope, actor, gym, id).await?)
}
