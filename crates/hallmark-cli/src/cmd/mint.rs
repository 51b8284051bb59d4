//! `hallmark mint`

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use hallmark::{Date, Payload};
use hallmark_issuer::{BatchRequest, Ledger, mint};

use crate::cmd::parse_date;
use crate::{CliError, EXIT_OK, Result};

/// Mint a batch of codes for one part, lot and date, printed one per line.
///
/// Serials come from the key's ledger (by default KEY with the extension
/// .ledger, beside the key): the batch is recorded there and flushed to disk
/// before the first code is printed, so minting again never repeats a serial,
/// even after a crash. --serial-start continues a legacy numbering and is
/// refused if it would overlap serials the key already issued.
///
/// Example:
///   hallmark mint --key keys/acme.key --part DRN-2980 --lot L231212-01 \
///       --date 2023-12-12 --count 1000 > codes.txt
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The issuer's secret key file.
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
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
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: u64,
    /// Expiry date (YYYY-MM-DD), not before --date.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    expiry: Option<Date>,
    /// First serial of the batch (default: the next serial the ledger has not issued).
    #[arg(long, value_name = "N")]
    serial_start: Option<u64>,
    /// The serial ledger (default: KEY with the extension .ledger).
    #[arg(long, value_name = "PATH")]
    ledger: Option<PathBuf>,
    #[command(flatten)]
    passphrase: crate::passphrase::Source,
}

pub(crate) fn run(args: Args) -> Result<u8> {
    let key = crate::cmd::key::open(&args.key, &args.passphrase)?;
    if key.is_test_only() {
        eprintln!(
            "hallmark: warning: {} is a published TEST-ONLY key; codes it signs prove nothing",
            args.key.display()
        );
    }
    // Check every field before reserving serials.
    let template = |serial| -> Result<Payload> {
        let p = Payload::new(serial, &args.part, &args.lot, args.date)?;
        Ok(match args.expiry {
            Some(expiry) => p.with_expiry(expiry)?,
            None => p,
        })
    };
    mint(&key, &template(u64::MAX)?)?;

    let ledger_path = args
        .ledger
        .clone()
        .unwrap_or_else(|| args.key.with_extension("ledger"));
    let mut ledger = match Ledger::try_open(&ledger_path) {
        Err(hallmark_issuer::Error::LedgerBusy { .. }) => {
            eprintln!(
                "hallmark: waiting for another mint to release {}",
                ledger_path.display()
            );
            Ledger::open(&ledger_path)?
        }
        other => other?,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| CliError::new("the system clock is before 1970"))?
        .as_secs();
    let batch = ledger.reserve(&BatchRequest {
        kid: key.kid(),
        count: args.count,
        start: args.serial_start,
        part: &args.part,
        lot: &args.lot,
        date: args.date,
        expiry: args.expiry,
        time: now,
    })?;

    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    for serial in batch.serials() {
        let code = mint(&key, &template(serial)?)?;
        out.write_all(code.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let serials = batch.serials();
    eprintln!(
        "minted {} codes with key {} ({}): serials {}..={}, recorded in {}",
        batch.count,
        key.name(),
        key.kid(),
        serials.start(),
        serials.end(),
        ledger_path.display()
    );
    Ok(EXIT_OK)
}
