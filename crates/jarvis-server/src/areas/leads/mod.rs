//! Leads: the signed lead webhook (`POST /api/v1/webhooks/leads`), the staff API listing a
//! gym's leads and changing their status, the webhook secret's generation and rotation (`api`),
//! and the dashboard page of a gym's leads (`pages`), over `jarvis_app::leads`.

pub mod api;
pub mod pages;
