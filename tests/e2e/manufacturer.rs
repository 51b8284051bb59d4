//! A manufacturer's frictions (issue 17, item 4): label images sized for the
//! printer (`--module-px`, `--dpi`, `--module-mm`, a pHYs chunk) and named in
//! the CSV; ZPL labels for Zebra thermal printers, rendered by an independent
//! ZPL renderer (Python's `zplkit`, $HALLMARK_ZPL_PYTHON) and decoded back;
//! a warning for a short new passphrase; a progress bar in whole codes per
//! second, on a terminal only; counts and ranges in words.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicU64;

use crate::common::*;

const PREFIX: &str = "https://hm.example.com/c/";

/// Counts a skip and writes its line to stderr; under CI a missing tool fails.
fn skip(test: &str, cause: &str) {
    static SKIPPED: AtomicU64 = AtomicU64::new(0);
    skip_tool(&SKIPPED, "manufacturer", "manufacturer", test, cause);
}

/// Whether `program` runs (`--version`); a skip line if not.
fn have(test: &str, program: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        skip(test, &format!("{program} not installed"));
    }
    found
}

/// The Python with `zplkit` (a ZPL renderer), from $HALLMARK_ZPL_PYTHON
/// (.ci/run makes a virtualenv: `pip install zplkit`).
fn zpl_python(test: &str) -> Option<PathBuf> {
    let Some(python) = std::env::var_os("HALLMARK_ZPL_PYTHON") else {
        skip(
            test,
            "$HALLMARK_ZPL_PYTHON is not set (a python with `pip install zplkit`)",
        );
        return None;
    };
    let out = run_program(
        python.to_str().unwrap(),
        &["-c", "import zplkit; print(zplkit.__version__)"],
    );
    if code(&out) != 0 {
        skip(test, &format!("zplkit missing: {}", stderr(&out)));
        return None;
    }
    Some(PathBuf::from(python))
}

/// Renders every label of `zpl` at 203 dpi with zplkit into DIR/label-N.png.
fn render_zpl(python: &Path, zpl: &Path, dir: &Path, dpi: u32) -> Vec<PathBuf> {
    const SCRIPT: &str = "\
import sys, zplkit
doc = zplkit.render(open(sys.argv[1], 'rb').read(), zplkit.Options(dpi=int(sys.argv[3])))
for i, label in enumerate(doc.labels):
    open('%s/label-%d.png' % (sys.argv[2], i), 'wb').write(label.png())
print(len(doc.labels))
";
    let dpi = dpi.to_string();
    let out = run_program(
        python.to_str().unwrap(),
        &["-c", SCRIPT, p(zpl), p(dir), &dpi],
    );
    assert_eq!(code(&out), 0, "zplkit: {}", stderr(&out));
    let n: usize = stdout(&out).trim().parse().unwrap();
    (0..n).map(|i| dir.join(format!("label-{i}.png"))).collect()
}

fn zbar(image: &Path) -> String {
    let out = run_program("zbarimg", &["--raw", "-q", p(image)]);
    assert_eq!(code(&out), 0, "zbarimg read nothing in {}", image.display());
    stdout(&out).trim_end().to_owned()
}

fn dmtx(image: &Path) -> String {
    let out = run_program("dmtxread", &["-N1", p(image)]);
    assert_eq!(
        code(&out),
        0,
        "dmtxread read nothing in {}",
        image.display()
    );
    stdout(&out).trim_end().to_owned()
}

fn assert_genuine(text: &str) {
    let out = verify(&demo_trust()).today(TODAY).args(&[text]).run();
    assert_eq!(code(&out), 0, "{text} does not verify: {}", stderr(&out));
}

/// A PNG's width, height and pHYs chunk (pixels per unit x, y, unit).
fn png_info(path: &Path) -> (u32, u32, Option<(u32, u32, u8)>) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    let (width, height) = (be(16), be(20));
    let mut at = 8;
    let mut phys = None;
    while at + 8 <= bytes.len() {
        let len = be(at) as usize;
        let kind = &bytes[at + 4..at + 8];
        if kind == b"pHYs" {
            phys = Some((be(at + 8), be(at + 12), bytes[at + 16]));
        }
        at += 12 + len;
    }
    (width, height, phys)
}

fn mint_demo_cmd(dir: &Path, count: u64) -> Hallmark {
    mint(&demo_key())
        .lot("L17")
        .count(count)
        .ledger(&dir.join("demo.ledger"))
}

/// The demo batch (lot L231212-01: with serials from 123456789 its codes
/// have 164 characters, a version 7 QR).
fn sample_mint(dir: &Path, count: u64) -> Hallmark {
    mint(&demo_key())
        .count(count)
        .ledger(&dir.join("demo.ledger"))
}

/// Issue 17 item 4: `--module-px` and `--dpi` size the images (today they
/// are refused as unknown flags), a pHYs chunk says the resolution, and
/// `--module-mm` converts millimetres at that resolution.
#[test]
fn qr_dir_images_are_sized_for_the_printer() {
    let dir = tempdir();
    let images = dir.path().join("qr");
    // Serials from 123456789: 164-character codes (as in the samples).
    let out = sample_mint(dir.path(), 2)
        .args(&["--serial-start", "123456789"])
        .args(&["--qr-dir", p(&images), "--module-px", "6", "--dpi", "300"])
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let codes: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(codes.len(), 2);
    // A 164-character code is a version 7 QR: 45 modules and 4 of quiet zone
    // each side.
    let (w, h, phys) = png_info(&images.join("123456789.png"));
    assert_eq!((w, h), (53 * 6, 53 * 6));
    // 300 dpi = 11811 pixels per metre (unit 1: the metre).
    assert_eq!(phys, Some((11811, 11811, 1)));
    if have("qr_dir_images_are_sized_for_the_printer", "zbarimg") {
        assert_eq!(zbar(&images.join("123456790.png")), codes[1]);
    }

    // 0.5 mm modules at 203 dpi: 4 pixels.
    let mm = dir.path().join("mm");
    let out = sample_mint(dir.path(), 1)
        .args(&["--serial-start", "123456791"])
        .args(&["--qr-dir", p(&mm), "--module-mm", "0.5", "--dpi", "203"])
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let (w, _, phys) = png_info(&mm.join("123456791.png"));
    assert_eq!(w, 53 * 4);
    assert_eq!(phys, Some((7992, 7992, 1)));

    // Without --dpi, no pHYs (as before); --module-mm needs --dpi; and the
    // flags need something to size.
    let plain = dir.path().join("plain");
    sample_mint(dir.path(), 1)
        .args(&["--serial-start", "123456792"])
        .args(&["--qr-dir", p(&plain), "--module-px", "3"])
        .ok();
    assert_eq!(
        png_info(&plain.join("123456792.png")),
        (53 * 3, 53 * 3, None)
    );
    let out = sample_mint(dir.path(), 1)
        .args(&["--qr-dir", p(&plain), "--module-mm", "0.5"])
        .run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = sample_mint(dir.path(), 1).args(&["--dpi", "300"]).run();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--qr-dir"), "{}", stderr(&out));
    let out = sample_mint(dir.path(), 1)
        .args(&["--qr-dir", p(&plain), "--module-px", "33"])
        .run();
    assert_eq!(code(&out), 2);
}

/// Issue 17 item 4: with --qr-dir the CSV gains a last column `image`, the
/// path of each code's image as written (today there is none); the other
/// columns keep their order.
#[test]
fn csv_names_each_image() {
    let dir = tempdir();
    let images = dir.path().join("label images");
    let csv_path = dir.path().join("labels.csv");
    let out = mint_demo_cmd(dir.path(), 3)
        .args(&["--format", "csv", "--url-prefix", PREFIX])
        .args(&["--qr-dir", p(&images), "--qr-format", "svg"])
        .out(&csv_path)
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(&csv_path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "serial,code,part,lot,date,expiry,url,image"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 3);
    for row in rows {
        assert_eq!(row.len(), 8, "{row:?}");
        let (serial, code, url, image) = (row[0], row[1], row[6], row[7]);
        assert_eq!(&row[2..6], ["DRN-2980", "L17", "2023-12-12", ""]);
        assert_eq!(url, format!("{}{code}", PREFIX.to_uppercase()));
        let expected = images.join(format!("{serial}.svg"));
        assert_eq!(image, p(&expected));
        assert!(Path::new(image).is_file());
    }

    // JSON Lines get an `image` field; without --qr-dir, nothing changes.
    let out = mint_demo_cmd(dir.path(), 1)
        .args(&["--format", "jsonl", "--qr-dir", p(&images)])
        .run();
    let line = &json_lines(&out)[0];
    let serial = line["serial"].as_u64().unwrap();
    assert_eq!(line["image"], p(&images.join(format!("{serial}.png"))));
    let out = mint_demo_cmd(dir.path(), 1)
        .args(&["--format", "csv"])
        .run();
    assert_eq!(
        stdout(&out).lines().next().unwrap(),
        "serial,code,part,lot,date,expiry,url"
    );
}

/// The ZPL labels of a mint: one `^XA`…`^XZ` per code and line.
fn zpl_labels(dir: &Path, extra: &[&str]) -> (Vec<String>, PathBuf) {
    let zpl = dir.join(format!("labels-{}.zpl", extra.join("_").replace('/', "")));
    let out = mint(&demo_key())
        .part("DRN^2980_~A")
        .lot("L17")
        .count(3)
        .ledger(&dir.join("demo.ledger"))
        .args(&["--format", "zpl"])
        .args(extra)
        .out(&zpl)
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(&zpl).unwrap();
    let labels: Vec<String> = text.lines().map(str::to_owned).collect();
    (labels, zpl)
}

/// Issue 17 item 4: `mint --format zpl` (today refused) writes ZPL II
/// labels whose QR, rendered by an independent ZPL renderer, decodes to the
/// code (or URL) and verifies; the part number's `^` and `~` are `^FH`
/// escapes, never commands.
#[test]
fn zpl_labels_render_and_decode() {
    let dir = tempdir();
    let (labels, zpl) = zpl_labels(dir.path(), &[]);
    assert_eq!(labels.len(), 3);
    let mut codes = Vec::new();
    for label in &labels {
        assert!(label.starts_with("^XA^PW406^LL"), "{label}");
        assert!(label.ends_with("^XZ"), "{label}");
        assert_eq!(label.matches("^XA").count(), 1);
        assert_eq!(label.matches("^FD").count(), label.matches("^FS").count());
        let data = label
            .split("^BQN,2,4^FDMM,A")
            .nth(1)
            .unwrap()
            .split("^FS")
            .next()
            .unwrap();
        assert!(data.len() > 140, "{label}");
        // The part number, escaped: ^ is _5E, _ is _5F, ~ is _7E.
        assert!(
            label.contains("^FH^FDDRN_5E2980_5F_7EA LOT L17 SN "),
            "{label}"
        );
        assert!(!label.contains('~'));
        codes.push(data.to_owned());
    }
    for c in &codes {
        assert_genuine(c);
    }

    let Some(python) = zpl_python("zpl_labels_render_and_decode") else {
        return;
    };
    if !have("zpl_labels_render_and_decode", "zbarimg") {
        return;
    }
    let rendered = dir.path().join("rendered");
    std::fs::create_dir(&rendered).unwrap();
    let pngs = render_zpl(&python, &zpl, &rendered, 203);
    assert_eq!(pngs.len(), 3, "one label per code");
    for (png, c) in pngs.iter().zip(&codes) {
        assert_eq!(&zbar(png), c);
    }

    // URLs in the QR; Data Matrix at 300 dpi.
    let (labels, zpl) = zpl_labels(dir.path(), &["--url-prefix", PREFIX]);
    let url_dir = dir.path().join("url");
    std::fs::create_dir(&url_dir).unwrap();
    let pngs = render_zpl(&python, &zpl, &url_dir, 203);
    for (png, label) in pngs.iter().zip(&labels) {
        let url = zbar(png);
        assert!(url.starts_with(&PREFIX.to_uppercase()), "{url}");
        assert!(label.contains(&format!("^FDMM,A{url}^FS")));
        assert_genuine(&url);
    }
    if !have("zpl_labels_render_and_decode", "dmtxread") {
        return;
    }
    let (labels, zpl) = zpl_labels(
        dir.path(),
        &["--symbol", "datamatrix", "--dpi", "300", "--module-px", "6"],
    );
    assert!(labels[0].contains("^BXN,6,200,"), "{}", labels[0]);
    let dm_dir = dir.path().join("dm");
    std::fs::create_dir(&dm_dir).unwrap();
    let pngs = render_zpl(&python, &zpl, &dm_dir, 300);
    for png in &pngs {
        assert_genuine(&dmtx(png));
    }
}

/// Issue 17 item 4: a ZPL QR module is 1 to 10 dots (`^BQ`'s
/// magnification): a larger one is refused before anything is minted.
#[test]
fn zpl_refuses_an_impossible_module_size() {
    let dir = tempdir();
    let out = mint_demo_cmd(dir.path(), 1)
        .args(&["--format", "zpl", "--module-px", "12"])
        .run();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("1 to 10 dots"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
}

/// Issue 17 item 4: keygen and `key passwd` warn on stderr about a new
/// passphrase shorter than 12 characters (today they say nothing), from the
/// environment or a file, and still write the key; never with
/// --unencrypted, nor for a long one.
#[test]
fn short_new_passphrases_are_warned_about() {
    let dir = tempdir();
    let warned = |out: &std::process::Output| {
        assert_eq!(code(out), 0, "{}", stderr(out));
        let err = stderr(out);
        err.contains("warning: the new passphrase has only")
            && err.contains("at least 12 are recommended")
    };
    let out = keygen(dir.path(), "short")
        .env("HALLMARK_PASSPHRASE", "hunter2")
        .run();
    assert!(warned(&out), "{}", stderr(&out));
    assert!(stderr(&out).contains("only 7 characters"));
    assert!(dir.path().join("short.key").is_file());

    let file = dir.path().join("pass");
    std::fs::write(&file, "abcdefghijk\n").unwrap();
    let out = keygen(dir.path(), "fromfile")
        .env_remove("HALLMARK_PASSPHRASE")
        .args(&["--passphrase-file", p(&file)])
        .run();
    assert!(warned(&out), "{}", stderr(&out));

    let out = keygen(dir.path(), "long")
        .env("HALLMARK_PASSPHRASE", "correct horse battery staple")
        .run();
    assert!(!warned(&out), "{}", stderr(&out));
    let out = keygen(dir.path(), "plain")
        .env("HALLMARK_PASSPHRASE", "x")
        .unencrypted()
        .run();
    assert!(!warned(&out), "{}", stderr(&out));

    // key passwd: the new passphrase is warned about, not the old one.
    let out = hallmark(&["key", "passwd", p(&dir.path().join("long.key"))])
        .env("HALLMARK_PASSPHRASE", "correct horse battery staple")
        .env("HALLMARK_NEW_PASSPHRASE", "tiny")
        .run();
    assert!(warned(&out), "{}", stderr(&out));
    let out = hallmark(&["key", "passwd", p(&dir.path().join("short.key"))])
        .env("HALLMARK_PASSPHRASE", "hunter2")
        .env("HALLMARK_NEW_PASSPHRASE", "a much longer passphrase")
        .run();
    assert!(!warned(&out), "{}", stderr(&out));
}

/// Issue 17 item 4: the progress bar shows whole codes per second with
/// thousands separators (today `12345.6789/s`), and only on a terminal:
/// through a pipe stderr has no bar. The terminal is a pseudo-terminal from
/// `script` (util-linux).
#[test]
fn progress_in_whole_codes_per_second_on_a_terminal_only() {
    let dir = tempdir();
    let out = mint_demo_cmd(dir.path(), 2000)
        .out(&dir.path().join("piped.txt"))
        .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("/s") && !err.contains('\r'), "{err}");

    if !have(
        "progress_in_whole_codes_per_second_on_a_terminal_only",
        "script",
    ) {
        return;
    }
    let ledger = dir.path().join("tty.ledger");
    let out_file = dir.path().join("tty.txt");
    let command = format!(
        "{BIN} mint --key {} --part DRN-2980 --lot L17 --date 2023-12-12 --count 50000 \
         --ledger {} --out {}",
        p(&demo_key()),
        p(&ledger),
        p(&out_file)
    );
    let out = run_program("script", &["-qefc", &command, "/dev/null"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let screen = stdout(&out);
    assert!(
        screen.contains("minting ["),
        "no bar on a terminal: {screen:?}"
    );
    // "(12,345 codes/s, ETA 3s)": digits and commas only before the unit.
    let rate = screen
        .split(" codes/s")
        .next()
        .and_then(|s| s.rsplit('(').next())
        .unwrap();
    assert!(
        !rate.is_empty() && rate.chars().all(|c| c.is_ascii_digit() || c == ','),
        "rate {rate:?} in {screen:?}"
    );
    assert!(screen.contains("/50,000 codes"), "{screen:?}");
}

/// Issue 17 items 4 and 5: mint's summary counts in words and gives ranges
/// with an en dash (today "minted 1 codes" and "serials 0..=0").
#[test]
fn mint_summary_in_words() {
    let dir = tempdir();
    let out = mint_demo_cmd(dir.path(), 1).run();
    let err = stderr(&out);
    assert!(err.contains("minted 1 code with key"), "{err}");
    assert!(err.contains(": serial 0, recorded in"), "{err}");
    let out = mint_demo_cmd(dir.path(), 10).run();
    let err = stderr(&out);
    assert!(err.contains("minted 10 codes with key"), "{err}");
    assert!(err.contains(": serials 1–10, recorded in"), "{err}");
    assert!(!err.contains("..="), "{err}");
    let opaque = tempdir();
    let out = mint_demo_cmd(opaque.path(), 2)
        .args(&["--serials", "opaque"])
        .run();
    assert!(
        stderr(&out).contains("opaque serials from counters 0–1"),
        "{}",
        stderr(&out)
    );
}

/// `hallmark qr --dpi` (today an unknown flag): the PNG carries the
/// resolution, the SVG its size in millimetres.
#[test]
fn qr_command_writes_the_print_resolution() {
    let dir = tempdir();
    let code = &sample_mint(dir.path(), 1)
        .args(&["--serial-start", "123456789"])
        .lines()[0];
    let png = dir.path().join("label.png");
    qr(code, &png).args(&["--scale", "5", "--dpi", "600"]).ok();
    // 600 dpi = 23622 pixels per metre.
    assert_eq!(png_info(&png), (53 * 5, 53 * 5, Some((23622, 23622, 1))));
    let svg = dir.path().join("label.svg");
    qr(code, &svg).args(&["--scale", "5", "--dpi", "600"]).ok();
    let text = std::fs::read_to_string(&svg).unwrap();
    // 265 pixels at 600 dpi: 11.218 mm.
    assert!(
        text.contains("width=\"11.218mm\" height=\"11.218mm\""),
        "{text}"
    );
}

/// `hallmark gs1 sign --symbol-dir` takes the same print flags (today
/// unknown): pixels per module and the resolution in the PNG.
#[test]
fn gs1_symbols_are_sized_for_the_printer() {
    let dir = tempdir();
    let dm = dir.path().join("dm");
    let (key, ledger) = (demo_key(), dir.path().join("gs1.ledger"));
    let out = hallmark(&[
        "gs1",
        "sign",
        "--key",
        p(&key),
        "--ledger",
        p(&ledger),
        "--gtin",
        "09506000134352",
        "--lot",
        "L17",
        "--prod-date",
        "2026-11-20",
        "--count",
        "1",
        "--symbol-dir",
        p(&dm),
        "--module-mm",
        "0.5",
        "--dpi",
        "300",
    ])
    .run();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let image = std::fs::read_dir(&dm)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let (w, h, phys) = png_info(&image);
    // 0.5 mm at 300 dpi: 6 pixels per module (a square symbol, 1-module
    // quiet zone).
    assert_eq!(w, h);
    let squares = [
        10, 12, 14, 16, 18, 20, 22, 24, 26, 32, 36, 40, 44, 48, 52, 64,
    ];
    assert!(w % 6 == 0 && squares.contains(&(w / 6 - 2)), "{w}");
    assert_eq!(phys, Some((11811, 11811, 1)));
    let err = stderr(&out);
    assert!(err.contains("minted 1 GS1 unit with key"), "{err}");
}

/// Issue 17 item 5: out-of-range numbers are refused in words, with an en
/// dash (today clap's `33 is not in 1..=32` and `0 is not in
/// 1..18446744073709551615`).
#[test]
fn out_of_range_numbers_are_refused_in_words() {
    let dir = tempdir();
    let out = mint_demo_cmd(dir.path(), 0).run();
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("'--count <N>': use a whole number, 1 or more"),
        "{}",
        stderr(&out)
    );
    let out = mint_demo_cmd(dir.path(), 1)
        .args(&["--qr-dir", p(&dir.path().join("q")), "--module-px", "33"])
        .run();
    assert!(
        stderr(&out).contains("use a whole number in 1–32"),
        "{}",
        stderr(&out)
    );
    let out = qr("01AB", &dir.path().join("x.png"))
        .args(&["--scale", "0"])
        .run();
    let err = stderr(&out);
    assert!(err.contains("use a whole number in 1–32"), "{err}");
    assert!(!err.contains(".."), "{err}");
}

/// `hallmark qr --out label.zpl` (today "cannot tell the image format"):
/// one ZPL label whose QR, rendered, decodes to the code.
#[test]
fn qr_command_writes_a_zpl_label() {
    let dir = tempdir();
    let code = &sample_mint(dir.path(), 1).lines()[0];
    let zpl = dir.path().join("label.zpl");
    let out = qr(code, &zpl).args(&["--scale", "5", "--dpi", "300"]).run();
    assert_eq!(crate::common::code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(&zpl).unwrap();
    assert!(text.starts_with("^XA^PW600^"), "{text}");
    assert!(
        text.contains(&format!("^BQN,2,5^FDMM,A{code}^FS")),
        "{text}"
    );
    assert!(text.ends_with("^XZ\n"));
    let Some(python) = zpl_python("qr_command_writes_a_zpl_label") else {
        return;
    };
    if !have("qr_command_writes_a_zpl_label", "zbarimg") {
        return;
    }
    let pngs = render_zpl(&python, &zpl, dir.path(), 300);
    assert_eq!(pngs.len(), 1);
    assert_eq!(&zbar(&pngs[0]), code);
}
