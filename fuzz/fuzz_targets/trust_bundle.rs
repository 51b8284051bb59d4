//! Trust bundles (docs/FORMAT.md §19): `TrustBundle::verify` on arbitrary
//! bytes against a trust store of the vectors' root alone (so the bundles of
//! tests/vectors/bundles.json, whose bodies carry the registry's certificate,
//! seed the corpus and verify).
//!
//! Each input is used twice: as a whole bundle, and as the CBOR document of a
//! bundle the vectors' registry key signs (the signer found among the body's
//! certificates, as a verifier holding only the root finds it). An accepted
//! bundle is sound: its sequence is in range, its signer has the registry
//! usage, every key it adds is certified by the root, and a code of a key not
//! listed compromised is never revoked for a compromise, while a code of a
//! compromised key outside every receipted batch always is.

#![no_main]

use std::sync::OnceLock;

use ed25519_dalek::{Signer as _, SigningKey};
use hallmark::{
    BUNDLE_SIGNING_TAG, KeyId, MAX_SEQUENCE, Payload, PublicKey, TrustBundle, TrustStore,
    TrustedKey, Usage, VERSION, VerifiedBundle,
};
use libfuzzer_sys::fuzz_target;

fn seed(first: u8) -> [u8; 32] {
    core::array::from_fn(|i| first + i as u8)
}

struct Fixture {
    registry: SigningKey,
    roots: TrustStore,
}

fn kid(key: &SigningKey) -> KeyId {
    KeyId::derive(key.verifying_key().as_bytes())
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let root = SigningKey::from_bytes(&seed(0xa0));
        let public = PublicKey::from_bytes(root.verifying_key().as_bytes()).expect("root");
        let bound = |d: &str| Some(d.parse().expect("date"));
        let mut roots = TrustStore::new();
        roots
            .add_root(
                TrustedKey::new("root", public, bound("2025-01-01"), bound("2030-12-31"))
                    .expect("root"),
            )
            .expect("root");
        Fixture {
            registry: SigningKey::from_bytes(&seed(0xe0)),
            roots,
        }
    })
}

fn sign(key: &SigningKey, document: &[u8]) -> Vec<u8> {
    let mut signed = vec![VERSION];
    signed.extend_from_slice(&kid(key).to_bytes());
    signed.extend_from_slice(document);
    let signature = key.sign(&[BUNDLE_SIGNING_TAG, &signed].concat()).to_bytes();
    signed.extend_from_slice(&signature);
    signed
}

fn check(f: &Fixture, bundle: &VerifiedBundle, data: &[u8]) {
    assert!(bundle.sequence <= MAX_SEQUENCE);
    let signer = bundle
        .trust()
        .get(bundle.signer)
        .expect("the signer is trusted");
    assert!(signer.usage().contains(Usage::REGISTRY));
    assert_eq!(bundle.trust().roots(), f.roots.roots());
    for key in bundle.trust().keys() {
        assert!(
            key.certificate().is_some(),
            "a bundle added an uncertified key"
        );
    }
    let registry = bundle.registry();
    // Probe codes of every certified key at a serial the input picks.
    let serial = data
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
        >> 1;
    for key in bundle.trust().keys() {
        let Ok(p) = Payload::new(
            serial,
            "DRN-2980",
            "L1",
            "2026-06-01".parse().expect("date"),
        ) else {
            continue;
        };
        let revoked = registry.check(key.kid(), &p);
        match registry.compromise(key.kid()) {
            None => assert!(revoked.is_none(), "a key not compromised was revoked"),
            Some(c) => assert_eq!(
                revoked.is_none(),
                registry.registered_before(key.kid(), &p, c.at),
                "membership and the compromise verdict disagree"
            ),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    // 1. Raw input as a bundle.
    if let Ok(bundle) = TrustBundle::verify(data, &f.roots) {
        check(f, &bundle, data);
    }
    // 2. Raw input as the document of a bundle the registry signs.
    if let Ok(bundle) = TrustBundle::verify(&sign(&f.registry, data), &f.roots) {
        assert_eq!(bundle.signer, kid(&f.registry));
        check(f, &bundle, data);
    }
});
