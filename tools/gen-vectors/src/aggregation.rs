//! Vectors of docs/FORMAT.md §22: aggregation manifests and nested sets
//! (tests/vectors/aggregation.json).
//!
//! Every manifest is built here byte by byte (the CBOR helpers of main.rs),
//! and every expected result is written down from how it was built.

use ed25519_dalek::{Signer as _, SigningKey};
use hallmark::{AGGREGATION_SIGNING_TAG, CERTIFICATE_SIGNING_TAG, KeyId, MANIFEST_SIGNING_TAG};
use serde_json::{Value, json};

use super::{Signer, arr, bstr, kv, map, sample_pairs, text, uint};

const ROOT_SEED: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
const STRANGER_SEED: &str = "3031323334353637383940414243444546474849505152535455565758596061";
/// 2026-06-01T08:00:00Z.
const TIME: u64 = 1_780_300_800;
const PALLET: &str = "106141411234567897";
const CASE_A: &str = "006141411234567890";
const CASE_B: &str = "000000000000000000";

fn unit(kind: u64, value: Vec<u8>) -> Vec<u8> {
    arr(&[uint(kind), value])
}
fn code_unit(code: &[u8]) -> Vec<u8> {
    unit(0, bstr(code))
}
fn sscc(s: &str) -> Vec<u8> {
    unit(2, text(s))
}
fn digest(bytes: &[u8]) -> [u8; 32] {
    blake3::derive_key("hallmark v1 aggregation manifest digest", bytes)
}

/// A document: parent, children, count, time, bizstep, location.
fn body(
    parent: Vec<u8>,
    children: &[Vec<u8>],
    count: u64,
    bizstep: u64,
    location: Option<&str>,
) -> Vec<u8> {
    let mut pairs = vec![
        kv(0, parent),
        kv(1, arr(children)),
        kv(2, uint(count)),
        kv(3, uint(TIME)),
        kv(4, uint(bizstep)),
    ];
    if let Some(l) = location {
        pairs.push(kv(5, text(l)));
    }
    map(&pairs)
}

fn sign(key: &SigningKey, kid: [u8; 4], tag: &[u8], body: &[u8]) -> Vec<u8> {
    let signed = [&[1u8][..], &kid, body].concat();
    let sig = key.sign(&[tag, &signed].concat());
    [signed, sig.to_bytes().to_vec()].concat()
}

fn kid_of(key: &SigningKey) -> [u8; 4] {
    KeyId::derive(&key.verifying_key().to_bytes()).to_bytes()
}

pub(crate) fn aggregation_file(s: &Signer) -> Value {
    let line = &s.raw;
    let kid = s.kid();
    let agg = |b: &[u8]| sign(line, kid, AGGREGATION_SIGNING_TAG, b);
    let code = |serial: u64| s.code(&map(&sample_pairs(serial)));
    let codes = |serials: &[u64]| {
        serials
            .iter()
            .map(|&n| code_unit(&code(n)))
            .collect::<Vec<_>>()
    };
    let plain = format!(
        "[[key]]\nname = \"vector-key\"\npublic_key = \"{}\"\n",
        hex::encode(line.verifying_key().to_bytes())
    );
    let ok = |name: &str, bytes: &[u8], expect: Value| {
        json!({"name": name, "trust_store": plain, "manifest": hex::encode(bytes),
               "expect": {"ok": expect}})
    };
    let refused = |name: &str, trust: &str, bytes: &[u8], kind: &str| {
        json!({"name": name, "trust_store": trust, "manifest": hex::encode(bytes),
               "expect": {"error": kind}})
    };
    let summary = |parent: &str, n: u64, bizstep: &str, location: Option<&str>, bytes: &[u8]| {
        json!({"parent": parent, "children": n, "time": TIME, "bizstep": bizstep,
               "location": location, "digest": hex::encode(digest(bytes))})
    };
    let kidhex = hex::encode(kid);

    let mut cases = Vec::new();
    let good = agg(&body(
        sscc(PALLET),
        &codes(&[1, 2, 3]),
        3,
        0,
        Some("Plant 1, dock 4"),
    ));
    cases.push(ok(
        "three codes packed under an SSCC, with a location",
        &good,
        summary(
            &format!("sscc:{PALLET}"),
            3,
            "packing",
            Some("Plant 1, dock 4"),
            &good,
        ),
    ));
    let drone = code(123_456_789);
    let gs1 = "010950600013435221ABC123";
    let assembled = agg(&body(
        code_unit(&drone),
        &[code_unit(&code(7)), unit(1, text(gs1))],
        2,
        1,
        None,
    ));
    cases.push(ok(
        "a code parent assembled from a code and a GS1 unit, no location",
        &assembled,
        summary(
            &format!("code:{kidhex}:123456789"),
            2,
            "assembling",
            None,
            &assembled,
        ),
    ));

    // Signatures and keys.
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    cases.push(refused(
        "the signature's last byte altered",
        &plain,
        &flipped,
        "bad-signature",
    ));
    let mut altered = good.clone();
    altered[20] ^= 1;
    cases.push(refused(
        "a byte of the parent altered",
        &plain,
        &altered,
        "bad-signature",
    ));
    let stranger = SigningKey::from_bytes(&super::seed(STRANGER_SEED));
    let by_stranger = sign(
        &stranger,
        kid_of(&stranger),
        AGGREGATION_SIGNING_TAG,
        &body(sscc(PALLET), &codes(&[1]), 1, 0, None),
    );
    cases.push(refused(
        "signed by a key not in the trust store",
        &plain,
        &by_stranger,
        "unknown-key",
    ));
    let as_batch_manifest = sign(
        line,
        kid,
        MANIFEST_SIGNING_TAG,
        &body(sscc(PALLET), &codes(&[1]), 1, 0, None),
    );
    cases.push(refused(
        "signed under the batch manifest tag",
        &plain,
        &as_batch_manifest,
        "bad-signature",
    ));
    cases.push(refused(
        "signed by a revocation signer",
        &format!("{plain}revocation_signer = true\n"),
        &good,
        "key-usage",
    ));
    // Certified without the aggregation usage (bit 3), then with it.
    let root = SigningKey::from_bytes(&super::seed(ROOT_SEED));
    let cert = |usage: u64| {
        let b = map(&[
            kv(0, bstr(&line.verifying_key().to_bytes())),
            kv(1, text("packing-line")),
            kv(2, uint(20_454)), // 2026-01-01
            kv(3, uint(21_183)), // 2027-12-31
            kv(4, uint(usage)),
            kv(5, uint(1_767_225_600)),
        ]);
        sign(&root, kid_of(&root), CERTIFICATE_SIGNING_TAG, &b)
    };
    let rooted = |usage: u64| {
        format!(
            "[[root]]\nname = \"root\"\npublic_key = \"{}\"\n[[certificate]]\ndata = \"{}\"\n",
            hex::encode(root.verifying_key().to_bytes()),
            hex::encode(cert(usage))
        )
    };
    cases.push(refused(
        "a key certified for codes only (no aggregation usage)",
        &rooted(1),
        &good,
        "key-usage",
    ));
    let mut certified = ok(
        "a key certified for codes and aggregation",
        &good,
        summary(
            &format!("sscc:{PALLET}"),
            3,
            "packing",
            Some("Plant 1, dock 4"),
            &good,
        ),
    );
    certified["trust_store"] = json!(rooted(1 | 8));
    cases.push(certified);
    let by_root = sign(
        &root,
        kid_of(&root),
        AGGREGATION_SIGNING_TAG,
        &body(sscc(PALLET), &codes(&[1]), 1, 0, None),
    );
    cases.push(refused(
        "signed by the root itself",
        &rooted(9),
        &by_root,
        "root-key",
    ));

    // The document's rules, all correctly signed.
    let rule = |name: &str, b: Vec<u8>, kind: &str| refused(name, &plain, &agg(&b), kind);
    cases.push(rule(
        "a count that disagrees (3 listed, 4 said)",
        body(sscc(PALLET), &codes(&[1, 2, 3]), 4, 0, None),
        "count-mismatch",
    ));
    cases.push(rule(
        "no children",
        body(sscc(PALLET), &[], 0, 0, None),
        "empty-aggregation",
    ));
    cases.push(rule(
        "one code listed twice",
        body(sscc(PALLET), &codes(&[1, 2, 1]), 3, 0, None),
        "duplicate-child",
    ));
    let mut same_serial = code(2);
    let n = same_serial.len();
    same_serial[n - 1] ^= 1; // another signature: other bytes, same unit
    cases.push(rule(
        "two listings of one unit with different bytes (same key and serial)",
        body(
            sscc(PALLET),
            &[code_unit(&code(2)), code_unit(&same_serial)],
            2,
            0,
            None,
        ),
        "duplicate-child",
    ));
    cases.push(rule(
        "a child that is the parent",
        body(code_unit(&code(5)), &codes(&[4, 5]), 2, 0, None),
        "child-is-parent",
    ));
    cases.push(rule(
        "a nested digest listed twice",
        body(
            sscc(PALLET),
            &[unit(3, bstr(&[7; 32])), unit(3, bstr(&[7; 32]))],
            2,
            0,
            None,
        ),
        "duplicate-child",
    ));
    cases.push(rule(
        "an SSCC with a wrong check digit",
        body(sscc("106141411234567890"), &codes(&[1]), 1, 0, None),
        "invalid-sscc",
    ));
    cases.push(rule(
        "an SSCC of 17 digits",
        body(sscc("10614141123456789"), &codes(&[1]), 1, 0, None),
        "invalid-sscc",
    ));
    cases.push(rule(
        "a child code that is not a code",
        body(sscc(PALLET), &[unit(0, bstr(&[1, 2, 3]))], 1, 0, None),
        "bad-child",
    ));
    cases.push(rule(
        "a GS1 child without a serial (AI 21)",
        body(
            sscc(PALLET),
            &[unit(1, text("0109506000134352"))],
            1,
            0,
            None,
        ),
        "bad-child",
    ));
    cases.push(rule(
        "a location with a bidi control",
        body(sscc(PALLET), &codes(&[1]), 1, 0, Some("dock\u{202e}4")),
        "invalid-location",
    ));
    cases.push(rule(
        "an empty location",
        body(sscc(PALLET), &codes(&[1]), 1, 0, Some("")),
        "invalid-location",
    ));
    cases.push(rule(
        "business step 2",
        body(sscc(PALLET), &codes(&[1]), 1, 2, None),
        "invalid-value",
    ));
    cases.push(rule(
        "parent kind 3 (a digest cannot be a parent)",
        body(unit(3, bstr(&[7; 32])), &codes(&[1]), 1, 0, None),
        "invalid-value",
    ));
    cases.push(rule(
        "child kind 2 (an SSCC child is a nested manifest)",
        body(sscc(PALLET), &[sscc(CASE_A)], 1, 0, None),
        "invalid-value",
    ));
    cases.push(rule(
        "a digest of 31 bytes",
        body(sscc(PALLET), &[unit(3, bstr(&[7; 31]))], 1, 0, None),
        "invalid-value",
    ));
    cases.push(rule(
        "a parent that is not an array",
        body(text(PALLET), &codes(&[1]), 1, 0, None),
        "wrong-type",
    ));
    let mut unknown_key = body(sscc(PALLET), &codes(&[1]), 1, 0, None);
    unknown_key[0] += 1;
    unknown_key.extend(kv(6, uint(0)).0);
    unknown_key.extend(uint(0));
    cases.push(rule("an unknown field 6", unknown_key, "invalid-value"));
    let missing_time = map(&[
        kv(0, sscc(PALLET)),
        kv(1, arr(&codes(&[1]))),
        kv(2, uint(1)),
        kv(4, uint(0)),
    ]);
    cases.push(rule("no time", missing_time, "missing-field"));

    // Framing.
    let v2 = {
        let mut b = good.clone();
        b[0] = 2;
        b
    };
    cases.push(refused("version 2", &plain, &v2, "unsupported-version"));
    cases.push(refused(
        "truncated to 60 bytes",
        &plain,
        &good[..60],
        "truncated",
    ));

    // Nested sets: a pallet of two cases.
    let case_a = agg(&body(sscc(CASE_A), &codes(&[10, 11, 12]), 3, 0, None));
    let case_b = agg(&body(sscc(CASE_B), &codes(&[20, 21]), 2, 0, None));
    let pallet_of = |parent: &str, cases: &[&Vec<u8>]| {
        let children: Vec<Vec<u8>> = cases.iter().map(|c| unit(3, bstr(&digest(c)))).collect();
        agg(&body(
            sscc(parent),
            &children,
            children.len() as u64,
            0,
            Some("Plant 1"),
        ))
    };
    let pallet = pallet_of(PALLET, &[&case_a, &case_b]);
    let set = |name: &str, files: &[&Vec<u8>], expect: Value| {
        json!({"name": name, "trust_store": plain,
               "manifests": files.iter().map(hex::encode).collect::<Vec<_>>(), "expect": expect})
    };
    let mut sets = vec![set(
        "a pallet of two cases, given cases first",
        &[&case_b, &case_a, &pallet],
        json!({"ok": {"root_parent": format!("sscc:{PALLET}"), "leaves": [10, 11, 12, 20, 21]}}),
    )];
    sets.push(set(
        "a case missing",
        &[&pallet, &case_a],
        json!({"error": "missing-nested-manifest"}),
    ));
    sets.push(set(
        "two cases without their pallet",
        &[&case_a, &case_b],
        json!({"error": "not-one-tree"}),
    ));
    let case_c = agg(&body(sscc(CASE_B), &codes(&[12, 30]), 2, 0, None));
    let twice = pallet_of(PALLET, &[&case_a, &case_c]);
    sets.push(set(
        "a unit in two cases",
        &[&twice, &case_a, &case_c],
        json!({"error": "duplicate-child"}),
    ));
    let case_d = agg(&body(sscc(PALLET), &codes(&[40]), 1, 0, None));
    let cycle = pallet_of(PALLET, &[&case_a, &case_d]);
    sets.push(set(
        "a case whose parent is the pallet",
        &[&cycle, &case_a, &case_d],
        json!({"error": "aggregation-cycle"}),
    ));

    json!({
        "description": "Aggregation manifests (docs/FORMAT.md §22): single manifests, then nested sets.",
        "format_version": 1,
        "cases": cases,
        "sets": sets,
    })
}
