//! Kiosks, staff side: create, presence, rename/move, pairing codes, revoke. Service:
//! `jarvis_app::kiosks`; the device API stays in `crate::kiosk_api` and asks the same service
//! whether its gym may run kiosks.

pub mod api;
pub mod pages;
