//! Members: records, facts, visits, CSV export, GDPR export and erasure. Service:
//! `jarvis_app::members`.

pub mod api;
pub mod pages;
