//! `GET /v1/keys`.

use axum::Json;
use axum::extract::State;

use crate::AppState;
use crate::api::{KeyBody, KeysBody};

/// The trusted issuer keys, and the key that signs snapshots.
#[utoipa::path(get, path = "/v1/keys", tag = "crate::pages", responses((status = 200, description = "The keys", body = KeysBody)))]
pub(crate) async fn keys(State(state): State<AppState>) -> Json<KeysBody> {
    Json(KeysBody {
        keys: state.trust().keys().iter().map(KeyBody::from).collect(),
        revocation_key: state.revocation_kid().map(|k| k.to_string()),
    })
}
