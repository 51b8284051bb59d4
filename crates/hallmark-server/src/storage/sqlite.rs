//! The embedded default: one SQLite file in WAL mode.
//!
//! `synchronous = FULL` makes every commit fsync the WAL before it returns, so a
//! write the service acknowledged survives `kill -9` and power loss. The schema
//! is versioned in `schema_migrations`; migrations run in order, each in its own
//! transaction, when the file is opened.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use hallmark::{BatchManifest, KeyId, Payload, Reason, Revocation};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::rows::{
    REGISTERED_OPAQUE_QUERY, REGISTERED_SEQUENTIAL_QUERY, RawStatus, SCAN_CODES_UPSERT,
    SCAN_LOCATIONS_BOUND, SCAN_LOCATIONS_UPSERT, STATUS_COLUMNS, STATUS_QUERY, SUMMARY_QUERY,
    TokenRow, batches_target, find_token, state_of, summary_from, target_columns, to_i64, to_u64,
    token_info,
};
use super::{
    AuditEntry, MAX_LOCATIONS_PER_CODE, PruneClock, Scan, ScanSummary, Status, StatusChange,
    Storage, StorageError, TokenInfo, TokenScope, serial_to_sql,
};

/// Versioned schema: (version, SQL). Append only; never edit a released step.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/001_initial.sql")),
    // Bounded scans: per-code totals and at most MAX_LOCATIONS_PER_CODE
    // locations per code and kind of scanner, instead of one row per scan; the
    // token scope `scans`.
    (
        2,
        include_str!("../../migrations/sqlite/002_bounded_scans.sql"),
    ),
];

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

/// Storage in one SQLite database file (or in memory, for tests).
///
/// One connection writes (SQLite has one writer at a time anyway); reads go to
/// a few more connections, which WAL mode lets run beside the writer and each
/// other, so lookups on all cores do not queue behind one lock.
pub struct SqliteStorage {
    conn: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: std::sync::atomic::AtomicUsize,
    pruned: PruneClock,
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage").finish_non_exhaustive()
    }
}

fn db(e: rusqlite::Error) -> StorageError {
    StorageError::Database(e.to_string())
}

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

impl SqliteStorage {
    /// Opens (creating if needed) the database file at `path`, in WAL mode with
    /// `synchronous = FULL`, and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStorage, StorageError> {
        let conn = Connection::open(path).map_err(db)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::Database(format!(
                "{}: cannot switch to WAL mode (got {mode})",
                path.display()
            )));
        }
        let mut storage = SqliteStorage::setup(conn)?;
        let readers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        for _ in 0..readers {
            let reader = Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(db)?;
            reader
                .execute_batch("PRAGMA busy_timeout = 5000; PRAGMA query_only = ON;")
                .map_err(db)?;
            storage.readers.push(Mutex::new(reader));
        }
        Ok(storage)
    }

    /// A database in memory (tests). It has the one connection.
    pub fn open_in_memory() -> Result<SqliteStorage, StorageError> {
        SqliteStorage::setup(Connection::open_in_memory().map_err(db)?)
    }

    fn setup(mut conn: Connection) -> Result<SqliteStorage, StorageError> {
        conn.execute_batch(
            "PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON;
             PRAGMA busy_timeout = 5000;",
        )
        .map_err(db)?;
        migrate(&mut conn)?;
        Ok(SqliteStorage {
            conn: Mutex::new(conn),
            readers: Vec::new(),
            next_reader: std::sync::atomic::AtomicUsize::new(0),
            pruned: PruneClock::default(),
        })
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64, StorageError> {
        self.lock()
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |r| r.get(0),
            )
            .map_err(db)
    }

    /// A connection for reading: a free reader if there is one, else the next
    /// in turn (or the writer, for a database in memory).
    fn reader(&self) -> MutexGuard<'_, Connection> {
        let n = self.readers.len();
        if n == 0 {
            return self.lock();
        }
        let start = self
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for i in 0..n {
            if let Some(Ok(guard)) = self.readers.get((start + i) % n).map(Mutex::try_lock) {
                return guard;
            }
        }
        match self.readers.get(start % n) {
            Some(reader) => reader
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            None => self.lock(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half-applied
        // (it rolls back on drop), so a poisoned lock is safe to keep using.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied INTEGER NOT NULL
         )",
    )
    .map_err(db)?;
    let current: i64 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(db)?;
    let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if current > known {
        return Err(StorageError::SchemaTooNew {
            found: current,
            known,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        tx.execute_batch(sql).map_err(db)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied) VALUES (?1, strftime('%s', 'now'))",
            params![version],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
    }
    Ok(())
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

fn token_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

impl Storage for SqliteStorage {
    fn reads_inline(&self) -> bool {
        true
    }

    fn status(&self, kid: KeyId, payload: &Payload) -> Result<Option<Status>, StorageError> {
        let conn = self.reader();
        let kid_bytes = kid.to_bytes();
        let kid_sql = &kid_bytes[..];
        let date = i64::from(payload.date().days());
        let serial = serial_to_sql(payload.serial());
        let lot = payload.lot();
        conn.prepare_cached(&STATUS_SQL)
            .and_then(|mut s| {
                s.query_row(
                    params![kid_sql, date, serial, lot, payload.serial().to_string()],
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
        tx.commit().map_err(db)?;
        let list = rows
            .into_iter()
            .map(|r| r.parse().map(|s| s.revocation))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((to_u64(seq), list))
    }

    fn record_scan(
        &self,
        scan: &Scan,
        window_start: u64,
        forget_before: Option<u64>,
    ) -> Result<ScanSummary, StorageError> {
        let summary = {
            let mut conn = self.lock();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
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
            let out = summary(&tx, scan.kid, scan.serial, window_start)?;
            tx.commit().map_err(db)?;
            out
        };
        if let Some(before) = forget_before
            && self.pruned.claim(scan.time)
            && let Err(e) = self.prune_scans(before)
        {
            // The scan is recorded; pruning is retried an hour later.
            tracing::warn!("pruning old scans failed: {e}");
        }
        Ok(summary)
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
        token: &str,
        now: u64,
    ) -> Result<u64, StorageError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let kid = manifest.kid.to_bytes();
        let mut new = 0u64;
        for b in &manifest.batches {
            // The manifest decoder guarantees count >= 1 and no overflow.
            let last = b.start.saturating_add(b.count.saturating_sub(1));
            new += tx
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
        }
        audit(
            &tx,
            token,
            "register-batches",
            &batches_target(manifest, new),
            now,
        )?;
        tx.commit().map_err(db)?;
        Ok(new)
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
mod tests {
    use super::*;

    #[test]
    fn file_database_is_wal_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), 2);
        let (mode, sync): (String, i64) = {
            let c = s.lock();
            (
                c.query_row("PRAGMA journal_mode", [], |r| r.get(0))
                    .unwrap(),
                c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap(),
            )
        };
        assert_eq!(
            (mode.as_str(), sync),
            ("wal", 2),
            "WAL with synchronous=FULL"
        );
        drop(s);
        // Reopening does not re-run migrations; a newer schema is refused.
        let s = SqliteStorage::open(&path).unwrap();
        s.lock()
            .execute("INSERT INTO schema_migrations VALUES (99, 0)", [])
            .unwrap();
        drop(s);
        assert!(matches!(
            SqliteStorage::open(&path),
            Err(StorageError::SchemaTooNew { found: 99, .. })
        ));
    }

    #[test]
    fn migration_2_keeps_scans_as_totals_and_locations_and_tokens() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 0);",
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        // Serials are stored order-preserving (serial_to_sql).
        let five = serial_to_sql(5);
        conn.execute_batch(&format!(
            "INSERT INTO scans (kid, serial, time, location, scanner) VALUES
               (x'01020304', {five}, 100, 'A', 's1'), (x'01020304', {five}, 200, 'A', NULL),
               (x'01020304', {five}, 300, NULL, NULL), (x'01020304', {five}, 400, 'B', NULL);
             INSERT INTO tokens (name, scope, hash, created) VALUES ('ops', 'status', x'00', 1);"
        ))
        .unwrap();
        let s = SqliteStorage::setup(conn).unwrap();
        assert_eq!(s.schema_version().unwrap(), 2);
        let sum = s
            .scan_summary(KeyId::from_bytes([1, 2, 3, 4]), 5, 150)
            .unwrap();
        assert_eq!(
            (sum.count, sum.first, sum.last, sum.locations_in_window),
            (4, Some(100), Some(400), 2)
        );
        assert_eq!(sum.trusted_locations_in_window, 0);
        assert_eq!(s.tokens().unwrap().len(), 1);
        let hash = blake3::hash(b"x");
        s.create_token("scanner", TokenScope::Scans, &hash, 2)
            .unwrap();
        assert_eq!(
            s.authenticate(&hash).unwrap().map(|t| t.scope),
            Some(TokenScope::Scans)
        );
    }
}
