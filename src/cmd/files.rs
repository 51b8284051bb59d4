//! Output files of the commands, written through `hallmark_state::file` (atomic,
//! never through a planted symlink), and the guard that keeps `--force` from
//! replacing the files hallmark itself depends on.

use std::io::Read;
use std::path::Path;

use hallmark_state::file;

use crate::{CliError, Result};

/// First bytes of a secret key file.
const SECRET_KEY_MAGIC: &[u8] = b"# hallmark secret key";

/// Refuses `out` if it is (the same file as) one of `protected` (a key file,
/// its ledger, a trust store: `(path, what)` pairs), or if it holds a
/// hallmark secret key, whatever the command: `--force` replaces outputs,
/// never the files that mint and verify depend on.
pub(crate) fn refuse_protected(out: &Path, protected: &[(&Path, &str)]) -> Result<()> {
    for (path, what) in protected {
        if file::same_file(out, path) {
            return Err(CliError::new(format!(
                "{}: is {what} {}; refusing to replace it",
                out.display(),
                path.display()
            )));
        }
    }
    let mut head = [0u8; SECRET_KEY_MAGIC.len()];
    let is_key = std::fs::File::open(out)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == SECRET_KEY_MAGIC;
    if is_key {
        return Err(CliError::new(format!(
            "{}: is a hallmark secret key file; refusing to replace it",
            out.display()
        )));
    }
    Ok(())
}

/// Writes an output file atomically: replacing an existing one (a symlink
/// itself, never its target) if `replace`, else only if nothing is there.
pub(crate) fn write_output(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    if replace {
        file::replace(path, bytes, file::MODE_PUBLIC)?;
    } else {
        file::create(path, bytes, file::MODE_PUBLIC).map_err(|e| match e {
            file::FileError::Exists { path } => CliError::new(format!(
                "{}: already exists (use --force to replace it)",
                path.display()
            )),
            e => e.into(),
        })?;
    }
    Ok(())
}

/// The ledger of a key file unless `--ledger` names another.
pub(crate) fn ledger_path(key: &Path, ledger: Option<&Path>) -> std::path::PathBuf {
    ledger.map_or_else(|| key.with_extension("ledger"), Path::to_path_buf)
}
