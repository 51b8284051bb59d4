//! The `hallmark` command: argument parsing, wiring and output. Every rule lives
//! in the libraries under `crates/`; see `hallmark --help`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

mod client;
mod cmd;
mod input;
mod output;
mod passphrase;

/// Exit status: every code genuine / command succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit status: at least one code was not genuine.
pub const EXIT_NOT_GENUINE: u8 = 1;
/// Exit status: usage or I/O error.
pub const EXIT_ERROR: u8 = 2;

/// hallmark: mint and verify signed serial codes that make counterfeits detectable.
///
/// Each code carries a unit's serial, part number, lot and date of manufacture,
/// signed with the manufacturer's Ed25519 key, in 164 base32 characters.
/// Anyone with the manufacturer's public key can check a code offline.
///
/// Exit status: 0 success (every code genuine), 1 a code was not genuine,
/// 2 usage or I/O error.
#[derive(Debug, Parser)]
#[command(name = "hallmark", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: cmd::Command,
}

/// Runs the CLI with the process's arguments and returns its exit status.
fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.run() {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("hallmark: error: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// An error that ends the command with exit status 2.
#[derive(Debug)]
pub(crate) struct CliError(String, bool);

impl CliError {
    pub(crate) fn new(message: impl Into<String>) -> CliError {
        CliError(message.into(), false)
    }

    fn is_broken_pipe(&self) -> bool {
        self.1
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError(e.to_string(), e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl From<hallmark_issuer::Error> for CliError {
    fn from(e: hallmark_issuer::Error) -> CliError {
        CliError::new(e.to_string())
    }
}

impl From<hallmark_state::journal::JournalError> for CliError {
    fn from(e: hallmark_state::journal::JournalError) -> CliError {
        CliError::new(e.to_string())
    }
}

impl From<hallmark_state::file::FileError> for CliError {
    fn from(e: hallmark_state::file::FileError) -> CliError {
        let broken_pipe = e.io_kind() == Some(std::io::ErrorKind::BrokenPipe);
        CliError(e.to_string(), broken_pipe)
    }
}

impl From<hallmark_state::sequence::SequenceError> for CliError {
    fn from(e: hallmark_state::sequence::SequenceError) -> CliError {
        CliError::new(e.to_string())
    }
}

impl From<hallmark::Error> for CliError {
    fn from(e: hallmark::Error) -> CliError {
        CliError::new(e.to_string())
    }
}

pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;

/// Reads a whole file of at most `max` bytes, refusing a larger one before
/// reading it all (so a huge or endless file cannot exhaust memory).
pub(crate) fn read_bounded(
    path: &std::path::Path,
    max: usize,
    what: &'static str,
) -> Result<Vec<u8>> {
    Ok(hallmark_state::file::read_bounded(path, max as u64, what)?)
}

/// [`read_bounded`], as UTF-8 text.
pub(crate) fn read_text_bounded(
    path: &std::path::Path,
    max: usize,
    what: &'static str,
) -> Result<String> {
    Ok(hallmark_state::file::read_text_bounded(
        path, max as u64, what,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
