//! `hallmark token ...`

use hallmark_server::auth::{check_token_name, generate_token, hash_token};
use hallmark_server::storage::TokenScope;

use crate::{CliError, EXIT_OK, Result};

/// API tokens for the service's write endpoints (POST /v1/status, /v1/batches)
/// and for authenticated scanners (POST /v1/scans).
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Create(CreateArgs),
    List(ListArgs),
    Revoke(RevokeArgs),
}

/// Create a token and print it once: the database keeps only its BLAKE3 hash,
/// so a lost token cannot be shown again (revoke it and create another).
///
/// Scopes: status (revoke, decommission, reactivate), batches (register
/// signed batch manifests), scans (an authenticated scanner: its scan
/// locations count fully for clone detection; anonymous ones weigh less),
/// service (service and test stations: POST /v1/codes/CODE/events, and the
/// whole history) or reports (GET /v1/reports: reports of suspected fakes).
/// Clients send it as `Authorization: Bearer TOKEN`.
///
/// Example:
///   hallmark token create --db hallmark.db --name warehouse-ops --scope status
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    db: crate::cmd::serve::DbArg,
    /// Who holds the token (1 to 64 of A-Z a-z 0-9 . _ -); shown in the audit log.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// What the token may do.
    #[arg(long, value_name = "SCOPE", value_parser = ["status", "batches", "scans", "service", "reports"])]
    scope: String,
}

/// List tokens (names, scopes, creation and revocation times in RFC 3339
/// UTC; never the tokens).
///
/// Example:
///   hallmark token list --db hallmark.db
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    db: crate::cmd::serve::DbArg,
}

/// Revoke a token by name: the service refuses it from the next request on.
///
/// Example:
///   hallmark token revoke --db hallmark.db --name warehouse-ops
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    db: crate::cmd::serve::DbArg,
    /// The token's name.
    #[arg(long, value_name = "NAME")]
    name: String,
}

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Create(args) => create(args),
        Command::List(args) => list(args),
        Command::Revoke(args) => revoke(args),
    }
}

fn create(args: CreateArgs) -> Result<u8> {
    check_token_name(&args.name)?;
    let scope: TokenScope = args.scope.parse()?;
    let db = args.db.database()?;
    let storage = args.db.open()?;
    let token = generate_token()
        .map_err(|e| CliError::context("no randomness from the operating system", e))?;
    storage
        .create_token(
            &args.name,
            scope,
            &hash_token(&token),
            crate::cmd::now_secs()?,
        )
        .map_err(|e| CliError::context(db, e))?;
    println!("{token}");
    eprintln!(
        "created token {} (scope {}); it is shown only this once",
        args.name,
        scope.as_str()
    );
    Ok(EXIT_OK)
}

fn list(args: ListArgs) -> Result<u8> {
    let db = args.db.database()?;
    let storage = args.db.open()?;
    let tokens = storage.tokens().map_err(|e| CliError::context(db, e))?;
    for t in tokens {
        let state = match t.revoked {
            Some(at) => format!("revoked {}", hallmark::rfc3339(at)),
            None => "active".to_owned(),
        };
        println!(
            "{}\t{}\tcreated {}\t{state}",
            t.name,
            t.scope.as_str(),
            hallmark::rfc3339(t.created)
        );
    }
    Ok(EXIT_OK)
}

fn revoke(args: RevokeArgs) -> Result<u8> {
    let db = args.db.database()?;
    let storage = args.db.open()?;
    let done = storage
        .revoke_token(&args.name, crate::cmd::now_secs()?)
        .map_err(|e| CliError::context(db, e))?;
    if !done {
        return Err(CliError::new(format!(
            "no active token named {:?}",
            args.name
        )));
    }
    eprintln!("revoked token {}", args.name);
    Ok(EXIT_OK)
}
