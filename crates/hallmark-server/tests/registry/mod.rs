//! A registered batch for the tests that need one (the page's
//! "not in the manufacturer's records" state): one sequential batch of the
//! demo part `DRN-2980`, lot `L1`, made 2023-12-12, signed by `issuer` and
//! stored as the service stores a pushed manifest.

use hallmark::{BatchManifest, Date, ManifestBatch};
use hallmark_issuer::SecretKey;
use hallmark_server::storage::Storage;

/// Registers serials `start` to `start + count - 1` of `issuer` at `now`.
/// Call it off the async runtime for PostgreSQL (its client blocks).
pub fn register_batch(storage: &dyn Storage, issuer: &SecretKey, start: u64, count: u64, now: u64) {
    let manifest = BatchManifest {
        kid: issuer.kid(),
        issued: now,
        batches: vec![ManifestBatch {
            start,
            count,
            part: "DRN-2980".into(),
            lot: "L1".into(),
            date: "2023-12-12".parse::<Date>().unwrap(),
            expiry: None,
            opaque: false,
            minted: now,
            batch_key: None,
        }],
    };
    let bytes = issuer.sign_manifest(&manifest).unwrap();
    storage
        .register_batches(&manifest, &bytes, None, "test", now)
        .unwrap();
}
