//! Dashboard pages of the members area: the member list with search and filters, add a member,
//! a member's page (edit, facts, visits), GDPR export and erasure with confirmation. Handlers
//! parse the form, authorize, call `jarvis_app::members` and render.

use crate::auth::web::{CsrfForm, PageUser};
use crate::state::AppState;
use crate::web::chrome::{
    Chrome, ConfirmPage, Empty, InPage, ListQuery, PageError, PageResult, Pager, SortHeads,
    form_errors_text, gym_scope, pager, query_part, sort_key,
};
use crate::web::i18n::{Msg, field_message, store_message};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use jarvis_app::{AppError, members};
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::StoreError;
use serde::Deserialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Page routes of the members.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/gyms/{gym}/members",
            get(members_page).post(member_create),
        )
        .route(
            "/app/gyms/{gym}/members/{id}",
            get(member_page).post(member_update),
        )
        .route("/app/gyms/{gym}/members/{id}/facts", post(fact_add))
        .route(
            "/app/gyms/{gym}/members/{id}/erase",
            get(erase_confirm).post(erase_submit),
        )
        .route(
            "/app/gyms/{gym}/members/{id}/export.json",
            get(member_export),
        )
}

#[derive(Template)]
#[template(path = "gmk/members.html")]
struct MembersPage {
    c: Chrome,
    q: String,
    status: String,
    /// The sortable column headers (they carry the sort key).
    heads: SortHeads,
    mtype: String,
    days: String,
    members: Vec<Member>,
    pager: Pager,
    form: MemberForm,
    errors: BTreeMap<String, String>,
    can_write: bool,
    can_export: bool,
}

/// The "add a member" form, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct MemberForm {
    #[serde(default)]
    badge_id: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    preferred_language: String,
    #[serde(default)]
    membership_type: String,
}

impl MemberForm {
    fn to_new(&self) -> NewMember {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        NewMember {
            badge_id: self.badge_id.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: opt(&self.email),
            phone: opt(&self.phone),
            birth_date: None,
            preferred_language: Locale::parse(&self.preferred_language).unwrap_or_default(),
            membership_type: opt(&self.membership_type).unwrap_or_else(|| "standard".into()),
            membership_status: MembershipStatus::Active,
            membership_end_date: None,
            goals: vec![],
            limitations: None,
            consent_voice: false,
            consent_transcripts: false,
        }
    }
}

/// The member list's sort keys (the store's `MemberSort`), the default first.
const MEMBER_SORTS: [&str; 4] = ["name", "badge", "last_visit_desc", "created_desc"];

async fn render_members(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    q: ListQuery,
    form: MemberForm,
    errors: BTreeMap<String, String>,
    status_code: StatusCode,
) -> PageResult {
    let (scope, c) = gym_scope(state, u, gym, Action::MemberRead).await?;
    let search = q.q.clone().unwrap_or_default();
    let status = q.status.clone().unwrap_or_default();
    // Whitelisted: an unknown key is the default (name) order.
    let sort = sort_key(q.sort.as_deref(), &MEMBER_SORTS);
    let mtype = q.mtype.clone().unwrap_or_default();
    let days = q.days.clone().unwrap_or_default();
    let visited_since = days
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|d| (1..=3650).contains(d))
        .map(|d| OffsetDateTime::now_utc() - time::Duration::days(d));
    let filter = MemberFilter {
        q: Some(search.clone()).filter(|s| !s.trim().is_empty()),
        status: MembershipStatus::parse(&status),
        membership_type: Some(mtype.trim().to_lowercase()).filter(|t| !t.is_empty()),
        visited_since,
        sort: match sort {
            "created_desc" => MemberSort::CreatedDesc,
            "last_visit_desc" => MemberSort::LastVisitDesc,
            "badge" => MemberSort::Badge,
            _ => MemberSort::Name,
        },
    };
    let req = PageRequest::new(Some(50), q.offset).unwrap_or_default();
    let p = state
        .store
        .list_members(&scope, gym, &filter, req)
        .await
        .in_page(c.t)?;
    let extra = format!(
        "{}{}{}{}",
        query_part("q", &search),
        query_part("status", &status),
        query_part("mtype", &mtype),
        query_part("days", &days)
    );
    let base = format!("/app/gyms/{gym}/members");
    let pager = pager(
        &base,
        &[extra.as_str(), &query_part("sort", sort)].concat(),
        &p,
    );
    let heads = SortHeads::new(&base, &extra, sort);
    let can_write = u.caller.gym(state, gym, Action::MemberWrite).await.is_ok();
    let can_export = u.caller.gym(state, gym, Action::MemberImport).await.is_ok();
    Ok(page(
        MembersPage {
            c,
            q: search,
            status,
            heads,
            mtype,
            days,
            members: p.items,
            pager,
            form,
            errors,
            can_write,
            can_export,
        },
        status_code,
    ))
}

async fn members_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    render_members(
        &state,
        &u,
        gym,
        q,
        MemberForm {
            preferred_language: u.locale.as_str().into(),
            ..Default::default()
        },
        BTreeMap::new(),
        StatusCode::OK,
    )
    .await
}

async fn member_create(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(form): CsrfForm<MemberForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::MemberWrite).await?;
    let mut errors = BTreeMap::new();
    match members::create(
        state.store.as_ref(),
        &scope,
        &u.caller.actor,
        gym,
        form.to_new(),
    )
    .await
    {
        Ok(m) => {
            let to = format!("/app/gyms/{gym}/members/{}", m.id);
            return Ok(Redirect::to(&to).into_response());
        }
        Err(AppError::Store(e @ StoreError::Conflict { .. })) => {
            let (field, msg) = store_message(c.t, &e);
            errors.insert(field, msg);
        }
        Err(AppError::Invalid(v)) => {
            for e in v.0 {
                let msg = field_message(c.t, &e);
                errors.entry(e.field).or_insert(msg);
            }
        }
        Err(e) => return Err(PageError::new(c.t, e)),
    }
    render_members(
        &state,
        &u,
        gym,
        ListQuery::default(),
        form,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Template)]
#[template(path = "gmk/member.html")]
struct MemberPage {
    c: Chrome,
    m: Member,
    facts: Vec<MemberFact>,
    visits: Vec<Visit>,
    churn: Option<jarvis_core::churn::MemberChurn>,
    error: Option<String>,
    can_write: bool,
    can_privacy: bool,
    form: MemberEditForm,
    errors: BTreeMap<String, String>,
}

/// The member edit form, as typed (checkboxes are present when ticked).
#[derive(Deserialize, Default, Clone)]
pub struct MemberEditForm {
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    preferred_language: String,
    #[serde(default)]
    membership_type: String,
    #[serde(default)]
    membership_status: String,
    #[serde(default)]
    membership_end_date: String,
    #[serde(default)]
    goals: String,
    #[serde(default)]
    limitations: String,
    #[serde(default)]
    consent_voice: Option<String>,
    #[serde(default)]
    consent_transcripts: Option<String>,
}

impl MemberEditForm {
    fn of(m: &Member) -> Self {
        Self {
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            email: m.email.clone().unwrap_or_default(),
            phone: m.phone.clone().unwrap_or_default(),
            preferred_language: m.preferred_language.as_str().into(),
            membership_type: m.membership_type.clone(),
            membership_status: m.membership_status.as_str().into(),
            membership_end_date: m
                .membership_end_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            goals: m.goals.join(" | "),
            limitations: m.limitations.clone().unwrap_or_default(),
            consent_voice: m.consent_voice.then(|| "on".into()),
            consent_transcripts: m.consent_transcripts.then(|| "on".into()),
        }
    }

    /// The patch, or the fields the form itself could not read (dates, choices).
    fn to_patch(&self) -> Result<MemberPatch, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let end = match opt(&self.membership_end_date) {
            None => None,
            Some(d) => match jarvis_core::csv_import::parse_date(&d) {
                Some(d) => Some(d),
                None => {
                    errors.insert(
                        "membership_end_date".into(),
                        "YYYY-MM-DD / DD/MM/YYYY".into(),
                    );
                    None
                }
            },
        };
        let status = MembershipStatus::parse(&self.membership_status);
        if status.is_none() {
            errors.insert("membership_status".into(), "?".into());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(MemberPatch {
            first_name: Some(self.first_name.clone()),
            last_name: Some(self.last_name.clone()),
            email: Some(opt(&self.email)),
            phone: Some(opt(&self.phone)),
            preferred_language: Locale::parse(&self.preferred_language),
            membership_type: Some(self.membership_type.clone()),
            membership_status: status,
            membership_end_date: Some(end),
            goals: Some(
                self.goals
                    .split(['|', '\n'])
                    .map(|g| g.trim().to_string())
                    .filter(|g| !g.is_empty())
                    .collect(),
            ),
            limitations: Some(opt(&self.limitations)),
            consent_voice: Some(self.consent_voice.is_some()),
            consent_transcripts: Some(self.consent_transcripts.is_some()),
            ..Default::default()
        })
    }
}

/// The typed value of one member edit field (for the template).
pub fn edit_value<'a>(f: &'a MemberEditForm, field: &str) -> &'a str {
    match field {
        "first_name" => &f.first_name,
        "last_name" => &f.last_name,
        "email" => &f.email,
        "phone" => &f.phone,
        "membership_type" => &f.membership_type,
        "membership_end_date" => &f.membership_end_date,
        "goals" => &f.goals,
        "limitations" => &f.limitations,
        "membership_status" => &f.membership_status,
        "preferred_language" => &f.preferred_language,
        _ => "",
    }
}

async fn render_member(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    id: MemberId,
    error: Option<String>,
    status: StatusCode,
) -> PageResult {
    render_member_form(state, u, gym, id, error, None, BTreeMap::new(), status).await
}

#[allow(clippy::too_many_arguments)]
async fn render_member_form(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    id: MemberId,
    error: Option<String>,
    form: Option<MemberEditForm>,
    errors: BTreeMap<String, String>,
    status: StatusCode,
) -> PageResult {
    let (scope, c) = gym_scope(state, u, gym, Action::MemberRead).await?;
    let t = c.t;
    let load = async {
        let m = state.store.member(&scope, gym, id).await?;
        let facts = state
            .store
            .list_facts(&scope, gym, id, PageRequest::default())
            .await?;
        let visits = state
            .store
            .list_visits(
                &scope,
                gym,
                id,
                PageRequest::new(Some(20), None).unwrap_or_default(),
            )
            .await?;
        Ok::<_, StoreError>((m, facts.items, visits.items))
    };
    let (m, facts, visits) = load.await.in_page(t)?;
    let churn = jarvis_app::churn::member(state.store.as_ref(), &scope, gym, id)
        .await
        .in_page(t)?;
    let can_write = u.caller.gym(state, gym, Action::MemberWrite).await.is_ok();
    let can_privacy = u
        .caller
        .gym(state, gym, Action::MemberPrivacy)
        .await
        .is_ok();
    let form = form.unwrap_or_else(|| MemberEditForm::of(&m));
    Ok(page(
        MemberPage {
            c,
            m,
            facts,
            visits,
            churn,
            error,
            can_write,
            can_privacy,
            form,
            errors,
        },
        status,
    ))
}

async fn member_page(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, MemberId)>,
) -> PageResult {
    render_member(&state, &u, gym, id, None, StatusCode::OK).await
}

async fn member_update(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, MemberId)>,
    CsrfForm(form): CsrfForm<MemberEditForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::MemberWrite).await?;
    let errors = match form.to_patch() {
        Ok(patch) => {
            match members::update(
                state.store.as_ref(),
                &scope,
                &u.caller.actor,
                gym,
                id,
                patch,
            )
            .await
            {
                Ok(_) => {
                    let to = format!("/app/gyms/{gym}/members/{id}");
                    return Ok(Redirect::to(&to).into_response());
                }
                Err(AppError::Store(e @ StoreError::Conflict { .. })) => {
                    BTreeMap::from([store_message(c.t, &e)])
                }
                Err(AppError::Invalid(v)) => {
                    let mut m = BTreeMap::new();
                    for e in v.0 {
                        let key = e.field.split('[').next().unwrap_or_default().to_string();
                        m.entry(key).or_insert_with(|| field_message(c.t, &e));
                    }
                    m
                }
                Err(e) => return Err(PageError::new(c.t, e)),
            }
        }
        Err(m) => m,
    };
    render_member_form(
        &state,
        &u,
        gym,
        id,
        None,
        Some(form),
        errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Deserialize)]
struct FactForm {
    note: String,
}

async fn fact_add(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, MemberId)>,
    CsrfForm(f): CsrfForm<FactForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::MemberWrite).await?;
    let new = NewMemberFact {
        note: f.note,
        source: FactSource::Staff,
    };
    let err = match members::add_fact(state.store.as_ref(), &scope, &u.caller.actor, gym, id, new)
        .await
    {
        Ok(_) => {
            let to = format!("/app/gyms/{gym}/members/{id}");
            return Ok(Redirect::to(&to).into_response());
        }
        Err(AppError::Store(e)) => store_message(c.t, &e).1,
        Err(AppError::Invalid(v)) => form_errors_text(c.t, &v),
        Err(e) => return Err(PageError::new(c.t, e)),
    };
    render_member(
        &state,
        &u,
        gym,
        id,
        Some(err),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn erase_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, MemberId)>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::MemberPrivacy).await?;
    let m = state.store.member(&scope, gym, id).await.in_page(c.t)?;
    let question = c.t.get(Msg::EraseConfirm);
    Ok(page(
        ConfirmPage {
            c,
            question,
            subject: format!("{} {} ({})", m.first_name, m.last_name, m.badge_id),
            action: format!("/app/gyms/{gym}/members/{id}/erase"),
            back: format!("/app/gyms/{gym}/members/{id}"),
        },
        StatusCode::OK,
    ))
}

async fn erase_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, MemberId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::MemberPrivacy).await?;
    members::gdpr_erase(state.store.as_ref(), &scope, &u.caller.actor, gym, id)
        .await
        .in_page(c.t)?;
    Ok(Redirect::to(&format!("/app/gyms/{gym}/members")).into_response())
}

async fn member_export(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, MemberId)>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::MemberPrivacy).await?;
    let x = members::gdpr_export(state.store.as_ref(), &scope, &u.caller.actor, gym, id)
        .await
        .in_page(c.t)?;
    Ok((
        [
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"member-{id}.json\""),
            ),
            (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        ],
        axum::Json(x),
    )
        .into_response())
}

/// The typed value of one member form field (to refill the form after an error).
pub fn form_value<'a>(f: &'a MemberForm, field: &str) -> &'a str {
    match field {
        "badge_id" => &f.badge_id,
        "first_name" => &f.first_name,
        "last_name" => &f.last_name,
        "email" => &f.email,
        "phone" => &f.phone,
        "membership_type" => &f.membership_type,
        _ => "",
    }
}
