//! Dates, numbers and amounts as a reader reads them: in their language (`1 déc. 2026, 07:35`
//! and `12 345,5` in French, `1 Dec 2026, 07:35` and `12,345.5` in English) and, for a gym, in
//! the gym's time zone. Outside a gym (the admin area, platform e-mails) times are UTC, labelled.
//!
//! Here rather than in the server so that what jarvis-app writes (weekly reports, usage e-mails)
//! formats like the dashboard does, through one code path.
//!
//! Hand-written rather than ICU (`icu`/`fluent` pull a data tree of several MB into the binary
//! for the two languages and the few shapes JARVIS needs).

use crate::cost::pico_to_micro;
use crate::model::Locale;
use crate::tz::Zone;
use time::{Date, OffsetDateTime};

const MONTHS_FR: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.",
    "déc.",
];
const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_LONG_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const MONTHS_LONG_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// French groups thousands with a narrow no-break space (so `12 345` never wraps).
const FR_GROUP: char = '\u{202f}';

/// How one page or e-mail formats: its reader's language and its time zone (`None`: UTC,
/// labelled).
#[derive(Debug, Clone)]
pub struct Fmt {
    locale: Locale,
    zone: Option<Zone>,
}

impl Fmt {
    /// Formats in `locale`, times in `zone` (UTC, labelled, when `None`).
    pub fn new(locale: Locale, zone: Option<Zone>) -> Self {
        Self { locale, zone }
    }

    /// For a gym's pages and reports: the gym's IANA zone; an unknown zone (a database without it) falls
    /// back to labelled UTC rather than failing the page.
    pub fn for_gym(locale: Locale, timezone: &str) -> Self {
        Self::new(locale, Zone::load(timezone).ok())
    }

    fn fr(&self) -> bool {
        self.locale == Locale::Fr
    }

    /// The time zone the page's times are in (`Europe/Paris`, or `UTC`).
    pub fn zone_name(&self) -> &str {
        self.zone.as_ref().map_or("UTC", Zone::name)
    }

    fn local(&self, t: OffsetDateTime) -> OffsetDateTime {
        match &self.zone {
            Some(z) => z.local(t),
            None => t.to_offset(time::UtcOffset::UTC),
        }
    }

    /// A calendar day: `1 déc. 2026` / `1 Dec 2026`.
    pub fn day(&self, d: &Date) -> String {
        format!("{} {} {}", d.day(), self.month_name(d.month()), d.year())
    }

    /// A day without its year, for chart axes: `25 nov.` / `25 Nov`.
    pub fn day_short(&self, d: &Date) -> String {
        format!("{} {}", d.day(), self.month_name(d.month()))
    }

    /// A month: `déc. 2026` / `Dec 2026`.
    pub fn month(&self, first_day: &Date) -> String {
        format!(
            "{} {}",
            self.month_name(first_day.month()),
            first_day.year()
        )
    }

    /// A month spelt out, for prose (e-mails): `novembre 2026` / `November 2026`.
    pub fn month_long(&self, first_day: &Date) -> String {
        let months = if self.fr() {
            &MONTHS_LONG_FR
        } else {
            &MONTHS_LONG_EN
        };
        format!(
            "{} {}",
            months[month_index(first_day.month())],
            first_day.year()
        )
    }

    fn month_name(&self, m: time::Month) -> &'static str {
        let months = if self.fr() { &MONTHS_FR } else { &MONTHS_EN };
        months[month_index(m)]
    }

    /// The day of a moment, in the page's zone.
    pub fn date(&self, t: &OffsetDateTime) -> String {
        self.day(&self.local(*t).date())
    }

    /// A moment to the minute: `1 déc. 2026, 07:35`, with ` UTC` when the page has no gym zone.
    pub fn at(&self, t: &OffsetDateTime) -> String {
        let l = self.local(*t);
        let utc = if self.zone.is_none() { " UTC" } else { "" };
        format!("{}, {:02}:{:02}{utc}", self.date(t), l.hour(), l.minute())
    }

    /// [`Fmt::at`], or a dash when absent.
    pub fn at_opt(&self, t: &Option<OffsetDateTime>) -> String {
        t.as_ref().map_or_else(|| "—".into(), |t| self.at(t))
    }

    /// A whole number with the language's thousands separator.
    pub fn int(&self, n: &u64) -> String {
        group(&n.to_string(), if self.fr() { FR_GROUP } else { ',' })
    }

    /// `v` with `decimals` digits after the language's decimal mark.
    pub fn dec(&self, v: &f64, decimals: &usize) -> String {
        let s = format!("{v:.decimals$}");
        let (sign, s) = s.strip_prefix('-').map_or(("", s.as_str()), |r| ("-", r));
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        let whole = group(whole, if self.fr() { FR_GROUP } else { ',' });
        match (frac.is_empty(), self.fr()) {
            (true, _) => format!("{sign}{whole}"),
            (false, true) => format!("{sign}{whole},{frac}"),
            (false, false) => format!("{sign}{whole}.{frac}"),
        }
    }

    /// Micro-dollars to the micro-dollar: `$1,234.000500` / `1 234,000500 $`.
    pub fn usd_micros(&self, micros: &u64) -> String {
        let sep = if self.fr() { FR_GROUP } else { ',' };
        let whole = group(&(micros / 1_000_000).to_string(), sep);
        let frac = micros % 1_000_000;
        if self.fr() {
            format!("{whole},{frac:06}\u{a0}$")
        } else {
            format!("${whole}.{frac:06}")
        }
    }

    /// Micro-dollars to the cent (totals and budgets): `$1,234.56` / `1 234,56 $`.
    pub fn usd_cents(&self, micros: &u64) -> String {
        let sep = if self.fr() { FR_GROUP } else { ',' };
        let whole = group(&(micros / 1_000_000).to_string(), sep);
        let cents = (micros % 1_000_000) / 10_000;
        if self.fr() {
            format!("{whole},{cents:02}\u{a0}$")
        } else {
            format!("${whole}.{cents:02}")
        }
    }

    /// Pico-dollars, rounded to the micro-dollar.
    pub fn usd_pico(&self, pico: &u64) -> String {
        self.usd_micros(&pico_to_micro(*pico))
    }

    /// [`Fmt::usd_pico`], or a dash when absent.
    pub fn usd_pico_opt(&self, pico: &Option<u64>) -> String {
        pico.as_ref()
            .map_or_else(|| "—".into(), |p| self.usd_pico(p))
    }
}

/// 0 for January … 11 for December (`time::Month` is 1-based).
fn month_index(m: time::Month) -> usize {
    usize::from(u8::from(m)) - 1
}

/// `digits` (ASCII, no sign) with `sep` every three digits from the right.
fn group(digits: &str, sep: char) -> String {
    let n = digits.len();
    let mut out = String::with_capacity(n + n / 3 * sep.len_utf8());
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn fr() -> Fmt {
        Fmt::new(Locale::Fr, None)
    }
    fn en() -> Fmt {
        Fmt::new(Locale::En, None)
    }

    #[test]
    fn moments_in_each_language_and_utc_labelled_without_a_zone() {
        let t = datetime!(2026-12-01 06:35:59 UTC);
        assert_eq!(fr().at(&t), "1 déc. 2026, 06:35 UTC");
        assert_eq!(en().at(&t), "1 Dec 2026, 06:35 UTC");
        assert_eq!(en().at_opt(&None), "—");
        assert_eq!(fr().date(&datetime!(2026-08-15 23:00 UTC)), "15 août 2026");
        let d = time::macros::date!(2026 - 11 - 25);
        assert_eq!(fr().day_short(&d), "25 nov.");
        assert_eq!(en().month(&d), "Nov 2026");
    }

    #[test]
    fn a_gym_zone_moves_the_day_and_the_hour() {
        let Ok(zone) = Zone::load("Europe/Paris") else {
            // The zone database is a Debian package (tzdata); the tz module's tests say so too.
            eprintln!("SKIP: Europe/Paris is not in this system's time zone database");
            assert!(
                std::env::var_os("CI").is_none(),
                "tzdata must be installed in CI"
            );
            return;
        };
        let f = Fmt::new(Locale::Fr, Some(zone));
        // 23:30 UTC on 31 December is already 1 January in Paris (UTC+1 in winter).
        assert_eq!(
            f.at(&datetime!(2026-12-31 23:30 UTC)),
            "1 janv. 2027, 00:30"
        );
        // Summer time: UTC+2.
        assert_eq!(
            f.at(&datetime!(2026-07-01 10:00 UTC)),
            "1 juil. 2026, 12:00"
        );
        assert_eq!(f.zone_name(), "Europe/Paris");
        // An unknown zone falls back to labelled UTC.
        assert_eq!(Fmt::for_gym(Locale::En, "Mars/Olympus").zone_name(), "UTC");
    }

    #[test]
    fn numbers_group_thousands_and_use_the_decimal_mark() {
        assert_eq!(en().int(&1_234_567), "1,234,567");
        assert_eq!(fr().int(&1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(en().int(&999), "999");
        assert_eq!(en().dec(&12345.678, &1), "12,345.7");
        assert_eq!(fr().dec(&12345.678, &1), "12\u{202f}345,7");
        assert_eq!(fr().dec(&-0.5, &2), "-0,50");
        assert_eq!(en().dec(&3.0, &0), "3");
    }

    #[test]
    fn amounts_keep_the_micro_dollar() {
        assert_eq!(en().usd_micros(&1_234_000_500), "$1,234.000500");
        assert_eq!(
            fr().usd_micros(&1_234_000_500),
            "1\u{202f}234,000500\u{a0}$"
        );
        assert_eq!(en().usd_pico(&1_500_000), "$0.000002");
        assert_eq!(fr().usd_pico_opt(&None), "—");
        assert_eq!(en().usd_cents(&12_345_678_901), "$12,345.67");
        assert_eq!(fr().usd_cents(&5_000), "0,00\u{a0}$");
    }

    #[test]
    fn a_report_s_shapes_in_each_language() {
        // What a weekly report shows: a count, a one-decimal score and a spend to the cent.
        assert_eq!(fr().int(&1_234), "1\u{202f}234");
        assert_eq!(en().int(&1_234), "1,234");
        assert_eq!(fr().int(&0), "0");
        assert_eq!(fr().dec(&4.2, &1), "4,2");
        assert_eq!(en().dec(&4.2, &1), "4.2");
        assert_eq!(fr().usd_cents(&12_345_678), "12,34\u{a0}$");
        assert_eq!(en().usd_cents(&12_345_678), "$12.34");
        assert_eq!(fr().usd_cents(&1_234_000_000), "1\u{202f}234,00\u{a0}$");
    }

    #[test]
    fn months_spelt_out_for_prose() {
        let d = time::macros::date!(2026 - 11 - 01);
        assert_eq!(fr().month_long(&d), "novembre 2026");
        assert_eq!(en().month_long(&d), "November 2026");
        let d = time::macros::date!(2027 - 02 - 01);
        assert_eq!(fr().month_long(&d), "février 2027");
        assert_eq!(en().month_long(&d), "February 2027");
    }
}
