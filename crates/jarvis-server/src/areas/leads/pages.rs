use crate::state::AppState;
use axum::Router;
/// Page routes of leads.
pub fn routes() -> Router<AppState> {
    Router::new()
}
