//! The scale-out backend: one PostgreSQL database shared by any number of
//! stateless `hallmark serve` replicas.
//!
//! Every write is one transaction that commits before the method returns; with
//! PostgreSQL's defaults (`fsync = on`, `synchronous_commit = on`) a commit is
//! on disk when it returns, so a write the service acknowledged survives a
//! crash of the service or of the database server. Concurrent replicas are
//! serialised where it matters by row locks: every status change updates the
//! one `revocation_sequence` row, so sequences are unique and gap-free.
//!
//! The schema is versioned in `schema_migrations` like the SQLite one;
//! migrations run at connect, in one transaction under an advisory lock, so
//! replicas starting together migrate once.
//!
//! The client is the blocking `postgres` crate behind an r2d2 pool. Like every
//! [`Storage`](crate::Storage), call it off the async runtime's threads (`spawn_blocking`).

use std::time::Duration;

use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;

use crate::storage::{PruneClock, StorageError};

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
type Conn = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

mod queries;

/// Versioned schema: (version, SQL). Append only; never edit a released step.
/// The columns are those of the SQLite schema, so both backends share their
/// row conversions.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../../migrations/postgres/001_initial.sql"),
    ),
    // Bounded scans: per-code totals and at most MAX_LOCATIONS_PER_CODE
    // locations per code and kind of scanner, instead of one row per scan; the
    // token scope `scans`.
    (
        2,
        include_str!("../../../migrations/postgres/002_bounded_scans.sql"),
    ),
    // The registry: the status kind `compromise`, and registered manifests
    // kept whole with their first registration time (receipts, bundles).
    (
        3,
        include_str!("../../../migrations/postgres/003_registry.sql"),
    ),
    // Parents and children: aggregation manifests with their children, and
    // versioned assembly links (issue 15).
    (
        4,
        include_str!("../../../migrations/postgres/004_aggregation.sql"),
    ),
    // The consumer and the owner (issue 16): the token scopes `service` and
    // `reports`.
    (
        5,
        include_str!("../../../migrations/postgres/005_scopes.sql"),
    ),
    // Warranty registrations, ownership transfers, claim attempts.
    (
        6,
        include_str!("../../../migrations/postgres/006_registrations.sql"),
    ),
    // Service and test history, reports of suspected fakes.
    (
        7,
        include_str!("../../../migrations/postgres/007_history.sql"),
    ),
    // A parent's links by id, without a sort.
    (
        8,
        include_str!("../../../migrations/postgres/008_links_by_parent.sql"),
    ),
    // The keys that registered a part's lot, without a scan.
    (
        9,
        include_str!("../../../migrations/postgres/009_batches_by_part_lot.sql"),
    ),
];

/// The advisory lock held while migrating ("hallmark" in ASCII).
const MIGRATION_LOCK: i64 = 0x6861_6c6c_6d61_726b;

/// Connections kept open per replica, at most.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// Storage in a PostgreSQL database.
pub struct PostgresStorage {
    /// Always `Some` until dropped.
    pool: Option<Pool>,
    pruned: PruneClock,
}

impl Drop for PostgresStorage {
    fn drop(&mut self) {
        // Closing a blocking client blocks; on an async runtime's thread (the
        // service's state is dropped there at shutdown) that would panic, so
        // the idle connections are closed on a thread of their own.
        if let Some(pool) = self.pool.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                let _ = std::thread::spawn(move || drop(pool)).join();
            } else {
                drop(pool);
            }
        }
    }
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage").finish_non_exhaustive()
    }
}

fn db(source: postgres::Error) -> StorageError {
    StorageError::Postgres { source }
}

fn pool_error(source: r2d2::Error) -> StorageError {
    StorageError::Pool { source }
}

impl PostgresStorage {
    /// Connects to the database at `url` (`postgres://user:password@host/db`,
    /// or libpq's `key=value` form) and brings its schema up to date. To keep
    /// hallmark's tables in their own schema, add
    /// `?options=-c%20search_path%3DNAME` to the URL.
    ///
    /// Connections are unencrypted: run the database on a private network or
    /// over loopback.
    pub fn connect(url: &str) -> Result<PostgresStorage, StorageError> {
        let config: postgres::Config = url
            .parse()
            .map_err(|source| StorageError::PostgresUrl { source })?;
        PostgresStorage::with_config(config, DEFAULT_POOL_SIZE)
    }

    /// Connects with a parsed configuration and at most `pool_size`
    /// connections, and brings the schema up to date.
    pub fn with_config(
        config: postgres::Config,
        pool_size: u32,
    ) -> Result<PostgresStorage, StorageError> {
        let mut config = config;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        // One direct connection first: it reports why the server refused
        // (wrong password, no such database) at once, where the pool would
        // retry until its timeout; it then runs the migrations.
        let mut client = config.connect(NoTls).map_err(db)?;
        migrate(&mut client)?;
        drop(client);
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            // Check a pooled connection before use: a database restart must
            // not turn into failed requests.
            .test_on_check_out(true)
            .build(manager)
            .map_err(pool_error)?;
        Ok(PostgresStorage {
            pool: Some(pool),
            pruned: PruneClock::default(),
        })
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64, StorageError> {
        self.conn()?
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .and_then(|r| r.try_get(0))
            .map_err(db)
    }

    fn conn(&self) -> Result<Conn, StorageError> {
        self.pool
            .as_ref()
            .ok_or(StorageError::PoolClosed)?
            .get()
            .map_err(pool_error)
    }
}

fn migrate(client: &mut postgres::Client) -> Result<(), StorageError> {
    let mut tx = client.transaction().map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(db)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY,
             applied BIGINT NOT NULL
         )",
    )
    .map_err(db)?;
    let current: i64 = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(db)?;
    let known = MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if current > known {
        return Err(StorageError::SchemaTooNew {
            found: current,
            known,
        });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql).map_err(db)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied)
             VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
            &[version],
        )
        .map_err(db)?;
    }
    tx.commit().map_err(db)
}
