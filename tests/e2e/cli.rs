//! End-to-end tests: drive the real `hallmark` binary.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::*;

/// `hallmark verify` against the demo trust store on [`TODAY`].
fn verify_demo() -> Hallmark {
    verify(&demo_trust()).today(TODAY)
}

#[test]
fn quickstart_mint_then_verify() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 5, &["--serial-start", "123456789"]);
    assert_eq!(codes.len(), 5);
    for c in &codes {
        assert_eq!(c.len(), 164, "sample-sized code is 164 characters: {c}");
    }
    let out = verify_demo().input(&codes.join("\n")).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 5);
    assert!(stdout(&out).lines().all(|l| l.starts_with("genuine\t")));
    assert!(stderr(&out).contains("5 genuine"));

    let out = verify_demo().json().input(&codes.join("\n")).run();
    let lines = json_lines(&out);
    for (i, v) in lines.iter().enumerate() {
        assert_eq!(v["verdict"], "genuine");
        assert_eq!(v["code"], codes[i].as_str());
        assert_eq!(v["payload"]["serial"], 123_456_789 + i as u64);
        assert_eq!(v["payload"]["part"], "DRN-2980");
        assert_eq!(v["payload"]["date"], "2023-12-12");
        assert!(v["reason"].is_string());
    }
}

#[test]
fn codes_as_arguments_and_accepted_spellings() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 1, &[]);
    let c = &codes[0];
    let lower = c.to_lowercase();
    let dashed: Vec<String> = c
        .as_bytes()
        .chunks(4)
        .map(|x| String::from_utf8_lossy(x).into())
        .collect();
    let dashed = dashed.join("-");
    let url = format!("HTTPS://HM.EXAMPLE.COM/C/{c}");
    let trust = demo_trust();
    let out = verify(&trust)
        .json()
        .args(&[c, &lower, &dashed, &url])
        .run();
    // All four spellings are one code: the later ones are duplicates of the first.
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    for (i, v) in json_lines(&out).iter().enumerate() {
        assert_eq!(v["code"], c.as_str(), "one canonical text per code");
        if i == 0 {
            assert_eq!(v["verdict"], "genuine");
        } else {
            assert_eq!(v["verdict"], "duplicate");
            assert_eq!(v["first_seen"]["line"], 1);
        }
    }
    for spelling in [c.as_str(), &lower, &dashed, &url, &format!("]Q1{c}")] {
        let out = verify(&trust).args(&[spelling]).run();
        assert_eq!(code(&out), 0, "{spelling}: {}", stdout(&out));
    }
}

/// Every single-character change, truncation, extension, stray bits, a foreign
/// key, a swapped signature and garbage: all refused, one output line each, in order.
#[test]
fn every_altered_code_is_rejected() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 2, &[]);
    let (a, b) = (&codes[0], &codes[1]);
    let alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bad = Vec::new();
    for (i, orig) in a.char_indices() {
        for ch in alphabet.chars().filter(|&ch| ch != orig) {
            let mut s = a.clone();
            s.replace_range(i..i + 1, ch.encode_utf8(&mut [0; 4]));
            bad.push(s);
        }
    }
    for n in 1..a.len() {
        bad.push(a[..n].to_owned());
    }
    for tail in ["0", "00", "0000000", "00000000", "ZZZZZZZZ"] {
        bad.push(format!("{a}{tail}"));
    }
    // b's signed part with a's signature: a signature taken from another code.
    bad.push(format!("{}{}", &b[..b.len() - 103], &a[a.len() - 103..]));
    // A code from a key that is not trusted.
    let other = tempdir();
    let key = new_key(other.path(), "other");
    let out = mint(&key).run();
    bad.push(stdout(&out).trim().to_owned());
    bad.extend([
        "garbage".to_owned(),
        "!!!".to_owned(),
        "\u{1b}[31mred".to_owned(),
    ]);

    let mut input = bad.join("\n");
    input.push('\n');
    let out = verify_demo().json().input(&input).run();
    assert_eq!(code(&out), 1);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), bad.len(), "one output line per input line");
    for (i, v) in lines.iter().enumerate() {
        assert_ne!(v["verdict"], "genuine", "altered code verified: {}", bad[i]);
        assert_eq!(v["line"], i as u64 + 1, "input order");
        assert!(v["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
    let last = lines.last().unwrap_or_else(|| panic!("no output"));
    assert!(
        !stdout(&out).contains('\u{1b}'),
        "control characters are not echoed"
    );
    assert_eq!(last["verdict"], "malformed");
}

#[test]
fn one_megabyte_line_is_a_clear_error_and_fast() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 1, &[]);
    let huge = "A".repeat(1 << 20);
    let input = format!("{huge}\n{}\n", codes[0]);
    let started = std::time::Instant::now();
    let out = verify_demo().json().input(&input).run();
    let elapsed = started.elapsed();
    assert_eq!(code(&out), 1);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["verdict"], "malformed");
    assert_eq!(lines[0]["error"], "too-long");
    assert!(
        lines[0]["input"].as_str().is_some_and(|s| s.len() < 1000),
        "huge input is not echoed whole"
    );
    assert_eq!(lines[1]["verdict"], "genuine");
    assert!(elapsed.as_secs() < 30, "took {elapsed:?}");
    // As an argument too (the kernel caps one argument at 128 KiB).
    let out = verify(&demo_trust()).args(&[&huge[..100_000]]).run();
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).starts_with("malformed\t"));
    assert!(stdout(&out).len() < 2000);
}

#[test]
fn exit_codes() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 1, &[]);
    assert_eq!(code(&verify_demo().input(&codes[0]).run()), 0);
    let input = format!("{}\nnope\n", codes[0]);
    assert_eq!(code(&verify_demo().input(&input).run()), 1);
    // No codes at all is not "all genuine".
    let out = verify_demo().input("\n\n").run();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("no codes"));
    // Usage and I/O errors.
    let out = verify(Path::new("/nonexistent/trust.toml"))
        .args(&[&codes[0]])
        .run();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("/nonexistent/trust.toml"));
    let bad_trust = dir.path().join("bad.toml");
    std::fs::write(&bad_trust, "[[key]]\nname = \"w\"\npublic_key = \"0100000000000000000000000000000000000000000000000000000000000000\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = verify(&bad_trust).args(&[&codes[0]]).run();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("weak"), "{}", stderr(&out));
    assert_eq!(code(&run(&["verify"], b"")), 2);
    assert_eq!(code(&run(&["frobnicate"], b"")), 2);
    assert_eq!(code(&run(&["--help"], b"")), 0);
}

#[test]
fn expired_codes_are_flagged() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 1, &["--expiry", "2024-06-30"]);
    let out = verify_demo().json().input(&codes[0]).run();
    assert_eq!(code(&out), 1);
    assert_eq!(json_lines(&out)[0]["verdict"], "expired");
    let out = verify(&demo_trust())
        .today("2024-06-30")
        .args(&[&codes[0]])
        .run();
    assert_eq!(code(&out), 0, "valid on its expiry day");
    // An expiry before the date of manufacture is refused at mint time.
    let ledger = dir.path().join("l");
    let out = mint(&demo_key())
        .part("P")
        .lot("L")
        .date("2024-01-02")
        .ledger(&ledger)
        .args(&["--expiry", "2024-01-01"])
        .run();
    assert_eq!(code(&out), 2);
    assert!(
        !ledger.exists() || std::fs::read(&ledger).map(|b| b.is_empty()).unwrap_or(true),
        "nothing reserved"
    );
}

#[test]
fn inspect_is_marked_unverified() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 1, &[]);
    let out = run(&["inspect", &codes[0].to_lowercase()], b"");
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).starts_with("UNVERIFIED"));
    assert!(stdout(&out).contains("DRN-2980"));
    let out = run(&["inspect", "--json", &codes[0]], b"");
    let v: serde_json::Value =
        serde_json::from_str(stdout(&out).trim()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["verified"], false);
    assert_eq!(v["status"], "UNVERIFIED");
    assert_eq!(v["payload"]["serial"], 0);
    assert_eq!(v["code"], codes[0].as_str());
    let out = run(&["inspect", "nonsense"], b"");
    assert_eq!(code(&out), 1);
}

#[test]
fn keygen_writes_private_key_and_never_overwrites() {
    let dir = tempdir();
    let out = keygen(dir.path(), "acme").unencrypted().run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let kid = stdout(&out).trim().to_owned();
    assert_eq!(kid.len(), 8);
    let key = dir.path().join("acme.key");
    let public = dir.path().join("acme.pub");
    let before = std::fs::read(&key).unwrap_or_default();
    assert!(
        !stdout(&out).contains("secret")
            && !stderr(&out).contains(&String::from_utf8_lossy(&before)[..])
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0);
        assert_eq!(mode, 0o600);
    }
    let out = keygen(dir.path(), "acme").unencrypted().run();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("already exists"));
    assert_eq!(
        std::fs::read(&key).unwrap_or_default(),
        before,
        "key not overwritten"
    );
    // Without --unencrypted and with no passphrase source or terminal: refused clearly.
    let out = keygen(dir.path(), "b")
        .env_remove("HALLMARK_PASSPHRASE")
        .command()
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("HALLMARK_PASSPHRASE"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("b.key").exists());

    // trust add: create, extend, refuse duplicates; verify honours validity.
    let trust = dir.path().join("trust.toml");
    let out = trust_add(&trust, &public)
        .args(&["--valid-from", "2024-01-01"])
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let before = std::fs::read(&trust).unwrap();
    let out = trust_add(&trust, &public).run();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains(&format!("acme is already in {}", p(&trust))),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&trust).unwrap(), before, "left as it was");
    let demo_pub = Path::new(ROOT).join("keys.example/demo-TEST-ONLY.pub");
    let out = trust_add(&trust, &demo_pub)
        .args(&["--valid-until", "2030-12-31"])
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(&trust).unwrap_or_default();
    assert_eq!(text.matches("[[key]]").count(), 2);
    assert!(text.contains(&kid) || text.contains("acme"));

    let mint_on = |date: &str| {
        let out = mint(&key).part("P").lot("L").date(date).run();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        stdout(&out).trim().to_owned()
    };
    let early = mint_on("2023-12-31");
    let ok = mint_on("2024-01-01");
    let out = verify(&trust).json().args(&[&early, &ok]).run();
    let lines = json_lines(&out);
    assert_eq!(lines[0]["verdict"], "key-not-valid");
    assert_eq!(lines[1]["verdict"], "genuine");
    assert_eq!(
        lines[1]["payload"]["serial"], 1,
        "the ledger beside the key continued"
    );
    assert!(dir.path().join("acme.ledger").exists());

    // A secret key readable by others is refused, saying how to fix it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640))
            .unwrap_or_else(|e| panic!("{e}"));
        let out = mint(&key).part("P").lot("L").date("2024-01-01").run();
        assert_eq!(code(&out), 2);
        assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
}

fn serials(codes: &[String]) -> Vec<u64> {
    if codes.is_empty() {
        return Vec::new();
    }
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    let out = verify(&demo_trust()).json().args(&codes).run();
    json_lines(&out)
        .iter()
        .filter_map(|v| v["payload"]["serial"].as_u64())
        .collect()
}

#[test]
fn serials_never_repeat_and_serial_start_cannot_overlap() {
    let dir = tempdir();
    let first = mint_demo(dir.path(), 3, &[]);
    let second = mint_demo(dir.path(), 3, &[]);
    assert_eq!(serials(&first), vec![0, 1, 2]);
    assert_eq!(serials(&second), vec![3, 4, 5]);
    let legacy = mint_demo(dir.path(), 2, &["--serial-start", "1000"]);
    assert_eq!(serials(&legacy), vec![1000, 1001]);
    let next = mint_demo(dir.path(), 1, &[]);
    assert_eq!(serials(&next), vec![1002]);

    let ledger = dir.path().join("demo.ledger");
    let mint_from = |start: &str| {
        mint(&demo_key())
            .part("P")
            .lot("L")
            .count(2)
            .ledger(&ledger)
            .args(&["--serial-start", start])
            .run()
    };
    for start in ["5", "999", "1002", "0"] {
        let out = mint_from(start);
        assert_eq!(code(&out), 2, "--serial-start {start} overlaps");
        assert!(stderr(&out).contains("overlap"), "{}", stderr(&out));
        assert!(stdout(&out).is_empty(), "no code printed");
    }
    let out = mint_from("18446744073709551615");
    assert_eq!(code(&out), 2, "past 2^64-1");
}

/// kill -9 in the middle of a large batch: a later mint never reissues a serial
/// that may have been printed.
#[cfg(unix)]
#[test]
fn crash_mid_batch_never_reissues() {
    use std::io::{BufRead, BufReader};
    let dir = tempdir();
    let ledger = dir.path().join("demo.ledger");
    let mut child = mint(&demo_key())
        .part("P")
        .lot("L")
        .count(1_000_000)
        .ledger(&ledger)
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut reader = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("stdout")));
    let mut printed = Vec::new();
    for _ in 0..50 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        printed.push(line.trim().to_owned());
    }
    child.kill().unwrap_or_else(|e| panic!("{e}")); // SIGKILL
    let _ = child.wait();
    assert!(!printed.is_empty());
    let after = mint_demo(dir.path(), 5, &[]);
    let before: Vec<u64> = serials(&printed);
    let after: Vec<u64> = serials(&after);
    let max_before = before.iter().max().copied().unwrap_or(0);
    assert!(
        after.iter().all(|s| *s > max_before),
        "reissued: before {before:?}, after {after:?}"
    );
}

/// Two mints on one ledger at once never overlap.
#[test]
fn concurrent_mints_never_overlap() {
    let dir = tempdir();
    let path = dir.path().to_owned();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || mint_demo(&path, 20, &[]))
        })
        .collect();
    let mut all: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap_or_default())
        .collect();
    assert_eq!(all.len(), 80);
    let mut s = serials(&all);
    s.sort_unstable();
    s.dedup();
    assert_eq!(s.len(), 80, "a serial was issued twice");
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 80);
}

#[test]
fn help_explains_each_subcommand() {
    for sub in [
        &["keygen"][..],
        &["trust", "add"],
        &["mint"],
        &["verify"],
        &["inspect"],
    ] {
        let out = hallmark(sub).args(&["--help"]).run();
        assert_eq!(code(&out), 0, "{sub:?}");
        assert!(
            stdout(&out).contains("Example"),
            "{sub:?} --help has an example"
        );
    }
    let out = hallmark(&["verify", "--help"]).run();
    for word in [
        "genuine",
        "malformed",
        "unknown-key",
        "bad-signature",
        "key-not-valid",
        "expired",
        "Exit status",
    ] {
        assert!(stdout(&out).contains(word), "verify --help names {word}");
    }
}

/// `cmd` run with no passphrase in the environment but those of `env`.
fn run_with_passphrases(cmd: Hallmark, env: &[(&str, &str)]) -> Output {
    let mut cmd = cmd
        .env_remove("HALLMARK_PASSPHRASE")
        .env_remove("HALLMARK_NEW_PASSPHRASE");
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.command().stdin(Stdio::null()).output().unwrap()
}

#[test]
fn encrypted_keys_passphrases_and_permissions() {
    let dir = tempdir();
    let out = run_with_passphrases(
        keygen(dir.path(), "enc"),
        &[("HALLMARK_PASSPHRASE", "open sesame")],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let kid = stdout(&out).trim().to_owned();
    let key = dir.path().join("enc.key");
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.contains("encryption = argon2id-xchacha20poly1305"));
    assert!(!stderr(&out).contains("NOT encrypted"));

    // key show needs no passphrase.
    let out = run_with_passphrases(hallmark(&["key", "show", "--json", p(&key)]), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["kid"], kid.as_str());
    assert_eq!(v["encrypted"], true);

    let mint_encrypted = |env: &[(&str, &str)], extra: &[&str]| {
        let cmd = mint(&key).part("P").lot("L").date("2024-01-01").count(2);
        run_with_passphrases(cmd.args(extra), env)
    };
    // Wrong passphrase: clear error, exit 2, nothing printed, no serials burnt.
    let out = mint_encrypted(&[("HALLMARK_PASSPHRASE", "wrong")], &[]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("wrong passphrase"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
    // No passphrase at all: says where one can come from.
    let out = mint_encrypted(&[], &[]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--passphrase-file"),
        "{}",
        stderr(&out)
    );
    // The right one, from the environment and from a file.
    let out = mint_encrypted(&[("HALLMARK_PASSPHRASE", "open sesame")], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2);
    let pass_file = dir.path().join("pass.txt");
    std::fs::write(&pass_file, "open sesame\n").unwrap();
    let out = mint_encrypted(&[], &["--passphrase-file", p(&pass_file)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // Change the passphrase; the old one stops working.
    let out = run_with_passphrases(
        hallmark(&["key", "passwd", p(&key)]),
        &[
            ("HALLMARK_PASSPHRASE", "open sesame"),
            ("HALLMARK_NEW_PASSPHRASE", "new one"),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        code(&mint_encrypted(
            &[("HALLMARK_PASSPHRASE", "open sesame")],
            &[]
        )),
        2
    );
    assert_eq!(
        code(&mint_encrypted(&[("HALLMARK_PASSPHRASE", "new one")], &[])),
        0
    );

    // chmod 644: refused, with the fix in the message.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = mint_encrypted(&[("HALLMARK_PASSPHRASE", "new one")], &[]);
        assert_eq!(code(&out), 2);
        assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
        assert!(stderr(&out).contains("readable by other users"));
    }
}

#[test]
fn output_formats_files_and_urls() {
    let dir = tempdir();
    let ledger = dir.path().join("l");
    let mint_labels = |extra: &[&str]| {
        let labels = mint(&demo_key()).part("DRN,\"29").lot("L1").count(3);
        labels.ledger(&ledger).args(extra).run()
    };
    // CSV with URLs, to a file.
    let csv_path = dir.path().join("labels.csv");
    let out = mint_labels(&[
        "--format",
        "csv",
        "--out",
        p(&csv_path),
        "--url-prefix",
        "https://hm.example.com/c",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("serial,code,part,lot,date,expiry,url"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3);
    for (i, row) in rows.iter().enumerate() {
        let fields: Vec<&str> = row.splitn(3, ',').collect();
        assert_eq!(fields[0], i.to_string());
        assert!(
            row.contains("\"DRN,\"\"29\",L1,2023-12-12,,HTTPS://HM.EXAMPLE.COM/C/"),
            "{row}"
        );
        let url = row.rsplit(',').next().unwrap();
        assert_eq!(url, format!("HTTPS://HM.EXAMPLE.COM/C/{}", fields[1]));
        assert_eq!(code(&verify_demo().input(url).run()), 0, "the URL verifies");
    }
    // An existing --out file is not replaced without --force.
    let out = mint_labels(&["--out", p(&csv_path)]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&csv_path).unwrap(), csv);
    // JSON lines, opaque serials.
    let out = mint_labels(&[
        "--format",
        "jsonl",
        "--serials",
        "opaque",
        "--expiry",
        "2030-01-01",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3);
    let mut serials = Vec::new();
    for v in &lines {
        let serial = v["serial"].as_u64().unwrap();
        assert!(serial >= 1 << 63, "opaque serials have the top bit set");
        assert_eq!(v["part"], "DRN,\"29");
        assert_eq!(v["expiry"], "2030-01-01");
        assert!(v["url"].is_null());
        let out = verify_demo()
            .json()
            .input(v["code"].as_str().unwrap())
            .run();
        assert_eq!(json_lines(&out)[0]["payload"]["serial"], serial);
        serials.push(serial);
    }
    serials.sort_unstable();
    serials.dedup();
    assert_eq!(serials.len(), 3);
    // A URL prefix outside QR alphanumeric mode is refused before any serial is reserved.
    let before = std::fs::read_to_string(&ledger).unwrap();
    let out = mint_labels(&["--url-prefix", "https://hm.example.com/c_x/"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("alphanumeric"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&ledger).unwrap(),
        before,
        "nothing reserved"
    );
}

/// Ctrl-C mid-batch: whole lines only, the --out file holds exactly what the
/// ledger records as emitted, serials stay reserved.
#[cfg(unix)]
#[test]
fn ctrl_c_leaves_ledger_and_output_consistent() {
    use std::io::{BufRead, BufReader};
    let dir = tempdir();
    let ledger = dir.path().join("l");
    let big_batch = || {
        mint(&demo_key())
            .part("P")
            .lot("L")
            .count(2_000_000)
            .ledger(&ledger)
    };
    let sigint = |pid: u32| {
        let ok = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    // To a file: interrupted, the file kept with whole lines, no temporary file.
    let out_file = dir.path().join("codes.txt");
    let child = big_batch()
        .out(&out_file)
        .command()
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_output(dir.path(), &ledger, 1);
    sigint(child.id());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130, "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "last line is whole"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "the ledger and the output: {leftovers:?}"
    );

    // To stdout: every line printed is a whole, genuine code.
    let mut child = big_batch()
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    sigint(child.id());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let printed: Vec<String> = std::iter::once(first.trim().to_owned())
        .chain(rest.lines().map(str::to_owned))
        .collect();
    assert!(
        rest.is_empty() || rest.ends_with('\n'),
        "last line is whole"
    );
    let out = verify_demo().input(&printed.join("\n")).run();
    assert_eq!(code(&out), 0, "every printed line verifies");

    // Both batches stay reserved: the next mint starts after them.
    let next = mint(&demo_key()).part("P").lot("L").ledger(&ledger).run();
    assert_eq!(serials(&[stdout(&next).trim().to_owned()]), vec![4_000_000]);
}

/// Waits (for a condition, not a time) until a mint writing into `dir` has
/// put at least `chunks` chunks of 8192 lines into its output file (the
/// temporary one, or any file other than the ledger).
#[cfg(unix)]
fn wait_for_output(dir: &Path, ledger: &Path, chunks: usize) {
    let lines = || {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.path() != ledger)
            .map(|e| {
                std::fs::read(e.path())
                    .map(|b| b.iter().filter(|c| **c == b'\n').count())
                    .unwrap_or(0)
            })
            .max()
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while lines() < chunks * 8192 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(lines() >= chunks * 8192, "mint never wrote {chunks} chunks");
}

/// `hallmark batches --json` rows for the demo key's ledger `ledger`.
fn batch_rows(ledger: &Path) -> Vec<serde_json::Value> {
    let out = hallmark(&["batches", "--key", p(&demo_key())])
        .ledger(ledger)
        .json()
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    json_lines(&out)
}

/// The demo key's manifest of `ledger`, exported and verified.
fn exported(ledger: &Path, dir: &Path) -> hallmark::BatchManifest {
    let manifest = dir.join(format!(
        "m{}.bin",
        unix_now() % 100_000 + u64::from(std::process::id())
    ));
    let _ = std::fs::remove_file(&manifest);
    let out = batches_export(&demo_key())
        .ledger(ledger)
        .out(&manifest)
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let bytes = std::fs::read(&manifest).unwrap();
    std::fs::remove_file(&manifest).unwrap();
    let trust =
        hallmark::TrustStore::from_toml(&std::fs::read_to_string(demo_trust()).unwrap()).unwrap();
    hallmark::BatchManifest::verify(&bytes, &trust).unwrap()
}

/// The serial of each code line (decoded, not verified: the signatures are
/// checked by the tests that print them).
fn decoded_serials(text: &str) -> Vec<u64> {
    text.lines()
        .map(|l| {
            hallmark::UnverifiedCode::decode(l)
                .unwrap()
                .payload()
                .serial()
        })
        .collect()
}

/// Issue 13 item 5: Ctrl-C a large mint to a file. The ledger's emitted count
/// is the number of lines in the file, the exported manifest covers exactly
/// the file's serials, and the next mint continues above the whole
/// reservation.
#[cfg(unix)]
#[test]
fn ctrl_c_mint_to_file_records_and_exports_exactly_the_lines_written() {
    let dir = tempdir();
    let ledger = dir.path().join("l");
    let out_file = dir.path().join("codes.txt");
    let child = mint(&demo_key())
        .part("P")
        .lot("L")
        .count(2_000_000)
        .ledger(&ledger)
        .out(&out_file)
        .command()
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_output(dir.path(), &ledger, 2);
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130, "{}", stderr(&out));
    let text = std::fs::read_to_string(&out_file).unwrap();
    let written = decoded_serials(&text);
    let n = written.len() as u64;
    assert!((2 * 8192..2_000_000).contains(&n), "{n} lines");
    assert_eq!(n % 8192, 0, "whole chunks only");
    assert_eq!(written, (0..n).collect::<Vec<_>>());

    let rows = batch_rows(&ledger);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["emitted"].as_u64(), Some(n), "{}", rows[0]);
    assert_eq!(rows[0]["count"].as_u64(), Some(2_000_000));
    assert_eq!(rows[0]["state"], "interrupted");
    assert_eq!(rows[0]["interrupted"], true);

    let m = exported(&ledger, dir.path());
    assert_eq!(m.batches.len(), 1);
    assert_eq!((m.batches[0].start, m.batches[0].count), (0, n));
    assert!(written.iter().all(|s| m.batches[0].contains(*s)));
    assert!(
        !m.batches[0].contains(n),
        "the first serial not written is not registered"
    );

    let next = mint(&demo_key()).part("P").lot("L").ledger(&ledger).run();
    assert_eq!(decoded_serials(&stdout(&next)), vec![2_000_000]);
    // The next batch is complete; the interrupted one keeps its count.
    let rows = batch_rows(&ledger);
    assert_eq!(rows[1]["state"], "complete");
    assert_eq!(rows[0]["emitted"].as_u64(), Some(n));
}

/// Issue 13 item 5: kill -9 in the middle of a mint, to stdout and to a
/// file. The ledger still loads; the batch shows as killed with an emitted
/// count E such that E <= lines in the output <= E + 8192 (one chunk: the
/// bound FORMAT.md 13.3 states); the manifest registers E; the next mint
/// continues above the whole reservation.
#[cfg(unix)]
#[test]
fn kill_9_mid_mint_ledger_never_claims_more_than_the_output() {
    use std::io::Read;
    const CHUNK: u64 = 8192;
    let dir = tempdir();
    let ledger = dir.path().join("l");

    // To stdout: kill once three chunks have been read; then read what the
    // pipe still holds.
    let mut child = mint(&demo_key())
        .part("P")
        .lot("L")
        .count(2_000_000)
        .ledger(&ledger)
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pipe = child.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    while got.iter().filter(|b| **b == b'\n').count() < 3 * CHUNK as usize {
        let n = pipe.read(&mut buf).unwrap();
        assert!(n > 0, "mint ended early");
        got.extend_from_slice(&buf[..n]);
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    pipe.read_to_end(&mut got).unwrap();
    let lines = got.iter().filter(|b| **b == b'\n').count() as u64;
    let rows = batch_rows(&ledger);
    assert_eq!(rows[0]["state"], "killed", "{}", rows[0]);
    assert_eq!(rows[0]["interrupted"], true);
    let e = rows[0]["emitted"].as_u64().unwrap();
    assert!(
        e <= lines && lines <= e + CHUNK,
        "emitted {e}, output {lines}"
    );
    assert_eq!(e % CHUNK, 0);

    // To a file: the temporary file is what the output holds.
    let out_file = dir.path().join("codes.txt");
    let mut child = mint(&demo_key())
        .part("P")
        .lot("L")
        .count(2_000_000)
        .ledger(&ledger)
        .out(&out_file)
        .command()
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_output(dir.path(), &ledger, 2);
    child.kill().unwrap();
    let _ = child.wait();
    assert!(!out_file.exists());
    let temp = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p != &ledger)
        .expect("the killed mint's temporary output");
    let held = std::fs::read(&temp).unwrap();
    let lines = held.iter().filter(|b| **b == b'\n').count() as u64;
    let rows = batch_rows(&ledger);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["state"], "killed");
    let e2 = rows[1]["emitted"].as_u64().unwrap();
    assert!(
        e2 <= lines && lines <= e2 + CHUNK,
        "emitted {e2}, file {lines}"
    );
    assert_eq!(rows[1]["start"].as_u64(), Some(2_000_000));

    // The manifest registers what was recorded; nothing is reissued.
    let m = exported(&ledger, dir.path());
    let listed: Vec<_> = m.batches.iter().map(|b| (b.start, b.count)).collect();
    let expect: Vec<_> = [(0, e), (2_000_000, e2)]
        .into_iter()
        .filter(|(_, c)| *c > 0)
        .collect();
    assert_eq!(listed, expect);
    let next = mint(&demo_key()).part("P").lot("L").ledger(&ledger).run();
    assert_eq!(code(&next), 0, "{}", stderr(&next));
    assert_eq!(decoded_serials(&stdout(&next)), vec![4_000_000]);
}

/// Issue 13 item 5: `mint --trust` refuses, before reserving or printing
/// anything, a --date outside the key's trust-store window, and a key the
/// trust store lacks.
#[test]
fn mint_refuses_a_date_outside_the_trust_window() {
    let dir = tempdir();
    let ledger = dir.path().join("l");
    let trust = dir.path().join("trust.toml");
    let demo = std::fs::read_to_string(demo_trust()).unwrap();
    let public = demo
        .lines()
        .find_map(|l| l.strip_prefix("public_key = "))
        .unwrap()
        .to_owned();
    std::fs::write(
        &trust,
        format!(
            "[[key]]\nname = \"demo\"\npublic_key = {public}\nvalid_from = 2023-01-01\nvalid_until = 2023-12-31\n"
        ),
    )
    .unwrap();
    for date in ["2022-12-31", "2024-01-01"] {
        let out = mint(&demo_key())
            .date(date)
            .count(10)
            .ledger(&ledger)
            .args(&["--trust", p(&trust)])
            .run();
        assert_eq!(code(&out), 2, "{date}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "nothing printed");
        assert!(
            stderr(&out).contains("(2023-01-01 to 2023-12-31)"),
            "names the window: {}",
            stderr(&out)
        );
        assert!(!ledger.exists(), "no ledger record");
    }
    for date in ["2023-01-01", "2023-12-31"] {
        let out = mint(&demo_key())
            .date(date)
            .ledger(&ledger)
            .args(&["--trust", p(&trust)])
            .run();
        assert_eq!(code(&out), 0, "{date}: {}", stderr(&out));
    }
    // A trust store without the key.
    let other = dir.path().join("other.toml");
    let public_other =
        std::fs::read_to_string(new_key(dir.path(), "o").with_extension("pub")).unwrap();
    std::fs::write(&other, format!("[[key]]\n{public_other}")).unwrap();
    let out = mint(&demo_key())
        .ledger(&ledger)
        .args(&["--trust", p(&other)])
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no entry for key"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
    assert_eq!(batch_rows(&ledger).len(), 2);
}

/// Issue 13 item 4 (issuer side): batch-opaque serials carry their batch
/// number, verify, and the exported manifest discloses a key with which
/// each batch contains exactly its serials; a key mints opaque or batch
/// serials, never both.
#[test]
fn batch_opaque_serials_are_checkable_from_the_manifest() {
    let dir = tempdir();
    let ledger = dir.path().join("demo.ledger");
    let first = mint_demo(dir.path(), 5, &["--serials", "batch"]);
    let second = mint_demo(dir.path(), 3, &["--serials", "batch"]);
    let out = verify(&demo_trust())
        .input(&[&first[..], &second[..]].concat().join("\n"))
        .run();
    assert_eq!(code(&out), 0, "every code verifies: {}", stdout(&out));
    let s1 = decoded_serials(&first.join("\n"));
    let s2 = decoded_serials(&second.join("\n"));
    assert!(
        s1.iter().all(|s| (s >> 40) == (1 << 23)),
        "batch 0: {s1:x?}"
    );
    assert!(
        s2.iter().all(|s| (s >> 40) == (1 << 23) + 1),
        "batch 1: {s2:x?}"
    );
    let m = exported(&ledger, dir.path());
    assert_eq!(m.batches.len(), 2);
    let numbers: Vec<_> = m
        .batches
        .iter()
        .map(|b| b.batch_key.as_ref().map(|k| k.number))
        .collect();
    assert_eq!(numbers, [Some(0), Some(1)]);
    assert_eq!((m.batches[0].start, m.batches[0].count), (0, 5));
    assert!(
        s1.iter()
            .all(|s| m.batches[0].contains(*s) && !m.batches[1].contains(*s))
    );
    assert!(
        s2.iter()
            .all(|s| m.batches[1].contains(*s) && !m.batches[0].contains(*s))
    );
    let out = mint(&demo_key())
        .ledger(&ledger)
        .args(&["--serials", "opaque"])
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot mint"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    // And the reverse, on a ledger with legacy opaque batches.
    let other = dir.path().join("opaque.ledger");
    assert_eq!(
        code(
            &mint(&demo_key())
                .ledger(&other)
                .args(&["--serials", "opaque"])
                .run()
        ),
        0
    );
    let out = mint(&demo_key())
        .ledger(&other)
        .args(&["--serials", "batch"])
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

/// Issue 16: `hallmark batches` prints when each batch was minted in RFC 3339
/// UTC, not in seconds; `--json` keeps `time` in seconds and adds
/// `time_rfc3339`.
#[test]
fn batches_print_the_mint_time_in_rfc3339_and_json_keeps_the_seconds() {
    let dir = tempdir();
    let ledger = dir.path().join("demo.ledger");
    mint(&demo_key())
        .count(2)
        .ledger(&ledger)
        .now(1_796_152_542)
        .ok();
    let list = || hallmark(&["batches", "--key", p(&demo_key())]).ledger(&ledger);
    let lines = list().lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].ends_with("\tminted at 2026-12-01T19:15:42Z"),
        "{}",
        lines[0]
    );
    assert!(!lines[0].contains("1796152542"), "{}", lines[0]);
    let rows = json_lines(&list().json().ok());
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["time"], 1_796_152_542);
    assert_eq!(rows[0]["time_rfc3339"], "2026-12-01T19:15:42Z");
}

#[test]
fn batches_are_listed_and_exported_as_a_signed_manifest() {
    let dir = tempdir();
    mint_demo(dir.path(), 4, &[]);
    mint_demo(dir.path(), 2, &["--serials", "opaque"]);
    let key = demo_key();
    let ledger = dir.path().join("demo.ledger");
    let batches = |args: &[&str]| {
        hallmark(&["batches"])
            .args(args)
            .args(&["--key", p(&key)])
            .ledger(&ledger)
    };
    let out = batches(&[]).json().run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["start"].as_u64(), rows[0]["count"].as_u64()),
        (Some(0), Some(4))
    );
    assert_eq!(rows[1]["serials"], "opaque");

    let manifest = dir.path().join("m.bin");
    let out = batches(&["export"]).out(&manifest).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let bytes = std::fs::read(&manifest).unwrap();
    let trust =
        hallmark::TrustStore::from_toml(&std::fs::read_to_string(demo_trust()).unwrap()).unwrap();
    let m = hallmark::BatchManifest::verify(&bytes, &trust).unwrap();
    assert_eq!(m.batches.len(), 2);
    assert_eq!(
        (m.batches[0].count, m.batches[0].part.as_str()),
        (4, "DRN-2980")
    );
    assert!(m.batches[1].opaque);
    let mut tampered = bytes.clone();
    tampered[10] ^= 1;
    assert!(hallmark::BatchManifest::verify(&tampered, &trust).is_err());
    // Not overwritten without --force.
    let out = batches(&["export"]).out(&manifest).run();
    assert_eq!(code(&out), 2);
}

/// A library error reaches the top of the binary whole: printed once, on one
/// line, with its cause chain (`X: caused by Y`), and naming the line of the
/// trust store at fault.
#[test]
fn errors_print_once_with_their_cause_chain() {
    let dir = tempdir();
    let trust = dir.path().join("trust.toml");
    std::fs::write(&trust, "# keys\n[[key]]\nname = \"a\"\npublic_key = = 1\n").unwrap();
    let out = hallmark(&["verify", "--trust", p(&trust), "0000"]).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("hallmark: error: "), "{err}");
    assert!(err.contains(p(&trust)), "{err}");
    assert!(err.contains(": caused by trust store: line 4: "), "{err}");
    assert!(
        err.contains(": caused by TOML parse error at line 4"),
        "{err}"
    );
    assert_eq!(err.matches("trust store:").count(), 1, "{err}");

    // A weak key is named with its entry's line.
    let weak = "0000000000000000000000000000000000000000000000000000000000000000";
    std::fs::write(
        &trust,
        format!("\n[[key]]\nname = \"w\"\npublic_key = \"{weak}\"\n"),
    )
    .unwrap();
    let out = hallmark(&["verify", "--trust", p(&trust), "0000"]).run();
    let err = stderr(&out);
    assert!(err.contains("trust store: line 3: key w is"), "{err}");
}

/// New input paths of this change refuse bad values with a message naming
/// them: the test clock `$HALLMARK_NOW`, and the serve flags whose range is
/// bounded by what the service stores.
#[test]
fn new_inputs_refuse_bad_values_by_name() {
    let out = verify(&demo_trust())
        .env("HALLMARK_NOW", "yesterday")
        .input("0630")
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("$HALLMARK_NOW"), "{}", stderr(&out));
    let trust = demo_trust();
    for (flag, value, says) in [
        (
            "--anonymous-clone-locations",
            "64",
            "--anonymous-clone-locations",
        ),
        ("--clone-locations", "64", "--clone-locations"),
        ("--scan-retention", "forever", "forever"),
        ("--idle-timeout", "0s", "at least 1s"),
    ] {
        let out = hallmark(&["serve", "--trust", p(&trust), "--listen", "127.0.0.1:0"])
            // A database that cannot be opened: were a check missing, serve
            // would fail there (naming the database, not the flag) instead
            // of starting.
            .args(&["--db", "/nonexistent-dir/h.db", flag, value])
            .run();
        assert_eq!(code(&out), 2, "{flag} {value}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(says),
            "{flag} {value}: {}",
            stderr(&out)
        );
    }
}
