//! Service and test history and reports of suspected fakes through the real
//! binary and the real server, on SQLite and on PostgreSQL: a `service`
//! token from `hallmark token create` records events (refused without one,
//! with another scope's, and with input past the handler's bounds); the
//! history reads paged, in full with the token and in brief without; the
//! lookup and the page show the count and the latest event but never the
//! actor, station or measurements; a component lot's history works the same;
//! a report posted by the page's form or `POST /v1/reports` is readable with
//! a `reports` token only.

use std::path::Path;
use std::process::Child;

use serde_json::{Value, json};

use crate::common::*;
use crate::pg;

struct Served {
    child: Child,
    port: u16,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    fn get(&self, path: &str, token: Option<&str>) -> HttpResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = Vec::new();
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        http(self.port, "GET", path, &headers, b"").unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    fn post(&self, path: &str, token: Option<&str>, body: &Value) -> HttpResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        http(
            self.port,
            "POST",
            path,
            &headers,
            body.to_string().as_bytes(),
        )
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }
}

fn text(r: &HttpResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// `hallmark token create --db DB --name NAME --scope SCOPE`: the token.
fn token(db: &str, name: &str, scope: &str) -> String {
    let out = hallmark(&[
        "token", "create", "--db", db, "--name", name, "--scope", scope,
    ])
    .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let token = stdout(&out).trim().to_owned();
    assert!(token.starts_with("hm_"), "{token}");
    token
}

#[test]
fn history_and_reports_end_to_end() {
    let dir = tempdir();
    let db = dir.path().join("h.db");
    history_and_reports(dir.path(), p(&db));
}

#[test]
fn history_and_reports_end_to_end_on_postgres() {
    if let Some(scratch) = pg::scratch("history_e2e") {
        let dir = tempdir();
        history_and_reports(dir.path(), &scratch.url);
    }
}

fn history_and_reports(dir: &Path, db: &str) {
    let codes = mint_demo(dir, 2, &[]);
    let (code, other) = (&codes[0], &codes[1]);
    let service = token(db, "station-7", "service");
    let status = token(db, "ops", "status");
    let reports = token(db, "support", "reports");
    let (child, announced, _log) = spawn_serve(
        dir,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--trust",
            p(&demo_trust()),
            "--db",
            db,
            "--rate-limit",
            "0",
        ],
        &[],
    );
    let s = Served {
        child,
        port: announced.port,
    };
    let events = format!("/v1/codes/{code}/events");

    // Three events from the station; the last (by date) is a passed test.
    let bodies = [
        json!({"type": "service", "date": "2024-03-01", "actor": "Tech Alice Smith",
               "station": "Bench-Hamburg-3", "summary": "yearly service"}),
        json!({"type": "test", "date": "2025-06-11", "actor": "Tech Bob Jones",
               "station": "Bench-Lyon-1", "result": "pass", "summary": "motor test",
               "measurements": [{"name": "rpm-secret-probe", "value": 9800.0, "unit": "rpm",
                                 "low": 9000.0, "high": 10000.0}]}),
        json!({"type": "repair", "date": "2025-06-10", "actor": "Tech Carol White",
               "station": "Bench-Lyon-2", "summary": "arm replaced"}),
    ];
    let mut ids = Vec::new();
    for body in &bodies {
        let r = s.post(&events, Some(&service), body);
        assert_eq!(r.status, 201, "{}", text(&r));
        let v = r.json();
        assert!(v["unit"].as_str().unwrap().starts_with("code:"), "{v}");
        ids.push(v["id"].as_u64().unwrap());
    }

    // Refused: no token, another scope's token, a made-up token.
    let body = &bodies[0];
    let r = s.post(&events, None, body);
    assert_eq!(r.status, 401, "{}", text(&r));
    let r = s.post(&events, Some(&status), body);
    assert_eq!(r.status, 401, "{}", text(&r));
    assert!(text(&r).contains("service"), "{}", text(&r));
    let r = s.post(&events, Some(&reports), body);
    assert_eq!(r.status, 401, "{}", text(&r));
    // Refused: input past the bounds, each named.
    let many: Vec<Value> = (0..33)
        .map(|i| json!({"name": format!("m{i}"), "value": 1.0}))
        .collect();
    for (bad, why) in [
        (json!({"type": "calibration", "date": "2024-03-01"}), "type"),
        (
            json!({"type": "service", "date": "2024-03-01", "summary": "x".repeat(281)}),
            "summary",
        ),
        (
            json!({"type": "test", "date": "2024-03-01", "measurements": many}),
            "measurements",
        ),
        (
            json!({"type": "service", "date": "2024-03-01", "result": "pass"}),
            "result",
        ),
        (
            json!({"type": "service", "date": "2023-01-01"}),
            "before the unit's date of manufacture",
        ),
        (json!({"type": "service", "date": "2999-01-01"}), "future"),
        (
            json!({"type": "service", "date": "2024-03-01", "actor": "a\u{202E}b"}),
            "actor",
        ),
    ] {
        let r = s.post(&events, Some(&service), &bad);
        assert_eq!(r.status, 400, "{bad}: {}", text(&r));
        let v = r.json();
        assert_eq!(v["error"], "invalid-request", "{v}");
        assert!(v["detail"].as_str().unwrap().contains(why), "{why}: {v}");
    }
    // At the bounds: 280 characters, 32 measurements.
    let many: Vec<Value> = (0..32)
        .map(|i| json!({"name": format!("m{i}"), "value": 1.0}))
        .collect();
    let r = s.post(
        &format!("/v1/codes/{other}/events"),
        Some(&service),
        &json!({"type": "test", "date": "2024-03-01", "summary": "é".repeat(280),
                "measurements": many}),
    );
    assert_eq!(r.status, 201, "{}", text(&r));

    // A page size or start outside what the API documents is refused.
    for (query, kind) in [
        ("limit=0", "invalid-limit"),
        ("limit=501", "invalid-limit"),
        ("after=9223372036854775808", "invalid-after"),
    ] {
        let r = s.get(&format!("{events}?{query}"), Some(&service));
        assert_eq!(r.status, 400, "{query}: {}", text(&r));
        assert_eq!(r.json()["error"], kind, "{query}");
    }

    // The history, paged (oldest first, by id), in full with the token.
    let r = s.get(&format!("{events}?limit=2"), Some(&service));
    assert_eq!(r.status, 200, "{}", text(&r));
    let v = r.json();
    assert_eq!(v["count"], 3, "{v}");
    let page: Vec<u64> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(page, ids[..2], "{v}");
    assert_eq!(v["next"], ids[1], "{v}");
    assert_eq!(v["events"][0]["actor"], "Tech Alice Smith", "{v}");
    assert_eq!(v["events"][1]["station"], "Bench-Lyon-1", "{v}");
    assert_eq!(
        v["events"][1]["measurements"][0]["name"], "rpm-secret-probe",
        "{v}"
    );
    assert!(v["events"][0]["recorded"].is_u64(), "{v}");
    let r = s.get(
        &format!("{events}?limit=2&after={}", ids[1]),
        Some(&service),
    );
    let v = r.json();
    assert_eq!(v["events"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["events"][0]["id"], ids[2], "{v}");
    assert!(v["next"].is_null(), "{v}");
    // In brief to the public: type, date, result, summary; no actor,
    // station, measurements.
    let r = s.get(&events, None);
    assert_eq!(r.status, 200, "{}", text(&r));
    let v = r.json();
    assert_eq!(v["count"], 3, "{v}");
    assert_eq!(v["events"][1]["type"], "test", "{v}");
    assert_eq!(v["events"][1]["result"], "pass", "{v}");
    assert_eq!(v["events"][1]["summary"], "motor test", "{v}");
    let public = text(&r);
    for private in [
        "Tech ",
        "Bench-",
        "rpm-secret-probe",
        "\"actor\"",
        "\"station\"",
        "\"recorded\"",
    ] {
        assert!(!public.contains(private), "{private} in {public}");
    }
    // A token of another scope reading it is told, not served in brief.
    let r = s.get(&events, Some(&status));
    assert_eq!(r.status, 401, "{}", text(&r));

    // The lookup carries the count and the latest event (by date).
    let r = s.get(&format!("/v1/codes/{code}"), None);
    assert_eq!(r.status, 200, "{}", text(&r));
    let v = r.json();
    assert_eq!(v["history"]["count"], 3, "{v}");
    assert_eq!(v["history"]["last"]["id"], ids[1], "{v}");
    assert_eq!(v["history"]["last"]["type"], "test", "{v}");
    assert_eq!(v["history"]["last"]["date"], "2025-06-11", "{v}");
    assert_eq!(v["history"]["last"]["result"], "pass", "{v}");
    let lookup = text(&r);
    for private in ["Tech ", "Bench-", "rpm-secret-probe", &service] {
        assert!(!lookup.contains(private), "{private} in {lookup}");
    }
    // The page: the count and the latest event in words, nothing private.
    let r = s.get(&format!("/c/{code}"), None);
    assert_eq!(r.status, 200, "{}", text(&r));
    let page = text(&r);
    assert!(page.contains("3 service or test records."), "{page}");
    assert!(
        page.contains("Latest: test on 11 June 2025, passed."),
        "{page}"
    );
    for private in ["Tech ", "Bench-", "rpm-secret-probe"] {
        assert!(!page.contains(private), "{private} in {page}");
    }
    let r = s.get(&format!("/c/{code}?lang=de"), None);
    assert!(text(&r).contains("<html lang=\"de\""), "{}", text(&r));
    // A unit without history shows none.
    let fresh = mint_demo(dir, 1, &[]);
    let page = text(&s.get(&format!("/c/{}", fresh[0]), None));
    assert!(!page.contains("service or test record"), "{page}");

    // A component lot: the same rules.
    let lot = "/v1/lots/MOT-77/L2024-09/events";
    let lot_event = json!({"type": "inspection", "date": "2024-10-01", "actor": "QA Dan Brown",
                           "station": "Incoming-QA", "result": "fail",
                           "summary": "bearing noise"});
    let r = s.post(lot, None, &lot_event);
    assert_eq!(r.status, 401, "{}", text(&r));
    let r = s.post(lot, Some(&status), &lot_event);
    assert_eq!(r.status, 401, "{}", text(&r));
    let r = s.post(lot, Some(&service), &lot_event);
    assert_eq!(r.status, 201, "{}", text(&r));
    assert_eq!(r.json()["unit"], "lot:MOT-77:L2024-09", "{}", text(&r));
    let r = s.post(
        lot,
        Some(&service),
        &json!({"type": "recall", "date": "2024-10-01"}),
    );
    assert_eq!(r.status, 400, "{}", text(&r));
    let r = s.get(lot, None);
    assert_eq!(r.status, 200, "{}", text(&r));
    let v = r.json();
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["events"][0]["result"], "fail", "{v}");
    assert!(
        !text(&r).contains("QA Dan") && !text(&r).contains("Incoming-QA"),
        "{v}"
    );
    let v = s.get(lot, Some(&service)).json();
    assert_eq!(v["events"][0]["actor"], "QA Dan Brown", "{v}");
    assert_eq!(v["events"][0]["station"], "Incoming-QA", "{v}");
    let r = s.get("/v1/lots/MOT-77/OTHER-LOT/events", None);
    assert_eq!(r.json()["count"], 0, "{}", text(&r));

    // Reports: by the page's form and by the API, readable with a
    // `reports` token only.
    let r = http(
        s.port,
        "POST",
        &format!("/c/{code}/report"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"place=Market+hall+12&note=sold+at+half+price",
    )
    .unwrap();
    assert_eq!(r.status, 201, "{}", text(&r));
    assert!(text(&r).starts_with("<!DOCTYPE html>"), "{}", text(&r));
    let r = s.post(
        "/v1/reports",
        None,
        &json!({"code": "NOT-A-REAL-CODE", "place": "Flea market", "note": "<b>odd</b>"}),
    );
    assert_eq!(r.status, 201, "{}", text(&r));
    for t in [None, Some(&status), Some(&service)] {
        let r = s.get("/v1/reports", t.map(String::as_str));
        assert_eq!(r.status, 401, "{}", text(&r));
        assert!(!text(&r).contains("Market hall"), "{}", text(&r));
    }
    let r = s.get("/v1/reports", Some(&reports));
    assert_eq!(r.status, 200, "{}", text(&r));
    let v = r.json();
    let list = v["reports"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{v}");
    assert_eq!(list[0]["code"], code.as_str(), "{v}");
    assert_eq!(list[0]["verdict"], "genuine", "{v}");
    assert_eq!(list[0]["place"], "Market hall 12", "{v}");
    assert_eq!(list[0]["note"], "sold at half price", "{v}");
    assert_eq!(list[1]["verdict"], "malformed", "{v}");
    assert_eq!(list[1]["note"], "<b>odd</b>", "{v}");
    assert!(list[1]["unit"].is_null(), "{v}");
    let r = s.get("/v1/reports?limit=1", Some(&reports));
    let v = r.json();
    assert_eq!(v["reports"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["next"], list[0]["id"], "{v}");
}
