//! Finding and decoding QR codes in photos of labels (PNG or JPEG).
//!
//! [`decode_qr_file`] and [`decode_qr_codes`] return the text of every QR code
//! in a picture, in reading order: rows top to bottom, each row left to right.
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

use std::cell::OnceCell;
use std::fmt;
use std::fs::File;
use std::io::{self, Cursor, Read as _};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use ::image::imageops::FilterType;
use ::image::{DynamicImage, GrayImage, ImageDecoder as _, ImageFormat, ImageReader, Limits};

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
        detail: String,
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
        detail: String,
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
        reason: String,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::Io(e) => write!(f, "cannot read the image: {e}"),
            ImageError::UnsupportedFormat => {
                f.write_str("unsupported image format: only PNG and JPEG can be read")
            }
            ImageError::Decode { format, detail } => write!(
                f,
                "cannot decode the {format} image (corrupt, truncated or unsupported): {detail}"
            ),
            ImageError::FileTooLarge { len } => write!(
                f,
                "the image file is too large: {len} bytes (at most {MAX_FILE_BYTES})"
            ),
            ImageError::TooMuchMemory { detail } => write!(
                f,
                "the image needs too much memory to decode (at most {MAX_DECODED_BYTES} \
                 bytes): {detail}"
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
            _ => None,
        }
    }
}

impl From<io::Error> for ImageError {
    fn from(e: io::Error) -> ImageError {
        ImageError::Io(e)
    }
}

/// Reads the PNG or JPEG file at `path` and returns the text of every QR code
/// in it, in reading order. See [`decode_qr_codes`].
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

/// Returns the text of every QR code in a PNG or JPEG image, in reading order:
/// rows top to bottom, each row left to right.
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
                reason.get_or_insert_with(|| e.to_string());
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
    .unwrap_or_else(|| {
        Err(ImageError::Decode {
            format,
            detail: "the image decoder failed".to_owned(),
        })
    })
}

/// The error for an image crate error while decoding `format`.
fn from_image(e: ::image::ImageError, format: &'static str) -> ImageError {
    match e {
        ::image::ImageError::Limits(e) => ImageError::TooMuchMemory {
            detail: e.to_string(),
        },
        e => ImageError::Decode {
            format,
            detail: e.to_string(),
        },
    }
}

/// Runs `f`, turning a panic into `None`.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    panic::catch_unwind(AssertUnwindSafe(f)).ok()
}

/// How a pass sizes the picture for the detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Size {
    /// The working picture: the photo, reduced to [`WORK_SIDE`] if larger.
    Work,
    /// The working picture at half size: blur and grain averaged away.
    Half,
    /// A small working picture enlarged 2 or 3 times (see [`up_factor`]), so
    /// that thresholding places the edges of small modules between pixels.
    Up,
    /// The photo at full resolution, when the working picture is reduced: a
    /// small symbol in a large photo.
    Full,
}

/// One way of preparing the picture for the detector.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Pass {
    size: Size,
    /// Sharpen with an unsharp mask of this radius (Gaussian sigma, in pixels
    /// of the working picture): undoes some blur.
    sharpen: Option<f32>,
    /// Make each pixel black or white against this percentage of the mean of
    /// its neighbourhood (see [`local_threshold`]).
    threshold: Option<u64>,
}

impl Pass {
    const fn new(size: Size, sharpen: Option<f32>, threshold: Option<u64>) -> Pass {
        Pass {
            size,
            sharpen,
            threshold,
        }
    }
}

/// The passes [`decode_qr_codes`] makes, in order. The variants and their
/// order come from trying them on photos made like those in tests/images.rs,
/// blurred, noisy, small and large: no single one read them all.
///
/// With several symbols in a photo, one pass may read some and another the
/// rest, so passes go on until the symbols found are settled (every one read,
/// none with modules under [`SMALL_MODULE`] pixels in the working picture) and
/// [`QUIET_PASSES`] passes in a row have found nothing new. The costly passes
/// for small symbols, [`Size::Up`] and [`Size::Full`], are skipped while the
/// symbols found are settled: a much smaller symbol beside large ones that
/// were read can be missed.
const PASSES: [Pass; 8] = [
    Pass::new(Size::Work, None, None),
    Pass::new(Size::Work, Some(1.0), None),
    Pass::new(Size::Work, None, Some(90)),
    Pass::new(Size::Work, Some(2.0), None),
    Pass::new(Size::Half, None, None),
    Pass::new(Size::Up, Some(1.5), None),
    Pass::new(Size::Up, Some(2.0), Some(100)),
    Pass::new(Size::Full, None, None),
];

/// Most pixels in a picture enlarged for [`Size::Up`].
const UP_PIXELS: u64 = 3_000_000;

/// How many times a `width` x `height` working picture is enlarged for
/// [`Size::Up`]: 3 or 2 times, as many as [`UP_PIXELS`] allows; 1 means not
/// at all.
fn up_factor(width: u32, height: u32) -> u32 {
    let pixels = u64::from(width) * u64::from(height);
    (2..=3)
        .rev()
        .find(|&k| k * k * pixels <= UP_PIXELS)
        .map_or(1, |k| k as u32)
}

/// Passes in a row that find nothing new before the scan stops, once the
/// symbols found are settled.
const QUIET_PASSES: usize = 2;

/// Modules smaller than this, in pixels of the working picture, suggest that
/// other symbols in the photo may be too small for the cheaper passes.
const SMALL_MODULE: f64 = 3.5;

/// Most detector runs a pass makes: after each run that reads a symbol, the
/// symbols read are painted over and the detector runs again, since rqrr
/// pairs up finder patterns greedily and, with several symbols side by side,
/// can combine the finders of different symbols and miss some.
const MAX_ROUNDS: usize = 16;

/// A symbol the detector found.
#[derive(Debug)]
struct Found {
    /// Corners, in pixels of the original picture, as rqrr reports them: top
    /// left, top right, bottom right, bottom left as the symbol reads; the
    /// outline reaches one module past the symbol's right and bottom edges.
    corners: [(f64, f64); 4],
    /// Centre, in pixels of the original picture.
    x: f64,
    y: f64,
    /// Mean side length, in pixels of the original picture.
    size: f64,
    /// Mean module size, in pixels of the working picture.
    module: f64,
    text: Result<String, rqrr::DeQRError>,
}

impl Found {
    /// A symbol of `modules` x `modules` with the outline `corners` (in pixels
    /// of the original picture) and `work_scale` original pixels to a pixel of
    /// the working picture.
    fn new(
        corners: [(f64, f64); 4],
        modules: usize,
        work_scale: f64,
        text: Result<String, rqrr::DeQRError>,
    ) -> Found {
        let [a, b, c, d] = corners;
        let side = |p: (f64, f64), q: (f64, f64)| (p.0 - q.0).hypot(p.1 - q.1);
        let size = (side(a, b) + side(b, c) + side(c, d) + side(d, a)) / 4.0;
        // The outline spans one module more than the symbol.
        let modules = modules.saturating_add(1) as f64;
        Found {
            corners,
            x: (a.0 + b.0 + c.0 + d.0) / 4.0,
            y: (a.1 + b.1 + c.1 + d.1) / 4.0,
            size,
            module: size / modules / work_scale,
            text,
        }
    }

    /// Whether `other` is the same symbol, found in another pass.
    fn same_place(&self, other: &Found) -> bool {
        let reach = 0.5 * self.size.max(other.size);
        (self.x - other.x).hypot(self.y - other.y) < reach
    }

    /// Whether the outlines of the two symbols overlap.
    fn overlaps(&self, other: &Found) -> bool {
        !separated(&self.corners, &other.corners) && !separated(&other.corners, &self.corners)
    }
}

/// The picture at the sizes the passes need, each made when first needed.
///
/// The pictures are kept as [`DynamicImage`] for its resampling and
/// sharpening methods: unlike the generic functions of `image::imageops`,
/// they are compiled in the image crate, so they are optimised even in a
/// debug build of this one.
struct Pictures<'a> {
    /// The photo, in greyscale.
    full: &'a DynamicImage,
    /// The working picture, when it is not the photo itself.
    reduced: Option<DynamicImage>,
    half: OnceCell<Option<DynamicImage>>,
    up: OnceCell<Option<DynamicImage>>,
}

impl Pictures<'_> {
    fn work(&self) -> &DynamicImage {
        self.reduced.as_ref().unwrap_or(self.full)
    }

    /// The picture for `size`, and how many of its pixels make one pixel of
    /// the working picture; `None` when the pass does not apply.
    fn get(&self, size: Size) -> Option<(&DynamicImage, f64)> {
        let work = self.work();
        let (w, h) = (work.width(), work.height());
        match size {
            Size::Work => Some((work, 1.0)),
            Size::Half => self
                .half
                .get_or_init(|| (w.min(h) >= 200).then(|| work.thumbnail_exact(w / 2, h / 2)))
                .as_ref()
                .map(|image| (image, 0.5)),
            Size::Up => {
                let k = up_factor(w, h);
                self.up
                    .get_or_init(|| {
                        (k > 1).then(|| work.resize_exact(w * k, h * k, FilterType::CatmullRom))
                    })
                    .as_ref()
                    .map(|image| (image, f64::from(k)))
            }
            Size::Full => {
                let factor = f64::from(self.full.width()) / f64::from(w.max(1));
                self.reduced.as_ref().map(|_| (self.full, factor))
            }
        }
    }
}

/// Finds and decodes the symbols in `grey` (a greyscale picture), running
/// `passes` as [`PASSES`] describes, and returns them in reading order. Of the
/// symbols found but not read, those that overlap a symbol read are dropped
/// (the detector combined finder patterns of different symbols), and
/// overlapping ones count once.
///
/// Work is bounded: a working picture with more than [`MAX_FINDERS`]
/// finder-like patterns is refused before the detector runs, and the scan
/// stops once the detector has reported [`MAX_CANDIDATES`] candidates; more
/// than [`MAX_SYMBOLS`] symbols found is [`ImageError::TooManySymbols`].
fn scan(grey: &DynamicImage, passes: &[Pass]) -> Result<Vec<Found>, ImageError> {
    let (width, height) = (grey.width(), grey.height());
    let reduced = (width.max(height) > WORK_SIDE).then(|| {
        let (w, h) = fit(width, height, WORK_SIDE);
        grey.thumbnail_exact(w, h)
    });
    let pictures = Pictures {
        full: grey,
        reduced,
        half: OnceCell::new(),
        up: OnceCell::new(),
    };
    // Original pixels per working pixel.
    let work_scale = f64::from(width) / f64::from(pictures.work().width().max(1));
    let finders = count_finders(&local_threshold(&pictures.work().to_luma8(), 100));
    if finders > MAX_FINDERS {
        return Err(ImageError::TooManySymbols { about: finders / 3 });
    }

    let mut found: Vec<Found> = Vec::new();
    let mut quiet = 0;
    let mut candidates = 0_usize;
    'passes: for pass in passes {
        if settled(&found) {
            if quiet >= QUIET_PASSES {
                break;
            }
            if matches!(pass.size, Size::Up | Size::Full) {
                continue;
            }
        }
        let Some((base, zoom)) = pictures.get(pass.size) else {
            continue;
        };
        let mut image = match pass.sharpen {
            // `as`: the radius is a few pixels.
            Some(sigma) => base.unsharpen(sigma * zoom as f32, 0).into_luma8(),
            None => base.to_luma8(),
        };
        if let Some(percent) = pass.threshold {
            image = local_threshold(&image, percent);
        }
        let scale = work_scale / zoom;
        let mut news = false;
        // Another round only after one that read a new symbol: one pass
        // peeling the symbols away is enough for the others.
        for _ in 0..MAX_ROUNDS {
            let mut read_new = false;
            let detections = detect(image.clone());
            candidates = candidates.saturating_add(detections.len());
            for (corners, modules, text) in detections {
                if text.is_ok() {
                    paint_out(&mut image, corners);
                }
                let corners = corners.map(|(x, y)| (x * scale, y * scale));
                let symbol = Found::new(corners, modules, work_scale, text);
                match found.iter_mut().find(|f| f.same_place(&symbol)) {
                    Some(known) if known.text.is_err() && symbol.text.is_ok() => {
                        *known = symbol;
                        read_new = true;
                    }
                    Some(_) => {}
                    None => {
                        read_new |= symbol.text.is_ok();
                        news = true;
                        found.push(symbol);
                    }
                }
            }
            news |= read_new;
            if found.len() > MAX_SYMBOLS {
                return Err(ImageError::TooManySymbols { about: found.len() });
            }
            if candidates >= MAX_CANDIDATES {
                break 'passes;
            }
            if !read_new {
                break;
            }
        }
        quiet = if news { 0 } else { quiet + 1 };
    }
    let (mut kept, unread): (Vec<Found>, Vec<Found>) =
        found.into_iter().partition(|f| f.text.is_ok());
    for symbol in unread {
        if !kept.iter().any(|k| k.overlaps(&symbol)) {
            kept.push(symbol);
        }
    }
    Ok(reading_order(kept))
}

/// Estimates how many QR finder patterns a black-and-white picture holds: on
/// each row, runs of dark, light, dark, light, dark in the proportions
/// 1:1:3:1:1 (a finder square crossed through its middle), grouped into one
/// pattern where they stack on nearby rows at the same place. A linear pass
/// over the pixels, made before the detector (whose work grows much faster
/// with the number of patterns) runs at all.
fn count_finders(image: &GrayImage) -> usize {
    /// A pattern being followed down the rows: centre, width, last row met,
    /// rows met.
    struct Open {
        x: usize,
        width: usize,
        last: usize,
        rows: usize,
    }
    // A pattern counts when crossed on rows spanning two of its centre
    // square's three modules (and at least two rows): data modules of a
    // symbol make the proportions on a row or a module's height now and then.
    let counts = |p: &Open| p.rows >= 2 && p.rows * 7 >= p.width * 2;
    let width = image.width() as usize;
    let mut open: Vec<Open> = Vec::new();
    let mut total = 0_usize;
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (y, line) in image.as_raw().chunks_exact(width.max(1)).enumerate() {
        // Runs of one colour on this row: (start, length), dark first or not.
        runs.clear();
        let mut start = 0;
        for x in 1..=line.len() {
            if line.get(x) != line.get(start) {
                runs.push((start, x - start));
                start = x;
            }
        }
        let first_dark = line.first() == Some(&0);
        for (i, window) in runs.windows(5).enumerate() {
            // Windows starting on a dark run: every other one.
            if (i % 2 == 0) != first_dark {
                continue;
            }
            let &[(_, a), (_, b), (xc, c), (_, d), (_, e)] = window else {
                continue;
            };
            let sum = a + b + c + d + e;
            if sum < 7 {
                continue;
            }
            // Each thin run within half a module of one module, the middle
            // one within a module of three (in sevenths of the sum).
            let thin = |n: usize| (7 * n).abs_diff(sum) * 2 <= sum;
            let thick = (7 * c).abs_diff(3 * sum) <= sum;
            if !(thin(a) && thin(b) && thin(d) && thin(e) && thick) {
                continue;
            }
            let x = xc + c / 2;
            match open
                .iter_mut()
                .find(|p| p.last + 2 >= y && p.x.abs_diff(x) * 4 <= p.width)
            {
                Some(p) if p.last != y => {
                    p.last = y;
                    p.rows += 1;
                }
                Some(_) => {}
                None => open.push(Open {
                    x,
                    width: sum,
                    last: y,
                    rows: 1,
                }),
            }
        }
        // Patterns no longer met are complete.
        open.retain(|p| {
            let done = p.last + 2 < y;
            if done && counts(p) {
                total += 1;
            }
            !done
        });
    }
    total + open.iter().filter(|p| counts(p)).count()
}

/// Whether the symbols found so far look complete: at least one, every one
/// read (or overlapping one that was), none small.
fn settled(found: &[Found]) -> bool {
    let read = || found.iter().filter(|f| f.text.is_ok());
    read().next().is_some()
        && read().all(|f| f.module >= SMALL_MODULE)
        && found
            .iter()
            .filter(|f| f.text.is_err())
            .all(|f| read().any(|r| r.overlaps(f)))
}

/// Width and height of a `width` x `height` picture reduced to `side` pixels
/// on its longer side.
fn fit(width: u32, height: u32, side: u32) -> (u32, u32) {
    let longer = u64::from(width.max(height).max(1));
    let scale = |d: u32| {
        let scaled = (u64::from(d) * u64::from(side) + longer / 2) / longer;
        u32::try_from(scaled).unwrap_or(side).max(1)
    };
    (scale(width), scale(height))
}

/// What the detector reports of a symbol: its corners, in pixels of the image
/// searched; its size, in modules; its text.
type Detection = ([(f64, f64); 4], usize, Result<String, rqrr::DeQRError>);

/// Least [`timing_score`] of a symbol that cannot be read for it to count as
/// a symbol at all.
const MIN_TIMING: f64 = 0.8;

/// Runs the detector on `image` and decodes what it finds. A symbol that
/// cannot be read is kept only if its timing patterns look right: the detector
/// takes three finder-like patterns in texture or noise for a symbol, and
/// rqrr's format check passes about half of such phantoms. A panic in the
/// detector finds nothing.
fn detect(image: GrayImage) -> Vec<Detection> {
    guarded(move || {
        let mut prepared = rqrr::PreparedImage::prepare(image);
        prepared
            .detect_grids()
            .into_iter()
            .filter_map(|grid| {
                let corners = grid.bounds.map(|p| (f64::from(p.x), f64::from(p.y)));
                let modules = rqrr::BitGrid::size(&grid.grid);
                let text = grid.decode().map(|(_, text)| text);
                let real = text.is_ok() || timing_score(&grid.grid) >= MIN_TIMING;
                real.then_some((corners, modules, text))
            })
            .collect()
    })
    .unwrap_or_default()
}

/// The share of the timing pattern's modules (row and column 6, between the
/// finder patterns) that read as they should: dark and light in turn, dark
/// first. Near 1 for a symbol, even a blurred one; near a half for three
/// finder-like patterns in noise taken for a symbol.
fn timing_score(grid: &dyn rqrr::BitGrid) -> f64 {
    let size = grid.size();
    let (mut right, mut total) = (0_u32, 0_u32);
    for i in 8..size.saturating_sub(8) {
        let dark = i % 2 == 0;
        right += u32::from(grid.bit(6, i) == dark) + u32::from(grid.bit(i, 6) == dark);
        total += 2;
    }
    f64::from(right) / f64::from(total.max(1))
}

/// The sides of a quadrilateral, as pairs of corners.
fn sides(corners: &[(f64, f64); 4]) -> impl Iterator<Item = ((f64, f64), (f64, f64))> + Clone + '_ {
    corners
        .iter()
        .copied()
        .zip(corners.iter().copied().cycle().skip(1))
}

/// Whether (x, y) is inside the convex quadrilateral `corners` (either
/// winding).
fn inside(corners: &[(f64, f64); 4], x: f64, y: f64) -> bool {
    let mut cross =
        sides(corners).map(|((ax, ay), (bx, by))| (bx - ax) * (y - ay) - (by - ay) * (x - ax));
    let all_positive = cross.clone().all(|c| c >= 0.0);
    all_positive || cross.all(|c| c <= 0.0)
}

/// Whether a side of the convex quadrilateral `a` separates it from `b`: the
/// separating axis test, half of it.
fn separated(a: &[(f64, f64); 4], b: &[(f64, f64); 4]) -> bool {
    sides(a).any(|((ax, ay), (bx, by))| {
        // The side's normal; project both shapes on it.
        let (nx, ny) = (ay - by, bx - ax);
        let project = |q: &[(f64, f64); 4]| {
            q.iter()
                .map(|&(x, y)| x * nx + y * ny)
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                })
        };
        let ((a_lo, a_hi), (b_lo, b_hi)) = (project(a), project(b));
        a_hi < b_lo || b_hi < a_lo
    })
}

/// Paints the symbol with the outline `corners`, grown by a tenth, white, so
/// that the detector cannot use its finder patterns again.
fn paint_out(image: &mut GrayImage, corners: [(f64, f64); 4]) {
    let cx = corners.iter().map(|c| c.0).sum::<f64>() / 4.0;
    let cy = corners.iter().map(|c| c.1).sum::<f64>() / 4.0;
    let grown = corners.map(|(x, y)| (cx + 1.1 * (x - cx), cy + 1.1 * (y - cy)));
    let (w, h) = image.dimensions();
    // `as` saturates: corners far outside the image clamp to its edges.
    let clamp = |v: f64, max: u32| (v.max(0.0) as u32).min(max);
    let x0 = clamp(grown.iter().map(|c| c.0).fold(f64::INFINITY, f64::min), w);
    let x1 = clamp(
        grown.iter().map(|c| c.0).fold(f64::NEG_INFINITY, f64::max) + 1.0,
        w,
    );
    let y0 = clamp(grown.iter().map(|c| c.1).fold(f64::INFINITY, f64::min), h);
    let y1 = clamp(
        grown.iter().map(|c| c.1).fold(f64::NEG_INFINITY, f64::max) + 1.0,
        h,
    );
    for y in y0..y1 {
        for x in x0..x1 {
            if inside(&grown, f64::from(x) + 0.5, f64::from(y) + 0.5)
                && let Some(pixel) = image.get_pixel_mut_checked(x, y)
            {
                *pixel = ::image::Luma([255]);
            }
        }
    }
}

/// Sorts symbols into rows, top to bottom, then each row left to right. A
/// symbol joins a row when its centre is within half a symbol of the centre
/// of the row's first symbol, so a slightly tilted row stays one row.
fn reading_order(mut found: Vec<Found>) -> Vec<Found> {
    found.sort_by(|a, b| a.y.total_cmp(&b.y));
    let mut rows: Vec<Vec<Found>> = Vec::new();
    for symbol in found {
        match rows.last_mut() {
            Some(row)
                if row.first().is_some_and(|first| {
                    symbol.y - first.y < 0.5 * first.size.min(symbol.size)
                }) =>
            {
                row.push(symbol);
            }
            _ => rows.push(vec![symbol]),
        }
    }
    rows.into_iter()
        .flat_map(|mut row| {
            row.sort_by(|a, b| a.x.total_cmp(&b.x));
            row
        })
        .collect()
}

/// Makes each pixel black or white by comparing it with `percent` of the mean
/// of a square around it, an eighth of the shorter side across.
/// Unlike a global threshold this copes with uneven light; unlike rqrr's own,
/// which averages along rows only, with shadows and gradients in every
/// direction.
fn local_threshold(image: &GrayImage, percent: u64) -> GrayImage {
    let (w, h) = image.dimensions();
    let (wu, hu) = (w as usize, h as usize);
    let pixels = image.as_raw();
    // Integral image: sum[y][x] is the sum of the pixels above and left of
    // (x, y); one row and column of zeros in front.
    let stride = wu + 1;
    let mut sum = vec![0_u64; stride * (hu + 1)];
    let mut above = vec![0_u64; stride];
    for (row, line) in sum
        .chunks_exact_mut(stride)
        .skip(1)
        .zip(pixels.chunks_exact(wu.max(1)))
    {
        let mut run = 0_u64;
        for ((out, up), &p) in row.iter_mut().skip(1).zip(above.iter().skip(1)).zip(line) {
            run += u64::from(p);
            *out = up + run;
        }
        above.copy_from_slice(row);
    }
    let radius = (wu.min(hu) / 16).max(4);
    let at = |x: usize, y: usize| sum.get(y * stride + x).copied().unwrap_or(0);
    let mut out = GrayImage::new(w, h);
    for (y, (row, line)) in out
        .chunks_exact_mut(wu.max(1))
        .zip(pixels.chunks_exact(wu.max(1)))
        .enumerate()
    {
        let (y0, y1) = (y.saturating_sub(radius), (y + radius + 1).min(hu));
        for (x, (o, &p)) in row.iter_mut().zip(line).enumerate() {
            let (x0, x1) = (x.saturating_sub(radius), (x + radius + 1).min(wu));
            let area = ((x1 - x0) * (y1 - y0)) as u64;
            let total = (at(x1, y1) + at(x0, y0)).saturating_sub(at(x0, y1) + at(x1, y0));
            *o = if u64::from(p) * area * 100 < total * percent {
                0
            } else {
                255
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

    use super::*;
    use crate::symbol::{self, Symbol};
    use ::image::imageops;

    fn code_like(seed: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        (0..164)
            .map(|i: usize| ALPHABET[(i * 7 + seed * 13 + 3) % 32] as char)
            .collect()
    }

    /// `n` x `n` distinct QR symbols side by side, `scale` pixels a module.
    fn sheet_of_labels(n: u32, scale: u32) -> Vec<u8> {
        let tiles: Vec<symbol::Matrix> = (0..n * n)
            .map(|i| symbol::Matrix::encode(&format!("{i:0>20}"), Symbol::Qr).unwrap())
            .collect();
        let side = (tiles[0].width() as u32 + 8) * scale;
        let mut sheet = GrayImage::from_pixel(side * n, side * n, ::image::Luma([255]));
        for (i, m) in (0_u32..).zip(&tiles) {
            let (left, top) = ((i % n) * side, (i / n) * side);
            for y in 0..m.height() {
                for x in 0..m.width() {
                    if !m.is_dark(x, y) {
                        continue;
                    }
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let px = left + (x as u32 + 4) * scale + dx;
                            let py = top + (y as u32 + 4) * scale + dy;
                            sheet.put_pixel(px, py, ::image::Luma([0]));
                        }
                    }
                }
            }
        }
        encode(&sheet, ImageFormat::Png)
    }

    /// Issue 18: a 34 KiB photo with 144 QR codes took 198 s. Its work is now
    /// bounded: refused at once, before the detector runs.
    #[test]
    fn regression_photo_with_144_qr_codes_is_refused_without_searching() {
        let png = sheet_of_labels(12, 2);
        assert!(png.len() < 40 * 1024, "{} bytes", png.len());
        let grey = load_grey(&png).unwrap().to_luma8();
        let finders = count_finders(&local_threshold(&grey, 100));
        // 432 finder patterns; the estimate is close, and far over the limit.
        assert!((400..=480).contains(&finders), "{finders} finders");
        match decode_qr_codes(&png) {
            Err(ImageError::TooManySymbols { about }) => assert!(about > MAX_SYMBOLS),
            other => panic!("{other:?}"),
        }
    }

    /// The bound leaves a photo of up to MAX_SYMBOLS labels readable.
    #[test]
    fn a_photo_of_max_symbols_labels_is_read_in_full() {
        let png = sheet_of_labels(4, 3);
        let expected: Vec<String> = (0..16).map(|i| format!("{i:0>20}")).collect();
        assert_eq!(decode_qr_codes(&png).unwrap(), expected);
    }

    fn qr_png(data: &str) -> Vec<u8> {
        symbol::render(data, Symbol::Qr, symbol::ImageFormat::Png).unwrap()
    }

    /// A pseudo-random byte sequence.
    fn noise(len: usize, mut state: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                (state >> 56) as u8
            })
            .collect()
    }

    fn encode(image: &GrayImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn reads_a_rendered_symbol() {
        let code = code_like(1);
        assert_eq!(decode_qr_codes(&qr_png(&code)).unwrap(), vec![code]);
    }

    #[test]
    fn no_symbol_is_an_empty_list() {
        for (w, h) in [(1, 1), (1, 300), (300, 2), (17, 5)] {
            let thin = GrayImage::from_pixel(w, h, ::image::Luma([0]));
            assert!(
                decode_qr_codes(&encode(&thin, ImageFormat::Png))
                    .unwrap()
                    .is_empty()
            );
        }
        let blank = GrayImage::from_pixel(300, 200, ::image::Luma([200]));
        assert!(
            decode_qr_codes(&encode(&blank, ImageFormat::Png))
                .unwrap()
                .is_empty()
        );
        let raw = noise(300 * 200, 7);
        let grain = GrayImage::from_raw(300, 200, raw).unwrap();
        assert!(
            decode_qr_codes(&encode(&grain, ImageFormat::Jpeg))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn symbols_come_in_reading_order() {
        // Four symbols on a 2 x 2 grid, the right column a little lower.
        let codes: Vec<String> = (0..4).map(code_like).collect();
        let mut sheet = GrayImage::from_pixel(560, 560, ::image::Luma([255]));
        for (i, code) in codes.iter().enumerate() {
            let tile = ::image::load_from_memory(&qr_png(code))
                .unwrap()
                .into_luma8();
            let (x, y) = (
                (i % 2) as i64 * 280,
                (i / 2) as i64 * 260 + (i % 2) as i64 * 30,
            );
            imageops::overlay(&mut sheet, &tile, x + 20, y + 10);
        }
        assert_eq!(
            decode_qr_codes(&encode(&sheet, ImageFormat::Png)).unwrap(),
            codes
        );
    }

    #[test]
    fn a_damaged_symbol_is_reported_with_the_codes_that_were_read() {
        let (good, bad) = (code_like(5), code_like(6));
        let mut sheet = GrayImage::from_pixel(480, 240, ::image::Luma([255]));
        for (i, code) in [&good, &bad].into_iter().enumerate() {
            let tile = ::image::load_from_memory(&qr_png(code))
                .unwrap()
                .into_luma8();
            imageops::overlay(&mut sheet, &tile, i as i64 * 240 + 14, 14);
        }
        // Scratch out most of the second symbol's data, not its finders.
        for y in 14 + 4 * 12..14 + 4 * 40 {
            for x in 240 + 14 + 4 * 12..240 + 14 + 4 * 40 {
                if (x / 3 + y / 5) % 3 == 0 {
                    sheet.put_pixel(x, y, ::image::Luma([0]));
                }
            }
        }
        match decode_qr_codes(&encode(&sheet, ImageFormat::Png)) {
            Err(ImageError::UnreadableQr {
                decoded,
                unreadable: 1,
                reason,
            }) => {
                assert_eq!(decoded, vec![good]);
                assert!(!reason.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_formats_and_garbage_are_refused_cleanly() {
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert!(matches!(
            decode_qr_codes(gif),
            Err(ImageError::UnsupportedFormat)
        ));
        assert!(matches!(
            decode_qr_codes(b""),
            Err(ImageError::UnsupportedFormat)
        ));
        let message = decode_qr_codes(b"not an image").unwrap_err().to_string();
        assert!(message.contains("PNG and JPEG"), "{message}");
    }

    #[test]
    fn random_and_truncated_input_never_panics() {
        for (n, len) in [0, 1, 7, 8, 16, 33, 100, 1000, 5000]
            .into_iter()
            .enumerate()
        {
            let bytes = noise(len, n as u64);
            let _ = decode_qr_codes(&bytes);
            // Random bytes behind a valid signature reach the decoders.
            for magic in [&b"\x89PNG\r\n\x1a\n"[..], b"\xFF\xD8\xFF\xE0"] {
                let _ = decode_qr_codes(&[magic, &bytes].concat());
            }
        }
        // A small picture cut at every byte; the symbol at a few places.
        let small = GrayImage::from_raw(24, 16, noise(24 * 16, 5)).unwrap();
        let png = qr_png(&code_like(2));
        let symbol = ::image::load_from_memory(&png).unwrap().into_luma8();
        for (whole, step) in [
            (encode(&small, ImageFormat::Png), 1),
            (encode(&small, ImageFormat::Jpeg), 1),
            (png.clone(), png.len() / 9),
            (encode(&symbol, ImageFormat::Jpeg), 997),
        ] {
            for cut in (0..whole.len()).step_by(step) {
                match decode_qr_codes(&whole[..cut]) {
                    Ok(_) | Err(ImageError::Decode { .. } | ImageError::UnsupportedFormat) => {}
                    Err(e) => panic!("cut at {cut}: {e}"),
                }
            }
            // Bytes flipped all through the data.
            let mut mangled = whole.clone();
            let len = mangled.len();
            for (i, b) in noise(16, 99).into_iter().enumerate() {
                mangled[20 + i * (len - 20) / 16] ^= b | 1;
            }
            let _ = decode_qr_codes(&mangled);
        }
    }

    #[test]
    fn random_pixels_never_panic_the_detector() {
        for seed in 0..20 {
            let raw = noise(160 * 120, seed);
            // Coarse blocks look more like finder patterns than grain does.
            let blocky = GrayImage::from_fn(160, 120, |x, y| {
                ::image::Luma([if raw[((y / 4) * 160 + x / 4) as usize] < 128 {
                    0
                } else {
                    255
                }])
            });
            let blocky = DynamicImage::ImageLuma8(blocky);
            for pass in PASSES {
                scan(&blocky, &[pass]).unwrap();
            }
        }
    }

    #[test]
    fn a_panic_is_caught() {
        // rqrr has asserts that pictures can trip (tests/images.rs has one).
        assert_eq!(guarded(|| -> u8 { panic!("a detector bug") }), None);
        assert_eq!(guarded(|| 7), Some(7));
    }

    #[test]
    fn sizes_are_checked_before_decoding() {
        // A PNG header claiming 10000 x 10000 pixels and no data.
        let mut header = GrayImage::new(1, 1);
        header.put_pixel(0, 0, ::image::Luma([0]));
        let mut png = encode(&header, ImageFormat::Png);
        png[16..20].copy_from_slice(&10_000_u32.to_be_bytes());
        png[20..24].copy_from_slice(&10_000_u32.to_be_bytes());
        // The header checksum covers bytes 12..29.
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        match decode_qr_codes(&png) {
            Err(ImageError::TooLarge {
                width: 10_000,
                height: 10_000,
            }) => {}
            other => panic!("{other:?}"),
        }
        let message = decode_qr_codes(&png).unwrap_err().to_string();
        assert!(message.contains("10000 x 10000"), "{message}");
        let huge = vec![0_u8; MAX_FILE_BYTES as usize + 1];
        assert!(matches!(
            decode_qr_codes(&huge),
            Err(ImageError::FileTooLarge { .. })
        ));
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let e = decode_qr_file(Path::new("/nonexistent/label.png")).unwrap_err();
        assert!(matches!(e, ImageError::Io(_)), "{e:?}");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn fit_keeps_the_aspect_ratio() {
        assert_eq!(fit(4000, 3000, 1600), (1600, 1200));
        assert_eq!(fit(3000, 4000, 1600), (1200, 1600));
        assert_eq!(fit(100_000, 1, 1600), (1600, 1));
    }

    /// CRC-32 (ISO-HDLC), as PNG chunks use.
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0_u32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
            }
        }
        !crc
    }
}
