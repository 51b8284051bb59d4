//! The accept loop: HTTP/1.1 connections served by hyper, with the limits that
//! keep idle and hostile clients from holding the service's sockets.
//!
//! - **Header timeout** ([`Settings::header_timeout`]): once a client has sent
//!   the first byte of a request, its headers must be complete within this
//!   time (a slowloris sending a byte at a time is cut off).
//! - **Idle timeout** ([`Settings::idle_timeout`]): a connection with no
//!   request in progress that receives nothing for this long is closed (a new
//!   connection that sends nothing, a keep-alive connection between requests,
//!   a client that stopped reading its response).
//! - **Connections per client** ([`Settings::max_connections_per_client`]):
//!   counted per IPv4 address or IPv6 /64 ([`crate::client`]); one more is
//!   answered `503 too-many-connections` and closed at once.
//! - **Connections in total** ([`Settings::max_connections`]): at the limit,
//!   every connection without a request in progress is closed to make room
//!   (connections in a request close after its response), at most once a
//!   second; the connection that found the limit is served, and until the
//!   next second more are answered 503 and closed.
//!
//! Graceful shutdown: when the shutdown future resolves the listener is
//! closed, idle connections are closed, requests in flight finish (each
//! bounded by the request timeout), and [`serve`] returns when the last
//! connection is gone.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::client::client_key;
use crate::{AppState, Settings, app};

/// The largest request head (request line and headers), in bytes.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// How often, at most, reaching the total limit closes idle connections.
const SHED_INTERVAL: Duration = Duration::from_secs(1);

/// How long to back off after an accept error such as "too many open files".
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The limits [`serve`] applies, from [`Settings`].
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
    max_connections_per_client: usize,
}

impl Limits {
    fn of(settings: &Settings) -> Limits {
        Limits {
            header_timeout: settings.header_timeout,
            idle_timeout: settings.idle_timeout,
            max_connections: settings.max_connections.max(1),
            max_connections_per_client: settings.max_connections_per_client.max(1),
        }
    }
}

/// Serves [`app`] on `listener` until `shutdown` resolves, then stops
/// accepting, closes idle connections, lets the requests in flight finish,
/// and returns once every connection is closed. Applies the connection limits
/// and timeouts of the state's [`Settings`] (see the module documentation).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let limits = Limits::of(state.settings());
    let router = app(state);
    let registry = Arc::new(Registry::default());
    let (drain_tx, drain_rx) = watch::channel(false);
    let (shed_tx, _) = watch::channel(0u64);
    let mut last_shed: Option<Instant> = None;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_per_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors or memory: wait for some to free.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let key = client_key(peer.ip());
        let slot = match registry.acquire(key, &limits) {
            Ok(slot) => slot,
            Err(Refusal::PerClient) => {
                tracing::debug!("refused a connection from {peer}: per-client limit");
                refuse(
                    &stream,
                    "too many connections from this address; close idle ones",
                );
                continue;
            }
            Err(Refusal::Total) => {
                let now = Instant::now();
                if last_shed.is_some_and(|t| now.duration_since(t) < SHED_INTERVAL) {
                    tracing::debug!("refused a connection from {peer}: connection limit");
                    refuse(
                        &stream,
                        "the service has too many connections; retry shortly",
                    );
                    continue;
                }
                last_shed = Some(now);
                tracing::warn!(
                    "{} connections open: closing the idle ones",
                    limits.max_connections
                );
                shed_tx.send_modify(|generation| *generation = generation.wrapping_add(1));
                registry.acquire_over_limit(key)
            }
        };
        let connection = Connection {
            router: router.clone(),
            peer,
            limits,
            drain: drain_rx.clone(),
            shed: shed_tx.subscribe(),
            _slot: slot,
        };
        tokio::spawn(connection.run(stream));
    }
    drop(listener);
    tracing::info!("shutting down: finishing requests in flight");
    // Receivers see the change even when they subscribed after the last one.
    let _ = drain_tx.send(true);
    registry.wait_empty().await;
    Ok(())
}

/// Accept errors that concern one connection only (the listener is fine).
fn is_per_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Answers 503 (JSON, `Connection: close`) if the socket takes it at once,
/// and closes the connection.
fn refuse(stream: &TcpStream, detail: &str) {
    let body = serde_json::json!({"error": "too-many-connections", "detail": detail}).to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    // A new socket's send buffer is empty: this does not block, and a short
    // write only truncates an answer to a client that is being refused.
    let _ = stream.try_write(response.as_bytes());
    // Discard a request that has already arrived, so that closing does not
    // reset the connection before the client reads the answer.
    let mut scratch = [0u8; 2048];
    let _ = stream.try_read(&mut scratch);
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    PerClient,
    Total,
}

/// Open connections, in total and per client.
#[derive(Debug, Default)]
struct Registry {
    counts: Mutex<Counts>,
    emptied: Notify,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

impl Registry {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        // The counts stay consistent under a panic elsewhere: nothing panics
        // while holding the lock.
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn acquire(self: &Arc<Self>, key: IpAddr, limits: &Limits) -> Result<Slot, Refusal> {
        let counts = self.counts();
        let mine = counts.per_client.get(&key).copied().unwrap_or(0);
        if mine >= limits.max_connections_per_client {
            return Err(Refusal::PerClient);
        }
        if counts.total >= limits.max_connections {
            return Err(Refusal::Total);
        }
        drop(counts);
        Ok(self.acquire_over_limit(key))
    }

    /// Counts a connection without checking the limits.
    fn acquire_over_limit(self: &Arc<Self>, key: IpAddr) -> Slot {
        let mut counts = self.counts();
        counts.total = counts.total.saturating_add(1);
        let mine = counts.per_client.entry(key).or_insert(0);
        *mine = mine.saturating_add(1);
        Slot {
            registry: Arc::clone(self),
            key,
        }
    }

    async fn wait_empty(&self) {
        loop {
            let notified = self.emptied.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.counts().total == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// One admitted connection; uncounted when dropped.
#[derive(Debug)]
struct Slot {
    registry: Arc<Registry>,
    key: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.registry.counts();
        counts.total = counts.total.saturating_sub(1);
        if let Some(mine) = counts.per_client.get_mut(&self.key) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                counts.per_client.remove(&self.key);
            }
        }
        let empty = counts.total == 0;
        drop(counts);
        if empty {
            self.registry.emptied.notify_waiters();
        }
    }
}

/// What a connection is doing, for its timeouts.
#[derive(Debug)]
struct Activity {
    state: Mutex<ActivityState>,
    /// Signalled when the deadline moves earlier (a request's first byte).
    sooner: Notify,
}

#[derive(Debug, Clone, Copy)]
struct ActivityState {
    /// Requests whose response has not been produced yet.
    in_flight: usize,
    /// Since when no request has been in progress.
    idle_since: Instant,
    /// When the first byte of a request whose headers are not complete yet
    /// arrived.
    partial_since: Option<Instant>,
}

/// Why a connection's watchdog closes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Header,
    Idle,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            state: Mutex::new(ActivityState {
                in_flight: 0,
                idle_since: Instant::now(),
                partial_since: None,
            }),
            sooner: Notify::new(),
        }
    }

    fn state(&self) -> MutexGuard<'_, ActivityState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Bytes arrived.
    fn received(&self) {
        let mut s = self.state();
        if s.in_flight == 0 && s.partial_since.is_none() {
            s.partial_since = Some(Instant::now());
            drop(s);
            self.sooner.notify_one();
        }
    }

    /// A request's headers are complete: it is in progress until the guard drops.
    fn begin(self: &Arc<Self>) -> InFlight {
        let mut s = self.state();
        s.in_flight = s.in_flight.saturating_add(1);
        s.partial_since = None;
        InFlight(Arc::clone(self))
    }

    /// When the connection expires, and why, if nothing happens before
    /// (`None` while a request is in progress: the request timeout applies).
    fn deadline(&self, limits: &Limits) -> Option<(Instant, Expiry)> {
        let s = self.state();
        if s.in_flight > 0 {
            None
        } else if let Some(since) = s.partial_since {
            Some((since + limits.header_timeout, Expiry::Header))
        } else {
            Some((s.idle_since + limits.idle_timeout, Expiry::Idle))
        }
    }
}

/// A request in progress.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.state();
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.in_flight == 0 {
            s.idle_since = Instant::now();
        }
    }
}

/// The socket, noting when bytes arrive.
struct Tracked {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.received();
        }
        poll
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The router as one connection's hyper service: adds the peer address
/// (`ConnectInfo`) and marks each request in progress.
#[derive(Clone)]
struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, mut request: hyper::Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let in_flight = self.activity.begin();
        let router = self.router.clone();
        Box::pin(async move {
            let response = router.oneshot(request).await;
            drop(in_flight);
            response
        })
    }
}

/// One admitted connection and what it needs.
struct Connection {
    router: Router,
    peer: SocketAddr,
    limits: Limits,
    drain: watch::Receiver<bool>,
    shed: watch::Receiver<u64>,
    _slot: Slot,
}

impl Connection {
    /// Serves the connection until the client closes it, a timeout expires,
    /// or it is shed or drained while idle.
    async fn run(mut self, stream: TcpStream) {
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(Tracked {
            stream,
            activity: Arc::clone(&activity),
        });
        let service = ConnectionService {
            router: self.router.clone(),
            peer: self.peer,
            activity: Arc::clone(&activity),
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        // The watchdog below times headers (hyper's own timer would also run
        // between keep-alive requests).
        builder.header_read_timeout(None);
        // Request heads are bounded: more is 431.
        builder.max_header_size(MAX_HEADER_BYTES);
        let connection = builder.serve_connection(io, service);
        let mut connection = std::pin::pin!(connection);
        let mut draining = *self.drain.borrow();
        if draining {
            connection.as_mut().graceful_shutdown();
        }
        let mut shed_open = true;
        loop {
            let (deadline, expiry) = activity.deadline(&self.limits).map_or(
                (Instant::now() + self.limits.idle_timeout, None),
                |(d, e)| (d, Some(e)),
            );
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("connection from {}: {e}", self.peer);
                    }
                    return;
                }
                () = tokio::time::sleep_until(deadline) => {
                    // Still expired? (A request may have begun meanwhile.)
                    let now = Instant::now();
                    if let (Some(expiry), Some((d, _))) = (expiry, activity.deadline(&self.limits))
                        && d <= now
                    {
                        tracing::debug!(
                            "closing the connection from {}: {}",
                            self.peer,
                            match expiry {
                                Expiry::Header => "headers not sent within the header timeout",
                                Expiry::Idle => "idle for the idle timeout",
                            }
                        );
                        return;
                    }
                }
                // The first byte of a request: the header deadline applies.
                () = activity.sooner.notified() => {}
                _ = self.drain.changed(), if !draining => {
                    draining = true;
                    // hyper closes it now if it is idle or has seen no
                    // bytes yet, else after the response in progress.
                    connection.as_mut().graceful_shutdown();
                }
                changed = self.shed.changed(), if shed_open && !draining => {
                    if changed.is_err() {
                        shed_open = false;
                    } else {
                        tracing::debug!("connection limit: closing the connection from {} when idle", self.peer);
                        draining = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}
