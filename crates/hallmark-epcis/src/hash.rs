//! The CBV 2.0 event hash (CBV 2.0 §8.9, "EPCIS Event Hash ID"): a canonical
//! pre-hash string of the event's fields in a fixed order, hashed with SHA-256
//! and written as an RFC 6920 `ni:` URI.
//!
//! Written from the algorithm's description (CBV 2.0 and the README of
//! RalphTro/epcis-event-hash-generator); the vectors in `tests/vectors/` come
//! from that project's test files.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::{EpcisError, HALLMARK_NS, time};

/// Fields that do not take part in the hash.
const IGNORED: &[&str] = &[
    "type",
    "eventID",
    "recordTime",
    "errorDeclaration",
    "@context",
];

/// A list field of identifiers and the element name each entry takes.
const EPC_LISTS: &[&str] = &["epcList", "inputEPCList", "childEPCs", "outputEPCList"];

/// The canonical property order (after `eventType`).
const ORDER: &[&str] = &[
    "eventTime",
    "eventTimeZoneOffset",
    "certificationInfo",
    "parentID",
    "epcList",
    "inputEPCList",
    "childEPCs",
    "quantityList",
    "childQuantityList",
    "inputQuantityList",
    "outputEPCList",
    "outputQuantityList",
    "action",
    "transformationID",
    "bizStep",
    "disposition",
    "persistentDisposition",
    "readPoint",
    "bizLocation",
    "bizTransactionList",
    "sourceList",
    "destinationList",
    "sensorElementList",
    "ilmd",
];

/// The CBV 2.0 event hash of one EPCIS 2.0 JSON(-LD) event:
/// `ni:///sha-256;<64 hex>?ver=CBV2.0`.
///
/// Extension fields (`prefix:name`) are resolved with the event's own
/// `@context` if it has one, else with the prefixes `gs1`, `cbv`, `epcis`
/// and `hallmark`. `eventID`, `recordTime` and `errorDeclaration` are left
/// out, so an event's hash can be its `eventID`. `sensorElementList` is not
/// supported (hallmark does not export sensor data) and is refused.
///
/// ```
/// let event = serde_json::json!({
///     "type": "ObjectEvent",
///     "eventTime": "2019-10-21T14:45:00Z",
///     "eventTimeZoneOffset": "+01:00",
///     "epcList": ["https://id.gs1.org/00/040123451111111127"],
///     "action": "OBSERVE",
///     "bizStep": "inspecting",
///     "disposition": "in_progress",
///     "readPoint": {"id": "https://id.gs1.org/414/4012345000245/254/1"}
/// });
/// assert_eq!(
///     hallmark_epcis::event_hash(&event).unwrap(),
///     "ni:///sha-256;b3d481c5590757ab8361a6cb0e924820feb3b61eb568e7d7703f21a96f76f51d?ver=CBV2.0"
/// );
/// ```
pub fn event_hash(event: &Value) -> Result<String, EpcisError> {
    let pre = pre_hash_string(event)?;
    Ok(format!(
        "ni:///sha-256;{}?ver=CBV2.0",
        hex::encode(Sha256::digest(pre.as_bytes()))
    ))
}

/// The canonical pre-hash string [`event_hash`] hashes.
pub fn pre_hash_string(event: &Value) -> Result<String, EpcisError> {
    let obj = event.as_object().ok_or(EpcisError::NotAnObject)?;
    let event_type = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or(EpcisError::Missing("type"))?;
    let prefixes = prefixes(obj.get("@context"));
    let mut out = format!("eventType={event_type}");
    for &field in ORDER {
        let Some(value) = obj.get(field) else {
            continue;
        };
        out.push_str(&standard_field(field, value, &prefixes)?);
    }
    let mut extensions = Vec::new();
    for (key, value) in obj {
        if ORDER.contains(&key.as_str()) || IGNORED.contains(&key.as_str()) {
            continue;
        }
        extensions.extend(extension(key, value, &prefixes)?);
    }
    extensions.sort();
    out.push_str(&extensions.concat());
    Ok(out)
}

/// Prefix → namespace: the built-in ones, overridden by an `@context`'s objects.
fn prefixes(context: Option<&Value>) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = [
        ("gs1", "https://gs1.org/voc/"),
        ("cbv", "https://ref.gs1.org/cbv/"),
        ("epcis", "https://ref.gs1.org/epcis/"),
        ("hallmark", HALLMARK_NS),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut add = |v: &Value| {
        if let Some(obj) = v.as_object() {
            for (k, ns) in obj {
                if let Some(ns) = ns.as_str() {
                    map.insert(k.clone(), ns.to_owned());
                }
            }
        }
    };
    match context {
        Some(Value::Array(items)) => items.iter().for_each(&mut add),
        Some(v) => add(v),
        None => {}
    }
    map
}

fn bad(field: &str, why: &str) -> EpcisError {
    EpcisError::BadField {
        field: field.to_owned(),
        why: why.to_owned(),
    }
}

fn as_str<'a>(field: &str, v: &'a Value) -> Result<&'a str, EpcisError> {
    v.as_str().ok_or_else(|| bad(field, "expected a string"))
}

fn as_array<'a>(field: &str, v: &'a Value) -> Result<&'a [Value], EpcisError> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| bad(field, "expected an array"))
}

fn standard_field(
    field: &str,
    value: &Value,
    prefixes: &BTreeMap<String, String>,
) -> Result<String, EpcisError> {
    Ok(match field {
        "eventTime" => format!("{field}={}", timestamp(field, value)?),
        "eventTimeZoneOffset" | "action" | "transformationID" => {
            format!("{field}={}", as_str(field, value)?.trim())
        }
        "certificationInfo" | "parentID" => {
            format!("{field}={}", canonical_id(as_str(field, value)?))
        }
        f if EPC_LISTS.contains(&f) => {
            let mut epcs = as_array(field, value)?
                .iter()
                .map(|e| Ok(format!("epc={}", canonical_id(as_str(field, e)?))))
                .collect::<Result<Vec<_>, EpcisError>>()?;
            if epcs.is_empty() {
                return Ok(String::new());
            }
            epcs.sort();
            format!("{field}{}", epcs.concat())
        }
        "quantityList" | "childQuantityList" | "inputQuantityList" | "outputQuantityList" => {
            let mut elements = Vec::new();
            for element in as_array(field, value)? {
                let element = element
                    .as_object()
                    .ok_or_else(|| bad(field, "expected objects"))?;
                let mut s = String::from("quantityElement");
                if let Some(class) = element.get("epcClass") {
                    s += &format!("epcClass={}", canonical_id(as_str(field, class)?));
                }
                if let Some(q) = element.get("quantity") {
                    s += &format!("quantity={}", number(field, q)?);
                }
                if let Some(uom) = element.get("uom") {
                    s += &format!("uom={}", as_str(field, uom)?.trim());
                }
                elements.push(s);
            }
            if elements.is_empty() {
                return Ok(String::new());
            }
            elements.sort();
            format!("{field}{}", elements.concat())
        }
        "bizStep" => format!("{field}={}", vocabulary("BizStep-", as_str(field, value)?)),
        "disposition" => format!("{field}={}", vocabulary("Disp-", as_str(field, value)?)),
        "persistentDisposition" => {
            let obj = value
                .as_object()
                .ok_or_else(|| bad(field, "expected an object"))?;
            let mut s = String::new();
            for key in ["set", "unset"] {
                let Some(list) = obj.get(key) else { continue };
                let mut items = as_array(field, list)?
                    .iter()
                    .map(|d| Ok(format!("{key}={}", vocabulary("Disp-", as_str(field, d)?))))
                    .collect::<Result<Vec<_>, EpcisError>>()?;
                items.sort();
                s += &items.concat();
            }
            if s.is_empty() {
                return Ok(s);
            }
            format!("{field}{s}")
        }
        "readPoint" | "bizLocation" => {
            let obj = value
                .as_object()
                .ok_or_else(|| bad(field, "expected an object"))?;
            let id = obj.get("id").ok_or_else(|| bad(field, "no id"))?;
            let mut s = format!("{field}id={}", canonical_id(as_str(field, id)?));
            let mut extensions = Vec::new();
            for (key, v) in obj {
                if key != "id" {
                    extensions.extend(extension(key, v, prefixes)?);
                }
            }
            extensions.sort();
            s += &extensions.concat();
            s
        }
        "bizTransactionList" | "sourceList" | "destinationList" => {
            let (item, types) = match field {
                "bizTransactionList" => ("bizTransaction", "BTT-"),
                "sourceList" => ("source", "SDT-"),
                _ => ("destination", "SDT-"),
            };
            let mut items = Vec::new();
            for entry in as_array(field, value)? {
                let entry = entry
                    .as_object()
                    .ok_or_else(|| bad(field, "expected objects"))?;
                let mut s = String::new();
                if let Some(t) = entry.get("type") {
                    s += &format!("type={}", vocabulary(types, as_str(field, t)?));
                }
                let id = entry
                    .get(item)
                    .ok_or_else(|| bad(field, "an entry without its id"))?;
                s += &format!("{item}={}", canonical_id(as_str(field, id)?));
                items.push(s);
            }
            if items.is_empty() {
                return Ok(String::new());
            }
            items.sort();
            format!("{field}{}", items.concat())
        }
        "ilmd" => {
            let obj = value
                .as_object()
                .ok_or_else(|| bad(field, "expected an object"))?;
            let mut extensions = Vec::new();
            for (key, v) in obj {
                extensions.extend(extension(key, v, prefixes)?);
            }
            extensions.sort();
            format!("{field}{}", extensions.concat())
        }
        _ => return Err(EpcisError::Unsupported(field.to_owned())),
    })
}

/// A user extension field (`prefix:name` or a full IRI) as pre-hash pieces:
/// `{namespace}name=value`, or the key followed by its sorted children for an
/// object; a list gives one piece per entry.
fn extension(
    key: &str,
    value: &Value,
    prefixes: &BTreeMap<String, String>,
) -> Result<Vec<String>, EpcisError> {
    let name = expand_key(key, prefixes)?;
    Ok(match value {
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(extension(key, item, prefixes)?);
            }
            out
        }
        Value::Object(obj) => vec![format!("{name}{}", object_children(obj, prefixes)?)],
        Value::String(s) => {
            let s = canonical_value(s.trim());
            if s.is_empty() {
                vec![name]
            } else {
                vec![format!("{name}={s}")]
            }
        }
        Value::Number(_) => vec![format!("{name}={}", number(key, value)?)],
        Value::Bool(b) => vec![format!("{name}={b}")],
        Value::Null => vec![name],
    })
}

fn object_children(
    obj: &Map<String, Value>,
    prefixes: &BTreeMap<String, String>,
) -> Result<String, EpcisError> {
    let mut pieces = Vec::new();
    for (k, v) in obj {
        if k == "@context" {
            continue;
        }
        pieces.extend(extension(k, v, prefixes)?);
    }
    pieces.sort();
    Ok(pieces.concat())
}

/// `prefix:local` → `{namespace}local`; a full IRI splits after its last `/` or `#`.
fn expand_key(key: &str, prefixes: &BTreeMap<String, String>) -> Result<String, EpcisError> {
    if key.contains("://") {
        let at = key.rfind(['/', '#']).map_or(key.len(), |i| i + 1);
        let (ns, local) = key.split_at(at);
        return Ok(format!("{{{ns}}}{local}"));
    }
    let (prefix, local) = key
        .split_once(':')
        .ok_or_else(|| EpcisError::Unsupported(key.to_owned()))?;
    let ns = prefixes
        .get(prefix)
        .ok_or_else(|| EpcisError::UnknownPrefix(prefix.to_owned()))?;
    Ok(format!("{{{ns}}}{local}"))
}

fn timestamp(field: &str, v: &Value) -> Result<String, EpcisError> {
    let s = as_str(field, v)?.trim();
    let ms = time::parse_millis(s).ok_or_else(|| bad(field, "not an RFC 3339 date-time"))?;
    Ok(time::format_millis(ms))
}

/// A number without trailing zeros (`1`, not `1.0`).
fn number(field: &str, v: &Value) -> Result<String, EpcisError> {
    let n = match v {
        Value::Number(n) => n.clone(),
        Value::String(s) => s
            .trim()
            .parse::<serde_json::Number>()
            .map_err(|_| bad(field, "not a number"))?,
        _ => return Err(bad(field, "not a number")),
    };
    if n.is_u64() || n.is_i64() {
        return Ok(n.to_string());
    }
    let f = n.as_f64().ok_or_else(|| bad(field, "not a number"))?;
    if f.fract() == 0.0 && f.abs() < 1e15 {
        // Exact: the value is integral and well inside i64.
        return Ok(format!("{}", f as i64));
    }
    Ok(format!("{f}"))
}

/// A CBV vocabulary value: a bare word becomes its Web URI; an old
/// `urn:epcglobal:cbv:` URN its Web URI equivalent.
fn vocabulary(kind: &str, s: &str) -> String {
    let s = s.trim();
    if !s.contains(':') {
        return format!("https://ref.gs1.org/cbv/{kind}{s}");
    }
    canonical_value(s)
}

/// Old CBV URNs to Web URIs, then identifiers to canonical Digital Link.
fn canonical_value(s: &str) -> String {
    for (urn, web) in [
        (
            "urn:epcglobal:cbv:bizstep:",
            "https://ref.gs1.org/cbv/BizStep-",
        ),
        ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
        ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
        ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
        ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
    ] {
        if let Some(rest) = s.strip_prefix(urn) {
            return format!("{web}{rest}");
        }
    }
    canonical_id(s)
}

/// An identifier in its canonical form: EPC URNs (SGTIN, SSCC, SGLN, LGTIN)
/// as `https://id.gs1.org/...`, a Digital Link on another host moved to
/// `id.gs1.org` without its query; anything else (hallmark's URNs) as it is.
pub(crate) fn canonical_id(s: &str) -> String {
    let s = s.trim();
    if let Some(dl) = crate::epc_urn_to_dl(s) {
        return dl;
    }
    for scheme in ["https://", "http://"] {
        if let Some(rest) = s.strip_prefix(scheme)
            && let Some((_host, path)) = rest.split_once('/')
        {
            let path = path.split(['?', '#']).next().unwrap_or(path);
            let ai = path.split('/').next().unwrap_or("");
            if GS1_KEYS.contains(&ai) {
                return format!("https://id.gs1.org/{path}");
            }
        }
    }
    s.to_owned()
}

/// GS1 primary keys a Digital Link path starts with.
const GS1_KEYS: &[&str] = &[
    "00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017",
    "8018",
];
