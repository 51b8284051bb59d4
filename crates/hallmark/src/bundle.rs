//! Signed trust bundles: everything an offline verifier needs beyond its
//! root keys, in one file a registry signs daily (docs/FORMAT.md §19): the
//! line certificates, the batch manifests with their registry receipts, the
//! revocations, and the keys compromised with the time of compromise.
//!
//! A code of a key compromised at T is genuine only if its serial lies in a
//! batch whose receipt says it was registered before T, with the code's part,
//! lot, date and expiry. Membership is exact (no probabilistic filter: anyone
//! holding the leaked key could grind serials until one passed) and costs a
//! binary search.

use std::collections::HashMap;

use ciborium::Value;

use crate::cbor::{as_u64, field, int, only_keys, parse_canonical, to_vec, uint};
use crate::cert::Usage;
use crate::error::{CertError, Document, Error, PayloadError};
use crate::key::{KID_LEN, KeyId};
use crate::manifest::ManifestBatch;
use crate::receipt::BatchReceipt;
use crate::revocation::{MAX_SEQUENCE, Reason, Revocation, RevocationSnapshot, Scope};
use crate::signed::{Domain, UnsignedDocument};
use crate::{BatchManifest, Date, Payload, TrustStore};

/// Domain-separation tag of trust bundle signatures (NUL-terminated ASCII).
pub const BUNDLE_SIGNING_TAG: &[u8] = b"hallmark trust bundle v1\0";

/// Largest trust bundle accepted, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 256 * 1024 * 1024;

/// A key compromised at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compromise {
    /// The compromised key.
    pub kid: KeyId,
    /// When it was compromised, seconds since 1970-01-01 UTC: batches
    /// receipted at or after this time no longer count.
    pub at: u64,
    /// When the compromise was published (reported, never compared).
    pub date: Date,
}

/// A trust bundle to sign ([`TrustBundle::to_unsigned`]).
#[derive(Clone, Debug, Default)]
pub struct TrustBundle {
    /// Sequence number: a verifier refuses a bundle older than one it has
    /// seen from the same signer (0 to [`MAX_SEQUENCE`]).
    pub sequence: u64,
    /// When the bundle was made, seconds since 1970-01-01 UTC.
    pub issued: u64,
    /// Signed line certificates (the signer's own among them, unless the
    /// verifiers' trust stores hold it).
    pub certificates: Vec<Vec<u8>>,
    /// Signed batch manifests, each with its signed registry receipt.
    pub batches: Vec<(Vec<u8>, Vec<u8>)>,
    /// The revocations (their sequence and issue time are the bundle's).
    pub revocations: RevocationSnapshot,
    /// Compromised keys.
    pub compromises: Vec<Compromise>,
}

fn kid_value(kid: KeyId) -> Value {
    Value::Bytes(kid.to_bytes().to_vec())
}

impl TrustBundle {
    fn document(&self) -> Vec<u8> {
        let certs = self
            .certificates
            .iter()
            .map(|c| Value::Bytes(c.clone()))
            .collect();
        let batches = self
            .batches
            .iter()
            .map(|(m, r)| Value::Array(vec![Value::Bytes(m.clone()), Value::Bytes(r.clone())]))
            .collect();
        let compromises = self
            .compromises
            .iter()
            .map(|c| Value::Array(vec![kid_value(c.kid), int(c.at), int(c.date.days().into())]))
            .collect();
        to_vec(&Value::Map(vec![
            (int(0), int(self.sequence)),
            (int(1), int(self.issued)),
            (int(2), Value::Array(certs)),
            (int(3), Value::Array(batches)),
            (int(4), Value::Map(self.revocations.lists())),
            (int(5), Value::Array(compromises)),
        ]))
    }

    /// The bundle framed for the registry key `signer`, ready to be signed.
    pub fn to_unsigned(&self, signer: KeyId) -> UnsignedDocument {
        UnsignedDocument::new(Domain::TrustBundle, signer, &self.document())
    }

    /// Verifies a signed bundle against `trust` (which needs only the root
    /// keys) and returns what it establishes. In order:
    ///
    /// 1. the framing (size, version, length);
    /// 2. the signer: a key of `trust`, or the subject of one of the bundle's
    ///    certificates, certified by a root of `trust`; then the bundle's
    ///    signature (`verify_strict`), the signer's registry usage and its
    ///    validity on the UTC day of `issued`;
    /// 3. the document: the sequence range, then every certificate (against
    ///    the roots), every manifest (signed by a key allowed manifests) with
    ///    its receipt (signed by a registry key, naming exactly this manifest's
    ///    digest, key, batch count and serial count), the revocations and the
    ///    compromises.
    ///
    /// The first failure refuses the whole bundle.
    pub fn verify(bytes: &[u8], trust: &TrustStore) -> Result<VerifiedBundle, Error> {
        let framed = crate::signed::frame(bytes, Domain::TrustBundle, MAX_BUNDLE_BYTES)?;
        let mut store = trust.clone();
        // The body is parsed before its signature is checked only to find the
        // signer's certificate; nothing else is used until it verifies.
        let top = document_map(framed.body)?;
        let certs = byte_strings(&top, 2, "certificates")?;
        if store.get(framed.kid).is_none() {
            let signer_cert = certs.iter().enumerate().find(|(_, c)| {
                crate::LineCertificate::decode_unverified(c)
                    .is_ok_and(|(_, cert)| cert.subject.kid() == framed.kid)
            });
            if let Some((index, cert)) = signer_cert {
                store
                    .add_certificate(cert)
                    .map_err(|e| entry("certificates", index, e))?;
            }
        }
        let signer = store.document_signer(framed.kid, Domain::TrustBundle)?;
        framed.check(Domain::TrustBundle, signer)?;
        TrustStore::check_usage(signer, Usage::REGISTRY, Document::TrustBundle)?;
        let signer_kid = signer.kid();
        let (sequence, issued) = sequence_and_issued(&top)?;
        crate::receipt::signed_on(signer, issued)?;
        for (index, cert) in certs.iter().enumerate() {
            store
                .add_certificate(cert)
                .map_err(|e| entry("certificates", index, e))?;
        }
        let pairs = batch_pairs(&top)?;
        let mut registry = Registry::build(&store, &pairs)?;
        let mut revocations = revocation_lists(&top, sequence, issued)?;
        revocations.signer = Some(signer_kid);
        registry.compromises = unique_compromises(&top)?
            .into_iter()
            .map(|c| (c.kid, c))
            .collect();
        Ok(VerifiedBundle {
            sequence,
            issued,
            signer: signer_kid,
            certificates: certs.len(),
            manifests: pairs.len(),
            trust: store,
            revocations,
            registry,
        })
    }
}

impl TrustBundle {
    /// Parses a signed bundle **without checking anything signed**, for
    /// display only (`hallmark inspect`): the framing and the same strict
    /// document rules as [`TrustBundle::verify`] (canonical CBOR, known keys
    /// only, the sequence range, the shapes of every list, no entry listed
    /// twice), but neither the bundle's signature nor its signer, nor the
    /// certificates, manifests and receipts it carries, are checked: anyone
    /// can make bytes that decode. Returns the key id the bundle *names* as
    /// its signer, then its contents; the certificates, manifests and
    /// receipts stay the signed bytes they are (read each with its own
    /// `decode_unverified`, or trust them through [`TrustBundle::verify`]),
    /// and the revocations' [`signer`](RevocationSnapshot::signer) stays
    /// `None`. A document of another type is refused.
    ///
    /// ```
    /// use hallmark::{KeyId, TrustBundle};
    /// let bundle = TrustBundle { sequence: 3, issued: 1_785_000_000, ..TrustBundle::default() };
    /// let registry = KeyId::from_bytes([9, 9, 9, 9]);
    /// // Any 64 bytes pass for a signature here: nothing is verified.
    /// let bytes = bundle.to_unsigned(registry).into_signed(&[0; 64]);
    /// let (signer, read) = TrustBundle::decode_unverified(&bytes)?;
    /// assert_eq!((signer, read.sequence, read.issued), (registry, 3, 1_785_000_000));
    /// assert!(TrustBundle::decode_unverified(&bytes[..bytes.len() - 1]).is_err());
    /// # Ok::<(), hallmark::Error>(())
    /// ```
    pub fn decode_unverified(bytes: &[u8]) -> Result<(KeyId, TrustBundle), Error> {
        let framed = crate::signed::frame(bytes, Domain::TrustBundle, MAX_BUNDLE_BYTES)?;
        let top = document_map(framed.body)?;
        // In the order `verify` reads them, so the same error comes first.
        let certificates = byte_strings(&top, 2, "certificates")?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        let (sequence, issued) = sequence_and_issued(&top)?;
        let batches = batch_pairs(&top)?
            .into_iter()
            .map(|(m, r)| (m.to_vec(), r.to_vec()))
            .collect();
        let revocations = revocation_lists(&top, sequence, issued)?;
        let compromises = unique_compromises(&top)?;
        Ok((
            framed.kid,
            TrustBundle {
                sequence,
                issued,
                certificates,
                batches,
                revocations,
                compromises,
            },
        ))
    }
}

/// The bundle's document: a canonical CBOR map of the keys 0 to 5.
fn document_map(body: &[u8]) -> Result<Vec<(Value, Value)>, Error> {
    let Value::Map(top) = parse_canonical(body)? else {
        return Err(PayloadError::NotAMap.into());
    };
    only_keys(&top, 5, "bundle")?;
    Ok(top)
}

/// Keys 0 and 1: the sequence (at most [`MAX_SEQUENCE`]) and the issue time.
fn sequence_and_issued(top: &[(Value, Value)]) -> Result<(u64, u64), Error> {
    let sequence = uint(top, 0, "sequence")?;
    if sequence > MAX_SEQUENCE {
        return Err(PayloadError::SequenceOutOfRange { sequence }.into());
    }
    Ok((sequence, uint(top, 1, "issued")?))
}

/// Key 4: the lists 2 to 5 of a snapshot, as a snapshot with the bundle's
/// sequence and issue time (and no signer).
fn revocation_lists(
    top: &[(Value, Value)],
    sequence: u64,
    issued: u64,
) -> Result<RevocationSnapshot, Error> {
    let mut revocations = RevocationSnapshot::new(sequence, issued);
    match field(top, 4) {
        Some(Value::Map(lists)) => {
            only_keys(lists, 5, "revocations")?;
            if lists.iter().any(|(k, _)| as_u64(k).is_some_and(|k| k < 2)) {
                return Err(PayloadError::InvalidValue {
                    field: "revocations",
                    reason: "only the lists 2 to 5 of a snapshot",
                }
                .into());
            }
            crate::revocation::decode_lists(lists, &mut revocations)?;
            Ok(revocations)
        }
        Some(_) => Err(PayloadError::WrongType {
            field: "revocations",
            expected: "a map",
        }
        .into()),
        None => Err(PayloadError::MissingField("revocations").into()),
    }
}

/// Key 5: the compromised keys, none listed twice.
fn unique_compromises(top: &[(Value, Value)]) -> Result<Vec<Compromise>, PayloadError> {
    let list = compromises(top)?;
    let mut seen = std::collections::HashSet::new();
    if list.iter().any(|c| !seen.insert(c.kid)) {
        return Err(PayloadError::InvalidValue {
            field: "compromised",
            reason: "the same key listed twice",
        });
    }
    Ok(list)
}

fn entry(list: &'static str, index: usize, source: Error) -> Error {
    CertError::BundleEntry {
        list,
        index,
        source: Box::new(source),
    }
    .into()
}

fn byte_strings<'v>(
    top: &'v [(Value, Value)],
    key: u64,
    name: &'static str,
) -> Result<Vec<&'v [u8]>, PayloadError> {
    let wrong = PayloadError::WrongType {
        field: name,
        expected: "an array of byte strings",
    };
    match field(top, key) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Bytes(b) => Ok(b.as_slice()),
                _ => Err(wrong.clone()),
            })
            .collect(),
        Some(_) => Err(wrong),
        None => Err(PayloadError::MissingField(name)),
    }
}

/// A manifest and its receipt, as the bundle holds them.
type Pair<'v> = (&'v [u8], &'v [u8]);

fn batch_pairs(top: &[(Value, Value)]) -> Result<Vec<Pair<'_>>, PayloadError> {
    let wrong = PayloadError::WrongType {
        field: "batches",
        expected: "an array of [manifest, receipt] byte string pairs",
    };
    match field(top, 3) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Array(pair) => match pair.as_slice() {
                    [Value::Bytes(m), Value::Bytes(r)] => Ok((m.as_slice(), r.as_slice())),
                    _ => Err(wrong.clone()),
                },
                _ => Err(wrong.clone()),
            })
            .collect(),
        Some(_) => Err(wrong),
        None => Err(PayloadError::MissingField("batches")),
    }
}

fn compromises(top: &[(Value, Value)]) -> Result<Vec<Compromise>, PayloadError> {
    let wrong = PayloadError::WrongType {
        field: "compromised",
        expected: "an array of [kid (4 bytes), at (uint), date (uint)] entries",
    };
    let Some(value) = field(top, 5) else {
        return Err(PayloadError::MissingField("compromised"));
    };
    let Value::Array(items) = value else {
        return Err(wrong);
    };
    items
        .iter()
        .map(|v| {
            let Value::Array(e) = v else {
                return Err(wrong.clone());
            };
            let [Value::Bytes(kid), at, date] = e.as_slice() else {
                return Err(wrong.clone());
            };
            let kid = <[u8; KID_LEN]>::try_from(kid.as_slice()).map_err(|_| wrong.clone())?;
            let at = as_u64(at).ok_or(wrong.clone())?;
            let date = as_u64(date).ok_or(wrong.clone())?;
            Ok(Compromise {
                kid: KeyId::from_bytes(kid),
                at,
                date: crate::cbor::date(date, "date")?,
            })
        })
        .collect()
}

/// A verified trust bundle: the trust it establishes (the roots given, plus
/// its certificates), its revocations and its registry of receipted batches.
///
/// ```
/// use ed25519_dalek::{Signer, SigningKey};
/// use hallmark::{Constraints, LineCertificate, PublicKey, TrustBundle, TrustStore, TrustedKey};
/// use hallmark::{UnsignedDocument, Usage, VerdictKind, Verifier};
/// let signed = |key: &SigningKey, doc: UnsignedDocument| {
///     let signature = key.sign(doc.signing_message()).to_bytes();
///     doc.into_signed(&signature)
/// };
/// let pk = |k: &SigningKey| PublicKey::from_bytes(k.verifying_key().as_bytes());
/// let (root, registry) = (SigningKey::from_bytes(&[1; 32]), SigningKey::from_bytes(&[3; 32]));
/// // The root, offline, certifies the registry's key for registry documents.
/// let cert = LineCertificate {
///     subject: pk(&registry)?,
///     name: "registry".into(),
///     valid_from: "2026-01-01".parse()?,
///     valid_until: "2027-12-31".parse()?,
///     usage: Usage::REGISTRY,
///     issued: 1_767_225_600,
///     constraints: Constraints::default(),
/// };
/// let cert = signed(&root, cert.to_unsigned(pk(&root)?.kid())?);
/// // The registry signs a bundle that carries its certificate.
/// let now = 1_785_000_000;
/// let bundle = TrustBundle { sequence: 1, issued: now, certificates: vec![cert], ..TrustBundle::default() };
/// let bytes = signed(&registry, bundle.to_unsigned(pk(&registry)?.kid()));
/// // A distributor configured with the root alone.
/// let mut roots = TrustStore::new();
/// roots.add_root(TrustedKey::new("root", pk(&root)?, None, None)?)?;
/// let verified = TrustBundle::verify(&bytes, &roots)?;
/// assert_eq!((verified.sequence, verified.trust().keys().len()), (1, 1));
/// let verifier = Verifier::new(verified.trust(), "2026-11-23".parse()?)
///     .with_bundle(&verified, now, 7 * 86_400);
/// assert_eq!(verifier.verify("not a code").kind(), VerdictKind::Malformed);
/// // One byte changed and the bundle is refused.
/// let mut altered = bytes.clone();
/// altered[bytes.len() - 1] ^= 1;
/// let refused = TrustBundle::verify(&altered, &roots);
/// assert_eq!(refused.err().map(|e| e.kind()), Some("bad-signature"));
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct VerifiedBundle {
    /// The bundle's sequence number.
    pub sequence: u64,
    /// When it was issued, seconds since 1970-01-01 UTC.
    pub issued: u64,
    /// The key that signed it.
    pub signer: KeyId,
    /// How many certificates it holds.
    pub certificates: usize,
    /// How many manifests (with receipts) it holds.
    pub manifests: usize,
    trust: TrustStore,
    revocations: RevocationSnapshot,
    registry: Registry,
}

impl VerifiedBundle {
    /// The trust store given to [`TrustBundle::verify`] with the bundle's
    /// certified keys added.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// The bundle's revocations, as a snapshot with the bundle's sequence,
    /// issue time and signer.
    pub fn revocations(&self) -> &RevocationSnapshot {
        &self.revocations
    }

    /// The receipted batches and compromised keys.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// One receipted batch, as a serial interval of one key.
#[derive(Clone, Debug)]
struct Registered {
    first: u64,
    last: u64,
    part: String,
    lot: String,
    date: Date,
    expiry: Option<Date>,
    /// The earliest receipt time for this batch.
    registered: u64,
    /// For a batch-opaque batch: the manifest's batch, whose disclosed key
    /// places a serial exactly ([`ManifestBatch::contains`]).
    opaque: Option<ManifestBatch>,
}

impl Registered {
    fn holds(&self, payload: &Payload) -> bool {
        let s = payload.serial();
        self.first <= s
            && s <= self.last
            && self.opaque.as_ref().is_none_or(|b| b.contains(s))
            && self.part == payload.part()
            && self.lot == payload.lot()
            && self.date == payload.date()
            && self.expiry == payload.expiry()
    }
}

/// One key's receipted batches, sorted by first serial, with the running
/// maximum of their last serials (so overlapping intervals are found by a
/// binary search and a short walk back).
#[derive(Clone, Debug, Default)]
struct KeyBatches {
    batches: Vec<Registered>,
    max_last: Vec<u64>,
}

/// Receipted batches and compromised keys, from a trust bundle.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    keys: HashMap<KeyId, KeyBatches>,
    compromises: HashMap<KeyId, Compromise>,
    serials: u64,
}

impl Registry {
    fn build(store: &TrustStore, pairs: &[Pair<'_>]) -> Result<Registry, Error> {
        // Keys that check many documents get their tables of multiples first.
        let mut counts: HashMap<[u8; KID_LEN], usize> = HashMap::new();
        for (m, r) in pairs {
            for doc in [m, r] {
                if let Some(kid) = doc.get(1..1 + KID_LEN).and_then(|k| k.try_into().ok()) {
                    *counts.entry(kid).or_default() += 1;
                }
            }
        }
        for (kid, n) in counts {
            if n >= crate::BUILD_TABLES_FROM {
                store.precompute_key(KeyId::from_bytes(kid));
            }
        }
        // The signatures are checked on every core; the results are merged in
        // order, so the first failure reported is the first entry's.
        let checked = parallel_map(pairs, |index, (m, r)| check_pair(store, index, m, r));
        let mut registry = Registry::default();
        for entry in checked {
            let (manifest, registered, serials) = entry?;
            registry.serials = registry.serials.saturating_add(serials);
            let key = registry.keys.entry(manifest.kid).or_default();
            for batch in &manifest.batches {
                if let Some(r) = interval(batch, registered) {
                    key.batches.push(r);
                }
            }
        }
        for key in registry.keys.values_mut() {
            key.batches.sort_by_key(|b| b.first);
            let mut max = 0;
            key.max_last = key
                .batches
                .iter()
                .map(|b| {
                    max = max.max(b.last);
                    max
                })
                .collect();
        }
        Ok(registry)
    }

    /// The compromise of `kid`, if the bundle lists one.
    pub fn compromise(&self, kid: KeyId) -> Option<&Compromise> {
        self.compromises.get(&kid)
    }

    /// How many keys are listed compromised.
    pub fn compromised_keys(&self) -> usize {
        self.compromises.len()
    }

    /// How many serials the receipted batches hold in all.
    pub fn serials(&self) -> u64 {
        self.serials
    }

    /// Whether a code of `kid` with `payload` lies in a batch registered
    /// before `before` (seconds since 1970), with its part, lot, date and
    /// expiry. Batch-opaque serials are placed exactly through their
    /// batch's disclosed key; legacy opaque serials (docs/FORMAT.md §13.4)
    /// are never found: their membership cannot be checked without the
    /// issuer's secret.
    pub fn registered_before(&self, kid: KeyId, payload: &Payload, before: u64) -> bool {
        let Some(key) = self.keys.get(&kid) else {
            return false;
        };
        let s = payload.serial();
        let end = key.batches.partition_point(|b| b.first <= s);
        for i in (0..end).rev() {
            if key.max_last.get(i).is_none_or(|&m| m < s) {
                break;
            }
            if key
                .batches
                .get(i)
                .is_some_and(|b| b.registered < before && b.holds(payload))
            {
                return true;
            }
        }
        false
    }

    /// The revocation a compromise imposes on a code of `kid`, if any: the
    /// key is compromised and the code lies in no batch registered before.
    pub fn check(&self, kid: KeyId, payload: &Payload) -> Option<Revocation> {
        let c = self.compromises.get(&kid)?;
        if self.registered_before(kid, payload, c.at) {
            return None;
        }
        Some(Revocation {
            kid,
            scope: Scope::Compromise { at: c.at },
            reason: Reason::KeyCompromised,
            date: c.date,
        })
    }

    /// About how many bytes the registry holds in memory.
    pub fn memory_bytes(&self) -> usize {
        self.keys
            .values()
            .map(|k| {
                k.batches
                    .iter()
                    .map(|b| core::mem::size_of::<Registered>() + 8 + b.part.len() + b.lot.len())
                    .sum::<usize>()
            })
            .sum()
    }
}

/// Verifies one manifest and its receipt (entry `index` of the bundle's
/// batches): the manifest's signature and signer usage, the receipt's, and
/// that the receipt names this manifest. Returns the manifest, its
/// registration time and its serial count.
fn check_pair(
    store: &TrustStore,
    index: usize,
    m: &[u8],
    r: &[u8],
) -> Result<(BatchManifest, u64, u64), Error> {
    let manifest = BatchManifest::verify(m, store).map_err(|e| entry("batches", index, e))?;
    let (receipt, _) = BatchReceipt::verify(r, store).map_err(|e| entry("batches", index, e))?;
    let mismatch = |reason| Error::from(CertError::ReceiptMismatch { index, reason });
    if receipt.manifest != BatchReceipt::digest(m) {
        return Err(mismatch("digest"));
    }
    if receipt.kid != manifest.kid {
        return Err(mismatch("key id"));
    }
    if receipt.batches != manifest.batches.len() as u64 {
        return Err(mismatch("batch count"));
    }
    let serials = manifest
        .batches
        .iter()
        .fold(0u64, |n, b| n.saturating_add(b.count));
    if receipt.serials != serials {
        return Err(mismatch("serial count"));
    }
    Ok((manifest, receipt.registered, serials))
}

/// Entries below this many are checked on the calling thread.
const PARALLEL_FROM: usize = 64;

/// `f(index, item)` for every item, in order, on up to
/// `std::thread::available_parallelism` scoped threads (one where threads are
/// not available or the input is small).
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    if threads < 2 || items.len() < PARALLEL_FROM {
        return items.iter().enumerate().map(|(i, t)| f(i, t)).collect();
    }
    let per = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .enumerate()
            .map(|(c, chunk)| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, t)| f(c * per + i, t))
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        // A worker cannot panic (f returns errors), but if one did, its
        // panic is passed on rather than its results lost silently.
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// A manifest batch as a serial interval, if its serials can be placed:
/// sequential batches by their counters, batch-opaque batches by the serial
/// block of their batch number (membership inside it through the disclosed
/// permutation key). Legacy opaque serials cannot be placed.
fn interval(batch: &ManifestBatch, registered: u64) -> Option<Registered> {
    let (first, last, opaque) = match (&batch.batch_key, batch.opaque) {
        (Some(k), _) => {
            let first = crate::OPAQUE_BIT | (u64::from(k.number) << crate::BATCH_COUNTER_BITS);
            (
                first,
                first | (crate::BATCH_COUNTER_LIMIT - 1),
                Some(batch.clone()),
            )
        }
        // Legacy opaque serials: P(counter) is the issuer's secret.
        (None, true) => return None,
        (None, false) => (
            batch.start,
            batch.start.checked_add(batch.count.checked_sub(1)?)?,
            None,
        ),
    };
    Some(Registered {
        first,
        last,
        part: batch.part.clone(),
        lot: batch.lot.clone(),
        date: batch.date,
        expiry: batch.expiry,
        registered,
        opaque,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{self, Key};

    #[test]
    fn decode_unverified_reads_a_bundle_and_refuses_anything_else() {
        let (root, line, registry) = (Key::new(1), Key::new(2), Key::new(3));
        let cert = testkit::certify(&root, &testkit::cert(&registry, "r", Usage::REGISTRY));
        let manifest = testkit::manifest(&line, vec![testkit::batch(0, 10)]);
        let receipt = testkit::receipt(&registry, &manifest, &line, 1_780_000_100);
        let mut revocations = RevocationSnapshot::new(4, 1_785_000_000);
        revocations
            .add(
                line.kid(),
                Scope::Serial(7),
                Reason::Stolen,
                testkit::day("2026-07-01"),
            )
            .unwrap();
        let compromise = Compromise {
            kid: line.kid(),
            at: 1_781_000_000,
            date: testkit::day("2026-07-02"),
        };
        let bundle = TrustBundle {
            sequence: 4,
            issued: 1_785_000_000,
            certificates: vec![cert.clone()],
            batches: vec![(manifest.clone(), receipt.clone())],
            revocations,
            compromises: vec![compromise],
        };
        let bytes = registry.sign(bundle.to_unsigned(registry.kid()));
        let (signer, read) = TrustBundle::decode_unverified(&bytes).unwrap();
        assert_eq!(signer, registry.kid());
        assert_eq!((read.sequence, read.issued), (4, 1_785_000_000));
        assert_eq!(read.certificates, vec![cert.clone()]);
        assert_eq!(read.batches, vec![(manifest.clone(), receipt.clone())]);
        assert_eq!(
            read.revocations.revocations(),
            bundle.revocations.revocations()
        );
        assert_eq!(read.revocations.signer, None);
        assert_eq!(read.compromises, vec![compromise]);
        // What was read re-encodes to the signed bytes.
        let signature: [u8; 64] = bytes[bytes.len() - 64..].try_into().unwrap();
        assert_eq!(read.to_unsigned(signer).into_signed(&signature), bytes);
        // Nothing inside is checked: a certificate of garbage still decodes.
        let junk = TrustBundle {
            certificates: vec![vec![1; 100]],
            ..TrustBundle::default()
        };
        let junk = registry.sign(junk.to_unsigned(registry.kid()));
        assert!(TrustBundle::decode_unverified(&junk).is_ok());
        // The verify path's rules: a key listed compromised twice is refused.
        let twice = TrustBundle {
            compromises: vec![compromise, compromise],
            ..TrustBundle::default()
        };
        let twice = registry.sign(twice.to_unsigned(registry.kid()));
        assert!(matches!(
            TrustBundle::decode_unverified(&twice),
            Err(Error::Payload(PayloadError::InvalidValue {
                field: "compromised",
                ..
            }))
        ));
        for bad in [&bytes[..bytes.len() - 1], &[1u8; 100][..], &[][..]] {
            assert!(TrustBundle::decode_unverified(bad).is_err());
        }
        // Documents of the other types; an empty snapshot has the same keys 0 to 5.
        let snapshot = registry.sign(RevocationSnapshot::new(1, 2).to_unsigned(registry.kid()));
        for other in [manifest, receipt, snapshot, cert] {
            assert!(TrustBundle::decode_unverified(&other).is_err());
        }
    }
}
