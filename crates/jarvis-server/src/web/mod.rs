//! The dashboard's shared web layer: the entry page (in the signed-in user's language), shared
//! assets, the page renderer with its security headers, and the modules every area's pages use:
//! [`chrome`] (header, page errors, paging), [`csrf`], [`format`] (dates and numbers per language
//! and gym time zone) and [`i18n`] (the one fr/en catalogue).

pub mod assets;
pub mod charts;
pub mod chrome;
pub mod csrf;
pub mod format;
pub mod i18n;

use crate::state::AppState;
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use i18n::{Msg, Tr};

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Page routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route("/app", get(home))
        .route("/app/language", get(language))
        .route("/assets/{file}", get(assets::serve))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: chrome::Chrome,
    demo_mode: bool,
    backend: &'static str,
    version: &'static str,
    user_email: String,
    roles: Vec<String>,
    /// The first gyms the user sees, each linking to its overview.
    gyms: Vec<jarvis_core::model::Gym>,
    /// Whether there are more than those.
    more_gyms: bool,
    /// Whether the team page is open to this user.
    team: bool,
    /// Whether the model prices page is open to this user (super admins).
    prices: bool,
}

/// How many gyms the home page lists before linking to the gyms page.
const HOME_GYMS: u32 = 12;

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage {
    t: Tr,
}

/// Renders a page with the dashboard's security headers (CSP with `frame-ancestors 'none'`).
/// Pages show member data and per-session tokens, so neither browsers nor proxies may keep them.
pub fn page(t: impl Template, status: StatusCode) -> Response {
    match t.render() {
        Ok(html) => (
            status,
            [
                (CONTENT_SECURITY_POLICY, CSP),
                (CACHE_CONTROL, "no-store, private"),
            ],
            Html(html),
        )
            .into_response(),
        Err(e) => crate::error::ApiError::internal(e).into_response(),
    }
}

async fn home(State(state): State<AppState>, me: crate::auth::web::PageUser) -> Response {
    let t = Tr(me.locale);
    let roles = match state.store.memberships_of_user(me.user.id).await {
        Ok(ms) => ms.iter().map(|m| t.role(&m.role).to_string()).collect(),
        Err(e) => return crate::error::ApiError::from(e).into_response(),
    };
    // A user without gym access (none yet) sees the empty state, not an error.
    let (gyms, more_gyms) = match me.caller.list(jarvis_core::authz::Action::GymRead) {
        Ok(scope) => match state
            .store
            .list_gyms(
                &scope,
                &jarvis_store::GymFilter::default(),
                jarvis_core::PageRequest::new(Some(HOME_GYMS), None).unwrap_or_default(),
            )
            .await
        {
            Ok(p) => {
                let more = p.total > p.items.len() as u64;
                (p.items, more)
            }
            Err(e) => return crate::error::ApiError::from(e).into_response(),
        },
        Err(_) => (Vec::new(), false),
    };
    page(
        HomePage {
            c: chrome::Chrome::plain(&me),
            demo_mode: state.demo_mode,
            backend: state.store.backend().name(),
            version: env!("CARGO_PKG_VERSION"),
            user_email: me.user.email.clone(),
            roles,
            gyms,
            more_gyms,
            team: me.caller.list(jarvis_core::authz::Action::UserRead).is_ok(),
            prices: me
                .caller
                .authorize(
                    jarvis_app::voice::PLATFORM,
                    &jarvis_core::authz::Resource::Platform,
                )
                .is_ok(),
        },
        StatusCode::OK,
    )
}

/// What the language switch links carry.
#[derive(serde::Deserialize)]
struct LanguageQuery {
    lang: String,
    next: Option<String>,
}

/// The language switch: remembers the language for this browser (it wins over the account's)
/// and goes back to the page. Only a preference cookie changes, so a plain link is enough.
async fn language(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<LanguageQuery>,
) -> Response {
    let Some(l) = jarvis_core::model::Locale::parse(&q.lang) else {
        return crate::error::ApiError::bad_request("invalid_language", "unknown language")
            .into_response();
    };
    let to = crate::auth::web::safe_next(q.next.as_deref());
    let c = crate::auth::web::set_cookie(&state.auth, "jarvis_lang", l.as_str(), Some(31_536_000));
    crate::auth::web::with_cookies(Redirect::to(&to).into_response(), [c])
}

/// The 404 page for non-API paths, in the language the request asks for (`jarvis_lang` cookie,
/// then `Accept-Language`).
pub fn not_found_page(headers: &axum::http::HeaderMap) -> Response {
    let t = Tr(crate::auth::web::locale_of(headers, None));
    page(NotFoundPage { t }, StatusCode::NOT_FOUND)
}
