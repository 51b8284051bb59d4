//! The AI table, generated at build time from the GS1 Barcode Syntax
//! Dictionary (`data/gs1-syntax-dictionary.txt`, Apache-2.0, GS1 AISBL; see
//! `data/README.md`) by `build.rs`.

/// The dictionary this table was generated from.
pub const DICTIONARY_REVISION: &str = "gs1/gs1-syntax-dictionary commit ff2eb4b";

/// Character set of a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cset {
    /// Digits.
    N,
    /// GS1 AI encodable character set 82.
    X,
    /// GS1 AI encodable character set 39.
    Y,
    /// base64url (with optional `=` padding).
    Z,
}

/// A check routine of the dictionary ("linter"), implemented in `lint.rs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Linter {
    Couponcode,
    Couponposoffer,
    Csum,
    Csumalpha,
    Gcppos1,
    Gcppos2,
    Hasnondigit,
    Hh,
    Hhmi,
    Hyphen,
    Iban,
    Importeridx,
    Iso3166,
    Iso3166999,
    Iso3166Alpha2,
    Iso4217,
    Iso5218,
    Latitude,
    Longitude,
    Mediatype,
    Mi,
    Nonzero,
    Nozeroprefix,
    Packagetype,
    Pcenc,
    Pieceoftotal,
    Posinseqslash,
    Ss,
    Winding,
    Yesno,
    Yymmd0,
    Yymmdd,
    #[allow(dead_code)] // implemented; no AI of this dictionary revision uses it
    Yyyymmd0,
    Yyyymmdd,
    Zero,
}

/// One component of an AI's value: a character set, a length and checks.
#[derive(Debug)]
pub(crate) struct Component {
    pub(crate) cset: Cset,
    pub(crate) min: usize,
    pub(crate) max: usize,
    pub(crate) optional: bool,
    pub(crate) linters: &'static [Linter],
}

/// One AI of the dictionary.
#[derive(Debug)]
pub(crate) struct AiEntry {
    pub(crate) ai: &'static str,
    /// `*`: predefined length, no separator follows the value.
    pub(crate) predefined: bool,
    /// `?`: allowed as a Digital Link data attribute (query parameter).
    pub(crate) dl_attr: bool,
    pub(crate) components: &'static [Component],
    /// Each `req=` attribute: alternatives, each a group of AI patterns that
    /// must all be present.
    pub(crate) req: &'static [&'static [&'static [&'static str]]],
    /// `ex=`: AI patterns that may not appear with this AI.
    pub(crate) ex: &'static [&'static str],
    /// `dlpkey`: a Digital Link primary key, with its alternative ordered
    /// qualifier sequences (one empty sequence: no qualifiers).
    pub(crate) dlpkey: Option<&'static [&'static [&'static str]]>,
    pub(crate) title: &'static str,
}

impl AiEntry {
    /// Shortest and longest value.
    pub(crate) fn len_range(&self) -> (usize, usize) {
        let min = self
            .components
            .iter()
            .filter(|c| !c.optional)
            .map(|c| c.min)
            .sum();
        let max = self.components.iter().map(|c| c.max).sum();
        (min, max)
    }
}

include!(concat!(env!("OUT_DIR"), "/gs1_ai_table.rs"));

/// The table entry of `ai` (no allocation: a binary search on the sorted table).
pub(crate) fn lookup(ai: &str) -> Option<&'static AiEntry> {
    AI_TABLE
        .binary_search_by(|e| e.ai.cmp(ai))
        .ok()
        .and_then(|i| AI_TABLE.get(i))
}

/// The AI at the start of `digits` (AIs are prefix-free: at most one of the
/// 2-, 3- and 4-digit prefixes is in the table).
pub(crate) fn lookup_prefix(digits: &[u8]) -> Option<&'static AiEntry> {
    (2..=4).find_map(|n| {
        let head = digits.get(..n)?;
        if !head.iter().all(u8::is_ascii_digit) {
            return None;
        }
        lookup(std::str::from_utf8(head).ok()?)
    })
}

/// Whether `ai` matches a dictionary pattern: the same length, each `n` of
/// the pattern standing for any digit (`310n`, `35nn`).
pub(crate) fn matches_pattern(ai: &str, pattern: &str) -> bool {
    ai.len() == pattern.len()
        && ai
            .bytes()
            .zip(pattern.bytes())
            .all(|(a, p)| a == p || (p == b'n' && a.is_ascii_digit()))
}

/// A public view of one AI of the dictionary ([`ai_info`]).
#[derive(Clone, Copy, Debug)]
pub struct AiInfo(&'static AiEntry);

impl AiInfo {
    /// The AI's digits.
    pub fn ai(&self) -> &'static str {
        self.0.ai
    }

    /// The dictionary's short title (e.g. `GTIN`, `BATCH/LOT`).
    pub fn title(&self) -> &'static str {
        self.0.title
    }

    /// Whether the value has a predefined length, so no separator follows it.
    pub fn is_predefined_length(&self) -> bool {
        self.0.predefined
    }

    /// Whether the AI may be a GS1 Digital Link data attribute (query).
    pub fn is_dl_attribute(&self) -> bool {
        self.0.dl_attr
    }

    /// Whether the AI is a GS1 Digital Link primary key.
    pub fn is_dl_primary_key(&self) -> bool {
        self.0.dlpkey.is_some()
    }

    /// Shortest and longest value, in characters.
    pub fn value_len(&self) -> (usize, usize) {
        self.0.len_range()
    }
}

/// What the dictionary says about `ai`, or `None` for an unknown AI.
///
/// ```
/// let gtin = hallmark::gs1::ai_info("01").unwrap();
/// assert_eq!(gtin.title(), "GTIN");
/// assert!(gtin.is_predefined_length());
/// assert!(hallmark::gs1::ai_info("89").is_none());
/// ```
pub fn ai_info(ai: &str) -> Option<AiInfo> {
    lookup(ai).map(AiInfo)
}

/// Whether `ai` is a known AI whose value has a predefined length (no
/// separator follows it in an element string).
pub fn is_predefined_length(ai: &str) -> bool {
    lookup(ai).is_some_and(|e| e.predefined)
}
