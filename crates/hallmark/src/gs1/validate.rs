//! Validation of AI values against the dictionary, and of the whole data's
//! associations (`req=`, `ex=`, repeats): the rules every reading form and
//! [`Gs1Data::from_elements`](super::Gs1Data::from_elements) share.

use super::error::Gs1Error;
use super::lint::{check_cset, lint};
use super::table::{AiEntry, lookup, matches_pattern};

/// Most AIs one scan may hold (as GS1's reference engine); keeps the
/// association checks, quadratic in the count, bounded.
pub const MAX_GS1_AIS: usize = 64;

/// Checks one value against its AI's components: each consumes its length
/// in turn, optional ones may be left out once the value is exhausted.
pub(crate) fn check_value(e: &AiEntry, value: &str) -> Result<(), Gs1Error> {
    let invalid = |reason: String| Gs1Error::InvalidValue {
        ai: e.ai.to_owned(),
        reason,
    };
    let data = value.as_bytes();
    if data.is_empty() {
        return Err(invalid("empty value".to_owned()));
    }
    let (min, max) = e.len_range();
    if data.len() > max {
        return Err(invalid(format!(
            "{} long; at most {max} allowed",
            crate::plural(data.len(), "character", "characters")
        )));
    }
    if data.len() < min {
        return Err(invalid(format!(
            "{} long; at least {min} needed",
            crate::plural(data.len(), "character", "characters")
        )));
    }
    let mut pos = 0;
    for c in e.components {
        let rest = data.len() - pos;
        if rest == 0 && c.optional {
            break;
        }
        if rest < c.min {
            return Err(invalid(format!(
                "{} long, which does not fit its format",
                crate::plural(data.len(), "character", "characters")
            )));
        }
        let take = if c.min == c.max {
            c.min
        } else {
            rest.min(c.max)
        };
        let part = data.get(pos..pos + take).unwrap_or_default();
        check_cset(c.cset, part).map_err(invalid)?;
        for &l in c.linters {
            lint(l, part).map_err(invalid)?;
        }
        pos += take;
    }
    if pos < data.len() {
        return Err(invalid(format!(
            "{} long, which does not fit its format",
            crate::plural(data.len(), "character", "characters")
        )));
    }
    Ok(())
}

/// Collects validated elements, then checks the associations.
pub(crate) struct Builder {
    elements: Vec<(String, String)>,
    entries: Vec<&'static AiEntry>,
}

impl Builder {
    pub(crate) fn new() -> Builder {
        Builder {
            // A typical scan (FMD: 01, 17, 10, 21, 8030) fits without growing.
            elements: Vec::with_capacity(6),
            entries: Vec::with_capacity(6),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// Adds one element by AI digits.
    pub(crate) fn push_ai(&mut self, ai: &str, value: &str) -> Result<(), Gs1Error> {
        let entry = lookup(ai).ok_or_else(|| Gs1Error::UnknownAi { ai: ai.to_owned() })?;
        self.push(entry, value)
    }

    /// Adds one element: its value is checked now, a repeat with the same
    /// value is dropped, one with another value refused.
    pub(crate) fn push(&mut self, entry: &'static AiEntry, value: &str) -> Result<(), Gs1Error> {
        if let Some((_, v)) = self.elements.iter().find(|(a, _)| a == entry.ai) {
            if v == value {
                return Ok(());
            }
            return Err(Gs1Error::DuplicateAi {
                ai: entry.ai.to_owned(),
            });
        }
        check_value(entry, value)?;
        if self.elements.len() >= MAX_GS1_AIS {
            return Err(Gs1Error::Syntax {
                reason: "more AIs than the 64 accepted",
                position: 0,
            });
        }
        self.elements.push((entry.ai.to_owned(), value.to_owned()));
        self.entries.push(entry);
        Ok(())
    }

    /// Checks `ex=` then `req=` over the whole data.
    pub(crate) fn finish(self) -> Result<Vec<(String, String)>, Gs1Error> {
        if self.elements.is_empty() {
            return Err(Gs1Error::Syntax {
                reason: "no AI",
                position: 0,
            });
        }
        let entries = &self.entries;
        for e in entries {
            for pattern in e.ex {
                // An AI is not exclusive of itself even if it matches.
                if let Some(other) = entries
                    .iter()
                    .find(|o| o.ai != e.ai && matches_pattern(o.ai, pattern))
                {
                    return Err(Gs1Error::BadAssociation {
                        ai: e.ai.to_owned(),
                        with: other.ai.to_owned(),
                    });
                }
            }
        }
        for e in entries {
            for alternatives in e.req {
                let met = alternatives.iter().any(|group| {
                    group
                        .iter()
                        .all(|p| entries.iter().any(|o| matches_pattern(o.ai, p)))
                });
                if !met {
                    let ai = alternatives
                        .iter()
                        .map(|g| g.join("+"))
                        .collect::<Vec<_>>()
                        .join(" or ");
                    return Err(Gs1Error::MissingAi {
                        ai,
                        reason: format!("required by AI ({})", e.ai),
                    });
                }
            }
        }
        // A digital signature (8030) identifies one item: a GDTI, GCN or
        // GRAI under it must carry its optional serial component (GS1's
        // reference engine checks this beside the dictionary).
        if entries.iter().any(|e| e.ai == "8030") {
            for (e, (_, value)) in entries.iter().zip(&self.elements) {
                let serialised = matches!(e.ai, "253" | "255" | "8003");
                if serialised && value.len() <= e.len_range().0 {
                    return Err(Gs1Error::InvalidValue {
                        ai: e.ai.to_owned(),
                        reason: "a key under a digital signature (8030) needs its serial component"
                            .to_owned(),
                    });
                }
            }
        }
        Ok(self.elements)
    }
}
