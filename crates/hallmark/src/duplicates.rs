//! Duplicate detection beside the verdict: which accepted codes repeat a
//! serial seen earlier in the same input, or in an earlier run (a journal the
//! caller keeps). Pure: no I/O; the caller says what an earlier run saw.

use crate::key::KeyId;
use crate::runs::{Runs, Step};

/// Where a repeated serial was first seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstSighting {
    /// Earlier in this input, on this line (or argument, or image code) number.
    Line(usize),
    /// In an earlier run (the caller's journal says when and where).
    EarlierRun,
}

/// The first sightings of one input, by (key id, serial): a [`Runs`] of line
/// numbers, flat in the input's size when labels are scanned in order.
///
/// ```
/// use hallmark::KeyId;
/// use hallmark::duplicates::{DuplicateIndex, FirstSighting};
/// let kid = KeyId::from_bytes([1, 2, 3, 4]);
/// let mut index = DuplicateIndex::default();
/// assert_eq!(index.sight(kid, 7, 1, false), None);
/// assert_eq!(index.sight(kid, 8, 2, true), Some(FirstSighting::EarlierRun));
/// assert_eq!(index.sight(kid, 7, 3, false), Some(FirstSighting::Line(1)));
/// ```
#[derive(Default)]
pub struct DuplicateIndex {
    here: Runs<FirstLine>,
}

impl DuplicateIndex {
    /// Notes an accepted code with `serial` under `kid` on `line`;
    /// `in_earlier_run` says whether an earlier run (the caller's journal)
    /// already saw it. Returns where it was first seen if this is a repeat:
    /// a line of this input wins over an earlier run only when this input
    /// saw it first (an earlier run's sighting is always older).
    pub fn sight(
        &mut self,
        kid: KeyId,
        serial: u64,
        line: usize,
        in_earlier_run: bool,
    ) -> Option<FirstSighting> {
        let first = if in_earlier_run {
            FirstLine(FROM_EARLIER_RUN)
        } else {
            FirstLine(u32::try_from(line).unwrap_or(FROM_EARLIER_RUN - 1))
        };
        match self.here.insert(kid, serial, first) {
            None if in_earlier_run => Some(FirstSighting::EarlierRun),
            None => None,
            Some(FirstLine(FROM_EARLIER_RUN)) => Some(FirstSighting::EarlierRun),
            Some(FirstLine(first_line)) => Some(FirstSighting::Line(first_line as usize)),
        }
    }

    /// How many distinct (key id, serial) pairs were seen.
    pub fn len(&self) -> usize {
        self.here.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.here.is_empty()
    }
}

/// Marks a serial whose first sighting is in an earlier run.
const FROM_EARLIER_RUN: u32 = u32::MAX;

/// A serial's first line in this input, or [`FROM_EARLIER_RUN`].
#[derive(Clone, Copy, PartialEq, Eq)]
struct FirstLine(u32);

/// Consecutive serials on consecutive lines make one run; so do consecutive
/// serials first seen in an earlier run.
impl Step for FirstLine {
    fn step(self, offset: u64) -> Option<FirstLine> {
        if self.0 == FROM_EARLIER_RUN || offset == 0 {
            return Some(self);
        }
        let line = u32::try_from(offset)
            .ok()
            .and_then(|o| self.0.checked_add(o))?;
        (line < FROM_EARLIER_RUN - 1).then_some(FirstLine(line))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: KeyId = KeyId::from_bytes([9, 9, 9, 9]);

    #[test]
    fn repeats_name_their_first_line_and_earlier_runs_win() {
        let mut index = DuplicateIndex::default();
        for i in 0..1000u64 {
            assert_eq!(index.sight(K, 100 + i, 1 + i as usize, false), None);
        }
        assert_eq!(
            index.sight(K, 600, 5000, false),
            Some(FirstSighting::Line(501))
        );
        // Seen by an earlier run: reported so on first and later sightings.
        assert_eq!(
            index.sight(K, 5, 6000, true),
            Some(FirstSighting::EarlierRun)
        );
        assert_eq!(
            index.sight(K, 5, 6001, true),
            Some(FirstSighting::EarlierRun)
        );
        // A journal that learnt it from this input: the line wins.
        assert_eq!(
            index.sight(K, 100, 7000, true),
            Some(FirstSighting::Line(1))
        );
        assert_eq!(index.len(), 1001);
        // Line numbers past u32 do not wrap into the earlier-run mark.
        assert_eq!(index.sight(K, 9_999_999, usize::MAX, false), None);
        assert_eq!(
            index.sight(K, 9_999_999, 1, false),
            Some(FirstSighting::Line((u32::MAX - 1) as usize))
        );
    }
}
