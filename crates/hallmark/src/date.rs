//! Calendar dates as whole days since 1970-01-01 in UTC.

use core::fmt;
use core::str::FromStr;

use crate::error::{Error, FieldError};

/// A calendar date (proleptic Gregorian, UTC), stored as days since 1970-01-01.
///
/// Codes carry dates as a day count, never as a string: `1970-01-01` is day 0 and
/// `9999-12-31` ([`Date::MAX`]) is the last representable day.
///
/// ```
/// use hallmark::Date;
/// let d: Date = "2023-12-12".parse()?;
/// assert_eq!(d.days(), 19_703);
/// assert_eq!(d.to_string(), "2023-12-12");
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(u32);

impl Date {
    /// 1970-01-01, day 0.
    pub const EPOCH: Date = Date(0);
    /// 9999-12-31, the last day this format represents.
    pub const MAX: Date = Date(2_932_896);

    /// The date `days` days after 1970-01-01, or `None` past [`Date::MAX`].
    pub fn from_days(days: u64) -> Option<Date> {
        let days = u32::try_from(days).ok()?;
        (days <= Self::MAX.0).then_some(Date(days))
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> u32 {
        self.0
    }

    /// The date for a year, month (1-12) and day (1-31), or `None` if no such day
    /// exists or it lies outside 1970-01-01..=9999-12-31.
    pub fn from_ymd(year: u32, month: u32, day: u32) -> Option<Date> {
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        if day > days_in_month(year, month) {
            return None;
        }
        // Days from civil (H. Hinnant), shifted so the year starts in March.
        let y = if month <= 2 { year - 1 } else { year };
        let era = y / 400;
        let yoe = y - era * 400;
        let mp = (month + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe;
        // 719_468 is the day number of 1970-01-01 in this count.
        days.checked_sub(719_468).map(Date)
    }

    /// The (year, month, day) of this date.
    pub fn to_ymd(self) -> (u32, u32, u32) {
        let z = self.0 + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u32::from(month <= 2);
        (year, month, day)
    }
}

fn is_leap(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Seconds since 1970-01-01 UTC as an RFC 3339 UTC time,
/// `2026-12-01T19:15:42Z` (a time past 9999-12-31 prints as its seconds).
pub fn rfc3339(secs: u64) -> String {
    match Date::from_days(secs / 86_400) {
        Some(day) => {
            let t = secs % 86_400;
            format!("{day}T{:02}:{:02}:{:02}Z", t / 3600, t / 60 % 60, t % 60)
        }
        None => format!("{secs} seconds since 1970"),
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.to_ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl FromStr for Date {
    type Err = Error;

    /// Parses exactly `YYYY-MM-DD` (ISO 8601 calendar date, UTC).
    fn from_str(s: &str) -> Result<Date, Error> {
        let invalid = || FieldError::InvalidDate {
            input: s.chars().take(32).collect(),
        };
        let b = s.as_bytes();
        let shape_ok = b.len() == 10
            && b.iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                _ => c.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(invalid().into());
        }
        let num = |range: core::ops::Range<usize>| -> Option<u32> { s.get(range)?.parse().ok() };
        let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
            return Err(invalid().into());
        };
        Date::from_ymd(y, m, d).ok_or_else(|| invalid().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges() {
        assert_eq!(Date::from_ymd(1970, 1, 1), Some(Date::EPOCH));
        assert_eq!(Date::from_ymd(9999, 12, 31), Some(Date::MAX));
        assert_eq!(Date::from_ymd(2000, 2, 29).map(|d| d.days()), Some(11_016));
        assert_eq!(Date::from_ymd(2100, 2, 29), None, "2100 is not a leap year");
        assert_eq!(
            Date::from_ymd(2024, 2, 29).map(|d| d.to_string()),
            Some("2024-02-29".into())
        );
        assert_eq!(Date::from_ymd(2023, 2, 29), None);
        assert_eq!(Date::from_ymd(1969, 12, 31), None);
        assert_eq!(Date::from_ymd(2023, 13, 1), None);
        assert_eq!(Date::from_ymd(2023, 4, 31), None);
        assert_eq!(Date::from_days(u64::from(Date::MAX.days()) + 1), None);
        assert_eq!(Date::from_days(u64::MAX), None);
    }

    #[test]
    fn parse_rejects_loose_spellings() {
        for bad in [
            "",
            "2023-1-01",
            "2023-01-1",
            "23-01-01",
            "2023/01/01",
            "2023-01-01 ",
            " 2023-01-01",
            "+023-01-01",
            "2023-00-10",
            "2023-02-30",
            "１９７０-01-01",
            "20231212",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad:?} parsed");
        }
    }

    /// Every day from 1970 to 2200 agrees with the `time` crate.
    #[test]
    fn agrees_with_time_crate() {
        let epoch = time::macros::date!(1970 - 01 - 01);
        for days in 0..=Date::from_ymd(2200, 12, 31).map_or(0, |d| d.days()) {
            let ours = Date(days);
            let theirs = epoch + time::Duration::days(i64::from(days));
            let (y, m, d) = ours.to_ymd();
            assert_eq!(
                (y as i32, m as u8, d as u8),
                (theirs.year(), u8::from(theirs.month()), theirs.day())
            );
            assert_eq!(Date::from_ymd(y, m, d), Some(ours));
            assert_eq!(ours.to_string().parse::<Date>().ok(), Some(ours));
        }
        let (y, m, d) = Date::MAX.to_ymd();
        assert_eq!((y, m, d), (9999, 12, 31));
    }
}
