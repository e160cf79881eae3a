//! Tool arguments are checked against the tool's JSON schema by the one validator in
//! `jarvis_core::json_schema` (shared with the custom HTTP tools, whose schemas are checked on
//! save to use only the keywords this validator enforces).

pub use jarvis_core::json_schema::validate_args;
