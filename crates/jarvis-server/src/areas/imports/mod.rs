//! Member CSV imports: upload, job list, job with live progress. Service (runner and
//! supervision): `jarvis_app::imports`.

pub mod api;
pub mod pages;
