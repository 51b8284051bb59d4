//! Text renderings shared by `verify` and `inspect` (JSON comes from
//! `hallmark::report`).

use hallmark::Payload;

/// The payload as `field=value` pairs for one line of text output.
pub(crate) fn payload_text(p: &Payload) -> String {
    let mut s = format!(
        "serial={} part={} lot={} date={}",
        p.serial(),
        p.part(),
        p.lot(),
        p.date()
    );
    if let Some(expiry) = p.expiry() {
        s.push_str(&format!(" expiry={expiry}"));
    }
    for e in p.extensions() {
        s.push_str(&format!(" ext{}={}", e.key(), hex_encode(&e.value_cbor())));
    }
    s
}

/// Lower-case hex.
pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An untrusted input made safe to echo: control characters replaced and cut to
/// a readable length, saying how long it really was.
pub(crate) fn echo(input: &str, full_len: usize) -> String {
    const SHOWN: usize = 512;
    let truncated = input.chars().nth(SHOWN).is_some() || full_len > input.len();
    let mut out: String = input
        .chars()
        .take(SHOWN)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if truncated {
        out.push_str(&format!("... ({full_len} bytes)"));
    }
    out
}

/// A progress bar on stderr when it is a terminal (hidden otherwise), of
/// `len` steps if known, drawn with the indicatif `template`.
pub(crate) fn progress_bar(len: Option<u64>, template: &str) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
