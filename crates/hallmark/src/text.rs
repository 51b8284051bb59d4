//! The text form: Crockford base32, upper case, no padding; plus the accepted
//! input spellings (lower case, `-` and space grouping, the URL form).

use crate::error::{DecodeError, Document, Error};
use crate::{MAX_CODE_BYTES, MAX_INPUT_LEN};

/// Crockford's base32 alphabet: digits and upper-case letters without I, L, O, U.
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Whether each byte is a character of [`ALPHABET`] (a table, not a search:
/// this check runs on every character of every code verified).
// Evaluated at compile time: an index out of range would fail the build.
#[allow(clippy::indexing_slicing)]
const IN_ALPHABET: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = true;
        i += 1;
    }
    table
};

/// The most base32 characters a code of [`MAX_CODE_BYTES`] bytes takes.
pub(crate) const MAX_TEXT_LEN: usize = (MAX_CODE_BYTES * 8).div_ceil(5);

/// Encodes bytes as canonical text: upper case, no padding, no grouping.
pub(crate) fn encode(bytes: &[u8]) -> String {
    base32::encode(base32::Alphabet::Crockford, bytes)
}

/// Extracts the code part of an input: the whole input, or the last path segment
/// of an `http://` or `https://` URL. Surrounding whitespace is ignored.
fn code_part(input: &str) -> Result<&str, Error> {
    let input = strip_symbology_id(input.trim());
    let lower_prefix = |p: &str| {
        input
            .get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
    };
    if !(lower_prefix("https://") || lower_prefix("http://")) {
        return Ok(input);
    }
    if input.contains(['?', '#']) {
        return Err(DecodeError::InvalidUrl {
            reason: "a verification URL has no query or fragment",
        }
        .into());
    }
    let after_scheme = input.split_once("://").map_or("", |(_, rest)| rest);
    match after_scheme.rsplit_once('/') {
        Some((_host_and_path, last)) if !last.is_empty() => Ok(last),
        _ => Err(DecodeError::InvalidUrl {
            reason: "the code must be the last path segment",
        }
        .into()),
    }
}

/// Strips an AIM symbology identifier that scanners may prefix (`]` + a letter
/// + a digit or letter, e.g. `]Q1` for QR, `]d2` for Data Matrix).
fn strip_symbology_id(input: &str) -> &str {
    let b = input.as_bytes();
    match b {
        [b']', letter, modifier, ..]
            if letter.is_ascii_alphabetic() && modifier.is_ascii_alphanumeric() =>
        {
            input.get(3..).unwrap_or(input).trim_start()
        }
        _ => input,
    }
}

/// Normalises an input spelling to canonical base32 characters (no decoding).
///
/// Accepts lower case, `-` and space as grouping, and the URL form; refuses any
/// other character, naming it and its position.
pub(crate) fn normalize(input: &str) -> Result<String, Error> {
    if input.len() > MAX_INPUT_LEN {
        return Err(DecodeError::TooLong {
            document: Document::Code,
            len: input.len(),
            max: MAX_INPUT_LEN,
        }
        .into());
    }
    let part = code_part(input)?;
    let mut out = String::with_capacity(part.len());
    for (position, ch) in part.chars().enumerate() {
        if ch == '-' || ch == ' ' {
            continue;
        }
        let up = ch.to_ascii_uppercase();
        if !up.is_ascii() || !IN_ALPHABET.get(up as usize).copied().unwrap_or(false) {
            return Err(Error::Decode(DecodeError::InvalidCharacter {
                ch,
                position,
            }));
        }
        out.push(up);
    }
    if out.is_empty() {
        return Err(DecodeError::Empty.into());
    }
    if out.len() > MAX_TEXT_LEN {
        return Err(DecodeError::TooLong {
            document: Document::Code,
            len: out.len(),
            max: MAX_TEXT_LEN,
        }
        .into());
    }
    Ok(out)
}

/// Decodes any accepted spelling to bytes, refusing every non-canonical one.
pub(crate) fn decode(input: &str) -> Result<Vec<u8>, Error> {
    let text = normalize(input)?;
    // 8 characters hold 5 bytes; remainders of 1, 3 or 6 characters hold no whole byte.
    if matches!(text.len() % 8, 1 | 3 | 6) {
        return Err(Error::Decode(DecodeError::InvalidLength {
            len: text.len(),
        }));
    }
    let bytes = base32::decode(base32::Alphabet::Crockford, &text)
        .ok_or(DecodeError::InvalidLength { len: text.len() })?;
    // The base32 crate ignores the unused low bits of the last character; a code
    // has exactly one spelling, so those bits must be zero.
    if encode(&bytes) != text {
        return Err(DecodeError::NonCanonicalText.into());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_spellings() {
        let bytes = [0x01, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x7f];
        let text = encode(&bytes);
        assert_eq!(decode(&text).ok(), Some(bytes.to_vec()));
        assert_eq!(decode(&text.to_lowercase()).ok(), Some(bytes.to_vec()));
        let grouped: String = text
            .chars()
            .enumerate()
            .flat_map(|(i, c)| (i > 0 && i % 4 == 0).then_some('-').into_iter().chain([c]))
            .collect();
        assert_eq!(decode(&grouped).ok(), Some(bytes.to_vec()));
        assert_eq!(decode(&format!("  {text}\r\n")).ok(), Some(bytes.to_vec()));
        assert_eq!(decode(&format!("]Q1{text}")).ok(), Some(bytes.to_vec()));
        assert_eq!(decode(&format!("]d2 {text}")).ok(), Some(bytes.to_vec()));
        let url = format!("HTTPS://HM.EXAMPLE/C/{text}");
        assert_eq!(decode(&url).ok(), Some(bytes.to_vec()));
        assert_eq!(decode(&url.to_lowercase()).ok(), Some(bytes.to_vec()));
    }

    #[test]
    fn refusals() {
        assert_eq!(decode(""), Err(DecodeError::Empty.into()));
        assert_eq!(decode(" - - "), Err(DecodeError::Empty.into()));
        assert!(matches!(
            decode("0O"),
            Err(Error::Decode(DecodeError::InvalidCharacter {
                ch: 'O',
                position: 1
            }))
        ));
        assert!(matches!(
            decode("ABCU"),
            Err(Error::Decode(DecodeError::InvalidCharacter {
                ch: 'U',
                position: 3
            }))
        ));
        assert!(matches!(
            decode("AB\u{e9}"),
            Err(Error::Decode(DecodeError::InvalidCharacter { .. }))
        ));
        assert!(matches!(
            decode("A"),
            Err(Error::Decode(DecodeError::InvalidLength { len: 1 }))
        ));
        // "01" decodes to one byte 0x00 plus stray bits 00001.
        assert_eq!(decode("01"), Err(DecodeError::NonCanonicalText.into()));
        assert_eq!(decode("00").ok(), Some(vec![0]));
        assert!(matches!(
            decode("https://x/c/A?x"),
            Err(Error::Decode(DecodeError::InvalidUrl { .. }))
        ));
        assert!(matches!(
            decode("https://x/c/"),
            Err(Error::Decode(DecodeError::InvalidUrl { .. }))
        ));
        let huge = "0".repeat(1 << 20);
        assert!(matches!(
            decode(&huge),
            Err(Error::Decode(DecodeError::TooLong { .. }))
        ));
        let long = "0".repeat(MAX_TEXT_LEN + 8);
        assert!(matches!(
            decode(&long),
            Err(Error::Decode(DecodeError::TooLong { .. }))
        ));
    }
}
