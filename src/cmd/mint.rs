//! `hallmark mint`

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hallmark::{Date, Payload};
use hallmark_issuer::lines::{self, LineFormat};
use hallmark_issuer::pipeline::{self, LedgerFiles, Notice, PipelineError, Reservation};
use hallmark_issuer::{BatchRequest, End, Minter, SerialMode};
use hallmark_label::data::UrlPrefix;
use hallmark_label::symbol::{
    DEFAULT_SCALE, ImageFormat, MAX_DPI, MAX_SCALE, Symbol, render_for_print, render_scaled,
};
use hallmark_label::zpl;
use hallmark_state::file::{self as durable, Sink, SinkError};

use crate::cmd::parse_date;
use crate::signer::AnySigner;
use crate::{CliError, EXIT_OK, Result};

/// Exit status after Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

/// Mint a batch of codes for one part, lot and date.
///
/// Serials come from the key's ledger (by default KEY with the extension
/// .ledger, beside the key): the batch is recorded there and flushed to disk
/// before the first code is printed, so minting again never repeats a serial,
/// even after a crash or Ctrl-C (serials reserved but not printed are skipped).
/// After every chunk of 8192 codes the output accepted (stdout flushed, an
/// --out file fsynced), the ledger records how many were emitted, and at the
/// end the final count: `hallmark batches export` registers only those. Two
/// mints on one ledger never overlap: the second waits for the first to end.
/// --serial-start continues a legacy numbering and is refused if it would
/// overlap serials the key already issued.
///
/// KEY itself records the highest counter it has reserved (written before the
/// first code is printed): if the ledger is missing, another key's or edited
/// backwards, mint refuses instead of reprinting codes, unless --new-ledger.
/// Test-only keys record nothing.
///
/// With --signer pkcs11:... the key stays in an HSM or token (SoftHSM2 in
/// tests) and there is no key file: --ledger is then required, and the ledger
/// alone records what was issued (the same lock and fsync before the first
/// code; keep it backed up, as no key file can detect a lost one). Every
/// signature from the token is checked against its public key before the
/// code is written. Opaque serials are refused with --signer: they need the
/// key's secret seed, which a token never reveals.
///
/// Signs on all cores and streams its output; a progress bar with rate and ETA
/// shows on a terminal. Ctrl-C stops after whole chunks of lines (exit 130):
/// with --out the file is kept, holding exactly the codes the ledger records
/// as emitted; on stdout every printed line is complete. The rest of the
/// batch is never issued (and never reused).
///
/// --trust FILE: refuse, before anything is reserved or printed, a --date
/// outside the key's valid_from..valid_until in that trust store (codes that
/// would all verify key-not-valid), or a key the trust store lacks.
///
/// Serials: `sequential` (0, 1, 2, ...), `opaque` (a keyed permutation: unique,
/// unguessable, revealing neither order nor volume; EU FMD style), or `batch`
/// (opaque per batch: 2^63 | batch number << 40 | a permutation of the
/// counter whose key the batch's manifest discloses, so verifiers holding the
/// manifest can check membership offline; anyone holding the manifest can
/// list the batch's serials). A key mints opaque or batch serials, not both.
///
/// Output formats: `text` (the code, or the URL with --url-prefix, one per
/// line); `csv` (header serial,code,part,lot,date,expiry,url, and a last
/// column image with --qr-dir: the image's path); `jsonl` (the same fields);
/// `zpl`: one ZPL II label (^XA ... ^XZ) per line for Zebra thermal
/// printers, the printer drawing the symbol (--symbol; the URL with
/// --url-prefix, else the code) above the part, lot and serial and the code
/// in groups of four.
///
/// Print size: --module-px N pixels per module in --qr-dir images (default
/// 4), or printer dots per module in ZPL labels (default 4; QR 1 to 10).
/// --dpi D is the printer's resolution: a PNG gets it in a pHYs chunk (an SVG
/// its size in millimetres) so it prints at N/D inches per module, and ZPL
/// labels are laid out for it (default 203). --module-mm M with --dpi D asks
/// for modules of M millimetres instead: round(M x D / 25.4) pixels.
///
/// Examples:
///   hallmark mint --key keys/acme.key --part DRN-2980 --lot L231212-01 \
///       --date 2023-12-12 --count 1000 > codes.txt
///   hallmark mint --key keys/acme.key --part DRN-2980 --lot L7 --date 2024-05-01 \
///       --count 100000 --serials opaque --format csv --out labels.csv \
///       --url-prefix https://hm.example.com/c/ --qr-dir qr --qr-format png \
///       --dpi 300 --module-mm 0.5
///   hallmark mint --key keys/acme.key --part DRN-2980 --lot L9 --date 2024-05-03 \
///       --count 500 --format zpl --dpi 203 --module-px 4 --out labels.zpl
///   HALLMARK_PKCS11_PIN=... hallmark mint --signer 'pkcs11:token=line-1;object=acme-1' \
///       --ledger /var/lib/hallmark/acme-1.ledger --part DRN-2980 --lot L8 \
///       --date 2024-05-02 --count 1000
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The issuer's secret key file.
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present = "signer",
        conflicts_with = "signer"
    )]
    key: Option<PathBuf>,
    #[command(flatten)]
    signer: crate::signer::SignerArgs,
    /// Part number: 1 to 64 printable ASCII characters.
    #[arg(long, value_name = "P")]
    part: String,
    /// Lot: 1 to 64 printable ASCII characters.
    #[arg(long, value_name = "L")]
    lot: String,
    /// Date of manufacture (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    date: Date,
    /// How many codes to mint.
    #[arg(long, value_name = "N", value_parser = count)]
    count: u64,
    /// Expiry date (YYYY-MM-DD), not before --date.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    expiry: Option<Date>,
    /// First serial of the batch (default: the next one the ledger has not issued).
    #[arg(long, value_name = "N", conflicts_with = "serials")]
    serial_start: Option<u64>,
    /// How serials are assigned.
    #[arg(long, value_enum, default_value_t = Serials::Sequential)]
    serials: Serials,
    /// Refuse a --date outside the key's window in this trust store (TOML).
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// The serial ledger (default: KEY with the extension .ledger; required
    /// with --signer).
    #[arg(long, value_name = "PATH")]
    ledger: Option<PathBuf>,
    /// The key's line certificate (from `hallmark cert issue`): the mint is
    /// refused before anything is printed if --date lies outside its window,
    /// --part or --lot outside its patterns, the serials outside its ranges,
    /// or the ledger's count plus --count above its maximum.
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// Mint although KEY records serials reserved beyond what the ledger holds
    /// (the ledger was lost, replaced or edited backwards). RISK: the batches
    /// of the lost ledger are gone for good (`batches list/export` cannot show
    /// them). Numbering continues above the highest counter KEY records, so
    /// no serial KEY recorded is reissued, but serials reserved with a copy of
    /// KEY that recorded them elsewhere can be. Restore the real ledger if you can.
    #[arg(long, conflicts_with = "signer")]
    new_ledger: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Write to FILE (via a temporary file renamed when complete) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    /// Emit verification URLs: PREFIX + code, in upper case so a QR stays alphanumeric.
    #[arg(long, value_name = "URL")]
    url_prefix: Option<String>,
    /// Also write one symbol image per code into DIR, named by serial.
    #[arg(long, value_name = "DIR")]
    qr_dir: Option<PathBuf>,
    /// Image format for --qr-dir.
    #[arg(long, value_enum, default_value_t = ImageFormat::Png)]
    qr_format: ImageFormat,
    /// Symbol for --qr-dir and --format zpl: QR, or Data Matrix ECC 200
    /// (GS1 / EU FMD pharma labels).
    #[arg(long, value_enum, default_value_t = Symbol::Qr)]
    symbol: Symbol,
    /// Pixels per module in --qr-dir images (default 4), dots per module in
    /// --format zpl labels (default 4).
    #[arg(long, value_name = "N", conflicts_with = "module_mm",
          value_parser = number_in::<1, MAX_SCALE>)]
    module_px: Option<u32>,
    /// The printer's resolution in dots per inch: written into --qr-dir PNGs
    /// (pHYs) so they print at size; ZPL labels are laid out for it (default 203).
    #[arg(long, value_name = "D", value_parser = number_in::<1, MAX_DPI>)]
    dpi: Option<u32>,
    /// Module size in millimetres, with --dpi: round(M x D / 25.4) pixels
    /// (dots) per module.
    #[arg(long, value_name = "M", requires = "dpi")]
    module_mm: Option<f64>,
    /// Also write each code's warranty claim code (to print inside its
    /// package) to FILE: CSV `code,claim`, created new with mode 0600, once
    /// the whole batch is minted. Needs --claim-key.
    #[arg(long, value_name = "FILE", requires = "claim_key")]
    claim_codes: Option<PathBuf>,
    /// The claim key that derives claim codes (`hallmark claim-key new`);
    /// the service checks registrations with the same key.
    #[arg(long, value_name = "FILE", requires = "claim_codes")]
    claim_key: Option<PathBuf>,
    #[command(flatten)]
    passphrase: crate::passphrase::Source,
    /// Set by `hallmark gs1 sign`: GS1 units instead of v1 codes.
    #[arg(skip)]
    gs1: Option<Box<crate::cmd::gs1::Job>>,
}

impl Args {
    /// The mint of a `hallmark gs1 sign` (its flags in mint's terms).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn for_gs1(
        key: Option<PathBuf>,
        signer: crate::signer::SignerArgs,
        passphrase: crate::passphrase::Source,
        job: crate::cmd::gs1::Job,
        count: u64,
        batch_serials: bool,
        files: crate::cmd::gs1::MintFiles,
    ) -> Args {
        Args {
            key,
            signer,
            part: job.gtin.clone(),
            lot: job.lot.clone(),
            date: job.prod_date,
            count,
            expiry: job.expiry,
            serial_start: None,
            serials: if batch_serials {
                Serials::Batch
            } else {
                Serials::Opaque
            },
            trust: files.trust,
            ledger: files.ledger,
            cert: files.cert,
            new_ledger: files.new_ledger,
            format: Format::Text,
            out: files.out,
            force: files.force,
            url_prefix: None,
            qr_dir: None,
            qr_format: ImageFormat::Png,
            symbol: Symbol::Qr,
            module_px: None,
            dpi: None,
            module_mm: None,
            claim_codes: files.claim_codes,
            claim_key: files.claim_key,
            passphrase,
            gs1: Some(Box::new(job)),
        }
    }
}

/// How each minted code becomes a line (and an image).
enum Lines<'a> {
    Code(LineFormat),
    /// A ZPL label of the code (or its URL, from the text lines).
    Zpl(LineFormat, zpl::Layout),
    Gs1(&'a crate::cmd::gs1::Job),
}

impl Lines<'_> {
    fn header(&self) -> String {
        match self {
            Lines::Code(l) => l.header().to_owned(),
            Lines::Zpl(..) => String::new(),
            Lines::Gs1(job) => job.header(),
        }
    }
}

/// The ZPL printer's resolution unless --dpi says otherwise (8 dots per mm).
const ZPL_DEFAULT_DPI: u32 = 203;

/// Pixels (dots) per module, and the printer's resolution if given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Print {
    pub(crate) module_px: u32,
    pub(crate) dpi: Option<u32>,
}

impl Print {
    /// From --module-px, or --module-mm at --dpi (else the default scale).
    pub(crate) fn from_args(
        module_px: Option<u32>,
        module_mm: Option<f64>,
        dpi: Option<u32>,
    ) -> Result<Print> {
        let module_px = match (module_px, module_mm, dpi) {
            (Some(px), _, _) => px,
            (None, Some(mm), Some(dpi)) => {
                let px = (mm * f64::from(dpi) / 25.4).round();
                if !(mm > 0.0 && px >= 1.0 && px <= f64::from(MAX_SCALE)) {
                    return Err(CliError::new(format!(
                        "--module-mm {mm} at --dpi {dpi} is {px} pixels per module; \
                         use a size of 1 to {MAX_SCALE} pixels ({:.3}–{:.3} mm at {dpi} dpi)",
                        25.4 / f64::from(dpi),
                        f64::from(MAX_SCALE) * 25.4 / f64::from(dpi)
                    )));
                }
                px as u32
            }
            _ => DEFAULT_SCALE,
        };
        Ok(Print { module_px, dpi })
    }
}

/// A whole number from MIN to MAX, refused in words ("use a whole number
/// in 1–32", not clap's "1..=32").
pub(crate) fn number_in<const MIN: u32, const MAX: u32>(
    text: &str,
) -> std::result::Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if (MIN..=MAX).contains(&n) => Ok(n),
        _ => Err(format!("use a whole number in {MIN}–{MAX}")),
    }
}

/// A count of codes or units: a whole number, 1 or more (not clap's
/// "1..18446744073709551615").
pub(crate) fn count(text: &str) -> std::result::Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("use a whole number, 1 or more".to_owned()),
    }
}

/// Rate of a progress bar as a person reads it: whole items per second,
/// thousands separated ("12,345 codes/s").
fn rate_text(per_sec: f64, unit: &str) -> String {
    let whole = if per_sec.is_finite() && per_sec > 0.0 {
        per_sec.round() as u64
    } else {
        0
    };
    format!("{} {unit}s/s", thousands(whole))
}

/// `n` with a comma between groups of three digits.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// "1 code", "2 codes".
fn count_of(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Mint's progress bar (drawn only on a terminal): a bar of whole units,
/// their rate in whole units per second, and the time left.
fn progress_bar(len: u64, unit: &'static str) -> indicatif::ProgressBar {
    let bar = crate::output::progress_bar(Some(len), "");
    bar.set_style(progress_style(unit));
    bar
}

/// The style of [`progress_bar`]: `unit` ("code") names what is counted.
fn progress_style(unit: &'static str) -> indicatif::ProgressStyle {
    let template = format!(
        "{{spinner}} minting [{{bar:40}}] {{human_pos}}/{{human_len}} {unit}s ({{rate}}, ETA {{eta}})"
    );
    let style = indicatif::ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    style
        .with_key(
            "rate",
            move |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&rate_text(state.per_sec(), unit));
            },
        )
        .progress_chars("=> ")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Serials {
    Sequential,
    Opaque,
    Batch,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Text,
    Csv,
    Jsonl,
    Zpl,
}

impl From<Format> for lines::Format {
    fn from(format: Format) -> lines::Format {
        match format {
            Format::Text => lines::Format::Text,
            Format::Csv => lines::Format::Csv,
            Format::Jsonl => lines::Format::Jsonl,
            // The label is made from the text line's data (code or URL).
            Format::Zpl => lines::Format::Text,
        }
    }
}

/// Where the lines go: stdout, or a temporary file given the --out name at
/// the end ([`Sink`]).
pub(crate) fn open_sink(
    out: Option<&Path>,
    force: bool,
    protected: &[(&Path, &'static str)],
) -> Result<Sink<io::Stdout>> {
    let Some(path) = out else {
        return Ok(Sink::stream(io::stdout()));
    };
    Sink::file(path, crate::cmd::files::existing(force), protected).map_err(|e| match e {
        durable::FileError::Exists { path } => crate::cmd::files::already_exists(&path),
        e => e.into(),
    })
}

/// Completes the output (without --force, only if nothing has appeared at
/// the --out name meanwhile).
pub(crate) fn finish_sink(sink: Sink<io::Stdout>) -> Result<()> {
    sink.finish().map_err(|e| match e {
        SinkError::Write(e) => e.into(),
        SinkError::File(durable::FileError::Exists { path }) => CliError::new(format!(
            "{}: appeared while minting; not replaced (use --force to replace it)",
            path.display()
        )),
        SinkError::File(e) => e.into(),
        e => e.into(),
    })
}

/// Writes one symbol image atomically, so no half image is left, never
/// through a symlink planted at its name, and returns its path. Images are
/// made durable together, with one `syncfs` after the last
/// ([`durable::sync_filesystem`] in `run`): an fsync per image cost twenty
/// times the rendering.
fn write_image(
    dir: &Path,
    serial: u64,
    data: &str,
    symbol: Symbol,
    format: ImageFormat,
    print: Print,
) -> Result<PathBuf> {
    let bytes = match print.dpi {
        Some(dpi) => render_for_print(data, symbol, format, print.module_px, dpi)?,
        None => render_scaled(data, symbol, format, print.module_px)?,
    };
    crate::cmd::gs1_symbol::write(dir, &serial.to_string(), format, &bytes)
}

pub(crate) fn run(args: Args) -> Result<u8> {
    // The ledger: beside the key file, or named (required with --signer,
    // checked before the token is opened or its PIN asked for).
    let ledger_path = match (&args.key, &args.ledger) {
        (Some(key), ledger) => pipeline::ledger_path(key, ledger.as_deref()),
        (None, Some(ledger)) => ledger.clone(),
        (None, None) => {
            return Err(CliError::new(
                "--signer needs --ledger PATH: there is no key file to keep the ledger beside",
            ));
        }
    };
    // The claim key and the claims file are checked before anything is
    // signed: a bad key or an existing file mints nothing.
    let claims = crate::cmd::claims::Claims::open(
        args.claim_codes.as_deref(),
        args.claim_key.as_deref(),
        args.gs1.is_some(),
    )?;
    let any = crate::signer::open_either(args.key.as_deref(), &args.passphrase, &args.signer)?;
    let key = any.signer();
    if let AnySigner::File(file_key) = &any
        && file_key.is_test_only()
    {
        eprintln!(
            "hallmark: warning: {} is a published TEST-ONLY key; codes it signs prove nothing",
            args.key.as_deref().unwrap_or(Path::new("KEY")).display()
        );
    }
    // Check everything before reserving serials: a refused mint burns none.
    if let Some(path) = &args.trust {
        let trust = crate::cmd::load_trust(path)?;
        hallmark_issuer::check_trust_window(&trust, key.kid(), args.date)
            .map_err(|e| CliError::about(path.display(), e))?;
        if args.gs1.is_some() {
            crate::cmd::gs1::check_gtin_in_trust(&trust, key.kid(), &args.part, path)?;
        }
    }
    let mode = match args.serials {
        Serials::Sequential => SerialMode::Sequential,
        Serials::Opaque => SerialMode::Opaque,
        Serials::Batch => SerialMode::Batch,
    };
    let print = Print::from_args(args.module_px, args.module_mm, args.dpi)?;
    if (args.module_px.is_some() || args.module_mm.is_some() || args.dpi.is_some())
        && args.qr_dir.is_none()
        && args.format != Format::Zpl
    {
        return Err(CliError::new(
            "--module-px, --module-mm and --dpi size the --qr-dir images and --format zpl \
             labels; give one of those",
        ));
    }
    let (minter, lines) = match &args.gs1 {
        Some(job) => (Minter::gs1(key, &job.data, mode)?, Lines::Gs1(job.as_ref())),
        None => {
            let mut template = Payload::new(0, &args.part, &args.lot, args.date)?;
            if let Some(expiry) = args.expiry {
                template = template.with_expiry(expiry)?;
            }
            let lines = LineFormat::new(
                args.format.into(),
                args.url_prefix
                    .as_deref()
                    .map(|p| {
                        UrlPrefix::parse(p)
                            .map(UrlPrefix::into_string)
                            .map_err(|e| CliError::new(format!("--url-prefix {e}")))
                    })
                    .transpose()?,
                &template,
            )?;
            let lines = if args.format == Format::Zpl {
                let layout = zpl::Layout::new(
                    args.symbol,
                    args.dpi.unwrap_or(ZPL_DEFAULT_DPI),
                    print.module_px,
                )
                .map_err(|e| CliError::new(format!("--format zpl: {e}")))?;
                Lines::Zpl(lines, layout)
            } else if args.qr_dir.is_some() {
                Lines::Code(lines.with_image_column())
            } else {
                Lines::Code(lines)
            };
            (Minter::new(key, &template, mode)?, lines)
        }
    };
    let cert = match &args.cert {
        Some(path) => Some(check_certificate(path, &args, key, &ledger_path)?),
        None => None,
    };
    let image_dir = match &lines {
        Lines::Gs1(job) => job.symbol_dir.as_ref(),
        Lines::Code(_) | Lines::Zpl(..) => args.qr_dir.as_ref(),
    };
    if let Some(dir) = image_dir {
        fs::create_dir_all(dir).map_err(|e| CliError::about(dir.display(), e))?;
        durable::clean_stale_temps(dir);
    }
    let mut protected = vec![(ledger_path.as_path(), "the key's ledger")];
    if let Some(key_file) = &args.key {
        protected.push((key_file.as_path(), "the key file"));
    }
    let mut sink = open_sink(args.out.as_deref(), args.force, &protected)?;
    let reserved = reserve(&ledger_path, &args, &any, mode);
    let mut reservation = match reserved {
        Ok(r) => r,
        Err(e) => {
            sink.abandon();
            return Err(e);
        }
    };
    let batch = reservation.batch().clone();
    let minter = minter.with_batch(&batch);
    // The serials are known once reserved: a batch outside the certificate's
    // serial ranges is refused before a single code is signed (its serials
    // stay reserved, never issued; the ledger closes it with none emitted).
    if let Some(cert) = &cert
        && mode == SerialMode::Sequential
        && !cert.constraints.serials.is_empty()
    {
        let (first, last) = (*batch.serials().start(), *batch.serials().end());
        if let Err(c) = cert
            .constraints
            .check_batch(&args.part, &args.lot, first, last)
        {
            sink.abandon();
            close(reservation, 0, End::Failed)?;
            return Err(CliError::new(format!(
                "serials {first}–{last} lie outside certificate {}'s {} constraint; \
                 nothing was minted (the serials stay reserved and are never issued)",
                cert.name,
                c.as_str()
            )));
        }
    }

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // Only fails if a handler is already set; minting then just cannot be
        // interrupted cleanly, which Ctrl-C's default behaviour covers.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let progress = progress_bar(
        batch.count,
        if args.gs1.is_some() { "unit" } else { "code" },
    );
    let counters = batch.serials();
    let (first, last) = (*counters.start(), *counters.end());
    let to_file = args.out.is_some();

    let header = sink.write_all(lines.header().as_bytes());
    let what = |n: u64| {
        if args.gs1.is_some() {
            count_of(n, "GS1 unit", "GS1 units")
        } else {
            count_of(n, "code", "codes")
        }
    };
    let signed = match header {
        Err(e) => Err(PipelineError::Output(e)),
        Ok(()) => pipeline::sign_batch(
            &minter,
            &mut reservation,
            &stop,
            &|n| progress.inc(n),
            |serial, code| -> Result<String> {
                if let Some(claims) = &claims {
                    match &lines {
                        Lines::Code(_) | Lines::Zpl(..) => claims.add_code(&code)?,
                        Lines::Gs1(_) => claims.add_gs1_element(&code)?,
                    }
                }
                match &lines {
                    Lines::Code(text) | Lines::Zpl(text, _) => {
                        let data = text.url(&code).unwrap_or_else(|| code.clone());
                        let image = match &args.qr_dir {
                            Some(dir) => Some(write_image(
                                dir,
                                serial,
                                &data,
                                args.symbol,
                                args.qr_format,
                                print,
                            )?),
                            None => None,
                        };
                        match (&lines, image) {
                            (Lines::Zpl(_, layout), _) => {
                                let about = format!("{} LOT {} SN {serial}", args.part, args.lot);
                                zpl::label(&data, &[&about], &zpl::group_code(&code), layout)
                                    .map_err(|e| CliError::new(format!("--format zpl: {e}")))
                            }
                            (_, Some(path)) => Ok(text.line_with_image(
                                serial,
                                &code,
                                &path.display().to_string(),
                            )),
                            _ => Ok(text.line(serial, &code)),
                        }
                    }
                    Lines::Gs1(job) => job.line(serial, &code),
                }
            },
            // Ok only once the chunk is flushed (and, for a file, fsynced):
            // only then does the ledger record it as emitted.
            |chunk| {
                chunk
                    .iter()
                    .try_for_each(|line| sink.write_all(line.as_bytes()))?;
                sink.sync()
            },
        ),
    };
    // Whatever happened, the ledger is closed with what reached the output.
    let result = match signed {
        Ok(emitted) => (|| -> Result<u64> {
            if let Some(dir) = image_dir {
                durable::sync_filesystem(dir)?;
            }
            // An interrupted run keeps its whole lines, under the --out name too:
            // exactly the codes the ledger records as emitted.
            finish_sink(sink)?;
            if let Some(claims) = claims {
                claims.write()?;
            }
            Ok(emitted)
        })()
        .map_err(|e| (e, if to_file { 0 } else { emitted })),
        Err(e) => {
            // A file output is removed (nothing delivered); a stream got what
            // the sink accepted.
            sink.abandon();
            let emitted = if to_file { 0 } else { reservation.emitted() };
            Err((
                match e {
                    PipelineError::PerCode(e) => e,
                    PipelineError::Output(e) => {
                        // Say so even when the reader simply stopped (broken pipe).
                        eprintln!(
                            "hallmark: output failed or was closed early ({e}); {} {} \
                             emitted, the rest of the batch (counters {first}–{last}) stays \
                             reserved in {} and will never be issued",
                            count_of(emitted, "code", "codes"),
                            if emitted == 1 { "was" } else { "were" },
                            ledger_path.display()
                        );
                        e.into()
                    }
                    e => e.into(),
                },
                emitted,
            ))
        }
    };
    progress.finish_and_clear();
    let emitted = match result {
        Ok(emitted) => emitted,
        Err((e, emitted)) => {
            // Best effort: if even this fails, the batch stays open and its
            // last progress record counts (as after a kill).
            if let Err(close) = reservation.close(emitted, End::Failed) {
                eprintln!("hallmark: warning: {close}");
            }
            return Err(e);
        }
    };
    let interrupted = emitted < batch.count;
    close(
        reservation,
        emitted,
        if interrupted {
            End::Interrupted
        } else {
            End::Complete
        },
    )?;
    let range = |s: u64, e: u64| match (mode, batch.batch) {
        (SerialMode::Batch, Some(b)) => {
            format!("batch-opaque serials of batch {b} from counters {s}–{e}")
        }
        (SerialMode::Opaque, _) => format!("opaque serials from counters {s}–{e}"),
        _ if s == e => format!("serial {s}"),
        _ => format!("serials {s}–{e}"),
    };
    if interrupted {
        let written = match &args.out {
            Some(out) => format!(" written to {}", out.display()),
            None => String::new(),
        };
        eprintln!(
            "hallmark: interrupted after {emitted} of {}{written}; the ledger {} records \
             {emitted} emitted, and the rest of {} stays reserved and will never be issued",
            what(batch.count),
            ledger_path.display(),
            range(first, last),
        );
        return Ok(EXIT_INTERRUPTED);
    }
    eprintln!(
        "minted {} with key {} ({}): {}, recorded in {}",
        what(batch.count),
        key.name(),
        key.kid(),
        range(first, last),
        ledger_path.display()
    );
    Ok(EXIT_OK)
}

/// Refuses, before anything is reserved or printed, a mint its key's
/// certificate does not allow: another key's certificate, one without the
/// codes usage, a --date outside its window, a part or lot outside its
/// patterns, or a count beyond its maximum as far as the ledger knows.
pub(crate) fn check_certificate(
    path: &Path,
    args: &Args,
    key: &dyn hallmark_issuer::signer::Signer,
    ledger_path: &Path,
) -> Result<hallmark::LineCertificate> {
    let bytes = crate::cmd::cert::read(path)?;
    let (_, cert) = hallmark::LineCertificate::decode_unverified(&bytes)
        .map_err(|e| CliError::about(path.display(), e))?;
    let refuse =
        |why: String| CliError::new(format!("{}: {why}; nothing was minted", path.display()));
    if cert.subject != key.public_key() {
        return Err(refuse(format!(
            "certificate {} is for key {}, not for {} ({})",
            cert.name,
            cert.subject.kid(),
            key.name(),
            key.kid()
        )));
    }
    if !cert.usage.contains(hallmark::Usage::CODES) {
        return Err(refuse(format!(
            "certificate {} allows {}, not codes",
            cert.name, cert.usage
        )));
    }
    if args.date < cert.valid_from || args.date > cert.valid_until {
        return Err(refuse(format!(
            "--date {} is outside certificate {}'s window {} to {}: every code would verify key-not-valid",
            args.date, cert.name, cert.valid_from, cert.valid_until
        )));
    }
    if let Err(c) = cert
        .constraints
        .check_batch(&args.part, &args.lot, 0, u64::MAX)
        .or_else(|c| match c {
            hallmark::Constraint::Serial => Ok(()),
            other => Err(other),
        })
    {
        let value = match c {
            hallmark::Constraint::Lot => &args.lot,
            _ => &args.part,
        };
        return Err(refuse(format!(
            "{} {value:?} is outside certificate {}'s {} patterns: every code would verify out-of-scope",
            c.as_str(),
            cert.name,
            c.as_str()
        )));
    }
    if args.gs1.is_some() && !cert.constraints.allows_gtin(&args.part) {
        return Err(refuse(format!(
            "GTIN {} is outside certificate {}'s GS1 company prefixes ({}): every unit would verify out-of-scope",
            args.part,
            cert.name,
            cert.constraints.gs1_prefixes.join(", ")
        )));
    }
    if let Some(max) = cert.constraints.max_count {
        let minted: u64 = if ledger_path.exists() {
            let ledger = hallmark_issuer::Ledger::open(ledger_path)?;
            let kid = key.kid().to_string();
            // What was emitted: serials an interrupted mint never printed are
            // never registered, so they do not count against the maximum.
            ledger
                .entries()
                .filter(|(b, _)| b.kid == kid)
                .fold(0u64, |n, (b, e)| n.saturating_add(e.emitted(b)))
        } else {
            0
        };
        if minted.saturating_add(args.count) > max {
            return Err(refuse(format!(
                "certificate {} allows {max} serials in all; the ledger already holds {minted}, \
                 so --count {} would exceed it (the registry refuses the excess)",
                cert.name, args.count
            )));
        }
    }
    Ok(cert)
}

/// Closes the batch in the ledger (which it then releases).
fn close(reservation: Reservation, emitted: u64, end: End) -> Result<()> {
    reservation.close(emitted, end)?;
    Ok(())
}

/// Reserves the batch's serials ([`pipeline::reserve`]), saying on stderr
/// when it waits for another mint or continues on a new ledger.
fn reserve(
    ledger_path: &Path,
    args: &Args,
    any: &AnySigner,
    mode: SerialMode,
) -> Result<Reservation> {
    let key = any.signer();
    let request = BatchRequest {
        kid: key.kid(),
        count: args.count,
        start: args.serial_start,
        part: &args.part,
        lot: &args.lot,
        date: args.date,
        expiry: args.expiry,
        time: crate::cmd::now_secs()?,
        serials: mode,
    };
    let mut notice = |notice: Notice<'_>| match notice {
        Notice::LedgerBusy { ledger } => eprintln!(
            "hallmark: waiting for another mint to release {}",
            ledger.display()
        ),
        Notice::NewLedger {
            ledger,
            key_file,
            key_next,
        } => eprintln!(
            "hallmark: warning: --new-ledger: {} does not hold the batches {} records; \
                 continuing from counter {key_next}, and refusing any serial below it from now on",
            ledger.display(),
            key_file.display()
        ),
        _ => {}
    };
    Ok(match (any, &args.key) {
        (AnySigner::File(file_key), Some(key_file)) => {
            let files = LedgerFiles {
                key_file,
                ledger: ledger_path,
                new_ledger: args.new_ledger,
            };
            pipeline::reserve(file_key, files, &request, &mut notice)?
        }
        _ => pipeline::reserve_in_ledger(ledger_path, &request, &mut notice)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn rates_are_whole_units_per_second() {
        assert_eq!(rate_text(12345.67, "code"), "12,346 codes/s");
        assert_eq!(rate_text(999.4, "code"), "999 codes/s");
        assert_eq!(rate_text(1_234_567.0, "unit"), "1,234,567 units/s");
        assert_eq!(rate_text(0.0, "code"), "0 codes/s");
        assert_eq!(rate_text(f64::NAN, "code"), "0 codes/s");
        assert_eq!(rate_text(f64::INFINITY, "code"), "0 codes/s");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn numbers_refused_in_words() {
        assert_eq!(number_in::<1, 32>("32"), Ok(32));
        assert_eq!(number_in::<1, 32>("1"), Ok(1));
        let e = number_in::<1, 32>("33").unwrap_err();
        assert_eq!(e, "use a whole number in 1–32");
        assert!(number_in::<1, 32>("0").is_err());
        assert!(number_in::<1, 32>("-1").is_err());
        assert!(number_in::<1, 32>("4.5").is_err());
        assert_eq!(count("1"), Ok(1));
        assert_eq!(count("0").unwrap_err(), "use a whole number, 1 or more");
        assert!(count("x").is_err());
    }

    #[test]
    fn counts_in_words() {
        assert_eq!(count_of(1, "code", "codes"), "1 code");
        assert_eq!(count_of(0, "code", "codes"), "0 codes");
        assert_eq!(count_of(2, "GS1 unit", "GS1 units"), "2 GS1 units");
    }

    #[test]
    fn module_size_from_pixels_or_millimetres() {
        let p = |px, mm, dpi| Print::from_args(px, mm, dpi);
        assert_eq!(
            p(None, None, None).unwrap(),
            Print {
                module_px: DEFAULT_SCALE,
                dpi: None
            }
        );
        assert_eq!(p(Some(7), None, Some(300)).unwrap().module_px, 7);
        // 0.5 mm at 300 dpi is 5.9 pixels; at 203 dpi 4.0.
        assert_eq!(p(None, Some(0.5), Some(300)).unwrap().module_px, 6);
        assert_eq!(p(None, Some(0.5), Some(203)).unwrap().module_px, 4);
        let e = p(None, Some(0.05), Some(203)).unwrap_err().to_string();
        assert!(e.contains("0 pixels per module"), "{e}");
        assert!(p(None, Some(-1.0), Some(203)).is_err());
        assert!(p(None, Some(f64::NAN), Some(203)).is_err());
        assert!(p(None, Some(10.0), Some(600)).is_err());
    }
}
