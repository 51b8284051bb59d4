//! `POST /v1/status`: revoke, decommission or reactivate.

use axum::Json;
use axum::extract::State;
use hallmark::report::ScopeReport;
use hallmark::{Reason, RevocationSnapshot, Scope};

use super::{blocking, invalid, today};
use crate::AppState;
use crate::api::{ErrorBody, StatusChanged, StatusRequest, StatusRequestBody, StatusTarget};
use crate::auth::{Authorized, StatusScope};
use crate::error::{ApiError, ApiJson};
use crate::storage::{Action, StatusChange};

/// Turns a typed request into a change: verifies a code target, defaults the
/// date, and checks what the snapshot format could not store.
fn status_change(state: &AppState, req: StatusRequest) -> Result<StatusChange, ApiError> {
    let action = match &req {
        StatusRequest::Revoke { reason, .. } => Action::Revoke(*reason),
        StatusRequest::Decommission { .. } => Action::Decommission,
        StatusRequest::Reactivate { .. } => Action::Reactivate,
        StatusRequest::Compromise { .. } => Action::Revoke(Reason::KeyCompromised),
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
    // storable, so every stored revocation can be served. A compromise is
    // served in trust bundles only (snapshots cannot carry one).
    if !matches!(scope, Scope::Compromise { .. }) {
        RevocationSnapshot::new(0, 0)
            .add(kid, scope.clone(), Reason::Recalled, date)
            .map_err(|e| invalid(e.to_string()))?;
    }
    Ok(StatusChange {
        kid,
        scope,
        action,
        date,
    })
}

/// Revokes (with a reason), decommissions or reactivates a serial, a serial
/// range, a lot, or a whole key from a date; or records (`compromise`) or
/// removes (`reactivate` with `at`) a key's compromise at a time. Needs a
/// `status` token.
#[utoipa::path(
    post,
    path = "/v1/status",
    tag = "crate::routes",
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
        let compromise =
            matches!(change.scope, Scope::Compromise { .. }) && change.action != Action::Reactivate;
        Ok(StatusChanged {
            action: if compromise {
                "compromise".to_owned()
            } else {
                change.action.as_str().to_owned()
            },
            reason: change.action.reason().map(|r| r.as_str().to_owned()),
            kid: change.kid.to_string(),
            scope: ScopeReport::from(&change.scope),
            date: change.date.to_string(),
            target: change.target(),
            sequence,
        })
    })
    .await?;
    Ok(Json(body))
}
