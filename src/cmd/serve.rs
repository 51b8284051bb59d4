//! `hallmark serve`

use std::net::SocketAddr;
use std::path::PathBuf;

use hallmark_server::storage::Database;
use hallmark_server::{ServeOptions, Settings};

use crate::{CliError, EXIT_OK, Result};

/// Run the hallmark service: code lookup, scan reports with clone alerts, status
/// changes and signed revocation snapshots over HTTP (JSON under /v1).
///
/// The database is an SQLite file (the default, hallmark.db: WAL, every
/// acknowledged write synced to disk) or PostgreSQL (--db postgres://..., the
/// scale-out path: several replicas over one database); tables are created and
/// migrated on start. Writes need a bearer token from `hallmark token create`.
/// Stops on Ctrl-C or SIGTERM after finishing the requests in flight. Logs go
/// to stderr ($HALLMARK_LOG, e.g. debug); they never contain tokens.
///
/// Endpoints (described by GET /openapi.json): GET /healthz, GET /readyz,
/// GET /v1/keys, GET /v1/codes/{code}, POST /v1/scans,
/// POST /v1/status (token scope status), POST /v1/batches (scope batches),
/// GET /v1/revocations/snapshot (needs --revocation-key), GET /c/{code} (HTML).
/// Metrics: --metrics-listen.
///
/// Example:
///   hallmark serve --listen 127.0.0.1:8080 --trust trust.toml \
///       --db /var/lib/hallmark/hallmark.db --revocation-key keys/revocations.key
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The trust store (TOML) listing the issuer keys to accept.
    #[arg(long, value_name = "FILE")]
    trust: PathBuf,
    #[command(flatten)]
    db: DbArg,
    /// The key that signs revocation snapshots (a key file from `hallmark keygen`;
    /// verifiers' trust stores must mark it as a revocation signer). Use a key of
    /// its own, never an issuer key: a revocation signer's codes are refused.
    #[arg(long, value_name = "FILE")]
    revocation_key: Option<PathBuf>,
    /// Raise clone-suspected when a code is seen in more than N distinct
    /// locations within --clone-window.
    #[arg(long, value_name = "N", default_value_t = 3)]
    clone_locations: u64,
    /// The clone-detection window: 90s, 30m, 12h, 7d (default 24h).
    #[arg(long, value_name = "AGE", value_parser = crate::cmd::parse_duration, default_value = "24h")]
    clone_window: u64,
    /// Lookups, scans and code pages allowed per client address per minute;
    /// more get 429 with Retry-After. 0 turns the limit off (behind a proxy
    /// every client has the proxy's address: limit there instead).
    #[arg(long, value_name = "PER_MINUTE", default_value_t = 600)]
    rate_limit: u64,
    /// Requests a client may make at once before --rate-limit applies.
    #[arg(long, value_name = "N", default_value_t = 120)]
    rate_limit_burst: u64,
    /// Requests handled at once; more wait their turn.
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_concurrency: usize,
    /// Serve Prometheus metrics (GET /metrics) on this address, e.g.
    /// 127.0.0.1:9090. Keep it off the public network.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    passphrase: crate::passphrase::Source,
}

/// `--db`, shared by `serve` and `token`.
#[derive(Debug, clap::Args)]
pub(crate) struct DbArg {
    /// The database: an SQLite file path (created if missing; the embedded
    /// default) or a PostgreSQL URL, postgres://USER:PASSWORD@HOST:5432/DB
    /// (tables created on first use). Prefer $HALLMARK_DB for URLs with a
    /// password: command lines are visible to other local users.
    #[arg(
        long = "db",
        env = "HALLMARK_DB",
        value_name = "PATH|URL",
        default_value = "hallmark.db",
        hide_env_values = true,
        value_parser = |s: &str| Ok::<_, std::convert::Infallible>(Database::parse(s))
    )]
    pub(crate) db: Database,
}

impl DbArg {
    /// Opens the database, naming it (without its password) on failure.
    pub(crate) fn open(&self) -> Result<std::sync::Arc<dyn hallmark_server::Storage>> {
        self.db
            .open()
            .map_err(|e| CliError::new(format!("{}: {e}", self.db)))
    }
}

pub(crate) fn run(args: Args) -> Result<u8> {
    let trust = crate::cmd::load_trust(&args.trust)?;
    let revocation_key = args
        .revocation_key
        .as_deref()
        .map(|path| crate::cmd::key::open(path, &args.passphrase))
        .transpose()?;
    hallmark_server::init_tracing();
    hallmark_server::run(ServeOptions {
        listen: args.listen,
        trust,
        db: args.db.db,
        revocation_key,
        settings: Settings {
            clone_locations: args.clone_locations,
            clone_window: args.clone_window,
            rate_limit_per_minute: args.rate_limit,
            rate_limit_burst: args.rate_limit_burst,
            max_concurrency: args.max_concurrency,
            ..Settings::default()
        },
        metrics_listen: args.metrics_listen,
    })
    .map_err(|e| CliError::new(e.to_string()))?;
    Ok(EXIT_OK)
}
