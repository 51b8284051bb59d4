//! The service's request parsing, through the real router without a socket:
//! JSON bodies (`POST /v1/scans`, `POST /v1/status`), manifest bodies
//! (`POST /v1/batches`), path parameters (`/v1/codes/{code}`, `/c/{code}`,
//! `/C/{code}`), headers (`Authorization`, `If-None-Match`, `Content-Type`)
//! and arbitrary methods and URIs.
//!
//! `hallmark_server::app` is built once per process over an SQLite database
//! in a temporary directory (in memory when `/dev/shm` exists), with a fixed
//! clock, rate limits off, and one token per write scope; each input is one
//! request sent with `tower::ServiceExt::oneshot` on a current-thread tokio
//! runtime. The database keeps what earlier inputs wrote, as a real service
//! would.
//!
//! Checks: no response is a 5xx, and every error response is JSON
//! `{"error": KIND, "detail": TEXT}` (the HTML code pages for people excepted).
//! A genuine code minted by the fixture issuer is never judged malformed or
//! forged.
//!
//! Input layout: byte 0 picks the request (see `request`), the rest is its
//! path segment, body or header.

#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, Uri, header};
use hallmark::{BatchManifest, Date, ManifestBatch, Payload, TrustStore, TrustedKey};
use hallmark_issuer::{SecretKey, mint};
use hallmark_server::auth::hash_token;
use hallmark_server::storage::{SqliteStorage, Storage, TokenScope};
use hallmark_server::{AppState, Settings, app};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use tower::ServiceExt;

/// 2026-11-23 12:00 UTC.
const NOW: u64 = 1_795_435_200;
const STATUS_TOKEN: &str = "hm_fuzz_status_token";
const BATCHES_TOKEN: &str = "hm_fuzz_batches_token";
const REVOKED_TOKEN: &str = "hm_fuzz_revoked_token";

struct Fixture {
    _dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    app: Router,
    issuer: SecretKey,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let issuer = SecretKey::from_seed("issuer", &[1; 32]).expect("fixed seed");
        let rev = SecretKey::from_seed("rev", &[2; 32]).expect("fixed seed");
        let mut trust = TrustStore::new();
        trust
            .add(TrustedKey::new("issuer", issuer.public_key(), None, None).expect("key"))
            .expect("add");
        trust
            .add(
                TrustedKey::new("rev", rev.public_key(), None, None)
                    .expect("key")
                    .with_revocation_signer(true),
            )
            .expect("add");
        let mut builder = tempfile::Builder::new();
        builder.prefix("hallmark-fuzz-server");
        let dir = if Path::new("/dev/shm").is_dir() {
            builder.tempdir_in("/dev/shm")
        } else {
            builder.tempdir()
        }
        .expect("temporary directory");
        let storage = SqliteStorage::open(&dir.path().join("fuzz.db")).expect("database");
        storage
            .create_token("ops", TokenScope::Status, &hash_token(STATUS_TOKEN), 1)
            .expect("token");
        storage
            .create_token(
                "factory",
                TokenScope::Batches,
                &hash_token(BATCHES_TOKEN),
                1,
            )
            .expect("token");
        storage
            .create_token("gone", TokenScope::Status, &hash_token(REVOKED_TOKEN), 1)
            .expect("token");
        storage.revoke_token("gone", 2).expect("revoke token");
        let settings = Settings {
            clock: Arc::new(|| NOW),
            rate_limit_per_minute: 0,
            ..Settings::default()
        };
        let state = AppState::new(trust, Arc::new(storage), Some(rev), settings);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Fixture {
            _dir: dir,
            runtime,
            app: app(state),
            issuer,
        }
    })
}

/// Percent-encodes every byte but unreserved ones: any bytes make a valid
/// path segment, which the router decodes back.
fn segment(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn token(pick: u8) -> Option<&'static str> {
    match pick % 5 {
        0 => Some(STATUS_TOKEN),
        1 => Some(BATCHES_TOKEN),
        2 => Some(REVOKED_TOKEN),
        3 => Some("hm_0000"),
        _ => None,
    }
}

fn content_type(pick: u8) -> Option<&'static str> {
    match pick % 4 {
        0 => Some("application/json"),
        1 => Some("application/json; charset=utf-8"),
        2 => Some("text/plain"),
        _ => None,
    }
}

/// Takes `N` bytes from the front of `data`, zero-padded.
fn take<const N: usize>(data: &mut &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = data.len().min(N);
    let (head, tail) = data.split_at(n);
    out[..n].copy_from_slice(head);
    *data = tail;
    out
}

struct Req {
    method: Method,
    uri: String,
    token: Option<String>,
    headers: Vec<(header::HeaderName, HeaderValue)>,
    body: Vec<u8>,
    /// A genuine code the fixture minted: its verdict must not be a refusal
    /// of the code itself.
    genuine: bool,
}

impl Req {
    fn new(method: Method, uri: String) -> Req {
        Req {
            method,
            uri,
            token: None,
            headers: Vec::new(),
            body: Vec::new(),
            genuine: false,
        }
    }

    fn json(mut self, ct: Option<&str>, body: Vec<u8>) -> Req {
        if let Some(ct) = ct {
            self.headers.push((
                header::CONTENT_TYPE,
                HeaderValue::from_str(ct).expect("static"),
            ));
        }
        self.body = body;
        self
    }

    fn token(mut self, token: Option<&str>) -> Req {
        self.token = token.map(str::to_owned);
        self
    }
}

/// The request an input stands for (`None` if it makes no valid URI or header).
fn request(f: &Fixture, data: &[u8]) -> Option<Req> {
    let (&op, mut rest) = data.split_first()?;
    Some(match op % 12 {
        0 => Req::new(Method::GET, format!("/v1/codes/{}", segment(rest))),
        1 => Req::new(Method::GET, format!("/c/{}", segment(rest))),
        2 => Req::new(Method::GET, format!("/C/{}", segment(rest))),
        3 => {
            let [ct] = take::<1>(&mut rest);
            Req::new(Method::POST, "/v1/scans".into()).json(content_type(ct), rest.to_vec())
        }
        4 => {
            let [ct, tok] = take::<2>(&mut rest);
            Req::new(Method::POST, "/v1/status".into())
                .json(content_type(ct), rest.to_vec())
                .token(token(tok))
        }
        5 => {
            let [tok] = take::<1>(&mut rest);
            let mut r = Req::new(Method::POST, "/v1/batches".into()).token(token(tok));
            r.body = rest.to_vec();
            r
        }
        6 => {
            let mut r = Req::new(Method::GET, "/v1/revocations/snapshot".into());
            r.headers
                .push((header::IF_NONE_MATCH, HeaderValue::from_bytes(rest).ok()?));
            r
        }
        7 => {
            // Any method, any URI, any body.
            let [m, tok] = take::<2>(&mut rest);
            let method = [
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::DELETE,
                Method::HEAD,
                Method::OPTIONS,
                Method::PATCH,
            ][usize::from(m % 7)]
            .clone();
            let (uri, body) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            let uri = std::str::from_utf8(uri).ok()?;
            Uri::try_from(uri).ok()?;
            let mut r = Req::new(method, uri.to_owned()).json(content_type(m >> 3), body.to_vec());
            r.token = token(tok).map(str::to_owned);
            r
        }
        8 => genuine_code(f, rest)?,
        9 => manifest(f, rest)?,
        10 => {
            // A raw Authorization header.
            let (auth, body) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            let mut r = Req::new(Method::POST, "/v1/status".into())
                .json(Some("application/json"), body.to_vec());
            r.headers
                .push((header::AUTHORIZATION, HeaderValue::from_bytes(auth).ok()?));
            r
        }
        _ => {
            let paths = [
                "/healthz",
                "/readyz",
                "/v1/keys",
                "/v1/revocations/snapshot",
                "/",
            ];
            Req::new(
                Method::GET,
                paths[usize::from(rest.first().copied().unwrap_or(0) % 5)].into(),
            )
        }
    })
}

/// A code the fixture's issuer signs, sent to an endpoint the input picks,
/// with the rest of the input as the free text (location, scanner, lot).
fn genuine_code(f: &Fixture, mut rest: &[u8]) -> Option<Req> {
    let [what, flags] = take::<2>(&mut rest);
    let serial = u64::from_le_bytes(take::<8>(&mut rest));
    let days = u16::from_le_bytes(take::<2>(&mut rest));
    let text = String::from_utf8_lossy(rest).into_owned();
    let date = Date::from_days(u64::from(days)).expect("a u16 day count is a date");
    let lot = if flags & 1 == 1 { "L231212-01" } else { "L7" };
    let mut payload = Payload::new(serial % 64, "DRN-2980", lot, date).ok()?;
    if flags & 2 == 2 {
        payload = payload
            .with_expiry(Date::from_days(u64::from(days) + 30)?)
            .ok()?;
    }
    let code = mint(&f.issuer, &payload).ok()?;
    let mut r = match what % 6 {
        0 => Req::new(Method::GET, format!("/v1/codes/{code}")),
        1 => Req::new(Method::GET, format!("/C/{code}")),
        2 => {
            let body = serde_json::json!({"code": code, "location": text, "scanner": "fuzz"});
            Req::new(Method::POST, "/v1/scans".into())
                .json(Some("application/json"), body.to_string().into_bytes())
        }
        3 => {
            let body = serde_json::json!({"code": code, "location": format!("dock {}", flags % 5)});
            Req::new(Method::POST, "/v1/scans".into())
                .json(Some("application/json"), body.to_string().into_bytes())
        }
        4 => {
            let action = ["revoke", "decommission", "reactivate"][usize::from(flags % 3)];
            let mut body = serde_json::json!({"action": action, "code": code});
            if action == "revoke" {
                body["reason"] = Value::String(text);
            }
            Req::new(Method::POST, "/v1/status".into())
                .json(Some("application/json"), body.to_string().into_bytes())
                .token(Some(STATUS_TOKEN))
        }
        _ => {
            // A status change by kid and a target from the input's text.
            let action = ["revoke", "decommission", "reactivate"][usize::from(flags % 3)];
            let mut body = serde_json::json!({"action": action, "kid": f.issuer.kid().to_string()});
            match (flags >> 2) % 4 {
                0 => body["serial"] = Value::from(serial % 64),
                1 => {
                    body["range"] = serde_json::json!({"first": serial % 64, "last": serial % 64 + u64::from(days % 16)})
                }
                2 => body["lot"] = Value::String(text),
                _ => body["key_from"] = Value::String(date.to_string()),
            }
            if action == "revoke" {
                body["reason"] = Value::String("stolen".into());
            }
            return Some(
                Req::new(Method::POST, "/v1/status".into())
                    .json(Some("application/json"), body.to_string().into_bytes())
                    .token(Some(STATUS_TOKEN)),
            );
        }
    };
    // Lookups and scans with a valid location answer with the code's verdict.
    r.genuine = matches!(what % 6, 0 | 3);
    Some(r)
}

/// A manifest the fixture's issuer signs, built from the input.
fn manifest(f: &Fixture, mut rest: &[u8]) -> Option<Req> {
    let mut batches = Vec::new();
    while !rest.is_empty() && batches.len() < 8 {
        let b = take::<12>(&mut rest);
        let start = u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        let count = 1 + u64::from(u16::from_le_bytes([b[4], b[5]]));
        batches.push(ManifestBatch {
            start,
            count,
            part: "DRN-2980".into(),
            lot: format!("L{}", b[6] % 8),
            date: Date::from_days(u64::from(u16::from_le_bytes([b[7], b[8]])))?,
            expiry: None,
            opaque: b[9] & 1 == 1,
            minted: u64::from(b[10]),
            batch_key: None,
        });
    }
    let m = BatchManifest {
        kid: f.issuer.kid(),
        issued: NOW,
        batches,
    };
    let mut r = Req::new(Method::POST, "/v1/batches".into()).token(Some(BATCHES_TOKEN));
    r.body = f.issuer.sign_manifest(&m).expect("a manifest of the issuer's own key");
    Some(r)
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Some(req) = request(f, data) else {
        return;
    };
    let mut builder = Request::builder()
        .method(req.method.clone())
        .uri(req.uri.as_str());
    if let Some(t) = &req.token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    for (name, value) in &req.headers {
        builder = builder.header(name, value);
    }
    let Ok(request) = builder.body(Body::from(req.body.clone())) else {
        return;
    };
    let path = request.uri().path().to_owned();

    f.runtime.block_on(async {
        let response = f
            .app
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        let status = response.status();
        let ct = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let body = axum::body::to_bytes(response.into_body(), 512 * 1024 * 1024)
            .await
            .expect("response body");
        let text = String::from_utf8_lossy(&body);
        assert!(
            !status.is_server_error(),
            "{} {} answered {status}: {text}",
            req.method,
            req.uri
        );
        if status.is_client_error() {
            let html_page = ct.as_deref().is_some_and(|c| c.starts_with("text/html"))
                && (path.starts_with("/c/") || path.starts_with("/C/"));
            // HEAD answers carry the headers of the GET answer, no body.
            let head = req.method == Method::HEAD;
            if !html_page {
                assert!(
                    ct.as_deref()
                        .is_some_and(|c| c.starts_with("application/json")),
                    "{} {} answered {status} with content type {ct:?}",
                    req.method,
                    req.uri
                );
            }
            if !html_page && !head {
                let v: Value = serde_json::from_slice(&body)
                    .unwrap_or_else(|e| panic!("{status} body is not JSON ({e}): {text}"));
                assert!(
                    v.get("error").is_some_and(Value::is_string)
                        && v.get("detail").is_some_and(Value::is_string),
                    "{status} body is not {{error, detail}}: {text}"
                );
            }
        }
        if req.genuine && req.uri.starts_with("/v1/") {
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let verdict = v.get("verdict").and_then(Value::as_str).unwrap_or("");
            assert!(
                status == StatusCode::OK && matches!(verdict, "genuine" | "revoked" | "expired"),
                "a genuine code got {status} {verdict:?}: {text}"
            );
        }
    });
});
