//! Pulling the service's signed documents into a file: the revocation
//! snapshot (`GET /v1/revocations/snapshot`, `hallmark revocations pull`) and
//! the trust bundle (`GET /v1/trust/bundle`, `hallmark trust pull`). Both are
//! conditional on the ETag kept beside the file, optionally verified against
//! a trust store and their sequence checked against the verifier's sequence
//! store (one per signer, shared with `hallmark verify`) before the file is
//! replaced, and written atomically.

use std::path::{Path, PathBuf};

use hallmark::{KeyId, RevocationSnapshot, TrustBundle, TrustStore};
use hallmark_state::file::{self, FileError};
use hallmark_state::sequence::{SequenceError, SequenceStore};

use crate::{Client, ClientError, Reply};

/// The service's snapshot endpoint.
pub const SNAPSHOT_PATH: &str = "/v1/revocations/snapshot";

/// The service's trust bundle endpoint.
pub const BUNDLE_PATH: &str = "/v1/trust/bundle";

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

/// A document checked against a trust store before it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The document's sequence number.
    pub sequence: u64,
    /// When it was issued, seconds since 1970-01-01 UTC.
    pub issued: u64,
    /// How many revocations it holds.
    pub revocations: usize,
    /// The key that signed it.
    pub signer: KeyId,
    /// For a bundle: how many manifests (with receipts) it holds.
    pub manifests: Option<usize>,
}

/// What a pulled document is checked against before it is written.
#[derive(Debug, Clone, Copy)]
pub struct Check<'a> {
    /// The trust store it must verify against.
    pub trust: &'a TrustStore,
    /// The sequence store its sequence must not be older than (and which
    /// records it); `None` checks the signature only.
    pub sequences: Option<&'a SequenceStore>,
}

/// Which document a pull fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// The revocation snapshot ([`SNAPSHOT_PATH`]).
    Snapshot,
    /// The trust bundle ([`BUNDLE_PATH`]).
    Bundle,
}

impl Document {
    fn path(self) -> &'static str {
        match self {
            Document::Snapshot => SNAPSHOT_PATH,
            Document::Bundle => BUNDLE_PATH,
        }
    }

    fn max_bytes(self) -> u64 {
        match self {
            Document::Snapshot => hallmark::MAX_SNAPSHOT_BYTES as u64,
            Document::Bundle => hallmark::MAX_BUNDLE_BYTES as u64,
        }
    }

    /// Verifies `bytes` against `trust`.
    fn verify(self, bytes: &[u8], trust: &TrustStore) -> Result<Verified, PullError> {
        match self {
            Document::Snapshot => {
                let snapshot = RevocationSnapshot::verify(bytes, trust)
                    .map_err(|source| PullError::SnapshotRefused { source })?;
                Ok(Verified {
                    sequence: snapshot.sequence,
                    issued: snapshot.issued,
                    revocations: snapshot.revocations().len(),
                    signer: snapshot.signer.ok_or(PullError::NoSigner)?,
                    manifests: None,
                })
            }
            Document::Bundle => {
                let bundle = TrustBundle::verify(bytes, trust)
                    .map_err(|source| PullError::BundleRefused { source })?;
                Ok(Verified {
                    sequence: bundle.sequence,
                    issued: bundle.issued,
                    revocations: bundle.revocations().revocations().len(),
                    signer: bundle.signer,
                    manifests: Some(bundle.manifests),
                })
            }
        }
    }
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
    /// The service answered 200 with an empty body for a bundle.
    #[error("the service sent an empty trust bundle")]
    EmptyBundle,
    /// The bundle does not verify against the trust store.
    #[error("the trust bundle was refused")]
    BundleRefused {
        /// Why it was refused.
        source: hallmark::Error,
    },
    /// A verified snapshot that names no signer (never happens).
    #[error("the verified snapshot names no signer")]
    NoSigner,
    /// The document is older than one seen from its signer (a rollback), or
    /// the sequence store could not be read or written: the file was kept.
    #[error(transparent)]
    Sequence(#[from] SequenceError),
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
    let check = trust.map(|trust| Check {
        trust,
        sequences: None,
    });
    pull_document(client, Document::Snapshot, out, check)
}

/// [`pull`] for either document. With `check`, the document must verify
/// against its trust store and, with a sequence store, must not be older
/// than one seen from its signer (a rollback is [`PullError::Sequence`] and
/// `out` is kept); its sequence is recorded before `out` is replaced.
pub fn pull_document(
    client: &Client,
    document: Document,
    out: &Path,
    check: Option<Check<'_>>,
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
    let reply = client.get(document.path(), &headers, document.max_bytes())?;
    if reply.status == 304 && previous.is_some() {
        return Ok(PullOutcome::Unchanged);
    }
    if reply.status != 200 {
        return Ok(PullOutcome::Refused(reply));
    }
    if reply.body.is_empty() {
        return Err(match document {
            Document::Snapshot => PullError::EmptySnapshot,
            Document::Bundle => PullError::EmptyBundle,
        });
    }
    let verified = match check {
        Some(check) => {
            let verified = document.verify(&reply.body, check.trust)?;
            if let Some(sequences) = check.sequences {
                sequences.check(verified.signer, verified.sequence, 0)?;
            }
            Some(verified)
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
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    /// A server on 127.0.0.1 answering one connection per canned answer, in
    /// order, and reporting each request's head.
    fn serve(answers: Vec<String>) -> (Client, mpsc::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for answer in answers {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let mut reader = BufReader::new(&stream);
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let _ = tx.send(head);
                let _ = (&stream).write_all(answer.as_bytes());
            }
        });
        let client = Client::new(&format!("http://{addr}"), None).unwrap_or_else(|e| panic!("{e}"));
        (client, rx)
    }

    fn answer(status: &str, etag: Option<&str>, body: &str) -> String {
        let etag = etag.map(|e| format!("ETag: {e}\r\n")).unwrap_or_default();
        format!(
            "HTTP/1.1 {status}\r\n{etag}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    #[test]
    fn a_kept_etag_is_sent_back_and_a_304_keeps_the_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = dir.path().join("revocations.bin");
        let (client, heads) = serve(vec![
            answer("200 OK", Some("\"v1\""), "snapshot-1"),
            answer("304 Not Modified", None, ""),
            answer("200 OK", None, "snapshot-2"),
        ]);
        let outcome = pull(&client, &out, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(
                outcome,
                PullOutcome::Written {
                    bytes: 10,
                    verified: None
                }
            ),
            "{outcome:?}"
        );
        assert_eq!(
            std::fs::read(&out).ok().as_deref(),
            Some(&b"snapshot-1"[..])
        );
        assert_eq!(
            std::fs::read_to_string(etag_path(&out)).ok().as_deref(),
            Some("\"v1\"")
        );
        let first = heads.recv().unwrap_or_default().to_ascii_lowercase();
        assert!(!first.contains("if-none-match"), "{first}");

        let outcome = pull(&client, &out, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(outcome, PullOutcome::Unchanged), "{outcome:?}");
        let second = heads.recv().unwrap_or_default().to_ascii_lowercase();
        assert!(second.contains("if-none-match: \"v1\""), "{second}");
        assert_eq!(
            std::fs::read(&out).ok().as_deref(),
            Some(&b"snapshot-1"[..])
        );

        // An answer without an ETag removes the kept one.
        let outcome = pull(&client, &out, None).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(outcome, PullOutcome::Written { bytes: 10, .. }),
            "{outcome:?}"
        );
        assert_eq!(
            std::fs::read(&out).ok().as_deref(),
            Some(&b"snapshot-2"[..])
        );
        assert!(!etag_path(&out).exists());
    }

    #[test]
    fn refusals_and_empty_snapshots_write_nothing() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = dir.path().join("revocations.bin");
        let (client, _heads) = serve(vec![
            // A 304 without a kept ETag is not an answer to this request.
            answer("304 Not Modified", None, ""),
            answer("503 Service Unavailable", None, "down"),
            answer("200 OK", Some("\"v1\""), ""),
        ]);
        for status in [304, 503] {
            match pull(&client, &out, None) {
                Ok(PullOutcome::Refused(reply)) => assert_eq!(reply.status, status),
                other => panic!("{status}: {other:?}"),
            }
        }
        assert!(matches!(
            pull(&client, &out, None),
            Err(PullError::EmptySnapshot)
        ));
        assert!(!out.exists() && !etag_path(&out).exists());
    }

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
