//! RFC 3339 times: formatting seconds for events, and reading any RFC 3339
//! time (offset, fraction) into UTC milliseconds for the pre-hash string.

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // month is in 1..=12 and day in 1..=31 by construction.
    (year, month as u32, day as u32)
}

/// (year, month, day) to days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since 1970 (UTC).
pub(crate) fn format_millis(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000,
    );
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// RFC 3339 for seconds since 1970, with milliseconds (`2026-11-20T10:00:00.000Z`).
pub(crate) fn format_secs(secs: u64) -> String {
    format_millis(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX))
}

fn digits(s: &str, n: usize) -> Option<i64> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Milliseconds since 1970 (UTC) of an RFC 3339 time, the fraction rounded
/// to milliseconds half up (CBV 2.0 §8.9: `.1415` becomes `.142`).
pub(crate) fn parse_millis(s: &str) -> Option<i64> {
    let (date, time) = s.split_once(['T', 't'])?;
    let mut date_parts = date.split('-');
    let year = digits(date_parts.next()?, 4)?;
    let month = u32::try_from(digits(date_parts.next()?, 2)?).ok()?;
    let day = u32::try_from(digits(date_parts.next()?, 2)?).ok()?;
    if date_parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (clock, offset_minutes) = if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (clock, offset) = time.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (oh, om) = offset.get(1..)?.split_once(':')?;
        let (oh, om) = (digits(oh, 2)?, digits(om, 2)?);
        if oh > 23 || om > 59 {
            return None;
        }
        (clock, sign * (oh * 60 + om))
    };
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (hms, f),
        Some(_) => return None,
        None => (clock, ""),
    };
    let mut hms = hms.split(':');
    let h = digits(hms.next()?, 2)?;
    let mi = digits(hms.next()?, 2)?;
    let sec = digits(hms.next()?, 2)?;
    if hms.next().is_some() || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    // Milliseconds from the first three digits, rounded on the fourth.
    let mut milli = 0i64;
    for i in 0..3 {
        let digit = fraction
            .as_bytes()
            .get(i)
            .map_or(0, |b| i64::from(b - b'0'));
        milli = milli * 10 + digit;
    }
    if fraction.as_bytes().get(3).is_some_and(|b| *b >= b'5') {
        milli += 1;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_minutes * 60;
    Some(secs * 1000 + milli)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rounds() {
        assert_eq!(format_secs(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_secs(1_795_000_000), "2026-11-18T11:06:40.000Z");
        let t = parse_millis("2026-11-18T11:06:40Z");
        assert_eq!(t, Some(1_795_000_000_000));
        let t = parse_millis("2022-02-16T20:33:31.116000-06:00").map(format_millis);
        assert_eq!(t.as_deref(), Some("2022-02-17T02:33:31.116Z"));
        let t = parse_millis("2023-02-02T11:04:03.1415Z").map(format_millis);
        assert_eq!(t.as_deref(), Some("2023-02-02T11:04:03.142Z"));
        let t = parse_millis("2023-12-31T23:59:59.9996Z").map(format_millis);
        assert_eq!(t.as_deref(), Some("2024-01-01T00:00:00.000Z"));
        assert_eq!(parse_millis("2023-02-02 11:04:03Z"), None);
        assert_eq!(parse_millis("2023-02-02T11:04:03"), None);
    }
}
