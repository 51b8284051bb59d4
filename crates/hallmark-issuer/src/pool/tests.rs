use super::*;

mod crash;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const GTIN: &str = "09506000134352";
const OTHER_GTIN: &str = "04012345123456";

fn kid() -> KeyId {
    KeyId::from_bytes([1, 2, 3, 4])
}

fn request(time: u64) -> PoolRequest<'static> {
    PoolRequest {
        kid: kid(),
        gtin: GTIN,
        time,
    }
}

fn pool(text: &str) -> SerialPool {
    match SerialPool::parse(text.as_bytes(), "pool.txt") {
        Ok(pool) => pool,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

fn pool_of(serials: &[&str]) -> SerialPool {
    pool(&serials.iter().map(|s| format!("{s}\n")).collect::<String>())
}

fn parse_err(text: &[u8]) -> PoolError {
    match SerialPool::parse(text, "pool.txt") {
        Err(e) => e,
        Ok(p) => panic!("{:?}: accepted as {p:?}", text.escape_ascii().to_string()),
    }
}

/// The fault and line of a refused pool (it must be a `BadSerial`).
fn fault(text: &[u8]) -> (usize, SerialFault) {
    match parse_err(text) {
        PoolError::BadSerial { line, fault, .. } => (line, fault),
        other => panic!("{:?}: {other:?}", text.escape_ascii().to_string()),
    }
}

fn reserve(dir: &Path, p: &SerialPool) -> Result<PoolReservation, PoolError> {
    reserve_pool(dir, &request(100), p, &mut |_| {})
}

fn ledger_file(dir: &Path) -> PathBuf {
    dir.join(format!("{}-{GTIN}.pool", kid()))
}

// ---- the pool file ----

#[test]
fn repeated_serial_names_both_lines() {
    let e = parse_err(b"A1\nB2\nC3\nB2\n");
    assert!(
        matches!(&e, PoolError::Repeated { serial, line: 4, first_line: 2, .. } if serial == "B2"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "pool.txt: line 4: serial B2 repeats line 2; nothing was reserved"
    );
    // Case matters; a CR before the newline is part of the line end.
    assert!(SerialPool::parse(&b"a\nA\n"[..], "p").is_ok());
    assert!(matches!(
        parse_err(b"A\r\nA\n"),
        PoolError::Repeated {
            line: 2,
            first_line: 1,
            ..
        }
    ));
}

#[test]
fn over_long_serial_is_refused_at_character_21() {
    let twenty = "A".repeat(20);
    assert_eq!(pool(&format!("{twenty}\n")).serials(), [twenty.as_str()]);
    let (line, f) = fault(format!("ok\n{twenty}B\n").as_bytes());
    assert_eq!((line, f), (2, SerialFault::TooLong { position: 21 }));
    // A huge line is judged on its first bytes, not read whole.
    let huge = "A".repeat(5_000_000);
    assert_eq!(
        fault(huge.as_bytes()),
        (1, SerialFault::TooLong { position: 21 })
    );
    // Twenty multi-byte characters are still characters outside the set.
    assert_eq!(
        fault("éééééééééééééééééééééé".as_bytes()).1,
        SerialFault::Character {
            position: 1,
            character: 'é'
        }
    );
}

#[test]
fn characters_outside_cset82_are_refused_with_their_position() {
    let cases: &[(&[u8], usize, char)] = &[
        (b"AB CD", 3, ' '),
        (b"AB#", 3, '#'),
        (b"$1", 1, '$'),
        (b"a@b", 2, '@'),
        (b"01\x1d21", 3, '\u{1d}'),
        (b"x\ty", 2, '\t'),
        (b"x\0", 2, '\0'),
        (b"trailing ", 9, ' '),
        (b"mid\rdle", 4, '\r'),
        (b"x\r\r", 2, '\r'),
        (b"[", 1, '['),
        (b"back\\slash", 5, '\\'),
        (b"^", 1, '^'),
        (b"`", 1, '`'),
        (b"{|}~", 1, '{'),
        ("\u{feff}BOM".as_bytes(), 1, '\u{feff}'),
        ("aé".as_bytes(), 2, 'é'),
        ("AÉ".as_bytes(), 2, 'É'),
        (b"\x7f", 1, '\x7f'),
    ];
    for (line, position, character) in cases {
        let mut text = b"GOOD-1\n".to_vec();
        text.extend_from_slice(line);
        text.extend_from_slice(b"\nGOOD-2\n");
        assert_eq!(
            fault(&text),
            (
                2,
                SerialFault::Character {
                    position: *position,
                    character: *character
                }
            ),
            "{:?}",
            line.escape_ascii().to_string()
        );
    }
    // Bytes that are not UTF-8: position in characters.
    assert_eq!(fault(b"ab\xffc"), (1, SerialFault::NotUtf8 { position: 3 }));
    assert_eq!(fault(b"\xc3"), (1, SerialFault::NotUtf8 { position: 1 }));
    let message = parse_err(b"ok\nAB CD\n").to_string();
    assert_eq!(
        message,
        "pool.txt: line 2: character 3 is ' ' (U+0020), outside the GS1 character set 82; \
         nothing was reserved"
    );
}

#[test]
fn empty_lines_and_empty_files_are_refused() {
    assert_eq!(fault(b"A\n\nB\n"), (2, SerialFault::Empty));
    assert_eq!(fault(b"A\nB\n\n"), (3, SerialFault::Empty));
    assert_eq!(fault(b"\n"), (1, SerialFault::Empty));
    assert_eq!(fault(b"\r\n"), (1, SerialFault::Empty));
    assert_eq!(fault(b"A\r\n\r\n"), (2, SerialFault::Empty));
    assert!(matches!(parse_err(b""), PoolError::EmptyPool { .. }));
}

#[test]
fn crlf_and_missing_final_newline_are_accepted() {
    assert_eq!(pool("A\r\nB\r\nC\r\n").serials(), ["A", "B", "C"]);
    assert_eq!(pool("A\nB").serials(), ["A", "B"]);
    assert_eq!(pool("A\r\nB\r").serials(), ["A", "B"]);
    assert_eq!(pool("A\nB\r\nC").serials(), ["A", "B", "C"]);
    // Every character of the set is accepted, and only those.
    let all = pool(&format!(
        "{}\n{}\n{}\n{}\n{}\n",
        &CSET82[..20],
        &CSET82[20..40],
        &CSET82[40..60],
        &CSET82[60..80],
        &CSET82[80..]
    ));
    assert_eq!(all.len(), 5);
}

#[test]
fn cset82_is_the_82_characters_of_gs1() {
    assert_eq!(CSET82.chars().count(), 82);
    let mut sorted: Vec<char> = CSET82.chars().collect();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.iter().collect::<String>(), CSET82);
    for c in (0u32..0x3000).filter_map(char::from_u32) {
        assert_eq!(is_cset82(c), CSET82.contains(c), "{c:?}");
    }
    for c in [
        ' ', '#', '$', '@', '[', '\\', ']', '^', '`', '{', '|', '}', '~',
    ] {
        assert!(!is_cset82(c), "{c:?}");
    }
}

#[test]
fn limits_are_enforced() {
    assert!(matches!(
        SerialPool::parse_within(&b"A\nB\nC\n"[..], "p", 2, 1000),
        Err(PoolError::TooManySerials { max: 2, .. })
    ));
    assert!(SerialPool::parse_within(&b"A\nB\n"[..], "p", 2, 1000).is_ok());
    assert!(matches!(
        SerialPool::parse_within(&b"AAAA\nBBBB\n"[..], "p", 10, 9),
        Err(PoolError::PoolTooLarge { max: 9, .. })
    ));
    assert!(SerialPool::parse_within(&b"AAAA\nBBBB\n"[..], "p", 10, 10).is_ok());
}

#[test]
fn gtins_are_checked_before_naming_a_file() -> TestResult {
    check_gtin(GTIN)?;
    check_gtin(OTHER_GTIN)?;
    check_gtin("00000000000000")?;
    for bad in [
        "09506000134353",
        "9506000134352",
        "095060001343520",
        "0950600013435X",
        "../../etc/pass",
        "0950600013435\u{663}",
        "",
    ] {
        assert!(
            matches!(check_gtin(bad), Err(PoolError::InvalidGtin { .. })),
            "{bad:?}"
        );
    }
    let dir = tempfile::tempdir()?;
    let pools = dir.path().join("p.pools");
    let bad = PoolRequest {
        gtin: "../../x0000000",
        ..request(1)
    };
    assert!(matches!(
        reserve_pool(&pools, &bad, &pool("A\n"), &mut |_| {}),
        Err(PoolError::InvalidGtin { .. })
    ));
    assert!(!pools.exists(), "nothing is created for a bad GTIN");
    Ok(())
}

#[test]
fn pool_dir_is_beside_the_ledger() {
    assert_eq!(
        pool_dir(Path::new("keys/acme.ledger")),
        Path::new("keys/acme.ledger.pools")
    );
    assert_eq!(pool_dir(Path::new("l")), Path::new("l.pools"));
}

// ---- reserving ----

#[test]
fn serial_used_before_is_refused_and_nothing_appended() -> TestResult {
    let dir = tempfile::tempdir()?;
    let first = reserve(dir.path(), &pool_of(&["A", "B", "C"]))?;
    assert_eq!((first.id(), first.count()), (1, 3));
    assert!(first.interrupted().is_empty());
    first.complete()?;
    let before = std::fs::read(ledger_file(dir.path()))?;
    // C (line 3) and A (line 4) were used: the first in pool order is named.
    let again = pool_of(&["X", "Y", "C", "A", "Z"]);
    match reserve(dir.path(), &again) {
        Err(
            e @ PoolError::AlreadyUsed {
                line: 3,
                reservation: 1,
                time: 100,
                used: 2,
                ..
            },
        ) => {
            assert!(
                e.to_string().contains("serial C was already used for GTIN"),
                "{e}"
            );
            assert!(
                e.to_string().contains(
                    "(pool reservation #1, at 1970-01-01T00:01:40Z); 2 serials of this pool were used before;"
                ),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read(ledger_file(dir.path()))?, before);
    // X, Y, Z were not reserved by the refused pool.
    reserve(dir.path(), &pool_of(&["X", "Y", "Z"]))?.complete()?;
    // Another GTIN, another key: their own histories.
    let other_gtin = PoolRequest {
        gtin: OTHER_GTIN,
        ..request(5)
    };
    reserve_pool(dir.path(), &other_gtin, &pool_of(&["A"]), &mut |_| {})?.complete()?;
    let other_key = PoolRequest {
        kid: KeyId::from_bytes([9, 9, 9, 9]),
        ..request(5)
    };
    reserve_pool(dir.path(), &other_key, &pool_of(&["A"]), &mut |_| {})?.complete()?;
    let history = pool_history(dir.path(), kid(), GTIN)?;
    assert_eq!(
        history,
        PoolHistory {
            reservations: 2,
            serials: 6,
            interrupted: vec![]
        }
    );
    Ok(())
}

#[test]
fn close_records_are_checked_and_unclosed_ones_reported_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let r = reserve(dir.path(), &pool_of(&["A", "B"]))?;
    let path = r.path().to_owned();
    drop(r); // no close record: as if killed
    let r = reserve(dir.path(), &pool_of(&["C"]))?;
    assert_eq!(
        r.interrupted(),
        [InterruptedPool {
            id: 1,
            time: 100,
            count: 2
        }]
    );
    assert!(
        r.interrupted()[0].to_string().starts_with(
            "2 pool serials were reserved by an interrupted batch (pool reservation #1, \
                 reserved at 1970-01-01T00:01:40Z) and are consumed"
        ),
        "{}",
        r.interrupted()[0]
    );
    r.close(0, End::Failed)?;
    // Reported once: the next reservation finds nothing open.
    let r = reserve(dir.path(), &pool_of(&["D", "E", "F"]))?;
    assert!(r.interrupted().is_empty());
    assert_eq!(r.id(), 3);
    drop(r); // (reserving again in this process would wait for its lock)
    // The killed batch's serials stay consumed.
    assert!(matches!(
        reserve(dir.path(), &pool_of(&["B"])),
        Err(PoolError::AlreadyUsed { reservation: 1, .. })
    ));
    // Closes that do not fit are refused and write nothing (the reservation
    // is then dropped unclosed, and reported by the next one).
    let r = reserve(dir.path(), &pool_of(&["G", "H", "I"]))?;
    assert_eq!(
        r.interrupted().len(),
        1,
        "D, E, F's reservation was dropped"
    );
    assert!(matches!(
        r.close(4, End::Interrupted),
        Err(PoolError::BadClose {
            emitted: 4,
            count: 3,
            ..
        })
    ));
    let r = reserve(dir.path(), &pool_of(&["J"]))?;
    let ids: Vec<u64> = r.interrupted().iter().map(|i| i.id).collect();
    assert_eq!(ids, [3, 4], "reported again: no close recorded the report");
    assert!(matches!(
        r.close(0, End::Complete),
        Err(PoolError::BadClose { .. })
    ));
    let text = std::fs::read_to_string(&path)?;
    let kinds: Vec<&str> = text
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["hallmark-pool", "R", "R", "C", "K", "R", "R", "R"]);
    Ok(())
}
