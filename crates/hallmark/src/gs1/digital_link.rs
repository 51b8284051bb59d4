//! GS1 Digital Link URIs: reading (`https://host/stem/01/{gtin}/10/{lot}?17=…`)
//! and writing.
//!
//! Rules follow the GS1 Digital Link standard as GS1's reference engine
//! (gs1-syntax-engine) applies them: the primary key is the rightmost
//! path segment pair naming a `dlpkey` AI, its qualifiers follow in one of
//! the dictionary's orders, query parameters that are AIs must be `?`
//! attributes and not qualifiers that belong in the path, other query
//! parameters and the fragment are ignored.

use super::error::Gs1Error;
use super::table::{AiEntry, lookup};
use super::validate::Builder;

/// The Digital Link standard's short names (deprecated convenience
/// alphas), sorted for binary search.
const SHORT_NAMES: &[(&str, &str)] = &[
    ("cpid", "8010"),
    ("cpsn", "8011"),
    ("cpv", "22"),
    ("gcn", "255"),
    ("gdti", "253"),
    ("giai", "8004"),
    ("ginc", "401"),
    ("gln", "414"),
    ("glnx", "254"),
    ("gmn", "8013"),
    ("grai", "8003"),
    ("gsin", "402"),
    ("gsrn", "8018"),
    ("gsrnp", "8017"),
    ("gtin", "01"),
    ("itip", "8006"),
    ("lot", "10"),
    ("party", "417"),
    ("refno", "8020"),
    ("ser", "21"),
    ("srin", "8019"),
    ("sscc", "00"),
];

fn dl(reason: &'static str) -> Gs1Error {
    Gs1Error::DigitalLink { reason }
}

fn dl_ai(ai: &str, reason: &'static str) -> Gs1Error {
    Gs1Error::DigitalLinkAi {
        ai: ai.to_owned(),
        reason,
    }
}

/// The AI a path segment or query key names: its digits, or a short name.
/// `Ok(None)`: not an AI at all.
fn resolve(name: &str) -> Result<Option<&'static AiEntry>, Gs1Error> {
    if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
        return lookup(name).map(Some).ok_or_else(|| Gs1Error::UnknownAi {
            ai: name.to_owned(),
        });
    }
    Ok(SHORT_NAMES
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .and_then(|i| SHORT_NAMES.get(i))
        .and_then(|(_, ai)| lookup(ai)))
}

/// `http://` or `https://` in any case, and what follows.
pub(crate) fn strip_scheme(s: &str) -> Option<&str> {
    for scheme in ["https://", "http://"] {
        if s.get(..scheme.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(scheme))
        {
            return s.get(scheme.len()..);
        }
    }
    None
}

/// Characters RFC 3986 allows in a URI.
fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

fn percent_decode(s: &str, plus_is_space: bool) -> Result<String, Gs1Error> {
    if !s.contains(['%', '+']) {
        return Ok(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => {
                let hex = |j: usize| b.get(j).and_then(|&h| (h as char).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => return Err(dl("a bad percent-encoding")),
                }
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| dl("percent-encoding that is not UTF-8"))
}

/// Whether `qualifiers` appear in `sequence` in its order.
fn in_order(qualifiers: &[&str], sequence: &[&str]) -> bool {
    let mut rest = sequence.iter();
    qualifiers.iter().all(|q| rest.any(|s| s == q))
}

/// The AI of a `/{ai}/` key segment followed by a value, when the value can
/// be that key: used by [`super::is_gs1_input`], so it allocates nothing.
fn plausible_key(name: &str, value: &str) -> bool {
    let entry = if name.bytes().all(|b| b.is_ascii_digit()) {
        lookup(name)
    } else {
        SHORT_NAMES
            .binary_search_by(|(n, _)| n.cmp(&name))
            .ok()
            .and_then(|i| SHORT_NAMES.get(i))
            .and_then(|(_, ai)| lookup(ai))
    };
    let Some(entry) = entry.filter(|e| e.dlpkey.is_some()) else {
        return false;
    };
    if value.is_empty() {
        return false;
    }
    let numeric = entry
        .components
        .iter()
        .all(|c| c.cset == super::table::Cset::N);
    if !numeric {
        return true;
    }
    let (min, max) = entry.len_range();
    let len = value.len();
    value.bytes().all(|b| b.is_ascii_digit())
        && ((min..=max).contains(&len) || (entry.ai == "01" && matches!(len, 8 | 12 | 13)))
}

/// Longest AI value of the dictionary (91-99: X..90).
const MAX_VALUE_LEN: usize = 90;

/// Whether an http(s) URL's path ends in Digital Link segment pairs: read
/// from the right, each pair an AI (or short name) and a value of at most
/// 90 characters (a `%XX` counting one), up to a primary key whose value
/// fits it. A v1 verification URL ends in its code, at least 112 characters
/// without `%`: never a value, so never a Digital Link.
pub(crate) fn looks_like_digital_link(after_scheme: &str) -> bool {
    let end = after_scheme.find(['?', '#']).unwrap_or(after_scheme.len());
    let Some((_host, path)) = after_scheme.get(..end).and_then(|s| s.split_once('/')) else {
        return false;
    };
    let mut segments = path.rsplit('/');
    while let (Some(value), Some(name)) = (segments.next(), segments.next()) {
        let decoded_len = value.len().saturating_sub(2 * value.matches('%').count());
        if value.is_empty() || decoded_len > MAX_VALUE_LEN {
            return false;
        }
        if plausible_key(name, value) {
            return true;
        }
        let names_an_ai = if name.bytes().all(|b| b.is_ascii_digit()) {
            lookup(name).is_some()
        } else {
            SHORT_NAMES.binary_search_by(|(n, _)| n.cmp(&name)).is_ok()
        };
        if !names_an_ai {
            return false;
        }
    }
    false
}

/// Reads a Digital Link URI.
pub(crate) fn parse(s: &str) -> Result<Vec<(String, String)>, Gs1Error> {
    if let Some(p) = s.bytes().position(|b| !is_uri_char(b)) {
        return Err(Gs1Error::Syntax {
            reason: "a character not allowed in a URI",
            position: s.get(..p).map_or(p, |h| h.chars().count()) + 1,
        });
    }
    let rest = strip_scheme(s).ok_or_else(|| dl("not an http(s) URI"))?;
    let rest = rest.split_once('#').map_or(rest, |(r, _fragment)| r);
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (host, path) = rest.split_once('/').ok_or_else(|| dl("no path"))?;
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    {
        return Err(dl("a bad host"));
    }
    let segments: Vec<&str> = path.split('/').collect();
    if segments.last().is_some_and(|s| s.is_empty()) {
        return Err(dl("the path ends in '/'"));
    }
    // The primary key: the rightmost segment, at an even distance from the
    // end, that names a primary-key AI (a stem may hold anything, even an AI).
    let n = segments.len();
    let (key_at, key) = (0..n / 2)
        .map(|k| n - 2 - 2 * k)
        .find_map(|i| {
            let name = segments.get(i)?;
            match resolve(name) {
                Ok(Some(e)) if e.dlpkey.is_some() => Some(Ok((i, e))),
                _ => None,
            }
        })
        .ok_or_else(|| dl("no primary key in the path"))??;
    let alternatives = key.dlpkey.unwrap_or_default();
    let mut builder = Builder::new();
    let mut qualifiers: Vec<&'static str> = Vec::new();
    let mut pairs = segments.get(key_at..).unwrap_or_default().chunks_exact(2);
    for pair in pairs.by_ref() {
        let [name, raw] = pair else { continue };
        let entry = match resolve(name)? {
            Some(e) => e,
            None => return Err(dl("a path segment that is not an AI")),
        };
        if entry.ai != key.ai {
            qualifiers.push(entry.ai);
        }
        if raw.is_empty() {
            return Err(Gs1Error::InvalidValue {
                ai: entry.ai.to_owned(),
                reason: "empty value".to_owned(),
            });
        }
        let mut value = percent_decode(raw, false)?;
        // GTIN-8, -12 and -13 are written as GTIN-14 with leading zeros.
        if entry.ai == "01"
            && matches!(value.len(), 8 | 12 | 13)
            && value.bytes().all(|b| b.is_ascii_digit())
        {
            value = format!("{value:0>14}");
        }
        builder.push(entry, &value)?;
    }
    // The key itself first, then qualifiers in one of its orders.
    let compatible: Vec<&[&str]> = alternatives
        .iter()
        .copied()
        .filter(|seq| in_order(&qualifiers, seq))
        .collect();
    if compatible.is_empty() {
        return Err(dl_ai(
            key.ai,
            "qualifiers that this key does not take, or out of order",
        ));
    }
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let Some((name, raw)) = param.split_once('=') else {
            continue;
        };
        let Some(entry) = resolve(name)? else {
            continue;
        };
        if !entry.dl_attr {
            return Err(dl_ai(entry.ai, "not allowed as a Digital Link attribute"));
        }
        if compatible.iter().any(|seq| seq.contains(&entry.ai)) {
            return Err(dl_ai(entry.ai, "a key qualifier belongs in the path"));
        }
        builder.push(entry, &percent_decode(raw, true)?)?;
    }
    builder.finish()
}

fn percent_encode(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            for nibble in [b >> 4, b & 15] {
                out.push(char::from(
                    HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
                ));
            }
        }
    }
}

/// Writes a Digital Link URI: the first primary key in stored order and the
/// qualifiers of its order that covers most of the data in the path, every
/// other AI as a query attribute in stored order.
pub(crate) fn write(elements: &[(String, String)], stem: &str) -> Result<String, Gs1Error> {
    let stem = stem.trim_end_matches('/');
    if strip_scheme(stem).is_none_or(|rest| rest.is_empty() || rest.contains(['?', '#'])) {
        return Err(dl(
            "the stem must be an http(s) URL without query or fragment",
        ));
    }
    let (key_index, key) = elements
        .iter()
        .enumerate()
        .find_map(|(i, (ai, _))| lookup(ai).filter(|e| e.dlpkey.is_some()).map(|e| (i, e)))
        .ok_or_else(|| dl("the data holds no Digital Link primary key"))?;
    let present = |ai: &str| elements.iter().any(|(a, _)| a == ai);
    // The order covering most of the data; the first of equals.
    let mut sequence: &[&str] = &[];
    let mut best = 0;
    for seq in key.dlpkey.unwrap_or_default() {
        let count = seq.iter().filter(|q| present(q)).count();
        if count > best {
            (sequence, best) = (seq, count);
        }
    }
    let mut out = String::with_capacity(stem.len() + 64);
    out.push_str(stem);
    let mut in_path = vec![key_index];
    let segment = |out: &mut String, ai: &str, value: &str| {
        out.push('/');
        out.push_str(ai);
        out.push('/');
        percent_encode(out, value);
    };
    if let Some((ai, value)) = elements.get(key_index) {
        segment(&mut out, ai, value);
    }
    for q in sequence {
        if let Some(i) = elements.iter().position(|(a, _)| a == q) {
            if let Some((ai, value)) = elements.get(i) {
                segment(&mut out, ai, value);
            }
            in_path.push(i);
        }
    }
    let mut first = true;
    for (i, (ai, value)) in elements.iter().enumerate() {
        if in_path.contains(&i) {
            continue;
        }
        if !lookup(ai).is_some_and(|e| e.dl_attr) {
            return Err(dl_ai(ai, "not allowed as a Digital Link attribute"));
        }
        out.push(if first { '?' } else { '&' });
        first = false;
        out.push_str(ai);
        out.push('=');
        percent_encode(&mut out, value);
    }
    Ok(out)
}
