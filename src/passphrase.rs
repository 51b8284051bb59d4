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

/// Gets a passphrase from `file`, else `$env`, else the terminal (asking twice
/// when `confirm`).
pub(crate) fn get(
    file: Option<&Path>,
    env: &str,
    prompt: &str,
    confirm: bool,
) -> Result<Passphrase, hallmark_issuer::Error> {
    let invalid = hallmark_issuer::Error::Invalid;
    let text = if let Some(file) = file {
        let all = Zeroizing::new(
            crate::read_bounded(file, 64 * 1024, "the passphrase file")
                .map_err(|e| invalid(e.to_string()))?,
        );
        let all = Zeroizing::new(
            std::str::from_utf8(&all)
                .map_err(|_| {
                    invalid(format!(
                        "{}: the passphrase file is not UTF-8",
                        file.display()
                    ))
                })?
                .to_owned(),
        );
        Zeroizing::new(all.lines().next().unwrap_or_default().to_owned())
    } else if let Some(value) = std::env::var_os(env) {
        Zeroizing::new(
            value
                .into_string()
                .map_err(|_| invalid(format!("${env} is not valid UTF-8")))?,
        )
    } else {
        let ask = |p: &str| {
            rpassword::prompt_password(p)
                .map(Zeroizing::new)
                .map_err(|e| {
                    invalid(format!(
                        "no passphrase: cannot prompt on a terminal ({e}); \
                     set ${env} or pass --passphrase-file"
                    ))
                })
        };
        let first = ask(prompt)?;
        if confirm {
            let second = ask("Repeat the passphrase: ")?;
            if *first != *second {
                return Err(invalid("the passphrases do not match".into()));
            }
        }
        first
    };
    Passphrase::new(text)
}
