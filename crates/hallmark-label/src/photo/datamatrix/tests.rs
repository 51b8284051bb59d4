#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use crate::photo::{GS1_DATAMATRIX, read_codes, read_codes_file};
use crate::symbol::{ImageFormat, Matrix, Symbol, render, render_gs1_datamatrix};
use crate::test_tools;

/// A 164-character string over the code alphabet, like a v1 code.
fn code_like(seed: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    (0..164)
        .map(|i: usize| ALPHABET[(i * 7 + seed * 13 + 3) % 32] as char)
        .collect()
}

/// An FMD element string with a 90-character 8030 signature.
fn signed_fmd() -> String {
    let signature: String = (0..90)
        .map(|i: usize| {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[(i * 37 + 5) % 64]
                as char
        })
        .collect();
    format!("01095060001343521725123110LOT4711\x1d21SER0123456\x1d8030{signature}")
}

#[test]
fn rendered_data_matrix_symbols_are_read() {
    let code = code_like(1);
    let png = render(&code, Symbol::DataMatrix, ImageFormat::Png).unwrap();
    assert_eq!(read_codes(&png).unwrap(), vec![code]);
    let fmd = signed_fmd();
    let png = render_gs1_datamatrix(&fmd, ImageFormat::Png, None).unwrap();
    assert_eq!(
        read_codes(&png).unwrap(),
        vec![format!("{GS1_DATAMATRIX}{fmd}")]
    );
}

#[test]
fn a_qr_and_a_data_matrix_side_by_side_are_both_read_in_order() {
    let (left, right) = (code_like(2), code_like(3));
    let qr = Matrix::encode(&left, Symbol::Qr).unwrap();
    let dm = Matrix::encode(&right, Symbol::DataMatrix).unwrap();
    let scale = 4;
    let side = (qr.width().max(dm.width()) as u32 + 10) * scale;
    let mut sheet = ::image::GrayImage::from_pixel(2 * side, side, ::image::Luma([255]));
    for (i, m) in [&qr, &dm].into_iter().enumerate() {
        for y in 0..m.height() as u32 * scale {
            for x in 0..m.width() as u32 * scale {
                if m.is_dark((x / scale) as usize, (y / scale) as usize) {
                    sheet.put_pixel(
                        i as u32 * side + 5 * scale + x,
                        5 * scale + y,
                        ::image::Luma([0]),
                    );
                }
            }
        }
    }
    let mut png = std::io::Cursor::new(Vec::new());
    sheet.write_to(&mut png, ::image::ImageFormat::Png).unwrap();
    assert_eq!(read_codes(png.get_ref()).unwrap(), vec![left, right]);
}

/// Photographs `label` (a PNG) with ImageMagick: on a grey, noisy card,
/// scaled by `scale` percent, turned `rotate` degrees, blurred, as JPEG.
fn photograph(
    dir: &std::path::Path,
    name: &str,
    label: &[u8],
    scale: u32,
    rotate: u32,
) -> std::path::PathBuf {
    let input = test_tools::write(dir, &format!("{name}.png"), label);
    let out = dir.join(format!("{name}.jpg"));
    test_tools::convert(&[
        input.to_str().unwrap(),
        "-bordercolor",
        "white",
        "-border",
        "24",
        "-resize",
        &format!("{scale}%"),
        "-background",
        "rgb(120,118,110)",
        "-rotate",
        &rotate.to_string(),
        "-bordercolor",
        "rgb(120,118,110)",
        "-border",
        "60",
        "-blur",
        "0x0.8",
        "-attenuate",
        "0.3",
        "+noise",
        "Gaussian",
        "-quality",
        "80",
        out.to_str().unwrap(),
    ]);
    out
}

#[test]
fn photos_of_data_matrix_labels_are_read() {
    if !test_tools::convert_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let code = code_like(4);
    let plain = render(&code, Symbol::DataMatrix, ImageFormat::Png).unwrap();
    let fmd = signed_fmd();
    let gs1 = render_gs1_datamatrix(&fmd, ImageFormat::Png, None).unwrap();
    for (scale, rotate) in [(150, 10), (200, 30), (120, 20), (250, 17)] {
        let photo = photograph(
            dir.path(),
            &format!("plain-{scale}-{rotate}"),
            &plain,
            scale,
            rotate,
        );
        assert_eq!(
            read_codes_file(&photo).unwrap(),
            vec![code.clone()],
            "{}",
            photo.display()
        );
        let photo = photograph(
            dir.path(),
            &format!("gs1-{scale}-{rotate}"),
            &gs1,
            scale,
            rotate,
        );
        assert_eq!(
            read_codes_file(&photo).unwrap(),
            vec![format!("{GS1_DATAMATRIX}{fmd}")],
            "{}",
            photo.display()
        );
    }
}
