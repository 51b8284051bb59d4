//! `hallmark-bench`: hallmark side by side with the signed-token formats a user
//! would pick instead (JWT, COSE_Sign1 as in the EU digital COVID certificate,
//! PASETO v4.public), on the sample payload and in one run, with the raw
//! Ed25519 rates of the same run as the floor.
//!
//! ```sh
//! cargo run --release -p hallmark-bench              # full run, updates docs/PERFORMANCE.md
//! cargo run --release -p hallmark-bench -- --quick   # a short smoke run
//! cargo run --release -p hallmark-bench -- --no-write
//! ```
//!
//! Before timing anything it checks that every format's token verifies to the
//! sample claims and that forged, altered and foreign-key tokens fail, so a
//! broken verifier cannot be measured as a fast one; every timed verification
//! checks its result too.
#![forbid(unsafe_code)]

mod check;
mod formats;
mod machine;
mod report;
mod timing;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rayon::prelude::*;

use formats::{Cose, Format, Hallmark, HallmarkMintOne, Jwt, OTHER_SEED, Paseto, SEED, SERIAL};
use machine::{Machine, Versions};
use report::{Col, Report, Row, Size};
use timing::{Cell, Clock, Cycle, Plan, Work};

/// Errors end the run with a message; the bench is a tool, not a library.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Operations per call of a one-core measurement.
const CHUNK_ONE: usize = 64;
/// Operations per call of an all-cores measurement (split across threads).
const CHUNK_ALL: usize = 2048;
/// Distinct tokens (and raw messages) verified in a cycle.
const POOL: usize = 4096;

const USAGE: &str = "usage: hallmark-bench [--quick] [--no-write] [--doc PATH]

Measures hallmark against JWT, COSE_Sign1 (EU DCC style) and PASETO v4.public on
the sample payload, with the raw Ed25519 floor of the same run, prints a markdown
table and writes it into docs/PERFORMANCE.md between the hallmark-bench markers.

  --quick      a short run (seconds), figures only roughly right
  --no-write   print only, leave the document alone
  --doc PATH   the document to update (default: docs/PERFORMANCE.md of this workspace)";

struct Args {
    quick: bool,
    write: bool,
    doc: PathBuf,
}

fn parse_args() -> Result<Option<Args>, BoxError> {
    let mut args = Args {
        quick: false,
        write: true,
        doc: PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/PERFORMANCE.md"
        )),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => args.quick = true,
            "--no-write" => args.write = false,
            "--doc" => args.doc = it.next().ok_or("--doc needs a path")?.into(),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other}\n\n{USAGE}").into()),
        }
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hallmark-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), BoxError> {
    let Some(args) = parse_args()? else {
        return Ok(());
    };
    let plan = if args.quick { Plan::QUICK } else { Plan::FULL };

    // One key for everyone: the hallmark issuer key, dalek's (COSE), aws-lc's
    // (JWT) and ed25519-compact's (PASETO) all come from SEED. hallmark's and
    // JWT's public keys are compared here; pasetors checks that the public key
    // it is given belongs to the seed.
    let key = hallmark_issuer::SecretKey::from_seed("bench", &SEED)?;
    let other_key = hallmark_issuer::SecretKey::from_seed("other", &OTHER_SEED)?;
    let hallmark = Hallmark::new(&key)?;
    let mint_one = HallmarkMintOne(&hallmark);
    let jwt = Jwt::new(&SEED)?;
    let cose = Cose::new(&SEED);
    let paseto = Paseto::new(&SEED)?;
    let dalek = SigningKey::from_bytes(&SEED);
    if key.public_key().to_bytes() != dalek.verifying_key().to_bytes()
        || jwt.public_key() != dalek.verifying_key().to_bytes()
    {
        return Err("the formats do not share one key".into());
    }

    eprintln!("self-check: each format's token verifies; forged, altered and foreign tokens fail");
    let other_hallmark = Hallmark::new(&other_key)?;
    let formats: [(Row, &dyn Format, String); 5] = [
        (
            Row::Hallmark,
            &hallmark,
            check::self_check(&hallmark, &other_hallmark)?,
        ),
        (
            Row::HallmarkMintOne,
            &mint_one,
            check::self_check(&mint_one, &other_hallmark)?,
        ),
        (
            Row::Jwt,
            &jwt,
            check::self_check(&jwt, &Jwt::new(&OTHER_SEED)?)?,
        ),
        (
            Row::Cose,
            &cose,
            check::self_check(&cose, &Cose::new(&OTHER_SEED))?,
        ),
        (
            Row::Paseto,
            &paseto,
            check::self_check(&paseto, &Paseto::new(&OTHER_SEED)?)?,
        ),
    ];
    let mut sizes = HashMap::new();
    let mut samples = Vec::new();
    for (row, _, token) in &formats {
        sizes.insert(*row, Size::of(token)?);
        if *row != Row::HallmarkMintOne {
            samples.push((*row, token.clone()));
        }
    }

    eprintln!("preparing {POOL} tokens per format and {POOL} raw signatures");
    let raw = RawPool::new(&dalek)?;
    let mut pools: HashMap<Row, Vec<String>> = HashMap::new();
    for (row, format, _) in &formats {
        if *row == Row::HallmarkMintOne {
            continue; // verifies exactly as Row::Hallmark
        }
        let tokens = (0..POOL as u64)
            .into_par_iter()
            .map(|i| format.sign(SERIAL + i))
            .collect::<Result<Vec<_>, _>>()?;
        pools.insert(*row, tokens);
    }

    let mut cells = raw.cells(&dalek)?;
    for (row, format, _) in &formats {
        cells.push(cell(*row, Col::Sign1, sign_one(*format)));
        cells.push(cell(*row, Col::Sign2, sign_all(*format)));
        let Some(pool) = pools.get(row) else { continue };
        cells.push(cell(
            *row,
            Col::Verify1,
            verify_one(*format, Cycle::new(pool, CHUNK_ONE)?),
        ));
        let bulk = if *row == Row::Hallmark {
            hallmark_bulk(&hallmark, Cycle::new(pool, CHUNK_ALL)?)
        } else {
            verify_all(*format, Cycle::new(pool, CHUNK_ALL)?)
        };
        cells.push(cell(*row, Col::Verify2, bulk));
    }
    // Where hallmark's verification time goes besides the signature: the strict
    // decoding (text normalisation, canonical base32, deterministic CBOR).
    if let Some(pool) = pools.get(&Row::Hallmark) {
        let mut codes = Cycle::new(pool, CHUNK_ONE)?;
        cells.push(cell(
            Row::HallmarkDecode,
            Col::Verify1,
            Box::new(move || {
                for code in codes.next_chunk() {
                    black_box(hallmark::UnverifiedCode::decode(code)?);
                }
                Ok(CHUNK_ONE as u64)
            }),
        ));
    }
    eprintln!(
        "timing {} cells: {} ms warm-up, {} rounds of {} ms each (about {} s)",
        cells.len(),
        plan.warm_up.as_millis(),
        plan.repetitions,
        plan.repetition.as_millis(),
        cells.len() as u128
            * (plan.warm_up.as_millis() + plan.repetitions as u128 * plan.repetition.as_millis())
            / 1000
    );
    let rates: HashMap<(Row, Col), f64> = timing::run(cells, plan, |round, rounds| {
        eprintln!("  round {round}/{rounds} done")
    })?
    .into_iter()
    .collect();

    let machine = Machine::read();
    let versions = Versions::from_lock();
    let when = now_utc()?;
    let report = Report {
        rates: &rates,
        sizes: &sizes,
        samples: &samples,
        machine: &machine,
        versions: &versions,
        when: &when,
        plan,
        quick: args.quick,
    };
    let section = report.markdown();
    println!("{section}");
    if args.write {
        report::write_section(&args.doc, &section)?;
        eprintln!("updated {}", args.doc.display());
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM UTC` now.
fn now_utc() -> Result<String, BoxError> {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let date = hallmark::Date::from_days(secs / 86_400).ok_or("clock out of range")?;
    let minute = secs % 86_400 / 60;
    Ok(format!("{date} {:02}:{:02} UTC", minute / 60, minute % 60))
}

// ------------------------------------------------------------ format cells

/// A cell of the table: one-core columns count against the measuring thread's
/// CPU time, all-cores columns against wall-clock time (see `timing`).
fn cell<'a>(row: Row, col: Col, work: Work<'a>) -> Cell<'a, (Row, Col)> {
    let clock = match col {
        Col::Sign1 | Col::Verify1 => Clock::ThreadCpu,
        Col::Sign2 | Col::Verify2 => Clock::Wall,
    };
    Cell::new((row, col), clock, work)
}

/// A counter of serials handed out to sign, so no token is signed twice.
struct Serials(u64);

impl Serials {
    fn take(&mut self, n: usize) -> std::ops::Range<u64> {
        let start = self.0;
        self.0 += n as u64;
        start..self.0
    }
}

fn sign_one<'a>(format: &'a dyn Format) -> Work<'a> {
    let mut serials = Serials(SERIAL);
    Box::new(move || {
        for serial in serials.take(CHUNK_ONE) {
            black_box(format.sign(serial)?);
        }
        Ok(CHUNK_ONE as u64)
    })
}

fn sign_all<'a>(format: &'a dyn Format) -> Work<'a> {
    let mut serials = Serials(SERIAL);
    Box::new(move || {
        serials.take(CHUNK_ALL).into_par_iter().try_for_each(|s| {
            black_box(format.sign(s)?);
            Ok::<_, BoxError>(())
        })?;
        Ok(CHUNK_ALL as u64)
    })
}

fn verify_one<'a>(format: &'a dyn Format, mut tokens: Cycle<'a, String>) -> Work<'a> {
    Box::new(move || {
        for token in tokens.next_chunk() {
            black_box(format.verify(token)?);
        }
        Ok(CHUNK_ONE as u64)
    })
}

fn verify_all<'a>(format: &'a dyn Format, mut tokens: Cycle<'a, String>) -> Work<'a> {
    Box::new(move || {
        tokens.next_chunk().par_iter().try_for_each(|token| {
            black_box(format.verify(token)?);
            Ok::<_, BoxError>(())
        })?;
        Ok(CHUNK_ALL as u64)
    })
}

/// hallmark's bulk path: the library's `Verifier::verify_batch` on slices of
/// 512 codes, slices spread over all cores (as `hallmark verify --input`); from
/// `hallmark::BUILD_TABLES_FROM` codes a slice uses the key's tables of
/// multiples (the same signature equation as `verify_strict`, FORMAT.md §16).
fn hallmark_bulk<'a>(hallmark: &'a Hallmark<'_>, mut codes: Cycle<'a, String>) -> Work<'a> {
    Box::new(move || {
        let verifier = hallmark.verifier();
        codes.next_chunk().par_chunks(512).try_for_each(|chunk| {
            let verdicts = verifier.verify_batch(chunk.iter().map(String::as_str));
            if verdicts.len() != chunk.len() || !verdicts.iter().all(|v| v.is_genuine()) {
                return Err(BoxError::from("hallmark bulk verification refused a code"));
            }
            black_box(verdicts);
            Ok(())
        })?;
        Ok(CHUNK_ALL as u64)
    })
}

// -------------------------------------------------------------- raw floor

/// A 55-byte message (tag, version, kid and a 33-byte payload: the size of a
/// sample code's signed bytes) that differs with `i`.
fn message(i: u64) -> [u8; 55] {
    let mut m = [0x42u8; 55];
    for (dst, src) in m.iter_mut().skip(22).zip(i.to_be_bytes()) {
        *dst = src;
    }
    m
}

/// Messages and signatures for the raw verification floors.
struct RawPool {
    messages: Vec<[u8; 55]>,
    signatures: Vec<Signature>,
    keys: Vec<VerifyingKey>,
    compact_signatures: Vec<ed25519_compact::Signature>,
}

impl RawPool {
    fn new(key: &SigningKey) -> Result<RawPool, BoxError> {
        let messages: Vec<[u8; 55]> = (0..POOL as u64).map(message).collect();
        let signatures: Vec<Signature> = messages.par_iter().map(|m| key.sign(m)).collect();
        let compact_signatures = signatures
            .iter()
            .map(|s| ed25519_compact::Signature::from_slice(&s.to_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("ed25519-compact: {e:?}"))?;
        Ok(RawPool {
            messages,
            keys: vec![key.verifying_key(); POOL],
            signatures,
            compact_signatures,
        })
    }

    /// The floor cells, and the peers' backends measured raw on the same
    /// messages (Ed25519 is deterministic: one set of signatures serves all).
    fn cells<'a>(&'a self, key: &'a SigningKey) -> Result<Vec<Cell<'a, (Row, Col)>>, BoxError> {
        let vk = key.verifying_key();
        let mut cells = Vec::new();

        let mut counter = 0u64;
        cells.push(cell(
            Row::Dalek,
            Col::Sign1,
            Box::new(move || {
                for i in counter..counter + CHUNK_ONE as u64 {
                    black_box(key.sign(&message(i)));
                }
                counter += CHUNK_ONE as u64;
                Ok(CHUNK_ONE as u64)
            }) as Work<'a>,
        ));
        let mut counter = 0u64;
        cells.push(cell(
            Row::Dalek,
            Col::Sign2,
            Box::new(move || {
                (counter..counter + CHUNK_ALL as u64)
                    .into_par_iter()
                    .for_each(|i| {
                        black_box(key.sign(&message(i)));
                    });
                counter += CHUNK_ALL as u64;
                Ok(CHUNK_ALL as u64)
            }),
        ));

        let pairs = |n| -> Result<_, BoxError> {
            Ok((
                Cycle::new(&self.messages, n)?,
                Cycle::new(&self.signatures, n)?,
            ))
        };
        let (mut m, mut s) = pairs(CHUNK_ONE)?;
        cells.push(cell(
            Row::Dalek,
            Col::Verify1,
            Box::new(move || {
                for (m, s) in m.next_chunk().iter().zip(s.next_chunk()) {
                    vk.verify_strict(m, s)?;
                }
                Ok(CHUNK_ONE as u64)
            }),
        ));
        let (mut m, mut s) = pairs(CHUNK_ALL)?;
        cells.push(cell(
            Row::Dalek,
            Col::Verify2,
            Box::new(move || {
                m.next_chunk()
                    .par_iter()
                    .zip(s.next_chunk())
                    .try_for_each(|(m, s)| vk.verify_strict(m, s))?;
                Ok(CHUNK_ALL as u64)
            }),
        ));

        for (row, batch) in [(Row::Batch64, 64), (Row::Batch256, 256)] {
            let (mut m, mut s) = pairs(batch)?;
            let mut k = Cycle::new(&self.keys, batch)?;
            cells.push(cell(
                row,
                Col::Verify1,
                Box::new(move || {
                    let refs: Vec<&[u8]> = m.next_chunk().iter().map(|m| m.as_slice()).collect();
                    ed25519_dalek::verify_batch(&refs, s.next_chunk(), k.next_chunk())?;
                    Ok(batch as u64)
                }),
            ));
            let (mut m, mut s) = pairs(CHUNK_ALL)?;
            let keys = self.keys.get(..batch).ok_or("key pool too small")?;
            cells.push(cell(
                row,
                Col::Verify2,
                Box::new(move || {
                    m.next_chunk()
                        .par_chunks(batch)
                        .zip(s.next_chunk().par_chunks(batch))
                        .try_for_each(|(m, s)| {
                            let refs: Vec<&[u8]> = m.iter().map(|m| m.as_slice()).collect();
                            ed25519_dalek::verify_batch(&refs, s, keys)
                        })?;
                    Ok(CHUNK_ALL as u64)
                }),
            ));
        }

        // JWT's backend: aws-lc-rs, one core.
        let aws = aws_lc_rs::signature::Ed25519KeyPair::from_seed_unchecked(&SEED)?;
        let aws_public = vk.to_bytes();
        let mut counter = 0u64;
        cells.push(cell(
            Row::AwsLc,
            Col::Sign1,
            Box::new(move || {
                for i in counter..counter + CHUNK_ONE as u64 {
                    black_box(aws.sign(&message(i)));
                }
                counter += CHUNK_ONE as u64;
                Ok(CHUNK_ONE as u64)
            }),
        ));
        let (mut m, mut s) = pairs(CHUNK_ONE)?;
        cells.push(cell(
            Row::AwsLc,
            Col::Verify1,
            Box::new(move || {
                let public = aws_lc_rs::signature::UnparsedPublicKey::new(
                    &aws_lc_rs::signature::ED25519,
                    &aws_public,
                );
                for (m, s) in m.next_chunk().iter().zip(s.next_chunk()) {
                    public
                        .verify(m, &s.to_bytes())
                        .map_err(|_| "aws-lc-rs refused a good signature")?;
                }
                Ok(CHUNK_ONE as u64)
            }),
        ));

        // PASETO's backend: ed25519-compact, one core.
        let compact = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(SEED));
        let compact_public = compact.pk;
        let mut counter = 0u64;
        cells.push(cell(
            Row::Compact,
            Col::Sign1,
            Box::new(move || {
                for i in counter..counter + CHUNK_ONE as u64 {
                    black_box(compact.sk.sign(message(i), None));
                }
                counter += CHUNK_ONE as u64;
                Ok(CHUNK_ONE as u64)
            }),
        ));
        let mut m = Cycle::new(&self.messages, CHUNK_ONE)?;
        let mut s = Cycle::new(&self.compact_signatures, CHUNK_ONE)?;
        cells.push(cell(
            Row::Compact,
            Col::Verify1,
            Box::new(move || {
                for (m, s) in m.next_chunk().iter().zip(s.next_chunk()) {
                    compact_public
                        .verify(m, s)
                        .map_err(|_| "ed25519-compact refused a good signature")?;
                }
                Ok(CHUNK_ONE as u64)
            }),
        ));
        Ok(cells)
    }
}
