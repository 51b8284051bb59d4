//! Real keys from fixed seeds and the documents they sign, for the tests of
//! certificates, receipts and trust bundles (test builds only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::{Signer as _, SigningKey};

use crate::{
    BatchManifest, BatchReceipt, Constraints, Date, KeyId, LineCertificate, ManifestBatch, Payload,
    PublicKey, TrustStore, TrustedKey, UnsignedCode, UnsignedDocument, Usage,
};

/// A signing key from a one-byte seed pattern.
pub(crate) struct Key(pub(crate) SigningKey);

impl Key {
    pub(crate) fn new(seed: u8) -> Key {
        Key(SigningKey::from_bytes(&[seed; 32]))
    }
    pub(crate) fn public(&self) -> PublicKey {
        PublicKey::from_bytes(self.0.verifying_key().as_bytes()).unwrap()
    }
    pub(crate) fn kid(&self) -> KeyId {
        self.public().kid()
    }
    /// Signs a framed document.
    pub(crate) fn sign(&self, unsigned: UnsignedDocument) -> Vec<u8> {
        let sig = self.0.sign(unsigned.signing_message()).to_bytes();
        unsigned.into_signed(&sig)
    }
    /// Signs any bytes as a document of `domain` naming `kid`, bypassing the
    /// typed encoders (for malformed documents).
    pub(crate) fn sign_raw(&self, domain: crate::Domain, kid: KeyId, body: &[u8]) -> Vec<u8> {
        self.sign(UnsignedDocument::new(domain, kid, body))
    }
    /// A code of this key.
    pub(crate) fn code(&self, payload: &Payload) -> String {
        let unsigned = UnsignedCode::new(self.kid(), payload).unwrap();
        let sig = self.0.sign(unsigned.signing_message()).to_bytes();
        unsigned.into_text(&sig)
    }
    /// A code of this key with a signature over another payload: a forgery.
    pub(crate) fn forged_code(&self, payload: &Payload) -> String {
        let unsigned = UnsignedCode::new(self.kid(), payload).unwrap();
        let other = Payload::new(payload.serial() ^ 1, "FORGED", "X", payload.date()).unwrap();
        let wrong = UnsignedCode::new(self.kid(), &other).unwrap();
        let sig = self.0.sign(wrong.signing_message()).to_bytes();
        unsigned.into_text(&sig)
    }
}

pub(crate) fn day(s: &str) -> Date {
    s.parse().unwrap()
}

/// A payload of `DRN-2980`, lot `L1`, made 2026-06-01.
pub(crate) fn payload(serial: u64) -> Payload {
    Payload::new(serial, "DRN-2980", "L1", day("2026-06-01")).unwrap()
}

/// A certificate for `subject`, 2026-01-01 to 2027-12-31, no constraints.
pub(crate) fn cert(subject: &Key, name: &str, usage: Usage) -> LineCertificate {
    LineCertificate {
        subject: subject.public(),
        name: name.into(),
        valid_from: day("2026-01-01"),
        valid_until: day("2027-12-31"),
        usage,
        issued: 1_767_225_600,
        constraints: Constraints::default(),
    }
}

/// `cert` signed by `root`.
pub(crate) fn certify(root: &Key, cert: &LineCertificate) -> Vec<u8> {
    root.sign(cert.to_unsigned(root.kid()).unwrap())
}

/// A trust store with `root` as its only root, valid 2025-01-01 to 2030-12-31.
pub(crate) fn roots(root: &Key) -> TrustStore {
    let mut t = TrustStore::new();
    t.add_root(
        TrustedKey::new(
            "root",
            root.public(),
            Some(day("2025-01-01")),
            Some(day("2030-12-31")),
        )
        .unwrap(),
    )
    .unwrap();
    t
}

/// A sequential batch of `DRN-2980`, lot `L1`, made 2026-06-01.
pub(crate) fn batch(start: u64, count: u64) -> ManifestBatch {
    ManifestBatch {
        start,
        count,
        part: "DRN-2980".into(),
        lot: "L1".into(),
        date: day("2026-06-01"),
        expiry: None,
        opaque: false,
        minted: 1_780_000_000,
        batch_key: None,
    }
}

/// A manifest of `batches` signed by `key`.
pub(crate) fn manifest(key: &Key, batches: Vec<ManifestBatch>) -> Vec<u8> {
    let m = BatchManifest {
        kid: key.kid(),
        issued: 1_780_000_000,
        batches,
    };
    key.sign(m.to_unsigned())
}

/// The receipt `registry` gives `manifest` (signed by `line`), registered at `at`.
pub(crate) fn receipt(registry: &Key, manifest: &[u8], line: &Key, at: u64) -> Vec<u8> {
    let m = BatchManifest::verify(manifest, &{
        let mut t = TrustStore::new();
        t.add(TrustedKey::new("line", line.public(), None, None).unwrap())
            .unwrap();
        t
    })
    .unwrap();
    let r = BatchReceipt {
        manifest: BatchReceipt::digest(manifest),
        kid: line.kid(),
        registered: at,
        batches: m.batches.len() as u64,
        serials: m.batches.iter().map(|b| b.count).sum(),
    };
    registry.sign(r.to_unsigned(registry.kid()))
}
