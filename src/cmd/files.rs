//! Output files of the commands, written through `hallmark_state::file` (atomic,
//! never through a planted symlink), and the guard that keeps `--force` from
//! replacing the files hallmark itself depends on: the rules are the library's,
//! the messages naming `--force` are the CLI's.

use std::path::Path;

use hallmark_state::file::{self, Existing};

use crate::{CliError, Result};

/// Checks an output path before any work is done: refused if it exists and
/// `force` is not given, and whatever `force` says if it is (the same file
/// as) one of `protected` (`(path, what)` pairs: a key file, its ledger, a
/// trust store) or holds a hallmark secret key ([`file::refuse_protected`]).
pub(crate) fn check_output(
    out: &Path,
    force: bool,
    protected: &[(&Path, &'static str)],
) -> Result<()> {
    if !force && std::fs::symlink_metadata(out).is_ok() {
        return Err(already_exists(out));
    }
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
