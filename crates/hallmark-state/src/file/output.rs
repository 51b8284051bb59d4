//! Output files: written whole, replacing an existing file or only where
//! nothing is, streamed into place ([`Sink`]), and never over a file that
//! hallmark itself depends on ([`refuse_protected`]).

use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use super::{AtomicFile, FileError, MODE_PUBLIC, clean_stale_temps, create, parent_dir, replace};

/// First bytes of a hallmark secret key file (the issuer's key files start
/// with this comment, followed by the format version).
pub const SECRET_KEY_MAGIC: &[u8] = b"# hallmark secret key";

/// Buffer of a [`Sink`]: output is written in large blocks.
const SINK_BUFFER: usize = 1 << 20;

/// What to do when an output's path already names something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Replace it (a symlink itself, never its target).
    Replace,
    /// Refuse with [`FileError::Exists`], even if it appears meanwhile.
    Refuse,
}

/// Writes a whole output file atomically (mode 0644 before the umask): the
/// path is afterwards either untouched or complete, never written through a
/// symlink. With [`Existing::Refuse`] an existing path, even one created
/// meanwhile, is never overwritten ([`FileError::Exists`]).
pub fn write_output(path: &Path, bytes: &[u8], existing: Existing) -> Result<(), FileError> {
    match existing {
        Existing::Replace => replace(path, bytes, MODE_PUBLIC),
        Existing::Refuse => create(path, bytes, MODE_PUBLIC),
    }
}

/// Refuses `out` if it is (the same file as) one of `protected` (a key file,
/// its ledger, a trust store: `(path, what)` pairs, `what` such as "the key
/// file"), or if it holds a hallmark secret key: outputs may be replaced,
/// never the files that minting and verifying depend on.
pub fn refuse_protected(out: &Path, protected: &[(&Path, &'static str)]) -> Result<(), FileError> {
    if let Some((path, what)) = protected.iter().find(|(p, _)| super::same_file(out, p)) {
        return Err(FileError::Protected {
            path: out.to_owned(),
            what,
            protected: path.to_path_buf(),
        });
    }
    let mut head = [0u8; SECRET_KEY_MAGIC.len()];
    let is_key = fs::File::open(out)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == SECRET_KEY_MAGIC;
    if is_key {
        return Err(FileError::IsSecretKey {
            path: out.to_owned(),
        });
    }
    Ok(())
}

/// Why a [`Sink`] could not be completed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// Flushing the buffered output failed (a closed pipe, a full disk).
    #[error(transparent)]
    Write(io::Error),
    /// The output file could not be given its name
    /// ([`FileError::Exists`]: something appeared there meanwhile).
    #[error(transparent)]
    File(FileError),
}

/// A streamed output, buffered: a stream (stdout), or a temporary file
/// ([`AtomicFile`]) that gets its name only when [`Sink::finish`]ed, so an
/// interrupted output ([`Sink::abandon`]) leaves no file behind.
#[derive(Debug)]
pub struct Sink<W: Write> {
    inner: Inner<W>,
}

#[derive(Debug)]
enum Inner<W: Write> {
    Stream(BufWriter<W>),
    File {
        existing: Existing,
        file: BufWriter<AtomicFile>,
    },
}

impl<W: Write> Sink<W> {
    /// Output to `stream` (such as stdout).
    pub fn stream(stream: W) -> Sink<W> {
        Sink {
            inner: Inner::Stream(BufWriter::with_capacity(SINK_BUFFER, stream)),
        }
    }

    /// Output to a temporary file for `path`, which gets the name at
    /// [`Sink::finish`]. Refuses now an existing `path` with
    /// [`Existing::Refuse`] ([`FileError::Exists`]), and a protected one (see
    /// [`refuse_protected`]) in any case. Removes stale temporary files in
    /// the directory first.
    pub fn file(
        path: &Path,
        existing: Existing,
        protected: &[(&Path, &'static str)],
    ) -> Result<Sink<W>, FileError> {
        if existing == Existing::Refuse && fs::symlink_metadata(path).is_ok() {
            return Err(FileError::Exists {
                path: path.to_owned(),
            });
        }
        refuse_protected(path, protected)?;
        clean_stale_temps(parent_dir(path));
        let file = AtomicFile::new(path, MODE_PUBLIC)?;
        Ok(Sink {
            inner: Inner::File {
                existing,
                file: BufWriter::with_capacity(SINK_BUFFER, file),
            },
        })
    }

    /// Completes the output: flush, and for a file fsync and give it its
    /// name (with [`Existing::Refuse`], only if nothing has appeared there
    /// meanwhile: [`FileError::Exists`]).
    pub fn finish(self) -> Result<(), SinkError> {
        match self.inner {
            Inner::Stream(mut w) => w.flush().map_err(SinkError::Write),
            Inner::File { existing, file } => {
                let file = file
                    .into_inner()
                    .map_err(|e| SinkError::Write(e.into_error()))?;
                match existing {
                    Existing::Replace => file.commit_replace(),
                    Existing::Refuse => file.commit_new(),
                }
                .map_err(SinkError::File)
            }
        }
    }

    /// Makes what was written so far as durable as the output allows, without
    /// completing it: a stream is flushed (handed to the operating system:
    /// what the reader does with it is beyond reach), a file is flushed and
    /// fsynced (`sync_data`) under its temporary name. After `Ok`, what was
    /// written survives a kill of this process, and for a file a crash of
    /// the machine too.
    pub fn sync(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Stream(w) => w.flush(),
            Inner::File { file, .. } => {
                file.flush()?;
                file.get_mut().sync_data()
            }
        }
    }

    /// Abandons the output: a stream gets what was written (flushed, errors
    /// ignored), a file output leaves nothing behind.
    pub fn abandon(self) {
        match self.inner {
            Inner::Stream(mut w) => {
                let _ = w.flush();
            }
            // Dropping the temporary file removes it.
            Inner::File { .. } => {}
        }
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.inner {
            Inner::Stream(w) => w.write(buf),
            Inner::File { file, .. } => file.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match &mut self.inner {
            Inner::Stream(w) => w.write_all(buf),
            Inner::File { file, .. } => file.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Stream(w) => w.flush(),
            Inner::File { file, .. } => file.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn entries(dir: &Path) -> usize {
        fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn write_output_refuses_to_replace_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        write_output(&path, b"one", Existing::Refuse).unwrap();
        let e = write_output(&path, b"two", Existing::Refuse).unwrap_err();
        assert!(matches!(e, FileError::Exists { path: p } if p == path));
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_output(&path, b"three", Existing::Replace).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        assert_eq!(entries(dir.path()), 1, "no temporary file left behind");
    }

    #[test]
    fn protected_paths_are_refused_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("a.key");
        let ledger = dir.path().join("a.ledger");
        fs::write(&key, b"not a key really").unwrap();
        fs::write(&ledger, b"").unwrap();
        let protected = [
            (key.as_path(), "the key file"),
            (&ledger, "the key's ledger"),
        ];
        let link = dir.path().join("out.csv");
        fs::hard_link(&ledger, &link).unwrap();
        let e = refuse_protected(&link, &protected).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: is the key's ledger {}; refusing to replace it",
                link.display(),
                ledger.display()
            )
        );
        assert!(matches!(
            e,
            FileError::Protected {
                what: "the key's ledger",
                ..
            }
        ));
        let other = dir.path().join("other.csv");
        refuse_protected(&other, &protected).unwrap();
        fs::write(&other, b"x").unwrap();
        refuse_protected(&other, &protected).unwrap();
    }

    #[test]
    fn a_secret_key_file_is_refused_whatever_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("labels.csv");
        fs::write(&out, b"# hallmark secret key v1\nname = x\n").unwrap();
        let e = refuse_protected(&out, &[]).unwrap_err();
        assert!(matches!(&e, FileError::IsSecretKey { path } if *path == out));
        assert_eq!(
            e.to_string(),
            format!(
                "{}: is a hallmark secret key file; refusing to replace it",
                out.display()
            )
        );
        // Shorter than the header, or another header: an ordinary output.
        fs::write(&out, b"# hallmark").unwrap();
        refuse_protected(&out, &[]).unwrap();
    }

    #[test]
    fn sink_file_appears_only_when_finished() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("codes.txt");
        let mut sink = Sink::<io::Sink>::file(&path, Existing::Refuse, &[]).unwrap();
        sink.write_all(b"line\n").unwrap();
        assert!(!path.exists());
        sink.finish().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"line\n");
        // Now it exists: refused up front without Replace, replaced with it.
        let e = Sink::<io::Sink>::file(&path, Existing::Refuse, &[]).unwrap_err();
        assert!(matches!(e, FileError::Exists { .. }));
        let mut sink = Sink::<io::Sink>::file(&path, Existing::Replace, &[]).unwrap();
        sink.write_all(b"two\n").unwrap();
        sink.finish().unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
        assert_eq!(entries(dir.path()), 1);
    }

    #[test]
    fn sink_abandoned_leaves_nothing_and_never_overwrites_a_newcomer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("codes.txt");
        let mut sink = Sink::<io::Sink>::file(&path, Existing::Refuse, &[]).unwrap();
        sink.write_all(b"half").unwrap();
        sink.abandon();
        assert_eq!(entries(dir.path()), 0, "no file, no temporary file");

        let mut sink = Sink::<io::Sink>::file(&path, Existing::Refuse, &[]).unwrap();
        sink.write_all(b"mine").unwrap();
        fs::write(&path, b"theirs").unwrap();
        let e = sink.finish().unwrap_err();
        assert!(matches!(e, SinkError::File(FileError::Exists { .. })));
        assert_eq!(fs::read(&path).unwrap(), b"theirs");
        assert_eq!(entries(dir.path()), 1);
    }

    #[test]
    fn sink_stream_gets_everything_at_finish() {
        let mut out = Vec::new();
        let mut sink = Sink::stream(&mut out);
        sink.write_all(b"a\n").unwrap();
        sink.write_all(b"b\n").unwrap();
        sink.finish().unwrap();
        assert_eq!(out, b"a\nb\n");
    }
}
