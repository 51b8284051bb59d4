//! The payload: a deterministic CBOR map with small unsigned integer keys.

use ciborium::Value;

use crate::Date;
use crate::cbor::{as_u64, parse_canonical, to_vec};
use crate::error::{Error, FieldError, PayloadError};

/// Map key of the serial number.
pub const KEY_SERIAL: u64 = 0;
/// Map key of the part number.
pub const KEY_PART: u64 = 1;
/// Map key of the lot.
pub const KEY_LOT: u64 = 2;
/// Map key of the date of manufacture.
pub const KEY_DATE: u64 = 3;
/// Map key of the optional expiry date.
pub const KEY_EXPIRY: u64 = 4;
/// The smallest extension key: keys at or above it are extension fields.
pub const FIRST_EXTENSION_KEY: u64 = 5;

/// Longest part number or lot, in bytes.
pub const MAX_LABEL_LEN: usize = 64;
/// Deepest nesting of arrays and maps inside an extension value.
pub const MAX_EXTENSION_DEPTH: usize = 4;

/// The signed facts of one unit.
///
/// ```
/// use hallmark::{Date, Payload};
/// let p = Payload::new(123_456_789, "DRN-2980", "L231212-01", "2023-12-12".parse()?)?;
/// assert_eq!(p.to_cbor().len(), 33);
/// assert_eq!(Payload::from_cbor(&p.to_cbor())?, p);
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    serial: u64,
    part: String,
    lot: String,
    date: Date,
    expiry: Option<Date>,
    extensions: Vec<Extension>,
}

/// An extension field: a key of 5 or more and any allowed CBOR value.
///
/// Verifiers that do not know a key skip it; the signature still covers it.
#[derive(Clone, Debug)]
pub struct Extension {
    key: u64,
    value: Value,
}

impl PartialEq for Extension {
    fn eq(&self, other: &Extension) -> bool {
        // Values are canonical, so equal encodings mean equal values.
        self.key == other.key && to_vec(&self.value) == to_vec(&other.value)
    }
}

impl Eq for Extension {}

impl Extension {
    /// An extension from a key and the deterministic CBOR encoding of its value.
    pub fn from_cbor(key: u64, value_cbor: &[u8]) -> Result<Extension, Error> {
        if key < FIRST_EXTENSION_KEY {
            return Err(FieldError::InvalidField {
                field: "extension",
                reason: "extension keys start at 5",
            }
            .into());
        }
        let value = parse_canonical(value_cbor)?;
        check_value(&value, 0)?;
        Ok(Extension { key, value })
    }

    /// A text-valued extension (for example a GTIN).
    pub fn text(key: u64, text: &str) -> Result<Extension, Error> {
        Extension::from_cbor(key, &to_vec(&Value::Text(text.to_owned())))
    }

    /// The extension's key.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// The deterministic CBOR encoding of the value.
    pub fn value_cbor(&self) -> Vec<u8> {
        to_vec(&self.value)
    }
}

impl Payload {
    /// A payload with no expiry and no extensions.
    ///
    /// Part number and lot must be 1 to 64 printable ASCII characters
    /// (space to `~`) without leading or trailing spaces.
    pub fn new(serial: u64, part: &str, lot: &str, date: Date) -> Result<Payload, Error> {
        let check = |field, s: &str| {
            check_label(field, s).map_err(|e| match e {
                PayloadError::InvalidValue { field, reason } => {
                    Error::Field(FieldError::InvalidField { field, reason })
                }
                other => Error::Payload(other),
            })
        };
        check("part", part)?;
        check("lot", lot)?;
        Ok(Payload {
            serial,
            part: part.to_owned(),
            lot: lot.to_owned(),
            date,
            expiry: None,
            extensions: Vec::new(),
        })
    }

    /// A GS1 unit's facts in this shape (docs/FORMAT.md §21.4): the values
    /// were validated by the GS1 dictionary, so the v1 label rules (a lot is
    /// never empty) do not apply.
    pub(crate) fn gs1(
        serial: u64,
        gtin: &str,
        lot: &str,
        date: Date,
        expiry: Option<Date>,
    ) -> Payload {
        Payload {
            serial,
            part: gtin.to_owned(),
            lot: lot.to_owned(),
            date,
            expiry,
            extensions: Vec::new(),
        }
    }

    /// Sets the expiry date, which may not precede the date of manufacture.
    pub fn with_expiry(mut self, expiry: Date) -> Result<Payload, Error> {
        if expiry < self.date {
            return Err(FieldError::InvalidField {
                field: "expiry",
                reason: "expiry precedes the date of manufacture",
            }
            .into());
        }
        self.expiry = Some(expiry);
        Ok(self)
    }

    /// Adds an extension field; its key must not already be present.
    pub fn with_extension(mut self, extension: Extension) -> Result<Payload, Error> {
        if self.extensions.iter().any(|e| e.key == extension.key) {
            return Err(FieldError::InvalidField {
                field: "extension",
                reason: "duplicate extension key",
            }
            .into());
        }
        self.extensions.push(extension);
        self.extensions.sort_by_key(|e| e.key);
        Ok(self)
    }

    /// The serial number, unique per issuer key.
    pub fn serial(&self) -> u64 {
        self.serial
    }
    /// The part number.
    pub fn part(&self) -> &str {
        &self.part
    }
    /// The lot (batch) label.
    pub fn lot(&self) -> &str {
        &self.lot
    }
    /// The date of manufacture.
    pub fn date(&self) -> Date {
        self.date
    }
    /// The expiry date, if any.
    pub fn expiry(&self) -> Option<Date> {
        self.expiry
    }
    /// Extension fields, in key order.
    pub fn extensions(&self) -> &[Extension] {
        &self.extensions
    }

    /// The deterministic CBOR encoding (the bytes that are signed).
    pub fn to_cbor(&self) -> Vec<u8> {
        to_vec(&Value::Map(self.entries()))
    }

    /// The map's entries in encoding order: the serial first, extensions last.
    pub(crate) fn entries(&self) -> Vec<(Value, Value)> {
        let int = |n: u64| Value::Integer(n.into());
        let mut map = vec![
            (int(KEY_SERIAL), int(self.serial)),
            (int(KEY_PART), Value::Text(self.part.clone())),
            (int(KEY_LOT), Value::Text(self.lot.clone())),
            (int(KEY_DATE), int(self.date.days().into())),
        ];
        if let Some(expiry) = self.expiry {
            map.push((int(KEY_EXPIRY), int(expiry.days().into())));
        }
        for ext in &self.extensions {
            map.push((int(ext.key), ext.value.clone()));
        }
        map
    }

    /// Decodes a payload, accepting only its one deterministic encoding.
    pub fn from_cbor(bytes: &[u8]) -> Result<Payload, Error> {
        Ok(decode(bytes)?)
    }
}

/// Allowed extension values: integers, byte and text strings, booleans, null,
/// and arrays and maps of these, nested at most [`MAX_EXTENSION_DEPTH`] deep.
fn check_value(value: &Value, depth: usize) -> Result<(), PayloadError> {
    if depth > MAX_EXTENSION_DEPTH {
        return Err(PayloadError::TooDeep(MAX_EXTENSION_DEPTH));
    }
    match value {
        Value::Integer(_) | Value::Bytes(_) | Value::Text(_) | Value::Bool(_) | Value::Null => {
            Ok(())
        }
        Value::Float(_) => Err(PayloadError::Unsupported("a floating-point number is")),
        Value::Tag(..) => Err(PayloadError::Unsupported("a tag is")),
        Value::Array(items) => items.iter().try_for_each(|v| check_value(v, depth + 1)),
        Value::Map(entries) => entries.iter().try_for_each(|(k, v)| {
            check_value(k, depth + 1)?;
            check_value(v, depth + 1)
        }),
        _ => Err(PayloadError::Unsupported("this CBOR item is")),
    }
}

pub(crate) fn check_label(field: &'static str, s: &str) -> Result<(), PayloadError> {
    let invalid = |reason| Err(PayloadError::InvalidValue { field, reason });
    if s.is_empty() {
        return invalid("must not be empty");
    }
    if s.len() > MAX_LABEL_LEN {
        return invalid("longer than 64 bytes");
    }
    if !s.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return invalid("only printable ASCII (space to ~) is allowed");
    }
    if s.starts_with(' ') || s.ends_with(' ') {
        return invalid("no leading or trailing spaces");
    }
    Ok(())
}

fn decode(bytes: &[u8]) -> Result<Payload, PayloadError> {
    let value = parse_canonical(bytes)?;
    let Value::Map(entries) = value else {
        return Err(PayloadError::NotAMap);
    };
    let mut fields: [Option<Value>; 5] = Default::default();
    let mut extensions = Vec::new();
    for (k, v) in entries {
        let key = as_u64(&k).ok_or(PayloadError::KeyNotUnsigned)?;
        match fields.get_mut(usize::try_from(key).unwrap_or(usize::MAX)) {
            Some(slot) => *slot = Some(v),
            None => {
                check_value(&v, 0)?;
                extensions.push(Extension { key, value: v });
            }
        }
    }
    let [serial, part, lot, date, expiry] = fields;
    let uint = |field, v: Option<Value>| match v {
        None => Err(PayloadError::MissingField(field)),
        Some(v) => as_u64(&v).ok_or(PayloadError::WrongType {
            field,
            expected: "an unsigned integer",
        }),
    };
    let text = |field, v: Option<Value>| match v {
        None => Err(PayloadError::MissingField(field)),
        Some(Value::Text(s)) => {
            check_label(field, &s)?;
            Ok(s)
        }
        Some(_) => Err(PayloadError::WrongType {
            field,
            expected: "a text string",
        }),
    };
    let date_of = |field, v| {
        Date::from_days(uint(field, Some(v))?).ok_or(PayloadError::InvalidValue {
            field,
            reason: "after 9999-12-31",
        })
    };
    let serial = uint("serial", serial)?;
    let part = text("part", part)?;
    let lot = text("lot", lot)?;
    let date = date_of("date", date.ok_or(PayloadError::MissingField("date"))?)?;
    let expiry = expiry.map(|v| date_of("expiry", v)).transpose()?;
    Ok(Payload {
        serial,
        part,
        lot,
        date,
        expiry,
        extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Payload {
        let date = Date::from_ymd(2023, 12, 12).unwrap_or(Date::EPOCH);
        Payload::new(123_456_789, "DRN-2980", "L231212-01", date).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sample_is_33_bytes_and_round_trips() {
        let p = sample();
        let bytes = p.to_cbor();
        assert_eq!(bytes.len(), 33);
        assert_eq!(Payload::from_cbor(&bytes), Ok(p));
    }

    fn err(bytes: &[u8]) -> &'static str {
        match Payload::from_cbor(bytes) {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        }
    }

    #[test]
    fn non_deterministic_cbor_refused() {
        // {0:1, 1:"A", 2:"B", 3:2}
        let good = [
            0xa4, 0x00, 0x01, 0x01, 0x61, 0x41, 0x02, 0x61, 0x42, 0x03, 0x02,
        ];
        assert_eq!(err(&good), "ok");
        // Long-form integer for the serial.
        assert_eq!(
            err(&[
                0xa4, 0x00, 0x18, 0x01, 0x01, 0x61, 0x41, 0x02, 0x61, 0x42, 0x03, 0x02
            ]),
            "non-canonical-cbor"
        );
        // Indefinite-length map.
        assert_eq!(
            err(&[
                0xbf, 0x00, 0x01, 0x01, 0x61, 0x41, 0x02, 0x61, 0x42, 0x03, 0x02, 0xff
            ]),
            "non-canonical-cbor"
        );
        // Indefinite-length text.
        assert_eq!(
            err(&[
                0xa4, 0x00, 0x01, 0x01, 0x7f, 0x61, 0x41, 0xff, 0x02, 0x61, 0x42, 0x03, 0x02
            ]),
            "non-canonical-cbor"
        );
        // Unsorted keys.
        assert_eq!(
            err(&[
                0xa4, 0x01, 0x61, 0x41, 0x00, 0x01, 0x02, 0x61, 0x42, 0x03, 0x02
            ]),
            "unsorted-keys"
        );
        // Duplicate key.
        assert_eq!(
            err(&[
                0xa5, 0x00, 0x01, 0x00, 0x01, 0x01, 0x61, 0x41, 0x02, 0x61, 0x42, 0x03, 0x02
            ]),
            "duplicate-key"
        );
        // Serial as text.
        assert_eq!(
            err(&[
                0xa4, 0x00, 0x61, 0x31, 0x01, 0x61, 0x41, 0x02, 0x61, 0x42, 0x03, 0x02
            ]),
            "wrong-type"
        );
        // Missing date.
        assert_eq!(
            err(&[0xa3, 0x00, 0x01, 0x01, 0x61, 0x41, 0x02, 0x61, 0x42]),
            "missing-field"
        );
        // Trailing byte.
        let mut trailing = good.to_vec();
        trailing.push(0x00);
        assert_eq!(err(&trailing), "trailing-bytes");
        // Truncated.
        assert_eq!(
            err(good.get(..good.len() - 1).unwrap_or(&[])),
            "invalid-cbor"
        );
        // Negative key.
        assert_eq!(
            err(&[
                0xa5, 0x00, 0x01, 0x01, 0x61, 0x41, 0x02, 0x61, 0x42, 0x03, 0x02, 0x20, 0x00
            ]),
            "key-not-unsigned"
        );
        // Float extension.
        assert_eq!(
            err(&[
                0xa5, 0x00, 0x01, 0x01, 0x61, 0x41, 0x02, 0x61, 0x42, 0x03, 0x02, 0x05, 0xf9, 0x3c,
                0x00
            ]),
            "unsupported-cbor"
        );
        // A huge declared length does not allocate or panic.
        assert_eq!(
            err(&[
                0xa1, 0x05, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
            ]),
            "invalid-cbor"
        );
        // Deep nesting.
        let mut deep = vec![
            0xa5, 0x00, 0x01, 0x01, 0x61, 0x41, 0x02, 0x61, 0x42, 0x03, 0x02, 0x05,
        ];
        deep.extend([0x81; 64]);
        deep.push(0x00);
        assert_eq!(err(&deep), "too-deep");
    }

    #[test]
    fn extensions_round_trip_and_are_skipped() {
        let p = sample()
            .with_extension(Extension::text(5, "09506000134352").unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        let bytes = p.to_cbor();
        let back = Payload::from_cbor(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.extensions().len(), 1);
        assert_eq!(back, p);
    }
}
