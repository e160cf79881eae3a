//! The imports area's JSON API: start a member CSV import (202, runs in the background), list
//! a gym's import jobs, read one with its live progress. The runner and its supervision are
//! `jarvis_app::imports`, shared with the dashboard and the CLI.

use crate::api::{PageBody, Paging};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use jarvis_app::imports::{self, ImportOptions, MAX_UPLOAD_BYTES};
use jarvis_core::authz::Action;
use jarvis_core::csv_import;
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Routes of this area.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(start_import))
        .routes(routes!(list_imports))
        .routes(routes!(get_import))
}

/// Options of an upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Check only; report what would happen (default false).
    #[serde(default)]
    pub dry_run: bool,
    /// Import the good rows and report the bad ones (default false: all or nothing).
    #[serde(default)]
    pub skip_bad_rows: bool,
    /// Header mapping as JSON, field → column, e.g. `{"first_name":"Given name"}`. Columns not
    /// mapped (explicitly or by a known header) are ignored.
    pub mapping: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/gyms/{gym_id}/members/import", tag = "members",
    params(("gym_id" = GymId, Path), ImportQuery),
    request_body(content = crate::openapi::CsvFile, content_type = "text/csv", description = "The CSV file (UTF-8 with or without BOM, or Windows-1252; `;` or `,`)"),
    description = "Starts an import job and answers at once; poll the job for progress and the report.",
    responses((status = 202, body = ImportJob), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
async fn start_import(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Body,
) -> ApiResult<(StatusCode, Json<ImportJob>)> {
    let scope = caller.gym(&state, gym, Action::MemberImport).await?;
    let mapping: BTreeMap<String, String> = match q.mapping.as_deref() {
        None | Some("") => BTreeMap::new(),
        Some(m) => serde_json::from_str(m).map_err(|e| {
            ApiError::bad_request(
                "invalid_query",
                format!("`mapping` must be a JSON object of field → column: {e}"),
            )
            .with_details(serde_json::json!({ "field": "mapping" }))
        })?,
    };
    if let Some(f) = mapping
        .keys()
        .find(|f| csv_import::Field::parse(f).is_none())
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("`mapping` names unknown member field `{f}`"),
        )
        .with_details(serde_json::json!({ "field": "mapping" })));
    }
    let data = axum::body::to_bytes(body, MAX_UPLOAD_BYTES)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the CSV file must be at most {MAX_UPLOAD_BYTES} bytes"),
            )
        })?;
    if data.is_empty() {
        return Err(ApiError::bad_request(
            "empty_file",
            "send the CSV file as the request body",
        ));
    }
    let opts = ImportOptions {
        dry_run: q.dry_run,
        skip_bad_rows: q.skip_bad_rows,
        mapping,
    };
    let job = imports::start(
        state.store.clone(),
        scope,
        caller.actor.clone(),
        gym,
        data.to_vec(),
        opts,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/imports", tag = "members", params(("gym_id" = GymId, Path), Paging),
    responses((status = 200, body = PageBody<ImportJob>), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn list_imports(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(gym): ApiPath<GymId>,
    ApiQuery(p): ApiQuery<Paging>,
) -> ApiResult<Json<PageBody<ImportJob>>> {
    let scope = caller.gym(&state, gym, Action::MemberImport).await?;
    let page = imports::list_jobs(state.store.as_ref(), &scope, gym, p.request()?).await?;
    Ok(Json(page.into()))
}

#[utoipa::path(get, path = "/api/v1/gyms/{gym_id}/imports/{import_id}", tag = "members",
    params(("gym_id" = GymId, Path), ("import_id" = ImportJobId, Path)),
    responses((status = 200, body = ImportJob), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_import(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((gym, id)): ApiPath<(GymId, ImportJobId)>,
) -> ApiResult<Json<ImportJob>> {
    let scope = caller.gym(&state, gym, Action::MemberImport).await?;
    Ok(Json(
        imports::job_view(state.store.as_ref(), &scope, gym, id).await?,
    ))
}
