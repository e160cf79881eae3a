//! Accounts over HTTP: the auth, invitations and users JSON API, the sign-in, security and team
//! pages. Every rule lives in `jarvis_app::accounts`; this module maps its errors once to HTTP.

pub mod api;
pub mod pages;
pub mod team_pages;
pub mod users_api;

use crate::auth::decision_error;
use crate::error::ApiError;
use axum::http::StatusCode;
use jarvis_app::accounts::AccountsError;
use jarvis_core::authz::{Decision, OffboardDecision, OffboardRefusal};

impl From<AccountsError> for ApiError {
    fn from(e: AccountsError) -> Self {
        use AccountsError as E;
        match e {
            E::Locked(until) => {
                let secs = (until - time::OffsetDateTime::now_utc())
                    .whole_seconds()
                    .max(1);
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "locked",
                    format!("too many failed attempts; try again in {secs} s"),
                )
                .with_details(serde_json::json!({ "retry_after_secs": secs }))
            }
            E::InvalidCredentials => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong e-mail or password",
            ),
            E::MfaNotEnrolled => ApiError::new(
                StatusCode::CONFLICT,
                "mfa_not_enrolled",
                "no second factor is enrolled; enrol first",
            ),
            E::CodeMissing => {
                ApiError::invalid_field("code", "required", "send `code` or `recovery_code`")
            }
            E::WrongCode => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_code",
                "wrong or already used code",
            ),
            E::WrongEnrolmentCode => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_code",
                "wrong code; check the device clock",
            ),
            E::NoPendingEnrollment => ApiError::new(
                StatusCode::CONFLICT,
                "no_pending_enrollment",
                "start with /api/v1/auth/mfa/enroll",
            ),
            E::AlreadyEnrolled => ApiError::new(
                StatusCode::CONFLICT,
                "mfa_already_enrolled",
                "a second factor is already enrolled",
            ),
            E::MfaRequiredByRole => ApiError::forbidden("your role requires a second factor"),
            E::SessionEnded => ApiError::unauthorized("session ended"),
            E::AccountDisabled => ApiError::unauthorized("account disabled"),
            E::RefreshReused => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "refresh_token_reused",
                "this refresh token was already used; the session has been ended for safety",
            ),
            E::RefreshInvalid => ApiError::unauthorized("invalid or expired refresh token"),
            E::WeakPassword { field, message } => ApiError::invalid_field(field, "weak", message),
            E::InvalidResetToken => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "this reset link is invalid, used or expired",
            ),
            E::InvalidInvitation => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "this invitation is invalid, used, revoked or expired",
            ),
            E::Invalid {
                field,
                code,
                message,
            } => ApiError::invalid_field(field, code, message),
            E::Fields(v) => v.into(),
            E::NotFound(what) => ApiError::not_found(what),
            E::Denied { decision, what } => decision_error(decision, what),
            E::Offboard(d) => refusal_error(d),
            E::LastSuperAdmin(message) => {
                ApiError::new(StatusCode::CONFLICT, "last_super_admin", message)
            }
            e @ E::EmailTaken(_) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            E::Store(e) => e.into(),
            E::Internal(cause) => ApiError::internal(cause),
        }
    }
}

/// The 403/404 of an offboarding refusal, with a message saying what to do instead.
pub fn refusal_error(d: OffboardDecision) -> ApiError {
    match d {
        OffboardDecision::Allow(_) => ApiError::internal("refusal_error called on Allow"),
        OffboardDecision::NotFound => ApiError::not_found("user"),
        OffboardDecision::MfaRequired => decision_error(Decision::MfaRequired, "user"),
        OffboardDecision::Refused(r) => match r {
            OffboardRefusal::RoleNotAllowed => {
                ApiError::forbidden("your role does not allow managing users")
            }
            OffboardRefusal::OwnAccount => ApiError::new(
                StatusCode::FORBIDDEN,
                "own_account",
                "you cannot disable your own account or revoke your own roles",
            ),
            OffboardRefusal::HigherRole => ApiError::new(
                StatusCode::FORBIDDEN,
                "higher_role",
                "this user holds a role you may not take away (owners and super admins are managed above you)",
            ),
            OffboardRefusal::RolesElsewhere => ApiError::new(
                StatusCode::FORBIDDEN,
                "roles_elsewhere",
                "this user also holds roles outside your franchise or gym, so you cannot disable the account: revoke their membership here instead (DELETE /api/v1/users/{id}/memberships/{membership_id})",
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offboarding_refusals_have_their_own_codes() {
        let e = ApiError::from(AccountsError::LastSuperAdmin("last one".into()));
        assert_eq!(
            (e.status, e.code),
            (StatusCode::CONFLICT, "last_super_admin")
        );
        let e = refusal_error(OffboardDecision::Refused(OffboardRefusal::RolesElsewhere));
        assert_eq!(
            (e.status, e.code),
            (StatusCode::FORBIDDEN, "roles_elsewhere")
        );
        assert_eq!(
            refusal_error(OffboardDecision::NotFound).status,
            StatusCode::NOT_FOUND
        );
    }
}
