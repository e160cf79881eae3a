//! Router assembly: areas' routes, the OpenAPI document, and the middleware every request
//! crosses (request id, tracing, panic guard, time and size limits, JSON errors, security headers).

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
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
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

/// The request id header, set when absent and echoed on the response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(OpenApi)]
#[openapi(
    info(title = "JARVIS API", description = "Self-hosted AI voice companion for gyms: tenants, members, kiosks."),
    modifiers(&BearerAuth),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorInner, jarvis_core::FieldError)),
    tags(
        (name = "tenants", description = "Franchises and gyms"),
        (name = "members", description = "Gym members"),
        (name = "kiosks", description = "Kiosk devices (staff side: pairing codes, status, revoke)"),
        (name = "kiosk-device", description = "The kiosk device API, authenticated by the device token only"),
        (name = "classes", description = "Class schedules"),
        (name = "ops", description = "Health, readiness and audit"),
        (name = "auth", description = "Sign-in, MFA, sessions, passwords, invitations, auth events"),
        (name = "users", description = "Team members of your tenant: list, disable, re-enable, revoke a role"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes and the OpenAPI document generated from them.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(crate::ops::routes())
        .merge(crate::auth::api::routes())
        .merge(crate::tenants::routes())
        .merge(crate::members::routes())
        .merge(crate::kiosks::routes())
        .merge(crate::gyms::routes())
        .merge(crate::imports::routes())
        .merge(crate::kiosk_api::routes())
        .merge(crate::users::routes())
        .split_for_parts()
}

/// The whole application with its middleware.
pub fn router(state: AppState) -> Router {
    let (api, doc) = api();
    let doc_json = doc.to_pretty_json().unwrap_or_else(|_| "{}".into());
    let body_limit = state.config.body_limit_bytes;
    let timeout = state.config.request_timeout;
    Router::new()
        .merge(api)
        .route(
            "/api/v1/openapi.json",
            axum::routing::get(move || async move { ([(CONTENT_TYPE, "application/json")], doc_json.clone()) }),
        )
        .merge(crate::web::routes())
        .merge(crate::pages::routes())
        .merge(crate::team::routes())
        .merge(crate::auth::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(body_limit))
        // Inside `json_errors`, so a timed-out request still gets the JSON error body.
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, clamp(timeout)))
        .layer(middleware::from_fn_with_state(state.clone(), crate::auth::api_rate_limit))
        .layer(middleware::from_fn(json_errors))
        .layer(security_headers())
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
                    let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    // The path only: query strings may carry personal data (member searches).
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                }))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(|_| ApiError::internal("handler panicked").into_response())),
        )
        .with_state(state)
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
        crate::web::not_found_page().into_response()
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
