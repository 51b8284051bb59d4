//! The words people read (issue 17, "Words"): counts in the right number
//! ("1 batch", not "1 batches"), ranges as `0–2` rather than Rust's `0..=2`,
//! a bad character named by its 1-based position, times in RFC 3339.

use crate::common::*;

/// 2027-01-15T08:00:00Z.
const NOW: u64 = 1_800_000_000;
const NOW_RFC3339: &str = "2027-01-15T08:00:00Z";
const DEMO_KID: &str = "8608b1b7";

#[test]
fn batches_show_ranges_with_an_en_dash() {
    let dir = tempdir();
    let ledger = dir.path().join("demo.ledger");
    mint(&demo_key()).count(3).ledger(&ledger).ok();
    let lines = hallmark(&["batches", "--key", p(&demo_key())])
        .ledger(&ledger)
        .lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("serials 0–2\t"), "{}", lines[0]);
    assert!(!lines[0].contains(".."), "{}", lines[0]);
    // The JSON rows keep their numbers for scripts.
    let out = hallmark(&["batches", "--key", p(&demo_key())])
        .ledger(&ledger)
        .json()
        .ok();
    let rows = json_lines(&out);
    assert_eq!(
        (rows[0]["start"].as_u64(), rows[0]["end"].as_u64()),
        (Some(0), Some(2))
    );
}

#[test]
fn one_batch_of_one_code_is_counted_in_the_singular() {
    let dir = tempdir();
    let ledger = dir.path().join("demo.ledger");
    mint(&demo_key()).count(1).ledger(&ledger).ok();
    let out = hallmark(&["batches", "--key", p(&demo_key())])
        .ledger(&ledger)
        .ok();
    let err = stderr(&out);
    assert!(
        err.starts_with("1 batch (0 interrupted), 1 code emitted of 1 serial reserved, key "),
        "{err}"
    );
    let manifest = dir.path().join("m.bin");
    let out = batches_export(&demo_key())
        .ledger(&ledger)
        .out(&manifest)
        .ok();
    let err = stderr(&out);
    assert!(
        err.starts_with("wrote a manifest of 1 batch (their emitted codes) signed by "),
        "{err}"
    );
    // Two batches, three codes: the plural.
    mint(&demo_key()).count(2).ledger(&ledger).ok();
    let out = hallmark(&["batches", "--key", p(&demo_key())])
        .ledger(&ledger)
        .ok();
    let err = stderr(&out);
    assert!(
        err.starts_with("2 batches (0 interrupted), 3 codes emitted of 3 serials reserved, key "),
        "{err}"
    );
}

#[test]
fn a_receipt_and_a_bundle_count_in_words_and_say_when() {
    let dir = tempdir();
    let d = dir.path();
    let ledger = d.join("demo.ledger");
    mint(&demo_key()).count(1).ledger(&ledger).ok();
    let manifest = d.join("m.bin");
    batches_export(&demo_key())
        .ledger(&ledger)
        .out(&manifest)
        .ok();
    let (trust, rev_key) = revocation_signer(d);
    let out = hallmark(&["trust", "receipt", "--key", p(&rev_key)])
        .args(&["--manifest", p(&manifest), "--trust", p(&trust)])
        .out(&d.join("r.bin"))
        .now(NOW)
        .ok();
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "wrote receipt for manifest of key {DEMO_KID} (1 batch, 1 serial), registered {NOW_RFC3339}, "
        )),
        "{err}"
    );
    let out = hallmark(&["trust", "bundle", "build", "--key", p(&rev_key)])
        .args(&[
            "--batch",
            &format!("{}:{}", p(&manifest), p(&d.join("r.bin"))),
        ])
        .args(&["--sequence", "3"])
        .out(&d.join("bundle.bin"))
        .now(NOW + 60)
        .ok();
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "wrote trust bundle sequence 3 issued at 2027-01-15T08:01:00Z: 0 certificates, \
             1 manifest, 0 revocations, 0 compromised keys, signed by "
        ),
        "{err}"
    );
}

#[test]
fn a_revocation_snapshot_says_when_it_was_issued_and_counts_its_revocations() {
    let dir = tempdir();
    let d = dir.path();
    let (_trust, rev_key) = revocation_signer(d);
    let list = d.join("rev.toml");
    std::fs::write(
        &list,
        format!(
            "[[serial]]\nkid = \"{DEMO_KID}\"\nserial = 7\nreason = \"stolen\"\ndate = 2026-11-01\n"
        ),
    )
    .unwrap();
    let out = revocations_build(&rev_key, &list, 5, &d.join("rev.bin"))
        .now(NOW)
        .ok();
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "wrote revocation snapshot sequence 5 issued at {NOW_RFC3339} with 1 revocation, signed by "
        )),
        "{err}"
    );
}

#[test]
fn an_aggregation_of_one_child_says_child_and_its_time() {
    let dir = tempdir();
    let d = dir.path();
    let codes = mint_demo(d, 1, &[]);
    let list = d.join("children.txt");
    std::fs::write(&list, codes.join("\n")).unwrap();
    let out = hallmark(&[
        "aggregate",
        "--key",
        p(&demo_key()),
        "--parent",
        "sscc:106141411234567897",
        "--children",
        p(&list),
        "--bizstep",
        "packing",
        "--out",
        p(&d.join("case.agg")),
    ])
    .now(NOW)
    .ok();
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "wrote an aggregation manifest of 1 child of sscc:106141411234567897 (packing) at {NOW_RFC3339}, "
        )),
        "{err}"
    );
    assert!(!err.contains("1 children"), "{err}");
}

#[test]
fn a_bad_character_is_named_by_its_1_based_position() {
    // The U is the fourth character a person typed (and counts from 1).
    let out = verify(&demo_trust()).today(TODAY).input("ABCU\n").run();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains("invalid character 'U' at character 4 of the code"),
        "{all}"
    );
    assert!(!all.contains("at position 3"), "{all}");
}
