//! The issuer crate's error type.

use std::path::PathBuf;

/// Why an issuer operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A key file or public key file already exists; keys are never overwritten.
    #[error("{} already exists; refusing to overwrite a key file", path.display())]
    KeyExists {
        /// The file.
        path: PathBuf,
    },
    /// A secret key file is readable by group or others.
    #[error(
        "{} is readable by other users (mode {mode:04o}); secret keys must be private: run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file that does not parse. Never echoes the file's content.
    #[error("{}: not a valid hallmark {what} file: {reason} (line {line})", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// "secret key" or "public key".
        what: &'static str,
        /// The line at fault (1-based; 0 for the whole file).
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// The key file is encrypted and no passphrase was available.
    #[error("{}: the key file is encrypted and no passphrase was given", path.display())]
    Encrypted {
        /// The file.
        path: PathBuf,
    },
    /// The passphrase does not open the key file.
    #[error("{}: wrong passphrase (or the key file was altered)", path.display())]
    WrongPassphrase {
        /// The key file.
        path: PathBuf,
    },
    /// A corrupt ledger record (other than a torn final record).
    #[error("{}: ledger record on line {line} is corrupt ({reason}); refusing to mint until it is repaired", path.display())]
    LedgerCorrupt {
        /// The ledger file.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// What was wrong (boxed: it can hold a parser's error).
        #[source]
        reason: Box<LedgerLineError>,
    },
    /// Another process holds the ledger.
    #[error("{}: another mint is using this ledger; try again when it finishes", path.display())]
    LedgerBusy {
        /// The ledger file.
        path: PathBuf,
    },
    /// A requested serial range overlaps serials this key already issued.
    #[error(
        "serials {} overlap serials {} already issued by key {kid} (batch minted at {})",
        hallmark::span(start, end),
        hallmark::span(other_start, other_end),
        hallmark::rfc3339(*other_time)
    )]
    SerialOverlap {
        /// The key id.
        kid: hallmark::KeyId,
        /// First requested serial.
        start: u64,
        /// Last requested serial.
        end: u64,
        /// First serial of the overlapping batch.
        other_start: u64,
        /// Last serial of the overlapping batch.
        other_end: u64,
        /// When that batch was minted (seconds since 1970).
        other_time: u64,
    },
    /// The counter space 0..2^63 cannot hold the request.
    #[error(
        "serial range exhausted: {} from {start} would pass 2^63-1 (9223372036854775807)",
        hallmark::plural(*count, "serial", "serials")
    )]
    SerialsExhausted {
        /// First serial.
        start: u64,
        /// How many were asked for.
        count: u64,
    },
    /// A code could not be built (bad field).
    #[error(transparent)]
    Format(#[from] hallmark::Error),
    /// A batch of zero serials was asked for.
    #[error("count must be at least 1")]
    ZeroCount,
    /// A key name that breaks the trust store's rule ([`hallmark::Name`]).
    #[error(
        "invalid key name {name:?}: use 1 to 64 characters of A-Z a-z 0-9 . _ - (not starting with .)"
    )]
    InvalidKeyName {
        /// The name given (cut to 80 characters).
        name: String,
    },
    /// The passphrase source given to
    /// [`SecretKey::read_with`](crate::SecretKey::read_with) failed; its error is kept whole.
    #[error(transparent)]
    Passphrase(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// An empty passphrase.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// The operating system's random number generator failed.
    #[error("no randomness from the operating system: {source}")]
    Randomness {
        /// The generator's error.
        source: getrandom::Error,
    },
    /// Argon2 refused the key file's KDF parameters.
    #[error("invalid argon2 parameters: {source}")]
    KdfParams {
        /// Argon2's error.
        source: argon2::Error,
    },
    /// Argon2 failed to derive the wrapping key.
    #[error("key derivation failed: {source}")]
    KeyDerivation {
        /// Argon2's error.
        source: argon2::Error,
    },
    /// Encrypting the secret key failed.
    #[error("encryption failed")]
    Encryption,
    /// A batch manifest given to [`SecretKey::sign_manifest`](crate::SecretKey::sign_manifest)
    /// names another key than the one signing it.
    #[error(
        "invalid kid: the manifest names another key ({manifest}) than the one signing it ({signer})"
    )]
    ManifestSigner {
        /// The key id the manifest names.
        manifest: hallmark::KeyId,
        /// The signing key's id.
        signer: hallmark::KeyId,
    },
    /// A ledger record could not be encoded.
    #[error("cannot encode ledger record: {source}")]
    EncodeRecord {
        /// The encoder's error.
        source: serde_json::Error,
    },
    /// The ledger's append-only log failed in a way not covered above.
    #[error(transparent)]
    Log(hallmark_state::log::LogError),
    /// The key file records serials reserved beyond what the ledger holds.
    #[error(
        "{}: the key file records counters reserved up to {key_next} but the ledger {} reaches only {ledger_next}: \
         the ledger is missing, replaced or edited backwards, and minting with it could reprint codes already issued. \
         Restore the real ledger, or pass --new-ledger (read `hallmark mint --help` first)",
        key.display(), ledger.display()
    )]
    LedgerBehind {
        /// The key file.
        key: PathBuf,
        /// The ledger.
        ledger: PathBuf,
        /// The first counter the ledger has not reserved.
        ledger_next: u64,
        /// The first counter the key file records as not reserved.
        key_next: u64,
    },
    /// A reservation below the floor a new ledger started at.
    #[error(
        "{}: counters below {floor} were reserved before this key's current ledger was started (--new-ledger), \
         so they cannot be checked for overlap: refusing --serial-start {start}",
        key.display()
    )]
    BelowLedgerFloor {
        /// The key file.
        key: PathBuf,
        /// The requested first counter.
        start: u64,
        /// The floor.
        floor: u64,
    },
    /// A signature from a signer does not verify under the signer's public key
    /// (an HSM whose key objects do not match, a faulty device): nothing signed
    /// with it is emitted.
    #[error(
        "the signature from {signer} does not verify under its public key (kid {kid}): \
         refusing to emit anything it signed (is the token's key pair mismatched?)"
    )]
    SignatureMismatch {
        /// The signer's name.
        signer: String,
        /// The key id the signature was checked against.
        kid: hallmark::KeyId,
    },
    /// Opaque serials were asked of a signer that cannot derive their
    /// permutation (it needs the secret seed, which an HSM never reveals).
    #[error(
        "opaque serials need the key's secret seed, which {signer} does not reveal (a PKCS#11 key): \
         use --serials sequential, or a key file"
    )]
    OpaqueNeedsSeed {
        /// The signer's name.
        signer: String,
    },
    /// GS1 units with sequential serials were asked for.
    #[error(
        "GS1 units carry hallmark's opaque serials (19 or 20 digits that reveal neither order nor volume): use opaque or batch serials, or an external pool"
    )]
    Gs1SequentialSerials,
    /// A PKCS#11 signer failed (feature `pkcs11`).
    #[cfg(feature = "pkcs11")]
    #[error(transparent)]
    Pkcs11(#[from] crate::pkcs11::Pkcs11Error),
    /// A file could not be used (a symlink where a file was expected, ...).
    #[error(transparent)]
    File(#[from] hallmark_state::file::FileError),
    /// A progress or close record that the ledger refuses to append (it
    /// would make the ledger corrupt).
    #[error("cannot record the batch's emission: {reason}")]
    BadMark {
        /// What was wrong.
        #[source]
        reason: Box<LedgerLineError>,
    },
    /// Opaque and batch-opaque serials of one key could collide (both use
    /// the top half of the serial space): a key mints one kind only.
    #[error(
        "key {kid} already minted {existing:?} serials; it cannot mint {requested:?} serials \
         (both lie above 2^63 and could collide): use a new key for {requested:?} serials"
    )]
    SerialModeConflict {
        /// The key.
        kid: hallmark::KeyId,
        /// The mode asked for.
        requested: crate::SerialMode,
        /// The mode the key's ledger already holds.
        existing: crate::SerialMode,
    },
    /// A batch-mode batch larger than 2^40 serials.
    #[error(
        "a batch of batch-opaque serials holds at most 2^40 (1099511627776) serials, not {count}"
    )]
    BatchTooLarge {
        /// The count asked for.
        count: u64,
    },
    /// The key has used all 2^23 batch numbers.
    #[error("key {kid} has used all 2^23 batch numbers of batch-opaque serials")]
    BatchNumbersExhausted {
        /// The key.
        kid: hallmark::KeyId,
    },
    /// The trust store given to check the key's window has no entry for the key.
    #[error(
        "the trust store has no entry for key {kid}: add its public key (`hallmark trust add`) or check --trust"
    )]
    NotInTrustStore {
        /// The key.
        kid: hallmark::KeyId,
    },
    /// The date of manufacture lies outside the key's window of validity
    /// ([`crate::check_window`]).
    #[error(
        "--date {date} lies outside key {kid}'s window of validity ({} to {}): codes minted with it would verify key-not-valid",
        from.map_or_else(|| "unbounded".to_owned(), |d| d.to_string()),
        until.map_or_else(|| "unbounded".to_owned(), |d| d.to_string())
    )]
    OutsideWindow {
        /// The key.
        kid: hallmark::KeyId,
        /// The date of manufacture asked for.
        date: hallmark::Date,
        /// First valid date, if bounded.
        from: Option<hallmark::Date>,
        /// Last valid date, if bounded.
        until: Option<hallmark::Date>,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

/// What is wrong with a damaged ledger record ([`Error::LedgerCorrupt`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerLineError {
    /// Not a JSON ledger record (a syntax error, a record cut short, a
    /// missing, unknown or mistyped field).
    #[error("{source}")]
    Json {
        /// The JSON parser's error, with its line and column.
        source: serde_json::Error,
    },
    /// A record version other than 1 or 2 (progress and close records: 2).
    #[error("unknown record version {version}")]
    Version {
        /// The version found.
        version: u8,
    },
    /// A batch of zero serials.
    #[error("count is 0")]
    ZeroCount,
    /// Counters past 2^63 - 1.
    #[error("counter range passes 2^63-1")]
    CounterRange {
        /// The batch's first counter.
        start: u64,
        /// Its count.
        count: u64,
    },
    /// A key id or date that does not parse.
    #[error("{source}")]
    Field {
        /// The record's field (`kid`, `date` or `expiry`).
        field: &'static str,
        /// Why it does not parse.
        source: hallmark::Error,
    },
    /// A line longer than any record can be, ended by a newline.
    #[error("longer than {max} bytes; begins `{begins}`")]
    TooLong {
        /// The longest line allowed, in bytes.
        max: usize,
        /// The start of the line.
        begins: hallmark_state::log::LinePrefix,
    },
    /// Two batch-opaque reservations of one key with the same batch number.
    #[error("batch number used twice by one key")]
    BatchNumberReused,
    /// Opaque and batch-opaque reservations for one key.
    #[error("one key has both opaque and batch serials, which could collide")]
    ModeConflict,
    /// Two reservations of one key starting at the same counter.
    #[error("two batches of one key start at the same counter")]
    DuplicateStart,
    /// A batch number of 2^23 or more, or a batch of more than 2^40.
    #[error("batch number {batch} (must be below 2^23) or count {count} (at most 2^40)")]
    BatchRange {
        /// The batch number.
        batch: u32,
        /// The count.
        count: u64,
    },
    /// `batch` missing on a batch-mode reservation (or on a version-1
    /// one), or present on another mode's.
    #[error(
        "field `batch` must be present exactly on version-2 reservations with serials \"batch\""
    )]
    BatchField,
    /// A progress or close record naming no version-2 reservation before it.
    #[error("progress or close record for an unknown batch (kid {kid}, start {start})")]
    UnknownBatch {
        /// The kid named.
        kid: String,
        /// The start named.
        start: u64,
    },
    /// A progress or close record claiming more than the reservation (or a
    /// `complete` close claiming other than all of it).
    #[error("emitted {emitted} does not fit the reservation of {count}")]
    BeyondReservation {
        /// The count claimed.
        emitted: u64,
        /// The reservation's count.
        count: u64,
    },
    /// A progress record below an earlier one of the same batch.
    #[error("progress {emitted} below the earlier {previous}")]
    ProgressBackwards {
        /// The count claimed.
        emitted: u64,
        /// The earlier count.
        previous: u64,
    },
    /// A record for a batch already closed.
    #[error("record after the batch was closed")]
    AfterClose,
    /// A progress record with `end`, or a close record without.
    #[error("`end` must be present exactly on close records")]
    MarkShape,
    /// The file is larger than a ledger can be (reported on line 0).
    #[error("file is {len} bytes, more than a ledger can be")]
    FileTooLarge {
        /// The file's length, in bytes.
        len: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{PoolError, PoolLineError};

    #[test]
    fn messages_read_as_words() {
        let overlap = Error::SerialOverlap {
            kid: hallmark::KeyId::from_bytes([1, 2, 3, 4]),
            start: 0,
            end: 9999,
            other_start: 5000,
            other_end: 5999,
            other_time: 1_800_000_000,
        };
        assert_eq!(
            overlap.to_string(),
            "serials 0–9999 overlap serials 5000–5999 already issued by key 01020304 \
             (batch minted at 2027-01-15T08:00:00Z)"
        );
        let one = Error::SerialsExhausted {
            start: OPAQUE_BIT_MINUS_ONE,
            count: 1,
        };
        assert!(
            one.to_string()
                .starts_with("serial range exhausted: 1 serial from"),
            "{one}"
        );
        let close = PoolError::BadClose {
            emitted: 2,
            count: 1,
            end: crate::End::Complete,
        };
        assert!(
            close
                .to_string()
                .starts_with("cannot close a pool reservation of 1 serial as"),
            "{close}"
        );
        let count = PoolLineError::Count {
            declared: 1,
            found: 2,
        };
        assert_eq!(
            count.to_string(),
            "reservation declares 1 serial and lists 2"
        );
    }

    const OPAQUE_BIT_MINUS_ONE: u64 = hallmark::OPAQUE_BIT - 1;
}
