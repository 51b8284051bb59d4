//! Batch-opaque serials: one keyed permutation per batch, its key disclosed in
//! the batch's manifest, so that anyone holding the manifest can check
//! whether a serial belongs to the batch without the issuer's secret.
//!
//! A batch-opaque serial is `2^63 | (b << 40) | P_b(c)`: the top bit set (the
//! opaque half of the serial space, [`crate::OPAQUE_BIT`]), the batch number
//! `b` (0 .. 2^23 − 1) in bits 40..=62, and in the low 40 bits `P_b(c)`, a
//! permutation of 0 .. 2^40 − 1 applied to the counter `c` within the batch.
//! Different batches of a key never collide (their `b` differ) and the counter
//! of a serial is recovered by inverting `P_b`.
//!
//! `P_b` is an 8-round Feistel network on two 20-bit halves whose round
//! function is the first 4 bytes (a little-endian u32, masked to 20 bits) of
//! BLAKE3 `keyed_hash(K_b, [round] || half as 4 bytes little-endian)`. How the
//! issuer derives `K_b` is its own business (docs/FORMAT.md section 13.4);
//! a verifier only ever receives it, in the manifest.
//!
//! **Guessability.** Within one batch of `N` serials a guessed serial with the
//! right batch number hits with probability `N / 2^40`; but anyone holding the
//! batch's manifest (which trust bundles publish to verifiers) can enumerate
//! every serial of the batch. The disclosure hides nothing from manifest holders.

#![forbid(unsafe_code)]

use crate::OPAQUE_BIT;

/// Bits of the counter part of a batch-opaque serial.
pub const BATCH_COUNTER_BITS: u32 = 40;

/// Counters per batch: 2^40.
pub const BATCH_COUNTER_LIMIT: u64 = 1 << BATCH_COUNTER_BITS;

/// Batch numbers per key: 2^23 (bits 40..=62 of the serial).
pub const BATCH_NUMBER_LIMIT: u32 = 1 << 23;

const HALF_BITS: u32 = 20;
const HALF_MASK: u32 = (1 << HALF_BITS) - 1;
const ROUNDS: u8 = 8;

/// The permutation of one batch, from the key its manifest discloses.
///
/// ```
/// use hallmark::BatchPermutation;
///
/// let p = BatchPermutation::new([7; 32]);
/// let serial = p.serial(5, 41).ok_or("counter out of range")?;
/// assert!(serial >= hallmark::OPAQUE_BIT);
/// assert_eq!(p.locate(serial), Some((5, 41)));
/// // Counters and batch numbers outside their ranges have no serial.
/// assert_eq!(p.serial(5, 1 << 40), None);
/// assert_eq!(p.serial(1 << 23, 0), None);
/// // A sequential serial is no batch-opaque serial.
/// assert_eq!(p.locate(41), None);
/// # Ok::<(), &'static str>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct BatchPermutation {
    key: [u8; 32],
}

impl core::fmt::Debug for BatchPermutation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The key is public once disclosed, but a key not yet published is
        // the issuer's: never printed.
        f.write_str("BatchPermutation(..)")
    }
}

impl BatchPermutation {
    /// The permutation keyed by `key` (a batch's `K_b`).
    pub fn new(key: [u8; 32]) -> BatchPermutation {
        BatchPermutation { key }
    }

    /// The key.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    fn round(&self, round: u8, half: u32) -> u32 {
        let [h0, h1, h2, h3] = half.to_le_bytes();
        let [a, b, c, d, ..] = *blake3::keyed_hash(&self.key, &[round, h0, h1, h2, h3]).as_bytes();
        u32::from_le_bytes([a, b, c, d]) & HALF_MASK
    }

    /// `P_b(x)` for `x` below 2^40.
    fn permute(&self, x: u64) -> u64 {
        let (mut left, mut right) = (halves(x >> HALF_BITS), halves(x));
        for r in 0..ROUNDS {
            let next = left ^ self.round(r, right);
            left = right;
            right = next;
        }
        (u64::from(left) << HALF_BITS) | u64::from(right)
    }

    /// `P_b⁻¹(y)` for `y` below 2^40.
    fn invert(&self, y: u64) -> u64 {
        let (mut left, mut right) = (halves(y >> HALF_BITS), halves(y));
        for r in (0..ROUNDS).rev() {
            let prev = right ^ self.round(r, left);
            right = left;
            left = prev;
        }
        (u64::from(left) << HALF_BITS) | u64::from(right)
    }

    /// The serial of counter `counter` of batch `batch`: `None` if `batch`
    /// is not below 2^23 or `counter` not below 2^40.
    pub fn serial(&self, batch: u32, counter: u64) -> Option<u64> {
        if batch >= BATCH_NUMBER_LIMIT || counter >= BATCH_COUNTER_LIMIT {
            return None;
        }
        Some(OPAQUE_BIT | (u64::from(batch) << BATCH_COUNTER_BITS) | self.permute(counter))
    }

    /// The batch number and counter `serial` was made from under this key:
    /// `None` for a serial below 2^63 (sequential). Every serial at or
    /// above 2^63 locates to some (batch, counter); whether it belongs to a
    /// batch is for the caller to check (the batch number and `counter <
    /// count`, as [`crate::ManifestBatch::contains`] does).
    pub fn locate(&self, serial: u64) -> Option<(u32, u64)> {
        if serial < OPAQUE_BIT {
            return None;
        }
        let rest = serial & !OPAQUE_BIT;
        let batch = u32::try_from(rest >> BATCH_COUNTER_BITS).ok()?;
        Some((batch, self.invert(rest & (BATCH_COUNTER_LIMIT - 1))))
    }
}

/// The low 20 bits of `x`.
fn halves(x: u64) -> u32 {
    (x & u64::from(HALF_MASK)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn serials_are_unique_invertible_and_keep_the_batch_number() {
        let p = BatchPermutation::new([3; 32]);
        let mut seen = HashSet::new();
        for c in (0..5_000u64).chain([BATCH_COUNTER_LIMIT - 1, BATCH_COUNTER_LIMIT - 2]) {
            for b in [0, 1, BATCH_NUMBER_LIMIT - 1] {
                let s = p.serial(b, c).unwrap_or(0);
                assert!(s >= OPAQUE_BIT);
                assert_eq!((s & !OPAQUE_BIT) >> 40, u64::from(b));
                assert!(seen.insert(s), "collision at batch {b} counter {c}");
                assert_eq!(p.locate(s), Some((b, c)));
            }
        }
        assert_eq!(p.serial(0, BATCH_COUNTER_LIMIT), None);
        assert_eq!(p.serial(BATCH_NUMBER_LIMIT, 0), None);
        assert_eq!(p.locate(OPAQUE_BIT - 1), None);
        assert_eq!(
            p.locate(u64::MAX).map(|(b, _)| b),
            Some(BATCH_NUMBER_LIMIT - 1)
        );
        // The permutation is not the identity and depends on the key.
        let q = BatchPermutation::new([4; 32]);
        assert_ne!(p.serial(0, 0), q.serial(0, 0));
        let identity = (0..1000).filter(|c| p.permute(*c) == *c).count();
        assert!(identity < 3, "{identity}");
    }

    /// A full pass over a 2^20 slice of the low half: all distinct.
    #[test]
    fn permutation_is_a_bijection_on_a_slice() {
        let p = BatchPermutation::new([9; 32]);
        let mut seen = HashSet::with_capacity(1 << 16);
        for c in 0..(1u64 << 16) {
            let y = p.permute(c);
            assert!(y < BATCH_COUNTER_LIMIT);
            assert!(seen.insert(y));
            assert_eq!(p.invert(y), c);
        }
    }
}
