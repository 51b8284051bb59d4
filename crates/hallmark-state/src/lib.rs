//! # hallmark-state
//!
//! hallmark's local durable state, in one place with one set of rules:
//!
//! - [`file`](mod@file): whole files written atomically (a temporary file with an
//!   unpredictable name beside the target, fsynced, renamed or linked into
//!   place, the directory fsynced), never through a planted symlink; bounded
//!   reads; cleanup of temporary files left by a killed process.
//! - [`input`]: codes read one per line, each line bounded.
//! - [`log`]: one locked append-only log with one torn-tail rule, used by the
//!   issuer's serial ledger and by the [`journal`] of verified serials
//!   (duplicate detection across runs).
//! - [`sequence`]: the highest revocation-snapshot sequence seen per signer
//!   (rollback protection), and where a verifier keeps its state.
//! - [`offline`]: an offline verification session built on them: snapshot
//!   loading with the rollback check, duplicate detection within a run and
//!   across runs, verdicts returned only once their sightings are durable.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod file;
pub mod input;
pub mod journal;
pub mod log;
pub mod offline;
pub mod sequence;
