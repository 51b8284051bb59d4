//! Finding and decoding QR and Data Matrix codes in photos of labels (PNG or
//! JPEG).
//!
//! [`read_codes_file`] and [`read_codes`] (also under their former names
//! [`decode_qr_file`] and [`decode_qr_codes`]) return the text of every QR
//! and Data Matrix code in a picture, in reading order: rows top to bottom, each row left to right.
//! A picture without a QR code gives an empty list, not an error. A QR code
//! that is found but cannot be read (too blurred, damaged, cut off) is an
//! error, [`ImageError::UnreadableQr`], which still carries the codes that
//! were read: a caller can report those and ask for a better photo.
//!
//! The detector is rqrr, a port of quirc: it corrects rotation and moderate
//! perspective but wants sharp edges and about 3 pixels a module. So a photo
//! is searched in passes: in greyscale as it is (reduced to [`WORK_SIDE`]
//! pixels on the longer side if larger), sharpened, thresholded against the
//! local mean, at half size; then, for small symbols, enlarged and sharpened,
//! or at full resolution. Within a pass each symbol read is painted out and
//! the detector run again, as rqrr pairs finder patterns greedily and can
//! miss symbols side by side. The passes stop once what they found has been
//! read and two passes in a row add nothing.
//!
//! On photos made like those in tests/images.rs (a label on a cluttered,
//! noisy background, JPEG quality 75) this reads symbols at any rotation down
//! to about 2.4 pixels a module with a Gaussian blur of sigma 0.7 pixels; at 4
//! pixels a module up to sigma 2, at 10 up to sigma 4. Smaller or blurrier
//! symbols may be found but not read, or not found. Timings are in
//! docs/PERFORMANCE.md.
//!
//! Data Matrix symbols are found and read by rxing (a port of ZXing) in a
//! few passes of their own after the QR passes: the working picture as it
//! is and sharpened, at half size, and, when nothing else was found,
//! enlarged or at full resolution. A GS1 Data Matrix (FNC1 in first
//! position) is reported as [`GS1_DATAMATRIX`] (`]d2`) followed by its element
//! string with GS separators, a GS1 QR symbol as [`GS1_QR`] (`]Q3`) likewise,
//! so that a GS1 parser applies; any other symbol as its text. A Data Matrix
//! that is found but cannot be read is not reported (rxing tells only what it
//! read).
//!
//! Work per photo is bounded: a photo is searched for at most [`MAX_SYMBOLS`]
//! symbols, one that seems to hold more is refused at once
//! ([`ImageError::TooManySymbols`]), and the detector's candidates over all
//! passes are capped.
//!
//! Input is untrusted: the file size and the pixel count are checked against
//! [`MAX_FILE_BYTES`] and [`MAX_PIXELS`] from the header, before any pixel data
//! is decoded, and the decoder's allocations are capped. Nothing here panics on
//! any input: a panic inside the detector (rqrr has assertions that some
//! pictures trip) is caught and that pass finds nothing; one inside an image
//! decoder gives [`ImageError::Decode`]. The panic hook still runs, so unless
//! the program installs a quiet one, the panic message goes to stderr.
//!
//! ```
//! use hallmark_label::photo::decode_qr_codes;
//! use hallmark_label::symbol::{ImageFormat, Symbol, render};
//!
//! let code = "01HM".repeat(41); // 164 characters, like a sample code
//! let png = render(&code, Symbol::Qr, ImageFormat::Png)?;
//! assert_eq!(decode_qr_codes(&png)?, vec![code]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read as _};
use std::path::Path;

use ::image::{DynamicImage, ImageDecoder as _, ImageFormat, ImageReader, Limits};

/// Largest image file read, in bytes (64 MiB).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Largest image decoded, in pixels (40 megapixels).
pub const MAX_PIXELS: u64 = 40_000_000;

/// Most bytes the decoded pixels may take before conversion to greyscale: 4
/// bytes a pixel at [`MAX_PIXELS`], so 8-bit RGBA or 16-bit RGB photos of any
/// accepted size, and 16-bit RGBA up to 20 megapixels.
pub const MAX_DECODED_BYTES: u64 = 4 * MAX_PIXELS;

/// Longer side, in pixels, that larger photos are reduced to for the first
/// passes. Label symbols photographed to be read span a good part of the
/// picture; at this size a version 8 symbol (the URL form) filling a tenth of
/// the width still has 3 pixels per module.
pub const WORK_SIDE: u32 = 1600;

/// Most QR codes one photo is searched for. A photo of a label holds one, of
/// a shelf a few; the detector's work grows faster than the number of symbols
/// (each candidate group of finder patterns is fitted against the picture), so
/// a photo that seems to hold more is refused at once
/// ([`ImageError::TooManySymbols`]) instead of being searched for minutes.
pub const MAX_SYMBOLS: usize = 16;

/// Most finder-like patterns (the squares in a QR symbol's three corners) in
/// the working picture before the photo is refused: three per symbol, and
/// room for patterns in the background.
const MAX_FINDERS: usize = 3 * MAX_SYMBOLS + 16;

/// Most symbol candidates the detector may report over all passes and rounds
/// of one photo: the bound on the work a photo costs, whatever it shows.
const MAX_CANDIDATES: usize = 8 * MAX_SYMBOLS;

/// Why the QR codes in an image could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum ImageError {
    /// The file could not be read.
    Io(io::Error),
    /// The data is neither PNG nor JPEG.
    UnsupportedFormat,
    /// The data looks like PNG or JPEG but cannot be decoded: corrupt,
    /// truncated, or using a feature the decoder lacks.
    Decode {
        /// The format the data claims to be.
        format: &'static str,
        /// What the image decoder reported.
        source: ::image::ImageError,
    },
    /// The image decoder panicked on the data (caught: a decoder bug, reported
    /// as an undecodable image).
    DecoderFailed {
        /// The format the data claims to be.
        format: &'static str,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    FileTooLarge {
        /// Size of the file, in bytes.
        len: u64,
    },
    /// The image has more than [`MAX_PIXELS`] pixels, or its decoded pixel
    /// data would take more than [`MAX_DECODED_BYTES`].
    TooLarge {
        /// Width, in pixels.
        width: u32,
        /// Height, in pixels.
        height: u32,
    },
    /// The image decoder would need more memory than [`MAX_DECODED_BYTES`],
    /// for pixels or for other data in the file.
    TooMuchMemory {
        /// What the image decoder reported.
        source: ::image::error::LimitError,
    },
    /// The image declares a width or height of zero.
    Empty,
    /// The photo holds more QR codes (or patterns that look like their finder
    /// squares) than one photo is searched for: at most [`MAX_SYMBOLS`]. The
    /// work a photo costs grows with the symbols in it, so a sheet of labels
    /// is refused rather than searched for minutes.
    TooManySymbols {
        /// How many symbols the photo seems to hold, at least.
        about: usize,
    },
    /// At least one QR code was found but could not be read.
    UnreadableQr {
        /// The codes that were read, in reading order.
        decoded: Vec<String>,
        /// How many symbols were found but not read.
        unreadable: usize,
        /// Why the first of them could not be read, as the QR decoder put it.
        reason: rqrr::DeQRError,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Io(e) => write!(f, "cannot read the image: {e}"),
            ImageError::UnsupportedFormat => {
                f.write_str("unsupported image format: only PNG and JPEG can be read")
            }
            ImageError::Decode { format, source } => write!(
                f,
                "cannot decode the {format} image (corrupt, truncated or unsupported): {source}"
            ),
            ImageError::DecoderFailed { format } => write!(
                f,
                "cannot decode the {format} image (corrupt, truncated or unsupported): \
                 the image decoder failed"
            ),
            ImageError::FileTooLarge { len } => write!(
                f,
                "the image file is too large: {len} bytes (at most {MAX_FILE_BYTES})"
            ),
            ImageError::TooMuchMemory { source } => write!(
                f,
                "the image needs too much memory to decode (at most {MAX_DECODED_BYTES} \
                 bytes): {source}"
            ),
            ImageError::TooLarge { width, height } => write!(
                f,
                "the image is too large: {width} x {height} pixels (at most {MAX_PIXELS} \
                 pixels and {MAX_DECODED_BYTES} bytes of pixel data)"
            ),
            ImageError::Empty => f.write_str("the image has no pixels"),
            ImageError::TooManySymbols { about } => write!(
                f,
                "the image holds too many QR codes (about {about}; at most {MAX_SYMBOLS} are \
                 searched for in one photo): photograph fewer labels at a time"
            ),
            ImageError::UnreadableQr {
                decoded,
                unreadable,
                reason,
            } => {
                let (n, s) = (*unreadable, if *unreadable == 1 { "" } else { "s" });
                write!(f, "found {n} QR code{s} that could not be read ({reason})")?;
                if !decoded.is_empty() {
                    write!(f, " besides {} that could", decoded.len())?;
                }
                f.write_str("; try a sharper, closer, straight-on photo")
            }
        }
    }
}

impl std::error::Error for ImageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ImageError::Io(e) => Some(e),
            ImageError::Decode { source, .. } => Some(source),
            ImageError::TooMuchMemory { source } => Some(source),
            ImageError::UnreadableQr { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

impl From<io::Error> for ImageError {
    fn from(e: io::Error) -> ImageError {
        ImageError::Io(e)
    }
}

/// Reads the PNG or JPEG file at `path` and returns the text of every QR and
/// Data Matrix code in it, in reading order. See [`read_codes`].
pub fn read_codes_file(path: &Path) -> Result<Vec<String>, ImageError> {
    decode_qr_file(path)
}

/// Returns the text of every QR and Data Matrix code in a PNG or JPEG image,
/// in reading order: rows top to bottom, each row left to right. GS1 symbols
/// come with their symbology identifier (see the [module](self) docs).
///
/// ```
/// use hallmark_label::photo::read_codes;
/// use hallmark_label::symbol::{ImageFormat, render_gs1_datamatrix};
///
/// let element_string = "010950600013435217251231\x1d10ABC123\x1d21XYZ0123456";
/// let png = render_gs1_datamatrix(element_string, ImageFormat::Png, None)?;
/// assert_eq!(read_codes(&png)?, vec![format!("]d2{element_string}")]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_codes(bytes: &[u8]) -> Result<Vec<String>, ImageError> {
    decode_qr_codes(bytes)
}

/// [`read_codes_file`] under its former name: reads Data Matrix codes too.
///
/// Files over [`MAX_FILE_BYTES`] are refused before they are read.
pub fn decode_qr_file(path: &Path) -> Result<Vec<String>, ImageError> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len > MAX_FILE_BYTES {
        return Err(ImageError::FileTooLarge { len });
    }
    // The file may grow between the check and the read: read one byte past the
    // limit at most, and let decode_qr_codes refuse it.
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    decode_qr_codes(&bytes)
}

/// [`read_codes`] under its former name: reads Data Matrix codes too.
///
/// No QR code in the image gives an empty list. A QR code found but not read
/// gives [`ImageError::UnreadableQr`], which carries the codes that were read.
pub fn decode_qr_codes(bytes: &[u8]) -> Result<Vec<String>, ImageError> {
    let grey = load_grey(bytes)?;
    let symbols = scan(&grey, &PASSES)?;
    let mut decoded = Vec::with_capacity(symbols.len());
    let mut unreadable = 0;
    let mut reason = None;
    for symbol in symbols {
        match symbol.text {
            Ok(text) => decoded.push(text),
            Err(e) => {
                unreadable += 1;
                reason.get_or_insert(e);
            }
        }
    }
    match reason {
        None => Ok(decoded),
        Some(reason) => Err(ImageError::UnreadableQr {
            decoded,
            unreadable,
            reason,
        }),
    }
}

/// Decodes a PNG or JPEG image into 8-bit greyscale, checking its size from
/// the header first.
fn load_grey(bytes: &[u8]) -> Result<DynamicImage, ImageError> {
    let len = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if len > MAX_FILE_BYTES {
        return Err(ImageError::FileTooLarge { len });
    }
    // Reading from memory cannot fail; the format is guessed from the data,
    // whatever the file is called.
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| ImageError::UnsupportedFormat)?;
    let format = match reader.format() {
        Some(ImageFormat::Png) => "PNG",
        Some(ImageFormat::Jpeg) => "JPEG",
        _ => return Err(ImageError::UnsupportedFormat),
    };
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    // The image decoders have been fuzzed; the guard is for the day one is not.
    guarded(move || {
        let decoder = reader.into_decoder().map_err(|e| from_image(e, format))?;
        let (width, height) = decoder.dimensions();
        let pixels = u64::from(width) * u64::from(height);
        if pixels == 0 {
            return Err(ImageError::Empty);
        }
        if pixels > MAX_PIXELS || decoder.total_bytes() > MAX_DECODED_BYTES {
            return Err(ImageError::TooLarge { width, height });
        }
        let image = DynamicImage::from_decoder(decoder).map_err(|e| from_image(e, format))?;
        Ok(DynamicImage::ImageLuma8(image.into_luma8()))
    })
    .unwrap_or(Err(ImageError::DecoderFailed { format }))
}

/// The error for an image crate error while decoding `format`.
fn from_image(e: ::image::ImageError, format: &'static str) -> ImageError {
    match e {
        ::image::ImageError::Limits(source) => ImageError::TooMuchMemory { source },
        source => ImageError::Decode { format, source },
    }
}

mod datamatrix;
mod pixels;
mod scan;

pub use datamatrix::{GS1_DATAMATRIX, GS1_QR};
#[cfg(test)]
mod tests;

use scan::{PASSES, guarded, scan};
