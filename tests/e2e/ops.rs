//! Operating `hallmark serve` (issue 17): the access log of a whole run that
//! uses a token, a claim code, a passphrase-protected key and full codes
//! (grepped for every one of them), settings from `HALLMARK_*` variables,
//! `--log-format json`, host names for `--listen`, "address in use" naming
//! the flag and the address, the process and build-info metrics, and the
//! shutdown line printed once.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::common::*;

/// A running `hallmark serve` whose standard error is collected.
struct Served {
    child: Child,
    /// `HOST:PORT` from `listening on http://HOST:PORT`.
    addr: String,
    /// From `metrics on http://HOST:PORT/metrics`.
    metrics: Option<String>,
    log: Arc<Mutex<String>>,
    closed: mpsc::Receiver<()>,
}

/// The address in a `listening on http://ADDR` or `metrics on
/// http://ADDR/metrics` announcement, plain or inside a JSON log line.
fn announced(line: &str, what: &str) -> Option<String> {
    let rest = &line[line.find(what)? + what.len()..];
    let rest = rest.strip_prefix("http://")?;
    let end = rest
        .find(|c: char| c == '/' || c == '"' || c.is_whitespace())
        .unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// Starts `hallmark serve ARGS` with `env` (and without `$HALLMARK_LOG`
/// unless `env` sets it: the default level), waiting 30 s at most for its
/// address.
fn start(args: &[&str], env: &[(&str, &str)]) -> Served {
    let mut command = Command::new(BIN);
    command.arg("serve").args(args).env_remove("HALLMARK_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {BIN}: {e}"));
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = mpsc::channel::<(String, Option<String>)>();
    let (closed_tx, closed) = mpsc::channel::<()>();
    let collected = Arc::clone(&log);
    std::thread::spawn(move || {
        let _closed_tx = closed_tx;
        let mut metrics = None;
        let mut sent = false;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            {
                let mut log = collected.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
            if let Some(m) = announced(&line, "metrics on ") {
                metrics = Some(m);
            }
            if !sent && let Some(addr) = announced(&line, "listening on ") {
                sent = true;
                let _ = tx.send((addr, metrics.clone()));
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok((addr, metrics)) => Served {
            child,
            addr,
            metrics,
            log,
            closed,
        },
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "hallmark serve did not announce its address: {}",
                log.lock().unwrap()
            );
        }
    }
}

impl Served {
    /// `METHOD PATH` on the service's address.
    fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        request(&self.addr, method, path, headers, body)
    }

    /// SIGTERM, then the whole log once it has exited 0 (20 s at most).
    fn stop(mut self) -> String {
        let out = run_program("kill", &["-TERM", &self.child.id().to_string()]);
        assert!(out.status.success());
        let status = wait_with_timeout(&mut self.child, &self.closed, Duration::from_secs(20))
            .expect("still running 20 s after SIGTERM");
        let log = self.log.lock().unwrap().clone();
        assert_eq!(status.code(), Some(0), "{log}");
        log
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status and body.
struct Answer {
    status: u16,
    body: String,
}

/// One HTTP/1.1 request over a fresh connection to `addr` (`HOST:PORT`, as
/// announced: IPv4 or `[IPv6]`).
fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let r = http_to(addr, method, path, headers, body).unwrap_or_else(|e| panic!("{addr}: {e}"));
    Answer {
        status: r.status,
        body: String::from_utf8_lossy(&r.body).into_owned(),
    }
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// A long passphrase (keygen may warn on short ones).
const PASSPHRASE: &str = "ops-e2e passphrase: correct horse battery staple 17";

/// `hallmark token create`: the token.
fn create_token(db: &Path, name: &str, scope: &str) -> String {
    let out = hallmark(&[
        "token",
        "create",
        "--db",
        p(db),
        "--name",
        name,
        "--scope",
        scope,
    ])
    .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let token = stdout(&out).trim().to_owned();
    assert!(token.starts_with("hm_"), "{token}");
    token
}

/// Lines of `log` from the access log.
fn access_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("hallmark_server::access"))
        .collect()
}

#[test]
fn the_access_log_of_a_whole_run_names_routes_and_statuses_and_no_secret() {
    let dir = tempdir();
    let d = dir.path();
    let db = d.join("h.db");
    // Two codes with their claim codes (the demo claim key).
    let claim_key = Path::new(ROOT).join("keys.example/claim-demo-TEST-ONLY.key");
    let claims = d.join("claims.csv");
    let codes = mint(&demo_key())
        .count(2)
        .ledger(&d.join("demo.ledger"))
        .args(&[
            "--new-ledger",
            "--claim-codes",
            p(&claims),
            "--claim-key",
            p(&claim_key),
        ])
        .lines();
    assert_eq!(codes.len(), 2);
    let claim_rows = std::fs::read_to_string(&claims).unwrap();
    let claim_of = |c: &str| -> String {
        claim_rows
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{c},")))
            .unwrap_or_else(|| panic!("no claim code for {c} in {claim_rows}"))
            .to_owned()
    };
    let (code, other) = (&codes[0], &codes[1]);
    let claim = claim_of(code);
    // A passphrase-protected revocation key, which the server opens with
    // $HALLMARK_PASSPHRASE.
    keygen(d, "rev").env("HALLMARK_PASSPHRASE", PASSPHRASE).ok();
    let key_file = std::fs::read_to_string(d.join("rev.key")).unwrap();
    assert!(
        key_file.contains("encryption = argon2id"),
        "the revocation key is encrypted: {key_file}"
    );
    let trust = d.join("trust.toml");
    std::fs::copy(demo_trust(), &trust).unwrap();
    trust_add(&trust, &d.join("rev.pub"))
        .args(&["--revocation-signer"])
        .ok();
    let scans_token = create_token(&db, "ops-scanner", "scans");
    let status_token = create_token(&db, "ops-status", "status");

    let server = start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--trust",
            p(&trust),
            "--db",
            p(&db),
            "--claim-key",
            p(&claim_key),
            "--revocation-key",
            p(&d.join("rev.key")),
            "--rate-limit",
            "0",
        ],
        &[("HALLMARK_PASSPHRASE", PASSPHRASE)],
    );
    let owner = "owner-ref-ops-e2e-42";
    let scans_auth = format!("Bearer {scans_token}");
    let status_auth = format!("Bearer {status_token}");
    let lookup = server.request("GET", &format!("/v1/codes/{code}"), &[], b"");
    assert_eq!(lookup.status, 200, "{}", lookup.body);
    let page = server.request("GET", &format!("/c/{code}"), &[], b"");
    assert_eq!(page.status, 200);
    let query = server.request(
        "GET",
        &format!("/v1/codes/{code}?q=query-text-ops"),
        &[],
        b"",
    );
    assert_eq!(query.status, 200, "{}", query.body);
    let scan = serde_json::json!({"code": code, "location": "Lyon"}).to_string();
    let r = server.request(
        "POST",
        "/v1/scans",
        &[("Authorization", scans_auth.as_str()), JSON],
        scan.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let register = |owner: &str| {
        let body = serde_json::json!({"code": code, "claim": claim, "owner_ref": owner});
        server.request(
            "POST",
            "/v1/registrations",
            &[JSON],
            body.to_string().as_bytes(),
        )
    };
    let r = register(owner);
    assert_eq!(r.status, 201, "{}", r.body);
    // A second owner: 409, and the alert registration-conflict.
    let r = register("someone-else-ops");
    assert_eq!(r.status, 409, "{}", r.body);
    // Revoke the other code with the status token, then scan it: the alert
    // scanned-after-revocation.
    let revoke = serde_json::json!({"action": "revoke", "reason": "stolen", "code": other});
    let r = server.request(
        "POST",
        "/v1/status",
        &[("Authorization", status_auth.as_str()), JSON],
        revoke.to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let scan = serde_json::json!({"code": other}).to_string();
    let r = server.request("POST", "/v1/scans", &[JSON], scan.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("scanned-after-revocation"), "{}", r.body);
    // The snapshot, signed with the passphrase-protected key.
    let r = server.request("GET", "/v1/revocations/snapshot", &[], b"");
    assert_eq!(r.status, 200);
    // A wrong token, and a path no route has (with a code in it).
    let r = server.request(
        "POST",
        "/v1/status",
        &[("Authorization", "Bearer hm_wrong_ops_token"), JSON],
        revoke.to_string().as_bytes(),
    );
    assert_eq!(r.status, 401);
    let r = server.request("GET", &format!("/nothing/{code}"), &[], b"");
    assert_eq!(r.status, 404);
    let log = server.stop();

    let access = access_lines(&log);
    for (method, route, status) in [
        ("GET", "/v1/codes/{code}", 200),
        ("GET", "/c/{code}", 200),
        ("POST", "/v1/scans", 200),
        ("POST", "/v1/registrations", 201),
        ("POST", "/v1/registrations", 409),
        ("POST", "/v1/status", 200),
        ("POST", "/v1/status", 401),
        ("GET", "/v1/revocations/snapshot", 200),
        ("GET", "other", 404),
    ] {
        let want = format!("method={method} route={route} status={status} ms=");
        assert!(
            access
                .iter()
                .any(|l| l.contains(" INFO ") && l.contains(&want)),
            "no access line with {want}: {log}"
        );
    }
    assert_eq!(access.len(), 11, "one line per request: {log}");
    assert!(
        log.lines()
            .any(|l| l.contains("scan raised alerts")
                && l.contains("alerts=scanned-after-revocation")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains(" WARN ") && l.contains("alerts=registration-conflict")),
        "{log}"
    );
    for (what, secret) in [
        ("the scans token", scans_token.as_str()),
        ("the status token", status_token.as_str()),
        ("the wrong token", "hm_wrong_ops_token"),
        ("the claim code", claim.as_str()),
        ("the passphrase", PASSPHRASE),
        ("the owner reference", owner),
        ("the other owner reference", "someone-else-ops"),
        ("the query string", "query-text-ops"),
        ("a full code", code.as_str()),
        ("the other full code", other.as_str()),
        ("a code's signature part", &code[code.len() - 40..]),
        (
            "the other code's signature part",
            &other[other.len() - 40..],
        ),
        ("a raw path", "/v1/codes/0"),
        ("a raw page path", "/c/0"),
    ] {
        assert!(!secret.is_empty());
        assert!(!log.contains(secret), "the log contains {what}: {log}");
    }
    assert_eq!(
        log.matches("shutting down").count(),
        1,
        "the shutdown line once: {log}"
    );
}

#[test]
fn environment_variables_set_flags_and_json_logs_are_one_object_per_line() {
    let dir = tempdir();
    let d = dir.path();
    let codes = mint_demo(d, 1, &[]);
    let code = &codes[0];
    let db = d.join("h.db");
    // No flag at all: everything from the environment (a rate limit of one
    // request a minute, so that the second lookup is 429).
    let server = start(
        &[],
        &[
            ("HALLMARK_LISTEN", "127.0.0.1:0"),
            ("HALLMARK_METRICS_LISTEN", "127.0.0.1:0"),
            ("HALLMARK_TRUST", p(&demo_trust())),
            ("HALLMARK_DB", p(&db)),
            ("HALLMARK_RATE_LIMIT", "1"),
            ("HALLMARK_RATE_LIMIT_BURST", "1"),
            ("HALLMARK_LOG_FORMAT", "json"),
            ("HALLMARK_LOG", "debug"),
        ],
    );
    let path = format!("/v1/codes/{code}");
    assert_eq!(server.request("GET", &path, &[], b"").status, 200);
    assert_eq!(server.request("GET", &path, &[], b"").status, 429);
    assert!(db.exists(), "HALLMARK_DB names the database");
    let metrics = server.metrics.clone().expect("metrics announced");
    let m = request(&metrics, "GET", "/metrics", &[], b"");
    assert_eq!(m.status, 200);
    for name in [
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_virtual_memory_bytes ",
        "process_open_fds ",
        "process_max_fds ",
        "process_start_time_seconds ",
    ] {
        assert!(
            m.body.lines().any(|l| l.starts_with(name)),
            "no {name}in {}",
            m.body
        );
    }
    let build = format!(
        "hallmark_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(m.body.lines().any(|l| l == build), "{}", m.body);
    let log = server.stop();

    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.iter().all(serde_json::Value::is_object), "{log}");
    let requests: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|v| v["target"] == "hallmark_server::access")
        .collect();
    assert_eq!(requests.len(), 2, "{log}");
    for (v, status) in requests.iter().zip([200, 429]) {
        assert_eq!(v["level"], "INFO", "{v}");
        assert_eq!(v["message"], "request", "{v}");
        assert_eq!(v["method"], "GET", "{v}");
        assert_eq!(v["route"], "/v1/codes/{code}", "{v}");
        assert_eq!(v["status"], status, "{v}");
        assert!(v["ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{v}");
    }
    assert!(
        lines.iter().any(|v| v["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("listening on http://"))),
        "{log}"
    );
    assert!(!log.contains(code.as_str()), "{log}");
    assert_eq!(log.matches("shutting down").count(), 1, "{log}");
}

#[test]
fn help_shows_every_flags_environment_variable_and_never_the_database_url() {
    let out = hallmark(&["serve", "--help"])
        .env(
            "HALLMARK_DB",
            "postgres://hallmark:pw-ops-e2e-secret@db.invalid/hallmark",
        )
        .ok();
    let help = stdout(&out);
    for env in [
        "HALLMARK_LISTEN",
        "HALLMARK_TRUST",
        "HALLMARK_DB",
        "HALLMARK_REVOCATION_KEY",
        "HALLMARK_REGISTRY_CERT",
        "HALLMARK_PRODUCTS",
        "HALLMARK_CLAIM_KEY",
        "HALLMARK_TRANSFER_TTL",
        "HALLMARK_CLONE_LOCATIONS",
        "HALLMARK_ANONYMOUS_CLONE_LOCATIONS",
        "HALLMARK_SCAN_RETENTION",
        "HALLMARK_CLONE_WINDOW",
        "HALLMARK_RATE_LIMIT",
        "HALLMARK_RATE_LIMIT_BURST",
        "HALLMARK_MAX_CONCURRENCY",
        "HALLMARK_HEADER_TIMEOUT",
        "HALLMARK_IDLE_TIMEOUT",
        "HALLMARK_MAX_CONNECTIONS",
        "HALLMARK_MAX_CONNECTIONS_PER_CLIENT",
        "HALLMARK_METRICS_LISTEN",
        "HALLMARK_LOG_FORMAT",
        "HALLMARK_PASSPHRASE_FILE",
    ] {
        assert!(
            help.contains(&format!("[env: {env}")),
            "{env} not in: {help}"
        );
    }
    // Every long flag has one.
    let flags = help
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("--") && l.ends_with('>'))
        .count();
    assert_eq!(help.matches("[env: HALLMARK_").count(), flags, "{help}");
    assert!(!help.contains("pw-ops-e2e-secret"), "{help}");
}

#[test]
fn listen_resolves_host_names_and_address_in_use_names_the_flag_and_address() {
    let dir = tempdir();
    let d = dir.path();
    let trust = p(&demo_trust()).to_owned();
    let db = d.join("h.db");
    let server = start(
        &[
            "--listen",
            "localhost:0",
            "--metrics-listen",
            "localhost:0",
            "--trust",
            &trust,
            "--db",
            p(&db),
        ],
        &[],
    );
    let r = server.request("GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
    let metrics = server.metrics.clone().expect("metrics announced");
    assert_eq!(request(&metrics, "GET", "/metrics", &[], b"").status, 200);
    {
        let log = server.log.lock().unwrap();
        assert!(
            log.contains("--listen localhost:0: resolved to") && log.contains(&server.addr),
            "says which address it bound: {log}"
        );
    }
    // Both addresses are taken now.
    for (flag, taken) in [("--listen", &server.addr), ("--metrics-listen", &metrics)] {
        let mut args = vec!["serve", "--trust", trust.as_str(), "--db", p(&db)];
        if flag == "--metrics-listen" {
            args.extend(["--listen", "127.0.0.1:0"]);
        }
        args.extend([flag, taken.as_str()]);
        let out = hallmark(&args).run();
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("{flag} {taken}"))
                && err.contains(&format!("address {taken} is already in use")),
            "{err}"
        );
    }
    let log = server.stop();
    assert_eq!(log.matches("shutting down").count(), 1, "{log}");
}
