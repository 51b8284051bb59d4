//! Property tests of the signed documents: revocation snapshots and batch
//! manifests round-trip (build, sign, encode, decode: equal, and the same
//! bytes), and random byte mutations of a signed document never verify.

// Test helpers: a panic is the failure report.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use ed25519_dalek::{Signer, SigningKey};
use hallmark::{
    BatchManifest, Date, KeyId, ManifestBatch, PublicKey, Reason, RevocationSnapshot, Scope,
    TrustStore, TrustedKey,
};
use proptest::prelude::*;

fn label() -> impl Strategy<Value = String> {
    // Printable ASCII, 1..=64 bytes, no leading or trailing space.
    "[!-~]([ -~]{0,62}[!-~])?"
}

fn date() -> impl Strategy<Value = Date> {
    (0..=Date::MAX.days()).prop_map(|d| Date::from_days(d.into()).unwrap())
}

fn kid() -> impl Strategy<Value = KeyId> {
    // A few key ids, so that entries share keys and duplicates happen.
    (0u8..4).prop_map(|k| KeyId::from_bytes([k, 0xa5, k, 0x5a]))
}

fn reason() -> impl Strategy<Value = Reason> {
    (0u64..6).prop_map(|c| Reason::from_code(c).unwrap())
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        // Small serials, so that the same serial comes up twice.
        prop_oneof![0u64..16, any::<u64>()].prop_map(Scope::Serial),
        (any::<u64>(), any::<u64>()).prop_map(|(a, b)| Scope::Range {
            first: a.min(b),
            last: a.max(b),
        }),
        label().prop_map(Scope::Lot),
        date().prop_map(|from| Scope::Key { from }),
    ]
}

prop_compose! {
    fn snapshot()(
        sequence in 0..=hallmark::MAX_SEQUENCE,
        issued in any::<u64>(),
        entries in proptest::collection::vec((kid(), scope(), reason(), date()), 0..24),
    ) -> RevocationSnapshot {
        let mut s = RevocationSnapshot::new(sequence, issued);
        for (kid, scope, reason, date) in entries {
            s.add(kid, scope, reason, date).unwrap();
        }
        s
    }
}

prop_compose! {
    fn batch()(
        start in any::<u64>(),
        count in 1u64..=u64::MAX,
        part in label(),
        lot in label(),
        date in date(),
        expiry in proptest::option::of(date()),
        opaque in any::<bool>(),
        minted in any::<u64>(),
    ) -> ManifestBatch {
        // Keep start + count - 1 within u64, as the format requires.
        let count = count.min(u64::MAX - start).max(1);
        let start = start.min(u64::MAX - (count - 1));
        ManifestBatch { start, count, part, lot, date, expiry, opaque, minted, batch_key: None }
    }
}

fn signer(seed: [u8; 32], revocation_signer: bool) -> (SigningKey, KeyId, TrustStore) {
    let key = SigningKey::from_bytes(&seed);
    let public = PublicKey::from_bytes(key.verifying_key().as_bytes()).unwrap();
    let mut trust = TrustStore::new();
    trust
        .add(
            TrustedKey::new("prop", public, None, None)
                .unwrap()
                .with_revocation_signer(revocation_signer),
        )
        .unwrap();
    (key, public.kid(), trust)
}

fn signed_snapshot(s: &RevocationSnapshot, key: &SigningKey, kid: KeyId) -> Vec<u8> {
    let signature = key.sign(&s.signing_message(kid)).to_bytes();
    s.to_signed_bytes(kid, &signature)
}

fn signed_manifest(m: &BatchManifest, key: &SigningKey) -> Vec<u8> {
    let signature = key.sign(&m.signing_message()).to_bytes();
    m.to_signed_bytes(&signature)
}

/// Applies `(position, xor)` edits, then truncates or extends; `None` if the
/// result is the original again (edits that cancel out).
fn mutate(
    bytes: &[u8],
    edits: &[(prop::sample::Index, u8)],
    cut: Option<prop::sample::Index>,
    extra: &[u8],
) -> Option<Vec<u8>> {
    let mut m = bytes.to_vec();
    for (i, x) in edits {
        let i = i.index(m.len());
        m[i] ^= x;
    }
    if let Some(cut) = cut {
        m.truncate(cut.index(m.len()));
    }
    m.extend_from_slice(extra);
    (m != bytes).then_some(m)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn snapshot_sequences_above_the_limit_are_refused(
        seed in any::<[u8; 32]>(),
        sequence in (hallmark::MAX_SEQUENCE + 1)..=u64::MAX,
    ) {
        let (key, kid, trust) = signer(seed, true);
        let bytes = signed_snapshot(&RevocationSnapshot::new(sequence, 1), &key, kid);
        let refused = RevocationSnapshot::verify(&bytes, &trust).map(|_| ()).map_err(|e| e.kind());
        prop_assert_eq!(refused, Err("sequence-out-of-range"));
    }

    #[test]
    fn snapshots_round_trip(seed in any::<[u8; 32]>(), s in snapshot()) {
        let (key, kid, trust) = signer(seed, true);
        let bytes = signed_snapshot(&s, &key, kid);
        let back = RevocationSnapshot::verify(&bytes, &trust).unwrap();
        prop_assert_eq!(back.signer, Some(kid));
        prop_assert_eq!((back.sequence, back.issued), (s.sequence, s.issued));
        // Entries come back grouped by kind (serials, ranges, lots, keys), each
        // kind in the order added.
        let kind = |r: &&hallmark::Revocation| match r.scope {
            Scope::Serial(_) => 0,
            Scope::Range { .. } => 1,
            Scope::Lot(_) => 2,
            Scope::Key { .. } => 3,
            // Snapshots cannot hold them (`add` refuses them).
            Scope::Compromise { .. } => 4,
        };
        let mut expected: Vec<_> = s.revocations().iter().collect();
        expected.sort_by_key(kind);
        let got: Vec<_> = back.revocations().iter().collect();
        prop_assert_eq!(got, expected);
        // Decode-then-encode gives the same bytes.
        prop_assert_eq!(signed_snapshot(&back, &key, kid), bytes);
        // Every revocation is found again by the verifier's lookup.
        for r in back.revocations() {
            let (serial, lot, date) = match &r.scope {
                Scope::Serial(n) => (*n, "L".to_owned(), Date::EPOCH),
                Scope::Range { first, .. } => (*first, "L".to_owned(), Date::EPOCH),
                Scope::Lot(lot) => (0, lot.clone(), Date::EPOCH),
                Scope::Key { from } => (0, "L".to_owned(), *from),
                Scope::Compromise { .. } => {
                    prop_assert!(false, "a snapshot decoded a compromise");
                    continue;
                }
            };
            let p = hallmark::Payload::new(serial, "P", &lot, date).unwrap();
            prop_assert!(back.check(r.kid, &p).is_some(), "{:?} not found", r);
        }
    }

    #[test]
    fn mutated_snapshots_never_verify(
        seed in any::<[u8; 32]>(),
        s in snapshot(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
        cut in proptest::option::weighted(0.2, any::<prop::sample::Index>()),
        extra in proptest::collection::vec(any::<u8>(), 0..3),
    ) {
        let (key, kid, trust) = signer(seed, true);
        let bytes = signed_snapshot(&s, &key, kid);
        if let Some(m) = mutate(&bytes, &edits, cut, &extra) {
            prop_assert!(RevocationSnapshot::verify(&m, &trust).is_err(), "a mutated snapshot verified");
        }
        // A trusted key that is no revocation signer cannot sign snapshots.
        let (_, _, unmarked) = signer(seed, false);
        prop_assert!(RevocationSnapshot::verify(&bytes, &unmarked).is_err());
    }

    #[test]
    fn manifests_round_trip(
        seed in any::<[u8; 32]>(),
        issued in any::<u64>(),
        batches in proptest::collection::vec(batch(), 0..8),
    ) {
        let (key, kid, trust) = signer(seed, false);
        let m = BatchManifest { kid, issued, batches };
        let bytes = signed_manifest(&m, &key);
        let back = BatchManifest::verify(&bytes, &trust).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(signed_manifest(&back, &key), bytes);
    }

    #[test]
    fn mutated_manifests_never_verify(
        seed in any::<[u8; 32]>(),
        issued in any::<u64>(),
        batches in proptest::collection::vec(batch(), 0..4),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 0..4),
        cut in proptest::option::weighted(0.2, any::<prop::sample::Index>()),
        extra in proptest::collection::vec(any::<u8>(), 0..3),
    ) {
        let (key, kid, trust) = signer(seed, false);
        let bytes = signed_manifest(&BatchManifest { kid, issued, batches }, &key);
        if let Some(m) = mutate(&bytes, &edits, cut, &extra) {
            prop_assert!(BatchManifest::verify(&m, &trust).is_err(), "a mutated manifest verified");
        }
        // A manifest is no snapshot, even from a revocation signer.
        let (_, _, as_signer) = signer(seed, true);
        prop_assert!(RevocationSnapshot::verify(&bytes, &as_signer).is_err());
    }
}

/// A snapshot document signed as given, for documents `RevocationSnapshot`
/// itself would never write.
fn sign_raw_snapshot(document: &ciborium::Value, key: &SigningKey, kid: KeyId) -> Vec<u8> {
    let mut doc = Vec::new();
    ciborium::into_writer(document, &mut doc).unwrap();
    let mut signed = vec![hallmark::VERSION];
    signed.extend_from_slice(&kid.to_bytes());
    signed.extend_from_slice(&doc);
    let signature = key
        .sign(&[hallmark::REVOCATIONS_SIGNING_TAG, &signed].concat())
        .to_bytes();
    signed.extend_from_slice(&signature);
    signed
}

/// A serial, lot or key listed twice for one kid was accepted and the second
/// entry silently dropped: the decoded snapshot no longer re-encoded to the
/// signed bytes, and which entry counted (here: which reason) depended on the
/// reader. Such a snapshot is refused.
#[test]
fn snapshot_with_a_repeated_entry_is_refused() {
    use ciborium::Value;
    let int = |n: u64| Value::Integer(n.into());
    let (key, kid, trust) = signer([3; 32], true);
    let issuer = Value::Bytes(vec![1, 2, 3, 4]);
    let entry = |fields: Vec<Value>| Value::Array([vec![issuer.clone()], fields].concat());
    let document = |serials: Vec<Value>, lots: Vec<Value>, keys: Vec<Value>| {
        Value::Map(vec![
            (int(0), int(1)),
            (int(1), int(1_795_435_200)),
            (int(2), Value::Array(serials)),
            (int(3), Value::Array(vec![])),
            (int(4), Value::Array(lots)),
            (int(5), Value::Array(keys)),
        ])
    };
    let serial = |reason| entry(vec![int(42), int(reason), int(20_000)]);
    let lot = |reason| entry(vec![Value::Text("L7".into()), int(reason), int(20_000)]);
    let key_from = |from| entry(vec![int(from), int(4), int(20_000)]);

    // Each kind once: accepted, and the same bytes again.
    let once = sign_raw_snapshot(
        &document(vec![serial(1)], vec![lot(0)], vec![key_from(19_000)]),
        &key,
        kid,
    );
    let s = RevocationSnapshot::verify(&once, &trust).unwrap();
    assert_eq!(signed_snapshot(&s, &key, kid), once);

    for (what, doc) in [
        (
            "serial",
            document(vec![serial(1), serial(1)], vec![], vec![]),
        ),
        (
            "serial, other reason",
            document(vec![serial(1), serial(0)], vec![], vec![]),
        ),
        ("lot", document(vec![], vec![lot(0), lot(2)], vec![])),
        (
            "key",
            document(vec![], vec![], vec![key_from(19_000), key_from(18_000)]),
        ),
    ] {
        let bytes = sign_raw_snapshot(&doc, &key, kid);
        assert!(
            RevocationSnapshot::verify(&bytes, &trust).is_err(),
            "a snapshot listing a {what} twice was accepted"
        );
    }
}
