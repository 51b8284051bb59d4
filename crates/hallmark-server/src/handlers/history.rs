//! Service and test history (issue 16): `POST /v1/codes/{code}/events` from
//! service and test stations (`service` token), `GET` of the history (the
//! public sees a brief view, a token holder everything), the same for a
//! component lot; and reports of suspected fakes, `POST /v1/reports`
//! (public, rate limited) and `GET /v1/reports` (`reports` token).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use hallmark::{Date, VerdictKind};
use serde::Deserialize;
use serde_json::Value;

use super::graph::verified_unit;
use super::{blocking, invalid, judge, read_only, today};
use crate::AppState;
use crate::api::ErrorBody;
use crate::api::history::{
    EventBody, EventStored, EventsBody, MeasurementBody, NewEventBody, NewReportBody, ReportBody,
    ReportStored, ReportsBody,
};
use crate::auth::{Authorized, ReportsScope, ServiceScope};
use crate::error::{ApiError, ApiJson};
use crate::storage::{HistoryStore, NewEvent, NewReport, ServiceEvent};

/// Default and largest page of `GET …/events` and `GET /v1/reports`.
pub const HISTORY_PAGE: (u32, u32) = (50, 500);
/// Most measurements per event.
pub const MAX_MEASUREMENTS: usize = 32;
/// Most reports per unit (or unverified code text) per hour.
pub const REPORTS_PER_UNIT_PER_HOUR: u64 = 20;
/// Event types.
pub const EVENT_TYPES: [&str; 6] = [
    "test",
    "service",
    "repair",
    "part-replaced",
    "inspection",
    "refurbished",
];

/// Whether `c` reorders text (Unicode bidi controls and marks).
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A bounded text field: at most `max_bytes` bytes (and `max_chars`
/// characters), no control or bidi characters; empty is refused.
fn check_text(field: &str, s: &str, max_bytes: usize, max_chars: usize) -> Result<(), ApiError> {
    if s.is_empty() {
        return Err(invalid(format!("{field}: must not be empty")));
    }
    if s.len() > max_bytes || s.chars().count() > max_chars {
        return Err(invalid(format!(
            "{field}: too long (at most {max_bytes} bytes, {max_chars} characters)"
        )));
    }
    if s.chars().any(|c| c.is_control() || is_bidi(c)) {
        return Err(invalid(format!(
            "{field}: no control or bidirectional-text characters"
        )));
    }
    Ok(())
}

fn check_opt(
    field: &str,
    s: &Option<String>,
    max_bytes: usize,
    max_chars: usize,
) -> Result<(), ApiError> {
    match s {
        Some(s) => check_text(field, s, max_bytes, max_chars),
        None => Ok(()),
    }
}

/// A part number or lot as in a payload: 1 to 64 printable ASCII characters
/// without leading or trailing spaces.
fn check_label(field: &str, s: &str) -> Result<(), ApiError> {
    let printable = s.bytes().all(|b| (b' '..=b'~').contains(&b));
    if s.is_empty() || s.len() > 64 || !printable || s.starts_with(' ') || s.ends_with(' ') {
        return Err(invalid(format!(
            "{field}: 1 to 64 printable ASCII characters, no leading or trailing spaces"
        )));
    }
    Ok(())
}

/// A component lot's identity: `lot:PART:LOT`, with `%` and `:` in either
/// percent-encoded so the text is unambiguous.
pub(crate) fn lot_unit(part: &str, lot: &str) -> String {
    let esc = |s: &str| s.replace('%', "%25").replace(':', "%3A");
    format!("lot:{}:{}", esc(part), esc(lot))
}

/// A checked event (everything but its unit).
fn check_event(
    body: &NewEventBody,
    unit: String,
    made: Option<Date>,
    now: u64,
) -> Result<NewEvent, ApiError> {
    if !EVENT_TYPES.contains(&body.kind.as_str()) {
        return Err(invalid(format!("type: one of {}", EVENT_TYPES.join(", "))));
    }
    let date: Date = body.date.parse().map_err(|_| invalid("date: YYYY-MM-DD"))?;
    if date > today(now) {
        return Err(invalid("date: in the future"));
    }
    if let Some(made) = made
        && date < made
    {
        return Err(invalid(format!(
            "date: before the unit's date of manufacture ({made})"
        )));
    }
    check_opt("actor", &body.actor, 128, 128)?;
    check_opt("station", &body.station, 128, 128)?;
    check_opt("summary", &body.summary, 280 * 4, 280)?;
    let passed = match body.result.as_deref() {
        None => None,
        Some(_) if !matches!(body.kind.as_str(), "test" | "inspection") => {
            return Err(invalid("result: only for test and inspection"));
        }
        Some("pass") => Some(true),
        Some("fail") => Some(false),
        Some(_) => return Err(invalid("result: pass or fail")),
    };
    let measurements = match &body.measurements {
        None => None,
        Some(m) => {
            if m.len() > MAX_MEASUREMENTS {
                return Err(invalid(format!("measurements: at most {MAX_MEASUREMENTS}")));
            }
            for (i, x) in m.iter().enumerate() {
                check_text(&format!("measurements[{i}].name"), &x.name, 64, 64)?;
                check_opt(&format!("measurements[{i}].unit"), &x.unit, 64, 64)?;
                let finite = [Some(x.value), x.low, x.high]
                    .iter()
                    .flatten()
                    .all(|v| v.is_finite());
                if !finite {
                    return Err(invalid(format!("measurements[{i}]: finite numbers only")));
                }
                if let (Some(low), Some(high)) = (x.low, x.high)
                    && low > high
                {
                    return Err(invalid(format!("measurements[{i}]: low above high")));
                }
            }
            Some(serde_json::to_string(m).map_err(ApiError::internal)?)
        }
    };
    Ok(NewEvent {
        unit,
        kind: body.kind.clone(),
        date,
        passed,
        summary: body.summary.clone(),
        actor: body.actor.clone(),
        station: body.station.clone(),
        measurements,
    })
}

fn not_genuine(j: &super::Judgement, code: &str) -> ApiError {
    let verdict = serde_json::to_value(hallmark::report::Report::new(&j.verdict, code))
        .unwrap_or(Value::Null);
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "not-genuine",
        "the code is not genuine",
    )
    .with("verdict", verdict)
}

/// A genuine code's unit identity and date of manufacture, or a 422 with its
/// verdict (a 400 if it cannot be read).
fn genuine(state: &AppState, code: &str) -> Result<(String, Date), ApiError> {
    let j = judge(state, code)?;
    if j.verdict.kind() != VerdictKind::Genuine {
        return Err(not_genuine(&j, code));
    }
    let made = j
        .verdict
        .verified()
        .map(|v| v.payload().date())
        .ok_or_else(|| not_genuine(&j, code))?;
    let unit = verified_unit(&j).ok_or_else(|| not_genuine(&j, code))?;
    Ok((unit.to_string(), made))
}

/// `POST /v1/codes/{code}/events`: records an event of a genuine unit.
/// Needs a `service` token.
#[utoipa::path(
    post,
    path = "/v1/codes/{code}/events",
    tag = "history",
    params(("code" = String, Path, description = "The unit's code (as for `GET /v1/codes/{code}`), percent-encoded")),
    request_body = NewEventBody,
    security(("token" = [])),
    responses(
        (status = 201, description = "Recorded (durably)", body = EventStored),
        (status = 400, description = "Invalid request (the field is named) or an unreadable code", body = ErrorBody),
        (status = 401, description = "No token, a wrong, revoked or wrong-scope one (a `service` token is needed)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "`not-genuine`, with the verdict", body = ErrorBody),
    )
)]
pub(crate) async fn add_event(
    State(state): State<AppState>,
    auth: Authorized<ServiceScope>,
    code: Result<Path<String>, PathRejection>,
    ApiJson(body): ApiJson<NewEventBody>,
) -> Result<(StatusCode, Json<EventStored>), ApiError> {
    let Path(code) = code?;
    blocking(move || {
        let (unit, made) = genuine(&state, &code)?;
        let event = check_event(&body, unit, Some(made), state.now())?;
        store_event(&state, &event, &auth.token.name)
    })
    .await
}

fn store_event(
    state: &AppState,
    event: &NewEvent,
    token: &str,
) -> Result<(StatusCode, Json<EventStored>), ApiError> {
    let stored = state.storage().add_event(event, token, state.now())?;
    tracing::info!(token = %token, unit = %event.unit, kind = %event.kind, "history event recorded");
    Ok((
        StatusCode::CREATED,
        Json(EventStored {
            id: stored.id,
            unit: event.unit.clone(),
            recorded: stored.recorded,
        }),
    ))
}

/// `POST /v1/lots/{part}/{lot}/events`: records an event of a component
/// lot. Needs a `service` token.
#[utoipa::path(
    post,
    path = "/v1/lots/{part}/{lot}/events",
    tag = "history",
    params(
        ("part" = String, Path, description = "The part number: 1 to 64 printable ASCII characters, no leading or trailing space"),
        ("lot" = String, Path, description = "The lot, as `part`"),
    ),
    request_body = NewEventBody,
    security(("token" = [])),
    responses(
        (status = 201, description = "Recorded (durably)", body = EventStored),
        (status = 400, description = "Invalid request, part or lot (the field is named)", body = ErrorBody),
        (status = 401, description = "No token, a wrong, revoked or wrong-scope one (a `service` token is needed)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
    )
)]
pub(crate) async fn add_lot_event(
    State(state): State<AppState>,
    auth: Authorized<ServiceScope>,
    path: Result<Path<(String, String)>, PathRejection>,
    ApiJson(body): ApiJson<NewEventBody>,
) -> Result<(StatusCode, Json<EventStored>), ApiError> {
    let Path((part, lot)) = path?;
    check_label("part", &part)?;
    check_label("lot", &lot)?;
    blocking(move || {
        let event = check_event(&body, lot_unit(&part, &lot), None, state.now())?;
        store_event(&state, &event, &auth.token.name)
    })
    .await
}

/// Paging of a history or of reports.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryPage {
    /// Ids above this one.
    pub after: Option<u64>,
    /// Page size (default 50, 1 to 500).
    pub limit: Option<u64>,
}

impl HistoryPage {
    /// The id to start after (0 by default), or 400 `invalid-after` past
    /// the largest id a database holds (2^63 - 1).
    fn after(&self) -> Result<u64, ApiError> {
        let after = self.after.unwrap_or(0);
        if i64::try_from(after).is_err() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid-after",
                format!("after must be at most {}, not {after}", i64::MAX),
            ));
        }
        Ok(after)
    }

    /// The page size, or 400 `invalid-limit` outside 1 to 500.
    fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(HISTORY_PAGE.0),
            Some(l) => u32::try_from(l)
                .ok()
                .filter(|l| (1..=HISTORY_PAGE.1).contains(l))
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid-limit",
                        format!("limit must be 1 to {}, not {l}", HISTORY_PAGE.1),
                    )
                }),
        }
    }
}

fn event_body(e: ServiceEvent, full: bool) -> EventBody {
    let result = e.passed.map(|p| if p { "pass" } else { "fail" }.to_owned());
    let measurements = if full {
        e.measurements
            .as_deref()
            .and_then(|m| serde_json::from_str::<Vec<MeasurementBody>>(m).ok())
    } else {
        None
    };
    EventBody {
        id: e.id,
        kind: e.kind,
        date: e.date.to_string(),
        result,
        summary: e.summary,
        actor: e.actor.filter(|_| full),
        station: e.station.filter(|_| full),
        measurements,
        recorded: full.then_some(e.recorded),
    }
}

fn events_page(
    state: &AppState,
    unit: String,
    page: &HistoryPage,
    full: bool,
) -> Result<Json<EventsBody>, ApiError> {
    let limit = page.limit()?;
    let (events, count) = state.storage().events(&unit, page.after()?, limit)?;
    let next = (events.len() as u32 == limit)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    Ok(Json(EventsBody {
        unit,
        count,
        events: events.into_iter().map(|e| event_body(e, full)).collect(),
        next,
    }))
}

/// `GET /v1/codes/{code}/events`: a genuine unit's history, oldest first.
#[utoipa::path(
    get,
    path = "/v1/codes/{code}/events",
    tag = "history",
    params(
        ("code" = String, Path, description = "The unit's code (as for `GET /v1/codes/{code}`), percent-encoded"),
        ("after" = Option<u64>, Query, description = "Events with ids above this one (the previous page's `next`)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size: default 50, 1 to 500 (else 400 `invalid-limit`)"),
    ),
    security((), ("token" = [])),
    responses(
        (status = 200, description = "A page of the history, oldest first: the public view without a token, everything with a `service` token", body = EventsBody),
        (status = 400, description = "Invalid query or an unreadable code", body = ErrorBody),
        (status = 401, description = "A wrong, revoked or wrong-scope token (never the public view instead)", body = ErrorBody),
        (status = 422, description = "`not-genuine`, with the verdict", body = ErrorBody),
    )
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    auth: Option<Authorized<ServiceScope>>,
    code: Result<Path<String>, PathRejection>,
    Query(page): Query<HistoryPage>,
) -> Result<Json<EventsBody>, ApiError> {
    let Path(code) = code?;
    let full = auth.is_some();
    read_only(state, move |state| {
        let (unit, _) = genuine(state, &code)?;
        events_page(state, unit, &page, full)
    })
    .await
}

/// `GET /v1/lots/{part}/{lot}/events`: a component lot's history.
#[utoipa::path(
    get,
    path = "/v1/lots/{part}/{lot}/events",
    tag = "history",
    params(
        ("part" = String, Path, description = "The part number: 1 to 64 printable ASCII characters, no leading or trailing space"),
        ("lot" = String, Path, description = "The lot, as `part`"),
        ("after" = Option<u64>, Query, description = "Events with ids above this one (the previous page's `next`)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size: default 50, 1 to 500 (else 400 `invalid-limit`)"),
    ),
    security((), ("token" = [])),
    responses(
        (status = 200, description = "A page of the lot's history, oldest first (everything with a `service` token)", body = EventsBody),
        (status = 400, description = "Invalid query, part or lot", body = ErrorBody),
        (status = 401, description = "A wrong, revoked or wrong-scope token", body = ErrorBody),
    )
)]
pub(crate) async fn lot_events(
    State(state): State<AppState>,
    auth: Option<Authorized<ServiceScope>>,
    path: Result<Path<(String, String)>, PathRejection>,
    Query(page): Query<HistoryPage>,
) -> Result<Json<EventsBody>, ApiError> {
    let Path((part, lot)) = path?;
    check_label("part", &part)?;
    check_label("lot", &lot)?;
    let full = auth.is_some();
    read_only(state, move |state| {
        events_page(state, lot_unit(&part, &lot), &page, full)
    })
    .await
}

/// Checks and stores a report of a suspected fake: the code is judged, and
/// stored with its verdict (and unit, when its signature verified). At most
/// [`REPORTS_PER_UNIT_PER_HOUR`] per unit (or unverified code text) per hour
/// (429 past it). Blocking; what `POST /v1/reports` and the page's form call.
pub(crate) fn submit_report(
    state: &AppState,
    code: &str,
    place: Option<String>,
    note: Option<String>,
) -> Result<u64, ApiError> {
    check_text("code", code, 512, 512)?;
    let place = place.filter(|p| !p.trim().is_empty());
    let note = note.filter(|n| !n.trim().is_empty());
    check_opt("place", &place, 128, 128)?;
    check_opt("note", &note, 1000, 1000)?;
    let (verdict, unit) = match judge(state, code) {
        Ok(j) => (
            j.verdict.kind().as_str().to_owned(),
            verified_unit(&j).map(|u| u.to_string()),
        ),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            (VerdictKind::Malformed.as_str().to_owned(), None)
        }
        Err(e) => return Err(e),
    };
    let report = NewReport {
        code: code.to_owned(),
        unit,
        verdict,
        place,
        note,
        time: state.now(),
    };
    let id = state
        .storage()
        .add_report_limited(&report, REPORTS_PER_UNIT_PER_HOUR)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-reports",
                "this code has had many reports in the last hour; try again later",
            )
        })?;
    state.metrics().report();
    tracing::info!(id, "report of a suspected fake stored");
    Ok(id)
}

/// `POST /v1/reports`: a report of a suspected fake (public).
#[utoipa::path(
    post,
    path = "/v1/reports",
    tag = "history",
    request_body = NewReportBody,
    responses(
        (status = 201, description = "Stored, with the code's verdict", body = ReportStored),
        (status = 400, description = "Invalid request (the field is named)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 429, description = "`too-many-reports` for this code in the last hour, or rate limited per client (see Retry-After)", body = ErrorBody),
    )
)]
pub(crate) async fn report(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewReportBody>,
) -> Result<(StatusCode, Json<ReportStored>), ApiError> {
    blocking(move || {
        let id = submit_report(&state, &body.code, body.place, body.note)?;
        Ok((StatusCode::CREATED, Json(ReportStored { id })))
    })
    .await
}

/// `GET /v1/reports`: stored reports, oldest first. Needs a `reports` token.
#[utoipa::path(
    get,
    path = "/v1/reports",
    tag = "history",
    params(
        ("after" = Option<u64>, Query, description = "Reports with ids above this one (the previous page's `next`)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Page size: default 50, 1 to 500 (else 400 `invalid-limit`)"),
    ),
    security(("token" = [])),
    responses(
        (status = 200, description = "A page of reports, oldest first", body = ReportsBody),
        (status = 400, description = "Invalid query", body = ErrorBody),
        (status = 401, description = "No token, a wrong, revoked or wrong-scope one (a `reports` token is needed)", body = ErrorBody),
        (status = 429, description = "Rate limited per client (see Retry-After)", body = ErrorBody),
    )
)]
pub(crate) async fn reports(
    State(state): State<AppState>,
    _auth: Authorized<ReportsScope>,
    Query(page): Query<HistoryPage>,
) -> Result<Json<ReportsBody>, ApiError> {
    let limit = page.limit()?;
    let after = page.after()?;
    read_only(state, move |state| {
        let rows = state.storage().reports(after, limit)?;
        let next = (rows.len() as u32 == limit)
            .then(|| rows.last().map(|r| r.id))
            .flatten();
        let reports = rows
            .into_iter()
            .map(|r| ReportBody {
                id: r.id,
                time: r.report.time,
                time_rfc3339: hallmark::rfc3339(r.report.time),
                code: r.report.code,
                verdict: r.report.verdict,
                unit: r.report.unit,
                place: r.report.place,
                note: r.report.note,
            })
            .collect();
        Ok(Json(ReportsBody { reports, next }))
    })
    .await
}
