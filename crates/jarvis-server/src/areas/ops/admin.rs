//! The administration area's pages: the platform overview for super admins (system health,
//! signing keys and their age, links to every admin page) and the audit log with filters (every
//! user who may read it, in their own scope).

use crate::auth::web::PageUser;
use crate::state::AppState;
use crate::web::chrome::{Chrome, InPage, PageResult, Pager, SortHeads, pager, query_part};
use crate::web::i18n::Msg;
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use jarvis_app::system::{self, SystemHealth};
use jarvis_app::usage::format_value;
use jarvis_core::authz::{Action, Resource};
use jarvis_core::cost::{BudgetPeriod, pico_to_micro};
use jarvis_core::model::{AuditEntry, Gym};
use jarvis_core::{GymId, PageRequest, UserId};
use jarvis_store::{AuditFilter, AuditSort, GymFilter, UsageMetric};
use serde::Deserialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Routes of these pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/ops", get(admin_page))
        .route("/app/audit", get(audit_page))
}

#[derive(Template)]
#[template(path = "ops/admin.html")]
struct AdminPage {
    c: Chrome,
    h: SystemHealth,
    version: &'static str,
    demo: DemoLine,
}

/// The public demo's month so far, counted apart from members' calls (issue 13 item 4).
struct DemoLine {
    /// Whether `/demo` is served.
    on: bool,
    /// This month's demo calls and their cost in dollars, or why they could not be read.
    month: Result<(u64, String), String>,
    /// The month's demo budget, in dollars.
    budget: String,
    /// Calls per address and hour.
    per_hour: u32,
}

impl AdminPage {
    /// A round trip in milliseconds, to a tenth.
    fn ms(d: &std::time::Duration) -> String {
        format!("{:.1} ms", d.as_secs_f64() * 1000.0)
    }
}

async fn admin_page(State(state): State<AppState>, u: PageUser) -> PageResult {
    let c = Chrome::plain(&u);
    u.caller
        .authorize(Action::PlatformAdmin, &Resource::Platform)
        .in_page(c.t)?;
    let h = system::health(state.store.as_ref(), state.config.key_max_age).await;
    let d = state.config.demo;
    let usd = |micros| format_value(&c.f, UsageMetric::AiCostMicros, micros);
    let month = state
        .store
        .demo_month_to_date(BudgetPeriod::of(OffsetDateTime::now_utc()))
        .await
        .map(|s| (s.sessions, usd(pico_to_micro(s.cost_pico))))
        .map_err(|e| e.to_string());
    let demo = DemoLine {
        on: d.page,
        month,
        budget: usd(d.budget_micros),
        per_hour: d.sessions_per_hour,
    };
    Ok(page(
        AdminPage {
            c,
            h,
            version: env!("CARGO_PKG_VERSION"),
            demo,
        },
        StatusCode::OK,
    ))
}

/// Audit rows per page.
const AUDIT_PAGE: u32 = 50;

/// Filters of the audit page, from the query string.
#[derive(Deserialize, Default)]
struct AuditQuery {
    action: Option<String>,
    gym: Option<String>,
    actor: Option<String>,
    sort: Option<String>,
    offset: Option<u64>,
}

#[derive(Template)]
#[template(path = "ops/audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<AuditEntry>,
    pager: Pager,
    /// The sortable column headers.
    heads: SortHeads,
    gyms: Vec<Gym>,
    /// Display names of the acting users on this page.
    names: BTreeMap<UserId, String>,
    action: String,
    gym: String,
    actor: String,
    /// Name of the filtered-on actor, when one is.
    actor_name: Option<String>,
}

impl AuditPage {
    fn gym_name(&self, id: &Option<GymId>) -> String {
        id.and_then(|id| self.gyms.iter().find(|g| g.id == id))
            .map_or_else(|| "—".into(), |g| g.name.clone())
    }

    fn actor_of(&self, e: &AuditEntry) -> String {
        match e.actor_user_id {
            Some(id) => self
                .names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| id.to_string()),
            None => e.actor_kind.clone(),
        }
    }
}

async fn audit_page(
    State(state): State<AppState>,
    u: PageUser,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let c = Chrome::plain(&u);
    let t = c.t;
    let scope = u.caller.list(Action::AuditRead).in_page(t)?;
    let trimmed = |v: &Option<String>| v.as_deref().map(str::trim).unwrap_or("").to_string();
    let (action, gym, actor) = (trimmed(&q.action), trimmed(&q.gym), trimmed(&q.actor));
    // A malformed id in a hand-edited link filters on nothing rather than failing the page.
    let filter = AuditFilter {
        action: (!action.is_empty()).then(|| action.clone()),
        gym_id: gym.parse().ok(),
        actor_user_id: actor.parse().ok(),
        // Whitelisted: an unknown key is newest first.
        sort: AuditSort::parse(q.sort.as_deref().unwrap_or_default()),
    };
    let req = PageRequest::new(Some(AUDIT_PAGE), q.offset).in_page(t)?;
    let list = state
        .store
        .list_audit(&scope, &filter, req)
        .await
        .in_page(t)?;
    let gyms = match u.caller.list(Action::GymRead) {
        Ok(s) => {
            state
                .store
                .list_gyms(
                    &s,
                    &GymFilter::default(),
                    PageRequest::new(Some(200), None).in_page(t)?,
                )
                .await
                .in_page(t)?
                .items
        }
        Err(_) => Vec::new(),
    };
    let mut names = BTreeMap::new();
    // Only the actors of rows the scope sees: a hand-typed `actor` id reveals no name.
    for id in list.items.iter().filter_map(|e| e.actor_user_id) {
        if let std::collections::btree_map::Entry::Vacant(v) = names.entry(id) {
            // A deleted user keeps their id in the log; show the id then.
            if let Ok(user) = state.store.user(id).await {
                v.insert(user.display_name);
            }
        }
    }
    let extra = format!(
        "{}{}{}",
        query_part("action", &action),
        query_part("gym", &gym),
        query_part("actor", &actor)
    );
    let actor_name = filter
        .actor_user_id
        .map(|id| names.get(&id).cloned().unwrap_or_else(|| id.to_string()));
    Ok(page(
        AuditPage {
            pager: pager(
                "/app/audit",
                &[extra.as_str(), &query_part("sort", filter.sort.as_str())].concat(),
                &list,
            ),
            heads: SortHeads::new("/app/audit", &extra, filter.sort.as_str()),
            rows: list.items,
            c,
            gyms,
            names,
            action,
            gym,
            actor,
            actor_name,
        },
        StatusCode::OK,
    ))
}
