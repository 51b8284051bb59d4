//! A scratch PostgreSQL schema per test, for the tests that run against a real
//! server (shared by this crate's tests and the workspace's end-to-end tests).
//!
//! The server is `$HALLMARK_TEST_POSTGRES` (default
//! `postgres://hallmark:hallmark@127.0.0.1:5432/hallmark_test`, what `.ci/run`
//! sets up). When it is unreachable the test is skipped with the reason
//! printed, except under CI (`$CI` set), where that is a failure.

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

/// A fresh schema, or `None` (with the reason printed) when no server is
/// reachable outside CI.
pub fn scratch(test: &str) -> Option<Scratch> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let admin_url =
        std::env::var("HALLMARK_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned());
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
    let created = off_runtime(|| {
        let mut client = postgres::Client::connect(&admin_url, postgres::NoTls)?;
        client.batch_execute(&format!("CREATE SCHEMA {schema}"))
    });
    if let Err(e) = created {
        let shown = hallmark_server::Database::parse(&admin_url)
            .map_or_else(|e| e.to_string(), |db| db.to_string());
        let why = format!("PostgreSQL at {shown} is not usable: {e}");
        if std::env::var_os("CI").is_some() {
            panic!("{why} (CI is set: .ci/run starts one)");
        }
        eprintln!("skipping the PostgreSQL half of {test}: {why}");
        return None;
    }
    let sep = if admin_url.contains('?') { '&' } else { '?' };
    let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
    Some(Scratch {
        admin_url,
        schema,
        url,
    })
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
