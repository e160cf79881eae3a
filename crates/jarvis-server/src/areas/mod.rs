//! The areas of the HTTP layer, one folder each: its JSON API and its pages over one service of
//! `jarvis-app`.

pub mod accounts;
pub mod ops;
