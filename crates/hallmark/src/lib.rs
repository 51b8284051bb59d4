//! # hallmark: the offline verifier
//!
//! A hallmark code is a compact, Ed25519-signed record of one manufactured unit
//! (serial, part number, lot, date of manufacture, optional expiry), printed as
//! Crockford base32 text or a QR code. This crate decodes codes and verifies them
//! against a [`TrustStore`] of issuer keys. It does no I/O: the caller hands it
//! strings. The format is specified in `docs/FORMAT.md`.
//!
//! ## Verifying a scanned code
//!
//! ```
//! use hallmark::{Date, TrustStore};
//!
//! // Loaded from a file in a real app; here, the demo key from keys.example/.
//! let trust = TrustStore::from_toml(r#"
//!     [[key]]
//!     name = "demo-TEST-ONLY"
//!     public_key = "0faada074b654141829ba20700f2446d0f8e1f8f8794ffc2f18239c980f024ee"
//! "#)?;
//!
//! // What a scanner read: any case, `-` grouping, or the URL form all work.
//! let scanned = "0630-hcdq-mg01-m1tv-smag-2t24-a972-tchs-70r0-4tjc-68sk-2chh-68pk-0c83-356f-fx0a-nvqr-trzf-qz5t-qv6w-pghq-jk82-wbzv-4vj8-6213-x7s0-naq9-4ey8-srqv-mypg-1565-7fj4-saqx-zq5w-pthy-9brx-ctxm-5a1t-m3rm-tcqd-hr7g";
//! let today: Date = "2026-11-23".parse()?;
//! let verified = trust.verify_on(scanned, today)?;
//! let p = verified.payload();
//! assert_eq!((p.part(), p.lot(), p.serial()), ("DRN-2980", "L231212-01", 123_456_789));
//! assert_eq!(p.date().to_string(), "2023-12-12");
//!
//! // One altered character and it is refused, with a verdict and a reason.
//! let forged = scanned.replacen('a', "b", 1);
//! match trust.verify_on(&forged, today) {
//!     Ok(_) => unreachable!("a forged code verified"),
//!     Err(e) => {
//!         assert_eq!(e.verdict(), "bad-signature");
//!         println!("{}: {e}", e.verdict());
//!     }
//! }
//! # Ok::<(), hallmark::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aggregation;
mod batch_serial;
mod bundle;
mod cbor;
mod cert;
mod code;
mod date;
pub mod duplicates;
mod error;
pub mod gs1;
mod key;
mod manifest;
mod multiples;
mod name;
mod payload;
mod receipt;
pub mod report;
mod revocation;
pub mod runs;
mod signed;
mod template;
#[cfg(test)]
mod testkit;
mod text;
mod trust;
mod verdict;
mod words;

pub use aggregation::{
    AGGREGATION_SIGNING_TAG, AggregationManifest, AggregationSet, MAX_AGGREGATION_BYTES,
};
pub use batch_serial::{
    BATCH_COUNTER_BITS, BATCH_COUNTER_LIMIT, BATCH_NUMBER_LIMIT, BatchPermutation,
};
pub use bundle::{
    BUNDLE_SIGNING_TAG, Compromise, MAX_BUNDLE_BYTES, Registry, TrustBundle, VerifiedBundle,
};
pub use cert::{
    CERTIFICATE_SIGNING_TAG, Constraint, Constraints, LineCertificate, MAX_CERTIFICATE_BYTES,
    MAX_CONSTRAINTS, Pattern, Usage,
};
pub use code::{CODE_SIGNING_TAG, MIN_CODE_BYTES, SIGNATURE_LEN, UnsignedCode, UnverifiedCode};
pub use date::{Date, rfc3339};
pub use error::{
    AggregationError, CborError, CertError, DecodeError, Document, Error, FieldError, KeyError,
    PayloadError, TrustStoreError, VerifyError,
};
pub use key::{KID_CONTEXT, KID_LEN, KeyId, PublicKey};
pub use manifest::{
    BatchKey, BatchManifest, MANIFEST_SIGNING_TAG, MAX_MANIFEST_BYTES, ManifestBatch,
};
pub use name::Name;
pub use payload::{
    Extension, FIRST_EXTENSION_KEY, KEY_DATE, KEY_EXPIRY, KEY_LOT, KEY_PART, KEY_SERIAL,
    MAX_EXTENSION_DEPTH, MAX_LABEL_LEN, Payload,
};
pub use receipt::{BatchReceipt, MANIFEST_DIGEST_CONTEXT, MAX_RECEIPT_BYTES, RECEIPT_SIGNING_TAG};
pub use revocation::{
    MAX_SEQUENCE, MAX_SNAPSHOT_BYTES, REVOCATIONS_SIGNING_TAG, Reason, Revocation,
    RevocationSnapshot, Scope,
};
pub use signed::{Domain, UnsignedDocument};
pub use template::PayloadTemplate;
pub use trust::{MAX_TRUST_STORE_LEN, TrustStore, TrustedKey, Verified};
pub use verdict::{BUILD_TABLES_FROM, Verdict, VerdictKind, Verifier};
pub use words::{Counted, Span, plural, span};

/// The version byte of the code format this crate implements.
pub const VERSION: u8 = 1;

/// Serials at or above this are opaque (an issuer's keyed permutation of its
/// counters); sequential serials are below it. The two ranges never collide.
pub const OPAQUE_BIT: u64 = 1 << 63;

/// Longest input [`UnverifiedCode::decode`] looks at, in bytes (URL and grouping
/// included); longer input is refused before any other work.
pub const MAX_INPUT_LEN: usize = 1024;

/// Longest binary code, in bytes.
pub const MAX_CODE_BYTES: usize = 256;
