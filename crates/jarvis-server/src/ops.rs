//! Operations: liveness, readiness and the audit log.

use crate::api::PageBody;
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_core::model::AuditEntry;
use jarvis_core::{GymId, UserId};
use jarvis_store::AuditFilter;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(list_audit))
}

/// The liveness answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Liveness {
    /// Always `ok`.
    pub status: &'static str,
}

/// The readiness answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: &'static str,
    /// The storage backend: `sqlite` or `postgres`.
    pub database: &'static str,
    /// Migrations applied (when ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<u64>,
    /// Why it is not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// Versions of the migrations not applied yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Vec<i64>>,
}

#[utoipa::path(get, path = "/healthz", tag = "ops", description = "The process is up.",
    responses((status = 200, body = Liveness, description = "alive")))]
async fn healthz() -> Json<Liveness> {
    Json(Liveness { status: "ok" })
}

#[utoipa::path(get, path = "/readyz", tag = "ops", description = "The database answers and every migration is applied.",
    responses((status = 200, body = Readiness, description = "ready"),
        (status = 503, body = Readiness, description = "not ready, with the reason")))]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let database = state.store.backend().name();
    let unavailable = |reason, pending| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Readiness {
                status: "unavailable",
                database,
                migrations: None,
                reason: Some(reason),
                pending,
            }),
        )
    };
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return unavailable("database unreachable", None);
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
                    Json(Readiness {
                        status: "ready",
                        database,
                        migrations: Some(ms.len() as u64),
                        reason: None,
                        pending: None,
                    }),
                )
            } else {
                unavailable("pending migrations", Some(pending))
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness: cannot read migrations");
            unavailable("cannot read migrations", None)
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
        ..Default::default()
    };
    Ok(Json(
        state.store.list_audit(&scope, &filter, page).await?.into(),
    ))
}
