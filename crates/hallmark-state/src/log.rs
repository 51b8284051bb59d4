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
    /// A damaged line other than a torn tail.
    #[error("{}: line {line} is corrupt ({reason})", path.display())]
    Corrupt {
        /// The log file.
        path: PathBuf,
        /// The line (1-based).
        line: u64,
        /// What was wrong (never more than a short prefix of the line).
        reason: String,
    },
}

/// What a record parser says about one line.
#[derive(Debug)]
pub enum Reject<E> {
    /// Not a valid record: corruption, or a torn tail if it is the
    /// unterminated last line.
    Invalid(String),
    /// A failure that ends loading whatever the line's position.
    Fatal(E),
}

/// Why [`AppendLog::load`] stopped.
#[derive(Debug)]
pub enum LoadError<E> {
    /// The log itself.
    Log(LogError),
    /// The parser's [`Reject::Fatal`].
    Parser(E),
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
    pub fn load<E>(
        &mut self,
        max_line: usize,
        mut parse: impl FnMut(&[u8]) -> Result<(), Reject<E>>,
    ) -> Result<(), LoadError<E>> {
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
            let corrupt = |reason: String| {
                LoadError::Log(LogError::Corrupt {
                    path: path.clone(),
                    line: line_no,
                    reason,
                })
            };
            match line.strip_suffix(b"\n") {
                Some(body) => match parse(body) {
                    Ok(()) => clean_len += n as u64,
                    Err(Reject::Invalid(reason)) => return Err(corrupt(reason)),
                    Err(Reject::Fatal(e)) => return Err(LoadError::Parser(e)),
                },
                None if n > max_line => {
                    if skip_line(&mut reader).map_err(io_err)? {
                        let reason =
                            format!("longer than {max_line} bytes; begins `{}`", prefix(&line));
                        return Err(corrupt(reason));
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

/// The start of a damaged line, escaped, for an error message.
pub fn prefix(line: &[u8]) -> String {
    let head = line.get(..PREFIX_LEN).unwrap_or(line);
    let more = if head.len() < line.len() { "..." } else { "" };
    format!("{}{more}", head.escape_ascii())
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
    fn digits(seen: &mut Vec<Vec<u8>>) -> impl FnMut(&[u8]) -> Result<(), Reject<()>> + '_ {
        |line| {
            if !line.is_empty() && line.iter().all(u8::is_ascii_digit) {
                seen.push(line.to_vec());
                Ok(())
            } else {
                Err(Reject::Invalid(format!("begins `{}`", prefix(line))))
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
        // Damage in the middle, or an over-long terminated line: refused.
        for bad in [&b"1\nx\n2\n"[..], b"1\n123456789\n2\n"] {
            std::fs::write(&path, bad)?;
            let mut log = AppendLog::open(&path, file::MODE_PUBLIC, 1 << 20, true)?;
            let mut seen = Vec::new();
            assert!(matches!(
                log.load(8, digits(&mut seen)),
                Err(LoadError::Log(LogError::Corrupt { line: 2, .. }))
            ));
        }
        Ok(())
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
        log.load(8, |_| Ok::<(), Reject<()>>(()))
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
