//! Custom HTTP tools: the gym's tool definitions, their signing secrets and "test this tool",
//! as a JSON API (`api`) and dashboard pages (`pages`), over `jarvis_app::http_tools`.

pub mod api;
pub mod pages;
