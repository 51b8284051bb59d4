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

use crate::TrustStore;
use crate::error::{AggregationError, Error};
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

impl Parent {
    /// Reads a parent as the CLI and the service take it: a hallmark code in
    /// any accepted form, a GS1 unit in any accepted GS1 form, or
    /// `sscc:` followed by 18 digits (check digit verified).
    pub fn from_scan(input: &str) -> Result<Parent, Error> {
        let _ = input;
        todo!()
    }

    /// The parent's unit identity.
    pub fn unit(&self) -> Result<UnitId, Error> {
        todo!()
    }
}

impl Child {
    /// Reads a child unit as the CLI takes it: a hallmark code or a GS1 unit
    /// in any accepted form (nested manifests are added by digest).
    pub fn from_scan(input: &str) -> Result<Child, Error> {
        let _ = input;
        todo!()
    }

    /// The text a verifier judges for this child: a code's canonical text, a
    /// GS1 unit's element string; `None` for a nested manifest.
    pub fn scan_text(&self) -> Option<String> {
        todo!()
    }

    /// The child's unit identity; `None` for a nested manifest.
    pub fn unit(&self) -> Result<Option<UnitId>, Error> {
        todo!()
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

impl AggregationManifest {
    /// Checks the rules a manifest must keep (at least one child, none
    /// listed twice, none equal to the parent, each well-formed, a valid
    /// location): what [`AggregationManifest::verify`] also checks.
    pub fn check(&self) -> Result<(), Error> {
        todo!()
    }

    /// The manifest framed for its key, ready to be signed (after [`check`](Self::check)).
    pub fn to_unsigned(&self) -> Result<UnsignedDocument, Error> {
        self.check()?;
        let _ = (Domain::Aggregation, self.kid);
        todo!()
    }

    /// Parses a signed manifest and verifies it with the trusted key its kid
    /// names (which needs the `aggregation` usage), then checks its rules.
    pub fn verify(bytes: &[u8], trust: &TrustStore) -> Result<AggregationManifest, Error> {
        let _ = (bytes, trust);
        todo!()
    }

    /// Parses a signed manifest **without** checking its signature (for
    /// `inspect` and for a signer checking a nested manifest for cycles).
    pub fn decode_unverified(bytes: &[u8]) -> Result<AggregationManifest, Error> {
        let _ = bytes;
        todo!()
    }

    /// The digest by which a parent manifest names this signed manifest:
    /// BLAKE3 `derive_key(AGGREGATION_DIGEST_CONTEXT, bytes)`.
    pub fn digest(bytes: &[u8]) -> [u8; 32] {
        blake3::derive_key(AGGREGATION_DIGEST_CONTEXT, bytes)
    }
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
    manifests: Vec<AggregationManifest>,
    digests: Vec<[u8; 32]>,
    root: usize,
    by_digest: HashMap<[u8; 32], usize>,
}

impl AggregationSet {
    /// Verifies each signed manifest ([`AggregationManifest::verify`]) and
    /// checks them as one tree: exactly one root (named by no other), each
    /// nested digest present once, no cycle, no unit listed twice anywhere.
    pub fn verify(files: &[&[u8]], trust: &TrustStore) -> Result<AggregationSet, Error> {
        let _ = (files, trust);
        todo!()
    }

    /// The root manifest.
    pub fn root(&self) -> &AggregationManifest {
        &self.manifests[self.root]
    }

    /// Every manifest, in the order given.
    pub fn manifests(&self) -> &[AggregationManifest] {
        &self.manifests
    }

    /// The digest of manifest `i`.
    pub fn digest(&self, i: usize) -> Option<&[u8; 32]> {
        self.digests.get(i)
    }

    /// The units of the tree, depth first in listed order (nested manifests
    /// expanded in place).
    pub fn leaves(&self) -> impl Iterator<Item = Leaf<'_>> {
        let _ = &self.by_digest;
        core::iter::empty()
    }

    /// How many units the tree holds.
    pub fn leaf_count(&self) -> usize {
        todo!()
    }

    /// `k` distinct leaf positions (0-based, in [`leaves`](Self::leaves)
    /// order) chosen uniformly from `seed` (the caller supplies fresh
    /// randomness), sorted.
    pub fn spot_check(&self, k: usize, seed: [u8; 32]) -> Vec<usize> {
        let _ = (k, seed);
        todo!()
    }
}
