//! External programs the tests check against: `dmtxread` (dmtx-utils),
//! `zbarimg` (zbar-tools) and ImageMagick's `convert`. Without one, a test
//! that needs it says why and passes, unless CI is set: then it fails.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{ErrorKind, Write as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many checks were skipped for a missing program, in this test binary.
pub(crate) static SKIPPED: AtomicUsize = AtomicUsize::new(0);

/// Whether `program` runs (`args` is a harmless invocation such as
/// `--version`, and `expect` a word its output must contain). When it does
/// not: under CI a failure, else a counted, printed skip.
pub(crate) fn available(program: &str, args: &[&str], expect: &str, package: &str) -> bool {
    let found = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => {
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            text.contains(expect)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(e) => panic!("run {program}: {e}"),
    };
    if !found {
        let reason = format!("{program} not installed (apt-get install {package})");
        assert!(std::env::var_os("CI").is_none(), "CI is set and {reason}");
        let n = SKIPPED.fetch_add(1, Ordering::Relaxed) + 1;
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            format!("skipping ({n} so far in this run): {reason}\n").as_bytes(),
        );
    }
    found
}

pub(crate) fn dmtxread_available() -> bool {
    available("dmtxread", &["--version"], "dmtxread", "dmtx-utils")
}

pub(crate) fn zbarimg_available() -> bool {
    available("zbarimg", &["--version"], ".", "zbar-tools")
}

/// ImageMagick's own `convert` (a stand-in of that name may be on the PATH).
pub(crate) fn convert_available() -> bool {
    available(
        "convert",
        &["-version"],
        "Version: ImageMagick",
        "imagemagick",
    )
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"))
}

/// Writes `bytes` to a fresh file in `dir` named `name`.
pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(bytes).unwrap();
    path
}

/// What `dmtxread -G 29` decodes from the image: the message bytes, FNC1
/// printed as GS (the leading one too).
pub(crate) fn dmtxread(path: &Path) -> Vec<u8> {
    let out = run(
        "dmtxread",
        &["-G", "29", "-N1", "-m", "20000", path.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "dmtxread {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// What `zbarimg` decodes from the image, as raw bytes (no trailing newline).
pub(crate) fn zbarimg(path: &Path) -> Vec<u8> {
    let out = run(
        "zbarimg",
        &["--raw", "-q", "-Sbinary", path.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "zbarimg {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs ImageMagick's `convert` with `args`, which must succeed.
pub(crate) fn convert(args: &[&str]) {
    let out = run("convert", args);
    assert!(
        out.status.success(),
        "convert {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
