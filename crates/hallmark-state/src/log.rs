//! One locked, append-only log of newline-terminated records: the issuer's
//! serial ledger and the verifier's seen journal are both made of it.
//!
//! - The file is opened without following a symlink (created if missing, its
//!   directory entry made durable), must be a regular file, and is locked
//!   exclusively while open, so two processes never interleave records.
//! - [`AppendLog::append`] cuts off a torn tail, writes the new records in
//!   one write and fsyncs (`sync_data`) before returning: once it returns,
//!   the records survive a crash.
//!
//! One torn-tail rule, applied by [`AppendLog::load`]: a crash mid-append
//! leaves at worst an unterminated final line. If that line is a whole record
//! (the parser accepts it) it is kept, and terminated before the next append;
//! otherwise it is a torn record, ignored and cut off before the next append.
//! A torn tail may be longer than a line (a crashed append of many lines whose
//! blocks read back as zeros), so an over-long line is corruption only when a
//! newline ends it. Any other line the parser refuses is an error naming its
//! line number.

use std::fs::{File, TryLockError};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::file::{self, FileError};

/// Why a log could not be opened, read or appended to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// Opening, locking, reading or writing failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// Another process holds the lock (from a non-waiting open).
    #[error("{}: another process holds this file's lock", path.display())]
    Busy {
        /// The log file.
        path: PathBuf,
    },
    /// The file is, or would grow, larger than its limit.
    #[error("{}: {len} bytes is more than this file may hold ({max})", path.display())]
    TooLarge {
        /// The log file.
        path: PathBuf,
        /// Its length, or the length an append would give it.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A line longer than the parser's limit, ended by a newline (so not a
    /// torn tail).
    #[error("{}: line {line} is corrupt (longer than {max} bytes; begins `{begins}`)", path.display())]
    LineTooLong {
        /// The log file.
        path: PathBuf,
        /// The line (1-based).
        line: u64,
        /// The longest line allowed, in bytes.
        max: usize,
        /// The start of the line.
        begins: LinePrefix,
    },
}

/// What a record parser says about one line.
#[derive(Debug)]
pub enum Reject<R, E> {
    /// Not a valid record, for reason `R`: corruption, or a torn tail if it
    /// is the unterminated last line.
    Invalid(R),
    /// A failure that ends loading whatever the line's position.
    Fatal(E),
}

/// Why [`AppendLog::load`] stopped.
#[derive(Debug)]
pub enum LoadError<R, E> {
    /// The log itself (including a terminated line over the length limit).
    Log(LogError),
    /// A damaged line other than a torn tail: the parser's
    /// [`Reject::Invalid`] for a line a newline ends.
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// The line (1-based).
        line: u64,
        /// What the parser found wrong.
        reason: R,
    },
    /// The parser's [`Reject::Fatal`].
    Parser(E),
}

/// The start of a damaged line, at most 16 bytes, for an error message: a
/// message never quotes more of a line than this. Displayed with
/// non-printable bytes escaped and `...` if the line is longer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinePrefix {
    head: Vec<u8>,
    cut: bool,
}

impl LinePrefix {
    /// The first bytes of `line`.
    pub fn of(line: &[u8]) -> LinePrefix {
        let head = line.get(..PREFIX_LEN).unwrap_or(line);
        LinePrefix {
            head: head.to_vec(),
            cut: head.len() < line.len(),
        }
    }

    /// The bytes kept (at most 16).
    pub fn as_bytes(&self) -> &[u8] {
        &self.head
    }
}

impl std::fmt::Display for LinePrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.head.escape_ascii())?;
        if self.cut {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// How many bytes of a damaged line an error shows.
const PREFIX_LEN: usize = 16;

/// An open, exclusively locked append-only log.
#[derive(Debug)]
pub struct AppendLog {
    path: PathBuf,
    file: File,
    /// Length of the file when loaded (measured under the lock).
    len: u64,
    max_len: u64,
    /// Length up to the end of the last complete record.
    clean_len: u64,
    /// The last complete record lacks its newline.
    needs_newline: bool,
}

impl AppendLog {
    /// Opens (creating with `mode` if needed) and locks the log at `path`,
    /// waiting for the lock if `wait`, else failing with [`LogError::Busy`].
    /// Fails with [`LogError::TooLarge`] if the file is longer than `max_len`.
    pub fn open(path: &Path, mode: u32, max_len: u64, wait: bool) -> Result<AppendLog, LogError> {
        let (file, _created) = file::open_or_create(path, mode)?;
        if wait {
            file.lock().map_err(FileError::io(path))?;
        } else {
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(LogError::Busy {
                        path: path.to_owned(),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(FileError::io(path)(e).into()),
            }
        }
        // Measured under the lock: another process may have appended meanwhile.
        let len = file.metadata().map_err(FileError::io(path))?.len();
        if len > max_len {
            return Err(LogError::TooLarge {
                path: path.to_owned(),
                len,
                max: max_len,
            });
        }
        Ok(AppendLog {
            path: path.to_owned(),
            file,
            len,
            max_len,
            clean_len: 0,
            needs_newline: false,
        })
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every line (without its newline) and hands it to `parse`, with
    /// the torn-tail rule of the module documentation; lines longer than
    /// `max_line` bytes are corruption (or a torn tail, unterminated). Call
    /// once, before any append.
    pub fn load<R, E>(
        &mut self,
        max_line: usize,
        mut parse: impl FnMut(&[u8]) -> Result<(), Reject<R, E>>,
    ) -> Result<(), LoadError<R, E>> {
        let path = self.path.clone();
        let io_err = |e| LoadError::Log(FileError::io(&path)(e).into());
        self.file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let mut reader = BufReader::with_capacity(64 * 1024, (&self.file).take(self.len));
        let mut line = Vec::with_capacity(max_line.min(64 * 1024) + 1);
        let mut line_no = 0u64;
        let mut clean_len = 0u64;
        loop {
            line.clear();
            let n = (&mut reader)
                .take(max_line as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(io_err)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            match line.strip_suffix(b"\n") {
                Some(body) => match parse(body) {
                    Ok(()) => clean_len += n as u64,
                    Err(Reject::Invalid(reason)) => {
                        return Err(LoadError::Corrupt {
                            path,
                            line: line_no,
                            reason,
                        });
                    }
                    Err(Reject::Fatal(e)) => return Err(LoadError::Parser(e)),
                },
                None if n > max_line => {
                    if skip_line(&mut reader).map_err(io_err)? {
                        return Err(LoadError::Log(LogError::LineTooLong {
                            path,
                            line: line_no,
                            max: max_line,
                            begins: LinePrefix::of(&line),
                        }));
                    }
                    // Runs to the end of the file: a torn append.
                    break;
                }
                None => {
                    // The last line, unterminated: kept if whole, else torn.
                    match parse(&line) {
                        Ok(()) => {
                            clean_len += n as u64;
                            self.needs_newline = true;
                        }
                        Err(Reject::Invalid(_)) => {}
                        Err(Reject::Fatal(e)) => return Err(LoadError::Parser(e)),
                    }
                    break;
                }
            }
        }
        self.clean_len = clean_len;
        Ok(())
    }

    /// Length up to the end of the last complete record.
    pub fn clean_len(&self) -> u64 {
        self.clean_len
    }

    /// How long the file would be after appending `records` bytes.
    pub fn len_after(&self, records: usize) -> u64 {
        self.clean_len
            .saturating_add(records as u64)
            .saturating_add(u64::from(self.needs_newline))
    }

    /// Appends `records` (whole newline-terminated lines) after the last
    /// complete record, cutting off a torn tail first, in one write, and
    /// fsyncs. On failure nothing is counted as written: a later append
    /// writes again from the same place. Fails with [`LogError::TooLarge`],
    /// writing nothing, if the file would grow past its limit.
    pub fn append(&mut self, records: &[u8]) -> Result<(), LogError> {
        if records.is_empty() {
            return Ok(());
        }
        let new_len = self.len_after(records.len());
        if new_len > self.max_len {
            return Err(LogError::TooLarge {
                path: self.path.clone(),
                len: new_len,
                max: self.max_len,
            });
        }
        let newline: &[u8] = if self.needs_newline { b"\n" } else { b"" };
        let mut buf;
        let bytes = if newline.is_empty() {
            records
        } else {
            buf = Vec::with_capacity(records.len() + 1);
            buf.extend_from_slice(newline);
            buf.extend_from_slice(records);
            &buf[..]
        };
        let result = (|| {
            self.file.set_len(self.clean_len)?;
            self.file.seek(SeekFrom::Start(self.clean_len))?;
            self.file.write_all(bytes)?;
            self.file.sync_data()
        })();
        result.map_err(FileError::io(&self.path))?;
        self.clean_len = new_len;
        self.needs_newline = false;
        Ok(())
    }
}

/// Consumes the rest of an over-long line; true if a newline ended it, false
/// if it ran to the end of the input.
fn skip_line(reader: &mut impl BufRead) -> io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        if let Some(i) = buf.iter().position(|&b| b == b'\n') {
            reader.consume(i + 1);
            return Ok(true);
        }
        let n = buf.len();
        reader.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// Accepts lines that are all digits.
    fn digits(
        seen: &mut Vec<Vec<u8>>,
    ) -> impl FnMut(&[u8]) -> Result<(), Reject<LinePrefix, ()>> + '_ {
        |line| {
            if !line.is_empty() && line.iter().all(u8::is_ascii_digit) {
                seen.push(line.to_vec());
                Ok(())
            } else {
                Err(Reject::Invalid(LinePrefix::of(line)))
            }
        }
    }

    type Loaded = (AppendLog, Vec<Vec<u8>>);

    fn open(path: &Path) -> Result<Loaded, Box<dyn std::error::Error>> {
        let mut log = AppendLog::open(path, file::MODE_PUBLIC, 1 << 20, true)?;
        let mut seen = Vec::new();
        log.load(8, digits(&mut seen))
            .map_err(|e| format!("{e:?}"))?;
        Ok((log, seen))
    }

    #[test]
    fn torn_tail_rule() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("log");
        // Torn unterminated tail: dropped and cut off.
        std::fs::write(&path, b"1\n22\nx3")?;
        let (mut log, seen) = open(&path)?;
        assert_eq!(seen, [b"1".to_vec(), b"22".to_vec()]);
        log.append(b"4\n")?;
        drop(log);
        assert_eq!(std::fs::read(&path)?, b"1\n22\n4\n");
        // Whole unterminated tail: kept and terminated.
        std::fs::write(&path, b"1\n22")?;
        let (mut log, seen) = open(&path)?;
        assert_eq!(seen.len(), 2);
        log.append(b"5\n")?;
        drop(log);
        assert_eq!(std::fs::read(&path)?, b"1\n22\n5\n");
        // Over-long unterminated tail (zeros): torn.
        std::fs::write(&path, [&b"1\n"[..], &[0; 40]].concat())?;
        let (mut log, _) = open(&path)?;
        log.append(b"6\n")?;
        drop(log);
        assert_eq!(std::fs::read(&path)?, b"1\n6\n");
        // Damage in the middle: refused with the parser's reason.
        std::fs::write(&path, b"1\nx\n2\n")?;
        let mut log = AppendLog::open(&path, file::MODE_PUBLIC, 1 << 20, true)?;
        let mut seen = Vec::new();
        match log.load(8, digits(&mut seen)) {
            Err(LoadError::Corrupt {
                line: 2, reason, ..
            }) => {
                assert_eq!(reason.as_bytes(), b"x");
            }
            other => panic!("expected a corrupt line 2, got {other:?}"),
        }
        drop(log);
        // An over-long terminated line: refused by the log itself.
        std::fs::write(&path, b"1\n12345678901234567890\n2\n")?;
        let mut log = AppendLog::open(&path, file::MODE_PUBLIC, 1 << 20, true)?;
        let mut seen = Vec::new();
        match log.load(8, digits(&mut seen)) {
            Err(LoadError::Log(
                e @ LogError::LineTooLong {
                    line: 2, max: 8, ..
                },
            )) => {
                assert!(
                    e.to_string()
                        .ends_with("line 2 is corrupt (longer than 8 bytes; begins `123456789`)"),
                    "{e}"
                );
            }
            other => panic!("expected an over-long line 2, got {other:?}"),
        }
        Ok(())
    }

    #[test]
    fn line_prefix_escapes_and_cuts() {
        assert_eq!(LinePrefix::of(b"ab\x00\n").to_string(), "ab\\x00\\n");
        assert_eq!(
            LinePrefix::of(&[b'z'; 17]).to_string(),
            format!("{}...", "z".repeat(16))
        );
        assert_eq!(LinePrefix::of(&[b'z'; 16]).to_string(), "z".repeat(16));
    }

    #[test]
    fn lock_is_exclusive_and_size_is_bounded() -> TestResult {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("log");
        let first = AppendLog::open(&path, file::MODE_PUBLIC, 4, true)?;
        assert!(matches!(
            AppendLog::open(&path, file::MODE_PUBLIC, 4, false),
            Err(LogError::Busy { .. })
        ));
        drop(first);
        let mut log = AppendLog::open(&path, file::MODE_PUBLIC, 4, false)?;
        log.load(8, |_| Ok::<(), Reject<(), ()>>(()))
            .map_err(|e| format!("{e:?}"))?;
        log.append(b"1\n2\n")?;
        assert!(matches!(log.append(b"3\n"), Err(LogError::TooLarge { .. })));
        drop(log);
        assert!(matches!(
            AppendLog::open(&path, file::MODE_PUBLIC, 3, false),
            Err(LogError::TooLarge { len: 4, .. })
        ));
        Ok(())
    }
}
