//! Signed batch manifests: an issuer's statement of which serials it minted.
//!
//! Binary layout, like a code's: version (0x01) | kid (4) | document | signature (64),
//! where the document is deterministic CBOR and the signature covers
//! [`MANIFEST_SIGNING_TAG`] || version || kid || document.

use ciborium::Value;

use crate::batch_serial::{BATCH_COUNTER_LIMIT, BATCH_NUMBER_LIMIT, BatchPermutation};
use crate::cbor::{date, field, int, only_keys, parse_canonical, text, to_vec, uint};
use crate::error::{Error, PayloadError};
use crate::key::KeyId;
use crate::signed::{Domain, UnsignedDocument};
use crate::{Date, OPAQUE_BIT, SIGNATURE_LEN, TrustStore};

/// Domain-separation tag of batch manifest signatures (NUL-terminated ASCII).
pub const MANIFEST_SIGNING_TAG: &[u8] = b"hallmark batch manifest v1\0";

/// Largest manifest accepted, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 16 * 1024 * 1024;

/// The disclosed permutation of a batch-opaque batch (manifest batch key 8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchKey {
    /// The batch number `b`, below 2^23: bits 40..=62 of its serials.
    pub number: u32,
    /// The batch's permutation key `K_b` ([`BatchPermutation`]).
    pub key: [u8; 32],
}

impl BatchKey {
    /// The batch's permutation.
    pub fn permutation(&self) -> BatchPermutation {
        BatchPermutation::new(self.key)
    }
}

/// One batch in a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestBatch {
    /// First ledger counter of the batch (for a batch-opaque batch, the
    /// first counter within the batch: always 0).
    pub start: u64,
    /// Number of counters (serials) in the batch, at least 1: the serials
    /// the issuer emitted (for a batch-opaque batch at most 2^40).
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
    /// For a batch-opaque batch (then `opaque` is true): its batch number
    /// and disclosed permutation key. `None` for sequential and legacy
    /// opaque batches.
    pub batch_key: Option<BatchKey>,
}

impl ManifestBatch {
    /// Whether `serial` is one of this batch's serials, exactly:
    ///
    /// - sequential: `start <= serial <= start + count - 1`;
    /// - batch-opaque ([`ManifestBatch::batch_key`]): the serial's batch
    ///   number is the batch's and its counter (the permutation inverted)
    ///   lies in `start .. start + count`;
    /// - legacy opaque (whole-space permutation, no disclosed key): always
    ///   `false`, since membership needs the issuer's secret.
    ///
    /// ```
    /// use hallmark::{BatchKey, BatchPermutation, ManifestBatch};
    ///
    /// let key = [5; 32];
    /// let batch = ManifestBatch {
    ///     start: 0, count: 10, part: "P".into(), lot: "L".into(),
    ///     date: "2024-01-31".parse()?, expiry: None, opaque: true, minted: 0,
    ///     batch_key: Some(BatchKey { number: 3, key }),
    /// };
    /// let p = BatchPermutation::new(key);
    /// assert!(batch.contains(p.serial(3, 9).ok_or("range")?));
    /// assert!(!batch.contains(p.serial(3, 10).ok_or("range")?), "past the count");
    /// assert!(!batch.contains(p.serial(4, 0).ok_or("range")?), "another batch number");
    /// assert!(!batch.contains(9), "a sequential serial");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn contains(&self, serial: u64) -> bool {
        let in_range = |c: u64| c >= self.start && c - self.start < self.count;
        match (&self.batch_key, self.opaque) {
            (Some(k), _) => k
                .permutation()
                .locate(serial)
                .is_some_and(|(b, c)| b == k.number && in_range(c)),
            (None, true) => false,
            (None, false) => serial < OPAQUE_BIT && in_range(serial),
        }
    }
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
                if let Some(k) = &b.batch_key {
                    m.push((
                        int(8),
                        Value::Array(vec![int(k.number.into()), Value::Bytes(k.key.to_vec())]),
                    ));
                }
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

    /// Parses a signed manifest and verifies it with the trusted key its kid
    /// names, which must be allowed the manifests usage (a plain key, or a key
    /// certified for `manifests`).
    pub fn verify(bytes: &[u8], trust: &TrustStore) -> Result<BatchManifest, Error> {
        let (key, document) =
            crate::signed::open(bytes, Domain::BatchManifest, MAX_MANIFEST_BYTES, trust)?;
        // A revocation signer, or a key certified without the manifests
        // usage, signs no manifests.
        TrustStore::check_usage(
            key,
            crate::Usage::MANIFESTS,
            crate::error::Document::BatchManifest,
        )?;
        let (issued, batches) = decode_document(document)?;
        Ok(BatchManifest {
            kid: key.kid(),
            issued,
            batches,
        })
    }

    /// Parses a signed manifest **without checking its signature**, for
    /// display only (`hallmark inspect`): the framing and the same strict
    /// document rules as [`BatchManifest::verify`] (canonical CBOR, known
    /// keys only), but no key, usage or signature is checked, so anyone can
    /// make bytes that decode. [`BatchManifest::kid`] is the key the file
    /// *names* as its signer. A document of another type is refused.
    ///
    /// ```
    /// use hallmark::{BatchManifest, KeyId, ManifestBatch};
    /// let manifest = BatchManifest {
    ///     kid: KeyId::from_bytes([1, 2, 3, 4]),
    ///     issued: 1_780_000_000,
    ///     batches: vec![ManifestBatch {
    ///         start: 0, count: 10, part: "P".into(), lot: "L".into(),
    ///         date: "2026-06-01".parse()?, expiry: None, opaque: false,
    ///         minted: 1_780_000_000, batch_key: None,
    ///     }],
    /// };
    /// // Any 64 bytes pass for a signature here: nothing is verified.
    /// let bytes = manifest.to_unsigned().into_signed(&[0; 64]);
    /// assert_eq!(BatchManifest::decode_unverified(&bytes)?, manifest);
    /// assert!(BatchManifest::decode_unverified(&bytes[..bytes.len() - 65]).is_err());
    /// # Ok::<(), hallmark::Error>(())
    /// ```
    pub fn decode_unverified(bytes: &[u8]) -> Result<BatchManifest, Error> {
        let framed = crate::signed::frame(bytes, Domain::BatchManifest, MAX_MANIFEST_BYTES)?;
        let (issued, batches) = decode_document(framed.body)?;
        Ok(BatchManifest {
            kid: framed.kid,
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
            only_keys(m, 8, "batch")?;
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
            let batch_key = field(m, 8).map(batch_key).transpose()?;
            if batch_key.is_some() {
                if !opaque {
                    return Err(PayloadError::InvalidValue {
                        field: "batch",
                        reason: "a batch key on a batch that is not opaque",
                    });
                }
                if start != 0 || count > BATCH_COUNTER_LIMIT {
                    return Err(PayloadError::InvalidValue {
                        field: "count",
                        reason: "a batch-opaque batch starts at counter 0 and holds at most 2^40",
                    });
                }
            }
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
                batch_key,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((issued, batches))
}

/// Batch map key 8: `[b (uint < 2^23), K_b (bstr 32)]`.
fn batch_key(value: &Value) -> Result<BatchKey, PayloadError> {
    let wrong = PayloadError::WrongType {
        field: "batch",
        expected: "an array of a batch number and a 32-byte key",
    };
    let Value::Array(items) = value else {
        return Err(wrong);
    };
    let [number, Value::Bytes(key)] = items.as_slice() else {
        return Err(wrong);
    };
    let number = crate::cbor::as_u64(number).ok_or(PayloadError::WrongType {
        field: "batch",
        expected: "an unsigned batch number",
    })?;
    let number = u32::try_from(number)
        .ok()
        .filter(|n| *n < BATCH_NUMBER_LIMIT)
        .ok_or(PayloadError::InvalidValue {
            field: "batch",
            reason: "batch number not below 2^23",
        })?;
    let key = <[u8; 32]>::try_from(key.as_slice()).map_err(|_| wrong)?;
    Ok(BatchKey { number, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(batch_key: Option<BatchKey>, opaque: bool) -> ManifestBatch {
        ManifestBatch {
            start: 0,
            count: 3,
            part: "P".into(),
            lot: "L".into(),
            date: Date::EPOCH,
            expiry: None,
            opaque,
            minted: 1,
            batch_key,
        }
    }

    fn round_trip(b: ManifestBatch) -> Result<Vec<ManifestBatch>, PayloadError> {
        let m = BatchManifest {
            kid: KeyId::from_bytes([1, 2, 3, 4]),
            issued: 5,
            batches: vec![b],
        };
        decode_document(&m.document()).map(|(_, b)| b)
    }

    #[test]
    fn decode_unverified_reads_a_manifest_and_refuses_anything_else() {
        use crate::testkit::{self, Key};
        let (line, registry) = (Key::new(1), Key::new(3));
        let bytes = testkit::manifest(&line, vec![testkit::batch(5, 10), batch(None, true)]);
        let m = BatchManifest::decode_unverified(&bytes).unwrap();
        assert_eq!(
            (m.kid, m.issued, m.batches.len()),
            (line.kid(), 1_780_000_000, 2)
        );
        assert_eq!(m.batches[0], testkit::batch(5, 10));
        // The signature is not checked: another key's kid, same result.
        let mut forged = bytes.clone();
        forged[1] ^= 1;
        assert!(BatchManifest::decode_unverified(&forged).is_ok());
        // Truncated, garbage, empty.
        for bad in [&bytes[..bytes.len() - 1], &[1u8; 100][..], &[][..]] {
            assert!(BatchManifest::decode_unverified(bad).is_err());
        }
        // Documents of the other types.
        let receipt = testkit::receipt(&registry, &bytes, &line, 1_780_000_100);
        let snapshot =
            registry.sign(crate::RevocationSnapshot::new(1, 2).to_unsigned(registry.kid()));
        let bundle = registry.sign(crate::TrustBundle::default().to_unsigned(registry.kid()));
        let cert = testkit::certify(
            &line,
            &testkit::cert(&registry, "r", crate::Usage::REGISTRY),
        );
        for other in [receipt, snapshot, bundle, cert] {
            assert!(BatchManifest::decode_unverified(&other).is_err());
        }
    }

    #[test]
    fn batch_key_round_trips_and_bad_ones_are_refused() {
        let key = BatchKey {
            number: BATCH_NUMBER_LIMIT - 1,
            key: [7; 32],
        };
        let b = batch(Some(key.clone()), true);
        assert_eq!(round_trip(b.clone()), Ok(vec![b]));
        // Not opaque, not starting at 0, more than 2^40, batch number 2^23.
        assert!(round_trip(batch(Some(key.clone()), false)).is_err());
        let mut late = batch(Some(key.clone()), true);
        late.start = 1;
        assert!(round_trip(late).is_err());
        let mut big = batch(Some(key.clone()), true);
        big.count = BATCH_COUNTER_LIMIT + 1;
        assert!(round_trip(big).is_err());
        let mut full = batch(Some(key), true);
        full.count = BATCH_COUNTER_LIMIT;
        assert!(round_trip(full).is_ok());
        let far = batch(
            Some(BatchKey {
                number: BATCH_NUMBER_LIMIT,
                key: [7; 32],
            }),
            true,
        );
        assert!(matches!(
            round_trip(far),
            Err(PayloadError::InvalidValue { field: "batch", .. })
        ));
    }

    #[test]
    fn contains_is_exact_for_sequential_and_batch_opaque() {
        let mut seq = batch(None, false);
        seq.start = 10;
        assert!(!seq.contains(9));
        assert!(seq.contains(10) && seq.contains(12));
        assert!(!seq.contains(13));
        assert!(!seq.contains(OPAQUE_BIT | 10));
        // Legacy opaque: never, whatever the serial.
        let legacy = batch(None, true);
        assert!(!legacy.contains(OPAQUE_BIT) && !legacy.contains(0));
        let key = BatchKey {
            number: 2,
            key: [1; 32],
        };
        let p = key.permutation();
        let opaque = batch(Some(key), true);
        for c in 0..3 {
            assert!(opaque.contains(p.serial(2, c).unwrap_or(0)));
        }
        assert!(!opaque.contains(p.serial(2, 3).unwrap_or(0)));
        assert!(!opaque.contains(p.serial(1, 0).unwrap_or(0)));
        assert!(!opaque.contains(0));
        // Under another key the same counter is another serial.
        let other = BatchPermutation::new([2; 32]);
        let hits = (0..1000)
            .filter(|c| opaque.contains(other.serial(2, *c).unwrap_or(0)))
            .count();
        assert!(hits < 2, "{hits}");
    }
}
