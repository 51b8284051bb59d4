//! Public keys and key ids.

use core::fmt;
use core::str::FromStr;

use ed25519_dalek::VerifyingKey;

use crate::error::{Error, FieldError, KeyError};

/// Length of a key id in bytes.
pub const KID_LEN: usize = 4;

/// BLAKE3 `derive_key` context for key ids (see docs/FORMAT.md).
pub const KID_CONTEXT: &str = "hallmark v1 key id";

/// A short key id: the first 4 bytes of BLAKE3 `derive_key(KID_CONTEXT, public key)`.
///
/// A key id only selects a key; the signature is checked against the full key.
/// Shown as 8 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; KID_LEN]);

impl KeyId {
    /// The key id of a 32-byte Ed25519 public key.
    pub fn derive(public_key: &[u8; 32]) -> KeyId {
        let [a, b, c, d, ..] = blake3::derive_key(KID_CONTEXT, public_key);
        KeyId([a, b, c, d])
    }

    /// A key id from its bytes.
    pub const fn from_bytes(bytes: [u8; KID_LEN]) -> KeyId {
        KeyId(bytes)
    }

    /// The key id's bytes.
    pub fn to_bytes(self) -> [u8; KID_LEN] {
        self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = Error;
    fn from_str(s: &str) -> Result<KeyId, Error> {
        let mut kid = [0u8; KID_LEN];
        hex::decode_to_slice(s, &mut kid).map_err(|_| FieldError::InvalidField {
            field: "key id",
            reason: "expected 8 hex digits",
        })?;
        Ok(KeyId(kid))
    }
}

/// A trusted Ed25519 public key: a valid curve point that is not of small order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
    kid: KeyId,
}

impl PublicKey {
    /// Parses a 32-byte public key, refusing invalid encodings and weak
    /// (small-order) points, for which signatures can be forged.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, Error> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| Error::Key(KeyError::Invalid))?;
        // One encoding per key: refuse y >= p and a sign bit on x = 0, so the same
        // point cannot hide under a second key id.
        if key.to_edwards().compress().to_bytes() != *bytes {
            return Err(Error::Key(KeyError::Invalid));
        }
        if key.is_weak() {
            return Err(Error::Key(KeyError::Weak));
        }
        Ok(PublicKey {
            key,
            kid: KeyId::derive(bytes),
        })
    }

    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<PublicKey, Error> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s.trim(), &mut bytes).map_err(|_| Error::Key(KeyError::Invalid))?;
        PublicKey::from_bytes(&bytes)
    }

    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.key.as_bytes())
    }

    /// The key id.
    pub fn kid(&self) -> KeyId {
        self.kid
    }

    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_invalid_keys_refused() {
        // The identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(matches!(
            PublicKey::from_bytes(&identity),
            Err(Error::Key(KeyError::Weak))
        ));
        // All zeros is a point of order 4.
        assert!(matches!(
            PublicKey::from_bytes(&[0; 32]),
            Err(Error::Key(KeyError::Weak))
        ));
        assert!(PublicKey::from_hex("zz").is_err());
        // The identity with the sign bit set: a second spelling of a weak point.
        let mut signed_identity = identity;
        signed_identity[31] |= 0x80;
        assert!(matches!(
            PublicKey::from_bytes(&signed_identity),
            Err(Error::Key(KeyError::Invalid))
        ));
    }
}
