//! Signed batch manifests (`POST /v1/batches`, `hallmark batches push`): the
//! framing, the signature check and the CBOR document parser.
//!
//! As in `revocation_snapshot`, each input is used twice: as a whole manifest
//! file (nothing verifies: a signature cannot be guessed), and as the document
//! of a manifest that the fixture's issuer key signs, so the parser sees
//! arbitrary CBOR past a valid signature. An accepted document re-encodes to
//! exactly the signed bytes, and its batches obey the format's rules. The same
//! document signed under the revocation tag, or by an untrusted key, is refused.

#![no_main]

use std::sync::OnceLock;

use hallmark::{
    BatchManifest, Error, KeyId, MANIFEST_SIGNING_TAG, Payload, PublicKey, REVOCATIONS_SIGNING_TAG,
    TrustStore, TrustedKey, VERSION, VerifyError,
};
use ed25519_dalek::{Signer as _, SigningKey};
use hallmark_issuer::SecretKey;
use libfuzzer_sys::fuzz_target;

/// A fixture key: the issuer's key for its id, and the same seed as a raw
/// ed25519-dalek key, because this target signs what the issuer's typed API
/// refuses to frame (arbitrary documents, the wrong tag).
struct Key {
    secret: SecretKey,
    raw: SigningKey,
}

impl Key {
    fn new(name: &str, seed: [u8; 32]) -> Key {
        Key {
            secret: SecretKey::from_seed(name, &seed).expect("fixed seed"),
            raw: SigningKey::from_bytes(&seed),
        }
    }
    fn kid(&self) -> KeyId {
        self.secret.kid()
    }
    fn public_key(&self) -> PublicKey {
        self.secret.public_key()
    }
}

struct Fixture {
    issuer: Key,
    /// Not in the trust store.
    stranger: Key,
    trust: TrustStore,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let issuer = Key::new("fuzz-issuer", [7u8; 32]);
        let stranger = Key::new("stranger", [8u8; 32]);
        let mut trust = TrustStore::new();
        trust
            .add(
                TrustedKey::new("fuzz-issuer", issuer.public_key(), None, None)
                    .expect("valid entry"),
            )
            .expect("one key");
        Fixture {
            issuer,
            stranger,
            trust,
        }
    })
}

/// `version || kid || document || signature`, signed by `key` under `tag`.
fn sign_document(key: &Key, tag: &[u8], document: &[u8]) -> (Vec<u8>, [u8; 64]) {
    let mut signed = Vec::with_capacity(5 + document.len() + 64);
    signed.push(VERSION);
    signed.extend_from_slice(&key.kid().to_bytes());
    signed.extend_from_slice(document);
    let signature = key.raw.sign(&[tag, &signed].concat()).to_bytes();
    signed.extend_from_slice(&signature);
    (signed, signature)
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();

    // 1. Raw input as a manifest file.
    if let Ok(m) = BatchManifest::verify(data, &f.trust) {
        panic!("unsigned fuzz input verified as a manifest of {}", m.kid);
    }

    // 2. Raw input as the document of a correctly signed manifest.
    let (bytes, signature) = sign_document(&f.issuer, MANIFEST_SIGNING_TAG, data);
    let Ok(manifest) = BatchManifest::verify(&bytes, &f.trust) else {
        return;
    };
    assert_eq!(manifest.kid, f.issuer.kid());
    assert_eq!(
        manifest.to_signed_bytes(&signature),
        bytes,
        "an accepted manifest document does not re-encode to the signed bytes"
    );
    assert_eq!(
        manifest.signing_message(),
        [MANIFEST_SIGNING_TAG, &bytes[..bytes.len() - 64]].concat()
    );
    for b in &manifest.batches {
        assert!(b.count >= 1, "accepted an empty batch");
        assert!(
            b.start.checked_add(b.count - 1).is_some(),
            "accepted a batch past 2^64-1"
        );
        // Part and lot obey the payload's label rules: a code could carry them.
        assert!(
            Payload::new(b.start, &b.part, &b.lot, b.date).is_ok(),
            "accepted a batch whose part or lot no code could carry: {b:?}"
        );
    }

    // Under the revocation tag, or by a key the store does not hold: refused.
    let (wrong_tag, _) = sign_document(&f.issuer, REVOCATIONS_SIGNING_TAG, data);
    assert!(matches!(
        BatchManifest::verify(&wrong_tag, &f.trust),
        Err(Error::Verify(VerifyError::BadSignature { .. }))
    ));
    let (untrusted, _) = sign_document(&f.stranger, MANIFEST_SIGNING_TAG, data);
    assert!(matches!(
        BatchManifest::verify(&untrusted, &f.trust),
        Err(Error::Verify(VerifyError::UnknownKey { .. }))
    ));
});
