use super::*;

#[test]
fn scalar_bound() {
    let mut l = [0u8; 32];
    l.copy_from_slice(
        &hex::decode("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
            .unwrap_or_default(),
    );
    assert!(!is_canonical_scalar(&l));
    let mut below = l;
    below[0] -= 1;
    assert!(is_canonical_scalar(&below));
    assert!(is_canonical_scalar(&[0; 32]));
    assert!(!is_canonical_scalar(&[0xff; 32]));
}

/// Issue 18.3: a key marked `revocation_signer` signs no codes.
#[test]
fn regression_revocation_signer_key_never_verifies_a_code() {
    let demo = "0faada074b654141829ba20700f2446d0f8e1f8f8794ffc2f18239c980f024ee";
    let code = "0630HCDQMG01M1TVSMAG2T24A972TCHS70R04TJC68SK2CHH68PK0C83356FFX0ANVQRTRZFQZ5TQV6WPGHQJK82WBZV4VJ86213X7S0NAQ94EY8SRQVMYPG15657FJ4SAQXZQ5WPTHY9BRXCTXM5A1TM3RMTCQDHR7G";
    let store = |extra: &str| {
        TrustStore::from_toml(&format!(
            "[[key]]\nname = \"demo\"\npublic_key = \"{demo}\"\n{extra}"
        ))
    };
    let codes_key = store("revocation_signer = false\n");
    assert!(
        codes_key
            .as_ref()
            .is_ok_and(|t| t.verify_signature_only(code).is_ok())
    );
    let Ok(revocation_key) = store("revocation_signer = true\n") else {
        panic!("trust store refused");
    };
    for precomputed in [false, true] {
        if precomputed {
            revocation_key.precompute();
        }
        let refused = revocation_key.verify_signature_only(code);
        assert!(
            matches!(&refused, Err(e @ Error::Verify(VerifyError::KeyUsage { key_name, .. }))
                if key_name == "demo" && e.kind() == "key-usage" && e.verdict() == "key-not-valid"),
            "{refused:?}"
        );
        let batch = revocation_key.verify_codes(
            vec![UnverifiedCode::decode(code).map(crate::trust::Subject::Code)],
            true,
        );
        assert!(matches!(
            batch.as_slice(),
            [Err(Error::Verify(VerifyError::KeyUsage { .. }))]
        ));
    }
    // The signature is checked first: a forgery is a forgery.
    let forged = code.replacen('A', "B", 1);
    assert!(matches!(
        revocation_key.verify_signature_only(&forged),
        Err(Error::Verify(VerifyError::BadSignature { .. }))
    ));
}

#[test]
fn trust_store_refusals() {
    let weak = "[[key]]\nname = \"w\"\npublic_key = \"0100000000000000000000000000000000000000000000000000000000000000\"\n";
    assert!(
        matches!(TrustStore::from_toml(weak), Err(Error::TrustStore(TrustStoreError::WeakKey { name, line: Some(_) })) if name == "w")
    );
    let typo = "[[key]]\nname = \"w\"\npublic_key = \"00\"\nvalid_untill = 2020-01-01\n";
    assert!(matches!(
        TrustStore::from_toml(typo),
        Err(Error::TrustStore(_))
    ));
    assert_eq!(TrustStore::from_toml("").map(|t| t.keys().len()), Ok(0));
}

const PK: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

fn load(text: &str) -> Result<usize, &'static str> {
    TrustStore::from_toml(text)
        .map(|t| t.keys().len())
        .map_err(|e| e.kind())
}

#[test]
fn trust_store_schema() {
    let good = format!("[[key]]\nname = \"a\"\npublic_key = \"{PK}\"\n");
    // One byte order mark at the very start is ignored; anywhere else it is
    // a TOML syntax error.
    assert_eq!(load(&format!("\u{feff}{good}")), Ok(1));
    assert_eq!(load(&format!("\u{feff}\u{feff}{good}")), Err("trust-store"));
    assert_eq!(load(&format!("{good}\u{feff}")), Err("trust-store"));
    assert_eq!(load("\u{feff}"), Ok(0));
    // name and public_key are required strings.
    assert_eq!(
        load(&format!("[[key]]\npublic_key = \"{PK}\"\n")),
        Err("trust-store")
    );
    assert_eq!(load("[[key]]\nname = \"a\"\n"), Err("trust-store"));
    assert_eq!(
        load(&format!("[[key]]\nname = 1\npublic_key = \"{PK}\"\n")),
        Err("trust-store")
    );
    // revocation_signer is an optional boolean, false when absent.
    for v in ["\"true\"", "1", "2024-01-01"] {
        assert_eq!(
            load(&format!("{good}revocation_signer = {v}\n")),
            Err("trust-store")
        );
    }
    let marked = TrustStore::from_toml(&format!("{good}revocation_signer = true\n"));
    assert_eq!(
        marked.map(|t| t
            .keys()
            .iter()
            .map(TrustedKey::is_revocation_signer)
            .collect()),
        Ok(vec![true])
    );
    let unmarked = TrustStore::from_toml(&format!("{good}revocation_signer = false\n"));
    assert_eq!(
        unmarked.map(|t| t
            .keys()
            .iter()
            .map(TrustedKey::is_revocation_signer)
            .collect()),
        Ok(vec![false])
    );
    // A field twice, an unknown field at any level, [key] as a table.
    assert_eq!(load(&format!("{good}name = \"b\"\n")), Err("trust-store"));
    assert_eq!(load(&format!("version = 1\n{good}")), Err("trust-store"));
    assert_eq!(load(&good.replace("[[key]]", "[key]")), Err("trust-store"));
    // Two entries may share a name (the kid tells them apart), not a kid.
    let other = "0faada074b654141829ba20700f2446d0f8e1f8f8794ffc2f18239c980f024ee";
    assert_eq!(
        load(&format!(
            "{good}[[key]]\nname = \"a\"\npublic_key = \"{other}\"\n"
        )),
        Ok(2)
    );
    assert_eq!(
        load(&format!(
            "{good}[[key]]\nname = \"b\"\npublic_key = \"{}\"\n",
            PK.to_uppercase()
        )),
        Err("duplicate-key-id")
    );
    // CRLF line ends, surrounding spaces in the key string, upper-case hex.
    assert_eq!(load(&good.replace('\n', "\r\n")), Ok(1));
    assert_eq!(load(&good.replace("= \"d75a", "= \" d75a")), Ok(1));
}

mod certified {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::super::*;
    use crate::testkit::{Key, cert, certify, day, payload, roots};
    use crate::{Constraints, Pattern, VerdictKind, Verifier};

    fn root_toml(root: &Key, extra: &str) -> String {
        format!(
            "[[root]]\nname = \"root\"\npublic_key = \"{}\"\nvalid_from = 2025-01-01\nvalid_until = 2030-12-31\n{extra}",
            root.public().to_hex()
        )
    }

    fn cert_toml(bytes: &[u8]) -> String {
        format!("[[certificate]]\ndata = \"{}\"\n", hex::encode(bytes))
    }

    #[test]
    fn roots_and_certificates_load_from_toml() {
        let (root, line) = (Key::new(1), Key::new(2));
        let mut c = cert(&line, "line", Usage::CODES);
        c.constraints = Constraints {
            parts: vec![Pattern::new("DRN-*").unwrap()],
            ..Constraints::default()
        };
        let bytes = certify(&root, &c);
        // A certificate before its root in the file still finds it.
        let text = format!("{}\n{}", cert_toml(&bytes), root_toml(&root, ""));
        let trust = TrustStore::from_toml(&text).unwrap();
        assert_eq!(trust.roots().len(), 1);
        assert_eq!(trust.keys().len(), 1);
        assert_eq!(trust.keys()[0].certificate(), Some(&c));
        let mut by_api = roots(&root);
        by_api.add_certificate(&bytes).unwrap();
        assert_eq!(trust, by_api);
        let v = Verifier::new(&trust, day("2026-11-23"));
        assert_eq!(
            v.verify(&line.code(&payload(1))).kind(),
            VerdictKind::Genuine
        );
        let other_part = Payload::new(1, "X-1", "L1", day("2026-06-01")).unwrap();
        assert_eq!(
            v.verify(&line.code(&other_part)).kind(),
            VerdictKind::OutOfScope
        );
        // A root signs no codes.
        let r = v.verify(&root.code(&payload(1)));
        assert_eq!(r.refusal().map(|e| e.kind()), Some("root-key"));
    }

    #[test]
    fn trust_store_certificate_refusals() {
        let (root, line) = (Key::new(1), Key::new(2));
        let bytes = certify(&root, &cert(&line, "line", Usage::CODES));
        let load = |text: &str| TrustStore::from_toml(text).map_err(|e| e.kind());
        // Without its root.
        assert_eq!(load(&cert_toml(&bytes)).err(), Some("unknown-root"));
        // Not hex; a field other than data.
        assert_eq!(
            load(&format!(
                "{}[[certificate]]\ndata = \"zz\"\n",
                root_toml(&root, "")
            ))
            .err(),
            Some("invalid-field")
        );
        assert_eq!(
            load(&format!(
                "{}[[certificate]]\ndata = \"{}\"\nname = \"x\"\n",
                root_toml(&root, ""),
                hex::encode(&bytes)
            ))
            .err(),
            Some("trust-store")
        );
        // A root may not be a revocation signer.
        assert_eq!(
            load(&root_toml(&root, "revocation_signer = false\n")).err(),
            Some("trust-store")
        );
        // A root and a key with one kid; a certificate for a [[key]].
        let key_entry = |k: &Key| {
            format!(
                "[[key]]\nname = \"k\"\npublic_key = \"{}\"\n",
                k.public().to_hex()
            )
        };
        assert_eq!(
            load(&format!("{}{}", root_toml(&root, ""), key_entry(&root))).err(),
            Some("duplicate-key-id")
        );
        assert_eq!(
            load(&format!(
                "{}{}{}",
                root_toml(&root, ""),
                key_entry(&line),
                cert_toml(&bytes)
            ))
            .err(),
            Some("certificate-conflict")
        );
        // The error names the line of the certificate's data.
        let text = format!("{}\n{}", root_toml(&root, ""), cert_toml(&bytes[..40]));
        match TrustStore::from_toml(&text) {
            Err(Error::TrustStore(e @ TrustStoreError::InvalidCertificate { .. })) => {
                assert_eq!(e.line(), Some(8));
                assert_eq!(e.kind(), "truncated");
            }
            other => panic!("{other:?}"),
        }
        // The same certificate twice in a file is one key.
        let twice = format!(
            "{}{}{}",
            root_toml(&root, ""),
            cert_toml(&bytes),
            cert_toml(&bytes)
        );
        assert_eq!(load(&twice).map(|t| t.keys().len()), Ok(1));
    }

    /// Found while specifying §17: `to_toml` wrote a certified key as a plain
    /// `[[key]]`, so `append_to_toml` widened it to codes and manifests with
    /// no constraints. It now writes the `[[certificate]]`.
    #[test]
    fn certified_key_to_toml_keeps_its_certificate() {
        let (root, line) = (Key::new(1), Key::new(2));
        let mut c = cert(&line, "line", Usage::CODES);
        c.constraints.serials = vec![(1, 10)];
        let bytes = certify(&root, &c);
        let mut trust = roots(&root);
        let key = trust.add_certificate(&bytes).unwrap().clone();
        let base = format!(
            "[[root]]\nname = \"root\"\npublic_key = \"{}\"\nvalid_from = 2025-01-01\nvalid_until = 2030-12-31\n",
            root.public().to_hex()
        );
        let text = TrustStore::append_to_toml(Some(&base), key.clone()).unwrap();
        let back = TrustStore::from_toml(&text).unwrap();
        assert_eq!(back.keys(), std::slice::from_ref(&key));
        assert_eq!(back.keys()[0].certificate(), Some(&c));
        // Without its root it does not load, so it is refused.
        assert!(TrustStore::append_to_toml(None, key).is_err());
    }
}

#[test]
fn a_store_with_roots_round_trips_through_to_toml() {
    let text = "[[root]]\nname = \"r\"\npublic_key = \"0faada074b654141829ba20700f2446d0f8e1f8f8794ffc2f18239c980f024ee\"\nvalid_from = 2025-01-01\n";
    let store = TrustStore::from_toml(text).unwrap_or_default();
    assert_eq!(store.roots().len(), 1);
    let written = store.to_toml();
    assert!(written.starts_with("[[root]]"), "{written}");
    assert_eq!(TrustStore::from_toml(&written).ok(), Some(store));
}
