//! `hallmark batches`

use std::path::{Path, PathBuf};

use hallmark::KeyId;
use hallmark_issuer::{Emission, End, KeyFile, Ledger, SecretKey, SerialMode, sign_manifest};
use serde_json::json;

use crate::{CliError, EXIT_OK, Result};

/// List the batches a key minted (from its serial ledger), or export them as a
/// signed batch manifest for a registry (`hallmark batches export`).
///
/// Each batch shows the codes emitted and the serials reserved. A mint
/// records, after each chunk of 8192 codes its output accepted, how many it
/// emitted, and at its end the final count; serials reserved but not emitted
/// are never issued (and never reused). Export and push register only the
/// emitted codes; a batch of which none was emitted is left out.
///
/// States: `complete`; `interrupted` (Ctrl-C: exactly `emitted` reached the
/// output) or `failed` (an output error); `killed` (the mint was killed or
/// crashed, so no final count was recorded): `emitted` is then the last
/// count recorded, and the codes of at most one chunk more (the next 8192
/// counters) may have reached the output unrecorded; with --qr-dir, images
/// of up to four chunks more may exist. Such codes are not registered:
/// scans of them raise unregistered-serial alerts. `legacy`: a batch minted
/// by a release that did not record emission, counted as wholly emitted.
///
/// Examples:
///   hallmark batches --key keys/acme.key
///   hallmark batches export --key keys/acme.key --out acme-manifest.bin
#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    verbatim_doc_comment
)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    list: ListArgs,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    Export(ExportArgs),
    Push(PushArgs),
}

#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct ListArgs {
    /// The issuer's secret key file (no passphrase needed to list).
    #[arg(long, value_name = "KEY", required = true)]
    key: Option<PathBuf>,
    /// The serial ledger (default: KEY with the extension .ledger).
    #[arg(long, value_name = "PATH")]
    ledger: Option<PathBuf>,
    /// One JSON object per batch (`time`: when the batch was reserved, in
    /// seconds since 1970; `time_rfc3339`: the same in RFC 3339 UTC).
    #[arg(long)]
    json: bool,
}

/// Write a manifest of the key's batches, signed by the key (a CBOR document under
/// its own domain tag; see docs/FORMAT.md), for `hallmark batches push` or a registry.
/// Instead of --key, --signer pkcs11:... signs with a key in an HSM or token
/// (then --ledger is required).
///
/// Example:
///   hallmark batches export --key keys/acme.key --out acme-manifest.bin
///   hallmark batches export --signer 'pkcs11:token=line-1;object=acme-1' \
///       --ledger /var/lib/hallmark/acme-1.ledger --out acme-manifest.bin
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct ExportArgs {
    /// The issuer's secret key file.
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present = "signer",
        conflicts_with = "signer"
    )]
    key: Option<PathBuf>,
    #[command(flatten)]
    signer: crate::signer::SignerArgs,
    /// The serial ledger (default: KEY with the extension .ledger; required
    /// with --signer).
    #[arg(long, value_name = "PATH")]
    ledger: Option<PathBuf>,
    /// Where to write the manifest (never overwritten without --force).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    passphrase: crate::passphrase::Source,
}

pub(crate) fn run(args: Args) -> Result<u8> {
    match args.command {
        Some(Command::Export(e)) => export(e),
        Some(Command::Push(p)) => push(p),
        None => list(args.list),
    }
}

/// The ledger at `path`, or `None` if there is none (the key minted nothing).
/// While a mint holds it, waits (saying so) for the mint to end, so that
/// what is listed or exported is final.
fn open_ledger(path: &Path) -> Result<Option<Ledger>> {
    if !path.exists() {
        return Ok(None);
    }
    match Ledger::try_open(path) {
        Err(hallmark_issuer::Error::LedgerBusy { .. }) => {
            eprintln!(
                "hallmark: waiting for the mint using {} to finish",
                path.display()
            );
            Ok(Some(Ledger::open(path)?))
        }
        other => Ok(Some(other?)),
    }
}

/// A batch's state, as listed.
fn state(emission: Emission) -> &'static str {
    match emission {
        Emission::Unrecorded => "legacy",
        Emission::Open { .. } => "killed",
        Emission::Closed { end, .. } => match end {
            End::Complete => "complete",
            End::Interrupted => "interrupted",
            End::Failed => "failed",
        },
    }
}

fn list(args: ListArgs) -> Result<u8> {
    let key = args.key.ok_or_else(|| CliError::new("--key is required"))?;
    let file = KeyFile::read(&key)?;
    let kid: KeyId = match file.public_key {
        Some(p) => p.kid(),
        None => SecretKey::read(&key)?.kid(),
    };
    let path = hallmark_issuer::pipeline::ledger_path(&key, args.ledger.as_deref());
    let Some(ledger) = open_ledger(&path)? else {
        eprintln!(
            "no ledger at {}: key {} has minted nothing here",
            path.display(),
            file.name
        );
        return Ok(EXIT_OK);
    };
    let kid_text = kid.to_string();
    let mine: Vec<_> = ledger
        .entries()
        .filter(|(b, _)| b.kid == kid_text)
        .collect();
    for (b, emission) in &mine {
        let emitted = emission.emitted(b);
        let state = state(*emission);
        if args.json {
            println!(
                "{}",
                json!({"kid": b.kid, "start": b.start, "count": b.count, "end": b.serials().end(),
                       "emitted": emitted, "state": state,
                       "interrupted": emitted < b.count || emission.is_open(),
                       "serials": b.serials, "batch": b.batch, "part": b.part, "lot": b.lot,
                       "date": b.date, "expiry": b.expiry, "time": b.time,
                       "time_rfc3339": hallmark::rfc3339(b.time)})
            );
        } else {
            let mode = match (b.serials, b.batch) {
                (SerialMode::Opaque, _) => "opaque counters".to_owned(),
                (SerialMode::Batch, Some(n)) => format!("batch {n} counters"),
                _ => "serials".to_owned(),
            };
            println!(
                "{mode} {}\temitted {emitted} of {} ({state})\tpart {}\tlot {}\tdate {}{}\tminted at {}",
                hallmark::span(b.start, *b.serials().end()),
                b.count,
                b.part,
                b.lot,
                b.date,
                b.expiry
                    .as_deref()
                    .map(|e| format!(" expiry {e}"))
                    .unwrap_or_default(),
                hallmark::rfc3339(b.time)
            );
        }
    }
    let total: u128 = mine.iter().map(|(b, _)| u128::from(b.count)).sum();
    let emitted: u128 = mine.iter().map(|(b, e)| u128::from(e.emitted(b))).sum();
    let interrupted = mine
        .iter()
        .filter(|(b, e)| e.emitted(b) < b.count || e.is_open())
        .count();
    eprintln!(
        "{} ({interrupted} interrupted), {} emitted of {} reserved, key {} ({kid}), ledger {}",
        hallmark::plural(mine.len(), "batch", "batches"),
        hallmark::plural(emitted, "code", "codes"),
        hallmark::plural(total, "serial", "serials"),
        file.name,
        path.display()
    );
    Ok(EXIT_OK)
}

fn export(args: ExportArgs) -> Result<u8> {
    let ledger = match (&args.key, &args.ledger) {
        (Some(key), ledger) => hallmark_issuer::pipeline::ledger_path(key, ledger.as_deref()),
        (None, Some(ledger)) => ledger.clone(),
        (None, None) => {
            return Err(CliError::new(
                "--signer needs --ledger PATH: there is no key file to find the ledger beside",
            ));
        }
    };
    let mut protected = vec![(ledger.as_path(), "the key's ledger")];
    if let Some(key) = &args.key {
        protected.push((key.as_path(), "the key file"));
    }
    crate::cmd::files::check_output(&args.out, args.force, &protected)?;
    let any = crate::signer::open_either(args.key.as_deref(), &args.passphrase, &args.signer)?;
    let key = any.signer();
    let ledger = open_ledger(&ledger)?;
    let entries: Vec<_> = ledger.iter().flat_map(Ledger::entries).collect();
    let kid = key.kid().to_string();
    let count = entries
        .iter()
        .filter(|(b, e)| b.kid == kid && e.emitted(b) > 0)
        .count();
    let now = crate::cmd::now_secs()?;
    let bytes = sign_manifest(key, entries, now)?;
    crate::cmd::files::write_output(&args.out, &bytes, args.force)?;
    eprintln!(
        "wrote a manifest of {} (their emitted codes) signed by {} ({}) to {}",
        hallmark::plural(count, "batch", "batches"),
        key.name(),
        key.kid(),
        args.out.display()
    );
    Ok(EXIT_OK)
}

/// Register a signed batch manifest (from `hallmark batches export`) with the
/// service (POST /v1/batches), so scans of its serials raise no
/// unregistered-serial alert. Pushing the same manifest again is harmless.
///
/// The token needs the scope batches (`hallmark token create --scope batches`);
/// pass it in $HALLMARK_TOKEN rather than --token, which `ps` shows to others.
/// Exit status: 0 registered, 1 the service refused (e.g. 401, or a manifest
/// its trust store does not accept), 2 usage or connection error.
///
/// Example:
///   hallmark batches export --key keys/acme.key --out acme-manifest.bin
///   export HALLMARK_TOKEN=hm_...
///   hallmark batches push --server http://127.0.0.1:8080 acme-manifest.bin
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct PushArgs {
    #[command(flatten)]
    write: crate::service::WriteArgs,
    /// The signed batch manifest.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

fn push(args: PushArgs) -> Result<u8> {
    let bytes = crate::read_bounded(&args.file, hallmark::MAX_MANIFEST_BYTES, "the manifest")?;
    if bytes.is_empty() {
        return Err(CliError::new(format!(
            "{}: empty file",
            args.file.display()
        )));
    }
    let client = args.write.client()?;
    let reply = client.push_manifest(&bytes)?;
    if !reply.is_success() {
        return crate::service::refused(&reply, crate::service::auth_hint(&reply));
    }
    println!("{}", reply.json()?);
    Ok(EXIT_OK)
}
