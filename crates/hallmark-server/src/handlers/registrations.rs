//! Warranty registration (issue 16): `POST /v1/registrations` binds a unit
//! to its first owner with the claim code printed inside its package;
//! `POST /v1/transfers` and `POST /v1/transfers/accept` hand it to a new
//! owner with a one-time code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hallmark::Date;

use crate::AppState;
use crate::error::ApiError;

/// A registration that was accepted.
#[allow(dead_code)] // Skeleton: the page's form calls it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Registered {
    /// When, seconds since 1970-01-01 UTC.
    pub(crate) registered: u64,
    /// The warranty's start date.
    pub(crate) warranty_start: Date,
}

/// Registers the first owner of `code` (blocking: call it off the async
/// threads). The JSON route and the page's form both call this; an
/// [`ApiError`]'s kind says why a registration was refused.
#[allow(dead_code)] // Skeleton: the page's form calls it.
pub(crate) fn register(
    _state: &AppState,
    _code: &str,
    _claim: &str,
    _owner_ref: &str,
    _purchased_on: Option<Date>,
) -> Result<Registered, ApiError> {
    Err(not_yet())
}

fn not_yet() -> ApiError {
    ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        "not-implemented",
        "registrations are not built yet",
    )
}

/// `POST /v1/registrations`.
pub(crate) async fn registrations() -> Response {
    not_yet().into_response()
}

/// `POST /v1/transfers`.
pub(crate) async fn transfer() -> Response {
    not_yet().into_response()
}

/// `POST /v1/transfers/accept`.
pub(crate) async fn accept() -> Response {
    not_yet().into_response()
}
