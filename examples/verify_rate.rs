//! The floor for `hallmark verify`: raw ed25519-dalek `verify_strict` (one core and
//! all cores) and `verify_batch` (batches of 64 and 256, one core), on messages the
//! size of a sample code's signed bytes, all signed by one key.
//!
//! `cargo run --release --example verify_rate -- [COUNT]`

// A benchmark tool, not product code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rayon::prelude::*;

fn message(i: u64) -> Vec<u8> {
    let mut m = vec![0x42u8; 55];
    m[22..30].copy_from_slice(&i.to_be_bytes());
    m
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let key = SigningKey::from_bytes(&[7; 32]);
    let vk: VerifyingKey = key.verifying_key();
    let messages: Vec<Vec<u8>> = (0..count as u64).map(message).collect();
    let sigs: Vec<Signature> = messages.par_iter().map(|m| key.sign(m)).collect();

    let started = Instant::now();
    for (m, s) in messages.iter().zip(&sigs) {
        vk.verify_strict(m, s).unwrap();
    }
    let strict_one = count as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    messages
        .par_iter()
        .zip(&sigs)
        .for_each(|(m, s)| vk.verify_strict(m, s).unwrap());
    let strict_all = count as f64 / started.elapsed().as_secs_f64();

    let batch = |size: usize| {
        let started = Instant::now();
        for (ms, ss) in messages.chunks(size).zip(sigs.chunks(size)) {
            let refs: Vec<&[u8]> = ms.iter().map(Vec::as_slice).collect();
            let keys = vec![vk; ss.len()];
            ed25519_dalek::verify_batch(&refs, ss, &keys).unwrap();
        }
        count as f64 / started.elapsed().as_secs_f64()
    };
    let batch64 = batch(64);
    let batch256 = batch(256);
    println!(
        "cores={} verify_strict_one_core={strict_one:.0} verify_strict_all_cores={strict_all:.0} \
         verify_batch64_one_core={batch64:.0} verify_batch256_one_core={batch256:.0}",
        rayon::current_num_threads()
    );
}
