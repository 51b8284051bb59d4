//! Why bulk verification does not use batched Ed25519 equations.
//!
//! A signer (anyone holding an issuer key) can put a small-order component T in
//! a signature's R: R = [r]B + T, S = r + k·a. `verify_strict` refuses it (R is
//! not [S]B − [k]A), but ed25519-dalek's `verify_batch` checks a random linear
//! combination of cofactorless equations, in which z·T vanishes whenever z is a
//! multiple of T's order, and its z are derived from the inputs, so a signer can
//! grind messages until the batch accepts. Bulk verification must accept exactly
//! what single verification accepts, so hallmark verifies every code with
//! `verify_strict`. This test shows the disagreement and that hallmark's single
//! and bulk paths both refuse such codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signature, VerifyingKey};
use hallmark::{
    Date, KeyId, Payload, PublicKey, TrustStore, TrustedKey, UnsignedCode, Verdict, Verifier,
};
use sha2::{Digest, Sha512};

#[test]
fn dalek_batch_accepts_what_verify_strict_refuses_and_hallmark_refuses_both_ways() {
    let a = Scalar::from_bytes_mod_order([42; 32]);
    let big_a = EdwardsPoint::mul_base(&a);
    let a_bytes = big_a.compress().to_bytes();
    let vk = VerifyingKey::from_bytes(&a_bytes).unwrap();
    let public = PublicKey::from_bytes(&a_bytes).unwrap();
    let mut trust = TrustStore::new();
    trust
        .add(TrustedKey::new("t", public, None, None).unwrap())
        .unwrap();
    let kid = KeyId::derive(&a_bytes);
    // The point of order 2 (y = -1).
    let mut t_bytes = [0xffu8; 32];
    t_bytes[0] = 0xec;
    t_bytes[31] = 0x7f;
    let t = CompressedEdwardsY(t_bytes).decompress().unwrap();
    assert!(t.is_small_order() && t != EdwardsPoint::default());

    let today: Date = "2026-11-23".parse().unwrap();
    let verifier = Verifier::new(&trust, today);
    let mut batch_accepted = 0;
    for serial in 0..64u64 {
        let payload = Payload::new(serial, "P", "L", today).unwrap();
        let unsigned = UnsignedCode::new(kid, &payload).unwrap();
        let message = unsigned.signing_message().to_vec();
        let r = Scalar::from_bytes_mod_order([serial as u8 + 1; 32]);
        let big_r = (EdwardsPoint::mul_base(&r) + t).compress().to_bytes();
        let mut h = Sha512::new();
        h.update(big_r);
        h.update(a_bytes);
        h.update(&message);
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let s = r + k * a;
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&big_r);
        sig[32..].copy_from_slice(s.as_bytes());
        let signature = Signature::from_bytes(&sig);

        assert!(
            vk.verify_strict(&message, &signature).is_err(),
            "verify_strict refuses R with torsion"
        );
        if ed25519_dalek::verify_batch(&[&message], &[signature], &[vk]).is_ok() {
            batch_accepted += 1;
        }
        let code = unsigned.to_text(&sig);
        let single = verifier.verify(&code);
        assert!(
            matches!(
                single,
                Verdict::BadSignature(hallmark::Error::Verify(
                    hallmark::VerifyError::BadSignature { .. }
                ))
            ),
            "{single:?}"
        );
        assert_eq!(verifier.verify_batch([code.as_str()]), vec![single]);
    }
    // The batch equation accepts about half of them (z even kills an order-2 T).
    assert!(
        batch_accepted > 10,
        "verify_batch accepted {batch_accepted} of 64"
    );
}
