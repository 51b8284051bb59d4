//! Why GS1 data was refused.

/// What is wrong with a GS1 scan or a GS1 unit: each kind names the AI.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Gs1Error {
    /// The input is longer than accepted; refused before any work.
    #[error("GS1 input is {len} bytes long; the most accepted is {max}")]
    TooLong {
        /// Length of the input.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not GS1 syntax at this position (a truncated AI, an empty value, a
    /// character no AI allows, a missing FNC1).
    #[error("GS1 syntax error at character {position}: {reason}")]
    Syntax {
        /// What was wrong.
        reason: &'static str,
        /// 1-based character position in the input.
        position: usize,
    },
    /// An AI the GS1 Barcode Syntax Dictionary does not define.
    #[error("unknown GS1 Application Identifier ({ai})")]
    UnknownAi {
        /// The digits read as the AI.
        ai: String,
    },
    /// A value that breaks its AI's format (length, character set, check
    /// digit, date).
    #[error("invalid value for AI ({ai}): {reason}")]
    InvalidValue {
        /// The AI.
        ai: String,
        /// What was wrong.
        reason: String,
    },
    /// An AI that the data must hold is missing (a `req=` association of the
    /// dictionary, or a field the hallmark GS1 profile needs).
    #[error("missing AI ({ai}): {reason}")]
    MissingAi {
        /// The AI (or alternatives, `01 or 02`) that is missing.
        ai: String,
        /// Which AI or rule needs it.
        reason: String,
    },
    /// One AI given twice with different values.
    #[error("AI ({ai}) appears twice with different values")]
    DuplicateAi {
        /// The AI.
        ai: String,
    },
    /// Two AIs that may not appear together (an `ex=` association).
    #[error("AI ({ai}) may not appear with AI ({with})")]
    BadAssociation {
        /// The AI.
        ai: String,
        /// The AI it excludes.
        with: String,
    },
    /// Well-formed GS1 data without a signature (AI 8030): it cannot be
    /// verified offline.
    #[error("GS1 data without a signature (AI 8030): it cannot be verified offline")]
    Unsigned,
    /// A GS1 Digital Link URI that does not follow the Digital Link syntax.
    #[error("invalid GS1 Digital Link URI: {reason}")]
    DigitalLink {
        /// What was wrong.
        reason: &'static str,
    },
    /// A GS1 Digital Link URI that puts this AI where the Digital Link
    /// syntax does not allow it (a query attribute without the dictionary's
    /// `?` flag, a key qualifier in the query, qualifiers out of order).
    #[error("invalid GS1 Digital Link URI: AI ({ai}): {reason}")]
    DigitalLinkAi {
        /// The AI.
        ai: String,
        /// What was wrong.
        reason: &'static str,
    },
}

impl Gs1Error {
    /// A stable, kebab-case name for this error.
    pub fn kind(&self) -> &'static str {
        match self {
            Gs1Error::TooLong { .. } => "too-long",
            Gs1Error::Syntax { .. } => "gs1-syntax",
            Gs1Error::UnknownAi { .. } => "unknown-ai",
            Gs1Error::InvalidValue { .. } => "invalid-ai-value",
            Gs1Error::MissingAi { .. } => "missing-ai",
            Gs1Error::DuplicateAi { .. } => "duplicate-ai",
            Gs1Error::BadAssociation { .. } => "bad-association",
            Gs1Error::DigitalLink { .. } | Gs1Error::DigitalLinkAi { .. } => "invalid-digital-link",
            Gs1Error::Unsigned => "unsigned",
        }
    }

    /// The AI the error is about, if one.
    pub fn ai(&self) -> Option<&str> {
        match self {
            Gs1Error::UnknownAi { ai }
            | Gs1Error::InvalidValue { ai, .. }
            | Gs1Error::MissingAi { ai, .. }
            | Gs1Error::DuplicateAi { ai }
            | Gs1Error::BadAssociation { ai, .. }
            | Gs1Error::DigitalLinkAi { ai, .. } => Some(ai),
            _ => None,
        }
    }
}
