//! What the service stores, behind one trait so that backends can be swapped.
//!
//! Exceptions only (see DESIGN.md, Storage): a minted code needs no row. Rows
//! exist for status changes (revoked, decommissioned), scans, registered batches
//! (one row per batch range), API tokens (hashed) and the audit log.
//!
//! The trait is synchronous: the HTTP layer calls it through
//! `tokio::task::spawn_blocking`. [`SqliteStorage`] is the embedded default; a
//! PostgreSQL backend implements the same trait.

use hallmark::{BatchManifest, Date, KeyId, Payload, Reason, Revocation, Scope};

mod database;
pub mod graph;
pub mod history;
mod postgres;
pub mod registrations;
mod rows;
mod sqlite;

pub use database::{Database, DatabaseError};
pub use graph::{
    AggregationOutcome, Containment, Descendant, Link, LinkChild, LinkOutcome, NewAggregation,
    NewChild, NewLink, StoredAggregation, StoredChild, TraceCursor, TraceEntry,
};
pub use history::{HistoryStore, HistorySummary, NewEvent, NewReport, ServiceEvent, StoredReport};
pub use postgres::PostgresStorage;
pub use registrations::{
    AttemptLimit, RegisterOutcome, RegistrationStore, RegistrationSummary, TransferAccept,
    TransferStart,
};
pub use sqlite::SqliteStorage;

/// A storage failure. Its text is for the operator's log, never for clients;
/// it is whole on its own (the log prints it without its `source()` chain)
/// and never holds a database password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// SQLite refused or failed an operation.
    #[error("database: {source}")]
    Sqlite {
        /// The driver's error.
        source: rusqlite::Error,
    },
    /// SQLite could not put the database file in WAL mode.
    #[error("database: {}: cannot switch to WAL mode (got {mode})", path.display())]
    NoWal {
        /// The database file.
        path: std::path::PathBuf,
        /// The journal mode SQLite reported instead.
        mode: String,
    },
    /// PostgreSQL refused or failed an operation, or could not be reached.
    #[error("database: {}", postgres_text(source))]
    Postgres {
        /// The driver's error.
        source: ::postgres::Error,
    },
    /// A PostgreSQL URL the driver does not accept. The driver's message
    /// names the option at fault, never a value.
    #[error("database: bad PostgreSQL URL: {source}")]
    PostgresUrl {
        /// The driver's error.
        source: ::postgres::Error,
    },
    /// No pooled PostgreSQL connection became free in time.
    #[error("database: no database connection: {source}")]
    Pool {
        /// The pool's error.
        source: r2d2::Error,
    },
    /// A batch of writes that this one was part of failed (the batch's own
    /// error went to the request that committed it, and is logged).
    #[error("database: a batch of writes failed: {message}")]
    Batch {
        /// The batch's error, as text.
        message: String,
    },
    /// The connection pool was closed (the storage is being dropped).
    #[error("database: the connection pool is closed")]
    PoolClosed,
    /// The database was written by a newer version of hallmark.
    #[error("the database schema is version {found}; this hallmark knows up to {known}")]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Latest version this build knows.
        known: i64,
    },
    /// A token with this name already exists.
    #[error("a token named {0:?} already exists")]
    DuplicateToken(String),
    /// Registering a manifest would bring the serials registered for its
    /// key above its certificate's `max_count`; nothing was stored.
    #[error(
        "key {kid}: registering {new} more serials would make {} of at most {max_count} \
         its certificate allows",
        registered.saturating_add(*new)
    )]
    MaxCountExceeded {
        /// The manifest's key.
        kid: KeyId,
        /// The certificate's maximum.
        max_count: u64,
        /// Serials registered for the key before.
        registered: u64,
        /// Serials this manifest would add.
        new: u64,
    },
    /// A graph query's closure did not run (a backend bug).
    #[error("database: the query did not run")]
    NotRun,
    /// A stored value does not parse (the database was edited by hand?).
    #[error("corrupt row in {table}: {reason}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What was wrong.
        #[source]
        reason: RowError,
    },
}

/// A PostgreSQL error as one line, cause by cause: a server error's text is in
/// its `DbError` (the outer text says only "db error"), a connection error's
/// in its sources ("error connecting to server: Connection refused (os error
/// 111)"). Holds each cause's first line, so the binary, which prints the
/// causes not already in the text, prints none twice.
fn postgres_text(e: &::postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        let line = cause_text.lines().next().unwrap_or_default().trim_end();
        if !line.is_empty() && !text.contains(line) {
            text = format!("{text}: {line}");
        }
        source = cause.source();
    }
    if let Some(code) = e.code() {
        text = format!("{text} ({})", code.code());
    }
    text
}

/// What is wrong with a stored row ([`StorageError::Corrupt`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RowError {
    /// A key id column that is not 4 bytes.
    #[error("kid is not 4 bytes (it is {len})")]
    KidLength {
        /// Its length, in bytes.
        len: usize,
    },
    /// A date column outside the dates a code can carry.
    #[error("date out of range ({days} days since 1970-01-01)")]
    DateOutOfRange {
        /// The stored value.
        days: i64,
    },
    /// A status row of a kind that needs a column left empty.
    #[error("{kind} row without {column}")]
    MissingColumn {
        /// The row's kind (`serial`, `range`, `lot`, `key`).
        kind: &'static str,
        /// The empty column.
        column: &'static str,
    },
    /// A status row of a kind this hallmark does not know.
    #[error("unknown kind {kind:?}")]
    UnknownKind {
        /// The stored kind.
        kind: String,
    },
    /// A status row whose revocation reason this hallmark does not know.
    #[error("unknown reason {reason:?}")]
    UnknownReason {
        /// The stored reason.
        reason: String,
    },
    /// A token row whose scope this hallmark does not know.
    #[error(transparent)]
    Scope(#[from] UnknownScope),
}

/// A token scope other than `status`, `batches`, `scans`, `service` or
/// `reports`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {scope:?}: expected status, batches, scans, service or reports")]
pub struct UnknownScope {
    /// The scope given (cut to 64 characters).
    pub scope: String,
}

/// What a status change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Revoke, with a reason (any but [`Reason::Decommissioned`]).
    Revoke(Reason),
    /// Mark decommissioned (sold, dispensed, used).
    Decommission,
    /// Remove the status previously set on exactly this target.
    Reactivate,
}

impl Action {
    /// `revoke`, `decommission` or `reactivate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Revoke(_) => "revoke",
            Action::Decommission => "decommission",
            Action::Reactivate => "reactivate",
        }
    }

    /// The revocation reason this action stores, if it sets a status.
    pub fn reason(self) -> Option<Reason> {
        match self {
            Action::Revoke(reason) => Some(reason),
            Action::Decommission => Some(Reason::Decommissioned),
            Action::Reactivate => None,
        }
    }
}

/// One status change on one target: a serial, a range, a lot, or a whole key
/// from a date of manufacture on.
///
/// A target keeps one current status; a new change to the same target replaces
/// it, and [`Action::Reactivate`] removes it. Targets do not override each
/// other: reactivating serial 5 does not lift a revocation of its lot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    /// The issuer key whose codes it concerns.
    pub kid: KeyId,
    /// The target. For a key, the target is the key itself: its `from` date is
    /// what a revocation stores, and is ignored by a reactivation.
    pub scope: Scope,
    /// What to do.
    pub action: Action,
    /// When it takes effect (stored in the snapshot).
    pub date: Date,
}

impl StatusChange {
    /// A short, stable description of the target for the audit log, e.g.
    /// `8608b1b7 serial 42`.
    pub fn target(&self) -> String {
        let what = match &self.scope {
            Scope::Serial(s) => format!("serial {s}"),
            Scope::Range { first, last } => format!("range {first}-{last}"),
            Scope::Lot(lot) => format!("lot {lot}"),
            Scope::Key { from } => format!("key from {from}"),
            Scope::Compromise { at } => format!("key compromised at {}", hallmark::rfc3339(*at)),
        };
        format!("{} {what}", self.kid)
    }
}

/// The current status of a code that is not active: the revocation that
/// applies (decommissioned is the reason [`Reason::Decommissioned`]) and when
/// it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The revocation, exactly as the signed snapshot carries it.
    pub revocation: Revocation,
    /// When it was written, seconds since 1970-01-01 UTC.
    pub time: u64,
}

impl Status {
    /// `revoked` or `decommissioned`.
    pub fn state(&self) -> &'static str {
        if self.revocation.reason == Reason::Decommissioned {
            "decommissioned"
        } else {
            "revoked"
        }
    }
}

/// One scan of a code whose signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    /// Whether the scanner authenticated (a token of scope `scans`): its
    /// location is evidence; an anonymous phone's is only a claim.
    pub trusted: bool,
    /// Issuer key.
    pub kid: KeyId,
    /// Serial.
    pub serial: u64,
    /// When, seconds since 1970-01-01 UTC.
    pub time: u64,
    /// Where, as the scanner reported it.
    pub location: Option<String>,
    /// Who or what scanned.
    pub scanner: Option<String>,
}

/// Distinct locations kept per code and per kind of scanner (authenticated,
/// anonymous): when a new one arrives past this, the one seen least recently
/// is forgotten. Clone thresholds above it could never be reached, so `serve`
/// refuses them.
pub const MAX_LOCATIONS_PER_CODE: u64 = 64;

/// How scans count and how long they are kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanPolicy {
    /// Anonymous scans (no token) raise `clone-suspected` only when the code
    /// was reported from more than this many distinct locations within the
    /// window, anonymous and authenticated reports together. Anonymous
    /// locations are whatever a client typed, so this is set higher than
    /// [`crate::Settings::clone_locations`], which counts authenticated
    /// scanners' locations alone.
    pub anonymous_clone_locations: u64,
    /// Scans are forgotten this many seconds after a code's (or a location's)
    /// last sighting; 0 keeps them forever.
    pub retention: u64,
}

impl Default for ScanPolicy {
    fn default() -> ScanPolicy {
        ScanPolicy {
            anonymous_clone_locations: 10,
            retention: 400 * 86_400,
        }
    }
}

impl ScanPolicy {
    /// The time before which scans are forgotten, at `now`; `None` when kept
    /// forever.
    pub fn forget_before(&self, now: u64) -> Option<u64> {
        (self.retention > 0).then(|| now.saturating_sub(self.retention))
    }
}

/// How often (in seconds of scan time) a backend prunes old scans on write.
pub(crate) const PRUNE_EVERY: u64 = 3600;

/// When a backend last pruned: pruning runs on the first scan after
/// [`PRUNE_EVERY`] seconds, once even under concurrent scans.
#[derive(Debug, Default)]
pub(crate) struct PruneClock(std::sync::atomic::AtomicU64);

impl PruneClock {
    /// Whether pruning is due at `now` (and, if so, claims it).
    pub(crate) fn claim(&self, now: u64) -> bool {
        use std::sync::atomic::Ordering;
        let last = self.0.load(Ordering::Relaxed);
        now >= last.saturating_add(PRUNE_EVERY)
            && self
                .0
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// What the scans of one code add up to, within the retention period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Scans recorded (since the code's scans were last forgotten).
    pub count: u64,
    /// Distinct locations seen since the window start, authenticated and
    /// anonymous scanners together.
    pub locations_in_window: u64,
    /// Distinct locations seen by authenticated scanners since the window
    /// start.
    pub trusted_locations_in_window: u64,
    /// First scan time.
    pub first: Option<u64>,
    /// Last scan time.
    pub last: Option<u64>,
}

/// A unit's containment chain, its links as a parent and what it holds
/// now ([`Storage::neighbourhood`]).
pub type Neighbourhood = (Vec<Containment>, Vec<Link>, Vec<Descendant>);

/// What the page shows of a verified unit ([`Storage::unit_facts`]).
#[derive(Clone, Debug, Default)]
pub struct UnitFacts {
    /// Where an authenticated scanner (a `scans` token) first saw it, of
    /// the locations still kept: what the page shows as "first checked at".
    /// Anonymous locations are only what a client typed, so they are never
    /// shown.
    pub first_place: Option<String>,
    /// Its registration, if registered.
    pub registration: Option<RegistrationSummary>,
    /// Its service and test history.
    pub history: HistorySummary,
    /// Whether its key has any registered batch: then a serial in none of
    /// them is one the manufacturer did not make (a possible key leak).
    pub key_registers: bool,
}

/// Whether any batch of key `?1` is registered.
pub(crate) const KEY_REGISTERS_SQL: &str = "SELECT 1 FROM batches WHERE kid = ?1 LIMIT 1";

/// Where authenticated scanners first saw kid `?1`, serial `?2`: the earliest
/// first sighting, the least location among ties, as aggregates over the
/// primary key's range (`ORDER BY ... LIMIT 1` made SQLite build and free a
/// temporary b-tree on every page).
pub(crate) const FIRST_PLACE_SQL: &str = "SELECT MIN(location) FROM scan_locations \
     WHERE kid = ?1 AND serial = ?2 AND trusted = TRUE AND first = (SELECT MIN(first) \
     FROM scan_locations WHERE kid = ?1 AND serial = ?2 AND trusted = TRUE)";

/// Whether any batch of `kid` is registered.
fn key_registers(sql: &mut dyn graph::Sql, kid: KeyId) -> Result<bool, StorageError> {
    Ok(!sql
        .rows(
            KEY_REGISTERS_SQL,
            &[graph::Value::Blob(Some(kid.to_bytes().to_vec()))],
        )?
        .is_empty())
}

fn first_place(
    sql: &mut dyn graph::Sql,
    kid: KeyId,
    serial: u64,
) -> Result<Option<String>, StorageError> {
    let rows = sql.rows(
        FIRST_PLACE_SQL,
        &[
            graph::Value::Blob(Some(kid.to_bytes().to_vec())),
            graph::Value::Int(Some(serial_to_sql(serial))),
        ],
    )?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| match r.into_iter().next() {
            Some(graph::Value::Text(t)) => t,
            _ => None,
        }))
}

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenScope {
    /// `POST /v1/status`.
    Status,
    /// `POST /v1/batches`.
    Batches,
    /// `POST /v1/scans` as an authenticated scanner, whose locations count as
    /// evidence for `clone-suspected`.
    Scans,
    /// `POST /v1/codes/{code}/events` (service and test stations), and the
    /// whole history of a unit (actors, stations, measurements).
    Service,
    /// `GET /v1/reports`: the reports of suspected fakes.
    Reports,
}

impl TokenScope {
    /// `status`, `batches`, `scans`, `service` or `reports`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Status => "status",
            TokenScope::Batches => "batches",
            TokenScope::Scans => "scans",
            TokenScope::Service => "service",
            TokenScope::Reports => "reports",
        }
    }
}

impl core::str::FromStr for TokenScope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<TokenScope, UnknownScope> {
        match s {
            "status" => Ok(TokenScope::Status),
            "batches" => Ok(TokenScope::Batches),
            "scans" => Ok(TokenScope::Scans),
            "service" => Ok(TokenScope::Service),
            "reports" => Ok(TokenScope::Reports),
            _ => Err(UnknownScope {
                scope: s.chars().take(64).collect(),
            }),
        }
    }
}

/// A token as stored: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// Its name (who holds it).
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// When it was created.
    pub created: u64,
    /// When it was revoked, if it was.
    pub revoked: Option<u64>,
}

/// A signed manifest as registered ([`Storage::register_batches`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredManifest {
    /// The key that signed it.
    pub kid: KeyId,
    /// The signed manifest's bytes.
    pub bytes: Vec<u8>,
    /// How many batches it lists.
    pub batches: u64,
    /// How many serials they hold in all.
    pub serials: u64,
    /// When it was first registered, seconds since 1970-01-01 UTC.
    pub registered: u64,
}

impl StoredManifest {
    /// Its registry receipt (to sign with the registry key).
    pub fn receipt(&self) -> hallmark::BatchReceipt {
        hallmark::BatchReceipt {
            manifest: hallmark::BatchReceipt::digest(&self.bytes),
            kid: self.kid,
            registered: self.registered,
            batches: self.batches,
            serials: self.serials,
        }
    }
}

/// What [`Storage::register_batches`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    /// Batches not registered before.
    pub new: u64,
    /// When the manifest was first registered (this time, or an earlier
    /// registration's): what its receipt says.
    pub registered: u64,
}

/// Everything a trust bundle needs from storage, read at one instant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegistryContents {
    /// The sequence (as [`Storage::sequence`]).
    pub sequence: u64,
    /// Every stored revocation, compromises included.
    pub revocations: Vec<Revocation>,
    /// Every registered manifest, oldest registration first.
    pub manifests: Vec<StoredManifest>,
}

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// The token that did it (`cli` for local commands).
    pub token: String,
    /// What was done, e.g. `revoke`, `register-batches`, `token-create`.
    pub action: String,
    /// On what.
    pub target: String,
    /// When.
    pub time: u64,
}

/// Everything the service keeps. Writes are durable when a method returns
/// `Ok` (the service acknowledges only after that).
pub trait Storage: Send + Sync + 'static {
    /// The status that applies to a code by `kid` with `payload`, with the
    /// precedence of a verifier holding a trust bundle: the key's compromise,
    /// unless a sequential batch registered before the compromise holds the
    /// code (its serial range, part, lot, date and expiry), then as
    /// [`hallmark::RevocationSnapshot::check`]: the key's (from a date on or
    /// before the code's date), the serial's, a range's, the lot's.
    fn status(&self, kid: KeyId, payload: &Payload) -> Result<Option<Status>, StorageError>;

    /// Applies a status change, bumps the snapshot sequence and writes the audit
    /// log, in one transaction. Returns the new sequence: the larger of the
    /// last one plus one and `now` (seconds since 1970), so that a service
    /// moved to a new database, whose changes are made later, continues above
    /// the sequences verifiers have already seen.
    fn change_status(
        &self,
        change: &StatusChange,
        token: &str,
        now: u64,
    ) -> Result<u64, StorageError>;

    /// Whether the database takes writes now: commits a write to a health row
    /// (`counters.ready_probe`, the time `now`), so a read-only, full or
    /// unreachable database is reported, not only one that does not answer.
    fn check_writable(&self, now: u64) -> Result<(), StorageError>;

    /// The snapshot sequence: bumped by every status change and every new
    /// manifest (0 before any).
    fn sequence(&self) -> Result<u64, StorageError>;

    /// Every current revocation (decommissions included) in the order they were
    /// last written, with the sequence they correspond to (one consistent read).
    fn revocations(&self) -> Result<(u64, Vec<Revocation>), StorageError>;

    /// Records a scan and returns the code's scan summary including it, with
    /// distinct locations counted from `window_start` on. Keeps at most
    /// [`MAX_LOCATIONS_PER_CODE`] locations per code and kind of scanner. With
    /// `forget_before`, also prunes (at most once per hour of scan time, after
    /// the scan is committed) what [`Storage::prune_scans`] would.
    fn record_scan(
        &self,
        scan: &Scan,
        window_start: u64,
        forget_before: Option<u64>,
    ) -> Result<ScanSummary, StorageError>;

    /// Records several scans, each with its window start, as
    /// [`Storage::record_scan`] would one after the other, and returns their
    /// summaries in order. A backend that can commits them together (one
    /// durable commit for all: SQLite); the default records them one by one.
    fn record_scans(
        &self,
        scans: &[(Scan, u64)],
        forget_before: Option<u64>,
    ) -> Result<Vec<ScanSummary>, StorageError> {
        scans
            .iter()
            .map(|(scan, window_start)| self.record_scan(scan, *window_start, forget_before))
            .collect()
    }

    /// Forgets every location last seen before `before`, and every code not
    /// scanned since. Returns how many codes were forgotten.
    fn prune_scans(&self, before: u64) -> Result<u64, StorageError>;

    /// A code's scan summary, distinct locations counted from `window_start` on.
    fn scan_summary(
        &self,
        kid: KeyId,
        serial: u64,
        window_start: u64,
    ) -> Result<ScanSummary, StorageError>;

    /// Registers the batches of a verified manifest (already registered ones are
    /// kept), stores the signed manifest `bytes` with its first registration
    /// time, and writes the audit log, in one transaction. A manifest not
    /// registered before bumps the sequence as a status change does (bundles
    /// carry manifests, and share the snapshots' sequence).
    ///
    /// With `max_count` (the key's certificate's), refuses with
    /// [`StorageError::MaxCountExceeded`], storing nothing, when the serials
    /// of the new batches would bring the key's registered serials above it;
    /// the count and the insert are one transaction, so concurrent
    /// registrations cannot both pass.
    fn register_batches(
        &self,
        manifest: &BatchManifest,
        bytes: &[u8],
        max_count: Option<u64>,
        token: &str,
        now: u64,
    ) -> Result<Registration, StorageError>;

    /// The sequence, every revocation and every registered manifest, read in
    /// one transaction (what a trust bundle holds).
    fn registry_contents(&self) -> Result<RegistryContents, StorageError>;

    /// Whether a registered batch of `kid` holds this code: for a sequential
    /// batch its serial range and part, lot and date; for an opaque batch (whose
    /// serials a registry cannot enumerate without the issuer's permutation key)
    /// an opaque serial with the batch's part, lot and date.
    fn is_registered(&self, kid: KeyId, payload: &Payload) -> Result<bool, StorageError>;

    /// Stores a new token's hash.
    fn create_token(
        &self,
        name: &str,
        scope: TokenScope,
        hash: &blake3::Hash,
        now: u64,
    ) -> Result<(), StorageError>;

    /// Revokes a token by name; `false` if there is no such active token.
    fn revoke_token(&self, name: &str, now: u64) -> Result<bool, StorageError>;

    /// Every token, revoked ones included.
    fn tokens(&self) -> Result<Vec<TokenInfo>, StorageError>;

    /// The active token with this hash, compared in constant time.
    fn authenticate(&self, hash: &blake3::Hash) -> Result<Option<TokenInfo>, StorageError>;

    /// The latest `limit` audit entries, oldest first.
    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StorageError>;

    /// Whether the read methods ([`Storage::status`], [`Storage::is_registered`],
    /// [`Storage::scan_summary`]) are short local work that may run on an async
    /// worker thread: true for SQLite (indexed reads of a WAL snapshot in the
    /// page cache, never waiting for the writer), false (the default) for a
    /// backend that waits on the network. Lookups then skip the hand-off to the
    /// blocking pool, which under load costs more than the lookup itself (two
    /// context switches and contended wake-ups per request).
    fn reads_inline(&self) -> bool {
        false
    }

    /// Runs `f` in one transaction (a write transaction when `write`, which
    /// commits durably before this returns when `f` succeeds, and rolls back
    /// when it fails): the primitive the parent-and-child methods below are
    /// written on ([`graph`]).
    fn graph(
        &self,
        write: bool,
        f: &mut dyn FnMut(&mut dyn graph::Sql) -> Result<(), StorageError>,
    ) -> Result<(), StorageError>;

    /// Stores a verified aggregation manifest with its children, unless the
    /// same bytes are stored already, a nested manifest is missing, or the
    /// parent is already inside one of the children (see
    /// [`AggregationOutcome`]); writes the audit log.
    fn store_aggregation(
        &self,
        agg: &NewAggregation,
        token: &str,
        now: u64,
    ) -> Result<AggregationOutcome, StorageError> {
        run(self, true, |sql| {
            graph::store_aggregation(sql, agg, token, now)
        })
    }

    /// What the page shows of a verified unit beside its verdict and scans,
    /// read in one transaction: where it was first seen by an authenticated
    /// scanner ([`UnitFacts::first_place`]), its registration
    /// ([`RegistrationStore::registration_summary`]) and its history
    /// ([`HistoryStore::history_summary`]) under the unit identity `unit`,
    /// and whether its key registers batches ([`UnitFacts::key_registers`]).
    fn unit_facts(&self, kid: KeyId, serial: u64, unit: &str) -> Result<UnitFacts, StorageError> {
        run(self, false, |sql| {
            Ok(UnitFacts {
                first_place: first_place(sql, kid, serial)?,
                registration: registrations::read(sql, unit)?.map(|(summary, _)| summary),
                history: history::summary(sql, unit)?,
                key_registers: key_registers(sql, kid)?,
            })
        })
    }

    /// Whether an aggregation manifest with this digest is stored.
    fn aggregation_exists(&self, digest: &[u8; 32]) -> Result<bool, StorageError> {
        run(self, false, |sql| graph::aggregation_exists(sql, digest))
    }

    /// The manifests naming `parent` (a unit identity), by row id after
    /// `after`, at most `limit`, each with at most `children` children.
    fn aggregations_of(
        &self,
        parent: &str,
        after: u64,
        limit: u32,
        children: u32,
    ) -> Result<Vec<StoredAggregation>, StorageError> {
        run(self, false, |sql| {
            graph::aggregations_of(sql, parent, after, limit, children)
        })
    }

    /// Adds an assembly link (or ends the one it replaces), refusing cycles
    /// and more than [`graph::MAX_ACTIVE_LINKS_PER_PARENT`] active links per
    /// parent; writes the audit log.
    fn add_link(&self, link: &NewLink, token: &str, now: u64) -> Result<LinkOutcome, StorageError> {
        run(self, true, |sql| graph::add_link(sql, link, token, now))
    }

    /// Ends an active link at `at` (it is kept, with its removal time).
    fn remove_link(
        &self,
        id: u64,
        at: u64,
        token: &str,
        now: u64,
    ) -> Result<Option<Link>, StorageError> {
        run(self, true, |sql| {
            graph::remove_link(sql, id, at, token, now)
        })
    }

    /// Every link of `parent`, active and removed, oldest first.
    fn links_of(&self, parent: &str, limit: u32) -> Result<Vec<Link>, StorageError> {
        run(self, false, |sql| graph::links_of(sql, parent, limit))
    }

    /// The containment chain upward from `unit`, at most `depth` levels.
    fn contained_in(&self, unit: &str, depth: usize) -> Result<Vec<Containment>, StorageError> {
        run(self, false, |sql| graph::contained_in(sql, unit, depth))
    }

    /// What `unit` holds now (active links, aggregations), at most `depth`
    /// levels.
    fn descendants(&self, unit: &str, depth: usize) -> Result<Vec<Descendant>, StorageError> {
        run(self, false, |sql| graph::descendants(sql, unit, depth))
    }

    /// What a lookup shows of `unit`'s place in the graph, read in one
    /// transaction (one snapshot, and one transaction's cost instead of
    /// three): its containment chain upward ([`Storage::contained_in`], at
    /// most `depth` levels), its links as a parent ([`Storage::links_of`],
    /// at most `limit`), and what it holds now ([`Storage::descendants`]).
    fn neighbourhood(
        &self,
        unit: &str,
        depth: usize,
        limit: u32,
    ) -> Result<Neighbourhood, StorageError> {
        run(self, false, |sql| {
            Ok((
                graph::contained_in(sql, unit, depth)?,
                graph::links_of(sql, unit, limit)?,
                graph::descendants(sql, unit, depth)?,
            ))
        })
    }

    /// Whether a lot of a part is recalled ([`graph::lot_recalled`]).
    fn lot_recalled(&self, part: &str, lot: &str) -> Result<bool, StorageError> {
        run(self, false, |sql| graph::lot_recalled(sql, part, lot))
    }

    /// The parents holding a lot of a part (links, then aggregation
    /// children), paged.
    fn trace(
        &self,
        part: &str,
        lot: &str,
        after: Option<TraceCursor>,
        limit: u32,
    ) -> Result<Vec<TraceEntry>, StorageError> {
        run(self, false, |sql| {
            graph::trace(sql, part, lot, after, limit)
        })
    }

    /// The registry's records for an EPCIS export from `since` (seconds) on,
    /// read in one transaction.
    fn epcis_records(&self, since: u64) -> Result<hallmark_epcis::ExportInput, StorageError> {
        run(self, false, |sql| graph::epcis_records(sql, since))
    }
}

/// Runs a graph query once through [`Storage::graph`].
fn run<S: Storage + ?Sized, T>(
    storage: &S,
    write: bool,
    f: impl FnOnce(&mut dyn graph::Sql) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let mut f = Some(f);
    let mut out = None;
    storage.graph(write, &mut |sql| {
        if let Some(f) = f.take() {
            out = Some(f(sql)?);
        }
        Ok(())
    })?;
    out.ok_or(StorageError::NotRun)
}

/// Maps a `u64` onto an `i64` preserving order (flips the top bit), so serial
/// ranges compare correctly in SQL's signed 64-bit integers.
pub fn serial_to_sql(serial: u64) -> i64 {
    (serial ^ (1 << 63)) as i64
}

/// Inverse of [`serial_to_sql`].
pub fn serial_from_sql(value: i64) -> u64 {
    (value as u64) ^ (1 << 63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_driver_error_is_kept_as_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let e = SqliteStorage::open(&dir.path().join("missing/h.db")).unwrap_err();
        assert!(matches!(e, StorageError::Sqlite { .. }), "{e:?}");
        let source = std::error::Error::source(&e).unwrap();
        assert!(source.downcast_ref::<rusqlite::Error>().is_some());
        assert_eq!(e.to_string(), format!("database: {source}"));
    }

    #[test]
    fn a_bad_postgres_url_never_shows_its_password() {
        for url in [
            "postgres://ops:hunter2@127.0.0.1/db?connect_timeout=hunter2",
            "postgres://ops:hunter2@127.0.0.1/db?no_such_option=hunter2",
        ] {
            let e = PostgresStorage::connect(url).unwrap_err();
            assert!(matches!(e, StorageError::PostgresUrl { .. }), "{e:?}");
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(c) = cause {
                let text = format!("{c} {c:?}");
                assert!(!text.contains("hunter2"), "{text}");
                cause = c.source();
            }
            assert!(
                e.to_string().starts_with("database: bad PostgreSQL URL: "),
                "{e}"
            );
        }
    }

    #[test]
    fn serial_mapping_preserves_order() {
        let samples = [0, 1, 42, (1 << 63) - 1, 1 << 63, u64::MAX - 1, u64::MAX];
        for w in samples.windows(2) {
            assert!(serial_to_sql(w[0]) < serial_to_sql(w[1]));
        }
        for s in samples {
            assert_eq!(serial_from_sql(serial_to_sql(s)), s);
        }
    }
}
