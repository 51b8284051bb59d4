//! Warranty registrations (issue 16): the first owner of a unit, bound to
//! the claim code printed inside its package; transfers to a new owner with
//! a one-time code; failed claim attempts per unit. Written once for both
//! backends on [`super::graph::Sql`], like the graph queries.
//!
//! Hallmark stores only hashes of owner references, claim codes and
//! transfer codes; none is ever returned. Writes run in one write
//! transaction each (on PostgreSQL under the graph's advisory lock), and the
//! registrations table's primary key is the unit, so the first registration
//! wins exactly once however many race.
//!
//! The bound on failed attempts per unit ([`AttemptLimit`]) is checked and
//! counted in the same write transaction as the attempt itself: the count of
//! the unit's recent failures, the attempt, and the failure it may add are
//! one step. Write transactions are serialised (SQLite: `BEGIN IMMEDIATE`,
//! which holds the database's write lock, also across processes; PostgreSQL:
//! the graph's transaction-level advisory lock, taken before the first
//! statement and held to the commit, so every server process sharing the
//! database waits for it and each statement after it sees every earlier
//! commit), so however many attempts race, at most `max` of them fail
//! without being refused.

use super::graph::{Sql, Value};
use super::rows::{to_i64, to_u64};
use super::{RowError, Storage, StorageError, run};

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

/// The bound on failed claim or owner attempts per unit: an attempt made
/// when the unit has `max` failures at or after `since` is refused without
/// being tried (and not counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttemptLimit {
    /// The start of the window, seconds; failures before it are dropped.
    pub since: u64,
    /// Failures allowed in the window.
    pub max: u64,
}

/// What [`RegistrationStore::register_owner`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterOutcome {
    /// The unit had too many failed attempts in the window: nothing was
    /// tried. `oldest` is the time of the oldest failure in the window.
    TooManyFailures {
        /// The oldest failure in the window, seconds.
        oldest: Option<u64>,
    },
    /// The claim code was wrong: counted as a failed attempt.
    WrongClaim,
    /// The unit had no owner: this one is its first.
    Registered(RegistrationSummary),
    /// The unit's current owner registered it again (nothing changed).
    SameOwner(RegistrationSummary),
    /// Another owner holds the unit: refused, and counted as a conflict
    /// (the summary has the new count).
    Conflict(RegistrationSummary),
}

/// What [`RegistrationStore::start_transfer`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferStart {
    /// The unit had too many failed attempts in the window: nothing was
    /// tried.
    TooManyFailures {
        /// The oldest failure in the window, seconds.
        oldest: Option<u64>,
    },
    /// The transfer code was stored.
    Started,
    /// The unit is not registered.
    NotRegistered,
    /// The owner reference is not the current owner's (counted as a failed
    /// attempt).
    WrongOwner,
}

/// What [`RegistrationStore::accept_transfer`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferAccept {
    /// The unit had too many failed attempts in the window: nothing was
    /// tried.
    TooManyFailures {
        /// The oldest failure in the window, seconds.
        oldest: Option<u64>,
    },
    /// The unit has its new owner.
    Accepted(RegistrationSummary),
    /// No such transfer code for this unit (counted as a failed attempt).
    Unknown,
    /// The code was used already.
    Used,
    /// The code expired (and is retired: a clock set back later does not
    /// revive it).
    Expired,
}

/// Registration queries, for every [`Storage`].
pub trait RegistrationStore {
    /// The registration of `unit` (a unit identity text, as the graph
    /// keeps: `code:KID:SERIAL`, `gs1:GTIN:SERIAL`), if it is registered.
    fn registration_summary(&self, unit: &str)
    -> Result<Option<RegistrationSummary>, StorageError>;

    /// Failed claim or owner attempts on `unit` at or after `since`
    /// (seconds), and the time of the oldest of them (read only: the write
    /// calls check their [`AttemptLimit`] themselves).
    fn claim_failures(&self, unit: &str, since: u64) -> Result<(u64, Option<u64>), StorageError>;

    /// Registers `owner_hash` as `unit`'s first owner, unless it has one, if
    /// `claim_ok` (the claim code, checked by the caller, is `unit`'s) and
    /// `limit` allows an attempt; a wrong claim is counted as a failure, in
    /// the same transaction.
    fn register_owner(
        &self,
        unit: &str,
        claim_ok: bool,
        owner_hash: &[u8; 32],
        warranty_start: hallmark::Date,
        now: u64,
        limit: AttemptLimit,
    ) -> Result<RegisterOutcome, StorageError>;

    /// Stores a one-time transfer code (its hash) for `unit`, if
    /// `owner_hash` is its current owner's and `limit` allows an attempt; a
    /// wrong owner is counted as a failure, in the same transaction.
    fn start_transfer(
        &self,
        unit: &str,
        owner_hash: &[u8; 32],
        code_hash: &[u8; 32],
        now: u64,
        expires: u64,
        limit: AttemptLimit,
    ) -> Result<TransferStart, StorageError>;

    /// Hands `unit` to `new_owner_hash` with a transfer code (its hash), if
    /// `limit` allows an attempt; an unknown code is counted as a failure,
    /// in the same transaction.
    fn accept_transfer(
        &self,
        unit: &str,
        code_hash: &[u8; 32],
        new_owner_hash: &[u8; 32],
        now: u64,
        limit: AttemptLimit,
    ) -> Result<TransferAccept, StorageError>;

    /// Every owner `unit` has had (hash, since), oldest first, for audit.
    fn owner_history(&self, unit: &str) -> Result<Vec<([u8; 32], u64)>, StorageError>;
}

impl<S: Storage + ?Sized> RegistrationStore for S {
    fn registration_summary(
        &self,
        unit: &str,
    ) -> Result<Option<RegistrationSummary>, StorageError> {
        run(self, false, |sql| {
            Ok(read(sql, unit)?.map(|(summary, _)| summary))
        })
    }

    fn claim_failures(&self, unit: &str, since: u64) -> Result<(u64, Option<u64>), StorageError> {
        run(self, false, |sql| failures(sql, unit, since))
    }

    fn register_owner(
        &self,
        unit: &str,
        claim_ok: bool,
        owner_hash: &[u8; 32],
        warranty_start: hallmark::Date,
        now: u64,
        limit: AttemptLimit,
    ) -> Result<RegisterOutcome, StorageError> {
        run(self, true, |sql| {
            if let Some(oldest) = refused(sql, unit, limit)? {
                return Ok(RegisterOutcome::TooManyFailures { oldest });
            }
            if !claim_ok {
                count_failure(sql, unit, now, limit)?;
                return Ok(RegisterOutcome::WrongClaim);
            }
            if let Some((mut summary, owner)) = read(sql, unit)? {
                if same(&owner, owner_hash) {
                    return Ok(RegisterOutcome::SameOwner(summary));
                }
                sql.exec(
                    "UPDATE registrations SET conflicts = conflicts + 1 WHERE unit = ?1",
                    &[text(unit)],
                )?;
                audit(sql, "registration-conflict", unit, now)?;
                summary.conflicts = summary.conflicts.saturating_add(1);
                return Ok(RegisterOutcome::Conflict(summary));
            }
            sql.exec(
                "INSERT INTO registrations (unit, owner_hash, registered, warranty_start) \
                 VALUES (?1, ?2, ?3, ?4)",
                &[
                    text(unit),
                    blob(owner_hash),
                    int(now),
                    text(&warranty_start.to_string()),
                ],
            )?;
            add_owner(sql, unit, owner_hash, now)?;
            audit(sql, "register", unit, now)?;
            Ok(RegisterOutcome::Registered(RegistrationSummary {
                registered: now,
                warranty_start,
                conflicts: 0,
                transfers: 0,
            }))
        })
    }

    fn start_transfer(
        &self,
        unit: &str,
        owner_hash: &[u8; 32],
        code_hash: &[u8; 32],
        now: u64,
        expires: u64,
        limit: AttemptLimit,
    ) -> Result<TransferStart, StorageError> {
        run(self, true, |sql| {
            if let Some(oldest) = refused(sql, unit, limit)? {
                return Ok(TransferStart::TooManyFailures { oldest });
            }
            let Some((_, owner)) = read(sql, unit)? else {
                return Ok(TransferStart::NotRegistered);
            };
            if !same(&owner, owner_hash) {
                count_failure(sql, unit, now, limit)?;
                return Ok(TransferStart::WrongOwner);
            }
            sql.exec(
                "INSERT INTO transfers (code_hash, unit, created, expires) VALUES (?1, ?2, ?3, ?4)",
                &[blob(code_hash), text(unit), int(now), int(expires)],
            )?;
            audit(sql, "transfer", unit, now)?;
            Ok(TransferStart::Started)
        })
    }

    fn accept_transfer(
        &self,
        unit: &str,
        code_hash: &[u8; 32],
        new_owner_hash: &[u8; 32],
        now: u64,
        limit: AttemptLimit,
    ) -> Result<TransferAccept, StorageError> {
        run(self, true, |sql| {
            if let Some(oldest) = refused(sql, unit, limit)? {
                return Ok(TransferAccept::TooManyFailures { oldest });
            }
            let rows = sql.rows(
                "SELECT expires, used FROM transfers WHERE code_hash = ?1 AND unit = ?2",
                &[blob(code_hash), text(unit)],
            )?;
            let Some(row) = rows.first() else {
                count_failure(sql, unit, now, limit)?;
                return Ok(TransferAccept::Unknown);
            };
            if matches!(row.get(1), Some(Value::Int(Some(_)))) {
                return Ok(TransferAccept::Used);
            }
            let expires = match row.first() {
                Some(Value::Int(Some(n))) => to_u64(*n),
                _ => return Err(corrupt("expires")),
            };
            if now >= expires {
                // Retired at its first late use: a clock set back later
                // cannot revive it.
                if expires != 0 {
                    sql.exec(
                        "UPDATE transfers SET expires = 0 WHERE code_hash = ?1",
                        &[blob(code_hash)],
                    )?;
                }
                return Ok(TransferAccept::Expired);
            }
            let Some((mut summary, _)) = read(sql, unit)? else {
                count_failure(sql, unit, now, limit)?;
                return Ok(TransferAccept::Unknown);
            };
            sql.exec(
                "UPDATE transfers SET used = ?1 WHERE code_hash = ?2",
                &[int(now), blob(code_hash)],
            )?;
            sql.exec(
                "UPDATE registrations SET owner_hash = ?1, transfers = transfers + 1 WHERE unit = ?2",
                &[blob(new_owner_hash), text(unit)],
            )?;
            add_owner(sql, unit, new_owner_hash, now)?;
            audit(sql, "transfer-accept", unit, now)?;
            summary.transfers = summary.transfers.saturating_add(1);
            Ok(TransferAccept::Accepted(summary))
        })
    }

    fn owner_history(&self, unit: &str) -> Result<Vec<([u8; 32], u64)>, StorageError> {
        run(self, false, |sql| {
            let rows = sql.rows(
                "SELECT owner_hash, since FROM registration_owners WHERE unit = ?1 ORDER BY id",
                &[text(unit)],
            )?;
            rows.iter()
                .map(|r| {
                    let hash = match r.first() {
                        Some(Value::Blob(Some(b))) => {
                            <[u8; 32]>::try_from(b.as_slice()).map_err(|_| corrupt("owner_hash"))?
                        }
                        _ => return Err(corrupt("owner_hash")),
                    };
                    let since = match r.get(1) {
                        Some(Value::Int(Some(n))) => to_u64(*n),
                        _ => return Err(corrupt("since")),
                    };
                    Ok((hash, since))
                })
                .collect()
        })
    }
}

/// The unit's failures at or after `since`, and the oldest one's time.
fn failures(sql: &mut dyn Sql, unit: &str, since: u64) -> Result<(u64, Option<u64>), StorageError> {
    let rows = sql.rows(
        "SELECT COUNT(*), MIN(time) FROM claim_failures WHERE unit = ?1 AND time >= ?2",
        &[text(unit), int(since)],
    )?;
    let row = rows.first().ok_or_else(|| corrupt("count"))?;
    let count = match row.first() {
        Some(Value::Int(Some(n))) => to_u64(*n),
        _ => 0,
    };
    let oldest = match row.get(1) {
        Some(Value::Int(Some(n))) => Some(to_u64(*n)),
        _ => None,
    };
    Ok((count, oldest))
}

/// `Some(oldest failure)` when `limit` refuses another attempt on `unit`
/// (call it first in a write transaction: see the module documentation).
fn refused(
    sql: &mut dyn Sql,
    unit: &str,
    limit: AttemptLimit,
) -> Result<Option<Option<u64>>, StorageError> {
    let (count, oldest) = failures(sql, unit, limit.since)?;
    Ok((count >= limit.max).then_some(oldest))
}

/// Counts a failed attempt on `unit` at `now`, dropping failures older than
/// the window.
fn count_failure(
    sql: &mut dyn Sql,
    unit: &str,
    now: u64,
    limit: AttemptLimit,
) -> Result<(), StorageError> {
    sql.exec(
        "DELETE FROM claim_failures WHERE unit = ?1 AND time < ?2",
        &[text(unit), int(limit.since)],
    )?;
    sql.exec(
        "INSERT INTO claim_failures (unit, time) VALUES (?1, ?2)",
        &[text(unit), int(now)],
    )?;
    audit(sql, "claim-failed", unit, now)
}

/// Constant-time comparison of two hashes (blake3::Hash's `==` is).
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    blake3::Hash::from(*a) == blake3::Hash::from(*b)
}

fn corrupt(column: &'static str) -> StorageError {
    StorageError::Corrupt {
        table: "registrations",
        reason: RowError::MissingColumn {
            kind: "registration",
            column,
        },
    }
}

fn text(v: &str) -> Value {
    Value::Text(Some(v.to_owned()))
}

fn int(v: u64) -> Value {
    Value::Int(Some(to_i64(v)))
}

fn blob(v: &[u8; 32]) -> Value {
    Value::Blob(Some(v.to_vec()))
}

/// The registration of `unit` and its owner's hash, in the caller's
/// transaction.
pub(crate) fn read(
    sql: &mut dyn Sql,
    unit: &str,
) -> Result<Option<(RegistrationSummary, [u8; 32])>, StorageError> {
    let rows = sql.rows(
        "SELECT registered, warranty_start, conflicts, transfers, owner_hash \
         FROM registrations WHERE unit = ?1",
        &[text(unit)],
    )?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let int_at = |i: usize, column: &'static str| match row.get(i) {
        Some(Value::Int(Some(n))) => Ok(to_u64(*n)),
        _ => Err(corrupt(column)),
    };
    let warranty_start = match row.get(1) {
        Some(Value::Text(Some(t))) => t.parse().map_err(|_| corrupt("warranty_start"))?,
        _ => return Err(corrupt("warranty_start")),
    };
    let owner = match row.get(4) {
        Some(Value::Blob(Some(b))) => {
            <[u8; 32]>::try_from(b.as_slice()).map_err(|_| corrupt("owner_hash"))?
        }
        _ => return Err(corrupt("owner_hash")),
    };
    Ok(Some((
        RegistrationSummary {
            registered: int_at(0, "registered")?,
            warranty_start,
            conflicts: int_at(2, "conflicts")?,
            transfers: int_at(3, "transfers")?,
        },
        owner,
    )))
}

fn add_owner(
    sql: &mut dyn Sql,
    unit: &str,
    owner_hash: &[u8; 32],
    now: u64,
) -> Result<(), StorageError> {
    sql.exec(
        "INSERT INTO registration_owners (unit, owner_hash, since) VALUES (?1, ?2, ?3)",
        &[text(unit), blob(owner_hash), int(now)],
    )?;
    Ok(())
}

/// An audit entry by the public (no token): the action and the unit only.
fn audit(sql: &mut dyn Sql, action: &str, unit: &str, now: u64) -> Result<(), StorageError> {
    sql.exec(
        "INSERT INTO audit (token, action, target, time) VALUES (?1, ?2, ?3, ?4)",
        &[text("public"), text(action), text(unit), int(now)],
    )?;
    Ok(())
}
