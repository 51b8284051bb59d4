//! Trust at scale (issue 13), through the real binary: an offline root
//! certifying line and registry keys, certificate constraints, receipts,
//! trust bundles, and a stolen line key cut off without back-dating.

use std::path::{Path, PathBuf};

use hallmark::Payload;
use hallmark_issuer::SecretKey;

use crate::common::*;

/// 2026-11-20T00:00:00Z, the clock of the scenario.
const DAY: u64 = 1_795_132_800;

struct Pki {
    dir: tempfile::TempDir,
    roots: PathBuf,
    /// roots.toml plus the line certificate (what the registry checks against).
    trust: PathBuf,
    line: PathBuf,
    line_cert: PathBuf,
    registry: PathBuf,
    registry_cert: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn kid_of(key: &Path) -> String {
    let out = hallmark(&["key", "show", "--json", p(key)]).ok();
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

fn cert_issue(root: &Path, subject: &Path, out: &Path, extra: &[&str]) -> Hallmark {
    hallmark(&[
        "cert",
        "issue",
        "--root",
        p(root),
        p(subject),
        "--out",
        p(out),
    ])
    .args(extra)
    .now(DAY)
}

/// A root, a line key certified for DRN-* parts, 2023-2024 dates and at
/// most 100 serials, and a registry key certified for the registry usage.
fn pki() -> Pki {
    let dir = tempdir();
    let d = dir.path();
    let root = new_key(d, "acme-root");
    let line = new_key(d, "line3");
    let registry = new_key(d, "registry");
    let roots = d.join("roots.toml");
    hallmark(&["trust", "add", "--trust", p(&roots), "--root"])
        .args(&[p(&d.join("acme-root.pub"))])
        .ok();
    let line_cert = d.join("line3.cert");
    cert_issue(
        &root,
        &d.join("line3.pub"),
        &line_cert,
        &[
            "--valid-from",
            "2023-01-01",
            "--valid-until",
            "2024-12-31",
            "--part",
            "DRN-*",
            "--max-count",
            "100",
            "--trust",
            p(&roots),
        ],
    )
    .ok();
    let registry_cert = d.join("registry.cert");
    cert_issue(
        &root,
        &d.join("registry.pub"),
        &registry_cert,
        &[
            "--valid-from",
            "2026-01-01",
            "--valid-until",
            "2027-12-31",
            "--usage",
            "registry",
        ],
    )
    .ok();
    let trust = d.join("trust.toml");
    std::fs::copy(&roots, &trust).unwrap();
    hallmark(&[
        "trust",
        "add",
        "--trust",
        p(&trust),
        "--cert",
        p(&line_cert),
    ])
    .ok();
    Pki {
        roots,
        trust,
        line,
        line_cert,
        registry,
        registry_cert,
        dir,
    }
}

/// Mints `count` genuine codes of the line key with its certificate.
fn mint_line(pki: &Pki, count: u64, extra: &[&str]) -> Vec<String> {
    mint(&pki.line)
        .count(count)
        .args(&["--cert", p(&pki.line_cert)])
        .args(extra)
        .now(DAY)
        .lines()
}

fn verify_bundle(pki: &Pki, bundle: &Path, state: &Path, codes: &[String]) -> Output {
    let mut v = verify(&pki.roots)
        .args(&["--bundle", p(bundle)])
        .state_dir(state)
        .json()
        .today("2026-11-25")
        .now(DAY + 5 * 86_400);
    for c in codes {
        v = v.args(&[c]);
    }
    v.run()
}

use std::process::Output;

/// A code signed with `key` directly, as a thief holding the key file would.
fn forge(key: &Path, serial: u64, part: &str, lot: &str, date: &str) -> String {
    let key = SecretKey::read(key).unwrap();
    let payload = Payload::new(serial, part, lot, date.parse().unwrap()).unwrap();
    hallmark_issuer::mint(&key, &payload).unwrap()
}

fn receipt(pki: &Pki, manifest: &Path, out: &Path, now: u64) {
    hallmark(&["trust", "receipt", "--key", p(&pki.registry)])
        .args(&["--manifest", p(manifest), "--trust", p(&pki.trust)])
        .out(out)
        .now(now)
        .ok();
}

#[test]
fn a_stolen_line_key_is_cut_off_offline_and_genuine_codes_stay_genuine() {
    let pki = pki();
    let genuine = mint_line(&pki, 5, &[]);
    let manifest = pki.path("b1.manifest");
    batches_export(&pki.line).out(&manifest).now(DAY).ok();
    receipt(&pki, &manifest, &pki.path("b1.receipt"), DAY + 60);

    // The key is stolen at DAY + 1 h. The thief back-dates codes into the
    // window, outside and inside the registered serials, and registers a
    // batch of its own after the theft.
    let stolen = DAY + 3600;
    let thief = [
        forge(&pki.line, 7, "DRN-2980", "L231212-01", "2023-12-12"),
        forge(&pki.line, 2, "DRN-9999", "L231212-01", "2023-12-12"),
        forge(&pki.line, 3, "DRN-2980", "L-OTHER", "2023-12-12"),
        forge(&pki.line, 4, "DRN-2980", "L231212-01", "2023-01-02"),
    ];
    let late = mint_line(&pki, 3, &[]);
    let late_manifest = pki.path("b2.manifest");
    batches_export(&pki.line)
        .out(&late_manifest)
        .now(DAY + 7200)
        .ok();
    receipt(&pki, &late_manifest, &pki.path("b2.receipt"), DAY + 7200);

    // Before the compromise is published, every one verifies genuine offline.
    let cert = ["--cert", p(&pki.line_cert)];
    let before = verify(&pki.roots)
        .args(&cert)
        .today("2026-11-25")
        .args(&[&thief[0], &genuine[0]])
        .run();
    assert_eq!(code(&before), 0, "{}", stderr(&before));

    let kid = kid_of(&pki.line);
    let bundle = pki.path("bundle.bin");
    let build = |sequence: &str, out: &Path| {
        hallmark(&["trust", "bundle", "build", "--key", p(&pki.registry)])
            .args(&["--cert", p(&pki.registry_cert)])
            .args(&["--certificate", p(&pki.line_cert)])
            .args(&[
                "--batch",
                &format!("{}:{}", p(&manifest), p(&pki.path("b1.receipt"))),
            ])
            .args(&[
                "--batch",
                &format!("{}:{}", p(&late_manifest), p(&pki.path("b2.receipt"))),
            ])
            .args(&["--compromised", &format!("{kid}@{stolen}")])
            .args(&["--sequence", sequence])
            .out(out)
            .now(DAY + 4 * 86_400)
            .ok()
    };
    build("10", &bundle);
    let state = pki.path("state");
    let mut all: Vec<String> = genuine.clone();
    all.extend(thief.iter().cloned());
    all.extend(late.iter().cloned());
    let out = verify_bundle(&pki, &bundle, &state, &all);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let reports = json_lines(&out);
    for (i, r) in reports.iter().enumerate() {
        if i < genuine.len() {
            assert_eq!(r["verdict"], "genuine", "genuine code {i}: {r}");
        } else {
            assert_eq!(r["verdict"], "revoked", "thief or late code {i}: {r}");
            assert_eq!(r["revocation"]["reason"], "key-compromised", "{r}");
        }
    }
    assert!(
        stderr(&out).contains("1 compromised key;"),
        "{}",
        stderr(&out)
    );

    // Altered in any byte (a sample of them): refused, exit 2.
    let bytes = std::fs::read(&bundle).unwrap();
    for at in [0, 3, 10, bytes.len() / 2, bytes.len() - 1] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        let tampered = pki.path("tampered.bin");
        std::fs::write(&tampered, &bad).unwrap();
        let out = verify_bundle(&pki, &tampered, &pki.path("state-t"), &genuine[..1]);
        assert_eq!(code(&out), 2, "byte {at}: {}", stderr(&out));
        assert!(stderr(&out).contains("trust bundle"), "{}", stderr(&out));
    }
    // An older sequence than one seen: a rollback, refused.
    let old = pki.path("old.bin");
    build("9", &old);
    let out = verify_bundle(&pki, &old, &state, &genuine[..1]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("rollback"), "{}", stderr(&out));
    // Stale: warned, genuine codes reported stale.
    let out = verify(&pki.roots)
        .args(&["--bundle", p(&bundle)])
        .state_dir(&state)
        .args(&["--max-age", "1d"])
        .now(DAY + 30 * 86_400)
        .today("2026-12-20")
        .args(&[&genuine[0]])
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("stale"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("older than --max-age"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bundle_from_a_key_not_certified_for_the_registry_is_refused() {
    let pki = pki();
    // Signed by the line key (codes and manifests only), its certificate inside.
    let bundle = pki.path("bundle.bin");
    hallmark(&["trust", "bundle", "build", "--key", p(&pki.line)])
        .args(&["--cert", p(&pki.line_cert), "--sequence", "1"])
        .out(&bundle)
        .now(DAY)
        .ok();
    let codes = mint_line(&pki, 1, &[]);
    let out = verify_bundle(&pki, &bundle, &pki.path("s"), &codes);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("may not sign trust bundle"),
        "{}",
        stderr(&out)
    );
    // From a key no root certified: unknown key.
    let stray = new_key(pki.dir.path(), "stray");
    hallmark(&["trust", "bundle", "build", "--key", p(&stray)])
        .args(&["--sequence", "1", "--force"])
        .out(&bundle)
        .now(DAY)
        .ok();
    let out = verify_bundle(&pki, &bundle, &pki.path("s"), &codes);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown key"), "{}", stderr(&out));
}

#[test]
fn certificates_enforce_every_constraint_and_exactly_two_levels() {
    let pki = pki();
    let d = pki.dir.path();
    let cert = ["--cert", p(&pki.line_cert)];
    let judge = |code_text: &str| -> serde_json::Value {
        let out = verify(&pki.roots)
            .args(&cert)
            .json()
            .today("2026-11-25")
            .args(&[code_text])
            .run();
        json_lines(&out).remove(0)
    };
    // Part outside the patterns: out-of-scope (part); date outside the window:
    // key-not-valid; inside: genuine.
    let r = judge(&forge(&pki.line, 1, "XYZ-1", "L1", "2023-12-12"));
    assert_eq!(
        (r["verdict"].as_str(), r["error"].as_str()),
        (Some("out-of-scope"), Some("part-out-of-scope")),
        "{r}"
    );
    let r = judge(&forge(&pki.line, 1, "DRN-1", "L1", "2025-01-01"));
    assert_eq!(r["verdict"], "key-not-valid", "{r}");
    assert_eq!(
        judge(&forge(&pki.line, 1, "DRN-1", "L1", "2024-12-31"))["verdict"],
        "genuine"
    );
    // A code signed by the root itself: refused (root-key).
    let r = judge(&forge(
        &d.join("acme-root.key"),
        1,
        "DRN-1",
        "L1",
        "2023-12-12",
    ));
    assert_eq!(
        (r["verdict"].as_str(), r["error"].as_str()),
        (Some("key-not-valid"), Some("root-key")),
        "{r}"
    );
    // A chain of three: the line key certifying another key is refused.
    let sub = new_key(d, "sub");
    let sub_cert = d.join("sub.cert");
    cert_issue(
        &pki.line,
        &d.join("sub.pub"),
        &sub_cert,
        &["--valid-from", "2023-01-01", "--valid-until", "2023-12-31"],
    )
    .ok();
    let out = verify(&pki.trust)
        .args(&["--cert", p(&sub_cert)])
        .args(&[&forge(&sub, 1, "DRN-1", "L1", "2023-06-01")])
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("chains have exactly two levels"),
        "{}",
        stderr(&out)
    );
    // A window outside the root's.
    let roots2 = d.join("roots2.toml");
    hallmark(&["trust", "add", "--trust", p(&roots2), "--root"])
        .args(&[p(&d.join("acme-root.pub")), "--valid-from", "2024-01-01"])
        .ok();
    let out = verify(&roots2).args(&cert).args(&["X"]).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("outside the window of its root"),
        "{}",
        stderr(&out)
    );
    // A malformed (truncated) and an oversized certificate.
    let bytes = std::fs::read(&pki.line_cert).unwrap();
    let cut = d.join("cut.cert");
    std::fs::write(&cut, &bytes[..bytes.len() - 1]).unwrap();
    let out = verify(&pki.roots).args(&["--cert", p(&cut), "X"]).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let big = d.join("big.cert");
    std::fs::write(&big, vec![1u8; hallmark::MAX_CERTIFICATE_BYTES + 1]).unwrap();
    let out = verify(&pki.roots).args(&["--cert", p(&big), "X"]).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("the certificate"), "{}", stderr(&out));
}

#[test]
fn mint_refuses_what_its_certificate_does_not_allow_before_printing_anything() {
    let pki = pki();
    for (args, says) in [
        (
            mint(&pki.line).date("2025-01-01"),
            "outside certificate line3's window",
        ),
        (
            mint(&pki.line).part("XYZ-1"),
            "outside certificate line3's part patterns",
        ),
        (mint(&pki.line).count(101), "allows 100 serials in all"),
    ] {
        let out = args.args(&["--cert", p(&pki.line_cert)]).now(DAY).run();
        assert_eq!(code(&out), 2, "{says}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{says}: printed codes");
        assert!(stderr(&out).contains(says), "{says}: {}", stderr(&out));
    }
    // The count is checked against what the ledger already holds.
    mint_line(&pki, 60, &[]);
    let out = mint(&pki.line)
        .count(41)
        .args(&["--cert", p(&pki.line_cert)])
        .now(DAY)
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("already holds 60"),
        "{}",
        stderr(&out)
    );
    // Another key's certificate.
    let other = new_key(pki.dir.path(), "other");
    let out = mint(&other)
        .args(&["--cert", p(&pki.line_cert)])
        .now(DAY)
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("is for key"), "{}", stderr(&out));
}

#[test]
fn cert_show_says_whether_it_verified() {
    let pki = pki();
    let out = hallmark(&["cert", "show", p(&pki.line_cert)]).ok();
    assert!(stdout(&out).contains("NOT VERIFIED"), "{}", stdout(&out));
    let out = hallmark(&[
        "cert",
        "show",
        "--json",
        "--trust",
        p(&pki.roots),
        p(&pki.line_cert),
    ])
    .ok();
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["parts"][0], "DRN-*");
    assert_eq!(v["max_count"], 100);
    // Against a store without its root: exit 2.
    let out = hallmark(&[
        "cert",
        "show",
        "--trust",
        p(&demo_trust()),
        p(&pki.line_cert),
    ])
    .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown root"), "{}", stderr(&out));
}

#[test]
fn a_stolen_line_key_is_cut_off_for_batch_opaque_serials_too() {
    let pki = pki();
    let genuine: Vec<String> = mint_line(&pki, 20, &["--serials", "batch"]);
    let manifest = pki.path("b1.manifest");
    batches_export(&pki.line).out(&manifest).now(DAY).ok();
    receipt(&pki, &manifest, &pki.path("b1.receipt"), DAY + 60);
    // The manifest discloses K_b: the thief can compute serials of the
    // batch's block, but only the 20 receipted counters are members.
    let trust =
        hallmark::TrustStore::from_toml(&std::fs::read_to_string(&pki.trust).unwrap()).unwrap();
    let m = hallmark::BatchManifest::verify(&std::fs::read(&manifest).unwrap(), &trust).unwrap();
    let key = m.batches[0]
        .batch_key
        .clone()
        .expect("a batch-opaque batch");
    let perm = hallmark::BatchPermutation::new(key.key);
    let outside = perm.serial(key.number, 20).unwrap();
    let next_batch = hallmark::BatchPermutation::new([9; 32])
        .serial(key.number + 1, 0)
        .unwrap();
    let member = hallmark::UnverifiedCode::decode(&genuine[3])
        .unwrap()
        .payload()
        .serial();
    let thief = [
        forge(&pki.line, outside, "DRN-2980", "L231212-01", "2023-12-12"),
        forge(
            &pki.line,
            next_batch,
            "DRN-2980",
            "L231212-01",
            "2023-12-12",
        ),
        forge(&pki.line, member, "DRN-2980", "L-OTHER", "2023-12-12"),
    ];
    let kid = kid_of(&pki.line);
    let bundle = pki.path("bundle.bin");
    hallmark(&["trust", "bundle", "build", "--key", p(&pki.registry)])
        .args(&[
            "--cert",
            p(&pki.registry_cert),
            "--certificate",
            p(&pki.line_cert),
        ])
        .args(&[
            "--batch",
            &format!("{}:{}", p(&manifest), p(&pki.path("b1.receipt"))),
        ])
        .args(&[
            "--compromised",
            &format!("{kid}@{}", DAY + 3600),
            "--sequence",
            "5",
        ])
        .out(&bundle)
        .now(DAY + 4 * 86_400)
        .ok();
    let mut all = genuine.clone();
    all.extend(thief.iter().cloned());
    let out = verify_bundle(&pki, &bundle, &pki.path("state"), &all);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    for (i, r) in json_lines(&out).iter().enumerate() {
        if i < genuine.len() {
            assert_eq!(r["verdict"], "genuine", "genuine code {i}: {r}");
        } else {
            assert_eq!(
                r["revocation"]["reason"], "key-compromised",
                "thief code {i}: {r}"
            );
        }
    }
}
