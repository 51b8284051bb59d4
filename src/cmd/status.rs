//! `hallmark status ...`: status changes through the service.

use hallmark::{Date, KeyId, Reason};
use hallmark_client::status::{Action, StatusChange, Target};

use crate::service::{self, WriteArgs};
use crate::{CliError, EXIT_OK, Result};

/// Status of codes in the service's registry (client of `hallmark serve`).
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    Set(SetArgs),
}

/// Revoke, decommission or reactivate codes through the service (POST /v1/status),
/// or record a key's compromise.
///
/// The target is one code (--code), or with --kid the issuer key's serial,
/// serial range, lot, or every code it made from a date on. Revoking takes a
/// reason: recalled, stolen, destroyed, counterfeit-reported or key-compromised.
/// --action compromise --kid K --at TIME records that key K was compromised at
/// TIME (RFC 3339 UTC such as 2026-11-20T10:00:00Z, or seconds since 1970):
/// its codes are then revoked (key-compromised) unless a batch registered
/// before TIME holds them (lookups and trust bundles; revocation snapshots
/// cannot carry a compromise). --action reactivate --kid K --at 0 removes it.
/// The token needs the scope status (`hallmark token create --scope status`);
/// pass it in $HALLMARK_TOKEN rather than --token, which `ps` shows to others.
///
/// Prints the service's answer (one JSON line). Exit status: 0 done, 1 the
/// service refused (e.g. 401 for a missing or wrong token, 400 for a bad
/// target), 2 usage or connection error.
///
/// Example:
///   export HALLMARK_TOKEN=hm_...
///   hallmark status set --server http://127.0.0.1:8080 --code 0630HCDQ... \
///       --action revoke --reason stolen
///   hallmark status set --server http://127.0.0.1:8080 --kid 8608b1b7 \
///       --range 100-199 --action decommission --date 2026-11-01
///   hallmark status set --server http://127.0.0.1:8080 --kid 8608b1b7 \
///       --action compromise --at 2026-11-20T10:00:00Z
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["code", "serial", "range", "lot", "key_from", "at"]))]
pub(crate) struct SetArgs {
    #[command(flatten)]
    write: WriteArgs,
    /// A code, or a GS1 unit in any scan form: targets its serial (a GS1
    /// unit's unit number, docs/FORMAT.md §21.4); its signature must verify
    /// on the service.
    #[arg(long, value_name = "CODE")]
    code: Option<String>,
    /// The issuer's key id (8 hex digits), for --serial, --range, --lot, --key-from.
    #[arg(long, value_name = "KID", value_parser = parse_kid)]
    kid: Option<KeyId>,
    /// One serial of --kid.
    #[arg(long, value_name = "N", requires = "kid")]
    serial: Option<u64>,
    /// A serial range of --kid, both ends included.
    #[arg(long, value_name = "FIRST-LAST", requires = "kid", value_parser = parse_range)]
    range: Option<(u64, u64)>,
    /// A lot of --kid.
    #[arg(long, value_name = "LOT", requires = "kid")]
    lot: Option<String>,
    /// Every code of --kid made on or after this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", requires = "kid", value_parser = super::parse_date)]
    key_from: Option<Date>,
    /// A key's compromise: when the key was compromised (RFC 3339 UTC, or
    /// seconds since 1970), with --action compromise (or reactivate).
    #[arg(long, value_name = "TIME", requires = "kid", value_parser = parse_at)]
    at: Option<u64>,
    /// What to do.
    #[arg(long, value_name = "ACTION", value_parser = ["revoke", "decommission", "reactivate", "compromise"])]
    action: String,
    /// Why (revoke only): recalled, stolen, destroyed, counterfeit-reported, key-compromised.
    #[arg(long, value_name = "REASON", value_parser = parse_reason)]
    reason: Option<Reason>,
    /// When the change takes effect (YYYY-MM-DD; default: the service's today).
    #[arg(long, value_name = "DATE", value_parser = super::parse_date)]
    date: Option<Date>,
}

fn parse_kid(s: &str) -> Result<KeyId, String> {
    s.parse().map_err(|e: hallmark::Error| e.to_string())
}

fn parse_reason(s: &str) -> Result<Reason, String> {
    s.parse().map_err(|e: hallmark::Error| e.to_string())
}

fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("{s:?}: expected FIRST-LAST, e.g. 100-199");
    let (first, last) = s.split_once('-').ok_or_else(bad)?;
    let first: u64 = first.trim().parse().map_err(|_| bad())?;
    let last: u64 = last.trim().parse().map_err(|_| bad())?;
    if first > last {
        return Err(format!("{s:?}: FIRST is greater than LAST"));
    }
    Ok((first, last))
}

pub(crate) fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Set(args) => set(args),
    }
}

/// The `POST /v1/status` body.
/// The change the flags ask for. clap has checked that exactly one target is
/// given, with --kid unless it is --code.
fn request(args: &SetArgs) -> Result<StatusChange> {
    let action = match (args.action.as_str(), args.reason) {
        ("revoke", None) => {
            return Err(CliError::new(
                "--action revoke needs --reason (recalled, stolen, destroyed, \
                 counterfeit-reported or key-compromised)",
            ));
        }
        ("revoke", Some(reason)) => Action::revoke(reason)
            .map_err(|_| CliError::new("use --action decommission, not --reason decommissioned"))?,
        (_, Some(_)) => return Err(CliError::new("only --action revoke takes a --reason")),
        ("decommission", None) => Action::Decommission,
        ("compromise", None) if args.at.is_some() => Action::Compromise,
        ("compromise", None) => {
            return Err(CliError::new("--action compromise needs --kid and --at"));
        }
        _ => Action::Reactivate,
    };
    if args.at.is_some() && matches!(action, Action::Revoke(_) | Action::Decommission) {
        return Err(CliError::new(
            "--at marks a key's compromise: use --action compromise (or reactivate)",
        ));
    }
    let kid = args.kid.ok_or_else(|| CliError::new("--kid is required"));
    let target = if let Some(code) = &args.code {
        Target::Code {
            code: code.clone(),
            kid: args.kid,
        }
    } else if let Some(serial) = args.serial {
        Target::Serial { kid: kid?, serial }
    } else if let Some((first, last)) = args.range {
        Target::Range {
            kid: kid?,
            first,
            last,
        }
    } else if let Some(lot) = &args.lot {
        Target::Lot {
            kid: kid?,
            lot: lot.clone(),
        }
    } else if let Some(from) = args.key_from {
        Target::KeyFrom { kid: kid?, from }
    } else if let Some(at) = args.at {
        Target::Compromise { kid: kid?, at }
    } else {
        return Err(CliError::new(
            "give one target: --code, --serial, --range, --lot, --key-from or --at",
        ));
    };
    Ok(StatusChange {
        action,
        target,
        date: args.date,
    })
}

fn set(args: SetArgs) -> Result<u8> {
    let body = request(&args)?;
    let client = args.write.client()?;
    let reply = client.set_status(&body)?;
    if !reply.is_success() {
        return service::refused(&reply, service::auth_hint(&reply));
    }
    println!("{}", reply.json()?);
    Ok(EXIT_OK)
}

/// `--at`: RFC 3339 UTC or seconds since 1970.
fn parse_at(s: &str) -> std::result::Result<u64, String> {
    hallmark_server::api::parse_instant(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("100-199"), Ok((100, 199)));
        assert_eq!(parse_range("7-7"), Ok((7, 7)));
        assert!(parse_range("9-1").is_err());
        assert!(parse_range("100").is_err());
        assert!(parse_range("-1-5").is_err());
    }
}
