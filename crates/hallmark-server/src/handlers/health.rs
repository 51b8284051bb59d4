//! `GET /healthz` and `GET /readyz`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use crate::AppState;
use crate::api::{ErrorBody, HealthBody};
use crate::error::ApiError;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "crate::routes", responses((status = 200, description = "Alive", body = HealthBody)))]
pub(crate) async fn healthz() -> Json<HealthBody> {
    Json(HealthBody {
        status: "ok".into(),
        sequence: None,
    })
}

/// Readiness: ready when the database answers and takes a write, within a
/// bounded time (half the request timeout, at most 5 s), so a database that
/// hangs is a 503 before the request timeout would make it a 408.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "crate::pages",
    responses(
        (status = 200, description = "Ready", body = HealthBody),
        (status = 503, description = "The database does not answer, or refuses writes", body = ErrorBody),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<HealthBody>, ApiError> {
    let storage = state.storage();
    let now = state.now();
    let bound = (state.settings().request_timeout / 2).min(std::time::Duration::from_secs(5));
    let probe = tokio::task::spawn_blocking(move || {
        storage.check_writable(now)?;
        storage.sequence()
    });
    let not_ready = |detail: String| {
        tracing::warn!("not ready: {detail}");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not-ready", detail)
    };
    let sequence = match tokio::time::timeout(bound, probe).await {
        Ok(Ok(Ok(sequence))) => sequence,
        Ok(Ok(Err(e))) => {
            tracing::warn!("readiness probe failed: {e}");
            return Err(not_ready(
                "the database does not answer or refuses writes".into(),
            ));
        }
        Ok(Err(_)) => return Err(not_ready("storage check failed".into())),
        Err(_) => {
            return Err(not_ready(format!(
                "the database did not answer within {} ms",
                bound.as_millis()
            )));
        }
    };
    Ok(Json(HealthBody {
        status: "ready".into(),
        sequence: Some(sequence),
    }))
}
