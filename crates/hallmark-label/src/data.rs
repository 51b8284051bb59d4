//! What a label's symbol holds: the QR alphanumeric character set, the checked
//! verification-URL prefix, and the data of a symbol for a code or a URL.
//!
//! A code's text is Crockford base32 in upper case, which QR alphanumeric mode
//! holds (0-9 A-Z space $ % * + - . / :) at 5.5 bits a character instead of 8.
//! A verification URL stays in that mode only in upper case and without `?`,
//! `#`, `_` or lower-case letters: [`UrlPrefix`] accepts only such prefixes.

use hallmark::UnverifiedCode;

use crate::symbol::qr;

/// Whether QR alphanumeric mode holds `c` (0-9 A-Z space $ % * + - . / :),
/// the set the QR encoder itself uses.
pub fn is_qr_alphanumeric(c: char) -> bool {
    u8::try_from(c)
        .ok()
        .and_then(qr::alphanumeric_value)
        .is_some()
}

/// Why a verification-URL prefix was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlPrefixError {
    /// The prefix is not an `https://` or `http://` URL.
    #[error("{prefix:?}: must start with https:// or http://")]
    NoScheme {
        /// The prefix as given.
        prefix: String,
    },
    /// A character QR alphanumeric mode does not hold, even in upper case.
    #[error("{prefix:?}: {bad:?} is outside QR alphanumeric mode (0-9 A-Z $ % * + - . / :)")]
    NotAlphanumeric {
        /// The prefix as given.
        prefix: String,
        /// The first offending character (upper-cased).
        bad: char,
    },
    /// A space (the only alphanumeric character a URL prefix cannot hold).
    #[error("{prefix:?}: no spaces, query or fragment")]
    SpaceQueryOrFragment {
        /// The prefix as given.
        prefix: String,
    },
}

/// A checked verification-URL prefix: `http://` or `https://`, upper case,
/// only QR alphanumeric characters, no space, query or fragment, ending in `/`.
/// A code appended to it gives a URL a QR symbol holds in alphanumeric mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlPrefix(String);

impl UrlPrefix {
    /// Checks `prefix` and returns it upper-cased, ending in `/`.
    ///
    /// ```
    /// use hallmark_label::data::UrlPrefix;
    /// let p = UrlPrefix::parse("https://hm.example.com/c").unwrap();
    /// assert_eq!(p.as_str(), "HTTPS://HM.EXAMPLE.COM/C/");
    /// assert!(UrlPrefix::parse("https://hm.example.com/c?x=").is_err());
    /// ```
    pub fn parse(prefix: &str) -> Result<UrlPrefix, UrlPrefixError> {
        let upper = prefix.to_ascii_uppercase();
        if !(upper.starts_with("HTTPS://") || upper.starts_with("HTTP://")) {
            return Err(UrlPrefixError::NoScheme {
                prefix: prefix.to_owned(),
            });
        }
        if let Some(bad) = upper.chars().find(|&c| !is_qr_alphanumeric(c)) {
            return Err(UrlPrefixError::NotAlphanumeric {
                prefix: prefix.to_owned(),
                bad,
            });
        }
        // `?` and `#` are already outside the alphanumeric set; a space is not.
        if upper.contains(['?', '#', ' ']) {
            return Err(UrlPrefixError::SpaceQueryOrFragment {
                prefix: prefix.to_owned(),
            });
        }
        Ok(UrlPrefix(if upper.ends_with('/') {
            upper
        } else {
            upper + "/"
        }))
    }

    /// The prefix, upper case, ending in `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }

    /// The verification URL of `code` (its canonical text).
    pub fn url(&self, code: &str) -> String {
        format!("{}{code}", self.0)
    }
}

impl std::fmt::Display for UrlPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the symbol for `input` holds, given the code it decoded to: the
/// canonical text, or for a verification URL the URL in upper case with its
/// last segment replaced by the canonical text (grouping removed).
pub fn symbol_data(input: &str, code: &UnverifiedCode) -> String {
    let input = input.trim();
    let is_url = ["https://", "http://"].iter().any(|scheme| {
        input
            .get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    });
    match input.rsplit_once('/') {
        // `decode` accepted it, so a URL ends in "/CODE".
        Some((base, _)) if is_url => format!("{}/{}", base.to_ascii_uppercase(), code.to_text()),
        _ => code.to_text(),
    }
}

#[cfg(test)]
mod tests;
