//! Domain types, validation, roles and permission rules, cost arithmetic and errors. No IO.

pub mod cost;
