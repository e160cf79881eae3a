//! Operations pages: the administration overview and the audit log, the background jobs.

pub mod admin;
pub mod errors;
pub mod jobs;
pub mod vitals;

use crate::state::AppState;
use axum::Router;

/// The page routes of this area.
pub fn page_routes() -> Router<AppState> {
    jobs::routes()
        .merge(admin::routes())
        .merge(errors::routes())
        .merge(vitals::page_routes())
}
