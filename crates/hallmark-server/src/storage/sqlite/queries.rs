//! The SQLite backend's queries: the [`Storage`] methods.

use hallmark::{BatchManifest, KeyId, Payload, Reason, Revocation};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{SqliteStorage, db};
use crate::storage::graph::Value as GraphValue;
use crate::storage::rows::{
    ManifestRow, REGISTERED_OPAQUE_QUERY, REGISTERED_SEQUENTIAL_QUERY, RawStatus,
    SCAN_CODES_UPSERT, SCAN_LOCATIONS_BOUND, SCAN_LOCATIONS_UPSERT, STATUS_COLUMNS, STATUS_QUERY,
    SUMMARY_QUERY, TokenRow, batches_target, check_max_count, count_to_sql, find_token,
    manifest_counts, manifest_from, registered_serials, state_of, summary_from, target_columns,
    to_i64, to_u64, token_info,
};
use crate::storage::{
    AuditEntry, MAX_LOCATIONS_PER_CODE, Registration, RegistryContents, Scan, ScanSummary, Status,
    StatusChange, Storage, StorageError, TokenInfo, TokenScope, serial_to_sql,
};

// The shared queries number their parameters `$N`. SQLite reads `$N` as a
// *named* parameter and numbers those in order of first appearance, which
// differs from N when a query uses `$3` before `$1`; `?N` binds by number.
static STATUS_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| STATUS_QUERY.replace('$', "?"));
static SUMMARY_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| SUMMARY_QUERY.replace('$', "?"));
static SCAN_CODES_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| SCAN_CODES_UPSERT.replace('$', "?").replace("{max}", "MAX"));
static SCAN_LOCATIONS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    SCAN_LOCATIONS_UPSERT
        .replace('$', "?")
        .replace("{max}", "MAX")
});
static SCAN_BOUND_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    SCAN_LOCATIONS_BOUND
        .replace('$', "?")
        .replace("{all}", "LIMIT -1")
});
static REGISTERED_OPAQUE_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| REGISTERED_OPAQUE_QUERY.replace('$', "?"));
static REGISTERED_SEQUENTIAL_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| REGISTERED_SEQUENTIAL_QUERY.replace('$', "?"));
fn status_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawStatus> {
    Ok(RawStatus {
        kid: row.get(0)?,
        kind: row.get(1)?,
        first: row.get(2)?,
        last: row.get(3)?,
        lot: row.get(4)?,
        key_from: row.get(5)?,
        reason: row.get(6)?,
        date: row.get(7)?,
        time: row.get(8)?,
    })
}
fn audit(
    tx: &rusqlite::Transaction<'_>,
    token: &str,
    action: &str,
    target: &str,
    now: u64,
) -> Result<(), StorageError> {
    tx.execute(
        "INSERT INTO audit (token, action, target, time) VALUES (?1, ?2, ?3, ?4)",
        params![token, action, target, to_i64(now)],
    )
    .map_err(db)?;
    Ok(())
}

fn summary(
    conn: &Connection,
    kid: KeyId,
    serial: u64,
    window_start: u64,
) -> Result<ScanSummary, StorageError> {
    let kid = kid.to_bytes();
    let serial = serial_to_sql(serial);
    let row = conn
        .prepare_cached(&SUMMARY_SQL)
        .and_then(|mut s| {
            s.query_row(params![&kid[..], serial, to_i64(window_start)], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()
        })
        .map_err(db)?;
    Ok(summary_from(row))
}

/// The sequence and every stored revocation, in the transaction `tx`.
fn read_revocations(
    tx: &rusqlite::Transaction<'_>,
) -> Result<(u64, Vec<Revocation>), StorageError> {
    let seq: i64 = tx
        .query_row(
            "SELECT value FROM counters WHERE name = 'revocation_sequence'",
            [],
            |r| r.get(0),
        )
        .map_err(db)?;
    let rows = {
        let mut stmt = tx
            .prepare(&format!(
                "SELECT {STATUS_COLUMNS} FROM statuses ORDER BY seq"
            ))
            .map_err(db)?;
        stmt.query_map([], status_row)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?
    };
    let list = rows
        .into_iter()
        .map(|r| r.parse().map(|s| s.revocation))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((to_u64(seq), list))
}

fn token_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

/// A SQLite transaction as the graph queries' [`Sql`](crate::storage::graph::Sql).
/// Runs `f` in one transaction on `conn` (IMMEDIATE when `write`), committed
/// when it succeeds and rolled back when it fails. BEGIN and COMMIT are
/// cached statements: rusqlite's `Transaction` parses them anew each time, a
/// sixth of a page's storage work.
fn transact<T>(
    conn: &rusqlite::Connection,
    write: bool,
    f: impl FnOnce(&rusqlite::Connection) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let step = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(drop)
            .map_err(db)
    };
    if !conn.is_autocommit() {
        // A transaction left open by a holder that panicked is undone.
        step("ROLLBACK")?;
    }
    step(if write {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN DEFERRED"
    })?;
    let done = f(conn).and_then(|out| step("COMMIT").map(|()| out));
    if done.is_err() && !conn.is_autocommit() {
        // Nothing of a failed transaction stays (should ROLLBACK itself
        // fail, the next use rolls back first, above).
        let _ = step("ROLLBACK");
    }
    done
}

/// Records one scan in the caller's write transaction; the code's summary
/// including it.
fn record_one(
    tx: &rusqlite::Connection,
    scan: &Scan,
    window_start: u64,
) -> Result<ScanSummary, StorageError> {
    let kid = scan.kid.to_bytes();
    let kid = &kid[..];
    let serial = serial_to_sql(scan.serial);
    let time = to_i64(scan.time);
    tx.prepare_cached(&SCAN_CODES_SQL)
        .and_then(|mut s| s.execute(params![kid, serial, time]))
        .map_err(db)?;
    if let Some(location) = &scan.location {
        tx.prepare_cached(&SCAN_LOCATIONS_SQL)
            .and_then(|mut s| {
                s.execute(params![
                    kid,
                    serial,
                    scan.trusted,
                    location,
                    time,
                    scan.scanner
                ])
            })
            .map_err(db)?;
        tx.prepare_cached(&SCAN_BOUND_SQL)
            .and_then(|mut s| {
                s.execute(params![
                    kid,
                    serial,
                    scan.trusted,
                    to_i64(MAX_LOCATIONS_PER_CODE)
                ])
            })
            .map_err(db)?;
    }
    summary(tx, scan.kid, scan.serial, window_start)
}

struct SqliteSql<'a>(&'a rusqlite::Connection);

fn to_sqlite(v: &GraphValue) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        GraphValue::Int(Some(i)) => V::Integer(*i),
        GraphValue::Text(Some(t)) => V::Text(t.clone()),
        GraphValue::Blob(Some(b)) => V::Blob(b.clone()),
        GraphValue::Int(None) | GraphValue::Text(None) | GraphValue::Blob(None) => V::Null,
    }
}

fn from_sqlite(v: rusqlite::types::Value) -> GraphValue {
    use rusqlite::types::Value as V;
    match v {
        V::Null => GraphValue::Int(None),
        V::Integer(i) => GraphValue::Int(Some(i)),
        // No graph column is REAL; read one as its integer part.
        V::Real(f) => GraphValue::Int(Some(f as i64)),
        V::Text(t) => GraphValue::Text(Some(t)),
        V::Blob(b) => GraphValue::Blob(Some(b)),
    }
}

impl crate::storage::graph::Sql for SqliteSql<'_> {
    fn rows(
        &mut self,
        sql: &str,
        params: &[GraphValue],
    ) -> Result<Vec<Vec<GraphValue>>, StorageError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(db)?;
        let n = stmt.column_count();
        let rows = stmt
            .query_map(
                rusqlite::params_from_iter(params.iter().map(to_sqlite)),
                |r| {
                    (0..n)
                        .map(|i| r.get::<_, rusqlite::types::Value>(i).map(from_sqlite))
                        .collect::<rusqlite::Result<Vec<_>>>()
                },
            )
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)?;
        Ok(rows)
    }

    fn exec(&mut self, sql: &str, params: &[GraphValue]) -> Result<u64, StorageError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(db)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter().map(to_sqlite)))
            .map_err(db)?;
        Ok(n as u64)
    }
}

impl SqliteStorage {
    /// Prunes old scans (at most once per hour of scan time) after a scan
    /// at `time` is committed.
    fn prune_after(&self, time: u64, forget_before: Option<u64>) {
        if let Some(before) = forget_before
            && self.pruned.claim(time)
            && let Err(e) = self.prune_scans(before)
        {
            // The scan is recorded; pruning is retried an hour later.
            tracing::warn!("pruning old scans failed: {e}");
        }
    }
}

impl Storage for SqliteStorage {
    fn reads_inline(&self) -> bool {
        true
    }

    fn graph(
        &self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn crate::storage::graph::Sql) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let conn = if write { self.lock() } else { self.reader() };
        transact(&conn, write, |c| f(&mut SqliteSql(c)))
    }

    fn status(&self, kid: KeyId, payload: &Payload) -> Result<Option<Status>, StorageError> {
        let conn = self.reader();
        let kid_bytes = kid.to_bytes();
        let kid_sql = &kid_bytes[..];
        let date = i64::from(payload.date().days());
        let serial = serial_to_sql(payload.serial());
        let lot = payload.lot();
        let expiry = payload.expiry().map(|e| i64::from(e.days()));
        conn.prepare_cached(&STATUS_SQL)
            .and_then(|mut s| {
                s.query_row(
                    params![
                        kid_sql,
                        date,
                        serial,
                        lot,
                        payload.serial().to_string(),
                        payload.part(),
                        expiry,
                        expiry.is_none()
                    ],
                    status_row,
                )
                .optional()
            })
            .map_err(db)?
            .map(RawStatus::parse)
            .transpose()
    }

    fn change_status(
        &self,
        change: &StatusChange,
        token: &str,
        now: u64,
    ) -> Result<u64, StorageError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let seq: i64 = tx
            .query_row(
                "UPDATE counters SET value = MAX(value + 1, ?1)
                 WHERE name = 'revocation_sequence' RETURNING value",
                [to_i64(now)],
                |r| r.get(0),
            )
            .map_err(db)?;
        let kid = change.kid.to_bytes();
        let (kind, target, first, last, lot, key_from) = target_columns(&change.scope);
        let date = i64::from(change.date.days());
        let reason = change.action.reason();
        tx.execute(
            "INSERT INTO status_changes (kid, kind, target, action, reason, date, time, token, seq)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                &kid[..],
                kind,
                target,
                change.action.as_str(),
                reason.map(Reason::as_str),
                date,
                to_i64(now),
                token,
                seq
            ],
        )
        .map_err(db)?;
        match reason {
            None => {
                tx.execute(
                    "DELETE FROM statuses WHERE kid = ?1 AND kind = ?2 AND target = ?3",
                    params![&kid[..], kind, target],
                )
                .map_err(db)?;
            }
            Some(reason) => {
                let state = state_of(reason);
                tx.execute(
                    "INSERT OR REPLACE INTO statuses
                     (kid, kind, target, first, last, lot, key_from, state, reason, date, time, seq)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                    params![
                        &kid[..],
                        kind,
                        target,
                        first,
                        last,
                        lot,
                        key_from,
                        state,
                        reason.as_str(),
                        date,
                        to_i64(now),
                        seq
                    ],
                )
                .map_err(db)?;
            }
        }
        audit(&tx, token, change.action.as_str(), &change.target(), now)?;
        tx.commit().map_err(db)?;
        Ok(to_u64(seq))
    }

    fn check_writable(&self, now: u64) -> Result<(), StorageError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        tx.execute(
            "INSERT INTO counters (name, value) VALUES ('ready_probe', ?1)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [to_i64(now)],
        )
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    fn sequence(&self) -> Result<u64, StorageError> {
        self.reader()
            .prepare_cached("SELECT value FROM counters WHERE name = 'revocation_sequence'")
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
            .map(to_u64)
            .map_err(db)
    }

    fn revocations(&self) -> Result<(u64, Vec<Revocation>), StorageError> {
        let mut conn = self.reader();
        // One read transaction: the list and the sequence agree.
        let tx = conn.transaction().map_err(db)?;
        let out = read_revocations(&tx)?;
        tx.commit().map_err(db)?;
        Ok(out)
    }

    fn record_scan(
        &self,
        scan: &Scan,
        window_start: u64,
        forget_before: Option<u64>,
    ) -> Result<ScanSummary, StorageError> {
        let summary = transact(&self.lock(), true, |tx| record_one(tx, scan, window_start))?;
        self.prune_after(scan.time, forget_before);
        Ok(summary)
    }

    fn record_scans(
        &self,
        scans: &[(Scan, u64)],
        forget_before: Option<u64>,
    ) -> Result<Vec<ScanSummary>, StorageError> {
        let summaries = transact(&self.lock(), true, |tx| {
            scans
                .iter()
                .map(|(scan, window_start)| record_one(tx, scan, *window_start))
                .collect::<Result<Vec<_>, _>>()
        })?;
        if let Some((scan, _)) = scans.last() {
            self.prune_after(scan.time, forget_before);
        }
        Ok(summaries)
    }

    fn prune_scans(&self, before: u64) -> Result<u64, StorageError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let before = to_i64(before);
        tx.execute("DELETE FROM scan_locations WHERE last < ?1", [before])
            .map_err(db)?;
        let codes = tx
            .execute("DELETE FROM scan_codes WHERE last < ?1", [before])
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(codes as u64)
    }

    fn scan_summary(
        &self,
        kid: KeyId,
        serial: u64,
        window_start: u64,
    ) -> Result<ScanSummary, StorageError> {
        summary(&self.reader(), kid, serial, window_start)
    }

    fn register_batches(
        &self,
        manifest: &BatchManifest,
        bytes: &[u8],
        max_count: Option<u64>,
        token: &str,
        now: u64,
    ) -> Result<Registration, StorageError> {
        let mut conn = self.lock();
        // IMMEDIATE: the write lock is taken first, so the count read below
        // is the one the inserts are checked against (one writer at a time).
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let kid = manifest.kid.to_bytes();
        let before = match max_count {
            None => 0,
            Some(_) => {
                let mut stmt = tx
                    .prepare("SELECT start, last FROM batches WHERE kid = ?1")
                    .map_err(db)?;
                let rows = stmt
                    .query_map([&kid[..]], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(db)?
                    .collect::<Result<Vec<(i64, i64)>, _>>()
                    .map_err(db)?;
                registered_serials(rows)
            }
        };
        let mut new = 0u64;
        let mut new_serials = 0u64;
        for b in &manifest.batches {
            // The manifest decoder guarantees count >= 1 and no overflow.
            let last = b.start.saturating_add(b.count.saturating_sub(1));
            let inserted = tx
                .execute(
                    "INSERT OR IGNORE INTO batches
                     (kid, opaque, start, last, part, lot, date, expiry, minted, issued, registered)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        &kid[..],
                        b.opaque,
                        serial_to_sql(b.start),
                        serial_to_sql(last),
                        b.part,
                        b.lot,
                        i64::from(b.date.days()),
                        b.expiry.map(|e| i64::from(e.days())),
                        to_i64(b.minted),
                        to_i64(manifest.issued),
                        to_i64(now)
                    ],
                )
                .map_err(db)? as u64;
            new += inserted;
            if inserted > 0 {
                new_serials = new_serials.saturating_add(b.count);
            }
        }
        // Dropping `tx` uncommitted rolls every insert back.
        check_max_count(manifest.kid, max_count, before, new_serials)?;
        let digest = hallmark::BatchReceipt::digest(bytes);
        let (batches, serials) = manifest_counts(manifest);
        let stored = tx
            .execute(
                "INSERT OR IGNORE INTO manifests (digest, kid, bytes, batches, serials, registered)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    &digest[..],
                    &kid[..],
                    bytes,
                    count_to_sql(batches),
                    count_to_sql(serials),
                    to_i64(now)
                ],
            )
            .map_err(db)?;
        if stored > 0 {
            tx.execute(
                "UPDATE counters SET value = MAX(value + 1, ?1) WHERE name = 'revocation_sequence'",
                [to_i64(now)],
            )
            .map_err(db)?;
        }
        let registered: i64 = tx
            .query_row(
                "SELECT registered FROM manifests WHERE digest = ?1",
                [&digest[..]],
                |r| r.get(0),
            )
            .map_err(db)?;
        audit(
            &tx,
            token,
            "register-batches",
            &batches_target(manifest, new),
            now,
        )?;
        tx.commit().map_err(db)?;
        Ok(Registration {
            new,
            registered: to_u64(registered),
        })
    }

    fn registry_contents(&self) -> Result<RegistryContents, StorageError> {
        let mut conn = self.reader();
        // One read transaction: the sequence, the list and the manifests agree.
        let tx = conn.transaction().map_err(db)?;
        let (sequence, revocations) = read_revocations(&tx)?;
        let rows = {
            let mut stmt = tx
                .prepare(
                    "SELECT kid, bytes, batches, serials, registered FROM manifests
                     ORDER BY registered, digest",
                )
                .map_err(db)?;
            stmt.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(db)?
            .collect::<Result<Vec<ManifestRow>, _>>()
            .map_err(db)?
        };
        tx.commit().map_err(db)?;
        Ok(RegistryContents {
            sequence,
            revocations,
            manifests: rows
                .into_iter()
                .map(manifest_from)
                .collect::<Result<_, _>>()?,
        })
    }

    fn is_registered(&self, kid: KeyId, payload: &Payload) -> Result<bool, StorageError> {
        let conn = self.reader();
        let kid = kid.to_bytes();
        let kid = &kid[..];
        let date = i64::from(payload.date().days());
        let (part, lot) = (payload.part(), payload.lot());
        let opaque = payload.serial() >= hallmark::OPAQUE_BIT;
        let serial = serial_to_sql(payload.serial());
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&kid, &opaque, &part, &lot, &date];
        let sql = if opaque {
            &*REGISTERED_OPAQUE_SQL
        } else {
            values.push(&serial);
            &*REGISTERED_SEQUENTIAL_SQL
        };
        let found: Option<i64> = conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(values.as_slice(), |r| r.get(0)).optional())
            .map_err(db)?;
        Ok(found.is_some())
    }

    fn create_token(
        &self,
        name: &str,
        scope: TokenScope,
        hash: &blake3::Hash,
        now: u64,
    ) -> Result<(), StorageError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let exists: Option<i64> = tx
            .query_row("SELECT 1 FROM tokens WHERE name = ?1", [name], |r| r.get(0))
            .optional()
            .map_err(db)?;
        if exists.is_some() {
            return Err(StorageError::DuplicateToken(name.to_owned()));
        }
        tx.execute(
            "INSERT INTO tokens (name, scope, hash, created) VALUES (?1, ?2, ?3, ?4)",
            params![name, scope.as_str(), &hash.as_bytes()[..], to_i64(now)],
        )
        .map_err(db)?;
        audit(
            &tx,
            "cli",
            "token-create",
            &format!("{name} ({})", scope.as_str()),
            now,
        )?;
        tx.commit().map_err(db)?;
        Ok(())
    }

    fn revoke_token(&self, name: &str, now: u64) -> Result<bool, StorageError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let n = tx
            .execute(
                "UPDATE tokens SET revoked = ?2 WHERE name = ?1 AND revoked IS NULL",
                params![name, to_i64(now)],
            )
            .map_err(db)?;
        if n > 0 {
            audit(&tx, "cli", "token-revoke", name, now)?;
        }
        tx.commit().map_err(db)?;
        Ok(n > 0)
    }

    fn tokens(&self) -> Result<Vec<TokenInfo>, StorageError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare("SELECT name, scope, created, revoked FROM tokens ORDER BY name")
            .map_err(db)?;
        let rows = stmt
            .query_map([], token_row)
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter().map(token_info).collect()
    }

    fn authenticate(&self, hash: &blake3::Hash) -> Result<Option<TokenInfo>, StorageError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached(
                "SELECT name, scope, created, revoked, hash FROM tokens WHERE revoked IS NULL",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| Ok((token_row(r)?, r.get::<_, Vec<u8>>(4)?)))
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        find_token(rows, hash)
    }

    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StorageError> {
        let conn = self.reader();
        let mut stmt = conn
            .prepare(
                "SELECT token, action, target, time FROM
                   (SELECT id, token, action, target, time FROM audit ORDER BY id DESC LIMIT ?1)
                 ORDER BY id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok(AuditEntry {
                    token: r.get(0)?,
                    action: r.get(1)?,
                    target: r.get(2)?,
                    time: to_u64(r.get(3)?),
                })
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        Ok(rows)
    }
}

#[cfg(test)]
mod plans {
    use super::{STATUS_SQL, SUMMARY_SQL};
    use crate::storage::graph::LOT_RECALLED_SQL;
    use crate::storage::{FIRST_PLACE_SQL, KEY_REGISTERS_SQL, SqliteStorage};

    /// The opcodes and the query plan of `sql` (parameters unbound).
    fn explain(conn: &rusqlite::Connection, sql: &str) -> (Vec<String>, Vec<String>) {
        let column = |query: &str, at: usize| -> Vec<String> {
            let mut stmt = conn.prepare(query).unwrap();
            let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
            stmt.query_map(rusqlite::params_from_iter(nulls), |r| {
                r.get::<_, String>(at)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
        };
        (
            column(&format!("EXPLAIN {sql}"), 1),
            column(&format!("EXPLAIN QUERY PLAN {sql}"), 3),
        )
    }

    /// What every page and lookup reads: from indexes, and (but for the IN
    /// list of a component lot's keys) without a temporary b-tree, which
    /// SQLite builds and frees with its own page cache on every run.
    #[test]
    fn the_page_reads_use_indexes_and_no_temporary_b_tree() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open(&dir.path().join("h.db")).unwrap();
        let conn = s.lock();
        for (sql, temporary_allowed) in [
            (STATUS_SQL.as_str(), false),
            (SUMMARY_SQL.as_str(), false),
            (FIRST_PLACE_SQL, false),
            (KEY_REGISTERS_SQL, false),
            (LOT_RECALLED_SQL, true),
        ] {
            let (ops, plan) = explain(&conn, sql);
            assert!(
                temporary_allowed || !ops.iter().any(|o| o == "OpenEphemeral"),
                "a temporary b-tree for {sql}"
            );
            // A subquery's rows are scanned as they come (`SCAN s` of a
            // `CO-ROUTINE s`); a table's or index's never.
            let subqueries: Vec<&str> = plan
                .iter()
                .filter_map(|p| p.strip_prefix("CO-ROUTINE "))
                .collect();
            assert!(
                !plan.iter().any(|p| p
                    .strip_prefix("SCAN ")
                    .is_some_and(|what| !subqueries.contains(&what))),
                "a full scan for {sql}: {plan:?}"
            );
        }
    }
}
