//! `hallmark epcis export`

use std::path::PathBuf;

use hallmark_server::storage::Database;

use crate::cmd::files;
use crate::{CliError, EXIT_OK, Result};

/// EPCIS 2.0 events of the registry (see docs/EPCIS.md).
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Export(ExportArgs),
}

/// Export the registry's records since a time as an EPCIS 2.0 JSON-LD
/// document: a commissioning ObjectEvent per registered batch, an
/// AggregationEvent per stored aggregation manifest (packing or assembling)
/// and per assembly link (ADD, and DELETE when the link was replaced), an
/// ObjectEvent per status change; each event's eventID is its CBV 2.0 event
/// hash. From the service (--server, token in --token-file) or straight from
/// its database (--db: an SQLite path or a postgres:// URL; prefer
/// $HALLMARK_DB for a URL with a password). The file is written atomically;
/// a summary (events by type) goes to stderr.
///
/// Examples:
///   hallmark epcis export --server https://registry.example --token-file ops.token \
///       --since 2026-11-01T00:00:00Z --out november.jsonld
///   hallmark epcis export --db /var/lib/hallmark/hallmark.db --since 0 --out all.jsonld
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ExportArgs {
    /// The service's base URL.
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "db",
        required_unless_present = "db"
    )]
    server: Option<String>,
    /// A file holding the API token (for --server).
    #[arg(long, value_name = "FILE", requires = "server")]
    token_file: Option<PathBuf>,
    /// The service's database instead of the service: an SQLite file or a
    /// postgres:// URL.
    #[arg(
        long,
        value_name = "PATH|URL",
        env = "HALLMARK_DB",
        hide_env_values = true
    )]
    db: Option<String>,
    /// Records at or after this time: RFC 3339 UTC (2026-11-20T10:00:00Z) or
    /// seconds since 1970.
    #[arg(long, value_name = "TIME", value_parser = crate::cmd::parse_time)]
    since: u64,
    /// The output file (JSON-LD).
    #[arg(long, value_name = "FILE.jsonld")]
    out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    force: bool,
}

/// Largest document accepted from the service.
const MAX_DOCUMENT: u64 = 1 << 30;

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Export(args) => export(args),
    }
}

fn export(args: ExportArgs) -> Result<u8> {
    let doc = match (&args.server, &args.db) {
        (Some(server), _) => from_server(server, args.token_file.as_deref(), args.since)?,
        (None, Some(db)) => from_db(db, args.since)?,
        (None, None) => return Err(CliError::new("give --server URL or --db PATH|URL")),
    };
    let bytes = serde_json::to_vec_pretty(&doc)
        .map_err(|e| CliError::context("encoding the EPCIS document", e))?;
    files::write_output(&args.out, &bytes, args.force)?;
    let counts = hallmark_epcis::event_counts(&doc);
    let total: usize = counts.iter().map(|(_, n)| n).sum();
    let by_type: Vec<String> = counts.iter().map(|(t, n)| format!("{n} {t}")).collect();
    eprintln!(
        "{}: {} ({})",
        args.out.display(),
        hallmark::plural(total, "event", "events"),
        if by_type.is_empty() {
            "none".to_owned()
        } else {
            by_type.join(", ")
        }
    );
    Ok(EXIT_OK)
}

fn from_server(
    server: &str,
    token_file: Option<&std::path::Path>,
    since: u64,
) -> Result<serde_json::Value> {
    let token = match token_file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| CliError::context(path.display(), e))?;
            let token = text.trim().to_owned();
            if token.is_empty() {
                return Err(CliError::new(format!(
                    "{}: the token file is empty",
                    path.display()
                )));
            }
            Some(token)
        }
        None => hallmark_client::token(None)?,
    };
    let client = crate::service::connect(server, None)?;
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let reply = client.get(
        &format!("/v1/epcis/events?since={since}"),
        &headers,
        MAX_DOCUMENT,
    )?;
    if !reply.is_success() {
        return Err(CliError::new(format!(
            "{server}: {}",
            reply.error_message()
        )));
    }
    let doc = reply.json()?;
    if doc.get("type").and_then(serde_json::Value::as_str) != Some("EPCISDocument") {
        return Err(CliError::new(format!(
            "{server}: the answer is not an EPCISDocument"
        )));
    }
    Ok(doc)
}

fn from_db(db: &str, since: u64) -> Result<serde_json::Value> {
    let db = Database::parse(db).map_err(|e| CliError::context("--db (or $HALLMARK_DB)", e))?;
    let storage = db.open().map_err(|e| CliError::context(&db, e))?;
    let input = storage
        .epcis_records(since)
        .map_err(|e| CliError::context(&db, e))?;
    Ok(hallmark_epcis::document(&input, crate::cmd::now_secs()?))
}
