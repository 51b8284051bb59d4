//! EPCIS 2.0 export end to end: a document built from registry records
//! validates against GS1's EPCIS 2.0 JSON schema (`../shared/epcis/`, with
//! Python's `jsonschema`), its eventIDs are the hashes an independent CBV 2.0
//! event hash implementation (Python's `epcis-event-hash-generator`)
//! computes, and `hallmark epcis export --db` writes such a document.
//!
//! The Python comes from `$HALLMARK_EPCIS_PYTHON` (`.ci/run` makes a venv
//! with both packages); without it, or without the schema, the tests skip
//! with a counted reason (under CI they fail instead).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use hallmark_epcis::{
    AggregationRecord, BatchRecord, ExportInput, Id, LinkRecord, StatusRecord, document,
};

use crate::common::*;

/// Counts a skip and writes its line to stderr; under CI a missing tool fails.
fn skip(test: &str, cause: &str) {
    static SKIPPED: AtomicU64 = AtomicU64::new(0);
    skip_tool(&SKIPPED, "epcis", "EPCIS", test, cause);
}

fn schema() -> PathBuf {
    Path::new(ROOT).join("../shared/epcis/EPCIS-JSON-Schema.json")
}

/// Validates a document against the schema with format checks (`uri`,
/// `date-time`); prints `errors N` and each error.
const VALIDATE: &str = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
v = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
missing = {"uri", "date-time"} - set(jsonschema.Draft7Validator.FORMAT_CHECKER.checkers)
if missing:
    sys.exit("jsonschema cannot check formats %s: install jsonschema[format-nongpl]" % sorted(missing))
errs = list(v.iter_errors(doc))
for e in errs[:20]:
    print("INVALID", list(e.absolute_path), e.message[:300])
print("errors", len(errs))
"#;

/// The Python with jsonschema (and maybe the hash generator), and the schema;
/// `None` after counting a skip.
fn python(test: &str) -> Option<(PathBuf, PathBuf)> {
    let Some(python) = std::env::var_os("HALLMARK_EPCIS_PYTHON") else {
        skip(
            test,
            "HALLMARK_EPCIS_PYTHON (a python with jsonschema and epcis-event-hash-generator; \
             .ci/run makes one) is not set",
        );
        return None;
    };
    if !schema().is_file() {
        skip(test, &format!("{} is absent", schema().display()));
        return None;
    }
    Some((PathBuf::from(python), schema()))
}

/// Error count the schema gives for the document at `path` (panics if the
/// validator could not run).
fn schema_errors(python: &Path, schema: &Path, path: &Path) -> (usize, String) {
    let out = run_program(p(python), &["-c", VALIDATE, p(schema), p(path)]);
    assert_eq!(code(&out), 0, "validator: {}", stderr(&out));
    let text = stdout(&out).to_owned();
    let n = text
        .lines()
        .find_map(|l| l.strip_prefix("errors "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("validator printed no count: {text}"));
    (n, text)
}

/// Records of every kind, as the registry hands them in.
fn sample() -> ExportInput {
    let drone = Id::Code {
        kid: "8608b1b7".into(),
        serial: 123_456_789,
    };
    let lot = Id::Lot {
        part: "BAT-7".into(),
        lot: "L231212-01".into(),
    };
    ExportInput {
        batches: vec![
            BatchRecord {
                time: 1_795_000_000,
                kid: "8608b1b7".into(),
                part: "DRN-2980".into(),
                lot: "L 2026/11".into(),
                gtin: None,
                count: 5000,
            },
            BatchRecord {
                time: 1_795_000_010,
                kid: "8608b1b7".into(),
                part: "DRN-2980".into(),
                lot: "A1".into(),
                gtin: Some("09506000134352".into()),
                count: 2,
            },
        ],
        aggregations: vec![
            AggregationRecord {
                time: 1_795_000_100,
                bizstep: "packing".into(),
                parent: Id::Sscc("340123450000000017".into()),
                children: vec![
                    drone.clone(),
                    Id::Gs1 {
                        gtin: "09506000134352".into(),
                        serial: "ABC-1".into(),
                    },
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
            AggregationRecord {
                time: 1_795_000_250,
                bizstep: "assembling".into(),
                parent: Id::Gs1 {
                    gtin: "09506000134352".into(),
                    serial: "KIT 1".into(),
                },
                children: vec![lot.clone()],
                location: None,
                digest: "ef".repeat(32),
            },
        ],
        links: vec![LinkRecord {
            parent: drone.clone(),
            child: lot.clone(),
            process: Some("final-assembly".into()),
            at: 1_795_000_050,
            removed_at: Some(1_795_000_300),
        }],
        status_changes: vec![
            StatusRecord {
                id: lot,
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

fn write_doc(dir: &Path, name: &str, doc: &serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
    path
}

#[test]
fn an_exported_document_validates_against_gs1s_epcis_schema() {
    let Some((python, schema)) = python("an_exported_document_validates_against_gs1s_epcis_schema")
    else {
        return;
    };
    let dir = tempdir();
    let doc = document(&sample(), 1_795_001_000);
    assert_eq!(doc["epcisBody"]["eventList"].as_array().unwrap().len(), 11);
    let path = write_doc(dir.path(), "export.jsonld", &doc);
    let (n, text) = schema_errors(&python, &schema, &path);
    assert_eq!(n, 0, "{text}");
    // The validator does catch a bad document: a parentID that is no URI,
    // an unknown action.
    let mut bad = doc.clone();
    bad["epcisBody"]["eventList"][2]["parentID"] = "not a uri".into();
    bad["epcisBody"]["eventList"][3]["action"] = "PACK".into();
    let path = write_doc(dir.path(), "bad.jsonld", &bad);
    let (n, text) = schema_errors(&python, &schema, &path);
    assert!(n >= 2, "{text}");
    // An empty export is a valid document too.
    let empty = document(&ExportInput::default(), 0);
    let path = write_doc(dir.path(), "empty.jsonld", &empty);
    let (n, text) = schema_errors(&python, &schema, &path);
    assert_eq!(n, 0, "{text}");
}

#[test]
fn every_event_id_matches_an_independent_cbv_event_hash() {
    let test = "every_event_id_matches_an_independent_cbv_event_hash";
    let Some((python, _)) = python(test) else {
        return;
    };
    let probe = run_program(p(&python), &["-c", "import epcis_event_hash_generator"]);
    if code(&probe) != 0 {
        return skip(
            test,
            "epcis-event-hash-generator is not installed in HALLMARK_EPCIS_PYTHON",
        );
    }
    let dir = tempdir();
    let doc = document(&sample(), 1_795_001_000);
    let path = write_doc(dir.path(), "export.jsonld", &doc);
    let out = run_program(
        p(&python),
        &["-m", "epcis_event_hash_generator", "-e", "JSON", p(&path)],
    );
    assert_eq!(code(&out), 0, "generator: {}", stderr(&out));
    let generated = stdout(&out);
    let theirs: Vec<&str> = generated.lines().filter(|l| l.starts_with("ni:")).collect();
    let ours: Vec<&str> = doc["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventID"].as_str().unwrap())
        .collect();
    assert_eq!(theirs, ours);
}

#[test]
fn export_needs_a_source_and_names_a_bad_since() {
    let dir = tempdir();
    let out_path = dir.path().join("x.jsonld");
    let out = hallmark(&["epcis", "export", "--since", "0", "--out", p(&out_path)])
        .env_remove("HALLMARK_DB")
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = hallmark(&[
        "epcis",
        "export",
        "--db",
        p(&dir.path().join("h.db")),
        "--since",
        "yesterday",
        "--out",
        p(&out_path),
    ])
    .run();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("yesterday"), "{}", stderr(&out));
    assert!(!out_path.exists());
}

#[test]
fn export_from_a_database_validates() {
    let test = "export_from_a_database_validates";
    let dir = tempdir();
    let db = dir.path().join("hallmark.db");
    let out_path = dir.path().join("export.jsonld");
    let out = hallmark(&[
        "epcis",
        "export",
        "--db",
        p(&db),
        "--since",
        "2026-01-01T00:00:00Z",
        "--out",
        p(&out_path),
    ])
    .now(1_795_001_000)
    .run();
    if code(&out) != 0 && stderr(&out).contains("not in this build") {
        // The storage side (Storage::epcis_records) is another change.
        return skip(test, "this build has no Storage::epcis_records yet");
    }
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("events"), "{}", stderr(&out));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(doc["type"], "EPCISDocument");
    let Some((python, schema)) = python(test) else {
        return;
    };
    let (n, text) = schema_errors(&python, &schema, &out_path);
    assert_eq!(n, 0, "{text}");
}
