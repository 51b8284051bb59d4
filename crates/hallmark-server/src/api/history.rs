//! Bodies of the history and report endpoints (issue 16).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/codes/{code}/events` and `POST /v1/lots/{part}/{lot}/events`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEventBody {
    /// `test`, `service`, `repair`, `part-replaced`, `inspection` or
    /// `refurbished`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When it happened, YYYY-MM-DD: not in the future, not before the
    /// unit's date of manufacture.
    pub date: String,
    /// Who did it (at most 128 bytes).
    pub actor: Option<String>,
    /// Where (at most 128 bytes).
    pub station: Option<String>,
    /// `pass` or `fail`: only for `test` and `inspection`.
    pub result: Option<String>,
    /// A short summary, shown to the public (at most 280 characters).
    pub summary: Option<String>,
    /// At most 32 measurements.
    pub measurements: Option<Vec<MeasurementBody>>,
}

/// One measurement.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasurementBody {
    /// What was measured (1 to 64 bytes).
    pub name: String,
    /// The value (finite).
    pub value: f64,
    /// Its unit (at most 64 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Lower limit (finite, at most `high`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub low: Option<f64>,
    /// Upper limit (finite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub high: Option<f64>,
}

/// An event recorded (201).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventStored {
    /// Its id (the paging cursor).
    pub id: u64,
    /// The unit identity it belongs to (`code:KID:SERIAL`,
    /// `gs1:GTIN:SERIAL`, `lot:PART:LOT`).
    pub unit: String,
    /// When it was recorded, seconds since 1970-01-01 UTC.
    pub recorded: u64,
}

/// One event as listed. The public sees `id`, `type`, `date`, `result` and
/// `summary`; a `service` token holder everything.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventBody {
    /// Id (the paging cursor).
    pub id: u64,
    /// Event type.
    #[serde(rename = "type")]
    pub kind: String,
    /// YYYY-MM-DD.
    pub date: String,
    /// `pass`, `fail` or null.
    pub result: Option<String>,
    /// Summary.
    pub summary: Option<String>,
    /// Who (token holders only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Where (token holders only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    /// Measurements (token holders only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measurements: Option<Vec<MeasurementBody>>,
    /// When recorded, seconds (token holders only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<u64>,
}

/// A page of a unit's history, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventsBody {
    /// The unit identity.
    pub unit: String,
    /// Events recorded in all.
    pub count: u64,
    /// This page.
    pub events: Vec<EventBody>,
    /// `after` for the next page, when this one is full.
    pub next: Option<u64>,
}

/// `POST /v1/reports`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReportBody {
    /// The code as scanned (at most 512 bytes).
    pub code: String,
    /// Where it was found (at most 128 bytes).
    pub place: Option<String>,
    /// A note (at most 1000 bytes).
    pub note: Option<String>,
}

/// A report stored (201).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportStored {
    /// Its id.
    pub id: u64,
}

/// One stored report (`GET /v1/reports`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportBody {
    /// Id (the paging cursor).
    pub id: u64,
    /// When received, seconds since 1970-01-01 UTC.
    pub time: u64,
    /// The same, RFC 3339.
    pub time_rfc3339: String,
    /// The code as scanned.
    pub code: String,
    /// Its verdict.
    pub verdict: String,
    /// Its unit identity when its signature verified.
    pub unit: Option<String>,
    /// Where, as the reporter wrote it.
    pub place: Option<String>,
    /// The reporter's note.
    pub note: Option<String>,
}

/// A page of reports, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportsBody {
    /// This page.
    pub reports: Vec<ReportBody>,
    /// `after` for the next page, when this one is full.
    pub next: Option<u64>,
}
