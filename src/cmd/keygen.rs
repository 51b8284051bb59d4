//! `hallmark keygen`

use std::path::PathBuf;

use hallmark_issuer::SecretKey;

use crate::passphrase;
use crate::{EXIT_OK, Result};

/// Generate an issuer key pair: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub.
///
/// The secret key is encrypted with a passphrase (argon2id, XChaCha20-Poly1305),
/// asked for twice on the terminal, or taken from --passphrase-file or
/// $HALLMARK_PASSPHRASE. Prints the new key's id (8 hex digits) on stdout.
/// Existing files are never overwritten. Add the public key to a trust store with
/// `hallmark trust add`.
///
/// Example:
///   hallmark keygen --name acme-2026 --out keys
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Key name: 1 to 64 characters of A-Z a-z 0-9 . _ -, not starting with . (also the file name).
    #[arg(long)]
    name: String,
    /// Directory to write the key files into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Store the secret key without a passphrase (for demos and tests only).
    #[arg(long)]
    unencrypted: bool,
    #[command(flatten)]
    passphrase: passphrase::Source,
}

pub(crate) fn run(args: Args) -> Result<u8> {
    let key = SecretKey::generate_os(&args.name)?;
    let passphrase = if args.unencrypted {
        None
    } else {
        Some(passphrase::get(
            args.passphrase.passphrase_file.as_deref(),
            passphrase::ENV,
            &format!("Passphrase for the new key {}: ", args.name),
            true,
        )?)
    };
    let (key_path, pub_path) = key.write_files(&args.out, passphrase.as_ref())?;
    if args.unencrypted {
        eprintln!(
            "hallmark: warning: {} is NOT encrypted; anyone who reads it can mint genuine codes",
            key_path.display()
        );
    }
    eprintln!(
        "wrote {} (secret, mode 0600) and {}",
        key_path.display(),
        pub_path.display()
    );
    println!("{}", key.kid());
    Ok(EXIT_OK)
}
