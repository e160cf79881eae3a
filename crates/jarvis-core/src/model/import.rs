use crate::ids::{FranchiseId, GymId, ImportJobId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where an import job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Accepted, not started.
    Queued,
    /// Parsing, checking or inserting.
    Running,
    /// Finished; see the report (a dry run also ends here).
    Succeeded,
    /// Nothing was written (errors in all-or-nothing mode, or an unreadable file).
    Failed,
}

impl ImportStatus {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ImportStatus::Queued => "queued",
            ImportStatus::Running => "running",
            ImportStatus::Succeeded => "succeeded",
            ImportStatus::Failed => "failed",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A member CSV import, kept as a row so its progress and report survive restarts and reloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportJob {
    /// Id.
    pub id: ImportJobId,
    /// Target gym.
    pub gym_id: GymId,
    /// Gym's franchise.
    pub franchise_id: FranchiseId,
    /// Status.
    pub status: ImportStatus,
    /// Only check, write nothing.
    pub dry_run: bool,
    /// Import the good rows and report the bad ones (instead of all-or-nothing).
    pub skip_bad_rows: bool,
    /// Data rows in the file (known once parsed).
    pub total_rows: i64,
    /// Rows checked or written so far.
    pub processed_rows: i64,
    /// The result report (`ImportReport` as JSON) once finished.
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it finished.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}
