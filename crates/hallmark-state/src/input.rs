//! Reading codes one per line (a file or stdin), with a bound on how much of
//! a line is kept, so a huge line cannot exhaust memory.

use std::io::{self, BufRead};

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
