use std::error::Error as _;

use super::*;
use crate::{BatchManifest, RevocationSnapshot, TrustStore};

#[test]
fn a_truncated_document_is_named() {
    let trust = TrustStore::new();
    let e = RevocationSnapshot::verify(&[1, 2, 3], &trust).err();
    assert!(
        matches!(
            &e,
            Some(Error::Decode(DecodeError::Truncated {
                document: Document::RevocationSnapshot,
                len: 3,
                ..
            }))
        ),
        "{e:?}"
    );
    let text = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.starts_with("revocation snapshot is 3 bytes long"),
        "{text}"
    );
    assert!(!text.contains("code"), "{text}");
    let e = BatchManifest::verify(&[9], &trust).err();
    assert_eq!(
        e.map(|e| e.to_string()).unwrap_or_default(),
        "unsupported batch manifest version 9 (this verifier implements version 1)"
    );
}

#[test]
fn a_code_keeps_its_messages() {
    let e = Error::from(DecodeError::Truncated {
        document: Document::Code,
        len: 3,
        min: 74,
    });
    assert_eq!(
        e.to_string(),
        "code is 3 bytes long; a complete code has at least 74 (truncated?)"
    );
    assert_eq!((e.kind(), e.verdict()), ("truncated", "malformed"));
}

#[test]
fn trust_store_errors_give_the_line_and_keep_the_parser_error() {
    let text = "# keys\n\n[[key]]\nname = \"a\"\npublic_key = \"00\"\n";
    let e = TrustStore::from_toml(text).err();
    assert!(
        matches!(
            &e,
            Some(Error::TrustStore(TrustStoreError::InvalidPublicKey { name, line: Some(4) }))
                if name == "a"
        ),
        "{e:?}"
    );
    let text = e.map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(
        text,
        "trust store: line 4: key a is not a valid Ed25519 public key"
    );

    let e = TrustStore::from_toml("[[key]]\nname = \"a\"\nnope = = 1\n").err();
    let Some(Error::TrustStore(inner @ TrustStoreError::Syntax { .. })) = &e else {
        panic!("{e:?}");
    };
    assert_eq!(inner.line(), Some(3));
    assert_eq!(inner.kind(), "trust-store");
    let source = e.as_ref().and_then(|e| e.source()).map(|s| s.to_string());
    assert!(
        source.is_some_and(|s| !s.is_empty()),
        "the TOML error is the source"
    );
}

#[test]
fn an_invalid_character_is_named_by_its_1_based_character_position() {
    // "ABCU": the U is the fourth character (0-based field 3).
    let e = crate::UnverifiedCode::decode("ABCU").err();
    assert!(
        matches!(
            &e,
            Some(Error::Decode(DecodeError::InvalidCharacter {
                ch: 'U',
                position: 3
            }))
        ),
        "{e:?}"
    );
    let text = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(
        text.starts_with("invalid character 'U' at character 4 of the code:"),
        "{text}"
    );
    // Grouping counts: a person counts every character they typed.
    let text = crate::UnverifiedCode::decode("AB-CU")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(text.contains("at character 5 of the code"), "{text}");
}

#[test]
fn counts_of_one_are_singular() {
    let one = |e: &dyn std::fmt::Display| e.to_string();
    assert_eq!(
        one(&PayloadError::TrailingBytes { count: 1 }),
        "1 trailing byte after the payload"
    );
    assert_eq!(
        one(&PayloadError::TrailingBytes { count: 2 }),
        "2 trailing bytes after the payload"
    );
    assert_eq!(
        one(&AggregationError::CountMismatch {
            count: 1,
            listed: 2
        }),
        "the aggregation says it holds 1 child but lists 2"
    );
    assert_eq!(
        one(&DecodeError::InvalidLength { len: 1 }),
        "1 base32 character cannot be a whole number of bytes (truncated or extra characters?)"
    );
    let truncated = DecodeError::Truncated {
        document: Document::RevocationSnapshot,
        len: 1,
        min: 40,
    };
    assert!(
        one(&truncated).starts_with("revocation snapshot is 1 byte long;"),
        "{truncated}"
    );
}

#[test]
fn trust_bundle_entries_are_counted_from_1() {
    let e = CertError::ReceiptMismatch {
        index: 0,
        reason: "kid",
    };
    assert_eq!(
        e.to_string(),
        "trust bundle batches entry 1: the receipt is for another manifest (kid)"
    );
    let e = CertError::BundleEntry {
        list: "certificates",
        index: 2,
        source: Box::new(Error::Decode(DecodeError::Empty)),
    };
    assert_eq!(
        e.to_string(),
        "trust bundle certificates entry 3: input is empty"
    );
}
