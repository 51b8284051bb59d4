//! Documents built from sample records: the mapping of each record to its
//! event, and the event hash's independence from `eventID` and key order.

// Tests: a panic is the failure report.
#![allow(
    clippy::panic,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used
)]

use hallmark_epcis::{
    AggregationRecord, BatchRecord, ExportInput, Id, LinkRecord, StatusRecord, document,
    event_counts, event_hash,
};
use serde_json::{Map, Value, json};

/// One of each record, as a registry might hand them in.
pub fn sample() -> ExportInput {
    let drone = Id::Code {
        kid: "0a1b2c3d".into(),
        serial: 123_456_789,
    };
    let battery_lot = Id::Lot {
        part: "BAT-7".into(),
        lot: "L231212-01".into(),
    };
    ExportInput {
        batches: vec![
            BatchRecord {
                time: 1_795_000_000,
                kid: "0a1b2c3d".into(),
                part: "DRN-2980".into(),
                lot: "L 1/2".into(),
                gtin: None,
                count: 500,
            },
            BatchRecord {
                time: 1_795_000_001,
                kid: "0a1b2c3d".into(),
                part: "DRN-2980".into(),
                lot: "A1".into(),
                gtin: Some("09506000134352".into()),
                count: 3,
            },
        ],
        aggregations: vec![
            AggregationRecord {
                time: 1_795_000_100,
                bizstep: "packing".into(),
                parent: Id::Sscc("340123450000000017".into()),
                children: vec![
                    Id::Gs1 {
                        gtin: "09506000134352".into(),
                        serial: "S/2".into(),
                    },
                    drone.clone(),
                ],
                location: Some("Dock 4, Hamburg".into()),
                digest: "ab".repeat(32),
            },
            AggregationRecord {
                time: 1_795_000_200,
                bizstep: "packing".into(),
                parent: Id::Sscc("340123450000000024".into()),
                children: vec![Id::Sscc("340123450000000017".into())],
                location: Some("https://id.gs1.org/414/9506000134352".into()),
                digest: "cd".repeat(32),
            },
        ],
        links: vec![LinkRecord {
            parent: drone.clone(),
            child: battery_lot.clone(),
            process: Some("final-assembly".into()),
            at: 1_795_000_050,
            removed_at: Some(1_795_000_300),
        }],
        status_changes: vec![
            StatusRecord {
                id: battery_lot,
                action: "revoke".into(),
                reason: Some("recalled".into()),
                time: 1_795_000_400,
            },
            StatusRecord {
                id: drone.clone(),
                action: "revoke".into(),
                reason: Some("stolen".into()),
                time: 1_795_000_500,
            },
            StatusRecord {
                id: drone.clone(),
                action: "reactivate".into(),
                reason: None,
                time: 1_795_000_600,
            },
            StatusRecord {
                id: drone,
                action: "decommission".into(),
                reason: None,
                time: 1_795_000_700,
            },
        ],
    }
}

fn events(doc: &Value) -> &[Value] {
    doc["epcisBody"]["eventList"].as_array().expect("eventList")
}

#[test]
fn document_header() {
    let doc = document(&sample(), 1_795_001_000);
    assert_eq!(
        doc["@context"][0],
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
    );
    assert_eq!(doc["type"], "EPCISDocument");
    assert_eq!(doc["schemaVersion"], "2.0");
    assert_eq!(doc["creationDate"], "2026-11-18T11:23:20.000Z");
    // 2 batches, 2 manifests, 1 link + its removal, 4 status changes.
    assert_eq!(events(&doc).len(), 10);
    assert_eq!(
        event_counts(&doc),
        vec![
            ("ObjectEvent".to_owned(), 6),
            ("AggregationEvent".to_owned(), 4)
        ]
    );
    // Ordered by time.
    let times: Vec<&str> = events(&doc)
        .iter()
        .map(|e| e["eventTime"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
}

#[test]
fn every_event_id_is_its_hash() {
    let doc = document(&sample(), 1_795_001_000);
    for e in events(&doc) {
        let id = e["eventID"].as_str().expect("eventID");
        assert!(id.starts_with("ni:///sha-256;") && id.ends_with("?ver=CBV2.0"));
        assert_eq!(event_hash(e).unwrap(), id);
        assert_eq!(e["eventTimeZoneOffset"], "+00:00");
    }
    let mut ids: Vec<&str> = events(&doc)
        .iter()
        .map(|e| e["eventID"].as_str().unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10, "event ids are distinct");
}

#[test]
fn commissioning_is_class_level() {
    let doc = document(&sample(), 0);
    let e = &events(&doc)[0];
    assert_eq!(e["type"], "ObjectEvent");
    assert_eq!(e["action"], "ADD");
    assert_eq!(e["bizStep"], "commissioning");
    assert_eq!(e["disposition"], "active");
    assert_eq!(e["eventTime"], "2026-11-18T11:06:40.000Z");
    assert_eq!(
        e["quantityList"],
        json!([{"epcClass": "urn:hallmark:class:DRN-2980:L%201%2F2", "quantity": 500}])
    );
    let gs1 = &events(&doc)[1];
    assert_eq!(
        gs1["quantityList"][0]["epcClass"],
        "https://id.gs1.org/01/09506000134352/10/A1"
    );
}

#[test]
fn aggregations_and_links() {
    let doc = document(&sample(), 0);
    let ev = events(&doc);
    // The link (at 1_795_000_050) sorts before the first manifest.
    let link = &ev[2];
    assert_eq!(link["type"], "AggregationEvent");
    assert_eq!(link["bizStep"], "assembling");
    assert_eq!(link["action"], "ADD");
    assert_eq!(link["parentID"], "urn:hallmark:unit:0a1b2c3d:123456789");
    assert_eq!(link["childEPCs"], json!([]));
    assert_eq!(
        link["childQuantityList"],
        json!([{"epcClass": "urn:hallmark:class:BAT-7:L231212-01"}])
    );
    let case = &ev[3];
    assert_eq!(case["bizStep"], "packing");
    assert_eq!(case["parentID"], "https://id.gs1.org/00/340123450000000017");
    assert_eq!(
        case["childEPCs"],
        json!([
            "https://id.gs1.org/01/09506000134352/21/S%2F2",
            "urn:hallmark:unit:0a1b2c3d:123456789"
        ])
    );
    // Free text is not a URI: an extension field, no readPoint.
    assert_eq!(case["hallmark:location"], "Dock 4, Hamburg");
    assert!(case.get("readPoint").is_none());
    let pallet = &ev[4];
    assert_eq!(
        pallet["childEPCs"],
        json!(["https://id.gs1.org/00/340123450000000017"])
    );
    assert_eq!(
        pallet["readPoint"]["id"],
        "https://id.gs1.org/414/9506000134352"
    );
    let removal = &ev[5];
    assert_eq!(removal["action"], "DELETE");
    assert_eq!(removal["bizStep"], "assembling");
    assert_eq!(removal["eventTime"], "2026-11-18T11:11:40.000Z");
}

#[test]
fn status_changes() {
    let doc = document(&sample(), 0);
    let ev = events(&doc);
    let step_disp = |e: &Value| (e["bizStep"].clone(), e["disposition"].clone());
    assert_eq!(step_disp(&ev[6]), (json!("holding"), json!("recalled")));
    assert_eq!(
        ev[6]["quantityList"][0]["epcClass"],
        "urn:hallmark:class:BAT-7:L231212-01"
    );
    assert_eq!(step_disp(&ev[7]), (json!("other"), json!("stolen")));
    assert_eq!(
        ev[7]["epcList"],
        json!(["urn:hallmark:unit:0a1b2c3d:123456789"])
    );
    assert_eq!(step_disp(&ev[8]), (json!("other"), json!("active")));
    assert_eq!(
        step_disp(&ev[9]),
        (json!("decommissioning"), json!("inactive"))
    );
}

#[test]
fn hash_ignores_event_id_and_key_order() {
    let doc = document(&sample(), 0);
    for e in events(&doc) {
        let hash = event_hash(e).unwrap();
        let mut other = e.clone();
        other["eventID"] = json!("urn:uuid:00000000-0000-0000-0000-000000000000");
        assert_eq!(event_hash(&other).unwrap(), hash);
        // Same fields, reversed key order (serde_json keeps insertion order
        // with preserve_order, sorts otherwise: build reversed either way).
        let obj = e.as_object().unwrap();
        let reversed: Map<String, Value> = obj
            .iter()
            .rev()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert_eq!(event_hash(&Value::Object(reversed)).unwrap(), hash);
        // A change of any field changes the hash.
        let mut changed = e.clone();
        changed["eventTime"] = json!("2000-01-01T00:00:00Z");
        assert_ne!(event_hash(&changed).unwrap(), hash);
    }
    // List order does not matter either.
    let a = json!({"type": "AggregationEvent", "eventTime": "2026-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00", "parentID": "https://id.gs1.org/00/340123450000000017",
        "childEPCs": ["urn:hallmark:unit:0a1b2c3d:2", "urn:hallmark:unit:0a1b2c3d:1"], "action": "ADD"});
    let mut b = a.clone();
    b["childEPCs"] = json!([
        "urn:hallmark:unit:0a1b2c3d:1",
        "urn:hallmark:unit:0a1b2c3d:2"
    ]);
    assert_eq!(event_hash(&a).unwrap(), event_hash(&b).unwrap());
}

#[test]
fn bad_events_are_refused_with_the_field_named() {
    let err = event_hash(&json!({"type": "ObjectEvent", "eventTime": "yesterday"})).unwrap_err();
    assert!(err.to_string().contains("eventTime"), "{err}");
    let err = event_hash(&json!({"type": "ObjectEvent", "nope:x": "1"})).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    assert!(event_hash(&json!([])).is_err());
    assert!(event_hash(&json!({"eventTime": "2026-01-01T00:00:00Z"})).is_err());
}

/// With `HALLMARK_EPCIS_SAMPLE_OUT=FILE`, writes the sample document there
/// (to check it by hand with the schema or the reference generator).
#[test]
fn sample_document_out() {
    if let Some(path) = std::env::var_os("HALLMARK_EPCIS_SAMPLE_OUT") {
        let doc = document(&sample(), 1_795_001_000);
        std::fs::write(path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    }
}
