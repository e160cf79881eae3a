//! Typed identifiers: every entity id is a UUIDv7 wrapped in its own newtype so ids of
//! different entities cannot be mixed up.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id_type!(
    /// Id of a franchise (the top tenant).
    FranchiseId
);
id_type!(
    /// Id of a gym.
    GymId
);
id_type!(
    /// Id of a dashboard user.
    UserId
);
id_type!(
    /// Id of a user's role membership.
    MembershipId
);
id_type!(
    /// Id of a gym member (badge holder).
    MemberId
);
id_type!(
    /// Id of a kiosk device.
    KioskId
);
id_type!(
    /// Id of an audit log entry.
    AuditId
);

id_type!(
    /// Id of a sign-in session (the `sid` claim of its access tokens).
    SessionId
);
id_type!(
    /// Id of an invitation to a role.
    InvitationId
);
id_type!(
    /// Id of a sign-in or security event.
    AuthEventId
);

id_type!(
    /// Id of a weekly class on a gym's schedule.
    ClassScheduleId
);
id_type!(
    /// Id of a fact about a member (a short note).
    MemberFactId
);
id_type!(
    /// Id of a recorded visit (badge scan).
    VisitId
);
id_type!(
    /// Id of a member CSV import job.
    ImportJobId
);
id_type!(
    /// Id of a job in the durable job queue.
    JobId
);
id_type!(
    /// Id of one run (claim to end) of a queued job.
    JobRunId
);
id_type!(
    /// Id of a running `jarvis serve` process (registered at start, heart-beating).
    InstanceId
);

id_type!(
    /// Id of a voice session (one realtime call at a kiosk).
    VoiceSessionId
);
id_type!(
    /// Id of one stored turn of a conversation.
    TurnId
);
id_type!(
    /// Id of one function call the assistant made during a session.
    ToolCallId
);
id_type!(
    /// Id of a follow-up task handed to the gym's staff.
    FollowUpId
);
id_type!(
    /// Id of one dated price row of a model.
    ModelPriceId
);
id_type!(
    /// Id of a budget alert (one per scope, period and threshold).
    BudgetAlertId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_and_parse_back() {
        let a = MemberId::new();
        let b = MemberId::new();
        assert!(a < b, "UUIDv7 ids sort by creation time");
        assert_eq!(a.to_string().parse::<MemberId>().ok(), Some(a));
        assert!("not-a-uuid".parse::<GymId>().is_err());
    }
}
id_type!(
    /// Id of a lead received by a gym's lead webhook.
    LeadId
);
id_type!(
    /// Id of a gym's stored weekly report.
    ReportId
);
id_type!(
    /// Id of a gym's custom HTTP tool.
    HttpToolId
);
id_type!(
    /// Id of a gym's custom post-call analysis field.
    AnalysisFieldId
);
id_type!(
    /// Id of one simulation run (a scenario file played against a gym's assistant).
    SimulationRunId
);
id_type!(
    /// Id of a gym knowledge-base entry.
    KnowledgeEntryId
);
id_type!(
    /// Id of one chunk of a knowledge-base entry (the unit searched and embedded).
    KnowledgeChunkId
);
