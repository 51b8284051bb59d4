//! `hallmark key ...`

use std::path::{Path, PathBuf};

use hallmark_issuer::{KeyFile, SecretKey};
use serde_json::json;

use crate::passphrase;
use crate::{EXIT_OK, Result};

/// Manage a secret key file: show its public key, change its passphrase.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Show(ShowArgs),
    Passwd(PasswdArgs),
}

/// Print a key file's name, key id and public key (no passphrase needed).
///
/// Example:
///   hallmark key show keys/acme.key
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ShowArgs {
    /// The secret key file (or its .pub file).
    #[arg(value_name = "KEY")]
    key: PathBuf,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// Change a secret key file's passphrase (or encrypt an unencrypted one).
///
/// The current passphrase comes from --passphrase-file, $HALLMARK_PASSPHRASE or a
/// prompt; the new one from --new-passphrase-file, $HALLMARK_NEW_PASSPHRASE or a
/// prompt (asked twice). The file is replaced atomically.
///
/// Example:
///   hallmark key passwd keys/acme.key
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct PasswdArgs {
    /// The secret key file.
    #[arg(value_name = "KEY")]
    key: PathBuf,
    #[command(flatten)]
    passphrase: passphrase::Source,
    /// Read the new passphrase from the first line of FILE.
    #[arg(long, value_name = "FILE")]
    new_passphrase_file: Option<PathBuf>,
    /// Remove the passphrase: store the key in plain text (demos and tests only).
    #[arg(long)]
    unencrypted: bool,
}

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Show(args) => show(args),
        Command::Passwd(args) => passwd(args),
    }
}

fn show(args: ShowArgs) -> Result<u8> {
    let (name, public, encrypted) = if args.key.extension().is_some_and(|e| e == "pub") {
        let file = hallmark_issuer::PublicKeyFile::read(&args.key)?;
        (file.name, file.key, None)
    } else {
        let file = KeyFile::read(&args.key)?;
        let public = match file.public_key {
            Some(p) => p,
            // Older unencrypted files do not state it: derive it.
            None => SecretKey::read(&args.key)?.public_key(),
        };
        (file.name, public, Some(file.encrypted))
    };
    if args.json {
        println!(
            "{}",
            json!({"name": name, "kid": public.kid().to_string(), "public_key": public.to_hex(), "encrypted": encrypted})
        );
    } else {
        println!("name:       {name}");
        println!("kid:        {}", public.kid());
        println!("public key: {}", public.to_hex());
        if let Some(enc) = encrypted {
            println!("encrypted:  {}", if enc { "yes" } else { "NO" });
        }
    }
    Ok(EXIT_OK)
}

/// Opens a secret key file, asking for its passphrase only if it is encrypted.
pub(crate) fn open(path: &Path, source: &passphrase::Source) -> Result<SecretKey> {
    Ok(SecretKey::read_with(path, || {
        passphrase::get(
            source.passphrase_file.as_deref(),
            passphrase::ENV,
            &format!("Passphrase for {}: ", path.display()),
            false,
        )
        .map_err(|e| hallmark_issuer::Error::Passphrase(Box::new(e)))
    })?)
}

fn passwd(args: PasswdArgs) -> Result<u8> {
    let key = open(&args.key, &args.passphrase)?;
    let new = if args.unencrypted {
        None
    } else {
        Some(passphrase::get(
            args.new_passphrase_file.as_deref(),
            passphrase::ENV_NEW,
            &format!("New passphrase for {}: ", args.key.display()),
            true,
        )?)
    };
    key.rewrite(&args.key, new.as_ref())?;
    if new.is_none() {
        eprintln!(
            "hallmark: warning: {} is now NOT encrypted; anyone who reads it can mint genuine codes",
            args.key.display()
        );
    } else {
        eprintln!("changed the passphrase of {}", args.key.display());
    }
    Ok(EXIT_OK)
}
