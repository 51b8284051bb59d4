//! Writes the test vectors in tests/vectors/ from a fixed test key.
//!
//! Run once when the format gains cases: `cargo run -p hallmark-gen-vectors -- tests/vectors`.
//! The vectors are the format's contract: a committed vector is never edited to
//! make a test pass. Expected results here are written down from how each input
//! was built, never by asking the verifier.

// A developer tool, not product code: failing loudly is what it should do.
#![allow(clippy::panic, clippy::indexing_slicing, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer as _, SigningKey};
use hallmark::{CODE_SIGNING_TAG, KeyId};
use hallmark_issuer::SecretKey;
use serde_json::{Value, json};

mod aggregation;
mod certs;

/// RFC 8032 test 1 secret key.
const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
/// A second key that no vector trust store contains.
const OTHER_SEED: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
const TODAY: &str = "2026-11-23";
const TODAY_DAYS: u64 = 20_780;
const SAMPLE_DATE: u64 = 19_703; // 2023-12-12
const URL_PREFIX: &str = "HTTPS://HM.EXAMPLE.COM/C/";

fn seed(hex_seed: &str) -> [u8; 32] {
    let mut s = [0u8; 32];
    hex::decode_to_slice(hex_seed, &mut s).unwrap_or_else(|e| panic!("seed: {e}"));
    s
}

// --- CBOR by hand, so that non-deterministic forms can be built. ---

fn head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=0xff => vec![m | 24, n as u8],
        0x100..=0xffff => [vec![m | 25], (n as u16).to_be_bytes().to_vec()].concat(),
        0x1_0000..=0xffff_ffff => [vec![m | 26], (n as u32).to_be_bytes().to_vec()].concat(),
        _ => [vec![m | 27], n.to_be_bytes().to_vec()].concat(),
    }
}
fn uint(n: u64) -> Vec<u8> {
    head(0, n)
}
fn text(s: &str) -> Vec<u8> {
    [head(3, s.len() as u64), s.as_bytes().to_vec()].concat()
}
fn bstr(b: &[u8]) -> Vec<u8> {
    [head(2, b.len() as u64), b.to_vec()].concat()
}
fn map(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = head(5, pairs.len() as u64);
    for (k, v) in pairs {
        out.extend_from_slice(k);
        out.extend_from_slice(v);
    }
    out
}
fn kv(k: u64, v: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
    (uint(k), v)
}

/// The sample fields, in order.
fn sample_pairs(serial: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    vec![
        kv(0, uint(serial)),
        kv(1, text("DRN-2980")),
        kv(2, text("L231212-01")),
        kv(3, uint(SAMPLE_DATE)),
    ]
}

struct Signer {
    key: SecretKey,
    /// The same key, for signing bytes the issuer's typed API refuses to frame
    /// (other version bytes, other key ids, non-canonical payloads).
    raw: SigningKey,
}

impl Signer {
    fn new(name: &str, hex_seed: &str) -> Signer {
        let seed = seed(hex_seed);
        Signer {
            key: SecretKey::from_seed(name, &seed).unwrap_or_else(|e| panic!("{e}")),
            raw: SigningKey::from_bytes(&seed),
        }
    }
}

impl Signer {
    fn kid(&self) -> [u8; 4] {
        self.key.kid().to_bytes()
    }
    /// A code with any version byte, kid and payload bytes, correctly signed.
    fn raw(&self, version: u8, kid: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let signed = [&[version][..], &kid, payload].concat();
        let sig = self.raw.sign(&[CODE_SIGNING_TAG, &signed].concat());
        [signed, sig.to_bytes().to_vec()].concat()
    }
    fn code(&self, payload: &[u8]) -> Vec<u8> {
        self.raw(1, self.kid(), payload)
    }
}

fn b32(bytes: &[u8]) -> String {
    base32::encode(base32::Alphabet::Crockford, bytes)
}

fn date(days: u64) -> String {
    hallmark::Date::from_days(days).map_or_else(|| "invalid".into(), |d| d.to_string())
}

fn genuine(
    name: &str,
    input: &str,
    code: &[u8],
    payload_cbor: &[u8],
    expect_payload: Value,
) -> Value {
    json!({
        "name": name,
        "input": input,
        "bytes": hex::encode(code),
        "payload_cbor": hex::encode(payload_cbor),
        "expect": {"verdict": "genuine", "canonical": b32(code), "payload": expect_payload},
    })
}

fn payload_json(
    serial: u64,
    part: &str,
    lot: &str,
    d: u64,
    expiry: Option<u64>,
    ext: &[(u64, Vec<u8>)],
) -> Value {
    json!({
        "serial": serial, "part": part, "lot": lot, "date": date(d),
        "expiry": expiry.map(date),
        "extensions": ext.iter().map(|(k, v)| json!({"key": k, "cbor": hex::encode(v)})).collect::<Vec<_>>(),
    })
}

fn bad(name: &str, input: &str, verdict: &str, error: &str) -> Value {
    json!({"name": name, "input": input, "expect": {"verdict": verdict, "error": error}})
}

fn trust_toml(key: &SecretKey, extra: &str) -> String {
    format!(
        "[[key]]\nname = \"vector-key\"\npublic_key = \"{}\"\n{extra}",
        key.public_key().to_hex()
    )
}

fn file(description: &str, signer: &Signer, cases: Vec<Value>) -> Value {
    json!({
        "description": description,
        "format_version": 1,
        "test_key": {
            "seed": SEED,
            "public_key": signer.key.public_key().to_hex(),
            "kid": signer.key.kid().to_string(),
        },
        "today": TODAY,
        "trust_store": trust_toml(&signer.key, ""),
        "cases": cases,
    })
}

fn main() {
    let dir: PathBuf = std::env::args()
        .nth(1)
        .map_or_else(|| "tests/vectors".into(), PathBuf::from);
    let signer = Signer::new("vector-key", SEED);
    let other = Signer::new("other-key", OTHER_SEED);
    let sample_payload = map(&sample_pairs(123_456_789));
    let sample = signer.code(&sample_payload);
    let sample_text = b32(&sample);
    let sample_json = payload_json(
        123_456_789,
        "DRN-2980",
        "L231212-01",
        SAMPLE_DATE,
        None,
        &[],
    );

    write(
        &dir,
        "valid.json",
        file(
            "Genuine codes of several payload shapes and accepted input spellings.",
            &signer,
            valid_cases(&signer, &sample_payload, &sample_text, &sample_json),
        ),
    );
    write(
        &dir,
        "text.json",
        file(
            "Text-level refusals: alphabet, length, stray bits, limits, URL form.",
            &signer,
            text_cases(&sample_text),
        ),
    );
    write(
        &dir,
        "binary.json",
        file(
            "Altered codes: bit flips per region, truncation, extension, versions, keys, signatures.",
            &signer,
            binary_cases(&signer, &other, &sample, &sample_payload),
        ),
    );
    write(
        &dir,
        "cbor.json",
        file(
            "Correctly signed payloads that are not deterministic CBOR or not the v1 shape.",
            &signer,
            [cbor_cases(&signer), cbor_corner_cases(&signer)].concat(),
        ),
    );
    write(
        &dir,
        "trust.json",
        file(
            "Trust stores: weak and invalid keys, duplicates, validity windows.",
            &signer,
            [
                trust_cases(&signer, &sample_text),
                trust_schema_cases(&signer, &sample_text),
            ]
            .concat(),
        ),
    );
    write(
        &dir,
        "revocations.json",
        revocations_file(&signer, &other, &sample_payload, &sample_text),
    );
    let batch_dir = dir.join("batch");
    std::fs::create_dir_all(&batch_dir).unwrap_or_else(|e| panic!("{e}"));
    write(&batch_dir, "serials.json", batch_serials_file(&signer));
    write(
        &dir,
        "usage.json",
        file(
            "Key usage: a revocation signer signs revocation snapshots, never codes.",
            &signer,
            usage_cases(&signer, &sample, &sample_text),
        ),
    );
    write(&dir, "certificates.json", certs::certificates_file());
    write(&dir, "bundles.json", certs::bundles_file());
    write(
        &dir,
        "aggregation.json",
        aggregation::aggregation_file(&signer),
    );
}

/// Key usage (FORMAT.md §9, step V3a): a key marked `revocation_signer` signs
/// revocation snapshots only; a code naming it is refused after the signature
/// check and before the validity dates.
fn usage_cases(s: &Signer, sample: &[u8], sample_text: &str) -> Vec<Value> {
    let case = |name: &str, extra: &str, input: &str, verdict: &str, error: Option<&str>| {
        let mut v = json!({
            "name": name,
            "trust_store": trust_toml(&s.key, extra),
            "input": input,
            "expect": {"verdict": verdict},
        });
        if let Some(e) = error {
            v["expect"]["error"] = json!(e);
        } else {
            v["expect"]["canonical"] = json!(sample_text);
            v["expect"]["payload"] = payload_json(
                123_456_789,
                "DRN-2980",
                "L231212-01",
                SAMPLE_DATE,
                None,
                &[],
            );
        }
        v
    };
    // The first byte of R: the signature no longer verifies.
    let forged = b32(&flip(sample, sample.len() - 64, 0));
    vec![
        case(
            "a key marked revocation_signer signs no codes",
            "revocation_signer = true\n",
            sample_text,
            "key-not-valid",
            Some("key-usage"),
        ),
        case(
            "revocation_signer = false is a code-signing key",
            "revocation_signer = false\n",
            sample_text,
            "genuine",
            None,
        ),
        case(
            "a forgery under a revocation signer is a bad signature (signature first)",
            "revocation_signer = true\n",
            &forged,
            "bad-signature",
            Some("bad-signature"),
        ),
        case(
            "usage is checked before the validity dates",
            "revocation_signer = true\nvalid_until = 2023-12-11\n",
            sample_text,
            "key-not-valid",
            Some("key-usage"),
        ),
        json!({
            "name": "revocation_signer must be a boolean",
            "trust_store": trust_toml(&s.key, "revocation_signer = \"yes\"\n"),
            "expect": {"verdict": "error", "error": "trust-store"},
        }),
    ]
}

// --- Batch-opaque serials (FORMAT.md §13.4), computed from the spec with
// BLAKE3 directly, not with the crates' permutation code. ---

/// G(r, h): the first 4 bytes (LE) of keyed_hash(K_b, [r] || h LE), low 20 bits.
fn batch_round(key: &[u8; 32], round: u8, half: u32) -> u64 {
    let input = [&[round][..], &half.to_le_bytes()].concat();
    let out = blake3::keyed_hash(key, &input);
    let b = out.as_bytes();
    u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) & 0xf_ffff)
}

/// P_b(x) for x < 2^40.
fn batch_permute(key: &[u8; 32], x: u64) -> u64 {
    let (mut l, mut r) = (x >> 20, x & 0xf_ffff);
    for round in 0..8u8 {
        let next = l ^ batch_round(key, round, r as u32);
        l = r;
        r = next;
    }
    (l << 20) | r
}

fn batch_key(seed_bytes: &[u8; 32], batch: u32) -> [u8; 32] {
    let k = blake3::derive_key("hallmark v1 opaque serial key", seed_bytes);
    let material = [&k[..], &u64::from(batch).to_le_bytes()].concat();
    blake3::derive_key("hallmark v1 batch serial key", &material)
}

fn batch_serial(key: &[u8; 32], batch: u32, counter: u64) -> u64 {
    (1 << 63) | (u64::from(batch) << 40) | batch_permute(key, counter)
}

/// `tests/vectors/batch/serials.json`: K_b of the worked-example key for
/// chosen batch numbers, the serials of chosen counters, and a signed
/// manifest of one batch-opaque batch with serials inside and outside it.
fn batch_serials_file(s: &Signer) -> Value {
    let seed_bytes = seed(SEED);
    let counters = [
        0u64,
        1,
        2,
        41,
        8191,
        8192,
        (1 << 20) - 1,
        1 << 20,
        (1 << 40) - 1,
    ];
    let batches: Vec<Value> = [0u32, 1, 5, (1 << 23) - 1]
        .iter()
        .map(|&b| {
            let key = batch_key(&seed_bytes, b);
            json!({
                "batch": b,
                "key": hex::encode(key),
                "serials": counters.iter().map(|&c| {
                    let serial = batch_serial(&key, b, c);
                    json!({"counter": c, "serial": serial, "hex": format!("{serial:016x}")})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    // One manifest: batch 5, counters 0..1000 emitted, minted 2024-01-31.
    let (b, count) = (5u32, 1000u64);
    let key = batch_key(&seed_bytes, b);
    let batch_map = map(&[
        (uint(0), uint(0)),
        (uint(1), uint(count)),
        (uint(2), text("DRN-2980")),
        (uint(3), text("L240131")),
        (uint(4), uint(19_753)),
        (uint(6), vec![0xf5]),
        (uint(7), uint(1_706_659_200)),
        (
            uint(8),
            [head(4, 2), uint(u64::from(b)), bstr(&key)].concat(),
        ),
    ]);
    let document = map(&[
        (uint(0), uint(1_800_000_000)),
        (uint(1), [head(4, 1), batch_map].concat()),
    ]);
    let signed = [&[1u8][..], &s.kid(), &document].concat();
    let sig = s
        .raw
        .sign(&[hallmark::MANIFEST_SIGNING_TAG, &signed].concat());
    let manifest = [signed, sig.to_bytes().to_vec()].concat();
    let members: Vec<u64> = [0, 1, 500, 999]
        .iter()
        .map(|&c| batch_serial(&key, b, c))
        .collect();
    let other = batch_key(&seed_bytes, 4);
    let non_members: Vec<u64> = vec![
        batch_serial(&key, b, 1000),
        batch_serial(&key, b, (1 << 40) - 1),
        batch_serial(&key, 4, 0),
        batch_serial(&other, 4, 0),
        999,
        1 << 63,
    ];
    json!({
        "description": "Batch-opaque serials (FORMAT.md 13.4): K_b of the worked-example key, serials 2^63 | b << 40 | P_b(c), and a signed manifest of one batch-opaque batch (section 14 key 8) with serials inside and outside it.",
        "format_version": 1,
        "test_key": {
            "seed": SEED,
            "public_key": s.key.public_key().to_hex(),
            "kid": s.key.kid().to_string(),
        },
        "trust_store": trust_toml(&s.key, ""),
        "opaque_key": hex::encode(blake3::derive_key("hallmark v1 opaque serial key", &seed_bytes)),
        "batches": batches,
        "manifest": {
            "bytes": hex::encode(&manifest),
            "batch": b,
            "key": hex::encode(key),
            "start": 0,
            "count": count,
            "members": members,
            "non_members": non_members,
        },
    })
}

fn write(dir: &Path, name: &str, value: Value) {
    let text = serde_json::to_string_pretty(&value).unwrap_or_else(|e| panic!("{e}")) + "\n";
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!("wrote {}", dir.join(name).display());
}

fn valid_cases(
    s: &Signer,
    sample_payload: &[u8],
    sample_text: &str,
    sample_json: &Value,
) -> Vec<Value> {
    let sample = s.code(sample_payload);
    let mut cases = vec![genuine(
        "sample payload",
        sample_text,
        &sample,
        sample_payload,
        sample_json.clone(),
    )];
    let lower = sample_text.to_lowercase();
    cases.push(genuine(
        "lower case",
        &lower,
        &sample,
        sample_payload,
        sample_json.clone(),
    ));
    let dashed: String = sample_text
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-");
    cases.push(genuine(
        "grouped with dashes",
        &dashed,
        &sample,
        sample_payload,
        sample_json.clone(),
    ));
    let spaced: String = lower
        .as_bytes()
        .chunks(5)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    cases.push(genuine(
        "lower case grouped with spaces",
        &spaced,
        &sample,
        sample_payload,
        sample_json.clone(),
    ));
    cases.push(genuine(
        "surrounding whitespace",
        &format!("  {sample_text}\t\r\n"),
        &sample,
        sample_payload,
        sample_json.clone(),
    ));
    cases.push(genuine(
        "URL form, upper case",
        &format!("{URL_PREFIX}{sample_text}"),
        &sample,
        sample_payload,
        sample_json.clone(),
    ));
    cases.push(genuine(
        "URL form, lower case",
        &format!("{URL_PREFIX}{sample_text}").to_lowercase(),
        &sample,
        sample_payload,
        sample_json.clone(),
    ));
    cases.push(genuine(
        "URL form, http with deeper path",
        &format!("http://verify.example/a/b/c/{sample_text}"),
        &sample,
        sample_payload,
        sample_json.clone(),
    ));

    let mut shape = |name: &str,
                     serial: u64,
                     part: &str,
                     lot: &str,
                     d: u64,
                     expiry: Option<u64>,
                     ext: Vec<(u64, Vec<u8>)>| {
        let mut pairs = vec![
            kv(0, uint(serial)),
            kv(1, text(part)),
            kv(2, text(lot)),
            kv(3, uint(d)),
        ];
        if let Some(e) = expiry {
            pairs.push(kv(4, uint(e)));
        }
        for (k, v) in &ext {
            pairs.push(kv(*k, v.clone()));
        }
        let payload = map(&pairs);
        let code = s.code(&payload);
        cases.push(genuine(
            name,
            &b32(&code),
            &code,
            &payload,
            payload_json(serial, part, lot, d, expiry, &ext),
        ));
    };
    shape(
        "serial 0",
        0,
        "DRN-2980",
        "L231212-01",
        SAMPLE_DATE,
        None,
        vec![],
    );
    shape(
        "serial 2^64-1",
        u64::MAX,
        "DRN-2980",
        "L231212-01",
        SAMPLE_DATE,
        None,
        vec![],
    );
    shape(
        "serial 23 (one-byte integer)",
        23,
        "P",
        "L",
        SAMPLE_DATE,
        None,
        vec![],
    );
    shape(
        "serial 24 (two-byte integer)",
        24,
        "P",
        "L",
        SAMPLE_DATE,
        None,
        vec![],
    );
    shape(
        "one-character part and lot",
        7,
        "P",
        "L",
        SAMPLE_DATE,
        None,
        vec![],
    );
    shape(
        "64-character part and lot",
        8,
        &"P".repeat(64),
        &"L-~ !"
            .repeat(12)
            .chars()
            .chain("L123".chars())
            .collect::<String>(),
        SAMPLE_DATE,
        None,
        vec![],
    );
    shape(
        "with expiry",
        9,
        "DRN-2980",
        "L231212-01",
        SAMPLE_DATE,
        Some(SAMPLE_DATE + 3 * 365),
        vec![],
    );
    shape(
        "expiry equal to today is not expired",
        10,
        "DRN-2980",
        "L231212-01",
        SAMPLE_DATE,
        Some(TODAY_DAYS),
        vec![],
    );
    shape("date 1970-01-01", 11, "P", "L", 0, None, vec![]);
    shape(
        "date 2000-02-29 (leap day)",
        12,
        "P",
        "L",
        11_016,
        None,
        vec![],
    );
    shape(
        "date 2100-02-28, expiry 2100-03-01 (2100 is not a leap year)",
        13,
        "P",
        "L",
        47_540,
        Some(47_541),
        vec![],
    );
    shape("date 9999-12-31", 14, "P", "L", 2_932_896, None, vec![]);
    shape(
        "extension: GTIN text at key 5",
        15,
        "DRN-2980",
        "L231212-01",
        SAMPLE_DATE,
        None,
        vec![(5, text("09506000134352"))],
    );
    shape(
        "extensions: unknown keys with nested values are skipped",
        16,
        "DRN-2980",
        "L231212-01",
        SAMPLE_DATE,
        Some(2_932_896),
        vec![
            (24, bstr(&[0xde, 0xad])),
            (
                1000,
                [
                    vec![0x84, 0x01, 0xf5, 0xf6],
                    map(&[kv(1, text("a")), kv(2, vec![0x20])]),
                ]
                .concat(),
            ),
        ],
    );
    let expired = s.code(&map(&[
        kv(0, uint(17)),
        kv(1, text("DRN-2980")),
        kv(2, text("L231212-01")),
        kv(3, uint(SAMPLE_DATE)),
        kv(4, uint(TODAY_DAYS - 1)),
    ]));
    cases.push(bad(
        "expiry the day before today",
        &b32(&expired),
        "expired",
        "expired",
    ));
    cases
}

fn text_cases(sample_text: &str) -> Vec<Value> {
    let last = sample_text.chars().last().unwrap_or('0');
    let alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let idx = alphabet.find(last).unwrap_or(0);
    // 164 characters carry 820 bits for 816 bits of code: the last character's
    // 4 low bits are unused and must be zero.
    let stray = alphabet.chars().nth(idx | 1).unwrap_or('1');
    let mut stray_text = sample_text.to_owned();
    stray_text.pop();
    stray_text.push(stray);
    let mut short = sample_text.to_owned();
    short.pop();
    let with = |i: usize, c: char| -> String {
        sample_text
            .chars()
            .enumerate()
            .map(|(j, x)| if j == i { c } else { x })
            .collect()
    };
    vec![
        bad(
            "stray bits in the last character",
            &stray_text,
            "malformed",
            "non-canonical-text",
        ),
        bad(
            "163 characters: no byte string has this length",
            &short,
            "malformed",
            "invalid-length",
        ),
        bad("one character", "0", "malformed", "invalid-length"),
        bad("three characters", "000", "malformed", "invalid-length"),
        bad("six characters", "000000", "malformed", "invalid-length"),
        bad(
            "letter I is not in the alphabet",
            &with(20, 'I'),
            "malformed",
            "invalid-character",
        ),
        bad(
            "letter L is not in the alphabet",
            &with(21, 'L'),
            "malformed",
            "invalid-character",
        ),
        bad(
            "letter O is not in the alphabet",
            &with(22, 'O'),
            "malformed",
            "invalid-character",
        ),
        bad(
            "letter U is not in the alphabet",
            &with(23, 'U'),
            "malformed",
            "invalid-character",
        ),
        bad(
            "lower-case o is not zero",
            &with(24, 'o'),
            "malformed",
            "invalid-character",
        ),
        bad(
            "punctuation",
            &with(30, '*'),
            "malformed",
            "invalid-character",
        ),
        bad(
            "non-ASCII look-alike",
            &with(30, '\u{0410}'),
            "malformed",
            "invalid-character",
        ),
        bad(
            "tab inside the code",
            &with(30, '\t'),
            "malformed",
            "invalid-character",
        ),
        bad("empty", "", "malformed", "empty"),
        bad("only grouping", " - -- ", "malformed", "empty"),
        bad(
            "1025 bytes: over the input limit",
            &"0".repeat(1025),
            "malformed",
            "too-long",
        ),
        bad(
            "over the limit with valid characters and length",
            &"0".repeat(1024 + 8),
            "malformed",
            "too-long",
        ),
        bad(
            "416 characters: over the 410-character code limit",
            &"0".repeat(416),
            "malformed",
            "too-long",
        ),
        bad(
            "URL with a query",
            &format!("{URL_PREFIX}{sample_text}?x=1"),
            "malformed",
            "invalid-url",
        ),
        bad(
            "URL with a fragment",
            &format!("{URL_PREFIX}{sample_text}#top"),
            "malformed",
            "invalid-url",
        ),
        bad(
            "URL ending in a slash",
            &format!("{URL_PREFIX}{sample_text}/"),
            "malformed",
            "invalid-url",
        ),
        bad(
            "other scheme is not a URL form",
            &format!("ftp://x/{sample_text}"),
            "malformed",
            "invalid-character",
        ),
        bad("garbage", "hello, world", "malformed", "invalid-character"),
    ]
}

fn flip(code: &[u8], byte: usize, bit: u8) -> Vec<u8> {
    let mut c = code.to_vec();
    if let Some(b) = c.get_mut(byte) {
        *b ^= 1 << bit;
    }
    c
}

fn binary_cases(s: &Signer, other: &Signer, sample: &[u8], sample_payload: &[u8]) -> Vec<Value> {
    let n = sample.len();
    let sig_start = n - 64;
    // Byte 5 + 10 is 'D' of "DRN-2980" (map head, key 0, 1a + 4 serial bytes, key 1, text head).
    let part_byte = 5 + 1 + 1 + 5 + 1 + 1;
    assert_eq!(sample[part_byte], b'D');
    // S + L, which verify_strict must refuse.
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut s_plus_l = sample.to_vec();
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s_plus_l[sig_start + 32 + i]) + u16::from(L[i]) + carry;
        s_plus_l[sig_start + 32 + i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    let next = s.code(&map(&sample_pairs(123_456_790)));
    let mut swapped = next[..next.len() - 64].to_vec();
    swapped.extend_from_slice(&sample[sig_start..]);
    let mut appended = sample.to_vec();
    appended.push(0);
    vec![
        bad(
            "version byte bit flip (0x01 -> 0x03)",
            &b32(&flip(sample, 0, 1)),
            "malformed",
            "unsupported-version",
        ),
        bad(
            "kid bit flip",
            &b32(&flip(sample, 2, 0)),
            "unknown-key",
            "unknown-key",
        ),
        bad(
            "payload bit flip in the part number (D -> E)",
            &b32(&flip(sample, part_byte, 0)),
            "bad-signature",
            "bad-signature",
        ),
        bad(
            "payload bit flip in the serial",
            &b32(&flip(sample, 9, 0)),
            "bad-signature",
            "bad-signature",
        ),
        bad(
            "payload bit flip in the date",
            &b32(&flip(sample, sig_start - 1, 0)),
            "bad-signature",
            "bad-signature",
        ),
        bad(
            "signature bit flip in R",
            &b32(&flip(sample, sig_start, 0)),
            "bad-signature",
            "bad-signature",
        ),
        bad(
            "signature bit flip in S",
            &b32(&flip(sample, sig_start + 32, 0)),
            "bad-signature",
            "bad-signature",
        ),
        bad(
            "signature scalar S + L (non-canonical)",
            &b32(&s_plus_l),
            "bad-signature",
            "non-canonical-signature",
        ),
        bad(
            "signature taken from another code",
            &b32(&swapped),
            "bad-signature",
            "bad-signature",
        ),
        bad(
            "truncated by one byte",
            &b32(&sample[..n - 1]),
            "malformed",
            "invalid-cbor",
        ),
        bad(
            "truncated by five bytes",
            &b32(&sample[..n - 5]),
            "malformed",
            "invalid-cbor",
        ),
        bad(
            "truncated to ten bytes",
            &b32(&sample[..10]),
            "malformed",
            "truncated",
        ),
        bad(
            "truncated to the header",
            &b32(&sample[..5]),
            "malformed",
            "truncated",
        ),
        bad(
            "extended by one byte after the signature",
            &b32(&appended),
            "malformed",
            "trailing-bytes",
        ),
        bad(
            "unknown version 2, correctly signed",
            &b32(&s.raw(2, s.kid(), sample_payload)),
            "malformed",
            "unsupported-version",
        ),
        bad(
            "unknown version 0, correctly signed",
            &b32(&s.raw(0, s.kid(), sample_payload)),
            "malformed",
            "unsupported-version",
        ),
        bad(
            "unknown version 255",
            &b32(&s.raw(255, s.kid(), sample_payload)),
            "malformed",
            "unsupported-version",
        ),
        bad(
            "genuine code from a key not in the trust store",
            &b32(&other.code(sample_payload)),
            "unknown-key",
            "unknown-key",
        ),
        bad(
            "signed by another key under the trusted kid",
            &b32(&other.raw(1, s.kid(), sample_payload)),
            "bad-signature",
            "bad-signature",
        ),
        bad(
            "257-byte binary code",
            &b32(&s.code(&map(&[
                kv(0, uint(1)),
                kv(1, text("P")),
                kv(2, text("L")),
                kv(3, uint(1)),
                kv(5, bstr(&[0; 174])),
            ]))),
            "malformed",
            "too-long",
        ),
        bad(
            "all-zero 102 bytes",
            &b32(&[0u8; 102]),
            "malformed",
            "unsupported-version",
        ),
    ]
}

fn cbor_cases(s: &Signer) -> Vec<Value> {
    let code = |payload: Vec<u8>| b32(&s.code(&payload));
    let c =
        |name: &str, payload: Vec<u8>, error: &str| bad(name, &code(payload), "malformed", error);
    let sample = |serial: u64| sample_pairs(serial);
    let mut unsorted = sample(1);
    unsorted.swap(0, 1);
    let mut dup = sample(1);
    dup.insert(1, kv(0, uint(2)));
    let with = |i: usize, pair: (Vec<u8>, Vec<u8>)| {
        let mut p = sample(1);
        p[i] = pair;
        map(&p)
    };
    let extra = |pair: (Vec<u8>, Vec<u8>)| {
        let mut p = sample(1);
        p.push(pair);
        map(&p)
    };
    let indefinite_map = {
        let mut m = vec![0xbf];
        for (k, v) in sample(1) {
            m.extend(k);
            m.extend(v);
        }
        m.push(0xff);
        m
    };
    let mut trailing = map(&sample(1));
    trailing.push(0x00);
    vec![
        c(
            "unsorted map keys (1 before 0)",
            map(&unsorted),
            "unsorted-keys",
        ),
        c("duplicate key 0", map(&dup), "duplicate-key"),
        c(
            "non-minimal integer: serial 1 as 0x18 0x01",
            with(0, kv(0, vec![0x18, 0x01])),
            "non-canonical-cbor",
        ),
        c(
            "non-minimal integer: serial 1 as 8 bytes",
            with(0, kv(0, [vec![0x1b], 1u64.to_be_bytes().to_vec()].concat())),
            "non-canonical-cbor",
        ),
        c(
            "non-minimal integer: date as 4 bytes",
            with(
                3,
                kv(
                    3,
                    [vec![0x1a], (SAMPLE_DATE as u32).to_be_bytes().to_vec()].concat(),
                ),
            ),
            "non-canonical-cbor",
        ),
        c(
            "non-minimal key: 0 as 0x18 0x00",
            with(0, (vec![0x18, 0x00], uint(1))),
            "non-canonical-cbor",
        ),
        c(
            "non-minimal text length",
            with(1, kv(1, [vec![0x78, 0x08], b"DRN-2980".to_vec()].concat())),
            "non-canonical-cbor",
        ),
        c(
            "non-minimal map length",
            [vec![0xb8, 0x04], map(&sample(1))[1..].to_vec()].concat(),
            "non-canonical-cbor",
        ),
        c(
            "indefinite-length map",
            indefinite_map,
            "non-canonical-cbor",
        ),
        c(
            "indefinite-length text",
            with(
                1,
                kv(
                    1,
                    [vec![0x7f], text("DRN-"), text("2980"), vec![0xff]].concat(),
                ),
            ),
            "non-canonical-cbor",
        ),
        c(
            "indefinite-length byte string in an extension",
            extra(kv(5, vec![0x5f, 0x41, 0x00, 0xff])),
            "non-canonical-cbor",
        ),
        c("trailing byte after the map", trailing, "trailing-bytes"),
        c("serial as text", with(0, kv(0, text("1"))), "wrong-type"),
        c("serial negative", with(0, kv(0, vec![0x20])), "wrong-type"),
        c(
            "serial as a float",
            with(0, kv(0, vec![0xf9, 0x3c, 0x00])),
            "wrong-type",
        ),
        c(
            "part as a byte string",
            with(1, kv(1, bstr(b"DRN-2980"))),
            "wrong-type",
        ),
        c(
            "part as an integer",
            with(1, kv(1, uint(2980))),
            "wrong-type",
        ),
        c(
            "date as text",
            with(3, kv(3, text("2023-12-12"))),
            "wrong-type",
        ),
        c(
            "expiry as text",
            extra(kv(4, text("2026-12-12"))),
            "wrong-type",
        ),
        c("missing serial", map(&sample(1)[1..]), "missing-field"),
        c(
            "missing lot",
            map(&[kv(0, uint(1)), kv(1, text("P")), kv(3, uint(1))]),
            "missing-field",
        ),
        c("missing date", map(&sample(1)[..3]), "missing-field"),
        c("empty map", map(&[]), "missing-field"),
        c(
            "array instead of map",
            vec![0x84, 0x01, 0x61, 0x50, 0x61, 0x4c, 0x01],
            "not-a-map",
        ),
        c(
            "negative map key",
            extra((vec![0x20], uint(0))),
            "key-not-unsigned",
        ),
        c(
            "text map key",
            extra((text("gtin"), text("1"))),
            "key-not-unsigned",
        ),
        c(
            "date after 9999-12-31",
            with(3, kv(3, uint(2_932_897))),
            "invalid-value",
        ),
        c("empty part", with(1, kv(1, text(""))), "invalid-value"),
        c(
            "part with a newline",
            with(1, kv(1, text("DRN\n2980"))),
            "invalid-value",
        ),
        c(
            "part with an escape character",
            with(1, kv(1, text("\u{1b}[31mDRN"))),
            "invalid-value",
        ),
        c(
            "part with non-ASCII text",
            with(1, kv(1, text("DRN-29\u{c4}0"))),
            "invalid-value",
        ),
        c(
            "part with a leading space",
            with(1, kv(1, text(" DRN"))),
            "invalid-value",
        ),
        c(
            "lot of 65 characters",
            with(2, kv(2, text(&"L".repeat(65)))),
            "invalid-value",
        ),
        c(
            "invalid UTF-8 in the part",
            with(1, kv(1, vec![0x62, 0xc3, 0x28])),
            "invalid-cbor",
        ),
        c(
            "truncated text string",
            map(&sample(1)).iter().take(5).copied().collect(),
            "invalid-cbor",
        ),
        c(
            "reserved additional information 28",
            with(0, kv(0, vec![0x1c])),
            "invalid-cbor",
        ),
        c(
            "float in an extension",
            extra(kv(5, vec![0xf9, 0x3c, 0x00])),
            "unsupported-cbor",
        ),
        c(
            "tag in an extension",
            extra(kv(5, [vec![0xc1], uint(1)].concat())),
            "unsupported-cbor",
        ),
        c(
            "unsorted nested map in an extension",
            extra(kv(5, map(&[kv(2, uint(0)), kv(1, uint(0))]))),
            "unsorted-keys",
        ),
        c(
            "duplicate key in a nested map",
            extra(kv(5, map(&[kv(1, uint(0)), kv(1, uint(0))]))),
            "duplicate-key",
        ),
        c(
            "extension nested too deep",
            extra(kv(5, [vec![0x81; 6], vec![0x00]].concat())),
            "too-deep",
        ),
        c(
            "huge declared byte-string length",
            extra(kv(
                5,
                vec![0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            )),
            "invalid-cbor",
        ),
    ]
}

fn trust_cases(s: &Signer, sample_text: &str) -> Vec<Value> {
    let with_trust =
        |name: &str, trust: String, input: Option<&str>, verdict: &str, error: Option<&str>| {
            let mut v = json!({"name": name, "trust_store": trust, "expect": {"verdict": verdict}});
            if verdict == "genuine" {
                v["expect"]["canonical"] = json!(sample_text);
                v["expect"]["payload"] = payload_json(
                    123_456_789,
                    "DRN-2980",
                    "L231212-01",
                    SAMPLE_DATE,
                    None,
                    &[],
                );
            }
            if let Some(i) = input {
                v["input"] = json!(i);
            }
            if let Some(e) = error {
                v["expect"]["error"] = json!(e);
            }
            v
        };
    let entry = |name: &str, key_hex: &str| {
        format!("[[key]]\nname = \"{name}\"\npublic_key = \"{key_hex}\"\n")
    };
    let own = s.key.public_key().to_hex();
    let _ = KeyId::derive(&[0; 32]);
    vec![
        with_trust(
            "weak key: the identity point",
            entry(
                "weak",
                "0100000000000000000000000000000000000000000000000000000000000000",
            ),
            None,
            "error",
            Some("weak-key"),
        ),
        with_trust(
            "weak key: a point of order 2",
            entry(
                "weak",
                "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            ),
            None,
            "error",
            Some("weak-key"),
        ),
        with_trust(
            "weak key: a point of order 4 (all zeros)",
            entry("weak", &"00".repeat(32)),
            None,
            "error",
            Some("weak-key"),
        ),
        with_trust(
            "weak key: a point of order 8",
            entry(
                "weak",
                "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            ),
            None,
            "error",
            Some("weak-key"),
        ),
        with_trust(
            "weak key beside a good key is still refused",
            format!(
                "{}\n{}",
                entry("good", &own),
                entry(
                    "weak",
                    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"
                )
            ),
            None,
            "error",
            Some("weak-key"),
        ),
        with_trust(
            "non-canonical public key encoding: y = p + 3",
            entry(
                "bad",
                "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            ),
            None,
            "error",
            Some("invalid-public-key"),
        ),
        with_trust(
            "non-canonical encoding of the identity: sign bit set on x = 0",
            entry(
                "bad",
                "0100000000000000000000000000000000000000000000000000000000000080",
            ),
            None,
            "error",
            Some("invalid-public-key"),
        ),
        with_trust(
            "public key not hex",
            entry("bad", &"zz".repeat(32)),
            None,
            "error",
            Some("invalid-public-key"),
        ),
        with_trust(
            "public key too short",
            entry("bad", &"11".repeat(31)),
            None,
            "error",
            Some("invalid-public-key"),
        ),
        with_trust(
            "the same key twice",
            format!("{}{}", entry("a", &own), entry("b", &own)),
            None,
            "error",
            Some("duplicate-key-id"),
        ),
        with_trust(
            "misspelt field is refused, not ignored",
            format!("{}valid_untill = 2020-01-01\n", entry("a", &own)),
            None,
            "error",
            Some("trust-store"),
        ),
        with_trust(
            "a key name starting with . is refused (the issuer's key-file rule)",
            entry(".hidden", &own),
            None,
            "error",
            Some("invalid-field"),
        ),
        with_trust(
            "date with a time is refused",
            format!("{}valid_from = 2020-01-01T00:00:00Z\n", entry("a", &own)),
            None,
            "error",
            Some("trust-store"),
        ),
        with_trust(
            "valid_from after valid_until",
            format!(
                "{}valid_from = 2024-01-01\nvalid_until = 2023-01-01\n",
                entry("a", &own)
            ),
            None,
            "error",
            Some("trust-store"),
        ),
        with_trust(
            "bad key name",
            entry("a b", &own),
            None,
            "error",
            Some("invalid-field"),
        ),
        with_trust(
            "not TOML",
            "[[key]\nname=".into(),
            None,
            "error",
            Some("trust-store"),
        ),
        with_trust(
            "key valid from after the date of manufacture",
            format!("{}valid_from = 2023-12-13\n", entry("a", &own)),
            Some(sample_text),
            "key-not-valid",
            Some("key-not-valid"),
        ),
        with_trust(
            "key valid until before the date of manufacture",
            format!("{}valid_until = 2023-12-11\n", entry("a", &own)),
            Some(sample_text),
            "key-not-valid",
            Some("key-not-valid"),
        ),
        with_trust(
            "key valid from the date of manufacture (inclusive)",
            format!("{}valid_from = 2023-12-12\n", entry("a", &own)),
            Some(sample_text),
            "genuine",
            None,
        ),
        with_trust(
            "key valid until the date of manufacture (inclusive)",
            format!("{}valid_until = 2023-12-12\n", entry("a", &own)),
            Some(sample_text),
            "genuine",
            None,
        ),
        with_trust(
            "empty trust store",
            String::new(),
            Some(sample_text),
            "unknown-key",
            Some("unknown-key"),
        ),
    ]
}

// --- Corners added when FORMAT.md became normative (issue 12 item 8). ---

fn arr(items: &[Vec<u8>]) -> Vec<u8> {
    [head(4, items.len() as u64), items.concat()].concat()
}

/// CBOR corners of §8.3: simple values, nested indefinite-length chunks,
/// bignums, NaN and other float encodings. All correctly signed.
fn cbor_corner_cases(s: &Signer) -> Vec<Value> {
    let code = |payload: Vec<u8>| b32(&s.code(&payload));
    let c =
        |name: &str, payload: Vec<u8>, error: &str| bad(name, &code(payload), "malformed", error);
    let ext = |value: Vec<u8>| {
        let mut p = sample_pairs(1);
        p.push(kv(5, value));
        map(&p)
    };
    let with = |i: usize, pair: (Vec<u8>, Vec<u8>)| {
        let mut p = sample_pairs(1);
        p[i] = pair;
        map(&p)
    };
    let big = |tag: u8, bytes: &[u8]| [vec![0xc0 | tag], bstr(bytes)].concat();
    vec![
        c(
            "two-byte simple value f8 14 (false in the long form) in an extension",
            ext(vec![0xf8, 0x14]),
            "invalid-cbor",
        ),
        c(
            "two-byte simple value f8 17 (undefined in the long form) in an extension",
            ext(vec![0xf8, 0x17]),
            "invalid-cbor",
        ),
        c(
            "two-byte simple value f8 00 in an extension",
            ext(vec![0xf8, 0x00]),
            "invalid-cbor",
        ),
        c(
            "unassigned simple value f8 20 in an extension",
            ext(vec![0xf8, 0x20]),
            "invalid-cbor",
        ),
        c(
            "unassigned simple value e0 in an extension",
            ext(vec![0xe0]),
            "invalid-cbor",
        ),
        c(
            "undefined (f7) in an extension reads as null: non-canonical",
            ext(vec![0xf7]),
            "non-canonical-cbor",
        ),
        c(
            "break where an item is expected",
            ext(vec![0xff]),
            "invalid-cbor",
        ),
        c(
            "nested indefinite-length byte string chunk in an extension",
            ext(vec![0x5f, 0x5f, 0x41, 0x00, 0xff, 0xff]),
            "invalid-cbor",
        ),
        c(
            "indefinite-length text with a nested indefinite-length chunk",
            with(
                1,
                kv(
                    1,
                    [vec![0x7f, 0x7f], text("DRN-2980"), vec![0xff, 0xff]].concat(),
                ),
            ),
            "invalid-cbor",
        ),
        c(
            "indefinite-length byte string with a text chunk",
            ext(vec![0x5f, 0x61, 0x41, 0xff]),
            "invalid-cbor",
        ),
        c(
            "indefinite-length text chunks splitting a UTF-8 character",
            ext(vec![0x7f, 0x61, 0xc3, 0x61, 0xa4, 0xff]),
            "invalid-cbor",
        ),
        c(
            "indefinite-length byte string without its break",
            ext(vec![0x5f, 0x41, 0x00]),
            "invalid-cbor",
        ),
        c(
            "bignum 1 in an extension (the integer form is deterministic)",
            ext(big(2, &[1])),
            "non-canonical-cbor",
        ),
        c(
            "bignum 2^64-1 as the serial",
            with(0, kv(0, big(2, &[0xff; 8]))),
            "non-canonical-cbor",
        ),
        c(
            "negative bignum -2^64 in an extension",
            ext(big(3, &[0xff; 8])),
            "non-canonical-cbor",
        ),
        c(
            "bignum 2^64 in an extension (outside the 64-bit range: a tag)",
            ext(big(2, &[1, 0, 0, 0, 0, 0, 0, 0, 0])),
            "unsupported-cbor",
        ),
        c(
            "bignum 2^64 as the serial",
            with(0, kv(0, big(2, &[1, 0, 0, 0, 0, 0, 0, 0, 0]))),
            "wrong-type",
        ),
        c(
            "negative bignum of 17 bytes in an extension",
            ext(big(3, &[0xff; 17])),
            "unsupported-cbor",
        ),
        c(
            "bignum 2^64 with a leading zero byte",
            ext(big(2, &[0, 1, 0, 0, 0, 0, 0, 0, 0, 0])),
            "non-canonical-cbor",
        ),
        c(
            "tag 2 around a text string is a tag",
            ext([vec![0xc2], text("1")].concat()),
            "unsupported-cbor",
        ),
        c(
            "NaN f9 7e00 in an extension",
            ext(vec![0xf9, 0x7e, 0x00]),
            "unsupported-cbor",
        ),
        c(
            "NaN with a payload, f9 7e01",
            ext(vec![0xf9, 0x7e, 0x01]),
            "non-canonical-cbor",
        ),
        c(
            "negative NaN, f9 fe00",
            ext(vec![0xf9, 0xfe, 0x00]),
            "non-canonical-cbor",
        ),
        c(
            "single-precision NaN",
            ext(vec![0xfa, 0x7f, 0xc0, 0, 0]),
            "non-canonical-cbor",
        ),
        c(
            "double-precision NaN",
            ext(vec![0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]),
            "non-canonical-cbor",
        ),
        c(
            "NaN f9 7e00 as the date",
            with(3, kv(3, vec![0xf9, 0x7e, 0x00])),
            "wrong-type",
        ),
        c(
            "infinity in half precision in an extension",
            ext(vec![0xf9, 0x7c, 0x00]),
            "unsupported-cbor",
        ),
        c(
            "1.0 in single precision",
            ext(vec![0xfa, 0x3f, 0x80, 0, 0]),
            "non-canonical-cbor",
        ),
        c(
            "1.1 in single precision (not a half)",
            ext(vec![0xfa, 0x3f, 0x8c, 0xcc, 0xcd]),
            "unsupported-cbor",
        ),
        c(
            "2^-24 in single precision (a subnormal half)",
            ext(vec![0xfa, 0x33, 0x80, 0, 0]),
            "non-canonical-cbor",
        ),
        c(
            "a bignum does not count as nesting",
            ext([vec![0x81; 4], big(2, &[1; 9])].concat()),
            "unsupported-cbor",
        ),
        c(
            "a tag counts as nesting",
            ext([vec![0x81; 5], vec![0xc1, 0x00]].concat()),
            "too-deep",
        ),
    ]
}

/// §9 trust-store schema: byte order mark, required fields and their types,
/// duplicate fields and keys.
fn trust_schema_cases(s: &Signer, sample_text: &str) -> Vec<Value> {
    let own = s.key.public_key().to_hex();
    let entry = |name: &str, key_hex: &str| {
        format!("[[key]]\nname = \"{name}\"\npublic_key = \"{key_hex}\"\n")
    };
    let genuine = |name: &str, trust: String| {
        json!({"name": name, "trust_store": trust, "input": sample_text, "expect": {
            "verdict": "genuine", "canonical": sample_text,
            "payload": payload_json(123_456_789, "DRN-2980", "L231212-01", SAMPLE_DATE, None, &[]),
        }})
    };
    let refused = |name: &str, trust: String, error: &str| json!({"name": name, "trust_store": trust, "expect": {"verdict": "error", "error": error}});
    let other = "0faada074b654141829ba20700f2446d0f8e1f8f8794ffc2f18239c980f024ee";
    vec![
        genuine(
            "a byte order mark at the start is ignored",
            format!("\u{feff}{}", entry("a", &own)),
        ),
        refused(
            "two byte order marks",
            format!("\u{feff}\u{feff}{}", entry("a", &own)),
            "trust-store",
        ),
        refused(
            "a byte order mark after the start",
            format!("{}\u{feff}", entry("a", &own)),
            "trust-store",
        ),
        refused(
            "public_key missing",
            "[[key]]\nname = \"a\"\n".into(),
            "trust-store",
        ),
        refused(
            "name missing",
            format!("[[key]]\npublic_key = \"{own}\"\n"),
            "trust-store",
        ),
        refused(
            "name not a string",
            format!("[[key]]\nname = 1\npublic_key = \"{own}\"\n"),
            "trust-store",
        ),
        refused(
            "public_key not a string",
            "[[key]]\nname = \"a\"\npublic_key = 1\n".into(),
            "trust-store",
        ),
        refused(
            "valid_from as a string",
            format!("{}valid_from = \"2024-01-01\"\n", entry("a", &own)),
            "trust-store",
        ),
        refused(
            "revocation_signer as a string",
            format!("{}revocation_signer = \"true\"\n", entry("a", &own)),
            "trust-store",
        ),
        refused(
            "revocation_signer as an integer",
            format!("{}revocation_signer = 1\n", entry("a", &own)),
            "trust-store",
        ),
        genuine(
            "revocation_signer = false is the default",
            format!("{}revocation_signer = false\n", entry("a", &own)),
        ),
        refused(
            "a field twice in one entry",
            format!("{}name = \"b\"\n", entry("a", &own)),
            "trust-store",
        ),
        refused(
            "an unknown top-level key",
            format!("version = 1\n{}", entry("a", &own)),
            "trust-store",
        ),
        refused(
            "[key] as a table, not an array of tables",
            entry("a", &own).replace("[[key]]", "[key]"),
            "trust-store",
        ),
        refused(
            "the same key twice, in upper and lower case",
            format!("{}{}", entry("a", &own), entry("b", &own.to_uppercase())),
            "duplicate-key-id",
        ),
        genuine(
            "two keys may share a name",
            format!("{}{}", entry("a", &own), entry("a", other)),
        ),
        genuine(
            "CRLF line ends, upper-case hex, spaces inside the key string",
            entry("a", &format!(" {} ", own.to_uppercase())).replace('\n', "\r\n"),
        ),
    ]
}

/// Issued time of the revocation vectors: 2026-11-18T13:46:40Z (day 20775).
const ISSUED: u64 = 1_795_009_600;

/// One revocation entry: kid, then the scope's fields, reason, date.
fn entry(kid: [u8; 4], scope: &[Vec<u8>], reason: u64, date: u64) -> Vec<u8> {
    let mut items = vec![bstr(&kid)];
    items.extend_from_slice(scope);
    items.push(uint(reason));
    items.push(uint(date));
    arr(&items)
}

/// A snapshot document: sequence, issued and the four lists (serials, ranges,
/// lots, keys), plus extra entries.
fn snapshot_doc(
    sequence: u64,
    issued: u64,
    lists: [&[Vec<u8>]; 4],
    extra: &[(Vec<u8>, Vec<u8>)],
) -> Vec<u8> {
    let mut pairs = vec![kv(0, uint(sequence)), kv(1, uint(issued))];
    for (i, list) in lists.iter().enumerate() {
        pairs.push(kv(2 + i as u64, arr(list)));
    }
    pairs.extend_from_slice(extra);
    map(&pairs)
}

/// A snapshot file: `version || kid || document || signature` under the
/// revocations tag.
fn snapshot(signer: &Signer, document: &[u8]) -> Vec<u8> {
    let signed = [&[1u8][..], &signer.kid(), document].concat();
    let sig = signer
        .raw
        .sign(&[hallmark::REVOCATIONS_SIGNING_TAG, &signed].concat());
    [signed, sig.to_bytes().to_vec()].concat()
}

/// §15: revocation snapshots, and codes judged under them.
fn revocations_file(s: &Signer, rev: &Signer, sample_payload: &[u8], sample_text: &str) -> Value {
    let trust = format!(
        "{}[[key]]\nname = \"revocation-key\"\npublic_key = \"{}\"\nrevocation_signer = true\n",
        trust_toml(&s.key, ""),
        rev.key.public_key().to_hex()
    );
    let third = Signer {
        key: SecretKey::from_seed("third", &[7; 32]).unwrap_or_else(|e| panic!("{e}")),
        raw: SigningKey::from_bytes(&[7; 32]),
    };
    let k = s.kid();
    let empty: [&[Vec<u8>]; 4] = [&[], &[], &[], &[]];
    let doc = |sequence: u64| snapshot_doc(sequence, ISSUED, empty, &[]);
    let accepted = |name: &str, bytes: &[u8], sequence: u64| {
        json!({"name": name, "snapshot": hex::encode(bytes),
            "expect": {"verdict": "accepted", "sequence": sequence}})
    };
    let refused = |name: &str, bytes: &[u8], error: &str| json!({"name": name, "snapshot": hex::encode(bytes), "expect": {"verdict": "error", "error": error}});
    let sample_json = payload_json(
        123_456_789,
        "DRN-2980",
        "L231212-01",
        SAMPLE_DATE,
        None,
        &[],
    );
    let judged = |name: &str, bytes: &[u8], input: &str, verdict: &str, reason: Option<&str>| {
        let mut v = json!({"name": name, "snapshot": hex::encode(bytes), "input": input,
            "expect": {"verdict": verdict}});
        if verdict == "genuine" {
            v["expect"]["canonical"] = json!(sample_text);
            v["expect"]["payload"] = sample_json.clone();
        }
        if let Some(r) = reason {
            v["expect"]["reason"] = json!(r);
        }
        v
    };
    let serial = |n: u64, reason: u64| entry(k, &[uint(n)], reason, 20_000);
    let range = |a: u64, b: u64, reason: u64| entry(k, &[uint(a), uint(b)], reason, 20_000);
    let flipped = {
        let mut b = snapshot(rev, &doc(1));
        let n = b.len();
        b[n - 40] ^= 1;
        b
    };
    let code_tag = {
        let signed = [&[1u8][..], &rev.kid(), &doc(1)].concat();
        let sig = rev.raw.sign(&[CODE_SIGNING_TAG, &signed].concat());
        [signed, sig.to_bytes().to_vec()].concat()
    };
    let mut long_sequence = doc(1);
    long_sequence.splice(2..3, [0x18, 0x01]);
    let nested_chunk = snapshot_doc(
        1,
        ISSUED,
        [
            &[],
            &[],
            &[arr(&[
                bstr(&k),
                vec![0x7f, 0x7f, 0x61, 0x4c, 0xff, 0xff],
                uint(0),
                uint(20_000),
            ])],
            &[],
        ],
        &[],
    );
    let expired = s.code(&map(&[
        kv(0, uint(123_456_789)),
        kv(1, text("DRN-2980")),
        kv(2, text("L231212-01")),
        kv(3, uint(SAMPLE_DATE)),
        kv(4, uint(TODAY_DAYS - 1)),
    ]));
    let sample_code = s.code(sample_payload);
    assert_eq!(b32(&sample_code), sample_text);
    let mut cases = vec![
        accepted("empty snapshot, sequence 0", &snapshot(rev, &doc(0)), 0),
        accepted(
            "sequence 2^53-1, the largest allowed",
            &snapshot(rev, &doc((1 << 53) - 1)),
            (1 << 53) - 1,
        ),
        refused(
            "sequence 2^53",
            &snapshot(rev, &doc(1 << 53)),
            "sequence-out-of-range",
        ),
        refused(
            "sequence 2^64-1 would pin every verifier",
            &snapshot(rev, &doc(u64::MAX)),
            "sequence-out-of-range",
        ),
        accepted(
            "issued far in the future is accepted (staleness is the verifier's)",
            &snapshot(rev, &snapshot_doc(1, 253_402_300_799, empty, &[])),
            1,
        ),
        refused(
            "signed by a trusted key not marked revocation_signer",
            &snapshot(s, &doc(1)),
            "not-revocation-signer",
        ),
        refused(
            "signed by an unknown key",
            &snapshot(&third, &doc(1)),
            "unknown-key",
        ),
        refused("a bit flipped in the signature", &flipped, "bad-signature"),
        refused("signed under the code tag", &code_tag, "bad-signature"),
        refused(
            "version 2",
            &[&[2u8][..], &snapshot(rev, &doc(1))[1..]].concat(),
            "unsupported-version",
        ),
        refused("69 bytes", &snapshot(rev, &doc(1))[..69], "truncated"),
        refused(
            "an unknown top-level key",
            &snapshot(rev, &snapshot_doc(1, ISSUED, empty, &[kv(6, uint(0))])),
            "invalid-value",
        ),
        refused(
            "a text top-level key",
            &snapshot(
                rev,
                &snapshot_doc(1, ISSUED, empty, &[(text("x"), uint(0))]),
            ),
            "key-not-unsigned",
        ),
        refused(
            "the keys list missing",
            &snapshot(
                rev,
                &map(&[
                    kv(0, uint(1)),
                    kv(1, uint(ISSUED)),
                    kv(2, arr(&[])),
                    kv(3, arr(&[])),
                    kv(4, arr(&[])),
                ]),
            ),
            "missing-field",
        ),
        refused(
            "a serial entry of three elements",
            &snapshot(
                rev,
                &snapshot_doc(
                    1,
                    ISSUED,
                    [&[arr(&[bstr(&k), uint(1), uint(0)])], &[], &[], &[]],
                    &[],
                ),
            ),
            "wrong-type",
        ),
        refused(
            "a range entry of four elements",
            &snapshot(
                rev,
                &snapshot_doc(
                    1,
                    ISSUED,
                    [
                        &[],
                        &[arr(&[bstr(&k), uint(1), uint(2), uint(0)])],
                        &[],
                        &[],
                    ],
                    &[],
                ),
            ),
            "wrong-type",
        ),
        refused(
            "a kid of three bytes",
            &snapshot(
                rev,
                &snapshot_doc(1, ISSUED, [&[entry_kid3()], &[], &[], &[]], &[]),
            ),
            "wrong-type",
        ),
        refused(
            "reason 6 is unknown",
            &snapshot(
                rev,
                &snapshot_doc(1, ISSUED, [&[serial(1, 6)], &[], &[], &[]], &[]),
            ),
            "invalid-value",
        ),
        refused(
            "a range with first > last",
            &snapshot(
                rev,
                &snapshot_doc(1, ISSUED, [&[], &[range(5, 4, 0)], &[], &[]], &[]),
            ),
            "invalid-value",
        ),
        refused(
            "the same serial twice",
            &snapshot(
                rev,
                &snapshot_doc(
                    1,
                    ISSUED,
                    [&[serial(1, 0), serial(1, 1)], &[], &[], &[]],
                    &[],
                ),
            ),
            "invalid-value",
        ),
        refused(
            "a lot breaking the text rule",
            &snapshot(
                rev,
                &snapshot_doc(
                    1,
                    ISSUED,
                    [&[], &[], &[entry(k, &[text(" L")], 0, 20_000)], &[]],
                    &[],
                ),
            ),
            "invalid-value",
        ),
        refused(
            "the sequence in a long form",
            &snapshot(rev, &long_sequence),
            "non-canonical-cbor",
        ),
        refused(
            "a nested indefinite-length chunk in a lot",
            &snapshot(rev, &nested_chunk),
            "invalid-cbor",
        ),
        accepted(
            "entries in any order",
            &snapshot(
                rev,
                &snapshot_doc(
                    1,
                    ISSUED,
                    [&[serial(9, 0), serial(1, 0)], &[], &[], &[]],
                    &[],
                ),
            ),
            1,
        ),
        accepted(
            "overlapping ranges",
            &snapshot(
                rev,
                &snapshot_doc(
                    1,
                    ISSUED,
                    [
                        &[],
                        &[range(0, 10, 0), range(5, 20, 1), range(0, 10, 2)],
                        &[],
                        &[],
                    ],
                    &[],
                ),
            ),
            1,
        ),
    ];
    // Signer validity: the UTC day of `issued` against valid_from/valid_until.
    let with_validity = |extra: &str| {
        format!(
            "{}[[key]]\nname = \"revocation-key\"\npublic_key = \"{}\"\nrevocation_signer = true\n{extra}",
            trust_toml(&s.key, ""),
            rev.key.public_key().to_hex()
        )
    };
    let plain = snapshot(rev, &doc(1));
    let mut v = refused(
        "signer's valid_until the day before issued",
        &plain,
        "key-not-valid",
    );
    v["trust_store"] = json!(with_validity("valid_until = 2026-11-17\n"));
    cases.push(v);
    let mut v = accepted(
        "signer's valid_until the day of issued (inclusive)",
        &plain,
        1,
    );
    v["trust_store"] = json!(with_validity("valid_until = 2026-11-18\n"));
    cases.push(v);
    let mut v = refused(
        "signer's valid_from the day after issued",
        &plain,
        "key-not-valid",
    );
    v["trust_store"] = json!(with_validity("valid_from = 2026-11-19\n"));
    cases.push(v);
    // Codes under a snapshot: the order keys, serials, ranges, lots; revocation before expiry.
    let one = |lists: [&[Vec<u8>]; 4]| snapshot(rev, &snapshot_doc(1, ISSUED, lists, &[]));
    cases.extend([
        judged(
            "no entry for the code",
            &one([&[serial(1, 1)], &[range(0, 9, 0)], &[], &[]]),
            sample_text,
            "genuine",
            None,
        ),
        judged(
            "its serial listed",
            &one([&[serial(123_456_789, 1)], &[], &[], &[]]),
            sample_text,
            "revoked",
            Some("stolen"),
        ),
        judged(
            "a range's last serial",
            &one([&[], &[range(123_456_700, 123_456_789, 0)], &[], &[]]),
            sample_text,
            "revoked",
            Some("recalled"),
        ),
        judged(
            "the range just below",
            &one([&[], &[range(0, 123_456_788, 0)], &[], &[]]),
            sample_text,
            "genuine",
            None,
        ),
        judged(
            "its lot listed",
            &one([&[], &[], &[entry(k, &[text("L231212-01")], 2, 20_000)], &[]]),
            sample_text,
            "revoked",
            Some("destroyed"),
        ),
        judged(
            "another key's lot",
            &one([
                &[],
                &[],
                &[entry(rev.kid(), &[text("L231212-01")], 2, 20_000)],
                &[],
            ]),
            sample_text,
            "genuine",
            None,
        ),
        judged(
            "its key from its date of manufacture",
            &one([&[], &[], &[], &[entry(k, &[uint(SAMPLE_DATE)], 4, 20_000)]]),
            sample_text,
            "revoked",
            Some("key-compromised"),
        ),
        judged(
            "its key from the day after",
            &one([
                &[],
                &[],
                &[],
                &[entry(k, &[uint(SAMPLE_DATE + 1)], 4, 20_000)],
            ]),
            sample_text,
            "genuine",
            None,
        ),
        judged(
            "a serial entry is reported before an overlapping range",
            &one([
                &[serial(123_456_789, 3)],
                &[range(0, u64::MAX, 0)],
                &[],
                &[],
            ]),
            sample_text,
            "revoked",
            Some("counterfeit-reported"),
        ),
        judged(
            "of overlapping ranges, the first listed is reported",
            &one([
                &[],
                &[range(123_456_789, 123_456_789, 5), range(0, u64::MAX, 0)],
                &[],
                &[],
            ]),
            sample_text,
            "revoked",
            Some("decommissioned"),
        ),
        judged(
            "the key before the serial",
            &one([
                &[serial(123_456_789, 1)],
                &[],
                &[],
                &[entry(k, &[uint(0)], 4, 20_000)],
            ]),
            sample_text,
            "revoked",
            Some("key-compromised"),
        ),
        judged(
            "revoked and expired is revoked",
            &one([&[serial(123_456_789, 1)], &[], &[], &[]]),
            &b32(&expired),
            "revoked",
            Some("stolen"),
        ),
        judged(
            "expired and not revoked is expired",
            &one([&[serial(1, 1)], &[], &[], &[]]),
            &b32(&expired),
            "expired",
            None,
        ),
    ]);
    for c in cases.iter_mut() {
        if c["expect"]["verdict"] == "expired" {
            c["expect"]["error"] = json!("expired");
        }
    }
    let mut f = file(
        "Revocation snapshots (section 15): framing, signer, document rules, sequence range, and codes judged under them.",
        s,
        cases,
    );
    f["trust_store"] = json!(trust);
    f
}

fn entry_kid3() -> Vec<u8> {
    arr(&[bstr(&[1, 2, 3]), uint(1), uint(0), uint(20_000)])
}
