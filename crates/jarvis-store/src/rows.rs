//! Row types shared by both backends and their conversion into domain types.

use crate::dbuuid::DbUuid;
use crate::error::{StoreError, StoreResult};
use jarvis_core::model::*;
use sqlx::types::Json;
use time::{Date, OffsetDateTime};

/// Current time at the precision both backends store (microseconds), so values read back equal
/// values written.
pub(crate) fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    let micros = t.nanosecond() / 1_000 * 1_000;
    t.replace_nanosecond(micros).unwrap_or(t)
}

pub(crate) const FRANCHISE_COLS: &str = "id, name, created_at, updated_at, archived_at";

#[derive(sqlx::FromRow)]
pub(crate) struct FranchiseRow {
    id: DbUuid,
    name: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    archived_at: Option<OffsetDateTime>,
}

impl FranchiseRow {
    pub(crate) fn into_domain(self) -> Franchise {
        Franchise {
            id: self.id.0.into(),
            name: self.name,
            created_at: self.created_at,
            updated_at: self.updated_at,
            archived_at: self.archived_at,
        }
    }
}

pub(crate) const GYM_COLS: &str = "id, franchise_id, name, address, timezone, locale, status, settings, created_at, updated_at, status_reason";

#[derive(sqlx::FromRow)]
pub(crate) struct GymRow {
    id: DbUuid,
    franchise_id: DbUuid,
    name: String,
    address: Option<String>,
    timezone: String,
    locale: String,
    status: String,
    settings: Json<serde_json::Value>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    status_reason: Option<String>,
}

impl GymRow {
    pub(crate) fn into_domain(self) -> StoreResult<Gym> {
        Ok(Gym {
            id: self.id.0.into(),
            franchise_id: self.franchise_id.0.into(),
            name: self.name,
            address: self.address,
            timezone: self.timezone,
            locale: Locale::parse(&self.locale)
                .ok_or_else(|| StoreError::corrupt("locale", &self.locale))?,
            status: GymStatus::parse(&self.status)
                .ok_or_else(|| StoreError::corrupt("gym status", &self.status))?,
            status_reason: self.status_reason,
            settings: self.settings.0,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub(crate) const MEMBER_COLS: &str = "id, gym_id, franchise_id, badge_id, first_name, last_name, email, phone, \
     birth_date, preferred_language, membership_type, membership_status, membership_end_date, goals, \
     limitations, consent_voice, consent_transcripts, visit_count, last_visit_at, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct MemberRow {
    id: DbUuid,
    gym_id: DbUuid,
    franchise_id: DbUuid,
    badge_id: String,
    first_name: String,
    last_name: String,
    email: Option<String>,
    phone: Option<String>,
    birth_date: Option<Date>,
    preferred_language: String,
    membership_type: String,
    membership_status: String,
    membership_end_date: Option<Date>,
    goals: Json<Vec<String>>,
    limitations: Option<String>,
    consent_voice: bool,
    consent_transcripts: bool,
    visit_count: i64,
    last_visit_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl MemberRow {
    pub(crate) fn into_domain(self) -> StoreResult<Member> {
        Ok(Member {
            id: self.id.0.into(),
            gym_id: self.gym_id.0.into(),
            franchise_id: self.franchise_id.0.into(),
            badge_id: self.badge_id,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            phone: self.phone,
            birth_date: self.birth_date,
            preferred_language: Locale::parse(&self.preferred_language)
                .ok_or_else(|| StoreError::corrupt("language", &self.preferred_language))?,
            membership_type: self.membership_type,
            membership_status: MembershipStatus::parse(&self.membership_status)
                .ok_or_else(|| StoreError::corrupt("membership status", &self.membership_status))?,
            membership_end_date: self.membership_end_date,
            goals: self.goals.0,
            limitations: self.limitations,
            consent_voice: self.consent_voice,
            consent_transcripts: self.consent_transcripts,
            visit_count: self.visit_count,
            last_visit_at: self.last_visit_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub(crate) const KIOSK_COLS: &str = "id, gym_id, franchise_id, name, status, last_seen_at, app_version, created_at, \
     uptime_secs, mic_status, network_quality, paired_at, pairing_expires_at";

#[derive(sqlx::FromRow)]
pub(crate) struct KioskRow {
    id: DbUuid,
    gym_id: DbUuid,
    franchise_id: DbUuid,
    name: String,
    status: String,
    last_seen_at: Option<OffsetDateTime>,
    app_version: Option<String>,
    created_at: OffsetDateTime,
    uptime_secs: Option<i64>,
    mic_status: Option<String>,
    network_quality: Option<String>,
    paired_at: Option<OffsetDateTime>,
    pairing_expires_at: Option<OffsetDateTime>,
}

impl KioskRow {
    pub(crate) fn into_domain(self) -> StoreResult<Kiosk> {
        Ok(Kiosk {
            id: self.id.0.into(),
            gym_id: self.gym_id.0.into(),
            franchise_id: self.franchise_id.0.into(),
            name: self.name,
            status: KioskStatus::parse(&self.status)
                .ok_or_else(|| StoreError::corrupt("kiosk status", &self.status))?,
            last_seen_at: self.last_seen_at,
            app_version: self.app_version,
            uptime_secs: self.uptime_secs,
            mic_status: self.mic_status.as_deref().and_then(MicStatus::parse),
            network_quality: self
                .network_quality
                .as_deref()
                .and_then(NetworkQuality::parse),
            paired_at: self.paired_at,
            pairing_expires_at: self.pairing_expires_at,
            created_at: self.created_at,
        })
    }
}

/// Profile columns only: the password hash lives in `user_credentials`.
pub(crate) const USER_COLS: &str = "id, email, display_name, locale, created_at, disabled_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: DbUuid,
    email: String,
    display_name: String,
    locale: String,
    created_at: OffsetDateTime,
    disabled_at: Option<OffsetDateTime>,
}

impl UserRow {
    pub(crate) fn into_domain(self) -> StoreResult<User> {
        Ok(User {
            id: self.id.0.into(),
            email: self.email,
            display_name: self.display_name,
            locale: Locale::parse(&self.locale)
                .ok_or_else(|| StoreError::corrupt("locale", &self.locale))?,
            created_at: self.created_at,
            disabled_at: self.disabled_at,
        })
    }
}

pub(crate) const MEMBERSHIP_COLS: &str = "id, user_id, role, franchise_id, gym_id, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct MembershipRow {
    id: DbUuid,
    user_id: DbUuid,
    role: String,
    franchise_id: Option<DbUuid>,
    gym_id: Option<DbUuid>,
    created_at: OffsetDateTime,
}

impl MembershipRow {
    pub(crate) fn into_domain(self) -> StoreResult<Membership> {
        Ok(Membership {
            id: self.id.0.into(),
            user_id: self.user_id.0.into(),
            role: self
                .role
                .parse()
                .map_err(|_| StoreError::corrupt("role", &self.role))?,
            franchise_id: self.franchise_id.map(|f| f.0.into()),
            gym_id: self.gym_id.map(|g| g.0.into()),
            created_at: self.created_at,
        })
    }
}

pub(crate) const AUDIT_COLS: &str = "id, at, actor_kind, actor_user_id, franchise_id, gym_id, action, target_type, target_id, ip, user_agent, details";

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: DbUuid,
    at: OffsetDateTime,
    actor_kind: String,
    actor_user_id: Option<DbUuid>,
    franchise_id: Option<DbUuid>,
    gym_id: Option<DbUuid>,
    action: String,
    target_type: String,
    target_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    details: Json<serde_json::Value>,
}

impl AuditRow {
    pub(crate) fn into_domain(self) -> AuditEntry {
        AuditEntry {
            id: self.id.0.into(),
            at: self.at,
            actor_kind: self.actor_kind,
            actor_user_id: self.actor_user_id.map(|u| u.0.into()),
            franchise_id: self.franchise_id.map(|f| f.0.into()),
            gym_id: self.gym_id.map(|g| g.0.into()),
            action: self.action,
            target_type: self.target_type,
            target_id: self.target_id,
            ip: self.ip,
            user_agent: self.user_agent,
            details: self.details.0,
        }
    }
}

pub(crate) const CLASS_COLS: &str = "id, gym_id, franchise_id, name, coach, room, weekday, date, start_time, \
     duration_minutes, capacity, recurring, created_at, updated_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ClassRow {
    id: DbUuid,
    gym_id: DbUuid,
    franchise_id: DbUuid,
    name: String,
    coach: Option<String>,
    room: Option<String>,
    weekday: Option<String>,
    date: Option<Date>,
    start_time: String,
    duration_minutes: i32,
    capacity: i32,
    recurring: bool,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl ClassRow {
    pub(crate) fn into_domain(self) -> StoreResult<ClassSchedule> {
        let weekday = match self.weekday.as_deref() {
            None => None,
            Some(w) => Some(Weekday::parse(w).ok_or_else(|| StoreError::corrupt("weekday", w))?),
        };
        Ok(ClassSchedule {
            id: self.id.0.into(),
            gym_id: self.gym_id.0.into(),
            franchise_id: self.franchise_id.0.into(),
            name: self.name,
            coach: self.coach,
            room: self.room,
            weekday,
            date: self.date,
            start_time: self.start_time,
            duration_minutes: self.duration_minutes,
            capacity: self.capacity,
            recurring: self.recurring,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub(crate) const VISIT_COLS: &str = "id, gym_id, member_id, kiosk_id, at";

#[derive(sqlx::FromRow)]
pub(crate) struct VisitRow {
    id: DbUuid,
    gym_id: DbUuid,
    member_id: Option<DbUuid>,
    kiosk_id: Option<DbUuid>,
    at: OffsetDateTime,
}

impl VisitRow {
    pub(crate) fn into_domain(self) -> Visit {
        Visit {
            id: self.id.0.into(),
            gym_id: self.gym_id.0.into(),
            member_id: self.member_id.map(|m| m.0.into()),
            kiosk_id: self.kiosk_id.map(|k| k.0.into()),
            at: self.at,
        }
    }
}

pub(crate) const FACT_COLS: &str = "id, member_id, gym_id, note, source, created_at";

#[derive(sqlx::FromRow)]
pub(crate) struct FactRow {
    id: DbUuid,
    member_id: DbUuid,
    gym_id: DbUuid,
    note: String,
    source: String,
    created_at: OffsetDateTime,
}

impl FactRow {
    pub(crate) fn into_domain(self) -> StoreResult<MemberFact> {
        Ok(MemberFact {
            id: self.id.0.into(),
            member_id: self.member_id.0.into(),
            gym_id: self.gym_id.0.into(),
            note: self.note,
            source: FactSource::parse(&self.source)
                .ok_or_else(|| StoreError::corrupt("fact source", &self.source))?,
            created_at: self.created_at,
        })
    }
}

pub(crate) const IMPORT_COLS: &str = "id, gym_id, franchise_id, status, dry_run, skip_bad_rows, total_rows, \
     processed_rows, report, created_at, finished_at";

#[derive(sqlx::FromRow)]
pub(crate) struct ImportRow {
    id: DbUuid,
    gym_id: DbUuid,
    franchise_id: DbUuid,
    status: String,
    dry_run: bool,
    skip_bad_rows: bool,
    total_rows: i64,
    processed_rows: i64,
    report: Option<Json<serde_json::Value>>,
    created_at: OffsetDateTime,
    finished_at: Option<OffsetDateTime>,
}

impl ImportRow {
    pub(crate) fn into_domain(self) -> StoreResult<ImportJob> {
        Ok(ImportJob {
            id: self.id.0.into(),
            gym_id: self.gym_id.0.into(),
            franchise_id: self.franchise_id.0.into(),
            status: ImportStatus::parse(&self.status)
                .ok_or_else(|| StoreError::corrupt("import status", &self.status))?,
            dry_run: self.dry_run,
            skip_bad_rows: self.skip_bad_rows,
            total_rows: self.total_rows,
            processed_rows: self.processed_rows,
            report: self.report.map(|r| r.0),
            created_at: self.created_at,
            finished_at: self.finished_at,
        })
    }
}
