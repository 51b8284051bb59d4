//! # hallmark-server: the hallmark service
//!
//! An axum application over a [`Storage`] backend: code lookup with the current
//! status, scan reports with clone and unregistered-serial alerts, status
//! changes (revoke, decommission, reactivate) and batch registration behind
//! bearer tokens, and signed revocation snapshots for offline verifiers.
//!
//! [`app`] builds the router (testable with `tower::ServiceExt::oneshot`, no
//! socket); [`serve`] runs it on a listener until a shutdown future resolves,
//! with connection limits and timeouts; [`serve_metrics`] serves the metrics.
//! The caller (the `hallmark serve` binary) builds the tokio runtime, installs
//! the tracing subscriber, opens the [`Database`] and binds the listeners.
//!
//! Endpoints (every error is JSON `{"error": KIND, "detail": TEXT}`):
//!
//! | method and path | auth | what |
//! |---|---|---|
//! | `GET /healthz`, `GET /readyz` | | liveness, readiness (the database answers) |
//! | `GET /openapi.json` | | the OpenAPI document of all of this ([`api::ApiDoc`]) |
//! | `GET /v1/keys` | | the trusted issuer keys |
//! | `GET /c/{code}` | | an HTML page for people who scanned a label |
//! | `GET /v1/codes/{code}` | | verdict, payload, status, registration, scan summary |
//! | `POST /v1/scans` | | `{code, location?, scanner?}`: records a scan, returns alerts |
//! | `POST /v1/status` | `status` token | revoke / decommission / reactivate a serial, range, lot or key |
//! | `POST /v1/batches` | `batches` token | registers a signed batch manifest (octet-stream) |
//! | `GET /v1/revocations/snapshot` | | the signed snapshot, with ETag / If-None-Match |
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use hallmark::{MAX_MANIFEST_BYTES, TrustStore};
use hallmark_issuer::SecretKey;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub mod api;
pub mod auth;
mod client;
pub mod error;
mod listener;
pub mod metrics;
mod pages;
mod ratelimit;
mod routes;
pub mod storage;

pub use error::ApiError;
pub use listener::{MAX_HEADER_BYTES, serve};
pub use storage::{Database, PostgresStorage, SqliteStorage, Storage, StorageError};

/// Largest JSON request body, in bytes.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// The clock: seconds since 1970-01-01 UTC.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// Tunables of the service.
#[derive(Clone)]
pub struct Settings {
    /// A code seen by authenticated scanners (a `scans` token) in more than
    /// this many distinct locations within [`Settings::clone_window`] raises
    /// `clone-suspected` (anonymous scans: [`storage::ScanPolicy`]).
    pub clone_locations: u64,
    /// The clone-detection window, in seconds.
    pub clone_window: u64,
    /// How anonymous scans count, and how long scans are kept.
    pub scans: storage::ScanPolicy,
    /// Requests taking longer are answered 408.
    pub request_timeout: Duration,
    /// Requests handled at once; more wait.
    pub max_concurrency: usize,
    /// A served snapshot is re-signed with a fresh issue time after this many
    /// seconds even when nothing changed, so verifiers do not see it as stale.
    pub snapshot_refresh: u64,
    /// Lookups, scans and code pages allowed per client address per minute
    /// (0: no limit); more get 429.
    pub rate_limit_per_minute: u64,
    /// Requests a client may make at once before the per-minute rate applies.
    pub rate_limit_burst: u64,
    /// Invalid bearer tokens a client may present per minute (0: no limit);
    /// more get 429 before the token is looked up.
    pub auth_failures_per_minute: u64,
    /// Invalid tokens a client may present at once before the per-minute
    /// rate applies.
    pub auth_failure_burst: u64,
    /// Once the first byte of a request has arrived, its headers must be
    /// complete within this time, or the connection is closed ([`serve`]).
    pub header_timeout: Duration,
    /// A connection with no request in progress that receives nothing for
    /// this long is closed ([`serve`]).
    pub idle_timeout: Duration,
    /// Connections open at once, in total ([`serve`]; at least 1).
    pub max_connections: usize,
    /// Connections open at once from one client: an IPv4 address or an IPv6
    /// /64 ([`serve`]; at least 1).
    pub max_connections_per_client: usize,
    /// Where time comes from (tests pass a fixed clock).
    pub clock: Clock,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            clone_locations: 3,
            clone_window: 24 * 3600,
            scans: storage::ScanPolicy::default(),
            request_timeout: Duration::from_secs(10),
            max_concurrency: 512,
            snapshot_refresh: 3600,
            rate_limit_per_minute: 600,
            rate_limit_burst: 120,
            auth_failures_per_minute: 30,
            auth_failure_burst: 10,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            max_connections_per_client: 64,
            clock: system_clock(),
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("clone_locations", &self.clone_locations)
            .field("clone_window", &self.clone_window)
            .field("scans", &self.scans)
            .field("request_timeout", &self.request_timeout)
            .field("max_concurrency", &self.max_concurrency)
            .field("snapshot_refresh", &self.snapshot_refresh)
            .field("rate_limit_per_minute", &self.rate_limit_per_minute)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .field("auth_failures_per_minute", &self.auth_failures_per_minute)
            .field("auth_failure_burst", &self.auth_failure_burst)
            .field("header_timeout", &self.header_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field(
                "max_connections_per_client",
                &self.max_connections_per_client,
            )
            .finish_non_exhaustive()
    }
}

/// A signed snapshot as served, cached until the sequence changes or it is
/// older than [`Settings::snapshot_refresh`].
#[derive(Debug)]
struct SignedSnapshot {
    sequence: u64,
    issued: u64,
    etag: String,
    bytes: axum::body::Bytes,
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
    /// ([`TrustStore::precompute`]: a few milliseconds and 676 KB per key),
    /// which make every lookup's signature check about three times cheaper.
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

    /// The key id of the key that signs revocation snapshots, if any.
    pub fn revocation_kid(&self) -> Option<hallmark::KeyId> {
        self.0.revocation_key.as_ref().map(SecretKey::kid)
    }

    /// Now, from the configured clock.
    pub fn now(&self) -> u64 {
        (self.0.settings.clock)()
    }
}

/// The application: every route with its limits, timeout and error shaping.
pub fn app(state: AppState) -> Router {
    let settings = state.settings().clone();
    Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/openapi.json", get(routes::openapi))
        .route("/v1/status", post(routes::status))
        .route(
            "/v1/batches",
            // The one large body: a manifest (framing and signature included).
            post(routes::batches).layer(DefaultBodyLimit::max(MAX_MANIFEST_BYTES + 1024)),
        )
        .route("/v1/revocations/snapshot", get(routes::snapshot))
        .route("/v1/keys", get(pages::keys))
        .route("/readyz", get(pages::readyz))
        .merge(
            // The public, unauthenticated reads and scan reports: rate limited per client.
            Router::new()
                .route("/v1/codes/{code}", get(routes::lookup))
                .route("/v1/scans", post(routes::scan))
                // Verification URLs are printed in upper case so the QR stays alphanumeric.
                .route("/c/{code}", get(pages::code_page))
                .route("/C/{code}", get(pages::code_page))
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    ratelimit::limit,
                )),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ))
        .layer(axum::middleware::map_response(error::json_errors))
        .layer(ConcurrencyLimitLayer::new(settings.max_concurrency.max(1)))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed when
/// this is called (inside a tokio runtime), not when the future is first
/// polled: a signal that arrives after the call is not missed, so call it
/// before announcing that the service is up.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {},
                () = wait(terminate) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Serves Prometheus metrics (`GET /metrics`, [`metrics::router`]) on
/// `listener` until `shutdown` resolves. Keep it off the public network.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, metrics::router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
