//! Parents and children (issue 15) through the router: aggregation
//! manifests, versioned assembly links, containment on lookups,
//! `component-revoked`, trace paging; on SQLite and, when reachable,
//! PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hallmark::aggregation::{AggregationManifest, BizStep, Child, Parent};
use hallmark::{BatchManifest, Date, ManifestBatch, Payload, TrustStore, TrustedKey};
use hallmark_issuer::SecretKey;
use hallmark_server::auth::hash_token;
use hallmark_server::storage::{PostgresStorage, SqliteStorage, Storage, TokenScope};
use hallmark_server::{AppState, Settings, app};
use serde_json::{Value, json};
use tower::ServiceExt;

mod pg;

const NOW: u64 = 1_795_435_200;
const TOKEN: &str = "hm_batches_token_for_graph_tests";
const STATUS_TOKEN: &str = "hm_status_token_for_graph_tests";
const SSCC: &str = "sscc:106141411234567897";

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
    links_replace_cycle_and_lookup,
    forged_child_is_422_with_its_verdict,
    lot_recall_flags_exactly_the_current_parents,
    trace_pages_through_every_parent,
    aggregation_store_idempotence_and_refusals,
);

struct Fixture {
    issuer: SecretKey,
    storage: Arc<dyn Storage>,
    _scratch: Option<pg::Scratch>,
    state: AppState,
}

fn d(s: &str) -> Date {
    s.parse().unwrap()
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
        storage
            .create_token("factory", TokenScope::Batches, &hash_token(TOKEN), 1)
            .unwrap();
        storage
            .create_token("ops", TokenScope::Status, &hash_token(STATUS_TOKEN), 1)
            .unwrap();
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
    fn code(&self, serial: u64, part: &str, lot: &str) -> String {
        self.issuer
            .sign_code(&Payload::new(serial, part, lot, d("2023-12-12")).unwrap())
            .unwrap()
    }

    async fn send(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        ct: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        req = req.header(header::CONTENT_TYPE, ct);
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

    async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            "POST",
            uri,
            Some(TOKEN),
            "application/json",
            body.to_string().into_bytes(),
        )
        .await
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.send("GET", uri, Some(TOKEN), "application/json", Vec::new())
            .await
    }

    async fn lookup(&self, code: &str) -> Value {
        let (status, v) = self.get(&format!("/v1/codes/{code}")).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }

    fn aggregation(&self, parent: &str, children: Vec<Child>) -> Vec<u8> {
        let m = AggregationManifest {
            kid: self.issuer.kid(),
            parent: Parent::from_scan(parent).unwrap(),
            children,
            time: NOW,
            bizstep: BizStep::Packing,
            location: Some("Dock 4".into()),
        };
        self.issuer.sign_document(m.to_unsigned().unwrap())
    }

    async fn store(&self, bytes: Vec<u8>) -> (StatusCode, Value) {
        self.send(
            "POST",
            "/v1/aggregations",
            Some(TOKEN),
            "application/octet-stream",
            bytes,
        )
        .await
    }

    async fn register_lot(&self, part: &str, lot: &str) {
        let m = BatchManifest {
            kid: self.issuer.kid(),
            issued: NOW,
            batches: vec![ManifestBatch {
                start: 1,
                count: 100,
                part: part.into(),
                lot: lot.into(),
                date: d("2023-12-12"),
                expiry: None,
                opaque: false,
                minted: NOW,
                batch_key: None,
            }],
        };
        let bytes = self.issuer.sign_manifest(&m).unwrap();
        let (status, v) = self
            .send(
                "POST",
                "/v1/batches",
                Some(TOKEN),
                "application/octet-stream",
                bytes,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
}

fn forge(code: &str) -> String {
    let mut c = code.to_owned().into_bytes();
    c[40] = if c[40] == b'A' { b'B' } else { b'A' };
    String::from_utf8(c).unwrap()
}

async fn links_replace_cycle_and_lookup(backend: Backend) {
    let f = fixture(backend);
    let drone = f.code(123_456_789, "DRN-2980", "D1");
    let battery = f.code(7, "BAT-1", "L231212-01");
    let (status, first) = f
        .post(
            "/v1/links",
            json!({"parent": drone, "child": battery, "process": "fit", "at": NOW - 100}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = f
        .post("/v1/links", json!({"parent": drone, "child": battery}))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], first["id"]);
    // A cycle: the battery cannot contain the drone.
    let (status, v) = f
        .post("/v1/links", json!({"parent": battery, "child": drone}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    // Replacing the battery keeps the old link with its removal time.
    let spare = f.code(8, "BAT-1", "L231212-02");
    let (status, second) = f
        .post(
            "/v1/links",
            json!({"parent": drone, "child": spare, "replace": first["id"], "at": NOW}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let v = f.lookup(&drone).await;
    let components = v["components"].as_array().unwrap();
    assert_eq!(components.len(), 2, "{v}");
    assert_eq!(components[0]["removed_at"], NOW);
    assert_eq!(components[0]["replaced_by"], second["id"]);
    assert_eq!(components[1]["active"], true);
    let v = f.lookup(&spare).await;
    assert_eq!(v["contained_in"][0]["via"], "link", "{v}");
    let v = f.lookup(&battery).await;
    assert_eq!(
        v["contained_in"],
        json!([]),
        "the removed link is no containment: {v}"
    );
    // Removal by id.
    let id = second["id"].as_u64().unwrap();
    let (status, v) = f
        .post(&format!("/v1/links/{id}/remove"), json!({"at": NOW + 5}))
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["removed_at"], NOW + 5);
    // Without a token: 401.
    let (status, _) = f
        .send(
            "POST",
            "/v1/links",
            None,
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn forged_child_is_422_with_its_verdict(backend: Backend) {
    let f = fixture(backend);
    let drone = f.code(1, "DRN-2980", "D1");
    let forged = forge(&f.code(2, "BAT-1", "L1"));
    let (status, v) = f
        .post("/v1/links", json!({"parent": drone, "child": forged}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["verdict"]["verdict"], "bad-signature", "{v}");
    // The per-parent limit.
    for i in 0..hallmark_server::storage::graph::MAX_ACTIVE_LINKS_PER_PARENT {
        let (status, v) = f
            .post(
                "/v1/links",
                json!({"parent": drone, "child": {"part": "SCREW", "lot": format!("S{i}")}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }
    let (status, v) = f
        .post(
            "/v1/links",
            json!({"parent": drone, "child": {"part": "SCREW", "lot": "one-more"}}),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
}

async fn lot_recall_flags_exactly_the_current_parents(backend: Backend) {
    let f = fixture(backend);
    f.register_lot("BAT-1", "L231212-01").await;
    let lot = json!({"part": "BAT-1", "lot": "L231212-01"});
    let fitted = f.code(1, "DRN-2980", "D1");
    let replaced = f.code(2, "DRN-2980", "D1");
    let never = f.code(3, "DRN-2980", "D1");
    let (_, a) = f
        .post("/v1/links", json!({"parent": fitted, "child": lot}))
        .await;
    assert!(a["id"].is_u64(), "{a}");
    let (_, b) = f
        .post("/v1/links", json!({"parent": replaced, "child": lot}))
        .await;
    let (status, _) = f
        .post("/v1/links", json!({"parent": replaced, "child": {"part": "BAT-1", "lot": "L231212-02"}, "replace": b["id"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // A pallet holding the fitted drone is flagged too (up the chain).
    let bytes = f.aggregation(SSCC, vec![Child::from_scan(&fitted).unwrap()]);
    let (status, v) = f.store(bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let kid = f.issuer.kid().to_string();
    let (status, v) = f
        .send(
            "POST",
            "/v1/status",
            Some(STATUS_TOKEN),
            "application/json",
            json!({"action": "revoke", "reason": "recalled", "kid": kid, "lot": "L231212-01"})
                .to_string()
                .into_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let alerts = |v: &Value| v["alerts"].to_string();
    assert!(alerts(&f.lookup(&fitted).await).contains("component-revoked"));
    assert!(!alerts(&f.lookup(&replaced).await).contains("component-revoked"));
    assert!(!alerts(&f.lookup(&never).await).contains("component-revoked"));
    // Trace still lists the past containment, with its removal time.
    let (status, v) = f.get("/v1/trace?part=BAT-1&lot=L231212-01").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let parents = v["parents"].as_array().unwrap();
    assert_eq!(parents.len(), 2, "{v}");
    assert_eq!(parents.iter().filter(|p| p["active"] == true).count(), 1);
}

async fn trace_pages_through_every_parent(backend: Backend) {
    let f = fixture(backend);
    let lot = json!({"part": "BAT-1", "lot": "L9"});
    for serial in 1..=25 {
        let (status, v) = f
            .post(
                "/v1/links",
                json!({"parent": f.code(serial, "DRN-2980", "D1"), "child": lot}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }
    // A unit child with that part and lot, in an aggregation.
    let unit = f.code(99, "BAT-1", "L9");
    let (status, v) = f
        .store(f.aggregation(SSCC, vec![Child::from_scan(&unit).unwrap()]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let mut seen = Vec::new();
    let mut uri = "/v1/trace?part=BAT-1&lot=L9&limit=10".to_owned();
    loop {
        let (status, v) = f.get(&uri).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        for p in v["parents"].as_array().unwrap() {
            seen.push(p["parent"].as_str().unwrap().to_owned());
        }
        match v["next"].as_str() {
            Some(next) => uri = format!("/v1/trace?part=BAT-1&lot=L9&limit=10&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 26, "{seen:?}");
    assert_eq!(seen.last().unwrap(), SSCC);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 26);
}

async fn aggregation_store_idempotence_and_refusals(backend: Backend) {
    let f = fixture(backend);
    let case_children: Vec<Child> = (1..=3)
        .map(|s| Child::from_scan(&f.code(s, "DRN-2980", "D1")).unwrap())
        .collect();
    let case = f.aggregation("sscc:106141411234567804", case_children);
    let case_digest = AggregationManifest::digest(&case);
    // A pallet naming a case not stored yet: 422.
    let pallet = f.aggregation(SSCC, vec![Child::Manifest(case_digest)]);
    let (status, v) = f.store(pallet.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"], "nested-manifest-missing", "{v}");
    let (status, v) = f.store(case.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, again) = f.store(case).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["digest"], v["digest"]);
    assert_eq!(again["recorded"], v["recorded"]);
    let (status, v) = f.store(pallet).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    // A unit in the case is in the pallet, through the case.
    let v = f.lookup(&f.code(2, "DRN-2980", "D1")).await;
    let chain: Vec<&str> = v["contained_in"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["parent"].as_str().unwrap())
        .collect();
    assert_eq!(chain, ["sscc:106141411234567804", SSCC], "{v}");
    let (status, v) = f.get(&format!("/v1/aggregations/{SSCC}")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["manifests"][0]["location"], "Dock 4");
    assert_eq!(
        v["manifests"][0]["children"][0]["manifest"],
        hex::encode(case_digest)
    );
    // A forged child: 422 with its verdict, nothing stored.
    let forged = forge(&f.code(9, "DRN-2980", "D1"));
    let bad = f.aggregation(
        "sscc:106141411234567811",
        vec![Child::from_scan(&forged).unwrap()],
    );
    let (status, v) = f.store(bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(
        v["children"][0]["verdict"]["verdict"], "bad-signature",
        "{v}"
    );
    // A manifest altered in one byte: 422 with the error kind.
    let mut altered = f.aggregation(
        "sscc:106141411234567811",
        vec![Child::from_scan(&f.code(10, "DRN-2980", "D1")).unwrap()],
    );
    let n = altered.len() - 1;
    altered[n] ^= 1;
    let (status, v) = f.store(altered).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let input = pg::off_runtime(|| f.storage.epcis_records(0).unwrap());
    assert_eq!(input.aggregations.len(), 2);
}
