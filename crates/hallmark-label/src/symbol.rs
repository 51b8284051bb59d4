//! Label symbols: a code (or its verification URL) as a QR or Data Matrix
//! symbol, rendered as SVG or PNG.
//!
//! QR symbols use error correction level M and the smallest version that holds
//! the data. The encoder picks one mode for the whole string, so an upper-case
//! code or URL stays in alphanumeric mode: a 164-character code is a version 7
//! symbol (45 x 45 modules). Lower case forces byte mode and a larger symbol;
//! callers should pass the canonical upper-case text. The QR encoder is this
//! module's own, for speed (docs/PERFORMANCE.md gives its rate against
//! fast_qr's); its output is tested module for module against fast_qr.
//!
//! Data Matrix symbols are ECC 200, square or rectangular (no DMRE sizes), the
//! smallest that holds the data.
//!
//! GS1 element strings (AI values with ASCII GS after each variable-length
//! value) go into a GS1 Data Matrix with [`render_gs1_datamatrix`]: FNC1 in
//! first position and FNC1 for each GS, square sizes only. A GS1 Digital Link
//! URI is plain text for [`render`] as a QR symbol (byte mode for lower case).
//!
//! A [`SizeLimit`] caps the symbol a label has room for: data that needs a
//! larger one is refused with [`SymbolError::TooLarge`], never printed larger.
//!
//! Every image includes the quiet zone its symbology requires: 4 modules for
//! QR, 1 module for Data Matrix.
//!
//! ```
//! use hallmark_label::symbol::{ImageFormat, Matrix, Symbol, render};
//!
//! let code = "01HM".repeat(41); // 164 characters, like a sample code
//! let png = render(&code, Symbol::Qr, ImageFormat::Png)?;
//! assert!(png.starts_with(b"\x89PNG"));
//! assert_eq!(Matrix::encode(&code, Symbol::Qr)?.qr_version(), Some(7));
//! # Ok::<(), hallmark_label::symbol::SymbolError>(())
//! ```

use std::fmt::{self, Write as _};

use datamatrix::{DataMatrix, SymbolList};

/// PNG pixels per module (and SVG user units per module) unless told otherwise.
pub const DEFAULT_SCALE: u32 = 4;

/// Largest accepted scale, in pixels per module.
pub const MAX_SCALE: u32 = 32;

/// Largest accepted print resolution, in dots (pixels) per inch.
pub const MAX_DPI: u32 = 4800;

/// Longest data a symbol is made for, in bytes: the longest input the verifier
/// looks at ([`hallmark::MAX_INPUT_LEN`]). Anything longer could never be read
/// back as a code, and would make an unprintably large symbol.
pub const MAX_DATA_LEN: usize = hallmark::MAX_INPUT_LEN;

/// A two-dimensional symbology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Symbol {
    /// QR code (ISO/IEC 18004), error correction level M.
    #[cfg_attr(feature = "clap", value(name = "qr"))]
    Qr,
    /// Data Matrix ECC 200 (ISO/IEC 16022).
    #[cfg_attr(feature = "clap", value(name = "datamatrix", alias = "data-matrix"))]
    DataMatrix,
}

impl Symbol {
    /// The quiet zone (light margin) the symbology requires on every side, in
    /// modules.
    pub fn quiet_zone(self) -> usize {
        match self {
            Symbol::Qr => 4,
            Symbol::DataMatrix => 1,
        }
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Symbol::Qr => "QR",
            Symbol::DataMatrix => "Data Matrix",
        })
    }
}

/// An image file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ImageFormat {
    /// Scalable vector graphics: one path, black on white.
    #[cfg_attr(feature = "clap", value(name = "svg"))]
    Svg,
    /// PNG, 1-bit greyscale, a whole number of pixels per module.
    #[cfg_attr(feature = "clap", value(name = "png"))]
    Png,
}

impl ImageFormat {
    /// The format a file extension names (`svg` or `png`, any case).
    pub fn from_extension(extension: &str) -> Option<ImageFormat> {
        if extension.eq_ignore_ascii_case("svg") {
            Some(ImageFormat::Svg)
        } else if extension.eq_ignore_ascii_case("png") {
            Some(ImageFormat::Png)
        } else {
            None
        }
    }

    /// The usual file extension, lower case, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Svg => "svg",
            ImageFormat::Png => "png",
        }
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ImageFormat::Svg => "SVG",
            ImageFormat::Png => "PNG",
        })
    }
}

/// Why a symbol or image could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum SymbolError {
    /// There is no data to encode.
    Empty,
    /// The data is longer than [`MAX_DATA_LEN`].
    TooLong {
        /// Length of the data, in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The data holds a character other than printable ASCII (space to `~`).
    /// Decoders and keyboard-wedge scanners disagree on anything else.
    UnsupportedCharacter {
        /// The character.
        ch: char,
        /// Its position, in characters from 0.
        position: usize,
    },
    /// The encoder found no symbol size that holds the data.
    DoesNotFit {
        /// The symbology.
        symbol: Symbol,
        /// Length of the data, in bytes.
        len: usize,
    },
    /// The data needs a larger symbol than the [`SizeLimit`] allows.
    TooLarge {
        /// The symbology.
        symbol: Symbol,
        /// The smallest symbol that holds the data.
        needed: Dimensions,
        /// The limit it exceeds.
        limit: SizeLimit,
    },
    /// The limit does not apply to the symbology (a QR version for a Data
    /// Matrix).
    LimitMismatch {
        /// The symbology.
        symbol: Symbol,
        /// The limit given.
        limit: SizeLimit,
    },
    /// A GS1 element string has a GS separator first, last or doubled: the
    /// leading FNC1 is implied, and a separator ends a value.
    Separator {
        /// Its position, in characters from 0.
        position: usize,
    },
    /// The scale is outside 1 to [`MAX_SCALE`].
    Scale {
        /// The scale asked for.
        scale: u32,
    },
    /// The print resolution is outside 1 to [`MAX_DPI`] dots per inch.
    Dpi {
        /// The resolution asked for.
        dpi: u32,
    },
    /// The image would be wider or taller than a PNG can be (2^32 - 1 pixels).
    PngTooLarge {
        /// Width, in pixels.
        width: usize,
        /// Height, in pixels.
        height: usize,
    },
    /// The PNG encoder failed.
    Png {
        /// The encoder's error.
        source: png::EncodingError,
    },
}

impl fmt::Display for SymbolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SymbolError::Empty => f.write_str("nothing to encode: the data is empty"),
            SymbolError::TooLong { len, max } => {
                write!(
                    f,
                    "data of {len} bytes is too long for a label symbol (at most {max})"
                )
            }
            SymbolError::UnsupportedCharacter { ch, position } => write!(
                f,
                "character {ch:?} at position {position} is not printable ASCII; \
                 a label symbol holds printable ASCII only"
            ),
            SymbolError::DoesNotFit { symbol, len } => {
                write!(f, "{len} bytes of data do not fit any {symbol} symbol")
            }
            SymbolError::TooLarge {
                symbol,
                needed,
                limit,
            } => write!(
                f,
                "the data needs a {needed} {symbol} symbol, larger than the limit of {limit}"
            ),
            SymbolError::LimitMismatch { symbol, limit } => {
                write!(
                    f,
                    "a size limit of {limit} does not apply to {symbol} symbols"
                )
            }
            SymbolError::Separator { position } => write!(
                f,
                "GS separator at position {position} is misplaced: a GS1 element string \
                 has no leading separator (FNC1 is implied), no trailing one and no two \
                 in a row"
            ),
            SymbolError::Scale { scale } => write!(
                f,
                "scale {scale} is out of range: use 1 to {MAX_SCALE} pixels per module"
            ),
            SymbolError::Dpi { dpi } => write!(
                f,
                "a print resolution of {dpi} dpi is out of range: use 1 to {MAX_DPI} dots per inch"
            ),
            SymbolError::PngTooLarge { width, height } => write!(
                f,
                "PNG encoding failed: image too large ({width} x {height} pixels)"
            ),
            SymbolError::Png { source } => write!(f, "PNG encoding failed: {source}"),
        }
    }
}

impl std::error::Error for SymbolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SymbolError::Png { source } => Some(source),
            _ => None,
        }
    }
}

/// Encodes `data` as `symbol` and renders it as `format`, at
/// [`DEFAULT_SCALE`] pixels per module.
///
/// `data` must be 1 to [`MAX_DATA_LEN`] bytes of printable ASCII. Pass the
/// canonical (upper-case) code text or an upper-case URL so that a QR symbol
/// stays in alphanumeric mode.
///
/// ```
/// use hallmark_label::symbol::{ImageFormat, Symbol, render};
///
/// let svg = render("HTTPS://HM.EXAMPLE.COM/C/0123", Symbol::DataMatrix, ImageFormat::Svg)?;
/// assert!(svg.starts_with(b"<svg"));
/// # Ok::<(), hallmark_label::symbol::SymbolError>(())
/// ```
pub fn render(data: &str, symbol: Symbol, format: ImageFormat) -> Result<Vec<u8>, SymbolError> {
    render_scaled(data, symbol, format, DEFAULT_SCALE)
}

/// Like [`render`], at `scale` pixels per module (1 to [`MAX_SCALE`]). For SVG
/// the scale only sets the nominal `width` and `height`; the image scales freely.
pub fn render_scaled(
    data: &str,
    symbol: Symbol,
    format: ImageFormat,
    scale: u32,
) -> Result<Vec<u8>, SymbolError> {
    render_within(data, symbol, format, scale, None)
}

/// Like [`render_scaled`], refusing data that needs a symbol larger than
/// `limit` ([`SymbolError::TooLarge`] names the size needed).
///
/// ```
/// use hallmark_label::symbol::{ImageFormat, SizeLimit, Symbol, SymbolError, render_within};
///
/// // A GS1 Digital Link URI with a signature in 8030: QR version 9.
/// let uri = format!(
///     "https://hallmark.example.com/01/09506000134352/21/XYZ0123456?17=251231&10=ABC123&8030={}",
///     "A".repeat(90)
/// );
/// assert!(render_within(&uri, Symbol::Qr, ImageFormat::Png, 4, Some(SizeLimit::QrVersion(9))).is_ok());
/// let refused = render_within(&uri, Symbol::Qr, ImageFormat::Png, 4, Some(SizeLimit::QrVersion(8)));
/// assert!(matches!(refused, Err(SymbolError::TooLarge { .. })));
/// # Ok::<(), SymbolError>(())
/// ```
pub fn render_within(
    data: &str,
    symbol: Symbol,
    format: ImageFormat,
    scale: u32,
    limit: Option<SizeLimit>,
) -> Result<Vec<u8>, SymbolError> {
    check_scale(scale)?;
    Matrix::encode_within(data, symbol, limit)?.to_image(format, scale)
}

/// Like [`render_scaled`], for a printer of `dpi` dots per inch: a PNG gets
/// a pHYs chunk with that resolution (so it prints at `scale / dpi` inches
/// per module, not at whatever the viewer assumes), an SVG a `width` and
/// `height` in millimetres. `dpi` is 1 to [`MAX_DPI`].
///
/// ```
/// use hallmark_label::symbol::{ImageFormat, Symbol, render_for_print};
///
/// // 4 pixels per module at 203 dpi: 0.5 mm modules.
/// let png = render_for_print("01HM0123", Symbol::Qr, ImageFormat::Png, 4, 203)?;
/// assert!(png.windows(4).any(|w| w == b"pHYs"));
/// # Ok::<(), hallmark_label::symbol::SymbolError>(())
/// ```
pub fn render_for_print(
    data: &str,
    symbol: Symbol,
    format: ImageFormat,
    scale: u32,
    dpi: u32,
) -> Result<Vec<u8>, SymbolError> {
    check_scale(scale)?;
    check_dpi(dpi)?;
    Matrix::encode(data, symbol)?.to_print_image(format, scale, dpi)
}

/// Renders a GS1 element string as a GS1 Data Matrix, at [`DEFAULT_SCALE`]
/// pixels per module, refusing one larger than `limit`.
///
/// `element_string` is the AIs and their values with ASCII GS (0x1D) after
/// each variable-length value that is not last, and no leading FNC1 or GS:
/// what `hallmark::gs1::Gs1Data::to_element_string(Separator::Gs)` gives.
/// The symbol starts with the FNC1 codeword and has FNC1 for each GS (see
/// [`Matrix::encode_gs1_datamatrix`]). A reader reports it as `]d2` followed
/// by the element string; `dmtxread -G 29` prints a GS for every FNC1, the
/// leading one included.
///
/// ```
/// use hallmark_label::symbol::{ImageFormat, Matrix, SizeLimit, render_gs1_datamatrix};
///
/// let fmd = "010950600013435217251231\
///            10ABC123\x1d21XYZ0123456";
/// let png = render_gs1_datamatrix(fmd, ImageFormat::Png, Some(SizeLimit::Modules(24)))?;
/// assert!(png.starts_with(b"\x89PNG"));
/// assert_eq!(Matrix::encode_gs1_datamatrix(fmd, None)?.width(), 22);
/// # Ok::<(), hallmark_label::symbol::SymbolError>(())
/// ```
pub fn render_gs1_datamatrix(
    element_string: &str,
    format: ImageFormat,
    limit: Option<SizeLimit>,
) -> Result<Vec<u8>, SymbolError> {
    Matrix::encode_gs1_datamatrix(element_string, limit)?.to_image(format, DEFAULT_SCALE)
}

/// An encoded symbol: its modules, dark or light, without the quiet zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matrix {
    symbol: Symbol,
    width: usize,
    height: usize,
    /// Row-major, `width * height` entries; `true` is dark.
    dark: Vec<bool>,
}

impl Matrix {
    /// Encodes `data` (1 to [`MAX_DATA_LEN`] bytes of printable ASCII) in the
    /// smallest symbol of the symbology that holds it.
    pub fn encode(data: &str, symbol: Symbol) -> Result<Matrix, SymbolError> {
        Matrix::encode_within(data, symbol, None)
    }

    /// Like [`Matrix::encode`], refusing data that needs a symbol larger than
    /// `limit` with [`SymbolError::TooLarge`]. A Data Matrix under a limit in
    /// modules is the smallest that holds the data within it, rectangles
    /// included.
    pub fn encode_within(
        data: &str,
        symbol: Symbol,
        limit: Option<SizeLimit>,
    ) -> Result<Matrix, SymbolError> {
        check_data(data)?;
        if let Some(limit @ SizeLimit::QrVersion(_)) = limit
            && symbol == Symbol::DataMatrix
        {
            return Err(SymbolError::LimitMismatch { symbol, limit });
        }
        let matrix = match symbol {
            Symbol::Qr => encode_qr(data)?,
            Symbol::DataMatrix => encode_datamatrix(data, limit)?,
        };
        check_limit(symbol, matrix.dimensions(), limit)?;
        Ok(matrix)
    }

    /// Encodes a GS1 element string (see [`render_gs1_datamatrix`]) as the
    /// smallest square GS1 Data Matrix that holds it: FNC1 first, FNC1 for
    /// each GS, the rest in ASCII encodation (two digits a codeword).
    /// Refuses a symbol larger than `limit`, and a GS first, last or doubled
    /// ([`SymbolError::Separator`]).
    pub fn encode_gs1_datamatrix(
        element_string: &str,
        limit: Option<SizeLimit>,
    ) -> Result<Matrix, SymbolError> {
        gs1::encode(element_string, limit)
    }

    /// The size of the symbol, and its QR version for QR.
    pub fn dimensions(&self) -> Dimensions {
        Dimensions {
            width: self.width,
            height: self.height,
            qr_version: self.qr_version(),
        }
    }

    /// Renders the symbol as `format`, `scale` pixels per module.
    pub fn to_image(&self, format: ImageFormat, scale: u32) -> Result<Vec<u8>, SymbolError> {
        match format {
            ImageFormat::Svg => Ok(self.to_svg(scale)?.into_bytes()),
            ImageFormat::Png => self.to_png(scale),
        }
    }

    /// Renders the symbol as `format`, `scale` pixels per module, for a
    /// printer of `dpi` dots per inch (1 to [`MAX_DPI`]): see
    /// [`render_for_print`].
    pub fn to_print_image(
        &self,
        format: ImageFormat,
        scale: u32,
        dpi: u32,
    ) -> Result<Vec<u8>, SymbolError> {
        check_scale(scale)?;
        check_dpi(dpi)?;
        match format {
            ImageFormat::Svg => Ok(self.svg(scale, Some(dpi)).into_bytes()),
            ImageFormat::Png => self.png(scale, Some(dpi)),
        }
    }

    /// A Data Matrix from the `datamatrix` crate's bitmap.
    fn from_datamatrix_bitmap(
        bitmap: &datamatrix::placement::Bitmap<bool>,
        len: usize,
    ) -> Result<Matrix, SymbolError> {
        let (width, height) = (bitmap.width(), bitmap.height());
        if width == 0 || height == 0 {
            return Err(SymbolError::DoesNotFit {
                symbol: Symbol::DataMatrix,
                len,
            });
        }
        let mut dark = vec![false; width * height];
        for (x, y) in bitmap.pixels() {
            if let Some(d) = dark.get_mut(y * width + x) {
                *d = true;
            }
        }
        Ok(Matrix {
            symbol: Symbol::DataMatrix,
            width,
            height,
            dark,
        })
    }

    /// The symbology.
    pub fn symbol(&self) -> Symbol {
        self.symbol
    }

    /// Width in modules, quiet zone not included.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in modules, quiet zone not included.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The QR version of a QR symbol (1 to 27: see [`MAX_DATA_LEN`]); `None`
    /// for Data Matrix.
    pub fn qr_version(&self) -> Option<u8> {
        match self.symbol {
            Symbol::Qr => u8::try_from(self.width.saturating_sub(17) / 4).ok(),
            Symbol::DataMatrix => None,
        }
    }

    /// Whether the module at column `x`, row `y` (from the top left corner of
    /// the symbol, quiet zone excluded) is dark. Outside the symbol is light.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width
            && self
                .dark
                .get(y.saturating_mul(self.width).saturating_add(x))
                .copied()
                .unwrap_or(false)
    }

    /// Width and height of the image in modules, quiet zone included.
    fn outer_size(&self) -> (usize, usize) {
        let q = 2 * self.symbol.quiet_zone();
        (self.width + q, self.height + q)
    }

    /// The rows of the symbol, each `width` modules.
    fn rows(&self) -> impl Iterator<Item = &[bool]> {
        // `max(1)`: chunks_exact panics on 0; an empty matrix has no rows anyway.
        self.dark.chunks_exact(self.width.max(1))
    }

    /// Renders the symbol as SVG: a white background and one black path made
    /// of horizontal runs, `scale` user units per module in the nominal size.
    pub fn to_svg(&self, scale: u32) -> Result<String, SymbolError> {
        check_scale(scale)?;
        Ok(self.svg(scale, None))
    }

    /// The SVG of [`Matrix::to_svg`] (`scale` already checked), its size in
    /// millimetres when printed at `dpi`.
    fn svg(&self, scale: u32, dpi: Option<u32>) -> String {
        let (w, h) = self.outer_size();
        let scale = scale as usize;
        let q = self.symbol.quiet_zone();
        let size = |modules: usize| match dpi {
            // Millimetres to the micrometre: enough for any printer.
            Some(dpi) => format!("{:.3}mm", (modules * scale) as f64 * 25.4 / f64::from(dpi)),
            None => (modules * scale).to_string(),
        };
        let mut svg = String::with_capacity(256 + self.dark.len() * 4);
        // `write!` to a String cannot fail; the results are ignored on purpose.
        let _ = write!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \
             width=\"{}\" height=\"{}\" viewBox=\"0 0 {w} {h}\" \
             shape-rendering=\"crispEdges\" stroke=\"none\">\
             <rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
            size(w),
            size(h),
        );
        for (y, row) in self.rows().enumerate() {
            // A light module past the end closes a run that reaches the edge.
            let mut run_start = None;
            for (x, &d) in row.iter().chain([false].iter()).enumerate() {
                match (d, run_start) {
                    (true, None) => run_start = Some(x),
                    (false, Some(start)) => {
                        let run = x - start;
                        let _ = write!(svg, "M{} {}h{run}v1h-{run}z", start + q, y + q);
                        run_start = None;
                    }
                    _ => {}
                }
            }
        }
        svg.push_str("\"/></svg>\n");
        svg
    }

    /// Renders the symbol as a 1-bit greyscale PNG, `scale` pixels per module
    /// (1 to [`MAX_SCALE`]), with fast compression.
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, SymbolError> {
        check_scale(scale)?;
        self.png(scale, None)
    }

    /// The PNG of [`Matrix::to_png`] (`scale` already checked), with a pHYs
    /// chunk saying `dpi` if given.
    fn png(&self, scale: u32, dpi: Option<u32>) -> Result<Vec<u8>, SymbolError> {
        let (w, h) = self.outer_size();
        let s = scale as usize;
        let (px_w, px_h) = (w * s, h * s);
        let too_big = || SymbolError::PngTooLarge {
            width: px_w,
            height: px_h,
        };
        let png_w = u32::try_from(px_w).map_err(|_| too_big())?;
        let png_h = u32::try_from(px_h).map_err(|_| too_big())?;

        // 1 bit per pixel, most significant bit first; 1 is white. Every
        // module row is built once and copied `scale` times.
        let stride = px_w.div_ceil(8);
        let mut pixels = vec![0xFF_u8; stride * px_h];
        let q = self.symbol.quiet_zone();
        let mut line = vec![0xFF_u8; stride];
        let mut lines = pixels.chunks_exact_mut(stride).skip(q * s);
        let module_bits: u64 = (1 << s) - 1;
        let quiet = [false].repeat(q);
        for row in self.rows() {
            // Shift `scale` bits per module into an accumulator and store
            // whole bytes; at most 7 + MAX_SCALE bits are pending.
            let mut out = line.iter_mut();
            let (mut acc, mut pending) = (0_u64, 0);
            for &dark in quiet.iter().chain(row).chain(&quiet) {
                acc = (acc << s) | if dark { 0 } else { module_bits };
                pending += s;
                while pending >= 8 {
                    pending -= 8;
                    if let Some(byte) = out.next() {
                        *byte = (acc >> pending) as u8;
                    }
                }
            }
            if let Some(byte) = out.next() {
                // Light padding after the last pixel.
                *byte = ((acc << (8 - pending)) as u8) | (0xFF >> pending);
            }
            for out in lines.by_ref().take(s) {
                out.copy_from_slice(&line);
            }
        }

        let mut png = Vec::with_capacity(1024 + stride * px_h / 8);
        write_png(&mut png, png_w, png_h, &pixels, dpi)?;
        Ok(png)
    }
}

/// Writes 1-bit greyscale `pixels` (rows of whole bytes) as a PNG to `out`.
fn write_png(
    out: impl std::io::Write,
    width: u32,
    height: u32,
    pixels: &[u8],
    dpi: Option<u32>,
) -> Result<(), SymbolError> {
    let mut encoder = png::Encoder::new(out, width, height);
    if let Some(dpi) = dpi {
        // pHYs counts pixels per metre: 203 dpi is 7992 (7992.1).
        let per_metre = (f64::from(dpi) / 0.0254).round() as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: per_metre,
            yppu: per_metre,
            unit: png::Unit::Meter,
        }));
    }
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::Fast);
    // Rows repeat `scale` times: the Up filter turns each repeat into zeros.
    encoder.set_filter(png::Filter::Up);
    let png_error = |source| SymbolError::Png { source };
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)
}

fn check_scale(scale: u32) -> Result<(), SymbolError> {
    if (1..=MAX_SCALE).contains(&scale) {
        Ok(())
    } else {
        Err(SymbolError::Scale { scale })
    }
}

fn check_dpi(dpi: u32) -> Result<(), SymbolError> {
    if (1..=MAX_DPI).contains(&dpi) {
        Ok(())
    } else {
        Err(SymbolError::Dpi { dpi })
    }
}

fn check_length(data: &str) -> Result<(), SymbolError> {
    if data.is_empty() {
        return Err(SymbolError::Empty);
    }
    if data.len() > MAX_DATA_LEN {
        return Err(SymbolError::TooLong {
            len: data.len(),
            max: MAX_DATA_LEN,
        });
    }
    Ok(())
}

fn check_data(data: &str) -> Result<(), SymbolError> {
    check_length(data)?;
    match data
        .chars()
        .enumerate()
        .find(|&(_, ch)| !(ch == ' ' || ch.is_ascii_graphic()))
    {
        Some((position, ch)) => Err(SymbolError::UnsupportedCharacter { ch, position }),
        None => Ok(()),
    }
}

fn encode_qr(data: &str) -> Result<Matrix, SymbolError> {
    let qr = qr::encode(data.as_bytes(), None).ok_or(SymbolError::DoesNotFit {
        symbol: Symbol::Qr,
        len: data.len(),
    })?;
    let size = qr.size;
    let mut dark = Vec::with_capacity(size * size);
    for row in &qr.rows {
        dark.extend((0..size).map(|x| (row >> x) & 1 == 1));
    }
    Ok(Matrix {
        symbol: Symbol::Qr,
        width: size,
        height: size,
        dark,
    })
}

fn encode_datamatrix(data: &str, limit: Option<SizeLimit>) -> Result<Matrix, SymbolError> {
    let does_not_fit = || SymbolError::DoesNotFit {
        symbol: Symbol::DataMatrix,
        len: data.len(),
    };
    let encode = |list: SymbolList| {
        DataMatrix::encode(data.as_bytes(), list)
            .ok()
            .map(|code| code.bitmap())
    };
    let within = match limit {
        Some(SizeLimit::Modules(side)) => encode(
            SymbolList::default()
                .enforce_width_in(..=side)
                .enforce_height_in(..=side),
        ),
        _ => encode(SymbolList::default()),
    };
    // Nothing within the limit: the smallest symbol of any size says what
    // the data needs, for the refusal.
    let bitmap = match within {
        Some(bitmap) => bitmap,
        None => encode(SymbolList::default()).ok_or_else(does_not_fit)?,
    };
    Matrix::from_datamatrix_bitmap(&bitmap, data.len())
}

mod gs1;
mod limit;
pub(crate) mod qr;

use limit::check_limit;
pub use limit::{Dimensions, ParseSizeLimitError, SizeLimit};

#[cfg(test)]
mod tests;
