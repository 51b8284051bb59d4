//! Aggregation manifests (docs/FORMAT.md §22): a packer's or assembler's signed
//! statement that a parent (a hallmark code, a GS1 unit or an SSCC) holds these
//! children (codes, GS1 units, or nested manifests by digest).
//!
//! A manifest embeds each child's own signed code, so a receiver verifies a
//! whole pallet offline from one file: the manifest's signature first (its
//! signer needs the `aggregation` usage), then every child by the single-code
//! rules. A signed list cannot prove the box still holds what it lists: pick
//! children for a physical spot check ([`AggregationSet::spot_check`]).

use std::collections::HashMap;

use ciborium::Value;

use crate::TrustStore;
use crate::cbor::{field, int, only_keys, parse_canonical, to_vec, uint};
use crate::error::{AggregationError, Error, PayloadError};
use crate::key::KeyId;
use crate::signed::{Domain, UnsignedDocument};

/// The tag an aggregation manifest's signature is made under.
pub const AGGREGATION_SIGNING_TAG: &[u8] = b"hallmark aggregation manifest v1\0";

/// Largest aggregation manifest accepted, in bytes (16 MiB: about 150,000
/// hallmark codes or 120,000 GS1 units).
pub const MAX_AGGREGATION_BYTES: usize = 16 << 20;

/// The BLAKE3 `derive_key` context of a manifest's digest, by which a parent
/// manifest names a nested one.
pub const AGGREGATION_DIGEST_CONTEXT: &str = "hallmark v1 aggregation manifest digest";

/// Longest `location` text, in bytes.
pub const MAX_LOCATION_LEN: usize = 128;

/// Deepest nesting [`AggregationSet`] follows (pallet → case → inner pack …).
pub const MAX_NESTING_DEPTH: usize = 8;

/// The business step the manifest records (CBV 2.0 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BizStep {
    /// Units packed into a case, cases onto a pallet (CBV `packing`).
    Packing,
    /// Components built into a unit (CBV `assembling`).
    Assembling,
}

impl BizStep {
    /// `packing` or `assembling`.
    pub const fn as_str(self) -> &'static str {
        match self {
            BizStep::Packing => "packing",
            BizStep::Assembling => "assembling",
        }
    }
}

impl core::str::FromStr for BizStep {
    type Err = Error;
    fn from_str(s: &str) -> Result<BizStep, Error> {
        match s {
            "packing" => Ok(BizStep::Packing),
            "assembling" => Ok(BizStep::Assembling),
            _ => Err(AggregationError::UnknownBizStep(s.chars().take(32).collect()).into()),
        }
    }
}

impl core::fmt::Display for BizStep {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a manifest's parent is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Parent {
    /// A hallmark code (format v1), binary.
    Code(Vec<u8>),
    /// A GS1 unit, as its element string (GS separators, no symbology id).
    Gs1(String),
    /// An SSCC: 18 digits with a valid check digit.
    Sscc(String),
}

/// One child of a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Child {
    /// A hallmark code (format v1), binary.
    Code(Vec<u8>),
    /// A GS1 unit, as its element string.
    Gs1(String),
    /// A nested manifest, by its digest ([`AggregationManifest::digest`]).
    Manifest([u8; 32]),
}

/// The identity of a unit, for duplicate and cycle checks and for a registry's
/// records: what makes two listings "the same unit".
///
/// Displays as `code:KID:SERIAL` (kid in hex, serial in decimal),
/// `gs1:GTIN:SERIAL` (GTIN-14) or `sscc:DIGITS`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum UnitId {
    /// A hallmark code: its key id and serial.
    Code {
        /// The key id the code names.
        kid: KeyId,
        /// Its serial.
        serial: u64,
    },
    /// A GS1 unit: GTIN-14 and serial (AI 21).
    Gs1 {
        /// The GTIN, 14 digits.
        gtin: String,
        /// The serial, AI 21.
        serial: String,
    },
    /// A logistic unit.
    Sscc(String),
}

impl core::fmt::Display for UnitId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            UnitId::Code { kid, serial } => write!(f, "code:{kid}:{serial}"),
            UnitId::Gs1 { gtin, serial } => write!(f, "gs1:{gtin}:{serial}"),
            UnitId::Sscc(s) => write!(f, "sscc:{s}"),
        }
    }
}

/// The parent or child kinds, as the document's CBOR numbers them.
const KIND_CODE: u64 = 0;
const KIND_GS1: u64 = 1;
const KIND_SSCC: u64 = 2;
const KIND_MANIFEST: u64 = 3;

/// A hallmark code's identity from its binary form: its kid and its serial
/// (the payload's first field, key 0), read without decoding the rest. The
/// code is judged in full when the child is verified; this only has to name
/// the unit, cheaply enough for 100,000 children.
fn code_unit(bytes: &[u8]) -> Result<UnitId, Error> {
    let bad = |reason: &str| -> Error {
        AggregationError::BadChild {
            position: 0,
            reason: reason.to_owned(),
        }
        .into()
    };
    if bytes.len() < crate::MIN_CODE_BYTES || bytes.len() > crate::MAX_CODE_BYTES {
        return Err(bad("not the length of a hallmark code"));
    }
    let Some((&version, rest)) = bytes.split_first() else {
        return Err(bad("empty"));
    };
    if version != crate::VERSION {
        return Err(bad("not a format v1 code"));
    }
    let (kid, payload) = rest
        .split_at_checked(crate::KID_LEN)
        .ok_or_else(|| bad("truncated"))?;
    let kid = <[u8; crate::KID_LEN]>::try_from(kid).map_err(|_| bad("truncated"))?;
    // A definite-length map whose first key is 0, then the serial: an
    // unsigned integer in its shortest form (section 4.1).
    let serial = match payload {
        [map, 0x00, head, tail @ ..] if map >> 5 == 5 && head >> 5 == 0 => {
            let n = usize::from(head & 0x1f);
            match n {
                0..=23 => Some(u64::from(n as u8)),
                24..=27 => {
                    let len = 1usize << (n - 24);
                    tail.get(..len)
                        .map(|b| b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x)))
                }
                _ => None,
            }
        }
        _ => None,
    };
    let serial = serial.ok_or_else(|| bad("its payload does not start with a serial (key 0)"))?;
    Ok(UnitId::Code {
        kid: KeyId::from_bytes(kid),
        serial,
    })
}

/// The full decode, for a parent: one code, so it is checked whole.
fn decoded_code_unit(bytes: &[u8]) -> Result<UnitId, Error> {
    let code = crate::UnverifiedCode::from_bytes(bytes)?;
    Ok(UnitId::Code {
        kid: code.kid(),
        serial: code.payload().serial(),
    })
}

/// A GS1 unit's identity: GTIN (AI 01) and serial (AI 21), both required.
fn gs1_unit(element_string: &str) -> Result<UnitId, Error> {
    let data = crate::gs1::Gs1Data::from_element_string(element_string)?;
    gs1_data_unit(&data)
}

fn gs1_data_unit(data: &crate::gs1::Gs1Data) -> Result<UnitId, Error> {
    match (data.get("01"), data.get("21")) {
        (Some(gtin), Some(serial)) => Ok(UnitId::Gs1 {
            gtin: gtin.to_owned(),
            serial: serial.to_owned(),
        }),
        _ => Err(AggregationError::BadChild {
            position: 0,
            reason: "a GS1 unit needs a GTIN (AI 01) and a serial (AI 21)".to_owned(),
        }
        .into()),
    }
}

/// Checks an SSCC: 18 ASCII digits whose last is the GS1 mod-10 check digit.
pub fn check_sscc(sscc: &str) -> Result<(), Error> {
    let invalid = |reason| AggregationError::InvalidSscc {
        sscc: sscc.chars().take(32).collect(),
        reason,
    };
    if sscc.len() != 18 || !sscc.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("an SSCC is 18 digits").into());
    }
    match sscc.as_bytes().split_last() {
        Some((&last, body)) if last - b'0' == crate::gs1::check_digit(body) => Ok(()),
        _ => Err(invalid("wrong check digit (the 18th digit)").into()),
    }
}

/// Reads a code or GS1 unit as scanned: `(kind, value)`.
fn unit_from_scan(input: &str) -> Result<(u64, Vec<u8>, String), Error> {
    if crate::gs1::is_gs1_input(input) {
        let data = crate::gs1::Gs1Data::parse(input)?;
        gs1_data_unit(&data)?;
        let s = data.to_element_string(crate::gs1::Separator::Gs);
        return Ok((KIND_GS1, Vec::new(), s));
    }
    let code = crate::UnverifiedCode::decode(input)?;
    Ok((KIND_CODE, code.to_bytes(), String::new()))
}

impl Parent {
    /// Reads a parent as the CLI and the service take it: a hallmark code in
    /// any accepted form, a GS1 unit in any accepted GS1 form, or
    /// `sscc:` followed by 18 digits (check digit verified).
    ///
    /// ```
    /// use hallmark::aggregation::Parent;
    /// assert!(Parent::from_scan("sscc:106141411234567897").is_ok());
    /// assert_eq!(
    ///     Parent::from_scan("sscc:106141411234567890").unwrap_err().kind(),
    ///     "invalid-sscc"
    /// );
    /// ```
    pub fn from_scan(input: &str) -> Result<Parent, Error> {
        let input = input.trim();
        if let Some(digits) = input.strip_prefix("sscc:") {
            check_sscc(digits)?;
            return Ok(Parent::Sscc(digits.to_owned()));
        }
        match unit_from_scan(input)? {
            (KIND_GS1, _, s) => Ok(Parent::Gs1(s)),
            (_, bytes, _) => Ok(Parent::Code(bytes)),
        }
    }

    /// The parent's unit identity.
    pub fn unit(&self) -> Result<UnitId, Error> {
        let bad = |e: Error| -> Error {
            AggregationError::BadParent {
                reason: e.to_string(),
            }
            .into()
        };
        match self {
            Parent::Code(bytes) => decoded_code_unit(bytes).map_err(bad),
            Parent::Gs1(s) => gs1_unit(s).map_err(bad),
            Parent::Sscc(s) => {
                check_sscc(s)?;
                Ok(UnitId::Sscc(s.clone()))
            }
        }
    }

    /// The text a verifier judges for this parent (`None` for an SSCC, which
    /// carries no signature).
    pub fn scan_text(&self) -> Option<String> {
        match self {
            Parent::Code(bytes) => code_text(bytes),
            Parent::Gs1(s) => Some(format!("]d2{s}")),
            Parent::Sscc(_) => None,
        }
    }
}

/// The text form of a code's bytes (decoded again, in full, when verified).
fn code_text(bytes: &[u8]) -> Option<String> {
    Some(crate::text::encode(bytes))
}

impl Child {
    /// Reads a child unit as the CLI takes it: a hallmark code or a GS1 unit
    /// in any accepted form (nested manifests are added by digest).
    pub fn from_scan(input: &str) -> Result<Child, Error> {
        match unit_from_scan(input.trim())? {
            (KIND_GS1, _, s) => Ok(Child::Gs1(s)),
            (_, bytes, _) => Ok(Child::Code(bytes)),
        }
    }

    /// The text a verifier judges for this child: a code's canonical text, a
    /// GS1 unit's element string (with the `]d2` symbology id); `None` for a
    /// nested manifest.
    pub fn scan_text(&self) -> Option<String> {
        match self {
            Child::Code(bytes) => code_text(bytes),
            Child::Gs1(s) => Some(format!("]d2{s}")),
            Child::Manifest(_) => None,
        }
    }

    /// The child's unit identity; `None` for a nested manifest.
    pub fn unit(&self) -> Result<Option<UnitId>, Error> {
        match self {
            Child::Code(bytes) => code_unit(bytes).map(Some),
            Child::Gs1(s) => gs1_unit(s).map(Some),
            Child::Manifest(_) => Ok(None),
        }
    }

    /// What makes two listings the same: the unit, or the digest.
    fn identity(&self) -> Result<Identity, Error> {
        Ok(match self {
            Child::Code(bytes) => Identity::Unit(code_unit(bytes)?),
            Child::Gs1(s) => Identity::Unit(gs1_unit(s)?),
            Child::Manifest(d) => Identity::Manifest(*d),
        })
    }
}

/// A listing's identity, for duplicate checks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Identity {
    Unit(UnitId),
    Manifest([u8; 32]),
}

impl core::fmt::Display for Identity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Identity::Unit(u) => u.fmt(f),
            Identity::Manifest(d) => write!(f, "manifest:{}", hex::encode(d)),
        }
    }
}

/// An aggregation manifest: which children one parent holds, when, where and
/// by which business step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregationManifest {
    /// The signing key.
    pub kid: KeyId,
    /// What holds the children.
    pub parent: Parent,
    /// What it holds, in the packer's order.
    pub children: Vec<Child>,
    /// When, seconds since 1970-01-01 UTC.
    pub time: u64,
    /// Packing or assembling.
    pub bizstep: BizStep,
    /// Where (free text, at most [`MAX_LOCATION_LEN`] bytes), if given.
    pub location: Option<String>,
}

/// Checks a location text.
pub fn check_location(location: &str) -> Result<(), Error> {
    let invalid = |reason| Error::from(AggregationError::InvalidLocation { reason });
    if location.trim().is_empty() {
        return Err(invalid("empty"));
    }
    if location.len() > MAX_LOCATION_LEN {
        return Err(invalid("longer than 128 bytes"));
    }
    if location.trim() != location {
        return Err(invalid("leading or trailing white space"));
    }
    if location
        .chars()
        .any(|c| c.is_control() || is_bidi_control(c))
    {
        return Err(invalid("control characters"));
    }
    Ok(())
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl AggregationManifest {
    /// Checks the rules a manifest must keep (at least one child, none
    /// listed twice, none equal to the parent, each well-formed, a valid
    /// location): what [`AggregationManifest::verify`] also checks.
    pub fn check(&self) -> Result<(), Error> {
        if self.children.is_empty() {
            return Err(AggregationError::Empty.into());
        }
        if let Some(l) = &self.location {
            check_location(l)?;
        }
        let parent = Identity::Unit(self.parent.unit()?);
        let mut seen: HashMap<Identity, u64> = HashMap::with_capacity(self.children.len());
        for (i, child) in self.children.iter().enumerate() {
            let position = i as u64 + 1;
            let id = child.identity().map_err(|e| AggregationError::BadChild {
                position,
                reason: match e {
                    Error::Aggregation(AggregationError::BadChild { reason, .. }) => reason,
                    e => e.to_string(),
                },
            })?;
            if id == parent {
                return Err(AggregationError::ChildIsParent {
                    position,
                    unit: id.to_string(),
                }
                .into());
            }
            if let Some(first) = seen.get(&id) {
                return Err(AggregationError::DuplicateChild {
                    position,
                    first: *first,
                    unit: id.to_string(),
                }
                .into());
            }
            seen.insert(id, position);
        }
        Ok(())
    }

    fn document(&self) -> Vec<u8> {
        let unit = |kind: u64, value: Value| Value::Array(vec![int(kind), value]);
        let parent = match &self.parent {
            Parent::Code(b) => unit(KIND_CODE, Value::Bytes(b.clone())),
            Parent::Gs1(s) => unit(KIND_GS1, Value::Text(s.clone())),
            Parent::Sscc(s) => unit(KIND_SSCC, Value::Text(s.clone())),
        };
        let children = self
            .children
            .iter()
            .map(|c| match c {
                Child::Code(b) => unit(KIND_CODE, Value::Bytes(b.clone())),
                Child::Gs1(s) => unit(KIND_GS1, Value::Text(s.clone())),
                Child::Manifest(d) => unit(KIND_MANIFEST, Value::Bytes(d.to_vec())),
            })
            .collect();
        let mut top = vec![
            (int(0), parent),
            (int(1), Value::Array(children)),
            (int(2), int(self.children.len() as u64)),
            (int(3), int(self.time)),
            (
                int(4),
                int(match self.bizstep {
                    BizStep::Packing => 0,
                    BizStep::Assembling => 1,
                }),
            ),
        ];
        if let Some(l) = &self.location {
            top.push((int(5), Value::Text(l.clone())));
        }
        to_vec(&Value::Map(top))
    }

    /// The manifest framed for its key, ready to be signed (after [`check`](Self::check)).
    pub fn to_unsigned(&self) -> Result<UnsignedDocument, Error> {
        self.check()?;
        let document = self.document();
        let framed = 1 + crate::KID_LEN + document.len() + crate::SIGNATURE_LEN;
        if framed > MAX_AGGREGATION_BYTES {
            return Err(crate::DecodeError::TooLong {
                document: crate::Document::AggregationManifest,
                len: framed,
                max: MAX_AGGREGATION_BYTES,
            }
            .into());
        }
        Ok(UnsignedDocument::new(
            Domain::Aggregation,
            self.kid,
            &document,
        ))
    }

    /// Parses a signed manifest and verifies it with the trusted key its kid
    /// names (which needs the `aggregation` usage), then checks its rules.
    pub fn verify(bytes: &[u8], trust: &TrustStore) -> Result<AggregationManifest, Error> {
        let (key, document) =
            crate::signed::open(bytes, Domain::Aggregation, MAX_AGGREGATION_BYTES, trust)?;
        TrustStore::check_usage(
            key,
            crate::Usage::AGGREGATION,
            crate::Document::AggregationManifest,
        )?;
        let manifest = decode_document(key.kid(), document)?;
        manifest.check()?;
        Ok(manifest)
    }

    /// Parses a signed manifest **without** checking its signature (for
    /// `inspect` and for a signer checking a nested manifest for cycles).
    pub fn decode_unverified(bytes: &[u8]) -> Result<AggregationManifest, Error> {
        let framed = crate::signed::frame(bytes, Domain::Aggregation, MAX_AGGREGATION_BYTES)?;
        let manifest = decode_document(framed.kid, framed.body)?;
        manifest.check()?;
        Ok(manifest)
    }

    /// The digest by which a parent manifest names this signed manifest:
    /// BLAKE3 `derive_key(AGGREGATION_DIGEST_CONTEXT, bytes)`.
    pub fn digest(bytes: &[u8]) -> [u8; 32] {
        blake3::derive_key(AGGREGATION_DIGEST_CONTEXT, bytes)
    }
}

fn decode_unit<'v>(value: &'v Value, what: &'static str) -> Result<(u64, &'v Value), PayloadError> {
    match value {
        Value::Array(pair) => match pair.as_slice() {
            [kind, value] => match crate::cbor::as_u64(kind) {
                Some(k) => Ok((k, value)),
                None => Err(PayloadError::WrongType {
                    field: what,
                    expected: "[kind (uint), value]",
                }),
            },
            _ => Err(PayloadError::WrongType {
                field: what,
                expected: "[kind (uint), value]",
            }),
        },
        _ => Err(PayloadError::WrongType {
            field: what,
            expected: "[kind (uint), value]",
        }),
    }
}

fn bytes_of<'v>(value: &'v Value, what: &'static str) -> Result<&'v [u8], PayloadError> {
    match value {
        Value::Bytes(b) => Ok(b),
        _ => Err(PayloadError::WrongType {
            field: what,
            expected: "a byte string",
        }),
    }
}

fn text_of(value: &Value, what: &'static str) -> Result<String, PayloadError> {
    match value {
        Value::Text(s) => Ok(s.clone()),
        _ => Err(PayloadError::WrongType {
            field: what,
            expected: "a text string",
        }),
    }
}

fn decode_document(kid: KeyId, bytes: &[u8]) -> Result<AggregationManifest, Error> {
    let Value::Map(top) = parse_canonical(bytes).map_err(Error::Payload)? else {
        return Err(Error::Payload(PayloadError::NotAMap));
    };
    let p = |e: PayloadError| Error::Payload(e);
    only_keys(&top, 5, "aggregation").map_err(p)?;
    let parent = match field(&top, 0) {
        None => return Err(p(PayloadError::MissingField("parent"))),
        Some(v) => match decode_unit(v, "parent").map_err(p)? {
            (KIND_CODE, v) => Parent::Code(bytes_of(v, "parent").map_err(p)?.to_vec()),
            (KIND_GS1, v) => Parent::Gs1(text_of(v, "parent").map_err(p)?),
            (KIND_SSCC, v) => Parent::Sscc(text_of(v, "parent").map_err(p)?),
            _ => {
                return Err(p(PayloadError::InvalidValue {
                    field: "parent",
                    reason: "unknown kind (0 code, 1 GS1 unit, 2 SSCC)",
                }));
            }
        },
    };
    let Some(Value::Array(items)) = field(&top, 1) else {
        return Err(p(match field(&top, 1) {
            None => PayloadError::MissingField("children"),
            Some(_) => PayloadError::WrongType {
                field: "children",
                expected: "an array",
            },
        }));
    };
    let children = items
        .iter()
        .map(|item| match decode_unit(item, "child")? {
            (KIND_CODE, v) => Ok(Child::Code(bytes_of(v, "child")?.to_vec())),
            (KIND_GS1, v) => Ok(Child::Gs1(text_of(v, "child")?)),
            (KIND_MANIFEST, v) => {
                let d = bytes_of(v, "child")?;
                <[u8; 32]>::try_from(d).map(Child::Manifest).map_err(|_| {
                    PayloadError::InvalidValue {
                        field: "child",
                        reason: "a manifest digest is 32 bytes",
                    }
                })
            }
            _ => Err(PayloadError::InvalidValue {
                field: "child",
                reason: "unknown kind (0 code, 1 GS1 unit, 3 manifest digest)",
            }),
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(p)?;
    let count = uint(&top, 2, "count").map_err(p)?;
    if count != children.len() as u64 {
        return Err(AggregationError::CountMismatch {
            count,
            listed: children.len() as u64,
        }
        .into());
    }
    let time = uint(&top, 3, "time").map_err(p)?;
    let bizstep = match uint(&top, 4, "bizstep").map_err(p)? {
        0 => BizStep::Packing,
        1 => BizStep::Assembling,
        _ => {
            return Err(p(PayloadError::InvalidValue {
                field: "bizstep",
                reason: "0 packing or 1 assembling",
            }));
        }
    };
    let location = field(&top, 5)
        .map(|v| text_of(v, "location"))
        .transpose()
        .map_err(p)?;
    Ok(AggregationManifest {
        kid,
        parent,
        children,
        time,
        bizstep,
        location,
    })
}

/// One unit reached through a set of manifests: the child, and the chain of
/// manifests (by index into the set, root first) it was listed in.
#[derive(Clone, Debug)]
pub struct Leaf<'a> {
    /// The child (never a nested manifest).
    pub child: &'a Child,
    /// Index of the manifest that lists it.
    pub manifest: usize,
    /// Its position in that manifest's children (0-based).
    pub position: usize,
}

/// A root manifest and the nested manifests it names, verified and checked
/// together: no unit twice across the tree, no parent reached again below
/// itself (a cycle), every named manifest present, nesting at most
/// [`MAX_NESTING_DEPTH`].
#[derive(Clone, Debug)]
pub struct AggregationSet {
    /// The root first, then the nested manifests in the order given.
    root: AggregationManifest,
    nested: Vec<AggregationManifest>,
    /// Digests, in the same order (root first).
    digests: Vec<[u8; 32]>,
    /// `(manifest index, position)` of every leaf, depth first.
    leaves: Vec<(usize, usize)>,
}

impl AggregationSet {
    /// Verifies each signed manifest ([`AggregationManifest::verify`]) and
    /// checks them as one tree: exactly one root (named by no other), each
    /// nested digest present and named once, no cycle, no unit listed twice
    /// anywhere, nesting at most [`MAX_NESTING_DEPTH`] levels.
    pub fn verify(files: &[&[u8]], trust: &TrustStore) -> Result<AggregationSet, Error> {
        let mut manifests = Vec::with_capacity(files.len());
        let mut by_digest: HashMap<[u8; 32], usize> = HashMap::new();
        for (i, bytes) in files.iter().enumerate() {
            let digest = AggregationManifest::digest(bytes);
            if by_digest.insert(digest, i).is_some() {
                return Err(AggregationError::NotOneTree {
                    reason: format!("manifest {} is given twice", hex::encode(digest)),
                }
                .into());
            }
            manifests.push((digest, AggregationManifest::verify(bytes, trust)?));
        }
        // Which manifest names which: each nested one named exactly once.
        let mut named_by: HashMap<[u8; 32], usize> = HashMap::new();
        for (i, (_, m)) in manifests.iter().enumerate() {
            for child in &m.children {
                if let Child::Manifest(d) = child {
                    if !by_digest.contains_key(d) {
                        return Err(AggregationError::MissingNested {
                            digest: hex::encode(d),
                        }
                        .into());
                    }
                    if named_by.insert(*d, i).is_some() {
                        return Err(AggregationError::NotOneTree {
                            reason: format!(
                                "nested manifest {} is named by two parents",
                                hex::encode(d)
                            ),
                        }
                        .into());
                    }
                }
            }
        }
        let roots: Vec<usize> = (0..manifests.len())
            .filter(|i| {
                manifests
                    .get(*i)
                    .is_some_and(|(d, _)| !named_by.contains_key(d))
            })
            .collect();
        let root = match roots.as_slice() {
            [r] => *r,
            [] => {
                return Err(AggregationError::NotOneTree {
                    reason: if manifests.is_empty() {
                        "no manifest given".to_owned()
                    } else {
                        "every manifest is named by another (a cycle)".to_owned()
                    },
                }
                .into());
            }
            _ => {
                return Err(AggregationError::NotOneTree {
                    reason: format!(
                        "{} manifests are named by no other: give one pallet's manifests at a time",
                        roots.len()
                    ),
                }
                .into());
            }
        };
        // Root first, the others in the order given.
        let root_entry = manifests.remove(root);
        manifests.insert(0, root_entry);
        let index: HashMap<[u8; 32], usize> = manifests
            .iter()
            .enumerate()
            .map(|(i, (d, _))| (*d, i))
            .collect();
        let leaves = walk(&manifests, &index)?;
        let digests = manifests.iter().map(|(d, _)| *d).collect();
        let mut all = manifests.into_iter().map(|(_, m)| m);
        let Some(root) = all.next() else {
            return Err(AggregationError::NotOneTree {
                reason: "no manifest given".to_owned(),
            }
            .into());
        };
        Ok(AggregationSet {
            root,
            nested: all.collect(),
            digests,
            leaves,
        })
    }

    /// The root manifest.
    pub fn root(&self) -> &AggregationManifest {
        &self.root
    }

    /// Manifest `i` (0 is the root, then the nested ones in the order given).
    pub fn manifest(&self, i: usize) -> Option<&AggregationManifest> {
        match i.checked_sub(1) {
            None => Some(&self.root),
            Some(j) => self.nested.get(j),
        }
    }

    /// How many manifests the set holds.
    pub fn len(&self) -> usize {
        1 + self.nested.len()
    }

    /// Never: a set holds at least its root.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The digest of manifest `i`.
    pub fn digest(&self, i: usize) -> Option<&[u8; 32]> {
        self.digests.get(i)
    }

    /// The units of the tree: the root's units in listed order, then each
    /// nested manifest's, depth first in listed order.
    pub fn leaves(&self) -> impl Iterator<Item = Leaf<'_>> {
        self.leaves.iter().filter_map(|&(manifest, position)| {
            let child = self.manifest(manifest)?.children.get(position)?;
            Some(Leaf {
                child,
                manifest,
                position,
            })
        })
    }

    /// How many units the tree holds.
    pub fn leaf_count(&self) -> usize {
        self.leaves.len()
    }

    /// `k` distinct leaf indexes (0-based, in [`leaves`](Self::leaves)
    /// order; all of them when `k` ≥ the count) chosen uniformly from
    /// `seed`, sorted. The caller supplies fresh randomness: a packer who
    /// could predict the choice would know which units to leave in the box.
    pub fn spot_check(&self, k: usize, seed: [u8; 32]) -> Vec<usize> {
        choose(self.leaf_count(), k, seed)
    }
}

/// Depth-first walk from the root (index 0): the leaves in order, refusing
/// cycles, units listed twice across the tree and nesting past the limit.
fn walk(
    manifests: &[([u8; 32], AggregationManifest)],
    index: &HashMap<[u8; 32], usize>,
) -> Result<Vec<(usize, usize)>, Error> {
    // Where each unit was met: "the parent of manifest i" or "child p of i".
    let mut seen: HashMap<UnitId, u64> = HashMap::new();
    let mut leaves = Vec::new();
    let mut reached = vec![false; manifests.len()];
    // (manifest, depth, ancestors' parent units)
    let mut stack: Vec<(usize, usize, Vec<UnitId>)> = vec![(0, 1, Vec::new())];
    while let Some((i, depth, mut ancestors)) = stack.pop() {
        if depth > MAX_NESTING_DEPTH {
            return Err(AggregationError::TooDeep {
                max: MAX_NESTING_DEPTH,
            }
            .into());
        }
        let Some((_, m)) = manifests.get(i) else {
            continue;
        };
        if let Some(r) = reached.get_mut(i) {
            *r = true;
        }
        let parent = m.parent.unit()?;
        if ancestors.contains(&parent) {
            return Err(AggregationError::Cycle {
                unit: parent.to_string(),
            }
            .into());
        }
        if seen.insert(parent.clone(), 0).is_some() {
            return Err(AggregationError::Cycle {
                unit: parent.to_string(),
            }
            .into());
        }
        ancestors.push(parent);
        // Nested manifests are pushed in reverse so they pop in listed order;
        // leaves and nested subtrees interleave in listed order by visiting
        // each nested manifest where it is listed.
        let mut nested = Vec::new();
        for (position, child) in m.children.iter().enumerate() {
            match child {
                Child::Manifest(d) => {
                    if let Some(&j) = index.get(d) {
                        nested.push(j);
                    }
                }
                _ => {
                    let Some(unit) = child.unit()? else { continue };
                    if ancestors.contains(&unit) {
                        return Err(AggregationError::Cycle {
                            unit: unit.to_string(),
                        }
                        .into());
                    }
                    if let Some(first) = seen.insert(unit.clone(), position as u64 + 1) {
                        return Err(AggregationError::DuplicateChild {
                            position: position as u64 + 1,
                            first,
                            unit: unit.to_string(),
                        }
                        .into());
                    }
                    leaves.push((i, position));
                }
            }
        }
        for j in nested.into_iter().rev() {
            stack.push((j, depth + 1, ancestors.clone()));
        }
    }
    if reached.iter().any(|r| !r) {
        return Err(AggregationError::NotOneTree {
            reason: "some manifests are not reached from the root".to_owned(),
        }
        .into());
    }
    Ok(leaves)
}

/// `k` distinct indexes below `n`, uniformly (Floyd's algorithm), from a
/// BLAKE3 keyed stream of `seed`; sorted.
fn choose(n: usize, k: usize, seed: [u8; 32]) -> Vec<usize> {
    let n64 = n as u64;
    let k64 = (k as u64).min(n64);
    let mut counter = 0u64;
    let mut below = |bound: u64| -> u64 {
        // Rejection sampling: uniform in 0..bound (bound ≥ 1).
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let block = blake3::keyed_hash(&seed, &counter.to_le_bytes());
            counter += 1;
            let mut word = [0u8; 8];
            word.copy_from_slice(block.as_bytes().get(..8).unwrap_or(&[0; 8]));
            let x = u64::from_le_bytes(word);
            if x < zone {
                return x % bound;
            }
        }
    };
    let mut chosen = std::collections::BTreeSet::new();
    for j in (n64 - k64)..n64 {
        let t = below(j + 1);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen.into_iter().map(|x| x as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{Key, cert, certify, payload, roots};
    use crate::{UnverifiedCode, Usage};

    fn plain(key: &Key) -> TrustStore {
        let mut t = TrustStore::new();
        t.add(crate::TrustedKey::new("line", key.public(), None, None).unwrap())
            .unwrap();
        t
    }

    fn code(key: &Key, serial: u64) -> Child {
        Child::from_scan(&key.code(&payload(serial))).unwrap()
    }

    fn manifest(key: &Key, parent: Parent, children: Vec<Child>) -> AggregationManifest {
        AggregationManifest {
            kid: key.kid(),
            parent,
            children,
            time: 1_780_000_000,
            bizstep: BizStep::Packing,
            location: Some("Plant 1, dock 4".into()),
        }
    }

    fn sign(key: &Key, m: &AggregationManifest) -> Vec<u8> {
        key.sign(m.to_unsigned().unwrap())
    }

    fn sscc() -> Parent {
        Parent::from_scan("sscc:106141411234567897").unwrap()
    }

    #[test]
    fn round_trips_and_any_altered_byte_is_refused() {
        let key = Key::new(7);
        let trust = plain(&key);
        let m = manifest(&key, sscc(), (1..=3).map(|s| code(&key, s)).collect());
        let bytes = sign(&key, &m);
        assert_eq!(AggregationManifest::verify(&bytes, &trust).unwrap(), m);
        assert_eq!(AggregationManifest::decode_unverified(&bytes).unwrap(), m);
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut altered = bytes.clone();
                altered[i] ^= bit;
                assert!(
                    AggregationManifest::verify(&altered, &trust).is_err(),
                    "byte {i} bit {bit:#x} altered and still verified"
                );
            }
        }
    }

    #[test]
    fn the_signer_needs_the_aggregation_usage() {
        let (root, line) = (Key::new(1), Key::new(2));
        let m = manifest(&line, sscc(), vec![code(&line, 1)]);
        let bytes = sign(&line, &m);
        let mut without = roots(&root);
        without
            .add_certificate(&certify(&root, &cert(&line, "line", Usage::CODES)))
            .unwrap();
        let e = AggregationManifest::verify(&bytes, &without).unwrap_err();
        assert_eq!(e.kind(), "key-usage");
        let mut with = roots(&root);
        with.add_certificate(&certify(
            &root,
            &cert(&line, "line", Usage::CODES.union(Usage::AGGREGATION)),
        ))
        .unwrap();
        assert!(AggregationManifest::verify(&bytes, &with).is_ok());
        // A root never signs one; a revocation signer neither.
        let by_root = sign(&root, &manifest(&root, sscc(), vec![code(&line, 1)]));
        assert_eq!(
            AggregationManifest::verify(&by_root, &with)
                .unwrap_err()
                .kind(),
            "root-key"
        );
        let mut revoker = TrustStore::new();
        revoker
            .add(
                crate::TrustedKey::new("r", line.public(), None, None)
                    .unwrap()
                    .with_revocation_signer(true),
            )
            .unwrap();
        assert_eq!(
            AggregationManifest::verify(&bytes, &revoker)
                .unwrap_err()
                .kind(),
            "key-usage"
        );
        // Another domain's signature over the same body does not pass.
        let body = m.document();
        let as_manifest = line.sign_raw(Domain::BatchManifest, line.kid(), &body);
        assert_eq!(
            AggregationManifest::verify(&as_manifest, &plain(&line))
                .unwrap_err()
                .kind(),
            "bad-signature"
        );
    }

    #[test]
    fn rules_refused_when_signing_and_when_verifying() {
        let key = Key::new(7);
        let trust = plain(&key);
        let kinds = |m: AggregationManifest| {
            let signing = m.to_unsigned().unwrap_err().kind();
            let raw = key.sign_raw(Domain::Aggregation, key.kid(), &m.document());
            let verifying = AggregationManifest::verify(&raw, &trust)
                .unwrap_err()
                .kind();
            assert_eq!(signing, verifying);
            signing
        };
        assert_eq!(kinds(manifest(&key, sscc(), vec![])), "empty-aggregation");
        assert_eq!(
            kinds(manifest(&key, sscc(), vec![code(&key, 1), code(&key, 1)])),
            "duplicate-child"
        );
        // Same serial, other bytes (a forgery of a listed unit): still the same unit.
        let forged = Child::from_scan(&key.forged_code(&payload(1))).unwrap();
        assert_eq!(
            kinds(manifest(&key, sscc(), vec![code(&key, 1), forged])),
            "duplicate-child"
        );
        let parent = Parent::from_scan(&key.code(&payload(9))).unwrap();
        assert_eq!(
            kinds(manifest(&key, parent, vec![code(&key, 1), code(&key, 9)])),
            "child-is-parent"
        );
        let mut m = manifest(&key, sscc(), vec![code(&key, 1)]);
        m.location = Some("a\u{202e}b".into());
        assert_eq!(kinds(m), "invalid-location");
        let mut m = manifest(&key, sscc(), vec![code(&key, 1)]);
        m.parent = Parent::Sscc("106141411234567890".into());
        assert_eq!(kinds(m), "invalid-sscc");
        let mut m = manifest(&key, sscc(), vec![code(&key, 1)]);
        m.children.push(Child::Code(vec![1, 2, 3]));
        assert_eq!(kinds(m), "bad-child");
    }

    #[test]
    fn a_count_that_disagrees_is_refused() {
        let key = Key::new(7);
        let m = manifest(&key, sscc(), vec![code(&key, 1), code(&key, 2)]);
        let mut body = m.document();
        // The count (key 2) is the byte after the children array: 0x02 0x02.
        let at = body
            .windows(2)
            .rposition(|w| w == [0x02, 0x02])
            .expect("count field");
        body[at + 1] = 0x03;
        let raw = key.sign_raw(Domain::Aggregation, key.kid(), &body);
        let e = AggregationManifest::verify(&raw, &plain(&key)).unwrap_err();
        assert_eq!(e.kind(), "count-mismatch");
    }

    #[test]
    fn nested_sets_verify_as_one_tree() {
        let key = Key::new(7);
        let trust = plain(&key);
        let case = |first: u64, n: u64, parent: &str| {
            sign(
                &key,
                &manifest(
                    &key,
                    Parent::from_scan(parent).unwrap(),
                    (first..first + n).map(|s| code(&key, s)).collect(),
                ),
            )
        };
        let c1 = case(1, 3, "sscc:106141411234567897");
        let c2 = case(10, 2, "sscc:006141411234567890");
        let pallet_of = |children: &[&Vec<u8>], parent: &str| {
            sign(
                &key,
                &manifest(
                    &key,
                    Parent::from_scan(parent).unwrap(),
                    children
                        .iter()
                        .map(|b| Child::Manifest(AggregationManifest::digest(b)))
                        .collect(),
                ),
            )
        };
        let pallet = pallet_of(&[&c1, &c2], "sscc:000000000000000000");
        let set = AggregationSet::verify(&[&c2, &pallet, &c1], &trust).unwrap();
        assert_eq!(set.leaf_count(), 5);
        assert!(matches!(set.root().parent, Parent::Sscc(ref s) if s == "000000000000000000"));
        let serials: Vec<u64> = set
            .leaves()
            .map(|l| match l.child.unit().unwrap() {
                Some(UnitId::Code { serial, .. }) => serial,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(serials, [1, 2, 3, 10, 11]);
        // A nested manifest missing, two roots, one given twice.
        let kind = |files: &[&[u8]]| AggregationSet::verify(files, &trust).unwrap_err().kind();
        assert_eq!(kind(&[&pallet, &c1]), "missing-nested-manifest");
        assert_eq!(kind(&[&c1, &c2]), "not-one-tree");
        assert_eq!(kind(&[&pallet, &c1, &c2, &c1]), "not-one-tree");
        // A unit in two cases.
        let c3 = case(3, 2, "sscc:006141411234567890");
        let p2 = pallet_of(&[&c1, &c3], "sscc:000000000000000000");
        assert_eq!(kind(&[&p2, &c1, &c3]), "duplicate-child");
        // A case whose parent is the pallet's parent: a cycle.
        let c4 = case(20, 1, "sscc:000000000000000000");
        let p3 = pallet_of(&[&c1, &c4], "sscc:000000000000000000");
        assert_eq!(kind(&[&p3, &c1, &c4]), "aggregation-cycle");
    }

    #[test]
    fn spot_checks_are_distinct_uniform_and_bounded() {
        assert_eq!(choose(10, 20, [1; 32]), (0..10).collect::<Vec<_>>());
        assert!(choose(0, 5, [1; 32]).is_empty());
        let mut hits = [0u32; 10];
        for s in 0..2000u32 {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&s.to_le_bytes());
            let c = choose(10, 3, seed);
            assert_eq!(c.len(), 3);
            assert!(c.windows(2).all(|w| w[0] < w[1]));
            for i in c {
                hits[i] += 1;
            }
        }
        // Each index is picked 3/10 of the time: 600 of 2000, give or take.
        assert!(hits.iter().all(|&h| (480..720).contains(&h)), "{hits:?}");
    }

    #[test]
    fn units_have_one_identity_whatever_the_form() {
        let key = Key::new(7);
        let text = key.code(&payload(5));
        let a = Child::from_scan(&text).unwrap();
        let b = Child::from_scan(&text.to_lowercase()).unwrap();
        assert_eq!(a.unit().unwrap(), b.unit().unwrap());
        assert_eq!(
            a.unit().unwrap().unwrap().to_string(),
            format!("code:{}:5", key.kid())
        );
        let scanned = a.scan_text().unwrap();
        assert_eq!(
            UnverifiedCode::decode(&scanned).unwrap().payload().serial(),
            5
        );
        let g = Child::from_scan("(01)09506000134352(21)ABC123").unwrap();
        assert_eq!(
            g.unit().unwrap().unwrap().to_string(),
            "gs1:09506000134352:ABC123"
        );
        assert!(Child::from_scan("(01)09506000134352(10)LOT").is_err());
        assert_eq!("packing".parse::<BizStep>().unwrap(), BizStep::Packing);
        assert_eq!(
            "shipping".parse::<BizStep>().unwrap_err().kind(),
            "unknown-bizstep"
        );
    }
}
