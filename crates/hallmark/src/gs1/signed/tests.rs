#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ed25519_dalek::{Signer as _, SigningKey};

use super::*;
use crate::testkit::{Key, cert, certify, day, roots};
use crate::{TrustStore, TrustedKey, Usage, VerdictKind, Verifier};

/// The GS1 General Specifications' example GTIN (check digit 2).
const GTIN: &str = "09506000134352";
/// A hallmark opaque serial (2^63 + 9).
const SERIAL: &str = "9223372036854775817";

fn fmd(gtin: &str, serial: &str) -> Gs1Data {
    Gs1Data::from_elements([
        ("01", gtin),
        ("11", "261201"),
        ("17", "281100"),
        ("10", "L231212-01"),
        ("21", serial),
    ])
    .unwrap()
}

fn sign_with(key: &SigningKey, kid: KeyId, data: Gs1Data, source: SerialSource) -> Gs1Data {
    let unsigned = UnsignedGs1Unit::new(data, kid, source).unwrap();
    let sig = key.sign(unsigned.signing_message()).to_bytes();
    unsigned.with_signature(&sig).unwrap()
}

fn sign(key: &Key, data: Gs1Data) -> Gs1Data {
    sign_with(&key.0, key.kid(), data, SerialSource::Hallmark)
}

fn store(key: &Key) -> TrustStore {
    let mut trust = TrustStore::new();
    trust
        .add(TrustedKey::new("line", key.public(), None, None).unwrap())
        .unwrap();
    trust
}

fn verify(trust: &TrustStore, data: Gs1Data) -> Result<crate::Verified, Error> {
    trust.verify_gs1_signature_only(Gs1Unit::from_data(data)?)
}

fn kind(r: Result<crate::Verified, Error>) -> &'static str {
    match r {
        Ok(_) => "genuine",
        Err(e) => e.kind(),
    }
}

/// The data with `ai`'s value replaced.
fn with(data: &Gs1Data, ai: &str, value: &str) -> Gs1Data {
    Gs1Data::from_elements(
        data.elements()
            .map(|(a, v)| (a, if a == ai { value } else { v })),
    )
    .unwrap()
}

#[test]
fn a_signed_unit_verifies_and_reads_as_a_payload() {
    let key = Key::new(7);
    let signed = sign(&key, fmd(GTIN, SERIAL));
    let value = signed.get("8030").unwrap();
    assert_eq!(value.len(), GS1_SIGNATURE_CHARS);
    // The profile byte 'H' is the first base64url character 'S'.
    assert!(value.starts_with('S'));
    let verified = verify(&store(&key), signed).unwrap();
    let p = verified.payload();
    assert_eq!(p.serial(), 9_223_372_036_854_775_817);
    assert_eq!((p.part(), p.lot()), (GTIN, "L231212-01"));
    assert_eq!(p.date(), day("2026-12-01"));
    // Day 00: the last day of the month.
    assert_eq!(p.expiry(), Some(day("2028-11-30")));
    assert_eq!(verified.kid(), key.kid());
    assert_eq!(verified.gs1().unwrap().serial_text(), SERIAL);
}

#[test]
fn reordered_ais_verify_identically() {
    let key = Key::new(7);
    let signed = sign(&key, fmd(GTIN, SERIAL));
    let mut elements: Vec<_> = signed.elements().collect();
    elements.reverse();
    let reordered = Gs1Data::from_elements(elements).unwrap();
    let trust = store(&key);
    let (a, b) = (
        verify(&trust, reordered).unwrap(),
        verify(&trust, signed).unwrap(),
    );
    assert_eq!(
        (a.payload(), a.kid(), a.to_text()),
        (b.payload(), b.kid(), b.to_text())
    );
}

#[test]
fn every_altered_value_is_refused() {
    let key = Key::new(7);
    let trust = store(&key);
    let signed = sign(&key, fmd(GTIN, SERIAL));
    for (ai, value) in [
        ("01", "09506000134369"),
        ("11", "261202"),
        ("17", "281130"),
        ("10", "L231212-02"),
        ("21", "9223372036854775818"),
    ] {
        assert_eq!(
            kind(verify(&trust, with(&signed, ai, value))),
            "bad-signature",
            "{ai}"
        );
    }
    // Every single-character change of the signature value.
    let sig = signed.get("8030").unwrap().to_owned();
    for i in 0..sig.len() {
        let mut chars: Vec<char> = sig.chars().collect();
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let changed: String = chars.into_iter().collect();
        let k = kind(verify(&trust, with(&signed, "8030", &changed)));
        assert_ne!(k, "genuine", "8030 character {i}");
    }
}

#[test]
fn an_extra_or_missing_ai_is_refused() {
    let key = Key::new(7);
    let trust = store(&key);
    let signed = sign(&key, fmd(GTIN, SERIAL));
    let extra = Gs1Data::from_elements(signed.elements().chain([("714", "ABC")])).unwrap();
    assert_eq!(kind(verify(&trust, extra)), "bad-signature");
    let without_lot =
        Gs1Data::from_elements(signed.elements().filter(|&(a, _)| a != "10")).unwrap();
    assert_eq!(kind(verify(&trust, without_lot)), "bad-signature");
    let without_date =
        Gs1Data::from_elements(signed.elements().filter(|&(a, _)| a != "11")).unwrap();
    let e = verify(&trust, without_date).unwrap_err();
    assert_eq!(
        (e.kind(), e.to_string().contains("(11)")),
        ("missing-ai", true)
    );
}

#[test]
fn a_signature_moved_to_another_unit_is_refused() {
    let key = Key::new(7);
    let trust = store(&key);
    let a = sign(&key, fmd(GTIN, SERIAL));
    let b = sign(&key, fmd(GTIN, "9223372036854775818"));
    let swapped = with(&b, "8030", a.get("8030").unwrap());
    assert_eq!(kind(verify(&trust, swapped)), "bad-signature");
}

#[test]
fn data_without_8030_is_unsigned() {
    let trust = store(&Key::new(7));
    let e = verify(&trust, fmd(GTIN, SERIAL)).unwrap_err();
    assert_eq!((e.kind(), e.verdict()), ("unsigned", "malformed"));
    let verdict = Verifier::new(&trust, day("2026-12-01")).judge(Err(e), None);
    assert_eq!(verdict.kind(), VerdictKind::Unsigned);
    assert!(!verdict.is_genuine());
}

#[test]
fn a_hallmark_serial_must_be_an_opaque_serial_in_decimal() {
    let kid = Key::new(7).kid();
    for bad in ["42", "09223372036854775817", "18446744073709551616", "ABC"] {
        let e = UnsignedGs1Unit::new(fmd(GTIN, bad), kid, SerialSource::Hallmark).unwrap_err();
        assert_eq!(
            (e.kind(), e.to_string().contains("(21)")),
            ("invalid-ai-value", true),
            "{bad}"
        );
    }
    // A pool serial may be anything the dictionary allows.
    assert!(UnsignedGs1Unit::new(fmd(GTIN, "42"), kid, SerialSource::Pool).is_ok());
}

#[test]
fn pool_units_are_numbered_by_gtin_and_serial() {
    let key = Key::new(7);
    let trust = store(&key);
    let signed = sign_with(&key.0, key.kid(), fmd(GTIN, "A1B2C3"), SerialSource::Pool);
    assert!(signed.get("8030").unwrap().starts_with('U'));
    let verified = verify(&trust, signed).unwrap();
    let n = verified.payload().serial();
    assert_eq!(n, pool_unit_number(GTIN, "A1B2C3"));
    assert_eq!(n & crate::OPAQUE_BIT, 0);
    assert_ne!(n, pool_unit_number("09506000134369", "A1B2C3"));
    assert_ne!(n, pool_unit_number(GTIN, "A1B2C4"));
    // The profile byte is signed: a pool unit relabelled 'H' is refused.
    let kid = key.kid();
    let h = sign_with(&key.0, kid, fmd(GTIN, SERIAL), SerialSource::Hallmark);
    let p_sig = UnsignedGs1Unit::new(fmd(GTIN, SERIAL), kid, SerialSource::Pool).unwrap();
    let sig = key.0.sign(p_sig.signing_message()).to_bytes();
    let relabelled = with(
        &h,
        "8030",
        &signature_value(SerialSource::Hallmark, ShortKid::of(kid), &sig),
    );
    assert_eq!(kind(verify(&trust, relabelled)), "bad-signature");
}

#[test]
fn gs1_prefixes_limit_a_key() {
    let key = Key::new(7);
    let mut trust = TrustStore::new();
    trust
        .add(
            TrustedKey::new("line", key.public(), None, None)
                .unwrap()
                .with_gs1_prefixes(vec!["0614141".into()])
                .unwrap(),
        )
        .unwrap();
    let e = verify(&trust, sign(&key, fmd(GTIN, SERIAL))).unwrap_err();
    assert_eq!(
        (e.kind(), e.verdict()),
        ("gtin-out-of-scope", "out-of-scope")
    );
    // 0 + 0614141 + 00001 + check digit.
    assert_eq!(
        kind(verify(&trust, sign(&key, fmd("00614141000012", SERIAL)))),
        "genuine"
    );
}

#[test]
fn a_certificate_s_gs1_prefixes_bind_a_line_key() {
    let root = Key::new(1);
    let line = Key::new(2);
    let mut c = cert(&line, "line", Usage::CODES);
    c.constraints.gs1_prefixes = vec!["950600".into()];
    let mut trust = roots(&root);
    trust.add_certificate(&certify(&root, &c)).unwrap();
    assert_eq!(
        kind(verify(&trust, sign(&line, fmd(GTIN, SERIAL)))),
        "genuine"
    );
    let e = verify(&trust, sign(&line, fmd("00614141000012", SERIAL))).unwrap_err();
    assert_eq!(e.kind(), "gtin-out-of-scope");
}

#[test]
fn an_unknown_short_kid_is_unknown_key() {
    let trust = store(&Key::new(7));
    let e = verify(&trust, sign(&Key::new(8), fmd(GTIN, SERIAL))).unwrap_err();
    assert_eq!(e.kind(), "unknown-key");
    let verdict = Verifier::new(&trust, day("2026-12-01")).judge(Err(e), None);
    assert_eq!(verdict.kind(), VerdictKind::UnknownKey);
}

/// Two keys whose key ids share their first two bytes.
fn colliding_keys() -> (SigningKey, SigningKey) {
    let mut seen = std::collections::HashMap::new();
    for i in 0u32.. {
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&i.to_le_bytes());
        let key = SigningKey::from_bytes(&seed);
        let kid = crate::PublicKey::from_bytes(key.verifying_key().as_bytes())
            .unwrap()
            .kid();
        if let Some(other) = seen.insert(ShortKid::of(kid), key.clone()) {
            return (other, key);
        }
    }
    unreachable!()
}

#[test]
fn ambiguous_short_kids_are_refused_at_load_and_prefixes_tell_them_apart() {
    let (a, b) = colliding_keys();
    let public =
        |k: &SigningKey| crate::PublicKey::from_bytes(k.verifying_key().as_bytes()).unwrap();
    let toml = |pa: &str, pb: &str| {
        format!(
            "[[key]]\nname = \"a\"\npublic_key = \"{}\"\n{pa}\n[[key]]\nname = \"b\"\npublic_key = \"{}\"\n{pb}\n",
            public(&a).to_hex(),
            public(&b).to_hex()
        )
    };
    let e = TrustStore::from_toml(&toml("", "")).unwrap_err();
    assert_eq!(e.kind(), "ambiguous-short-key-id");
    assert!(e.to_string().contains("line 6"), "{e}");
    let e = TrustStore::from_toml(&toml(
        "gs1_prefixes = [\"9506\"]",
        "gs1_prefixes = [\"950600\"]",
    ))
    .unwrap_err();
    assert_eq!(e.kind(), "ambiguous-short-key-id");
    let trust = TrustStore::from_toml(&toml(
        "gs1_prefixes = [\"950600\"]",
        "gs1_prefixes = [\"0614141\"]",
    ))
    .unwrap();
    let (ka, kb) = (public(&a).kid(), public(&b).kid());
    let ua = sign_with(&a, ka, fmd(GTIN, SERIAL), SerialSource::Hallmark);
    let ub = sign_with(
        &b,
        kb,
        fmd("00614141000012", SERIAL),
        SerialSource::Hallmark,
    );
    assert_eq!(verify(&trust, ua).unwrap().kid(), ka);
    assert_eq!(verify(&trust, ub).unwrap().kid(), kb);
    // b's signature on a's company's GTIN: a is selected, and refuses it.
    let forged = sign_with(&b, kb, fmd(GTIN, SERIAL), SerialSource::Hallmark);
    assert_eq!(kind(verify(&trust, forged)), "bad-signature");
}

#[test]
fn a_trust_store_keeps_gs1_prefixes_through_toml() {
    let key = Key::new(7);
    let mut trust = TrustStore::new();
    trust
        .add(
            TrustedKey::new("line", key.public(), None, None)
                .unwrap()
                .with_gs1_prefixes(vec!["0614141".into(), "950600".into()])
                .unwrap(),
        )
        .unwrap();
    assert_eq!(TrustStore::from_toml(&trust.to_toml()).unwrap(), trust);
    for bad in ["123", "1234567890123", "12a4"] {
        assert!(
            TrustedKey::new("x", key.public(), None, None)
                .unwrap()
                .with_gs1_prefixes(vec![bad.into()])
                .is_err()
        );
    }
    let root = format!(
        "[[root]]\nname = \"r\"\npublic_key = \"{}\"\ngs1_prefixes = [\"0950\"]\n",
        key.public().to_hex()
    );
    assert!(TrustStore::from_toml(&root).is_err());
}
