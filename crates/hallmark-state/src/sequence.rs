//! The snapshot-sequence store: the highest revocation-snapshot sequence a
//! verifier has accepted from each signer, so that an older snapshot (a
//! rollback, which would hide later revocations) is refused.
//!
//! Each signer's state is one file in the state directory,
//! `revocations-KID.seq`, holding the sequence in decimal and a newline. It is
//! rewritten atomically (see [`crate::file`]) while the directory is locked, so
//! two verifiers never lose each other's update and a crash leaves the old
//! value or the new one, never an empty file.
//!
//! The protection lasts only as long as the state: deleting the file (or
//! running with another state directory) lets an older snapshot be accepted
//! again. [`SequenceStore::check`] therefore also takes a floor, the lowest
//! sequence the caller accepts whatever the state says (`verify
//! --min-sequence`).
//!
//! Sequence `u64::MAX` is refused: once recorded, no later snapshot could
//! ever be accepted, which would pin the verifier to it forever.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use hallmark::KeyId;

use crate::file::{self, FileError};

/// Why a snapshot's sequence was refused or could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SequenceError {
    /// The state could not be read, locked or written.
    #[error(transparent)]
    File(#[from] FileError),
    /// No state directory could be worked out.
    #[error("no state directory: pass --state-dir or set $HALLMARK_STATE_DIR")]
    NoStateDir,
    /// The state file does not hold a sequence number.
    #[error("{}: not a sequence number; delete it only if you trust the snapshot", path.display())]
    BadState {
        /// The state file.
        path: PathBuf,
    },
    /// The snapshot is older than one already accepted from its signer.
    #[error(
        "sequence {sequence} is older than sequence {seen} already seen from key {signer} \
         (its revocation snapshots and trust bundles share one sequence): refusing a rollback (state in {})",
        path.display()
    )]
    Rollback {
        /// The snapshot's sequence.
        sequence: u64,
        /// The highest sequence accepted before.
        seen: u64,
        /// The signer's key id.
        signer: KeyId,
        /// The state file.
        path: PathBuf,
    },
    /// The snapshot is below the floor the caller set.
    #[error("sequence {sequence} is below the minimum sequence {min}: refusing a rollback")]
    BelowMinimum {
        /// The snapshot's sequence.
        sequence: u64,
        /// The floor.
        min: u64,
    },
    /// The snapshot's sequence is the largest possible.
    #[error(
        "revocation snapshot sequence {} from key {signer} is the largest possible: recording it \
         would make every later snapshot look like a rollback; refused",
        u64::MAX
    )]
    Pinned {
        /// The signer's key id.
        signer: KeyId,
    },
}

/// Where a verifier keeps its state: `explicit` (a `--state-dir` flag) if
/// given, else `$HALLMARK_STATE_DIR`, else `$XDG_STATE_HOME/hallmark`, else
/// `$HOME/.local/state/hallmark`. Empty variables count as unset.
pub fn state_dir(explicit: Option<&Path>) -> Result<PathBuf, SequenceError> {
    state_dir_with(explicit, |k| std::env::var_os(k))
}

/// [`state_dir`] with the environment given as a function (for tests).
pub fn state_dir_with(
    explicit: Option<&Path>,
    env: impl Fn(&str) -> Option<OsString>,
) -> Result<PathBuf, SequenceError> {
    if let Some(dir) = explicit {
        return Ok(dir.to_owned());
    }
    let var = |k| env(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = var("HALLMARK_STATE_DIR") {
        return Ok(dir);
    }
    if let Some(dir) = var("XDG_STATE_HOME") {
        return Ok(dir.join("hallmark"));
    }
    var("HOME")
        .map(|h| h.join(".local/state/hallmark"))
        .ok_or(SequenceError::NoStateDir)
}

/// The snapshot-sequence store in one state directory.
#[derive(Clone, Debug)]
pub struct SequenceStore {
    dir: PathBuf,
}

impl SequenceStore {
    /// The store in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> SequenceStore {
        SequenceStore { dir: dir.into() }
    }

    /// The state file of `signer`.
    pub fn path(&self, signer: KeyId) -> PathBuf {
        self.dir.join(format!("revocations-{signer}.seq"))
    }

    /// The highest sequence recorded for `signer`, if any.
    pub fn get(&self, signer: KeyId) -> Result<Option<u64>, SequenceError> {
        read_state(&self.path(signer))
    }

    /// Refuses `sequence` from `signer` if it is below `min`, below the
    /// highest sequence recorded for the signer, or `u64::MAX`; otherwise
    /// records it (if higher) durably before returning. Returns the sequence
    /// recorded before, if any.
    pub fn check(
        &self,
        signer: KeyId,
        sequence: u64,
        min: u64,
    ) -> Result<Option<u64>, SequenceError> {
        if sequence < min {
            return Err(SequenceError::BelowMinimum { sequence, min });
        }
        if sequence == u64::MAX {
            return Err(SequenceError::Pinned { signer });
        }
        fs::create_dir_all(&self.dir).map_err(FileError::io(&self.dir))?;
        // The directory's lock serialises verifiers; the file itself is
        // replaced by rename, so it cannot carry the lock.
        let dir = File::open(&self.dir).map_err(FileError::io(&self.dir))?;
        dir.lock().map_err(FileError::io(&self.dir))?;
        let path = self.path(signer);
        let seen = read_state(&path)?;
        match seen {
            Some(seen) if sequence < seen => Err(SequenceError::Rollback {
                sequence,
                seen,
                signer,
                path,
            }),
            Some(seen) if sequence == seen => Ok(Some(seen)),
            _ => {
                file::replace(&path, format!("{sequence}\n").as_bytes(), file::MODE_PUBLIC)?;
                Ok(seen)
            }
        }
    }
}

fn read_state(path: &Path) -> Result<Option<u64>, SequenceError> {
    let bytes = match file::read_bounded_nofollow(path, 64, "a sequence state file") {
        Ok(bytes) => bytes,
        Err(FileError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(FileError::TooLarge { .. }) => {
            return Err(SequenceError::BadState {
                path: path.to_owned(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let bad = || SequenceError::BadState {
        path: path.to_owned(),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
    match text.trim() {
        // An empty file (left by an older release's in-place write) holds nothing.
        "" => Ok(None),
        t => t.parse().map(Some).map_err(|_| bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const SIGNER: KeyId = KeyId::from_bytes([1, 2, 3, 4]);

    #[test]
    fn rollbacks_are_refused_and_state_survives() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = SequenceStore::new(dir.path().join("state"));
        assert_eq!(store.check(SIGNER, 5, 0)?, None);
        assert_eq!(store.check(SIGNER, 5, 0)?, Some(5));
        assert!(matches!(
            store.check(SIGNER, 4, 0),
            Err(SequenceError::Rollback { seen: 5, .. })
        ));
        assert_eq!(store.check(SIGNER, 9, 0)?, Some(5));
        assert_eq!(std::fs::read_to_string(store.path(SIGNER))?, "9\n");
        // Another signer has its own state.
        let other = KeyId::from_bytes([9, 9, 9, 9]);
        assert_eq!(store.check(other, 1, 0)?, None);
        // Only the state files are left, no temporary file.
        assert_eq!(std::fs::read_dir(dir.path().join("state"))?.count(), 2);
        Ok(())
    }

    #[test]
    fn regression_deleted_state_allows_rollback_unless_min_sequence() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = SequenceStore::new(dir.path());
        store.check(SIGNER, 9, 0)?;
        std::fs::remove_file(store.path(SIGNER))?;
        // Documented: without state, an older snapshot is accepted...
        assert_eq!(store.check(SIGNER, 3, 0)?, None);
        // ... unless the caller's floor refuses it.
        assert!(matches!(
            store.check(SIGNER, 3, 4),
            Err(SequenceError::BelowMinimum {
                sequence: 3,
                min: 4
            })
        ));
        Ok(())
    }

    #[test]
    fn regression_sequence_u64_max_is_refused_not_recorded() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = SequenceStore::new(dir.path());
        store.check(SIGNER, 7, 0)?;
        let e = store.check(SIGNER, u64::MAX, 0).map(|_| ());
        assert!(matches!(e, Err(SequenceError::Pinned { .. })));
        assert_eq!(store.get(SIGNER)?, Some(7));
        assert!(
            SequenceError::Pinned { signer: SIGNER }
                .to_string()
                .contains("largest possible")
        );
        // A state file already holding the largest value is read, not overflowed.
        std::fs::write(store.path(SIGNER), format!("{}\n", u64::MAX))?;
        assert!(matches!(
            store.check(SIGNER, u64::MAX - 1, 0),
            Err(SequenceError::Rollback { .. })
        ));
        Ok(())
    }

    #[test]
    fn damaged_state_is_refused() -> TestResult {
        let dir = tempfile::tempdir()?;
        let store = SequenceStore::new(dir.path());
        for bad in ["x\n", "-1\n", "18446744073709551616\n", &"1".repeat(100)] {
            std::fs::write(store.path(SIGNER), bad)?;
            assert!(matches!(
                store.check(SIGNER, 1, 0),
                Err(SequenceError::BadState { .. })
            ));
        }
        std::fs::write(store.path(SIGNER), "")?;
        assert_eq!(store.check(SIGNER, 1, 0)?, None);
        Ok(())
    }

    #[test]
    fn state_dir_resolution_order() -> TestResult {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        let all = &[
            ("HALLMARK_STATE_DIR", "/s"),
            ("XDG_STATE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(
            state_dir_with(Some(Path::new("/e")), env(all))?,
            Path::new("/e")
        );
        assert_eq!(state_dir_with(None, env(all))?, Path::new("/s"));
        let no_own = &[("HALLMARK_STATE_DIR", ""), ("XDG_STATE_HOME", "/x")];
        assert_eq!(state_dir_with(None, env(no_own))?, Path::new("/x/hallmark"));
        assert_eq!(
            state_dir_with(None, env(&[("HOME", "/h")]))?,
            Path::new("/h/.local/state/hallmark")
        );
        assert!(matches!(
            state_dir_with(None, env(&[])),
            Err(SequenceError::NoStateDir)
        ));
        Ok(())
    }
}
