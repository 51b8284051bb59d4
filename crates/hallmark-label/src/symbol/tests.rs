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
        assert!(matches!(
            Matrix::encode("", symbol),
            Err(SymbolError::Empty)
        ));
        let long = "A".repeat(2000);
        assert!(matches!(
            Matrix::encode(&long, symbol),
            Err(SymbolError::TooLong {
                len: 2000,
                max: MAX_DATA_LEN
            })
        ));
        assert!(matches!(
            Matrix::encode("AB\u{e9}C", symbol),
            Err(SymbolError::UnsupportedCharacter {
                ch: '\u{e9}',
                position: 2
            })
        ));
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
        assert!(matches!(
            render_scaled("A", Symbol::Qr, ImageFormat::Png, scale),
            Err(SymbolError::Scale { scale: s }) if s == scale
        ));
    }
}

#[test]
fn a_failing_png_writer_gives_the_encoders_error_as_source() {
    /// A sink that refuses every write, like a full disk.
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let e = write_png(Full, 8, 1, &[0xff], None).unwrap_err();
    assert!(matches!(e, SymbolError::Png { .. }), "{e:?}");
    let source = std::error::Error::source(&e).unwrap();
    assert!(source.downcast_ref::<png::EncodingError>().is_some());
    assert!(e.to_string().starts_with("PNG encoding failed: "), "{e}");
    assert!(e.to_string().contains("disk full"), "{e}");
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

/// `render_for_print`: a PNG's pHYs chunk holds the resolution in pixels
/// per metre (what printers and viewers read to print it at size), an SVG
/// its size in millimetres; plain rendering has neither.
#[test]
fn print_resolution_in_png_and_svg() {
    let data = "01HM0123ABCD";
    let png = render_for_print(data, Symbol::Qr, ImageFormat::Png, 5, 300).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(&png));
    let reader = decoder.read_info().unwrap();
    let dims = reader.info().pixel_dims.unwrap();
    // 300 dpi = 11811.02 pixels per metre.
    assert_eq!((dims.xppu, dims.yppu), (11811, 11811));
    assert_eq!(dims.unit, png::Unit::Meter);
    let matrix = Matrix::encode(data, Symbol::Qr).unwrap();
    let side = (matrix.width() + 8) * 5;
    assert_eq!(reader.info().width as usize, side);

    let plain = render_scaled(data, Symbol::Qr, ImageFormat::Png, 5).unwrap();
    let reader = png::Decoder::new(std::io::Cursor::new(&plain))
        .read_info()
        .unwrap();
    assert!(reader.info().pixel_dims.is_none());

    let svg = render_for_print(data, Symbol::Qr, ImageFormat::Svg, 5, 300).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    let mm = format!("{:.3}mm", side as f64 * 25.4 / 300.0);
    assert!(
        svg.contains(&format!("width=\"{mm}\" height=\"{mm}\"")),
        "{svg}"
    );

    assert!(matches!(
        render_for_print(data, Symbol::Qr, ImageFormat::Png, 4, 0),
        Err(SymbolError::Dpi { dpi: 0 })
    ));
    assert!(matches!(
        render_for_print(data, Symbol::Qr, ImageFormat::Png, 4, MAX_DPI + 1),
        Err(SymbolError::Dpi { .. })
    ));
}
