//! Revocation snapshot files (`hallmark verify --revocations FILE`, `revocations
//! pull`): the framing, the signature check and the CBOR document parser.
//!
//! A fuzzer cannot forge a signature, so the document parser behind the
//! signature would stay unreached on raw input alone. Each input is therefore
//! used twice:
//!
//! 1. as a whole snapshot file: never a panic, and nothing verifies (the
//!    fixture key's signature cannot be guessed);
//! 2. as the *document* of a snapshot that the fixture's revocation key signs:
//!    the parser sees arbitrary CBOR past a valid signature. What it accepts
//!    must re-encode to exactly the signed bytes (decode-then-encode reproduces
//!    the canonical input), and every revocation it holds must apply to the
//!    codes it names. The same document signed by a key not marked as a
//!    revocation signer, or under the batch manifest tag, is refused.

#![no_main]

use std::sync::OnceLock;

use hallmark::{
    Date, Error, KeyId, MANIFEST_SIGNING_TAG, Payload, REVOCATIONS_SIGNING_TAG, RevocationSnapshot,
    PublicKey, Scope, TrustStore, TrustedKey, VERSION, VerifyError,
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
    /// Marked `revocation_signer` in the trust store.
    rev: Key,
    /// Trusted, but not a revocation signer.
    issuer: Key,
    trust: TrustStore,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rev = Key::new("fuzz-rev", [9u8; 32]);
        let issuer = Key::new("fuzz-issuer", [7u8; 32]);
        let mut trust = TrustStore::new();
        trust
            .add(
                TrustedKey::new("fuzz-rev", rev.public_key(), None, None)
                    .expect("valid entry")
                    .with_revocation_signer(true),
            )
            .expect("first key");
        trust
            .add(
                TrustedKey::new("fuzz-issuer", issuer.public_key(), None, None)
                    .expect("valid entry"),
            )
            .expect("second key");
        Fixture { rev, issuer, trust }
    })
}

/// `version || kid || document || signature` with the signature by `key`
/// over `tag || version || kid || document` (docs/FORMAT.md, section 14).
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

    // 1. Raw input as a snapshot file.
    if let Ok(s) = RevocationSnapshot::verify(data, &f.trust) {
        panic!(
            "unsigned fuzz input verified as a snapshot: sequence {}",
            s.sequence
        );
    }

    // 2. Raw input as the document of a correctly signed snapshot.
    let (bytes, signature) = sign_document(&f.rev, REVOCATIONS_SIGNING_TAG, data);
    let Ok(snapshot) = RevocationSnapshot::verify(&bytes, &f.trust) else {
        return;
    };
    assert_eq!(snapshot.signer, Some(f.rev.kid()));
    assert_eq!(
        snapshot.to_signed_bytes(f.rev.kid(), &signature),
        bytes,
        "an accepted snapshot document does not re-encode to the signed bytes"
    );
    assert_eq!(
        snapshot.signing_message(f.rev.kid()),
        [REVOCATIONS_SIGNING_TAG, &bytes[..bytes.len() - 64]].concat()
    );

    // Every revocation applies to a code it names (the first match may be
    // another entry: keys, then serials, ranges, lots).
    for r in snapshot.revocations().iter().take(64) {
        let (serial, lot, date) = match &r.scope {
            Scope::Serial(n) => (*n, "L".to_owned(), Date::EPOCH),
            Scope::Range { first, last } => {
                assert!(first <= last, "accepted a range with first > last");
                (*last, "L".to_owned(), Date::EPOCH)
            }
            Scope::Lot(lot) => (0, lot.clone(), Date::EPOCH),
            Scope::Key { from } => (0, "L".to_owned(), *from),
            // Only a trust bundle carries a compromise (FORMAT.md §19).
            Scope::Compromise { .. } => panic!("a snapshot decoded a key compromise: {r:?}"),
        };
        let payload =
            Payload::new(serial, "P", &lot, date).expect("a revoked lot is a valid label");
        assert!(
            snapshot.check(r.kid, &payload).is_some(),
            "revocation {r:?} does not apply to the code it names"
        );
        let other = KeyId::from_bytes(r.kid.to_bytes().map(|b| b ^ 0xff));
        if !snapshot.revocations().iter().any(|o| o.kid == other) {
            assert!(
                snapshot.check(other, &payload).is_none(),
                "a revocation applied to another key"
            );
        }
    }

    // The same document signed by a trusted key that is no revocation signer.
    let (by_issuer, _) = sign_document(&f.issuer, REVOCATIONS_SIGNING_TAG, data);
    assert!(matches!(
        RevocationSnapshot::verify(&by_issuer, &f.trust),
        Err(Error::Verify(VerifyError::NotRevocationSigner { .. }))
    ));
    // The same document signed under another document's tag.
    let (wrong_tag, _) = sign_document(&f.rev, MANIFEST_SIGNING_TAG, data);
    assert!(matches!(
        RevocationSnapshot::verify(&wrong_tag, &f.trust),
        Err(Error::Verify(VerifyError::BadSignature { .. }))
    ));
});
