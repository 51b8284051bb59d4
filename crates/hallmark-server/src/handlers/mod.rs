//! The request handlers, one module per resource, and what they share:
//! running blocking work off the async threads, and judging a code against
//! the trust store and the stored status.

use axum::http::StatusCode;
use hallmark::{Date, Verdict, VerdictKind, Verifier};
use serde_json::json;

use crate::AppState;
use crate::error::ApiError;
use crate::storage::Status;

pub(crate) mod batches;
pub(crate) mod codes;
pub(crate) mod digital_link;
pub(crate) mod graph;
pub(crate) mod health;
pub(crate) mod history;
pub(crate) mod keys;
pub(crate) mod registrations;
pub(crate) mod revocations;
pub(crate) mod scans;
pub(crate) mod status;
pub(crate) mod trust;

/// Runs blocking work (storage, signature checks) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
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

pub(crate) fn today(now: u64) -> Date {
    Date::from_days(now / 86_400).unwrap_or(Date::MAX)
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
    Ok(Judgement { verdict, status })
}

pub(crate) fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid-request", detail)
}
