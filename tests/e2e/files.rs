//! End-to-end: no hallmark command writes through a symlink planted at a path
//! it creates (issue 18.2), `--force` never replaces the key file, its ledger
//! or the trust store, and temporary files left by a killed process are
//! cleaned on the next run. Each test plants a symlink to a victim file at
//! every path the command creates (today's names and the predictable
//! temporary names of earlier releases) and checks that the victim is
//! untouched and no symlink remains where a file was promised.

#![cfg(unix)]
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::common::*;

const VICTIM_TEXT: &[u8] = b"precious: must never be overwritten\n";

/// A victim file outside the command's directories, and a place to plant.
struct Plant {
    dir: tempfile::TempDir,
    victim: PathBuf,
}

impl Plant {
    fn new() -> Plant {
        let dir = tempdir();
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, VICTIM_TEXT).unwrap();
        Plant { dir, victim }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Plants a symlink to the victim at `at`.
    fn link(&self, at: &Path) {
        if let Some(parent) = at.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        symlink(&self.victim, at).unwrap();
    }

    fn assert_victim_untouched(&self) {
        assert_eq!(
            fs::read(&self.victim).unwrap(),
            VICTIM_TEXT,
            "the victim was written through a symlink"
        );
    }
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn assert_regular_file(path: &Path) {
    let meta = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        meta.file_type().is_file(),
        "{} is not a regular file (a symlink remains where a file was promised)",
        path.display()
    );
}

/// `mint` with `key`: `count` codes of part P-1, lot L-1, 2024-01-01.
fn mint_p1(key: &Path, count: u64) -> Mint {
    mint(key)
        .part("P-1")
        .lot("L-1")
        .date("2024-01-01")
        .count(count)
}

#[test]
fn regression_mint_qr_dir_does_not_follow_planted_symlink() {
    let t = Plant::new();
    let qr = t.path("qr");
    // Today's name, and the predictable temporary name of earlier releases.
    t.link(&qr.join("0.png"));
    t.link(&qr.join(".1.png.tmp"));
    let ledger = t.path("demo.ledger");
    let out = mint_p1(&demo_key(), 3)
        .ledger(&ledger)
        .args(&["--qr-dir", p(&qr)])
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    t.assert_victim_untouched();
    for serial in 0..3 {
        let image = qr.join(format!("{serial}.png"));
        assert_regular_file(&image);
        assert!(fs::read(&image).unwrap().starts_with(b"\x89PNG"));
    }
    // Nothing but the images and the planted old-style link remain.
    let mut names: Vec<String> = fs::read_dir(&qr)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [".1.png.tmp", "0.png", "1.png", "2.png"]);
}

#[test]
fn regression_mint_out_does_not_follow_planted_symlink() {
    let t = Plant::new();
    let out_path = t.path("codes.txt");
    t.link(&out_path);
    let ledger = t.path("demo.ledger");
    let to_out = || mint_p1(&demo_key(), 2).ledger(&ledger).out(&out_path);
    // Without --force the existing name (a symlink) is refused.
    let out = to_out().run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    // With --force the symlink itself is replaced, never its target.
    let out = to_out().args(&["--force"]).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    t.assert_victim_untouched();
    assert_regular_file(&out_path);
    assert_eq!(fs::read_to_string(&out_path).unwrap().lines().count(), 2);
}

#[test]
fn regression_mint_ledger_is_never_opened_through_a_symlink() {
    let t = Plant::new();
    let ledger = t.path("demo.ledger");
    t.link(&ledger);
    let out = mint_p1(&demo_key(), 1).ledger(&ledger).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "no code may be printed");
    t.assert_victim_untouched();
}

#[test]
fn regression_verify_seen_journal_is_never_opened_through_a_symlink() {
    let t = Plant::new();
    let codes = mint_demo(t.dir.path(), 1, &[]);
    let journal = t.path("seen.jsonl");
    t.link(&journal);
    let out = verify(&demo_trust())
        .args(&["--seen", p(&journal), &codes[0]])
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(!stdout(&out).contains("genuine"), "{}", stdout(&out));
    t.assert_victim_untouched();
}

#[test]
fn regression_verify_snapshot_state_does_not_follow_planted_symlink() {
    let t = Plant::new();
    let keys = t.path("keys");
    let (trust, rev_key) = revocation_signer(&keys);
    let list = t.path("list.toml");
    fs::write(&list, "").unwrap();
    let snapshot = t.path("rev.bin");
    revocations_build(&rev_key, &list, 5, &snapshot).ok();
    let kid = fs::read_to_string(keys.join("rev.pub"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("# kid: "))
        .map(str::to_owned);
    let state = t.path("state");
    let codes = mint_demo(t.dir.path(), 1, &[]);
    // Plant at the state file the store writes for this signer.
    fs::create_dir_all(&state).unwrap();
    let state_file = match &kid {
        Some(kid) => state.join(format!("revocations-{kid}.seq")),
        None => panic!("no key id in `key show`"),
    };
    t.link(&state_file);
    let verify_with = |extra: &[&str]| {
        verify(&trust)
            .revocations(&snapshot)
            .state_dir(&state)
            .args(extra)
            .args(&[&codes[0]])
            .run()
    };
    let out = verify_with(&[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    t.assert_victim_untouched();
    // Once the link is gone, the state is a regular file.
    fs::remove_file(&state_file).unwrap();
    let out = verify_with(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_regular_file(&state_file);
    assert_eq!(fs::read_to_string(&state_file).unwrap(), "5\n");
    // And --min-sequence is a floor that survives a deleted state file.
    fs::remove_file(&state_file).unwrap();
    let out = verify_with(&["--min-sequence", "6"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("below the minimum sequence 6"),
        "{}",
        stderr(&out)
    );
    assert!(!state_file.exists());
}

#[test]
fn regression_keygen_does_not_follow_planted_symlink() {
    let t = Plant::new();
    let keys = t.path("keys");
    for name in ["acme.key", "acme.pub"] {
        let _ = fs::remove_dir_all(&keys);
        t.link(&keys.join(name));
        let out = keygen(&keys, "acme").unencrypted().run();
        assert_eq!(code(&out), 2, "{name}: {}", stderr(&out));
        t.assert_victim_untouched();
        assert!(is_symlink(&keys.join(name)));
    }
}

#[test]
fn regression_key_passwd_rewrites_the_key_file_not_a_symlink_target() {
    let t = Plant::new();
    let keys = t.path("keys");
    let key = new_key(&keys, "acme");
    // Old predictable temporary names: `.NAME.key.tmpPID`, for the next pids.
    let pid = std::process::id();
    for next in pid..pid + 64 {
        t.link(&keys.join(format!(".acme.key.tmp{next}")));
    }
    let out = hallmark(&["key", "passwd", p(&key)]).unencrypted().run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    t.assert_victim_untouched();
    assert_regular_file(&key);
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // No temporary file of the new layer is left.
    assert!(fs::read_dir(&keys).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains("hallmark-tmp")
    }));
}

#[test]
fn regression_trust_add_does_not_follow_planted_symlink() {
    let t = Plant::new();
    // The victim is a valid trust store, so that add proceeds to the write.
    fs::copy(demo_trust(), &t.victim).unwrap();
    let before = fs::read(&t.victim).unwrap();
    let keys = t.path("keys");
    new_key(&keys, "acme");
    let trust = t.path("trust.toml");
    symlink(&t.victim, &trust).unwrap();
    let out = trust_add(&trust, &keys.join("acme.pub")).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(fs::read(&t.victim).unwrap(), before, "victim written");
    assert_regular_file(&trust);
    assert!(fs::read_to_string(&trust).unwrap().contains("acme"));
}

#[test]
fn regression_qr_out_does_not_follow_planted_symlink() {
    let t = Plant::new();
    let codes = mint_demo(t.dir.path(), 1, &[]);
    let out_path = t.path("label.png");
    t.link(&out_path);
    let out = qr(&codes[0], &out_path).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = qr(&codes[0], &out_path).args(&["--force"]).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    t.assert_victim_untouched();
    assert_regular_file(&out_path);
    assert!(!is_symlink(&out_path));
}

#[test]
fn regression_revocations_build_and_batches_export_do_not_follow_planted_symlink() {
    let t = Plant::new();
    let keys = t.path("keys");
    let key = new_key(&keys, "acme");
    let list = t.path("list.toml");
    fs::write(&list, "").unwrap();
    let snapshot = t.path("rev.bin");
    t.link(&snapshot);
    let build = |force: bool| {
        let build = revocations_build(&key, &list, 1, &snapshot);
        if force {
            build.args(&["--force"])
        } else {
            build
        }
        .run()
    };
    assert_eq!(code(&build(false)), 2);
    let out = build(true);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    t.assert_victim_untouched();
    assert_regular_file(&snapshot);

    let manifest = t.path("manifest.bin");
    t.link(&manifest);
    let out = batches_export(&key).out(&manifest).args(&["--force"]).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    t.assert_victim_untouched();
    assert_regular_file(&manifest);
}

#[test]
fn regression_force_refuses_to_replace_key_ledger_or_trust_store() {
    let t = Plant::new();
    let keys = t.path("keys");
    let key = new_key(&keys, "acme");
    let ledger = key.with_extension("ledger");
    mint_p1(&key, 1).ledger(&ledger).ok();
    let key_before = fs::read(&key).unwrap();
    let ledger_before = fs::read(&ledger).unwrap();
    // The same file by another spelling, and through a symlink.
    let alias = keys.join("..").join("keys").join("acme.key");
    let link = t.path("looks-harmless.txt");
    symlink(&ledger, &link).unwrap();
    for target in [&key, &alias, &ledger, &link] {
        let to_target = mint_p1(&key, 1).ledger(&ledger).out(target);
        let out = to_target.args(&["--force"]).run();
        assert_eq!(code(&out), 2, "{}: {}", target.display(), stderr(&out));
        assert!(
            stderr(&out).contains("refusing to replace"),
            "{}",
            stderr(&out)
        );
        let out = batches_export(&key).out(target).args(&["--force"]).run();
        assert_eq!(code(&out), 2, "{}: {}", target.display(), stderr(&out));
    }
    // A secret key file is refused by any --force, whatever the command.
    let codes = mint_demo(t.dir.path(), 1, &[]);
    let out = qr(&codes[0], &key)
        .args(&["--format", "png", "--force"])
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(fs::read(&key).unwrap(), key_before);
    assert_eq!(fs::read(&ledger).unwrap(), ledger_before);
    // revocations pull never replaces the trust store it checks with.
    let trust = t.path("trust.toml");
    fs::copy(demo_trust(), &trust).unwrap();
    let trust_before = fs::read(&trust).unwrap();
    let out = hallmark(&["revocations", "pull", "--server", "http://127.0.0.1:9"])
        .args(&["--trust", p(&trust)])
        .out(&trust)
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refusing to replace"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read(&trust).unwrap(), trust_before);
}

#[test]
fn regression_kill_9_temporary_files_are_cleaned_on_the_next_run() {
    let t = Plant::new();
    let qr = t.path("qr");
    fs::create_dir_all(&qr).unwrap();
    // What a mint killed mid-image leaves: an unlocked temporary file, old.
    let stale = qr.join(".7.png.hallmark-tmp-0123456789abcdef");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    fs::File::create(&stale).unwrap().set_modified(old).unwrap();
    // Not the layer's own pattern: kept.
    let foreign = qr.join(".7.png.tmp");
    fs::File::create(&foreign)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let ledger = t.path("demo.ledger");
    let out = mint_p1(&demo_key(), 1)
        .ledger(&ledger)
        .args(&["--qr-dir", p(&qr)])
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stale.exists(), "stale temporary file left");
    assert!(
        foreign.exists(),
        "a file not of the layer's pattern was removed"
    );
}

/// Mints `count` codes with `key` (its default ledger unless `extra` says
/// otherwise) as CSV; returns (exit code, serial,code pairs, stderr).
fn mint_csv(key: &Path, count: u64, extra: &[&str]) -> (i32, Vec<(u64, String)>, String) {
    let out = mint_p1(key, count)
        .args(&["--format", "csv"])
        .args(extra)
        .run();
    let rows = stdout(&out)
        .lines()
        .skip(1)
        .map(|l| {
            let mut f = l.split(',');
            let serial = f.next().unwrap().parse().unwrap();
            (serial, f.next().unwrap().to_owned())
        })
        .collect();
    (code(&out), rows, stderr(&out))
}

#[test]
fn regression_mint_refuses_when_the_ledger_beside_the_key_is_deleted() {
    let t = Plant::new();
    let key = new_key(&t.path("keys"), "acme");
    let (status, first, err) = mint_csv(&key, 3, &[]);
    assert_eq!(status, 0, "{err}");
    assert_eq!(first.len(), 3);
    fs::remove_file(key.with_extension("ledger")).unwrap();
    // The key copied elsewhere has no ledger beside it either.
    let copy_dir = t.path("elsewhere");
    fs::create_dir_all(&copy_dir).unwrap();
    let copy = copy_dir.join("acme.key");
    fs::copy(&key, &copy).unwrap();
    for key in [&key, &copy] {
        let (status, rows, err) = mint_csv(key, 3, &[]);
        assert_eq!(status, 2, "{err}");
        assert!(rows.is_empty(), "codes printed: {rows:?}");
        assert!(
            err.contains("--new-ledger") && err.contains("reprint"),
            "{err}"
        );
    }
}

#[test]
fn regression_mint_refuses_when_the_ledger_is_edited_backwards() {
    let t = Plant::new();
    let key = new_key(&t.path("keys"), "acme");
    assert_eq!(mint_csv(&key, 3, &[]).0, 0);
    let ledger = key.with_extension("ledger");
    let one_batch = fs::read_to_string(&ledger).unwrap();
    assert_eq!(mint_csv(&key, 3, &[]).0, 0);
    // Hand-edited back to the first batch (or restored from an old backup).
    fs::write(&ledger, &one_batch).unwrap();
    let (status, rows, err) = mint_csv(&key, 3, &[]);
    assert_eq!(status, 2, "{err}");
    assert!(rows.is_empty());
    assert!(err.contains("edited backwards"), "{err}");
    // The ledger was not extended by the refused mint.
    assert_eq!(fs::read_to_string(&ledger).unwrap(), one_batch);
}

#[test]
fn regression_mint_new_ledger_never_reprints_an_issued_serial() {
    let t = Plant::new();
    let key = new_key(&t.path("keys"), "acme");
    let (_, first, _) = mint_csv(&key, 4, &[]);
    let (_, second, _) = mint_csv(&key, 4, &[]);
    fs::remove_file(key.with_extension("ledger")).unwrap();
    let (status, third, err) = mint_csv(&key, 4, &["--new-ledger"]);
    assert_eq!(status, 0, "{err}");
    assert!(err.contains("--new-ledger"), "the decision is loud: {err}");
    assert!(
        err.contains("records; continuing from counter 8,"),
        "one readable sentence: {err}"
    );
    let issued: Vec<&(u64, String)> = first.iter().chain(&second).collect();
    for row in &third {
        assert!(
            !issued.iter().any(|(s, c)| *s == row.0 || *c == row.1),
            "reprinted {row:?}"
        );
    }
    assert_eq!(third.first().map(|r| r.0), Some(8));
    // Serials below the new ledger's floor cannot be checked: refused.
    let (status, rows, err) = mint_csv(&key, 1, &["--serial-start", "0"]);
    assert_eq!(status, 2, "{err}");
    assert!(rows.is_empty());
    // Minting on continues without the flag.
    let (status, fourth, err) = mint_csv(&key, 2, &[]);
    assert_eq!(status, 0, "{err}");
    assert_eq!(fourth.first().map(|r| r.0), Some(12));
    // The key file stayed private, and opens.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn regression_demo_key_mints_without_a_ledger_and_is_never_modified() {
    let key = demo_key();
    let before = fs::read(&key).unwrap();
    let t = Plant::new();
    // A fresh clone has no ledger: the quickstart mints all the same.
    let codes = mint_demo(t.dir.path(), 2, &[]);
    assert_eq!(codes.len(), 2);
    fs::remove_file(t.path("demo.ledger")).unwrap();
    assert_eq!(
        mint_demo(t.dir.path(), 2, &[]),
        codes,
        "test-only: no guard"
    );
    assert_eq!(
        fs::read(&key).unwrap(),
        before,
        "the committed demo key changed"
    );
}
