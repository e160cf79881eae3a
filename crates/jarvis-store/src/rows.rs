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

pub(crate) const GYM_COLS: &str =
    "id, franchise_id, name, address, timezone, locale, status, settings, created_at, updated_at";

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

pub(crate) const KIOSK_COLS: &str =
    "id, gym_id, franchise_id, name, status, last_seen_at, app_version, created_at";

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
            created_at: self.created_at,
        })
    }
}

pub(crate) const USER_COLS: &str =
    "id, email, display_name, locale, password_hash, created_at, disabled_at";

#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    id: DbUuid,
    email: String,
    display_name: String,
    locale: String,
    password_hash: Option<String>,
    created_at: OffsetDateTime,
    disabled_at: Option<OffsetDateTime>,
}

impl UserRow {
    pub(crate) fn into_domain(self) -> StoreResult<(User, Option<String>)> {
        Ok((
            User {
                id: self.id.0.into(),
                email: self.email,
                display_name: self.display_name,
                locale: Locale::parse(&self.locale)
                    .ok_or_else(|| StoreError::corrupt("locale", &self.locale))?,
                created_at: self.created_at,
                disabled_at: self.disabled_at,
            },
            self.password_hash,
        ))
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
