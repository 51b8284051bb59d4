//! `hallmark qr`

use std::fs;
use std::path::{Path, PathBuf};

use hallmark::UnverifiedCode;
use hallmark_label::data::{is_qr_alphanumeric, symbol_data};
use hallmark_label::symbol::{DEFAULT_SCALE, ImageFormat, MAX_SCALE, Matrix, Symbol};
use hallmark_label::zpl;
use hallmark_state::file;

use crate::{CliError, EXIT_NOT_GENUINE, EXIT_OK, Result};

/// Write a code as a QR or Data Matrix symbol (SVG or PNG) for a label, or
/// as a ZPL II label for a Zebra thermal printer.
///
/// The symbol holds the code's canonical text, or, when CODE is a verification
/// URL, that URL in upper case, so that a QR symbol stays in alphanumeric mode
/// (a 164-character code fits a version 7 symbol at error correction M). QR
/// symbols get a 4-module quiet zone, Data Matrix (ECC 200) a 1-module one.
///
/// CODE must be a well-formed code, but its signature is NOT verified: exits 1
/// if it does not decode. The format comes from the extension of FILE (.svg,
/// .png or .zpl) unless --format is given. A ZPL label (see `hallmark mint
/// --format zpl`) has the printer draw the symbol, --scale dots per module
/// (QR: 1 to 10), above the code in groups of four, laid out for --dpi
/// (default 203). FILE is written whole or not at all, and an
/// existing FILE is kept unless --force. --dpi D gives the printer's
/// resolution: a PNG carries it (a pHYs chunk) so it prints at --scale / D
/// inches per module, an SVG gets its size in millimetres.
///
/// Example:
///   hallmark qr 01ABC... --out label.png
///   hallmark qr 01ABC... --out label.png --scale 6 --dpi 300
///   hallmark qr 01ABC... --out label.zpl --dpi 300 --scale 6
///   hallmark qr https://hm.example.com/c/01ABC... --symbol datamatrix --out label.svg
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The code (any accepted spelling) or a verification URL.
    #[arg(value_name = "CODE")]
    code: String,
    /// The image file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The symbology.
    #[arg(long, value_enum, default_value_t = Symbol::Qr)]
    symbol: Symbol,
    /// The format (default: from the extension of FILE).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Pixels per module in a PNG (the nominal size of an SVG), dots per
    /// module in a ZPL label.
    #[arg(
        long,
        value_name = "PX",
        default_value_t = DEFAULT_SCALE,
        value_parser = crate::cmd::mint::number_in::<1, MAX_SCALE>
    )]
    scale: u32,
    /// The printer's resolution in dots per inch, written into the image.
    #[arg(long, value_name = "D",
          value_parser = crate::cmd::mint::number_in::<1, { hallmark_label::symbol::MAX_DPI }>)]
    dpi: Option<u32>,
    /// Replace FILE if it exists.
    #[arg(long)]
    force: bool,
}

/// What `hallmark qr` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Svg,
    Png,
    /// A ZPL II label.
    Zpl,
}

impl Format {
    fn from_extension(extension: &str) -> Option<Format> {
        if extension.eq_ignore_ascii_case("zpl") {
            return Some(Format::Zpl);
        }
        ImageFormat::from_extension(extension).map(|f| match f {
            ImageFormat::Svg => Format::Svg,
            ImageFormat::Png => Format::Png,
        })
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Png => "png",
            Format::Zpl => "zpl",
        }
    }
}

pub(crate) fn run(args: Args) -> Result<u8> {
    let format = image_format(&args.out, args.format)?;
    if !args.force && fs::symlink_metadata(&args.out).is_ok() {
        return Err(exists_error(&args.out));
    }
    let code = match UnverifiedCode::decode(&args.code) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hallmark: {}: {e}", e.verdict());
            return Ok(EXIT_NOT_GENUINE);
        }
    };
    let data = symbol_data(&args.code, &code);
    if args.symbol == Symbol::Qr && !data.chars().all(is_qr_alphanumeric) {
        eprintln!(
            "hallmark: warning: the URL has characters outside the QR alphanumeric set \
             (0-9 A-Z space $%*+-./:); the symbol will be larger"
        );
    }
    let matrix = Matrix::encode(&data, args.symbol)?;
    let image = match (format, args.dpi) {
        (Format::Zpl, dpi) => {
            let layout = zpl::Layout::new(args.symbol, dpi.unwrap_or(203), args.scale)
                .map_err(|e| CliError::new(format!("ZPL: {e}")))?;
            zpl::label(&data, &[], &zpl::group_code(&code.to_text()), &layout)
                .map_err(|e| CliError::new(format!("ZPL: {e}")))?
                .into_bytes()
        }
        (Format::Svg, Some(dpi)) => matrix.to_print_image(ImageFormat::Svg, args.scale, dpi)?,
        (Format::Png, Some(dpi)) => matrix.to_print_image(ImageFormat::Png, args.scale, dpi)?,
        (Format::Svg, None) => matrix.to_svg(args.scale)?.into_bytes(),
        (Format::Png, None) => matrix.to_png(args.scale)?,
    };
    write_atomically(&args.out, &image, args.force)?;

    let version = matrix
        .qr_version()
        .map_or(String::new(), |v| format!(" version {v}"));
    eprintln!(
        "wrote {}: {}{version}, {}x{} modules, {} (the code was not verified)",
        args.out.display(),
        matrix.symbol(),
        matrix.width(),
        matrix.height(),
        match format {
            Format::Svg => "SVG",
            Format::Png => "PNG",
            Format::Zpl => "ZPL",
        }
    );
    Ok(EXIT_OK)
}

/// The format asked for, or the one the file name's extension gives.
fn image_format(out: &Path, asked: Option<Format>) -> Result<Format> {
    let from_name = out
        .extension()
        .and_then(|e| e.to_str())
        .and_then(Format::from_extension);
    match (asked, from_name) {
        (Some(asked), Some(named)) if asked != named => Err(CliError::new(format!(
            "--format {} does not match the file name {}",
            asked.extension(),
            out.display()
        ))),
        (Some(format), _) | (None, Some(format)) => Ok(format),
        (None, None) => Err(CliError::new(format!(
            "cannot tell the format of {}: name it .svg, .png or .zpl, or give --format svg|png|zpl",
            out.display()
        ))),
    }
}

fn exists_error(path: &Path) -> CliError {
    CliError::new(format!(
        "{} exists; pass --force to replace it",
        path.display()
    ))
}

/// Writes `bytes` to `path` atomically ([`file::write_output`]); replacing
/// only if `replace`, and never a key file.
fn write_atomically(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    if replace {
        file::refuse_protected(path, &[])?;
    }
    file::write_output(path, bytes, crate::cmd::files::existing(replace)).map_err(|e| match e {
        file::FileError::Exists { path } => exists_error(&path),
        e => e.into(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn format_from_extension_or_flag() {
        let f = |name: &str, asked| image_format(Path::new(name), asked);
        assert_eq!(f("a/b.PNG", None).unwrap(), Format::Png);
        assert_eq!(f("b.svg", None).unwrap(), Format::Svg);
        assert_eq!(f("b.ZPL", None).unwrap(), Format::Zpl);
        assert_eq!(f("b.img", Some(Format::Svg)).unwrap(), Format::Svg);
        assert_eq!(f("b.png", Some(Format::Png)).unwrap(), Format::Png);
        assert!(f("b.zpl", Some(Format::Png)).is_err());
        assert!(
            f("b.jpg", None)
                .unwrap_err()
                .to_string()
                .contains("--format")
        );
        assert!(f("noext", None).is_err());
        assert!(f("b.png", Some(Format::Svg)).is_err());
    }
}
