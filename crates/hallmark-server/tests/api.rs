//! Every endpoint through `tower::ServiceExt::oneshot` (no socket), over each
//! storage backend (an in-memory SQLite database, and a scratch schema on a
//! real PostgreSQL server when one is reachable) that the tests inspect
//! directly.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use hallmark::{
    BatchManifest, Date, ManifestBatch, Payload, RevocationSnapshot, TrustStore, TrustedKey,
    VerdictKind, Verifier,
};
use hallmark_issuer::SecretKey;
use hallmark_server::auth::hash_token;
use hallmark_server::storage::{PostgresStorage, SqliteStorage, Storage, TokenScope};
use hallmark_server::{AppState, Settings, app};
use serde_json::{Value, json};
use tower::ServiceExt;

mod faulty;
mod pg;

/// 2026-11-23 12:00 UTC.
const NOW: u64 = 1_795_435_200;
const STATUS_TOKEN: &str = "hm_status_token_for_tests";
const BATCHES_TOKEN: &str = "hm_batches_token_for_tests";
const REVOKED_TOKEN: &str = "hm_revoked_token_for_tests";
const SCANS_TOKEN: &str = "hm_scans_token_for_tests";

struct Fixture {
    issuer: SecretKey,
    rev: SecretKey,
    trust: TrustStore,
    storage: Arc<dyn Storage>,
    /// Keeps the PostgreSQL schema until the test ends.
    _scratch: Option<pg::Scratch>,
    clock: Arc<AtomicU64>,
    state: AppState,
}

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn fixture_with(backend: Backend, revocation_key: bool) -> Fixture {
    let issuer = SecretKey::from_seed("issuer", &[1; 32]).unwrap();
    let rev = SecretKey::from_seed("rev", &[2; 32]).unwrap();
    let mut trust = TrustStore::new();
    trust
        .add(TrustedKey::new("issuer", issuer.public_key(), None, None).unwrap())
        .unwrap();
    trust
        .add(
            TrustedKey::new("rev", rev.public_key(), None, None)
                .unwrap()
                .with_revocation_signer(true),
        )
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
            .create_token("ops", TokenScope::Status, &hash_token(STATUS_TOKEN), 1)
            .unwrap();
        storage
            .create_token(
                "factory",
                TokenScope::Batches,
                &hash_token(BATCHES_TOKEN),
                1,
            )
            .unwrap();
        storage
            .create_token("gone", TokenScope::Status, &hash_token(REVOKED_TOKEN), 1)
            .unwrap();
        storage
            .create_token("scanner", TokenScope::Scans, &hash_token(SCANS_TOKEN), 1)
            .unwrap();
        assert!(storage.revoke_token("gone", 2).unwrap());
    });
    let clock = Arc::new(AtomicU64::new(NOW));
    let c = Arc::clone(&clock);
    let settings = Settings {
        clone_locations: 2,
        clone_window: 3600,
        clock: Arc::new(move || c.load(Ordering::SeqCst)),
        ..Settings::default()
    };
    let key = revocation_key.then(|| SecretKey::from_seed("rev", &[2; 32]).unwrap());
    let state = AppState::new(trust.clone(), storage.clone(), key, settings);
    Fixture {
        issuer,
        rev,
        trust,
        storage,
        _scratch: scratch,
        clock,
        state,
    }
}

fn fixture(backend: Backend) -> Fixture {
    fixture_with(backend, true)
}

/// Where a test's data lives.
enum Backend {
    Sqlite,
    Postgres(pg::Scratch),
}

/// Runs each `async fn(Backend)` test on SQLite and on PostgreSQL.
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

impl Fixture {
    /// Reads the storage directly, off the runtime's threads (the storage
    /// API blocks).
    fn db<T: Send>(&self, read: impl FnOnce(&dyn Storage) -> T + Send) -> T {
        pg::off_runtime(|| read(&*self.storage))
    }

    fn code_of(&self, payload: &Payload) -> String {
        self.issuer.sign_code(payload).unwrap()
    }

    fn code(&self, serial: u64, lot: &str) -> String {
        self.code_of(&Payload::new(serial, "DRN-2980", lot, d("2023-12-12")).unwrap())
    }

    fn kid(&self) -> String {
        self.issuer.kid().to_string()
    }

    async fn send(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> (StatusCode, HeaderMap, Bytes) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let response = app(self.state.clone())
            .oneshot(req.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, bytes)
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send("GET", uri, None, None, Body::empty()).await;
        (status, serde_json::from_slice(&body).unwrap())
    }

    async fn post_json(&self, uri: &str, token: Option<&str>, body: &Value) -> (StatusCode, Value) {
        let (status, _, bytes) = self
            .send(
                "POST",
                uri,
                token,
                Some("application/json"),
                body.to_string(),
            )
            .await;
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    async fn lookup(&self, code: &str) -> Value {
        let (status, v) = self.get(&format!("/v1/codes/{code}")).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }

    fn manifest(&self, batches: Vec<ManifestBatch>) -> Vec<u8> {
        let m = BatchManifest {
            kid: self.issuer.kid(),
            issued: NOW,
            batches,
        };
        self.issuer.sign_manifest(&m).unwrap()
    }

    async fn snapshot_bytes(&self) -> Bytes {
        let (status, _, bytes) = self
            .send("GET", "/v1/revocations/snapshot", None, None, Body::empty())
            .await;
        assert_eq!(status, StatusCode::OK);
        bytes
    }
}

fn batch(start: u64, count: u64, lot: &str) -> ManifestBatch {
    ManifestBatch {
        start,
        count,
        part: "DRN-2980".into(),
        lot: lot.into(),
        date: d("2023-12-12"),
        expiry: None,
        opaque: false,
        minted: NOW,
        batch_key: None,
    }
}

/// The code with one character of its payload changed: well-formed, but the
/// signature no longer verifies.
fn forge(code: &str) -> String {
    let mut c = code.to_owned().into_bytes();
    c[40] = if c[40] == b'A' { b'B' } else { b'A' };
    String::from_utf8(c).unwrap()
}

fn assert_error_shape(status: StatusCode, body: &[u8], what: &str) {
    assert!(
        status.is_client_error(),
        "{what}: expected 4xx, got {status}: {}",
        String::from_utf8_lossy(body)
    );
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", String::from_utf8_lossy(body)));
    assert!(
        v["error"].is_string() && v["detail"].is_string(),
        "{what}: {v}"
    );
}

async fn healthz(b: Backend) {
    let f = fixture(b);
    assert_eq!(
        f.get("/healthz").await,
        (StatusCode::OK, json!({"status": "ok"}))
    );
}

async fn lookup_gives_verdict_payload_status_and_scans(b: Backend) {
    let f = fixture(b);
    let code = f.code(42, "L1");
    let v = f.lookup(&code.to_lowercase()).await;
    assert_eq!(v["verdict"], "genuine");
    assert_eq!(v["code"], code.as_str());
    assert_eq!(v["kid"], f.kid());
    assert_eq!(v["payload"]["serial"], 42);
    assert_eq!(v["payload"]["lot"], "L1");
    assert_eq!(v["payload"]["date"], "2023-12-12");
    assert_eq!(v["status"], json!({"state": "active"}));
    assert_eq!(v["registered"], false);
    assert_eq!(v["scans"]["count"], 0);

    // Not genuine: a verdict, no payload.
    let v = f.lookup(&forge(&code)).await;
    assert_eq!(v["verdict"], "bad-signature", "{v}");
    assert!(v.get("payload").is_none());

    let stranger = SecretKey::from_seed("stranger", &[9; 32]).unwrap();
    let p = Payload::new(1, "X", "Y", d("2024-01-01")).unwrap();
    let foreign = stranger.sign_code(&p).unwrap();
    assert_eq!(f.lookup(&foreign).await["verdict"], "unknown-key");

    let expired = f.code_of(
        &Payload::new(7, "P", "L", d("2020-01-01"))
            .unwrap()
            .with_expiry(d("2021-01-01"))
            .unwrap(),
    );
    let v = f.lookup(&expired).await;
    assert_eq!(v["verdict"], "expired");
    assert_eq!(v["payload"]["expiry"], "2021-01-01");

    // Malformed: 400 with the verdict, never a 500.
    for bad in ["garbage", "0000", "ILOU", &"A".repeat(2000)] {
        let (status, _, body) = f
            .send(
                "GET",
                &format!("/v1/codes/{bad}"),
                None,
                None,
                Body::empty(),
            )
            .await;
        assert_error_shape(status, &body, bad);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (status, v["verdict"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed"))
        );
    }
}

/// Every way of failing authentication: 401, JSON, and nothing written.
async fn writes_without_a_valid_token_change_nothing(b: Backend) {
    let f = fixture(b);
    let code = f.code(42, "L1");
    let revoke = json!({"action": "revoke", "reason": "stolen", "code": code});
    let manifest = f.manifest(vec![batch(0, 100, "L1")]);
    let audit_before = f.db(|s| s.audit_log(100)).unwrap();
    let bad_tokens: [Option<&str>; 5] = [
        None,
        Some("hm_wrong"),
        Some(""),
        Some(REVOKED_TOKEN),
        Some(BATCHES_TOKEN), // wrong scope
    ];
    for token in bad_tokens {
        let (status, _, body) = f
            .send(
                "POST",
                "/v1/status",
                token,
                Some("application/json"),
                revoke.to_string(),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_error_shape(status, &body, "status");
    }
    for token in [
        None,
        Some("hm_wrong"),
        Some(REVOKED_TOKEN),
        Some(STATUS_TOKEN),
    ] {
        let (status, headers, body) = f
            .send(
                "POST",
                "/v1/batches",
                token,
                Some("application/octet-stream"),
                manifest.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        assert_error_shape(status, &body, "batches");
    }
    // Not "Bearer", or an absurdly long token.
    for auth in [
        "Basic b3BzOm9wcw==",
        "bearer x",
        &format!("Bearer {}", "x".repeat(10_000)),
    ] {
        let req = Request::post("/v1/status")
            .header(header::AUTHORIZATION, auth)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(revoke.to_string()))
            .unwrap();
        let r = app(f.state.clone()).oneshot(req).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Nothing changed.
    assert_eq!(f.db(|s| s.sequence()).unwrap(), 0);
    assert_eq!(f.db(|s| s.revocations()).unwrap().1, vec![]);
    assert_eq!(f.db(|s| s.audit_log(100)).unwrap(), audit_before);
    let p = Payload::new(42, "DRN-2980", "L1", d("2023-12-12")).unwrap();
    assert_eq!(f.db(|s| s.status(f.issuer.kid(), &p)).unwrap(), None);
    assert!(!f.db(|s| s.is_registered(f.issuer.kid(), &p)).unwrap());
    assert_eq!(f.lookup(&code).await["verdict"], "genuine");
}

async fn revoke_decommission_reactivate_show_in_lookups_and_audit(b: Backend) {
    let f = fixture(b);
    let code = f.code(42, "L1");
    let (status, v) = f
        .post_json(
            "/v1/status",
            Some(STATUS_TOKEN),
            &json!({"action": "revoke", "reason": "stolen", "code": code, "date": "2026-11-01"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // The sequence is derived from the clock (issue 18.9): NOW, then one up.
    assert_eq!(v["sequence"], NOW);
    assert_eq!(v["scope"], json!({"serial": 42}));
    let v = f.lookup(&code).await;
    assert_eq!(v["verdict"], "revoked");
    assert_eq!(v["status"]["state"], "revoked");
    assert_eq!(v["status"]["reason"], "stolen");
    assert_eq!(v["status"]["date"], "2026-11-01");

    // Reactivate by kid and serial: active again.
    let (status, _) = f
        .post_json(
            "/v1/status",
            Some(STATUS_TOKEN),
            &json!({"action": "reactivate", "kid": f.kid(), "serial": 42}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(f.lookup(&code).await["verdict"], "genuine");

    // A range decommissioned, a lot recalled, a key compromised from a date.
    for body in [
        json!({"action": "decommission", "kid": f.kid(), "range": {"first": 40, "last": 45}}),
        json!({"action": "revoke", "reason": "recalled", "kid": f.kid(), "lot": "L9"}),
        json!({"action": "revoke", "reason": "key-compromised", "kid": f.kid(), "key_from": "2024-01-01"}),
    ] {
        let (status, v) = f.post_json("/v1/status", Some(STATUS_TOKEN), &body).await;
        assert_eq!(status, StatusCode::OK, "{body}: {v}");
    }
    let v = f.lookup(&code).await;
    assert_eq!(
        (v["verdict"].as_str(), v["status"]["state"].as_str()),
        (Some("revoked"), Some("decommissioned"))
    );
    assert_eq!(
        f.lookup(&f.code(99, "L9")).await["status"]["reason"],
        "recalled"
    );
    assert_eq!(f.lookup(&f.code(99, "L1")).await["verdict"], "genuine");
    let later = f.code_of(&Payload::new(1, "P", "L1", d("2024-06-01")).unwrap());
    assert_eq!(
        f.lookup(&later).await["status"]["reason"],
        "key-compromised"
    );
    assert_eq!(f.db(|s| s.sequence()).unwrap(), NOW + 4);
    let audit = f.db(|s| s.audit_log(100)).unwrap();
    let writes: Vec<_> = audit
        .iter()
        .filter(|a| a.token == "ops")
        .map(|a| (a.action.as_str(), a.target.as_str()))
        .collect();
    let kid = f.kid();
    assert_eq!(
        writes,
        [
            ("revoke", format!("{kid} serial 42").as_str()),
            ("reactivate", format!("{kid} serial 42").as_str()),
            ("decommission", format!("{kid} range 40-45").as_str()),
            ("revoke", format!("{kid} lot L9").as_str()),
            ("revoke", format!("{kid} key from 2024-01-01").as_str()),
        ]
    );
}

async fn invalid_status_requests_are_400_and_change_nothing(b: Backend) {
    let f = fixture(b);
    let kid = f.kid();
    let bad = [
        json!({}),
        json!({"action": "revoke", "kid": kid, "serial": 1}),
        json!({"action": "revoke", "reason": "bored", "kid": kid, "serial": 1}),
        json!({"action": "revoke", "reason": "decommissioned", "kid": kid, "serial": 1}),
        json!({"action": "decommission", "reason": "stolen", "kid": kid, "serial": 1}),
        json!({"action": "explode", "kid": kid, "serial": 1}),
        json!({"action": "decommission", "serial": 1}),
        json!({"action": "decommission", "kid": "zz", "serial": 1}),
        json!({"action": "decommission", "kid": kid}),
        json!({"action": "decommission", "kid": kid, "serial": 1, "lot": "L1"}),
        json!({"action": "decommission", "kid": kid, "serial": -1}),
        json!({"action": "decommission", "kid": kid, "serial": 1.5}),
        json!({"action": "decommission", "kid": kid, "serial": "1"}),
        json!({"action": "decommission", "kid": kid, "range": {"first": 9, "last": 1}}),
        json!({"action": "decommission", "kid": kid, "lot": ""}),
        json!({"action": "decommission", "kid": kid, "lot": "x".repeat(65)}),
        json!({"action": "decommission", "kid": kid, "key_from": "2024-02-30"}),
        json!({"action": "decommission", "kid": kid, "serial": 1, "date": "yesterday"}),
        json!({"action": "decommission", "kid": kid, "serial": 1, "extra": true}),
        json!({"action": "decommission", "code": "garbage"}),
        json!({"action": "decommission", "code": f.code(1, "L1"), "kid": "00000000"}),
        json!([1, 2, 3]),
        json!("revoke"),
        json!(null),
    ];
    for body in bad {
        let (status, _, bytes) = f
            .send(
                "POST",
                "/v1/status",
                Some(STATUS_TOKEN),
                Some("application/json"),
                body.to_string(),
            )
            .await;
        assert_error_shape(status, &bytes, &body.to_string());
    }
    assert_eq!(f.db(|s| s.sequence()).unwrap(), 0);
}

async fn scans_raise_revocation_clone_and_unregistered_alerts(b: Backend) {
    let f = fixture(b);
    let code = f.code(42, "L1");
    let scan = |location: &str| json!({"code": code, "location": location, "scanner": "app-1"});
    let alerts = |v: &Value| -> Vec<String> {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["alert"].as_str().unwrap().to_owned())
            .collect()
    };

    // Unregistered until a manifest covering it is pushed.
    let (status, v) = f.post_json("/v1/scans", None, &scan("Paris")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["recorded"], true);
    assert_eq!(alerts(&v), ["unregistered-serial"]);
    let (status, _, body) = f
        .send(
            "POST",
            "/v1/batches",
            Some(BATCHES_TOKEN),
            Some("application/octet-stream"),
            f.manifest(vec![batch(0, 100, "L1"), batch(100, 50, "L2")]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (v["batches"].as_u64(), v["new"].as_u64()),
        (Some(2), Some(2))
    );
    let (_, v) = f.post_json("/v1/scans", None, &scan("Paris")).await;
    assert_eq!(alerts(&v), Vec::<String>::new());
    // The right serial range but the wrong lot is not registered.
    let wrong_lot = f.code(120, "L1");
    let (_, v) = f
        .post_json("/v1/scans", None, &json!({"code": wrong_lot}))
        .await;
    assert_eq!(alerts(&v), ["unregistered-serial"]);

    // An authenticated scanner's locations: two distinct locations are fine
    // (N = 2); a third within the hour is not.
    let trusted = Some(SCANS_TOKEN);
    let (_, v) = f.post_json("/v1/scans", trusted, &scan("Paris")).await;
    assert_eq!(alerts(&v), Vec::<String>::new());
    let (_, v) = f.post_json("/v1/scans", trusted, &scan("Lyon")).await;
    assert_eq!(alerts(&v), Vec::<String>::new());
    let (_, v) = f.post_json("/v1/scans", trusted, &scan("Oslo")).await;
    assert_eq!(alerts(&v), ["clone-suspected"]);
    assert_eq!(v["scans"]["count"], 5);
    assert_eq!(v["scans"]["trusted_locations_in_window"], 3);
    assert_eq!(v["scans"]["locations_in_window"], 3);
    // Two hours later the window has moved on.
    f.clock.fetch_add(7200, Ordering::SeqCst);
    let (_, v) = f.post_json("/v1/scans", trusted, &scan("Oslo")).await;
    assert_eq!(alerts(&v), Vec::<String>::new());

    // Scanned after decommission, then after revocation.
    f.post_json(
        "/v1/status",
        Some(STATUS_TOKEN),
        &json!({"action": "decommission", "code": code}),
    )
    .await;
    let (_, v) = f.post_json("/v1/scans", None, &scan("Oslo")).await;
    assert_eq!(alerts(&v), ["scanned-after-decommission"]);
    f.post_json(
        "/v1/status",
        Some(STATUS_TOKEN),
        &json!({"action": "revoke", "reason": "counterfeit-reported", "code": code}),
    )
    .await;
    let (_, v) = f.post_json("/v1/scans", None, &scan("Oslo")).await;
    assert_eq!(alerts(&v), ["scanned-after-revocation"]);
    assert_eq!(v["verdict"], "revoked");

    // A forged code is answered but not recorded.
    let (status, v) = f
        .post_json("/v1/scans", None, &json!({"code": forge(&code)}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["recorded"], false);
    let summary = f.db(|s| s.scan_summary(f.issuer.kid(), 42, 0)).unwrap();
    assert_eq!(summary.count, 8);
    assert_eq!(f.lookup(&code).await["scans"]["count"], 8);

    // Bad scan bodies.
    for body in [
        json!({}),
        json!({"code": 5}),
        json!({"code": code, "location": "x".repeat(129)}),
        json!({"code": code, "location": "a\u{0}b"}),
        json!({"code": code, "where": "here"}),
        json!({"code": "not a code"}),
    ] {
        let (status, _, bytes) = f
            .send(
                "POST",
                "/v1/scans",
                None,
                Some("application/json"),
                body.to_string(),
            )
            .await;
        assert_error_shape(status, &bytes, &body.to_string());
    }
    assert_eq!(
        f.db(|s| s.scan_summary(f.issuer.kid(), 42, 0))
            .unwrap()
            .count,
        8
    );
}

async fn batches_refuse_bad_manifests_and_register_idempotently(b: Backend) {
    let f = fixture(b);
    let good = f.manifest(vec![batch(0, 10, "L1")]);
    let mut tampered = good.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let stranger = SecretKey::from_seed("stranger", &[9; 32]).unwrap();
    let m = BatchManifest {
        kid: stranger.kid(),
        issued: NOW,
        batches: vec![batch(0, 1, "L1")],
    };
    let foreign = stranger.sign_manifest(&m).unwrap();
    for (what, body) in [
        ("empty", Vec::new()),
        ("garbage", b"hello".to_vec()),
        ("tampered", tampered),
        ("unknown key", foreign),
        ("truncated", good[..good.len() / 2].to_vec()),
    ] {
        let (status, _, bytes) = f
            .send(
                "POST",
                "/v1/batches",
                Some(BATCHES_TOKEN),
                Some("application/octet-stream"),
                body,
            )
            .await;
        assert_error_shape(status, &bytes, what);
    }
    for expected_new in [1, 0] {
        let (status, _, bytes) = f
            .send(
                "POST",
                "/v1/batches",
                Some(BATCHES_TOKEN),
                None,
                good.clone(),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["new"], expected_new);
    }
    let audit = f.db(|s| s.audit_log(100)).unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|a| a.action == "register-batches")
            .count(),
        2
    );
    assert_eq!(audit.last().unwrap().token, "factory");
}

async fn snapshot_verifies_offline_and_honours_etags(b: Backend) {
    let f = fixture(b);
    let revoked = f.code(42, "L1");
    let expired_revoked = f.code_of(
        &Payload::new(43, "DRN-2980", "L1", d("2020-01-01"))
            .unwrap()
            .with_expiry(d("2021-01-01"))
            .unwrap(),
    );
    let expired = f.code_of(
        &Payload::new(44, "DRN-2980", "L1", d("2020-01-01"))
            .unwrap()
            .with_expiry(d("2021-01-01"))
            .unwrap(),
    );
    let genuine = f.code(45, "L1");
    let in_lot = f.code(46, "L5");

    let empty = f.snapshot_bytes().await;
    let s = RevocationSnapshot::verify(&empty, &f.trust).unwrap();
    assert_eq!((s.sequence, s.issued, s.revocations().len()), (0, NOW, 0));
    assert_eq!(s.signer, Some(f.rev.kid()));

    for body in [
        json!({"action": "revoke", "reason": "stolen", "code": revoked}),
        json!({"action": "revoke", "reason": "destroyed", "code": expired_revoked}),
        json!({"action": "decommission", "kid": f.kid(), "lot": "L5"}),
        json!({"action": "revoke", "reason": "recalled", "kid": f.kid(), "range": {"first": 1000, "last": u64::MAX}}),
    ] {
        let (status, v) = f.post_json("/v1/status", Some(STATUS_TOKEN), &body).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let (status, headers, bytes) = f
        .send("GET", "/v1/revocations/snapshot", None, None, Body::empty())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    let snapshot = RevocationSnapshot::verify(&bytes, &f.trust).unwrap();
    assert_eq!(snapshot.sequence, NOW + 3);
    assert_eq!(snapshot.revocations().len(), 4);

    // The server's verdicts and the offline verifier's agree on every code.
    let today = Date::from_days(NOW / 86_400).unwrap();
    let offline = Verifier::new(&f.trust, today).with_revocations(&snapshot, NOW, u64::MAX);
    for code in [&revoked, &expired_revoked, &expired, &genuine, &in_lot] {
        let server = f.lookup(code).await;
        assert_eq!(
            server["verdict"].as_str(),
            Some(offline.verify(code).kind().as_str()),
            "{server}"
        );
    }
    assert_eq!(
        offline.verify(&expired_revoked).kind(),
        VerdictKind::Revoked
    );
    assert_eq!(offline.verify(&in_lot).kind(), VerdictKind::Revoked);

    // Unchanged: the same bytes, and 304 for a matching If-None-Match.
    assert_eq!(f.snapshot_bytes().await, bytes);
    for inm in [
        etag.clone(),
        format!("\"x\", {etag}"),
        format!("W/{etag}"),
        "*".into(),
    ] {
        let req = Request::get("/v1/revocations/snapshot")
            .header(header::IF_NONE_MATCH, inm.as_str())
            .body(Body::empty())
            .unwrap();
        let r = app(f.state.clone()).oneshot(req).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{inm}");
        assert_eq!(r.headers()[header::ETAG], etag.as_str());
    }
    // A write changes the ETag and the sequence.
    f.post_json(
        "/v1/status",
        Some(STATUS_TOKEN),
        &json!({"action": "reactivate", "code": revoked}),
    )
    .await;
    let req = Request::get("/v1/revocations/snapshot")
        .header(header::IF_NONE_MATCH, etag.as_str())
        .body(Body::empty())
        .unwrap();
    let r = app(f.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_ne!(r.headers()[header::ETAG], etag.as_str());
    let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    let s = RevocationSnapshot::verify(&bytes, &f.trust).unwrap();
    assert_eq!((s.sequence, s.revocations().len()), (NOW + 4, 3));
    // Refreshed (new issue time) once older than the refresh interval.
    f.clock.fetch_add(3601, Ordering::SeqCst);
    let s = RevocationSnapshot::verify(&f.snapshot_bytes().await, &f.trust).unwrap();
    assert_eq!((s.sequence, s.issued), (NOW + 4, NOW + 3601));
}

async fn snapshot_without_a_revocation_key_is_a_json_404(b: Backend) {
    let f = fixture_with(b, false);
    let (status, v) = f.get("/v1/revocations/snapshot").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"], "no-revocation-key");
}

/// Garbage in every path, method and body: always a 4xx JSON `{error, detail}`.
async fn garbage_never_gets_a_5xx(b: Backend) {
    let f = fixture(b);
    let big = vec![b'{'; hallmark_server::MAX_JSON_BODY + 1];
    let invalid_utf8: &[u8] = &[0xff, 0xfe, b'{'];
    let paths = [
        "/",
        "/v1",
        "/v1/codes",
        "/v1/codes/",
        "/v1/codes/%FF%FE",
        "/v1/codes/%00",
        "/v1/codes/a%2Fb",
        "/v1/codes/http:%2F%2Fexample.com%2Fc%2FABC",
        "/v1/codes/0630-HCDQ-MG01",
        "/v1/codes/x/y",
        "/v1/scans/1",
        "/v1/revocations",
        "/healthz/x",
        "/../../etc/passwd",
    ];
    for path in paths {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let (status, _, body) = f
                .send(
                    method,
                    path,
                    Some(STATUS_TOKEN),
                    Some("application/json"),
                    "{}",
                )
                .await;
            if status.is_success() {
                continue;
            }
            assert_error_shape(status, &body, &format!("{method} {path}"));
        }
    }
    let bodies: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        ("/v1/scans", Some("application/json"), big.clone()),
        ("/v1/scans", Some("application/json"), invalid_utf8.to_vec()),
        ("/v1/scans", Some("application/json"), b"".to_vec()),
        ("/v1/scans", Some("application/json"), b"{\"code\":".to_vec()),
        ("/v1/scans", Some("text/plain"), b"{\"code\":\"x\"}".to_vec()),
        ("/v1/scans", None, b"{\"code\":\"x\"}".to_vec()),
        ("/v1/scans", Some("application/json"), b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec()),
        ("/v1/scans", Some("application/json"), format!("{{\"code\":\"{}\"}}", "A".repeat(60_000)).into_bytes()),
        ("/v1/status", Some("application/json"), big.clone()),
        ("/v1/status", Some("application/json"), invalid_utf8.to_vec()),
        ("/v1/status", Some("text/plain"), b"{}".to_vec()),
        ("/v1/status", Some("application/json"), b"{\"action\":\"revoke\",\"reason\":\"stolen\",\"kid\":\"00000000\",\"serial\":18446744073709551616}".to_vec()),
        ("/v1/batches", Some("application/octet-stream"), big.clone()),
        ("/v1/batches", Some("application/octet-stream"), vec![1; 300]),
    ];
    for (path, ct, body) in bodies {
        let token = if path == "/v1/batches" {
            BATCHES_TOKEN
        } else {
            STATUS_TOKEN
        };
        let (status, _, bytes) = f.send("POST", path, Some(token), ct, body).await;
        assert_error_shape(status, &bytes, &format!("POST {path} {ct:?}"));
    }
    // Over the manifest limit.
    let huge = vec![0u8; hallmark::MAX_MANIFEST_BYTES + 2048];
    let (status, _, bytes) = f
        .send("POST", "/v1/batches", Some(BATCHES_TOKEN), None, huge)
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error_shape(status, &bytes, "huge manifest");
    assert_eq!(f.db(|s| s.sequence()).unwrap(), 0);
}

#[tokio::test]
async fn error_responses_made_by_layers_get_the_json_shape() {
    // What the timeout (408) and limit (413) layers return is plain; the
    // response middleware rewrites it, keeping headers such as Allow.
    use axum::response::IntoResponse;
    for status in [
        StatusCode::REQUEST_TIMEOUT,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::SERVICE_UNAVAILABLE,
    ] {
        let mut plain = (status, "plain text").into_response();
        plain
            .headers_mut()
            .insert(header::ALLOW, "GET".parse().unwrap());
        let r = hallmark_server::error::json_errors(plain);
        assert_eq!(r.status(), status);
        assert_eq!(r.headers()[header::ALLOW], "GET");
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(v["error"].is_string() && v["detail"].is_string(), "{v}");
    }
}

async fn code_page_is_plain_escaped_html_for_every_verdict(b: Backend) {
    let f = fixture(b);
    let html = |bytes: &Bytes| String::from_utf8(bytes.to_vec()).unwrap();
    // A genuine code whose lot carries HTML: escaped, never markup.
    let tricky = f.code_of(&Payload::new(7, "<b>P&Q</b>", "L\"1'", d("2023-12-12")).unwrap());
    for prefix in ["/c/", "/C/"] {
        let (status, headers, body) = f
            .send(
                "GET",
                &format!("{prefix}{tricky}"),
                None,
                None,
                Body::empty(),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let page = html(&body);
        assert!(page.contains("</span> Genuine</h1>"), "{page}");
        assert!(
            page.contains("&lt;b&gt;P&amp;Q&lt;/b&gt;") && page.contains("L&quot;1&#39;"),
            "{page}"
        );
        assert!(!page.contains("<b>P&Q"), "unescaped payload");
        assert!(!page.contains("<script"), "no JavaScript");
    }
    // Revoked.
    let code = f.code(8, "L1");
    let (status, _) = f
        .post_json(
            "/v1/status",
            Some(STATUS_TOKEN),
            &json!({"action": "revoke", "reason": "stolen", "code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, body) = f
        .send("GET", &format!("/c/{code}"), None, None, Body::empty())
        .await;
    assert!(
        html(&body).contains("Warning: do not use") && html(&body).contains("stolen"),
        "{}",
        html(&body)
    );
    // Forged and malformed.
    let (status, _, body) = f
        .send(
            "GET",
            &format!("/c/{}", forge(&f.code(9, "L1"))),
            None,
            None,
            Body::empty(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html(&body).contains("Not genuine"));
    let (status, _, body) = f
        .send("GET", "/c/%3Cscript%3E", None, None, Body::empty())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html(&body).contains("Unreadable code") && !html(&body).contains("<script"));
}

async fn keys_and_readiness(b: Backend) {
    let f = fixture(b);
    let (status, v) = f.get("/v1/keys").await;
    assert_eq!(status, StatusCode::OK);
    let keys = v["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kid"], f.kid());
    assert_eq!(keys[1]["revocation_signer"], true);
    assert_eq!(v["revocation_key"], f.rev.kid().to_string());
    let (status, v) = f.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["status"], "ready");
}

async fn public_reads_are_rate_limited_per_client(b: Backend) {
    let f = fixture(b);
    let settings = Settings {
        rate_limit_per_minute: 60,
        rate_limit_burst: 3,
        clock: Arc::new(|| NOW),
        ..Settings::default()
    };
    let state = AppState::new(f.trust.clone(), f.storage.clone(), None, settings);
    let code = f.code(1, "L1");
    let get = |ip: [u8; 4], uri: String| {
        let state = state.clone();
        async move {
            let mut req = Request::builder().uri(uri).body(Body::empty()).unwrap();
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                    ip, 40_000,
                ))));
            app(state).oneshot(req).await.unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(
            get([10, 0, 0, 1], format!("/v1/codes/{code}"))
                .await
                .status(),
            StatusCode::OK
        );
    }
    let limited = get([10, 0, 0, 1], format!("/c/{code}")).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key(header::RETRY_AFTER));
    // A page route answers people with an HTML page; /v1 stays JSON.
    let body = axum::body::to_bytes(limited.into_body(), usize::MAX)
        .await
        .unwrap();
    let page = String::from_utf8_lossy(&body);
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("Too many checks"),
        "{page}"
    );
    let limited = get([10, 0, 0, 1], format!("/v1/codes/{code}")).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = axum::body::to_bytes(limited.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_error_shape(StatusCode::TOO_MANY_REQUESTS, &body, "429");
    // Another client is not affected; health checks are never limited.
    assert_eq!(
        get([10, 0, 0, 2], format!("/v1/codes/{code}"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        get([10, 0, 0, 1], "/healthz".to_owned()).await.status(),
        StatusCode::OK
    );
}

/// utoipa tags an operation with its handler's module path unless told
/// otherwise; the tags are pinned so that moving a handler does not change
/// the served document.
#[test]
fn openapi_tags_do_not_follow_handler_modules() {
    let doc: Value = serde_json::from_str(&hallmark_server::openapi::openapi_json()).unwrap();
    for (path, method, tag) in [
        ("/healthz", "get", "crate::routes"),
        ("/v1/codes/{code}", "get", "crate::routes"),
        ("/v1/scans", "post", "crate::routes"),
        ("/v1/status", "post", "crate::routes"),
        ("/v1/batches", "post", "crate::routes"),
        ("/v1/revocations/snapshot", "get", "crate::routes"),
        ("/readyz", "get", "crate::pages"),
        ("/v1/keys", "get", "crate::pages"),
        ("/c/{code}", "get", "crate::pages"),
        ("/01/{gtin}/21/{serial}", "get", "crate::pages"),
    ] {
        assert_eq!(
            doc["paths"][path][method]["tags"],
            serde_json::json!([tag]),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let f = fixture(Backend::Sqlite);
    let (status, doc) = f.get("/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut paths: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "GET /01/{gtin}/21/{serial}",
            "GET /c/{code}",
            "GET /c/{code}/register",
            "GET /healthz",
            "GET /readyz",
            "GET /v1/codes/{code}",
            "GET /v1/codes/{code}/events",
            "GET /v1/keys",
            "GET /v1/lots/{part}/{lot}/events",
            "GET /v1/reports",
            "GET /v1/revocations/snapshot",
            "GET /v1/trust/bundle",
            "POST /c/{code}/register",
            "POST /c/{code}/report",
            "POST /v1/batches",
            "POST /v1/codes/{code}/events",
            "POST /v1/lots/{part}/{lot}/events",
            "POST /v1/registrations",
            "POST /v1/reports",
            "POST /v1/scans",
            "POST /v1/status",
            "POST /v1/transfers",
            "POST /v1/transfers/accept",
        ]
    );
    for schema in [
        "CodeReport",
        "ErrorBody",
        "StatusRequest",
        "ScanRequest",
        "StatusChanged",
        "Gs1Body",
        "RegistrationRequest",
        "RegistrationBody",
        "TransferRequest",
        "TransferBody",
        "AcceptRequest",
        "AcceptBody",
        "NewEventBody",
        "MeasurementBody",
        "EventStored",
        "EventsBody",
        "NewReportBody",
        "ReportStored",
        "ReportsBody",
        "RegisterForm",
        "ReportForm",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["scheme"],
        "bearer"
    );
}

/// Routes the router has that the document does not describe yet, each with
/// why. Each must still be a route, and still be missing (document it, then
/// strike it here).
const UNDOCUMENTED: [(&str, &str); 8] = [
    ("GET /openapi.json", "the document itself"),
    (
        "GET /C/{code}",
        "the upper-case twin of GET /c/{code} (same handler)",
    ),
    (
        "POST /v1/aggregations",
        "parents issue: the graph routes answer untyped JSON",
    ),
    (
        "GET /v1/aggregations/{parent}",
        "parents issue: untyped JSON",
    ),
    ("POST /v1/links", "parents issue: untyped JSON"),
    ("POST /v1/links/{id}/remove", "parents issue: untyped JSON"),
    ("GET /v1/trace", "parents issue: untyped JSON"),
    (
        "GET /v1/epcis/events",
        "parents issue: an EPCIS document (docs/EPCIS.md)",
    ),
];

/// `METHOD /path` of every route `app()` in `src/router.rs` declares:
/// `.route("PATH", get(..).post(..))`, the method routers read off the
/// source (axum has no list of a router's routes).
fn router_routes() -> Vec<String> {
    let source = include_str!("../src/router.rs");
    let app = source
        .split("pub fn app(")
        .nth(1)
        .and_then(|s| s.split("\npub fn ").next())
        .expect("fn app in router.rs");
    let mut out = Vec::new();
    for chunk in app.split(".route(").skip(1) {
        let path = chunk
            .split('"')
            .nth(1)
            .expect("a route's path is its first string");
        // The method router: up to the next builder call on the Router.
        let end = [
            ".route_layer(",
            ".merge(",
            "\n        .",
            "\n                .",
        ]
        .iter()
        .filter_map(|m| chunk.find(m))
        .min()
        .unwrap_or(chunk.len());
        let methods = &chunk[..end];
        for method in ["get", "post", "put", "patch", "delete"] {
            let found = methods.match_indices(&format!("{method}(")).any(|(i, _)| {
                i == 0
                    || !methods.as_bytes()[i - 1].is_ascii_alphanumeric()
                        && methods.as_bytes()[i - 1] != b'_'
                        && methods.as_bytes()[i - 1] != b':'
            });
            if found {
                out.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn router_routes_reads_every_route_of_the_router() {
    let routes = router_routes();
    // A handful with every shape the source uses: one method, a layered
    // method router, two methods, a wildcard, a route inside a merge.
    for route in [
        "GET /healthz",
        "POST /v1/batches",
        "GET /v1/codes/{code}/events",
        "POST /v1/codes/{code}/events",
        "GET /01/{*link}",
        "GET /c/{code}/register",
        "POST /c/{code}/register",
        "POST /v1/reports",
    ] {
        assert!(routes.contains(&route.to_owned()), "{route}: {routes:?}");
    }
    assert!(!routes.iter().any(|r| r.contains("/metrics")), "{routes:?}");
    assert!(routes.len() >= 30, "{routes:?}");
}

#[test]
fn every_route_of_the_router_is_in_the_openapi_document() {
    let doc: Value = serde_json::from_str(&hallmark_server::openapi::openapi_json()).unwrap();
    let documented: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    // `{*rest}` (a wildcard) is described by the paths it serves.
    let described = |route: &str| match route.split_once("{*") {
        Some((prefix, _)) => documented.iter().any(|d| d.starts_with(prefix)),
        None => documented.iter().any(|d| d == route),
    };
    let routes = router_routes();
    let missing: Vec<&String> = routes
        .iter()
        .filter(|r| !described(r) && !UNDOCUMENTED.iter().any(|(u, _)| u == r))
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from /openapi.json: {missing:?}"
    );
    for (route, why) in UNDOCUMENTED {
        assert!(
            routes.iter().any(|r| r == route),
            "{route} ({why}) is no route"
        );
        assert!(
            !described(route),
            "{route} is documented now: strike it from UNDOCUMENTED"
        );
    }
    // And nothing documented that the router does not serve.
    for d in &documented {
        let served = routes.iter().any(|r| match r.split_once("{*") {
            Some((prefix, _)) => d.starts_with(prefix),
            None => r == d,
        });
        assert!(served, "{d} is in /openapi.json but no route");
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_verdicts() {
    let f = fixture(Backend::Sqlite);
    let code = f.code(42, "L1");
    assert_eq!(f.lookup(&code).await["verdict"], "genuine");
    assert_eq!(f.lookup(&forge(&code)).await["verdict"], "bad-signature");
    let (status, _) = f.get("/v1/codes/not-a-code").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let response = hallmark_server::metrics_app(f.state.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    for line in [
        "hallmark_http_requests_total{method=\"GET\",route=\"/v1/codes/{code}\",status=\"200\"} 2",
        "hallmark_http_requests_total{method=\"GET\",route=\"/v1/codes/{code}\",status=\"400\"} 1",
        "hallmark_verdicts_total{word=\"genuine\"} 1",
        "hallmark_verdicts_total{word=\"bad-signature\"} 1",
        "hallmark_verdicts_total{word=\"malformed\"} 1",
    ] {
        assert!(text.contains(line), "{line} not in\n{text}");
    }
    assert!(text.contains("hallmark_http_request_duration_seconds_bucket{"));
    assert!(!text.contains(&code), "codes never become labels");
}

on_every_backend!(
    healthz,
    lookup_gives_verdict_payload_status_and_scans,
    writes_without_a_valid_token_change_nothing,
    revoke_decommission_reactivate_show_in_lookups_and_audit,
    invalid_status_requests_are_400_and_change_nothing,
    scans_raise_revocation_clone_and_unregistered_alerts,
    regression_anonymous_scans_from_invented_locations_do_not_flag_clone_suspected,
    batches_refuse_bad_manifests_and_register_idempotently,
    snapshot_verifies_offline_and_honours_etags,
    snapshot_without_a_revocation_key_is_a_json_404,
    garbage_never_gets_a_5xx,
    code_page_is_plain_escaped_html_for_every_verdict,
    keys_and_readiness,
    public_reads_are_rate_limited_per_client,
    receipts_verify_and_keep_the_first_registration_time,
    max_count_is_enforced_across_requests_and_concurrently,
    compromise_spares_only_codes_in_batches_registered_before_it,
    bundle_verifies_against_roots_only_and_honours_etags,
);

/// Issue 18.7: four anonymous scans from invented locations flagged any
/// genuine code `clone-suspected`. Anonymous reports now count only past the
/// higher anonymous threshold (10 by default), authenticated scanners' past
/// `clone_locations` (2 here); a token that is not a `scans` token is refused
/// rather than counted as anonymous.
async fn regression_anonymous_scans_from_invented_locations_do_not_flag_clone_suspected(
    b: Backend,
) {
    let f = fixture(b);
    let code = f.code(7, "L1");
    let clone_alerts = |v: &Value| {
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["alert"] == "clone-suspected")
            .count()
    };
    let threshold = Settings::default().scans.anonymous_clone_locations;
    assert!(threshold > f.state.settings().clone_locations + 2);
    for i in 0..threshold {
        let body = json!({"code": code, "location": format!("invented-{i}")});
        let (status, v) = f.post_json("/v1/scans", None, &body).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(clone_alerts(&v), 0, "anonymous scan {i}: {v}");
        assert_eq!(v["scans"]["trusted_locations_in_window"], 0);
    }
    let body = json!({"code": code, "location": "one-too-many"});
    let (_, v) = f.post_json("/v1/scans", None, &body).await;
    assert_eq!(clone_alerts(&v), 1, "past the anonymous threshold: {v}");
    let clone = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alert"] == "clone-suspected")
        .unwrap();
    assert!(
        clone["detail"].as_str().unwrap().contains("anonymous"),
        "{clone}"
    );

    // Wrong tokens on a scan: 401, nothing recorded.
    let before = f
        .db(|s| s.scan_summary(f.issuer.kid(), 7, 0))
        .unwrap()
        .count;
    for token in [STATUS_TOKEN, REVOKED_TOKEN, "hm_nonsense"] {
        let (status, v) = f.post_json("/v1/scans", Some(token), &body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}: {v}");
    }
    let after = f
        .db(|s| s.scan_summary(f.issuer.kid(), 7, 0))
        .unwrap()
        .count;
    assert_eq!(before, after);
}

/// An app over a [`faulty::Faulty`] storage with the fixture's keys.
fn faulty_app(f: &Fixture, storage: Arc<faulty::Faulty>, settings: Settings) -> AppState {
    let key = SecretKey::from_seed("rev", &[2; 32]).unwrap();
    AppState::new(f.trust.clone(), storage, Some(key), settings)
}

async fn get_from(state: &AppState, uri: &str) -> (StatusCode, HeaderMap, Bytes) {
    let response = app(state.clone())
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, body)
}

/// Issue 18.10: `/readyz` answered 200 while every write failed, and 408 (the
/// request timeout) instead of 503 when the database hung. It probes with a
/// write and answers 503 with the JSON error body within half the request
/// timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_readyz_is_503_json_when_writes_fail_or_the_database_hangs() {
    let f = fixture(Backend::Sqlite);
    let storage = Arc::new(faulty::Faulty::new());
    let settings = Settings {
        request_timeout: std::time::Duration::from_secs(2),
        ..Settings::default()
    };
    let state = faulty_app(&f, Arc::clone(&storage), settings);
    let (status, _, body) = get_from(&state, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));

    storage.fail_writes.store(true, Ordering::SeqCst);
    let (status, _, body) = get_from(&state, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"], "not-ready", "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("refuses writes"),
        "{v}"
    );
    storage.fail_writes.store(false, Ordering::SeqCst);

    storage.hang.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let (status, _, body) = get_from(&state, "/readyz").await;
    let took = started.elapsed();
    storage.release();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "not 408");
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"], "not-ready", "{v}");
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
}

/// Issue 18.10: after a change, every concurrent snapshot request rebuilt
/// (read every revocation and signed). They now share one build: the first
/// builds while the others wait for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regression_snapshot_is_built_once_for_concurrent_requests_after_a_change() {
    const REQUESTS: u64 = 8;
    let f = fixture(Backend::Sqlite);
    let storage = Arc::new(faulty::Faulty::new());
    let state = faulty_app(
        &f,
        Arc::clone(&storage),
        Settings {
            clock: Arc::new(|| NOW),
            ..Settings::default()
        },
    );
    let (status, _, _) = get_from(&state, "/v1/revocations/snapshot").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state.metrics().snapshot_builds(), 1);
    let change = hallmark_server::storage::StatusChange {
        kid: f.issuer.kid(),
        scope: hallmark::Scope::Serial(5),
        action: hallmark_server::storage::Action::Decommission,
        date: d("2026-11-01"),
    };
    let s = Arc::clone(&storage);
    pg::off_runtime(move || s.change_status(&change, "t", NOW)).unwrap();
    storage.gate_revocations.store(true, Ordering::SeqCst);
    let (before_seq, before_rev) = (
        storage.sequence_calls.load(Ordering::SeqCst),
        storage.revocations_calls.load(Ordering::SeqCst),
    );
    let requests: Vec<_> = (0..REQUESTS)
        .map(|_| {
            let state = state.clone();
            tokio::spawn(async move { get_from(&state, "/v1/revocations/snapshot").await })
        })
        .collect();
    // Every request has read the sequence and one build is under way (held
    // at the gate): any request that would build again has had its chance.
    let s = Arc::clone(&storage);
    tokio::task::spawn_blocking(move || {
        s.wait_until(|s| {
            s.sequence_calls.load(Ordering::SeqCst) >= before_seq + REQUESTS
                && s.revocations_calls.load(Ordering::SeqCst) > before_rev
        });
    })
    .await
    .unwrap();
    storage.release();
    let mut etags = std::collections::BTreeSet::new();
    for r in requests {
        let (status, headers, _) = r.await.unwrap();
        assert_eq!(status, StatusCode::OK);
        etags.insert(headers[header::ETAG].to_str().unwrap().to_owned());
    }
    assert_eq!(etags.len(), 1, "{etags:?}");
    assert_eq!(
        storage.revocations_calls.load(Ordering::SeqCst) - before_rev,
        1,
        "one build for {REQUESTS} requests"
    );
    assert_eq!(state.metrics().snapshot_builds(), 2);
}

/// The typed `StatusRequest` (serde builds reason, kid and dates from their
/// strings and checks the action and its one target) says which field was
/// wrong, with the 400 `invalid-request` of every other bad status request.
#[tokio::test]
async fn typed_status_requests_name_what_was_wrong() {
    let f = fixture(Backend::Sqlite);
    let kid = f.kid();
    for (body, expect) in [
        (
            json!({"action": "revoke", "reason": "bored", "kid": kid, "serial": 1}),
            "reason",
        ),
        (
            json!({"action": "decommission", "kid": "zz", "serial": 1}),
            "kid",
        ),
        (
            json!({"action": "decommission", "kid": kid, "key_from": "2024-02-30"}),
            "key_from",
        ),
        (
            json!({"action": "decommission", "kid": kid, "serial": 1, "date": "x"}),
            "date",
        ),
        (
            json!({"action": "explode", "kid": kid, "serial": 1}),
            "action",
        ),
        (
            json!({"action": "revoke", "kid": kid, "serial": 1}),
            "needs a reason",
        ),
        (
            json!({"action": "reactivate", "kid": kid}),
            "exactly one target",
        ),
        (
            json!({"action": "decommission", "serial": 1}),
            "kid is required",
        ),
    ] {
        let (status, v) = f.post_json("/v1/status", Some(STATUS_TOKEN), &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {v}");
        assert_eq!(v["error"], "invalid-request", "{body}: {v}");
        assert!(
            v["detail"].as_str().unwrap().contains(expect),
            "{body}: {v}"
        );
    }
    // The document still describes the wire format under its old name.
    let doc: Value = serde_json::from_str(&hallmark_server::openapi::openapi_json()).unwrap();
    let props = &doc["components"]["schemas"]["StatusRequest"]["properties"];
    for field in [
        "action", "reason", "kid", "code", "serial", "range", "lot", "key_from", "date",
    ] {
        assert!(props[field].is_object(), "{field}: {props}");
    }
    assert_eq!(props["kid"]["pattern"], "^[0-9a-fA-F]{8}$");
}

/// A storage that counts token lookups, over an in-memory SQLite database.
struct CountingLookups {
    inner: SqliteStorage,
    lookups: AtomicU64,
}

impl Storage for CountingLookups {
    fn graph(
        &self,
        write: bool,
        f: &mut dyn FnMut(
            &mut dyn hallmark_server::storage::graph::Sql,
        ) -> Result<(), hallmark_server::StorageError>,
    ) -> Result<(), hallmark_server::StorageError> {
        self.inner.graph(write, f)
    }
    fn status(
        &self,
        kid: hallmark::KeyId,
        payload: &Payload,
    ) -> Result<Option<hallmark_server::storage::Status>, hallmark_server::StorageError> {
        self.inner.status(kid, payload)
    }
    fn change_status(
        &self,
        change: &hallmark_server::storage::StatusChange,
        token: &str,
        now: u64,
    ) -> Result<u64, hallmark_server::StorageError> {
        self.inner.change_status(change, token, now)
    }
    fn sequence(&self) -> Result<u64, hallmark_server::StorageError> {
        self.inner.sequence()
    }
    fn revocations(
        &self,
    ) -> Result<(u64, Vec<hallmark::Revocation>), hallmark_server::StorageError> {
        self.inner.revocations()
    }
    fn record_scan(
        &self,
        scan: &hallmark_server::storage::Scan,
        window_start: u64,
        forget_before: Option<u64>,
    ) -> Result<hallmark_server::storage::ScanSummary, hallmark_server::StorageError> {
        self.inner.record_scan(scan, window_start, forget_before)
    }
    fn prune_scans(&self, before: u64) -> Result<u64, hallmark_server::StorageError> {
        self.inner.prune_scans(before)
    }
    fn check_writable(&self, now: u64) -> Result<(), hallmark_server::StorageError> {
        self.inner.check_writable(now)
    }
    fn scan_summary(
        &self,
        kid: hallmark::KeyId,
        serial: u64,
        window_start: u64,
    ) -> Result<hallmark_server::storage::ScanSummary, hallmark_server::StorageError> {
        self.inner.scan_summary(kid, serial, window_start)
    }
    fn register_batches(
        &self,
        manifest: &BatchManifest,
        bytes: &[u8],
        max_count: Option<u64>,
        token: &str,
        now: u64,
    ) -> Result<hallmark_server::storage::Registration, hallmark_server::StorageError> {
        self.inner
            .register_batches(manifest, bytes, max_count, token, now)
    }
    fn registry_contents(
        &self,
    ) -> Result<hallmark_server::storage::RegistryContents, hallmark_server::StorageError> {
        self.inner.registry_contents()
    }
    fn is_registered(
        &self,
        kid: hallmark::KeyId,
        payload: &Payload,
    ) -> Result<bool, hallmark_server::StorageError> {
        self.inner.is_registered(kid, payload)
    }
    fn create_token(
        &self,
        name: &str,
        scope: TokenScope,
        hash: &blake3::Hash,
        now: u64,
    ) -> Result<(), hallmark_server::StorageError> {
        self.inner.create_token(name, scope, hash, now)
    }
    fn revoke_token(&self, name: &str, now: u64) -> Result<bool, hallmark_server::StorageError> {
        self.inner.revoke_token(name, now)
    }
    fn tokens(
        &self,
    ) -> Result<Vec<hallmark_server::storage::TokenInfo>, hallmark_server::StorageError> {
        self.inner.tokens()
    }
    fn authenticate(
        &self,
        hash: &blake3::Hash,
    ) -> Result<Option<hallmark_server::storage::TokenInfo>, hallmark_server::StorageError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.authenticate(hash)
    }
    fn audit_log(
        &self,
        limit: u32,
    ) -> Result<Vec<hallmark_server::storage::AuditEntry>, hallmark_server::StorageError> {
        self.inner.audit_log(limit)
    }
}

#[tokio::test]
async fn regression_bad_token_flood_is_rate_limited_before_the_lookup() {
    let storage = Arc::new(CountingLookups {
        inner: SqliteStorage::open_in_memory().unwrap(),
        lookups: AtomicU64::new(0),
    });
    storage
        .create_token("ops", TokenScope::Status, &hash_token(STATUS_TOKEN), 1)
        .unwrap();
    let settings = Settings {
        auth_failures_per_minute: 6,
        auth_failure_burst: 5,
        clock: Arc::new(|| NOW),
        ..Settings::default()
    };
    let state = AppState::new(TrustStore::new(), storage.clone(), None, settings);
    let post = |ip: [u8; 4], token: String| {
        let state = state.clone();
        async move {
            let mut req = Request::builder()
                .method("POST")
                .uri("/v1/status")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"action": "reactivate", "serial": 1}"#))
                .unwrap();
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                    ip, 40_000,
                ))));
            let response = app(state).oneshot(req).await.unwrap();
            let status = response.status();
            let retry = response.headers().get(header::RETRY_AFTER).cloned();
            (status, retry)
        }
    };
    // A valid token does not use up the failure bucket.
    for _ in 0..10 {
        let (status, _) = post([10, 0, 0, 9], STATUS_TOKEN.to_owned()).await;
        assert_ne!(status, StatusCode::UNAUTHORIZED);
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(storage.lookups.load(Ordering::SeqCst), 10);
    // 1,000 bad tokens from one client: 5 are looked up (401), the rest get 429.
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..1000 {
        let (status, retry) = post([10, 0, 0, 1], format!("hm_{i:064x}")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(retry.is_some(), "Retry-After");
        }
        *statuses.entry(status.as_u16()).or_insert(0) += 1;
    }
    assert_eq!(
        statuses,
        [(401, 5), (429, 995)].into_iter().collect(),
        "{statuses:?}"
    );
    assert_eq!(
        storage.lookups.load(Ordering::SeqCst),
        15,
        "no lookup for a refused token"
    );
    // Another client, and the valid token from the flooding client's
    // neighbour, are not affected.
    let (status, _) = post([10, 0, 0, 2], "hm_bad".to_owned()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post([10, 0, 0, 9], STATUS_TOKEN.to_owned()).await;
    assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// A root, a line key certified under it (codes and manifests, with
/// `max_count`), and the registry key certified for registry documents: the
/// service's trust store holds the root and both certificates.
fn certified_fixture(backend: Backend, max_count: Option<u64>) -> (Fixture, SecretKey, Vec<u8>) {
    use hallmark::{Constraints, LineCertificate, Usage};
    let root = SecretKey::from_seed("root", &[7; 32]).unwrap();
    let line = SecretKey::from_seed("line-1", &[8; 32]).unwrap();
    let rev = SecretKey::from_seed("rev", &[2; 32]).unwrap();
    let certify = |key: &SecretKey, usage: Usage, max_count: Option<u64>| {
        let cert = LineCertificate {
            subject: key.public_key(),
            name: key.name().to_owned(),
            valid_from: d("2023-01-01"),
            valid_until: d("2027-12-31"),
            usage,
            issued: NOW - 86_400,
            constraints: Constraints {
                max_count,
                ..Constraints::default()
            },
        };
        root.sign_document(cert.to_unsigned(root.kid()).unwrap())
    };
    let line_cert = certify(&line, Usage::CODES.union(Usage::MANIFESTS), max_count);
    let rev_cert = certify(&rev, Usage::REGISTRY, None);
    let mut trust = TrustStore::new();
    trust
        .add_root(TrustedKey::new("root", root.public_key(), None, None).unwrap())
        .unwrap();
    trust.add_certificate(&line_cert).unwrap();
    trust.add_certificate(&rev_cert).unwrap();
    let mut f = fixture(backend);
    f.issuer = line;
    f.trust = trust.clone();
    f.state = AppState::new(
        trust,
        f.storage.clone(),
        Some(rev),
        f.state.settings().clone(),
    );
    f.state.set_registry_certificate(rev_cert.clone()).unwrap();
    (f, root, rev_cert)
}

impl Fixture {
    async fn register(&self, manifest: &[u8]) -> (StatusCode, Value) {
        let (status, _, body) = self
            .send(
                "POST",
                "/v1/batches",
                Some(BATCHES_TOKEN),
                Some("application/octet-stream"),
                manifest.to_vec(),
            )
            .await;
        (status, serde_json::from_slice(&body).unwrap())
    }
}

async fn receipts_verify_and_keep_the_first_registration_time(b: Backend) {
    let f = fixture(b);
    let manifest = f.manifest(vec![batch(1, 100, "L1"), batch(500, 20, "L2")]);
    let (status, v) = f.register(&manifest).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["registered"], NOW);
    assert_eq!(v["registered_at"], "2026-11-23T12:00:00Z");
    assert_eq!(
        (v["new"].as_u64(), v["serials"].as_u64()),
        (Some(2), Some(120))
    );
    let receipt = hex::decode(v["receipt"].as_str().unwrap()).unwrap();
    let (r, signer) = hallmark::BatchReceipt::verify(&receipt, &f.trust).unwrap();
    assert_eq!(signer, f.rev.kid());
    assert_eq!(r.manifest, hallmark::BatchReceipt::digest(&manifest));
    assert_eq!(
        (r.kid, r.registered, r.batches, r.serials),
        (f.issuer.kid(), NOW, 2, 120)
    );
    // The same manifest a day later: the original time, the same receipt.
    f.clock.store(NOW + 86_400, Ordering::SeqCst);
    let (status, again) = f.register(&manifest).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        (again["registered"].as_u64(), again["new"].as_u64()),
        (Some(NOW), Some(0))
    );
    assert_eq!(again["receipt"], v["receipt"]);
    // A tampered receipt byte is refused.
    let mut bad = receipt.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(hallmark::BatchReceipt::verify(&bad, &f.trust).is_err());
}

#[tokio::test]
async fn batches_without_a_registry_key_register_but_give_no_receipt() {
    let f = fixture_with(Backend::Sqlite, false);
    let (status, v) = f.register(&f.manifest(vec![batch(1, 10, "L1")])).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["new"], 1);
    assert_eq!(v["registered"], NOW);
    assert!(v["receipt"].is_null(), "{v}");
}

async fn max_count_is_enforced_across_requests_and_concurrently(b: Backend) {
    let (f, _, _) = certified_fixture(b, Some(100));
    let (status, v) = f.register(&f.manifest(vec![batch(1, 60, "L1")])).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    // 60 + 41 > 100: refused, nothing stored.
    let over = f.manifest(vec![batch(1000, 41, "L2")]);
    let (status, v) = f.register(&over).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["error"], "max-count-exceeded");
    let p = Payload::new(1000, "DRN-2980", "L2", d("2023-12-12")).unwrap();
    assert!(!f.db(|s| s.is_registered(f.issuer.kid(), &p).unwrap()));
    // Re-registering what is registered adds nothing and passes.
    let (status, _) = f.register(&f.manifest(vec![batch(1, 60, "L1")])).await;
    assert_eq!(status, StatusCode::OK);
    // Two concurrent registrations of 30 each (60 + 30 + 30 > 100): one passes.
    let a = f.manifest(vec![batch(2000, 30, "L3")]);
    let b2 = f.manifest(vec![batch(3000, 30, "L4")]);
    let (ra, rb) = tokio::join!(f.register(&a), f.register(&b2));
    let mut statuses = [ra.0, rb.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{ra:?} {rb:?}"
    );
    let contents = f.db(|s| s.registry_contents().unwrap());
    let total: u64 = contents.manifests.iter().map(|m| m.serials).sum();
    assert_eq!(total, 90);
}

async fn compromise_spares_only_codes_in_batches_registered_before_it(b: Backend) {
    let f = fixture(b);
    let (status, _) = f.register(&f.manifest(vec![batch(1, 100, "L1")])).await;
    assert_eq!(status, StatusCode::OK);
    // A batch registered after the compromise time.
    f.clock.store(NOW + 7200, Ordering::SeqCst);
    let (status, _) = f.register(&f.manifest(vec![batch(200, 10, "L1")])).await;
    assert_eq!(status, StatusCode::OK);
    let at = "2026-11-23T13:00:00Z"; // NOW + 3600
    let body = json!({"action": "compromise", "kid": f.kid(), "at": at});
    let (status, v) = f.post_json("/v1/status", Some(STATUS_TOKEN), &body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["action"], "compromise");
    assert_eq!(v["reason"], "key-compromised");
    let audit = f.db(|s| s.audit_log(1).unwrap());
    assert!(
        audit[0]
            .target
            .contains("compromised at 2026-11-23T13:00:00Z"),
        "{audit:?}"
    );
    let verdict = |v: &Value| v["verdict"].as_str().unwrap().to_owned();
    // Inside the batch receipted before T: genuine.
    assert_eq!(verdict(&f.lookup(&f.code(50, "L1")).await), "genuine");
    // A back-dated thief code outside any batch, inside the later batch, or
    // with another lot: revoked, key-compromised.
    for code in [f.code(150, "L1"), f.code(205, "L1"), f.code(50, "L9")] {
        let v = f.lookup(&code).await;
        assert_eq!(verdict(&v), "revoked", "{v}");
        assert_eq!(v["revocation"]["reason"], "key-compromised", "{v}");
    }
    // The snapshot leaves the compromise out (format v1 cannot carry it).
    let snap = RevocationSnapshot::verify(&f.snapshot_bytes().await, &f.trust).unwrap();
    assert!(snap.revocations().is_empty(), "{:?}", snap.revocations());
    // Given in seconds, and removable with reactivate.
    let body = json!({"action": "compromise", "kid": f.kid(), "at": NOW + 86_400});
    let (status, _) = f.post_json("/v1/status", Some(STATUS_TOKEN), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verdict(&f.lookup(&f.code(205, "L1")).await), "genuine");
    let body = json!({"action": "reactivate", "kid": f.kid(), "at": 0});
    let (status, _) = f.post_json("/v1/status", Some(STATUS_TOKEN), &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(verdict(&f.lookup(&f.code(150, "L1")).await), "genuine");
    // Malformed requests are 400.
    for body in [
        json!({"action": "compromise", "kid": f.kid()}),
        json!({"action": "compromise", "kid": f.kid(), "at": "2026-11-23 13:00"}),
        json!({"action": "revoke", "reason": "stolen", "kid": f.kid(), "at": 5}),
    ] {
        let (status, v) = f.post_json("/v1/status", Some(STATUS_TOKEN), &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} {v}");
    }
}

async fn bundle_verifies_against_roots_only_and_honours_etags(b: Backend) {
    let (f, root, _) = certified_fixture(b, None);
    let manifest = f.manifest(vec![batch(1, 100, "L1")]);
    let (status, v) = f.register(&manifest).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let body = json!({"action": "revoke", "reason": "stolen", "kid": f.kid(), "serial": 7});
    let (status, _) = f.post_json("/v1/status", Some(STATUS_TOKEN), &body).await;
    assert_eq!(status, StatusCode::OK);
    let body = json!({"action": "compromise", "kid": f.kid(), "at": NOW + 60});
    let (status, change) = f.post_json("/v1/status", Some(STATUS_TOKEN), &body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, bytes) = f
        .send("GET", "/v1/trust/bundle", None, None, Body::empty())
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut roots = TrustStore::new();
    roots
        .add_root(TrustedKey::new("root", root.public_key(), None, None).unwrap())
        .unwrap();
    let bundle = hallmark::TrustBundle::verify(&bytes, &roots).unwrap();
    assert_eq!(bundle.sequence, change["sequence"].as_u64().unwrap());
    assert_eq!((bundle.manifests, bundle.certificates), (1, 2));
    assert_eq!(bundle.signer, f.rev.kid());
    let verifier = Verifier::new(bundle.trust(), d("2026-11-23")).with_bundle(&bundle, NOW, 86_400);
    assert_eq!(
        verifier.verify(&f.code(50, "L1")).kind(),
        VerdictKind::Genuine
    );
    assert_eq!(
        verifier.verify(&f.code(7, "L1")).kind(),
        VerdictKind::Revoked
    );
    assert_eq!(
        verifier.verify(&f.code(500, "L1")).kind(),
        VerdictKind::Revoked
    );
    // The service agrees with the offline verdicts.
    assert_eq!(f.lookup(&f.code(50, "L1")).await["verdict"], "genuine");
    assert_eq!(f.lookup(&f.code(500, "L1")).await["verdict"], "revoked");
    // ETag: 304 while unchanged, a new bundle after a change.
    let etag = headers[header::ETAG].to_str().unwrap().to_owned();
    let req = Request::builder()
        .uri("/v1/trust/bundle")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let response = app(f.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    f.clock.store(NOW + 1, Ordering::SeqCst);
    let (status, _) = f.register(&f.manifest(vec![batch(300, 5, "L1")])).await;
    assert_eq!(status, StatusCode::OK);
    let req = Request::builder()
        .uri("/v1/trust/bundle")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let response = app(f.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let newer = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let newer = hallmark::TrustBundle::verify(&newer, &roots).unwrap();
    assert!(newer.sequence > bundle.sequence);
    assert_eq!(newer.manifests, 2);
    // One byte changed anywhere is refused.
    for i in [0, bytes.len() / 2, bytes.len() - 1] {
        let mut bad = bytes.to_vec();
        bad[i] ^= 1;
        assert!(
            hallmark::TrustBundle::verify(&bad, &roots).is_err(),
            "byte {i}"
        );
    }
}

#[tokio::test]
async fn bundle_without_a_registry_key_is_a_json_404() {
    let f = fixture_with(Backend::Sqlite, false);
    let (status, v) = f.get("/v1/trust/bundle").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(v["error"], "no-revocation-key");
}
