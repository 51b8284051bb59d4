//! The consumer page (`/c/{code}`) in every state, its forms, and the
//! warranty registration, through `tower::ServiceExt::oneshot` over each
//! backend.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hallmark::{Date, Payload, TrustStore, TrustedKey};
use hallmark_issuer::SecretKey;
use hallmark_issuer::claim::ClaimKey;
use hallmark_server::auth::hash_token;
use hallmark_server::storage::{
    PostgresStorage, RegistrationStore, SqliteStorage, Storage, TokenScope,
};
use hallmark_server::{AppState, Settings, app};
use serde_json::{Value, json};
use tower::ServiceExt;

mod pg;
mod registry;

/// 2026-11-23 12:00 UTC.
const NOW: u64 = 1_795_435_200;
const STATUS: &str = "hm_status_token_for_page_tests";
const REPORTS: &str = "hm_reports_token_for_page_tests";

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
    each_state_reads_in_words_and_never_plain_genuine_when_copied,
    registration_is_first_wins_and_a_second_one_warns,
    the_report_form_stores_a_report_for_a_reports_token,
    a_transfer_is_one_time_and_keeps_the_warranty_start,
    a_burst_of_wrong_claims_gets_exactly_the_cap,
    a_burst_of_wrong_transfer_codes_gets_exactly_the_cap,
    a_transfer_code_expires_at_its_ttl_and_stays_expired,
    a_burst_of_reports_gets_exactly_the_cap,
    a_bad_purchase_date_is_refused_or_clamped_and_the_answer_says_so,
    a_serial_its_registering_key_never_registered_is_not_plain_genuine,
);

/// A thief holding the line key signs serials the manufacturer never made:
/// once the key registers batches, such a serial reads as a warning, on
/// every visit, while a registered one stays "Genuine". A key that
/// registers nothing says nothing by it.
async fn a_serial_its_registering_key_never_registered_is_not_plain_genuine(b: Backend) {
    let f = fixture(b);
    let (inside, outside) = (f.code(5), f.code(500));
    let (_, page) = f.page(&outside).await;
    assert_eq!(title(&page), "Genuine", "no batch registered yet: {page}");
    let storage = f.state.storage();
    pg::off_runtime(|| registry::register_batch(&*storage, &f.issuer, 0, 100, NOW));
    let (_, page) = f.page(&inside).await;
    assert_eq!(title(&page), "Genuine", "{page}");
    for _ in 0..2 {
        let (status, page) = f.page(&outside).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            title(&page),
            "Warning: not in the manufacturer&#39;s records",
            "{page}"
        );
        assert!(page.contains("stolen key"), "{page}");
        assert!(page.contains("class=\"caution\""), "{page}");
        assert!(!page.contains("nothing suggests it was copied"), "{page}");
    }
    let (_, page) = f
        .raw("GET", &format!("/c/{outside}?lang=de"), &[], String::new())
        .await;
    assert_eq!(
        title(&page),
        "Warnung: nicht in den Unterlagen des Herstellers",
        "{page}"
    );
}

/// Failed claims allowed per unit per hour (the server's
/// `MAX_CLAIM_FAILURES`, documented in SECURITY.md).
const CLAIM_CAP: usize = 5;

/// The transfer TTL the fixture sets, seconds.
const TRANSFER_TTL: u64 = 7 * 86_400;

struct Fixture {
    issuer: SecretKey,
    _scratch: Option<pg::Scratch>,
    state: AppState,
    claim_key: ClaimKey,
    /// The state's clock (starts at [`NOW`]).
    clock: Arc<AtomicU64>,
}

const CLAIM_KEY: [u8; 32] = [7; 32];

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
            ("ops", TokenScope::Status, STATUS),
            ("support", TokenScope::Reports, REPORTS),
        ] {
            storage
                .create_token(name, scope, &hash_token(token), 1)
                .unwrap();
        }
    });
    let clock = Arc::new(AtomicU64::new(NOW));
    let settings = Settings {
        clock: {
            let clock = Arc::clone(&clock);
            Arc::new(move || clock.load(Ordering::SeqCst))
        },
        ..Settings::default()
    };
    let state = AppState::new(trust, storage, None, settings);
    assert!(
        state
            .set_registrations(ClaimKey::from_bytes(CLAIM_KEY), TRANSFER_TTL)
            .is_ok()
    );
    let dir = tempfile::tempdir().unwrap();
    let products = dir.path().join("products.toml");
    std::fs::write(
        &products,
        "[[product]]\npart = \"DRN-*\"\nname = \"Drone <b>X</b>\"\n\
         description = \"Fast & \\\"light\\\" <script>alert(1)</script>\"\n\
         link = \"https://example.com/drone?a=1&b=2\"\n",
    )
    .unwrap();
    state.set_products(hallmark_server::products::Catalogue::load(&products).unwrap());
    Fixture {
        issuer,
        _scratch: scratch,
        state,
        claim_key: ClaimKey::from_bytes(CLAIM_KEY),
        clock,
    }
}

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

impl Fixture {
    fn code_of(&self, payload: &Payload) -> String {
        self.issuer.sign_code(payload).unwrap()
    }

    fn code(&self, serial: u64) -> String {
        self.code_of(&Payload::new(serial, "DRN-2980", "L1", d("2023-12-12")).unwrap())
    }

    fn claim(&self, code: &str) -> String {
        let c = hallmark::UnverifiedCode::decode(code).unwrap();
        let unit = hallmark::aggregation::UnitId::Code {
            kid: c.kid(),
            serial: c.payload().serial(),
        };
        self.claim_key.claim_code(&unit.to_string()).to_text()
    }

    async fn raw(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> (StatusCode, String) {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = app(self.state.clone())
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A transfer code and its expiry.
    async fn start_transfer(&self, code: &str, owner: &str) -> (String, u64) {
        let (status, v) = self
            .json(
                "/v1/transfers",
                None,
                json!({"code": code, "owner_ref": owner}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        (
            v["transfer_code"].as_str().unwrap().to_owned(),
            v["expires"].as_u64().unwrap(),
        )
    }

    fn set_now(&self, now: u64) {
        self.clock.store(now, Ordering::SeqCst);
    }

    /// `n` copies of one JSON POST, all in flight at once (each request's
    /// storage work runs on a blocking thread of its own), and their
    /// answers' (status, error kind).
    async fn burst(&self, n: usize, uri: &'static str, body: Value) -> Vec<(StatusCode, String)> {
        let mut set = tokio::task::JoinSet::new();
        let start = Arc::new(tokio::sync::Barrier::new(n));
        for _ in 0..n {
            let (state, body, start) = (self.state.clone(), body.to_string(), Arc::clone(&start));
            set.spawn(async move {
                let req = Request::builder()
                    .method("POST")
                    .uri(uri)
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap();
                start.wait().await;
                let response = app(state).oneshot(req).await.unwrap();
                let status = response.status();
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                    .await
                    .unwrap();
                let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                (status, v["error"].as_str().unwrap_or_default().to_owned())
            });
        }
        let mut out = Vec::new();
        while let Some(answer) = set.join_next().await {
            out.push(answer.unwrap());
        }
        out
    }

    async fn page(&self, code: &str) -> (StatusCode, String) {
        self.raw("GET", &format!("/c/{code}"), &[], String::new())
            .await
    }

    async fn json(&self, uri: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        let (status, text) = self.raw("POST", uri, &headers, body.to_string()).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// The page's `<h1>`, without its symbol.
fn title(page: &str) -> String {
    let start = page.find("</span> ").map(|i| i + 8).unwrap_or(0);
    let end = page[start..]
        .find("</h1>")
        .map_or(page.len(), |i| start + i);
    page[start..end].to_owned()
}

async fn each_state_reads_in_words_and_never_plain_genuine_when_copied(b: Backend) {
    let f = fixture(b);
    // Genuine, with the manufacturer's description escaped.
    let code = f.code(1);
    let (status, page) = f.page(&code).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(title(&page), "Genuine", "{page}");
    assert!(page.contains("Checked once"), "{page}");
    assert!(
        page.contains("Made on</td><td><b><bdi>12 December 2023"),
        "{page}"
    );
    assert!(page.contains("Drone &lt;b&gt;X&lt;/b&gt;"), "{page}");
    assert!(
        page.contains("Fast &amp; &quot;light&quot; &lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(
        page.contains("https://example.com/drone?a=1&amp;b=2"),
        "{page}"
    );
    assert!(!page.contains("<script"), "no script, and none injected");
    assert!(page.contains("class=\"good\""), "{page}");
    // The same visitor again (in-process: no address, so it counts), in German.
    let (_, page) = f
        .raw(
            "GET",
            &format!("/c/{code}"),
            &[("accept-language", "de-DE,de;q=0.9,en;q=0.5")],
            String::new(),
        )
        .await;
    assert_eq!(title(&page), "Echt", "{page}");
    assert!(page.contains("<html lang=\"de\""), "{page}");
    assert!(page.contains("Insgesamt 2-mal geprüft"), "{page}");
    // Scanned in many places (a photocopied label): a warning, not "Genuine".
    let copied = f.code(2);
    for i in 0..12 {
        let (status, _) = f
            .json(
                "/v1/scans",
                None,
                json!({"code": copied, "location": format!("shop {i}")}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, page) = f.page(&copied).await;
    assert_eq!(title(&page), "Warning: this label may be copied", "{page}");
    assert!(
        page.contains("class=\"caution\"") && !page.contains("nothing suggests"),
        "{page}"
    );
    // Decommissioned: neutral words, not a safety warning.
    let sold = f.code(3);
    let (status, _) = f
        .json(
            "/v1/status",
            Some(STATUS),
            json!({"action": "decommission", "code": sold, "date": "2026-11-20"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = f.page(&sold).await;
    assert_eq!(title(&page), "Already sold or dispensed", "{page}");
    assert!(
        page.contains("20 November 2026") && page.contains("If you are buying it as new, ask"),
        "{page}"
    );
    assert!(
        page.contains("class=\"neutral\"") && !page.contains("Do not use"),
        "{page}"
    );
    // Revoked: says why.
    let recalled = f.code(4);
    let (status, _) = f
        .json(
            "/v1/status",
            Some(STATUS),
            json!({"action": "revoke", "reason": "recalled", "code": recalled, "date": "2026-11-21"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = f.page(&recalled).await;
    assert_eq!(title(&page), "Warning: do not use", "{page}");
    assert!(
        page.contains("marked this product as recalled on 21 November 2026"),
        "{page}"
    );
    // Expired.
    let old = f.code_of(
        &Payload::new(5, "DRN-2980", "L1", d("2023-12-12"))
            .unwrap()
            .with_expiry(d("2024-01-01"))
            .unwrap(),
    );
    let (_, page) = f.page(&old).await;
    assert_eq!(title(&page), "Expired", "{page}");
    assert!(page.contains("expired on 1 January 2024"), "{page}");
    // Unknown key: nothing the code claims is shown.
    let stranger = SecretKey::from_seed("stranger", &[9; 32]).unwrap();
    let theirs = stranger
        .sign_code(&Payload::new(6, "FAKE-PART-77", "L1", d("2023-12-12")).unwrap())
        .unwrap();
    let (_, page) = f.page(&theirs).await;
    assert_eq!(title(&page), "Unknown manufacturer", "{page}");
    assert!(
        !page.contains("FAKE-PART-77") && !page.contains("Drone"),
        "{page}"
    );
    // Forged: a signature that does not verify under a trusted key.
    let mut payload_of_7 = Payload::new(7, "DRN-2980", "L1", d("2023-12-12")).unwrap();
    let genuine_7 = f.code_of(&payload_of_7);
    payload_of_7 = Payload::new(8, "DRN-2980", "L1", d("2023-12-12")).unwrap();
    let c7 = hallmark::UnverifiedCode::decode(&genuine_7).unwrap();
    let altered = hallmark::UnsignedCode::new(c7.kid(), &payload_of_7)
        .unwrap()
        .to_text(c7.signature());
    let (status, page) = f.page(&altered).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(title(&page), "Not genuine", "{page}");
    assert!(
        page.contains("forged or has been altered") && !page.contains("Drone"),
        "{page}"
    );
    // Unreadable.
    let (status, page) = f.page("NOT-A-CODE").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(title(&page), "Unreadable code", "{page}");
    // A part number cannot carry a bidirectional override at all (the
    // format allows printable ASCII), and the products file refuses one.
    assert!(Payload::new(9, "AB\u{202E}CD", "L1", d("2023-12-12")).is_err());
    let dir = tempfile::tempdir().unwrap();
    let bidi = dir.path().join("bidi.toml");
    std::fs::write(&bidi, "[[product]]\npart = \"A*\"\nname = \"x\u{202E}y\"\n").unwrap();
    assert!(hallmark_server::products::Catalogue::load(&bidi).is_err());
    // French on request.
    let (_, page) = f
        .raw("GET", &format!("/c/{code}?lang=fr"), &[], String::new())
        .await;
    assert_eq!(title(&page), "Authentique", "{page}");
}

async fn registration_is_first_wins_and_a_second_one_warns(b: Backend) {
    let f = fixture(b);
    let code = f.code(11);
    let claim = f.claim(&code);
    let (_, page) = f.page(&code).await;
    assert!(
        page.contains("not registered yet") && page.contains("/register?lang=en"),
        "{page}"
    );
    // A wrong claim is refused; a typo is named.
    let (status, v) = f
        .json(
            "/v1/registrations",
            None,
            json!({"code": code, "claim": f.claim(&f.code(12)), "owner_ref": "owner-secret-A"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    // The form registers the first owner.
    let form = format!(
        "claim={}&owner_ref=owner-secret-A&purchased_on=2026-11-01",
        claim
    );
    let (status, page) = f
        .raw(
            "POST",
            &format!("/c/{code}/register"),
            &[("content-type", "application/x-www-form-urlencoded")],
            form,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert!(page.contains("It started on 1 November 2026"), "{page}");
    // A second owner is refused (409), and the page warns.
    let (status, v) = f
        .json(
            "/v1/registrations",
            None,
            json!({"code": code, "claim": claim, "owner_ref": "owner-secret-B"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    let text = v.to_string();
    assert!(
        !text.contains("owner-secret-A") && !text.contains(&claim),
        "{text}"
    );
    let (_, page) = f.page(&code).await;
    assert_eq!(title(&page), "Warning: registered twice", "{page}");
    assert!(
        page.contains("Registered to its owner since November 2026"),
        "{page}"
    );
    for secret in ["owner-secret-A", "owner-secret-B", claim.as_str()] {
        assert!(!page.contains(secret), "the page shows {secret}");
    }
    let (_, lookup) = f
        .raw("GET", &format!("/v1/codes/{code}"), &[], String::new())
        .await;
    for secret in ["owner-secret-A", "owner-secret-B", claim.as_str()] {
        assert!(!lookup.contains(secret), "the lookup shows {secret}");
    }
}

async fn the_report_form_stores_a_report_for_a_reports_token(b: Backend) {
    let f = fixture(b);
    let code = f.code(21);
    let (status, page) = f
        .raw(
            "POST",
            &format!("/c/{code}/report?lang=de"),
            &[("content-type", "application/x-www-form-urlencoded")],
            "place=Market+street+5&note=%3Cscript%3E".to_owned(),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert_eq!(title(&page), "Vielen Dank", "{page}");
    let (status, _) = f.raw("GET", "/v1/reports", &[], String::new()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, list) = f
        .raw(
            "GET",
            "/v1/reports",
            &[("authorization", &format!("Bearer {REPORTS}"))],
            String::new(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(
        list.contains("Market street 5") && list.contains("<script>"),
        "{list}"
    );
    // Bidi in the place: refused with an HTML page, not JSON.
    let (status, page) = f
        .raw(
            "POST",
            &format!("/c/{code}/report"),
            &[("content-type", "application/x-www-form-urlencoded")],
            "place=a%E2%80%AEb".to_owned(),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    let _ = header::CONTENT_TYPE;
}

async fn a_transfer_is_one_time_and_keeps_the_warranty_start(b: Backend) {
    let f = fixture(b);
    let code = f.code(31);
    let claim = f.claim(&code);
    let (status, v) = f
        .json(
            "/v1/registrations",
            None,
            json!({"code": code, "claim": claim, "owner_ref": "first-owner", "purchased_on": "2026-10-05"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["warranty_start"], "2026-10-05", "{v}");
    // Only the current owner may start a transfer.
    let (status, v) = f
        .json(
            "/v1/transfers",
            None,
            json!({"code": code, "owner_ref": "someone-else"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    let (status, v) = f
        .json(
            "/v1/transfers",
            None,
            json!({"code": code, "owner_ref": "first-owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let transfer = v["transfer_code"].as_str().unwrap().to_owned();
    assert!(!v.to_string().contains("first-owner"), "{v}");
    let (status, v) = f
        .json(
            "/v1/transfers/accept",
            None,
            json!({"code": code, "transfer_code": transfer, "owner_ref": "second-owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        v["warranty_start"], "2026-10-05",
        "the start date never changes: {v}"
    );
    assert_eq!(v["transfers"], 1, "{v}");
    // The code is single use.
    let (status, v) = f
        .json(
            "/v1/transfers/accept",
            None,
            json!({"code": code, "transfer_code": transfer, "owner_ref": "third-owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::GONE, "{v}");
    // The new owner may transfer again; the old one may not.
    let (status, _) = f
        .json(
            "/v1/transfers",
            None,
            json!({"code": code, "owner_ref": "first-owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = f
        .json(
            "/v1/transfers",
            None,
            json!({"code": code, "owner_ref": "second-owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, page) = f.page(&code).await;
    assert!(page.contains("warranty from 5 October 2026"), "{page}");
    assert_eq!(
        title(&page),
        "Genuine",
        "a transfer is not a conflict: {page}"
    );
}

/// How many answers have each (status, kind), sorted.
fn tally(answers: &[(StatusCode, String)]) -> Vec<(u16, String, usize)> {
    let mut out: Vec<(u16, String, usize)> = Vec::new();
    for (status, kind) in answers {
        match out
            .iter_mut()
            .find(|(s, k, _)| *s == status.as_u16() && k == kind)
        {
            Some(entry) => entry.2 += 1,
            None => out.push((status.as_u16(), kind.clone(), 1)),
        }
    }
    out.sort();
    out
}

async fn a_burst_of_wrong_claims_gets_exactly_the_cap(b: Backend) {
    let f = fixture(b);
    // A right claim after a wrong one, under the cap, registers.
    let code = f.code(41);
    let wrong = f.claim(&f.code(40));
    let (status, v) = f
        .json(
            "/v1/registrations",
            None,
            json!({"code": code, "claim": wrong, "owner_ref": "guesser"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"], "wrong-claim", "{v}");
    let (status, v) = f
        .json(
            "/v1/registrations",
            None,
            json!({"code": code, "claim": f.claim(&code), "owner_ref": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    // 30 wrong claims at once on another unit: exactly the cap of them is
    // tried, the rest refused untried.
    let code = f.code(42);
    let answers = f
        .burst(
            30,
            "/v1/registrations",
            json!({"code": code, "claim": wrong, "owner_ref": "guesser"}),
        )
        .await;
    let cap = CLAIM_CAP;
    assert_eq!(
        tally(&answers),
        vec![
            (403, "wrong-claim".to_owned(), cap),
            (429, "too-many-claim-attempts".to_owned(), 30 - cap),
        ],
        "{answers:?}"
    );
    // Refused attempts are not counted: exactly the cap is stored.
    let unit = unit_of(&code);
    let storage = f.state.storage();
    let (failures, _) = pg::off_runtime(|| storage.claim_failures(&unit, NOW - 3600).unwrap());
    assert_eq!(failures, u64::try_from(cap).unwrap());
    // At the cap even the right claim waits, and says how long.
    let body = json!({"code": code, "claim": f.claim(&code), "owner_ref": "owner"});
    let (status, v) = f.json("/v1/registrations", None, body.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["retry_after"], 3600, "{v}");
    // Once the window has passed it registers.
    f.set_now(NOW + 3600);
    let (status, v) = f.json("/v1/registrations", None, body).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
}

async fn a_burst_of_wrong_transfer_codes_gets_exactly_the_cap(b: Backend) {
    let f = fixture(b);
    let code = f.code(51);
    let (status, v) = f
        .json(
            "/v1/registrations",
            None,
            json!({"code": code, "claim": f.claim(&code), "owner_ref": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let answers = f
        .burst(
            30,
            "/v1/transfers/accept",
            json!({"code": code, "transfer_code": "ht_0000000000000000", "owner_ref": "thief"}),
        )
        .await;
    let cap = CLAIM_CAP;
    assert_eq!(
        tally(&answers),
        vec![
            (403, "wrong-transfer-code".to_owned(), cap),
            (429, "too-many-claim-attempts".to_owned(), 30 - cap),
        ],
        "{answers:?}"
    );
    // The counter is the unit's: starting a transfer waits too.
    let (status, v) = f
        .json(
            "/v1/transfers",
            None,
            json!({"code": code, "owner_ref": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{v}");
    // And a burst of wrong owners on a fresh unit is capped the same way.
    let code = f.code(52);
    let (status, v) = f
        .json(
            "/v1/registrations",
            None,
            json!({"code": code, "claim": f.claim(&code), "owner_ref": "owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let answers = f
        .burst(
            30,
            "/v1/transfers",
            json!({"code": code, "owner_ref": "not-the-owner"}),
        )
        .await;
    assert_eq!(
        tally(&answers),
        vec![
            (403, "wrong-owner".to_owned(), cap),
            (429, "too-many-claim-attempts".to_owned(), 30 - cap),
        ],
        "{answers:?}"
    );
}

async fn a_transfer_code_expires_at_its_ttl_and_stays_expired(b: Backend) {
    let f = fixture(b);
    let code = f.code(61);
    let (status, v) = f
        .json(
            "/v1/registrations",
            None,
            json!({"code": code, "claim": f.claim(&code), "owner_ref": "first-owner", "purchased_on": "2026-10-05"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let accept = |transfer: &str, owner: &str| json!({"code": code, "transfer_code": transfer, "owner_ref": owner});
    // A code used at its expiry (or later) is gone.
    let (late, expires) = f.start_transfer(&code, "first-owner").await;
    assert_eq!(expires, NOW + TRANSFER_TTL);
    f.set_now(NOW + TRANSFER_TTL);
    let (status, v) = f
        .json("/v1/transfers/accept", None, accept(&late, "second-owner"))
        .await;
    assert_eq!(status, StatusCode::GONE, "{v}");
    assert_eq!(v["error"], "transfer-expired", "{v}");
    f.set_now(NOW + TRANSFER_TTL + 86_400);
    let (status, v) = f
        .json("/v1/transfers/accept", None, accept(&late, "second-owner"))
        .await;
    assert_eq!(v["error"], "transfer-expired", "{status} {v}");
    // A clock set back does not revive it.
    f.set_now(NOW + 60);
    let (status, v) = f
        .json("/v1/transfers/accept", None, accept(&late, "second-owner"))
        .await;
    assert_eq!(status, StatusCode::GONE, "{v}");
    assert_eq!(v["error"], "transfer-expired", "{v}");
    // Expired codes are not guesses: nothing was counted against the unit.
    let storage = f.state.storage();
    let unit = unit_of(&code);
    let (failures, _) = pg::off_runtime(|| storage.claim_failures(&unit, 0).unwrap());
    assert_eq!(failures, 0);
    // A code used one second before its expiry works, and the warranty
    // start stays the first owner's purchase date.
    let (timely, expires) = f.start_transfer(&code, "first-owner").await;
    assert_eq!(expires, NOW + 60 + TRANSFER_TTL);
    f.set_now(expires - 1);
    let (status, v) = f
        .json(
            "/v1/transfers/accept",
            None,
            accept(&timely, "second-owner"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["warranty_start"], "2026-10-05", "{v}");
    assert_eq!(v["transfers"], 1, "{v}");
    let (_, page) = f.page(&code).await;
    assert!(page.contains("warranty from 5 October 2026"), "{page}");
    assert!(
        page.contains("Registered to its owner since November 2026"),
        "the registration date is the first owner's: {page}"
    );
    // The old owner's rights are gone with it.
    let (status, _) = f
        .json(
            "/v1/transfers",
            None,
            json!({"code": code, "owner_ref": "first-owner"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn a_burst_of_reports_gets_exactly_the_cap(b: Backend) {
    let f = fixture(b);
    // The server's REPORTS_PER_UNIT_PER_HOUR; counted and stored in one
    // write transaction, so a burst cannot pass it.
    const CAP: usize = 20;
    let code = f.code(71);
    let answers = f
        .burst(
            30,
            "/v1/reports",
            json!({"code": code, "place": "market", "note": "too cheap"}),
        )
        .await;
    assert_eq!(
        tally(&answers),
        vec![
            (201, String::new(), CAP),
            (429, "too-many-reports".to_owned(), 30 - CAP),
        ],
        "{answers:?}"
    );
}

/// The unit identity the server keeps for a code (`code:KID:SERIAL`).
fn unit_of(code: &str) -> String {
    let c = hallmark::UnverifiedCode::decode(code).unwrap();
    hallmark::aggregation::UnitId::Code {
        kid: c.kid(),
        serial: c.payload().serial(),
    }
    .to_string()
}

async fn a_bad_purchase_date_is_refused_or_clamped_and_the_answer_says_so(b: Backend) {
    let f = fixture(b);
    let register = |serial: u64, purchased_on: Value| {
        let code = f.code(serial);
        let claim = f.claim(&code);
        let f = &f;
        async move {
            f.json(
                "/v1/registrations",
                None,
                json!({"code": code, "claim": claim, "owner_ref": "o", "purchased_on": purchased_on}),
            )
            .await
        }
    };
    // Not a date, or a day that does not exist: 400 invalid-date, nothing stored.
    for (serial, bad) in [(41, "yesterday"), (42, "2026-02-30"), (43, "2026-11-1")] {
        let (status, v) = register(serial, json!(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert_eq!(v["error"], "invalid-date", "{bad}: {v}");
        assert!(v["detail"].as_str().unwrap().contains("YYYY-MM-DD"), "{v}");
        let (status, v) = register(serial, json!("2026-11-01")).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "not registered by the refusal: {v}"
        );
    }
    // In the future: the warranty starts today (NOW is 2026-11-23), and the answer says so.
    let (status, v) = register(44, json!("2027-01-01")).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["warranty_start"], "2026-11-23", "{v}");
    assert_eq!(v["purchased_on_adjusted"], "future", "{v}");
    // Before the date of manufacture (2023-12-12): it starts on that date.
    let (status, v) = register(45, json!("2020-05-01")).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["warranty_start"], "2023-12-12", "{v}");
    assert_eq!(v["purchased_on_adjusted"], "before-manufacture", "{v}");
    // Taken as given: no adjustment named; absent or empty: today.
    let (_, v) = register(46, json!("2024-03-04")).await;
    assert_eq!(v["warranty_start"], "2024-03-04", "{v}");
    assert!(v.get("purchased_on_adjusted").is_none(), "{v}");
    for (serial, none) in [(47, Value::Null), (48, json!(""))] {
        let (status, v) = register(serial, none).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        assert_eq!(v["warranty_start"], "2026-11-23", "{v}");
        assert!(v.get("purchased_on_adjusted").is_none(), "{v}");
    }
    // The form: the same rules, in words.
    let form = |serial: u64, date: &str| {
        let code = f.code(serial);
        let body = format!("claim={}&owner_ref=o&purchased_on={date}", f.claim(&code));
        let f = &f;
        async move {
            f.raw(
                "POST",
                &format!("/c/{code}/register"),
                &[("content-type", "application/x-www-form-urlencoded")],
                body,
            )
            .await
        }
    };
    let (status, page) = form(51, "31.12.2025").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(
        page.contains("The date of purchase is not a date: write it as YYYY-MM-DD"),
        "{page}"
    );
    assert!(page.contains("<form"), "the form again: {page}");
    let (status, page) = form(51, "2025-12-31").await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "not registered by the refusal: {page}"
    );
    let (status, page) = form(52, "2027-01-01").await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert!(
        page.contains("It started on 23 November 2026")
            && page.contains("is in the future, so the warranty starts today"),
        "{page}"
    );
    let (status, page) = form(53, "2020-05-01").await;
    assert_eq!(status, StatusCode::CREATED, "{page}");
    assert!(
        page.contains("It started on 12 December 2023")
            && page.contains("before the product was made"),
        "{page}"
    );
    let (_, page) = form(54, "2024-03-04").await;
    assert!(
        page.contains("It started on 4 March 2024") && !page.contains("so the warranty starts"),
        "{page}"
    );
}
