use super::*;

#[test]
fn key_files_round_trip_and_refuse_overwrite() -> Result<(), Error> {
    let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
    let key = SecretKey::generate_os("acme-1")?;
    let (kp, pp) = key.write_unencrypted(dir.path())?;
    let back = SecretKey::read(&kp)?;
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(KeyFile::read(&kp)?.kdf_params(), None);
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
fn encrypted_key_round_trip_wrong_passphrase_and_tamper() -> Result<(), Error> {
    let dir = tempfile::tempdir().map_err(Error::io("tempdir"))?;
    let key = SecretKey::generate_os("enc")?;
    let pass = || Passphrase::new(Zeroizing::new("correct horse".to_owned()));
    let (kp, _) = key.write_files(dir.path(), Some(&pass()?))?;
    let text = fs::read_to_string(&kp).map_err(Error::io(&kp))?;
    assert!(
        !text.contains(&hex::encode(key.key.as_bytes())),
        "secret in clear"
    );
    assert!(text.contains("encryption = argon2id-xchacha20poly1305"));
    let back = SecretKey::read_with(&kp, pass)?;
    assert_eq!(back.public_key(), key.public_key());
    let wrong = SecretKey::read_with(&kp, || Passphrase::new(Zeroizing::new("wrong".into())));
    assert!(matches!(wrong, Err(Error::WrongPassphrase { .. })));
    assert!(matches!(SecretKey::read(&kp), Err(Error::Encrypted { .. })));
    let info = KeyFile::read(&kp)?;
    assert!(info.encrypted);
    assert_eq!(info.public_key, Some(key.public_key()));
    assert_eq!(info.kdf_params(), Some(KdfParams::default()));

    // Tampering with authenticated parameters fails like a wrong passphrase.
    let tampered = text.replace("argon2_t = 3", "argon2_t = 2");
    fs::write(&kp, tampered).map_err(Error::io(&kp))?;
    assert!(matches!(
        SecretKey::read_with(&kp, pass),
        Err(Error::WrongPassphrase { .. })
    ));
    // A hostile file cannot demand unbounded work.
    let hostile = text.replace("argon2_m_kib = 65536", "argon2_m_kib = 4000000000");
    fs::write(&kp, hostile).map_err(Error::io(&kp))?;
    assert!(matches!(
        SecretKey::read_with(&kp, pass),
        Err(Error::KeyFile { .. })
    ));

    // Re-encrypting in place under a new passphrase.
    fs::write(&kp, &text).map_err(Error::io(&kp))?;
    let new_pass = || Passphrase::new(Zeroizing::new("new pass".to_owned()));
    back.rewrite(&kp, Some(&new_pass()?))?;
    assert!(SecretKey::read_with(&kp, pass).is_err());
    assert_eq!(
        SecretKey::read_with(&kp, new_pass)?.public_key(),
        key.public_key()
    );
    Ok(())
}

/// A counter standing in for a CSPRNG, so that generation is reproducible.
struct Counter(u8);

impl rand_core::TryRng for Counter {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(u32::from(self.0))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(u64::from(self.0))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for b in dst {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Counter {}

#[test]
fn generate_draws_the_seed_from_the_rng_it_is_given() -> Result<(), Error> {
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = i as u8 + 1;
    }
    let key = SecretKey::generate("rng", &mut Counter(0))?;
    assert_eq!(
        key.public_key(),
        SecretKey::from_seed("rng", &seed)?.public_key()
    );
    // The next draw gives another key; the OS generator, another still.
    let mut rng = Counter(0);
    let first = SecretKey::generate("a", &mut rng)?;
    let second = SecretKey::generate("b", &mut rng)?;
    assert_ne!(first.public_key(), second.public_key());
    assert_ne!(SecretKey::generate_os("c")?.public_key(), key.public_key());
    Ok(())
}

#[test]
fn bad_names_refused() {
    for name in ["", "../x", ".hidden", "a b", "a/b", &"x".repeat(65)] {
        assert!(SecretKey::generate_os(name).is_err(), "{name:?}");
    }
}
