//! `GET /v1/codes/{code}`: a code's verdict, payload, status, registration
//! and scans.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};

use super::{Judgement, judge, read_only};
use crate::AppState;
use hallmark::report::Report;

use crate::api::{CodeReport, ErrorBody, Gs1Body, ScansBody, StatusBody};
use crate::error::ApiError;

/// The common part of lookup and scan answers: the verifier's report of
/// the verdict for `scanned`, and the stored status when the signature
/// verified.
pub(crate) fn report(j: &Judgement, scanned: &str) -> CodeReport {
    CodeReport {
        report: Report::new(&j.verdict, scanned),
        status: j
            .verdict
            .verified()
            .map(|_| StatusBody::from(j.status.as_ref())),
        registered: None,
        recorded: None,
        alerts: None,
        scans: None,
        contained_in: None,
        components: None,
        history: None,
        gs1: j
            .verdict
            .verified()
            .and_then(|v| v.gs1())
            .map(Gs1Body::from),
    }
}

/// Looks up a code: verdict, payload, current status, registration, scans.
#[utoipa::path(
    get,
    path = "/v1/codes/{code}",
    tag = "crate::routes",
    params(("code" = String, Path, description = "The code, percent-encoded: a hallmark code (text or URL form) or a GS1 scan signed with AI 8030 (element string with AIM prefix such as `]d2` and GS separators as `%1D`, the `^` form, bracketed `(01)…(21)…(8030)…`, or a GS1 Digital Link URI)")),
    responses(
        (status = 200, description = "What the service knows of the code; `verdict` says whether it is genuine (`unsigned`: GS1 data without AI 8030, which cannot be verified); `gs1` holds a verified GS1 unit's data", body = CodeReport),
        (status = 400, description = "Not a code at all (`verdict`: `malformed`)", body = ErrorBody),
        (status = 429, description = "Rate limited (see Retry-After)", body = ErrorBody),
    )
)]
pub(crate) async fn lookup(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<CodeReport>, ApiError> {
    let Path(code) = code?;
    Ok(Json(lookup_report(state, code).await?))
}

/// The lookup's answer for `code` (also the JSON answer of the Digital Link
/// path form, [`super::digital_link`]).
pub(crate) async fn lookup_report(state: AppState, code: String) -> Result<CodeReport, ApiError> {
    read_only(state, move |state| {
        let j = judge(state, &code)?;
        let mut out = report(&j, &code);
        if let Some(v) = j.verdict.verified() {
            let storage = state.storage();
            let window_start = state.now().saturating_sub(state.settings().clone_window);
            out.registered = Some(storage.is_registered(v.kid(), v.payload())?);
            out.scans = Some(ScansBody::from(&storage.scan_summary(
                v.kid(),
                v.payload().serial(),
                window_start,
            )?));
            if let Some(unit) = super::graph::verified_unit(&j) {
                use crate::storage::HistoryStore;
                let h = storage.history_summary(&unit.to_string())?;
                out.history = Some(serde_json::json!({
                    "count": h.count,
                    "last": h.last.map(|e| serde_json::json!({
                        "id": e.id,
                        "type": e.kind,
                        "date": e.date.to_string(),
                        "result": e.passed.map(|p| if p { "pass" } else { "fail" }),
                        "summary": e.summary,
                    })),
                }));
            }
            if let Some(g) = super::graph::unit_graph(state, &j)? {
                out.contained_in = Some(g.contained_in);
                out.components = Some(g.components);
                if !g.revoked.is_empty() {
                    out.alerts = Some(vec![crate::api::AlertBody {
                        alert: "component-revoked".into(),
                        detail: format!(
                            "a current component is revoked or recalled: {}",
                            g.revoked.join(", ")
                        ),
                    }]);
                }
            }
        }
        Ok(out)
    })
    .await
}
