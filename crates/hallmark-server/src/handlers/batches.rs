//! `POST /v1/batches`: registers a signed batch manifest.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use hallmark::{BatchManifest, BatchReceipt};

use super::{blocking, invalid};
use crate::AppState;
use crate::api::{BatchesRegistered, ErrorBody};
use crate::auth::{Authorized, BatchesScope};
use crate::error::ApiError;
use crate::storage::StorageError;

/// Registers the batches of a signed manifest from `hallmark batches export`
/// (the raw bytes). Needs a `batches` token. Idempotent: the same manifest
/// again gets a receipt with its first registration time. With a registry key
/// (`--revocation-key`) the answer carries the signed receipt (hex); without
/// one, `receipt` is null. A key certified with a `max_count` cannot register
/// more serials than that (409 `max-count-exceeded`, nothing stored).
#[utoipa::path(
    post,
    path = "/v1/batches",
    tag = "crate::routes",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "A signed batch manifest"),
    security(("token" = [])),
    responses(
        (status = 200, description = "Registered (durably)", body = BatchesRegistered),
        (status = 400, description = "Not a manifest, a bad signature or an unknown key; nothing changed", body = ErrorBody),
        (status = 401, description = "No token, a wrong, revoked or wrong-scope one; nothing changed", body = ErrorBody),
        (status = 409, description = "`max-count-exceeded`: the key's certificate allows fewer serials; nothing changed", body = ErrorBody),
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
        // A certified key's max_count, enforced by the registry.
        let max_count = state
            .trust()
            .get(manifest.kid)
            .and_then(|k| k.certificate())
            .and_then(|c| c.constraints.max_count);
        let done = state
            .storage()
            .register_batches(&manifest, &bytes, max_count, &auth.token.name, state.now())
            .map_err(|e| match e {
                e @ StorageError::MaxCountExceeded { .. } => {
                    ApiError::new(StatusCode::CONFLICT, "max-count-exceeded", e.to_string())
                }
                e => e.into(),
            })?;
        let (batches, serials) = (
            manifest.batches.len() as u64,
            manifest
                .batches
                .iter()
                .fold(0u64, |n, b| n.saturating_add(b.count)),
        );
        let receipt = state.revocation_key().map(|key| {
            let receipt = BatchReceipt {
                manifest: BatchReceipt::digest(&bytes),
                kid: manifest.kid,
                registered: done.registered,
                batches,
                serials,
            };
            hex::encode(key.sign_document(receipt.to_unsigned(key.kid())))
        });
        tracing::info!(token = %auth.token.name, kid = %manifest.kid, new = done.new, "batches registered");
        Ok(BatchesRegistered {
            kid: manifest.kid.to_string(),
            batches,
            new: done.new,
            serials,
            registered: done.registered,
            registered_at: hallmark::rfc3339(done.registered),
            receipt,
        })
    })
    .await?;
    Ok(Json(out))
}
