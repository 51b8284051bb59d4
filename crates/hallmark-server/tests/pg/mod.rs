//! A scratch PostgreSQL schema per test, for the tests that run against a real
//! server (shared by this crate's tests and the workspace's end-to-end tests).
//!
//! The server is `$HALLMARK_TEST_POSTGRES` (default
//! `postgres://hallmark:hallmark@127.0.0.1:5432/hallmark_test`, what `.ci/run`
//! sets up). The server is probed once per test binary. When it is not usable
//! (connection refused, unknown role, ...), every PostgreSQL test is skipped,
//! except under CI (`$CI` set), where that is a failure.
//!
//! libtest has no "skipped" outcome and no end-of-run hook, so a skipped test
//! still shows `ok`. To keep skips visible, each one writes a line straight to
//! stderr (not captured by the test harness, so `cargo test` shows it), with
//! the real cause and the running count:
//!
//! ```text
//! SKIPPED on_postgres::tokens_hash_only_and_revocable: 3 PostgreSQL tests skipped: connection refused to 127.0.0.1:5432 (HALLMARK_TEST_POSTGRES unset; tried the default)
//! ```
//!
//! The last such line of a test binary carries its total.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The default test server (what `.ci/run` creates).
pub const DEFAULT_URL: &str = "postgres://hallmark:hallmark@127.0.0.1:5432/hallmark_test";

/// A schema of its own on the test server, dropped with everything in it when
/// this is dropped.
pub struct Scratch {
    admin_url: String,
    schema: String,
    /// A URL whose connections use only this schema (`search_path`).
    pub url: String,
}

/// Runs `f` on a thread of its own: the blocking PostgreSQL client must not
/// run on an async runtime's thread.
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// A fresh schema, or `None` (with a `SKIPPED` line written, see the module
/// documentation) when no server is usable outside CI.
pub fn scratch(test: &str) -> Option<Scratch> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let admin_url = admin_url();
    if let Some(cause) = unusable() {
        skip(test, cause);
        return None;
    }
    let schema = format!(
        "hm_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        test.chars()
            .filter(char::is_ascii_alphanumeric)
            .take(20)
            .collect::<String>()
            .to_ascii_lowercase()
    );
    // The server answered the probe: a failure now is a real one.
    off_runtime(|| {
        let mut client = postgres::Client::connect(&admin_url, postgres::NoTls)?;
        client.batch_execute(&format!("CREATE SCHEMA {schema}"))
    })
    .unwrap_or_else(|e| panic!("creating schema {schema}: {}", cause(&e, &admin_url)));
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
    Some(Scratch {
        admin_url,
        schema,
        url,
    })
}

/// `$HALLMARK_TEST_POSTGRES`, or the default.
fn admin_url() -> String {
    std::env::var("HALLMARK_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Why the test server is not usable, from one probe per test binary; `None`
/// when it is. Under CI an unusable server is a failure.
fn unusable() -> Option<&'static str> {
    static PROBE: OnceLock<Option<String>> = OnceLock::new();
    let probed = PROBE.get_or_init(|| {
        let url = admin_url();
        let answer = off_runtime(|| {
            postgres::Client::connect(&url, postgres::NoTls)?.batch_execute("SELECT 1")
        });
        let mut why = cause(&answer.err()?, &url);
        if std::env::var_os("HALLMARK_TEST_POSTGRES").is_none() {
            why.push_str(" (HALLMARK_TEST_POSTGRES unset; tried the default)");
        }
        Some(why)
    });
    let why = probed.as_deref()?;
    if std::env::var_os("CI").is_some() {
        panic!("PostgreSQL is not usable: {why} (CI is set: .ci/run starts one)");
    }
    Some(why)
}

/// Counts a skip and writes its line to stderr directly: the harness captures
/// only `print!`/`eprint!`, so `cargo test` shows this line. It starts with a
/// newline, as other tests' results may be half written ("test x ... ").
fn skip(test: &str, cause: &str) {
    static SKIPPED: AtomicU64 = AtomicU64::new(0);
    let n = SKIPPED.fetch_add(1, Ordering::Relaxed) + 1;
    // libtest names a test's thread after its path (`on_postgres::name`);
    // with --test-threads=1 tests run on `main`.
    let test = std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .map_or_else(|| test.to_owned(), str::to_owned);
    let tests = if n == 1 { "test" } else { "tests" };
    let _ = std::io::stderr().lock().write_all(
        format!("\nSKIPPED {test}: {n} PostgreSQL {tests} skipped: {cause}\n").as_bytes(),
    );
}

/// The real cause of a client error, which `postgres::Error`'s own text hides
/// ("db error", "error connecting to server"): the server's message (e.g.
/// `role "x" does not exist`), or the I/O error with the address tried.
fn cause(e: &postgres::Error, url: &str) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_owned();
    }
    let address = address(url);
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => format!("connection refused to {address}"),
                _ => format!("{io} (connecting to {address})"),
            };
        }
        source = s.source();
    }
    match std::error::Error::source(e) {
        Some(s) => format!("{e}: {s} ({address})"),
        None => format!("{e} ({address})"),
    }
}

/// HOST:PORT of a `postgres://` URL (port 5432 when not given); never the
/// password.
fn address(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let has_port = host_port
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if has_port {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (url, schema) = (&self.admin_url, &self.schema);
        let _ = off_runtime(|| {
            postgres::Client::connect(url, postgres::NoTls)?
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        });
    }
}
