//! Symbols of GS1 units: a GS1 Data Matrix (FNC1 first) of the element
//! string, or a QR of the Digital Link URI, within an optional size limit.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hallmark_label::symbol::{
    DEFAULT_SCALE, ImageFormat, SizeLimit, Symbol, render_gs1_datamatrix, render_within,
};
use hallmark_state::file::{self as durable, AtomicFile};

use crate::{CliError, Result};

/// A GS1 Data Matrix of `element` (GS separators, no leading FNC1).
pub(crate) fn datamatrix(
    element: &str,
    format: ImageFormat,
    max: Option<SizeLimit>,
) -> Result<Vec<u8>> {
    Ok(render_gs1_datamatrix(element, format, max)?)
}

/// A QR of `text` (a Digital Link URI).
pub(crate) fn qr(text: &str, format: ImageFormat, max: Option<SizeLimit>) -> Result<Vec<u8>> {
    Ok(render_within(text, Symbol::Qr, format, DEFAULT_SCALE, max)?)
}

/// Writes one image atomically as DIR/SERIAL.EXT (made durable with the
/// others by one syncfs at the end of the mint), and returns that path.
pub(crate) fn write(
    dir: &Path,
    serial: &str,
    format: ImageFormat,
    bytes: &[u8],
) -> Result<PathBuf> {
    let path = dir.join(format!("{serial}.{}", format.extension()));
    let mut file = AtomicFile::new(&path, durable::MODE_PUBLIC)?;
    file.write_all(bytes)
        .map_err(|e| CliError::about(path.display(), e))?;
    file.commit_replace_unsynced()?;
    Ok(path)
}
