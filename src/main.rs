//! The `hallmark` command: argument parsing, wiring and output. Every rule lives
//! in the libraries under `crates/`; see `hallmark --help`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

mod cmd;
mod output;
mod passphrase;
mod service;
mod signer;

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
            eprintln!("hallmark: error: {}", e.report());
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The error a command ends with (exit status 2): a message of the command's
/// own, a library error, or both. The library error is kept whole, so
/// [`CliError::chain`] can print its `source()` chain once, at the top.
pub(crate) struct CliError {
    /// What the command was doing, or what was wrong (when `source` is `None`).
    context: Option<String>,
    /// The error that caused it.
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl CliError {
    /// An error with a message only.
    pub(crate) fn new(message: impl Into<String>) -> CliError {
        CliError {
            context: Some(message.into()),
            source: None,
        }
    }

    /// `context` (what was being done, such as a file's path), caused by `source`.
    pub(crate) fn context(
        context: impl std::fmt::Display,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> CliError {
        CliError {
            context: Some(context.to_string()),
            source: Some(source.into()),
        }
    }

    /// `WHAT: SOURCE` (a path or a flag, then the error's own message),
    /// keeping `source` and its chain: the message reads as one line, and
    /// causes below `source` are still reported once.
    pub(crate) fn about(
        what: impl std::fmt::Display,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> CliError {
        CliError {
            context: Some(format!("{what}: {source}")),
            source: Some(Box::new(source)),
        }
    }

    /// The causes below this error's own message, outermost first.
    pub(crate) fn chain(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        let first: Option<&(dyn std::error::Error + 'static)> = match (&self.context, &self.source)
        {
            (Some(_), Some(source)) => Some(source.as_ref()),
            (None, Some(source)) => source.source(),
            (_, None) => None,
        };
        std::iter::successors(first, |e| e.source())
    }

    /// The whole error on one line: the message, then the first line of each
    /// cause not already part of the text before it (`X: caused by Y`).
    pub(crate) fn report(&self) -> String {
        let mut text = self.to_string();
        for cause in self.chain() {
            // One line per cause: a parser's multi-line report (a TOML snippet)
            // gives its first line.
            let cause = cause.to_string();
            let cause = cause.lines().next().unwrap_or_default().trim_end();
            if !cause.is_empty() && !text.contains(cause) {
                text.push_str(": caused by ");
                text.push_str(cause);
            }
        }
        text
    }

    /// Whether the error is a closed output pipe (`hallmark verify ... | head`),
    /// which ends the command quietly.
    fn is_broken_pipe(&self) -> bool {
        let top = self
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        std::iter::successors(top, |e| e.source()).any(|e| {
            e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                || e.downcast_ref::<hallmark_state::file::FileError>()
                    .is_some_and(|f| f.io_kind() == Some(std::io::ErrorKind::BrokenPipe))
        })
    }
}

impl std::fmt::Debug for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.report())
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.context, &self.source) {
            (Some(context), _) => f.write_str(context),
            (None, Some(source)) => write!(f, "{source}"),
            (None, None) => f.write_str("error"),
        }
    }
}

/// Any library error (hallmark, hallmark-issuer, hallmark-state, hallmark-label,
/// I/O, ...) converts with `?`, kept whole with its `source()` chain. `CliError`
/// itself does not implement `std::error::Error`, so this does not overlap with
/// `From<T> for T`.
impl<E: std::error::Error + Send + Sync + 'static> From<E> for CliError {
    fn from(e: E) -> CliError {
        CliError {
            context: None,
            source: Some(Box::new(e)),
        }
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
