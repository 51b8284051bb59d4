//! Crashes, kills (a child process of this test binary), damage and
//! concurrent reservers.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};

use super::super::record::Record;
use super::*;

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
            std::io::Write::write_all(
                &mut std::io::stdout(),
                format!("\n{CHILD_RESERVED} {}\n", r.id()).as_bytes(),
            )?;
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
            "pool::tests::crash::child_reserver",
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
