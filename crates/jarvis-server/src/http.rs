//! Router assembly: areas' routes, the OpenAPI document, and the middleware every request
//! crosses (request id, tracing, panic guard, time and size limits, JSON errors, security headers).

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

/// The request id header, set when absent and echoed on the response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The API routes and the OpenAPI document generated from them (completed with the statuses of
/// the shared extractors and middleware, see [`crate::openapi`]).
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .merge(crate::ops::routes())
        .merge(crate::areas::accounts::api::routes())
        .merge(crate::areas::api_routes())
        .merge(crate::kiosk_api::routes())
        .merge(crate::areas::accounts::users_api::routes())
        .split_for_parts();
    crate::openapi::complete(&mut doc);
    (router, doc)
}

/// The whole application with its middleware.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api();
    let doc_json = doc.to_pretty_json().unwrap_or_else(|_| "{}".into());
    let body_limit = state.config.body_limit_bytes;
    let errors = state.errors.clone();
    let timeout = state.config.request_timeout;
    // Browsers that reached an https deployment stay on https (never sent over plain http).
    let hsts = state.auth.secure_cookies.then(|| {
        SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        )
    });
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || async move { ([(CONTENT_TYPE, "application/json")], doc_json.clone()) }),
        )
        .route("/metrics", axum::routing::get(crate::metrics::scrape_with_token))
        .merge(crate::web::routes())
        .merge(crate::areas::page_routes())
        .merge(crate::areas::accounts::team_pages::routes())
        .merge(crate::areas::ops::page_routes())
        .merge(crate::areas::accounts::pages::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        // Inside `json_errors`, so a timed-out request still gets the JSON error body.
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, clamp(timeout)))
        .layer(middleware::from_fn_with_state(state.clone(), crate::auth::api_rate_limit))
        .layer(middleware::from_fn(json_errors))
        // Outside the timeout and error mapping: counts what the client really got.
        .layer(middleware::from_fn_with_state(state.clone(), crate::metrics::track))
        .layer(security_headers())
        .layer(tower::util::option_layer(hsts))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only (query strings may carry personal data such as member
                    // searches), with sensitive path parameters masked.
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %loggable_path(req))
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(move |panic: Box<dyn std::any::Any + Send>| {
                    // Critical in the error log (the super admins are e-mailed); the client
                    // only learns something went wrong.
                    let message = panic_message(panic.as_ref());
                    errors.push(
                        jarvis_app::errors::ErrorKind::Panic,
                        "http",
                        jarvis_store::ErrorLevel::Critical,
                        &format!("handler panicked: {message}"),
                    );
                    ApiError::internal(format!("handler panicked: {message}")).into_response()
                })),
        )
        .with_state(state)
}

/// The text a panic was raised with (`panic!("…")` carries a `&str` or a `String`).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Path parameters whose values are personal data or secrets: request logs show `***`.
const SENSITIVE_PATH_PARAMS: &[&str] = &["badge", "email", "token"];

/// The request path as logged. On a matched route, each segment captured by a sensitive
/// parameter of the route template is masked (`/api/v1/kiosk/members/by-badge/***`). An
/// unmatched path has no template to tell what its segments hold, so only its first three
/// segments are kept (`/api/v1/kiosk/…`).
pub fn loggable_path(req: &Request<Body>) -> String {
    let path = req.uri().path();
    match req.extensions().get::<MatchedPath>() {
        Some(template) => mask_path(template.as_str(), path),
        None => {
            let segs: Vec<&str> = path.split('/').collect();
            if segs.len() > 4 {
                format!("{}/…", segs[..4].join("/"))
            } else {
                path.to_string()
            }
        }
    }
}

fn sensitive(template_segment: &str) -> bool {
    template_segment
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .map(|name| name.trim_start_matches('*'))
        .is_some_and(|name| SENSITIVE_PATH_PARAMS.contains(&name))
}

fn mask_path(template: &str, path: &str) -> String {
    let mut template = template.split('/');
    let mut out = Vec::new();
    for seg in path.split('/') {
        match template.next() {
            Some(t) if sensitive(t) => {
                out.push("***");
                // A wildcard captures the rest of the path.
                if t.starts_with("{*") {
                    break;
                }
            }
            _ => out.push(seg),
        }
    }
    out.join("/")
}

fn clamp(d: Duration) -> Duration {
    d.max(Duration::from_secs(1))
}

fn security_headers() -> tower::layer::util::Stack<
    SetResponseHeaderLayer<HeaderValue>,
    tower::layer::util::Stack<
        SetResponseHeaderLayer<HeaderValue>,
        SetResponseHeaderLayer<HeaderValue>,
    >,
> {
    tower::layer::util::Stack::new(
        SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        tower::layer::util::Stack::new(
            SetResponseHeaderLayer::if_not_present(
                header::REFERRER_POLICY,
                // `same-origin`, not `no-referrer`: under `no-referrer` browsers send
                // `Origin: null` on same-origin form posts, which the CSRF origin check refuses.
                // Other sites still get no referrer at all.
                HeaderValue::from_static("same-origin"),
            ),
            SetResponseHeaderLayer::if_not_present(
                header::X_FRAME_OPTIONS,
                HeaderValue::from_static("DENY"),
            ),
        ),
    )
}

async fn not_found(req: Request) -> Response {
    if req.uri().path().starts_with("/api/") {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            format!("no API route at {}", req.uri().path()),
        )
        .into_response()
    } else {
        crate::web::not_found_page(req.headers()).into_response()
    }
}

async fn method_not_allowed(req: Request) -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
    .into_response()
}

/// Turns any non-JSON error answer on the API (body limit, timeout, …) into the JSON error shape.
async fn json_errors(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_api || !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let err = match status {
        StatusCode::PAYLOAD_TOO_LARGE => crate::extract::too_large(),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::new(
            status,
            "timeout",
            "the request took too long and was stopped",
        ),
        s => ApiError::new(s, "error", s.canonical_reason().unwrap_or("error")),
    };
    let mut out = err.into_response();
    if let Some(v) = resp.headers().get(header::RETRY_AFTER) {
        out.headers_mut().insert(header::RETRY_AFTER, v.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_path_parameters_are_masked_in_logs() {
        let badge = "/api/v1/kiosk/members/by-badge/{badge}";
        assert_eq!(
            mask_path(badge, "/api/v1/kiosk/members/by-badge/BADGE-42"),
            "/api/v1/kiosk/members/by-badge/***"
        );
        assert_eq!(
            mask_path("/files/{*token}", "/files/a/b/c"),
            "/files/***",
            "a wildcard masks the rest"
        );
        let ids = "/api/v1/gyms/{gym_id}/members/{member_id}";
        let path = "/api/v1/gyms/0190-a/members/0190-b";
        assert_eq!(mask_path(ids, path), path, "ids stay for operators");
        let unmatched = Request::builder()
            .uri("/api/v1/kiosk/members/by-badge/BADGE-42/x")
            .body(Body::empty())
            .unwrap_or_default();
        assert_eq!(loggable_path(&unmatched), "/api/v1/kiosk/…");
    }
}
