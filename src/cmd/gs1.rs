//! `hallmark gs1`: read GS1 scans and sign GS1 units (docs/FORMAT.md §20, §21).

use std::path::PathBuf;

use clap::Subcommand;
use hallmark::Date;
use hallmark::gs1::{GS, Gs1Data, Separator};

use crate::cmd::parse_date;
use crate::{CliError, EXIT_NOT_GENUINE, EXIT_OK, Result};

/// Read and sign GS1 data: GTIN (01), lot (10), production date (11), expiry
/// (17) and serial (21), with hallmark's signature in AI 8030.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Sign(Box<SignArgs>),
    Parse(ParseArgs),
}

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Sign(args) => sign(*args),
        Command::Parse(args) => parse(args),
    }
}

/// Sign GS1 units: a GS1 Data Matrix's or Digital Link's data with a hallmark
/// signature in AI 8030 (90 base64url characters: profile, short key id,
/// signature over every other AI), verifiable offline by `hallmark verify`
/// in any form a scanner emits.
///
/// Serials (AI 21) are either hallmark's own (--count N: opaque serials from
/// the key's ledger, printed as 19 or 20 digits, recorded durably before the
/// first unit is printed, exactly as `hallmark mint` does), or an externally
/// allocated pool (--serials FILE: one serial per line, 1 to 20 characters of
/// the GS1 character set 82, as a level-4 system hands them out; each
/// (GTIN, serial) is recorded in the ledger directory before anything is
/// printed, and a serial used before refuses the whole pool).
///
/// Outputs (--format): `element` (the element string, GS separators, no
/// leading FNC1: what a GS1 Data Matrix encodes), `caret` (`^` for FNC1),
/// `hri` (the bracketed text printed under the symbol), `dl` (a GS1 Digital
/// Link URI under --dl-stem, 8030 as a query attribute), `jsonl`, `csv`.
/// --symbol-dir writes one image per unit: a GS1 Data Matrix (FNC1 first) or
/// a Digital Link QR; --max-size refuses a unit whose symbol would be larger
/// rather than printing a larger one. --module-px N (default 4) and --dpi D
/// (or --module-mm M with --dpi) size the images for the printer, as for
/// `hallmark mint --qr-dir`.
///
/// Examples:
///   hallmark gs1 sign --key keys/acme.key --gtin 09506000134352 --lot L231212-01 \
///       --prod-date 2026-12-01 --expiry 2028-11-30 --count 1000 --format hri
///   hallmark gs1 sign --key keys/acme.key --gtin 09506000134352 --lot L7 \
///       --prod-date 2026-12-01 --serials pool.txt --format csv --out labels.csv \
///       --symbol-dir dm --symbol datamatrix --max-size 48x48
///   hallmark gs1 sign --key keys/acme.key --gtin 09506000134352 --prod-date 2026-12-01 \
///       --count 10 --format dl --dl-stem https://id.example.com
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct SignArgs {
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
    /// GTIN (AI 01): 14 digits with a valid check digit (8, 12 or 13 digits
    /// are padded with zeros on the left).
    #[arg(long, value_name = "GTIN")]
    gtin: String,
    /// Batch or lot (AI 10): 1 to 20 characters of the GS1 character set 82.
    #[arg(long, value_name = "LOT")]
    lot: Option<String>,
    /// Production date (AI 11, YYYY-MM-DD, 2000 to 2099): the key's window is
    /// checked against it.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    prod_date: Date,
    /// Expiry date (AI 17, YYYY-MM-DD), not before --prod-date.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    expiry: Option<Date>,
    /// Another AI to carry, as AI=VALUE (e.g. --ai 714=1234567 for a
    /// national healthcare number); repeatable. Checked against the GS1
    /// Barcode Syntax Dictionary.
    #[arg(long = "ai", value_name = "AI=VALUE")]
    extra: Vec<String>,
    /// How many units to sign, with hallmark's own serials.
    #[arg(long, value_name = "N", value_parser = crate::cmd::mint::count,
          required_unless_present = "serials", conflicts_with = "serials")]
    count: Option<u64>,
    /// Sign one unit per serial of this external pool file (one serial per
    /// line).
    #[arg(long, value_name = "FILE")]
    serials: Option<PathBuf>,
    /// With --count: batch-opaque serials (a batch manifest can then prove
    /// membership offline) instead of opaque ones.
    #[arg(long, conflicts_with = "serials")]
    batch_serials: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Gs1Format::Element)]
    format: Gs1Format,
    /// Digital Link stem for --format dl, jsonl, csv and the QR symbol, e.g.
    /// https://id.example.com (the unit's path /01/…/10/…/21/… follows).
    #[arg(long, value_name = "URL")]
    dl_stem: Option<String>,
    /// Write one symbol image per unit into DIR, named by serial.
    #[arg(long, value_name = "DIR")]
    symbol_dir: Option<PathBuf>,
    /// Symbol for --symbol-dir: a GS1 Data Matrix (FNC1 first) of the element
    /// string, or a QR of the Digital Link URI (needs --dl-stem).
    #[arg(long, value_enum, default_value_t = Gs1Symbol::Datamatrix)]
    symbol: Gs1Symbol,
    /// Image format for --symbol-dir.
    #[arg(long, value_enum, default_value_t = hallmark_label::symbol::ImageFormat::Png)]
    image_format: hallmark_label::symbol::ImageFormat,
    /// Pixels per module in --symbol-dir images (default 4).
    #[arg(long, value_name = "N", conflicts_with = "module_mm", requires = "symbol_dir",
          value_parser = crate::cmd::mint::number_in::<1, { hallmark_label::symbol::MAX_SCALE }>)]
    module_px: Option<u32>,
    /// The printer's resolution in dots per inch, written into --symbol-dir
    /// images (PNG pHYs, SVG millimetres) so they print at size.
    #[arg(long, value_name = "D", requires = "symbol_dir",
          value_parser = crate::cmd::mint::number_in::<1, { hallmark_label::symbol::MAX_DPI }>)]
    dpi: Option<u32>,
    /// Module size in millimetres, with --dpi: round(M x D / 25.4) pixels
    /// per module.
    #[arg(long, value_name = "M", requires = "dpi")]
    module_mm: Option<f64>,
    /// Refuse (before signing anything) units whose symbol would be larger
    /// than this: a Data Matrix size like 44x44, or a QR version like 9.
    #[arg(long, value_name = "SIZE")]
    max_size: Option<hallmark_label::symbol::SizeLimit>,
    /// Refuse a --prod-date outside the key's window, or a GTIN outside its
    /// GS1 company prefixes, in this trust store.
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// The serial ledger (default: KEY with the extension .ledger; required
    /// with --signer).
    #[arg(long, value_name = "PATH")]
    ledger: Option<PathBuf>,
    /// The key's line certificate: the units are refused before anything is
    /// printed if they lie outside it (window, GS1 company prefixes, lot).
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// As for `hallmark mint --new-ledger`.
    #[arg(long, conflicts_with = "signer")]
    new_ledger: bool,
    /// Write to FILE (complete or not at all) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    /// Also write each unit's warranty claim code (to print inside its
    /// package) to FILE: CSV `gtin,serial,claim`, created new with mode
    /// 0600 once every unit is signed. Needs --claim-key.
    #[arg(long, value_name = "FILE", requires = "claim_key")]
    claim_codes: Option<PathBuf>,
    /// The claim key that derives claim codes (`hallmark claim-key new`);
    /// the server's `--claim-key` checks them.
    #[arg(long, value_name = "FILE", requires = "claim_codes")]
    claim_key: Option<PathBuf>,
    #[command(flatten)]
    passphrase: crate::passphrase::Source,
}

/// How GS1 units are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Gs1Format {
    /// The element string with ASCII GS separators.
    Element,
    /// The element string with `^` for FNC1.
    Caret,
    /// Bracketed human-readable text.
    Hri,
    /// GS1 Digital Link URI (needs --dl-stem).
    Dl,
    /// One JSON object per unit.
    Jsonl,
    /// CSV with a header.
    Csv,
}

/// The symbol of a GS1 unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Gs1Symbol {
    /// GS1 Data Matrix of the element string.
    Datamatrix,
    /// QR of the Digital Link URI.
    DlQr,
}

/// The files a GS1 mint uses, handed to `hallmark mint`'s machinery.
pub(crate) struct MintFiles {
    pub(crate) claim_codes: Option<PathBuf>,
    pub(crate) claim_key: Option<PathBuf>,
    pub(crate) trust: Option<PathBuf>,
    pub(crate) ledger: Option<PathBuf>,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) new_ledger: bool,
    pub(crate) out: Option<PathBuf>,
    pub(crate) force: bool,
}

/// What every unit of one GS1 mint shares: the data without 21 and 8030,
/// and how to write each unit.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) data: Gs1Data,
    pub(crate) gtin: String,
    pub(crate) lot: String,
    pub(crate) prod_date: Date,
    pub(crate) expiry: Option<Date>,
    format: Option<Gs1Format>,
    dl_stem: Option<String>,
    pub(crate) symbol_dir: Option<PathBuf>,
    symbol: Option<Gs1Symbol>,
    image_format: Option<hallmark_label::symbol::ImageFormat>,
    max_size: Option<hallmark_label::symbol::SizeLimit>,
    print: crate::cmd::mint::Print,
}

impl Job {
    /// The header line of the output, if its format has one.
    pub(crate) fn header(&self) -> String {
        match self.format {
            Some(Gs1Format::Csv) => {
                "serial,gtin,lot,prod_date,expiry,element_string,hri,digital_link\n".to_owned()
            }
            _ => String::new(),
        }
    }

    /// One unit's output line, from its element string (and its image).
    pub(crate) fn line(&self, serial: impl std::fmt::Display, element: &str) -> Result<String> {
        let format = self.format.unwrap_or(Gs1Format::Element);
        let needs_data =
            !matches!(format, Gs1Format::Element | Gs1Format::Caret) || self.symbol_dir.is_some();
        let data = if needs_data {
            Some(Gs1Data::parse(&format!("]d2{element}"))?)
        } else {
            None
        };
        let dl = |data: &Gs1Data| -> Result<Option<String>> {
            Ok(match &self.dl_stem {
                Some(stem) => Some(data.to_digital_link(stem)?),
                None => None,
            })
        };
        if let (Some(dir), Some(data)) = (&self.symbol_dir, &data) {
            self.write_symbol(dir, &serial.to_string(), element, data)?;
        }
        let caret = || format!("^{}", element.replace(GS, "^"));
        let line = match (format, &data) {
            (Gs1Format::Element, _) => element.to_owned(),
            (Gs1Format::Caret, _) => caret(),
            (Gs1Format::Hri, Some(d)) => d.to_hri(),
            (Gs1Format::Dl, Some(d)) => dl(d)?.unwrap_or_default(),
            (Gs1Format::Jsonl, Some(d)) => serde_json::json!({
                "serial": serial.to_string(),
                "gtin": self.gtin,
                "lot": d.get("10"),
                "prod_date": self.prod_date.to_string(),
                "expiry": self.expiry.map(|e| e.to_string()),
                "element_string": element,
                "hri": d.to_hri(),
                "digital_link": dl(d)?,
            })
            .to_string(),
            (Gs1Format::Csv, Some(d)) => {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(Vec::new());
                w.write_record([
                    serial.to_string(),
                    self.gtin.clone(),
                    self.lot.clone(),
                    self.prod_date.to_string(),
                    self.expiry.map(|e| e.to_string()).unwrap_or_default(),
                    caret(),
                    d.to_hri(),
                    dl(d)?.unwrap_or_default(),
                ])
                .map_err(|e| CliError::new(e.to_string()))?;
                let bytes = w.into_inner().map_err(|e| CliError::new(e.to_string()))?;
                return Ok(String::from_utf8_lossy(&bytes).into_owned());
            }
            (_, None) => element.to_owned(),
        };
        Ok(line + "\n")
    }

    /// Refuses, before anything is reserved or signed, units whose symbol
    /// would exceed --max-size: a unit with the longest serial and a
    /// signature is rendered once.
    fn check_symbol_size(&self, longest: Option<&str>) -> Result<()> {
        let (Some(_), Some(_)) = (&self.symbol_dir, self.max_size) else {
            return Ok(());
        };
        let serial = longest.unwrap_or("18446744073709551615");
        let probe = Gs1Data::from_elements(
            self.data
                .elements()
                .chain([("21", serial), ("8030", "A".repeat(90).as_str())]),
        )?;
        let element = probe.to_element_string(Separator::Gs);
        let format = hallmark_label::symbol::ImageFormat::Svg;
        let rendered = match self.symbol.unwrap_or(Gs1Symbol::Datamatrix) {
            Gs1Symbol::Datamatrix => {
                crate::cmd::gs1_symbol::datamatrix(&element, format, self.max_size, self.print)
            }
            Gs1Symbol::DlQr => match &self.dl_stem {
                Some(stem) => crate::cmd::gs1_symbol::qr(
                    &probe.to_digital_link(stem)?,
                    format,
                    self.max_size,
                    self.print,
                ),
                None => {
                    return Err(CliError::new(
                        "--symbol dl-qr needs --dl-stem (the QR holds the Digital Link URI)",
                    ));
                }
            },
        };
        rendered
            .map(drop)
            .map_err(|e| CliError::new(format!("--max-size: {e}; nothing was signed")))
    }

    /// Writes one unit's symbol image.
    fn write_symbol(
        &self,
        dir: &std::path::Path,
        serial: &str,
        element: &str,
        data: &Gs1Data,
    ) -> Result<()> {
        let format = self
            .image_format
            .unwrap_or(hallmark_label::symbol::ImageFormat::Png);
        let bytes = match self.symbol.unwrap_or(Gs1Symbol::Datamatrix) {
            Gs1Symbol::Datamatrix => {
                crate::cmd::gs1_symbol::datamatrix(element, format, self.max_size, self.print)?
            }
            Gs1Symbol::DlQr => {
                let stem = self.dl_stem.as_deref().ok_or_else(|| {
                    CliError::new(
                        "--symbol dl-qr needs --dl-stem (the QR holds the Digital Link URI)",
                    )
                })?;
                crate::cmd::gs1_symbol::qr(
                    &data.to_digital_link(stem)?,
                    format,
                    self.max_size,
                    self.print,
                )?
            }
        };
        crate::cmd::gs1_symbol::write(dir, serial, format, &bytes).map(drop)
    }
}

/// The longest serial of a pool (the widest symbol), or `None` for
/// hallmark's serials.
fn longest_serial(args: &SignArgs) -> Result<Option<String>> {
    let Some(path) = &args.serials else {
        return Ok(None);
    };
    let pool = hallmark_issuer::pool::SerialPool::read_file(path)?;
    Ok(pool.serials().iter().max_by_key(|s| s.len()).cloned())
}

/// A GTIN as given: 8, 12, 13 or 14 digits, padded to 14.
fn gtin14(gtin: &str) -> Result<String> {
    if !matches!(gtin.len(), 8 | 12 | 13 | 14) || !gtin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CliError::new(format!(
            "--gtin {gtin:?}: a GTIN is 8, 12, 13 or 14 digits"
        )));
    }
    Ok(format!("{gtin:0>14}"))
}

/// A date as YYMMDD (GS1 dates are 2000 to 2099 here).
fn yymmdd(flag: &str, date: Date) -> Result<String> {
    let text = date.to_string();
    let (y, rest) = text.split_at(4);
    if !y.starts_with("20") {
        return Err(CliError::new(format!(
            "{flag} {date}: GS1 dates are read as 2000 to 2099"
        )));
    }
    Ok(format!("{}{}", &y[2..], rest.replace('-', "")))
}

fn sign(args: SignArgs) -> Result<u8> {
    let gtin = gtin14(&args.gtin)?;
    let mut elements = vec![
        ("01".to_owned(), gtin.clone()),
        ("11".to_owned(), yymmdd("--prod-date", args.prod_date)?),
    ];
    if let Some(expiry) = args.expiry {
        if expiry < args.prod_date {
            return Err(CliError::new(format!(
                "--expiry {expiry} precedes --prod-date {}",
                args.prod_date
            )));
        }
        elements.push(("17".to_owned(), yymmdd("--expiry", expiry)?));
    }
    if let Some(lot) = &args.lot {
        elements.push(("10".to_owned(), lot.clone()));
    }
    for extra in &args.extra {
        let (ai, value) = extra.split_once('=').ok_or_else(|| {
            CliError::new(format!(
                "--ai {extra:?}: expected AI=VALUE, like 714=1234567"
            ))
        })?;
        if matches!(ai, "01" | "10" | "11" | "17" | "21" | "8030") {
            return Err(CliError::new(format!(
                "--ai {ai}: give it with its own flag (--gtin, --lot, --prod-date, --expiry), \
                 or not at all (21 and 8030 are hallmark's)"
            )));
        }
        elements.push((ai.to_owned(), value.to_owned()));
    }
    let data = Gs1Data::from_elements(elements.iter().map(|(a, v)| (a.as_str(), v.as_str())))?;
    if matches!(args.format, Gs1Format::Dl) && args.dl_stem.is_none() {
        return Err(CliError::new("--format dl needs --dl-stem URL"));
    }
    if let Some(stem) = &args.dl_stem {
        // The stem is checked once, on the template, before anything is signed.
        let probe = Gs1Data::from_elements(
            data.elements()
                .chain([("21", "1"), ("8030", "A".repeat(90).as_str())]),
        )?;
        probe.to_digital_link(stem)?;
    }
    let job = Job {
        data,
        gtin: gtin.clone(),
        lot: args.lot.clone().unwrap_or_default(),
        prod_date: args.prod_date,
        expiry: args.expiry,
        format: Some(args.format),
        dl_stem: args.dl_stem.clone(),
        symbol_dir: args.symbol_dir.clone(),
        symbol: Some(args.symbol),
        image_format: Some(args.image_format),
        max_size: args.max_size,
        print: crate::cmd::mint::Print::from_args(args.module_px, args.module_mm, args.dpi)?,
    };
    job.check_symbol_size(longest_serial(&args)?.as_deref())?;
    let files = MintFiles {
        claim_codes: args.claim_codes.clone(),
        claim_key: args.claim_key.clone(),
        trust: args.trust.clone(),
        ledger: args.ledger.clone(),
        cert: args.cert.clone(),
        new_ledger: args.new_ledger,
        out: args.out.clone(),
        force: args.force,
    };
    match (&args.serials, args.count) {
        (Some(pool), _) => crate::cmd::gs1_pool::sign_pool(
            args.key,
            args.signer,
            args.passphrase,
            job,
            pool,
            files,
        ),
        (None, Some(count)) => crate::cmd::mint::run(crate::cmd::mint::Args::for_gs1(
            args.key,
            args.signer,
            args.passphrase,
            job,
            count,
            args.batch_serials,
            files,
        )),
        (None, None) => Err(CliError::new("give --count N or --serials FILE")),
    }
}

/// Read GS1 scans and show their AIs, validated against the GS1 Barcode
/// Syntax Dictionary: AIM-prefixed element strings (]d2, ]Q3, ]C1, ]e0,
/// ]J1, GS separators), `^` element strings, bracketed text and Digital Link
/// URIs. Nothing is verified (use `hallmark verify`); exit 1 if any scan is
/// not valid GS1 data, naming the AI that is wrong.
///
/// Examples:
///   hallmark gs1 parse '(01)09506000134352(17)281130(10)L1(21)ABC'
///   hallmark gs1 parse 'https://id.example.com/01/09506000134352/10/L1/21/ABC?17=281130'
///   hallmark gs1 parse --json "$(cat scan.txt)"
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ParseArgs {
    /// The scans (in quotes: brackets and `?` are special to shells).
    #[arg(value_name = "SCAN", required = true)]
    scans: Vec<String>,
    /// One JSON object per scan.
    #[arg(long)]
    json: bool,
}

fn parse(args: ParseArgs) -> Result<u8> {
    let mut status = EXIT_OK;
    for scan in &args.scans {
        match Gs1Data::parse(scan) {
            Ok(data) => {
                if args.json {
                    let elements: Vec<_> = data.elements().map(|(a, v)| [a, v]).collect();
                    println!(
                        "{}",
                        serde_json::json!({ "input": scan, "elements": elements })
                    );
                } else {
                    for (ai, value) in data.elements() {
                        println!("({ai}) {value}");
                    }
                    println!(
                        "element string: {}",
                        data.to_element_string(Separator::Caret)
                    );
                }
            }
            Err(e) => {
                status = EXIT_NOT_GENUINE;
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({ "input": scan, "error": e.kind(), "message": e.to_string() })
                    );
                } else {
                    println!("{}: {e}", e.kind());
                }
            }
        }
    }
    Ok(status)
}

/// Refuses, before anything is signed, a GTIN the key may not sign for in
/// the trust store at `path`.
pub(crate) fn check_gtin_in_trust(
    store: &hallmark::TrustStore,
    kid: hallmark::KeyId,
    gtin: &str,
    path: &std::path::Path,
) -> Result<()> {
    if let Some(key) = store.get(kid)
        && !key.allows_gtin(gtin)
    {
        return Err(CliError::new(format!(
            "{}: key {} may sign GS1 units only for company prefixes {}; GTIN {gtin} is outside \
             them, so every unit would verify out-of-scope. Nothing was signed",
            path.display(),
            key.name(),
            key.gs1_prefixes().join(", ")
        )));
    }
    Ok(())
}
