//! Verification against a fixed trust store of one key.
//!
//! Every UTF-8 input goes to `TrustStore::verify_signature_only`, which must never panic, and
//! to a second store with its tables of multiples built
//! (`TrustStore::precompute`): both must give the same answer, and so must
//! `Verifier::verify_batch` on the second store (tables, one inversion per slice).
//!
//! Structured mode (first byte odd): mint a genuine code with the fuzz key,
//! check that it and its other accepted spellings verify, then apply edits
//! chosen by the input and check that an edited code verifies only if it is
//! still a spelling of the same code (same canonical text). A changed code
//! must never verify.
//!
//! Structured input layout:
//!
//! ```text
//! byte 0        mode: odd = structured; the other bits pick a spelling to check
//! bytes 1..9    serial, little-endian (missing bytes are zero)
//! bytes 9..11   date of manufacture, days since 1970-01-01, little-endian
//! bytes 11..    edits, 4 bytes each: op, position (u16 little-endian), argument
//! ```

#![no_main]

use std::sync::OnceLock;

use hallmark::{
    Date, Error, Payload, TrustStore, TrustedKey, UnverifiedCode, Verified,
    Verifier,
};
use hallmark_issuer::{SecretKey, mint, public_file_text};
use libfuzzer_sys::fuzz_target;

/// Crockford's base32 alphabet, as the canonical text uses it.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Most edits applied to one minted code.
const MAX_EDITS: usize = 16;

struct Fixture {
    key: SecretKey,
    trust: TrustStore,
    /// The same key, with its tables of multiples built.
    fast: TrustStore,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = SecretKey::from_seed("fuzz", &[7u8; 32]).expect("fuzz key");
        let toml = format!("[[key]]\n{}", public_file_text("fuzz", &key.public_key()));
        let trust = TrustStore::from_toml(&toml).expect("fuzz trust store");
        let mut built = TrustStore::new();
        built
            .add(TrustedKey::new("fuzz", key.public_key(), None, None).expect("trusted key"))
            .expect("add key");
        assert_eq!(trust, built, "TOML and programmatic trust stores differ");
        // A separate store (clones share their tables).
        let fast = TrustStore::from_toml(&toml).expect("fuzz trust store");
        fast.precompute();
        Fixture { key, trust, fast }
    })
}

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    if let Ok(input) = std::str::from_utf8(data) {
        check_plain(fx, input);
    }
    if data.first().is_some_and(|b| b & 1 == 1) {
        check_structured(fx, data);
    }
});

/// Arbitrary input: no panic, and anything that verifies is a well-formed code.
fn check_plain(fx: &Fixture, input: &str) {
    let today = Date::from_days(20_000).expect("date");
    let verified = verify(fx, input);
    let verified_on = fx.trust.verify_on(input, today);
    if verified.is_err() {
        assert!(
            verified_on.is_err(),
            "verify_on accepted what verify refused"
        );
    }
    if let Ok(v) = verified {
        let code = UnverifiedCode::decode(input).expect("verified input decodes");
        assert_eq!(v.to_text(), code.to_text());
        assert_eq!(v.payload(), code.payload());
        assert_eq!(v.kid(), fx.key.kid());
        assert_eq!(v.key_name(), "fuzz");
        assert!(
            verify(fx, &v.to_text()).is_ok(),
            "canonical text of a verified code fails"
        );
    }
}

/// Takes `N` bytes from the front of `data`, zero-padded.
fn take<const N: usize>(data: &mut &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = data.len().min(N);
    let (head, tail) = data.split_at(n);
    out[..n].copy_from_slice(head);
    *data = tail;
    out
}

fn check_structured(fx: &Fixture, data: &[u8]) {
    let mut rest = data.get(1..).unwrap_or_default();
    let serial = u64::from_le_bytes(take::<8>(&mut rest));
    let days = u16::from_le_bytes(take::<2>(&mut rest));
    let date = Date::from_days(u64::from(days)).expect("a u16 day count is a valid date");
    let payload = Payload::new(serial, "DRN-2980", "L231212-01", date).expect("payload");
    let original = mint(&fx.key, &payload).expect("mint");

    // The genuine code verifies, in every accepted spelling.
    let verified = fx
        .trust
        .verify_signature_only(&original)
        .unwrap_or_else(|e| panic!("a freshly minted code fails: {e}\n{original}"));
    assert_eq!(verified.payload(), &payload);
    assert_eq!(
        verified.to_text(),
        original,
        "mint() output is not canonical"
    );
    // One accepted spelling per run (bits 1.. of the mode byte pick it), to
    // keep each run at a few signature checks.
    let spellings = spellings(&original);
    let pick = usize::from(data.first().copied().unwrap_or(0) >> 1) % spellings.len();
    if let Some(spelling) = spellings.get(pick) {
        assert!(
            verify(fx, spelling).is_ok(),
            "an accepted spelling of a genuine code fails: {spelling:?}"
        );
    }

    // Edit it, and check the edited code verifies only if it is the same code.
    let mut chars: Vec<char> = original.chars().collect();
    for edit in rest.chunks(4).take(MAX_EDITS) {
        let [op, lo, hi, arg] = [0, 1, 2, 3].map(|i| edit.get(i).copied().unwrap_or(0));
        apply_edit(
            &mut chars,
            op,
            usize::from(u16::from_le_bytes([lo, hi])),
            arg,
        );
    }
    let mutated: String = chars.into_iter().collect();
    let same_code = UnverifiedCode::decode(&mutated).is_ok_and(|c| c.to_text() == original);
    match verify(fx, &mutated) {
        Ok(v) => assert!(
            same_code,
            "a mutated code verified!\noriginal: {original}\nmutated:  {mutated:?}\nverified as: {}",
            v.to_text()
        ),
        Err(e) => assert!(
            !same_code,
            "a spelling of a genuine code was refused: {e}\noriginal: {original}\nmutated:  {mutated:?}"
        ),
    }
}

/// Spellings the decoder must accept for the same code: lower case, `-` and
/// space grouping, surrounding whitespace, and the URL form in either case.
fn spellings(text: &str) -> Vec<String> {
    let grouped = |sep: char, lower: bool| -> String {
        let mut out = String::with_capacity(text.len() * 5 / 4);
        for (i, c) in text.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(sep);
            }
            out.push(if lower { c.to_ascii_lowercase() } else { c });
        }
        out
    };
    vec![
        text.to_ascii_lowercase(),
        grouped('-', false),
        grouped('-', true),
        grouped(' ', false),
        format!("  {text}\r\n"),
        format!("HTTPS://HM.EXAMPLE/C/{text}"),
        format!("https://hm.example/c/{}", text.to_ascii_lowercase()),
    ]
}

/// Applies one edit at `pos` (taken modulo the length where it must be in range).
fn apply_edit(chars: &mut Vec<char>, op: u8, pos: usize, arg: u8) {
    let len = chars.len();
    let alphabet_char = |i: u8| char::from(ALPHABET[usize::from(i % 32)]);
    match op % 8 {
        // Replace one character with a different base32 character.
        0 if len > 0 => {
            let i = pos % len;
            let current = chars[i].to_ascii_uppercase();
            let base = ALPHABET
                .iter()
                .position(|&a| char::from(a) == current)
                .unwrap_or(0);
            let offset = 1 + usize::from(arg) % 31;
            chars[i] = char::from(ALPHABET[(base + offset) % 32]);
        }
        // Flip one bit of the 5 a character carries.
        1 if len > 0 => {
            let i = pos % len;
            let current = chars[i].to_ascii_uppercase();
            if let Some(base) = ALPHABET.iter().position(|&a| char::from(a) == current) {
                chars[i] = char::from(ALPHABET[base ^ (1 << (arg % 5))]);
            }
        }
        // Truncate.
        2 => chars.truncate(pos % (len + 1)),
        // Append a base32 character.
        3 => chars.push(alphabet_char(arg)),
        // Insert any character (grouping, lower case, junk; Latin-1 range).
        4 => chars.insert(pos % (len + 1), char::from(arg)),
        // Remove one character.
        5 if len > 0 => {
            chars.remove(pos % len);
        }
        // Swap two neighbours.
        6 if len > 1 => chars.swap(pos % (len - 1), pos % (len - 1) + 1),
        // Lower-case one character (not a change of the code).
        7 if len > 0 => {
            let i = pos % len;
            chars[i] = chars[i].to_ascii_lowercase();
        }
        _ => {}
    }
}

/// `TrustStore::verify_signature_only` without and with the tables of multiples, which must
/// agree; and, for inputs that decode, bulk verification (tables, one
/// inversion for the slice) agrees too.
fn verify(fx: &Fixture, input: &str) -> Result<Verified, Error> {
    let plain = fx.trust.verify_signature_only(input);
    assert_eq!(fx.fast.verify_signature_only(input), plain, "tables disagree with verify_strict");
    if UnverifiedCode::decode(input).is_ok() {
        let today = Date::from_days(20_000).expect("date");
        let single = Verifier::new(&fx.trust, today).verify(input);
        // The fast store's tables are built, so a short slice uses them.
        let bulk = Verifier::new(&fx.fast, today).verify_batch([input, input]);
        assert!(bulk.iter().all(|v| *v == single), "bulk disagrees with single");
    }
    plain
}
