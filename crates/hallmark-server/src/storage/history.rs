//! Service and test history of units and component lots, and reports of
//! suspected fakes (issue 16). Written once for both backends on
//! [`super::graph::Sql`], like the graph queries.

use super::graph::{Row, Sql, Value};
use super::rows::{to_i64, to_u64};
use super::{Storage, StorageError, run};

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
    /// Its measurements as stored: a JSON array of `{name, value, unit?,
    /// low?, high?}` (shown to token holders only).
    pub measurements: Option<String>,
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

/// An event to record ([`HistoryStore::add_event`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// The unit identity text, or a lot's (`lot:PART:LOT`).
    pub unit: String,
    /// The event type (see [`ServiceEvent::kind`]).
    pub kind: String,
    /// When it happened.
    pub date: hallmark::Date,
    /// Pass or fail, where it applies.
    pub passed: Option<bool>,
    /// Summary.
    pub summary: Option<String>,
    /// Actor.
    pub actor: Option<String>,
    /// Station.
    pub station: Option<String>,
    /// Measurements, a JSON array (validated and bounded by the caller).
    pub measurements: Option<String>,
}

/// A stored report ([`HistoryStore::reports`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReport {
    /// Row id (the paging cursor).
    pub id: u64,
    /// The report as received.
    pub report: NewReport,
}

/// History and report queries, for every [`Storage`].
pub trait HistoryStore {
    /// The history of `unit` in brief (a unit identity text, or a lot's).
    fn history_summary(&self, unit: &str) -> Result<HistorySummary, StorageError>;
    /// Stores a report; returns its id.
    fn add_report(&self, report: &NewReport) -> Result<u64, StorageError>;
    /// Stores a report unless its unit (or, unverified, its code text)
    /// already has `per_hour` reports in the hour before `report.time`
    /// (`None` then), in one transaction.
    fn add_report_limited(
        &self,
        report: &NewReport,
        per_hour: u64,
    ) -> Result<Option<u64>, StorageError>;
    /// Reports with ids above `after`, oldest first, at most `limit`.
    fn reports(&self, after: u64, limit: u32) -> Result<Vec<StoredReport>, StorageError>;
    /// Records an event (and an audit entry naming `token`); durable when it
    /// returns. Returns the stored event.
    fn add_event(
        &self,
        event: &NewEvent,
        token: &str,
        now: u64,
    ) -> Result<ServiceEvent, StorageError>;
    /// The events of `unit` with ids above `after`, oldest first, at most
    /// `limit`, and how many it has in all.
    fn events(
        &self,
        unit: &str,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<ServiceEvent>, u64), StorageError>;
}

/// The count and last event of `unit`, in the caller's transaction.
pub(crate) fn summary(sql: &mut dyn Sql, unit: &str) -> Result<HistorySummary, StorageError> {
    let count = count_events(sql, unit)?;
    let last = sql
        .rows(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM history_events WHERE unit = ?1
                 ORDER BY date DESC, id DESC LIMIT 1"
            ),
            &[text(unit)],
        )?
        .first()
        .map(|r| event_from(r))
        .transpose()?;
    Ok(HistorySummary { count, last })
}

impl<S: Storage + ?Sized> HistoryStore for S {
    fn history_summary(&self, unit: &str) -> Result<HistorySummary, StorageError> {
        run(self, false, |sql| summary(sql, unit))
    }

    fn add_report(&self, report: &NewReport) -> Result<u64, StorageError> {
        run(self, true, |sql| insert_report(sql, report))
    }

    fn add_report_limited(
        &self,
        report: &NewReport,
        per_hour: u64,
    ) -> Result<Option<u64>, StorageError> {
        run(self, true, |sql| {
            let since = Value::Int(Some(to_i64(report.time.saturating_sub(3600))));
            let rows = match &report.unit {
                Some(unit) => sql.rows(
                    "SELECT COUNT(*) FROM reports WHERE unit = ?1 AND time > ?2",
                    &[text(unit), since],
                )?,
                None => sql.rows(
                    "SELECT COUNT(*) FROM reports WHERE code = ?1 AND unit IS NULL AND time > ?2",
                    &[text(&report.code), since],
                )?,
            };
            if first_count(&rows)? >= per_hour {
                return Ok(None);
            }
            insert_report(sql, report).map(Some)
        })
    }

    fn reports(&self, after: u64, limit: u32) -> Result<Vec<StoredReport>, StorageError> {
        run(self, false, |sql| {
            sql.rows(
                "SELECT id, code, unit, verdict, place, note, time FROM reports
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
                &[
                    Value::Int(Some(to_i64(after))),
                    Value::Int(Some(i64::from(limit))),
                ],
            )?
            .iter()
            .map(|r| {
                let r = Row(r, "reports", "history");
                Ok(StoredReport {
                    id: to_u64(r.int(0)?),
                    report: NewReport {
                        code: r.text(1)?,
                        unit: r.opt_text(2)?,
                        verdict: r.text(3)?,
                        place: r.opt_text(4)?,
                        note: r.opt_text(5)?,
                        time: to_u64(r.int(6)?),
                    },
                })
            })
            .collect()
        })
    }

    fn add_event(
        &self,
        event: &NewEvent,
        token: &str,
        now: u64,
    ) -> Result<ServiceEvent, StorageError> {
        run(self, true, |sql| {
            let rows = sql.rows(
                "INSERT INTO history_events
                 (unit, kind, date, passed, summary, actor, station, measurements, token, recorded)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
                &[
                    text(&event.unit),
                    text(&event.kind),
                    Value::Int(Some(i64::from(event.date.days()))),
                    Value::Int(event.passed.map(i64::from)),
                    opt_text(event.summary.as_deref()),
                    opt_text(event.actor.as_deref()),
                    opt_text(event.station.as_deref()),
                    opt_text(event.measurements.as_deref()),
                    text(token),
                    Value::Int(Some(to_i64(now))),
                ],
            )?;
            let id = rows
                .first()
                .map(|r| Row(r, "history_events", "history").int(0))
                .transpose()?
                .ok_or_else(|| corrupt("history_events", "id"))?;
            sql.exec(
                "INSERT INTO audit (token, action, target, time) VALUES (?1, ?2, ?3, ?4)",
                &[
                    text(token),
                    text("history-event"),
                    text(&format!("{} {} #{id}", event.unit, event.kind)),
                    Value::Int(Some(to_i64(now))),
                ],
            )?;
            Ok(ServiceEvent {
                id: to_u64(id),
                kind: event.kind.clone(),
                date: event.date,
                passed: event.passed,
                summary: event.summary.clone(),
                actor: event.actor.clone(),
                station: event.station.clone(),
                recorded: now,
                measurements: event.measurements.clone(),
            })
        })
    }

    fn events(
        &self,
        unit: &str,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<ServiceEvent>, u64), StorageError> {
        run(self, false, |sql| {
            let count = count_events(sql, unit)?;
            let events = sql
                .rows(
                    &format!(
                        "SELECT {EVENT_COLUMNS} FROM history_events WHERE unit = ?1 AND id > ?2
                         ORDER BY id LIMIT ?3"
                    ),
                    &[
                        text(unit),
                        Value::Int(Some(to_i64(after))),
                        Value::Int(Some(i64::from(limit))),
                    ],
                )?
                .iter()
                .map(|r| event_from(r))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((events, count))
        })
    }
}

const EVENT_COLUMNS: &str =
    "id, kind, date, passed, summary, actor, station, recorded, measurements";

fn text(v: &str) -> Value {
    Value::text(v)
}

fn opt_text(v: Option<&str>) -> Value {
    Value::opt_text(v)
}

fn corrupt(table: &'static str, column: &'static str) -> StorageError {
    super::graph::corrupt_row(table, "history", column)
}

fn insert_report(sql: &mut dyn Sql, r: &NewReport) -> Result<u64, StorageError> {
    let rows = sql.rows(
        "INSERT INTO reports (code, unit, verdict, place, note, time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        &[
            text(&r.code),
            opt_text(r.unit.as_deref()),
            text(&r.verdict),
            opt_text(r.place.as_deref()),
            opt_text(r.note.as_deref()),
            Value::Int(Some(to_i64(r.time))),
        ],
    )?;
    rows.first()
        .map(|r| Row(r, "reports", "history").int(0))
        .transpose()?
        .map(to_u64)
        .ok_or_else(|| corrupt("reports", "id"))
}

fn first_count(rows: &[Vec<Value>]) -> Result<u64, StorageError> {
    Ok(rows
        .first()
        .map(|r| Row(r, "history_events", "history").opt_int(0))
        .transpose()?
        .flatten()
        .map_or(0, to_u64))
}

fn count_events(sql: &mut dyn Sql, unit: &str) -> Result<u64, StorageError> {
    first_count(&sql.rows(
        "SELECT COUNT(*) FROM history_events WHERE unit = ?1",
        &[text(unit)],
    )?)
}

fn event_from(r: &[Value]) -> Result<ServiceEvent, StorageError> {
    let c = Row(r, "history_events", "history");
    let days = u64::try_from(c.int(2)?).map_err(|_| corrupt("history_events", "date"))?;
    Ok(ServiceEvent {
        id: to_u64(c.int(0)?),
        kind: c.text(1)?,
        date: hallmark::Date::from_days(days).ok_or_else(|| corrupt("history_events", "date"))?,
        passed: c.opt_int(3)?.map(|v| v != 0),
        summary: c.opt_text(4)?,
        actor: c.opt_text(5)?,
        station: c.opt_text(6)?,
        recorded: to_u64(c.int(7)?),
        measurements: c.opt_text(8)?,
    })
}
