//! GS1 units end to end: `hallmark gs1 sign` prints them in every form,
//! `hallmark verify` reads every form alike, alterations never verify,
//! external serial pools are checked before anything is printed, Data
//! Matrix symbols decode (dmtxread) to the exact element string, and an
//! independent GS1 parser (Python's `biip`) agrees with hallmark's parse.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use crate::common::*;

const GTIN: &str = "09506000134352";
const GS: char = '\u{1d}';

/// Counts a skip and writes its line to stderr; under CI a missing tool fails.
fn skip(test: &str, cause: &str) {
    static SKIPPED: AtomicU64 = AtomicU64::new(0);
    skip_tool(&SKIPPED, "gs1", "GS1", test, cause);
}

/// `hallmark gs1 sign` with the demo key on a ledger in `dir`.
fn sign(dir: &Path, extra: &[&str]) -> Hallmark {
    let (key, ledger) = (demo_key(), dir.join("demo.ledger"));
    let mut args = vec![
        "gs1",
        "sign",
        "--key",
        p(&key),
        "--ledger",
        p(&ledger),
        "--gtin",
        GTIN,
        "--lot",
        "L231212-01",
        "--prod-date",
        "2026-11-20",
        "--expiry",
        "2028-11-30",
    ];
    args.extend_from_slice(extra);
    hallmark(&args)
}

/// Verdict words of `hallmark verify --json` over `inputs`.
fn verdicts(inputs: &[String]) -> Vec<(String, serde_json::Value)> {
    let out = verify(&demo_trust())
        .args(&["--json", "--today", "2026-11-23"])
        .input(&(inputs.join("\n") + "\n"))
        .run();
    stdout(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["verdict"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

#[test]
fn gs1_units_verify_alike_in_every_form() {
    let dir = tempdir();
    let mut forms = Vec::new();
    for format in ["element", "caret", "hri", "dl", "jsonl"] {
        let mut args = vec!["--count", "2", "--format", format];
        if matches!(format, "dl" | "jsonl") {
            args.extend_from_slice(&["--dl-stem", "https://id.example.com"]);
        }
        forms.push((format, sign(dir.path(), &args).lines()));
    }
    let hri = &forms[2].1;
    let mut inputs: Vec<String> = Vec::new();
    for (format, lines) in &forms {
        for line in lines {
            if *format == "jsonl" {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                for key in ["element_string", "hri", "digital_link"] {
                    inputs.push(v[key].as_str().unwrap().to_owned());
                }
            } else {
                inputs.push(line.clone());
            }
        }
    }
    // What scanners emit: AIM-prefixed, with a leading GS; a percent-encoded
    // Digital Link; the bracketed AIs in another order.
    let element = &forms[0].1[0];
    inputs.push(format!("]d2{element}"));
    inputs.push(format!("]d2{GS}{element}"));
    inputs.push(format!("]Q3{element}"));
    inputs.push(forms[3].1[0].replace("/10/L231212-01/", "/10/L231212%2D01/"));
    let parsed: serde_json::Value =
        serde_json::from_slice(&hallmark(&["gs1", "parse", "--json", &hri[0]]).ok().stdout)
            .unwrap();
    let reordered: String = parsed["elements"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| format!("({}){}", e[0].as_str().unwrap(), e[1].as_str().unwrap()))
        .collect();
    inputs.push(reordered);
    let results = verdicts(&inputs);
    assert_eq!(results.len(), inputs.len());
    // Each unit is genuine where first seen; its other spellings are the same
    // unit, so `duplicate`.
    for ((verdict, v), input) in results.iter().zip(&inputs) {
        assert!(
            verdict == "genuine" || verdict == "duplicate",
            "{input}: {v}"
        );
        assert_eq!(v["payload"]["part"], GTIN);
        assert_eq!(v["payload"]["expiry"], "2028-11-30");
    }
    // The first unit of each form and its respellings are one unit.
    let first = &results[0].1["code"];
    let n = results.len();
    for extra in &results[n - 5..n - 2] {
        assert_eq!(extra.0, "duplicate", "{}", extra.1["input"]);
        assert_eq!(&extra.1["code"], first, "{}", extra.1["input"]);
    }
    // The percent-encoded Digital Link is the first `dl` unit (line 7).
    assert_eq!(results[n - 2].0, "duplicate");
    assert_eq!(results[n - 2].1["code"], results[6].1["code"]);
    // The reordered bracketed text is the first `hri` unit (after 2 element
    // and 2 caret lines).
    assert_eq!(results[n - 1].0, "duplicate");
    assert_eq!(results[n - 1].1["code"], results[4].1["code"]);
    assert_eq!(results[4].0, "genuine");
}

#[test]
fn altered_gs1_units_never_verify_and_errors_name_the_ai() {
    let dir = tempdir();
    let units = sign(dir.path(), &["--count", "2", "--format", "caret"]).lines();
    let unit = &units[0];
    // Every single-character change.
    let chars: Vec<char> = unit.chars().collect();
    let mut altered = Vec::new();
    for i in 1..chars.len() {
        let replacement = if chars[i] == '7' { '8' } else { '7' };
        let mut c = chars.clone();
        c[i] = replacement;
        altered.push(c.into_iter().collect::<String>());
    }
    // The signatures of two units swapped.
    let sig = |u: &str| u.rsplit_once("^8030").unwrap().1.to_owned();
    let body = |u: &str| u.rsplit_once("^8030").unwrap().0.to_owned();
    altered.push(format!("{}^8030{}", body(&units[0]), sig(&units[1])));
    // An AI added, and one left out.
    altered.push(format!("{}^714ABC^8030{}", body(unit), sig(unit)));
    altered.push(unit.replace("10L231212-01^", ""));
    for (verdict, v) in verdicts(&altered) {
        assert_ne!(verdict, "genuine", "{}", v["input"]);
        assert!(!verdict.is_empty());
    }
    // Errors name the AI.
    let bad_date = unit.replace("17281130", "17281332");
    let (verdict, v) = verdicts(&[bad_date]).remove(0);
    assert_eq!(verdict, "malformed");
    assert!(v["reason"].as_str().unwrap().contains("(17)"), "{v}");
    let bad_gtin = unit.replace(GTIN, "09506000134353");
    let (_, v) = verdicts(&[bad_gtin]).remove(0);
    assert!(v["reason"].as_str().unwrap().contains("(01)"), "{v}");
    // Garbage.
    for (verdict, _) in verdicts(&["^01".into(), "(01)".into(), "]d2\u{1d}\u{1d}".into()]) {
        assert_eq!(verdict, "malformed");
    }
}

#[test]
fn gs1_data_without_a_signature_is_unsigned_and_exits_1() {
    let out = verify(&demo_trust())
        .args(&["(01)09506000134352(17)281130(10)L1(21)ABC"])
        .run();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("unsigned"), "{}", stdout(&out));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_bad_serial_pool_is_refused_before_anything_is_printed() {
    let dir = tempdir();
    for (name, text, says) in [
        (
            "repeat.txt",
            "A1\nB2\nA1\n",
            "line 3: serial A1 repeats line 1",
        ),
        ("space.txt", "A1\nB 2\n", "line 2: character 2"),
        (
            "long.txt",
            "A1\n123456789012345678901\n",
            "line 2: character 21",
        ),
        ("hash.txt", "A#1\n", "line 1: character 2"),
    ] {
        let pool = write(dir.path(), name, text);
        let out = sign(dir.path(), &["--serials", p(&pool)]).run();
        assert_eq!(code(&out), 2, "{name}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{name}: printed {}", stdout(&out));
        assert!(stderr(&out).contains(says), "{name}: {}", stderr(&out));
    }
    // A good pool signs once; the same serials again are refused, nothing printed.
    let pool = write(dir.path(), "good.txt", "A1\nB-2/x\nC3\r\n");
    let units = sign(dir.path(), &["--serials", p(&pool), "--format", "hri"]).lines();
    assert_eq!(units.len(), 3);
    assert!(units[1].contains("(21)B-2/x("));
    for (verdict, v) in verdicts(&units) {
        assert_eq!(verdict, "genuine", "{v}");
    }
    let again = write(dir.path(), "again.txt", "Z9\nC3\n");
    let out = sign(dir.path(), &["--serials", p(&again)]).run();
    assert_eq!(code(&out), 2);
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("C3"), "{}", stderr(&out));
    // Z9 was not consumed by the refused pool.
    let z9 = write(dir.path(), "z9.txt", "Z9\n");
    assert_eq!(sign(dir.path(), &["--serials", p(&z9)]).lines().len(), 1);
}

#[test]
fn a_killed_pool_mint_never_lets_its_serials_be_signed_again() {
    let dir = tempdir();
    let serials: String = (0..20_000).map(|i| format!("K{i}\n")).collect();
    let pool = write(dir.path(), "big.txt", &serials);
    let mut child = sign(
        dir.path(),
        &["--serials", p(&pool), "--out", p(&dir.path().join("o.txt"))],
    )
    .command()
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    // Kill it once the pool ledger exists (its serials are then recorded).
    let pools = dir.path().join("demo.ledger.pools");
    for _ in 0..2000 {
        if std::fs::read_dir(&pools)
            .map(|d| d.count() > 0)
            .unwrap_or(false)
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    // A reservation is a whole line ending in a newline (a torn last line was
    // never handed to the signer and is dropped on the next run).
    let reserved = std::fs::read_dir(&pools).into_iter().flatten().any(|e| {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap_or_default();
        let whole = text.rsplit_once('\n').map_or("", |(w, _)| w);
        whole
            .lines()
            .any(|l| l.starts_with("R ") && l.contains(" K19999 "))
    });
    let one = write(dir.path(), "one.txt", "K19999\n");
    let out = sign(dir.path(), &["--serials", p(&one)]).run();
    if reserved {
        // Recorded before the kill: refused now, whether or not it was printed.
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(stdout(&out).is_empty());
        assert!(stderr(&out).contains("K19999"), "{}", stderr(&out));
    } else {
        // Killed before its reservation was durable: nothing of it was signed.
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
}

#[test]
fn gs1_data_matrix_symbols_decode_to_the_exact_element_string() {
    let dir = tempdir();
    let symbols = dir.path().join("dm");
    let units = sign(
        dir.path(),
        &[
            "--count",
            "2",
            "--format",
            "jsonl",
            "--symbol-dir",
            p(&symbols),
        ],
    )
    .lines();
    if run_program_status("dmtxread").is_none() {
        return skip(
            "gs1_data_matrix_symbols_decode_to_the_exact_element_string",
            "dmtxread not installed",
        );
    }
    for line in &units {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let serial = v["serial"].as_str().unwrap();
        let png = symbols.join(format!("{serial}.png"));
        let out = run_program("dmtxread", &["-N1", "-G", "29", p(&png)]);
        let read = String::from_utf8(out.stdout).unwrap();
        // dmtxread -G 29 prints FNC1 as GS, the leading one included.
        assert_eq!(
            read.trim_end_matches('\n'),
            format!("{GS}{}", v["element_string"].as_str().unwrap())
        );
    }
    // A size limit too small is refused before anything is signed.
    let out = sign(
        dir.path(),
        &[
            "--count",
            "1",
            "--symbol-dir",
            p(&symbols),
            "--max-size",
            "40x40",
        ],
    )
    .run();
    assert_eq!(code(&out), 2);
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("44x44"), "{}", stderr(&out));
}

/// Whether `program` can be run at all.
fn run_program_status(program: &str) -> Option<()> {
    std::process::Command::new(program)
        .arg("--help")
        .output()
        .ok()
        .map(drop)
}

#[test]
fn an_independent_gs1_parser_agrees_with_every_element_string_hallmark_prints() {
    let dir = tempdir();
    let pool = write(
        dir.path(),
        "pool.txt",
        "ABC-1\n12345678901234567890\nx/y.z_9\n",
    );
    let mut strings = sign(dir.path(), &["--count", "3"]).lines();
    strings.extend(sign(dir.path(), &["--serials", p(&pool), "--ai", "714=1234567"]).lines());
    let Some(python) = std::env::var_os("HALLMARK_BIIP_PYTHON") else {
        return skip(
            "an_independent_gs1_parser_agrees_with_every_element_string_hallmark_prints",
            "HALLMARK_BIIP_PYTHON (a python with biip; .ci/run makes one) is not set",
        );
    };
    let script = Path::new(ROOT).join("scripts/gs1_crosscheck.py");
    let mut child = std::process::Command::new(python)
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input: String = strings.iter().map(|s| format!("]d2{s}\n")).collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let theirs: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(theirs.len(), strings.len());
    for (s, biip) in strings.iter().zip(&theirs) {
        let ours: serde_json::Value = serde_json::from_slice(
            &hallmark(&["gs1", "parse", "--json", &format!("]d2{s}")])
                .ok()
                .stdout,
        )
        .unwrap();
        assert_eq!(
            ours["elements"], biip["elements"],
            "{s:?}: biip says {biip}"
        );
    }
}

#[test]
fn a_photo_of_a_gs1_data_matrix_label_verifies() {
    let dir = tempdir();
    let symbols = dir.path().join("dm");
    let qr = dir.path().join("qr");
    let units = sign(
        dir.path(),
        &[
            "--count",
            "1",
            "--format",
            "jsonl",
            "--symbol-dir",
            p(&symbols),
        ],
    )
    .lines();
    let dl = sign(
        dir.path(),
        &[
            "--count",
            "1",
            "--format",
            "jsonl",
            "--symbol-dir",
            p(&qr),
            "--symbol",
            "dl-qr",
            "--dl-stem",
            "https://id.example.com",
        ],
    )
    .lines();
    if run_program_status("convert").is_none() {
        return skip(
            "a_photo_of_a_gs1_data_matrix_label_verifies",
            "ImageMagick convert not installed",
        );
    }
    for (line, dir) in [(&units[0], &symbols), (&dl[0], &qr)] {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let png = dir.join(format!("{}.png", v["serial"].as_str().unwrap()));
        let photo = dir.join("photo.jpg");
        // Scaled, rotated, slightly blurred, saved as a lossy JPEG.
        let out = run_program(
            "convert",
            &[
                p(&png),
                "-filter",
                "point",
                "-resize",
                "300%",
                "-background",
                "white",
                "-rotate",
                "17",
                "-blur",
                "0x1.2",
                "-quality",
                "85",
                p(&photo),
            ],
        );
        assert!(out.status.success(), "convert failed");
        let out = verify(&demo_trust())
            .args(&["--json", "--today", "2026-11-23", "--image", p(&photo)])
            .run();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let got: serde_json::Value =
            serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
        assert_eq!(got["verdict"], "genuine");
        assert_eq!(
            got["payload"]["serial"].to_string(),
            v["serial"].as_str().unwrap()
        );
    }
}
