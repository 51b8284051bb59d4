//! End-to-end tests of `hallmark qr`: label symbols written by the real binary,
//! read back by real decoders (`zbarimg` from zbar-tools for QR, `dmtxread` from
//! dmtx-utils for Data Matrix), and the decoded text verified.
//!
//! Without a decoder the tests that need it print why and pass, unless the
//! environment variable CI is set: then a missing decoder is a failure.

use std::io::ErrorKind;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::*;

/// `hallmark qr INPUT --out OUT EXTRA...`, which must succeed.
fn render(input: &str, out: &Path, extra: &[&str]) {
    let result = qr(input, out).args(extra).run();
    assert_eq!(
        code(&result),
        0,
        "hallmark qr {input} --out {} {extra:?} failed: {}",
        out.display(),
        stderr(&result)
    );
    assert!(out.is_file(), "{} not written", out.display());
}

/// Asserts that `text` (as a decoder returned it) verifies as a genuine code.
fn assert_genuine(text: &str) {
    let out = verify(&demo_trust()).today(TODAY).args(&[text]).run();
    assert_eq!(code(&out), 0, "{text} does not verify: {}", stderr(&out));
    assert!(stdout(&out).starts_with("genuine\t"), "{}", stdout(&out));
}

/// The width and height a PNG's header declares.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// A barcode decoder on the PATH.
#[derive(Clone, Copy)]
enum Decoder {
    Zbar,
    Dmtx,
}

impl Decoder {
    fn program(self) -> &'static str {
        match self {
            Decoder::Zbar => "zbarimg",
            Decoder::Dmtx => "dmtxread",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Decoder::Zbar => "zbar-tools",
            Decoder::Dmtx => "dmtx-utils",
        }
    }

    /// Whether the decoder is installed. When it is not, says why the test is
    /// skipped, or fails under CI.
    fn available(self) -> bool {
        let found = match Command::new(self.program())
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(_) => true,
            Err(e) if e.kind() == ErrorKind::NotFound => false,
            Err(e) => panic!("run {}: {e}", self.program()),
        };
        if !found {
            let reason = format!(
                "{} not installed (apt-get install {})",
                self.program(),
                self.package()
            );
            assert!(std::env::var_os("CI").is_none(), "CI is set and {reason}");
            eprintln!("skipping: {reason}");
        }
        found
    }

    /// Whether the decoder can read SVG files (through ImageMagick's SVG
    /// coder). When it cannot, says why SVG decoding is skipped, or fails under
    /// CI.
    fn reads_svg(self, dir: &Path) -> bool {
        let blank = dir.join("blank.svg");
        std::fs::write(
            &blank,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"40\">\
             <rect width=\"40\" height=\"40\" fill=\"#fff\"/></svg>\n",
        )
        .unwrap();
        // Read but nothing found: zbarimg exits 4, dmtxread 1; an image that
        // cannot be read gives another status.
        let out = match self {
            Decoder::Zbar => run_program("zbarimg", &["--raw", "-q", p(&blank)]),
            Decoder::Dmtx => run_program("dmtxread", &["-N1", p(&blank)]),
        };
        let readable = match self {
            Decoder::Zbar => code(&out) == 4,
            Decoder::Dmtx => code(&out) == 1,
        };
        if !readable {
            let reason = format!(
                "{} cannot read SVG (apt-get install libmagickcore-6.q16-6-extra): {}",
                self.program(),
                stderr(&out).trim()
            );
            assert!(std::env::var_os("CI").is_none(), "CI is set and {reason}");
            eprintln!("skipping SVG decoding: {reason}");
        }
        readable
    }

    /// The one message the decoder finds in `image`.
    fn decode(self, image: &Path) -> String {
        let out = match self {
            Decoder::Zbar => run_program("zbarimg", &["--raw", "-q", p(image)]),
            Decoder::Dmtx => run_program("dmtxread", &["-N1", p(image)]),
        };
        assert_eq!(
            code(&out),
            0,
            "{} found no symbol in {}: {}",
            self.program(),
            image.display(),
            stderr(&out)
        );
        let text = stdout(&out);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        assert!(!text.contains('\n'), "one symbol expected: {text:?}");
        text.to_owned()
    }
}

/// Renders three sample codes as `PREFIX-N.png` and `.svg` (with `extra`
/// arguments), checks the PNG's size when `size` is given, and asserts that
/// `decoder` reads each image (the SVG when it can) as its code, which
/// verifies.
fn assert_png_and_svg_decode(
    decoder: Decoder,
    prefix: &str,
    extra: &[&str],
    size: Option<(u32, u32)>,
) {
    if !decoder.available() {
        return;
    }
    let dir = tempdir();
    let svg_too = decoder.reads_svg(dir.path());
    for (i, c) in sample_codes(dir.path(), 3).iter().enumerate() {
        let png = dir.path().join(format!("{prefix}-{i}.png"));
        let svg = dir.path().join(format!("{prefix}-{i}.svg"));
        render(c, &png, extra);
        render(c, &svg, extra);
        if let Some(size) = size {
            assert_eq!(png_size(&png), size);
        }
        let images = if svg_too {
            vec![&png, &svg]
        } else {
            vec![&png]
        };
        for image in images {
            let text = decoder.decode(image);
            assert_eq!(&text, c, "{}", image.display());
            assert_genuine(&text);
        }
    }
}

#[test]
fn qr_png_and_svg_decode_to_the_code_which_verifies() {
    // Version 7 (45 modules) plus a 4-module quiet zone, 4 px per module.
    assert_png_and_svg_decode(Decoder::Zbar, "qr", &[], Some((212, 212)));
}

#[test]
fn data_matrix_png_and_svg_decode_to_the_code_which_verifies() {
    assert_png_and_svg_decode(Decoder::Dmtx, "dm", &["--symbol", "datamatrix"], None);
}

#[test]
fn url_form_is_written_upper_case_and_decodes_to_a_verifiable_url() {
    let dir = tempdir();
    let c = &sample_codes(dir.path(), 1)[0];
    // Lower case and grouped on input; upper case and canonical in the symbol.
    let grouped: Vec<String> = c
        .as_bytes()
        .chunks(4)
        .map(|x| String::from_utf8_lossy(x).into())
        .collect();
    let input = format!(
        "https://hm.example.com/c/{}",
        grouped.join("-").to_lowercase()
    );
    let expected = format!("HTTPS://HM.EXAMPLE.COM/C/{c}");

    let qr = dir.path().join("url.png");
    render(&input, &qr, &["--scale", "3"]);
    // 189 alphanumeric characters at M: version 8 (49 modules), 3 px per module.
    assert_eq!(png_size(&qr), ((49 + 8) * 3, (49 + 8) * 3));
    let dm = dir.path().join("url-dm.png");
    render(&input, &dm, &["--symbol", "datamatrix"]);

    for (decoder, image) in [(Decoder::Zbar, &qr), (Decoder::Dmtx, &dm)] {
        if decoder.available() {
            let text = decoder.decode(image);
            assert_eq!(text, expected);
            assert_genuine(&text);
        }
    }
}

#[test]
fn format_comes_from_the_flag_when_the_name_has_no_extension() {
    let dir = tempdir();
    let c = &sample_codes(dir.path(), 1)[0];
    let out = dir.path().join("label");
    render(c, &out, &["--format", "svg"]);
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg "), "{svg}");
    assert!(svg.contains("shape-rendering=\"crispEdges\""));
    let out = dir.path().join("label.PNG");
    render(c, &out, &["--symbol", "datamatrix"]);
    png_size(&out);
}

#[test]
fn refuses_bad_input_and_never_leaves_a_partial_file() {
    let dir = tempdir();
    let c = &sample_codes(dir.path(), 1)[0];
    let files = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = files();
    let out_png = dir.path().join("x.png");

    // Not a well-formed code: exit 1, nothing written.
    let mut broken = c.clone();
    broken.pop();
    let out = qr(&broken, &out_png).run();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("malformed"), "{}", stderr(&out));
    let out = qr("not a code", &out_png).run();
    assert_eq!(code(&out), 1, "{}", stderr(&out));

    // Unknown extension or a contradicting --format: usage error, exit 2.
    let jpg = dir.path().join("x.jpg");
    let out = qr(c, &jpg).run();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--format"), "{}", stderr(&out));
    let out = qr(c, &out_png).args(&["--format", "svg"]).run();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    // Unknown symbology: clap's usage error, exit 2.
    let out = qr(c, &out_png).args(&["--symbol", "aztec"]).run();
    assert_eq!(code(&out), 2);
    assert_eq!(files(), before, "nothing written");

    // An existing file is kept unless --force.
    std::fs::write(&out_png, b"precious").unwrap();
    let out = qr(c, &out_png).run();
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&out_png).unwrap(), b"precious");
    render(c, &out_png, &["--force"]);
    assert_eq!(png_size(&out_png), (212, 212));

    // Into a directory that does not exist: an error, and no stray file.
    let missing = dir.path().join("no/such/dir/x.png");
    let out = qr(c, &missing).run();
    assert_eq!(code(&out), 2);

    let mut expected = before;
    expected.push("x.png".to_owned());
    expected.sort();
    assert_eq!(files(), expected, "no temporary file left behind");
}

/// `hallmark mint --qr-dir`: every image written decodes to its code or URL, and
/// that verifies.
#[test]
fn every_image_written_by_mint_decodes_and_verifies() {
    let dir = tempdir();
    let ledger = dir.path().join("l");
    for (decoder, symbol, count) in [(Decoder::Zbar, "qr", 25), (Decoder::Dmtx, "datamatrix", 4)] {
        if !decoder.available() {
            continue;
        }
        let images = dir.path().join(symbol);
        let csv = dir.path().join(format!("{symbol}.csv"));
        let out = mint(&demo_key())
            .lot("L1")
            .count(count as u64)
            .ledger(&ledger)
            .args(&[
                "--format",
                "csv",
                "--url-prefix",
                "https://hm.example.com/c/",
            ])
            .out(&csv)
            .args(&[
                "--qr-dir",
                p(&images),
                "--symbol",
                symbol,
                "--qr-format",
                "png",
            ])
            .run();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let text = std::fs::read_to_string(&csv).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), count);
        let written = std::fs::read_dir(&images).unwrap().count();
        assert_eq!(
            written, count,
            "one image per code, no temporary files left"
        );
        for row in rows {
            // serial,code,part,lot,date,expiry,url,image
            let fields: Vec<&str> = row.split(',').collect();
            let (serial, url, image) = (fields[0], fields[6], fields[7]);
            assert_eq!(image, p(&images.join(format!("{serial}.png"))));
            let decoded = decoder.decode(Path::new(image));
            assert_eq!(decoded, url, "{symbol} image of serial {serial}");
            assert_genuine(&decoded);
        }
    }
}
