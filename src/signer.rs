//! `--signer pkcs11:...`: signing with a key kept in an HSM or token instead of
//! a key file (`--key`).

use hallmark::KeyId;
use hallmark_issuer::SecretKey;
use hallmark_issuer::pkcs11::{OpenOptions, Pkcs11Signer, Pkcs11Uri};
use hallmark_issuer::signer::Signer;
use zeroize::Zeroizing;

use crate::{CliError, Result};

/// Environment variable holding the token's user PIN.
pub(crate) const PIN_ENV: &str = "HALLMARK_PKCS11_PIN";

/// The `--signer` options shared by the commands that sign.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SignerArgs {
    /// Sign with a key in an HSM or token instead of a key file: an RFC 7512
    /// PKCS#11 URI such as
    /// `pkcs11:token=line-1;object=acme-1?pin-source=file:/etc/hallmark/pin`
    /// (path attributes token, manufacturer, serial, model, slot-id,
    /// slot-description, slot-manufacturer, object, id, type=private; query
    /// attributes module-path, default: the usual SoftHSM2 paths; pin-source,
    /// a file readable by its owner only; pin-value, refused unless
    /// --allow-pin-value). Without pin-source the PIN comes from
    /// $HALLMARK_PKCS11_PIN. The key must be Ed25519 (CKK_EC_EDWARDS) with its
    /// public key object beside it (same id or label); every signature from
    /// the token is checked against that public key before anything is
    /// written (exit 2 otherwise). Opaque serials are not available with a
    /// token (they need the secret seed).
    #[arg(long, value_name = "PKCS11-URI", value_parser = parse_uri)]
    pub(crate) signer: Option<Box<Pkcs11Uri>>,
    /// Accept a pin-value= in the --signer URI (it shows in process listings
    /// and shell history; prefer pin-source or $HALLMARK_PKCS11_PIN).
    #[arg(long, requires = "signer")]
    pub(crate) allow_pin_value: bool,
    /// Refuse the --signer key unless its key id is KID (8 hex digits).
    #[arg(long, value_name = "KID", requires = "signer", value_parser = parse_kid)]
    pub(crate) expect_kid: Option<KeyId>,
}

/// Boxed: a parsed URI is large, and clap's argument enums hold it.
fn parse_uri(s: &str) -> Result<Box<Pkcs11Uri>, String> {
    Pkcs11Uri::parse(s).map(Box::new).map_err(|e| e.to_string())
}

fn parse_kid(s: &str) -> Result<KeyId, String> {
    s.parse().map_err(|e: hallmark::Error| e.to_string())
}

/// The key a command signs with: a key file's or a token's.
pub(crate) enum AnySigner {
    /// A key file (`--key`).
    File(SecretKey),
    /// A key in a token (`--signer`).
    Pkcs11(Pkcs11Signer),
}

impl AnySigner {
    /// The signer, through the trait every signing entry point takes.
    pub(crate) fn signer(&self) -> &dyn Signer {
        match self {
            AnySigner::File(key) => key,
            AnySigner::Pkcs11(signer) => signer,
        }
    }
}

/// Opens the token key `uri` names, the PIN from the URI's pin-source, its
/// pin-value (if allowed) or $HALLMARK_PKCS11_PIN.
pub(crate) fn open(uri: &Pkcs11Uri, args: &SignerArgs) -> Result<Pkcs11Signer> {
    let mut options = OpenOptions::default();
    options.allow_pin_value = args.allow_pin_value;
    options.expect_kid = args.expect_kid;
    options.pin = match std::env::var(PIN_ENV) {
        Ok(pin) if !pin.is_empty() => Some(Zeroizing::new(pin)),
        Ok(_) | Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(CliError::new(format!("${PIN_ENV} is not valid UTF-8")));
        }
    };
    Ok(Pkcs11Signer::open(uri, &options)?)
}

/// The signer of a command taking `--key KEY` or `--signer URI` (clap makes
/// sure exactly one is given).
pub(crate) fn open_either(
    key: Option<&std::path::Path>,
    passphrase: &crate::passphrase::Source,
    args: &SignerArgs,
) -> Result<AnySigner> {
    match (key, &args.signer) {
        (Some(path), None) => Ok(AnySigner::File(crate::cmd::key::open(path, passphrase)?)),
        (None, Some(uri)) => Ok(AnySigner::Pkcs11(open(uri, args)?)),
        _ => Err(CliError::new(
            "give exactly one of --key KEY or --signer PKCS11-URI",
        )),
    }
}
