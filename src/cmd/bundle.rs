//! `hallmark trust bundle build` and `hallmark trust receipt`: the registry's
//! signed documents, made offline.

use std::path::PathBuf;

use hallmark::{BatchManifest, BatchReceipt, Compromise, KeyId, TrustBundle};

use crate::cmd::parse_time;
use crate::{CliError, EXIT_OK, Result};

/// Signed trust bundles for offline verifiers.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Build(BuildArgs),
}

/// Build a signed trust bundle from local files, without the service.
///
/// A trust bundle is the one file an offline verifier needs beyond its root
/// keys (`hallmark verify --trust roots.toml --bundle FILE`): the line
/// certificates, the batch manifests with their registry receipts, the
/// revocations (a list as `hallmark revocations build` reads it) and the
/// keys compromised, each from a time. A code of a compromised key is
/// genuine only if it lies in a batch receipted before that time; every
/// other code of the key, back-dated or not, is revoked (key-compromised).
///
/// --key is the registry key, certified by a root for the `registry` usage
/// (give its certificate with --cert, so verifiers need only the root). The
/// service signs a bundle daily (GET /v1/trust/bundle; `hallmark trust
/// pull`); this command is for an offline registry and for tests.
///
/// Example:
///   hallmark trust bundle build --key keys/registry.key --cert registry.cert \
///       --certificate plant1-line3.cert --batch b1.manifest:b1.receipt \
///       --compromised 4d436e5b@2026-11-20T10:00:00Z --sequence 1 --out bundle.bin
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct BuildArgs {
    /// The registry's signing key (or --signer: the key in a token).
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present = "signer",
        conflicts_with = "signer"
    )]
    key: Option<PathBuf>,
    #[command(flatten)]
    signer: crate::signer::SignerArgs,
    /// The registry key's own certificate (put first in the bundle).
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// A line certificate to include; repeat for several.
    #[arg(long = "certificate", value_name = "FILE")]
    certificates: Vec<PathBuf>,
    /// A batch manifest and its receipt, MANIFEST:RECEIPT; repeat for several.
    #[arg(long = "batch", value_name = "MANIFEST:RECEIPT")]
    batches: Vec<String>,
    /// A revocation list (TOML, as `hallmark revocations build --list`).
    #[arg(long, value_name = "FILE")]
    revocations: Option<PathBuf>,
    /// A compromised key and when it was compromised: KID@TIME, TIME a UTC
    /// time like 2026-11-20T10:00:00Z (or seconds since 1970). Batches
    /// receipted at or after TIME no longer count. Repeat for several keys.
    #[arg(long, value_name = "KID@TIME", value_parser = parse_compromise)]
    compromised: Vec<(KeyId, u64)>,
    /// Sequence number (above every earlier bundle or snapshot of this key;
    /// default: the current time in seconds, the service's rule).
    #[arg(long, value_name = "N")]
    sequence: Option<u64>,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    passphrase: crate::passphrase::Source,
}

/// Issue a registry receipt for a batch manifest, offline.
///
/// The receipt (signed by the registry key, certified for `registry`)
/// records the manifest's digest and the time it was registered: now. The
/// service issues receipts itself on `POST /v1/batches` (`hallmark batches
/// push`); this command is for an offline registry and for tests.
///
/// Example:
///   hallmark trust receipt --key keys/registry.key --manifest b1.manifest --out b1.receipt
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ReceiptArgs {
    /// The registry's signing key (or --signer: the key in a token).
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present = "signer",
        conflicts_with = "signer"
    )]
    key: Option<PathBuf>,
    #[command(flatten)]
    signer: crate::signer::SignerArgs,
    /// The signed batch manifest (from `hallmark batches export`).
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,
    /// The trust store the manifest's signer must be in (a plain key, or a
    /// key certified for manifests).
    #[arg(long, value_name = "FILE")]
    trust: PathBuf,
    /// Where to write the receipt.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    passphrase: crate::passphrase::Source,
}

fn parse_compromise(s: &str) -> std::result::Result<(KeyId, u64), String> {
    let (kid, time) = s
        .split_once('@')
        .ok_or_else(|| format!("{s:?}: expected KID@TIME, like 4d436e5b@2026-11-20T10:00:00Z"))?;
    let kid: KeyId = kid
        .parse()
        .map_err(|_| format!("{s:?}: {kid:?} is not a key id (8 hex digits)"))?;
    Ok((kid, parse_time(time)?))
}

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Build(args) => build(args),
    }
}

fn read_doc(path: &std::path::Path, max: usize, what: &'static str) -> Result<Vec<u8>> {
    crate::read_bounded(path, max, what)
}

fn build(args: BuildArgs) -> Result<u8> {
    let protected: Vec<_> = args
        .key
        .iter()
        .map(|k| (k.as_path(), "the signing key file"))
        .collect();
    crate::cmd::files::check_output(&args.out, args.force, &protected)?;
    let now = crate::cmd::now_secs()?;
    let mut revocations = match &args.revocations {
        Some(path) => {
            let text = crate::read_text_bounded(path, 1 << 30, "the revocation list")?;
            hallmark_issuer::revocation_list::parse(&text, 0, now)
                .map_err(|e| CliError::about(path.display(), e))?
        }
        None => hallmark::RevocationSnapshot::new(0, now),
    };
    let sequence = args.sequence.unwrap_or(now);
    if sequence > hallmark::MAX_SEQUENCE {
        return Err(CliError::new(format!(
            "--sequence {sequence} is above {}, the largest verifiers accept",
            hallmark::MAX_SEQUENCE
        )));
    }
    revocations.sequence = sequence;
    let mut certificates = Vec::new();
    for path in args.cert.iter().chain(&args.certificates) {
        certificates.push(crate::cmd::cert::read(path)?);
    }
    let mut batches = Vec::new();
    for pair in &args.batches {
        let (m, r) = pair
            .split_once(':')
            .ok_or_else(|| CliError::new(format!("--batch {pair:?}: expected MANIFEST:RECEIPT")))?;
        let (m, r) = (PathBuf::from(m), PathBuf::from(r));
        batches.push((
            read_doc(&m, hallmark::MAX_MANIFEST_BYTES, "the batch manifest")?,
            read_doc(&r, hallmark::MAX_RECEIPT_BYTES, "the receipt")?,
        ));
    }
    let date = crate::cmd::today()?;
    let compromises = args
        .compromised
        .iter()
        .map(|&(kid, at)| Compromise { kid, at, date })
        .collect::<Vec<_>>();
    let bundle = TrustBundle {
        sequence,
        issued: now,
        certificates,
        batches,
        revocations,
        compromises,
    };
    let any = crate::signer::open_either(args.key.as_deref(), &args.passphrase, &args.signer)?;
    let key = any.signer();
    let bytes = hallmark_issuer::signer::sign_bundle(key, &bundle)?;
    crate::cmd::files::write_output(&args.out, &bytes, args.force)?;
    eprintln!(
        "wrote trust bundle sequence {sequence} issued at {}: {}, {}, {}, {}, signed by {} ({}), to {}",
        hallmark::rfc3339(bundle.issued),
        hallmark::plural(bundle.certificates.len(), "certificate", "certificates"),
        hallmark::plural(bundle.batches.len(), "manifest", "manifests"),
        hallmark::plural(
            bundle.revocations.revocations().len(),
            "revocation",
            "revocations"
        ),
        hallmark::plural(
            bundle.compromises.len(),
            "compromised key",
            "compromised keys"
        ),
        key.name(),
        key.kid(),
        args.out.display()
    );
    Ok(EXIT_OK)
}

pub(crate) fn receipt(args: ReceiptArgs) -> Result<u8> {
    let mut protected = vec![(args.manifest.as_path(), "the manifest")];
    if let Some(key) = &args.key {
        protected.push((key.as_path(), "the signing key file"));
    }
    crate::cmd::files::check_output(&args.out, args.force, &protected)?;
    let bytes = read_doc(
        &args.manifest,
        hallmark::MAX_MANIFEST_BYTES,
        "the batch manifest",
    )?;
    let trust = crate::cmd::load_trust(&args.trust)?;
    let manifest = BatchManifest::verify(&bytes, &trust)
        .map_err(|e| CliError::about(args.manifest.display(), e))?;
    let kid = manifest.kid;
    let receipt = BatchReceipt {
        manifest: BatchReceipt::digest(&bytes),
        kid,
        registered: crate::cmd::now_secs()?,
        batches: manifest.batches.len() as u64,
        serials: manifest
            .batches
            .iter()
            .fold(0u64, |n, b| n.saturating_add(b.count)),
    };
    let any = crate::signer::open_either(args.key.as_deref(), &args.passphrase, &args.signer)?;
    let key = any.signer();
    let signed = hallmark_issuer::signer::sign_receipt(key, &receipt)?;
    crate::cmd::files::write_output(&args.out, &signed, args.force)?;
    eprintln!(
        "wrote receipt for manifest of key {kid} ({}, {}), registered {}, signed by {} ({}), to {}",
        hallmark::plural(receipt.batches, "batch", "batches"),
        hallmark::plural(receipt.serials, "serial", "serials"),
        hallmark::rfc3339(receipt.registered),
        key.name(),
        key.kid(),
        args.out.display()
    );
    Ok(EXIT_OK)
}
