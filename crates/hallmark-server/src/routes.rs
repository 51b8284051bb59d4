//! The request handlers.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hallmark::{
    BatchManifest, Date, Reason, Revocation, RevocationSnapshot, Scope, Verdict, VerdictKind,
    Verified, Verifier,
};
use serde_json::json;

use crate::api::{
    AlertBody, BatchesRegistered, CodeReport, ErrorBody, HealthBody, PayloadBody, ScanRequest,
    ScansBody, ScopeBody, StatusBody, StatusChanged, StatusRequest, StatusRequestBody,
    StatusTarget,
};
use crate::auth::{Authorized, BatchesScope, ScansScope, StatusScope};
use crate::error::{ApiError, ApiJson};
use crate::storage::{Action, Scan, Status, StatusChange};
use crate::{AppState, SignedSnapshot};

/// Longest location or scanner label, in bytes.
const MAX_LABEL: usize = 128;

/// Runs blocking work (storage, signature checks) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await?
}

/// Runs read-only work (signature check, storage reads) on this thread when the
/// storage's reads are local ([`crate::Storage::reads_inline`]), else as
/// [`blocking`].
pub(crate) async fn read_only<T: Send + 'static>(
    state: AppState,
    f: impl FnOnce(&AppState) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    if state.storage().reads_inline() {
        f(&state)
    } else {
        blocking(move || f(&state)).await
    }
}

fn today(now: u64) -> Date {
    Date::from_days(now / 86_400).unwrap_or(Date::MAX)
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive", body = HealthBody)))]
pub(crate) async fn healthz() -> Json<HealthBody> {
    Json(HealthBody {
        status: "ok".into(),
        sequence: None,
    })
}

/// The OpenAPI document (computed once).
pub(crate) async fn openapi() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(crate::api::openapi_json).clone();
    ([(header::CONTENT_TYPE, "application/json")], doc).into_response()
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such endpoint")
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this endpoint does not take that method",
    )
}

/// A code checked against the trust store and the stored status.
pub(crate) struct Judgement {
    pub(crate) verdict: Verdict,
    /// Set whenever the signature verified (also when revoked or expired).
    pub(crate) verified: Option<Verified>,
    pub(crate) status: Option<Status>,
}

/// The verdict, exactly as [`hallmark::Verifier::verify`] gives it with a
/// snapshot holding the stored revocations (revocation before expiry), with
/// one signature check. A malformed code is a 400 that carries the verdict.
pub(crate) fn judge(state: &AppState, code: &str) -> Result<Judgement, ApiError> {
    let judged = judge_uncounted(state, code);
    match &judged {
        Ok(j) => state.metrics().verdict(j.verdict.kind().as_str()),
        Err(e) if e.status() == StatusCode::BAD_REQUEST => {
            state.metrics().verdict(VerdictKind::Malformed.as_str())
        }
        Err(_) => {}
    }
    judged
}

fn judge_uncounted(state: &AppState, code: &str) -> Result<Judgement, ApiError> {
    let checked = state.trust().verify_signature_only(code);
    let status = match &checked {
        Ok(v) => state.storage().status(v.kid(), v.payload())?,
        Err(_) => None,
    };
    // The verifier's one precedence rule, with the stored status as the
    // revocation data (live, so never stale).
    let verdict = Verifier::new(state.trust(), today(state.now()))
        .judge(checked, status.as_ref().map(|s| &s.revocation));
    if let Verdict::Malformed(e) = &verdict {
        let malformed = VerdictKind::Malformed.as_str();
        return Err(
            ApiError::new(StatusCode::BAD_REQUEST, malformed, e.to_string())
                .with("verdict", json!(malformed)),
        );
    }
    Ok(Judgement {
        verified: verdict.verified().cloned(),
        verdict,
        status,
    })
}

/// The common part of lookup and scan answers.
fn report(j: &Judgement) -> CodeReport {
    let mut out = CodeReport {
        verdict: j.verdict.kind().as_str().to_owned(),
        detail: None,
        code: None,
        kid: None,
        key_name: None,
        payload: None,
        status: None,
        registered: None,
        recorded: None,
        alerts: None,
        scans: None,
    };
    if let Some(e) = j.verdict.refusal() {
        out.detail = Some(e.to_string());
    }
    if let Some(v) = &j.verified {
        let p = v.payload();
        out.code = Some(v.to_text());
        out.kid = Some(v.kid().to_string());
        out.key_name = Some(v.key_name().to_owned());
        out.payload = Some(PayloadBody {
            serial: p.serial(),
            part: p.part().to_owned(),
            lot: p.lot().to_owned(),
            date: p.date().to_string(),
            expiry: p.expiry().map(|e| e.to_string()),
        });
        out.status = Some(StatusBody::from(j.status.as_ref()));
    }
    out
}

/// Looks up a code: verdict, payload, current status, registration, scans.
#[utoipa::path(
    get,
    path = "/v1/codes/{code}",
    params(("code" = String, Path, description = "The code (text or URL form)")),
    responses(
        (status = 200, description = "What the service knows of the code; `verdict` says whether it is genuine", body = CodeReport),
        (status = 400, description = "Not a code at all (`verdict`: `malformed`)", body = ErrorBody),
        (status = 429, description = "Rate limited (see Retry-After)", body = ErrorBody),
    )
)]
pub(crate) async fn lookup(
    State(state): State<AppState>,
    code: Result<Path<String>, PathRejection>,
) -> Result<Json<CodeReport>, ApiError> {
    let Path(code) = code?;
    let body = read_only(state, move |state| {
        let j = judge(state, &code)?;
        let mut out = report(&j);
        if let Some(v) = &j.verified {
            let storage = state.storage();
            let window_start = state.now().saturating_sub(state.settings().clone_window);
            out.registered = Some(storage.is_registered(v.kid(), v.payload())?);
            out.scans = Some(ScansBody::from(&storage.scan_summary(
                v.kid(),
                v.payload().serial(),
                window_start,
            )?));
        }
        Ok(out)
    })
    .await?;
    Ok(Json(body))
}

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
        let mut out = report(&j);
        let Some(v) = &j.verified else {
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
        if let Some(detail) = clone_suspected(settings, &scans) {
            alerts.push(alert("clone-suspected", detail));
        }
        if !storage.is_registered(v.kid(), v.payload())? {
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
                alerts = alerts.len(),
                "scan raised alerts"
            );
        }
        out.recorded = Some(true);
        out.alerts = Some(alerts);
        out.scans = Some(ScansBody::from(&scans));
        Ok(out)
    })
    .await?;
    Ok(Json(body))
}

/// Whether a code's scans suggest clones: more than `clone_locations`
/// distinct locations from authenticated scanners within the window, or more
/// than the (higher) anonymous threshold counting every scanner's, since an
/// anonymous location is only what a client typed.
fn clone_suspected(
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

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid-request", detail)
}

/// Turns a typed request into a change: verifies a code target, defaults the
/// date, and checks what the snapshot format could not store.
fn status_change(state: &AppState, req: StatusRequest) -> Result<StatusChange, ApiError> {
    let action = match &req {
        StatusRequest::Revoke { reason, .. } => Action::Revoke(*reason),
        StatusRequest::Decommission { .. } => Action::Decommission,
        StatusRequest::Reactivate { .. } => Action::Reactivate,
    };
    let (kid, scope) = match req.target() {
        StatusTarget::Code { code, kid } => {
            let verified = state
                .trust()
                .verify_signature_only(code)
                .map_err(|e| invalid(format!("code: {} ({e})", e.verdict())))?;
            if kid.is_some_and(|k| k != verified.kid()) {
                return Err(invalid("kid does not match the code's key"));
            }
            (verified.kid(), Scope::Serial(verified.payload().serial()))
        }
        StatusTarget::Scope { kid, scope } => (*kid, scope.clone()),
    };
    let date = req.date().unwrap_or_else(|| today(state.now()));
    // The snapshot's own rules (lot labels, first <= last) decide what is
    // storable, so every stored revocation can be served.
    RevocationSnapshot::new(0, 0)
        .add(kid, scope.clone(), Reason::Recalled, date)
        .map_err(|e| invalid(e.to_string()))?;
    Ok(StatusChange {
        kid,
        scope,
        action,
        date,
    })
}

/// Revokes (with a reason), decommissions or reactivates a serial, a serial
/// range, a lot, or a whole key from a date. Needs a `status` token.
#[utoipa::path(
    post,
    path = "/v1/status",
    request_body = StatusRequestBody,
    security(("token" = [])),
    responses(
        (status = 200, description = "Stored (durably) and in the next snapshot", body = StatusChanged),
        (status = 400, description = "Invalid request; nothing changed", body = ErrorBody),
        (status = 401, description = "No token, a wrong, revoked or wrong-scope one; nothing changed", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
    )
)]
pub(crate) async fn status(
    State(state): State<AppState>,
    auth: Authorized<StatusScope>,
    ApiJson(req): ApiJson<StatusRequest>,
) -> Result<Json<StatusChanged>, ApiError> {
    let body = blocking(move || {
        let change = status_change(&state, req)?;
        let sequence = state
            .storage()
            .change_status(&change, &auth.token.name, state.now())?;
        state.metrics().status_change(change.action.as_str());
        tracing::info!(
            token = %auth.token.name,
            action = change.action.as_str(),
            target = %change.target(),
            sequence,
            "status changed"
        );
        Ok(StatusChanged {
            action: change.action.as_str().to_owned(),
            reason: change.action.reason().map(|r| r.as_str().to_owned()),
            kid: change.kid.to_string(),
            scope: ScopeBody::from(&change.scope),
            date: change.date.to_string(),
            target: change.target(),
            sequence,
        })
    })
    .await?;
    Ok(Json(body))
}

/// Registers the batches of a signed manifest from `hallmark batches export`
/// (the raw bytes). Needs a `batches` token. Idempotent.
#[utoipa::path(
    post,
    path = "/v1/batches",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "A signed batch manifest"),
    security(("token" = [])),
    responses(
        (status = 200, description = "Registered (durably)", body = BatchesRegistered),
        (status = 400, description = "Not a manifest, a bad signature or an unknown key; nothing changed", body = ErrorBody),
        (status = 401, description = "No token, a wrong, revoked or wrong-scope one; nothing changed", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
    )
)]
pub(crate) async fn batches(
    State(state): State<AppState>,
    auth: Authorized<BatchesScope>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BatchesRegistered>, ApiError> {
    let bytes = body?;
    if bytes.is_empty() {
        return Err(invalid(
            "the body must be a signed batch manifest (hallmark batches export)",
        ));
    }
    let out = blocking(move || {
        let manifest = BatchManifest::verify(&bytes, state.trust()).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid-manifest",
                format!("{}: {e}", e.kind()),
            )
        })?;
        let new = state
            .storage()
            .register_batches(&manifest, &auth.token.name, state.now())?;
        tracing::info!(token = %auth.token.name, kid = %manifest.kid, new, "batches registered");
        Ok(BatchesRegistered {
            kid: manifest.kid.to_string(),
            batches: manifest.batches.len() as u64,
            new,
        })
    })
    .await?;
    Ok(Json(out))
}

/// Whether `If-None-Match` lists `etag` (or `*`).
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// The current signed snapshot, from the cache when still current.
///
/// Single flight: the cache's lock is held while a snapshot is built, so the
/// requests that arrive after a change wait for the one build and then share
/// it (a cached snapshot at least as new as the sequence a request read is
/// current for it), instead of each reading every revocation and signing.
fn current_snapshot(state: &AppState) -> Result<Option<Arc<SignedSnapshot>>, ApiError> {
    let Some(key) = &state.0.revocation_key else {
        return Ok(None);
    };
    let storage = state.storage();
    let sequence = storage.sequence()?;
    let mut cache = state
        .0
        .snapshot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let now = state.now();
    if let Some(c) = &*cache
        && c.sequence >= sequence
        && now.saturating_sub(c.issued) < state.settings().snapshot_refresh
    {
        return Ok(Some(Arc::clone(c)));
    }
    let (sequence, revocations) = storage.revocations()?;
    let mut snapshot = RevocationSnapshot::new(sequence, now);
    for Revocation {
        kid,
        scope,
        reason,
        date,
    } in revocations
    {
        snapshot
            .add(kid, scope, reason, date)
            .map_err(ApiError::internal)?;
    }
    let signed = Arc::new(SignedSnapshot {
        sequence,
        issued: now,
        etag: format!("\"{}-{sequence}-{now}\"", key.kid()),
        bytes: Bytes::from(key.sign_snapshot(&snapshot)),
    });
    state.metrics().snapshot_built();
    *cache = Some(Arc::clone(&signed));
    Ok(Some(signed))
}

/// The current signed revocation snapshot, in the format
/// `hallmark verify --revocations` reads. Send the ETag back in
/// If-None-Match to get 304 while it is unchanged.
#[utoipa::path(
    get,
    path = "/v1/revocations/snapshot",
    params(("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer")),
    responses(
        (status = 200, description = "The snapshot", content_type = "application/octet-stream", body = Vec<u8>,
         headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Unchanged since the ETag given", headers(("ETag" = String))),
        (status = 404, description = "This service signs no snapshots", body = ErrorBody),
    )
)]
pub(crate) async fn snapshot(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let signed = blocking(move || current_snapshot(&state))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no-revocation-key",
                "this service signs no snapshots (start it with --revocation-key)",
            )
        })?;
    let etag = HeaderValue::from_str(&signed.etag).map_err(ApiError::internal)?;
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if etag_matches(&headers, &signed.etag) {
        return Ok((StatusCode::NOT_MODIFIED, common).into_response());
    }
    Ok((
        StatusCode::OK,
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        signed.bytes.clone(),
    )
        .into_response())
}
