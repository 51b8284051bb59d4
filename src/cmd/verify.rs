//! `hallmark verify`

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use hallmark::aggregation::{AggregationManifest, AggregationSet, Child, UnitId};
use hallmark::report::Report;
use hallmark::{Date, RevocationSnapshot, TrustStore, Verdict, Verifier};
use rayon::prelude::*;
use serde_json::{Value, json};

use crate::cmd::trust::{TRUST_ENV, plural};
use crate::cmd::{load_trust, now_secs, parse_date, parse_duration, today};
use crate::output::{echo, payload_text};
use crate::{CliError, EXIT_NOT_GENUINE, EXIT_OK, Result};
use hallmark_state::input::Scans;
use hallmark_state::journal::{Journal, Sighting};
use hallmark_state::offline::{self, FirstSeen, Judged, OfflineError, Scan, Session};

/// Codes verified per step (on all cores); bounds memory whatever the input size.
const CHUNK: usize = 4096;

/// The verdict of a scanned unit the --expect manifests do not list.
const NOT_IN_AGGREGATION: &str = "not-in-aggregation";

/// `--max-age`: seconds, and the unit it was given in (to answer in it).
#[derive(Clone, Copy, Debug)]
struct MaxAge {
    secs: u64,
    /// Seconds per unit, and the unit's name.
    unit: (u64, &'static str),
    /// The number given.
    given: u64,
}

impl MaxAge {
    /// Parses as [`parse_duration`] does, keeping the unit.
    fn parse(s: &str) -> Result<MaxAge, String> {
        let secs = parse_duration(s)?;
        let unit = match s.trim_start_matches(|c: char| c.is_ascii_digit()) {
            "m" => (60, "minute"),
            "h" => (3600, "hour"),
            "d" => (86_400, "day"),
            "w" => (604_800, "week"),
            _ => (1, "second"),
        };
        Ok(MaxAge {
            secs,
            unit,
            given: secs / unit.0,
        })
    }

    /// `9 days old, older than --max-age 7d`: an age in this unit (whole
    /// units, rounded down).
    fn older(&self, age: u64) -> String {
        let (scale, name) = self.unit;
        let short = match name {
            "second" => "s",
            "minute" => "m",
            "hour" => "h",
            "day" => "d",
            _ => "w",
        };
        format!(
            "{} old, older than --max-age {}{short}",
            plural(usize::try_from(age / scale).unwrap_or(usize::MAX), name),
            self.given
        )
    }
}

/// Verify codes offline against a trust store.
///
/// Verifies the CODEs given, or the codes in --input FILE, or one code per line
/// from stdin (blank lines are skipped), or the QR codes found in --image photos.
/// CSV input (`hallmark mint --format csv`): --column NAME|N picks the field
/// holding the code; a file whose first line is hallmark's own CSV header
/// (`serial,code,...`) is read by its `code` column without --column.
/// A code may be in any case, grouped with `-` or spaces, prefixed by a scanner's
/// symbology identifier (e.g. `]Q1`), or a verification URL ending in the code.
/// Prints one line per code, in input order: the verdict, the code, and the
/// payload or the reason; a summary goes to stderr. Verification runs on all
/// cores; a progress bar shows on a terminal.
///
/// Verdicts:
///   genuine        signature valid, key valid on the code's date, not revoked
///   stale          genuine, but the --revocations data is older than --max-age
///   not-in-aggregation  (--expect) a unit no --expect manifest lists
///   malformed      not a well-formed code
///   unknown-key    no trusted key has the code's key id
///   bad-signature  altered or forged
///   key-not-valid  the key may not sign for the code's date of manufacture
///                  (outside its trust-store or certificate window), is a
///                  revocation signer or a root (which sign no codes), or is
///                  not certified for codes
///   out-of-scope   a certified key signed a part, lot or serial outside its
///                  certificate's constraints
///   expired        past the code's expiry date
///   revoked        listed in the revocation snapshot or bundle (with reason and
///                  date), or from a key the bundle lists as compromised and in
///                  no batch receipted before the compromise (key-compromised)
///   duplicate      genuine, but its serial was seen earlier in this input or in
///                  the --seen journal (with when and where first seen)
///
/// Aggregations (`hallmark aggregate`): --aggregation PALLET.agg [--aggregation
/// CASE.agg ...] verifies a signed manifest (its signer needs the aggregation
/// usage; nested manifests are given beside it) and then every child it holds,
/// by exactly the single-code rules (bundle, revocations, scope, expiry,
/// duplicates, --seen: every child is journaled), on all cores. A code or GS1
/// parent is verified too and printed first, its line labelled `parent`. A
/// refused manifest set is exit status 2. Then one summary line (parent,
/// signer, business step, time, counts) and a spot-check line go to stderr
/// (with --json also one final object {"aggregation": {...}} on stdout); each
/// child's JSON has `manifest` {digest, position}. What a manifest proves: the
/// signer stated the parent held these children, each genuine on its own.
/// What it cannot: that the box still holds them. Open it and find the
/// --spot-check K children named (chosen with OS randomness, so a packer
/// cannot predict them).
///
/// --expect P.agg [--expect CASE.agg ...] while scanning units: a unit the
/// manifests do not list (by unit identity: key id and serial, or GTIN and
/// serial) gets the verdict not-in-aggregation (its verifier verdict stays in
/// JSON as underlying_verdict). At the end, every child never scanned is
/// printed on stdout, one `never-scanned` line each (with --json, one final
/// object {"never_scanned": [{unit, code, manifest}, ...]}), and their count
/// on stderr.
///
/// Trust store: --trust FILE, else $HALLMARK_TRUST, else the default trust
/// store $XDG_CONFIG_HOME/hallmark/trust.toml, else
/// ~/.config/hallmark/trust.toml (`hallmark trust add KEY.pub` without
/// --trust writes there).
///
/// With --json, a code that decodes but is not accepted on its signature
/// (bad-signature, unknown-key, key-not-valid, out-of-scope) has what it
/// claims in `unverified` {kid, payload, note}: NOT verified, for incident
/// reports only; `payload` stays null (it is only ever verified data).
///
/// Exit status: 0 every code genuine (or stale), 1 any other verdict (or no codes
/// given), 2 usage or I/O error, or revocation data or a trust bundle refused
/// (bad signature, not from a revocation signer or certified registry key, or
/// older than a snapshot or bundle already seen).
///
/// Examples:
///   hallmark verify 0630HCDQ...            (the default trust store)
///   hallmark verify --trust trust.toml 0630HCDQ...
///   hallmark verify --input labels.csv --column code
///   hallmark verify --trust trust.toml --json --input scanned.txt \
///       --revocations revocations.bin --seen seen.journal --location "Dock 4"
///   hallmark verify --trust trust.toml --image label.jpg
///   scanner-photo | hallmark verify --image -
///   hallmark verify --trust roots.toml --bundle bundle.bin --input scanned.txt
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The trust store (TOML) listing the issuer keys to accept (default:
    /// $HALLMARK_TRUST, else $XDG_CONFIG_HOME/hallmark/trust.toml, else
    /// ~/.config/hallmark/trust.toml).
    #[arg(long, value_name = "FILE", env = TRUST_ENV)]
    trust: Option<PathBuf>,
    /// Print one JSON object per code: verdict, error, detail, code, kid,
    /// key_name, payload, revocation (the fields of the service's API), and
    /// line, input, reason, first_seen ({line} in this input, or {time,
    /// time_rfc3339, location} from --seen: time in seconds since 1970,
    /// time_rfc3339 the same in RFC 3339 UTC), source, unverified (what a
    /// refused code claims, NOT verified: {kid, payload, note}, else null);
    /// `key` is the old name of key_name, kept for one release.
    #[arg(long)]
    json: bool,
    /// Read codes from FILE, one per line (default: stdin when no CODE is given);
    /// a UTF-8 byte order mark at the start is ignored.
    #[arg(long, value_name = "FILE", conflicts_with = "codes")]
    input: Option<PathBuf>,
    /// Read --input (or stdin) as CSV, the code in column NAME (a field of
    /// the header, the first line) or N (1-based; the first line is still
    /// the header, and skipped), as `hallmark mint --format csv` writes it
    /// (`--column code`, or `--column url`).
    #[arg(long, value_name = "NAME|N", conflicts_with_all = ["codes", "image"])]
    column: Option<String>,
    /// Find and verify the QR codes in these photos (PNG or JPEG); `-` reads
    /// one photo from stdin (at most as large as a photo file may be).
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["codes", "input"])]
    image: Vec<PathBuf>,
    /// A signed revocation snapshot (from `hallmark revocations build` or `pull`).
    #[arg(long, value_name = "FILE", conflicts_with = "bundle")]
    revocations: Option<PathBuf>,
    /// A signed trust bundle (from `hallmark trust pull` or `trust bundle
    /// build`): line certificates, receipted batch manifests, revocations and
    /// compromised keys. --trust then needs only the root keys. Rollback,
    /// staleness (--max-age) and --min-sequence as for --revocations.
    #[arg(long, value_name = "FILE")]
    bundle: Option<PathBuf>,
    /// A line certificate (from `hallmark cert issue`) to trust besides the
    /// trust store's; it must verify against the store's roots. Repeat for
    /// several.
    #[arg(long = "cert", value_name = "FILE")]
    certs: Vec<PathBuf>,
    /// Revocation data older than this is stale: 30m, 12h, 7d, 2w (default 7d).
    #[arg(long, value_name = "AGE", value_parser = MaxAge::parse, default_value = "7d")]
    max_age: MaxAge,
    /// Where the highest snapshot sequence seen is kept, to refuse rollbacks
    /// (default: $HALLMARK_STATE_DIR, else $XDG_STATE_HOME/hallmark, else
    /// ~/.local/state/hallmark).
    /// Deleting this state (or using another directory) lets an older
    /// snapshot be accepted again: pin a floor with --min-sequence.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Refuse a revocation snapshot whose sequence is below N, whatever the
    /// state directory holds (a floor that survives a deleted state file).
    #[arg(long, value_name = "N", default_value_t = 0)]
    min_sequence: u64,
    /// A journal of verified serials kept across runs: codes seen before are duplicates.
    /// A verdict is printed only once its sighting is fsynced in the journal; if the
    /// journal cannot be written (e.g. a full disk), verify stops with exit status 2
    /// and prints no verdict it could not record.
    #[arg(long, value_name = "PATH")]
    seen: Option<PathBuf>,
    /// Where this run happens, recorded in the --seen journal (e.g. "Dock 4").
    #[arg(long, value_name = "LABEL", requires = "seen")]
    location: Option<String>,
    /// Check expiry as of this date (YYYY-MM-DD) instead of today (UTC).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    today: Option<Date>,
    /// Verify a signed aggregation manifest (from `hallmark aggregate`) and
    /// then every child it holds by the single-code rules; repeat for the
    /// nested manifests (the cases of a pallet). See "Aggregations" above.
    #[arg(long = "aggregation", value_name = "FILE",
          conflicts_with_all = ["codes", "input", "image", "expect"])]
    aggregation: Vec<PathBuf>,
    /// With --aggregation: name K children chosen at random (OS randomness)
    /// for a physical spot check; 0 disables.
    #[arg(long, value_name = "K", default_value_t = 5, requires = "aggregation")]
    spot_check: usize,
    /// While scanning units: flag every unit not among the children of these
    /// signed manifests (not-in-aggregation, exit 1) and report the children
    /// never scanned. Repeat for nested manifests.
    #[arg(long = "expect", value_name = "FILE")]
    expect: Vec<PathBuf>,
    /// Codes to verify; none means --input, --image or stdin.
    #[arg(value_name = "CODE")]
    codes: Vec<String>,
}

/// Loads, verifies and rollback-checks a snapshot ([`offline::load_snapshot`]).
fn load_snapshot(args: &Args, trust: &TrustStore, path: &Path) -> Result<RevocationSnapshot> {
    let bytes = crate::read_bounded(
        path,
        hallmark::MAX_SNAPSHOT_BYTES,
        "the revocation snapshot",
    )?;
    let snapshot =
        offline::load_snapshot(&bytes, trust, args.state_dir.as_deref(), args.min_sequence)
            .map_err(|e| match e {
                OfflineError::SnapshotRefused(_) => CliError::about(path.display(), e),
                e => e.into(),
            })?;
    Ok(snapshot)
}

/// Loads, verifies and rollback-checks a trust bundle ([`offline::load_bundle`])
/// and says on stderr what it holds and how long loading took.
fn load_bundle(args: &Args, trust: &TrustStore, path: &Path) -> Result<hallmark::VerifiedBundle> {
    let started = std::time::Instant::now();
    let bytes = crate::read_bounded(path, hallmark::MAX_BUNDLE_BYTES, "the trust bundle")?;
    let bundle = offline::load_bundle(&bytes, trust, args.state_dir.as_deref(), args.min_sequence)
        .map_err(|e| match e {
            OfflineError::BundleRefused(_) => CliError::about(path.display(), e),
            e => e.into(),
        })?;
    let registry = bundle.registry();
    eprintln!(
        "trust bundle {} sequence {} from {}: {}, {} ({}), {}, {}; loaded in {} ms",
        path.display(),
        bundle.sequence,
        bundle.signer,
        plural(bundle.certificates, "certificate"),
        plural(bundle.manifests, "receipted manifest"),
        plural(
            usize::try_from(registry.serials()).unwrap_or(usize::MAX),
            "serial"
        ),
        plural(bundle.revocations().revocations().len(), "revocation"),
        plural(registry.compromised_keys(), "compromised key"),
        started.elapsed().as_millis()
    );
    Ok(bundle)
}

/// One code to verify: the scan, and for images where it came from.
struct Item {
    scan: Scan,
    /// Where it came from, for images: "FILE#n".
    source: Option<String>,
    /// For a manifest's child: `{"digest": HEX, "position": N}` (1-based
    /// position in the manifest whose digest it is).
    manifest: Option<Value>,
    /// `parent` for a manifest's parent.
    role: Option<&'static str>,
}

impl Item {
    fn new(scan: Scan, source: Option<String>) -> Item {
        Item {
            scan,
            source,
            manifest: None,
            role: None,
        }
    }
}

/// `--expect`: the units the manifests list, and which were scanned.
struct Expect {
    /// Unit → leaf index.
    units: HashMap<UnitId, usize>,
    scanned: Vec<bool>,
}

impl Borrow<Scan> for Item {
    fn borrow(&self) -> &Scan {
        &self.scan
    }
}

struct Run<'a, W: Write> {
    session: Session<'a>,
    json: bool,
    out: W,
    counts: BTreeMap<&'static str, usize>,
    /// Whether every code so far was accepted (genuine or stale).
    all_accepted: bool,
    /// `--expect`'s manifests.
    expect: Option<Expect>,
}

impl<W: Write> Run<'_, W> {
    /// Judges a chunk ([`Session::verify_chunk`] returns its verdicts only
    /// once the chunk's sightings are fsynced in the --seen journal), then
    /// renders it on all cores and prints it.
    fn chunk(&mut self, items: &[Item]) -> Result<()> {
        let judged = self.session.verify_chunk(items).map_err(|e| match e {
            OfflineError::NotRecorded { from_line, source } => CliError::new(format!(
                "{source}: the sightings could not be recorded, so no verdict from line {from_line} on was printed"
            )),
            e => e.into(),
        })?;
        let json = self.json;
        // With --expect: each scan's leaf index, or None for a unit the
        // manifests do not list (compared by unit identity, not text).
        let outside: Vec<Option<Option<usize>>> = match &self.expect {
            Some(expect) => items
                .par_iter()
                .map(|item| {
                    let unit = Child::from_scan(&item.scan.text)
                        .ok()
                        .and_then(|c| c.unit().ok().flatten());
                    Some(unit.and_then(|u| expect.units.get(&u).copied()))
                })
                .collect(),
            None => vec![None; items.len()],
        };
        let lines: Vec<String> = items
            .par_iter()
            .zip(judged.par_iter())
            .zip(outside.par_iter())
            .map(|((item, judged), found)| render(item, judged, json, matches!(found, Some(None))))
            .collect();
        for (judged, found) in judged.iter().zip(&outside) {
            let kind = judged.kind();
            match found {
                Some(None) => {
                    self.all_accepted = false;
                    *self.counts.entry(NOT_IN_AGGREGATION).or_default() += 1;
                    continue;
                }
                Some(Some(i)) => {
                    // A forgery of a listed unit does not count as scanning it.
                    if !matches!(kind.as_str(), "bad-signature" | "malformed" | "unknown-key")
                        && let Some(s) = self.expect.as_mut().and_then(|e| e.scanned.get_mut(*i))
                    {
                        *s = true;
                    }
                }
                None => {}
            }
            self.all_accepted &= kind.is_accepted();
            *self.counts.entry(kind.as_str()).or_default() += 1;
        }
        self.out.write_all(lines.concat().as_bytes())?;
        Ok(())
    }
}

/// One output line (with its newline).
///
/// JSON: the verifier's [`Report`] (the fields the service's API also
/// uses), every field present (null when it does not apply), plus the
/// CLI's own `line`, `input`, `reason`, `source`, `first_seen`, and, for one
/// release, `key` (the old name of `key_name`; CHANGELOG.md).
fn render(item: &Item, judged: &Judged, json: bool, outside: bool) -> String {
    let Scan { line, text, len } = &item.scan;
    let input = echo(text, *len);
    let mut reason = reason(&judged.verdict, judged.first_seen.as_ref());
    let underlying = judged.kind().as_str();
    if outside {
        reason =
            format!("not a child of the --expect manifests (verifier: {underlying}: {reason})");
    }
    if !json {
        // The text line needs only the canonical code: no report is built.
        let word = if outside {
            NOT_IN_AGGREGATION
        } else {
            underlying
        };
        let shown = hallmark::report::canonical_code(&judged.verdict, text).unwrap_or(input);
        let role = item.role.map(|r| format!("{r}\t")).unwrap_or_default();
        return format!("{role}{word}\t{shown}\t{reason}\n");
    }
    let report = Report::new(&judged.verdict, text).with_verdict(judged.kind());
    let mut value = match serde_json::to_value(&report) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    for field in Report::FIELDS {
        value.entry(field).or_insert(Value::Null);
    }
    let key = value.get("key_name").cloned().unwrap_or(Value::Null);
    value.insert("key".to_owned(), key);
    value.insert("line".to_owned(), json!(line));
    value.insert("input".to_owned(), json!(input));
    value.insert("reason".to_owned(), json!(reason));
    if let Some(source) = &item.source {
        value.insert("source".to_owned(), json!(source));
    }
    if let Some(manifest) = &item.manifest {
        value.insert("manifest".to_owned(), manifest.clone());
    }
    if let Some(role) = item.role {
        value.insert("role".to_owned(), json!(role));
    }
    value.insert("unverified".to_owned(), unverified(&judged.verdict, text));
    if outside {
        value.insert("verdict".to_owned(), json!(NOT_IN_AGGREGATION));
        value.insert("underlying_verdict".to_owned(), json!(underlying));
    }
    match &judged.first_seen {
        Some(FirstSeen::Line(l)) => {
            value.insert("first_seen".to_owned(), json!({"line": l}));
        }
        Some(FirstSeen::Journal(Sighting { time, location })) => {
            value.insert(
                "first_seen".to_owned(),
                json!({"time": time, "time_rfc3339": hallmark::rfc3339(*time), "location": location}),
            );
        }
        None => {}
    }
    format!("{}\n", Value::Object(value))
}

fn reason(verdict: &Verdict, first_seen: Option<&FirstSeen>) -> String {
    let about =
        |v: &hallmark::Verified| format!("{} key={}", payload_text(v.payload()), v.key_name());
    match (verdict, first_seen) {
        (_, Some(FirstSeen::Line(l))) => format!("duplicate: first seen on line {l} of this input"),
        (_, Some(FirstSeen::Journal(Sighting { time, location }))) => format!(
            "duplicate: first seen at {}{}",
            hallmark::rfc3339(*time),
            location
                .as_deref()
                .map(|l| format!(" at {l:?}"))
                .unwrap_or_default()
        ),
        (Verdict::Genuine(verified), None) => about(verified),
        (Verdict::Stale(verified), None) => {
            format!("{} (revocation data older than --max-age)", about(verified))
        }
        (
            Verdict::Revoked {
                verified,
                revocation,
            },
            None,
        ) => format!(
            "revoked ({}) on {}: {}; {}",
            revocation.reason,
            revocation.date,
            revocation.scope,
            about(verified)
        ),
        (_, None) => match verdict.refusal() {
            Some(e) => e.to_string(),
            None => verdict.kind().as_str().to_owned(),
        },
    }
}

pub(crate) fn run(args: Args) -> Result<u8> {
    let trust_path = crate::cmd::trust::store_to_read(args.trust.as_deref())?;
    let mut trust = load_trust(&trust_path)?;
    for path in &args.certs {
        let bytes = crate::cmd::cert::read(path)?;
        trust
            .add_certificate(&bytes)
            .map_err(|e| CliError::about(path.display(), e))?;
    }
    let today = match args.today {
        Some(d) => d,
        None => today()?,
    };
    if let Some(l) = &args.location {
        hallmark_state::journal::check_location(l).map_err(|e| CliError::about("--location", e))?;
    }
    let snapshot = match &args.revocations {
        Some(path) => Some(load_snapshot(&args, &trust, path)?),
        None => None,
    };
    let now = now_secs()?;
    let bundle = match &args.bundle {
        Some(path) => Some(load_bundle(&args, &trust, path)?),
        None => None,
    };
    let mut verifier = match &bundle {
        Some(b) => Verifier::new(b.trust(), today).with_bundle(b, now, args.max_age.secs),
        None => Verifier::new(&trust, today),
    };
    if let (Some(b), Some(path)) = (&bundle, &args.bundle)
        && verifier.is_stale()
    {
        eprintln!(
            "hallmark: warning: trust bundle {} (sequence {}) is {}: \
             genuine codes are reported as stale",
            path.display(),
            b.sequence,
            args.max_age.older(now.saturating_sub(b.issued))
        );
    }
    if let (Some(s), Some(path)) = (&snapshot, &args.revocations) {
        verifier = verifier.with_revocations(s, now, args.max_age.secs);
        // The verifier decides staleness; this only says so once.
        if verifier.is_stale() {
            eprintln!(
                "hallmark: warning: revocation snapshot {} (sequence {}) is {}: \
                 genuine codes are reported as stale",
                path.display(),
                s.sequence,
                args.max_age.older(now.saturating_sub(s.issued))
            );
        }
    }
    let trust_for_sets: &TrustStore = match &bundle {
        Some(b) => b.trust(),
        None => &trust,
    };
    let mut session = Session::new(verifier, now);
    if let Some(path) = &args.seen {
        let journal = match Journal::try_open(path) {
            Err(hallmark_state::journal::JournalError::Busy { .. }) => {
                eprintln!(
                    "hallmark: waiting for another verify to release {}",
                    path.display()
                );
                Journal::open(path)?
            }
            other => other?,
        };
        session = session
            .with_journal(journal, args.location.clone())
            .map_err(|e| CliError::about("--location", e))?;
    }
    let mut run = Run {
        session,
        json: args.json,
        out: BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        counts: BTreeMap::new(),
        all_accepted: true,
        expect: None,
    };
    if !args.aggregation.is_empty() {
        return aggregation(&args, &mut run, trust_for_sets);
    }
    let expected = if args.expect.is_empty() {
        None
    } else {
        let set = load_set(&args.expect, trust_for_sets)?;
        let mut units = HashMap::with_capacity(set.leaf_count());
        for (i, leaf) in set.leaves().enumerate() {
            if let Ok(Some(u)) = leaf.child.unit() {
                units.insert(u, i);
            }
        }
        run.expect = Some(Expect {
            units,
            scanned: vec![false; set.leaf_count()],
        });
        Some(set)
    };

    if !args.image.is_empty() {
        let mut items = Vec::new();
        if args.image.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
            return Err(CliError::new(
                "--image -: stdin holds one photo; give - once",
            ));
        }
        for path in &args.image {
            let found = if path.as_os_str() == "-" {
                photo_from_stdin()?
            } else {
                hallmark_label::photo::decode_qr_file(path)
                    .map_err(|e| CliError::about(path.display(), e))?
            };
            if found.is_empty() {
                eprintln!("hallmark: {}: no QR code found", path.display());
            }
            for (n, text) in found.into_iter().enumerate() {
                let len = text.len();
                items.push(Item::new(
                    Scan {
                        line: items.len() + 1,
                        text,
                        len,
                    },
                    Some(format!("{}#{}", path.display(), n + 1)),
                ));
            }
        }
        run.chunk(&items)?;
    } else if !args.codes.is_empty() {
        let items: Vec<Item> = args
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| Item::new(Scan::new(i + 1, c.clone()), None))
            .collect();
        for chunk in items.chunks(CHUNK) {
            run.chunk(chunk)?;
        }
    } else {
        let (reader, len): (Box<dyn BufRead>, Option<u64>) = match &args.input {
            Some(path) => {
                let file = fs::File::open(path).map_err(|e| CliError::about(path.display(), e))?;
                let len = file.metadata().ok().map(|m| m.len());
                (Box::new(BufReader::with_capacity(1 << 16, file)), len)
            }
            None => {
                let stdin = io::stdin();
                if let Some(note) = waiting_note(stdin.is_terminal()) {
                    eprintln!("{note}");
                }
                (
                    Box::new(BufReader::with_capacity(1 << 16, stdin.lock())),
                    None,
                )
            }
        };
        let source = args
            .input
            .as_ref()
            .map_or_else(|| "stdin".to_owned(), |p| p.display().to_string());
        let mut csv = match args.column.as_deref() {
            Some(c) => Csv::Wanted(Column::parse(c)),
            None => Csv::Detect,
        };
        // On a file, the bar's length and ETA are in bytes, but it shows codes.
        let bar = crate::output::progress_bar(
            len,
            if len.is_some() {
                "{spinner} verifying [{bar:40}] {msg} ({percent}%, ETA {eta})"
            } else {
                "{spinner} verifying {msg}"
            },
        );
        let started = std::time::Instant::now();
        let mut scans = Scans::new(reader);
        loop {
            let chunk = scans.next_chunk(CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            let items: Vec<Item> = pick_column(&mut csv, chunk, &source)?
                .into_iter()
                .map(|scan| Item::new(scan, None))
                .collect();
            run.chunk(&items)?;
            let lines = scans.lines_read();
            bar.set_message(format!(
                "{} ({})",
                plural(lines, "code"),
                rate(lines as u64, started)
            ));
            bar.set_position(if len.is_some() {
                scans.bytes_read()
            } else {
                lines as u64
            });
        }
        bar.finish_and_clear();
    }
    if let (Some(set), Some(expect)) = (&expected, &run.expect) {
        never_scanned(&mut run.out, set, &expect.scanned, args.json)?;
    }
    run.out.flush()?;
    let total: usize = run.counts.values().sum();
    if total == 0 {
        eprintln!("hallmark: no codes to verify");
        return Ok(EXIT_NOT_GENUINE);
    }
    let summary: Vec<String> = run.counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    eprintln!("verified {}: {}", plural(total, "code"), summary.join(", "));
    Ok(if run.all_accepted {
        EXIT_OK
    } else {
        EXIT_NOT_GENUINE
    })
}

/// Reads and verifies a set of manifests (one root and its nested ones).
fn load_set(paths: &[PathBuf], trust: &TrustStore) -> Result<AggregationSet> {
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        files.push(crate::read_bounded(
            path,
            hallmark::aggregation::MAX_AGGREGATION_BYTES,
            "the aggregation manifest",
        )?);
    }
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    AggregationSet::verify(&refs, trust).map_err(|e| {
        // Name the file at fault when one alone is refused.
        let culprit = files
            .iter()
            .zip(paths)
            .find(|(bytes, _)| AggregationManifest::verify(bytes, trust).is_err())
            .map(|(_, p)| p.display().to_string());
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        CliError::about(
            culprit.unwrap_or_else(|| format!("the aggregation set {}", names.join(", "))),
            e,
        )
    })
}

/// Where a leaf is: its manifest's digest and its 1-based position there.
fn leaf_place(set: &AggregationSet, manifest: usize, position: usize) -> Value {
    json!({
        "digest": set.digest(manifest).map(|d| crate::output::hex_encode(d)),
        "position": position + 1,
    })
}

/// `--aggregation`: the manifests, the parent, then every leaf in chunks.
fn aggregation<W: Write>(args: &Args, run: &mut Run<'_, W>, trust: &TrustStore) -> Result<u8> {
    let set = load_set(&args.aggregation, trust)?;
    let root = set.root();
    let mut parent_ok = true;
    if let Some(text) = root.parent.scan_text() {
        let mut item = Item::new(Scan::new(0, text), None);
        item.role = Some("parent");
        run.chunk(std::slice::from_ref(&item))?;
        parent_ok = run.all_accepted;
        run.counts.clear();
        run.all_accepted = true;
    }
    let leaves: Vec<_> = set.leaves().collect();
    let bar = crate::output::progress_bar(
        Some(leaves.len() as u64),
        "{spinner} verifying [{bar:40}] {pos}/{len} codes ({msg}, ETA {eta})",
    );
    let started = std::time::Instant::now();
    for (c, chunk) in leaves.chunks(CHUNK).enumerate() {
        let items: Vec<Item> = chunk
            .par_iter()
            .enumerate()
            .map(|(i, leaf)| {
                let mut item = Item::new(
                    Scan::new(
                        c * CHUNK + i + 1,
                        leaf.child.scan_text().unwrap_or_default(),
                    ),
                    None,
                );
                item.manifest = Some(leaf_place(&set, leaf.manifest, leaf.position));
                item
            })
            .collect();
        run.chunk(&items)?;
        bar.inc(items.len() as u64);
        bar.set_message(rate(bar.position(), started));
    }
    bar.finish_and_clear();
    let total: usize = run.counts.values().sum();
    let counts: Vec<String> = run.counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let parent = root
        .parent
        .unit()
        .map(|u| u.to_string())
        .unwrap_or_default();
    let signer = trust
        .get(root.kid)
        .map(|k| k.name().to_owned())
        .unwrap_or_default();
    let time = hallmark::rfc3339(root.time);
    let mut chosen = Vec::new();
    if args.spot_check > 0 {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| CliError::new(format!("no OS randomness for the spot check: {e}")))?;
        for i in set.spot_check(args.spot_check, seed) {
            if let Some(leaf) = leaves.get(i) {
                let unit = leaf
                    .child
                    .unit()
                    .ok()
                    .flatten()
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                let case = match set.manifest(leaf.manifest) {
                    Some(m) if leaf.manifest != 0 => m.parent.unit().map(|u| u.to_string()).ok(),
                    _ => None,
                };
                chosen.push((i + 1, leaf.position + 1, case, unit, leaf.child.scan_text()));
            }
        }
    }
    if args.json {
        let spot: Vec<Value> = chosen
            .iter()
            .map(|(n, position, case, unit, code)| {
                json!({"child": n, "position": position, "in": case, "unit": unit, "code": code})
            })
            .collect();
        writeln!(
            run.out,
            "{}",
            json!({"aggregation": {
                "parent": parent, "kid": root.kid.to_string(), "signer": signer,
                "bizstep": root.bizstep.as_str(), "time": time, "location": root.location,
                "manifests": set.len(), "children": total, "counts": run.counts,
                "parent_accepted": parent_ok, "spot_check": spot,
            }})
        )?;
    }
    run.out.flush()?;
    eprintln!(
        "aggregation: parent {parent}, signed by {signer} ({}), {} at {time}{}, {}, {}: {}",
        root.kid,
        root.bizstep,
        root.location
            .as_deref()
            .map(|l| format!(" in {l:?}"))
            .unwrap_or_default(),
        plural(set.len(), "manifest"),
        children(total),
        if counts.is_empty() {
            "none".to_owned()
        } else {
            counts.join(", ")
        }
    );
    if !chosen.is_empty() {
        let named: Vec<String> = chosen
            .iter()
            .map(|(n, position, case, unit, _)| match case {
                Some(case) => format!("#{n} ({unit}, position {position} in {case})"),
                None => format!("#{n} ({unit}, position {position})"),
            })
            .collect();
        eprintln!(
            "spot check: open the box and find {}: {}",
            match named.len() {
                1 => "this child".to_owned(),
                n => format!("these {n} children"),
            },
            named.join("; ")
        );
    }
    Ok(if run.all_accepted && parent_ok && total > 0 {
        EXIT_OK
    } else {
        EXIT_NOT_GENUINE
    })
}

/// `--expect`: the children never scanned, as one JSON object
/// `{"never_scanned": [...]}` (--json) or one `never-scanned` line each; the
/// count on stderr.
fn never_scanned<W: Write>(
    out: &mut W,
    set: &AggregationSet,
    scanned: &[bool],
    json: bool,
) -> Result<()> {
    let mut missing = Vec::new();
    for (leaf, seen) in set.leaves().zip(scanned) {
        if *seen {
            continue;
        }
        let unit = leaf
            .child
            .unit()
            .ok()
            .flatten()
            .map(|u| u.to_string())
            .unwrap_or_default();
        let place = leaf_place(set, leaf.manifest, leaf.position);
        let code = leaf.child.scan_text();
        if json {
            missing.push(json!({"unit": unit, "code": code, "manifest": place}));
        } else {
            writeln!(
                out,
                "never-scanned\t{}\t{unit}, position {} of manifest {}",
                code.unwrap_or_default(),
                leaf.position + 1,
                set.digest(leaf.manifest)
                    .map(|d| crate::output::hex_encode(d))
                    .unwrap_or_default()
            )?;
            missing.push(Value::Null);
        }
    }
    if json {
        writeln!(out, "{}", json!({"never_scanned": missing}))?;
    }
    eprintln!(
        "expect: {} of {} never scanned",
        missing.len(),
        children(scanned.len())
    );
    Ok(())
}

/// `1 child`, `5 children`.
fn children(n: usize) -> String {
    if n == 1 {
        "1 child".to_owned()
    } else {
        format!("{n} children")
    }
}

/// Whole codes per second since `started`: `5120 codes/s`.
fn rate(codes: u64, started: std::time::Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 {
        (codes as f64 / secs) as u64
    } else {
        0
    };
    format!("{rate} codes/s")
}

/// What a refused code claims, for `--json`'s `unverified` field: its key id
/// and payload, when it decodes but its signature was not accepted (null for
/// a verified code, whose `payload` is verified, and for one that does not
/// decode).
fn unverified(verdict: &Verdict, text: &str) -> Value {
    if verdict.verified().is_some() {
        return Value::Null;
    }
    match hallmark::UnverifiedCode::decode(text) {
        Ok(code) => json!({
            "kid": code.kid().to_string(),
            "payload": hallmark::report::PayloadReport::from(code.payload()),
            "note": "UNVERIFIED: what the code claims; its signature was not accepted",
        }),
        Err(_) => Value::Null,
    }
}

/// What verify says before reading codes from stdin: a note when stdin is a
/// terminal (a person may not know it waits for them), else nothing.
fn waiting_note(stdin_is_terminal: bool) -> Option<&'static str> {
    stdin_is_terminal.then_some(
        "hallmark: waiting for codes on stdin, one per line; end with Ctrl-D \
         (or give CODEs, --input FILE or --image FILE)",
    )
}

/// `--image -`: one photo read from stdin, bounded as a photo file is.
fn photo_from_stdin() -> Result<Vec<String>> {
    let max = hallmark_label::photo::MAX_FILE_BYTES;
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::about("--image - (stdin)", e))?;
    if bytes.len() as u64 > max {
        return Err(CliError::new(format!(
            "--image - (stdin): longer than {} MiB, the most a photo may be",
            max >> 20
        )));
    }
    hallmark_label::photo::decode_qr_codes(&bytes)
        .map_err(|e| CliError::about("--image - (stdin)", e))
}

/// A `--column` as given.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Column {
    /// A header field's name.
    Name(String),
    /// A 1-based field number.
    Number(usize),
}

impl Column {
    fn parse(s: &str) -> Column {
        match s.parse::<usize>() {
            Ok(n) => Column::Number(n),
            Err(_) => Column::Name(s.to_owned()),
        }
    }
}

/// Reading CSV input: the column wanted (--column, header not read yet),
/// hallmark's own header looked for (no --column, first line not read yet),
/// the field found (0-based, with its name for messages), or plain lines.
#[derive(Debug)]
enum Csv {
    Wanted(Column),
    Detect,
    Field { index: usize, name: String },
    Plain,
}

/// The fields of one CSV line, read by the csv crate (RFC 4180 quoting:
/// `"a,b"`, `""` for a quote); a line's fields never span lines in
/// hallmark's CSV. An empty line is one empty field.
fn csv_fields(line: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(line.len().max(64))
        .from_reader(line.as_bytes());
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => record.iter().map(str::to_owned).collect(),
        // Nothing to read (an empty line), or not UTF-8 after unquoting
        // (the line itself is UTF-8, so this does not happen): one field.
        _ => vec![line.to_owned()],
    }
}

/// hallmark's own CSV header (`hallmark mint --format csv`) starts so.
const OWN_CSV_HEADER: &str = "serial,code,";

/// The scans with their code field only, when reading CSV (`--column`, or a
/// first line that is hallmark's own CSV header); the header line is
/// dropped. Lines are scans as read otherwise.
fn pick_column(csv: &mut Csv, chunk: Vec<Scan>, source: &str) -> Result<Vec<Scan>> {
    let mut out = Vec::with_capacity(chunk.len());
    for scan in chunk {
        match csv {
            Csv::Wanted(column) => {
                let header = csv_fields(&scan.text);
                let (index, name) = header_field(column, &header)
                    .map_err(|e| CliError::new(format!("{source}: line {}: {e}", scan.line)))?;
                *csv = Csv::Field { index, name };
            }
            Csv::Detect if scan.text.starts_with(OWN_CSV_HEADER) => {
                eprintln!(
                    "hallmark: {source}: reading hallmark's CSV, the codes in column \"code\""
                );
                *csv = Csv::Field {
                    index: 1,
                    name: "code".to_owned(),
                };
            }
            Csv::Detect => {
                *csv = Csv::Plain;
                out.push(scan);
            }
            Csv::Plain => out.push(scan),
            // A line cut to the kept length stays whole: it is malformed.
            Csv::Field { .. } if scan.len != scan.text.len() => out.push(scan),
            Csv::Field { index, name } => {
                let fields = csv_fields(&scan.text);
                let Some(field) = fields.get(*index) else {
                    return Err(CliError::new(format!(
                        "{source}: line {}: {}, but --column {name} is field {}",
                        scan.line,
                        plural(fields.len(), "field"),
                        *index + 1
                    )));
                };
                out.push(Scan::new(scan.line, field.trim().to_owned()));
            }
        }
    }
    Ok(out)
}

/// The 0-based index of `column` in a CSV header, and its name for messages.
fn header_field(column: &Column, header: &[String]) -> Result<(usize, String), String> {
    match column {
        Column::Name(name) => header
            .iter()
            .position(|f| f.trim() == name)
            .map(|i| (i, name.clone()))
            .ok_or_else(|| {
                format!(
                    "the header has no column {name:?} (its columns: {})",
                    header.join(", ")
                )
            }),
        Column::Number(0) => Err("--column 0: columns are numbered from 1".to_owned()),
        Column::Number(n) if *n > header.len() => Err(format!(
            "--column {n}, but the header has {}",
            plural(header.len(), "column")
        )),
        Column::Number(n) => Ok((n - 1, n.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_on_stdin_is_told_what_verify_waits_for() {
        let note = waiting_note(true).unwrap_or_default();
        assert!(note.contains("waiting for codes on stdin"), "{note}");
        assert!(note.contains("Ctrl-D"), "{note}");
        assert_eq!(waiting_note(false), None);
    }

    #[test]
    fn max_age_answers_in_its_unit() {
        let week = MaxAge::parse("7d").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(week.secs, 604_800);
        assert_eq!(
            week.older(9 * 86_400 + 5),
            "9 days old, older than --max-age 7d"
        );
        let half_hour = MaxAge::parse("30m").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            half_hour.older(3_000),
            "50 minutes old, older than --max-age 30m"
        );
        let day = MaxAge::parse("1d").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(day.older(86_400), "1 day old, older than --max-age 1d");
        assert_eq!(
            MaxAge::parse("90").map(|a| a.older(100)),
            Ok("100 seconds old, older than --max-age 90s".to_owned())
        );
        assert!(MaxAge::parse("7y").is_err());
    }

    #[test]
    fn csv_fields_unquote() {
        assert_eq!(
            csv_fields("1,AB,\"P,1\",\"say \"\"hi\"\"\","),
            ["1", "AB", "P,1", "say \"hi\"", ""]
        );
        assert_eq!(csv_fields(""), [""]);
    }
}
