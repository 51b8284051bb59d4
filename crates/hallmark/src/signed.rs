//! The framing of everything hallmark signs, in one place: codes, batch
//! manifests and revocation snapshots (docs/FORMAT.md).
//!
//! A signed document is `version (0x01) || kid (4) || body || signature (64)`,
//! and the signature covers `tag || version || kid || body`, where the tag is
//! the document type's own NUL-terminated ASCII [`Domain::tag`]: a signature
//! made for one type can never pass as another. Signing (through
//! [`UnsignedCode`](crate::UnsignedCode) and [`UnsignedDocument`]) and
//! verifying both build the message here.

use ed25519_dalek::Signature;

use crate::code::CODE_SIGNING_TAG;
use crate::error::{DecodeError, Document, Error, VerifyError};
use crate::key::{KID_LEN, KeyId};
use crate::manifest::MANIFEST_SIGNING_TAG;
use crate::revocation::REVOCATIONS_SIGNING_TAG;
use crate::trust::TrustedKey;
use crate::{SIGNATURE_LEN, TrustStore, VERSION};

/// A type of signed document; each signs under its own domain-separation tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Domain {
    /// A code ([`CODE_SIGNING_TAG`]).
    Code,
    /// A revocation snapshot ([`REVOCATIONS_SIGNING_TAG`]).
    RevocationSnapshot,
    /// A batch manifest ([`MANIFEST_SIGNING_TAG`]).
    BatchManifest,
    /// A line certificate ([`crate::CERTIFICATE_SIGNING_TAG`]).
    Certificate,
    /// A batch receipt ([`crate::RECEIPT_SIGNING_TAG`]).
    Receipt,
    /// A trust bundle ([`crate::BUNDLE_SIGNING_TAG`]).
    TrustBundle,
    /// An aggregation manifest ([`crate::AGGREGATION_SIGNING_TAG`]).
    Aggregation,
}

impl Domain {
    /// The document this domain signs, as errors name it.
    pub const fn document(self) -> Document {
        match self {
            Domain::Code => Document::Code,
            Domain::RevocationSnapshot => Document::RevocationSnapshot,
            Domain::BatchManifest => Document::BatchManifest,
            Domain::Certificate => Document::Certificate,
            Domain::Receipt => Document::Receipt,
            Domain::TrustBundle => Document::TrustBundle,
            Domain::Aggregation => Document::AggregationManifest,
        }
    }

    /// The tag prefixed to the signed bytes of this type of document.
    pub const fn tag(self) -> &'static [u8] {
        match self {
            Domain::Code => CODE_SIGNING_TAG,
            Domain::RevocationSnapshot => REVOCATIONS_SIGNING_TAG,
            Domain::BatchManifest => MANIFEST_SIGNING_TAG,
            Domain::Certificate => crate::cert::CERTIFICATE_SIGNING_TAG,
            Domain::Receipt => crate::receipt::RECEIPT_SIGNING_TAG,
            Domain::TrustBundle => crate::bundle::BUNDLE_SIGNING_TAG,
            Domain::Aggregation => crate::aggregation::AGGREGATION_SIGNING_TAG,
        }
    }
}

/// The start of a signing message, `tag || version || kid`, in a buffer with
/// room for `body_len` more bytes and, once the tag is dropped, the signature.
pub(crate) fn message_head(domain: Domain, kid: KeyId, body_len: usize) -> Vec<u8> {
    let tag = domain.tag();
    let header = 1 + KID_LEN;
    let mut out =
        Vec::with_capacity(tag.len() + header + body_len + SIGNATURE_LEN.saturating_sub(tag.len()));
    out.extend_from_slice(tag);
    out.push(VERSION);
    out.extend_from_slice(&kid.to_bytes());
    out
}

/// The signing message of a document: `tag || version || kid || body`.
pub(crate) fn signing_message(domain: Domain, kid: KeyId, body: &[u8]) -> Vec<u8> {
    let mut out = message_head(domain, kid, body.len());
    out.extend_from_slice(body);
    out
}

/// The signing message of a received document from its signed part
/// (`version || kid || body` exactly as received), in two parts, without copying.
pub(crate) fn message_parts(domain: Domain, signed_part: &[u8]) -> [&[u8]; 2] {
    [domain.tag(), signed_part]
}

/// The signed document from its signing message: the tag dropped and the
/// signature appended, in place.
pub(crate) fn seal(
    domain: Domain,
    mut message: Vec<u8>,
    signature: &[u8; SIGNATURE_LEN],
) -> Vec<u8> {
    message.drain(..domain.tag().len().min(message.len()));
    message.extend_from_slice(signature);
    message
}

/// Builds the signed part (`version || kid || document`) of a document.
pub(crate) fn signed_part(kid: KeyId, document: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + KID_LEN + document.len());
    out.push(VERSION);
    out.extend_from_slice(&kid.to_bytes());
    out.extend_from_slice(document);
    out
}

/// A document framed for one key, ready to be signed: what a signer needs
/// (the exact bytes to sign) and how to finish the document afterwards.
///
/// Made by [`RevocationSnapshot::to_unsigned`](crate::RevocationSnapshot::to_unsigned)
/// and [`BatchManifest::to_unsigned`](crate::BatchManifest::to_unsigned); there is
/// no constructor from arbitrary bytes.
#[derive(Clone, Debug)]
pub struct UnsignedDocument {
    domain: Domain,
    kid: KeyId,
    /// `tag || version || kid || body`.
    message: Vec<u8>,
}

impl UnsignedDocument {
    pub(crate) fn new(domain: Domain, kid: KeyId, body: &[u8]) -> UnsignedDocument {
        UnsignedDocument {
            domain,
            kid,
            message: signing_message(domain, kid, body),
        }
    }

    /// The document's type.
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// The key id the document names as its signer.
    pub fn kid(&self) -> KeyId {
        self.kid
    }

    /// The exact bytes to sign: `tag || version || kid || body`.
    pub fn signing_message(&self) -> &[u8] {
        &self.message
    }

    /// The signed document: `version || kid || body || signature`.
    pub fn into_signed(self, signature: &[u8; SIGNATURE_LEN]) -> Vec<u8> {
        seal(self.domain, self.message, signature)
    }
}

/// A signed document split into its parts, signature not yet checked.
pub(crate) struct Framed<'b> {
    /// The key id the document names.
    pub(crate) kid: KeyId,
    /// `version || kid || body`, exactly as received.
    pub(crate) signed: &'b [u8],
    /// The document's body.
    pub(crate) body: &'b [u8],
    /// The signature.
    pub(crate) signature: [u8; SIGNATURE_LEN],
}

/// Checks a document's size, version and length and splits it.
pub(crate) fn frame(bytes: &[u8], domain: Domain, max: usize) -> Result<Framed<'_>, Error> {
    if bytes.len() > max {
        return Err(DecodeError::TooLong {
            document: domain.document(),
            len: bytes.len(),
            max,
        }
        .into());
    }
    let min = 1 + KID_LEN + 1 + SIGNATURE_LEN;
    let version = *bytes.first().ok_or(DecodeError::Truncated {
        document: domain.document(),
        len: 0,
        min,
    })?;
    if version != VERSION {
        return Err(DecodeError::UnsupportedVersion {
            document: domain.document(),
            version,
        }
        .into());
    }
    if bytes.len() < min {
        return Err(DecodeError::Truncated {
            document: domain.document(),
            len: bytes.len(),
            min,
        }
        .into());
    }
    let (signed, sig) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
    let (header, body) = signed.split_at(1 + KID_LEN);
    let mut kid = [0u8; KID_LEN];
    kid.copy_from_slice(header.get(1..).unwrap_or_default());
    let mut signature = [0u8; SIGNATURE_LEN];
    signature.copy_from_slice(sig);
    Ok(Framed {
        kid: KeyId::from_bytes(kid),
        signed,
        body,
        signature,
    })
}

impl Framed<'_> {
    /// Checks the signature under `key` (`verify_strict`'s equation, through
    /// the key's tables of multiples when they are built).
    pub(crate) fn check(&self, domain: Domain, key: &TrustedKey) -> Result<(), Error> {
        let signature = Signature::from_bytes(&self.signature);
        if key.verifies(&signature, &message_parts(domain, self.signed)) {
            Ok(())
        } else {
            Err(VerifyError::BadSignature {
                document: domain.document(),
                kid: self.kid,
                key_name: key.name().to_owned(),
            }
            .into())
        }
    }
}

/// Checks the framing and the signature; returns the signing key and the document.
pub(crate) fn open<'b, 't>(
    bytes: &'b [u8],
    domain: Domain,
    max: usize,
    trust: &'t TrustStore,
) -> Result<(&'t TrustedKey, &'b [u8]), Error> {
    let framed = frame(bytes, domain, max)?;
    let trusted = trust.document_signer(framed.kid, domain)?;
    framed.check(domain, trusted)?;
    trusted.refuse_root(domain.document())?;
    Ok((trusted, framed.body))
}
