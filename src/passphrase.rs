//! Where passphrases come from: `--passphrase-file`, the environment, or a prompt
//! on the terminal without echo.

use std::path::{Path, PathBuf};

use hallmark_issuer::Passphrase;
use zeroize::Zeroizing;

/// Environment variable holding the key file passphrase.
pub(crate) const ENV: &str = "HALLMARK_PASSPHRASE";
/// Environment variable holding the new passphrase for `hallmark key passwd`.
pub(crate) const ENV_NEW: &str = "HALLMARK_NEW_PASSPHRASE";

/// Passphrase options shared by commands that open a secret key.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Source {
    /// Read the key's passphrase from the first line of FILE (for automation).
    /// Otherwise it comes from $HALLMARK_PASSPHRASE, or a prompt on the terminal.
    #[arg(long, value_name = "FILE")]
    pub(crate) passphrase_file: Option<PathBuf>,
}

/// Why no passphrase could be had.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PassphraseError {
    /// The passphrase file could not be read.
    #[error(transparent)]
    File(#[from] hallmark_state::file::FileError),
    /// The passphrase file is not UTF-8.
    #[error("{}: the passphrase file is not UTF-8", path.display())]
    FileNotUtf8 { path: PathBuf },
    /// The environment variable is not UTF-8.
    #[error("${env} is not valid UTF-8")]
    EnvNotUtf8 { env: String },
    /// No terminal to prompt on.
    #[error(
        "no passphrase: cannot prompt on a terminal ({source}); set ${env} or pass --passphrase-file"
    )]
    NoTerminal { env: String, source: std::io::Error },
    /// The two entries differ.
    #[error("the passphrases do not match")]
    Mismatch,
    /// The passphrase itself is refused (empty).
    #[error(transparent)]
    Refused(#[from] hallmark_issuer::Error),
}

/// Fewer characters than this in a new passphrase get a warning (not a
/// refusal: the operator may have reasons, such as a passphrase manager's
/// policy, and the key file is mode 0600 anyway).
pub(crate) const RECOMMENDED_LEN: usize = 12;

/// The warning for a new passphrase of `len` characters, if it is short.
pub(crate) fn short_warning(len: usize) -> Option<String> {
    (len < RECOMMENDED_LEN).then(|| {
        format!(
            "hallmark: warning: the new passphrase has only {len} character{}; at least \
             {RECOMMENDED_LEN} are recommended (four or more random words are strong and easy \
             to type): it is all that protects the key if the key file is copied",
            if len == 1 { "" } else { "s" }
        )
    })
}

/// Gets a passphrase from `file`, else `$env`, else the terminal. `confirm`:
/// it is a new passphrase (keygen, key passwd), asked for twice on a
/// terminal and warned about on stderr if shorter than [`RECOMMENDED_LEN`].
pub(crate) fn get(
    file: Option<&Path>,
    env: &str,
    prompt: &str,
    confirm: bool,
) -> Result<Passphrase, PassphraseError> {
    let text = if let Some(file) = file {
        let all = Zeroizing::new(hallmark_state::file::read_bounded(
            file,
            64 * 1024,
            "the passphrase file",
        )?);
        let all = Zeroizing::new(
            std::str::from_utf8(&all)
                .map_err(|_| PassphraseError::FileNotUtf8 {
                    path: file.to_owned(),
                })?
                .to_owned(),
        );
        Zeroizing::new(all.lines().next().unwrap_or_default().to_owned())
    } else if let Some(value) = std::env::var_os(env) {
        Zeroizing::new(
            value
                .into_string()
                .map_err(|_| PassphraseError::EnvNotUtf8 {
                    env: env.to_owned(),
                })?,
        )
    } else {
        let ask = |p: &str| {
            rpassword::prompt_password(p)
                .map(Zeroizing::new)
                .map_err(|source| PassphraseError::NoTerminal {
                    env: env.to_owned(),
                    source,
                })
        };
        let first = ask(prompt)?;
        if confirm {
            let second = ask("Repeat the passphrase: ")?;
            if *first != *second {
                return Err(PassphraseError::Mismatch);
            }
        }
        first
    };
    if confirm
        && !text.is_empty()
        && let Some(warning) = short_warning(text.chars().count())
    {
        eprintln!("{warning}");
    }
    Ok(Passphrase::new(text)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn short_passphrases_are_warned_about() {
        let w = short_warning(8).unwrap();
        assert!(w.contains("only 8 characters"), "{w}");
        assert!(w.contains("at least 12"), "{w}");
        assert!(short_warning(1).unwrap().contains("only 1 character;"));
        assert!(short_warning(11).is_some());
        assert!(short_warning(12).is_none());
        assert!(short_warning(40).is_none());
    }
}
