//! Operations: liveness, readiness and the audit log.

use crate::api::PageBody;
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jarvis_core::model::AuditEntry;
use jarvis_core::{GymId, UserId};
use jarvis_store::AuditFilter;
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(list_audit))
}

#[utoipa::path(get, path = "/healthz", tag = "ops", description = "The process is up.",
    responses((status = 200, description = "alive")))]
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "ops", description = "The database answers and every migration is applied.",
    responses((status = 200, description = "ready"), (status = 503, description = "not ready, with the reason")))]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let backend = state.store.backend().name();
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "unavailable", "database": backend, "reason": "database unreachable" }),
            ),
        );
    }
    match state.store.migrations().await {
        Ok(ms) => {
            let pending: Vec<i64> = ms
                .iter()
                .filter(|m| !m.applied)
                .map(|m| m.version)
                .collect();
            if pending.is_empty() {
                (
                    StatusCode::OK,
                    Json(json!({ "status": "ready", "database": backend, "migrations": ms.len() })),
                )
            } else {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(
                        json!({ "status": "unavailable", "database": backend, "reason": "pending migrations", "pending": pending }),
                    ),
                )
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness: cannot read migrations");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({ "status": "unavailable", "database": backend, "reason": "cannot read migrations" }),
                ),
            )
        }
    }
}

/// Filters of the audit log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Only this action, e.g. `member.create`.
    pub action: Option<String>,
    /// Only this gym.
    #[param(value_type = Option<String>, format = Uuid)]
    pub gym_id: Option<GymId>,
    /// Only this acting user.
    #[param(value_type = Option<String>, format = Uuid)]
    pub actor_user_id: Option<UserId>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "ops", params(AuditQuery),
    responses((status = 200, body = PageBody<AuditEntry>), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<PageBody<AuditEntry>>> {
    // Staff may not read the audit log; others read it in their broadest scope.
    let scope = caller.list(jarvis_core::authz::Action::AuditRead)?;
    let page = crate::api::Paging {
        limit: q.limit,
        offset: q.offset,
    }
    .request()?;
    let filter = AuditFilter {
        action: q.action,
        gym_id: q.gym_id,
        actor_user_id: q.actor_user_id,
    };
    Ok(Json(
        state.store.list_audit(&scope, &filter, page).await?.into(),
    ))
}
