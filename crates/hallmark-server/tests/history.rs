//! Service and test history and reports of suspected fakes (issue 16)
//! through the router, on SQLite and, when reachable, PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hallmark::{Date, Payload, TrustStore, TrustedKey};
use hallmark_issuer::SecretKey;
use hallmark_server::auth::hash_token;
use hallmark_server::storage::{HistoryStore, PostgresStorage, SqliteStorage, Storage, TokenScope};
use hallmark_server::{AppState, Settings, app};
use serde_json::{Value, json};
use tower::ServiceExt;

mod pg;

const NOW: u64 = 1_795_435_200;
const SERVICE: &str = "hm_service_token_for_history_tests";
const REPORTS: &str = "hm_reports_token_for_history_tests";
const BATCHES: &str = "hm_batches_token_for_history_tests";

enum Backend {
    Sqlite,
    Postgres(pg::Scratch),
}

macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Backend::Sqlite).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test]
            async fn $name() {
                if let Some(scratch) = super::pg::scratch(stringify!($name)) {
                    super::$name(super::Backend::Postgres(scratch)).await;
                }
            })*
        }
    };
}

on_every_backend!(
    events_are_recorded_paged_and_public_view_is_brief,
    bad_events_are_refused_naming_the_field,
    lot_events_work_the_same_way,
    reports_are_stored_capped_and_listed_with_a_token,
);

struct Fixture {
    issuer: SecretKey,
    storage: Arc<dyn Storage>,
    _scratch: Option<pg::Scratch>,
    state: AppState,
}

fn fixture(backend: Backend) -> Fixture {
    let issuer = SecretKey::from_seed("issuer", &[1; 32]).unwrap();
    let mut trust = TrustStore::new();
    trust
        .add(TrustedKey::new("issuer", issuer.public_key(), None, None).unwrap())
        .unwrap();
    let (storage, scratch): (Arc<dyn Storage>, _) = match backend {
        Backend::Sqlite => (Arc::new(SqliteStorage::open_in_memory().unwrap()), None),
        Backend::Postgres(scratch) => (
            Arc::new(pg::off_runtime(|| PostgresStorage::connect(&scratch.url)).unwrap()),
            Some(scratch),
        ),
    };
    pg::off_runtime(|| {
        for (name, scope, token) in [
            ("station", TokenScope::Service, SERVICE),
            ("support", TokenScope::Reports, REPORTS),
            ("factory", TokenScope::Batches, BATCHES),
        ] {
            storage
                .create_token(name, scope, &hash_token(token), 1)
                .unwrap();
        }
    });
    let settings = Settings {
        clock: Arc::new(|| NOW),
        ..Settings::default()
    };
    let state = AppState::new(trust, storage.clone(), None, settings);
    Fixture {
        issuer,
        storage,
        _scratch: scratch,
        state,
    }
}

impl Fixture {
    fn code(&self, serial: u64) -> String {
        let date: Date = "2023-12-12".parse().unwrap();
        self.issuer
            .sign_code(&Payload::new(serial, "PN-1", "L1", date).unwrap())
            .unwrap()
    }

    async fn send(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        req = req.header(header::CONTENT_TYPE, "application/json");
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let response = app(self.state.clone())
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

async fn events_are_recorded_paged_and_public_view_is_brief(backend: Backend) {
    let f = fixture(backend);
    let code = f.code(7);
    let uri = format!("/v1/codes/{code}/events");
    let test = json!({"type": "test", "date": "2024-01-02", "actor": "Ann", "station": "EOL-3",
        "result": "pass", "summary": "end of line test",
        "measurements": [{"name": "leak", "value": 0.5, "unit": "mbar", "low": 0, "high": 1}]});
    let (s, v) = f
        .send("POST", &uri, Some(SERVICE), Some(test.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let first = v["id"].as_u64().unwrap();
    assert!(v["unit"].as_str().unwrap().starts_with("code:"), "{v}");
    assert_eq!(v["recorded"], NOW);
    // No token, a wrong token, a token of another scope: refused.
    assert_eq!(
        f.send("POST", &uri, None, Some(test.clone())).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        f.send("POST", &uri, Some(BATCHES), Some(test.clone()))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    for i in 0..3 {
        let e = json!({"type": "repair", "date": format!("2025-0{}-01", i + 1), "summary": "seal"});
        let (s, v) = f.send("POST", &uri, Some(SERVICE), Some(e)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // Public: brief.
    let (s, v) = f.send("GET", &uri, None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["count"], 4);
    let e0 = &v["events"][0];
    assert_eq!(e0["id"].as_u64().unwrap(), first);
    assert_eq!(e0["type"], "test");
    assert_eq!(e0["result"], "pass");
    assert!(
        e0.get("actor").is_none() && e0.get("measurements").is_none(),
        "{e0}"
    );
    // With a service token: everything.
    let (_, v) = f
        .send("GET", &format!("{uri}?limit=2"), Some(SERVICE), None)
        .await;
    assert_eq!(v["events"].as_array().unwrap().len(), 2);
    assert_eq!(v["events"][0]["actor"], "Ann");
    assert_eq!(v["events"][0]["measurements"][0]["unit"], "mbar");
    let next = v["next"].as_u64().unwrap();
    let (_, v) = f
        .send(
            "GET",
            &format!("{uri}?after={next}&limit=2"),
            Some(SERVICE),
            None,
        )
        .await;
    assert_eq!(v["events"].as_array().unwrap().len(), 2);
    // A wrong token on a read is 401, not the public view.
    assert_eq!(
        f.send("GET", &uri, Some("hm_nope"), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // The summary: count and the latest by date.
    let unit = {
        let (_, v) = f.send("GET", &uri, None, None).await;
        v["unit"].as_str().unwrap().to_owned()
    };
    let storage = f.storage.clone();
    let summary = pg::off_runtime(move || storage.history_summary(&unit).unwrap());
    assert_eq!(summary.count, 4);
    assert_eq!(summary.last.unwrap().date.to_string(), "2025-03-01");
    // A forged code: 422 with its verdict.
    let mut forged = code.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (s, v) = f
        .send(
            "POST",
            &format!("/v1/codes/{forged}/events"),
            Some(SERVICE),
            Some(test),
        )
        .await;
    assert!(
        s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST,
        "{s} {v}"
    );
}

async fn bad_events_are_refused_naming_the_field(backend: Backend) {
    let f = fixture(backend);
    let uri = format!("/v1/codes/{}/events", f.code(8));
    for (body, field) in [
        (json!({"type": "party", "date": "2024-01-01"}), "type"),
        (json!({"type": "test", "date": "2099-01-01"}), "date"),
        (json!({"type": "test", "date": "2020-01-01"}), "date"),
        (
            json!({"type": "repair", "date": "2024-01-01", "result": "pass"}),
            "result",
        ),
        (
            json!({"type": "test", "date": "2024-01-01", "summary": "x".repeat(281)}),
            "summary",
        ),
        (
            json!({"type": "test", "date": "2024-01-01", "actor": "a\u{202E}b"}),
            "actor",
        ),
        (
            json!({"type": "test", "date": "2024-01-01", "station": "a\nb"}),
            "station",
        ),
        (
            json!({"type": "test", "date": "2024-01-01",
            "measurements": [{"name": "v", "value": 1, "low": 2, "high": 1}]}),
            "measurements[0]",
        ),
        (
            json!({"type": "test", "date": "2024-01-01",
            "measurements": vec![json!({"name": "v", "value": 1}); 33]}),
            "measurements",
        ),
    ] {
        let (s, v) = f
            .send("POST", &uri, Some(SERVICE), Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body} {v}");
        assert!(
            v["detail"].as_str().unwrap().starts_with(field),
            "{body} {v}"
        );
    }
    let (s, _) = f
        .send(
            "POST",
            &uri,
            Some(SERVICE),
            Some(json!({"type": "test", "date": "2024-01-01", "extra": 1})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

async fn lot_events_work_the_same_way(backend: Backend) {
    let f = fixture(backend);
    let uri = "/v1/lots/PN-9/L%3A7/events";
    let (s, v) = f
        .send(
            "POST",
            uri,
            Some(SERVICE),
            Some(json!({"type": "inspection", "date": "2024-05-05", "result": "fail"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["unit"], "lot:PN-9:L%3A7");
    let (s, v) = f.send("GET", uri, None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["count"], 1);
    assert_eq!(v["events"][0]["result"], "fail");
}

async fn reports_are_stored_capped_and_listed_with_a_token(backend: Backend) {
    let f = fixture(backend);
    let code = f.code(9);
    let (s, v) = f
        .send(
            "POST",
            "/v1/reports",
            None,
            Some(json!({"code": code, "place": "Market St", "note": "odd print"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = f
        .send(
            "POST",
            "/v1/reports",
            None,
            Some(json!({"code": "garbage", "note": "fake"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = f
        .send(
            "POST",
            "/v1/reports",
            None,
            Some(json!({"code": code, "place": "a\u{2066}b"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["detail"].as_str().unwrap().starts_with("place"), "{v}");
    for _ in 1..20 {
        let (s, _) = f
            .send("POST", "/v1/reports", None, Some(json!({"code": code})))
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, v) = f
        .send("POST", "/v1/reports", None, Some(json!({"code": code})))
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(
        f.state
            .metrics()
            .render()
            .contains("hallmark_reports_total 21")
    );
    assert_eq!(
        f.send("GET", "/v1/reports", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        f.send("GET", "/v1/reports", Some(SERVICE), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, v) = f
        .send("GET", "/v1/reports?limit=2", Some(REPORTS), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = &v["reports"];
    assert_eq!(r[0]["verdict"], "genuine");
    assert!(r[0]["unit"].as_str().unwrap().starts_with("code:"));
    assert_eq!(r[0]["place"], "Market St");
    assert_eq!(r[0]["time"], NOW);
    assert!(r[0]["time_rfc3339"].as_str().unwrap().ends_with('Z'));
    assert_eq!(r[1]["verdict"], "malformed");
    assert!(r[1]["unit"].is_null());
    assert_eq!(v["next"], r[1]["id"]);
}
