//! Helpers shared by the end-to-end tests: run the real `hallmark` binary.

#![allow(
    dead_code,
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_hallmark");
/// The repository root.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

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
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {BIN}: {e}"));
    let mut input = child.stdin.take().unwrap_or_else(|| panic!("stdin"));
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait: {e}"));
    let _ = writer.join();
    out
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
    let ledger = dir.join("demo.ledger");
    let key = demo_key();
    let count = count.to_string();
    let mut args = vec![
        "mint",
        "--key",
        p(&key),
        "--part",
        "DRN-2980",
        "--lot",
        "L231212-01",
        "--date",
        "2023-12-12",
        "--count",
        &count,
        "--ledger",
        p(&ledger),
    ];
    args.extend_from_slice(extra);
    let out = run(&args, b"");
    assert_eq!(code(&out), 0, "mint failed: {}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}
