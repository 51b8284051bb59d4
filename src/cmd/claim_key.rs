//! `hallmark claim-key new`

use std::path::PathBuf;

use hallmark_issuer::claim::ClaimKey;

use crate::{CliError, EXIT_OK, Result};

/// Warranty claim keys: the secret from which `hallmark mint --claim-codes`
/// derives each unit's claim code (printed inside its package), and with
/// which `hallmark serve --claim-key` checks registrations. It is separate
/// from the signing keys: whoever holds it can register units before their
/// owners, but cannot make or alter a code.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    New(NewArgs),
}

/// Make a new claim key (32 random bytes) in a new file, mode 0600.
///
/// Example:
///   hallmark claim-key new --out claim.key
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct NewArgs {
    /// The key file to create (never overwritten).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::New(args) => {
            let key =
                ClaimKey::generate_os().map_err(|e| CliError::context("making a claim key", e))?;
            key.write_new(&args.out)
                .map_err(|e| CliError::context(format!("{}", args.out.display()), e))?;
            eprintln!(
                "wrote the claim key {} (mode 0600); keep it secret, and give the same file to \
                 `hallmark serve --claim-key`",
                args.out.display()
            );
            Ok(EXIT_OK)
        }
    }
}
