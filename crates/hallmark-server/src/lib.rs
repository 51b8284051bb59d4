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
//! Every request is logged once answered, at `info` with target
//! `hallmark_server::access`: method, route pattern (`/v1/codes/{code}`, never
//! the raw path, whose codes carry signatures), status and milliseconds; no
//! header, query string or body reaches the log. [`metrics::Metrics`] adds the
//! standard process metrics (Linux) and `hallmark_build_info{version}`.
//!
//! Endpoints (every error is JSON `{"error": KIND, "detail": TEXT}`):
//!
//! | method and path | auth | what |
//! |---|---|---|
//! | `GET /healthz`, `GET /readyz` | | liveness, readiness (the database answers) |
//! | `GET /openapi.json` | | the OpenAPI document of all of this ([`openapi::ApiDoc`]) |
//! | `GET /v1/keys` | | the trusted issuer keys |
//! | `GET /c/{code}` | | an HTML page for people who scanned a label |
//! | `GET /v1/codes/{code}` | | verdict, payload, status, registration, scan summary (also of GS1 scans signed with AI 8030) |
//! | `GET /01/{gtin}/…/21/{serial}?…` | | a GS1 Digital Link on this host: browsers get a 303 to `/c/…`, API clients the lookup JSON |
//! | `POST /v1/scans` | | `{code, location?, scanner?}`: records a scan, returns alerts |
//! | `POST /v1/status` | `status` token | revoke / decommission / reactivate a serial, range, lot or key |
//! | `POST /v1/batches` | `batches` token | registers a signed batch manifest (octet-stream) |
//! | `GET /v1/revocations/snapshot` | | the signed snapshot, with ETag / If-None-Match |
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

mod access;
pub mod api;
pub mod auth;
mod client;
pub mod error;
mod handlers;
mod layers;
mod listener;
pub mod metrics;
mod middleware;
pub mod openapi;
mod page;
pub mod products;
mod ratelimit;
mod router;
mod state;
pub mod storage;

pub use error::ApiError;
pub use listener::{MAX_HEADER_BYTES, serve};
pub use router::{app, metrics_app};
pub use state::{AppState, RegistryCertError};

pub(crate) use state::SignedSnapshot;
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

/// A setting the service cannot honour ([`Settings::check`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A clone threshold the service cannot count to: it keeps at most
    /// [`storage::MAX_LOCATIONS_PER_CODE`] locations per code.
    #[error("{value} locations: at most {} (the service keeps {most} locations per code)", most - 1)]
    TooManyLocations {
        /// Which threshold.
        setting: Setting,
        /// The value given.
        value: u64,
        /// Locations kept per code.
        most: u64,
    },
    /// A limit of zero connections, or a zero timeout: nothing could be served.
    #[error("must be at least 1")]
    Zero {
        /// Which limit.
        setting: Setting,
    },
}

impl SettingsError {
    /// The setting refused.
    pub fn setting(&self) -> Setting {
        match self {
            SettingsError::TooManyLocations { setting, .. } | SettingsError::Zero { setting } => {
                *setting
            }
        }
    }
}

/// The settings [`Settings::check`] bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Setting {
    /// [`Settings::clone_locations`].
    CloneLocations,
    /// [`storage::ScanPolicy::anonymous_clone_locations`].
    AnonymousCloneLocations,
    /// [`Settings::header_timeout`].
    HeaderTimeout,
    /// [`Settings::idle_timeout`].
    IdleTimeout,
    /// [`Settings::max_connections`].
    MaxConnections,
    /// [`Settings::max_connections_per_client`].
    MaxConnectionsPerClient,
}

impl Settings {
    /// Refuses settings the service cannot honour: a clone threshold of
    /// [`storage::MAX_LOCATIONS_PER_CODE`] or more (the storage keeps that
    /// many locations per code, so the threshold could never be passed), a
    /// zero timeout or connection limit.
    pub fn check(&self) -> Result<(), SettingsError> {
        let most = storage::MAX_LOCATIONS_PER_CODE;
        for (setting, value) in [
            (Setting::CloneLocations, self.clone_locations),
            (
                Setting::AnonymousCloneLocations,
                self.scans.anonymous_clone_locations,
            ),
        ] {
            if value >= most {
                return Err(SettingsError::TooManyLocations {
                    setting,
                    value,
                    most,
                });
            }
        }
        for (setting, zero) in [
            (Setting::HeaderTimeout, self.header_timeout.is_zero()),
            (Setting::IdleTimeout, self.idle_timeout.is_zero()),
            (Setting::MaxConnections, self.max_connections == 0),
            (
                Setting::MaxConnectionsPerClient,
                self.max_connections_per_client == 0,
            ),
        ] {
            if zero {
                return Err(SettingsError::Zero { setting });
            }
        }
        Ok(())
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

/// Serves Prometheus metrics (`GET /metrics`, [`metrics_app`]) on
/// `listener` until `shutdown` resolves. Keep it off the public network.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, metrics_app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_the_service_cannot_honour_are_refused_by_name() {
        assert_eq!(Settings::default().check(), Ok(()));
        let most = storage::MAX_LOCATIONS_PER_CODE;
        let below = Settings {
            clone_locations: most - 1,
            ..Settings::default()
        };
        assert_eq!(below.check(), Ok(()));
        let over = Settings {
            clone_locations: most,
            ..Settings::default()
        };
        let e = over.check().err();
        assert_eq!(
            e.as_ref().map(SettingsError::setting),
            Some(Setting::CloneLocations)
        );
        assert!(e.is_some_and(|e| e.to_string().contains(&format!("at most {}", most - 1))));
        let mut anonymous = Settings::default();
        anonymous.scans.anonymous_clone_locations = u64::MAX;
        assert_eq!(
            anonymous.check().err().map(|e| e.setting()),
            Some(Setting::AnonymousCloneLocations)
        );
        let idle = Settings {
            idle_timeout: Duration::ZERO,
            ..Settings::default()
        };
        assert_eq!(
            idle.check(),
            Err(SettingsError::Zero {
                setting: Setting::IdleTimeout
            })
        );
        let connections = Settings {
            max_connections_per_client: 0,
            ..Settings::default()
        };
        assert_eq!(
            connections.check().err().map(|e| e.setting()),
            Some(Setting::MaxConnectionsPerClient)
        );
    }
}
