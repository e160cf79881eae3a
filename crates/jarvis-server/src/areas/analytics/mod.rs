//! Analytics: the dashboard pages of a gym's churn list (`/app/gyms/{id}/churn`) and weekly
//! reports (`/app/gyms/{id}/reports`, one report viewed or downloaded), over
//! `jarvis_app::churn` and `jarvis_app::reports`.

pub mod pages;
