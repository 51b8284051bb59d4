//! The fixture of `bench/bundle.sh`: a root, a certified line key and a
//! certified registry key; COUNT codes of the line key minted in MANIFESTS
//! batches, each batch in its own signed manifest with a registry receipt;
//! a trust bundle holding them all and listing the line key compromised
//! after the last receipt (so every code is genuine, and every code goes
//! through the compromise membership check: the worst case); and, for the
//! baseline, a flat trust store with the line key as a plain key.
//!
//! `cargo run --release --example bundle_fixture -- DIR [COUNT] [MANIFESTS]`
//! writes DIR/codes.txt, DIR/flat.toml, DIR/roots.toml and DIR/bundle.bin.

// A benchmark tool, not product code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::PathBuf;

use hallmark::{
    BatchManifest, BatchReceipt, Compromise, Constraints, LineCertificate, ManifestBatch, Payload,
    RevocationSnapshot, TrustBundle, TrustStore, TrustedKey, Usage,
};
use hallmark_issuer::{Minter, SecretKey, SerialMode};
use rayon::prelude::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect("DIR"));
    let count: u64 = args.next().map_or(1_000_000, |a| a.parse().unwrap());
    let manifests: u64 = args.next().map_or(10_000, |a| a.parse().unwrap());
    let per = count.div_ceil(manifests);
    std::fs::create_dir_all(&dir).unwrap();

    let root = SecretKey::from_seed("bench-root", &[1; 32]).unwrap();
    let line = SecretKey::from_seed("bench-line", &[2; 32]).unwrap();
    let registry = SecretKey::from_seed("bench-registry", &[3; 32]).unwrap();
    let date = "2023-12-12".parse().unwrap();
    let cert = |key: &SecretKey, usage| LineCertificate {
        subject: key.public_key(),
        name: key.name().to_owned(),
        valid_from: "2020-01-01".parse().unwrap(),
        valid_until: "2030-12-31".parse().unwrap(),
        usage,
        issued: 1_700_000_000,
        constraints: Constraints::default(),
    };
    let line_cert = root
        .sign_certificate(&cert(&line, Usage::CODES.union(Usage::MANIFESTS)))
        .unwrap();
    let registry_cert = root
        .sign_certificate(&cert(&registry, Usage::REGISTRY))
        .unwrap();

    let mut roots = TrustStore::new();
    roots
        .add_root(TrustedKey::new("bench-root", root.public_key(), None, None).unwrap())
        .unwrap();
    let roots_text = TrustStore::append_root_to_toml(
        None,
        TrustedKey::new("bench-root", root.public_key(), None, None).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("roots.toml"), roots_text).unwrap();
    let flat = TrustStore::append_to_toml(
        None,
        TrustedKey::new("bench-line", line.public_key(), None, None).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("flat.toml"), flat).unwrap();

    // The codes, batch by batch, serials 0..count.
    let template = Payload::new(0, "DRN-2980", "L231212-01", date).unwrap();
    let minter = Minter::new(&line, &template, SerialMode::Sequential).unwrap();
    let codes: Vec<String> = (0..count)
        .into_par_iter()
        .map(|c| minter.mint(c).unwrap().1)
        .collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("codes.txt")).unwrap());
    for c in &codes {
        writeln!(out, "{c}").unwrap();
    }
    out.flush().unwrap();

    // One manifest (one batch) and one receipt per MANIFESTS slice.
    let registered = 1_760_000_000;
    let batches: Vec<(Vec<u8>, Vec<u8>)> = (0..manifests)
        .into_par_iter()
        .filter_map(|i| {
            let start = i * per;
            let n = per.min(count.saturating_sub(start));
            (n > 0).then(|| {
                let manifest = BatchManifest {
                    kid: line.kid(),
                    issued: registered,
                    batches: vec![ManifestBatch {
                        start,
                        count: n,
                        part: "DRN-2980".into(),
                        lot: "L231212-01".into(),
                        date,
                        expiry: None,
                        opaque: false,
                        minted: registered,
                        batch_key: None,
                    }],
                };
                let m = line.sign_manifest(&manifest).unwrap();
                let receipt = BatchReceipt {
                    manifest: BatchReceipt::digest(&m),
                    kid: line.kid(),
                    registered: registered + i,
                    batches: 1,
                    serials: n,
                };
                let r = registry.sign_receipt(&receipt);
                (m, r)
            })
        })
        .collect();
    let bundle = TrustBundle {
        sequence: 1,
        issued: 1_790_000_000,
        certificates: vec![registry_cert, line_cert],
        batches,
        revocations: RevocationSnapshot::new(1, 1_790_000_000),
        compromises: vec![Compromise {
            kid: line.kid(),
            at: registered + manifests + 1,
            date,
        }],
    };
    let bytes = registry.sign_bundle(&bundle);
    std::fs::write(dir.join("bundle.bin"), &bytes).unwrap();
    let started = std::time::Instant::now();
    let verified = TrustBundle::verify(&bytes, &roots).unwrap();
    let load_ms = started.elapsed().as_millis();
    eprintln!(
        "fixture: {count} codes, {} manifests with receipts, bundle {} bytes, verified in {load_ms} ms, registry {} KiB",
        verified.manifests,
        bytes.len(),
        verified.registry().memory_bytes() / 1024
    );
}
