//! The floor for `hallmark mint`: raw ed25519-dalek signing rate on messages the
//! size of a sample code's signed bytes, on one core and on all cores.
//!
//! `cargo run --release --example sign_rate -- [COUNT]` prints
//! `cores=N one_core=R all_cores=R` (signatures per second).

// A benchmark tool, not product code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use ed25519_dalek::{Signer, SigningKey};
use rayon::prelude::*;

fn message(i: u64) -> [u8; 55] {
    // Tag (17) + version (1) + kid (4) + a 33-byte payload, like the sample code.
    let mut m = [0x42u8; 55];
    m[22..30].copy_from_slice(&i.to_be_bytes());
    m
}

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let key = SigningKey::from_bytes(&[7; 32]);
    let one = count.min(200_000);
    let started = Instant::now();
    let mut acc = 0u8;
    for i in 0..one {
        acc ^= key.sign(&message(i)).to_bytes()[0];
    }
    let one_rate = one as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let acc2 = (0..count)
        .into_par_iter()
        .map(|i| key.sign(&message(i)).to_bytes()[0])
        .reduce(|| 0, |a, b| a ^ b);
    let all_rate = count as f64 / started.elapsed().as_secs_f64();
    println!(
        "cores={} one_core={one_rate:.0} all_cores={all_rate:.0} (checksum {})",
        rayon::current_num_threads(),
        acc ^ acc2
    );
}
