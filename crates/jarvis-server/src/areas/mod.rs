//! The areas of the HTTP layer, one folder each: `api.rs` (JSON API, OpenAPI-documented) and
//! `pages.rs` (dashboard pages) over one service of `jarvis-app`. Handlers parse → authorize
//! (`jarvis_core::authz` via `crate::auth::Caller`) → call the area's service in `jarvis_app` →
//! render. Rules live in the service (or, when pure, on the `jarvis_core` types), never in a
//! handler.

pub mod accounts;
pub mod analysis;
pub mod analytics;
pub mod demo;
pub mod imports;
pub mod kiosks;
pub mod knowledge;
pub mod leads;
pub mod members;
pub mod ops;
pub mod tenants;
pub mod tools;
pub mod usage;
pub mod voice;

use crate::state::AppState;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;

/// The JSON API routes of these areas.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tenants::api::routes())
        .merge(members::api::routes())
        .merge(kiosks::api::routes())
        .merge(imports::api::routes())
        .merge(voice::api::routes())
        .merge(leads::api::routes())
        .merge(tools::api::routes())
        .merge(analysis::api::routes())
        .merge(knowledge::api::routes())
        .merge(ops::vitals::api_routes())
        .merge(demo::api_routes())
}

/// The dashboard page routes of these areas.
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .merge(tenants::pages::routes())
        .merge(tenants::classes::routes())
        .merge(members::pages::routes())
        .merge(kiosks::pages::routes())
        .merge(imports::pages::routes())
        .merge(voice::pages::routes())
        .merge(leads::pages::routes())
        .merge(tools::pages::routes())
        .merge(analysis::pages::routes())
        .merge(knowledge::pages::routes())
        .merge(analytics::pages::routes())
        .merge(usage::pages::routes())
        .merge(demo::page_routes())
}
