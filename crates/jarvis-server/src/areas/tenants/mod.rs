//! Tenants: franchises, gyms (approval workflow, settings) and class schedules. Service:
//! `jarvis_app::{gyms, classes}`; pure rules: `jarvis_core::model::{GymStatus, Gym, GymSettings}`.

pub mod api;
pub mod classes;
pub mod overview;
pub mod pages;
