//! Row conversions shared by the SQL backends: both store the same columns.

use hallmark::{Date, KeyId, Reason, Revocation, Scope};

use super::{RowError, Status, StorageError, TokenInfo, serial_from_sql, serial_to_sql};

pub(super) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

pub(super) fn corrupt(table: &'static str, reason: RowError) -> StorageError {
    StorageError::Corrupt { table, reason }
}

pub(super) fn kid_from(bytes: &[u8]) -> Result<KeyId, StorageError> {
    <[u8; hallmark::KID_LEN]>::try_from(bytes)
        .map(KeyId::from_bytes)
        .map_err(|_| corrupt("statuses", RowError::KidLength { len: bytes.len() }))
}

pub(super) fn date_from(days: i64) -> Result<Date, StorageError> {
    Date::from_days(to_u64(days))
        .ok_or_else(|| corrupt("statuses", RowError::DateOutOfRange { days }))
}

/// (kind, target, first, last, lot, key_from) columns of a scope.
pub(super) type TargetColumns = (
    &'static str,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
);

pub(super) fn target_columns(scope: &Scope) -> TargetColumns {
    match scope {
        Scope::Serial(s) => (
            "serial",
            s.to_string(),
            Some(serial_to_sql(*s)),
            Some(serial_to_sql(*s)),
            None,
            None,
        ),
        Scope::Range { first, last } => (
            "range",
            format!("{first}-{last}"),
            Some(serial_to_sql(*first)),
            Some(serial_to_sql(*last)),
            None,
            None,
        ),
        Scope::Lot(lot) => ("lot", lot.clone(), None, None, Some(lot.clone()), None),
        // One key revocation per key: the key itself is the target.
        Scope::Key { from } => (
            "key",
            String::new(),
            None,
            None,
            None,
            Some(i64::from(from.days())),
        ),
        // A compromise: the time of compromise in key_from's column.
        Scope::Compromise { at } => (
            "compromise",
            String::new(),
            None,
            None,
            None,
            Some(i64::try_from(*at).unwrap_or(i64::MAX)),
        ),
    }
}

pub(super) const STATUS_COLUMNS: &str = "kid, kind, first, last, lot, key_from, reason, date, time";

/// The status that applies to a code, in the precedence of a verifier with a
/// trust bundle: the key's compromise unless a sequential batch registered
/// before it holds the code (serial range, part, lot, date, expiry), then as
/// `RevocationSnapshot::check`: the key's (from a date on or before the code's
/// date), then the serial's, then the first-written range holding the serial,
/// then the lot's. Binds the kid to `$1`, the code's date in days to `$2`, its
/// serial (as [`serial_to_sql`]) to `$3`, its lot to `$4`, its serial in
/// decimal (a serial status's `target`, so the primary key finds it) to `$5`,
/// its part to `$6`, its expiry in days (or NULL) to `$7` and whether it has
/// none to `$8`: placeholders both SQLite and PostgreSQL read.
///
/// Five indexed lookups joined with UNION ALL (an OR of the conditions would
/// let the planners scan every status row of the key instead), in order:
/// the first row is the status. The query has no `LIMIT`: SQLite keeps an
/// `ORDER BY ... LIMIT` in a temporary b-tree, opened and freed on every
/// lookup (a tenth of a raw verification), where a plain `ORDER BY` sorts
/// in memory; the few rows matched are read up to the first. PostgreSQL's
/// statement adds the `LIMIT 1`.
pub(super) const STATUS_QUERY: &str = "
    SELECT kid, kind, first, last, lot, key_from, reason, date, time FROM (
        SELECT -1 AS rank, c.seq, c.kid, c.kind, c.first, c.last, c.lot, c.key_from, c.reason,
               c.date, c.time
          FROM statuses c WHERE c.kid = $1 AND c.kind = 'compromise' AND c.target = ''
          AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.kid = $1 AND b.opaque = FALSE
              AND b.start <= $3 AND b.last >= $3 AND b.part = $6 AND b.lot = $4
              AND b.date = $2 AND (b.expiry = $7 OR (b.expiry IS NULL AND $8))
              AND b.registered < c.key_from)
        UNION ALL
        SELECT 0, seq, kid, kind, first, last, lot, key_from, reason, date, time
          FROM statuses WHERE kid = $1 AND kind = 'key' AND key_from <= $2
        UNION ALL
        SELECT 1, seq, kid, kind, first, last, lot, key_from, reason, date, time
          FROM statuses WHERE kid = $1 AND kind = 'serial' AND target = $5
        UNION ALL
        SELECT 2, seq, kid, kind, first, last, lot, key_from, reason, date, time
          FROM statuses WHERE kid = $1 AND kind = 'range' AND first <= $3 AND last >= $3
        UNION ALL
        SELECT 3, seq, kid, kind, first, last, lot, key_from, reason, date, time
          FROM statuses WHERE kid = $1 AND kind = 'lot' AND target = $4
    ) AS s
    ORDER BY rank, seq";

/// Whether a registered batch holds a code with an opaque serial (which a
/// registry cannot place in a range): one of the key's opaque batches with the
/// code's part, lot and date. Binds kid `$1`, `true` `$2`, part `$3`, lot `$4`,
/// date in days `$5`.
pub(super) const REGISTERED_OPAQUE_QUERY: &str = "
    SELECT 1 FROM batches WHERE kid = $1 AND opaque = $2
    AND part = $3 AND lot = $4 AND date = $5 LIMIT 1";

/// [`REGISTERED_OPAQUE_QUERY`] for a sequential serial (`$2` `false`): the
/// batch's range must also hold the serial, `$6` (as [`serial_to_sql`]).
pub(super) const REGISTERED_SEQUENTIAL_QUERY: &str = "
    SELECT 1 FROM batches WHERE kid = $1 AND opaque = $2 AND start <= $6 AND last >= $6
    AND part = $3 AND lot = $4 AND date = $5 LIMIT 1";

/// A code's scan summary: count, first, last, distinct locations (of any
/// scanner) last seen from `$3` on, and distinct locations of authenticated
/// scanners last seen from `$3` on, for kid `$1` and serial `$2`. No row when
/// the code has no scans.
///
/// A location is one row per kind of scanner (the primary key is kid, serial,
/// trusted, location), so the distinct locations are the anonymous rows plus
/// the authenticated ones no anonymous row of the window repeats: counted on
/// the primary key, where `COUNT(DISTINCT ...)` made SQLite build and free a
/// temporary b-tree for every summary.
pub(super) const SUMMARY_QUERY: &str = "
    SELECT c.count, c.first, c.last,
           (SELECT COUNT(*) FROM scan_locations l
             WHERE l.kid = c.kid AND l.serial = c.serial AND l.last >= $3
               AND (l.trusted = FALSE OR NOT EXISTS (
                 SELECT 1 FROM scan_locations u
                  WHERE u.kid = l.kid AND u.serial = l.serial AND u.trusted = FALSE
                    AND u.location = l.location AND u.last >= $3))),
           (SELECT COUNT(*) FROM scan_locations l
             WHERE l.kid = c.kid AND l.serial = c.serial AND l.trusted = TRUE AND l.last >= $3)
    FROM scan_codes c WHERE c.kid = $1 AND c.serial = $2";

/// Adds a scan to its code's totals: kid `$1`, serial `$2`, time `$3`.
/// `GREATEST` is spelled per backend (`{max}`).
pub(super) const SCAN_CODES_UPSERT: &str = "
    INSERT INTO scan_codes (kid, serial, count, first, last) VALUES ($1, $2, 1, $3, $3)
    ON CONFLICT (kid, serial) DO UPDATE SET
      count = scan_codes.count + 1, last = {max}(scan_codes.last, excluded.last)";

/// Adds a scan to its location: kid `$1`, serial `$2`, trusted `$3`,
/// location `$4`, time `$5`, scanner `$6`.
pub(super) const SCAN_LOCATIONS_UPSERT: &str = "
    INSERT INTO scan_locations (kid, serial, trusted, location, count, first, last, scanner)
    VALUES ($1, $2, $3, $4, 1, $5, $5, $6)
    ON CONFLICT (kid, serial, trusted, location) DO UPDATE SET
      count = scan_locations.count + 1, last = {max}(scan_locations.last, excluded.last),
      scanner = COALESCE(excluded.scanner, scan_locations.scanner)";

/// Forgets the locations of kid `$1`, serial `$2`, trusted `$3` past the
/// [`super::MAX_LOCATIONS_PER_CODE`] seen most recently (`$4`).
/// `{all}` is what the backend writes for "no limit" before `OFFSET`.
pub(super) const SCAN_LOCATIONS_BOUND: &str = "
    DELETE FROM scan_locations WHERE kid = $1 AND serial = $2 AND trusted = $3
    AND location IN (
        SELECT location FROM scan_locations WHERE kid = $1 AND serial = $2 AND trusted = $3
        ORDER BY last DESC, location {all} OFFSET $4)";

/// The summary columns as read: (count, first, last, locations, trusted).
pub(super) type SummaryRow = (i64, i64, i64, i64, i64);

pub(super) fn summary_from(row: Option<SummaryRow>) -> super::ScanSummary {
    match row {
        None => super::ScanSummary::default(),
        Some((count, first, last, locations, trusted)) => super::ScanSummary {
            count: to_u64(count),
            locations_in_window: to_u64(locations),
            trusted_locations_in_window: to_u64(trusted),
            first: Some(to_u64(first)),
            last: Some(to_u64(last)),
        },
    }
}

pub(super) struct RawStatus {
    pub(super) kid: Vec<u8>,
    pub(super) kind: String,
    pub(super) first: Option<i64>,
    pub(super) last: Option<i64>,
    pub(super) lot: Option<String>,
    pub(super) key_from: Option<i64>,
    pub(super) reason: String,
    pub(super) date: i64,
    pub(super) time: i64,
}

impl RawStatus {
    pub(super) fn parse(self) -> Result<Status, StorageError> {
        let bad = |kind, column| corrupt("statuses", RowError::MissingColumn { kind, column });
        let scope = match self.kind.as_str() {
            "serial" => Scope::Serial(serial_from_sql(
                self.first.ok_or_else(|| bad("serial", "first"))?,
            )),
            "range" => Scope::Range {
                first: serial_from_sql(self.first.ok_or_else(|| bad("range", "first"))?),
                last: serial_from_sql(self.last.ok_or_else(|| bad("range", "last"))?),
            },
            "lot" => Scope::Lot(self.lot.clone().ok_or_else(|| bad("lot", "lot"))?),
            "key" => Scope::Key {
                from: date_from(self.key_from.ok_or_else(|| bad("key", "key_from"))?)?,
            },
            "compromise" => Scope::Compromise {
                at: to_u64(self.key_from.ok_or_else(|| bad("compromise", "key_from"))?),
            },
            other => {
                return Err(corrupt(
                    "statuses",
                    RowError::UnknownKind {
                        kind: other.chars().take(64).collect(),
                    },
                ));
            }
        };
        let reason: Reason = self.reason.parse().map_err(|_| {
            corrupt(
                "statuses",
                RowError::UnknownReason {
                    reason: self.reason.chars().take(64).collect(),
                },
            )
        })?;
        Ok(Status {
            revocation: Revocation {
                kid: kid_from(&self.kid)?,
                scope,
                reason,
                date: date_from(self.date)?,
            },
            time: to_u64(self.time),
        })
    }
}

pub(super) fn token_info(
    (name, scope, created, revoked): TokenRow,
) -> Result<TokenInfo, StorageError> {
    Ok(TokenInfo {
        scope: scope
            .parse()
            .map_err(|e| corrupt("tokens", RowError::Scope(e)))?,
        name,
        created: to_u64(created),
        revoked: revoked.map(to_u64),
    })
}

/// A u64 count as stored (its two's-complement i64, so nothing is lost).
pub(super) fn count_to_sql(n: u64) -> i64 {
    n as i64
}

/// Inverse of [`count_to_sql`].
pub(super) fn count_from_sql(n: i64) -> u64 {
    n as u64
}

/// The receipt's counts of a manifest: (batches, serials).
pub(super) fn manifest_counts(manifest: &hallmark::BatchManifest) -> (u64, u64) {
    let serials = manifest
        .batches
        .iter()
        .fold(0u64, |n, b| n.saturating_add(b.count));
    (manifest.batches.len() as u64, serials)
}

/// The serials a key has registered, from its batches' (start, last) rows.
pub(super) fn registered_serials(rows: impl IntoIterator<Item = (i64, i64)>) -> u64 {
    rows.into_iter().fold(0u64, |n, (start, last)| {
        let count = serial_from_sql(last)
            .saturating_sub(serial_from_sql(start))
            .saturating_add(1);
        n.saturating_add(count)
    })
}

/// Refuses a registration that would bring `registered` serials above
/// `max_count` with `new` more.
pub(super) fn check_max_count(
    kid: KeyId,
    max_count: Option<u64>,
    registered: u64,
    new: u64,
) -> Result<(), StorageError> {
    match max_count {
        Some(max_count) if registered.saturating_add(new) > max_count => {
            Err(StorageError::MaxCountExceeded {
                kid,
                max_count,
                registered,
                new,
            })
        }
        _ => Ok(()),
    }
}

/// A stored manifest row: (kid, bytes, batches, serials, registered).
pub(super) type ManifestRow = (Vec<u8>, Vec<u8>, i64, i64, i64);

pub(super) fn manifest_from(
    (kid, bytes, batches, serials, registered): ManifestRow,
) -> Result<super::StoredManifest, StorageError> {
    let kid = <[u8; hallmark::KID_LEN]>::try_from(kid.as_slice())
        .map(KeyId::from_bytes)
        .map_err(|_| corrupt("manifests", RowError::KidLength { len: kid.len() }))?;
    Ok(super::StoredManifest {
        kid,
        bytes,
        batches: count_from_sql(batches),
        serials: count_from_sql(serials),
        registered: to_u64(registered),
    })
}

/// The audit log's target for a registered manifest.
pub(super) fn batches_target(manifest: &hallmark::BatchManifest, new: u64) -> String {
    format!(
        "{} ({} batches, {new} new)",
        manifest.kid,
        manifest.batches.len()
    )
}

/// The `state` column for a stored reason.
pub(super) fn state_of(reason: Reason) -> &'static str {
    if reason == Reason::Decommissioned {
        "decommissioned"
    } else {
        "revoked"
    }
}

/// A token row: (name, scope, created, revoked).
pub(super) type TokenRow = (String, String, i64, Option<i64>);

/// The token among `rows` (active tokens with their stored hashes) whose hash
/// is `hash`. Every row is compared, in constant time each (blake3's `Hash`
/// equality), without stopping at the first match.
pub(super) fn find_token(
    rows: Vec<(TokenRow, Vec<u8>)>,
    hash: &blake3::Hash,
) -> Result<Option<TokenInfo>, StorageError> {
    let mut found = None;
    for (row, stored) in rows {
        let Ok(stored) = <[u8; 32]>::try_from(stored.as_slice()) else {
            continue;
        };
        if blake3::Hash::from_bytes(stored) == *hash {
            found = Some(row);
        }
    }
    found.map(token_info).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(kind: &str) -> RawStatus {
        RawStatus {
            kid: vec![1, 2, 3, 4],
            kind: kind.to_owned(),
            first: None,
            last: None,
            lot: None,
            key_from: None,
            reason: "stolen".to_owned(),
            date: 0,
            time: 0,
        }
    }

    /// The row error of a status row, or `None` if it parses.
    fn row_error(row: RawStatus) -> Option<RowError> {
        match row.parse() {
            Err(StorageError::Corrupt {
                table: "statuses",
                reason,
            }) => Some(reason),
            Err(e) => panic!("{e}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn each_corrupt_row_gives_its_row_error() {
        let serial = RawStatus {
            first: Some(0),
            ..raw("serial")
        };
        assert_eq!(
            row_error(RawStatus {
                reason: "stolen".into(),
                ..raw("serial")
            }),
            Some(RowError::MissingColumn {
                kind: "serial",
                column: "first"
            })
        );
        assert_eq!(
            row_error(RawStatus {
                first: Some(0),
                ..raw("range")
            }),
            Some(RowError::MissingColumn {
                kind: "range",
                column: "last"
            })
        );
        assert_eq!(
            row_error(raw("batch")),
            Some(RowError::UnknownKind {
                kind: "batch".into()
            })
        );
        assert_eq!(
            row_error(RawStatus {
                reason: "bored".into(),
                first: Some(0),
                ..raw("serial")
            }),
            Some(RowError::UnknownReason {
                reason: "bored".into()
            })
        );
        assert_eq!(
            row_error(RawStatus {
                kid: vec![1, 2, 3],
                first: Some(0),
                ..raw("serial")
            }),
            Some(RowError::KidLength { len: 3 })
        );
        assert_eq!(
            row_error(RawStatus {
                date: i64::MAX,
                first: Some(0),
                ..raw("serial")
            }),
            Some(RowError::DateOutOfRange { days: i64::MAX })
        );
        assert_eq!(row_error(serial), None);
        let e = token_info(("ops".into(), "root".into(), 0, None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "corrupt row in tokens: unknown scope \"root\": expected status, batches, scans, service or reports"
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn status_query_reads_the_status_columns() {
        let select = format!("SELECT {} FROM (", super::STATUS_COLUMNS);
        assert!(super::STATUS_QUERY.contains(&select));
    }
}
