//! The pool ledger's lines: how they are written, and the one streaming pass
//! that reads them back against a batch (module documentation of
//! [`super`]).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use hallmark_state::log::Reject;

use super::{InterruptedPool, MAX_POOL_SERIALS, MAX_SERIAL_LEN, PoolError, PoolLineError};
use crate::End;

/// Longest pool ledger line: a reservation of [`MAX_POOL_SERIALS`] serials
/// of 20 characters, each after a space, plus its other fields. Reading the
/// ledger holds one line at a time.
pub(super) const MAX_RECORD_LEN: usize = MAX_POOL_SERIALS * (MAX_SERIAL_LEN + 1) + 256;

/// BLAKE3 derive-key context of a line's check value.
const LINE_CONTEXT: &str = "hallmark 2026-12 pool ledger line check v1";

/// Bytes of BLAKE3 output in a check value (written as twice as many hex
/// digits: the only 32-character token a line can hold, as a serial has at
/// most 20).
const CHECK_LEN: usize = 16;

/// The first field of the header line.
const MAGIC: &[u8] = b"hallmark-pool";

/// One line of a pool ledger.
pub(super) enum Record<'a> {
    /// Line 1: whose pool ledger this is.
    Header { kid: &'a str, gtin: &'a str },
    /// A reservation of `serials`.
    Reserve {
        id: u64,
        time: u64,
        serials: &'a [String],
    },
    /// How reservation `id` ended.
    Close { id: u64, emitted: u64, end: End },
    /// Reservation `id` was found unclosed and reported.
    Killed { id: u64 },
}

impl Record<'_> {
    /// Appends the line, with its check value and newline, to `out`.
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        let start = out.len();
        match self {
            Record::Header { kid, gtin } => {
                out.extend_from_slice(MAGIC);
                out.extend_from_slice(format!(" 1 {kid} {gtin}").as_bytes());
            }
            Record::Reserve { id, time, serials } => {
                out.extend_from_slice(format!("R {id} {time} {}", serials.len()).as_bytes());
                for serial in *serials {
                    out.push(b' ');
                    out.extend_from_slice(serial.as_bytes());
                }
            }
            Record::Close { id, emitted, end } => {
                out.extend_from_slice(format!("C {id} {emitted} {}", end_name(*end)).as_bytes());
            }
            Record::Killed { id } => out.extend_from_slice(format!("K {id}").as_bytes()),
        }
        let check = line_check(out.get(start..).unwrap_or_default());
        out.push(b' ');
        out.extend_from_slice(check.as_bytes());
        out.push(b'\n');
    }
}

fn end_name(end: End) -> &'static str {
    match end {
        End::Complete => "complete",
        End::Interrupted => "interrupted",
        End::Failed => "failed",
    }
}

fn end_from(name: &[u8]) -> Option<End> {
    match name {
        b"complete" => Some(End::Complete),
        b"interrupted" => Some(End::Interrupted),
        b"failed" => Some(End::Failed),
        _ => None,
    }
}

/// The check value of a line's `content` (everything before its last space).
fn line_check(content: &[u8]) -> String {
    let mut hasher = blake3::Hasher::new_derive_key(LINE_CONTEXT);
    hasher.update(content);
    let mut check = [0u8; CHECK_LEN];
    hasher.finalize_xof().fill(&mut check);
    hex::encode(check)
}

/// The line's content if its check value is right.
fn checked(body: &[u8]) -> Option<&[u8]> {
    let space = body.iter().rposition(|&b| b == b' ')?;
    let (content, rest) = body.split_at_checked(space)?;
    let check = rest.get(1..)?;
    (check == line_check(content).as_bytes()).then_some(content)
}

fn number(field: Option<&[u8]>, name: &'static str) -> Result<u64, PoolLineError> {
    let bad = || PoolLineError::Field { field: name };
    let digits = field.ok_or_else(bad)?;
    if digits.is_empty() || digits.len() > 20 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)
}

/// The pool serial (by its index in the pool) that a recorded reservation
/// used, the earliest in the pool's order.
#[derive(Clone, Copy, Debug)]
pub(super) struct Used {
    /// Index in the pool (0-based).
    pub(super) index: usize,
    /// The reservation that used it.
    pub(super) id: u64,
    /// When.
    pub(super) time: u64,
}

/// One pass over a pool ledger: checks every line and looks every recorded
/// serial up in the batch.
pub(super) struct Scan<'a> {
    path: &'a Path,
    kid: &'a str,
    gtin: &'a str,
    /// The batch's serials → index in the pool.
    batch: &'a HashMap<&'a str, usize>,
    line: u64,
    header: bool,
    last_id: u64,
    /// Reservations with no close or killed record: id → (time, count).
    open: BTreeMap<u64, (u64, u64)>,
    first: Option<Used>,
    used: u64,
    recorded: u64,
}

impl<'a> Scan<'a> {
    pub(super) fn new(
        path: &'a Path,
        kid: &'a str,
        gtin: &'a str,
        batch: &'a HashMap<&'a str, usize>,
    ) -> Scan<'a> {
        Scan {
            path,
            kid,
            gtin,
            batch,
            line: 0,
            header: false,
            last_id: 0,
            open: BTreeMap::new(),
            first: None,
            used: 0,
            recorded: 0,
        }
    }

    /// Whether the ledger has its header line.
    pub(super) fn has_header(&self) -> bool {
        self.header
    }

    /// The next reservation's number.
    pub(super) fn next_id(&self) -> Option<u64> {
        self.last_id.checked_add(1)
    }

    /// Reservations recorded.
    pub(super) fn reservations(&self) -> u64 {
        self.last_id
    }

    /// Serials recorded in all.
    pub(super) fn recorded(&self) -> u64 {
        self.recorded
    }

    /// The batch's first serial (in pool order) recorded before, if any.
    pub(super) fn first_used(&self) -> Option<Used> {
        self.first
    }

    /// How many of the batch's serials were recorded before.
    pub(super) fn used_count(&self) -> u64 {
        self.used
    }

    /// Reservations left open (killed, crashed or dropped unclosed).
    pub(super) fn open(&self) -> impl Iterator<Item = InterruptedPool> + '_ {
        self.open
            .iter()
            .map(|(&id, &(time, count))| InterruptedPool { id, time, count })
    }

    /// Reads one line. A missing or wrong check value is [`Reject::Invalid`]
    /// (a torn tail if it is the unterminated last line, else corruption);
    /// any other fault is fatal wherever the line is: a line with a right
    /// check value was written whole, and is never dropped as torn.
    pub(super) fn apply(&mut self, body: &[u8]) -> Result<(), Reject<PoolLineError, PoolError>> {
        self.line += 1;
        let content = checked(body).ok_or(Reject::Invalid(PoolLineError::Check))?;
        self.record(content).map_err(|reason| {
            Reject::Fatal(PoolError::LedgerCorrupt {
                path: self.path.to_owned(),
                line: self.line,
                reason,
            })
        })
    }

    fn record(&mut self, content: &[u8]) -> Result<(), PoolLineError> {
        let mut fields = content.split(|&b| b == b' ');
        let kind = fields.next().unwrap_or_default();
        if self.line == 1 {
            let header = [MAGIC, b"1", self.kid.as_bytes(), self.gtin.as_bytes()];
            let found: Vec<&[u8]> = std::iter::once(kind).chain(fields).take(5).collect();
            if found != header {
                return Err(PoolLineError::Header {
                    kid: self.kid.to_owned(),
                    gtin: self.gtin.to_owned(),
                });
            }
            self.header = true;
            return Ok(());
        }
        let extra = PoolLineError::Field {
            field: "end of line",
        };
        match kind {
            b"R" => {
                let id = number(fields.next(), "id")?;
                let expected = self.next_id().unwrap_or(u64::MAX);
                if id != expected {
                    return Err(PoolLineError::Sequence { id, expected });
                }
                let time = number(fields.next(), "time")?;
                let declared = number(fields.next(), "count")?;
                if declared == 0 || declared > MAX_POOL_SERIALS as u64 {
                    return Err(PoolLineError::Field { field: "count" });
                }
                // Checked whole before anything is counted.
                let mut found = 0u64;
                for serial in fields.clone() {
                    found += 1;
                    super::check_serial_bytes(serial).map_err(|fault| PoolLineError::Serial {
                        index: found,
                        fault,
                    })?;
                }
                if found != declared {
                    return Err(PoolLineError::Count { declared, found });
                }
                for serial in fields {
                    let index = std::str::from_utf8(serial)
                        .ok()
                        .and_then(|s| self.batch.get(s));
                    if let Some(&index) = index {
                        self.used += 1;
                        if self.first.is_none_or(|f| index < f.index) {
                            self.first = Some(Used { index, id, time });
                        }
                    }
                }
                self.last_id = id;
                self.recorded = self.recorded.saturating_add(declared);
                self.open.insert(id, (time, declared));
                Ok(())
            }
            b"C" => {
                let id = number(fields.next(), "id")?;
                let emitted = number(fields.next(), "emitted")?;
                let end = fields
                    .next()
                    .and_then(end_from)
                    .ok_or(PoolLineError::Field { field: "end" })?;
                if fields.next().is_some() {
                    return Err(extra);
                }
                let &(_, count) = self.open.get(&id).ok_or(PoolLineError::NotOpen { id })?;
                if emitted > count || (end == End::Complete && emitted != count) {
                    return Err(PoolLineError::Emitted { id, emitted, count });
                }
                self.open.remove(&id);
                Ok(())
            }
            b"K" => {
                let id = number(fields.next(), "id")?;
                if fields.next().is_some() {
                    return Err(extra);
                }
                self.open
                    .remove(&id)
                    .map(|_| ())
                    .ok_or(PoolLineError::NotOpen { id })
            }
            _ => Err(PoolLineError::Kind),
        }
    }
}
