//! Character sets and the dictionary's check routines ("linters").
//!
//! The rules are those of GS1's reference linters (gs1-syntax-engine,
//! `src/c-lib/syntax/lint_*.c`, Apache-2.0, GS1 AISBL), re-stated here; the
//! test cases in `tests.rs` are transcribed from theirs. Each check returns
//! the reason a value is refused, worded for a person reading an error.

use super::codes::{ISO3166_ALPHA2, ISO3166_NUMERIC, ISO4217_NUMERIC, PACKAGE_TYPES};
use super::table::{Cset, Linter};

/// GS1 AI encodable character set 82, as in the General Specifications.
pub(crate) fn is_cset82(b: u8) -> bool {
    matches!(b, b'!' | b'"' | b'%'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

/// GS1 AI encodable character set 39.
pub(crate) fn is_cset39(b: u8) -> bool {
    matches!(b, b'#' | b'-' | b'/' | b'0'..=b'9' | b'A'..=b'Z')
}

fn is_base64url(b: u8) -> bool {
    matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_')
}

/// Checks the character set of one component.
pub(crate) fn check_cset(cset: Cset, data: &[u8]) -> Result<(), String> {
    let bad = |pos: usize, b: u8, set: &str| {
        Err(format!(
            "{} at character {} is not {set}",
            printable(b),
            pos + 1
        ))
    };
    match cset {
        Cset::N => match data.iter().position(|b| !b.is_ascii_digit()) {
            Some(p) => bad(p, data.get(p).copied().unwrap_or(0), "a digit"),
            None => Ok(()),
        },
        Cset::X => match data.iter().position(|&b| !is_cset82(b)) {
            Some(p) => bad(
                p,
                data.get(p).copied().unwrap_or(0),
                "in GS1 character set 82",
            ),
            None => Ok(()),
        },
        Cset::Y => match data.iter().position(|&b| !is_cset39(b)) {
            Some(p) => bad(
                p,
                data.get(p).copied().unwrap_or(0),
                "in GS1 character set 39",
            ),
            None => Ok(()),
        },
        Cset::Z => {
            // base64url; `=` padding only at the end, at most two, and only
            // when the whole is a multiple of 3 long (the reference rule).
            let pads = data.iter().rev().take_while(|&&b| b == b'=').count();
            let body = data.len() - pads;
            if let Some(p) = data.iter().take(body).position(|&b| !is_base64url(b)) {
                return bad(p, data.get(p).copied().unwrap_or(0), "base64url");
            }
            if pads > 2 || (pads > 0 && !data.len().is_multiple_of(3)) {
                return Err("invalid base64url padding".to_owned());
            }
            Ok(())
        }
    }
}

fn printable(b: u8) -> String {
    if b.is_ascii_graphic() || b == b' ' {
        format!("'{}'", b as char)
    } else {
        format!("0x{b:02x}")
    }
}

fn digits(data: &[u8]) -> bool {
    data.iter().all(u8::is_ascii_digit)
}

/// Value of up to 9 ASCII digits (callers checked they are digits).
fn num(data: &[u8]) -> u64 {
    data.iter()
        .fold(0u64, |n, &b| n * 10 + u64::from(b.wrapping_sub(b'0')))
}

fn need_digits(data: &[u8]) -> Result<(), String> {
    match data.iter().position(|b| !b.is_ascii_digit()) {
        Some(p) => Err(format!("character {} is not a digit", p + 1)),
        None => Ok(()),
    }
}

/// Runs one linter over a component.
pub(crate) fn lint(linter: Linter, data: &[u8]) -> Result<(), String> {
    match linter {
        Linter::Csum => csum(data),
        Linter::Csumalpha => csumalpha(data),
        Linter::Gcppos1 => gcppos1(data),
        Linter::Gcppos2 => match data.get(1..) {
            Some(rest) if !data.is_empty() => gcppos1(rest),
            _ => Err("too short to hold a GS1 company prefix".to_owned()),
        },
        Linter::Hasnondigit => {
            if digits(data) {
                Err("must contain a character that is not a digit".to_owned())
            } else {
                Ok(())
            }
        }
        Linter::Hh => two_digit(data, 23, "hour"),
        Linter::Mi => two_digit(data, 59, "minute"),
        Linter::Ss => two_digit(data, 59, "second"),
        Linter::Hhmi => {
            if data.len() != 4 {
                return Err("time must be HHMM".to_owned());
            }
            two_digit(data.get(..2).unwrap_or_default(), 23, "hour")?;
            two_digit(data.get(2..).unwrap_or_default(), 59, "minute")
        }
        Linter::Hyphen => {
            if !data.is_empty() && data.iter().all(|&b| b == b'-') {
                Ok(())
            } else {
                Err("must be '-'".to_owned())
            }
        }
        Linter::Zero => {
            if !data.is_empty() && data.iter().all(|&b| b == b'0') {
                Ok(())
            } else {
                Err("must be zero".to_owned())
            }
        }
        Linter::Nonzero => {
            need_digits(data)?;
            if data.iter().all(|&b| b == b'0') {
                Err("must not be zero".to_owned())
            } else {
                Ok(())
            }
        }
        Linter::Nozeroprefix => {
            if data.first() == Some(&b'0') {
                return Err("must not start with 0".to_owned());
            }
            need_digits(data)
        }
        Linter::Yesno => one_of(data, b"01", "must be 0 or 1"),
        Linter::Winding => one_of(data, b"019", "winding direction must be 0, 1 or 9"),
        Linter::Iso5218 => one_of(data, b"0129", "biological sex code must be 0, 1, 2 or 9"),
        Linter::Iso3166 => iso3166(data),
        Linter::Iso3166999 => {
            if data == b"999" {
                Ok(())
            } else {
                iso3166(data).map_err(|_| "not an ISO 3166 country code or 999".to_owned())
            }
        }
        Linter::Iso3166Alpha2 => {
            let code = std::str::from_utf8(data).unwrap_or_default();
            if ISO3166_ALPHA2.binary_search(&code).is_ok() {
                Ok(())
            } else {
                Err(format!("{code:?} is not an ISO 3166 alpha-2 country code"))
            }
        }
        Linter::Iso4217 => {
            if data.len() == 3
                && digits(data)
                && ISO4217_NUMERIC.binary_search(&(num(data) as u16)).is_ok()
            {
                Ok(())
            } else {
                Err(format!(
                    "{} is not an ISO 4217 currency code",
                    String::from_utf8_lossy(data)
                ))
            }
        }
        Linter::Iban => iban(data),
        Linter::Importeridx => match data {
            [b] if b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_' => Ok(()),
            [_] => Err("importer index must be 0-9, A-Z, a-z, '-' or '_'".to_owned()),
            _ => Err("importer index must be one character".to_owned()),
        },
        Linter::Latitude => coordinate(data, 1_800_000_000, "latitude"),
        Linter::Longitude => coordinate(data, 3_600_000_000, "longitude"),
        Linter::Mediatype => {
            // 01-10 (ICCBBA) and 80-99 (national use) are assigned.
            if data.len() == 2 && digits(data) && matches!(num(data), 1..=10 | 80..=99) {
                Ok(())
            } else {
                Err("not an AIDC media type".to_owned())
            }
        }
        Linter::Packagetype => {
            let code = std::str::from_utf8(data).unwrap_or_default();
            if PACKAGE_TYPES.binary_search(&code).is_ok() {
                Ok(())
            } else {
                Err(format!("{code:?} is not a package type code"))
            }
        }
        Linter::Pcenc => pcenc(data),
        Linter::Pieceoftotal => pieceoftotal(data),
        Linter::Posinseqslash => posinseqslash(data),
        Linter::Yymmd0 => date6(data, true),
        Linter::Yymmdd => date6(data, false),
        Linter::Yyyymmd0 => date8(data, true),
        Linter::Yyyymmdd => date8(data, false),
        Linter::Couponcode => super::coupon::couponcode(data),
        Linter::Couponposoffer => super::coupon::couponposoffer(data),
    }
}

/// The GS1 mod-10 check digit over all but the last digit.
pub(crate) fn check_digit(body: &[u8]) -> u8 {
    // Weights 3,1,3,... from the right of the body.
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| u32::from(b.wrapping_sub(b'0')) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn csum(data: &[u8]) -> Result<(), String> {
    let Some((&last, body)) = data.split_last() else {
        return Err("too short for a check digit".to_owned());
    };
    need_digits(data)?;
    let want = check_digit(body);
    if last.wrapping_sub(b'0') == want {
        Ok(())
    } else {
        Err(format!("check digit should be {want}"))
    }
}

fn csumalpha(data: &[u8]) -> Result<(), String> {
    const CSET32: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    // 97 primes: enough for the longest AI value (99 characters).
    const PRIMES: [u32; 97] = [
        2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181,
        191, 193, 197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281,
        283, 293, 307, 311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397,
        401, 409, 419, 421, 431, 433, 439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503,
        509,
    ];
    if data.len() < 2 {
        return Err("too short for a check character pair".to_owned());
    }
    let (body, pair) = data.split_at(data.len() - 2);
    if body.len() > PRIMES.len() {
        return Err("too long for a check character pair".to_owned());
    }
    let mut sum: u32 = 0;
    for (i, &b) in body.iter().rev().enumerate() {
        // Weight of a character: its index in character set 82 (in the order
        // of the General Specifications, which is ASCII order).
        let w = cset82_index(b)
            .ok_or_else(|| format!("{} is not in character set 82", printable(b)))?;
        sum += w * PRIMES.get(i).copied().unwrap_or(0);
    }
    let sum = sum % 1021;
    let want = [
        CSET32.get((sum >> 5) as usize).copied().unwrap_or(b'?'),
        CSET32.get((sum & 31) as usize).copied().unwrap_or(b'?'),
    ];
    if pair == want {
        Ok(())
    } else {
        Err(format!(
            "check characters should be {}{}",
            want[0] as char, want[1] as char
        ))
    }
}

fn cset82_index(b: u8) -> Option<u32> {
    if !is_cset82(b) {
        return None;
    }
    // Count the set's members below `b`.
    Some((0x21..b).filter(|&c| is_cset82(c)).count() as u32)
}

/// What the reference linter checks without a registry of allocated
/// prefixes: the first 4 characters (the shortest GS1 company prefix) are
/// digits.
fn gcppos1(data: &[u8]) -> Result<(), String> {
    match data.get(..4) {
        None => Err("too short to hold a GS1 company prefix".to_owned()),
        Some(head) if digits(head) => Ok(()),
        Some(_) => Err("does not start with a GS1 company prefix (4 digits)".to_owned()),
    }
}

fn two_digit(data: &[u8], max: u64, what: &str) -> Result<(), String> {
    if data.len() != 2 {
        return Err(format!("{what} must be 2 digits"));
    }
    need_digits(data)?;
    let v = num(data);
    if v > max {
        Err(format!("{what} {v:02}"))
    } else {
        Ok(())
    }
}

fn one_of(data: &[u8], allowed: &[u8], reason: &str) -> Result<(), String> {
    match data {
        [b] if allowed.contains(b) => Ok(()),
        _ => Err(reason.to_owned()),
    }
}

fn iso3166(data: &[u8]) -> Result<(), String> {
    if data.len() == 3 && digits(data) && ISO3166_NUMERIC.binary_search(&(num(data) as u16)).is_ok()
    {
        Ok(())
    } else {
        Err(format!(
            "{} is not an ISO 3166 country code",
            String::from_utf8_lossy(data)
        ))
    }
}

fn coordinate(data: &[u8], max: u64, what: &str) -> Result<(), String> {
    if data.len() != 10 {
        return Err(format!("{what} must be 10 digits"));
    }
    need_digits(data)?;
    if num(data) > max {
        Err(format!("{what} out of range"))
    } else {
        Ok(())
    }
}

fn iban(data: &[u8]) -> Result<(), String> {
    if data.len() < 4 {
        return Err("too short for an IBAN".to_owned());
    }
    let country = std::str::from_utf8(data.get(..2).unwrap_or_default()).unwrap_or_default();
    if ISO3166_ALPHA2.binary_search(&country).is_err() {
        return Err("IBAN does not start with an ISO 3166 country code".to_owned());
    }
    if data.len() > 34 {
        return Err("too long for an IBAN".to_owned());
    }
    if data.len() <= 10 {
        return Err("too short for an IBAN".to_owned());
    }
    // ISO 13616 mod-97 over the rearranged number (first 4 characters last),
    // letters as 10..35.
    let mut rem: u32 = 0;
    for &b in data.iter().skip(4).chain(data.iter().take(4)) {
        match b {
            b'0'..=b'9' => rem = (rem * 10 + u32::from(b - b'0')) % 97,
            b'A'..=b'Z' => rem = (rem * 100 + u32::from(b - b'A') + 10) % 97,
            _ => return Err(format!("{} is not allowed in an IBAN", printable(b))),
        }
    }
    if rem == 1 {
        Ok(())
    } else {
        Err("IBAN check digits are wrong".to_owned())
    }
}

fn pcenc(data: &[u8]) -> Result<(), String> {
    let mut i = 0;
    while let Some(&b) = data.get(i) {
        if b == b'%' {
            let ok = matches!(
                (data.get(i + 1), data.get(i + 2)),
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit()
            );
            if !ok {
                return Err(format!("invalid percent sequence at character {}", i + 1));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

fn pieceoftotal(data: &[u8]) -> Result<(), String> {
    need_digits(data)?;
    if data.is_empty() || !data.len().is_multiple_of(2) {
        return Err("piece and total must have the same width".to_owned());
    }
    let (piece, total) = data.split_at(data.len() / 2);
    if piece.iter().all(|&b| b == b'0') {
        return Err("piece number is zero".to_owned());
    }
    if total.iter().all(|&b| b == b'0') {
        return Err("total number of pieces is zero".to_owned());
    }
    // Equal widths: byte order is numeric order.
    if piece > total {
        return Err("piece number exceeds the total".to_owned());
    }
    Ok(())
}

fn posinseqslash(data: &[u8]) -> Result<(), String> {
    let malformed = || Err("must be <position>/<end>".to_owned());
    let Some(slash) = data.iter().position(|&b| b == b'/') else {
        return malformed();
    };
    let (pos, end) = (
        data.get(..slash).unwrap_or_default(),
        data.get(slash + 1..).unwrap_or_default(),
    );
    if pos.is_empty() || end.is_empty() || !digits(pos) || !digits(end) {
        return malformed();
    }
    if pos.first() == Some(&b'0') || end.first() == Some(&b'0') {
        return Err("position and end must not start with 0".to_owned());
    }
    if pos.len() > end.len() || (pos.len() == end.len() && pos > end) {
        return Err("position exceeds the end".to_owned());
    }
    Ok(())
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn check_date(year: u64, month: u64, day: u64, day_zero: bool) -> Result<(), String> {
    if !(1..=12).contains(&month) {
        return Err(format!("month {month:02}"));
    }
    if (day == 0 && !day_zero) || day > days_in_month(year, month) {
        return Err(format!("day {day:02} of month {month:02}"));
    }
    Ok(())
}

/// YYMMDD. The century only matters for 29 February; every year of the
/// reference linter's 100-year window around now that is divisible by 4 is
/// a leap year (2000 is), so YY divisible by 4 decides.
fn date6(data: &[u8], day_zero: bool) -> Result<(), String> {
    if data.len() != 6 {
        return Err("date must be YYMMDD".to_owned());
    }
    need_digits(data)?;
    let (yy, mm, dd) = (
        num(data.get(..2).unwrap_or_default()),
        num(data.get(2..4).unwrap_or_default()),
        num(data.get(4..).unwrap_or_default()),
    );
    check_date(2000 + yy, mm, dd, day_zero)
}

fn date8(data: &[u8], day_zero: bool) -> Result<(), String> {
    if data.len() != 8 {
        return Err("date must be YYYYMMDD".to_owned());
    }
    need_digits(data)?;
    let (y, mm, dd) = (
        num(data.get(..4).unwrap_or_default()),
        num(data.get(4..6).unwrap_or_default()),
        num(data.get(6..).unwrap_or_default()),
    );
    check_date(y, mm, dd, day_zero)
}
