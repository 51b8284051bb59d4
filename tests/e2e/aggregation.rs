//! `hallmark aggregate` and `hallmark verify --aggregation / --expect`.

use std::path::{Path, PathBuf};

use crate::common::*;

const DEMO_KID: &str = "8608b1b7";
const SSCC_CASE1: &str = "sscc:106141411234567897";
const SSCC_CASE2: &str = "sscc:006141411234567890";
const SSCC_PALLET: &str = "sscc:000000000000000000";

/// Writes `children` (one per line) and signs a manifest of them with the
/// demo key: the invocation's output.
fn aggregate(
    dir: &Path,
    name: &str,
    parent: &str,
    children: &[String],
) -> (PathBuf, std::process::Output) {
    let list = dir.join(format!("{name}.txt"));
    std::fs::write(&list, children.join("\n")).unwrap();
    let out = dir.join(format!("{name}.agg"));
    let o = hallmark(&[
        "aggregate",
        "--key",
        p(&demo_key()),
        "--parent",
        parent,
        "--children",
        p(&list),
        "--bizstep",
        "packing",
        "--location",
        "Plant 1",
        "--out",
        p(&out),
    ])
    .run();
    (out, o)
}

fn agg_ok(dir: &Path, name: &str, parent: &str, children: &[String]) -> PathBuf {
    let (out, o) = aggregate(dir, name, parent, children);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    out
}

fn verify_agg(trust: &Path, files: &[&Path], extra: &[&str]) -> std::process::Output {
    let mut v = verify(trust).today(TODAY);
    for f in files {
        v = v.args(&["--aggregation", p(f)]);
    }
    v.args(extra).run()
}

/// A pallet of two cases (3 + 2 codes): (case1, case2, pallet, codes).
fn pallet(dir: &Path) -> (PathBuf, PathBuf, PathBuf, Vec<String>) {
    let codes = mint_demo(dir, 5, &["--serial-start", "500"]);
    let c1 = agg_ok(dir, "case1", SSCC_CASE1, &codes[..3]);
    let c2 = agg_ok(dir, "case2", SSCC_CASE2, &codes[3..]);
    let pl = agg_ok(
        dir,
        "pallet",
        SSCC_PALLET,
        &[format!("agg:{}", p(&c1)), format!("agg:{}", p(&c2))],
    );
    (c1, c2, pl, codes)
}

#[test]
fn a_genuine_pallet_verifies_in_one_command() {
    let dir = tempdir();
    let (c1, c2, pl, _) = pallet(dir.path());
    let o = verify_agg(
        &demo_trust(),
        &[&pl, &c1, &c2],
        &["--json", "--spot-check", "2"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 6, "{}", stdout(&o));
    for l in &lines[..5] {
        assert_eq!(l["verdict"], "genuine");
        assert!(l["manifest"]["digest"].is_string());
    }
    let summary = &lines[5]["aggregation"];
    assert_eq!(summary["children"], 5);
    assert_eq!(summary["spot_check"].as_array().map(Vec::len), Some(2));
    assert!(
        stderr(&o).contains("5 children: 5 genuine"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("spot check"), "{}", stderr(&o));
    // A nested manifest missing: refused, exit 2.
    let o = verify_agg(&demo_trust(), &[&pl, &c1], &[]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn a_code_parent_is_verified_too() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 3, &["--serial-start", "700"]);
    let m = agg_ok(dir.path(), "unit", &codes[0], &codes[1..]);
    let o = verify_agg(&demo_trust(), &[&m], &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("parent\tgenuine\t"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn any_altered_byte_is_never_exit_0() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 2, &["--serial-start", "800"]);
    let m = agg_ok(dir.path(), "m", SSCC_CASE1, &codes);
    let bytes = std::fs::read(&m).unwrap();
    let altered = dir.path().join("altered.agg");
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x04;
        std::fs::write(&altered, &b).unwrap();
        let o = verify_agg(&demo_trust(), &[&altered], &["--spot-check", "0"]);
        assert_ne!(code(&o), 0, "byte {i} altered and still exit 0");
    }
}

#[test]
fn a_signer_without_the_aggregation_usage_is_refused() {
    let dir = tempdir();
    let d = dir.path();
    let root = new_key(d, "root");
    let line = new_key(d, "line");
    let roots = d.join("roots.toml");
    hallmark(&[
        "trust",
        "add",
        "--trust",
        p(&roots),
        "--root",
        p(&d.join("root.pub")),
    ])
    .ok();
    let cert = d.join("line.cert");
    hallmark(&[
        "cert",
        "issue",
        "--root",
        p(&root),
        p(&d.join("line.pub")),
        "--out",
        p(&cert),
        "--usage",
        "codes",
        "--valid-from",
        "2023-01-01",
        "--valid-until",
        "2027-12-31",
    ])
    .ok();
    let codes = mint(&line).count(2).args(&["--cert", p(&cert)]).lines();
    let list = d.join("c.txt");
    std::fs::write(&list, codes.join("\n")).unwrap();
    let m = d.join("m.agg");
    hallmark(&[
        "aggregate",
        "--key",
        p(&line),
        "--parent",
        SSCC_CASE1,
        "--children",
        p(&list),
        "--bizstep",
        "packing",
        "--out",
        p(&m),
    ])
    .ok();
    let o = verify(&roots)
        .today(TODAY)
        .args(&["--cert", p(&cert), "--aggregation", p(&m)])
        .run();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("may not sign aggregation manifests"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_bad_child_is_exit_1_with_its_verdict() {
    let dir = tempdir();
    let d = dir.path();
    let codes = mint_demo(d, 3, &["--serial-start", "900"]);
    // Forged: a code of a key the trust store does not hold under the demo kid.
    let other = new_key(d, "other");
    let foreign = mint(&other).count(1).cmd().lines();
    let mut children = codes.clone();
    children.push(foreign[0].clone());
    let m = agg_ok(d, "forged", SSCC_CASE1, &children);
    let o = verify_agg(&demo_trust(), &[&m], &["--json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(json_lines(&o)[3]["verdict"], "unknown-key");
    // Revoked: serial 901.
    let (trust, rev_key) = revocation_signer(d);
    let list = d.join("rev.toml");
    std::fs::write(
        &list,
        format!("[[serial]]\nkid = \"{DEMO_KID}\"\nserial = 901\nreason = \"stolen\"\ndate = 2026-11-01\n"),
    )
    .unwrap();
    let snap = d.join("rev.bin");
    revocations_build(&rev_key, &list, 5, &snap).ok();
    let m = agg_ok(d, "plain", SSCC_CASE1, &codes);
    let state = d.join("state");
    let o = verify_agg(
        &trust,
        &[&m],
        &[
            "--json",
            "--revocations",
            p(&snap),
            "--state-dir",
            p(&state),
        ],
    );
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(json_lines(&o)[1]["verdict"], "revoked");
}

#[test]
fn the_seen_journal_records_every_child() {
    let dir = tempdir();
    let d = dir.path();
    let codes = mint_demo(d, 3, &["--serial-start", "1100"]);
    let m = agg_ok(d, "m", SSCC_CASE1, &codes);
    let seen = d.join("seen.journal");
    let o = verify_agg(&demo_trust(), &[&m], &["--seen", p(&seen)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = verify_agg(&demo_trust(), &[&m], &["--seen", p(&seen), "--json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let lines = json_lines(&o);
    assert!(
        lines[..3].iter().all(|l| l["verdict"] == "duplicate"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn aggregate_refuses_bad_lists_and_writes_nothing() {
    let dir = tempdir();
    let d = dir.path();
    let codes = mint_demo(d, 2, &["--serial-start", "1200"]);
    let cases: Vec<(&str, &str, Vec<String>, &str)> = vec![
        (
            "dup",
            SSCC_CASE1,
            vec![codes[0].clone(), "# c".into(), codes[0].clone()],
            "lines 1 and 3",
        ),
        (
            "parent",
            &codes[0],
            vec![codes[1].clone(), codes[0].clone()],
            "is the parent",
        ),
        (
            "sscc",
            "sscc:106141411234567890",
            vec![codes[0].clone()],
            "check digit",
        ),
        (
            "empty",
            SSCC_CASE1,
            vec!["# nothing".into(), String::new()],
            "no children",
        ),
        (
            "malformed",
            SSCC_CASE1,
            vec![codes[0].clone(), "NOTACODE".into()],
            ":2:",
        ),
    ];
    for (name, parent, children, says) in cases {
        let (out, o) = aggregate(d, name, parent, &children);
        assert_eq!(code(&o), 2, "{name}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{name}: {}", stderr(&o));
        assert!(!out.exists(), "{name}: written");
    }
    // A nested manifest whose parent is the new parent: a cycle.
    let case = agg_ok(d, "case", SSCC_CASE1, &codes);
    let (_, o) = aggregate(d, "cycle", SSCC_CASE1, &[format!("agg:{}", p(&case))]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("cycle"), "{}", stderr(&o));
    // No overwrite without --force.
    let (_, o) = aggregate(d, "case", SSCC_CASE2, &codes);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
}

#[test]
fn expect_flags_strangers_and_reports_never_scanned() {
    let dir = tempdir();
    let d = dir.path();
    let codes = mint_demo(d, 4, &["--serial-start", "1300"]);
    let m = agg_ok(d, "m", SSCC_CASE1, &codes[..3]);
    let o = verify(&demo_trust())
        .today(TODAY)
        .args(&["--json", "--expect", p(&m), &codes[0], &codes[3]])
        .run();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let lines = json_lines(&o);
    assert_eq!(lines[0]["verdict"], "genuine");
    assert_eq!(lines[1]["verdict"], "not-in-aggregation");
    assert_eq!(lines[1]["underlying_verdict"], "genuine");
    let missing = lines[2]["never_scanned"].as_array().unwrap();
    assert_eq!(missing.len(), 2);
    assert!(
        stderr(&o).contains("2 of 3 children never scanned"),
        "{}",
        stderr(&o)
    );
    // All scanned, in another form (lower case): exit 0.
    let lower: Vec<String> = codes[..3].iter().map(|c| c.to_lowercase()).collect();
    let o = verify(&demo_trust())
        .today(TODAY)
        .args(&["--expect", p(&m)])
        .args(&lower.iter().map(String::as_str).collect::<Vec<_>>())
        .run();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("0 of 3 children never scanned"),
        "{}",
        stderr(&o)
    );
}
