//! The JARVIS HTTP server: JSON API, server-rendered pages, and their middleware.
//!
//! Areas own their routes and handlers (`tenants`, `members`, `kiosks`, `ops`, `web`); handlers
//! stay thin: parse → authorize → call storage → render.

pub mod api;
pub mod app;
pub mod areas;
pub mod auth;
pub mod error;
pub mod extract;
pub mod gyms;
pub mod http;
pub mod imports;
pub mod jobs;
pub mod kiosk_api;
pub mod kiosks;
pub mod members;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod state;
pub mod team;
pub mod tenants;
pub mod users;
pub mod voice_api;
pub mod web;
