//! The embedded default: one SQLite file in WAL mode.
//!
//! `synchronous = FULL` makes every commit fsync the WAL before it returns, so a
//! write the service acknowledged survives `kill -9` and power loss. The schema
//! is versioned in `schema_migrations`; migrations run in order, each in its own
//! transaction, when the file is opened.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, TransactionBehavior, params};

use crate::storage::{PruneClock, StorageError};

mod queries;

/// Versioned schema: (version, SQL). Append only; never edit a released step.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/sqlite/001_initial.sql"),
    ),
    // Bounded scans: per-code totals and at most MAX_LOCATIONS_PER_CODE
    // locations per code and kind of scanner, instead of one row per scan; the
    // token scope `scans`.
    (
        2,
        include_str!("../../../migrations/sqlite/002_bounded_scans.sql"),
    ),
    // The registry: the status kind `compromise`, and registered manifests
    // kept whole with their first registration time (receipts, bundles).
    (
        3,
        include_str!("../../../migrations/sqlite/003_registry.sql"),
    ),
    // Parents and children: aggregation manifests with their children, and
    // versioned assembly links (issue 15).
    (
        4,
        include_str!("../../../migrations/sqlite/004_aggregation.sql"),
    ),
    // The consumer and the owner (issue 16): the token scopes `service` and
    // `reports`.
    (5, include_str!("../../../migrations/sqlite/005_scopes.sql")),
    // Warranty registrations, ownership transfers, claim attempts.
    (
        6,
        include_str!("../../../migrations/sqlite/006_registrations.sql"),
    ),
    // Service and test history, reports of suspected fakes.
    (
        7,
        include_str!("../../../migrations/sqlite/007_history.sql"),
    ),
    // A parent's links by id, without a sort.
    (
        8,
        include_str!("../../../migrations/sqlite/008_links_by_parent.sql"),
    ),
    // The keys that registered a part's lot, without a scan.
    (
        9,
        include_str!("../../../migrations/sqlite/009_batches_by_part_lot.sql"),
    ),
];

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
    /// Dropped with the storage, which stops the checkpointer.
    _checkpointer: Option<std::sync::mpsc::Sender<()>>,
}

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// WAL pages after which a commit checkpoints by itself: only if the
/// checkpointer cannot keep up (or has failed), to bound the WAL (about
/// 80 MB).
const WAL_AUTOCHECKPOINT_PAGES: u32 = 20_000;

/// Copies the WAL into the database file from a thread of its own
/// (`PRAGMA wal_checkpoint(PASSIVE)`, beside readers and the writer), so that
/// no commit waits for a checkpoint: with SQLite's automatic checkpoint,
/// every thousandth page of WAL made one commit (and every request waiting
/// behind it) tens of milliseconds slower. Stops when `stop` is dropped.
fn checkpointer(path: &Path) -> Result<std::sync::mpsc::Sender<()>, StorageError> {
    let conn = Connection::open(path).map_err(db)?;
    conn.execute_batch("PRAGMA busy_timeout = 5000;")
        .map_err(db)?;
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".to_owned())
        .spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    // Commits checkpoint by themselves past the bound.
                    tracing::warn!("WAL checkpoint failed: {e}");
                }
            }
        })
        .map_err(|e| StorageError::Batch {
            message: format!("cannot start the WAL checkpointer: {e}"),
        })?;
    Ok(stop)
}

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage").finish_non_exhaustive()
    }
}

fn db(source: rusqlite::Error) -> StorageError {
    StorageError::Sqlite { source }
}

/// Prepared statements are kept and their plans do not depend on the values
/// bound: without the query planner stability guarantee, SQLite re-prepares a
/// statement each time a rebound parameter could change its plan (the
/// graph's `UNION ALL` reads, which name `?1` in every arm, were re-parsed on
/// every lookup: two thirds of a lookup's instructions). The cache holds
/// every statement a request uses (a page uses about 30 distinct ones).
fn stable_plans(conn: &Connection) -> Result<(), StorageError> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(db)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 128;

impl SqliteStorage {
    /// Opens (creating if needed) the database file at `path`, in WAL mode with
    /// `synchronous = FULL`, and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStorage, StorageError> {
        let conn = Connection::open(path).map_err(db)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(db)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::NoWal {
                path: path.to_owned(),
                mode,
            });
        }
        conn.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES};"
        ))
        .map_err(db)?;
        let mut storage = SqliteStorage::setup(conn)?;
        storage._checkpointer = Some(checkpointer(path)?);
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
            stable_plans(&reader)?;
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
        stable_plans(&conn)?;
        migrate(&mut conn)?;
        Ok(SqliteStorage {
            conn: Mutex::new(conn),
            readers: Vec::new(),
            next_reader: std::sync::atomic::AtomicUsize::new(0),
            pruned: PruneClock::default(),
            _checkpointer: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Storage, TokenScope, serial_to_sql};
    use hallmark::KeyId;

    #[test]
    fn file_database_is_wal_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(s.schema_version().unwrap(), 9);
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
        assert_eq!(s.schema_version().unwrap(), 9);
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

    #[test]
    fn migration_3_keeps_statuses_and_accepts_compromises_and_manifests() {
        use crate::storage::{Action, StatusChange};
        use hallmark::{Date, Reason, Scope};
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL);
             INSERT INTO schema_migrations VALUES (1, 0), (2, 0);",
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[0].1).unwrap();
        conn.execute_batch(MIGRATIONS[1].1).unwrap();
        conn.execute_batch(
            "INSERT INTO statuses (kid, kind, target, key_from, state, reason, date, time, seq)
             VALUES (x'01020304', 'key', '', 20000, 'revoked', 'stolen', 20000, 5, 7);
             UPDATE counters SET value = 7 WHERE name = 'revocation_sequence';",
        )
        .unwrap();
        let s = SqliteStorage::setup(conn).unwrap();
        assert_eq!(s.schema_version().unwrap(), 9);
        let (seq, list) = s.revocations().unwrap();
        assert_eq!((seq, list.len()), (7, 1));
        let kid = KeyId::from_bytes([1, 2, 3, 4]);
        let change = StatusChange {
            kid,
            scope: Scope::Compromise { at: 1_000 },
            action: Action::Revoke(Reason::KeyCompromised),
            date: Date::from_days(20_001).unwrap(),
        };
        s.change_status(&change, "ops", 2_000).unwrap();
        let contents = s.registry_contents().unwrap();
        assert_eq!(contents.revocations.len(), 2);
        assert!(
            contents
                .revocations
                .iter()
                .any(|r| r.scope == Scope::Compromise { at: 1_000 })
        );
        assert!(contents.manifests.is_empty());
    }
}
