//! The one error type of the verifier crate.

use crate::{Date, KeyId};

/// Why a code, a trust store or a date was refused.
///
/// Each variant carries what a person needs to see what went wrong. [`Error::kind`]
/// gives a stable kebab-case name per variant (used by the test vectors and JSON
/// output) and [`Error::verdict`] the coarse verdict word a user acts on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is longer than the decoder accepts; refused before any work.
    #[error("input is {len} bytes long; the most a code may be is {max}")]
    TooLong {
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
        "invalid character {ch:?} at position {position}: codes use 0-9 and A-Z without I, L, O, U"
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
        "{len} base32 characters cannot be a whole number of bytes (truncated or extra characters?)"
    )]
    InvalidLength {
        /// Number of base32 characters after removing grouping.
        len: usize,
    },
    /// The last character carries non-zero padding bits, so this is not the one
    /// canonical spelling of the bytes.
    #[error("non-canonical base32: the last character carries stray bits")]
    NonCanonicalText,
    /// The decoded code is shorter than the smallest possible code.
    #[error("code is {len} bytes long; a complete code has at least {min} (truncated?)")]
    Truncated {
        /// Decoded length.
        len: usize,
        /// Minimum length of a version 1 code.
        min: usize,
    },
    /// The version byte is not one this verifier implements.
    #[error("unsupported code version {version} (this verifier implements version 1)")]
    UnsupportedVersion {
        /// The version byte found.
        version: u8,
    },
    /// The payload is not valid deterministic CBOR of the v1 shape.
    #[error("malformed payload: {0}")]
    Payload(#[from] PayloadError),
    /// No trusted key has this key id.
    #[error("unknown key {kid}: no key with this id is in the trust store")]
    UnknownKey {
        /// The key id the code names.
        kid: KeyId,
    },
    /// The signature does not verify under the named key (an altered or forged code).
    #[error("bad signature: the code does not verify under key {key_name} ({kid})")]
    BadSignature {
        /// The key id the code names.
        kid: KeyId,
        /// The trusted key's name.
        key_name: String,
    },
    /// The signature's S component is not reduced modulo the group order.
    #[error("bad signature: non-canonical signature scalar (S >= L)")]
    NonCanonicalSignature,
    /// The signing key was not valid on the code's date of manufacture.
    #[error("key {key_name} ({kid}) is not valid on {date}: valid {}", validity(*.valid_from, *.valid_until))]
    KeyNotValid {
        /// The key id the code names.
        kid: KeyId,
        /// The trusted key's name.
        key_name: String,
        /// The code's date of manufacture.
        date: Date,
        /// Start of the key's validity, if bounded.
        valid_from: Option<Date>,
        /// End of the key's validity (inclusive), if bounded.
        valid_until: Option<Date>,
    },
    /// The code names a key that may not sign codes: a key the trust store
    /// marks `revocation_signer = true` signs revocation snapshots only.
    #[error(
        "key {key_name} ({kid}) is a revocation signer: it signs revocation snapshots only, never codes"
    )]
    KeyUsage {
        /// The key id the code names.
        kid: KeyId,
        /// The trusted key's name.
        key_name: String,
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
    /// A date that is not `YYYY-MM-DD` in 1970-01-01..=9999-12-31.
    #[error("invalid date {input:?}: expected YYYY-MM-DD between 1970-01-01 and 9999-12-31")]
    InvalidDate {
        /// The input (cut to 32 characters).
        input: String,
    },
    /// A trust store that does not parse or has a bad entry.
    #[error("trust store: {0}")]
    TrustStore(String),
    /// A trusted key is a small-order ("weak") point: anyone could forge for it.
    #[error("trust store: key {name} is a weak (small-order) public key and is refused")]
    WeakKey {
        /// The entry's name.
        name: String,
    },
    /// A trusted key is not a valid Ed25519 public key.
    #[error("trust store: key {name} is not a valid Ed25519 public key")]
    InvalidPublicKey {
        /// The entry's name.
        name: String,
    },
    /// Two trusted keys share a key id (or the same key is listed twice).
    #[error("trust store: keys {first} and {second} have the same key id {kid}")]
    DuplicateKeyId {
        /// The key id.
        kid: KeyId,
        /// The first entry's name.
        first: String,
        /// The second entry's name.
        second: String,
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
    #[error("invalid CBOR: {0}")]
    InvalidCbor(String),
    /// Bytes follow the payload's map.
    #[error("{count} trailing byte(s) after the payload")]
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

impl Error {
    /// A stable, kebab-case name for this error (used by test vectors and `--json`).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::TooLong { .. } => "too-long",
            Error::Empty => "empty",
            Error::InvalidCharacter { .. } => "invalid-character",
            Error::InvalidUrl { .. } => "invalid-url",
            Error::InvalidLength { .. } => "invalid-length",
            Error::NonCanonicalText => "non-canonical-text",
            Error::Truncated { .. } => "truncated",
            Error::UnsupportedVersion { .. } => "unsupported-version",
            Error::Payload(p) => p.kind(),
            Error::UnknownKey { .. } => "unknown-key",
            Error::BadSignature { .. } => "bad-signature",
            Error::NonCanonicalSignature => "non-canonical-signature",
            Error::KeyNotValid { .. } => "key-not-valid",
            Error::KeyUsage { .. } => "key-usage",
            Error::Expired { .. } => "expired",
            Error::NotRevocationSigner { .. } => "not-revocation-signer",
            Error::InvalidDate { .. } => "invalid-date",
            Error::TrustStore(_) => "trust-store",
            Error::WeakKey { .. } => "weak-key",
            Error::InvalidPublicKey { .. } => "invalid-public-key",
            Error::DuplicateKeyId { .. } => "duplicate-key-id",
            Error::InvalidField { .. } => "invalid-field",
        }
    }

    /// The verdict word for a code refused with this error: `malformed`,
    /// `unknown-key`, `bad-signature`, `key-not-valid` or `expired`.
    ///
    /// Errors that are not about a code (trust store, dates) are `error`.
    pub fn verdict(&self) -> &'static str {
        match self {
            Error::TooLong { .. }
            | Error::Empty
            | Error::InvalidCharacter { .. }
            | Error::InvalidUrl { .. }
            | Error::InvalidLength { .. }
            | Error::NonCanonicalText
            | Error::Truncated { .. }
            | Error::UnsupportedVersion { .. }
            | Error::Payload(_) => "malformed",
            Error::UnknownKey { .. } => "unknown-key",
            Error::BadSignature { .. } | Error::NonCanonicalSignature => "bad-signature",
            Error::KeyNotValid { .. } | Error::KeyUsage { .. } => "key-not-valid",
            Error::Expired { .. } => "expired",
            Error::InvalidDate { .. }
            | Error::NotRevocationSigner { .. }
            | Error::TrustStore(_)
            | Error::WeakKey { .. }
            | Error::InvalidPublicKey { .. }
            | Error::DuplicateKeyId { .. }
            | Error::InvalidField { .. } => "error",
        }
    }
}

impl PayloadError {
    /// A stable, kebab-case name for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            PayloadError::InvalidCbor(_) => "invalid-cbor",
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
