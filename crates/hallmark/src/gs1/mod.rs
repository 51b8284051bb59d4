//! GS1 data: Application Identifier (AI) element strings as scanners emit
//! them, read with no I/O and validated against the GS1 Barcode Syntax
//! Dictionary (docs/FORMAT.md §20), and hallmark's signature inside them in
//! AI 8030 (the GS1 profile, §21).
//!
//! Accepted forms of one scan ([`Gs1Data::parse`]):
//!
//! - AIM-prefixed element strings (`]d2`, `]Q3`, `]C1`, `]e0`, `]J1`): FNC1 in
//!   first position implied, separators as ASCII GS (0x1D), a leading GS
//!   accepted;
//! - the `^` separator convention (`^01…^21…`);
//! - bracketed human-readable text (`(01)…(21)…`);
//! - GS1 Digital Link URIs (`https://any-stem/01/{gtin}/21/{serial}?17=…`).

mod codes;
mod coupon;
mod digital_link;
mod error;
mod lint;
pub(crate) use lint::check_digit;
mod parse;
mod signed;
mod table;
mod template;
#[cfg(test)]
mod tests;
mod validate;

pub use error::Gs1Error;
pub use signed::{
    AI_SIGNATURE, GS1_PROFILE_V1, GS1_PROFILE_V1_POOL, GS1_SIGNATURE_CHARS, GS1_SIGNATURE_LEN,
    GS1_SIGNING_TAG, GS1_UNIT_CONTEXT, Gs1Unit, SHORT_KID_LEN, SerialSource, ShortKid,
    UnsignedGs1Unit, pool_unit_number, signature_value,
};
pub use table::{AiInfo, DICTIONARY_REVISION, ai_info, is_predefined_length};
pub use template::Gs1Template;
pub use validate::MAX_GS1_AIS;

use crate::error::Error;
use validate::Builder;

/// The GS separator (ASCII 0x1D) that ends a variable-length AI's value when
/// another AI follows.
pub const GS: char = '\u{1d}';

/// Longest GS1 scan [`Gs1Data::parse`] looks at, in bytes; longer input is
/// refused before any other work.
pub const MAX_GS1_INPUT_LEN: usize = 1024;

/// AIM symbology identifiers of symbols that carry GS1 data (FNC1 in first
/// position): Data Matrix, QR Code, Code 128, DataBar, DotCode.
pub const GS1_AIM_IDS: [&str; 5] = ["]d2", "]Q3", "]C1", "]e0", "]J1"];

/// How separators are written in an element string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Separator {
    /// ASCII GS (0x1D) between a variable-length value and the next AI; no
    /// leading FNC1 (it is the symbol's, not the data's).
    Gs,
    /// `^` for FNC1: a leading `^`, and `^` between a variable-length value
    /// and the next AI.
    Caret,
}

/// Validated GS1 data: AIs and their values in the order they were read,
/// each AI at most once (an AI repeated with the same value is kept once).
///
/// Every value has been checked against the GS1 Barcode Syntax Dictionary
/// (length, character set, check digits, dates, code lists) and the whole
/// against its associations (`req=`, `ex=`), whichever way it was built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gs1Data {
    elements: Vec<(String, String)>,
}

/// Scanners end lines with CR/LF and sometimes pad with spaces; GS is data.
fn trim_scan(input: &str) -> (&str, usize) {
    let is_pad = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let trimmed = input.trim_start_matches(is_pad);
    let offset = input.len() - trimmed.len();
    (trimmed.trim_end_matches(is_pad), offset)
}

impl Gs1Data {
    /// Parses one scan in any accepted form and validates every AI:
    ///
    /// - an AIM-prefixed element string (`]d2`, `]Q3`, `]C1`, `]e0`, `]J1`),
    ///   GS separators, a leading GS accepted;
    /// - a bare element string starting with GS;
    /// - the `^` convention (a leading `^` for FNC1, `^` separators);
    /// - bracketed HRI, `(01)…(10)…`;
    /// - a GS1 Digital Link URI, `https://host/…/01/{gtin}/10/{lot}?17=…`.
    ///
    /// ```
    /// use hallmark::gs1::{Gs1Data, Separator};
    ///
    /// let scan = "]d20109506000134352172512311012AB\u{1d}21XYZ";
    /// let data = Gs1Data::parse(scan)?;
    /// assert_eq!(data.get("10"), Some("12AB"));
    /// assert_eq!(data.to_hri(), "(01)09506000134352(17)251231(10)12AB(21)XYZ");
    /// let dl = data.to_digital_link("https://id.example.com")?;
    /// assert_eq!(dl, "https://id.example.com/01/09506000134352/10/12AB/21/XYZ?17=251231");
    /// assert_eq!(Gs1Data::parse(&dl)?.get("17"), Some("251231"));
    ///
    /// // Errors name the AI.
    /// let err = Gs1Data::parse("]d20109506000134353").unwrap_err();
    /// assert_eq!(err.to_string(), "invalid value for AI (01): check digit should be 2");
    /// # Ok::<(), hallmark::Error>(())
    /// ```
    pub fn parse(input: &str) -> Result<Gs1Data, Error> {
        Ok(Self::parse_gs1(input)?)
    }

    /// [`Gs1Data::parse`] with the GS1 error itself.
    pub fn parse_gs1(input: &str) -> Result<Gs1Data, Gs1Error> {
        if input.len() > MAX_GS1_INPUT_LEN {
            return Err(Gs1Error::TooLong {
                len: input.len(),
                max: MAX_GS1_INPUT_LEN,
            });
        }
        let (s, offset) = trim_scan(input);
        let elements = if let Some(rest) = GS1_AIM_IDS.iter().find_map(|id| s.strip_prefix(id)) {
            let (rest, skipped) = match rest.strip_prefix(GS) {
                Some(r) => (r, 4),
                None => (rest, 3),
            };
            parse::element_string(rest, GS as u8, offset + skipped)?
        } else if let Some(rest) = s.strip_prefix(GS) {
            parse::element_string(rest, GS as u8, offset + 1)?
        } else if let Some(rest) = s.strip_prefix('^') {
            parse::element_string(rest, b'^', offset + 1)?
        } else if s.starts_with('(') {
            parse::hri(s, offset)?
        } else if s.starts_with(|c: char| c.is_ascii_digit()) && s.contains(GS) {
            // The bare data of a GS1 symbol (`hallmark gs1 sign --format
            // element`): FNC1 in first position implied, as after `]d2`.
            parse::element_string(s, GS as u8, offset)?
        } else if digital_link::strip_scheme(s).is_some() {
            digital_link::parse(s)?
        } else {
            return Err(Gs1Error::Syntax {
                reason: "not GS1 data: no GS1 AIM identifier, FNC1, '(' or Digital Link URI",
                position: offset + 1,
            });
        };
        Ok(Gs1Data { elements })
    }

    /// Reads an element string as the data of a GS1 symbol after its FNC1 in
    /// first position: AIs, values and GS (0x1D) separators, no AIM prefix.
    pub fn from_element_string(s: &str) -> Result<Gs1Data, Error> {
        Self::check_len(s)?;
        Ok(Gs1Data {
            elements: parse::element_string(s, GS as u8, 0)?,
        })
    }

    /// Reads bracketed HRI, `(01)…(10)…` (`\(` is a literal `(` in a value).
    pub fn from_hri(s: &str) -> Result<Gs1Data, Error> {
        Self::check_len(s)?;
        Ok(Gs1Data {
            elements: parse::hri(s, 0)?,
        })
    }

    /// Reads a GS1 Digital Link URI.
    pub fn from_digital_link(s: &str) -> Result<Gs1Data, Error> {
        Self::check_len(s)?;
        Ok(Gs1Data {
            elements: digital_link::parse(s)?,
        })
    }

    fn check_len(s: &str) -> Result<(), Gs1Error> {
        if s.len() > MAX_GS1_INPUT_LEN {
            return Err(Gs1Error::TooLong {
                len: s.len(),
                max: MAX_GS1_INPUT_LEN,
            });
        }
        Ok(())
    }

    /// Validated data from (AI, value) pairs, in this order: the same checks
    /// as [`Gs1Data::parse`] (values, repeats, associations).
    pub fn from_elements<A: AsRef<str>, V: AsRef<str>>(
        elements: impl IntoIterator<Item = (A, V)>,
    ) -> Result<Gs1Data, Error> {
        let mut builder = Builder::new();
        for (ai, value) in elements {
            builder.push_ai(ai.as_ref(), value.as_ref())?;
        }
        Ok(Gs1Data {
            elements: builder.finish()?,
        })
    }

    /// The AIs and values, in order.
    pub fn elements(&self) -> impl Iterator<Item = (&str, &str)> {
        self.elements.iter().map(|(a, v)| (a.as_str(), v.as_str()))
    }

    /// The value of `ai`, if present.
    pub fn get(&self, ai: &str) -> Option<&str> {
        self.elements
            .iter()
            .find(|(a, _)| a == ai)
            .map(|(_, v)| v.as_str())
    }

    /// The element string, AIs in stored order (no AIM prefix): a separator
    /// after each value whose AI is not of predefined length, unless last.
    pub fn to_element_string(&self, separator: Separator) -> String {
        let sep = match separator {
            Separator::Gs => GS,
            Separator::Caret => '^',
        };
        let mut out = String::with_capacity(
            self.elements
                .iter()
                .map(|(a, v)| a.len() + v.len() + 1)
                .sum::<usize>()
                + 1,
        );
        if separator == Separator::Caret {
            out.push('^');
        }
        let last = self.elements.len().saturating_sub(1);
        for (i, (ai, value)) in self.elements.iter().enumerate() {
            out.push_str(ai);
            out.push_str(value);
            if i != last && !is_predefined_length(ai) {
                out.push(sep);
            }
        }
        out
    }

    /// The bracketed form with the AIs sorted and 8030 last: the canonical
    /// text of a signed unit (one spelling whatever order it was read in).
    pub(crate) fn to_sorted_hri(&self) -> String {
        let mut sorted: Vec<&(String, String)> = self.elements.iter().collect();
        sorted.sort_unstable_by_key(|(a, _)| (a.as_str() == signed::AI_SIGNATURE, a.as_str()));
        hri(sorted.into_iter())
    }

    /// The bracketed human-readable form, `(01)…(21)…`; a `(` in a value is
    /// written `\(`.
    pub fn to_hri(&self) -> String {
        hri(self.elements.iter())
    }

    /// The GS1 Digital Link URI under `stem` (e.g. `https://id.example.com`,
    /// a trailing `/` dropped): the first primary key in stored order and its
    /// qualifiers in the path, every other AI a query attribute in stored
    /// order, values percent-encoded. Refuses data without a primary key and
    /// AIs the dictionary does not allow as Digital Link attributes.
    pub fn to_digital_link(&self, stem: &str) -> Result<String, Error> {
        Ok(digital_link::write(&self.elements, stem)?)
    }
}

/// The bracketed form of `elements`; a `(` in a value is written `\\(`.
fn hri<'a>(elements: impl Iterator<Item = &'a (String, String)>) -> String {
    let mut out = String::with_capacity(128);
    for (ai, value) in elements {
        out.push('(');
        out.push_str(ai);
        out.push(')');
        for c in value.chars() {
            if c == '(' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// Whether `input` is to be read as GS1 data rather than a v1 code (the rule
/// of docs/FORMAT.md §20.1; the two never collide): after trimming spaces
/// and line ends it starts with a GS1 AIM identifier (`]d2`, `]Q3`, `]C1`,
/// `]e0`, `]J1`), `^`, `(` or GS, or it is an http(s) URL whose path holds
/// a Digital Link primary key followed by a value that fits it.
///
/// ```
/// use hallmark::gs1::is_gs1_input;
///
/// assert!(is_gs1_input("]d2010950600013435221ABC"));
/// assert!(is_gs1_input("(01)09506000134352(21)ABC"));
/// assert!(is_gs1_input("https://id.example.com/01/09506000134352/21/ABC"));
/// assert!(!is_gs1_input("]Q10630-HCDQ-MG01"));
/// assert!(!is_gs1_input("HTTPS://HALLMARK.EXAMPLE/C/0630HCDQMG01"));
/// ```
pub fn is_gs1_input(input: &str) -> bool {
    let (s, _) = trim_scan(input);
    if GS1_AIM_IDS.iter().any(|id| s.starts_with(id)) || s.starts_with(['^', '(', GS]) {
        return true;
    }
    // A v1 code never holds a GS: digits with a GS are a bare element string.
    if s.starts_with(|c: char| c.is_ascii_digit()) && s.contains(GS) {
        return true;
    }
    digital_link::strip_scheme(s).is_some_and(digital_link::looks_like_digital_link)
}
