use super::*;
use crate::{PublicKey, TrustedKey};
use ed25519_dalek::{Signer, SigningKey};

fn setup(signer_marked: bool) -> (SigningKey, TrustStore) {
    let key = SigningKey::from_bytes(&[11; 32]);
    let public = PublicKey::from_bytes(key.verifying_key().as_bytes()).unwrap();
    let mut trust = TrustStore::new();
    trust
        .add(
            TrustedKey::new("rev", public, None, None)
                .unwrap()
                .with_revocation_signer(signer_marked),
        )
        .unwrap();
    (key, trust)
}

fn sign(snapshot: &RevocationSnapshot, key: &SigningKey) -> Vec<u8> {
    let kid = KeyId::derive(key.verifying_key().as_bytes());
    let sig = key.sign(&snapshot.signing_message(kid)).to_bytes();
    snapshot.to_signed_bytes(kid, &sig)
}

#[test]
fn snapshot_round_trip_and_lookup() {
    let (key, trust) = setup(true);
    let issuer = KeyId::from_bytes([1, 2, 3, 4]);
    let other = KeyId::from_bytes([9, 9, 9, 9]);
    let d = |s: &str| s.parse::<Date>().unwrap();
    let mut s = RevocationSnapshot::new(3, 1_790_000_000);
    s.add(issuer, Scope::Serial(42), Reason::Stolen, d("2026-01-01"))
        .unwrap();
    s.add(
        issuer,
        Scope::Range {
            first: 100,
            last: 199,
        },
        Reason::Recalled,
        d("2026-02-01"),
    )
    .unwrap();
    s.add(
        issuer,
        Scope::Lot("L7".into()),
        Reason::Destroyed,
        d("2026-03-01"),
    )
    .unwrap();
    s.add(
        other,
        Scope::Key {
            from: d("2025-06-01"),
        },
        Reason::KeyCompromised,
        d("2026-04-01"),
    )
    .unwrap();
    let bytes = sign(&s, &key);
    let back = RevocationSnapshot::verify(&bytes, &trust).unwrap();
    assert_eq!((back.sequence, back.issued), (3, 1_790_000_000));
    assert_eq!(back.revocations(), s.revocations());
    let p = |serial, lot: &str, date: &str| Payload::new(serial, "P", lot, d(date)).unwrap();
    let reason = |kid, p: &Payload| back.check(kid, p).map(|r| r.reason);
    assert_eq!(
        reason(issuer, &p(42, "L1", "2024-01-01")),
        Some(Reason::Stolen)
    );
    assert_eq!(reason(issuer, &p(43, "L1", "2024-01-01")), None);
    assert_eq!(
        reason(issuer, &p(100, "L1", "2024-01-01")),
        Some(Reason::Recalled)
    );
    assert_eq!(
        reason(issuer, &p(199, "L1", "2024-01-01")),
        Some(Reason::Recalled)
    );
    assert_eq!(reason(issuer, &p(200, "L1", "2024-01-01")), None);
    assert_eq!(
        reason(issuer, &p(5, "L7", "2024-01-01")),
        Some(Reason::Destroyed)
    );
    assert_eq!(
        reason(other, &p(42, "L1", "2025-05-31")),
        None,
        "before the key's revocation date"
    );
    assert_eq!(
        reason(other, &p(42, "L1", "2025-06-01")),
        Some(Reason::KeyCompromised)
    );
    // Tampering, truncation, an unmarked signer, an unknown signer: refused.
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x40;
        assert!(
            RevocationSnapshot::verify(&t, &trust).is_err(),
            "flip at {i}"
        );
    }
    assert!(RevocationSnapshot::verify(&bytes[..bytes.len() - 1], &trust).is_err());
    let (_, unmarked) = setup(false);
    assert!(matches!(
        RevocationSnapshot::verify(&bytes, &unmarked),
        Err(Error::Verify(VerifyError::NotRevocationSigner { .. }))
    ));
    assert!(matches!(
        RevocationSnapshot::verify(&bytes, &TrustStore::new()),
        Err(Error::Verify(VerifyError::UnknownKey { .. }))
    ));
}

#[test]
fn a_code_signature_is_not_a_snapshot_signature() {
    let (key, trust) = setup(true);
    let kid = KeyId::derive(key.verifying_key().as_bytes());
    let s = RevocationSnapshot::new(1, 1);
    // Signed under the code tag instead of the revocations tag.
    let message = s.signing_message(kid);
    let body = message.get(REVOCATIONS_SIGNING_TAG.len()..).unwrap();
    let sig = key
        .sign(&[crate::CODE_SIGNING_TAG, body].concat())
        .to_bytes();
    let forged = s.to_signed_bytes(kid, &sig);
    assert!(matches!(
        RevocationSnapshot::verify(&forged, &trust),
        Err(Error::Verify(VerifyError::BadSignature { .. }))
    ));
}

fn sign_document(document: &[u8], key: &SigningKey) -> Vec<u8> {
    let kid = KeyId::derive(key.verifying_key().as_bytes());
    let signed = crate::signed::signed_part(kid, document);
    let sig = key
        .sign(&[REVOCATIONS_SIGNING_TAG, &signed].concat())
        .to_bytes();
    [signed, sig.to_vec()].concat()
}

/// A snapshot document from its six fields (each a CBOR value), plus extra
/// top-level entries.
fn document(sequence: Value, fields: [Vec<Value>; 4], extra: Vec<(Value, Value)>) -> Vec<u8> {
    let [serials, ranges, lots, keys] = fields;
    let mut top = vec![
        (int(0), sequence),
        (int(1), int(1_790_000_000)),
        (int(2), Value::Array(serials)),
        (int(3), Value::Array(ranges)),
        (int(4), Value::Array(lots)),
        (int(5), Value::Array(keys)),
    ];
    top.extend(extra);
    to_vec(&Value::Map(top))
}

fn kind(bytes: &[u8], trust: &TrustStore) -> &'static str {
    match RevocationSnapshot::verify(bytes, trust) {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    }
}

fn kid_v() -> Value {
    kid_value(KeyId::from_bytes([1, 2, 3, 4]))
}

#[test]
fn regression_snapshot_sequence_u64_max_pins_verifiers() {
    let (key, trust) = setup(true);
    let at = |sequence: u64| {
        kind(
            &sign_document(&document(int(sequence), Default::default(), vec![]), &key),
            &trust,
        )
    };
    assert_eq!(at(0), "ok");
    assert_eq!(at(MAX_SEQUENCE), "ok");
    assert_eq!(at(MAX_SEQUENCE + 1), "sequence-out-of-range");
    assert_eq!(at(u64::MAX), "sequence-out-of-range");
    // The builder's own snapshots at the limit verify.
    let ok = sign(&RevocationSnapshot::new(MAX_SEQUENCE, 1), &key);
    assert_eq!(
        RevocationSnapshot::verify(&ok, &trust).map(|s| s.sequence),
        Ok(MAX_SEQUENCE)
    );
}

#[test]
fn snapshot_document_rules() {
    let (key, trust) = setup(true);
    let check = |fields: [Vec<Value>; 4], extra| {
        kind(
            &sign_document(&document(int(1), fields, extra), &key),
            &trust,
        )
    };
    let d = int(20_000);
    let serial = |n: u64| Value::Array(vec![kid_v(), int(n), int(0), d.clone()]);
    let range = |a: u64, b: u64| Value::Array(vec![kid_v(), int(a), int(b), int(1), d.clone()]);
    // An unknown top-level key, or a key that is not an unsigned integer.
    assert_eq!(
        check(Default::default(), vec![(int(6), int(0))]),
        "invalid-value"
    );
    assert_eq!(
        check(Default::default(), vec![(Value::Text("x".into()), int(0))]),
        "key-not-unsigned"
    );
    // Entry arity and types.
    assert_eq!(
        check(
            [
                vec![Value::Array(vec![kid_v(), int(1), int(0)])],
                vec![],
                vec![],
                vec![]
            ],
            vec![]
        ),
        "wrong-type"
    );
    assert_eq!(
        check(
            [
                vec![Value::Array(vec![
                    kid_v(),
                    int(1),
                    int(0),
                    d.clone(),
                    int(0)
                ])],
                vec![],
                vec![],
                vec![]
            ],
            vec![]
        ),
        "wrong-type"
    );
    assert_eq!(
        check(
            [
                vec![Value::Array(vec![
                    Value::Bytes(vec![1, 2, 3]),
                    int(1),
                    int(0),
                    d.clone()
                ])],
                vec![],
                vec![],
                vec![]
            ],
            vec![]
        ),
        "wrong-type"
    );
    // Unknown reason, date after 9999-12-31, first > last.
    assert_eq!(
        check(
            [
                vec![Value::Array(vec![kid_v(), int(1), int(6), d.clone()])],
                vec![],
                vec![],
                vec![]
            ],
            vec![]
        ),
        "invalid-value"
    );
    assert_eq!(
        check(
            [
                vec![Value::Array(vec![kid_v(), int(1), int(0), int(2_932_897)])],
                vec![],
                vec![],
                vec![]
            ],
            vec![]
        ),
        "invalid-value"
    );
    assert_eq!(
        check([vec![], vec![range(5, 4)], vec![], vec![]], vec![]),
        "invalid-value"
    );
    // The same serial twice is refused; order is free; ranges may overlap
    // each other and listed serials.
    assert_eq!(
        check([vec![serial(1), serial(1)], vec![], vec![], vec![]], vec![]),
        "invalid-value"
    );
    assert_eq!(
        check([vec![serial(9), serial(1)], vec![], vec![], vec![]], vec![]),
        "ok"
    );
    let overlapping = sign_document(
        &document(
            int(1),
            [
                vec![serial(5)],
                vec![range(0, 10), range(3, 7), range(0, 10)],
                vec![],
                vec![],
            ],
            vec![],
        ),
        &key,
    );
    let s = RevocationSnapshot::verify(&overlapping, &trust).unwrap();
    let p = Payload::new(5, "P", "L", Date::EPOCH).unwrap();
    // The serial entry comes before the ranges.
    assert_eq!(
        s.check(KeyId::from_bytes([1, 2, 3, 4]), &p)
            .map(|r| r.reason),
        Some(Reason::Recalled)
    );
    let p = Payload::new(4, "P", "L", Date::EPOCH).unwrap();
    assert!(matches!(
        s.check(KeyId::from_bytes([1, 2, 3, 4]), &p)
            .map(|r| &r.scope),
        Some(Scope::Range { first: 0, last: 10 })
    ));
    // A missing field.
    let missing = to_vec(&Value::Map(vec![(int(0), int(1)), (int(1), int(1))]));
    assert_eq!(
        kind(&sign_document(&missing, &key), &trust),
        "missing-field"
    );
    // Not deterministic CBOR: refused like a code's payload.
    let mut long_head = document(int(1), Default::default(), vec![]);
    long_head.splice(2..3, [0x18, 0x01]);
    assert_eq!(
        kind(&sign_document(&long_head, &key), &trust),
        "non-canonical-cbor"
    );
}

#[test]
fn a_revocation_signer_signs_only_while_valid() {
    let key = SigningKey::from_bytes(&[11; 32]);
    let public = PublicKey::from_bytes(key.verifying_key().as_bytes()).unwrap();
    let d = |s: &str| s.parse::<Date>().ok();
    let trust = |from, until| {
        let mut t = TrustStore::new();
        t.add(
            TrustedKey::new("rev", public, from, until)
                .unwrap()
                .with_revocation_signer(true),
        )
        .unwrap();
        t
    };
    // 2026-09-21T12:00:00Z is day 20717.
    let issued = 20_717 * 86_400 + 43_200;
    let bytes = sign(&RevocationSnapshot::new(1, issued), &key);
    let on = |from, until| kind(&bytes, &trust(from, until));
    assert_eq!(on(None, None), "ok");
    assert_eq!(on(None, d("2026-09-21")), "ok", "valid_until is inclusive");
    assert_eq!(on(None, d("2026-09-20")), "key-not-valid");
    assert_eq!(on(d("2026-09-21"), None), "ok", "valid_from is inclusive");
    assert_eq!(on(d("2026-09-22"), None), "key-not-valid");
    // An issued time past 9999-12-31 is after every valid_until.
    let far = sign(&RevocationSnapshot::new(1, u64::MAX), &key);
    assert_eq!(kind(&far, &trust(None, None)), "ok");
    assert_eq!(kind(&far, &trust(None, d("9999-12-31"))), "key-not-valid");
}

#[test]
fn scopes_read_as_words() {
    let from: Date = "2026-06-01".parse().unwrap();
    let shown: Vec<String> = [
        Scope::Serial(42),
        Scope::Range {
            first: 100,
            last: 199,
        },
        Scope::Lot("L7".into()),
        Scope::Key { from },
    ]
    .iter()
    .map(Scope::to_string)
    .collect();
    assert_eq!(
        shown,
        [
            "serial 42",
            "serials 100–199",
            "lot L7",
            "every code of the key made from 2026-06-01"
        ]
    );
}

#[test]
fn decode_unverified_reads_a_snapshot_and_refuses_anything_else() {
    use crate::testkit::{self, Key};
    let (key, _) = setup(true);
    let signer = KeyId::derive(key.verifying_key().as_bytes());
    let issuer = KeyId::from_bytes([1, 2, 3, 4]);
    let d = |s: &str| s.parse::<Date>().unwrap();
    let mut s = RevocationSnapshot::new(3, 1_790_000_000);
    s.add(issuer, Scope::Serial(42), Reason::Stolen, d("2026-01-01"))
        .unwrap();
    s.add(
        issuer,
        Scope::Lot("L7".into()),
        Reason::Recalled,
        d("2026-02-01"),
    )
    .unwrap();
    let bytes = sign(&s, &key);
    let (kid, read) = RevocationSnapshot::decode_unverified(&bytes).unwrap();
    assert_eq!(
        (kid, read.sequence, read.issued),
        (signer, 3, 1_790_000_000)
    );
    assert_eq!(read.signer, None, "nothing verified it");
    assert_eq!(read.revocations(), s.revocations());
    // The signature is not checked.
    let mut forged = bytes.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    assert!(RevocationSnapshot::decode_unverified(&forged).is_ok());
    for bad in [&bytes[..bytes.len() - 1], &[1u8; 100][..], &[][..]] {
        assert!(RevocationSnapshot::decode_unverified(bad).is_err());
    }
    // The verify path's rules: a sequence past MAX_SEQUENCE is refused.
    let far = sign(&RevocationSnapshot::new(MAX_SEQUENCE + 1, 0), &key);
    assert!(matches!(
        RevocationSnapshot::decode_unverified(&far),
        Err(Error::Payload(PayloadError::SequenceOutOfRange { .. }))
    ));
    // Documents of the other types; an empty bundle has the same keys 0 to 5.
    let (line, registry) = (Key::new(1), Key::new(3));
    let manifest = testkit::manifest(&line, vec![testkit::batch(0, 10)]);
    let receipt = testkit::receipt(&registry, &manifest, &line, 1_780_000_100);
    let bundle = registry.sign(crate::TrustBundle::default().to_unsigned(registry.kid()));
    let cert = testkit::certify(
        &line,
        &testkit::cert(&registry, "r", crate::Usage::REGISTRY),
    );
    for other in [manifest, receipt, bundle, cert] {
        assert!(RevocationSnapshot::decode_unverified(&other).is_err());
    }
}
