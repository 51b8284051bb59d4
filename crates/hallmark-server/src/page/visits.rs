//! Which page visits count as checks: one per client and unit per hour, so
//! a visitor reloading the page does not inflate the count. Kept in memory
//! only, under a random per-process key: the service stores no address,
//! cookie or fingerprint of a visitor (a check is stored as a scan with its
//! time, and no location).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// A visit counts again after this many seconds.
pub(crate) const VISIT_WINDOW: u64 = 3600;

/// Most (client, unit) pairs remembered; past it, old ones are forgotten,
/// and if all are recent, visits count (counting more is the safe side).
const MAX_REMEMBERED: usize = 200_000;

pub(crate) struct Visits {
    key: [u8; 32],
    seen: Mutex<HashMap<[u8; 16], u64>>,
}

impl Default for Visits {
    fn default() -> Visits {
        let mut key = [0u8; 32];
        // Without randomness the key is fixed: the set still works, only its
        // entries are predictable (they are never stored or shown).
        let _ = getrandom::fill(&mut key);
        Visits {
            key,
            seen: Mutex::new(HashMap::new()),
        }
    }
}

impl Visits {
    /// Whether a visit of `unit` by `client` at `now` counts as a check
    /// (and, if so, remembers it). Visits without a client address
    /// (in-process tests) always count.
    pub(crate) fn counts(&self, client: Option<IpAddr>, unit: &str, now: u64) -> bool {
        let Some(client) = client else { return true };
        let mut h = blake3::Hasher::new_keyed(&self.key);
        h.update(crate::client::client_key(client).to_string().as_bytes());
        h.update(b"\0");
        h.update(unit.as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&h.finalize().as_bytes()[..16]);
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        if let Some(at) = seen.get(&id)
            && now.saturating_sub(*at) < VISIT_WINDOW
        {
            return false;
        }
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, at| now.saturating_sub(*at) < VISIT_WINDOW);
            if seen.len() >= MAX_REMEMBERED {
                return true;
            }
        }
        seen.insert(id, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_within_the_hour_does_not_count_again() {
        let v = Visits::default();
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        assert!(v.counts(Some(a), "code:1:1", 1000));
        assert!(!v.counts(Some(a), "code:1:1", 1000 + VISIT_WINDOW - 1));
        assert!(v.counts(Some(b), "code:1:1", 1001));
        assert!(v.counts(Some(a), "code:1:2", 1002));
        assert!(v.counts(Some(a), "code:1:1", 1000 + VISIT_WINDOW));
        assert!(v.counts(None, "code:1:1", 1000));
    }
}
