//! Deterministic CBOR, read and written: the one place the format's CBOR rules
//! live (every signed document is deterministic CBOR, RFC 8949 §4.2.1).

use ciborium::Value;

use crate::Date;
use crate::error::PayloadError;
use crate::payload::check_label;

mod reader;

/// Appends the head of a CBOR item (major type and argument) in its shortest
/// form; for major type 0 this is the whole encoding of an unsigned integer.
pub(crate) fn push_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// Major type of maps.
pub(crate) const MAJOR_MAP: u8 = 5;

/// Longest encoding of an unsigned integer (`0x1b` and 8 bytes).
pub(crate) const MAX_UINT_LEN: usize = 9;

pub(crate) fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and every Value we hold is serialisable.
    let _ = ciborium::into_writer(value, &mut out);
    out
}

/// Parses exactly one CBOR item that fills `bytes` and is in deterministic form
/// (docs/FORMAT.md §4.1, §8.2 steps 1-4).
pub(crate) fn parse_canonical(bytes: &[u8]) -> Result<Value, PayloadError> {
    let read = reader::read(bytes)?;
    if read.used < bytes.len() {
        return Err(PayloadError::TrailingBytes {
            count: bytes.len() - read.used,
        });
    }
    // The reader judges heads, lengths, floats and bignums byte by byte;
    // re-encoding must then give the input back. Map order and duplicates
    // survive re-encoding, so they are checked apart.
    if !read.canonical || to_vec(&read.value) != bytes {
        return Err(PayloadError::NonCanonical);
    }
    check_map_order(&read.value)?;
    Ok(read.value)
}

/// Checks that every map, at any depth, has strictly ascending keys in the
/// bytewise order of their encodings (RFC 8949 §4.2.1), with no duplicates.
fn check_map_order(value: &Value) -> Result<(), PayloadError> {
    match value {
        Value::Map(entries) => {
            for pair in entries.windows(2) {
                if let [(a, _), (b, _)] = pair {
                    let (ea, eb) = (to_vec(a), to_vec(b));
                    if ea == eb {
                        return Err(PayloadError::DuplicateKey {
                            key: as_u64(b).unwrap_or(0),
                        });
                    }
                    if ea > eb {
                        return Err(match (as_u64(a), as_u64(b)) {
                            (Some(previous), Some(key)) => {
                                PayloadError::UnsortedKeys { key, previous }
                            }
                            _ => PayloadError::NonCanonical,
                        });
                    }
                }
            }
            entries.iter().try_for_each(|(k, v)| {
                check_map_order(k)?;
                check_map_order(v)
            })
        }
        Value::Array(items) => items.iter().try_for_each(check_map_order),
        Value::Tag(_, inner) => check_map_order(inner),
        _ => Ok(()),
    }
}

pub(crate) fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Integer(i) => u64::try_from(*i).ok(),
        _ => None,
    }
}

pub(crate) fn int(n: u64) -> Value {
    Value::Integer(n.into())
}

pub(crate) fn field(entries: &[(Value, Value)], key: u64) -> Option<&Value> {
    entries
        .iter()
        .find(|(k, _)| as_u64(k) == Some(key))
        .map(|(_, v)| v)
}

pub(crate) fn uint(
    entries: &[(Value, Value)],
    key: u64,
    name: &'static str,
) -> Result<u64, PayloadError> {
    match field(entries, key) {
        None => Err(PayloadError::MissingField(name)),
        Some(v) => as_u64(v).ok_or(PayloadError::WrongType {
            field: name,
            expected: "an unsigned integer",
        }),
    }
}

pub(crate) fn text(
    entries: &[(Value, Value)],
    key: u64,
    name: &'static str,
) -> Result<String, PayloadError> {
    match field(entries, key) {
        None => Err(PayloadError::MissingField(name)),
        Some(Value::Text(s)) => {
            check_label(name, s)?;
            Ok(s.clone())
        }
        Some(_) => Err(PayloadError::WrongType {
            field: name,
            expected: "a text string",
        }),
    }
}

pub(crate) fn date(days: u64, name: &'static str) -> Result<Date, PayloadError> {
    Date::from_days(days).ok_or(PayloadError::InvalidValue {
        field: name,
        reason: "after 9999-12-31",
    })
}

/// Refuses a map of `document` with a key above `max` (`invalid-value`) or a
/// key that is not an unsigned integer (`key-not-unsigned`).
pub(crate) fn only_keys(
    entries: &[(Value, Value)],
    max: u64,
    document: &'static str,
) -> Result<(), PayloadError> {
    for (k, _) in entries {
        match as_u64(k) {
            Some(k) if k <= max => {}
            Some(_) => {
                return Err(PayloadError::InvalidValue {
                    field: document,
                    reason: "unknown field",
                });
            }
            None => return Err(PayloadError::KeyNotUnsigned),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `push_head` writes what the CBOR library writes, at every length boundary.
    #[test]
    fn push_head_matches_the_library() {
        for n in [
            0,
            1,
            23,
            24,
            255,
            256,
            65_535,
            65_536,
            u64::from(u32::MAX),
            1 << 32,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            push_head(&mut out, 0, n);
            assert_eq!(out, to_vec(&Value::Integer(n.into())), "{n}");
            assert!(out.len() <= MAX_UINT_LEN);
        }
        for len in [0usize, 23, 24, 300] {
            let map = Value::Map(vec![(Value::Integer(0.into()), Value::Null); len]);
            let mut out = Vec::new();
            push_head(&mut out, MAJOR_MAP, len as u64);
            assert!(to_vec(&map).starts_with(&out), "{len}");
        }
    }
}
