//! What every dashboard page of an area shares: the header data ([`Chrome`]), the page error
//! that carries the page's language ([`PageError`], so handlers use `?`), the message and
//! confirmation pages, list paging, and small template helpers.

use crate::auth::web::PageUser;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::format::Fmt;
use crate::web::i18n::{Msg, Tr, field_message};
use crate::web::page;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jarvis_core::authz::{Action, Resource};
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::GymFilter;
use serde::Deserialize;
use std::collections::BTreeMap;

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
    /// The navigation: sidebar links, gym switcher, breadcrumbs.
    pub nav: Nav,
    /// Dates and numbers in the page's language; times in the gym's zone (UTC outside a gym).
    pub f: Fmt,
}

/// One navigation link.
pub struct NavLink {
    /// Where it goes.
    pub href: String,
    /// Its text.
    pub label: Msg,
    /// Whether the page is this link's area (`aria-current="page"`).
    pub current: bool,
}

/// Another gym of the switcher: its name and the same area's page there.
pub struct GymSwitch {
    /// The gym's name.
    pub name: String,
    /// The current area's page in that gym.
    pub href: String,
}

/// The navigation of a dashboard page, built from the request path and the user's rights, so
/// a link only shows when its page would open for this user.
#[derive(Default)]
pub struct Nav {
    /// Where the language switch comes back to: this page, or its area after a form post.
    pub path: String,
    /// The links outside any gym (home, gyms, team).
    pub top: Vec<NavLink>,
    /// The areas of the current gym.
    pub gym: Vec<NavLink>,
    /// Platform administration (super admins).
    pub admin: Vec<NavLink>,
    /// The other gyms the user sees (empty when only one).
    pub switch: Vec<GymSwitch>,
    /// The area crumb after the gym one, when the page is inside an area.
    pub area: Option<NavLink>,
    /// Whether the page is an item inside the area (the page adds its own last crumb).
    pub item: bool,
}

/// The areas of a gym, by path segment after `/app/gyms/{id}`, with what opens them.
const GYM_AREAS: [(&str, Msg, Action); 9] = [
    ("voice", Msg::VoiceCalls, jarvis_app::voice::READ),
    ("members", Msg::Members, Action::MemberRead),
    ("kiosks", Msg::Kiosks, Action::KioskRead),
    ("classes", Msg::Classes, Action::ScheduleRead),
    ("import", Msg::Import, Action::MemberImport),
    ("leads", Msg::Leads, Action::MemberRead),
    ("reports", Msg::Reports, jarvis_app::reports::READ),
    ("knowledge", Msg::Knowledge, jarvis_app::knowledge::READ),
    ("tools", Msg::Tools, jarvis_app::http_tools::MANAGE),
];

impl Nav {
    /// The navigation for `u` on a page about `gym` (or none), with `others` the gyms of the
    /// switcher.
    pub fn new(u: &PageUser, gym: Option<&Gym>, others: &[Gym]) -> Self {
        let path = u.path.clone();
        let link = |href: String, label: Msg, current: bool| NavLink {
            href,
            label,
            current,
        };
        let mut top = vec![
            link("/app".into(), Msg::HomeTitle, path == "/app"),
            link("/app/gyms".into(), Msg::Gyms, path == "/app/gyms"),
        ];
        if u.caller.list(Action::UserRead).is_ok() {
            top.push(link("/app/team".into(), Msg::Team, path == "/app/team"));
        }
        if u.caller.list(Action::AuditRead).is_ok() {
            top.push(link(
                "/app/audit".into(),
                Msg::AdmAuditLog,
                path == "/app/audit",
            ));
        }
        // Franchise owners see their franchise's usage; super admins every tenant's.
        if u.caller.list(Action::FranchiseUpdate).is_ok() {
            top.push(link(
                "/app/usage".into(),
                Msg::NavUsage,
                path == "/app/usage",
            ));
        }
        let mut admin = Vec::new();
        if u.caller
            .authorize(Action::PlatformAdmin, &Resource::Platform)
            .is_ok()
        {
            admin.push(link("/app/ops".into(), Msg::AdmTitle, path == "/app/ops"));
            admin.push(link(
                "/app/ops/jobs".into(),
                Msg::NavJobs,
                path.starts_with("/app/ops/jobs"),
            ));
            admin.push(link(
                "/app/ops/vitals".into(),
                Msg::NavVitals,
                path.starts_with("/app/ops/vitals"),
            ));
            admin.push(link(
                "/app/ops/errors".into(),
                Msg::NavErrors,
                path.starts_with("/app/ops/errors"),
            ));
            admin.push(link(
                "/app/voice/prices".into(),
                Msg::ModelPrices,
                path.starts_with("/app/voice/prices"),
            ));
            admin.push(link(
                "/app/ops/costs".into(),
                Msg::NavCosts,
                path.starts_with("/app/ops/costs"),
            ));
        }
        let mut nav = Nav {
            top,
            admin,
            ..Default::default()
        };
        if let Some(g) = gym {
            let base = format!("/app/gyms/{}", g.id);
            let rest = path.strip_prefix(&base).unwrap_or("");
            let mut segs = rest.split('/').filter(|s| !s.is_empty());
            let first = segs.next().unwrap_or("");
            let first = if first == "imports" { "import" } else { first };
            nav.item = segs.next().is_some();
            let res = Resource::Gym(g.franchise_id, g.id);
            nav.gym
                .push(link(base.clone(), Msg::NavOverview, first.is_empty()));
            for (seg, label, action) in GYM_AREAS {
                if u.caller.authorize(action, &res).is_ok() {
                    nav.gym
                        .push(link(format!("{base}/{seg}"), label, first == seg));
                    if first == seg {
                        nav.area = Some(link(format!("{base}/{seg}"), label, !nav.item));
                    }
                }
            }
            if u.caller.authorize(Action::GymSettingsUpdate, &res).is_ok() {
                nav.gym
                    .push(link(format!("{base}#settings"), Msg::Settings, false));
            }
            let area = if nav.area.is_some() {
                format!("/{first}")
            } else {
                String::new()
            };
            if others.len() > 1 {
                nav.switch = others
                    .iter()
                    .filter(|o| o.id != g.id)
                    .map(|o| GymSwitch {
                        name: o.name.clone(),
                        href: format!("/app/gyms/{}{area}", o.id),
                    })
                    .collect();
            }
        }
        nav.path = if u.is_get {
            path
        } else {
            // A re-rendered form post: back to its area (or gym), which a GET can open.
            match (&nav.area, gym) {
                (Some(a), _) => a.href.clone(),
                (None, Some(g)) => format!("/app/gyms/{}", g.id),
                (None, None) => "/app".into(),
            }
        };
        nav
    }
}

impl Chrome {
    /// The chrome of a page outside any gym.
    pub fn plain(u: &PageUser) -> Self {
        Chrome {
            t: Tr(u.locale),
            csrf: u.csrf.clone(),
            user: u.user.display_name.clone(),
            gym: None,
            nav: Nav::new(u, None, &[]),
            f: Fmt::new(u.locale, None),
        }
    }
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
        let cause = self.error.server_error_cause();
        let (status, message) = match self.error.status {
            StatusCode::NOT_FOUND => (StatusCode::NOT_FOUND, t.get(Msg::NotFound).to_string()),
            StatusCode::FORBIDDEN => (StatusCode::FORBIDDEN, t.get(Msg::Forbidden).to_string()),
            s => (s, self.error.message),
        };
        let mut resp = page(MessagePage { t, message }, status);
        if let Some(c) = cause {
            resp.extensions_mut().insert(c);
        }
        resp
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

/// A path percent-encoded for a query value (the language switch's `next`).
pub fn query_value(v: &str) -> String {
    crate::auth::web::encode(v)
}

/// How many gyms the switcher lists at most.
const SWITCHER_MAX: u32 = 50;

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
    // The switcher lists the first gyms the user sees; past that, the gyms page searches.
    let others = match u.caller.list(Action::GymRead) {
        Ok(all) => state
            .store
            .list_gyms(
                &all,
                &GymFilter::default(),
                PageRequest::new(Some(SWITCHER_MAX), None).unwrap_or_default(),
            )
            .await
            .map(|p| p.items)
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let nav = Nav::new(u, Some(&g), &others);
    let f = Fmt::for_gym(u.locale, &g.timezone);
    Ok((
        scope,
        Chrome {
            t,
            csrf: u.csrf.clone(),
            user: u.user.display_name.clone(),
            gym: Some(g),
            nav,
            f,
        },
    ))
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
    /// Churn list: only scores from this level up.
    pub level: Option<String>,
}

/// Previous/next links of a list.
pub struct Pager {
    /// Rows in all pages (a lower bound when `capped`).
    pub total: u64,
    /// Whether the list stopped counting at its cap (shown as "10,000+").
    pub capped: bool,
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
        capped: page.total_capped,
        // `offset` comes from the query string: saturate rather than overflow on huge values.
        from: if page.total == 0 {
            0
        } else {
            off.saturating_add(1)
        },
        to: off.saturating_add(page.items.len() as u64),
        prev: (off > 0).then(|| link(off.saturating_sub(lim))),
        // Past a capped total, a full page means there may be more.
        next: (off.saturating_add(lim) < page.total
            || (page.total_capped && page.items.len() as u64 >= lim))
            .then(|| link(off.saturating_add(lim))),
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

/// The sortable column headers of a list: each header links to the same list (filters kept,
/// paging reset) sorted by its column, says `aria-sort` when it is the sorted column and shows
/// an arrow. Sort keys come from a whitelist the handler parsed; a key ending in `_desc` sorts
/// descending.
pub struct SortHeads {
    base: String,
    extra: String,
    current: &'static str,
}

impl SortHeads {
    /// Headers for the list at `base` whose filters are `extra` (from [`query_part`], without
    /// `sort`), currently sorted by the whitelisted key `current`.
    pub fn new(base: &str, extra: &str, current: &'static str) -> Self {
        Self {
            base: base.to_string(),
            extra: extra.to_string(),
            current,
        }
    }

    /// The current sort key (for the pager and hidden form fields).
    pub fn key(&self) -> &'static str {
        self.current
    }

    /// One `<th>` labelled `label` that sorts by `keys[0]`, or, when the list is sorted by
    /// one of `keys`, by the next one (so a second click reverses the order).
    pub fn th(&self, t: &Tr, label: Msg, keys: &[&str]) -> String {
        let pos = keys.iter().position(|k| *k == self.current);
        let next = match pos {
            Some(i) => keys.get((i + 1) % keys.len().max(1)),
            None => keys.first(),
        }
        .copied()
        .unwrap_or("");
        let href = format!("{}?sort={}{}", self.base, next, self.extra);
        let (aria, arrow) = match pos {
            Some(_) if self.current.ends_with("_desc") => (" aria-sort=\"descending\"", " ▼"),
            Some(_) => (" aria-sort=\"ascending\"", " ▲"),
            None => ("", ""),
        };
        format!(
            "<th{aria}><a class=\"sort\" href=\"{}\">{}{arrow}</a></th>",
            jarvis_app::accounts::email::escape_html(&href),
            jarvis_app::accounts::email::escape_html(t.get(label))
        )
    }
}

/// The whitelisted sort key among `allowed` that `asked` names, or `allowed[0]` (the default)
/// for anything else: sort orders never come from user text.
pub fn sort_key(asked: Option<&str>, allowed: &[&'static str]) -> &'static str {
    let asked = asked.unwrap_or("").trim();
    allowed
        .iter()
        .find(|k| **k == asked)
        .or(allowed.first())
        .copied()
        .unwrap_or("")
}

#[cfg(test)]
mod sort_tests {
    use super::*;

    #[test]
    fn unknown_sort_key_falls_back_to_the_default() {
        let keys = ["name", "last_seen_desc"];
        assert_eq!(sort_key(Some("last_seen_desc"), &keys), "last_seen_desc");
        assert_eq!(sort_key(Some("1; DROP TABLE x"), &keys), "name");
        assert_eq!(sort_key(None, &keys), "name");
    }

    #[test]
    fn header_of_the_sorted_column_reverses_and_says_aria_sort() {
        let t = Tr(Locale::En);
        let h = SortHeads::new("/l", "&q=a%20b", "started_desc");
        let th = h.th(&t, Msg::Started, &["started_desc", "started"]);
        assert!(th.contains("aria-sort=\"descending\""), "{th}");
        assert!(th.contains("href=\"/l?sort=started&amp;q=a%20b\""), "{th}");
        let other = h.th(&t, Msg::Cost, &["cost_desc", "cost"]);
        assert!(!other.contains("aria-sort"), "{other}");
        assert!(other.contains("sort=cost_desc"), "{other}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(total: u64, capped: bool, offset: u64, items: usize) -> Page<u8> {
        Page {
            items: vec![0; items],
            total,
            total_capped: capped,
            limit: 50,
            offset,
        }
    }

    #[test]
    fn a_capped_total_keeps_the_next_link_while_pages_are_full() {
        // Exact total: no page past it.
        assert!(
            pager("/l", "", &page(9_990, false, 9_950, 40))
                .next
                .is_none()
        );
        // Capped at 10,000: a full page at the cap may have more after it.
        let p = pager("/l", "", &page(10_000, true, 9_950, 50));
        assert_eq!(p.next.as_deref(), Some("/l?offset=10000"));
        assert!(p.capped);
        let p = pager("/l", "", &page(10_000, true, 10_000, 50));
        assert_eq!(p.next.as_deref(), Some("/l?offset=10050"));
        // The short last page ends it.
        assert!(
            pager("/l", "", &page(10_000, true, 10_050, 7))
                .next
                .is_none()
        );
    }

    #[test]
    fn totals_read_10_000_plus_in_both_languages() {
        let en = Tr(Locale::En);
        let fr = Tr(Locale::Fr);
        assert_eq!(en.total(&10_000, &true), "10,000+");
        assert_eq!(en.total(&1_234_567, &false), "1,234,567");
        assert_eq!(en.total(&999, &false), "999");
        assert_eq!(fr.total(&10_000, &true), "10\u{202f}000+");
        assert_eq!(fr.total(&0, &false), "0");
    }
}
