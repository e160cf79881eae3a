//! Gym time zones: IANA names (`Europe/Paris`) resolved against the system's time zone database
//! (`$TZDIR`, else `/usr/share/zoneinfo`, the Debian `tzdata` package), so "today", the class of
//! the day and the opening hours a call talks about are the gym's, not UTC's.
//!
//! The one IO of this crate, on purpose: a zone read once per process and kept (a few KB each,
//! at most the ~600 zones of the database). A tz database update is picked up on restart.
//! `UTC` needs no database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use time::{OffsetDateTime, UtcOffset};

use crate::validate::is_timezone;

/// Where the database is looked for when `$TZDIR` is not set (glibc's and BSD's usual places).
const ZONEINFO_DIRS: &[&str] = &[
    "/usr/share/zoneinfo",
    "/usr/lib/zoneinfo",
    "/usr/share/lib/zoneinfo",
    "/etc/zoneinfo",
];

/// A time zone name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    /// Not shaped like an IANA name (`Area/Location` or `UTC`).
    #[error("`{0}` is not an IANA time zone name")]
    Name(String),
    /// Well formed, but not in this system's time zone database (or not readable).
    #[error("time zone `{0}` is not in the time zone database (install tzdata, or set TZDIR)")]
    Unknown(String),
}

/// A loaded time zone.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    tz: Arc<tz::TimeZone>,
}

impl Zone {
    /// UTC, always available.
    pub fn utc() -> Zone {
        Zone {
            name: "UTC".into(),
            tz: Arc::new(tz::TimeZone::utc()),
        }
    }

    /// The zone named `name`, from the cache or the database.
    pub fn load(name: &str) -> Result<Zone, ZoneError> {
        let name = name.trim();
        if name == "UTC" {
            return Ok(Zone::utc());
        }
        if !is_timezone(name) {
            return Err(ZoneError::Name(name.to_owned()));
        }
        let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
        if let Some(tz) = cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return Ok(Zone {
                name: name.to_owned(),
                tz: tz.clone(),
            });
        }
        // `is_timezone` admits only `Area/Name[/Name]` of letters, digits and `_-+`: no `..`,
        // no absolute path, so the name is safe to join to the database directory.
        let tz = Arc::new(read_zone(name).ok_or_else(|| ZoneError::Unknown(name.to_owned()))?);
        cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), tz.clone());
        Ok(Zone {
            name: name.to_owned(),
            tz,
        })
    }

    /// The IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's offset from UTC at `at` (daylight saving included).
    pub fn offset_at(&self, at: OffsetDateTime) -> UtcOffset {
        self.tz
            .find_local_time_type(at.unix_timestamp())
            .ok()
            .and_then(|t| UtcOffset::from_whole_seconds(t.ut_offset()).ok())
            .unwrap_or(UtcOffset::UTC)
    }

    /// `at` as the zone's local time (its `date()` is the gym's "today").
    pub fn local(&self, at: OffsetDateTime) -> OffsetDateTime {
        at.to_offset(self.offset_at(at))
    }
}

static CACHE: OnceLock<Mutex<HashMap<String, Arc<tz::TimeZone>>>> = OnceLock::new();

fn read_zone(name: &str) -> Option<tz::TimeZone> {
    let from_env = std::env::var("TZDIR").ok().filter(|d| !d.is_empty());
    from_env
        .iter()
        .map(String::as_str)
        .chain(ZONEINFO_DIRS.iter().copied())
        .find_map(|dir| {
            let bytes = std::fs::read(std::path::Path::new(dir).join(name)).ok()?;
            tz::TimeZone::from_tz_data(&bytes).ok()
        })
}

/// Whether `name` is a time zone this system knows (what saving a gym checks).
pub fn is_known(name: &str) -> bool {
    Zone::load(name).is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn utc_needs_no_database() {
        let z = Zone::load("UTC").unwrap();
        let at = datetime!(2026-07-01 12:00 UTC);
        assert_eq!(z.local(at), at);
    }

    #[test]
    fn local_dates_follow_the_zone_and_its_daylight_saving() {
        // 23:30 UTC on 30 November is already 1 December in Paris (UTC+1 in winter)…
        let paris = Zone::load("Europe/Paris").unwrap();
        let at = datetime!(2026-11-30 23:30 UTC);
        assert_eq!(paris.local(at).date(), date!(2026 - 12 - 01));
        assert_eq!(paris.offset_at(at), UtcOffset::from_hms(1, 0, 0).unwrap());
        // …and UTC+2 in summer.
        let summer = datetime!(2026-07-01 12:00 UTC);
        assert_eq!(
            paris.offset_at(summer),
            UtcOffset::from_hms(2, 0, 0).unwrap()
        );
        // West of Greenwich the local date is still yesterday.
        let la = Zone::load("America/Los_Angeles").unwrap();
        assert_eq!(
            la.local(datetime!(2026-12-01 03:00 UTC)).date(),
            date!(2026 - 11 - 30)
        );
        assert_eq!(la.name(), "America/Los_Angeles");
    }

    #[test]
    fn unknown_and_malformed_names_are_refused() {
        assert_eq!(
            Zone::load("Europe/Atlantis").unwrap_err(),
            ZoneError::Unknown("Europe/Atlantis".into())
        );
        for bad in [
            "Paris",
            "Europe/../../etc/passwd",
            "/etc/localtime",
            "CET-1CEST",
        ] {
            assert!(matches!(Zone::load(bad), Err(ZoneError::Name(_))), "{bad}");
        }
        assert!(is_known("Asia/Kolkata") && !is_known("Mars/Olympus"));
    }
}
