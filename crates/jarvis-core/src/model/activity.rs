use crate::ids::{GymId, KioskId, MemberFactId, MemberId, VisitId};
use crate::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One badge scan at a kiosk (or a visit recorded by staff).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Visit {
    /// Id.
    pub id: VisitId,
    /// Gym.
    pub gym_id: GymId,
    /// The member; `None` once the member was erased (the visit stays as an anonymous count).
    pub member_id: Option<MemberId>,
    /// The kiosk that scanned the badge.
    pub kiosk_id: Option<KioskId>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// Who wrote a member fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum FactSource {
    /// Gym staff, from the dashboard.
    #[default]
    Staff,
    /// The assistant, from a conversation.
    Assistant,
    /// A CSV import.
    Import,
}

impl FactSource {
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            FactSource::Staff => "staff",
            FactSource::Assistant => "assistant",
            FactSource::Import => "import",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Staff, Self::Assistant, Self::Import]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// A short note about a member the assistant may use ("prefers morning classes").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemberFact {
    /// Id.
    pub id: MemberFactId,
    /// Member.
    pub member_id: MemberId,
    /// Gym.
    pub gym_id: GymId,
    /// The note (1–500 characters).
    pub note: String,
    /// Who wrote it.
    pub source: FactSource,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Input to add a member fact.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemberFact {
    /// The note (1–500 characters).
    pub note: String,
    /// Who wrote it (default `staff`).
    #[serde(default)]
    pub source: FactSource,
}

impl NewMemberFact {
    /// Trims and checks the note.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let note = v.text("note", &self.note, 500);
        v.finish().map(|()| Self {
            note,
            source: self.source,
        })
    }
}

/// Everything stored about one member, for a GDPR access request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemberExport {
    /// When the export was made.
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    /// The profile.
    pub member: super::Member,
    /// Facts about them.
    pub facts: Vec<MemberFact>,
    /// Their visits.
    pub visits: Vec<Visit>,
    /// Their voice sessions (metadata and cost).
    pub voice_sessions: Vec<super::VoiceSession>,
    /// Every stored turn of those sessions, by session then order.
    pub turns: Vec<super::ConversationTurn>,
    /// Every tool call of those sessions.
    pub tool_calls: Vec<super::ToolCall>,
    /// Post-call analyses of those sessions.
    pub analyses: Vec<super::SessionAnalysis>,
    /// Follow-ups about them.
    pub follow_ups: Vec<super::FollowUp>,
}

/// What erasing a member removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Erasure {
    /// The erased member's id (it no longer resolves).
    pub member_id: MemberId,
    /// Facts deleted.
    pub facts_deleted: u64,
    /// Visits kept as anonymous counts (member link removed).
    pub visits_anonymized: u64,
    /// Voice sessions kept for cost accounting, without the member and without any text.
    pub sessions_anonymized: u64,
    /// Conversation turns deleted.
    pub turns_deleted: u64,
    /// Tool calls deleted (their arguments and results may hold personal data).
    pub tool_calls_deleted: u64,
    /// Session analyses deleted.
    pub analyses_deleted: u64,
    /// Follow-ups deleted.
    pub follow_ups_deleted: u64,
}
