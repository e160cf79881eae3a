//! Dashboard sign-in pages (filled in below).

use crate::state::AppState;
use axum::Router;

/// Page routes of the sign-in flow.
pub fn routes() -> Router<AppState> {
    Router::new()
}
