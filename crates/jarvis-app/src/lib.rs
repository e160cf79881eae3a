//! The JARVIS application layer: what the HTTP server, the CLI and background work share.
//!
//! Each area owns one service module with its rules; `jarvis-server` (HTTP API and pages) and the
//! `jarvis` CLI parse, authorize and call these services. No HTTP types live here: services
//! return [`AppError`], which the server maps to HTTP in one place.

pub mod access;
pub mod accounts;
pub mod alerts;
pub mod analysis;
pub mod assistant;
pub mod auth;
pub mod backups;
pub mod churn;
pub mod classes;
pub mod config;
pub mod costs;
pub mod demo;
pub mod error;
pub mod errors;
pub mod gyms;
pub mod http_tools;
pub mod imports;
pub mod instance;
pub mod jobs;
pub mod kiosk_health;
pub mod kiosks;
pub mod knowledge;
pub mod leads;
pub mod mailer;
pub mod members;
pub mod objects;
pub mod outbox;
pub mod overview;
pub mod reports;
pub mod retention;
pub mod store;
pub mod supervisor;
pub mod system;
pub mod telemetry;
pub mod tenants;
pub mod usage;
pub mod vitals;
pub mod voice;

pub use error::{AppError, AppResult};
