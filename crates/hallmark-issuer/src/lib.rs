//! # hallmark-issuer
//!
//! What a manufacturer needs to issue hallmark codes: issuer key generation and
//! key files ([`SecretKey`]), the serial [`Ledger`] that guarantees no serial is
//! issued twice, [`mint`], and the parallel mint [`pipeline`] (reserve durably,
//! then sign on all cores into the caller's sink) with its output [`lines`],
//! and the hand-kept [`revocation_list`] read into a snapshot to sign.
//! External serial pools for GS1 minting (serials a level-4 system
//! allocated) are checked and recorded as used, once per key and GTIN, by
//! [`pool`].
//!
//! Everything signs through a [`signer::Signer`]: a key file's [`SecretKey`],
//! or (feature `pkcs11`) a key kept in an HSM, `pkcs11::Pkcs11Signer`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod claim;
mod error;
pub mod issued;
mod keys;
mod ledger;
pub mod lines;
mod mint;
pub mod pipeline;
#[cfg(feature = "pkcs11")]
pub mod pkcs11;
pub mod pool;
pub mod revocation_list;
mod serials;
pub mod signer;
mod window;

pub use error::{Error, LedgerLineError};
pub use keys::{KdfParams, KeyFile, Passphrase, PublicKeyFile, SecretKey, public_file_text};
pub use ledger::{Batch, BatchRequest, Emission, End, Ledger, RECORD_VERSION};
pub use mint::{Minter, manifest, mint, sign_manifest};
pub use pool::{PoolError, PoolRequest, PoolReservation, SerialPool, reserve_pool};
pub use serials::{
    BATCH_KEY_CONTEXT, OPAQUE_BIT, OPAQUE_KEY_CONTEXT, OpaquePermutation, SerialMode,
};
pub use window::{check_trust_window, check_window};
