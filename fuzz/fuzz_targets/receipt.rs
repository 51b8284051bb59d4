//! Batch receipts (docs/FORMAT.md §18): `BatchReceipt::verify` on arbitrary
//! bytes, with a trust store of the vectors' root and their registry key
//! (certified for `registry`) and line key (certified for codes and
//! manifests), so tests/vectors/certificates.json seeds the corpus.
//!
//! Each input is used twice: as a whole receipt, and as the CBOR document of
//! a receipt the registry key signs. An accepted receipt re-encodes to exactly
//! its bytes; the same document signed by the line key is `key-usage`, by the
//! root `root-key`, by a stranger `unknown-key`, under another tag
//! `bad-signature`.

#![no_main]

use std::sync::OnceLock;

use ed25519_dalek::{Signer as _, SigningKey};
use hallmark::{
    BatchReceipt, CERTIFICATE_SIGNING_TAG, Constraints, KeyId, LineCertificate, PublicKey,
    RECEIPT_SIGNING_TAG, TrustStore, TrustedKey, Usage, VERSION,
};
use libfuzzer_sys::fuzz_target;

fn seed(first: u8) -> [u8; 32] {
    core::array::from_fn(|i| first + i as u8)
}

struct Fixture {
    root: SigningKey,
    registry: SigningKey,
    line: SigningKey,
    stranger: SigningKey,
    trust: TrustStore,
}

fn kid(key: &SigningKey) -> KeyId {
    KeyId::derive(key.verifying_key().as_bytes())
}

fn public(key: &SigningKey) -> PublicKey {
    PublicKey::from_bytes(key.verifying_key().as_bytes()).expect("key")
}

fn certify(root: &SigningKey, subject: &SigningKey, name: &str, usage: Usage) -> Vec<u8> {
    let cert = LineCertificate {
        subject: public(subject),
        name: name.into(),
        valid_from: "2026-01-01".parse().expect("date"),
        valid_until: "2027-12-31".parse().expect("date"),
        usage,
        issued: 1_767_225_600,
        constraints: Constraints::default(),
    };
    let unsigned = cert.to_unsigned(kid(root)).expect("certificate");
    let signature = root.sign(unsigned.signing_message()).to_bytes();
    unsigned.into_signed(&signature)
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        // The seeds of tools/gen-vectors/src/certs.rs.
        let (root, line, registry) = (
            SigningKey::from_bytes(&seed(0xa0)),
            SigningKey::from_bytes(&seed(0xc0)),
            SigningKey::from_bytes(&seed(0xe0)),
        );
        let mut trust = TrustStore::new();
        let bound = |d: &str| Some(d.parse().expect("date"));
        trust
            .add_root(
                TrustedKey::new(
                    "root",
                    public(&root),
                    bound("2025-01-01"),
                    bound("2030-12-31"),
                )
                .expect("root"),
            )
            .expect("root");
        trust
            .add_certificate(&certify(&root, &registry, "registry", Usage::REGISTRY))
            .expect("registry");
        trust
            .add_certificate(&certify(
                &root,
                &line,
                "line",
                Usage::CODES.union(Usage::MANIFESTS),
            ))
            .expect("line");
        Fixture {
            root,
            registry,
            line,
            stranger: SigningKey::from_bytes(&[0x55; 32]),
            trust,
        }
    })
}

fn sign(key: &SigningKey, tag: &[u8], document: &[u8]) -> (Vec<u8>, [u8; 64]) {
    let mut signed = vec![VERSION];
    signed.extend_from_slice(&kid(key).to_bytes());
    signed.extend_from_slice(document);
    let signature = key.sign(&[tag, &signed].concat()).to_bytes();
    signed.extend_from_slice(&signature);
    (signed, signature)
}

fn check(f: &Fixture, bytes: &[u8]) -> bool {
    let Ok((receipt, signer)) = BatchReceipt::verify(bytes, &f.trust) else {
        return false;
    };
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&bytes[bytes.len() - 64..]);
    assert_eq!(
        receipt.to_unsigned(signer).into_signed(&signature),
        bytes,
        "an accepted receipt does not re-encode to its bytes"
    );
    true
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    // 1. Raw input as a receipt.
    check(f, data);
    // 2. Raw input as the document of a receipt the registry signs.
    let (bytes, _) = sign(&f.registry, RECEIPT_SIGNING_TAG, data);
    if !check(f, &bytes) {
        return;
    }
    let kind = |key: &SigningKey, tag: &[u8]| {
        BatchReceipt::verify(&sign(key, tag, data).0, &f.trust)
            .err()
            .map(|e| e.kind())
    };
    assert_eq!(kind(&f.line, RECEIPT_SIGNING_TAG), Some("key-usage"));
    assert_eq!(kind(&f.root, RECEIPT_SIGNING_TAG), Some("root-key"));
    assert_eq!(kind(&f.stranger, RECEIPT_SIGNING_TAG), Some("unknown-key"));
    assert_eq!(
        kind(&f.registry, CERTIFICATE_SIGNING_TAG),
        Some("bad-signature")
    );
});
