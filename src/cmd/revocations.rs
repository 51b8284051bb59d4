//! `hallmark revocations ...`

use std::path::PathBuf;

use hallmark_client::snapshot::{self, PullOutcome};
use hallmark_issuer::revocation_list;

use crate::{CliError, EXIT_OK, Result};

/// Signed revocation snapshots for offline verification.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Build(BuildArgs),
    Pull(PullArgs),
}

/// Build a signed revocation snapshot from a local list, without the service.
///
/// The list is TOML with any of these tables (dates YYYY-MM-DD; reason one of
/// recalled, stolen, destroyed, counterfeit-reported, key-compromised,
/// decommissioned; kid the issuer's 8-hex-digit key id):
///
///   [[serial]]  kid = "8608b1b7"  serial = 42  reason = "stolen"  date = 2026-11-01
///   [[range]]   kid = "8608b1b7"  first = 100  last = 199  reason = "recalled"  date = 2026-11-01
///   [[lot]]     kid = "8608b1b7"  lot = "L231212-01"  reason = "destroyed"  date = 2026-11-01
///   [[key]]     kid = "8608b1b7"  from = 2026-06-01  reason = "key-compromised"  date = 2026-11-02
///
/// (one field per line in the file). The snapshot is signed with --key, which
/// verifiers' trust stores must mark as a revocation signer
/// (`hallmark trust add --revocation-signer`). --sequence must grow with every
/// snapshot: verifiers refuse one older than a snapshot they have seen.
/// Instead of --key, --signer pkcs11:... signs with a key in an HSM or token.
///
/// Example:
///   hallmark revocations build --key keys/revocations.key --list revoked.toml \
///       --sequence 8 --out revocations.bin
///   hallmark revocations build --signer 'pkcs11:token=registry;object=revocations' \
///       --list revoked.toml --sequence 9 --out revocations.bin
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct BuildArgs {
    /// The revocation signing key (a key file from `hallmark keygen`).
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present = "signer",
        conflicts_with = "signer"
    )]
    key: Option<PathBuf>,
    #[command(flatten)]
    signer: crate::signer::SignerArgs,
    /// The list of revocations (TOML, see above).
    #[arg(long, value_name = "FILE")]
    list: PathBuf,
    /// Sequence number of this snapshot (higher than every earlier one; at
    /// most 2^53 - 1 = 9007199254740991, which verifiers accept).
    #[arg(long, value_name = "N", value_parser = parse_sequence)]
    sequence: u64,
    /// Where to write the snapshot.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    passphrase: crate::passphrase::Source,
}

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Build(args) => build(args),
        Command::Pull(args) => pull(args),
    }
}

fn build(args: BuildArgs) -> Result<u8> {
    let mut protected = vec![(args.list.as_path(), "the revocation list")];
    let ledger = args
        .key
        .as_deref()
        .map(|key| hallmark_issuer::pipeline::ledger_path(key, None));
    if let (Some(key), Some(ledger)) = (&args.key, &ledger) {
        protected.push((key.as_path(), "the signing key file"));
        protected.push((ledger.as_path(), "the key's ledger"));
    }
    crate::cmd::files::check_output(&args.out, args.force, &protected)?;
    let text = crate::read_text_bounded(&args.list, 1 << 30, "the revocation list")?;
    let now = crate::cmd::now_secs()?;
    let snapshot = revocation_list::parse(&text, args.sequence, now)
        .map_err(|e| CliError::about(args.list.display(), e))?;
    let any = crate::signer::open_either(args.key.as_deref(), &args.passphrase, &args.signer)?;
    let key = any.signer();
    let bytes = hallmark_issuer::signer::sign_snapshot(key, &snapshot)?;
    crate::cmd::files::write_output(&args.out, &bytes, args.force)?;
    eprintln!(
        "wrote revocation snapshot sequence {} with {} revocations, signed by {} ({}), to {}",
        args.sequence,
        snapshot.revocations().len(),
        key.name(),
        key.kid(),
        args.out.display()
    );
    Ok(EXIT_OK)
}

/// Download the service's current signed revocation snapshot
/// (GET /v1/revocations/snapshot) for `hallmark verify --revocations`.
///
/// The file is replaced atomically. The snapshot's ETag is kept beside it in
/// FILE.etag and sent back on the next pull: when nothing changed the service
/// answers 304 and FILE stays as it is. With --trust the snapshot is checked
/// (signed by a revocation signer of that trust store) before it is written.
/// Run it from cron or a timer; exit status 0 when FILE is current.
///
/// Example:
///   hallmark revocations pull --server http://127.0.0.1:8080 --out revocations.bin
///   hallmark verify --trust trust.toml --revocations revocations.bin 0630HCDQ...
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct PullArgs {
    /// The service's base URL (`hallmark serve`).
    #[arg(long, value_name = "URL")]
    server: String,
    /// Where to write the snapshot (its ETag goes to FILE.etag).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Check the snapshot's signature against this trust store before writing.
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
}

fn pull(args: PullArgs) -> Result<u8> {
    let trust = match &args.trust {
        Some(path) => Some(crate::cmd::load_trust(path)?),
        None => None,
    };
    let client = crate::service::connect(&args.server, None)?;
    let etag_file = snapshot::etag_path(&args.out);
    for out in [&args.out, &etag_file] {
        let trust: Vec<(&std::path::Path, &str)> = args
            .trust
            .iter()
            .map(|t| (t.as_path(), "the trust store"))
            .collect();
        hallmark_state::file::refuse_protected(out, &trust)?;
    }
    match snapshot::pull(&client, &args.out, trust.as_ref())? {
        PullOutcome::Unchanged => {
            eprintln!("{}: unchanged (304 Not Modified)", args.out.display());
        }
        PullOutcome::Refused(reply) => return crate::service::refused(&reply, None),
        PullOutcome::Written { bytes, verified } => {
            if let Some(v) = verified {
                eprintln!(
                    "snapshot sequence {} with {} revocations verified",
                    v.sequence, v.revocations
                );
            }
            eprintln!("wrote {} ({bytes} bytes)", args.out.display());
        }
    }
    Ok(EXIT_OK)
}

/// A snapshot sequence verifiers accept: 0 to [`hallmark::MAX_SEQUENCE`].
fn parse_sequence(s: &str) -> std::result::Result<u64, String> {
    let n: u64 = s
        .parse()
        .map_err(|_| format!("{s:?}: expected a whole number"))?;
    if n > hallmark::MAX_SEQUENCE {
        return Err(format!(
            "{n} is above {}, the largest sequence verifiers accept (docs/FORMAT.md section 15)",
            hallmark::MAX_SEQUENCE
        ));
    }
    Ok(n)
}
