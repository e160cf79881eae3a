//! A timestamp bound as `timestamptz` on PostgreSQL and as fixed-width UTC text on SQLite.
//!
//! SQLite compares timestamps as text. sqlx's default text drops trailing zeros of the fraction
//! (`12:00:00Z`, `12:00:00.5Z`), and `Z` sorts after `.`, so a whole second would compare later
//! than the fractions inside it. The job queue compares due times and leases in SQL, so its
//! tables always store `YYYY-MM-DDTHH:MM:SS.ffffffZ`, which sorts like time.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo};
use sqlx::{Encode, Postgres, Sqlite, Type};
use time::OffsetDateTime;
use time::macros::format_description;

/// A timestamp as written by either backend (UTC, microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct DbTime(pub OffsetDateTime);

impl DbTime {
    /// `t` in UTC at the precision both backends keep (microseconds), so what is read back
    /// equals what was written.
    pub(crate) fn new(t: OffsetDateTime) -> Self {
        DbTime(exact(t))
    }
}

/// `t` in UTC, truncated to microseconds.
pub(crate) fn exact(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

impl Type<Sqlite> for DbTime {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <String as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for DbTime {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        let text = exact(self.0).format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))?;
        <String as Encode<Sqlite>>::encode(text, buf)
    }
}

impl Type<Postgres> for DbTime {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <OffsetDateTime as Type<Postgres>>::compatible(ty)
    }
}

impl Encode<'_, Postgres> for DbTime {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        <OffsetDateTime as Encode<Postgres>>::encode_by_ref(&exact(self.0), buf)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn text_form_sorts_like_time() {
        let fmt = |t: OffsetDateTime| {
            exact(t)
                .format(format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
                ))
                .unwrap()
        };
        let whole = datetime!(2025-01-01 12:00:00 UTC);
        let later = datetime!(2025-01-01 12:00:00.5 UTC);
        let paris = datetime!(2025-01-01 13:00:00.25 +01:00);
        assert_eq!(fmt(whole), "2025-01-01T12:00:00.000000Z");
        assert!(fmt(whole) < fmt(later));
        assert!(fmt(paris) < fmt(later), "offsets are normalised to UTC");
        assert_eq!(fmt(paris), "2025-01-01T12:00:00.250000Z");
    }
}
