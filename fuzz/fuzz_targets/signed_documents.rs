//! Signed documents from untrusted sources: revocation snapshots and batch
//! manifests. Parsing never panics; nothing verifies unless it was signed by the
//! right key under the right tag; and a snapshot built from the input, signed,
//! verifies back to the same revocations.

#![no_main]

use std::sync::OnceLock;

use hallmark::{
    BatchManifest, Date, KeyId, Reason, RevocationSnapshot, Scope, TrustStore, TrustedKey,
};
use hallmark_issuer::SecretKey;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    key: SecretKey,
    trust: TrustStore,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = SecretKey::from_seed("fuzz-rev", &[9u8; 32]).expect("fixed seed");
        let mut trust = TrustStore::new();
        trust
            .add(
                TrustedKey::new("fuzz-rev", key.public_key(), None, None)
                    .expect("valid entry")
                    .with_revocation_signer(true),
            )
            .expect("one key");
        Fixture { key, trust }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    // Arbitrary bytes: never a panic, and a forgery never verifies.
    if let Ok(s) = RevocationSnapshot::verify(data, &f.trust) {
        assert_eq!(s.signer, Some(f.key.kid()));
    }
    let _ = BatchManifest::verify(data, &f.trust);

    // Structured: build a snapshot from the input, sign it, verify it back.
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let mut snapshot = RevocationSnapshot::new(u64::from(first), 1_800_000_000);
    for chunk in rest.chunks(12).take(64) {
        let mut b = [0u8; 12];
        b[..chunk.len()].copy_from_slice(chunk);
        let kid = KeyId::from_bytes([b[0], b[1], 0, 0]);
        let n = u64::from_le_bytes([b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9]]);
        let reason = Reason::from_code(u64::from(b[10] % 6)).expect("six reasons");
        let date = Date::from_days(u64::from(b[11]) * 100).expect("in range");
        let scope = match b[10] / 64 {
            0 => Scope::Serial(n),
            1 => Scope::Range {
                first: n.min(n ^ 0xff),
                last: n.max(n ^ 0xff),
            },
            2 => Scope::Lot(format!("L{}", n % 1000)),
            _ => Scope::Key { from: date },
        };
        snapshot.add(kid, scope, reason, date).expect("valid entry");
    }
    let bytes = f.key.sign_snapshot(&snapshot);
    let signature: [u8; 64] = bytes[bytes.len() - 64..]
        .try_into()
        .expect("a signed snapshot ends with its signature");
    let back = RevocationSnapshot::verify(&bytes, &f.trust).expect("a signed snapshot verifies");
    // Decode then encode reproduces the signed bytes exactly.
    assert_eq!(back.to_signed_bytes(f.key.kid(), &signature), bytes);
    assert_eq!(back.revocations().len(), snapshot.revocations().len());
    assert_eq!(
        (back.sequence, back.issued),
        (snapshot.sequence, snapshot.issued)
    );
    // One flipped bit anywhere: refused.
    let i = usize::from(first) % bytes.len();
    let mut flipped = bytes.clone();
    flipped[i] ^= 1 << (first % 8);
    assert!(
        RevocationSnapshot::verify(&flipped, &f.trust).is_err(),
        "flipped bit {i} accepted"
    );
});
