use super::gym::parse_hhmm;
use crate::ids::{ClassScheduleId, FranchiseId, GymId};
use crate::validate::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

/// A day of the week (ISO order, Monday first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    /// All days, Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    /// The stable storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
            Weekday::Sat => "sat",
            Weekday::Sun => "sun",
        }
    }
    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// A class on a gym's schedule, recurring weekly or once on a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClassSchedule {
    /// Id.
    pub id: ClassScheduleId,
    /// Gym.
    pub gym_id: GymId,
    /// Gym's franchise.
    pub franchise_id: FranchiseId,
    /// Class name, e.g. "Yoga".
    pub name: String,
    /// Coach.
    pub coach: Option<String>,
    /// Room.
    pub room: Option<String>,
    /// Day of a weekly class (set when `recurring`).
    pub weekday: Option<Weekday>,
    /// Date of a one-off class (set when not `recurring`).
    pub date: Option<Date>,
    /// Local start time `HH:MM` (gym time zone).
    pub start_time: String,
    /// Duration in minutes (5–480).
    pub duration_minutes: i32,
    /// Places (1–500).
    pub capacity: i32,
    /// Whether it repeats every week.
    pub recurring: bool,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Input to create or replace a class.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClassSchedule {
    /// Class name (1–80 characters).
    pub name: String,
    /// Coach (at most 80 characters).
    #[serde(default)]
    pub coach: Option<String>,
    /// Room (at most 80 characters).
    #[serde(default)]
    pub room: Option<String>,
    /// Day for a weekly class.
    #[serde(default)]
    pub weekday: Option<Weekday>,
    /// Date for a one-off class (`YYYY-MM-DD`).
    #[serde(default)]
    pub date: Option<Date>,
    /// Local start time `HH:MM`.
    pub start_time: String,
    /// Duration in minutes (5–480).
    #[schema(minimum = 5, maximum = 480)]
    pub duration_minutes: i32,
    /// Places (1–500).
    #[schema(minimum = 1, maximum = 500)]
    pub capacity: i32,
    /// Repeats every week (default true; then `weekday` is required, else `date`).
    #[serde(default = "yes")]
    pub recurring: bool,
}

fn yes() -> bool {
    true
}

impl NewClassSchedule {
    /// Trims and checks every field, including the weekday/date rule.
    pub fn validate(self) -> Result<Self, ValidationErrors> {
        let mut v = ValidationErrors::new();
        let name = v.text("name", &self.name, 80);
        let coach = v.opt_text("coach", self.coach.as_deref(), 80);
        let room = v.opt_text("room", self.room.as_deref(), 80);
        let start_time = self.start_time.trim().to_string();
        if parse_hhmm(&start_time).is_none_or(|m| m >= 24 * 60) {
            v.push(FieldError::new(
                "start_time",
                "invalid_format",
                "must be HH:MM between 00:00 and 23:59",
            ));
        }
        if !(5..=480).contains(&self.duration_minutes) {
            v.push(FieldError::new(
                "duration_minutes",
                "out_of_range",
                "must be between 5 and 480",
            ));
        }
        if !(1..=500).contains(&self.capacity) {
            v.push(FieldError::new(
                "capacity",
                "out_of_range",
                "must be between 1 and 500",
            ));
        }
        match (self.recurring, self.weekday, self.date) {
            (true, Some(_), None) | (false, None, Some(_)) => {}
            (true, _, _) => v.push(FieldError::new(
                "weekday",
                "required",
                "a weekly class needs a weekday and no date",
            )),
            (false, _, _) => v.push(FieldError::new(
                "date",
                "required",
                "a one-off class needs a date and no weekday",
            )),
        }
        v.finish().map(|()| Self {
            name,
            coach,
            room,
            start_time,
            ..self
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yoga() -> NewClassSchedule {
        NewClassSchedule {
            name: " Yoga ".into(),
            coach: Some("Léa".into()),
            room: None,
            weekday: Some(Weekday::Mon),
            date: None,
            start_time: "18:30".into(),
            duration_minutes: 60,
            capacity: 20,
            recurring: true,
        }
    }

    #[test]
    fn checks_shape() {
        assert_eq!(
            yoga().validate().map(|c| c.name).ok().as_deref(),
            Some("Yoga")
        );
        let bad = NewClassSchedule {
            start_time: "24:00".into(),
            duration_minutes: 1,
            capacity: 0,
            weekday: None,
            ..yoga()
        };
        let fields: Vec<String> = bad
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            ["start_time", "duration_minutes", "capacity", "weekday"]
        );
    }
}
