//! Key names: one rule for trust-store entries and issuer key files.

use crate::error::{Error, FieldError};

/// A key's name: 1 to 64 characters of `A-Z a-z 0-9 . _ -`, not starting with
/// `.`. The same rule holds in a trust store and for an issuer key, whose name is
/// also the name of its key files (docs/FORMAT.md §9).
///
/// ```
/// use hallmark::Name;
/// assert_eq!(Name::new("acme-2024")?.as_str(), "acme-2024");
/// assert!(Name::new(".hidden").is_err());
/// assert!(Name::new("a/b").is_err());
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

impl Name {
    /// Longest name, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Checks `name` against the rule.
    pub fn new(name: &str) -> Result<Name, Error> {
        if Name::is_valid(name) {
            Ok(Name(name.to_owned()))
        } else {
            Err(FieldError::InvalidField {
                field: "key name",
                reason: "use 1 to 64 characters of A-Z a-z 0-9 . _ - (not starting with .)",
            }
            .into())
        }
    }

    /// Whether `name` follows the rule.
    pub fn is_valid(name: &str) -> bool {
        (1..=Name::MAX_LEN).contains(&name.len())
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl core::fmt::Display for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::str::FromStr for Name {
    type Err = Error;
    fn from_str(s: &str) -> Result<Name, Error> {
        Name::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_key_name() {
        for good in [
            "a",
            "acme-2024",
            "demo-TEST-ONLY",
            "a.b_c-d",
            "x.",
            &"x".repeat(64),
        ] {
            assert!(Name::new(good).is_ok(), "{good:?}");
        }
        for bad in ["", ".", "..", ".hidden", "a b", "a/b", "é", &"x".repeat(65)] {
            assert!(Name::new(bad).is_err(), "{bad:?}");
        }
    }
}
