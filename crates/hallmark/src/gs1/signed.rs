//! The hallmark GS1 profile: a signature in AI 8030 over every other AI.

use crate::key::KeyId;

/// Domain-separation tag of a signed GS1 unit (docs/FORMAT.md §21).
pub const GS1_SIGNING_TAG: &[u8] = b"hallmark gs1 unit v1\0";

/// The profile byte that opens an 8030 value of this profile.
pub const GS1_PROFILE_V1: u8 = 0x47;

/// Bytes of the short key id carried in 8030.
pub const SHORT_KID_LEN: usize = 2;

/// Bytes of an 8030 value of this profile: profile, short key id, signature.
pub const GS1_SIGNATURE_LEN: usize = 1 + SHORT_KID_LEN + 64;

/// The first two bytes of a [`KeyId`], as carried in AI 8030.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShortKid(pub [u8; SHORT_KID_LEN]);

impl ShortKid {
    /// The short id of `kid`.
    pub fn of(kid: KeyId) -> ShortKid {
        let [a, b, ..] = kid.to_bytes();
        ShortKid([a, b])
    }
}

/// A GS1 unit whose 8030 signature is not verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gs1Unit {}

/// GS1 data to be signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedGs1Unit {}
