//! Dashboard pages for gyms, members, kiosks, classes and CSV imports (server-rendered, French
//! and English, sign-in required). Every page and form asks the one permission function for its
//! scope, exactly as the JSON API does; forms carry the CSRF token; destructive actions go
//! through a confirmation page.

use crate::auth::secrets_equal;
use crate::auth::web::{CsrfForm, PageUser};
use crate::error::ApiError;
use jarvis_app::AppError;
use crate::imports::{ImportOptions, ImportTarget, MAX_UPLOAD_BYTES, job_view, spawn_import};
use crate::state::AppState;
use crate::web::page;
use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use jarvis_core::authz::Action;
use jarvis_core::model::*;
use jarvis_core::*;
use jarvis_store::GymFilter;
use serde::Deserialize;
use std::collections::BTreeMap;
use time::OffsetDateTime;

#[path = "pages_text.rs"]
mod text;
use text::{field_message, store_message};

/// Page routes of this area.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/app/gyms", get(gyms_page))
        .route("/app/gyms/{gym}", get(gym_page))
        .route("/app/gyms/{gym}/status", post(gym_status))
        .route("/app/gyms/{gym}/settings", post(gym_settings))
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
        .route(
            "/app/gyms/{gym}/kiosks",
            get(kiosks_page).post(kiosk_create),
        )
        .route("/app/gyms/{gym}/kiosks/{id}/pair", post(kiosk_pair))
        .route("/app/gyms/{gym}/kiosks/{id}/update", post(kiosk_update))
        .route(
            "/app/gyms/{gym}/kiosks/{id}/revoke",
            get(revoke_confirm).post(revoke_submit),
        )
        .route(
            "/app/gyms/{gym}/classes",
            get(classes_page).post(class_create),
        )
        .route(
            "/app/gyms/{gym}/classes/{id}",
            get(class_page).post(class_update),
        )
        .route("/app/gyms/{gym}/classes/{id}/delete", post(class_delete))
        .route(
            "/app/gyms/{gym}/import",
            get(import_page).post(import_upload),
        )
        .route("/app/gyms/{gym}/imports/{id}", get(import_job_page))
        .route(
            "/app/gyms/{gym}/imports/{id}/progress.json",
            get(import_job_progress),
        )
        .route("/assets/import.js", get(import_js))
        .route("/kiosk", get(kiosk_page))
        .route("/assets/kiosk.js", get(kiosk_js))
}

/// Page strings, French and English.
#[derive(Clone, Copy)]
pub struct Tr(Locale);

impl Tr {
    /// The string for `key` (the key itself when missing, so a gap shows instead of breaking).
    pub fn s(&self, key: &str) -> &'static str {
        let (fr, en) = match key {
            "gyms" => ("Salles", "Gyms"),
            "members" => ("Membres", "Members"),
            "kiosks" => ("Bornes", "Kiosks"),
            "classes" => ("Cours", "Classes"),
            "import" => ("Import CSV", "CSV import"),
            "search" => ("Rechercher", "Search"),
            "name" => ("Nom", "Name"),
            "status" => ("Statut", "Status"),
            "reason" => ("Motif", "Reason"),
            "approve" => ("Approuver", "Approve"),
            "reject" => ("Refuser", "Reject"),
            "suspend" => ("Suspendre", "Suspend"),
            "reactivate" => ("Réactiver", "Reactivate"),
            "resubmit" => ("Soumettre à nouveau", "Resubmit"),
            "previous" => ("Précédent", "Previous"),
            "next" => ("Suivant", "Next"),
            "of" => ("sur", "of"),
            "badge" => ("Badge", "Badge"),
            "first_name" => ("Prénom", "First name"),
            "last_name" => ("Nom", "Last name"),
            "email" => ("E-mail", "E-mail"),
            "phone" => ("Téléphone", "Phone"),
            "language" => ("Langue", "Language"),
            "membership_type" => ("Abonnement", "Membership"),
            "visits" => ("Visites", "Visits"),
            "last_visit" => ("Dernière visite", "Last visit"),
            "add_member" => ("Ajouter un membre", "Add a member"),
            "add" => ("Ajouter", "Add"),
            "save" => ("Enregistrer", "Save"),
            "all" => ("Tous", "All"),
            "facts" => ("Notes", "Facts"),
            "note" => ("Note", "Note"),
            "source" => ("Source", "Source"),
            "date" => ("Date", "Date"),
            "gdpr" => ("RGPD", "GDPR"),
            "export_json" => ("Exporter ses données (JSON)", "Export their data (JSON)"),
            "export_csv" => ("Exporter les membres (CSV)", "Export members (CSV)"),
            "erase" => ("Effacer définitivement", "Erase permanently"),
            "erase_confirm" => (
                "Effacer ce membre et toutes ses données personnelles ? Les visites restent comptées de façon anonyme. Cette action est irréversible.",
                "Erase this member and all their personal data? Visits stay as anonymous counts. This cannot be undone.",
            ),
            "cancel" => ("Annuler", "Cancel"),
            "confirm" => ("Confirmer", "Confirm"),
            "presence" => ("État", "State"),
            "online" => ("en ligne", "online"),
            "offline" => ("hors ligne", "offline"),
            "revoked" => ("révoquée", "revoked"),
            "unpaired" => ("non appairée", "unpaired"),
            "last_seen" => ("Vue", "Last seen"),
            "version" => ("Version", "Version"),
            "pair" => ("Code d'appairage", "Pairing code"),
            "pair_intro" => (
                "Saisissez ce code sur la borne (page /kiosk). Il est valable 15 minutes, une seule fois.",
                "Type this code on the kiosk (page /kiosk). It works once, for 15 minutes.",
            ),
            "revoke" => ("Révoquer", "Revoke"),
            "revoke_confirm" => (
                "Révoquer cette borne ? Elle sera déconnectée immédiatement et devra être appairée à nouveau.",
                "Revoke this kiosk? It is cut off at once and must be paired again.",
            ),
            "new_kiosk" => ("Nouvelle borne", "New kiosk"),
            "coach" => ("Coach", "Coach"),
            "room" => ("Salle", "Room"),
            "weekday" => ("Jour", "Day"),
            "start" => ("Début", "Start"),
            "duration" => ("Durée (min)", "Duration (min)"),
            "capacity" => ("Places", "Capacity"),
            "delete" => ("Supprimer", "Delete"),
            "new_class" => ("Nouveau cours hebdomadaire", "New weekly class"),
            "upload" => ("Importer", "Upload"),
            "file" => ("Fichier CSV", "CSV file"),
            "dry_run" => (
                "Vérifier seulement (aucune écriture)",
                "Check only (write nothing)",
            ),
            "skip_bad" => ("Ignorer les lignes en erreur", "Skip bad rows"),
            "import_intro" => (
                "En-têtes reconnus : badge, prénom, nom, e-mail, téléphone, date de naissance, langue, abonnement… Séparateur ; ou , — UTF-8 ou Windows-1252. Par défaut tout ou rien.",
                "Recognized headers: badge, first name, last name, e-mail, phone, birth date, language, membership… Delimiter ; or , — UTF-8 or Windows-1252. All or nothing by default.",
            ),
            "job" => ("Import", "Import"),
            "progress" => ("Progression", "Progress"),
            "rows" => ("lignes", "rows"),
            "inserted" => ("importées", "imported"),
            "skipped" => ("ignorées", "skipped"),
            "errors" => ("erreurs", "errors"),
            "line" => ("Ligne", "Line"),
            "column" => ("Colonne", "Column"),
            "ignored_columns" => ("Colonnes ignorées", "Ignored columns"),
            "forbidden" => ("Accès refusé.", "Access denied."),
            "not_found" => ("Introuvable.", "Not found."),
            "error" => ("Erreur", "Error"),
            "back" => ("Retour", "Back"),
            "settings" => ("Réglages", "Settings"),
            "timezone" => ("Fuseau horaire", "Time zone"),
            "address" => ("Adresse", "Address"),
            "edit" => ("Modifier", "Edit"),
            "seen_within" => ("Vus depuis (jours)", "Seen within (days)"),
            "rename" => ("Renommer / déplacer", "Rename / move"),
            "persona_name" => ("Nom de l'assistant", "Assistant name"),
            "voice" => ("Voix", "Voice"),
            "tone" => ("Ton", "Tone"),
            "instructions" => ("Consignes supplémentaires", "Extra instructions"),
            "voice_session_cap" => (
                "Sessions vocales simultanées max.",
                "Max concurrent voice sessions",
            ),
            "budget" => ("Budget IA mensuel ($)", "Monthly AI budget ($)"),
            "opening_hours" => (
                "Horaires (ex. 06:00-22:00)",
                "Opening hours (e.g. 06:00-22:00)",
            ),
            "features" => ("Fonctions", "Features"),
            "f_voice" => ("Conversations vocales", "Voice conversations"),
            "f_transcripts" => ("Transcriptions", "Transcripts"),
            "f_class_schedule" => ("Planning des cours", "Class schedule"),
            "f_knowledge_base" => ("Base de connaissances", "Knowledge base"),
            "f_custom_tools" => ("Outils personnalisés", "Custom tools"),
            "f_weekly_reports" => ("Rapports hebdomadaires", "Weekly reports"),
            "hours_mon" => ("Lundi", "Monday"),
            "hours_tue" => ("Mardi", "Tuesday"),
            "hours_wed" => ("Mercredi", "Wednesday"),
            "hours_thu" => ("Jeudi", "Thursday"),
            "hours_fri" => ("Vendredi", "Friday"),
            "hours_sat" => ("Samedi", "Saturday"),
            "hours_sun" => ("Dimanche", "Sunday"),
            "membership_status" => ("Statut de l'abonnement", "Membership status"),
            "membership_end_date" => ("Fin d'abonnement", "Membership ends"),
            "goals" => ("Objectifs (séparés par |)", "Goals (separated by |)"),
            "limitations" => ("Blessures / limitations", "Injuries / limitations"),
            "consent_voice" => (
                "Accepte les conversations vocales",
                "Agrees to voice conversations",
            ),
            "consent_transcripts" => (
                "Accepte la conservation des transcriptions",
                "Agrees to keeping transcripts",
            ),
            "sort" => ("Tri", "Sort"),
            "persona" => ("Assistant", "Persona"),
            "tagline" => (
                "Compagnon vocal IA pour salles de sport",
                "AI voice companion for gyms",
            ),
            "footer" => ("JARVIS — auto-hébergé", "JARVIS — self-hosted"),
            "dry_run_tag" => ("(vérification seulement)", "(dry run)"),
            "budget_locked" => (
                "Fixé par le propriétaire de la franchise ou un super administrateur.",
                "Set by the franchise owner or a super admin.",
            ),
            "edit_class" => ("Modifier le cours", "Edit class"),
            "one_off_date" => ("Date (cours ponctuel)", "Date (one-off class)"),
            "misconfigured" => (
                "Les réglages enregistrés de cette salle sont invalides : bornes et assistant vocal sont refusés jusqu'à ce qu'ils soient enregistrés à nouveau.",
                "This gym's stored settings are invalid: kiosks and the voice assistant are refused until they are saved again.",
            ),
            "gym_inactive" => (
                "Seules les salles actives peuvent faire fonctionner des bornes.",
                "Only active gyms can run kiosks.",
            ),
            _ => ("?", "?"),
        };
        match self.0 {
            Locale::Fr => fr,
            Locale::En => en,
        }
    }
    /// `fr` or `en`.
    pub fn lang(&self) -> &'static str {
        self.0.as_str()
    }
}

/// Shared header data of every page of this area.
pub struct Chrome {
    t: Tr,
    csrf: String,
    user: String,
    gym: Option<Gym>,
}

/// An error page in the user's language (404 for foreign or missing things, 403 for roles).
fn error_page(t: Tr, e: ApiError) -> Response {
    let (status, msg) = match e.status {
        StatusCode::NOT_FOUND => (StatusCode::NOT_FOUND, t.s("not_found").to_string()),
        StatusCode::FORBIDDEN => (StatusCode::FORBIDDEN, t.s("forbidden").to_string()),
        s => (s, e.message.clone()),
    };
    page(MessagePage { t, message: msg }, status)
}

#[derive(Template)]
#[template(path = "gmk/message.html")]
struct MessagePage {
    t: Tr,
    message: String,
}

async fn gym_scope(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    action: Action,
) -> Result<(Scope, Chrome), Response> {
    let t = Tr(u.locale);
    let scope = u
        .caller
        .gym(state, gym, action)
        .await
        .map_err(|e| error_page(t, e))?;
    let g = state
        .store
        .gym(&scope, gym)
        .await
        .map_err(|e| error_page(t, e.into()))?;
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

/// Every error of a one-field form as one line, in the page's language.
fn form_errors_text(t: Tr, v: &ValidationErrors) -> String {
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

/// The string key of a kiosk presence.
pub fn presence_key(p: &KioskPresence) -> &'static str {
    match p {
        KioskPresence::Online => "online",
        KioskPresence::Offline => "offline",
        KioskPresence::Revoked => "revoked",
        KioskPresence::Unpaired => "unpaired",
    }
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

// ---------- gyms ----------

#[derive(Deserialize, Default)]
struct ListQuery {
    q: Option<String>,
    offset: Option<u64>,
    status: Option<String>,
    sort: Option<String>,
    /// Membership type filter.
    mtype: Option<String>,
    /// Only members seen in the last N days.
    days: Option<String>,
}

#[derive(Template)]
#[template(path = "gmk/gyms.html")]
struct GymsPage {
    c: Chrome,
    q: String,
    gyms: Vec<Gym>,
    pager: Pager,
}

/// Previous/next links of a list.
pub struct Pager {
    total: u64,
    from: u64,
    to: u64,
    prev: Option<String>,
    next: Option<String>,
}

fn pager(base: &str, extra: &str, page: &Page<impl Sized>) -> Pager {
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

fn query_part(k: &str, v: &str) -> String {
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

async fn gyms_page(
    State(state): State<AppState>,
    u: PageUser,
    Query(q): Query<ListQuery>,
) -> Response {
    let t = Tr(u.locale);
    let scope = match u.caller.list(Action::GymRead) {
        Ok(s) => s,
        Err(e) => return error_page(t, e),
    };
    let search = q.q.clone().unwrap_or_default();
    let filter = GymFilter {
        q: Some(search.clone()).filter(|s| !s.trim().is_empty()),
        ..Default::default()
    };
    let req = PageRequest::new(Some(25), q.offset).unwrap_or_default();
    match state.store.list_gyms(&scope, &filter, req).await {
        Ok(p) => {
            let pager = pager("/app/gyms", &query_part("q", &search), &p);
            page(
                GymsPage {
                    c: Chrome {
                        t,
                        csrf: u.csrf.clone(),
                        user: u.user.display_name.clone(),
                        gym: None,
                    },
                    q: search,
                    gyms: p.items,
                    pager,
                },
                StatusCode::OK,
            )
        }
        Err(e) => error_page(t, e.into()),
    }
}

#[derive(Template)]
#[template(path = "gmk/gym.html")]
struct GymPage {
    c: Chrome,
    g: Gym,
    can_approve: bool,
    error: Option<String>,
    settings: GymSettings,
    /// The stored settings do not validate: kiosks and voice refuse this gym until saved.
    misconfigured: bool,
    can_edit: bool,
    /// May change the AI budget and voice-session cap (owner, super admin); else read-only.
    can_budget: bool,
    form: SettingsForm,
    errors: BTreeMap<String, String>,
}

/// Whether a settings form field is one of the gym's spending limits (read-only for managers).
pub fn budget_field(f: &str) -> bool {
    matches!(f, "voice_session_cap" | "budget")
}

/// The gym settings form, as typed.
#[derive(Deserialize, Default, Clone)]
pub struct SettingsForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    timezone: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    persona_name: String,
    #[serde(default)]
    voice: String,
    #[serde(default)]
    tone: String,
    #[serde(default)]
    instructions: String,
    #[serde(default)]
    voice_session_cap: String,
    #[serde(default)]
    budget: String,
    #[serde(default)]
    hours_mon: String,
    #[serde(default)]
    hours_tue: String,
    #[serde(default)]
    hours_wed: String,
    #[serde(default)]
    hours_thu: String,
    #[serde(default)]
    hours_fri: String,
    #[serde(default)]
    hours_sat: String,
    #[serde(default)]
    hours_sun: String,
    #[serde(default)]
    f_voice: Option<String>,
    #[serde(default)]
    f_transcripts: Option<String>,
    #[serde(default)]
    f_class_schedule: Option<String>,
    #[serde(default)]
    f_knowledge_base: Option<String>,
    #[serde(default)]
    f_custom_tools: Option<String>,
    #[serde(default)]
    f_weekly_reports: Option<String>,
}

/// Feature switch names as form fields, in display order.
pub const FEATURES: [&str; 6] = [
    "f_voice",
    "f_transcripts",
    "f_class_schedule",
    "f_knowledge_base",
    "f_custom_tools",
    "f_weekly_reports",
];

fn slots_text(slots: &[TimeSlot]) -> String {
    slots
        .iter()
        .map(|s| format!("{}-{}", s.open, s.close))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SettingsForm {
    /// The form for a gym; a misconfigured gym's settings fields start from the defaults (the
    /// page says the stored ones are invalid).
    fn of(g: &Gym) -> Self {
        let s = jarvis_app::gyms::settings_of(g).unwrap_or_default();
        let on = |b: bool| b.then(|| "on".to_string());
        let h = &s.opening_hours;
        Self {
            name: g.name.clone(),
            address: g.address.clone().unwrap_or_default(),
            timezone: g.timezone.clone(),
            locale: g.locale.as_str().into(),
            persona_name: s.persona.name.clone(),
            voice: serde_json::to_value(s.persona.voice)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            tone: serde_json::to_value(s.persona.tone)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            instructions: s.persona.instructions.clone().unwrap_or_default(),
            voice_session_cap: s.voice_session_cap.to_string(),
            budget: format!("{:.2}", s.monthly_ai_budget_micros as f64 / 1e6),
            hours_mon: slots_text(&h.mon),
            hours_tue: slots_text(&h.tue),
            hours_wed: slots_text(&h.wed),
            hours_thu: slots_text(&h.thu),
            hours_fri: slots_text(&h.fri),
            hours_sat: slots_text(&h.sat),
            hours_sun: slots_text(&h.sun),
            f_voice: on(s.features.voice),
            f_transcripts: on(s.features.transcripts),
            f_class_schedule: on(s.features.class_schedule),
            f_knowledge_base: on(s.features.knowledge_base),
            f_custom_tools: on(s.features.custom_tools),
            f_weekly_reports: on(s.features.weekly_reports),
        }
    }

    /// The gym patch (settings validated later by `GymPatch::validate`), or form-level errors.
    /// `current` is the stored settings (none when they are corrupt): what the form does not
    /// show (`voice`) is carried over unchanged, never reset.
    fn to_patch(&self, current: Option<&GymSettings>) -> Result<GymPatch, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let mut hours = serde_json::Map::new();
        for (day, text) in [
            ("mon", &self.hours_mon),
            ("tue", &self.hours_tue),
            ("wed", &self.hours_wed),
            ("thu", &self.hours_thu),
            ("fri", &self.hours_fri),
            ("sat", &self.hours_sat),
            ("sun", &self.hours_sun),
        ] {
            let mut slots = Vec::new();
            for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                match part.split_once('-') {
                    Some((o, c)) => {
                        slots.push(serde_json::json!({"open": o.trim(), "close": c.trim()}))
                    }
                    None => {
                        errors.insert(format!("hours_{day}"), "HH:MM-HH:MM, HH:MM-HH:MM".into());
                    }
                }
            }
            hours.insert(day.into(), serde_json::Value::Array(slots));
        }
        let cap: u64 = match self.voice_session_cap.trim().parse() {
            Ok(n) => n,
            Err(_) => {
                errors.insert("voice_session_cap".into(), "1-50".into());
                0
            }
        };
        let budget = match self.budget.trim().replace(',', ".").parse::<f64>() {
            Ok(d) if d.is_finite() && d >= 0.0 => (d * 1e6).round() as i64,
            _ => {
                errors.insert("budget".into(), "≥ 0".into());
                0
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let instructions = Some(self.instructions.trim()).filter(|s| !s.is_empty());
        let voice = current.map(|c| c.voice).unwrap_or_default();
        let settings = serde_json::json!({
            "voice": voice,
            "opening_hours": hours,
            "persona": { "name": self.persona_name, "voice": self.voice, "tone": self.tone, "instructions": instructions },
            "voice_session_cap": cap,
            "monthly_ai_budget_micros": budget,
            "features": {
                "voice": self.f_voice.is_some(),
                "transcripts": self.f_transcripts.is_some(),
                "class_schedule": self.f_class_schedule.is_some(),
                "knowledge_base": self.f_knowledge_base.is_some(),
                "custom_tools": self.f_custom_tools.is_some(),
                "weekly_reports": self.f_weekly_reports.is_some(),
            }
        });
        Ok(GymPatch {
            name: Some(self.name.clone()),
            address: Some(Some(self.address.clone()).filter(|a| !a.trim().is_empty())),
            timezone: Some(self.timezone.clone()),
            locale: Locale::parse(&self.locale),
            settings: Some(settings),
        })
    }
}

/// The typed value of one settings field (for the template).
pub fn settings_value<'a>(f: &'a SettingsForm, field: &str) -> &'a str {
    match field {
        "name" => &f.name,
        "address" => &f.address,
        "timezone" => &f.timezone,
        "persona_name" => &f.persona_name,
        "instructions" => &f.instructions,
        "voice_session_cap" => &f.voice_session_cap,
        "budget" => &f.budget,
        "hours_mon" => &f.hours_mon,
        "hours_tue" => &f.hours_tue,
        "hours_wed" => &f.hours_wed,
        "hours_thu" => &f.hours_thu,
        "hours_fri" => &f.hours_fri,
        "hours_sat" => &f.hours_sat,
        "hours_sun" => &f.hours_sun,
        "voice" => &f.voice,
        "tone" => &f.tone,
        "locale" => &f.locale,
        _ => "",
    }
}

/// Whether a feature checkbox is ticked (for the template).
pub fn feature_on(f: &SettingsForm, field: &str) -> bool {
    match field {
        "f_voice" => f.f_voice.is_some(),
        "f_transcripts" => f.f_transcripts.is_some(),
        "f_class_schedule" => f.f_class_schedule.is_some(),
        "f_knowledge_base" => f.f_knowledge_base.is_some(),
        "f_custom_tools" => f.f_custom_tools.is_some(),
        "f_weekly_reports" => f.f_weekly_reports.is_some(),
        _ => false,
    }
}

/// Maps a validation path (`settings.persona.name`) to its form field.
fn settings_field(path: &str) -> String {
    let p = path.trim_start_matches("settings.");
    if let Some(day) = p.strip_prefix("opening_hours.") {
        return format!("hours_{}", day.split('[').next().unwrap_or_default());
    }
    match p {
        "persona.name" => "persona_name".into(),
        "persona.instructions" => "instructions".into(),
        "monthly_ai_budget_micros" => "budget".into(),
        "settings" => "persona_name".into(),
        other => other.to_string(),
    }
}

async fn gym_page(State(state): State<AppState>, u: PageUser, Path(gym): Path<GymId>) -> Response {
    let (_, c) = match gym_scope(&state, &u, gym, Action::GymRead).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let can_edit = u
        .caller
        .gym(&state, gym, Action::GymSettingsUpdate)
        .await
        .is_ok();
    render_gym(&u, c, None, can_edit, None, BTreeMap::new(), StatusCode::OK)
}

fn render_gym(
    u: &PageUser,
    c: Chrome,
    error: Option<String>,
    can_edit: bool,
    form: Option<SettingsForm>,
    errors: BTreeMap<String, String>,
    status: StatusCode,
) -> Response {
    let Some(g) = c.gym.clone() else {
        return error_page(c.t, ApiError::not_found("gym"));
    };
    let can_approve = u
        .caller
        .franchise(g.franchise_id, Action::GymApprove)
        .is_ok();
    let can_budget = u
        .caller
        .authorize(
            Action::GymBudgetWrite,
            &jarvis_core::authz::Resource::Gym(g.franchise_id, g.id),
        )
        .is_ok();
    let misconfigured = jarvis_app::gyms::settings_of(&g).is_none();
    let settings = jarvis_app::gyms::settings_of(&g).unwrap_or_default();
    let form = form.unwrap_or_else(|| SettingsForm::of(&g));
    page(
        GymPage {
            c,
            g,
            can_approve,
            error,
            settings,
            misconfigured,
            can_edit,
            can_budget,
            form,
            errors,
        },
        status,
    )
}

async fn gym_settings(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::GymSettingsUpdate).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let t = c.t;
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    // Settings the form does not show (voice) are carried over from what is stored.
    let current = c.gym.as_ref().and_then(jarvis_app::gyms::settings_of);
    let errors = match form.to_patch(current.as_ref()) {
        // The same service as the API: a manager's change to the spending limits is refused,
        // next to the field.
        Ok(patch) => match jarvis_app::gyms::update(
            state.store.as_ref(),
            &u.caller.principal,
            &scope,
            &u.caller.actor,
            gym,
            patch,
        )
        .await
        {
            Ok(_) => return Redirect::to(&format!("/app/gyms/{gym}")).into_response(),
            Err(AppError::Store(e @ jarvis_store::StoreError::Conflict { .. })) => {
                let (field, msg) = store_message(t, &e);
                BTreeMap::from([(field, msg)])
            }
            Err(AppError::FieldForbidden { fields, message }) => {
                status = StatusCode::FORBIDDEN;
                fields
                    .iter()
                    .map(|f| {
                        let fe = FieldError::new(*f, "forbidden", message.clone());
                        (settings_field(f), field_message(t, &fe))
                    })
                    .collect()
            }
            Err(AppError::Invalid(v)) => {
                let mut m = BTreeMap::new();
                for e in v.0 {
                    m.entry(settings_field(&e.field))
                        .or_insert_with(|| field_message(t, &e));
                }
                m
            }
            Err(e) => return error_page(t, e.into()),
        },
        Err(m) => m,
    };
    render_gym(&u, c, None, true, Some(form), errors, status)
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
    #[serde(default)]
    reason: String,
    /// The status the page showed when the reviewer decided (compare-and-set).
    #[serde(default)]
    from: String,
}

async fn gym_status(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<StatusForm>,
) -> Response {
    let Some(to) = GymStatus::parse(&f.status) else {
        return error_page(
            Tr(u.locale),
            ApiError::bad_request("status", "unknown status"),
        );
    };
    let action = GymStatus::review_action(to);
    let (scope, c) = match gym_scope(&state, &u, gym, action).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let from = GymStatus::parse(&f.from).or(c.gym.as_ref().map(|g| g.status));
    match jarvis_app::gyms::review(
        state.store.as_ref(),
        &scope,
        &u.caller.actor,
        gym,
        from,
        to,
        Some(f.reason),
    )
    .await
    {
        Ok(_) => Redirect::to(&format!("/app/gyms/{gym}")).into_response(),
        Err(AppError::Store(
            e @ (jarvis_store::StoreError::Conflict { .. }
            | jarvis_store::StoreError::Invalid { .. }),
        )) => {
            let status = if matches!(e, jarvis_store::StoreError::Conflict { .. }) {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let (_, msg) = store_message(c.t, &e);
            render_gym(&u, c, Some(msg), false, None, BTreeMap::new(), status)
        }
        Err(e) => error_page(c.t, e.into()),
    }
}

// ---------- members ----------

#[derive(Template)]
#[template(path = "gmk/members.html")]
struct MembersPage {
    c: Chrome,
    q: String,
    status: String,
    sort: String,
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

async fn render_members(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    q: ListQuery,
    form: MemberForm,
    errors: BTreeMap<String, String>,
    status_code: StatusCode,
) -> Response {
    let (scope, c) = match gym_scope(state, u, gym, Action::MemberRead).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let search = q.q.clone().unwrap_or_default();
    let status = q.status.clone().unwrap_or_default();
    let sort = q.sort.clone().unwrap_or_default();
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
        sort: match sort.as_str() {
            "created_desc" => MemberSort::CreatedDesc,
            "last_visit_desc" => MemberSort::LastVisitDesc,
            "badge" => MemberSort::Badge,
            _ => MemberSort::Name,
        },
    };
    let req = PageRequest::new(Some(50), q.offset).unwrap_or_default();
    let p = match state.store.list_members(&scope, gym, &filter, req).await {
        Ok(p) => p,
        Err(e) => return error_page(c.t, e.into()),
    };
    let extra = format!(
        "{}{}{}{}{}",
        query_part("q", &search),
        query_part("status", &status),
        query_part("sort", &sort),
        query_part("mtype", &mtype),
        query_part("days", &days)
    );
    let pager = pager(&format!("/app/gyms/{gym}/members"), &extra, &p);
    let can_write = u.caller.gym(state, gym, Action::MemberWrite).await.is_ok();
    let can_export = u.caller.gym(state, gym, Action::MemberImport).await.is_ok();
    page(
        MembersPage {
            c,
            q: search,
            status,
            sort,
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
    )
}

async fn members_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<ListQuery>,
) -> Response {
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
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::MemberWrite).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut errors = BTreeMap::new();
    match form.to_new().validate() {
        Ok(new) => match state
            .store
            .create_member(&scope, &u.caller.actor, gym, new)
            .await
        {
            Ok(m) => {
                return Redirect::to(&format!("/app/gyms/{gym}/members/{}", m.id)).into_response();
            }
            Err(e @ jarvis_store::StoreError::Conflict { .. }) => {
                let (field, msg) = store_message(c.t, &e);
                errors.insert(field, msg);
            }
            Err(e) => return error_page(c.t, e.into()),
        },
        Err(v) => {
            for e in v.0 {
                let msg = field_message(c.t, &e);
                errors.entry(e.field).or_insert(msg);
            }
        }
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
) -> Response {
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
) -> Response {
    let (scope, c) = match gym_scope(state, u, gym, Action::MemberRead).await {
        Ok(x) => x,
        Err(r) => return r,
    };
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
        Ok::<_, jarvis_store::StoreError>((m, facts.items, visits.items))
    };
    match load.await {
        Ok((m, facts, visits)) => {
            let can_write = u.caller.gym(state, gym, Action::MemberWrite).await.is_ok();
            let can_privacy = u
                .caller
                .gym(state, gym, Action::MemberPrivacy)
                .await
                .is_ok();
            let form = form.unwrap_or_else(|| MemberEditForm::of(&m));
            page(
                MemberPage {
                    c,
                    m,
                    facts,
                    visits,
                    error,
                    can_write,
                    can_privacy,
                    form,
                    errors,
                },
                status,
            )
        }
        Err(e) => error_page(t, e.into()),
    }
}

async fn member_page(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, MemberId)>,
) -> Response {
    render_member(&state, &u, gym, id, None, StatusCode::OK).await
}

async fn member_update(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, MemberId)>,
    CsrfForm(form): CsrfForm<MemberEditForm>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::MemberWrite).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let errors = match form.to_patch().map(MemberPatch::validate) {
        Ok(Ok(patch)) => match state
            .store
            .update_member(&scope, &u.caller.actor, gym, id, patch)
            .await
        {
            Ok(_) => {
                return Redirect::to(&format!("/app/gyms/{gym}/members/{id}")).into_response();
            }
            Err(e @ jarvis_store::StoreError::Conflict { .. }) => {
                BTreeMap::from([store_message(c.t, &e)])
            }
            Err(e) => return error_page(c.t, e.into()),
        },
        Ok(Err(v)) => {
            let mut m = BTreeMap::new();
            for e in v.0 {
                let key = e.field.split('[').next().unwrap_or_default().to_string();
                m.entry(key).or_insert_with(|| field_message(c.t, &e));
            }
            m
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
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::MemberWrite).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let new = NewMemberFact {
        note: f.note,
        source: FactSource::Staff,
    };
    let err = match new.validate() {
        Ok(n) => match state
            .store
            .add_fact(&scope, &u.caller.actor, gym, id, n)
            .await
        {
            Ok(_) => return Redirect::to(&format!("/app/gyms/{gym}/members/{id}")).into_response(),
            Err(e) => store_message(c.t, &e).1,
        },
        Err(v) => form_errors_text(c.t, &v),
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

#[derive(Template)]
#[template(path = "gmk/confirm.html")]
struct ConfirmPage {
    c: Chrome,
    question: &'static str,
    subject: String,
    action: String,
    back: String,
}

async fn erase_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, MemberId)>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::MemberPrivacy).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state.store.member(&scope, gym, id).await {
        Ok(m) => {
            let question = c.t.s("erase_confirm");
            page(
                ConfirmPage {
                    c,
                    question,
                    subject: format!("{} {} ({})", m.first_name, m.last_name, m.badge_id),
                    action: format!("/app/gyms/{gym}/members/{id}/erase"),
                    back: format!("/app/gyms/{gym}/members/{id}"),
                },
                StatusCode::OK,
            )
        }
        Err(e) => error_page(c.t, e.into()),
    }
}

#[derive(Deserialize)]
struct Empty {}

async fn erase_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, MemberId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::MemberPrivacy).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state
        .store
        .erase_member(&scope, &u.caller.actor, gym, id)
        .await
    {
        Ok(_) => Redirect::to(&format!("/app/gyms/{gym}/members")).into_response(),
        Err(e) => error_page(c.t, e.into()),
    }
}

async fn member_export(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, MemberId)>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::MemberPrivacy).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state
        .store
        .export_member(&scope, &u.caller.actor, gym, id)
        .await
    {
        Ok(x) => (
            [
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"member-{id}.json\""),
                ),
                (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
            ],
            axum::Json(x),
        )
            .into_response(),
        Err(e) => error_page(c.t, e.into()),
    }
}

// ---------- kiosks ----------

#[derive(Template)]
#[template(path = "gmk/kiosks.html")]
struct KiosksPage {
    c: Chrome,
    /// Gyms of the franchise the kiosk may move to (id, name).
    targets: Vec<(GymId, String)>,
    kiosks: Vec<crate::kiosks::KioskView>,
    code: Option<(String, String)>,
    error: Option<String>,
    can_manage: bool,
}

async fn render_kiosks(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    code: Option<(String, String)>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (scope, c) = match gym_scope(state, u, gym, Action::KioskRead).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state
        .store
        .list_kiosks(
            &scope,
            gym,
            PageRequest::new(Some(200), None).unwrap_or_default(),
        )
        .await
    {
        Ok(p) => {
            let can_manage = u.caller.gym(state, gym, Action::KioskManage).await.is_ok();
            // Move targets: the service's answer (other gyms of the franchise that may run
            // kiosks, when the caller manages kiosks franchise-wide).
            let targets = match c.gym.as_ref() {
                Some(g) => jarvis_app::kiosks::move_targets(state.store.as_ref(), &u.caller.principal, g)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|x| (x.id, x.name))
                    .collect(),
                None => Vec::new(),
            };
            page(
                KiosksPage {
                    c,
                    targets,
                    kiosks: p
                        .items
                        .into_iter()
                        .map(|k| crate::kiosks::view(state, k))
                        .collect(),
                    code,
                    error,
                    can_manage,
                },
                status,
            )
        }
        Err(e) => error_page(c.t, e.into()),
    }
}

async fn kiosks_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
) -> Response {
    render_kiosks(&state, &u, gym, None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct NameForm {
    name: String,
}

async fn kiosk_create(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<NameForm>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::KioskManage).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let new = NewKiosk { name: f.name };
    let err = match jarvis_app::kiosks::create(state.store.as_ref(), &scope, &u.caller.actor, gym, new)
        .await
    {
        Ok(_) => return Redirect::to(&format!("/app/gyms/{gym}/kiosks")).into_response(),
        Err(AppError::Store(e)) => store_message(c.t, &e).1,
        Err(AppError::Invalid(v)) => form_errors_text(c.t, &v),
        Err(e) => return error_page(c.t, e.into()),
    };
    render_kiosks(
        &state,
        &u,
        gym,
        None,
        Some(err),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Deserialize)]
struct KioskEditForm {
    name: String,
    #[serde(default)]
    gym_id: String,
}

async fn kiosk_update(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KioskId)>,
    CsrfForm(f): CsrfForm<KioskEditForm>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::KioskManage).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let patch = KioskPatch {
        name: Some(f.name),
        gym_id: f.gym_id.trim().parse().ok(),
    };
    // The API's service: a move is authorized there, once.
    let err = match jarvis_app::kiosks::update(
        state.store.as_ref(),
        &u.caller.principal,
        &scope,
        &u.caller.actor,
        gym,
        id,
        patch,
    )
    .await
    {
        Ok(k) => {
            return Redirect::to(&format!("/app/gyms/{}/kiosks", k.gym_id)).into_response();
        }
        Err(AppError::Store(e @ (jarvis_store::StoreError::Conflict { .. } | jarvis_store::StoreError::Invalid { .. }))) => {
            store_message(c.t, &e).1
        }
        Err(AppError::Invalid(v)) => form_errors_text(c.t, &v),
        Err(e) => return error_page(c.t, e.into()),
    };
    render_kiosks(
        &state,
        &u,
        gym,
        None,
        Some(err),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

async fn kiosk_pair(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KioskId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::KioskManage).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match jarvis_app::kiosks::issue_pairing_code(
        state.store.as_ref(),
        &scope,
        &u.caller.actor,
        gym,
        id,
    )
    .await
    {
        Ok((k, code)) => {
            let shown = Some((k.name, code.code));
            render_kiosks(&state, &u, gym, shown, None, StatusCode::OK).await
        }
        Err(AppError::GymNotReady(n)) => {
            let msg = match n {
                GymNotReady::Inactive(_) => c.t.s("gym_inactive"),
                GymNotReady::Misconfigured(_) => c.t.s("misconfigured"),
            };
            render_kiosks(&state, &u, gym, None, Some(msg.to_string()), StatusCode::CONFLICT).await
        }
        Err(e) => error_page(c.t, e.into()),
    }
}

async fn revoke_confirm(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KioskId)>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::KioskManage).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state.store.kiosk(&scope, gym, id).await {
        Ok(k) => {
            let question = c.t.s("revoke_confirm");
            page(
                ConfirmPage {
                    c,
                    question,
                    subject: k.name,
                    action: format!("/app/gyms/{gym}/kiosks/{id}/revoke"),
                    back: format!("/app/gyms/{gym}/kiosks"),
                },
                StatusCode::OK,
            )
        }
        Err(e) => error_page(c.t, e.into()),
    }
}

async fn revoke_submit(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, KioskId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::KioskManage).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match jarvis_app::kiosks::revoke(state.store.as_ref(), &scope, &u.caller.actor, gym, id).await {
        Ok(_) => Redirect::to(&format!("/app/gyms/{gym}/kiosks")).into_response(),
        Err(e) => error_page(c.t, e.into()),
    }
}

// ---------- classes ----------

#[derive(Template)]
#[template(path = "gmk/classes.html")]
struct ClassesPage {
    c: Chrome,
    classes: Vec<ClassSchedule>,
    /// The new-class form (as typed after an error).
    form: ClassForm,
    errors: BTreeMap<String, String>,
    can_write: bool,
}

async fn render_classes(
    state: &AppState,
    u: &PageUser,
    gym: GymId,
    form: ClassForm,
    errors: BTreeMap<String, String>,
    status: StatusCode,
) -> Response {
    let (scope, c) = match gym_scope(state, u, gym, Action::ScheduleRead).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state
        .store
        .list_classes(
            &scope,
            gym,
            None,
            PageRequest::new(Some(200), None).unwrap_or_default(),
        )
        .await
    {
        Ok(p) => {
            let can_write = u
                .caller
                .gym(state, gym, Action::ScheduleWrite)
                .await
                .is_ok();
            page(
                ClassesPage {
                    c,
                    classes: p.items,
                    form,
                    errors,
                    can_write,
                },
                status,
            )
        }
        Err(e) => error_page(c.t, e.into()),
    }
}

async fn classes_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
) -> Response {
    let form = ClassForm {
        weekday: "mon".into(),
        ..Default::default()
    };
    render_classes(&state, &u, gym, form, BTreeMap::new(), StatusCode::OK).await
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
    let new = f.to_new()?.validate().map_err(|v| {
        let mut errors = BTreeMap::new();
        for e in v.0 {
            let msg = field_message(t, &e);
            errors.entry(e.field).or_insert(msg);
        }
        errors
    })?;
    let saved = match id {
        Some(id) => {
            state
                .store
                .update_class(scope, &u.caller.actor, gym, id, new)
                .await
        }
        None => {
            state
                .store
                .create_class(scope, &u.caller.actor, gym, new)
                .await
        }
    };
    saved.map(|_| ()).map_err(|e| {
        let (field, msg) = store_message(t, &e);
        let field = if field.is_empty() {
            "name".into()
        } else {
            field
        };
        BTreeMap::from([(field, msg)])
    })
}

async fn class_create(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    CsrfForm(f): CsrfForm<ClassForm>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::ScheduleWrite).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match save_class(&state, &u, c.t, &scope, gym, None, &f).await {
        Ok(()) => Redirect::to(&format!("/app/gyms/{gym}/classes")).into_response(),
        Err(errors) => {
            render_classes(&state, &u, gym, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await
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
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::ScheduleWrite).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state.store.class(&scope, gym, id).await {
        Ok(k) => {
            let form = ClassForm::of(&k);
            page(
                ClassPage {
                    c,
                    k,
                    form,
                    errors: BTreeMap::new(),
                },
                StatusCode::OK,
            )
        }
        Err(e) => error_page(c.t, e.into()),
    }
}

async fn class_update(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, ClassScheduleId)>,
    CsrfForm(f): CsrfForm<ClassForm>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::ScheduleWrite).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let k = match state.store.class(&scope, gym, id).await {
        Ok(k) => k,
        Err(e) => return error_page(c.t, e.into()),
    };
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
    }
}

async fn class_delete(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, ClassScheduleId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::ScheduleWrite).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state
        .store
        .delete_class(&scope, &u.caller.actor, gym, id)
        .await
    {
        Ok(()) => Redirect::to(&format!("/app/gyms/{gym}/classes")).into_response(),
        Err(e) => error_page(c.t, e.into()),
    }
}

// ---------- import ----------

#[derive(Template)]
#[template(path = "gmk/import.html")]
struct ImportPage {
    c: Chrome,
    jobs: Vec<ImportJob>,
}

async fn import_page(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::MemberImport).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match state
        .store
        .list_import_jobs(
            &scope,
            gym,
            PageRequest::new(Some(10), None).unwrap_or_default(),
        )
        .await
    {
        Ok(p) => page(ImportPage { c, jobs: p.items }, StatusCode::OK),
        Err(e) => error_page(c.t, e.into()),
    }
}

#[derive(Deserialize)]
struct UploadQuery {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    skip_bad_rows: bool,
}

/// The upload from `assets/import.js`: the raw file as the body, the CSRF token in a header
/// (a file cannot travel in a urlencoded form, and multipart is not needed for one file).
async fn import_upload(
    State(state): State<AppState>,
    u: PageUser,
    Path(gym): Path<GymId>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == "same-origin");
    let token_ok = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| secrets_equal(v, &u.csrf));
    if !site_ok || !token_ok {
        return ApiError::forbidden("missing or invalid CSRF token").into_response();
    }
    let scope = match u.caller.gym(&state, gym, Action::MemberImport).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let data = match axum::body::to_bytes(body, MAX_UPLOAD_BYTES).await {
        Ok(d) if !d.is_empty() => d,
        _ => {
            return ApiError::bad_request("empty_file", "choose a CSV file of at most 32 MiB")
                .into_response();
        }
    };
    let job = match state
        .store
        .create_import_job(&scope, &u.caller.actor, gym, q.dry_run, q.skip_bad_rows)
        .await
    {
        Ok(j) => j,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let target = ImportTarget {
        scope,
        actor: u.caller.actor.clone(),
        gym,
        job: job.id,
    };
    let opts = ImportOptions {
        dry_run: q.dry_run,
        skip_bad_rows: q.skip_bad_rows,
        mapping: BTreeMap::new(),
    };
    // The same supervisor as the API: the job ends succeeded or failed, never `running`.
    spawn_import(state.store.clone(), target, data.to_vec(), opts);
    axum::Json(serde_json::json!({ "location": format!("/app/gyms/{gym}/imports/{}", job.id) }))
        .into_response()
}

#[derive(Template)]
#[template(path = "gmk/import_job.html")]
struct ImportJobPage {
    c: Chrome,
    j: ImportJob,
    r: Option<jarvis_core::csv_import::ImportReport>,
    running: bool,
    percent: i64,
}

async fn import_job_page(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, ImportJobId)>,
) -> Response {
    let (scope, c) = match gym_scope(&state, &u, gym, Action::MemberImport).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match job_view(state.store.as_ref(), &scope, gym, id).await {
        Ok(j) => {
            let r = j
                .report
                .clone()
                .and_then(|v| serde_json::from_value(v).ok());
            let running = matches!(j.status, ImportStatus::Queued | ImportStatus::Running);
            let percent = if j.total_rows > 0 {
                j.processed_rows * 100 / j.total_rows
            } else {
                0
            };
            page(
                ImportJobPage {
                    c,
                    j,
                    r,
                    running,
                    percent,
                },
                StatusCode::OK,
            )
        }
        Err(e) => error_page(c.t, e.into()),
    }
}

/// The job as JSON for the job page's live progress (`assets/import.js`): the API's own view
/// (`GET /api/v1/gyms/{gym}/imports/{id}`), behind the dashboard's session instead of a token.
async fn import_job_progress(
    State(state): State<AppState>,
    u: PageUser,
    Path((gym, id)): Path<(GymId, ImportJobId)>,
) -> Response {
    let scope = match u.caller.gym(&state, gym, Action::MemberImport).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    match job_view(state.store.as_ref(), &scope, gym, id).await {
        Ok(j) => (
            [(axum::http::header::CACHE_CONTROL, "no-store")],
            axum::Json(j),
        )
            .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn import_js() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../assets/import.js"),
    )
}

#[derive(Template)]
#[template(path = "gmk/kiosk.html")]
struct KioskPage;

/// The kiosk device's page: pairing, heartbeat and badge greeting (no sign-in; the device token
/// lives in the browser's local storage).
async fn kiosk_page() -> Response {
    page(KioskPage, StatusCode::OK)
}

async fn kiosk_js() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../assets/kiosk.js"),
    )
}
