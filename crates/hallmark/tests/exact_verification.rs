//! Bulk verification (tables of multiples, one inversion for all encodings) and
//! single verification accept exactly the codes that ed25519-dalek's
//! `verify_strict` accepts, on crafted signatures: R with a small-order
//! component, small-order R (the identity among them, with S chosen so that the
//! equation holds), R spelled non-canonically, S ≥ L, random R and S, and keys
//! with a small-order component (for which `verify_strict` accepts some honest
//! signatures and not others).

// Test helpers: a panic is the failure report.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signature, VerifyingKey};
use hallmark::{
    BUILD_TABLES_FROM, Date, Error, KeyId, Payload, PublicKey, TrustStore, TrustedKey,
    UnsignedCode, Verdict, Verifier, VerifyError,
};
use proptest::prelude::*;
use sha2::{Digest, Sha512};

/// The field prime 2^255 - 19, little-endian.
fn p_bytes() -> [u8; 32] {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
}

/// The group order L, little-endian.
fn l_bytes() -> [u8; 32] {
    let mut l = [0u8; 32];
    hex::decode_to_slice(
        "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010",
        &mut l,
    )
    .unwrap();
    l
}

fn add_le(a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    (carry == 0).then_some(out)
}

/// How a signature is made up.
#[derive(Clone, Debug)]
enum Craft {
    /// R = rB, S = r + k·a: honest (unless the key has torsion).
    Honest,
    /// R = rB + T: a small-order component in R.
    TorsionR(usize),
    /// R = T (small order), S = k·a, so that [S]B − [k]A = −[k]T_A (the
    /// identity when the key has no torsion).
    SmallOrderR(usize),
    /// Honest, then R re-spelled as y + p (only possible when y < 19) or with
    /// the sign bit set on x = 0; otherwise R's sign bit flipped.
    NonCanonicalR,
    /// Honest, then S + L.
    SPlusL,
    /// Honest, then one bit of the signature flipped.
    BitFlip(usize),
    /// R and S random.
    Random([u8; 32], [u8; 32]),
}

fn craft() -> impl Strategy<Value = Craft> {
    prop_oneof![
        3 => Just(Craft::Honest),
        2 => (1usize..8).prop_map(Craft::TorsionR),
        2 => (0usize..8).prop_map(Craft::SmallOrderR),
        1 => Just(Craft::NonCanonicalR),
        1 => Just(Craft::SPlusL),
        1 => (0usize..512).prop_map(Craft::BitFlip),
        1 => (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(r, s)| Craft::Random(r, s)),
    ]
}

struct Key {
    a: Scalar,
    bytes: [u8; 32],
    kid: KeyId,
}

/// A key aB + T for the torsion point `torsion` (0 = none).
fn key(seed: u8, torsion: usize) -> Option<Key> {
    let a = Scalar::from_bytes_mod_order([seed; 32]);
    let point = EdwardsPoint::mul_base(&a) + EIGHT_TORSION[torsion];
    let bytes = point.compress().to_bytes();
    // PublicKey refuses weak keys; mixed ones are allowed.
    PublicKey::from_bytes(&bytes).ok()?;
    Some(Key {
        a,
        bytes,
        kid: KeyId::derive(&bytes),
    })
}

fn hram(r: &[u8; 32], key: &[u8; 32], message: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(key);
    h.update(message);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// A code for `serial` under `key`, with a signature made as `craft` says.
fn code(key: &Key, serial: u64, craft: &Craft) -> (String, Vec<u8>, [u8; 64]) {
    let today: Date = "2026-11-23".parse().unwrap();
    let payload = Payload::new(serial, "DRN-2980", "L1", today).unwrap();
    let unsigned = UnsignedCode::new(key.kid, &payload).unwrap();
    let message = unsigned.signing_message().to_vec();
    let r = Scalar::from_bytes_mod_order_wide(&{
        let mut wide = [0u8; 64];
        wide[..8].copy_from_slice(&serial.to_le_bytes());
        wide[8] = 0x5a;
        wide
    });
    let honest = |r_point: EdwardsPoint, r: Scalar| {
        let r_bytes = r_point.compress().to_bytes();
        let s = r + hram(&r_bytes, &key.bytes, &message) * key.a;
        (r_bytes, s.to_bytes())
    };
    let (r_bytes, s_bytes) = match craft {
        Craft::Honest | Craft::NonCanonicalR | Craft::SPlusL | Craft::BitFlip(_) => {
            honest(EdwardsPoint::mul_base(&r), r)
        }
        Craft::TorsionR(t) => honest(EdwardsPoint::mul_base(&r) + EIGHT_TORSION[*t], r),
        Craft::SmallOrderR(t) => {
            let r_bytes = EIGHT_TORSION[*t].compress().to_bytes();
            let s = hram(&r_bytes, &key.bytes, &message) * key.a;
            (r_bytes, s.to_bytes())
        }
        Craft::Random(r, s) => (*r, *s),
    };
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(&s_bytes);
    match craft {
        Craft::NonCanonicalR => {
            let y_is_small = r_bytes[1..31].iter().all(|&b| b == 0) && r_bytes[31] & 0x7f == 0;
            if y_is_small && r_bytes[0] < 19 {
                // y + p, keeping the sign bit.
                let mut y = r_bytes;
                y[31] &= 0x7f;
                let mut spelled = add_le(&y, &p_bytes()).unwrap();
                spelled[31] |= r_bytes[31] & 0x80;
                sig[..32].copy_from_slice(&spelled);
            } else {
                sig[31] ^= 0x80;
            }
        }
        Craft::SPlusL => {
            if let Some(s) = add_le(&s_bytes, &l_bytes()) {
                sig[32..].copy_from_slice(&s);
            }
        }
        Craft::BitFlip(bit) => sig[bit / 8] ^= 1 << (bit % 8),
        _ => {}
    }
    (unsigned.to_text(&sig), message, sig)
}

fn trust(keys: &[Key]) -> TrustStore {
    let mut trust = TrustStore::new();
    for (i, key) in keys.iter().enumerate() {
        let public = PublicKey::from_bytes(&key.bytes).unwrap();
        trust
            .add(TrustedKey::new(&format!("k{i}"), public, None, None).unwrap())
            .unwrap();
    }
    trust
}

/// The reference: `verify_strict`, which needs S < L (hallmark checks that
/// first and names it).
fn reference(key: &Key, message: &[u8], sig: &[u8; 64]) -> bool {
    let vk = VerifyingKey::from_bytes(&key.bytes).unwrap();
    vk.verify_strict(message, &Signature::from_bytes(sig))
        .is_ok()
}

fn signature_verdict(v: &Verdict) -> Result<(), String> {
    match v {
        Verdict::Genuine(_) => Ok(()),
        Verdict::BadSignature(Error::Verify(
            VerifyError::BadSignature { .. } | VerifyError::NonCanonicalSignature,
        )) => Err("refused".into()),
        other => Err(format!("unexpected verdict {other:?}")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn bulk_single_and_verify_strict_agree(
        torsion in prop_oneof![Just(0usize), 1usize..8],
        crafts in prop::collection::vec(craft(), 1..40),
    ) {
        let keys: Vec<Key> = [key(7, 0), key(9, torsion)].into_iter().flatten().collect();
        // Codes under both keys, then padded with honest codes so that the
        // batch is large enough to build the tables.
        let mut cases = Vec::new();
        for (i, craft) in crafts.iter().enumerate() {
            let key = &keys[i % keys.len()];
            cases.push((key, code(key, i as u64, craft)));
        }
        let mut serial = 1_000_000;
        while cases.len() < BUILD_TABLES_FROM {
            let key = &keys[serial as usize % keys.len()];
            cases.push((key, code(key, serial, &Craft::Honest)));
            serial += 1;
        }
        let today: Date = "2026-11-23".parse().unwrap();

        // Single verification without tables (verify_strict inside).
        let plain = trust(&keys);
        let single: Vec<Verdict> = cases
            .iter()
            .map(|(_, (text, _, _))| Verifier::new(&plain, today).verify(text))
            .collect();
        // Bulk on a fresh store: builds the tables, one inversion.
        let fresh = trust(&keys);
        let texts: Vec<&str> = cases.iter().map(|(_, (t, _, _))| t.as_str()).collect();
        let bulk = Verifier::new(&fresh, today).verify_batch(texts.iter().copied());
        // Single verification with the tables now built.
        let with_tables: Vec<Verdict> = texts
            .iter()
            .map(|t| Verifier::new(&fresh, today).verify(t))
            .collect();
        // A small batch on the plain store: no tables, verify_strict inside.
        let small = Verifier::new(&plain, today).verify_batch(texts.iter().take(40).copied());

        for (i, ((key, (text, message, sig)), s)) in cases.iter().zip(&single).enumerate() {
            let expected = reference(key, message, sig);
            prop_assert_eq!(signature_verdict(s).is_ok(), expected, "case {} {}: {:?}", i, text, s);
            prop_assert_eq!(&bulk[i], s, "bulk vs single, case {}", i);
            prop_assert_eq!(&with_tables[i], s, "tables vs single, case {}", i);
            if let Some(v) = small.get(i) {
                prop_assert_eq!(v, s, "small batch vs single, case {}", i);
            }
        }
    }
}

/// The crafted cases that matter most, each asserted on its own: whatever the
/// proptest run draws, these are always covered.
#[test]
fn crafted_signatures_are_refused_by_every_path() {
    let key = key(7, 0).unwrap();
    let trust = trust(std::slice::from_ref(&key));
    trust.precompute();
    let today: Date = "2026-11-23".parse().unwrap();
    let verifier = Verifier::new(&trust, today);
    let mut crafts: Vec<Craft> = (1..8).map(Craft::TorsionR).collect();
    crafts.extend((0..8).map(Craft::SmallOrderR));
    crafts.extend([Craft::NonCanonicalR, Craft::SPlusL, Craft::BitFlip(3)]);
    for (i, craft) in crafts.iter().enumerate() {
        let (text, message, sig) = code(&key, i as u64, craft);
        assert!(!reference(&key, &message, &sig), "{craft:?}");
        let verdict = verifier.verify(&text);
        assert!(
            signature_verdict(&verdict).is_err(),
            "{craft:?}: {verdict:?}"
        );
        let bulk = verifier.verify_batch(std::iter::repeat_n(text.as_str(), BUILD_TABLES_FROM));
        assert!(bulk.iter().all(|v| *v == verdict), "{craft:?}");
    }
    // The identity as R with S = k·a satisfies [S]B − [k]A = R: only the
    // small-order check refuses it.
    let (text, _, sig) = code(&key, 99, &Craft::SmallOrderR(0));
    assert_eq!(
        CompressedEdwardsY(sig[..32].try_into().unwrap()).decompress(),
        Some(EdwardsPoint::default())
    );
    assert!(signature_verdict(&verifier.verify(&text)).is_err());
    // And honest codes pass on every path.
    let (text, _, _) = code(&key, 100, &Craft::Honest);
    assert!(verifier.verify(&text).is_genuine());
}

/// A key with a small-order component: `verify_strict` accepts an honest
/// signature only when [k]T_A vanishes; every path agrees, both ways.
#[test]
fn keys_with_torsion_agree_both_ways() {
    // EIGHT_TORSION[4] has order 2: about half of the k are even.
    let key = key(9, 4).unwrap();
    let plain = trust(std::slice::from_ref(&key));
    let fast = trust(std::slice::from_ref(&key));
    fast.precompute();
    let today: Date = "2026-11-23".parse().unwrap();
    let (mut accepted, mut refused) = (0, 0);
    for serial in 0..64 {
        let (text, message, sig) = code(&key, serial, &Craft::Honest);
        let expected = reference(&key, &message, &sig);
        let single = Verifier::new(&plain, today).verify(&text);
        let tables = Verifier::new(&fast, today).verify(&text);
        assert_eq!(signature_verdict(&single).is_ok(), expected);
        assert_eq!(single, tables);
        if expected {
            accepted += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        accepted > 10 && refused > 10,
        "{accepted} accepted, {refused} refused"
    );
}
