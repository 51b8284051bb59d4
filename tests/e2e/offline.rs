//! End-to-end: bulk offline verification with revocation snapshots, duplicates
//! and the seen journal, driving the real binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;

struct Setup {
    dir: tempfile::TempDir,
    trust: PathBuf,
    rev_key: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let (trust, rev_key) = revocation_signer(dir.path());
    Setup {
        rev_key,
        trust,
        dir,
    }
}

fn mint_codes(s: &Setup, count: u32, extra: &[&str]) -> Vec<String> {
    mint_demo(s.dir.path(), count, extra)
}

fn snapshot(s: &Setup, name: &str, sequence: u64, list: &str) -> PathBuf {
    let list_path = s.dir.path().join(format!("{name}.toml"));
    std::fs::write(&list_path, list).unwrap();
    let out_path = s.dir.path().join(format!("{name}.bin"));
    revocations_build(&s.rev_key, &list_path, sequence, &out_path).ok();
    out_path
}

impl Setup {
    /// `verify --json` against this trust store on [`TODAY`], with its
    /// state directory.
    fn verify(&self) -> Hallmark {
        verify(&self.trust)
            .json()
            .today(TODAY)
            .state_dir(&self.dir.path().join("state"))
    }
}

/// [`Setup::verify`] of `input` (on stdin) with `extra` arguments.
fn verify_in(s: &Setup, input: &str, extra: &[&str]) -> Output {
    s.verify().args(extra).input(input).run()
}

const DEMO_KID: &str = "8608b1b7";

/// Bulk and single verification give identical verdicts on a mixed file of
/// genuine, altered, revoked, foreign-key, expired and duplicate codes.
#[test]
fn bulk_equals_single_on_a_mixed_shipment() {
    let s = setup();
    let genuine = mint_codes(&s, 6, &[]);
    let expired = mint_codes(&s, 1, &["--expiry", "2024-01-01"]);
    // A code from a key nobody trusts.
    let other = tempfile::tempdir().unwrap();
    let out = mint(&new_key(other.path(), "x")).part("P").lot("L").run();
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
    let out = verify_in(&s, "", &["--revocations", p(&snap), "--input", p(&file)]);
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
        let single = verify_in(&s, "", &["--revocations", p(&snap), line.trim()]);
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
    let more = mint_codes(&s, 300, &[]);
    std::fs::write(&file, input.clone() + &more.join("\n") + "\n").unwrap();
    let out = verify_in(&s, "", &["--revocations", p(&snap), "--input", p(&file)]);
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
    let codes = mint_codes(&s, 3, &[]);
    let list = format!(
        "[[range]]\nkid = \"{DEMO_KID}\"\nfirst = 1\nlast = 2\nreason = \"recalled\"\ndate = 2026-11-01\n"
    );
    let newer = snapshot(&s, "r7", 7, &list);
    let older = snapshot(&s, "r6", 6, &list);
    let out = verify_in(&s, &codes.join("\n"), &["--revocations", p(&newer)]);
    let v = json_lines(&out);
    assert_eq!(
        v.iter()
            .map(|v| v["verdict"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["genuine", "revoked", "revoked"]
    );
    // Same sequence again: fine. Older: refused, exit 2, nothing verified.
    assert_eq!(
        verify_in(&s, &codes[0], &["--revocations", p(&newer)])
            .status
            .code(),
        Some(0)
    );
    let out = verify_in(&s, &codes[0], &["--revocations", p(&older)]);
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
    let out = verify_in(&s, &codes[0], &["--revocations", p(&forged)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad signature"), "{}", stderr(&out));
    // Signed by a trusted key that is not marked as a revocation signer.
    let demo_key = Path::new(ROOT).join("keys.example/demo-TEST-ONLY.key");
    let list_path = s.dir.path().join("l.toml");
    std::fs::write(&list_path, &list).unwrap();
    let by_issuer = s.dir.path().join("by-issuer.bin");
    revocations_build(&demo_key, &list_path, 9, &by_issuer).ok();
    let out = verify_in(&s, &codes[0], &["--revocations", p(&by_issuer)]);
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
        s.verify()
            .revocations(&newer)
            .args(&["--max-age", max_age])
            .input(&codes[0])
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
    let codes = mint_codes(&s, 3, &[]);
    let journal = s.dir.path().join("seen.journal");
    let out = verify_in(
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
    let out = verify_in(
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
    let out = verify_in(&s, &codes[2], &["--seen", p(&journal)]);
    assert_eq!(json_lines(&out)[0]["first_seen"]["location"], "Warehouse B");
}

/// Issue 16: a duplicate from the --seen journal says when it was first seen
/// in RFC 3339 UTC (the text line and the JSON `reason`); `--json` keeps
/// `first_seen.time` in seconds and adds `first_seen.time_rfc3339`.
#[test]
fn seen_journal_first_seen_time_is_printed_in_rfc3339() {
    let s = setup();
    let code_text = mint_codes(&s, 1, &[]).remove(0);
    let journal = s.dir.path().join("seen.journal");
    s.verify()
        .args(&["--seen", p(&journal), "--location", "Dock 4"])
        .now(1_796_152_542)
        .input(&code_text)
        .ok();
    let again = || {
        verify(&s.trust)
            .today(TODAY)
            .state_dir(&s.dir.path().join("state"))
            .args(&["--seen", p(&journal)])
            .now(1_796_239_000)
            .input(&code_text)
    };
    let out = again().run();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text,
        format!(
            "duplicate\t{code_text}\tduplicate: first seen at 2026-12-01T19:15:42Z at \"Dock 4\"\n"
        )
    );
    assert!(!text.contains("1796152542"), "{text}");
    let out = again().json().run();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let v = json_lines(&out);
    assert_eq!(v[0]["verdict"], "duplicate");
    assert_eq!(v[0]["first_seen"]["time"], 1_796_152_542);
    assert_eq!(v[0]["first_seen"]["time_rfc3339"], "2026-12-01T19:15:42Z");
    assert_eq!(v[0]["first_seen"]["location"], "Dock 4");
    assert_eq!(
        v[0]["reason"],
        "duplicate: first seen at 2026-12-01T19:15:42Z at \"Dock 4\""
    );
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
        let out = revocations_build(&s.rev_key, &path, 1, &out_path).run();
        assert_eq!(out.status.code(), Some(2), "{list}");
        assert!(stderr(&out).contains(word), "{list}: {}", stderr(&out));
        assert!(!out_path.exists(), "nothing written");
    }
    let out = verify_in(&s, "", &["--max-age", "7y"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unit must be"), "{}", stderr(&out));
}

/// The (key id, serial) pairs of the complete records of a seen journal (a
/// torn last record, left by a kill mid-write, is not a sighting).
fn journaled(journal: &Path) -> std::collections::HashSet<(String, u64)> {
    let text = std::fs::read(journal).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let mut lines: Vec<&str> = text.split('\n').collect();
    let last = lines.pop().unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    for line in lines.into_iter().chain(Some(last)) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
            seen.insert((
                v["kid"].as_str().unwrap().to_owned(),
                v["serial"].as_u64().unwrap(),
            ));
        }
    }
    seen
}

/// The (key id, serial) pairs printed `genuine` in JSON lines output, ignoring
/// a last line cut short by a kill.
fn printed_genuine(stdout: &[u8]) -> Vec<(String, u64)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["verdict"] == "genuine")
        .map(|v| {
            (
                v["kid"].as_str().unwrap().to_owned(),
                v["payload"]["serial"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// `verify --json --seen JOURNAL` over the file `input`.
fn verify_seen(s: &Setup, input: &Path, journal: &Path) -> Hallmark {
    verify(&s.trust)
        .json()
        .today(TODAY)
        .args(&["--input", p(input), "--seen", p(journal)])
}

/// After an interrupted run: every code it printed `genuine` is in the
/// journal, and a second run over the same input calls every one of them a
/// duplicate.
fn assert_printed_genuine_is_durable(s: &Setup, input: &Path, journal: &Path, printed: &[u8]) {
    let genuine = printed_genuine(printed);
    let recorded = journaled(journal);
    let missing: Vec<_> = genuine.iter().filter(|g| !recorded.contains(*g)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} codes printed genuine are not in the journal, e.g. {:?}",
        missing.len(),
        genuine.len(),
        missing.first()
    );
    let again = verify_seen(s, input, journal).run();
    let expect = if genuine.is_empty() { [0, 1] } else { [1, 1] };
    assert!(expect.contains(&code(&again)), "{}", stderr(&again));
    let verdicts: std::collections::HashMap<(String, u64), String> = json_lines(&again)
        .iter()
        .filter(|v| !v["payload"].is_null())
        .map(|v| {
            (
                (
                    v["kid"].as_str().unwrap().to_owned(),
                    v["payload"]["serial"].as_u64().unwrap(),
                ),
                v["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for g in &genuine {
        assert_eq!(
            verdicts.get(g).map(String::as_str),
            Some("duplicate"),
            "{g:?}"
        );
    }
}

/// A file of `n` freshly minted demo codes.
fn code_file(s: &Setup, n: u32) -> PathBuf {
    let codes = mint_codes(s, n, &[]);
    let input = s.dir.path().join("codes.txt");
    std::fs::write(&input, codes.join("\n") + "\n").unwrap();
    input
}

/// Issue 18.1: killed at a journal write (`ulimit -f`: SIGXFSZ kills the
/// process at the write) or failing it (SIGXFSZ ignored: EFBIG, as on a full
/// disk), `verify --seen` has printed `genuine` only for sightings already
/// fsynced in the journal.
#[test]
fn regression_seen_journal_durable_before_verdict_printed_when_a_write_fails() {
    let s = setup();
    let input = code_file(&s, 5000);
    // How long the whole journal grows, to cut it off at the first write
    // (one block) and in a later one (nine tenths of the way).
    let full = s.dir.path().join("full.journal");
    let out = verify_seen(&s, &input, &full).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let full_len = std::fs::metadata(&full).unwrap().len();
    for blocks in [1, full_len * 9 / 10 / 512] {
        for (trap, expect) in [("", None), ("trap '' XFSZ; ", Some(2))] {
            let journal = s
                .dir
                .path()
                .join(format!("seen-{blocks}-{}.journal", trap.len()));
            let script = format!("{trap}ulimit -f {blocks}; exec \"$0\" \"$@\"");
            let verify = verify_seen(&s, &input, &journal).command();
            let mut args = vec!["-c", script.as_str(), BIN];
            args.extend(verify.get_args().map(|a| a.to_str().unwrap()));
            let out = run_program("sh", &args);
            assert_eq!(out.status.code(), expect, "{script}: {}", stderr(&out));
            if expect.is_some() {
                assert!(
                    stderr(&out).contains("could not be recorded"),
                    "{}",
                    stderr(&out)
                );
            }
            assert_printed_genuine_is_durable(&s, &input, &journal, &out.stdout);
        }
    }
}

/// Issue 18.1: kill -9 at random instants of a `verify --seen` run over 5,000
/// codes (some just as its first verdicts reach stdout): every code printed
/// `genuine` is in the journal, and the next run flags each one a duplicate.
#[test]
fn regression_seen_journal_durable_before_verdict_printed_under_kill_9() {
    use std::io::Read;
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let s = setup();
    let input = code_file(&s, 6000);
    let started = Instant::now();
    let out = verify_seen(&s, &input, &s.dir.path().join("full.journal")).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let whole = started.elapsed();
    // Pseudo-random delays, different on every test run.
    let mut seed = std::collections::hash_map::RandomState::new();
    let mut random = move |below: u128| {
        use std::hash::BuildHasher;
        let r = seed.hash_one(started.elapsed().as_nanos());
        seed = std::collections::hash_map::RandomState::new();
        u128::from(r) % below.max(1)
    };
    let mut printed_any = 0;
    for i in 0..8 {
        let journal = s.dir.path().join(format!("seen-{i}.journal"));
        let mut child = verify_seen(&s, &input, &journal)
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (first, first_rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let mut buf = [0u8; 1 << 16];
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => return all,
                    Ok(n) => {
                        if all.is_empty() {
                            let _ = first.send(());
                        }
                        all.extend_from_slice(&buf[..n]);
                    }
                }
            }
        });
        if i % 2 == 0 {
            // Anywhere in the run.
            let delay = random(whole.as_micros());
            std::thread::sleep(Duration::from_micros(delay as u64));
        } else {
            // Just after the first verdicts are printed: when a run that
            // prints before it records has sightings in flight.
            let _ = first_rx.recv_timeout(Duration::from_secs(60));
            std::thread::sleep(Duration::from_micros(random(2000) as u64));
        }
        let _ = child.kill();
        let _ = child.wait();
        let printed = reader.join().unwrap();
        printed_any += printed_genuine(&printed).len();
        assert_printed_genuine_is_durable(&s, &input, &journal, &printed);
    }
    assert!(printed_any > 0, "no kill came after a verdict was printed");
}

/// Issue 18.10: an input file or stdin starting with a UTF-8 byte order mark
/// (as some editors save text) verifies its first code like any other.
#[test]
fn regression_bom_at_start_of_input_does_not_make_first_code_malformed() {
    let s = setup();
    let codes = mint_codes(&s, 2, &[]);
    let text = format!("\u{feff}{}\r\n{}\r\n", codes[0], codes[1]);
    let input = s.dir.path().join("bom.txt");
    std::fs::write(&input, &text).unwrap();
    for out in [
        verify_in(&s, "", &["--input", p(&input)]),
        verify_in(&s, &text, &[]),
    ] {
        assert_eq!(code(&out), 0, "{}", stdout(&out));
        let v = json_lines(&out);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["verdict"], "genuine");
        assert_eq!(v[0]["input"], codes[0].as_str());
        assert_eq!(v[0]["line"], 1);
    }
}

/// Issue 18.3: a key marked `revocation_signer` signs revocation snapshots
/// only. Codes minted with it (as with a revocation key copied onto the
/// internet-facing server) never verify genuine.
#[test]
fn regression_revocation_signer_key_cannot_mint_genuine_codes() {
    let s = setup();
    let ledger = s.dir.path().join("rev.ledger");
    let out = mint(&s.rev_key).count(300).ledger(&ledger).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let codes = stdout(&out);
    // One at a time and in bulk (past BUILD_TABLES_FROM: the tables path).
    for input in [codes.lines().next().unwrap(), codes.as_str()] {
        let out = verify_in(&s, input, &[]);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        for v in json_lines(&out) {
            assert_eq!(v["verdict"], "key-not-valid", "{v}");
            assert_eq!(v["error"], "key-usage", "{v}");
            assert!(
                v["reason"].as_str().unwrap().contains("revocation signer"),
                "{v}"
            );
        }
    }
    // The same trust store still accepts the issuer's codes.
    let demo = mint_codes(&s, 1, &[]);
    assert_eq!(code(&verify_in(&s, &demo[0], &[])), 0);
}

/// Issue 18.9: `revocations build` wrote snapshots with any u64 sequence,
/// which verifiers refuse above 2^53 - 1 (and which at u64::MAX would pin
/// them). The largest accepted sequence builds; one more is a usage error.
#[test]
fn regression_revocations_build_refuses_a_sequence_verifiers_refuse() {
    let s = setup();
    let list = s.dir.path().join("empty.toml");
    std::fs::write(&list, "").unwrap();
    let build = |sequence: &str, out: &str| {
        let out = s.dir.path().join(out);
        let o = hallmark(&["revocations", "build", "--key", p(&s.rev_key)])
            .args(&["--list", p(&list), "--sequence", sequence, "--out", p(&out)])
            .run();
        (o, out)
    };
    // The largest sequence verifiers accept is also far ahead of the clock,
    // which `revocations build` now refuses (it would pin verifiers above the
    // service's clock-based sequences).
    let (o, out) = build("9007199254740991", "max.bin");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("a day ahead"), "{}", stderr(&o));
    assert!(!out.exists());
    for too_big in ["9007199254740992", "18446744073709551615"] {
        let (o, out) = build(too_big, "over.bin");
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("largest sequence"), "{}", stderr(&o));
        assert!(!out.exists());
    }
}
