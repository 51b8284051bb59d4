//! `hallmark verify`

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use hallmark::{Date, TrustStore};
use serde_json::json;

use crate::cmd::{parse_date, today};
use crate::input::read_line;
use crate::output::{echo, payload_json, payload_text};
use crate::{CliError, EXIT_NOT_GENUINE, EXIT_OK, Result};

/// Verify codes offline against a trust store.
///
/// Verifies the CODEs given, or else one code per line from stdin (blank lines
/// are skipped). A code may be in any case, grouped with `-` or spaces, or a
/// verification URL ending in the code. Prints one line per code, in input
/// order: the verdict, the code, and the payload or the reason.
///
/// Verdicts: genuine; malformed (not a well-formed code); unknown-key (no trusted
/// key has its key id); bad-signature (altered or forged); key-not-valid (the key
/// may not sign for the code's date); expired (past the code's expiry date).
///
/// Exit status: 0 every code genuine, 1 any code not genuine (or no codes
/// given), 2 usage or I/O error.
///
/// Examples:
///   hallmark verify --trust trust.toml 01ABC...
///   hallmark verify --trust trust.toml --json < scanned.txt
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The trust store (TOML) listing the issuer keys to accept.
    #[arg(long, value_name = "FILE")]
    trust: PathBuf,
    /// Print one JSON object per code: code, verdict, error, reason, payload, ...
    #[arg(long)]
    json: bool,
    /// Check expiry as of this date (YYYY-MM-DD) instead of today (UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    today: Option<Date>,
    /// Codes to verify; none means read them from stdin, one per line.
    #[arg(value_name = "CODE")]
    codes: Vec<String>,
}

pub(crate) fn run(args: Args) -> Result<u8> {
    let text = std::fs::read(&args.trust)
        .map_err(|e| CliError::new(format!("{}: {e}", args.trust.display())))?;
    let text = String::from_utf8(text).map_err(|_| {
        CliError::new(format!(
            "{}: trust store is not UTF-8",
            args.trust.display()
        ))
    })?;
    let trust = TrustStore::from_toml(&text)
        .map_err(|e| CliError::new(format!("{}: {e}", args.trust.display())))?;
    let today = match args.today {
        Some(d) => d,
        None => today()?,
    };
    let mut v = Verifier {
        trust: &trust,
        today,
        json: args.json,
        out: BufWriter::new(std::io::stdout().lock()),
        counts: BTreeMap::new(),
        line: 0,
    };
    if args.codes.is_empty() {
        let mut stdin = std::io::stdin().lock();
        while let Some(line) = read_line(&mut stdin)? {
            v.line += 1;
            if line.text.trim().is_empty() && line.len == line.text.len() {
                continue;
            }
            v.check(&line.text, line.len)?;
        }
    } else {
        for code in &args.codes {
            v.line += 1;
            v.check(code, code.len())?;
        }
    }
    v.out.flush()?;
    let total: usize = v.counts.values().sum();
    if total == 0 {
        eprintln!("hallmark: no codes to verify");
        return Ok(EXIT_NOT_GENUINE);
    }
    let summary: Vec<String> = v.counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    eprintln!("verified {total} codes: {}", summary.join(", "));
    let all_genuine = v.counts.keys().all(|k| *k == "genuine");
    Ok(if all_genuine {
        EXIT_OK
    } else {
        EXIT_NOT_GENUINE
    })
}

struct Verifier<'a, W: Write> {
    trust: &'a TrustStore,
    today: Date,
    json: bool,
    out: W,
    counts: BTreeMap<&'static str, usize>,
    line: usize,
}

impl<W: Write> Verifier<'_, W> {
    fn check(&mut self, input: &str, full_len: usize) -> Result<()> {
        let result = if full_len > input.len() {
            // The reader kept only part of an over-long line.
            Err(hallmark::Error::TooLong {
                len: full_len,
                max: hallmark::MAX_INPUT_LEN,
            })
        } else {
            self.trust.verify_on(input, self.today)
        };
        let verdict = match &result {
            Ok(_) => "genuine",
            Err(e) => e.verdict(),
        };
        *self.counts.entry(verdict).or_default() += 1;
        if self.json {
            let value = match &result {
                Ok(ok) => json!({
                    "line": self.line,
                    "input": echo(input, full_len),
                    "code": ok.to_text(),
                    "verdict": verdict,
                    "error": null,
                    "reason": format!("signature valid under trusted key {} ({})", ok.key_name(), ok.kid()),
                    "kid": ok.kid().to_string(),
                    "key": ok.key_name(),
                    "payload": payload_json(ok.payload()),
                }),
                Err(e) => json!({
                    "line": self.line,
                    "input": echo(input, full_len),
                    "code": hallmark::UnverifiedCode::decode(input).ok().map(|c| c.to_text()),
                    "verdict": verdict,
                    "error": e.kind(),
                    "reason": e.to_string(),
                    "payload": null,
                }),
            };
            writeln!(self.out, "{value}")?;
        } else {
            match &result {
                Ok(ok) => writeln!(
                    self.out,
                    "{verdict}\t{}\t{} key={}",
                    ok.to_text(),
                    payload_text(ok.payload()),
                    ok.key_name()
                )?,
                Err(e) => writeln!(self.out, "{verdict}\t{}\t{e}", echo(input, full_len))?,
            }
        }
        Ok(())
    }
}
