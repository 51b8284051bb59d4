use super::*;
use std::fs::{File, OpenOptions};
use std::io::Write;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn kid() -> KeyId {
    KeyId::from_bytes([1, 2, 3, 4])
}

fn sighting(time: u64, location: Option<&str>) -> Sighting {
    Sighting {
        time,
        location: location.map(String::from),
    }
}

fn temp() -> io::Result<(tempfile::TempDir, PathBuf)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("seen.jsonl");
    Ok((dir, path))
}

#[test]
fn round_trip_across_reopens() -> TestResult {
    let (_dir, path) = temp()?;
    let other = KeyId::from_bytes([9, 9, 9, 9]);
    {
        let mut j = Journal::open(&path)?;
        assert!(j.is_empty());
        assert_eq!(j.record(kid(), 1, 100, Some("Dock 3"))?, None);
        assert_eq!(j.record(kid(), u64::MAX, 101, None)?, None);
        assert_eq!(j.record(other, 1, 102, Some(""))?, None);
        assert_eq!(
            j.record(kid(), 2, 103, Some("a \"quoted\" \\ label"))?,
            None
        );
        j.flush()?;
    }
    let text = std::fs::read_to_string(&path)?;
    assert_eq!(
        text.lines().next(),
        Some(r#"{"v":1,"kid":"01020304","serial":1,"time":100,"location":"Dock 3"}"#)
    );
    let j = Journal::open(&path)?;
    assert_eq!(j.len(), 4);
    assert_eq!(j.first_seen(kid(), 1), Some(sighting(100, Some("Dock 3"))));
    assert_eq!(j.first_seen(kid(), u64::MAX), Some(sighting(101, None)));
    assert_eq!(j.first_seen(other, 1), Some(sighting(102, Some(""))));
    let label = Some("a \"quoted\" \\ label");
    assert_eq!(j.first_seen(kid(), 2), Some(sighting(103, label)));
    assert_eq!(j.first_seen(other, 2), None);
    Ok(())
}

#[test]
fn duplicates_report_the_first_sighting() -> TestResult {
    let (_dir, path) = temp()?;
    {
        let mut j = Journal::open(&path)?;
        assert_eq!(j.record(kid(), 7, 100, Some("Dock 3"))?, None);
        // Earlier in the same input, before any flush.
        let first = Some(sighting(100, Some("Dock 3")));
        assert_eq!(j.record(kid(), 7, 200, Some("Shop"))?, first);
        j.flush()?;
    }
    let mut j = Journal::open(&path)?;
    let first = Some(sighting(100, Some("Dock 3")));
    assert_eq!(j.record(kid(), 7, 300, None)?, first);
    assert_eq!(j.record(kid(), 8, 300, None)?, None);
    j.flush()?;
    drop(j);
    // Every sighting is history on file; only the first counts as first.
    assert_eq!(std::fs::read_to_string(&path)?.lines().count(), 4);
    let j = Journal::open(&path)?;
    assert_eq!(j.len(), 2);
    assert_eq!(j.first_seen(kid(), 7), first);
    Ok(())
}

#[test]
fn torn_tail_is_ignored_and_cut_off() -> TestResult {
    let (_dir, path) = temp()?;
    let mut j = Journal::open(&path)?;
    j.record(kid(), 1, 100, None)?;
    j.record(kid(), 2, 100, None)?;
    j.flush()?;
    drop(j);
    let good = std::fs::read(&path)?;
    let mut torn = good.clone();
    torn.extend_from_slice(br#"{"v":1,"kid":"01020304","serial":3,"ti"#);
    std::fs::write(&path, &torn)?;
    {
        let mut j = Journal::open(&path)?;
        assert_eq!(j.first_seen(kid(), 3), None);
        j.record(kid(), 4, 200, None)?;
        j.flush()?;
    }
    let text = std::fs::read(&path)?;
    assert_eq!(text.get(..good.len()), Some(&good[..]));
    assert!(text.ends_with(b"\"serial\":4,\"time\":200,\"location\":null}\n"));
    let j = Journal::open(&path)?;
    assert_eq!(j.len(), 3);
    assert_eq!(j.first_seen(kid(), 3), None);
    assert_eq!(j.first_seen(kid(), 4), Some(sighting(200, None)));
    Ok(())
}

#[test]
fn long_torn_tail_of_zeros_is_cut_off() -> TestResult {
    let (_dir, path) = temp()?;
    let mut j = Journal::open(&path)?;
    j.record(kid(), 1, 100, None)?;
    j.flush()?;
    drop(j);
    // A crashed flush whose blocks were never written reads back as zeros.
    let mut file = OpenOptions::new().append(true).open(&path)?;
    file.write_all(&[0; 3 * MAX_LINE_LEN])?;
    drop(file);
    let mut j = Journal::open(&path)?;
    assert_eq!(j.len(), 1);
    j.record(kid(), 2, 200, None)?;
    j.flush()?;
    drop(j);
    assert_eq!(std::fs::read_to_string(&path)?.lines().count(), 2);
    Ok(())
}

#[test]
fn whole_unterminated_last_record_is_kept() -> TestResult {
    let (_dir, path) = temp()?;
    let mut j = Journal::open(&path)?;
    j.record(kid(), 1, 100, Some("Dock 3"))?;
    j.flush()?;
    drop(j);
    let mut text = std::fs::read(&path)?;
    assert_eq!(text.pop(), Some(b'\n'));
    std::fs::write(&path, &text)?;
    {
        let mut j = Journal::open(&path)?;
        assert_eq!(j.first_seen(kid(), 1), Some(sighting(100, Some("Dock 3"))));
        j.record(kid(), 2, 200, None)?;
        j.flush()?;
    }
    let j = Journal::open(&path)?;
    assert_eq!(j.len(), 2);
    assert_eq!(std::fs::read_to_string(&path)?.lines().count(), 2);
    Ok(())
}

#[test]
fn damage_in_the_middle_is_refused_with_its_line() -> TestResult {
    let (_dir, path) = temp()?;
    let good = r#"{"v":1,"kid":"01020304","serial":1,"time":1,"location":null}"#;
    let cases: &[(&str, &str)] = &[
        (
            "secret garbage that must not be echoed in full",
            "not valid JSON",
        ),
        (
            r#"{"v":1,"kid":"01020304","serial":1}"#,
            "not a seen-journal record",
        ),
        (
            &good.replace("null}", r#"null,"x":1}"#),
            "not a seen-journal record",
        ),
        (&good.replace("\"v\":1", "\"v\":2"), "version 2"),
        (&good.replace("01020304", "0102030A"), "key id"),
        (&good.replace("null", r#""tab\there""#), "location"),
        (
            &good.replace("serial\":1", "serial\":-1"),
            "not a seen-journal record",
        ),
        ("", "record ends early"),
    ];
    for (bad, reason_part) in cases {
        std::fs::write(&path, format!("{good}\n{bad}\n{good}\n"))?;
        match Journal::open(&path) {
            Err(e @ JournalError::Corrupt { line: 2, .. }) => {
                let message = e.to_string();
                assert!(message.contains(reason_part), "{message}");
                assert!(!message.contains("must not be echoed"), "{message}");
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    Ok(())
}

#[test]
fn over_long_line_is_refused() -> TestResult {
    let (_dir, path) = temp()?;
    let long = "x".repeat(MAX_LINE_LEN + 1);
    std::fs::write(&path, format!("{long}\n"))?;
    assert!(matches!(
        Journal::open(&path),
        Err(JournalError::Corrupt { line: 1, .. })
    ));
    // The longest record a journal writes is well within the limit.
    let (_dir, path) = temp()?;
    let mut j = Journal::open(&path)?;
    let label = "\"".repeat(MAX_LOCATION_LEN);
    j.record(kid(), u64::MAX, u64::MAX, Some(&label))?;
    assert!(j.pending.len() < MAX_LINE_LEN / 3);
    Ok(())
}

#[test]
fn too_large_a_file_is_refused() -> TestResult {
    let (_dir, path) = temp()?;
    // Sparse: no disk space used.
    File::create(&path)?.set_len(MAX_JOURNAL_LEN + 1)?;
    assert!(matches!(
        Journal::open(&path),
        Err(JournalError::TooLarge { len, .. }) if len == MAX_JOURNAL_LEN + 1
    ));
    Ok(())
}

#[test]
fn second_opener_is_refused_while_locked() -> TestResult {
    let (_dir, path) = temp()?;
    let first = Journal::open(&path)?;
    assert!(matches!(
        Journal::try_open(&path),
        Err(JournalError::Busy { .. })
    ));
    drop(first);
    Journal::try_open(&path)?;
    Ok(())
}

#[test]
fn not_a_regular_file_is_refused() -> TestResult {
    let (dir, _path) = temp()?;
    assert!(Journal::open(dir.path()).is_err());
    #[cfg(unix)]
    assert!(matches!(
        Journal::open(Path::new("/dev/null")),
        Err(JournalError::NotAFile { .. })
    ));
    Ok(())
}

#[test]
fn location_labels_are_checked() -> TestResult {
    let (_dir, path) = temp()?;
    let mut j = Journal::open(&path)?;
    for good in ["", "Dock 3", " ~!", &"x".repeat(MAX_LOCATION_LEN)] {
        check_location(good)?;
    }
    let long = "x".repeat(MAX_LOCATION_LEN + 1);
    for bad in ["a\nb", "tab\t", "caf\u{e9}", "\u{7f}", &long] {
        assert!(matches!(
            j.record(kid(), 1, 1, Some(bad)),
            Err(JournalError::InvalidLocation { .. })
        ));
    }
    let e = check_location("line\nfeed")
        .map(|()| "")
        .unwrap_err()
        .to_string();
    assert!(e.contains("byte 5 (0x0a)") && !e.contains("feed"), "{e}");
    // Nothing was recorded.
    assert!(j.is_empty());
    j.flush()?;
    assert_eq!(std::fs::metadata(&path)?.len(), 0);
    Ok(())
}

#[test]
fn random_files_never_panic_and_appends_stay_readable() -> TestResult {
    let (_dir, path) = temp()?;
    let good = br#"{"v":1,"kid":"01020304","serial":1,"time":1,"location":"L"}"#;
    let pieces: &[&[u8]] = &[
        good,
        b"\n",
        b"{",
        b"}",
        b"\"",
        b"\\",
        b",",
        b":",
        b"1",
        b"null",
        b"\"v\":1",
        b"\"kid\":\"01020304\"",
        b"\"serial\":",
        b"\"location\":\"L\"",
        b"\0",
        b"\xff",
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut accepted = 0;
    for round in 0..400u64 {
        let mut bytes = Vec::new();
        for _ in 0..next() % 12 {
            let r = next();
            match pieces.get((r % 20) as usize) {
                Some(piece) => bytes.extend_from_slice(piece),
                None => bytes.push((r >> 8) as u8),
            }
        }
        std::fs::write(&path, &bytes)?;
        let Ok(mut j) = Journal::open(&path) else {
            continue;
        };
        accepted += 1;
        let before = j.len();
        j.record(kid(), 1 << 40 | round, round, Some("here"))?;
        j.flush()?;
        drop(j);
        // Whatever was accepted, an append never makes the file unreadable.
        let j = Journal::open(&path)?;
        assert_eq!(j.len(), before + 1);
        assert_eq!(
            j.first_seen(kid(), 1 << 40 | round),
            Some(sighting(round, Some("here")))
        );
    }
    // Both outcomes are exercised.
    assert!((50..350).contains(&accepted), "{accepted} of 400 accepted");
    Ok(())
}

/// The typed reason of line 2 when it is `bad` between two good lines.
fn line_error(path: &Path, bad: &str) -> Result<LineError, Box<dyn std::error::Error>> {
    let good = r#"{"v":1,"kid":"01020304","serial":1,"time":1,"location":null}"#;
    std::fs::write(path, format!("{good}\n{bad}\n{good}\n"))?;
    match Journal::open(path) {
        Err(JournalError::Corrupt {
            line: 2, reason, ..
        }) => Ok(reason),
        other => Err(format!("{bad}: expected a corrupt line 2, got {other:?}").into()),
    }
}

#[test]
fn each_damage_gives_its_line_error() -> TestResult {
    let (_dir, path) = temp()?;
    // A record cut short (a torn line that is not the last).
    let truncated = r#"{"v":1,"kid":"01020304","seri"#;
    assert!(matches!(
        line_error(&path, truncated)?,
        LineError::Json { what: JsonFault::Eof, column, ref begins }
            if column >= 29 && begins.as_bytes() == br#"{"v":1,"kid":"01"#
    ));
    assert!(matches!(
        line_error(&path, "#")?,
        LineError::Json {
            what: JsonFault::Syntax,
            column: 1,
            ..
        }
    ));
    assert!(matches!(
        line_error(&path, r#"{"v":1,"kid":"01020304","serial":1}"#)?,
        LineError::Json {
            what: JsonFault::Data,
            ..
        }
    ));
    let v3 = r#"{"v":3,"kid":"01020304","serial":1,"time":1,"location":null}"#;
    assert_eq!(line_error(&path, v3)?, LineError::Version { version: 3 });
    let upper = r#"{"v":1,"kid":"0102030A","serial":1,"time":1,"location":null}"#;
    assert_eq!(line_error(&path, upper)?, LineError::KeyId);
    let tab = r#"{"v":1,"kid":"01020304","serial":1,"time":1,"location":"a\tb"}"#;
    assert_eq!(line_error(&path, tab)?, LineError::Location);
    let long = "7".repeat(MAX_LINE_LEN + 1);
    assert!(matches!(
        line_error(&path, &long)?,
        LineError::TooLong { max: MAX_LINE_LEN, ref begins }
            if begins.to_string() == format!("{}...", "7".repeat(16))
    ));
    Ok(())
}

#[test]
fn each_bad_location_gives_its_location_error() {
    let reason = |label: &str| match check_location(label) {
        Err(JournalError::InvalidLocation { reason }) => Some(reason),
        _ => None,
    };
    assert_eq!(
        reason("ok\u{7f}"),
        Some(LocationError::NotPrintable {
            position: 3,
            byte: 0x7f
        })
    );
    assert_eq!(
        reason(&"x".repeat(MAX_LOCATION_LEN + 1)),
        Some(LocationError::TooLong {
            len: MAX_LOCATION_LEN + 1
        })
    );
    assert_eq!(reason("Dock 3"), None);
}
