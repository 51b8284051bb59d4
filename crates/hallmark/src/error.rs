//! The error types of the verifier crate.
//!
//! [`Error`] is the umbrella every fallible function of the crate returns. It is
//! made of one sub-enum per area, each carrying context fields (which document,
//! which line, which key) instead of preformatted strings:
//!
//! - [`DecodeError`]: the text, base32, length or version of a code or document;
//! - [`PayloadError`]: the CBOR body;
//! - [`VerifyError`]: the outcome of checking a signature and a key;
//! - [`TrustStoreError`]: a trust store that does not parse or has a bad entry;
//! - [`KeyError`]: a public key that is not acceptable on its own;
//! - [`FieldError`]: a date or a field value given to a constructor.
//!
//! [`Error::kind`] gives a stable kebab-case name (pinned by the test vectors and
//! docs/FORMAT.md) and [`Error::verdict`] the coarse verdict word a user acts on.

use std::fmt;

use crate::{Date, KeyId};

/// Which kind of signed document an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Document {
    /// A serial code.
    Code,
    /// A GS1 unit signed in AI 8030.
    Gs1Unit,
    /// A signed revocation snapshot.
    RevocationSnapshot,
    /// A signed batch manifest.
    BatchManifest,
    /// A line certificate.
    Certificate,
    /// A registry's batch receipt.
    Receipt,
    /// A signed trust bundle.
    TrustBundle,
    /// A signed aggregation manifest.
    AggregationManifest,
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Document::Code => "code",
            Document::Gs1Unit => "GS1 unit",
            Document::RevocationSnapshot => "revocation snapshot",
            Document::BatchManifest => "batch manifest",
            Document::Certificate => "line certificate",
            Document::Receipt => "batch receipt",
            Document::TrustBundle => "trust bundle",
            Document::AggregationManifest => "aggregation manifest",
        })
    }
}

/// Why a code, a document, a trust store, a key or a date was refused.
///
/// Match on the sub-enum for the details; use [`Error::kind`] for a stable name
/// and [`Error::verdict`] for the verdict word.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text, base32, length or version of a code or document is wrong.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The payload is not valid deterministic CBOR of the v1 shape.
    // Not `#[from]`: the message already says the payload error, so it is not
    // also a source (a chain printer would say it twice).
    #[error("malformed payload: {0}")]
    Payload(PayloadError),
    /// A signature, key or date check refused a well-formed code or document.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// A trust store that does not parse or has a bad entry.
    #[error(transparent)]
    TrustStore(#[from] TrustStoreError),
    /// A public key that is not acceptable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A date or field value that breaks the format's rules.
    #[error(transparent)]
    Field(#[from] FieldError),
    /// A certificate chain or trust bundle that does not hold together.
    #[error(transparent)]
    Cert(#[from] CertError),
    /// GS1 data that does not follow the GS1 syntax or the hallmark GS1 profile.
    // Boxed: its context (AI, reason) would double the size of every `Error`.
    #[error(transparent)]
    Gs1(Box<crate::gs1::Gs1Error>),
    /// An aggregation manifest, or a set of them, that breaks its rules.
    #[error(transparent)]
    Aggregation(#[from] AggregationError),
}

impl From<crate::gs1::Gs1Error> for Error {
    fn from(e: crate::gs1::Gs1Error) -> Error {
        Error::Gs1(Box::new(e))
    }
}

/// What is wrong with the text, length or version of a code or document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input is longer than the decoder accepts; refused before any work.
    #[error("input is {len} bytes long; the most a {document} may be is {max}")]
    TooLong {
        /// What was being decoded.
        document: Document,
        /// Length of the input.
        len: usize,
        /// The limit that applied.
        max: usize,
    },
    /// Nothing but whitespace and grouping characters.
    #[error("input is empty")]
    Empty,
    /// A character outside Crockford base32 and the grouping characters `-` and space.
    #[error(
        "invalid character {ch:?} at character {} of the code: codes use 0-9 and A-Z without I, L, O, U",
        position.saturating_add(1)
    )]
    InvalidCharacter {
        /// The offending character.
        ch: char,
        /// Its character position in the code part of the input (0-based).
        position: usize,
    },
    /// A URL-form input whose last path segment cannot hold a code.
    #[error("not a hallmark URL: {reason}")]
    InvalidUrl {
        /// What was wrong.
        reason: &'static str,
    },
    /// No byte string encodes to this many base32 characters.
    #[error(
        "{} cannot be a whole number of bytes (truncated or extra characters?)",
        crate::plural(*len, "base32 character", "base32 characters")
    )]
    InvalidLength {
        /// Number of base32 characters after removing grouping.
        len: usize,
    },
    /// The last character carries non-zero padding bits, so this is not the one
    /// canonical spelling of the bytes.
    #[error("non-canonical base32: the last character carries stray bits")]
    NonCanonicalText,
    /// The decoded bytes are shorter than the smallest possible document.
    #[error(
        "{document} is {} long; a complete {document} has at least {min} (truncated?)",
        crate::plural(*len, "byte", "bytes")
    )]
    Truncated {
        /// What was being decoded.
        document: Document,
        /// Decoded length.
        len: usize,
        /// Minimum length of a version 1 document of this kind.
        min: usize,
    },
    /// The version byte is not one this verifier implements.
    #[error("unsupported {document} version {version} (this verifier implements version 1)")]
    UnsupportedVersion {
        /// What was being decoded.
        document: Document,
        /// The version byte found.
        version: u8,
    },
}

/// Why a well-formed code or document was refused by the signature and key checks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No trusted key has this key id.
    #[error("unknown key {kid}: no key with this id is in the trust store")]
    UnknownKey {
        /// The key id the code names.
        kid: KeyId,
    },
    /// No trusted key that may sign codes has this short key id and may sign
    /// for this GTIN's company (a GS1 unit, docs/FORMAT.md §21.3).
    #[error("unknown key {short}: no key with this short id may sign GS1 units for GTIN {gtin}")]
    UnknownGs1Key {
        /// The short key id AI 8030 names, 4 hex digits.
        short: String,
        /// The unit's GTIN.
        gtin: String,
    },
    /// The signature does not verify under the named key (an altered or forged document).
    #[error("bad signature: the {document} does not verify under key {key_name} ({kid})")]
    BadSignature {
        /// What was signed.
        document: Document,
        /// The key id the document names.
        kid: KeyId,
        /// The trusted key's name.
        key_name: String,
    },
    /// The signature's S component is not reduced modulo the group order.
    #[error("bad signature: non-canonical signature scalar (S >= L)")]
    NonCanonicalSignature,
    /// The signing key was not valid on the document's date.
    #[error("key {key_name} ({kid}) is not valid on {date}: valid {}", validity(*.valid_from, *.valid_until))]
    KeyNotValid {
        /// The key id the code names.
        kid: KeyId,
        /// The trusted key's name.
        key_name: String,
        /// The code's date of manufacture (a snapshot's date of issue).
        date: Date,
        /// Start of the key's validity, if bounded.
        valid_from: Option<Date>,
        /// End of the key's validity (inclusive), if bounded.
        valid_until: Option<Date>,
    },
    /// The document names a key that may not sign it: a key the trust store
    /// marks `revocation_signer = true` signs revocation snapshots only, and a
    /// certified key signs only what its certificate's usage allows.
    #[error("key {key_name} ({kid}) may not sign {document}s: {}", usage_words(*.allowed))]
    KeyUsage {
        /// The key id the document names.
        kid: KeyId,
        /// The trusted key's name.
        key_name: String,
        /// What it signed.
        document: Document,
        /// What it may sign.
        allowed: crate::Usage,
    },
    /// The code or document names a root key, which certifies line keys and
    /// signs nothing else.
    #[error(
        "key {key_name} ({kid}) is a root key: it certifies line keys and signs no {document}s"
    )]
    RootKey {
        /// The root's key id.
        kid: KeyId,
        /// Its name.
        key_name: String,
        /// What it was found on.
        document: Document,
    },
    /// A genuine signature by a certified key, on a code outside its
    /// certificate's constraints.
    #[error("key {key_name} ({kid}) is not certified for this {}: {value:?} is outside its certificate's {} constraint", constraint.as_str(), constraint.as_str())]
    OutOfScope {
        /// The key id.
        kid: KeyId,
        /// The certified key's name.
        key_name: String,
        /// Which constraint.
        constraint: crate::Constraint,
        /// The code's value for it.
        value: String,
    },
    /// The code is genuine but past its expiry date.
    #[error("expired on {expiry} (today is {today})")]
    Expired {
        /// The payload's expiry date.
        expiry: Date,
        /// The date verification ran on.
        today: Date,
    },
    /// A signed revocation snapshot from a key the trust store does not mark as a
    /// revocation signer.
    #[error(
        "revocation snapshot signed by key {key_name} ({kid}), which the trust store does not mark as a revocation signer (revocation_signer = true)"
    )]
    NotRevocationSigner {
        /// The signing key.
        kid: KeyId,
        /// Its name.
        key_name: String,
    },
}

/// A certificate or trust bundle that does not hold together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// A certificate signed by a key that is not a root.
    #[error(
        "certificate signed by {issuer} ({kid}), which is a certified or plain key, not a root: chains have exactly two levels (root, then line key)"
    )]
    ChainTooLong {
        /// The signer's key id.
        kid: KeyId,
        /// Its name.
        issuer: String,
    },
    /// A certificate signed by a key no `[[root]]` of the trust store has.
    #[error(
        "certificate signed by unknown root {kid}: no [[root]] with this key id is in the trust store"
    )]
    UnknownRoot {
        /// The key id the certificate names.
        kid: KeyId,
    },
    /// A certificate whose subject is a root key.
    #[error("certificate {name} certifies root key {kid}: a root signs certificates only")]
    SubjectIsRoot {
        /// The certificate's name.
        name: String,
        /// The subject's key id.
        kid: KeyId,
    },
    /// A certificate window outside its root's validity.
    #[error("certificate {name} ({from} to {until}) lies outside the window of its root {root} ({root_kid}): {}", window(*.root_from, *.root_until))]
    WindowOutsideRoot {
        /// The certificate's name.
        name: String,
        /// Its first date.
        from: Date,
        /// Its last date.
        until: Date,
        /// The root's name.
        root: String,
        /// The root's key id.
        root_kid: KeyId,
        /// The root's first date.
        root_from: Option<Date>,
        /// The root's last date.
        root_until: Option<Date>,
    },
    /// Two different certificates (or a certificate and a trust-store key)
    /// for one key id.
    #[error(
        "two different entries for key id {kid} ({first} and {second}): one certificate per key"
    )]
    Conflict {
        /// The key id.
        kid: KeyId,
        /// The first entry's name.
        first: String,
        /// The second entry's name.
        second: String,
    },
    /// An entry of a trust bundle that does not verify; `source` says why.
    /// The message counts entries from 1, as people do.
    #[error("trust bundle {list} entry {}: {source}", index.saturating_add(1))]
    BundleEntry {
        /// Which list: `certificates` or `batches`.
        list: &'static str,
        /// The entry's index, from 0.
        index: usize,
        /// Why it was refused.
        #[source]
        source: Box<Error>,
    },
    /// A receipt that is not for the manifest beside it. The message counts
    /// entries from 1.
    #[error(
        "trust bundle batches entry {}: the receipt is for another manifest ({reason})",
        index.saturating_add(1)
    )]
    ReceiptMismatch {
        /// The entry's index, from 0.
        index: usize,
        /// Which field differs.
        reason: &'static str,
    },
}

/// What a key may sign, for [`VerifyError::KeyUsage`]'s message.
fn usage_words(allowed: crate::Usage) -> String {
    if allowed == crate::Usage::REGISTRY {
        "it is a revocation signer (registry usage): it signs revocation snapshots, receipts and trust bundles only, never codes or manifests".to_owned()
    } else {
        format!("it may sign {allowed} only")
    }
}

fn window(from: Option<Date>, until: Option<Date>) -> String {
    validity(from, until)
}

/// Where in a trust store file an entry starts: `line N: ` or nothing.
fn at(line: &Option<usize>) -> String {
    match line {
        Some(n) => format!("line {n}: "),
        None => String::new(),
    }
}

/// What is wrong with a trust store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustStoreError {
    /// The file is larger than a trust store may be.
    #[error("trust store: file is {len} bytes; the limit is {max}")]
    TooLarge {
        /// The file's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A byte order mark anywhere but once at the very start.
    #[error("trust store: a byte order mark is allowed only once, at the start")]
    ByteOrderMark,
    /// Not TOML of the trust store's shape; the parser's error is the source.
    #[error("trust store: {}{}", at(.line), .source.message())]
    Syntax {
        /// The 1-based line the parser stopped at, if it said.
        line: Option<usize>,
        /// The TOML parser's error.
        #[source]
        source: toml::de::Error,
    },
    /// A `valid_from` or `valid_until` that is not a plain date.
    #[error("trust store: {}key {name}: {field} must be a date like 2024-01-31", at(.line))]
    InvalidDate {
        /// The entry's name.
        name: String,
        /// The field (`valid_from` or `valid_until`).
        field: &'static str,
        /// The 1-based line of the entry's name, if known.
        line: Option<usize>,
    },
    /// `valid_from` after `valid_until`.
    #[error("trust store: {}key {name}: valid_from {from} is after valid_until {until}", at(.line))]
    ValidityOrder {
        /// The entry's name.
        name: String,
        /// Its `valid_from`.
        from: Date,
        /// Its `valid_until`.
        until: Date,
        /// The 1-based line of the entry's name, if known.
        line: Option<usize>,
    },
    /// A trusted key is a small-order ("weak") point: anyone could forge for it.
    #[error("trust store: {}key {name} is a weak (small-order) public key and is refused", at(.line))]
    WeakKey {
        /// The entry's name.
        name: String,
        /// The 1-based line of the entry's name, if known.
        line: Option<usize>,
    },
    /// A trusted key is not a valid Ed25519 public key.
    #[error("trust store: {}key {name} is not a valid Ed25519 public key", at(.line))]
    InvalidPublicKey {
        /// The entry's name.
        name: String,
        /// The 1-based line of the entry's name, if known.
        line: Option<usize>,
    },
    /// An entry's name breaks the key-name rule ([`Name`](crate::Name)).
    #[error(
        "trust store: {}key name {name:?}: use 1 to 64 characters of A-Z a-z 0-9 . _ - (not starting with .)",
        at(.line)
    )]
    InvalidName {
        /// The name (cut to 64 characters).
        name: String,
        /// The 1-based line of the entry's name, if known.
        line: Option<usize>,
    },
    /// Two trusted keys share a key id (or the same key is listed twice).
    #[error("trust store: {}{}", at(.line), duplicate_key_id(first, second, *kid))]
    DuplicateKeyId {
        /// The key id.
        kid: KeyId,
        /// The first entry's name.
        first: String,
        /// The second entry's name.
        second: String,
        /// The 1-based line of the second entry's name, if known.
        line: Option<usize>,
    },
    /// Two keys that could both sign GS1 units of one company prefix share a
    /// short key id (the two bytes AI 8030 carries): a GS1 unit could not say
    /// which of them signed it.
    #[error(
        "trust store: {}keys {first} and {second} share the short key id {short} and may both sign GS1 data for company prefix {prefix}: give them gs1_prefixes that do not overlap, or replace one key",
        at(.line)
    )]
    AmbiguousShortKid {
        /// The short key id.
        short: crate::gs1::ShortKid,
        /// The first key's name.
        first: String,
        /// The second key's name.
        second: String,
        /// A company prefix both may sign for (`any` when neither is limited).
        prefix: String,
        /// The 1-based line of the second entry, if known.
        line: Option<usize>,
    },
    /// A `[[root]]` with `revocation_signer`: a root signs certificates only.
    #[error("trust store: {}root {name}: a root signs certificates only; revocation_signer is not allowed on [[root]]", at(.line))]
    RootRevocationSigner {
        /// The root's name.
        name: String,
        /// The 1-based line of the entry's name, if known.
        line: Option<usize>,
    },
    /// A `[[certificate]]` that does not verify against the file's roots.
    #[error("trust store: {}certificate: {source}", at(.line))]
    InvalidCertificate {
        /// The 1-based line of the entry's `data`, if known.
        line: Option<usize>,
        /// Why it was refused.
        #[source]
        source: Box<Error>,
    },
}

/// Why a public key on its own is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A small-order ("weak") point: anyone could forge for it.
    #[error("a weak (small-order) public key is refused")]
    Weak,
    /// Not 64 hex digits, or not the one encoding of a valid Ed25519 point.
    #[error("not a valid Ed25519 public key")]
    Invalid,
}

/// A date or field value that breaks the format's rules.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A date that is not `YYYY-MM-DD` in 1970-01-01..=9999-12-31.
    #[error("invalid date {input:?}: expected YYYY-MM-DD between 1970-01-01 and 9999-12-31")]
    InvalidDate {
        /// The input (cut to 32 characters).
        input: String,
    },
    /// A field value that breaks the format's rules (when building a payload).
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
}

fn validity(from: Option<Date>, until: Option<Date>) -> String {
    match (from, until) {
        (Some(f), Some(u)) => format!("from {f} until {u}"),
        (Some(f), None) => format!("from {f}"),
        (None, Some(u)) => format!("until {u}"),
        (None, None) => "always".to_owned(),
    }
}

/// What is wrong with a payload's CBOR.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// Not well-formed CBOR (or truncated, or invalid UTF-8 in a text string).
    #[error("invalid CBOR: {kind} at byte {at}")]
    InvalidCbor {
        /// What is not well-formed.
        kind: CborError,
        /// Where, in bytes from 0: the item's head, or where the missing
        /// bytes of a cut-off item, argument or string should begin.
        at: usize,
    },
    /// Bytes follow the payload's map.
    #[error("{} after the payload", crate::plural(*count, "trailing byte", "trailing bytes"))]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The payload is not a CBOR map.
    #[error("the payload must be a CBOR map")]
    NotAMap,
    /// A map key that is not an unsigned integer.
    #[error("map keys must be unsigned integers")]
    KeyNotUnsigned,
    /// Map keys out of order.
    #[error("map key {key} follows key {previous}: keys must be in ascending order")]
    UnsortedKeys {
        /// The key out of place.
        key: u64,
        /// The key before it.
        previous: u64,
    },
    /// The same map key twice.
    #[error("map key {key} appears twice")]
    DuplicateKey {
        /// The repeated key.
        key: u64,
    },
    /// Valid CBOR, but not the deterministic encoding (non-minimal integer or length,
    /// indefinite length, unsorted or duplicate keys in a nested map).
    #[error(
        "not deterministic CBOR (non-minimal integer or length, indefinite length, or unsorted nested map)"
    )]
    NonCanonical,
    /// A CBOR item type the format does not allow (floats, tags, simple values).
    #[error("{0} not allowed in a payload")]
    Unsupported(&'static str),
    /// Nested deeper than the format allows.
    #[error("nested more than {0} levels deep")]
    TooDeep(usize),
    /// A required field is absent.
    #[error("missing required field {0}")]
    MissingField(&'static str),
    /// A field has the wrong CBOR type.
    #[error("field {field} must be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// The type it must have.
        expected: &'static str,
    },
    /// A revocation snapshot's sequence number above
    /// [`MAX_SEQUENCE`](crate::MAX_SEQUENCE) (2^53 − 1).
    #[error("snapshot sequence {sequence} is above the largest allowed, 2^53-1 = 9007199254740991")]
    SequenceOutOfRange {
        /// The sequence number found.
        sequence: u64,
    },
    /// A field's value is outside its range or character set.
    #[error("field {field}: {reason}")]
    InvalidValue {
        /// The field.
        field: &'static str,
        /// What was wrong.
        reason: &'static str,
    },
}

/// How a payload's bytes fail to be well-formed CBOR (RFC 8949 §3, appendix F),
/// the cases of [`PayloadError::InvalidCbor`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CborError {
    /// The input ends where an item's head is expected.
    #[error("truncated item")]
    Truncated,
    /// An item's argument or a string's content runs past the end of the input.
    #[error("length beyond the end of the input")]
    LengthBeyondEnd,
    /// Additional information 28, 29 or 30.
    #[error("reserved additional information")]
    ReservedAdditionalInfo,
    /// An integer (major type 0 or 1) with indefinite length.
    #[error("indefinite length on an integer")]
    IndefiniteInteger,
    /// A tag (major type 6) with indefinite length.
    #[error("indefinite length on a tag")]
    IndefiniteTag,
    /// A text string that is not UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A chunk of an indefinite-length string that is not a definite-length
    /// string of the same major type.
    #[error(
        "a chunk of an indefinite-length string that is not a definite-length string of the same type"
    )]
    BadStringChunk,
    /// A simple value below 32 written in two bytes (`f8 00` to `f8 1f`).
    #[error("a two-byte simple value below 32 (not well-formed)")]
    ShortSimpleInTwoBytes,
    /// A simple value no registry assigns.
    #[error("an unassigned simple value")]
    UnassignedSimple,
    /// A break (`ff`) where an item is expected.
    #[error("a break where an item is expected")]
    UnexpectedBreak,
}

impl From<PayloadError> for Error {
    fn from(e: PayloadError) -> Error {
        Error::Payload(e)
    }
}

impl Error {
    /// A stable, kebab-case name for this error (used by test vectors and `--json`).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Decode(e) => e.kind(),
            Error::Payload(e) => e.kind(),
            Error::Verify(e) => e.kind(),
            Error::TrustStore(e) => e.kind(),
            Error::Key(e) => e.kind(),
            Error::Field(e) => e.kind(),
            Error::Cert(e) => e.kind(),
            Error::Gs1(e) => e.kind(),
            Error::Aggregation(e) => e.kind(),
        }
    }

    /// The verdict word for a code refused with this error: `malformed`,
    /// `unknown-key`, `bad-signature`, `key-not-valid` or `expired`.
    ///
    /// Errors that are not about a code (trust store, keys, dates, fields, and
    /// [`VerifyError::NotRevocationSigner`]) are `error`.
    pub fn verdict(&self) -> &'static str {
        match self {
            Error::Decode(_) | Error::Payload(_) | Error::Gs1(_) => "malformed",
            Error::Verify(e) => e.verdict(),
            Error::TrustStore(_)
            | Error::Key(_)
            | Error::Field(_)
            | Error::Cert(_)
            | Error::Aggregation(_) => "error",
        }
    }
}

impl DecodeError {
    /// A stable, kebab-case name for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::TooLong { .. } => "too-long",
            DecodeError::Empty => "empty",
            DecodeError::InvalidCharacter { .. } => "invalid-character",
            DecodeError::InvalidUrl { .. } => "invalid-url",
            DecodeError::InvalidLength { .. } => "invalid-length",
            DecodeError::NonCanonicalText => "non-canonical-text",
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::UnsupportedVersion { .. } => "unsupported-version",
        }
    }
}

impl VerifyError {
    /// A stable, kebab-case name for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::UnknownKey { .. } | VerifyError::UnknownGs1Key { .. } => "unknown-key",
            VerifyError::BadSignature { .. } => "bad-signature",
            VerifyError::NonCanonicalSignature => "non-canonical-signature",
            VerifyError::KeyNotValid { .. } => "key-not-valid",
            VerifyError::KeyUsage { .. } => "key-usage",
            VerifyError::Expired { .. } => "expired",
            VerifyError::NotRevocationSigner { .. } => "not-revocation-signer",
            VerifyError::RootKey { .. } => "root-key",
            VerifyError::OutOfScope { constraint, .. } => match constraint {
                crate::Constraint::Part => "part-out-of-scope",
                crate::Constraint::Lot => "lot-out-of-scope",
                crate::Constraint::Serial => "serial-out-of-scope",
                crate::Constraint::Gs1Prefix => "gtin-out-of-scope",
            },
        }
    }

    /// The verdict word (see [`Error::verdict`]).
    pub fn verdict(&self) -> &'static str {
        match self {
            VerifyError::UnknownKey { .. } | VerifyError::UnknownGs1Key { .. } => "unknown-key",
            VerifyError::BadSignature { .. } | VerifyError::NonCanonicalSignature => {
                "bad-signature"
            }
            VerifyError::KeyNotValid { .. }
            | VerifyError::KeyUsage { .. }
            | VerifyError::RootKey { .. } => "key-not-valid",
            VerifyError::OutOfScope { .. } => "out-of-scope",
            VerifyError::Expired { .. } => "expired",
            VerifyError::NotRevocationSigner { .. } => "error",
        }
    }
}

impl CertError {
    /// A stable, kebab-case name for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            CertError::ChainTooLong { .. } => "chain-too-long",
            CertError::UnknownRoot { .. } => "unknown-root",
            CertError::SubjectIsRoot { .. } => "subject-is-root",
            CertError::WindowOutsideRoot { .. } => "window-outside-root",
            CertError::Conflict { .. } => "certificate-conflict",
            CertError::BundleEntry { source, .. } => source.kind(),
            CertError::ReceiptMismatch { .. } => "receipt-mismatch",
        }
    }
}

/// [`TrustStoreError::DuplicateKeyId`]'s message after its line: the same
/// key listed again, or another name for a key id already present.
fn duplicate_key_id(first: &str, second: &str, kid: KeyId) -> String {
    if first == second {
        format!("key {first} is already in the trust store (kid {kid})")
    } else {
        format!("key {second} is already in the trust store as {first} (kid {kid})")
    }
}

impl TrustStoreError {
    /// A stable, kebab-case name for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            TrustStoreError::TooLarge { .. }
            | TrustStoreError::ByteOrderMark
            | TrustStoreError::Syntax { .. }
            | TrustStoreError::InvalidDate { .. }
            | TrustStoreError::ValidityOrder { .. } => "trust-store",
            TrustStoreError::WeakKey { .. } => "weak-key",
            TrustStoreError::InvalidPublicKey { .. } => "invalid-public-key",
            TrustStoreError::InvalidName { .. } => "invalid-field",
            TrustStoreError::DuplicateKeyId { .. } => "duplicate-key-id",
            TrustStoreError::AmbiguousShortKid { .. } => "ambiguous-short-key-id",
            TrustStoreError::RootRevocationSigner { .. } => "trust-store",
            TrustStoreError::InvalidCertificate { source, .. } => source.kind(),
        }
    }

    /// The 1-based line of the trust store the error is about, if known.
    pub fn line(&self) -> Option<usize> {
        match self {
            TrustStoreError::TooLarge { .. } | TrustStoreError::ByteOrderMark => None,
            TrustStoreError::Syntax { line, .. }
            | TrustStoreError::InvalidDate { line, .. }
            | TrustStoreError::ValidityOrder { line, .. }
            | TrustStoreError::WeakKey { line, .. }
            | TrustStoreError::InvalidPublicKey { line, .. }
            | TrustStoreError::InvalidName { line, .. }
            | TrustStoreError::RootRevocationSigner { line, .. }
            | TrustStoreError::InvalidCertificate { line, .. }
            | TrustStoreError::AmbiguousShortKid { line, .. }
            | TrustStoreError::DuplicateKeyId { line, .. } => *line,
        }
    }

    /// The same error, said of the entry at `line` (for errors about an entry).
    pub(crate) fn at_line(mut self, at: Option<usize>) -> TrustStoreError {
        match &mut self {
            TrustStoreError::TooLarge { .. }
            | TrustStoreError::ByteOrderMark
            | TrustStoreError::Syntax { .. } => {}
            TrustStoreError::InvalidDate { line, .. }
            | TrustStoreError::ValidityOrder { line, .. }
            | TrustStoreError::WeakKey { line, .. }
            | TrustStoreError::InvalidPublicKey { line, .. }
            | TrustStoreError::InvalidName { line, .. }
            | TrustStoreError::RootRevocationSigner { line, .. }
            | TrustStoreError::InvalidCertificate { line, .. }
            | TrustStoreError::AmbiguousShortKid { line, .. }
            | TrustStoreError::DuplicateKeyId { line, .. } => *line = at,
        }
        self
    }
}

impl KeyError {
    /// A stable, kebab-case name for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            KeyError::Weak => "weak-key",
            KeyError::Invalid => "invalid-public-key",
        }
    }
}

impl FieldError {
    /// A stable, kebab-case name for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            FieldError::InvalidDate { .. } => "invalid-date",
            FieldError::InvalidField { .. } => "invalid-field",
        }
    }
}

impl PayloadError {
    /// A stable, kebab-case name for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            PayloadError::InvalidCbor { .. } => "invalid-cbor",
            PayloadError::TrailingBytes { .. } => "trailing-bytes",
            PayloadError::NotAMap => "not-a-map",
            PayloadError::KeyNotUnsigned => "key-not-unsigned",
            PayloadError::UnsortedKeys { .. } => "unsorted-keys",
            PayloadError::DuplicateKey { .. } => "duplicate-key",
            PayloadError::NonCanonical => "non-canonical-cbor",
            PayloadError::Unsupported(_) => "unsupported-cbor",
            PayloadError::TooDeep(_) => "too-deep",
            PayloadError::MissingField(_) => "missing-field",
            PayloadError::WrongType { .. } => "wrong-type",
            PayloadError::SequenceOutOfRange { .. } => "sequence-out-of-range",
            PayloadError::InvalidValue { .. } => "invalid-value",
        }
    }
}

#[cfg(test)]
mod tests;

/// Why an aggregation manifest (docs/FORMAT.md §22), or a set of nested ones,
/// was refused although its signature may be fine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AggregationError {
    /// A manifest with no children.
    #[error("the aggregation lists no children")]
    Empty,
    /// The count field differs from the number of children listed.
    #[error("the aggregation says it holds {} but lists {listed}", crate::plural(*count, "child", "children"))]
    CountMismatch {
        /// The signed count.
        count: u64,
        /// Children actually listed.
        listed: u64,
    },
    /// One unit (or nested manifest) listed twice.
    #[error("child {position} ({unit}) is listed twice (first as child {first})")]
    DuplicateChild {
        /// 1-based position of the second listing.
        position: u64,
        /// 1-based position of the first.
        first: u64,
        /// The unit, as [`crate::aggregation::UnitId`] displays it, or `manifest:HEX`.
        unit: String,
    },
    /// A child that is the parent itself.
    #[error("child {position} ({unit}) is the parent itself")]
    ChildIsParent {
        /// 1-based position.
        position: u64,
        /// The unit.
        unit: String,
    },
    /// A child that is not a well-formed code, GS1 unit or digest.
    #[error("child {position} is not a well-formed unit: {reason}")]
    BadChild {
        /// 1-based position.
        position: u64,
        /// Why, in words.
        reason: String,
    },
    /// A parent that is not a well-formed code, GS1 unit or SSCC.
    #[error("the parent is not well-formed: {reason}")]
    BadParent {
        /// Why, in words.
        reason: String,
    },
    /// An SSCC that is not 18 digits with a valid check digit.
    #[error("invalid SSCC {sscc:?}: {reason}")]
    InvalidSscc {
        /// What was given (at most 32 characters).
        sscc: String,
        /// Why.
        reason: &'static str,
    },
    /// A location that is empty, too long or holds control characters.
    #[error("invalid location: {reason}")]
    InvalidLocation {
        /// Why.
        reason: &'static str,
    },
    /// A business step other than packing and assembling.
    #[error("unknown business step {0:?}: packing or assembling")]
    UnknownBizStep(String),
    /// Nested manifests that reach a parent again below itself.
    #[error("nested aggregations form a cycle: {unit} contains itself")]
    Cycle {
        /// The unit reached twice.
        unit: String,
    },
    /// A nested manifest named by digest but not given.
    #[error("nested aggregation manifest {digest} is named but was not given")]
    MissingNested {
        /// Its digest, hex.
        digest: String,
    },
    /// Manifests given that do not form one tree.
    #[error("the aggregation manifests do not form one tree: {reason}")]
    NotOneTree {
        /// Why.
        reason: String,
    },
    /// Nesting deeper than the limit.
    #[error("nested aggregations deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}

impl AggregationError {
    /// A stable, kebab-case name for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            AggregationError::Empty => "empty-aggregation",
            AggregationError::CountMismatch { .. } => "count-mismatch",
            AggregationError::DuplicateChild { .. } => "duplicate-child",
            AggregationError::ChildIsParent { .. } => "child-is-parent",
            AggregationError::BadChild { .. } => "bad-child",
            AggregationError::BadParent { .. } => "bad-parent",
            AggregationError::InvalidSscc { .. } => "invalid-sscc",
            AggregationError::InvalidLocation { .. } => "invalid-location",
            AggregationError::UnknownBizStep(_) => "unknown-bizstep",
            AggregationError::Cycle { .. } => "aggregation-cycle",
            AggregationError::MissingNested { .. } => "missing-nested-manifest",
            AggregationError::NotOneTree { .. } => "not-one-tree",
            AggregationError::TooDeep { .. } => "too-deep",
        }
    }
}
