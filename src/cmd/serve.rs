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
/// Stops on Ctrl-C or SIGTERM after finishing the requests in flight.
///
/// Logs go to stderr (--log-format text or json; $HALLMARK_LOG filters, e.g.
/// warn or debug): at the default level, info, one access line per request
/// (method, route pattern such as /c/{code}, status, milliseconds). They never
/// contain tokens, codes, claim codes, owner references or query strings.
///
/// Every flag can also be set by the environment variable named with it below
/// (HALLMARK_LISTEN for --listen, and so on), e.g. in a systemd
/// EnvironmentFile (packaging/hallmark.env); a flag on the command line wins.
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
    /// Address and port to listen on: an IP address or a host name
    /// (localhost:8080; resolved, and the first of its addresses that can be
    /// bound is used: the `listening on` line names it).
    #[arg(long, env = "HALLMARK_LISTEN", value_name = "HOST:PORT", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: String,
    /// The trust store (TOML) listing the issuer keys to accept.
    #[arg(long, env = "HALLMARK_TRUST", value_name = "FILE")]
    trust: PathBuf,
    #[command(flatten)]
    db: DbArg,
    /// The key that signs revocation snapshots (a key file from `hallmark keygen`;
    /// verifiers' trust stores must mark it as a revocation signer). Use a key of
    /// its own, never an issuer key: a revocation signer's codes are refused.
    #[arg(long, env = "HALLMARK_REVOCATION_KEY", value_name = "FILE")]
    revocation_key: Option<PathBuf>,
    /// The --revocation-key's own line certificate (from `hallmark cert
    /// issue`, usage registry): GET /v1/trust/bundle carries it first, so
    /// verifiers need only the root key.
    #[arg(
        long,
        env = "HALLMARK_REGISTRY_CERT",
        value_name = "FILE",
        requires = "revocation_key"
    )]
    registry_cert: Option<PathBuf>,
    /// How the consumer page (/c/CODE) describes products: a TOML file of
    /// [[product]] entries keyed by part-number pattern (`DRN-*`) or GTIN,
    /// with name, description, image, link and an optional registration URL
    /// (docs/PAGE.md). Without it the page shows the code's own facts only.
    #[arg(long, env = "HALLMARK_PRODUCTS", value_name = "FILE")]
    products: Option<PathBuf>,
    /// The claim key (`hallmark claim-key new`) with which warranty
    /// registrations (POST /v1/registrations, the page's form) check claim
    /// codes. Without it registrations are answered 503.
    #[arg(long, env = "HALLMARK_CLAIM_KEY", value_name = "FILE")]
    claim_key: Option<PathBuf>,
    /// How long a transfer code (POST /v1/transfers) stays valid (e.g. 7d,
    /// 48h).
    #[arg(long, env = "HALLMARK_TRANSFER_TTL", value_name = "DURATION", default_value = "7d", value_parser = parse_timeout)]
    transfer_ttl: u64,
    /// Raise clone-suspected when authenticated scanners (a token of scope
    /// scans) see a code in more than N distinct locations within
    /// --clone-window.
    #[arg(
        long,
        env = "HALLMARK_CLONE_LOCATIONS",
        value_name = "N",
        default_value_t = 3
    )]
    clone_locations: u64,
    /// Raise clone-suspected from anonymous scans (no token) only when a code
    /// is reported from more than N distinct locations within --clone-window,
    /// every scanner's counted: an anonymous location is whatever the client
    /// typed.
    #[arg(
        long,
        env = "HALLMARK_ANONYMOUS_CLONE_LOCATIONS",
        value_name = "N",
        default_value_t = 10
    )]
    anonymous_clone_locations: u64,
    /// Forget a code's scans, and each of its locations, this long after they
    /// were last seen: 90d, 52w, 400d (default). 0 keeps them forever.
    #[arg(long, env = "HALLMARK_SCAN_RETENTION", value_name = "AGE", value_parser = crate::cmd::parse_duration, default_value = "400d")]
    scan_retention: u64,
    /// The clone-detection window: 90s, 30m, 12h, 7d (default 24h).
    #[arg(long, env = "HALLMARK_CLONE_WINDOW", value_name = "AGE", value_parser = crate::cmd::parse_duration, default_value = "24h")]
    clone_window: u64,
    /// Lookups, scans and code pages allowed per client (an IPv4 address or
    /// an IPv6 /64) per minute; more get 429 with Retry-After. 0 turns the
    /// limit off (behind a proxy every client has the proxy's address: limit
    /// there instead).
    #[arg(
        long,
        env = "HALLMARK_RATE_LIMIT",
        value_name = "PER_MINUTE",
        default_value_t = 600
    )]
    rate_limit: u64,
    /// Requests a client may make at once before --rate-limit applies.
    #[arg(
        long,
        env = "HALLMARK_RATE_LIMIT_BURST",
        value_name = "N",
        default_value_t = 120
    )]
    rate_limit_burst: u64,
    /// Requests handled at once; more wait their turn.
    #[arg(
        long,
        env = "HALLMARK_MAX_CONCURRENCY",
        value_name = "N",
        default_value_t = 512
    )]
    max_concurrency: usize,
    /// Once a request's first byte arrives, its headers must be complete
    /// within this time, or the connection is closed (slow clients, slowloris).
    #[arg(long, env = "HALLMARK_HEADER_TIMEOUT", value_name = "AGE", value_parser = parse_timeout, default_value = "10s")]
    header_timeout: u64,
    /// A connection with no request in progress that receives nothing for
    /// this long is closed (new connections that send nothing, keep-alive
    /// connections between requests, clients that stopped reading).
    #[arg(long, env = "HALLMARK_IDLE_TIMEOUT", value_name = "AGE", value_parser = parse_timeout, default_value = "60s")]
    idle_timeout: u64,
    /// Connections open at once, in total. At the limit, connections without
    /// a request in progress are closed to make room (at most once a second);
    /// otherwise more get 503. Keep it below the open-file limit (ulimit -n).
    #[arg(long, env = "HALLMARK_MAX_CONNECTIONS", value_name = "N", value_parser = clap::value_parser!(u64).range(1..), default_value_t = 4096)]
    max_connections: u64,
    /// Connections open at once from one client address (an IPv4 address, or
    /// an IPv6 /64); more get 503 and are closed. Behind a proxy every client
    /// has the proxy's address: raise it, and limit at the proxy.
    #[arg(long, env = "HALLMARK_MAX_CONNECTIONS_PER_CLIENT", value_name = "N", value_parser = clap::value_parser!(u64).range(1..), default_value_t = 64)]
    max_connections_per_client: u64,
    /// Serve Prometheus metrics (GET /metrics) on this address or host name,
    /// e.g. 127.0.0.1:9090. Keep it off the public network.
    #[arg(long, env = "HALLMARK_METRICS_LISTEN", value_name = "HOST:PORT", value_parser = parse_listen)]
    metrics_listen: Option<String>,
    /// How log lines on stderr look: text (one readable line per event) or
    /// json (one JSON object per line: timestamp, level, target, message and
    /// the event's fields). $HALLMARK_LOG filters them either way.
    #[arg(long, env = "HALLMARK_LOG_FORMAT", value_name = "FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Read the --revocation-key's passphrase from the first line of FILE.
    /// Otherwise it comes from $HALLMARK_PASSPHRASE, or a prompt on the terminal.
    #[arg(long, env = "HALLMARK_PASSPHRASE_FILE", value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// `--listen`, `--metrics-listen`: `HOST:PORT` (an IP address, `[v6]:PORT`,
/// or a host name), resolved when the service starts.
fn parse_listen(s: &str) -> std::result::Result<String, String> {
    if s.parse::<SocketAddr>().is_ok() {
        return Ok(s.to_owned());
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(s.to_owned()),
        _ => Err(format!(
            "{s:?}: expected HOST:PORT (127.0.0.1:8080, [::1]:8080, localhost:8080)"
        )),
    }
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
    init_tracing(args.log_format);
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
        .map(|path| {
            let passphrase = crate::passphrase::Source {
                passphrase_file: args.passphrase_file.clone(),
            };
            crate::cmd::key::open(path, &passphrase)
        })
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
                let warning = format!(
                    "{} is a published TEST-ONLY claim key; anyone can register units with it",
                    path.display()
                );
                match args.log_format {
                    LogFormat::Text => eprintln!("hallmark: warning: {warning}"),
                    LogFormat::Json => tracing::warn!("{warning}"),
                }
            }
            Ok::<_, CliError>(key)
        })
        .transpose()?;
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
    let listen = Listen {
        main: args.listen,
        metrics: args.metrics_listen,
        format: args.log_format,
    };
    runtime.block_on(serve(listen, &db, state))?;
    Ok(EXIT_OK)
}

/// Where to listen, and how to announce it.
struct Listen {
    main: String,
    metrics: Option<String>,
    format: LogFormat,
}

impl Listen {
    /// `listening on http://ADDR` and the like: the lines scripts and tests
    /// wait for, on stderr as they are (text) or as the message of a JSON
    /// log line (json).
    fn announce(&self, line: std::fmt::Arguments<'_>) {
        match self.format {
            LogFormat::Text => eprintln!("{line}"),
            LogFormat::Json => tracing::info!("{line}"),
        }
    }
}

/// Resolves `given` (`HOST:PORT`) and binds the first of its addresses that
/// can be bound; errors name the flag and the address.
async fn bind(flag: &str, given: &str) -> Result<(SocketAddr, tokio::net::TcpListener)> {
    let literal = given.parse::<SocketAddr>().ok();
    let addrs: Vec<SocketAddr> = match literal {
        Some(addr) => vec![addr],
        None => tokio::net::lookup_host(given)
            .await
            .map_err(|e| CliError::about(format!("{flag} {given}: resolving the host name"), e))?
            .collect(),
    };
    let mut failure = None;
    for addr in &addrs {
        match tokio::net::TcpListener::bind(addr)
            .await
            .and_then(|l| Ok((l.local_addr()?, l)))
        {
            Ok((bound, listener)) => {
                if literal.is_none() {
                    let all: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
                    tracing::info!(
                        "{flag} {given}: resolved to {}; bound {bound}",
                        all.join(", ")
                    );
                }
                return Ok((bound, listener));
            }
            Err(e) => failure = Some((*addr, e)),
        }
    }
    Err(match failure {
        Some((addr, e)) if e.kind() == std::io::ErrorKind::AddrInUse => CliError::new(format!(
            "{flag} {given}: address {addr} is already in use (another process listens there: \
             stop it or choose another address)"
        )),
        Some((addr, e)) => CliError::about(format!("{flag} {given}: listening on {addr}"), e),
        None => CliError::new(format!(
            "{flag} {given}: the host name resolved to no address"
        )),
    })
}

/// Binds, announces the addresses, and serves until Ctrl-C or SIGTERM.
async fn serve(listen: Listen, db: &Database, state: AppState) -> Result<()> {
    let (addr, listener) = bind("--listen", &listen.main).await?;
    // Installed before the address is announced: a SIGTERM sent right after
    // the line is seen stops the service gracefully.
    let shutdown = hallmark_server::shutdown_signal();
    let metrics = match &listen.metrics {
        Some(given) => {
            let (metrics_addr, metrics_listener) = bind("--metrics-listen", given).await?;
            let metrics_shutdown = hallmark_server::shutdown_signal();
            listen.announce(format_args!("metrics on http://{metrics_addr}/metrics"));
            Some(tokio::spawn(hallmark_server::serve_metrics(
                metrics_listener,
                state.clone(),
                metrics_shutdown,
            )))
        }
        None => None,
    };
    // The line scripts and tests wait for (the port, when --listen ended in :0).
    listen.announce(format_args!("listening on http://{addr}"));
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        "hallmark serve: database {db}"
    );
    let served = hallmark_server::serve(listener, state, shutdown).await;
    if let Some(task) = metrics {
        task.abort();
    }
    served.map_err(|e| CliError::context(format!("serving on {addr}"), e))
}

/// Logs to stderr in `format`, filtered by `$HALLMARK_LOG` (default `info`).
/// Tokens, codes and claim codes are never logged: requests are logged by
/// method and route pattern only (`hallmark_server`'s access log).
fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HALLMARK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_addresses_and_host_names_with_a_port() {
        for ok in [
            "127.0.0.1:8080",
            "[::1]:0",
            "localhost:8080",
            "hallmark.example:443",
        ] {
            assert_eq!(parse_listen(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "localhost",
            ":8080",
            "127.0.0.1:http",
            "localhost:99999",
            "",
        ] {
            assert!(parse_listen(bad).is_err(), "{bad}");
        }
    }
}
