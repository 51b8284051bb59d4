//! `GET /v1/revocations/snapshot`: the signed revocation snapshot, cached,
//! with ETag and If-None-Match.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hallmark::{Revocation, RevocationSnapshot, Scope};

use super::blocking;
use crate::api::ErrorBody;
use crate::error::ApiError;
use crate::{AppState, SignedSnapshot};

/// Whether `If-None-Match` lists `etag` (or `*`).
pub(crate) fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
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
    let Some(key) = state.revocation_key() else {
        return Ok(None);
    };
    let storage = state.storage();
    let sequence = storage.sequence()?;
    let mut cache = state.snapshot_cache();
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
        if matches!(scope, Scope::Compromise { .. }) {
            // Snapshots (format v1) cannot carry a compromise: trust bundles do.
            continue;
        }
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
    tag = "crate::routes",
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
    signed_response(&headers, &signed)
}

/// A signed document as served: 304 when `If-None-Match` names its ETag,
/// else its bytes, with the ETag and `Cache-Control: no-cache` either way.
pub(crate) fn signed_response(
    headers: &HeaderMap,
    signed: &SignedSnapshot,
) -> Result<Response, ApiError> {
    let etag = HeaderValue::from_str(&signed.etag).map_err(ApiError::internal)?;
    let common = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if etag_matches(headers, &signed.etag) {
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
