//! `hallmark revocations ...`

use std::path::{Path, PathBuf};

use hallmark_client::snapshot::{self, Check, Document, PullOutcome};
use hallmark_issuer::revocation_list;
use hallmark_state::sequence::SequenceStore;

use crate::{CliError, EXIT_OK, Result};

/// Signed revocation snapshots for offline verification.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Build(BuildArgs),
    Pull(PullArgs),
}

/// Build a signed revocation snapshot from a local list, without the service.
///
/// The list is TOML with any of these tables (dates YYYY-MM-DD; reason one of
/// recalled, stolen, destroyed, counterfeit-reported, key-compromised,
/// decommissioned; kid the issuer's 8-hex-digit key id):
///
///   [[serial]]  kid = "8608b1b7"  serial = 42  reason = "stolen"  date = 2026-11-01
///   [[range]]   kid = "8608b1b7"  first = 100  last = 199  reason = "recalled"  date = 2026-11-01
///   [[lot]]     kid = "8608b1b7"  lot = "L231212-01"  reason = "destroyed"  date = 2026-11-01
///   [[key]]     kid = "8608b1b7"  from = 2026-06-01  reason = "key-compromised"  date = 2026-11-02
///
/// (one field per line in the file). The snapshot is signed with --key, which
/// verifiers' trust stores must mark as a revocation signer
/// (`hallmark trust add --revocation-signer`). The sequence must grow with
/// every snapshot: verifiers refuse one older than a snapshot (or trust
/// bundle) they have seen from the same key. By default it follows the
/// service's rule, the larger of the last one this key built plus one (kept
/// in KEY.seq beside the key) and the time now in seconds since 1970, so
/// snapshots built offline and those `hallmark serve` signs with the same key
/// stay in one order. An explicit --sequence above now + 1 day is refused: it
/// would make verifiers refuse every later snapshot from the service.
///
/// Instead of --key, --signer pkcs11:... signs with a key in an HSM or token
/// (there is no KEY.seq then: the default sequence is the time now).
///
/// Example:
///   hallmark revocations build --key keys/revocations.key --list revoked.toml \
///       --out revocations.bin
///   hallmark revocations build --signer 'pkcs11:token=registry;object=revocations' \
///       --list revoked.toml --out revocations.bin
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct BuildArgs {
    /// The revocation signing key (a key file from `hallmark keygen`).
    #[arg(
        long,
        value_name = "KEY",
        required_unless_present = "signer",
        conflicts_with = "signer"
    )]
    key: Option<PathBuf>,
    #[command(flatten)]
    signer: crate::signer::SignerArgs,
    /// The list of revocations (TOML, see above).
    #[arg(long, value_name = "FILE")]
    list: PathBuf,
    /// Sequence number of this snapshot (higher than every earlier one; at
    /// most now + 1 day in seconds since 1970). Default: the larger of
    /// KEY.seq's last sequence plus one and now.
    #[arg(long, value_name = "N", value_parser = parse_sequence)]
    sequence: Option<u64>,
    /// Where to write the snapshot.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    passphrase: crate::passphrase::Source,
}

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Build(args) => build(args),
        Command::Pull(args) => pull(args),
    }
}

/// How far ahead of the clock an explicit `--sequence` may be.
const MAX_SEQUENCE_AHEAD: u64 = 86_400;

/// Where the last sequence built with `key` is kept: `KEY.seq`.
fn sequence_path(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".seq");
    PathBuf::from(name)
}

/// The last sequence recorded in `path`, if any.
fn last_sequence(path: &Path) -> Result<Option<u64>> {
    match hallmark_state::file::read_bounded_nofollow(path, 64, "the key's sequence file") {
        Ok(bytes) => std::str::from_utf8(&bytes)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| {
                CliError::new(format!(
                    "{}: not a sequence number (the last sequence this key built)",
                    path.display()
                ))
            }),
        Err(hallmark_state::file::FileError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(None)
        }
        Err(e) => Err(CliError::context(path.display(), e)),
    }
}

/// The sequence to build with: `explicit` (at most now + 1 day), else the
/// service's rule, max(last + 1, now).
fn choose_sequence(explicit: Option<u64>, last: Option<u64>, now: u64) -> Result<u64> {
    match explicit {
        Some(n) if n > now.saturating_add(MAX_SEQUENCE_AHEAD) => Err(CliError::new(format!(
            "--sequence {n} is more than a day ahead of the clock ({now} seconds since 1970, {}): \
             verifiers that saw it would refuse every later snapshot the service signs \
             (its sequences follow the clock); leave --sequence out to use max(last + 1, now)",
            hallmark::rfc3339(now)
        ))),
        Some(n) => Ok(n),
        None => Ok(last
            .map_or(0, |l| l.saturating_add(1))
            .max(now)
            .min(hallmark::MAX_SEQUENCE)),
    }
}

fn build(args: BuildArgs) -> Result<u8> {
    let mut protected = vec![(args.list.as_path(), "the revocation list")];
    let ledger = args
        .key
        .as_deref()
        .map(|key| hallmark_issuer::pipeline::ledger_path(key, None));
    let seq_file = args.key.as_deref().map(sequence_path);
    if let (Some(key), Some(ledger), Some(seq)) = (&args.key, &ledger, &seq_file) {
        protected.push((key.as_path(), "the signing key file"));
        protected.push((ledger.as_path(), "the key's ledger"));
        protected.push((seq.as_path(), "the key's sequence file"));
    }
    crate::cmd::files::check_output(&args.out, args.force, &protected)?;
    let text = crate::read_text_bounded(&args.list, 1 << 30, "the revocation list")?;
    let now = crate::cmd::now_secs()?;
    let last = match &seq_file {
        Some(path) => last_sequence(path)?,
        None => None,
    };
    let sequence = choose_sequence(args.sequence, last, now)?;
    let snapshot = revocation_list::parse(&text, sequence, now)
        .map_err(|e| CliError::about(args.list.display(), e))?;
    let any = crate::signer::open_either(args.key.as_deref(), &args.passphrase, &args.signer)?;
    let key = any.signer();
    let bytes = hallmark_issuer::signer::sign_snapshot(key, &snapshot)?;
    // The sequence is recorded before the snapshot is written: a crash in
    // between skips a number, never reuses one.
    if let Some(seq_file) = &seq_file
        && last.is_none_or(|l| sequence > l)
    {
        hallmark_state::file::replace(
            seq_file,
            format!("{sequence}\n").as_bytes(),
            hallmark_state::file::MODE_PUBLIC,
        )
        .map_err(|e| CliError::context(seq_file.display(), e))?;
    }
    crate::cmd::files::write_output(&args.out, &bytes, args.force)?;
    eprintln!(
        "wrote revocation snapshot sequence {} issued at {} with {}, signed by {} ({}), to {}",
        sequence,
        hallmark::rfc3339(snapshot.issued),
        hallmark::plural(snapshot.revocations().len(), "revocation", "revocations"),
        key.name(),
        key.kid(),
        args.out.display()
    );
    Ok(EXIT_OK)
}

/// Download the service's current signed revocation snapshot
/// (GET /v1/revocations/snapshot) for `hallmark verify --revocations`.
///
/// The file is replaced atomically. The snapshot's ETag is kept beside it in
/// FILE.etag and sent back on the next pull: when nothing changed the service
/// answers 304 and FILE stays as it is. With --trust the snapshot is checked
/// (signed by a revocation signer of that trust store) and its sequence
/// against the state directory `hallmark verify` uses (one sequence per
/// signer, snapshots and bundles alike) before it is written: an older one
/// than seen is a rollback, refused with exit status 2, and FILE is kept.
/// Run it from cron or a timer; exit status 0 when FILE is current.
///
/// Example:
///   hallmark revocations pull --server http://127.0.0.1:8080 --out revocations.bin
///   hallmark verify --trust trust.toml --revocations revocations.bin 0630HCDQ...
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct PullArgs {
    /// The service's base URL (`hallmark serve`).
    #[arg(long, value_name = "URL")]
    server: String,
    /// Where to write the snapshot (its ETag goes to FILE.etag).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Check the snapshot's signature against this trust store, and its
    /// sequence against the state directory, before writing (default: the
    /// default trust store, ~/.config/hallmark/trust.toml, when it exists).
    #[arg(long, value_name = "FILE", env = super::trust::TRUST_ENV)]
    trust: Option<PathBuf>,
    /// Where the highest sequence seen per signer is kept (with --trust;
    /// default: $HALLMARK_STATE_DIR, else $XDG_STATE_HOME/hallmark, else
    /// ~/.local/state/hallmark, as `hallmark verify`).
    #[arg(long, value_name = "DIR", requires = "trust")]
    state_dir: Option<PathBuf>,
}

fn pull(args: PullArgs) -> Result<u8> {
    pull_into(
        Document::Snapshot,
        &args.server,
        &args.out,
        args.trust
            .or_else(super::trust::existing_default)
            .as_deref(),
        args.state_dir.as_deref(),
    )
}

/// `revocations pull` and `trust pull`: downloads `document` to `out`, with
/// `trust` verified and its sequence checked against the state directory.
pub(crate) fn pull_into(
    document: Document,
    server: &str,
    out: &Path,
    trust_path: Option<&Path>,
    state_dir: Option<&Path>,
) -> Result<u8> {
    let trust = match trust_path {
        Some(path) => Some(crate::cmd::load_trust(path)?),
        None => None,
    };
    let sequences = match trust {
        Some(_) => Some(SequenceStore::new(
            hallmark_state::sequence::state_dir(state_dir)
                .map_err(|e| CliError::context("--state-dir", e))?,
        )),
        None => None,
    };
    let client = crate::service::connect(server, None)?;
    let etag_file = snapshot::etag_path(out);
    for path in [out, &etag_file] {
        let protected: Vec<(&Path, &str)> =
            trust_path.iter().map(|t| (*t, "the trust store")).collect();
        hallmark_state::file::refuse_protected(path, &protected)?;
    }
    let check = trust.as_ref().map(|trust| Check {
        trust,
        sequences: sequences.as_ref(),
    });
    let what = match document {
        Document::Snapshot => "snapshot",
        Document::Bundle => "trust bundle",
    };
    match snapshot::pull_document(&client, document, out, check)? {
        PullOutcome::Unchanged => {
            eprintln!("{}: unchanged (304 Not Modified)", out.display());
        }
        PullOutcome::Refused(reply) => return crate::service::refused(&reply, None),
        PullOutcome::Written { bytes, verified } => {
            if let Some(v) = verified {
                eprintln!("{}", verified_line(what, &v));
            }
            eprintln!(
                "wrote {} ({})",
                out.display(),
                hallmark::plural(bytes, "byte", "bytes")
            );
        }
    }
    Ok(EXIT_OK)
}

/// What `pull` says of a document it checked before writing it.
fn verified_line(what: &str, v: &snapshot::Verified) -> String {
    let revocations = hallmark::plural(v.revocations, "revocation", "revocations");
    let issued = hallmark::rfc3339(v.issued);
    match v.manifests {
        Some(m) => format!(
            "{what} sequence {} issued at {issued} from key {} with {} and {revocations} verified",
            v.sequence,
            v.signer,
            hallmark::plural(m, "manifest", "manifests"),
        ),
        None => format!(
            "{what} sequence {} issued at {issued} with {revocations} verified",
            v.sequence
        ),
    }
}

/// A snapshot sequence verifiers accept: 0 to [`hallmark::MAX_SEQUENCE`].
fn parse_sequence(s: &str) -> std::result::Result<u64, String> {
    let n: u64 = s
        .parse()
        .map_err(|_| format!("{s:?}: expected a whole number"))?;
    if n > hallmark::MAX_SEQUENCE {
        return Err(format!(
            "{n} is above {}, the largest sequence verifiers accept (docs/FORMAT.md section 15)",
            hallmark::MAX_SEQUENCE
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_sequence_follows_the_service_rule_and_far_future_is_refused() {
        let now = 1_800_000_000;
        assert_eq!(choose_sequence(None, None, now).ok(), Some(now));
        assert_eq!(
            choose_sequence(None, Some(now + 5), now).ok(),
            Some(now + 6)
        );
        assert_eq!(choose_sequence(None, Some(7), now).ok(), Some(now));
        assert_eq!(choose_sequence(Some(8), None, now).ok(), Some(8));
        assert_eq!(
            choose_sequence(Some(now + 86_400), None, now).ok(),
            Some(now + 86_400)
        );
        let refused = choose_sequence(Some(now + 86_401), None, now)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        // The clock in seconds (comparable with --sequence) and as people read it.
        assert!(
            refused.contains("(1800000000 seconds since 1970, 2027-01-15T08:00:00Z)"),
            "{refused}"
        );
    }

    #[test]
    fn a_pulled_document_says_when_it_was_issued_and_counts_in_words() {
        let mut v = snapshot::Verified {
            sequence: 1_800_000_000,
            issued: 1_800_000_000,
            revocations: 1,
            signer: hallmark::KeyId::from_bytes([0x86, 0x08, 0xb1, 0xb7]),
            manifests: None,
        };
        assert_eq!(
            verified_line("snapshot", &v),
            "snapshot sequence 1800000000 issued at 2027-01-15T08:00:00Z with 1 revocation verified"
        );
        (v.revocations, v.manifests) = (2, Some(1));
        assert_eq!(
            verified_line("trust bundle", &v),
            "trust bundle sequence 1800000000 issued at 2027-01-15T08:00:00Z from key 8608b1b7 \
             with 1 manifest and 2 revocations verified"
        );
    }
}
