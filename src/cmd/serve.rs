//! `hallmark serve`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hallmark_server::storage::{Database, DatabaseError};
use hallmark_server::{AppState, Setting, Settings};

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
/// Once listening, prints `listening on http://ADDR` to stderr (with
/// --metrics-listen, `metrics on http://ADDR/metrics` first): with
/// --listen 127.0.0.1:0 the system picks a free port, named there.
///
/// Endpoints (described by GET /openapi.json): GET /healthz, GET /readyz,
/// GET /v1/keys, GET /v1/codes/{code}, POST /v1/scans,
/// POST /v1/status (token scope status), POST /v1/batches (scope batches),
/// GET /v1/revocations/snapshot and GET /v1/trust/bundle (need --revocation-key),
/// GET /c/{code} (HTML). With --revocation-key, POST /v1/batches answers with a
/// signed receipt.
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
    /// The --revocation-key's own line certificate (from `hallmark cert
    /// issue`, usage registry): GET /v1/trust/bundle carries it first, so
    /// verifiers need only the root key.
    #[arg(long, value_name = "FILE", requires = "revocation_key")]
    registry_cert: Option<PathBuf>,
    /// How the consumer page (/c/CODE) describes products: a TOML file of
    /// [[product]] entries keyed by part-number pattern (`DRN-*`) or GTIN,
    /// with name, description, image, link and an optional registration URL
    /// (docs/PAGE.md). Without it the page shows the code's own facts only.
    #[arg(long, value_name = "FILE")]
    products: Option<PathBuf>,
    /// The claim key (`hallmark claim-key new`) with which warranty
    /// registrations (POST /v1/registrations, the page's form) check claim
    /// codes. Without it registrations are answered 503.
    #[arg(long, value_name = "FILE")]
    claim_key: Option<PathBuf>,
    /// How long a transfer code (POST /v1/transfers) stays valid (e.g. 7d,
    /// 48h).
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_timeout)]
    transfer_ttl: u64,
    /// Raise clone-suspected when authenticated scanners (a token of scope
    /// scans) see a code in more than N distinct locations within
    /// --clone-window.
    #[arg(long, value_name = "N", default_value_t = 3)]
    clone_locations: u64,
    /// Raise clone-suspected from anonymous scans (no token) only when a code
    /// is reported from more than N distinct locations within --clone-window,
    /// every scanner's counted: an anonymous location is whatever the client
    /// typed.
    #[arg(long, value_name = "N", default_value_t = 10)]
    anonymous_clone_locations: u64,
    /// Forget a code's scans, and each of its locations, this long after they
    /// were last seen: 90d, 52w, 400d (default). 0 keeps them forever.
    #[arg(long, value_name = "AGE", value_parser = crate::cmd::parse_duration, default_value = "400d")]
    scan_retention: u64,
    /// The clone-detection window: 90s, 30m, 12h, 7d (default 24h).
    #[arg(long, value_name = "AGE", value_parser = crate::cmd::parse_duration, default_value = "24h")]
    clone_window: u64,
    /// Lookups, scans and code pages allowed per client (an IPv4 address or
    /// an IPv6 /64) per minute; more get 429 with Retry-After. 0 turns the
    /// limit off (behind a proxy every client has the proxy's address: limit
    /// there instead).
    #[arg(long, value_name = "PER_MINUTE", default_value_t = 600)]
    rate_limit: u64,
    /// Requests a client may make at once before --rate-limit applies.
    #[arg(long, value_name = "N", default_value_t = 120)]
    rate_limit_burst: u64,
    /// Requests handled at once; more wait their turn.
    #[arg(long, value_name = "N", default_value_t = 512)]
    max_concurrency: usize,
    /// Once a request's first byte arrives, its headers must be complete
    /// within this time, or the connection is closed (slow clients, slowloris).
    #[arg(long, value_name = "AGE", value_parser = parse_timeout, default_value = "10s")]
    header_timeout: u64,
    /// A connection with no request in progress that receives nothing for
    /// this long is closed (new connections that send nothing, keep-alive
    /// connections between requests, clients that stopped reading).
    #[arg(long, value_name = "AGE", value_parser = parse_timeout, default_value = "60s")]
    idle_timeout: u64,
    /// Connections open at once, in total. At the limit, connections without
    /// a request in progress are closed to make room (at most once a second);
    /// otherwise more get 503. Keep it below the open-file limit (ulimit -n).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), default_value_t = 4096)]
    max_connections: u64,
    /// Connections open at once from one client address (an IPv4 address, or
    /// an IPv6 /64); more get 503 and are closed. Behind a proxy every client
    /// has the proxy's address: raise it, and limit at the proxy.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), default_value_t = 64)]
    max_connections_per_client: u64,
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
    /// default; sqlite:PATH also works) or a PostgreSQL URL,
    /// postgres://USER:PASSWORD@HOST:5432/DB (tables created on first use).
    /// libpq key=value strings are refused. Prefer $HALLMARK_DB for URLs with
    /// a password: command lines are visible to other local users.
    #[arg(
        long = "db",
        env = "HALLMARK_DB",
        value_name = "PATH|URL",
        default_value = "hallmark.db",
        hide_env_values = true,
        // Never fails here: clap would repeat the value (and any password in
        // it) in its message. A refusal is reported when the database is used.
        value_parser = |s: &str| Ok::<_, std::convert::Infallible>(DbValue(Database::parse(s)))
    )]
    db: DbValue,
}

/// A parsed `--db` value, or why it was refused (never the value itself).
#[derive(Clone)]
struct DbValue(std::result::Result<Database, DatabaseError>);

/// Shows the database without its password, or the refusal.
impl std::fmt::Debug for DbValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Ok(db) => write!(f, "{db}"),
            Err(e) => write!(f, "refused --db ({e})"),
        }
    }
}

impl DbArg {
    /// The database, or a clear error naming what was wrong with `--db`.
    pub(crate) fn database(&self) -> Result<&Database> {
        self.db
            .0
            .as_ref()
            .map_err(|e| CliError::context("--db (or $HALLMARK_DB)", e.clone()))
    }

    /// Opens the database, naming it (without its password) on failure.
    pub(crate) fn open(&self) -> Result<std::sync::Arc<dyn hallmark_server::Storage>> {
        let db = self.database()?;
        db.open().map_err(|e| CliError::context(db, e))
    }
}

/// A timeout flag: a duration of at least one second.
fn parse_timeout(s: &str) -> std::result::Result<u64, String> {
    match crate::cmd::parse_duration(s)? {
        0 => Err(format!("{s:?}: a timeout must be at least 1s")),
        n => Ok(n),
    }
}

pub(crate) fn run(args: Args) -> Result<u8> {
    let db = args.db.database()?.clone();
    let settings = Settings {
        clone_locations: args.clone_locations,
        clone_window: args.clone_window,
        scans: hallmark_server::storage::ScanPolicy {
            anonymous_clone_locations: args.anonymous_clone_locations,
            retention: args.scan_retention,
        },
        rate_limit_per_minute: args.rate_limit,
        rate_limit_burst: args.rate_limit_burst,
        max_concurrency: args.max_concurrency,
        header_timeout: Duration::from_secs(args.header_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        max_connections_per_client: usize::try_from(args.max_connections_per_client)
            .unwrap_or(usize::MAX),
        ..Settings::default()
    };
    settings.check().map_err(|e| {
        let flag = match e.setting() {
            Setting::CloneLocations => "--clone-locations",
            Setting::AnonymousCloneLocations => "--anonymous-clone-locations",
            Setting::HeaderTimeout => "--header-timeout",
            Setting::IdleTimeout => "--idle-timeout",
            Setting::MaxConnections => "--max-connections",
            _ => "--max-connections-per-client",
        };
        CliError::context(flag, e)
    })?;
    let trust = crate::cmd::load_trust(&args.trust)?;
    let revocation_key = args
        .revocation_key
        .as_deref()
        .map(|path| crate::cmd::key::open(path, &args.passphrase))
        .transpose()?;
    // Every file a flag names is read before the database is opened (or
    // created) and long before listening: a bad one stops here.
    let products = args
        .products
        .as_deref()
        .map(|path| {
            hallmark_server::products::Catalogue::load(path)
                .map_err(|e| CliError::context("--products", e))
        })
        .transpose()?;
    let claim_key = args
        .claim_key
        .as_deref()
        .map(|path| {
            let key = hallmark_issuer::claim::ClaimKey::read(path)
                .map_err(|e| CliError::context(format!("--claim-key {}", path.display()), e))?;
            if key.is_test_only() {
                eprintln!(
                    "hallmark: warning: {} is a published TEST-ONLY claim key; anyone can register units with it",
                    path.display()
                );
            }
            Ok::<_, CliError>(key)
        })
        .transpose()?;
    init_tracing();
    let storage = args.db.open()?;
    if let Some(key) = &revocation_key {
        let marked = trust
            .get(key.kid())
            .is_some_and(|k| k.is_revocation_signer());
        if !marked {
            tracing::warn!(
                "the revocation key {} ({}) is not a revocation signer in this trust store; \
                 verifiers need it marked (hallmark trust add --revocation-signer)",
                key.name(),
                key.kid()
            );
        }
    }
    let state = AppState::new(trust, storage, revocation_key, settings);
    if let Some(key) = claim_key {
        // A fresh state: the registrations are not set yet.
        let _ = state.set_registrations(key, args.transfer_ttl);
    }
    if let Some(products) = products {
        state.set_products(products);
    }
    if let Some(path) = &args.registry_cert {
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::context(format!("reading {}", path.display()), e))?;
        state
            .set_registry_certificate(bytes)
            .map_err(|e| CliError::context(format!("--registry-cert {}", path.display()), e))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::context("starting the runtime", e))?;
    runtime.block_on(serve(args.listen, args.metrics_listen, &db, state))?;
    Ok(EXIT_OK)
}

/// Binds, announces the addresses, and serves until Ctrl-C or SIGTERM.
async fn serve(
    listen: SocketAddr,
    metrics_listen: Option<SocketAddr>,
    db: &Database,
    state: AppState,
) -> Result<()> {
    let bind = |addr: SocketAddr| async move {
        tokio::net::TcpListener::bind(addr)
            .await
            .and_then(|l| Ok((l.local_addr()?, l)))
            .map_err(|e| CliError::context(format!("listening on {addr}"), e))
    };
    let (addr, listener) = bind(listen).await?;
    // Installed before the address is announced: a SIGTERM sent right after
    // the line is seen stops the service gracefully.
    let shutdown = hallmark_server::shutdown_signal();
    let metrics = match metrics_listen {
        Some(metrics_addr) => {
            let (metrics_addr, metrics_listener) = bind(metrics_addr).await?;
            let metrics_shutdown = hallmark_server::shutdown_signal();
            eprintln!("metrics on http://{metrics_addr}/metrics");
            Some(tokio::spawn(hallmark_server::serve_metrics(
                metrics_listener,
                state.clone(),
                metrics_shutdown,
            )))
        }
        None => None,
    };
    // The line scripts and tests wait for (the port, when --listen ended in :0).
    eprintln!("listening on http://{addr}");
    tracing::info!("hallmark serve: database {db}");
    let served = hallmark_server::serve(listener, state, shutdown).await;
    if let Some(task) = metrics {
        task.abort();
    }
    served.map_err(|e| CliError::context(format!("serving on {addr}"), e))
}

/// Logs to stderr, filtered by `$HALLMARK_LOG` (default `info`). Tokens are
/// never logged: requests are logged by method and path only.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HALLMARK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
