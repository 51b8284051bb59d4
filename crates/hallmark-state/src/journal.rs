//! The seen journal: every verified serial with when and where it was seen, so
//! that `hallmark verify --seen PATH` flags a code seen before (in an earlier run
//! or earlier in the same input) as a duplicate, with its first sighting.
//!
//! The file holds one JSON line per sighting:
//!
//! ```text
//! {"v":1,"kid":"01020304","serial":42,"time":1767225600,"location":"Dock 3"}
//! ```
//!
//! Every sighting is appended, duplicates included, as history; the earliest
//! line of a serial is its first sighting. [`Journal::record`] buffers lines and
//! [`Journal::flush`] appends them with one write and fsyncs before returning,
//! so a flushed sighting survives a crash. The file is locked exclusively while
//! open, so two runs never interleave their lines.
//!
//! The file is a [`crate::log::AppendLog`], with its one torn-tail rule: a
//! crash mid-flush leaves at worst an unterminated final line, kept if it is a
//! whole record (and terminated before the next append), otherwise ignored and
//! cut off before the next append. Any other damaged line is an error naming
//! its line number: skipping it would hide duplicates. The file is never
//! opened through a symlink.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use hallmark::KeyId;

use hallmark::runs::{Runs, Step};
use serde::{Deserialize, Serialize};

use crate::file::{self, FileError};
use crate::log::{AppendLog, LinePrefix, LoadError, LogError, Reject};

/// Largest journal file read or written, in bytes (4 GiB, some 50 million sightings).
pub const MAX_JOURNAL_LEN: u64 = 4 << 30;

/// Longest location label, in characters (printable ASCII).
pub const MAX_LOCATION_LEN: usize = 64;

/// Longest line, without its newline. A record is at most about 250 bytes.
const MAX_LINE_LEN: usize = 1024;

/// When and where a serial was first seen, as stored in the map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FirstSeen {
    /// Seconds since 1970, native-endian: bytes keep the alignment at 4.
    time: [u8; 8],
    /// Index + 1 into [`Locations::labels`]; `None` for no location.
    location: Option<NonZeroU32>,
}

// The per-run cost stated on [`Journal`]: a run's length, serial and this.
const _: () = assert!(size_of::<FirstSeen>() == 12);

/// Consecutive serials first seen at one time and place make one run.
impl Step for FirstSeen {
    fn step(self, _: u64) -> Option<FirstSeen> {
        Some(self)
    }
}

/// One line of the journal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record<'a> {
    /// Record format version (1).
    v: u8,
    /// Key id, 8 lower-case hex digits.
    #[serde(borrow)]
    kid: Cow<'a, str>,
    serial: u64,
    /// Seconds since 1970-01-01 UTC.
    time: u64,
    location: Option<Cow<'a, str>>,
}

/// A sighting of a serial: when and where it was verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    /// Seconds since 1970-01-01 UTC.
    pub time: u64,
    /// The `--location` label of the run, if it had one.
    pub location: Option<String>,
}

/// An open, exclusively locked seen journal.
///
/// Sightings passed to [`Journal::record`] are buffered (about 80 to 250 bytes
/// each) until [`Journal::flush`]; a journal dropped without a flush loses them.
///
/// Memory: first sightings are kept as runs of consecutive serials first seen
/// at the same time and place (one run per key and batch when a run of the
/// CLI verifies labels in order), each run an entry of about 28 bytes (serial,
/// length, 8-byte time, 4-byte location id) in a B-tree per key id. Serials in
/// random order cost one entry each, about 40 MB per million with the tree's
/// overhead. Each distinct location label of a first
/// sighting is stored once (twice its length plus about 40 bytes); repeat
/// sightings cost nothing once on disk.
///
/// # Example
///
/// ```
/// use hallmark::KeyId;
/// use hallmark_state::journal::{Journal, Sighting};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("seen.jsonl");
/// let kid = KeyId::from_bytes([1, 2, 3, 4]);
///
/// let mut journal = Journal::open(&path)?;
/// assert_eq!(journal.record(kid, 42, 1_767_225_600, Some("Dock 3"))?, None);
/// journal.flush()?;
/// drop(journal);
///
/// // A later run sees serial 42 again: a duplicate, first seen at Dock 3.
/// let mut journal = Journal::open(&path)?;
/// let first = Sighting { time: 1_767_225_600, location: Some("Dock 3".into()) };
/// assert_eq!(journal.record(kid, 42, 1_767_312_000, None)?, Some(first));
/// journal.flush()?;
/// # Ok(())
/// # }
/// ```
pub struct Journal {
    path: PathBuf,
    log: AppendLog,
    seen: Seen,
    /// Encoded lines not yet written.
    pending: Vec<u8>,
}

impl Journal {
    /// Opens (creating if needed) and locks the journal at `path`, waiting while
    /// another process holds it, and reads the sightings it holds.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        Journal::open_with(path, true)
    }

    /// Like [`Journal::open`], but fails at once with [`JournalError::Busy`]
    /// if another process holds the journal.
    pub fn try_open(path: &Path) -> Result<Journal, JournalError> {
        Journal::open_with(path, false)
    }

    fn open_with(path: &Path, wait: bool) -> Result<Journal, JournalError> {
        let log = AppendLog::open(path, file::MODE_PUBLIC, MAX_JOURNAL_LEN, wait)
            .map_err(JournalError::from_log)?;
        let mut journal = Journal {
            path: path.to_owned(),
            log,
            seen: Seen::default(),
            pending: Vec::new(),
        };
        let Journal { log, seen, .. } = &mut journal;
        log.load(MAX_LINE_LEN, |body| {
            let (kid, record) = parse(body).map_err(Reject::Invalid)?;
            seen.note(path, kid, &record).map_err(Reject::Fatal)?;
            Ok(())
        })
        .map_err(|e| match e {
            LoadError::Log(e) => JournalError::from_log(e),
            LoadError::Corrupt { path, line, reason } => {
                JournalError::Corrupt { path, line, reason }
            }
            LoadError::Parser(e) => e,
        })?;
        Ok(journal)
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many distinct (key id, serial) pairs have been seen.
    pub fn len(&self) -> usize {
        self.seen.first.len()
    }

    /// Whether no serial has been seen.
    pub fn is_empty(&self) -> bool {
        self.seen.first.is_empty()
    }

    /// The first sighting of `serial` under `kid`, from the file or from this
    /// run's records. Owned, since sightings are stored packed (see [`Journal`]).
    pub fn first_seen(&self, kid: KeyId, serial: u64) -> Option<Sighting> {
        let first = self.seen.first.get(kid, serial)?;
        Some(self.seen.sighting(first))
    }

    /// Records a sighting of `serial` under `kid` at `time` (seconds since
    /// 1970) and `location`, buffered until [`Journal::flush`].
    ///
    /// Returns the first sighting if the serial was seen before (a duplicate);
    /// the new sighting is appended all the same, as history. Fails with
    /// [`JournalError::InvalidLocation`] if `location` fails [`check_location`],
    /// recording nothing.
    pub fn record(
        &mut self,
        kid: KeyId,
        serial: u64,
        time: u64,
        location: Option<&str>,
    ) -> Result<Option<Sighting>, JournalError> {
        if let Some(label) = location {
            check_location(label)?;
        }
        let record = Record {
            v: 1,
            kid: Cow::Owned(kid.to_string()),
            serial,
            time,
            location: location.map(Cow::Borrowed),
        };
        let mark = self.pending.len();
        let noted = serde_json::to_writer(&mut self.pending, &record)
            .map_err(|e| JournalError::Io {
                path: self.path.clone(),
                source: io::Error::other(e),
            })
            .and_then(|()| self.seen.note(&self.path, kid, &record));
        match noted {
            Ok(earlier) => {
                self.pending.push(b'\n');
                Ok(earlier.map(|first| self.seen.sighting(first)))
            }
            Err(e) => {
                self.pending.truncate(mark);
                Err(e)
            }
        }
    }

    /// Appends the buffered sightings in one write and fsyncs the file; once
    /// this returns they survive a crash. A torn record left at the end of
    /// the file by an earlier crash is cut off first.
    ///
    /// On failure the sightings stay buffered, and a later flush rewrites them
    /// from the end of the last complete record. Fails with
    /// [`JournalError::TooLarge`], writing nothing, if the file would grow past
    /// [`MAX_JOURNAL_LEN`] and so could not be read back.
    pub fn flush(&mut self) -> Result<(), JournalError> {
        self.log
            .append(&self.pending)
            .map_err(JournalError::from_log)?;
        self.pending.clear();
        Ok(())
    }
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("serials", &self.seen.first.len())
            .field("runs", &self.seen.first.runs())
            .field("pending_bytes", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// Checks a location label: at most [`MAX_LOCATION_LEN`] printable ASCII
/// characters (space to `~`). [`Journal::record`] checks it too; a CLI can
/// call this to refuse a bad `--location` before verifying anything.
pub fn check_location(label: &str) -> Result<(), JournalError> {
    if let Some((i, b)) = label
        .bytes()
        .enumerate()
        .find(|(_, b)| !(b' '..=b'~').contains(b))
    {
        return Err(JournalError::InvalidLocation {
            reason: LocationError::NotPrintable {
                position: i + 1,
                byte: b,
            },
        });
    }
    if label.len() > MAX_LOCATION_LEN {
        return Err(JournalError::InvalidLocation {
            reason: LocationError::TooLong { len: label.len() },
        });
    }
    Ok(())
}

/// Why the seen journal could not be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum JournalError {
    /// The file could not be opened, read, locked or written.
    Io {
        /// The journal file (or its directory).
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Another process holds the journal (from [`Journal::try_open`]).
    Busy {
        /// The journal file.
        path: PathBuf,
    },
    /// The path names something other than a regular file.
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The file is, or would grow, larger than [`MAX_JOURNAL_LEN`].
    TooLarge {
        /// The journal file.
        path: PathBuf,
        /// Its length in bytes, or the length an append would give it.
        len: u64,
    },
    /// A damaged line other than a torn final record. The reason shows at most
    /// a short prefix of the line.
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// The line (1-based).
        line: u64,
        /// What was wrong.
        reason: LineError,
    },
    /// A location label that is too long or not printable ASCII. The reason
    /// never echoes the label.
    InvalidLocation {
        /// What was wrong.
        reason: LocationError,
    },
    /// More distinct location labels than fit the in-memory index (2^32 - 1).
    TooManyLocations {
        /// The journal file.
        path: PathBuf,
    },
    /// The file could not be used for another reason (a symlink at its path).
    File(FileError),
}

/// What is wrong with a damaged seen-journal line. Never quotes more of the
/// line than a short prefix.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// Not a JSON record of the journal's shape.
    #[error("{what} at column {column}; begins `{begins}`")]
    Json {
        /// What the JSON parser found.
        what: JsonFault,
        /// The column it stopped at (1-based).
        column: usize,
        /// The start of the line.
        begins: LinePrefix,
    },
    /// A record version other than 1.
    #[error("unknown record version {version}")]
    Version {
        /// The version found.
        version: u8,
    },
    /// The key id is not 8 lower-case hex digits.
    #[error("key id is not 8 lower-case hex digits")]
    KeyId,
    /// The location is not a valid label ([`check_location`]).
    #[error("location is not a valid label")]
    Location,
    /// A line longer than any record can be, ended by a newline.
    #[error("longer than {max} bytes; begins `{begins}`")]
    TooLong {
        /// The longest line allowed, in bytes.
        max: usize,
        /// The start of the line.
        begins: LinePrefix,
    },
}

/// What the JSON parser found wrong with a seen-journal line. Its own message
/// is not kept: it can quote any part of the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonFault {
    /// Not valid JSON.
    #[error("not valid JSON")]
    Syntax,
    /// The record ends early.
    #[error("record ends early")]
    Eof,
    /// Valid JSON, but not a seen-journal record (a missing, unknown or
    /// mistyped field).
    #[error("not a seen-journal record")]
    Data,
    /// The reader failed.
    #[error("unreadable")]
    Io,
}

/// Why a location label is refused. Never echoes the label.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocationError {
    /// A byte outside printable ASCII (space to `~`).
    #[error("byte {position} (0x{byte:02x}) is not printable ASCII")]
    NotPrintable {
        /// Its position, in bytes from 1.
        position: usize,
        /// The byte.
        byte: u8,
    },
    /// Longer than [`MAX_LOCATION_LEN`].
    #[error("it is {len} characters long")]
    TooLong {
        /// Its length, in bytes.
        len: usize,
    },
}

impl JournalError {
    fn from_log(e: LogError) -> JournalError {
        match e {
            LogError::File(FileError::Io { path, source }) => JournalError::Io { path, source },
            LogError::File(FileError::NotAFile { path }) => JournalError::NotAFile { path },
            LogError::File(e) => JournalError::File(e),
            LogError::Busy { path } => JournalError::Busy { path },
            LogError::TooLarge { path, len, .. } => JournalError::TooLarge { path, len },
            LogError::LineTooLong {
                path,
                line,
                max,
                begins,
            } => JournalError::Corrupt {
                path,
                line,
                reason: LineError::TooLong { max, begins },
            },
        }
    }
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            JournalError::Busy { path } => write!(
                f,
                "{}: another hallmark process is using this seen journal; try again when it finishes",
                path.display()
            ),
            JournalError::NotAFile { path } => {
                write!(
                    f,
                    "{}: a seen journal must be a regular file",
                    path.display()
                )
            }
            JournalError::TooLarge { path, len } => write!(
                f,
                "{}: {len} bytes is more than a seen journal may hold ({MAX_JOURNAL_LEN}); start a new one",
                path.display()
            ),
            JournalError::Corrupt { path, line, reason } => write!(
                f,
                "{}: seen-journal line {line} is corrupt ({reason}); refusing to use it until it is repaired",
                path.display()
            ),
            JournalError::InvalidLocation { reason } => write!(
                f,
                "invalid location label: {reason}; a label is at most {MAX_LOCATION_LEN} printable ASCII characters"
            ),
            JournalError::TooManyLocations { path } => write!(
                f,
                "{}: too many distinct location labels to index",
                path.display()
            ),
            JournalError::File(e) => write!(f, "{e} (seen journal)"),
        }
    }
}

impl std::error::Error for JournalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            JournalError::Io { source, .. } => Some(source),
            JournalError::File(e) => Some(e),
            JournalError::Corrupt { reason, .. } => Some(reason),
            JournalError::InvalidLocation { reason } => Some(reason),
            _ => None,
        }
    }
}

/// The in-memory index: first sightings by serial.
#[derive(Default)]
struct Seen {
    first: Runs<FirstSeen>,
    locations: Locations,
}

impl Seen {
    /// Notes a sighting; returns the first one if the serial was seen before.
    fn note(
        &mut self,
        path: &Path,
        kid: KeyId,
        record: &Record<'_>,
    ) -> Result<Option<FirstSeen>, JournalError> {
        if let Some(first) = self.first.get(kid, record.serial) {
            return Ok(Some(first));
        }
        let location = match record.location.as_deref() {
            Some(label) => Some(self.locations.intern(label).ok_or_else(|| {
                JournalError::TooManyLocations {
                    path: path.to_owned(),
                }
            })?),
            None => None,
        };
        let first = FirstSeen {
            time: record.time.to_ne_bytes(),
            location,
        };
        Ok(self.first.insert(kid, record.serial, first))
    }

    fn sighting(&self, first: FirstSeen) -> Sighting {
        Sighting {
            time: u64::from_ne_bytes(first.time),
            // Ids come from `intern`, so the lookup always succeeds.
            location: first
                .location
                .and_then(|id| self.locations.get(id))
                .map(String::from),
        }
    }
}

/// Location labels, each stored once.
#[derive(Default)]
struct Locations {
    labels: Vec<Box<str>>,
    ids: HashMap<Box<str>, NonZeroU32>,
}

impl Locations {
    /// The label's id; `None` once 2^32 - 1 labels are stored.
    fn intern(&mut self, label: &str) -> Option<NonZeroU32> {
        if let Some(id) = self.ids.get(label) {
            return Some(*id);
        }
        let id = NonZeroU32::new(u32::try_from(self.labels.len() + 1).ok()?)?;
        self.labels.push(label.into());
        self.ids.insert(label.into(), id);
        Some(id)
    }

    fn get(&self, id: NonZeroU32) -> Option<&str> {
        let index = usize::try_from(id.get() - 1).ok()?;
        self.labels.get(index).map(|label| &**label)
    }
}

/// Parses and checks one line (without its newline). The reason never quotes
/// the line beyond a short prefix: serde_json's messages can quote any part.
fn parse(body: &[u8]) -> Result<(KeyId, Record<'_>), LineError> {
    let record: Record<'_> = serde_json::from_slice(body).map_err(|e| LineError::Json {
        what: match e.classify() {
            serde_json::error::Category::Syntax => JsonFault::Syntax,
            serde_json::error::Category::Eof => JsonFault::Eof,
            serde_json::error::Category::Data => JsonFault::Data,
            serde_json::error::Category::Io => JsonFault::Io,
        },
        column: e.column(),
        begins: LinePrefix::of(body),
    })?;
    if record.v != 1 {
        return Err(LineError::Version { version: record.v });
    }
    let kid = parse_kid(&record.kid).ok_or(LineError::KeyId)?;
    if let Some(label) = &record.location {
        check_location(label).map_err(|_| LineError::Location)?;
    }
    Ok((kid, record))
}

/// A key id in its one written form, 8 lower-case hex digits.
fn parse_kid(s: &str) -> Option<KeyId> {
    let canonical = s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    canonical.then(|| s.parse().ok()).flatten()
}

#[cfg(test)]
mod tests;
