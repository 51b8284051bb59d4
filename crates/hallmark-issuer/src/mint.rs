//! Minting: signing payloads into codes.

use hallmark::{Payload, UnsignedCode};

use crate::error::Error;
use crate::keys::SecretKey;

/// Signs one payload with `key` and returns the code's canonical text.
///
/// ```
/// # use hallmark_issuer::{SecretKey, mint};
/// # use hallmark::{Payload, TrustStore, TrustedKey};
/// let key = SecretKey::from_seed("doc", &[7; 32])?;
/// let payload = Payload::new(42, "DRN-2980", "L1", "2024-01-31".parse()?)?;
/// let code = mint(&key, &payload)?;
///
/// let mut trust = TrustStore::new();
/// trust.add(TrustedKey::new("doc", key.public_key(), None, None)?)?;
/// assert_eq!(trust.verify(&code)?.payload().serial(), 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn mint(key: &SecretKey, payload: &Payload) -> Result<String, Error> {
    let unsigned = UnsignedCode::new(key.kid(), payload)?;
    let signature = key.sign(&unsigned.signing_message());
    Ok(unsigned.to_text(&signature))
}
