//! Service and test history of units and component lots, and reports of
//! suspected fakes (issue 16). Written once for both backends on
//! [`super::graph::Sql`], like the graph queries.

use super::{Storage, StorageError};

/// One event of a unit's history, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceEvent {
    /// Row id (the paging cursor).
    pub id: u64,
    /// `test`, `service`, `repair`, `part-replaced`, `inspection` or
    /// `refurbished`.
    pub kind: String,
    /// When it happened, YYYY-MM-DD.
    pub date: hallmark::Date,
    /// Pass or fail, where it applies.
    pub passed: Option<bool>,
    /// A short summary (public).
    pub summary: Option<String>,
    /// Who did it (shown to token holders only).
    pub actor: Option<String>,
    /// Where (shown to token holders only).
    pub station: Option<String>,
    /// When it was recorded, seconds since 1970-01-01 UTC.
    pub recorded: u64,
}

/// A unit's history in brief: what the public page shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistorySummary {
    /// Events recorded.
    pub count: u64,
    /// The latest (by date, then recording).
    pub last: Option<ServiceEvent>,
}

/// A report of a suspected fake, as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewReport {
    /// The code as scanned (bounded), whatever its verdict.
    pub code: String,
    /// Its unit identity when its signature verified.
    pub unit: Option<String>,
    /// Its verdict (`genuine`, `bad-signature`, …).
    pub verdict: String,
    /// Where it was found, as the reporter wrote it (bounded).
    pub place: Option<String>,
    /// The reporter's note (bounded).
    pub note: Option<String>,
    /// When, seconds since 1970-01-01 UTC.
    pub time: u64,
}

/// History and report queries, for every [`Storage`].
pub trait HistoryStore {
    /// The history of `unit` in brief (a unit identity text, or a lot's).
    fn history_summary(&self, unit: &str) -> Result<HistorySummary, StorageError>;
    /// Stores a report; returns its id.
    fn add_report(&self, report: &NewReport) -> Result<u64, StorageError>;
}

impl<S: Storage + ?Sized> HistoryStore for S {
    fn history_summary(&self, _unit: &str) -> Result<HistorySummary, StorageError> {
        // Skeleton: the history work fills this in.
        Ok(HistorySummary::default())
    }
    fn add_report(&self, _report: &NewReport) -> Result<u64, StorageError> {
        // Skeleton: the history work fills this in.
        Ok(0)
    }
}
