//! Dashboard pages of a gym's class schedule: list, create, edit, delete. Handlers parse the
//! form, authorize, call `jarvis_app::classes` and render.

use crate::auth::web::{CsrfForm, PageUser};
use crate::state::AppState;
use crate::web::chrome::{
    Chrome, Empty, InPage, ListQuery, PageResult, SortHeads, gym_scope, sort_key,
};
use crate::web::i18n::{Msg, Tr, field_message, store_message};
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use jarvis_app::{AppError, classes};
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Page routes of the class schedule.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/app/gyms/{gym}/classes",
            get(classes_page).post(class_create),
        )
        .route(
            "/app/gyms/{gym}/classes/{id}",
            get(class_page).post(class_update),
        )
        .route("/app/gyms/{gym}/classes/{id}/delete", post(class_delete))
}

#[derive(Template)]
#[template(path = "gmk/classes.html")]
struct ClassesPage {
    c: Chrome,
    classes: Vec<ClassSchedule>,
    /// The sortable column headers.
    heads: SortHeads,
    /// The new-class form (as typed after an error).
    form: ClassForm,
    errors: BTreeMap<String, String>,
    can_write: bool,
}

/// The class list's sort keys, the default (the week's order, as stored) first.
const CLASS_SORTS: [&str; 4] = ["day", "name", "name_desc", "coach"];

/// Orders a gym's classes (a bounded list, sorted here; the store gives the week's order,
/// which stays the tiebreak). Classes without a coach go last by coach.
fn sort_classes(classes: &mut [ClassSchedule], key: &str) {
    let name = |k: &ClassSchedule| k.name.to_lowercase();
    match key {
        "name" => classes.sort_by_key(name),
        "name_desc" => classes.sort_by_key(|k| std::cmp::Reverse(name(k))),
        "coach" => classes.sort_by_key(|k| {
            let coach = k.coach.as_deref().map(str::to_lowercase);
            (coach.is_none(), coach)
        }),
        _ => {}
    }
}

async fn render_classes(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    sort: Option<&str>,
    form: ClassForm,
    errors: BTreeMap<String, String>,
    status: StatusCode,
) -> PageResult {
    let (scope, c) = gym_scope(state, u, gym, Action::ScheduleRead).await?;
    let p = state
        .store
        .list_classes(
            &scope,
            gym,
            None,
            PageRequest::new(Some(200), None).unwrap_or_default(),
        )
        .await
        .in_page(c.t)?;
    let can_write = u
        .caller
        .gym(state, gym, Action::ScheduleWrite)
        .await
        .is_ok();
    let key = sort_key(sort, &CLASS_SORTS);
    let mut classes = p.items;
    sort_classes(&mut classes, key);
    Ok(page(
        ClassesPage {
            c,
            classes,
            heads: SortHeads::new(&format!("/app/gyms/{gym}/classes"), "", key),
            form,
            errors,
            can_write,
        },
        status,
    ))
}

async fn classes_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<ListQuery>,
) -> PageResult {
    let form = ClassForm {
        weekday: "mon".into(),
        ..Default::default()
    };
    render_classes(
        &state,
        &u,
        gym,
        q.sort.as_deref(),
        form,
        BTreeMap::new(),
        StatusCode::OK,
    )
    .await
}

/// The class form (create and edit), as typed.
#[derive(Deserialize, Default, Clone)]
pub struct ClassForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    coach: String,
    #[serde(default)]
    room: String,
    #[serde(default)]
    weekday: String,
    /// A one-off class's date (`YYYY-MM-DD`); empty for a weekly class.
    #[serde(default)]
    date: String,
    #[serde(default)]
    start_time: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    capacity: String,
}

impl ClassForm {
    fn of(k: &ClassSchedule) -> Self {
        Self {
            name: k.name.clone(),
            coach: k.coach.clone().unwrap_or_default(),
            room: k.room.clone().unwrap_or_default(),
            weekday: k
                .weekday
                .map(|w| w.as_str().to_string())
                .unwrap_or_default(),
            date: k.date.map(|d| d.to_string()).unwrap_or_default(),
            start_time: k.start_time.clone(),
            duration_minutes: k.duration_minutes.to_string(),
            capacity: k.capacity.to_string(),
        }
    }

    /// The class (validated later), or the fields the form itself could not read. A date makes
    /// it a one-off class, otherwise it repeats weekly.
    fn to_new(&self) -> Result<NewClassSchedule, BTreeMap<String, String>> {
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let date = match opt(&self.date) {
            None => None,
            Some(d) => match jarvis_core::csv_import::parse_date(&d) {
                Some(d) => Some(d),
                None => {
                    return Err(BTreeMap::from([(
                        "date".to_string(),
                        "YYYY-MM-DD".to_string(),
                    )]));
                }
            },
        };
        let recurring = date.is_none();
        Ok(NewClassSchedule {
            name: self.name.clone(),
            coach: opt(&self.coach),
            room: opt(&self.room),
            weekday: if recurring {
                Weekday::parse(self.weekday.trim())
            } else {
                None
            },
            date,
            start_time: self.start_time.clone(),
            // Unreadable numbers become 0, which the range checks then name.
            duration_minutes: self.duration_minutes.trim().parse().unwrap_or(0),
            capacity: self.capacity.trim().parse().unwrap_or(0),
            recurring,
        })
    }
}

/// The typed value of one class form field (for the template).
pub fn class_value<'a>(f: &'a ClassForm, field: &str) -> &'a str {
    match field {
        "name" => &f.name,
        "coach" => &f.coach,
        "room" => &f.room,
        "weekday" => &f.weekday,
        "date" => &f.date,
        "start_time" => &f.start_time,
        "duration_minutes" => &f.duration_minutes,
        "capacity" => &f.capacity,
        _ => "",
    }
}

/// Checks a class form and writes it (`id`: replace that class, else create one); the
/// inline errors, in the page's language, when it cannot.
async fn save_class(
    state: &AppState,
    u: &PageUser,
    t: Tr,
    scope: &Scope,
    gym: GymId,
    id: Option<ClassScheduleId>,
    f: &ClassForm,
) -> Result<(), BTreeMap<String, String>> {
    let new = f.to_new()?;
    let store = state.store.as_ref();
    let saved = match id {
        Some(id) => classes::update(store, scope, &u.caller.actor, gym, id, new).await,
        None => classes::create(store, scope, &u.caller.actor, gym, new).await,
    };
    saved.map(|_| ()).map_err(|e| match e {
        AppError::Invalid(v) => {
            let mut errors = BTreeMap::new();
            for e in v.0 {
                let msg = field_message(t, &e);
                errors.entry(e.field).or_insert(msg);
            }
            errors
        }
        AppError::Store(e) => {
            let (field, msg) = store_message(t, &e);
            let field = if field.is_empty() {
                "name".into()
            } else {
                field
            };
            BTreeMap::from([(field, msg)])
        }
        other => BTreeMap::from([("name".to_string(), other.to_string())]),
    })
}

async fn class_create(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<ClassForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::ScheduleWrite).await?;
    match save_class(&state, &u, c.t, &scope, gym, None, &f).await {
        Ok(()) => Ok(Redirect::to(&format!("/app/gyms/{gym}/classes")).into_response()),
        Err(errors) => {
            render_classes(
                &state,
                &u,
                gym,
                None,
                f,
                errors,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "gmk/class.html")]
struct ClassPage {
    c: Chrome,
    k: ClassSchedule,
    form: ClassForm,
    errors: BTreeMap<String, String>,
}

/// One class's edit form (pre-filled; staff who may not edit schedules get 403).
async fn class_page(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, ClassScheduleId)>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::ScheduleWrite).await?;
    let k = state.store.class(&scope, gym, id).await.in_page(c.t)?;
    let form = ClassForm::of(&k);
    Ok(page(
        ClassPage {
            c,
            k,
            form,
            errors: BTreeMap::new(),
        },
        StatusCode::OK,
    ))
}

async fn class_update(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, ClassScheduleId)>,
    CsrfForm(f): CsrfForm<ClassForm>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::ScheduleWrite).await?;
    let k = state.store.class(&scope, gym, id).await.in_page(c.t)?;
    Ok(
        match save_class(&state, &u, c.t, &scope, gym, Some(id), &f).await {
            Ok(()) => Redirect::to(&format!("/app/gyms/{gym}/classes")).into_response(),
            Err(errors) => page(
                ClassPage {
                    c,
                    k,
                    form: f,
                    errors,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        },
    )
}

async fn class_delete(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, ClassScheduleId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> PageResult {
    let (scope, c) = gym_scope(&state, &u, gym, Action::ScheduleWrite).await?;
    classes::delete(state.store.as_ref(), &scope, &u.caller.actor, gym, id)
        .await
        .in_page(c.t)?;
    Ok(Redirect::to(&format!("/app/gyms/{gym}/classes")).into_response())
}
