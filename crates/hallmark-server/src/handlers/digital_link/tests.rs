#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hallmark::gs1::Gs1Data;
use hallmark::{TrustStore, TrustedKey};
use hallmark_issuer::{Minter, SecretKey, SerialMode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{encode_segment, rebuild};
use crate::auth::hash_token;
use crate::storage::{SqliteStorage, Storage, TokenScope};
use crate::{AppState, Settings, app};

/// 2026-11-23 12:00 UTC.
const NOW: u64 = 1_795_435_200;
const STATUS_TOKEN: &str = "hm_status_token_for_tests";
/// The GS1 General Specifications' example GTIN.
const GTIN: &str = "09506000134352";

struct Fixture {
    issuer: SecretKey,
    state: AppState,
}

fn fixture() -> Fixture {
    let issuer = SecretKey::from_seed("issuer", &[1; 32]).unwrap();
    let mut trust = TrustStore::new();
    trust
        .add(TrustedKey::new("issuer", issuer.public_key(), None, None).unwrap())
        .unwrap();
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open_in_memory().unwrap());
    storage
        .create_token("ops", TokenScope::Status, &hash_token(STATUS_TOKEN), 1)
        .unwrap();
    let settings = Settings {
        clock: Arc::new(|| NOW),
        ..Settings::default()
    };
    let state = AppState::new(trust, storage, None, settings);
    Fixture { issuer, state }
}

impl Fixture {
    /// A signed unit as a `]d2` scan (GS separators).
    fn unit(&self, counter: u64) -> String {
        let data = Gs1Data::from_elements([
            ("01", GTIN),
            ("11", "261201"),
            ("17", "281100"),
            ("10", "L1/A"),
        ])
        .unwrap();
        let minter = Minter::gs1(&self.issuer, &data, SerialMode::Opaque).unwrap();
        format!("]d2{}", minter.mint(counter).unwrap().1)
    }

    async fn get(
        &self,
        uri: &str,
        accept: Option<&str>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let mut req = Request::get(uri);
        if let Some(a) = accept {
            req = req.header(header::ACCEPT, a);
        }
        let r = app(self.state.clone())
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let body = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (status, headers, body)
    }

    async fn json(&self, uri: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.get(uri, Some("application/json")).await;
        (status, serde_json::from_slice(&body).unwrap())
    }
}

/// The path and query of `data`'s Digital Link URI on this host.
fn dl_path(data: &Gs1Data) -> String {
    let uri = data.to_digital_link("https://id.example.com").unwrap();
    uri.strip_prefix("https://id.example.com")
        .unwrap()
        .to_owned()
}

fn with(data: &Gs1Data, ai: &str, value: &str) -> Gs1Data {
    Gs1Data::from_elements(
        data.elements()
            .map(|(a, v)| (a, if a == ai { value } else { v })),
    )
    .unwrap()
}

#[test]
fn rebuilt_uris_keep_path_and_query_as_sent() {
    let uri: axum::http::Uri = "/01/09506000134352/21/1%2F2?8030=x&11=261201"
        .parse()
        .unwrap();
    assert_eq!(
        rebuild(&uri),
        "https://dl.hallmark.invalid/01/09506000134352/21/1%2F2?8030=x&11=261201"
    );
    assert_eq!(encode_segment("(01)a/b\u{1d}%~"), "%2801%29a%2Fb%1D%25~");
}

#[tokio::test]
async fn genuine_unit_via_digital_link_path_is_json_with_gs1_fields() {
    let f = fixture();
    let data = Gs1Data::parse(&f.unit(1)).unwrap();
    let path = dl_path(&data);
    assert!(
        path.starts_with("/01/09506000134352/10/L1%2FA/21/"),
        "{path}"
    );
    let (status, v) = f.json(&path).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["verdict"], "genuine", "{v}");
    assert_eq!(v["gs1"]["gtin"], GTIN);
    assert_eq!(v["gs1"]["serial"], data.get("21").unwrap());
    assert_eq!(v["payload"]["part"], GTIN);
    assert_eq!(v["payload"]["lot"], "L1/A");
    assert_eq!(v["registered"], false);
    assert!(
        v["code"]
            .as_str()
            .unwrap()
            .starts_with("(01)09506000134352")
    );
    // No Accept header at all: JSON too.
    let (status, _, body) = f.get(&path, None).await;
    assert_eq!(status, StatusCode::OK);
    let same: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(same["verdict"], "genuine");
    // The same unit on /v1/codes in every written form gives the same answer.
    for form in [
        data.to_hri(),
        format!(
            "]d2{}",
            data.to_element_string(hallmark::gs1::Separator::Gs)
        ),
        data.to_element_string(hallmark::gs1::Separator::Caret),
        data.to_digital_link("https://id.example.com").unwrap(),
    ] {
        for prefix in ["/v1/codes/", "/c/"] {
            let uri = format!("{prefix}{}", encode_segment(&form));
            let (status, _, body) = f.get(&uri, None).await;
            assert_eq!(status, StatusCode::OK, "{uri}");
            if prefix == "/v1/codes/" {
                let w: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(w["verdict"], "genuine", "{form:?}: {w}");
                assert_eq!(w["code"], v["code"], "{form:?}");
                assert_eq!(w["gs1"]["serial"], v["gs1"]["serial"]);
            } else {
                let html = String::from_utf8(body).unwrap();
                assert!(html.contains("</span> Genuine</h1>"), "{form:?}: {html}");
                assert!(html.contains(GTIN), "{html}");
                assert!(html.contains(data.get("21").unwrap()), "{html}");
                assert!(html.contains("L1/A"), "{html}");
            }
        }
    }
}

#[tokio::test]
async fn browsers_are_redirected_to_the_page() {
    let f = fixture();
    let data = Gs1Data::parse(&f.unit(2)).unwrap();
    let (status, headers, _) = f
        .get(
            &dl_path(&data),
            Some("text/html,application/xhtml+xml,*/*;q=0.8"),
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/c/%2801%2909506000134352"),
        "{location}"
    );
    let (status, headers, body) = f.get(&location, Some("text/html")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("</span> Genuine</h1>")
    );
}

#[tokio::test]
async fn altered_signature_unsigned_and_malformed_links() {
    let f = fixture();
    let data = Gs1Data::parse(&f.unit(3)).unwrap();
    let sig = data.get("8030").unwrap();
    let mut altered = sig.to_owned().into_bytes();
    let last = altered.len() - 10;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = with(&data, "8030", std::str::from_utf8(&altered).unwrap());
    let (status, v) = f.json(&dl_path(&altered)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["verdict"], "bad-signature", "{v}");
    assert!(v.get("gs1").is_none() && v.get("payload").is_none(), "{v}");

    let unsigned = Gs1Data::from_elements(data.elements().filter(|(a, _)| *a != "8030")).unwrap();
    let (status, v) = f.json(&dl_path(&unsigned)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["verdict"], "unsigned", "{v}");
    let (status, headers, _) = f.get(&dl_path(&unsigned), Some("text/html")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = f
        .get(headers[header::LOCATION].to_str().unwrap(), None)
        .await;
    assert!(
        String::from_utf8(page)
            .unwrap()
            .contains("no manufacturer signature")
    );

    for bad in [
        "/01/09506000134353/21/1?8030=x",
        "/01/x",
        "/01/09506000134352/21/",
        "/01/09506000134352/21/1?8030=%ZZ",
        "/01/09506000134352/99/1",
    ] {
        let (status, _, body) = f.get(bad, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["verdict"], "malformed", "{bad}: {v}");
        assert!(v["error"].is_string() && v["detail"].is_string(), "{v}");
        let (status, headers, _) = f.get(bad, Some("text/html")).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{bad}");
        let (status, _, _) = f
            .get(headers[header::LOCATION].to_str().unwrap(), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn revoked_gs1_unit_is_revoked_on_the_digital_link_path() {
    let f = fixture();
    let unit = f.unit(4);
    let data = Gs1Data::parse(&unit).unwrap();
    let req = Request::post("/v1/status")
        .header(header::AUTHORIZATION, format!("Bearer {STATUS_TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"action": "revoke", "reason": "stolen", "code": unit, "date": "2026-11-01"})
                .to_string(),
        ))
        .unwrap();
    let r = app(f.state.clone()).oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (status, v) = f.json(&dl_path(&data)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["verdict"], "revoked", "{v}");
    assert_eq!(v["revocation"]["reason"], "stolen", "{v}");
    assert_eq!(v["gs1"]["gtin"], GTIN);
    // Another unit of the same batch is untouched.
    let other = Gs1Data::parse(&f.unit(5)).unwrap();
    assert_eq!(f.json(&dl_path(&other)).await.1["verdict"], "genuine");
}
