//! Voice calls: the kiosk's start and end endpoints over `jarvis_voice::VoiceBroker` (`api`),
//! the dashboard pages over `jarvis_app::voice` (`pages`: live sessions with hang-up, history,
//! session page, follow-ups, budget notices, model prices) and the budget-alert e-mails the
//! broker queues (`alerts`).

pub mod alerts;
pub mod api;
pub mod pages;
