//! Symbols of GS1 units: a GS1 Data Matrix (FNC1 first) of the element
//! string, or a QR of the Digital Link URI, within an optional size limit.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hallmark_label::symbol::{ImageFormat, Matrix, SizeLimit, Symbol};
use hallmark_state::file::{self as durable, AtomicFile};

use crate::cmd::mint::Print;
use crate::{CliError, Result};

/// A GS1 Data Matrix of `element` (GS separators, no leading FNC1).
pub(crate) fn datamatrix(
    element: &str,
    format: ImageFormat,
    max: Option<SizeLimit>,
    print: Print,
) -> Result<Vec<u8>> {
    image(&Matrix::encode_gs1_datamatrix(element, max)?, format, print)
}

/// A QR of `text` (a Digital Link URI).
pub(crate) fn qr(
    text: &str,
    format: ImageFormat,
    max: Option<SizeLimit>,
    print: Print,
) -> Result<Vec<u8>> {
    image(
        &Matrix::encode_within(text, Symbol::Qr, max)?,
        format,
        print,
    )
}

/// The image of `matrix`, `print.module_px` pixels per module, carrying
/// the printer's resolution if given.
fn image(matrix: &Matrix, format: ImageFormat, print: Print) -> Result<Vec<u8>> {
    Ok(match print.dpi {
        Some(dpi) => matrix.to_print_image(format, print.module_px, dpi)?,
        None => matrix.to_image(format, print.module_px)?,
    })
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
