//! The seen-journal reader (`hallmark verify --seen PATH`), in the CLI crate:
//! `hallmark_state::journal::Journal::open` on each input written as a journal
//! file (in memory when `/dev/shm` exists).
//!
//! Checks besides "no panic":
//! - an accepted journal agrees with a plain JSON reading of its lines: the
//!   first line of each (kid, serial) is its first sighting, time and
//!   location included (only a torn last line may be dropped);
//! - recording a new sighting and flushing (which cuts off a torn tail and
//!   terminates an unterminated last record) keeps the file readable, keeps
//!   every first sighting, and reports a duplicate exactly when the serial was
//!   already there.

#![no_main]

use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use hallmark::KeyId;
use hallmark_state::journal::{Journal, JournalError, Sighting};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

struct Fixture {
    _dir: tempfile::TempDir,
    input: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut builder = tempfile::Builder::new();
        builder.prefix("hallmark-fuzz-journal");
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            builder.tempdir_in("/dev/shm")
        } else {
            builder.tempdir()
        }
        .expect("temporary directory");
        let input = dir.path().join("seen.jsonl");
        Fixture { input, _dir: dir }
    })
}

/// A line read as plain JSON: (kid, serial) and its sighting.
fn model(line: &[u8]) -> Option<((KeyId, u64), Sighting)> {
    let v: Value = serde_json::from_slice(line).ok()?;
    let kid = v.get("kid")?.as_str()?.parse::<KeyId>().ok()?;
    let serial = v.get("serial")?.as_u64()?;
    let time = v.get("time")?.as_u64()?;
    let location = match v.get("location") {
        None | Some(Value::Null) => None,
        Some(l) => Some(l.as_str()?.to_owned()),
    };
    Some(((kid, serial), Sighting { time, location }))
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    fs::write(&f.input, data).expect("write input");
    let mut journal = match Journal::open(&f.input) {
        Ok(j) => j,
        Err(JournalError::Corrupt { .. }) => return,
        Err(e) => panic!("a journal file was refused with an unexpected error: {e}"),
    };

    // The first sighting of every (kid, serial) in the terminated lines.
    let mut first: HashMap<(KeyId, u64), Sighting> = HashMap::new();
    let mut lines = data.split_inclusive(|&b| b == b'\n').peekable();
    let mut tail = None;
    while let Some(line) = lines.next() {
        match line.strip_suffix(b"\n") {
            Some(body) => {
                let (key, sighting) = model(body).unwrap_or_else(|| {
                    panic!(
                        "accepted a line plain JSON cannot read: {:?}",
                        String::from_utf8_lossy(body)
                    )
                });
                first.entry(key).or_insert(sighting);
            }
            None => {
                assert!(lines.peek().is_none());
                tail = model(line);
            }
        }
    }
    for (&(kid, serial), sighting) in &first {
        assert_eq!(
            journal.first_seen(kid, serial).as_ref(),
            Some(sighting),
            "first sighting of {kid}/{serial} differs"
        );
    }
    // An unterminated last line is kept whole or dropped, never changed.
    if let Some((key, sighting)) = &tail
        && !first.contains_key(key)
        && let Some(seen) = journal.first_seen(key.0, key.1)
    {
        assert_eq!(&seen, sighting, "a kept unterminated record changed");
        first.insert(*key, seen);
    }
    assert_eq!(
        journal.len(),
        first.len(),
        "the journal holds serials its lines do not"
    );

    // Record one more sighting: a serial from the input (a duplicate) or a new one.
    let (kid, serial) = match (data.len() % 2, first.keys().next()) {
        (0, Some(&key)) => key,
        _ => (
            KeyId::from_bytes([0xfe, 0xed, 0xfa, 0xce]),
            data.len() as u64,
        ),
    };
    let earlier = first.get(&(kid, serial)).cloned();
    let new = Sighting {
        time: 1_800_000_000,
        location: Some("fuzz dock".to_owned()),
    };
    let reported = journal
        .record(kid, serial, new.time, new.location.as_deref())
        .expect("record a valid sighting");
    assert_eq!(
        reported, earlier,
        "duplicate report differs from the file's first sighting"
    );
    journal.flush().expect("flush");
    drop(journal);

    let reopened = Journal::open(&f.input)
        .unwrap_or_else(|e| panic!("journal unreadable after an append: {e}"));
    first.entry((kid, serial)).or_insert(new);
    assert_eq!(reopened.len(), first.len());
    for (&(kid, serial), sighting) in &first {
        assert_eq!(
            reopened.first_seen(kid, serial).as_ref(),
            Some(sighting),
            "{kid}/{serial} after append"
        );
    }
});
