//! First sightings by (key id, serial), kept as runs of consecutive serials,
//! so that memory follows the number of runs rather than the number of codes:
//! a pallet scanned in label order, or a journal of such runs, is one run per
//! batch whatever its size. Serials in random order cost one entry each (about
//! 24 bytes plus the B-tree's overhead), as a hash map would.

use std::collections::{BTreeMap, HashMap};

use crate::KeyId;

/// What is stored for each serial of a run: the first serial's value, from
/// which the value `offset` serials later follows (a line number advances, a
/// time and place stays). `v.step(0) == Some(v)`, and steps add up:
/// `v.step(a)?.step(b) == v.step(a + b)`.
pub trait Step: Copy + Eq {
    /// The value `offset` serials after this one, if the run can hold it.
    fn step(self, offset: u64) -> Option<Self>;
}

struct Run<V> {
    len: u64,
    first: V,
}

/// Values by (key id, serial), stored as runs.
pub struct Runs<V> {
    keys: HashMap<KeyId, BTreeMap<u64, Run<V>>>,
    serials: usize,
}

impl<V> Default for Runs<V> {
    fn default() -> Runs<V> {
        Runs {
            keys: HashMap::new(),
            serials: 0,
        }
    }
}

impl<V: Step> Runs<V> {
    /// The value stored for `serial` under `kid`.
    pub fn get(&self, kid: KeyId, serial: u64) -> Option<V> {
        let (start, run) = self.keys.get(&kid)?.range(..=serial).next_back()?;
        let offset = serial - start;
        if offset < run.len {
            run.first.step(offset)
        } else {
            None
        }
    }

    /// Stores `value` for `serial` unless a value is stored already; returns
    /// the stored one in that case.
    pub fn insert(&mut self, kid: KeyId, serial: u64, value: V) -> Option<V> {
        if let Some(existing) = self.get(kid, serial) {
            return Some(existing);
        }
        self.serials += 1;
        let runs = self.keys.entry(kid).or_default();
        // Extend the run that ends just before, if the value continues it.
        let start = match runs.range_mut(..serial).next_back() {
            Some((&start, run))
                if start.checked_add(run.len) == Some(serial)
                    && run.first.step(run.len) == Some(value) =>
            {
                run.len += 1;
                start
            }
            _ => {
                runs.insert(
                    serial,
                    Run {
                        len: 1,
                        first: value,
                    },
                );
                serial
            }
        };
        // Join the run that starts just after, if it continues this one.
        if let Some(next) = serial.checked_add(1)
            && let Some(after) = runs.get(&next)
            && value.step(1) == Some(after.first)
            && let Some(after) = runs.remove(&next)
            && let Some(run) = runs.get_mut(&start)
        {
            run.len += after.len;
        }
        None
    }

    /// How many serials are stored.
    pub fn len(&self) -> usize {
        self.serials
    }

    /// Whether no serial is stored.
    pub fn is_empty(&self) -> bool {
        self.serials == 0
    }

    /// How many runs hold them.
    pub fn runs(&self) -> usize {
        self.keys.values().map(BTreeMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line number: advances with the serial.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Line(u64);
    impl Step for Line {
        fn step(self, offset: u64) -> Option<Line> {
            self.0.checked_add(offset).map(Line)
        }
    }

    /// A constant tag.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct Tag(u8);
    impl Step for Tag {
        fn step(self, _: u64) -> Option<Tag> {
            Some(self)
        }
    }

    const K: KeyId = key(1);

    const fn key(n: u8) -> KeyId {
        KeyId::from_bytes([n, 2, 3, 4])
    }

    #[test]
    fn sequential_input_is_one_run() {
        let mut runs = Runs::default();
        for i in 0..100_000u64 {
            assert_eq!(runs.insert(K, 5_000 + i, Line(10 + i)), None);
        }
        assert_eq!((runs.len(), runs.runs()), (100_000, 1));
        assert_eq!(runs.get(K, 5_000), Some(Line(10)));
        assert_eq!(runs.get(K, 104_999), Some(Line(100_009)));
        assert_eq!(runs.get(K, 105_000), None);
        assert_eq!(runs.get(K, 4_999), None);
        // A repeat reports the first sighting's line and stores nothing.
        assert_eq!(runs.insert(K, 5_007, Line(1)), Some(Line(17)));
        assert_eq!(runs.len(), 100_000);
        // Another key is separate.
        assert_eq!(runs.get(KeyId::from_bytes([0; 4]), 5_007), None);
    }

    #[test]
    fn gaps_and_jumps_make_new_runs_and_joins_close_them() {
        let mut runs = Runs::default();
        runs.insert(K, 10, Line(1));
        runs.insert(K, 11, Line(2));
        // Same next serial, but the line does not continue: a new run.
        runs.insert(K, 13, Line(3));
        runs.insert(K, 12, Line(9));
        assert_eq!(runs.runs(), 3);
        assert_eq!(runs.get(K, 12), Some(Line(9)));
        assert_eq!(runs.get(K, 13), Some(Line(3)));
        // Constant values join from both sides.
        let mut tags = Runs::default();
        tags.insert(K, 1, Tag(7));
        tags.insert(K, 3, Tag(7));
        tags.insert(K, 2, Tag(7));
        assert_eq!((tags.len(), tags.runs()), (3, 1));
        assert_eq!(tags.get(K, 3), Some(Tag(7)));
        tags.insert(K, 4, Tag(8));
        assert_eq!(tags.runs(), 2);
        // The ends of the serial range.
        tags.insert(K, u64::MAX, Tag(1));
        tags.insert(K, 0, Tag(7));
        assert_eq!(tags.get(K, u64::MAX), Some(Tag(1)));
        assert_eq!((tags.len(), tags.runs()), (6, 3));
    }

    #[test]
    fn agrees_with_a_hash_map_on_random_input() {
        let mut runs = Runs::default();
        let mut map = HashMap::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for line in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Small serials so that repeats and neighbours happen.
            let serial = x % 3_000;
            let kid = KeyId::from_bytes([(x >> 40) as u8 & 1, 0, 0, 0]);
            let expected = map.get(&(kid, serial)).copied();
            assert_eq!(runs.insert(kid, serial, Line(line)), expected);
            map.entry((kid, serial)).or_insert(Line(line));
        }
        assert_eq!(runs.len(), map.len());
        for ((kid, serial), line) in &map {
            assert_eq!(runs.get(*kid, *serial), Some(*line));
        }
    }
}
