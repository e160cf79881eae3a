//! The HTTP layer's one error type, mapped once to a status and the JSON error body
//! `{"error": {"code", "message", "details"}}`. Internals never reach the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jarvis_core::ValidationErrors;
use jarvis_store::StoreError;
use serde::Serialize;
use serde_json::{Value, json};

/// An API failure.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable snake_case code.
    pub code: &'static str,
    /// Human explanation.
    pub message: String,
    /// Structured details (field errors, limits…).
    pub details: Value,
    /// What really went wrong, for the error log (never sent to the client).
    pub cause: Option<String>,
}

/// Attached to a 5xx response for the error log: the error code and its internal cause.
#[derive(Debug, Clone)]
pub struct ServerErrorCause {
    /// The error code (`internal`, `unavailable`, …).
    pub code: &'static str,
    /// The cause (logged, never sent).
    pub cause: String,
}

/// The error body, for the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorInner,
}

/// Inside the error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorInner {
    /// Stable snake_case code, e.g. `validation_failed`, `conflict`, `not_found`.
    pub code: String,
    /// Human explanation.
    pub message: String,
    /// Structured details; for validation errors `{"fields": [{"field", "code", "message"}]}`.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: json!({}),
            cause: None,
        }
    }
    /// Adds details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    /// 401: no or bad credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    /// 403: authenticated but not allowed.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    /// 404.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }
    /// 422 for one field.
    pub fn invalid_field(field: &str, code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("{field}: {message}"),
        )
        .with_details(json!({ "fields": [{ "field": field, "code": code, "message": message }] }))
    }
    /// 500 without internals; the cause is logged.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; the request id helps support",
        );
        e.cause = Some(cause.to_string());
        e
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(v: ValidationErrors) -> Self {
        let message = match v.0.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid: {}", many.len(), v),
        };
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            message,
        )
        .with_details(json!({ "fields": v.0 }))
    }
}

impl From<jarvis_core::FieldError> for ApiError {
    fn from(e: jarvis_core::FieldError) -> Self {
        ValidationErrors::from(e).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Conflict {
                constraint,
                field,
                message,
            } => Self::new(
                StatusCode::CONFLICT,
                // A lost compare-and-set is not a uniqueness clash: its own code.
                if constraint == "gyms_status_changed" {
                    "status_changed"
                } else {
                    "conflict"
                },
                format!("{field}: {message}"),
            )
            .with_details(json!({ "field": field, "constraint": constraint })),
            StoreError::Invalid { field, message } => {
                ApiError::invalid_field(field, "invalid", message)
            }
            StoreError::OutOfScope => ApiError::forbidden("this is outside of what you may change"),
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                let mut e = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is unavailable; try again shortly",
                );
                e.cause = Some(cause);
                e
            }
            other => ApiError::internal(other),
        }
    }
}

/// The services' answers, mapped here once for the API and the pages.
impl From<jarvis_app::AppError> for ApiError {
    fn from(e: jarvis_app::AppError) -> Self {
        use jarvis_app::AppError;
        match e {
            AppError::Store(e) => e.into(),
            AppError::Invalid(v) => v.into(),
            AppError::Denied { decision, what } => crate::auth::decision_error(decision, what),
            AppError::FieldForbidden { fields, message } => {
                let details: Vec<Value> = fields
                    .iter()
                    .map(|f| json!({ "field": f, "code": "forbidden", "message": message }))
                    .collect();
                Self::new(
                    StatusCode::FORBIDDEN,
                    "field_forbidden",
                    format!("{}: {message}", fields.join(", ")),
                )
                .with_details(json!({ "fields": details }))
            }
            // Staff asking for something only a running gym does (a pairing code): the gym's
            // state conflicts. The device API answers its own 403 for the same rule.
            AppError::GymNotReady(n) => Self::new(StatusCode::CONFLICT, n.code(), n.to_string()),
            AppError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl From<jarvis_app::outbox::OutboxError> for ApiError {
    fn from(e: jarvis_app::outbox::OutboxError) -> Self {
        match e {
            jarvis_app::outbox::OutboxError::Store(e) => e.into(),
            e @ jarvis_app::outbox::OutboxError::Seal(_) => ApiError::internal(e),
        }
    }
}

impl ApiError {
    /// The extension a 5xx answer carries for the error log (`None` below 500).
    pub fn server_error_cause(&self) -> Option<ServerErrorCause> {
        self.status.is_server_error().then(|| ServerErrorCause {
            code: self.code,
            cause: self.cause.clone().unwrap_or_else(|| self.message.clone()),
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.details["retry_after_secs"].as_u64();
        let cause = self.server_error_cause();
        let body = json!({ "error": { "code": self.code, "message": self.message, "details": self.details } });
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(c) = cause {
            resp.extensions_mut().insert(c);
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            let secs = retry_after.unwrap_or(60);
            if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        resp
    }
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
