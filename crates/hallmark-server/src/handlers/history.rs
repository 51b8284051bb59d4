//! Service and test history (issue 16): `POST /v1/codes/{code}/events` from
//! service and test stations (`service` token), `GET` of the history (the
//! public sees a brief view, a token holder everything), the same for a
//! component lot; and reports of suspected fakes, `POST /v1/reports`
//! (public, rate limited) and `GET /v1/reports` (`reports` token).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

fn not_yet() -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "not-implemented",
        "history is not built yet",
    )
}

/// `POST /v1/codes/{code}/events`.
pub(crate) async fn add_event() -> Response {
    not_yet().into_response()
}

/// `GET /v1/codes/{code}/events`.
pub(crate) async fn events() -> Response {
    not_yet().into_response()
}

/// `POST /v1/lots/{part}/{lot}/events`.
pub(crate) async fn add_lot_event() -> Response {
    not_yet().into_response()
}

/// `GET /v1/lots/{part}/{lot}/events`.
pub(crate) async fn lot_events() -> Response {
    not_yet().into_response()
}

/// `POST /v1/reports`.
pub(crate) async fn report() -> Response {
    not_yet().into_response()
}

/// `GET /v1/reports`.
pub(crate) async fn reports() -> Response {
    not_yet().into_response()
}

/// Validates and stores a report of a suspected fake (blocking); the JSON
/// route and the page's form both call this.
pub(crate) fn submit_report(
    _state: &crate::AppState,
    _code: &str,
    _place: Option<String>,
    _note: Option<String>,
) -> Result<u64, ApiError> {
    Err(not_yet())
}
