#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use hallmark::{Date, KeyId, Payload, UnsignedCode, UnverifiedCode};

use super::*;

/// A well-formed code text (its signature is not checked by `decode`).
fn code_text() -> String {
    let payload = Payload::new(1, "P", "L", Date::EPOCH).unwrap();
    UnsignedCode::new(KeyId::from_bytes([1, 2, 3, 4]), &payload)
        .unwrap()
        .to_text(&[7; hallmark::SIGNATURE_LEN])
}

#[test]
fn symbol_data_is_canonical_upper_case() {
    let text = code_text();
    let code = UnverifiedCode::decode(&text).unwrap();
    assert_eq!(symbol_data(&text.to_lowercase(), &code), text);
    let dashed = format!("{}-{}", &text[..4], &text[4..]);
    let url = format!(" https://hm.example.com/c/{} ", dashed.to_lowercase());
    assert_eq!(
        symbol_data(&url, &code),
        format!("HTTPS://HM.EXAMPLE.COM/C/{text}")
    );
}

#[test]
fn alphanumeric_set() {
    assert!(
        "HTTPS://HM.EXAMPLE.COM/C/0123 $%*+-./:"
            .chars()
            .all(is_qr_alphanumeric)
    );
    for c in ['a', '_', '?', '#', '~', 'é', '\0'] {
        assert!(!is_qr_alphanumeric(c), "{c:?}");
    }
    // Exactly 45 characters, as ISO/IEC 18004 defines the mode.
    assert_eq!(
        (0..=255u8)
            .filter(|&b| is_qr_alphanumeric(b.into()))
            .count(),
        45
    );
}

#[test]
fn url_prefix_is_upper_case_and_ends_in_a_slash() {
    let p = UrlPrefix::parse("https://hm.example.com/c").unwrap();
    assert_eq!(p.as_str(), "HTTPS://HM.EXAMPLE.COM/C/");
    assert_eq!(p.url("01AB"), "HTTPS://HM.EXAMPLE.COM/C/01AB");
    assert_eq!(
        UrlPrefix::parse("HTTP://X/").unwrap().into_string(),
        "HTTP://X/"
    );
}

#[test]
fn url_prefix_refusals_name_the_problem() {
    assert_eq!(
        UrlPrefix::parse("ftp://x/"),
        Err(UrlPrefixError::NoScheme {
            prefix: "ftp://x/".into()
        })
    );
    let e = UrlPrefix::parse("https://hm.example.com/c_x/").unwrap_err();
    assert_eq!(
        e,
        UrlPrefixError::NotAlphanumeric {
            prefix: "https://hm.example.com/c_x/".into(),
            bad: '_'
        }
    );
    assert_eq!(
        e.to_string(),
        "\"https://hm.example.com/c_x/\": '_' is outside QR alphanumeric mode \
         (0-9 A-Z $ % * + - . / :)"
    );
    // `?` and `#` are outside the set and named as such; a space is not.
    assert!(matches!(
        UrlPrefix::parse("https://x/?a"),
        Err(UrlPrefixError::NotAlphanumeric { bad: '?', .. })
    ));
    assert_eq!(
        UrlPrefix::parse("https://x/ a").unwrap_err().to_string(),
        "\"https://x/ a\": no spaces, query or fragment"
    );
}
