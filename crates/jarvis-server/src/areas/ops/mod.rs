//! Operations pages for super admins.

pub mod errors;
pub mod jobs;

use crate::state::AppState;
use axum::Router;

/// The page routes of this area.
pub fn page_routes() -> Router<AppState> {
    jobs::routes().merge(errors::routes())
}
