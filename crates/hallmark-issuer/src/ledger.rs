//! The serial ledger: an append-only file of minted batches, so that no serial is
//! ever issued twice by one key, and of how much of each batch was emitted.
//!
//! Each batch's **reservation** is one JSON line, written and fsynced *before*
//! any code in it is emitted. A crash may therefore leave a batch recorded
//! whose codes were never printed (a gap in the numbering), but never codes
//! printed whose serials are unrecorded. After each chunk of codes the output
//! accepted, a **progress** record says how many of the batch's codes were
//! emitted so far; at the end a **close** record gives the final count (the
//! rest of the reservation is never issued, and never reused). A batch with
//! no close record was interrupted by a kill or a crash: its emitted count is
//! its last progress record's (docs/FORMAT.md section 13.3 states the window
//! of codes this may leave unaccounted). Reservations of format version 1,
//! written before emission was recorded, count as wholly emitted.
//!
//! The file is locked exclusively while open, so two mint processes never
//! interleave. The file is a [`hallmark_state::log::AppendLog`], with
//! its one torn-tail rule: a torn final line (a crash mid-append, before the
//! fsync returned and so before any code was emitted) is ignored and cut off
//! on the next append, a whole final record missing only its newline is kept;
//! any other damaged line stops minting. The file is never opened through a
//! symlink.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use hallmark_state::file::{self, FileError};
use hallmark_state::log::{AppendLog, LoadError, LogError, Reject};

use hallmark::{BATCH_COUNTER_LIMIT, BATCH_NUMBER_LIMIT, Date, KeyId};
use serde::{Deserialize, Serialize};

use crate::error::{Error, LedgerLineError};
use crate::serials::{OPAQUE_BIT, SerialMode};

/// The record version of reservations that record their emission (progress
/// and close records follow them). Version 1 reservations are read as wholly
/// emitted.
pub const RECORD_VERSION: u8 = 2;

/// Largest ledger file read, in bytes (about a million batches).
const MAX_LEDGER_LEN: u64 = 256 * 1024 * 1024;

/// Longest ledger line, without its newline. A record is at most about 400 bytes.
const MAX_LINE_LEN: usize = 64 * 1024;

/// One reserved batch. `start` and `count` are ledger counters: in
/// sequential mode the serials themselves, in opaque mode the inputs of the
/// permutation, in batch mode counter `start + c` is counter `c` within the
/// batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Record format version: 2 (emission recorded), or 1 (written before
    /// emission was recorded: the whole count counts as emitted).
    pub v: u8,
    /// Key id of the issuing key (8 hex digits).
    pub kid: String,
    /// First serial.
    pub start: u64,
    /// Number of serials reserved (at least 1).
    pub count: u64,
    /// Part number.
    pub part: String,
    /// Lot.
    pub lot: String,
    /// Date of manufacture (YYYY-MM-DD).
    pub date: String,
    /// Expiry (YYYY-MM-DD), if any.
    pub expiry: Option<String>,
    /// When the batch was reserved, in seconds since 1970-01-01 UTC.
    pub time: u64,
    /// How the batch's counters became serials.
    #[serde(default)]
    pub serials: SerialMode,
    /// Batch mode only: the key's batch number (below 2^23, unique per key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
}

impl Batch {
    /// The ledger counters of the batch (reserved, whether emitted or not).
    pub fn serials(&self) -> RangeInclusive<u64> {
        // count >= 1 and start + count - 1 < 2^63 are checked on read and reserve.
        self.start..=self.start.saturating_add(self.count.saturating_sub(1))
    }
}

/// How a batch ended ([`Emission::Closed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum End {
    /// Every code of the reservation was emitted.
    Complete,
    /// Stopped on request (Ctrl-C): `emitted` codes reached the output.
    Interrupted,
    /// Stopped by an error (of the output, of signing): `emitted` codes
    /// reached the output.
    Failed,
}

/// How much of a batch was emitted, as its ledger records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emission {
    /// A version-1 reservation, from before emission was recorded: the whole
    /// reservation counts as emitted.
    Unrecorded,
    /// No close record: the mint was killed (or is running, in the process
    /// holding the ledger's lock). `emitted` is the last progress record's
    /// count (0 if none).
    Open {
        /// Codes recorded as emitted.
        emitted: u64,
    },
    /// Closed: `emitted` codes reached the output, the rest never will.
    Closed {
        /// Codes emitted.
        emitted: u64,
        /// How the mint ended.
        end: End,
    },
}

impl Emission {
    /// The number of codes of `batch` taken as emitted: the reservation's
    /// count for [`Emission::Unrecorded`], else the recorded count. Codes
    /// `start .. start + emitted` were emitted.
    pub fn emitted(self, batch: &Batch) -> u64 {
        match self {
            Emission::Unrecorded => batch.count,
            Emission::Open { emitted } | Emission::Closed { emitted, .. } => emitted,
        }
    }

    /// Whether the batch has no close record (killed or crashed).
    pub fn is_open(self) -> bool {
        matches!(self, Emission::Open { .. })
    }
}

/// A progress or close record: `emitted` codes of the batch of `kid` that
/// starts at `start` reached the output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Mark {
    /// Record version (2).
    v: u8,
    /// `progress` or `close`.
    kind: MarkKind,
    kid: String,
    start: u64,
    emitted: u64,
    /// Close records only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<End>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum MarkKind {
    Progress,
    Close,
}

/// Only the record kind of a line (other fields ignored here).
#[derive(Deserialize)]
struct Peek {
    #[serde(default)]
    kind: Option<serde::de::IgnoredAny>,
}

/// What a new batch is for.
#[derive(Clone, Debug)]
pub struct BatchRequest<'a> {
    /// Issuing key.
    pub kid: KeyId,
    /// How many serials.
    pub count: u64,
    /// First serial, to continue a legacy numbering; by default the next unused one.
    pub start: Option<u64>,
    /// Part number.
    pub part: &'a str,
    /// Lot.
    pub lot: &'a str,
    /// Date of manufacture.
    pub date: Date,
    /// Expiry.
    pub expiry: Option<Date>,
    /// Current time, seconds since 1970.
    pub time: u64,
    /// How counters become serials.
    pub serials: SerialMode,
}

/// An open, exclusively locked ledger.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    log: AppendLog,
    batches: Vec<Batch>,
    emissions: Vec<Emission>,
    /// (kid, start) → index in `batches`.
    index: HashMap<(String, u64), usize>,
}

impl Ledger {
    /// Opens (creating if needed) and locks the ledger, waiting while another
    /// process holds it.
    pub fn open(path: &Path) -> Result<Ledger, Error> {
        Ledger::open_with(path, true)
    }

    /// Opens and locks the ledger, or fails with [`Error::LedgerBusy`] at once if
    /// another process holds it.
    pub fn try_open(path: &Path) -> Result<Ledger, Error> {
        Ledger::open_with(path, false)
    }

    fn open_with(path: &Path, wait: bool) -> Result<Ledger, Error> {
        let mut log =
            AppendLog::open(path, file::MODE_PUBLIC, MAX_LEDGER_LEN, wait).map_err(log_error)?;
        let mut state = State::default();
        log.load(MAX_LINE_LEN, |body| {
            state.apply_line(body).map_err(Reject::<_, Error>::Invalid)
        })
        .map_err(|e| match e {
            LoadError::Log(e) => log_error(e),
            LoadError::Corrupt { path, line, reason } => Error::LedgerCorrupt {
                path,
                line: usize::try_from(line).unwrap_or(usize::MAX),
                reason: Box::new(reason),
            },
            LoadError::Parser(e) => e,
        })?;
        Ok(Ledger {
            path: path.to_owned(),
            log,
            batches: state.batches,
            emissions: state.emissions,
            index: state.index,
        })
    }

    /// The ledger's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every batch recorded, oldest first.
    pub fn batches(&self) -> &[Batch] {
        &self.batches
    }

    /// How much of each batch was emitted, in the order of [`Ledger::batches`].
    pub fn emissions(&self) -> &[Emission] {
        &self.emissions
    }

    /// Every batch with its emission, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = (&Batch, Emission)> {
        self.batches.iter().zip(self.emissions.iter().copied())
    }

    /// The emission of the batch of `kid` starting at counter `start`.
    pub fn emission(&self, kid: KeyId, start: u64) -> Option<Emission> {
        let i = self.index.get(&(kid.to_string(), start))?;
        self.emissions.get(*i).copied()
    }

    /// The batch number the next batch-mode batch of `kid` gets: one more
    /// than the highest it used (0 for its first), `None` when 2^23 are used.
    pub fn next_batch_number(&self, kid: KeyId) -> Option<u32> {
        let kid = kid.to_string();
        self.batches
            .iter()
            .filter(|b| b.kid == kid)
            .filter_map(|b| b.batch)
            .max()
            .map_or(Some(0), |b| b.checked_add(1))
            .filter(|b| *b < BATCH_NUMBER_LIMIT)
    }

    /// Records (appends and fsyncs) that the first `emitted` codes of
    /// `batch` reached the output. Refuses a count beyond the reservation,
    /// below the last one recorded, or for a closed or unknown batch.
    pub fn record_progress(&mut self, batch: &Batch, emitted: u64) -> Result<(), Error> {
        self.append_mark(Mark {
            v: RECORD_VERSION,
            kind: MarkKind::Progress,
            kid: batch.kid.clone(),
            start: batch.start,
            emitted,
            end: None,
        })
    }

    /// Closes `batch` (appends and fsyncs): the first `emitted` codes reached
    /// the output, the rest of the reservation is never issued. `End::Complete`
    /// needs `emitted` = the batch's count. No record follows a close.
    pub fn close(&mut self, batch: &Batch, emitted: u64, end: End) -> Result<(), Error> {
        self.append_mark(Mark {
            v: RECORD_VERSION,
            kind: MarkKind::Close,
            kid: batch.kid.clone(),
            start: batch.start,
            emitted,
            end: Some(end),
        })
    }

    fn append_mark(&mut self, mark: Mark) -> Result<(), Error> {
        let i =
            check_mark(&self.index, &self.batches, &self.emissions, &mark).map_err(|reason| {
                Error::BadMark {
                    reason: Box::new(reason),
                }
            })?;
        let mut line =
            serde_json::to_vec(&mark).map_err(|source| Error::EncodeRecord { source })?;
        line.push(b'\n');
        self.log.append(&line).map_err(log_error)?;
        if let Some(e) = self.emissions.get_mut(i) {
            *e = emission_after(&mark);
        }
        Ok(())
    }

    /// The first serial never issued by `kid` above all its batches.
    pub fn next_serial(&self, kid: KeyId) -> Option<u64> {
        let kid = kid.to_string();
        self.batches
            .iter()
            .filter(|b| b.kid == kid)
            .map(|b| u128::from(*b.serials().end()) + 1)
            .max()
            .map_or(Some(0), |next| u64::try_from(next).ok())
    }

    /// Reserves a batch of serials: checks it overlaps no earlier batch of the
    /// same key, then appends and fsyncs its record. Only after this returns may
    /// codes with these serials be emitted.
    pub fn reserve(&mut self, request: &BatchRequest<'_>) -> Result<Batch, Error> {
        if request.count == 0 {
            return Err(Error::ZeroCount);
        }
        let start = match request.start {
            Some(start) => start,
            None => self
                .next_serial(request.kid)
                .ok_or(Error::SerialsExhausted {
                    start: u64::MAX,
                    count: request.count,
                })?,
        };
        let end = u128::from(start) + u128::from(request.count) - 1;
        let end = u64::try_from(end)
            .ok()
            .filter(|end| *end < OPAQUE_BIT)
            .ok_or(Error::SerialsExhausted {
                start,
                count: request.count,
            })?;
        let kid = request.kid.to_string();
        let conflict = |mode: SerialMode| {
            self.batches
                .iter()
                .any(|b| b.kid == kid && b.serials == mode)
        };
        let batch_number = match request.serials {
            SerialMode::Batch => {
                if conflict(SerialMode::Opaque) {
                    return Err(Error::SerialModeConflict {
                        kid: request.kid,
                        requested: SerialMode::Batch,
                        existing: SerialMode::Opaque,
                    });
                }
                if request.count > BATCH_COUNTER_LIMIT {
                    return Err(Error::BatchTooLarge {
                        count: request.count,
                    });
                }
                Some(
                    self.next_batch_number(request.kid)
                        .ok_or(Error::BatchNumbersExhausted { kid: request.kid })?,
                )
            }
            SerialMode::Opaque if conflict(SerialMode::Batch) => {
                return Err(Error::SerialModeConflict {
                    kid: request.kid,
                    requested: SerialMode::Opaque,
                    existing: SerialMode::Batch,
                });
            }
            _ => None,
        };
        if let Some(other) = self
            .batches
            .iter()
            .find(|b| b.kid == kid && b.start <= end && start <= *b.serials().end())
        {
            return Err(Error::SerialOverlap {
                kid: request.kid,
                start,
                end,
                other_start: other.start,
                other_end: *other.serials().end(),
                other_time: other.time,
            });
        }
        let batch = Batch {
            v: RECORD_VERSION,
            kid,
            start,
            count: request.count,
            part: request.part.to_owned(),
            lot: request.lot.to_owned(),
            date: request.date.to_string(),
            expiry: request.expiry.map(|d| d.to_string()),
            time: request.time,
            serials: request.serials,
            batch: batch_number,
        };
        let mut line = Vec::with_capacity(256);
        serde_json::to_writer(&mut line, &batch)
            .map_err(|source| Error::EncodeRecord { source })?;
        line.push(b'\n');
        // Cuts off a torn final record left by a crash, then appends and fsyncs.
        self.log.append(&line).map_err(log_error)?;
        self.index
            .insert((batch.kid.clone(), batch.start), self.batches.len());
        self.batches.push(batch.clone());
        self.emissions.push(Emission::Open { emitted: 0 });
        Ok(batch)
    }
}

/// The ledger's errors for the log's.
fn log_error(e: LogError) -> Error {
    match e {
        LogError::File(FileError::Io { path, source }) => Error::Io { path, source },
        LogError::File(e) => Error::File(e),
        LogError::Busy { path } => Error::LedgerBusy { path },
        LogError::TooLarge { path, len, .. } => Error::LedgerCorrupt {
            path,
            line: 0,
            reason: Box::new(LedgerLineError::FileTooLarge { len }),
        },
        LogError::LineTooLong {
            path,
            line,
            max,
            begins,
        } => Error::LedgerCorrupt {
            path,
            line: usize::try_from(line).unwrap_or(usize::MAX),
            reason: Box::new(LedgerLineError::TooLong { max, begins }),
        },
        other => Error::Log(other),
    }
}

/// What a ledger holds while it is read.
#[derive(Default)]
struct State {
    batches: Vec<Batch>,
    emissions: Vec<Emission>,
    index: HashMap<(String, u64), usize>,
}

impl State {
    fn apply_line(&mut self, body: &[u8]) -> Result<(), LedgerLineError> {
        let json = |source| LedgerLineError::Json { source };
        let peek: Peek = serde_json::from_slice(body).map_err(json)?;
        if peek.kind.is_some() {
            let mark: Mark = serde_json::from_slice(body).map_err(json)?;
            let i = check_mark(&self.index, &self.batches, &self.emissions, &mark)?;
            if let Some(e) = self.emissions.get_mut(i) {
                *e = emission_after(&mark);
            }
            return Ok(());
        }
        let b: Batch = serde_json::from_slice(body).map_err(json)?;
        validate(&b)?;
        let mine = |mode: SerialMode| {
            self.batches
                .iter()
                .any(|o| o.kid == b.kid && o.serials == mode)
        };
        match b.serials {
            SerialMode::Batch if mine(SerialMode::Opaque) => {
                return Err(LedgerLineError::ModeConflict);
            }
            SerialMode::Opaque if mine(SerialMode::Batch) => {
                return Err(LedgerLineError::ModeConflict);
            }
            SerialMode::Batch
                if self
                    .batches
                    .iter()
                    .any(|o| o.kid == b.kid && o.batch.is_some() && o.batch == b.batch) =>
            {
                return Err(LedgerLineError::BatchNumberReused);
            }
            _ => {}
        }
        let key = (b.kid.clone(), b.start);
        if self.index.contains_key(&key) {
            // Overlapping ranges are refused when reserving; the same start
            // twice would make progress records ambiguous.
            return Err(LedgerLineError::DuplicateStart);
        }
        self.index.insert(key, self.batches.len());
        self.emissions.push(if b.v == 1 {
            Emission::Unrecorded
        } else {
            Emission::Open { emitted: 0 }
        });
        self.batches.push(b);
        Ok(())
    }
}

/// Checks a progress or close record against the batches: returns the index
/// of its batch.
fn check_mark(
    index: &HashMap<(String, u64), usize>,
    batches: &[Batch],
    emissions: &[Emission],
    mark: &Mark,
) -> Result<usize, LedgerLineError> {
    if mark.v != RECORD_VERSION {
        return Err(LedgerLineError::Version { version: mark.v });
    }
    let unknown = || LedgerLineError::UnknownBatch {
        kid: mark.kid.clone(),
        start: mark.start,
    };
    let i = *index
        .get(&(mark.kid.clone(), mark.start))
        .ok_or_else(unknown)?;
    let (Some(batch), Some(emission)) = (batches.get(i), emissions.get(i)) else {
        return Err(unknown());
    };
    let previous = match emission {
        Emission::Unrecorded => return Err(unknown()),
        Emission::Closed { .. } => return Err(LedgerLineError::AfterClose),
        Emission::Open { emitted } => *emitted,
    };
    if mark.emitted > batch.count {
        return Err(LedgerLineError::BeyondReservation {
            emitted: mark.emitted,
            count: batch.count,
        });
    }
    match (mark.kind, mark.end) {
        (MarkKind::Progress, None) if mark.emitted < previous => {
            Err(LedgerLineError::ProgressBackwards {
                emitted: mark.emitted,
                previous,
            })
        }
        (MarkKind::Progress, None) => Ok(i),
        (MarkKind::Close, Some(End::Complete)) if mark.emitted != batch.count => {
            Err(LedgerLineError::BeyondReservation {
                emitted: mark.emitted,
                count: batch.count,
            })
        }
        (MarkKind::Close, Some(_)) => Ok(i),
        (MarkKind::Progress, Some(_)) | (MarkKind::Close, None) => Err(LedgerLineError::MarkShape),
    }
}

fn emission_after(mark: &Mark) -> Emission {
    match mark.end {
        Some(end) => Emission::Closed {
            emitted: mark.emitted,
            end,
        },
        None => Emission::Open {
            emitted: mark.emitted,
        },
    }
}

fn validate(b: &Batch) -> Result<(), LedgerLineError> {
    if b.v != 1 && b.v != RECORD_VERSION {
        return Err(LedgerLineError::Version { version: b.v });
    }
    match (b.serials, b.batch) {
        (SerialMode::Batch, Some(n))
            if b.v == RECORD_VERSION
                && (n >= BATCH_NUMBER_LIMIT || b.count > BATCH_COUNTER_LIMIT) =>
        {
            return Err(LedgerLineError::BatchRange {
                batch: n,
                count: b.count,
            });
        }
        (SerialMode::Batch, Some(_)) if b.v == RECORD_VERSION => {}
        (SerialMode::Batch, _) | (_, Some(_)) => return Err(LedgerLineError::BatchField),
        _ => {}
    }
    if b.count == 0 {
        return Err(LedgerLineError::ZeroCount);
    }
    if u128::from(b.start) + u128::from(b.count) > u128::from(OPAQUE_BIT) {
        return Err(LedgerLineError::CounterRange {
            start: b.start,
            count: b.count,
        });
    }
    b.kid
        .parse::<KeyId>()
        .map_err(|source| LedgerLineError::Field {
            field: "kid",
            source,
        })?;
    b.date
        .parse::<Date>()
        .map_err(|source| LedgerLineError::Field {
            field: "date",
            source,
        })?;
    if let Some(expiry) = &b.expiry {
        expiry
            .parse::<Date>()
            .map_err(|source| LedgerLineError::Field {
                field: "expiry",
                source,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(kid: KeyId, count: u64, start: Option<u64>) -> BatchRequest<'static> {
        BatchRequest {
            kid,
            count,
            start,
            part: "P",
            lot: "L",
            date: Date::EPOCH,
            expiry: None,
            time: 1,
            serials: SerialMode::Sequential,
        }
    }

    #[test]
    fn serials_never_repeat_across_opens() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let path = dir.path().join("l.ledger");
        let kid = KeyId::from_bytes([1, 2, 3, 4]);
        let other = KeyId::from_bytes([9, 9, 9, 9]);
        {
            let mut l = Ledger::open(&path)?;
            assert_eq!(l.reserve(&request(kid, 10, None))?.serials(), 0..=9);
            assert_eq!(l.reserve(&request(kid, 5, None))?.serials(), 10..=14);
            assert_eq!(l.reserve(&request(other, 1, None))?.serials(), 0..=0);
        }
        let mut l = Ledger::open(&path)?;
        assert_eq!(l.reserve(&request(kid, 1, None))?.serials(), 15..=15);
        assert!(matches!(
            l.reserve(&request(kid, 2, Some(14))),
            Err(Error::SerialOverlap { .. })
        ));
        assert_eq!(
            l.reserve(&request(kid, 10, Some(1000)))?.serials(),
            1000..=1009
        );
        assert_eq!(l.reserve(&request(kid, 1, None))?.serials(), 1010..=1010);
        let last = OPAQUE_BIT - 1;
        assert!(matches!(
            l.reserve(&request(kid, 2, Some(last))),
            Err(Error::SerialsExhausted { .. })
        ));
        assert_eq!(
            l.reserve(&request(kid, 1, Some(last)))?.serials(),
            last..=last
        );
        assert!(matches!(
            l.reserve(&request(kid, 1, None)),
            Err(Error::SerialsExhausted { .. })
        ));
        Ok(())
    }

    #[test]
    fn torn_tail_ignored_corrupt_middle_refused() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let path = dir.path().join("l.ledger");
        let kid = KeyId::from_bytes([1, 2, 3, 4]);
        Ledger::open(&path)?.reserve(&request(kid, 10, None))?;
        let good = std::fs::read(&path).map_err(Error::io(&path))?;
        // Torn final record.
        let mut torn = good.clone();
        torn.extend_from_slice(b"{\"v\":1,\"kid\":\"01020304\",\"sta");
        std::fs::write(&path, &torn).map_err(Error::io(&path))?;
        {
            let mut l = Ledger::open(&path)?;
            assert_eq!(l.reserve(&request(kid, 1, None))?.serials(), 10..=10);
        }
        assert_eq!(Ledger::open(&path)?.batches().len(), 2);
        // A complete record missing only its newline is kept.
        let mut no_newline = good.clone();
        no_newline.pop();
        std::fs::write(&path, &no_newline).map_err(Error::io(&path))?;
        {
            let mut l = Ledger::open(&path)?;
            assert_eq!(l.reserve(&request(kid, 1, None))?.serials(), 10..=10);
        }
        assert_eq!(Ledger::open(&path)?.batches().len(), 2);
        // Damage in the middle stops minting.
        let mut bad = b"garbage\n".to_vec();
        bad.extend_from_slice(&good);
        std::fs::write(&path, &bad).map_err(Error::io(&path))?;
        assert!(matches!(
            Ledger::open(&path),
            Err(Error::LedgerCorrupt { line: 1, .. })
        ));
        Ok(())
    }

    /// The typed reason of line 1 when it is `bad`, followed by a good record.
    fn line_error(path: &Path, bad: &str) -> Result<LedgerLineError, Error> {
        let good = r#"{"v":1,"kid":"01020304","start":0,"count":1,"part":"P","lot":"L","date":"1970-01-01","expiry":null,"time":1}"#;
        std::fs::write(path, format!("{bad}\n{good}\n")).map_err(Error::io(path))?;
        match Ledger::open(path) {
            Err(Error::LedgerCorrupt {
                line: 1, reason, ..
            }) => Ok(*reason),
            other => panic!("{bad}: expected a corrupt line 1, got {other:?}"),
        }
    }

    #[test]
    fn each_damage_gives_its_line_error() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let path = dir.path().join("l.ledger");
        let record = |v: u8, kid: &str, start: u64, count: u64, date: &str| {
            format!(
                r#"{{"v":{v},"kid":"{kid}","start":{start},"count":{count},"part":"P","lot":"L","date":"{date}","expiry":null,"time":1}}"#
            )
        };
        // A torn record followed by more records is not a torn tail.
        let torn = r#"{"v":1,"kid":"01020304","sta"#;
        match line_error(&path, torn)? {
            LedgerLineError::Json { source } => assert!(source.is_eof(), "{source}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            line_error(&path, &record(3, "01020304", 0, 1, "1970-01-01"))?,
            LedgerLineError::Version { version: 3 }
        ));
        assert!(matches!(
            line_error(&path, &record(1, "01020304", 0, 0, "1970-01-01"))?,
            LedgerLineError::ZeroCount
        ));
        assert!(matches!(
            line_error(&path, &record(1, "01020304", OPAQUE_BIT - 1, 2, "1970-01-01"))?,
            LedgerLineError::CounterRange { start, count: 2 } if start == OPAQUE_BIT - 1
        ));
        assert!(matches!(
            line_error(&path, &record(1, "0102030", 0, 1, "1970-01-01"))?,
            LedgerLineError::Field { field: "kid", .. }
        ));
        assert!(matches!(
            line_error(&path, &record(1, "01020304", 0, 1, "1970-02-30"))?,
            LedgerLineError::Field { field: "date", .. }
        ));
        let long = "x".repeat(MAX_LINE_LEN + 1);
        assert!(matches!(
            line_error(&path, &long)?,
            LedgerLineError::TooLong {
                max: MAX_LINE_LEN,
                ..
            }
        ));
        Ok(())
    }

    const A: &str = "01020304";
    const B: &str = "09090909";

    fn reservation(kid: &str, start: u64, count: u64) -> String {
        format!(
            r#"{{"v":2,"kid":"{kid}","start":{start},"count":{count},"part":"P","lot":"L","date":"1970-01-01","expiry":null,"time":1,"serials":"sequential"}}"#
        )
    }

    fn progress(kid: &str, start: u64, emitted: u64) -> String {
        format!(r#"{{"v":2,"kind":"progress","kid":"{kid}","start":{start},"emitted":{emitted}}}"#)
    }

    fn close(kid: &str, start: u64, emitted: u64, end: &str) -> String {
        format!(
            r#"{{"v":2,"kind":"close","kid":"{kid}","start":{start},"emitted":{emitted},"end":"{end}"}}"#
        )
    }

    /// Writes `lines` (each newline-terminated) and opens the ledger.
    fn load(path: &Path, lines: &[String]) -> Result<Ledger, Error> {
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(path, text).map_err(Error::io(path))?;
        Ledger::open(path)
    }

    /// The reason the last of `lines` is refused (it must be).
    fn mark_error(path: &Path, lines: &[String]) -> LedgerLineError {
        match load(path, lines) {
            Err(Error::LedgerCorrupt { line, reason, .. }) => {
                assert_eq!(line, lines.len(), "{lines:?}");
                *reason
            }
            other => panic!("{lines:?}: expected a corrupt last line, got {other:?}"),
        }
    }

    #[test]
    fn progress_and_close_records_set_the_emitted_count() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let path = dir.path().join("l.ledger");
        let kid = KeyId::from_bytes([1, 2, 3, 4]);
        {
            let mut l = Ledger::open(&path)?;
            let one = l.reserve(&request(kid, 100, None))?;
            let two = l.reserve(&request(kid, 50, None))?;
            assert_eq!(one.v, RECORD_VERSION);
            l.record_progress(&one, 40)?;
            l.record_progress(&one, 80)?;
            l.close(&one, 80, End::Interrupted)?;
            l.record_progress(&two, 10)?;
            // Refused without writing: beyond the reservation, backwards,
            // after the close, a short "complete".
            assert!(matches!(
                l.record_progress(&two, 51),
                Err(Error::BadMark { .. })
            ));
            assert!(matches!(
                l.record_progress(&two, 9),
                Err(Error::BadMark { .. })
            ));
            assert!(matches!(
                l.record_progress(&one, 90),
                Err(Error::BadMark { .. })
            ));
            assert!(matches!(
                l.close(&two, 49, End::Complete),
                Err(Error::BadMark { .. })
            ));
        }
        let l = Ledger::open(&path)?;
        assert_eq!(
            l.emissions(),
            [
                Emission::Closed {
                    emitted: 80,
                    end: End::Interrupted
                },
                Emission::Open { emitted: 10 }
            ]
        );
        let emitted: Vec<u64> = l.entries().map(|(b, e)| e.emitted(b)).collect();
        assert_eq!(emitted, [80, 10]);
        // The whole reservations stay spent.
        assert_eq!(l.next_serial(kid), Some(150));
        Ok(())
    }

    /// An old ledger (version-1 reservations) loads, and its batches count
    /// as wholly emitted; new batches follow them.
    #[test]
    fn version_1_ledgers_load_as_wholly_emitted() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let path = dir.path().join("l.ledger");
        let old = r#"{"v":1,"kid":"01020304","start":0,"count":7,"part":"P","lot":"L","date":"1970-01-01","expiry":null,"time":1}"#;
        let mut l = load(&path, &[old.to_owned()])?;
        assert_eq!(l.emissions(), [Emission::Unrecorded]);
        assert_eq!(l.emissions()[0].emitted(&l.batches()[0]), 7);
        let kid = KeyId::from_bytes([1, 2, 3, 4]);
        let b = l.reserve(&request(kid, 3, None))?;
        assert_eq!(b.start, 7);
        // No progress record can name a version-1 batch.
        let old_batch = l.batches()[0].clone();
        assert!(matches!(
            l.record_progress(&old_batch, 1),
            Err(Error::BadMark { .. })
        ));
        Ok(())
    }

    #[test]
    fn torn_progress_line_is_a_torn_tail() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let path = dir.path().join("l.ledger");
        let mut text = format!("{}\n{}\n", reservation(A, 0, 100), progress(A, 0, 30));
        let full = progress(A, 0, 60);
        text.push_str(&full[..full.len() - 5]);
        std::fs::write(&path, &text).map_err(Error::io(&path))?;
        let mut l = Ledger::open(&path)?;
        assert_eq!(l.emissions(), [Emission::Open { emitted: 30 }]);
        let b = l.batches()[0].clone();
        l.record_progress(&b, 70)?;
        drop(l);
        let l = Ledger::open(&path)?;
        assert_eq!(l.emissions(), [Emission::Open { emitted: 70 }]);
        drop(l);
        // A torn progress record in the middle is corruption.
        let lines = [
            reservation(A, 0, 100),
            full[..full.len() - 5].to_owned(),
            progress(A, 0, 80),
        ];
        assert!(matches!(
            load(&path, &lines),
            Err(Error::LedgerCorrupt { line: 2, .. })
        ));
        Ok(())
    }

    #[test]
    fn bad_progress_and_close_records_are_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.ledger");
        let r = || reservation(A, 0, 100);
        // For no batch at all, for another key's batch, for another start.
        assert!(matches!(
            mark_error(&path, &[progress(A, 0, 1)]),
            LedgerLineError::UnknownBatch { start: 0, .. }
        ));
        assert!(matches!(
            mark_error(&path, &[r(), progress(B, 0, 1)]),
            LedgerLineError::UnknownBatch { .. }
        ));
        assert!(matches!(
            mark_error(&path, &[r(), progress(A, 1, 1)]),
            LedgerLineError::UnknownBatch { start: 1, .. }
        ));
        // A progress before its batch's reservation.
        assert!(matches!(
            load(&path, &[progress(A, 0, 1), r()]),
            Err(Error::LedgerCorrupt { line: 1, .. })
        ));
        // Beyond the reservation (progress and close), complete but short.
        assert!(matches!(
            mark_error(&path, &[r(), progress(A, 0, 101)]),
            LedgerLineError::BeyondReservation {
                emitted: 101,
                count: 100
            }
        ));
        assert!(matches!(
            mark_error(&path, &[r(), close(A, 0, 101, "interrupted")]),
            LedgerLineError::BeyondReservation { .. }
        ));
        assert!(matches!(
            mark_error(&path, &[r(), close(A, 0, 99, "complete")]),
            LedgerLineError::BeyondReservation { .. }
        ));
        // Backwards, after a close, mis-shaped, unknown end, version.
        assert!(matches!(
            mark_error(&path, &[r(), progress(A, 0, 50), progress(A, 0, 49)]),
            LedgerLineError::ProgressBackwards {
                emitted: 49,
                previous: 50
            }
        ));
        assert!(matches!(
            mark_error(&path, &[r(), close(A, 0, 5, "failed"), progress(A, 0, 6)]),
            LedgerLineError::AfterClose
        ));
        assert!(matches!(
            mark_error(
                &path,
                &[r(), close(A, 0, 5, "failed"), close(A, 0, 5, "failed")]
            ),
            LedgerLineError::AfterClose
        ));
        let with_end = progress(A, 0, 5).replace('}', r#","end":"failed"}"#);
        assert!(matches!(
            mark_error(&path, &[r(), with_end]),
            LedgerLineError::MarkShape
        ));
        let no_end = close(A, 0, 5, "failed").replace(r#","end":"failed""#, "");
        assert!(matches!(
            mark_error(&path, &[r(), no_end]),
            LedgerLineError::MarkShape
        ));
        assert!(matches!(
            mark_error(&path, &[r(), close(A, 0, 5, "done")]),
            LedgerLineError::Json { .. }
        ));
        assert!(matches!(
            mark_error(
                &path,
                &[r(), progress(A, 0, 5).replace("\"v\":2", "\"v\":1")]
            ),
            LedgerLineError::Version { version: 1 }
        ));
        // A version-1 batch takes no progress record.
        let v1 = reservation(A, 0, 100).replace("\"v\":2", "\"v\":1");
        assert!(matches!(
            mark_error(&path, &[v1, progress(A, 0, 1)]),
            LedgerLineError::UnknownBatch { .. }
        ));
    }

    /// Two keys with batches at the same counters: each progress record
    /// counts for its own key's batch only.
    #[test]
    fn progress_records_of_two_keys_stay_apart() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let path = dir.path().join("l.ledger");
        let l = load(
            &path,
            &[
                reservation(A, 0, 100),
                reservation(B, 0, 10),
                progress(B, 0, 10),
                progress(A, 0, 20),
                close(B, 0, 10, "complete"),
            ],
        )?;
        assert_eq!(
            l.emissions(),
            [
                Emission::Open { emitted: 20 },
                Emission::Closed {
                    emitted: 10,
                    end: End::Complete
                }
            ]
        );
        drop(l);
        // B's batch holds 10: a progress of 20 for B is beyond it.
        assert!(matches!(
            mark_error(
                &path,
                &[
                    reservation(A, 0, 100),
                    reservation(B, 0, 10),
                    progress(B, 0, 20)
                ]
            ),
            LedgerLineError::BeyondReservation { count: 10, .. }
        ));
        Ok(())
    }

    /// Batch numbers: one more than the key's highest, per key; a key mints
    /// either opaque or batch serials; records breaking the rules are corrupt.
    #[test]
    fn batch_numbers_and_mode_conflicts() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let path = dir.path().join("l.ledger");
        let kid = KeyId::from_bytes([1, 2, 3, 4]);
        let other = KeyId::from_bytes([9, 9, 9, 9]);
        let with = |kid, serials| BatchRequest {
            serials,
            ..request(kid, 5, None)
        };
        {
            let mut l = Ledger::open(&path)?;
            assert_eq!(l.reserve(&with(kid, SerialMode::Batch))?.batch, Some(0));
            assert_eq!(l.reserve(&with(kid, SerialMode::Sequential))?.batch, None);
            assert_eq!(l.reserve(&with(kid, SerialMode::Batch))?.batch, Some(1));
            assert_eq!(l.reserve(&with(other, SerialMode::Opaque))?.batch, None);
            assert!(matches!(
                l.reserve(&with(kid, SerialMode::Opaque)),
                Err(Error::SerialModeConflict {
                    requested: SerialMode::Opaque,
                    existing: SerialMode::Batch,
                    ..
                })
            ));
            assert!(matches!(
                l.reserve(&with(other, SerialMode::Batch)),
                Err(Error::SerialModeConflict {
                    requested: SerialMode::Batch,
                    existing: SerialMode::Opaque,
                    ..
                })
            ));
            assert!(matches!(
                l.reserve(&BatchRequest {
                    count: BATCH_COUNTER_LIMIT + 1,
                    ..with(kid, SerialMode::Batch)
                }),
                Err(Error::BatchTooLarge { .. })
            ));
        }
        let l = Ledger::open(&path)?;
        assert_eq!(l.next_batch_number(kid), Some(2));
        assert_eq!(l.next_batch_number(other), Some(0));
        drop(l);
        let batch = |start: u64, b: &str| {
            reservation(A, start, 5).replace(
                r#""serials":"sequential""#,
                &format!(r#""serials":"batch"{b}"#),
            )
        };
        assert!(matches!(
            mark_error(
                &path,
                &[batch(0, r#","batch":0"#), batch(5, r#","batch":0"#)]
            ),
            LedgerLineError::BatchNumberReused
        ));
        assert!(matches!(
            mark_error(&path, &[batch(0, "")]),
            LedgerLineError::BatchField
        ));
        assert!(matches!(
            mark_error(&path, &[batch(0, r#","batch":8388608"#)]),
            LedgerLineError::BatchRange { .. }
        ));
        let opaque = reservation(A, 10, 5).replace("sequential", "opaque");
        assert!(matches!(
            mark_error(&path, &[batch(0, r#","batch":0"#), opaque]),
            LedgerLineError::ModeConflict
        ));
        assert!(matches!(
            mark_error(&path, &[reservation(A, 0, 5), reservation(A, 0, 5)]),
            LedgerLineError::DuplicateStart
        ));
        Ok(())
    }

    #[test]
    fn second_writer_is_refused_while_locked() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let path = dir.path().join("l.ledger");
        let first = Ledger::open(&path)?;
        assert!(matches!(
            Ledger::try_open(&path),
            Err(Error::LedgerBusy { .. })
        ));
        drop(first);
        Ledger::try_open(&path)?;
        Ok(())
    }
}
