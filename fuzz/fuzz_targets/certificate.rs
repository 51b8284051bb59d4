//! Line certificates (docs/FORMAT.md §17): `TrustStore::add_certificate` and
//! `LineCertificate::decode_unverified` on arbitrary bytes, against a fixed
//! store of one root (the key of tests/vectors/certificates.json, so the
//! vectors' certificates seed the corpus and verify).
//!
//! Each input is used twice: as a whole certificate, and as the CBOR document
//! of a certificate the fixture's root signs (so the document parser is
//! reached past a valid signature). Whatever is accepted re-encodes to exactly
//! its bytes, agrees with `decode_unverified`, lies inside the root's window
//! and grants a known usage; adding it again changes nothing. The same
//! document signed by a stranger is `unknown-root`, under another tag
//! `bad-signature`.

#![no_main]

use std::sync::OnceLock;

use ed25519_dalek::{Signer as _, SigningKey};
use hallmark::{
    BUNDLE_SIGNING_TAG, CERTIFICATE_SIGNING_TAG, CertError, Date, Error, KeyId, LineCertificate,
    PublicKey, TrustStore, TrustedKey, Usage, VERSION,
};
use libfuzzer_sys::fuzz_target;

/// The seed of the vectors' root (tools/gen-vectors/src/certs.rs).
const ROOT_SEED: [u8; 32] = [
    0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf,
    0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
];

struct Fixture {
    root: SigningKey,
    stranger: SigningKey,
    trust: TrustStore,
    from: Date,
    until: Date,
}

fn kid(key: &SigningKey) -> KeyId {
    KeyId::derive(key.verifying_key().as_bytes())
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let root = SigningKey::from_bytes(&ROOT_SEED);
        let public = PublicKey::from_bytes(root.verifying_key().as_bytes()).expect("root key");
        let (from, until) = (
            "2025-01-01".parse().expect("date"),
            "2030-12-31".parse().expect("date"),
        );
        let mut trust = TrustStore::new();
        trust
            .add_root(TrustedKey::new("root", public, Some(from), Some(until)).expect("root"))
            .expect("one root");
        Fixture {
            root,
            stranger: SigningKey::from_bytes(&[0x55; 32]),
            trust,
            from,
            until,
        }
    })
}

/// `version || kid || document || signature`, signed by `key` under `tag`.
fn sign(key: &SigningKey, tag: &[u8], document: &[u8]) -> (Vec<u8>, [u8; 64]) {
    let mut signed = vec![VERSION];
    signed.extend_from_slice(&kid(key).to_bytes());
    signed.extend_from_slice(document);
    let signature = key.sign(&[tag, &signed].concat()).to_bytes();
    signed.extend_from_slice(&signature);
    (signed, signature)
}

/// Checks an accepted certificate.
fn check_accepted(f: &Fixture, bytes: &[u8]) {
    let mut trust = f.trust.clone();
    let Ok(key) = trust.add_certificate(bytes) else {
        return;
    };
    let key = key.clone();
    let (issuer, cert) = LineCertificate::decode_unverified(bytes)
        .expect("an accepted certificate decodes unverified");
    assert_eq!(issuer, kid(&f.root));
    assert_eq!(key.certificate(), Some(&cert));
    assert_eq!(key.certificate_bytes(), Some(bytes));
    assert_eq!(key.kid(), cert.subject.kid());
    assert_eq!(key.usage(), cert.usage);
    assert!(cert.usage.bits() & Usage::KNOWN.bits() != 0);
    assert!(f.from <= cert.valid_from && cert.valid_from <= cert.valid_until);
    assert!(cert.valid_until <= f.until);
    // Re-encoding gives the same bytes.
    let unsigned = cert
        .to_unsigned(issuer)
        .expect("an accepted certificate re-encodes");
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&bytes[bytes.len() - 64..]);
    assert_eq!(
        unsigned.into_signed(&signature),
        bytes,
        "an accepted certificate does not re-encode to its bytes"
    );
    // Adding it again is a no-op.
    let before = trust.clone();
    trust
        .add_certificate(bytes)
        .expect("the same certificate again");
    assert_eq!(trust, before);
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();

    // 1. Raw input as a certificate (the vectors' certificates verify).
    check_accepted(f, data);
    let _ = LineCertificate::decode_unverified(data);

    // 2. Raw input as the document of a certificate the root signs.
    let (bytes, _) = sign(&f.root, CERTIFICATE_SIGNING_TAG, data);
    check_accepted(f, &bytes);
    let accepted = f.trust.clone().add_certificate(&bytes).is_ok();
    if accepted {
        let (by_stranger, _) = sign(&f.stranger, CERTIFICATE_SIGNING_TAG, data);
        assert!(matches!(
            f.trust.clone().add_certificate(&by_stranger),
            Err(Error::Cert(CertError::UnknownRoot { .. }))
        ));
        let (wrong_tag, _) = sign(&f.root, BUNDLE_SIGNING_TAG, data);
        assert!(matches!(
            f.trust.clone().add_certificate(&wrong_tag),
            Err(e) if e.kind() == "bad-signature"
        ));
    }
});
