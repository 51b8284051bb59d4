//! Helpers shared by the end-to-end tests: run the real `hallmark` binary.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_hallmark");
/// The repository root.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Counts a test skipped for a missing tool in `counter` (one per test
/// module) and writes its line to stderr, which `cargo test` shows:
/// `SKIPPED (tool missing): MODULE::TEST: N GROUP test(s) skipped: CAUSE`.
/// Under CI a missing tool fails the test instead.
pub fn skip_tool(
    counter: &std::sync::atomic::AtomicU64,
    module: &str,
    group: &str,
    test: &str,
    cause: &str,
) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{module}::{test}: {cause}"
    );
    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let _ = std::io::stderr().lock().write_all(
        format!(
            "\nSKIPPED (tool missing): {module}::{test}: {n} {group} test(s) skipped: {cause}\n"
        )
        .as_bytes(),
    );
}

/// The day the tests verify on (`--today`), unless a test says otherwise.
pub const TODAY: &str = "2026-11-23";

/// The TEST-ONLY demo key.
pub fn demo_key() -> PathBuf {
    Path::new(ROOT).join("keys.example/demo-TEST-ONLY.key")
}

/// The trust store trusting only the demo key.
pub fn demo_trust() -> PathBuf {
    Path::new(ROOT).join("keys.example/trust.toml")
}

/// A path as an argument.
pub fn p(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {}", path.display()))
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

/// Runs any program (for external decoders).
pub fn run_program(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"))
}

/// Runs hallmark with `args`, feeding `stdin`.
pub fn run(args: &[&str], stdin: &[u8]) -> Output {
    hallmark(args).stdin(stdin).run()
}

/// A `hallmark` invocation being built: arguments, environment, stdin.
pub struct Hallmark {
    command: Command,
    stdin: Vec<u8>,
}

/// Starts building an invocation of the binary under test with `args`.
///
/// The invocation does not see the tester's own configuration: no
/// `$HALLMARK_*` variable of this process (every flag of `serve`, the trust
/// store, passphrases) and a `$XDG_CONFIG_HOME` without a default trust
/// store; a test sets what it needs with [`Hallmark::env`].
pub fn hallmark(args: &[&str]) -> Hallmark {
    let mut command = Command::new(BIN);
    command.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HALLMARK_") {
            command.env_remove(name);
        }
    }
    command.env(
        "XDG_CONFIG_HOME",
        Path::new(ROOT).join("target/e2e-no-config"),
    );
    Hallmark {
        command,
        stdin: Vec::new(),
    }
}

impl Hallmark {
    /// More arguments.
    pub fn args(mut self, args: &[&str]) -> Hallmark {
        self.command.args(args);
        self
    }

    /// `--json`.
    pub fn json(self) -> Hallmark {
        self.args(&["--json"])
    }

    /// `--today DATE`.
    pub fn today(self, date: &str) -> Hallmark {
        self.args(&["--today", date])
    }

    /// `--state-dir DIR`.
    pub fn state_dir(self, dir: &Path) -> Hallmark {
        self.args(&["--state-dir", p(dir)])
    }

    /// `--revocations SNAPSHOT`.
    pub fn revocations(self, snapshot: &Path) -> Hallmark {
        self.args(&["--revocations", p(snapshot)])
    }

    /// `--unencrypted` (keygen, key passwd).
    pub fn unencrypted(self) -> Hallmark {
        self.args(&["--unencrypted"])
    }

    /// `--ledger LEDGER`.
    pub fn ledger(self, ledger: &Path) -> Hallmark {
        self.args(&["--ledger", p(ledger)])
    }

    /// `--out PATH`.
    pub fn out(self, path: &Path) -> Hallmark {
        self.args(&["--out", p(path)])
    }

    /// An environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Hallmark {
        self.command.env(key, value);
        self
    }

    /// An environment variable removed.
    pub fn env_remove(mut self, key: &str) -> Hallmark {
        self.command.env_remove(key);
        self
    }

    /// The clock the CLI reads (`$HALLMARK_NOW`, seconds since 1970).
    pub fn now(self, secs: u64) -> Hallmark {
        self.env("HALLMARK_NOW", &secs.to_string())
    }

    /// What the binary reads on stdin.
    pub fn stdin(mut self, bytes: &[u8]) -> Hallmark {
        self.stdin = bytes.to_vec();
        self
    }

    /// Text the binary reads on stdin.
    pub fn input(self, text: &str) -> Hallmark {
        self.stdin(text.as_bytes())
    }

    /// The command, for a test that spawns it with its own pipes (stdin is
    /// not fed).
    pub fn command(self) -> Command {
        self.command
    }

    /// Runs it to the end and returns what it printed.
    pub fn run(mut self) -> Output {
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {BIN}: {e}"));
        let mut input = child.stdin.take().unwrap_or_else(|| panic!("stdin"));
        let data = std::mem::take(&mut self.stdin);
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("wait: {e}"));
        let _ = writer.join();
        out
    }

    /// Runs it, asserts it exited 0, and returns its standard output's lines.
    pub fn lines(self) -> Vec<String> {
        let out = self.run();
        assert_eq!(code(&out), 0, "hallmark failed: {}", stderr(&out));
        stdout(&out).lines().map(str::to_owned).collect()
    }

    /// Runs it and asserts it exited 0.
    pub fn ok(self) -> Output {
        let out = self.run();
        assert_eq!(code(&out), 0, "hallmark failed: {}", stderr(&out));
        out
    }
}

/// `hallmark mint` being built: the demo batch's labels (part DRN-2980, lot
/// L231212-01, 2023-12-12) and one code unless changed.
pub struct Mint {
    key: PathBuf,
    part: String,
    lot: String,
    date: String,
    count: u64,
}

/// Starts building `hallmark mint --key KEY`.
pub fn mint(key: &Path) -> Mint {
    Mint {
        key: key.to_owned(),
        part: "DRN-2980".to_owned(),
        lot: "L231212-01".to_owned(),
        date: "2023-12-12".to_owned(),
        count: 1,
    }
}

impl Mint {
    /// `--part`.
    pub fn part(mut self, part: &str) -> Mint {
        self.part = part.to_owned();
        self
    }

    /// `--lot`.
    pub fn lot(mut self, lot: &str) -> Mint {
        self.lot = lot.to_owned();
        self
    }

    /// `--date`.
    pub fn date(mut self, date: &str) -> Mint {
        self.date = date.to_owned();
        self
    }

    /// `--count`.
    pub fn count(mut self, count: u64) -> Mint {
        self.count = count;
        self
    }

    /// The invocation, to which further arguments can be added.
    pub fn cmd(self) -> Hallmark {
        let count = self.count.to_string();
        hallmark(&[
            "mint",
            "--key",
            p(&self.key),
            "--part",
            &self.part,
            "--lot",
            &self.lot,
            "--date",
            &self.date,
            "--count",
            &count,
        ])
    }

    /// `--ledger LEDGER` (and the invocation).
    pub fn ledger(self, ledger: &Path) -> Hallmark {
        self.cmd().ledger(ledger)
    }

    /// More arguments (and the invocation).
    pub fn args(self, args: &[&str]) -> Hallmark {
        self.cmd().args(args)
    }

    /// Runs it.
    pub fn run(self) -> Output {
        self.cmd().run()
    }
}

/// Starts building `hallmark verify --trust TRUST`.
pub fn verify(trust: &Path) -> Hallmark {
    hallmark(&["verify", "--trust", p(trust)])
}

/// Starts building `hallmark keygen --name NAME --out DIR` (encrypted unless
/// `--unencrypted` is added).
pub fn keygen(dir: &Path, name: &str) -> Hallmark {
    hallmark(&["keygen", "--name", name, "--out", p(dir)])
}

/// Generates the unencrypted key `DIR/NAME.key` (and `NAME.pub`), asserting
/// success: the key's path.
pub fn new_key(dir: &Path, name: &str) -> PathBuf {
    keygen(dir, name).unencrypted().ok();
    dir.join(format!("{name}.key"))
}

/// Starts building `hallmark trust add --trust TRUST PUBLIC`.
pub fn trust_add(trust: &Path, public: &Path) -> Hallmark {
    hallmark(&["trust", "add", "--trust", p(trust), p(public)])
}

/// Starts building `hallmark revocations build --key KEY --list LIST
/// --sequence SEQUENCE --out OUT`.
pub fn revocations_build(key: &Path, list: &Path, sequence: u64, out: &Path) -> Hallmark {
    let sequence = sequence.to_string();
    hallmark(&[
        "revocations",
        "build",
        "--key",
        p(key),
        "--list",
        p(list),
        "--sequence",
        &sequence,
        "--out",
        p(out),
    ])
}

/// Seconds since 1970 by the system clock.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The exit status (-1 when killed by a signal).
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Standard output as JSON lines.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

/// Mints `count` demo codes (part DRN-2980, lot L231212-01, 2023-12-12) into the
/// ledger `DIR/demo.ledger`, with `extra` arguments.
pub fn mint_demo(dir: &Path, count: u32, extra: &[&str]) -> Vec<String> {
    mint(&demo_key())
        .count(count.into())
        .ledger(&dir.join("demo.ledger"))
        .args(extra)
        .lines()
}

/// Starts building `hallmark batches export --key KEY`.
pub fn batches_export(key: &Path) -> Hallmark {
    hallmark(&["batches", "export", "--key", p(key)])
}

/// A revocation key `DIR/rev.key` (unencrypted), marked revocation signer in
/// `DIR/trust.toml`, a copy of the demo trust store: (trust store, key).
pub fn revocation_signer(dir: &Path) -> (PathBuf, PathBuf) {
    let rev_key = new_key(dir, "rev");
    let trust = dir.join("trust.toml");
    std::fs::copy(demo_trust(), &trust).unwrap_or_else(|e| panic!("copy trust store: {e}"));
    trust_add(&trust, &dir.join("rev.pub"))
        .args(&["--revocation-signer"])
        .ok();
    (trust, rev_key)
}

/// Mints `count` sample-sized (164-character) demo codes, serials from
/// 123456789, into the ledger `DIR/demo.ledger`.
pub fn sample_codes(dir: &Path, count: u32) -> Vec<String> {
    let codes = mint_demo(dir, count, &["--serial-start", "123456789"]);
    for c in &codes {
        assert_eq!(c.len(), 164, "sample-sized code: {c}");
    }
    codes
}

/// Starts building `hallmark qr TEXT --out OUT`.
pub fn qr(text: &str, out: &Path) -> Hallmark {
    hallmark(&["qr", text]).out(out)
}

/// What a starting `hallmark serve` announced on stderr.
#[derive(Debug)]
pub struct Announced {
    /// From `listening on http://127.0.0.1:PORT`.
    pub port: u16,
    /// From `metrics on http://127.0.0.1:PORT/metrics`, if printed.
    pub metrics_port: Option<u16>,
    /// Disconnected when its standard error closes (it exited).
    pub closed: std::sync::mpsc::Receiver<()>,
}

/// Starts `hallmark ARGS EXTRA` (a `serve` on `--listen 127.0.0.1:0`) with
/// `$HALLMARK_LOG=debug`, copies its standard error to `DIR/serve-N.log` as it
/// comes, and waits (30 s at most) for its `listening on http://ADDR` line:
/// the child, the ports it announced, and the log's path.
pub fn spawn_serve(
    dir: &Path,
    args: &[&str],
    extra: &[&str],
) -> (std::process::Child, Announced, PathBuf) {
    use std::io::BufRead;
    static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let log_path = dir.join(format!("serve-{}-{n}.log", std::process::id()));
    let mut child = Command::new(BIN)
        .args(args)
        .args(extra)
        // The most verbose logs, so that the tests that look for tokens in
        // them would find any.
        .env("HALLMARK_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {BIN}: {e}"));
    let stderr = child.stderr.take().unwrap();
    let mut log = std::fs::File::create(&log_path).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<(u16, Option<u16>)>();
    let (closed_tx, closed) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let _closed_tx = closed_tx;
        let port_of = |url: &str| -> Option<u16> {
            let rest = url.strip_prefix("http://")?;
            let authority = rest.split('/').next()?;
            authority.rsplit_once(':')?.1.parse().ok()
        };
        let mut metrics_port = None;
        let mut announced = false;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(log, "{line}");
            let _ = log.flush();
            if let Some(url) = line.strip_prefix("metrics on ") {
                metrics_port = port_of(url);
            }
            if !announced && let Some(url) = line.strip_prefix("listening on ") {
                announced = true;
                if let Some(port) = port_of(url) {
                    let _ = tx.send((port, metrics_port));
                }
            }
        }
    });
    match rx.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok((port, metrics_port)) => (
            child,
            Announced {
                port,
                metrics_port,
                closed,
            },
            log_path,
        ),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "hallmark serve did not announce its address: {}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
    }
}

/// Waits for `child` to exit, `limit` at most: `closed` is the
/// [`Announced::closed`] of its standard error, which ends when it exits (no
/// polling).
pub fn wait_with_timeout(
    child: &mut std::process::Child,
    closed: &std::sync::mpsc::Receiver<()>,
    limit: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    match closed.recv_timeout(limit) {
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => child.wait().ok(),
    }
}

/// An HTTP response read by [`http`].
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body (chunked encoding already removed).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// One HTTP/1.1 request to 127.0.0.1:`port` over a fresh connection (no
/// client library): `Connection: close`, the response read to the end.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    http_to(&format!("127.0.0.1:{port}"), method, path, headers, body)
}

/// [`http`] to `addr` (`HOST:PORT`, as a server announces it: IPv4,
/// `[IPv6]` or a name).
pub fn http_to(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut rest = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut body = Vec::new();
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size_text = String::from_utf8_lossy(&rest[..eol]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                break;
            }
            let start = eol + 2;
            body.extend_from_slice(
                rest.get(start..start + size)
                    .ok_or_else(|| bad("short chunk"))?,
            );
            rest = rest.get(start + size + 2..).unwrap_or_default().to_vec();
        }
        rest = body;
    }
    Ok(HttpResponse {
        status,
        headers,
        body: rest,
    })
}

/// Serves `body` with status 200 to one connection on 127.0.0.1 (a service
/// that sends a given, perhaps altered, document); returns its base URL.
pub fn serve_once(body: Vec<u8>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut reader = BufReader::new(&stream);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
        }
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let _ = (&stream).write_all(head.as_bytes());
        let _ = (&stream).write_all(&body);
    });
    format!("http://127.0.0.1:{port}")
}
