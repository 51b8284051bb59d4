//! Runs `tests/vectors/cbv-event-hash.json` (the reference generator's test
//! events, see `tests/vectors/README.md`) through `pre_hash_string` and `event_hash`.

// Tests: a panic is the failure report.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use serde_json::Value;

#[test]
fn reference_generator_vectors() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/cbv-event-hash.json"
    );
    let text = std::fs::read_to_string(path).expect("vector file");
    let file: Value = serde_json::from_str(&text).expect("vector JSON");
    let cases = file["cases"].as_array().expect("cases");
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let input = &case["input"];
        let pre = hallmark_epcis::pre_hash_string(input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            pre,
            case["expect"]["pre_hash"].as_str().expect("pre_hash"),
            "{name}"
        );
        let hash = hallmark_epcis::event_hash(input).expect("hash");
        assert_eq!(
            hash,
            case["expect"]["event_hash"].as_str().expect("hash"),
            "{name}"
        );
    }
}
