//! RFC 7512 PKCS#11 URIs: which token and key object to sign with.

use std::fmt;
use std::path::PathBuf;

use zeroize::Zeroizing;

/// Why a PKCS#11 URI was refused. Never echoes a `pin-value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The text does not start with `pkcs11:`.
    #[error("a PKCS#11 URI starts with `pkcs11:` (like pkcs11:token=line-1;object=acme-1)")]
    Scheme,
    /// An attribute without `=`.
    #[error("PKCS#11 URI: `{attribute}` has no `=VALUE`")]
    NoValue {
        /// The attribute (cut to 40 characters).
        attribute: String,
    },
    /// An attribute this tool does not know (a typo would otherwise select
    /// another key than intended).
    #[error(
        "PKCS#11 URI: unknown {part} attribute `{attribute}` (known: {known})",
        known = if *part == "path" { PATH_ATTRIBUTES.join(", ") } else { QUERY_ATTRIBUTES.join(", ") }
    )]
    Unknown {
        /// `path` or `query`.
        part: &'static str,
        /// The attribute (cut to 40 characters).
        attribute: String,
    },
    /// An attribute given twice.
    #[error("PKCS#11 URI: `{attribute}` is given twice")]
    Duplicate {
        /// The attribute.
        attribute: &'static str,
    },
    /// A bad value: bad percent-encoding, not UTF-8, not a number, ...
    #[error("PKCS#11 URI: bad `{attribute}`: {reason}")]
    Value {
        /// The attribute.
        attribute: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// Neither `object` nor `id` names the key.
    #[error("PKCS#11 URI: name the key with `object=LABEL` or `id=%01...`")]
    NoObject,
    /// Both `pin-source` and `pin-value`.
    #[error("PKCS#11 URI: give either `pin-source` or `pin-value`, not both")]
    TwoPins,
}

/// The path attributes understood (RFC 7512 section 2.3).
const PATH_ATTRIBUTES: &[&str] = &[
    "token",
    "manufacturer",
    "serial",
    "model",
    "slot-id",
    "slot-description",
    "slot-manufacturer",
    "object",
    "id",
    "type",
];

/// The query attributes understood.
const QUERY_ATTRIBUTES: &[&str] = &["module-path", "pin-source", "pin-value"];

/// A parsed PKCS#11 URI naming one private key: the token (by label,
/// manufacturer, serial, model or slot), the key object (`object` label
/// and/or `id`), the module to load, and where the PIN comes from.
///
/// ```
/// use hallmark_issuer::pkcs11::Pkcs11Uri;
///
/// let uri = Pkcs11Uri::parse("pkcs11:token=Line%201;object=acme-1;id=%01%02?pin-source=file:/etc/pin")?;
/// assert_eq!(uri.token.as_deref(), Some("Line 1"));
/// assert_eq!(uri.object.as_deref(), Some("acme-1"));
/// assert_eq!(uri.id.as_deref(), Some(&[1u8, 2][..]));
/// assert_eq!(uri.pin_source.as_deref(), Some(std::path::Path::new("/etc/pin")));
/// # Ok::<(), hallmark_issuer::pkcs11::UriError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pkcs11Uri {
    /// `token`: the token's label.
    pub token: Option<String>,
    /// `manufacturer`: the token's manufacturer.
    pub manufacturer: Option<String>,
    /// `serial`: the token's serial number.
    pub serial: Option<String>,
    /// `model`: the token's model.
    pub model: Option<String>,
    /// `slot-id`: the slot's number.
    pub slot_id: Option<u64>,
    /// `slot-description`.
    pub slot_description: Option<String>,
    /// `slot-manufacturer`.
    pub slot_manufacturer: Option<String>,
    /// `object`: the key object's label (CKA_LABEL).
    pub object: Option<String>,
    /// `id`: the key object's CKA_ID, raw bytes.
    pub id: Option<Vec<u8>>,
    /// `module-path`: the PKCS#11 module (shared library) to load.
    pub module_path: Option<PathBuf>,
    /// `pin-source=file:PATH`: the PIN is the first line of PATH.
    pub pin_source: Option<PathBuf>,
    /// `pin-value`: the PIN itself (discouraged: it shows in process
    /// listings and shell history). Never printed.
    pub pin_value: Option<Zeroizing<String>>,
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Uri")
            .field("token", &self.token)
            .field("object", &self.object)
            .field("id", &self.id.as_deref().map(hex::encode))
            .field("slot_id", &self.slot_id)
            .field("module_path", &self.module_path)
            .field("pin_source", &self.pin_source)
            .field("pin_value", &self.pin_value.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Pkcs11Uri {
    /// The URI's token and object, for messages (never the PIN).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("pkcs11:")?;
        let mut sep = "";
        for (name, value) in [("token", &self.token), ("object", &self.object)] {
            if let Some(v) = value {
                write!(f, "{sep}{name}={}", encode(v.as_bytes()))?;
                sep = ";";
            }
        }
        if let Some(id) = &self.id {
            write!(f, "{sep}id=")?;
            for b in id {
                write!(f, "%{b:02X}")?;
            }
            sep = ";";
        }
        if let Some(slot) = self.slot_id {
            write!(f, "{sep}slot-id={slot}")?;
        }
        Ok(())
    }
}

/// Percent-encodes all but RFC 3986 unreserved characters.
fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decodes `value` (RFC 3986 section 2.1, as RFC 7512 requires).
fn decode(attribute: &'static str, value: &str) -> Result<Vec<u8>, UriError> {
    let bad = |reason| UriError::Value { attribute, reason };
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .ok_or_else(|| bad("`%` must be followed by two hex digits"))?;
            let text = std::str::from_utf8(hex).map_err(|_| bad("bad percent-encoding"))?;
            out.push(
                u8::from_str_radix(text, 16)
                    .map_err(|_| bad("`%` must be followed by two hex digits"))?,
            );
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_text(attribute: &'static str, value: &str) -> Result<String, UriError> {
    let bytes = decode(attribute, value)?;
    let text = String::from_utf8(bytes).map_err(|_| UriError::Value {
        attribute,
        reason: "not UTF-8 after percent-decoding",
    })?;
    if text.chars().any(char::is_control) {
        return Err(UriError::Value {
            attribute,
            reason: "contains control characters",
        });
    }
    Ok(text)
}

/// The first 40 characters of an attribute name, for errors.
fn cut(s: &str) -> String {
    s.chars().take(40).collect()
}

fn set<T>(slot: &mut Option<T>, attribute: &'static str, value: T) -> Result<(), UriError> {
    if slot.is_some() {
        return Err(UriError::Duplicate { attribute });
    }
    *slot = Some(value);
    Ok(())
}

impl Pkcs11Uri {
    /// Parses a PKCS#11 URI. Refuses unknown attributes, duplicates, bad
    /// percent-encoding, and a URI that names no key object.
    pub fn parse(text: &str) -> Result<Pkcs11Uri, UriError> {
        let rest = text
            .strip_prefix("pkcs11:")
            .ok_or(UriError::Scheme)?
            .trim_end_matches(['\r', '\n']);
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut uri = Pkcs11Uri::default();
        for item in path.split(';').filter(|s| !s.is_empty()) {
            let (name, value) = item.split_once('=').ok_or_else(|| UriError::NoValue {
                attribute: cut(item),
            })?;
            match name {
                "token" => set(&mut uri.token, "token", decode_text("token", value)?)?,
                "manufacturer" => set(
                    &mut uri.manufacturer,
                    "manufacturer",
                    decode_text("manufacturer", value)?,
                )?,
                "serial" => set(&mut uri.serial, "serial", decode_text("serial", value)?)?,
                "model" => set(&mut uri.model, "model", decode_text("model", value)?)?,
                "slot-description" => set(
                    &mut uri.slot_description,
                    "slot-description",
                    decode_text("slot-description", value)?,
                )?,
                "slot-manufacturer" => set(
                    &mut uri.slot_manufacturer,
                    "slot-manufacturer",
                    decode_text("slot-manufacturer", value)?,
                )?,
                "slot-id" => {
                    let text = decode_text("slot-id", value)?;
                    let id = text
                        .parse::<u64>()
                        .ok()
                        .filter(|_| text.bytes().all(|b| b.is_ascii_digit()))
                        .ok_or(UriError::Value {
                            attribute: "slot-id",
                            reason: "must be a decimal number",
                        })?;
                    set(&mut uri.slot_id, "slot-id", id)?;
                }
                "object" => set(&mut uri.object, "object", decode_text("object", value)?)?,
                "id" => {
                    let id = decode("id", value)?;
                    if id.is_empty() {
                        return Err(UriError::Value {
                            attribute: "id",
                            reason: "is empty",
                        });
                    }
                    set(&mut uri.id, "id", id)?;
                }
                "type" => {
                    if decode_text("type", value)? != "private" {
                        return Err(UriError::Value {
                            attribute: "type",
                            reason: "the signing key is a private key: use type=private or leave it out",
                        });
                    }
                }
                other => {
                    return Err(UriError::Unknown {
                        part: "path",
                        attribute: cut(other),
                    });
                }
            }
        }
        for item in query.split('&').filter(|s| !s.is_empty()) {
            let (name, value) = item.split_once('=').ok_or_else(|| UriError::NoValue {
                attribute: cut(item),
            })?;
            match name {
                "module-path" => {
                    let path = decode_text("module-path", value)?;
                    if path.is_empty() {
                        return Err(UriError::Value {
                            attribute: "module-path",
                            reason: "is empty",
                        });
                    }
                    set(&mut uri.module_path, "module-path", PathBuf::from(path))?;
                }
                "pin-source" => {
                    let source = decode_text("pin-source", value)?;
                    let path = source
                        .strip_prefix("file://")
                        .or_else(|| source.strip_prefix("file:"))
                        .unwrap_or(&source);
                    if path.is_empty() || path.starts_with('|') {
                        return Err(UriError::Value {
                            attribute: "pin-source",
                            reason: "must be file:PATH (a file holding the PIN on its first line)",
                        });
                    }
                    set(&mut uri.pin_source, "pin-source", PathBuf::from(path))?;
                }
                "pin-value" => {
                    let pin = Zeroizing::new(decode("pin-value", value)?);
                    let pin = std::str::from_utf8(&pin).map_err(|_| UriError::Value {
                        attribute: "pin-value",
                        reason: "not UTF-8 after percent-decoding",
                    })?;
                    set(
                        &mut uri.pin_value,
                        "pin-value",
                        Zeroizing::new(pin.to_owned()),
                    )?;
                }
                other => {
                    return Err(UriError::Unknown {
                        part: "query",
                        attribute: cut(other),
                    });
                }
            }
        }
        if uri.object.is_none() && uri.id.is_none() {
            return Err(UriError::NoObject);
        }
        if uri.pin_source.is_some() && uri.pin_value.is_some() {
            return Err(UriError::TwoPins);
        }
        Ok(uri)
    }
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Pkcs11Uri, UriError> {
        Pkcs11Uri::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_7512_examples() -> Result<(), UriError> {
        let uri = Pkcs11Uri::parse(
            "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;\
             model=1.0;object=my-certificate;type=private;id=%69%95%3E%5C%F4%BD%EC%91;slot-id=3\
             ?module-path=/mnt/libmypkcs11.so.1&pin-source=file:/etc/token_pin",
        )?;
        assert_eq!(uri.token.as_deref(), Some("The Software PKCS#11 Softtoken"));
        assert_eq!(uri.manufacturer.as_deref(), Some("Snake Oil, Inc."));
        assert_eq!(uri.model.as_deref(), Some("1.0"));
        assert_eq!(
            uri.id.as_deref(),
            Some(&[0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91][..])
        );
        assert_eq!(uri.slot_id, Some(3));
        assert_eq!(
            uri.module_path.as_deref(),
            Some(std::path::Path::new("/mnt/libmypkcs11.so.1"))
        );
        assert_eq!(
            uri.pin_source.as_deref(),
            Some(std::path::Path::new("/etc/token_pin"))
        );
        let uri = Pkcs11Uri::parse("pkcs11:object=k?pin-source=file:///run/pin")?;
        assert_eq!(
            uri.pin_source.as_deref(),
            Some(std::path::Path::new("/run/pin"))
        );
        Ok(())
    }

    #[test]
    fn refuses_bad_uris_naming_the_attribute() {
        let cases: &[(&str, &str)] = &[
            ("token=a;object=b", "starts with `pkcs11:`"),
            ("pkcs11:token=a", "name the key"),
            ("pkcs11:objetc=b", "unknown path attribute `objetc`"),
            ("pkcs11:object=b?pin=1", "unknown query attribute `pin`"),
            ("pkcs11:object=b;object=c", "`object` is given twice"),
            ("pkcs11:object=%zz", "bad `object`"),
            ("pkcs11:object=%4", "bad `object`"),
            ("pkcs11:object=%FF", "bad `object`: not UTF-8"),
            ("pkcs11:object=a%0Ab", "bad `object`: contains control"),
            ("pkcs11:id=", "bad `id`: is empty"),
            ("pkcs11:object=b;slot-id=x", "bad `slot-id`"),
            ("pkcs11:object=b;slot-id=+1", "bad `slot-id`"),
            ("pkcs11:object=b;type=cert", "bad `type`"),
            ("pkcs11:object", "`object` has no `=VALUE`"),
            ("pkcs11:object=b?pin-source=|cat", "bad `pin-source`"),
            (
                "pkcs11:object=b?pin-source=file:/p&pin-value=1",
                "either `pin-source` or `pin-value`",
            ),
        ];
        for (text, wanted) in cases {
            let e = Pkcs11Uri::parse(text).map(drop).err();
            let message = e.map(|e| e.to_string()).unwrap_or_default();
            assert!(
                message.contains(wanted),
                "{text}: {message:?} lacks {wanted:?}"
            );
        }
    }

    #[test]
    fn the_pin_never_shows() -> Result<(), UriError> {
        let uri = Pkcs11Uri::parse("pkcs11:object=k?pin-value=s3cr%65t")?;
        assert_eq!(uri.pin_value.as_deref().map(String::as_str), Some("s3cret"));
        assert!(!format!("{uri:?}").contains("s3cret"));
        assert!(!uri.to_string().contains("s3cret"));
        let e = Pkcs11Uri::parse("pkcs11:object=k?pin-value=s3cret&pin-value=s3cret")
            .map(drop)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!e.contains("s3cret") && e.contains("twice"), "{e}");
        Ok(())
    }

    #[test]
    fn display_round_trips_token_object_and_id() -> Result<(), UriError> {
        let uri = Pkcs11Uri::parse("pkcs11:token=a%20b;object=c%3Bd;id=%01%FF;slot-id=7")?;
        assert_eq!(
            uri.to_string(),
            "pkcs11:token=a%20b;object=c%3Bd;id=%01%FF;slot-id=7"
        );
        assert_eq!(Pkcs11Uri::parse(&uri.to_string())?, uri);
        Ok(())
    }
}
