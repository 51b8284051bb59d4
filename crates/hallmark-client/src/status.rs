//! A status change for `POST /v1/status` (docs/API.md), typed: an action and
//! one target, serialized to the request body the service expects.
//!
//! ```
//! use hallmark::Reason;
//! use hallmark_client::status::{Action, StatusChange, Target};
//!
//! let change = StatusChange {
//!     action: Action::revoke(Reason::Stolen)?,
//!     target: Target::Serial { kid: "8608b1b7".parse()?, serial: 42 },
//!     date: None,
//! };
//! assert_eq!(
//!     change.to_json().to_string(),
//!     r#"{"action":"revoke","kid":"8608b1b7","reason":"stolen","serial":42}"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use hallmark::{Date, KeyId, Reason};
use serde_json::{Map, Value, json};

/// A status change the service would refuse, caught before sending it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// `decommissioned` is an action of its own, not a revocation reason.
    #[error("decommissioned is an action of its own, not a revocation reason")]
    DecommissionedIsAnAction,
}

/// What a status change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Revoke, for a reason (never [`Reason::Decommissioned`]).
    Revoke(Reason),
    /// Mark decommissioned (sold, dispensed).
    Decommission,
    /// Remove the status set on exactly the target.
    Reactivate,
    /// Record a key's compromise (the target is [`Target::Compromise`]).
    Compromise,
}

impl Action {
    /// A revocation for `reason`; refused for [`Reason::Decommissioned`],
    /// which is [`Action::Decommission`].
    pub fn revoke(reason: Reason) -> Result<Action, StatusError> {
        match reason {
            Reason::Decommissioned => Err(StatusError::DecommissionedIsAnAction),
            reason => Ok(Action::Revoke(reason)),
        }
    }

    /// The action's word on the wire: `revoke`, `decommission`, `reactivate`,
    /// `compromise`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Revoke(_) => "revoke",
            Action::Decommission => "decommission",
            Action::Reactivate => "reactivate",
            Action::Compromise => "compromise",
        }
    }
}

/// What a status change applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The serial of a code (the service verifies its signature); `kid`, if
    /// given, is sent along and must be the code's.
    Code {
        /// The code as scanned (trimmed before sending).
        code: String,
        /// The issuer key id, if given too.
        kid: Option<KeyId>,
    },
    /// One serial of a key.
    Serial {
        /// The issuer key id.
        kid: KeyId,
        /// The serial.
        serial: u64,
    },
    /// Serials `first..=last` of a key.
    Range {
        /// The issuer key id.
        kid: KeyId,
        /// First serial.
        first: u64,
        /// Last serial (at least `first`).
        last: u64,
    },
    /// Every code of a key with this lot.
    Lot {
        /// The issuer key id.
        kid: KeyId,
        /// The lot.
        lot: String,
    },
    /// Every code of a key made on or after `from`.
    KeyFrom {
        /// The issuer key id.
        kid: KeyId,
        /// First date of manufacture covered.
        from: Date,
    },
    /// A key compromised at a time (with [`Action::Compromise`], or
    /// [`Action::Reactivate`] to remove it): its codes are revoked
    /// (key-compromised) unless a batch registered before `at` holds them.
    Compromise {
        /// The compromised key.
        kid: KeyId,
        /// When it was compromised, seconds since 1970-01-01 UTC.
        at: u64,
    },
}

/// One status change: the body of `POST /v1/status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// What it does.
    pub action: Action,
    /// What it applies to.
    pub target: Target,
    /// When it takes effect (the service's default: today).
    pub date: Option<Date>,
}

impl StatusChange {
    /// The request body.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        let mut put = |k: &str, v: Value| {
            body.insert(k.to_owned(), v);
        };
        put("action", json!(self.action.as_str()));
        if let Action::Revoke(reason) = self.action {
            put("reason", json!(reason.as_str()));
        }
        let kid = match &self.target {
            Target::Code { code, kid } => {
                put("code", json!(code.trim()));
                *kid
            }
            Target::Serial { kid, serial } => {
                put("serial", json!(serial));
                Some(*kid)
            }
            Target::Range { kid, first, last } => {
                put("range", json!({"first": first, "last": last}));
                Some(*kid)
            }
            Target::Lot { kid, lot } => {
                put("lot", json!(lot));
                Some(*kid)
            }
            Target::KeyFrom { kid, from } => {
                put("key_from", json!(from.to_string()));
                Some(*kid)
            }
            Target::Compromise { kid, at } => {
                put("at", json!(hallmark::rfc3339(*at)));
                Some(*kid)
            }
        };
        if let Some(kid) = kid {
            put("kid", json!(kid.to_string()));
        }
        if let Some(date) = self.date {
            put("date", json!(date.to_string()));
        }
        Value::Object(body)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn kid() -> KeyId {
        "8608b1b7".parse().unwrap()
    }

    #[test]
    fn each_target_becomes_its_fields() {
        let date: Date = "2026-11-01".parse().unwrap();
        let body = |action, target| {
            StatusChange {
                action,
                target,
                date: Some(date),
            }
            .to_json()
        };
        let v = body(
            Action::Decommission,
            Target::Range {
                kid: kid(),
                first: 1,
                last: 9,
            },
        );
        assert_eq!(
            v,
            json!({"action": "decommission", "kid": "8608b1b7",
                   "range": {"first": 1, "last": 9}, "date": "2026-11-01"})
        );
        let v = body(
            Action::Reactivate,
            Target::Code {
                code: " 0630AB \n".into(),
                kid: None,
            },
        );
        assert_eq!(
            v,
            json!({"action": "reactivate", "code": "0630AB", "date": "2026-11-01"})
        );
        let v = body(
            Action::revoke(Reason::Recalled).unwrap(),
            Target::KeyFrom {
                kid: kid(),
                from: date,
            },
        );
        assert_eq!(v["key_from"], "2026-11-01");
        assert_eq!(v["reason"], "recalled");
        let v = body(
            Action::Decommission,
            Target::Lot {
                kid: kid(),
                lot: "L7".into(),
            },
        );
        assert_eq!(v["lot"], "L7");
        assert!(v.get("reason").is_none());
        let v = body(
            Action::Compromise,
            Target::Compromise {
                kid: kid(),
                at: 1_795_435_200,
            },
        );
        assert_eq!(
            v,
            json!({"action": "compromise", "kid": "8608b1b7",
                   "at": "2026-11-23T12:00:00Z", "date": "2026-11-01"})
        );
    }

    #[test]
    fn decommissioned_is_not_a_revocation_reason() {
        assert_eq!(
            Action::revoke(Reason::Decommissioned),
            Err(StatusError::DecommissionedIsAnAction)
        );
        assert_eq!(
            Action::revoke(Reason::Stolen).map(Action::as_str),
            Ok("revoke")
        );
    }
}
