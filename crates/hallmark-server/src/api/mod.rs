//! The JSON the API speaks: request and response bodies.
//!
//! Handlers build these types (never ad-hoc JSON), so the OpenAPI document
//! (the `openapi` module) describes what is sent.

pub mod history;

use hallmark::report::{Report, ScopeReport};
use hallmark::{Date, KeyId, Reason, Scope, TrustedKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::storage::{ScanSummary, Status};

pub mod registrations;

/// Every error: a stable kebab-case kind and a sentence for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The kind, e.g. `invalid-request`, `unauthorized`, `rate-limited`.
    pub error: String,
    /// What was wrong, for people.
    pub detail: String,
    /// For a code that could not be read: `malformed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
}

/// Serial range, inclusive.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeBody {
    /// First serial.
    pub first: u64,
    /// Last serial (at least `first`).
    pub last: u64,
}

/// A code's current status.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    /// `active`, `revoked` or `decommissioned`.
    #[schema(pattern = "^(active|revoked|decommissioned)$")]
    pub state: String,
    /// The revocation reason (not for `active`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it took effect, YYYY-MM-DD (not for `active`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// What the status was set on (the serial, its range, lot or key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeReport>,
    /// When it was recorded, seconds since 1970-01-01 UTC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
}

impl From<Option<&Status>> for StatusBody {
    fn from(status: Option<&Status>) -> StatusBody {
        match status {
            None => StatusBody {
                state: "active".into(),
                reason: None,
                date: None,
                scope: None,
                since: None,
            },
            Some(s) => StatusBody {
                state: s.state().into(),
                reason: Some(s.revocation.reason.as_str().into()),
                date: Some(s.revocation.date.to_string()),
                scope: Some(ScopeReport::from(&s.revocation.scope)),
                since: Some(s.time),
            },
        }
    }
}

/// What the scans of a code add up to (within the retention period).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScansBody {
    /// Scans recorded (scans older than the retention period are forgotten).
    pub count: u64,
    /// Distinct locations within the clone-detection window, authenticated
    /// and anonymous scanners together.
    pub locations_in_window: u64,
    /// Distinct locations within the window reported by authenticated
    /// scanners (a `scans` token).
    pub trusted_locations_in_window: u64,
    /// First scan, seconds since 1970-01-01 UTC.
    pub first: Option<u64>,
    /// Last scan, seconds since 1970-01-01 UTC.
    pub last: Option<u64>,
}

impl From<&ScanSummary> for ScansBody {
    fn from(s: &ScanSummary) -> ScansBody {
        ScansBody {
            count: s.count,
            locations_in_window: s.locations_in_window,
            trusted_locations_in_window: s.trusted_locations_in_window,
            first: s.first,
            last: s.last,
        }
    }
}

/// A scan alert.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertBody {
    /// `scanned-after-revocation`, `scanned-after-decommission`,
    /// `clone-suspected` or `unregistered-serial`.
    pub alert: String,
    /// What was seen.
    pub detail: String,
}

/// What the service knows of a code (`GET /v1/codes/{code}`,
/// `POST /v1/scans`): the verifier's report (the same fields as `hallmark
/// verify --json`: `verdict`, `error`, `detail`, `code`, `kid`, `key_name`,
/// `payload`, `revocation`; `kid`, `key_name` and `payload` when the signature
/// verified, also for `revoked` and `expired` codes), then what the service
/// adds.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeReport {
    /// The verdict and what the code says.
    #[serde(flatten)]
    pub report: Report,
    /// The current status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusBody>,
    /// Whether the serial is in a registered batch (lookups).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered: Option<bool>,
    /// Whether this scan was recorded (scans; only codes whose signature
    /// verified are).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<bool>,
    /// Alerts this scan raised (scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Vec<AlertBody>>,
    /// The code's scans, this one included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scans: Option<ScansBody>,
    /// The containment chain upward (aggregations and active links), at
    /// most 8 levels: each step's `unit`, `parent`, `via` (`link` or
    /// `aggregation`), `id`, `digest` and `depth` (lookups).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub contained_in: Option<Vec<serde_json::Value>>,
    /// The unit's assembly links, active and removed (`removed_at`),
    /// oldest first (lookups).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub components: Option<Vec<serde_json::Value>>,
    /// The unit's service and test history in brief (lookups): `count`, and
    /// the `last` event's `id`, `type`, `date`, `result` and `summary`; the
    /// whole history is at `GET /v1/codes/{code}/events`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub history: Option<serde_json::Value>,
    /// A verified GS1 unit's data as printed (GS1 scans only; `payload`
    /// then holds its facts in the v1 shape, the serial being the unit
    /// number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gs1: Option<Gs1Body>,
}

/// A verified GS1 unit's data.
#[derive(Debug, Serialize, ToSchema)]
pub struct Gs1Body {
    /// The GTIN (AI 01), 14 digits.
    pub gtin: String,
    /// The serial (AI 21) as printed.
    pub serial: String,
    /// Every element as read, in order, 8030 included.
    pub elements: Vec<Gs1ElementBody>,
}

/// One GS1 element: an application identifier and its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct Gs1ElementBody {
    /// The application identifier, e.g. `01`, `21`, `8030`.
    pub ai: String,
    /// Its value.
    pub value: String,
}

impl From<&hallmark::gs1::Gs1Unit> for Gs1Body {
    fn from(u: &hallmark::gs1::Gs1Unit) -> Gs1Body {
        Gs1Body {
            gtin: u.gtin().to_owned(),
            serial: u.serial_text().to_owned(),
            elements: u
                .data()
                .elements()
                .map(|(ai, value)| Gs1ElementBody {
                    ai: ai.to_owned(),
                    value: value.to_owned(),
                })
                .collect(),
        }
    }
}

/// `POST /v1/scans`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// The code as scanned (text, URL, or with a scanner prefix).
    pub code: String,
    /// Where (at most 128 bytes, no control characters).
    #[serde(default)]
    pub location: Option<String>,
    /// Who or what scanned (same limits).
    #[serde(default)]
    pub scanner: Option<String>,
}

/// `POST /v1/status` on the wire: an action and exactly one target. This is
/// what the OpenAPI document describes; handlers receive it as the typed
/// [`StatusRequest`], which serde builds from it (so a request that does not
/// make one is a 400 before the handler runs).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StatusRequest)]
pub struct StatusRequestBody {
    /// `revoke`, `decommission`, `reactivate` or `compromise` (with `kid`
    /// and `at`: the key was compromised at that time; its codes are revoked
    /// with reason key-compromised unless a batch registered before `at`
    /// holds them).
    #[schema(value_type = String, pattern = "^(revoke|decommission|reactivate|compromise)$")]
    pub action: ActionWord,
    /// For `revoke` (and only for it): recalled, stolen, destroyed,
    /// counterfeit-reported or key-compromised.
    #[serde(default, deserialize_with = "parsed")]
    #[schema(value_type = Option<String>, pattern = "^(recalled|stolen|destroyed|counterfeit-reported|key-compromised)$")]
    pub reason: Option<Reason>,
    /// The issuer key id (8 hex digits); implied by `code`.
    #[serde(default, deserialize_with = "parsed")]
    #[schema(value_type = Option<String>, pattern = "^[0-9a-fA-F]{8}$")]
    pub kid: Option<KeyId>,
    /// A code: targets its serial (its signature must verify).
    #[serde(default)]
    pub code: Option<String>,
    /// One serial.
    #[serde(default)]
    pub serial: Option<u64>,
    /// A serial range.
    #[serde(default)]
    pub range: Option<RangeBody>,
    /// A lot.
    #[serde(default)]
    pub lot: Option<String>,
    /// A whole key, for codes made on or after this date (YYYY-MM-DD).
    #[serde(default, deserialize_with = "parsed")]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub key_from: Option<Date>,
    /// A key's compromise (with `compromise`, or `reactivate` to remove it):
    /// when the key was compromised, RFC 3339 UTC (`2026-11-20T10:00:00Z`)
    /// or seconds since 1970.
    #[serde(default, deserialize_with = "instant")]
    #[schema(value_type = Option<String>, example = "2026-11-20T10:00:00Z")]
    pub at: Option<u64>,
    /// When the change takes effect, YYYY-MM-DD (default today).
    #[serde(default, deserialize_with = "parsed")]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub date: Option<Date>,
}

/// Parses an RFC 3339 UTC time, `YYYY-MM-DDTHH:MM:SSZ` (a lower-case `t` or
/// `z` too, and fractions of a second, which are dropped), into seconds
/// since 1970-01-01 UTC.
pub fn parse_instant(s: &str) -> Result<u64, String> {
    let bad = || format!("{s:?} is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ) nor seconds");
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(secs);
    }
    let (day, time) = s.split_once(['T', 't']).ok_or_else(bad)?;
    let date: Date = day.parse().map_err(|_| bad())?;
    let time = time
        .strip_suffix(['Z', 'z'])
        .ok_or_else(|| format!("{s:?}: give the time in UTC, ending in Z"))?;
    let time = time.split_once('.').map_or(time, |(t, frac)| {
        if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) {
            t
        } else {
            ""
        }
    });
    let mut parts = time.split(':');
    let mut next = |max: u64| -> Result<u64, String> {
        let p = parts.next().ok_or_else(bad)?;
        if p.len() != 2 {
            return Err(bad());
        }
        p.parse::<u64>().ok().filter(|v| *v <= max).ok_or_else(bad)
    };
    let (h, m, sec) = (next(23)?, next(59)?, next(59)?);
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok(u64::from(date.days()) * 86_400 + h * 3600 + m * 60 + sec)
}

/// An optional instant: seconds (a JSON number) or an RFC 3339 UTC string.
fn instant<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Instant {
        Seconds(u64),
        Text(String),
    }
    match Option::<Instant>::deserialize(deserializer)? {
        None => Ok(None),
        Some(Instant::Seconds(n)) => Ok(Some(n)),
        Some(Instant::Text(t)) => parse_instant(&t)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

/// The `action` of a status request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionWord {
    /// Revoke, with a reason.
    Revoke,
    /// Mark decommissioned.
    Decommission,
    /// Remove the status set on exactly the target.
    Reactivate,
    /// Record a key's compromise.
    Compromise,
}

/// An optional string field parsed by its type's `FromStr` (a field that is
/// absent or `null` is `None`).
fn parsed<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    Option::<String>::deserialize(deserializer)?
        .map(|s| s.parse().map_err(serde::de::Error::custom))
        .transpose()
}

/// `POST /v1/status`, typed: tagged by its action, with one typed target.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "StatusRequestBody")]
pub enum StatusRequest {
    /// Revoke the target for a reason (never [`Reason::Decommissioned`]).
    Revoke {
        /// Why.
        reason: Reason,
        /// What.
        target: StatusTarget,
        /// When it takes effect (default today).
        date: Option<Date>,
    },
    /// Mark the target decommissioned.
    Decommission {
        /// What.
        target: StatusTarget,
        /// When it takes effect (default today).
        date: Option<Date>,
    },
    /// Remove the status set on exactly the target.
    Reactivate {
        /// What.
        target: StatusTarget,
        /// When it takes effect (default today).
        date: Option<Date>,
    },
    /// Record that a key was compromised at a time (the target is
    /// [`Scope::Compromise`]).
    Compromise {
        /// The key and the time.
        target: StatusTarget,
        /// When it was published (default today).
        date: Option<Date>,
    },
}

impl StatusRequest {
    /// The target.
    pub fn target(&self) -> &StatusTarget {
        match self {
            StatusRequest::Revoke { target, .. }
            | StatusRequest::Decommission { target, .. }
            | StatusRequest::Reactivate { target, .. }
            | StatusRequest::Compromise { target, .. } => target,
        }
    }

    /// The date given, if any.
    pub fn date(&self) -> Option<Date> {
        match self {
            StatusRequest::Revoke { date, .. }
            | StatusRequest::Decommission { date, .. }
            | StatusRequest::Reactivate { date, .. }
            | StatusRequest::Compromise { date, .. } => *date,
        }
    }
}

/// What a status request targets: exactly one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusTarget {
    /// A code's serial (its signature must verify; `kid`, if given, must be
    /// its key).
    Code {
        /// The code as given.
        code: String,
        /// The key id given beside it.
        kid: Option<KeyId>,
    },
    /// A serial, a range, a lot or a key from a date, of key `kid`.
    Scope {
        /// The issuer key.
        kid: KeyId,
        /// The target.
        scope: Scope,
    },
}

impl TryFrom<StatusRequestBody> for StatusRequest {
    type Error = String;

    fn try_from(b: StatusRequestBody) -> Result<StatusRequest, String> {
        let target = match (b.code, b.serial, b.range, b.lot, b.key_from, b.at) {
            (Some(code), None, None, None, None, None) => StatusTarget::Code { code, kid: b.kid },
            (None, Some(serial), None, None, None, None) => scope(b.kid, Scope::Serial(serial))?,
            (None, None, Some(r), None, None, None) => scope(
                b.kid,
                Scope::Range {
                    first: r.first,
                    last: r.last,
                },
            )?,
            (None, None, None, Some(lot), None, None) => scope(b.kid, Scope::Lot(lot))?,
            (None, None, None, None, Some(from), None) => scope(b.kid, Scope::Key { from })?,
            (None, None, None, None, None, Some(at)) => scope(b.kid, Scope::Compromise { at })?,
            _ => {
                return Err(
                    "give exactly one target: code, serial, range, lot, key_from or at".into(),
                );
            }
        };
        let date = b.date;
        let compromise = matches!(
            target,
            StatusTarget::Scope {
                scope: Scope::Compromise { .. },
                ..
            }
        );
        match (b.action, compromise) {
            (ActionWord::Compromise, true) => {
                return match b.reason {
                    None | Some(Reason::KeyCompromised) => {
                        Ok(StatusRequest::Compromise { target, date })
                    }
                    Some(_) => Err("a compromise's reason is key-compromised".into()),
                };
            }
            (ActionWord::Compromise, false) => {
                return Err("compromise needs kid and at (when the key was compromised)".into());
            }
            (ActionWord::Revoke | ActionWord::Decommission, true) => {
                return Err("record a key's compromise with the action compromise".into());
            }
            _ => {}
        }
        match (b.action, b.reason) {
            (ActionWord::Revoke, Some(Reason::Decommissioned)) => {
                Err("use the action decommission, not the reason".into())
            }
            (ActionWord::Revoke, Some(reason)) => Ok(StatusRequest::Revoke {
                reason,
                target,
                date,
            }),
            (ActionWord::Revoke, None) => Err("revoke needs a reason".into()),
            (ActionWord::Decommission | ActionWord::Reactivate, Some(_)) => {
                Err("only revoke takes a reason".into())
            }
            (ActionWord::Decommission, None) => Ok(StatusRequest::Decommission { target, date }),
            (ActionWord::Reactivate, None) => Ok(StatusRequest::Reactivate { target, date }),
            (ActionWord::Compromise, _) => Err("compromise needs kid and at".into()),
        }
    }
}

fn scope(kid: Option<KeyId>, scope: Scope) -> Result<StatusTarget, String> {
    let kid = kid.ok_or("kid is required (or give a code)")?;
    Ok(StatusTarget::Scope { kid, scope })
}

/// A status change, as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChanged {
    /// `revoke`, `decommission`, `reactivate` or `compromise`.
    pub action: String,
    /// The stored reason (`decommissioned` for a decommission; none for a
    /// reactivation).
    pub reason: Option<String>,
    /// The issuer key id.
    pub kid: String,
    /// The target.
    pub scope: ScopeReport,
    /// When it takes effect, YYYY-MM-DD.
    pub date: String,
    /// The target in words (as in the audit log).
    pub target: String,
    /// The revocation snapshot sequence this change made.
    pub sequence: u64,
}

/// A registered manifest.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchesRegistered {
    /// The issuer key id.
    pub kid: String,
    /// Batches in the manifest.
    pub batches: u64,
    /// Batches not registered before.
    pub new: u64,
    /// Serials the manifest's batches hold in all.
    pub serials: u64,
    /// When the manifest was first registered, seconds since 1970-01-01 UTC
    /// (a registration of the same manifest again keeps this time).
    pub registered: u64,
    /// The same time, RFC 3339 UTC.
    pub registered_at: String,
    /// The signed batch receipt (docs/FORMAT.md §18), hex; null when the
    /// service has no registry key (`--revocation-key`).
    pub receipt: Option<String>,
}

/// A trusted issuer key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyBody {
    /// Its name.
    pub name: String,
    /// Key id (8 hex digits).
    pub kid: String,
    /// Ed25519 public key, hex.
    pub public_key: String,
    /// First day codes may carry, YYYY-MM-DD.
    pub valid_from: Option<String>,
    /// Last day codes may carry, YYYY-MM-DD.
    pub valid_until: Option<String>,
    /// Whether it may sign revocation snapshots.
    pub revocation_signer: bool,
}

impl From<&TrustedKey> for KeyBody {
    fn from(k: &TrustedKey) -> KeyBody {
        KeyBody {
            name: k.name().into(),
            kid: k.kid().to_string(),
            public_key: k.public_key().to_hex(),
            valid_from: k.valid_from().map(|d| d.to_string()),
            valid_until: k.valid_until().map(|d| d.to_string()),
            revocation_signer: k.is_revocation_signer(),
        }
    }
}

/// `GET /v1/keys`.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeysBody {
    /// The trusted issuer keys.
    pub keys: Vec<KeyBody>,
    /// The key id that signs this service's snapshots, if any.
    pub revocation_key: Option<String>,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthBody {
    /// `ok` (alive) or `ready` (the database answers).
    pub status: String,
    /// The current snapshot sequence (`/readyz`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
}
