//! Reading codes one per line (a file or stdin), with a bound on how much of
//! a line is kept, so a huge line cannot exhaust memory.

use std::io::{self, BufRead};

use crate::offline::Scan;

/// Most bytes of one line kept; the rest of a longer line is counted and dropped.
pub const MAX_LINE_KEPT: usize = hallmark::MAX_INPUT_LEN + 1;

/// One input line: its text (lossily decoded, at most [`MAX_LINE_KEPT`] bytes
/// kept) and its full length in bytes.
pub struct Line {
    /// The line's text, without its line ending.
    pub text: String,
    /// Its full length in bytes (more than `text.len()` when cut).
    pub len: usize,
}

/// The UTF-8 byte order mark some editors put at the start of a text file.
const BOM: &str = "\u{feff}";

/// Codes one per line from a reader: like [`read_line`], but a UTF-8 byte order
/// mark at the start of the input is dropped (else the first code would be
/// malformed). Lengths reported still count only the line's own bytes.
pub struct Lines<R> {
    reader: R,
    first: bool,
}

impl<R: BufRead> Lines<R> {
    /// Lines from `reader`, from the start of its input.
    pub fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            first: true,
        }
    }

    /// The next line, or `None` at end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        let mut line = read_line(&mut self.reader)?;
        if std::mem::take(&mut self.first)
            && let Some(l) = &mut line
            && l.text.starts_with(BOM)
        {
            l.text.drain(..BOM.len());
            l.len = l.len.saturating_sub(BOM.len());
        }
        Ok(line)
    }
}

/// Codes one per line as [`Scan`]s for an offline [`Session`](crate::offline::Session),
/// numbered by input line, blank lines skipped, handed out in chunks so that
/// memory stays bounded whatever the input's size.
pub struct Scans<R> {
    lines: Lines<R>,
    line: usize,
    bytes: u64,
}

impl<R: BufRead> Scans<R> {
    /// Scans from `reader`, from the start of its input.
    pub fn new(reader: R) -> Scans<R> {
        Scans {
            lines: Lines::new(reader),
            line: 0,
            bytes: 0,
        }
    }

    /// The next scans, at most `max` (at least one if `max` is 0); empty at
    /// the end of the input.
    pub fn next_chunk(&mut self, max: usize) -> io::Result<Vec<Scan>> {
        let mut scans = Vec::new();
        while scans.len() < max.max(1) {
            let Some(l) = self.lines.next_line()? else {
                break;
            };
            self.line += 1;
            self.bytes = self.bytes.saturating_add(l.len as u64 + 1);
            // A blank line is skipped, unless it was cut (then it was not blank).
            if !(l.text.trim().is_empty() && l.len == l.text.len()) {
                scans.push(Scan {
                    line: self.line,
                    text: l.text,
                    len: l.len,
                });
            }
        }
        Ok(scans)
    }

    /// Lines read so far.
    pub fn lines_read(&self) -> usize {
        self.line
    }

    /// Bytes read so far, counting one line ending per line (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }
}

/// Reads the next line without ever buffering more than [`MAX_LINE_KEPT`] bytes
/// of it. Returns `None` at end of input.
pub fn read_line(reader: &mut impl BufRead) -> io::Result<Option<Line>> {
    let mut kept = Vec::new();
    let mut len = 0usize;
    let mut seen_any = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            break;
        }
        seen_any = true;
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (buf.get(..i).unwrap_or_default(), true),
            None => (buf, false),
        };
        let room = MAX_LINE_KEPT.saturating_sub(kept.len());
        kept.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
        len = len.saturating_add(chunk.len());
        let used = chunk.len() + usize::from(done);
        reader.consume(used);
        if done {
            break;
        }
    }
    if !seen_any {
        return Ok(None);
    }
    if kept.last() == Some(&b'\r') && len == kept.len() {
        kept.pop();
        len -= 1;
    }
    Ok(Some(Line {
        text: String::from_utf8_lossy(&kept).into_owned(),
        len,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_bounded() -> io::Result<()> {
        let mut data = vec![b'A'; 1 << 20];
        data.extend_from_slice(b"\nB\r\nC");
        let mut r = io::BufReader::with_capacity(100, &data[..]);
        let first = read_line(&mut r)?.ok_or(io::ErrorKind::UnexpectedEof)?;
        assert_eq!((first.text.len(), first.len), (MAX_LINE_KEPT, 1 << 20));
        assert_eq!(read_line(&mut r)?.map(|l| l.text), Some("B".into()));
        assert_eq!(read_line(&mut r)?.map(|l| l.text), Some("C".into()));
        assert!(read_line(&mut r)?.is_none());
        Ok(())
    }

    #[test]
    fn scans_are_numbered_by_line_blank_lines_skipped_in_chunks() -> io::Result<()> {
        let data = b"\xef\xbb\xbfA\n\n  \r\nB\nC\nD";
        let mut scans = Scans::new(io::BufReader::with_capacity(3, &data[..]));
        let first = scans.next_chunk(2)?;
        let lines: Vec<(usize, &str)> = first.iter().map(|s| (s.line, s.text.as_str())).collect();
        assert_eq!(lines, [(1, "A"), (4, "B")]);
        let rest = scans.next_chunk(10)?;
        let lines: Vec<(usize, &str)> = rest.iter().map(|s| (s.line, s.text.as_str())).collect();
        assert_eq!(lines, [(5, "C"), (6, "D")]);
        assert!(scans.next_chunk(10)?.is_empty());
        assert_eq!(scans.lines_read(), 6);
        // 1+0+2+1+1+1 bytes of text (neither the BOM nor a \r counted) and
        // one line ending per line.
        assert_eq!(scans.bytes_read(), 6 + 6);
        Ok(())
    }

    #[test]
    fn a_blank_line_that_was_cut_is_still_a_scan() -> io::Result<()> {
        let mut data = vec![b' '; MAX_LINE_KEPT + 10];
        data.push(b'\n');
        let scans = Scans::new(&data[..]).next_chunk(10)?;
        assert_eq!(scans.len(), 1);
        assert_eq!(scans.first().map(|s| s.len), Some(MAX_LINE_KEPT + 10));
        Ok(())
    }

    #[test]
    fn a_bom_is_dropped_at_the_start_of_input_only() -> io::Result<()> {
        let data = b"\xef\xbb\xbfA\r\n\xef\xbb\xbfB\n";
        // One byte at a time: the mark may arrive split across reads.
        let mut lines = Lines::new(io::BufReader::with_capacity(1, &data[..]));
        let first = lines.next_line()?.ok_or(io::ErrorKind::UnexpectedEof)?;
        assert_eq!((first.text.as_str(), first.len), ("A", 1));
        let second = lines.next_line()?.ok_or(io::ErrorKind::UnexpectedEof)?;
        assert_eq!(second.text, "\u{feff}B");
        assert!(lines.next_line()?.is_none());
        Ok(())
    }
}
