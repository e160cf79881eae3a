//! Monitoring data: kiosk outages (opened and closed by the `kiosks.health` job, each transition
//! queuing its alert e-mails in its own transaction) and the built-in error log (one row per
//! fingerprint, counted; critical ones e-mail the super admins at most once per window).
//!
//! **Contexts.** Outages are tenant data: the health job reads kiosks and writes outages in the
//! platform scope, staff read them in their gym's scope. The error log is operations data:
//! written in `ops`, read in the platform scope, deleted by the retention sweep in `purge`.

use crate::accounts::NewEmail;
use crate::error::StoreResult;
use async_trait::async_trait;
use jarvis_core::model::KioskStatus;
use jarvis_core::{FranchiseId, GymId, KioskId, Page, PageRequest, Scope};
use time::OffsetDateTime;
use uuid::Uuid;

/// A kiosk as the health job sees it: pairing state, last heartbeat, open outage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskHealth {
    /// The kiosk.
    pub kiosk: KioskId,
    /// Its gym.
    pub gym: GymId,
    /// The gym's franchise.
    pub franchise: FranchiseId,
    /// Its name.
    pub name: String,
    /// Pairing state.
    pub status: KioskStatus,
    /// Last heartbeat written.
    pub last_seen_at: Option<OffsetDateTime>,
    /// When it was last paired (a kiosk paired but never heard from counts from then).
    pub paired_at: Option<OffsetDateTime>,
    /// Its open outage, if any: id and start.
    pub open_outage: Option<(Uuid, OffsetDateTime)>,
}

/// One outage of a kiosk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskOutage {
    /// Id.
    pub id: Uuid,
    /// The kiosk.
    pub kiosk_id: KioskId,
    /// The kiosk's name now.
    pub kiosk_name: String,
    /// The gym it belonged to then.
    pub gym_id: GymId,
    /// Its last heartbeat before going silent (or its pairing).
    pub started_at: OffsetDateTime,
    /// When it was heard again (or revoked); `None` while it lasts.
    pub ended_at: Option<OffsetDateTime>,
    /// When the "kiosk offline" e-mails were queued (`None`: nobody to tell).
    pub offline_alerted_at: Option<OffsetDateTime>,
    /// When the "kiosk back online" e-mails were queued.
    pub online_alerted_at: Option<OffsetDateTime>,
}

/// How serious an error-log entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorLevel {
    /// A retried failure (a job attempt that will run again).
    Warning,
    /// A failed request (5xx) or a job failed for good.
    Error,
    /// A panic, a dead-lettered job, the database unavailable: e-mails the super admins.
    Critical,
}

impl ErrorLevel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorLevel::Warning => "warning",
            ErrorLevel::Error => "error",
            ErrorLevel::Critical => "critical",
        }
    }

    /// The level of a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "warning" => Some(ErrorLevel::Warning),
            "error" => Some(ErrorLevel::Error),
            "critical" => Some(ErrorLevel::Critical),
            _ => None,
        }
    }
}

/// Occurrences of one fingerprint to add to the error log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorOccurrence {
    /// `kind + source + normalized message`, hashed (see `jarvis_app::errors`).
    pub fingerprint: String,
    /// `http`, `job`, `panic`, `database`.
    pub kind: String,
    /// Route template (`GET /api/v1/gyms/{id}`) or job kind.
    pub source: String,
    /// Level of the latest occurrence.
    pub level: ErrorLevel,
    /// Latest message, personal data redacted.
    pub message: String,
    /// Occurrences coalesced into this one.
    pub count: u64,
    /// First of them.
    pub first_seen_at: OffsetDateTime,
    /// Last of them.
    pub last_seen_at: OffsetDateTime,
}

/// One error-log row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorLogEntry {
    /// Id.
    pub id: Uuid,
    /// Fingerprint.
    pub fingerprint: String,
    /// Kind.
    pub kind: String,
    /// Route template or job kind.
    pub source: String,
    /// Level of the latest occurrence.
    pub level: ErrorLevel,
    /// Latest sample message.
    pub message: String,
    /// Occurrences.
    pub count: u64,
    /// First seen.
    pub first_seen_at: OffsetDateTime,
    /// Last seen.
    pub last_seen_at: OffsetDateTime,
    /// When the super admins were last e-mailed about it.
    pub alerted_at: Option<OffsetDateTime>,
}

/// Storage of monitoring data.
#[async_trait]
pub trait MonitorStore: Send + Sync {
    /// Every kiosk that is paired or has an open outage, in every gym (platform scope only).
    async fn kiosk_health(&self, scope: &Scope) -> StoreResult<Vec<KioskHealth>>;

    /// Opens an outage of a kiosk that is still paired and silent since before `cutoff`, and
    /// queues `emails` in the same transaction; `false` (nothing written) when it already has an
    /// open outage (another run opened it), was heard from or is no longer paired.
    async fn open_kiosk_outage(
        &self,
        scope: &Scope,
        kiosk: KioskId,
        cutoff: OffsetDateTime,
        started_at: OffsetDateTime,
        emails: Vec<NewEmail>,
    ) -> StoreResult<bool>;

    /// Ends an open outage at `ended_at` and queues `emails` in the same transaction; `false`
    /// (nothing written) when it was already ended (by another run).
    async fn close_kiosk_outage(
        &self,
        scope: &Scope,
        outage: Uuid,
        ended_at: OffsetDateTime,
        emails: Vec<NewEmail>,
    ) -> StoreResult<bool>;

    /// A gym's outages, newest first.
    async fn list_kiosk_outages(
        &self,
        scope: &Scope,
        gym: GymId,
        page: PageRequest,
    ) -> StoreResult<Page<KioskOutage>>;

    /// Adds occurrences to the error log (one transaction): a new fingerprint gets a row, a
    /// known one its count raised, its last-seen time, level and sample message updated.
    async fn record_errors(&self, batch: &[ErrorOccurrence]) -> StoreResult<u64>;

    /// Marks a fingerprint alerted at `now` unless it was within `window`, queuing `emails` in
    /// the same transaction; `true` when this call did (several instances: one wins).
    async fn claim_error_alert(
        &self,
        fingerprint: &str,
        now: OffsetDateTime,
        window: time::Duration,
        emails: Vec<NewEmail>,
    ) -> StoreResult<bool>;

    /// Error-log rows, most recently seen first, optionally of one level (platform scope only).
    async fn list_errors(
        &self,
        scope: &Scope,
        level: Option<ErrorLevel>,
        page: PageRequest,
    ) -> StoreResult<Page<ErrorLogEntry>>;
}
