//! End-to-end: the real `hallmark serve` on loopback. Acknowledged status
//! writes survive `kill -9`, and the snapshot it serves is accepted by
//! `hallmark verify --revocations` offline.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common;
use crate::pg;

use common::*;

/// A running `hallmark serve`; killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    port: u16,
    /// The metrics listener's port, with `--metrics-listen`.
    metrics_port: Option<u16>,
    /// Its standard error, copied as it comes.
    log: PathBuf,
    /// Disconnected when it exits.
    closed: std::sync::mpsc::Receiver<()>,
}

impl Server {
    /// Starts the server on `--listen 127.0.0.1:0` and waits for the
    /// `listening on http://ADDR` line it prints once bound: the port is the
    /// one the system picked (no port chosen in advance, no polling).
    fn start(dir: &Path, trust: &Path, db: &str, rev_key: &Path) -> Server {
        Server::start_with(dir, trust, db, rev_key, &[])
    }

    /// [`Server::start`] with more arguments.
    fn start_with(dir: &Path, trust: &Path, db: &str, rev_key: &Path, extra: &[&str]) -> Server {
        let (child, announced, log) = common::spawn_serve(
            dir,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--trust",
                p(trust),
                "--db",
                db,
                "--revocation-key",
                p(rev_key),
            ],
            extra,
        );
        Server {
            child,
            port: announced.port,
            metrics_port: announced.metrics_port,
            log,
            closed: announced.closed,
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> HttpResponse {
        http(self.port, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// SIGKILL, as `kill -9`: no chance to flush or shut down. Returns its
    /// log, complete (read after its standard error closed).
    fn kill9(mut self) -> String {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        let _ = self.closed.recv_timeout(Duration::from_secs(30));
        std::fs::read_to_string(&self.log).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    dir: tempfile::TempDir,
    trust: PathBuf,
    rev_key: PathBuf,
    /// `--db`: an SQLite path or a PostgreSQL URL.
    db: String,
    /// Keeps the PostgreSQL schema until the test ends.
    _scratch: Option<pg::Scratch>,
}

/// A revocation key marked as revocation signer in a copy of the demo trust
/// store, and an SQLite database path.
fn setup() -> Setup {
    setup_on(None)
}

/// The same on a scratch PostgreSQL schema, or `None` (reason printed) when no
/// server is reachable outside CI.
fn setup_postgres(test: &str) -> Option<Setup> {
    pg::scratch(test).map(|scratch| setup_on(Some(scratch)))
}

fn setup_on(scratch: Option<pg::Scratch>) -> Setup {
    let dir = tempdir();
    let (trust, rev_key) = revocation_signer(dir.path());
    Setup {
        rev_key,
        db: match &scratch {
            Some(scratch) => scratch.url.clone(),
            None => p(&dir.path().join("hallmark.db")).to_owned(),
        },
        _scratch: scratch,
        trust,
        dir,
    }
}

/// `hallmark token SUBCOMMAND --db DB`.
fn token(subcommand: &str, db: &str) -> Hallmark {
    hallmark(&["token", subcommand, "--db", db])
}

/// `token create --db DB --name NAME --scope SCOPE`.
fn token_create(db: &str, name: &str, scope: &str) -> Hallmark {
    token("create", db).args(&["--name", name, "--scope", scope])
}

fn create_token(db: &str, name: &str, scope: &str) -> String {
    let out = token_create(db, name, scope).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let token = stdout(&out).trim().to_owned();
    assert!(token.starts_with("hm_"), "{token}");
    token
}

#[test]
fn acknowledged_revocations_survive_kill_9_and_verify_offline() {
    acknowledged_revocations_survive_kill_9(&setup());
}

#[test]
fn acknowledged_revocations_survive_kill_9_and_verify_offline_on_postgres() {
    if let Some(s) = setup_postgres("kill9") {
        acknowledged_revocations_survive_kill_9(&s);
    }
}

fn acknowledged_revocations_survive_kill_9(s: &Setup) {
    let codes = mint_demo(s.dir.path(), 3, &[]);
    let token = create_token(&s.db, "e2e", "status");
    let auth = format!("Bearer {token}");
    let json_auth = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];

    let server = Server::start(s.dir.path(), &s.trust, &s.db, &s.rev_key);
    let lookup = server.request("GET", &format!("/v1/codes/{}", codes[1]), &[], b"");
    assert_eq!(lookup.status, 200);
    let v = lookup.json();
    assert_eq!(v["verdict"], "genuine");
    let kid = v["kid"].as_str().unwrap().to_owned();

    // No token, a wrong one: 401.
    let body =
        serde_json::json!({"action": "revoke", "reason": "stolen", "code": codes[1]}).to_string();
    let r = server.request(
        "POST",
        "/v1/status",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 401);
    let r = server.request(
        "POST",
        "/v1/status",
        &[
            ("Authorization", "Bearer hm_0000"),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    );
    assert_eq!(r.status, 401);

    // A burst of revocations, then kill -9 right after the last 200.
    let serials: Vec<u64> = (1000..1020).collect();
    for serial in &serials {
        let b = serde_json::json!({"action": "revoke", "reason": "recalled", "kid": kid, "serial": serial});
        let r = server.request("POST", "/v1/status", &json_auth, b.to_string().as_bytes());
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    let r = server.request("POST", "/v1/status", &json_auth, body.as_bytes());
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let acknowledged = Instant::now();
    let sequence = r.json()["sequence"].as_u64().unwrap();
    // Sequences are at least the change's time (issue 18.9), one up per change.
    assert!(sequence >= unix_now() - 60, "{sequence}");
    let log = server.kill9();
    eprintln!(
        "killed -9 {} µs after the last acknowledgement",
        acknowledged.elapsed().as_micros()
    );
    assert!(log.contains("status changed"), "debug log written: {log}");
    assert!(
        !log.contains(&token) && !log.contains(token.trim_start_matches("hm_")),
        "a token reached the log"
    );

    // Restarted on the same database: every acknowledged write is there.
    let server = Server::start(s.dir.path(), &s.trust, &s.db, &s.rev_key);
    let v = server
        .request("GET", &format!("/v1/codes/{}", codes[1]), &[], b"")
        .json();
    assert_eq!(v["verdict"], "revoked", "{v}");
    assert_eq!(v["status"]["reason"], "stolen");
    let v = server
        .request("GET", &format!("/v1/codes/{}", codes[0]), &[], b"")
        .json();
    assert_eq!(v["verdict"], "genuine", "{v}");

    // The snapshot, pulled over HTTP, verifies offline with the CLI.
    let r = server.request("GET", "/v1/revocations/snapshot", &[], b"");
    assert_eq!(r.status, 200);
    let etag = r.header("etag").unwrap().to_owned();
    let snapshot = s.dir.path().join("revocations.bin");
    std::fs::write(&snapshot, &r.body).unwrap();
    let state = s.dir.path().join("state");
    let out = verify(&s.trust)
        .revocations(&snapshot)
        .state_dir(&state)
        .json()
        .args(&[&codes[0], &codes[1], &codes[2]])
        .run();
    let verdicts: Vec<_> = json_lines(&out)
        .iter()
        .map(|v| v["verdict"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        verdicts,
        ["genuine", "revoked", "genuine"],
        "{}",
        stderr(&out)
    );
    assert_eq!(code(&out), 1, "a revoked code: exit status 1");
    let snap = hallmark::RevocationSnapshot::verify(
        &r.body,
        &hallmark::TrustStore::from_toml(&std::fs::read_to_string(&s.trust).unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(snap.sequence, sequence, "the sequence survived too");
    assert_eq!(snap.revocations().len(), serials.len() + 1);

    // Unchanged: 304.
    let r = server.request(
        "GET",
        "/v1/revocations/snapshot",
        &[("If-None-Match", etag.as_str())],
        b"",
    );
    assert_eq!(r.status, 304);
}

#[test]
fn sigterm_shuts_down_gracefully() {
    sigterm_shuts_down(&setup());
}

#[test]
fn sigterm_shuts_down_gracefully_on_postgres() {
    if let Some(s) = setup_postgres("sigterm") {
        sigterm_shuts_down(&s);
    }
}

fn sigterm_shuts_down(s: &Setup) {
    let mut server = Server::start(s.dir.path(), &s.trust, &s.db, &s.rev_key);
    let pid = server.child.id().to_string();
    let out = run_program("kill", &["-TERM", &pid]);
    assert!(out.status.success());
    let status =
        common::wait_with_timeout(&mut server.child, &server.closed, Duration::from_secs(20))
            .expect("still running 20 s after SIGTERM");
    assert_eq!(
        status.code(),
        Some(0),
        "{}",
        std::fs::read_to_string(&server.log).unwrap()
    );
}

/// Issue 16: `hallmark token list` prints creation and revocation times in
/// RFC 3339 UTC, not in seconds since 1970.
#[test]
fn token_list_prints_its_times_in_rfc3339() {
    let s = setup();
    token_create(&s.db, "ops", "status").now(1_796_152_542).ok();
    token_create(&s.db, "dock", "scans").now(1_796_152_600).ok();
    token("revoke", &s.db)
        .args(&["--name", "dock"])
        .now(1_796_239_000)
        .ok();
    assert_eq!(
        token("list", &s.db).lines(),
        [
            "dock\tscans\tcreated 2026-12-01T19:16:40Z\trevoked 2026-12-02T19:16:40Z",
            "ops\tstatus\tcreated 2026-12-01T19:15:42Z\tactive",
        ]
    );
}

#[test]
fn token_commands_and_bad_arguments() {
    let s = setup();
    create_token(&s.db, "ops", "batches");
    let out = token_create(&s.db, "ops", "status").run();
    assert_eq!(code(&out), 2, "a duplicate name is refused");
    let out = token_create(&s.db, "bad name", "status").run();
    assert_eq!(code(&out), 2);
    let out = token("list", &s.db).run();
    assert_eq!(code(&out), 0);
    assert!(
        stdout(&out).starts_with("ops\tbatches\t"),
        "{}",
        stdout(&out)
    );
    assert!(
        !stdout(&out).contains("hm_"),
        "tokens are never shown again"
    );
    let revoke = || token("revoke", &s.db).args(&["--name", "ops"]).run();
    let out = revoke();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&token("list", &s.db).run()).contains("revoked"));
    let out = revoke();
    assert_eq!(code(&out), 2);
    let out = hallmark(&["serve", "--trust", p(&s.trust)])
        .args(&["--db", "postgres://hallmark@127.0.0.1:1/h"])
        .run();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("PostgreSQL"), "{}", stderr(&out));
}

#[test]
fn cli_clients_set_status_pull_snapshots_and_push_batches() {
    let s = setup();
    let dir = s.dir.path();
    let codes = mint_demo(dir, 3, &[]);
    let status_token = create_token(&s.db, "ops", "status");
    let batches_token = create_token(&s.db, "factory", "batches");
    let server = Server::start(dir, &s.trust, &s.db, &s.rev_key);
    let url = format!("http://127.0.0.1:{}", server.port);
    let lookup = |code: &str| {
        let r = server.request("GET", &format!("/v1/codes/{code}"), &[], b"");
        assert_eq!(r.status, 200);
        r.json()
    };
    let v = lookup(&codes[1]);
    assert_eq!(v["verdict"], "genuine", "{v}");
    assert_eq!(v["registered"], false, "{v}");

    // No token, then a wrong one: refused (exit 1), nothing changes.
    // `status set --action revoke` of codes[1], with no token in the
    // environment.
    let set_revoke = || {
        hallmark(&["status", "set", "--server", &url, "--code", &codes[1]])
            .args(&["--action", "revoke"])
            .env_remove("HALLMARK_TOKEN")
    };
    let revoke = || set_revoke().args(&["--reason", "stolen"]);
    let out = revoke().run();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    let out = revoke().args(&["--token", "hm_0000"]).run();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    // A token of the wrong scope is refused too.
    let out = revoke().env("HALLMARK_TOKEN", &batches_token).run();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let v = lookup(&codes[1]);
    assert_eq!(v["verdict"], "genuine", "{v}");
    assert_eq!(v["status"]["state"], "active", "{v}");
    // A usage error (revoke without a reason) is exit 2, before any request.
    let out = set_revoke().env("HALLMARK_TOKEN", &status_token).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));

    // The right token (from the environment): revoked.
    let out = revoke().env("HALLMARK_TOKEN", &status_token).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let answer: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(answer["action"], "revoke", "{answer}");
    let first = answer["sequence"].as_u64().unwrap();
    assert!(
        first >= unix_now() - 60,
        "sequences follow the clock: {answer}"
    );
    let v = lookup(&codes[1]);
    assert_eq!(v["verdict"], "revoked", "{v}");
    assert_eq!(v["status"]["reason"], "stolen", "{v}");

    // Pull the snapshot; a second pull gets 304 and keeps the file.
    let snapshot = dir.join("pulled").join("revocations.bin");
    std::fs::create_dir(snapshot.parent().unwrap()).unwrap();
    // Without --trust (the second pull and on).
    let pull = || hallmark(&["revocations", "pull", "--server", &url]).out(&snapshot);
    let out = pull()
        .args(&["--trust", p(&s.trust)])
        .state_dir(&dir.join("state"))
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let bytes = std::fs::read(&snapshot).unwrap();
    assert!(!bytes.is_empty());
    let etag_file = dir.join("pulled").join("revocations.bin.etag");
    let etag = std::fs::read_to_string(&etag_file).unwrap();
    assert!(etag.starts_with('"'), "{etag}");
    let modified = std::fs::metadata(&snapshot).unwrap().modified().unwrap();
    let out = pull().run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("304"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&snapshot).unwrap(), bytes);
    assert_eq!(
        std::fs::metadata(&snapshot).unwrap().modified().unwrap(),
        modified,
        "the file was kept, not rewritten"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.join("pulled"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Issue 18.2 (regression_revocations_pull_does_not_follow_planted_symlinks):
    // symlinks planted at the snapshot's path and at its .etag are replaced
    // by regular files; their targets are untouched.
    let planted = dir.join("planted");
    std::fs::create_dir(&planted).unwrap();
    let (victim, victim_etag) = (dir.join("victim"), dir.join("victim-etag"));
    std::fs::write(&victim, b"precious").unwrap();
    std::fs::write(&victim_etag, b"precious too").unwrap();
    let (to, to_etag) = (
        planted.join("revocations.bin"),
        planted.join("revocations.bin.etag"),
    );
    std::os::unix::fs::symlink(&victim, &to).unwrap();
    std::os::unix::fs::symlink(&victim_etag, &to_etag).unwrap();
    let out = hallmark(&["revocations", "pull", "--server", &url])
        .out(&to)
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(std::fs::read(&victim_etag).unwrap(), b"precious too");
    for path in [&to, &to_etag] {
        let meta = std::fs::symlink_metadata(path).unwrap();
        assert!(
            meta.file_type().is_file(),
            "{} is a regular file",
            path.display()
        );
    }
    assert_eq!(std::fs::read(&to).unwrap(), bytes);

    // The pulled snapshot verifies offline.
    let out = verify(&s.trust)
        .revocations(&snapshot)
        .state_dir(&dir.join("state"))
        .json()
        .args(&[&codes[0], &codes[1]])
        .run();
    let verdicts: Vec<_> = json_lines(&out)
        .iter()
        .map(|v| v["verdict"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(verdicts, ["genuine", "revoked"], "{}", stderr(&out));
    assert_eq!(code(&out), 1);

    // Export the demo batches and push them: the serials become registered.
    let manifest = dir.join("demo-manifest.bin");
    let out = batches_export(&demo_key())
        .ledger(&dir.join("demo.ledger"))
        .out(&manifest)
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let push = || {
        hallmark(&["batches", "push", "--server", &url, p(&manifest)]).env_remove("HALLMARK_TOKEN")
    };
    let out = push().run();
    assert_eq!(code(&out), 1, "no token: {}", stderr(&out));
    assert_eq!(lookup(&codes[0])["registered"], false);
    let out = push().env("HALLMARK_TOKEN", &batches_token).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let answer: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(answer["new"], 1, "{answer}");
    let v = lookup(&codes[0]);
    assert_eq!(v["registered"], true, "{v}");

    // Connection refused: exit 2.
    drop(server);
    let out = pull().run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn metrics_are_served_on_their_own_listener_only() {
    let s = setup();
    let codes = mint_demo(s.dir.path(), 1, &[]);
    let server = Server::start_with(
        s.dir.path(),
        &s.trust,
        &s.db,
        &s.rev_key,
        &["--metrics-listen", "127.0.0.1:0"],
    );
    let metrics_port = server
        .metrics_port
        .expect("the metrics address was printed");
    assert_ne!(metrics_port, server.port);
    let r = server.request("GET", &format!("/v1/codes/{}", codes[0]), &[], b"");
    assert_eq!(r.status, 200);
    let scrape = http(metrics_port, "GET", "/metrics", &[], b"").unwrap();
    assert_eq!(scrape.status, 200);
    let text = String::from_utf8_lossy(&scrape.body);
    assert!(
        text.contains(
            "hallmark_http_requests_total{method=\"GET\",route=\"/v1/codes/{code}\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("hallmark_verdicts_total{word=\"genuine\"} 1"),
        "{text}"
    );
    // Not on the public listener.
    assert_eq!(server.request("GET", "/metrics", &[], b"").status, 404);
}

/// Issue 18.8: a libpq `key=value` string given to `--db` became an SQLite
/// file named after it, password included, and was logged. It is refused by
/// `serve` and every `token` command, without creating a file or echoing the
/// password, and the message points at the URL form.
#[test]
fn regression_db_libpq_key_value_string_is_refused_not_an_sqlite_file() {
    let s = setup();
    let dir = tempdir();
    let libpq = "host=db user=x password=s3cretpw dbname=y";
    let runs: [&[&str]; 5] = [
        &["token", "list", "--db", libpq],
        &[
            "token", "create", "--db", libpq, "--name", "a", "--scope", "status",
        ],
        &["token", "revoke", "--db", libpq, "--name", "a"],
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--trust",
            p(&s.trust),
            "--db",
            libpq,
        ],
        &["token", "list"],
    ];
    for args in runs {
        let mut cmd = hallmark(args).command();
        cmd.current_dir(dir.path()).stdin(Stdio::null());
        if args.len() == 2 {
            // The same string through the environment.
            cmd.env("HALLMARK_DB", libpq);
        }
        let out = cmd.output().unwrap();
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{args:?}: {err}");
        assert!(
            !err.contains("s3cretpw"),
            "{args:?} echoed the password: {err}"
        );
        assert!(
            err.contains("key=value") && err.contains("postgres://"),
            "{args:?}: {err}"
        );
        assert!(!stdout(&out).contains("s3cretpw"));
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "no file was created: {left:?}");
}

#[test]
fn regression_serve_closes_idle_connections_after_idle_timeout() {
    // `--listen 127.0.0.1:0` announces the port the system picked; the
    // connection flags reach the server.
    let s = setup();
    let server = Server::start_with(
        s.dir.path(),
        &s.trust,
        &s.db,
        &s.rev_key,
        &["--idle-timeout", "1s", "--max-connections-per-client", "2"],
    );
    assert_ne!(server.port, 0);
    use std::io::Read;
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    let opened = Instant::now();
    let second = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // A third from the same address is over the limit: 503, closed.
    let third = http(server.port, "GET", "/healthz", &[], b"");
    if let Ok(r) = &third {
        assert_eq!(r.status, 503, "{r:?}");
        assert_eq!(r.json()["error"], "too-many-connections");
    }
    let mut buf = [0u8; 16];
    let n = idle.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "closed without an answer");
    let lasted = opened.elapsed();
    assert!(
        lasted >= Duration::from_millis(900) && lasted < Duration::from_secs(8),
        "{lasted:?}"
    );
    drop((idle, second));
    // Room again once they are closed.
    let r = server.request("GET", "/healthz", &[], b"");
    assert_eq!(r.status, 200);
    // A zero timeout is a usage error.
    let out = hallmark(&["serve", "--trust", p(&s.trust), "--header-timeout", "0s"]).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

/// Issue 18.3: the service refuses codes signed by its own revocation key
/// (a revocation signer signs no codes).
#[test]
fn regression_revocation_signer_key_cannot_mint_genuine_codes_on_the_service() {
    let s = setup();
    let out = mint(&s.rev_key)
        .ledger(&s.dir.path().join("rev.ledger"))
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let minted = stdout(&out).trim().to_owned();
    let server = Server::start(s.dir.path(), &s.trust, &s.db, &s.rev_key);
    let lookup = server.request("GET", &format!("/v1/codes/{minted}"), &[], b"");
    assert_eq!(lookup.status, 200);
    let v = lookup.json();
    assert_eq!(v["verdict"], "key-not-valid", "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("revocation signer"),
        "{v}"
    );
    let page = server.request("GET", &format!("/c/{minted}"), &[], b"");
    let page = String::from_utf8_lossy(&page.body);
    assert!(
        page.contains("Not genuine") && !page.contains("Genuine"),
        "{page}"
    );
}

#[test]
fn trust_pull_keeps_etags_and_refuses_rollbacks_and_altered_bundles() {
    let s = setup();
    let dir = s.dir.path();
    let codes = mint_demo(dir, 2, &[]);
    let status_token = create_token(&s.db, "ops", "status");
    let server = Server::start(dir, &s.trust, &s.db, &s.rev_key);
    let url = format!("http://127.0.0.1:{}", server.port);
    let out = hallmark(&["status", "set", "--server", &url, "--code", &codes[1]])
        .args(&["--action", "revoke", "--reason", "stolen"])
        .env("HALLMARK_TOKEN", &status_token)
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let state = dir.join("state");
    let bundle = dir.join("bundle.bin");
    let pull = |out: &Path, url: &str| {
        hallmark(&["trust", "pull", "--server", url, "--trust", p(&s.trust)])
            .out(out)
            .state_dir(&state)
    };
    let out = pull(&bundle, &url).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("verified"), "{}", stderr(&out));
    let bytes = std::fs::read(&bundle).unwrap();
    let etag_file = dir.join("bundle.bin.etag");
    assert!(
        std::fs::read_to_string(&etag_file)
            .unwrap()
            .starts_with('"')
    );
    // Unchanged: 304, the file kept.
    let out = pull(&bundle, &url).run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("304"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&bundle).unwrap(), bytes);
    // The bundle's sequence was recorded in the signer's one sequence file:
    // the snapshot of the same sequence is accepted, and verify agrees.
    let seq_files: Vec<PathBuf> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".seq"))
        .collect();
    assert_eq!(seq_files.len(), 1, "{seq_files:?}");
    let seen: u64 = std::fs::read_to_string(&seq_files[0])
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let snapshot = dir.join("revocations.bin");
    let out = hallmark(&[
        "revocations",
        "pull",
        "--server",
        &url,
        "--trust",
        p(&s.trust),
    ])
    .out(&snapshot)
    .state_dir(&state)
    .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A rollback: the state has seen a later sequence. Refused with exit 2,
    // the old file kept (the ETag file removed, so the service sends it whole).
    std::fs::write(&seq_files[0], format!("{}\n", seen + 1)).unwrap();
    std::fs::remove_file(&etag_file).unwrap();
    std::fs::write(&bundle, b"the old bundle").unwrap();
    let out = pull(&bundle, &url).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("rollback"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&bundle).unwrap(), b"the old bundle");
    std::fs::remove_file(dir.join("revocations.bin.etag")).unwrap();
    let out = hallmark(&[
        "revocations",
        "pull",
        "--server",
        &url,
        "--trust",
        p(&s.trust),
    ])
    .out(&snapshot)
    .state_dir(&state)
    .run();
    assert_eq!(
        code(&out),
        2,
        "revocations pull checks the sequence too: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("rollback"), "{}", stderr(&out));
    std::fs::write(&seq_files[0], format!("{seen}\n")).unwrap();
    // One byte altered: refused with exit 2, nothing written.
    for i in [10, bytes.len() / 2, bytes.len() - 1] {
        let mut altered = bytes.clone();
        altered[i] ^= 0x01;
        let target = dir.join(format!("altered-{i}.bin"));
        let out = pull(&target, &serve_once(altered)).run();
        assert_eq!(code(&out), 2, "byte {i}: {}", stderr(&out));
        assert!(stderr(&out).contains("refused"), "{}", stderr(&out));
        assert!(!target.exists());
    }
}

/// Issue 13: `revocations pull` wrote a snapshot that `verify --revocations`
/// refused as a rollback when an offline `revocations build` with the same
/// key had used a higher sequence. Such a sequence (ahead of the clock) is
/// now refused, and the default follows the service's rule, so a verifier
/// that saw the offline snapshot accepts the service's next one.
#[test]
fn regression_offline_build_cannot_make_the_service_snapshot_a_rollback() {
    let s = setup();
    let dir = s.dir.path();
    let codes = mint_demo(dir, 2, &[]);
    let status_token = create_token(&s.db, "ops", "status");
    let list = dir.join("empty.toml");
    std::fs::write(&list, "").unwrap();
    let state = dir.join("state");
    // The old conflict: an offline snapshot far above the clock.
    let high = dir.join("high.bin");
    let ahead = unix_now() + 30 * 86_400;
    let out = revocations_build(&s.rev_key, &list, ahead, &high).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("a day ahead"), "{}", stderr(&out));
    assert!(!high.exists());
    // The default: max(last + 1, now), recorded beside the key.
    let offline = dir.join("offline.bin");
    let out = hallmark(&["revocations", "build", "--key", p(&s.rev_key)])
        .args(&["--list", p(&list)])
        .out(&offline)
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let mut key_seq = s.rev_key.clone().into_os_string();
    key_seq.push(".seq");
    let built: u64 = std::fs::read_to_string(&key_seq)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(built + 60 >= unix_now(), "follows the clock: {built}");
    let out = verify(&s.trust)
        .revocations(&offline)
        .state_dir(&state)
        .args(&[&codes[0]])
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A second offline build goes above the first even within one second.
    let again = dir.join("again.bin");
    let out = hallmark(&["revocations", "build", "--key", p(&s.rev_key)])
        .args(&["--list", p(&list)])
        .out(&again)
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let second: u64 = std::fs::read_to_string(&key_seq)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(second > built, "{second} > {built}");
    // Then the service: its change's sequence is at least the clock's, so
    // the pulled snapshot is accepted by the same state.
    let server = Server::start(dir, &s.trust, &s.db, &s.rev_key);
    let url = format!("http://127.0.0.1:{}", server.port);
    let out = hallmark(&["status", "set", "--server", &url, "--code", &codes[1]])
        .args(&["--action", "revoke", "--reason", "stolen"])
        .env("HALLMARK_TOKEN", &status_token)
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let pulled = dir.join("pulled.bin");
    let out = hallmark(&[
        "revocations",
        "pull",
        "--server",
        &url,
        "--trust",
        p(&s.trust),
    ])
    .out(&pulled)
    .state_dir(&state)
    .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = verify(&s.trust)
        .revocations(&pulled)
        .state_dir(&state)
        .json()
        .args(&[&codes[0], &codes[1]])
        .run();
    let verdicts: Vec<_> = json_lines(&out)
        .iter()
        .map(|v| v["verdict"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(verdicts, ["genuine", "revoked"], "{}", stderr(&out));
}

/// A GS1 unit signed by `hallmark gs1 sign` as a Digital Link URI, opened on
/// the service's own host as a phone would: JSON for API clients, a redirect
/// to the page for browsers; the same unit as a percent-encoded element
/// string on /v1/codes; an altered 8030 is refused.
#[test]
fn gs1_digital_link_path_on_the_service_host() {
    let s = setup();
    let out = hallmark(&[
        "gs1",
        "sign",
        "--key",
        p(&demo_key()),
        "--gtin",
        "09506000134352",
        "--lot",
        "L1",
        "--prod-date",
        "2026-12-01",
        "--count",
        "1",
        "--format",
        "dl",
        "--dl-stem",
        "https://id.example.com",
    ])
    .ledger(&s.dir.path().join("gs1.ledger"))
    .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let link = stdout(&out).trim().to_owned();
    let path = link.strip_prefix("https://id.example.com").unwrap();
    let serial = path
        .split("/21/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let server = Server::start(s.dir.path(), &s.trust, &s.db, &s.rev_key);

    let api = server.request("GET", path, &[("Accept", "application/json")], b"");
    assert_eq!(api.status, 200, "{}", String::from_utf8_lossy(&api.body));
    let v = api.json();
    assert_eq!(v["verdict"], "genuine", "{v}");
    assert_eq!(v["gs1"]["gtin"], "09506000134352", "{v}");
    assert_eq!(v["gs1"]["serial"], serial, "{v}");

    let browser = server.request("GET", path, &[("Accept", "text/html")], b"");
    assert_eq!(browser.status, 303);
    let location = browser.header("location").unwrap().to_owned();
    assert!(location.starts_with("/c/"), "{location}");
    let page = server.request("GET", &location, &[("Accept", "text/html")], b"");
    assert_eq!(page.status, 200);
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains("</span> Genuine</h1>") && html.contains(serial),
        "{html}"
    );

    // The bracketed canonical form, percent-encoded, on the JSON lookup.
    let canonical = v["code"].as_str().unwrap();
    let encoded: String = canonical.bytes().map(|b| format!("%{b:02X}")).collect();
    let lookup = server.request("GET", &format!("/v1/codes/{encoded}"), &[], b"");
    assert_eq!(lookup.json()["verdict"], "genuine");

    // A character of the signature itself (past the profile and key id).
    let (head, sig) = path.rsplit_once("8030=").unwrap();
    let flipped = if &sig[40..41] == "A" { "B" } else { "A" };
    let altered = format!("{head}8030={}{flipped}{}", &sig[..40], &sig[41..]);
    let bad = server.request("GET", &altered, &[], b"");
    assert_eq!(bad.status, 200);
    assert_eq!(bad.json()["verdict"], "bad-signature");
}

#[test]
fn acknowledged_links_and_aggregations_survive_kill_9() {
    acknowledged_links_and_aggregations_survive_kill_9_on(&setup());
}

#[test]
fn acknowledged_links_and_aggregations_survive_kill_9_on_postgres() {
    if let Some(s) = setup_postgres("kill9graph") {
        acknowledged_links_and_aggregations_survive_kill_9_on(&s);
    }
}

/// Links (made and replaced) and a stored aggregation manifest, acknowledged
/// by the real server, then `kill -9`: after a restart every one is there,
/// the replaced link with its removal time.
fn acknowledged_links_and_aggregations_survive_kill_9_on(s: &Setup) {
    let codes = mint_demo(s.dir.path(), 8, &[]);
    let token = create_token(&s.db, "graph", "batches");
    let auth = format!("Bearer {token}");
    let json_auth = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    // An aggregation manifest of four codes under an SSCC, signed by the demo key.
    let children = s.dir.path().join("children.txt");
    std::fs::write(&children, codes[4..8].join("\n")).unwrap();
    let manifest = s.dir.path().join("case.agg");
    let out = hallmark(&[
        "aggregate",
        "--key",
        p(&demo_key()),
        "--parent",
        "sscc:106141411234567897",
        "--children",
        p(&children),
        "--bizstep",
        "packing",
        "--out",
        p(&manifest),
    ])
    .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    let server = Server::start(s.dir.path(), &s.trust, &s.db, &s.rev_key);
    let post = |path: &str, body: serde_json::Value| {
        let r = server.request("POST", path, &json_auth, body.to_string().as_bytes());
        assert!(
            r.status == 200 || r.status == 201,
            "{path}: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        );
        r.json()
    };
    let (drone, battery, spare) = (&codes[0], &codes[1], &codes[2]);
    let first = post(
        "/v1/links",
        serde_json::json!({"parent": drone, "child": battery}),
    );
    post(
        "/v1/links",
        serde_json::json!({"parent": drone, "child": spare, "replace": first["id"]}),
    );
    post(
        "/v1/links",
        serde_json::json!({"parent": drone, "child": {"part": "BAT-1", "lot": "L231212-01"}}),
    );
    let bytes = std::fs::read(&manifest).unwrap();
    let r = server.request(
        "POST",
        "/v1/aggregations",
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/octet-stream"),
        ],
        &bytes,
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let log = server.kill9();
    assert!(
        !log.contains(token.trim_start_matches("hm_")),
        "a token reached the log"
    );

    let server = Server::start(s.dir.path(), &s.trust, &s.db, &s.rev_key);
    let v = server
        .request("GET", &format!("/v1/codes/{drone}"), &[], b"")
        .json();
    let components = v["components"].as_array().unwrap();
    assert_eq!(components.len(), 3, "{v}");
    assert!(components[0]["removed_at"].is_u64(), "{v}");
    assert_eq!(components[0]["replaced_by"], components[1]["id"], "{v}");
    let r = server.request(
        "GET",
        "/v1/aggregations/sscc:106141411234567897",
        &[("Authorization", auth.as_str())],
        b"",
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let text = String::from_utf8_lossy(&r.body).into_owned();
    assert!(text.contains("\"child_count\":4"), "{text}");
    let r = server.request(
        "GET",
        "/v1/trace?part=BAT-1&lot=L231212-01",
        &[("Authorization", auth.as_str())],
        b"",
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["parents"].as_array().unwrap().len(), 1);
    // The page shows what the drone is built from and what the spare is in.
    let r = server.request("GET", &format!("/c/{drone}"), &[], b"");
    let page = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        page.contains("Built from") && page.contains("lot L231212-01 of BAT-1"),
        "{page}"
    );
    assert!(page.contains("Parts replaced in its history: 1."), "{page}");
    let r = server.request("GET", &format!("/c/{spare}"), &[], b"");
    let page = String::from_utf8_lossy(&r.body).into_owned();
    assert!(
        page.contains("Contained in") && page.contains("built into code:"),
        "{page}"
    );
    let r = server.request("GET", &format!("/c/{}", codes[4]), &[], b"");
    let page = String::from_utf8_lossy(&r.body).into_owned();
    assert!(page.contains("packed in sscc:106141411234567897"), "{page}");
}
