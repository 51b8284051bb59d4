//! The signed GS1 vectors (tests/vectors/gs1/signed.json, docs/FORMAT.md §21):
//! each input, verified on its day with the demo trust store, gets exactly its
//! verdict (or, for a refusal, its error kind).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hallmark::{TrustStore, Verifier};

#[test]
fn signed_gs1_vectors() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let text = std::fs::read_to_string(format!("{root}/tests/vectors/gs1/signed.json")).unwrap();
    let vectors: serde_json::Value = serde_json::from_str(&text).unwrap();
    let trust_path = vectors["trust"].as_str().unwrap();
    let trust =
        TrustStore::from_toml(&std::fs::read_to_string(format!("{root}/{trust_path}")).unwrap())
            .unwrap();
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    let mut inputs = Vec::new();
    for case in cases {
        let (name, input) = (
            case["name"].as_str().unwrap(),
            case["input"].as_str().unwrap(),
        );
        let expect = case["expect"].as_str().unwrap();
        let today = case["today"].as_str().unwrap().parse().unwrap();
        let verdict = Verifier::new(&trust, today).verify(input);
        let got = match verdict.refusal() {
            Some(e) if !verdict.kind().is_accepted() && verdict.kind().as_str() != expect => {
                e.kind().to_owned()
            }
            _ => verdict.kind().as_str().to_owned(),
        };
        assert_eq!(got, expect, "{name}: {input:?}: {verdict:?}");
        inputs.push(input);
    }
    // Bulk verification agrees with one-at-a-time, from the table-building
    // size on (the cases repeated).
    let many: Vec<&str> = inputs.iter().copied().cycle().take(300).collect();
    let verifier = Verifier::new(&trust, "2026-11-23".parse().unwrap());
    let bulk = verifier.verify_batch(many.iter().copied());
    for (input, v) in many.iter().zip(bulk) {
        assert_eq!(v, verifier.verify(input), "{input:?}");
    }
}
