//! Precomputed multiples of the base point and of a trusted key: the same
//! verification equation as `verify_strict`, evaluated with table look-ups
//! instead of a double-base scalar multiplication.
//!
//! `verify_strict` accepts a signature (R, S) on M under the key A exactly when
//! S < L, the bytes of R decode to a point that is not of small order, A is not
//! of small order, and the bytes of R equal the encoding of
//! R' = [S]B − [k]A with k = SHA-512(R ‖ A ‖ M) mod L.
//! [`KeyMultiples::expected_r`] computes the same R' as
//! Σ (digit of S)·256^i·B + Σ (digit of k)·256^i·(−A), one look-up and one point
//! addition per signed radix-256 digit (66 in all, against about 250 doublings
//! and 80 additions for the double-base multiplication), and [`accepts`] checks
//! the same two conditions on it. The set of accepted signatures is the same by
//! construction, including for crafted ones (R with a small-order component, R
//! not canonically encoded, small-order R); `tests/exact_verification.rs`
//! checks it against `verify_strict` on such signatures. No batch equation is
//! involved, so nothing is accepted "with high probability".
//!
//! All inputs are public (a signature and a key), so variable-time look-ups
//! leak nothing secret.

use std::sync::LazyLock;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha512};

/// Entries per window: the multiples 1..=128 of the window's point.
const HALF: usize = 128;
/// Radix-256 windows: 32 bytes and a final carry.
const WINDOWS: usize = 33;

/// For each window i, the multiples 1..=128 of 256^i·P (about 676 KB).
struct Multiples(Box<[[EdwardsPoint; HALF]]>);

impl Multiples {
    fn new(point: EdwardsPoint) -> Multiples {
        let radix = Scalar::from(256u64);
        let mut windows = Vec::with_capacity(WINDOWS);
        let mut base = point;
        for _ in 0..WINDOWS {
            let mut row = [EdwardsPoint::identity(); HALF];
            let mut multiple = base;
            for entry in &mut row {
                *entry = multiple;
                multiple += base;
            }
            windows.push(row);
            base *= &radix;
        }
        Multiples(windows.into_boxed_slice())
    }

    /// `acc + [scalar]P` for any 32-byte little-endian scalar, in signed
    /// radix-256 digits d with −128 ≤ d < 128 (the carry goes to the next byte,
    /// the last one to the 33rd window).
    fn add_multiple(&self, mut acc: EdwardsPoint, scalar: &[u8; 32]) -> EdwardsPoint {
        let mut carry = 0i16;
        let bytes = scalar.iter().copied().chain(std::iter::once(0));
        for (row, byte) in self.0.iter().zip(bytes) {
            let mut digit = i16::from(byte) + carry;
            carry = 0;
            if digit >= 128 {
                digit -= 256;
                carry = 1;
            }
            let magnitude = usize::from(digit.unsigned_abs());
            if let Some(entry) = magnitude.checked_sub(1).and_then(|i| row.get(i)) {
                if digit > 0 {
                    acc += entry;
                } else {
                    acc -= entry;
                }
            }
        }
        acc
    }
}

static BASEPOINT: LazyLock<Multiples> = LazyLock::new(|| Multiples::new(ED25519_BASEPOINT_POINT));

/// A public key's precomputed multiples (about 676 KB; the base point's table,
/// built once per process, is the same size).
pub(crate) struct KeyMultiples {
    /// The key's encoding, as hashed into k.
    key_bytes: [u8; 32],
    /// Multiples of −A.
    minus_a: Multiples,
    /// `verify_strict` refuses everything under a small-order key.
    weak: bool,
}

impl KeyMultiples {
    pub(crate) fn new(key: &VerifyingKey) -> KeyMultiples {
        let a = key.to_edwards();
        KeyMultiples {
            key_bytes: key.to_bytes(),
            minus_a: Multiples::new(-a),
            weak: a.is_small_order(),
        }
    }

    /// R' = [S]B − [k]A, k = SHA-512(R ‖ A ‖ message) mod L, for a signature
    /// whose S the caller has checked to be canonical. `message` is given in
    /// parts, hashed one after the other.
    pub(crate) fn expected_r(&self, signature: &Signature, message: &[&[u8]]) -> EdwardsPoint {
        let mut h = Sha512::new();
        h.update(signature.r_bytes());
        h.update(self.key_bytes);
        for part in message {
            h.update(part);
        }
        let k = Scalar::from_bytes_mod_order_wide(&h.finalize().into());
        let acc = BASEPOINT.add_multiple(EdwardsPoint::identity(), signature.s_bytes());
        self.minus_a.add_multiple(acc, k.as_bytes())
    }

    /// Whether the signature is valid, given R' from [`KeyMultiples::expected_r`]
    /// and its encoding.
    pub(crate) fn accepts(
        &self,
        signature: &Signature,
        expected: &EdwardsPoint,
        encoded: &CompressedEdwardsY,
    ) -> bool {
        // The bytes match, so R decodes to R': R is of small order iff R' is.
        !self.weak && encoded.as_bytes() == signature.r_bytes() && !expected.is_small_order()
    }

    /// Single verification: [`KeyMultiples::expected_r`] then [`KeyMultiples::accepts`].
    pub(crate) fn verify(&self, signature: &Signature, message: &[&[u8]]) -> bool {
        let expected = self.expected_r(signature, message);
        self.accepts(signature, &expected, &expected.compress())
    }
}

/// Compresses many points with one field inversion.
pub(crate) fn compress_all(points: &[EdwardsPoint]) -> Vec<CompressedEdwardsY> {
    EdwardsPoint::compress_batch_alloc(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_multiplication_matches_scalar_multiplication() {
        let p = EdwardsPoint::mul_base(&Scalar::from(987_654_321u64));
        let table = Multiples::new(p);
        let mut scalars = vec![[0u8; 32], [0xff; 32], [0x80; 32], [0x7f; 32]];
        let mut one = [0u8; 32];
        one[0] = 1;
        scalars.push(one);
        let mut top = [0u8; 32];
        top[31] = 0x80;
        scalars.push(top);
        for i in 0..200u64 {
            let s = Scalar::from(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
                * Scalar::from(i ^ 0xdead_beef_cafe_f00d)
                + Scalar::from(i);
            scalars.push(s.to_bytes());
        }
        for bytes in scalars {
            // Unreduced 256-bit values too: the table covers every byte string.
            let expected = p * Scalar::from_bytes_mod_order(bytes);
            assert_eq!(
                table.add_multiple(EdwardsPoint::identity(), &bytes),
                expected,
                "{bytes:02x?}"
            );
        }
    }

    #[test]
    fn small_order_keys_accept_nothing() {
        use curve25519_dalek::constants::EIGHT_TORSION;
        let mut equation_held = 0;
        for key in EIGHT_TORSION {
            let Ok(vk) = VerifyingKey::from_bytes(&key.compress().to_bytes()) else {
                continue;
            };
            let multiples = KeyMultiples::new(&vk);
            for r in EIGHT_TORSION {
                let mut bytes = [0u8; 64];
                bytes[..32].copy_from_slice(r.compress().as_bytes());
                let signature = Signature::from_bytes(&bytes);
                let message: &[u8] = b"message";
                let expected = multiples.expected_r(&signature, &[message]);
                if expected.compress().as_bytes() == signature.r_bytes() {
                    equation_held += 1;
                }
                assert!(vk.verify_strict(message, &signature).is_err());
                assert!(!multiples.verify(&signature, &[message]));
            }
        }
        // Some of these satisfy the equation: the weak-key check refuses them.
        assert!(equation_held > 0);
    }
}
