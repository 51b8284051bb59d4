#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::symbol::{ImageFormat, render_gs1_datamatrix};
use crate::test_tools;

/// A base64url string of `len` characters, like an 8030 signature.
fn base64url(len: usize, seed: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..len)
        .map(|i| ALPHABET[(i * 37 + seed * 11 + 5) % 64] as char)
        .collect()
}

/// An alphanumeric value of `len` characters from the GS1 82-character set.
fn value(len: usize, seed: usize) -> String {
    const SET: &[u8] =
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!\"%&'()*+,-./:;<=>?_";
    (0..len)
        .map(|i| SET[(i * 29 + seed * 7 + 1) % SET.len()] as char)
        .collect()
}

/// AI 01 (GTIN) and AI 17 (expiry), fixed length: no separator after them.
const GTIN_EXPIRY: &str = "010950600013435217251231";

/// An EU FMD element string: GTIN, expiry, lot, serial and optionally 8030.
fn fmd(lot: &str, serial: &str, signature: Option<&str>) -> String {
    let mut s = format!("{GTIN_EXPIRY}10{lot}\x1d21{serial}");
    if let Some(sig) = signature {
        s.push('\x1d');
        s.push_str("8030");
        s.push_str(sig);
    }
    s
}

#[test]
fn codewords_start_with_fnc1_and_turn_each_gs_into_fnc1() {
    let cw = data_codewords(b"0109506000134352\x1d21A1\x1d8030x");
    assert_eq!(
        cw,
        [
            232, 131, 139, 180, 190, 130, 143, 173, 182, 232, 151, 66, 50, 232, 210, 160, 121
        ]
    );
    // A lone digit before a letter or GS is one codeword.
    assert_eq!(data_codewords(b"107\x1d"), [232, 140, 56, 232]);
}

#[test]
fn capacity_table_matches_the_datamatrix_crate() {
    for (size, capacity, _) in squares() {
        assert_eq!(crate_capacity(size), Some(capacity), "{size:?}");
    }
}

#[test]
fn padding_follows_iso_16022() {
    // ISO/IEC 16022 annex: "123456" in a 10x10 symbol is 142 164 186, no pad;
    // in 12x12 two pads: 129 then the 253-state value for position 5.
    let mut cw = vec![142, 164, 186];
    pad(&mut cw, 5);
    assert_eq!(
        cw,
        [142, 164, 186, 129, (129 + (149 * 5) % 253 + 1 - 254) as u8]
    );
}

#[test]
fn the_crate_decoder_reads_the_element_string_back() {
    // The datamatrix crate's decoder drops the leading FNC1 and turns later
    // FNC1s into GS, as GS1 transmits them.
    let data = fmd("ABC123", "XYZ0123456", Some(&base64url(90, 1)));
    let m = Matrix::encode_gs1_datamatrix(&data, None).unwrap();
    let decoded = datamatrix::DataMatrix::decode(&m.dark, m.width()).unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), data);
}

#[test]
fn misplaced_separators_and_odd_characters_are_refused() {
    for (data, position) in [
        ("\x1d0109506000134352", 0),
        ("10AB\x1d", 4),
        ("10A\x1d\x1d21B", 3),
    ] {
        match Matrix::encode_gs1_datamatrix(data, None) {
            Err(SymbolError::Separator { position: p }) => assert_eq!(p, position, "{data:?}"),
            other => panic!("{data:?}: {other:?}"),
        }
    }
    assert!(matches!(
        Matrix::encode_gs1_datamatrix("10A\nB", None),
        Err(SymbolError::UnsupportedCharacter {
            ch: '\n',
            position: 3
        })
    ));
    assert!(matches!(
        Matrix::encode_gs1_datamatrix("", None),
        Err(SymbolError::Empty)
    ));
    assert!(matches!(
        Matrix::encode_gs1_datamatrix("10\u{e9}", None),
        Err(SymbolError::UnsupportedCharacter {
            ch: '\u{e9}',
            position: 2
        })
    ));
}

#[test]
fn a_symbol_over_the_limit_is_refused_naming_both_sizes() {
    let data = fmd(&value(20, 1), &value(20, 2), Some(&base64url(90, 3)));
    let err = Matrix::encode_gs1_datamatrix(&data, Some(SizeLimit::Modules(44))).unwrap_err();
    match &err {
        SymbolError::TooLarge {
            symbol,
            needed,
            limit,
        } => {
            assert_eq!(*symbol, Symbol::DataMatrix);
            assert_eq!((needed.width, needed.height), (48, 48));
            assert_eq!(*limit, SizeLimit::Modules(44));
        }
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("48x48") && message.contains("44x44"),
        "{message}"
    );
    assert!(Matrix::encode_gs1_datamatrix(&data, Some(SizeLimit::Modules(48))).is_ok());
    assert!(matches!(
        Matrix::encode_gs1_datamatrix(&data, Some(SizeLimit::QrVersion(9))),
        Err(SymbolError::LimitMismatch { .. })
    ));
}

/// Modules per side for the FMD element string with lot and serial of
/// `len` characters, with and without an 8030 signature.
fn fmd_sides(len: usize) -> (usize, usize) {
    let lot = value(len, 4);
    let serial = value(len, 5);
    let plain = Matrix::encode_gs1_datamatrix(&fmd(&lot, &serial, None), None).unwrap();
    let signed = fmd(&lot, &serial, Some(&base64url(90, 6)));
    let signed = Matrix::encode_gs1_datamatrix(&signed, None).unwrap();
    (plain.width(), signed.width())
}

#[test]
fn fmd_sizes() {
    for len in 6..=10 {
        let (plain, signed) = fmd_sides(len);
        assert!(plain <= 26, "{len}: {plain}");
        assert_eq!(signed, 44, "{len}");
    }
    assert_eq!(fmd_sides(20).1, 48);
}

/// Prints the size table (`cargo test -p hallmark-label fmd_size_table -- --ignored --nocapture`).
#[test]
#[ignore = "prints a table"]
fn fmd_size_table() {
    let mut table = String::from("lot/serial chars\twithout 8030\twith 8030 (90 chars)\n");
    for len in (1..=20).filter(|l| *l <= 10 || *l % 5 == 0) {
        let (plain, signed) = fmd_sides(len);
        table.push_str(&format!("{len}\t{plain}x{plain}\t{signed}x{signed}\n"));
    }
    std::io::Write::write_all(&mut std::io::stdout(), table.as_bytes()).unwrap();
}

#[test]
fn dmtxread_decodes_exactly_the_element_string() {
    if !test_tools::dmtxread_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for len in 1..=20 {
        for signed in [false, true] {
            let sig = base64url(90, len);
            let data = fmd(
                &value(len, len),
                &value(21 - len, len + 1),
                signed.then_some(&*sig),
            );
            let png = render_gs1_datamatrix(&data, ImageFormat::Png, None).unwrap();
            let path = test_tools::write(dir.path(), &format!("fmd-{len}-{signed}.png"), &png);
            let decoded = test_tools::dmtxread(&path);
            // dmtxread -G 29 prints every FNC1 as GS, the leading one too.
            let mut expected = vec![0x1d];
            expected.extend_from_slice(data.as_bytes());
            assert_eq!(
                String::from_utf8_lossy(&decoded),
                String::from_utf8_lossy(&expected),
                "lot/serial {len}, signed {signed}"
            );
        }
    }
}
