//! The storage conformance suite: every test runs against SQLite (in memory and
//! on disk) and against a real PostgreSQL server (a scratch schema per test;
//! skipped with a printed reason when none is reachable outside CI).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod pg;

use hallmark::{Date, KeyId, Payload, Reason, Scope};
use hallmark_server::storage::{
    Action, PostgresStorage, Scan, ScanSummary, StatusChange, Storage, StorageError, TokenScope,
};

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn change(scope: Scope, action: Action) -> StatusChange {
    StatusChange {
        kid: KeyId::from_bytes([1, 2, 3, 4]),
        scope,
        action,
        date: d("2026-11-01"),
    }
}

/// Runs a suite function on each backend.
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite_memory {
            $(#[test]
            fn $name() {
                super::$name(&hallmark_server::SqliteStorage::open_in_memory().unwrap());
            })*
        }
        mod on_sqlite_file {
            $(#[test]
            fn $name() {
                let dir = tempfile::tempdir().unwrap();
                super::$name(&hallmark_server::SqliteStorage::open(&dir.path().join("h.db")).unwrap());
            })*
        }
        mod on_postgres {
            $(#[test]
            fn $name() {
                let Some(scratch) = super::pg::scratch(stringify!($name)) else {
                    return;
                };
                super::$name(&hallmark_server::PostgresStorage::connect(&scratch.url).unwrap());
            })*
        }
    };
}

on_every_backend!(
    status_precedence_matches_snapshot_check,
    scans_count_distinct_locations_in_window,
    locations_count_once_across_scanner_kinds_at_the_window_edge,
    tokens_hash_only_and_revocable,
    batches_register_idempotently,
    regression_anonymous_scans_weigh_less_and_per_code_scan_storage_is_bounded,
    regression_scan_rows_are_pruned_after_the_retention_period,
    regression_snapshot_sequence_survives_a_move_to_a_new_database,
    readiness_write_probe_commits_and_leaves_the_sequence_alone,
    status_changes_from_concurrent_writers_get_unique_sequences,
);

fn status_precedence_matches_snapshot_check(s: &dyn Storage) {
    let kid = KeyId::from_bytes([1, 2, 3, 4]);
    let p = |serial, lot: &str, date: &str| Payload::new(serial, "P", lot, d(date)).unwrap();
    assert_eq!(s.status(kid, &p(42, "L1", "2024-01-01")).unwrap(), None);
    s.change_status(
        &change(Scope::Serial(42), Action::Revoke(Reason::Stolen)),
        "t",
        10,
    )
    .unwrap();
    s.change_status(
        &change(
            Scope::Range {
                first: 40,
                last: 50,
            },
            Action::Decommission,
        ),
        "t",
        11,
    )
    .unwrap();
    s.change_status(
        &change(Scope::Lot("L7".into()), Action::Revoke(Reason::Destroyed)),
        "t",
        12,
    )
    .unwrap();
    let reason = |serial, lot| {
        s.status(kid, &p(serial, lot, "2024-01-01"))
            .unwrap()
            .map(|st| st.revocation.reason)
    };
    assert_eq!(reason(42, "L1"), Some(Reason::Stolen));
    assert_eq!(reason(41, "L1"), Some(Reason::Decommissioned));
    assert_eq!(reason(51, "L1"), None);
    assert_eq!(reason(51, "L7"), Some(Reason::Destroyed));
    // Compare with the snapshot built from the same rows.
    let (seq, list) = s.revocations().unwrap();
    assert_eq!(seq, 12, "three changes at times 10 to 12");
    let mut snap = hallmark::RevocationSnapshot::new(seq, 0);
    for r in list {
        snap.add(r.kid, r.scope, r.reason, r.date).unwrap();
    }
    for (serial, lot) in [(42, "L1"), (41, "L7"), (51, "L7"), (60, "L1"), (45, "L7")] {
        let payload = p(serial, lot, "2024-01-01");
        assert_eq!(
            s.status(kid, &payload).unwrap().map(|st| st.revocation),
            snap.check(kid, &payload).cloned(),
            "{serial} {lot}"
        );
    }
    // A key revocation from a date covers later codes only, and wins.
    s.change_status(
        &change(
            Scope::Key {
                from: d("2025-01-01"),
            },
            Action::Revoke(Reason::KeyCompromised),
        ),
        "t",
        13,
    )
    .unwrap();
    assert_eq!(
        s.status(kid, &p(42, "L1", "2025-01-01"))
            .unwrap()
            .map(|st| st.revocation.reason),
        Some(Reason::KeyCompromised)
    );
    assert_eq!(reason(42, "L1"), Some(Reason::Stolen));
    // Reactivation removes exactly its target.
    s.change_status(&change(Scope::Serial(42), Action::Reactivate), "t", 14)
        .unwrap();
    assert_eq!(reason(42, "L1"), Some(Reason::Decommissioned));
    // Five changes at times 10 to 14: each sequence is its time.
    assert_eq!(s.sequence().unwrap(), 14);
    let log = s.audit_log(100).unwrap();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].action, "revoke");
    assert_eq!(log[0].target, "01020304 serial 42");
    assert_eq!(log[4].action, "reactivate");
}

fn scans_count_distinct_locations_in_window(s: &dyn Storage) {
    let kid = KeyId::from_bytes([1, 2, 3, 4]);
    let scan = |time, location: Option<&str>| Scan {
        trusted: false,
        kid,
        serial: u64::MAX,
        time,
        location: location.map(str::to_owned),
        scanner: None,
    };
    s.record_scan(&scan(100, Some("A")), 0, None).unwrap();
    s.record_scan(&scan(200, Some("B")), 0, None).unwrap();
    s.record_scan(&scan(300, None), 0, None).unwrap();
    let sum = s.record_scan(&scan(400, Some("B")), 150, None).unwrap();
    assert_eq!(
        sum,
        ScanSummary {
            count: 4,
            locations_in_window: 1,
            trusted_locations_in_window: 0,
            first: Some(100),
            last: Some(400)
        }
    );
    assert_eq!(
        s.scan_summary(kid, u64::MAX, 0)
            .unwrap()
            .locations_in_window,
        2
    );
    assert_eq!(s.scan_summary(kid, 7, 0).unwrap(), ScanSummary::default());
}

/// A place reported by both kinds of scanner is one location, whichever of
/// the two rows is inside the window; the first place is the authenticated
/// scanners' earliest, the least name among ties.
fn locations_count_once_across_scanner_kinds_at_the_window_edge(s: &dyn Storage) {
    let kid = KeyId::from_bytes([5, 6, 7, 8]);
    let scan = |trusted, time, location: &str| Scan {
        trusted,
        kid,
        serial: 3,
        time,
        location: Some(location.to_owned()),
        scanner: None,
    };
    // Paris: anonymous at 100 (outside the window from 150), authenticated
    // at 200. Lyon: authenticated at 100 (outside), anonymous at 300. Rome:
    // both inside. Oslo: both outside.
    for (trusted, time, place) in [
        (false, 100, "Paris"),
        (true, 200, "Paris"),
        (true, 100, "Lyon"),
        (false, 300, "Lyon"),
        (true, 160, "Rome"),
        (false, 170, "Rome"),
        (true, 90, "Oslo"),
        (false, 95, "Oslo"),
    ] {
        s.record_scan(&scan(trusted, time, place), 0, None).unwrap();
    }
    let sum = s.scan_summary(kid, 3, 150).unwrap();
    assert_eq!(
        (sum.locations_in_window, sum.trusted_locations_in_window),
        (3, 2),
        "Paris, Lyon and Rome; authenticated in the window: Paris and Rome"
    );
    let all = s.scan_summary(kid, 3, 0).unwrap();
    assert_eq!(
        (all.locations_in_window, all.trusted_locations_in_window),
        (4, 4)
    );
    let facts = s.unit_facts(kid, 3, "unit").unwrap();
    assert_eq!(facts.first_place.as_deref(), Some("Oslo"), "earliest first");
    // A tie on the first time: the least name.
    s.record_scan(&scan(true, 90, "Bergen"), 0, None).unwrap();
    let facts = s.unit_facts(kid, 3, "unit").unwrap();
    assert_eq!(facts.first_place.as_deref(), Some("Bergen"));
    // No authenticated scan: no first place.
    let other = s.unit_facts(kid, 4, "other").unwrap();
    assert_eq!(other.first_place, None);
}

fn tokens_hash_only_and_revocable(s: &dyn Storage) {
    let h = blake3::hash(b"secret");
    s.create_token("ops", TokenScope::Status, &h, 5).unwrap();
    assert!(matches!(
        s.create_token("ops", TokenScope::Batches, &blake3::hash(b"x"), 6),
        Err(StorageError::DuplicateToken(_))
    ));
    assert_eq!(
        s.authenticate(&h).unwrap().map(|t| t.scope),
        Some(TokenScope::Status)
    );
    assert_eq!(s.authenticate(&blake3::hash(b"other")).unwrap(), None);
    assert!(s.revoke_token("ops", 7).unwrap());
    assert!(!s.revoke_token("ops", 8).unwrap());
    assert_eq!(s.authenticate(&h).unwrap(), None);
    assert_eq!(s.tokens().unwrap()[0].revoked, Some(7));
}

fn batches_register_idempotently(s: &dyn Storage) {
    use hallmark::{BatchManifest, ManifestBatch};
    let kid = KeyId::from_bytes([1, 2, 3, 4]);
    let batch = |start: u64, count: u64, lot: &str, opaque: bool| ManifestBatch {
        opaque,
        start,
        count,
        part: "DRN-2980".into(),
        lot: lot.into(),
        date: d("2026-01-02"),
        expiry: None,
        minted: 1_000,
        batch_key: None,
    };
    let manifest = BatchManifest {
        kid,
        issued: 5,
        batches: vec![
            batch(1, 100, "L1", false),
            batch(1 << 63, 10, "L2", true),
            batch((1 << 63) - 10, 10, "L3", false),
        ],
    };
    let first = s
        .register_batches(&manifest, b"manifest-1", None, "factory", 10)
        .unwrap();
    assert_eq!((first.new, first.registered), (3, 10));
    let seq = s.sequence().unwrap();
    assert!(seq >= 10, "a new manifest bumps the sequence: {seq}");
    let again = s
        .register_batches(&manifest, b"manifest-1", None, "factory", 11)
        .unwrap();
    assert_eq!(
        (again.new, again.registered),
        (0, 10),
        "the first registration time is kept"
    );
    assert_eq!(s.sequence().unwrap(), seq, "nothing new, no bump");
    // A certified key's max_count: 120 registered; 10 more is refused at 125.
    let more = BatchManifest {
        kid,
        issued: 6,
        batches: vec![batch(200, 10, "L1", false)],
    };
    let e = s
        .register_batches(&more, b"manifest-2", Some(125), "factory", 12)
        .unwrap_err();
    assert!(
        matches!(
            e,
            StorageError::MaxCountExceeded {
                max_count: 125,
                registered: 120,
                new: 10,
                ..
            }
        ),
        "{e:?}"
    );
    let contents = s.registry_contents().unwrap();
    assert_eq!(contents.manifests.len(), 1, "nothing stored when refused");
    assert_eq!(contents.manifests[0].bytes, b"manifest-1");
    assert_eq!(contents.manifests[0].serials, 120);
    assert_eq!(contents.manifests[0].batches, 3);
    assert_eq!(contents.sequence, seq);
    assert_eq!(
        s.register_batches(&more, b"manifest-2", Some(130), "factory", 12)
            .unwrap()
            .new,
        1
    );
    let p = |serial, lot: &str| Payload::new(serial, "DRN-2980", lot, d("2026-01-02")).unwrap();
    assert!(s.is_registered(kid, &p(1, "L1")).unwrap());
    assert!(s.is_registered(kid, &p(100, "L1")).unwrap());
    assert!(!s.is_registered(kid, &p(101, "L1")).unwrap());
    assert!(
        !s.is_registered(kid, &p(50, "L2")).unwrap(),
        "lot must match"
    );
    assert!(s.is_registered(kid, &p((1 << 63) + 12345, "L2")).unwrap());
    assert!(s.is_registered(kid, &p((1 << 63) - 1, "L3")).unwrap());
    assert!(
        !s.is_registered(kid, &p(u64::MAX, "L3")).unwrap(),
        "opaque serial, sequential batch"
    );
    assert!(
        !s.is_registered(KeyId::from_bytes([9; 4]), &p(1, "L1"))
            .unwrap()
    );
    // Two registrations of the first manifest and the second one (the
    // refused one wrote nothing, its audit row included).
    let log = s.audit_log(10).unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[1].target, "01020304 (3 batches, 0 new)");
}

/// Two handles on one database (two replicas, or two threads of one) change
/// statuses at once: every change gets its own sequence number, none is lost.
fn status_changes_from_concurrent_writers_get_unique_sequences(s: &dyn Storage) {
    const EACH: u64 = 25;
    let mut seqs: Vec<u64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4u64)
            .map(|w| {
                scope.spawn(move || {
                    (0..EACH)
                        .map(|i| {
                            s.change_status(
                                &change(
                                    Scope::Serial(w * 1000 + i),
                                    Action::Revoke(Reason::Stolen),
                                ),
                                "t",
                                i,
                            )
                            .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=4 * EACH).collect::<Vec<_>>());
    let (seq, list) = s.revocations().unwrap();
    assert_eq!(seq, 4 * EACH);
    assert_eq!(list.len() as u64, 4 * EACH);
    assert_eq!(s.audit_log(1000).unwrap().len() as u64, 4 * EACH);
}

#[test]
fn postgres_replicas_share_one_database_and_migrate_once() {
    let Some(scratch) = pg::scratch("replicas") else {
        return;
    };
    // Four replicas connect at once to an empty schema: one migrates, the
    // others wait for its advisory lock and find the schema current.
    let replicas: Vec<PostgresStorage> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| PostgresStorage::connect(&scratch.url).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(replicas[0].schema_version().unwrap(), 9);
    replicas[0]
        .change_status(&change(Scope::Serial(7), Action::Decommission), "t", 1)
        .unwrap();
    let p = Payload::new(7, "P", "L", d("2024-01-01")).unwrap();
    let seen = replicas[3]
        .status(KeyId::from_bytes([1, 2, 3, 4]), &p)
        .unwrap();
    assert_eq!(seen.unwrap().state(), "decommissioned");
    // A schema from a newer hallmark is refused, not written to.
    let mut client = postgres::Client::connect(&scratch.url, postgres::NoTls).unwrap();
    client
        .batch_execute("INSERT INTO schema_migrations VALUES (99, 0)")
        .unwrap();
    assert!(matches!(
        PostgresStorage::connect(&scratch.url),
        Err(StorageError::SchemaTooNew { found: 99, .. })
    ));
}

/// Issue 18.7: scans are kept per code as totals plus at most
/// MAX_LOCATIONS_PER_CODE locations per kind of scanner (the least recently
/// seen forgotten first), and authenticated scanners' locations are counted
/// apart from anonymous ones.
fn regression_anonymous_scans_weigh_less_and_per_code_scan_storage_is_bounded(s: &dyn Storage) {
    use hallmark_server::storage::MAX_LOCATIONS_PER_CODE;
    let kid = KeyId::from_bytes([1, 2, 3, 4]);
    let scan = |trusted, time, location: String| Scan {
        trusted,
        kid,
        serial: 9,
        time,
        location: Some(location),
        scanner: None,
    };
    let flood = MAX_LOCATIONS_PER_CODE + 500;
    let mut last = ScanSummary::default();
    for i in 0..flood {
        last = s
            .record_scan(&scan(false, 1000 + i, format!("invented-{i}")), 0, None)
            .unwrap();
    }
    assert_eq!(last.count, flood, "every scan is counted");
    assert_eq!(last.locations_in_window, MAX_LOCATIONS_PER_CODE, "bounded");
    assert_eq!(last.trusted_locations_in_window, 0);
    // The most recent locations are the ones kept: a window over the last ten
    // scans still sees ten.
    let recent = s.scan_summary(kid, 9, 1000 + flood - 10).unwrap();
    assert_eq!(recent.locations_in_window, 10);
    // An authenticated scanner's locations are kept and counted apart; the
    // same place reported by both counts once among all locations.
    s.record_scan(&scan(true, 5000, "Paris".into()), 0, None)
        .unwrap();
    s.record_scan(&scan(true, 5001, "Paris".into()), 0, None)
        .unwrap();
    let sum = s
        .record_scan(&scan(true, 5002, "Lyon".into()), 4999, None)
        .unwrap();
    assert_eq!(sum.trusted_locations_in_window, 2);
    assert_eq!(sum.locations_in_window, 2);
    let sum = s
        .record_scan(&scan(false, 5003, "Lyon".into()), 4999, None)
        .unwrap();
    assert_eq!(
        (sum.trusted_locations_in_window, sum.locations_in_window),
        (2, 2)
    );
    assert_eq!(sum.count, flood + 4);
    assert_eq!((sum.first, sum.last), (Some(1000), Some(5003)));
}

/// Issue 18.7: scan rows were never pruned. `prune_scans` forgets locations
/// and codes last seen before the cutoff, and a scan with a retention cutoff
/// prunes on write (once per hour of scan time).
fn regression_scan_rows_are_pruned_after_the_retention_period(s: &dyn Storage) {
    let kid = KeyId::from_bytes([1, 2, 3, 4]);
    let scan = |serial, time, location: &str| Scan {
        trusted: false,
        kid,
        serial,
        time,
        location: Some(location.to_owned()),
        scanner: None,
    };
    s.record_scan(&scan(1, 100, "A"), 0, None).unwrap();
    s.record_scan(&scan(1, 5000, "B"), 0, None).unwrap();
    s.record_scan(&scan(2, 200, "A"), 0, None).unwrap();
    assert_eq!(s.prune_scans(1000).unwrap(), 1, "serial 2 is forgotten");
    assert_eq!(s.scan_summary(kid, 2, 0).unwrap(), ScanSummary::default());
    let one = s.scan_summary(kid, 1, 0).unwrap();
    assert_eq!(
        (one.count, one.locations_in_window),
        (2, 1),
        "A is forgotten"
    );
    // On write: the first scan with a cutoff prunes.
    s.record_scan(&scan(3, 300, "A"), 0, None).unwrap();
    let sum = s.record_scan(&scan(1, 10_000, "C"), 0, Some(6000)).unwrap();
    assert_eq!(
        sum.locations_in_window, 2,
        "the answer counts before pruning"
    );
    assert_eq!(s.scan_summary(kid, 3, 0).unwrap(), ScanSummary::default());
    assert_eq!(s.scan_summary(kid, 1, 0).unwrap().locations_in_window, 1);
    // Not again within the hour: this scan's cutoff would forget serial 4.
    s.record_scan(&scan(4, 10_001, "A"), 0, None).unwrap();
    s.record_scan(&scan(1, 10_002, "C"), 0, Some(10_002))
        .unwrap();
    assert_eq!(s.scan_summary(kid, 4, 0).unwrap().count, 1);
    s.record_scan(&scan(1, 10_000 + 3600, "C"), 0, Some(10_002))
        .unwrap();
    assert_eq!(s.scan_summary(kid, 4, 0).unwrap(), ScanSummary::default());
}

/// Issue 18.9: moving the service to a new database restarted its snapshot
/// sequence at 1, so every verifier that had seen the old one refused the new
/// snapshots. A sequence is at least the time of its change, so the new
/// database's first change, made after the move, is above the old sequences
/// (also after a burst of changes faster than one a second).
fn regression_snapshot_sequence_survives_a_move_to_a_new_database(new: &dyn Storage) {
    let old = hallmark_server::SqliteStorage::open_in_memory().unwrap();
    let t = 1_795_435_200;
    let mut last = 0;
    for i in 0..50 {
        // 50 changes within one second.
        let seq = old
            .change_status(&change(Scope::Serial(i), Action::Decommission), "t", t)
            .unwrap();
        assert!(seq > last);
        last = seq;
    }
    assert_eq!(last, t + 49);
    // The empty new database has served nothing: sequence 0, which verifiers
    // with state refuse (an empty snapshot after a move is not trusted).
    assert_eq!(new.sequence().unwrap(), 0);
    let moved = new
        .change_status(
            &change(Scope::Serial(0), Action::Decommission),
            "t",
            t + 120,
        )
        .unwrap();
    assert!(moved > last, "{moved} after {last}");
    assert_eq!(new.revocations().unwrap().0, moved);
    // And it still only goes up, even if the clock goes back.
    let next = new
        .change_status(&change(Scope::Serial(1), Action::Decommission), "t", t)
        .unwrap();
    assert_eq!(next, moved + 1);
}

/// The `/readyz` write probe is a real committed write on each backend, and
/// the health row it writes is not the snapshot sequence.
fn readiness_write_probe_commits_and_leaves_the_sequence_alone(s: &dyn Storage) {
    s.check_writable(100).unwrap();
    s.check_writable(200).unwrap();
    assert_eq!(s.sequence().unwrap(), 0);
    let seq = s
        .change_status(&change(Scope::Serial(1), Action::Decommission), "t", 300)
        .unwrap();
    s.check_writable(400).unwrap();
    assert_eq!(s.sequence().unwrap(), seq);
    assert_eq!(s.revocations().unwrap().0, seq);
}
