//! End-to-end: the distributor's frictions (issue 17): a default trust
//! store, CSV input, a photo on stdin, the unverified claims of a refused
//! code, `--max-age` in its own unit, `trust list` and `trust remove`, and
//! `inspect` of signed files.

use std::path::{Path, PathBuf};

use crate::common::*;

/// The demo key's public key file.
fn demo_pub() -> PathBuf {
    Path::new(ROOT).join("keys.example/demo-TEST-ONLY.pub")
}

/// `hallmark ARGS` with a home of its own: `$HOME` and `$XDG_CONFIG_HOME`
/// (unless `xdg` is false) inside `dir`, no `$HALLMARK_TRUST`.
fn at_home(dir: &Path, xdg: bool, args: &[&str]) -> Hallmark {
    let cmd = hallmark(args)
        .env("HOME", p(&dir.join("home")))
        .env_remove("HALLMARK_TRUST");
    if xdg {
        cmd.env("XDG_CONFIG_HOME", p(&dir.join("config")))
    } else {
        cmd.env_remove("XDG_CONFIG_HOME")
    }
}

#[test]
fn verify_without_trust_reads_the_default_trust_store() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 1, &[]);
    // Nothing anywhere: the error names every place looked at.
    let out = at_home(dir.path(), true, &["verify", "--today", TODAY, &codes[0]]).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    for place in [
        "--trust",
        "$HALLMARK_TRUST",
        "$XDG_CONFIG_HOME/hallmark/trust.toml",
    ] {
        assert!(err.contains(place), "names {place}: {err}");
    }
    assert!(
        err.contains(p(&dir.path().join("config/hallmark/trust.toml"))),
        "{err}"
    );

    // `trust add` without --trust writes the default store, its directory 0700.
    at_home(dir.path(), true, &["trust", "add", p(&demo_pub())]).ok();
    let store = dir.path().join("config/hallmark/trust.toml");
    assert!(store.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(store.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
    let out = at_home(dir.path(), true, &["verify", "--today", TODAY, &codes[0]]).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("genuine"), "{}", stdout(&out));
    // The summary counts in words: one code.
    assert!(
        stderr(&out).contains("verified 1 code: 1 genuine"),
        "{}",
        stderr(&out)
    );

    // $HALLMARK_TRUST comes before the configuration directory.
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let out = at_home(dir.path(), true, &["verify", "--today", TODAY, &codes[0]])
        .env("HALLMARK_TRUST", p(&empty))
        .run();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("unknown-key"), "{}", stdout(&out));
    // --trust before both.
    let out = at_home(dir.path(), true, &["verify", "--today", TODAY, &codes[0]])
        .env("HALLMARK_TRUST", p(&empty))
        .args(&["--trust", p(&demo_trust())])
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // Without $XDG_CONFIG_HOME: ~/.config/hallmark/trust.toml.
    let out = at_home(dir.path(), false, &["verify", "--today", TODAY, &codes[0]]).run();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("~/.config/hallmark/trust.toml"),
        "{}",
        stderr(&out)
    );
    at_home(dir.path(), false, &["trust", "add", p(&demo_pub())]).ok();
    assert!(dir.path().join("home/.config/hallmark/trust.toml").exists());
    let out = at_home(dir.path(), false, &["verify", "--today", TODAY, &codes[0]]).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let help = stdout(&hallmark(&["verify", "--help"]).ok());
    assert!(
        help.contains("HALLMARK_TRUST") && help.contains("XDG_CONFIG_HOME"),
        "{help}"
    );
}

/// `script` runs verify with a pseudo-terminal on stdin.
#[test]
fn verify_on_a_terminal_says_it_waits_for_codes() {
    if !std::path::Path::new("/usr/bin/script").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "script(1) is needed under CI"
        );
        println!("SKIP verify_on_a_terminal_says_it_waits_for_codes: no script(1)");
        return;
    }
    let command = format!("{BIN} verify --trust {} --today {TODAY}", p(&demo_trust()));
    // The terminal's input is the test's: empty, so verify reads end of file.
    let out = run_program("script", &["-qec", &command, "/dev/null"]);
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(text.contains("waiting for codes on stdin"), "{text}");
    assert!(text.contains("Ctrl-D"), "{text}");
    // A pipe is not told.
    let out = verify(&demo_trust()).today(TODAY).input("").run();
    assert!(
        !stderr(&out).contains("waiting for codes"),
        "{}",
        stderr(&out)
    );
}

/// On a terminal, verify's progress bar on a file counts codes, not bytes.
#[test]
fn verify_progress_bar_counts_codes() {
    if !std::path::Path::new("/usr/bin/script").exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "script(1) is needed under CI"
        );
        println!("SKIP verify_progress_bar_counts_codes: no script(1)");
        return;
    }
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 5000, &[]);
    let file = dir.path().join("codes.txt");
    std::fs::write(&file, codes.join("\n")).unwrap();
    let command = format!(
        "{BIN} verify --trust {} --today {TODAY} --input {} > /dev/null",
        p(&demo_trust()),
        p(&file)
    );
    let out = run_program("script", &["-qec", &command, "/dev/null"]);
    let text = stdout(&out);
    assert!(text.contains("verified 5000 codes"), "{text}");
    assert!(
        text.contains(" codes (") && text.contains(" codes/s)"),
        "{text}"
    );
    assert!(!text.contains("iB"), "no bytes: {text}");
}

#[test]
fn verify_reads_hallmarks_own_csv_by_column() {
    let dir = tempdir();
    let csv = mint(&demo_key())
        .count(3)
        .ledger(&dir.path().join("demo.ledger"))
        .args(&[
            "--format",
            "csv",
            "--url-prefix",
            "HTTPS://HM.EXAMPLE.COM/C/",
        ])
        .lines();
    assert!(csv[0].starts_with("serial,code,"), "{}", csv[0]);
    let file = dir.path().join("labels.csv");
    std::fs::write(&file, csv.join("\n") + "\n").unwrap();
    let by = |column: &[&str]| {
        verify(&demo_trust())
            .today(TODAY)
            .args(&["--input", p(&file)])
            .args(column)
            .run()
    };
    for column in [
        &["--column", "code"][..],
        &["--column", "2"],
        &["--column", "url"],
        &[],
    ] {
        let out = by(column);
        assert_eq!(
            code(&out),
            0,
            "{column:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
        assert_eq!(lines.len(), 3, "{column:?}: {}", stdout(&out));
        for (line, row) in lines.iter().zip(&csv[1..]) {
            let code = row.split(',').nth(1).unwrap();
            assert!(line.starts_with("genuine") && line.contains(code), "{line}");
        }
        assert!(
            stderr(&out).contains("verified 3 codes: 3 genuine"),
            "{}",
            stderr(&out)
        );
    }
    // Line numbers are the file's (the header is line 1).
    let out = by(&["--column", "code", "--json"]);
    let lines = json_lines(&out);
    assert_eq!(lines[0]["line"], 2);

    let out = by(&["--column", "gtin"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("line 1") && stderr(&out).contains("no column \"gtin\""),
        "{}",
        stderr(&out)
    );
    let out = by(&["--column", "9"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("the header has 7 columns"),
        "{}",
        stderr(&out)
    );
    // A short row names its line.
    std::fs::write(&file, format!("{}\n{}\n7\n", csv[0], csv[1])).unwrap();
    let out = by(&["--column", "code"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("line 3: 1 field, but --column code is field 2"),
        "{}",
        stderr(&out)
    );
    // The same on stdin.
    let out = verify(&demo_trust())
        .today(TODAY)
        .args(&["--column", "code"])
        .input(&format!("{}\n{}\n", csv[0], csv[2]))
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("genuine"));
}

#[test]
fn verify_image_dash_reads_the_photo_from_stdin() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 1, &[]);
    let png = dir.path().join("label.png");
    qr(&codes[0], &png).ok();
    let bytes = std::fs::read(&png).unwrap();
    let out = verify(&demo_trust())
        .today(TODAY)
        .args(&["--image", "-"])
        .stdin(&bytes)
        .run();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).starts_with("genuine") && stdout(&out).contains(&codes[0]),
        "{}",
        stdout(&out)
    );
    let out = verify(&demo_trust())
        .args(&["--image", "-", "-"])
        .stdin(&bytes)
        .run();
    assert_eq!(code(&out), 2);
    assert!(!std::path::Path::new("-").exists());
}

#[test]
fn json_of_a_refused_code_shows_its_claims_marked_unverified() {
    let dir = tempdir();
    let codes = mint_demo(dir.path(), 2, &["--serial-start", "41"]);
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    // Unknown key: the key id and payload it claims.
    let out = verify(&empty).today(TODAY).json().args(&[&codes[0]]).run();
    assert_eq!(code(&out), 1);
    let v = &json_lines(&out)[0];
    assert_eq!(v["verdict"], "unknown-key", "{v}");
    assert_eq!(v["payload"], serde_json::Value::Null, "{v}");
    assert_eq!(v["kid"], serde_json::Value::Null, "{v}");
    assert_eq!(v["unverified"]["kid"], "8608b1b7", "{v}");
    assert_eq!(v["unverified"]["payload"]["serial"], 41, "{v}");
    assert_eq!(v["unverified"]["payload"]["part"], "DRN-2980", "{v}");
    assert!(
        v["unverified"]["note"]
            .as_str()
            .unwrap_or_default()
            .contains("UNVERIFIED"),
        "{v}"
    );
    // A bad signature: the last character altered.
    let mut altered = codes[1].clone();
    let last = altered.pop().unwrap();
    altered.push(if last == '0' { '1' } else { '0' });
    let out = verify(&demo_trust())
        .today(TODAY)
        .json()
        .args(&[&altered])
        .run();
    let v = &json_lines(&out)[0];
    assert_eq!(v["verdict"], "bad-signature", "{v}");
    assert_eq!(v["payload"], serde_json::Value::Null, "{v}");
    assert_eq!(v["unverified"]["payload"]["serial"], 42, "{v}");
    // Genuine and malformed codes have none.
    let out = verify(&demo_trust())
        .today(TODAY)
        .json()
        .args(&[&codes[0], "0000"])
        .run();
    let lines = json_lines(&out);
    assert_eq!(lines[0]["verdict"], "genuine");
    assert_eq!(lines[0]["payload"]["serial"], 41);
    assert_eq!(lines[0]["unverified"], serde_json::Value::Null);
    assert_eq!(lines[1]["verdict"], "malformed");
    assert_eq!(lines[1]["unverified"], serde_json::Value::Null);
}

#[test]
fn max_age_warning_answers_in_the_unit_given() {
    let dir = tempdir();
    let (trust, rev_key) = revocation_signer(dir.path());
    let codes = mint_demo(dir.path(), 1, &[]);
    let list = dir.path().join("list.toml");
    std::fs::write(
        &list,
        "[[serial]]\nkid = \"8608b1b7\"\nserial = 99\nreason = \"stolen\"\ndate = 2026-11-01\n",
    )
    .unwrap();
    let snapshot = dir.path().join("r.bin");
    let issued = unix_now();
    revocations_build(&rev_key, &list, 1, &snapshot)
        .now(issued)
        .ok();
    let warn = |later: u64, max_age: &str| {
        let out = verify(&trust)
            .today(TODAY)
            .state_dir(&dir.path().join("state"))
            .revocations(&snapshot)
            .args(&["--max-age", max_age, &codes[0]])
            .now(issued + later)
            .run();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        stderr(&out)
    };
    let err = warn(9 * 86_400 + 3600, "7d");
    assert!(
        err.contains("is 9 days old, older than --max-age 7d"),
        "{err}"
    );
    let err = warn(50 * 60, "30m");
    assert!(
        err.contains("is 50 minutes old, older than --max-age 30m"),
        "{err}"
    );
    let err = warn(3 * 3600, "2h");
    assert!(
        err.contains("is 3 hours old, older than --max-age 2h"),
        "{err}"
    );
}

#[test]
fn trust_list_and_remove_and_a_key_added_twice() {
    let dir = tempdir();
    let trust = dir.path().join("trust.toml");
    new_key(dir.path(), "other");
    new_key(dir.path(), "rev");
    trust_add(&trust, &demo_pub())
        .args(&["--valid-from", "2023-01-01", "--valid-until", "2030-12-31"])
        .ok();
    trust_add(&trust, &dir.path().join("other.pub")).ok();
    trust_add(&trust, &dir.path().join("rev.pub"))
        .args(&["--revocation-signer"])
        .ok();
    // Added twice: said so, with the file's name and the key id.
    let before = std::fs::read(&trust).unwrap();
    let out = trust_add(&trust, &demo_pub()).run();
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "demo-TEST-ONLY is already in {} (kid 8608b1b7)",
            p(&trust)
        )),
        "{err}"
    );
    assert!(!err.contains("have the same key id"), "{err}");
    assert_eq!(std::fs::read(&trust).unwrap(), before);

    let list = hallmark(&["trust", "list", "--trust", p(&trust)]).ok();
    let text = stdout(&list);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("key\tdemo-TEST-ONLY\t8608b1b7\tvalid 2023-01-01 to 2030-12-31"),
        "{text}"
    );
    assert!(lines[1].starts_with("key\tother\t"), "{text}");
    assert!(lines[1].contains("valid unbounded to unbounded"), "{text}");
    assert!(lines[2].starts_with("revocation-signer\trev\t"), "{text}");
    assert!(
        stderr(&list).contains("3 entries (2 keys, 1 revocation-signer)"),
        "{}",
        stderr(&list)
    );
    let json = json_lines(&hallmark(&["trust", "list", "--trust", p(&trust), "--json"]).ok());
    assert_eq!(json.len(), 3);
    assert_eq!(json[0]["name"], "demo-TEST-ONLY");
    assert_eq!(json[0]["kid"], "8608b1b7");
    assert_eq!(json[0]["role"], "key");
    assert_eq!(json[0]["valid_from"], "2023-01-01");
    assert_eq!(json[0]["valid_until"], "2030-12-31");
    assert_eq!(json[0]["certificate"], serde_json::Value::Null);
    assert_eq!(json[2]["revocation_signer"], true);
    let other_kid = json[1]["kid"].as_str().unwrap().to_owned();

    // Remove by key id and by name; an unknown entry is refused and named.
    let out = hallmark(&["trust", "remove", "--trust", p(&trust), &other_kid]).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("removed key other"),
        "{}",
        stderr(&out)
    );
    let out = hallmark(&["trust", "remove", "--trust", p(&trust), "rev"]).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let after = std::fs::read(&trust).unwrap();
    let out = hallmark(&["trust", "remove", "--trust", p(&trust), "nobody"]).run();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("\"nobody\" is not in it"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&trust).unwrap(), after);
    let json = json_lines(&hallmark(&["trust", "list", "--trust", p(&trust), "--json"]).ok());
    assert_eq!(json.len(), 1);
    assert_eq!(json[0]["name"], "demo-TEST-ONLY");
    // What is left still verifies, and the header comment is kept.
    let text = String::from_utf8(after).unwrap();
    assert!(text.starts_with("# hallmark trust store"), "{text}");
    let codes = mint_demo(dir.path(), 1, &[]);
    verify(&trust).today(TODAY).args(&[&codes[0]]).ok();
}

/// `inspect FILE` of each signed file hallmark writes: its type, signer and
/// contents, marked UNVERIFIED, as text and JSON.
#[test]
fn inspect_shows_signed_files_marked_unverified() {
    let dir = tempdir();
    let d = dir.path();
    let ledger = d.join("demo.ledger");
    mint(&demo_key()).count(10).ledger(&ledger).ok();
    let manifest = d.join("batches.manifest");
    batches_export(&demo_key())
        .ledger(&ledger)
        .out(&manifest)
        .ok();
    let (_, rev_key) = revocation_signer(d);
    let list = d.join("list.toml");
    std::fs::write(
        &list,
        "[[range]]\nkid = \"8608b1b7\"\nfirst = 0\nlast = 9999\nreason = \"recalled\"\ndate = 2026-11-01\n",
    )
    .unwrap();
    let snapshot = d.join("r.bin");
    revocations_build(&rev_key, &list, 5, &snapshot).ok();
    let root = new_key(d, "acme-root");
    let registry = new_key(d, "registry");
    let cert = d.join("registry.cert");
    hallmark(&[
        "cert",
        "issue",
        "--root",
        p(&root),
        p(&d.join("registry.pub")),
    ])
    .args(&["--valid-from", "2026-01-01", "--valid-until", "2027-12-31"])
    .args(&["--usage", "registry"])
    .out(&cert)
    .ok();
    let bundle = d.join("bundle.bin");
    hallmark(&["trust", "bundle", "build", "--key", p(&registry)])
        .args(&["--cert", p(&cert), "--sequence", "3"])
        .out(&bundle)
        .ok();

    let inspect = |file: &Path| {
        let text = hallmark(&["inspect", p(file)]).ok();
        let json = hallmark(&["inspect", "--json", p(file)]).ok();
        let v: serde_json::Value = serde_json::from_str(stdout(&json).trim()).unwrap();
        assert_eq!(v["verified"], false, "{v}");
        assert_eq!(v["status"], "UNVERIFIED", "{v}");
        (stdout(&text), v)
    };
    let (text, v) = inspect(&manifest);
    assert!(text.starts_with("UNVERIFIED"), "{text}");
    assert_eq!(v["type"], "batch-manifest", "{v}");
    assert_eq!(v["kid"], "8608b1b7");
    let batch = &v["document"]["batches"][0];
    assert_eq!(batch["count"], 10, "{v}");
    assert_eq!(batch["part"], "DRN-2980", "{v}");
    assert_eq!(batch["serials"], "0\u{2013}9", "{v}");
    assert!(
        text.contains("0\u{2013}9") && text.contains("DRN-2980"),
        "{text}"
    );

    let (text, v) = inspect(&snapshot);
    assert_eq!(v["type"], "revocation-snapshot", "{v}");
    assert_eq!(v["document"]["sequence"], 5, "{v}");
    assert_eq!(
        v["document"]["ranges"][0]["serials"], "0\u{2013}9999",
        "{v}"
    );
    assert_eq!(v["document"]["ranges"][0]["reason"], "recalled", "{v}");
    assert!(
        v["document"]["issued"].as_str().unwrap().ends_with('Z'),
        "{v}"
    );
    assert!(
        text.starts_with("UNVERIFIED") && text.contains("0\u{2013}9999"),
        "{text}"
    );

    let (text, v) = inspect(&cert);
    assert_eq!(v["type"], "certificate", "{v}");
    assert_eq!(v["document"]["name"], "registry", "{v}");
    assert_eq!(v["document"]["valid_until"], "2027-12-31", "{v}");
    assert!(text.contains("registry"), "{text}");

    let (text, v) = inspect(&bundle);
    assert_eq!(v["type"], "trust-bundle", "{v}");
    assert_eq!(v["document"]["sequence"], 3, "{v}");
    assert_eq!(v["document"]["certificates"][0]["name"], "registry", "{v}");
    assert!(text.starts_with("UNVERIFIED"), "{text}");

    // Not a hallmark file: refused, exit 1.
    let junk = d.join("junk.bin");
    std::fs::write(&junk, [1u8; 100]).unwrap();
    let out = hallmark(&["inspect", p(&junk)]).run();
    assert_eq!(code(&out), 1, "{}", stdout(&out));
}

/// `trust pull` without --trust verifies against the default trust store
/// when there is one.
#[test]
fn trust_pull_verifies_against_the_default_trust_store() {
    let dir = tempdir();
    let d = dir.path();
    let root = new_key(d, "acme-root");
    let registry = new_key(d, "registry");
    let cert = d.join("registry.cert");
    hallmark(&[
        "cert",
        "issue",
        "--root",
        p(&root),
        p(&d.join("registry.pub")),
    ])
    .args(&["--valid-from", "2026-01-01", "--valid-until", "2027-12-31"])
    .args(&["--usage", "registry"])
    .out(&cert)
    .ok();
    let bundle = d.join("bundle.bin");
    hallmark(&["trust", "bundle", "build", "--key", p(&registry)])
        .args(&["--cert", p(&cert), "--sequence", "3"])
        .out(&bundle)
        .ok();
    let bytes = std::fs::read(&bundle).unwrap();
    let pull = |out: &Path| {
        at_home(
            d,
            true,
            &["trust", "pull", "--server", &serve_once(bytes.clone())],
        )
        .args(&["--out", p(out)])
        .env("HALLMARK_STATE_DIR", p(&d.join("state")))
        .run()
    };
    // No default store: written unverified, as before.
    let out = pull(&d.join("a.bin"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("verified"), "{}", stderr(&out));
    // A default store without the bundle's root: refused, nothing written.
    at_home(d, true, &["trust", "add", p(&demo_pub())]).ok();
    let out = pull(&d.join("b.bin"));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(!d.join("b.bin").exists());
    // With the root: verified.
    at_home(
        d,
        true,
        &["trust", "add", "--root", p(&d.join("acme-root.pub"))],
    )
    .ok();
    let out = pull(&d.join("c.bin"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("verified"), "{}", stderr(&out));
}

/// `cert show` and `revocations pull` without --trust verify against the
/// default trust store when there is one, as `trust pull` does.
#[test]
fn cert_show_and_revocations_pull_use_the_default_trust_store() {
    let dir = tempdir();
    let d = dir.path();
    let root = new_key(d, "acme-root");
    new_key(d, "line3");
    let cert = d.join("line3.cert");
    hallmark(&["cert", "issue", "--root", p(&root), p(&d.join("line3.pub"))])
        .args(&["--valid-from", "2026-01-01", "--valid-until", "2027-12-31"])
        .out(&cert)
        .ok();
    let show = || at_home(d, true, &["cert", "show", p(&cert)]).run();
    let out = show();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("NOT VERIFIED"), "{}", stdout(&out));
    // A default store without the root: refused.
    at_home(d, true, &["trust", "add", p(&demo_pub())]).ok();
    let out = show();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("unknown root"), "{}", stderr(&out));
    // With the root: verified.
    at_home(
        d,
        true,
        &["trust", "add", "--root", p(&d.join("acme-root.pub"))],
    )
    .ok();
    let out = show();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stdout(&out).contains("NOT VERIFIED"), "{}", stdout(&out));

    // revocations pull: the default store has the demo key, not marked a
    // revocation signer, so its snapshot is refused and nothing written.
    let list = d.join("list.toml");
    std::fs::write(&list, "").unwrap();
    let snapshot = d.join("r.bin");
    revocations_build(&demo_key(), &list, 1, &snapshot).ok();
    let bytes = std::fs::read(&snapshot).unwrap();
    let out_file = d.join("pulled.bin");
    let out = at_home(
        d,
        true,
        &["revocations", "pull", "--server", &serve_once(bytes)],
    )
    .args(&["--out", p(&out_file)])
    .env("HALLMARK_STATE_DIR", p(&d.join("state")))
    .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("revocation"), "{}", stderr(&out));
    assert!(!out_file.exists());
}
