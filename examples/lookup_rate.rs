//! The service's own cost per lookup, without sockets or a load generator:
//! `GET /v1/codes/{code}` through the router (`oneshot`) on one thread, against
//! raw `verify_strict` and against the verifier library alone, in the same run.
//!
//! The same for the consumer page `GET /c/{code}`: `page` visits each code
//! once as a new visitor (every visit is recorded: one scan written and
//! committed per page), `page-repeat` visits each code twice from one client
//! address (the second visit within the hour is not recorded again).
//!
//! `cargo run --release --example lookup_rate -- [COUNT] [all|setup|raw|router|page|page-repeat]`
//!
//! Timings on a shared machine are noisy; instruction counts are not:
//! `valgrind --tool=callgrind` on the `setup`, `raw`, `router`, `page` and
//! `page-repeat` modes gives, by difference, instructions per raw
//! verification, per lookup, per recorded page visit ((page − setup) / COUNT)
//! and per repeated visit ((page-repeat − page) / COUNT).
//!
//! The codes' batch is registered (as `bench/serve.sh` and a deployment have
//! it), so a page reads whether its serial is registered, and no visit
//! raises the `unregistered-serial` alert.
//!
//! With `$HALLMARK_LOG` set (e.g. `info`), the service's logs are on, as
//! `hallmark serve` writes them (text, to stderr): the access log's cost is
//! the difference from a run without it.

// A benchmark tool, not product code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use ed25519_dalek::{Signer, SigningKey};
use hallmark::{Payload, TrustStore, TrustedKey};
use hallmark_issuer::SecretKey;
use hallmark_server::storage::Storage;
use hallmark_server::{AppState, Settings, SqliteStorage, app};
use tower::ServiceExt;

fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let mode = std::env::args().nth(2).unwrap_or_else(|| "all".to_owned());
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("HALLMARK_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .init();
    }
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
    let measure_raw = mode == "all" || mode == "raw";
    if measure_raw {
        for _ in 0..count {
            vk.verify_strict(&msg, &sig).unwrap();
        }
    }
    let raw = count as f64 / started.elapsed().as_secs_f64();
    if mode == "raw" {
        return;
    }

    let started = Instant::now();
    if measure_raw {
        for c in &codes {
            trust.verify_signature_only(c).unwrap();
        }
    }
    let library = count as f64 / started.elapsed().as_secs_f64();

    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(SqliteStorage::open(&dir.path().join("h.db")).unwrap());
    // The codes' batch registered, as a deployment has it (and bench/serve.sh):
    // an unregistered serial of a key that registers batches raises an alert.
    let manifest = hallmark::BatchManifest {
        kid: issuer.kid(),
        issued: 1_700_000_000,
        batches: vec![hallmark::ManifestBatch {
            start: 0,
            count,
            part: "DRN-2980".into(),
            lot: "L231212-01".into(),
            date,
            expiry: None,
            opaque: false,
            minted: 1_700_000_000,
            batch_key: None,
        }],
    };
    let signed = issuer.sign_manifest(&manifest).unwrap();
    storage
        .register_batches(&manifest, &signed, None, "lookup_rate", 1_700_000_000)
        .unwrap();
    let settings = Settings {
        rate_limit_per_minute: 0,
        ..Settings::default()
    };
    let router = app(AppState::new(trust, storage, None, settings));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let get = |path: String, client: Option<SocketAddr>| {
        let router = router.clone();
        async move {
            let mut request = Request::get(path).body(Body::empty()).unwrap();
            if let Some(addr) = client {
                request.extensions_mut().insert(ConnectInfo(addr));
            }
            let response = router.oneshot(request).await.unwrap();
            assert_eq!(response.status(), 200);
            axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
        }
    };
    let rate = |paths: &dyn Fn(&str) -> String, client: Option<SocketAddr>, rounds: u32| {
        runtime.block_on(async {
            let started = Instant::now();
            for _ in 0..rounds {
                for c in &codes {
                    get(paths(c), client).await;
                }
            }
            count as f64 * f64::from(rounds) / started.elapsed().as_secs_f64()
        })
    };
    let lookup = |c: &str| format!("/v1/codes/{c}");
    let page = |c: &str| format!("/c/{c}");
    let visitor: SocketAddr = "192.0.2.7:40000".parse().unwrap();
    match mode.as_str() {
        "router" => {
            rate(&lookup, None, 1);
        }
        "page" => {
            rate(&page, None, 1);
        }
        "page-repeat" => {
            rate(&page, Some(visitor), 2);
        }
        _ => {
            let service = rate(&lookup, None, 1);
            let pages = rate(&page, None, 1);
            println!(
                "raw_verify_strict={raw:.0}/s library_verify={library:.0}/s ({:.2}x) \
                 router_lookup={service:.0}/s ({:.2}x raw) page_recorded={pages:.0}/s ({:.2}x raw)",
                library / raw,
                service / raw,
                pages / raw
            );
        }
    }
}
