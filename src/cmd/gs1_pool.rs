//! `hallmark gs1 sign --serials FILE`: GS1 units from an external serial pool.

use std::path::{Path, PathBuf};

use crate::cmd::gs1::{Job, MintFiles};
use crate::{CliError, Result};

pub(crate) fn sign_pool(
    key: Option<PathBuf>,
    signer: crate::signer::SignerArgs,
    passphrase: crate::passphrase::Source,
    job: Job,
    pool: &Path,
    files: MintFiles,
) -> Result<u8> {
    let _ = (key, signer, passphrase, job, files);
    Err(CliError::new(format!(
        "{}: serial pools are not built yet",
        pool.display()
    )))
}
