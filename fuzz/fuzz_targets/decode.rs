//! Decoding: text and binary forms of a code, and the CBOR payload.
//!
//! Besides "never panics", checks the canonical-form promises of the format:
//! every accepted input has exactly one canonical text and one binary form,
//! both of which decode back to the same code, and an accepted byte string
//! (binary code or payload CBOR) is exactly what re-encoding produces.

#![no_main]

use hallmark::{Extension, Payload, UnverifiedCode};
use libfuzzer_sys::fuzz_target;

/// Crockford's base32 alphabet, as the canonical text uses it.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_text(text);
    }
    check_binary(data);
    check_payload(data);
});

/// `UnverifiedCode::decode`: any accepted spelling has one canonical text.
fn check_text(input: &str) {
    let Ok(code) = UnverifiedCode::decode(input) else {
        return;
    };
    let text = code.to_text();
    assert!(
        !text.is_empty() && text.bytes().all(|b| ALPHABET.contains(&b)),
        "to_text() is not canonical upper-case base32: {text:?}"
    );

    // The canonical text decodes to the same code, with identical bytes.
    let again = UnverifiedCode::decode(&text)
        .unwrap_or_else(|e| panic!("canonical text {text:?} does not decode: {e}"));
    assert_eq!(again, code, "decode(to_text()) differs from the code");
    assert_eq!(again.to_bytes(), code.to_bytes());
    assert_eq!(again.to_text(), text);

    // The binary form round-trips too.
    let bytes = code.to_bytes();
    let from_bin = UnverifiedCode::from_bytes(&bytes)
        .unwrap_or_else(|e| panic!("to_bytes() of a decoded code is refused: {e}"));
    assert_eq!(from_bin, code);

    // Other accepted spellings of the canonical text mean the same code.
    let lower = text.to_ascii_lowercase();
    assert_eq!(UnverifiedCode::decode(&lower).as_ref(), Ok(&code));
    let url = format!("HTTPS://HM.EXAMPLE/C/{text}");
    assert_eq!(UnverifiedCode::decode(&url).as_ref(), Ok(&code));

    // Exactly one accepted string per code: the input, with grouping removed
    // and upper-cased, must already be the canonical text.
    if let Some(normalized) = normalize(input) {
        assert_eq!(
            normalized, text,
            "input {input:?} was accepted but is not a spelling of its canonical text"
        );
    }
}

/// The input's code characters, upper-cased and without grouping: the same
/// spelling rules as the decoder (trim, a scanner's AIM symbology identifier
/// such as `]Q1`, URL last path segment, `-` and space; docs/FORMAT.md
/// section 6). `None` for URL shapes this helper does not model.
fn normalize(input: &str) -> Option<String> {
    let input = input.trim();
    let input = match input.as_bytes() {
        [b']', letter, modifier, ..]
            if letter.is_ascii_alphabetic() && modifier.is_ascii_alphanumeric() =>
        {
            input.get(3..)?.trim_start()
        }
        _ => input,
    };
    let has_prefix = |p: &str| {
        input
            .get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    };
    let part = if has_prefix("https://") || has_prefix("http://") {
        let (_, rest) = input.split_once("://")?;
        rest.rsplit_once('/')?.1
    } else {
        input
    };
    Some(
        part.chars()
            .filter(|c| *c != '-' && *c != ' ')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    )
}

/// `UnverifiedCode::from_bytes`: an accepted byte string is canonical.
fn check_binary(data: &[u8]) {
    let Ok(code) = UnverifiedCode::from_bytes(data) else {
        return;
    };
    assert_eq!(
        code.to_bytes(),
        data,
        "from_bytes accepted non-canonical bytes"
    );
    let text = code.to_text();
    let again = UnverifiedCode::decode(&text)
        .unwrap_or_else(|e| panic!("text of accepted binary code {text:?} does not decode: {e}"));
    assert_eq!(again, code);
    assert_eq!(again.to_bytes(), data);
    check_payload_value(code.payload());
}

/// `Payload::from_cbor`: only the deterministic encoding is accepted.
fn check_payload(data: &[u8]) {
    let Ok(payload) = Payload::from_cbor(data) else {
        return;
    };
    assert_eq!(
        payload.to_cbor(),
        data,
        "from_cbor accepted non-canonical CBOR"
    );
    check_payload_value(&payload);
}

/// A decoded payload re-encodes and decodes to itself, and its extensions
/// are each accepted on their own.
fn check_payload_value(payload: &Payload) {
    let cbor = payload.to_cbor();
    let back = Payload::from_cbor(&cbor)
        .unwrap_or_else(|e| panic!("to_cbor() of a decoded payload is refused: {e}"));
    assert_eq!(&back, payload);
    for ext in payload.extensions() {
        let rebuilt = Extension::from_cbor(ext.key(), &ext.value_cbor()).unwrap_or_else(|e| {
            panic!(
                "extension {} of a decoded payload is refused: {e}",
                ext.key()
            )
        });
        assert_eq!(&rebuilt, ext);
    }
}
