//! Registry records → an EPCIS 2.0 JSON-LD document.

use serde_json::{Map, Value, json};

use crate::{
    AggregationRecord, BatchRecord, ExportInput, HALLMARK_NS, Id, LinkRecord, StatusRecord,
    class_uri, event_hash, id_uri, time,
};

/// The GS1 EPCIS 2.0 JSON-LD context.
pub const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The EPCISDocument for `input`, created at `created` (seconds since 1970):
/// one event per record, ordered by time, each with its CBV 2.0 event hash as
/// `eventID`. See `docs/EPCIS.md` for the mapping.
///
/// ```
/// use hallmark_epcis::{BatchRecord, ExportInput, document};
/// let input = ExportInput {
///     batches: vec![BatchRecord { time: 1_795_000_000, kid: "0a1b2c3d".into(),
///         part: "DRN-2980".into(), lot: "L1".into(), gtin: None, count: 100 }],
///     ..ExportInput::default()
/// };
/// let doc = document(&input, 1_795_000_100);
/// let event = &doc["epcisBody"]["eventList"][0];
/// assert_eq!(event["bizStep"], "commissioning");
/// assert_eq!(event["quantityList"][0]["quantity"], 100);
/// assert!(event["eventID"].as_str().unwrap().starts_with("ni:///sha-256;"));
/// ```
pub fn document(input: &ExportInput, created: u64) -> Value {
    let mut events: Vec<(u64, Value)> = Vec::new();
    events.extend(input.batches.iter().map(|b| (b.time, commissioning(b))));
    events.extend(input.aggregations.iter().map(|a| (a.time, aggregation(a))));
    for link in &input.links {
        events.push((link.at, assembly(link, "ADD", link.at)));
        if let Some(removed) = link.removed_at {
            events.push((removed, assembly(link, "DELETE", removed)));
        }
    }
    events.extend(input.status_changes.iter().map(|s| (s.time, status(s))));
    // Stable: records of the same second keep the registry's order.
    events.sort_by_key(|(t, _)| *t);
    let list: Vec<Value> = events.into_iter().map(|(_, e)| with_event_id(e)).collect();
    json!({
        "@context": [CONTEXT, {"hallmark": HALLMARK_NS}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": time::format_secs(created),
        "epcisBody": {"eventList": list},
    })
}

/// Counts of a document's events by type (`ObjectEvent`, `AggregationEvent`),
/// for a summary line.
pub fn event_counts(doc: &Value) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    let events = doc
        .get("epcisBody")
        .and_then(|b| b.get("eventList"))
        .and_then(Value::as_array);
    for e in events.into_iter().flatten() {
        let t = e
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        match counts.iter_mut().find(|(k, _)| *k == t) {
            Some((_, n)) => *n += 1,
            None => counts.push((t, 1)),
        }
    }
    counts
}

fn with_event_id(mut event: Value) -> Value {
    // The events built here contain only fields the hash supports, so this
    // does not fail; if it ever did, the event goes out without an eventID
    // (optional in EPCIS) rather than with a wrong one.
    if let Ok(hash) = event_hash(&event)
        && let Some(obj) = event.as_object_mut()
    {
        let mut out = Map::new();
        out.insert("type".into(), obj.remove("type").unwrap_or(Value::Null));
        out.insert("eventID".into(), Value::String(hash));
        out.extend(std::mem::take(obj));
        return Value::Object(out);
    }
    event
}

fn base(event_type: &str, time: u64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("type".into(), event_type.into());
    m.insert("eventTime".into(), time::format_secs(time).into());
    m.insert("eventTimeZoneOffset".into(), "+00:00".into());
    m
}

fn commissioning(b: &BatchRecord) -> Value {
    let mut m = base("ObjectEvent", b.time);
    m.insert("epcList".into(), json!([]));
    m.insert(
        "quantityList".into(),
        json!([{"epcClass": class_uri(b), "quantity": b.count}]),
    );
    m.insert("action".into(), "ADD".into());
    m.insert("bizStep".into(), "commissioning".into());
    m.insert("disposition".into(), "active".into());
    m.insert("hallmark:kid".into(), b.kid.clone().into());
    m.insert("hallmark:part".into(), b.part.clone().into());
    Value::Object(m)
}

/// A location as `readPoint` if it is a URI, else as `hallmark:location` text.
fn location(m: &mut Map<String, Value>, location: Option<&str>) {
    let Some(loc) = location else { return };
    if is_uri(loc) {
        m.insert("readPoint".into(), json!({"id": loc}));
        m.insert("bizLocation".into(), json!({"id": loc}));
    } else {
        m.insert("hallmark:location".into(), loc.into());
    }
}

/// An absolute URI: `scheme:rest`, scheme per RFC 3986, no spaces or controls.
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
        && rest.chars().all(|c| {
            c.is_ascii_graphic()
                && !matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`')
        })
}

fn aggregation(a: &AggregationRecord) -> Value {
    let mut m = base("AggregationEvent", a.time);
    m.insert("parentID".into(), id_uri(&a.parent).into());
    let (epcs, classes) = split_children(&a.children);
    m.insert("childEPCs".into(), epcs.into());
    if !classes.is_empty() {
        m.insert("childQuantityList".into(), classes.into());
    }
    m.insert("action".into(), "ADD".into());
    let step = if a.bizstep == "assembling" {
        "assembling"
    } else {
        "packing"
    };
    m.insert("bizStep".into(), step.into());
    location(&mut m, a.location.as_deref());
    m.insert("hallmark:manifestDigest".into(), a.digest.clone().into());
    Value::Object(m)
}

/// Units go in `childEPCs`, lots in `childQuantityList` (class level, no quantity).
fn split_children(children: &[Id]) -> (Vec<Value>, Vec<Value>) {
    let mut epcs = Vec::new();
    let mut classes = Vec::new();
    for c in children {
        match c {
            Id::Lot { .. } => classes.push(json!({"epcClass": id_uri(c)})),
            _ => epcs.push(Value::String(id_uri(c))),
        }
    }
    (epcs, classes)
}

fn assembly(l: &LinkRecord, action: &str, at: u64) -> Value {
    let mut m = base("AggregationEvent", at);
    m.insert("parentID".into(), id_uri(&l.parent).into());
    let (epcs, classes) = split_children(std::slice::from_ref(&l.child));
    m.insert("childEPCs".into(), epcs.into());
    if !classes.is_empty() {
        m.insert("childQuantityList".into(), classes.into());
    }
    m.insert("action".into(), action.into());
    m.insert("bizStep".into(), "assembling".into());
    if let Some(p) = &l.process {
        m.insert("hallmark:process".into(), p.clone().into());
    }
    Value::Object(m)
}

fn status(s: &StatusRecord) -> Value {
    let mut m = base("ObjectEvent", s.time);
    match &s.id {
        Id::Lot { .. } => {
            m.insert("epcList".into(), json!([]));
            m.insert("quantityList".into(), json!([{"epcClass": id_uri(&s.id)}]));
        }
        id => {
            m.insert("epcList".into(), json!([id_uri(id)]));
        }
    }
    m.insert("action".into(), "OBSERVE".into());
    let reason = s.reason.as_deref().unwrap_or("");
    let (step, disposition) = match (s.action.as_str(), reason) {
        ("decommission", _) => ("decommissioning", "inactive"),
        ("reactivate", _) => ("other", "active"),
        ("revoke", "recalled" | "recall") => ("holding", "recalled"),
        ("revoke", "stolen") => ("other", "stolen"),
        ("revoke", "destroyed") => ("destroying", "destroyed"),
        _ => ("decommissioning", "inactive"),
    };
    m.insert("bizStep".into(), step.into());
    m.insert("disposition".into(), disposition.into());
    m.insert("hallmark:statusAction".into(), s.action.clone().into());
    // A reason the disposition already says is not repeated: the reference
    // generator rewrites any extension value equal to a CBV word used in the
    // document (docs/EPCIS.md, "Known divergence").
    if let Some(r) = &s.reason
        && r != disposition
        && r != "recall"
    {
        m.insert("hallmark:reason".into(), r.clone().into());
    }
    Value::Object(m)
}
