//! `--signer pkcs11:...`: minting and signing through a PKCS#11 token
//! (SoftHSM2 in a throwaway token directory per test).
//!
//! Keys are put into the token by [`token_helper`], which this test binary
//! runs as a child process of its own (`hsm::token_helper --exact`) with
//! `SOFTHSM2_CONF` pointing at the test's token directory: SoftHSM2 reads its
//! configuration once per process, and a test may not change its own
//! environment. The helper creates objects with `C_CreateObject` (the seed as
//! CKA_VALUE), so the secret never appears on a command line or in a log.
//!
//! Without `softhsm2-util` or the SoftHSM2 module, each test writes a
//! `SKIPPED (softhsm2 not installed): ...` line to stderr and passes; with
//! `$CI` set it fails (`.ci/run` installs softhsm2).

use std::collections::BTreeSet;
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use hallmark_issuer::SecretKey;

use crate::common::*;

const SO_PIN: &str = "so-1234";
const PIN: &str = "user-5678";
/// The seed of the key imported into the token and written as a key file.
const SEED: [u8; 32] = [0x5a; 32];
/// Another key's seed.
const OTHER_SEED: [u8; 32] = [0x33; 32];
/// A fixed clock, so that manifests and snapshots are byte-identical.
const NOW: u64 = 1_767_225_600;

/// The environment variable that makes [`token_helper`] act.
const HELPER_ENV: &str = "HALLMARK_TEST_HSM_HELPER";

/// A throwaway SoftHSM2 token.
struct Token {
    dir: tempfile::TempDir,
    conf: PathBuf,
    module: PathBuf,
    label: String,
}

/// Counts a skip and writes its line straight to stderr (as the PostgreSQL
/// tests do: libtest has no "skipped" outcome).
fn skip(test: &str, cause: &str) {
    static SKIPPED: AtomicU64 = AtomicU64::new(0);
    let n = SKIPPED.fetch_add(1, Ordering::Relaxed) + 1;
    let tests = if n == 1 { "test" } else { "tests" };
    let _ = std::io::stderr().lock().write_all(
        format!("\nSKIPPED (softhsm2 not installed): hsm::{test}: {n} SoftHSM2 {tests} skipped: {cause}\n")
            .as_bytes(),
    );
}

/// A fresh token labelled `label`, or `None` (with a SKIPPED line) when
/// SoftHSM2 is not installed; under CI its absence fails the test.
fn token(test: &str, label: &str) -> Option<Token> {
    let why = match Command::new("softhsm2-util")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
    {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            Some("softhsm2-util is not on the PATH".to_owned())
        }
        Err(e) => panic!("run softhsm2-util: {e}"),
        Ok(_) => None,
    };
    let module = hallmark_issuer::pkcs11::default_module_paths()
        .into_iter()
        .find(|p| p.is_file());
    let why = why.or_else(|| {
        module
            .is_none()
            .then(|| "no libsofthsm2.so at the usual paths".to_owned())
    });
    if let Some(why) = why {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set and {why} (.ci/run installs softhsm2)"
        );
        skip(test, &format!("{why} (apt-get install softhsm2)"));
        return None;
    }
    let dir = tempdir();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
            tokens.display()
        ),
    )
    .unwrap();
    let out = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            SO_PIN,
            "--pin",
            PIN,
        ])
        .env("SOFTHSM2_CONF", &conf)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "init-token: {}", stderr(&out));
    Some(Token {
        dir,
        conf,
        module: module.unwrap(),
        label: label.to_owned(),
    })
}

/// An object for [`token_helper`] to create.
enum Object<'a> {
    /// An Ed25519 private key from `seed` and a public key object for
    /// `public_seed`'s key (another seed: a mismatched pair), both labelled
    /// `label` with CKA_ID `id`; the EC point DER-wrapped or raw.
    Ed25519 {
        label: &'a str,
        id: u8,
        seed: [u8; 32],
        public_seed: [u8; 32],
        der: bool,
    },
    /// A P-256 key pair (not EdDSA).
    P256 { label: &'a str, id: u8 },
}

impl Token {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Creates `objects` in the token, through [`token_helper`] in a child process.
    fn create(&self, objects: &[Object<'_>]) {
        let mut spec = format!("{}\n{}\n{PIN}\n", self.module.display(), self.label);
        for object in objects {
            match object {
                Object::Ed25519 {
                    label,
                    id,
                    seed,
                    public_seed,
                    der,
                } => {
                    let public = SecretKey::from_seed("x", public_seed).unwrap().public_key();
                    spec.push_str(&format!(
                        "ed25519 {label} {id:02x} {} {} {}\n",
                        hex::encode(seed),
                        public.to_hex(),
                        if *der { "der" } else { "raw" }
                    ));
                }
                Object::P256 { label, id } => spec.push_str(&format!("p256 {label} {id:02x}\n")),
            }
        }
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "hsm::token_helper",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SOFTHSM2_CONF", &self.conf)
            .env(HELPER_ENV, spec)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success() && stdout(&out).contains("1 passed"),
            "token helper failed: {}{}",
            stdout(&out),
            stderr(&out)
        );
    }

    /// The known seed imported as `label` (id 01), DER-wrapped public point.
    fn import_known(&self, label: &str) {
        self.create(&[Object::Ed25519 {
            label,
            id: 1,
            seed: SEED,
            public_seed: SEED,
            der: true,
        }]);
    }

    /// A copy of the token's store with its own configuration (the same keys):
    /// SoftHSM2's file object store gives concurrent processes transient
    /// CKR_GENERAL_ERRORs, which a real HSM does not.
    fn copy(&self, n: u32) -> PathBuf {
        let from = self.path("tokens");
        let to = self.path(&format!("tokens-{n}"));
        for token in std::fs::read_dir(&from).unwrap() {
            let token = token.unwrap().path();
            let dest = to.join(token.file_name().unwrap());
            std::fs::create_dir_all(&dest).unwrap();
            for file in std::fs::read_dir(&token).unwrap() {
                let file = file.unwrap().path();
                std::fs::copy(&file, dest.join(file.file_name().unwrap())).unwrap();
            }
        }
        let conf = self.path(&format!("softhsm2-{n}.conf"));
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                to.display()
            ),
        )
        .unwrap();
        conf
    }

    /// A PIN file of mode 0600.
    fn pin_file(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.path("pin");
        std::fs::write(&path, format!("{PIN}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        path
    }

    /// `pkcs11:token=LABEL;object=OBJECT` plus `extra` (a query, `?...`).
    fn uri(&self, object: &str, extra: &str) -> String {
        format!("pkcs11:token={};object={object}{extra}", self.label)
    }

    /// A hallmark invocation seeing this token, the PIN in $HALLMARK_PKCS11_PIN.
    fn hallmark(&self, args: &[&str]) -> Hallmark {
        hallmark(args)
            .env("SOFTHSM2_CONF", p(&self.conf))
            .env("HALLMARK_PKCS11_PIN", PIN)
            .now(NOW)
    }

    /// `hallmark mint --signer URI --ledger LEDGER` for `count` demo labels.
    fn mint(&self, uri: &str, ledger: &Path, count: u64) -> Hallmark {
        with_labels(
            self.hallmark(&["mint", "--signer", uri, "--ledger", p(ledger)]),
            count,
        )
    }
}

/// The demo batch's labels, `count` codes.
fn with_labels(cmd: Hallmark, count: u64) -> Hallmark {
    let count = count.to_string();
    cmd.args(&[
        "--part",
        "DRN-2980",
        "--lot",
        "L231212-01",
        "--date",
        "2023-12-12",
        "--count",
        &count,
    ])
}

/// The key file of [`SEED`] (and its trust store) in `dir`.
fn file_key(dir: &Path) -> (PathBuf, PathBuf) {
    let key = SecretKey::from_seed("line", &SEED).unwrap();
    let (key_file, public) = key.write_unencrypted(dir).unwrap();
    let trust = dir.join("trust.toml");
    trust_add(&trust, &public).ok();
    (key_file, trust)
}

/// Creates the objects [`Token::create`] describes in `$HELPER_ENV`; does
/// nothing (and passes) when it is unset, as in a normal test run.
#[test]
fn token_helper() {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::mechanism::Mechanism;
    use cryptoki::object::{Attribute, KeyType, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;

    let Ok(spec) = std::env::var(HELPER_ENV) else {
        return;
    };
    let mut lines = spec.lines();
    let module = lines.next().unwrap();
    let label = lines.next().unwrap();
    let pin = AuthPin::new(lines.next().unwrap().into());
    let context = Pkcs11::new(module).unwrap();
    context
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = context
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| context.get_token_info(*s).unwrap().label() == label)
        .unwrap();
    let session = context.open_rw_session(slot).unwrap();
    session.login(UserType::User, Some(&pin)).unwrap();
    let ed25519 = vec![0x06, 0x03, 0x2b, 0x65, 0x70];
    for line in lines {
        let words: Vec<&str> = line.split(' ').collect();
        match words.as_slice() {
            ["ed25519", object, id, seed, public, form] => {
                let id = hex::decode(id).unwrap();
                let public = hex::decode(public).unwrap();
                let point = if *form == "der" {
                    [&[0x04, 0x20][..], &public].concat()
                } else {
                    public
                };
                session
                    .create_object(&[
                        Attribute::Class(ObjectClass::PRIVATE_KEY),
                        Attribute::KeyType(KeyType::EC_EDWARDS),
                        Attribute::EcParams(ed25519.clone()),
                        Attribute::Value(hex::decode(seed).unwrap()),
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::Sign(true),
                        Attribute::Label(object.as_bytes().to_vec()),
                        Attribute::Id(id.clone()),
                    ])
                    .unwrap();
                session
                    .create_object(&[
                        Attribute::Class(ObjectClass::PUBLIC_KEY),
                        Attribute::KeyType(KeyType::EC_EDWARDS),
                        Attribute::EcParams(ed25519.clone()),
                        Attribute::EcPoint(point),
                        Attribute::Token(true),
                        Attribute::Verify(true),
                        Attribute::Label(object.as_bytes().to_vec()),
                        Attribute::Id(id),
                    ])
                    .unwrap();
            }
            ["p256", object, id] => {
                let id = hex::decode(id).unwrap();
                // prime256v1's OID.
                let p256 = vec![0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
                session
                    .generate_key_pair(
                        &Mechanism::EccKeyPairGen,
                        &[
                            Attribute::Token(true),
                            Attribute::EcParams(p256),
                            Attribute::Verify(true),
                            Attribute::Label(object.as_bytes().to_vec()),
                            Attribute::Id(id.clone()),
                        ],
                        &[
                            Attribute::Token(true),
                            Attribute::Private(true),
                            Attribute::Sign(true),
                            Attribute::Label(object.as_bytes().to_vec()),
                            Attribute::Id(id),
                        ],
                    )
                    .unwrap();
            }
            other => panic!("token helper: bad line {other:?}"),
        }
    }
}

/// Codes minted through the token verify and are byte-identical to those of
/// the key file with the same seed (Ed25519 is deterministic); so are the
/// batch manifest and the revocation snapshot signed through it.
#[test]
fn hsm_mint_is_byte_identical_to_the_file_key() {
    let Some(token) = token("hsm_mint_is_byte_identical_to_the_file_key", "line-1") else {
        return;
    };
    token.import_known("line");
    let (key_file, trust) = file_key(token.dir.path());
    let count = 300;

    let hsm_ledger = token.path("hsm.ledger");
    // The PIN from a pin-source file this time, and the module found by
    // the default search.
    let pin = token.pin_file();
    let uri = token.uri("line", &format!("?pin-source=file:{}", p(&pin)));
    let out = token
        .mint(&uri, &hsm_ledger, count)
        .env_remove("HALLMARK_PKCS11_PIN")
        .ok();
    let by_token = stdout(&out);
    let file_ledger = token.path("file.ledger");
    let out = mint(&key_file)
        .count(count)
        .cmd()
        .ledger(&file_ledger)
        .now(NOW)
        .ok();
    let by_file = stdout(&out);
    assert_eq!(by_token.lines().count(), count as usize);
    assert_eq!(by_token, by_file, "token and key file mint the same bytes");
    // Every code verifies.
    let verified = verify(&trust).json().stdin(by_token.as_bytes()).ok();
    let results = json_lines(&verified);
    assert_eq!(results.len(), count as usize);
    assert!(
        results.iter().all(|r| r["verdict"] == "genuine"),
        "{results:?}"
    );

    // The ledgers record the same batch.
    let hsm_manifest = token.path("hsm.manifest");
    token
        .hallmark(&["batches", "export", "--signer", &token.uri("line", "")])
        .ledger(&hsm_ledger)
        .out(&hsm_manifest)
        .ok();
    let file_manifest = token.path("file.manifest");
    batches_export(&key_file)
        .ledger(&file_ledger)
        .out(&file_manifest)
        .now(NOW)
        .ok();
    assert_eq!(
        std::fs::read(&hsm_manifest).unwrap(),
        std::fs::read(&file_manifest).unwrap()
    );

    let list = token.path("revoked.toml");
    let kid = SecretKey::from_seed("line", &SEED).unwrap().kid();
    std::fs::write(
        &list,
        format!(
            "[[serial]]\nkid = \"{kid}\"\nserial = 7\nreason = \"stolen\"\ndate = 2026-11-01\n"
        ),
    )
    .unwrap();
    let hsm_snapshot = token.path("hsm.snapshot");
    token
        .hallmark(&["revocations", "build", "--signer", &token.uri("line", "")])
        .args(&["--list", p(&list), "--sequence", "3"])
        .out(&hsm_snapshot)
        .ok();
    let file_snapshot = token.path("file.snapshot");
    revocations_build(&key_file, &list, 3, &file_snapshot)
        .now(NOW)
        .ok();
    assert_eq!(
        std::fs::read(&hsm_snapshot).unwrap(),
        std::fs::read(&file_snapshot).unwrap()
    );
}

/// A wrong PIN, a missing object, a key that is not EdDSA, a bad URI, a PIN
/// in the URI, a PIN file others can read, opaque serials, another kid than
/// --expect-kid, no --ledger: each is a clear error, exit 2, and nothing is
/// minted or reserved. The PIN never shows.
#[test]
fn hsm_errors_exit_2_with_a_clear_message() {
    let Some(token) = token("hsm_errors_exit_2_with_a_clear_message", "line-2") else {
        return;
    };
    token.import_known("line");
    token.create(&[Object::P256 {
        label: "ecdsa",
        id: 9,
    }]);
    let ledger = token.path("l.ledger");
    let other_kid = SecretKey::from_seed("o", &OTHER_SEED)
        .unwrap()
        .kid()
        .to_string();
    let loose_pin = token.path("loose-pin");
    std::fs::write(&loose_pin, PIN).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&loose_pin, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let line = token.uri("line", "");
    let cases: Vec<(&str, Hallmark, &str)> = vec![
        (
            "wrong PIN",
            token
                .mint(&line, &ledger, 5)
                .env("HALLMARK_PKCS11_PIN", "not-the-pin"),
            "wrong PIN",
        ),
        (
            "no PIN",
            token
                .mint(&line, &ledger, 5)
                .env_remove("HALLMARK_PKCS11_PIN"),
            "$HALLMARK_PKCS11_PIN",
        ),
        (
            "missing object",
            token.mint(&token.uri("nope", ""), &ledger, 5),
            "no private key matches pkcs11:token=line-2;object=nope",
        ),
        (
            "missing token",
            token.mint("pkcs11:token=elsewhere;object=line", &ledger, 5),
            "no token matches pkcs11:token=elsewhere;object=line (tokens present: line-2)",
        ),
        (
            "not EdDSA",
            token.mint(&token.uri("ecdsa", ""), &ledger, 5),
            "not an EdDSA key (key type CKK_EC)",
        ),
        (
            "bad URI: scheme",
            token.mint("pkcs12:object=line", &ledger, 5),
            "a PKCS#11 URI starts with `pkcs11:`",
        ),
        (
            "bad URI: attribute",
            token.mint("pkcs11:objct=line", &ledger, 5),
            "unknown path attribute `objct`",
        ),
        (
            "bad URI: percent-encoding",
            token.mint("pkcs11:object=li%4ne", &ledger, 5),
            "bad `object`",
        ),
        (
            "pin-value refused",
            token.mint(&token.uri("line", &format!("?pin-value={PIN}")), &ledger, 5),
            "--allow-pin-value",
        ),
        (
            "PIN file readable by others",
            token.mint(
                &token.uri("line", &format!("?pin-source=file:{}", p(&loose_pin))),
                &ledger,
                5,
            ),
            "readable by other users",
        ),
        (
            "module missing",
            token.mint(
                &token.uri("line", "?module-path=/nonexistent/lib.so"),
                &ledger,
                5,
            ),
            "/nonexistent/lib.so: cannot load the PKCS#11 module",
        ),
        (
            "opaque serials",
            token.mint(&line, &ledger, 5).args(&["--serials", "opaque"]),
            "opaque serials need the key's secret seed",
        ),
        (
            "another kid",
            token
                .mint(&line, &ledger, 5)
                .args(&["--expect-kid", &other_kid]),
            "expected",
        ),
        (
            "no ledger",
            with_labels(token.hallmark(&["mint", "--signer", &line]), 5),
            "--signer needs --ledger PATH",
        ),
        (
            "export without ledger",
            token.hallmark(&["batches", "export", "--signer", &line, "--out", "m.bin"]),
            "--signer needs --ledger PATH",
        ),
    ];
    for (what, cmd, wanted) in cases {
        let out = cmd.run();
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{what}: {err}");
        assert!(err.contains(wanted), "{what}: {err:?} lacks {wanted:?}");
        assert!(stdout(&out).is_empty(), "{what}: printed codes");
        assert!(!err.contains(PIN), "{what}: the PIN shows: {err}");
    }
    assert!(!ledger.exists(), "no serial was reserved");

    // --allow-pin-value accepts it, and the right --expect-kid passes.
    let kid = SecretKey::from_seed("line", &SEED)
        .unwrap()
        .kid()
        .to_string();
    let out = token
        .mint(&token.uri("line", &format!("?pin-value={PIN}")), &ledger, 2)
        .env_remove("HALLMARK_PKCS11_PIN")
        .args(&["--allow-pin-value", "--expect-kid", &kid])
        .ok();
    assert_eq!(stdout(&out).lines().count(), 2);
    assert!(!stderr(&out).contains(PIN));
}

/// A token whose public key object is another key's than its private key's:
/// the device's signature does not verify, so mint exits 2 before
/// reserving a serial or printing a code. Also with a raw (not DER-wrapped)
/// EC point, which is read as well.
#[test]
fn hsm_signature_of_another_key_is_caught() {
    let Some(token) = token("hsm_signature_of_another_key_is_caught", "line-3") else {
        return;
    };
    token.create(&[
        Object::Ed25519 {
            label: "mismatched",
            id: 2,
            seed: SEED,
            public_seed: OTHER_SEED,
            der: false,
        },
        Object::Ed25519 {
            label: "raw",
            id: 3,
            seed: OTHER_SEED,
            public_seed: OTHER_SEED,
            der: false,
        },
    ]);
    let ledger = token.path("l.ledger");
    let out = token.mint(&token.uri("mismatched", ""), &ledger, 5).run();
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    let other_kid = SecretKey::from_seed("o", &OTHER_SEED).unwrap().kid();
    assert!(
        err.contains(&format!(
            "does not verify under its public key (kid {other_kid})"
        )),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
    assert!(!ledger.exists(), "nothing reserved");
    // The raw point is read: this key mints.
    let out = token.mint(&token.uri("raw", ""), &ledger, 3).ok();
    assert_eq!(stdout(&out).lines().count(), 3);
}

/// Two `mint --signer` runs on one ledger at once never overlap: the ledger
/// lock and its fsync before the first code hold as for key files. Their codes
/// verify under the public key `key show --signer --public-file` prints.
/// (Each run signs on its own copy of the token: see [`Token::copy`].)
#[test]
fn hsm_concurrent_mints_never_overlap() {
    let Some(token) = token("hsm_concurrent_mints_never_overlap", "line-4") else {
        return;
    };
    token.import_known("line");
    let ledger = token.path("shared.ledger");
    let uri = token.uri("line", "");
    // The trust store from the token's own public key (`key show --public-file`).
    let public = token.path("line.pub");
    let out = token
        .hallmark(&["key", "show", "--signer", &uri, "--public-file"])
        .ok();
    std::fs::write(&public, stdout(&out)).unwrap();
    let trust = token.path("token-trust.toml");
    trust_add(&trust, &public).ok();
    let kid = SecretKey::from_seed("line", &SEED)
        .unwrap()
        .kid()
        .to_string();
    let shown = token.hallmark(&["key", "show", "--signer", &uri]).ok();
    assert!(stdout(&shown).contains(&kid), "{}", stdout(&shown));
    let count = 2000u64;
    let children: Vec<_> = (0..2)
        .map(|n| {
            token
                .mint(&uri, &ledger, count)
                .env("SOFTHSM2_CONF", p(&token.copy(n)))
                .args(&["--format", "jsonl"])
                .command()
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut serials = BTreeSet::new();
    let mut codes = String::new();
    // Both outputs are read at once: the mint that wins the ledger's lock
    // writes far more than a pipe holds while the other waits for the lock,
    // so waiting for the children one at a time could deadlock.
    let outputs: Vec<_> = children
        .into_iter()
        .map(|child| std::thread::spawn(move || child.wait_with_output().unwrap()))
        .collect();
    for out in outputs {
        let out = out.join().unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        for line in stdout(&out).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(
                serials.insert(v["serial"].as_u64().unwrap()),
                "serial twice: {line}"
            );
            codes.push_str(v["code"].as_str().unwrap());
            codes.push('\n');
        }
    }
    assert_eq!(serials, (0..2 * count).collect::<BTreeSet<_>>());
    let verified = verify(&trust).json().stdin(codes.as_bytes()).ok();
    assert!(
        json_lines(&verified)
            .iter()
            .all(|r| r["verdict"] == "genuine")
    );
    // A third run continues after both.
    let out = token
        .mint(&uri, &ledger, 1)
        .args(&["--format", "jsonl"])
        .ok();
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["serial"].as_u64(), Some(2 * count));
}

/// A `mint --signer` killed (SIGKILL) after printing codes never has its
/// serials reissued: the batch was in the ledger, fsynced, before the first
/// code, as with key files.
#[test]
fn hsm_mint_killed_mid_batch_never_reissues() {
    use std::io::{BufRead, BufReader};
    let Some(token) = token("hsm_mint_killed_mid_batch_never_reissues", "line-5") else {
        return;
    };
    token.import_known("line");
    let ledger = token.path("l.ledger");
    let uri = token.uri("line", "");
    let mut child = token
        .mint(&uri, &ledger, 100_000)
        .args(&["--format", "jsonl"])
        .command()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let serial = |line: &str| -> u64 {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["serial"].as_u64().unwrap()
    };
    let mut before = Vec::new();
    for _ in 0..20 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        before.push(serial(&line));
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    assert!(!before.is_empty(), "the killed mint printed nothing");
    let out = token
        .mint(&uri, &ledger, 5)
        .args(&["--format", "jsonl"])
        .ok();
    let max_before = before.iter().max().copied().unwrap();
    let after: Vec<u64> = stdout(&out).lines().map(serial).collect();
    assert_eq!(after.len(), 5);
    assert!(
        after.iter().all(|s| *s > max_before),
        "reissued: before {before:?}, after {after:?}"
    );
}
