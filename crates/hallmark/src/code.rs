//! The binary and text forms of a code, and the exact bytes that are signed.

use crate::error::{DecodeError, Document, Error};
use crate::key::{KID_LEN, KeyId};
use crate::payload::Payload;
use crate::signed::{self, Domain};
use crate::{MAX_CODE_BYTES, VERSION, text};

/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Domain-separation tag prefixed to every signed code (NUL-terminated ASCII).
pub const CODE_SIGNING_TAG: &[u8] = b"hallmark code v1\0";

/// The shortest possible code: version, key id, one payload byte, signature.
pub const MIN_CODE_BYTES: usize = 1 + KID_LEN + 1 + SIGNATURE_LEN;

/// A code parsed and checked for canonical form, whose signature is NOT verified.
///
/// Use it to show what a code claims (`hallmark inspect`); never treat its payload
/// as genuine. [`Verifier::verify`](crate::Verifier::verify) is the way to a
/// verified payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnverifiedCode {
    kid: KeyId,
    payload: Payload,
    /// Version, key id and payload exactly as received.
    signed_part: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl UnverifiedCode {
    /// Parses any accepted spelling of a code (see docs/FORMAT.md), without
    /// verifying its signature.
    ///
    /// Input over [`MAX_INPUT_LEN`](crate::MAX_INPUT_LEN) bytes is refused before any work.
    pub fn decode(input: &str) -> Result<UnverifiedCode, Error> {
        UnverifiedCode::from_bytes(&text::decode(input)?)
    }

    /// Parses the binary form.
    pub fn from_bytes(bytes: &[u8]) -> Result<UnverifiedCode, Error> {
        if bytes.len() > MAX_CODE_BYTES {
            return Err(DecodeError::TooLong {
                document: Document::Code,
                len: bytes.len(),
                max: MAX_CODE_BYTES,
            }
            .into());
        }
        let version = *bytes.first().ok_or(DecodeError::Truncated {
            document: Document::Code,
            len: 0,
            min: MIN_CODE_BYTES,
        })?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion {
                document: Document::Code,
                version,
            }
            .into());
        }
        if bytes.len() < MIN_CODE_BYTES {
            return Err(DecodeError::Truncated {
                document: Document::Code,
                len: bytes.len(),
                min: MIN_CODE_BYTES,
            }
            .into());
        }
        let (signed_part, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
        let (header, payload_bytes) = signed_part.split_at(1 + KID_LEN);
        let mut kid = [0u8; KID_LEN];
        kid.copy_from_slice(header.get(1..).unwrap_or_default());
        let mut sig = [0u8; SIGNATURE_LEN];
        sig.copy_from_slice(signature);
        Ok(UnverifiedCode {
            kid: KeyId::from_bytes(kid),
            payload: Payload::from_cbor(payload_bytes)?,
            signed_part: signed_part.to_vec(),
            signature: sig,
        })
    }

    /// The key id the code names.
    pub fn kid(&self) -> KeyId {
        self.kid
    }

    /// The payload the code claims (unverified).
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The 64-byte signature.
    pub fn signature(&self) -> &[u8; SIGNATURE_LEN] {
        &self.signature
    }

    /// The message the signature must cover: tag, version, key id and the
    /// payload bytes exactly as received.
    pub fn signing_message(&self) -> Vec<u8> {
        self.signing_parts().concat()
    }

    /// [`UnverifiedCode::signing_message`] in its two parts, without copying.
    pub(crate) fn signing_parts(&self) -> [&[u8]; 2] {
        signed::message_parts(Domain::Code, &self.signed_part)
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        [&self.signed_part[..], &self.signature].concat()
    }

    /// The canonical text form (upper-case base32, no grouping).
    pub fn to_text(&self) -> String {
        text::encode(&self.to_bytes())
    }
}

/// A payload encoded for a key id, ready to be signed.
///
/// ```
/// # use hallmark::{Date, KeyId, Payload, UnsignedCode};
/// let payload = Payload::new(1, "P", "L", Date::EPOCH)?;
/// let unsigned = UnsignedCode::new(KeyId::from_bytes([1, 2, 3, 4]), &payload)?;
/// let message = unsigned.signing_message(); // sign this with the issuer key
/// assert!(message.starts_with(b"hallmark code v1\0\x01\x01\x02\x03\x04"));
/// # Ok::<(), hallmark::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct UnsignedCode {
    kid: KeyId,
    /// `CODE_SIGNING_TAG || version || kid || payload`, with room for the signature.
    message: Vec<u8>,
}

impl UnsignedCode {
    /// Encodes `payload` for the key `kid`; refuses payloads that would make the
    /// code longer than [`MAX_CODE_BYTES`].
    pub fn new(kid: KeyId, payload: &Payload) -> Result<UnsignedCode, Error> {
        let cbor = payload.to_cbor();
        let len = 1 + KID_LEN + cbor.len() + SIGNATURE_LEN;
        if len > MAX_CODE_BYTES {
            return Err(DecodeError::TooLong {
                document: Document::Code,
                len,
                max: MAX_CODE_BYTES,
            }
            .into());
        }
        Ok(UnsignedCode {
            kid,
            message: signed::signing_message(Domain::Code, kid, &cbor),
        })
    }

    /// A code from its signing message, built by [`crate::PayloadTemplate`].
    pub(crate) fn from_message(kid: KeyId, message: Vec<u8>) -> UnsignedCode {
        UnsignedCode { kid, message }
    }

    /// The key id the code names.
    pub fn kid(&self) -> KeyId {
        self.kid
    }

    /// The exact bytes to sign: [`CODE_SIGNING_TAG`] || version || kid || payload.
    pub fn signing_message(&self) -> &[u8] {
        &self.message
    }

    /// The binary code with `signature` appended.
    pub fn to_bytes(&self, signature: &[u8; SIGNATURE_LEN]) -> Vec<u8> {
        let signed_part = self
            .message
            .get(CODE_SIGNING_TAG.len()..)
            .unwrap_or_default();
        [signed_part, signature].concat()
    }

    /// The canonical text of the code with `signature` appended.
    pub fn to_text(&self, signature: &[u8; SIGNATURE_LEN]) -> String {
        text::encode(&self.to_bytes(signature))
    }

    /// [`UnsignedCode::to_bytes`], reusing this code's buffer.
    pub fn into_bytes(self, signature: &[u8; SIGNATURE_LEN]) -> Vec<u8> {
        signed::seal(Domain::Code, self.message, signature)
    }

    /// [`UnsignedCode::to_text`], reusing this code's buffer.
    pub fn into_text(self, signature: &[u8; SIGNATURE_LEN]) -> String {
        text::encode(&self.into_bytes(signature))
    }
}
