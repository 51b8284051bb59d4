//! The passes over a photo: how the picture is prepared for the detector,
//! how symbols found in several passes are merged, and when the search stops.

use std::cell::OnceCell;
use std::panic::{self, AssertUnwindSafe};

use ::image::imageops::FilterType;
use ::image::{DynamicImage, GrayImage};

use super::datamatrix::{DM_PASSES, decode_gs1_qr, read_all};
use super::pixels::{count_finders, local_threshold, paint_out};
use super::{ImageError, MAX_CANDIDATES, MAX_FINDERS, MAX_SYMBOLS, WORK_SIDE};

/// Runs `f`, turning a panic into `None`.
pub(super) fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    panic::catch_unwind(AssertUnwindSafe(f)).ok()
}

/// How a pass sizes the picture for the detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Size {
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
pub(super) struct Pass {
    pub(super) size: Size,
    /// Sharpen with an unsharp mask of this radius (Gaussian sigma, in pixels
    /// of the working picture): undoes some blur.
    pub(super) sharpen: Option<f32>,
    /// Make each pixel black or white against this percentage of the mean of
    /// its neighbourhood (see [`local_threshold`]).
    pub(super) threshold: Option<u64>,
}

impl Pass {
    pub(super) const fn new(size: Size, sharpen: Option<f32>, threshold: Option<u64>) -> Pass {
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
pub(super) const PASSES: [Pass; 8] = [
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
pub(super) const UP_PIXELS: u64 = 3_000_000;

/// How many times a `width` x `height` working picture is enlarged for
/// [`Size::Up`]: 3 or 2 times, as many as [`UP_PIXELS`] allows; 1 means not
/// at all.
pub(super) fn up_factor(width: u32, height: u32) -> u32 {
    let pixels = u64::from(width) * u64::from(height);
    (2..=3)
        .rev()
        .find(|&k| k * k * pixels <= UP_PIXELS)
        .map_or(1, |k| k as u32)
}

/// Passes in a row that find nothing new before the scan stops, once the
/// symbols found are settled.
pub(super) const QUIET_PASSES: usize = 2;

/// Modules smaller than this, in pixels of the working picture, suggest that
/// other symbols in the photo may be too small for the cheaper passes.
pub(super) const SMALL_MODULE: f64 = 3.5;

/// Most detector runs a pass makes: after each run that reads a symbol, the
/// symbols read are painted over and the detector runs again, since rqrr
/// pairs up finder patterns greedily and, with several symbols side by side,
/// can combine the finders of different symbols and miss some.
pub(super) const MAX_ROUNDS: usize = 16;

/// A symbol the detector found.
#[derive(Debug)]
pub(super) struct Found {
    /// Corners, in pixels of the original picture, as rqrr reports them: top
    /// left, top right, bottom right, bottom left as the symbol reads; the
    /// outline reaches one module past the symbol's right and bottom edges.
    pub(super) corners: [(f64, f64); 4],
    /// Centre, in pixels of the original picture.
    pub(super) x: f64,
    pub(super) y: f64,
    /// Mean side length, in pixels of the original picture.
    pub(super) size: f64,
    /// Mean module size, in pixels of the working picture.
    pub(super) module: f64,
    pub(super) text: Result<String, rqrr::DeQRError>,
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

    /// A Data Matrix symbol read, with the outline `corners` in pixels of the
    /// original picture. Its module size is not known and not needed: only
    /// QR symbols decide whether the QR passes are settled.
    fn datamatrix(corners: [(f64, f64); 4], text: String) -> Found {
        let mut found = Found::new(corners, 0, 1.0, Ok(text));
        found.module = f64::INFINITY;
        found
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
pub(super) struct Pictures<'a> {
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
    pub(super) fn get(&self, size: Size) -> Option<(&DynamicImage, f64)> {
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
pub(super) fn scan(grey: &DynamicImage, passes: &[Pass]) -> Result<Vec<Found>, ImageError> {
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
    let qr_found = !kept.is_empty();
    let matrices = scan_datamatrix(&pictures, work_scale, kept.len(), qr_found)?;
    kept.extend(matrices);
    Ok(reading_order(kept))
}

/// Finds and reads the Data Matrix symbols, running [`DM_PASSES`] until one
/// pass after a symbol was read adds nothing. The costly passes for small
/// symbols ([`Size::Up`], [`Size::Full`]) run only while nothing at all was
/// found, QR included: a photo of a QR label costs a little more, not twice.
/// `already` symbols were found before; with these more than [`MAX_SYMBOLS`]
/// is [`ImageError::TooManySymbols`].
fn scan_datamatrix(
    pictures: &Pictures<'_>,
    work_scale: f64,
    already: usize,
    qr_found: bool,
) -> Result<Vec<Found>, ImageError> {
    let mut found: Vec<Found> = Vec::new();
    let mut quiet = 0;
    for pass in &DM_PASSES {
        if (qr_found || !found.is_empty()) && matches!(pass.size, Size::Up | Size::Full) {
            continue;
        }
        if !found.is_empty() && quiet >= 1 {
            break;
        }
        let Some((base, zoom)) = pictures.get(pass.size) else {
            continue;
        };
        let image = match pass.sharpen {
            // `as`: the radius is a few pixels.
            Some(sigma) => base.unsharpen(sigma * zoom as f32, 0).into_luma8(),
            None => base.to_luma8(),
        };
        let scale = work_scale / zoom;
        let room = MAX_SYMBOLS.saturating_sub(already);
        let mut news = false;
        for (corners, text) in read_all(image, room) {
            let symbol = Found::datamatrix(corners.map(|(x, y)| (x * scale, y * scale)), text);
            if !found.iter().any(|f| f.same_place(&symbol)) {
                found.push(symbol);
                news = true;
            }
        }
        if already + found.len() > MAX_SYMBOLS {
            return Err(ImageError::TooManySymbols {
                about: already + found.len(),
            });
        }
        quiet = if news { 0 } else { quiet + 1 };
    }
    Ok(found)
}

/// Whether the symbols found so far look complete: at least one, every one
/// read (or overlapping one that was), none small.
pub(super) fn settled(found: &[Found]) -> bool {
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
pub(super) fn fit(width: u32, height: u32, side: u32) -> (u32, u32) {
    let longer = u64::from(width.max(height).max(1));
    let scale = |d: u32| {
        let scaled = (u64::from(d) * u64::from(side) + longer / 2) / longer;
        u32::try_from(scaled).unwrap_or(side).max(1)
    };
    (scale(width), scale(height))
}

/// What the detector reports of a symbol: its corners, in pixels of the image
/// searched; its size, in modules; its text.
pub(super) type Detection = ([(f64, f64); 4], usize, Result<String, rqrr::DeQRError>);

/// Least [`timing_score`] of a symbol that cannot be read for it to count as
/// a symbol at all.
pub(super) const MIN_TIMING: f64 = 0.8;

/// Runs the detector on `image` and decodes what it finds. A symbol that
/// cannot be read is kept only if its timing patterns look right: the detector
/// takes three finder-like patterns in texture or noise for a symbol, and
/// rqrr's format check passes about half of such phantoms. A panic in the
/// detector finds nothing.
pub(super) fn detect(image: GrayImage) -> Vec<Detection> {
    guarded(move || {
        let mut prepared = rqrr::PreparedImage::prepare(image);
        prepared
            .detect_grids()
            .into_iter()
            .filter_map(|grid| {
                let corners = grid.bounds.map(|p| (f64::from(p.x), f64::from(p.y)));
                let modules = rqrr::BitGrid::size(&grid.grid);
                let text = match grid.decode() {
                    Ok((_, text)) => Ok(text),
                    // rqrr stops at the FNC1 mode of a GS1 symbol.
                    Err(rqrr::DeQRError::UnknownDataType) => {
                        decode_gs1_qr(&grid.grid).ok_or(rqrr::DeQRError::UnknownDataType)
                    }
                    Err(e) => Err(e),
                };
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
pub(super) fn timing_score(grid: &dyn rqrr::BitGrid) -> f64 {
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
pub(super) fn sides(
    corners: &[(f64, f64); 4],
) -> impl Iterator<Item = ((f64, f64), (f64, f64))> + Clone + '_ {
    corners
        .iter()
        .copied()
        .zip(corners.iter().copied().cycle().skip(1))
}

/// Whether (x, y) is inside the convex quadrilateral `corners` (either
/// winding).
pub(super) fn inside(corners: &[(f64, f64); 4], x: f64, y: f64) -> bool {
    let mut cross =
        sides(corners).map(|((ax, ay), (bx, by))| (bx - ax) * (y - ay) - (by - ay) * (x - ax));
    let all_positive = cross.clone().all(|c| c >= 0.0);
    all_positive || cross.all(|c| c <= 0.0)
}

/// Whether a side of the convex quadrilateral `a` separates it from `b`: the
/// separating axis test, half of it.
pub(super) fn separated(a: &[(f64, f64); 4], b: &[(f64, f64); 4]) -> bool {
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

/// Sorts symbols into rows, top to bottom, then each row left to right. A
/// symbol joins a row when its centre is within half a symbol of the centre
/// of the row's first symbol, so a slightly tilted row stays one row.
pub(super) fn reading_order(mut found: Vec<Found>) -> Vec<Found> {
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
