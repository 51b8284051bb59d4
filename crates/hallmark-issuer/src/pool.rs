//! External serial pools for GS1 minting: serials allocated by a level-4
//! system (one file per GTIN, one serial per line), each recorded durably as
//! used before any code with it is signed, so that no pool serial is ever
//! signed twice under one key and GTIN.
//!
//! Two steps, as for hallmark's own serials ([`crate::pipeline`]):
//!
//! 1. [`SerialPool::parse`] reads and checks the whole pool file: every line
//!    one serial of 1 to [`MAX_SERIAL_LEN`] characters of the GS1 AI
//!    encodable character set 82 ([`CSET82`]), none repeated, none empty. The
//!    first bad line is refused with its line and character position, and
//!    nothing is reserved.
//! 2. [`reserve_pool`] checks every serial against those used before under
//!    the same key and GTIN and, only if none was, records them all in the
//!    pool ledger and fsyncs it **before returning** the [`PoolReservation`].
//!    The caller signs and prints only after that, and closes the
//!    reservation ([`PoolReservation::close`]) when the output is done.
//!
//! # The pool ledger
//!
//! One append-only file per (key, GTIN), `<kid>-<gtin>.pool` in the pool
//! directory beside the key's serial ledger ([`pool_dir`]): the key id is 8
//! hex digits and the GTIN is checked (14 digits, mod-10 check digit) before
//! it becomes part of a file name. It is a [`hallmark_state::log::AppendLog`]:
//! opened without following a symlink, locked exclusively (flock) from before
//! the check until the reservation is closed or dropped, so the check and the
//! append are one atomic step for every process and thread using the
//! directory, and appended in one write followed by an fsync.
//!
//! Text lines, fields separated by one space (neither a space nor `#` is in
//! CSET 82, so a serial never contains a separator), each ending in a check
//! value: 32 hex digits of BLAKE3 (derive-key mode) over the line before it.
//!
//! ```text
//! hallmark-pool 1 <kid> <gtin> <check>              first line: whose pool this is
//! R <id> <time> <n> <serial 1> ... <serial n> <check>   a reservation (ids 1, 2, 3, ...)
//! C <id> <emitted> <complete|interrupted|failed> <check>   its close record
//! K <id> <check>   found unclosed (killed) by a later reservation, which reported it
//! ```
//!
//! Every serial on an `R` line is used for good, whether its batch was
//! closed, interrupted or killed, and however many of its codes reached the
//! output. A reservation with no close record was interrupted by a kill or a
//! crash (the lock proves its process is gone): the next reservation reports
//! it ([`PoolReservation::interrupted`]: "N pool serials were reserved by an
//! interrupted batch and are consumed"), and its close records that it did
//! (`K`, beside its own `C`), so it is reported until a batch that reported
//! it completes.
//!
//! # Why a crash never lets a serial be signed twice
//!
//! A reservation's `R` line, with its newline, is written in one write and
//! fsynced before [`reserve_pool`] returns, so every serial handed to a
//! caller is on disk, on a whole, newline-terminated line, before it can be
//! signed. What a kill or a crash can leave:
//!
//! - **A whole `R` line whose reservation never returned** (killed after the
//!   write, before the fsync returned, or before anything was printed): kept,
//!   its serials consumed. Over-counting is safe.
//! - **A torn `R` line** (cut short mid-write): always the unterminated last
//!   line, and its check value is missing or wrong (a check value is the only
//!   32-character token a line holds, and it covers every byte before it).
//!   The log's torn-tail rule drops it and cuts it off before the next
//!   append. This is safe because an unterminated line can only be the tail
//!   of a write that had not returned: every reservation returned to a caller
//!   ended in a newline that was fsynced with it, and later appends are only
//!   ever written after it. Its serials were never returned, so never signed.
//! - **Damage anywhere else** (a line with a bad check value that a newline
//!   ends, zeros from a lost block, a bit flip in a serial): refused as
//!   corrupt, naming the line, and nothing is reserved until it is repaired.
//!   The check value is what stops a damaged serial from silently reading as
//!   another, never-used one. A line whose check value is right but which
//!   breaks the format's rules is refused even as the last line (it was
//!   written whole, so it is never taken for a torn one).
//!
//! What this cannot tell apart: a returned reservation, last in the file,
//! whose final newline and check value were later lost to damage of the
//! storage itself reads as a torn tail. The argument above rests on fsync
//! meaning what it says.
//!
//! A caller that also holds the key's serial ledger
//! ([`crate::pipeline::Reservation`]) takes it first, then the pool ledger,
//! so two processes never wait on each other in a cycle.
//!
//! # Memory and time
//!
//! A key's history for one GTIN may hold tens of millions of serials. A
//! reservation does not load them: it streams the pool ledger once, line by
//! line, and looks each recorded serial up in a hash map of the *batch's*
//! serials. Memory is proportional to the batch (plus its longest recorded
//! reservation line), time to the history. Measured (release build, one
//! core): a pool of 1,000,000 serials parses in 0.4 s and is reserved into
//! an empty ledger in 0.3 s; 1,000 serials are checked against that history
//! of a million and reserved in 0.13 s.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use hallmark::KeyId;
use hallmark_state::file::{self, FileError};
use hallmark_state::log::{AppendLog, LoadError, LogError};

use crate::End;
use crate::pipeline::Notice;

mod error;
mod record;
mod serial_file;

pub use error::{PoolError, PoolLineError, SerialFault};
use record::{Record, Scan};
use serial_file::check_serial_bytes;
pub use serial_file::{CSET82, SerialPool, check_gtin, check_serial, is_cset82};

/// Longest pool serial, in characters: AI 21 is `X..20`, and EU FMD and
/// DSCSA allow 20.
pub const MAX_SERIAL_LEN: usize = 20;

/// Most serials one pool file may hold.
pub const MAX_POOL_SERIALS: usize = 10_000_000;

/// Largest pool file read, in bytes (256 MiB). A valid pool of
/// [`MAX_POOL_SERIALS`] serials of 20 characters with CRLF line ends is
/// 220 MB.
pub const MAX_POOL_BYTES: u64 = 256 * 1024 * 1024;

/// Largest pool ledger (one key and GTIN), in bytes (64 GiB: about three
/// billion serials).
pub const MAX_POOL_LEDGER_LEN: u64 = 64 * 1024 * 1024 * 1024;

/// The directory of the pool ledgers that go with the serial ledger at
/// `ledger` ([`crate::pipeline::ledger_path`]): its path with `.pools`
/// appended (`keys/acme.ledger` → `keys/acme.ledger.pools/`).
pub fn pool_dir(ledger: &Path) -> PathBuf {
    let mut name = ledger
        .file_name()
        .map_or_else(|| OsString::from("ledger"), OsString::from);
    name.push(".pools");
    ledger.with_file_name(name)
}

/// The pool ledger of `kid` and `gtin` (checked first) in `dir`:
/// `<kid>-<gtin>.pool`.
pub fn pool_ledger_path(dir: &Path, kid: KeyId, gtin: &str) -> Result<PathBuf, PoolError> {
    check_gtin(gtin)?;
    Ok(dir.join(format!("{kid}-{gtin}.pool")))
}

/// What a pool is reserved for.
#[derive(Clone, Copy, Debug)]
pub struct PoolRequest<'a> {
    /// The key that will sign the pool's codes.
    pub kid: KeyId,
    /// The GTIN (AI 01, 14 digits) the pool's serials are for.
    pub gtin: &'a str,
    /// Current time, in seconds since 1970-01-01 UTC (recorded).
    pub time: u64,
}

/// A reservation found with no close record by [`reserve_pool`]: its batch
/// was killed or crashed (or its [`PoolReservation`] was dropped unclosed).
/// Its serials are consumed: some of them may have been printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterruptedPool {
    /// The reservation's number in its pool ledger.
    pub id: u64,
    /// When it was reserved (seconds since 1970).
    pub time: u64,
    /// How many serials it reserved.
    pub count: u64,
}

impl fmt::Display for InterruptedPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (were, are, none) = if self.count == 1 {
            ("was", "is", "it will never")
        } else {
            ("were", "are", "none of them will")
        };
        write!(
            f,
            "{} {were} reserved by an interrupted batch (pool reservation #{}, \
             reserved at {}) and {are} consumed: {none} be signed again",
            hallmark::plural(self.count, "pool serial", "pool serials"),
            self.id,
            hallmark::rfc3339(self.time)
        )
    }
}

/// A pool durably recorded as used, its pool ledger still locked until it is
/// closed or dropped (another reservation for the same key and GTIN waits).
/// Dropped without [`PoolReservation::close`], it is reported by the next
/// reservation as interrupted; its serials stay consumed either way.
#[derive(Debug)]
pub struct PoolReservation {
    log: AppendLog,
    id: u64,
    count: u64,
    interrupted: Vec<InterruptedPool>,
}

impl PoolReservation {
    /// The reservation's number in its pool ledger (1 for the first).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// How many serials it reserved: the whole pool.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The pool ledger.
    pub fn path(&self) -> &Path {
        self.log.path()
    }

    /// Earlier reservations found unclosed (killed or crashed batches): tell
    /// the user (their [`fmt::Display`] says how many serials were
    /// consumed). [`PoolReservation::close`] records them as reported, so
    /// each is reported until one reservation that reported it is closed.
    pub fn interrupted(&self) -> &[InterruptedPool] {
        &self.interrupted
    }

    /// Closes the reservation (appends and fsyncs): the first `emitted`
    /// serials of the pool reached the output, the rest will never be used.
    /// `End::Complete` needs `emitted` = the pool's size. Releases the lock.
    pub fn close(mut self, emitted: u64, end: End) -> Result<(), PoolError> {
        if emitted > self.count || (end == End::Complete && emitted != self.count) {
            return Err(PoolError::BadClose {
                emitted,
                count: self.count,
                end,
            });
        }
        let mut lines = Vec::new();
        Record::Close {
            id: self.id,
            emitted,
            end,
        }
        .write(&mut lines);
        // Recorded as reported only now, after the caller had the
        // reservation (and its report) in hand for the whole batch: a batch
        // killed before closing leaves them to be reported again.
        for i in &self.interrupted {
            Record::Killed { id: i.id }.write(&mut lines);
        }
        self.log.append(&lines)?;
        Ok(())
    }

    /// [`PoolReservation::close`] with every serial emitted.
    pub fn complete(self) -> Result<(), PoolError> {
        let count = self.count;
        self.close(count, End::Complete)
    }
}

/// Reserves every serial of `pool` for `request.kid` and `request.gtin`:
/// refuses the whole pool ([`PoolError::AlreadyUsed`], naming the first of
/// its serials used before, when and by which reservation) if any serial was
/// reserved before under this key and GTIN, else records them all in the
/// pool ledger in `dir` ([`pool_dir`]; created if missing) and fsyncs it
/// before returning. Sign and print only after this returns.
///
/// Waits, after a [`Notice::LedgerBusy`], while another reservation of the
/// same key and GTIN holds the pool ledger. Refused reservations write
/// nothing.
///
/// # Example
///
/// ```
/// use hallmark::KeyId;
/// use hallmark_issuer::End;
/// use hallmark_issuer::pool::{PoolError, PoolRequest, SerialPool, pool_dir, reserve_pool};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let pools = pool_dir(&dir.path().join("acme.ledger"));
/// let request = PoolRequest {
///     kid: KeyId::from_bytes([1, 2, 3, 4]),
///     gtin: "09506000134352",
///     time: 1_767_225_600,
/// };
/// let pool = SerialPool::parse("SN-0001\nSN-0002\n".as_bytes(), "pool.txt")?;
/// // Recorded and fsynced before a single code is signed.
/// let reservation = reserve_pool(&pools, &request, &pool, &mut |_| {})?;
/// // ... sign and print pool.serials() ...
/// reservation.close(2, End::Complete)?;
///
/// // The same serial again is refused, and nothing of that pool is reserved.
/// let again = SerialPool::parse("SN-0003\nSN-0002\n".as_bytes(), "next.txt")?;
/// match reserve_pool(&pools, &request, &again, &mut |_| {}) {
///     Err(PoolError::AlreadyUsed { serial, line: 2, reservation: 1, .. }) => {
///         assert_eq!(serial, "SN-0002")
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok(())
/// # }
/// ```
pub fn reserve_pool(
    dir: &Path,
    request: &PoolRequest<'_>,
    pool: &SerialPool,
    notice: &mut dyn FnMut(Notice<'_>),
) -> Result<PoolReservation, PoolError> {
    let path = pool_ledger_path(dir, request.kid, request.gtin)?;
    ensure_dir(dir)?;
    let mut log = match AppendLog::open(&path, file::MODE_PUBLIC, MAX_POOL_LEDGER_LEN, false) {
        Err(LogError::Busy { .. }) => {
            notice(Notice::LedgerBusy { ledger: &path });
            AppendLog::open(&path, file::MODE_PUBLIC, MAX_POOL_LEDGER_LEN, true)?
        }
        other => other?,
    };
    let batch: HashMap<&str, usize> = pool
        .serials()
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), i))
        .collect();
    let kid = request.kid.to_string();
    let mut scan = Scan::new(&path, &kid, request.gtin, &batch);
    log.load(record::MAX_RECORD_LEN, |body| scan.apply(body))
        .map_err(|e| match e {
            LoadError::Log(e) => PoolError::Log(e),
            LoadError::Corrupt { path, line, reason } => {
                PoolError::LedgerCorrupt { path, line, reason }
            }
            LoadError::Parser(e) => e,
        })?;
    if let Some(used) = scan.first_used() {
        return Err(PoolError::AlreadyUsed {
            kid: request.kid,
            gtin: request.gtin.to_owned(),
            serial: pool.serials().get(used.index).cloned().unwrap_or_default(),
            input: pool.name().to_owned(),
            line: used.index + 1,
            reservation: used.id,
            time: used.time,
            used: scan.used_count(),
        });
    }
    let id = scan
        .next_id()
        .ok_or(PoolError::LedgerFull { path: path.clone() })?;
    let count = pool.len() as u64;
    let mut records = Vec::with_capacity(
        pool.serials()
            .iter()
            .map(|s| s.len() + 1)
            .sum::<usize>()
            .saturating_add(256),
    );
    if !scan.has_header() {
        Record::Header {
            kid: &kid,
            gtin: request.gtin,
        }
        .write(&mut records);
    }
    let interrupted: Vec<InterruptedPool> = scan.open().collect();
    Record::Reserve {
        id,
        time: request.time,
        serials: pool.serials(),
    }
    .write(&mut records);
    // Cuts off a torn tail, writes in one write, fsyncs: only then may the
    // caller sign.
    log.append(&records)?;
    Ok(PoolReservation {
        log,
        id,
        count,
        interrupted,
    })
}

/// What the pool ledgers of `kid` and `gtin` in `dir` record, read without
/// writing (but under the lock, waiting for a reservation in progress).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolHistory {
    /// Reservations recorded.
    pub reservations: u64,
    /// Serials recorded as used.
    pub serials: u64,
    /// Reservations with no close record and not yet reported.
    pub interrupted: Vec<InterruptedPool>,
}

/// Reads the pool ledger of `kid` and `gtin` in `dir` (an absent one is
/// empty), with the same checks as [`reserve_pool`]; writes nothing.
pub fn pool_history(dir: &Path, kid: KeyId, gtin: &str) -> Result<PoolHistory, PoolError> {
    let path = pool_ledger_path(dir, kid, gtin)?;
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(PoolHistory {
                reservations: 0,
                serials: 0,
                interrupted: Vec::new(),
            });
        }
        Err(e) => return Err(PoolError::Log(FileError::io(&path)(e).into())),
        Ok(_) => {}
    }
    let mut log = AppendLog::open(&path, file::MODE_PUBLIC, MAX_POOL_LEDGER_LEN, true)?;
    let empty = HashMap::new();
    let kid = kid.to_string();
    let mut scan = Scan::new(&path, &kid, gtin, &empty);
    log.load(record::MAX_RECORD_LEN, |body| scan.apply(body))
        .map_err(|e| match e {
            LoadError::Log(e) => PoolError::Log(e),
            LoadError::Corrupt { path, line, reason } => {
                PoolError::LedgerCorrupt { path, line, reason }
            }
            LoadError::Parser(e) => e,
        })?;
    Ok(PoolHistory {
        reservations: scan.reservations(),
        serials: scan.recorded(),
        interrupted: scan.open().collect(),
    })
}

/// Creates the pool directory if missing (its entry made durable), and
/// refuses one that is a symlink or not a directory.
fn ensure_dir(dir: &Path) -> Result<(), PoolError> {
    let io_error = |e| PoolError::Log(FileError::io(dir)(e).into());
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => return Ok(()),
        Ok(_) => {
            return Err(PoolError::NotADirectory {
                path: dir.to_owned(),
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(e)),
    }
    match std::fs::create_dir(dir) {
        Ok(()) => {}
        // Another process made it meanwhile: check what it made.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return match std::fs::symlink_metadata(dir) {
                Ok(meta) if meta.is_dir() => Ok(()),
                Ok(_) => Err(PoolError::NotADirectory {
                    path: dir.to_owned(),
                }),
                Err(e) => Err(io_error(e)),
            };
        }
        Err(e) => return Err(io_error(e)),
    }
    file::sync_dir(file::parent_dir(dir)).map_err(|e| PoolError::Log(e.into()))
}

#[cfg(test)]
mod tests;
