//! Domain types, validation, roles and permission rules, cost arithmetic and errors. No IO, but
//! for reading the system's time zone database once per zone ([`tz`]).

pub mod authz;
pub mod churn;
pub mod cost;
pub mod csv_import;
pub mod fmt;
pub mod ids;
pub mod json_schema;
pub mod knowledge;
pub mod model;
pub mod page;
pub mod redact;
pub mod role;
pub mod scope;
pub mod search;
pub mod tz;
pub mod validate;

pub use ids::*;
pub use page::{Page, PageRequest};
pub use role::Role;
pub use scope::Scope;
pub use validate::{FieldError, ValidationErrors};
