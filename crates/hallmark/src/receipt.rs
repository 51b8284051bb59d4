//! Batch receipts: a registry's signed statement that it registered a batch
//! manifest at a time (docs/FORMAT.md §18).
//!
//! A receipt is what makes a key-compromise cut-off impossible to back-date:
//! the registry, not the holder of the line key, says *when* a manifest was
//! registered, and a compromise at time T spares exactly the codes of batches
//! receipted before T.

use ciborium::Value;

use crate::cbor::{field, int, only_keys, parse_canonical, to_vec, uint};
use crate::cert::Usage;
use crate::error::{Document, Error, PayloadError, VerifyError};
use crate::key::{KID_LEN, KeyId};
use crate::signed::{Domain, UnsignedDocument};
use crate::{Date, TrustStore};

/// Domain-separation tag of batch receipt signatures (NUL-terminated ASCII).
pub const RECEIPT_SIGNING_TAG: &[u8] = b"hallmark batch receipt v1\0";

/// Largest receipt accepted, in bytes.
pub const MAX_RECEIPT_BYTES: usize = 1024;

/// BLAKE3 `derive_key` context of a manifest's digest in a receipt.
pub const MANIFEST_DIGEST_CONTEXT: &str = "hallmark v1 manifest digest";

/// A registry's receipt for one signed batch manifest.
///
/// ```
/// use hallmark::{BatchReceipt, KeyId};
/// let manifest = b"...the signed manifest's bytes...";
/// let receipt = BatchReceipt {
///     manifest: BatchReceipt::digest(manifest),
///     kid: KeyId::from_bytes([1, 2, 3, 4]),
///     registered: 1_767_225_600,
///     batches: 1,
///     serials: 10_000,
/// };
/// let unsigned = receipt.to_unsigned(KeyId::from_bytes([9, 9, 9, 9]));
/// assert!(unsigned.signing_message().starts_with(b"hallmark batch receipt v1\0"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchReceipt {
    /// [`BatchReceipt::digest`] of the signed manifest's bytes.
    pub manifest: [u8; 32],
    /// The key that signed the manifest.
    pub kid: KeyId,
    /// When the registry registered it, seconds since 1970-01-01 UTC.
    pub registered: u64,
    /// How many batches the manifest lists.
    pub batches: u64,
    /// How many serials they hold in all.
    pub serials: u64,
}

impl BatchReceipt {
    /// The digest a receipt names a manifest by: BLAKE3 in `derive_key` mode
    /// with [`MANIFEST_DIGEST_CONTEXT`], over the whole signed manifest.
    pub fn digest(manifest: &[u8]) -> [u8; 32] {
        let mut h = blake3::Hasher::new_derive_key(MANIFEST_DIGEST_CONTEXT);
        h.update(manifest);
        *h.finalize().as_bytes()
    }

    fn document(&self) -> Vec<u8> {
        to_vec(&Value::Map(vec![
            (int(0), Value::Bytes(self.manifest.to_vec())),
            (int(1), Value::Bytes(self.kid.to_bytes().to_vec())),
            (int(2), int(self.registered)),
            (int(3), int(self.batches)),
            (int(4), int(self.serials)),
        ]))
    }

    /// The receipt framed for the registry key `signer`, ready to be signed.
    pub fn to_unsigned(&self, signer: KeyId) -> UnsignedDocument {
        UnsignedDocument::new(Domain::Receipt, signer, &self.document())
    }

    /// Parses a signed receipt and verifies it: signed by a key of `trust`
    /// allowed the registry usage (a revocation signer, or a key certified
    /// for `registry`), valid on the UTC day of `registered`. Returns the
    /// receipt and its signer's key id.
    pub fn verify(bytes: &[u8], trust: &TrustStore) -> Result<(BatchReceipt, KeyId), Error> {
        let (key, document) =
            crate::signed::open(bytes, Domain::Receipt, MAX_RECEIPT_BYTES, trust)?;
        TrustStore::check_usage(key, Usage::REGISTRY, Document::Receipt)?;
        let receipt = decode(document)?;
        signed_on(key, receipt.registered)?;
        Ok((receipt, key.kid()))
    }

    /// Parses a signed receipt **without checking its signature**, for
    /// display only (`hallmark inspect`): the framing and the same strict
    /// document rules as [`BatchReceipt::verify`] (canonical CBOR, known keys
    /// only), but no key, usage, validity or signature is checked, so anyone
    /// can make bytes that decode. Returns the key id the receipt *names* as
    /// its signer, then the receipt. A document of another type is refused.
    ///
    /// ```
    /// use hallmark::{BatchReceipt, KeyId};
    /// let receipt = BatchReceipt {
    ///     manifest: BatchReceipt::digest(b"...the signed manifest's bytes..."),
    ///     kid: KeyId::from_bytes([1, 2, 3, 4]),
    ///     registered: 1_767_225_600,
    ///     batches: 1,
    ///     serials: 10_000,
    /// };
    /// let registry = KeyId::from_bytes([9, 9, 9, 9]);
    /// // Any 64 bytes pass for a signature here: nothing is verified.
    /// let bytes = receipt.to_unsigned(registry).into_signed(&[0; 64]);
    /// assert_eq!(BatchReceipt::decode_unverified(&bytes)?, (registry, receipt));
    /// assert!(BatchReceipt::decode_unverified(&bytes[..bytes.len() - 1]).is_err());
    /// # Ok::<(), hallmark::Error>(())
    /// ```
    pub fn decode_unverified(bytes: &[u8]) -> Result<(KeyId, BatchReceipt), Error> {
        let framed = crate::signed::frame(bytes, Domain::Receipt, MAX_RECEIPT_BYTES)?;
        Ok((framed.kid, decode(framed.body)?))
    }
}

/// Refuses a registry document issued at `secs` by a key not valid on that
/// UTC day (a day past 9999-12-31 is after every `valid_until`).
pub(crate) fn signed_on(key: &crate::TrustedKey, secs: u64) -> Result<(), Error> {
    let day = Date::from_days(secs / 86_400);
    let valid = match day {
        Some(day) => key.is_valid_on(day),
        None => key.valid_until().is_none(),
    };
    if valid {
        Ok(())
    } else {
        Err(VerifyError::KeyNotValid {
            kid: key.kid(),
            key_name: key.name().to_owned(),
            date: day.unwrap_or(Date::MAX),
            valid_from: key.valid_from(),
            valid_until: key.valid_until(),
        }
        .into())
    }
}

fn bytes<const N: usize>(
    m: &[(Value, Value)],
    key: u64,
    name: &'static str,
    expected: &'static str,
) -> Result<[u8; N], PayloadError> {
    match field(m, key) {
        Some(Value::Bytes(b)) => {
            <[u8; N]>::try_from(b.as_slice()).map_err(|_| PayloadError::WrongType {
                field: name,
                expected,
            })
        }
        Some(_) => Err(PayloadError::WrongType {
            field: name,
            expected,
        }),
        None => Err(PayloadError::MissingField(name)),
    }
}

fn decode(document: &[u8]) -> Result<BatchReceipt, PayloadError> {
    let Value::Map(m) = parse_canonical(document)? else {
        return Err(PayloadError::NotAMap);
    };
    only_keys(&m, 4, "receipt")?;
    let manifest = bytes::<32>(&m, 0, "manifest", "a 32-byte byte string")?;
    let kid = bytes::<KID_LEN>(&m, 1, "kid", "a 4-byte byte string")?;
    Ok(BatchReceipt {
        manifest,
        kid: KeyId::from_bytes(kid),
        registered: uint(&m, 2, "registered")?,
        batches: uint(&m, 3, "batches")?,
        serials: uint(&m, 4, "serials")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{self, Key};

    #[test]
    fn decode_unverified_reads_a_receipt_and_refuses_anything_else() {
        let (line, registry) = (Key::new(1), Key::new(3));
        let manifest = testkit::manifest(&line, vec![testkit::batch(0, 10)]);
        let bytes = testkit::receipt(&registry, &manifest, &line, 1_780_000_100);
        let (signer, r) = BatchReceipt::decode_unverified(&bytes).unwrap();
        assert_eq!(signer, registry.kid());
        assert_eq!(r.manifest, BatchReceipt::digest(&manifest));
        assert_eq!(
            (r.kid, r.registered, r.batches, r.serials),
            (line.kid(), 1_780_000_100, 1, 10)
        );
        // The signature is not checked.
        let mut forged = bytes.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(
            BatchReceipt::decode_unverified(&forged).unwrap(),
            (signer, r)
        );
        for bad in [&bytes[..bytes.len() - 1], &[1u8; 100][..], &[][..]] {
            assert!(BatchReceipt::decode_unverified(bad).is_err());
        }
        // An unknown key refused, as `verify` refuses it.
        let mut extra = r.document();
        extra[0] += 1; // a map of 6 entries
        extra.extend_from_slice(&[0x05, 0x00]);
        let extra = registry.sign_raw(Domain::Receipt, registry.kid(), &extra);
        assert!(BatchReceipt::decode_unverified(&extra).is_err());
        let snapshot =
            registry.sign(crate::RevocationSnapshot::new(1, 2).to_unsigned(registry.kid()));
        let bundle = registry.sign(crate::TrustBundle::default().to_unsigned(registry.kid()));
        let cert = testkit::certify(&line, &testkit::cert(&registry, "r", Usage::REGISTRY));
        for other in [manifest, snapshot, bundle, cert] {
            assert!(BatchReceipt::decode_unverified(&other).is_err());
        }
    }
}
