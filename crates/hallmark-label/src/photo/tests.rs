#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::pixels::*;
use super::scan::*;
use super::*;
use crate::symbol::{self, Symbol};
use ::image::GrayImage;
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
            assert!(!reason.to_string().is_empty());
            let e = ImageError::UnreadableQr {
                decoded,
                unreadable: 1,
                reason,
            };
            let source = std::error::Error::source(&e).unwrap();
            assert_eq!(source.downcast_ref::<rqrr::DeQRError>(), Some(&reason));
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

#[test]
fn a_corrupt_png_keeps_the_decoders_error_as_source() {
    let mut png = encode(&GrayImage::new(8, 8), ImageFormat::Png);
    // Break the header's checksum.
    png[29] ^= 0xff;
    match decode_qr_codes(&png) {
        Err(e @ ImageError::Decode { format: "PNG", .. }) => {
            let source = std::error::Error::source(&e).unwrap();
            assert!(source.downcast_ref::<::image::ImageError>().is_some());
            let message = e.to_string();
            assert!(
                message.starts_with("cannot decode the PNG image"),
                "{message}"
            );
            assert!(message.ends_with(&source.to_string()), "{message}");
        }
        other => panic!("{other:?}"),
    }
}
