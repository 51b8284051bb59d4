//! The trust store: which issuer keys are trusted, and when; and verification.

use core::fmt;
use std::sync::{Arc, OnceLock};

use ed25519_dalek::Signature;
use serde::Deserialize;

use crate::Date;
use crate::code::UnverifiedCode;
use crate::error::{Document, Error, KeyError, TrustStoreError, VerifyError};
use crate::key::{KeyId, PublicKey};
use crate::multiples::{self, KeyMultiples};
use crate::payload::Payload;

/// Largest trust store file accepted, in bytes.
pub const MAX_TRUST_STORE_LEN: usize = 1 << 20;

/// One trusted issuer key and the dates it may sign codes for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    name: String,
    key: PublicKey,
    valid_from: Option<Date>,
    valid_until: Option<Date>,
    revocation_signer: bool,
    multiples: Precomputed,
}

/// A key's tables of multiples, built on first need and shared by clones. A
/// cache: two keys that differ only in it are equal.
#[derive(Clone, Default)]
struct Precomputed(Arc<OnceLock<KeyMultiples>>);

impl PartialEq for Precomputed {
    fn eq(&self, _: &Precomputed) -> bool {
        true
    }
}

impl Eq for Precomputed {}

impl fmt::Debug for Precomputed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0.get() {
            Some(_) => "Precomputed(built)",
            None => "Precomputed(not built)",
        })
    }
}

impl TrustedKey {
    /// A trusted key. `name` is 1 to 64 characters of `A-Z a-z 0-9 . _ -`; the
    /// validity bounds are inclusive dates of manufacture.
    pub fn new(
        name: &str,
        key: PublicKey,
        valid_from: Option<Date>,
        valid_until: Option<Date>,
    ) -> Result<TrustedKey, Error> {
        check_name(name)?;
        if let (Some(from), Some(until)) = (valid_from, valid_until)
            && from > until
        {
            return Err(TrustStoreError::ValidityOrder {
                name: name.to_owned(),
                from,
                until,
                line: None,
            }
            .into());
        }
        Ok(TrustedKey {
            name: name.to_owned(),
            key,
            valid_from,
            valid_until,
            revocation_signer: false,
            multiples: Precomputed::default(),
        })
    }

    /// Marks (or unmarks) the key as a revocation signer: a key that signs
    /// revocation snapshots only. Codes naming a revocation signer are refused
    /// ([`VerifyError::KeyUsage`](crate::VerifyError::KeyUsage), verdict `key-not-valid`): a key has one usage.
    pub fn with_revocation_signer(mut self, revocation_signer: bool) -> TrustedKey {
        self.revocation_signer = revocation_signer;
        self
    }

    /// Whether the key is a revocation signer: it may sign revocation
    /// snapshots, and no codes.
    pub fn is_revocation_signer(&self) -> bool {
        self.revocation_signer
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }
    /// The key id.
    pub fn kid(&self) -> KeyId {
        self.key.kid()
    }
    /// First date of manufacture the key may sign for, if bounded.
    pub fn valid_from(&self) -> Option<Date> {
        self.valid_from
    }
    /// Last date of manufacture the key may sign for, if bounded.
    pub fn valid_until(&self) -> Option<Date> {
        self.valid_until
    }

    /// The key's tables of multiples, building them if needed.
    fn multiples(&self) -> &KeyMultiples {
        self.multiples
            .0
            .get_or_init(|| KeyMultiples::new(self.key.verifying_key()))
    }

    /// Whether the key may sign codes made on `date`.
    pub fn is_valid_on(&self, date: Date) -> bool {
        self.valid_from.is_none_or(|f| f <= date) && self.valid_until.is_none_or(|u| date <= u)
    }

    /// This entry as a TOML `[[key]]` table, as [`TrustStore::from_toml`] reads it.
    pub fn to_toml(&self) -> String {
        let mut out = format!(
            "[[key]]\nname = \"{}\"\npublic_key = \"{}\"\n",
            self.name,
            self.key.to_hex()
        );
        if let Some(from) = self.valid_from {
            out.push_str(&format!("valid_from = {from}\n"));
        }
        if let Some(until) = self.valid_until {
            out.push_str(&format!("valid_until = {until}\n"));
        }
        if self.revocation_signer {
            out.push_str("revocation_signer = true\n");
        }
        out
    }
}

fn check_name(name: &str) -> Result<(), Error> {
    crate::Name::new(name).map(drop)
}

/// A code whose signature, key and key validity have been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    code: UnverifiedCode,
    key_name: String,
}

impl Verified {
    /// The verified payload.
    pub fn payload(&self) -> &Payload {
        self.code.payload()
    }
    /// The key id that signed it.
    pub fn kid(&self) -> KeyId {
        self.code.kid()
    }
    /// The trust store's name for the signing key.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }
    /// The canonical text of the code.
    pub fn to_text(&self) -> String {
        self.code.to_text()
    }
}

/// The issuer keys a verifier trusts.
///
/// Loaded from TOML (see docs/FORMAT.md):
///
/// ```toml
/// [[key]]
/// name = "acme-2024"
/// public_key = "<64 hex digits>"
/// valid_from = 2024-01-01   # optional, inclusive
/// valid_until = 2026-12-31  # optional, inclusive
/// ```
///
/// Weak (small-order) and invalid keys, and two keys with one key id, are refused
/// when loaded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustStore {
    keys: Vec<TrustedKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    key: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: toml::Spanned<String>,
    public_key: String,
    valid_from: Option<toml::value::Datetime>,
    valid_until: Option<toml::value::Datetime>,
    revocation_signer: Option<bool>,
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.get(..offset).unwrap_or(text);
    before.bytes().filter(|&b| b == b'\n').count() + 1
}

fn toml_date(
    name: &str,
    line: usize,
    field: &'static str,
    dt: Option<toml::value::Datetime>,
) -> Result<Option<Date>, TrustStoreError> {
    let Some(dt) = dt else { return Ok(None) };
    let bad = || TrustStoreError::InvalidDate {
        name: name.to_owned(),
        field,
        line: Some(line),
    };
    match (dt.date, dt.time, dt.offset) {
        (Some(d), None, None) => Date::from_ymd(d.year.into(), d.month.into(), d.day.into())
            .map(Some)
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

impl TrustStore {
    /// An empty trust store.
    pub fn new() -> TrustStore {
        TrustStore::default()
    }

    /// Parses a trust store from TOML text.
    pub fn from_toml(text: &str) -> Result<TrustStore, Error> {
        if text.len() > MAX_TRUST_STORE_LEN {
            return Err(TrustStoreError::TooLarge {
                len: text.len(),
                max: MAX_TRUST_STORE_LEN,
            }
            .into());
        }
        // One byte order mark at the start is ignored (docs/FORMAT.md §9), whatever
        // the TOML parser does with one.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        if text.starts_with('\u{feff}') {
            return Err(TrustStoreError::ByteOrderMark.into());
        }
        let file: File =
            toml::from_str(text).map_err(|source: toml::de::Error| TrustStoreError::Syntax {
                line: source.span().map(|span| line_of(text, span.start)),
                source,
            })?;
        let mut store = TrustStore::new();
        for entry in file.key {
            let line = line_of(text, entry.name.span().start);
            let name = entry.name.get_ref().as_str();
            if !crate::Name::is_valid(name) {
                return Err(TrustStoreError::InvalidName {
                    name: name.chars().take(crate::Name::MAX_LEN).collect(),
                    line: Some(line),
                }
                .into());
            }
            let key = PublicKey::from_hex(&entry.public_key).map_err(|e| match e {
                Error::Key(KeyError::Weak) => TrustStoreError::WeakKey {
                    name: name.to_owned(),
                    line: Some(line),
                },
                _ => TrustStoreError::InvalidPublicKey {
                    name: name.to_owned(),
                    line: Some(line),
                },
            })?;
            let from = toml_date(name, line, "valid_from", entry.valid_from)?;
            let until = toml_date(name, line, "valid_until", entry.valid_until)?;
            let entry = TrustedKey::new(name, key, from, until)
                .and_then(|k| {
                    let k = k.with_revocation_signer(entry.revocation_signer.unwrap_or(false));
                    store.add(k)
                })
                .map_err(|e| match e {
                    Error::TrustStore(t) => Error::TrustStore(t.at_line(Some(line))),
                    other => other,
                });
            entry?;
        }
        Ok(store)
    }

    /// The text of a trust store file with `key` appended: `existing` (the
    /// file as it is, or `None` for a new file with a header comment) keeps
    /// every byte, comments included, and gains `key`'s `[[key]]` table. The
    /// result is checked by loading it: a key id already present, or an
    /// `existing` text that does not load, is refused, so the text returned
    /// always loads.
    ///
    /// ```
    /// use hallmark::{PublicKey, TrustStore, TrustedKey};
    /// let key = PublicKey::from_hex("0faada074b654141829ba20700f2446d0f8e1f8f8794ffc2f18239c980f024ee")?;
    /// let text = TrustStore::append_to_toml(None, TrustedKey::new("demo", key, None, None)?)?;
    /// assert_eq!(TrustStore::from_toml(&text)?.keys().len(), 1);
    /// assert!(TrustStore::append_to_toml(Some(&text), TrustedKey::new("again", key, None, None)?).is_err());
    /// # Ok::<(), hallmark::Error>(())
    /// ```
    pub fn append_to_toml(existing: Option<&str>, key: TrustedKey) -> Result<String, Error> {
        let mut text = match existing {
            Some(text) => {
                TrustStore::from_toml(text)?.add(key.clone())?;
                text.to_owned()
            }
            None => "# hallmark trust store: the issuer keys whose codes are accepted.\n\
                     # Edit with `hallmark trust add`; see docs/FORMAT.md.\n"
                .to_owned(),
        };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&key.to_toml());
        TrustStore::from_toml(&text)?;
        Ok(text)
    }

    /// Adds a key; refuses one whose key id is already present.
    pub fn add(&mut self, key: TrustedKey) -> Result<(), Error> {
        if let Some(existing) = self.keys.iter().find(|k| k.kid() == key.kid()) {
            return Err(TrustStoreError::DuplicateKeyId {
                kid: key.kid(),
                first: existing.name.clone(),
                second: key.name,
                line: None,
            }
            .into());
        }
        self.keys.push(key);
        Ok(())
    }

    /// The trusted keys, in file order.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The trusted key with this key id.
    pub fn get(&self, kid: KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.kid() == kid)
    }

    /// Checks a scanned or typed code's signature only: canonical form, a
    /// trusted key, a valid signature (`verify_strict`) over the bytes
    /// received, the key's usage (not a revocation signer) and its validity on
    /// the code's date of manufacture.
    ///
    /// **Not a verdict**: expiry and revocation are not looked at, so an
    /// expired or revoked code passes. To accept goods use
    /// [`TrustStore::verify_on`] or a [`crate::Verifier`]; this is the first step
    /// of [`crate::Verifier::judge`], for a service that looks up a code's stored
    /// status before judging it.
    pub fn verify_signature_only(&self, input: &str) -> Result<Verified, Error> {
        self.verify_code_signature_only(UnverifiedCode::decode(input)?)
    }

    /// [`TrustStore::verify_signature_only`], and also refuses a code whose
    /// expiry date is before `today` (revocation data is a
    /// [`crate::Verifier`]'s).
    pub fn verify_on(&self, input: &str, today: Date) -> Result<Verified, Error> {
        let verified = self.verify_signature_only(input)?;
        match verified.payload().expiry() {
            Some(expiry) if expiry < today => Err(VerifyError::Expired { expiry, today }.into()),
            _ => Ok(verified),
        }
    }

    /// [`TrustStore::verify_signature_only`] on an already-decoded code
    /// (expiry and revocation not looked at).
    pub fn verify_code_signature_only(&self, code: UnverifiedCode) -> Result<Verified, Error> {
        let (trusted, signature) = self.signer(&code)?;
        let good = match trusted.multiples.0.get() {
            Some(multiples) => multiples.verify(&signature, &code.signing_parts()),
            None => strict(trusted, &code, &signature),
        };
        finish(trusted, code, good)
    }

    /// Builds tables of multiples of every key (about 676 KB per key, and the
    /// same once for the base point), after which each verification is much
    /// cheaper than `verify_strict` (docs/PERFORMANCE.md has the figures). Verification
    /// accepts exactly the same codes with or without them: the signature
    /// equation is the same (see `multiples.rs`). Worth it for a server or for
    /// more than a few hundred codes; [`crate::Verifier::verify_batch`] builds
    /// them itself for large batches.
    ///
    /// ```
    /// use hallmark::TrustStore;
    /// let trust = TrustStore::from_toml(r#"
    ///     [[key]]
    ///     name = "demo-TEST-ONLY"
    ///     public_key = "0faada074b654141829ba20700f2446d0f8e1f8f8794ffc2f18239c980f024ee"
    /// "#)?;
    /// let code = "0630HCDQMG01M1TVSMAG2T24A972TCHS70R04TJC68SK2CHH68PK0C83356FFX0ANVQRTRZFQZ5TQV6WPGHQJK82WBZV4VJ86213X7S0NAQ94EY8SRQVMYPG15657FJ4SAQXZQ5WPTHY9BRXCTXM5A1TM3RMTCQDHR7G";
    /// let before = trust.verify_signature_only(code)?;
    /// trust.precompute(); // from here on, the same answers, faster
    /// assert_eq!(trust.verify_signature_only(code)?, before);
    /// assert!(trust.verify_signature_only(&code.replacen('A', "B", 1)).is_err());
    /// # Ok::<(), hallmark::Error>(())
    /// ```
    pub fn precompute(&self) {
        for key in &self.keys {
            key.multiples();
        }
    }

    /// [`TrustStore::verify_code_signature_only`] on many codes, with the tables of multiples
    /// (built if `build`) and one field inversion for all the encodings.
    pub(crate) fn verify_codes(
        &self,
        codes: Vec<Result<UnverifiedCode, Error>>,
        build: bool,
    ) -> Vec<Result<Verified, Error>> {
        // First pass: everything up to R' = [S]B - [k]A for each signature.
        let mut expected = Vec::with_capacity(codes.len());
        let checked: Vec<_> = codes
            .into_iter()
            .map(|code| {
                let code = code?;
                let (trusted, signature) = self.signer(&code)?;
                let multiples = match (build, trusted.multiples.0.get()) {
                    (_, Some(m)) => m,
                    (true, None) => trusted.multiples(),
                    (false, None) => return Ok((code, trusted, signature, None)),
                };
                let index = expected.len();
                expected.push(multiples.expected_r(&signature, &code.signing_parts()));
                Ok((code, trusted, signature, Some((multiples, index))))
            })
            .collect();
        let encoded = multiples::compress_all(&expected);
        checked
            .into_iter()
            .map(|checked: Result<_, Error>| {
                let (code, trusted, signature, multiples) = checked?;
                let good = match multiples {
                    Some((m, i)) => expected
                        .get(i)
                        .zip(encoded.get(i))
                        .is_some_and(|(point, enc)| m.accepts(&signature, point, enc)),
                    None => strict(trusted, &code, &signature),
                };
                finish(trusted, code, good)
            })
            .collect()
    }

    /// The trusted key a code names, and its signature with a canonical S.
    fn signer(&self, code: &UnverifiedCode) -> Result<(&TrustedKey, Signature), Error> {
        let kid = code.kid();
        let trusted = self.get(kid).ok_or(VerifyError::UnknownKey { kid })?;
        let signature = Signature::from_bytes(code.signature());
        if !is_canonical_scalar(signature.s_bytes()) {
            return Err(VerifyError::NonCanonicalSignature.into());
        }
        Ok((trusted, signature))
    }
}

/// The signature check without tables: ed25519-dalek's `verify_strict`.
fn strict(trusted: &TrustedKey, code: &UnverifiedCode, signature: &Signature) -> bool {
    trusted
        .key
        .verifying_key()
        .verify_strict(&code.signing_message(), signature)
        .is_ok()
}

/// The rest of verification once the signature has been checked (`good`): the
/// key's validity on the date of manufacture.
fn finish(trusted: &TrustedKey, code: UnverifiedCode, good: bool) -> Result<Verified, Error> {
    let kid = code.kid();
    if !good {
        return Err(VerifyError::BadSignature {
            document: Document::Code,
            kid,
            key_name: trusted.name.clone(),
        }
        .into());
    }
    if trusted.revocation_signer {
        // One usage per key: a revocation signer signs no codes, so a code
        // minted with the (often internet-facing) revocation key is refused.
        return Err(VerifyError::KeyUsage {
            kid,
            key_name: trusted.name.clone(),
        }
        .into());
    }
    let date = code.payload().date();
    if !trusted.is_valid_on(date) {
        return Err(VerifyError::KeyNotValid {
            kid,
            key_name: trusted.name.clone(),
            date,
            valid_from: trusted.valid_from,
            valid_until: trusted.valid_until,
        }
        .into());
    }
    Ok(Verified {
        code,
        key_name: trusted.name.clone(),
    })
}

/// Whether a little-endian scalar is below the group order
/// L = 2^252 + 27742317777372353535851937790883648493.
fn is_canonical_scalar(s: &[u8; 32]) -> bool {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    // Compare from the most significant byte down.
    for (a, b) in s.iter().rev().zip(L.iter().rev()) {
        if a != b {
            return a < b;
        }
    }
    false
}

#[cfg(test)]
mod tests;
