//! Aggregation manifests (docs/FORMAT.md §22): `AggregationManifest::verify`
//! on arbitrary bytes, and on arbitrary bytes as the CBOR document of a
//! manifest a trusted plain key signed (tests/vectors/aggregation.json seeds
//! the corpus). An accepted manifest re-encodes to exactly its bytes, and
//! `AggregationSet::verify` of it alone agrees; signed by a stranger it is
//! `unknown-key`, under the batch manifest tag `bad-signature`.

#![no_main]

use std::sync::OnceLock;

use ed25519_dalek::{Signer as _, SigningKey};
use hallmark::{
    AGGREGATION_SIGNING_TAG, AggregationManifest, AggregationSet, KeyId, MANIFEST_SIGNING_TAG,
    PublicKey, TrustStore, TrustedKey, VERSION,
};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    line: SigningKey,
    stranger: SigningKey,
    trust: TrustStore,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let line = SigningKey::from_bytes(&[0x11; 32]);
        let public = PublicKey::from_bytes(line.verifying_key().as_bytes()).expect("key");
        let mut trust = TrustStore::new();
        trust
            .add(TrustedKey::new("line", public, None, None).expect("key"))
            .expect("trust");
        Fixture {
            line,
            stranger: SigningKey::from_bytes(&[0x55; 32]),
            trust,
        }
    })
}

fn sign(key: &SigningKey, tag: &[u8], document: &[u8]) -> Vec<u8> {
    let mut signed = vec![VERSION];
    signed.extend_from_slice(&KeyId::derive(key.verifying_key().as_bytes()).to_bytes());
    signed.extend_from_slice(document);
    let signature = key.sign(&[tag, &signed].concat()).to_bytes();
    signed.extend_from_slice(&signature);
    signed
}

fn check(f: &Fixture, bytes: &[u8]) -> bool {
    let Ok(manifest) = AggregationManifest::verify(bytes, &f.trust) else {
        return false;
    };
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&bytes[bytes.len() - 64..]);
    let again = manifest.to_unsigned().expect("an accepted manifest re-frames");
    assert_eq!(
        again.into_signed(&signature),
        bytes,
        "an accepted manifest does not re-encode to its bytes"
    );
    let nested = manifest
        .children
        .iter()
        .any(|c| matches!(c, hallmark::aggregation::Child::Manifest(_)));
    let set = AggregationSet::verify(&[bytes], &f.trust);
    assert_eq!(set.is_ok(), !nested, "a lone manifest is a set iff it names no other");
    true
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    check(f, data);
    let bytes = sign(&f.line, AGGREGATION_SIGNING_TAG, data);
    if !check(f, &bytes) {
        return;
    }
    let kind = |key: &SigningKey, tag: &[u8]| {
        AggregationManifest::verify(&sign(key, tag, data), &f.trust)
            .err()
            .map(|e| e.kind())
    };
    assert_eq!(kind(&f.stranger, AGGREGATION_SIGNING_TAG), Some("unknown-key"));
    assert_eq!(kind(&f.line, MANIFEST_SIGNING_TAG), Some("bad-signature"));
});
