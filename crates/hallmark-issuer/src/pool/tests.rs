use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};

use super::record::Record;
use super::*;

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
        r.interrupted()[0]
            .to_string()
            .starts_with("2 pool serials were reserved by an interrupted batch"),
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

// ---- crashes and damage ----

/// The pool ledger after one closed reservation of A, B, and the bytes of a
/// second reservation of X, Y, ZZZ (id 2) that a crash may tear.
fn ledger_and_next(dir: &Path) -> Result<(Vec<u8>, Vec<u8>), Box<dyn std::error::Error>> {
    reserve(dir, &pool_of(&["A", "B"]))?.complete()?;
    let good = std::fs::read(ledger_file(dir))?;
    let mut next = Vec::new();
    let serials = ["X".to_owned(), "Y".to_owned(), "ZZZ".to_owned()];
    Record::Reserve {
        id: 2,
        time: 200,
        serials: &serials,
    }
    .write(&mut next);
    Ok((good, next))
}

/// Every cut of a reservation line: a prefix without its check value is a
/// torn tail (never returned to a caller: its serials are free again, and
/// it is cut off); the whole line, with or without its newline, is a
/// reservation (its serials are consumed).
#[test]
fn torn_tail_at_every_byte() -> TestResult {
    let base = tempfile::tempdir()?;
    let (good, next) = ledger_and_next(base.path())?;
    for cut in 0..=next.len() {
        let dir = tempfile::tempdir()?;
        let path = ledger_file(dir.path());
        let mut bytes = good.clone();
        bytes.extend_from_slice(next.get(..cut).unwrap_or_default());
        std::fs::write(&path, &bytes)?;
        let whole = cut + 1 >= next.len();
        match reserve(dir.path(), &pool_of(&["Q", "ZZZ"])) {
            Ok(r) => {
                assert!(!whole, "cut {cut}: a whole record was taken as torn");
                assert_eq!(r.id(), 2);
                assert!(r.interrupted().is_empty());
                r.complete()?;
                let after = std::fs::read(&path)?;
                assert!(after.starts_with(&good));
                let tail = String::from_utf8(after.get(good.len()..).unwrap_or_default().to_vec())?;
                assert!(tail.starts_with("R 2 100 2 Q ZZZ "), "cut {cut}: {tail:?}");
            }
            Err(PoolError::AlreadyUsed {
                serial,
                reservation: 2,
                ..
            }) => {
                assert!(whole, "cut {cut}: a torn record was taken as whole");
                assert_eq!(serial, "ZZZ");
            }
            Err(e) => panic!("cut {cut}: {e}"),
        }
    }
    Ok(())
}

#[test]
fn damaged_lines_stop_reservations() -> TestResult {
    let base = tempfile::tempdir()?;
    let (good, next) = ledger_and_next(base.path())?;
    let corrupt_line = |bytes: &[u8]| -> Result<(u64, PoolLineError), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(ledger_file(dir.path()), bytes)?;
        match reserve(dir.path(), &pool_of(&["NEW"])) {
            Err(PoolError::LedgerCorrupt { line, reason, .. }) => Ok((line, reason)),
            other => Err(format!("expected a corrupt ledger, got {other:?}").into()),
        }
    };
    // A torn line that more lines follow is damage, not a torn tail.
    let mut bytes = good.clone();
    bytes.extend_from_slice(next.get(..10).unwrap_or_default());
    bytes.push(b'\n');
    bytes.extend_from_slice(&next);
    assert!(matches!(corrupt_line(&bytes)?, (4, PoolLineError::Check)));
    // A flipped serial in a whole line (B → C): it must not read as unused.
    let text = String::from_utf8(good.clone())?;
    let flipped = text.replacen(" A B ", " A C ", 1);
    assert_ne!(flipped, text);
    assert!(matches!(
        corrupt_line(flipped.as_bytes())?,
        (2, PoolLineError::Check)
    ));
    // Zeros where a block was lost.
    let mut zeros = good.clone();
    let at = good.len() / 2;
    zeros.splice(at..at + 4, [0u8; 4]);
    assert!(matches!(corrupt_line(&zeros)?, (_, PoolLineError::Check)));
    // A well-checked record that breaks the rules is refused even as an
    // unterminated last line: it was written whole, never torn.
    let mut bad = good.clone();
    Record::Close {
        id: 9,
        emitted: 0,
        end: End::Failed,
    }
    .write(&mut bad);
    bad.pop();
    assert!(matches!(
        corrupt_line(&bad)?,
        (4, PoolLineError::NotOpen { id: 9 })
    ));
    let mut skip = good.clone();
    let serials = ["Q".to_owned()];
    Record::Reserve {
        id: 5,
        time: 1,
        serials: &serials,
    }
    .write(&mut skip);
    assert!(matches!(
        corrupt_line(&skip)?,
        (4, PoolLineError::Sequence { id: 5, expected: 2 })
    ));
    // Another GTIN's ledger under this GTIN's name (a renamed file).
    let other = tempfile::tempdir()?;
    let other_req = PoolRequest {
        gtin: OTHER_GTIN,
        ..request(1)
    };
    reserve_pool(other.path(), &other_req, &pool_of(&["A"]), &mut |_| {})?.complete()?;
    let moved = std::fs::read(other.path().join(format!("{}-{OTHER_GTIN}.pool", kid())))?;
    assert!(matches!(
        corrupt_line(&moved)?,
        (1, PoolLineError::Header { .. })
    ));
    Ok(())
}

#[test]
fn pool_ledger_is_not_reached_through_symlinks() -> TestResult {
    let dir = tempfile::tempdir()?;
    let real = dir.path().join("real");
    std::fs::create_dir(&real)?;
    #[cfg(unix)]
    {
        let link = dir.path().join("link.pools");
        std::os::unix::fs::symlink(&real, &link)?;
        assert!(matches!(
            reserve(&link, &pool("A\n")),
            Err(PoolError::NotADirectory { .. })
        ));
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"")?;
        std::os::unix::fs::symlink(&target, ledger_file(&real))?;
        assert!(matches!(
            reserve(&real, &pool("A\n")),
            Err(PoolError::Log(_))
        ));
    }
    Ok(())
}

// ---- concurrency ----

/// Threads reserving overlapping pools at once: every serial is won by at
/// most one, and every loser overlaps a winner.
#[test]
fn concurrent_reservers_never_share_a_serial() -> TestResult {
    let dir = tempfile::tempdir()?;
    let threads = 6;
    let barrier = Arc::new(Barrier::new(threads));
    let outcomes = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = Arc::clone(&barrier);
                let dir = dir.path();
                scope.spawn(move || {
                    // Thread t takes S(10t) .. S(10t + 19): each overlaps its neighbours.
                    let serials: Vec<String> =
                        (t * 10..t * 10 + 20).map(|i| format!("S{i:03}")).collect();
                    let p = pool(&serials.join("\n"));
                    barrier.wait();
                    let outcome = reserve(dir, &p).and_then(|r| r.complete());
                    (serials, outcome)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join())
            .collect::<Result<Vec<_>, _>>()
    });
    let outcomes = outcomes.map_err(|_| "a reserving thread panicked")?;
    let mut won: HashSet<String> = HashSet::new();
    let mut losers = Vec::new();
    for (serials, outcome) in outcomes {
        match outcome {
            Ok(()) => {
                for s in serials {
                    assert!(won.insert(s.clone()), "{s} won twice");
                }
            }
            Err(PoolError::AlreadyUsed { .. }) => losers.push(serials),
            Err(e) => return Err(e.into()),
        }
    }
    assert!(!won.is_empty());
    for serials in losers {
        assert!(serials.iter().any(|s| won.contains(s)));
    }
    let history = pool_history(dir.path(), kid(), GTIN)?;
    assert_eq!(history.serials, won.len() as u64);
    Ok(())
}

// ---- kill -9 ----

const CHILD_MODE: &str = "HALLMARK_POOL_TEST_CHILD";
const CHILD_DIR: &str = "HALLMARK_POOL_TEST_DIR";
const CHILD_RESERVED: &str = "hallmark-pool-test-child reserved";

/// Not a test of its own: run by the tests below in a child process (this
/// test binary, with the environment set), it reserves the pool in the
/// directory, then aborts (`abort`) or says so and waits to be killed
/// (`hang`), never closing the reservation.
#[test]
fn child_reserver() -> TestResult {
    let (Ok(mode), Ok(dir)) = (std::env::var(CHILD_MODE), std::env::var(CHILD_DIR)) else {
        return Ok(());
    };
    let dir = PathBuf::from(dir);
    let p = SerialPool::read_file(&dir.join("pool.txt"))?;
    let r = reserve(&dir.join("pools"), &p)?;
    match mode.as_str() {
        "abort" => std::process::abort(),
        _ => {
            // libtest has printed `test ... ` on this line already.
            println!("\n{CHILD_RESERVED} {}", r.id());
            std::io::Write::flush(&mut std::io::stdout())?;
            // The parent kills us (SIGKILL); this only bounds an orphan's life.
            std::thread::sleep(std::time::Duration::from_secs(60));
            drop(r);
            Ok(())
        }
    }
}

fn child(dir: &Path, mode: &str) -> std::io::Result<std::process::Child> {
    Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "pool::tests::child_reserver",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_MODE, mode)
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
}

/// A child reserves and aborts before closing: its serials are refused
/// afterwards and reported as consumed by an interrupted batch.
#[test]
fn abort_after_reserving_never_frees_the_serials() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pool.txt"), "K-1\nK-2\nK-3\n")?;
    let status = child(dir.path(), "abort")?.wait()?;
    assert!(!status.success(), "the child must have aborted");
    let pools = dir.path().join("pools");
    assert_eq!(
        pool_history(&pools, kid(), GTIN)?.interrupted,
        [InterruptedPool {
            id: 1,
            time: 100,
            count: 3
        }]
    );
    assert!(matches!(
        reserve(&pools, &pool("K-9\nK-2\n")),
        Err(PoolError::AlreadyUsed {
            line: 2,
            reservation: 1,
            ..
        })
    ));
    let r = reserve(&pools, &pool("K-4\n"))?;
    assert_eq!(r.interrupted().len(), 1);
    assert_eq!(r.interrupted()[0].count, 3);
    Ok(())
}

/// A child holds a reservation (so the lock); the parent's reservation of an
/// overlapping pool waits, kills the child with SIGKILL from the busy notice,
/// then finds the child's serials used.
#[test]
fn kill_9_while_holding_the_lock() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pool.txt"), "P-1\nP-2\n")?;
    let mut kid_proc = child(dir.path(), "hang")?;
    let stdout = kid_proc.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let reserved = lines.find(|l| l.as_ref().is_ok_and(|l| l.starts_with(CHILD_RESERVED)));
    assert!(reserved.is_some(), "the child did not reserve");
    let pools = dir.path().join("pools");
    let mut busy = 0;
    let outcome = reserve_pool(&pools, &request(300), &pool("P-3\nP-2\n"), &mut |n| {
        if matches!(n, Notice::LedgerBusy { .. }) {
            busy += 1;
            // SIGKILL: the lock goes with the process.
            let _ = kid_proc.kill();
        }
    });
    assert_eq!(busy, 1, "the child held the pool ledger's lock");
    let status = kid_proc.wait()?;
    assert!(!status.success());
    assert!(matches!(
        outcome,
        Err(PoolError::AlreadyUsed {
            line: 2,
            reservation: 1,
            ..
        })
    ));
    let r = reserve(&pools, &pool("P-3\n"))?;
    assert_eq!(
        r.interrupted(),
        [InterruptedPool {
            id: 1,
            time: 100,
            count: 2
        }]
    );
    Ok(())
}
