//! The serial ledger reader (`Ledger::open`), which `hallmark mint` trusts to
//! never issue a serial twice. Each input is written as a ledger file (in
//! memory when `/dev/shm` exists) and opened.
//!
//! Checks besides "no panic":
//! - a damaged ledger is refused as `LedgerCorrupt` (only a torn last line is
//!   forgiven);
//! - every accepted batch obeys the record rules (version 1 or 2, count >= 1,
//!   counters below 2^63, a valid key id and dates);
//! - the accepted batches, written out again one JSON line each, read back the
//!   same (decode-then-encode);
//! - reserving a new batch on the opened ledger (which cuts off a torn tail
//!   first) continues after the key's last serial, refuses an overlap, and
//!   reopening shows the old batches plus the new one.

#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use hallmark::{Date, KeyId};
use hallmark_issuer::{BatchRequest, Error, Ledger, OPAQUE_BIT, SerialMode};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    _dir: tempfile::TempDir,
    input: PathBuf,
    copy: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut builder = tempfile::Builder::new();
        builder.prefix("hallmark-fuzz-ledger");
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            builder.tempdir_in("/dev/shm")
        } else {
            builder.tempdir()
        }
        .expect("temporary directory");
        let input = dir.path().join("input.ledger");
        let copy = dir.path().join("copy.ledger");
        Fixture {
            input,
            copy,
            _dir: dir,
        }
    })
}

fn request(kid: KeyId, count: u64, start: Option<u64>) -> BatchRequest<'static> {
    BatchRequest {
        kid,
        count,
        start,
        part: "DRN-2980",
        lot: "L1",
        date: Date::EPOCH,
        expiry: None,
        time: 1_800_000_000,
        serials: SerialMode::Sequential,
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    fs::write(&f.input, data).expect("write input");
    let mut ledger = match Ledger::open(&f.input) {
        Ok(l) => l,
        Err(Error::LedgerCorrupt { .. }) => return,
        Err(e) => panic!("a ledger file was refused with an unexpected error: {e}"),
    };
    let batches = ledger.batches().to_vec();

    for b in &batches {
        assert!(b.v == 1 || b.v == 2, "version {}", b.v);
        assert!(b.count >= 1);
        assert!(u128::from(b.start) + u128::from(b.count) <= u128::from(OPAQUE_BIT));
        b.kid.parse::<KeyId>().expect("accepted kid parses");
        b.date.parse::<Date>().expect("accepted date parses");
        if let Some(e) = &b.expiry {
            e.parse::<Date>().expect("accepted expiry parses");
        }
    }

    // Every progress or close record accepted fits its reservation.
    for (b, e) in ledger.entries() {
        assert!(e.emitted(b) <= b.count, "emitted beyond the reservation");
    }

    // Decode-then-encode: the batches written out again read back the same.
    let mut text = String::new();
    for b in &batches {
        text.push_str(&serde_json::to_string(b).expect("a batch serialises"));
        text.push('\n');
    }
    fs::write(&f.copy, &text).expect("write copy");
    {
        let copy = Ledger::open(&f.copy)
            .unwrap_or_else(|e| panic!("re-encoded ledger refused: {e}\n{text}"));
        assert_eq!(copy.batches(), &batches[..], "ledger round trip differs");
    }

    // Reserve a batch for the first batch's key (or a fixed one).
    let kid = batches
        .first()
        .and_then(|b| b.kid.parse::<KeyId>().ok())
        .unwrap_or_else(|| KeyId::from_bytes([1, 2, 3, 4]));
    let count = 1 + u64::from(data.last().copied().unwrap_or(0) % 8);
    let next = ledger.next_serial(kid);
    match ledger.reserve(&request(kid, count, None)) {
        Ok(batch) => {
            assert_eq!(
                Some(batch.start),
                next,
                "a new batch does not start at next_serial"
            );
            // Its serials now overlap.
            assert!(matches!(
                ledger.reserve(&request(kid, 1, Some(batch.start))),
                Err(Error::SerialOverlap { .. })
            ));
            drop(ledger);
            let reopened = Ledger::open(&f.input)
                .unwrap_or_else(|e| panic!("ledger unreadable after an append: {e}"));
            let mut expected = batches.clone();
            expected.push(batch);
            assert_eq!(
                reopened.batches(),
                &expected[..],
                "append lost or changed a batch"
            );
        }
        Err(Error::SerialsExhausted { .. }) => {
            let fits =
                next.is_some_and(|n| u128::from(n) + u128::from(count) <= u128::from(OPAQUE_BIT));
            assert!(
                !fits,
                "refused as exhausted although {count} serials from {next:?} fit"
            );
        }
        Err(e) => panic!("reserve failed: {e}"),
    }
});
