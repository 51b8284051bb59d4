//! The test-vector driver: runs every case of every file in tests/vectors/.
//!
//! Each file names a fixed test key, a default trust store and the date to
//! check expiry against; each case gives an input (and optionally its own trust
//! store) and the expected verdict, error kind, canonical text and payload.

use std::path::Path;

use hallmark::{Date, RevocationSnapshot, TrustStore, UnverifiedCode, Verdict, Verifier};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    description: String,
    format_version: u8,
    test_key: TestKey,
    today: String,
    trust_store: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestKey {
    seed: String,
    public_key: String,
    kid: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    input: Option<String>,
    trust_store: Option<String>,
    bytes: Option<String>,
    payload_cbor: Option<String>,
    /// A revocation snapshot (hex) to verify, and to judge `input` under.
    snapshot: Option<String>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    verdict: String,
    error: Option<String>,
    canonical: Option<String>,
    payload: Option<Value>,
    /// For an accepted snapshot: its sequence.
    sequence: Option<u64>,
    /// For a revoked code: the revocation's reason.
    reason: Option<String>,
}

fn payload_json(p: &hallmark::Payload) -> Value {
    serde_json::json!({
        "serial": p.serial(),
        "part": p.part(),
        "lot": p.lot(),
        "date": p.date().to_string(),
        "expiry": p.expiry().map(|d| d.to_string()),
        "extensions": p.extensions().iter()
            .map(|e| serde_json::json!({"key": e.key(), "cbor": hex::encode(e.value_cbor())}))
            .collect::<Vec<_>>(),
    })
}

/// Runs one case; returns a description of the mismatch, if any.
fn run_case(
    file: &File,
    trust: &Result<TrustStore, hallmark::Error>,
    case: &Case,
) -> Result<(), String> {
    let today: Date = file.today.parse().map_err(|e| format!("today: {e}"))?;
    let trust = match (&case.trust_store, trust) {
        (Some(toml), _) => TrustStore::from_toml(toml),
        (None, t) => t.clone(),
    };
    let trust = match (trust, &case.input) {
        (Err(e), _) => {
            return match (case.expect.verdict.as_str(), case.expect.error.as_deref()) {
                ("error", Some(kind)) if kind == e.kind() => Ok(()),
                _ => Err(format!("trust store refused with {} ({e})", e.kind())),
            };
        }
        (Ok(_), None) if case.snapshot.is_none() => {
            return Err("trust store loaded but the case expects it refused".into());
        }
        (Ok(t), _) => t,
    };
    if let Some(snapshot) = &case.snapshot {
        return run_snapshot_case(&trust, today, snapshot, case);
    }
    let input = case.input.as_deref().unwrap_or_default();
    check_verified(trust.verify_on(input, today), input, case)
}

/// A revocation snapshot case: the snapshot is accepted (with its sequence) or
/// refused (with a kind); with an `input`, the code's verdict under it.
fn run_snapshot_case(
    trust: &TrustStore,
    today: Date,
    snapshot: &str,
    case: &Case,
) -> Result<(), String> {
    let bytes = hex::decode(snapshot).map_err(|e| format!("snapshot hex: {e}"))?;
    let snapshot = match RevocationSnapshot::verify(&bytes, trust) {
        Err(e) => {
            return match (case.expect.verdict.as_str(), case.expect.error.as_deref()) {
                ("error", Some(kind)) if kind == e.kind() => Ok(()),
                _ => Err(format!("snapshot refused with {} ({e})", e.kind())),
            };
        }
        Ok(s) => s,
    };
    let Some(input) = case.input.as_deref() else {
        if case.expect.verdict != "accepted" {
            return Err(format!(
                "snapshot accepted, expected {}",
                case.expect.verdict
            ));
        }
        return match case.expect.sequence {
            Some(seq) if seq == snapshot.sequence => Ok(()),
            other => Err(format!("sequence {} != {other:?}", snapshot.sequence)),
        };
    };
    let verdict = Verifier::new(trust, today)
        // Never stale: the snapshot judged as of its own issue time.
        .with_revocations(&snapshot, snapshot.issued, u64::MAX)
        .verify(input);
    match verdict {
        Verdict::Revoked { revocation, .. } => {
            if case.expect.verdict != "revoked" {
                return Err(format!("revoked, expected {}", case.expect.verdict));
            }
            match case.expect.reason.as_deref() {
                Some(r) if r == revocation.reason.as_str() => Ok(()),
                other => Err(format!("reason {} != {other:?}", revocation.reason)),
            }
        }
        Verdict::Genuine(verified) => check_verified(Ok(verified), input, case),
        other => match other.refusal() {
            Some(e) => check_verified(Err(e), input, case),
            None => Err(format!("unexpected verdict {}", other.kind().as_str())),
        },
    }
}

/// Compares a code's verification result with the case's expectation.
fn check_verified(
    result: Result<hallmark::Verified, hallmark::Error>,
    input: &str,
    case: &Case,
) -> Result<(), String> {
    match result {
        Ok(v) => {
            if case.expect.verdict != "genuine" {
                return Err(format!("verified, expected {}", case.expect.verdict));
            }
            let canonical = case
                .expect
                .canonical
                .as_deref()
                .ok_or("no canonical text")?;
            if v.to_text() != canonical {
                return Err(format!("canonical text {} != {canonical}", v.to_text()));
            }
            if Some(&payload_json(v.payload())) != case.expect.payload.as_ref() {
                return Err(format!(
                    "payload {} != {:?}",
                    payload_json(v.payload()),
                    case.expect.payload
                ));
            }
            // One canonical text per code: decode-then-encode is the canonical form.
            let code = UnverifiedCode::decode(input).map_err(|e| e.to_string())?;
            if code.to_text() != canonical {
                return Err("decode-then-encode is not the canonical text".into());
            }
            if let Some(bytes) = &case.bytes {
                if hex::encode(code.to_bytes()) != *bytes {
                    return Err("binary form differs".into());
                }
                let back = hex::decode(bytes).map_err(|e| e.to_string())?;
                let from_bytes = UnverifiedCode::from_bytes(&back).map_err(|e| e.to_string())?;
                if from_bytes != code {
                    return Err("from_bytes differs from decode".into());
                }
            }
            if let Some(cbor) = &case.payload_cbor
                && hex::encode(v.payload().to_cbor()) != *cbor
            {
                return Err("payload re-encoding differs".into());
            }
            Ok(())
        }
        Err(e) => {
            if e.verdict() != case.expect.verdict {
                return Err(format!(
                    "verdict {} ({}: {e}), expected {}",
                    e.verdict(),
                    e.kind(),
                    case.expect.verdict
                ));
            }
            match &case.expect.error {
                Some(kind) if kind == e.kind() => Ok(()),
                other => Err(format!("error {} ({e}), expected {other:?}", e.kind())),
            }
        }
    }
}

#[test]
fn vectors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        // Certificates and bundles have their own schema and runner (below);
        // aggregation.json its own runner (crates/hallmark/tests/aggregation_vectors.rs).
        .filter(|p| {
            !CERTIFICATE_FILES
                .iter()
                .chain(&["aggregation.json"])
                .any(|f| p.file_name().is_some_and(|n| n == *f))
        })
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 6,
        "vector files missing from {}",
        dir.display()
    );
    let (mut total, mut failures) = (0, Vec::new());
    for path in &paths {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file: File =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(file.format_version, 1);
        assert!(!file.description.is_empty());
        // The file's key must be what its seed says.
        let mut seed = [0u8; 32];
        hex::decode_to_slice(&file.test_key.seed, &mut seed)
            .unwrap_or_else(|e| panic!("seed: {e}"));
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        assert_eq!(
            hex::encode(key.verifying_key().as_bytes()),
            file.test_key.public_key
        );
        assert_eq!(
            hallmark::KeyId::derive(key.verifying_key().as_bytes()).to_string(),
            file.test_key.kid
        );
        let trust = TrustStore::from_toml(&file.trust_store);
        for case in &file.cases {
            total += 1;
            if let Err(why) = run_case(&file, &trust, case) {
                failures.push(format!("{} / {}: {why}", path.display(), case.name));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{total} vectors passed");
}

// --- certificates.json and bundles.json (docs/FORMAT.md §17-19, Appendix A). ---

/// The files [`certificate_vectors`] runs.
const CERTIFICATE_FILES: [&str; 2] = ["certificates.json", "bundles.json"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertFile {
    description: String,
    format_version: u8,
    root: NamedKey,
    keys: Vec<NamedKey>,
    today: String,
    trust_store: String,
    cases: Vec<CertCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedKey {
    name: String,
    seed: String,
    public_key: String,
    kid: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertCase {
    name: String,
    /// Replaces the file's trust store.
    trust_store: Option<String>,
    /// Signed certificates (hex), added in order.
    #[serde(default)]
    certificates: Vec<String>,
    /// A batch receipt (hex) to verify.
    receipt: Option<String>,
    /// A trust bundle (hex) to verify.
    bundle: Option<String>,
    /// A code to judge (under the bundle, if any).
    input: Option<String>,
    expect: CertExpect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CertExpect {
    verdict: String,
    error: Option<String>,
    reason: Option<String>,
    sequence: Option<u64>,
    registered: Option<u64>,
}

fn refused_as(expect: &CertExpect, what: &str, e: &hallmark::Error) -> Result<(), String> {
    match (expect.verdict.as_str(), expect.error.as_deref()) {
        ("error", Some(kind)) if kind == e.kind() => Ok(()),
        _ => Err(format!("{what} refused with {} ({e})", e.kind())),
    }
}

fn run_cert_case(file: &CertFile, case: &CertCase) -> Result<(), String> {
    let today: Date = file.today.parse().map_err(|e| format!("today: {e}"))?;
    let expect = &case.expect;
    let text = case.trust_store.as_deref().unwrap_or(&file.trust_store);
    let mut trust = match TrustStore::from_toml(text) {
        Ok(t) => t,
        Err(e) => return refused_as(expect, "trust store", &e),
    };
    for (i, c) in case.certificates.iter().enumerate() {
        let bytes = hex::decode(c).map_err(|e| format!("certificate {i} hex: {e}"))?;
        if let Err(e) = trust.add_certificate(&bytes) {
            return refused_as(expect, &format!("certificate {i}"), &e);
        }
    }
    if let Some(receipt) = &case.receipt {
        let bytes = hex::decode(receipt).map_err(|e| format!("receipt hex: {e}"))?;
        return match hallmark::BatchReceipt::verify(&bytes, &trust) {
            Err(e) => refused_as(expect, "receipt", &e),
            Ok((r, _))
                if expect.verdict == "accepted" && expect.registered == Some(r.registered) =>
            {
                Ok(())
            }
            Ok((r, _)) => Err(format!("receipt accepted (registered {})", r.registered)),
        };
    }
    let bundle = match &case.bundle {
        Some(hex_bundle) => {
            let bytes = hex::decode(hex_bundle).map_err(|e| format!("bundle hex: {e}"))?;
            match hallmark::TrustBundle::verify(&bytes, &trust) {
                Err(e) => return refused_as(expect, "bundle", &e),
                Ok(b) => Some(b),
            }
        }
        None => None,
    };
    let Some(input) = case.input.as_deref() else {
        return match (&bundle, expect.verdict.as_str()) {
            (Some(b), "accepted") if expect.sequence == Some(b.sequence) => Ok(()),
            (None, "accepted") => Ok(()),
            (Some(b), _) => Err(format!("bundle accepted (sequence {})", b.sequence)),
            (None, v) => Err(format!("accepted, expected {v}")),
        };
    };
    let verdict = match &bundle {
        // Never stale: judged as of the bundle's own issue time.
        Some(b) => Verifier::new(b.trust(), today)
            .with_bundle(b, b.issued, u64::MAX)
            .verify(input),
        None => Verifier::new(&trust, today).verify(input),
    };
    let kind = verdict.kind().as_str();
    if kind != expect.verdict {
        let why = verdict.refusal().map(|e| format!(" ({}: {e})", e.kind()));
        return Err(format!(
            "verdict {kind}{}, expected {}",
            why.unwrap_or_default(),
            expect.verdict
        ));
    }
    let detail = match &verdict {
        Verdict::Revoked { revocation, .. } => (None, Some(revocation.reason.as_str())),
        other => (other.refusal().map(|e| e.kind()), None),
    };
    if detail != (expect.error.as_deref(), expect.reason.as_deref()) {
        return Err(format!(
            "error/reason {detail:?}, expected {:?}/{:?}",
            expect.error, expect.reason
        ));
    }
    Ok(())
}

#[test]
fn certificate_vectors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let (mut total, mut failures) = (0, Vec::new());
    for name in CERTIFICATE_FILES {
        let path = dir.join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file: CertFile =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(file.format_version, 1);
        assert!(!file.description.is_empty());
        // Every key must be what its seed says.
        for key in std::iter::once(&file.root).chain(&file.keys) {
            let mut seed = [0u8; 32];
            hex::decode_to_slice(&key.seed, &mut seed).unwrap_or_else(|e| panic!("seed: {e}"));
            let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
            assert_eq!(
                hex::encode(public.as_bytes()),
                key.public_key,
                "{}",
                key.name
            );
            assert_eq!(
                hex::encode(hallmark::KeyId::derive(public.as_bytes()).to_bytes()),
                key.kid,
                "{}",
                key.name
            );
        }
        for case in &file.cases {
            total += 1;
            if let Err(why) = run_cert_case(&file, case) {
                failures.push(format!("{name} / {}: {why}", case.name));
            }
        }
    }
    assert!(total >= 100, "only {total} certificate and bundle vectors");
    assert!(
        failures.is_empty(),
        "{} of {total} certificate and bundle vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("{total} certificate and bundle vectors passed");
}

/// tests/vectors/batch/serials.json (FORMAT.md §13.4 and §14 key 8): the
/// issuer derives each K_b given there from the worked-example seed, the
/// verifier's permutation maps each (batch, counter) to the serial given and
/// back, and the signed manifest's batch contains exactly the members listed.
#[test]
fn batch_serial_vectors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/batch/serials.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["format_version"], 1);
    let mut seed = [0u8; 32];
    hex::decode_to_slice(file["test_key"]["seed"].as_str().unwrap(), &mut seed).unwrap();
    let key = hallmark_issuer::SecretKey::from_seed("vector-key", &seed).unwrap();
    assert_eq!(key.kid().to_string(), file["test_key"]["kid"]);
    let key32 = |v: &Value| -> [u8; 32] {
        let mut k = [0u8; 32];
        hex::decode_to_slice(v.as_str().unwrap(), &mut k).unwrap();
        k
    };
    let mut checked = 0;
    for batch in file["batches"].as_array().unwrap() {
        let b = u32::try_from(batch["batch"].as_u64().unwrap()).unwrap();
        let k = key32(&batch["key"]);
        assert_eq!(
            hallmark_issuer::Minter::batch_key(&key, b).unwrap(),
            k,
            "K_{b}"
        );
        let p = hallmark::BatchPermutation::new(k);
        for case in batch["serials"].as_array().unwrap() {
            let (c, serial) = (
                case["counter"].as_u64().unwrap(),
                case["serial"].as_u64().unwrap(),
            );
            assert_eq!(format!("{serial:016x}"), case["hex"]);
            assert_eq!(p.serial(b, c), Some(serial), "batch {b} counter {c}");
            assert_eq!(p.locate(serial), Some((b, c)));
            checked += 1;
        }
    }
    assert!(checked >= 30, "{checked}");
    let m = &file["manifest"];
    let trust = TrustStore::from_toml(file["trust_store"].as_str().unwrap()).unwrap();
    let bytes = hex::decode(m["bytes"].as_str().unwrap()).unwrap();
    let manifest = hallmark::BatchManifest::verify(&bytes, &trust).unwrap();
    let [batch] = manifest.batches.as_slice() else {
        panic!("one batch expected");
    };
    let bk = batch.batch_key.as_ref().expect("a batch key");
    assert_eq!(u64::from(bk.number), m["batch"].as_u64().unwrap());
    assert_eq!(bk.key, key32(&m["key"]));
    assert_eq!(
        (batch.start, batch.count),
        (0, m["count"].as_u64().unwrap())
    );
    assert!(batch.opaque);
    for s in m["members"].as_array().unwrap() {
        assert!(batch.contains(s.as_u64().unwrap()), "member {s}");
    }
    for s in m["non_members"].as_array().unwrap() {
        assert!(!batch.contains(s.as_u64().unwrap()), "non-member {s}");
    }
    // Any flipped byte of the manifest is refused.
    for i in [0, 5, bytes.len() / 2, bytes.len() - 1] {
        let mut t = bytes.clone();
        t[i] ^= 1;
        assert!(
            hallmark::BatchManifest::verify(&t, &trust).is_err(),
            "flip at {i}"
        );
    }
}
