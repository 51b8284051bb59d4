//! `hallmark serve`

use std::net::SocketAddr;
use std::path::PathBuf;

use hallmark_server::storage::Database;
use hallmark_server::{ServeOptions, Settings};

use crate::{CliError, EXIT_OK, Result};

/// Run the hallmark service: code lookup, scan reports with clone alerts, status
/// changes and signed revocation snapshots over HTTP (JSON under /v1).
///
/// The database is one SQLite file (WAL, every acknowledged write synced to
/// disk), created and migrated on start. Writes need a bearer token from
/// `hallmark token create`. Stops on Ctrl-C or SIGTERM after finishing the
/// requests in flight. Logs go to stderr ($HALLMARK_LOG, e.g. debug).
///
/// Endpoints: GET /healthz, GET /v1/codes/{code}, POST /v1/scans,
/// POST /v1/status (token scope status), POST /v1/batches (scope batches),
/// GET /v1/revocations/snapshot (needs --revocation-key).
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
    /// verifiers' trust stores must mark it as a revocation signer).
    #[arg(long, value_name = "FILE")]
    revocation_key: Option<PathBuf>,
    /// Raise clone-suspected when a code is seen in more than N distinct
    /// locations within --clone-window.
    #[arg(long, value_name = "N", default_value_t = 3)]
    clone_locations: u64,
    /// The clone-detection window: 90s, 30m, 12h, 7d (default 24h).
    #[arg(long, value_name = "AGE", value_parser = crate::cmd::parse_duration, default_value = "24h")]
    clone_window: u64,
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
            ..Settings::default()
        },
    })
    .map_err(|e| CliError::new(e.to_string()))?;
    Ok(EXIT_OK)
}
