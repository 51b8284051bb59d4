//! Reading element strings (GS or `^` separators) and bracketed HRI.

use super::error::Gs1Error;
use super::table::{AiEntry, lookup, lookup_prefix};
use super::validate::Builder;

fn syntax(reason: &'static str, position: usize) -> Gs1Error {
    Gs1Error::Syntax { reason, position }
}

/// No AI value is anything but ASCII, so refusing the rest up front lets
/// every later slice be by byte.
fn require_ascii(s: &str, offset: usize) -> Result<(), Gs1Error> {
    match s.bytes().position(|b| !b.is_ascii()) {
        Some(p) => Err(syntax(
            "a character outside ASCII",
            offset + s.get(..p).map_or(p, |h| h.chars().count()) + 1,
        )),
        None => Ok(()),
    }
}

/// The AI at the start of `b`, or why there is none.
fn read_ai(b: &[u8], position: usize) -> Result<&'static AiEntry, Gs1Error> {
    if let Some(e) = lookup_prefix(b) {
        return Ok(e);
    }
    let digits = b.iter().take(4).take_while(|c| c.is_ascii_digit()).count();
    if digits < 2 {
        return Err(syntax("expected an AI (2 to 4 digits)", position));
    }
    Err(Gs1Error::UnknownAi {
        ai: String::from_utf8_lossy(b.get(..digits).unwrap_or_default()).into_owned(),
    })
}

/// Reads an element string whose FNC1 in first position is already
/// stripped: AIs and values, `sep` after each variable-length value that is
/// not last. A predefined-length value is cut at its length, a variable one
/// runs to the next `sep`; a missing separator is never guessed (the value
/// is then too long for its AI). `offset` is the input's characters before
/// `s`, for error positions.
pub(crate) fn element_string(
    s: &str,
    sep: u8,
    offset: usize,
) -> Result<Vec<(String, String)>, Gs1Error> {
    require_ascii(s, offset)?;
    let b = s.as_bytes();
    let mut builder = Builder::new();
    let mut i = 0;
    // A separator is tolerated where none is needed: after a
    // predefined-length value (as GS1's reference engine).
    let mut sep_optional = false;
    while let Some(&c) = b.get(i) {
        if c == sep {
            if sep_optional {
                i += 1;
                sep_optional = false;
                continue;
            }
            return Err(syntax("separator where an AI was expected", offset + i + 1));
        }
        let entry = read_ai(b.get(i..).unwrap_or_default(), offset + i + 1)?;
        i += entry.ai.len();
        let rest = b.get(i..).unwrap_or_default();
        let len = if entry.predefined {
            let (_, max) = entry.len_range();
            rest.iter().take(max).take_while(|&&c| c != sep).count()
        } else {
            rest.iter().take_while(|&&c| c != sep).count()
        };
        let value = s.get(i..i + len).unwrap_or_default();
        if value.is_empty() {
            return Err(Gs1Error::InvalidValue {
                ai: entry.ai.to_owned(),
                reason: "empty value".to_owned(),
            });
        }
        builder.push(entry, value)?;
        i += len;
        if entry.predefined {
            sep_optional = true;
        } else if b.get(i) == Some(&sep) {
            // The separator ends this value; one more right after it is an
            // error (an empty AI), one at the very end is tolerated.
            i += 1;
            sep_optional = false;
        }
    }
    if builder.is_empty() {
        return Err(syntax("no AI after the FNC1", offset + 1));
    }
    builder.finish()
}

/// Reads bracketed HRI, `(01)…(10)…`; `\(` in a value is a literal `(`.
pub(crate) fn hri(s: &str, offset: usize) -> Result<Vec<(String, String)>, Gs1Error> {
    require_ascii(s, offset)?;
    let b = s.as_bytes();
    let mut builder = Builder::new();
    let mut i = 0;
    let mut value = String::new();
    while i < b.len() {
        if b.get(i) != Some(&b'(') {
            return Err(syntax("expected '(' and an AI", offset + i + 1));
        }
        let close = b
            .iter()
            .skip(i + 1)
            .take(5)
            .position(|&c| c == b')')
            .ok_or_else(|| syntax("an AI not closed by ')'", offset + i + 1))?;
        let ai = s.get(i + 1..i + 1 + close).unwrap_or_default();
        if !(2..=4).contains(&ai.len()) || !ai.bytes().all(|c| c.is_ascii_digit()) {
            return Err(syntax("an AI is 2 to 4 digits", offset + i + 2));
        }
        let entry = lookup(ai).ok_or_else(|| Gs1Error::UnknownAi { ai: ai.to_owned() })?;
        i += close + 2;
        value.clear();
        while let Some(&c) = b.get(i) {
            match c {
                b'(' => break,
                b'\\' if b.get(i + 1) == Some(&b'(') => {
                    value.push('(');
                    i += 2;
                }
                _ => {
                    value.push(char::from(c));
                    i += 1;
                }
            }
        }
        if value.is_empty() {
            return Err(Gs1Error::InvalidValue {
                ai: entry.ai.to_owned(),
                reason: "empty value".to_owned(),
            });
        }
        builder.push(entry, &value)?;
    }
    builder.finish()
}
