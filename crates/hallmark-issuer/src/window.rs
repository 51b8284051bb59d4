//! Checks a mint makes before it reserves or prints anything: that the date of
//! manufacture lies in the signing key's window of validity, so that no batch
//! of codes is minted that would all verify `key-not-valid`.
//!
//! Today the window comes from the key's trust-store entry
//! ([`check_trust_window`]); certificate windows and constraints go through
//! the same [`check_window`].

use hallmark::{Date, KeyId, TrustStore};

use crate::error::Error;

/// Refuses ([`Error::OutsideWindow`]) a date of manufacture `date` outside
/// `from ..= until` (either end unbounded when `None`), the window of the key
/// `kid`.
///
/// ```
/// use hallmark::KeyId;
/// use hallmark_issuer::{Error, check_window};
/// let kid = KeyId::from_bytes([1, 2, 3, 4]);
/// let (from, until) = (Some("2024-01-01".parse()?), Some("2024-12-31".parse()?));
/// check_window(kid, "2024-06-30".parse()?, from, until)?;
/// check_window(kid, "2024-12-31".parse()?, from, until)?;
/// assert!(matches!(
///     check_window(kid, "2025-01-01".parse()?, from, until),
///     Err(Error::OutsideWindow { .. })
/// ));
/// check_window(kid, "1970-01-01".parse()?, None, until)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_window(
    kid: KeyId,
    date: Date,
    from: Option<Date>,
    until: Option<Date>,
) -> Result<(), Error> {
    let after_start = from.is_none_or(|f| date >= f);
    let before_end = until.is_none_or(|u| date <= u);
    if after_start && before_end {
        Ok(())
    } else {
        Err(Error::OutsideWindow {
            kid,
            date,
            from,
            until,
        })
    }
}

/// [`check_window`] with the window of `kid`'s entry in `trust`; refuses
/// ([`Error::NotInTrustStore`]) a trust store without an entry for `kid`.
pub fn check_trust_window(trust: &TrustStore, kid: KeyId, date: Date) -> Result<(), Error> {
    let entry = trust.get(kid).ok_or(Error::NotInTrustStore { kid })?;
    check_window(kid, date, entry.valid_from(), entry.valid_until())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hallmark::TrustedKey;

    #[test]
    fn window_ends_are_inclusive_and_the_kid_must_be_trusted()
    -> Result<(), Box<dyn std::error::Error>> {
        let key = crate::SecretKey::from_seed("w", &[4; 32])?;
        let other = crate::SecretKey::from_seed("o", &[5; 32])?;
        let d = |s: &str| s.parse::<Date>();
        let mut trust = TrustStore::new();
        trust.add(TrustedKey::new(
            "w",
            key.public_key(),
            Some(d("2024-01-01")?),
            Some(d("2024-12-31")?),
        )?)?;
        for ok in ["2024-01-01", "2024-12-31"] {
            check_trust_window(&trust, key.kid(), d(ok)?)?;
        }
        for bad in ["2023-12-31", "2025-01-01"] {
            let e = check_trust_window(&trust, key.kid(), d(bad)?);
            let Err(e @ Error::OutsideWindow { .. }) = e else {
                panic!("{bad}: {e:?}");
            };
            assert!(e.to_string().contains("(2024-01-01 to 2024-12-31)"), "{e}");
        }
        assert!(matches!(
            check_trust_window(&trust, other.kid(), d("2024-06-01")?),
            Err(Error::NotInTrustStore { .. })
        ));
        Ok(())
    }
}
