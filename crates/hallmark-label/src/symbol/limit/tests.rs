#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;
use crate::symbol::{ImageFormat, Matrix, render_within};
use crate::test_tools;

/// A GS1 Digital Link URI as a consumer QR carries it: GTIN and serial in
/// the path, expiry, lot and a 90-character 8030 signature in the query.
fn digital_link(serial: &str) -> String {
    let signature: String = (0..90)
        .map(|i: usize| {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[(i * 37 + 5) % 64]
                as char
        })
        .collect();
    format!(
        "https://hallmark.example.com/01/09506000134352/21/{serial}?17=251231&10=ABC123&8030={signature}"
    )
}

#[test]
fn limits_parse_and_print() {
    assert_eq!("44x44".parse(), Ok(SizeLimit::Modules(44)));
    assert_eq!("44X44".parse(), Ok(SizeLimit::Modules(44)));
    assert_eq!("24".parse(), Ok(SizeLimit::Modules(24)));
    assert_eq!("v9".parse(), Ok(SizeLimit::QrVersion(9)));
    assert_eq!("V40".parse(), Ok(SizeLimit::QrVersion(40)));
    for bad in [
        "",
        "x",
        "44x48",
        "0",
        "178",
        "v0",
        "v41",
        "v",
        "-3",
        "+4",
        "4 4",
        "9999999999999",
    ] {
        let err = bad.parse::<SizeLimit>().unwrap_err();
        assert!(err.to_string().contains("44x44"), "{bad:?}: {err}");
    }
    assert_eq!(SizeLimit::Modules(44).to_string(), "44x44 modules");
    assert_eq!(SizeLimit::QrVersion(9).to_string(), "QR version 9");
}

#[test]
fn the_digital_link_uri_is_qr_version_9_in_byte_mode() {
    let uri = digital_link("XYZ0123456");
    assert_eq!(uri.len(), 176);
    let m = Matrix::encode(&uri, Symbol::Qr).unwrap();
    assert_eq!(m.qr_version(), Some(9));
    assert!(Matrix::encode_within(&uri, Symbol::Qr, Some(SizeLimit::QrVersion(9))).is_ok());
    assert!(Matrix::encode_within(&uri, Symbol::Qr, Some(SizeLimit::Modules(53))).is_ok());
    let err = Matrix::encode_within(&uri, Symbol::Qr, Some(SizeLimit::QrVersion(8))).unwrap_err();
    match &err {
        SymbolError::TooLarge {
            symbol: Symbol::Qr,
            needed,
            limit,
        } => {
            assert_eq!(needed.qr_version, Some(9));
            assert_eq!((needed.width, needed.height), (53, 53));
            assert_eq!(*limit, SizeLimit::QrVersion(8));
        }
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("version 9 (53x53)") && message.contains("QR version 8"),
        "{message}"
    );
    assert!(matches!(
        Matrix::encode_within(&uri, Symbol::Qr, Some(SizeLimit::Modules(49))),
        Err(SymbolError::TooLarge { .. })
    ));
}

#[test]
fn a_plain_data_matrix_respects_the_limit() {
    let code = "01HM".repeat(41);
    let m = Matrix::encode(&code, Symbol::DataMatrix).unwrap();
    let side = m.width().max(m.height());
    assert!(
        Matrix::encode_within(&code, Symbol::DataMatrix, Some(SizeLimit::Modules(side))).is_ok()
    );
    match Matrix::encode_within(
        &code,
        Symbol::DataMatrix,
        Some(SizeLimit::Modules(side - 1)),
    ) {
        Err(SymbolError::TooLarge { needed, .. }) => assert_eq!(needed, m.dimensions()),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Matrix::encode_within(&code, Symbol::DataMatrix, Some(SizeLimit::QrVersion(27))),
        Err(SymbolError::LimitMismatch { .. })
    ));
    // A rectangle within the limit beats a larger square.
    let short = "0123456789ABCDEF";
    let m = Matrix::encode_within(short, Symbol::DataMatrix, Some(SizeLimit::Modules(18))).unwrap();
    assert!(m.width().max(m.height()) <= 18);
}

#[test]
fn zbarimg_reads_the_digital_link_qr_exactly() {
    if !test_tools::zbarimg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (i, serial) in ["1", "XYZ0123456", "ABCDEFGHIJ0123456789"]
        .into_iter()
        .enumerate()
    {
        let uri = digital_link(serial);
        let png = render_within(
            &uri,
            Symbol::Qr,
            ImageFormat::Png,
            4,
            Some(SizeLimit::QrVersion(10)),
        )
        .unwrap();
        let path = test_tools::write(dir.path(), &format!("dl-{i}.png"), &png);
        let decoded = test_tools::zbarimg(&path);
        assert_eq!(String::from_utf8(decoded).unwrap(), uri);
    }
}
