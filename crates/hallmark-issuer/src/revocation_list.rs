//! The revocation list a revocation signer keeps by hand (TOML), read into a
//! [`RevocationSnapshot`] ready to be signed (`hallmark revocations build`).
//!
//! The list has any of four tables, each entry with the issuer's key id
//! (`kid`, 8 hex digits), a `reason` ([`Reason`]) and the `date` it took
//! effect (`YYYY-MM-DD`, no time):
//!
//! ```toml
//! [[serial]]
//! kid = "8608b1b7"
//! serial = 42
//! reason = "stolen"
//! date = 2026-11-01
//!
//! [[range]]
//! kid = "8608b1b7"
//! first = 100
//! last = 199
//! reason = "recalled"
//! date = 2026-11-01
//!
//! [[lot]]
//! kid = "8608b1b7"
//! lot = "L231212-01"
//! reason = "destroyed"
//! date = 2026-11-01
//!
//! [[key]]
//! kid = "8608b1b7"
//! from = 2026-06-01
//! reason = "key-compromised"
//! date = 2026-11-02
//! ```
//!
//! Unknown tables and fields are refused. Entries are added table by table
//! (serials, ranges, lots, keys), each in file order.

use hallmark::{Date, KeyId, Reason, RevocationSnapshot, Scope};
use serde::Deserialize;

/// A table of the revocation list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Table {
    /// `[[serial]]`: one serial of a key.
    Serial,
    /// `[[range]]`: serials `first..=last` of a key.
    Range,
    /// `[[lot]]`: a lot of a key.
    Lot,
    /// `[[key]]`: every code of a key made from a date on.
    Key,
}

impl Table {
    /// The table's name in the file (`serial`, `range`, `lot`, `key`).
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Serial => "serial",
            Table::Range => "range",
            Table::Lot => "lot",
            Table::Key => "key",
        }
    }
}

impl core::fmt::Display for Table {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a revocation list was refused. `entry` counts a table's entries from 1,
/// in file order.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// Not TOML, or not the list's shape (an unknown table or field, a missing
    /// field, a value of the wrong type).
    #[error("{message}")]
    Toml {
        /// The line (from 1) the parser stopped at, when it names one.
        line: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// An entry's `kid` is not a key id.
    #[error("[[{table}]] entry {entry}: kid")]
    Kid {
        /// The table.
        table: Table,
        /// The entry's number in its table, from 1.
        entry: usize,
        /// Why the key id was refused.
        source: hallmark::Error,
    },
    /// An entry's `reason` is not a reason.
    #[error("[[{table}]] entry {entry}")]
    Reason {
        /// The table.
        table: Table,
        /// The entry's number in its table, from 1.
        entry: usize,
        /// Why the reason was refused.
        source: hallmark::Error,
    },
    /// A date (`date`, or a `[[key]]` entry's `from`) is not `YYYY-MM-DD`
    /// (a time or an offset, or a day that does not exist).
    #[error("[[{table}]] entry {entry}: dates must be YYYY-MM-DD")]
    Date {
        /// The table.
        table: Table,
        /// The entry's number in its table, from 1.
        entry: usize,
        /// The field (`date` or `from`).
        field: &'static str,
    },
    /// The snapshot refused the entry (a range whose last serial is before its
    /// first, a lot that is not a valid lot).
    #[error("[[{table}]] entry {entry}")]
    Entry {
        /// The table.
        table: Table,
        /// The entry's number in its table, from 1.
        entry: usize,
        /// Why the snapshot refused it.
        source: hallmark::Error,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct List {
    #[serde(default)]
    serial: Vec<SerialEntry>,
    #[serde(default)]
    range: Vec<RangeEntry>,
    #[serde(default)]
    lot: Vec<LotEntry>,
    #[serde(default)]
    key: Vec<KeyEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SerialEntry {
    kid: String,
    serial: u64,
    reason: String,
    date: toml::value::Datetime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeEntry {
    kid: String,
    first: u64,
    last: u64,
    reason: String,
    date: toml::value::Datetime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LotEntry {
    kid: String,
    lot: String,
    reason: String,
    date: toml::value::Datetime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyEntry {
    kid: String,
    from: toml::value::Datetime,
    reason: String,
    date: toml::value::Datetime,
}

/// Reads a revocation list into a snapshot with `sequence`, issued at
/// `issued` (seconds since the Unix epoch), ready to be signed with
/// `SecretKey::sign_snapshot`.
pub fn parse(text: &str, sequence: u64, issued: u64) -> Result<RevocationSnapshot, ListError> {
    let list: List = toml::from_str(text).map_err(|e| ListError::Toml {
        line: e
            .span()
            .and_then(|span| text.get(..span.start))
            .map(|before| before.matches('\n').count() + 1),
        message: e.message().to_owned(),
    })?;
    let mut snapshot = RevocationSnapshot::new(sequence, issued);
    let mut add = |table: Table,
                   i: usize,
                   kid: &str,
                   reason: &str,
                   scope: Result<Scope, &'static str>,
                   date: &toml::value::Datetime| {
        let entry = i + 1;
        let kid: KeyId = kid.parse().map_err(|source| ListError::Kid {
            table,
            entry,
            source,
        })?;
        let reason: Reason = reason.parse().map_err(|source| ListError::Reason {
            table,
            entry,
            source,
        })?;
        let scope = scope.map_err(|field| ListError::Date {
            table,
            entry,
            field,
        })?;
        let date = day(date).ok_or(ListError::Date {
            table,
            entry,
            field: "date",
        })?;
        snapshot
            .add(kid, scope, reason, date)
            .map_err(|source| ListError::Entry {
                table,
                entry,
                source,
            })
    };
    for (i, e) in list.serial.iter().enumerate() {
        let scope = Ok(Scope::Serial(e.serial));
        add(Table::Serial, i, &e.kid, &e.reason, scope, &e.date)?;
    }
    for (i, e) in list.range.iter().enumerate() {
        let scope = Ok(Scope::Range {
            first: e.first,
            last: e.last,
        });
        add(Table::Range, i, &e.kid, &e.reason, scope, &e.date)?;
    }
    for (i, e) in list.lot.iter().enumerate() {
        let scope = Ok(Scope::Lot(e.lot.clone()));
        add(Table::Lot, i, &e.kid, &e.reason, scope, &e.date)?;
    }
    for (i, e) in list.key.iter().enumerate() {
        let scope = day(&e.from).map(|from| Scope::Key { from }).ok_or("from");
        add(Table::Key, i, &e.kid, &e.reason, scope, &e.date)?;
    }
    Ok(snapshot)
}

/// A TOML local date (no time, no offset) as a [`Date`].
fn day(d: &toml::value::Datetime) -> Option<Date> {
    match (d.date, d.time, d.offset) {
        (Some(d), None, None) => Date::from_ymd(d.year.into(), d.month.into(), d.day.into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KID: &str = "8608b1b7";

    fn refused(text: &str) -> ListError {
        match parse(text, 1, 0) {
            Ok(s) => panic!("accepted: {} revocations", s.revocations().len()),
            Err(e) => e,
        }
    }

    #[test]
    fn every_table_is_read_in_order() {
        let text = format!(
            "[[key]]\nkid = \"{KID}\"\nfrom = 2026-06-01\nreason = \"key-compromised\"\n\
             date = 2026-11-02\n\
             [[serial]]\nkid = \"{KID}\"\nserial = 42\nreason = \"stolen\"\ndate = 2026-11-01\n\
             [[range]]\nkid = \"{KID}\"\nfirst = 100\nlast = 199\nreason = \"recalled\"\n\
             date = 2026-11-01\n\
             [[lot]]\nkid = \"{KID}\"\nlot = \"L231212-01\"\nreason = \"destroyed\"\n\
             date = 2026-11-01\n"
        );
        let s = parse(&text, 8, 1_790_000_000).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.sequence, 8);
        let scopes: Vec<&Scope> = s.revocations().iter().map(|r| &r.scope).collect();
        assert_eq!(
            scopes,
            [
                &Scope::Serial(42),
                &Scope::Range {
                    first: 100,
                    last: 199
                },
                &Scope::Lot("L231212-01".to_owned()),
                &Scope::Key {
                    from: Date::from_ymd(2026, 6, 1).unwrap_or_else(|| panic!("date"))
                },
            ]
        );
        assert!(parse("", 1, 0).is_ok_and(|s| s.revocations().is_empty()));
    }

    #[test]
    fn a_bad_kid_names_its_table_and_entry() {
        let ok = format!(
            "[[lot]]\nkid = \"{KID}\"\nlot = \"A\"\nreason = \"stolen\"\ndate = 2026-11-01\n"
        );
        let text = format!("{ok}{}", ok.replace(KID, "zz"));
        let e = refused(&text);
        assert!(
            matches!(
                e,
                ListError::Kid {
                    table: Table::Lot,
                    entry: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "[[lot]] entry 2: kid");
    }

    #[test]
    fn a_bad_reason_is_refused() {
        let e = refused(&format!(
            "[[serial]]\nkid = \"{KID}\"\nserial = 1\nreason = \"lost\"\ndate = 2026-11-01\n"
        ));
        assert!(
            matches!(
                e,
                ListError::Reason {
                    table: Table::Serial,
                    entry: 1,
                    ..
                }
            ),
            "{e:?}"
        );
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert!(cause.is_some_and(|c| c.contains("reason")), "{e:?}");
    }

    #[test]
    fn dates_with_a_time_or_offset_or_no_such_day_are_refused() {
        for date in ["2026-11-01T10:00:00", "2026-11-01T10:00:00Z", "2026-02-30"] {
            let text = format!(
                "[[serial]]\nkid = \"{KID}\"\nserial = 1\nreason = \"stolen\"\ndate = {date}\n"
            );
            match parse(&text, 1, 0) {
                Err(ListError::Date {
                    table: Table::Serial,
                    entry: 1,
                    field: "date",
                }) => {}
                // TOML itself refuses a day that does not exist.
                Err(ListError::Toml { .. }) if date == "2026-02-30" => {}
                other => panic!("{date}: {other:?}"),
            }
        }
        let e = refused(&format!(
            "[[key]]\nkid = \"{KID}\"\nfrom = 2026-06-01T00:00:00\nreason = \"stolen\"\n\
             date = 2026-11-01\n"
        ));
        assert!(
            matches!(
                e,
                ListError::Date {
                    table: Table::Key,
                    entry: 1,
                    field: "from"
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.to_string(), "[[key]] entry 1: dates must be YYYY-MM-DD");
    }

    #[test]
    fn a_date_as_a_string_is_a_toml_error() {
        let e = refused(&format!(
            "[[serial]]\nkid = \"{KID}\"\nserial = 1\nreason = \"stolen\"\ndate = \"soon\"\n"
        ));
        assert!(matches!(e, ListError::Toml { .. }), "{e:?}");
        assert!(e.to_string().contains("date"), "{e}");
    }

    #[test]
    fn unknown_fields_and_tables_are_refused_with_their_line() {
        let e = refused(&format!("[[serial]]\nkid = \"{KID}\"\nserail = 1\n"));
        match &e {
            ListError::Toml { line, message } => {
                assert!(message.contains("serail"), "{message}");
                assert_eq!(*line, Some(3), "{message}");
            }
            e => panic!("{e:?}"),
        }
        let e = refused("[[serials]]\n");
        assert!(e.to_string().contains("serials"), "{e}");
    }

    #[test]
    fn a_range_ending_before_it_starts_is_refused() {
        let e = refused(&format!(
            "[[range]]\nkid = \"{KID}\"\nfirst = 9\nlast = 1\nreason = \"stolen\"\ndate = 2026-11-01\n"
        ));
        assert!(
            matches!(
                e,
                ListError::Entry {
                    table: Table::Range,
                    entry: 1,
                    ..
                }
            ),
            "{e:?}"
        );
        let cause = std::error::Error::source(&e).map(ToString::to_string);
        assert!(cause.is_some_and(|c| c.contains("range")), "{e:?}");
    }

    #[test]
    fn a_bad_lot_is_refused() {
        let e = refused(&format!(
            "[[lot]]\nkid = \"{KID}\"\nlot = \"\"\nreason = \"stolen\"\ndate = 2026-11-01\n"
        ));
        assert!(
            matches!(
                e,
                ListError::Entry {
                    table: Table::Lot,
                    entry: 1,
                    ..
                }
            ),
            "{e:?}"
        );
    }
}
