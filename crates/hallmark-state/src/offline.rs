//! An offline verification session: verdicts with rollback protection and
//! duplicate detection, for an app that scans codes without a server.
//!
//! - [`load_snapshot`] verifies a revocation snapshot and refuses a rollback
//!   (a sequence below the one recorded in the [`SequenceStore`], or below a
//!   pinned minimum).
//! - [`Session`] verifies chunks of scanned codes on all cores and marks the
//!   accepted ones that repeat a serial, earlier in the same session or in an
//!   earlier run (the optional seen [`Journal`]). [`Session::verify_chunk`]
//!   returns a chunk's verdicts only once its sightings are fsynced in the
//!   journal: a verdict shown before its sighting is durable would be lost by
//!   a crash or a full disk, and the next run would call a copy genuine.

use std::borrow::Borrow;
use std::path::Path;

use hallmark::duplicates::{DuplicateIndex, FirstSighting};
use hallmark::{
    RevocationSnapshot, TrustBundle, TrustStore, Verdict, VerdictKind, VerifiedBundle, Verifier,
};
use rayon::prelude::*;

use crate::journal::{self, Journal, JournalError, Sighting};
use crate::sequence::{self, SequenceError, SequenceStore};

/// Codes per [`Verifier::verify_batch`] call within a chunk: at least
/// [`hallmark::BUILD_TABLES_FROM`], so that a large input builds the tables.
const SLICE: usize = 512;

/// Why an offline verification step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OfflineError {
    /// The revocation snapshot's signature, signer or encoding was refused.
    #[error("revocation snapshot refused: {0}")]
    SnapshotRefused(#[source] hallmark::Error),
    /// The trust bundle's signature, signer, certificates, receipts or
    /// encoding was refused.
    #[error("trust bundle refused: {0}")]
    BundleRefused(#[source] hallmark::Error),
    /// A verified snapshot that names no signer.
    #[error("snapshot without a signer")]
    NoSigner,
    /// The snapshot is a rollback, or the sequence state could not be used.
    #[error(transparent)]
    Sequence(#[from] SequenceError),
    /// The seen journal refused a sighting or a location label.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A chunk's sightings could not be made durable: none of its verdicts
    /// was returned, so none may be shown.
    #[error(
        "{source}: the sightings could not be recorded, so no verdict from line {from_line} on was returned"
    )]
    NotRecorded {
        /// The line of the chunk's first code.
        from_line: usize,
        /// Why the journal could not be flushed.
        #[source]
        source: JournalError,
    },
}

/// Verifies a signed revocation snapshot against `trust` and refuses a
/// rollback: its sequence must be at least `min_sequence` and at least the
/// highest one recorded for its signer in the state directory (`state_dir`,
/// or [`sequence::state_dir`]'s default), where it is then recorded durably.
///
/// # Example
///
/// ```
/// use hallmark::TrustStore;
/// use hallmark_state::offline::{OfflineError, load_snapshot};
///
/// let state = tempfile::tempdir()?;
/// let refused = load_snapshot(b"not a snapshot", &TrustStore::new(), Some(state.path()), 0);
/// assert!(matches!(refused, Err(OfflineError::SnapshotRefused(_))));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn load_snapshot(
    bytes: &[u8],
    trust: &TrustStore,
    state_dir: Option<&Path>,
    min_sequence: u64,
) -> Result<RevocationSnapshot, OfflineError> {
    let snapshot =
        RevocationSnapshot::verify(bytes, trust).map_err(OfflineError::SnapshotRefused)?;
    let signer = snapshot.signer.ok_or(OfflineError::NoSigner)?;
    let dir = sequence::state_dir(state_dir)?;
    SequenceStore::new(dir).check(signer, snapshot.sequence, min_sequence)?;
    Ok(snapshot)
}

/// [`load_snapshot`] for a signed trust bundle: verified against `trust`
/// (its roots suffice), then its sequence checked against and recorded in the
/// same per-signer store as the signer's snapshots: one signer, one
/// sequence, whichever document type carries it.
pub fn load_bundle(
    bytes: &[u8],
    trust: &TrustStore,
    state_dir: Option<&Path>,
    min_sequence: u64,
) -> Result<VerifiedBundle, OfflineError> {
    let bundle = TrustBundle::verify(bytes, trust).map_err(OfflineError::BundleRefused)?;
    let dir = sequence::state_dir(state_dir)?;
    SequenceStore::new(dir).check(bundle.signer, bundle.sequence, min_sequence)?;
    Ok(bundle)
}

/// One scanned code: where it came from and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// Line number (1-based), argument number or image code number: what a
    /// duplicate's [`FirstSeen::Line`] refers to.
    pub line: usize,
    /// The text as read.
    pub text: String,
    /// Its full length in bytes: more than `text.len()` when the reader kept
    /// only the start of an over-long line (the code is then malformed).
    pub len: usize,
}

impl Scan {
    /// A scan of `text` on `line`, read whole.
    pub fn new(line: usize, text: impl Into<String>) -> Scan {
        let text = text.into();
        Scan {
            line,
            len: text.len(),
            text,
        }
    }
}

/// Where a duplicate was first seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FirstSeen {
    /// Earlier in this session, on this line.
    Line(usize),
    /// In an earlier run, as the seen journal recorded it.
    Journal(Sighting),
}

/// A scanned code's verdict and, for an accepted code seen before, where.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    /// The verifier's verdict.
    pub verdict: Verdict,
    /// Set when the code was accepted but repeats an earlier sighting.
    pub first_seen: Option<FirstSeen>,
}

impl Judged {
    /// The outcome to report: [`VerdictKind::Duplicate`] for a repeat,
    /// otherwise the verdict's kind.
    pub fn kind(&self) -> VerdictKind {
        if self.first_seen.is_some() {
            VerdictKind::Duplicate
        } else {
            self.verdict.kind()
        }
    }
}

/// An offline verification session: a [`Verifier`], the duplicate index of
/// this session's accepted serials and an optional seen journal.
///
/// # Example
///
/// ```
/// use hallmark::{TrustStore, VerdictKind, Verifier};
/// use hallmark_state::journal::Journal;
/// use hallmark_state::offline::{Scan, Session};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let trust = TrustStore::new();
/// let verifier = Verifier::new(&trust, "2026-11-23".parse()?);
/// let journal = Journal::open(&dir.path().join("seen.jsonl"))?;
/// let mut session =
///     Session::new(verifier, 1_767_225_600).with_journal(journal, Some("Dock 4".into()))?;
///
/// let scans = [Scan::new(1, "not a code"), Scan::new(2, "0000")];
/// // Returned only once the chunk's sightings are fsynced in the journal.
/// let judged = session.verify_chunk(&scans)?;
/// assert!(judged.iter().all(|j| j.kind() == VerdictKind::Malformed));
/// # Ok(())
/// # }
/// ```
pub struct Session<'a> {
    verifier: Verifier<'a>,
    here: DuplicateIndex,
    journal: Option<Journal>,
    location: Option<String>,
    now: u64,
}

impl<'a> Session<'a> {
    /// A session judging with `verifier`; sightings are dated `now` (seconds
    /// since 1970).
    pub fn new(verifier: Verifier<'a>, now: u64) -> Session<'a> {
        Session {
            verifier,
            here: DuplicateIndex::default(),
            journal: None,
            location: None,
            now,
        }
    }

    /// Keeps sightings across runs in `journal`, labelled with `location`.
    /// Refuses a label that fails [`journal::check_location`].
    pub fn with_journal(
        mut self,
        journal: Journal,
        location: Option<String>,
    ) -> Result<Session<'a>, OfflineError> {
        if let Some(l) = &location {
            journal::check_location(l)?;
        }
        self.journal = Some(journal);
        self.location = location;
        Ok(self)
    }

    /// The verifier the session judges with.
    pub fn verifier(&self) -> Verifier<'a> {
        self.verifier
    }

    /// The seen journal, if the session keeps one.
    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// Judges a chunk of scans, in order: verification on all cores, then
    /// duplicate detection. With a journal, the chunk's accepted sightings
    /// are recorded and fsynced before this returns: on
    /// [`OfflineError::NotRecorded`] (e.g. a full disk) no verdict of the
    /// chunk is returned, so a caller cannot show one that was not recorded.
    pub fn verify_chunk<T>(&mut self, items: &[T]) -> Result<Vec<Judged>, OfflineError>
    where
        T: Borrow<Scan> + Sync,
    {
        let verifier = self.verifier;
        // Slices share one field inversion (Verifier::verify_batch).
        let verdicts: Vec<Verdict> = items
            .par_chunks(SLICE)
            .flat_map_iter(|slice| {
                let verdicts =
                    verifier.verify_batch(slice.iter().map(|item| item.borrow().text.as_str()));
                slice.iter().zip(verdicts).map(|(item, verdict)| {
                    let scan = item.borrow();
                    if scan.len > scan.text.len() {
                        // The reader kept only part of an over-long line.
                        Verdict::Malformed(hallmark::Error::Decode(
                            hallmark::DecodeError::TooLong {
                                document: hallmark::Document::Code,
                                len: scan.len,
                                max: hallmark::MAX_INPUT_LEN,
                            },
                        ))
                    } else {
                        verdict
                    }
                })
            })
            .collect();
        let mut judged = Vec::with_capacity(verdicts.len());
        for (item, verdict) in items.iter().zip(verdicts) {
            let first_seen = match verdict.verified() {
                Some(v) if verdict.kind().is_accepted() => {
                    self.sighting(item.borrow().line, v.kid(), v.payload().serial())?
                }
                _ => None,
            };
            judged.push(Judged {
                verdict,
                first_seen,
            });
        }
        if let Some(j) = &mut self.journal {
            j.flush().map_err(|source| OfflineError::NotRecorded {
                from_line: items.first().map_or(0, |i| i.borrow().line),
                source,
            })?;
        }
        Ok(judged)
    }

    /// Records an accepted sighting; returns where it was first seen, if before.
    fn sighting(
        &mut self,
        line: usize,
        kid: hallmark::KeyId,
        serial: u64,
    ) -> Result<Option<FirstSeen>, OfflineError> {
        // Looked up before this sighting is recorded: a hit is an earlier run.
        let earlier_run = self
            .journal
            .as_ref()
            .and_then(|j| j.first_seen(kid, serial));
        if let Some(j) = &mut self.journal {
            j.record(kid, serial, self.now, self.location.as_deref())?;
        }
        Ok(
            match self.here.sight(kid, serial, line, earlier_run.is_some()) {
                None => None,
                Some(FirstSighting::Line(first)) => Some(FirstSeen::Line(first)),
                Some(FirstSighting::EarlierRun) => earlier_run.map(FirstSeen::Journal),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallmark::Date;

    /// The verifier crate's test vectors: a trust store and genuine codes.
    fn vectors() -> (TrustStore, Date, Vec<(u64, String)>) {
        let text = include_str!("../../../tests/vectors/valid.json");
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let trust = TrustStore::from_toml(v["trust_store"].as_str().unwrap()).unwrap();
        let today: Date = v["today"].as_str().unwrap().parse().unwrap();
        let codes = v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["expect"]["verdict"] == "genuine")
            .map(|c| {
                (
                    c["expect"]["payload"]["serial"].as_u64().unwrap(),
                    c["input"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (trust, today, codes)
    }

    fn code(codes: &[(u64, String)], serial: u64) -> String {
        codes.iter().find(|(s, _)| *s == serial).unwrap().1.clone()
    }

    #[test]
    fn repeats_in_one_session_are_duplicates_of_the_first_line() {
        let (trust, today, codes) = vectors();
        let mut session = Session::new(Verifier::new(&trust, today), 100);
        let (a, b) = (code(&codes, 7), code(&codes, 8));
        let judged = session
            .verify_chunk(&[Scan::new(1, a.clone()), Scan::new(2, b)])
            .unwrap();
        assert_eq!(judged[0].kind(), VerdictKind::Genuine);
        assert_eq!(judged[1].kind(), VerdictKind::Genuine);
        // A later chunk still knows line 1.
        let judged = session
            .verify_chunk(&[Scan::new(3, "junk"), Scan::new(4, a)])
            .unwrap();
        assert_eq!(judged[0].kind(), VerdictKind::Malformed);
        assert_eq!(judged[1].first_seen, Some(FirstSeen::Line(1)));
        assert_eq!(judged[1].kind(), VerdictKind::Duplicate);
    }

    #[test]
    fn an_over_long_scan_is_malformed_even_if_its_start_is_a_code() {
        let (trust, today, codes) = vectors();
        let mut session = Session::new(Verifier::new(&trust, today), 100);
        let text = code(&codes, 7);
        let len = text.len() + 10_000;
        let judged = session
            .verify_chunk(&[Scan { line: 1, text, len }])
            .unwrap();
        assert!(matches!(
            judged[0].verdict,
            Verdict::Malformed(hallmark::Error::Decode(
                hallmark::DecodeError::TooLong { .. }
            ))
        ));
    }

    #[test]
    fn sightings_are_durable_when_verify_chunk_returns() {
        let (trust, today, codes) = vectors();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seen.jsonl");
        let a = code(&codes, 7);
        {
            let journal = Journal::open(&path).unwrap();
            let mut session = Session::new(Verifier::new(&trust, today), 100)
                .with_journal(journal, Some("Dock 4".into()))
                .unwrap();
            let judged = session.verify_chunk(&[Scan::new(1, a.clone())]).unwrap();
            assert_eq!(judged[0].kind(), VerdictKind::Genuine);
            // No flush or drop by the caller: the file already holds it.
            let on_disk = std::fs::read_to_string(&path).unwrap();
            assert!(on_disk.contains("Dock 4"), "{on_disk}");
            // Dropping a journal does not flush it: what follows was flushed above.
            drop(session);
        }
        let journal = Journal::open(&path).unwrap();
        let mut session = Session::new(Verifier::new(&trust, today), 200)
            .with_journal(journal, None)
            .unwrap();
        let judged = session.verify_chunk(&[Scan::new(1, a)]).unwrap();
        assert_eq!(
            judged[0].first_seen,
            Some(FirstSeen::Journal(Sighting {
                time: 100,
                location: Some("Dock 4".into())
            }))
        );
    }

    #[test]
    fn a_bad_location_is_refused() {
        let trust = TrustStore::new();
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("seen.jsonl")).unwrap();
        let today = "2026-11-23".parse().unwrap();
        let session = Session::new(Verifier::new(&trust, today), 0)
            .with_journal(journal, Some("bad\nlabel".into()));
        assert!(matches!(session, Err(OfflineError::Journal(_))));
    }

    #[test]
    fn a_snapshot_that_is_not_one_is_refused_before_touching_state() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let out = load_snapshot(b"\x00\x01", &TrustStore::new(), Some(&state), 0);
        assert!(matches!(out, Err(OfflineError::SnapshotRefused(_))));
        assert!(!state.exists());
    }
}
