//! Label symbols: a code (or its verification URL) as a QR or Data Matrix
//! symbol, rendered as SVG or PNG.
//!
//! QR symbols use error correction level M and the smallest version that holds
//! the data. The encoder picks one mode for the whole string, so an upper-case
//! code or URL stays in alphanumeric mode: a 164-character code is a version 7
//! symbol (45 x 45 modules). Lower case forces byte mode and a larger symbol;
//! callers should pass the canonical upper-case text.
//!
//! Data Matrix symbols are ECC 200, square or rectangular (no DMRE sizes), the
//! smallest that holds the data.
//!
//! Every image includes the quiet zone its symbology requires: 4 modules for
//! QR, 1 module for Data Matrix.
//!
//! ```
//! use hallmark_cli::symbol::{ImageFormat, Matrix, Symbol, render};
//!
//! let code = "01HM".repeat(41); // 164 characters, like a sample code
//! let png = render(&code, Symbol::Qr, ImageFormat::Png)?;
//! assert!(png.starts_with(b"\x89PNG"));
//! assert_eq!(Matrix::encode(&code, Symbol::Qr)?.qr_version(), Some(7));
//! # Ok::<(), hallmark_cli::symbol::SymbolError>(())
//! ```

use std::fmt::{self, Write as _};

use datamatrix::{DataMatrix, SymbolList};

/// PNG pixels per module (and SVG user units per module) unless told otherwise.
pub const DEFAULT_SCALE: u32 = 4;

/// Largest accepted scale, in pixels per module.
pub const MAX_SCALE: u32 = 32;

/// Longest data a symbol is made for, in bytes: the longest input the verifier
/// looks at ([`hallmark::MAX_INPUT_LEN`]). Anything longer could never be read
/// back as a code, and would make an unprintably large symbol.
pub const MAX_DATA_LEN: usize = hallmark::MAX_INPUT_LEN;

/// A two-dimensional symbology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Symbol {
    /// QR code (ISO/IEC 18004), error correction level M.
    #[value(name = "qr")]
    Qr,
    /// Data Matrix ECC 200 (ISO/IEC 16022).
    #[value(name = "datamatrix", alias = "data-matrix")]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum ImageFormat {
    /// Scalable vector graphics: one path, black on white.
    #[value(name = "svg")]
    Svg,
    /// PNG, 1-bit greyscale, a whole number of pixels per module.
    #[value(name = "png")]
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// The scale is outside 1 to [`MAX_SCALE`].
    Scale {
        /// The scale asked for.
        scale: u32,
    },
    /// The PNG encoder failed.
    Png(String),
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
            SymbolError::Scale { scale } => write!(
                f,
                "scale {scale} is out of range: use 1 to {MAX_SCALE} pixels per module"
            ),
            SymbolError::Png(e) => write!(f, "PNG encoding failed: {e}"),
        }
    }
}

impl std::error::Error for SymbolError {}

/// Encodes `data` as `symbol` and renders it as `format`, at
/// [`DEFAULT_SCALE`] pixels per module.
///
/// `data` must be 1 to [`MAX_DATA_LEN`] bytes of printable ASCII. Pass the
/// canonical (upper-case) code text or an upper-case URL so that a QR symbol
/// stays in alphanumeric mode.
///
/// ```
/// use hallmark_cli::symbol::{ImageFormat, Symbol, render};
///
/// let svg = render("HTTPS://HM.EXAMPLE.COM/C/0123", Symbol::DataMatrix, ImageFormat::Svg)?;
/// assert!(svg.starts_with(b"<svg"));
/// # Ok::<(), hallmark_cli::symbol::SymbolError>(())
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
    check_scale(scale)?;
    let matrix = Matrix::encode(data, symbol)?;
    match format {
        ImageFormat::Svg => Ok(matrix.to_svg(scale)?.into_bytes()),
        ImageFormat::Png => matrix.to_png(scale),
    }
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
        check_data(data)?;
        match symbol {
            Symbol::Qr => encode_qr(data),
            Symbol::DataMatrix => encode_datamatrix(data),
        }
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

    /// The QR version (1 to 40) of a QR symbol; `None` for Data Matrix.
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
        let (w, h) = self.outer_size();
        let scale = scale as usize;
        let q = self.symbol.quiet_zone();
        let mut svg = String::with_capacity(256 + self.dark.len() * 4);
        // `write!` to a String cannot fail; the results are ignored on purpose.
        let _ = write!(
            svg,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \
             width=\"{}\" height=\"{}\" viewBox=\"0 0 {w} {h}\" \
             shape-rendering=\"crispEdges\" stroke=\"none\">\
             <rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
            w * scale,
            h * scale,
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
        Ok(svg)
    }

    /// Renders the symbol as a 1-bit greyscale PNG, `scale` pixels per module
    /// (1 to [`MAX_SCALE`]), with fast compression.
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, SymbolError> {
        check_scale(scale)?;
        let (w, h) = self.outer_size();
        let s = scale as usize;
        let (px_w, px_h) = (w * s, h * s);
        let too_big = || SymbolError::Png("image too large".to_owned());
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
        let mut encoder = png::Encoder::new(&mut png, png_w, png_h);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        encoder.set_compression(png::Compression::Fast);
        // Rows repeat `scale` times: the Up filter turns each repeat into zeros.
        encoder.set_filter(png::Filter::Up);
        let png_error = |e: png::EncodingError| SymbolError::Png(e.to_string());
        let mut writer = encoder.write_header().map_err(png_error)?;
        writer.write_image_data(&pixels).map_err(png_error)?;
        writer.finish().map_err(png_error)?;
        Ok(png)
    }
}

fn check_scale(scale: u32) -> Result<(), SymbolError> {
    if (1..=MAX_SCALE).contains(&scale) {
        Ok(())
    } else {
        Err(SymbolError::Scale { scale })
    }
}

fn check_data(data: &str) -> Result<(), SymbolError> {
    if data.is_empty() {
        return Err(SymbolError::Empty);
    }
    if data.len() > MAX_DATA_LEN {
        return Err(SymbolError::TooLong {
            len: data.len(),
            max: MAX_DATA_LEN,
        });
    }
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

fn encode_datamatrix(data: &str) -> Result<Matrix, SymbolError> {
    let does_not_fit = || SymbolError::DoesNotFit {
        symbol: Symbol::DataMatrix,
        len: data.len(),
    };
    let code =
        DataMatrix::encode(data.as_bytes(), SymbolList::default()).map_err(|_| does_not_fit())?;
    let bitmap = code.bitmap();
    let (width, height) = (bitmap.width(), bitmap.height());
    if width == 0 || height == 0 {
        return Err(does_not_fit());
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

/// A QR encoder for error correction level M, one segment in the smallest mode
/// that covers the data (numeric, alphanumeric or byte), versions 1 to
/// [`MAX_VERSION`](qr::MAX_VERSION).
///
/// Why not fast_qr alone: it scores all eight masks on a byte-per-module
/// matrix, about 150 us for a version 7 symbol, which alone caps label output
/// near 10,000 images/s on 2 cores. Here every row and column is one `u128`, so
/// a mask is scored with a few dozen word operations per line. fast_qr stays as
/// the test oracle: for every mask the two produce identical symbols.
mod qr {
    /// Highest version encoded: its 125-module rows fit a `u128`. It holds
    /// 1,125 bytes at level M, more than [`MAX_DATA_LEN`](super::MAX_DATA_LEN).
    pub(super) const MAX_VERSION: usize = 27;

    /// Error correction codewords per block at level M, versions 1 to 27.
    const EC_PER_BLOCK: [usize; MAX_VERSION] = [
        10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28,
        28, 28, 28, 28,
    ];

    /// Error correction blocks at level M, versions 1 to 27.
    const BLOCKS: [usize; MAX_VERSION] = [
        1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23,
        25,
    ];

    /// Level M in the format information.
    const FORMAT_ECL_M: u32 = 0b00;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Mode {
        Numeric,
        Alphanumeric,
        Byte,
    }

    /// An encoded QR symbol.
    #[derive(Clone, Debug)]
    pub(super) struct Qr {
        pub(super) size: usize,
        /// One row per `y`; bit `x` set means dark.
        pub(super) rows: Vec<u128>,
    }

    /// Encodes `data` with the mask given, or the one with the lowest penalty
    /// (ISO/IEC 18004 rules N1 to N4). `None` if no version up to
    /// [`MAX_VERSION`] holds it.
    pub(super) fn encode(data: &[u8], force_mask: Option<usize>) -> Option<Qr> {
        let mode = best_mode(data);
        let version = smallest_version(mode, data.len())?;
        let codewords = add_error_correction(&data_codewords_for(data, mode, version)?, version)?;
        let grid = Grid::new(version, &codewords);

        let mask = match force_mask {
            Some(mask) if mask < 8 => mask,
            Some(_) => return None,
            None => {
                let mut scratch = Masked::new(grid.size);
                (0..8)
                    .min_by_key(|&mask| {
                        scratch.apply(&grid, mask);
                        scratch.penalty()
                    })
                    .unwrap_or(0)
            }
        };
        let mut masked = Masked::new(grid.size);
        masked.apply(&grid, mask);
        Some(Qr {
            size: grid.size,
            rows: masked.rows,
        })
    }

    /// The smallest version that holds `len` characters in `mode`.
    pub(super) fn smallest_version(mode: Mode, len: usize) -> Option<usize> {
        let payload_bits = payload_bits(mode, len);
        (1..=MAX_VERSION).find(|&v| {
            len < 1 << count_bits(mode, v)
                && 4 + count_bits(mode, v) + payload_bits <= data_codewords(v) * 8
        })
    }

    pub(super) fn best_mode(data: &[u8]) -> Mode {
        if data.iter().all(u8::is_ascii_digit) {
            Mode::Numeric
        } else if data.iter().all(|&b| alphanumeric_value(b).is_some()) {
            Mode::Alphanumeric
        } else {
            Mode::Byte
        }
    }

    fn alphanumeric_value(b: u8) -> Option<u32> {
        Some(u32::from(match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b' ' => 36,
            b'$' => 37,
            b'%' => 38,
            b'*' => 39,
            b'+' => 40,
            b'-' => 41,
            b'.' => 42,
            b'/' => 43,
            b':' => 44,
            _ => return None,
        }))
    }

    /// Bits of the character count field.
    fn count_bits(mode: Mode, version: usize) -> usize {
        let (small, medium, large) = match mode {
            Mode::Numeric => (10, 12, 14),
            Mode::Alphanumeric => (9, 11, 13),
            Mode::Byte => (8, 16, 16),
        };
        match version {
            ..=9 => small,
            10..=26 => medium,
            _ => large,
        }
    }

    /// Bits of the encoded characters, without mode and count fields.
    fn payload_bits(mode: Mode, len: usize) -> usize {
        match mode {
            Mode::Numeric => len / 3 * 10 + [0, 4, 7].get(len % 3).copied().unwrap_or(0),
            Mode::Alphanumeric => len / 2 * 11 + len % 2 * 6,
            Mode::Byte => len * 8,
        }
    }

    /// Modules available for data and error correction (after the function
    /// patterns and format and version information).
    fn raw_data_modules(version: usize) -> usize {
        let mut modules = (16 * version + 128) * version + 64;
        if version >= 2 {
            let alignments = version / 7 + 2;
            modules -= (25 * alignments - 10) * alignments - 55;
            if version >= 7 {
                modules -= 36;
            }
        }
        modules
    }

    fn ec_layout(version: usize) -> Option<(usize, usize)> {
        let i = version.checked_sub(1)?;
        Some((*EC_PER_BLOCK.get(i)?, *BLOCKS.get(i)?))
    }

    fn data_codewords(version: usize) -> usize {
        let (ec, blocks) = ec_layout(version).unwrap_or((0, 0));
        (raw_data_modules(version) / 8).saturating_sub(ec * blocks)
    }

    /// A bit string, most significant bit first.
    struct Bits {
        bytes: Vec<u8>,
        len: usize,
    }

    impl Bits {
        fn push(&mut self, value: u32, count: usize) {
            for i in (0..count).rev() {
                if self.len % 8 == 0 {
                    self.bytes.push(0);
                }
                if (value >> i) & 1 == 1
                    && let Some(byte) = self.bytes.last_mut()
                {
                    *byte |= 0x80 >> (self.len % 8);
                }
                self.len += 1;
            }
        }
    }

    /// The data codewords: mode, count, characters, terminator and padding.
    fn data_codewords_for(data: &[u8], mode: Mode, version: usize) -> Option<Vec<u8>> {
        let capacity = data_codewords(version);
        let mut bits = Bits {
            bytes: Vec::with_capacity(capacity),
            len: 0,
        };
        let indicator = match mode {
            Mode::Numeric => 0b0001,
            Mode::Alphanumeric => 0b0010,
            Mode::Byte => 0b0100,
        };
        bits.push(indicator, 4);
        bits.push(u32::try_from(data.len()).ok()?, count_bits(mode, version));
        match mode {
            Mode::Numeric => {
                for chunk in data.chunks(3) {
                    let value = chunk
                        .iter()
                        .fold(0, |n, &d| n * 10 + u32::from(d.wrapping_sub(b'0')));
                    bits.push(value, chunk.len() * 3 + 1);
                }
            }
            Mode::Alphanumeric => {
                for chunk in data.chunks(2) {
                    let value = chunk
                        .iter()
                        .try_fold(0, |n, &c| alphanumeric_value(c).map(|v| n * 45 + v))?;
                    bits.push(value, chunk.len() * 5 + 1);
                }
            }
            Mode::Byte => {
                for &b in data {
                    bits.push(u32::from(b), 8);
                }
            }
        }
        let capacity_bits = capacity * 8;
        bits.push(0, capacity_bits.checked_sub(bits.len)?.min(4));
        bits.push(0, (8 - bits.len % 8) % 8);
        let mut bytes = bits.bytes;
        for pad in [0xEC, 0x11].into_iter().cycle() {
            if bytes.len() >= capacity {
                break;
            }
            bytes.push(pad);
        }
        (bytes.len() == capacity).then_some(bytes)
    }

    /// Splits the data codewords into blocks, appends each block's Reed-Solomon
    /// codewords and interleaves them.
    fn add_error_correction(data: &[u8], version: usize) -> Option<Vec<u8>> {
        let (ec, blocks) = ec_layout(version)?;
        let total = raw_data_modules(version) / 8;
        let short_len = total / blocks;
        let short_blocks = blocks - total % blocks;
        let short_data = short_len.checked_sub(ec)?;
        let divisor = rs_divisor(ec);

        let mut split = Vec::with_capacity(blocks);
        let mut rest = data;
        for i in 0..blocks {
            let len = short_data + usize::from(i >= short_blocks);
            let (block, tail) = rest.split_at_checked(len)?;
            split.push((block, rs_remainder(block, &divisor)));
            rest = tail;
        }
        let mut out = Vec::with_capacity(total);
        for j in 0..=short_data {
            out.extend(split.iter().filter_map(|(block, _)| block.get(j)));
        }
        for j in 0..ec {
            out.extend(split.iter().filter_map(|(_, ecc)| ecc.get(j)));
        }
        (out.len() == total && rest.is_empty()).then_some(out)
    }

    /// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1: (exp, log).
    const GF: ([u8; 512], [u8; 256]) = gf_tables();

    // Evaluated at compile time only: an out-of-range index is a build error.
    #[allow(clippy::indexing_slicing)]
    const fn gf_tables() -> ([u8; 512], [u8; 256]) {
        let mut exp = [0u8; 512];
        let mut log = [0u8; 256];
        let mut x: u16 = 1;
        let mut i = 0;
        while i < 255 {
            exp[i] = x as u8;
            log[x as usize] = i as u8;
            x <<= 1;
            if x & 0x100 != 0 {
                x ^= 0x11D;
            }
            i += 1;
        }
        while i < 512 {
            exp[i] = exp[i - 255];
            i += 1;
        }
        (exp, log)
    }

    fn gf_mul(a: u8, b: u8) -> u8 {
        if a == 0 || b == 0 {
            return 0;
        }
        let (exp, log) = &GF;
        let sum = usize::from(log.get(usize::from(a)).copied().unwrap_or(0))
            + usize::from(log.get(usize::from(b)).copied().unwrap_or(0));
        exp.get(sum).copied().unwrap_or(0)
    }

    /// The generator polynomial of degree `degree`, highest coefficient first,
    /// without the leading 1.
    fn rs_divisor(degree: usize) -> Vec<u8> {
        let mut divisor = vec![0u8; degree];
        if let Some(last) = divisor.last_mut() {
            *last = 1;
        }
        let mut root = 1u8;
        for _ in 0..degree {
            for j in 0..degree {
                let next = divisor.get(j + 1).copied().unwrap_or(0);
                if let Some(c) = divisor.get_mut(j) {
                    *c = gf_mul(*c, root) ^ next;
                }
            }
            root = gf_mul(root, 2);
        }
        divisor
    }

    fn rs_remainder(data: &[u8], divisor: &[u8]) -> Vec<u8> {
        let mut remainder = vec![0u8; divisor.len()];
        for &b in data {
            let factor = b ^ remainder.first().copied().unwrap_or(0);
            remainder.rotate_left(1);
            if let Some(last) = remainder.last_mut() {
                *last = 0;
            }
            for (r, &d) in remainder.iter_mut().zip(divisor) {
                *r ^= gf_mul(d, factor);
            }
        }
        remainder
    }

    /// The unmasked symbol, kept both by rows and by columns (for scoring),
    /// with the function modules marked.
    struct Grid {
        size: usize,
        rows: Vec<u128>,
        cols: Vec<u128>,
        function_rows: Vec<u128>,
        function_cols: Vec<u128>,
    }

    impl Grid {
        fn new(version: usize, codewords: &[u8]) -> Grid {
            let size = 17 + 4 * version;
            let mut grid = Grid {
                size,
                rows: vec![0; size],
                cols: vec![0; size],
                function_rows: vec![0; size],
                function_cols: vec![0; size],
            };
            grid.draw_function_patterns(version);
            grid.place(codewords);
            grid
        }

        fn set(&mut self, x: usize, y: usize, dark: bool) {
            for (line, bit) in [(self.rows.get_mut(y), x), (self.cols.get_mut(x), y)] {
                if let Some(line) = line {
                    if dark {
                        *line |= 1 << bit;
                    } else {
                        *line &= !(1 << bit);
                    }
                }
            }
        }

        fn set_function(&mut self, x: usize, y: usize, dark: bool) {
            self.set(x, y, dark);
            if let Some(row) = self.function_rows.get_mut(y) {
                *row |= 1 << x;
            }
            if let Some(col) = self.function_cols.get_mut(x) {
                *col |= 1 << y;
            }
        }

        fn is_function(&self, x: usize, y: usize) -> bool {
            self.function_rows
                .get(y)
                .is_some_and(|row| (row >> x) & 1 == 1)
        }

        fn draw_function_patterns(&mut self, version: usize) {
            let size = self.size;
            for i in 0..size {
                self.set_function(6, i, i % 2 == 0);
                self.set_function(i, 6, i % 2 == 0);
            }
            for (cx, cy) in [(3, 3), (size - 4, 3), (3, size - 4)] {
                for dy in 0..9_usize {
                    for dx in 0..9_usize {
                        // (x, y) = (cx + dx - 4, cy + dy - 4), inside the symbol.
                        let (Some(x), Some(y)) =
                            ((cx + dx).checked_sub(4), (cy + dy).checked_sub(4))
                        else {
                            continue;
                        };
                        if x < size && y < size {
                            let ring = dx.abs_diff(4).max(dy.abs_diff(4));
                            self.set_function(x, y, ring != 2 && ring != 4);
                        }
                    }
                }
            }
            let centres = alignment_centres(version, size);
            let last = centres.len().saturating_sub(1);
            for (i, &cy) in centres.iter().enumerate() {
                for (j, &cx) in centres.iter().enumerate() {
                    // The three corners hold finder patterns.
                    if (i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0) {
                        continue;
                    }
                    for dy in 0..5_usize {
                        for dx in 0..5_usize {
                            let ring = dx.abs_diff(2).max(dy.abs_diff(2));
                            self.set_function(cx + dx - 2, cy + dy - 2, ring != 1);
                        }
                    }
                }
            }
            // Reserve the format information (written per mask) and set the
            // dark module.
            for [(x1, y1), (x2, y2)] in format_positions(size) {
                self.set_function(x1, y1, false);
                self.set_function(x2, y2, false);
            }
            self.set_function(8, size - 8, true);
            if version >= 7 {
                let version_bits = bch(version as u32, 0x1F25, 12);
                for i in 0..18 {
                    let dark = (version_bits >> i) & 1 == 1;
                    let (a, b) = (size - 11 + i % 3, i / 3);
                    self.set_function(a, b, dark);
                    self.set_function(b, a, dark);
                }
            }
        }

        /// Places the codewords in the two-column zigzag; remainder bits stay light.
        fn place(&mut self, codewords: &[u8]) {
            let size = self.size;
            let total_bits = codewords.len() * 8;
            let mut i = 0;
            let mut right = size - 1;
            loop {
                if right == 6 {
                    right = 5;
                }
                let upward = (right + 1) & 2 == 0;
                for vert in 0..size {
                    let y = if upward { size - 1 - vert } else { vert };
                    for x in [right, right - 1] {
                        if i < total_bits && !self.is_function(x, y) {
                            let byte = codewords.get(i / 8).copied().unwrap_or(0);
                            if (byte >> (7 - i % 8)) & 1 == 1 {
                                self.set(x, y, true);
                            }
                            i += 1;
                        }
                    }
                }
                if right < 3 {
                    break;
                }
                right -= 2;
            }
        }
    }

    /// Centres of the alignment patterns along each axis (empty for version 1).
    fn alignment_centres(version: usize, size: usize) -> Vec<usize> {
        if version == 1 {
            return Vec::new();
        }
        let count = version / 7 + 2;
        let step = if version == 32 {
            26
        } else {
            (version * 4 + count * 2 + 1) / (count * 2 - 2) * 2
        };
        let mut centres = vec![6];
        centres.extend((1..count).map(|i| size - 7 - (count - 1 - i) * step));
        centres
    }

    /// Where format bit `i` goes: both copies, as (x, y).
    fn format_positions(size: usize) -> [[(usize, usize); 2]; 15] {
        let mut positions = [[(0, 0); 2]; 15];
        for (i, slot) in positions.iter_mut().enumerate() {
            let first = match i {
                0..=5 => (8, i),
                6 => (8, 7),
                7 => (8, 8),
                8 => (7, 8),
                _ => (14 - i, 8),
            };
            let second = if i < 8 {
                (size - 1 - i, 8)
            } else {
                (8, size - 15 + i)
            };
            *slot = [first, second];
        }
        positions
    }

    /// `value` followed by its BCH remainder for `generator` (degree `degree`).
    fn bch(value: u32, generator: u32, degree: u32) -> u32 {
        let mut remainder = value;
        for _ in 0..degree {
            remainder = (remainder << 1) ^ ((remainder >> (degree - 1)) * generator);
        }
        (value << degree) | (remainder & ((1 << degree) - 1))
    }

    /// Does mask `mask` invert the module at (x, y)?
    const fn mask_inverts(mask: usize, x: usize, y: usize) -> bool {
        match mask {
            0 => (x + y) % 2 == 0,
            1 => y % 2 == 0,
            2 => x % 3 == 0,
            3 => (x + y) % 3 == 0,
            4 => (x / 3 + y / 2) % 2 == 0,
            5 => x * y % 2 + x * y % 3 == 0,
            6 => (x * y % 2 + x * y % 3) % 2 == 0,
            _ => ((x + y) % 2 + x * y % 3) % 2 == 0,
        }
    }

    /// Every mask repeats every 12 rows and every 12 columns.
    const MASK_PERIOD: usize = 12;

    /// `[mask][y % 12]`: the row a mask inverts, bit x set where it inverts.
    const MASK_ROWS: [[u128; MASK_PERIOD]; 8] = mask_lines(false);
    /// `[mask][x % 12]`: the column a mask inverts, bit y set where it inverts.
    const MASK_COLS: [[u128; MASK_PERIOD]; 8] = mask_lines(true);

    // Evaluated at compile time only: an out-of-range index is a build error.
    #[allow(clippy::indexing_slicing)]
    const fn mask_lines(columns: bool) -> [[u128; MASK_PERIOD]; 8] {
        let mut lines = [[0; MASK_PERIOD]; 8];
        let mut mask = 0;
        while mask < 8 {
            let mut j = 0;
            while j < MASK_PERIOD {
                let mut i = 0;
                while i < 128 {
                    let (x, y) = if columns { (j, i) } else { (i, j) };
                    if mask_inverts(mask, x, y) {
                        lines[mask][j] |= 1 << i;
                    }
                    i += 1;
                }
                j += 1;
            }
            mask += 1;
        }
        lines
    }

    fn mask_line(table: &[[u128; MASK_PERIOD]; 8], mask: usize, i: usize) -> u128 {
        table
            .get(mask)
            .and_then(|lines| lines.get(i % MASK_PERIOD))
            .copied()
            .unwrap_or(0)
    }

    /// Bits 0 to `n - 1` set.
    fn low_bits(n: usize) -> u128 {
        if n >= 128 { u128::MAX } else { (1 << n) - 1 }
    }

    /// A masked symbol with its format information, by rows and by columns.
    struct Masked {
        size: usize,
        rows: Vec<u128>,
        cols: Vec<u128>,
    }

    impl Masked {
        fn new(size: usize) -> Masked {
            Masked {
                size,
                rows: vec![0; size],
                cols: vec![0; size],
            }
        }

        fn apply(&mut self, grid: &Grid, mask: usize) {
            let full = low_bits(self.size);
            let by_rows = self
                .rows
                .iter_mut()
                .zip(&grid.rows)
                .zip(&grid.function_rows);
            for (y, ((out, &unmasked), &function)) in by_rows.enumerate() {
                *out = unmasked ^ (mask_line(&MASK_ROWS, mask, y) & !function & full);
            }
            let by_cols = self
                .cols
                .iter_mut()
                .zip(&grid.cols)
                .zip(&grid.function_cols);
            for (x, ((out, &unmasked), &function)) in by_cols.enumerate() {
                *out = unmasked ^ (mask_line(&MASK_COLS, mask, x) & !function & full);
            }
            let format = bch(FORMAT_ECL_M << 3 | mask as u32, 0x537, 10) ^ 0x5412;
            for (i, copies) in format_positions(self.size).into_iter().enumerate() {
                if (format >> i) & 1 == 1 {
                    for (x, y) in copies {
                        if let Some(row) = self.rows.get_mut(y) {
                            *row |= 1 << x;
                        }
                        if let Some(col) = self.cols.get_mut(x) {
                            *col |= 1 << y;
                        }
                    }
                }
            }
        }

        /// The ISO/IEC 18004 penalty: N1 runs, N2 2x2 blocks, N3 finder-like
        /// patterns (outside the symbol counts as light), N4 dark balance.
        fn penalty(&self) -> u32 {
            let full = low_bits(self.size);
            let lines: u32 = self
                .rows
                .iter()
                .chain(&self.cols)
                .map(|&line| line_penalty(line & full, full))
                .sum();
            let inner = low_bits(self.size - 1);
            let blocks: u32 = self
                .rows
                .iter()
                .zip(self.rows.iter().skip(1))
                .map(|(&a, &b)| {
                    let same_below = !(a ^ b);
                    let same_right = !(a ^ (a >> 1));
                    (same_below & (same_below >> 1) & same_right & inner).count_ones()
                })
                .sum();
            let dark: u32 = self.rows.iter().map(|&r| (r & full).count_ones()).sum();
            let total = (self.size * self.size) as u32;
            let balance = ((dark * 20).abs_diff(total * 10) + total - 1) / total;
            lines + 3 * blocks + 10 * balance.saturating_sub(1)
        }
    }

    /// N1 and N3 for one row or column (`dark` holds only bits below the size,
    /// `full` is all of them).
    fn line_penalty(dark: u128, full: u128) -> u32 {
        // A run of L >= 5 modules has L - 4 starts of five alike and scores
        // 3 + (L - 5): count the starts, plus 2 for the first of each run.
        let runs = |c: u128| {
            let five = c & (c >> 1) & (c >> 2) & (c >> 3) & (c >> 4);
            five.count_ones() + 2 * (five & !(c << 1)).count_ones()
        };
        let n1 = runs(dark) + runs(!dark & full);
        // Dark-light-dark-dark-dark-light-dark from bit x, with four light
        // modules before or after it.
        let at = |k: u32| dark >> k;
        let finder = dark & !at(1) & at(2) & at(3) & at(4) & !at(5) & at(6);
        let light_before = !((dark << 1) | (dark << 2) | (dark << 3) | (dark << 4));
        let light_after = !(at(7) | at(8) | at(9) | at(10));
        n1 + 40 * ((finder & light_before).count_ones() + (finder & light_after).count_ones())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// A 164-character string over the code alphabet, like a sample code.
    fn code_like() -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        (0..164)
            .map(|i: usize| ALPHABET[(i * 7 + 3) % 32] as char)
            .collect()
    }

    #[test]
    fn a_164_character_code_is_qr_version_7() {
        let m = Matrix::encode(&code_like(), Symbol::Qr).unwrap();
        assert_eq!(m.qr_version(), Some(7));
        assert_eq!((m.width(), m.height()), (45, 45));
    }

    #[test]
    fn upper_case_url_stays_alphanumeric_and_lower_case_does_not() {
        let url = format!("HTTPS://HM.EXAMPLE.COM/C/{}", code_like());
        let upper = Matrix::encode(&url, Symbol::Qr).unwrap();
        // 189 characters in alphanumeric mode at M need version 8.
        assert_eq!(upper.qr_version(), Some(8));
        let lower = Matrix::encode(&url.to_lowercase(), Symbol::Qr).unwrap();
        assert!(lower.qr_version().unwrap() > 8);
    }

    #[test]
    fn data_matrix_is_ecc200_square_and_has_no_qr_version() {
        let m = Matrix::encode(&code_like(), Symbol::DataMatrix).unwrap();
        assert_eq!(m.qr_version(), None);
        assert_eq!(m.width(), m.height());
        // ECC 200 finder: solid left column and bottom row.
        assert!((0..m.height()).all(|y| m.is_dark(0, y)));
        assert!((0..m.width()).all(|x| m.is_dark(x, m.height() - 1)));
        // Clock track: alternating top row, starting dark.
        assert!((0..m.width()).all(|x| m.is_dark(x, 0) == (x % 2 == 0)));
    }

    #[test]
    fn qr_has_finder_patterns_and_quiet_zone() {
        let m = Matrix::encode("HELLO", Symbol::Qr).unwrap();
        assert_eq!(m.qr_version(), Some(1));
        // Top-left finder: dark 7x7 ring, light ring inside, dark 3x3 centre.
        for i in 0..7 {
            assert!(m.is_dark(i, 0) && m.is_dark(0, i) && m.is_dark(i, 6) && m.is_dark(6, i));
        }
        assert!(!m.is_dark(1, 1) && m.is_dark(3, 3));
        assert!(!m.is_dark(m.width(), 0), "outside is light");
    }

    #[test]
    fn odd_input_gives_clear_errors() {
        for symbol in [Symbol::Qr, Symbol::DataMatrix] {
            assert_eq!(Matrix::encode("", symbol), Err(SymbolError::Empty));
            let long = "A".repeat(2000);
            assert_eq!(
                Matrix::encode(&long, symbol),
                Err(SymbolError::TooLong {
                    len: 2000,
                    max: MAX_DATA_LEN
                })
            );
            assert_eq!(
                Matrix::encode("AB\u{e9}C", symbol),
                Err(SymbolError::UnsupportedCharacter {
                    ch: '\u{e9}',
                    position: 2
                })
            );
            assert!(matches!(
                Matrix::encode("A\nB", symbol),
                Err(SymbolError::UnsupportedCharacter { ch: '\n', .. })
            ));
            let message = Matrix::encode("\u{1F600}", symbol).unwrap_err().to_string();
            assert!(message.contains("printable ASCII"), "{message}");
        }
    }

    #[test]
    fn every_length_and_mode_up_to_the_limit_encodes() {
        // Numeric, alphanumeric and byte mode inputs of every length: the
        // encoders must neither panic nor fail below MAX_DATA_LEN.
        for len in (1..=MAX_DATA_LEN).step_by(7).chain([MAX_DATA_LEN]) {
            for unit in ["7", "Z", "z", "~", " "] {
                let data = unit.repeat(len);
                let qr = Matrix::encode(&data, Symbol::Qr).unwrap();
                assert!(qr.qr_version().is_some_and(|v| (1..=40).contains(&v)));
                match Matrix::encode(&data, Symbol::DataMatrix) {
                    Ok(_) | Err(SymbolError::DoesNotFit { .. }) => {}
                    Err(e) => panic!("{len} x {unit:?}: {e}"),
                }
            }
        }
    }

    /// Inputs in `mode` of `len` characters.
    fn sample(mode: qr::Mode, len: usize) -> Vec<u8> {
        let alphabet: &[u8] = match mode {
            qr::Mode::Numeric => b"0123456789",
            qr::Mode::Alphanumeric => b"ABCDEFGHJKMNPQRSTVWXYZ0123456789 $%*+-./:",
            qr::Mode::Byte => b"abcdefghijklmnopqrstuvwxyz{|}~_!#&'()0123456789",
        };
        (0..len)
            .map(|i| alphabet[(i * 13 + i / 7) % alphabet.len()])
            .collect()
    }

    #[test]
    fn qr_encoder_matches_fast_qr_for_every_mask_and_version() {
        use fast_qr::{ECL, Mask, QRBuilder};
        const MASKS: [Mask; 8] = [
            Mask::Checkerboard,
            Mask::HorizontalLines,
            Mask::VerticalLines,
            Mask::DiagonalLines,
            Mask::LargeCheckerboard,
            Mask::Fields,
            Mask::Diamonds,
            Mask::Meadow,
        ];
        let mut versions = std::collections::BTreeSet::new();
        for mode in [qr::Mode::Numeric, qr::Mode::Alphanumeric, qr::Mode::Byte] {
            // The longest input of each version, and the shortest of the next.
            let mut lens = vec![1];
            let mut previous = qr::smallest_version(mode, 1);
            for len in 2..=3000 {
                let version = qr::smallest_version(mode, len);
                if version != previous {
                    lens.extend([len - 1, len]);
                    previous = version;
                }
            }
            for len in lens {
                let data = sample(mode, len);
                assert_eq!(qr::best_mode(&data), mode);
                let Some(version) = qr::smallest_version(mode, len) else {
                    continue;
                };
                versions.insert(version);
                for (m, &mask) in MASKS.iter().enumerate() {
                    let ours = qr::encode(&data, Some(m)).unwrap();
                    let theirs = QRBuilder::new(data.clone())
                        .ecl(ECL::M)
                        .mask(mask)
                        .build()
                        .unwrap();
                    assert_eq!(ours.size, theirs.size, "{mode:?} x {len}");
                    assert_eq!(ours.size, 17 + 4 * version);
                    for y in 0..ours.size {
                        for x in 0..ours.size {
                            assert_eq!(
                                (ours.rows[y] >> x) & 1 == 1,
                                theirs[y][x].value(),
                                "{mode:?} x {len}, version {version}, mask {m}: module ({x}, {y})"
                            );
                        }
                    }
                }
            }
        }
        assert!(
            versions.iter().copied().eq(1..=qr::MAX_VERSION),
            "{versions:?}"
        );
    }

    #[test]
    fn qr_mask_is_the_lowest_penalty_and_out_of_range_masks_are_refused() {
        let data = code_like();
        let chosen = qr::encode(data.as_bytes(), None).unwrap();
        assert!((0..8).any(|m| qr::encode(data.as_bytes(), Some(m)).unwrap().rows == chosen.rows));
        assert!(qr::encode(data.as_bytes(), Some(8)).is_none());
        assert!(qr::encode(&[b'~'; 1126], None).is_none(), "past version 27");
        assert_eq!(qr::encode(&[b'~'; 1125], None).unwrap().size, 125);
    }

    #[test]
    fn scale_is_checked() {
        for scale in [0, MAX_SCALE + 1] {
            assert_eq!(
                render_scaled("A", Symbol::Qr, ImageFormat::Png, scale),
                Err(SymbolError::Scale { scale })
            );
        }
    }

    #[test]
    fn png_has_the_expected_size_and_header() {
        let png = render(&code_like(), Symbol::Qr, ImageFormat::Png).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let ihdr = &png[16..26];
        let side = (45 + 8) * DEFAULT_SCALE;
        assert_eq!(ihdr[..4], side.to_be_bytes());
        assert_eq!(ihdr[4..8], side.to_be_bytes());
        assert_eq!(ihdr[8], 1, "bit depth");
        assert_eq!(ihdr[9], 0, "greyscale");
        let m = Matrix::encode("A", Symbol::DataMatrix).unwrap();
        let png = m.to_png(3).unwrap();
        let side = u32::try_from(m.width() + 2).unwrap() * 3;
        assert_eq!(png[16..20], side.to_be_bytes());
    }

    #[test]
    fn png_pixels_are_the_modules_scaled_inside_the_quiet_zone() {
        let url = format!("HTTPS://HM.EXAMPLE.COM/C/{}", code_like());
        for (data, symbol) in [
            (code_like(), Symbol::Qr),
            (url.clone(), Symbol::Qr),
            ("A".to_owned(), Symbol::DataMatrix),
            (url, Symbol::DataMatrix),
        ] {
            let m = Matrix::encode(&data, symbol).unwrap();
            let q = symbol.quiet_zone();
            for scale in [1, 2, 3, 4, 5, 7, 8, 13, MAX_SCALE] {
                let png = m.to_png(scale).unwrap();
                let mut decoder = png::Decoder::new(std::io::Cursor::new(&png));
                decoder.set_transformations(png::Transformations::IDENTITY);
                let mut reader = decoder.read_info().unwrap();
                let mut buf = vec![0; reader.output_buffer_size().unwrap()];
                let info = reader.next_frame(&mut buf).unwrap();
                assert_eq!(info.bit_depth, png::BitDepth::One);
                let s = scale as usize;
                let (w, h) = ((m.width() + 2 * q) * s, (m.height() + 2 * q) * s);
                assert_eq!((info.width as usize, info.height as usize), (w, h));
                for py in 0..h {
                    for px in 0..w {
                        let white = buf[py * info.line_size + px / 8] & (0x80 >> (px % 8)) != 0;
                        let (x, y) = ((px / s).checked_sub(q), (py / s).checked_sub(q));
                        let dark = matches!((x, y), (Some(x), Some(y)) if m.is_dark(x, y));
                        assert_eq!(white, !dark, "{symbol} scale {scale}: pixel ({px}, {py})");
                    }
                }
            }
        }
    }

    #[test]
    fn svg_path_covers_exactly_the_dark_modules() {
        let m = Matrix::encode(&code_like(), Symbol::Qr).unwrap();
        let svg = m.to_svg(DEFAULT_SCALE).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("shape-rendering=\"crispEdges\""));
        assert!(svg.contains("viewBox=\"0 0 53 53\""));
        assert_eq!(svg.matches("<path").count(), 1);
        // Paint the runs back onto a grid and compare.
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut grid = vec![false; 53 * 53];
        for run in d.split('M').filter(|r| !r.is_empty()) {
            let (x, rest) = run.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let (len, _) = rest.split_once('v').unwrap();
            let (x, y, len): (usize, usize, usize) =
                (x.parse().unwrap(), y.parse().unwrap(), len.parse().unwrap());
            for i in x..x + len {
                assert!(!grid[y * 53 + i], "runs overlap");
                grid[y * 53 + i] = true;
            }
        }
        for y in 0..53 {
            for x in 0..53 {
                let expected = x >= 4 && y >= 4 && m.is_dark(x - 4, y - 4);
                assert_eq!(grid[y * 53 + x], expected, "module ({x}, {y})");
            }
        }
    }

    #[test]
    fn extensions_name_formats() {
        assert_eq!(ImageFormat::from_extension("PNG"), Some(ImageFormat::Png));
        assert_eq!(ImageFormat::from_extension("svg"), Some(ImageFormat::Svg));
        assert_eq!(ImageFormat::from_extension("jpg"), None);
        assert_eq!(ImageFormat::from_extension(""), None);
        for f in [ImageFormat::Svg, ImageFormat::Png] {
            assert_eq!(ImageFormat::from_extension(f.extension()), Some(f));
        }
    }
}
