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

mod qr;

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
    fn mixed_printable_ascii_never_panics() {
        // A fixed pseudo-random sequence: runs of digits, upper case, lower
        // case and punctuation switch the Data Matrix encoder between modes.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 33) % n
        };
        for _ in 0..300 {
            let len = 1 + next(MAX_DATA_LEN as u64) as usize;
            let mut data = String::with_capacity(len);
            while data.len() < len {
                let class: &[u8] = match next(4) {
                    0 => b"0123456789",
                    1 => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                    2 => b"abcdefghijklmnopqrstuvwxyz",
                    _ => b" !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
                };
                for _ in 0..=next(12) {
                    data.push(class[next(class.len() as u64) as usize] as char);
                }
            }
            data.truncate(len);
            for symbol in [Symbol::Qr, Symbol::DataMatrix] {
                match Matrix::encode(&data, symbol) {
                    Ok(m) => assert!(m.width() > 0 && m.height() > 0),
                    Err(SymbolError::DoesNotFit { .. }) if symbol == Symbol::DataMatrix => {}
                    Err(e) => panic!("{symbol}, {len} bytes: {e}"),
                }
            }
        }
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
