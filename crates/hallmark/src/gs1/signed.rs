//! The hallmark GS1 profile (docs/FORMAT.md §21): a signature in AI 8030
//! over a canonical form of every other AI, so a unit verifies identically
//! whether it arrived as an element string, bracketed text or a Digital Link
//! URI, and in any AI order.
//!
//! The 8030 value is 90 base64url characters (no padding) of 67 bytes:
//! `profile (1) || short key id (2) || signature (64)`. The signature covers
//! `GS1_SIGNING_TAG || profile || key id (4) || canonical`, where `canonical`
//! is every AI but 8030, sorted by AI, each as `AI || value || GS`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::date::Date;
use crate::error::Error;
use crate::gs1::{GS, Gs1Data, Gs1Error};
use crate::key::{KID_LEN, KeyId};
use crate::payload::Payload;
use crate::{OPAQUE_BIT, SIGNATURE_LEN};

/// Domain-separation tag of a signed GS1 unit (NUL-terminated ASCII): no
/// signature made for a v1 code or a document can pass as one.
pub const GS1_SIGNING_TAG: &[u8] = b"hallmark gs1 unit v1\0";

/// The profile byte of a unit whose serial (AI 21) is one of hallmark's own:
/// the decimal form of an opaque serial (19 or 20 digits, at least 2^63).
pub const GS1_PROFILE_V1: u8 = b'H';

/// The profile byte of a unit whose serial (AI 21) came from an external
/// pool: any 1 to 20 characters of the GS1 character set 82.
pub const GS1_PROFILE_V1_POOL: u8 = b'P';

/// Bytes of the short key id carried in 8030.
pub const SHORT_KID_LEN: usize = 2;

/// Bytes of an 8030 value of this profile: profile, short key id, signature.
pub const GS1_SIGNATURE_LEN: usize = 1 + SHORT_KID_LEN + SIGNATURE_LEN;

/// Characters of the 8030 value (base64url without padding of
/// [`GS1_SIGNATURE_LEN`] bytes): exactly 90, the most AI 8030 holds.
pub const GS1_SIGNATURE_CHARS: usize = 90;

/// The AI that carries the signature (DIGSIG).
pub const AI_SIGNATURE: &str = "8030";

/// Context of the BLAKE3 key derivation that numbers pool-serial units
/// (docs/FORMAT.md §21.4).
pub const GS1_UNIT_CONTEXT: &str = "hallmark v1 gs1 pool unit";

/// The first two bytes of a [`KeyId`], as carried in AI 8030.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShortKid(pub [u8; SHORT_KID_LEN]);

impl ShortKid {
    /// The short id of `kid`.
    pub fn of(kid: KeyId) -> ShortKid {
        let [a, b, ..] = kid.to_bytes();
        ShortKid([a, b])
    }
}

impl core::fmt::Display for ShortKid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let [a, b] = self.0;
        write!(f, "{a:02x}{b:02x}")
    }
}

/// Where a unit's serial (AI 21) comes from, as its profile byte says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SerialSource {
    /// One of hallmark's opaque serials, printed in decimal.
    Hallmark,
    /// An externally allocated pool serial.
    Pool,
}

impl SerialSource {
    fn profile(self) -> u8 {
        match self {
            SerialSource::Hallmark => GS1_PROFILE_V1,
            SerialSource::Pool => GS1_PROFILE_V1_POOL,
        }
    }
}

/// A GS1 unit carrying a hallmark signature in AI 8030, parsed and checked
/// for the profile's shape, whose signature is NOT verified.
///
/// [`crate::Verifier::verify`] and [`crate::TrustStore::verify_signature_only`]
/// take GS1 scans as they take v1 codes; this type is for showing what a unit
/// claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gs1Unit {
    data: Gs1Data,
    source: SerialSource,
    short_kid: ShortKid,
    signature: [u8; SIGNATURE_LEN],
    /// Every AI but 8030, sorted, as signed.
    canonical: Vec<u8>,
    /// The facts the verdict needs, in the v1 payload's shape.
    payload: Payload,
}

impl Gs1Unit {
    /// Parses one GS1 scan in any accepted form ([`Gs1Data::parse`]) and
    /// checks the profile's shape. Data without AI 8030 is
    /// [`Gs1Error::Unsigned`].
    pub fn decode(input: &str) -> Result<Gs1Unit, Error> {
        Gs1Unit::from_data(Gs1Data::parse(input)?)
    }

    /// [`Gs1Unit::decode`] on already-parsed data.
    pub fn from_data(data: Gs1Data) -> Result<Gs1Unit, Error> {
        let Some(value) = data.get(AI_SIGNATURE) else {
            return Err(Gs1Error::Unsigned.into());
        };
        let (source, short_kid, signature) = decode_signature(value)?;
        let payload = unit_payload(&data, source)?;
        let canonical = canonical(&data);
        Ok(Gs1Unit {
            data,
            source,
            short_kid,
            signature,
            canonical,
            payload,
        })
    }

    /// The data as read, 8030 included.
    pub fn data(&self) -> &Gs1Data {
        &self.data
    }

    /// The GTIN (AI 01), 14 digits.
    pub fn gtin(&self) -> &str {
        self.payload.part()
    }

    /// The serial (AI 21) as printed.
    pub fn serial_text(&self) -> &str {
        self.data.get("21").unwrap_or_default()
    }

    /// Where the serial comes from.
    pub fn serial_source(&self) -> SerialSource {
        self.source
    }

    /// The short key id the signature names.
    pub fn short_kid(&self) -> ShortKid {
        self.short_kid
    }

    /// The signature.
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// The unit's facts in the v1 payload's shape: the serial is the unit
    /// number (docs/FORMAT.md §21.4), the part the GTIN, the lot AI 10 (empty
    /// if absent), the date AI 11, the expiry AI 17.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The canonical text: bracketed form, AIs sorted, 8030 last.
    pub fn to_text(&self) -> String {
        self.data.to_sorted_hri()
    }

    /// The signing message under the key `kid`, in parts.
    pub(crate) fn signing_parts<'a>(&'a self, kid: &'a [u8; KID_LEN]) -> [&'a [u8]; 4] {
        message_parts(self.source, kid, &self.canonical)
    }
}

/// The signing message in parts: tag, profile byte, key id, canonical form.
fn message_parts<'a>(
    source: SerialSource,
    kid: &'a [u8; KID_LEN],
    canonical: &'a [u8],
) -> [&'a [u8]; 4] {
    let profile: &'static [u8] = match source {
        SerialSource::Hallmark => &[GS1_PROFILE_V1],
        SerialSource::Pool => &[GS1_PROFILE_V1_POOL],
    };
    [GS1_SIGNING_TAG, profile, kid, canonical]
}

/// GS1 data ready to be signed: the profile's required AIs checked, the
/// signing message built. [`UnsignedGs1Unit::with_signature`] adds 8030.
///
/// ```
/// use hallmark::gs1::{Gs1Data, SerialSource, UnsignedGs1Unit};
/// use hallmark::KeyId;
/// let data = Gs1Data::from_elements([
///     ("01", "09506000134352"),
///     ("11", "261201"),
///     ("17", "281130"),
///     ("10", "L231212-01"),
///     ("21", "9223372036854775817"),
/// ])?;
/// let kid = KeyId::from_bytes([0x8a, 0x31, 0x02, 0x77]);
/// let unsigned = UnsignedGs1Unit::new(data, kid, SerialSource::Hallmark)?;
/// assert!(unsigned.signing_message().starts_with(b"hallmark gs1 unit v1\0H"));
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedGs1Unit {
    data: Gs1Data,
    kid: KeyId,
    source: SerialSource,
    message: Vec<u8>,
}

impl UnsignedGs1Unit {
    /// Data to be signed by `kid`; it must hold AIs 01, 11 and 21 (a serial
    /// of the `source` given) and no 8030.
    pub fn new(data: Gs1Data, kid: KeyId, source: SerialSource) -> Result<UnsignedGs1Unit, Error> {
        if data.get(AI_SIGNATURE).is_some() {
            return Err(Gs1Error::InvalidValue {
                ai: AI_SIGNATURE.into(),
                reason: "data to be signed already carries a signature".into(),
            }
            .into());
        }
        unit_payload(&data, source)?;
        let canonical = canonical(&data);
        let kid_bytes = kid.to_bytes();
        let message = message_parts(source, &kid_bytes, &canonical).concat();
        Ok(UnsignedGs1Unit {
            data,
            kid,
            source,
            message,
        })
    }

    /// The exact bytes to sign.
    pub fn signing_message(&self) -> &[u8] {
        &self.message
    }

    /// The data with AI 8030 appended (last, where a variable-length value
    /// needs no separator after it).
    pub fn with_signature(&self, signature: &[u8; SIGNATURE_LEN]) -> Result<Gs1Data, Error> {
        let value = signature_value(self.source, ShortKid::of(self.kid), signature);
        Gs1Data::from_elements(
            self.data
                .elements()
                .chain(core::iter::once((AI_SIGNATURE, value.as_str()))),
        )
    }
}

/// The 8030 value: base64url of profile, short key id and signature.
pub fn signature_value(
    source: SerialSource,
    short_kid: ShortKid,
    signature: &[u8; SIGNATURE_LEN],
) -> String {
    let mut bytes = [0u8; GS1_SIGNATURE_LEN];
    let (head, sig) = bytes.split_at_mut(1 + SHORT_KID_LEN);
    let [profile, a, b] = head else {
        return String::new();
    };
    *profile = source.profile();
    [*a, *b] = short_kid.0;
    sig.copy_from_slice(signature);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads an 8030 value of this profile.
fn decode_signature(value: &str) -> Result<(SerialSource, ShortKid, [u8; SIGNATURE_LEN]), Error> {
    let invalid = |reason: &str| Gs1Error::InvalidValue {
        ai: AI_SIGNATURE.into(),
        reason: reason.into(),
    };
    if value.len() != GS1_SIGNATURE_CHARS {
        return Err(invalid(&format!(
            "a hallmark signature is {GS1_SIGNATURE_CHARS} base64url characters, this is {}",
            value.len()
        ))
        .into());
    }
    // The engine refuses padding and non-zero trailing bits: one spelling per
    // signature, as for v1 codes.
    let bytes = URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| invalid("not canonical base64url"))?;
    let Some((&[profile, a, b], sig)) = bytes.split_first_chunk::<3>() else {
        return Err(invalid("truncated signature").into());
    };
    let source = match profile {
        GS1_PROFILE_V1 => SerialSource::Hallmark,
        GS1_PROFILE_V1_POOL => SerialSource::Pool,
        other => {
            return Err(invalid(&format!(
                "not a hallmark GS1 signature (profile byte 0x{other:02x}; this verifier knows 'H' and 'P')"
            ))
            .into());
        }
    };
    let signature: [u8; SIGNATURE_LEN] = sig
        .try_into()
        .map_err(|_| invalid("the signature is not 64 bytes"))?;
    Ok((source, ShortKid([a, b]), signature))
}

/// Every AI but 8030, sorted by AI, each as `AI || value || GS`.
fn canonical(data: &Gs1Data) -> Vec<u8> {
    let mut elements: Vec<_> = data
        .elements()
        .filter(|&(ai, _)| ai != AI_SIGNATURE)
        .collect();
    elements.sort_unstable_by_key(|&(ai, _)| ai);
    let mut out = Vec::with_capacity(elements.iter().map(|(a, v)| a.len() + v.len() + 1).sum());
    for (ai, value) in elements {
        out.extend_from_slice(ai.as_bytes());
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(GS.encode_utf8(&mut [0; 1]).as_bytes());
    }
    out
}

/// The profile's required AIs, read into the v1 payload's shape.
fn unit_payload(data: &Gs1Data, source: SerialSource) -> Result<Payload, Error> {
    let need = |ai: &'static str, what: &'static str| {
        data.get(ai).ok_or_else(|| Gs1Error::MissingAi {
            ai: ai.into(),
            reason: format!("the hallmark GS1 profile signs units with {what}"),
        })
    };
    let gtin = need("01", "a GTIN")?;
    let serial = need("21", "a serial")?;
    let made = need(
        "11",
        "a production date (the key's window is checked against it)",
    )?;
    let date = gs1_date("11", made)?;
    let expiry = data.get("17").map(|v| gs1_date("17", v)).transpose()?;
    if let Some(expiry) = expiry
        && expiry < date
    {
        return Err(Gs1Error::InvalidValue {
            ai: "17".into(),
            reason: format!("expiry {expiry} precedes the production date {date}"),
        }
        .into());
    }
    let number = match source {
        SerialSource::Hallmark => hallmark_serial(serial)?,
        SerialSource::Pool => pool_unit_number(gtin, serial),
    };
    Ok(Payload::gs1(
        number,
        gtin,
        data.get("10").unwrap_or_default(),
        date,
        expiry,
    ))
}

/// A hallmark serial in AI 21: the canonical decimal of an opaque serial.
fn hallmark_serial(text: &str) -> Result<u64, Error> {
    let bad = || Gs1Error::InvalidValue {
        ai: "21".into(),
        reason: "a hallmark serial (profile 'H') is the decimal form of an opaque serial: \
                 19 or 20 digits, no leading zero, from 9223372036854775808"
            .into(),
    };
    let n: u64 = text.parse().map_err(|_| bad())?;
    if n.to_string() != text || n & OPAQUE_BIT == 0 {
        return Err(bad().into());
    }
    Ok(n)
}

/// The unit number of a pool serial: 63 bits of BLAKE3 in key-derivation
/// mode over the GTIN and the serial (below 2^63: never one of hallmark's
/// opaque serials).
pub fn pool_unit_number(gtin: &str, serial: &str) -> u64 {
    let mut hasher = blake3::Hasher::new_derive_key(GS1_UNIT_CONTEXT);
    hasher.update(gtin.as_bytes());
    hasher.update(&[0x1d]);
    hasher.update(serial.as_bytes());
    let mut out = [0u8; 8];
    hasher.finalize_xof().fill(&mut out);
    u64::from_be_bytes(out) & !OPAQUE_BIT
}

/// A GS1 date (YYMMDD, already checked by the dictionary's linter): years
/// 2000 to 2099, day 00 the last day of the month.
fn gs1_date(ai: &str, value: &str) -> Result<Date, Error> {
    let bad = || Gs1Error::InvalidValue {
        ai: ai.into(),
        reason: "not a YYMMDD date".into(),
    };
    let digits = |r: core::ops::Range<usize>| -> Result<u32, Gs1Error> {
        value.get(r).and_then(|s| s.parse().ok()).ok_or_else(bad)
    };
    if value.len() != 6 {
        return Err(bad().into());
    }
    let (yy, mm, dd) = (digits(0..2)?, digits(2..4)?, digits(4..6)?);
    let year = 2000 + yy;
    let day = if dd == 0 {
        (28..=31)
            .rev()
            .find(|&d| Date::from_ymd(year, mm, d).is_some())
            .ok_or_else(bad)?
    } else {
        dd
    };
    Ok(Date::from_ymd(year, mm, day).ok_or_else(bad)?)
}

#[cfg(test)]
mod tests;
