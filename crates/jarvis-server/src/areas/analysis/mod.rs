//! Post-call analysis and simulations: a gym's custom analysis fields (page and API), the
//! scenario file and simulation runs (page), over `jarvis_app::analysis`. The analysis of each
//! conversation is shown by the voice pages (history columns, session page).

pub mod api;
pub mod pages;
