//! One module per subcommand.

use clap::Subcommand;

use crate::Result;

mod batches;
mod inspect;
pub(crate) mod key;
mod keygen;
mod mint;
mod qr;
mod revocations;
mod serve;
mod status;
mod token;
mod trust;
mod verify;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Keygen(keygen::Args),
    #[command(subcommand)]
    Key(key::Command),
    #[command(subcommand)]
    Trust(trust::Command),
    Mint(mint::Args),
    Batches(batches::Args),
    Verify(verify::Args),
    Inspect(inspect::Args),
    Qr(qr::Args),
    #[command(subcommand)]
    Revocations(revocations::Command),
    Serve(serve::Args),
    #[command(subcommand)]
    Token(token::Command),
    #[command(subcommand)]
    Status(status::Command),
}

impl Command {
    /// Runs the subcommand; returns the exit status.
    pub(crate) fn run(self) -> Result<u8> {
        match self {
            Command::Keygen(args) => keygen::run(args),
            Command::Key(cmd) => key::run(cmd),
            Command::Trust(cmd) => trust::run(cmd),
            Command::Mint(args) => mint::run(args),
            Command::Batches(args) => batches::run(args),
            Command::Verify(args) => verify::run(args),
            Command::Inspect(args) => inspect::run(args),
            Command::Qr(args) => qr::run(args),
            Command::Revocations(cmd) => revocations::run(cmd),
            Command::Serve(args) => serve::run(args),
            Command::Token(cmd) => token::run(cmd),
            Command::Status(cmd) => status::run(cmd),
        }
    }
}

/// Parses a `YYYY-MM-DD` argument.
pub(crate) fn parse_date(s: &str) -> Result<hallmark::Date, String> {
    s.parse().map_err(|e: hallmark::Error| e.to_string())
}

/// Today's date in UTC from the system clock.
pub(crate) fn today() -> Result<hallmark::Date> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| crate::CliError::new("the system clock is before 1970"))?
        .as_secs();
    hallmark::Date::from_days(secs / 86_400)
        .ok_or_else(|| crate::CliError::new("the system clock is past 9999-12-31"))
}
