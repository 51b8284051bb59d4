//! [`AppState`]: what every handler shares (trust store, storage, snapshot
//! key and cache, rate limiters, metrics, settings), reached through its
//! accessors.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hallmark::TrustStore;
use hallmark_issuer::SecretKey;

use crate::{Settings, Storage, metrics, ratelimit};

/// A signed snapshot as served, cached until the sequence changes or it is
/// older than [`Settings::snapshot_refresh`].
#[derive(Debug)]
pub(crate) struct SignedSnapshot {
    pub(crate) sequence: u64,
    pub(crate) issued: u64,
    pub(crate) etag: String,
    pub(crate) bytes: axum::body::Bytes,
}

struct Inner {
    trust: TrustStore,
    storage: Arc<dyn Storage>,
    revocation_key: Option<SecretKey>,
    settings: Settings,
    snapshot: Mutex<Option<Arc<SignedSnapshot>>>,
    rate_limiter: ratelimit::RateLimiter,
    auth_failures: ratelimit::RateLimiter,
    metrics: metrics::Metrics,
}

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("keys", &self.0.trust.keys().len())
            .field("revocation_key", &self.0.revocation_key)
            .field("settings", &self.0.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over a trust store, a storage backend and the optional key that
    /// signs revocation snapshots (without one, the snapshot endpoint is 404).
    /// Builds the trust store's tables of multiples
    /// ([`TrustStore::precompute`]: 676 KB per key), which make every lookup's
    /// signature check cheaper (docs/PERFORMANCE.md).
    pub fn new(
        trust: TrustStore,
        storage: Arc<dyn Storage>,
        revocation_key: Option<SecretKey>,
        settings: Settings,
    ) -> AppState {
        trust.precompute();
        AppState(Arc::new(Inner {
            trust,
            storage,
            revocation_key,
            settings,
            snapshot: Mutex::new(None),
            rate_limiter: ratelimit::RateLimiter::default(),
            auth_failures: ratelimit::RateLimiter::default(),
            metrics: metrics::Metrics::default(),
        }))
    }

    /// The trusted issuer keys.
    pub fn trust(&self) -> &TrustStore {
        &self.0.trust
    }

    /// The storage backend.
    pub fn storage(&self) -> Arc<dyn Storage> {
        Arc::clone(&self.0.storage)
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.0.settings
    }

    /// The service's metrics.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.0.metrics
    }

    pub(crate) fn rate_limiter(&self) -> &ratelimit::RateLimiter {
        &self.0.rate_limiter
    }

    pub(crate) fn auth_failures(&self) -> &ratelimit::RateLimiter {
        &self.0.auth_failures
    }

    /// The key that signs revocation snapshots, if any.
    pub(crate) fn revocation_key(&self) -> Option<&SecretKey> {
        self.0.revocation_key.as_ref()
    }

    /// The cached signed snapshot, locked (a poisoned lock is taken over:
    /// the cache holds a whole snapshot or none).
    pub(crate) fn snapshot_cache(&self) -> MutexGuard<'_, Option<Arc<SignedSnapshot>>> {
        self.0
            .snapshot
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The key id of the key that signs revocation snapshots, if any.
    pub fn revocation_kid(&self) -> Option<hallmark::KeyId> {
        self.0.revocation_key.as_ref().map(SecretKey::kid)
    }

    /// Now, from the configured clock.
    pub fn now(&self) -> u64 {
        (self.0.settings.clock)()
    }
}
