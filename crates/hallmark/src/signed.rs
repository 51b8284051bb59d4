//! The framing shared by signed documents (batch manifests, revocation
//! snapshots): `version (0x01) || kid (4) || document || signature (64)`, with the
//! signature over `tag || version || kid || document`. Each document type has
//! its own NUL-terminated tag, distinct from the code tag.

use ed25519_dalek::Signature;

use crate::error::Error;
use crate::key::{KID_LEN, KeyId};
use crate::trust::TrustedKey;
use crate::{SIGNATURE_LEN, TrustStore, VERSION};

/// Builds the signed part (`version || kid || document`) of a document.
pub(crate) fn signed_part(kid: KeyId, document: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + KID_LEN + document.len());
    out.push(VERSION);
    out.extend_from_slice(&kid.to_bytes());
    out.extend_from_slice(document);
    out
}

/// Checks the framing and the signature; returns the signing key and the document.
pub(crate) fn open<'b, 't>(
    bytes: &'b [u8],
    tag: &[u8],
    max: usize,
    trust: &'t TrustStore,
) -> Result<(&'t TrustedKey, &'b [u8]), Error> {
    if bytes.len() > max {
        return Err(Error::TooLong {
            len: bytes.len(),
            max,
        });
    }
    let min = 1 + KID_LEN + 1 + SIGNATURE_LEN;
    let version = *bytes.first().ok_or(Error::Truncated { len: 0, min })?;
    if version != VERSION {
        return Err(Error::UnsupportedVersion { version });
    }
    if bytes.len() < min {
        return Err(Error::Truncated {
            len: bytes.len(),
            min,
        });
    }
    let (signed, sig) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
    let (header, document) = signed.split_at(1 + KID_LEN);
    let mut kid = [0u8; KID_LEN];
    kid.copy_from_slice(header.get(1..).unwrap_or_default());
    let kid = KeyId::from_bytes(kid);
    let trusted = trust.get(kid).ok_or(Error::UnknownKey { kid })?;
    let mut signature = [0u8; SIGNATURE_LEN];
    signature.copy_from_slice(sig);
    trusted
        .public_key()
        .verifying_key()
        .verify_strict(&[tag, signed].concat(), &Signature::from_bytes(&signature))
        .map_err(|_| Error::BadSignature {
            kid,
            key_name: trusted.name().to_owned(),
        })?;
    Ok((trusted, document))
}
