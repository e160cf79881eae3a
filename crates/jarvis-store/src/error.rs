//! The storage layer's one error type.

use thiserror::Error;

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// What can go wrong in storage, already classified for the HTTP mapping.
#[derive(Debug, Error)]
pub enum StoreError {
    /// No such row within the caller's scope (foreign rows look absent, never forbidden).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule was broken.
    #[error("{message}")]
    Conflict {
        /// Constraint name (same on both backends).
        constraint: &'static str,
        /// Input field at fault.
        field: &'static str,
        /// Human explanation.
        message: String,
    },
    /// A value or reference broke a rule the database enforces.
    #[error("{message}")]
    Invalid {
        /// Input field at fault.
        field: &'static str,
        /// Human explanation.
        message: String,
    },
    /// The caller's scope does not allow this write.
    #[error("outside of your scope")]
    OutOfScope,
    /// The database could not be reached or timed out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Bad storage configuration (URL, file path).
    #[error("{0}")]
    Config(String),
    /// Migration problem.
    #[error("migration failed: {0}")]
    Migration(String),
    /// Anything else; details go to the logs, not to clients.
    #[error("internal storage error: {0}")]
    Internal(String),
}

impl StoreError {
    /// Stored data that does not parse back (should never happen; logged loudly).
    pub(crate) fn corrupt(what: &str, value: &str) -> Self {
        StoreError::Internal(format!("unexpected stored {what}: `{value}`"))
    }
}
