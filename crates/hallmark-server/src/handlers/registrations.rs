//! Warranty registration (issue 16): `POST /v1/registrations` binds a unit
//! to its first owner with the claim code printed inside its package;
//! `POST /v1/transfers` and `POST /v1/transfers/accept` hand it to a new
//! owner with a one-time code.
//!
//! Claim codes, owner references and transfer codes are never logged and
//! never answered; owner references and transfer codes are stored hashed.
//! The same owner registering again gets `200` with the registration (an
//! idempotent retry); another owner gets `409 already-registered`, counted
//! as a conflict and raised as the alert `registration-conflict`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hallmark::{Date, VerdictKind, rfc3339};
use serde_json::json;

use super::graph::verified_unit;
use super::{blocking, judge, today};
use crate::AppState;
use crate::api::registrations::{
    AcceptBody, AcceptRequest, RegistrationBody, RegistrationRequest, TransferBody, TransferRequest,
};
use crate::error::{ApiError, ApiJson};
use crate::storage::{
    AttemptLimit, RegisterOutcome, RegistrationStore, TransferAccept, TransferStart,
};
use hallmark_issuer::claim::{ClaimCode, ClaimCodeError};

/// Failed claims (or owner references) allowed per unit per window.
pub const MAX_CLAIM_FAILURES: u64 = 5;

/// The window of [`MAX_CLAIM_FAILURES`], seconds.
pub const CLAIM_FAILURE_WINDOW: u64 = 3600;

/// Longest owner reference, bytes.
pub const MAX_OWNER_REF: usize = 128;

const OWNER_CONTEXT: &str = "hallmark v1 owner reference";
const TRANSFER_CONTEXT: &str = "hallmark v1 transfer code";

/// A registration that was accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Registered {
    /// When, seconds since 1970-01-01 UTC.
    pub(crate) registered: u64,
    /// The warranty's start date.
    pub(crate) warranty_start: Date,
    /// Whether this request registered it (false: the same owner had).
    pub(crate) new: bool,
    /// Why this request's `purchased_on` was not taken as given (only when
    /// it registered the unit).
    pub(crate) adjusted: Option<Adjusted>,
}

/// A purchase date moved into the range a warranty can start in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Adjusted {
    /// After today: the warranty starts today.
    Future,
    /// Before the unit's date of manufacture: it starts on that date.
    BeforeManufacture,
}

impl Adjusted {
    /// The name in the JSON answer (`purchased_on_adjusted`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Adjusted::Future => "future",
            Adjusted::BeforeManufacture => "before-manufacture",
        }
    }
}

fn owner_hash(owner_ref: &str) -> Result<[u8; 32], ApiError> {
    if owner_ref.is_empty() || owner_ref.len() > MAX_OWNER_REF {
        return Err(ApiError::bad_request(format!(
            "owner_ref must be 1 to {MAX_OWNER_REF} bytes"
        )));
    }
    if owner_ref.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "owner_ref must not hold control characters",
        ));
    }
    Ok(blake3::derive_key(OWNER_CONTEXT, owner_ref.as_bytes()))
}

fn transfer_hash(code: &str) -> [u8; 32] {
    blake3::derive_key(
        TRANSFER_CONTEXT,
        code.trim().to_ascii_uppercase().as_bytes(),
    )
}

fn disabled() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "registrations-disabled",
        "this service takes no registrations (it was started without --claim-key)",
    )
}

/// The unit identity of a genuine code, or a 422 with its verdict.
fn genuine(state: &AppState, code: &str) -> Result<(String, Date), ApiError> {
    let j = judge(state, code)?;
    let refuse = || {
        let report = hallmark::report::Report::new(&j.verdict, code);
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not-genuine",
            "only a genuine code can be registered",
        )
        .with("verdict", serde_json::to_value(report).unwrap_or_default())
    };
    if j.verdict.kind() != VerdictKind::Genuine {
        return Err(refuse());
    }
    let made = j
        .verdict
        .verified()
        .map(|v| v.payload().date())
        .ok_or_else(refuse)?;
    let unit = verified_unit(&j).ok_or_else(refuse)?;
    Ok((unit.to_string(), made))
}

/// The attempt bound at `now`: [`MAX_CLAIM_FAILURES`] per
/// [`CLAIM_FAILURE_WINDOW`]. The storage checks it and counts a failure in
/// the attempt's own transaction, so racing attempts cannot exceed it.
fn limit(now: u64) -> AttemptLimit {
    AttemptLimit {
        // The window is the last CLAIM_FAILURE_WINDOW seconds, `now`
        // included: a failure at `t` counts until `t + window`, when the
        // 429's Retry-After says to come back.
        since: now.saturating_add(1).saturating_sub(CLAIM_FAILURE_WINDOW),
        max: MAX_CLAIM_FAILURES,
    }
}

/// The 429 of a unit with too many failed attempts in the window, whose
/// oldest failure was at `oldest`.
fn too_many(oldest: Option<u64>, now: u64) -> ApiError {
    let wait = oldest
        .map(|t| t.saturating_add(CLAIM_FAILURE_WINDOW).saturating_sub(now))
        .unwrap_or(CLAIM_FAILURE_WINDOW)
        .max(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-claim-attempts",
        format!("too many failed attempts for this unit; retry in {wait} s"),
    )
    .with("retry_after", json!(wait))
}

/// Registers the first owner of `code` (blocking: call it off the async
/// threads). The JSON route and the page's form both call this; an
/// [`ApiError`]'s kind says why a registration was refused.
pub(crate) fn register(
    state: &AppState,
    code: &str,
    claim: &str,
    owner_ref: &str,
    purchased_on: Option<Date>,
) -> Result<Registered, ApiError> {
    let settings = state.registrations().ok_or_else(disabled)?;
    let owner = owner_hash(owner_ref)?;
    let claim = ClaimCode::parse(claim).map_err(|e| match e {
        ClaimCodeError::Typo => ApiError::new(
            StatusCode::BAD_REQUEST,
            "claim-typo",
            "the claim code has a typo (its last character does not match): check it",
        ),
        e => ApiError::new(StatusCode::BAD_REQUEST, "invalid-claim", e.to_string()),
    })?;
    let (unit, made) = genuine(state, code)?;
    let now = state.now();
    // Checked here, used only if the limit allows the attempt (a refused
    // attempt answers 429 whatever the claim).
    let claim_ok = settings.claim_key.check(&unit, &claim);
    // A purchase date outside [manufacture, today] is clamped to the nearer
    // bound, and the answer says so.
    let day = today(now);
    let (warranty_start, adjusted) = match purchased_on {
        None => (day, None),
        Some(d) if d > day => (day, Some(Adjusted::Future)),
        Some(d) if d < made => (made.min(day), Some(Adjusted::BeforeManufacture)),
        Some(d) => (d, None),
    };
    match state.storage().register_owner(
        &unit,
        claim_ok,
        &owner,
        warranty_start,
        now,
        limit(now),
    )? {
        RegisterOutcome::TooManyFailures { oldest } => Err(too_many(oldest, now)),
        RegisterOutcome::WrongClaim => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong-claim",
            "the claim code does not belong to this unit",
        )),
        RegisterOutcome::Registered(s) => Ok(Registered {
            registered: s.registered,
            warranty_start: s.warranty_start,
            new: true,
            adjusted,
        }),
        RegisterOutcome::SameOwner(s) => Ok(Registered {
            registered: s.registered,
            warranty_start: s.warranty_start,
            new: false,
            adjusted: None,
        }),
        RegisterOutcome::Conflict(s) => {
            state.metrics().alert("registration-conflict");
            tracing::warn!(
                unit = %unit,
                conflicts = s.conflicts,
                alerts = %"registration-conflict",
                "registration-conflict: a second owner tried to register a registered unit"
            );
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "already-registered",
                "this unit is registered to another owner already",
            ))
        }
    }
}

/// `purchased_on` (absent or empty: none), or 400 `invalid-date`.
pub(crate) fn parse_date(text: Option<&str>) -> Result<Option<Date>, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t.parse::<Date>().map(Some).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid-date",
                format!("purchased_on must be a date that exists, YYYY-MM-DD ({e})"),
            )
        }),
    }
}

/// `POST /v1/registrations`.
#[utoipa::path(
    post,
    path = "/v1/registrations",
    tag = "registrations",
    request_body = RegistrationRequest,
    responses(
        (status = 201, description = "Registered: the first owner", body = RegistrationBody),
        (status = 200, description = "The same owner registered it before", body = RegistrationBody),
        (status = 400, description = "`invalid-request` (bad JSON, `owner_ref`), `invalid-claim`, `claim-typo`, `invalid-date` (`purchased_on` not a YYYY-MM-DD date), or an unreadable code", body = crate::api::ErrorBody),
        (status = 403, description = "`wrong-claim`", body = crate::api::ErrorBody),
        (status = 409, description = "`already-registered` to another owner", body = crate::api::ErrorBody),
        (status = 413, description = "Body too large", body = crate::api::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::api::ErrorBody),
        (status = 422, description = "`not-genuine`, with the verdict", body = crate::api::ErrorBody),
        (status = 429, description = "`too-many-claim-attempts`, or rate limited per client (see Retry-After)", body = crate::api::ErrorBody),
        (status = 503, description = "`registrations-disabled`", body = crate::api::ErrorBody),
    )
)]
pub(crate) async fn registrations(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegistrationRequest>,
) -> Result<(StatusCode, Json<RegistrationBody>), ApiError> {
    blocking(move || {
        let purchased = parse_date(req.purchased_on.as_deref())?;
        let r = register(&state, &req.code, &req.claim, &req.owner_ref, purchased)?;
        let status = if r.new {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        Ok((
            status,
            Json(RegistrationBody {
                registered: r.registered,
                registered_at: rfc3339(r.registered),
                warranty_start: r.warranty_start.to_string(),
                purchased_on_adjusted: r.adjusted.map(|a| a.as_str().to_owned()),
            }),
        ))
    })
    .await
}

/// A new transfer code: `ht_` and 16 Crockford base32 characters (80 bits).
fn new_transfer_code() -> Result<String, ApiError> {
    const DIGITS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    let mut v = u128::from_be_bytes({
        let mut b = [0u8; 16];
        b[6..].copy_from_slice(&bytes);
        b
    });
    let mut out = [0u8; 16];
    for c in out.iter_mut().rev() {
        *c = DIGITS.get((v & 31) as usize).copied().unwrap_or(b'0');
        v >>= 5;
    }
    Ok(format!("ht_{}", String::from_utf8_lossy(&out)))
}

/// `POST /v1/transfers`.
#[utoipa::path(
    post,
    path = "/v1/transfers",
    tag = "registrations",
    request_body = TransferRequest,
    responses(
        (status = 201, description = "A one-time transfer code, shown once", body = TransferBody),
        (status = 400, description = "`invalid-request` (bad JSON, `owner_ref`) or an unreadable code", body = crate::api::ErrorBody),
        (status = 403, description = "`wrong-owner`", body = crate::api::ErrorBody),
        (status = 404, description = "`not-registered`", body = crate::api::ErrorBody),
        (status = 413, description = "Body too large", body = crate::api::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::api::ErrorBody),
        (status = 422, description = "`not-genuine`, with the verdict", body = crate::api::ErrorBody),
        (status = 429, description = "`too-many-claim-attempts`, or rate limited per client (see Retry-After)", body = crate::api::ErrorBody),
        (status = 503, description = "`registrations-disabled`", body = crate::api::ErrorBody),
    )
)]
pub(crate) async fn transfer(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<TransferRequest>,
) -> Result<(StatusCode, Json<TransferBody>), ApiError> {
    blocking(move || {
        let settings = state.registrations().ok_or_else(disabled)?;
        let owner = owner_hash(&req.owner_ref)?;
        let (unit, _) = genuine(&state, &req.code)?;
        let now = state.now();
        let code = new_transfer_code()?;
        let expires = now.saturating_add(settings.transfer_ttl);
        match state.storage().start_transfer(
            &unit,
            &owner,
            &transfer_hash(&code),
            now,
            expires,
            limit(now),
        )? {
            TransferStart::TooManyFailures { oldest } => Err(too_many(oldest, now)),
            TransferStart::Started => Ok((
                StatusCode::CREATED,
                Json(TransferBody {
                    transfer_code: code,
                    expires,
                    expires_at: rfc3339(expires),
                }),
            )),
            TransferStart::NotRegistered => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not-registered",
                "this unit is not registered",
            )),
            TransferStart::WrongOwner => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong-owner",
                "owner_ref is not the current owner's",
            )),
        }
    })
    .await
}

/// `POST /v1/transfers/accept`.
#[utoipa::path(
    post,
    path = "/v1/transfers/accept",
    tag = "registrations",
    request_body = AcceptRequest,
    responses(
        (status = 200, description = "The unit has its new owner", body = AcceptBody),
        (status = 400, description = "`invalid-request` (bad JSON, `owner_ref`) or an unreadable code", body = crate::api::ErrorBody),
        (status = 403, description = "`wrong-transfer-code`", body = crate::api::ErrorBody),
        (status = 410, description = "`transfer-used` or `transfer-expired`", body = crate::api::ErrorBody),
        (status = 413, description = "Body too large", body = crate::api::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::api::ErrorBody),
        (status = 422, description = "`not-genuine`, with the verdict", body = crate::api::ErrorBody),
        (status = 429, description = "`too-many-claim-attempts`, or rate limited per client (see Retry-After)", body = crate::api::ErrorBody),
        (status = 503, description = "`registrations-disabled`", body = crate::api::ErrorBody),
    )
)]
pub(crate) async fn accept(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<AcceptRequest>,
) -> Result<Json<AcceptBody>, ApiError> {
    blocking(move || {
        state.registrations().ok_or_else(disabled)?;
        let owner = owner_hash(&req.owner_ref)?;
        let (unit, _) = genuine(&state, &req.code)?;
        let now = state.now();
        match state.storage().accept_transfer(
            &unit,
            &transfer_hash(&req.transfer_code),
            &owner,
            now,
            limit(now),
        )? {
            TransferAccept::TooManyFailures { oldest } => Err(too_many(oldest, now)),
            TransferAccept::Accepted(s) => Ok(Json(AcceptBody {
                warranty_start: s.warranty_start.to_string(),
                transfers: s.transfers,
            })),
            TransferAccept::Unknown => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wrong-transfer-code",
                "no such transfer code for this unit",
            )),
            TransferAccept::Used => Err(ApiError::new(
                StatusCode::GONE,
                "transfer-used",
                "this transfer code was used already",
            )),
            TransferAccept::Expired => Err(ApiError::new(
                StatusCode::GONE,
                "transfer-expired",
                "this transfer code expired: ask the owner for a new one",
            )),
        }
    })
    .await
}
