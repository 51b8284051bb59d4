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
        let top = match parse_canonical(framed.body)? {
            Value::Map(top) => top,
            _ => return Err(PayloadError::NotAMap.into()),
        };
        only_keys(&top, 5, "bundle")?;
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
        let sequence = uint(&top, 0, "sequence")?;
        if sequence > MAX_SEQUENCE {
            return Err(PayloadError::SequenceOutOfRange { sequence }.into());
        }
        let issued = uint(&top, 1, "issued")?;
        crate::receipt::signed_on(signer, issued)?;
        for (index, cert) in certs.iter().enumerate() {
            store
                .add_certificate(cert)
                .map_err(|e| entry("certificates", index, e))?;
        }
        let pairs = batch_pairs(&top)?;
        let registry = Registry::build(&store, &pairs)?;
        let mut revocations = RevocationSnapshot::new(sequence, issued);
        match field(&top, 4) {
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
            }
            Some(_) => {
                return Err(PayloadError::WrongType {
                    field: "revocations",
                    expected: "a map",
                }
                .into());
            }
            None => return Err(PayloadError::MissingField("revocations").into()),
        }
        revocations.signer = Some(signer_kid);
        let mut registry = registry;
        for c in compromises(&top)? {
            if registry.compromises.insert(c.kid, c).is_some() {
                return Err(PayloadError::InvalidValue {
                    field: "compromised",
                    reason: "the same key listed twice",
                }
                .into());
            }
        }
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
}

impl Registered {
    fn holds(&self, payload: &Payload) -> bool {
        let s = payload.serial();
        self.first <= s
            && s <= self.last
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
    /// expiry. Legacy opaque serials (docs/FORMAT.md §13.4) are never found:
    /// their membership cannot be checked without the issuer's secret.
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
    if let Some(key) = store.get(manifest.kid) {
        TrustStore::check_usage(key, Usage::MANIFESTS, Document::BatchManifest)
            .map_err(|e| entry("batches", index, e))?;
    }
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

/// A manifest batch as a serial interval, if its serials can be placed.
fn interval(batch: &ManifestBatch, registered: u64) -> Option<Registered> {
    if batch.opaque {
        // Legacy opaque serials: P(counter) is the issuer's secret.
        return None;
    }
    Some(Registered {
        first: batch.start,
        last: batch.start.checked_add(batch.count.checked_sub(1)?)?,
        part: batch.part.clone(),
        lot: batch.lot.clone(),
        date: batch.date,
        expiry: batch.expiry,
        registered,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;
    use crate::testkit::{Key, batch, cert, certify, day, manifest, payload, receipt, roots};
    use crate::{LineCertificate, Verdict, VerdictKind, Verifier};

    /// The cut-off.
    const T: u64 = 1_785_000_000; // 2026-07-25

    struct World {
        root: Key,
        line: Key,
        other: Key,
        registry: Key,
        roots: TrustStore,
    }

    fn world() -> World {
        let root = Key::new(1);
        let roots = roots(&root);
        World {
            root,
            line: Key::new(2),
            other: Key::new(4),
            registry: Key::new(3),
            roots,
        }
    }

    impl World {
        fn certs(&self) -> Vec<Vec<u8>> {
            let codes = Usage::CODES.union(Usage::MANIFESTS);
            vec![
                certify(&self.root, &cert(&self.line, "line", codes)),
                certify(&self.root, &cert(&self.other, "other", codes)),
                certify(
                    &self.root,
                    &cert(&self.registry, "registry", Usage::REGISTRY),
                ),
            ]
        }

        fn pair(&self, batches: Vec<ManifestBatch>, at: u64) -> (Vec<u8>, Vec<u8>) {
            let m = manifest(&self.line, batches);
            let r = receipt(&self.registry, &m, &self.line, at);
            (m, r)
        }

        /// A bundle: batches of `line` receipted before, at and after T;
        /// `line` compromised at T.
        fn bundle(&self) -> TrustBundle {
            let mut lot2 = batch(50, 100); // 50..=149, lot L2, overlaps the first
            lot2.lot = "L2".into();
            TrustBundle {
                sequence: 7,
                issued: T + 86_400,
                certificates: self.certs(),
                batches: vec![
                    self.pair(vec![batch(1, 100)], T - 2000),
                    self.pair(vec![lot2], T - 1000),
                    self.pair(vec![batch(200, 10)], T),
                    self.pair(vec![batch(300, 10)], T + 1000),
                ],
                revocations: RevocationSnapshot::default(),
                compromises: vec![Compromise {
                    kid: self.line.kid(),
                    at: T,
                    date: day("2026-07-26"),
                }],
            }
        }

        fn sign(&self, bundle: &TrustBundle) -> Vec<u8> {
            self.registry.sign(bundle.to_unsigned(self.registry.kid()))
        }

        fn verify(&self, bundle: &TrustBundle) -> Result<VerifiedBundle, Error> {
            TrustBundle::verify(&self.sign(bundle), &self.roots)
        }
    }

    fn judge(bundle: &VerifiedBundle, code: &str) -> (VerdictKind, Option<&'static str>) {
        let v = Verifier::new(bundle.trust(), day("2026-11-23"))
            .with_bundle(bundle, bundle.issued, 7 * 86_400)
            .verify(code);
        let detail = match &v {
            Verdict::Revoked { revocation, .. } => Some(revocation.reason.as_str()),
            other => other.refusal().map(|e| e.kind()),
        };
        (v.kind(), detail)
    }

    fn kind<T: core::fmt::Debug>(r: Result<T, Error>) -> &'static str {
        match r {
            Ok(v) => panic!("accepted: {v:?}"),
            Err(e) => e.kind(),
        }
    }

    const GENUINE: (VerdictKind, Option<&str>) = (VerdictKind::Genuine, None);
    const COMPROMISED: (VerdictKind, Option<&str>) =
        (VerdictKind::Revoked, Some("key-compromised"));

    #[test]
    fn a_compromise_spares_exactly_the_batches_receipted_before_it() {
        let w = world();
        let b = w.verify(&w.bundle()).unwrap();
        assert_eq!((b.sequence, b.certificates, b.manifests), (7, 3, 4));
        assert_eq!(b.signer, w.registry.kid());
        assert_eq!(b.registry().serials(), 220);
        assert_eq!(b.registry().compromised_keys(), 1);
        assert!(b.registry().memory_bytes() > 0);
        let code = |serial, part: &str, lot: &str, date: &str| {
            w.line
                .code(&Payload::new(serial, part, lot, day(date)).unwrap())
        };
        // Genuine: inside a batch receipted before T, with its part, lot, date.
        for serial in [1, 49, 100] {
            assert_eq!(
                judge(&b, &w.line.code(&payload(serial))),
                GENUINE,
                "{serial}"
            );
        }
        // Overlapping batches: serial 60 is in both; lot L2 only in the second.
        assert_eq!(
            judge(&b, &code(60, "DRN-2980", "L2", "2026-06-01")),
            GENUINE
        );
        assert_eq!(
            judge(&b, &code(149, "DRN-2980", "L2", "2026-06-01")),
            GENUINE
        );
        assert_eq!(
            judge(&b, &code(120, "DRN-2980", "L1", "2026-06-01")),
            COMPROMISED
        );
        // The thief's back-dated codes: a registered serial with another part,
        // lot, date or expiry; serials outside every batch.
        assert_eq!(
            judge(&b, &code(5, "DRN-9999", "L1", "2026-06-01")),
            COMPROMISED
        );
        assert_eq!(
            judge(&b, &code(5, "DRN-2980", "L9", "2026-06-01")),
            COMPROMISED
        );
        assert_eq!(
            judge(&b, &code(5, "DRN-2980", "L1", "2026-01-01")),
            COMPROMISED
        );
        let expiring = payload(5).with_expiry(day("2030-01-01")).unwrap();
        assert_eq!(judge(&b, &w.line.code(&expiring)), COMPROMISED);
        for serial in [0, 150, 199, 1_000_000, u64::MAX >> 1] {
            assert_eq!(
                judge(&b, &w.line.code(&payload(serial))),
                COMPROMISED,
                "{serial}"
            );
        }
        // Receipted exactly at T (not before) and after T: revoked.
        for serial in [200, 209, 300, 309] {
            assert_eq!(
                judge(&b, &w.line.code(&payload(serial))),
                COMPROMISED,
                "{serial}"
            );
        }
        // A key not compromised is unaffected, in a batch or not.
        assert_eq!(judge(&b, &w.other.code(&payload(999))), GENUINE);
        // The compromise is reported as such.
        let v = Verifier::new(b.trust(), day("2026-11-23"))
            .with_bundle(&b, b.issued, 0)
            .verify(&w.line.code(&payload(150)));
        let Verdict::Revoked { revocation, .. } = v else {
            panic!("{v:?}")
        };
        assert_eq!(revocation.scope, Scope::Compromise { at: T });
        assert_eq!(revocation.kid, w.line.kid());
        // Stale data keeps genuine codes accepted but says so.
        let stale = Verifier::new(b.trust(), day("2026-11-23"))
            .with_bundle(&b, b.issued + 7 * 86_400 + 1, 7 * 86_400)
            .verify(&w.line.code(&payload(1)));
        assert_eq!(stale.kind(), VerdictKind::Stale);
    }

    #[test]
    fn without_the_bundle_the_trust_store_behaves_as_before() {
        let w = world();
        let b = w.verify(&w.bundle()).unwrap();
        // The same trust, no bundle: no compromise, every code genuine.
        let plain = Verifier::new(b.trust(), day("2026-11-23"));
        for serial in [1, 150, 300] {
            assert!(plain.verify(&w.line.code(&payload(serial))).is_genuine());
        }
        // A bundle with no compromise changes no verdict.
        let mut quiet = w.bundle();
        quiet.compromises.clear();
        let q = w.verify(&quiet).unwrap();
        for serial in [1, 150, 300] {
            assert_eq!(judge(&q, &w.line.code(&payload(serial))), GENUINE);
        }
        // A flat trust store of plain keys still verifies codes.
        let mut flat = TrustStore::new();
        flat.add(crate::TrustedKey::new("line", w.line.public(), None, None).unwrap())
            .unwrap();
        let v = Verifier::new(&flat, day("2026-11-23")).verify(&w.line.code(&payload(150)));
        assert!(v.is_genuine());
    }

    #[test]
    fn legacy_opaque_batches_never_match() {
        let w = world();
        let mut bundle = w.bundle();
        let mut opaque = batch(1, 100);
        opaque.opaque = true;
        bundle.batches = vec![w.pair(vec![opaque], T - 2000)];
        let b = w.verify(&bundle).unwrap();
        assert_eq!(judge(&b, &w.line.code(&payload(1))), COMPROMISED);
        let opaque_serial = crate::OPAQUE_BIT | 1;
        assert_eq!(
            judge(&b, &w.line.code(&payload(opaque_serial))),
            COMPROMISED
        );
    }

    #[test]
    fn bundle_refusals() {
        let w = world();
        let good = w.sign(&w.bundle());
        // Any altered byte is refused; one in the signature is a bad signature.
        let mut sig = good.clone();
        let last = sig.len() - 1;
        sig[last] ^= 1;
        assert_eq!(kind(TrustBundle::verify(&sig, &w.roots)), "bad-signature");
        for i in (0..good.len()).step_by(97) {
            let mut bad = good.clone();
            bad[i] ^= 0x10;
            assert!(TrustBundle::verify(&bad, &w.roots).is_err(), "byte {i}");
        }
        // The signer: certified without the registry usage; unknown; a root.
        let codes = w.line.sign(w.bundle().to_unsigned(w.line.kid()));
        assert_eq!(kind(TrustBundle::verify(&codes, &w.roots)), "key-usage");
        let stranger = Key::new(9);
        let unknown = stranger.sign(w.bundle().to_unsigned(stranger.kid()));
        assert_eq!(kind(TrustBundle::verify(&unknown, &w.roots)), "unknown-key");
        let by_root = w.root.sign(w.bundle().to_unsigned(w.root.kid()));
        assert_eq!(kind(TrustBundle::verify(&by_root, &w.roots)), "root-key");
        // The signer's certificate by a non-root: a chain of three.
        let mut chained = w.bundle();
        let all = Usage::KNOWN;
        chained.certificates = vec![
            certify(&w.root, &cert(&w.line, "line", all)),
            certify(&w.line, &cert(&w.registry, "registry", all)),
        ];
        // The signer's certificate is read first, before the line key's is
        // trusted: its issuer is no root the verifier knows.
        assert_eq!(kind(w.verify(&chained)), "unknown-root");
        let mut line_trusted = w.roots.clone();
        line_trusted
            .add_certificate(&chained.certificates[0])
            .unwrap();
        assert_eq!(
            kind(TrustBundle::verify(&w.sign(&chained), &line_trusted)),
            "chain-too-long"
        );
        // The same in the list after the signer's: chain-too-long.
        let mut listed = w.bundle();
        listed
            .certificates
            .push(certify(&w.line, &cert(&Key::new(8), "third", all)));
        assert_eq!(kind(w.verify(&listed)), "chain-too-long");
        // Outside the signer's window on the day of `issued`.
        let mut late = w.bundle();
        late.issued = 1_830_384_000; // 2028-01-01
        assert_eq!(kind(w.verify(&late)), "key-not-valid");
        // The sequence range, a key compromised twice.
        let mut seq = w.bundle();
        seq.sequence = MAX_SEQUENCE + 1;
        assert_eq!(kind(w.verify(&seq)), "sequence-out-of-range");
        let mut twice = w.bundle();
        let c = twice.compromises[0];
        twice.compromises.push(c);
        assert_eq!(kind(w.verify(&twice)), "invalid-value");
        // A receipt for another manifest.
        let mut swapped = w.bundle();
        let other = swapped.batches[1].1.clone();
        swapped.batches[0].1 = other;
        assert_eq!(kind(w.verify(&swapped)), "receipt-mismatch");
        // A receipt whose counts disagree with its manifest.
        let mut counts = w.bundle();
        let m = counts.batches[0].0.clone();
        let r = BatchReceipt {
            manifest: BatchReceipt::digest(&m),
            kid: w.line.kid(),
            registered: T - 2000,
            batches: 1,
            serials: 99,
        };
        counts.batches[0].1 = w.registry.sign(r.to_unsigned(w.registry.kid()));
        assert!(matches!(
            w.verify(&counts),
            Err(Error::Cert(CertError::ReceiptMismatch {
                index: 0,
                reason: "serial count"
            }))
        ));
        // A receipt signed by a key without the registry usage.
        let mut wrong = w.bundle();
        let (m, _) = &wrong.batches[0];
        wrong.batches[0].1 = receipt(&w.line, m, &w.line, T - 2000);
        assert!(matches!(
            w.verify(&wrong),
            Err(Error::Cert(CertError::BundleEntry {
                list: "batches",
                index: 0,
                ..
            }))
        ));
        assert_eq!(kind(w.verify(&wrong)), "key-usage");
        // A manifest signed by a registry-only key.
        let mut by_registry = w.bundle();
        let m = manifest(&w.registry, vec![batch(1, 1)]);
        let r = receipt(&w.registry, &m, &w.registry, T - 2000);
        by_registry.batches = vec![(m, r)];
        assert_eq!(kind(w.verify(&by_registry)), "key-usage");
        // Two different certificates for one key.
        let mut conflict = w.bundle();
        let mut wider = cert(&w.line, "line", Usage::CODES);
        wider.valid_until = day("2028-12-31");
        conflict.certificates.push(certify(&w.root, &wider));
        assert_eq!(kind(w.verify(&conflict)), "certificate-conflict");
        // The same certificate twice is harmless.
        let mut again = w.bundle();
        let c0 = again.certificates[0].clone();
        again.certificates.push(c0);
        assert!(w.verify(&again).is_ok());
    }

    #[test]
    fn the_signer_may_come_from_the_trust_store() {
        let w = world();
        let mut trust = w.roots.clone();
        trust
            .add_certificate(&certify(
                &w.root,
                &cert(&w.registry, "registry", Usage::REGISTRY),
            ))
            .unwrap();
        let mut bundle = w.bundle();
        bundle.certificates.truncate(2); // without the signer's
        let b = TrustBundle::verify(&w.sign(&bundle), &trust).unwrap();
        assert_eq!(b.signer, w.registry.kid());
        // Without it in either place, refused.
        assert_eq!(
            kind(TrustBundle::verify(&w.sign(&bundle), &w.roots)),
            "unknown-key"
        );
        // A decoded certificate list is what the bundle's trust holds.
        let names: Vec<_> = b
            .trust()
            .keys()
            .iter()
            .filter_map(|k| k.certificate().map(|c: &LineCertificate| c.name.clone()))
            .collect();
        assert_eq!(names, ["registry", "line", "other"]);
    }
}
