//! `hallmark cert ...`

use std::path::{Path, PathBuf};

use hallmark::{Constraints, Date, LineCertificate, Pattern, TrustStore, Usage};
use hallmark_issuer::PublicKeyFile;
use serde_json::json;

use crate::cmd::parse_date;
use crate::{CliError, EXIT_OK, Result};

/// Line certificates: an offline root key certifies the keys that mint.
///
/// Two levels of keys, as in the EU digital COVID certificate and ICAO
/// schemes: a root key (`hallmark keygen --role root`), kept offline, signs
/// a certificate for each line key (a line, a plant, a contract
/// manufacturer, the registry). Distributors trust only the root
/// (`hallmark trust add --root ROOT.pub`); certificates reach them in trust
/// bundles (`hallmark verify --bundle`) or trust stores (`trust add --cert`).
///
/// Rotation (the DCC/WHO practice for document signers): certify a line key
/// for about 2 years of manufacture dates (--valid-from/--valid-until), use
/// its private key for about 6 months, and certify its successor a month
/// before the switch, so every verifier has it in time. Codes minted inside
/// the window stay genuine after the key is retired; a stolen key is cut off
/// by a compromise entry in the bundle, which spares the batches the registry
/// receipted before the theft.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Issue(Box<IssueArgs>),
    Show(ShowArgs),
}

/// Certify a line key with a root key (run it on the offline root machine).
///
/// The certificate binds LINE.pub to a name, a window of manufacture dates
/// and a usage set, and optionally to constraints: codes outside them are
/// `out-of-scope` everywhere, offline too. With --trust the new certificate
/// is verified against the roots of that trust store before it is written
/// (its window must lie inside the root's).
///
/// Examples:
///   hallmark cert issue --root keys/acme-root.key keys/plant1-line3.pub \
///       --valid-from 2026-01-01 --valid-until 2027-12-31 \
///       --part 'DRN-*' --max-count 5000000 --out plant1-line3.cert
///   hallmark cert issue --root keys/acme-root.key keys/registry.pub --usage registry \
///       --valid-from 2026-01-01 --valid-until 2027-12-31 --out registry.cert
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct IssueArgs {
    /// The root's secret key file (or --signer: the root in a token).
    #[arg(
        long,
        value_name = "ROOT.key",
        required_unless_present = "signer",
        conflicts_with = "signer"
    )]
    root: Option<PathBuf>,
    #[command(flatten)]
    signer: crate::signer::SignerArgs,
    /// The public key file of the key to certify.
    #[arg(value_name = "LINE.pub")]
    subject: PathBuf,
    /// The certified key's name in verdicts (default: the name in LINE.pub).
    #[arg(long)]
    name: Option<String>,
    /// First date of manufacture the key may sign for (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    valid_from: Date,
    /// Last date of manufacture the key may sign for (YYYY-MM-DD, inclusive;
    /// about 2 years after --valid-from).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    valid_until: Date,
    /// What the key may sign, comma-separated: codes, manifests (batch
    /// manifests for the registry), registry (receipts, revocation snapshots,
    /// trust bundles: for the service's key only), aggregation (case and
    /// pallet manifests, `hallmark aggregate`; only together with one of the
    /// others, e.g. codes,aggregation for a line that also packs).
    #[arg(long, value_name = "LIST", default_value = "codes,manifests")]
    usage: Usage,
    /// Part numbers the key may sign: exact, or a prefix ending in `*`
    /// (`DRN-*`). Repeat for several; none means any.
    #[arg(long = "part", value_name = "PATTERN", value_parser = parse_pattern)]
    parts: Vec<Pattern>,
    /// Lots the key may sign, as --part. None means any.
    #[arg(long = "lot", value_name = "PATTERN", value_parser = parse_pattern)]
    lots: Vec<Pattern>,
    /// Serial ranges the key may sign, FIRST-LAST inclusive (`0-9999999`).
    /// Repeat for several; none means any.
    #[arg(long = "serials", value_name = "FIRST-LAST", value_parser = parse_range)]
    serials: Vec<(u64, u64)>,
    /// GS1 company prefixes (4 to 12 digits) the key may sign GS1 data for.
    #[arg(long = "gs1-prefix", value_name = "DIGITS")]
    gs1_prefixes: Vec<String>,
    /// The most serials the registry registers for this key (`POST
    /// /v1/batches` refuses more); `mint --cert` refuses to reserve more as
    /// far as its ledger knows.
    #[arg(long, value_name = "N")]
    max_count: Option<u64>,
    /// Check the certificate against the roots of this trust store first.
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// Where to write the certificate.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    passphrase: crate::passphrase::Source,
}

/// Print a certificate's fields.
///
/// With --trust ($HALLMARK_TRUST), or without it when the default trust
/// store (~/.config/hallmark/trust.toml, see `hallmark verify --help`)
/// exists, the certificate is checked against that trust store's roots
/// first (exit status 2 if it does not verify); otherwise nothing is
/// verified and the output says so.
///
/// Example:
///   hallmark cert show --trust roots.toml plant1-line3.cert
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ShowArgs {
    /// The certificate file.
    #[arg(value_name = "FILE")]
    cert: PathBuf,
    /// Verify it against the roots of this trust store (default: the
    /// default trust store, when it exists).
    #[arg(long, value_name = "FILE", env = super::trust::TRUST_ENV)]
    trust: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Issue(args) => issue(*args),
        Command::Show(args) => show(args),
    }
}

fn parse_pattern(s: &str) -> std::result::Result<Pattern, String> {
    Pattern::new(s).map_err(|e| e.to_string())
}

/// Parses `FIRST-LAST` (inclusive).
pub(crate) fn parse_range(s: &str) -> std::result::Result<(u64, u64), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?}: expected FIRST-LAST, like 0-9999"))?;
    let number = |t: &str| {
        t.trim()
            .parse::<u64>()
            .map_err(|_| format!("{s:?}: {t:?} is not a whole number"))
    };
    let (first, last) = (number(a)?, number(b)?);
    if first > last {
        return Err(format!("{s:?}: the first serial is after the last"));
    }
    Ok((first, last))
}

fn issue(args: IssueArgs) -> Result<u8> {
    let mut protected = vec![(args.subject.as_path(), "the public key file")];
    if let Some(root) = &args.root {
        protected.push((root.as_path(), "the root key file"));
    }
    crate::cmd::files::check_output(&args.out, args.force, &protected)?;
    let subject = PublicKeyFile::read(&args.subject)?;
    let cert = LineCertificate {
        subject: subject.key,
        name: args.name.clone().unwrap_or(subject.name),
        valid_from: args.valid_from,
        valid_until: args.valid_until,
        usage: args.usage,
        issued: crate::cmd::now_secs()?,
        constraints: Constraints {
            parts: args.parts,
            lots: args.lots,
            serials: args.serials,
            gs1_prefixes: args.gs1_prefixes,
            max_count: args.max_count,
        },
    };
    let any = crate::signer::open_either(args.root.as_deref(), &args.passphrase, &args.signer)?;
    let root = any.signer();
    let bytes = hallmark_issuer::signer::sign_certificate(root, &cert)?;
    if let Some(path) = &args.trust {
        let mut trust = crate::cmd::load_trust(path)?;
        trust
            .add_certificate(&bytes)
            .map_err(|e| CliError::about(format!("checking against {}", path.display()), e))?;
    }
    crate::cmd::files::write_output(&args.out, &bytes, args.force)?;
    eprintln!(
        "wrote certificate {} for key {} ({}), {} to {}, usage {}, signed by root {} ({}), to {}",
        cert.name,
        cert.subject.kid(),
        args.subject.display(),
        cert.valid_from,
        cert.valid_until,
        cert.usage,
        root.name(),
        root.kid(),
        args.out.display()
    );
    Ok(EXIT_OK)
}

/// Reads a certificate file (bounded).
pub(crate) fn read(path: &Path) -> Result<Vec<u8>> {
    crate::read_bounded(path, hallmark::MAX_CERTIFICATE_BYTES, "the certificate")
}

fn show(args: ShowArgs) -> Result<u8> {
    let bytes = read(&args.cert)?;
    let (root, cert) = LineCertificate::decode_unverified(&bytes)
        .map_err(|e| CliError::about(args.cert.display(), e))?;
    let trust = args.trust.clone().or_else(super::trust::existing_default);
    let verified = match &trust {
        Some(path) => {
            let mut trust: TrustStore = crate::cmd::load_trust(path)?;
            trust
                .add_certificate(&bytes)
                .map_err(|e| CliError::about(args.cert.display(), e))?;
            true
        }
        None => false,
    };
    let c = &cert.constraints;
    let list = |ps: &[Pattern]| ps.iter().map(|p| p.as_str().to_owned()).collect::<Vec<_>>();
    if args.json {
        let out = json!({
            "verified": verified,
            "name": cert.name,
            "kid": cert.subject.kid().to_string(),
            "public_key": cert.subject.to_hex(),
            "root_kid": root.to_string(),
            "valid_from": cert.valid_from.to_string(),
            "valid_until": cert.valid_until.to_string(),
            "usage": cert.usage.to_string().split(", ").collect::<Vec<_>>(),
            "issued": hallmark::rfc3339(cert.issued),
            "parts": list(&c.parts),
            "lots": list(&c.lots),
            "serials": c.serials.iter().map(|(a, b)| json!({"first": a, "last": b})).collect::<Vec<_>>(),
            "gs1_prefixes": c.gs1_prefixes,
            "max_count": c.max_count,
        });
        println!("{out}");
        return Ok(EXIT_OK);
    }
    let any = |v: Vec<String>| {
        if v.is_empty() {
            "any".to_owned()
        } else {
            v.join(", ")
        }
    };
    println!(
        "{}",
        if verified {
            "verified against the trust store's roots"
        } else {
            "NOT VERIFIED (give --trust to check it against your roots)"
        }
    );
    println!("name         {}", cert.name);
    println!("key id       {}", cert.subject.kid());
    println!("public key   {}", cert.subject.to_hex());
    println!("root key id  {root}");
    println!(
        "window       {} to {} (dates of manufacture)",
        cert.valid_from, cert.valid_until
    );
    println!("usage        {}", cert.usage);
    println!("issued       {}", hallmark::rfc3339(cert.issued));
    println!("parts        {}", any(list(&c.parts)));
    println!("lots         {}", any(list(&c.lots)));
    println!(
        "serials      {}",
        any(c.serials.iter().map(|(a, b)| format!("{a}–{b}")).collect())
    );
    println!("GS1 prefixes {}", any(c.gs1_prefixes.clone()));
    println!(
        "max count    {}",
        c.max_count.map_or("no limit".to_owned(), |n| n.to_string())
    );
    Ok(EXIT_OK)
}
