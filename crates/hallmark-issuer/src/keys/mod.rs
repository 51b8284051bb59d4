//! Issuer keys: generation, and the secret and public key files.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use hallmark_state::file::{self as durable};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signer as _, SigningKey};
use hallmark::{
    BatchManifest, KeyId, PublicKey, RevocationSnapshot, UnsignedCode, UnsignedDocument,
};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::error::Error;

/// Largest key file accepted, in bytes.
const MAX_KEY_FILE_LEN: u64 = 64 * 1024;

/// First line of a secret key file.
const SECRET_MAGIC: &str = "# hallmark secret key v1";

/// An issuer's signing key. Zeroized on drop; `Debug` shows only the key id.
pub struct SecretKey {
    name: String,
    key: SigningKey,
    public: PublicKey,
    test_only: bool,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("name", &self.name)
            .field("kid", &self.public.kid())
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// A new key whose seed is drawn from `rng`.
    ///
    /// ```
    /// # use hallmark_issuer::SecretKey;
    /// # struct Os;
    /// # impl rand_core::TryRng for Os {
    /// #     type Error = core::convert::Infallible;
    /// #     fn try_next_u32(&mut self) -> Result<u32, Self::Error> { Ok(4) }
    /// #     fn try_next_u64(&mut self) -> Result<u64, Self::Error> { Ok(4) }
    /// #     fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> { d.fill(4); Ok(()) }
    /// # }
    /// # impl rand_core::TryCryptoRng for Os {}
    /// # let mut rng = Os;
    /// // `rng` is any `rand_core::CryptoRng`, e.g. `rand::rngs::SysRng`.
    /// let key = SecretKey::generate("acme-1", &mut rng)?;
    /// assert_eq!(key.name(), "acme-1");
    /// # Ok::<(), hallmark_issuer::Error>(())
    /// ```
    pub fn generate<R: CryptoRng + ?Sized>(name: &str, rng: &mut R) -> Result<SecretKey, Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut_slice());
        SecretKey::from_seed(name, &seed)
    }

    /// A new key from the operating system's random number generator.
    pub fn generate_os(name: &str) -> Result<SecretKey, Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|source| Error::Randomness { source })?;
        SecretKey::from_seed(name, &seed)
    }

    /// A key from its 32-byte seed (for tests and test vectors).
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<SecretKey, Error> {
        check_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let public = PublicKey::from_bytes(&key.verifying_key().to_bytes())?;
        Ok(SecretKey {
            name: name.to_owned(),
            key,
            public,
            test_only: false,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The key id.
    pub fn kid(&self) -> KeyId {
        self.public.kid()
    }

    /// The keyed permutation for this key's opaque serials.
    pub fn opaque_permutation(&self) -> crate::serials::OpaquePermutation {
        crate::serials::OpaquePermutation::from_seed(self.key.as_bytes())
    }

    /// Signs `payload` as a code of this key; returns the code's canonical text.
    ///
    /// This, [`SecretKey::sign_snapshot`] and [`SecretKey::sign_manifest`] are
    /// the only ways to sign with an issuer key: each frames its document under
    /// the document type's own tag and this key's id (docs/FORMAT.md), so a
    /// signature can never be made over bytes of the caller's choosing.
    pub fn sign_code(&self, payload: &hallmark::Payload) -> Result<String, Error> {
        let unsigned = UnsignedCode::new(self.kid(), payload)?;
        let signature = self.sign_message(unsigned.signing_message());
        Ok(unsigned.into_text(&signature))
    }

    /// Signs a revocation snapshot with this key; returns the snapshot file.
    ///
    /// Verifiers accept it only if their trust store marks this key as a
    /// revocation signer.
    pub fn sign_snapshot(&self, snapshot: &RevocationSnapshot) -> Vec<u8> {
        self.sign_document(snapshot.to_unsigned(self.kid()))
    }

    /// Signs a batch manifest with this key; returns the manifest file. Refuses
    /// a manifest that names another key ([`BatchManifest::kid`]).
    pub fn sign_manifest(&self, manifest: &BatchManifest) -> Result<Vec<u8>, Error> {
        if manifest.kid != self.kid() {
            return Err(Error::ManifestSigner {
                manifest: manifest.kid,
                signer: self.kid(),
            });
        }
        Ok(self.sign_document(manifest.to_unsigned()))
    }

    /// Signs a line certificate with this (root) key
    /// ([`crate::signer::sign_certificate`]).
    pub fn sign_certificate(&self, cert: &hallmark::LineCertificate) -> Result<Vec<u8>, Error> {
        crate::signer::sign_certificate(self, cert)
    }

    /// Signs a batch receipt with this (registry) key.
    pub fn sign_receipt(&self, receipt: &hallmark::BatchReceipt) -> Vec<u8> {
        self.sign_document(receipt.to_unsigned(self.kid()))
    }

    /// Signs a trust bundle with this (registry) key.
    pub fn sign_bundle(&self, bundle: &hallmark::TrustBundle) -> Vec<u8> {
        self.sign_document(bundle.to_unsigned(self.kid()))
    }

    /// Signs a document framed by the format crate (receipts, bundles,
    /// certificates: each `to_unsigned` frames its own type under its own
    /// tag and this key's id); returns the signed document.
    pub fn sign_document(&self, document: UnsignedDocument) -> Vec<u8> {
        let signature = self.sign_message(document.signing_message());
        document.into_signed(&signature)
    }

    /// The raw Ed25519 signature of a message framed by the format crate.
    pub(crate) fn sign_message(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Writes `DIR/NAME.key` (mode 0600) and `DIR/NAME.pub`, refusing to overwrite
    /// either. With a passphrase the secret is encrypted (argon2id and
    /// XChaCha20-Poly1305); without one it is stored in plain text.
    pub fn write_files(
        &self,
        dir: &Path,
        passphrase: Option<&Passphrase>,
    ) -> Result<(PathBuf, PathBuf), Error> {
        let key_path = dir.join(format!("{}.key", self.name));
        let pub_path = dir.join(format!("{}.pub", self.name));
        for path in [&key_path, &pub_path] {
            if path.exists() {
                return Err(Error::KeyExists { path: path.clone() });
            }
        }
        fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let body = self.key_file_text(passphrase, &KdfParams::default())?;
        write_new(&key_path, body.as_bytes(), true)?;
        write_new(&pub_path, self.public_file().as_bytes(), false)?;
        Ok((key_path, pub_path))
    }

    /// Writes the key files without a passphrase (for demos and tests).
    pub fn write_unencrypted(&self, dir: &Path) -> Result<(PathBuf, PathBuf), Error> {
        self.write_files(dir, None)
    }

    /// Replaces the secret key file at `path` with this key under a new
    /// passphrase (or none), atomically through [`hallmark_state::file`]: a new
    /// 0600 file with an unpredictable name beside it, fsynced, renamed over
    /// the old one, the directory fsynced.
    pub fn rewrite(&self, path: &Path, passphrase: Option<&Passphrase>) -> Result<(), Error> {
        let mut body = self.key_file_text(passphrase, &KdfParams::default())?;
        // The minting record is carried over.
        if let Ok(old) = KeyFile::read(path) {
            old.issued.append_to(&mut body);
        }
        durable::replace(path, body.as_bytes(), durable::MODE_SECRET)?;
        Ok(())
    }

    /// The text of the secret key file.
    fn key_file_text(
        &self,
        passphrase: Option<&Passphrase>,
        params: &KdfParams,
    ) -> Result<Zeroizing<String>, Error> {
        let mut out = Zeroizing::new(String::with_capacity(1024));
        out.push_str(&format!(
            "{SECRET_MAGIC}\n\
             # KEEP THIS FILE SECRET: anyone who has it can mint genuine codes.\n\
             # kid: {kid}\n\
             name = {name}\n\
             public_key = {public}\n",
            kid = self.kid(),
            public = self.public.to_hex(),
            name = self.name,
        ));
        match passphrase {
            None => {
                out.push_str("# This file is NOT encrypted.\nencryption = none\nsecret = ");
                out.push_str(&Zeroizing::new(hex::encode(self.key.as_bytes())));
                out.push('\n');
            }
            Some(passphrase) => {
                let mut salt = [0u8; 16];
                let mut nonce = [0u8; 24];
                getrandom::fill(&mut salt)
                    .and_then(|()| getrandom::fill(&mut nonce))
                    .map_err(|source| Error::Randomness { source })?;
                let wrap = derive_wrapping_key(passphrase, &salt, params)?;
                let aad = aad(&self.name, &self.public, params);
                let cipher = XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*wrap));
                let sealed = cipher
                    .encrypt(
                        &XNonce::from(nonce),
                        Payload {
                            msg: self.key.as_bytes(),
                            aad: &aad,
                        },
                    )
                    .map_err(|_| Error::Encryption)?;
                out.push_str(&format!(
                    "encryption = {ENCRYPTION}\n\
                     argon2_m_kib = {}\nargon2_t = {}\nargon2_p = {}\n\
                     salt = {}\nnonce = {}\nsecret = {}\n",
                    params.m_kib,
                    params.t,
                    params.p,
                    hex::encode(salt),
                    hex::encode(nonce),
                    hex::encode(sealed),
                ));
            }
        }
        Ok(out)
    }

    /// The text of the public key file: a trust-store `[[key]]` entry's fields.
    pub fn public_file(&self) -> String {
        public_file_text(&self.name, &self.public)
    }

    /// Whether the key file marks this key as a published demo key
    /// (`test_only = true`): its secret is public, so codes it signs prove nothing.
    pub fn is_test_only(&self) -> bool {
        self.test_only
    }

    /// Reads an unencrypted secret key file (see [`SecretKey::read_with`]).
    pub fn read(path: &Path) -> Result<SecretKey, Error> {
        SecretKey::read_with(path, || {
            Err(Error::Encrypted {
                path: path.to_owned(),
            })
        })
    }

    /// Reads a secret key file, asking `passphrase` for the passphrase only if
    /// the file is encrypted. Refuses a file that other users can read.
    ///
    /// The one exception is a key file marked `test_only = true` (the published
    /// demo key in `keys.example/`, whose secret is no secret): a git checkout
    /// cannot keep it at mode 0600.
    pub fn read_with(
        path: &Path,
        passphrase: impl FnOnce() -> Result<Passphrase, Error>,
    ) -> Result<SecretKey, Error> {
        let file = KeyFile::read(path)?;
        if !file.test_only {
            check_private(path)?;
        }
        let bad = |reason| Error::KeyFile {
            path: path.to_owned(),
            what: "secret key",
            line: 0,
            reason,
        };
        let mut seed = Zeroizing::new([0u8; 32]);
        match &file.encryption {
            Encryption::None { secret } => {
                hex::decode_to_slice(secret.as_str(), seed.as_mut_slice())
                    .map_err(|_| bad("`secret` must be 64 hex digits"))?;
            }
            Encryption::Passphrase {
                params,
                salt,
                nonce,
                sealed,
            } => {
                let public = file.public_key.ok_or_else(|| bad("missing `public_key`"))?;
                let passphrase = passphrase()?;
                let wrap = derive_wrapping_key(&passphrase, salt, params)?;
                let cipher = XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*wrap));
                let opened = Zeroizing::new(
                    cipher
                        .decrypt(
                            &XNonce::from(*nonce),
                            Payload {
                                msg: sealed,
                                aad: &aad(&file.name, &public, params),
                            },
                        )
                        .map_err(|_| Error::WrongPassphrase {
                            path: path.to_owned(),
                        })?,
                );
                if opened.len() != 32 {
                    return Err(bad("encrypted secret has the wrong length"));
                }
                seed.copy_from_slice(&opened);
            }
        }
        let mut key = SecretKey::from_seed(&file.name, &seed).map_err(|_| bad("invalid `name`"))?;
        if let Some(public) = file.public_key
            && public != key.public
        {
            return Err(bad("`public_key` does not match the secret key"));
        }
        key.test_only = file.test_only;
        Ok(key)
    }
}

impl crate::signer::Signer for SecretKey {
    fn name(&self) -> &str {
        &self.name
    }

    fn public_key(&self) -> PublicKey {
        self.public
    }

    fn kid(&self) -> KeyId {
        self.public.kid()
    }

    /// Signs in memory (infallible; no check needed: the key is the public key's own).
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], Error> {
        Ok(self.sign_message(message))
    }

    fn opaque_permutation(&self) -> Option<crate::serials::OpaquePermutation> {
        Some(SecretKey::opaque_permutation(self))
    }
}

mod file;

pub(crate) use file::check_private;
use file::{ENCRYPTION, Encryption, aad, check_name, derive_wrapping_key};
pub use file::{KdfParams, KeyFile, Passphrase, PublicKeyFile, public_file_text};
pub(crate) use file::{read_limited, write_new};

#[cfg(test)]
mod tests;
