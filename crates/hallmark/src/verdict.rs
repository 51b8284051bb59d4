//! Graded verdicts, with revocation data, one code at a time or in bulk: one
//! closed [`Verdict`], one precedence rule ([`Verifier::judge`]).

use core::fmt;

use crate::Date;
use crate::bundle::{Registry, VerifiedBundle};
use crate::error::{Error, VerifyError};
use crate::key::KeyId;
use crate::revocation::{Revocation, RevocationSnapshot};
use crate::trust::{Subject, TrustStore, Verified};

/// What a verdict says, without its context: `Copy`, for counting, comparing
/// and output ([`VerdictKind::as_str`] gives the word of docs/FORMAT.md §8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum VerdictKind {
    /// Genuine, not revoked, not expired, revocation data fresh (or none given).
    Genuine,
    /// Genuine, but the revocation data is older than the verifier's maximum age.
    Stale,
    /// Not a well-formed code.
    Malformed,
    /// No trusted key has the code's key id.
    UnknownKey,
    /// The signature does not verify: altered or forged.
    BadSignature,
    /// The key may not sign this code: not valid on its date of manufacture,
    /// a revocation signer, a root, or not certified for codes.
    KeyNotValid,
    /// A certified key signed a code outside its certificate's constraints
    /// (part, lot or serial; the error's kind says which).
    OutOfScope,
    /// Genuine signature, but past the code's expiry date.
    Expired,
    /// Genuine signature, but revoked.
    Revoked,
    /// Genuine, but its serial was seen before ([`crate::duplicates`]).
    Duplicate,
    /// Well-formed GS1 data without a signature (AI 8030): it cannot be
    /// verified offline.
    Unsigned,
}

impl VerdictKind {
    /// The verdict's word: `genuine`, `stale`, `malformed`, `unknown-key`,
    /// `bad-signature`, `key-not-valid`, `out-of-scope`, `expired`, `revoked`
    /// `duplicate` or `unsigned`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Genuine => "genuine",
            VerdictKind::Stale => "stale",
            VerdictKind::Malformed => "malformed",
            VerdictKind::UnknownKey => "unknown-key",
            VerdictKind::BadSignature => "bad-signature",
            VerdictKind::KeyNotValid => "key-not-valid",
            VerdictKind::OutOfScope => "out-of-scope",
            VerdictKind::Expired => "expired",
            VerdictKind::Revoked => "revoked",
            VerdictKind::Duplicate => "duplicate",
            VerdictKind::Unsigned => "unsigned",
        }
    }

    /// Whether a code with this verdict may be accepted: genuine or stale.
    pub fn is_accepted(self) -> bool {
        matches!(self, VerdictKind::Genuine | VerdictKind::Stale)
    }
}

impl fmt::Display for VerdictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of verifying one code, with its context. Built by
/// [`Verifier::verify`], [`Verifier::verify_batch`] and [`Verifier::judge`]:
/// the verified code travels with every outcome whose signature verified
/// (genuine, stale, expired, revoked).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Genuine.
    Genuine(Verified),
    /// Genuine, but the revocation data is older than the verifier's maximum
    /// age, so a recent revocation could be missing.
    Stale(Verified),
    /// Not a well-formed code; the error says exactly why.
    Malformed(Error),
    /// No trusted key has this key id.
    UnknownKey {
        /// The key id the code names.
        kid: KeyId,
    },
    /// No trusted key has a GS1 unit's short key id and may sign for its
    /// GTIN ([`VerifyError::UnknownGs1Key`](crate::VerifyError::UnknownGs1Key)); kind [`VerdictKind::UnknownKey`].
    UnknownGs1Key(Error),
    /// Well-formed GS1 data without a signature in AI 8030
    /// ([`Gs1Error::Unsigned`](crate::gs1::Gs1Error::Unsigned)).
    Unsigned(Error),
    /// The signature does not verify ([`VerifyError::BadSignature`](crate::VerifyError::BadSignature) or
    /// [`VerifyError::NonCanonicalSignature`](crate::VerifyError::NonCanonicalSignature)).
    BadSignature(Error),
    /// The key may not sign this code ([`VerifyError::KeyNotValid`](crate::VerifyError::KeyNotValid): not valid on the
    /// date of manufacture; [`VerifyError::KeyUsage`](crate::VerifyError::KeyUsage): a revocation signer).
    KeyNotValid(Error),
    /// A certified key signed a code outside its certificate's constraints
    /// ([`VerifyError::OutOfScope`](crate::VerifyError::OutOfScope)).
    OutOfScope(Error),
    /// Genuine signature, but past its expiry date.
    Expired {
        /// The verified code.
        verified: Verified,
        /// The payload's expiry date.
        expiry: Date,
        /// The date verification ran on.
        today: Date,
    },
    /// Genuine signature, but revoked.
    Revoked {
        /// The verified code.
        verified: Verified,
        /// The revocation that applies.
        revocation: Revocation,
    },
}

impl Verdict {
    /// The verdict without its context.
    pub fn kind(&self) -> VerdictKind {
        match self {
            Verdict::Genuine(_) => VerdictKind::Genuine,
            Verdict::Stale(_) => VerdictKind::Stale,
            Verdict::Malformed(_) => VerdictKind::Malformed,
            Verdict::UnknownKey { .. } | Verdict::UnknownGs1Key(_) => VerdictKind::UnknownKey,
            Verdict::Unsigned(_) => VerdictKind::Unsigned,
            Verdict::BadSignature(_) => VerdictKind::BadSignature,
            Verdict::KeyNotValid(_) => VerdictKind::KeyNotValid,
            Verdict::OutOfScope(_) => VerdictKind::OutOfScope,
            Verdict::Expired { .. } => VerdictKind::Expired,
            Verdict::Revoked { .. } => VerdictKind::Revoked,
        }
    }

    /// The verified code, when the signature verified (genuine, stale,
    /// expired or revoked).
    pub fn verified(&self) -> Option<&Verified> {
        match self {
            Verdict::Genuine(verified)
            | Verdict::Stale(verified)
            | Verdict::Expired { verified, .. }
            | Verdict::Revoked { verified, .. } => Some(verified),
            Verdict::Malformed(_)
            | Verdict::UnknownKey { .. }
            | Verdict::UnknownGs1Key(_)
            | Verdict::Unsigned(_)
            | Verdict::BadSignature(_)
            | Verdict::KeyNotValid(_)
            | Verdict::OutOfScope(_) => None,
        }
    }

    /// Why the code is refused, as an error (its [`Error::kind`] is the
    /// precise reason of docs/FORMAT.md §8.4): for every verdict but genuine,
    /// stale and revoked.
    pub fn refusal(&self) -> Option<Error> {
        match self {
            Verdict::Malformed(e)
            | Verdict::UnknownGs1Key(e)
            | Verdict::Unsigned(e)
            | Verdict::BadSignature(e)
            | Verdict::KeyNotValid(e)
            | Verdict::OutOfScope(e) => Some(e.clone()),
            Verdict::UnknownKey { kid } => Some(VerifyError::UnknownKey { kid: *kid }.into()),
            Verdict::Expired { expiry, today, .. } => Some(
                VerifyError::Expired {
                    expiry: *expiry,
                    today: *today,
                }
                .into(),
            ),
            Verdict::Genuine(_) | Verdict::Stale(_) | Verdict::Revoked { .. } => None,
        }
    }

    /// Whether the code may be accepted (genuine, possibly with stale data).
    pub fn is_genuine(&self) -> bool {
        self.kind().is_accepted()
    }

    /// The verdict of a code refused with `error` before revocation and expiry
    /// are looked at.
    fn refused(error: Error) -> Verdict {
        match error {
            Error::Verify(VerifyError::UnknownKey { kid }) => Verdict::UnknownKey { kid },
            e @ Error::Verify(VerifyError::UnknownGs1Key { .. }) => Verdict::UnknownGs1Key(e),
            Error::Gs1(g) if *g == crate::gs1::Gs1Error::Unsigned => {
                Verdict::Unsigned(Error::Gs1(g))
            }
            e @ Error::Verify(
                VerifyError::BadSignature { .. } | VerifyError::NonCanonicalSignature,
            ) => Verdict::BadSignature(e),
            e @ Error::Verify(
                VerifyError::KeyNotValid { .. }
                | VerifyError::KeyUsage { .. }
                | VerifyError::RootKey { .. },
            ) => Verdict::KeyNotValid(e),
            e @ Error::Verify(VerifyError::OutOfScope { .. }) => Verdict::OutOfScope(e),
            // Errors signature-only verification never gives (see judge).
            e => Verdict::Malformed(e),
        }
    }
}

/// Batches of at least this many codes build the trust store's tables of
/// multiples ([`TrustStore::precompute`]): from about this size building them
/// pays for itself (docs/PERFORMANCE.md has the figures).
pub const BUILD_TABLES_FROM: usize = 256;

/// Everything a verdict depends on: trusted keys, revocation data, the date
/// and the freshness of the revocation data.
///
/// ```
/// use hallmark::{TrustStore, Verifier, VerdictKind};
/// let trust = TrustStore::new();
/// let verifier = Verifier::new(&trust, "2026-11-23".parse()?);
/// let verdicts = verifier.verify_batch(["not a code", "0000"]);
/// assert_eq!(verdicts.len(), 2);
/// assert!(verdicts.iter().all(|v| v.kind() == VerdictKind::Malformed));
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Verifier<'a> {
    trust: &'a TrustStore,
    revocations: Option<&'a RevocationSnapshot>,
    registry: Option<&'a Registry>,
    stale: bool,
    today: Date,
}

impl<'a> Verifier<'a> {
    /// A verifier checking expiry against `today` (UTC).
    pub fn new(trust: &'a TrustStore, today: Date) -> Verifier<'a> {
        Verifier {
            trust,
            revocations: None,
            registry: None,
            stale: false,
            today,
        }
    }

    /// Uses a verified revocation snapshot. It is stale when it was issued
    /// more than `max_age` seconds before `now` (seconds since 1970; an age of
    /// exactly `max_age` is fresh): genuine codes then get the verdict
    /// [`Verdict::Stale`].
    pub fn with_revocations(
        mut self,
        snapshot: &'a RevocationSnapshot,
        now: u64,
        max_age: u64,
    ) -> Verifier<'a> {
        self.revocations = Some(snapshot);
        self.stale = now.saturating_sub(snapshot.issued) > max_age;
        self
    }

    /// Uses a verified trust bundle's revocations (stale as for
    /// [`Verifier::with_revocations`]) and its compromised keys: a code of a
    /// key compromised at T is revoked (`key-compromised`) unless it lies in a
    /// batch the bundle shows receipted before T. The verifier's trust store
    /// should be [`VerifiedBundle::trust`].
    pub fn with_bundle(self, bundle: &'a VerifiedBundle, now: u64, max_age: u64) -> Verifier<'a> {
        let mut v = self.with_revocations(bundle.revocations(), now, max_age);
        v.registry = Some(bundle.registry());
        v
    }

    /// Whether the revocation data given is stale (see
    /// [`Verifier::with_revocations`]).
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// The verdict for one scanned or typed code.
    pub fn verify(&self, input: &str) -> Verdict {
        self.with_snapshot(self.trust.verify_signature_only(input))
    }

    /// Verdicts for many codes, in input order: exactly [`Verifier::verify`] on
    /// each, faster. From [`BUILD_TABLES_FROM`] codes on, the trust store's
    /// tables of multiples are built for the keys met ([`TrustStore::precompute`]),
    /// and the expected R of every signature is encoded with one field
    /// inversion. The signature equation is `verify_strict`'s, evaluated
    /// differently, so bulk and single verification never disagree. (Batched
    /// Ed25519 equations are deliberately not used: they accept signatures whose
    /// R has a small-order component, which `verify_strict` refuses; see
    /// docs/FORMAT.md.)
    pub fn verify_batch<'i>(&self, inputs: impl IntoIterator<Item = &'i str>) -> Vec<Verdict> {
        let codes: Vec<_> = inputs.into_iter().map(Subject::decode).collect();
        let build = codes.len() >= BUILD_TABLES_FROM;
        self.trust
            .verify_codes(codes, build)
            .into_iter()
            .map(|verified| self.with_snapshot(verified))
            .collect()
    }

    /// [`Verifier::judge`] with the revocation the snapshot holds, if any.
    fn with_snapshot(&self, verified: Result<Verified, Error>) -> Verdict {
        // A compromise first: it covers every code of the key but those
        // receipted in time, whatever else is revoked.
        let compromised = match (&verified, self.registry) {
            (Ok(v), Some(registry)) => registry.check(v.kid(), v.payload()),
            _ => None,
        };
        let revocation = match (&verified, self.revocations, &compromised) {
            (_, _, Some(c)) => Some(c),
            (Ok(v), Some(snapshot), None) => snapshot.check(v.kid(), v.payload()),
            _ => None,
        };
        self.judge(verified, revocation)
    }

    /// The one precedence rule, for a code whose signature, key usage and key
    /// validity were checked ([`TrustStore::verify_signature_only`]) and the
    /// revocation that applies to it, if any (from a snapshot, or a service's
    /// stored status): a refusal first, then revocation, then expiry, then the
    /// freshness of the revocation data.
    ///
    /// `verified` is [`TrustStore::verify_signature_only`]'s answer (or
    /// [`TrustStore::verify_code_signature_only`]'s); an error those never give
    /// (such as [`TrustStore::verify_on`]'s [`VerifyError::Expired`](crate::VerifyError::Expired), which has lost
    /// the code) is reported as [`Verdict::Malformed`] with that error.
    ///
    /// ```
    /// use hallmark::{TrustStore, Verifier, VerdictKind};
    /// let trust = TrustStore::from_toml(r#"
    ///     [[key]]
    ///     name = "demo-TEST-ONLY"
    ///     public_key = "0faada074b654141829ba20700f2446d0f8e1f8f8794ffc2f18239c980f024ee"
    /// "#)?;
    /// let code = "0630HCDQMG01M1TVSMAG2T24A972TCHS70R04TJC68SK2CHH68PK0C83356FFX0ANVQRTRZFQZ5TQV6WPGHQJK82WBZV4VJ86213X7S0NAQ94EY8SRQVMYPG15657FJ4SAQXZQ5WPTHY9BRXCTXM5A1TM3RMTCQDHR7G";
    /// let verifier = Verifier::new(&trust, "2026-11-23".parse()?);
    /// // A service: the signature first, then the status it stores for the code.
    /// let checked = trust.verify_signature_only(code);
    /// let stored = None; // e.g. a database row's revocation
    /// assert_eq!(verifier.judge(checked, stored).kind(), VerdictKind::Genuine);
    /// # Ok::<(), hallmark::Error>(())
    /// ```
    pub fn judge(
        &self,
        verified: Result<Verified, Error>,
        revocation: Option<&Revocation>,
    ) -> Verdict {
        let verified = match verified {
            Ok(v) => v,
            Err(e) => return Verdict::refused(e),
        };
        if let Some(revocation) = revocation {
            return Verdict::Revoked {
                revocation: revocation.clone(),
                verified,
            };
        }
        match verified.payload().expiry() {
            Some(expiry) if expiry < self.today => Verdict::Expired {
                verified,
                expiry,
                today: self.today,
            },
            _ if self.stale => Verdict::Stale(verified),
            _ => Verdict::Genuine(verified),
        }
    }
}
