//! The crate graph's rules, checked on the manifests and sources as they are
//! (docs: README.md "Layout"):
//! - the verifier crate `hallmark` does no I/O and depends only on its small
//!   set of format crates (apps embed it);
//! - the issuer never depends on the server (or its client);
//! - no library depends on the binary, on the binary's terminal crates
//!   (indicatif, ctrlc, rpassword) or on clap (except behind hallmark-label's
//!   optional `clap` feature); only the client crate speaks HTTP as a client;
//! - libraries print nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::ROOT;

/// The verifier's whole dependency set.
const VERIFIER_DEPENDENCIES: &[&str] = &[
    "ed25519-dalek",
    "curve25519-dalek",
    "sha2",
    "blake3",
    "base32",
    // AI 8030 (the GS1 profile's signature) is base64url; no dependencies of its own.
    "base64",
    "ciborium",
    "serde",
    "toml",
    "hex",
    "thiserror",
    // Optional, off by default (the service's OpenAPI schemas).
    "utoipa",
];

/// The verifier's package name (its library is the crate `hallmark`; the
/// package `hallmark` is the binary).
const VERIFIER: &str = "hallmark-verifier";

/// Crates only the binary may use (the binary itself is found by its path).
const BINARY_ONLY: &[&str] = &["indicatif", "ctrlc", "rpassword"];

/// A library crate: its directory name and its normal dependencies (target
/// specific ones included), with whether each is optional.
struct Library {
    name: String,
    dir: PathBuf,
    dependencies: Vec<(String, bool)>,
    /// Dependencies given by a `path` that is the repository root: the binary.
    on_binary: Vec<String>,
}

fn libraries() -> Vec<Library> {
    let mut out = Vec::new();
    let crates = Path::new(ROOT).join("crates");
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let doc: toml::Table = toml::from_str(&text).unwrap();
        let mut tables = vec![doc.get("dependencies").cloned()];
        if let Some(toml::Value::Table(targets)) = doc.get("target") {
            for target in targets.values() {
                tables.push(target.get("dependencies").cloned());
            }
        }
        let mut dependencies = Vec::new();
        let mut on_binary = Vec::new();
        for table in tables.into_iter().flatten() {
            let toml::Value::Table(table) = table else {
                panic!("{}: [dependencies] is not a table", manifest.display())
            };
            for (name, spec) in table {
                let optional = spec
                    .get("optional")
                    .and_then(toml::Value::as_bool)
                    .unwrap_or(false);
                let path = spec.get("path").and_then(toml::Value::as_str);
                if path.is_some_and(|p| {
                    dir.join(p).canonicalize().ok() == Path::new(ROOT).canonicalize().ok()
                }) {
                    on_binary.push(name.clone());
                }
                dependencies.push((name, optional));
            }
        }
        let name = doc["package"]["name"].as_str().unwrap().to_owned();
        out.push(Library {
            name,
            dir,
            dependencies,
            on_binary,
        });
    }
    assert!(
        out.iter().any(|l| l.name == VERIFIER) && out.len() >= 5,
        "found the library crates"
    );
    out
}

/// Every `.rs` file below `dir`.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn the_crate_graph_keeps_its_rules() {
    let mut broken = Vec::new();
    for lib in libraries() {
        let names: BTreeSet<&str> = lib.dependencies.iter().map(|(n, _)| n.as_str()).collect();
        if lib.name == VERIFIER {
            for n in &names {
                if !VERIFIER_DEPENDENCIES.contains(n) {
                    broken.push(format!("the verifier depends on {n}"));
                }
            }
        }
        if lib.name == "hallmark-issuer" || lib.name == "hallmark-state" {
            for n in ["hallmark-server", "hallmark-client"] {
                if names.contains(n) {
                    broken.push(format!("{} depends on {n}", lib.name));
                }
            }
        }
        for n in &lib.on_binary {
            broken.push(format!("{} depends on the binary (as {n})", lib.name));
        }
        for n in BINARY_ONLY {
            if names.contains(n) {
                broken.push(format!("{} depends on {n}", lib.name));
            }
        }
        for (n, optional) in &lib.dependencies {
            if n == "clap" && !(lib.name == "hallmark-label" && *optional) {
                broken.push(format!("{} depends on clap", lib.name));
            }
            if n == "ureq" && lib.name != "hallmark-client" {
                broken.push(format!("{} depends on ureq", lib.name));
            }
        }
        for file in sources(&lib.dir.join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            let shown = file.strip_prefix(ROOT).unwrap_or(&file).display();
            for (i, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for printer in ["println!", "eprintln!", "print!(", "eprint!(", "dbg!("] {
                    if code.contains(printer) {
                        broken.push(format!("{shown}:{}: {printer} in a library", i + 1));
                    }
                }
                if lib.name == VERIFIER {
                    for io in ["std::fs", "std::net", "std::process", "std::env", "File::"] {
                        if code.contains(io) {
                            broken.push(format!("{shown}:{}: {io} in the verifier", i + 1));
                        }
                    }
                }
            }
        }
    }
    assert!(broken.is_empty(), "{broken:#?}");
}
