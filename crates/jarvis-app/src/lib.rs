//! The JARVIS application layer: what the HTTP server, the CLI and background work share.
//!
//! Each area owns one service module with its rules; `jarvis-server` (HTTP API and pages) and the
//! `jarvis` CLI parse, authorize and call these services. No HTTP types live here.

pub mod auth;
pub mod config;
pub mod demo;
pub mod instance;
pub mod jobs;
pub mod outbox;
pub mod store;
pub mod supervisor;
pub mod telemetry;
