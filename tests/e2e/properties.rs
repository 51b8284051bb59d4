//! Property tests across the verifier and issuer crates: random payloads round-trip,
//! random mutations of genuine codes never verify, and no input makes the decoder panic.

use hallmark::{Date, Extension, Payload, TrustStore, TrustedKey, UnverifiedCode};
use hallmark_issuer::{SecretKey, mint};
use proptest::prelude::*;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

fn label() -> impl Strategy<Value = String> {
    // Printable ASCII, 1..=64 bytes, no leading or trailing space.
    "[!-~]([ -~]{0,62}[!-~])?"
}

fn date() -> impl Strategy<Value = Date> {
    (0..=Date::MAX.days()).prop_map(|d| Date::from_days(d.into()).unwrap())
}

fn extension() -> impl Strategy<Value = Extension> {
    (
        5u64..=u64::MAX,
        prop_oneof![
            "[ -~]{0,20}".prop_map(|s| Extension::text(5, &s).unwrap().value_cbor()),
            any::<u64>().prop_map(|n| {
                let mut v = Vec::new();
                ciborium::into_writer(&n, &mut v).unwrap();
                v
            }),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(|b| {
                let mut v = Vec::new();
                ciborium::into_writer(&ciborium::Value::Bytes(b), &mut v).unwrap();
                v
            }),
        ],
    )
        .prop_map(|(key, cbor)| Extension::from_cbor(key, &cbor).unwrap())
}

prop_compose! {
    fn payload()(
        serial in any::<u64>(),
        part in label(),
        lot in label(),
        date in date(),
        expiry_offset in proptest::option::of(0u32..100_000),
        extensions in proptest::collection::vec(extension(), 0..3),
    ) -> Payload {
        let mut p = Payload::new(serial, &part, &lot, date).unwrap();
        if let Some(off) = expiry_offset
            && let Some(e) = Date::from_days(u64::from(date.days()) + u64::from(off))
        {
            p = p.with_expiry(e).unwrap();
        }
        for ext in extensions {
            // Duplicate keys are refused by the builder; skip them.
            p = p.clone().with_extension(ext).unwrap_or(p);
        }
        p
    }
}

fn setup(seed: [u8; 32]) -> (SecretKey, TrustStore) {
    let key = SecretKey::from_seed("prop", &seed).unwrap();
    let mut trust = TrustStore::new();
    trust
        .add(TrustedKey::new("prop", key.public_key(), None, None).unwrap())
        .unwrap();
    (key, trust)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_payloads_round_trip(seed in any::<[u8; 32]>(), p in payload()) {
        let (key, trust) = setup(seed);
        let Ok(code) = mint(&key, &p) else {
            // Only a payload too big for a code may fail to mint.
            prop_assert!(p.to_cbor().len() + 69 > hallmark::MAX_CODE_BYTES);
            return Ok(());
        };
        let verified = trust.verify_signature_only(&code).unwrap();
        prop_assert_eq!(verified.payload(), &p);
        prop_assert_eq!(verified.to_text(), code.clone());
        prop_assert_eq!(Payload::from_cbor(&p.to_cbor()).unwrap(), p);
        // Accepted spellings are the same code; decode-then-encode is canonical.
        let lower = code.to_lowercase();
        let grouped: String = lower.as_bytes().chunks(5).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-");
        for spelling in [lower, grouped, format!("HTTPS://HM.EXAMPLE/C/{code}")] {
            prop_assert_eq!(UnverifiedCode::decode(&spelling).unwrap().to_text(), code.clone());
            prop_assert!(trust.verify_signature_only(&spelling).is_ok());
        }
    }

    #[test]
    fn mutated_codes_never_verify(
        seed in any::<[u8; 32]>(),
        p in payload(),
        mutation in 0u8..7,
        pos in any::<prop::sample::Index>(),
        ch in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (key, trust) = setup(seed);
        let Ok(code) = mint(&key, &p) else { return Ok(()) };
        let bytes = code.as_bytes();
        let i = pos.index(bytes.len());
        let c = ALPHABET[ch.index(ALPHABET.len())];
        let mutated: Vec<u8> = match mutation {
            0 => { let mut m = bytes.to_vec(); m[i] = c; m }
            1 => { let mut m = bytes.to_vec(); m.remove(i); m }
            2 => { let mut m = bytes.to_vec(); m.insert(i, c); m }
            3 => bytes[..i].to_vec(),
            4 => { let mut m = bytes.to_vec(); m.push(c); m }
            5 => {
                // Flip one bit of the binary form.
                let mut bin = UnverifiedCode::decode(&code).unwrap().to_bytes();
                let j = pos.index(bin.len());
                bin[j] ^= 1 << bit;
                base32::encode(base32::Alphabet::Crockford, &bin).into_bytes()
            }
            _ => { let mut m = bytes.to_vec(); let j = (i + 1) % m.len(); m.swap(i, j); m }
        };
        let mutated = String::from_utf8(mutated).unwrap();
        let same_code = UnverifiedCode::decode(&mutated).map(|c| c.to_text() == code).unwrap_or(false);
        if !same_code {
            prop_assert!(trust.verify_signature_only(&mutated).is_err(), "mutation {} verified: {}", mutation, mutated);
        }
    }

    #[test]
    fn decoder_never_panics_on_text(s in "\\PC{0,600}") {
        let _ = UnverifiedCode::decode(&s);
    }

    #[test]
    fn decoder_never_panics_on_base32(s in "[0-9A-Za-z -]{0,500}") {
        let _ = UnverifiedCode::decode(&s);
    }

    #[test]
    fn decoder_never_panics_on_bytes(b in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(code) = UnverifiedCode::from_bytes(&b) {
            // Exactly one accepted byte string per code.
            prop_assert_eq!(code.to_bytes(), b);
        }
    }

    #[test]
    fn payload_decoder_is_canonical(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = Payload::from_cbor(&b) {
            prop_assert_eq!(p.to_cbor(), b);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Bulk verification gives exactly the single verdicts, on genuine codes,
    /// mutations of them, and signatures by keys the trust store refuses or lacks.
    #[test]
    fn bulk_equals_single(
        seed in any::<[u8; 32]>(),
        other_seed in any::<[u8; 32]>(),
        serials in proptest::collection::vec(any::<u64>(), 1..20),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..20),
    ) {
        let (key, trust) = setup(seed);
        let other = SecretKey::from_seed("other", &other_seed).unwrap();
        let date = Date::from_days(19_703).unwrap();
        let mut inputs: Vec<String> = Vec::new();
        for (i, serial) in serials.iter().enumerate() {
            let p = Payload::new(*serial, "P", "L", date).unwrap();
            let signer = if i % 5 == 4 { &other } else { &key };
            inputs.push(mint(signer, &p).unwrap());
        }
        for (pos, ch) in &flips {
            let base = inputs[pos.index(inputs.len())].clone();
            let i = pos.index(base.len());
            let c = ALPHABET[ch.index(ALPHABET.len())] as char;
            let mut m = base.clone();
            m.replace_range(i..i + 1, c.encode_utf8(&mut [0; 4]));
            inputs.push(m);
        }
        let verifier = hallmark::Verifier::new(&trust, date);
        let bulk = verifier.verify_batch(inputs.iter().map(String::as_str));
        prop_assert_eq!(bulk.len(), inputs.len());
        for (input, verdict) in inputs.iter().zip(&bulk) {
            prop_assert_eq!(verdict, &verifier.verify(input));
            prop_assert_eq!(verdict.is_genuine(), trust.verify_signature_only(input).is_ok());
        }
    }
}
