//! Output files of the commands, written through `hallmark_state::file` (atomic,
//! never through a planted symlink), and the guard that keeps `--force` from
//! replacing the files hallmark itself depends on: the rules are the library's,
//! the messages naming `--force` are the CLI's.

use std::path::Path;

use hallmark_state::file::{self, Existing};

use crate::{CliError, Result};

/// Refuses `out` if it is (the same file as) one of `protected` (a key file,
/// its ledger, a trust store: `(path, what)` pairs), or if it holds a
/// hallmark secret key ([`file::refuse_protected`]).
pub(crate) fn refuse_protected(out: &Path, protected: &[(&Path, &'static str)]) -> Result<()> {
    Ok(file::refuse_protected(out, protected)?)
}

/// Writes an output file atomically: replacing an existing one (a symlink
/// itself, never its target) if `replace`, else only if nothing is there.
pub(crate) fn write_output(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    file::write_output(path, bytes, existing(replace)).map_err(|e| match e {
        file::FileError::Exists { path } => already_exists(&path),
        e => e.into(),
    })
}

/// [`Existing`] for a `--force` flag.
pub(crate) fn existing(force: bool) -> Existing {
    if force {
        Existing::Replace
    } else {
        Existing::Refuse
    }
}

/// An output that exists without `--force`.
pub(crate) fn already_exists(path: &Path) -> CliError {
    CliError::new(format!(
        "{}: already exists (use --force to replace it)",
        path.display()
    ))
}

/// The ledger of a key file unless `--ledger` names another
/// ([`hallmark_issuer::pipeline::ledger_path`]).
pub(crate) fn ledger_path(key: &Path, ledger: Option<&Path>) -> std::path::PathBuf {
    hallmark_issuer::pipeline::ledger_path(key, ledger)
}
