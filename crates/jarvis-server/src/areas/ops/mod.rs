//! Operations pages for super admins.

pub mod jobs;
pub mod vitals;

use crate::state::AppState;
use axum::Router;

/// The page routes of this area.
pub fn page_routes() -> Router<AppState> {
    jobs::routes().merge(vitals::page_routes())
}
