use super::Locale;
use crate::ids::{FranchiseId, GymId, MemberId};
use crate::validate::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

/// Where a member's subscription stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    /// Paying and allowed in.
    #[default]
    Active,
    /// Paused on request.
    Frozen,
    /// Ran out.
    Expired,
    /// Ended.
    Cancelled,
}

impl MembershipStatus {
    /// All statuses.
    pub const ALL: [MembershipStatus; 4] = [
        MembershipStatus::Active,
        MembershipStatus::Frozen,
        MembershipStatus::Expired,
        MembershipStatus::Cancelled,
    ];
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            MembershipStatus::Active => "active",
            MembershipStatus::Frozen => "frozen",
            MembershipStatus::Expired => "expired",
            MembershipStatus::Cancelled => "cancelled",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Longest badge id accepted (RFID readers emit 8–20 characters).
pub const MAX_BADGE_LEN: usize = 64;
/// Most goals a member can have.
pub const MAX_GOALS: usize = 10;

/// A gym member: badge holder who talks to the kiosk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    /// Id.
    pub id: MemberId,
    /// Gym.
    pub gym_id: GymId,
    /// Gym's franchise.
    pub franchise_id: FranchiseId,
    /// RFID badge id, unique in the gym.
    pub badge_id: String,
    /// First name (what the assistant calls them).
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Contact e-mail.
    pub email: Option<String>,
    /// Contact phone.
    pub phone: Option<String>,
    /// Birth date.
    pub birth_date: Option<Date>,
    /// Language the assistant speaks to them.
    pub preferred_language: Locale,
    /// Membership plan name (`standard`, `premium`, …).
    pub membership_type: String,
    /// Subscription state.
    pub membership_status: MembershipStatus,
    /// When the membership ends.
    pub membership_end_date: Option<Date>,
    /// Training goals, short phrases.
    pub goals: Vec<String>,
    /// Injuries or limitations the assistant must respect.
    pub limitations: Option<String>,
    /// Consent to voice conversations.
    pub consent_voice: bool,
    /// Consent to storing transcripts.
    pub consent_transcripts: bool,
    /// Number of recorded visits.
    pub visit_count: i64,
    /// Last recorded visit.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_visit_at: Option<OffsetDateTime>,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Whether a kiosk may greet a member: the one rule behind the badge lookup's refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KioskEligibility {
    /// Active membership and voice consent: the kiosk greets them.
    Eligible,
    /// Frozen, expired or cancelled (or past its end date): code `membership_inactive`.
    MembershipInactive,
    /// Active, but the member has not agreed to voice conversations: code `consent_missing`.
    ConsentMissing,
}

impl KioskEligibility {
    /// The stable error code a kiosk can explain (`None` when eligible).
    pub fn code(self) -> Option<&'static str> {
        match self {
            KioskEligibility::Eligible => None,
            KioskEligibility::MembershipInactive => Some("membership_inactive"),
            KioskEligibility::ConsentMissing => Some("consent_missing"),
        }
    }
}

impl Member {
    /// Whether a kiosk may greet this member on `today` (a membership runs through its end
    /// date). The membership is checked before consent: an inactive member is refused as such
    /// whatever they agreed to.
    pub fn kiosk_eligibility(&self, today: Date) -> KioskEligibility {
        let ended = self.membership_end_date.is_some_and(|end| end < today);
        if self.membership_status != MembershipStatus::Active || ended {
            KioskEligibility::MembershipInactive
        } else if !self.consent_voice {
            KioskEligibility::ConsentMissing
        } else {
            KioskEligibility::Eligible
        }
    }

    /// The text member search matches against (see [`crate::search`]).
    pub fn search_key(&self) -> String {
        crate::search::member_key(
            &self.first_name,
            &self.last_name,
            &self.badge_id,
            self.email.as_deref(),
        )
    }
}

/// Input to create a member. Unknown fields are refused so nothing unexpected reaches storage.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// RFID badge id, unique in the gym (letters, digits, `-`, `_`, `:`).
    pub badge_id: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Contact e-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Contact phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Birth date (`YYYY-MM-DD`).
    #[serde(default)]
    pub birth_date: Option<Date>,
    /// Assistant language (default `fr`).
    #[serde(default)]
    pub preferred_language: Locale,
    /// Plan name (default `standard`).
    #[serde(default = "default_type")]
    pub membership_type: String,
    /// Subscription state (default `active`).
    #[serde(default)]
    pub membership_status: MembershipStatus,
    /// Membership end (`YYYY-MM-DD`).
    #[serde(default)]
    pub membership_end_date: Option<Date>,
    /// Goals.
    #[serde(default)]
    pub goals: Vec<String>,
    /// Injuries/limitations note.
    #[serde(default)]
    pub limitations: Option<String>,
    /// Consent to voice conversations (default false).
    #[serde(default)]
    pub consent_voice: bool,
    /// Consent to storing transcripts (default false).
    #[serde(default)]
    pub consent_transcripts: bool,
}

fn default_type() -> String {
    "standard".into()
}

/// Checks a badge id and returns it trimmed.
pub fn check_badge(v: &mut ValidationErrors, badge: &str) -> String {
    let b = v.text("badge_id", badge, MAX_BADGE_LEN);
    if !b.is_empty()
        && !b
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_:".contains(c))
    {
        v.push(FieldError::new(
            "badge_id",
            "invalid_format",
            "may contain only letters, digits, '-', '_' and ':'",
        ));
    }
    b
}

fn check_type(v: &mut ValidationErrors, t: &str) -> String {
    let t = v.text("membership_type", t, 40).to_lowercase();
    if !t.is_empty()
        && !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
    {
        v.push(FieldError::new(
            "membership_type",
            "invalid_format",
            "may contain only letters, digits, '-' and '_'",
        ));
    }
    t
}

fn check_goals(v: &mut ValidationErrors, goals: Vec<String>) -> Vec<String> {
    if goals.len() > MAX_GOALS {
        v.push(FieldError::new(
            "goals",
            "too_many",
            format!("at most {MAX_GOALS} goals"),
        ));
    }
    goals
        .iter()
        .enumerate()
        .filter_map(|(i, g)| v.opt_text(&format!("goals[{i}]"), Some(g), 200))
        .collect()
}

fn check_birth(v: &mut ValidationErrors, d: Option<Date>) -> Option<Date> {
    if let Some(d) = d {
        let today = OffsetDateTime::now_utc().date();
        if d > today || d.year() < 1900 {
            v.push(FieldError::new(
                "birth_date",
                "out_of_range",
                "must be between 1900-01-01 and today",
            ));
        }
    }
    d
}

impl NewMember {
    /// The text member search matches against (see [`crate::search`]).
    pub fn search_key(&self) -> String {
        crate::search::member_key(
            &self.first_name,
            &self.last_name,
            &self.badge_id,
            self.email.as_deref(),
        )
    }

    /// Trims and checks every field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let badge_id = check_badge(&mut v, &self.badge_id);
        let first_name = v.text("first_name", &self.first_name, 80);
        let last_name = v.text("last_name", &self.last_name, 80);
        let email = v.opt_email("email", self.email.as_deref());
        let phone = v.opt_phone("phone", self.phone.as_deref());
        let birth_date = check_birth(&mut v, self.birth_date);
        let membership_type = check_type(&mut v, &self.membership_type);
        let goals = check_goals(&mut v, self.goals);
        let limitations = v.opt_text("limitations", self.limitations.as_deref(), 1000);
        v.finish().map(|()| Self {
            badge_id,
            first_name,
            last_name,
            email,
            phone,
            birth_date,
            preferred_language: self.preferred_language,
            membership_type,
            membership_status: self.membership_status,
            membership_end_date: self.membership_end_date,
            goals,
            limitations,
            consent_voice: self.consent_voice,
            consent_transcripts: self.consent_transcripts,
        })
    }
}

/// Changes to a member; absent fields stay, `null` clears an optional field.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// New badge id.
    pub badge_id: Option<String>,
    /// New first name.
    pub first_name: Option<String>,
    /// New last name.
    pub last_name: Option<String>,
    /// New e-mail (`null` clears).
    #[serde(default, deserialize_with = "super::double_option")]
    pub email: Option<Option<String>>,
    /// New phone (`null` clears).
    #[serde(default, deserialize_with = "super::double_option")]
    pub phone: Option<Option<String>>,
    /// New birth date (`null` clears).
    #[serde(default, deserialize_with = "super::double_option")]
    pub birth_date: Option<Option<Date>>,
    /// New language.
    pub preferred_language: Option<Locale>,
    /// New plan.
    pub membership_type: Option<String>,
    /// New status.
    pub membership_status: Option<MembershipStatus>,
    /// New end date (`null` clears).
    #[serde(default, deserialize_with = "super::double_option")]
    pub membership_end_date: Option<Option<Date>>,
    /// Replacement goals.
    pub goals: Option<Vec<String>>,
    /// New limitations note (`null` clears).
    #[serde(default, deserialize_with = "super::double_option")]
    pub limitations: Option<Option<String>>,
    /// New voice consent.
    pub consent_voice: Option<bool>,
    /// New transcript consent.
    pub consent_transcripts: Option<bool>,
}

impl MemberPatch {
    /// Trims and checks every given field.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let out = Self {
            badge_id: self.badge_id.map(|b| check_badge(&mut v, &b)),
            first_name: self.first_name.map(|n| v.text("first_name", &n, 80)),
            last_name: self.last_name.map(|n| v.text("last_name", &n, 80)),
            email: self.email.map(|e| v.opt_email("email", e.as_deref())),
            phone: self.phone.map(|p| v.opt_phone("phone", p.as_deref())),
            birth_date: self.birth_date.map(|d| check_birth(&mut v, d)),
            preferred_language: self.preferred_language,
            membership_type: self.membership_type.map(|t| check_type(&mut v, &t)),
            membership_status: self.membership_status,
            membership_end_date: self.membership_end_date,
            goals: self.goals.map(|g| check_goals(&mut v, g)),
            limitations: self
                .limitations
                .map(|l| v.opt_text("limitations", l.as_deref(), 1000)),
            consent_voice: self.consent_voice,
            consent_transcripts: self.consent_transcripts,
        };
        v.finish().map(|()| out)
    }

    /// Applies the patch to a member in memory (storage writes the result in one statement).
    pub fn apply(self, m: &mut Member) {
        if let Some(x) = self.badge_id {
            m.badge_id = x;
        }
        if let Some(x) = self.first_name {
            m.first_name = x;
        }
        if let Some(x) = self.last_name {
            m.last_name = x;
        }
        if let Some(x) = self.email {
            m.email = x;
        }
        if let Some(x) = self.phone {
            m.phone = x;
        }
        if let Some(x) = self.birth_date {
            m.birth_date = x;
        }
        if let Some(x) = self.preferred_language {
            m.preferred_language = x;
        }
        if let Some(x) = self.membership_type {
            m.membership_type = x;
        }
        if let Some(x) = self.membership_status {
            m.membership_status = x;
        }
        if let Some(x) = self.membership_end_date {
            m.membership_end_date = x;
        }
        if let Some(x) = self.goals {
            m.goals = x;
        }
        if let Some(x) = self.limitations {
            m.limitations = x;
        }
        if let Some(x) = self.consent_voice {
            m.consent_voice = x;
        }
        if let Some(x) = self.consent_transcripts {
            m.consent_transcripts = x;
        }
    }
}

/// Sort orders for member lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum MemberSort {
    /// Last name, then first name.
    #[default]
    Name,
    /// Newest first.
    CreatedDesc,
    /// Most recent visit first.
    LastVisitDesc,
    /// Badge id.
    Badge,
}

/// Filters for member lists.
#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    /// Case-insensitive search in name, badge and e-mail.
    pub q: Option<String>,
    /// Only this status.
    pub status: Option<MembershipStatus>,
    /// Only this plan.
    pub membership_type: Option<String>,
    /// Only members whose last visit is at or after this instant.
    pub visited_since: Option<OffsetDateTime>,
    /// Sort order.
    pub sort: MemberSort,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(status: MembershipStatus, consent: bool, end: Option<Date>) -> Member {
        let t = OffsetDateTime::UNIX_EPOCH;
        Member {
            id: MemberId::new(),
            gym_id: GymId::new(),
            franchise_id: FranchiseId::new(),
            badge_id: "B-1".into(),
            first_name: "Élodie".into(),
            last_name: "Roux".into(),
            email: None,
            phone: None,
            birth_date: None,
            preferred_language: Locale::Fr,
            membership_type: "standard".into(),
            membership_status: status,
            membership_end_date: end,
            goals: vec![],
            limitations: None,
            consent_voice: consent,
            consent_transcripts: false,
            visit_count: 0,
            last_visit_at: None,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn kiosks_greet_only_active_consenting_members() {
        use KioskEligibility::*;
        use MembershipStatus::*;
        let today = Date::from_calendar_date(2026, time::Month::March, 10).unwrap_or(Date::MIN);
        let e = |s, c, end| member(s, c, end).kiosk_eligibility(today);
        assert_eq!(e(Active, true, None), Eligible);
        assert_eq!(
            e(Active, true, Some(today)),
            Eligible,
            "the end date is still a membership day"
        );
        assert_eq!(e(Active, true, today.previous_day()), MembershipInactive);
        for s in [Frozen, Expired, Cancelled] {
            assert_eq!(e(s, true, None), MembershipInactive, "{s:?}");
            assert_eq!(
                e(s, false, None),
                MembershipInactive,
                "membership before consent"
            );
        }
        assert_eq!(e(Active, false, None), ConsentMissing);
        assert_eq!(MembershipInactive.code(), Some("membership_inactive"));
        assert_eq!(ConsentMissing.code(), Some("consent_missing"));
        assert_eq!(Eligible.code(), None);
    }
}
