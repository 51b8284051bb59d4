//! The mint pipeline: reserve a batch of serials durably, then sign it on all
//! cores and hand the codes, in order, to the caller's sink.
//!
//! Two steps, so that no code can exist before its serials are on disk:
//!
//! 1. [`reserve`] takes the key's ledger lock (waiting for another mint),
//!    checks the ledger against the counter the key file records, records the
//!    batch in the ledger (fsynced) and then the new counter in the key file.
//!    It returns a [`Reservation`], which keeps the ledger locked until the
//!    batch is closed or dropped.
//! 2. [`sign_batch`] signs the reserved [`Batch`] in chunks of [`CHUNK`] codes
//!    on all cores (rayon), each chunk in serial order, while a writer thread
//!    hands the previous chunk to the sink. A stop flag (e.g. set on Ctrl-C) is
//!    checked between chunks, so the sink only ever sees whole chunks. After
//!    the sink accepts a chunk, the ledger records (fsynced) how many codes of
//!    the batch the sink has accepted.
//! 3. [`Reservation::close`] records the final count once the output is
//!    complete (or abandoned).
//!
//! Serials reserved but never handed to the sink (an interrupted run, a failed
//! output) stay reserved: they are never issued again. A batch whose process
//! was killed has no close record: its last progress record counts, and the
//! codes of at most one chunk after it may have reached the output unrecorded.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use rayon::prelude::*;

use crate::issued::{self, Issued};
use crate::{Batch, BatchRequest, Emission, End, Error, KeyFile, Ledger, Minter, SecretKey};

/// A reserved batch whose ledger is still held (locked): what [`reserve`]
/// returns, for [`sign_batch`] to record progress in and for
/// [`Reservation::close`]. Another mint on the same ledger waits until it is
/// dropped.
#[derive(Debug)]
pub struct Reservation {
    ledger: Ledger,
    batch: Batch,
    emitted: u64,
}

impl Reservation {
    /// The reserved batch.
    pub fn batch(&self) -> &Batch {
        &self.batch
    }

    /// Codes recorded as emitted so far.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// Records (fsynced) that the first `emitted` codes reached the output.
    pub fn record_progress(&mut self, emitted: u64) -> Result<(), Error> {
        self.ledger.record_progress(&self.batch, emitted)?;
        self.emitted = emitted;
        Ok(())
    }

    /// Closes the batch: the first `emitted` codes reached the output, the
    /// rest of the reservation is never issued. Releases the ledger.
    pub fn close(mut self, emitted: u64, end: End) -> Result<Emission, Error> {
        self.ledger.close(&self.batch, emitted, end)?;
        Ok(Emission::Closed { emitted, end })
    }
}

/// Codes signed per step: bounds memory whatever the batch size.
pub const CHUNK: u64 = 8192;

/// Where a batch is recorded.
#[derive(Clone, Copy, Debug)]
pub struct LedgerFiles<'a> {
    /// The issuer's secret key file, which records the highest counter reserved.
    pub key_file: &'a Path,
    /// The key's serial ledger.
    pub ledger: &'a Path,
    /// Reserve although the key file records counters beyond what the ledger
    /// holds (the ledger was lost, replaced or edited backwards): numbering
    /// continues above the key file's counter, which becomes a floor.
    pub new_ledger: bool,
}

/// The ledger of the key file `key_file`: `ledger` if given, else the key
/// file's path with the extension `.ledger` (`keys/acme.key` →
/// `keys/acme.ledger`).
pub fn ledger_path(key_file: &Path, ledger: Option<&Path>) -> PathBuf {
    ledger.map_or_else(|| key_file.with_extension("ledger"), Path::to_path_buf)
}

/// Something [`reserve`] tells its caller while it works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// Another process holds the ledger's lock; `reserve` waits for it.
    LedgerBusy {
        /// The ledger.
        ledger: &'a Path,
    },
    /// With [`LedgerFiles::new_ledger`]: the ledger does not hold the batches
    /// the key file records; numbering continues from `key_next`, which is
    /// recorded as a floor below which no serial is reserved from now on.
    NewLedger {
        /// The ledger.
        ledger: &'a Path,
        /// The key file.
        key_file: &'a Path,
        /// The counter numbering continues from.
        key_next: u64,
    },
}

/// Why [`sign_batch`] stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError<E> {
    /// Signing a code failed.
    #[error(transparent)]
    Mint(#[from] Error),
    /// The batch was reserved for one serial mode and the minter mints another.
    #[error("the batch was reserved for {reserved:?} serials, the minter mints {minter:?} serials")]
    ModeMismatch {
        /// The mode the batch was reserved for.
        reserved: crate::SerialMode,
        /// The minter's mode.
        minter: crate::SerialMode,
    },
    /// A batch-mode minter not bound to this batch ([`Minter::with_batch`]).
    #[error("the minter is not bound to this batch's number (Minter::with_batch)")]
    OtherBatch,
    /// The caller's per-code work failed.
    #[error("{0}")]
    PerCode(E),
    /// The sink failed; the chunks after the failure were not handed to it.
    #[error("{0}")]
    Output(io::Error),
    /// The thread feeding the sink panicked.
    #[error("the output thread panicked")]
    OutputPanicked,
    /// Recording the batch's progress in the ledger failed; no further chunk
    /// was handed to the sink.
    #[error("{0}")]
    Ledger(Error),
}

/// Reserves the serials for `request` (its `kid` is replaced by `key`'s)
/// durably before returning: the batch is appended to the ledger and fsynced,
/// then the key file records the next counter (a crash in between leaves the
/// ledger ahead of the key file, which is harmless). Test-only keys record
/// nothing in their key file.
///
/// Refuses ([`Error`]) a ledger that holds fewer serials than the key file
/// records (unless [`LedgerFiles::new_ledger`]) and a `start` below what the
/// key already issued. Two reservations on one ledger never overlap: the
/// second waits (after a [`Notice::LedgerBusy`]) for the first to release it.
///
/// # Example
///
/// ```
/// use hallmark::Payload;
/// use hallmark_issuer::pipeline::{LedgerFiles, reserve};
/// use hallmark_issuer::{BatchRequest, SecretKey, SerialMode};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let key = SecretKey::from_seed("doc", &[7; 32])?;
/// let (key_file, _public) = key.write_unencrypted(dir.path())?;
/// let ledger = dir.path().join("doc.ledger");
/// let files = LedgerFiles { key_file: &key_file, ledger: &ledger, new_ledger: false };
/// let request = BatchRequest {
///     kid: key.kid(),
///     count: 10,
///     start: None,
///     part: "DRN-2980",
///     lot: "L1",
///     date: "2024-01-31".parse()?,
///     expiry: None,
///     time: 1_706_659_200,
///     serials: SerialMode::Sequential,
/// };
/// let first = reserve(&key, files, &request, &mut |_| {})?;
/// assert_eq!(first.batch().serials(), 0..=9);
/// drop(first); // releases the ledger (the batch stays reserved, none emitted)
/// let second = reserve(&key, files, &request, &mut |_| {})?;
/// assert_eq!(second.batch().serials(), 10..=19);
/// # Ok(())
/// # }
/// ```
pub fn reserve(
    key: &SecretKey,
    files: LedgerFiles<'_>,
    request: &BatchRequest<'_>,
    notice: &mut dyn FnMut(Notice<'_>),
) -> Result<Reservation, Error> {
    let LedgerFiles {
        key_file,
        ledger: ledger_path,
        new_ledger,
    } = files;
    let mut ledger = match Ledger::try_open(ledger_path) {
        Err(Error::LedgerBusy { .. }) => {
            notice(Notice::LedgerBusy {
                ledger: ledger_path,
            });
            Ledger::open(ledger_path)?
        }
        other => other?,
    };
    // What the key file records it has reserved: the ledger must know at least as much.
    let issued = if key.is_test_only() {
        Issued::default()
    } else {
        KeyFile::read(key_file)?.issued
    };
    let ledger_next = ledger.next_serial(key.kid()).unwrap_or(u64::MAX);
    let mut start = request.start;
    let mut floor = None;
    match issued.check_ledger(key_file, ledger_path, ledger_next) {
        Ok(()) => {}
        Err(e) if !new_ledger => return Err(e),
        Err(_) => {
            let key_next = issued.next.unwrap_or(0);
            notice(Notice::NewLedger {
                ledger: ledger_path,
                key_file,
                key_next,
            });
            floor = Some(key_next);
            start = Some(start.unwrap_or(key_next));
        }
    }
    let floor_now = Issued {
        floor: floor.or(issued.floor),
        ..issued
    };
    match start {
        Some(s) => floor_now.check_start(key_file, s)?,
        None if floor_now.floor.is_some_and(|f| f > ledger_next) => start = floor_now.floor,
        None => {}
    }
    let batch = ledger.reserve(&BatchRequest {
        kid: key.kid(),
        start,
        ..request.clone()
    })?;
    if !key.is_test_only() {
        let next = batch.serials().end().saturating_add(1);
        issued::record(key_file, next, floor)?;
    }
    Ok(Reservation {
        ledger,
        batch,
        emitted: 0,
    })
}

/// Reserves the serials for `request` in the ledger at `ledger` alone, for a
/// signer without a key file (a key in an HSM, [`crate::signer::Signer`]):
/// the same lock (waiting after a [`Notice::LedgerBusy`]) and the same
/// fsync before returning as [`reserve`], but no key-file counter to check
/// the ledger against, so a lost or replaced ledger cannot be detected here:
/// keep the ledger of a hardware key backed up.
pub fn reserve_in_ledger(
    ledger_path: &Path,
    request: &BatchRequest<'_>,
    notice: &mut dyn FnMut(Notice<'_>),
) -> Result<Reservation, Error> {
    let mut ledger = match Ledger::try_open(ledger_path) {
        Err(Error::LedgerBusy { .. }) => {
            notice(Notice::LedgerBusy {
                ledger: ledger_path,
            });
            Ledger::open(ledger_path)?
        }
        other => other?,
    };
    let batch = ledger.reserve(request)?;
    Ok(Reservation {
        ledger,
        batch,
        emitted: 0,
    })
}

/// Signs every code of the reserved batch with `minter`, in chunks of
/// [`CHUNK`] on all cores, and returns how many codes the sink accepted: all
/// of the batch, or fewer if `stop` was set (checked before each chunk) or
/// the sink failed.
///
/// For each code, `per_code(serial, code)` runs on a rayon worker (for
/// example to render its line, or to write its label image) and its result
/// joins the chunk; each chunk, in serial order, is handed to `sink` on a
/// writer thread while the next one is signed. **`sink` must return `Ok`
/// only once the chunk is as durable as its output allows** (flushed to the
/// stream; for a file, written and fsynced): after each `Ok` the writer
/// records in the ledger (fsynced) how many codes the sink has accepted
/// ([`Reservation::record_progress`]), then calls `progress` with the chunk's
/// size. So the ledger never claims a code the output did not get, and after
/// a kill at most the one chunk being handed over is in the output
/// unrecorded. After a sink or ledger error no further chunk is started once
/// the writer has seen the failure (chunks already signed are dropped); the
/// error is returned as [`PipelineError::Output`] or
/// [`PipelineError::Ledger`], and [`Reservation::emitted`] still tells how
/// many codes were accepted and recorded. An error of signing or `per_code`
/// takes precedence over one of the sink.
///
/// The batch is not closed: the caller closes it ([`Reservation::close`])
/// once it knows the output's fate (a file output is complete only when
/// renamed into place).
///
/// `minter` must mint in the batch's serial mode ([`Minter::new`] with
/// `batch.serials`, then [`Minter::with_batch`]): a batch reserved for
/// sequential serials is refused by an opaque minter and the reverse.
///
/// # Example
///
/// ```
/// use std::sync::atomic::AtomicBool;
/// use hallmark::Payload;
/// use hallmark_issuer::pipeline::{LedgerFiles, reserve, sign_batch};
/// use hallmark_issuer::{BatchRequest, End, Minter, SecretKey, SerialMode};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let key = SecretKey::from_seed("doc", &[7; 32])?;
/// let (key_file, _public) = key.write_unencrypted(dir.path())?;
/// let ledger = dir.path().join("doc.ledger");
/// let date = "2024-01-31".parse()?;
/// let minter = Minter::new(&key, &Payload::new(0, "DRN-2980", "L1", date)?, SerialMode::Sequential)?;
/// let request = BatchRequest {
///     kid: key.kid(), count: 3, start: None, part: "DRN-2980", lot: "L1",
///     date, expiry: None, time: 1_706_659_200, serials: SerialMode::Sequential,
/// };
/// let files = LedgerFiles { key_file: &key_file, ledger: &ledger, new_ledger: false };
/// // Reserved and fsynced before a single code exists.
/// let mut reservation = reserve(&key, files, &request, &mut |_| {})?;
/// let minter = minter.with_batch(reservation.batch());
///
/// let mut lines = Vec::new();
/// let stop = AtomicBool::new(false);
/// let done = sign_batch(
///     &minter,
///     &mut reservation,
///     &stop,
///     &|_n| {},
///     |serial, code| Ok::<_, std::convert::Infallible>(format!("{serial} {code}")),
///     |chunk| {
///         lines.extend(chunk);
///         Ok(())
///     },
/// )?;
/// assert_eq!(done, 3);
/// assert!(lines[2].starts_with("2 "));
/// reservation.close(done, End::Complete)?;
/// # Ok(())
/// # }
/// ```
pub fn sign_batch<T, E, P, S>(
    minter: &Minter<'_>,
    reservation: &mut Reservation,
    stop: &AtomicBool,
    progress: &(dyn Fn(u64) + Sync),
    per_code: P,
    mut sink: S,
) -> Result<u64, PipelineError<E>>
where
    T: Send,
    E: Send,
    P: Fn(u64, String) -> Result<T, E> + Sync,
    S: FnMut(Vec<T>) -> io::Result<()> + Send,
{
    let batch = reservation.batch().clone();
    if minter.mode() != batch.serials {
        return Err(PipelineError::ModeMismatch {
            reserved: batch.serials,
            minter: minter.mode(),
        });
    }
    if minter.batch_number() != batch.batch {
        return Err(PipelineError::OtherBatch);
    }
    let counters = batch.serials();
    let (first, last) = (*counters.start(), *counters.end());
    // Set by the writer when the sink or the ledger fails: no further chunk is signed.
    let failed = AtomicBool::new(false);
    let failed = &failed;
    let sink = &mut sink;
    let start_emitted = reservation.emitted();
    let outcome = std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Vec<T>>(2);
        let reservation = &mut *reservation;
        let writer = scope.spawn(move || -> Result<(), PipelineError<E>> {
            let mut result = Ok(());
            let mut accepted = start_emitted;
            for chunk in rx {
                if result.is_ok() {
                    let n = chunk.len() as u64;
                    result = sink(chunk).map_err(PipelineError::Output).and_then(|()| {
                        accepted += n;
                        reservation
                            .record_progress(accepted)
                            .map_err(PipelineError::Ledger)
                    });
                    match result {
                        Ok(()) => progress(n),
                        Err(_) => failed.store(true, Ordering::SeqCst),
                    }
                }
                // After an error keep draining, so the producer never blocks.
            }
            result
        });
        let produced = (|| -> Result<(), PipelineError<E>> {
            let mut lo = first;
            while lo <= last && !stop.load(Ordering::SeqCst) && !failed.load(Ordering::SeqCst) {
                let hi = lo.saturating_add(CHUNK - 1).min(last);
                let chunk: Vec<T> = (lo..=hi)
                    .into_par_iter()
                    .map(|counter| {
                        let (serial, code) = minter.mint(counter)?;
                        per_code(serial, code).map_err(PipelineError::PerCode)
                    })
                    .collect::<Result<_, _>>()?;
                if tx.send(chunk).is_err() {
                    break; // The writer failed; its error is reported below.
                }
                lo = hi + 1;
            }
            Ok(())
        })();
        drop(tx);
        let written = writer.join().map_err(|_| PipelineError::OutputPanicked)?;
        produced?;
        written
    });
    outcome.map(|()| reservation.emitted())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SerialMode;
    use hallmark::{Date, Payload};
    use std::sync::atomic::AtomicU64;

    #[test]
    fn ledger_beside_the_key_unless_named() {
        let key = Path::new("keys/acme.key");
        assert_eq!(ledger_path(key, None), Path::new("keys/acme.ledger"));
        assert_eq!(
            ledger_path(key, Some(Path::new("/var/l"))),
            Path::new("/var/l")
        );
    }

    struct Setup {
        _dir: tempfile::TempDir,
        key: SecretKey,
        key_file: PathBuf,
        ledger: PathBuf,
        date: Date,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let key = SecretKey::from_seed("unit", &[9; 32]).unwrap();
        let (key_file, _) = key.write_unencrypted(dir.path()).unwrap();
        let ledger = dir.path().join("unit.ledger");
        Setup {
            _dir: dir,
            key,
            key_file,
            ledger,
            date: "2024-01-31".parse().unwrap(),
        }
    }

    impl Setup {
        fn files(&self, new_ledger: bool) -> LedgerFiles<'_> {
            LedgerFiles {
                key_file: &self.key_file,
                ledger: &self.ledger,
                new_ledger,
            }
        }
        fn request(&self, count: u64, serials: SerialMode) -> BatchRequest<'static> {
            BatchRequest {
                kid: self.key.kid(),
                count,
                start: None,
                part: "P",
                lot: "L",
                date: self.date,
                expiry: None,
                time: 1,
                serials,
            }
        }
        fn minter(&self, mode: SerialMode) -> Minter<'_> {
            Minter::new(
                &self.key,
                &Payload::new(0, "P", "L", self.date).unwrap(),
                mode,
            )
            .unwrap()
        }
    }

    #[test]
    fn reserve_records_the_counter_in_the_key_file() {
        let s = setup();
        let r = reserve(
            &s.key,
            s.files(false),
            &s.request(5, SerialMode::Sequential),
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(r.batch().serials(), 0..=4);
        assert_eq!(KeyFile::read(&s.key_file).unwrap().issued.next, Some(5));
    }

    #[test]
    fn reserve_refuses_a_lost_ledger_unless_new_ledger() {
        let s = setup();
        let req = s.request(5, SerialMode::Sequential);
        drop(reserve(&s.key, s.files(false), &req, &mut |_| {}).unwrap());
        std::fs::remove_file(&s.ledger).unwrap();
        assert!(reserve(&s.key, s.files(false), &req, &mut |_| {}).is_err());
        let mut notices = Vec::new();
        let batch = reserve(&s.key, s.files(true), &req, &mut |n| {
            if let Notice::NewLedger { key_next, .. } = n {
                notices.push(key_next);
            }
        })
        .unwrap();
        assert_eq!(notices, [5]);
        // Numbering continues above what the key file recorded: nothing reissued.
        assert_eq!(batch.batch().serials(), 5..=9);
    }

    #[test]
    fn sign_batch_hands_every_code_in_serial_order() {
        let s = setup();
        let count = CHUNK * 2 + 3;
        let mut batch = reserve(
            &s.key,
            s.files(false),
            &s.request(count, SerialMode::Sequential),
            &mut |_| {},
        )
        .unwrap();
        let minter = s.minter(SerialMode::Sequential);
        let progressed = AtomicU64::new(0);
        let mut seen = Vec::new();
        let done = sign_batch(
            &minter,
            &mut batch,
            &AtomicBool::new(false),
            &|n| {
                progressed.fetch_add(n, Ordering::SeqCst);
            },
            |serial, code| Ok::<_, ()>((serial, code)),
            |chunk| {
                seen.extend(chunk);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(done, count);
        assert_eq!(progressed.load(Ordering::SeqCst), count);
        let serials: Vec<u64> = seen.iter().map(|(s, _)| *s).collect();
        assert_eq!(serials, (0..count).collect::<Vec<_>>());
        assert_eq!(seen[7].1, minter.mint(7).unwrap().1);
    }

    #[test]
    fn sign_batch_stops_between_chunks() {
        let s = setup();
        let mut batch = reserve(
            &s.key,
            s.files(false),
            &s.request(CHUNK * 3, SerialMode::Sequential),
            &mut |_| {},
        )
        .unwrap();
        let stop = AtomicBool::new(false);
        let mut got = 0u64;
        let done = sign_batch(
            &s.minter(SerialMode::Sequential),
            &mut batch,
            &stop,
            &|_| {},
            // Set while the first chunk is signed: checked before the second.
            |serial, code| {
                if serial == 0 {
                    stop.store(true, Ordering::SeqCst);
                }
                Ok::<_, ()>(code)
            },
            |chunk| {
                got += chunk.len() as u64;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(done, CHUNK);
        assert_eq!(got, CHUNK);
    }

    #[test]
    fn sign_batch_reports_sink_and_per_code_errors() {
        let s = setup();
        let mut batch = reserve(
            &s.key,
            s.files(false),
            &s.request(CHUNK * 3, SerialMode::Sequential),
            &mut |_| {},
        )
        .unwrap();
        let minter = s.minter(SerialMode::Sequential);
        let stop = AtomicBool::new(false);
        let out = sign_batch(
            &minter,
            &mut batch,
            &stop,
            &|_| {},
            |_, code| Ok::<_, ()>(code),
            |_| Err(io::Error::other("disk full")),
        );
        assert!(matches!(out, Err(PipelineError::Output(e)) if e.to_string() == "disk full"));
        let out = sign_batch(
            &minter,
            &mut batch,
            &stop,
            &|_| {},
            |serial, code| {
                if serial == 3 {
                    Err("no image")
                } else {
                    Ok(code)
                }
            },
            |_| Ok(()),
        );
        assert!(matches!(out, Err(PipelineError::PerCode("no image"))));
    }

    /// The ledger records what the sink accepted, chunk by chunk: not what
    /// was signed or sent to the writer. A sink failing at its third chunk
    /// leaves exactly two chunks recorded, and the batch open (as a kill
    /// would) until it is closed.
    #[test]
    fn sign_batch_records_only_what_the_sink_accepted() {
        let s = setup();
        let count = CHUNK * 4 + 5;
        let mut r = reserve(
            &s.key,
            s.files(false),
            &s.request(count, SerialMode::Sequential),
            &mut |_| {},
        )
        .unwrap();
        let batch = r.batch().clone();
        let mut calls = 0;
        let mut got = 0u64;
        let out = sign_batch(
            &s.minter(SerialMode::Sequential),
            &mut r,
            &AtomicBool::new(false),
            &|_| {},
            |_, code| Ok::<_, ()>(code),
            |chunk| {
                calls += 1;
                if calls == 3 {
                    return Err(io::Error::other("disk full"));
                }
                got += chunk.len() as u64;
                Ok(())
            },
        );
        assert!(matches!(out, Err(PipelineError::Output(_))));
        assert_eq!(got, 2 * CHUNK);
        assert_eq!(r.emitted(), 2 * CHUNK);
        drop(r);
        let ledger = Ledger::open(&s.ledger).unwrap();
        assert_eq!(
            ledger.emission(s.key.kid(), batch.start),
            Some(Emission::Open { emitted: 2 * CHUNK })
        );
        drop(ledger);
        // Interrupted after one chunk and closed: exactly that chunk.
        let mut r = reserve(
            &s.key,
            s.files(false),
            &s.request(count, SerialMode::Sequential),
            &mut |_| {},
        )
        .unwrap();
        let second = r.batch().clone();
        assert_eq!(
            *second.serials().start(),
            count,
            "above the whole first reservation"
        );
        let stop = AtomicBool::new(false);
        let done = sign_batch(
            &s.minter(SerialMode::Sequential),
            &mut r,
            &stop,
            &|_| {},
            |counter, code| {
                if counter == count {
                    stop.store(true, Ordering::SeqCst);
                }
                Ok::<_, ()>(code)
            },
            |_| Ok(()),
        )
        .unwrap();
        assert_eq!(done, CHUNK);
        r.close(done, End::Interrupted).unwrap();
        let ledger = Ledger::open(&s.ledger).unwrap();
        assert_eq!(
            ledger.emission(s.key.kid(), second.start),
            Some(Emission::Closed {
                emitted: CHUNK,
                end: End::Interrupted
            })
        );
        assert_eq!(ledger.next_serial(s.key.kid()), Some(2 * count));
    }

    /// Batch mode: serials carry the batch number, batches never collide,
    /// and an unbound minter is refused.
    #[test]
    fn batch_mode_serials_carry_the_batch_number() {
        let s = setup();
        let mut seen = std::collections::HashSet::new();
        for b in 0..2u32 {
            let mut r = reserve(
                &s.key,
                s.files(false),
                &s.request(100, SerialMode::Batch),
                &mut |_| {},
            )
            .unwrap();
            assert_eq!(r.batch().batch, Some(b));
            let unbound = s.minter(SerialMode::Batch);
            assert!(matches!(
                sign_batch(
                    &unbound,
                    &mut r,
                    &AtomicBool::new(false),
                    &|_| {},
                    |serial, _| Ok::<_, ()>(serial),
                    |_| Ok(())
                ),
                Err(PipelineError::OtherBatch)
            ));
            let minter = unbound.with_batch(r.batch());
            let mut serials = Vec::new();
            sign_batch(
                &minter,
                &mut r,
                &AtomicBool::new(false),
                &|_| {},
                |serial, _| Ok::<_, ()>(serial),
                |chunk| {
                    serials.extend(chunk);
                    Ok(())
                },
            )
            .unwrap();
            let p = hallmark::BatchPermutation::new(Minter::batch_key(&s.key, b).unwrap());
            for (c, serial) in serials.iter().enumerate() {
                assert_eq!(p.locate(*serial), Some((b, c as u64)));
                assert!(seen.insert(*serial));
            }
            r.close(100, End::Complete).unwrap();
        }
        // A key with batch serials mints no legacy opaque ones.
        assert!(matches!(
            reserve(
                &s.key,
                s.files(false),
                &s.request(1, SerialMode::Opaque),
                &mut |_| {}
            ),
            Err(Error::SerialModeConflict { .. })
        ));
    }

    #[test]
    fn sign_batch_refuses_a_minter_of_another_mode() {
        let s = setup();
        let mut batch = reserve(
            &s.key,
            s.files(false),
            &s.request(2, SerialMode::Opaque),
            &mut |_| {},
        )
        .unwrap();
        let out = sign_batch(
            &s.minter(SerialMode::Sequential),
            &mut batch,
            &AtomicBool::new(false),
            &|_| {},
            |_, code| Ok::<_, ()>(code),
            |_| Ok(()),
        );
        assert!(matches!(
            out,
            Err(PipelineError::ModeMismatch {
                reserved: SerialMode::Opaque,
                minter: SerialMode::Sequential
            })
        ));
    }
}
