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

/// Why a registry certificate was refused
/// ([`AppState::set_registry_certificate`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryCertError {
    /// The service has no registry key (`--revocation-key`).
    #[error("a registry certificate needs the registry key (--revocation-key)")]
    NoKey,
    /// Not a line certificate.
    #[error("not a line certificate: {0}")]
    Malformed(#[source] hallmark::Error),
    /// It certifies another key.
    #[error("it certifies key {certified}, not the registry key {key}")]
    OtherKey {
        /// The key it certifies.
        certified: hallmark::KeyId,
        /// The service's registry key.
        key: hallmark::KeyId,
    },
    /// It does not allow registry documents.
    #[error("its usage ({usage}) does not include registry")]
    Usage {
        /// The usage it grants.
        usage: hallmark::Usage,
    },
    /// A certificate was set already.
    #[error("a registry certificate is set already")]
    AlreadySet,
}

struct Inner {
    trust: TrustStore,
    storage: Arc<dyn Storage>,
    revocation_key: Option<SecretKey>,
    registry_cert: std::sync::OnceLock<Vec<u8>>,
    settings: Settings,
    snapshot: Mutex<Option<Arc<SignedSnapshot>>>,
    bundle: Mutex<Option<Arc<SignedSnapshot>>>,
    rate_limiter: ratelimit::RateLimiter,
    auth_failures: ratelimit::RateLimiter,
    metrics: metrics::Metrics,
    visits: crate::page::visits::Visits,
    products: std::sync::OnceLock<crate::products::Catalogue>,
    registrations: std::sync::OnceLock<Registrations>,
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
            registry_cert: std::sync::OnceLock::new(),
            settings,
            snapshot: Mutex::new(None),
            bundle: Mutex::new(None),
            rate_limiter: ratelimit::RateLimiter::default(),
            auth_failures: ratelimit::RateLimiter::default(),
            metrics: metrics::Metrics::default(),
            visits: crate::page::visits::Visits::default(),
            products: std::sync::OnceLock::new(),
            registrations: std::sync::OnceLock::new(),
        }))
    }

    /// Sets the products the page describes (once; later calls are
    /// ignored and return `false`).
    pub fn set_products(&self, products: crate::products::Catalogue) -> bool {
        self.0.products.set(products).is_ok()
    }

    /// The products the page describes, if a products file was given.
    pub(crate) fn products(&self) -> Option<&crate::products::Catalogue> {
        self.0.products.get()
    }

    /// Which page visits count as checks.
    pub(crate) fn visits(&self) -> &crate::page::visits::Visits {
        &self.0.visits
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

    /// The cached signed trust bundle, locked (as [`AppState::snapshot_cache`]).
    pub(crate) fn bundle_cache(&self) -> MutexGuard<'_, Option<Arc<SignedSnapshot>>> {
        self.0.bundle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the registry key's own line certificate, which the trust bundle
    /// carries first so that verifiers need only the root. Checked here: it
    /// must certify the registry key (`--revocation-key`) for registry
    /// documents; its root signature is the verifiers' to check.
    pub fn set_registry_certificate(&self, bytes: Vec<u8>) -> Result<(), RegistryCertError> {
        let key = self.revocation_key().ok_or(RegistryCertError::NoKey)?;
        let (_, cert) = hallmark::LineCertificate::decode_unverified(&bytes)
            .map_err(RegistryCertError::Malformed)?;
        if cert.subject.kid() != key.kid() {
            return Err(RegistryCertError::OtherKey {
                certified: cert.subject.kid(),
                key: key.kid(),
            });
        }
        if !cert.usage.contains(hallmark::Usage::REGISTRY) {
            return Err(RegistryCertError::Usage { usage: cert.usage });
        }
        self.0
            .registry_cert
            .set(bytes)
            .map_err(|_| RegistryCertError::AlreadySet)
    }

    /// The registry key's line certificate, if one was set.
    pub(crate) fn registry_certificate(&self) -> Option<&[u8]> {
        self.0.registry_cert.get().map(Vec::as_slice)
    }

    /// The key id of the key that signs revocation snapshots, if any.
    pub fn revocation_kid(&self) -> Option<hallmark::KeyId> {
        self.0.revocation_key.as_ref().map(SecretKey::kid)
    }

    /// Now, from the configured clock.
    pub fn now(&self) -> u64 {
        (self.0.settings.clock)()
    }

    /// Turns warranty registration on: the claim key that derives every
    /// unit's claim code, and how long a transfer code lasts (seconds).
    /// Refused (the key handed back) when set already.
    pub fn set_registrations(
        &self,
        claim_key: hallmark_issuer::claim::ClaimKey,
        transfer_ttl: u64,
    ) -> Result<(), hallmark_issuer::claim::ClaimKey> {
        self.0
            .registrations
            .set(Registrations {
                claim_key,
                transfer_ttl,
            })
            .map_err(|r| r.claim_key)
    }

    /// Warranty registration's settings, if it is on.
    pub(crate) fn registrations(&self) -> Option<&Registrations> {
        self.0.registrations.get()
    }
}

/// Warranty registration's settings ([`AppState::set_registrations`]).
#[derive(Debug)]
pub(crate) struct Registrations {
    pub(crate) claim_key: hallmark_issuer::claim::ClaimKey,
    pub(crate) transfer_ttl: u64,
}
