//! Pulling the service's signed revocation snapshot
//! (`GET /v1/revocations/snapshot`) into a file, as `hallmark revocations
//! pull` does: conditional on the ETag kept beside the file, optionally
//! checked against a trust store, written atomically.

use std::path::{Path, PathBuf};

use hallmark::{RevocationSnapshot, TrustStore};
use hallmark_state::file::{self, FileError};

use crate::{Client, ClientError, Reply};

/// The service's snapshot endpoint.
pub const SNAPSHOT_PATH: &str = "/v1/revocations/snapshot";

/// Longest ETag kept.
const MAX_ETAG: usize = 256;

/// Largest ETag file read back.
const MAX_ETAG_FILE: u64 = 4096;

/// What a pull did.
#[derive(Debug)]
pub enum PullOutcome {
    /// The service answered 304 to the kept ETag: the file is current and
    /// was left as it is.
    Unchanged,
    /// The snapshot was written (and its ETag beside it, or a stale ETag file
    /// removed).
    Written {
        /// The snapshot's size in bytes.
        bytes: usize,
        /// The verified snapshot's sequence and size, when a trust store was
        /// given.
        verified: Option<Verified>,
    },
    /// The service answered something other than 200 (or 304 to a kept
    /// ETag): nothing was written. The caller reports the answer.
    Refused(Reply),
}

/// A snapshot checked against a trust store before it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The snapshot's sequence number.
    pub sequence: u64,
    /// How many revocations it holds.
    pub revocations: usize,
}

/// Why a pull failed. Nothing is written unless the error is about writing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PullError {
    /// The request failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The service answered 200 with an empty body.
    #[error("the service sent an empty snapshot")]
    EmptySnapshot,
    /// The snapshot does not verify against the trust store.
    #[error("the snapshot was refused")]
    SnapshotRefused {
        /// Why it was refused.
        source: hallmark::Error,
    },
    /// The snapshot or its ETag file could not be written (or a stale ETag
    /// file removed).
    #[error(transparent)]
    File(#[from] FileError),
}

/// Where the ETag of the snapshot at `out` is kept: `OUT.etag`.
pub fn etag_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".etag");
    PathBuf::from(name)
}

/// Whether `etag` is worth keeping and sending back: 1 to 256 printable ASCII
/// characters or spaces.
fn valid_etag(etag: &str) -> bool {
    !etag.is_empty()
        && etag.len() <= MAX_ETAG
        && etag.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
}

/// Downloads the service's current snapshot to `out` (replaced atomically),
/// unless the ETag kept in [`etag_path`]`(out)` is still current (`If-None-Match`,
/// answered 304). With `trust`, the snapshot must verify (signed by one of
/// its revocation signers) before anything is written. The snapshot is
/// written before its ETag: a crash in between costs a full download next
/// time, never a stale file kept on a 304. An answer without a usable ETag
/// removes the ETag file.
///
/// The caller makes sure `out` and its ETag file are not files it must not
/// replace (a trust store, a key).
pub fn pull(
    client: &Client,
    out: &Path,
    trust: Option<&TrustStore>,
) -> Result<PullOutcome, PullError> {
    let etag_file = etag_path(out);
    // The previous ETag counts only while the file it describes is there.
    let previous = if out.is_file() {
        match file::read_bounded(&etag_file, MAX_ETAG_FILE, "the ETag file") {
            Ok(bytes) => String::from_utf8(bytes)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| valid_etag(s)),
            Err(_) => None,
        }
    } else {
        None
    };
    let headers: Vec<(&str, &str)> = previous
        .iter()
        .map(|e| ("If-None-Match", e.as_str()))
        .collect();
    let max = hallmark::MAX_SNAPSHOT_BYTES as u64;
    let reply = client.get(SNAPSHOT_PATH, &headers, max)?;
    if reply.status == 304 && previous.is_some() {
        return Ok(PullOutcome::Unchanged);
    }
    if reply.status != 200 {
        return Ok(PullOutcome::Refused(reply));
    }
    if reply.body.is_empty() {
        return Err(PullError::EmptySnapshot);
    }
    let verified = match trust {
        Some(trust) => {
            let snapshot = RevocationSnapshot::verify(&reply.body, trust)
                .map_err(|source| PullError::SnapshotRefused { source })?;
            Some(Verified {
                sequence: snapshot.sequence,
                revocations: snapshot.revocations().len(),
            })
        }
        None => None,
    };
    file::replace(out, &reply.body, file::MODE_PUBLIC)?;
    match reply.etag.as_deref().filter(|e| valid_etag(e)) {
        Some(etag) => file::replace(&etag_file, etag.as_bytes(), file::MODE_PUBLIC)?,
        None => match std::fs::remove_file(&etag_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(FileError::io(&etag_file)(e).into()),
        },
    }
    Ok(PullOutcome::Written {
        bytes: reply.body.len(),
        verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags() {
        assert_eq!(
            etag_path(Path::new("d/revocations.bin")),
            Path::new("d/revocations.bin.etag")
        );
        assert!(valid_etag("\"abc 1\""));
        assert!(!valid_etag(""));
        assert!(!valid_etag("a\nb"));
        assert!(!valid_etag(&"a".repeat(MAX_ETAG + 1)));
        assert!(valid_etag(&"a".repeat(MAX_ETAG)));
    }
}
