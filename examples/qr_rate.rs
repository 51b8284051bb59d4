//! Measures how many QR PNG label images per second `hallmark_label::symbol`
//! renders for sample-sized (164-character) codes: on one core, on two, and on
//! every core; compares with the goal of 20,000 images/s on 2 cores.
//!
//! Run: `cargo run --release --example qr_rate [-- SECONDS_PER_MEASUREMENT]`

// A measuring tool, not product code: failing loudly is what it should do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use hallmark::Payload;
use hallmark_issuer::{SecretKey, mint};
use hallmark_label::symbol::{DEFAULT_SCALE, ImageFormat, Matrix, Symbol, render};

/// The goal: QR PNG images per second on 2 cores.
const GOAL_ON_2_CORES: f64 = 20_000.0;

/// Distinct codes to cycle through (different data, different masks).
const CODES: u64 = 256;

fn main() {
    let seconds: f64 = std::env::args()
        .nth(1)
        .map_or(2.0, |s| s.parse().expect("SECONDS must be a number"));
    let duration = Duration::from_secs_f64(seconds);
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);

    let key = SecretKey::from_seed("qr-rate", &[9; 32]).unwrap();
    let date = "2023-12-12".parse().unwrap();
    let codes: Vec<String> = (0..CODES)
        .map(|i| {
            let payload = Payload::new(123_456_789 + i, "DRN-2980", "L231212-01", date).unwrap();
            mint(&key, &payload).unwrap()
        })
        .collect();
    assert!(codes.iter().all(|c| c.len() == 164));

    let matrix = Matrix::encode(&codes[0], Symbol::Qr).unwrap();
    let png_bytes: usize = codes
        .iter()
        .map(|c| render(c, Symbol::Qr, ImageFormat::Png).unwrap().len())
        .sum();
    println!(
        "QR version {} ({}x{} modules), {} px per module, PNG {} bytes on average; \
         {cores} cores available, {seconds} s per measurement",
        matrix.qr_version().unwrap(),
        matrix.width(),
        matrix.height(),
        DEFAULT_SCALE,
        png_bytes / codes.len(),
    );

    // Where one image's time goes, on one core.
    let encode = per_image(duration / 2, |i| {
        black_box(Matrix::encode(&codes[i % codes.len()], Symbol::Qr).unwrap());
    });
    let matrices: Vec<Matrix> = codes
        .iter()
        .map(|c| Matrix::encode(c, Symbol::Qr).unwrap())
        .collect();
    let to_png = per_image(duration / 2, |i| {
        black_box(matrices[i % matrices.len()].to_png(DEFAULT_SCALE).unwrap());
    });
    let dm = per_image(duration / 2, |i| {
        let c = &codes[i % codes.len()];
        black_box(render(c, Symbol::DataMatrix, ImageFormat::Png).unwrap());
    });
    // Baseline in the same run: fast_qr's encoder (ECC M) on the same codes.
    let baseline = per_image(duration / 2, |i| {
        let code = &codes[i % codes.len()];
        black_box(
            fast_qr::qr::QRBuilder::new(code.as_bytes())
                .ecl(fast_qr::ECL::M)
                .build()
                .unwrap(),
        );
    });
    println!(
        "one core: QR encode {:.1} us + PNG {:.1} us per image; \
         (Data Matrix encode + PNG {:.1} us)",
        encode.as_secs_f64() * 1e6,
        to_png.as_secs_f64() * 1e6,
        dm.as_secs_f64() * 1e6,
    );
    println!(
        "baseline: fast_qr encode {:.1} us per symbol, so hallmark's encoder is {:.2}x as fast",
        baseline.as_secs_f64() * 1e6,
        baseline.as_secs_f64() / encode.as_secs_f64(),
    );

    let mut counts = vec![1, 2, cores];
    counts.dedup();
    let mut on_two = None;
    for threads in counts {
        let rate = images_per_second(threads, &codes, duration);
        if threads == 2 {
            on_two = Some(rate);
        }
        println!(
            "{threads} thread(s): {rate:>9.0} QR PNG images/s ({:.0} per thread)",
            rate / threads as f64
        );
    }
    match on_two {
        Some(rate) => println!(
            "goal: {GOAL_ON_2_CORES:.0}/s on 2 cores: {} ({:.1}x the goal)",
            if rate >= GOAL_ON_2_CORES {
                "met"
            } else {
                "NOT met"
            },
            rate / GOAL_ON_2_CORES
        ),
        None => println!("goal: {GOAL_ON_2_CORES:.0}/s on 2 cores: not measured (1 core)"),
    }
}

/// Average time of `f(i)` over calls for about `duration` on this thread.
fn per_image(duration: Duration, mut f: impl FnMut(usize)) -> Duration {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < duration {
        for _ in 0..32 {
            f(n);
            n += 1;
        }
    }
    start.elapsed() / u32::try_from(n).unwrap()
}

/// QR PNG images rendered per second by `threads` threads for about `duration`.
fn images_per_second(threads: usize, codes: &[String], duration: Duration) -> f64 {
    let start = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut i = t * 31;
                    let mut n = 0u64;
                    while start.elapsed() < duration {
                        for _ in 0..32 {
                            let png = render(&codes[i % codes.len()], Symbol::Qr, ImageFormat::Png)
                                .unwrap();
                            black_box(png);
                            i += 1;
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}
