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

mod error;
mod signed;
mod template;

pub use error::Gs1Error;
pub use signed::{
    AI_SIGNATURE, GS1_PROFILE_V1, GS1_PROFILE_V1_POOL, GS1_SIGNATURE_CHARS, GS1_SIGNATURE_LEN,
    GS1_SIGNING_TAG, GS1_UNIT_CONTEXT, Gs1Unit, SHORT_KID_LEN, SerialSource, ShortKid,
    UnsignedGs1Unit, pool_unit_number, signature_value,
};
pub use template::Gs1Template;

use crate::error::Error;

/// The GS separator (ASCII 0x1D) that ends a variable-length AI's value when
/// another AI follows.
pub const GS: char = '\u{1d}';

/// Longest GS1 scan [`Gs1Data::parse`] looks at, in bytes; longer input is
/// refused before any other work.
pub const MAX_GS1_INPUT_LEN: usize = 1024;

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gs1Data {
    elements: Vec<(String, String)>,
}

impl Gs1Data {
    /// Parses one scan in any accepted form and validates every AI.
    pub fn parse(input: &str) -> Result<Gs1Data, Error> {
        let _ = input;
        Err(Gs1Error::Syntax {
            reason: "GS1 parsing is not built yet",
            position: 0,
        }
        .into())
    }

    /// Validated data from (AI, value) pairs, in this order.
    pub fn from_elements<A: AsRef<str>, V: AsRef<str>>(
        elements: impl IntoIterator<Item = (A, V)>,
    ) -> Result<Gs1Data, Error> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (ai, value) in elements {
            let (ai, value) = (ai.as_ref(), value.as_ref());
            match out.iter().find(|(a, _)| a == ai) {
                Some((_, v)) if v == value => {}
                Some(_) => return Err(Gs1Error::DuplicateAi { ai: ai.to_owned() }.into()),
                None => out.push((ai.to_owned(), value.to_owned())),
            }
        }
        Ok(Gs1Data { elements: out })
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

    /// The element string, AIs in stored order (no AIM prefix).
    pub fn to_element_string(&self, separator: Separator) -> String {
        let _ = separator;
        String::new()
    }

    /// The bracketed human-readable form, `(01)…(21)…`.
    pub fn to_hri(&self) -> String {
        self.elements
            .iter()
            .map(|(a, v)| format!("({a}){v}"))
            .collect()
    }

    /// The GS1 Digital Link URI under `stem` (e.g. `https://id.example.com`).
    pub fn to_digital_link(&self, stem: &str) -> Result<String, Error> {
        let _ = stem;
        Err(Gs1Error::DigitalLink {
            reason: "not built yet",
        }
        .into())
    }
}

/// Whether `input` is to be read as GS1 data rather than a v1 code (the rule
/// of docs/FORMAT.md §20.1; the two never collide).
pub fn is_gs1_input(input: &str) -> bool {
    let _ = input;
    false
}
