//! The end-to-end tests, as one test binary (ripgrep's layout): each module
//! drives the real `hallmark` binary, the real server over loopback, or the
//! libraries as an app would.

// Tests: a panic is the failure report.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

mod common;
#[path = "../../crates/hallmark-server/tests/pg/mod.rs"]
mod pg;

mod aggregation;
mod architecture;
mod chain;
mod cli;
mod distributor;
mod epcis;
mod files;
mod gs1;
mod history;
mod hsm;
mod images;
mod install;
mod manufacturer;
mod offline;
mod ops;
mod page;
mod properties;
mod report;
mod serve;
mod size;
mod symbols;
mod vectors;
mod words;
