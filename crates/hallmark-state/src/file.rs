//! Whole files, written durably and never through a planted symlink.
//!
//! Every file hallmark writes goes through this module, with one rule:
//!
//! - A file is written to a temporary file in the target's own directory, named
//!   `.NAME.hallmark-tmp-XXXXXXXXXXXXXXXX` (16 random hex digits from the
//!   operating system, so the name cannot be predicted and planted in
//!   advance), created with `O_CREAT | O_EXCL` (`OpenOptions::create_new`),
//!   which fails on any existing entry, a symlink or a dangling symlink
//!   included: the new file is guaranteed to be new, never a link's target.
//! - The temporary file gets the caller's mode (0600 for secrets) at creation,
//!   is written, and fsynced (`sync_all`).
//! - It is then renamed over the target ([`replace`]) or hard-linked to it
//!   ([`create`], which fails if anything, a symlink included, exists there);
//!   neither follows a symlink at the target: a symlink planted at the target
//!   is replaced (or refused), its target untouched.
//! - Finally the directory is fsynced, so the new name survives a crash.
//!
//! Output files go through [`write_output`] or a [`Sink`], after
//! [`refuse_protected`]: `--force` replaces outputs, never a key or a ledger.
//!
//! An existing file that hallmark opens to update in place (the ledger, the
//! seen journal) is opened with `O_NOFOLLOW` ([`open_or_create`]).
//!
//! A process killed mid-write leaves its temporary file behind;
//! [`clean_stale_temps`] removes such files (only names of this module's
//! pattern, only when no live writer holds them) on the next run.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// What every temporary file's name contains, between the target's name and
/// the random suffix.
pub const TEMP_MARK: &str = ".hallmark-tmp-";

/// Hex digits in a temporary file's random suffix.
const TEMP_SUFFIX_LEN: usize = 16;

/// Longest target name kept in a temporary file's name (bytes), so the
/// temporary name stays within the usual 255-byte limit.
const TEMP_NAME_KEEP: usize = 200;

/// A temporary file younger than this is never removed by
/// [`clean_stale_temps`], even if unlocked: its writer may be between creating
/// and locking it.
pub const STALE_AFTER: Duration = Duration::from_secs(10);

/// Mode of a secret file (key files): owner read and write only.
pub const MODE_SECRET: u32 = 0o600;

/// Mode of an ordinary file (before the umask).
pub const MODE_PUBLIC: u32 = 0o644;

/// Why a file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The operating system refused an operation.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The target exists (or appeared meanwhile) and was not to be replaced.
    #[error("{}: already exists", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The path is a symbolic link, which hallmark never opens for writing.
    #[error("{}: is a symbolic link; hallmark does not write through symbolic links", path.display())]
    Symlink {
        /// The path.
        path: PathBuf,
    },
    /// The path names something other than a regular file.
    #[error("{}: not a regular file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// A file larger than its reader accepts.
    #[error("{}: {what} is larger than {max} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// What the file was to hold ("the trust store").
        what: &'static str,
        /// The limit in bytes.
        max: u64,
    },
    /// A text file that is not UTF-8.
    #[error("{}: {what} is not UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// What the file was to hold.
        what: &'static str,
    },
    /// The path has no file name (`/`, `..`).
    #[error("{}: not a file name", path.display())]
    NoFileName {
        /// The path.
        path: PathBuf,
    },
    /// An output path that is (the same file as) a file hallmark depends on.
    #[error("{}: is {what} {}; refusing to replace it", path.display(), protected.display())]
    Protected {
        /// The output path.
        path: PathBuf,
        /// What the protected file is ("the key file").
        what: &'static str,
        /// The protected file, as its caller named it.
        protected: PathBuf,
    },
    /// An output path that holds a hallmark secret key.
    #[error("{}: is a hallmark secret key file; refusing to replace it", path.display())]
    IsSecretKey {
        /// The output path.
        path: PathBuf,
    },
    /// No randomness for a temporary file's name.
    #[error("{}: no randomness from the operating system: {source}", path.display())]
    Randomness {
        /// The file the temporary name was for.
        path: PathBuf,
        /// The generator's error.
        source: getrandom::Error,
    },
}

impl FileError {
    /// An I/O error about `path`.
    pub fn io(path: &Path) -> impl FnOnce(io::Error) -> FileError + '_ {
        move |source| FileError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// The underlying I/O error's kind, if any.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            FileError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

/// The directory a file is in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes the directory's entries durable (fsync of the directory). A no-op
/// where directories cannot be fsynced (not Unix).
pub fn sync_dir(dir: &Path) -> Result<(), FileError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(FileError::io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Makes everything written to the file system holding `dir` durable: one
/// `syncfs(2)` for a batch of many small files committed with
/// [`AtomicFile::commit_replace_unsynced`], where an fsync per file would cost
/// more than writing them (label images: thousands a second). Where `syncfs`
/// is unavailable (not Linux), the directory is fsynced and each file must
/// have been committed synced.
pub fn sync_filesystem(dir: &Path) -> Result<(), FileError> {
    #[cfg(target_os = "linux")]
    {
        let d = File::open(dir).map_err(FileError::io(dir))?;
        rustix::fs::syncfs(&d)
            .map_err(io::Error::from)
            .map_err(FileError::io(dir))?;
    }
    sync_dir(dir)
}

/// A temporary file beside its target, written and then committed to the
/// target's name in one step: the target is either untouched or complete.
/// Removed on drop unless committed.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<File>,
    /// The temporary file has been renamed to the target: nothing to remove.
    renamed: bool,
}

impl AtomicFile {
    /// Creates a temporary file for `target` in `target`'s directory with
    /// `mode` (Unix permission bits, before the umask).
    pub fn new(target: &Path, mode: u32) -> Result<AtomicFile, FileError> {
        let name = target.file_name().ok_or_else(|| FileError::NoFileName {
            path: target.to_owned(),
        })?;
        let dir = parent_dir(target);
        let mut last = None;
        for _ in 0..8 {
            let temp = dir.join(temp_name(name)?);
            match create_new_file(&temp, mode) {
                Ok(file) => {
                    // Held until the file is closed: tells clean_stale_temps
                    // that a live process owns it. Advisory, so a failure to
                    // lock only makes the file look stale sooner.
                    let _ = file.try_lock();
                    return Ok(AtomicFile {
                        target: target.to_owned(),
                        temp,
                        file: Some(file),
                        renamed: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(FileError::io(&temp)(e)),
            }
        }
        Err(FileError::Io {
            path: dir.to_owned(),
            source: last.unwrap_or_else(|| io::Error::other("no free temporary name")),
        })
    }

    /// The temporary file's path.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The target's path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the temporary file to the target (replacing what is there, a
    /// symlink itself rather than its target).
    fn rename_into_place(&mut self) -> Result<(), FileError> {
        fs::rename(&self.temp, &self.target).map_err(FileError::io(&self.target))?;
        self.renamed = true;
        Ok(())
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("temporary file already closed"))
    }

    /// Fsyncs the data written so far (`sync_data`), without committing: for
    /// a caller that records, after each step, how much of the output is on
    /// disk.
    pub fn sync_data(&mut self) -> io::Result<()> {
        self.file()?.sync_data()
    }

    /// Fsyncs the file and renames it over the target (replacing whatever is
    /// there, a symlink itself rather than its target), then fsyncs the
    /// directory.
    pub fn commit_replace(mut self) -> Result<(), FileError> {
        self.file()
            .and_then(|f| f.sync_all())
            .map_err(FileError::io(&self.target))?;
        self.file = None;
        self.rename_into_place()?;
        sync_dir(parent_dir(&self.target))
    }

    /// [`AtomicFile::commit_replace`] for one of many files written into one
    /// directory: the same, without the directory fsync, which the caller
    /// does once with [`sync_dir`] after the last file and before reporting
    /// any of them written.
    pub fn commit_replace_in_batch(mut self) -> Result<(), FileError> {
        self.file()
            .and_then(|f| f.sync_all())
            .map_err(FileError::io(&self.target))?;
        self.file = None;
        self.rename_into_place()
    }

    /// Renames the file over the target without an fsync of its own: for one
    /// of a batch of files that the caller makes durable together with
    /// [`sync_filesystem`] before reporting any of them written. Until then a
    /// crash may leave the target empty or missing, never a symlink's target
    /// overwritten and never a half-written file under a name that was
    /// complete before (the rename is still atomic). Only for data that can be
    /// made again (label images are rendered from their codes); never for a
    /// ledger, a journal, a key or an output file.
    #[cfg(target_os = "linux")]
    pub fn commit_replace_unsynced(mut self) -> Result<(), FileError> {
        self.file = None;
        self.rename_into_place()
    }

    /// Where `syncfs` is unavailable, the same as
    /// [`AtomicFile::commit_replace_in_batch`].
    #[cfg(not(target_os = "linux"))]
    pub fn commit_replace_unsynced(self) -> Result<(), FileError> {
        self.commit_replace_in_batch()
    }

    /// Fsyncs the file and gives it the target's name only if nothing exists
    /// there ([`FileError::Exists`] otherwise, a symlink included), then
    /// fsyncs the directory.
    pub fn commit_new(mut self) -> Result<(), FileError> {
        self.file()
            .and_then(|f| f.sync_all())
            .map_err(FileError::io(&self.target))?;
        self.file = None;
        // link(2) never follows or replaces an existing entry at the new name.
        match fs::hard_link(&self.temp, &self.target) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(FileError::Exists {
                    path: self.target.clone(),
                });
            }
            // No hard links on this file system: check, then rename (a
            // narrow race with a file appearing meanwhile, which it replaces).
            Err(_) if fs::symlink_metadata(&self.target).is_err() => {
                self.rename_into_place()?;
            }
            Err(_) => {
                return Err(FileError::Exists {
                    path: self.target.clone(),
                });
            }
        }
        // Drop removes the temporary name (after a rename: NotFound, ignored).
        sync_dir(parent_dir(&self.target))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.file()?.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        self.file = None;
        if !self.renamed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` atomically, replacing an existing file (or a
/// symlink, not its target), with `mode` for a new file. Stale temporary
/// files in the directory are removed first.
pub fn replace(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FileError> {
    clean_stale_temps(parent_dir(path));
    let mut file = AtomicFile::new(path, mode)?;
    file.write_all(bytes).map_err(FileError::io(path))?;
    file.commit_replace()
}

/// Writes `bytes` to a new file at `path`, atomically, failing with
/// [`FileError::Exists`] if anything (a symlink included) is there.
pub fn create(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FileError> {
    clean_stale_temps(parent_dir(path));
    let mut file = AtomicFile::new(path, mode)?;
    file.write_all(bytes).map_err(FileError::io(path))?;
    file.commit_new()
}

/// A random temporary name for a file called `name`.
fn temp_name(name: &OsStr) -> Result<String, FileError> {
    let mut random = [0u8; TEMP_SUFFIX_LEN / 2];
    getrandom::fill(&mut random).map_err(|source| FileError::Randomness {
        path: PathBuf::from(name),
        source,
    })?;
    let mut kept: String = String::new();
    for c in name.to_string_lossy().chars() {
        if kept.len() + c.len_utf8() > TEMP_NAME_KEEP {
            break;
        }
        kept.push(c);
    }
    let mut out = format!(".{kept}{TEMP_MARK}");
    for b in random {
        out.push_str(&format!("{b:02x}"));
    }
    Ok(out)
}

/// Whether `name` is one of this module's temporary names.
pub fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some((_, suffix)) = rest.rsplit_once(TEMP_MARK) else {
        return false;
    };
    suffix.len() == TEMP_SUFFIX_LEN
        && suffix
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Removes temporary files left in `dir` by a killed process: regular files
/// whose names match this module's pattern, older than [`STALE_AFTER`], that
/// no live writer holds locked. Returns how many were removed; errors (an
/// unreadable directory) remove nothing and are not reported, since cleaning
/// is best effort.
pub fn clean_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_temp_name) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= STALE_AFTER);
        if !meta.is_file() || !old {
            continue;
        }
        let Ok(file) = open_nofollow(&path, false) else {
            continue;
        };
        if file.try_lock().is_ok() && fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// `O_CREAT | O_EXCL` with `mode`: fails on any existing entry, symlinks included.
fn create_new_file(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// Opens an existing file without following a symlink at its final component.
fn open_nofollow(path: &Path, write: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(write);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// Maps the error of an `O_NOFOLLOW` open of a symlink (ELOOP) to
/// [`FileError::Symlink`].
fn nofollow_error(path: &Path, e: io::Error) -> FileError {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return FileError::Symlink {
            path: path.to_owned(),
        };
    }
    FileError::io(path)(e)
}

/// Opens `path` for reading and writing, creating it (with `mode`) if it does
/// not exist, never following a symlink at the final component. Returns the
/// file and whether it was created (its directory entry then made durable).
/// Refuses anything but a regular file.
pub fn open_or_create(path: &Path, mode: u32) -> Result<(File, bool), FileError> {
    let (file, created) = match create_new_file(path, mode) {
        Ok(file) => (file, true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => (
            open_nofollow(path, true).map_err(|e| nofollow_error(path, e))?,
            false,
        ),
        Err(e) => return Err(FileError::io(path)(e)),
    };
    let meta = file.metadata().map_err(FileError::io(path))?;
    if !meta.is_file() {
        return Err(FileError::NotAFile {
            path: path.to_owned(),
        });
    }
    if created {
        sync_dir(parent_dir(path))?;
    }
    Ok((file, created))
}

/// Reads a whole file of at most `max` bytes, refusing a larger one before
/// reading it all (a huge or endless file cannot exhaust memory). `what`
/// names the file's role in errors.
pub fn read_bounded(path: &Path, max: u64, what: &'static str) -> Result<Vec<u8>, FileError> {
    let file = File::open(path).map_err(FileError::io(path))?;
    read_open_bounded(file, path, max, what)
}

/// Reads the open `file` (at `path`) whole, refusing more than `max` bytes
/// after reading at most one byte past the limit.
fn read_open_bounded(
    file: File,
    path: &Path,
    max: u64,
    what: &'static str,
) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(FileError::io(path))?;
    if bytes.len() as u64 > max {
        return Err(FileError::TooLarge {
            path: path.to_owned(),
            what,
            max,
        });
    }
    Ok(bytes)
}

/// [`read_bounded`], as UTF-8 text.
pub fn read_text_bounded(path: &Path, max: u64, what: &'static str) -> Result<String, FileError> {
    String::from_utf8(read_bounded(path, max, what)?).map_err(|_| FileError::NotUtf8 {
        path: path.to_owned(),
        what,
    })
}

/// [`read_bounded`] without following a symlink at the final component (for
/// files this crate itself writes, such as the sequence state).
pub fn read_bounded_nofollow(
    path: &Path,
    max: u64,
    what: &'static str,
) -> Result<Vec<u8>, FileError> {
    let file = open_nofollow(path, false).map_err(|e| nofollow_error(path, e))?;
    read_open_bounded(file, path, max, what)
}

/// Whether `a` and `b` name the same existing file (same device and inode,
/// which sees through symlinks, hard links and `..`). False if either is
/// missing.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(x), Ok(y)) => {
            use std::os::unix::fs::MetadataExt;
            x.dev() == y.dev() && x.ino() == y.ino()
        }
        #[cfg(not(unix))]
        (Ok(_), Ok(_)) => match (fs::canonicalize(a), fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        },
        _ => false,
    }
}

mod output;
pub use output::{Existing, SECRET_KEY_MAGIC, Sink, SinkError, refuse_protected, write_output};

#[cfg(test)]
mod tests;
