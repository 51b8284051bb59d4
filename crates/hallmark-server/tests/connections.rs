//! The accept loop on a real socket (127.0.0.1, the service in this process):
//! connection limits per client and in total, the header and idle timeouts,
//! and graceful shutdown. Flooding clients connect from other loopback
//! addresses (127.0.0.2 and up, all loopback on Linux) so that the
//! well-behaved client on 127.0.0.1 is a different client. Every test is
//! bounded: a few dozen sockets, a few seconds.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hallmark::TrustStore;
use hallmark_server::storage::SqliteStorage;
use hallmark_server::{AppState, Settings, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{Instant, timeout};

/// A running service and the way to stop it.
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(settings: Settings) -> Running {
    let storage = Arc::new(SqliteStorage::open_in_memory().unwrap());
    let state = AppState::new(TrustStore::new(), storage, None, settings);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, state, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task,
    }
}

fn settings(per_client: usize, total: usize, header: Duration, idle: Duration) -> Settings {
    Settings {
        max_connections_per_client: per_client,
        max_connections: total,
        header_timeout: header,
        idle_timeout: idle,
        ..Settings::default()
    }
}

/// A connection to `server` from the loopback address `127.0.0.<last>`.
async fn connect_from(last: u8, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from(([127, 0, 0, last], 0)))
        .unwrap();
    socket.connect(server).await.unwrap()
}

/// `GET /healthz` from `127.0.0.<last>` on a new connection: the status
/// line's code and the body, or `None` if refused or reset.
async fn healthz_from(last: u8, server: SocketAddr) -> Option<(u16, String)> {
    let mut stream = connect_from(last, server).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut raw = Vec::new();
    timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .ok()?
        .ok()?;
    parse(&raw)
}

fn parse(raw: &[u8]) -> Option<(u16, String)> {
    let text = String::from_utf8_lossy(raw);
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// Reads until the server closes the connection (EOF or reset) or `limit`
/// passes: what was read, and when it closed.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Instant>) {
    until_closed_by(stream, Instant::now() + limit).await
}

/// [`until_closed`] with a deadline.
async fn until_closed_by(stream: &mut TcpStream, deadline: Instant) -> (Vec<u8>, Option<Instant>) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return (raw, None),
            Ok(Ok(0) | Err(_)) => return (raw, Some(Instant::now())),
            Ok(Ok(n)) => raw.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_idle_flood_does_not_starve_clients() {
    let server = start(settings(
        8,
        1000,
        Duration::from_secs(30),
        Duration::from_secs(30),
    ))
    .await;
    // One client opens 40 idle connections: 8 are kept, 32 are refused at once.
    let mut flood = Vec::new();
    for _ in 0..40 {
        flood.push(connect_from(2, server.addr).await);
    }
    let mut refused = 0;
    let mut open = 0;
    let deadline = Instant::now() + Duration::from_millis(1500);
    let mut results = Vec::new();
    for stream in &mut flood {
        results.push(until_closed_by(stream, deadline).await);
    }
    for (raw, closed) in &results {
        if closed.is_some() {
            let (status, body) = parse(raw).expect("a refused connection gets an answer");
            assert_eq!(status, 503, "{body}");
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["error"], "too-many-connections", "{v}");
            refused += 1;
        } else {
            assert!(raw.is_empty());
            open += 1;
        }
    }
    assert_eq!((open, refused), (8, 32), "the per-client limit is 8");
    // Another client is served at once, while the flood's 8 stay open.
    let started = Instant::now();
    let answer = healthz_from(1, server.addr).await;
    assert_eq!(answer.map(|a| a.0), Some(200));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The flooding client is still refused while its 8 are open (503, or a
    // reset when its request arrived before the refusal closed it).
    let again = healthz_from(2, server.addr).await.map(|a| a.0);
    assert!(matches!(again, None | Some(503)), "{again:?}");
    drop(flood);
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_connection_flood_from_many_addresses_does_not_starve_clients() {
    // 5 addresses x 8 idle connections against a total of 32.
    let server = start(settings(
        8,
        32,
        Duration::from_secs(30),
        Duration::from_secs(30),
    ))
    .await;
    let mut flood = Vec::new();
    for last in 10..15 {
        for _ in 0..8 {
            flood.push(connect_from(last, server.addr).await);
        }
    }
    // Reaching the limit closed the idle connections: a new client is served
    // within a retry or two (Retry-After: 1), not after the idle timeout.
    let started = Instant::now();
    let mut statuses = Vec::new();
    while started.elapsed() < Duration::from_secs(5) {
        let status = healthz_from(1, server.addr).await.map(|a| a.0);
        statuses.push(status);
        if status == Some(200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(statuses.last(), Some(&Some(200)), "{statuses:?}");
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut closed = 0;
    for stream in &mut flood {
        closed += usize::from(until_closed_by(stream, deadline).await.1.is_some());
    }
    // The 32 admitted before the limit was reached were closed (and the
    // extra ones refused), all but the one admitted when it was reached.
    assert!(
        closed >= 32,
        "idle connections were closed to make room: {closed}"
    );
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_slowloris_is_cut_off_by_the_header_timeout() {
    let header = Duration::from_secs(1);
    let server = start(settings(64, 1000, header, Duration::from_secs(30))).await;
    // 30 connections sending their headers a byte every 100 ms.
    let mut slow = Vec::new();
    // Each slow client reports once its request has begun.
    let (begun_tx, mut begun) = tokio::sync::mpsc::channel::<()>(30);
    for _ in 0..30 {
        let addr = server.addr;
        let begun_tx = begun_tx.clone();
        slow.push(tokio::spawn(async move {
            let mut stream = connect_from(3, addr).await;
            let started = Instant::now();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
                .await
                .unwrap();
            let _ = begun_tx.send(()).await;
            let mut buf = [0u8; 64];
            loop {
                if stream.write_all(b"a").await.is_err() {
                    return started.elapsed();
                }
                match timeout(Duration::from_millis(100), stream.read(&mut buf)).await {
                    Ok(Ok(0) | Err(_)) => return started.elapsed(),
                    Ok(Ok(_)) => panic!("a response to unfinished headers"),
                    Err(_) if started.elapsed() > Duration::from_secs(8) => {
                        panic!("still open after 8 s of slow headers")
                    }
                    Err(_) => {}
                }
            }
        }));
    }
    // Meanwhile (every slow request begun: a condition, not a delay) a
    // well-behaved client is served promptly.
    drop(begun_tx);
    for _ in 0..30 {
        begun.recv().await.unwrap();
    }
    let started = Instant::now();
    assert_eq!(healthz_from(1, server.addr).await.map(|a| a.0), Some(200));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    for task in slow {
        let lasted = task.await.unwrap();
        assert!(
            lasted >= header - Duration::from_millis(100),
            "closed before the header timeout: {lasted:?}"
        );
    }
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_idle_connections_are_closed_after_the_idle_timeout() {
    let idle = Duration::from_secs(1);
    let server = start(settings(64, 1000, Duration::from_secs(30), idle)).await;
    // A connection that never sends anything.
    let mut silent = connect_from(4, server.addr).await;
    let opened = Instant::now();
    // A keep-alive connection after one request.
    let mut kept = connect_from(4, server.addr).await;
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&raw).contains("\"ok\"") {
        let n = timeout(Duration::from_secs(5), kept.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed before answering");
        raw.extend_from_slice(&buf[..n]);
    }
    let answered = Instant::now();
    assert_eq!(parse(&raw).map(|a| a.0), Some(200));
    let (_, closed) = until_closed(&mut kept, Duration::from_secs(5)).await;
    let closed = closed.expect("the idle keep-alive connection was closed");
    assert!(closed - answered >= idle - Duration::from_millis(100));
    let (rest, closed) = until_closed(&mut silent, Duration::from_secs(5)).await;
    let closed = closed.expect("the silent connection was closed");
    assert!(rest.is_empty());
    assert!(closed - opened >= idle - Duration::from_millis(100));
    stop(server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_requests_in_flight_and_closes_idle_ones() {
    let mut server = start(settings(
        64,
        1000,
        Duration::from_secs(30),
        Duration::from_secs(30),
    ))
    .await;
    let mut idle = connect_from(5, server.addr).await;
    // A request in flight: headers sent, the body not yet.
    let mut busy = connect_from(5, server.addr).await;
    let body = br#"{"code": "not-a-code"}"#;
    busy.write_all(
        format!(
            "POST /v1/scans HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    // The server answers `100 Continue` once the handler asks for the body:
    // from then on the request is in flight (no guessing with a sleep).
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        let n = timeout(Duration::from_secs(5), busy.read(&mut byte))
            .await
            .expect("100 Continue within 5 s")
            .unwrap();
        assert_eq!(n, 1, "closed before 100 Continue: {interim:?}");
        interim.push(byte[0]);
    }
    assert!(
        interim.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    let _ = server.stop.take().unwrap().send(());
    // The idle connection is closed at once; the request is still answered.
    let (rest, closed) = until_closed(&mut idle, Duration::from_secs(3)).await;
    assert!(
        closed.is_some() && rest.is_empty(),
        "idle closed on shutdown"
    );
    assert!(
        !server.task.is_finished(),
        "waits for the request in flight"
    );
    busy.write_all(body).await.unwrap();
    let (raw, closed) = until_closed(&mut busy, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "closed after its response");
    let (status, answer) = parse(&raw).expect("the request in flight was answered");
    assert!((400..500).contains(&status), "{status} {answer}");
    timeout(Duration::from_secs(5), server.task)
        .await
        .expect("serve returned")
        .unwrap()
        .unwrap();
    // No longer listening.
    assert!(TcpStream::connect(server.addr).await.is_err());
}

async fn stop(mut server: Running) {
    let _ = server.stop.take().unwrap().send(());
    timeout(Duration::from_secs(10), server.task)
        .await
        .expect("serve returned after shutdown")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_heads_over_the_limit_get_431() {
    let server = start(Settings::default()).await;
    for (size, expected) in [(30_000, 200), (hallmark_server::MAX_HEADER_BYTES + 1, 431)] {
        let mut stream = connect_from(6, server.addr).await;
        let request = format!(
            "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: {}\r\nConnection: close\r\n\r\n",
            "a".repeat(size)
        );
        let _ = stream.write_all(request.as_bytes()).await;
        let (raw, _) = until_closed(&mut stream, Duration::from_secs(5)).await;
        assert_eq!(parse(&raw).map(|a| a.0), Some(expected), "{size} bytes");
    }
    stop(server).await;
}

/// `--max-concurrency` bounds the requests in progress across all routes
/// together (it once gave each route its own limit: `Router::layer` applies
/// a layer to each route separately, and `ConcurrencyLimitLayer` makes a new
/// semaphore each time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_is_one_limit_for_all_routes() {
    let server = start(Settings {
        max_concurrency: 1,
        ..Settings::default()
    })
    .await;
    // A scan whose body is still arriving holds the one permit.
    let mut slow = connect_from(1, server.addr).await;
    slow.write_all(
        b"POST /v1/scans HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
          Content-Length: 20\r\nConnection: close\r\n\r\n{\"code\":",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Another route waits for it.
    let other = tokio::spawn(healthz_from(1, server.addr));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        !other.is_finished(),
        "a request on another route ran beside the one in progress"
    );
    // The slow request ends (its body is not JSON: 400), and the other one runs.
    slow.write_all(b"\"x\", \"l\": 1}").await.unwrap();
    let (raw, _) = until_closed(&mut slow, Duration::from_secs(10)).await;
    assert_eq!(parse(&raw).map(|(s, _)| s), Some(400), "{raw:?}");
    let answered = timeout(Duration::from_secs(10), other)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answered.map(|(s, _)| s), Some(200));
    stop(server).await;
}
