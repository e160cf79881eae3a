//! What every dashboard page of an area shares: the header data ([`Chrome`]), the page error
//! that carries the page's language ([`PageError`], so handlers use `?`), the message and
//! confirmation pages, list paging, and small template helpers.

use crate::auth::web::PageUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::i18n::{Msg, Tr, field_message};
use crate::web::page;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Shared header data of every page of an area.
pub struct Chrome {
    /// The page language.
    pub t: Tr,
    /// The session's CSRF token, for the forms.
    pub csrf: String,
    /// Who is signed in.
    pub user: String,
    /// The gym the page is about.
    pub gym: Option<Gym>,
}

/// What a page handler returns: the page, or an error page in the user's language.
pub type PageResult = Result<Response, PageError>;

/// A failed page: rendered as the error page in the language it carries (404 for foreign or
/// missing things, 403 for roles, the message otherwise).
#[derive(Debug)]
pub struct PageError {
    t: Tr,
    error: ApiError,
}

impl PageError {
    /// The error `e` shown in the language of `t`.
    pub fn new(t: Tr, e: impl Into<ApiError>) -> Self {
        Self { t, error: e.into() }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let t = self.t;
        let (status, message) = match self.error.status {
            StatusCode::NOT_FOUND => (StatusCode::NOT_FOUND, t.get(Msg::NotFound).to_string()),
            StatusCode::FORBIDDEN => (StatusCode::FORBIDDEN, t.get(Msg::Forbidden).to_string()),
            s => (s, self.error.message),
        };
        page(MessagePage { t, message }, status)
    }
}

/// Attaches the page language to any error, so `?` turns it into a [`PageError`].
pub trait InPage<T> {
    /// The value, or the error as a page in the language of `t`.
    fn in_page(self, t: Tr) -> Result<T, PageError>;
}

impl<T, E: Into<ApiError>> InPage<T> for Result<T, E> {
    fn in_page(self, t: Tr) -> Result<T, PageError> {
        self.map_err(|e| PageError::new(t, e))
    }
}

#[derive(Template)]
#[template(path = "gmk/message.html")]
struct MessagePage {
    t: Tr,
    message: String,
}

/// The confirmation page of a destructive action.
#[derive(Template)]
#[template(path = "gmk/confirm.html")]
pub struct ConfirmPage {
    /// Header.
    pub c: Chrome,
    /// What is asked.
    pub question: &'static str,
    /// What it is about.
    pub subject: String,
    /// Where "confirm" posts.
    pub action: String,
    /// Where "cancel" goes.
    pub back: String,
}

/// A form with nothing but the CSRF token (confirmations, buttons).
#[derive(Deserialize)]
pub struct Empty {}

/// The scope for `action` on a gym and the page header with that gym, or the error page.
pub async fn gym_scope(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    action: Action,
) -> Result<(Scope, Chrome), PageError> {
    let t = Tr(u.locale);
    let scope = u.caller.gym(state, gym, action).await.in_page(t)?;
    let g = state.store.gym(&scope, gym).await.in_page(t)?;
    Ok((
        scope,
        Chrome {
            t,
            csrf: u.csrf.clone(),
            user: u.user.display_name.clone(),
            gym: Some(g),
        },
    ))
}

/// A timestamp as `YYYY-MM-DD HH:MM` (UTC) for tables, `—` when absent.
pub fn fmt_time_pub(t: &Option<OffsetDateTime>) -> String {
    fmt_time(*t)
}

/// A timestamp as `YYYY-MM-DD HH:MM` (UTC).
pub fn fmt_at(t: &OffsetDateTime) -> String {
    fmt_time(Some(*t))
}

fn fmt_time(t: Option<OffsetDateTime>) -> String {
    t.map(|t| {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    })
    .unwrap_or_else(|| "—".into())
}

/// Every error of a one-field form as one line, in the page's language.
pub fn form_errors_text(t: Tr, v: &ValidationErrors) -> String {
    v.0.iter()
        .map(|e| field_message(t, e))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The inline error of a form field, empty when none.
pub fn field_error<'a>(errors: &'a BTreeMap<String, String>, field: &str) -> &'a str {
    errors.get(field).map(String::as_str).unwrap_or("")
}

/// String equality for templates (select boxes).
pub fn same(a: &str, b: &str) -> bool {
    a == b
}

/// The CSS class of a kiosk presence.
pub fn presence_key(p: &KioskPresence) -> &'static str {
    match p {
        KioskPresence::Online => "online",
        KioskPresence::Offline => "offline",
        KioskPresence::Revoked => "revoked",
        KioskPresence::Unpaired => "unpaired",
    }
}

/// The query of a list page (search, paging, filters).
#[derive(Deserialize, Default)]
pub struct ListQuery {
    /// Search text.
    pub q: Option<String>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Status filter.
    pub status: Option<String>,
    /// Sort order.
    pub sort: Option<String>,
    /// Membership type filter.
    pub mtype: Option<String>,
    /// Only members seen in the last N days.
    pub days: Option<String>,
}

/// Previous/next links of a list.
pub struct Pager {
    /// Rows in all pages.
    pub total: u64,
    /// First row shown (1-based; 0 when empty).
    pub from: u64,
    /// Last row shown.
    pub to: u64,
    /// Link to the previous page.
    pub prev: Option<String>,
    /// Link to the next page.
    pub next: Option<String>,
}

/// The pager of `page`, linking to `base?offset=…` plus `extra` (already encoded).
pub fn pager(base: &str, extra: &str, page: &Page<impl Sized>) -> Pager {
    let off = page.offset;
    let lim = u64::from(page.limit);
    let link = |o: u64| format!("{base}?offset={o}{extra}");
    Pager {
        total: page.total,
        // `offset` comes from the query string: saturate rather than overflow on huge values.
        from: if page.total == 0 {
            0
        } else {
            off.saturating_add(1)
        },
        to: off.saturating_add(page.items.len() as u64),
        prev: (off > 0).then(|| link(off.saturating_sub(lim))),
        next: (off.saturating_add(lim) < page.total).then(|| link(off.saturating_add(lim))),
    }
}

/// `&k=v` with `v` percent-encoded, or nothing when `v` is empty (list links keep filters).
pub fn query_part(k: &str, v: &str) -> String {
    if v.is_empty() {
        String::new()
    } else {
        let enc: String = v
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!("&{k}={enc}")
    }
}
