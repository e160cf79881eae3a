//! Cron schedules of job kinds: the classic five fields (minute, hour, day of month, month, day
//! of week), always in UTC, with `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and
//! comma lists; plus `@hourly`, `@daily`, `@weekly`, `@monthly`. As in Vixie cron, when both
//! day fields are restricted a day matches either of them.
//!
//! Hand-rolled rather than the `cron` or `croner` crates: both pull in `chrono` (this workspace
//! uses `time`), and the scheduler needs only "latest slot at or before t" and "first slot after
//! t" at minute precision, about 200 lines with their tests.

use thiserror::Error;
use time::{Date, Duration, OffsetDateTime, Time};

/// How far the slot searches look (covers every valid expression, e.g. 29 February).
const SEARCH_DAYS: i64 = 366 * 8;

/// A schedule expression that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid schedule `{expr}`: {reason}")]
pub struct ScheduleError {
    expr: String,
    reason: String,
}

/// A parsed cron schedule (UTC, minute precision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    expr: String,
    minutes: u64,
    hours: u64,
    days: u64,
    months: u64,
    weekdays: u64,
    days_restricted: bool,
    weekdays_restricted: bool,
}

impl Schedule {
    /// Parses a five-field expression or an `@` alias.
    pub fn parse(expr: &str) -> Result<Self, ScheduleError> {
        let err = |reason: String| ScheduleError {
            expr: expr.to_string(),
            reason,
        };
        let expanded = match expr.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        let [mi, h, dom, mo, dow] = fields.as_slice() else {
            return Err(err(format!("expected 5 fields, found {}", fields.len())));
        };
        let field = |s: &str, name: &str, lo: u32, hi: u32| {
            parse_field(s, lo, hi).map_err(|r| err(format!("{name}: {r}")))
        };
        let mut weekdays = field(dow, "day of week", 0, 7)?;
        // 7 is Sunday too.
        if weekdays & (1 << 7) != 0 {
            weekdays = (weekdays & !(1 << 7)) | 1;
        }
        Ok(Self {
            expr: expr.trim().to_string(),
            minutes: field(mi, "minute", 0, 59)?,
            hours: field(h, "hour", 0, 23)?,
            days: field(dom, "day of month", 1, 31)?,
            months: field(mo, "month", 1, 12)?,
            weekdays,
            days_restricted: !dom.starts_with('*'),
            weekdays_restricted: !dow.starts_with('*'),
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.expr
    }

    fn day_matches(&self, d: Date) -> bool {
        if self.months & (1 << u8::from(d.month())) == 0 {
            return false;
        }
        let dom = self.days & (1 << d.day()) != 0;
        let dow = self.weekdays & (1 << d.weekday().number_days_from_sunday()) != 0;
        if self.days_restricted && self.weekdays_restricted {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The latest slot at or before `t` (`None` only for an expression that never fires, such
    /// as 31 February).
    pub fn latest_at_or_before(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        let t = t.to_offset(time::UtcOffset::UTC);
        let start = t.date();
        for back in 0..SEARCH_DAYS {
            let d = start.checked_sub(Duration::days(back))?;
            if !self.day_matches(d) {
                continue;
            }
            let (max_h, max_m) = if back == 0 {
                (t.hour(), Some(t.minute()))
            } else {
                (23, None)
            };
            for h in (0..=max_h).rev() {
                if self.hours & (1 << h) == 0 {
                    continue;
                }
                let top = if h == max_h { max_m.unwrap_or(59) } else { 59 };
                if let Some(m) = (0..=top).rev().find(|m| self.minutes & (1 << m) != 0) {
                    return slot(d, h, m);
                }
            }
        }
        None
    }

    /// The first slot strictly after `t`.
    pub fn first_after(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        let t = t.to_offset(time::UtcOffset::UTC);
        // Strictly after: from the next whole minute.
        let from = t.replace_second(0).ok()?.replace_nanosecond(0).ok()? + Duration::minutes(1);
        let start = from.date();
        for ahead in 0..SEARCH_DAYS {
            let d = start.checked_add(Duration::days(ahead))?;
            if !self.day_matches(d) {
                continue;
            }
            let (min_h, min_m) = if ahead == 0 {
                (from.hour(), from.minute())
            } else {
                (0, 0)
            };
            for h in min_h..24 {
                if self.hours & (1 << h) == 0 {
                    continue;
                }
                let low = if h == min_h { min_m } else { 0 };
                if let Some(m) = (low..60).find(|m| self.minutes & (1 << m) != 0) {
                    return slot(d, h, m);
                }
            }
        }
        None
    }
}

fn slot(d: Date, h: u8, m: u8) -> Option<OffsetDateTime> {
    Some(d.with_time(Time::from_hms(h, m, 0).ok()?).assume_utc())
}

/// Parses one field into a bit set of the values it allows.
fn parse_field(s: &str, lo: u32, hi: u32) -> Result<u64, String> {
    let mut bits = 0u64;
    for part in s.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, st)) => {
                let st: u32 = st.parse().map_err(|_| format!("bad step `{st}`"))?;
                if st == 0 {
                    return Err("step 0".into());
                }
                (r, st)
            }
            None => (part, 1),
        };
        let num = |x: &str| -> Result<u32, String> {
            let n: u32 = x.parse().map_err(|_| format!("bad value `{x}`"))?;
            if (lo..=hi).contains(&n) {
                Ok(n)
            } else {
                Err(format!("{n} is outside {lo}-{hi}"))
            }
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (num(a)?, num(b)?)
        } else {
            let a = num(range)?;
            // `a/n` means from a to the end, as in Vixie cron.
            (a, if step > 1 { hi } else { a })
        };
        if a > b {
            return Err(format!("empty range {a}-{b}"));
        }
        let mut v = a;
        while v <= b {
            bits |= 1 << v;
            v += step;
        }
    }
    Ok(bits)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn latest_and_next_slots() {
        let s = Schedule::parse("*/15 * * * *").unwrap();
        let t = datetime!(2026-11-30 16:37:12 UTC);
        assert_eq!(
            s.latest_at_or_before(t),
            Some(datetime!(2026-11-30 16:30 UTC))
        );
        assert_eq!(s.first_after(t), Some(datetime!(2026-11-30 16:45 UTC)));
        // A slot time itself is the latest at-or-before, and not "after".
        let at = datetime!(2026-11-30 16:45 UTC);
        assert_eq!(s.latest_at_or_before(at), Some(at));
        assert_eq!(s.first_after(at), Some(datetime!(2026-11-30 17:00 UTC)));
    }

    #[test]
    fn daily_weekly_and_month_ends() {
        let daily = Schedule::parse("30 3 * * *").unwrap();
        let t = datetime!(2026-11-30 02:00 UTC);
        assert_eq!(
            daily.latest_at_or_before(t),
            Some(datetime!(2026-11-29 03:30 UTC))
        );
        assert_eq!(daily.first_after(t), Some(datetime!(2026-11-30 03:30 UTC)));
        // 2026-11-30 is a Monday; Sundays at midnight.
        let weekly = Schedule::parse("@weekly").unwrap();
        assert_eq!(weekly.first_after(t), Some(datetime!(2026-12-06 00:00 UTC)));
        assert_eq!(
            Schedule::parse("0 0 31 * *").unwrap().first_after(t),
            Some(datetime!(2026-12-31 00:00 UTC))
        );
        assert_eq!(
            Schedule::parse("0 12 29 2 *").unwrap().first_after(t),
            Some(datetime!(2028-02-29 12:00 UTC))
        );
        assert_eq!(Schedule::parse("0 0 31 2 *").unwrap().first_after(t), None);
    }

    #[test]
    fn both_day_fields_restricted_means_either() {
        // The 1st of the month or any Friday.
        let s = Schedule::parse("0 8 1 * 5").unwrap();
        let t = datetime!(2026-11-30 09:00 UTC);
        assert_eq!(s.first_after(t), Some(datetime!(2026-12-01 08:00 UTC)));
        assert_eq!(
            s.first_after(datetime!(2026-12-01 09:00 UTC)),
            Some(datetime!(2026-12-04 08:00 UTC))
        );
        // Sunday as 7, lists and ranges with steps.
        let s = Schedule::parse("5,10-20/5 1 * * 7").unwrap();
        assert_eq!(s.first_after(t), Some(datetime!(2026-12-06 01:05 UTC)));
        assert_eq!(
            s.latest_at_or_before(datetime!(2026-12-06 01:17 UTC)),
            Some(datetime!(2026-12-06 01:15 UTC))
        );
    }

    #[test]
    fn bad_expressions_are_refused() {
        for bad in [
            "",
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "*/0 * * * *",
            "5-1 * * * *",
            "a * * * *",
            "* * * 13 *",
        ] {
            assert!(Schedule::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
