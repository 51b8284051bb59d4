//! The aggregation vectors (tests/vectors/aggregation.json, docs/FORMAT.md §22):
//! every single manifest verifies to exactly its expected summary or is
//! refused with exactly its expected kind; every nested set likewise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hallmark::TrustStore;
use hallmark::aggregation::{AggregationManifest, AggregationSet, Parent, UnitId};
use serde_json::{Value, json};

fn vectors() -> Value {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let text = std::fs::read_to_string(format!("{root}/tests/vectors/aggregation.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn parent(p: &Parent) -> String {
    p.unit().unwrap().to_string()
}

#[test]
fn single_manifests() {
    let v = vectors();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 30, "{} cases", cases.len());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let trust = TrustStore::from_toml(case["trust_store"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{name}: trust store: {e}"));
        let bytes = hex::decode(case["manifest"].as_str().unwrap()).unwrap();
        let got = AggregationManifest::verify(&bytes, &trust);
        match (&case["expect"]["ok"], &case["expect"]["error"], got) {
            (Value::Object(_), _, Ok(m)) => {
                let summary = json!({
                    "parent": parent(&m.parent),
                    "children": m.children.len(),
                    "time": m.time,
                    "bizstep": m.bizstep.as_str(),
                    "location": m.location,
                    "digest": hex::encode(AggregationManifest::digest(&bytes)),
                });
                assert_eq!(summary, case["expect"]["ok"], "{name}");
            }
            (_, Value::String(kind), Err(e)) => assert_eq!(e.kind(), kind, "{name}: {e}"),
            (_, _, got) => panic!("{name}: expected {}, got {got:?}", case["expect"]),
        }
    }
}

#[test]
fn nested_sets() {
    let v = vectors();
    for case in v["sets"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let trust = TrustStore::from_toml(case["trust_store"].as_str().unwrap()).unwrap();
        let files: Vec<Vec<u8>> = case["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| hex::decode(h.as_str().unwrap()).unwrap())
            .collect();
        let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        match (
            &case["expect"]["error"],
            AggregationSet::verify(&refs, &trust),
        ) {
            (Value::String(kind), Err(e)) => assert_eq!(e.kind(), kind, "{name}: {e}"),
            (Value::Null, Ok(set)) => {
                assert_eq!(
                    parent(&set.root().parent),
                    case["expect"]["ok"]["root_parent"],
                    "{name}"
                );
                let serials: Vec<u64> = set
                    .leaves()
                    .map(|l| match l.child.unit().unwrap() {
                        Some(UnitId::Code { serial, .. }) => serial,
                        other => panic!("{name}: {other:?}"),
                    })
                    .collect();
                assert_eq!(json!(serials), case["expect"]["ok"]["leaves"], "{name}");
            }
            (_, got) => panic!("{name}: expected {}, got {got:?}", case["expect"]),
        }
    }
}
