//! Issuer keys: generation, and the secret and public key files.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use hallmark_state::file::{self as durable, FileError};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signer, SigningKey};
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

    /// Signs a framed document (later document types sign through here too).
    fn sign_document(&self, document: UnsignedDocument) -> Vec<u8> {
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

/// The key file cipher and KDF, as written in the `encryption` field.
const ENCRYPTION: &str = "argon2id-xchacha20poly1305";

/// argon2id cost parameters. Defaults: 64 MiB, 3 passes, 1 lane. When read from
/// a file they are capped, so a hostile file cannot demand unbounded work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl Default for KdfParams {
    fn default() -> KdfParams {
        KdfParams {
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
        }
    }
}

impl KdfParams {
    /// The most a key file may ask for: 1 GiB, 10 passes, 8 lanes.
    pub const MAX: KdfParams = KdfParams {
        m_kib: 1024 * 1024,
        t: 10,
        p: 8,
    };
}

fn derive_wrapping_key(
    passphrase: &Passphrase,
    salt: &[u8; 16],
    params: &KdfParams,
) -> Result<Zeroizing<[u8; 32]>, Error> {
    let argon_params = argon2::Params::new(params.m_kib, params.t, params.p, Some(32))
        .map_err(|source| Error::KdfParams { source })?;
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon_params,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.0.as_bytes(), salt, out.as_mut_slice())
        .map_err(|source| Error::KeyDerivation { source })?;
    Ok(out)
}

/// Associated data: binds the ciphertext to the key's name, public key and KDF
/// parameters, so none can be altered without the passphrase check failing.
fn aad(name: &str, public: &PublicKey, params: &KdfParams) -> Vec<u8> {
    let mut aad = b"hallmark secret key v1\0".to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&public.to_bytes());
    for n in [params.m_kib, params.t, params.p] {
        aad.extend_from_slice(&n.to_le_bytes());
    }
    aad
}

/// A passphrase. Zeroized on drop; `Debug` does not show it.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// A passphrase; refuses an empty one.
    pub fn new(text: Zeroizing<String>) -> Result<Passphrase, Error> {
        if text.is_empty() {
            return Err(Error::EmptyPassphrase);
        }
        Ok(Passphrase(text))
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

enum Encryption {
    None {
        secret: Zeroizing<String>,
    },
    Passphrase {
        params: KdfParams,
        salt: [u8; 16],
        nonce: [u8; 24],
        sealed: Vec<u8>,
    },
}

/// What a secret key file says, before any decryption.
pub struct KeyFile {
    /// The key's name.
    pub name: String,
    /// The public key, when the file states it (always, for files written now).
    pub public_key: Option<PublicKey>,
    /// Whether the secret is encrypted.
    pub encrypted: bool,
    /// Whether the file marks a published demo key.
    pub test_only: bool,
    /// What the key has reserved, as recorded by `mint` (see [`crate::issued`]).
    pub issued: crate::issued::Issued,
    encryption: Encryption,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile")
            .field("name", &self.name)
            .field("public_key", &self.public_key)
            .field("encrypted", &self.encrypted)
            .finish_non_exhaustive()
    }
}

impl KeyFile {
    /// The argon2id parameters an encrypted file asks for (already checked
    /// against [`KdfParams::MAX`]); `None` for an unencrypted file. Lets a
    /// caller (the fuzzer, a UI) see the work a passphrase would cost before
    /// asking for one.
    pub fn kdf_params(&self) -> Option<KdfParams> {
        match &self.encryption {
            Encryption::None { .. } => None,
            Encryption::Passphrase { params, .. } => Some(*params),
        }
    }

    /// Parses a secret key file without decrypting it. Errors name the line,
    /// never its content.
    pub fn read(path: &Path) -> Result<KeyFile, Error> {
        let text = read_limited(path)?;
        let bad = |line, reason| Error::KeyFile {
            path: path.to_owned(),
            what: "secret key",
            line,
            reason,
        };
        if !text.starts_with(SECRET_MAGIC) {
            return Err(bad(1, "missing the '# hallmark secret key v1' header"));
        }
        let mut fields: [Option<&str>; 13] = Default::default();
        const NAMES: [&str; 13] = [
            crate::issued::FIELD_NEXT,
            crate::issued::FIELD_FLOOR,
            "name",
            "public_key",
            "encryption",
            "secret",
            "test_only",
            "argon2_m_kib",
            "argon2_t",
            "argon2_p",
            "salt",
            "nonce",
            "",
        ];
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(bad(i + 1, "expected `field = value`"));
            };
            let k = k.trim();
            let slot = NAMES
                .iter()
                .position(|n| !n.is_empty() && *n == k)
                .and_then(|at| fields.get_mut(at))
                .ok_or_else(|| bad(i + 1, "unknown field"))?;
            if slot.replace(v.trim()).is_some() {
                return Err(bad(i + 1, "field given twice"));
            }
        }
        let [
            ledger_next,
            ledger_floor,
            name,
            public_key,
            encryption,
            secret,
            test_only,
            m,
            t,
            p,
            salt,
            nonce,
            _,
        ] = fields;
        let name = name.ok_or_else(|| bad(0, "missing `name`"))?;
        check_name(name).map_err(|_| bad(0, "invalid `name`"))?;
        let public_key = public_key
            .map(|hex| PublicKey::from_hex(hex).map_err(|_| bad(0, "invalid `public_key`")))
            .transpose()?;
        let issued = crate::issued::Issued::parse(ledger_next, ledger_floor)
            .map_err(|reason| bad(0, reason))?;
        let test_only = match test_only {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(bad(0, "`test_only` must be true or false")),
        };
        let secret = secret.ok_or_else(|| bad(0, "missing `secret`"))?;
        let encryption = match encryption {
            Some("none") => Encryption::None {
                secret: Zeroizing::new(secret.to_owned()),
            },
            Some(ENCRYPTION) => {
                let num = |v: Option<&str>, field| -> Result<u32, Error> {
                    v.ok_or_else(|| bad(0, field))?
                        .parse()
                        .map_err(|_| bad(0, field))
                };
                let params = KdfParams {
                    m_kib: num(m, "missing or invalid `argon2_m_kib`")?,
                    t: num(t, "missing or invalid `argon2_t`")?,
                    p: num(p, "missing or invalid `argon2_p`")?,
                };
                let max = KdfParams::MAX;
                if params.m_kib > max.m_kib || params.t > max.t || params.p > max.p {
                    return Err(bad(
                        0,
                        "argon2 parameters above the limit (1 GiB, 10 passes, 8 lanes)",
                    ));
                }
                let mut salt_bytes = [0u8; 16];
                hex::decode_to_slice(
                    salt.ok_or_else(|| bad(0, "missing `salt`"))?,
                    &mut salt_bytes,
                )
                .map_err(|_| bad(0, "`salt` must be 32 hex digits"))?;
                let mut nonce_bytes = [0u8; 24];
                hex::decode_to_slice(
                    nonce.ok_or_else(|| bad(0, "missing `nonce`"))?,
                    &mut nonce_bytes,
                )
                .map_err(|_| bad(0, "`nonce` must be 48 hex digits"))?;
                let sealed = hex::decode(secret).map_err(|_| bad(0, "`secret` must be hex"))?;
                if sealed.len() != 48 {
                    return Err(bad(0, "`secret` must be 96 hex digits"));
                }
                Encryption::Passphrase {
                    params,
                    salt: salt_bytes,
                    nonce: nonce_bytes,
                    sealed,
                }
            }
            Some(_) => return Err(bad(0, "unknown `encryption`")),
            None => return Err(bad(0, "missing `encryption`")),
        };
        Ok(KeyFile {
            name: name.to_owned(),
            public_key,
            encrypted: matches!(encryption, Encryption::Passphrase { .. }),
            test_only,
            issued,
            encryption,
        })
    }
}

/// The text of a public key file for `name` and `key`.
pub fn public_file_text(name: &str, key: &PublicKey) -> String {
    format!(
        "# hallmark public key v1: add it to a trust store with `hallmark trust add`\n\
         # kid: {kid}\n\
         name = \"{name}\"\n\
         public_key = \"{public}\"\n",
        kid = key.kid(),
        public = key.to_hex(),
    )
}

fn check_name(name: &str) -> Result<(), Error> {
    // The trust store's rule (`hallmark::Name`); it is also a file name.
    if hallmark::Name::is_valid(name) {
        Ok(())
    } else {
        Err(Error::InvalidKeyName {
            name: name.chars().take(80).collect(),
        })
    }
}

/// Creates `path` (never overwriting, never through a symlink) with `bytes`,
/// atomically; mode 0600 when `secret`.
pub(crate) fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), Error> {
    let mode = if secret {
        durable::MODE_SECRET
    } else {
        durable::MODE_PUBLIC
    };
    durable::create(path, bytes, mode).map_err(|e| match e {
        FileError::Exists { path } => Error::KeyExists { path },
        e => Error::File(e),
    })
}

fn check_private(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .map_err(Error::io(path))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::InsecurePermissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    Ok(())
}

pub(crate) fn read_limited(path: &Path) -> Result<Zeroizing<String>, Error> {
    let bytes =
        durable::read_bounded(path, MAX_KEY_FILE_LEN, "a key file").map_err(|e| match e {
            FileError::TooLarge { .. } => Error::KeyFile {
                path: path.to_owned(),
                what: "key",
                line: 0,
                reason: "file is larger than 64 KiB",
            },
            FileError::Io { path, source } => Error::Io { path, source },
            e => Error::File(e),
        })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Err(Error::Io {
                path: path.to_owned(),
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "stream did not contain valid UTF-8",
                ),
            })
        }
    }
}

/// A public key file: a name and a public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyFile {
    /// The key's name.
    pub name: String,
    /// The key.
    pub key: PublicKey,
}

impl PublicKeyFile {
    /// Reads `NAME.pub` as written by [`SecretKey::write_unencrypted`].
    pub fn read(path: &Path) -> Result<PublicKeyFile, Error> {
        let text = read_limited(path)?;
        let bad = |line, reason| Error::KeyFile {
            path: path.to_owned(),
            what: "public key",
            line,
            reason,
        };
        let (mut name, mut key) = (None, None);
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(bad(i + 1, "expected `field = \"value\"`"));
            };
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| bad(i + 1, "value must be in double quotes"))?;
            let slot = match k.trim() {
                "name" => &mut name,
                "public_key" => &mut key,
                _ => return Err(bad(i + 1, "unknown field")),
            };
            if slot.replace(v.to_owned()).is_some() {
                return Err(bad(i + 1, "field given twice"));
            }
        }
        let name = name.ok_or_else(|| bad(0, "missing `name`"))?;
        check_name(&name).map_err(|_| bad(0, "invalid `name`"))?;
        let key = PublicKey::from_hex(&key.ok_or_else(|| bad(0, "missing `public_key`"))?)?;
        Ok(PublicKeyFile { name, key })
    }
}

#[cfg(test)]
mod tests;
