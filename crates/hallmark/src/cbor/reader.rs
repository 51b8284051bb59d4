//! The one CBOR reader of the format crate: RFC 8949 well-formedness, the
//! nesting limit, and the byte-level rules of deterministic encoding, in one
//! pass over the input (docs/FORMAT.md §4.1 and §8.3).
//!
//! It refuses every input that is not well-formed CBOR with `invalid-cbor`
//! (RFC 8949 Appendix C), and the few well-formed items the format gives no
//! meaning to (unassigned simple values) the same way. What is well-formed but
//! not the deterministic encoding (a longer head than needed, an indefinite
//! length, `undefined`, a float or bignum not in its shortest form) is decoded
//! and flagged, so that the caller reports `non-canonical-cbor` after checking
//! for trailing bytes. Map key order is not judged here.

use ciborium::Value;
use ciborium::value::Integer;

use crate::error::{CborError, PayloadError};

/// Most containers (arrays, maps, tags other than bignums) open at once; the
/// item at the top is the first. Opening one more is `too-deep`.
pub(crate) const MAX_OPEN: usize = 6;

/// One decoded item.
pub(crate) struct Read {
    /// The value.
    pub(crate) value: Value,
    /// Bytes the item took from the start of the input.
    pub(crate) used: usize,
    /// Whether every part of it was in deterministic form (map order aside).
    pub(crate) canonical: bool,
}

/// Reads the first CBOR item of `bytes`.
pub(crate) fn read(bytes: &[u8]) -> Result<Read, PayloadError> {
    let mut r = Reader {
        bytes,
        at: 0,
        open: 0,
        canonical: true,
    };
    let value = r.item()?;
    Ok(Read {
        value,
        used: r.at,
        canonical: r.canonical,
    })
}

const BREAK: u8 = 0xff;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    open: usize,
    canonical: bool,
}

fn invalid(kind: CborError, at: usize) -> PayloadError {
    PayloadError::InvalidCbor { kind, at }
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, PayloadError> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| invalid(CborError::Truncated, self.at))?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], PayloadError> {
        let start = self.at;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| start.checked_add(len))
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| invalid(CborError::LengthBeyondEnd, start))?;
        self.at = end;
        self.bytes
            .get(start..end)
            .ok_or_else(|| invalid(CborError::LengthBeyondEnd, start))
    }

    fn uint_be(&mut self, n: u64) -> Result<u64, PayloadError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// The argument of a head with additional information `ai` (0..=27):
    /// flags a longer form than the value needs.
    fn argument(&mut self, ai: u8) -> Result<u64, PayloadError> {
        let (value, shortest_min) = match ai {
            0..=23 => (u64::from(ai), 0),
            24 => (self.uint_be(1)?, 24),
            25 => (self.uint_be(2)?, 0x100),
            26 => (self.uint_be(4)?, 0x1_0000),
            _ => (self.uint_be(8)?, 0x1_0000_0000),
        };
        if value < shortest_min {
            self.canonical = false;
        }
        Ok(value)
    }

    /// A head: major type, additional information, and where it started.
    fn head(&mut self) -> Result<(u8, u8, usize), PayloadError> {
        let at = self.at;
        let initial = self.byte()?;
        let ai = initial & 0x1f;
        if (28..=30).contains(&ai) {
            return Err(invalid(CborError::ReservedAdditionalInfo, at));
        }
        Ok((initial >> 5, ai, at))
    }

    fn enter(&mut self) -> Result<(), PayloadError> {
        if self.open >= MAX_OPEN {
            return Err(PayloadError::TooDeep(crate::payload::MAX_EXTENSION_DEPTH));
        }
        self.open += 1;
        Ok(())
    }

    /// Whether the next byte is a break, consuming it if so.
    fn at_break(&mut self) -> bool {
        if self.bytes.get(self.at) == Some(&BREAK) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn item(&mut self) -> Result<Value, PayloadError> {
        let (major, ai, at) = self.head()?;
        match major {
            0 | 1 if ai == 31 => Err(invalid(CborError::IndefiniteInteger, at)),
            0 => Ok(Value::Integer(self.argument(ai)?.into())),
            1 => {
                let n = self.argument(ai)?;
                Ok(Value::Integer(negative(n)))
            }
            2 => Ok(Value::Bytes(self.string(2, ai)?)),
            3 => {
                let bytes = self.string(3, ai)?;
                Ok(Value::Text(
                    String::from_utf8(bytes).map_err(|_| invalid(CborError::InvalidUtf8, at))?,
                ))
            }
            4 => {
                self.enter()?;
                let mut items = Vec::new();
                if ai == 31 {
                    self.canonical = false;
                    while !self.at_break() {
                        items.push(self.item()?);
                    }
                } else {
                    for _ in 0..self.argument(ai)? {
                        items.push(self.item()?);
                    }
                }
                self.open -= 1;
                Ok(Value::Array(items))
            }
            5 => {
                self.enter()?;
                let mut entries = Vec::new();
                if ai == 31 {
                    self.canonical = false;
                    while !self.at_break() {
                        let key = self.item()?;
                        entries.push((key, self.item()?));
                    }
                } else {
                    for _ in 0..self.argument(ai)? {
                        let key = self.item()?;
                        entries.push((key, self.item()?));
                    }
                }
                self.open -= 1;
                Ok(Value::Map(entries))
            }
            6 if ai == 31 => Err(invalid(CborError::IndefiniteTag, at)),
            6 => {
                let tag = self.argument(ai)?;
                let content = self.bytes.get(self.at).map(|b| b >> 5);
                if (tag == 2 || tag == 3) && content == Some(2) {
                    return self.bignum(tag);
                }
                self.enter()?;
                let inner = self.item()?;
                self.open -= 1;
                Ok(Value::Tag(tag, Box::new(inner)))
            }
            _ => self.simple_or_float(ai, at),
        }
    }

    /// A byte or text string's content: definite, or the chunks of an
    /// indefinite-length string, each a definite-length string of the same
    /// major type (text chunks each valid UTF-8 on their own).
    fn string(&mut self, major: u8, ai: u8) -> Result<Vec<u8>, PayloadError> {
        if ai != 31 {
            let len = self.argument(ai)?;
            return Ok(self.take(len)?.to_vec());
        }
        self.canonical = false;
        let mut out = Vec::new();
        while !self.at_break() {
            let (chunk_major, chunk_ai, chunk_at) = self.head()?;
            if chunk_major != major || chunk_ai == 31 {
                return Err(invalid(CborError::BadStringChunk, chunk_at));
            }
            let len = self.argument(chunk_ai)?;
            let chunk = self.take(len)?;
            if major == 3 && core::str::from_utf8(chunk).is_err() {
                return Err(invalid(CborError::InvalidUtf8, chunk_at));
            }
            out.extend_from_slice(chunk);
        }
        Ok(out)
    }

    /// Tag 2 or 3 around a byte string. A value in the 64-bit integer range, or
    /// a byte string with a leading zero byte, is not in its shortest form.
    fn bignum(&mut self, tag: u64) -> Result<Value, PayloadError> {
        let (_, ai, _) = self.head()?;
        let bytes = self.string(2, ai)?;
        let significant = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        let digits = bytes.get(significant..).unwrap_or_default();
        if significant > 0 {
            self.canonical = false;
        }
        if digits.len() <= 8 {
            self.canonical = false;
            let n = digits
                .iter()
                .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            return Ok(Value::Integer(if tag == 2 {
                n.into()
            } else {
                negative(n)
            }));
        }
        Ok(Value::Tag(tag, Box::new(Value::Bytes(bytes))))
    }

    fn simple_or_float(&mut self, ai: u8, at: usize) -> Result<Value, PayloadError> {
        match ai {
            20 => Ok(Value::Bool(false)),
            21 => Ok(Value::Bool(true)),
            22 => Ok(Value::Null),
            23 => {
                // `undefined` has no value of its own here; it reads as null.
                self.canonical = false;
                Ok(Value::Null)
            }
            24 => {
                let value = self.byte()?;
                Err(invalid(
                    if value < 32 {
                        CborError::ShortSimpleInTwoBytes
                    } else {
                        CborError::UnassignedSimple
                    },
                    at,
                ))
            }
            25 => {
                let bits = self.uint_be(2)?;
                let bits = u16::try_from(bits).unwrap_or(u16::MAX);
                if half_is_nan(bits) && bits != CANONICAL_NAN {
                    self.canonical = false;
                }
                Ok(Value::Float(half_to_f64(bits)))
            }
            26 => {
                let bits = u32::try_from(self.uint_be(4)?).unwrap_or(u32::MAX);
                let x = f64::from(f32::from_bits(bits));
                if x.is_nan() || fits_half(x) {
                    self.canonical = false;
                }
                Ok(Value::Float(x))
            }
            27 => {
                let x = f64::from_bits(self.uint_be(8)?);
                if x.is_nan() || f64::from(x as f32) == x {
                    self.canonical = false;
                }
                Ok(Value::Float(x))
            }
            31 => Err(invalid(CborError::UnexpectedBreak, at)),
            _ => Err(invalid(CborError::UnassignedSimple, at)),
        }
    }
}

/// The CBOR negative integer with argument `n`: −1 − n.
fn negative(n: u64) -> Integer {
    let value = -1 - i128::from(n);
    // −2^64 ..= −1 is inside ciborium's integer range.
    Integer::try_from(value).unwrap_or_else(|_| Integer::from(i64::MIN))
}

/// The one NaN encoding that is deterministic: half precision 0x7e00.
const CANONICAL_NAN: u16 = 0x7e00;

fn half_is_nan(bits: u16) -> bool {
    bits & 0x7c00 == 0x7c00 && bits & 0x03ff != 0
}

fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((bits >> 10) & 0x1f);
    let mantissa = f64::from(bits & 0x03ff);
    sign * match exponent {
        0 => mantissa * 2f64.powi(-24),
        31 if mantissa == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1024.0 + mantissa) * 2f64.powi(e - 25),
    }
}

/// Whether a (non-NaN) value is exactly a half-precision float.
fn fits_half(x: f64) -> bool {
    let a = x.abs();
    if a == 0.0 || a.is_infinite() {
        return true;
    }
    if a > 65504.0 {
        return false;
    }
    if a < 2f64.powi(-14) {
        // Subnormal halves are the multiples of 2^-24 below 2^-14.
        return (a * 2f64.powi(24)).fract() == 0.0;
    }
    // Normal halves have 10 mantissa bits: the low 42 of the double's are zero.
    x.to_bits() & ((1u64 << 42) - 1) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(bytes: &[u8]) -> &'static str {
        match read(bytes) {
            Err(e) => e.kind(),
            Ok(r) if r.used != bytes.len() => "trailing-bytes",
            Ok(r) if !r.canonical => "non-canonical-cbor",
            Ok(_) => "ok",
        }
    }

    /// The typed fault and offset of a payload that is not well-formed.
    fn fault(bytes: &[u8]) -> Option<(CborError, usize)> {
        match read(bytes) {
            Err(PayloadError::InvalidCbor { kind, at }) => Some((kind, at)),
            _ => None,
        }
    }

    #[test]
    fn each_malformation_gives_its_cbor_error_and_offset() {
        use CborError::*;
        let cases: &[(&[u8], CborError, usize)] = &[
            // A map of one pair whose value is missing, or whose value's
            // argument or content is cut off (offset: where it should be).
            (&[0xa1, 0x01], Truncated, 2),
            (&[0xa1, 0x01, 0x19, 0x01], LengthBeyondEnd, 3),
            (&[0xa1, 0x01, 0x43, 0x00], LengthBeyondEnd, 3),
            (&[0x82, 0x01, 0x1c], ReservedAdditionalInfo, 2),
            (&[0x1f], IndefiniteInteger, 0),
            (&[0x81, 0xdf, 0x00], IndefiniteTag, 1),
            (&[0x82, 0x00, 0x62, 0xc3, 0x28], InvalidUtf8, 2),
            (&[0x5f, 0x41, 0x00, 0x61, 0x41, 0xff], BadStringChunk, 3),
            (&[0x81, 0xf8, 0x10], ShortSimpleInTwoBytes, 1),
            (&[0xf8, 0x20], UnassignedSimple, 0),
            (&[0xe0], UnassignedSimple, 0),
            (&[0x82, 0x01, 0xff], UnexpectedBreak, 2),
        ];
        let found: Vec<_> = cases.iter().map(|(bytes, _, _)| fault(bytes)).collect();
        let expected: Vec<_> = cases
            .iter()
            .map(|(_, kind, at)| Some((*kind, *at)))
            .collect();
        assert_eq!(found, expected);
        let e = read(&[0x82, 0x01, 0xff]).map(|_| ()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid CBOR: a break where an item is expected at byte 2"
        );
        assert_eq!(e.kind(), "invalid-cbor");
    }

    #[test]
    fn two_byte_simple_values_are_not_well_formed() {
        // f8 00 .. f8 1f are not well-formed (RFC 8949 §3.3), including
        // f8 14 .. f8 17, the long forms of false, true, null and undefined.
        for b in 0..=0x1f {
            assert_eq!(kind(&[0xf8, b]), "invalid-cbor", "f8 {b:02x}");
        }
        // f8 20 .. f8 ff are unassigned simple values.
        for b in 0x20..=0xff {
            assert_eq!(kind(&[0xf8, b]), "invalid-cbor", "f8 {b:02x}");
        }
        for b in 0xe0..=0xf3 {
            assert_eq!(kind(&[b]), "invalid-cbor", "{b:02x}");
        }
        assert_eq!(kind(&[0xf4]), "ok");
        assert_eq!(kind(&[0xf6]), "ok");
        assert_eq!(kind(&[0xf7]), "non-canonical-cbor");
    }

    #[test]
    fn nested_indefinite_chunks_are_not_well_formed() {
        assert_eq!(kind(&[0x5f, 0x5f, 0x41, 0x00, 0xff, 0xff]), "invalid-cbor");
        assert_eq!(kind(&[0x7f, 0x7f, 0x61, 0x41, 0xff, 0xff]), "invalid-cbor");
        assert_eq!(kind(&[0x5f, 0x61, 0x41, 0xff]), "invalid-cbor");
        assert_eq!(kind(&[0x5f, 0x01, 0xff]), "invalid-cbor");
        // A UTF-8 character split across two chunks.
        assert_eq!(kind(&[0x7f, 0x61, 0xc3, 0x61, 0xa4, 0xff]), "invalid-cbor");
        // Well-formed indefinite strings and containers are only non-canonical.
        assert_eq!(kind(&[0x5f, 0x41, 0x00, 0xff]), "non-canonical-cbor");
        assert_eq!(kind(&[0x5f, 0xff]), "non-canonical-cbor");
        assert_eq!(kind(&[0x9f, 0x01, 0xff]), "non-canonical-cbor");
        // Unterminated.
        assert_eq!(kind(&[0x5f, 0x41, 0x00]), "invalid-cbor");
    }

    #[test]
    fn other_malformations() {
        assert_eq!(kind(&[0xff]), "invalid-cbor");
        assert_eq!(kind(&[0x1f]), "invalid-cbor");
        assert_eq!(kind(&[0x3f]), "invalid-cbor");
        assert_eq!(kind(&[0xdf, 0x00]), "invalid-cbor");
        for ai in 28..=30 {
            for major in 0..8u8 {
                assert_eq!(kind(&[major << 5 | ai]), "invalid-cbor");
            }
        }
        assert_eq!(kind(&[0x62, 0xc3, 0x28]), "invalid-cbor");
        assert_eq!(
            kind(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            "invalid-cbor"
        );
        assert_eq!(
            kind(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            "invalid-cbor"
        );
        assert_eq!(kind(&[]), "invalid-cbor");
    }

    #[test]
    fn nesting_limit() {
        let nested = |n: usize| [vec![0x81; n], vec![0x00]].concat();
        assert_eq!(kind(&nested(MAX_OPEN)), "ok");
        assert_eq!(kind(&nested(MAX_OPEN + 1)), "too-deep");
        // Tags count; bignums do not.
        let tagged = [vec![0x81; MAX_OPEN - 1], vec![0xc1, 0x00]].concat();
        assert_eq!(kind(&tagged), "ok");
        let tagged = [vec![0x81; MAX_OPEN], vec![0xc1, 0x00]].concat();
        assert_eq!(kind(&tagged), "too-deep");
        let big = [vec![0x81; MAX_OPEN], vec![0xc2, 0x49], vec![1; 9]].concat();
        assert_eq!(kind(&big), "ok");
        // A malformation before the limit is reached is reported first.
        assert_eq!(kind(&[0x82, 0x1c, 0x81, 0x81]), "invalid-cbor");
    }

    #[test]
    fn bignums() {
        // In the 64-bit range (with or without leading zeros): the integer form is
        // the deterministic one.
        assert_eq!(kind(&[0xc2, 0x40]), "non-canonical-cbor");
        assert_eq!(kind(&[0xc2, 0x41, 0x01]), "non-canonical-cbor");
        assert_eq!(
            kind(&[0xc2, 0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            "non-canonical-cbor"
        );
        assert_eq!(
            kind(&[0xc3, 0x48, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            "non-canonical-cbor"
        );
        // Outside it: a tag like any other (refused later by where it is).
        let big = [vec![0xc2, 0x49], vec![1; 9]].concat();
        assert_eq!(kind(&big), "ok");
        assert!(matches!(read(&big).map(|r| r.value), Ok(Value::Tag(2, _))));
        let neg = [vec![0xc3, 0x51], vec![0xff; 17]].concat();
        assert_eq!(kind(&neg), "ok");
        // A leading zero byte is never the shortest form.
        let padded = [vec![0xc2, 0x4a, 0x00], vec![1; 9]].concat();
        assert_eq!(kind(&padded), "non-canonical-cbor");
        // Tag 2 around something else is an ordinary tag.
        assert_eq!(kind(&[0xc2, 0x61, 0x41]), "ok");
    }

    #[test]
    fn floats() {
        assert_eq!(kind(&[0xf9, 0x3c, 0x00]), "ok");
        assert_eq!(kind(&[0xfa, 0x3f, 0x80, 0, 0]), "non-canonical-cbor");
        assert_eq!(
            kind(&[0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]),
            "non-canonical-cbor"
        );
        assert_eq!(kind(&[0xfa, 0x3f, 0x8c, 0xcc, 0xcd]), "ok"); // 1.1f32
        assert_eq!(kind(&[0xf9, 0x00, 0x01]), "ok"); // smallest subnormal half
        assert_eq!(kind(&[0xfa, 0x33, 0x80, 0, 0]), "non-canonical-cbor"); // 2^-24
        assert_eq!(kind(&[0xfa, 0x7f, 0x80, 0, 0]), "non-canonical-cbor"); // inf
        assert_eq!(kind(&[0xf9, 0x80, 0x00]), "ok"); // -0
        assert_eq!(kind(&[0xfa, 0x80, 0, 0, 0]), "non-canonical-cbor"); // -0 single
        assert_eq!(kind(&[0xfa, 0x47, 0x7f, 0xe0, 0x00]), "non-canonical-cbor"); // 65504
        assert_eq!(kind(&[0xfa, 0x47, 0x7f, 0xf0, 0x00]), "ok"); // 65520
        // NaN: only f9 7e00.
        assert_eq!(kind(&[0xf9, 0x7e, 0x00]), "ok");
        assert_eq!(kind(&[0xf9, 0x7e, 0x01]), "non-canonical-cbor");
        assert_eq!(kind(&[0xf9, 0xfe, 0x00]), "non-canonical-cbor");
        assert_eq!(kind(&[0xf9, 0x7c, 0x01]), "non-canonical-cbor");
        assert_eq!(kind(&[0xfa, 0x7f, 0xc0, 0, 0]), "non-canonical-cbor");
        assert_eq!(kind(&[0xfa, 0x7f, 0xc0, 0, 1]), "non-canonical-cbor");
        assert_eq!(
            kind(&[0xfb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]),
            "non-canonical-cbor"
        );
        // Every canonical float re-encodes to itself (the caller's second check).
        for bytes in [
            &[0xf9, 0x3c, 0x00][..],
            &[0xf9, 0x7e, 0x00],
            &[0xf9, 0x00, 0x01],
            &[0xf9, 0x80, 0x00],
            &[0xfa, 0x47, 0x7f, 0xf0, 0x00],
            &[0xfb, 0x3f, 0xf1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a],
        ] {
            let value = read(bytes).map(|r| r.value).unwrap_or(Value::Null);
            assert_eq!(crate::cbor::to_vec(&value), bytes);
        }
    }

    #[test]
    fn non_minimal_heads() {
        assert_eq!(kind(&[0x18, 0x17]), "non-canonical-cbor");
        assert_eq!(kind(&[0x18, 0x18]), "ok");
        assert_eq!(kind(&[0x19, 0x00, 0xff]), "non-canonical-cbor");
        assert_eq!(kind(&[0x1a, 0x00, 0x00, 0xff, 0xff]), "non-canonical-cbor");
        assert_eq!(
            kind(&[0x1b, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            "non-canonical-cbor"
        );
        assert_eq!(kind(&[0x1b, 0, 0, 0, 1, 0, 0, 0, 0]), "ok");
        assert_eq!(kind(&[0x38, 0x00]), "non-canonical-cbor");
        assert_eq!(
            kind(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            "ok"
        );
        assert!(matches!(
            read(&[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).map(|r| r.value),
            Ok(Value::Integer(i)) if i128::from(i) == -(1i128 << 64)
        ));
    }
}
