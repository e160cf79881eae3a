//! Server-rendered pages. The dashboard proper arrives with accounts; this serves its entry page
//! and shared assets.

use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route("/app", get(home))
        .route("/assets/app.css", get(css))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    demo_mode: bool,
    backend: &'static str,
    version: &'static str,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage;

fn page(t: impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (status, [(CONTENT_SECURITY_POLICY, CSP)], Html(html)).into_response(),
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}

async fn home(State(state): State<AppState>) -> Response {
    page(
        HomePage {
            demo_mode: state.demo_mode,
            backend: state.store.backend().name(),
            version: env!("CARGO_PKG_VERSION"),
        },
        StatusCode::OK,
    )
}

/// The 404 page for non-API paths.
pub fn not_found_page() -> Response {
    page(NotFoundPage, StatusCode::NOT_FOUND)
}

async fn css() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, "text/css; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../assets/app.css"),
    )
}
