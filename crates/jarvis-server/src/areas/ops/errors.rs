//! The error-log page (super admins only, French and English): the built-in error log's
//! fingerprints, most recently seen first, filtered by level and paginated.

use crate::auth::web::PageUser;
use crate::state::AppState;
use crate::web::chrome::{Chrome, InPage, PageResult, Pager, pager, query_part};
use crate::web::i18n::Msg;
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use jarvis_core::authz::{Action, Resource};
use jarvis_core::{PageRequest, Scope};
use jarvis_store::{ErrorLevel, ErrorLogEntry};
use serde::Deserialize;

/// Rows per page.
const PER_PAGE: u32 = 50;

/// Routes of this page.
pub fn routes() -> Router<AppState> {
    Router::new().route("/app/ops/errors", get(errors_page))
}

#[derive(Template)]
#[template(path = "ops/errors.html")]
struct ErrorsPage {
    c: Chrome,
    level: Option<ErrorLevel>,
    levels: [ErrorLevel; 3],
    rows: Vec<ErrorLogEntry>,
    pager: Pager,
}

impl ErrorsPage {
    fn at(&self, e: &ErrorLogEntry) -> (String, String, String) {
        (
            self.c.f.at(&e.first_seen_at),
            self.c.f.at(&e.last_seen_at),
            self.c.f.at_opt(&e.alerted_at),
        )
    }
}

#[derive(Deserialize)]
struct ErrorsQuery {
    #[serde(default)]
    level: String,
    #[serde(default)]
    offset: Option<u64>,
}

async fn errors_page(
    State(state): State<AppState>,
    u: PageUser,
    Query(q): Query<ErrorsQuery>,
) -> PageResult {
    let c = Chrome::plain(&u);
    u.caller
        .authorize(Action::PlatformAdmin, &Resource::Platform)
        .in_page(c.t)?;
    let level = ErrorLevel::parse(q.level.trim());
    let request = PageRequest::new(Some(PER_PAGE), q.offset).unwrap_or_default();
    let p = state
        .store
        .list_errors(&Scope::Platform, level, request)
        .await
        .in_page(c.t)?;
    let extra = query_part("level", level.map_or("", ErrorLevel::as_str));
    let pager = pager("/app/ops/errors", &extra, &p);
    Ok(page(
        ErrorsPage {
            c,
            level,
            levels: [ErrorLevel::Critical, ErrorLevel::Error, ErrorLevel::Warning],
            rows: p.items,
            pager,
        },
        StatusCode::OK,
    ))
}
