//! Signed revocation snapshots: every revocation a registry knows, in one file
//! that verifiers use offline.
//!
//! Framing as for every signed document (see `signed.rs`), under
//! [`REVOCATIONS_SIGNING_TAG`], by a key the trust store marks as a revocation
//! signer. The document is deterministic CBOR; docs/FORMAT.md specifies it.

use std::collections::HashMap;

use ciborium::Value;

use crate::cbor::{field, int, only_keys, parse_canonical, to_vec, uint};
use crate::error::{Error, FieldError, PayloadError, VerifyError};
use crate::key::{KID_LEN, KeyId};
use crate::payload::check_label;
use crate::signed::{Domain, UnsignedDocument};
use crate::{Date, Payload, SIGNATURE_LEN, TrustStore};

/// Domain-separation tag of revocation snapshot signatures (NUL-terminated ASCII).
pub const REVOCATIONS_SIGNING_TAG: &[u8] = b"hallmark revocations v1\0";

/// Largest snapshot accepted, in bytes (about 10 million revoked serials).
pub const MAX_SNAPSHOT_BYTES: usize = 256 * 1024 * 1024;

/// The largest sequence number a snapshot may carry: 2^53 − 1 (exact in a
/// JSON number or a double). A larger one is refused
/// (`sequence-out-of-range`), so that no snapshot can pin its verifiers at
/// u64::MAX: counting one snapshot a second from 0, the range lasts 285 million
/// years.
pub const MAX_SEQUENCE: u64 = (1 << 53) - 1;

/// Why a code was revoked (after EU FMD practice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Recalled by the manufacturer.
    Recalled,
    /// Reported stolen.
    Stolen,
    /// Destroyed.
    Destroyed,
    /// Reported as counterfeit.
    CounterfeitReported,
    /// The signing key was compromised.
    KeyCompromised,
    /// Decommissioned: sold, dispensed or used; a later scan suggests a copy.
    Decommissioned,
}

impl Reason {
    const ALL: [Reason; 6] = [
        Reason::Recalled,
        Reason::Stolen,
        Reason::Destroyed,
        Reason::CounterfeitReported,
        Reason::KeyCompromised,
        Reason::Decommissioned,
    ];

    /// The reason's number in a snapshot.
    pub fn code(self) -> u64 {
        match self {
            Reason::Recalled => 0,
            Reason::Stolen => 1,
            Reason::Destroyed => 2,
            Reason::CounterfeitReported => 3,
            Reason::KeyCompromised => 4,
            Reason::Decommissioned => 5,
        }
    }

    /// The reason for a snapshot number.
    pub fn from_code(code: u64) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The reason's word: `recalled`, `stolen`, `destroyed`, `counterfeit-reported`,
    /// `key-compromised`, `decommissioned`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Recalled => "recalled",
            Reason::Stolen => "stolen",
            Reason::Destroyed => "destroyed",
            Reason::CounterfeitReported => "counterfeit-reported",
            Reason::KeyCompromised => "key-compromised",
            Reason::Decommissioned => "decommissioned",
        }
    }
}

impl core::str::FromStr for Reason {
    type Err = Error;
    fn from_str(s: &str) -> Result<Reason, Error> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s).ok_or(FieldError::InvalidField {
            field: "reason",
            reason: "expected recalled, stolen, destroyed, counterfeit-reported, key-compromised or decommissioned",
        }.into())
    }
}

impl core::fmt::Display for Reason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a revocation covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// One serial of one key.
    Serial(u64),
    /// Serials `first..=last` of one key.
    Range {
        /// First serial.
        first: u64,
        /// Last serial (inclusive).
        last: u64,
    },
    /// Every code of one key with this lot.
    Lot(String),
    /// Every code of the key made on or after `from`.
    Key {
        /// First date of manufacture revoked.
        from: Date,
    },
    /// The key was compromised at `at`: every code of it is revoked except
    /// those of batches a registry receipted before `at` (from a trust bundle,
    /// docs/FORMAT.md §19; a revocation snapshot cannot carry it).
    Compromise {
        /// When the key was compromised, seconds since 1970-01-01 UTC.
        at: u64,
    },
}

/// For people: `serial 42`, `serials 100–199`, `lot L7`, `every code of
/// the key made from 2026-06-01`.
impl core::fmt::Display for Scope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Scope::Serial(s) => write!(f, "serial {s}"),
            Scope::Range { first, last } => write!(f, "serials {}", crate::span(first, last)),
            Scope::Lot(lot) => write!(f, "lot {lot}"),
            Scope::Key { from } => write!(f, "every code of the key made from {from}"),
            Scope::Compromise { at } => write!(
                f,
                "every code of the key not in a batch registered before {}",
                crate::date::rfc3339(*at)
            ),
        }
    }
}

/// One revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The key whose codes it concerns.
    pub kid: KeyId,
    /// What it covers.
    pub scope: Scope,
    /// Why.
    pub reason: Reason,
    /// When it took effect.
    pub date: Date,
}

/// A revocation snapshot: a sequence number, an issue time and revocations.
///
/// ```
/// use hallmark::{Date, KeyId, Reason, RevocationSnapshot, Scope};
/// let kid = KeyId::from_bytes([1, 2, 3, 4]);
/// let mut snapshot = RevocationSnapshot::new(7, 1_790_000_000);
/// snapshot.add(kid, Scope::Serial(42), Reason::Stolen, "2026-11-01".parse()?)?;
/// let message = snapshot.signing_message(kid); // sign with a revocation key
/// assert!(message.starts_with(b"hallmark revocations v1\0"));
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct RevocationSnapshot {
    /// Sequence number: a verifier refuses a snapshot older than one it has seen.
    pub sequence: u64,
    /// When the snapshot was made, seconds since 1970-01-01 UTC.
    pub issued: u64,
    /// The key that signed it (set by [`RevocationSnapshot::verify`]).
    pub signer: Option<KeyId>,
    entries: Vec<Revocation>,
    serials: HashMap<(KeyId, u64), usize>,
    lots: HashMap<(KeyId, String), usize>,
    keys: HashMap<KeyId, usize>,
    ranges: Vec<usize>,
}

fn kid_value(kid: KeyId) -> Value {
    Value::Bytes(kid.to_bytes().to_vec())
}

impl RevocationSnapshot {
    /// An empty snapshot.
    pub fn new(sequence: u64, issued: u64) -> RevocationSnapshot {
        RevocationSnapshot {
            sequence,
            issued,
            ..RevocationSnapshot::default()
        }
    }

    /// Adds a revocation. A second revocation of the same serial, lot or key
    /// keeps the first.
    pub fn add(
        &mut self,
        kid: KeyId,
        scope: Scope,
        reason: Reason,
        date: Date,
    ) -> Result<(), Error> {
        let at = self.entries.len();
        match &scope {
            Scope::Serial(serial) => {
                if self.serials.contains_key(&(kid, *serial)) {
                    return Ok(());
                }
                self.serials.insert((kid, *serial), at);
            }
            Scope::Range { first, last } => {
                if first > last {
                    return Err(FieldError::InvalidField {
                        field: "range",
                        reason: "first serial after last",
                    }
                    .into());
                }
                self.ranges.push(at);
            }
            Scope::Lot(lot) => {
                check_label("lot", lot).map_err(|_| FieldError::InvalidField {
                    field: "lot",
                    reason: "1 to 64 printable ASCII characters",
                })?;
                if self.lots.contains_key(&(kid, lot.clone())) {
                    return Ok(());
                }
                self.lots.insert((kid, lot.clone()), at);
            }
            Scope::Key { .. } => {
                if self.keys.contains_key(&kid) {
                    return Ok(());
                }
                self.keys.insert(kid, at);
            }
            Scope::Compromise { .. } => {
                return Err(FieldError::InvalidField {
                    field: "scope",
                    reason: "a key compromise travels in a trust bundle, not in a revocation snapshot",
                }
                .into());
            }
        }
        self.entries.push(Revocation {
            kid,
            scope,
            reason,
            date,
        });
        Ok(())
    }

    /// Every revocation, in the order added.
    pub fn revocations(&self) -> &[Revocation] {
        &self.entries
    }

    /// The revocation that applies to a code by `kid` with `payload`, if any:
    /// the key's (from a date on or before the code's date), then the serial's,
    /// a range's, then the lot's.
    pub fn check(&self, kid: KeyId, payload: &Payload) -> Option<&Revocation> {
        let by_key = self
            .keys
            .get(&kid)
            .and_then(|&i| self.entries.get(i))
            .filter(|r| matches!(r.scope, Scope::Key { from } if from <= payload.date()));
        by_key
            .or_else(|| self.serials.get(&(kid, payload.serial())).and_then(|&i| self.entries.get(i)))
            .or_else(|| {
                self.ranges.iter().filter_map(|&i| self.entries.get(i)).find(|r| {
                    r.kid == kid
                        && matches!(r.scope, Scope::Range { first, last } if first <= payload.serial() && payload.serial() <= last)
                })
            })
            .or_else(|| {
                self.lots
                    .get(&(kid, payload.lot().to_owned()))
                    .and_then(|&i| self.entries.get(i))
            })
    }

    fn document(&self) -> Vec<u8> {
        let mut map = vec![(int(0), int(self.sequence)), (int(1), int(self.issued))];
        map.extend(self.lists());
        to_vec(&Value::Map(map))
    }

    /// The four lists of the document, keys 2 to 5 (docs/FORMAT.md §15), as a
    /// trust bundle also carries them.
    pub(crate) fn lists(&self) -> Vec<(Value, Value)> {
        let (mut serials, mut ranges, mut lots, mut keys) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for r in &self.entries {
            let (k, why, when) = (
                kid_value(r.kid),
                int(r.reason.code()),
                int(r.date.days().into()),
            );
            match &r.scope {
                Scope::Serial(s) => serials.push(Value::Array(vec![k, int(*s), why, when])),
                Scope::Range { first, last } => {
                    ranges.push(Value::Array(vec![k, int(*first), int(*last), why, when]))
                }
                Scope::Lot(lot) => {
                    lots.push(Value::Array(vec![k, Value::Text(lot.clone()), why, when]))
                }
                Scope::Key { from } => {
                    keys.push(Value::Array(vec![k, int(from.days().into()), why, when]))
                }
                // `add` refuses them.
                Scope::Compromise { .. } => {}
            }
        }
        vec![
            (int(2), Value::Array(serials)),
            (int(3), Value::Array(ranges)),
            (int(4), Value::Array(lots)),
            (int(5), Value::Array(keys)),
        ]
    }

    /// The snapshot framed for the revocation key `signer`, ready to be signed.
    pub fn to_unsigned(&self, signer: KeyId) -> UnsignedDocument {
        UnsignedDocument::new(Domain::RevocationSnapshot, signer, &self.document())
    }

    /// The exact bytes a revocation key signs.
    pub fn signing_message(&self, signer: KeyId) -> Vec<u8> {
        crate::signed::signing_message(Domain::RevocationSnapshot, signer, &self.document())
    }

    /// The snapshot file: signed part followed by `signature`.
    pub fn to_signed_bytes(&self, signer: KeyId, signature: &[u8; SIGNATURE_LEN]) -> Vec<u8> {
        [
            &crate::signed::signed_part(signer, &self.document())[..],
            signature,
        ]
        .concat()
    }

    /// Parses a snapshot file and verifies its signature with a key that `trust`
    /// marks as a revocation signer, valid (`valid_from`, `valid_until`) on the
    /// UTC day of the snapshot's `issued` time (docs/FORMAT.md §15).
    pub fn verify(bytes: &[u8], trust: &TrustStore) -> Result<RevocationSnapshot, Error> {
        let (key, document) =
            crate::signed::open(bytes, Domain::RevocationSnapshot, MAX_SNAPSHOT_BYTES, trust)?;
        if !key.is_revocation_signer() {
            return Err(VerifyError::NotRevocationSigner {
                kid: key.kid(),
                key_name: key.name().to_owned(),
            }
            .into());
        }
        let mut snapshot = decode(document)?;
        // A signer past its valid_until issues no more accepted snapshots, as a
        // code key past it signs no more accepted codes.
        crate::receipt::signed_on(key, snapshot.issued)?;
        snapshot.signer = Some(key.kid());
        Ok(snapshot)
    }

    /// Parses a snapshot file **without checking its signature**, for
    /// display only (`hallmark inspect`): the framing and the same strict
    /// document rules as [`RevocationSnapshot::verify`] (canonical CBOR,
    /// known keys only, the sequence range, no entry listed twice), but no
    /// key, revocation-signer mark, validity or signature is checked, so
    /// anyone can make bytes that decode. Returns the key id the snapshot
    /// *names* as its signer, then the snapshot, whose
    /// [`signer`](RevocationSnapshot::signer) stays `None` (nothing verified
    /// it). A document of another type is refused.
    ///
    /// ```
    /// use hallmark::{KeyId, Reason, RevocationSnapshot, Scope};
    /// let kid = KeyId::from_bytes([1, 2, 3, 4]);
    /// let mut snapshot = RevocationSnapshot::new(7, 1_790_000_000);
    /// snapshot.add(kid, Scope::Serial(42), Reason::Stolen, "2026-11-01".parse()?)?;
    /// // Any 64 bytes pass for a signature here: nothing is verified.
    /// let bytes = snapshot.to_signed_bytes(kid, &[0; 64]);
    /// let (signer, read) = RevocationSnapshot::decode_unverified(&bytes)?;
    /// assert_eq!((signer, read.sequence, read.signer), (kid, 7, None));
    /// assert_eq!(read.revocations(), snapshot.revocations());
    /// assert!(RevocationSnapshot::decode_unverified(&bytes[..bytes.len() - 1]).is_err());
    /// # Ok::<(), hallmark::Error>(())
    /// ```
    pub fn decode_unverified(bytes: &[u8]) -> Result<(KeyId, RevocationSnapshot), Error> {
        let framed = crate::signed::frame(bytes, Domain::RevocationSnapshot, MAX_SNAPSHOT_BYTES)?;
        Ok((framed.kid, decode(framed.body)?))
    }
}

fn entries(
    top: &[(Value, Value)],
    key: u64,
    name: &'static str,
    arity: usize,
) -> Result<Vec<Vec<Value>>, PayloadError> {
    match field(top, key) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::Array(fields) if fields.len() == arity => Ok(fields.clone()),
                _ => Err(PayloadError::WrongType {
                    field: name,
                    expected: "arrays of the documented length",
                }),
            })
            .collect(),
        Some(_) => Err(PayloadError::WrongType {
            field: name,
            expected: "an array",
        }),
        None => Err(PayloadError::MissingField(name)),
    }
}

fn entry_kid(v: Option<&Value>) -> Result<KeyId, PayloadError> {
    match v {
        Some(Value::Bytes(b)) if b.len() == KID_LEN => {
            let mut kid = [0u8; KID_LEN];
            kid.copy_from_slice(b);
            Ok(KeyId::from_bytes(kid))
        }
        _ => Err(PayloadError::WrongType {
            field: "kid",
            expected: "a 4-byte byte string",
        }),
    }
}

fn entry_uint(v: Option<&Value>, name: &'static str) -> Result<u64, PayloadError> {
    v.and_then(crate::cbor::as_u64)
        .ok_or(PayloadError::WrongType {
            field: name,
            expected: "an unsigned integer",
        })
}

fn entry_date(v: Option<&Value>, name: &'static str) -> Result<Date, PayloadError> {
    crate::cbor::date(entry_uint(v, name)?, name)
}

fn entry_reason(v: Option<&Value>) -> Result<Reason, PayloadError> {
    Reason::from_code(entry_uint(v, "reason")?).ok_or(PayloadError::InvalidValue {
        field: "reason",
        reason: "unknown reason",
    })
}

/// [`RevocationSnapshot::add`] for a decoded entry: a serial, lot or key listed
/// twice for one kid is refused, not dropped, so that the snapshot re-encodes to
/// the signed bytes and no reader has to choose between the two entries.
fn add_once(
    s: &mut RevocationSnapshot,
    kid: KeyId,
    scope: Scope,
    reason: Reason,
    date: Date,
) -> Result<(), Error> {
    let before = s.entries.len();
    s.add(kid, scope, reason, date).map_err(|e| match e {
        Error::Field(FieldError::InvalidField { field, reason }) => {
            Error::Payload(PayloadError::InvalidValue { field, reason })
        }
        other => other,
    })?;
    if s.entries.len() == before {
        return Err(PayloadError::InvalidValue {
            field: "revocations",
            reason: "the same serial, lot or key listed twice for one key id",
        }
        .into());
    }
    Ok(())
}

fn decode(document: &[u8]) -> Result<RevocationSnapshot, Error> {
    let Value::Map(top) = parse_canonical(document)? else {
        return Err(PayloadError::NotAMap.into());
    };
    only_keys(&top, 5, "snapshot")?;
    let sequence = uint(&top, 0, "sequence")?;
    if sequence > MAX_SEQUENCE {
        return Err(PayloadError::SequenceOutOfRange { sequence }.into());
    }
    let mut s = RevocationSnapshot::new(sequence, uint(&top, 1, "issued")?);
    decode_lists(&top, &mut s)?;
    Ok(s)
}

/// Reads the lists at keys 2 to 5 of `top` into `s` (docs/FORMAT.md §15).
pub(crate) fn decode_lists(
    top: &[(Value, Value)],
    s: &mut RevocationSnapshot,
) -> Result<(), Error> {
    // Each entry's elements are read left to right (docs/FORMAT.md §15).
    for e in entries(top, 2, "serials", 4)? {
        let kid = entry_kid(e.first())?;
        let scope = Scope::Serial(entry_uint(e.get(1), "serial")?);
        add_once(
            s,
            kid,
            scope,
            entry_reason(e.get(2))?,
            entry_date(e.get(3), "date")?,
        )?;
    }
    for e in entries(top, 3, "ranges", 5)? {
        let kid = entry_kid(e.first())?;
        let scope = Scope::Range {
            first: entry_uint(e.get(1), "first")?,
            last: entry_uint(e.get(2), "last")?,
        };
        add_once(
            s,
            kid,
            scope,
            entry_reason(e.get(3))?,
            entry_date(e.get(4), "date")?,
        )?;
    }
    for e in entries(top, 4, "lots", 4)? {
        let kid = entry_kid(e.first())?;
        let lot = match e.get(1) {
            Some(Value::Text(t)) => t.clone(),
            _ => {
                return Err(PayloadError::WrongType {
                    field: "lot",
                    expected: "a text string",
                }
                .into());
            }
        };
        add_once(
            s,
            kid,
            Scope::Lot(lot),
            entry_reason(e.get(2))?,
            entry_date(e.get(3), "date")?,
        )?;
    }
    for e in entries(top, 5, "keys", 4)? {
        let kid = entry_kid(e.first())?;
        let scope = Scope::Key {
            from: entry_date(e.get(1), "from")?,
        };
        add_once(
            s,
            kid,
            scope,
            entry_reason(e.get(2))?,
            entry_date(e.get(3), "date")?,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
