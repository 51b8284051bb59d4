//! One module per subcommand.

use clap::Subcommand;

use crate::Result;

mod aggregate;
mod batches;
mod bundle;
pub(crate) mod cert;
mod claim_key;
mod claims;
mod epcis;
pub(crate) mod files;
pub(crate) mod gs1;
mod gs1_pool;
pub(crate) mod gs1_symbol;
mod inspect;
pub(crate) mod key;
mod keygen;
pub(crate) mod mint;
mod qr;
mod revocations;
mod serve;
mod shell;
mod status;
mod token;
mod trust;
mod verify;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    Keygen(keygen::Args),
    #[command(subcommand)]
    ClaimKey(claim_key::Command),
    #[command(subcommand)]
    Key(key::Command),
    #[command(subcommand)]
    Trust(trust::Command),
    Mint(mint::Args),
    #[command(subcommand)]
    Gs1(gs1::Command),
    Aggregate(aggregate::Args),
    Batches(batches::Args),
    #[command(subcommand)]
    Epcis(epcis::Command),
    Verify(verify::Args),
    #[command(subcommand)]
    Cert(cert::Command),
    Inspect(inspect::Args),
    Qr(qr::Args),
    #[command(subcommand)]
    Revocations(revocations::Command),
    Serve(serve::Args),
    #[command(subcommand)]
    Token(token::Command),
    #[command(subcommand)]
    Status(status::Command),
    Completions(shell::CompletionsArgs),
    Man(shell::ManArgs),
}

impl Command {
    /// Runs the subcommand; returns the exit status.
    pub(crate) fn run(self) -> Result<u8> {
        match self {
            Command::Keygen(args) => keygen::run(args),
            Command::ClaimKey(cmd) => claim_key::run(cmd),
            Command::Key(cmd) => key::run(cmd),
            Command::Trust(cmd) => trust::run(cmd),
            Command::Mint(args) => mint::run(args),
            Command::Gs1(cmd) => gs1::run(cmd),
            Command::Aggregate(args) => aggregate::run(args),
            Command::Batches(args) => batches::run(args),
            Command::Epcis(cmd) => epcis::run(cmd),
            Command::Verify(args) => verify::run(args),
            Command::Cert(cmd) => cert::run(cmd),
            Command::Inspect(args) => inspect::run(args),
            Command::Qr(args) => qr::run(args),
            Command::Revocations(cmd) => revocations::run(cmd),
            Command::Serve(args) => serve::run(args),
            Command::Token(cmd) => token::run(cmd),
            Command::Status(cmd) => status::run(cmd),
            Command::Completions(args) => shell::completions(args),
            Command::Man(args) => shell::man(args),
        }
    }
}

/// Parses a `YYYY-MM-DD` argument.
pub(crate) fn parse_date(s: &str) -> Result<hallmark::Date, String> {
    s.parse().map_err(|e: hallmark::Error| e.to_string())
}

/// Seconds since 1970-01-01 UTC from the system clock.
///
/// `$HALLMARK_NOW` (seconds since 1970), when set, stands in for the clock:
/// tests give the CLI a clock instead of sleeping. It is not for production
/// use and is not listed in `--help`.
pub(crate) fn now_secs() -> Result<u64> {
    if let Some(now) = std::env::var_os("HALLMARK_NOW") {
        return now.to_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
            crate::CliError::new("$HALLMARK_NOW: expected seconds since 1970, like 1767225600")
        });
    }
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| crate::CliError::new("the system clock is before 1970"))?
        .as_secs())
}

/// Today's date in UTC from the system clock.
pub(crate) fn today() -> Result<hallmark::Date> {
    hallmark::Date::from_days(now_secs()? / 86_400)
        .ok_or_else(|| crate::CliError::new("the system clock is past 9999-12-31"))
}

/// Parses a time: seconds since 1970, or RFC 3339 in UTC
/// (`2026-11-20T10:00:00Z`).
pub(crate) fn parse_time(s: &str) -> Result<u64, String> {
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(secs);
    }
    let bad =
        || format!("{s:?}: expected a UTC time like 2026-11-20T10:00:00Z, or seconds since 1970");
    let (date, time) = s.split_once(['T', 't']).ok_or_else(bad)?;
    let time = time.strip_suffix(['Z', 'z']).ok_or_else(bad)?;
    let day: hallmark::Date = date.parse().map_err(|_| bad())?;
    let parts: Vec<u64> = time
        .split(':')
        .map(|p| if p.len() == 2 { p.parse().ok() } else { None })
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    let [h, m, sec] = parts[..] else {
        return Err(bad());
    };
    if h > 23 || m > 59 || sec > 59 {
        return Err(bad());
    }
    Ok(u64::from(day.days()) * 86_400 + h * 3600 + m * 60 + sec)
}

/// Parses a duration like `90s`, `30m`, `12h`, `7d` or `2w` into seconds.
pub(crate) fn parse_duration(s: &str) -> Result<u64, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit, like 7d"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("{s:?}: unit must be s, m, h, d or w")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{s:?}: too large"))
}

/// Reads and parses a trust store file (bounded in size).
pub(crate) fn load_trust(path: &std::path::Path) -> Result<hallmark::TrustStore> {
    let text = crate::read_text_bounded(path, hallmark::MAX_TRUST_STORE_LEN, "the trust store")?;
    hallmark::TrustStore::from_toml(&text).map_err(|e| crate::CliError::context(path.display(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_or_say_why() {
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("1970-01-02T00:00:01Z"), Ok(86_401));
        assert_eq!(parse_time("2026-12-01T19:15:42Z"), Ok(1_796_152_542));
        for bad in [
            "",
            "2026-12-01",
            "2026-12-01T19:15Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T19:15:42+01:00",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn durations_parse_or_say_why() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("0"), Ok(0));
        for bad in ["", "d", "7y", "-1h", "1.5h", "99999999999999999999w"] {
            let err = parse_duration(bad).err().unwrap_or_default();
            assert!(err.contains(&format!("{bad:?}")), "{bad:?}: {err}");
        }
    }
}
