//! Pixel work on greyscale pictures: local thresholding, painting a symbol
//! out, and counting finder patterns before the detector runs.

use ::image::GrayImage;

use super::scan::inside;

/// Estimates how many QR finder patterns a black-and-white picture holds: on
/// each row, runs of dark, light, dark, light, dark in the proportions
/// 1:1:3:1:1 (a finder square crossed through its middle), grouped into one
/// pattern where they stack on nearby rows at the same place. A linear pass
/// over the pixels, made before the detector (whose work grows much faster
/// with the number of patterns) runs at all.
pub(super) fn count_finders(image: &GrayImage) -> usize {
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

/// Paints the symbol with the outline `corners`, grown by a tenth, white, so
/// that the detector cannot use its finder patterns again.
pub(super) fn paint_out(image: &mut GrayImage, corners: [(f64, f64); 4]) {
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

/// Makes each pixel black or white by comparing it with `percent` of the mean
/// of a square around it, an eighth of the shorter side across.
/// Unlike a global threshold this copes with uneven light; unlike rqrr's own,
/// which averages along rows only, with shadows and gradients in every
/// direction.
pub(super) fn local_threshold(image: &GrayImage, percent: u64) -> GrayImage {
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
