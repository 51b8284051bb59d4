//! What a key has reserved, recorded in its own key file, so that a lost or
//! rolled-back ledger cannot make `mint` reprint codes already issued.
//!
//! After each reservation, and before any code of it is emitted, `mint`
//! records in the secret key file the first counter the key has not reserved:
//!
//! ```text
//! ledger_next = 1000
//! ```
//!
//! A ledger whose next counter for the key is below that (deleted, replaced
//! by another key's, copied from an old backup, edited backwards) is refused
//! ([`crate::Error::LedgerBehind`]) unless the caller explicitly starts a new
//! ledger. A new ledger continues above the recorded counter and records it as
//! a floor (`ledger_floor = N`): counters below it were reserved in a ledger
//! that is gone, so an explicit `--serial-start` below it is refused too.
//!
//! The key file is rewritten atomically (mode 0600) through
//! [`hallmark_state::file::replace`]; the secret lines are kept byte for byte,
//! so no passphrase is needed. Test-only keys (`test_only = true`, the
//! published demo key) record nothing: their secret is public, their codes
//! prove nothing, and the committed demo key file stays unmodified.

use std::path::Path;

use hallmark_state::file as durable;

use crate::error::Error;
use crate::keys::{KeyFile, read_limited};

/// The key-file field holding the first counter not reserved.
pub const FIELD_NEXT: &str = "ledger_next";
/// The key-file field holding the floor of the current ledger.
pub const FIELD_FLOOR: &str = "ledger_floor";

/// The minting record of a key file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Issued {
    /// The first counter the key has not reserved (none recorded: never
    /// minted, or minted only by an earlier release).
    pub next: Option<u64>,
    /// The first counter of the current ledger, when it was started with
    /// `--new-ledger`.
    pub floor: Option<u64>,
}

impl Issued {
    pub(crate) fn parse(next: Option<&str>, floor: Option<&str>) -> Result<Issued, &'static str> {
        let num = |v: Option<&str>, why| v.map(|v| v.parse::<u64>().map_err(|_| why)).transpose();
        Ok(Issued {
            next: num(next, "`ledger_next` must be a number")?,
            floor: num(floor, "`ledger_floor` must be a number")?,
        })
    }

    /// Appends the record's lines to a key file's text.
    pub(crate) fn append_to(&self, text: &mut String) {
        if let Some(next) = self.next {
            text.push_str(&format!("{FIELD_NEXT} = {next}\n"));
        }
        if let Some(floor) = self.floor {
            text.push_str(&format!("{FIELD_FLOOR} = {floor}\n"));
        }
    }

    /// Checks that a ledger whose next counter for the key is `ledger_next`
    /// knows every counter the key file records as reserved.
    pub fn check_ledger(&self, key: &Path, ledger: &Path, ledger_next: u64) -> Result<(), Error> {
        match self.next {
            Some(key_next) if key_next > ledger_next => Err(Error::LedgerBehind {
                key: key.to_owned(),
                ledger: ledger.to_owned(),
                ledger_next,
                key_next,
            }),
            _ => Ok(()),
        }
    }

    /// Checks a reservation's first counter against the floor.
    pub fn check_start(&self, key: &Path, start: u64) -> Result<(), Error> {
        match self.floor {
            Some(floor) if start < floor => Err(Error::BelowLedgerFloor {
                key: key.to_owned(),
                start,
                floor,
            }),
            _ => Ok(()),
        }
    }
}

/// Records in the key file at `path` that counters below `next` are reserved
/// (keeping a higher record), with `floor` if given, atomically and durably.
/// Does nothing for a test-only key.
pub fn record(path: &Path, next: u64, floor: Option<u64>) -> Result<(), Error> {
    let file = KeyFile::read(path)?;
    if file.test_only {
        return Ok(());
    }
    let issued = Issued {
        next: Some(file.issued.next.map_or(next, |n| n.max(next))),
        floor: floor.or(file.issued.floor),
    };
    if issued == file.issued {
        return Ok(());
    }
    let text = read_limited(path)?;
    let mut out = zeroize::Zeroizing::new(String::with_capacity(text.len() + 64));
    for line in text.lines() {
        let field = line.split_once('=').map(|(k, _)| k.trim());
        if field == Some(FIELD_NEXT) || field == Some(FIELD_FLOOR) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    issued.append_to(&mut out);
    durable::replace(path, out.as_bytes(), durable::MODE_SECRET)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretKey;

    #[test]
    fn record_keeps_the_secret_and_only_grows() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let key = SecretKey::from_seed("k", &[3; 32])?;
        let (path, _) = key.write_unencrypted(dir.path())?;
        assert_eq!(KeyFile::read(&path)?.issued, Issued::default());
        record(&path, 10, None)?;
        record(&path, 5, None)?;
        let issued = KeyFile::read(&path)?.issued;
        assert_eq!(issued.next, Some(10));
        record(&path, 20, Some(10))?;
        let issued = KeyFile::read(&path)?.issued;
        assert_eq!((issued.next, issued.floor), (Some(20), Some(10)));
        // Still the same key, still private.
        assert_eq!(SecretKey::read(&path)?.kid(), key.kid());
        assert!(issued.check_ledger(&path, &path, 19).is_err());
        assert!(issued.check_ledger(&path, &path, 20).is_ok());
        assert!(issued.check_start(&path, 9).is_err());
        assert!(issued.check_start(&path, 10).is_ok());
        // A passphrase change carries the record over.
        key.rewrite(&path, None)?;
        assert_eq!(KeyFile::read(&path)?.issued, issued);
        Ok(())
    }
}
