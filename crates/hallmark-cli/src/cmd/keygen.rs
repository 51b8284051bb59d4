//! `hallmark keygen`

use std::path::PathBuf;

use hallmark_issuer::SecretKey;

use crate::{CliError, EXIT_OK, Result};

/// Generate an issuer key pair: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub.
///
/// Prints the new key's id (8 hex digits) on stdout. Existing files are never
/// overwritten. Add the public key to a trust store with `hallmark trust add`.
///
/// Example:
///   hallmark keygen --name acme-2026 --out keys --unencrypted
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Key name: 1 to 64 characters of A-Z a-z 0-9 . _ - (also the file name).
    #[arg(long)]
    name: String,
    /// Directory to write the key files into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Store the secret key without a passphrase (for demos and tests only).
    #[arg(long)]
    unencrypted: bool,
}

pub(crate) fn run(args: Args) -> Result<u8> {
    if !args.unencrypted {
        return Err(CliError::new(
            "passphrase-protected key files are not available in this version; \
             pass --unencrypted to store the key in plain text (protect the file yourself)",
        ));
    }
    let key = SecretKey::generate(&args.name)?;
    let (key_path, pub_path) = key.write_unencrypted(&args.out)?;
    eprintln!(
        "hallmark: warning: {} is NOT encrypted; anyone who reads it can mint genuine codes",
        key_path.display()
    );
    eprintln!(
        "wrote {} (secret, mode 0600) and {}",
        key_path.display(),
        pub_path.display()
    );
    println!("{}", key.kid());
    Ok(EXIT_OK)
}
