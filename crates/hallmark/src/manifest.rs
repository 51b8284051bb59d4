//! Signed batch manifests: an issuer's statement of which serials it minted.
//!
//! Binary layout, like a code's: version (0x01) | kid (4) | document | signature (64),
//! where the document is deterministic CBOR and the signature covers
//! [`MANIFEST_SIGNING_TAG`] || version || kid || document.

use ciborium::Value;

use crate::cbor::{date, field, int, only_keys, parse_canonical, text, to_vec, uint};
use crate::error::{Error, PayloadError};
use crate::key::KeyId;
use crate::signed::{Domain, UnsignedDocument};
use crate::{Date, SIGNATURE_LEN, TrustStore};

/// Domain-separation tag of batch manifest signatures (NUL-terminated ASCII).
pub const MANIFEST_SIGNING_TAG: &[u8] = b"hallmark batch manifest v1\0";

/// Largest manifest accepted, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

/// One batch in a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestBatch {
    /// First ledger counter of the batch.
    pub start: u64,
    /// Number of counters (serials) in the batch, at least 1.
    pub count: u64,
    /// Part number.
    pub part: String,
    /// Lot.
    pub lot: String,
    /// Date of manufacture.
    pub date: Date,
    /// Expiry date, if any.
    pub expiry: Option<Date>,
    /// Whether serials are the opaque permutation of the counters (else the counters).
    pub opaque: bool,
    /// When the batch was minted, seconds since 1970-01-01 UTC.
    pub minted: u64,
}

/// A batch manifest: the batches one issuer key minted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchManifest {
    /// The issuing key.
    pub kid: KeyId,
    /// When the manifest was made, seconds since 1970-01-01 UTC.
    pub issued: u64,
    /// The batches.
    pub batches: Vec<ManifestBatch>,
}

impl BatchManifest {
    fn document(&self) -> Vec<u8> {
        let batches = self
            .batches
            .iter()
            .map(|b| {
                let mut m = vec![
                    (int(0), int(b.start)),
                    (int(1), int(b.count)),
                    (int(2), Value::Text(b.part.clone())),
                    (int(3), Value::Text(b.lot.clone())),
                    (int(4), int(b.date.days().into())),
                ];
                if let Some(e) = b.expiry {
                    m.push((int(5), int(e.days().into())));
                }
                m.push((int(6), Value::Bool(b.opaque)));
                m.push((int(7), int(b.minted)));
                Value::Map(m)
            })
            .collect();
        to_vec(&Value::Map(vec![
            (int(0), int(self.issued)),
            (int(1), Value::Array(batches)),
        ]))
    }

    fn signed_part(&self) -> Vec<u8> {
        crate::signed::signed_part(self.kid, &self.document())
    }

    /// The manifest framed for its key ([`BatchManifest::kid`]), ready to be signed.
    pub fn to_unsigned(&self) -> UnsignedDocument {
        UnsignedDocument::new(Domain::BatchManifest, self.kid, &self.document())
    }

    /// The exact bytes the issuer signs.
    pub fn signing_message(&self) -> Vec<u8> {
        crate::signed::signing_message(Domain::BatchManifest, self.kid, &self.document())
    }

    /// The signed manifest file: signed part followed by `signature`.
    pub fn to_signed_bytes(&self, signature: &[u8; SIGNATURE_LEN]) -> Vec<u8> {
        [&self.signed_part()[..], signature].concat()
    }

    /// Parses a signed manifest and verifies it with the trusted key its kid names.
    pub fn verify(bytes: &[u8], trust: &TrustStore) -> Result<BatchManifest, Error> {
        let (key, document) =
            crate::signed::open(bytes, Domain::BatchManifest, MAX_MANIFEST_BYTES, trust)?;
        let (issued, batches) = decode_document(document)?;
        Ok(BatchManifest {
            kid: key.kid(),
            issued,
            batches,
        })
    }
}

fn decode_document(bytes: &[u8]) -> Result<(u64, Vec<ManifestBatch>), PayloadError> {
    let Value::Map(top) = parse_canonical(bytes)? else {
        return Err(PayloadError::NotAMap);
    };
    only_keys(&top, 1, "manifest")?;
    let issued = uint(&top, 0, "issued")?;
    let Some(Value::Array(items)) = field(&top, 1) else {
        return Err(PayloadError::WrongType {
            field: "batches",
            expected: "an array",
        });
    };
    let batches = items
        .iter()
        .map(|item| {
            let Value::Map(m) = item else {
                return Err(PayloadError::WrongType {
                    field: "batch",
                    expected: "a map",
                });
            };
            only_keys(m, 7, "batch")?;
            let start = uint(m, 0, "start")?;
            let count = uint(m, 1, "count")?;
            if count == 0 || start.checked_add(count - 1).is_none() {
                return Err(PayloadError::InvalidValue {
                    field: "count",
                    reason: "empty or past 2^64-1",
                });
            }
            let opaque = match field(m, 6) {
                Some(Value::Bool(b)) => *b,
                Some(_) => {
                    return Err(PayloadError::WrongType {
                        field: "opaque",
                        expected: "a boolean",
                    });
                }
                None => return Err(PayloadError::MissingField("opaque")),
            };
            Ok(ManifestBatch {
                start,
                count,
                part: text(m, 2, "part")?,
                lot: text(m, 3, "lot")?,
                date: date(uint(m, 4, "date")?, "date")?,
                expiry: field(m, 5)
                    .map(|_| uint(m, 5, "expiry").and_then(|d| date(d, "expiry")))
                    .transpose()?,
                opaque,
                minted: uint(m, 7, "minted")?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((issued, batches))
}
