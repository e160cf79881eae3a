//! The areas of the HTTP layer, one folder each.

pub mod ops;
