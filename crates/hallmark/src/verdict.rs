//! Graded verdicts, with revocation data, one code at a time or in bulk.

use crate::Date;
use crate::code::UnverifiedCode;
use crate::error::Error;
use crate::revocation::{Revocation, RevocationSnapshot};
use crate::trust::{TrustStore, Verified};

/// The outcome of verifying one code.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Genuine. `stale` when revocation data was given but is older than the
    /// verifier's limit, so a recent revocation could be missing.
    Genuine {
        /// The verified code.
        verified: Verified,
        /// Whether the revocation data is stale.
        stale: bool,
    },
    /// Genuine signature, but revoked.
    Revoked {
        /// The verified code.
        verified: Verified,
        /// The revocation that applies.
        revocation: Revocation,
    },
    /// Not genuine, or expired: the error says which.
    Refused(Error),
}

impl Verdict {
    /// The verdict's word: `genuine`, `stale`, `revoked`, or the error's
    /// ([`Error::verdict`]: `malformed`, `unknown-key`, `bad-signature`,
    /// `key-not-valid`, `expired`).
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Genuine { stale: false, .. } => "genuine",
            Verdict::Genuine { stale: true, .. } => "stale",
            Verdict::Revoked { .. } => "revoked",
            Verdict::Refused(e) => e.verdict(),
        }
    }

    /// The verified code, when the signature is good (genuine, stale or revoked).
    pub fn verified(&self) -> Option<&Verified> {
        match self {
            Verdict::Genuine { verified, .. } | Verdict::Revoked { verified, .. } => Some(verified),
            Verdict::Refused(_) => None,
        }
    }

    /// Whether the code may be accepted (genuine, possibly with stale data).
    pub fn is_genuine(&self) -> bool {
        matches!(self, Verdict::Genuine { .. })
    }
}

/// Batches of at least this many codes build the trust store's tables of
/// multiples ([`TrustStore::precompute`]): building costs about as much as 150
/// verifications and saves two thirds of every later one.
pub const BUILD_TABLES_FROM: usize = 256;

/// Everything a verdict depends on: trusted keys, revocation data and the date.
///
/// ```
/// use hallmark::{TrustStore, Verifier};
/// let trust = TrustStore::new();
/// let verifier = Verifier::new(&trust, "2026-11-23".parse()?);
/// let verdicts = verifier.verify_batch(["not a code", "0000"]);
/// assert_eq!(verdicts.len(), 2);
/// assert!(verdicts.iter().all(|v| v.word() == "malformed"));
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Verifier<'a> {
    trust: &'a TrustStore,
    revocations: Option<&'a RevocationSnapshot>,
    stale: bool,
    today: Date,
}

impl<'a> Verifier<'a> {
    /// A verifier checking expiry against `today` (UTC).
    pub fn new(trust: &'a TrustStore, today: Date) -> Verifier<'a> {
        Verifier {
            trust,
            revocations: None,
            stale: false,
            today,
        }
    }

    /// Uses a verified revocation snapshot; `stale` marks it older than the
    /// caller's limit (genuine codes then get the verdict `stale`).
    pub fn with_revocations(
        mut self,
        snapshot: &'a RevocationSnapshot,
        stale: bool,
    ) -> Verifier<'a> {
        self.revocations = Some(snapshot);
        self.stale = stale;
        self
    }

    /// The verdict for one scanned or typed code. Revocation takes precedence
    /// over expiry.
    pub fn verify(&self, input: &str) -> Verdict {
        self.judge(self.trust.verify(input))
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
        let codes: Vec<_> = inputs.into_iter().map(UnverifiedCode::decode).collect();
        let build = codes.len() >= BUILD_TABLES_FROM;
        self.trust
            .verify_codes(codes, build)
            .into_iter()
            .map(|verified| self.judge(verified))
            .collect()
    }

    /// Revocation, then expiry, for a code whose signature has been checked.
    fn judge(&self, verified: Result<Verified, Error>) -> Verdict {
        let verified = match verified {
            Ok(v) => v,
            Err(e) => return Verdict::Refused(e),
        };
        if let Some(revocation) = self
            .revocations
            .and_then(|r| r.check(verified.kid(), verified.payload()))
        {
            return Verdict::Revoked {
                revocation: revocation.clone(),
                verified,
            };
        }
        match verified.payload().expiry() {
            Some(expiry) if expiry < self.today => Verdict::Refused(Error::Expired {
                expiry,
                today: self.today,
            }),
            _ => Verdict::Genuine {
                verified,
                stale: self.stale,
            },
        }
    }
}
