//! Data Matrix symbols in a photo, through rxing's detector and decoder; and
//! GS1 QR symbols (FNC1 in first position), which rqrr does not decode,
//! through rxing's QR decoder on the modules rqrr sampled.
//!
//! A GS1 symbol's text is reported with its AIM symbology identifier, `]d2`
//! or `]Q3`, before the element string (FNC1 separators as GS), so that a GS1
//! parser knows it for one; any other symbol's text is reported as it is.

use ::image::GrayImage;
use rxing::common::HybridBinarizer;
use rxing::datamatrix::DataMatrixReader;
use rxing::{
    BinaryBitmap, DecodeHints, Luma8LuminanceSource, RXingResultMetadataType,
    RXingResultMetadataValue, Reader as _,
};

use super::pixels::paint_out;
use super::scan::{MAX_ROUNDS, Pass, Size, guarded};

/// AIM symbology identifier of a GS1 Data Matrix (FNC1 in first position),
/// reported before its element string.
pub const GS1_DATAMATRIX: &str = "]d2";

/// AIM symbology identifier of a GS1 QR symbol (FNC1 in first position),
/// reported before its element string.
pub const GS1_QR: &str = "]Q3";

/// The passes for Data Matrix symbols, in order. rxing binarizes the picture
/// itself (against local means), so no pass thresholds; sharpening and
/// halving helped on blurred photos made like those in tests/images.rs.
pub(super) const DM_PASSES: [Pass; 5] = [
    Pass::new(Size::Work, None, None),
    Pass::new(Size::Work, Some(1.0), None),
    Pass::new(Size::Half, None, None),
    Pass::new(Size::Up, Some(1.5), None),
    Pass::new(Size::Full, None, None),
];

/// A Data Matrix symbol read: its outline in pixels of the picture searched,
/// and its text.
pub(super) type DmRead = ([(f64, f64); 4], String);

/// Finds and reads the Data Matrix symbols in `image`, at most `max`: after
/// each symbol read it is painted out and the detector runs again, up to
/// [`MAX_ROUNDS`] times. A panic in rxing ends the search with what was read.
pub(super) fn read_all(mut image: GrayImage, max: usize) -> Vec<DmRead> {
    let mut read = Vec::new();
    for _ in 0..MAX_ROUNDS.min(max.saturating_add(1)) {
        let Some(Some((corners, text))) = guarded(|| read_one(&image)) else {
            break;
        };
        paint_out(&mut image, corners);
        read.push((corners, text));
        if read.len() > max {
            break;
        }
    }
    read
}

/// The first Data Matrix symbol rxing finds and reads in `image`.
fn read_one(image: &GrayImage) -> Option<DmRead> {
    let (width, height) = image.dimensions();
    let source = Luma8LuminanceSource::new(image.as_raw().clone(), width, height).ok()?;
    let mut bitmap = BinaryBitmap::new(HybridBinarizer::new(source));
    let hints = DecodeHints {
        TryHarder: Some(true),
        ..DecodeHints::default()
    };
    let result = DataMatrixReader
        .decode_with_hints(&mut bitmap, &hints)
        .ok()?;
    let corners = outline(
        result
            .getPoints()
            .iter()
            .map(|p| (f64::from(p.x), f64::from(p.y))),
    )?;
    let gs1 = matches!(
        result.getRXingResultMetadata().get(&RXingResultMetadataType::SYMBOLOGY_IDENTIFIER),
        Some(RXingResultMetadataValue::SymbologyIdentifier(id)) if id == GS1_DATAMATRIX
    );
    Some((
        corners,
        with_identifier(gs1, GS1_DATAMATRIX, result.getText()),
    ))
}

/// The text as reported: a GS1 symbol's with its symbology identifier.
fn with_identifier(gs1: bool, identifier: &str, text: &str) -> String {
    if gs1 {
        format!("{identifier}{text}")
    } else {
        text.to_owned()
    }
}

/// A convex outline around the points rxing reports for a symbol (its
/// corners, in some order): the points' bounding box unless they are four,
/// which are put in order around their centre.
fn outline(points: impl Iterator<Item = (f64, f64)>) -> Option<[(f64, f64); 4]> {
    let mut points: Vec<(f64, f64)> = points
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if points.is_empty() {
        return None;
    }
    if let [_, _, _, _] = points.as_slice() {
        let n = points.len() as f64;
        let cx = points.iter().map(|p| p.0).sum::<f64>() / n;
        let cy = points.iter().map(|p| p.1).sum::<f64>() / n;
        points.sort_by(|a, b| {
            let angle = |p: &(f64, f64)| (p.1 - cy).atan2(p.0 - cx);
            angle(a).total_cmp(&angle(b))
        });
        if let [a, b, c, d] = points.as_slice() {
            return Some([*a, *b, *c, *d]);
        }
    }
    let fold = |f: fn(f64, f64) -> f64, start: f64, pick: fn(&(f64, f64)) -> f64| {
        points.iter().map(pick).fold(start, f)
    };
    let (x0, x1) = (
        fold(f64::min, f64::INFINITY, |p| p.0),
        fold(f64::max, f64::NEG_INFINITY, |p| p.0),
    );
    let (y0, y1) = (
        fold(f64::min, f64::INFINITY, |p| p.1),
        fold(f64::max, f64::NEG_INFINITY, |p| p.1),
    );
    Some([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
}

/// Decodes a QR symbol that rqrr sampled but could not decode (it stops at
/// the FNC1 mode indicator of a GS1 QR symbol) with rxing's QR decoder. Only
/// a GS1 symbol is taken: rqrr's verdict on any other stands.
pub(super) fn decode_gs1_qr(grid: &dyn rqrr::BitGrid) -> Option<String> {
    let size = grid.size();
    let modules: Vec<Vec<bool>> = (0..size)
        .map(|y| (0..size).map(|x| grid.bit(x, y)).collect())
        .collect();
    let decoded =
        guarded(|| rxing::qrcode::decoder::qrcode_decoder::decode_bool_array(&modules))?.ok()?;
    // Symbology modifier 3: FNC1 in first position, no ECI.
    (decoded.getSymbologyModifier() == 3).then(|| with_identifier(true, GS1_QR, decoded.getText()))
}

#[cfg(test)]
mod tests;
