//! The formats compared, each used as its documentation shows, all signing the
//! same claims with the same Ed25519 key.
//!
//! Every format carries the same four facts: serial, part, lot and date of
//! manufacture (as days since 1970-01-01, like hallmark). The peers get the
//! most compact equivalent their format allows: one-letter JSON claim names
//! for JWT and PASETO, the very CBOR map hallmark signs for COSE, and no key id
//! (hallmark's code carries a 4-byte one; the peers are spared theirs).

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value;
use coset::{CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hallmark::{Date, Payload, TrustStore, TrustedKey, Verdict, Verifier};
use hallmark_issuer::{Minter, SecretKey, SerialMode};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use serde::{Deserialize, Serialize};

use crate::BoxError;

/// The sample payload of the design brief.
pub const PART: &str = "DRN-2980";
/// The sample lot.
pub const LOT: &str = "L231212-01";
/// The sample date of manufacture.
pub const DATE: &str = "2023-12-12";
/// The sample serial.
pub const SERIAL: u64 = 123_456_789;
/// 2023-12-12 as days since 1970-01-01 (checked against hallmark's own date
/// arithmetic by the self-check, which compares hallmark's verified payload).
pub const DAYS: u32 = 19_703;
/// The one Ed25519 seed every format signs with.
pub const SEED: [u8; 32] = [7; 32];
/// Another seed, for "a token from another key must not verify".
pub const OTHER_SEED: [u8; 32] = [8; 32];

/// The claims every format carries; JSON names kept to one letter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Serial.
    pub s: u64,
    /// Part number.
    pub p: Cow<'static, str>,
    /// Lot.
    pub l: Cow<'static, str>,
    /// Date of manufacture, days since 1970-01-01.
    pub d: u32,
}

impl Claims {
    /// The sample claims with serial `s` (no allocation).
    pub fn sample(s: u64) -> Claims {
        Claims {
            s,
            p: Cow::Borrowed(PART),
            l: Cow::Borrowed(LOT),
            d: DAYS,
        }
    }
}

/// One way of turning claims into a signed text token and back.
pub trait Format: Sync {
    /// Name in the report.
    fn name(&self) -> &'static str;
    /// Signs the sample claims with serial `serial`.
    fn sign(&self, serial: u64) -> Result<String, BoxError>;
    /// Verifies a token and returns its claims.
    fn verify(&self, token: &str) -> Result<Claims, BoxError>;
    /// `token` with its serial changed but its signature kept, otherwise well
    /// formed: it must fail on the signature and nothing else.
    fn forge(&self, token: &str) -> Result<String, BoxError>;
    /// Whether `e` (from [`Format::verify`]) says the signature is wrong.
    fn is_signature_error(&self, e: &(dyn Error + 'static)) -> bool;
}

// ---------------------------------------------------------------- hallmark

/// hallmark through its libraries: `Minter` (the bulk fast path `hallmark
/// mint` uses) to sign, `Verifier` (what `hallmark verify` uses) to verify.
pub struct Hallmark<'k> {
    key: &'k SecretKey,
    minter: Minter<'k>,
    trust: TrustStore,
    date: Date,
    today: Date,
}

impl<'k> Hallmark<'k> {
    /// hallmark with `key`, trusting only that key.
    pub fn new(key: &'k SecretKey) -> Result<Hallmark<'k>, BoxError> {
        let date: Date = DATE.parse()?;
        let template = Payload::new(0, PART, LOT, date)?;
        let mut trust = TrustStore::new();
        trust.add(TrustedKey::new("bench", key.public_key(), None, None)?)?;
        // The key's tables of multiples, as an app or the server builds them
        // once; without this the first bulk slice would build them and single
        // verification would be measured with or without, by order of cells.
        trust.precompute();
        Ok(Hallmark {
            key,
            minter: Minter::new(key, &template, SerialMode::Sequential)?,
            trust,
            date,
            today: "2026-01-01".parse()?,
        })
    }

    /// The library's verifier (cheap to make: it borrows the trust store).
    pub fn verifier(&self) -> Verifier<'_> {
        Verifier::new(&self.trust, self.today)
    }

    /// Signs with the one-payload-at-a-time API, `hallmark_issuer::mint`.
    pub fn mint_one(&self, serial: u64) -> Result<String, BoxError> {
        let payload = Payload::new(serial, PART, LOT, self.date)?;
        Ok(hallmark_issuer::mint(self.key, &payload)?)
    }
}

/// The claims of a verdict, or the verdict's error.
pub fn hallmark_claims(verdict: Verdict) -> Result<Claims, BoxError> {
    match verdict {
        Verdict::Genuine(verified) => {
            let p = verified.payload();
            Ok(Claims {
                s: p.serial(),
                p: Cow::Owned(p.part().to_owned()),
                l: Cow::Owned(p.lot().to_owned()),
                d: p.date().days(),
            })
        }
        other => match other.refusal() {
            Some(e) => Err(e.into()),
            None => Err(format!("not genuine: {}", other.kind()).into()),
        },
    }
}

impl Format for Hallmark<'_> {
    fn name(&self) -> &'static str {
        "hallmark"
    }
    fn sign(&self, serial: u64) -> Result<String, BoxError> {
        Ok(self.minter.mint(serial)?.1)
    }
    fn verify(&self, token: &str) -> Result<Claims, BoxError> {
        hallmark_claims(self.verifier().verify(token))
    }
    fn forge(&self, token: &str) -> Result<String, BoxError> {
        let mut bytes = hallmark::UnverifiedCode::decode(token)?.to_bytes();
        // version, kid (4), map head, key 0, 0x1a, then the serial's 4 bytes:
        // flip the lowest bit of its last byte (still a canonical 4-byte uint).
        let last = bytes.get_mut(11).ok_or("code too short")?;
        *last ^= 1;
        Ok(base32::encode(base32::Alphabet::Crockford, &bytes))
    }
    fn is_signature_error(&self, e: &(dyn Error + 'static)) -> bool {
        e.downcast_ref::<hallmark::Error>()
            .is_some_and(|e| e.verdict() == "bad-signature")
    }
}

/// hallmark signing each code with `hallmark_issuer::mint` (payload encoded
/// every time), for comparison with the `Minter` fast path.
pub struct HallmarkMintOne<'a, 'k>(pub &'a Hallmark<'k>);

impl Format for HallmarkMintOne<'_, '_> {
    fn name(&self) -> &'static str {
        "hallmark mint()"
    }
    fn sign(&self, serial: u64) -> Result<String, BoxError> {
        self.0.mint_one(serial)
    }
    fn verify(&self, token: &str) -> Result<Claims, BoxError> {
        self.0.verify(token)
    }
    fn forge(&self, token: &str) -> Result<String, BoxError> {
        self.0.forge(token)
    }
    fn is_signature_error(&self, e: &(dyn Error + 'static)) -> bool {
        self.0.is_signature_error(e)
    }
}

// --------------------------------------------------------------------- JWT

/// JWT (JWS compact) with EdDSA, by jsonwebtoken with its aws-lc-rs backend.
pub struct Jwt {
    header: jsonwebtoken::Header,
    encoding: jsonwebtoken::EncodingKey,
    decoding: jsonwebtoken::DecodingKey,
    validation: jsonwebtoken::Validation,
    public_key: [u8; 32],
}

impl Jwt {
    /// JWT with the key of `seed`.
    pub fn new(seed: &[u8; 32]) -> Result<Jwt, BoxError> {
        use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
        let pair = Ed25519KeyPair::from_seed_unchecked(seed)?;
        let pkcs8 = pair.to_pkcs8()?;
        let public_key: [u8; 32] = pair.public_key().as_ref().try_into()?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
        // The claims have no expiry: a label is valid for the life of the unit.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        Ok(Jwt {
            header: jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
            encoding: jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref()),
            decoding: jsonwebtoken::DecodingKey::from_ed_der(&public_key),
            validation,
            public_key,
        })
    }

    /// The public key, to prove every format uses the same key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }
}

impl Format for Jwt {
    fn name(&self) -> &'static str {
        "JWT"
    }
    fn sign(&self, serial: u64) -> Result<String, BoxError> {
        Ok(jsonwebtoken::encode(
            &self.header,
            &Claims::sample(serial),
            &self.encoding,
        )?)
    }
    fn verify(&self, token: &str) -> Result<Claims, BoxError> {
        Ok(jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?.claims)
    }
    fn forge(&self, token: &str) -> Result<String, BoxError> {
        let mut parts = token.split('.');
        let (Some(header), Some(claims), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a JWS compact token".into());
        };
        let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(claims)?)?;
        let claims = replace_serial(&claims)?;
        Ok(format!(
            "{header}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(claims)
        ))
    }
    fn is_signature_error(&self, e: &(dyn Error + 'static)) -> bool {
        e.downcast_ref::<jsonwebtoken::errors::Error>()
            .is_some_and(|e| *e.kind() == jsonwebtoken::errors::ErrorKind::InvalidSignature)
    }
}

/// Changes the sample serial's last digit in JSON text.
fn replace_serial(json: &str) -> Result<String, BoxError> {
    let from = SERIAL.to_string();
    if !json.contains(&from) {
        return Err(format!("serial {SERIAL} not found in {json}").into());
    }
    Ok(json.replacen(&from, &(SERIAL + 1).to_string(), 1))
}

// -------------------------------------------------------------------- COSE

/// COSE_Sign1 (tagged) with EdDSA over the same CBOR map hallmark signs, then
/// zlib, base45 and the `HC1:` prefix, as the EU digital COVID certificate.
/// Ed25519 by ed25519-dalek, as hallmark (`verify_strict`).
pub struct Cose {
    key: SigningKey,
    public_key: VerifyingKey,
}

/// The signature of a COSE token did not verify.
#[derive(Debug)]
pub struct CoseBadSignature;

impl fmt::Display for CoseBadSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("COSE_Sign1 signature does not verify")
    }
}

impl Error for CoseBadSignature {}

/// The DCC's prefix ("health certificate, version 1").
const HC1: &str = "HC1:";
/// Refuse to inflate more than this (a zip bomb guard, as a verifier would).
const MAX_COSE_BYTES: u64 = 4096;

impl Cose {
    /// COSE with the key of `seed`.
    pub fn new(seed: &[u8; 32]) -> Cose {
        let key = SigningKey::from_bytes(seed);
        Cose {
            public_key: key.verifying_key(),
            key,
        }
    }

    fn payload(serial: u64) -> Result<Vec<u8>, BoxError> {
        let map = Value::Map(vec![
            (Value::from(0), Value::from(serial)),
            (Value::from(1), Value::from(PART)),
            (Value::from(2), Value::from(LOT)),
            (Value::from(3), Value::from(DAYS)),
        ]);
        let mut out = Vec::with_capacity(40);
        ciborium::into_writer(&map, &mut out)?;
        Ok(out)
    }

    fn seal(sign1: CoseSign1) -> Result<String, BoxError> {
        let cose = sign1.to_tagged_vec().map_err(cose_error)?;
        let mut z = flate2::write::ZlibEncoder::new(
            Vec::with_capacity(cose.len() + 16),
            flate2::Compression::default(),
        );
        z.write_all(&cose)?;
        Ok(format!("{HC1}{}", base45::encode(z.finish()?)))
    }

    fn open(token: &str) -> Result<CoseSign1, BoxError> {
        let text = token.strip_prefix(HC1).ok_or("no HC1: prefix")?;
        let zipped = base45::decode(text)?;
        let mut cose = Vec::with_capacity(256);
        flate2::read::ZlibDecoder::new(zipped.as_slice())
            .take(MAX_COSE_BYTES)
            .read_to_end(&mut cose)?;
        CoseSign1::from_tagged_slice(&cose).map_err(cose_error)
    }
}

fn cose_error(e: coset::CoseError) -> BoxError {
    format!("COSE: {e}").into()
}

fn cbor_claims(payload: &[u8]) -> Result<Claims, BoxError> {
    let value: Value = ciborium::from_reader(payload)?;
    let Value::Map(entries) = value else {
        return Err("COSE payload is not a map".into());
    };
    let field = |key: i64| {
        entries
            .iter()
            .find(|(k, _)| k.as_integer() == Some(key.into()))
            .map(|(_, v)| v)
            .ok_or_else(|| BoxError::from(format!("COSE payload has no field {key}")))
    };
    let uint = |key: i64| -> Result<u64, BoxError> {
        let n = field(key)?.as_integer().ok_or("not an integer")?;
        Ok(u64::try_from(n)?)
    };
    let text = |key: i64| -> Result<String, BoxError> {
        Ok(field(key)?.as_text().ok_or("not text")?.to_owned())
    };
    Ok(Claims {
        s: uint(0)?,
        p: Cow::Owned(text(1)?),
        l: Cow::Owned(text(2)?),
        d: u32::try_from(uint(3)?)?,
    })
}

impl Format for Cose {
    fn name(&self) -> &'static str {
        "COSE"
    }
    fn sign(&self, serial: u64) -> Result<String, BoxError> {
        let protected = HeaderBuilder::new()
            .algorithm(coset::iana::Algorithm::EdDSA)
            .build();
        let sign1 = CoseSign1Builder::new()
            .protected(protected)
            .payload(Cose::payload(serial)?)
            .create_signature(b"", |tbs| self.key.sign(tbs).to_bytes().to_vec())
            .build();
        Cose::seal(sign1)
    }
    fn verify(&self, token: &str) -> Result<Claims, BoxError> {
        let sign1 = Cose::open(token)?;
        if sign1.protected.header.alg
            != Some(coset::RegisteredLabelWithPrivate::Assigned(
                coset::iana::Algorithm::EdDSA,
            ))
        {
            return Err("COSE: algorithm is not EdDSA".into());
        }
        sign1.verify_signature(b"", |signature, tbs| {
            let signature = Signature::from_slice(signature).map_err(|_| CoseBadSignature)?;
            self.public_key
                .verify_strict(tbs, &signature)
                .map_err(|_| CoseBadSignature)
        })?;
        cbor_claims(sign1.payload.as_deref().ok_or("COSE: detached payload")?)
    }
    fn forge(&self, token: &str) -> Result<String, BoxError> {
        let mut sign1 = Cose::open(token)?;
        let mut claims = cbor_claims(sign1.payload.as_deref().ok_or("no payload")?)?;
        claims.s += 1;
        sign1.payload = Some(Cose::payload(claims.s)?);
        Cose::seal(sign1)
    }
    fn is_signature_error(&self, e: &(dyn Error + 'static)) -> bool {
        e.is::<CoseBadSignature>()
    }
}

// ------------------------------------------------------------------ PASETO

/// PASETO v4.public by pasetors, through its typed `version4` API: the claims
/// are serde JSON as for JWT. (The `public` + `Claims` API would add
/// `iat`/`nbf`/`exp` timestamps by default and parse claims into a map.)
pub struct Paseto {
    secret: AsymmetricSecretKey<V4>,
    public: AsymmetricPublicKey<V4>,
}

impl Paseto {
    /// PASETO with the key of `seed`.
    pub fn new(seed: &[u8; 32]) -> Result<Paseto, BoxError> {
        let public_key = SigningKey::from_bytes(seed).verifying_key().to_bytes();
        let mut secret = seed.to_vec();
        secret.extend_from_slice(&public_key);
        Ok(Paseto {
            secret: AsymmetricSecretKey::<V4>::from(&secret)?,
            public: AsymmetricPublicKey::<V4>::from(&public_key)?,
        })
    }

    fn body(token: &str) -> Result<Vec<u8>, BoxError> {
        let body = token
            .strip_prefix(PublicToken::HEADER)
            .ok_or("not a v4.public token")?;
        Ok(URL_SAFE_NO_PAD.decode(body)?)
    }
}

impl Format for Paseto {
    fn name(&self) -> &'static str {
        "PASETO"
    }
    fn sign(&self, serial: u64) -> Result<String, BoxError> {
        let message = serde_json::to_vec(&Claims::sample(serial))?;
        Ok(PublicToken::sign(&self.secret, &message, None, None)?)
    }
    fn verify(&self, token: &str) -> Result<Claims, BoxError> {
        let untrusted = UntrustedToken::<pasetors::Public, V4>::try_from(token)?;
        let trusted = PublicToken::verify(&self.public, &untrusted, None, None)?;
        Ok(serde_json::from_str(trusted.payload())?)
    }
    fn forge(&self, token: &str) -> Result<String, BoxError> {
        let body = Paseto::body(token)?;
        let split = body.len().checked_sub(64).ok_or("token too short")?;
        let (message, signature) = body.split_at(split);
        let message = replace_serial(std::str::from_utf8(message)?)?;
        let mut forged = message.into_bytes();
        forged.extend_from_slice(signature);
        Ok(format!(
            "{}{}",
            PublicToken::HEADER,
            URL_SAFE_NO_PAD.encode(forged)
        ))
    }
    fn is_signature_error(&self, e: &(dyn Error + 'static)) -> bool {
        matches!(
            e.downcast_ref::<pasetors::errors::Error>(),
            Some(pasetors::errors::Error::TokenValidation)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What docs/PERFORMANCE.md says of the DCC's zlib step: without it, the
    /// COSE token would be 108 bytes, 166 characters, QR version 7.
    #[test]
    fn cose_without_zlib() -> Result<(), BoxError> {
        let cose = Cose::new(&SEED);
        let raw = Cose::open(&cose.sign(SERIAL)?)?
            .to_tagged_vec()
            .map_err(cose_error)?;
        assert_eq!(raw.len(), 108);
        let text = format!("{HC1}{}", base45::encode(&raw));
        assert_eq!(text.len(), 166);
        assert_eq!(crate::report::Size::of(&text)?.qr_version, 7);
        assert!(cose.sign(SERIAL)?.len() > text.len());
        Ok(())
    }

    #[test]
    fn mint_one_and_minter_agree() -> Result<(), BoxError> {
        let key = SecretKey::from_seed("bench", &SEED)?;
        let hallmark = Hallmark::new(&key)?;
        assert_eq!(hallmark.sign(SERIAL)?, hallmark.mint_one(SERIAL)?);
        Ok(())
    }
}
