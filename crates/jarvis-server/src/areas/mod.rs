//! The areas of the HTTP layer: each has its JSON API and its pages over one service of
//! `jarvis-app`.

pub mod accounts;
