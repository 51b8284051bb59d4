//! `hallmark inspect`

use std::path::Path;

use hallmark::report::PayloadReport;
use hallmark::{
    AggregationManifest, BatchManifest, BatchReceipt, LineCertificate, RevocationSnapshot,
    SIGNATURE_LEN, Scope, TrustBundle, UnverifiedCode, rfc3339,
};
use serde_json::{Value, json};

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

/// The document `bytes` hold, if any, by the library's strict unverified
/// decoders: each refuses the other types' documents, so the first that
/// accepts the bytes tells their type.
fn document(bytes: &[u8]) -> Option<Document> {
    let signature = hex_encode(bytes.get(bytes.len().checked_sub(SIGNATURE_LEN)?..)?);
    let (kind, checked_by, kid, fields) =
        if let Ok((root, cert)) = LineCertificate::decode_unverified(bytes) {
            (
                "certificate",
                "`hallmark trust add --cert` and `verify --cert` check it",
                root,
                certificate(&cert, Some(root)),
            )
        } else if let Ok(m) = AggregationManifest::decode_unverified(bytes) {
            (
                "aggregation-manifest",
                "`hallmark verify --aggregation` checks it",
                m.kid,
                aggregation(&m),
            )
        } else if let Ok(m) = BatchManifest::decode_unverified(bytes) {
            (
                "batch-manifest",
                "the service checks it when it is registered",
                m.kid,
                manifest(&m),
            )
        } else if let Ok((kid, r)) = BatchReceipt::decode_unverified(bytes) {
            (
                "batch-receipt",
                "`hallmark verify --bundle` checks it",
                kid,
                receipt(&r),
            )
        } else if let Ok((kid, b)) = TrustBundle::decode_unverified(bytes) {
            (
                "trust-bundle",
                "`hallmark verify --bundle` checks it",
                kid,
                bundle(&b),
            )
        } else if let Ok((kid, s)) = RevocationSnapshot::decode_unverified(bytes) {
            (
                "revocation-snapshot",
                "`hallmark verify --revocations` checks it",
                kid,
                snapshot(&s),
            )
        } else {
            return None;
        };
    Some(Document {
        kind,
        checked_by,
        kid: kid.to_string(),
        fields,
        signature,
    })
}

/// A range of serials or counters as people write it: `0–9999`.
fn range(first: u64, last: u64) -> String {
    format!("{first}\u{2013}{last}")
}

fn aggregation(m: &AggregationManifest) -> Value {
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
    json!({
        "parent": m.parent.unit().map(|u| u.to_string()).ok(),
        "bizstep": m.bizstep.to_string(),
        "time": rfc3339(m.time),
        "location": m.location,
        "children": children,
    })
}

fn manifest(m: &BatchManifest) -> Value {
    let batches: Vec<Value> = m
        .batches
        .iter()
        .map(|b| {
            // The decoder refuses an empty batch or one past 2^64-1.
            let last = b.start.saturating_add(b.count.saturating_sub(1));
            json!({
                "counters": range(b.start, last),
                "count": b.count,
                "serials": if b.opaque { "opaque".to_owned() } else { range(b.start, last) },
                "batch": b.batch_key.as_ref().map(|k| k.number),
                "part": b.part,
                "lot": b.lot,
                "date": b.date.to_string(),
                "expiry": b.expiry.map(|d| d.to_string()),
                "minted": rfc3339(b.minted),
            })
        })
        .collect();
    json!({"issued": rfc3339(m.issued), "batches": batches})
}

fn receipt(r: &BatchReceipt) -> Value {
    json!({
        "manifest_digest": hex_encode(&r.manifest),
        "manifest_kid": r.kid.to_string(),
        "registered": rfc3339(r.registered),
        "batches": r.batches,
        "serials": r.serials,
    })
}

/// The four revocation lists of a snapshot or a bundle, by scope.
fn lists(s: &RevocationSnapshot) -> Value {
    let (mut serials, mut ranges, mut lots, mut keys) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for r in s.revocations() {
        let (kid, reason, date) = (r.kid.to_string(), r.reason.as_str(), r.date.to_string());
        match &r.scope {
            Scope::Serial(serial) => serials.push(
                json!({"kid": kid, "serial": serial, "reason": reason, "date": date}),
            ),
            Scope::Range { first, last } => ranges.push(
                json!({"kid": kid, "serials": range(*first, *last), "reason": reason, "date": date}),
            ),
            Scope::Lot(lot) => {
                lots.push(json!({"kid": kid, "lot": lot, "reason": reason, "date": date}))
            }
            Scope::Key { from } => keys.push(
                json!({"kid": kid, "from": from.to_string(), "reason": reason, "date": date}),
            ),
            // A snapshot cannot carry one; a bundle lists them apart.
            Scope::Compromise { .. } => {}
        }
    }
    json!({"serials": serials, "ranges": ranges, "lots": lots, "keys": keys})
}

fn snapshot(s: &RevocationSnapshot) -> Value {
    let mut v = lists(s);
    if let Some(map) = v.as_object_mut() {
        map.insert("sequence".to_owned(), json!(s.sequence));
        map.insert("issued".to_owned(), json!(rfc3339(s.issued)));
    }
    v
}

fn bundle(b: &TrustBundle) -> Value {
    let certificates: Vec<Value> = b
        .certificates
        .iter()
        .map(|c| {
            LineCertificate::decode_unverified(c)
                .ok()
                .map_or(Value::Null, |(root, cert)| certificate(&cert, Some(root)))
        })
        .collect();
    let summary = |bytes: &[u8]| {
        document(bytes).map_or(Value::Null, |d| json!({"kid": d.kid, "document": d.fields}))
    };
    let batches: Vec<Value> = b
        .batches
        .iter()
        .map(|(m, r)| json!({"manifest": summary(m), "receipt": summary(r)}))
        .collect();
    let compromised: Vec<Value> = b
        .compromises
        .iter()
        .map(|c| json!({"kid": c.kid.to_string(), "at": rfc3339(c.at), "date": c.date.to_string()}))
        .collect();
    json!({
        "sequence": b.sequence,
        "issued": rfc3339(b.issued),
        "certificates": certificates,
        "batches": batches,
        "revocations": lists(&b.revocations),
        "compromised": compromised,
    })
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
        "issued": rfc3339(cert.issued),
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

#[cfg(test)]
mod tests {
    use hallmark::aggregation::{BizStep, Child, Parent};
    use hallmark::{Compromise, KeyId, ManifestBatch, Reason, UnsignedDocument};

    use super::*;

    /// Nothing is verified, so any 64 bytes pass for a signature.
    fn signed(doc: UnsignedDocument) -> Vec<u8> {
        doc.into_signed(&[7; SIGNATURE_LEN])
    }

    #[test]
    fn each_document_is_told_by_its_own_decoder() {
        let (line, registry) = (KeyId::from_bytes([1; 4]), KeyId::from_bytes([2; 4]));
        let day = |s: &str| s.parse::<hallmark::Date>().unwrap();
        let manifest = signed(
            BatchManifest {
                kid: line,
                issued: 1_780_000_000,
                batches: vec![ManifestBatch {
                    start: 100,
                    count: 10,
                    part: "DRN-2980".into(),
                    lot: "L1".into(),
                    date: day("2026-06-01"),
                    expiry: Some(day("2028-06-01")),
                    opaque: false,
                    minted: 1_780_000_000,
                    batch_key: None,
                }],
            }
            .to_unsigned(),
        );
        let receipt = signed(
            BatchReceipt {
                manifest: BatchReceipt::digest(&manifest),
                kid: line,
                registered: 1_780_000_100,
                batches: 1,
                serials: 10,
            }
            .to_unsigned(registry),
        );
        let mut revocations = RevocationSnapshot::new(5, 1_785_000_000);
        let revoke = |s: &mut RevocationSnapshot, scope| {
            s.add(line, scope, Reason::Recalled, day("2026-11-01"))
                .unwrap()
        };
        revoke(&mut revocations, Scope::Serial(42));
        revoke(
            &mut revocations,
            Scope::Range {
                first: 0,
                last: 9999,
            },
        );
        revoke(&mut revocations, Scope::Lot("L7".into()));
        revoke(
            &mut revocations,
            Scope::Key {
                from: day("2026-10-01"),
            },
        );
        let snapshot = signed(revocations.to_unsigned(registry));
        let bundle = signed(
            TrustBundle {
                sequence: 3,
                issued: 1_785_000_000,
                certificates: vec![vec![1; 100]],
                batches: vec![(manifest.clone(), receipt.clone())],
                revocations: revocations.clone(),
                compromises: vec![Compromise {
                    kid: line,
                    at: 1_781_000_000,
                    date: day("2026-07-02"),
                }],
            }
            .to_unsigned(registry),
        );
        // The demo code of the crate's docs: decoded, never verified.
        let code = "0630-hcdq-mg01-m1tv-smag-2t24-a972-tchs-70r0-4tjc-68sk-2chh-68pk-0c83-356f-fx0a-nvqr-trzf-qz5t-qv6w-pghq-jk82-wbzv-4vj8-6213-x7s0-naq9-4ey8-srqv-mypg-1565-7fj4-saqx-zq5w-pthy-9brx-ctxm-5a1t-m3rm-tcqd-hr7g";
        let aggregation = signed(
            AggregationManifest {
                kid: line,
                parent: Parent::from_scan("sscc:106141411234567897").unwrap(),
                children: vec![Child::from_scan(code).unwrap()],
                time: 1_780_000_000,
                bizstep: BizStep::Packing,
                location: None,
            }
            .to_unsigned()
            .unwrap(),
        );

        let doc = |bytes: &[u8]| document(bytes).unwrap();
        let m = doc(&manifest);
        assert_eq!((m.kind, m.kid.as_str()), ("batch-manifest", "01010101"));
        let batch = &m.fields["batches"][0];
        assert_eq!(batch["serials"], "100\u{2013}109", "{}", m.fields);
        assert_eq!(batch["expiry"], "2028-06-01", "{}", m.fields);
        assert_eq!(batch["batch"], Value::Null, "{}", m.fields);
        assert_eq!(m.signature, "07".repeat(SIGNATURE_LEN));

        let r = doc(&receipt);
        assert_eq!((r.kind, r.kid.as_str()), ("batch-receipt", "02020202"));
        assert_eq!(r.fields["manifest_kid"], "01010101", "{}", r.fields);
        assert_eq!(r.fields["serials"], 10, "{}", r.fields);
        assert_eq!(r.fields["registered"], rfc3339(1_780_000_100));

        let s = doc(&snapshot);
        assert_eq!(s.kind, "revocation-snapshot");
        assert_eq!(s.fields["sequence"], 5, "{}", s.fields);
        assert_eq!(s.fields["serials"][0]["serial"], 42, "{}", s.fields);
        assert_eq!(s.fields["ranges"][0]["serials"], "0\u{2013}9999");
        assert_eq!(s.fields["lots"][0]["lot"], "L7", "{}", s.fields);
        assert_eq!(s.fields["keys"][0]["from"], "2026-10-01", "{}", s.fields);
        assert_eq!(s.fields["keys"][0]["reason"], "recalled", "{}", s.fields);

        let b = doc(&bundle);
        assert_eq!((b.kind, b.kid.as_str()), ("trust-bundle", "02020202"));
        assert_eq!(b.fields["sequence"], 3, "{}", b.fields);
        assert_eq!(
            b.fields["certificates"][0],
            Value::Null,
            "not a certificate"
        );
        let pair = &b.fields["batches"][0];
        assert_eq!(pair["manifest"]["kid"], "01010101", "{}", b.fields);
        assert_eq!(pair["receipt"]["document"]["batches"], 1, "{}", b.fields);
        assert_eq!(b.fields["revocations"]["keys"], s.fields["keys"]);
        assert_eq!(b.fields["revocations"]["lots"], s.fields["lots"]);
        assert_eq!(b.fields["compromised"][0]["date"], "2026-07-02");

        let a = doc(&aggregation);
        assert_eq!(a.kind, "aggregation-manifest");
        assert_eq!(a.fields["bizstep"], "packing", "{}", a.fields);
        assert_eq!(a.fields["children"].as_array().map(Vec::len), Some(1));

        for bad in [&manifest[..manifest.len() - 1], &[1u8; 100][..], &[][..]] {
            assert!(document(bad).is_none());
        }
    }
}
