//! `hallmark inspect`

use std::path::Path;

use hallmark::{Date, LineCertificate, UnverifiedCode};
use serde_json::{Value, json};

use hallmark::report::PayloadReport;

use crate::output::hex_encode;
use crate::{EXIT_NOT_GENUINE, EXIT_OK, Result};

/// Show what a code or a signed file claims, WITHOUT verifying it.
///
/// The output is marked UNVERIFIED: anyone can make a code or file that
/// decodes. Use `hallmark verify` to know whether a code is genuine. Exits 1
/// if the code or file does not even decode.
///
/// A path that exists is read as a file: a batch manifest (`hallmark batches
/// export`), a revocation snapshot (`hallmark revocations build` or `pull`),
/// a line certificate (`hallmark cert issue`), a trust bundle (`hallmark
/// trust pull`), a batch receipt or an aggregation manifest (`hallmark
/// aggregate`); its type is told by its contents. Anything else is a code.
///
/// Examples:
///   hallmark inspect --json 01ABC...
///   hallmark inspect revocations.bin
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// The code (any accepted spelling, or a verification URL), or a file.
    #[arg(value_name = "CODE|FILE")]
    code: String,
}

pub(crate) fn run(args: Args) -> Result<u8> {
    let path = Path::new(&args.code);
    if path.is_file() {
        return file(path, args.json);
    }
    let code = match UnverifiedCode::decode(&args.code) {
        Ok(code) => code,
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    json!({"verified": false, "verdict": e.verdict(), "error": e.kind(), "reason": e.to_string()})
                );
            } else {
                eprintln!("hallmark: {}: {e}", e.verdict());
            }
            return Ok(EXIT_NOT_GENUINE);
        }
    };
    let p = code.payload();
    if args.json {
        let value = json!({
            "verified": false,
            "status": "UNVERIFIED",
            "code": code.to_text(),
            "version": hallmark::VERSION,
            "kid": code.kid().to_string(),
            "payload": PayloadReport::from(p),
            "signature": hex_encode(code.signature()),
        });
        println!("{value}");
    } else {
        println!(
            "UNVERIFIED: what this code claims; its signature has NOT been checked (use `hallmark verify`)."
        );
        println!("code:      {}", code.to_text());
        println!("version:   {}", hallmark::VERSION);
        println!("kid:       {}", code.kid());
        println!("serial:    {}", p.serial());
        println!("part:      {}", p.part());
        println!("lot:       {}", p.lot());
        println!("date:      {}", p.date());
        println!(
            "expiry:    {}",
            p.expiry().map_or("none".to_owned(), |d| d.to_string())
        );
        for e in p.extensions() {
            println!("ext {:<5}  {} (CBOR)", e.key(), hex_encode(&e.value_cbor()));
        }
        println!("signature: {}", hex_encode(code.signature()));
    }
    Ok(EXIT_OK)
}

/// `inspect FILE`: a signed document, its type told by its contents.
fn file(path: &Path, json: bool) -> Result<u8> {
    let bytes = crate::read_bounded(path, hallmark::MAX_BUNDLE_BYTES, "the file to inspect")?;
    let Some(doc) = document(&bytes) else {
        let reason = "not a code, nor a signed hallmark file (manifest, revocation snapshot, \
                      certificate, trust bundle, receipt, aggregation manifest)";
        if json {
            println!(
                "{}",
                json!({"verified": false, "verdict": "malformed", "reason": reason})
            );
        } else {
            eprintln!("hallmark: {}: {reason}", path.display());
        }
        return Ok(EXIT_NOT_GENUINE);
    };
    if json {
        println!(
            "{}",
            json!({
                "verified": false,
                "status": "UNVERIFIED",
                "type": doc.kind,
                "file": path.display().to_string(),
                "kid": doc.kid,
                "document": doc.fields,
                "signature": doc.signature,
            })
        );
    } else {
        println!(
            "UNVERIFIED: what this {} claims; its signature has NOT been checked ({}).",
            doc.kind.replace('-', " "),
            doc.checked_by
        );
        println!("type:       {}", doc.kind);
        println!("kid:        {} (the signer named)", doc.kid);
        let mut text = String::new();
        render(&doc.fields, 0, &mut text);
        print!("{text}");
        println!("signature:  {}", doc.signature);
    }
    Ok(EXIT_OK)
}

/// A decoded document: its type, signer's key id, fields and signature.
struct Document {
    kind: &'static str,
    /// The command that verifies it, for the UNVERIFIED line.
    checked_by: &'static str,
    kid: String,
    fields: Value,
    signature: String,
}

/// The document `bytes` hold, if any: certificates and aggregation
/// manifests by the library's own unverified decoders, the other types by
/// their framing (`version || kid || body || signature`, docs/FORMAT.md §14)
/// and the keys of their CBOR body.
fn document(bytes: &[u8]) -> Option<Document> {
    let signature = hex_encode(bytes.get(bytes.len().checked_sub(64)?..)?);
    if let Ok((root, cert)) = LineCertificate::decode_unverified(bytes) {
        return Some(Document {
            kind: "certificate",
            checked_by: "`hallmark trust add --cert` and `verify --cert` check it",
            kid: root.to_string(),
            fields: certificate(&cert, Some(root)),
            signature,
        });
    }
    if let Ok(m) = hallmark::AggregationManifest::decode_unverified(bytes) {
        let children: Vec<Value> = m
            .children
            .iter()
            .map(|c| {
                json!(
                    c.unit()
                        .ok()
                        .flatten()
                        .map_or_else(|| c.scan_text().unwrap_or_default(), |u| u.to_string())
                )
            })
            .collect();
        return Some(Document {
            kind: "aggregation-manifest",
            checked_by: "`hallmark verify --aggregation` checks it",
            kid: m.kid.to_string(),
            fields: json!({
                "parent": m.parent.unit().map(|u| u.to_string()).ok(),
                "bizstep": m.bizstep.to_string(),
                "time": hallmark::rfc3339(m.time),
                "location": m.location,
                "children": children,
            }),
            signature,
        });
    }
    if bytes.len() < 70 || bytes.first() != Some(&hallmark::VERSION) {
        return None;
    }
    let kid = hex_encode(bytes.get(1..5)?);
    let body = bytes.get(5..bytes.len() - 64)?;
    let Cbor::Map(top) = Cbor::parse(body)? else {
        return None;
    };
    let keys: Vec<u64> = top.iter().filter_map(|(k, _)| k.uint()).collect();
    let (kind, checked_by, fields) = match keys.as_slice() {
        [0, 1] => (
            "batch-manifest",
            "the service checks it when it is registered",
            manifest(&top)?,
        ),
        [0, 1, 2, 3, 4] => (
            "batch-receipt",
            "`hallmark verify --bundle` checks it",
            receipt(&top)?,
        ),
        [0, 1, 2, 3, 4, 5] if matches!(get(&top, 4), Some(Cbor::Map(_))) => (
            "trust-bundle",
            "`hallmark verify --bundle` checks it",
            bundle(&top)?,
        ),
        [0, 1, 2, 3, 4, 5] => (
            "revocation-snapshot",
            "`hallmark verify --revocations` checks it",
            snapshot(&top)?,
        ),
        _ => return None,
    };
    Some(Document {
        kind,
        checked_by,
        kid,
        fields,
        signature,
    })
}

/// A range of serials or counters as people write it: `0–9999`.
fn range(first: u64, last: u64) -> String {
    format!("{first}\u{2013}{last}")
}

/// A day number (days since 1970-01-01) as a date.
fn day(c: Option<&Cbor>) -> Option<String> {
    c.and_then(Cbor::uint)
        .and_then(Date::from_days)
        .map(|d| d.to_string())
}

/// A revocation reason's name.
fn reason(c: Option<&Cbor>) -> Option<&'static str> {
    c.and_then(Cbor::uint)
        .and_then(hallmark::Reason::from_code)
        .map(|r| r.as_str())
}

fn time(c: Option<&Cbor>) -> Option<String> {
    c.and_then(Cbor::uint).map(hallmark::rfc3339)
}

fn manifest(top: &[(Cbor, Cbor)]) -> Option<Value> {
    let Some(Cbor::Array(items)) = get(top, 1) else {
        return None;
    };
    let mut batches = Vec::new();
    for item in items {
        let Cbor::Map(b) = item else { return None };
        let start = get(b, 0)?.uint()?;
        let count = get(b, 1)?.uint()?;
        let last = start.saturating_add(count.saturating_sub(1));
        let opaque = matches!(get(b, 6), Some(Cbor::Bool(true)));
        let number = match get(b, 8) {
            Some(Cbor::Array(k)) => k.first().and_then(Cbor::uint),
            _ => None,
        };
        batches.push(json!({
            "counters": range(start, last),
            "count": count,
            "serials": if opaque { "opaque".to_owned() } else { range(start, last) },
            "batch": number,
            "part": get(b, 2)?.text(),
            "lot": get(b, 3)?.text(),
            "date": day(get(b, 4)),
            "expiry": day(get(b, 5)),
            "minted": time(get(b, 7)),
        }));
    }
    Some(json!({"issued": time(get(top, 0)), "batches": batches}))
}

fn receipt(top: &[(Cbor, Cbor)]) -> Option<Value> {
    Some(json!({
        "manifest_digest": get(top, 0)?.bytes().map(hex_encode),
        "manifest_kid": get(top, 1)?.bytes().map(hex_encode),
        "registered": time(get(top, 2)),
        "batches": get(top, 3)?.uint(),
        "serials": get(top, 4)?.uint(),
    }))
}

/// The revocation lists (keys 2 to 5 of a snapshot or a bundle's map).
fn lists(top: &[(Cbor, Cbor)]) -> Option<Value> {
    let entries = |key: u64| -> Option<Vec<Vec<Cbor>>> {
        match get(top, key)? {
            Cbor::Array(items) => items
                .iter()
                .map(|i| match i {
                    Cbor::Array(f) => Some(f.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    };
    let kid = |f: &[Cbor]| f.first().and_then(Cbor::bytes).map(hex_encode);
    let serials: Vec<Value> = entries(2)?
        .iter()
        .map(|f| {
            json!({"kid": kid(f), "serial": f.get(1).and_then(Cbor::uint),
                   "reason": reason(f.get(2)), "date": day(f.get(3))})
        })
        .collect();
    let ranges: Vec<Value> = entries(3)?
        .iter()
        .map(|f| {
            let first = f.get(1).and_then(Cbor::uint).unwrap_or_default();
            let last = f.get(2).and_then(Cbor::uint).unwrap_or_default();
            json!({"kid": kid(f), "serials": range(first, last),
                   "reason": reason(f.get(3)), "date": day(f.get(4))})
        })
        .collect();
    let lots: Vec<Value> = entries(4)?
        .iter()
        .map(|f| {
            json!({"kid": kid(f), "lot": f.get(1).and_then(Cbor::text),
                   "reason": reason(f.get(2)), "date": day(f.get(3))})
        })
        .collect();
    let keys: Vec<Value> = entries(5)?
        .iter()
        .map(|f| {
            json!({"kid": kid(f), "from": day(f.get(1)),
                   "reason": reason(f.get(2)), "date": day(f.get(3))})
        })
        .collect();
    Some(json!({"serials": serials, "ranges": ranges, "lots": lots, "keys": keys}))
}

fn snapshot(top: &[(Cbor, Cbor)]) -> Option<Value> {
    let mut v = lists(top)?;
    let map = v.as_object_mut()?;
    map.insert("sequence".to_owned(), json!(get(top, 0)?.uint()));
    map.insert("issued".to_owned(), json!(time(get(top, 1))));
    Some(v)
}

fn bundle(top: &[(Cbor, Cbor)]) -> Option<Value> {
    let Some(Cbor::Array(certs)) = get(top, 2) else {
        return None;
    };
    let certificates: Vec<Value> = certs
        .iter()
        .map(|c| {
            c.bytes()
                .and_then(|b| LineCertificate::decode_unverified(b).ok())
                .map_or(Value::Null, |(root, cert)| certificate(&cert, Some(root)))
        })
        .collect();
    let Some(Cbor::Array(pairs)) = get(top, 3) else {
        return None;
    };
    let batches: Vec<Value> = pairs
        .iter()
        .map(|pair| {
            let part = |i: usize| match pair {
                Cbor::Array(p) => p.get(i).and_then(Cbor::bytes).and_then(document),
                _ => None,
            };
            let summary = |d: Option<Document>| {
                d.map_or(Value::Null, |d| json!({"kid": d.kid, "document": d.fields}))
            };
            json!({"manifest": summary(part(0)), "receipt": summary(part(1))})
        })
        .collect();
    let Some(Cbor::Map(revocations)) = get(top, 4) else {
        return None;
    };
    let Some(Cbor::Array(compromised)) = get(top, 5) else {
        return None;
    };
    let compromised: Vec<Value> = compromised
        .iter()
        .map(|c| match c {
            Cbor::Array(f) => json!({
                "kid": f.first().and_then(Cbor::bytes).map(hex_encode),
                "at": time(f.get(1)),
                "date": day(f.get(2)),
            }),
            _ => Value::Null,
        })
        .collect();
    Some(json!({
        "sequence": get(top, 0)?.uint(),
        "issued": time(get(top, 1)),
        "certificates": certificates,
        "batches": batches,
        "revocations": lists(revocations)?,
        "compromised": compromised,
    }))
}

fn certificate(cert: &LineCertificate, root: Option<hallmark::KeyId>) -> Value {
    let c = &cert.constraints;
    let patterns = |p: &[hallmark::Pattern]| -> Vec<String> {
        p.iter().map(|p| p.as_str().to_owned()).collect()
    };
    json!({
        "name": cert.name,
        "subject_kid": cert.subject.kid().to_string(),
        "root_kid": root.map(|k| k.to_string()),
        "valid_from": cert.valid_from.to_string(),
        "valid_until": cert.valid_until.to_string(),
        "usage": cert.usage.to_string(),
        "issued": hallmark::rfc3339(cert.issued),
        "parts": patterns(&c.parts),
        "lots": patterns(&c.lots),
        "serials": c.serials.iter().map(|&(a, b)| range(a, b)).collect::<Vec<_>>(),
        "gs1_prefixes": c.gs1_prefixes,
        "max_count": c.max_count,
    })
}

/// JSON as indented `key: value` lines for people (lists one item a line).
fn render(value: &Value, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(_) => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        render(v, depth + 1, out);
                    }
                    Value::Array(items) if items.iter().any(|i| i.is_object()) => {
                        out.push_str(&format!("{pad}{k}: {}\n", items.len()));
                        for (i, item) in items.iter().enumerate() {
                            out.push_str(&format!("{pad}  #{}\n", i + 1));
                            render(item, depth + 2, out);
                        }
                    }
                    v => out.push_str(&format!("{pad}{:<12}{}\n", format!("{k}:"), scalar(v))),
                }
            }
        }
        v => out.push_str(&format!("{pad}{}\n", scalar(v))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "none".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "none".to_owned(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        v => v.to_string(),
    }
}

/// The CBOR of a document body, read only to show it (never trusted):
/// definite lengths, nesting and lengths bounded by the input.
#[derive(Clone, Debug)]
enum Cbor {
    Uint(u64),
    Other,
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Bool(bool),
}

/// Deepest nesting read.
const MAX_DEPTH: usize = 16;

impl Cbor {
    /// The one item `bytes` hold (trailing bytes refused).
    fn parse(bytes: &[u8]) -> Option<Cbor> {
        let mut pos = 0;
        let item = Cbor::item(bytes, &mut pos, 0)?;
        (pos == bytes.len()).then_some(item)
    }

    fn take<'b>(bytes: &'b [u8], pos: &mut usize, n: u64) -> Option<&'b [u8]> {
        let n = usize::try_from(n).ok()?;
        let out = bytes.get(*pos..pos.checked_add(n)?)?;
        *pos += n;
        Some(out)
    }

    fn item(bytes: &[u8], pos: &mut usize, depth: usize) -> Option<Cbor> {
        if depth > MAX_DEPTH {
            return None;
        }
        let first = *Cbor::take(bytes, pos, 1)?.first()?;
        let (major, info) = (first >> 5, first & 31);
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let raw = Cbor::take(bytes, pos, 1 << (info - 24))?;
                raw.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b))
            }
            _ => return None,
        };
        // Every item takes a byte at least: a count past the input is refused.
        let left = (bytes.len() - *pos) as u64;
        Some(match major {
            0 => Cbor::Uint(arg),
            1 => Cbor::Other,
            2 => Cbor::Bytes(Cbor::take(bytes, pos, arg)?.to_vec()),
            3 => Cbor::Text(String::from_utf8(Cbor::take(bytes, pos, arg)?.to_vec()).ok()?),
            4 if arg <= left => {
                let mut items = Vec::new();
                for _ in 0..arg {
                    items.push(Cbor::item(bytes, pos, depth + 1)?);
                }
                Cbor::Array(items)
            }
            5 if arg <= left => {
                let mut items = Vec::new();
                for _ in 0..arg {
                    let k = Cbor::item(bytes, pos, depth + 1)?;
                    items.push((k, Cbor::item(bytes, pos, depth + 1)?));
                }
                Cbor::Map(items)
            }
            6 => {
                Cbor::item(bytes, pos, depth + 1)?;
                Cbor::Other
            }
            7 if info == 20 || info == 21 => Cbor::Bool(info == 21),
            7 => Cbor::Other,
            _ => return None,
        })
    }

    fn uint(&self) -> Option<u64> {
        match self {
            Cbor::Uint(n) => Some(*n),
            _ => None,
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            Cbor::Text(s) => Some(s),
            _ => None,
        }
    }

    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Cbor::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// A map's value under the unsigned key `key`.
fn get(map: &[(Cbor, Cbor)], key: u64) -> Option<&Cbor> {
    map.iter()
        .find(|(k, _)| k.uint() == Some(key))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_reads_what_it_is_given_and_refuses_the_rest() {
        // {0: 1, 1: [h'01', "a", true]}
        let bytes = [0xa2, 0x00, 0x01, 0x01, 0x83, 0x41, 0x01, 0x61, b'a', 0xf5];
        let Some(Cbor::Map(m)) = Cbor::parse(&bytes) else {
            panic!("a map")
        };
        assert_eq!(get(&m, 0).and_then(Cbor::uint), Some(1));
        assert!(Cbor::parse(&bytes[..bytes.len() - 1]).is_none());
        assert!(Cbor::parse(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_none());
        assert!(Cbor::parse(&[0x81; 64]).is_none(), "too deep");
        assert!(Cbor::parse(&[0x01, 0x01]).is_none(), "trailing bytes");
    }
}
