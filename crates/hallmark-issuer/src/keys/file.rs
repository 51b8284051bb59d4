//! The key files at rest: the secret key file (argon2id into
//! XChaCha20-Poly1305, or unencrypted for tests), its KDF parameters and
//! passphrase, the public key file, and the rules for reading and writing
//! them (bounded, never through a symlink, secret files 0600 and refused when
//! others can read them). docs/FORMAT.md §13.1 and §13.2.

use std::fmt;
use std::fs;
use std::path::Path;

use hallmark::PublicKey;
use hallmark_state::file::{self as durable, FileError};
use zeroize::Zeroizing;

use super::{MAX_KEY_FILE_LEN, SECRET_MAGIC};
use crate::error::Error;

/// The key file cipher and KDF, as written in the `encryption` field.
pub(super) const ENCRYPTION: &str = "argon2id-xchacha20poly1305";

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

pub(super) fn derive_wrapping_key(
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
pub(super) fn aad(name: &str, public: &PublicKey, params: &KdfParams) -> Vec<u8> {
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

pub(super) enum Encryption {
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
    pub(super) encryption: Encryption,
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

pub(super) fn check_name(name: &str) -> Result<(), Error> {
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

pub(crate) fn check_private(path: &Path) -> Result<(), Error> {
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
    /// Reads `NAME.pub` as written by [`SecretKey::write_unencrypted`](super::SecretKey::write_unencrypted).
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
