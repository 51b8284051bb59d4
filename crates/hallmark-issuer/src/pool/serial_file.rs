//! The pool file: serials one per line, each checked against GS1 character
//! set 82 and the 20-character limit, none repeated; and the GTIN a pool is
//! for.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{MAX_POOL_BYTES, MAX_POOL_SERIALS, MAX_SERIAL_LEN, PoolError, SerialFault};
/// The GS1 AI encodable character set 82 (GS1 General Specifications,
/// figure 7.11-1), in code point order: the characters a pool serial may
/// hold. No space, no `#`, `$` or `@`, nothing outside ASCII.
pub const CSET82: &str =
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

/// Bytes of one pool line read before it is judged: any longer line holds
/// more than 20 characters (a character is at most 4 bytes), so the fault is
/// found within them.
const MAX_INPUT_LINE: usize = 256;

/// Whether `c` is in GS1 character set 82 ([`CSET82`]).
pub fn is_cset82(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '!' | '"'
                | '%'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | '+'
                | ','
                | '-'
                | '.'
                | '/'
                | ':'
                | ';'
                | '<'
                | '='
                | '>'
                | '?'
                | '_'
        )
}

/// Checks one serial: 1 to [`MAX_SERIAL_LEN`] characters of [`CSET82`].
/// The fault names the first offending character (1-based), reading left to
/// right, where a 21st character is one too many.
pub fn check_serial(serial: &str) -> Result<(), SerialFault> {
    check_serial_bytes(serial.as_bytes()).map(|_| ())
}

pub(super) fn check_serial_bytes(bytes: &[u8]) -> Result<&str, SerialFault> {
    if bytes.is_empty() {
        return Err(SerialFault::Empty);
    }
    let (text, invalid_utf8) = match std::str::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(e) => (
            bytes
                .get(..e.valid_up_to())
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or(""),
            true,
        ),
    };
    let mut count = 0;
    for (i, character) in text.chars().enumerate() {
        let position = i + 1;
        if position > MAX_SERIAL_LEN {
            return Err(SerialFault::TooLong { position });
        }
        if !is_cset82(character) {
            return Err(SerialFault::Character {
                position,
                character,
            });
        }
        count = position;
    }
    if invalid_utf8 {
        let position = count + 1;
        return Err(if position > MAX_SERIAL_LEN {
            SerialFault::TooLong { position }
        } else {
            SerialFault::NotUtf8 { position }
        });
    }
    Ok(text)
}

/// Checks a GTIN for use with a pool: 14 digits (AI 01; pad a GTIN-8, -12
/// or -13 with leading zeros) whose last is the GS1 mod-10 check digit.
pub fn check_gtin(gtin: &str) -> Result<(), PoolError> {
    let invalid = |reason| PoolError::InvalidGtin {
        gtin: gtin.chars().take(40).collect(),
        reason,
    };
    let digits = gtin.as_bytes();
    if digits.len() != 14 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid(
            "a GTIN here is 14 digits (pad a GTIN-8, -12 or -13 with leading zeros)",
        ));
    }
    let Some((check, body)) = digits.split_last() else {
        return Err(invalid("empty"));
    };
    // Weights 3, 1, 3, ... from the digit left of the check digit.
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    if u32::from(check - b'0') != (10 - sum % 10) % 10 {
        return Err(invalid("wrong check digit"));
    }
    Ok(())
}

/// A checked external serial pool: 1 to [`MAX_POOL_SERIALS`] distinct
/// serials, each 1 to 20 characters of [`CSET82`], in file order. Serial
/// `i` (0-based) was on line `i + 1`: no line is skipped.
#[derive(Clone, PartialEq, Eq)]
pub struct SerialPool {
    name: String,
    serials: Vec<String>,
}

impl SerialPool {
    /// Reads a pool: one serial per line, `\n` or `\r\n` line ends, the last
    /// line's end optional. Refuses, naming the line (1-based) and where it
    /// matters the character (1-based): an empty line, a serial over 20
    /// characters, a character outside CSET 82 (a space, `#`, `é`, GS, a
    /// byte that is not UTF-8, ...), a serial repeated (naming both lines),
    /// an empty file, more than [`MAX_POOL_SERIALS`] serials or more than
    /// [`MAX_POOL_BYTES`] bytes. Faults of characters and lengths are found
    /// first (the first bad line), then repeats (the first line repeating an
    /// earlier one). `name` names the pool in errors (its file name).
    ///
    /// # Example
    ///
    /// ```
    /// use hallmark_issuer::pool::{PoolError, SerialPool};
    ///
    /// let pool = SerialPool::parse("A1\r\nB-2/x\r\n".as_bytes(), "pool.txt")?;
    /// assert_eq!(pool.serials(), ["A1", "B-2/x"]);
    ///
    /// let repeated = SerialPool::parse("A1\nB2\nA1\n".as_bytes(), "pool.txt");
    /// assert!(matches!(repeated, Err(PoolError::Repeated { line: 3, first_line: 1, .. })));
    /// let spaced = SerialPool::parse("A1\nB 2\n".as_bytes(), "pool.txt");
    /// assert!(matches!(spaced, Err(PoolError::BadSerial { line: 2, .. })));
    /// # Ok::<(), PoolError>(())
    /// ```
    pub fn parse<R: Read>(reader: R, name: &str) -> Result<SerialPool, PoolError> {
        SerialPool::parse_within(reader, name, MAX_POOL_SERIALS, MAX_POOL_BYTES)
    }

    /// [`SerialPool::parse`] with other limits (tests use small ones).
    pub(super) fn parse_within<R: Read>(
        reader: R,
        name: &str,
        max_serials: usize,
        max_bytes: u64,
    ) -> Result<SerialPool, PoolError> {
        let read_error = |source| PoolError::Read {
            input: name.to_owned(),
            source,
        };
        let mut reader =
            BufReader::with_capacity(64 * 1024, reader.take(max_bytes.saturating_add(1)));
        let mut serials = Vec::new();
        let mut line = Vec::with_capacity(MAX_INPUT_LINE + 1);
        let mut total = 0u64;
        let mut line_no = 0usize;
        loop {
            line.clear();
            let n = (&mut reader)
                .take(MAX_INPUT_LINE as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(read_error)?;
            if n == 0 {
                break;
            }
            total = total.saturating_add(n as u64);
            if total > max_bytes {
                return Err(PoolError::PoolTooLarge {
                    input: name.to_owned(),
                    max: max_bytes,
                });
            }
            line_no += 1;
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            let serial = check_serial_bytes(body).map_err(|fault| PoolError::BadSerial {
                input: name.to_owned(),
                line: line_no,
                fault,
            })?;
            if serials.len() >= max_serials {
                return Err(PoolError::TooManySerials {
                    input: name.to_owned(),
                    max: max_serials,
                });
            }
            serials.push(serial.to_owned());
        }
        if serials.is_empty() {
            return Err(PoolError::EmptyPool {
                input: name.to_owned(),
            });
        }
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(serials.len());
        for (i, serial) in serials.iter().enumerate() {
            match seen.entry(serial) {
                Entry::Occupied(first) => {
                    return Err(PoolError::Repeated {
                        input: name.to_owned(),
                        serial: serial.clone(),
                        line: i + 1,
                        first_line: first.get() + 1,
                    });
                }
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }
        drop(seen);
        Ok(SerialPool {
            name: name.to_owned(),
            serials,
        })
    }

    /// Reads the pool file at `path` ([`SerialPool::parse`], named by its path).
    pub fn read_file(path: &Path) -> Result<SerialPool, PoolError> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| PoolError::Read {
            input: name.clone(),
            source,
        })?;
        SerialPool::parse(file, &name)
    }

    /// The name errors give the pool (its file's path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The serials, in file order.
    pub fn serials(&self) -> &[String] {
        &self.serials
    }

    /// How many serials the pool holds (at least 1).
    pub fn len(&self) -> usize {
        self.serials.len()
    }

    /// Always false: a pool holds at least one serial.
    pub fn is_empty(&self) -> bool {
        self.serials.is_empty()
    }
}

impl fmt::Debug for SerialPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A pool may hold ten million serials: not all in a debug line.
        f.debug_struct("SerialPool")
            .field("name", &self.name)
            .field("len", &self.serials.len())
            .field("first", &self.serials.first())
            .finish_non_exhaustive()
    }
}
