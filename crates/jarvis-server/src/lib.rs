//! The JARVIS HTTP server: JSON API, server-rendered pages, and their middleware.
//!
//! Areas own their routes and handlers (`areas::{tenants, members, kiosks, imports}`, each with
//! `api.rs` and `pages.rs`; accounts in `areas::accounts`; `ops`); the shared page chrome,
//! CSRF helpers and the one fr/en catalogue are in `web`. Handlers stay thin: parse → authorize
//! → call the area's service in `jarvis_app` → render.

pub mod api;
pub mod app;
pub mod areas;
pub mod auth;
pub mod error;
pub mod errors;
pub mod extract;
pub mod flusher;
pub mod heartbeats;
pub mod http;
pub mod jobs;
pub mod kiosk_api;
pub mod kiosk_tokens;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod request_log;
pub mod sentry_report;
pub mod state;
pub mod web;

/// The import runner under its former path (`crate::imports::sweep_stale_imports`, tests'
/// `jarvis_server::imports::run_job`): it is `jarvis_app::imports` now.
pub use jarvis_app::imports;
