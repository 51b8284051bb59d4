//! A code's verdict as data to serialize: the one shape `hallmark verify
//! --json` and the service's JSON API both print (one vocabulary: `verdict`,
//! `error`, `detail`, `code`, `kid`, `key_name`, `payload`, `revocation`).
//!
//! ```
//! use hallmark::{Date, TrustStore, Verifier};
//! use hallmark::report::Report;
//!
//! let trust = TrustStore::new();
//! let verifier = Verifier::new(&trust, "2026-11-23".parse()?);
//! let report = Report::new(&verifier.verify("0000"), "0000");
//! assert_eq!(report.verdict.as_str(), "malformed");
//! assert!(report.payload.is_none());
//! assert!(report.detail.is_some());
//! # Ok::<(), hallmark::Error>(())
//! ```

use serde::{Serialize, Serializer};

use crate::{Payload, Revocation, Scope, UnverifiedCode, Verdict, VerdictKind};

/// What one code's verdict says, ready to serialize. Built by
/// [`Report::new`]; fields that do not apply are `None` (serialized as
/// absent).
///
/// The payload, key id and key name are present exactly when the signature
/// verified (genuine, stale, expired, revoked): a report never shows the
/// claims of a code whose signature failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct Report {
    /// `genuine`, `stale`, `malformed`, `unknown-key`, `bad-signature`,
    /// `key-not-valid`, `expired`, `revoked` or `duplicate`.
    #[serde(serialize_with = "kind_str")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub verdict: VerdictKind,
    /// Why the code is refused: the precise error kind of docs/FORMAT.md
    /// §8.4 (e.g. `bad-base32`, `bad-signature`, `expired`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    /// Why the code is refused, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The code in canonical text form, when it decodes (whether or not its
    /// signature verified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The issuer key id, 8 hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The issuer key's name in the trust store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    /// The signed payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<PayloadReport>,
    /// The revocation that applies (verdict `revoked`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<RevocationReport>,
}

impl Report {
    /// The field names a report can have, in order (for formats that list
    /// every field, absent ones as null).
    pub const FIELDS: [&'static str; 8] = [
        "verdict",
        "error",
        "detail",
        "code",
        "kid",
        "key_name",
        "payload",
        "revocation",
    ];

    /// The report of `verdict`, reached by verifying `scanned` (the input is
    /// only decoded again for `code` when the signature did not verify).
    pub fn new(verdict: &Verdict, scanned: &str) -> Report {
        let refusal = verdict.refusal();
        let verified = verdict.verified();
        Report {
            verdict: verdict.kind(),
            error: refusal.as_ref().map(|e| e.kind()),
            detail: refusal.map(|e| e.to_string()),
            code: canonical_code(verdict, scanned),
            kid: verified.map(|v| v.kid().to_string()),
            key_name: verified.map(|v| v.key_name().to_owned()),
            payload: verified.map(|v| PayloadReport::from(v.payload())),
            revocation: match verdict {
                Verdict::Revoked { revocation, .. } => Some(RevocationReport::from(revocation)),
                _ => None,
            },
        }
    }

    /// This report with another verdict: a caller that knows more (a
    /// duplicate found by a seen journal) reports it.
    pub fn with_verdict(mut self, verdict: VerdictKind) -> Report {
        self.verdict = verdict;
        self
    }
}

/// The canonical text of the code `scanned` was read as: the verified code's,
/// or, when the signature did not verify, what `scanned` decodes to (`None`
/// if it does not decode). [`Report::code`].
pub fn canonical_code(verdict: &Verdict, scanned: &str) -> Option<String> {
    match verdict.verified() {
        Some(v) => Some(v.to_text()),
        None => UnverifiedCode::decode(scanned).ok().map(|c| c.to_text()),
    }
}

fn kind_str<S: Serializer>(kind: &VerdictKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.as_str())
}

/// A payload's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct PayloadReport {
    /// Serial number.
    pub serial: u64,
    /// Part number.
    pub part: String,
    /// Lot.
    pub lot: String,
    /// Date of manufacture, YYYY-MM-DD.
    pub date: String,
    /// Expiry date, YYYY-MM-DD, or null.
    pub expiry: Option<String>,
    /// Extensions, by key, each value as its CBOR encoding in lower-case hex.
    pub extensions: Vec<ExtensionReport>,
}

/// One payload extension.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ExtensionReport {
    /// The extension's key.
    pub key: u64,
    /// Its value's CBOR encoding, lower-case hex.
    pub cbor: String,
}

impl From<&Payload> for PayloadReport {
    fn from(p: &Payload) -> PayloadReport {
        PayloadReport {
            serial: p.serial(),
            part: p.part().to_owned(),
            lot: p.lot().to_owned(),
            date: p.date().to_string(),
            expiry: p.expiry().map(|d| d.to_string()),
            extensions: p
                .extensions()
                .iter()
                .map(|e| ExtensionReport {
                    key: e.key(),
                    cbor: hex::encode(e.value_cbor()),
                })
                .collect(),
        }
    }
}

/// A revocation: why, from when, and what it covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RevocationReport {
    /// `recalled`, `stolen`, `destroyed`, `counterfeit-reported`,
    /// `key-compromised` or `decommissioned`.
    pub reason: &'static str,
    /// When it took effect, YYYY-MM-DD.
    pub date: String,
    /// What it covers.
    pub scope: ScopeReport,
}

impl From<&Revocation> for RevocationReport {
    fn from(r: &Revocation) -> RevocationReport {
        RevocationReport {
            reason: r.reason.as_str(),
            date: r.date.to_string(),
            scope: ScopeReport::from(&r.scope),
        }
    }
}

/// What a revocation or status covers: exactly one field is present.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct ScopeReport {
    /// One serial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<u64>,
    /// A serial range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<RangeReport>,
    /// A lot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// The whole key, for codes made on or after this date (YYYY-MM-DD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_from: Option<String>,
    /// The key was compromised at this time (RFC 3339, UTC): every code of it
    /// not in a batch registered before then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_compromised_at: Option<String>,
}

/// A serial range, inclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub struct RangeReport {
    /// First serial.
    pub first: u64,
    /// Last serial.
    pub last: u64,
}

impl From<&Scope> for ScopeReport {
    fn from(scope: &Scope) -> ScopeReport {
        match scope {
            Scope::Serial(s) => ScopeReport {
                serial: Some(*s),
                ..ScopeReport::default()
            },
            Scope::Range { first, last } => ScopeReport {
                range: Some(RangeReport {
                    first: *first,
                    last: *last,
                }),
                ..ScopeReport::default()
            },
            Scope::Lot(lot) => ScopeReport {
                lot: Some(lot.clone()),
                ..ScopeReport::default()
            },
            Scope::Key { from } => ScopeReport {
                key_from: Some(from.to_string()),
                ..ScopeReport::default()
            },
            Scope::Compromise { at } => ScopeReport {
                key_compromised_at: Some(crate::date::rfc3339(*at)),
                ..ScopeReport::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{Date, KeyId, Reason, RevocationSnapshot, TrustStore, TrustedKey, Verifier};

    fn fixture() -> (TrustStore, String, KeyId) {
        // The demo key of keys.example/ and its demo code (see lib.rs).
        let trust = TrustStore::from_toml(
            "[[key]]\nname = \"demo-TEST-ONLY\"\n\
             public_key = \"0faada074b654141829ba20700f2446d0f8e1f8f8794ffc2f18239c980f024ee\"\n",
        )
        .unwrap();
        let scanned = "0630-hcdq-mg01-m1tv-smag-2t24-a972-tchs-70r0-4tjc-68sk-2chh-68pk-0c83-356f-fx0a-nvqr-trzf-qz5t-qv6w-pghq-jk82-wbzv-4vj8-6213-x7s0-naq9-4ey8-srqv-mypg-1565-7fj4-saqx-zq5w-pthy-9brx-ctxm-5a1t-m3rm-tcqd-hr7g";
        let code = UnverifiedCode::decode(scanned).unwrap().to_text();
        let kid = trust.keys().first().map(TrustedKey::kid).unwrap();
        (trust, code, kid)
    }

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn genuine_reports_the_verified_payload_and_no_refusal() {
        let (trust, code, kid) = fixture();
        let v = Verifier::new(&trust, day("2026-11-23")).verify(&code.to_lowercase());
        let r = Report::new(&v, &code);
        assert_eq!(r.verdict, VerdictKind::Genuine);
        assert_eq!((r.error, r.detail.as_deref()), (None, None));
        assert_eq!(r.code.as_deref(), Some(code.as_str()));
        assert_eq!(r.kid, Some(kid.to_string()));
        assert_eq!(r.key_name.as_deref(), Some("demo-TEST-ONLY"));
        let p = r.payload.as_ref().unwrap();
        assert_eq!((p.serial, p.part.as_str()), (123_456_789, "DRN-2980"));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["verdict"], "genuine");
        assert!(json.get("error").is_none() && json.get("revocation").is_none());
        assert_eq!(json["payload"]["date"], "2023-12-12");
    }

    #[test]
    fn a_forged_code_reports_no_claims() {
        let (trust, code, _) = fixture();
        let forged = code.to_lowercase().replacen('a', "b", 1);
        let v = Verifier::new(&trust, day("2026-11-23")).verify(&forged);
        let r = Report::new(&v, &forged);
        assert_eq!(r.verdict, VerdictKind::BadSignature);
        assert_eq!(r.error, Some("bad-signature"));
        assert!(r.detail.is_some());
        assert!(r.code.is_some(), "it still decodes");
        assert_eq!((r.kid, r.key_name, r.payload), (None, None, None));
    }

    #[test]
    fn revoked_carries_its_revocation_and_a_caller_may_report_a_duplicate() {
        let (trust, code, kid) = fixture();
        let mut snapshot = RevocationSnapshot::new(1, 0);
        snapshot
            .add(
                kid,
                Scope::Range {
                    first: 1,
                    last: 200_000_000,
                },
                Reason::Stolen,
                day("2026-11-01"),
            )
            .unwrap();
        let v = Verifier::new(&trust, day("2026-11-23"))
            .with_revocations(&snapshot, 0, u64::MAX)
            .verify(&code);
        let r = Report::new(&v, &code);
        assert_eq!(r.verdict, VerdictKind::Revoked);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["revocation"],
            serde_json::json!({"reason": "stolen", "date": "2026-11-01",
                "scope": {"range": {"first": 1, "last": 200_000_000}}})
        );
        assert_eq!(json["payload"]["serial"], 123_456_789);
        let dup = r.with_verdict(VerdictKind::Duplicate);
        assert_eq!(serde_json::to_value(&dup).unwrap()["verdict"], "duplicate");
    }

    #[test]
    fn fields_lists_every_field_in_order() {
        let r = Report {
            verdict: VerdictKind::Revoked,
            error: Some("e"),
            detail: Some(String::new()),
            code: Some(String::new()),
            kid: Some(String::new()),
            key_name: Some(String::new()),
            payload: None,
            revocation: Some(RevocationReport {
                reason: "stolen",
                date: String::new(),
                scope: ScopeReport::default(),
            }),
        };
        let mut r = r;
        r.payload = Some(PayloadReport {
            serial: 0,
            part: String::new(),
            lot: String::new(),
            date: String::new(),
            expiry: None,
            extensions: Vec::new(),
        });
        let json = serde_json::to_value(&r).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = Report::FIELDS.to_vec();
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected);
    }
}
