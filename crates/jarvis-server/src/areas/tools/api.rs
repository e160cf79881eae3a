//! Custom HTTP tools API: a gym's tool definitions (CRUD), their secrets (shown once on create
//! and on rotation) and "test this tool", over `jarvis_app::http_tools`.

use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_app::http_tools::{CreatedTool, MANAGE, NewToolSecret, TestReport};
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tools, create_tool))
        .routes(routes!(get_tool, replace_tool, delete_tool))
        .routes(routes!(rotate_tool_secret))
        .routes(routes!(test_tool))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/tools", tag = "tools",
    params(("gym_id" = GymId, Path)),
    responses((status = 200, body = Vec<HttpTool>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_tools(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
) -> ApiResult<Json<Vec<HttpTool>>> {
    let scope = caller.gym(&state, gym, MANAGE).await?;
    Ok(Json(state.http_tools.list(&scope, gym).await?))
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/tools", tag = "tools",
    params(("gym_id" = GymId, Path)), request_body = HttpToolInput,
    responses((status = 201, body = CreatedTool, description = "The tool and its signing secret, shown this once"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_tool(
    state: State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiJson(body): ApiJson<HttpToolInput>,
) -> ApiResult<(StatusCode, Json<CreatedTool>)> {
    let scope = caller.gym(&state, gym, MANAGE).await?;
    let c = state
        .http_tools
        .create(&scope, &caller.actor, gym, body)
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/tools/{tool_id}", tag = "tools",
    params(("gym_id" = GymId, Path), ("tool_id" = HttpToolId, Path)),
    responses((status = 200, body = HttpTool), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_tool(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, HttpToolId)>,
) -> ApiResult<Json<HttpTool>> {
    let scope = caller.gym(&state, gym, MANAGE).await?;
    Ok(Json(state.http_tools.get(&scope, gym, id).await?))
}

#[utoipa::path(put, path = "/api/v1/gyms/{gym_id}/tools/{tool_id}", tag = "tools",
    params(("gym_id" = GymId, Path), ("tool_id" = HttpToolId, Path)), request_body = HttpToolInput,
    responses((status = 200, body = HttpTool), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn replace_tool(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, HttpToolId)>,
    ApiJson(body): ApiJson<HttpToolInput>,
) -> ApiResult<Json<HttpTool>> {
    let scope = caller.gym(&state, gym, MANAGE).await?;
    Ok(Json(
        state
            .http_tools
            .update(&scope, &caller.actor, gym, id, body)
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/gyms/{gym_id}/tools/{tool_id}", tag = "tools",
    params(("gym_id" = GymId, Path), ("tool_id" = HttpToolId, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_tool(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, HttpToolId)>,
) -> ApiResult<StatusCode> {
    let scope = caller.gym(&state, gym, MANAGE).await?;
    state
        .http_tools
        .delete(&scope, &caller.actor, gym, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/tools/{tool_id}/secret", tag = "tools",
    params(("gym_id" = GymId, Path), ("tool_id" = HttpToolId, Path)),
    responses((status = 201, body = NewToolSecret, description = "The new secret, shown once; the previous one stops working"),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn rotate_tool_secret(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, HttpToolId)>,
) -> ApiResult<(StatusCode, Json<NewToolSecret>)> {
    let scope = caller.gym(&state, gym, MANAGE).await?;
    let s = state
        .http_tools
        .rotate_secret(&scope, &caller.actor, gym, id)
        .await?;
    Ok((StatusCode::CREATED, Json(s)))
}

/// Sample arguments for "test this tool".
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolTest {
    /// Arguments as the model would send them (validated against the tool's schema first).
    #[schema(value_type = Object)]
    #[serde(default)]
    pub arguments: Value,
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/tools/{tool_id}/test", tag = "tools",
    params(("gym_id" = GymId, Path), ("tool_id" = HttpToolId, Path)), request_body = ToolTest,
    responses((status = 200, body = TestReport, description = "The exchange: the request sent (no secret), and the answer or why the call failed"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
async fn test_tool(
    state: State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, HttpToolId)>,
    ApiJson(body): ApiJson<ToolTest>,
) -> ApiResult<Json<TestReport>> {
    let scope = caller.gym(&state, gym, MANAGE).await?;
    let args = if body.arguments.is_null() {
        "{}".to_owned()
    } else {
        body.arguments.to_string()
    };
    let ex = state.http_tools.test(&scope, gym, id, &args).await?;
    Ok(Json(ex.into()))
}
