//! Claim codes for warranty registration (issue 16).
//!
//! Each unit gets a short secret printed inside its package. The first owner
//! types it to register the unit; the server checks it by deriving it again.
//! A claim code is derived from a separate [`ClaimKey`] and the unit's
//! identity text (`code:KID:SERIAL`, `gs1:GTIN:SERIAL`, as
//! `hallmark::aggregation::UnitId` displays it):
//!
//! ```text
//! BLAKE3-keyed(derive_key("hallmark v1 claim code", claim key), unit) -> first 60 bits
//! ```
//!
//! printed as 12 Crockford base32 characters and Crockford's mod-37 check
//! character, grouped `XXXX-XXXX-XXXX-C`. The code on the label reveals
//! nothing about the claim code (it is a keyed hash).
//!
//! **Size and guessing bound.** A claim code holds 60 bits: 2^60 ≈ 1.15e18
//! possible values for each unit. The server allows at most 5 failed claims
//! per unit per hour, so an attacker gets 5 guesses an hour per unit: the
//! chance of guessing one unit's claim code in a year is about
//! 5 × 24 × 365 / 2^60 ≈ 4e-14. A typo in the check character is reported
//! apart ([`ClaimCodeError::Typo`]) and is not counted as a guess.
//!
//! Leaking the claim key lets someone compute every unit's claim code and
//! pre-register units; it does not let anyone forge hallmark codes (those
//! need the signing key).

use std::fmt;
use std::path::Path;

use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::keys::{check_private, read_limited, write_new};

/// First line of a claim key file.
pub const CLAIM_KEY_MAGIC: &str = "# hallmark claim key v1";

/// The BLAKE3 `derive_key` context of claim codes.
pub const CLAIM_CODE_CONTEXT: &str = "hallmark v1 claim code";

/// Crockford base32 digits, values 0..=31.
const DIGITS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Crockford check symbols, values 0..=36.
const CHECK: &[u8; 37] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ*~$=U";

/// Data characters in a claim code.
const DATA_LEN: usize = 12;

/// Bits in a claim code.
pub const CLAIM_CODE_BITS: u32 = 60;

/// The secret from which every unit's claim code is derived. Zeroized on
/// drop; `Debug` never prints it.
pub struct ClaimKey {
    key: [u8; 32],
    test_only: bool,
}

impl Drop for ClaimKey {
    fn drop(&mut self) {
        self.key.zeroize();
    }
}

impl fmt::Debug for ClaimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimKey")
            .field("test_only", &self.test_only)
            .finish_non_exhaustive()
    }
}

impl ClaimKey {
    /// A claim key from its 32 bytes (for tests).
    pub fn from_bytes(bytes: [u8; 32]) -> ClaimKey {
        ClaimKey {
            key: bytes,
            test_only: false,
        }
    }

    /// A new claim key from the operating system's random number generator.
    pub fn generate_os() -> Result<ClaimKey, Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|source| Error::Randomness { source })?;
        Ok(ClaimKey {
            key,
            test_only: false,
        })
    }

    /// Whether the file marked this key `test_only = true` (a published demo
    /// key, read at any mode).
    pub fn is_test_only(&self) -> bool {
        self.test_only
    }

    /// The claim code of `unit` (its identity text, `code:KID:SERIAL`).
    pub fn claim_code(&self, unit: &str) -> ClaimCode {
        let derived = Zeroizing::new(blake3::derive_key(CLAIM_CODE_CONTEXT, &self.key));
        let hash = blake3::keyed_hash(&derived, unit.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash.as_bytes()[..8]);
        ClaimCode(u64::from_be_bytes(first) >> (64 - CLAIM_CODE_BITS))
    }

    /// Whether `claim` is `unit`'s claim code, compared in constant time.
    pub fn check(&self, unit: &str, claim: &ClaimCode) -> bool {
        let want = self.claim_code(unit);
        let a = blake3::Hash::from(pad(want.0));
        let b = blake3::Hash::from(pad(claim.0));
        // blake3::Hash's `==` is constant time.
        a == b
    }

    /// The key file's text (mode 0600 when written by [`ClaimKey::write_new`]).
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::new());
        text.push_str(CLAIM_KEY_MAGIC);
        text.push_str(
            "\n# Derives every unit's claim code. Keep it secret, apart from signing keys.\n",
        );
        if self.test_only {
            text.push_str("test_only = true\n");
        }
        text.push_str("key = ");
        text.push_str(&Zeroizing::new(hex::encode(self.key)));
        text.push('\n');
        text
    }

    /// Writes the key to a new file, mode 0600, never overwriting.
    pub fn write_new(&self, path: &Path) -> Result<(), Error> {
        write_new(path, self.to_file_text().as_bytes(), true)
    }

    /// Reads a claim key file, at most 64 KiB; refused when readable by group
    /// or others unless it is marked `test_only = true`. Errors name a line,
    /// never the file's content.
    pub fn read(path: &Path) -> Result<ClaimKey, Error> {
        let text = read_limited(path)?;
        let key = ClaimKey::parse(path, &text)?;
        if !key.test_only {
            check_private(path)?;
        }
        Ok(key)
    }

    fn parse(path: &Path, text: &str) -> Result<ClaimKey, Error> {
        let bad = |line: usize, reason: &'static str| Error::KeyFile {
            path: path.to_owned(),
            what: "claim key",
            line,
            reason,
        };
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, first)) if first.trim_end() == CLAIM_KEY_MAGIC => {}
            _ => return Err(bad(1, "not a hallmark claim key file")),
        }
        let mut key: Option<[u8; 32]> = None;
        let mut test_only = false;
        for (i, line) in lines {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, value)) = line.split_once('=') else {
                return Err(bad(n, "expected `name = value`"));
            };
            match name.trim() {
                "key" => {
                    if key.is_some() {
                        return Err(bad(n, "`key` given twice"));
                    }
                    let mut bytes = [0u8; 32];
                    hex::decode_to_slice(value.trim(), &mut bytes)
                        .map_err(|_| bad(n, "`key` must be 64 hex digits"))?;
                    key = Some(bytes);
                }
                "test_only" => match value.trim() {
                    "true" => test_only = true,
                    "false" => test_only = false,
                    _ => return Err(bad(n, "`test_only` must be true or false")),
                },
                _ => return Err(bad(n, "unknown field")),
            }
        }
        let key = key.ok_or_else(|| bad(0, "no `key` line"))?;
        Ok(ClaimKey { key, test_only })
    }
}

fn pad(v: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(&v.to_be_bytes());
    out
}

/// A parsed claim code: 60 bits. `Debug` does not print it; [`ClaimCode::to_text`]
/// is for printing it on its label only.
#[derive(Clone, PartialEq, Eq)]
pub struct ClaimCode(u64);

impl fmt::Debug for ClaimCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClaimCode(..)")
    }
}

impl Drop for ClaimCode {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Why a typed claim code was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimCodeError {
    /// Not 13 Crockford base32 characters (12 and a check character).
    #[error("a claim code is 12 characters and a check character, like XXXX-XXXX-XXXX-C")]
    Malformed,
    /// The check character does not match: a typo.
    #[error("the claim code has a typo: its check character does not match")]
    Typo,
}

/// The value of a data character, Crockford's way (case-insensitive, I and
/// L read as 1, O as 0).
fn digit_value(c: u8) -> Option<u64> {
    let c = match c.to_ascii_uppercase() {
        b'I' | b'L' => b'1',
        b'O' => b'0',
        c => c,
    };
    DIGITS.iter().position(|&d| d == c).map(|v| v as u64)
}

fn check_value(c: u8) -> Option<u64> {
    match c.to_ascii_uppercase() {
        b'*' | b'~' | b'$' | b'=' | b'U' => CHECK
            .iter()
            .position(|&d| d == c.to_ascii_uppercase())
            .map(|v| v as u64),
        c => digit_value(c),
    }
}

impl ClaimCode {
    /// Reads a typed claim code: case-insensitive, hyphens and spaces
    /// ignored, I and L read as 1 and O as 0.
    pub fn parse(text: &str) -> Result<ClaimCode, ClaimCodeError> {
        let chars: Vec<u8> = text.bytes().filter(|c| !matches!(c, b'-' | b' ')).collect();
        let Some((&check, data)) = chars.split_last() else {
            return Err(ClaimCodeError::Malformed);
        };
        if data.len() != DATA_LEN {
            return Err(ClaimCodeError::Malformed);
        }
        let mut value = 0u64;
        for &c in data {
            let v = digit_value(c).ok_or(ClaimCodeError::Malformed)?;
            value = (value << 5) | v;
        }
        let check = check_value(check).ok_or(ClaimCodeError::Malformed)?;
        if value % 37 != check {
            return Err(ClaimCodeError::Typo);
        }
        Ok(ClaimCode(value))
    }

    /// The code as printed: `XXXX-XXXX-XXXX-C`.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(16);
        for i in 0..DATA_LEN {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            let shift = 5 * (DATA_LEN - 1 - i);
            let v = ((self.0 >> shift) & 31) as usize;
            // v < 32 = DIGITS.len(), by the mask.
            out.push(DIGITS.get(v).map_or('?', |&b| char::from(b)));
        }
        out.push('-');
        // The remainder is below 37 = CHECK.len().
        out.push(
            CHECK
                .get((self.0 % 37) as usize)
                .map_or('?', |&b| char::from(b)),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    fn key(b: u8) -> ClaimKey {
        ClaimKey::from_bytes([b; 32])
    }

    #[test]
    fn parse_round_trips_and_forgives_case_hyphens_and_lookalikes() {
        let k = key(7);
        for serial in 0..200u64 {
            let code = k.claim_code(&format!("code:ABCD:{serial}"));
            let text = code.to_text();
            assert_eq!(text.len(), 16);
            assert_eq!(ClaimCode::parse(&text), Ok(code.clone()));
            assert_eq!(ClaimCode::parse(&text.to_lowercase()), Ok(code.clone()));
            let squashed: String = text.chars().filter(|&c| c != '-').collect();
            assert_eq!(ClaimCode::parse(&squashed), Ok(code.clone()));
            let spaced = text.replace('-', " ");
            assert_eq!(ClaimCode::parse(&spaced), Ok(code.clone()));
            let lookalike = text.replace('1', "l").replace('0', "O");
            assert_eq!(ClaimCode::parse(&lookalike), Ok(code));
        }
    }

    #[test]
    fn check_character_catches_every_substitution_and_adjacent_transposition() {
        let k = key(9);
        for serial in 0..50u64 {
            let text: Vec<u8> = k
                .claim_code(&format!("code:K:{serial}"))
                .to_text()
                .bytes()
                .filter(|&c| c != b'-')
                .collect();
            for i in 0..DATA_LEN {
                for &d in DIGITS {
                    if d == text[i] {
                        continue;
                    }
                    let mut t = text.clone();
                    t[i] = d;
                    let s = String::from_utf8(t).unwrap();
                    assert_eq!(ClaimCode::parse(&s), Err(ClaimCodeError::Typo), "{s}");
                }
                if i + 1 < DATA_LEN && text[i] != text[i + 1] {
                    let mut t = text.clone();
                    t.swap(i, i + 1);
                    let s = String::from_utf8(t).unwrap();
                    assert_eq!(ClaimCode::parse(&s), Err(ClaimCodeError::Typo), "{s}");
                }
            }
            // Substituting the check character itself.
            for &c in CHECK {
                if c == text[DATA_LEN] {
                    continue;
                }
                let mut t = text.clone();
                t[DATA_LEN] = c;
                let s = String::from_utf8(t).unwrap();
                assert_eq!(ClaimCode::parse(&s), Err(ClaimCodeError::Typo), "{s}");
            }
        }
    }

    #[test]
    fn codes_differ_between_units_and_between_keys() {
        let a = key(1);
        let b = key(2);
        let mut seen = std::collections::HashSet::new();
        for serial in 0..1000u64 {
            let unit = format!("code:ABCD:{serial}");
            assert!(seen.insert(a.claim_code(&unit).to_text()));
            assert_ne!(a.claim_code(&unit), b.claim_code(&unit));
        }
        assert_ne!(
            a.claim_code("gs1:09506000134352:1"),
            a.claim_code("gs1:09506000134352:2")
        );
    }

    #[test]
    fn check_accepts_the_right_code_only() {
        let k = key(3);
        let right = k.claim_code("code:X:1");
        assert!(k.check("code:X:1", &right));
        assert!(!k.check("code:X:2", &right));
        assert!(!key(4).check("code:X:1", &right));
    }

    #[test]
    fn malformed_codes_are_not_typos() {
        for s in [
            "",
            "-",
            "ABCD",
            "ABCD-ABCD-ABCD",
            "ABCD-ABCD-ABCD-EF",
            "ABCD-ABCD-ABCU-0",
        ] {
            assert_eq!(ClaimCode::parse(s), Err(ClaimCodeError::Malformed), "{s}");
        }
    }

    #[test]
    fn debug_never_prints_the_key_or_code() {
        let k = key(0xab);
        assert!(!format!("{k:?}").contains("ab"));
        let c = k.claim_code("code:X:1");
        assert_eq!(format!("{c:?}"), "ClaimCode(..)");
    }

    #[test]
    fn key_file_round_trips_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claim.key");
        let k = ClaimKey::generate_os().unwrap();
        k.write_new(&path).unwrap();
        assert!(matches!(k.write_new(&path), Err(Error::KeyExists { .. })));
        let back = ClaimKey::read(&path).unwrap();
        assert_eq!(back.claim_code("code:X:1"), k.claim_code("code:X:1"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                ClaimKey::read(&path),
                Err(Error::InsecurePermissions { .. })
            ));
        }
    }

    #[test]
    fn key_file_errors_name_a_line_not_the_content() {
        let p = Path::new("x");
        let e = ClaimKey::parse(p, "# hallmark claim key v1\nkey = zzsecretzz\n").unwrap_err();
        assert!(!e.to_string().contains("zzsecretzz"));
        assert!(ClaimKey::parse(p, "nope\n").is_err());
        assert!(ClaimKey::parse(p, "# hallmark claim key v1\n").is_err());
    }
}
