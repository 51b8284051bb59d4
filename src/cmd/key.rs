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

/// Print a key file's name, key id and public key (no passphrase needed), or
/// those of a key in an HSM or token (--signer pkcs11:..., which logs in to
/// the token with its PIN and test-signs once).
///
/// With --public-file, print instead the text of a public key file for
/// `hallmark trust add` (how a token key's public key gets into trust stores).
///
/// Examples:
///   hallmark key show keys/acme.key
///   hallmark key show --signer 'pkcs11:token=line-1;object=acme-1' --public-file > acme-1.pub
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ShowArgs {
    /// The secret key file (or its .pub file).
    #[arg(
        value_name = "KEY",
        required_unless_present = "signer",
        conflicts_with = "signer"
    )]
    key: Option<PathBuf>,
    #[command(flatten)]
    signer: crate::signer::SignerArgs,
    /// Print the text of a public key file (for `hallmark trust add`) instead.
    #[arg(long, conflicts_with = "json")]
    public_file: bool,
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
    let (name, public, encrypted) = match (&args.key, &args.signer.signer) {
        (_, Some(uri)) => {
            use hallmark_issuer::signer::Signer as _;
            let signer = crate::signer::open(uri, &args.signer)?;
            (signer.name().to_owned(), signer.public_key(), None)
        }
        (Some(key), None) if key.extension().is_some_and(|e| e == "pub") => {
            let file = hallmark_issuer::PublicKeyFile::read(key)?;
            (file.name, file.key, None)
        }
        (Some(key), None) => {
            let file = KeyFile::read(key)?;
            let public = match file.public_key {
                Some(p) => p,
                // Older unencrypted files do not state it: derive it.
                None => SecretKey::read(key)?.public_key(),
            };
            (file.name, public, Some(file.encrypted))
        }
        (None, None) => return Err(crate::CliError::new("give KEY or --signer PKCS11-URI")),
    };
    if args.public_file {
        print!("{}", hallmark_issuer::public_file_text(&name, &public));
        return Ok(EXIT_OK);
    }
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
