//! # hallmark-state
//!
//! The files a hallmark verifier keeps between runs: the [`journal`] of
//! verified serials (duplicate detection across runs).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod journal;
