//! The self-check run before anything is timed, so that a broken format cannot
//! be measured as a fast one.

use crate::BoxError;
use crate::formats::{Claims, Format, SERIAL};

/// Checks, before anything is timed, that `format` really signs and verifies:
/// its token for the sample serial verifies to exactly the sample claims, a
/// different serial gives a different token, a forged token (serial changed,
/// signature kept) fails on the signature, any one altered character fails,
/// and a token made with another key (`other`, the same format) fails.
/// Returns the sample token.
pub fn self_check(format: &dyn Format, other: &dyn Format) -> Result<String, BoxError> {
    let name = format.name();
    let fail = |what: String| -> BoxError { format!("self-check of {name}: {what}").into() };
    let token = format.sign(SERIAL)?;
    let claims = format
        .verify(&token)
        .map_err(|e| fail(format!("its own token {token} does not verify: {e}")))?;
    if claims != Claims::sample(SERIAL) {
        return Err(fail(format!("{token} verifies to {claims:?}")));
    }
    if format.sign(SERIAL + 1)? == token {
        return Err(fail("two serials give one token".into()));
    }
    let forged = format.forge(&token)?;
    match format.verify(&forged) {
        Ok(c) => return Err(fail(format!("a forged token verified, to {c:?}"))),
        Err(e) if !format.is_signature_error(e.as_ref()) => {
            return Err(fail(format!(
                "a forged token failed, but not on its signature: {e}"
            )));
        }
        Err(_) => {}
    }
    let len = token.chars().count();
    for pos in [len / 4, len / 2, len - 8] {
        let altered = alter(&token, pos)?;
        if format.verify(&altered).is_ok() {
            return Err(fail(format!(
                "a token altered at character {pos} verified: {altered}"
            )));
        }
    }
    let foreign = other.sign(SERIAL)?;
    if format.verify(&foreign).is_ok() {
        return Err(fail("a token signed by another key verified".into()));
    }
    Ok(token)
}

/// `token` with the character at `pos` replaced by another character that
/// occurs in the token (so it stays in the format's alphabet).
fn alter(token: &str, pos: usize) -> Result<String, BoxError> {
    let chars: Vec<char> = token.chars().collect();
    let old = *chars.get(pos).ok_or("position past the end")?;
    let new = chars
        .iter()
        .rev()
        .find(|&&c| c != old && c != '.' && c != ':')
        .ok_or("token has one character")?;
    Ok(chars
        .iter()
        .enumerate()
        .map(|(i, &c)| if i == pos { *new } else { c })
        .collect())
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use hallmark_issuer::SecretKey;

    use super::*;
    use crate::formats::{Cose, Hallmark, HallmarkMintOne, Jwt, OTHER_SEED, Paseto, SEED};

    /// Every format passes its self-check, and the checks are not vacuous: a
    /// format whose verify accepts anything fails them.
    #[test]
    fn self_checks_pass_and_catch_a_verifier_that_accepts_anything() -> Result<(), BoxError> {
        let key = SecretKey::from_seed("bench", &SEED)?;
        let other_key = SecretKey::from_seed("other", &OTHER_SEED)?;
        let hallmark = Hallmark::new(&key)?;
        let other_hallmark = Hallmark::new(&other_key)?;
        self_check(&hallmark, &other_hallmark)?;
        self_check(&HallmarkMintOne(&hallmark), &other_hallmark)?;
        self_check(&Jwt::new(&SEED)?, &Jwt::new(&OTHER_SEED)?)?;
        self_check(&Cose::new(&SEED), &Cose::new(&OTHER_SEED))?;
        self_check(&Paseto::new(&SEED)?, &Paseto::new(&OTHER_SEED)?)?;

        struct Gullible(Jwt);
        impl Format for Gullible {
            fn name(&self) -> &'static str {
                "gullible"
            }
            fn sign(&self, serial: u64) -> Result<String, BoxError> {
                self.0.sign(serial)
            }
            fn verify(&self, _: &str) -> Result<Claims, BoxError> {
                Ok(Claims::sample(SERIAL))
            }
            fn forge(&self, token: &str) -> Result<String, BoxError> {
                self.0.forge(token)
            }
            fn is_signature_error(&self, e: &(dyn Error + 'static)) -> bool {
                self.0.is_signature_error(e)
            }
        }
        let gullible = Gullible(Jwt::new(&SEED)?);
        assert!(self_check(&gullible, &Jwt::new(&OTHER_SEED)?).is_err());
        Ok(())
    }
}
