//! Signing with a key kept in an HSM or token, through its PKCS#11 module
//! (feature `pkcs11`; SoftHSM2 in tests).
//!
//! [`Pkcs11Signer::open`] takes an RFC 7512 URI ([`Pkcs11Uri`]), loads the
//! module, logs in to the token with the user PIN, finds the private key
//! (`CKK_EC_EDWARDS` on the Ed25519 curve) and its public key object, and
//! signs with pure EdDSA (`CKM_EDDSA` without parameters), on a pool of
//! sessions so that bulk minting signs on several threads at once.
//!
//! Every signature the device returns is verified (`verify_strict`) against
//! the public key before it is returned ([`Error::SignatureMismatch`]
//! otherwise), so a faulty device or a mismatched key pair can never put a
//! code into the world that does not verify.
//!
//! Opaque serials need the key's secret seed ([`crate::OpaquePermutation`]),
//! which the token never reveals: a PKCS#11 signer mints sequential serials
//! only ([`Error::OpaqueNeedsSeed`]).

mod uri;

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use hallmark::{KeyId, PublicKey};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::signer::{Signer, check_signature};

pub use uri::{Pkcs11Uri, UriError};

/// Where SoftHSM2's module usually is, tried in order when the URI names no
/// `module-path` (Debian and Ubuntu, their multiarch path, Fedora, a source build).
pub fn default_module_paths() -> Vec<PathBuf> {
    let arch = std::env::consts::ARCH;
    [
        "/usr/lib/softhsm/libsofthsm2.so".to_owned(),
        format!("/usr/lib/{arch}-linux-gnu/softhsm/libsofthsm2.so"),
        "/usr/lib64/pkcs11/libsofthsm2.so".to_owned(),
        "/usr/lib/pkcs11/libsofthsm2.so".to_owned(),
        "/usr/local/lib/softhsm/libsofthsm2.so".to_owned(),
    ]
    .into_iter()
    .map(PathBuf::from)
    .collect()
}

/// Why a PKCS#11 signer could not be opened or could not sign. Never
/// contains the PIN.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The URI does not parse.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// No `module-path` and none of the usual SoftHSM2 paths exists.
    #[error(
        "no PKCS#11 module found: tried {}; give the module with ?module-path=PATH in the URI",
        tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoModule {
        /// The paths tried.
        tried: Vec<PathBuf>,
    },
    /// The module could not be loaded or initialised.
    #[error("{}: cannot load the PKCS#11 module: {source}", path.display())]
    Module {
        /// The module.
        path: PathBuf,
        /// Why.
        source: CkError,
    },
    /// No token matches the URI.
    #[error("no token matches {uri} (tokens present: {})", if found.is_empty() { "none".to_owned() } else { found.join(", ") })]
    NoToken {
        /// The URI (without its PIN).
        uri: String,
        /// The labels of the tokens present.
        found: Vec<String>,
    },
    /// Several tokens match the URI.
    #[error("{count} tokens match {uri}: name one with token=, serial= or slot-id=")]
    SeveralTokens {
        /// The URI (without its PIN).
        uri: String,
        /// How many match.
        count: usize,
    },
    /// No PIN: the URI names none and the caller gave none.
    #[error(
        "no PIN for token {token:?}: put pin-source=file:PATH in the URI or set $HALLMARK_PKCS11_PIN"
    )]
    NoPin {
        /// The token's label.
        token: String,
    },
    /// `pin-value` in the URI without the caller allowing it.
    #[error(
        "the URI carries its PIN (pin-value=), which shows in process listings and shell history: \
         use pin-source=file:PATH or $HALLMARK_PKCS11_PIN (or --allow-pin-value to accept it)"
    )]
    PinValueRefused,
    /// The PIN file is empty.
    #[error("{}: the PIN file is empty", path.display())]
    EmptyPin {
        /// The file.
        path: PathBuf,
    },
    /// The token refused the PIN.
    #[error("token {token:?}: wrong PIN")]
    WrongPin {
        /// The token's label.
        token: String,
    },
    /// The token's user PIN is locked (too many wrong PINs).
    #[error("token {token:?}: the user PIN is locked (too many wrong attempts)")]
    PinLocked {
        /// The token's label.
        token: String,
    },
    /// The token does not offer `CKM_EDDSA`.
    #[error("token {token:?} does not offer pure EdDSA signing (CKM_EDDSA)")]
    NoEddsa {
        /// The token's label.
        token: String,
    },
    /// No private key matches the URI.
    #[error("no private key matches {uri} on token {token:?}")]
    NoKey {
        /// The URI (without its PIN).
        uri: String,
        /// The token's label.
        token: String,
    },
    /// Several private keys match the URI.
    #[error("{count} private keys match {uri} on token {token:?}: add id= or a unique object=")]
    SeveralKeys {
        /// The URI (without its PIN).
        uri: String,
        /// The token's label.
        token: String,
        /// How many match.
        count: usize,
    },
    /// The key is not an EdDSA key.
    #[error(
        "{uri}: not an EdDSA key (key type {key_type}); hallmark signs with Ed25519 (CKK_EC_EDWARDS)"
    )]
    NotEddsa {
        /// The URI (without its PIN).
        uri: String,
        /// The key's type, as PKCS#11 names it.
        key_type: String,
    },
    /// An EdDSA key on another curve than Ed25519 (Ed448).
    #[error("{uri}: an EdDSA key on another curve than Ed25519")]
    NotEd25519 {
        /// The URI (without its PIN).
        uri: String,
    },
    /// No public key object beside the private key.
    #[error(
        "{uri}: no public key object with the private key's id or label on the token: \
         the public key is needed to check every signature"
    )]
    NoPublicKey {
        /// The URI (without its PIN).
        uri: String,
    },
    /// The public key object's CKA_EC_POINT is not an Ed25519 public key.
    #[error("{uri}: the public key object's CKA_EC_POINT is not a valid Ed25519 public key")]
    BadPublicKey {
        /// The URI (without its PIN).
        uri: String,
    },
    /// The key on the token is not the key expected (`--expect-kid`).
    #[error("{uri}: the token's key has kid {found}, expected {expected}")]
    UnexpectedKey {
        /// The URI (without its PIN).
        uri: String,
        /// The kid expected.
        expected: KeyId,
        /// The kid of the token's public key.
        found: KeyId,
    },
    /// A signature of a length other than 64 bytes.
    #[error("token {token:?} returned a {len}-byte signature, not a 64-byte Ed25519 signature")]
    SignatureLength {
        /// The token's label.
        token: String,
        /// The length returned.
        len: usize,
    },
    /// Another PKCS#11 call failed.
    #[error("PKCS#11 {operation} failed: {source}")]
    Device {
        /// What was being done.
        operation: &'static str,
        /// The module's error.
        source: CkError,
    },
}

/// How to open a [`Pkcs11Signer`] beyond its URI.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct OpenOptions {
    /// The PIN when the URI names none (the CLI passes `$HALLMARK_PKCS11_PIN`).
    pub pin: Option<Zeroizing<String>>,
    /// Accept a `pin-value` in the URI (refused by default).
    pub allow_pin_value: bool,
    /// How many sessions to sign on at most (0: one per rayon thread).
    pub sessions: usize,
    /// Refuse the key unless its kid is this one.
    pub expect_kid: Option<KeyId>,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("pin", &self.pin.as_ref().map(|_| "<redacted>"))
            .field("allow_pin_value", &self.allow_pin_value)
            .field("sessions", &self.sessions)
            .field("expect_kid", &self.expect_kid)
            .finish()
    }
}

/// The sessions not in use, and how many are open.
struct Pool {
    free: Vec<Session>,
    open: usize,
}

/// A signer whose Ed25519 key is kept in a PKCS#11 token.
///
/// `Sync`: each signature takes a session from a pool (opening one, up to
/// [`OpenOptions::sessions`], when none is free), so rayon's threads sign in
/// parallel. Every signature is checked against the public key before it is
/// returned.
pub struct Pkcs11Signer {
    context: Pkcs11,
    slot: Slot,
    key: ObjectHandle,
    token: String,
    name: String,
    public: PublicKey,
    pool: Mutex<Pool>,
    returned: Condvar,
    max_sessions: usize,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.token)
            .field("name", &self.name)
            .field("kid", &self.public.kid())
            .finish_non_exhaustive()
    }
}

fn device(operation: &'static str) -> impl FnOnce(CkError) -> Error {
    move |source| Pkcs11Error::Device { operation, source }.into()
}

/// Whether `params` (CKA_EC_PARAMS) names Ed25519: the OID 1.3.101.112 or
/// the PrintableString "edwards25519" (PKCS#11 3.0 section 2.3.5).
fn is_ed25519(params: &[u8]) -> bool {
    params == [0x06, 0x03, 0x2b, 0x65, 0x70]
        || params.strip_prefix(&[0x13, 0x0c][..]) == Some(b"edwards25519".as_slice())
}

/// The 32 bytes of an Ed25519 CKA_EC_POINT: raw, or wrapped in a DER OCTET
/// STRING (`04 20 ...`), as tokens differ.
pub fn ec_point_bytes(point: &[u8]) -> Option<[u8; 32]> {
    match point {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest.try_into().ok(),
        raw if raw.len() == 32 => raw.try_into().ok(),
        _ => None,
    }
}

/// The PIN: `pin-source`'s file (which must not be readable by others),
/// `pin-value` if allowed, or the caller's.
fn resolve_pin(
    uri: &Pkcs11Uri,
    options: &OpenOptions,
    token: &str,
) -> Result<Zeroizing<String>, Error> {
    if let Some(path) = &uri.pin_source {
        return read_pin_file(path);
    }
    if let Some(pin) = &uri.pin_value {
        if !options.allow_pin_value {
            return Err(Pkcs11Error::PinValueRefused.into());
        }
        return Ok(pin.clone());
    }
    options.pin.clone().ok_or_else(|| {
        Pkcs11Error::NoPin {
            token: token.to_owned(),
        }
        .into()
    })
}

/// The first line of a PIN file, refusing a file other users can read.
fn read_pin_file(path: &Path) -> Result<Zeroizing<String>, Error> {
    crate::keys::check_private(path)?;
    let text = crate::keys::read_limited(path)?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(Pkcs11Error::EmptyPin {
            path: path.to_owned(),
        }
        .into());
    }
    Ok(Zeroizing::new(line.to_owned()))
}

/// Loads and initialises the module (an already initialised one is fine).
fn load(uri: &Pkcs11Uri) -> Result<Pkcs11, Error> {
    let path = match &uri.module_path {
        Some(path) => path.clone(),
        None => {
            let tried = default_module_paths();
            tried
                .iter()
                .find(|p| p.is_file())
                .cloned()
                .ok_or(Pkcs11Error::NoModule { tried })?
        }
    };
    let module = |source| Pkcs11Error::Module {
        path: path.clone(),
        source,
    };
    let context = Pkcs11::new(&path).map_err(module)?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => Ok(context),
        Err(e) => Err(module(e).into()),
    }
}

/// Whether `uri` may name `token` (every attribute it gives matches).
fn token_matches(context: &Pkcs11, slot: Slot, uri: &Pkcs11Uri) -> Result<Option<String>, Error> {
    let info = context
        .get_token_info(slot)
        .map_err(device("C_GetTokenInfo"))?;
    let slot_info = context
        .get_slot_info(slot)
        .map_err(device("C_GetSlotInfo"))?;
    let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
    let matches = eq(&uri.token, info.label())
        && eq(&uri.manufacturer, info.manufacturer_id())
        && eq(&uri.serial, info.serial_number())
        && eq(&uri.model, info.model())
        && eq(&uri.slot_description, slot_info.slot_description())
        && eq(&uri.slot_manufacturer, slot_info.manufacturer_id())
        && uri.slot_id.is_none_or(|id| id == slot.id());
    Ok(matches.then(|| info.label().to_owned()))
}

impl Pkcs11Signer {
    /// Opens the key `uri` names: loads the module, finds the token, logs in
    /// with the PIN (`pin-source` file, `pin-value` if
    /// [`OpenOptions::allow_pin_value`], else [`OpenOptions::pin`]), finds the
    /// private key and its public key object (same CKA_ID, else same label),
    /// and checks that it is an Ed25519 key the token signs with pure EdDSA.
    pub fn open(uri: &Pkcs11Uri, options: &OpenOptions) -> Result<Pkcs11Signer, Error> {
        let shown = uri.to_string();
        let context = load(uri)?;
        let slots = context
            .get_slots_with_initialized_token()
            .map_err(device("C_GetSlotList"))?;
        let mut found = Vec::new();
        let mut chosen = Vec::new();
        for slot in slots {
            let info = context
                .get_token_info(slot)
                .map_err(device("C_GetTokenInfo"))?;
            found.push(info.label().to_owned());
            if let Some(label) = token_matches(&context, slot, uri)? {
                chosen.push((slot, label));
            }
        }
        let (slot, token) = match chosen.len() {
            0 => return Err(Pkcs11Error::NoToken { uri: shown, found }.into()),
            1 => chosen.swap_remove(0),
            count => return Err(Pkcs11Error::SeveralTokens { uri: shown, count }.into()),
        };
        let mechanisms = context
            .get_mechanism_list(slot)
            .map_err(device("C_GetMechanismList"))?;
        if !mechanisms.contains(&MechanismType::EDDSA) {
            return Err(Pkcs11Error::NoEddsa { token }.into());
        }

        let session = context
            .open_ro_session(slot)
            .map_err(device("C_OpenSession"))?;
        let login_required = context
            .get_token_info(slot)
            .map_err(device("C_GetTokenInfo"))?
            .login_required();
        if login_required {
            let pin = resolve_pin(uri, options, &token)?;
            let pin = AuthPin::new(pin.as_str().into());
            match session.login(UserType::User, Some(&pin)) {
                Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                Err(CkError::Pkcs11(
                    RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange,
                    _,
                )) => return Err(Pkcs11Error::WrongPin { token }.into()),
                Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                    return Err(Pkcs11Error::PinLocked { token }.into());
                }
                Err(e) => return Err(device("C_Login")(e)),
            }
        }

        let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
        if let Some(label) = &uri.object {
            template.push(Attribute::Label(label.as_bytes().to_vec()));
        }
        if let Some(id) = &uri.id {
            template.push(Attribute::Id(id.clone()));
        }
        let mut keys = session
            .find_objects(&template)
            .map_err(device("C_FindObjects"))?;
        let key = match keys.len() {
            0 => {
                return Err(Pkcs11Error::NoKey { uri: shown, token }.into());
            }
            1 => keys.swap_remove(0),
            count => {
                return Err(Pkcs11Error::SeveralKeys {
                    uri: shown,
                    token,
                    count,
                }
                .into());
            }
        };
        let attributes = session
            .get_attributes(
                key,
                &[
                    AttributeType::KeyType,
                    AttributeType::EcParams,
                    AttributeType::Label,
                    AttributeType::Id,
                ],
            )
            .map_err(device("C_GetAttributeValue"))?;
        let (mut key_type, mut params, mut label, mut id) = (None, None, None, None);
        for attribute in attributes {
            match attribute {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::EcParams(p) => params = Some(p),
                Attribute::Label(l) => label = Some(l),
                Attribute::Id(i) => id = Some(i),
                _ => {}
            }
        }
        if key_type != Some(KeyType::EC_EDWARDS) {
            return Err(Pkcs11Error::NotEddsa {
                uri: shown,
                key_type: key_type.map_or_else(|| "unknown".to_owned(), |t| t.to_string()),
            }
            .into());
        }
        if !params.as_deref().is_some_and(is_ed25519) {
            return Err(Pkcs11Error::NotEd25519 { uri: shown }.into());
        }

        // The public key object: by the private key's CKA_ID, else its label.
        let mut template = vec![
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC_EDWARDS),
        ];
        match (
            id.filter(|i| !i.is_empty()),
            label.filter(|l| !l.is_empty()),
        ) {
            (Some(id), _) => template.push(Attribute::Id(id)),
            (None, Some(label)) => template.push(Attribute::Label(label)),
            (None, None) => return Err(Pkcs11Error::NoPublicKey { uri: shown }.into()),
        }
        let publics = session
            .find_objects(&template)
            .map_err(device("C_FindObjects"))?;
        let [public] = publics.as_slice() else {
            return Err(Pkcs11Error::NoPublicKey { uri: shown }.into());
        };
        let point = session
            .get_attributes(*public, &[AttributeType::EcPoint])
            .map_err(device("C_GetAttributeValue"))?
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => Some(p),
                _ => None,
            });
        let public = point
            .as_deref()
            .and_then(ec_point_bytes)
            .and_then(|bytes| PublicKey::from_bytes(&bytes).ok())
            .ok_or_else(|| Pkcs11Error::BadPublicKey { uri: shown.clone() })?;
        if let Some(expected) = options.expect_kid
            && expected != public.kid()
        {
            return Err(Pkcs11Error::UnexpectedKey {
                uri: shown,
                expected,
                found: public.kid(),
            }
            .into());
        }
        let name = uri
            .object
            .clone()
            .unwrap_or_else(|| format!("pkcs11-{}", public.kid()));
        let max_sessions = match options.sessions {
            0 => rayon::current_num_threads(),
            n => n,
        }
        .max(1);
        let signer = Pkcs11Signer {
            context,
            slot,
            key,
            token,
            name,
            public,
            pool: Mutex::new(Pool {
                free: vec![session],
                open: 1,
            }),
            returned: Condvar::new(),
            max_sessions,
        };
        // One signature now: a key pair that does not match fails here,
        // before the caller reserves anything.
        signer.sign(b"hallmark pkcs11 self-check")?;
        Ok(signer)
    }

    /// The token's label.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// How many sessions this signer signs on at most.
    pub fn max_sessions(&self) -> usize {
        self.max_sessions
    }

    fn lock(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A free session, or a new one while fewer than the maximum are open,
    /// else waits for one to be returned.
    fn acquire(&self) -> Result<Session, Error> {
        let mut pool = self.lock();
        loop {
            if let Some(session) = pool.free.pop() {
                return Ok(session);
            }
            if pool.open < self.max_sessions {
                pool.open += 1;
                drop(pool);
                return self.context.open_ro_session(self.slot).map_err(|e| {
                    self.lock().open -= 1;
                    device("C_OpenSession")(e)
                });
            }
            pool = self
                .returned
                .wait(pool)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn release(&self, session: Session) {
        self.lock().free.push(session);
        self.returned.notify_one();
    }

    /// The device's signature, unchecked.
    fn sign_raw(&self, message: &[u8]) -> Result<[u8; 64], Error> {
        let session = self.acquire()?;
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let signed = session.sign(&mechanism, self.key, message);
        self.release(session);
        let signature = signed.map_err(device("C_Sign"))?;
        let len = signature.len();
        <[u8; 64]>::try_from(signature).map_err(|_| {
            Pkcs11Error::SignatureLength {
                token: self.token.clone(),
                len,
            }
            .into()
        })
    }
}

impl Signer for Pkcs11Signer {
    fn name(&self) -> &str {
        &self.name
    }

    fn public_key(&self) -> PublicKey {
        self.public
    }

    fn kid(&self) -> KeyId {
        self.public.kid()
    }

    /// Signs on the token and checks the signature against the public key.
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], Error> {
        let signature = self.sign_raw(message)?;
        check_signature(&self.name, &self.public, message, &signature)?;
        Ok(signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_point_raw_or_der_wrapped() {
        let raw = [7u8; 32];
        assert_eq!(ec_point_bytes(&raw), Some(raw));
        let wrapped: Vec<u8> = [&[0x04, 0x20][..], &raw].concat();
        assert_eq!(ec_point_bytes(&wrapped), Some(raw));
        assert_eq!(ec_point_bytes(&wrapped[..33]), None);
        assert_eq!(ec_point_bytes(&[0x04, 0x21, 1]), None);
        assert_eq!(ec_point_bytes(&[0u8; 33]), None);
    }

    #[test]
    fn ed25519_params_by_oid_or_name() {
        assert!(is_ed25519(&[0x06, 0x03, 0x2b, 0x65, 0x70]));
        assert!(is_ed25519(b"\x13\x0cedwards25519"));
        assert!(!is_ed25519(&[0x06, 0x03, 0x2b, 0x65, 0x71]), "Ed448");
        assert!(!is_ed25519(b"\x13\x0aedwards448"));
    }

    #[test]
    fn pin_file_must_be_private_and_non_empty() -> Result<(), Box<dyn std::error::Error>> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("pin");
        std::fs::write(&path, "1234\nignored\n")?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        assert!(matches!(
            read_pin_file(&path),
            Err(Error::InsecurePermissions { .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        assert_eq!(read_pin_file(&path)?.as_str(), "1234");
        std::fs::write(&path, "\n")?;
        assert!(matches!(
            read_pin_file(&path),
            Err(Error::Pkcs11(Pkcs11Error::EmptyPin { .. }))
        ));
        Ok(())
    }

    #[test]
    fn pin_value_is_refused_unless_allowed() -> Result<(), Box<dyn std::error::Error>> {
        let uri = Pkcs11Uri::parse("pkcs11:object=k?pin-value=9999")?;
        let mut options = OpenOptions::default();
        assert!(matches!(
            resolve_pin(&uri, &options, "t"),
            Err(Error::Pkcs11(Pkcs11Error::PinValueRefused))
        ));
        options.allow_pin_value = true;
        assert_eq!(resolve_pin(&uri, &options, "t")?.as_str(), "9999");
        let bare = Pkcs11Uri::parse("pkcs11:object=k")?;
        options.pin = Some(Zeroizing::new("42".to_owned()));
        assert_eq!(resolve_pin(&bare, &options, "t")?.as_str(), "42");
        options.pin = None;
        let e = resolve_pin(&bare, &options, "t").map(drop).err();
        assert!(e.is_some_and(|e| e.to_string().contains("$HALLMARK_PKCS11_PIN")));
        Ok(())
    }

    #[test]
    fn no_module_says_which_paths_were_tried() -> Result<(), Box<dyn std::error::Error>> {
        let uri = Pkcs11Uri::parse("pkcs11:object=k?module-path=/nonexistent/libnone.so")?;
        let e = Pkcs11Signer::open(&uri, &OpenOptions::default())
            .map(drop)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("/nonexistent/libnone.so"), "{e}");
        let message = Pkcs11Error::NoModule {
            tried: default_module_paths(),
        }
        .to_string();
        assert!(
            message.contains("/usr/lib/softhsm/libsofthsm2.so"),
            "{message}"
        );
        assert!(message.contains("module-path"), "{message}");
        Ok(())
    }
}
