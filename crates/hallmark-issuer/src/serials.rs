//! How ledger counters become serial numbers.
//!
//! - **Sequential**: the serial is the counter (0, 1, 2, ...), below 2^63.
//! - **Opaque**: the serial is 2^63 + P(counter), where P is a keyed permutation
//!   of 0..2^63. Unique by construction (P is a bijection and counters never
//!   repeat), and without the key it reveals neither order nor volume: a guess
//!   hits one of N issued serials with probability N / 2^63.
//!
//! The two ranges are disjoint (top bit clear or set), so sequential and opaque
//! batches of one key can never collide.
//!
//! - **Batch**: the serial is `2^63 | (b << 40) | P_b(c)` ([`hallmark::BatchPermutation`]):
//!   `b` the key's batch number, `c` the counter within the batch, `P_b` a
//!   permutation of 0..2^40 whose key `K_b` is disclosed in the batch's
//!   manifest, so that verifiers holding the manifest can check membership.
//!   `K_b` = BLAKE3 `derive_key("hallmark v1 batch serial key", K || b as 8
//!   bytes little-endian)`, K the opaque-serial key below. A key mints either
//!   opaque or batch serials, never both (they share the top half of the
//!   serial space).
//!
//! P is an 8-round Feistel network on 64 bits (two 32-bit halves) whose round
//! function is keyed BLAKE3, restricted to 0..2^63 by cycle walking. Its key is
//! BLAKE3 `derive_key("hallmark v1 opaque serial key", issuer secret seed)`.
//! docs/FORMAT.md specifies it byte by byte.

use zeroize::Zeroizing;

pub use hallmark::OPAQUE_BIT;

/// BLAKE3 `derive_key` context for the opaque-serial permutation key.
pub const OPAQUE_KEY_CONTEXT: &str = "hallmark v1 opaque serial key";

/// BLAKE3 `derive_key` context for a batch's permutation key `K_b`.
pub const BATCH_KEY_CONTEXT: &str = "hallmark v1 batch serial key";

const ROUNDS: u8 = 8;

/// How counters map to serials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SerialMode {
    /// Serial = counter.
    #[default]
    Sequential,
    /// Serial = 2^63 + keyed permutation of the counter.
    Opaque,
    /// Serial = 2^63 | batch number << 40 | the batch's disclosed
    /// permutation of the counter within the batch.
    Batch,
}

/// The keyed permutation behind opaque serials.
pub struct OpaquePermutation {
    key: Zeroizing<[u8; 32]>,
}

impl OpaquePermutation {
    /// The permutation for an issuer key's 32-byte secret seed.
    pub fn from_seed(seed: &[u8; 32]) -> OpaquePermutation {
        OpaquePermutation {
            key: Zeroizing::new(blake3::derive_key(OPAQUE_KEY_CONTEXT, seed)),
        }
    }

    /// The permutation key `K_b` of batch `batch`: BLAKE3 `derive_key(`
    /// [`BATCH_KEY_CONTEXT`]`, K || batch as 8 bytes little-endian)`. It is
    /// disclosed in the batch's manifest; it reveals nothing of K or of
    /// another batch's key.
    pub fn batch_key(&self, batch: u32) -> [u8; 32] {
        let mut material = [0u8; 40];
        let (k, b) = material.split_at_mut(32);
        k.copy_from_slice(self.key.as_slice());
        b.copy_from_slice(&u64::from(batch).to_le_bytes());
        let key = blake3::derive_key(BATCH_KEY_CONTEXT, &material);
        zeroize::Zeroize::zeroize(&mut material);
        key
    }

    fn round(&self, round: u8, half: u32) -> u32 {
        let [h0, h1, h2, h3] = half.to_le_bytes();
        let input = [round, h0, h1, h2, h3];
        let [a, b, c, d, ..] = *blake3::keyed_hash(&self.key, &input).as_bytes();
        u32::from_le_bytes([a, b, c, d])
    }

    /// One pass of the 64-bit Feistel network.
    fn feistel(&self, x: u64) -> u64 {
        let (mut left, mut right) = ((x >> 32) as u32, x as u32);
        for r in 0..ROUNDS {
            let next = left ^ self.round(r, right);
            left = right;
            right = next;
        }
        (u64::from(left) << 32) | u64::from(right)
    }

    fn feistel_inverse(&self, y: u64) -> u64 {
        let (mut left, mut right) = ((y >> 32) as u32, y as u32);
        for r in (0..ROUNDS).rev() {
            let prev = right ^ self.round(r, left);
            right = left;
            left = prev;
        }
        (u64::from(left) << 32) | u64::from(right)
    }

    /// The opaque serial of `counter` (which must be below 2^63).
    pub fn serial(&self, counter: u64) -> Option<u64> {
        if counter >= OPAQUE_BIT {
            return None;
        }
        // Cycle walking: apply the 64-bit permutation until the value falls in
        // 0..2^63; this is a permutation of 0..2^63 (expected two passes).
        let mut x = self.feistel(counter);
        while x >= OPAQUE_BIT {
            x = self.feistel(x);
        }
        Some(OPAQUE_BIT | x)
    }

    /// The counter an opaque serial was made from (for registries that hold the key).
    pub fn counter(&self, serial: u64) -> Option<u64> {
        if serial < OPAQUE_BIT {
            return None;
        }
        let mut x = self.feistel_inverse(serial & !OPAQUE_BIT);
        while x >= OPAQUE_BIT {
            x = self.feistel_inverse(x);
        }
        Some(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn opaque_serials_are_unique_invertible_and_unordered() {
        let p = OpaquePermutation::from_seed(&[9; 32]);
        let mut seen = HashSet::new();
        let mut increasing = 0;
        let mut prev = 0;
        for c in 0..20_000u64 {
            let s = p.serial(c).unwrap_or(0);
            assert!(s >= OPAQUE_BIT);
            assert!(seen.insert(s), "collision at counter {c}");
            assert_eq!(p.counter(s), Some(c));
            increasing += usize::from(s > prev);
            prev = s;
        }
        // Order is not revealed: about half the steps go up.
        assert!((8_000..12_000).contains(&increasing), "{increasing}");
        for c in [OPAQUE_BIT - 1, OPAQUE_BIT - 2, 1 << 40] {
            let s = p.serial(c).unwrap_or(0);
            assert_eq!(p.counter(s), Some(c));
        }
        assert_eq!(p.serial(OPAQUE_BIT), None);
        assert_eq!(p.counter(5), None);
        // Another key gives another permutation.
        let q = OpaquePermutation::from_seed(&[10; 32]);
        assert_ne!(p.serial(0), q.serial(0));
    }
}
