//! Signing through a [`Signer`]: a key file's [`SecretKey`](crate::SecretKey) or a key kept in
//! hardware (`pkcs11::Pkcs11Signer`, feature `pkcs11`).
//!
//! Every signing entry point of this crate takes its key through the trait:
//! [`Minter`](crate::Minter), [`sign_manifest`](crate::sign_manifest), and the
//! typed document signers below ([`sign_code`], [`sign_snapshot`],
//! [`sign_batch_manifest`]). Each frames its document under the document type's
//! own tag and the signer's key id (docs/FORMAT.md), so a signer is never asked
//! to sign bytes of the caller's choosing.

use ed25519_dalek::{Signature, VerifyingKey};
use hallmark::{BatchManifest, KeyId, Payload, PublicKey, RevocationSnapshot, UnsignedCode};

use crate::error::Error;
use crate::serials::OpaquePermutation;

/// A key that makes Ed25519 signatures (RFC 8032, pure Ed25519).
///
/// `Sync + Send`: one signer is shared by all the threads of a bulk mint.
///
/// ```
/// use hallmark_issuer::{SecretKey, signer::Signer};
///
/// let key = SecretKey::from_seed("doc", &[7; 32])?;
/// let signer: &dyn Signer = &key;
/// assert_eq!(signer.kid(), key.kid());
/// let signature = signer.sign(b"framed message")?;
/// assert_eq!(signature.len(), 64);
/// # Ok::<(), hallmark_issuer::Error>(())
/// ```
pub trait Signer: Sync + Send {
    /// The key's name (a key file's `name`, a token object's label).
    fn name(&self) -> &str;

    /// The public key every signature verifies under.
    fn public_key(&self) -> PublicKey;

    /// The key id (of [`Signer::public_key`]).
    fn kid(&self) -> KeyId {
        self.public_key().kid()
    }

    /// The Ed25519 signature of `message`, a message framed by the format crate.
    ///
    /// A signer whose key lives elsewhere (an HSM) checks the signature
    /// against [`Signer::public_key`] before returning it
    /// ([`Error::SignatureMismatch`] otherwise).
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], Error>;

    /// The keyed permutation for opaque serials, if this signer can derive it:
    /// only a key file can (it needs the secret seed); an HSM never reveals it.
    fn opaque_permutation(&self) -> Option<OpaquePermutation> {
        None
    }
}

/// Checks `signature` over `message` under `public` (strictly: no malleable
/// or small-order forms), as every signature from a device is checked before
/// anything is emitted. `signer` names the signer in the error.
pub fn check_signature(
    signer: &str,
    public: &PublicKey,
    message: &[u8],
    signature: &[u8; 64],
) -> Result<(), Error> {
    let mismatch = || Error::SignatureMismatch {
        signer: signer.to_owned(),
        kid: public.kid(),
    };
    let key = VerifyingKey::from_bytes(&public.to_bytes()).map_err(|_| mismatch())?;
    key.verify_strict(message, &Signature::from_bytes(signature))
        .map_err(|_| mismatch())
}

/// Signs `payload` as a code of `signer`; returns the code's canonical text.
pub fn sign_code<S: Signer + ?Sized>(signer: &S, payload: &Payload) -> Result<String, Error> {
    let unsigned = UnsignedCode::new(signer.kid(), payload)?;
    let signature = signer.sign(unsigned.signing_message())?;
    Ok(unsigned.into_text(&signature))
}

/// Signs a revocation snapshot with `signer`; returns the snapshot file.
///
/// Verifiers accept it only if their trust store marks this key as a
/// revocation signer.
pub fn sign_snapshot<S: Signer + ?Sized>(
    signer: &S,
    snapshot: &RevocationSnapshot,
) -> Result<Vec<u8>, Error> {
    let document = snapshot.to_unsigned(signer.kid());
    let signature = signer.sign(document.signing_message())?;
    Ok(document.into_signed(&signature))
}

/// Signs a batch manifest with `signer`; returns the manifest file. Refuses a
/// manifest that names another key ([`BatchManifest::kid`]).
pub fn sign_batch_manifest<S: Signer + ?Sized>(
    signer: &S,
    manifest: &BatchManifest,
) -> Result<Vec<u8>, Error> {
    if manifest.kid != signer.kid() {
        return Err(Error::ManifestSigner {
            manifest: manifest.kid,
            signer: signer.kid(),
        });
    }
    let document = manifest.to_unsigned();
    let signature = signer.sign(document.signing_message())?;
    Ok(document.into_signed(&signature))
}

/// Signs a framed document with `signer`: the signature over exactly
/// [`UnsignedDocument::signing_message`](hallmark::UnsignedDocument::signing_message),
/// checked by the signer before it is returned.
pub fn sign_document<S: Signer + ?Sized>(
    signer: &S,
    document: hallmark::UnsignedDocument,
) -> Result<Vec<u8>, Error> {
    if document.kid() != signer.kid() {
        return Err(Error::ManifestSigner {
            manifest: document.kid(),
            signer: signer.kid(),
        });
    }
    let signature = signer.sign(document.signing_message())?;
    Ok(document.into_signed(&signature))
}

/// Signs a line certificate with `signer` (a root); returns the certificate
/// file. Refuses a certificate that breaks the format's rules and one whose
/// subject is the root itself (a root signs no codes).
pub fn sign_certificate<S: Signer + ?Sized>(
    signer: &S,
    cert: &hallmark::LineCertificate,
) -> Result<Vec<u8>, Error> {
    if cert.subject == signer.public_key() {
        return Err(Error::Format(hallmark::Error::Cert(
            hallmark::CertError::SubjectIsRoot {
                name: cert.name.clone(),
                kid: signer.kid(),
            },
        )));
    }
    sign_document(signer, cert.to_unsigned(signer.kid())?)
}

/// Signs a batch receipt with `signer` (the registry key).
pub fn sign_receipt<S: Signer + ?Sized>(
    signer: &S,
    receipt: &hallmark::BatchReceipt,
) -> Result<Vec<u8>, Error> {
    sign_document(signer, receipt.to_unsigned(signer.kid()))
}

/// Signs a trust bundle with `signer` (the registry key).
pub fn sign_bundle<S: Signer + ?Sized>(
    signer: &S,
    bundle: &hallmark::TrustBundle,
) -> Result<Vec<u8>, Error> {
    sign_document(signer, bundle.to_unsigned(signer.kid()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Minter, SecretKey, SerialMode};
    use hallmark::{TrustStore, TrustedKey};

    /// A signer that claims one key and signs with another: what a token
    /// whose public and private objects do not match would do.
    struct Lying {
        claimed: SecretKey,
        real: SecretKey,
        checked: bool,
    }

    impl Signer for Lying {
        fn name(&self) -> &str {
            "lying"
        }
        fn public_key(&self) -> PublicKey {
            self.claimed.public_key()
        }
        fn sign(&self, message: &[u8]) -> Result<[u8; 64], Error> {
            let signature = Signer::sign(&self.real, message)?;
            if self.checked {
                check_signature("lying", &self.public_key(), message, &signature)?;
            }
            Ok(signature)
        }
    }

    #[test]
    fn check_signature_catches_a_signature_of_another_key() -> Result<(), Box<dyn std::error::Error>>
    {
        let a = SecretKey::from_seed("a", &[1; 32])?;
        let b = SecretKey::from_seed("b", &[2; 32])?;
        let message = b"message";
        let by_a = Signer::sign(&a, message)?;
        check_signature("a", &a.public_key(), message, &by_a)?;
        assert!(matches!(
            check_signature("a", &b.public_key(), message, &by_a),
            Err(Error::SignatureMismatch { kid, .. }) if kid == b.kid()
        ));
        let mut flipped = by_a;
        flipped[63] ^= 0x10;
        assert!(check_signature("a", &a.public_key(), message, &flipped).is_err());
        assert!(check_signature("a", &a.public_key(), b"other", &by_a).is_err());
        Ok(())
    }

    /// A lying signer that checks its signatures never lets a code out; one
    /// that does not check produces codes that fail verification (which is
    /// why every device signature is checked).
    #[test]
    fn minter_emits_nothing_from_a_signer_whose_signatures_do_not_verify()
    -> Result<(), Box<dyn std::error::Error>> {
        let template = Payload::new(0, "P", "L", "2024-01-31".parse()?)?;
        let checked = Lying {
            claimed: SecretKey::from_seed("a", &[1; 32])?,
            real: SecretKey::from_seed("b", &[2; 32])?,
            checked: true,
        };
        let minter = Minter::new(&checked, &template, SerialMode::Sequential)?;
        assert!(matches!(
            minter.mint(0),
            Err(Error::SignatureMismatch { .. })
        ));
        let unchecked = Lying {
            checked: false,
            ..checked
        };
        let minter = Minter::new(&unchecked, &template, SerialMode::Sequential)?;
        let (_, code) = minter.mint(0)?;
        let mut trust = TrustStore::new();
        trust.add(TrustedKey::new(
            "a",
            unchecked.claimed.public_key(),
            None,
            None,
        )?)?;
        assert!(trust.verify_signature_only(&code).is_err());
        Ok(())
    }

    #[test]
    fn opaque_serials_need_the_seed() -> Result<(), Box<dyn std::error::Error>> {
        let template = Payload::new(0, "P", "L", "2024-01-31".parse()?)?;
        let signer = Lying {
            claimed: SecretKey::from_seed("a", &[1; 32])?,
            real: SecretKey::from_seed("a", &[1; 32])?,
            checked: true,
        };
        assert!(matches!(
            Minter::new(&signer, &template, SerialMode::Opaque),
            Err(Error::OpaqueNeedsSeed { .. })
        ));
        let key = SecretKey::from_seed("a", &[1; 32])?;
        assert!(Minter::new(&key, &template, SerialMode::Opaque).is_ok());
        Ok(())
    }

    /// The trait's typed signers make exactly what the key file's do.
    #[test]
    fn typed_signers_match_the_secret_key_methods() -> Result<(), Box<dyn std::error::Error>> {
        let key = SecretKey::from_seed("r", &[3; 32])?;
        let dynamic: &dyn Signer = &key;
        let payload = Payload::new(9, "P", "L", "2024-01-01".parse()?)?;
        assert_eq!(sign_code(dynamic, &payload)?, key.sign_code(&payload)?);
        let snapshot = RevocationSnapshot::new(4, 1_800_000_000);
        assert_eq!(
            sign_snapshot(dynamic, &snapshot)?,
            key.sign_snapshot(&snapshot)
        );
        let manifest = BatchManifest {
            kid: key.kid(),
            issued: 1,
            batches: Vec::new(),
        };
        assert_eq!(
            sign_batch_manifest(dynamic, &manifest)?,
            key.sign_manifest(&manifest)?
        );
        Ok(())
    }
}
