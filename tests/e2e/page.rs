//! The consumer page and warranty registration through the real binary and
//! the real server: claim codes from `mint`, 50 concurrent registrations of
//! one unit (exactly one wins), kill -9 after the acknowledgement (on SQLite
//! and on PostgreSQL), the HTML rate-limit page, and each state rendered by a real browser (Debian's
//! chromium, headless) when it is installed.

use std::path::Path;
use std::process::Child;
use std::sync::atomic::AtomicU64;

use crate::common::*;
use crate::pg;

fn skip(test: &str, cause: &str) {
    static SKIPPED: AtomicU64 = AtomicU64::new(0);
    skip_tool(&SKIPPED, "page", "page", test, cause);
}

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

/// `hallmark serve --db DB` (an SQLite path or a PostgreSQL URL).
fn serve(dir: &Path, db: &str, claim_key: &Path, extra: &[&str]) -> Served {
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
            "--claim-key",
            p(claim_key),
        ],
        extra,
    );
    Served {
        child,
        port: announced.port,
    }
}

/// A claim key, and `count` codes with their claim codes (`mint --claim-codes`).
fn minted(dir: &Path, count: u64) -> (std::path::PathBuf, Vec<(String, String)>) {
    let key = dir.join("claim.key");
    let out = hallmark(&["claim-key", "new", "--out", p(&key)]).run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let claims = dir.join("claims.csv");
    let ledger = dir.join("demo.ledger");
    let out = mint(&demo_key())
        .count(count)
        .ledger(&ledger)
        .args(&[
            "--new-ledger",
            "--claim-codes",
            p(&claims),
            "--claim-key",
            p(&key),
        ])
        .run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&claims).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the claims file is secret");
    }
    let text = std::fs::read_to_string(&claims).unwrap();
    let rows: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let (c, k) = l.split_once(',').unwrap();
            (c.to_owned(), k.to_owned())
        })
        .collect();
    assert_eq!(rows.len() as u64, count, "{text}");
    (key, rows)
}

fn register(port: u16, code: &str, claim: &str, owner: &str) -> HttpResponse {
    let body = serde_json::json!({"code": code, "claim": claim, "owner_ref": owner}).to_string();
    http(
        port,
        "POST",
        "/v1/registrations",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .unwrap()
}

#[test]
fn registration_is_first_wins_under_50_concurrent_attempts_and_survives_kill_9() {
    let dir = tempdir();
    let db = dir.path().join("h.db");
    first_wins_under_50_concurrent_attempts_and_survives_kill_9(dir.path(), p(&db));
}

#[test]
fn registration_is_first_wins_under_50_concurrent_attempts_and_survives_kill_9_on_postgres() {
    if let Some(scratch) = pg::scratch("registration_kill9") {
        let dir = tempdir();
        first_wins_under_50_concurrent_attempts_and_survives_kill_9(dir.path(), &scratch.url);
    }
}

fn first_wins_under_50_concurrent_attempts_and_survives_kill_9(dir: &Path, db: &str) {
    let (key, rows) = minted(dir, 2);
    let server = serve(dir, db, &key, &["--rate-limit", "0"]);
    let (code, claim) = rows[0].clone();
    let port = server.port;
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let (code, claim) = (code.clone(), claim.clone());
                s.spawn(move || {
                    let r = register(port, &code, &claim, &format!("owner-{i}"));
                    (r.status, String::from_utf8_lossy(&r.body).into_owned())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let won: Vec<_> = answers.iter().filter(|(s, _)| *s == 201).collect();
    assert_eq!(won.len(), 1, "exactly one registration wins: {answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 201 || *s == 409),
        "{answers:?}"
    );
    for (_, body) in &answers {
        assert!(!body.contains("owner-") && !body.contains(&claim), "{body}");
    }
    // kill -9 right after the acknowledgement: the registration is kept.
    let mut server = server;
    server.child.kill().unwrap();
    let status = server.child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "killed by SIGKILL, not shut down"
    );
    drop(server);
    let server = serve(dir, db, &key, &["--rate-limit", "0"]);
    let r = register(server.port, &code, &claim, "owner-after-restart");
    assert_eq!(r.status, 409, "{}", String::from_utf8_lossy(&r.body));
    let page = http(server.port, "GET", &format!("/c/{code}"), &[], b"").unwrap();
    let page = String::from_utf8_lossy(&page.body).into_owned();
    assert!(page.contains("Warning: registered twice"), "{page}");
    assert!(page.contains("Registered to its owner since"), "{page}");
    assert!(!page.contains("owner-") && !page.contains(&claim), "{page}");
    // The other unit is still free; a wrong claim is refused, and guessing
    // stops after 5 wrong claims.
    let (other, _) = &rows[1];
    let mut statuses = Vec::new();
    for _ in 0..7 {
        statuses.push(register(server.port, other, &claim, "guesser").status);
    }
    assert_eq!(
        statuses,
        [403, 403, 403, 403, 403, 429, 429],
        "{statuses:?}"
    );
}

#[test]
fn a_rate_limited_page_is_an_html_page() {
    let dir = tempdir();
    let (key, rows) = minted(dir.path(), 1);
    let db = dir.path().join("h.db");
    let server = serve(
        dir.path(),
        p(&db),
        &key,
        &["--rate-limit", "1", "--rate-limit-burst", "1"],
    );
    let path = format!("/c/{}", rows[0].0);
    let first = http(server.port, "GET", &path, &[("Accept-Language", "de")], b"").unwrap();
    assert_eq!(first.status, 200);
    let limited = http(server.port, "GET", &path, &[("Accept-Language", "de")], b"").unwrap();
    assert_eq!(limited.status, 429);
    let text = String::from_utf8_lossy(&limited.body);
    assert!(
        text.starts_with("<!DOCTYPE html>") && text.contains("Zu viele Prüfungen"),
        "{text}"
    );
    assert!(limited.headers.iter().any(|(k, _)| k == "retry-after"));
}

#[test]
fn a_real_browser_renders_each_state() {
    let Some(chromium) = ["chromium", "chromium-browser"].into_iter().find(|c| {
        run_program("sh", &["-c", &format!("command -v {c}")])
            .status
            .success()
    }) else {
        return skip(
            "a_real_browser_renders_each_state",
            "chromium is not installed",
        );
    };
    let dir = tempdir();
    let (key, rows) = minted(dir.path(), 2);
    let db = dir.path().join("h.db");
    let server = serve(dir.path(), p(&db), &key, &["--rate-limit", "0"]);
    let (code, claim) = &rows[0];
    assert_eq!(register(server.port, code, claim, "a").status, 201);
    assert_eq!(register(server.port, code, claim, "b").status, 409);
    let profile = dir.path().join("chromium-profile");
    let dom = |path: &str| -> String {
        let url = format!("http://127.0.0.1:{}{path}", server.port);
        let out = run_program(
            chromium,
            &[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                &format!("--user-data-dir={}", p(&profile)),
                "--window-size=360,1400",
                "--dump-dom",
                &url,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for (path, expect) in [
        (format!("/c/{}", rows[1].0), "Genuine"),
        (format!("/c/{code}"), "Warning: registered twice"),
        (format!("/c/{}?lang=fr", rows[1].0), "Authentique"),
        ("/c/NOT-A-CODE".to_owned(), "Unreadable code"),
    ] {
        let dom = dom(&path);
        assert!(
            dom.contains(&format!("</span> {expect}</h1>")),
            "{path}: {dom}"
        );
        assert!(!dom.contains("<script"), "{path}: no script");
    }
}

/// Two server processes on one PostgreSQL database (scale-out): 30 wrong
/// claims on one unit, half to each and all at once, get exactly 5 tries
/// between them (the limit is counted in the database, in the attempt's
/// own transaction).
#[test]
fn claim_guessing_is_capped_across_two_servers_on_postgres() {
    let Some(scratch) = pg::scratch("claim_cap_two_servers") else {
        return;
    };
    let dir = tempdir();
    let (key, rows) = minted(dir.path(), 2);
    let servers = [
        serve(dir.path(), &scratch.url, &key, &["--rate-limit", "0"]),
        serve(dir.path(), &scratch.url, &key, &["--rate-limit", "0"]),
    ];
    let ports: Vec<u16> = servers.iter().map(|s| s.port).collect();
    let (code, _) = rows[0].clone();
    let (_, wrong) = rows[1].clone();
    let start = std::sync::Barrier::new(30);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..30)
            .map(|i| {
                let (code, wrong, start) = (&code, &wrong, &start);
                let port = ports[i % 2];
                s.spawn(move || {
                    start.wait();
                    register(port, code, wrong, "guesser").status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let tried = statuses.iter().filter(|s| **s == 403).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((tried, refused), (5, 25), "{statuses:?}");
    // Both servers refuse the right claim now (the cap is the database's).
    let (_, claim) = &rows[0];
    for port in ports {
        assert_eq!(register(port, &code, claim, "owner").status, 429);
    }
}

/// Runs `hallmark serve` with `extra` and expects it to refuse to start: it
/// exits non-zero (2, a usage error) without ever listening and without
/// creating its database. Its standard error.
fn serve_refuses(dir: &Path, extra: &[&str]) -> String {
    use std::io::Read;
    let db = dir.join("refused.db");
    let mut child = std::process::Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--trust",
            p(&demo_trust()),
            "--db",
            p(&db),
        ])
        .args(extra)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let Ok(text) = rx.recv_timeout(std::time::Duration::from_secs(30)) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("hallmark serve {extra:?} did not stop");
    };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{extra:?}: {text}");
    assert!(!text.contains("listening on"), "{extra:?}: {text}");
    assert!(
        !db.exists(),
        "{extra:?}: the database was made before the flags were checked"
    );
    text
}

#[test]
fn serve_refuses_a_claim_key_that_is_missing_readable_by_others_or_not_a_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let missing = dir.path().join("missing-claim.key");
    let err = serve_refuses(dir.path(), &["--claim-key", p(&missing)]);
    assert!(
        err.contains(&format!("--claim-key {}", missing.display()))
            && err.contains("No such file or directory"),
        "{err}"
    );
    let open = dir.path().join("open-claim.key");
    let out = hallmark(&["claim-key", "new", "--out", p(&open)]).run();
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = serve_refuses(dir.path(), &["--claim-key", p(&open)]);
    assert!(
        err.contains(&format!(
            "{} is readable by other users (mode 0644)",
            open.display()
        )) && err.contains("chmod 600"),
        "{err}"
    );
    let key_line = std::fs::read_to_string(&open)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("key = "))
        .unwrap()
        .to_owned();
    assert!(
        !err.contains(&key_line[6..]),
        "the error shows the key: {err}"
    );
    for (name, text, what) in [
        (
            "garbage.key",
            "garbage\n",
            "not a hallmark claim key file (line 1)",
        ),
        (
            "short.key",
            "# hallmark claim key v1\nkey = abcdef\n",
            "`key` must be 64 hex digits (line 2)",
        ),
        (
            "keyless.key",
            "# hallmark claim key v1\n# nothing else\n",
            "no `key` line",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = serve_refuses(dir.path(), &["--claim-key", p(&path)]);
        assert!(
            err.contains(&format!("--claim-key {}", path.display())) && err.contains(what),
            "{name}: {err}"
        );
        assert!(
            !err.contains("abcdef"),
            "the error shows the content: {err}"
        );
    }
}

#[test]
fn serve_refuses_a_products_file_that_is_missing_or_invalid() {
    let dir = tempdir();
    let missing = dir.path().join("missing-products.toml");
    let err = serve_refuses(dir.path(), &["--products", p(&missing)]);
    assert!(
        err.contains(&format!("--products: caused by {}", missing.display()))
            && err.contains("No such file or directory"),
        "{err}"
    );
    for (name, text, what) in [
        (
            "syntax.toml",
            "[[product]]\npart = \"DRN-*\"\nname = \"unclosed\n",
            "line 3, column ",
        ),
        ("table.toml", "[[product\n", "line 1, column "),
        (
            "bidi.toml",
            "[[product]]\npart = \"DRN-\u{202E}*\"\nname = \"x\"\n",
            "product 1: part: control or bidirectional formatting characters are not allowed",
        ),
        (
            "ftp.toml",
            "[[product]]\npart = \"A*\"\nname = \"x\"\n[[product]]\npart = \"B*\"\nname = \"y\"\nimage = \"ftp://example.com/y.jpg\"\n",
            "product 2: image: must be an https:// (or http://) URL",
        ),
        (
            "script.toml",
            "[[product]]\npart = \"A*\"\nname = \"x\"\nlink = \"javascript:alert(1)\"\n",
            "product 1: link: must be an https:// (or http://) URL",
        ),
        (
            "quote.toml",
            "[[product]]\npart = \"A*\"\nname = \"x\"\nimage = \"https://example.com/a\\\"b.jpg\"\n",
            "product 1: image: must not hold",
        ),
        (
            "unknown.toml",
            "[[product]]\npart = \"A*\"\nname = \"x\"\ncolour = \"red\"\n",
            "unknown field `colour`",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let err = serve_refuses(dir.path(), &["--products", p(&path)]);
        assert!(
            err.contains(&format!("--products: caused by {}: ", path.display()))
                && err.contains(what),
            "{name}: {err}"
        );
        // One line: the whole reason survives the one-line error report.
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: {err}");
    }
    // An http:// image is allowed (the page's policy admits it).
    let http = dir.path().join("http.toml");
    std::fs::write(
        &http,
        "[[product]]\npart = \"A*\"\nname = \"x\"\nimage = \"http://example.com/x.jpg\"\n",
    )
    .unwrap();
    let db = dir.path().join("ok.db");
    let (mut child, _, _) = spawn_serve(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--trust",
            p(&demo_trust()),
            "--db",
            p(&db),
            "--products",
            p(&http),
        ],
        &[],
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn the_demo_claim_key_is_read_at_0644_only_because_it_is_test_only_and_warns() {
    use std::os::unix::fs::PermissionsExt;
    let demo = Path::new(ROOT).join("keys.example/claim-demo-TEST-ONLY.key");
    let text = std::fs::read_to_string(&demo).unwrap();
    assert!(text.contains("\ntest_only = true\n"), "{text}");
    let dir = tempdir();
    // At the mode a checkout gives it (whatever this one has).
    let copy = dir.path().join("claim-demo-TEST-ONLY.key");
    std::fs::write(&copy, &text).unwrap();
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o644)).unwrap();
    let claims = dir.path().join("claims.csv");
    let out = mint(&demo_key())
        .count(1)
        .ledger(&dir.path().join("demo.ledger"))
        .args(&[
            "--new-ledger",
            "--claim-codes",
            p(&claims),
            "--claim-key",
            p(&copy),
        ])
        .run();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "warning: {} is a published TEST-ONLY claim key",
            copy.display()
        )),
        "{}",
        stderr(&out)
    );
    let db = dir.path().join("h.db");
    let (child, _, log) = spawn_serve(
        dir.path(),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--trust",
            p(&demo_trust()),
            "--db",
            p(&db),
            "--claim-key",
            p(&copy),
        ],
        &["--rate-limit", "0"],
    );
    // Dropped (killed) when the test ends, also when an assertion fails.
    let server = Served { child, port: 0 };
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("is a published TEST-ONLY claim key"),
        "{log_text}"
    );
    drop(server);
    // The same key without the mark is a secret, and refused at 0644.
    let unmarked = dir.path().join("unmarked.key");
    std::fs::write(&unmarked, text.replace("test_only = true\n", "")).unwrap();
    std::fs::set_permissions(&unmarked, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = serve_refuses(dir.path(), &["--claim-key", p(&unmarked)]);
    assert!(
        err.contains("is readable by other users (mode 0644)"),
        "{err}"
    );
}

/// `gs1 sign --claim-codes` (hallmark's serials and an external pool whose
/// serials need CSV quoting) writes `gtin,serial,claim`, mode 0600, and the
/// service registers each GS1 unit with its own claim only.
#[test]
fn gs1_units_get_claim_codes_that_register_them() {
    use std::os::unix::fs::PermissionsExt;
    const GTIN: &str = "09506000134352";
    let dir = tempdir();
    let key = dir.path().join("claim.key");
    assert!(
        hallmark(&["claim-key", "new", "--out", p(&key)])
            .run()
            .status
            .success()
    );
    let pool = dir.path().join("pool.txt");
    std::fs::write(&pool, "AB,12\nQ\"7\n").unwrap();
    let (demo, ledger) = (demo_key(), dir.path().join("demo.ledger"));
    let sign = |name: &str, units: &[&str]| {
        let (claims, out) = (
            dir.path().join(format!("{name}.csv")),
            dir.path().join(format!("{name}.txt")),
        );
        let mut args = vec![
            "gs1",
            "sign",
            "--key",
            p(&demo),
            "--ledger",
            p(&ledger),
            "--gtin",
            GTIN,
            "--prod-date",
            "2026-11-20",
            "--format",
            "hri",
            "--claim-codes",
            p(&claims),
            "--claim-key",
            p(&key),
            "--out",
            p(&out),
        ];
        args.extend_from_slice(units);
        let run = hallmark(&args).run();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let mode = std::fs::metadata(&claims).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the claims file is secret");
        let mut reader = csv::Reader::from_path(&claims).unwrap();
        assert_eq!(reader.headers().unwrap(), vec!["gtin", "serial", "claim"]);
        let rows: Vec<(String, String)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                assert_eq!(&r[0], GTIN);
                (r[1].to_owned(), r[2].to_owned())
            })
            .collect();
        let units: Vec<String> = std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(rows.len(), units.len());
        (rows, units)
    };
    let (own, own_units) = sign("own", &["--count", "2", "--new-ledger"]);
    let (pooled, pool_units) = sign("pooled", &["--serials", p(&pool)]);
    let mut serials: Vec<&str> = pooled.iter().map(|(s, _)| s.as_str()).collect();
    serials.sort_unstable();
    assert_eq!(serials, ["AB,12", "Q\"7"]);
    // Claims existing already: nothing is signed again.
    let again = hallmark(&[
        "gs1",
        "sign",
        "--key",
        p(&demo),
        "--ledger",
        p(&ledger),
        "--gtin",
        GTIN,
        "--prod-date",
        "2026-11-20",
        "--count",
        "1",
        "--claim-codes",
        p(&dir.path().join("own.csv")),
        "--claim-key",
        p(&key),
    ])
    .run();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));

    let db = dir.path().join("gs1-claims.db");
    let server = serve(dir.path(), p(&db), &key, &["--rate-limit", "0"]);
    let claim_of = |rows: &[(String, String)], hri: &str| {
        rows.iter()
            .find(|(serial, _)| hri.contains(&format!("(21){serial}(")))
            .map(|(_, claim)| claim.clone())
            .unwrap_or_else(|| panic!("no claim row for {hri}"))
    };
    let (a, b) = (&own_units[0], &pool_units[0]);
    // Another unit's claim is refused; each unit's own registers it.
    let wrong = register(server.port, a, &claim_of(&pooled, b), "owner-1");
    assert_eq!(
        wrong.status,
        403,
        "{}",
        String::from_utf8_lossy(&wrong.body)
    );
    for (units, rows) in [(&own_units, &own), (&pool_units, &pooled)] {
        for hri in units.iter() {
            let r = register(server.port, hri, &claim_of(rows, hri), "owner-1");
            assert_eq!(r.status, 201, "{hri}: {}", String::from_utf8_lossy(&r.body));
        }
    }
}
