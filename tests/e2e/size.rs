//! The code-size contract: the sample payload fits a QR version 7 symbol at ECC M.

use hallmark::Payload;
use hallmark_issuer::{SecretKey, mint};
use qrcode::{EcLevel, QrCode, Version};

fn qr_version(data: &str) -> i16 {
    match QrCode::with_error_correction_level(data, EcLevel::M)
        .unwrap()
        .version()
    {
        Version::Normal(v) => v,
        Version::Micro(v) => -v,
    }
}

#[test]
fn sample_code_is_164_characters_and_fits_qr_version_7_m() {
    let key = SecretKey::from_seed("size", &[3; 32]).unwrap();
    let payload = Payload::new(
        123_456_789,
        "DRN-2980",
        "L231212-01",
        "2023-12-12".parse().unwrap(),
    )
    .unwrap();
    assert_eq!(payload.to_cbor().len(), 33);
    let code = mint(&key, &payload).unwrap();
    assert_eq!(code.len(), 164, "hard limit 170");
    assert!(
        code.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
        "QR alphanumeric"
    );
    assert_eq!(qr_version(&code), 7);
    // The upper-case URL form stays alphanumeric; with a short host it needs version 8.
    let url = format!("HTTPS://HM.EXAMPLE/C/{code}");
    assert!(
        qr_version(&url) <= 8,
        "URL form: version {}",
        qr_version(&url)
    );
    // Lower case would force byte mode and a bigger symbol: output is upper case.
    assert!(qr_version(&code.to_lowercase()) > 7);
}
