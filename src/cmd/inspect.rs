//! `hallmark inspect`

use hallmark::UnverifiedCode;
use serde_json::json;

use hallmark::report::PayloadReport;

use crate::output::hex_encode;
use crate::{EXIT_NOT_GENUINE, EXIT_OK, Result};

/// Show what a code claims, WITHOUT verifying it.
///
/// The output is marked UNVERIFIED: anyone can make a code that decodes. Use
/// `hallmark verify` to know whether it is genuine. Exits 1 if the code does not
/// even decode.
///
/// Example:
///   hallmark inspect --json 01ABC...
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// The code (any accepted spelling, or a verification URL).
    #[arg(value_name = "CODE")]
    code: String,
}

pub(crate) fn run(args: Args) -> Result<u8> {
    let code = match UnverifiedCode::decode(&args.code) {
        Ok(code) => code,
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    json!({"verified": false, "verdict": e.verdict(), "error": e.kind(), "reason": e.to_string()})
                );
            } else {
                eprintln!("hallmark: {}: {e}", e.verdict());
            }
            return Ok(EXIT_NOT_GENUINE);
        }
    };
    let p = code.payload();
    if args.json {
        let value = json!({
            "verified": false,
            "status": "UNVERIFIED",
            "code": code.to_text(),
            "version": hallmark::VERSION,
            "kid": code.kid().to_string(),
            "payload": PayloadReport::from(p),
            "signature": hex_encode(code.signature()),
        });
        println!("{value}");
    } else {
        println!(
            "UNVERIFIED: what this code claims; its signature has NOT been checked (use `hallmark verify`)."
        );
        println!("code:      {}", code.to_text());
        println!("version:   {}", hallmark::VERSION);
        println!("kid:       {}", code.kid());
        println!("serial:    {}", p.serial());
        println!("part:      {}", p.part());
        println!("lot:       {}", p.lot());
        println!("date:      {}", p.date());
        println!(
            "expiry:    {}",
            p.expiry().map_or("none".to_owned(), |d| d.to_string())
        );
        for e in p.extensions() {
            println!("ext {:<5}  {} (CBOR)", e.key(), hex_encode(&e.value_cbor()));
        }
        println!("signature: {}", hex_encode(code.signature()));
    }
    Ok(EXIT_OK)
}
