//! Vectors of docs/FORMAT.md §17-19: line certificates under a root, codes
//! judged under them, batch receipts and trust bundles
//! (tests/vectors/certificates.json and bundles.json).
//!
//! Every document is built here byte by byte (the CBOR helpers of main.rs),
//! and every expected result is written down from how it was built.

use ed25519_dalek::{Signer as _, SigningKey};
use hallmark::{
    BUNDLE_SIGNING_TAG, BatchReceipt, CERTIFICATE_SIGNING_TAG, CODE_SIGNING_TAG, Constraints,
    KeyId, LineCertificate, MANIFEST_SIGNING_TAG, PublicKey, RECEIPT_SIGNING_TAG, Usage,
};
use serde_json::{Value, json};

use super::{TODAY, arr, b32, bstr, kv, map, text, uint};

const ROOT_SEED: &str = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf";
const LINE_SEED: &str = "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf";
const REGISTRY_SEED: &str = "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
const OTHER_LINE_SEED: &str = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f";
const STRANGER_SEED: &str = "3031323334353637383940414243444546474849505152535455565758596061";

/// The issue time of every certificate (2026-01-01T00:00:00Z).
const CERT_ISSUED: u64 = 1_767_225_600;
/// The compromise cut-off T of bundles.json (2026-07-25T17:20:00Z).
const T: u64 = 1_785_000_000;

const CODES: u64 = 1;
const MANIFESTS: u64 = 2;
const REGISTRY: u64 = 4;

fn days(date: &str) -> u64 {
    u64::from(
        date.parse::<hallmark::Date>()
            .unwrap_or_else(|e| panic!("{date}: {e}"))
            .days(),
    )
}

struct Key {
    name: &'static str,
    seed: &'static str,
    raw: SigningKey,
}

impl Key {
    fn new(name: &'static str, seed: &'static str) -> Key {
        Key {
            name,
            seed,
            raw: SigningKey::from_bytes(&super::seed(seed)),
        }
    }
    fn public(&self) -> [u8; 32] {
        self.raw.verifying_key().to_bytes()
    }
    fn public_hex(&self) -> String {
        hex::encode(self.public())
    }
    fn kid(&self) -> [u8; 4] {
        KeyId::derive(&self.public()).to_bytes()
    }
    fn json(&self) -> Value {
        json!({
            "name": self.name,
            "seed": self.seed,
            "public_key": self.public_hex(),
            "kid": hex::encode(self.kid()),
        })
    }
    /// A signed document: `0x01 || kid || body || signature over tag || ...`.
    fn doc(&self, tag: &[u8], kid: [u8; 4], body: &[u8]) -> Vec<u8> {
        let signed = [&[1u8][..], &kid, body].concat();
        let sig = self.raw.sign(&[tag, &signed].concat());
        [signed, sig.to_bytes().to_vec()].concat()
    }
    fn cert(&self, body: &[u8]) -> Vec<u8> {
        self.doc(CERTIFICATE_SIGNING_TAG, self.kid(), body)
    }
    fn code(&self, serial: u64, part: &str, lot: &str, date: &str) -> String {
        let payload = map(&[
            kv(0, uint(serial)),
            kv(1, text(part)),
            kv(2, text(lot)),
            kv(3, uint(days(date))),
        ]);
        b32(&self.doc(CODE_SIGNING_TAG, self.kid(), &payload))
    }
}

/// The fields of a certificate, as pairs in key order (so a case can drop,
/// replace or add one).
struct CertFields {
    pairs: Vec<(u64, Vec<u8>)>,
}

impl CertFields {
    fn new(subject: &Key, name: &str, usage: u64) -> CertFields {
        CertFields {
            pairs: vec![
                (0, bstr(&subject.public())),
                (1, text(name)),
                (2, uint(days("2026-01-01"))),
                (3, uint(days("2027-12-31"))),
                (4, uint(usage)),
                (5, uint(CERT_ISSUED)),
            ],
        }
    }
    fn set(mut self, key: u64, value: Vec<u8>) -> CertFields {
        self.pairs.retain(|(k, _)| *k != key);
        self.pairs.push((key, value));
        self.pairs.sort_by_key(|(k, _)| *k);
        self
    }
    fn without(mut self, key: u64) -> CertFields {
        self.pairs.retain(|(k, _)| *k != key);
        self
    }
    fn body(&self) -> Vec<u8> {
        let pairs: Vec<_> = self.pairs.iter().map(|(k, v)| kv(*k, v.clone())).collect();
        map(&pairs)
    }
}

fn texts(items: &[&str]) -> Vec<u8> {
    arr(&items.iter().map(|s| text(s)).collect::<Vec<_>>())
}

fn root_toml(root: &Key, extra: &str) -> String {
    format!(
        "[[root]]\nname = \"vector-root\"\npublic_key = \"{}\"\nvalid_from = 2025-01-01\nvalid_until = 2030-12-31\n{extra}",
        root.public_hex()
    )
}

fn expect_error(kind: &str) -> Value {
    json!({"verdict": "error", "error": kind})
}

fn case(name: &str, fields: Value) -> Value {
    let mut v = json!({"name": name});
    if let (Some(o), Value::Object(f)) = (v.as_object_mut(), fields) {
        o.extend(f);
    }
    v
}

fn file(description: &str, keys: &[&Key], root: &Key, cases: Vec<Value>) -> Value {
    json!({
        "description": description,
        "format_version": 1,
        "root": root.json(),
        "keys": keys.iter().map(|k| k.json()).collect::<Vec<_>>(),
        "today": TODAY,
        "trust_store": root_toml(root, ""),
        "cases": cases,
    })
}

/// tests/vectors/certificates.json.
pub(crate) fn certificates_file() -> Value {
    let root = Key::new("vector-root", ROOT_SEED);
    let line = Key::new("vector-line", LINE_SEED);
    let registry = Key::new("vector-registry", REGISTRY_SEED);
    let stranger = Key::new("stranger", STRANGER_SEED);
    let h = |b: &[u8]| hex::encode(b);
    let accepted = |name: &str, certs: &[Vec<u8>]| {
        case(
            name,
            json!({"certificates": certs.iter().map(|c| h(c)).collect::<Vec<_>>(),
                   "expect": {"verdict": "accepted"}}),
        )
    };
    let refused = |name: &str, certs: &[Vec<u8>], kind: &str| {
        case(
            name,
            json!({"certificates": certs.iter().map(|c| h(c)).collect::<Vec<_>>(),
                   "expect": expect_error(kind)}),
        )
    };
    let plain = CertFields::new(&line, "vector-line", CODES | MANIFESTS);
    let good = root.cert(&plain.body());
    // The library's encoder writes the same bytes (the vectors are built by hand).
    let typed = LineCertificate {
        subject: PublicKey::from_bytes(&line.public()).unwrap_or_else(|e| panic!("{e}")),
        name: "vector-line".into(),
        valid_from: "2026-01-01".parse().unwrap_or_else(|e| panic!("{e}")),
        valid_until: "2027-12-31".parse().unwrap_or_else(|e| panic!("{e}")),
        usage: Usage::CODES.union(Usage::MANIFESTS),
        issued: CERT_ISSUED,
        constraints: Constraints::default(),
    };
    let unsigned = typed
        .to_unsigned(KeyId::from_bytes(root.kid()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        unsigned.signing_message(),
        [CERTIFICATE_SIGNING_TAG, &good[..good.len() - 64]].concat()
    );

    let scoped = CertFields::new(&line, "vector-line", CODES | MANIFESTS)
        .set(6, texts(&["DRN-*"]))
        .set(7, texts(&["L231212-*", "L9"]))
        .set(
            8,
            arr(&[arr(&[uint(1), uint(1000)]), arr(&[uint(5000), uint(5000)])]),
        )
        .set(9, texts(&["0614141"]))
        .set(10, uint(1001));
    let scoped_cert = root.cert(&scoped.body());
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let by_line = line.cert(&CertFields::new(&registry, "third", CODES).body());
    let by_stranger = stranger.cert(&CertFields::new(&line, "x", CODES).body());
    let of_root = root.cert(&CertFields::new(&root, "root-itself", CODES).body());
    let wide = |from: &str, until: &str| {
        root.cert(
            &CertFields::new(&line, "vector-line", CODES)
                .set(2, uint(days(from)))
                .set(3, uint(days(until)))
                .body(),
        )
    };
    let other_window = root.cert(
        &CertFields::new(&line, "vector-line", CODES)
            .set(3, uint(days("2028-06-30")))
            .body(),
    );
    let raw_body = |body: Vec<u8>| root.cert(&body);
    let with = |key: u64, value: Vec<u8>| raw_body(plain_fields(&line).set(key, value).body());
    let mut oversize = good.clone();
    oversize.splice(5..5, vec![0u8; 16_384 - good.len() + 1]);
    assert_eq!(oversize.len(), 16_385);
    // Map head of 6 pairs + pairs; a duplicate key 5 appended (7 pairs).
    let duplicate = {
        let mut b = plain.body();
        b[0] = 0xa7;
        b.extend_from_slice(&[0x05, 0x00]);
        raw_body(b)
    };
    let unsorted = {
        let p = &plain.pairs;
        let mut pairs: Vec<_> = p.iter().map(|(k, v)| kv(*k, v.clone())).collect();
        pairs.swap(0, 1);
        raw_body(map(&pairs))
    };
    let long_key = {
        // Key 1 written as 0x18 0x01: not the shortest form.
        let mut pairs: Vec<_> = plain.pairs.iter().map(|(k, v)| kv(*k, v.clone())).collect();
        pairs[1].0 = vec![0x18, 0x01];
        raw_body(map(&pairs))
    };
    let sixty_five: Vec<String> = (0..65).map(|i| format!("P{i}")).collect();
    let sixty_five: Vec<&str> = sixty_five.iter().map(String::as_str).collect();
    let weak = [&[1u8][..], &[0u8; 31]].concat(); // the identity point

    let mut cases = vec![
        accepted(
            "a certificate without constraints",
            std::slice::from_ref(&good),
        ),
        accepted(
            "every constraint kind at once",
            std::slice::from_ref(&scoped_cert),
        ),
        accepted("part patterns only", &[with(6, texts(&["DRN-2980", "X*"]))]),
        accepted("lot patterns only", &[with(7, texts(&["L*"]))]),
        accepted(
            "serial ranges only, up to 2^64 - 1",
            &[with(8, arr(&[arr(&[uint(0), uint(u64::MAX)])]))],
        ),
        accepted(
            "GS1 prefixes of 4 and 12 digits",
            &[with(9, texts(&["0614", "061414100000"]))],
        ),
        accepted("max_count only", &[with(10, uint(1))]),
        accepted(
            "the same certificate twice is one key",
            &[good.clone(), good.clone()],
        ),
        accepted(
            "a window equal to the root's",
            &[wide("2025-01-01", "2030-12-31")],
        ),
        accepted(
            "usage with an unknown bit besides codes (kept, grants nothing)",
            &[with(4, uint(CODES | 1 << 20))],
        ),
        refused(
            "a chain of three: a certificate signed by a certified key",
            &[good.clone(), by_line.clone()],
            "chain-too-long",
        ),
        case(
            "a certificate signed by a plain [[key]]",
            json!({
                "trust_store": root_toml(&root, &format!(
                    "[[key]]\nname = \"plain\"\npublic_key = \"{}\"\n", line.public_hex())),
                "certificates": [h(&by_line)],
                "expect": expect_error("chain-too-long"),
            }),
        ),
        refused(
            "signed by a key the trust store does not have",
            &[by_stranger],
            "unknown-root",
        ),
        refused("a root certifying itself", &[of_root], "subject-is-root"),
        refused(
            "a window starting before the root's",
            &[wide("2024-12-31", "2026-12-31")],
            "window-outside-root",
        ),
        refused(
            "a window ending after the root's",
            &[wide("2026-01-01", "2031-01-01")],
            "window-outside-root",
        ),
        refused(
            "two different certificates for one key",
            &[good.clone(), other_window],
            "certificate-conflict",
        ),
        case(
            "a certificate for a key the trust store lists as a [[key]]",
            json!({
                "trust_store": root_toml(&root, &format!(
                    "[[key]]\nname = \"plain\"\npublic_key = \"{}\"\n", line.public_hex())),
                "certificates": [h(&good)],
                "expect": expect_error("certificate-conflict"),
            }),
        ),
        refused("a flipped signature bit", &[flipped], "bad-signature"),
        refused("longer than 16 KiB", &[oversize], "too-long"),
        refused("shorter than 70 bytes", &[good[..69].to_vec()], "truncated"),
        refused(
            "version byte 2",
            &[[&[2u8][..], &good[1..]].concat()],
            "unsupported-version",
        ),
        refused("an unknown key 11", &[with(11, uint(0))], "invalid-value"),
        refused("a key twice", &[duplicate], "duplicate-key"),
        refused("keys out of order", &[unsorted], "unsorted-keys"),
        refused(
            "a key not in shortest form",
            &[long_key],
            "non-canonical-cbor",
        ),
        refused(
            "bytes after the map",
            &[raw_body([plain.body(), vec![0]].concat())],
            "trailing-bytes",
        ),
        refused("not a map", &[raw_body(arr(&[]))], "not-a-map"),
        refused(
            "a text map key",
            &[raw_body(map(&[(text("a"), uint(0))]))],
            "key-not-unsigned",
        ),
        refused(
            "no subject",
            &[raw_body(plain_fields(&line).without(0).body())],
            "missing-field",
        ),
        refused(
            "no issued",
            &[raw_body(plain_fields(&line).without(5).body())],
            "missing-field",
        ),
        refused(
            "a 31-byte subject",
            &[with(0, bstr(&[7; 31]))],
            "invalid-value",
        ),
        refused(
            "a weak subject (the identity)",
            &[with(0, bstr(&weak))],
            "invalid-value",
        ),
        refused("a text subject", &[with(0, text("key"))], "wrong-type"),
        refused(
            "a name with a space",
            &[with(1, text("line 3"))],
            "invalid-value",
        ),
        refused("a name that is a number", &[with(1, uint(3))], "wrong-type"),
        refused(
            "valid_until before valid_from",
            &[with(3, uint(days("2025-12-31")))],
            "invalid-value",
        ),
        refused(
            "valid_until after 9999-12-31",
            &[with(3, uint(2_932_897))],
            "invalid-value",
        ),
        refused("usage 0", &[with(4, uint(0))], "invalid-value"),
        refused(
            "usage of unknown bits only",
            &[with(4, uint(8))],
            "invalid-value",
        ),
        refused("an empty parts list", &[with(6, arr(&[]))], "invalid-value"),
        refused("the pattern *", &[with(6, texts(&["*"]))], "invalid-value"),
        refused(
            "a * inside a pattern",
            &[with(7, texts(&["A*B"]))],
            "invalid-value",
        ),
        refused(
            "a pattern that is not text",
            &[with(7, arr(&[uint(1)]))],
            "wrong-type",
        ),
        refused(
            "65 part patterns",
            &[with(6, texts(&sixty_five))],
            "invalid-value",
        ),
        refused(
            "a serial range with first > last",
            &[with(8, arr(&[arr(&[uint(10), uint(9)])]))],
            "invalid-value",
        ),
        refused(
            "a serial range of one number",
            &[with(8, arr(&[arr(&[uint(10)])]))],
            "wrong-type",
        ),
        refused(
            "a 3-digit GS1 prefix",
            &[with(9, texts(&["061"]))],
            "invalid-value",
        ),
        refused(
            "a GS1 prefix with a letter",
            &[with(9, texts(&["06141A"]))],
            "invalid-value",
        ),
        refused("max_count 0", &[with(10, uint(0))], "invalid-value"),
        case(
            "a [[certificate]] in the trust store file, above its root",
            json!({
                "trust_store": format!("[[certificate]]\ndata = \"{}\"\n\n{}", h(&good), root_toml(&root, "")),
                "certificates": [],
                "expect": {"verdict": "accepted"},
            }),
        ),
        case(
            "a [[certificate]] without its root",
            json!({
                "trust_store": format!("[[certificate]]\ndata = \"{}\"\n", h(&good)),
                "expect": expect_error("unknown-root"),
            }),
        ),
        case(
            "a [[root]] may not be a revocation signer",
            json!({
                "trust_store": root_toml(&root, "revocation_signer = true\n"),
                "expect": expect_error("trust-store"),
            }),
        ),
        case(
            "[[certificate]] data that is not hex",
            json!({
                "trust_store": format!("{}[[certificate]]\ndata = \"0x01\"\n", root_toml(&root, "")),
                "expect": expect_error("invalid-field"),
            }),
        ),
    ];

    // Codes judged under certified keys.
    let code_case =
        |name: &str, certs: &[&Vec<u8>], input: &str, verdict: &str, kind: Option<&str>| {
            let mut expect = json!({"verdict": verdict});
            if let Some(k) = kind {
                expect["error"] = json!(k);
            }
            case(
                name,
                json!({"certificates": certs.iter().map(|c| h(c)).collect::<Vec<_>>(),
                   "input": input, "expect": expect}),
            )
        };
    let manifests_only = root.cert(&CertFields::new(&line, "vector-line", MANIFESTS).body());
    let forged = {
        let real = line.code(7, "DRN-2980", "L231212-01", "2026-06-01");
        let other = line.code(8, "DRN-2980", "L231212-01", "2026-06-01");
        // The first code's text with the second's signature (the last 64
        // bytes): re-encode from bytes.
        let a = base32::decode(base32::Alphabet::Crockford, &real).unwrap_or_default();
        let b = base32::decode(base32::Alphabet::Crockford, &other).unwrap_or_default();
        let n = a.len();
        b32(&[&a[..n - 64], &b[b.len() - 64..]].concat())
    };
    cases.extend([
        code_case(
            "a code inside every constraint",
            &[&scoped_cert],
            &line.code(7, "DRN-2980", "L231212-01", "2026-06-01"),
            "genuine",
            None,
        ),
        code_case(
            "the last serial of the second range, the second lot pattern",
            &[&scoped_cert],
            &line.code(5000, "DRN-1", "L9", "2027-12-31"),
            "genuine",
            None,
        ),
        code_case(
            "a part outside the part patterns",
            &[&scoped_cert],
            &line.code(7, "DRX-2980", "L231212-01", "2026-06-01"),
            "out-of-scope",
            Some("part-out-of-scope"),
        ),
        code_case(
            "a lot outside the lot patterns",
            &[&scoped_cert],
            &line.code(7, "DRN-2980", "L9-01", "2026-06-01"),
            "out-of-scope",
            Some("lot-out-of-scope"),
        ),
        code_case(
            "a serial between the ranges",
            &[&scoped_cert],
            &line.code(1001, "DRN-2980", "L231212-01", "2026-06-01"),
            "out-of-scope",
            Some("serial-out-of-scope"),
        ),
        code_case(
            "part, lot and serial outside: part is reported first",
            &[&scoped_cert],
            &line.code(0, "X", "X", "2026-06-01"),
            "out-of-scope",
            Some("part-out-of-scope"),
        ),
        code_case(
            "made the day before the window: key-not-valid, before the constraints",
            &[&scoped_cert],
            &line.code(0, "X", "X", "2025-12-31"),
            "key-not-valid",
            Some("key-not-valid"),
        ),
        code_case(
            "made the day after the window",
            &[&good],
            &line.code(7, "DRN-2980", "L1", "2028-01-01"),
            "key-not-valid",
            Some("key-not-valid"),
        ),
        code_case(
            "a code signed by the root",
            &[&good],
            &root.code(7, "DRN-2980", "L1", "2026-06-01"),
            "key-not-valid",
            Some("root-key"),
        ),
        code_case(
            "a code by a key certified for manifests only",
            &[&manifests_only],
            &line.code(7, "DRN-2980", "L1", "2026-06-01"),
            "key-not-valid",
            Some("key-usage"),
        ),
        code_case(
            "a forgery under a certified key, out of scope too: bad signature first",
            &[&scoped_cert],
            &forged,
            "bad-signature",
            Some("bad-signature"),
        ),
        code_case(
            "a code of a key whose certificate was not given",
            &[],
            &line.code(7, "DRN-2980", "L1", "2026-06-01"),
            "unknown-key",
            Some("unknown-key"),
        ),
    ]);

    // Receipts.
    let reg_cert = root.cert(&CertFields::new(&registry, "vector-registry", REGISTRY).body());
    let receipt_body = |digest: &[u8], registered: u64| {
        map(&[
            kv(0, bstr(digest)),
            kv(1, bstr(&line.kid())),
            kv(2, uint(registered)),
            kv(3, uint(1)),
            kv(4, uint(100)),
        ])
    };
    let digest = BatchReceipt::digest(b"a manifest");
    let receipt_by = |k: &Key, body: &[u8]| k.doc(RECEIPT_SIGNING_TAG, k.kid(), body);
    let good_receipt = receipt_by(&registry, &receipt_body(&digest, T));
    let mut bad_receipt = good_receipt.clone();
    let n = bad_receipt.len();
    bad_receipt[n - 64] ^= 1;
    let receipt_case = |name: &str, certs: &[&Vec<u8>], receipt: &[u8], expect: Value| {
        case(
            name,
            json!({"certificates": certs.iter().map(|c| h(c)).collect::<Vec<_>>(),
                   "receipt": h(receipt), "expect": expect}),
        )
    };
    cases.extend([
        receipt_case(
            "a receipt by a key certified for registry",
            &[&reg_cert],
            &good_receipt,
            json!({"verdict": "accepted", "registered": T}),
        ),
        case(
            "a receipt by a [[key]] marked revocation_signer",
            json!({
                "trust_store": root_toml(&root, &format!(
                    "[[key]]\nname = \"rev\"\npublic_key = \"{}\"\nrevocation_signer = true\n",
                    registry.public_hex())),
                "receipt": h(&good_receipt),
                "expect": {"verdict": "accepted", "registered": T},
            }),
        ),
        receipt_case(
            "a receipt by a key certified for codes and manifests",
            &[&good],
            &receipt_by(&line, &receipt_body(&digest, T)),
            expect_error("key-usage"),
        ),
        receipt_case(
            "a receipt by the root",
            &[],
            &receipt_by(&root, &receipt_body(&digest, T)),
            expect_error("root-key"),
        ),
        receipt_case(
            "a receipt with a flipped signature bit",
            &[&reg_cert],
            &bad_receipt,
            expect_error("bad-signature"),
        ),
        receipt_case(
            "registered the day after the signer's window",
            &[&reg_cert],
            &receipt_by(
                &registry,
                &receipt_body(&digest, days("2028-01-01") * 86_400),
            ),
            expect_error("key-not-valid"),
        ),
        receipt_case(
            "registered the last second of the signer's window",
            &[&reg_cert],
            &receipt_by(
                &registry,
                &receipt_body(&digest, days("2028-01-01") * 86_400 - 1),
            ),
            json!({"verdict": "accepted", "registered": days("2028-01-01") * 86_400 - 1}),
        ),
        receipt_case(
            "a 31-byte digest",
            &[&reg_cert],
            &receipt_by(&registry, &receipt_body(&digest[..31], T)),
            expect_error("wrong-type"),
        ),
        receipt_case(
            "no serial count",
            &[&reg_cert],
            &receipt_by(
                &registry,
                &map(&[
                    kv(0, bstr(&digest)),
                    kv(1, bstr(&line.kid())),
                    kv(2, uint(T)),
                    kv(3, uint(1)),
                ]),
            ),
            expect_error("missing-field"),
        ),
        receipt_case(
            "an unknown key 5",
            &[&reg_cert],
            &receipt_by(
                &registry,
                &[&[0xa6][..], &receipt_body(&digest, T)[1..], &[0x05, 0x00]].concat(),
            ),
            expect_error("invalid-value"),
        ),
        receipt_case(
            "longer than 1024 bytes",
            &[&reg_cert],
            &[good_receipt.clone(), vec![0; 1025 - good_receipt.len()]].concat(),
            expect_error("too-long"),
        ),
    ]);
    file(
        "Line certificates under a root (FORMAT.md §17), codes judged under them, batch receipts (§18).",
        &[&line, &registry, &stranger],
        &root,
        cases,
    )
}

fn plain_fields(line: &Key) -> CertFields {
    CertFields::new(line, "vector-line", CODES | MANIFESTS)
}

struct Batch {
    start: u64,
    count: u64,
    part: &'static str,
    lot: &'static str,
    date: &'static str,
    opaque: bool,
}

fn batch(start: u64, count: u64) -> Batch {
    Batch {
        start,
        count,
        part: "DRN-2980",
        lot: "L1",
        date: "2026-06-01",
        opaque: false,
    }
}

fn manifest(line: &Key, batches: &[Batch]) -> Vec<u8> {
    let items: Vec<Vec<u8>> = batches
        .iter()
        .map(|b| {
            map(&[
                kv(0, uint(b.start)),
                kv(1, uint(b.count)),
                kv(2, text(b.part)),
                kv(3, text(b.lot)),
                kv(4, uint(days(b.date))),
                kv(6, vec![if b.opaque { 0xf5 } else { 0xf4 }]),
                kv(7, uint(1_780_000_000)),
            ])
        })
        .collect();
    let body = map(&[kv(0, uint(1_780_000_000)), kv(1, arr(&items))]);
    line.doc(MANIFEST_SIGNING_TAG, line.kid(), &body)
}

fn receipt(registry: &Key, line: &Key, manifest: &[u8], batches: &[Batch], at: u64) -> Vec<u8> {
    let body = map(&[
        kv(0, bstr(&BatchReceipt::digest(manifest))),
        kv(1, bstr(&line.kid())),
        kv(2, uint(at)),
        kv(3, uint(batches.len() as u64)),
        kv(4, uint(batches.iter().map(|b| b.count).sum())),
    ]);
    registry.doc(RECEIPT_SIGNING_TAG, registry.kid(), &body)
}

struct BundleParts {
    sequence: u64,
    issued: u64,
    certs: Vec<Vec<u8>>,
    batches: Vec<(Vec<u8>, Vec<u8>)>,
    compromised: Vec<([u8; 4], u64, u64)>,
}

impl BundleParts {
    fn body(&self) -> Vec<u8> {
        let certs: Vec<_> = self.certs.iter().map(|c| bstr(c)).collect();
        let batches: Vec<_> = self
            .batches
            .iter()
            .map(|(m, r)| arr(&[bstr(m), bstr(r)]))
            .collect();
        let empty = arr(&[]);
        let revocations = map(&[
            kv(2, empty.clone()),
            kv(3, empty.clone()),
            kv(4, empty.clone()),
            kv(5, empty),
        ]);
        let compromised: Vec<_> = self
            .compromised
            .iter()
            .map(|(kid, at, date)| arr(&[bstr(kid), uint(*at), uint(*date)]))
            .collect();
        map(&[
            kv(0, uint(self.sequence)),
            kv(1, uint(self.issued)),
            kv(2, arr(&certs)),
            kv(3, arr(&batches)),
            kv(4, revocations),
            kv(5, arr(&compromised)),
        ])
    }
}

/// tests/vectors/bundles.json.
pub(crate) fn bundles_file() -> Value {
    let root = Key::new("vector-root", ROOT_SEED);
    let line = Key::new("vector-line", LINE_SEED);
    let registry = Key::new("vector-registry", REGISTRY_SEED);
    let other = Key::new("vector-other-line", OTHER_LINE_SEED);
    let h = |b: &[u8]| hex::encode(b);
    let line_cert = root.cert(&plain_fields(&line).body());
    let other_cert =
        root.cert(&CertFields::new(&other, "vector-other-line", CODES | MANIFESTS).body());
    let reg_cert = root.cert(&CertFields::new(&registry, "vector-registry", REGISTRY).body());
    let pair = |batches: Vec<Batch>, at: u64| {
        let m = manifest(&line, &batches);
        let r = receipt(&registry, &line, &m, &batches, at);
        (m, r)
    };
    let lot2 = Batch {
        lot: "L2",
        ..batch(50, 100)
    };
    let opaque = Batch {
        opaque: true,
        ..batch(1000, 100)
    };
    let parts = || BundleParts {
        sequence: 7,
        issued: T + 86_400,
        certs: vec![line_cert.clone(), other_cert.clone(), reg_cert.clone()],
        batches: vec![
            pair(vec![batch(1, 100)], T - 2000),
            pair(vec![Batch { ..lot2 }], T - 1000),
            pair(vec![batch(200, 10)], T),
            pair(vec![batch(300, 10)], T + 1000),
            pair(vec![Batch { ..opaque }], T - 3000),
        ],
        compromised: vec![(line.kid(), T, days("2026-07-26"))],
    };
    let signed = |p: &BundleParts, k: &Key| k.doc(BUNDLE_SIGNING_TAG, k.kid(), &p.body());
    let good = signed(&parts(), &registry);
    let judged = |name: &str, input: &str, verdict: &str, reason: Option<&str>| {
        let mut expect = json!({"verdict": verdict});
        if let Some(r) = reason {
            expect[if verdict == "revoked" {
                "reason"
            } else {
                "error"
            }] = json!(r);
        }
        case(
            name,
            json!({"bundle": h(&good), "input": input, "expect": expect}),
        )
    };
    let refused = |name: &str, bundle: &[u8], kind: &str| {
        case(
            name,
            json!({"bundle": h(bundle), "expect": expect_error(kind)}),
        )
    };
    let code = |serial, part, lot, date| line.code(serial, part, lot, date);
    let d = "2026-06-01";
    let mut sig_flip = good.clone();
    let n = sig_flip.len();
    sig_flip[n - 1] ^= 1;
    // Byte 7 is the sequence (map head at 5, key 0 at 6, value 7 at 7).
    let mut seq_flip = good.clone();
    assert_eq!(seq_flip[7], 7);
    seq_flip[7] = 6;
    let mut swapped = parts();
    let r1 = swapped.batches[1].1.clone();
    swapped.batches[0].1 = r1;
    let mut without_signer = parts();
    without_signer.certs.truncate(2);
    let mut seq_max = parts();
    seq_max.sequence = (1 << 53) - 1;
    let mut seq_over = parts();
    seq_over.sequence = 1 << 53;
    let mut late = parts();
    late.issued = days("2028-01-01") * 86_400;
    let mut twice = parts();
    twice
        .compromised
        .push((line.kid(), T + 5, days("2026-07-27")));
    let mut wrong_receipt_signer = parts();
    {
        let (m, _) = &wrong_receipt_signer.batches[0];
        let r = receipt(&line, &line, m, &[batch(1, 100)], T - 2000);
        wrong_receipt_signer.batches[0].1 = r;
    }
    let cases = vec![
        case(
            "a bundle with a compromise",
            json!({"bundle": h(&good), "expect": {"verdict": "accepted", "sequence": 7}}),
        ),
        judged(
            "in a batch receipted before T",
            &code(1, "DRN-2980", "L1", d),
            "genuine",
            None,
        ),
        judged(
            "the last serial of that batch",
            &code(100, "DRN-2980", "L1", d),
            "genuine",
            None,
        ),
        judged(
            "in the second of two overlapping batches (its lot)",
            &code(60, "DRN-2980", "L2", d),
            "genuine",
            None,
        ),
        judged(
            "the thief: a registered serial with another part",
            &code(5, "DRN-9999", "L1", d),
            "revoked",
            Some("key-compromised"),
        ),
        judged(
            "the thief: a registered serial with another lot",
            &code(5, "DRN-2980", "L7", d),
            "revoked",
            Some("key-compromised"),
        ),
        judged(
            "the thief: a registered serial back-dated",
            &code(5, "DRN-2980", "L1", "2026-01-02"),
            "revoked",
            Some("key-compromised"),
        ),
        judged(
            "a serial outside every batch",
            &code(150, "DRN-2980", "L1", d),
            "revoked",
            Some("key-compromised"),
        ),
        judged(
            "a serial of a batch receipted exactly at T",
            &code(200, "DRN-2980", "L1", d),
            "revoked",
            Some("key-compromised"),
        ),
        judged(
            "a serial of a batch receipted after T",
            &code(305, "DRN-2980", "L1", d),
            "revoked",
            Some("key-compromised"),
        ),
        judged(
            "a counter of a legacy opaque batch receipted before T never matches",
            &code(1005, "DRN-2980", "L1", d),
            "revoked",
            Some("key-compromised"),
        ),
        judged(
            "a key not compromised is unaffected",
            &other.code(150, "DRN-2980", "L1", d),
            "genuine",
            None,
        ),
        judged(
            "a code of a bundle-certified key made after its window",
            &other.code(1, "DRN-2980", "L1", "2028-01-01"),
            "key-not-valid",
            Some("key-not-valid"),
        ),
        case(
            "the signer's certificate may come from the trust store instead",
            json!({
                "trust_store": format!("{}[[certificate]]\ndata = \"{}\"\n", root_toml(&root, ""), h(&reg_cert)),
                "bundle": h(&signed(&without_signer, &registry)),
                "expect": {"verdict": "accepted", "sequence": 7},
            }),
        ),
        case(
            "sequence 2^53 - 1",
            json!({"bundle": h(&signed(&seq_max, &registry)),
                   "expect": {"verdict": "accepted", "sequence": (1u64 << 53) - 1}}),
        ),
        refused("a flipped signature bit", &sig_flip, "bad-signature"),
        refused("an altered sequence byte", &seq_flip, "bad-signature"),
        refused(
            "signed by a key certified for codes and manifests",
            &signed(&parts(), &line),
            "key-usage",
        ),
        refused("signed by the root", &signed(&parts(), &root), "root-key"),
        refused(
            "the signer's certificate neither in the bundle nor the trust store",
            &signed(&without_signer, &registry),
            "unknown-key",
        ),
        refused(
            "a receipt for another manifest",
            &signed(&swapped, &registry),
            "receipt-mismatch",
        ),
        refused(
            "a receipt signed by a key without the registry usage",
            &signed(&wrong_receipt_signer, &registry),
            "key-usage",
        ),
        refused(
            "issued the day after the signer's window",
            &signed(&late, &registry),
            "key-not-valid",
        ),
        refused(
            "sequence 2^53",
            &signed(&seq_over, &registry),
            "sequence-out-of-range",
        ),
        refused(
            "a key listed compromised twice",
            &signed(&twice, &registry),
            "invalid-value",
        ),
        refused(
            "an unknown key 6",
            &registry.doc(
                BUNDLE_SIGNING_TAG,
                registry.kid(),
                &[&[0xa7][..], &parts().body()[1..], &[0x06, 0x00]].concat(),
            ),
            "invalid-value",
        ),
        refused(
            "version byte 2",
            &[&[2u8][..], &good[1..]].concat(),
            "unsupported-version",
        ),
    ];
    file(
        "Trust bundles (FORMAT.md §19): certificates, manifests with receipts, compromised keys; codes judged under a bundle.",
        &[&line, &other, &registry],
        &root,
        cases,
    )
}
