//! Usage limits and cost reconciliation pages: usage against the plan limits (franchise owners
//! see their franchise, super admins every franchise and the platform) and the provider's bill
//! against the meter per day (super admins). The services are `jarvis_app::usage` and
//! `jarvis_app::costs`.

pub mod pages;
