//! EPCIS 2.0 export of a hallmark registry's records (JSON-LD), each event
//! identified by its CBV 2.0 event hash. No I/O: the registry hands records in,
//! JSON comes out.
//!
//! [`document`] maps an [`ExportInput`] to an EPCISDocument; [`event_hash`]
//! computes the CBV 2.0 event hash any EPCIS event carries as its `eventID`.
//! The mapping is described in `docs/EPCIS.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod doc;
mod hash;
mod ids;
mod time;

pub use doc::{CONTEXT, document, event_counts};
pub use hash::{event_hash, pre_hash_string};
pub(crate) use ids::epc_urn_to_dl;
pub use ids::{class_uri, id_uri};

/// The JSON-LD namespace of hallmark's extension fields (prefix `hallmark`).
pub const HALLMARK_NS: &str = "https://example.invalid/hallmark/epcis/";

/// Why an event could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EpcisError {
    /// The event is not a JSON object.
    #[error("an EPCIS event must be a JSON object")]
    NotAnObject,
    /// A required field is absent.
    #[error("the event has no {0:?} field")]
    Missing(&'static str),
    /// A field has the wrong shape.
    #[error("field {field:?}: {why}")]
    BadField {
        /// The field.
        field: String,
        /// What was wrong.
        why: String,
    },
    /// A field the hash does not support here (sensor data, unprefixed unknown fields).
    #[error("field {0:?} is not supported by this event hash")]
    Unsupported(String),
    /// An extension field's prefix is not in the event's `@context`.
    #[error("extension prefix {0:?} is not defined in the event's @context")]
    UnknownPrefix(String),
}

/// An identifier of a unit, a logistic unit or a class of units.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Id {
    /// A hallmark code's unit: key id (8 hex digits) and serial.
    Code {
        /// Key id, lower-case hex.
        kid: String,
        /// Serial.
        serial: u64,
    },
    /// A GS1 unit: GTIN-14 and serial (AI 21).
    Gs1 {
        /// GTIN-14.
        gtin: String,
        /// Serial.
        serial: String,
    },
    /// A logistic unit (18 digits).
    Sscc(String),
    /// A lot of a hallmark part (class level).
    Lot {
        /// Part number.
        part: String,
        /// Lot.
        lot: String,
    },
}

/// A batch the registry recorded (commissioning).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRecord {
    /// When the batch was minted, seconds since 1970-01-01 UTC.
    pub time: u64,
    /// Key id, hex.
    pub kid: String,
    /// Part number.
    pub part: String,
    /// Lot.
    pub lot: String,
    /// GTIN-14, for GS1 batches.
    pub gtin: Option<String>,
    /// Number of units.
    pub count: u64,
}

/// A verified aggregation manifest the registry stored (packing or assembling).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AggregationRecord {
    /// The manifest's time, seconds.
    pub time: u64,
    /// `packing` or `assembling`.
    pub bizstep: String,
    /// The parent.
    pub parent: Id,
    /// The children (units; nested manifests appear as their own parents' records).
    pub children: Vec<Id>,
    /// Where, if the manifest says.
    pub location: Option<String>,
    /// The manifest's digest, hex.
    pub digest: String,
}

/// An assembly link (component → parent), with its removal if replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkRecord {
    /// The parent unit.
    pub parent: Id,
    /// The component (a unit or a lot).
    pub child: Id,
    /// The process step named when linking, if any.
    pub process: Option<String>,
    /// When it was linked, seconds.
    pub at: u64,
    /// When it was removed (replaced), seconds.
    pub removed_at: Option<u64>,
}

/// A status change the registry recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRecord {
    /// What changed: a unit or a lot.
    pub id: Id,
    /// `revoke`, `decommission` or `reactivate`.
    pub action: String,
    /// The reason word for a revocation (recalled, stolen, …).
    pub reason: Option<String>,
    /// When, seconds.
    pub time: u64,
}

/// Everything exported, as the registry read it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportInput {
    /// Registered batches.
    pub batches: Vec<BatchRecord>,
    /// Stored aggregation manifests.
    pub aggregations: Vec<AggregationRecord>,
    /// Assembly links.
    pub links: Vec<LinkRecord>,
    /// Status changes.
    pub status_changes: Vec<StatusRecord>,
}
