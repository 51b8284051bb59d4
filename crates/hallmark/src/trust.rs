//! The trust store: which issuer keys are trusted, and when; and verification.

use core::fmt;
use std::sync::{Arc, OnceLock};

use ed25519_dalek::Signature;
use serde::Deserialize;

use crate::Date;
use crate::cert::{LineCertificate, MAX_CERTIFICATE_BYTES, Usage};
use crate::code::UnverifiedCode;
use crate::error::CertError;
use crate::error::{Document, Error, FieldError, KeyError, TrustStoreError, VerifyError};
use crate::gs1::Gs1Unit;
use crate::key::{KeyId, PublicKey};
use crate::multiples::{self, KeyMultiples};
use crate::payload::Payload;
use crate::signed::Domain;

/// Largest trust store file accepted, in bytes.
pub const MAX_TRUST_STORE_LEN: usize = 1 << 20;

/// One trusted issuer key and the dates it may sign codes for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey {
    name: String,
    key: PublicKey,
    valid_from: Option<Date>,
    valid_until: Option<Date>,
    usage: Usage,
    /// GS1 company prefixes it may sign GS1 units for (empty: any).
    gs1_prefixes: Vec<String>,
    /// The certificate that made it trusted, with its signed bytes.
    certificate: Option<Arc<(LineCertificate, Vec<u8>)>>,
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
            usage: Usage::CODES
                .union(Usage::MANIFESTS)
                .union(Usage::AGGREGATION),
            gs1_prefixes: Vec::new(),
            certificate: None,
            multiples: Precomputed::default(),
        })
    }

    /// Limits the GS1 units the key may sign to GTINs of these GS1 company
    /// prefixes (4 to 12 digits each, at most 64); an empty list allows any.
    /// A certified key takes its certificate's `gs1_prefixes` instead.
    pub fn with_gs1_prefixes(mut self, prefixes: Vec<String>) -> Result<TrustedKey, Error> {
        if prefixes.len() > crate::cert::MAX_CONSTRAINTS
            || prefixes
                .iter()
                .any(|p| !(4..=12).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(FieldError::InvalidField {
                field: "gs1_prefixes",
                reason: "GS1 company prefixes are 4 to 12 digits each, at most 64 of them",
            }
            .into());
        }
        self.gs1_prefixes = prefixes;
        Ok(self)
    }

    /// The GS1 company prefixes the key may sign GS1 units for (empty: any).
    pub fn gs1_prefixes(&self) -> &[String] {
        &self.gs1_prefixes
    }

    /// Whether the key may sign a GS1 unit with this GTIN (14 digits).
    pub fn allows_gtin(&self, gtin: &str) -> bool {
        crate::cert::gtin_allowed(&self.gs1_prefixes, gtin)
    }

    /// Marks (or unmarks) the key as a revocation signer: a key that signs
    /// revocation snapshots only. Codes naming a revocation signer are refused
    /// ([`VerifyError::KeyUsage`](crate::VerifyError::KeyUsage), verdict `key-not-valid`): a key has one usage.
    pub fn with_revocation_signer(mut self, revocation_signer: bool) -> TrustedKey {
        self.usage = if revocation_signer {
            Usage::REGISTRY
        } else {
            Usage::CODES
                .union(Usage::MANIFESTS)
                .union(Usage::AGGREGATION)
        };
        self
    }

    /// Whether the key is a revocation signer: it may sign revocation
    /// snapshots (and the other registry documents), and no codes. A
    /// certified key is one when its certificate grants the registry usage.
    pub fn is_revocation_signer(&self) -> bool {
        self.usage.contains(Usage::REGISTRY)
    }

    /// What the key may sign: codes and manifests for a plain key, the
    /// registry usage for a revocation signer, its certificate's usage for a
    /// certified key.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// The certificate that made the key trusted, if it is a certified key.
    pub fn certificate(&self) -> Option<&LineCertificate> {
        self.certificate.as_deref().map(|(c, _)| c)
    }

    /// The signed bytes of [`TrustedKey::certificate`].
    pub fn certificate_bytes(&self) -> Option<&[u8]> {
        self.certificate.as_deref().map(|(_, b)| b.as_slice())
    }

    /// Whether `signature` is valid over `message` (given in parts) under this
    /// key: `verify_strict`'s equation (S < L, no small-order R or key),
    /// through the tables of multiples when they are built.
    pub(crate) fn verifies(&self, signature: &Signature, message: &[&[u8]]) -> bool {
        if !is_canonical_scalar(signature.s_bytes()) {
            return false;
        }
        match self.multiples.0.get() {
            Some(m) => m.verify(signature, message),
            None => self
                .key
                .verifying_key()
                .verify_strict(&message.concat(), signature)
                .is_ok(),
        }
    }

    /// Builds the key's tables of multiples ([`TrustStore::precompute`]).
    pub(crate) fn precompute(&self) {
        self.multiples();
    }

    /// Refuses a root (the only keys with an empty usage set: [`TrustStore::add_root`]
    /// empties it, and plain and certified keys always have a known usage) as
    /// the signer of `document`.
    pub(crate) fn refuse_root(&self, document: Document) -> Result<(), Error> {
        if self.usage == Usage::default() {
            return Err(VerifyError::RootKey {
                kid: self.kid(),
                key_name: self.name.clone(),
                document,
            }
            .into());
        }
        Ok(())
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

    /// This entry as a TOML `[[key]]` table, as [`TrustStore::from_toml`] reads it;
    /// a certified key as its `[[certificate]]` table (written as a `[[key]]`,
    /// it would lose its usage and constraints), which loads only beside its root.
    pub fn to_toml(&self) -> String {
        if let Some(bytes) = self.certificate_bytes() {
            return format!("[[certificate]]\ndata = \"{}\"\n", hex::encode(bytes));
        }
        // A root is the one entry with no usage (it signs certificates only).
        let table = if self.usage == Usage::default() {
            "[[root]]"
        } else {
            "[[key]]"
        };
        let mut out = format!(
            "{table}\nname = \"{}\"\npublic_key = \"{}\"\n",
            self.name,
            self.key.to_hex()
        );
        if let Some(from) = self.valid_from {
            out.push_str(&format!("valid_from = {from}\n"));
        }
        if let Some(until) = self.valid_until {
            out.push_str(&format!("valid_until = {until}\n"));
        }
        if self.usage == Usage::REGISTRY {
            out.push_str("revocation_signer = true\n");
        }
        if !self.gs1_prefixes.is_empty() {
            let list: Vec<String> = self
                .gs1_prefixes
                .iter()
                .map(|p| format!("\"{p}\""))
                .collect();
            out.push_str(&format!("gs1_prefixes = [{}]\n", list.join(", ")));
        }
        out
    }
}

fn check_name(name: &str) -> Result<(), Error> {
    crate::Name::new(name).map(drop)
}

/// A code or GS1 unit whose signature, key and key validity have been
/// checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    subject: Subject,
    kid: KeyId,
    key_name: String,
}

/// What was signed: a v1 code or a GS1 unit (AI 8030).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Subject {
    Code(UnverifiedCode),
    Gs1(Box<Gs1Unit>),
}

impl Subject {
    /// Reads one scanned or typed input: GS1 data (docs/FORMAT.md §20.1) or
    /// a v1 code.
    pub(crate) fn decode(input: &str) -> Result<Subject, Error> {
        if crate::gs1::is_gs1_input(input) {
            Ok(Subject::Gs1(Box::new(Gs1Unit::decode(input)?)))
        } else {
            Ok(Subject::Code(UnverifiedCode::decode(input)?))
        }
    }

    fn payload(&self) -> &Payload {
        match self {
            Subject::Code(c) => c.payload(),
            Subject::Gs1(u) => u.payload(),
        }
    }

    fn signature(&self) -> &[u8; crate::SIGNATURE_LEN] {
        match self {
            Subject::Code(c) => c.signature(),
            Subject::Gs1(u) => u.signature(),
        }
    }

    fn document(&self) -> Document {
        match self {
            Subject::Code(_) => Document::Code,
            Subject::Gs1(_) => Document::Gs1Unit,
        }
    }

    /// Calls `f` with the signing message, in parts, under `kid`.
    fn with_message<R>(&self, kid: KeyId, f: impl FnOnce(&[&[u8]]) -> R) -> R {
        match self {
            Subject::Code(c) => f(&c.signing_parts()),
            Subject::Gs1(u) => {
                let kid = kid.to_bytes();
                f(&u.signing_parts(&kid))
            }
        }
    }
}

impl Verified {
    /// The verified payload (of a GS1 unit: its facts in the v1 shape,
    /// docs/FORMAT.md §21.4).
    pub fn payload(&self) -> &Payload {
        self.subject.payload()
    }
    /// The key id that signed it.
    pub fn kid(&self) -> KeyId {
        self.kid
    }
    /// The trust store's name for the signing key.
    pub fn key_name(&self) -> &str {
        &self.key_name
    }
    /// The canonical text: of a code its base32 text, of a GS1 unit its
    /// bracketed form with the AIs sorted ([`Gs1Unit::to_text`]).
    pub fn to_text(&self) -> String {
        match &self.subject {
            Subject::Code(c) => c.to_text(),
            Subject::Gs1(u) => u.to_text(),
        }
    }
    /// The GS1 unit, when a GS1 scan was verified.
    pub fn gs1(&self) -> Option<&Gs1Unit> {
        match &self.subject {
            Subject::Code(_) => None,
            Subject::Gs1(u) => Some(u),
        }
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
    roots: Vec<TrustedKey>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    key: Vec<Entry>,
    #[serde(default)]
    root: Vec<Entry>,
    #[serde(default)]
    certificate: Vec<CertificateEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertificateEntry {
    data: toml::Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: toml::Spanned<String>,
    public_key: String,
    valid_from: Option<toml::value::Datetime>,
    valid_until: Option<toml::value::Datetime>,
    revocation_signer: Option<bool>,
    gs1_prefixes: Option<Vec<String>>,
}

/// An error of adding a trust-store entry, placed at its line.
fn at_line(e: Error, line: usize) -> Error {
    match e {
        Error::TrustStore(t) => Error::TrustStore(t.at_line(Some(line))),
        other => other,
    }
}

/// A `[[key]]` or `[[root]]` table's key, its name, key and dates checked.
fn entry_key(text: &str, entry: &Entry) -> Result<TrustedKey, Error> {
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
    TrustedKey::new(name, key, from, until).map_err(|e| at_line(e, line))
}

/// A company prefix two keys may both sign GS1 units for: `any` when neither
/// is limited, else the longer of two prefixes one of which starts the other.
fn prefix_overlap(a: &[String], b: &[String]) -> Option<String> {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Some("any".to_owned()),
        (true, false) => b.first().cloned(),
        (false, true) => a.first().cloned(),
        (false, false) => a.iter().find_map(|p| {
            b.iter().find_map(|q| {
                if p.starts_with(q.as_str()) {
                    Some(p.clone())
                } else if q.starts_with(p.as_str()) {
                    Some(q.clone())
                } else {
                    None
                }
            })
        }),
    }
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
        // Roots first, so that certificates anywhere in the file find them.
        for entry in file.root {
            let line = line_of(text, entry.name.span().start);
            if entry.revocation_signer.is_some() {
                return Err(TrustStoreError::RootRevocationSigner {
                    name: entry.name.get_ref().clone(),
                    line: Some(line),
                }
                .into());
            }
            if entry.gs1_prefixes.is_some() {
                return Err(at_line(
                    FieldError::InvalidField {
                        field: "gs1_prefixes",
                        reason: "a root signs no GS1 data: put gs1_prefixes in its line certificates",
                    }
                    .into(),
                    line,
                ));
            }
            let root = entry_key(text, &entry)?;
            store.add_root(root).map_err(|e| at_line(e, line))?;
        }
        for entry in file.key {
            let line = line_of(text, entry.name.span().start);
            let key = entry_key(text, &entry)?
                .with_revocation_signer(entry.revocation_signer.unwrap_or(false))
                .with_gs1_prefixes(entry.gs1_prefixes.unwrap_or_default())
                .map_err(|e| at_line(e, line))?;
            store.add(key).map_err(|e| at_line(e, line))?;
        }
        for entry in file.certificate {
            let line = line_of(text, entry.data.span().start);
            let bad = |source: Error| TrustStoreError::InvalidCertificate {
                line: Some(line),
                source: Box::new(source),
            };
            let bytes = hex::decode(entry.data.get_ref().trim()).map_err(|_| {
                bad(FieldError::InvalidField {
                    field: "data",
                    reason: "expected the certificate in hex (hallmark trust add --cert)",
                }
                .into())
            })?;
            store.add_certificate(&bytes).map_err(bad)?;
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
        let table = key.to_toml();
        TrustStore::append_table(existing, &table, |store| store.add(key))
    }

    /// [`TrustStore::append_to_toml`] for a root key: a `[[root]]` table
    /// (name, public key, validity; a root certifies line keys and signs
    /// nothing else).
    pub fn append_root_to_toml(existing: Option<&str>, root: TrustedKey) -> Result<String, Error> {
        // A root has no usage, which `to_toml` writes as a `[[root]]` table.
        let table = TrustedKey {
            usage: Usage::default(),
            ..root.clone()
        }
        .to_toml();
        TrustStore::append_table(existing, &table, |store| store.add_root(root))
    }

    /// [`TrustStore::append_to_toml`] for a line certificate: a
    /// `[[certificate]]` table holding it in hex, with a comment naming it.
    /// The certificate must verify against the roots of `existing`.
    pub fn append_certificate_to_toml(
        existing: Option<&str>,
        cert: &[u8],
    ) -> Result<String, Error> {
        let (_, c) = LineCertificate::decode_unverified(cert)?;
        let table = format!(
            "# certificate {} (key id {}), {} to {}, usage {}\n[[certificate]]\ndata = \"{}\"\n",
            c.name,
            c.subject.kid(),
            c.valid_from,
            c.valid_until,
            c.usage,
            hex::encode(cert)
        );
        TrustStore::append_table(existing, &table, |store| {
            store.add_certificate(cert).map(drop)
        })
    }

    /// `existing` (or a new file's header) with `table` appended, after `add`
    /// succeeds on the store `existing` loads to; the result must load.
    fn append_table(
        existing: Option<&str>,
        table: &str,
        add: impl FnOnce(&mut TrustStore) -> Result<(), Error>,
    ) -> Result<String, Error> {
        let mut text = match existing {
            Some(text) => {
                add(&mut TrustStore::from_toml(text)?)?;
                text.to_owned()
            }
            None => {
                add(&mut TrustStore::new())?;
                "# hallmark trust store: the issuer keys whose codes are accepted.\n\
                 # Edit with `hallmark trust add`; see docs/FORMAT.md.\n"
                    .to_owned()
            }
        };
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text.push('\n');
        text.push_str(table);
        TrustStore::from_toml(&text)?;
        Ok(text)
    }

    /// The whole store as TOML that [`TrustStore::from_toml`] reads back to an
    /// equal store: the roots first, then the keys and certificates.
    pub fn to_toml(&self) -> String {
        self.roots
            .iter()
            .chain(&self.keys)
            .map(|k| k.to_toml() + "\n")
            .collect()
    }

    /// Adds a key; refuses one whose key id is already present.
    pub fn add(&mut self, key: TrustedKey) -> Result<(), Error> {
        self.check_new(&key)?;
        self.keys.push(key);
        Ok(())
    }

    /// Refuses a key whose key id a key or root already has.
    fn check_new(&self, key: &TrustedKey) -> Result<(), Error> {
        if let Some(existing) = self
            .keys
            .iter()
            .chain(&self.roots)
            .find(|k| k.kid() == key.kid())
        {
            return Err(TrustStoreError::DuplicateKeyId {
                kid: key.kid(),
                first: existing.name.clone(),
                second: key.name.clone(),
                line: None,
            }
            .into());
        }
        self.check_short_kid(key)
    }

    /// Refuses a key that could sign GS1 units some other key with its short
    /// key id could also sign (docs/FORMAT.md §21.3): AI 8030 names a key by
    /// two bytes, so the company prefix must tell them apart.
    fn check_short_kid(&self, key: &TrustedKey) -> Result<(), Error> {
        if !key.usage.contains(Usage::CODES) {
            return Ok(());
        }
        let short = crate::gs1::ShortKid::of(key.kid());
        for other in self.gs1_signers(short) {
            if let Some(prefix) = prefix_overlap(&other.gs1_prefixes, &key.gs1_prefixes) {
                return Err(TrustStoreError::AmbiguousShortKid {
                    short,
                    first: other.name.clone(),
                    second: key.name.clone(),
                    prefix,
                    line: None,
                }
                .into());
            }
        }
        Ok(())
    }

    /// The keys that may sign codes with this short key id.
    pub(crate) fn gs1_signers(
        &self,
        short: crate::gs1::ShortKid,
    ) -> impl Iterator<Item = &TrustedKey> {
        self.keys.iter().filter(move |k| {
            k.usage.contains(Usage::CODES) && crate::gs1::ShortKid::of(k.kid()) == short
        })
    }

    /// The key that signed a GS1 unit (docs/FORMAT.md §21.3): the key with
    /// its short key id that may sign for its GTIN (at most one:
    /// [`TrustStore::add`] refuses ambiguous keys); failing that, the only
    /// key with its short key id, whose signature is checked before the GTIN
    /// is refused as out of scope.
    fn gs1_signer(&self, unit: &Gs1Unit) -> Result<&TrustedKey, Error> {
        let short = unit.short_kid();
        if let Some(key) = self.gs1_signers(short).find(|k| k.allows_gtin(unit.gtin())) {
            return Ok(key);
        }
        let mut keys = self.gs1_signers(short);
        match (keys.next(), keys.next()) {
            (Some(only), None) => Ok(only),
            _ => Err(VerifyError::UnknownGs1Key {
                short: short.to_string(),
                gtin: unit.gtin().to_owned(),
            }
            .into()),
        }
    }

    /// Adds a root key: a key that certifies line keys
    /// ([`TrustStore::add_certificate`]) and signs nothing else. Its
    /// validity bounds every certificate it signs.
    pub fn add_root(&mut self, root: TrustedKey) -> Result<(), Error> {
        self.check_new(&root)?;
        self.roots.push(TrustedKey {
            usage: Usage::default(),
            gs1_prefixes: Vec::new(),
            certificate: None,
            ..root
        });
        Ok(())
    }

    /// The root keys, in file order.
    pub fn roots(&self) -> &[TrustedKey] {
        &self.roots
    }

    /// Verifies a line certificate (docs/FORMAT.md §17) against this trust
    /// store's roots and trusts its subject key, within the certificate's
    /// window, constraints and usage. Adding the same certificate again does
    /// nothing.
    ///
    /// Refused: a certificate signed by a key that is not a root (a chain of
    /// three: [`CertError::ChainTooLong`]), by an unknown root, with a bad
    /// signature, whose subject is a root, whose window leaves its root's, or
    /// for a key id already trusted another way ([`CertError::Conflict`]).
    pub fn add_certificate(&mut self, bytes: &[u8]) -> Result<&TrustedKey, Error> {
        let framed = crate::signed::frame(bytes, Domain::Certificate, MAX_CERTIFICATE_BYTES)?;
        let root = match self.roots.iter().find(|r| r.kid() == framed.kid) {
            Some(root) => root,
            None => {
                return Err(match self.get(framed.kid) {
                    Some(k) => CertError::ChainTooLong {
                        kid: framed.kid,
                        issuer: k.name.clone(),
                    },
                    None => CertError::UnknownRoot { kid: framed.kid },
                }
                .into());
            }
        };
        framed.check(Domain::Certificate, root)?;
        let cert = LineCertificate::decode(framed.body)?;
        cert.check_root_window(root, framed.kid)?;
        let kid = cert.subject.kid();
        if self.roots.iter().any(|r| r.kid() == kid) {
            return Err(CertError::SubjectIsRoot {
                name: cert.name,
                kid,
            }
            .into());
        }
        if let Some(i) = self.keys.iter().position(|k| k.kid() == kid) {
            let existing = self.keys.get(i).ok_or(CertError::UnknownRoot { kid })?;
            if existing.certificate_bytes() == Some(bytes) {
                return Ok(existing);
            }
            return Err(CertError::Conflict {
                kid,
                first: existing.name.clone(),
                second: cert.name,
            }
            .into());
        }
        let key = TrustedKey {
            name: cert.name.clone(),
            key: cert.subject,
            valid_from: Some(cert.valid_from),
            valid_until: Some(cert.valid_until),
            usage: cert.usage,
            gs1_prefixes: cert.constraints.gs1_prefixes.clone(),
            certificate: Some(Arc::new((cert, bytes.to_vec()))),
            multiples: Precomputed::default(),
        };
        self.check_short_kid(&key)?;
        self.keys.push(key);
        self.keys
            .last()
            .ok_or_else(|| CertError::UnknownRoot { kid }.into())
    }

    /// The trusted keys (plain and certified), in the order added.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The trusted key with this key id (roots excluded: they sign no codes).
    pub fn get(&self, kid: KeyId) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.kid() == kid)
    }

    /// The trusted key that signed a document of type `domain` naming `kid`:
    /// a root is refused ([`VerifyError::RootKey`]), an unknown kid is
    /// [`VerifyError::UnknownKey`]. Usage is checked by each document type
    /// after the signature.
    ///
    /// A root is returned too, so that its signature is checked first: a
    /// forgery naming a root's kid is `bad-signature`, and `root-key` (from
    /// [`TrustStore::check_usage`] or [`crate::signed::open`]) means the root
    /// really signed a code or document.
    pub(crate) fn document_signer(
        &self,
        kid: KeyId,
        _domain: Domain,
    ) -> Result<&TrustedKey, Error> {
        self.get(kid)
            .or_else(|| self.roots.iter().find(|r| r.kid() == kid))
            .ok_or(VerifyError::UnknownKey { kid }.into())
    }

    /// Refuses a document of type `document` signed by `key` unless its
    /// usage allows `needed`.
    pub(crate) fn check_usage(
        key: &TrustedKey,
        needed: Usage,
        document: Document,
    ) -> Result<(), Error> {
        key.refuse_root(document)?;
        if key.usage.contains(needed) {
            Ok(())
        } else {
            Err(VerifyError::KeyUsage {
                kid: key.kid(),
                key_name: key.name.clone(),
                document,
                allowed: key.usage,
            }
            .into())
        }
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
        self.verify_subject(Subject::decode(input)?)
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
        self.verify_subject(Subject::Code(code))
    }

    /// [`TrustStore::verify_signature_only`] on an already-parsed GS1 unit.
    pub fn verify_gs1_signature_only(&self, unit: Gs1Unit) -> Result<Verified, Error> {
        self.verify_subject(Subject::Gs1(Box::new(unit)))
    }

    fn verify_subject(&self, subject: Subject) -> Result<Verified, Error> {
        let (trusted, signature) = self.signer(&subject)?;
        let good = subject.with_message(trusted.kid(), |m| trusted.verifies(&signature, m));
        finish(trusted, subject, good)
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

    /// Builds the tables of multiples of one key (when it will check many
    /// documents, as a trust bundle's manifests and receipts).
    pub(crate) fn precompute_key(&self, kid: KeyId) {
        if let Some(k) = self.get(kid) {
            k.precompute();
        }
    }

    /// [`TrustStore::verify_code_signature_only`] on many codes, with the tables of multiples
    /// (built if `build`) and one field inversion for all the encodings.
    pub(crate) fn verify_codes(
        &self,
        codes: Vec<Result<Subject, Error>>,
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
                expected.push(
                    code.with_message(trusted.kid(), |m| multiples.expected_r(&signature, m)),
                );
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
    fn signer(&self, subject: &Subject) -> Result<(&TrustedKey, Signature), Error> {
        let trusted = match subject {
            Subject::Code(code) => self.document_signer(code.kid(), Domain::Code)?,
            Subject::Gs1(unit) => self.gs1_signer(unit)?,
        };
        let signature = Signature::from_bytes(subject.signature());
        if !is_canonical_scalar(signature.s_bytes()) {
            return Err(VerifyError::NonCanonicalSignature.into());
        }
        Ok((trusted, signature))
    }
}

/// The signature check without tables: ed25519-dalek's `verify_strict`.
fn strict(trusted: &TrustedKey, subject: &Subject, signature: &Signature) -> bool {
    subject.with_message(trusted.kid(), |m| {
        trusted
            .key
            .verifying_key()
            .verify_strict(&m.concat(), signature)
            .is_ok()
    })
}

/// The rest of verification once the signature has been checked (`good`): the
/// key's validity on the date of manufacture.
fn finish(trusted: &TrustedKey, code: Subject, good: bool) -> Result<Verified, Error> {
    let kid = trusted.kid();
    if !good {
        return Err(VerifyError::BadSignature {
            document: code.document(),
            kid,
            key_name: trusted.name.clone(),
        }
        .into());
    }
    // A revocation signer signs no codes, so a code minted with the (often
    // internet-facing) revocation key is refused; a certified key signs codes
    // only if its certificate says so.
    TrustStore::check_usage(trusted, Usage::CODES, Document::Code)?;
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
    if let Subject::Gs1(unit) = &code
        && !trusted.allows_gtin(unit.gtin())
    {
        return Err(VerifyError::OutOfScope {
            kid,
            key_name: trusted.name.clone(),
            constraint: crate::Constraint::Gs1Prefix,
            value: unit.gtin().to_owned(),
        }
        .into());
    }
    if let Some((cert, _)) = trusted.certificate.as_deref() {
        let payload = code.payload();
        cert.constraints.check(payload).map_err(|constraint| {
            let value = match constraint {
                crate::Constraint::Part => payload.part().to_owned(),
                crate::Constraint::Lot => payload.lot().to_owned(),
                _ => payload.serial().to_string(),
            };
            VerifyError::OutOfScope {
                kid,
                key_name: trusted.name.clone(),
                constraint,
                value,
            }
        })?;
    }
    Ok(Verified {
        subject: code,
        kid,
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

mod edit;

#[cfg(test)]
mod tests;
