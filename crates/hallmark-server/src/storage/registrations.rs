//! Warranty registrations (issue 16): the first owner of a unit, bound to
//! the claim code printed inside its package; transfers to a new owner with
//! a one-time code; failed claim attempts per unit. Written once for both
//! backends on [`super::graph::Sql`], like the graph queries.
//!
//! Hallmark stores only hashes of owner references, claim codes and
//! transfer codes; none is ever returned.

use super::{Storage, StorageError};

/// What the public may know of a unit's registration: never the owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationSummary {
    /// When the first owner registered, seconds since 1970-01-01 UTC (the
    /// page shows its month and year).
    pub registered: u64,
    /// The warranty's start date (the purchase date given at registration,
    /// else the registration's day); never changed by a transfer.
    pub warranty_start: hallmark::Date,
    /// Refused second registrations (a registration conflict is a clone
    /// signal).
    pub conflicts: u64,
    /// Completed transfers to a new owner.
    pub transfers: u64,
}

/// Registration queries, for every [`Storage`].
pub trait RegistrationStore {
    /// The registration of `unit` (a unit identity text, as the graph
    /// keeps: `code:KID:SERIAL`, `gs1:GTIN:SERIAL`), if it is registered.
    fn registration_summary(&self, unit: &str)
    -> Result<Option<RegistrationSummary>, StorageError>;
}

impl<S: Storage + ?Sized> RegistrationStore for S {
    fn registration_summary(
        &self,
        _unit: &str,
    ) -> Result<Option<RegistrationSummary>, StorageError> {
        // Skeleton: the registrations work fills this in.
        Ok(None)
    }
}
