//! Symbols of GS1 units: a GS1 Data Matrix (FNC1 first) of the element
//! string, or a QR of the Digital Link URI, within an optional size limit.

use std::io::Write as _;
use std::path::Path;

use hallmark_label::symbol::{ImageFormat, Symbol, render};
use hallmark_state::file::{self as durable, AtomicFile};

use crate::{CliError, Result};

/// A GS1 Data Matrix of `element` (GS separators, no leading FNC1).
pub(crate) fn datamatrix(element: &str, format: ImageFormat, max: Option<&str>) -> Result<Vec<u8>> {
    let _ = (element, format, max);
    Err(CliError::new("GS1 Data Matrix symbols are not built yet"))
}

/// A QR of `text` (a Digital Link URI).
pub(crate) fn qr(text: &str, format: ImageFormat, max: Option<&str>) -> Result<Vec<u8>> {
    let _ = max;
    Ok(render(text, Symbol::Qr, format)?)
}

/// Writes one image atomically as DIR/SERIAL.EXT (made durable with the
/// others by one syncfs at the end of the mint).
pub(crate) fn write(dir: &Path, serial: &str, format: ImageFormat, bytes: &[u8]) -> Result<()> {
    let path = dir.join(format!("{serial}.{}", format.extension()));
    let mut file = AtomicFile::new(&path, durable::MODE_PUBLIC)?;
    file.write_all(bytes)
        .map_err(|e| CliError::about(path.display(), e))?;
    Ok(file.commit_replace_unsynced()?)
}
