//! `POST /v1/scans`: records a scan and raises alerts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hallmark::Reason;

use super::codes::report;
use super::{blocking, judge};
use crate::AppState;
use crate::api::{AlertBody, CodeReport, ErrorBody, ScanRequest, ScansBody};
use crate::auth::{Authorized, ScansScope};
use crate::error::{ApiError, ApiJson};
use crate::storage::Scan;

/// Longest location or scanner label, in bytes.
const MAX_LABEL: usize = 128;

/// A free-text label: at most [`MAX_LABEL`] bytes, no control characters;
/// empty means absent.
fn label(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.len() > MAX_LABEL || value.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-request",
            format!("{field}: at most {MAX_LABEL} bytes, no control characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

fn alert(kind: &str, detail: String) -> AlertBody {
    AlertBody {
        alert: kind.to_owned(),
        detail,
    }
}

/// Records a scan and returns the verdict with any alerts: scanned after
/// revocation or decommission, seen in too many places (clone suspected), or a
/// valid signature on a serial in no registered batch (possible key leak).
/// Anonymous (no token) or as an authenticated scanner (a `scans` token),
/// whose locations weigh more for clone detection.
#[utoipa::path(
    post,
    path = "/v1/scans",
    tag = "crate::routes",
    request_body = ScanRequest,
    security((), ("token" = [])),
    responses(
        (status = 200, description = "The verdict, whether the scan was recorded, and alerts", body = CodeReport),
        (status = 400, description = "Bad request or a code that is not a code", body = ErrorBody),
        (status = 401, description = "A token was sent, but it is wrong, revoked or not of scope `scans`; nothing recorded", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 429, description = "Rate limited (see Retry-After)", body = ErrorBody),
    )
)]
pub(crate) async fn scan(
    State(state): State<AppState>,
    scanner_token: Option<Authorized<ScansScope>>,
    ApiJson(req): ApiJson<ScanRequest>,
) -> Result<Json<CodeReport>, ApiError> {
    let trusted = scanner_token.is_some();
    let location = label("location", req.location)?;
    let scanner = label("scanner", req.scanner)?;
    let body = blocking(move || {
        let j = judge(&state, &req.code)?;
        let mut out = report(&j, &req.code);
        let Some(v) = j.verdict.verified() else {
            // Not genuine: nothing to record against a serial.
            out.recorded = Some(false);
            out.alerts = Some(Vec::new());
            return Ok(out);
        };
        let storage = state.storage();
        let now = state.now();
        let settings = state.settings();
        let window_start = now.saturating_sub(settings.clone_window);
        let scans = storage.record_scan(
            &Scan {
                trusted,
                kid: v.kid(),
                serial: v.payload().serial(),
                time: now,
                location,
                scanner,
            },
            window_start,
            settings.scans.forget_before(now),
        )?;
        let alerts = raise_alerts(&state, &j, &scans)?;
        out.recorded = Some(true);
        out.alerts = Some(alerts);
        out.scans = Some(ScansBody::from(&scans));
        Ok(out)
    })
    .await?;
    Ok(Json(body))
}

/// The alerts a recorded scan of a verified code raises (scanned after
/// revocation or decommission, clone suspected, unregistered serial),
/// counted in the metrics and logged (key id and serial, never more).
pub(crate) fn raise_alerts(
    state: &AppState,
    j: &super::Judgement,
    scans: &crate::storage::ScanSummary,
) -> Result<Vec<AlertBody>, ApiError> {
    let Some(v) = j.verdict.verified() else {
        return Ok(Vec::new());
    };
    let registered = state.storage().is_registered(v.kid(), v.payload())?;
    Ok(raise_alerts_registered(state, j, scans, registered))
}

/// [`raise_alerts`] for a code whose registration is known (`registered`:
/// a registered batch holds it).
pub(crate) fn raise_alerts_registered(
    state: &AppState,
    j: &super::Judgement,
    scans: &crate::storage::ScanSummary,
    registered: bool,
) -> Vec<AlertBody> {
    let Some(v) = j.verdict.verified() else {
        return Vec::new();
    };
    let settings = state.settings();
    let mut alerts = Vec::new();
    if let Some(s) = &j.status {
        let r = &s.revocation;
        let (kind, what) = if r.reason == Reason::Decommissioned {
            ("scanned-after-decommission", "decommissioned".to_owned())
        } else {
            (
                "scanned-after-revocation",
                format!("revoked ({})", r.reason),
            )
        };
        alerts.push(alert(kind, format!("{what} on {}", r.date)));
    }
    if let Some(detail) = clone_suspected(settings, scans) {
        alerts.push(alert("clone-suspected", detail));
    }
    if !registered {
        alerts.push(alert(
            "unregistered-serial",
            "valid signature, but the serial is in no registered batch (possible key leak)"
                .to_owned(),
        ));
    }
    for a in &alerts {
        state.metrics().alert(&a.alert);
    }
    if !alerts.is_empty() {
        tracing::warn!(
            kid = %v.kid(),
            serial = v.payload().serial(),
            alerts = %AlertNames(&alerts),
            "scan raised alerts"
        );
    }
    alerts
}

/// The alerts' names, comma-separated (`clone-suspected,unregistered-serial`),
/// for the log line: written straight into it, nothing allocated.
struct AlertNames<'a>(&'a [AlertBody]);

impl std::fmt::Display for AlertNames<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(&a.alert)?;
        }
        Ok(())
    }
}

/// Whether a code's scans suggest clones: more than `clone_locations`
/// distinct locations from authenticated scanners within the window, or more
/// than the (higher) anonymous threshold counting every scanner's, since an
/// anonymous location is only what a client typed.
pub(crate) fn clone_suspected(
    settings: &crate::Settings,
    scans: &crate::storage::ScanSummary,
) -> Option<String> {
    let window = settings.clone_window;
    if scans.trusted_locations_in_window > settings.clone_locations {
        return Some(format!(
            "seen by authenticated scanners in {} distinct locations within {window} s (more than {})",
            scans.trusted_locations_in_window, settings.clone_locations
        ));
    }
    let anonymous = settings.scans.anonymous_clone_locations;
    (scans.locations_in_window > anonymous).then(|| {
        format!(
            "reported from {} distinct locations within {window} s, anonymous reports included \
             (more than {anonymous})",
            scans.locations_in_window
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_lines_name_the_alerts() {
        let alerts = [
            alert("clone-suspected", "x".to_owned()),
            alert("unregistered-serial", "y".to_owned()),
        ];
        assert_eq!(
            AlertNames(&alerts).to_string(),
            "clone-suspected,unregistered-serial"
        );
        assert_eq!(AlertNames(&alerts[..1]).to_string(), "clone-suspected");
        assert_eq!(AlertNames(&[]).to_string(), "");
    }
}
