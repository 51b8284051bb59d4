//! `hallmark trust ...`

use std::path::PathBuf;

use hallmark::{Date, TrustStore, TrustedKey};
use hallmark_issuer::PublicKeyFile;

use crate::cmd::parse_date;
use crate::{CliError, EXIT_OK, Result};

/// Manage a trust store: the issuer public keys a verifier accepts.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Add(AddArgs),
}

/// Add an issuer's public key (a NAME.pub file) to a trust store, creating the
/// store if it does not exist.
///
/// The validity dates bound the dates of manufacture the key may sign for
/// (inclusive). Existing entries and comments are kept; a key already in the
/// store is refused.
///
/// Example:
///   hallmark trust add --trust trust.toml keys/acme-2026.pub --valid-from 2026-01-01
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct AddArgs {
    /// The trust store file (TOML).
    #[arg(long, value_name = "FILE")]
    trust: PathBuf,
    /// The public key file written by `hallmark keygen`.
    #[arg(value_name = "KEY.pub")]
    public_key: PathBuf,
    /// First date of manufacture the key may sign for (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    valid_from: Option<Date>,
    /// Last date of manufacture the key may sign for (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    valid_until: Option<Date>,
    /// The key signs revocation snapshots (`hallmark verify --revocations`) and
    /// nothing else: codes it signed are refused (key-not-valid). Use a key of its
    /// own for this, never an issuer key (it is the key `hallmark serve` holds).
    #[arg(long)]
    revocation_signer: bool,
}

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Add(args) => add(args),
    }
}

fn add(args: AddArgs) -> Result<u8> {
    let public = PublicKeyFile::read(&args.public_key)?;
    let existing = if args.trust.exists() {
        Some(crate::read_text_bounded(
            &args.trust,
            hallmark::MAX_TRUST_STORE_LEN,
            "the trust store",
        )?)
    } else {
        None
    };
    let entry = TrustedKey::new(&public.name, public.key, args.valid_from, args.valid_until)?
        .with_revocation_signer(args.revocation_signer);
    let text = TrustStore::append_to_toml(existing.as_deref(), entry)
        .map_err(|e| CliError::context(args.trust.display(), e))?;
    crate::cmd::files::write_output(&args.trust, text.as_bytes(), true)?;
    eprintln!(
        "added key {} ({}) to {}",
        public.name,
        public.key.kid(),
        args.trust.display()
    );
    Ok(EXIT_OK)
}
