//! A storage that wraps SQLite with switches to fail or hang, and counts the
//! calls the tests watch: for readiness and single-flight tests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};

use hallmark::{BatchManifest, KeyId, Payload, Revocation};
use hallmark_server::SqliteStorage;
use hallmark_server::storage::{
    AuditEntry, Scan, ScanSummary, Status, StatusChange, Storage, StorageError, TokenInfo,
    TokenScope,
};

/// SQLite in memory with faults.
pub struct Faulty {
    inner: SqliteStorage,
    /// `check_writable` fails (a read-only or full database).
    pub fail_writes: AtomicBool,
    /// `check_writable` blocks until [`Faulty::release`] (a database that
    /// hangs).
    pub hang: AtomicBool,
    /// `revocations` blocks until [`Faulty::release`].
    pub gate_revocations: AtomicBool,
    /// Calls of `sequence`.
    pub sequence_calls: AtomicU64,
    /// Calls of `revocations`.
    pub revocations_calls: AtomicU64,
    released: Mutex<bool>,
    changed: Condvar,
}

impl Faulty {
    /// A fresh in-memory database, no fault switched on.
    pub fn new() -> Faulty {
        Faulty {
            inner: SqliteStorage::open_in_memory().unwrap(),
            fail_writes: AtomicBool::new(false),
            hang: AtomicBool::new(false),
            gate_revocations: AtomicBool::new(false),
            sequence_calls: AtomicU64::new(0),
            revocations_calls: AtomicU64::new(0),
            released: Mutex::new(false),
            changed: Condvar::new(),
        }
    }

    /// Lets every blocked call go on (and later ones not block).
    pub fn release(&self) {
        *self.released.lock().unwrap() = true;
        self.changed.notify_all();
    }

    /// Blocks (without sleeping) until `done` holds of the counters.
    pub fn wait_until(&self, done: impl Fn(&Faulty) -> bool) {
        let mut guard = self.released.lock().unwrap();
        while !done(self) {
            guard = self.changed.wait(guard).unwrap();
        }
    }

    fn block(&self) {
        let mut released = self.released.lock().unwrap();
        while !*released {
            released = self.changed.wait(released).unwrap();
        }
    }

    fn notify(&self) {
        let _guard = self.released.lock().unwrap();
        self.changed.notify_all();
    }
}

impl Storage for Faulty {
    fn status(&self, kid: KeyId, payload: &Payload) -> Result<Option<Status>, StorageError> {
        self.inner.status(kid, payload)
    }
    fn change_status(&self, c: &StatusChange, token: &str, now: u64) -> Result<u64, StorageError> {
        self.inner.change_status(c, token, now)
    }
    fn check_writable(&self, now: u64) -> Result<(), StorageError> {
        if self.hang.load(Ordering::SeqCst) {
            self.block();
        }
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(StorageError::Sqlite {
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
                    Some("attempt to write a readonly database".into()),
                ),
            });
        }
        self.inner.check_writable(now)
    }
    fn sequence(&self) -> Result<u64, StorageError> {
        let out = self.inner.sequence();
        self.sequence_calls.fetch_add(1, Ordering::SeqCst);
        self.notify();
        out
    }
    fn revocations(&self) -> Result<(u64, Vec<Revocation>), StorageError> {
        self.revocations_calls.fetch_add(1, Ordering::SeqCst);
        self.notify();
        if self.gate_revocations.load(Ordering::SeqCst) {
            self.block();
        }
        self.inner.revocations()
    }
    fn record_scan(
        &self,
        scan: &Scan,
        window_start: u64,
        forget_before: Option<u64>,
    ) -> Result<ScanSummary, StorageError> {
        self.inner.record_scan(scan, window_start, forget_before)
    }
    fn prune_scans(&self, before: u64) -> Result<u64, StorageError> {
        self.inner.prune_scans(before)
    }
    fn scan_summary(&self, kid: KeyId, serial: u64, w: u64) -> Result<ScanSummary, StorageError> {
        self.inner.scan_summary(kid, serial, w)
    }
    fn register_batches(
        &self,
        m: &BatchManifest,
        bytes: &[u8],
        max_count: Option<u64>,
        token: &str,
        now: u64,
    ) -> Result<hallmark_server::storage::Registration, StorageError> {
        self.inner.register_batches(m, bytes, max_count, token, now)
    }
    fn registry_contents(
        &self,
    ) -> Result<hallmark_server::storage::RegistryContents, StorageError> {
        self.inner.registry_contents()
    }
    fn is_registered(&self, kid: KeyId, payload: &Payload) -> Result<bool, StorageError> {
        self.inner.is_registered(kid, payload)
    }
    fn create_token(
        &self,
        name: &str,
        scope: TokenScope,
        hash: &blake3::Hash,
        now: u64,
    ) -> Result<(), StorageError> {
        self.inner.create_token(name, scope, hash, now)
    }
    fn revoke_token(&self, name: &str, now: u64) -> Result<bool, StorageError> {
        self.inner.revoke_token(name, now)
    }
    fn tokens(&self) -> Result<Vec<TokenInfo>, StorageError> {
        self.inner.tokens()
    }
    fn authenticate(&self, hash: &blake3::Hash) -> Result<Option<TokenInfo>, StorageError> {
        self.inner.authenticate(hash)
    }
    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StorageError> {
        self.inner.audit_log(limit)
    }
    fn graph(
        &self,
        write: bool,
        f: &mut dyn FnMut(
            &mut dyn hallmark_server::storage::graph::Sql,
        ) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        self.inner.graph(write, f)
    }
}
