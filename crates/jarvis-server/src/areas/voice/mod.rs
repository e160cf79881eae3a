//! Voice calls: the kiosk's start and end endpoints over `jarvis_voice::VoiceBroker` (`api`).
//! The dashboard pages (live sessions, history, session page, model prices) belong here too.

pub mod api;
