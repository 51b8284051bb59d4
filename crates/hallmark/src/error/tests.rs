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
