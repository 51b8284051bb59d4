//! The errors of serial pools and their ledger.

use std::path::PathBuf;

use hallmark::KeyId;
use hallmark_state::log::LogError;

use crate::End;

/// Why a serial pool was refused, or could not be reserved or closed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// A line of the pool file is not a serial.
    #[error("{input}: line {line}: {fault}; nothing was reserved")]
    BadSerial {
        /// The pool's name (its file).
        input: String,
        /// The line (1-based).
        line: usize,
        /// What is wrong with it.
        fault: SerialFault,
    },
    /// A serial on two lines of the pool file.
    #[error(
        "{input}: line {line}: serial {serial} repeats line {first_line}; nothing was reserved"
    )]
    Repeated {
        /// The pool's name.
        input: String,
        /// The serial.
        serial: String,
        /// The line repeating it (1-based).
        line: usize,
        /// The line it was first on.
        first_line: usize,
    },
    /// A pool file with no serial.
    #[error("{input}: the pool holds no serial")]
    EmptyPool {
        /// The pool's name.
        input: String,
    },
    /// More serials than one pool may hold.
    #[error("{input}: more than {max} serials; split the pool")]
    TooManySerials {
        /// The pool's name.
        input: String,
        /// The limit.
        max: usize,
    },
    /// A pool file larger than one may be.
    #[error("{input}: larger than {max} bytes; split the pool")]
    PoolTooLarge {
        /// The pool's name.
        input: String,
        /// The limit, in bytes.
        max: u64,
    },
    /// The pool file could not be read.
    #[error("{input}: {source}")]
    Read {
        /// The pool's name.
        input: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A GTIN that cannot name a pool ledger.
    #[error("invalid GTIN {gtin:?}: {reason}")]
    InvalidGtin {
        /// The GTIN given (cut to 40 characters).
        gtin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Serials of the pool were reserved before under this key and GTIN:
    /// none of the pool was reserved.
    #[error(
        "{input}: line {line}: serial {serial} was already used for GTIN {gtin} by key {kid} \
         (pool reservation #{reservation}, at {}); {} of this pool {} used before; \
         nothing of this pool was reserved",
        hallmark::rfc3339(*time),
        hallmark::plural(*used, "serial", "serials"),
        if *used == 1 { "was" } else { "were" }
    )]
    AlreadyUsed {
        /// The key.
        kid: KeyId,
        /// The GTIN.
        gtin: String,
        /// The first serial of the pool (in file order) used before.
        serial: String,
        /// The pool's name.
        input: String,
        /// Its line in the pool (1-based).
        line: usize,
        /// The reservation that used it.
        reservation: u64,
        /// When that reservation was made (seconds since 1970).
        time: u64,
        /// How many serials of the pool were used before.
        used: u64,
    },
    /// A pool ledger line that is damaged (other than a torn tail).
    #[error(
        "{}: line {line} is corrupt ({reason}); refusing to reserve pool serials until it is repaired",
        path.display()
    )]
    LedgerCorrupt {
        /// The pool ledger.
        path: PathBuf,
        /// The line (1-based).
        line: u64,
        /// What is wrong.
        #[source]
        reason: PoolLineError,
    },
    /// The pool ledger has used every reservation number.
    #[error("{}: no reservation number is left", path.display())]
    LedgerFull {
        /// The pool ledger.
        path: PathBuf,
    },
    /// The pool directory exists but is not a directory (or is a symlink).
    #[error("{}: not a directory (a pool directory is never reached through a symlink)", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A close that does not fit the reservation (nothing was written).
    #[error(
        "cannot close a pool reservation of {} as {end:?} with {emitted} emitted",
        hallmark::plural(*count, "serial", "serials")
    )]
    BadClose {
        /// The count given.
        emitted: u64,
        /// The reservation's size.
        count: u64,
        /// The end given.
        end: End,
    },
    /// The pool ledger could not be opened, locked, read or written (or
    /// would pass [`MAX_POOL_LEDGER_LEN`](super::MAX_POOL_LEDGER_LEN)).
    #[error(transparent)]
    Log(#[from] LogError),
}

/// What is wrong with one serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SerialFault {
    /// An empty line (no line of a pool file is skipped).
    #[error("empty line (a pool holds one serial on every line)")]
    Empty,
    /// More than 20 characters.
    #[error("character {position}: the serial is longer than 20 characters")]
    TooLong {
        /// The first character too many (21).
        position: usize,
    },
    /// A character outside GS1 character set 82.
    #[error(
        "character {position} is {character:?} (U+{:04X}), outside the GS1 character set 82",
        u32::from(*character)
    )]
    Character {
        /// Its position (1-based, in characters).
        position: usize,
        /// The character.
        character: char,
    },
    /// Bytes that are not UTF-8 (so not CSET 82 either).
    #[error("character {position} is not UTF-8 text (nor in the GS1 character set 82)")]
    NotUtf8 {
        /// Its position (1-based, in characters).
        position: usize,
    },
}

/// What is wrong with a damaged pool ledger line ([`PoolError::LedgerCorrupt`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolLineError {
    /// The check value at the end of the line is missing or does not match
    /// the line: damaged, or cut short before more lines.
    #[error("its check value is missing or wrong")]
    Check,
    /// Line 1 is not the header of this key's and GTIN's pool ledger.
    #[error("not the header of the pool ledger of key {kid}, GTIN {gtin}")]
    Header {
        /// The key expected.
        kid: String,
        /// The GTIN expected.
        gtin: String,
    },
    /// A record of an unknown kind, or a header after line 1.
    #[error("unknown record")]
    Kind,
    /// A field that does not parse, or a record with too few or too many.
    #[error("bad or missing field `{field}`")]
    Field {
        /// The field.
        field: &'static str,
    },
    /// A reservation number out of sequence.
    #[error("reservation #{id} where #{expected} was due")]
    Sequence {
        /// The number found.
        id: u64,
        /// The number due.
        expected: u64,
    },
    /// A reservation whose serial count does not match the serials it lists.
    #[error(
        "reservation declares {} and lists {found}",
        hallmark::plural(*declared, "serial", "serials")
    )]
    Count {
        /// The count declared.
        declared: u64,
        /// The serials listed.
        found: u64,
    },
    /// A recorded serial that is not one.
    #[error("serial {index}: {fault}")]
    Serial {
        /// Its place in the reservation (1-based).
        index: u64,
        /// What is wrong with it.
        fault: SerialFault,
    },
    /// A close or killed record naming no open reservation.
    #[error("record for reservation #{id}, which is unknown or already closed")]
    NotOpen {
        /// The number named.
        id: u64,
    },
    /// A close record whose count does not fit its reservation.
    #[error(
        "close of reservation #{id} with {emitted} emitted does not fit its {}",
        hallmark::plural(*count, "serial", "serials")
    )]
    Emitted {
        /// The reservation.
        id: u64,
        /// The count claimed.
        emitted: u64,
        /// The reservation's size.
        count: u64,
    },
}
