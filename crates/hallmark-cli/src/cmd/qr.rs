//! `hallmark qr` (being written)

/// Write a code as a QR or Data Matrix symbol.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(_args: Args) -> crate::Result<u8> {
    Err(crate::CliError::new("not implemented yet"))
}
