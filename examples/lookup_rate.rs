//! The service's own cost per lookup, without sockets or a load generator:
//! `GET /v1/codes/{code}` through the router (`oneshot`) on one thread, against
//! raw `verify_strict` and against the verifier library alone, in the same run.
//!
//! `cargo run --release --example lookup_rate -- [COUNT] [all|setup|raw|router]`
//!
//! Timings on a shared machine are noisy; instruction counts are not:
//! `valgrind --tool=callgrind` on the `setup`, `raw` and `router` modes gives,
//! by difference, instructions per raw verification and per lookup.

// A benchmark tool, not product code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::Request;
use ed25519_dalek::{Signer, SigningKey};
use hallmark::{Payload, TrustStore, TrustedKey};
use hallmark_issuer::SecretKey;
use hallmark_server::{AppState, Settings, SqliteStorage, app};
use tower::ServiceExt;

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let mode = std::env::args().nth(2).unwrap_or_else(|| "all".to_owned());
    let issuer = SecretKey::from_seed("issuer", &[1; 32]).unwrap();
    let mut trust = TrustStore::new();
    trust
        .add(TrustedKey::new("issuer", issuer.public_key(), None, None).unwrap())
        .unwrap();
    let date = "2023-12-12".parse().unwrap();
    let codes: Vec<String> = (0..count)
        .map(|i| {
            let p = Payload::new(i, "DRN-2980", "L231212-01", date).unwrap();
            issuer.sign_code(&p).unwrap()
        })
        .collect();

    if mode == "setup" {
        return;
    }
    // Raw verify_strict on a message of the same size.
    let key = SigningKey::from_bytes(&[7; 32]);
    let vk = key.verifying_key();
    let msg = [0x42u8; 55];
    let sig = key.sign(&msg);
    let started = Instant::now();
    if mode != "router" {
        for _ in 0..count {
            vk.verify_strict(&msg, &sig).unwrap();
        }
    }
    let raw = count as f64 / started.elapsed().as_secs_f64();
    if mode == "raw" {
        return;
    }

    let started = Instant::now();
    if mode != "router" {
        for c in &codes {
            trust.verify_signature_only(c).unwrap();
        }
    }
    let library = count as f64 / started.elapsed().as_secs_f64();

    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open(&dir.path().join("h.db")).unwrap());
    let settings = Settings {
        rate_limit_per_minute: 0,
        ..Settings::default()
    };
    let router = app(AppState::new(trust, storage, None, settings));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let service = runtime.block_on(async {
        let started = Instant::now();
        for c in &codes {
            let response = router
                .clone()
                .oneshot(
                    Request::get(format!("/v1/codes/{c}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
        }
        count as f64 / started.elapsed().as_secs_f64()
    });
    println!(
        "raw_verify_strict={raw:.0}/s library_verify={library:.0}/s ({:.2}x) router_lookup={service:.0}/s ({:.2}x raw)",
        library / raw,
        service / raw
    );
}
