//! `hallmark aggregate`

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use hallmark::aggregation::{AggregationManifest, BizStep, Child, Parent, UnitId};

use crate::output::hex_encode;
use crate::{CliError, EXIT_OK, Result};

/// Largest --children file read, in bytes (a manifest holds at most 16 MiB;
/// a code's text is longer than its binary form).
const MAX_CHILDREN_TEXT: u64 = 64 << 20;

/// Sign an aggregation manifest: a parent (case, pallet, assembled unit)
/// holds these children.
///
/// The manifest (docs/FORMAT.md §22) names the parent (a hallmark code, a GS1
/// unit, or `sscc:` and an 18-digit SSCC with a valid check digit), embeds
/// each child's own signed code (or GS1 unit), or names a nested manifest
/// (a case on a pallet) by its digest, and records the time (now), the
/// business step and the place. `hallmark verify --aggregation` then checks
/// the whole pallet offline from these files in one command.
///
/// What it proves: that the holder of the signing key (which verifiers need
/// certified for the `aggregation` usage, `hallmark cert issue --usage
/// aggregation`) stated that the parent held exactly these children. What it
/// cannot prove: that the box still holds them. A signed list can be
/// copied onto an emptied or refilled box; verify names children chosen at
/// random for a physical spot check.
///
/// --children FILE: one child per line (`-` reads stdin); blank lines and
/// lines starting with `#` are skipped. A line is a hallmark code in any
/// accepted form, a GS1 unit in any accepted GS1 form (it needs AI 01 and
/// AI 21), or `agg:PATH`, a nested manifest file (signed by `hallmark
/// aggregate`; its digest becomes the child). Refused (exit 2, nothing
/// written): an empty list, a malformed child (with its line), a child listed
/// twice (with both lines), a child equal to the parent, a nested manifest
/// that holds the new parent (a cycle), an invalid SSCC, a manifest over 16 MiB
/// (about 150,000 codes or 120,000 GS1 units).
///
/// Instead of --key, --signer pkcs11:... signs with a key in an HSM or token.
/// The output is written atomically and never replaces a file without
/// --force. A summary (children, digest) goes to stderr.
///
/// Exit status: 0 written, 2 refused or usage/I/O error.
///
/// Examples:
///   hallmark aggregate --key keys/line.key --parent sscc:106141411234567897 \
///       --children case-1.txt --bizstep packing --location "Plant 1, line 4" \
///       --out case-1.agg
///   printf 'agg:case-1.agg\nagg:case-2.agg\n' | hallmark aggregate \
///       --key keys/line.key --parent sscc:006141411234567890 --children - \
///       --bizstep packing --out pallet.agg
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// The signing key file (certified for the aggregation usage).
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present = "signer",
        conflicts_with = "signer"
    )]
    key: Option<PathBuf>,
    #[command(flatten)]
    signer: crate::signer::SignerArgs,
    /// What holds the children: a hallmark code, a GS1 unit, or
    /// sscc:18-DIGITS (check digit verified).
    #[arg(long, value_name = "PARENT")]
    parent: String,
    /// The children, one per line (`-`: stdin): codes, GS1 units, or
    /// agg:PATH for a nested manifest.
    #[arg(long, value_name = "FILE")]
    children: PathBuf,
    /// The business step (CBV): packing or assembling.
    #[arg(long, value_name = "STEP", value_parser = parse_bizstep)]
    bizstep: BizStep,
    /// Where (free text, at most 128 bytes, no control characters).
    #[arg(long, value_name = "TEXT")]
    location: Option<String>,
    /// Where to write the signed manifest (never overwritten without --force).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    passphrase: crate::passphrase::Source,
}

fn parse_bizstep(s: &str) -> Result<BizStep, String> {
    s.parse()
        .map_err(|_| format!("{s:?}: expected packing or assembling"))
}

/// Reads the children list: a file, or stdin for `-`.
fn read_children(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .take(MAX_CHILDREN_TEXT + 1)
            .read_to_string(&mut text)
            .map_err(|e| CliError::about("--children - (stdin)", e))?;
        if text.len() as u64 > MAX_CHILDREN_TEXT {
            return Err(CliError::new(format!(
                "--children - (stdin): longer than {} MiB",
                MAX_CHILDREN_TEXT >> 20
            )));
        }
        return Ok(text);
    }
    crate::read_text_bounded(path, MAX_CHILDREN_TEXT as usize, "the children list")
}

/// The units a nested manifest holds (its parent and its direct children),
/// for the cycle check.
fn nested_units(m: &AggregationManifest) -> Vec<UnitId> {
    let mut units: Vec<UnitId> = m.parent.unit().ok().into_iter().collect();
    units.extend(m.children.iter().filter_map(|c| c.unit().ok().flatten()));
    units
}

pub(crate) fn run(args: Args) -> Result<u8> {
    let mut protected = Vec::new();
    if let Some(key) = &args.key {
        protected.push((key.as_path(), "the key file"));
    }
    crate::cmd::files::check_output(&args.out, args.force, &protected)?;
    let parent = Parent::from_scan(&args.parent).map_err(|e| CliError::about("--parent", e))?;
    let parent_unit = parent.unit().map_err(|e| CliError::about("--parent", e))?;
    if let Some(l) = &args.location {
        hallmark::aggregation::check_location(l).map_err(|e| CliError::about("--location", e))?;
    }
    let list = args.children.display().to_string();
    let text = read_children(&args.children)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);

    let mut children = Vec::new();
    // A child's identity → the line it is on.
    let mut lines: HashMap<String, usize> = HashMap::new();
    // Units inside nested manifests → (line of the nested manifest).
    let mut nested: HashMap<UnitId, usize> = HashMap::new();
    let mut direct: Vec<(UnitId, usize)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |e: &dyn std::fmt::Display| CliError::new(format!("{list}:{n}: {e}"));
        let (child, identity) = if let Some(path) = line.strip_prefix("agg:") {
            let path = Path::new(path.trim());
            let bytes = crate::read_bounded(
                path,
                hallmark::aggregation::MAX_AGGREGATION_BYTES,
                "the nested manifest",
            )
            .map_err(|e| at(&e))?;
            let m = AggregationManifest::decode_unverified(&bytes)
                .map_err(|e| at(&format!("{}: {e}", path.display())))?;
            let units = nested_units(&m);
            if units.contains(&parent_unit) {
                return Err(at(&format!(
                    "{}: the nested manifest holds the parent {parent_unit}: a cycle",
                    path.display()
                )));
            }
            for u in units.into_iter().skip(1) {
                if let Some(first) = nested.insert(u.clone(), n) {
                    return Err(at(&format!(
                        "{u} is in the nested manifests of line {first} and line {n}"
                    )));
                }
            }
            let digest = AggregationManifest::digest(&bytes);
            (
                Child::Manifest(digest),
                format!("manifest:{}", hex_encode(&digest)),
            )
        } else {
            let child = Child::from_scan(line).map_err(|e| at(&e))?;
            let unit = match child.unit() {
                Ok(Some(u)) => u,
                Ok(None) => return Err(at(&"not a unit")),
                Err(e) => return Err(at(&e)),
            };
            if unit == parent_unit {
                return Err(at(&format!("the child {unit} is the parent")));
            }
            direct.push((unit.clone(), n));
            (child, unit.to_string())
        };
        if let Some(first) = lines.insert(identity.clone(), n) {
            return Err(CliError::new(format!(
                "{list}:{n}: {identity} is listed twice (lines {first} and {n})"
            )));
        }
        children.push(child);
    }
    for (unit, n) in &direct {
        if let Some(first) = nested.get(unit) {
            return Err(CliError::new(format!(
                "{list}:{n}: {unit} is also in the nested manifest of line {first}"
            )));
        }
    }
    if children.is_empty() {
        return Err(CliError::new(format!(
            "{list}: no children (one code, GS1 unit or agg:PATH per line)"
        )));
    }
    let any = crate::signer::open_either(args.key.as_deref(), &args.passphrase, &args.signer)?;
    let key = any.signer();
    let manifest = AggregationManifest {
        kid: key.kid(),
        parent,
        children,
        time: crate::cmd::now_secs()?,
        bizstep: args.bizstep,
        location: args.location.clone(),
    };
    let unsigned = manifest
        .to_unsigned()
        .map_err(|e| CliError::about("the manifest", e))?;
    let bytes = hallmark_issuer::signer::sign_document(key, unsigned)?;
    crate::cmd::files::write_output(&args.out, &bytes, args.force)?;
    eprintln!(
        "wrote an aggregation manifest of {} of {parent_unit} ({}) at {}, signed by {} ({}), \
         {}, digest {}, to {}",
        hallmark::plural(manifest.children.len(), "child", "children"),
        manifest.bizstep,
        hallmark::rfc3339(manifest.time),
        key.name(),
        key.kid(),
        hallmark::plural(bytes.len(), "byte", "bytes"),
        hex_encode(&AggregationManifest::digest(&bytes)),
        args.out.display()
    );
    Ok(EXIT_OK)
}
