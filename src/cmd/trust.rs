//! `hallmark trust ...`

use std::path::{Path, PathBuf};

use hallmark::{Date, Error, TrustStore, TrustStoreError, TrustedKey};
use hallmark_issuer::PublicKeyFile;
use serde_json::json;

use crate::cmd::parse_date;
use crate::{CliError, EXIT_OK, Result};

/// The environment variable naming the default trust store.
pub(crate) const TRUST_ENV: &str = "HALLMARK_TRUST";

/// The default trust store in the configuration directory:
/// `$XDG_CONFIG_HOME/hallmark/trust.toml` (an absolute `$XDG_CONFIG_HOME`
/// only, as the XDG base directory specification says), else
/// `$HOME/.config/hallmark/trust.toml`; with how it was found, for messages.
fn config_store() -> Option<(PathBuf, &'static str)> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = var("XDG_CONFIG_HOME").filter(|d| d.is_absolute()) {
        return Some((
            dir.join("hallmark/trust.toml"),
            "$XDG_CONFIG_HOME/hallmark/trust.toml",
        ));
    }
    var("HOME").map(|home| {
        (
            home.join(".config/hallmark/trust.toml"),
            "~/.config/hallmark/trust.toml",
        )
    })
}

/// The trust store to read: `given` (--trust, or $HALLMARK_TRUST through
/// clap), else the configuration directory's if it exists; else an error
/// naming every place looked at.
pub(crate) fn store_to_read(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_owned());
    }
    match config_store() {
        Some((path, _)) if path.exists() => Ok(path),
        found => {
            let config = match found {
                Some((path, how)) => format!("{how} ({}: no such file)", path.display()),
                None => "~/.config/hallmark/trust.toml ($HOME is not set)".to_owned(),
            };
            Err(CliError::new(format!(
                "no trust store: looked at --trust (not given), ${TRUST_ENV} (not set) and {config}; \
                 give --trust FILE, set ${TRUST_ENV}, or add a key with `hallmark trust add KEY.pub`"
            )))
        }
    }
}

/// The default trust store if one exists (for commands where verifying
/// is optional).
pub(crate) fn existing_default() -> Option<PathBuf> {
    config_store()
        .map(|(path, _)| path)
        .filter(|path| path.exists())
}

/// The trust store to write: `given`, else the configuration directory's,
/// its directory created (0700) if needed.
fn store_to_write(given: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_owned());
    }
    let Some((path, _)) = config_store() else {
        return Err(CliError::new(format!(
            "no trust store: give --trust FILE or set ${TRUST_ENV} ($HOME is not set, so \
             there is no ~/.config/hallmark/trust.toml)"
        )));
    };
    if let Some(dir) = path.parent() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| CliError::about(dir.display(), e))?;
    }
    Ok(path)
}

/// The error of adding a key already in the store `path`, said as such.
fn refused(path: &Path, adding: &Path, e: Error) -> CliError {
    match e {
        Error::TrustStore(TrustStoreError::DuplicateKeyId {
            kid, first, second, ..
        }) => {
            let alias = if first == second {
                String::new()
            } else {
                format!(" as {first}")
            };
            CliError::new(format!(
                "{second} is already in {}{alias} (kid {kid}); see `hallmark trust list`",
                path.display()
            ))
        }
        e => CliError::about(
            format!("{}: adding {}", path.display(), adding.display()),
            e,
        ),
    }
}

/// Manage a trust store (the issuer keys and roots a verifier accepts) and
/// trust bundles.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Add(AddArgs),
    List(ListArgs),
    Remove(RemoveArgs),
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
    /// sequence against the state directory, before writing. Without
    /// --trust: $HALLMARK_TRUST, else the default trust store
    /// ($XDG_CONFIG_HOME/hallmark/trust.toml, else
    /// ~/.config/hallmark/trust.toml) if it exists, else no verification.
    #[arg(long, value_name = "FILE", env = TRUST_ENV)]
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
/// Without --trust the key goes to $HALLMARK_TRUST, else to the default
/// trust store that `hallmark verify` reads without --trust:
/// $XDG_CONFIG_HOME/hallmark/trust.toml, else ~/.config/hallmark/trust.toml
/// (its directory created, mode 0700).
///
/// Examples:
///   hallmark trust add keys/acme-2026.pub
///   hallmark trust add --trust trust.toml keys/acme-2026.pub --valid-from 2026-01-01
///   hallmark trust add --trust roots.toml --root keys/acme-root.pub
///   hallmark trust add --trust trust.toml --cert plant1-line3.cert
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct AddArgs {
    /// The trust store file (TOML); see above for the default.
    #[arg(long, value_name = "FILE", env = TRUST_ENV)]
    trust: Option<PathBuf>,
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

/// List the entries of a trust store: each root, key and line certificate
/// with its name, key id, role, the dates of manufacture it may sign for
/// (RFC 3339 dates, inclusive) and what it may sign; for a certificate, the
/// root that certified it and when.
///
/// Without --trust: $HALLMARK_TRUST, else $XDG_CONFIG_HOME/hallmark/trust.toml,
/// else ~/.config/hallmark/trust.toml. With --json, one object per entry
/// (name, kid, role, revocation_signer, valid_from, valid_until, usage,
/// certificate).
///
/// Examples:
///   hallmark trust list
///   hallmark trust list --trust roots.toml --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ListArgs {
    /// The trust store file (TOML); see above for the default.
    #[arg(long, value_name = "FILE", env = TRUST_ENV)]
    trust: Option<PathBuf>,
    /// One JSON object per entry instead of text.
    #[arg(long)]
    json: bool,
}

/// Remove a key, root or line certificate from a trust store, named by its
/// name or its key id (as `hallmark trust list` shows them).
///
/// The file is rewritten atomically; every other entry and comment is kept.
/// An entry that is not in the store is refused (exit status 2), and so is
/// a root that certificates in the store still need (remove them first).
/// Without --trust: the default trust store, as for `hallmark trust list`.
///
/// Examples:
///   hallmark trust remove acme-2024
///   hallmark trust remove --trust trust.toml 1a2b3c4d
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct RemoveArgs {
    /// The trust store file (TOML); see above for the default.
    #[arg(long, value_name = "FILE", env = TRUST_ENV)]
    trust: Option<PathBuf>,
    /// The entry's name or key id (8 hex digits).
    #[arg(value_name = "KID|NAME")]
    entry: String,
}

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Add(args) => add(args),
        Command::List(args) => list(args),
        Command::Remove(args) => remove(args),
        Command::Bundle(cmd) => crate::cmd::bundle::run(cmd),
        Command::Receipt(args) => crate::cmd::bundle::receipt(args),

        Command::Pull(args) => crate::cmd::revocations::pull_into(
            hallmark_client::snapshot::Document::Bundle,
            &args.server,
            &args.out,
            args.trust.or_else(existing_default).as_deref(),
            args.state_dir.as_deref(),
        ),
    }
}

fn add(args: AddArgs) -> Result<u8> {
    let trust = store_to_write(args.trust.as_deref())?;
    let existing = if trust.exists() {
        Some(crate::read_text_bounded(
            &trust,
            hallmark::MAX_TRUST_STORE_LEN,
            "the trust store",
        )?)
    } else {
        None
    };
    if let Some(path) = &args.cert {
        let bytes = crate::cmd::cert::read(path)?;
        let text = TrustStore::append_certificate_to_toml(existing.as_deref(), &bytes)
            .map_err(|e| refused(&trust, path, e))?;
        crate::cmd::files::write_output(&trust, text.as_bytes(), true)?;
        let (_, cert) = hallmark::LineCertificate::decode_unverified(&bytes)?;
        eprintln!(
            "added certificate {} (key id {}) to {}",
            cert.name,
            cert.subject.kid(),
            trust.display()
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
    .map_err(|e| refused(&trust, public_key, e))?;
    crate::cmd::files::write_output(&trust, text.as_bytes(), true)?;
    eprintln!(
        "added {} {} ({}) to {}",
        if args.root { "root" } else { "key" },
        public.name,
        public.key.kid(),
        trust.display()
    );
    Ok(EXIT_OK)
}

/// `1 code`, `2 codes`, `3 entries`: a count and its noun.
pub(crate) fn plural(n: usize, noun: &str) -> String {
    // A consonant and y: entry, entries (but key, keys; day, days).
    let stem = noun
        .strip_suffix('y')
        .filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u']));
    match (n, stem) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}

/// An entry's role: `root`, `certificate`, `revocation-signer` or `key`.
fn role(store: &TrustStore, key: &TrustedKey) -> &'static str {
    if store.roots().iter().any(|r| r.kid() == key.kid()) {
        "root"
    } else if key.certificate().is_some() {
        "certificate"
    } else if key.is_revocation_signer() {
        "revocation-signer"
    } else {
        "key"
    }
}

/// A validity bound as people read it.
fn bound(date: Option<Date>) -> String {
    date.map_or_else(|| "unbounded".to_owned(), |d| d.to_string())
}

fn list(args: ListArgs) -> Result<u8> {
    let path = store_to_read(args.trust.as_deref())?;
    let store = crate::cmd::load_trust(&path)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for key in store.roots().iter().chain(store.keys()) {
        let role = role(&store, key);
        *counts.entry(role).or_default() += 1;
        let root = key
            .certificate_bytes()
            .and_then(|b| hallmark::LineCertificate::decode_unverified(b).ok())
            .map(|(root, _)| root);
        let root_name = root
            .and_then(|kid| {
                store
                    .get(kid)
                    .or_else(|| store.roots().iter().find(|r| r.kid() == kid))
            })
            .map(|r| r.name().to_owned());
        let issued = key.certificate().map(|c| hallmark::rfc3339(c.issued));
        let usage = if role == "root" {
            "certificates".to_owned()
        } else {
            key.usage().to_string()
        };
        if args.json {
            let certificate = root.map(|kid| {
                json!({"root_kid": kid.to_string(), "root_name": root_name, "issued": issued})
            });
            std::io::Write::write_all(
                &mut out,
                format!(
                    "{}\n",
                    json!({
                        "name": key.name(), "kid": key.kid().to_string(), "role": role,
                        "revocation_signer": key.is_revocation_signer(),
                        "valid_from": key.valid_from().map(|d| d.to_string()),
                        "valid_until": key.valid_until().map(|d| d.to_string()),
                        "usage": usage, "certificate": certificate,
                    })
                )
                .as_bytes(),
            )?;
        } else {
            let certified = match (root, &issued) {
                (Some(kid), Some(issued)) => format!(
                    ", certified by {} (kid {kid}) at {issued}",
                    root_name.as_deref().unwrap_or("an unknown root")
                ),
                _ => String::new(),
            };
            std::io::Write::write_all(
                &mut out,
                format!(
                    "{role}\t{}\t{}\tvalid {} to {}\tsigns {usage}{certified}\n",
                    key.name(),
                    key.kid(),
                    bound(key.valid_from()),
                    bound(key.valid_until()),
                )
                .as_bytes(),
            )?;
        }
    }
    std::io::Write::flush(&mut out)?;
    let total: usize = counts.values().sum();
    let parts: Vec<String> = counts.iter().map(|(role, n)| plural(*n, role)).collect();
    eprintln!(
        "{}: {}{}",
        path.display(),
        plural(total, "entry"),
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    );
    Ok(EXIT_OK)
}

fn remove(args: RemoveArgs) -> Result<u8> {
    let path = store_to_read(args.trust.as_deref())?;
    let text = crate::read_text_bounded(&path, hallmark::MAX_TRUST_STORE_LEN, "the trust store")?;
    let removed = TrustStore::remove_from_toml(&text, &args.entry)
        .map_err(|e| CliError::about(format!("{}: removing {}", path.display(), args.entry), e))?;
    let Some((text, key)) = removed else {
        return Err(CliError::new(format!(
            "{}: {:?} is not in it: no key, root or certificate has that name or key id (see `hallmark trust list`)",
            path.display(),
            args.entry
        )));
    };
    let store = crate::cmd::load_trust(&path)?;
    let role = role(&store, &key);
    crate::cmd::files::write_output(&path, text.as_bytes(), true)?;
    eprintln!(
        "removed {role} {} (kid {}) from {}",
        key.name(),
        key.kid(),
        path.display()
    );
    Ok(EXIT_OK)
}
