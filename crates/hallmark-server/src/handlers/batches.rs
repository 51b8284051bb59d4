//! `POST /v1/batches`: registers a signed batch manifest.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use hallmark::BatchManifest;

use super::{blocking, invalid};
use crate::AppState;
use crate::api::{BatchesRegistered, ErrorBody};
use crate::auth::{Authorized, BatchesScope};
use crate::error::ApiError;

/// Registers the batches of a signed manifest from `hallmark batches export`
/// (the raw bytes). Needs a `batches` token. Idempotent.
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
