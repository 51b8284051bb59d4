//! `hallmark trust ...`

use std::path::PathBuf;

use hallmark::{Date, TrustStore, TrustedKey};
use hallmark_issuer::PublicKeyFile;

use crate::cmd::parse_date;
use crate::{CliError, EXIT_OK, Result};

/// Manage a trust store (the issuer keys and roots a verifier accepts) and
/// trust bundles.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Add(AddArgs),
    #[command(subcommand)]
    Bundle(crate::cmd::bundle::Command),
    Receipt(crate::cmd::bundle::ReceiptArgs),

    Pull(PullArgs),
}

/// Download the service's current signed trust bundle (GET /v1/trust/bundle):
/// line certificates, batch manifests with their registry receipts,
/// revocations and key compromises, for offline verifiers.
///
/// The file is replaced atomically. The bundle's ETag is kept beside it in
/// FILE.etag and sent back on the next pull: when nothing changed the service
/// answers 304 and FILE stays as it is. With --trust (a trust store naming
/// the root keys is enough) the bundle is verified and its sequence checked
/// against the state directory `hallmark verify` uses (one sequence per
/// signer, shared with revocation snapshots) before it is written: a bundle
/// altered in any byte, or older than one seen (a rollback), is refused with
/// exit status 2 and FILE is kept.
///
/// Example:
///   hallmark trust pull --server http://127.0.0.1:8080 --out bundle.bin --trust roots.toml
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct PullArgs {
    /// The service's base URL (`hallmark serve`).
    #[arg(long, value_name = "URL")]
    server: String,
    /// Where to write the bundle (its ETag goes to FILE.etag).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Verify the bundle against this trust store (its roots), and its
    /// sequence against the state directory, before writing.
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// Where the highest sequence seen per signer is kept (with --trust;
    /// default: $HALLMARK_STATE_DIR, else $XDG_STATE_HOME/hallmark, else
    /// ~/.local/state/hallmark, as `hallmark verify`).
    #[arg(long, value_name = "DIR", requires = "trust")]
    state_dir: Option<PathBuf>,
}

/// Add an issuer's public key (a NAME.pub file), a root key (--root) or a
/// line certificate (--cert) to a trust store, creating the store if it does
/// not exist.
///
/// The validity dates bound the dates of manufacture the key may sign for
/// (inclusive; for a root, the window every certificate it signs must lie
/// in). Existing entries and comments are kept; a key already in the store is
/// refused. A distributor whose codes come with trust bundles needs only the
/// root(s): `hallmark verify --bundle` brings the certificates.
///
/// Examples:
///   hallmark trust add --trust trust.toml keys/acme-2026.pub --valid-from 2026-01-01
///   hallmark trust add --trust roots.toml --root keys/acme-root.pub
///   hallmark trust add --trust trust.toml --cert plant1-line3.cert
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct AddArgs {
    /// The trust store file (TOML).
    #[arg(long, value_name = "FILE")]
    trust: PathBuf,
    /// The public key file written by `hallmark keygen`.
    #[arg(value_name = "KEY.pub", required_unless_present = "cert")]
    public_key: Option<PathBuf>,
    /// KEY.pub is a root key: it certifies line keys (`hallmark cert issue`)
    /// and signs no codes.
    #[arg(long, conflicts_with_all = ["revocation_signer", "cert"])]
    root: bool,
    /// Add a line certificate (from `hallmark cert issue`) instead of a key;
    /// it must verify against a root already in the store.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["public_key", "valid_from", "valid_until", "revocation_signer"])]
    cert: Option<PathBuf>,
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
        Command::Bundle(cmd) => crate::cmd::bundle::run(cmd),
        Command::Receipt(args) => crate::cmd::bundle::receipt(args),

        Command::Pull(args) => crate::cmd::revocations::pull_into(
            hallmark_client::snapshot::Document::Bundle,
            &args.server,
            &args.out,
            args.trust.as_deref(),
            args.state_dir.as_deref(),
        ),
    }
}

fn add(args: AddArgs) -> Result<u8> {
    let existing = if args.trust.exists() {
        Some(crate::read_text_bounded(
            &args.trust,
            hallmark::MAX_TRUST_STORE_LEN,
            "the trust store",
        )?)
    } else {
        None
    };
    if let Some(path) = &args.cert {
        let bytes = crate::cmd::cert::read(path)?;
        let text =
            TrustStore::append_certificate_to_toml(existing.as_deref(), &bytes).map_err(|e| {
                CliError::about(
                    format!("{}: adding {}", args.trust.display(), path.display()),
                    e,
                )
            })?;
        crate::cmd::files::write_output(&args.trust, text.as_bytes(), true)?;
        let (_, cert) = hallmark::LineCertificate::decode_unverified(&bytes)?;
        eprintln!(
            "added certificate {} (key id {}) to {}",
            cert.name,
            cert.subject.kid(),
            args.trust.display()
        );
        return Ok(EXIT_OK);
    }
    let Some(public_key) = &args.public_key else {
        return Err(CliError::new("give a KEY.pub file or --cert FILE"));
    };
    let public = PublicKeyFile::read(public_key)?;
    let entry = TrustedKey::new(&public.name, public.key, args.valid_from, args.valid_until)?
        .with_revocation_signer(args.revocation_signer);
    let text = if args.root {
        TrustStore::append_root_to_toml(existing.as_deref(), entry)
    } else {
        TrustStore::append_to_toml(existing.as_deref(), entry)
    }
    .map_err(|e| CliError::context(args.trust.display(), e))?;
    crate::cmd::files::write_output(&args.trust, text.as_bytes(), true)?;
    eprintln!(
        "added {} {} ({}) to {}",
        if args.root { "root" } else { "key" },
        public.name,
        public.key.kid(),
        args.trust.display()
    );
    Ok(EXIT_OK)
}
