//! End-to-end: bulk offline verification with revocation snapshots, duplicates
//! and the seen journal, driving the real binary.

// Test helpers: a panic is the failure report.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common;

use common::*;

struct Setup {
    dir: tempfile::TempDir,
    trust: PathBuf,
    rev_key: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &[
            "keygen",
            "--name",
            "rev",
            "--out",
            p(dir.path()),
            "--unencrypted",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let trust = dir.path().join("trust.toml");
    std::fs::copy(Path::new(ROOT).join("keys.example/trust.toml"), &trust).unwrap();
    let out = run(
        &[
            "trust",
            "add",
            "--trust",
            p(&trust),
            p(&dir.path().join("rev.pub")),
            "--revocation-signer",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    Setup {
        rev_key: dir.path().join("rev.key"),
        trust,
        dir,
    }
}

fn mint(s: &Setup, count: u32, extra: &[&str]) -> Vec<String> {
    mint_demo(s.dir.path(), count, extra)
}

fn snapshot(s: &Setup, name: &str, sequence: u64, list: &str) -> PathBuf {
    let list_path = s.dir.path().join(format!("{name}.toml"));
    std::fs::write(&list_path, list).unwrap();
    let out_path = s.dir.path().join(format!("{name}.bin"));
    let seq = sequence.to_string();
    let out = run(
        &[
            "revocations",
            "build",
            "--key",
            p(&s.rev_key),
            "--list",
            p(&list_path),
            "--sequence",
            &seq,
            "--out",
            p(&out_path),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    out_path
}

fn verify(s: &Setup, input: &str, extra: &[&str]) -> Output {
    let state = s.dir.path().join("state");
    let mut args = vec![
        "verify",
        "--trust",
        p(&s.trust),
        "--json",
        "--today",
        "2026-11-23",
        "--state-dir",
        p(&state),
    ];
    args.extend_from_slice(extra);
    run(&args, input.as_bytes())
}

const DEMO_KID: &str = "8608b1b7";

/// Bulk and single verification give identical verdicts on a mixed file of
/// genuine, altered, revoked, foreign-key, expired and duplicate codes.
#[test]
fn bulk_equals_single_on_a_mixed_shipment() {
    let s = setup();
    let genuine = mint(&s, 6, &[]);
    let expired = mint(&s, 1, &["--expiry", "2024-01-01"]);
    // A code from a key nobody trusts.
    let other = tempfile::tempdir().unwrap();
    run(
        &[
            "keygen",
            "--name",
            "x",
            "--out",
            p(other.path()),
            "--unencrypted",
        ],
        b"",
    );
    let out = run(
        &[
            "mint",
            "--key",
            p(&other.path().join("x.key")),
            "--part",
            "P",
            "--lot",
            "L",
            "--date",
            "2023-12-12",
            "--count",
            "1",
        ],
        b"",
    );
    let foreign = stdout(&out).trim().to_owned();
    let mut altered = genuine[0].clone();
    altered.replace_range(40..41, if &altered[40..41] == "A" { "B" } else { "A" });
    let snap = snapshot(
        &s,
        "r",
        1,
        &format!(
            "[[serial]]\nkid = \"{DEMO_KID}\"\nserial = 2\nreason = \"stolen\"\ndate = 2026-11-01\n"
        ),
    );
    let lines = vec![
        genuine[0].clone(),
        format!("  ]Q1{}  ", genuine[1]),
        String::new(),
        genuine[2].clone(), // revoked
        altered,
        foreign,
        expired[0].clone(),
        genuine[3].to_lowercase(),
        "not a code".to_owned(),
        genuine[0].clone(), // duplicate of line 1
        format!("HTTPS://HM.EXAMPLE.COM/C/{}", genuine[4]),
    ];
    let input = lines.join("\n") + "\n";
    let file = s.dir.path().join("scan.txt");
    std::fs::write(&file, &input).unwrap();
    let out = verify(&s, "", &["--revocations", p(&snap), "--input", p(&file)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let bulk = json_lines(&out);
    let words: Vec<&str> = bulk
        .iter()
        .map(|v| v["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        words,
        [
            "genuine",
            "genuine",
            "revoked",
            "bad-signature",
            "unknown-key",
            "expired",
            "genuine",
            "malformed",
            "duplicate",
            "genuine"
        ]
    );
    assert_eq!(bulk[2]["revocation"]["reason"], "stolen");
    assert_eq!(bulk[2]["revocation"]["date"], "2026-11-01");
    assert_eq!(bulk[8]["first_seen"]["line"], 1);
    assert!(stderr(&out).contains("4 genuine"), "{}", stderr(&out));
    // Input order and line numbers (the blank line 3 is skipped).
    let numbers: Vec<u64> = bulk.iter().map(|v| v["line"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [1, 2, 4, 5, 6, 7, 8, 9, 10, 11]);
    // Each line alone gives the same verdict (a duplicate is genuine alone).
    for (line, v) in lines.iter().filter(|l| !l.is_empty()).zip(&bulk) {
        let single = verify(&s, "", &["--revocations", p(&snap), line.trim()]);
        let single = &json_lines(&single)[0];
        let expected = if v["verdict"] == "duplicate" {
            "genuine"
        } else {
            v["verdict"].as_str().unwrap()
        };
        assert_eq!(single["verdict"], expected, "{line}");
        assert_eq!(single["error"], v["error"], "{line}");
    }
    // The same lines followed by enough genuine codes that bulk verification
    // builds and uses the key's tables of multiples (hallmark::BUILD_TABLES_FROM):
    // the same verdicts, line for line.
    let more = mint(&s, 300, &[]);
    std::fs::write(&file, input.clone() + &more.join("\n") + "\n").unwrap();
    let out = verify(&s, "", &["--revocations", p(&snap), "--input", p(&file)]);
    let with_tables = json_lines(&out);
    assert_eq!(with_tables.len(), bulk.len() + more.len());
    assert!(hallmark::BUILD_TABLES_FROM <= with_tables.len());
    for (small, large) in bulk.iter().zip(&with_tables) {
        assert_eq!(small, large);
    }
    assert!(
        with_tables[bulk.len()..]
            .iter()
            .all(|v| v["verdict"] == "genuine")
    );
}

#[test]
fn snapshots_refused_when_older_forged_or_from_an_unmarked_key() {
    let s = setup();
    let codes = mint(&s, 3, &[]);
    let list = format!(
        "[[range]]\nkid = \"{DEMO_KID}\"\nfirst = 1\nlast = 2\nreason = \"recalled\"\ndate = 2026-11-01\n"
    );
    let newer = snapshot(&s, "r7", 7, &list);
    let older = snapshot(&s, "r6", 6, &list);
    let out = verify(&s, &codes.join("\n"), &["--revocations", p(&newer)]);
    let v = json_lines(&out);
    assert_eq!(
        v.iter()
            .map(|v| v["verdict"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["genuine", "revoked", "revoked"]
    );
    // Same sequence again: fine. Older: refused, exit 2, nothing verified.
    assert_eq!(
        verify(&s, &codes[0], &["--revocations", p(&newer)])
            .status
            .code(),
        Some(0)
    );
    let out = verify(&s, &codes[0], &["--revocations", p(&older)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("older than sequence 7"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
    // A flipped bit: refused.
    let mut bytes = std::fs::read(&newer).unwrap();
    let n = bytes.len();
    bytes[n - 70] ^= 1;
    let forged = s.dir.path().join("forged.bin");
    std::fs::write(&forged, &bytes).unwrap();
    let out = verify(&s, &codes[0], &["--revocations", p(&forged)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad signature"), "{}", stderr(&out));
    // Signed by a trusted key that is not marked as a revocation signer.
    let demo_key = Path::new(ROOT).join("keys.example/demo-TEST-ONLY.key");
    let list_path = s.dir.path().join("l.toml");
    std::fs::write(&list_path, &list).unwrap();
    let by_issuer = s.dir.path().join("by-issuer.bin");
    let out = run(
        &[
            "revocations",
            "build",
            "--key",
            p(&demo_key),
            "--list",
            p(&list_path),
            "--sequence",
            "9",
            "--out",
            p(&by_issuer),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = verify(&s, &codes[0], &["--revocations", p(&by_issuer)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not mark as a revocation signer"),
        "{}",
        stderr(&out)
    );
    // Stale data: genuine codes become `stale` (still exit 0). The CLI is
    // given a clock (no sleeping): the snapshot was issued within the last
    // minute, so ten minutes on it is older than 2m and younger than 30m.
    let later = unix_now() + 600;
    let verify_at = |max_age: &str| {
        hallmark(&[
            "verify",
            "--trust",
            p(&s.trust),
            "--json",
            "--today",
            "2026-11-23",
        ])
        .args(&["--state-dir", p(&s.dir.path().join("state"))])
        .args(&["--revocations", p(&newer), "--max-age", max_age])
        .stdin(codes[0].as_bytes())
        .now(later)
        .run()
    };
    let out = verify_at("2m");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["verdict"], "stale", "{}", stderr(&out));
    let out = verify_at("30m");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        json_lines(&out)[0]["verdict"],
        "genuine",
        "{}",
        stderr(&out)
    );
}

#[test]
fn seen_journal_flags_duplicates_across_runs_and_survives_a_torn_record() {
    let s = setup();
    let codes = mint(&s, 3, &[]);
    let journal = s.dir.path().join("seen.journal");
    let out = verify(
        &s,
        &codes[..2].join("\n"),
        &["--seen", p(&journal), "--location", "Dock 4"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A crash mid-write leaves a torn last record: it is ignored, the rest intact.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    f.write_all(b"{\"v\":1,\"kid\":\"8608").unwrap();
    drop(f);
    let out = verify(
        &s,
        &codes.join("\n"),
        &["--seen", p(&journal), "--location", "Warehouse B"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_lines(&out);
    assert_eq!(v[0]["verdict"], "duplicate");
    assert_eq!(v[0]["first_seen"]["location"], "Dock 4");
    assert_eq!(v[1]["verdict"], "duplicate");
    assert_eq!(v[2]["verdict"], "genuine");
    let out = verify(&s, &codes[2], &["--seen", p(&journal)]);
    assert_eq!(json_lines(&out)[0]["first_seen"]["location"], "Warehouse B");
}

#[test]
fn bad_revocation_lists_and_options_are_clear_errors() {
    let s = setup();
    let cases = [
        (
            "[[serial]]\nkid = \"zz\"\nserial = 1\nreason = \"stolen\"\ndate = 2026-11-01\n",
            "kid",
        ),
        (
            "[[serial]]\nkid = \"8608b1b7\"\nserial = 1\nreason = \"lost\"\ndate = 2026-11-01\n",
            "reason",
        ),
        (
            "[[serial]]\nkid = \"8608b1b7\"\nserial = 1\nreason = \"stolen\"\ndate = \"soon\"\n",
            "date",
        ),
        (
            "[[range]]\nkid = \"8608b1b7\"\nfirst = 9\nlast = 1\nreason = \"stolen\"\ndate = 2026-11-01\n",
            "range",
        ),
        ("[[serial]]\nkid = \"8608b1b7\"\nserail = 1\n", "serail"),
    ];
    for (i, (list, word)) in cases.iter().enumerate() {
        let path = s.dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, list).unwrap();
        let out_path = s.dir.path().join(format!("bad{i}.bin"));
        let out = run(
            &[
                "revocations",
                "build",
                "--key",
                p(&s.rev_key),
                "--list",
                p(&path),
                "--sequence",
                "1",
                "--out",
                p(&out_path),
            ],
            b"",
        );
        assert_eq!(out.status.code(), Some(2), "{list}");
        assert!(stderr(&out).contains(word), "{list}: {}", stderr(&out));
        assert!(!out_path.exists(), "nothing written");
    }
    let out = verify(&s, "", &["--max-age", "7y"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unit must be"), "{}", stderr(&out));
}
