//! Key files: `KeyFile::read` and `SecretKey::read_with` (secret key files,
//! encrypted or not) and `PublicKeyFile::read` (`NAME.pub`, as handed to
//! `hallmark trust add`). The readers take a path, so each input is written to
//! one file (mode 0600) in a temporary directory, in memory when `/dev/shm`
//! exists.
//!
//! Checks besides "no panic":
//! - a parsed secret key file is consistent (`encrypted` iff it has argon2
//!   parameters, parameters within `KdfParams::MAX`), and loading it gives the
//!   key it states (name, public key, `test_only`);
//! - an encrypted file is only decrypted when its argon2 parameters are cheap
//!   (at most 256 KiB-passes), so a hostile file cannot make one run take
//!   seconds; the passphrase tried is `fuzz`, and a wrong one must fail as
//!   `WrongPassphrase`;
//! - an unencrypted key survives writing out and reading back;
//! - no error message or `Debug` output quotes the value of a `secret` line;
//! - a parsed public key file survives `public_file_text` and reading back.

#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use hallmark::RevocationSnapshot;
use hallmark_issuer::{
    Error, KdfParams, KeyFile, Passphrase, PublicKeyFile, SecretKey, public_file_text,
};
use libfuzzer_sys::fuzz_target;
use zeroize::Zeroizing;

/// Most argon2 work (KiB times passes) a fuzz input may ask for.
const CHEAP_KIB_PASSES: u64 = 256;

struct Fixture {
    _dir: tempfile::TempDir,
    /// The input, as a secret or public key file.
    input: PathBuf,
    /// A copy of a public key file, written back.
    public_copy: PathBuf,
    /// Where an accepted key is written out again.
    out: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut builder = tempfile::Builder::new();
        builder.prefix("hallmark-fuzz-key");
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            builder.tempdir_in("/dev/shm")
        } else {
            builder.tempdir()
        }
        .expect("temporary directory");
        let input = dir.path().join("input.key");
        // tempfile's directory is 0700; the file is made 0600 so that the
        // permission check passes and the parser is reached.
        fs::write(&input, b"").expect("input file");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&input, fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let public_copy = dir.path().join("copy.pub");
        let out = dir.path().join("out");
        Fixture {
            input,
            public_copy,
            out,
            _dir: dir,
        }
    })
}

fn passphrase(text: &str) -> Result<Passphrase, Error> {
    Passphrase::new(Zeroizing::new(text.to_owned()))
}

/// The values of `secret = ...` lines, as the parser would split them, that
/// look like an unencrypted secret (64 hex digits) and occur nowhere else in
/// the file: shorter text could be part of a fixed message (such as the
/// header's name), and text also in another line (say, `public_key`) may be
/// shown for that line's sake.
fn secret_values(data: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    text.lines()
        .filter_map(|line| line.trim().split_once('='))
        .filter(|(k, _)| k.trim() == "secret")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .filter(|v| text.matches(v.as_str()).count() == 1)
        .collect()
}

fn assert_no_secret(what: &str, message: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !message.contains(s.as_str()),
            "{what} quotes a secret value: {message}"
        );
    }
}

fn cheap(p: KdfParams) -> bool {
    u64::from(p.m_kib) * u64::from(p.t) <= CHEAP_KIB_PASSES
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    fs::write(&f.input, data).expect("write input");
    let secrets = secret_values(data);

    check_public(f);

    let info = match KeyFile::read(&f.input) {
        Ok(info) => info,
        Err(e) => {
            assert_no_secret("KeyFile::read error", &e.to_string(), &secrets);
            assert!(
                SecretKey::read(&f.input).is_err(),
                "read accepted what KeyFile::read refused"
            );
            return;
        }
    };
    assert_no_secret("KeyFile Debug", &format!("{info:?}"), &secrets);
    match info.kdf_params() {
        None => assert!(!info.encrypted),
        Some(p) => {
            assert!(info.encrypted);
            let max = KdfParams::MAX;
            assert!(
                p.m_kib <= max.m_kib && p.t <= max.t && p.p <= max.p,
                "parameters above MAX: {p:?}"
            );
            if !cheap(p) {
                return;
            }
            // Without a passphrase source, an encrypted file is refused as such
            // (one without `public_key` is refused before that).
            if info.public_key.is_some() {
                assert!(matches!(
                    SecretKey::read(&f.input),
                    Err(Error::Encrypted { .. })
                ));
            }
        }
    }

    let key = match SecretKey::read_with(&f.input, || passphrase("fuzz")) {
        Ok(key) => key,
        Err(e) => {
            assert_no_secret("SecretKey::read_with error", &e.to_string(), &secrets);
            return;
        }
    };
    assert_eq!(key.name(), info.name);
    assert_eq!(key.is_test_only(), info.test_only);
    if let Some(public) = info.public_key {
        assert_eq!(
            key.public_key(),
            public,
            "loaded key differs from the file's public_key"
        );
    }
    assert_no_secret("SecretKey Debug", &format!("{key:?}"), &secrets);

    if info.encrypted {
        // The input decrypted with `fuzz`: another passphrase must not.
        assert!(matches!(
            SecretKey::read_with(&f.input, || passphrase("not fuzz")),
            Err(Error::WrongPassphrase { .. })
        ));
        return;
    }

    // An unencrypted key survives writing out and reading back.
    let _ = fs::remove_dir_all(&f.out);
    let (key_path, pub_path) = key.write_unencrypted(&f.out).expect("write key files");
    let back = SecretKey::read(&key_path).expect("a written key file reads back");
    assert_eq!(back.public_key(), key.public_key());
    assert_eq!(back.name(), key.name());
    assert_eq!(
        back.sign_snapshot(&RevocationSnapshot::new(0, 0)),
        key.sign_snapshot(&RevocationSnapshot::new(0, 0)),
        "the secret changed on the way"
    );
    let public = PublicKeyFile::read(&pub_path).expect("a written public key file reads back");
    assert_eq!(
        (public.name.as_str(), public.key),
        (key.name(), key.public_key())
    );
    let _ = fs::remove_dir_all(&f.out);
});

/// The input as a public key file.
fn check_public(f: &Fixture) {
    let Ok(public) = PublicKeyFile::read(&f.input) else {
        return;
    };
    fs::write(&f.public_copy, public_file_text(&public.name, &public.key)).expect("write copy");
    let back = PublicKeyFile::read(&f.public_copy).expect("a written public key file reads back");
    assert_eq!(back, public);
}
