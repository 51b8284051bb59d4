//! `GET /v1/trust/bundle`: the signed trust bundle (docs/FORMAT.md §19),
//! cached, with ETag and If-None-Match.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hallmark::{Compromise, Revocation, RevocationSnapshot, Scope, TrustBundle};

use super::blocking;
use super::revocations::signed_response;
use crate::api::ErrorBody;
use crate::error::ApiError;
use crate::{AppState, SignedSnapshot};

/// The current signed bundle, from the cache when still current (the rule of
/// the snapshot's cache, single flight included).
fn current_bundle(state: &AppState) -> Result<Option<Arc<SignedSnapshot>>, ApiError> {
    let Some(key) = state.revocation_key() else {
        return Ok(None);
    };
    let storage = state.storage();
    let sequence = storage.sequence()?;
    let mut cache = state.bundle_cache();
    let now = state.now();
    if let Some(c) = &*cache
        && c.sequence >= sequence
        && now.saturating_sub(c.issued) < state.settings().snapshot_refresh
    {
        return Ok(Some(Arc::clone(c)));
    }
    let contents = storage.registry_contents()?;
    let sequence = contents.sequence;
    let mut revocations = RevocationSnapshot::new(sequence, now);
    let mut compromises = Vec::new();
    for Revocation {
        kid,
        scope,
        reason,
        date,
    } in contents.revocations
    {
        match scope {
            Scope::Compromise { at } => compromises.push(Compromise { kid, at, date }),
            scope => revocations
                .add(kid, scope, reason, date)
                .map_err(ApiError::internal)?,
        }
    }
    // The registry key's own certificate first, then the trust store's
    // certified keys (which verifiers check against their roots).
    let mut certificates: Vec<Vec<u8>> = state
        .registry_certificate()
        .map(<[u8]>::to_vec)
        .into_iter()
        .collect();
    for k in state.trust().keys() {
        if let Some(cert) = k.certificate_bytes()
            && !certificates.iter().any(|c| c.as_slice() == cert)
        {
            certificates.push(cert.to_vec());
        }
    }
    let batches = contents
        .manifests
        .into_iter()
        .map(|m| {
            let receipt = key.sign_document(m.receipt().to_unsigned(key.kid()));
            (m.bytes, receipt)
        })
        .collect();
    let bundle = TrustBundle {
        sequence,
        issued: now,
        certificates,
        batches,
        revocations,
        compromises,
    };
    let signed = Arc::new(SignedSnapshot {
        sequence,
        issued: now,
        etag: format!("\"b-{}-{sequence}-{now}\"", key.kid()),
        bytes: Bytes::from(key.sign_document(bundle.to_unsigned(key.kid()))),
    });
    *cache = Some(Arc::clone(&signed));
    Ok(Some(signed))
}

/// The current signed trust bundle, in the format `hallmark verify --bundle`
/// and `hallmark trust pull` read: the registry key's certificate (if the
/// service was given `--registry-cert`), the trust store's line
/// certificates, every registered manifest with its receipt, the revocations
/// and the key compromises. Its sequence is the revocation snapshot's (one
/// sequence per signer). Send the ETag back in If-None-Match to get 304
/// while it is unchanged.
#[utoipa::path(
    get,
    path = "/v1/trust/bundle",
    tag = "crate::routes",
    params(("If-None-Match" = Option<String>, Header, description = "An ETag from an earlier answer")),
    responses(
        (status = 200, description = "The bundle", content_type = "application/octet-stream", body = Vec<u8>,
         headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Unchanged since the ETag given", headers(("ETag" = String))),
        (status = 404, description = "This service signs no bundles", body = ErrorBody),
    )
)]
pub(crate) async fn bundle(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let signed = blocking(move || current_bundle(&state))
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no-revocation-key",
                "this service signs no trust bundles (start it with --revocation-key)",
            )
        })?;
    signed_response(&headers, &signed)
}
