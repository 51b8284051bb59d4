//! The serial ledger: an append-only file of minted batches, so that no serial is
//! ever issued twice by one key.
//!
//! Each batch is one JSON line, written and fsynced *before* any code in it is
//! emitted. A crash may therefore leave a batch recorded whose codes were never
//! printed (a gap in the numbering), but never codes printed whose serials are
//! unrecorded. The file is locked exclusively while open, so two mint processes
//! never interleave. The file is a [`hallmark_state::log::AppendLog`], with
//! its one torn-tail rule: a torn final line (a crash mid-append, before the
//! fsync returned and so before any code was emitted) is ignored and cut off
//! on the next append, a whole final record missing only its newline is kept;
//! any other damaged line stops minting. The file is never opened through a
//! symlink.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use hallmark_state::file::{self, FileError};
use hallmark_state::log::{AppendLog, LoadError, LogError, Reject};

use hallmark::{Date, KeyId};
use serde::{Deserialize, Serialize};

use crate::error::{Error, LedgerLineError};
use crate::serials::{OPAQUE_BIT, SerialMode};

/// Largest ledger file read, in bytes (about a million batches).
const MAX_LEDGER_LEN: u64 = 256 * 1024 * 1024;

/// Longest ledger line, without its newline. A record is at most about 400 bytes.
const MAX_LINE_LEN: usize = 64 * 1024;

/// One minted batch. `start` and `count` are ledger counters: in sequential
/// mode the serials themselves, in opaque mode the inputs of the permutation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Record format version (1).
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
}

impl Batch {
    /// The serials of the batch.
    pub fn serials(&self) -> RangeInclusive<u64> {
        // count >= 1 and start + count - 1 < 2^63 are checked on read and reserve.
        self.start..=self.start.saturating_add(self.count.saturating_sub(1))
    }
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
        let mut batches = Vec::new();
        log.load(MAX_LINE_LEN, |body| {
            let batch = serde_json::from_slice::<Batch>(body)
                .map_err(|source| LedgerLineError::Json { source })
                .and_then(|b| validate(&b).map(|()| b))
                .map_err(Reject::<_, Error>::Invalid)?;
            batches.push(batch);
            Ok(())
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
            batches,
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
            v: 1,
            kid,
            start,
            count: request.count,
            part: request.part.to_owned(),
            lot: request.lot.to_owned(),
            date: request.date.to_string(),
            expiry: request.expiry.map(|d| d.to_string()),
            time: request.time,
            serials: request.serials,
        };
        let mut line = Vec::with_capacity(256);
        serde_json::to_writer(&mut line, &batch)
            .map_err(|source| Error::EncodeRecord { source })?;
        line.push(b'\n');
        // Cuts off a torn final record left by a crash, then appends and fsyncs.
        self.log.append(&line).map_err(log_error)?;
        self.batches.push(batch.clone());
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

fn validate(b: &Batch) -> Result<(), LedgerLineError> {
    if b.v != 1 {
        return Err(LedgerLineError::Version { version: b.v });
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
            line_error(&path, &record(2, "01020304", 0, 1, "1970-01-01"))?,
            LedgerLineError::Version { version: 2 }
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
