//! Request and response bodies of warranty registration (issue 16).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/registrations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    /// The hallmark code (as scanned).
    pub code: String,
    /// The claim code printed inside the package, `XXXX-XXXX-XXXX-C`.
    pub claim: String,
    /// The owner's opaque reference (1..=128 bytes, no control characters):
    /// stored only as a hash, never returned.
    pub owner_ref: String,
    /// The purchase date, YYYY-MM-DD: the warranty's start. A date after
    /// today starts it today, one before the date of manufacture on that
    /// date (`purchased_on_adjusted` says so); one that is not a date is
    /// 400 `invalid-date`. Absent or empty: today.
    #[serde(default)]
    pub purchased_on: Option<String>,
}

/// A registration: `201` for the first owner, `200` for the same owner again.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationBody {
    /// When the unit was registered, seconds since 1970-01-01 UTC.
    pub registered: u64,
    /// The same, RFC 3339.
    pub registered_at: String,
    /// The warranty's start date, YYYY-MM-DD.
    pub warranty_start: String,
    /// Present when this request registered the unit and its
    /// `purchased_on` was moved: `future` (the warranty starts today) or
    /// `before-manufacture` (it starts on the date of manufacture).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(future|before-manufacture)$")]
    pub purchased_on_adjusted: Option<String>,
}

/// `POST /v1/transfers`: the current owner asks for a transfer code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The hallmark code.
    pub code: String,
    /// The current owner's reference.
    pub owner_ref: String,
}

/// A transfer code, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransferBody {
    /// The one-time transfer code, `ht_` and 16 Crockford base32 characters.
    pub transfer_code: String,
    /// When it expires, seconds since 1970-01-01 UTC.
    pub expires: u64,
    /// The same, RFC 3339.
    pub expires_at: String,
}

/// `POST /v1/transfers/accept`: the new owner takes the unit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The hallmark code.
    pub code: String,
    /// The transfer code the current owner received.
    pub transfer_code: String,
    /// The new owner's reference.
    pub owner_ref: String,
}

/// An accepted transfer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptBody {
    /// The warranty's start date, YYYY-MM-DD (unchanged by the transfer).
    pub warranty_start: String,
    /// Completed transfers, this one included.
    pub transfers: u64,
}
