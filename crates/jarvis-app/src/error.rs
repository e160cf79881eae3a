//! The one error type of the services, mapped once to HTTP by the server.

use jarvis_core::ValidationErrors;
use jarvis_core::authz::Decision;
use jarvis_core::model::GymNotReady;
use jarvis_store::StoreError;
use thiserror::Error;

/// What a service call can answer instead of a result.
#[derive(Debug, Error)]
pub enum AppError {
    /// Storage refused or failed (not found, conflict, invalid, backend error).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The input does not validate.
    #[error("invalid input")]
    Invalid(#[from] ValidationErrors),
    /// The permission function did not allow a decision the service had to take itself (e.g.
    /// a kiosk move needs the whole franchise); `what` names the resource for a 404.
    #[error("not allowed")]
    Denied {
        /// The refusal (never `Allow`).
        decision: Decision,
        /// The resource kind, for "not found" answers.
        what: &'static str,
    },
    /// The caller may change the record but not these fields (the gym's spending limits).
    #[error("{message}")]
    FieldForbidden {
        /// Paths of the refused fields (`settings.voice_session_cap`).
        fields: Vec<&'static str>,
        /// Why.
        message: String,
    },
    /// The gym may not run kiosks now (inactive or misconfigured).
    #[error("{0}")]
    GymNotReady(GymNotReady),
    /// Something that should not happen (OS randomness failed).
    #[error("{0}")]
    Internal(String),
}

impl From<GymNotReady> for AppError {
    fn from(e: GymNotReady) -> Self {
        AppError::GymNotReady(e)
    }
}

/// Result of a service call.
pub type AppResult<T> = Result<T, AppError>;
