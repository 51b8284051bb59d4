//! Issuer keys: generation, and the secret and public key files.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey};
use hallmark::{KeyId, PublicKey};
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
    /// A new key from the operating system's random number generator.
    pub fn generate(name: &str) -> Result<SecretKey, Error> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice())
            .map_err(|e| Error::Invalid(format!("no randomness from the operating system: {e}")))?;
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

    /// Signs `message` (already domain-separated by the caller).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// Writes `DIR/NAME.key` (mode 0600) and `DIR/NAME.pub`, refusing to overwrite
    /// either. Returns their paths.
    pub fn write_unencrypted(&self, dir: &Path) -> Result<(PathBuf, PathBuf), Error> {
        let key_path = dir.join(format!("{}.key", self.name));
        let pub_path = dir.join(format!("{}.pub", self.name));
        for path in [&key_path, &pub_path] {
            if path.exists() {
                return Err(Error::KeyExists { path: path.clone() });
            }
        }
        fs::create_dir_all(dir).map_err(Error::io(dir))?;
        let seed = Zeroizing::new(hex::encode(self.key.as_bytes()));
        let body = Zeroizing::new(format!(
            "{SECRET_MAGIC}\n\
             # KEEP THIS FILE SECRET: anyone who has it can mint genuine codes.\n\
             # This file is NOT encrypted.\n\
             # kid: {kid}\n\
             # public key: {public}\n\
             name = {name}\n\
             encryption = none\n\
             secret = {seed}\n",
            kid = self.kid(),
            public = self.public.to_hex(),
            name = self.name,
            seed = seed.as_str(),
        ));
        write_new(&key_path, body.as_bytes(), true)?;
        write_new(&pub_path, self.public_file().as_bytes(), false)?;
        Ok((key_path, pub_path))
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

    /// Reads a secret key file, refusing one that other users can read.
    ///
    /// The one exception is a key file marked `test_only = true` (the published
    /// demo key in `keys.example/`, whose secret is no secret): a git checkout
    /// cannot keep it at mode 0600.
    pub fn read(path: &Path) -> Result<SecretKey, Error> {
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
        let (mut name, mut encryption, mut secret, mut test_only) = (None, None, None, None);
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(bad(i + 1, "expected `field = value`"));
            };
            let slot = match k.trim() {
                "name" => &mut name,
                "encryption" => &mut encryption,
                "secret" => &mut secret,
                "test_only" => &mut test_only,
                _ => return Err(bad(i + 1, "unknown field")),
            };
            if slot.replace(v.trim()).is_some() {
                return Err(bad(i + 1, "field given twice"));
            }
        }
        let test_only = match test_only {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(bad(0, "`test_only` must be true or false")),
        };
        if !test_only {
            check_private(path)?;
        }
        match encryption {
            Some("none") => {}
            Some(_) => {
                return Err(Error::Encrypted {
                    path: path.to_owned(),
                });
            }
            None => return Err(bad(0, "missing `encryption`")),
        }
        let name = name.ok_or_else(|| bad(0, "missing `name`"))?;
        let secret = secret.ok_or_else(|| bad(0, "missing `secret`"))?;
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(secret, seed.as_mut_slice())
            .map_err(|_| bad(0, "`secret` must be 64 hex digits"))?;
        let mut key = SecretKey::from_seed(name, &seed).map_err(|_| bad(0, "invalid `name`"))?;
        key.test_only = test_only;
        Ok(key)
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
    // Same rule as trust store names; it is also a file name.
    let ok = (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "invalid key name {name:?}: use 1 to 64 characters of A-Z a-z 0-9 . _ - (not starting with .)"
        )))
    }
}

/// Creates `path` (never overwriting) with `bytes`, fsynced; mode 0600 when `secret`.
pub(crate) fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), Error> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::KeyExists {
                path: path.to_owned(),
            }
        } else {
            Error::Io {
                path: path.to_owned(),
                source: e,
            }
        }
    })?;
    file.write_all(bytes).map_err(Error::io(path))?;
    file.sync_all().map_err(Error::io(path))?;
    Ok(())
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

fn read_limited(path: &Path) -> Result<Zeroizing<String>, Error> {
    let file = File::open(path).map_err(Error::io(path))?;
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_KEY_FILE_LEN + 1)
        .read_to_string(&mut text)
        .map_err(Error::io(path))?;
    if text.len() as u64 > MAX_KEY_FILE_LEN {
        return Err(Error::KeyFile {
            path: path.to_owned(),
            what: "key",
            line: 0,
            reason: "file is larger than 64 KiB",
        });
    }
    Ok(text)
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
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_and_refuse_overwrite() -> Result<(), Error> {
        let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
        let key = SecretKey::generate("acme-1")?;
        let (kp, pp) = key.write_unencrypted(dir.path())?;
        let back = SecretKey::read(&kp)?;
        assert_eq!(back.public_key(), key.public_key());
        assert_eq!(PublicKeyFile::read(&pp)?.key, key.public_key());
        assert!(matches!(
            key.write_unencrypted(dir.path()),
            Err(Error::KeyExists { .. })
        ));
        assert!(!format!("{back:?}").contains(&hex::encode(key.key.as_bytes())));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&kp)
                .map_err(Error::io(&kp))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            fs::set_permissions(&kp, fs::Permissions::from_mode(0o644)).map_err(Error::io(&kp))?;
            assert!(matches!(
                SecretKey::read(&kp),
                Err(Error::InsecurePermissions { .. })
            ));
        }
        Ok(())
    }

    #[test]
    fn bad_names_refused() {
        for name in ["", "../x", ".hidden", "a b", "a/b", &"x".repeat(65)] {
            assert!(SecretKey::generate(name).is_err(), "{name:?}");
        }
    }
}
