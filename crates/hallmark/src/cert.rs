//! Line certificates: an offline root key's signed statement that a line key
//! may sign, for a window of manufacture dates, within constraints, for a set
//! of usages (docs/FORMAT.md §17).
//!
//! There are exactly two levels of keys, as in ICAO's and the EU DCC's
//! schemes (a country signing CA certifies document signers): a **root**
//! (listed in the trust store as `[[root]]`, kept offline) signs
//! certificates; a **certified key** (the certificate's subject) signs codes,
//! batch manifests or registry documents. A certificate signed by anything but
//! a root (a chain of three), a root key used on a code or a document, and a
//! certificate whose window leaves its root's are refused.

use ciborium::Value;

use crate::cbor::{field, int, only_keys, parse_canonical, to_vec, uint};
use crate::error::{CertError, Error, PayloadError};
use crate::key::{KeyId, PublicKey};
use crate::payload::check_label;
use crate::signed::{Domain, UnsignedDocument};
use crate::{Date, Payload};

/// Domain-separation tag of line certificate signatures (NUL-terminated ASCII).
pub const CERTIFICATE_SIGNING_TAG: &[u8] = b"hallmark line certificate v1\0";

/// Largest certificate accepted, in bytes.
pub const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;

/// Most entries in one constraint list of a certificate.
pub const MAX_CONSTRAINTS: usize = 64;

/// What a key may sign: a set of usages, as a bit set.
///
/// Bits this verifier does not know are kept (they round-trip) but grant
/// nothing, so a future usage never widens what an old verifier accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Usage(u64);

impl Usage {
    /// Codes (format v1).
    pub const CODES: Usage = Usage(1);
    /// Batch manifests (docs/FORMAT.md §14).
    pub const MANIFESTS: Usage = Usage(1 << 1);
    /// Registry documents: batch receipts, revocation snapshots and trust
    /// bundles.
    pub const REGISTRY: Usage = Usage(1 << 2);
    /// Aggregation manifests (docs/FORMAT.md §22). A certificate must still
    /// grant one of codes, manifests or registry (the format v1 rule).
    pub const AGGREGATION: Usage = Usage(1 << 3);
    /// The usages of format v1's certificates: a certificate must grant at
    /// least one of them (so that every v1 verifier accepts it).
    pub const V1: Usage = Usage(0b111);
    /// The usages this verifier knows.
    pub const KNOWN: Usage = Usage(0b1111);
    const NAMES: [(Usage, &'static str); 4] = [
        (Usage::CODES, "codes"),
        (Usage::MANIFESTS, "manifests"),
        (Usage::REGISTRY, "registry"),
        (Usage::AGGREGATION, "aggregation"),
    ];

    /// The usage set with these bits.
    pub const fn from_bits(bits: u64) -> Usage {
        Usage(bits)
    }

    /// The bits.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// Both sets.
    pub const fn union(self, other: Usage) -> Usage {
        Usage(self.0 | other.0)
    }

    /// Whether every usage of `other` is in this set.
    pub const fn contains(self, other: Usage) -> bool {
        self.0 & other.0 == other.0
    }

    /// Parses a comma-separated list of `codes`, `manifests`, `registry`.
    ///
    /// ```
    /// use hallmark::Usage;
    /// let u: Usage = "codes,manifests".parse()?;
    /// assert!(u.contains(Usage::CODES) && !u.contains(Usage::REGISTRY));
    /// assert_eq!(u.to_string(), "codes, manifests");
    /// # Ok::<(), hallmark::Error>(())
    /// ```
    fn parse(s: &str) -> Result<Usage, Error> {
        let mut out = Usage::default();
        for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            let (usage, _) = Usage::NAMES.iter().find(|(_, name)| *name == word).ok_or(
                crate::FieldError::InvalidField {
                    field: "usage",
                    reason: "expected codes, manifests, registry or aggregation (comma-separated)",
                },
            )?;
            out = out.union(*usage);
        }
        if out == Usage::default() {
            return Err(crate::FieldError::InvalidField {
                field: "usage",
                reason: "name at least one of codes, manifests, registry",
            }
            .into());
        }
        Ok(out)
    }
}

impl core::str::FromStr for Usage {
    type Err = Error;
    fn from_str(s: &str) -> Result<Usage, Error> {
        Usage::parse(s)
    }
}

/// `codes, manifests, registry` (the known usages in the set), or `nothing`.
impl core::fmt::Display for Usage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names: Vec<&str> = Usage::NAMES
            .iter()
            .filter(|(u, _)| self.contains(*u))
            .map(|(_, n)| *n)
            .collect();
        if names.is_empty() {
            f.write_str("nothing")
        } else {
            f.write_str(&names.join(", "))
        }
    }
}

/// A part-number or lot pattern: an exact label, or a prefix followed by `*`
/// (`DRN-*` matches every part number that starts with `DRN-`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pattern(String);

impl Pattern {
    /// Checks a pattern: the label rules of docs/FORMAT.md §4 (1 to 64
    /// printable ASCII characters, no surrounding spaces), `*` only as the
    /// last character and not alone.
    ///
    /// ```
    /// use hallmark::Pattern;
    /// let p = Pattern::new("DRN-*")?;
    /// assert!(p.matches("DRN-2980") && !p.matches("XDRN-1"));
    /// assert!(Pattern::new("L231212-01")?.matches("L231212-01"));
    /// assert!(Pattern::new("*").is_err() && Pattern::new("A*B").is_err());
    /// # Ok::<(), hallmark::Error>(())
    /// ```
    pub fn new(pattern: &str) -> Result<Pattern, Error> {
        check_pattern("pattern", pattern)?;
        Ok(Pattern(pattern.to_owned()))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `label` matches.
    pub fn matches(&self, label: &str) -> bool {
        match self.0.strip_suffix('*') {
            Some(prefix) => label.starts_with(prefix),
            None => label == self.0,
        }
    }
}

fn check_pattern(field: &'static str, s: &str) -> Result<(), PayloadError> {
    check_label(field, s)?;
    let body = s.strip_suffix('*').unwrap_or(s);
    if body.is_empty() || body.contains('*') {
        return Err(PayloadError::InvalidValue {
            field,
            reason: "`*` only at the end of a pattern, after at least one character",
        });
    }
    Ok(())
}

/// Which constraint of a certificate a code breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Constraint {
    /// The part number matches none of the certificate's part patterns.
    Part,
    /// The lot matches none of the certificate's lot patterns.
    Lot,
    /// The serial lies in none of the certificate's serial ranges.
    Serial,
    /// A GS1 unit's GTIN belongs to none of the certificate's GS1 company
    /// prefixes.
    Gs1Prefix,
}

impl Constraint {
    /// The constraint's word: `part`, `lot` or `serial`.
    pub fn as_str(self) -> &'static str {
        match self {
            Constraint::Part => "part",
            Constraint::Lot => "lot",
            Constraint::Serial => "serial",
            Constraint::Gs1Prefix => "GS1 company prefix",
        }
    }
}

/// A certificate's optional limits on what its key signs. An empty list
/// means no limit of that kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Constraints {
    /// Part-number patterns; a code's part must match one.
    pub parts: Vec<Pattern>,
    /// Lot patterns; a code's lot must match one.
    pub lots: Vec<Pattern>,
    /// Inclusive serial ranges `(first, last)`; a code's serial must lie in one.
    pub serials: Vec<(u64, u64)>,
    /// GS1 company prefixes (4 to 12 digits) the key may sign GS1 data for
    /// (for the GS1 profile; codes of format v1 do not carry one).
    pub gs1_prefixes: Vec<String>,
    /// The most serials the registry registers under this certificate.
    pub max_count: Option<u64>,
}

impl Constraints {
    /// The first constraint `payload` breaks, in the order part, lot, serial.
    pub fn check(&self, payload: &Payload) -> Result<(), Constraint> {
        if !self.parts.is_empty() && !self.parts.iter().any(|p| p.matches(payload.part())) {
            return Err(Constraint::Part);
        }
        if !self.lots.is_empty() && !self.lots.iter().any(|p| p.matches(payload.lot())) {
            return Err(Constraint::Lot);
        }
        let s = payload.serial();
        if !self.serials.is_empty() && !self.serials.iter().any(|&(a, b)| a <= s && s <= b) {
            return Err(Constraint::Serial);
        }
        Ok(())
    }

    /// Whether a GTIN (14 digits) belongs to one of the GS1 company prefixes
    /// (none listed: any GTIN).
    pub fn allows_gtin(&self, gtin: &str) -> bool {
        gtin_allowed(&self.gs1_prefixes, gtin)
    }

    /// Whether a batch of `part` and `lot` with serials `first..=last` lies
    /// wholly inside the constraints (for a minter's check before it signs).
    pub fn check_batch(
        &self,
        part: &str,
        lot: &str,
        first: u64,
        last: u64,
    ) -> Result<(), Constraint> {
        if !self.parts.is_empty() && !self.parts.iter().any(|p| p.matches(part)) {
            return Err(Constraint::Part);
        }
        if !self.lots.is_empty() && !self.lots.iter().any(|p| p.matches(lot)) {
            return Err(Constraint::Lot);
        }
        if !self.serials.is_empty() && !self.serials.iter().any(|&(a, b)| a <= first && last <= b) {
            return Err(Constraint::Serial);
        }
        Ok(())
    }
}

/// Whether `gtin` (14 digits: an indicator digit, then the company prefix
/// from the second digit, GS1's `gcppos2`) belongs to one of `prefixes`;
/// an empty list allows any GTIN.
pub(crate) fn gtin_allowed(prefixes: &[String], gtin: &str) -> bool {
    prefixes.is_empty()
        || gtin
            .get(1..)
            .is_some_and(|rest| prefixes.iter().any(|p| rest.starts_with(p.as_str())))
}

/// A line certificate: a root's statement binding a line key to a name, a
/// window of manufacture dates, constraints and usages.
///
/// ```
/// use hallmark::{Constraints, LineCertificate, Pattern, PublicKey, Usage};
/// let line = PublicKey::from_hex("0faada074b654141829ba20700f2446d0f8e1f8f8794ffc2f18239c980f024ee")?;
/// let cert = LineCertificate {
///     subject: line,
///     name: "plant1-line3".into(),
///     valid_from: "2026-01-01".parse()?,
///     valid_until: "2027-12-31".parse()?,
///     usage: Usage::CODES.union(Usage::MANIFESTS),
///     issued: 1_767_225_600,
///     constraints: Constraints { parts: vec![Pattern::new("DRN-*")?], ..Constraints::default() },
/// };
/// let root_kid = hallmark::KeyId::from_bytes([1, 2, 3, 4]);
/// let unsigned = cert.to_unsigned(root_kid)?; // sign unsigned.signing_message() with the root
/// assert!(unsigned.signing_message().starts_with(b"hallmark line certificate v1\0"));
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineCertificate {
    /// The certified (line) key.
    pub subject: PublicKey,
    /// Its name ([`crate::Name`] rules), as verdicts report it.
    pub name: String,
    /// First date of manufacture the key may sign for.
    pub valid_from: Date,
    /// Last date of manufacture the key may sign for (inclusive).
    pub valid_until: Date,
    /// What the key may sign.
    pub usage: Usage,
    /// When the root certified it, seconds since 1970-01-01 UTC.
    pub issued: u64,
    /// Limits on what it signs.
    pub constraints: Constraints,
}

fn texts(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::Text(s.clone())).collect())
}

impl LineCertificate {
    /// Checks the fields a certificate must satisfy whoever signs it.
    fn check(&self) -> Result<(), PayloadError> {
        let invalid = |field, reason| PayloadError::InvalidValue { field, reason };
        if !crate::Name::is_valid(&self.name) {
            return Err(invalid(
                "name",
                "1 to 64 characters of A-Z a-z 0-9 . _ - (not starting with .)",
            ));
        }
        if self.valid_from > self.valid_until {
            return Err(invalid("valid_until", "before valid_from"));
        }
        if self.usage.bits() & Usage::V1.bits() == 0 {
            return Err(invalid(
                "usage",
                "grants none of codes, manifests, registry (aggregation alone is not enough)",
            ));
        }
        let c = &self.constraints;
        let lists = [
            c.parts.len(),
            c.lots.len(),
            c.serials.len(),
            c.gs1_prefixes.len(),
        ];
        if lists.iter().any(|&n| n > MAX_CONSTRAINTS) {
            return Err(invalid("constraints", "more than 64 entries in one list"));
        }
        for p in c.parts.iter().chain(&c.lots) {
            check_pattern("pattern", p.as_str())?;
        }
        if c.serials.iter().any(|(a, b)| a > b) {
            return Err(invalid(
                "serials",
                "a range whose first serial is after its last",
            ));
        }
        if c.gs1_prefixes
            .iter()
            .any(|p| !(4..=12).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(invalid("gs1_prefixes", "4 to 12 digits"));
        }
        if c.max_count == Some(0) {
            return Err(invalid("max_count", "must be at least 1"));
        }
        Ok(())
    }

    fn document(&self) -> Vec<u8> {
        let c = &self.constraints;
        let mut m = vec![
            (int(0), Value::Bytes(self.subject.to_bytes().to_vec())),
            (int(1), Value::Text(self.name.clone())),
            (int(2), int(self.valid_from.days().into())),
            (int(3), int(self.valid_until.days().into())),
            (int(4), int(self.usage.bits())),
            (int(5), int(self.issued)),
        ];
        let patterns =
            |ps: &[Pattern]| texts(&ps.iter().map(|p| p.as_str().to_owned()).collect::<Vec<_>>());
        if !c.parts.is_empty() {
            m.push((int(6), patterns(&c.parts)));
        }
        if !c.lots.is_empty() {
            m.push((int(7), patterns(&c.lots)));
        }
        if !c.serials.is_empty() {
            let ranges = c
                .serials
                .iter()
                .map(|&(a, b)| Value::Array(vec![int(a), int(b)]))
                .collect();
            m.push((int(8), Value::Array(ranges)));
        }
        if !c.gs1_prefixes.is_empty() {
            m.push((int(9), texts(&c.gs1_prefixes)));
        }
        if let Some(max) = c.max_count {
            m.push((int(10), int(max)));
        }
        to_vec(&Value::Map(m))
    }

    /// The certificate framed for the root `root`, ready to be signed;
    /// refuses a certificate that breaks the rules of docs/FORMAT.md §17.
    pub fn to_unsigned(&self, root: KeyId) -> Result<UnsignedDocument, Error> {
        self.check()?;
        Ok(UnsignedDocument::new(
            Domain::Certificate,
            root,
            &self.document(),
        ))
    }

    /// Decodes a certificate's document (the signature is the caller's).
    pub(crate) fn decode(bytes: &[u8]) -> Result<LineCertificate, PayloadError> {
        let Value::Map(m) = parse_canonical(bytes)? else {
            return Err(PayloadError::NotAMap);
        };
        only_keys(&m, 10, "certificate")?;
        let subject = match field(&m, 0) {
            Some(Value::Bytes(b)) => <[u8; 32]>::try_from(b.as_slice())
                .ok()
                .and_then(|b| PublicKey::from_bytes(&b).ok())
                .ok_or(PayloadError::InvalidValue {
                    field: "subject",
                    reason: "not a valid, non-weak Ed25519 public key",
                })?,
            Some(_) => {
                return Err(PayloadError::WrongType {
                    field: "subject",
                    expected: "a 32-byte byte string",
                });
            }
            None => return Err(PayloadError::MissingField("subject")),
        };
        let name = match field(&m, 1) {
            Some(Value::Text(t)) => t.clone(),
            Some(_) => {
                return Err(PayloadError::WrongType {
                    field: "name",
                    expected: "a text string",
                });
            }
            None => return Err(PayloadError::MissingField("name")),
        };
        let day = |key, name| uint(&m, key, name).and_then(|d| crate::cbor::date(d, name));
        let texts = |key, name: &'static str| -> Result<Vec<String>, PayloadError> {
            match field(&m, key) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) if !items.is_empty() => items
                    .iter()
                    .map(|v| match v {
                        Value::Text(t) => Ok(t.clone()),
                        _ => Err(PayloadError::WrongType {
                            field: name,
                            expected: "an array of text strings",
                        }),
                    })
                    .collect(),
                Some(Value::Array(_)) => Err(PayloadError::InvalidValue {
                    field: name,
                    reason: "an empty list is written by leaving the field out",
                }),
                Some(_) => Err(PayloadError::WrongType {
                    field: name,
                    expected: "an array of text strings",
                }),
            }
        };
        let patterns = |key, name| -> Result<Vec<Pattern>, PayloadError> {
            texts(key, name)?
                .into_iter()
                .map(|t| check_pattern(name, &t).map(|()| Pattern(t)))
                .collect()
        };
        let serials = || -> Result<Vec<(u64, u64)>, PayloadError> {
            Ok(match field(&m, 8) {
                None => Vec::new(),
                Some(Value::Array(items)) if !items.is_empty() => items
                    .iter()
                    .map(|v| match v {
                        Value::Array(pair) => match pair.as_slice() {
                            [a, b] => crate::cbor::as_u64(a).zip(crate::cbor::as_u64(b)),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or(PayloadError::WrongType {
                        field: "serials",
                        expected: "an array of [first, last] unsigned integer pairs",
                    })?,
                Some(Value::Array(_)) => {
                    return Err(PayloadError::InvalidValue {
                        field: "serials",
                        reason: "an empty list is written by leaving the field out",
                    });
                }
                Some(_) => {
                    return Err(PayloadError::WrongType {
                        field: "serials",
                        expected: "an array of [first, last] unsigned integer pairs",
                    });
                }
            })
        };
        let max_count = || field(&m, 10).map(|_| uint(&m, 10, "max_count")).transpose();
        // Each field's type and shape in key order, then the rules of `check`.
        let cert = LineCertificate {
            subject,
            name,
            valid_from: day(2, "valid_from")?,
            valid_until: day(3, "valid_until")?,
            usage: Usage(uint(&m, 4, "usage")?),
            issued: uint(&m, 5, "issued")?,
            constraints: Constraints {
                parts: patterns(6, "parts")?,
                lots: patterns(7, "lots")?,
                serials: serials()?,
                gs1_prefixes: texts(9, "gs1_prefixes")?,
                max_count: max_count()?,
            },
        };
        cert.check()?;
        Ok(cert)
    }

    /// Reads a certificate's fields **without checking its signature**
    /// (framing and document rules only), with the key id of the root it
    /// names: for `hallmark cert show`, which says so. Use
    /// [`crate::TrustStore::add_certificate`] to trust one.
    pub fn decode_unverified(bytes: &[u8]) -> Result<(KeyId, LineCertificate), Error> {
        let framed = crate::signed::frame(bytes, Domain::Certificate, MAX_CERTIFICATE_BYTES)?;
        Ok((framed.kid, LineCertificate::decode(framed.body)?))
    }

    /// Checks that the certificate's window lies inside its root's.
    pub(crate) fn check_root_window(
        &self,
        root: &crate::TrustedKey,
        at: KeyId,
    ) -> Result<(), Error> {
        let inside = root.valid_from().is_none_or(|f| f <= self.valid_from)
            && root.valid_until().is_none_or(|u| self.valid_until <= u);
        if inside {
            Ok(())
        } else {
            Err(CertError::WindowOutsideRoot {
                name: self.name.clone(),
                from: self.valid_from,
                until: self.valid_until,
                root: root.name().to_owned(),
                root_kid: at,
                root_from: root.valid_from(),
                root_until: root.valid_until(),
            }
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn patterns_match_exactly_or_by_prefix() {
        let p = Pattern::new("DRN-*").unwrap();
        assert!(p.matches("DRN-") && p.matches("DRN-2980"));
        assert!(!p.matches("DRN") && !p.matches("drn-1"));
        let exact = Pattern::new("L1").unwrap();
        assert!(exact.matches("L1") && !exact.matches("L10"));
        for bad in ["", "*", "**", "A*B", "A**", " A*", "A\u{7f}"] {
            assert!(Pattern::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn usage_parses_and_prints() {
        assert_eq!("registry".parse::<Usage>().unwrap(), Usage::REGISTRY);
        assert!("".parse::<Usage>().is_err());
        assert!("codes,root".parse::<Usage>().is_err());
        assert_eq!(Usage::from_bits(16).to_string(), "nothing");
        assert!(!Usage::from_bits(16).contains(Usage::CODES));
        // Bit 3 is aggregation (issue 15), known now; alone it is still no
        // valid certificate usage (the format v1 rule).
        assert_eq!(Usage::from_bits(8).to_string(), "aggregation");
        assert_eq!(
            "codes,aggregation".parse::<Usage>().unwrap(),
            Usage::CODES.union(Usage::AGGREGATION)
        );
    }

    use crate::testkit::{Key, cert, certify, day, payload, roots};
    use crate::{Domain, TrustedKey, VerdictKind, Verifier};

    fn kind<T: core::fmt::Debug>(r: Result<T, Error>) -> &'static str {
        match r {
            Ok(v) => panic!("accepted: {v:?}"),
            Err(e) => e.kind(),
        }
    }

    fn verdict(trust: &TrustStore, code: &str) -> (VerdictKind, Option<&'static str>) {
        let v = Verifier::new(trust, day("2026-11-23")).verify(code);
        (v.kind(), v.refusal().map(|e| e.kind()))
    }

    use crate::TrustStore;

    #[test]
    fn every_constraint_is_enforced_on_codes() {
        let (root, line) = (Key::new(1), Key::new(2));
        let mut c = cert(&line, "line", Usage::CODES);
        c.constraints = Constraints {
            parts: vec![Pattern::new("DRN-*").unwrap()],
            lots: vec![Pattern::new("L1").unwrap(), Pattern::new("M*").unwrap()],
            serials: vec![(1, 100), (1000, 1000)],
            gs1_prefixes: vec!["0614141".into()],
            max_count: Some(101),
        };
        let mut trust = roots(&root);
        trust.add_certificate(&certify(&root, &c)).unwrap();
        let genuine = (VerdictKind::Genuine, None);
        assert_eq!(verdict(&trust, &line.code(&payload(1))), genuine);
        assert_eq!(verdict(&trust, &line.code(&payload(100))), genuine);
        assert_eq!(verdict(&trust, &line.code(&payload(1000))), genuine);
        let lot_m = Payload::new(5, "DRN-1", "M7", day("2026-06-01")).unwrap();
        assert_eq!(verdict(&trust, &line.code(&lot_m)), genuine);
        let out = |k| (VerdictKind::OutOfScope, Some(k));
        assert_eq!(
            verdict(&trust, &line.code(&payload(101))),
            out("serial-out-of-scope")
        );
        assert_eq!(
            verdict(&trust, &line.code(&payload(0))),
            out("serial-out-of-scope")
        );
        let part = Payload::new(5, "DRX-1", "L1", day("2026-06-01")).unwrap();
        assert_eq!(verdict(&trust, &line.code(&part)), out("part-out-of-scope"));
        let lot = Payload::new(5, "DRN-1", "L10", day("2026-06-01")).unwrap();
        assert_eq!(verdict(&trust, &line.code(&lot)), out("lot-out-of-scope"));
        // Part before lot before serial.
        let all = Payload::new(5000, "X", "X", day("2026-06-01")).unwrap();
        assert_eq!(verdict(&trust, &line.code(&all)), out("part-out-of-scope"));
        // The window: key-not-valid, before the constraints.
        for date in ["2025-12-31", "2028-01-01"] {
            let p = Payload::new(5000, "X", "X", day(date)).unwrap();
            assert_eq!(
                verdict(&trust, &line.code(&p)),
                (VerdictKind::KeyNotValid, Some("key-not-valid")),
                "{date}"
            );
        }
        for date in ["2026-01-01", "2027-12-31"] {
            let p = Payload::new(7, "DRN-1", "L1", day(date)).unwrap();
            assert_eq!(verdict(&trust, &line.code(&p)), genuine, "{date}");
        }
        // A forgery under a certified key is a bad signature, not out of scope.
        let forged = line.forged_code(&part);
        assert_eq!(verdict(&trust, &forged).0, VerdictKind::BadSignature);
    }

    #[test]
    fn usage_decides_what_a_certified_key_signs() {
        let (root, manifests_only, codes_only) = (Key::new(1), Key::new(2), Key::new(3));
        let mut trust = roots(&root);
        trust
            .add_certificate(&certify(
                &root,
                &cert(&manifests_only, "m", Usage::MANIFESTS),
            ))
            .unwrap();
        trust
            .add_certificate(&certify(&root, &cert(&codes_only, "c", Usage::CODES)))
            .unwrap();
        assert_eq!(
            verdict(&trust, &manifests_only.code(&payload(1))),
            (VerdictKind::KeyNotValid, Some("key-usage"))
        );
        assert_eq!(
            verdict(&trust, &codes_only.code(&payload(1))).0,
            VerdictKind::Genuine
        );
        // A codes-only key signs no manifest in a bundle, receipt or bundle.
        let bundle = crate::TrustBundle::default();
        assert_eq!(
            kind(crate::TrustBundle::verify(
                &codes_only.sign(bundle.to_unsigned(codes_only.kid())),
                &trust
            )),
            "key-usage"
        );
        let m = crate::testkit::manifest(&codes_only, vec![crate::testkit::batch(1, 1)]);
        let r = crate::testkit::receipt(&codes_only, &m, &codes_only, 1);
        assert_eq!(kind(crate::BatchReceipt::verify(&r, &trust)), "key-usage");
        // Unknown bits grant nothing, and are kept.
        let mut future = cert(&Key::new(4), "future", Usage::from_bits(1 << 40));
        assert_eq!(kind(future.to_unsigned(root.kid())), "invalid-value");
        future.usage = Usage::from_bits(1 << 40 | 1);
        let k = trust.add_certificate(&certify(&root, &future)).unwrap();
        assert_eq!(k.usage().bits(), 1 << 40 | 1);
        assert!(!k.is_revocation_signer());
        assert_eq!(
            verdict(&trust, &Key::new(4).code(&payload(1))).0,
            VerdictKind::Genuine
        );
    }

    #[test]
    fn two_levels_exactly() {
        let (root, line, grandchild) = (Key::new(1), Key::new(2), Key::new(3));
        let mut trust = roots(&root);
        let all = Usage::KNOWN;
        trust
            .add_certificate(&certify(&root, &cert(&line, "line", all)))
            .unwrap();
        // A chain of three: a certified key signing a certificate.
        let third = certify(&line, &cert(&grandchild, "third", all));
        assert_eq!(kind(trust.add_certificate(&third)), "chain-too-long");
        // A plain key signing one is the same.
        let plain = Key::new(5);
        trust
            .add(TrustedKey::new("plain", plain.public(), None, None).unwrap())
            .unwrap();
        let by_plain = certify(&plain, &cert(&grandchild, "third", all));
        assert_eq!(kind(trust.add_certificate(&by_plain)), "chain-too-long");
        // An unknown signer.
        let by_stranger = certify(&Key::new(6), &cert(&grandchild, "third", all));
        assert_eq!(kind(trust.add_certificate(&by_stranger)), "unknown-root");
        // A root signing a code, or any document.
        assert_eq!(
            verdict(&trust, &root.code(&payload(1))),
            (VerdictKind::KeyNotValid, Some("root-key"))
        );
        let m = crate::testkit::manifest(&root, vec![crate::testkit::batch(1, 1)]);
        assert_eq!(kind(crate::BatchManifest::verify(&m, &trust)), "root-key");
        let r = crate::testkit::receipt(&root, &m, &root, 1_780_000_000);
        assert_eq!(kind(crate::BatchReceipt::verify(&r, &trust)), "root-key");
        let snapshot = crate::RevocationSnapshot::new(1, 1_780_000_000);
        let s = root.sign(snapshot.to_unsigned(root.kid()));
        assert_eq!(
            kind(crate::RevocationSnapshot::verify(&s, &trust)),
            "root-key"
        );
        // Found while specifying §17: the root was refused before its
        // signature was checked, so anyone could make `root-key` (which says
        // the root signed a code) by writing a root's kid. Signature first now.
        let forged = root.forged_code(&payload(1));
        assert_eq!(
            verdict(&trust, &forged),
            (VerdictKind::BadSignature, Some("bad-signature"))
        );
        let mut forged_doc = m.clone();
        if let Some(b) = forged_doc.last_mut() {
            *b ^= 1;
        }
        assert_eq!(
            kind(crate::BatchManifest::verify(&forged_doc, &trust)),
            "bad-signature"
        );
        // A certificate whose subject is a root.
        let mut other_root = roots(&root);
        let second = Key::new(7);
        other_root
            .add_root(TrustedKey::new("root2", second.public(), None, None).unwrap())
            .unwrap();
        let of_root = certify(&root, &cert(&second, "r2", all));
        assert_eq!(
            kind(other_root.add_certificate(&of_root)),
            "subject-is-root"
        );
        let of_itself = certify(&root, &cert(&root, "self", all));
        assert_eq!(
            kind(other_root.add_certificate(&of_itself)),
            "subject-is-root"
        );
    }

    #[test]
    fn window_must_lie_inside_the_roots() {
        let (root, line) = (Key::new(1), Key::new(2));
        let mut trust = roots(&root); // 2025-01-01 to 2030-12-31
        for (from, until) in [("2024-12-31", "2026-01-01"), ("2026-01-01", "2031-01-01")] {
            let mut c = cert(&line, "line", Usage::CODES);
            c.valid_from = day(from);
            c.valid_until = day(until);
            assert_eq!(
                kind(trust.add_certificate(&certify(&root, &c))),
                "window-outside-root",
                "{from}..{until}"
            );
        }
        let mut c = cert(&line, "line", Usage::CODES);
        c.valid_from = day("2025-01-01");
        c.valid_until = day("2030-12-31");
        assert!(trust.add_certificate(&certify(&root, &c)).is_ok());
        // An unbounded root bounds nothing.
        let mut open = TrustStore::new();
        open.add_root(TrustedKey::new("open", root.public(), None, None).unwrap())
            .unwrap();
        c.valid_from = Date::EPOCH;
        c.valid_until = Date::MAX;
        assert!(open.add_certificate(&certify(&root, &c)).is_ok());
    }

    #[test]
    fn same_certificate_twice_is_a_no_op_two_different_ones_conflict() {
        let (root, line) = (Key::new(1), Key::new(2));
        let mut trust = roots(&root);
        let c = cert(&line, "line", Usage::CODES);
        let bytes = certify(&root, &c);
        trust.add_certificate(&bytes).unwrap();
        let before = trust.clone();
        trust.add_certificate(&bytes).unwrap();
        assert_eq!(trust, before);
        assert_eq!(trust.keys().len(), 1);
        let mut wider = c.clone();
        wider.valid_until = day("2028-12-31");
        assert_eq!(
            kind(trust.add_certificate(&certify(&root, &wider))),
            "certificate-conflict"
        );
        // A certificate for a key the store trusts as a plain key conflicts too.
        let mut plain = roots(&root);
        plain
            .add(TrustedKey::new("plain", line.public(), None, None).unwrap())
            .unwrap();
        assert_eq!(kind(plain.add_certificate(&bytes)), "certificate-conflict");
    }

    #[test]
    fn malformed_and_oversized_certificates_are_refused() {
        let (root, line) = (Key::new(1), Key::new(2));
        let mut trust = roots(&root);
        let good = certify(&root, &cert(&line, "line", Usage::CODES));
        // Every byte altered: refused (signature, or framing for byte 0).
        for i in 0..good.len() {
            let mut bad = good.clone();
            if let Some(b) = bad.get_mut(i) {
                *b ^= 1;
            }
            assert!(trust.clone().add_certificate(&bad).is_err(), "byte {i}");
        }
        let mut sig = good.clone();
        if let Some(b) = sig.last_mut() {
            *b ^= 0x40;
        }
        assert_eq!(kind(trust.add_certificate(&sig)), "bad-signature");
        assert_eq!(kind(trust.add_certificate(&good[..20])), "truncated");
        assert_eq!(kind(trust.add_certificate(&[2; 80])), "unsupported-version");
        let big = vec![1; MAX_CERTIFICATE_BYTES + 1];
        assert_eq!(kind(trust.add_certificate(&big)), "too-long");
        // Correctly signed bodies that break the document rules.
        let raw = |body: &[u8]| root.sign_raw(Domain::Certificate, root.kid(), body);
        let doc = cert(&line, "line", Usage::CODES).document();
        let with = |k: u64, v: Value| {
            let Value::Map(mut m) = parse_canonical(&doc).unwrap() else {
                panic!()
            };
            m.retain(|(key, _)| crate::cbor::as_u64(key) != Some(k));
            m.push((int(k), v));
            m.sort_by_key(|(key, _)| crate::cbor::as_u64(key));
            to_vec(&Value::Map(m))
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (with(11, int(0)), "invalid-value"),
            (with(0, Value::Bytes(vec![0; 31])), "invalid-value"),
            (with(0, Value::Text("k".into())), "wrong-type"),
            (with(1, Value::Text("bad name".into())), "invalid-value"),
            (with(3, int(0)), "invalid-value"),
            (with(3, int(3_000_000)), "invalid-value"),
            (with(4, int(0)), "invalid-value"),
            (with(4, int(1 << 9)), "invalid-value"),
            (with(6, Value::Array(vec![])), "invalid-value"),
            (
                with(6, Value::Array(vec![Value::Text("*".into())])),
                "invalid-value",
            ),
            (with(7, Value::Array(vec![int(1)])), "wrong-type"),
            (
                with(8, Value::Array(vec![Value::Array(vec![int(5), int(4)])])),
                "invalid-value",
            ),
            (
                with(8, Value::Array(vec![Value::Array(vec![int(5)])])),
                "wrong-type",
            ),
            (
                with(9, Value::Array(vec![Value::Text("123".into())])),
                "invalid-value",
            ),
            (
                with(9, Value::Array(vec![Value::Text("12a4".into())])),
                "invalid-value",
            ),
            (with(10, int(0)), "invalid-value"),
            (with(10, Value::Text("1".into())), "wrong-type"),
            (doc.get(..doc.len() - 1).unwrap().to_vec(), "invalid-cbor"),
            ([&doc[..], &[0]].concat(), "trailing-bytes"),
            (to_vec(&Value::Array(vec![])), "not-a-map"),
        ];
        for (body, expected) in cases {
            assert_eq!(
                kind(trust.add_certificate(&raw(&body))),
                expected,
                "{}",
                hex::encode(&body)
            );
        }
        // A missing field, a key twice, keys out of order.
        let Value::Map(m) = parse_canonical(&doc).unwrap() else {
            panic!()
        };
        let without_name: Vec<_> = m.iter().filter(|(k, _)| *k != int(1)).cloned().collect();
        assert_eq!(
            kind(trust.add_certificate(&raw(&to_vec(&Value::Map(without_name))))),
            "missing-field"
        );
        let mut twice = doc.clone();
        twice[0] += 1; // one more pair in the map head
        twice.extend_from_slice(&[0x05, 0x00]); // key 5 again, after 5
        assert_eq!(kind(trust.add_certificate(&raw(&twice))), "duplicate-key");
        let mut unsorted = m.clone();
        unsorted.swap(0, 1);
        assert_eq!(
            kind(trust.add_certificate(&raw(&to_vec(&Value::Map(unsorted))))),
            "unsorted-keys"
        );
    }

    #[test]
    fn decoding_and_reencoding_agree() {
        let (root, line) = (Key::new(1), Key::new(2));
        let mut c = cert(&line, "line", Usage::CODES.union(Usage::MANIFESTS));
        c.constraints = Constraints {
            parts: vec![Pattern::new("DRN-*").unwrap()],
            lots: vec![Pattern::new("L1").unwrap()],
            serials: vec![(0, u64::MAX)],
            gs1_prefixes: vec!["0614141".into()],
            max_count: Some(u64::MAX),
        };
        let bytes = certify(&root, &c);
        let (kid, back) = LineCertificate::decode_unverified(&bytes).unwrap();
        assert_eq!((kid, &back), (root.kid(), &c));
        assert_eq!(certify(&root, &back), bytes);
        let mut trust = roots(&root);
        let key = trust.add_certificate(&bytes).unwrap();
        assert_eq!(key.certificate(), Some(&c));
        assert_eq!(key.certificate_bytes(), Some(&bytes[..]));
        assert_eq!(key.usage(), c.usage);
        assert_eq!(
            (key.valid_from(), key.valid_until()),
            (Some(c.valid_from), Some(c.valid_until))
        );
    }

    /// Found while specifying §17: serials (8) and max_count (10) were read
    /// before the dates, so a document wrong in several fields reported a
    /// later key first. Fields are now read in key order.
    #[test]
    fn certificate_fields_are_checked_in_key_order() {
        let root = Key::new(1);
        let doc = cert(&Key::new(2), "line", Usage::CODES).document();
        let Value::Map(mut m) = parse_canonical(&doc).unwrap() else {
            panic!()
        };
        m.retain(|(k, _)| *k != int(2));
        m.push((int(8), int(1)));
        m.push((int(10), Value::Text("x".into())));
        let body = to_vec(&Value::Map(m));
        let mut trust = roots(&root);
        let signed = root.sign_raw(Domain::Certificate, root.kid(), &body);
        assert!(matches!(
            trust.add_certificate(&signed),
            Err(Error::Payload(PayloadError::MissingField("valid_from")))
        ));
    }

    #[test]
    fn check_batch_needs_the_whole_range_inside_one_range() {
        let c = Constraints {
            serials: vec![(1, 10), (11, 20)],
            ..Constraints::default()
        };
        assert_eq!(c.check_batch("P", "L", 1, 10), Ok(()));
        assert_eq!(c.check_batch("P", "L", 5, 15), Err(Constraint::Serial));
        assert_eq!(
            Constraints::default().check_batch("P", "L", 0, u64::MAX),
            Ok(())
        );
    }
}
