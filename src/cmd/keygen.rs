//! `hallmark keygen`

use std::path::PathBuf;

use hallmark_issuer::SecretKey;

use crate::passphrase;
use crate::{EXIT_OK, Result};

/// Generate a key pair: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub.
///
/// The secret key is encrypted with a passphrase (argon2id, XChaCha20-Poly1305),
/// asked for twice on the terminal, or taken from --passphrase-file or
/// $HALLMARK_PASSPHRASE; one shorter than 12 characters is warned about (four
/// or more random words make a strong one). Prints the new key's id (8 hex
/// digits) on stdout.
/// Existing files are never overwritten. Add the public key to a trust store with
/// `hallmark trust add`.
///
/// A key's role is what it will be trusted for; the key files are the same:
///   line      (default) mints codes and signs batch manifests; trusted as a
///             plain key (`trust add KEY.pub`) or certified by a root
///   root      certifies line and registry keys (`hallmark cert issue`) and
///             signs nothing else; keep it offline, encrypted, with a backup
///   registry  signs receipts, revocation snapshots and trust bundles (the
///             key `hallmark serve --revocation-key` holds)
///
/// Examples:
///   hallmark keygen --name acme-2026 --out keys
///   hallmark keygen --role root --name acme-root --out /media/offline
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Key name: 1 to 64 characters of A-Z a-z 0-9 . _ -, not starting with . (also the file name).
    #[arg(long)]
    name: String,
    /// Directory to write the key files into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// What the key is for: line, root or registry (see above); decides the
    /// next steps printed.
    #[arg(long, value_enum, default_value_t = Role::Line)]
    role: Role,
    /// Store the secret key without a passphrase (for demos and tests only).
    #[arg(long)]
    unencrypted: bool,
    #[command(flatten)]
    passphrase: passphrase::Source,
}

/// What a key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Role {
    Line,
    Root,
    Registry,
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
    match args.role {
        Role::Line => {}
        Role::Root => eprintln!(
            "next: certify line keys with `hallmark cert issue --root {}`; give verifiers {} \
             (`hallmark trust add --root`); keep {} offline",
            key_path.display(),
            pub_path.display(),
            key_path.display()
        ),
        Role::Registry => eprintln!(
            "next: certify it for the registry usage (`hallmark cert issue --usage registry {}`) \
             and run `hallmark serve --revocation-key {}`",
            pub_path.display(),
            key_path.display()
        ),
    }
    println!("{}", key.kid());
    Ok(EXIT_OK)
}
