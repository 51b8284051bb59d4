//! Size limits: the largest symbol a label has room for.

use std::fmt;
use std::str::FromStr;

use super::{Symbol, SymbolError};

/// The largest symbol a label has room for. Data that needs a larger symbol
/// is refused ([`SymbolError::TooLarge`]), never printed larger.
///
/// Parsed from text as `44x44` or `44` (modules per side, any symbology;
/// quiet zone not included) or `v9` (QR version, QR only).
///
/// ```
/// use hallmark_label::symbol::SizeLimit;
///
/// assert_eq!("44x44".parse(), Ok(SizeLimit::Modules(44)));
/// assert_eq!("v9".parse(), Ok(SizeLimit::QrVersion(9)));
/// assert!("44x48".parse::<SizeLimit>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SizeLimit {
    /// At most this many modules wide and high, quiet zone not included.
    Modules(usize),
    /// A QR symbol of at most this version (1 to 40).
    QrVersion(u8),
}

impl SizeLimit {
    /// Whether a symbol of `dimensions` is within the limit, or `None` if the
    /// limit does not apply to `symbol`.
    pub fn allows(self, symbol: Symbol, dimensions: Dimensions) -> Option<bool> {
        match (self, symbol) {
            (SizeLimit::Modules(side), _) => {
                Some(dimensions.width <= side && dimensions.height <= side)
            }
            (SizeLimit::QrVersion(max), Symbol::Qr) => {
                dimensions.qr_version.map(|version| version <= max)
            }
            (SizeLimit::QrVersion(_), Symbol::DataMatrix) => None,
        }
    }
}

impl fmt::Display for SizeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeLimit::Modules(side) => write!(f, "{side}x{side} modules"),
            SizeLimit::QrVersion(version) => write!(f, "QR version {version}"),
        }
    }
}

/// Text that is not a [`SizeLimit`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid size limit {text:?}: give modules per side as 44x44 or 44 (1 to 144), \
     or a QR version as v9 (1 to 40)"
)]
pub struct ParseSizeLimitError {
    text: String,
}

impl FromStr for SizeLimit {
    type Err = ParseSizeLimitError;

    fn from_str(text: &str) -> Result<SizeLimit, ParseSizeLimitError> {
        let err = || ParseSizeLimitError {
            text: text.to_owned(),
        };
        let number = |s: &str| -> Result<u16, ParseSizeLimitError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 3 {
                return Err(err());
            }
            s.parse().map_err(|_| err())
        };
        if let Some(version) = text.strip_prefix(['v', 'V']) {
            let version = number(version)?;
            return match u8::try_from(version) {
                Ok(v @ 1..=40) => Ok(SizeLimit::QrVersion(v)),
                _ => Err(err()),
            };
        }
        let side = match text.split_once(['x', 'X']) {
            Some((w, h)) if w == h => number(w)?,
            Some(_) => return Err(err()),
            None => number(text)?,
        };
        match side {
            // 10 modules: the smallest Data Matrix; 177: QR version 40.
            1..=177 => Ok(SizeLimit::Modules(usize::from(side))),
            _ => Err(err()),
        }
    }
}

/// The size of a symbol, quiet zone not included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dimensions {
    /// Width in modules.
    pub width: usize,
    /// Height in modules.
    pub height: usize,
    /// The QR version, for a QR symbol.
    pub qr_version: Option<u8>,
}

impl fmt::Display for Dimensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(version) = self.qr_version {
            write!(f, "version {version} ({}x{})", self.width, self.height)
        } else {
            write!(f, "{}x{}", self.width, self.height)
        }
    }
}

/// Refuses a symbol of `needed` that `limit` does not allow.
pub(super) fn check_limit(
    symbol: Symbol,
    needed: Dimensions,
    limit: Option<SizeLimit>,
) -> Result<(), SymbolError> {
    let Some(limit) = limit else {
        return Ok(());
    };
    match limit.allows(symbol, needed) {
        Some(true) => Ok(()),
        Some(false) => Err(SymbolError::TooLarge {
            symbol,
            needed,
            limit,
        }),
        None => Err(SymbolError::LimitMismatch { symbol, limit }),
    }
}

#[cfg(test)]
mod tests;
